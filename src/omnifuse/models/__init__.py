"""Models: recipes composing encoders, fusion operators and heads; and the registry.

Importing this package registers every model (see :mod:`omnifuse.models.registry`).
"""

from omnifuse.models import early, fusion_model, late, omnifuse, sklearn_baselines, sklearn_stack, sleep  # noqa: F401  (registration)
import omnifuse.balance.models  # noqa: F401,E402  (registers the balancing strategies)
from omnifuse.models.config import ModelConfig
from omnifuse.models.output import ModelOutput
from omnifuse.models.registry import ModelEntry, all_models, get_model

__all__ = ["ModelConfig", "ModelEntry", "ModelOutput", "all_models", "get_model"]
