"""Rich tables printed by the commands."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from rich import box
from rich.markup import escape
from rich.table import Column, Table

from omnifuse.cli.common import console

if TYPE_CHECKING:
    from omnifuse.evaluation.documents import ResultsDocument, RobustnessDocument


def _name(header: str) -> Column:
    """A column of names: a name too long for the console folds onto more lines, never "…"."""
    return Column(header, overflow="fold")


def print_summary(summary: dict[str, Any], title: str) -> None:
    """Rich tables for a dataset summary (see MultimodalDataset.summary)."""
    console.print(
        f"[bold]{title}[/bold]: {summary['n_samples']} samples, {summary['n_groups']} groups, task {summary['task']}"
    )
    mods = Table(_name("modality"), "kind", "features", "present", "absent", title="modalities")
    for name, m in summary["modalities"].items():
        mods.add_row(name, m["kind"], str(m["n_features"]), str(m["n_present"]), str(m["n_absent"]))
    console.print(mods)
    patterns = Table(_name("available modalities"), "samples", title="availability patterns")
    for pattern, count in summary["patterns"].items():
        patterns.add_row(pattern, str(count))
    console.print(patterns)
    labels = Table(_name("outcome" if summary.get("survival") else "class"), "samples", title="labels")
    for name, count in summary["labels"].items():
        labels.add_row(name, str(count))
    console.print(labels)
    if summary.get("survival"):
        for line in survival_lines(summary["survival"]):
            console.print(line, highlight=False, soft_wrap=True)
    if summary["splits"]:
        splits = Table(_name("split"), "samples", title="splits")
        for name, count in summary["splits"].items():
            splits.add_row(name, str(count))
        console.print(splits)
    for line in _recording_lines(summary.get("info", {})):
        console.print(line, highlight=False, soft_wrap=True)


def survival_lines(survival: dict[str, Any]) -> list[str]:
    """A survival cohort's events, censoring, follow-up and Kaplan-Meier summary, in words."""

    def when(value: Any) -> str:
        return "not reached" if value is None else f"{float(value):g}{unit}"

    unit = f" {survival['time_unit']}" if survival.get("time_unit") else ""
    n_events, n_censored = int(survival.get("n_events", 0)), int(survival.get("n_censored", 0))
    share = survival.get("censored_share")
    lines = [
        f"survival: {n_events} events, {n_censored} censored"
        + (f" ({100 * float(share):.1f}% censored)" if share is not None else ""),
        f"follow-up: median {when(survival.get('median_follow_up'))}, longest {when(survival.get('max_time'))}; "
        f"median survival (Kaplan-Meier) {when(survival.get('median_survival'))}",
    ]
    points = survival.get("kaplan_meier") or []
    if points:
        lines.append(
            "Kaplan-Meier survival at the quartiles of the event times: "
            + ", ".join(f"S({when(p.get('time'))}) = {float(p.get('survival')):.3f}" for p in points)
        )
    return lines


def _recording_lines(info: dict[str, Any]) -> list[str]:
    """For sleep folders: the channels picked and what the label steps did to the epochs."""
    lines = []
    channels: dict[str, Counter[str]] = {}
    for picked in (info.get("channels") or {}).values():
        for modality, label in picked.items():
            channels.setdefault(modality, Counter())[label] += 1
    if channels:
        n = len(info["channels"])
        lines.append("channels: " + "; ".join(
            f"{m} " + ", ".join(f"'{label}'" + (f" ({k} of {n} nights)" if k < n else "") for label, k in c.most_common())
            for m, c in channels.items()
        ))  # fmt: skip
    epochs = [e for e in (info.get("epochs") or {}).values() if e]
    if epochs:
        total = {k: sum(e.get(k, 0) for e in epochs) for k in ("grid", "movement", "unscored", "wake_trimmed", "kept")}
        lines.append(
            f"epochs (30 s): {total['grid']} in {len(epochs)} night(s); dropped {total['movement']} movement, "
            f"{total['unscored']} unscored, {total['wake_trimmed']} edge wake; kept {total['kept']}"
        )
    return lines


BENCHMARK_COLUMNS = ("auroc", "auprc", "macro_f1", "kappa", "brier", "ece")
#: The columns of a survival benchmark: Harrell's C, Uno's C, mean time-dependent AUC, integrated Brier score.
SURVIVAL_COLUMNS = ("c_index", "uno_c", "time_auc", "ibs")
#: Conformal set columns, shown when a method has them (``--set conformal=0.9``).
SET_COLUMNS = ("coverage", "set_size")
#: Short headers of the compact layout (a narrow terminal or a pipe: 80 columns).
SHORT_HEADERS = {
    "auroc": "AUROC", "auprc": "AUPRC", "macro_f1": "F1", "kappa": "kappa", "brier": "Brier", "ece": "ECE",
    "coverage": "cover", "set_size": "size",
    "c_index": "C", "uno_c": "Uno C", "time_auc": "tAUC", "ibs": "IBS",
}  # fmt: skip
CAPTIONS = {
    "survival": "mean, then ± half-width of the 95% interval; C: Harrell's C-index, tAUC: mean "
    "time-dependent AUC, IBS: integrated Brier score (lower is better)",
}


def benchmark_columns(task: str) -> tuple[str, ...]:
    """The metrics a benchmark table shows for ``task``."""
    return SURVIVAL_COLUMNS if task == "survival" else BENCHMARK_COLUMNS


def print_benchmark(results: ResultsDocument, sort_by: str | None = None) -> None:
    """One row per method: mean ± half-width of the 95% interval per metric, time, parameters.

    Rows are sorted best first by ``sort_by`` (default: the task's headline metric, ``c_index``
    for survival, ``auroc`` otherwise; methods without a value last, in their order).
    Every number is printed whole: when the one-line layout is wider than the console, each
    cell puts its interval under its mean (short headers); when even that does not fit,
    each method gets its own lines.
    """
    from omnifuse.evaluation.survival_metrics import headline_metric  # deferred: keeps `omnifuse --help` fast (torch)

    columns = benchmark_columns(results.task)
    columns += tuple(m for m in SET_COLUMNS if any(m in method.metrics for method in results.methods.values()))
    protocol = results.protocol
    split = f" {protocol.folds} folds" if protocol.type == "kfold" else f" test={protocol.test_split}"
    title = f"{results.dataset} — {protocol.type}{split}, {protocol.seeds} seed(s)"
    rows = _benchmark_rows(results, columns, sort_by or headline_metric(results.task))
    wide = Table(Column("method", no_wrap=True), *columns, "train s", "params", title=title)
    for name, cells, seconds, params in rows:
        wide.add_row(name, *(f"{mean} {half}".strip() for mean, half in cells), seconds, params)
    if _natural_width(wide) <= console.width:
        console.print(wide)
        return
    compact = Table(
        Column("method", no_wrap=True), *(Column(SHORT_HEADERS.get(m, m), no_wrap=True) for m in columns),
        Column("train s", justify="right"), Column("params", justify="right", no_wrap=True),
        title=title, caption=CAPTIONS.get(results.task, "mean, then ± half-width of the 95% interval; F1: macro-F1"),
        box=box.SIMPLE_HEAD, show_edge=False, padding=0,
    )  # fmt: skip
    for name, cells, seconds, params in rows:
        compact.add_row(name, *(f"{mean}\n{half}".rstrip() for mean, half in cells), seconds, params)
    if _natural_width(compact) <= console.width:
        console.print(compact)
        return
    console.print(f"[bold]{escape(title)}[/bold] (mean ± half-width of the 95% interval)")
    for name, cells, seconds, params in rows:
        metrics = ", ".join(f"{m} {mean} {half}".strip() for m, (mean, half) in zip(columns, cells))
        console.print(f"{escape(name)}: {metrics}; train {seconds} s, {params} parameters", soft_wrap=False)


def _natural_width(table: Table) -> int:
    """Columns a table takes when nothing is wrapped (rich clamps measurements to the console)."""
    return console.measure(table, options=console.options.update_width(10_000)).maximum


def _benchmark_rows(
    results: ResultsDocument, columns: tuple[str, ...], sort_by: str
) -> list[tuple[str, list[tuple[str, str]], str, str]]:
    """Per method (best ``sort_by`` first): name, (mean, "±half") per metric (the best in
    bold), train seconds, parameters."""
    best = {m: _best(results, m) for m in columns}
    rows = []
    for name in _sorted_methods(results, sort_by):
        method = results.methods[name]
        cells = []
        for metric in columns:
            m = method.metrics.get(metric)
            if m is None:
                cells.append(("–", ""))
                continue
            mean = "–" if m.mean is None else f"{m.mean:.3f}"
            interval = "" if m.ci_low is None or m.ci_high is None else f"±{(m.ci_high - m.ci_low) / 2:.3f}"
            if name == best[metric]:
                mean, interval = f"[bold]{mean}[/bold]", f"[bold]{interval}[/bold]" if interval else ""
            cells.append((mean, interval))
        seconds = "–" if method.train_seconds is None else f"{method.train_seconds:.1f}"
        rows.append((escape(name), cells, seconds, f"{method.n_params:,}"))
    return rows


def _sorted_methods(results: ResultsDocument, metric: str) -> list[str]:
    """Method names, best ``metric`` first; those without a value keep their order at the end."""
    from omnifuse.evaluation.survival_metrics import higher_is_better  # deferred: keeps `omnifuse --help` fast (torch)

    sign = -1.0 if higher_is_better(metric) else 1.0

    def key(item: tuple[int, str]) -> tuple[int, float, int]:
        k, name = item
        cell = results.methods[name].metrics.get(metric)
        mean = None if cell is None else cell.mean
        return (1, 0.0, k) if mean is None else (0, sign * mean, k)

    return [name for _, name in sorted(enumerate(results.methods), key=key)]


def _best(results: ResultsDocument, metric: str) -> str | None:
    if metric == "coverage":  # a target, not a direction
        return None
    lower = metric in ("brier", "ece", "ibs", "set_size")
    scored = [
        (mean, name)
        for name, m in results.methods.items()
        if metric in m.metrics and (mean := m.metrics[metric].mean) is not None
    ]
    if not scored:
        return None
    return (min if lower else max)(scored)[1]


def print_robustness(doc: RobustnessDocument) -> None:
    """The robustness summary in the task's headline metric (AUROC; Harrell's C for survival):
    clean score, relative and effective robustness, worst pattern."""
    from omnifuse.evaluation.survival_metrics import headline_metric  # deferred: keeps `omnifuse --help` fast (torch)

    metric = headline_metric(doc.task)

    def number(value: float | None, signed: bool = False) -> str:
        return "–" if value is None else f"{value:+.3f}" if signed else f"{value:.3f}"

    def mean(cell: dict[str, Any]) -> float | None:
        stat = cell.get(metric)
        return None if stat is None else stat.mean

    effective = f"effective vs {doc.baseline}" if doc.baseline else "effective"
    table = Table(
        Column("method", overflow="fold"),
        f"clean {metric}",
        "relative robustness",
        Column(effective, overflow="fold"),
        Column("worst pattern", overflow="fold"),
        title=f"robustness ({metric}; areas over missing rates and noise levels)",
    )
    for name, m in doc.methods.items():
        clean = mean(m.clean)
        rr = m.relative_robustness.overall.get(metric)
        er = m.effective_robustness.overall.get(metric) if m.effective_robustness else None
        scored = [(value, k) for k, v in m.patterns.items() if (value := mean(v)) is not None]
        worst = min(scored)[1] + f" ({min(scored)[0]:.3f})" if scored else "–"
        table.add_row(name, number(clean), number(rr), number(er, signed=True), worst)
    console.print(table)
    print_conformal_robustness(doc)


def print_conformal_robustness(doc: RobustnessDocument) -> None:
    """Coverage and mean set size of the methods with conformal sets: clean, at the highest
    missing rate of the "any" sweep, and on the availability pattern covered least
    (nothing when no method has sets)."""
    methods = {name: m for name, m in doc.methods.items() if m.conformal is not None}
    if not methods:
        return

    def pair(cell: dict[str, Any] | None) -> str:
        cov, size = ((cell or {}).get(k) for k in ("coverage", "set_size"))
        if cov is None or cov.mean is None:
            return "–"
        text = f"{cov.mean:.3f}"
        if cov.ci_low is not None and cov.ci_high is not None:
            text += f" [{cov.ci_low:.3f}, {cov.ci_high:.3f}]"
        return text + (f" / {size.mean:.2f}" if size is not None and size.mean is not None else "")

    rate = max(doc.levels.missing) if doc.levels.missing else 0.0
    table = Table(
        Column("method", overflow="fold"),
        "target",
        "clean",
        f"missing any {rate:g}",
        Column("least covered pattern", overflow="fold"),
        Column("largest sets pattern", overflow="fold"),
        title="conformal sets: coverage [95% interval] / mean set size",
    )
    for name, m in methods.items():
        curve = m.missing.get("any", {})
        highest = curve.get(max(curve, key=float)) if curve else None
        covered = {p: v for p, c in m.patterns.items() if (v := _mean_of(c, "coverage")) is not None}
        sizes = {p: v for p, c in m.patterns.items() if (v := _mean_of(c, "set_size")) is not None}
        least = min(covered, key=covered.__getitem__, default=None)
        largest = max(sizes, key=sizes.__getitem__, default=None)
        table.add_row(
            escape(name),
            f"{m.conformal:g}",
            escape(pair(m.clean)),
            escape(pair(highest)),
            "–" if least is None else escape(f"{least}: {pair(m.patterns[least])}"),
            "–" if largest is None else escape(f"{largest}: {pair(m.patterns[largest])}"),
        )
    console.print(table)


def _mean_of(cell: dict[str, Any], metric: str) -> float | None:
    stat = cell.get(metric)
    return None if stat is None else stat.mean


def _interval(summary: Any) -> str:
    def f(x: float | None) -> str:
        return "nan" if x is None else f"{x:.3f}"

    return escape(f"{f(summary.mean)} [{f(summary.ci_low)}, {f(summary.ci_high)}]")


def print_operating_points(results: ResultsDocument) -> None:
    """Per method, one line of the operating-point metrics (mean [95% interval]); nothing
    when the results have none (survival, multilabel, older files)."""
    for name, method in results.methods.items():
        point = method.operating_point
        if point is None:
            continue
        if point.rule is None:
            where = "argmax"
        else:
            chosen = [t for t in point.thresholds if t is not None]
            where = f"{point.rule} on validation, threshold " + (
                f"{min(chosen):.3f}-{max(chosen):.3f}"
                if len(set(chosen)) > 1
                else f"{chosen[0]:.3f}"
                if chosen
                else "?"
            )
        metrics = ", ".join(f"{m} {_interval(s)}" for m, s in point.metrics.items())
        console.print(f"{escape(name)} at {where}: {metrics}", soft_wrap=False)


def print_subgroup_benchmark(results: ResultsDocument) -> None:
    """Per method and subgroup column, one line per subgroup (n, the headline metric and, for
    binary tasks, sensitivity and specificity, mean [95% interval]), then the largest gap of
    the headline metric and the equalised-odds difference; nothing without a subgroup audit."""
    headline = "c_index" if results.task == "survival" else "auroc"
    shown = (headline, "sensitivity", "specificity") if results.task == "binary" else (headline,)
    for name, method in results.methods.items():
        audit = method.subgroups
        if audit is None:
            continue
        for column in audit.columns:
            for sub in column.subgroups:
                cells = ", ".join(f"{m} {_interval(sub.metrics[m])}" for m in shown if m in sub.metrics)
                console.print(escape(f"{name} {column.column}={sub.level}") + f" (n={sub.n}): {cells}", soft_wrap=False)
            gap = column.gaps.get(headline)
            eo = column.equalized_odds_difference
            console.print(
                escape(f"{name} {column.column}: largest {headline} gap ")
                + (
                    "n/a"
                    if gap is None or gap.gap is None
                    else escape(f"{gap.gap:.3f} ({gap.highest} vs {gap.lowest})")
                )
                + ("" if eo is None or eo.mean is None else f", equalised-odds difference {_interval(eo)}"),
                soft_wrap=False,
            )
