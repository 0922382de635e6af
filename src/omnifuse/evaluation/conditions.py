"""The test-time conditions of a robustness sweep (Wu et al. 2025 figs. 4-6 and table 1, MultiBench).

A :class:`Condition` is one corruption of the test set, addressed by its place in
``robustness.json``: ``("missing", "<modality>|any", "<rate>")``,
``("patterns", "<a+b>")`` or ``("noise", "<modality>", "<kind>", "<level>")``. Level 0 of
every curve is the clean test set, evaluated once (:data:`CLEAN`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from omnifuse.data.corrupt import (
    ANY,
    Corruption,
    DropModality,
    DropPattern,
    FeatureDropout,
    GaussianNoise,
    SegmentMask,
    _has_time_axis,
    _is_numeric,
)
from omnifuse.data.dataset import PATTERN_SEPARATOR, MultimodalDataset
from omnifuse.errors import ConfigError

#: Missing rates of the per-modality and "any" sweeps.
MISSING_RATES: tuple[float, ...] = tuple(round(0.1 * k, 1) for k in range(10))
#: Noise levels per kind (level 0, the clean test set, is added to every curve).
NOISE_LEVELS: Mapping[str, tuple[float, ...]] = {
    "gaussian": (0.25, 0.5, 1.0, 2.0),  # noise std in units of the feature's std
    "dropout": (0.2, 0.4, 0.6, 0.8),  # share of observed values made unobserved
    "segment": (0.2, 0.4, 0.6, 0.8),  # share of each series' steps masked in one block
    "flatline": (0.2, 0.4, 0.6, 0.8),  # share of steps held constant (electrode detachment)
}
#: Kinds that need a time axis.
TIME_KINDS = frozenset({"segment", "flatline"})
#: The path of the clean test set.
CLEAN: tuple[str, ...] = ("clean",)


def level_key(level: float) -> str:
    """How a level is written as a JSON key: ``0.5`` -> ``"0.5"``, ``1`` -> ``"1.0"``."""
    return repr(round(float(level), 6))


@dataclass(frozen=True)
class Condition:
    """One corrupted version of the test set.

    Attributes:
        path: where its metrics go in a method's ``robustness.json`` entry.
        corruptions: applied in order to the clean test set.
        random: whether repeated draws differ (a fixed pattern does not).
    """

    path: tuple[str, ...]
    corruptions: tuple[Corruption, ...] = ()
    random: bool = True

    @property
    def label(self) -> str:
        return "/".join(self.path)


def _noise(kind: str, modality: str, level: float) -> Corruption:
    if kind == "gaussian":
        return GaussianNoise(modality, level)
    if kind == "dropout":
        return FeatureDropout(modality, level)
    return SegmentMask(modality, level, "mask" if kind == "segment" else "flatline")


def noise_kinds(ds: MultimodalDataset, modality: str, kinds: Sequence[str]) -> list[str]:
    """The noise kinds that apply to ``modality`` (numeric; time kinds need a time axis)."""
    if not _is_numeric(ds.data[modality]):
        return []
    return [k for k in kinds if k not in TIME_KINDS or _has_time_axis(ds, modality)]


def plan_conditions(
    ds: MultimodalDataset,
    missing_rates: Sequence[float] = MISSING_RATES,
    noise_levels: Mapping[str, Sequence[float]] = NOISE_LEVELS,
    patterns: bool = True,
    max_patterns: int = 63,
) -> list[Condition]:
    """Every condition of the sweep for ``ds``'s modalities (the clean set first).

    ``max_patterns`` bounds the pattern sweep (2^M - 1 grows fast): beyond it the patterns
    with one modality, all but one, and all of them are kept.
    """
    for kind, levels in noise_levels.items():
        if kind not in NOISE_LEVELS:
            raise ConfigError(f"noise kind '{kind}' is not one of {', '.join(NOISE_LEVELS)}")
        for level in levels:
            _noise(kind, "x", level)  # validates the level
    for rate in missing_rates:
        DropModality(None, rate)  # validates
    conditions = [Condition(CLEAN, (), random=False)]
    for target in [*ds.modalities, ANY]:
        modality = None if target == ANY else target
        for rate in missing_rates:
            if rate > 0:
                conditions.append(Condition(("missing", target, level_key(rate)), (DropModality(modality, rate),)))
    if patterns:
        for combo in _patterns(ds.modalities, max_patterns):
            name = PATTERN_SEPARATOR.join(combo)
            conditions.append(Condition(("patterns", name), (DropPattern(tuple(combo)),), random=False))
    for modality in ds.modalities:
        for kind in noise_kinds(ds, modality, list(noise_levels)):
            for level in noise_levels[kind]:
                if level > 0:
                    conditions.append(
                        Condition(("noise", modality, kind, level_key(level)), (_noise(kind, modality, level),))
                    )
    return conditions


def _patterns(modalities: Sequence[str], limit: int) -> list[tuple[str, ...]]:
    m = len(modalities)
    sizes = range(1, m + 1) if 2**m - 1 <= limit else sorted({1, m - 1, m} - {0})
    return [tuple(c) for size in sizes for c in itertools.combinations(sorted(modalities), size)]
