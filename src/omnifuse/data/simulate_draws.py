"""Random draws of the cohort simulator: labels, noise, modality values, availability and splits."""

from __future__ import annotations

import itertools
from typing import Callable, Sequence

import numpy as np

from omnifuse.data.arrays import IrregularSeries
from omnifuse.data.simulate_config import OVERWHELMING_FACTOR, SimConfig, SimModality
from omnifuse.errors import ConfigError

MIN_STEPS, MAX_STEPS, HORIZON_HOURS = 10, 30, 48.0


def _draw_labels(rng: np.random.Generator, n: int, k: int, weights: Sequence[float] | None) -> np.ndarray:
    """Exactly-proportioned class labels (largest remainder), shuffled; every class present."""
    w = np.ones(k) if weights is None else np.asarray(weights, dtype=float)
    share = w / w.sum() * n
    counts = np.floor(share).astype(int)
    counts[np.argsort(counts - share)[: n - counts.sum()]] += 1
    counts = np.maximum(counts, 1 if n >= k else 0)
    counts[np.argmax(counts)] -= counts.sum() - n
    return rng.permutation(np.repeat(np.arange(k), counts))


def _noise(
    r: np.random.Generator,
    m: SimModality,
    shape: tuple[int, ...],
    sd: np.ndarray,
    site: np.ndarray,
    n_sites: int,
    subspace: Callable[[], np.ndarray],
) -> np.ndarray:
    """Noise of ``m.noise`` kind for values of ``shape`` (last axis = features), scaled by ``sd``."""
    lvl = m.noise_level
    if m.noise == "gaussian":
        return r.standard_normal(shape) * lvl * sd
    if m.noise == "heavy_tailed":
        return r.standard_t(2, size=shape) * lvl * sd
    f = shape[-1]
    if m.noise == "structured":  # low-rank correlated noise plus a per-site batch offset
        low_rank = r.standard_normal((*shape[:-1], 3)) @ (r.standard_normal((3, f)) / np.sqrt(3))
        offset = r.standard_normal((n_sites, f))[site].reshape(len(site), *([1] * (len(shape) - 2)), f)
        return (low_rank + offset + 0.3 * r.standard_normal(shape)) * lvl * sd
    sub = subspace()  # overwhelming: half inside the signal subspace (cannot be averaged out)
    sub = sub / (sub.reshape(-1, f).std(axis=0) + 1e-8)
    scale = OVERWHELMING_FACTOR * max(lvl, 1.0) * sd
    return (np.sqrt(0.5) * sub + np.sqrt(0.5) * r.standard_normal(shape)) * scale


def _vector(r: np.random.Generator, m: SimModality, h: np.ndarray, site: np.ndarray, n_sites: int) -> np.ndarray:
    n, d = h.shape
    w = r.standard_normal((m.n_features, d)) / np.sqrt(d)
    s = h @ w.T
    s = s + 0.3 * np.sin(s)  # mild monotone nonlinearity
    sd = s.std(axis=0) + 1e-6
    x = s + _noise(r, m, s.shape, sd, site, n_sites, lambda: r.standard_normal((n, d)) @ w.T)
    if m.kind in ("tabular", "omics"):  # heterogeneous units: per-feature scale and offset
        x = x * r.lognormal(0.0, 0.5, m.n_features) + r.normal(0.0, 2.0, m.n_features)
    return x


def _series(r: np.random.Generator, m: SimModality, h: np.ndarray, site: np.ndarray, n_sites: int) -> IrregularSeries:
    n, d = h.shape
    c = m.n_features
    w_level, w_trend = (r.standard_normal((c, d)) / np.sqrt(d) for _ in range(2))
    lengths = r.integers(MIN_STEPS, MAX_STEPS + 1, size=int(n))
    steps = np.arange(MAX_STEPS)[None, :] < lengths[:, None]
    times = np.sort(np.where(steps, r.uniform(0.0, HORIZON_HOURS, (n, MAX_STEPS)), np.inf), axis=1)
    times[~steps] = np.nan
    tt = (2.0 * times / HORIZON_HOURS - 1.0)[:, :, None]
    s = (h @ w_level.T)[:, None, :] + (h @ w_trend.T)[:, None, :] * tt
    s = s + 0.3 * np.sin(s) + 0.2 * r.standard_normal(s.shape)
    sd = np.nanstd(s, axis=(0, 1)) + 1e-6
    x = s + _noise(
        r,
        m,
        s.shape,
        sd,
        site,
        n_sites,
        lambda: (r.standard_normal((n, d)) @ w_level.T)[:, None, :].repeat(MAX_STEPS, axis=1),
    )
    observed = (r.random(s.shape) < r.uniform(0.3, 0.8, (n, 1, c))) & steps[:, :, None]
    none = np.flatnonzero(~observed.any(axis=(1, 2)))
    observed[none, 0, r.integers(c, size=len(none))] = True
    values = np.where(observed, x, np.nan).astype(np.float32)
    return IrregularSeries(values, times.astype(np.float32), lengths.astype(np.int64))


def _availability(
    r: np.random.Generator, cfg: SimConfig, mods: Sequence[SimModality], y: np.ndarray, severity: np.ndarray
) -> np.ndarray:
    """Boolean (n, M) in ``mods`` order: MCAR/MNAR, optional patterns, never an empty row."""
    n, big_m, k = len(y), len(mods), int(cfg.n_classes)
    rank = (np.argsort(np.argsort(severity)) + 0.5) / n
    present = np.ones((n, big_m), dtype=bool)
    for j, m in enumerate(mods):
        p = np.full(n, m.missing_rate)
        if m.mnar == "label":
            p = p + m.mnar_strength * (y / (k - 1) - 0.5)
        elif m.mnar == "severity":
            p = p + m.mnar_strength * (rank - 0.5)
        present[:, j] = r.random(n) >= np.clip(p, 0.0, 1.0)
    if cfg.patterns and big_m > 1:
        subsets = np.array([s for s in itertools.product([False, True], repeat=big_m) if 0 < sum(s) < big_m])
        n_pat = max(int(round(cfg.pattern_share * n)), len(subsets))
        if n_pat >= n:
            raise ConfigError(
                f"patterns: {n} samples cannot hold all {len(subsets) + 1} patterns of {big_m} modalities"
            )
        order = r.permutation(n)
        chosen, rest = order[:n_pat], order[n_pat:]
        present[chosen] = subsets[r.permutation(np.arange(n_pat) % len(subsets))]
        if not present[rest].all(axis=1).any():
            present[rest[0]] = True
    empty = np.flatnonzero(~present.any(axis=1))
    present[empty, r.integers(big_m, size=len(empty))] = True
    return present


def _survival(
    r: np.random.Generator, risk: np.ndarray, cfg: SimConfig
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Per-patient (time, event) for log-hazards ``risk``; returns the drawn parameters too.

    Weibull proportional hazards: ``S(t) = exp(-scale * e^risk * t^shape)`` with ``scale``
    putting the median at ``median_time`` for ``risk = 0``. Censoring times are uniform on
    ``[0, c_max]`` with ``c_max`` the smallest value that censors at most ``censored_share``
    of the patients (so at least one event is always observed).
    """
    n, shape = len(risk), float(cfg.weibull_shape)
    scale = float(np.log(2.0) / float(cfg.median_time) ** shape)
    t_event = (-np.log(1.0 - r.random(n)) / (scale * np.exp(risk))) ** (1.0 / shape)
    fraction = 1.0 - r.random(n)  # in (0, 1]: the censoring time is c_max * fraction
    n_censored = int(np.floor(float(cfg.censored_share) * n + 1e-9))
    if n_censored == 0:
        c_max = float("inf")
        censor = np.full(n, np.inf)
    else:  # censored iff c_max * fraction < t_event, i.e. t_event / fraction > c_max
        c_max = float(np.sort(t_event / fraction)[::-1][n_censored])
        censor = c_max * fraction
    event = t_event <= censor
    params = {
        "weibull_shape": shape,
        "baseline_scale": scale,
        "censoring_max": c_max,
        "censored_share": round(float(1.0 - event.mean()), 6),
    }
    return np.minimum(t_event, censor), event, params


def _splits(r: np.random.Generator, y_pat: np.ndarray, patient: np.ndarray, frac: float | None) -> np.ndarray | None:
    """'train'/'test' per sample, stratified by class at the patient level."""
    if frac is None:
        return None
    test = np.zeros(len(y_pat), dtype=bool)
    for cls in np.unique(y_pat):
        idx = r.permutation(np.flatnonzero(y_pat == cls))
        n_test = int(round(frac * len(idx)))
        if len(idx) >= 2:
            n_test = min(max(n_test, 1), len(idx) - 1)
        test[idx[:n_test]] = True
    return np.where(test[patient], "test", "train")
