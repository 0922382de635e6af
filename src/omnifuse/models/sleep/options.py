"""The config of the sleep models (Whitlow et al. 2025): ``model`` options (size presets,
losses, sequence length) and the weight of modality supervision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnifuse.errors import ConfigError
from omnifuse.models.config import ModelConfig


@dataclass(frozen=True)
class Architecture:
    """Resolved transformer sizes (a preset with the user's overrides applied)."""

    d_model: int
    n_heads: int
    d_ff: int
    inner_layers: int
    outer_layers: int
    dropout: float
    head_dropout: float
    max_relative_distance: int


#: ``model.size`` presets. "paper" is section 4.1 of MedFuseSleep (Whitlow et al. 2025): d_model 128, 8 heads
#: (d_k 16), d_ff 1024, 4 post-norm layers per inner and outer block, head dropout 0.3.
#: The transformer dropout is not given by the paper; 0.1 is SleepTransformer's [13].
#: The clipping distance 16 of the relative positions is Shaw et al.'s [58].
PRESETS: dict[str, Architecture] = {
    "small": Architecture(64, 4, 128, 2, 1, 0.1, 0.3, 16),
    "paper": Architecture(128, 8, 1024, 4, 4, 0.1, 0.3, 16),
}


class SleepOptions(BaseModel):
    """``config.model`` of ``medfusesleep``, ``medfusesleep-base``, ``early-sleep``, ``midlate-sleep``.

    ``ms`` / ``al`` switch modality supervision and the alignment loss (each registered
    model sets its own default, see its ``defaults``). Size keys left unset come from the
    ``size`` preset; sizes that do not fit together are an error when the config is loaded.
    """

    model_config = ConfigDict(extra="forbid")

    size: Literal["small", "paper"] = "small"
    d_model: Optional[int] = Field(None, ge=1)
    n_heads: Optional[int] = Field(None, ge=1)
    d_ff: Optional[int] = Field(None, ge=1)
    inner_layers: Optional[int] = Field(None, ge=1)
    outer_layers: Optional[int] = Field(None, ge=1)
    dropout: Optional[float] = Field(None, ge=0, lt=1)
    head_dropout: Optional[float] = Field(None, ge=0, lt=1)
    max_relative_distance: Optional[int] = Field(None, ge=1)
    #: L, epochs per sequence (paper: 21, i.e. w = 10 each side).
    sequence_length: int = Field(21, ge=1)
    #: Modality supervision (MS): one head per modality, trained by the training module with
    #: weight ``config.unimodal_weight``.
    ms: bool = True
    #: Alignment (AL): InfoNCE between modality embeddings of the same epoch.
    al: bool = True
    #: InfoNCE temperature; the paper gives none, 0.07 is CLIP's [54], which it cites.
    tau: float = Field(0.07, gt=0)
    #: lambda_A (paper: 0.1).
    lambda_align: float = Field(0.1, ge=0)

    @model_validator(mode="after")
    def _check_sizes(self) -> "SleepOptions":
        self.architecture()
        return self

    def architecture(self) -> Architecture:
        """The preset of ``size`` with every explicitly set size key applied."""
        preset = PRESETS[self.size]
        values = {k: getattr(self, k) for k in Architecture.__dataclass_fields__}
        arch = Architecture(**{k: getattr(preset, k) if v is None else v for k, v in values.items()})
        if arch.d_model % arch.n_heads:
            raise ConfigError(f"model.d_model ({arch.d_model}) must be divisible by model.n_heads ({arch.n_heads})")
        return arch


class SleepConfig(ModelConfig):
    """The config of the sleep models: :class:`SleepOptions` under ``model`` and the weight
    of modality supervision. They read no ``embed_dim``, ``dropout``, ``head_hidden`` (the
    transformer sizes are ``model`` options) nor per-modality encoders."""

    #: Weight of the MS loss (the mean CE of the modality heads) when ``model.ms`` is on.
    unimodal_weight: float = Field(1.0, ge=0)
    model: SleepOptions = Field(default_factory=SleepOptions)
