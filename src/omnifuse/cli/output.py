"""Rich tables printed by the commands."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.table import Column, Table

from omnifuse.cli.common import console


def print_summary(summary: dict[str, Any], title: str) -> None:
    """Rich tables for a dataset summary (see MultimodalDataset.summary)."""
    console.print(f"[bold]{title}[/bold]: {summary['n_samples']} samples, "
                  f"{summary['n_groups']} groups, task {summary['task']}")
    mods = Table("modality", "kind", "features", "present", "absent", title="modalities")
    for name, m in summary["modalities"].items():
        mods.add_row(name, m["kind"], str(m["n_features"]), str(m["n_present"]), str(m["n_absent"]))
    console.print(mods)
    patterns = Table("available modalities", "samples", title="availability patterns")
    for pattern, count in summary["patterns"].items():
        patterns.add_row(pattern, str(count))
    console.print(patterns)
    labels = Table("class", "samples", title="labels")
    for name, count in summary["labels"].items():
        labels.add_row(name, str(count))
    console.print(labels)
    if summary["splits"]:
        splits = Table("split", "samples", title="splits")
        for name, count in summary["splits"].items():
            splits.add_row(name, str(count))
        console.print(splits)
    for line in _recording_lines(summary.get("info", {})):
        console.print(line, highlight=False, soft_wrap=True)


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


def print_benchmark(results: dict[str, Any]) -> None:
    """One row per method: mean ± half-width of the 95% interval per metric, time, parameters."""
    protocol = results["protocol"]
    title = (f"{results['dataset']} — {protocol['type']}"
             + (f" {protocol.get('folds')} folds" if protocol["type"] == "kfold" else f" test={protocol['test_split']}")
             + f", {protocol['seeds']} seed(s)")
    table = Table(Column("method", no_wrap=True), *BENCHMARK_COLUMNS, "train s", "params", title=title)
    best = {m: _best(results, m) for m in BENCHMARK_COLUMNS}
    for name, method in results["methods"].items():
        cells = []
        for metric in BENCHMARK_COLUMNS:
            m = method["metrics"][metric]
            half = (m["ci_high"] - m["ci_low"]) / 2
            text = f"{m['mean']:.3f}" + (f" ±{half:.3f}" if half == half else "")
            cells.append(f"[bold]{text}[/bold]" if name == best[metric] else text)
        table.add_row(name, *cells, f"{method['train_seconds']:.1f}", f"{method['n_params']:,}")
    console.print(table)


def _best(results: dict[str, Any], metric: str) -> str | None:
    lower = metric in ("brier", "ece")
    scored = [(m["metrics"][metric]["mean"], name) for name, m in results["methods"].items()
              if m["metrics"][metric]["mean"] == m["metrics"][metric]["mean"]]
    if not scored:
        return None
    return (min if lower else max)(scored)[1]
