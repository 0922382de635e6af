"""Simulated low-quality multimodal cohorts with a known ground truth.

:func:`make_lowquality` draws a shared latent class structure (class centroids in a latent
space plus a continuous per-sample severity) and renders it into each modality through its
own random map, scaled by the modality's *informativeness*, then adds the modality's noise
kind and removes data (MCAR / MNAR / every availability pattern). The returned
:class:`SimulationTruth` says which modalities are lazy, which combinations carry signal and
which groups of modalities only carry signal jointly (synergy).

With ``task="survival"`` the label is a censored time to event whose log-hazard follows the
same latent class signal (see :class:`SimConfig`); the truth then holds each sample's true
log-hazard (``risk``) and the hazard and censoring parameters (``survival``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields, replace
from typing import Any, Sequence

import numpy as np

from omnifuse.data.arrays import IrregularSeries
from omnifuse.data.dataset import PATTERN_SEPARATOR, MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.simulate_config import (  # noqa: F401  (re-exported: the public names of this module)
    DEFAULT_N_FEATURES, LAZY_INFORMATIVENESS, MNAR_KINDS, NOISE_KINDS, OVERWHELMING_FACTOR, SIM_KINDS, SIM_TASKS,
    SURVIVAL_TIME_UNIT, SimConfig, SimModality, default_modalities,
)  # fmt: skip
from omnifuse.data.simulate_draws import (  # noqa: F401  (MIN_STEPS, HORIZON_HOURS: re-exported)
    HORIZON_HOURS, MAX_STEPS, MIN_STEPS, _availability, _draw_labels, _series, _splits, _survival, _vector,
)  # fmt: skip
from omnifuse.data.spec import ModalitySpec


@dataclass
class SimulationTruth:
    """What the simulator put in: per-modality quality, lazy modalities, signal, synergy.

    Survival cohorts add ``survival`` (distribution, shape, baseline scale, log-hazard ratio
    per SD of the latent risk, censoring) and ``risk``, each sample's true log-hazard.
    """

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
    survival: dict[str, Any] = field(default_factory=dict)
    risk: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def to_dict(self, per_sample: bool = False) -> dict[str, Any]:
        """JSON-serialisable form; ``per_sample`` adds the severity and site of each sample
        (and its true log-hazard, for survival)."""
        skip = ("severity", "site", "risk") + (() if self.survival else ("survival",))
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        if per_sample:
            out["severity"] = [round(float(s), 6) for s in self.severity]
            out["site"] = [int(s) for s in self.site]
            if self.survival:
                out["risk"] = [round(float(r), 6) for r in self.risk]
        return out


def make_lowquality(
    modalities: int | Sequence[SimModality] | SimConfig = 3, **options: Any
) -> tuple[MultimodalDataset, SimulationTruth]:
    """Simulate a cohort; ``options`` are the fields of :class:`SimConfig`. Same seed, same data."""
    cfg = modalities if isinstance(modalities, SimConfig) else SimConfig(modalities=modalities, **options)
    mods = cfg.modality_specs
    n, k, d, spp = int(cfg.n_samples), int(cfg.n_classes), int(cfg.latent_dim), int(cfg.samples_per_patient)
    # the hazard stream is spawned last, so classification cohorts draw exactly what they always did
    core, miss, split, syn, *per_mod, hazard = np.random.SeedSequence(cfg.seed).spawn(5 + len(mods))
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
    strata = y_pat  # splits stratify on the class, survival cohorts on the event
    if cfg.task == "survival":
        risk_pat, time_pat, event_pat, survival = _hazard(
            np.random.default_rng(hazard), cfg, z, centroids, patient, n_pat
        )
        strata = event_pat.astype(np.int64)

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
            specs.append(
                ModalitySpec(
                    m.name,
                    m.kind,
                    tuple(f"{m.name}_ch{c}" for c in range(m.n_features)),
                    (MAX_STEPS, m.n_features),
                    time_unit="hours",
                    extra={"simulated": True},
                )
            )
            continue
        x = _vector(r, m, h, site, cfg.n_sites)
        blocks = [
            np.eye(k)[c[:, g.index(m.name)]] + 0.25 * r.standard_normal((n, k))  # noisy one-hot codes
            for g, c in zip(cfg.synergy, codes)
            if m.name in g
        ]
        if blocks:
            synergy_features[m.name] = list(range(x.shape[1], x.shape[1] + k * len(blocks)))
        x = np.concatenate([x, *blocks], axis=1).astype(np.float32)
        data[m.name] = x
        specs.append(
            ModalitySpec(
                m.name,
                m.kind,
                tuple(f"{m.name}_{j}" for j in range(x.shape[1])),
                (x.shape[1],),
                extra={"simulated": True},
            )
        )

    present = _availability(np.random.default_rng(miss), cfg, mods, y, severity)
    for j, m in enumerate(mods):  # absent rows hold nothing (series: no steps either)
        block, gone = data[m.name], ~present[:, j]
        if isinstance(block, IrregularSeries):
            block.values[gone], block.times[gone], block.lengths[gone] = np.nan, np.nan, 0
        else:
            block[gone] = np.nan

    splits = _splits(np.random.default_rng(split), strata, patient, cfg.test_fraction)
    width = len(str(n - 1))
    if cfg.task == "survival":
        labels = Labels.survival(time_pat[patient], event_pat[patient], SURVIVAL_TIME_UNIT)
    else:
        labels = Labels("binary" if k == 2 else "multiclass", y.astype(np.int64), tuple(map(str, range(k))))
    ds = MultimodalDataset(
        specs=specs,
        data=data,
        mask={m.name: present[:, j] for j, m in enumerate(mods)},
        labels=labels,
        sample_ids=[f"s{i:0{width}d}" for i in range(n)],
        groups=None if spp == 1 else [f"p{p:0{width}d}" for p in patient],
        splits=splits,
        info={"source": "simulated", "simulator": "make_lowquality", "seed": int(cfg.seed)},
    )
    truth = _truth(cfg, mods, present, synergy_features, severity, site)
    if cfg.task == "survival":
        truth.survival, truth.risk = survival, risk_pat[patient]
    return ds, truth


def _hazard(
    r: np.random.Generator, cfg: SimConfig, z: np.ndarray, centroids: np.ndarray, patient: np.ndarray, n_pat: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Per-patient log-hazard, time and event, plus the parameters for the truth.

    The log-hazard is ``risk_strength`` times the standardised projection of the patient's
    latent state (mean over its samples) on the direction from the first to the last class
    centroid: the class signal every modality renders drives the hazard.
    """
    direction = centroids[-1] - centroids[0]
    direction = direction / (np.linalg.norm(direction) + 1e-12)
    counts = np.bincount(patient, minlength=n_pat)
    score = np.bincount(patient, weights=z @ direction, minlength=n_pat) / np.maximum(counts, 1)
    sd = float(score.std())
    risk = float(cfg.risk_strength) * (score - score.mean()) / (sd if sd > 0 else 1.0)
    time, event, params = _survival(r, risk, cfg)
    survival = {
        "distribution": "exponential" if float(cfg.weibull_shape) == 1.0 else "weibull",
        "time_unit": SURVIVAL_TIME_UNIT,
        "median_time": float(cfg.median_time),
        "log_hazard_ratio_per_sd": float(cfg.risk_strength),
        "censoring": "uniform",
        "patients_with_event": int(event.sum()),
        **params,
    }
    return risk, time, event, survival


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
    cfg: dict[str, Any]
    if n_modalities == 3:
        notes = SimModality("notes", "embedding", 32, 0.15, "heavy_tailed", 1.0, 0.2, "label", 0.3)
        cfg = dict(
            modalities=(ehr, vitals, notes),
            n_samples=1000,
            class_weights=(0.7, 0.3),
            separation=0.6,
            patterns=True,
            pattern_share=0.25,
        )
    elif n_modalities == 5:
        notes = SimModality("notes", "embedding", 32, 0.6, "overwhelming", 1.0, 0.2, "label", 0.3)
        mrna = SimModality("mrna", "omics", 64, 0.45, "structured", 0.5, 0.25)
        protein = SimModality("protein", "omics", 24, 0.1, "gaussian", 0.5, 0.35, "severity", 0.3)
        cfg = dict(
            modalities=(ehr, vitals, mrna, protein, notes),
            n_samples=1500,
            class_weights=(0.7, 0.3),
            separation=0.6,
            synergy=[("mrna", "protein")],
            synergy_strength=0.8,
            patterns=True,
            pattern_share=0.3,
        )
    else:  # any other M: default_modalities with MNAR on two of them, patterns when they fit
        mods = list(default_modalities(n_modalities))
        if n_modalities >= 2:
            mods[-1] = replace(mods[-1], missing_rate=0.2, mnar="label", mnar_strength=0.3)
            mods[n_modalities // 2] = replace(
                mods[n_modalities // 2], missing_rate=0.2, mnar="severity", mnar_strength=0.3
            )
        n = int(overrides.get("n_samples", 1000))
        cfg = dict(
            modalities=tuple(mods),
            n_samples=1000,
            class_weights=(0.7, 0.3),
            separation=0.6,
            patterns=2**n_modalities - 1 <= n // 2,
            pattern_share=0.3,
        )
    cfg.update(overrides)
    cfg["seed"] = seed
    return make_lowquality(SimConfig(**cfg))


def _truth(
    cfg: SimConfig,
    mods: Sequence[SimModality],
    present: np.ndarray,
    synergy_features: dict[str, list[int]],
    severity: np.ndarray,
    site: np.ndarray,
) -> SimulationTruth:
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
        synergy=tuple(tuple(group) for group in cfg.synergy),
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
