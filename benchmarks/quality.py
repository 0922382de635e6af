"""The quality suite: every change to a model is judged by this table.

    python benchmarks/quality.py                      # all cohorts, defaults (about 30 min on 2 cores)
    python benchmarks/quality.py --cohorts brca_recurrence --tune-trials 10 --seeds 1   # nested tuning
    python benchmarks/quality.py --render             # rebuild the BENCHMARKS.md table from saved results

Cohorts (../shared/data; a missing one is skipped with a note), fixed seeds:

* ``breast_tcga``: 5-fold stratified CV (protein truly absent for 70 patients);
* ``brca_recurrence``: 5-fold CV x 3 seeds (211 patients, far from the ceiling);
* ``physionet``: PhysioNet 2012, train on set a, test on set b, ``configs/physionet2012.yaml``.

Methods: sk-logreg, sk-hgb, sk-stack, concat, attention, omnifuse, ume at their defaults and,
with ``--tune-trials N``, tuned inside each outer training fold (nested CV: nothing is chosen
on test samples, and baselines are tuned the same way). Each cohort's ``results.json`` goes
to ``benchmarks/results/quality/<cohort>[-tuned]/``; the markdown table, with intervals and
paired tests against the best simple baseline, replaces the block between the quality
markers in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omnifuse.evaluation.documents import ResultsDocument

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
RESULTS = REPO / "benchmarks" / "results" / "quality"
MODELS = ("sk-logreg", "sk-hgb", "sk-stack", "concat", "attention", "omnifuse", "ume")
BASELINES = ("sk-logreg", "sk-hgb", "sk-stack")
BEGIN, END = "<!-- quality:begin -->", "<!-- quality:end -->"

#: cohort -> (data folder, run_benchmark keyword arguments, config file)
COHORTS: dict[str, tuple[str, dict[str, Any], str | None]] = {
    "breast_tcga": ("breast_tcga", {"folds": 5, "seeds": 1}, None),
    "brca_recurrence": ("brca_recurrence", {"folds": 5, "seeds": 3}, None),
    "physionet": ("physionet2012", {"train_split": "a", "test_split": "b", "seeds": 1}, "configs/physionet2012.yaml"),
}


def run_cohort(cohort: str, models: list[str], tune_trials: int, seeds: int | None = None) -> ResultsDocument | None:
    """Benchmark ``models`` on ``cohort`` (``seeds`` overrides its number of seeds); None when
    its data is absent."""
    from omnifuse.data.loaders import load_dataset
    from omnifuse.evaluation.benchmark import run_benchmark
    from omnifuse.evaluation.documents import write_document
    from omnifuse.training.config import load_configs

    folder, protocol, config_file = COHORTS[cohort]
    protocol = {**protocol, **({"seeds": seeds} if seeds else {})}
    path = SHARED / folder
    if not path.exists():
        print(f"{cohort}: {path} is absent, skipped")
        return None
    config, _ = load_configs(REPO / config_file if config_file else None, None, models)  # every key owned by some model
    ds = load_dataset(path)
    start = time.perf_counter()

    def step(name: str, label: str) -> None:
        print(f"[{time.perf_counter() - start:7.1f}s] {cohort}: {name} ({label})", flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if tune_trials:
            from omnifuse.tuning import tuned_benchmark

            results = tuned_benchmark(ds, models, tune_trials, 3, config=config, on_step=step, **protocol)
        else:
            results = run_benchmark(ds, models, config=config, on_step=step, **protocol)
    results.dataset = f"../shared/data/{folder}"
    results.wall_seconds = time.perf_counter() - start
    out = RESULTS / (cohort + ("-tuned" if tune_trials else ""))
    out.mkdir(parents=True, exist_ok=True)
    write_document(out / "results.json", results)  # strict JSON: undefined values become null
    return results


# ---------------------------------------------------------------- rendering
def num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def p_value(results: ResultsDocument, a: str, b: str) -> float | None:
    for t in results.tests:
        if t.metric == "auroc" and {t.a, t.b} == {a, b}:
            return t.p_value
    return None


def render_cohort(title: str, results: ResultsDocument) -> list[str]:
    methods = results.methods
    baselines = [b for b in BASELINES if b in methods]
    # the comparison's reference only (nothing is chosen with it): the strongest baseline here
    best = max(baselines, key=lambda b: methods[b].metrics["auroc"].mean or 0.0) if baselines else None
    protocol = results.protocol
    how = (
        f"{protocol.folds}-fold x {protocol.seeds} seed(s), Student-t interval over folds"
        if protocol.type == "kfold"
        else f"train {protocol.train_split} -> test {protocol.test_split}, {protocol.seeds} seed(s), bootstrap interval"
    )
    tuned = " (tuned by nested CV)" if any(m.tuned_configs for m in methods.values()) else ""
    lines = [
        f"**{title}**{tuned}: {results.n_samples} samples, {how}. "
        f"Paired test against the best simple baseline ({best}): {_test_name(results)}.",
        "",
        f"| method | AUROC [95% CI] | macro-F1 | Brier | vs {best}: ΔAUROC (p) | train s/fit |",
        "|---|---|---|---|---|---|",
    ]
    order = sorted(methods, key=lambda m: -(methods[m].metrics["auroc"].mean or 0.0))
    for name in order:
        m = methods[name].metrics
        auroc = m["auroc"]
        high = None if auroc.ci_high is None else min(auroc.ci_high, 1.0)
        delta = "–"
        if best is not None and name != best:
            p = p_value(results, name, best)
            reference = methods[best].metrics["auroc"].mean
            if auroc.mean is not None and reference is not None:
                delta = f"{auroc.mean - reference:+.3f} ({num(p)})"
        lines.append(
            f"| {name} | {num(auroc.mean)} [{num(auroc.ci_low)}, {num(high)}] | "
            f"{num(m['macro_f1'].mean)} | {num(m['brier'].mean)} | {delta} | "
            f"{methods[name].train_seconds or 0.0:.1f} |"
        )
    return lines + [""]


def _test_name(results: ResultsDocument) -> str:
    return results.tests[0].test if results.tests else "paired test"


def render_all() -> str:
    from omnifuse.evaluation.documents import read_results

    blocks = [BEGIN, "", "Rebuilt by `python benchmarks/quality.py` (raw results in benchmarks/results/quality/).", ""]
    for cohort in COHORTS:
        for suffix, label in (("", "defaults"), ("-tuned", "tuned")):
            path = RESULTS / (cohort + suffix) / "results.json"
            if path.exists():
                blocks += render_cohort(f"{cohort}, {label}", read_results(path))
    blocks.append(END)
    return "\n".join(blocks)


def write_benchmarks_md(table: str) -> None:
    path = REPO / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + table + tail
    else:
        text += "\n## Quality suite (issue 14)\n\n" + table + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohorts", default=",".join(COHORTS), help="comma-separated: " + ", ".join(COHORTS))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--tune-trials", type=int, default=0, help="nested tuning with N trials per outer fold")
    parser.add_argument("--seeds", type=int, default=None, help="override the cohorts' numbers of seeds")
    parser.add_argument("--render", action="store_true", help="only rebuild the table from saved results")
    args = parser.parse_args()
    if not args.render:
        for cohort in [c.strip() for c in args.cohorts.split(",") if c.strip()]:
            if cohort not in COHORTS:
                raise SystemExit(f"unknown cohort '{cohort}' (valid: {', '.join(COHORTS)})")
            run_cohort(cohort, [m.strip() for m in args.models.split(",")], args.tune_trials, args.seeds)
    table = render_all()
    write_benchmarks_md(table)
    print(table)


if __name__ == "__main__":
    main()
