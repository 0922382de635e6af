"""Conformal prediction sets and the temperature as answers: per patient the set, its
availability pattern and where its threshold came from, and a bundle's calibration as the
API describes it (:class:`~omnifuse.serving.api_models.ConformalInfo`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from omnifuse.serving.api_models import CalibrationInfo, ConformalInfo, PatternThreshold
from omnifuse.uncertainty.conformal import ConformalClassifier


@dataclass(frozen=True)
class SetAnswers:
    """Conformal prediction sets of ``n`` samples and what each one's threshold was.

    Attributes:
        sets: ``(n, C)`` bool, class ``k`` is in sample ``i``'s set.
        patterns: ``(n,)`` each sample's availability pattern ("clin+omics").
        thresholds: ``(n,)`` the score threshold used (``1 - p <= threshold`` is in the set).
        sources: ``(n,)`` where it comes from: "pattern" (validation samples of the pattern),
            "masked" (validation samples with the pattern's modalities, the others hidden) or
            "pooled" (all validation samples: the pattern had too few either way).
        n_calibration: ``(n,)`` validation samples the threshold was calibrated on.
        coverage: the coverage target.
        class_thresholds: ``(n, C)`` per class thresholds of ``by_class`` sets (then they
            make the set and ``thresholds`` is not used), else None.
    """

    sets: np.ndarray
    patterns: np.ndarray
    thresholds: np.ndarray
    sources: np.ndarray
    n_calibration: np.ndarray
    coverage: float
    class_thresholds: np.ndarray | None = None

    def answer(self, i: int, classes: Sequence[str]) -> tuple[list[str], dict[str, Any]]:
        """Sample ``i``'s set (class names) and the answer's ``conformal`` part."""
        by_class = self.class_thresholds
        return [c for c, keep in zip(classes, self.sets[i]) if keep], {
            "coverage": self.coverage,
            "pattern": str(self.patterns[i]),
            "threshold": None if by_class is not None else float(self.thresholds[i]),
            "class_thresholds": None if by_class is None else class_values(classes, by_class[i]),
            "threshold_source": str(self.sources[i]),
            "n_calibration": int(self.n_calibration[i]),
        }


#: ``threshold_source`` of a pattern's own threshold, by how it was calibrated.
_SOURCES = {"observed": "pattern", "masked": "masked"}


def prediction_sets(conformal: ConformalClassifier, probs: np.ndarray, patterns: np.ndarray) -> SetAnswers:
    """The conformal sets of ``(n, C)`` probabilities of samples with availability
    ``patterns`` (``dataset.pattern_names()``)."""
    thresholds, own = conformal.quantiles(patterns, len(probs))
    stored = [conformal.patterns.get(str(p)) if o else None for p, o in zip(patterns, own)]
    return SetAnswers(
        sets=conformal.predict_sets(probs, patterns),
        patterns=np.asarray(patterns).astype(str),
        thresholds=thresholds,
        sources=np.array(["pooled" if v is None else _SOURCES.get(str(v.get("source")), "pattern") for v in stored]),
        n_calibration=np.array([conformal.n_calibration if v is None else int(v["n"]) for v in stored], dtype=np.int64),
        coverage=conformal.coverage,
        class_thresholds=conformal.class_thresholds(patterns, len(probs)) if conformal.by_class else None,
    )


def threshold_source(conformal: ConformalClassifier, pattern: str) -> str:
    """ "pattern", "masked" or "pooled": where the threshold of ``pattern`` comes from."""
    stored = conformal.patterns.get(pattern)
    return "pooled" if stored is None else _SOURCES.get(str(stored.get("source")), "pattern")


def calibration_info(bundle: Any) -> CalibrationInfo | None:
    """The temperature of a bundle (or fitted model) that calibrates its probabilities, or None."""
    scaler = getattr(bundle, "calibration", None)
    if scaler is None:
        return None
    return CalibrationInfo(temperature=scaler.temperature, n_samples=scaler.n_samples)


def conformal_info(bundle: Any) -> ConformalInfo | None:
    """The conformal calibration of a bundle (or fitted model): coverage, pooled and
    per-pattern thresholds, or None."""
    conformal = getattr(bundle, "conformal", None)
    if conformal is None:
        return None
    return ConformalInfo(
        coverage=conformal.coverage,
        pooled_threshold=conformal.quantile,
        n_calibration=conformal.n_calibration,
        min_per_pattern=conformal.min_per_group,
        patterns={
            name: PatternThreshold(
                threshold=float(v["quantile"]),
                n=int(v["n"]),
                source=threshold_source(conformal, name),
                class_thresholds=None if v.get("class_quantiles") is None else [float(q) for q in v["class_quantiles"]],
            )
            for name, v in conformal.patterns.items()
        },
        pooled_patterns={k: n for k, n in conformal.small_patterns.items() if k not in conformal.patterns},
        by_class=conformal.by_class,
        pooled_class_thresholds=None
        if conformal.class_quantiles is None
        else [float(q) for q in conformal.class_quantiles],
    )


def class_values(classes: Sequence[str], row: np.ndarray) -> dict[str, float]:
    return {c: finite(p) for c, p in zip(classes, row)}


def finite(value: float) -> float:
    value = float(value)
    if not np.isfinite(value):
        raise RuntimeError("the model produced a non-finite probability or weight")
    return value
