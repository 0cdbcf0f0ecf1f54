"""Build a report once (analyses, privacy filtering, figures, diff); renderers only format it.

:func:`build_report` runs :func:`~orgnet.analysis.registry.run_analyses` once, applies the privacy
settings (minimum group size, aggregate-only), prepares the tables and plotly figures
of every section and, given a previous run, the diff. The result is a :class:`Report`, rendered by
:func:`orgnet.report.render.render_report` into HTML, Markdown and data files.

Determinism: nothing here reads the clock. The report is dated by its data (``data_up_to``: the
latest event in the window); ``generated_at`` is written only when the caller gives it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import networkx as nx
import plotly.graph_objects as go
import polars as pl

from orgnet import __version__
from orgnet.analysis._context import AnalysisContext
from orgnet.analysis.registry import run_analyses
from orgnet.config import Config, load_config
from orgnet.dataset import Dataset, Window
from orgnet.exceptions import ConfigError, WorkspaceError
from orgnet.graph.build import Graph
from orgnet.graph.cache import ViewCache
from orgnet.report._text import fmt, plain
from orgnet.report.diff import diff_findings, load_previous
from orgnet.viz import charts
from orgnet.workspace import Workspace

__all__ = ["PERSON_FRAMES", "Report", "Section", "Table", "build_report"]

#: Analysis frames with one row per person (left out entirely under ``aggregate_only``).
PERSON_FRAMES: Final = frozenset({
    "communities", "misaligned_people", "org_change_lag", "person_congruence",
    "outsider_friction", "gate_share", "brokerage", "structural_holes", "influence",
})
#: Columns naming a formal unit, per frame (rows about units below the privacy threshold go).
_UNIT_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "unit_fragmentation": ("unit_id",),
    "unit_matrix": ("src_unit", "dst_unit"),
    "help_balance": ("unit_id",),
    "ei_index": ("unit_id",),
    "congruence": ("unit_a", "unit_b"),
    "one_sided": ("unit_id", "favoured_unit", "neglected_unit"),
    "information_droughts": ("owning_unit",),
}
#: Columns holding person ids (dropped from the exports under ``aggregate_only``).
_PERSON_COLUMNS: Final = ("person_id", "top_approver", "main_contributor", "members",
                          "owner_people", "shadow_owners")
HIGH: Final = 0.7
MEDIUM: Final = 0.4


@dataclass(frozen=True)
class Table:
    """A display table: formatted cells (plain text; renderers escape them)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class Section:
    """One report section: intro text, figure ids (keys of :attr:`Report.figures`), tables, notes."""

    key: str
    title: str
    intro: str = ""
    figures: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class Report:
    """Everything the renderers need; build it with :func:`build_report`.

    Attributes
    ----------
    document
        The ``findings.json`` document (privacy applied; ``generated_at`` is the given time or
        ``data_up_to``).
    frames
        Analysis frames for the data exports (privacy applied).
    figures
        Plotly figures by stable id (the id is the HTML ``div`` id).
    sections
        Sections in the configured order (the findings section is rendered from ``document``).
    headline
        Key figures (label -> formatted value), in display order.
    diff
        :func:`~orgnet.report.diff.diff_findings` against the previous run, or ``None``.
    graph
        The collaboration graph with node attributes ``name``, ``unit``, ``unit_id``,
        ``community``, ``pagerank`` and edge ``weight`` (``None`` under ``aggregate_only``).
        Built from ``graph_builder`` on first use: only the GEXF and GraphML files need it
        (10,000 people: 452,398 edges, about 2 s and a networkx graph in memory).
    notes
        Privacy and data notes shown near the top.
    """

    document: dict[str, Any]
    frames: dict[str, pl.DataFrame]
    figures: dict[str, go.Figure]
    sections: list[Section]
    headline: list[tuple[str, str]]
    config: Config
    unit_kind: str
    window: dict[str, str | None]
    data_up_to: str | None
    generated_at: str | None
    diff: dict[str, Any] | None = None
    graph_builder: Callable[[], nx.Graph] | None = field(default=None, repr=False, compare=False)
    notes: list[str] = field(default_factory=list)
    hidden_findings: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @functools.cached_property
    def graph(self) -> nx.Graph | None:
        """The collaboration graph (see the class), built once on first use."""
        return None if self.graph_builder is None else self.graph_builder()

    @property
    def findings(self) -> list[dict[str, Any]]:
        """The findings of ``document`` (highest severity first)."""
        found: list[dict[str, Any]] = self.document.get("findings", [])
        return found

    def shown_findings(self) -> list[dict[str, Any]]:
        """Findings listed in the report: ``[report] min_severity`` and ``top_findings`` applied."""
        cfg = self.config.report
        return [f for f in self.findings if f["severity"] >= cfg.min_severity][: cfg.top_findings]

    def new_findings(self) -> list[dict[str, Any]]:
        """Findings new since the previous run (every finding when there is no previous run)."""
        if self.diff is None:
            return list(self.findings)
        new = {e["id"] for e in self.diff["new"]}
        return [f for f in self.findings if f["id"] in new]

    def status(self, finding_id: str) -> str:
        """``new``, ``worse`` or ``""`` for a finding id (empty without a previous run)."""
        if self.diff is None:
            return ""
        for key in ("new", "worse"):
            if any(e["id"] == finding_id for e in self.diff[key]):
                return key
        return ""


# -- privacy helpers ------------------------------------------------------------------------------


def _replace_ids(value: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, list):
        return [_replace_ids(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: _replace_ids(v, mapping) for k, v in value.items()}
    return value


def _filter_units(df: pl.DataFrame, columns: Sequence[str], small: set[str]) -> pl.DataFrame:
    if not small:
        return df
    keep = pl.lit(True)
    for c in columns:
        if c in df.columns:
            keep = keep & (pl.col(c).is_null() | ~pl.col(c).is_in(sorted(small)))
    return df.filter(keep)


def _privacy_frames(frames: Mapping[str, pl.DataFrame], *, small: set[str],
                    aggregate_only: bool) -> dict[str, pl.DataFrame]:
    out: dict[str, pl.DataFrame] = {}
    for name, df in frames.items():
        if aggregate_only and name in PERSON_FRAMES:
            continue
        frame = _filter_units(df, _UNIT_COLUMNS.get(name, ()), small)
        if name == "approval_concentration" and small:
            frame = frame.filter(~((pl.col("area_kind") == "unit")
                                   & pl.col("area_id").is_in(sorted(small))))
        if aggregate_only:
            frame = frame.drop([c for c in _PERSON_COLUMNS if c in frame.columns])
        out[name] = _rounded(frame)
    return out


def _rounded(df: pl.DataFrame, digits: int = 9) -> pl.DataFrame:
    """Floats to ``digits`` significant digits.

    Parallel aggregation may sum in a different order from run to run, changing the last bits of
    a weight; rounding keeps the exports byte-identical for the same input.
    """
    exprs = []
    for c, t in df.schema.items():
        if t in (pl.Float64, pl.Float32):
            exprs.append(pl.col(c).round_sig_figs(digits))
        elif t in (pl.List(pl.Float64), pl.List(pl.Float32)):
            exprs.append(pl.col(c).list.eval(pl.element().round_sig_figs(digits)))
    return df.with_columns(exprs) if exprs else df


# -- helpers --------------------------------------------------------------------------------------


def _iso(ts: dt.datetime | None) -> str | None:
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts is not None else None


def _table(title: str, df: pl.DataFrame, columns: Mapping[str, str | Callable[[dict[str, Any]], Any]],
           *, note: str = "") -> Table:
    """Format ``df`` rows into a :class:`Table`: header -> column name or ``row -> value``."""
    rows = []
    for r in df.iter_rows(named=True):
        cells = []
        for spec in columns.values():
            v = spec(r) if callable(spec) else r.get(spec)
            cells.append(fmt(v))
        rows.append(tuple(cells))
    return Table(title, tuple(columns), tuple(rows), note)


def _pct(v: object) -> str:
    return "" if v is None else f"{float(v):.0%}"  # type: ignore[arg-type]


def _latencies(ctx: AnalysisContext) -> pl.DataFrame:
    """Per reviewed change: ``side`` (insiders/outsiders) and ``hours`` to first review."""
    try:
        from orgnet.analysis.gatekeeping import _review_pairs
    except ImportError:  # pragma: no cover - the analysis module changed
        return pl.DataFrame(schema={"side": pl.String, "hours": pl.Float64})
    pairs = _review_pairs(ctx)
    return pairs.select(
        pl.when(pl.col("outside")).then(pl.lit("outsiders")).otherwise(pl.lit("insiders"))
        .alias("side"), "hours",
    ).filter(pl.col("hours").is_not_null()).sort("side", "hours")


# -- build ----------------------------------------------------------------------------------------


def _dataset(source: Dataset | Workspace | str | Path) -> tuple[Dataset, Workspace | None]:
    if isinstance(source, Dataset):
        return source, None
    ws = source if isinstance(source, Workspace) else Workspace(source)
    if not ws.exists():
        raise WorkspaceError(f"no workspace at {ws.path}: import something first, e.g. "
                             f"orgnet import orgchart hris.csv -w {ws.path}")
    return Dataset.from_workspace(ws), ws


def build_report(
    data_or_workspace: Dataset | Workspace | str | Path,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    config: Config | None = None,
    previous: Mapping[str, Any] | str | Path | None = None,
    generated_at: dt.datetime | str | None = None,
) -> Report:
    """Run the analyses once and prepare every section, figure, export frame and the diff.

    Parameters
    ----------
    data_or_workspace
        A :class:`~orgnet.dataset.Dataset`, a :class:`~orgnet.workspace.Workspace` or its path.
    window
        Events considered (default: ``[analysis] since/until`` of the configuration).
    unit_kind
        Formal level compared with (default: ``[analysis] unit_kind``).
    config
        Configuration (default: the workspace's ``orgnet.toml``, else the defaults).
    previous
        The previous run: its ``findings.json`` document, that file, or its folder.
    generated_at
        Written into the report and ``findings.json`` when given; otherwise the report is dated
        by its data only, so equal input gives byte-identical output.

    Returns
    -------
    Report

    Raises
    ------
    WorkspaceError
        The workspace does not exist.
    ConfigError
        Unknown unit kind.
    InputError
        ``previous`` is not a readable ``findings.json``.
    """
    data, ws = _dataset(data_or_workspace)
    cfg = config or (load_config(workspace=ws.path) if ws is not None else Config())
    kind = unit_kind or cfg.analysis.unit_kind
    kinds = set(data.units["kind"].unique().to_list())
    if kind not in kinds:
        raise ConfigError(f"--unit-kind {kind!r}: the data has units of kind "
                          f"{', '.join(sorted(kinds)) or '(none: import an org chart)'}")
    win = window or Window.of(cfg.analysis.since, cfg.analysis.until)
    prev_doc = None if previous is None else (
        dict(previous) if isinstance(previous, Mapping) else load_previous(previous))
    min_size = cfg.privacy.min_group_size
    aggregate_only = cfg.privacy.aggregate_only

    # Built from a workspace: graph views come from (and go to) its cache.
    cache = ViewCache.for_workspace(ws.path, data.fingerprint) if ws is not None else None
    ctx = AnalysisContext(data, window=win, unit_kind=kind, min_group_size=min_size,
                          view_cache=cache)
    # The event table is collected from a parallel scan whose row order varies between runs;
    # order-sensitive steps downstream (first() in a group, float sums) then vary too. The
    # context's table is sorted by event id, equal ids by every column, so every analysis, and
    # so the report, is identical for identical input.
    run = run_analyses(ctx, rule_options=cfg.thresholds)

    # names, sizes, privacy
    person_ids = data.people["person_id"].to_list()
    person_names = {p: plain(n) or p for p, n in data.people.select("person_id", "display_name")
                    .iter_rows()}
    unit_names = {u: plain(n) or u for u, n in data.units.select("unit_id", "name").iter_rows()}
    sizes = ctx.unit_sizes()
    small = {u for u, n in sizes.items() if n < min_size}

    def person(pid: object) -> str:
        if pid is None:
            return ""
        return person_names.get(str(pid), str(pid))

    def unit(uid: object) -> str:
        return "" if uid is None else unit_names.get(str(uid), str(uid))

    latest = data.interactions.filter(win.expr()).select(pl.col("ts").max()).collect().item()
    data_up_to = _iso(latest)
    when: str | None
    if isinstance(generated_at, dt.datetime):
        when = _iso(generated_at if generated_at.tzinfo else generated_at.replace(tzinfo=dt.UTC))
    else:
        when = generated_at

    # findings document
    findings: list[dict[str, Any]] = []
    hidden = 0
    for original in run.document["findings"]:
        if aggregate_only and original["people"]:
            hidden += 1
            continue
        f = dict(original)
        if aggregate_only:
            f["evidence"] = _replace_ids(f["evidence"], dict.fromkeys(person_ids, "(hidden)"))
        findings.append(f)
    document = {
        "orgnet_version": __version__,
        "generated_at": when or data_up_to,
        "data_up_to": data_up_to,
        "window": run.document["window"],
        "unit_kind": kind,
        "findings": findings,
    }
    diff = diff_findings(document, prev_doc) if prev_doc is not None else None

    frames = _privacy_frames(run.frames, small=small, aggregate_only=aggregate_only)
    notes: list[str] = []
    if small:
        notes.append(f"{len(small)} unit(s) with fewer than {min_size} people are suppressed from "
                     f"unit-level figures, tables and exports (privacy: min_group_size).")
    if aggregate_only:
        notes.append("Aggregate-only mode: person-level tables, figures and exports are hidden"
                     + (f"; {hidden} finding(s) about individual people are not shown." if hidden
                        else "."))
    if cfg.privacy.pseudonymize:
        notes.append("People are shown by pseudonym (the workspace was imported with "
                      "pseudonymisation).")

    figures: dict[str, go.Figure] = {}
    sections: list[Section] = []
    fdf = pl.DataFrame({"kind": [f["kind"] for f in findings],
                        "severity": [float(f["severity"]) for f in findings]},
                       schema={"kind": pl.String, "severity": pl.Float64})
    align = run.frames["alignment"].row(0, named=True) if run.frames["alignment"].height else {}
    events = int(ctx.event_table().height)
    n_people = len(ctx.graph("collaboration").nodes)
    headline: list[tuple[str, str]] = [
        ("Window", f"{run.document['window'].get('since') or 'start of data'} to "
                   f"{run.document['window'].get('until') or 'end of data'}"),
        ("Data up to", data_up_to or "no events"),
        ("Compared with", f"formal units of kind {kind!r}"),
        ("People in the collaboration graph", fmt(n_people)),
        (f"Units ({kind})", fmt(len(sizes))),
        ("Events", fmt(events)),
        ("Findings", fmt(len(findings))),
        ("High severity (≥ 0.7)", fmt(int((fdf["severity"] >= HIGH).sum()))),
        ("Informal communities", fmt(align.get("n_communities"))),
        ("Agreement chart vs network (NMI / ARI)",
         f"{fmt(align.get('nmi'))} / {fmt(align.get('ari'))}" if align else ""),
    ]
    if diff is not None:
        c = diff["counts"]
        headline.append(("Since the previous run",
                         f"{c['new']} new, {c['worse']} worse, {c['resolved']} resolved"))

    for key in cfg.report.sections:
        if key == "overview":
            figures["fig-findings-by-kind"] = charts.findings_by_kind_bar(fdf)
            figures["fig-severity"] = charts.severity_histogram(fdf)
            sections.append(Section("overview", "Overview", (
                "Key figures of this run. Severity runs from 0 to 1; a finding's id stays the "
                "same from run to run, so changes can be followed."),
                ("fig-findings-by-kind", "fig-severity")))
        elif key == "findings":
            sections.append(Section("findings", "Findings", (
                "Each finding is one plain sentence with the evidence behind it, highest "
                "severity first.")))
        elif key == "alignment":
            sections.append(_alignment(run.frames, frames, figures, unit, small, min_size))
        elif key == "unit_matrix":
            parents = dict(data.units.select("unit_id", "parent_id").iter_rows())
            sections.append(_unit_matrix(frames, figures, unit, unit_names, small, min_size,
                                         parents))
        elif key == "blind_spots":
            sections.append(_blind_spots(frames, unit))
        elif key == "gatekeeping":
            sections.append(_gatekeeping(frames, figures, unit, unit_names, person, aggregate_only,
                                         ctx))
        elif key == "people":
            sections.append(_people(frames, unit, person, aggregate_only))
        elif key == "ownership":
            sections.append(_ownership(frames, unit, person, aggregate_only))
        elif key == "trends":
            sections.append(_trends(frames, figures))
        elif key == "data":
            sections.append(_data_section(data, ws))

    graph = None if aggregate_only else _graph_builder(ctx, run.frames, person, unit)
    return Report(
        document=document, frames=frames, figures=figures, sections=sections, headline=headline,
        config=cfg, unit_kind=kind, window=run.document["window"], data_up_to=data_up_to,
        generated_at=when, diff=diff, graph_builder=graph, notes=notes, hidden_findings=hidden,
        timings=dict(run.timings),
    )


# -- sections -------------------------------------------------------------------------------------

Namer = Callable[[object], str]


def _suppressed(small: set[str], min_size: int) -> tuple[str, ...]:
    if not small:
        return ()
    return (f"suppressed: {len(small)} unit(s) with fewer than {min_size} people are not shown.",)


def _alignment(raw: Mapping[str, pl.DataFrame], frames: Mapping[str, pl.DataFrame],
               figures: dict[str, go.Figure], unit: Namer, small: set[str],
               min_size: int) -> Section:
    tables = [_table("Agreement between the org chart and the collaboration communities",
                     frames["alignment"], {
                         "unit level": "unit_kind", "people": "n_people", "units": "n_units",
                         "communities": "n_communities", "modularity": "modularity",
                         "NMI": "nmi", "ARI": "ari"},
                     note="NMI and ARI are 1 when the communities match the units exactly, "
                          "about 0 when unrelated.")]
    comm = raw["communities"].filter(pl.col("unit_id").is_not_null())
    if small:
        comm = comm.filter(~pl.col("unit_id").is_in(sorted(small)))
    flows = comm.group_by("unit_id", "community").agg(pl.len().alias("people")).sort(
        "unit_id", "community")
    figures["fig-sankey"] = charts.unit_community_sankey(
        flows, unit_names={u: unit(u) for u in flows["unit_id"].unique().to_list()},
        community_names={c: f"community {c}" for c in flows["community"].unique().to_list()})
    frag = frames["unit_fragmentation"].sort(["n_communities", "entropy", "unit_id"],
                                             descending=[True, True, False]).head(15)
    tables.append(_table("Units whose people fall into the most communities", frag, {
        "unit": lambda r: unit(r["unit_id"]), "people": "size", "communities": "n_communities",
        "entropy": "entropy", "main community share": lambda r: _pct(r["main_share"])}))
    return Section("alignment", "Informal vs formal structure", (
        "Communities are found in the collaboration graph (reviews, conversations, shared code) "
        "and compared with the formal units."), ("fig-sankey",), tuple(tables),
        _suppressed(small, min_size))


#: Units shown in the report's unit heatmap (the most connected across unit lines).
HEATMAP_UNITS: Final = 40


def _unit_matrix(frames: Mapping[str, pl.DataFrame], figures: dict[str, go.Figure], unit: Namer,
                 unit_names: Mapping[str, str], small: set[str], min_size: int,
                 parents: Mapping[str, str | None]) -> Section:
    matrix = frames["unit_matrix"]
    title = "Collaboration between units (weight per pair of people; within-unit left out)"
    order = None
    n_units = pl.concat([matrix["src_unit"], matrix["dst_unit"]]).n_unique()
    if n_units > HEATMAP_UNITS:
        order = charts.most_connected_units(matrix, HEATMAP_UNITS, parents=parents,
                                            unit_names=unit_names)
        title += f"; the {len(order)} of {n_units:,} units most connected across units"
    figures["fig-unit-matrix"] = charts.unit_matrix_heatmap(
        matrix, unit_names=unit_names, diagonal=False, order=order, title=title)
    figures["fig-ei"] = charts.ei_expectation_bars(frames["ei_index"], unit_names=unit_names)
    ei = frames["ei_index"].sort(["z", "unit_id"], nulls_last=True)
    table = _table("E-I index per unit (most inward-looking first)", ei, {
        "unit": lambda r: unit(r["unit_id"]), "people": "size", "ties inside": "internal_ties",
        "ties outside": "external_ties", "E-I": "ei", "expected": "ei_expected", "z": "z",
        "co-edits outside": lambda r: _pct(r["coedit_outside_share"])},
        note="E-I = (outside - inside) / (outside + inside) ties; z <= -2 with shared code outside "
             "marks a silo.")
    return Section("unit_matrix", "Units: who works with whom", (
        "Collaboration weight between units, normalised by unit sizes, and each unit's E-I index "
        "against the value expected from its size."), ("fig-unit-matrix", "fig-ei"), (table,),
        _suppressed(small, min_size))


def _blind_spots(frames: Mapping[str, pl.DataFrame], unit: Namer) -> Section:
    cong = frames["congruence"].filter(pl.col("need_quantile") >= 0.75).sort(
        ["congruence", "need", "unit_a", "unit_b"], descending=[False, True, False, False]).head(15)
    t1 = _table("Unit pairs with the most shared code and how much they coordinate", cong, {
        "unit": lambda r: unit(r["unit_a"]), "other unit": lambda r: unit(r["unit_b"]),
        "shared files": "shared_files", "coordination need": "need", "congruence": "congruence",
        "communication": "communication", "reviews": "reviews"},
        note="Congruence: share of the coordination need (people editing the same files) met by "
             "a review or conversation tie.")
    one = frames["one_sided"].sort(["neglected_need_share", "unit_id"], descending=[True, False])
    t2 = _table("One-sided relationships", one, {
        "unit": lambda r: unit(r["unit_id"]), "within": lambda r: unit(r["parent_id"]),
        "talks to": lambda r: unit(r["favoured_unit"]),
        "share of ties": lambda r: _pct(r["favoured_tie_share"]),
        "neglects": lambda r: unit(r["neglected_unit"]),
        "share of shared code": lambda r: _pct(r["neglected_need_share"])})
    dr = frames["information_droughts"].sort(["messages", "conversation"], descending=[True, False])
    t3 = _table("Conversations about a unit's code without the unit", dr, {
        "conversation": "conversation", "owning unit": lambda r: unit(r["owning_unit"]),
        "messages": "messages", "participants": "participants", "references": "references"})
    return Section("blind_spots", "Blind spots", (
        "Where teams depend on each other's code but do not talk or review each other's work."),
        (), (t1, t2, t3))


def _gatekeeping(frames: Mapping[str, pl.DataFrame], figures: dict[str, go.Figure], unit: Namer,
                 unit_names: Mapping[str, str], person: Namer, aggregate_only: bool,
                 ctx: AnalysisContext) -> Section:
    ac = frames["approval_concentration"]
    area_names = {a: (unit_names.get(a, a) if k == "unit" else a)
                  for a, k in ac.select("area_id", "area_kind").iter_rows()}
    figures["fig-approval"] = charts.approval_concentration_bars(ac, area_names=area_names)
    figures["fig-latency"] = charts.latency_box(_latencies(ctx))
    cols: dict[str, str | Callable[[dict[str, Any]], Any]] = {
        "area": lambda r: area_names.get(r["area_id"], r["area_id"]), "approvals": "approvals",
        "approvers": "approvers", "top share": lambda r: _pct(r["top_share"]),
        "bus factor": "bus_factor", "possible reviewers": "possible_reviewers"}
    if not aggregate_only:
        cols["top approver"] = lambda r: person(r.get("top_approver"))
    top = ac.sort(["top_share", "approvals", "area_id"], descending=[True, True, False],
                  nulls_last=True).head(15)
    tables = [_table("Approval concentration", top, cols,
                     note="Bus factor: fewest people covering half of the approvals.")]
    if not aggregate_only and "outsider_friction" in frames:
        fr = frames["outsider_friction"].filter(
            (pl.col("n_outside") >= 10) & (pl.col("n_inside") >= 10)
            & pl.col("latency_ratio").is_not_null()).sort(
            ["latency_ratio", "person_id"], descending=[True, False]).head(10)
        tables.append(_table("Reviewers slowest on outsiders' changes (10+ changes each side)", fr, {
            "reviewer": lambda r: person(r["person_id"]), "unit": lambda r: unit(r["unit_id"]),
            "outside changes": "n_outside", "inside changes": "n_inside",
            "median h outside": "median_hours_outside", "median h inside": "median_hours_inside",
            "ratio": "latency_ratio",
            "changes requested out / in": lambda r: f"{_pct(r['changes_requested_rate_outside'])}"
                                                    f" / {_pct(r['changes_requested_rate_inside'])}",
            "adjusted p": "q_latency"}))
    return Section("gatekeeping", "Gatekeeping", (
        "How concentrated approvals are, and whether changes from outside a reviewer's unit wait "
        "longer than changes from inside."), ("fig-approval", "fig-latency"), tuple(tables))


def _people(frames: Mapping[str, pl.DataFrame], unit: Namer, person: Namer,
            aggregate_only: bool) -> Section:
    if aggregate_only or "influence" not in frames:
        return Section("people", "People", notes=(
            "hidden: person-level views are disabled (privacy: aggregate_only).",))
    inf = frames["influence"].sort(["pagerank", "person_id"], descending=[True, False]).head(15)
    t = _table("Most central people (PageRank on the collaboration graph)", inf, {
        "person": lambda r: person(r["person_id"]), "unit": lambda r: unit(r["unit_id"]),
        "PageRank": "pagerank", "betweenness": "betweenness", "units bridged": "units_bridged",
        "reviews received": "review_load", "direct reports": "reports", "level": "level"})
    return Section("people", "People", (
        "Influence in the informal network. Central people are not a problem in themselves; "
        "they are who a change or a departure affects most."), (), (t,))


def _ownership(frames: Mapping[str, pl.DataFrame], unit: Namer, person: Namer,
               aggregate_only: bool) -> Section:
    ao = frames["area_ownership"].sort(["n_changes", "area_id"], descending=[True, False]).head(20)
    cols: dict[str, str | Callable[[dict[str, Any]], Any]] = {
        "area": "area", "owning unit": lambda r: unit(r["owning_unit"]), "changes": "n_changes",
        "contributors": "n_contributors", "main share": lambda r: _pct(r["main_share"]),
        "truck factor": "truck_factor", "owner share": lambda r: _pct(r["owner_share"]),
        "top outside unit": lambda r: unit(r["top_outside_unit"])}
    if not aggregate_only:
        cols["main contributor"] = lambda r: person(r.get("main_contributor"))
    t = _table("Most active code areas", ao, cols, note=(
        "Truck factor: fewest people who made half of the changes. Owner share: changes made by "
        "the owning unit."))
    return Section("ownership", "Ownership and knowledge", (
        "Who changes each owned area, how concentrated that knowledge is, and whether the owning "
        "unit still does the work."), (), (t,))


def _trends(frames: Mapping[str, pl.DataFrame], figures: dict[str, go.Figure]) -> Section:
    tr = frames["trends"]
    figures["fig-trends"] = charts.trends_lines(tr)
    t = _table("Per period", tr.sort("period_start"), {
        "from": "period_start", "to": "period_end", "events": "events",
        "active people": "active_people", "NMI": "nmi", "ARI": "ari", "mean E-I": "mean_ei",
        "congruence": "congruence", "silos": "silos", "blind spots": "blind_spots"})
    return Section("trends", "Trends", "The main measures per quarter.", ("fig-trends",), (t,))


def _data_section(data: Dataset, ws: Workspace | None) -> Section:
    counts = [("people", data.people.height), ("identities", data.identities.height),
              ("units", data.units.height), ("memberships", data.memberships.height),
              ("events", int(data.interactions.select(pl.len()).collect().item())),
              ("artifacts", data.artifacts.height),
              ("file touches", int(data.touches.select(pl.len()).collect().item())),
              ("ownership rules", data.ownership.height)]
    tables = [Table("Canonical tables", ("table", "rows"),
                    tuple((n, fmt(v)) for n, v in counts))]
    if ws is not None:
        rows = []
        for e in ws.imports():
            c = e.get("counts", {})
            rows.append((plain(e.get("source_kind")), plain(Path(str(e.get("file", ""))).name),
                         *(fmt(c.get(k)) for k in ("read", "imported", "duplicate", "rejected",
                                                   "skipped"))))
        tables.append(Table("Imports", ("source", "file", "read", "imported", "duplicate",
                                        "rejected", "skipped"), tuple(rows)))
        rej = ws.read("rejects")
        if rej.height:
            # Reasons name the record ("manager 'E1' is not employed on 2021-04-20"): group by
            # their shape so the table counts kinds of problems, not records.
            shape = (pl.col("reason").str.replace_all(r"'[^']*'", "'…'")
                     .str.replace_all(r"\d{4}-\d{2}-\d{2}(T[0-9:.+Z-]*)?", "DATE")
                     .str.replace_all(r"\d+", "N"))
            g = rej.with_columns(shape.alias("reason")).group_by(
                "source_kind", "outcome", "reason").len().sort(
                ["len", "source_kind", "outcome", "reason"], descending=[True, False, False, False])
            tables.append(_table("Problems found while importing", g.head(20), {
                "source": "source_kind", "outcome": "outcome", "reason": "reason",
                "records": "len"}, note="orgnet rejects -w WORKSPACE lists them with file and line."))
    return Section("data", "Data", "What the analysis was run on.", (), tuple(tables))


def _graph_builder(ctx: AnalysisContext, raw: Mapping[str, pl.DataFrame], person: Namer,
                   unit: Namer) -> Callable[[], nx.Graph]:
    """What the report's networkx graph is built from, and how: the builder holds the view and
    the names, not the analysis context (whose event table the report should not keep)."""
    g = ctx.graph("collaboration")
    home = ctx.home_unit()
    community_frame = raw["communities"].select("person_id", "community")
    pagerank_frame = raw["influence"].select("person_id", "pagerank")
    return functools.partial(_build_graph, g, home, community_frame, pagerank_frame, person, unit)


def _build_graph(g: Graph, home: Mapping[str, str], community_frame: pl.DataFrame,
                 pagerank_frame: pl.DataFrame, person: Namer, unit: Namer) -> nx.Graph:
    community = dict(community_frame.iter_rows())
    pagerank = dict(pagerank_frame.iter_rows())
    out = nx.Graph()
    for pid in sorted(g.nodes):
        out.add_node(pid, label=person(pid), name=person(pid), unit=unit(home.get(pid)),
                     unit_id=home.get(pid) or "", community=community.get(pid) or "",
                     pagerank=float(f"{float(pagerank.get(pid) or 0.0):.9g}"))
    for src, dst, w in g.edges.sort("src", "dst").iter_rows():
        a, b = sorted((src, dst))
        if out.has_edge(a, b):
            out[a][b]["weight"] = round(out[a][b]["weight"] + float(w), 6)
        else:
            out.add_edge(a, b, weight=round(float(w), 6))
    return out
