"""What every neural model shares: built from the dataset's modality specs and its model config."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar, TypeVar, cast

import torch
from torch import nn

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.spec import ModalitySpec
from omnifuse.encoders import build_encoder
from omnifuse.encoders.base import Encoder
from omnifuse.encoders.selection import SelectedEncoder, selection_for
from omnifuse.errors import ConfigError
from omnifuse.models.config import EncodedConfig, ModelConfig, NeuralConfig, as_config
from omnifuse.tasks import TASK_NAMES, output_units

M = TypeVar("M", bound="MultimodalModel")


class MultimodalModel(nn.Module):
    """Base of neural models: one constructor signature for all (braindecode-style),
    ``(specs, task, n_classes, config)`` with ``config`` an instance of ``config_class``.

    Subclasses implement ``forward(inputs, mask) -> ModelOutput`` and may declare
    ``tasks`` they support and ``defaults`` (config values their registered name implies).
    :meth:`get_config` returns the config the model was built with and
    :meth:`from_config` rebuilds it from a dataset schema and that config.
    """

    name: ClassVar[str]
    kind: ClassVar[str] = "fusion"
    paper: ClassVar[str] = ""
    tasks: ClassVar[tuple[str, ...]] = TASK_NAMES
    defaults: ClassVar[dict[str, Any]] = {}
    #: Tunable options of this model, full dotted config keys (see :mod:`omnifuse.tuning.space`).
    search_space: ClassVar[dict[str, dict[str, Any]]] = {}
    #: False for models that read the raw features instead of per-modality encoders.
    uses_encoders: ClassVar[bool] = True
    #: The keys this model reads (a mapping given instead is validated into one).
    config_class: ClassVar[type[ModelConfig]] = NeuralConfig
    #: One encoder per modality, set by the subclasses that have encoders (:meth:`build_encoders`).
    encoders: nn.ModuleDict

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: ModelConfig) -> None:
        super().__init__()
        name = getattr(self, "name", type(self).__name__)
        if task not in self.tasks:
            raise ConfigError(f"model '{name}' does not support {task} tasks (supports: {', '.join(self.tasks)})")
        self.modalities: tuple[str, ...] = tuple(sorted(specs))
        self.specs = dict(specs)
        self.task = task
        self.n_classes = n_classes
        self.config = as_config(self.config_class, config, name)

    @classmethod
    def from_config(cls: type[M], schema: Any, config: ModelConfig) -> M:
        """Build the model for the modalities and task of ``schema`` (a dataset or its
        :class:`~omnifuse.data.schema.DatasetSchema`).

        The output layer has one unit per class, or for survival one log-risk (Cox head) or
        ``survival_bins`` hazard logits (logistic-hazard head)."""
        head = getattr(config, "survival_head", "cox")
        units = output_units(schema.task, schema.class_names, head, getattr(config, "survival_bins", 1))
        return cls(schema.specs, schema.task, units, config)

    @classmethod
    def from_dataset(cls: type[M], dataset: MultimodalDataset, config: ModelConfig) -> M:
        """Build the model for ``dataset``'s modalities and task (see :meth:`from_config`)."""
        return cls.from_config(dataset, config)

    def get_config(self) -> ModelConfig:
        """The config the model was built with."""
        return self.config

    @property
    def unimodal_weight(self) -> float:
        """Weight the training module gives the unimodal heads' loss (0: none)."""
        return float(getattr(self.config, "unimodal_weight", 0.0))

    def build_encoders(self, output_dim: int) -> nn.ModuleDict:
        """One encoder per modality, configured by ``config.encoders[name or kind]``."""
        if not isinstance(self.config, EncodedConfig):
            raise TypeError(f"{type(self).__name__}: build_encoders needs an EncodedConfig")
        known = set(self.modalities) | {self.specs[m].kind for m in self.modalities}
        unknown = sorted(set(self.config.select) - known)
        if unknown:
            raise ConfigError(
                f"select.{unknown[0]}: not a modality or modality kind of this data (valid: {', '.join(sorted(known))})"
            )
        encoders = {}
        for name in self.modalities:
            spec = self.specs[name]
            options = self.config.encoders.get(name, self.config.encoders.get(spec.kind, {}))
            selection = selection_for(spec, self.config.select)
            if selection is None:
                encoders[name] = build_encoder(spec, output_dim, dict(options))
                continue
            narrow = replace(spec, feature_names=(), shape=(selection.kept(spec.n_features),))
            encoders[name] = SelectedEncoder(
                build_encoder(narrow, output_dim, dict(options)), spec.n_features, selection
            )
        return nn.ModuleDict(encoders)

    def encode(
        self, inputs: Mapping[str, Any], mask: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Embeddings per modality and, in training mode, the encoders' auxiliary losses."""
        embeddings, losses = {}, {}
        for j, name in enumerate(self.modalities):
            # build_encoders puts an Encoder under every modality
            encoder = cast(Encoder, self.encoders[name])
            embeddings[name] = encoder(inputs[name])
            if self.training:
                for key, value in encoder.auxiliary_losses(inputs[name], mask[:, j]).items():
                    losses[f"{name}/{key}"] = value
        return embeddings, losses
