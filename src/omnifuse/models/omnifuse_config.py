"""OmniFuse hyperparameters (Wu et al. 2025 section 4.3), its model config and the ablation rows of its table 4."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from omnifuse.models.config import EncodedConfig


class OmniFuseOptions(BaseModel):
    """``config.model`` of the OmniFuse models.

    Defaults are the paper's: K = 5 residual autoencoders, alpha = 0.1, beta = 0.5,
    (lambda1, lambda2, lambda3) = (1, 10, 0.5).
    """

    model_config = ConfigDict(extra="forbid")

    dwfuse: bool = True
    tla: bool = True
    imp_forward: bool = True
    imp_backward: bool = True
    n_blocks: int = Field(5, ge=1)
    cra_hidden: int = Field(128, ge=1)
    cra_latent: int = Field(32, ge=1)
    alpha: float = Field(0.1, ge=0)
    beta: float = Field(0.5, ge=0)
    lambda1: float = Field(1.0, ge=0)
    lambda2: float = Field(10.0, ge=0)
    lambda3: float = Field(0.5, ge=0)
    #: Embedding of an absent modality: the encoder applied to a zero input (the paper) or a
    #: learned token per modality.
    missing: Literal["encoder", "token"] = "encoder"
    #: Imputation targets (true embeddings) are detached, so the imputation loss does not pull
    #: the encoders towards embeddings that are easy to impute.
    detach_targets: bool = True
    #: Prediction: the joint head o (the paper) or o blended with unimodal heads weighted by
    #: omega from their top-class confidence (classification only).
    predict: Literal["joint", "blend"] = "joint"
    #: TLA: share of each training batch presented under the lazy combination.
    tla_share: float = Field(0.25, gt=0, le=1)
    #: TLA: above this many modalities, mine a random sample of combinations.
    tla_exhaustive_up_to: int = Field(6, ge=1)
    tla_samples: int = Field(32, ge=1)
    #: TLA: the per-sample distance D(y_hat, y) of eq. 15: cross-entropy (the paper; for
    #: survival the survival head's loss), Brier score of the probabilities, or 0/1 error
    #: (classification only).
    tla_distance: Literal["ce", "brier", "error"] = "ce"
    #: TLA: first epoch after which mining starts (0 = after the first epoch).
    tla_start_epoch: int = Field(0, ge=0)


class OmniFuseConfig(EncodedConfig):
    """The config of the OmniFuse models: encoders and sizes, plus :class:`OmniFuseOptions`
    under ``model``. ``unimodal_weight`` adds the training module's own loss of the
    unimodal heads (which DWFuse already trains; 0 by default)."""

    model: OmniFuseOptions = Field(default_factory=OmniFuseOptions)


#: Table 4 of Wu et al. 2025: which components each ablation row keeps.
ABLATION_ROWS: dict[str, dict[str, bool]] = {
    "a": {"dwfuse": False, "tla": False, "imp_forward": False, "imp_backward": False},
    "b": {"dwfuse": True, "tla": False, "imp_forward": False, "imp_backward": False},
    "c": {"dwfuse": True, "tla": True, "imp_forward": False, "imp_backward": False},
    "d": {"dwfuse": True, "tla": True, "imp_forward": True, "imp_backward": False},
    "e": {"dwfuse": True, "tla": False, "imp_forward": True, "imp_backward": True},
    "f": {"dwfuse": True, "tla": True, "imp_forward": True, "imp_backward": True},
}
