"""A self-contained HTML report of benchmark, robustness and per-method details.

Public API::

    from omnifuse.evaluation.report import build_report
    path = build_report(Path("demo-out"))        # writes demo-out/report.html

The report is a single file: plots are rendered with matplotlib (Agg) and embedded as
base64 PNG, styles are inline, and it needs neither network access nor JavaScript.
The robustness plots show ``robustness_table.DEFAULT_METRIC`` (AUROC; the C-index for
survival cohorts, whose details also give Kaplan-Meier curves by predicted risk).
"""

from omnifuse.evaluation.report.build import build_report

__all__ = ["build_report"]
