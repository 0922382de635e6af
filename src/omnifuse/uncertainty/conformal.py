"""Conformal prediction sets, Mondrian by availability pattern.

Split conformal prediction (Vovk, Gammerman & Shafer, "Algorithmic Learning in a Random
World", 2005; Papadopoulos et al. 2002; the presentation of Angelopoulos & Bates, "A Gentle
Introduction to Conformal Prediction and Distribution-Free Uncertainty Quantification",
2021, section 1): on ``n`` calibration samples not used for training, the score of the true
class is ``s = 1 - p(true class)`` (the "least ambiguous" or LAC score of Sadinle, Lei &
Wasserman, JASA 2019, which gives the smallest sets on average). The threshold
``q`` is the ``k``-th smallest calibration score with ``k = ceil((n + 1) * coverage)``, the
finite-sample correction that makes ``P(y in set) >= coverage`` for a new exchangeable
sample; the set of a new sample is every class with ``1 - p_k <= q``. This needs
``k <= n``, i.e. ``n >= coverage / (1 - coverage)`` samples (9 for 90 %, 19 for 95 %).

**Mondrian** (Vovk et al. 2005, chapter 4.5; Vovk, "Conditional validity of inductive
conformal predictors", ACML 2012): the guarantee is wanted per availability pattern, not
only on average over patients: a patient missing modalities is usually harder, and a pooled
threshold, dominated by complete patients, under-covers them. Each pattern with at least
``min_per_group`` calibration samples gets its own threshold from its own samples (the
guarantee then holds within the pattern); a pattern with fewer, or never seen in
calibration, falls back to the pooled threshold (and :meth:`ConformalClassifier.quantiles`
says so per sample). The default ``min_per_group = ceil(1 / (1 - coverage))`` (10 for 90 %)
is one more than the fewest samples that allow a threshold at all; with so few samples the
threshold is the largest score (large, honest sets). The coverage of one calibration draw
is Beta(k, n + 1 - k) distributed, so a larger ``min_per_group`` gives steadier sets.

**Masked calibration** for patterns too rare among the calibration samples (on a cohort where
nearly everyone has every modality, a patient who lost one at test time has no pattern of
their own): ``masked`` gives, per such pattern, the probabilities of the calibration
samples that have all of its modalities with the others hidden. Its threshold is valid
when the modalities go missing independently of the outcome given what is kept (as in
``omnifuse robustness``); for a pattern with enough real calibration samples those are
always used instead. Each pattern's ``source`` says which (``observed`` or ``masked``).

**By class** (``by_class``; Vovk et al. 2005's label-conditional Mondrian, Sadinle et al.
2019's class-specific coverage): the guarantee above is marginal, so with a rare class
(death in an ICU cohort) most patients get the singleton of the common class and the rare
class is covered far less often than the target. With ``by_class`` each class ``k`` gets its
own threshold from the calibration samples of class ``k`` (per pattern where the pattern has
``min_per_group`` of them, else the pooled one of that class), so every class is covered at
the target, at the price of larger sets.

Empty sets (no class above ``1 - q``) can occur with the LAC score; with ``non_empty``
(default) such a set gets the most probable class, which only raises the coverage.

MAPIE (scikit-learn-contrib) was considered: it wraps estimators rather than taking the
probabilities every omnifuse model already gives, and its group-conditional support did
not fit that shape, so this module keeps the method small and tested instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omnifuse.errors import ConfigError

SCORE = "lac"
POOLED = "(pooled)"


def min_calibration(coverage: float) -> int:
    """Fewest calibration samples that give a finite threshold at ``coverage``."""
    _check_coverage(coverage)
    return max(1, math.ceil(coverage / (1 - coverage) - 1e-9))


def default_min_per_group(coverage: float) -> int:
    """Fewest calibration samples a pattern needs for a threshold of its own (10 for 90 %)."""
    return max(min_calibration(coverage), math.ceil(1 / (1 - coverage) - 1e-9))


def conformal_quantile(scores: np.ndarray, coverage: float) -> float:
    """The ``ceil((n + 1) * coverage)``-th smallest of ``scores``.

    Raises:
        ConfigError: fewer scores than :func:`min_calibration` asks for.
    """
    s = np.sort(np.asarray(scores, dtype=np.float64).reshape(-1))
    need = min_calibration(coverage)
    if len(s) < need:
        raise ConfigError(
            f"conformal prediction at {coverage:g} coverage needs at least {need} calibration samples, got {len(s)}"
        )
    k = math.ceil((len(s) + 1) * coverage - 1e-9)
    return float(s[k - 1])


@dataclass
class ConformalClassifier:
    """Prediction sets with a coverage guarantee, per availability pattern where the
    calibration data allow it (see the module docstring). Build with :meth:`fit`."""

    coverage: float
    quantile: float
    n_calibration: int
    n_classes: int
    min_per_group: int
    non_empty: bool = True
    patterns: dict[str, dict[str, Any]] = field(default_factory=dict)
    small_patterns: dict[str, int] = field(default_factory=dict)
    by_class: bool = False
    class_quantiles: list[float] | None = None

    @classmethod
    def fit(
        cls,
        cal_probs: np.ndarray,
        cal_y: np.ndarray,
        cal_patterns: Sequence[str] | np.ndarray | None = None,
        coverage: float = 0.9,
        min_per_group: int | None = None,
        non_empty: bool = True,
        masked: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
        by_class: bool = False,
    ) -> "ConformalClassifier":
        """Calibrate on held-out probabilities ``(n, K)`` (binary: ``(n,)`` or ``(n, 2)``),
        class indices ``cal_y`` and each sample's availability pattern (e.g.
        ``dataset.pattern_names()``; None calibrates one pooled threshold only). ``masked``:
        per pattern, ``(probs, y)`` of calibration samples with the pattern's other
        modalities hidden, used where the pattern has too few real samples. ``by_class``:
        one threshold per class (see the module docstring).

        Raises:
            ConfigError: coverage outside (0, 1), fewer calibration samples than the coverage
                needs even pooled (with ``by_class``: of some class), or ``min_per_group``
                below that minimum (one line each).
        """
        _check_coverage(coverage)
        p, t = _probs(cal_probs, cal_y)
        need = min_calibration(coverage)
        group_min = default_min_per_group(coverage) if min_per_group is None else int(min_per_group)
        if group_min < need:
            raise ConfigError(
                f"min_per_group {group_min} is below the {need} calibration samples {coverage:g} coverage needs"
            )
        scores = 1.0 - p[np.arange(len(t)), t]
        pooled = conformal_quantile(scores, coverage)
        k_classes = int(p.shape[1])
        pooled_by_class = _class_quantiles(scores, t, k_classes, coverage, need, None) if by_class else None
        groups: dict[str, dict[str, Any]] = {}
        small: dict[str, int] = {}
        if cal_patterns is not None:
            pats = _patterns(cal_patterns, len(t))
            for name in sorted(set(pats.tolist())):
                rows = pats == name
                n = int(rows.sum())
                if n >= group_min:
                    groups[name] = {
                        "quantile": conformal_quantile(scores[rows], coverage),
                        "n": n,
                        "source": "observed",
                    }
                    if pooled_by_class is not None:
                        groups[name]["class_quantiles"] = _class_quantiles(
                            scores[rows], t[rows], k_classes, coverage, group_min, pooled_by_class
                        )
                else:
                    small[name] = n
        for name, (m_probs, m_y) in sorted(dict(masked or {}).items()):
            if name in groups:
                continue
            mp, mt = _probs(m_probs, m_y)
            if len(mt) >= group_min and mp.shape[1] == p.shape[1]:
                m_scores = 1.0 - mp[np.arange(len(mt)), mt]
                groups[name] = {"quantile": conformal_quantile(m_scores, coverage), "n": len(mt), "source": "masked"}
                if pooled_by_class is not None:
                    groups[name]["class_quantiles"] = _class_quantiles(
                        m_scores, mt, k_classes, coverage, group_min, pooled_by_class
                    )
        return cls(
            float(coverage),
            pooled,
            int(len(t)),
            k_classes,
            group_min,
            bool(non_empty),
            groups,
            small,
            bool(by_class),
            pooled_by_class,
        )

    def quantiles(
        self, patterns: Sequence[str] | np.ndarray | None, n: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per sample, the threshold used and whether it is its pattern's own (False: pooled,
        because the pattern had fewer than ``min_per_group`` calibration samples or none)."""
        if patterns is None:
            size = int(n or 0)
            return np.full(size, self.quantile), np.zeros(size, dtype=bool)
        pats = _patterns(patterns, n)
        own = np.array([name in self.patterns for name in pats], dtype=bool)
        q = np.array(
            [self.patterns[name]["quantile"] if name in self.patterns else self.quantile for name in pats],
            dtype=np.float64,
        )
        return q, own

    def class_thresholds(self, patterns: Sequence[str] | np.ndarray | None, n: int | None = None) -> np.ndarray:
        """``(n, K)``: per sample and class, the class's threshold (``by_class`` models; its
        pattern's where the pattern had enough samples of the class, else the pooled one)."""
        if not self.by_class or self.class_quantiles is None:
            raise ConfigError("these conformal sets were calibrated without by_class")
        pooled = np.asarray(self.class_quantiles, dtype=np.float64)
        if patterns is None:
            return np.tile(pooled, (int(n or 0), 1))
        pats = _patterns(patterns, n)
        rows = [self.patterns.get(name, {}).get("class_quantiles", pooled) for name in pats]
        return np.asarray(rows, dtype=np.float64).reshape(len(pats), self.n_classes)

    def predict_sets(self, probs: np.ndarray, patterns: Sequence[str] | np.ndarray | None = None) -> np.ndarray:
        """``(n, K)`` bool: class ``k`` is in sample ``i``'s set."""
        p = _probs(probs)[0]
        if p.shape[1] != self.n_classes:
            raise ConfigError(f"conformal sets were calibrated for {self.n_classes} classes, got {p.shape[1]}")
        if self.by_class:
            sets = (1.0 - p) <= self.class_thresholds(patterns, len(p)) + 1e-12
        else:
            q, _ = self.quantiles(patterns, len(p))
            sets = (1.0 - p) <= q[:, None] + 1e-12
        if self.non_empty:
            empty = ~sets.any(axis=1)
            sets[empty, p[empty].argmax(axis=1)] = True
        return sets

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (a bundle stores it)."""
        return {
            "method": "split-conformal",
            "score": SCORE,
            "mondrian": "availability pattern",
            "coverage": self.coverage,
            "quantile": self.quantile,
            "n_calibration": self.n_calibration,
            "n_classes": self.n_classes,
            "min_per_group": self.min_per_group,
            "non_empty": self.non_empty,
            "patterns": {k: _pattern_dict(v) for k, v in self.patterns.items()},
            "by_class": self.by_class,
            "class_quantiles": None if self.class_quantiles is None else [float(q) for q in self.class_quantiles],
            "small_patterns": {k: int(v) for k, v in self.small_patterns.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ConformalClassifier":
        if data.get("score", SCORE) != SCORE:
            raise ConfigError(f"conformal: unknown score '{data.get('score')}' (valid: {SCORE})")
        try:
            coverage = float(data["coverage"])
            _check_coverage(coverage)
            k_classes = int(data["n_classes"])
            by_class = bool(data.get("by_class", False))
            stored = data.get("class_quantiles")
            class_quantiles = None if stored is None else _floats(stored, k_classes)
            if by_class and class_quantiles is None:
                raise ValueError("by_class without class_quantiles")
            return cls(
                coverage,
                float(data["quantile"]),
                int(data["n_calibration"]),
                k_classes,
                int(data["min_per_group"]),
                bool(data.get("non_empty", True)),
                {str(k): _pattern_from(v, k_classes) for k, v in dict(data.get("patterns", {})).items()},
                {str(k): int(v) for k, v in dict(data.get("small_patterns", {})).items()},
                by_class,
                class_quantiles,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"conformal: malformed stored calibration ({type(exc).__name__}: {exc})") from None


def set_coverage(
    sets: np.ndarray,
    y: np.ndarray,
    patterns: Sequence[str] | np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Empirical ``coverage`` (share of samples whose true class is in the set), ``mean_size``
    and ``n``, overall, per true class under ``"classes"`` (keyed by ``class_names``, else the
    class index: the guarantee is marginal, so a rare class such as death can be covered far
    less often than the target) and (with ``patterns``) per pattern under ``"patterns"``."""
    s = np.asarray(sets, dtype=bool)
    t = np.asarray(y).reshape(-1).astype(np.int64)
    hit = s[np.arange(len(t)), t]
    size = s.sum(axis=1)

    def summary(rows: np.ndarray) -> dict[str, float]:
        n = int(rows.sum())
        return {
            "coverage": float(hit[rows].mean()) if n else float("nan"),
            "mean_size": float(size[rows].mean()) if n else float("nan"),
            "n": n,
        }

    out: dict[str, Any] = summary(np.ones(len(t), dtype=bool))
    names = list(class_names) if class_names is not None else [str(k) for k in range(s.shape[1])]
    out["classes"] = {names[k]: summary(t == k) for k in range(s.shape[1])}
    if patterns is not None:
        pats = _patterns(patterns, len(t))
        out["patterns"] = {name: summary(pats == name) for name in sorted(set(pats.tolist()))}
    return out


def _class_quantiles(
    scores: np.ndarray, y: np.ndarray, k_classes: int, coverage: float, min_n: int, fallback: list[float] | None
) -> list[float]:
    """Per class, the conformal quantile of the scores of that class's samples; a class with
    fewer than ``min_n`` samples takes ``fallback`` (None: a one-line ConfigError)."""
    out = []
    for k in range(k_classes):
        rows = y == k
        if rows.sum() >= min_n:
            out.append(conformal_quantile(scores[rows], coverage))
        elif fallback is not None:
            out.append(float(fallback[k]))
        else:
            raise ConfigError(
                f"conformal sets by class at {coverage:g} coverage need at least {min_n} calibration samples "
                f"of every class; class {k} has {int(rows.sum())}"
            )
    return out


def _pattern_dict(v: dict[str, Any]) -> dict[str, Any]:
    out = {"quantile": float(v["quantile"]), "n": int(v["n"]), "source": str(v.get("source", "observed"))}
    if v.get("class_quantiles") is not None:
        out["class_quantiles"] = [float(q) for q in v["class_quantiles"]]
    return out


def _pattern_from(v: Any, k_classes: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "quantile": float(v["quantile"]),
        "n": int(v["n"]),
        "source": _source(v.get("source", "observed")),
    }
    if v.get("class_quantiles") is not None:
        out["class_quantiles"] = _floats(v["class_quantiles"], k_classes)
    return out


def _floats(values: Any, k_classes: int) -> list[float]:
    out = [float(q) for q in values]
    if len(out) != k_classes:
        raise ValueError(f"{len(out)} class thresholds for {k_classes} classes")
    return out


def _source(value: Any) -> str:
    if value not in ("observed", "masked"):
        raise ValueError(f"pattern source must be observed or masked, got {value!r}")
    return str(value)


def _check_coverage(coverage: float) -> None:
    if not (isinstance(coverage, (int, float)) and 0 < float(coverage) < 1):
        raise ConfigError(f"conformal coverage must be in (0, 1), got {coverage!r}")


def _probs(probs: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(n, K)`` float probabilities (a binary ``(n,)`` becomes two columns) and int targets."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 2 and p.shape[1] == 1:
        p = p.reshape(-1)
    if p.ndim == 1:
        p = np.stack([1.0 - p, p], axis=1)
    if p.ndim != 2:
        raise ValueError(f"probs must be (n_samples, n_classes), got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("probs contain NaN or infinite values")
    t = np.zeros(len(p), dtype=np.int64) if y is None else np.asarray(y).reshape(-1).astype(np.int64)
    if t.shape != (len(p),):
        raise ValueError(f"y must be ({len(p)},) class indices, got shape {t.shape}")
    if len(t) and (t.min() < 0 or t.max() >= p.shape[1]):
        raise ValueError(f"class indices must be in [0, {p.shape[1]})")
    return p, t


def _patterns(patterns: Sequence[str] | np.ndarray, n: int | None) -> np.ndarray:
    pats = np.asarray(patterns).astype(str).reshape(-1)
    if n is not None and len(pats) != n:
        raise ConfigError(f"{len(pats)} availability patterns for {n} samples")
    return pats
