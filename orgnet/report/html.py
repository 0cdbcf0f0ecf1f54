"""A self-contained, offline HTML report.

* plotly.js is inlined **once** (one ``<script>`` before the first figure); every figure is a
  ``div`` with a stable id (``to_html(div_id=...)``, ``include_plotlyjs=False``).
* No network: no CDN, no web fonts (system font stack), no external images, and a
  Content-Security-Policy (``default-src 'none'``) so a browser refuses any request anyway.
* Every user-controlled string is HTML-escaped (:func:`orgnet.report._text.html_text`); figure text is
  escaped by :mod:`orgnet.viz.charts`.
* Deterministic: no clock, stable ids, sorted content.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any, Final

import plotly.graph_objects as go

from orgnet import __version__
from orgnet.report._text import fmt, html_text
from orgnet.report.build import Report, Section, Table

__all__ = ["CSP", "render_html"]

#: No fetch, frame, font, image or connection to anywhere; inline scripts and styles only.
CSP: Final = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
              "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
              "connect-src 'none'; worker-src blob:; base-uri 'none'; form-action 'none'")

_PLOTLY_CONFIG: Final = {
    "displaylogo": False, "responsive": True, "showSendToCloud": False,
    "modeBarButtonsToRemove": ["sendDataToCloud"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
}

_CSS: Final = """
:root { --fg:#1b1f24; --muted:#57606a; --line:#d0d7de; --bg:#ffffff; --soft:#f6f8fa;
        --high:#D55E00; --med:#E69F00; --low:#56B4E9; --new:#0072B2; --ok:#009E73; }
* { box-sizing: border-box; }
body { margin:0; color:var(--fg); background:var(--bg);
       font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { padding:24px 32px 12px; border-bottom:1px solid var(--line); }
header h1 { margin:0 0 4px; font-size:24px; }
header p { margin:0; color:var(--muted); }
nav { padding:8px 32px; border-bottom:1px solid var(--line); background:var(--soft);
      position:sticky; top:0; z-index:10; }
nav a { margin-right:14px; color:var(--new); text-decoration:none; white-space:nowrap; }
main { padding:8px 32px 48px; max-width:1280px; }
section { margin-top:28px; }
h2 { font-size:20px; border-bottom:1px solid var(--line); padding-bottom:4px; }
h3 { font-size:15px; margin:18px 0 6px; }
.intro, .note { color:var(--muted); }
.notice { background:#fff8e6; border-left:4px solid var(--med); padding:6px 12px; margin:8px 0; }
.kpis { display:grid; grid-template-columns:repeat(auto-fill, minmax(230px, 1fr)); gap:10px; }
.kpi { border:1px solid var(--line); border-radius:6px; padding:8px 12px; background:var(--soft); }
.kpi .label { color:var(--muted); font-size:12px; }
.kpi .value { font-size:17px; font-weight:600; overflow-wrap:anywhere; }
.figs { display:grid; grid-template-columns:repeat(auto-fit, minmax(480px, 1fr)); gap:16px; }
.fig { border:1px solid var(--line); border-radius:6px; padding:6px; min-width:0; }
.fig.wide { grid-column:1 / -1; }
table { border-collapse:collapse; margin:6px 0 4px; font-size:13px; max-width:100%; }
th, td { border:1px solid var(--line); padding:4px 8px; text-align:left; vertical-align:top;
         overflow-wrap:anywhere; }
th { background:var(--soft); white-space:nowrap; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.scroll { overflow-x:auto; }
.finding { border:1px solid var(--line); border-left:6px solid var(--low); border-radius:6px;
           padding:8px 14px; margin:12px 0; }
.finding.high { border-left-color:var(--high); }
.finding.medium { border-left-color:var(--med); }
.finding h3 { margin:4px 0; }
.badge { display:inline-block; font-size:11px; padding:1px 7px; border-radius:10px;
         border:1px solid var(--line); margin-right:6px; background:var(--soft); }
.badge.sev-high { background:#fbe3d6; border-color:var(--high); }
.badge.sev-medium { background:#fcefd2; border-color:var(--med); }
.badge.new { background:#dbeaf6; border-color:var(--new); font-weight:600; }
.badge.worse { background:#fbe3d6; border-color:var(--high); font-weight:600; }
.meta { color:var(--muted); font-size:12px; }
details summary { cursor:pointer; color:var(--muted); }
footer { padding:16px 32px; color:var(--muted); border-top:1px solid var(--line); font-size:12px; }
"""


@cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs()
    # The script is inline: a literal closing tag inside it would end the element early.
    return js.replace("</script", "<\\/script")


def _level(severity: float) -> str:
    return "high" if severity >= 0.7 else "medium" if severity >= 0.4 else "low"


def _is_num(cell: str) -> bool:
    probe = cell.replace(",", "").replace("%", "").replace(".", "", 1).lstrip("-")
    return bool(probe) and probe.isdigit()


def _table(t: Table) -> str:
    if not t.rows:
        return (f"<h3>{html_text(t.title)}</h3><p class=\"note\">none</p>")
    head = "".join(f"<th>{html_text(c)}</th>" for c in t.columns)
    body = "".join(
        "<tr>" + "".join(f"<td class=\"num\">{html_text(c)}</td>" if _is_num(c)
                         else f"<td>{html_text(c)}</td>" for c in row) + "</tr>"
        for row in t.rows)
    note = f"<p class=\"note\">{html_text(t.note)}</p>" if t.note else ""
    return (f"<h3>{html_text(t.title)}</h3><div class=\"scroll\"><table><thead><tr>{head}</tr>"
            f"</thead><tbody>{body}</tbody></table></div>{note}")


#: Figures given a whole row (many categories on both axes).
_WIDE: Final = frozenset({"fig-unit-matrix", "fig-sankey", "fig-trends"})


def _figure(fig_id: str, fig: go.Figure) -> str:
    div = fig.to_html(full_html=False, include_plotlyjs=False, div_id=fig_id,
                      config=_PLOTLY_CONFIG, default_width="100%")
    wide = " wide" if fig_id in _WIDE else ""
    return f"<div class=\"fig{wide}\">{div}</div>"


def _evidence(evidence: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{html_text(k.replace('_', ' '))}</th><td>{html_text(fmt(v))}</td></tr>"
                   for k, v in sorted(evidence.items()))
    return f"<table class=\"evidence\"><tbody>{rows}</tbody></table>" if rows else ""


def _finding(f: dict[str, Any], status: str) -> str:
    sev = float(f["severity"])
    level = _level(sev)
    badges = [f"<span class=\"badge sev-{level}\">severity {sev:.2f}</span>",
              f"<span class=\"badge\">{html_text(str(f['kind']).replace('_', ' '))}</span>"]
    if status:
        badges.append(f"<span class=\"badge {status}\">{status}</span>")
    who = []
    if f.get("units"):
        who.append("units: " + ", ".join(html_text(u.get("name")) for u in f["units"]))
    if f.get("people"):
        who.append("people: " + ", ".join(html_text(p.get("name")) for p in f["people"]))
    meta = " · ".join([*who, f"id {html_text(f['id'])}"])
    return (f"<article class=\"finding {level}\" id=\"finding-{html_text(f['id'])}\">"
            f"<div>{''.join(badges)}</div><h3>{html_text(f['title'])}</h3>"
            f"<p class=\"meta\">{meta}</p>"
            f"<details><summary>evidence</summary>{_evidence(f.get('evidence') or {})}</details>"
            "</article>")


def _diff(report: Report) -> str:
    d = report.diff
    if d is None:
        return ""
    prev = d.get("previous") or {}
    when = prev.get("data_up_to") or prev.get("generated_at") or "unknown"
    parts = [f"<section id=\"changes\"><h2>Changes since the previous run</h2>"
             f"<p class=\"intro\">Previous run: data up to {html_text(when)}. "
             f"{d['counts']['new']} new, {d['counts']['worse']} worse (severity up by at least "
             f"{d['worse_by']:.1f}), {d['counts']['resolved']} resolved, "
             f"{d['counts']['unchanged']} unchanged.</p>"]
    for key, title in (("new", "New"), ("worse", "Worse"), ("resolved", "Resolved")):
        items = d[key]
        if not items:
            parts.append(f"<h3>{title}</h3><p class=\"note\">none</p>")
            continue
        rows = "".join(
            "<tr><td class=\"num\">" + html_text(f"{float(e['severity'] or 0):.2f}") + "</td>"
            + ("<td class=\"num\">" + html_text(f"{float(e['previous_severity'] or 0):.2f}")
               + "</td>" if key == "worse" else "")
            + f"<td>{html_text(str(e['kind']).replace('_', ' '))}</td>"
            f"<td>{html_text(e['title'])}</td></tr>" for e in items)
        head = ("<th>severity</th>" + ("<th>before</th>" if key == "worse" else "")
                + "<th>kind</th><th>finding</th>")
        parts.append(f"<h3>{title}</h3><div class=\"scroll\"><table><thead><tr>{head}</tr></thead>"
                     f"<tbody>{rows}</tbody></table></div>")
    parts.append("</section>")
    return "".join(parts)


def _section(report: Report, s: Section) -> str:
    out = [f"<section id=\"{s.key}\"><h2>{html_text(s.title)}</h2>"]
    if s.intro:
        out.append(f"<p class=\"intro\">{html_text(s.intro)}</p>")
    if s.key == "overview":
        out.append("<div class=\"kpis\">" + "".join(
            f"<div class=\"kpi\"><div class=\"label\">{html_text(k)}</div>"
            f"<div class=\"value\">{html_text(v)}</div></div>" for k, v in report.headline)
            + "</div>")
        out.extend(f"<p class=\"notice\">{html_text(n)}</p>" for n in report.notes)
    out.extend(f"<p class=\"notice\">{html_text(n)}</p>" for n in s.notes)
    if s.key == "findings":
        shown = report.shown_findings()
        if not shown:
            out.append("<p class=\"note\">No findings in this window.</p>")
        out.extend(_finding(f, report.status(f["id"])) for f in shown)
        rest = len(report.findings) - len(shown)
        if rest > 0:
            out.append(f"<p class=\"note\">{rest} more finding(s) below the configured severity "
                       "or count are in findings.json.</p>")
    if s.figures:
        out.append("<div class=\"figs\">" + "".join(
            _figure(fid, report.figures[fid]) for fid in s.figures if fid in report.figures)
            + "</div>")
    out.extend(_table(t) for t in s.tables)
    out.append("</section>")
    return "".join(out)


def _nav(items: Iterable[tuple[str, str]]) -> str:
    return "<nav>" + "".join(f"<a href=\"#{k}\">{html_text(t)}</a>" for k, t in items) + "</nav>"


def render_html(report: Report) -> str:
    """The report as one self-contained HTML document (a string)."""
    w = report.window
    subtitle = (f"Window {w.get('since') or 'start of data'} to {w.get('until') or 'end of data'}"
                f" · data up to {report.data_up_to or 'no events'} · compared with units of kind "
                f"{report.unit_kind}")
    if report.generated_at:
        subtitle += f" · generated {report.generated_at}"
    nav_items: list[tuple[str, str]] = []
    body: list[str] = []
    changes = _diff(report)
    for s in report.sections:
        if changes and s.key != "overview":
            nav_items.append(("changes", "Changes"))
            body.append(changes)
            changes = ""
        nav_items.append((s.key, s.title))
        body.append(_section(report, s))
    if changes:
        nav_items.append(("changes", "Changes"))
        body.append(changes)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        "<title>orgnet report</title>\n"
        f"<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<header><h1>orgnet report</h1><p>{html_text(subtitle)}</p></header>\n"
        f"{_nav(nav_items)}\n"
        "<script>window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n"
        f"<script>{_plotly_js()}</script>\n"
        f"<main>\n{chr(10).join(body)}\n</main>\n"
        f"<footer>orgnet {html_text(__version__)} · a self-contained file: it loads nothing from "
        "the network. Data files: findings.json, tables/*.csv and *.parquet, graph.gexf, "
        "graph.graphml (when exported).</footer>\n</body>\n</html>\n"
    )
