"""Configuration of the cohort simulator: :class:`SimModality`, :class:`SimConfig` and their validation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from omnifuse.data.dataset import PATTERN_SEPARATOR
from omnifuse.errors import ConfigError

SIM_KINDS = ("tabular", "omics", "timeseries", "embedding")
NOISE_KINDS = ("gaussian", "heavy_tailed", "structured", "overwhelming")
MNAR_KINDS = ("none", "label", "severity")
SIM_TASKS = ("classification", "survival")
#: SimConfig fields that only apply to ``task="survival"`` (left out of a classification config's dict).
SURVIVAL_FIELDS = ("weibull_shape", "risk_strength", "censored_share", "median_time")
#: Unit of simulated survival times.
SURVIVAL_TIME_UNIT = "days"
#: A modality is lazy when its informativeness is below this (or its noise overwhelming).
LAZY_INFORMATIVENESS = 0.3
#: Std of "overwhelming" noise relative to the signal std.
OVERWHELMING_FACTOR = 5.0
DEFAULT_N_FEATURES = {"tabular": 16, "omics": 64, "embedding": 32, "timeseries": 6}
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
    last class ("label") or the least and most severe samples ("severity"). In a survival
    cohort "label" follows the latent class, which drives the hazard.
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
    """All options of :func:`make_lowquality` (``modalities`` may be an int M).

    ``task="survival"`` draws a censored time to event per patient instead of using the class
    as the label: Weibull times (``weibull_shape`` 1 = exponential) whose log-hazard is
    ``risk_strength`` times the standardised projection of the patient's latent state on the
    direction that separates the classes, so the signal that drives the class drives the
    hazard. ``median_time`` (days) is the median event time at average risk; independent
    uniform censoring is scaled so that ``censored_share`` of the patients are censored.
    """

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
    task: str = "classification"
    weibull_shape: float = 1.0
    risk_strength: float = 1.0
    censored_share: float = 0.4
    median_time: float = 1000.0

    @property
    def modality_specs(self) -> tuple[SimModality, ...]:
        """The modalities (``__post_init__`` has expanded an int M into M specs)."""
        if isinstance(self.modalities, (int, np.integer)):
            return default_modalities(int(self.modalities))
        return tuple(self.modalities)

    def __post_init__(self) -> None:
        if isinstance(self.modalities, (int, np.integer)):
            self.modalities = default_modalities(int(self.modalities))
        self.modalities = tuple(self.modalities)
        names = [m.name for m in self.modalities]
        if not names or len(set(names)) != len(names):
            raise ConfigError(f"modalities: names must be unique and non-empty, got {names}")
        for what, value, low in (
            ("n_samples", self.n_samples, 2),
            ("n_classes", self.n_classes, 2),
            ("samples_per_patient", self.samples_per_patient, 1),
            ("latent_dim", self.latent_dim, 1),
            ("n_sites", self.n_sites, 1),
        ):
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
        _choice(self.task, "SimConfig", "task", SIM_TASKS)
        for what in ("weibull_shape", "median_time"):
            if not (float(getattr(self, what)) > 0 and np.isfinite(float(getattr(self, what)))):
                raise ConfigError(f"{what} must be finite and > 0, got {getattr(self, what)}")
        if not (float(self.risk_strength) >= 0 and np.isfinite(float(self.risk_strength))):
            raise ConfigError(f"risk_strength must be finite and >= 0, got {self.risk_strength}")
        if not 0.0 <= float(self.censored_share) <= 0.9:
            raise ConfigError(f"censored_share must be in [0, 0.9], got {self.censored_share}")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.task == "classification":  # a classification cohort's config reads as before
            for key in ("task", *SURVIVAL_FIELDS):
                out.pop(key)
        return out
