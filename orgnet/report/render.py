"""Write a built :class:`~orgnet.report.build.Report` in the requested formats.

=========  ==================================================================================
format     files
=========  ==================================================================================
html       ``report.html`` (self-contained, offline)
md         ``report.md`` (summary for a wiki or a chat post)
json       ``findings.json`` (always written: the next run's ``--previous`` reads it)
csv        ``tables/<analysis>.csv`` (formula-neutralised) and ``tables/findings.csv``
parquet    ``tables/<analysis>.parquet``
gexf       ``graph.gexf`` (collaboration graph; node name, unit, community, pagerank; weights)
graphml    ``graph.graphml`` (the same graph)
(diff)     ``diff.json`` whenever the report has a previous run
=========  ==================================================================================

Every file is deterministic for the same report: sorted keys and rows, no clock (the GEXF
``lastmodifieddate`` is the data's date), no compression.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import networkx as nx
import polars as pl

from orgnet.config import REPORT_FORMATS
from orgnet.exceptions import ConfigError
from orgnet.export import write_safe_csv
from orgnet.findings import write_findings
from orgnet.report.build import Report
from orgnet.report.html import render_html
from orgnet.report.markdown import render_markdown

__all__ = ["FORMATS", "parse_formats", "render_report"]

FORMATS: Final[tuple[str, ...]] = tuple(REPORT_FORMATS)


def parse_formats(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"html,md"`` or a list -> validated, de-duplicated formats in the canonical order."""
    items = value.split(",") if isinstance(value, str) else list(value)
    wanted = {v.strip().lower() for v in items if v.strip()}
    bad = sorted(wanted - set(FORMATS))
    if bad:
        raise ConfigError(f"--format: unknown format(s) {', '.join(bad)}; choose from "
                          f"{', '.join(FORMATS)}")
    if not wanted:
        raise ConfigError("--format: give at least one format")
    return tuple(f for f in FORMATS if f in wanted)


def _write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return path


def _csv_ready(df: pl.DataFrame) -> pl.DataFrame:
    """Lists become ``;``-joined strings (CSV has no lists)."""
    return df.with_columns(
        pl.col(c).cast(pl.List(pl.String)).list.join(";")
        for c, t in df.schema.items() if isinstance(t, pl.List)
    )


def _findings_frame(findings: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"id": f["id"], "kind": f["kind"], "severity": float(f["severity"]), "title": f["title"],
          "units": ";".join(str(u.get("name")) for u in f.get("units", [])),
          "people": ";".join(str(p.get("name")) for p in f.get("people", []))}
         for f in findings],
        schema={"id": pl.String, "kind": pl.String, "severity": pl.Float64, "title": pl.String,
                "units": pl.String, "people": pl.String})


def _gexf(graph: nx.Graph, date: str | None) -> str:
    buf = io.BytesIO()
    nx.write_gexf(graph, buf, encoding="utf-8", prettyprint=True)
    text = buf.getvalue().decode("utf-8")
    # networkx stamps today's date; use the data's date so equal input gives equal bytes.
    return re.sub(r'lastmodifieddate="[^"]*"', f'lastmodifieddate="{date or "1970-01-01"}"', text,
                  count=1)


def _graphml(graph: nx.Graph) -> str:
    return "\n".join(nx.generate_graphml(graph, encoding="utf-8", prettyprint=True)) + "\n"


def render_report(report: Report, out: str | Path, *,
                  formats: Iterable[str] | str = ("html", "md", "json", "csv")) -> dict[str, list[Path]]:
    """Write the report into ``out`` (created if needed).

    Parameters
    ----------
    report
        From :func:`~orgnet.report.build.build_report`.
    out
        Output folder.
    formats
        Any of html, md, json, csv, parquet, gexf, graphml (a list or ``"html,md"``).
        ``findings.json`` is always written; ``diff.json`` whenever there is a previous run.

    Returns
    -------
    dict[str, list[Path]]
        Paths written per format (plus ``"diff"``), in a stable order.
    """
    wanted = parse_formats(formats)
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    written: dict[str, list[Path]] = {}
    date = (report.data_up_to or "")[:10] or None
    written["json"] = [write_findings(target / "findings.json", report.document)]
    if report.diff is not None:
        written["diff"] = [_write_text(target / "diff.json", json.dumps(
            report.diff, indent=2, sort_keys=True, ensure_ascii=False) + "\n")]
    if "html" in wanted:
        written["html"] = [_write_text(target / "report.html", render_html(report))]
    if "md" in wanted:
        written["md"] = [_write_text(target / "report.md", render_markdown(report))]
    if "csv" in wanted:
        paths = [write_safe_csv(_findings_frame(report.findings), target / "tables" / "findings.csv")]
        for name in sorted(report.frames):
            paths.append(write_safe_csv(_csv_ready(report.frames[name]),
                                        target / "tables" / f"{name}.csv"))
        written["csv"] = paths
    if "parquet" in wanted:
        paths = []
        for name in sorted(report.frames):
            path = target / "tables" / f"{name}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            report.frames[name].write_parquet(path, compression="uncompressed", statistics=False)
            paths.append(path)
        written["parquet"] = paths
    # The graph is built on first use: not at all when neither file is asked for.
    if ("gexf" in wanted or "graphml" in wanted) and report.graph is not None:
        if "gexf" in wanted:
            written["gexf"] = [_write_text(target / "graph.gexf", _gexf(report.graph, date))]
        if "graphml" in wanted:
            written["graphml"] = [_write_text(target / "graph.graphml", _graphml(report.graph))]
    return written
