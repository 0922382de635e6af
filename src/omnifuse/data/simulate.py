"""Simulated low-quality multimodal cohorts with a known ground truth.

:func:`make_lowquality` draws a shared latent class structure (class centroids in a latent
space plus a continuous per-sample severity) and renders it into each modality through its
own random map, scaled by the modality's *informativeness*, then adds the modality's noise
kind and removes data (MCAR / MNAR / every availability pattern). The returned
:class:`SimulationTruth` says which modalities are lazy, which combinations carry signal and
which groups of modalities only carry signal jointly (synergy).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable, Sequence

import numpy as np

from omnifuse.data.arrays import IrregularSeries
from omnifuse.data.dataset import PATTERN_SEPARATOR, MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import ConfigError

SIM_KINDS = ("tabular", "omics", "timeseries", "embedding")
NOISE_KINDS = ("gaussian", "heavy_tailed", "structured", "overwhelming")
MNAR_KINDS = ("none", "label", "severity")
#: A modality is lazy when its informativeness is below this (or its noise overwhelming).
LAZY_INFORMATIVENESS = 0.3
#: Std of "overwhelming" noise relative to the signal std.
OVERWHELMING_FACTOR = 5.0
DEFAULT_N_FEATURES = {"tabular": 16, "omics": 64, "embedding": 32, "timeseries": 6}
MIN_STEPS, MAX_STEPS, HORIZON_HOURS = 10, 30, 48.0
_NOISE_WEIGHT = {"gaussian": 1.0, "heavy_tailed": 1.5, "structured": 1.5}


def _unit(value: float, where: str, what: str) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{where}: {what} must be in [0, 1], got {value}")
    return value


def _choice(value: str, where: str, what: str, valid: Sequence[str]) -> str:
    if value not in valid:
        raise ConfigError(f"{where}: unknown {what} '{value}' (valid: {', '.join(valid)})")
    return value


@dataclass
class SimModality:
    """One simulated modality.

    ``n_features`` (0 = a default per kind) counts base features, or channels for a time
    series; synergy groups append ``n_classes`` features per group. ``missing_rate`` is the
    average absence rate; MNAR shifts it by ``+-mnar_strength / 2`` between the first and
    last class ("label") or the least and most severe samples ("severity").
    """

    name: str
    kind: str = "tabular"
    n_features: int = 0
    informativeness: float = 0.5
    noise: str = "gaussian"
    noise_level: float = 0.5
    missing_rate: float = 0.0
    mnar: str = "none"
    mnar_strength: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or PATTERN_SEPARATOR in self.name:
            raise ConfigError(f"SimModality: name must be a non-empty string without '+', got {self.name!r}")
        where = f"SimModality '{self.name}'"
        _choice(self.kind, where, "kind", SIM_KINDS)
        _choice(self.noise, where, "noise", NOISE_KINDS)
        _choice(self.mnar, where, "mnar", MNAR_KINDS)
        self.n_features = int(self.n_features) or DEFAULT_N_FEATURES[self.kind]
        if self.n_features < 1:
            raise ConfigError(f"{where}: n_features must be >= 1, got {self.n_features}")
        self.informativeness = _unit(self.informativeness, where, "informativeness")
        self.missing_rate = _unit(self.missing_rate, where, "missing_rate")
        self.mnar_strength = _unit(self.mnar_strength, where, "mnar_strength")
        self.noise_level = float(self.noise_level)
        if not (self.noise_level >= 0 and np.isfinite(self.noise_level)):
            raise ConfigError(f"{where}: noise_level must be finite and >= 0, got {self.noise_level}")

    @property
    def is_lazy(self) -> bool:
        return self.informativeness < LAZY_INFORMATIVENESS or self.noise == "overwhelming"

    @property
    def signal_strength(self) -> float:
        """Rough ordinal score of the class signal left after noise (not an accuracy)."""
        if self.noise == "overwhelming":
            eff = OVERWHELMING_FACTOR * max(self.noise_level, 1.0)
        else:
            eff = _NOISE_WEIGHT[self.noise] * self.noise_level
        return round(self.informativeness / float(np.sqrt(1.0 + eff**2)), 4)


def default_modalities(n: int) -> tuple[SimModality, ...]:
    """``n`` tabular modalities: ``m0`` dominates, the last ``max(1, round(n / 3))`` are lazy."""
    if n < 1:
        raise ConfigError(f"modalities: need at least one modality, got {n}")
    width = len(str(n - 1))
    n_lazy = max(1, round(n / 3)) if n > 1 else 0
    middle = np.linspace(0.7, 0.4, max(n - 1 - n_lazy, 1))
    out = []
    for i in range(n):
        info = 0.9 if i == 0 else (0.1 if i >= n - n_lazy else float(middle[i - 1]))
        out.append(SimModality(f"m{i:0{width}d}", informativeness=round(info, 3), missing_rate=0.1))
    return tuple(out)


@dataclass
class SimConfig:
    """All options of :func:`make_lowquality` (``modalities`` may be an int M)."""

    modalities: int | Sequence[SimModality] = 3
    n_samples: int = 1000
    n_classes: int = 2
    class_weights: Sequence[float] | None = None
    synergy: Sequence[Sequence[str]] = ()
    synergy_strength: float = 0.9
    patterns: bool = False
    pattern_share: float = 0.3
    test_fraction: float | None = None
    samples_per_patient: int = 1
    latent_dim: int = 8
    separation: float = 1.0
    n_sites: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.modalities, (int, np.integer)):
            self.modalities = default_modalities(int(self.modalities))
        self.modalities = tuple(self.modalities)
        names = [m.name for m in self.modalities]
        if not names or len(set(names)) != len(names):
            raise ConfigError(f"modalities: names must be unique and non-empty, got {names}")
        for what, value, low in (("n_samples", self.n_samples, 2), ("n_classes", self.n_classes, 2),
                                 ("samples_per_patient", self.samples_per_patient, 1),
                                 ("latent_dim", self.latent_dim, 1), ("n_sites", self.n_sites, 1)):
            if int(value) < low:
                raise ConfigError(f"{what} must be >= {low}, got {value}")
        if self.class_weights is not None:
            w = np.asarray(self.class_weights, dtype=float)
            if w.shape != (self.n_classes,) or not (w > 0).all():
                raise ConfigError(f"class_weights must be {self.n_classes} positive numbers, got {list(w)}")
            self.class_weights = tuple(float(x) for x in w)
        kinds = {m.name: m.kind for m in self.modalities}
        groups = []
        for g in self.synergy:
            group = tuple(sorted(set(g)))
            unknown = [m for m in group if m not in kinds]
            if len(group) < 2 or unknown:
                raise ConfigError(f"synergy: group {list(g)} needs >= 2 known modalities (have: {', '.join(names)})")
            if any(kinds[m] == "timeseries" for m in group):
                raise ConfigError(f"synergy: group {list(g)} contains a timeseries; synergy needs vector modalities")
            groups.append(group)
        self.synergy = tuple(groups)
        self.synergy_strength = _unit(self.synergy_strength, "SimConfig", "synergy_strength")
        self.pattern_share = _unit(self.pattern_share, "SimConfig", "pattern_share")
        if self.test_fraction is not None and not 0.0 < float(self.test_fraction) < 1.0:
            raise ConfigError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if not float(self.separation) > 0:
            raise ConfigError(f"separation must be > 0, got {self.separation}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SimulationTruth:
    """What the simulator put in: per-modality quality, lazy modalities, signal, synergy."""

    modalities: tuple[str, ...]
    informativeness: dict[str, float]
    noise: dict[str, str]
    noise_level: dict[str, float]
    missingness: dict[str, str]
    missing_rates: dict[str, float]
    lazy_modalities: tuple[str, ...]
    lazy_combination: tuple[str, ...]
    synergy: tuple[tuple[str, ...], ...]
    synergy_features: dict[str, list[int]]
    signal: dict[str, bool]
    signal_strength: dict[str, float]
    combination_signal: dict[str, bool]
    lazy_threshold: float
    seed: int
    config: dict[str, Any]
    severity: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    site: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, dtype=np.int64))

    def to_dict(self, per_sample: bool = False) -> dict[str, Any]:
        """JSON-serialisable form; ``per_sample`` adds the severity and site of each sample."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("severity", "site")}
        if per_sample:
            out["severity"] = [round(float(s), 6) for s in self.severity]
            out["site"] = [int(s) for s in self.site]
        return out


def make_lowquality(
    modalities: int | Sequence[SimModality] | SimConfig = 3, **options: Any
) -> tuple[MultimodalDataset, SimulationTruth]:
    """Simulate a cohort; ``options`` are the fields of :class:`SimConfig`. Same seed, same data."""
    cfg = modalities if isinstance(modalities, SimConfig) else SimConfig(modalities=modalities, **options)
    mods: tuple[SimModality, ...] = tuple(cfg.modalities)
    n, k, d, spp = int(cfg.n_samples), int(cfg.n_classes), int(cfg.latent_dim), int(cfg.samples_per_patient)
    core, miss, split, syn, *per_mod = np.random.SeedSequence(cfg.seed).spawn(4 + len(mods))
    rng = np.random.default_rng(core)

    # shared latent: class centroids + within-class variation + severity, per patient
    n_pat = -(-n // spp)
    patient = np.repeat(np.arange(n_pat), spp)[:n]
    y_pat = _draw_labels(rng, n_pat, k, cfg.class_weights)
    centroids = rng.standard_normal((k, d))
    centroids -= centroids.mean(axis=0)
    dist = np.mean([np.linalg.norm(a - b) for a, b in itertools.combinations(centroids, 2)])
    centroids *= 4.0 * cfg.separation / dist
    sev_pat = rng.standard_normal(n_pat) + 0.75 * (y_pat / (k - 1) - 0.5)
    z = (centroids[y_pat] + rng.standard_normal((n_pat, d)))[patient]
    severity, site = sev_pat[patient], rng.integers(cfg.n_sites, size=n_pat)[patient]
    if spp > 1:
        z = z + 0.3 * rng.standard_normal((n, d))
        severity = severity + 0.2 * rng.standard_normal(n)
    sev_dir = rng.standard_normal(d)
    z = z + 0.5 * severity[:, None] * (sev_dir / np.linalg.norm(sev_dir))
    z -= z.mean(axis=0)
    y = y_pat[patient]

    # synergy: per group, per-patient integers whose sum mod k is y (with prob. synergy_strength)
    rng_syn = np.random.default_rng(syn)
    codes: list[np.ndarray] = []
    for group in cfg.synergy:
        c = rng_syn.integers(k, size=(n_pat, len(group)))
        c[:, -1] = (y_pat - c[:, :-1].sum(axis=1)) % k
        noisy = rng_syn.random(n_pat) >= cfg.synergy_strength
        c[noisy, -1] = rng_syn.integers(k, size=int(noisy.sum()))
        codes.append(c[patient])

    data: dict[str, Any] = {}
    specs: list[ModalitySpec] = []
    synergy_features: dict[str, list[int]] = {}
    for m, seq in zip(mods, per_mod):
        r = np.random.default_rng(seq)
        a = m.informativeness
        h = a * z + np.sqrt(1.0 - a**2) * r.standard_normal((n, d))
        if m.kind == "timeseries":
            data[m.name] = _series(r, m, h, site, cfg.n_sites)
            specs.append(ModalitySpec(m.name, m.kind, tuple(f"{m.name}_ch{c}" for c in range(m.n_features)),
                                      (MAX_STEPS, m.n_features), time_unit="hours", extra={"simulated": True}))
            continue
        x = _vector(r, m, h, site, cfg.n_sites)
        blocks = [np.eye(k)[c[:, g.index(m.name)]] + 0.25 * r.standard_normal((n, k))  # noisy one-hot codes
                  for g, c in zip(cfg.synergy, codes) if m.name in g]
        if blocks:
            synergy_features[m.name] = list(range(x.shape[1], x.shape[1] + k * len(blocks)))
        x = np.concatenate([x, *blocks], axis=1).astype(np.float32)
        data[m.name] = x
        specs.append(ModalitySpec(m.name, m.kind, tuple(f"{m.name}_{j}" for j in range(x.shape[1])),
                                  (x.shape[1],), extra={"simulated": True}))

    present = _availability(np.random.default_rng(miss), cfg, mods, y, severity)
    for j, m in enumerate(mods):  # absent rows hold nothing (series: no steps either)
        block, gone = data[m.name], ~present[:, j]
        if isinstance(block, IrregularSeries):
            block.values[gone], block.times[gone], block.lengths[gone] = np.nan, np.nan, 0
        else:
            block[gone] = np.nan

    splits = _splits(np.random.default_rng(split), y_pat, patient, cfg.test_fraction)
    width = len(str(n - 1))
    ds = MultimodalDataset(
        specs=specs,
        data=data,
        mask={m.name: present[:, j] for j, m in enumerate(mods)},
        labels=Labels("binary" if k == 2 else "multiclass", y.astype(np.int64), tuple(map(str, range(k)))),
        sample_ids=[f"s{i:0{width}d}" for i in range(n)],
        groups=None if spp == 1 else [f"p{p:0{width}d}" for p in patient],
        splits=splits,
        info={"source": "simulated", "simulator": "make_lowquality", "seed": int(cfg.seed)},
    )
    return ds, _truth(cfg, mods, present, synergy_features, severity, site)


def default_cohort(n_modalities: int = 3, seed: int = 0, **overrides: Any) -> tuple[MultimodalDataset, SimulationTruth]:
    """The 3- or 5-modality demo cohort (binary 70/30, MCAR + MNAR, all patterns, no splits).

    3 modalities: ``ehr`` dominant, ``vitals`` (time series, MNAR by severity), ``notes``
    lazy (weak, heavy-tailed, MNAR by label). 5 modalities add ``mrna`` and ``protein`` whose
    synergy blocks only carry signal jointly; there ``notes`` is buried in overwhelming noise
    and ``protein`` is weak on its own, so the lazy combination is ``("notes", "protein")``.
    Any other M uses :func:`default_modalities` (patterns on when they fit); ``overrides``
    replace :class:`SimConfig` fields.
    """
    ehr = SimModality("ehr", "tabular", 20, 0.85, "gaussian", 0.5, 0.1)
    vitals = SimModality("vitals", "timeseries", 6, 0.6, "gaussian", 0.5, 0.3, "severity", 0.4)
    if n_modalities == 3:
        notes = SimModality("notes", "embedding", 32, 0.15, "heavy_tailed", 1.0, 0.2, "label", 0.3)
        cfg = dict(modalities=(ehr, vitals, notes), n_samples=1000, class_weights=(0.7, 0.3),
                   separation=0.6, patterns=True, pattern_share=0.25)
    elif n_modalities == 5:
        notes = SimModality("notes", "embedding", 32, 0.6, "overwhelming", 1.0, 0.2, "label", 0.3)
        mrna = SimModality("mrna", "omics", 64, 0.45, "structured", 0.5, 0.25)
        protein = SimModality("protein", "omics", 24, 0.1, "gaussian", 0.5, 0.35, "severity", 0.3)
        cfg = dict(modalities=(ehr, vitals, mrna, protein, notes), n_samples=1500, class_weights=(0.7, 0.3),
                   separation=0.6, synergy=[("mrna", "protein")], synergy_strength=0.8,
                   patterns=True, pattern_share=0.3)
    else:  # any other M: default_modalities with MNAR on two of them, patterns when they fit
        mods = list(default_modalities(n_modalities))
        if n_modalities >= 2:
            mods[-1] = replace(mods[-1], missing_rate=0.2, mnar="label", mnar_strength=0.3)
            mods[n_modalities // 2] = replace(mods[n_modalities // 2], missing_rate=0.2, mnar="severity",
                                              mnar_strength=0.3)
        n = int(overrides.get("n_samples", 1000))
        cfg = dict(modalities=tuple(mods), n_samples=1000, class_weights=(0.7, 0.3), separation=0.6,
                   patterns=2**n_modalities - 1 <= n // 2, pattern_share=0.3)
    cfg.update(overrides)
    cfg["seed"] = seed
    return make_lowquality(SimConfig(**cfg))


# ---------------------------------------------------------------------- generation helpers
def _draw_labels(rng: np.random.Generator, n: int, k: int, weights: Sequence[float] | None) -> np.ndarray:
    """Exactly-proportioned class labels (largest remainder), shuffled; every class present."""
    w = np.ones(k) if weights is None else np.asarray(weights, dtype=float)
    share = w / w.sum() * n
    counts = np.floor(share).astype(int)
    counts[np.argsort(counts - share)[: n - counts.sum()]] += 1
    counts = np.maximum(counts, 1 if n >= k else 0)
    counts[np.argmax(counts)] -= counts.sum() - n
    return rng.permutation(np.repeat(np.arange(k), counts))


def _noise(r: np.random.Generator, m: SimModality, shape: tuple[int, ...], sd: np.ndarray,
           site: np.ndarray, n_sites: int, subspace: Callable[[], np.ndarray]) -> np.ndarray:
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
    lengths = r.integers(MIN_STEPS, MAX_STEPS + 1, size=n)
    steps = np.arange(MAX_STEPS)[None, :] < lengths[:, None]
    times = np.sort(np.where(steps, r.uniform(0.0, HORIZON_HOURS, (n, MAX_STEPS)), np.inf), axis=1)
    times[~steps] = np.nan
    tt = (2.0 * times / HORIZON_HOURS - 1.0)[:, :, None]
    s = (h @ w_level.T)[:, None, :] + (h @ w_trend.T)[:, None, :] * tt
    s = s + 0.3 * np.sin(s) + 0.2 * r.standard_normal(s.shape)
    sd = np.nanstd(s, axis=(0, 1)) + 1e-6
    x = s + _noise(r, m, s.shape, sd, site, n_sites,
                   lambda: (r.standard_normal((n, d)) @ w_level.T)[:, None, :].repeat(MAX_STEPS, axis=1))
    observed = (r.random(s.shape) < r.uniform(0.3, 0.8, (n, 1, c))) & steps[:, :, None]
    none = np.flatnonzero(~observed.any(axis=(1, 2)))
    observed[none, 0, r.integers(c, size=len(none))] = True
    values = np.where(observed, x, np.nan).astype(np.float32)
    return IrregularSeries(values, times.astype(np.float32), lengths.astype(np.int64))


def _availability(r: np.random.Generator, cfg: SimConfig, mods: Sequence[SimModality],
                  y: np.ndarray, severity: np.ndarray) -> np.ndarray:
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
            raise ConfigError(f"patterns: {n} samples cannot hold all {len(subsets) + 1} patterns of {big_m} modalities")
        order = r.permutation(n)
        chosen, rest = order[:n_pat], order[n_pat:]
        present[chosen] = subsets[r.permutation(np.arange(n_pat) % len(subsets))]
        if not present[rest].all(axis=1).any():
            present[rest[0]] = True
    empty = np.flatnonzero(~present.any(axis=1))
    present[empty, r.integers(big_m, size=len(empty))] = True
    return present


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


def _truth(cfg: SimConfig, mods: Sequence[SimModality], present: np.ndarray,
           synergy_features: dict[str, list[int]], severity: np.ndarray, site: np.ndarray) -> SimulationTruth:
    by_name = {m.name: m for m in mods}
    names = tuple(sorted(by_name))
    rates = dict(zip([m.name for m in mods], (1.0 - present.mean(axis=0)).tolist()))
    lazy = tuple(n for n in names if by_name[n].is_lazy)
    signal = {n: not by_name[n].is_lazy for n in names}
    combos: dict[str, bool] = {}
    if len(names) <= 12:
        for size in range(1, len(names) + 1):
            for combo in itertools.combinations(names, size):
                combos[PATTERN_SEPARATOR.join(combo)] = any(signal[n] for n in combo) or any(
                    set(g) <= set(combo) for g in cfg.synergy
                )
    return SimulationTruth(
        modalities=names,
        informativeness={n: by_name[n].informativeness for n in names},
        noise={n: by_name[n].noise for n in names},
        noise_level={n: by_name[n].noise_level for n in names},
        missingness={n: "mcar" if by_name[n].mnar == "none" else f"mnar_{by_name[n].mnar}" for n in names},
        missing_rates={n: round(rates[n], 6) for n in names},
        lazy_modalities=lazy,
        lazy_combination=lazy,
        synergy=tuple(cfg.synergy),
        synergy_features={n: list(v) for n, v in sorted(synergy_features.items())},
        signal=signal,
        signal_strength={n: by_name[n].signal_strength for n in names},
        combination_signal=combos,
        lazy_threshold=LAZY_INFORMATIVENESS,
        seed=int(cfg.seed),
        config=cfg.to_dict(),
        severity=severity,
        site=site,
    )

