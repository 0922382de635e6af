"""Models: recipes composing encoders, fusion operators and heads; and the registry.

Importing this package registers every model (see :mod:`omnifuse.models.registry`).
"""

from omnifuse.models import (  # noqa: F401  (registration)
    early,
    fusion_model,
    late,
    omnifuse,
    sklearn_baselines,
    sklearn_stack,
    sklearn_survival,
    sleep,
    strategies,
    ume_training,
)
from omnifuse.models.config import ModelConfig
from omnifuse.models.output import ModelOutput
from omnifuse.models.registry import ModelEntry, all_models, get_model

__all__ = ["ModelConfig", "ModelEntry", "ModelOutput", "all_models", "get_model"]
