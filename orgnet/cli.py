"""The ``orgnet`` command line (typer + rich).

Exit codes: 0 success; 1 a user error (bad input, bad option, locked or broken workspace),
printed as one line without a traceback; 2 reserved for ``--fail-on-severity`` in scheduled runs;
anything else is a bug.
"""

from __future__ import annotations

import datetime as dt
import importlib
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from orgnet import __version__
from orgnet.exceptions import ConfigError, InputError, OrgnetError
from orgnet.importers._base import ImportResult, progress_hook
from orgnet.ingest import ImportSummary, already_imported, ingest
from orgnet.workspace import Workspace, file_sha256

__all__ = ["app", "main"]

app = typer.Typer(
    name="orgnet",
    help="Engineering organisation network analysis: import traces, compare the informal "
    "network with the org chart.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
import_app = typer.Typer(
    help="Import a source into the workspace: orgnet import SOURCE PATH [options].",
    no_args_is_help=True,
)
app.add_typer(import_app, name="import")

console = Console()
err_console = Console(stderr=True)

WorkspaceOpt = Annotated[
    Path | None,
    typer.Option("--workspace", "-w", help="Workspace directory (env ORGNET_WORKSPACE; "
                 "default ./orgnet-workspace).", envvar="ORGNET_WORKSPACE", show_default=False),
]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Fail (exit 1, nothing written) on any rejected, "
                       "repaired or flagged record.")
]
PseudoOpt = Annotated[
    bool, typer.Option("--pseudonymize", help="Replace every identity and name with an HMAC-SHA256 "
                       "pseudonym before writing (key from $ORGNET_PSEUDONYM_KEY or orgnet.toml "
                       "privacy.key_file); also on with privacy.pseudonymize in orgnet.toml.")
]
MapOpt = Annotated[
    Path | None, typer.Option("--reidentify-map", help="With pseudonymisation: add pseudonym -> "
                              "original rows to this CSV (outside the workspace; keep it safe).")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Re-read the file even if the same bytes were imported "
                       "with the same options (the import is still idempotent).")
]


def _version(value: bool) -> None:
    if value:
        console.print(f"orgnet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """orgnet: engineering organisation network analysis."""


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r}: expected a date YYYY-MM-DD") from None


def _datetime(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r}: expected YYYY-MM-DD or an ISO date-time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _window(since: str | None, until: str | None) -> dict[str, dt.datetime | None]:
    """The ``since``/``until`` importer options from the command-line strings."""
    return {"since": _datetime(since, "--since"), "until": _datetime(until, "--until")}


def _loader(module: str, function: str) -> Callable[..., ImportResult]:
    mod = importlib.import_module(module)
    fn: Callable[..., ImportResult] = getattr(mod, function)
    return fn


def run_import(
    workspace: Path | None,
    source_kind: str,
    path: Path,
    importer: Callable[..., ImportResult],
    options: dict[str, Any],
    *,
    strict: bool = False,
    force: bool = False,
    quiet: bool = False,
    pseudonymize: bool = False,
    reidentify_map: Path | None = None,
) -> ImportSummary | None:
    """Import ``path`` with ``importer`` into the workspace and print the summary.

    With pseudonymisation (``pseudonymize`` or ``privacy.pseudonymize`` in orgnet.toml) every
    identity and name is replaced before anything is written (:mod:`orgnet.privacy`); a workspace
    never mixes pseudonymised and plain imports, or two keys.

    Returns ``None`` when the same bytes were already imported with the same options.
    """
    from orgnet import privacy
    from orgnet.config import load_config

    if not path.exists():
        raise InputError("no such file or directory", file=str(path))
    ws = Workspace(workspace)
    cfg = load_config(workspace=ws.path)
    key = privacy.load_key(cfg, workspace=ws.path) if (
        pseudonymize or cfg.privacy.pseudonymize) else None
    if reidentify_map is not None and key is None:
        raise ConfigError("--reidentify-map needs pseudonymisation (--pseudonymize)")
    privacy.check_workspace_mode(ws, privacy.key_fingerprint(key) if key else None)
    log_options = {k: (str(v) if isinstance(v, Path | dt.date | dt.datetime) else v)
                   for k, v in options.items() if v is not None and v != {} and v is not False}
    if key:
        log_options["pseudonymize"] = True
    sha = file_sha256(path)
    if not force:
        previous = already_imported(ws, source_kind, sha, log_options)
        if previous is not None:
            if not quiet:
                console.print(
                    Text(f"{path}: unchanged since import {previous['import_id']} "
                         f"({previous['time']}); nothing to do (use --force to re-read)")
                )
            return None
    started = time.perf_counter()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
        console=err_console, transient=True, disable=quiet or not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(f"reading {path.name}", total=None)

        def tick(n: int) -> None:
            progress.update(task, description=f"reading {path.name}: {n:,} records")

        with progress_hook(tick):
            result = importer(path, **options)
        result.options = log_options
        mapping: dict[str, str] | None = {} if reidentify_map is not None else None
        if key:
            result = privacy.pseudonymize_result(result, key, reidentify=mapping)
        progress.update(task, description="resolving identities and writing the workspace")
        summary = ingest(ws, result, sha256=sha, strict=strict)
        if mapping and reidentify_map is not None:
            privacy.write_reidentify_map(mapping, reidentify_map, workspace=ws)
    if not quiet:
        _print_summary(summary, time.perf_counter() - started, ws)
    return summary


def _print_summary(summary: ImportSummary, seconds: float, ws: Workspace) -> None:
    c = summary.counts
    table = Table(title=Text(f"{summary.source_kind}: {summary.source_file}"), show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("records read", f"{c.read:,}")
    table.add_row("imported", f"{c.imported:,}")
    table.add_row("duplicate", f"{c.duplicate:,}")
    table.add_row("rejected", f"{c.rejected:,}")
    table.add_row("skipped", f"{c.skipped:,}")
    for reason, n in sorted(c.skipped_reasons.items()):
        table.add_row(Text(f"  {reason}"), f"{n:,}")
    if c.repaired or c.flagged:
        table.add_row("repaired (imported)", f"{c.repaired:,}")
        table.add_row("flagged (imported)", f"{c.flagged:,}")
    if c.events:
        table.add_row("events", f"{c.events:,}")
    for name, n in sorted(summary.rows_added.items()):
        table.add_row(f"new {name} rows", f"{n:,}")
    console.print(table)
    for note in summary.notes:
        console.print(Text(f"note: {note}"))
    if c.rejected or c.repaired or c.flagged:
        console.print(Text(f"{c.rejected + c.repaired + c.flagged} problem(s): "
                           f"orgnet rejects -w {ws.path} lists them with file, line and reason"))
    console.print(Text(f"{seconds:.1f} s; workspace {ws.path}"))


# -- import commands --------------------------------------------------------------------------


def _parse_columns(values: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        field, sep, header = item.partition("=")
        if not sep or not field.strip() or not header:
            raise ConfigError(f"--column {item!r}: expected FIELD=HEADER")
        out[field.strip()] = header
    return out


@import_app.command("orgchart")
def import_orgchart_cmd(
    path: Annotated[Path, typer.Argument(help="HRIS export or membership list (CSV, TSV, "
                                         "Parquet, JSON).")],
    workspace: WorkspaceOpt = None,
    column: Annotated[list[str] | None, typer.Option(
        "--column", help="Map a canonical field to a header, repeatable: "
        "--column employee_id=\"Employee #\".")] = None,
    shape: Annotated[str, typer.Option(help="hris, membership or auto.")] = "auto",
    as_of: Annotated[str | None, typer.Option(help="Date of a snapshot without effective "
                                              "dates (YYYY-MM-DD).")] = None,
    date_format: Annotated[str | None, typer.Option(help="strptime format of non-ISO dates, "
                                                    "e.g. %d.%m.%Y.")] = None,
    people: Annotated[Path | None, typer.Option(help="Membership lists: people file "
                                                "(github, github_id, name, email).")] = None,
    units: Annotated[Path | None, typer.Option(help="Membership lists: units file "
                                               "(team, kind, subteam_of).")] = None,
    unit_kind: Annotated[str, typer.Option(help="Membership lists: kind of the units.")] = "team",
    source_name: Annotated[str | None, typer.Option(help="Membership lists: name of this "
                                                    "formal structure.")] = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
    pseudonymize: PseudoOpt = False,
    reidentify_map: MapOpt = None,
) -> None:
    """Import an org chart (HRIS export, effective-dated or snapshot) or a membership list."""
    if shape not in ("auto", "hris", "membership"):
        raise ConfigError(f"--shape {shape!r}: expected auto, hris or membership")
    from orgnet.importers.orgchart import import_orgchart

    options: dict[str, Any] = {
        "columns": _parse_columns(column), "shape": shape, "as_of": _date(as_of, "--as-of"),
        "date_format": date_format, "people": people, "units": units, "unit_kind": unit_kind,
        "source_name": source_name,
    }
    run_import(workspace, "orgchart", path, import_orgchart, options, strict=strict, force=force,
               pseudonymize=pseudonymize, reidentify_map=reidentify_map)


@import_app.command("aliases")
def import_aliases_cmd(
    path: Annotated[Path, typer.Argument(help="CSV with columns person_id,source,handle.")],
    workspace: WorkspaceOpt = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
    pseudonymize: PseudoOpt = False,
    reidentify_map: MapOpt = None,
) -> None:
    """Import explicit identity links (person_id,source,handle)."""
    from orgnet.importers.aliases import import_aliases

    run_import(workspace, "aliases", path, import_aliases, {}, strict=strict, force=force,
               pseudonymize=pseudonymize, reidentify_map=reidentify_map)


SinceOpt = Annotated[str | None, typer.Option(help="Only events at or after this date/time.")]
UntilOpt = Annotated[str | None, typer.Option(help="Only events before this date/time.")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", min=1, help="Processes that read a large export (64 MB or more) in shards, "
    "merged in order: the same result as one process. Default: the usable cores, as many as "
    "the available memory holds at 2 GiB each.",
    show_default=False)]


def _sharded(target: str, workers: int | None) -> Callable[..., ImportResult]:
    """An importer that reads a large file in shards on ``workers`` processes (default:
    :func:`orgnet.pipeline.default_workers`); :func:`orgnet.pipeline.import_file`."""
    from orgnet.pipeline import default_workers, import_file

    n = workers or default_workers()

    def importer(path: Path, **options: Any) -> ImportResult:
        result: ImportResult = import_file(target, path, options, workers=n)
        return result

    return importer


@import_app.command("git")
def import_git_cmd(
    path: Annotated[Path, typer.Argument(help="A git repository, or a saved log "
                                         "(plain or .gz; see the README for the export command).")],
    workspace: WorkspaceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    mailmap: Annotated[Path | None, typer.Option(help="A .mailmap file.")] = None,
    repo_name: Annotated[str | None, typer.Option(help="Repository name (the container).")] = None,
    review_pattern: Annotated[str | None, typer.Option(
        help="Regex with a named group 'reviewer' applied to commit subjects, or 'bors'.")] = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
    pseudonymize: PseudoOpt = False,
    reidentify_map: MapOpt = None,
) -> None:
    """Import commits, co-authors and review trailers from git."""
    fn = _loader("orgnet.importers.git", "import_git")
    options = {**_window(since, until), "mailmap": mailmap, "repo_name": repo_name,
               "review_pattern": review_pattern}
    run_import(workspace, "git", path, fn, options, strict=strict, force=force,
               pseudonymize=pseudonymize, reidentify_map=reidentify_map)


def _review_command(source: str, help_text: str) -> None:
    def command(
        path: Annotated[Path, typer.Argument(help="The export file or directory.")],
        workspace: WorkspaceOpt = None,
        since: SinceOpt = None,
        until: UntilOpt = None,
        strict: StrictOpt = False,
        force: ForceOpt = False,
        pseudonymize: PseudoOpt = False,
        reidentify_map: MapOpt = None,
    ) -> None:
        fn = _loader(f"orgnet.importers.{source}", f"import_{source}")
        options = _window(since, until)
        run_import(workspace, source, path, fn, options, strict=strict, force=force,
                   pseudonymize=pseudonymize, reidentify_map=reidentify_map)

    command.__doc__ = help_text
    import_app.command(source)(command)


@import_app.command("github")
def import_github_cmd(
    path: Annotated[Path, typer.Argument(help="Perceval items (JSON lines or pretty JSON) or a "
                                         "REST export directory (see docs/importers/github.md).")],
    workspace: WorkspaceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    repo: Annotated[str | None, typer.Option(help="owner/repo when the export does not say.")]
    = None,
    instance: Annotated[str | None, typer.Option(help="GitHub Enterprise host.")] = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
    pseudonymize: PseudoOpt = False,
    reidentify_map: MapOpt = None,
) -> None:
    """Import GitHub pull requests and issues (Perceval items or REST JSON)."""
    fn = _loader("orgnet.importers.github", "import_github")
    options = {**_window(since, until), "repo": repo, "instance": instance}
    run_import(workspace, "github", path, fn, options, strict=strict, force=force,
               pseudonymize=pseudonymize, reidentify_map=reidentify_map)


def _hosted_command(source: str, help_text: str, path_help: str, instance_help: str) -> None:
    """A review-system import command with an ``--instance`` host option (GitLab, Gerrit)."""

    def command(
        path: Path,
        workspace: WorkspaceOpt = None,
        since: SinceOpt = None,
        until: UntilOpt = None,
        instance: str | None = None,
        strict: StrictOpt = False,
        force: ForceOpt = False,
        pseudonymize: PseudoOpt = False,
        reidentify_map: MapOpt = None,
    ) -> None:
        fn = _loader(f"orgnet.importers.{source}", f"import_{source}")
        options = {**_window(since, until), "instance": instance}
        run_import(workspace, source, path, fn, options, strict=strict, force=force,
                   pseudonymize=pseudonymize, reidentify_map=reidentify_map)

    # Annotations are strings evaluated at module scope; the per-source help texts are locals.
    command.__annotations__["path"] = Annotated[Path, typer.Argument(help=path_help)]
    command.__annotations__["instance"] = Annotated[str | None, typer.Option(help=instance_help)]
    command.__doc__ = help_text
    import_app.command(source)(command)


_hosted_command("gitlab", "Import GitLab merge requests (Perceval items).",
                "Perceval GitLab merge_request items.", "Self-managed GitLab host.")
_hosted_command("gerrit", "Import Gerrit changes (gerrit query JSON, REST, Perceval).",
                "gerrit query JSON, REST ChangeInfo JSON or Perceval items (file or directory).",
                "Gerrit host.")


@import_app.command("slack")
def import_slack_cmd(
    path: Annotated[Path, typer.Argument(help="The export zip or the directory it unpacks to.")],
    workspace: WorkspaceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    workers: WorkersOpt = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
    pseudonymize: PseudoOpt = False,
    reidentify_map: MapOpt = None,
) -> None:
    """Import a Slack workspace export (zip or directory)."""
    run_import(workspace, "slack", path, _sharded("orgnet.importers.slack:import_slack", workers),
               _window(since, until), strict=strict, force=force, pseudonymize=pseudonymize,
               reidentify_map=reidentify_map)


_review_command("mattermost", "Import a Mattermost bulk export (JSONL, plain or zipped).")


@import_app.command("mbox")
def import_mbox_cmd(
    path: Annotated[Path, typer.Argument(help="An mbox file (plain or .gz).")],
    workspace: WorkspaceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    list_name: Annotated[str | None, typer.Option(help="Mailing-list name (the container).")]
    = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
    pseudonymize: PseudoOpt = False,
    reidentify_map: MapOpt = None,
) -> None:
    """Import a mailing-list archive: threads, replies and review tags."""
    fn = _loader("orgnet.importers.mbox", "import_mbox")
    options = {**_window(since, until), "list_name": list_name}
    run_import(workspace, "mbox", path, fn, options, strict=strict, force=force,
               pseudonymize=pseudonymize, reidentify_map=reidentify_map)


@import_app.command("owners")
def import_owners_cmd(
    path: Annotated[Path, typer.Argument(help="CODEOWNERS, OWNERS, OWNERS_ALIASES, MAINTAINERS "
                                         "or AUTHORS file (or a tree of OWNERS files).")],
    workspace: WorkspaceOpt = None,
    kind: Annotated[str | None, typer.Option(help="codeowners, owners, owners_aliases, "
                                             "maintainers or authors (default: detected).")]
    = None,
    container: Annotated[str | None, typer.Option(help="Repository the file belongs to.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Date the file describes (YYYY-MM-DD).")]
    = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
    pseudonymize: PseudoOpt = False,
    reidentify_map: MapOpt = None,
) -> None:
    """Import ownership rules and maintainer sections."""
    fn = _loader("orgnet.importers.owners", "import_owners")
    options = {"kind": kind, "container": container, "as_of": _date(as_of, "--as-of")}
    run_import(workspace, "owners", path, fn, options, strict=strict, force=force,
               pseudonymize=pseudonymize, reidentify_map=reidentify_map)


#: Source name -> (module, detect function) for `orgnet import auto`, most specific first.
AUTO_ORDER: tuple[str, ...] = (
    "aliases", "slack", "mattermost", "mbox", "gerrit", "gitlab", "github", "git", "owners",
    "orgchart",
)


def detect_source(path: Path) -> str | None:
    """The importer that recognises ``path``, or ``None``."""
    for source in AUTO_ORDER:
        try:
            mod = importlib.import_module(f"orgnet.importers.{source}")
        except ImportError:
            continue
        detect = getattr(mod, "detect", None)
        if detect is not None and detect(path):
            return source
    return None


@import_app.command("auto")
def import_auto_cmd(
    path: Annotated[Path, typer.Argument(help="Any supported export; the format is detected.")],
    workspace: WorkspaceOpt = None,
    strict: StrictOpt = False,
    force: ForceOpt = False,
    pseudonymize: PseudoOpt = False,
    reidentify_map: MapOpt = None,
) -> None:
    """Detect the format of PATH and import it with default options."""
    if not path.exists():
        raise InputError("no such file or directory", file=str(path))
    source = detect_source(path)
    if source is None:
        raise InputError(
            "format not recognised; name it: orgnet import "
            "orgchart|aliases|git|github|gerrit|gitlab|slack|mattermost|mbox|owners PATH",
            file=str(path),
        )
    console.print(Text(f"{path}: detected {source}"))
    fn = (_sharded("orgnet.importers.slack:import_slack", None) if source == "slack"
          else _loader(f"orgnet.importers.{source}", f"import_{source}"))
    run_import(workspace, source, path, fn, {}, strict=strict, force=force,
               pseudonymize=pseudonymize, reidentify_map=reidentify_map)


# -- workspace commands -----------------------------------------------------------------------


def _open_existing(workspace: Path | None) -> Workspace:
    ws = Workspace(workspace)
    if not ws.exists():
        raise OrgnetError(
            f"no workspace at {ws.path}: import something first, e.g. "
            f"orgnet import orgchart hris.csv -w {ws.path}"
        )
    return ws


@app.command()
def status(workspace: WorkspaceOpt = None) -> None:
    """Counts per table and source, date range, last imports."""
    ws = _open_existing(workspace)
    counts = ws.counts()
    t = Table(title=Text(f"workspace {ws.path}"))
    t.add_column("table")
    t.add_column("rows", justify="right")
    for name, n in counts.items():
        t.add_row(name, f"{n:,}")
    console.print(t)
    events = ws.scan("interactions")
    if counts["interactions"]:
        by_source = (
            events.group_by("source").agg(
                pl.len().alias("events"), pl.col("ts").min().alias("first"),
                pl.col("ts").max().alias("last"),
            ).sort("source").collect()
        )
        s = Table(title="events per source")
        for col in ("source", "events", "first", "last"):
            s.add_column(col, justify="right" if col == "events" else "left")
        for row in by_source.iter_rows(named=True):
            s.add_row(row["source"], f"{row['events']:,}", f"{row['first']:%Y-%m-%d}",
                      f"{row['last']:%Y-%m-%d}")
        console.print(s)
    people = ws.read("people")
    if people.height:
        in_chart = int(people["in_org_chart"].sum())
        bots = int(people["is_bot"].sum())
        console.print(Text(f"people: {people.height:,} ({in_chart:,} in the org chart, "
                           f"{bots:,} bots)"))
    members = ws.read("memberships")
    if members.height:
        lo = members["valid_from"].min()
        hi = None if members["valid_to"].null_count() else members["valid_to"].max()
        console.print(Text(f"memberships: {members.height:,} spans, from {lo or 'unknown'!s} "
                           f"to {hi or 'open'!s}; unit kinds: "
                           + ", ".join(sorted(ws.read('units')['kind'].unique().to_list()))))
    if counts["rejects"]:
        rej = ws.read("rejects").group_by("source_kind", "outcome").len().sort(
            "source_kind", "outcome")
        console.print(Text("problems: " + "; ".join(
            f"{r[0]} {r[1]} {r[2]:,}" for r in rej.iter_rows())))
    imports = ws.imports()[-8:]
    if imports:
        li = Table(title="last imports")
        for col in ("time", "source", "file", "read", "imported", "dup", "rejected", "skipped"):
            li.add_column(col)
        for e in imports:
            c = e["counts"]
            li.add_row(e["time"], e["source_kind"], Text(str(e["file"])), f"{c['read']:,}",
                       f"{c['imported']:,}", f"{c['duplicate']:,}", f"{c['rejected']:,}",
                       f"{c['skipped']:,}")
        console.print(li)


@app.command()
def identities(
    workspace: WorkspaceOpt = None,
    show: Annotated[str, typer.Option(help="unresolved, ambiguous or all.")] = "unresolved",
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 30,
    csv: Annotated[Path | None, typer.Option(help="Also write the full list to this CSV.")]
    = None,
) -> None:
    """List handles not linked to an org-chart person, and ambiguous ones, with event counts."""
    from orgnet.identity_report import identity_report

    if show not in ("unresolved", "ambiguous", "all"):
        raise ConfigError(f"--show {show!r}: expected unresolved, ambiguous or all")
    ws = _open_existing(workspace)
    report = identity_report(ws.read("identities"), ws.read("people"), ws.scan("interactions"),
                             show=show)  # type: ignore[arg-type]
    if csv is not None:
        from orgnet.export import write_safe_csv

        write_safe_csv(report, csv)
    t = Table(title=f"{show} identities: {report.height:,}")
    for col in ("source", "handle", "name", "person_id", "evidence", "events"):
        t.add_column(col, justify="right" if col == "events" else "left")
    for row in report.head(limit).iter_rows(named=True):
        t.add_row(row["source"], Text(row["handle"] or ""), Text(row["name"] or ""),
                  row["person_id"], Text(row["evidence"] or ""), f"{row['events']:,}")
    console.print(t)


@app.command()
def rejects(
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 30,
    source: Annotated[str | None, typer.Option(help="Only this source kind.")] = None,
) -> None:
    """List records that imports rejected, repaired or flagged, with file, line and reason."""
    ws = _open_existing(workspace)
    df = ws.read("rejects")
    if source:
        df = df.filter(pl.col("source_kind") == source)
    t = Table(title=f"problems: {df.height:,}")
    for col in ("source", "file", "line", "field", "outcome", "reason"):
        t.add_column(col)
    for r in df.head(limit).iter_rows(named=True):
        t.add_row(r["source_kind"], Text(Path(r["source_file"]).name),
                  "" if r["line"] is None else str(r["line"]), Text(r["field"] or ""),
                  r["outcome"], Text(r["reason"]))
    console.print(t)


@app.command()
def sample(
    out: Annotated[Path, typer.Argument(help="Folder to write the organisation into.")],
    people: Annotated[int, typer.Option(help="Number of people.")] = 150,
    months: Annotated[int, typer.Option(help="Months of activity.")] = 6,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 7,
    null: Annotated[bool, typer.Option("--null", help="Plant nothing: the same organisation "
                                       "with unstructured noise.")] = False,
    strength: Annotated[float, typer.Option(help="Strength of the planted structures "
                                            "(0 = absent, 1 = clear).")] = 1.0,
) -> None:
    """Write a synthetic organisation with planted structures (and truth.json)."""
    from orgnet.synth import generate

    if people < 20:
        raise ConfigError("--people: at least 20 people are needed for a meaningful organisation")
    if months < 1:
        raise ConfigError("--months: at least 1")
    if strength < 0:
        raise ConfigError("--strength: must be >= 0")
    started = time.perf_counter()
    summary = generate(out, people=people, months=months, seed=seed, null=null, strength=strength)
    console.print(Text(f"wrote {out} in {time.perf_counter() - started:.1f} s"))
    console.print(Text(str(summary)))


@app.command()
def demo(
    no_app: Annotated[bool, typer.Option("--no-app", help="Stop before starting the dashboard "
                                         "(for CI).")] = False,
    out: Annotated[Path, typer.Option(help="Folder for the demo workspace and outputs.")]
    = Path("demo-out"),
    generate: Annotated[bool, typer.Option("--generate", help="Generate the sample organisation "
                                           "instead of using the bundled sample_data/.")] = False,
    seed: Annotated[int, typer.Option(help="Seed when generating.")] = 7,
) -> None:
    """Run the main job end to end: sample -> import -> analyze -> report -> dashboard."""
    from orgnet.demo import find_sample_data, fresh_workspace
    from orgnet.pipeline import SAMPLE_FILES, sample_repo

    sample_dir = None if generate else find_sample_data()
    if sample_dir is None:
        from orgnet.synth import generate as generate_org

        sample_dir = out / "sample"
        console.print(Text(f"generating the sample organisation into {sample_dir} (seed {seed})"))
        generate_org(sample_dir, people=150, months=6, seed=seed)
    console.rule(Text(f"orgnet demo: {sample_dir}"))
    ws_path = fresh_workspace(out / "workspace")
    repo = sample_repo(sample_dir)
    for name, source, target, options in SAMPLE_FILES:
        path = sample_dir / name
        if not path.exists():
            console.print(Text(f"{name}: not in {sample_dir}, skipped"))
            continue
        module, _, fn_name = target.partition(":")
        opts = {k: (v.format(repo=repo) if isinstance(v, str) else v) for k, v in options.items()}
        run_import(ws_path, source, path, _loader(module, fn_name), opts)
    status(ws_path)
    console.rule("analysis")
    analyze(out=out / "analysis", workspace=ws_path, since=None, until=None, unit_kind=None,
            top=10, min_group_size=None, config=None)
    console.rule("report")
    from orgnet.cli_report import report_command

    report_command(out=out / "report", workspace=ws_path, formats=None, since=None, until=None,
                   previous=None, config=None, unit_kind=None, fail_on_severity=None,
                   generated_at=None)
    console.print(Text(f"workspace: {ws_path}; analysis: {out / 'analysis'}; report: "
                       f"{out / 'report' / 'report.html'}"))
    if not no_app:
        _start_app(ws_path)


def _start_app(ws_path: Path) -> None:
    """Start the dashboard on the demo workspace (blocks until interrupted)."""
    try:
        from orgnet.cli_app import launch
    except ImportError:
        console.print(Text("the dashboard is not installed in this version; nothing to start"))
        return
    launch(ws_path)


units_app = typer.Typer(help="Derive formal units.", no_args_is_help=True)
app.add_typer(units_app, name="units")


@units_app.command("from-email-domains")
def units_from_email_domains(
    workspace: WorkspaceOpt = None,
    min_events: Annotated[int, typer.Option(help="Ignore addresses with fewer events.")] = 1,
) -> None:
    """Create company units from e-mail domains (for open-source data)."""
    from orgnet.units import write_company_units

    ws = _open_existing(workspace)
    n_units, n_people = write_company_units(ws, min_events=min_events)
    console.print(Text(f"{n_units:,} company units, {n_people:,} people assigned "
                       f"(unit kind 'company': orgnet analyze --unit-kind company)"))


ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="orgnet.toml to use (default: the workspace's orgnet.toml)."),
]


@app.command()
def analyze(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for findings.json and the "
                                      "per-analysis Parquet and CSV files.")],
    workspace: WorkspaceOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    unit_kind: Annotated[str | None, typer.Option(
        help="Formal level to compare with: team, department, maintainer_section, company ... "
        "(default: orgnet.toml analysis.unit_kind, else team)")] = None,
    top: Annotated[int, typer.Option(help="Findings to print.")] = 15,
    min_group_size: Annotated[int | None, typer.Option(
        help="Privacy: no unit-level findings about smaller units (default: orgnet.toml, "
        "else 5).")] = None,
    config: ConfigOpt = None,
    cache: Annotated[bool, typer.Option(
        "--cache/--no-cache", help="Keep built graph views in the workspace's cache/ folder "
        "(keyed by the data fingerprint and graph options) and reuse them.")] = True,
) -> None:
    """Run every analysis, write findings.json and the analysis tables, print the top findings."""
    from orgnet.analysis.registry import run_analyses
    from orgnet.config import load_config
    from orgnet.dataset import Dataset, Window
    from orgnet.graph.cache import ViewCache

    ws = _open_existing(workspace)
    cfg = load_config(config, workspace=ws.path)
    kind = unit_kind or cfg.analysis.unit_kind
    data = Dataset.from_workspace(ws)
    kinds = set(data.units["kind"].unique().to_list())
    if kind not in kinds:
        raise ConfigError(f"--unit-kind {kind!r}: the workspace has units of kind "
                          f"{', '.join(sorted(kinds)) or '(none: import an org chart)'}")
    window = Window(_datetime(since, "--since") or Window.of(cfg.analysis.since).since,
                    _datetime(until, "--until") or Window.of(None, cfg.analysis.until).until)
    started = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                  console=err_console, transient=True,
                  disable=not err_console.is_terminal) as progress:
        task = progress.add_task("analyzing", total=None)
        run = run_analyses(data, window=window, unit_kind=kind, out=out,
                           min_group_size=min_group_size or cfg.privacy.min_group_size,
                           rule_options=cfg.thresholds,
                           progress=lambda name: progress.update(task, description=name),
                           view_cache=ViewCache.for_workspace(ws.path, data.fingerprint)
                           if cache else None)
    t = Table(title=f"top findings ({len(run.findings)} in all)")
    t.add_column("#", justify="right")
    t.add_column("kind")
    t.add_column("severity", justify="right")
    t.add_column("finding")
    for i, f in enumerate(run.findings[:top], start=1):
        t.add_row(str(i), f.kind, f"{f.severity:.2f}", Text(f.title))
    console.print(t)
    console.print(Text(f"{time.perf_counter() - started:.1f} s; wrote {out / 'findings.json'} and "
                       f"{len(run.frames)} analysis tables (Parquet and CSV)"))


def _register_extensions() -> None:
    from orgnet.cli_app import register as register_app
    from orgnet.cli_report import register as register_report

    register_report(app)
    register_app(app)


_register_extensions()


def main() -> None:
    """Entry point: user errors print one line and exit 1, never a traceback."""
    try:
        app()
    except OrgnetError as exc:
        err_console.print(Text(f"error: {exc}", style="bold red"))
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print(Text("interrupted", style="bold red"))
        sys.exit(130)


if __name__ == "__main__":
    main()
