"""Plausible synthetic hypnograms: wake at both ends, sleep cycles, arousals, artefact epochs.

A night is ``W`` (sleep latency) + ``n_cycles`` NREM/REM cycles + ``W`` (final awakening).
Each cycle descends N1 -> N2 -> N3/N4 (deep sleep shrinks cycle after cycle) -> N2 -> REM
(REM grows), with random segment lengths. A Markov chain then perturbs sleep epochs with
brief arousals (W, N1) and stage shifts to neighbouring stages, and a few epochs become
"Movement time" and "Sleep stage ?" (R&K labels, as in Sleep-EDF).
"""

from __future__ import annotations

import numpy as np

#: Neighbouring stages a sleep epoch may shift to (the Markov perturbation).
_NEIGHBOURS = {"N1": ("W", "N2"), "N2": ("N1", "N3"), "N3": ("N2", "N4"), "N4": ("N3",), "REM": ("N1", "W")}
_CYCLE_EPOCHS = 180  # 90 min


def simulate_stages(rng: np.random.Generator, n_epochs: int) -> list[str]:
    """Raw stages (W, N1, N2, N3, N4, REM, MOVE, UNSCORED) of one night of ``n_epochs``.

    Every one of W, N1, N2, N3 (or N4) and REM occurs when ``n_epochs >= 40``.
    """
    if n_epochs < 40:
        raise ValueError(f"a synthetic night needs at least 40 epochs, got {n_epochs}")
    lead = max(2, int(round(n_epochs * rng.uniform(0.10, 0.22))))
    tail = max(2, int(round(n_epochs * rng.uniform(0.06, 0.15))))
    sleep_epochs = n_epochs - lead - tail
    n_cycles = int(np.clip(round(sleep_epochs / _CYCLE_EPOCHS), 2, 6))
    stages = ["W"] * lead
    sizes = _split(rng, sleep_epochs, np.ones(n_cycles) + rng.uniform(-0.2, 0.2, n_cycles))
    for c, size in enumerate(sizes):
        stages += _cycle(rng, c, n_cycles, size)
    stages += ["W"] * tail
    stages = _perturb(rng, stages, lead, n_epochs - tail)
    return _artefacts(rng, stages, lead, n_epochs - tail)


def _split(rng: np.random.Generator, total: int, weights: np.ndarray) -> list[int]:
    """Split ``total`` epochs by ``weights`` (every part >= 1 when possible)."""
    raw = np.maximum(weights, 1e-3) / np.maximum(weights, 1e-3).sum() * total
    parts = np.maximum(np.floor(raw).astype(int), 1)
    parts[np.argmax(parts)] += total - parts.sum()
    return parts.tolist()


def _cycle(rng: np.random.Generator, c: int, n_cycles: int, size: int) -> list[str]:
    late = c / max(1, n_cycles - 1)  # 0 in the first cycle, 1 in the last
    deep = max(0.02, 0.35 * (1 - late) + rng.uniform(-0.05, 0.05))
    rem = 0.10 + 0.25 * late + rng.uniform(-0.03, 0.03)
    weights = np.array([0.08, 0.30, deep, 0.20, rem]) * rng.uniform(0.8, 1.2, 5)
    n1, n2a, n3, n2b, r = _split(rng, size, weights)
    n4 = int(n3 * rng.uniform(0.3, 0.6)) if c == 0 else int(n3 * rng.uniform(0.0, 0.3))
    deep_part = ["N3"] * ((n3 - n4) // 2) + ["N4"] * n4 + ["N3"] * (n3 - n4 - (n3 - n4) // 2)
    return ["N1"] * n1 + ["N2"] * n2a + deep_part + ["N2"] * n2b + ["REM"] * r


def _perturb(rng: np.random.Generator, stages: list[str], start: int, stop: int) -> list[str]:
    """Markov perturbation of sleep epochs: each shifts to a neighbour stage with prob. 0.06."""
    out = list(stages)
    for k in range(start + 1, stop - 1):
        if out[k] in _NEIGHBOURS and rng.random() < 0.06 and _spare(out, out[k]):
            out[k] = str(rng.choice(_NEIGHBOURS[out[k]]))
    return out


def _artefacts(rng: np.random.Generator, stages: list[str], start: int, stop: int) -> list[str]:
    """A few movement and unscored epochs inside the night, sometimes unscored at the end."""
    out = list(stages)
    inside = np.arange(start + 1, stop - 1)
    for label, count in (("MOVE", rng.integers(1, 4)), ("UNSCORED", rng.integers(0, 3))):
        for k in rng.choice(inside, size=min(int(count), len(inside)), replace=False):
            if _spare(out, out[int(k)]):
                out[int(k)] = label
    if rng.random() < 0.5:
        out[-1] = "UNSCORED"
    return out


def _spare(stages: list[str], stage: str) -> bool:
    """True when an epoch of ``stage`` can change without the stage (N3+N4 together) vanishing."""
    merged = ("N3", "N4") if stage in ("N3", "N4") else (stage,)
    return sum(s in merged for s in stages) > 3
