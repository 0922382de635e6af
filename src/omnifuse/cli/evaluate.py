"""``omnifuse evaluate``: a trained run on a dataset, optionally corrupted."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer
from rich.markup import escape

from omnifuse.cli.common import DataOption, StrictOption, app, console, load_data
from omnifuse.errors import ConfigError
from omnifuse.utils.jsonio import write_json

TestSplitOption = typer.Option(None, "--test-split", help="Evaluate on these splits (e.g. b); default all samples.")


def evaluated_indices(ds: Any, test_split: str | None) -> np.ndarray:
    return ds.split_indices(test_split) if test_split else np.arange(len(ds))


def _corruption_specs(drops: list[str], noises: list[str]) -> list[str]:
    """CLI ``--drop MOD=RATE`` and ``--noise MOD=KIND:LEVEL`` as corruption specs."""
    specs = []
    for text in drops:
        target, eq, rate = text.partition("=")
        if not eq or not target.strip() or not rate.strip():
            raise ConfigError(f"--drop '{text}': expected MODALITY=RATE (or any=RATE), rate in [0, 1]")
        specs.append(f"{target.strip()}=drop:{rate.strip()}")
    for text in noises:
        target, _, rest = text.partition("=")
        kind = rest.partition(":")[0].strip().lower()
        if kind in ("drop", "only"):
            raise ConfigError(
                f"--noise '{text}': '{kind}' is not a noise kind "
                "(valid: gaussian:LEVEL >= 0, dropout:RATE, segment:FRACTION, flatline:FRACTION; "
                "use --drop MODALITY=RATE for missingness)"
            )
        specs.append(text)
    return specs


@app.command("evaluate")
def evaluate(
    run: Path = typer.Option(..., "--run", help="Run directory written by `omnifuse train`."),
    data: Path = DataOption,
    test_split: Optional[str] = TestSplitOption,
    drop: Optional[list[str]] = typer.Option(
        None, "--drop", help="Make MODALITY absent for a share RATE of test samples: MOD=RATE or any=RATE (repeatable)."
    ),
    noise: Optional[list[str]] = typer.Option(
        None, "--noise", help="Corrupt values: MOD=KIND:LEVEL, KIND gaussian|dropout|segment|flatline (repeatable)."
    ),
    draws: int = typer.Option(3, "--draws", min=1, help="Random draws of the corruption (averaged)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the corruption draws."),
    out: Path = typer.Option(..., "--out", help="Output JSON file."),
    strict: bool = StrictOption,
    threshold: Optional[str] = typer.Option(
        None,
        "--threshold",
        help="Binary tasks: decide at this threshold in (0, 1) instead of the one stored in the bundle "
        "(chosen on the run's validation samples; bundles without one: 0.5).",
    ),
    subgroups: Optional[str] = typer.Option(
        None,
        "--subgroups",
        help="COL[,COL]: audit every metric per subgroup (columns of labels.csv or subgroups.csv in the "
        "data folder, or a tabular feature such as PhysioNet's Gender and ICUType).",
    ),
) -> None:
    """Metrics of a trained run on (optionally corrupted) test data; corruptions touch the
    test samples only and the run's training standardisation is kept. Classification runs
    also get the decisions at the operating point (sensitivity, specificity, PPV, NPV, F1,
    MCC; multiclass: per-class sensitivity, weighted F1, confusion matrix) with intervals."""
    from omnifuse.data.corrupt import parse_corruption  # deferred: keeps `omnifuse --help` fast (torch)
    from omnifuse.evaluation.evaluate import (  # deferred: keeps `omnifuse --help` fast (Lightning)
        clean_samples,
        evaluate_bundle,
        select_run_modalities,
    )
    from omnifuse.serving.bundle import load_bundle  # deferred: keeps `omnifuse --help` fast (Lightning)
    from omnifuse.tasks import SINGLE_LABEL_TASKS  # deferred: keeps `omnifuse --help` fast (torch)
    from omnifuse.trust.decisions import (  # deferred: keeps `omnifuse --help` fast (Lightning)
        evaluate_decisions,
        evaluate_survival_subgroups,
        parse_columns,
        parse_option,
        subgroup_frame,
    )
    from omnifuse.trust.subgroup_benchmark import check_subgroup_task  # deferred: keeps `omnifuse --help` fast

    corruptions = [parse_corruption(s) for s in _corruption_specs(list(drop or []), list(noise or []))]
    columns = parse_columns(subgroups)
    given = None if threshold is None else parse_option(threshold)
    if given is not None and given.kind != "fixed":
        raise ConfigError(
            f"--threshold '{threshold}': evaluate takes a number in (0, 1); rules are chosen on validation "
            "samples (train --threshold, benchmark --threshold)"
        )
    if out.exists() and out.is_dir():
        raise ConfigError(f"{out}: is a directory (--out takes a JSON file)")
    bundle = load_bundle(run / "bundle")
    ds = load_data(data, strict=strict)
    if ds.task not in SINGLE_LABEL_TASKS:
        if given is not None:
            raise ConfigError(f"--threshold is for binary tasks; {ds.task} tasks have no threshold")
        if columns:
            check_subgroup_task(ds.task)
    elif given is not None and ds.task == "multiclass":
        raise ConfigError("--threshold is for binary tasks; multiclass decisions are the argmax")
    test = evaluated_indices(ds, test_split)
    _warn_training_overlap(run, data, ds, test)
    ds = select_run_modalities(bundle, ds)
    decisions: dict[str, Any] = {}
    if ds.task in SINGLE_LABEL_TASKS:
        clean = clean_samples(ds, test)
        frame = subgroup_frame(clean, columns, Path(data)) if columns else None  # unknown column: fails here
        stored = bundle.info.get("threshold")
        value = given.value if given is not None else stored
        on_clean = bundle.fitted(ds).on_samples(clean)
        probs = on_clean.predict_proba(np.arange(len(clean)))
        if bundle.conformal is not None:
            decisions["conformal"] = conformal_coverage(on_clean, probs, corruptions, draws, seed)
        decisions |= evaluate_decisions(probs, clean, value if ds.task == "binary" else None, frame, seed=seed)
        decisions["operating_point"]["source"] = (
            "argmax"
            if ds.task == "multiclass"
            else "--threshold"
            if given is not None
            else f"bundle ({bundle.info.get('threshold_rule')} on the run's validation samples)"
            if stored is not None
            else "0.5 (the bundle stores no threshold)"
        )
    elif columns:  # survival: per-subgroup C-index and the other survival metrics
        clean = clean_samples(ds, test)
        frame = subgroup_frame(clean, columns, Path(data))  # unknown column: fails here
        fitted = bundle.fitted(ds).on_samples(clean)
        decisions = evaluate_survival_subgroups(fitted, clean, frame, seed=seed)
    document = evaluate_bundle(bundle, ds, test, corruptions, draws=draws, seed=seed)
    document.update(decisions)
    document.update({"run": str(run), "data": str(data), "test_split": test_split})
    write_json(out, document)
    shown_metrics = ("c_index", "uno_c", "ibs") if ds.task == "survival" else ("auroc", "macro_f1", "brier")
    shown = ", ".join(f"{m} {document['metrics'][m]['mean']:.3f}" for m in shown_metrics)
    console.print(
        f"{bundle.name} on {document['n_samples']} samples"
        + (f" with {', '.join(document['corruptions'])}" if corruptions else "")
        + f": {shown}"
    )
    if decisions:
        print_decisions(decisions)
    if decisions.get("conformal"):
        print_conformal(decisions["conformal"])
    console.print(f"written to {out}")


def conformal_coverage(fitted: Any, probs: np.ndarray, corruptions: list[Any], draws: int, seed: int) -> dict[str, Any]:
    """Empirical coverage and mean size of a conformal model's sets on its context's (clean)
    samples, overall and per availability pattern (each with the threshold it used); with
    ``corruptions``, also on the corrupted samples of every draw (the draws
    :func:`omnifuse.evaluation.evaluate.evaluate_bundle` scores), pooled."""
    from omnifuse.data.corrupt import apply_corruptions  # deferred: keeps `omnifuse --help` fast (torch)
    from omnifuse.serving.set_answers import threshold_source  # deferred: keeps `omnifuse --help` fast (Lightning)
    from omnifuse.uncertainty.conformal import set_coverage  # deferred: keeps `omnifuse --help` fast

    conformal = fitted.conformal
    clean = fitted.context.dataset

    def measured(sets: np.ndarray, y: np.ndarray, patterns: np.ndarray) -> dict[str, Any]:
        summary = set_coverage(sets, y, patterns, class_names=clean.class_names)
        for name, cell in summary["patterns"].items():
            stored = conformal.patterns.get(name)
            cell["threshold"] = float(conformal.quantile if stored is None else stored["quantile"])
            cell["threshold_source"] = threshold_source(conformal, name)
            if conformal.by_class:
                cell["threshold"] = None
                cell["class_thresholds"] = dict(
                    zip(clean.class_names, conformal.class_thresholds([name], 1)[0].tolist())
                )
        return summary

    patterns = clean.pattern_names()
    document: dict[str, Any] = {
        "coverage_target": conformal.coverage,
        "score": "lac (1 - probability of the class)",
        "thresholds": "per availability pattern"
        + (" and class" if conformal.by_class else "")
        + ", calibrated on the run's validation samples (pattern: the pattern's own; masked: those with "
        "its modalities, the others hidden; pooled: all of them, where a pattern had too few either way)",
        "clean": measured(conformal.predict_sets(probs, patterns), clean.y, patterns),
        "corrupted": None,
    }
    if corruptions:
        sets, ys, pats = [], [], []
        for draw in range(draws):
            data = apply_corruptions(clean, corruptions, np.random.default_rng([seed, draw]))
            data = data.subset(np.flatnonzero(data.mask.any(axis=1)))
            sets.append(fitted.on_samples(data).predict_sets(np.arange(len(data))))
            ys.append(data.y)
            pats.append(data.pattern_names())
        document["corrupted"] = {
            **measured(np.concatenate(sets), np.concatenate(ys), np.concatenate(pats)),
            "draws": draws,
            "note": "the samples of every draw pooled (n counts each sample once per draw)",
        }
    return document


def print_conformal(document: dict[str, Any]) -> None:
    """Coverage and mean set size, overall then per availability pattern."""

    def line(what: str, cell: dict[str, Any]) -> str:
        return f"{what}: coverage {cell['coverage']:.3f}, mean set size {cell['mean_size']:.2f} (n={cell['n']})"

    for name in ("clean", "corrupted"):
        summary = document.get(name)
        if summary is None:
            continue
        where = "" if document.get("corrupted") is None else f" ({name})"
        console.print(
            line(f"conformal sets{where} at {document['coverage_target']:g} target", summary), soft_wrap=False
        )
        for pattern, cell in summary["patterns"].items():
            source = SOURCE_WORDS[cell["threshold_source"]]
            value = (
                f"{cell['threshold']:.3f}"
                if cell["threshold"] is not None
                else "by class " + ", ".join(f"{c} {q:.3f}" for c, q in cell["class_thresholds"].items())
            )
            console.print("  " + escape(line(pattern, cell) + f", {source} {value}"), soft_wrap=False)
        per_class = ", ".join(f"{c} {v['coverage']:.3f} (n={v['n']})" for c, v in summary["classes"].items())
        console.print("  " + escape(f"coverage per true class: {per_class}"), soft_wrap=False)


#: How the console names a threshold's source.
SOURCE_WORDS = {
    "pattern": "its own threshold",
    "masked": "its own threshold (masked validation samples)",
    "pooled": "the pooled threshold",
}


def print_decisions(decisions: dict[str, Any]) -> None:
    """The operating point's metrics, and per subgroup AUROC and sensitivity (survival: the
    C-index), with intervals."""

    def cell(m: dict[str, Any] | None) -> str:
        if m is None:
            return "n/a"
        f = [("nan" if v is None or v != v else f"{v:.3f}") for v in (m["value"], m["ci_low"], m["ci_high"])]
        return escape(f"{f[0]} [{f[1]}, {f[2]}]")  # "[nan, nan]" is not rich markup

    point = decisions.get("operating_point")
    if point is not None:
        where = "argmax" if point["threshold"] is None else f"threshold {point['threshold']:.3f}"
        console.print(
            f"at {where} ({point['source']}): " + ", ".join(f"{k} {cell(v)}" for k, v in point["metrics"].items()),
            soft_wrap=False,
        )
    audit = decisions.get("subgroups")
    task = (audit or {}).get("task")
    headline = "c_index" if task == "survival" else "auroc"
    for column in (audit or {}).get("columns", []):
        shown = {"binary": ("auroc", "sensitivity"), "survival": ("c_index",)}.get(task or "", ("auroc", "weighted_f1"))
        for sub in column["subgroups"]:
            console.print(
                escape(f"{column['column']}={sub['level']}")
                + f" (n={sub['n']}): "
                + ", ".join(f"{m} {cell(sub['metrics'].get(m))}" for m in shown),
                soft_wrap=False,
            )
        gap = column["gaps"].get(headline)
        fair = column.get("fairness") or {}
        console.print(
            f"{column['column']}: largest {'C-index' if headline == 'c_index' else 'AUROC'} gap "
            + ("n/a" if gap is None else f"{gap['gap']:.3f} ({gap['highest']} vs {gap['lowest']})")
            + (
                f", equalised-odds difference {fair['equalized_odds_difference']:.3f}"
                if fair.get("equalized_odds_difference") is not None
                else ""
            ),
            soft_wrap=False,
        )


def _warn_training_overlap(run: Path, data: Path, ds: Any, test: np.ndarray) -> None:
    """Warn when the evaluated samples include the run's own training/validation pool."""
    path = run / "run.json"
    if not path.exists():
        return
    info = json.loads(path.read_text())
    if info.get("data_resolved") != str(Path(data).resolve()):
        return
    pool = ds.split_indices(info["train_split"]) if info.get("train_split") else np.arange(len(ds))
    shared = len(np.intersect1d(pool, test))
    if shared:
        warnings.warn(
            f"{shared} of the {len(test)} evaluated samples were in the run's training/validation pool: "
            "these metrics are optimistic (use --test-split with a split the run did not train on)",
            stacklevel=1,
        )
