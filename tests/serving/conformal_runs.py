"""A simulated cohort and runs trained on it by ``omnifuse train``, with and without
``--set conformal=0.9 --set calibrate=temperature``: shared by the CLI and serving tests of
prediction sets (trained once per session, whichever test asks first).

The cohort (300 patients) has three modalities, notes mostly absent; its validation samples
(60) hold two availability patterns with enough samples for a threshold of their own
(``clin+omics``, i.e. notes absent, and ``clin``) and two with too few (``clin+notes``,
``clin+notes+omics``), which use the pooled threshold; ``omics`` alone, never observed, is
calibrated on the validation samples with omics, the others hidden (masked).
"""

from __future__ import annotations

import contextlib
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from omnifuse.cli import main
from omnifuse.data.loaders import write_folder
from omnifuse.data.simulate import make_lowquality
from omnifuse.data.simulate_config import SimModality

#: What ``omnifuse train`` is given for the conformal run.
CONFORMAL_SETTINGS = ("--set", "conformal=0.9", "--set", "calibrate=temperature", "--set", "max_epochs=3")
#: A pattern with an absent modality that has its own threshold, one that falls back on the
#: pooled one, and one calibrated on masked validation samples.
OWN_PATTERN, POOLED_PATTERN, MASKED_PATTERN = "clin+omics", "clin+notes", "omics"

_CACHE: dict[str, "Runs"] = {}


@dataclass(frozen=True)
class Runs:
    cohort: Path
    conformal: Path  # a run trained with CONFORMAL_SETTINGS
    conformal_stdout: str  # what `omnifuse train` printed for it
    plain: Path  # the same model trained without calibrate / conformal


def cohort_modalities() -> list[SimModality]:
    return [
        SimModality("clin", "tabular", 8, 0.8),
        SimModality("omics", "omics", 12, 0.6, missing_rate=0.4),
        SimModality("notes", "embedding", 8, 0.3, missing_rate=0.85),
    ]


def run_cli(*args: str) -> tuple[int, str, str]:
    """``omnifuse ARGS`` in this process (session fixtures cannot use ``capsys``)."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        mp.setattr(sys, "argv", ["omnifuse", *args])
        try:
            main()
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def conformal_runs(factory: pytest.TempPathFactory) -> Runs:
    """The cohort folder and both runs (trained on the first call of the session)."""
    if "runs" not in _CACHE:
        root = factory.mktemp("conformal")
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("OMNIFUSE_CACHE", "off")  # session scope: the autouse cache fixture does not apply
            ds, _ = make_lowquality(cohort_modalities(), n_samples=300, seed=1)
            cohort = write_folder(ds, root / "cohort")
            trained = {}
            for name, settings in (("conformal", CONFORMAL_SETTINGS), ("plain", ("--set", "max_epochs=3"))):
                code, out, err = run_cli(
                    "train", "--data", str(cohort), "--model", "omnifuse", *settings, "--out", str(root / name)
                )
                assert code == 0, err
                trained[name] = (root / name, out)
        _CACHE["runs"] = Runs(cohort, trained["conformal"][0], trained["conformal"][1], trained["plain"][0])
    return _CACHE["runs"]
