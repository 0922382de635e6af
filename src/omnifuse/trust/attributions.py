"""Feature attributions: per patient and present modality, what moved the prediction.

Neural models: **integrated gradients** (Sundararajan, Taly & Yan, "Axiomatic Attribution
for Deep Networks", ICML 2017) with Captum (Kokhlikyan et al. 2020). The path runs from a
baseline to the patient's inputs, with the availability mask held fixed: the baseline is the
training mean of every present modality (0 for standardised kinds, the training mean of the
raw values for embeddings), and a modality the patient lacks keeps its (absent) input on the
whole path, so it gets no attribution and is left out of the answer (never a zero entry).
Completeness: the attributions sum to ``f(x) - f(baseline)``, where ``f`` is

* binary: the log-odds of the explained class (``logit_k - logit_other``);
* multiclass: the log-probability of the explained class (log-softmax);
* multilabel: the log-odds of the explained label,

and ``f(baseline)`` is what the model says for an average patient with the same
availability. ``delta`` reports how far the numerical integral is from exact.

What gets attributed: vector modalities per feature; time series (a
:class:`~omnifuse.data.collate.SeriesBatch`) through their ``values`` only (observation mask,
time stamps and padding held fixed; unobserved entries keep their value on the path, so
only measured values are credited), reported per channel (summed over time) and per
``(channel, time window)`` cell; other dense inputs (signals, images) per last-axis feature
when the spec names it, else as one modality total; texts (lists of strings) are not
attributed (``not_attributed``). Sequence-to-sequence (sleep) models are not supported yet.

scikit-learn baselines (on :func:`omnifuse.models.features.flat_features`): **SHAP**
(Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions", NeurIPS 2017).
``sk-hgb``: TreeExplainer (Lundberg et al., Nature Machine Intelligence 2020), exact tree
SHAP of the raw margin, baseline the trees' expected value. ``sk-logreg``: the exact linear
SHAP values with independent features, ``coef * (x - training mean)`` (what shap's
LinearExplainer computes), on the decision function (binary log-odds; multiclass the class's
linear logit). Flat features are mapped back to their modality: a vector feature to its
name, a time-series summary to ``"<channel> (<statistic>)"``. The imputed values standing in
for absent modalities and the availability indicators are reported together as
``availability_effect`` (how much the score moved because of which modalities are there),
not as modality entries. For neural models that effect is 0 by construction (the mask is
held fixed along the path).

Shares: a modality's ``share`` is its absolute attribution (summed over the reported units:
features, channels) over that of all reported modalities.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, Field

from omnifuse.data.collate import SeriesBatch
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.scaling import SCALED_KINDS
from omnifuse.errors import ConfigError
from omnifuse.models.features import SERIES_STATS, feature_width
from omnifuse.models.sklearn_baselines import SklearnBaseline
from omnifuse.training.fit import FittedModel
from omnifuse.utils.jsonio import to_jsonable

DEFAULT_TOP_K = 5
#: Width of the time windows time-series attributions are summed over (in the series' time unit).
DEFAULT_WINDOW = 6.0


class FeatureAttribution(BaseModel):
    name: str
    attribution: float


class WindowAttribution(BaseModel):
    """A time series' attribution summed over one channel and one time window ``[start, end)``."""

    channel: str
    start: float
    end: float
    attribution: float


class ModalityAttribution(BaseModel):
    """One present modality: signed ``total``, ``share`` of all absolute attribution, the
    ``top_k`` features (channels for time series) and, for time series, the top windows."""

    total: float
    share: float
    features: list[FeatureAttribution]
    windows: list[WindowAttribution] = Field(default_factory=list)


class PatientAttribution(BaseModel):
    """The attribution answer for one patient (JSON-safe through :meth:`to_dict`)."""

    sample_id: str
    method: str
    target: str
    output: str
    score: float
    baseline_score: float
    modalities: dict[str, ModalityAttribution]
    absent: list[str]
    availability_effect: float = 0.0
    not_attributed: list[str] = Field(default_factory=list)
    delta: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self.model_dump())


# --------------------------------------------------------------------------- dispatch


def explain(
    fitted: FittedModel,
    index: Sequence[int] | np.ndarray,
    top_k: int = DEFAULT_TOP_K,
    target: int | None = None,
    **options: Any,
) -> list[PatientAttribution]:
    """Attributions for dataset positions ``index`` of ``fitted.context.dataset``:
    :func:`explain_neural` or :func:`explain_sklearn`, whichever fits the model."""
    if fitted.is_neural:
        return explain_neural(fitted, index, top_k=top_k, target=target, **options)
    return explain_sklearn(fitted, index, top_k=top_k, target=target, **options)


# --------------------------------------------------------------------------- neural models


def training_baselines(fitted: FittedModel) -> dict[str, np.ndarray]:
    """Per modality the integrated-gradients baseline: 0 for standardised kinds (the
    training mean after standardisation), else the mean over the training samples that have
    the modality (vector: ``(F,)``; dense tensors: their per-sample shape).

    Raises:
        ConfigError: an unstandardised modality (e.g. an embedding) and a context without
            training samples (e.g. ``fitted.on_samples(...)``): compute the baselines on the
            training fit and pass them as ``baselines=``.
    """
    ctx = fitted.context
    ds, full = ctx.dataset, ctx.store.full
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(ds.modalities):
        spec, x = ds.specs[name], full["inputs"][name]
        if isinstance(x, SeriesBatch):
            out[name] = np.zeros(x.values.shape[-1], dtype=np.float32)
            continue
        if not isinstance(x, torch.Tensor):
            continue
        if spec.kind in SCALED_KINDS:
            out[name] = np.zeros(tuple(x.shape[1:]), dtype=np.float32)
            continue
        rows = ctx.train[ds.mask[ctx.train, j]] if len(ctx.train) else ctx.train
        if not len(rows):
            raise ConfigError(
                f"attribution baseline of modality '{name}' (kind {spec.kind}) needs training samples "
                "that have it; pass baselines=training_baselines(<the fitted model on its training data>)"
            )
        out[name] = x[torch.as_tensor(rows)].double().mean(dim=0).float().numpy()
    return out


def integrated_gradients(
    model: torch.nn.Module,
    inputs: Mapping[str, Any],
    mask: torch.Tensor,
    task: str,
    target: torch.Tensor,
    baselines: Mapping[str, np.ndarray],
    n_steps: int = 50,
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """Integrated gradients of the explained score (see the module docstring) per modality.

    Returns ``(attributions, score, baseline_score)``: attributions per attributed modality
    in the shape of its input (a series: of its ``values``), and ``(B,)`` scores at the
    inputs and at the baseline. Rows of absent modalities and unobserved series entries
    are their own baseline (zero attribution).
    """
    from captum.attr import IntegratedGradients  # deferred: start-up time

    names = tuple(sorted(inputs))
    b = int(mask.shape[0])
    attributed: list[str] = []
    xs: list[torch.Tensor] = []
    bs: list[torch.Tensor] = []
    for j, name in enumerate(names):
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

    def tile(value: Any, reps: int) -> Any:
        if isinstance(value, torch.Tensor):
            return value.repeat(reps, *[1] * (value.dim() - 1))
        if isinstance(value, SeriesBatch):
            return SeriesBatch(*(tile(t, reps) for t in (value.values, value.observed, value.times, value.step_mask)))
        return list(value) * reps

    def forward(*scaled: torch.Tensor) -> torch.Tensor:
        reps = int(scaled[0].shape[0]) // b
        batch = {name: tile(inputs[name], reps) for name in names if name not in attributed}
        for name, values in zip(attributed, scaled):
            x = inputs[name]
            batch[name] = (
                SeriesBatch(values, *(tile(t, reps) for t in (x.observed, x.times, x.step_mask)))
                if isinstance(x, SeriesBatch)
                else values
            )
        return explained_score(model(batch, tile(mask, reps)).logits, tile(target, reps), task)

    if not attributed:
        with torch.no_grad():
            score = explained_score(model(dict(inputs), mask).logits, target, task)
        return {}, score, score
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            ig = IntegratedGradients(forward)
            attrs = ig.attribute(tuple(xs), baselines=tuple(bs), n_steps=n_steps)
        with torch.no_grad():
            score, base = forward(*xs), forward(*bs)
    finally:
        model.train(was_training)
    return {name: a.detach() for name, a in zip(attributed, attrs)}, score.detach(), base.detach()


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


def explain_neural(
    fitted: FittedModel,
    index: Sequence[int] | np.ndarray,
    top_k: int = DEFAULT_TOP_K,
    target: int | None = None,
    n_steps: int = 50,
    baselines: Mapping[str, np.ndarray] | None = None,
    window: float = DEFAULT_WINDOW,
    chunk: int = 32,
) -> list[PatientAttribution]:
    """Integrated-gradients answers for dataset positions ``index`` (see the module docstring).

    ``target``: the class (label) explained; default: class 1 for binary tasks, the predicted
    class (most probable label) of each patient otherwise. ``window``: width of the time
    windows of series attributions, in the series' time unit.
    """
    model = fitted.model
    if getattr(model, "sequence_length", None):
        raise ConfigError(f"attributions for sequence models ('{fitted.name}') are not supported yet")
    ds = fitted.context.dataset
    _check_target(target, ds)
    base = dict(baselines) if baselines is not None else training_baselines(fitted)
    index = np.asarray(index, dtype=np.int64)
    answers: list[PatientAttribution] = []
    for start in range(0, len(index), chunk):
        rows = index[start : start + chunk]
        batch = fitted.context.store.batch(rows)
        inputs, mask = batch["inputs"], batch["mask"]
        with torch.no_grad():
            model.eval()
            logits = model(inputs, mask).logits
        tgt = _targets(logits, ds.task, target)
        attrs, score, base_score = integrated_gradients(model, inputs, mask, ds.task, tgt, base, n_steps)
        for i in range(len(rows)):
            answers.append(
                _neural_answer(
                    ds,
                    int(rows[i]),
                    i,
                    inputs,
                    mask[i],
                    attrs,
                    float(score[i]),
                    float(base_score[i]),
                    int(tgt[i]),
                    top_k,
                    window,
                )
            )
    return answers


def _neural_answer(
    ds: MultimodalDataset,
    row: int,
    i: int,
    inputs: Mapping[str, Any],
    present: torch.Tensor,
    attrs: Mapping[str, torch.Tensor],
    score: float,
    base_score: float,
    target: int,
    top_k: int,
    window: float,
) -> PatientAttribution:
    modalities: dict[str, tuple[list[tuple[str, float]], list[WindowAttribution], float]] = {}
    absent, skipped, total = [], [], 0.0
    for j, name in enumerate(ds.modalities):
        if not bool(present[j]):
            absent.append(name)
            continue
        if name not in attrs:
            skipped.append(name)
            continue
        a = attrs[name][i].double()
        total += float(a.sum())
        spec = ds.specs[name]
        x = inputs[name]
        windows: list[WindowAttribution] = []
        if isinstance(x, SeriesBatch):
            channels = _names(spec.feature_names, a.shape[-1], name)
            feats = list(zip(channels, a.sum(dim=0).tolist()))
            windows = _windows(a, x.times[i], x.step_mask[i], channels, window)
        elif a.dim() == 1:
            feats = list(zip(_names(spec.feature_names, a.shape[0], name), a.tolist()))
        elif spec.feature_names and len(spec.feature_names) == a.shape[-1]:
            feats = list(zip(spec.feature_names, a.reshape(-1, a.shape[-1]).sum(dim=0).tolist()))
        else:
            feats = [(name, float(a.sum()))]
        modalities[name] = (feats, windows, float(a.sum()))
    return PatientAttribution(
        sample_id=str(ds.sample_ids[row]),
        method="integrated_gradients",
        target=_class_name(ds, target),
        output=_output_name(ds, target),
        score=score,
        baseline_score=base_score,
        modalities=_assemble(modalities, top_k),
        absent=absent,
        not_attributed=skipped,
        delta=score - base_score - total,
    )


def _windows(
    a: torch.Tensor,
    times: torch.Tensor,
    step_mask: torch.Tensor,
    channels: list[str],
    width: float,
) -> list[WindowAttribution]:
    """``(T, C)`` attributions summed per (channel, window) cell, cells with any attribution."""
    if not width > 0:
        raise ConfigError(f"attribution window must be positive, got {width}")
    real = step_mask.bool()
    if not bool(real.any()):
        return []
    bins = torch.floor(times[real].double() / width).long()
    out = []
    for w in torch.unique(bins).tolist():
        cell = a[real][bins == w].sum(dim=0)
        for c, value in enumerate(cell.tolist()):
            if value != 0.0:
                out.append(
                    WindowAttribution(channel=channels[c], start=w * width, end=(w + 1) * width, attribution=value)
                )
    return out


def _targets(logits: torch.Tensor, task: str, target: int | None) -> torch.Tensor:
    if target is not None:
        return torch.full((logits.shape[0],), int(target), dtype=torch.long)
    if task == "binary":
        return torch.ones(logits.shape[0], dtype=torch.long)
    return logits.argmax(dim=1)


# --------------------------------------------------------------------------- scikit-learn baselines


def flat_feature_layout(dataset: MultimodalDataset) -> list[tuple[str | None, str]]:
    """``(modality, feature name)`` of every column of
    :func:`~omnifuse.models.features.flat_features`, in order; the trailing availability
    indicators have modality None and name ``"available:<modality>"``.

    (Adapter: the baselines do not expose their feature names; the next step can add a
    ``feature_names`` property to :class:`~omnifuse.models.sklearn_baselines.SklearnBaseline`.)
    """
    out: list[tuple[str | None, str]] = []
    for name in dataset.modalities:
        spec = dataset.specs[name]
        if spec.is_sequence:
            channels = _names(spec.feature_names, spec.n_features, name)
            out += [(name, f"{c} ({stat})") for stat in SERIES_STATS for c in channels]
        else:
            width = feature_width(spec)
            out += [(name, n) for n in _names(spec.feature_names, width, name)]
    return out + [(None, f"available:{name}") for name in dataset.modalities]


def explain_sklearn(
    fitted: FittedModel,
    index: Sequence[int] | np.ndarray,
    top_k: int = DEFAULT_TOP_K,
    target: int | None = None,
    background: np.ndarray | None = None,
) -> list[PatientAttribution]:
    """SHAP answers for a scikit-learn baseline (see the module docstring).

    ``background``: flat training features (or their mean, ``(F,)``) for ``sk-logreg``;
    default: the context's training rows. ``target`` as in :func:`explain_neural`.

    Raises:
        ConfigError: a baseline other than ``sk-logreg`` / ``sk-hgb``, or no training rows to
            take the mean from and no ``background``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression

    baseline: SklearnBaseline = fitted.model
    ds = fitted.context.dataset
    _check_target(target, ds)
    index = np.asarray(index, dtype=np.int64)
    flat = fitted.context.flat()
    x = flat[index].astype(np.float64)
    layout = flat_feature_layout(ds)
    if len(layout) != flat.shape[1]:
        raise ConfigError(f"flat features have {flat.shape[1]} columns, the layout {len(layout)}")
    probs = baseline.predict_proba(x)
    targets = _targets(torch.from_numpy(probs), ds.task, target).numpy()
    estimators = baseline.estimator if ds.task == "multilabel" else [baseline.estimator]
    kinds = {type(e) for e in estimators if not isinstance(e, float)}
    if not kinds <= {LogisticRegression, HistGradientBoostingClassifier}:
        raise ConfigError(
            f"attributions for model '{fitted.name}' are not supported (supported baselines: sk-logreg, sk-hgb)"
        )
    phi = np.zeros_like(x)
    score, base_score = np.zeros(len(x)), np.zeros(len(x))
    for k in np.unique(targets):
        rows = targets == k
        est = estimators[k] if ds.task == "multilabel" else estimators[0]
        if isinstance(est, float):  # a label constant in training: nothing moves it
            score[rows] = base_score[rows] = float(np.log(est + 1e-12) - np.log1p(-est + 1e-12))
            continue
        column, sign = _margin_column(est, ds.task, int(k))
        if isinstance(est, LogisticRegression):
            mean = _background_mean(fitted, background, flat.shape[1])
            coef, intercept = est.coef_[column], float(np.atleast_1d(est.intercept_)[column])
            phi[rows] = sign * coef * (x[rows] - mean)
            score[rows] = sign * (x[rows] @ coef + intercept)
            base_score[rows] = sign * (mean @ coef + intercept)
        else:
            with warnings.catch_warnings():  # shap's colour maps use matplotlib calls it deprecates
                warnings.simplefilter("ignore", PendingDeprecationWarning)
                import shap  # deferred: start-up time

            explainer = shap.TreeExplainer(est)
            values = np.asarray(explainer.shap_values(x[rows]))
            expected = np.atleast_1d(explainer.expected_value)
            if values.ndim == 3:  # (n, F, K) for multiclass margins
                values, expected = values[:, :, column], expected[column : column + 1]
            phi[rows] = sign * values
            base_score[rows] = sign * float(expected[0])
            score[rows] = base_score[rows] + phi[rows].sum(axis=1)
    method = {LogisticRegression: "linear_shap", HistGradientBoostingClassifier: "tree_shap"}
    name = method[next(iter(kinds))] if kinds else "constant"
    answers = []
    for i, row in enumerate(index):
        answers.append(
            _flat_answer(
                ds, int(row), phi[i], layout, float(score[i]), float(base_score[i]), int(targets[i]), top_k, name
            )
        )
    return answers


def _margin_column(estimator: Any, task: str, target: int) -> tuple[int, float]:
    """Which margin column explains class ``target`` and with which sign."""
    classes = [int(c) for c in estimator.classes_]
    if task == "multilabel":  # one binary estimator per label: its margin is the label's log-odds
        return 0, 1.0
    if len(classes) == 2:
        return 0, 1.0 if target == classes[1] else -1.0
    if target not in classes:
        raise ConfigError(f"class {target} was not in the training data of this baseline")
    return classes.index(target), 1.0


def _background_mean(fitted: FittedModel, background: np.ndarray | None, width: int) -> np.ndarray:
    if background is None:
        train = fitted.context.train
        if not len(train):
            raise ConfigError(
                "linear attributions need the training mean of the flat features: pass "
                "background=<the training fit>.context.flat()[train] (or its mean)"
            )
        background = fitted.context.flat()[train]
    b = np.asarray(background, dtype=np.float64)
    mean = b if b.ndim == 1 else b.mean(axis=0)
    if mean.shape != (width,):
        raise ConfigError(f"background has {mean.shape[0]} features, the model {width}")
    return mean


def _flat_answer(
    ds: MultimodalDataset,
    row: int,
    phi: np.ndarray,
    layout: list[tuple[str | None, str]],
    score: float,
    base_score: float,
    target: int,
    top_k: int,
    method: str,
) -> PatientAttribution:
    present = {m for m, p in zip(ds.modalities, ds.mask[row]) if p}
    modalities: dict[str, tuple[list[tuple[str, float]], list[WindowAttribution], float]] = {}
    availability = 0.0
    for (modality, feature), value in zip(layout, phi.tolist()):
        if modality is None or modality not in present:
            availability += value
            continue
        feats, windows, total = modalities.setdefault(modality, ([], [], 0.0))
        feats.append((feature, value))
        modalities[modality] = (feats, windows, total + value)
    ordered = {m: modalities[m] for m in ds.modalities if m in modalities}
    return PatientAttribution(
        sample_id=str(ds.sample_ids[row]),
        method=method,
        target=_class_name(ds, target),
        output=_output_name(ds, target, linear=True),
        score=score,
        baseline_score=base_score,
        modalities=_assemble(ordered, top_k),
        absent=[m for m in ds.modalities if m not in present],
        availability_effect=availability,
        delta=score - base_score - float(phi.sum()),
    )


# --------------------------------------------------------------------------- shared


def _assemble(
    modalities: Mapping[str, tuple[list[tuple[str, float]], list[WindowAttribution], float]], top_k: int
) -> dict[str, ModalityAttribution]:
    if top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {top_k}")
    magnitude = {m: sum(abs(v) for _, v in feats) for m, (feats, _, _) in modalities.items()}
    all_abs = sum(magnitude.values())
    out = {}
    for m, (feats, windows, total) in modalities.items():
        ranked = sorted((f for f in feats if f[1] != 0.0), key=lambda f: (-abs(f[1]), f[0]))[:top_k]
        top_windows = sorted(windows, key=lambda w: (-abs(w.attribution), w.channel, w.start))[:top_k]
        out[m] = ModalityAttribution(
            total=total,
            share=magnitude[m] / all_abs if all_abs > 0 else 0.0,
            features=[FeatureAttribution(name=n, attribution=v) for n, v in ranked],
            windows=top_windows,
        )
    return out


def _names(names: Sequence[str], width: int, modality: str) -> list[str]:
    return list(names) if len(names) == width else [f"{modality}[{j}]" for j in range(width)]


def _check_target(target: int | None, ds: MultimodalDataset) -> None:
    k = len(ds.class_names)
    if target is not None and not 0 <= int(target) < k:
        raise ConfigError(f"attribution target {target} is not a class index in [0, {k})")


def _class_name(ds: MultimodalDataset, k: int) -> str:
    return str(ds.class_names[k])


def _output_name(ds: MultimodalDataset, k: int, linear: bool = False) -> str:
    name = _class_name(ds, k)
    if ds.task == "binary":
        return f"log-odds of class {name}"
    if ds.task == "multilabel":
        return f"log-odds of label {name}"
    return f"margin (logit) of class {name}" if linear else f"log-probability of class {name}"
