"""Hyperparameter tuning with Optuna: search spaces declared next to what they tune, an
inner cross-validation objective with per-epoch pruning, resumable SQLite studies, and nested
tuning for benchmarks.

Layering: tuning sits between the command line and evaluation (it scores trials with
:mod:`omnifuse.evaluation.metrics`; benchmarks receive it as a hook, never import it).
"""

from omnifuse.tuning.nested import tuned_benchmark
from omnifuse.tuning.outputs import TuneSummary
from omnifuse.tuning.run import TuneResult, tune
from omnifuse.tuning.space import check_spec, compose_space, load_space_file, nest, override_space, suggest

__all__ = [
    "TuneResult",
    "TuneSummary",
    "check_spec",
    "compose_space",
    "load_space_file",
    "nest",
    "override_space",
    "suggest",
    "tune",
    "tuned_benchmark",
]
