"""Integrated gradients (Captum) for every neural model of the contract.

The path runs from the baseline (:mod:`~omnifuse.trust.attributions.baselines`) to the
patient's inputs with the availability mask held fixed; a modality the patient lacks keeps
its (absent) input on the whole path, so it gets no attribution and is left out of the
answer. Time series are attributed through their ``values`` only (observation mask, time
stamps and padding held fixed; unobserved entries keep their value on the path, so only
measured values are credited), reported per channel (summed over time) and per
``(channel, time window)`` cell. Other dense inputs (signals, images) are reported per
last-axis feature when the spec names it, else as one modality total; texts (lists of
strings) are not attributed (``not_attributed``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from omnifuse.data.arrays import IrregularSeries
from omnifuse.data.collate import SeriesBatch
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError
from omnifuse.evaluation.documents.explanations import PatientAttribution
from omnifuse.training.fit import FittedModel
from omnifuse.trust.attributions.baselines import AttributionBaselines, training_baselines
from omnifuse.trust.attributions.common import (
    DEFAULT_TOP_K,
    DEFAULT_WINDOW,
    Attributed,
    Feature,
    Window,
    assemble,
    check_target,
    check_task,
    check_top_k,
    class_name,
    names,
    number,
    output_name,
    targets,
)

#: Integration points of the path integral (Gauss-Legendre, Captum's default rule); on trained
#: OmniFuse (TCGA breast) 128 points leave a median relative error of 5e-7, 50 points 4e-3
#: with a tenth of the patients above 10% (the log-probability path can be steep).
DEFAULT_STEPS = 128


@dataclass
class Integrated:
    """Integrated gradients of a batch: attributions per attributed modality (in the shape of
    its input; a series: of its ``values``), the explained class of each row and the ``(B,)``
    explained scores at the inputs and at the baseline."""

    attributions: dict[str, torch.Tensor]
    target: torch.Tensor
    score: torch.Tensor
    baseline_score: torch.Tensor


def explained_score(logits: torch.Tensor, target: torch.Tensor, task: str) -> torch.Tensor:
    """``(B,)`` the score attributions explain: log-odds of the target class (binary) or
    label (multilabel), log-probability of the target class (multiclass)."""
    rows = torch.arange(logits.shape[0])
    target = target.long()
    if task == "binary":
        return logits[rows, target] - logits[rows, 1 - target]
    if task == "multiclass":
        return torch.log_softmax(logits, dim=-1)[rows, target]
    return logits[rows, target]


def integrated_gradients(
    model: torch.nn.Module,
    inputs: Mapping[str, Any],
    mask: torch.Tensor,
    task: str,
    baselines: Mapping[str, np.ndarray],
    target: int | None = None,
    n_steps: int = DEFAULT_STEPS,
) -> Integrated:
    """Integrated gradients of the explained score (see :func:`explained_score`) of a batch.

    One forward and one backward pass over the ``n_steps`` path points of every row, with the
    inputs and the baseline appended (the explained class and the scores at both ends; they
    are constants for the gradients). Rows of absent modalities and unobserved series
    entries are their own baseline. The model is in eval mode: rows do not interact.
    """
    names_ = tuple(sorted(inputs))
    b = int(mask.shape[0])
    attributed, xs, bs = _path_ends(inputs, mask, names_, baselines)

    def tile(value: Any, reps: int) -> Any:
        if reps == 1:
            return value
        if isinstance(value, torch.Tensor):
            return value.repeat(reps, *[1] * (value.dim() - 1))
        if isinstance(value, SeriesBatch):
            return SeriesBatch(*(tile(t, reps) for t in (value.values, value.observed, value.times, value.step_mask)))
        return list(value) * reps

    def logits(*scaled: torch.Tensor) -> torch.Tensor:
        reps = int(scaled[0].shape[0]) // b if scaled else 1
        batch = {name: tile(inputs[name], reps) for name in names_ if name not in attributed}
        for name, values in zip(attributed, scaled):
            x = inputs[name]
            batch[name] = (
                SeriesBatch(values, *(tile(t, reps) for t in (x.observed, x.times, x.step_mask)))
                if isinstance(x, SeriesBatch)
                else values
            )
        return model(batch, tile(mask, reps)).logits

    was_training = model.training
    if was_training:  # eval() walks every submodule: only when needed
        model.eval()
    try:
        if not attributed:
            with torch.no_grad():
                out = logits()
            tgt = targets(out, task, target)
            score = explained_score(out, tgt, task)
            return Integrated({}, tgt, score, score)
        ends: dict[str, torch.Tensor] = {}

        def forward(*scaled: torch.Tensor) -> torch.Tensor:
            # The inputs and the baseline ride along with the path points (one forward pass
            # instead of two): their logits give the explained class and the two end scores.
            n = int(scaled[0].shape[0])
            out = logits(*(torch.cat([s, x, base]) for s, x, base in zip(scaled, xs, bs)))
            at_x, at_base = out[n : n + b].detach(), out[n + b :].detach()
            tgt = targets(at_x, task, target)
            ends.update(target=tgt, score=explained_score(at_x, tgt, task), base=explained_score(at_base, tgt, task))
            return explained_score(out[:n], tile(tgt, n // b), task)

        with torch.enable_grad():
            attrs = _integrated_gradients(forward).attribute(tuple(xs), baselines=tuple(bs), n_steps=n_steps)
    finally:
        if was_training:
            model.train()
    return Integrated({n: a.detach() for n, a in zip(attributed, attrs)}, ends["target"], ends["score"], ends["base"])


def _integrated_gradients(forward: Any) -> Any:
    """Captum's IntegratedGradients over ``forward``, with its quadrature rule computed once
    per number of steps (Captum recomputes numpy's Gauss-Legendre rule, about 4 ms, twice on
    every call: a tenth of a one-patient explanation)."""
    from captum.attr import IntegratedGradients  # deferred: start-up time

    class CachedRule(IntegratedGradients):
        def _attribute(self, *args: Any, **kwargs: Any) -> Any:
            if kwargs.get("step_sizes_and_alphas") is None:
                kwargs["step_sizes_and_alphas"] = _rule(
                    str(kwargs.get("method", "gausslegendre")), int(kwargs.get("n_steps", DEFAULT_STEPS))
                )
            return super()._attribute(*args, **kwargs)

    return CachedRule(forward)


@lru_cache(maxsize=16)
def _rule(method: str, n_steps: int) -> tuple[list[float], list[float]]:
    """Captum's step sizes and path points of ``method`` with ``n_steps`` points."""
    from captum.attr._utils.approximation_methods import approximation_parameters  # deferred: start-up time (captum)

    step_sizes, alphas = approximation_parameters(method)
    return list(step_sizes(n_steps)), list(alphas(n_steps))


def _path_ends(
    inputs: Mapping[str, Any], mask: torch.Tensor, names_: Sequence[str], baselines: Mapping[str, np.ndarray]
) -> tuple[list[str], list[torch.Tensor], list[torch.Tensor]]:
    """The attributed modalities, their inputs and their baselines (absent rows and
    unobserved entries: the input itself)."""
    attributed: list[str] = []
    xs: list[torch.Tensor] = []
    bs: list[torch.Tensor] = []
    for j, name in enumerate(names_):
        x = inputs[name]
        present = mask[:, j].bool()
        if isinstance(x, SeriesBatch):
            values = x.values.float()
            mean = torch.as_tensor(baselines.get(name, np.zeros(values.shape[-1])), dtype=values.dtype)
            keep = x.observed.bool() & present[:, None, None]
            xs.append(values)
            bs.append(torch.where(keep, mean.expand_as(values), values))
        elif isinstance(x, torch.Tensor) and x.is_floating_point() and x.dim() >= 2 and x.shape[1:].numel() > 0:
            if name not in baselines:
                raise ConfigError(f"no attribution baseline for modality '{name}'")
            mean = torch.as_tensor(baselines[name], dtype=x.dtype).expand_as(x)
            xs.append(x)
            bs.append(torch.where(present.view(-1, *[1] * (x.dim() - 1)), mean, x))
        else:
            continue
        attributed.append(name)
    return attributed, xs, bs


def explain_neural(
    fitted: FittedModel,
    index: Sequence[int] | np.ndarray,
    top_k: int | None = DEFAULT_TOP_K,
    target: int | None = None,
    n_steps: int = DEFAULT_STEPS,
    baselines: Mapping[str, np.ndarray] | AttributionBaselines | None = None,
    window: float = DEFAULT_WINDOW,
    chunk: int = 32,
) -> list[PatientAttribution]:
    """Integrated-gradients answers for dataset positions ``index`` (see the module docstring).

    ``target``: the class (label) explained; default: class 1 for binary tasks, the predicted
    class (most probable label) of each patient otherwise. ``top_k``: features (and windows)
    kept per modality, None for all. ``baselines``: per modality the path's start (default
    :func:`training_baselines`), or stored :class:`AttributionBaselines`. ``window``: width
    of the time windows of series attributions, in the series' time unit.
    """
    model = fitted.model
    ds = fitted.context.dataset
    check_task(ds.task, fitted.name)
    if getattr(model, "sequence_length", None):
        raise ConfigError(f"attributions for sequence models ('{fitted.name}') are not supported yet")
    check_target(target, ds)
    check_top_k(top_k)
    if not window > 0:
        raise ConfigError(f"attribution window must be positive, got {window}")
    if isinstance(baselines, AttributionBaselines) or baselines is None:
        base = training_baselines(fitted, baselines)
    else:
        base = dict(baselines)
    index = np.asarray(index, dtype=np.int64)
    answers: list[PatientAttribution] = []
    for start in range(0, len(index), chunk):
        rows = index[start : start + chunk]
        batch = fitted.context.store.batch(rows)
        inputs, mask = batch["inputs"], batch["mask"]
        ig = integrated_gradients(model, inputs, mask, ds.task, base, target, n_steps)
        _check_finite(ig, fitted.name, [str(ds.sample_ids[r]) for r in rows])
        for i, row in enumerate(rows):
            modalities, absent, skipped = _attributed(ds, int(row), i, inputs, ig.attributions, window)
            total = sum(a.total for a in modalities.values())
            score, base_score, k = float(ig.score[i]), float(ig.baseline_score[i]), int(ig.target[i])
            answers.append(
                PatientAttribution(
                    sample_id=str(ds.sample_ids[row]),
                    method="integrated_gradients",
                    target=class_name(ds, k),
                    output=output_name(ds, k),
                    score=score,
                    baseline_score=base_score,
                    modalities=assemble(modalities, top_k),
                    absent=absent,
                    not_attributed=skipped,
                    delta=score - base_score - total,
                )
            )
    return answers


def _check_finite(ig: Integrated, model: str, ids: list[str]) -> None:
    """Non-finite scores or gradients (a model producing NaN) cannot be attributed."""
    bad = ~(torch.isfinite(ig.score) & torch.isfinite(ig.baseline_score))
    for a in ig.attributions.values():
        bad |= ~torch.isfinite(a.reshape(a.shape[0], -1)).all(dim=1)
    if bool(bad.any()):
        raise ConfigError(
            f"model '{model}' gives non-finite scores or gradients for sample '{ids[int(bad.nonzero()[0, 0])]}': "
            "its prediction cannot be attributed"
        )


def _attributed(
    ds: MultimodalDataset,
    row: int,
    i: int,
    inputs: Mapping[str, Any],
    attrs: Mapping[str, torch.Tensor],
    window: float,
) -> tuple[dict[str, Attributed], list[str], list[str]]:
    """Row ``i`` of the batch (dataset position ``row``): its present, attributed modalities,
    its absent ones, and the present ones not attributed."""
    modalities: dict[str, Attributed] = {}
    absent, skipped = [], []
    for j, name in enumerate(ds.modalities):
        if not bool(ds.mask[row, j]):
            absent.append(name)
            continue
        if name not in attrs:
            skipped.append(name)
            continue
        a = attrs[name][i].double()
        spec, x, raw = ds.specs[name], inputs[name], ds.data[name]
        windows: list[Window] = []
        feats: list[Feature]
        if isinstance(x, SeriesBatch):
            channels = names(spec.feature_names, a.shape[-1], name)
            real = x.step_mask[i].bool()
            series = raw.values[row, : int(real.sum())] if isinstance(raw, IrregularSeries) else None
            means = _channel_means(series, len(channels))
            feats = list(zip(channels, means, a.sum(dim=0).tolist()))
            windows = _windows(a[real], x.times[i][real], series, channels, window)
        elif a.dim() == 1:
            values = _vector_values(raw, row, a.shape[0])
            feats = list(zip(names(spec.feature_names, a.shape[0], name), values, a.tolist()))
        elif spec.feature_names and len(spec.feature_names) == a.shape[-1]:
            per_feature = a.reshape(-1, a.shape[-1]).sum(dim=0).tolist()
            feats = [(n, None, s) for n, s in zip(spec.feature_names, per_feature)]
        else:
            feats = [(name, None, float(a.sum()))]
        modalities[name] = Attributed(feats, windows, float(a.sum()))
    return modalities, absent, skipped


def _vector_values(raw: Any, row: int, width: int) -> list[float | None]:
    if isinstance(raw, np.ndarray) and raw.dtype.kind == "f" and raw[row].size == width:
        return [number(v) for v in np.asarray(raw[row]).reshape(-1)]
    return [None] * width


def _channel_means(series: np.ndarray | None, width: int) -> list[float | None]:
    if series is None or series.shape[-1] != width:
        return [None] * width
    observed = ~np.isnan(series)
    counts = observed.sum(axis=0)
    sums = np.where(observed, series, 0.0).sum(axis=0, dtype=np.float64)
    return [float(s / n) if n else None for s, n in zip(sums, counts)]


def _windows(
    a: torch.Tensor,
    times: torch.Tensor,
    series: np.ndarray | None,
    channels: list[str],
    width: float,
) -> list[Window]:
    """``(T, C)`` attributions of the real steps summed per (channel, window) cell, cells with
    any attribution; ``series``: the raw ``(T, C)`` values of the same steps (NaN unobserved)."""
    if not len(times):
        return []
    bins = torch.floor(times.double() / width).long()
    out = []
    for w in torch.unique(bins).tolist():
        in_window = bins == w
        cell = a[in_window].sum(dim=0)
        values = _channel_means(series[in_window.numpy()], len(channels)) if series is not None else None
        for c, attribution in enumerate(cell.tolist()):
            if attribution != 0.0:
                out.append(
                    (channels[c], w * width, (w + 1) * width, None if values is None else values[c], attribution)
                )
    return out
