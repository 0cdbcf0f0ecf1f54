"""Reports: build once, render many (HTML, Markdown, findings.json, CSV, Parquet, GEXF, GraphML).

::

    from orgnet.report import build_report, render_report

    report = build_report("orgnet-workspace", previous="reports/last-week")
    render_report(report, "reports/this-week", formats=["html", "md", "json", "csv"])
    report.new_findings()       # new since last week (every finding without a previous run)

:func:`build_report` runs the analyses once, applies the privacy settings of ``orgnet.toml``
(``min_group_size``, ``aggregate_only``; pseudonyms are applied at import), builds the figures with
:mod:`orgnet.viz` and, given the previous run, the diff (:func:`diff_findings`).
:func:`render_report` writes the files. Output is deterministic for the same input: no clock, stable
ordering, stable figure ids. See ``docs/report.md`` and ``docs/automation.md``.
"""

from __future__ import annotations

from orgnet.report.build import Report, Section, Table, build_report
from orgnet.report.diff import WORSE_BY, diff_findings, load_previous
from orgnet.report.html import render_html
from orgnet.report.markdown import render_markdown
from orgnet.report.render import FORMATS, parse_formats, render_report

__all__ = [
    "FORMATS",
    "WORSE_BY",
    "Report",
    "Section",
    "Table",
    "build_report",
    "diff_findings",
    "load_previous",
    "parse_formats",
    "render_html",
    "render_markdown",
    "render_report",
]
