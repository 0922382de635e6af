"""Model parameters on disk without pickle: safetensors for networks, skops for scikit-learn.

skops files are loaded only after every type they reference is checked against
:data:`SKOPS_ALLOWED` (never ``trusted=True``): a bundle cannot make the loader build
arbitrary objects.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from omnifuse.errors import ConfigError, DataError

TORCH_FILE = "weights.safetensors"
SKOPS_FILE = "model.skops"
ALIASES_KEY = "omnifuse.aliases"

#: Types skops does not trust by default that the scikit-learn and scikit-survival baselines
#: legitimately contain (``skops.io.get_untrusted_types`` of their fitted estimators).
SKOPS_ALLOWED = frozenset(
    {
        # cox (scikit-survival's CoxPHSurvivalAnalysis: Breslow baseline as step functions)
        "sksurv.linear_model.coxph.CoxPHSurvivalAnalysis",
        "sksurv.linear_model.coxph.BreslowEstimator",
        "sksurv.functions.StepFunction",
        # rsf (scikit-survival's RandomSurvivalForest of SurvivalTrees on scikit-learn trees)
        "sksurv.ensemble.forest.RandomSurvivalForest",
        "sksurv.tree.tree.SurvivalTree",
        "sklearn.tree._tree.Tree",
        # sk-hgb
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn._loss.loss.HalfBinomialLoss",
        "sklearn._loss.loss.HalfMultinomialLoss",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.link.MultinomialLogit",
        "sklearn._loss.link.Interval",
        # numpy scalars and dtypes
        "numpy.dtype",
        "numpy.float64",
        "numpy.int64",
    }
)


def save_torch(model: nn.Module, path: Path) -> None:
    """Write ``model.state_dict()`` to ``path`` (tied tensors stored once, as aliases)."""
    tensors, aliases = split_shared(model.state_dict())
    save_file(tensors, str(path), metadata={ALIASES_KEY: json.dumps(aliases, sort_keys=True)})


def split_shared(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Contiguous CPU copies of ``state``'s tensors; a tensor identical to an earlier one
    (same storage, offset, shape, stride, dtype: tied weights) becomes an alias of it."""
    tensors: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple[Any, ...], str] = {}
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise ConfigError(f"state entry '{name}' is a {type(value).__name__}, not a tensor: cannot save it")
        t = value.detach()
        key = (t.device, t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), t.stride(), t.dtype)
        if t.numel() and key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        tensors[name] = t.to("cpu", copy=True).contiguous()  # a copy never shares storage
    return tensors, aliases


def load_torch(model: nn.Module, path: Path) -> nn.Module:
    """Load ``path`` into ``model`` (strict: every key, every shape) and set eval mode."""
    try:
        state = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            aliases = json.loads((handle.metadata() or {}).get(ALIASES_KEY, "{}"))
    except (SafetensorError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable safetensors file ({_one_line(exc)})") from None
    for name, target in dict(aliases).items():
        if target not in state:
            raise DataError(f"{path}: alias '{name}' points to missing tensor '{target}'")
        state[name] = state[target]
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise DataError(f"{path}: weights do not fit the model ({_one_line(exc)})") from None
    return model.eval()


def save_skops(estimator: Any, path: Path) -> None:
    """Write a fitted estimator (or a list of estimators and float constants) with skops."""
    import skops.io as sio  # deferred: skops.io imports pytest and pygments (seconds); only sklearn bundles need it

    sio.dump(estimator, str(path))


def load_skops(path: Path) -> Any:
    """The estimator in ``path``; refuses a file referencing a type outside the allow-list."""
    import skops.io as sio  # deferred: as in save_skops

    try:
        untrusted = sio.get_untrusted_types(file=str(path))
    except Exception as exc:  # skops raises many kinds on a corrupt archive
        raise DataError(f"{path}: not a readable skops file ({_one_line(exc)})") from None
    refused = sorted(set(untrusted) - SKOPS_ALLOWED)
    if refused:
        raise DataError(
            f"{path}: refusing to load untrusted type(s) {', '.join(refused)} "
            "(not an allow-listed scikit-learn/scikit-survival/numpy type)"
        )
    try:
        return sio.load(str(path), trusted=list(untrusted))
    except Exception as exc:
        raise DataError(f"{path}: cannot load the estimator ({_one_line(exc)})") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] + ("..." if len(text) > 300 else "")
