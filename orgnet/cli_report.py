"""The ``orgnet report`` command: a scheduled, self-contained report with a run-to-run diff.

Exit codes (for cron, systemd timers and CI):

* 0 - the report was written;
* 1 - a user error (no workspace, bad option, unreadable ``--previous``), printed as one line;
* 2 - the report was written, and ``--fail-on-severity X`` was given and at least one finding new
  since ``--previous`` (every finding when there is no previous run) has severity >= X.

``cli.py`` calls :func:`register` to add the command to the main app.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from orgnet.exceptions import ConfigError

__all__ = ["EXIT_NEW_FINDINGS", "register", "report_command"]

#: Exit status when ``--fail-on-severity`` trips.
EXIT_NEW_FINDINGS = 2

_console = Console()


def report_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for report.html, report.md, "
                                      "findings.json and the data files.")],
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="Workspace directory (default: $ORGNET_WORKSPACE, else "
        "./orgnet-workspace).", envvar="ORGNET_WORKSPACE", show_default=False)] = None,
    formats: Annotated[str | None, typer.Option(
        "--format", "-f", help="Comma-separated: html, md, json, csv, parquet, gexf, graphml "
        "(default: formats in orgnet.toml's report table, else html,md,json,csv). "
        "findings.json is always written.")] = None,
    since: Annotated[str | None, typer.Option(help="Only events at or after this date/time.")]
    = None,
    until: Annotated[str | None, typer.Option(help="Only events before this date/time.")] = None,
    previous: Annotated[Path | None, typer.Option(
        help="Folder (or findings.json) of the previous run: adds what is new, resolved or "
        "worse since then (diff.json, and in the HTML and Markdown).")] = None,
    config: Annotated[Path | None, typer.Option(
        "--config", help="orgnet.toml to use (default: the workspace's orgnet.toml).")] = None,
    unit_kind: Annotated[str | None, typer.Option(
        help="Formal level to compare with (default: orgnet.toml, else team).")] = None,
    fail_on_severity: Annotated[float | None, typer.Option(
        help="Exit 2 when a finding new since --previous (every finding without it) has at "
        "least this severity (0..1). The report is written either way.")] = None,
    generated_at: Annotated[str | None, typer.Option(
        help="Date-time to print as 'generated' (default: none, so equal data gives "
        "byte-identical files).")] = None,
) -> None:
    """Write a self-contained report (HTML, Markdown, data files) and compare with the last run."""
    from orgnet.cli import _datetime  # the CLI's one parser of date options (lazy: cli imports us)
    from orgnet.config import load_config
    from orgnet.dataset import Window
    from orgnet.exceptions import WorkspaceError
    from orgnet.report import build_report, parse_formats, render_report
    from orgnet.report._text import plain
    from orgnet.workspace import Workspace

    if fail_on_severity is not None and not 0.0 <= fail_on_severity <= 1.0:
        raise ConfigError(f"--fail-on-severity {fail_on_severity}: expected a number from 0 to 1")
    ws = Workspace(workspace)
    if not ws.exists():
        raise WorkspaceError(f"no workspace at {ws.path}: import something first, e.g. "
                             f"orgnet import orgchart hris.csv -w {ws.path}")
    cfg = load_config(config, workspace=ws.path)
    wanted = parse_formats(formats if formats is not None else cfg.report.formats)
    window = Window(_datetime(since, "--since") or Window.of(cfg.analysis.since).since,
                    _datetime(until, "--until") or Window.of(None, cfg.analysis.until).until)
    stamp = _datetime(generated_at, "--generated-at")
    started = time.perf_counter()
    report = build_report(ws, window=window, unit_kind=unit_kind, config=cfg, previous=previous,
                          generated_at=stamp)
    written = render_report(report, out, formats=wanted)
    n_files = sum(len(v) for v in written.values())
    _console.print(Text(f"{len(report.findings)} finding(s); wrote {n_files} file(s) to {out} "
                        f"in {time.perf_counter() - started:.1f} s"))
    if report.diff is not None:
        c = report.diff["counts"]
        _console.print(Text(f"since {previous}: {c['new']} new, {c['worse']} worse, "
                            f"{c['resolved']} resolved, {c['unchanged']} unchanged"))
    if fail_on_severity is not None:
        tripped = [f for f in report.new_findings() if f["severity"] >= fail_on_severity - 1e-9]
        if tripped:
            _console.print(Text(f"{len(tripped)} new finding(s) with severity >= "
                                f"{fail_on_severity:g}; exit {EXIT_NEW_FINDINGS}"))
            for f in tripped[:10]:
                _console.print(Text(f"  {f['severity']:.2f} {f['kind']}: {plain(f['title'])}"))
            raise typer.Exit(EXIT_NEW_FINDINGS)


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to ``app``."""
    app.command("report")(report_command)
