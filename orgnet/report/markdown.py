"""A Markdown summary fit for a wiki page or a chat post.

Key figures, what changed since the previous run, and the top findings with their severity. Every
user-controlled string goes through :func:`orgnet.report._text.md_text` (links, emphasis, HTML and
table pipes made inert).
"""

from __future__ import annotations

from orgnet.report._text import md_cell, md_text
from orgnet.report.build import Report

__all__ = ["render_markdown"]


def _finding_rows(items: list[dict[str, object]], *, with_before: bool = False) -> list[str]:
    head = "| severity | " + ("before | " if with_before else "") + "kind | finding |"
    sep = "|---:|" + ("---:|" if with_before else "") + "---|---|"
    rows = [head, sep]
    for f in items:
        sev = f"{float(f.get('severity') or 0):.2f}"  # type: ignore[arg-type]
        before = (f" {float(f.get('previous_severity') or 0):.2f} |"  # type: ignore[arg-type]
                  if with_before else "")
        rows.append(f"| {sev} |{before} {md_cell(str(f.get('kind')).replace('_', ' '))} | "
                    f"{md_cell(f.get('title'))} |")
    return rows


def render_markdown(report: Report) -> str:
    """The Markdown summary (a string ending with a newline)."""
    w = report.window
    lines = ["# orgnet report", ""]
    span = (f"{w.get('since') or 'start'} to {w.get('until') or 'end'}"
            if w.get("since") or w.get("until") else "all data")
    lines.append(md_text(
        f"Window: {span} (latest event {report.data_up_to or 'none'})"
        + (f"; generated {report.generated_at}" if report.generated_at else "") + "."))
    lines += ["", "## Key figures", ""]
    lines += [f"- **{md_text(k)}:** {md_text(v)}" for k, v in report.headline]
    for note in report.notes:
        lines += ["", f"> {md_text(note)}"]
    d = report.diff
    if d is not None:
        c = d["counts"]
        lines += ["", "## Changes since the previous run", "",
                  md_text(f"{c['new']} new, {c['worse']} worse (severity up by at least "
                          f"{d['worse_by']:.1f}), {c['resolved']} resolved, {c['unchanged']} "
                          "unchanged.")]
        for key, title in (("new", "New"), ("worse", "Worse"), ("resolved", "Resolved")):
            if d[key]:
                lines += ["", f"### {title}", "", *_finding_rows(d[key], with_before=key == "worse")]
    shown = report.shown_findings()
    lines += ["", "## Top findings", ""]
    if shown:
        status = d is not None
        rows = ["| # | severity | kind | finding |" + (" since last run |" if status else ""),
                "|---:|---:|---|---|" + ("---|" if status else "")]
        for i, f in enumerate(shown, start=1):
            rows.append(f"| {i} | {float(f['severity']):.2f} | "
                        f"{md_cell(str(f['kind']).replace('_', ' '))} | {md_cell(f['title'])} |"
                        + (f" {md_cell(report.status(f['id']))} |" if status else ""))
        lines += rows
        rest = len(report.findings) - len(shown)
        if rest > 0:
            lines += ["", md_text(f"{rest} more finding(s) are in findings.json.")]
    else:
        lines.append("No findings in this window.")
    lines += ["", md_text("Full report: report.html (self-contained, opens offline). Data: "
                          "findings.json, tables/, graph.gexf, graph.graphml."), ""]
    return "\n".join(lines)
