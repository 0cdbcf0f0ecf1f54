"""Everything the pages share: settings, the sidebar, every cached computation, safe output.

Caching design
--------------
All caching lives here. Each cached function is keyed by the workspace path and its
**fingerprint** (:meth:`orgnet.workspace.Workspace.fingerprint`, which changes whenever any table
changes, so an import invalidates everything without a manual refresh) plus the sidebar
:class:`Options` (window, unit level, sources, privacy threshold):

- :func:`dataset` (``st.cache_resource``): the tables, loaded once per fingerprint and shared by
  every session (read-only; event tables stay lazy).
- :func:`facts` (``st.cache_data``): counts, sources, unit kinds, time range, import log.
- :func:`analysis` (``st.cache_resource``): one :class:`~orgnet.analysis._context.AnalysisContext`
  plus :func:`~orgnet.analysis.registry.run_analyses` per option set. Resource, not data: the run
  holds many frames and is never mutated, so copying it on every rerun would only cost time.
  The context keeps its graph views, so the Network and People pages reuse them.
- :func:`layout` (``st.cache_data``): node positions (the slow part of drawing a network).
- :func:`identity_table`, :func:`rejects_table`, :func:`review_latencies` (``st.cache_data``).

Pages are thin: read widgets, call one function here, show a figure, a table and a download.

Safety
------
No page passes ``unsafe_allow_html``. Data strings shown in markdown go through :func:`md`
(markdown special characters escaped, control characters dropped); tables go through
``st.dataframe`` (rendered as text); plot labels are HTML-escaped by the figure builders.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import polars as pl
import streamlit as st

from orgnet.analysis._context import AnalysisContext
from orgnet.analysis.registry import AnalysisRun, run_analyses
from orgnet.config import Config, load_config
from orgnet.dataset import Dataset, Window
from orgnet.exceptions import OrgnetError
from orgnet.export import neutralise_formulas
from orgnet.findings import Finding
from orgnet.workspace import Workspace, resolve_workspace_path

__all__ = [
    "AGGREGATE_ABOVE",
    "Analysis",
    "Options",
    "WorkspaceState",
    "analysis",
    "chart",
    "dataset",
    "download_frame",
    "export_frames",
    "facts",
    "findings_for",
    "guidance",
    "layout",
    "md",
    "options",
    "report_files",
    "require",
    "show_table",
    "suppress_units",
    "workspace_state",
]

CONFIG_ENV: Final = "ORGNET_APP_CONFIG"
#: Above this many people the Network page draws units as nodes by default.
AGGREGATE_ABOVE: Final = 1500
#: Finding kinds about individual people (hidden in aggregate-only mode).
PERSON_KINDS: Final = frozenset({"gatekeeper", "misaligned_person", "hidden_influencer",
                                 "informal_team", "org_change_lag", "knowledge_island"})
_MD_SPECIAL: Final = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&@^])")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_OPTIONS_KEY: Final = "_orgnet_options"


# -- text safety --------------------------------------------------------------------------------


def plain(value: object) -> str:
    """A data value as plain text: control and bidi characters dropped."""
    return "" if value is None else _CONTROL.sub("", str(value))


def md(value: object) -> str:
    """A data value safe inside markdown: every markdown special character escaped."""
    return _MD_SPECIAL.sub(r"\\\1", plain(value)).replace("\n", " ")


# -- settings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkspaceState:
    """Where the workspace is and whether it can be analysed."""

    path: Path
    state: Literal["missing", "broken", "empty", "ready"]
    message: str = ""
    fingerprint: str = ""


def workspace_path() -> Path:
    """The workspace the app serves (``$ORGNET_WORKSPACE`` or ``./orgnet-workspace``)."""
    return resolve_workspace_path(None).resolve()


def workspace_state() -> WorkspaceState:
    """Inspect the workspace without loading tables (cheap: reads ``meta.json``)."""
    path = workspace_path()
    ws = Workspace(path)
    if not ws.exists():
        if path.exists() and not path.is_dir():
            return WorkspaceState(path, "broken", f"{path} is a file, not a workspace directory")
        return WorkspaceState(path, "missing")
    try:
        meta = ws.meta()
        fingerprint = ws.fingerprint()
        tables = meta.get("tables", {})
        if not isinstance(tables, dict):
            raise OrgnetError("meta.json: 'tables' is not a mapping")
        missing = [str(f) for parts in tables.values() for f in (parts or [])
                   if not (path / "tables" / Path(str(f)).name).is_file()]
    except (OrgnetError, OSError, ValueError, TypeError, AttributeError) as exc:
        return WorkspaceState(path, "broken", str(exc))
    if missing:
        return WorkspaceState(path, "broken", f"table file(s) missing: {', '.join(missing[:3])}")
    if not tables:
        return WorkspaceState(path, "empty", fingerprint=fingerprint)
    return WorkspaceState(path, "ready", fingerprint=fingerprint)


def config() -> Config:
    """The configuration (``$ORGNET_APP_CONFIG``, else the workspace's ``orgnet.toml``)."""
    explicit = os.environ.get(CONFIG_ENV) or None
    return load_config(explicit, workspace=workspace_path())


@dataclass(frozen=True)
class Options:
    """The sidebar's choices: every cached analysis is keyed by these plus the fingerprint."""

    workspace: str
    fingerprint: str
    since: dt.date | None
    until: dt.date | None  # inclusive last day
    unit_kind: str
    sources: tuple[str, ...]
    all_sources: bool
    min_group_size: int
    aggregate_only: bool
    thresholds: str  # JSON of config.thresholds

    def key(self) -> tuple[Any, ...]:
        """A hashable key for ``st.cache_*``."""
        return dataclasses.astuple(self)

    def window(self) -> Window:
        """The half-open analysis window."""
        until = self.until + dt.timedelta(days=1) if self.until else None
        return Window.of(self.since, until)

    def describe(self) -> str:
        """One line describing the options (for captions)."""
        since = self.since.isoformat() if self.since else "start"
        until = self.until.isoformat() if self.until else "end"
        src = "all sources" if self.all_sources else ", ".join(self.sources) or "no source"
        return f"{since} to {until} · unit level {self.unit_kind} · {src}"


_HASH: Final[dict[str | type[Any], Callable[[Any], Any]]] = {Options: Options.key}


# -- cached loading -----------------------------------------------------------------------------


@st.cache_resource(max_entries=3, show_spinner="Loading the workspace…")
def dataset(workspace: str, fingerprint: str) -> Dataset:
    """The workspace's tables (``fingerprint`` is the cache key)."""
    del fingerprint
    return Dataset.from_workspace(Workspace(workspace))


@st.cache_data(max_entries=6, show_spinner=False)
def facts(workspace: str, fingerprint: str) -> dict[str, Any]:
    """Headline facts about the workspace: counts, sources, unit kinds, time range, imports."""
    ws = Workspace(workspace)
    data = dataset(workspace, fingerprint)
    counts = ws.counts()
    per_source = (
        data.interactions.group_by("source").agg(
            pl.len().alias("events"), pl.col("ts").min().alias("first"),
            pl.col("ts").max().alias("last"))
        .sort("source").collect()
    )
    kinds = data.units.group_by("kind").agg(pl.len().alias("units")).sort("kind")
    lo = per_source["first"].min() if per_source.height else None
    hi = per_source["last"].max() if per_source.height else None
    people = data.people.filter(~pl.col("is_bot"))
    return {
        "counts": counts,
        "per_source": per_source,
        "sources": per_source["source"].to_list(),
        "unit_kinds": kinds,
        "first": lo,
        "last": hi,
        "people": people.height,
        "people_in_chart": int(people["in_org_chart"].sum()) if "in_org_chart" in people.columns
        else people.height,
        "imports": list(ws.imports()),
    }


def _filtered(data: Dataset, sources: tuple[str, ...], all_sources: bool) -> Dataset:
    if all_sources:
        return data
    keep = list(sources)
    prefix = pl.col("artifact_id").str.extract(r"^([^:]+):", 1)
    return dataclasses.replace(
        data,
        interactions=data.interactions.filter(pl.col("source").is_in(keep)),
        touches=data.touches.filter(prefix.is_in(keep) | prefix.is_null()),
    )


@dataclass
class Analysis:
    """One analysis run with its context (graph views) and name lookups."""

    ctx: AnalysisContext
    run: AnalysisRun
    person_names: dict[str, str]
    unit_names: dict[str, str]
    unit_sizes: dict[str, int]
    home_unit: dict[str, str]
    seconds: float

    def frame(self, name: str) -> pl.DataFrame:
        """An analysis frame (empty when the analysis is missing)."""
        return self.run.frames.get(name, pl.DataFrame())

    def person(self, pid: str | None) -> str:
        """Display name of a person (the id when unnamed)."""
        if pid is None:
            return ""
        return self.person_names.get(pid) or pid

    def unit(self, uid: str | None) -> str:
        """Display name of a unit."""
        if uid is None:
            return ""
        return self.unit_names.get(uid) or uid


@st.cache_resource(max_entries=6, show_spinner="Running the analyses (once per set of options)…",
                   hash_funcs=_HASH)
def analysis(opts: Options) -> Analysis:
    """Every analysis and finding for the options (cached per fingerprint + options)."""
    import time

    started = time.perf_counter()
    data = _filtered(dataset(opts.workspace, opts.fingerprint), opts.sources, opts.all_sources)
    ctx = AnalysisContext(data, window=opts.window(), unit_kind=opts.unit_kind,
                          min_group_size=opts.min_group_size)
    thresholds: dict[str, dict[str, Any]] = json.loads(opts.thresholds or "{}")
    run = run_analyses(ctx, rule_options=thresholds)
    return Analysis(
        ctx=ctx, run=run,
        person_names={k: plain(v) for k, v in data.people.select("person_id", "display_name")
                      .iter_rows() if v},
        unit_names={k: plain(v) for k, v in data.units.select("unit_id", "name").iter_rows() if v},
        unit_sizes=ctx.unit_sizes(),
        home_unit=ctx.home_unit(),
        seconds=time.perf_counter() - started,
    )


@st.cache_data(max_entries=8, show_spinner="Placing the nodes…", hash_funcs=_HASH)
def layout(opts: Options, level: Literal["people", "units"]) -> pl.DataFrame:
    """Node positions of the collaboration graph (people) or of the unit graph."""
    from orgnet.viz.network import layout_positions

    a = analysis(opts)
    if level == "people":
        graph = a.ctx.graph("collaboration")
        return layout_positions(graph.edges, list(graph.nodes))
    edges, units = unit_graph(opts)
    return layout_positions(edges, units["node"].to_list())


@st.cache_data(max_entries=8, show_spinner=False, hash_funcs=_HASH)
def unit_graph(opts: Options) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Units as nodes: ``(edges src,dst,weight; units node,label,size,group)``, small units out."""
    a = analysis(opts)
    k = opts.min_group_size
    keep = {u for u, n in a.unit_sizes.items() if n >= k}
    matrix = a.frame("unit_matrix")
    if matrix.height:
        edges = (
            matrix.filter(pl.col("src_unit").is_in(list(keep)) & pl.col("dst_unit").is_in(list(keep))
                          & (pl.col("src_unit") < pl.col("dst_unit")))
            .select(pl.col("src_unit").alias("src"), pl.col("dst_unit").alias("dst"),
                    pl.col("weight").cast(pl.Float64))
        )
    else:
        edges = pl.DataFrame(schema={"src": pl.String, "dst": pl.String, "weight": pl.Float64})
    units = a.ctx.data.units
    parent = dict(units.select("unit_id", "parent_id").iter_rows())
    rows = [
        {"node": u, "label": a.unit(u), "size": a.unit_sizes[u],
         "group": a.unit(parent.get(u)) if parent.get(u) else "(top level)"}
        for u in sorted(keep)
    ]
    frame = pl.DataFrame(rows, schema={"node": pl.String, "label": pl.String, "size": pl.Int64,
                                       "group": pl.String})
    return edges, frame


@st.cache_data(max_entries=4, show_spinner=False)
def identity_table(workspace: str, fingerprint: str, show: str) -> pl.DataFrame:
    """``orgnet identities``: unresolved / ambiguous / all observed handles with event counts."""
    from orgnet.identity_report import identity_report

    data = dataset(workspace, fingerprint)
    return identity_report(data.identities, data.people, data.interactions,
                           show=show)  # type: ignore[arg-type]


@st.cache_data(max_entries=4, show_spinner=False)
def rejects_table(workspace: str, fingerprint: str) -> pl.DataFrame:
    """The ``rejects`` table (file, line, field, outcome, reason)."""
    del fingerprint
    df = Workspace(workspace).read("rejects")
    return df.with_columns(pl.col("source_file").map_elements(lambda p: Path(p).name,
                                                              return_dtype=pl.String))


@st.cache_data(max_entries=6, show_spinner=False, hash_funcs=_HASH)
def review_latencies(opts: Options) -> pl.DataFrame:
    """One row per (reviewer, change): hours to first review and whether the author is an outsider."""
    from orgnet.analysis.gatekeeping import _review_pairs

    a = analysis(opts)
    pairs: pl.DataFrame = a.ctx.cached("app:review_pairs", lambda: _review_pairs(a.ctx))
    return pairs.filter(pl.col("hours").is_not_null()).with_columns(
        pl.when(pl.col("outside")).then(pl.lit("outsiders")).otherwise(pl.lit("insiders"))
        .alias("side"))


# -- the sidebar --------------------------------------------------------------------------------


def _default_kind(kinds: Sequence[str], preferred: str) -> str:
    for k in (preferred, "team", "department", "maintainer_section", "company"):
        if k in kinds:
            return k
    return kinds[0]


def sidebar(state: WorkspaceState, cfg: Config) -> Options | None:
    """Draw the sidebar for a ready workspace and remember the options for the pages."""
    f = facts(str(state.path), state.fingerprint)
    kinds = [k for k in f["unit_kinds"]["kind"].to_list() if k]
    st.sidebar.subheader("Settings")
    st.sidebar.caption(f"Workspace: {md(state.path)}")
    if not kinds:
        st.session_state.pop(_OPTIONS_KEY, None)
        return None
    lo = f["first"].date() if f["first"] else dt.date.today()
    hi = f["last"].date() if f["last"] else dt.date.today()
    c_since = cfg.analysis.since
    c_until = cfg.analysis.until - dt.timedelta(days=1) if cfg.analysis.until else None
    start = min(max(c_since or lo, lo), hi)
    end = max(min(c_until or hi, hi), start)
    picked = st.sidebar.date_input(
        "Window", value=(start, end), min_value=lo, max_value=hi, key="window",
        help="Events from the first to the last day (inclusive). Defaults: orgnet.toml "
        "[analysis] since/until, else the whole period.", format="YYYY-MM-DD")
    since, until = start, end
    if isinstance(picked, Sequence) and len(picked) == 2:
        since, until = picked[0], picked[1]
    elif isinstance(picked, Sequence) and len(picked) == 1:
        since, until = picked[0], picked[0]
    kind = st.sidebar.selectbox("Unit level", kinds, index=kinds.index(
        _default_kind(kinds, cfg.analysis.unit_kind)), key="unit_kind",
        help="Formal units to compare the collaboration network with.")
    sources = f["sources"]
    chosen = st.sidebar.multiselect("Sources", sources, default=sources, key="sources",
                                    help="Event sources counted in every analysis.")
    floor = max(1, cfg.privacy.min_group_size)
    k = st.sidebar.number_input(
        "Minimum group size", min_value=floor, max_value=1000, value=floor, step=1, key="min_group",
        help="Privacy: no unit-level figures about units with fewer people. The floor comes "
        "from orgnet.toml [privacy] min_group_size; raise it here, lower it only in the file.")
    if cfg.privacy.aggregate_only:
        st.sidebar.info("Aggregate-only mode (orgnet.toml): person-level views are hidden.")
    opts = Options(
        workspace=str(state.path), fingerprint=state.fingerprint,
        since=since if since != lo else None, until=until if until != hi else None,
        unit_kind=str(kind), sources=tuple(sorted(chosen)),
        all_sources=set(chosen) == set(sources), min_group_size=int(k),
        aggregate_only=cfg.privacy.aggregate_only,
        thresholds=json.dumps(cfg.thresholds, sort_keys=True, default=str),
    )
    st.session_state[_OPTIONS_KEY] = opts
    return opts


def options() -> Options | None:
    """The options the router's sidebar chose in this run."""
    value = st.session_state.get(_OPTIONS_KEY)
    return value if isinstance(value, Options) else None


# -- guidance -----------------------------------------------------------------------------------


IMPORT_COMMANDS: Final = """\
orgnet import orgchart hris.csv -w {ws}
orgnet import git path/to/repo -w {ws}               # or a saved `git log` (see the docs)
orgnet import github github.jsonl.gz -w {ws}         # Perceval items or REST JSON
orgnet import slack slack-export.zip -w {ws}
orgnet import owners CODEOWNERS --container owner/repo -w {ws}
orgnet import auto ANY-EXPORT -w {ws}                # detects the format
orgnet app -w {ws}"""


def guidance(state: WorkspaceState) -> None:
    """What to do when there is nothing to show (missing, empty or broken workspace)."""
    ws = str(state.path)
    if state.state == "broken":
        st.error("This workspace cannot be read.", icon=":material/error:")
        st.text(plain(state.message))
        st.markdown("Check the folder, restore it from a backup, or point the dashboard at "
                    "another workspace:")
        st.code(f"orgnet status -w {ws}\norgnet app -w OTHER-WORKSPACE", language="bash")
        return
    if state.state == "missing":
        st.info("No workspace here yet: import some data first.", icon=":material/inventory_2:")
    else:
        st.info("The workspace is empty: import some data first.", icon=":material/inventory_2:")
    st.markdown("Start with the org chart (so every handle resolves to a person), then the "
                "traces. Run in a terminal:")
    st.code(IMPORT_COMMANDS.format(ws=ws), language="bash")
    st.markdown("Or try the bundled sample organisation:")
    st.code("orgnet demo", language="bash")
    st.markdown("You can also upload an export on the **Data** page.")


def require() -> tuple[Options, Analysis] | None:
    """The options and analysis for a page, or guidance and ``None`` when there is no data."""
    opts = options()
    state = workspace_state()
    if opts is None or state.state != "ready":
        if state.state == "ready":
            st.info("The workspace has no formal units yet: import an org chart "
                    "(orgnet import orgchart hris.csv) or derive company units "
                    "(orgnet units from-email-domains).", icon=":material/apartment:")
        else:
            guidance(state)
        return None
    try:
        a = analysis(opts)
    except OrgnetError as exc:
        st.error("The analyses could not run on this workspace.", icon=":material/error:")
        st.text(plain(exc))
        return None
    return opts, a


def page(title: str, *, need_events: bool = True, person_level: bool = False
         ) -> tuple[Options, Analysis]:
    """Start an analysis page: its title, then the options and analysis, or stop the page.

    Stops (after showing why) when there is no data yet, when ``person_level`` and the privacy
    settings are aggregate-only, and when ``need_events`` and the window holds no events.
    """
    st.title(title)
    got = require()
    if got is None:
        st.stop()
    assert got is not None  # st.stop() raises; for the type checker
    opts, a = got
    if person_level and opts.aggregate_only:
        st.info("Aggregate-only mode (orgnet.toml [privacy]): person-level views are hidden.")
        st.stop()
    st.caption(md(opts.describe()))
    if need_events and no_events(a, opts):
        st.stop()
    return opts, a


def no_events(a: Analysis, opts: Options) -> bool:
    """Show a note and return True when the window holds no events."""
    align = a.frame("alignment")
    n = int(align["n_people"][0]) if align.height and "n_people" in align.columns else 0
    if a.ctx.graph("collaboration").edges.height == 0 and n == 0:
        st.info(f"No collaboration in this window ({md(opts.describe())}). Widen the window or "
                "select more sources in the sidebar.", icon=":material/event_busy:")
        return True
    return False


# -- privacy helpers ----------------------------------------------------------------------------


def suppress_units(
    frame: pl.DataFrame, columns: Sequence[str], a: Analysis, k: int
) -> tuple[pl.DataFrame, int]:
    """Drop rows naming a unit with fewer than ``k`` members; return the frame and rows dropped.

    Units of another kind than the analysed one (no size known) are kept.
    """
    small = [u for u, n in a.unit_sizes.items() if n < k]
    if not small or frame.height == 0:
        return frame, 0
    cond = pl.lit(True)
    for c in columns:
        if c in frame.columns:
            cond = cond & ~pl.col(c).is_in(small).fill_null(False)
    kept = frame.filter(cond)
    return kept, frame.height - kept.height


def suppressed_note(n: int, k: int, what: str = "rows") -> None:
    """Say how many rows the privacy threshold hid."""
    if n:
        st.caption(f"Suppressed: {n} {what} about units with fewer than {k} people.")


def findings_for(a: Analysis, opts: Options, kinds: Iterable[str] | None = None) -> list[Finding]:
    """Findings (optionally of some kinds); person-level ones are dropped in aggregate-only mode."""
    wanted = set(kinds) if kinds is not None else None
    out = []
    for f in a.run.findings:
        if wanted is not None and f.kind not in wanted:
            continue
        if opts.aggregate_only and (f.people or f.kind in PERSON_KINDS):
            continue
        out.append(f)
    return out


# -- output helpers -----------------------------------------------------------------------------


def named(frame: pl.DataFrame, a: Analysis, *, people: Sequence[str] = (),
          units: Sequence[str] = ()) -> pl.DataFrame:
    """Add name columns for person and unit id columns; names first, the ids moved to the end.

    ``person_id`` gets ``person``, ``unit_id`` gets ``unit``, any other column ``c`` gets
    ``c_name``.
    """
    out = frame
    added: list[str] = []
    ids: list[str] = []
    for cols, names in ((people, a.person_names), (units, a.unit_names)):
        for c in cols:
            if c not in out.columns or out.schema[c] != pl.String:
                continue
            target = c.removesuffix("_id") if c.endswith("_id") else f"{c}_name"
            if target in out.columns:
                target = f"{c}_name"
            out = out.with_columns(pl.col(c).replace_strict(names, default=pl.col(c)).alias(target))
            added.append(target)
            ids.append(c)
    rest = [c for c in out.columns if c not in added and c not in ids]
    return out.select(added + rest + ids)


def _display_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists joined with ``; ``, strings stripped of control characters."""
    return frame.with_columns(
        *[pl.col(c).cast(pl.List(pl.String)).list.join("; ").alias(c)
          for c, t in frame.schema.items() if isinstance(t, pl.List)],
    ).with_columns(
        *[pl.col(c).str.replace_all(_CONTROL.pattern, "") for c, t in frame.schema.items()
          if t == pl.String],
    )


def show_table(frame: pl.DataFrame, *, height: int | None = None, key: str | None = None) -> None:
    """A table rendered as text (never HTML), lists joined, dates as ISO text.

    ``height`` caps a long table; a short one takes only the room its rows need.
    """
    if frame.height == 0:
        st.caption("No rows.")
        return
    df = _display_ready(frame).with_columns(
        *[pl.col(c).dt.to_string("%Y-%m-%d") for c, t in frame.schema.items() if t == pl.Date],
        *[pl.col(c).dt.to_string("%Y-%m-%d %H:%M") for c, t in frame.schema.items()
          if isinstance(t, pl.Datetime)],
    )
    kwargs: dict[str, Any] = {"hide_index": True, "width": "stretch"}
    if height is not None and 35 * frame.height + 40 > height:
        kwargs["height"] = height
    if key is not None:
        kwargs["key"] = key
    st.dataframe(df.to_pandas(), **kwargs)


def frame_bytes(frame: pl.DataFrame, fmt: Literal["csv", "parquet", "json"]) -> bytes:
    """A frame as CSV (formula-safe), Parquet or JSON bytes."""
    buf = io.BytesIO()
    if fmt == "parquet":
        frame.write_parquet(buf)
        return buf.getvalue()
    if fmt == "json":
        return frame.write_json().encode("utf-8")
    return neutralise_formulas(_display_ready(frame)).write_csv().encode("utf-8")


def download_frame(frame: pl.DataFrame, name: str, *, label: str | None = None,
                   key: str | None = None) -> None:
    """A CSV download button for a frame (formula-safe)."""
    st.download_button(label or f"Download {name}.csv", data=frame_bytes(frame, "csv"),
                       file_name=f"{name}.csv", mime="text/csv", key=key or f"dl-{name}",
                       on_click="ignore")


def finding_cards(findings: Sequence[Finding], *, limit: int = 10, key: str = "f") -> None:
    """Findings as cards: the plain sentence, severity, and the evidence in an expander."""
    if not findings:
        st.caption("No findings of this kind in this window.")
        return
    for i, f in enumerate(findings[:limit]):
        with st.container(border=True):
            left, right = st.columns([5, 1])
            left.markdown(f"**{md(f.title)}**")
            right.caption(md(f.kind.replace("_", " ")))
            right.progress(min(max(float(f.severity), 0.0), 1.0), text=f"severity {f.severity:.2f}")
            with st.expander("Evidence", expanded=False):
                if f.people:
                    st.text("People: " + ", ".join(plain(n) or p for p, n in f.people))
                if f.units:
                    st.text("Units: " + ", ".join(plain(n) or u for u, n in f.units))
                st.json(_jsonable(dict(f.evidence)), expanded=True)
                st.caption(f"finding id {md(f.id)}")
        del i
    if len(findings) > limit:
        st.caption(f"{len(findings) - limit} more in the Export page's findings.json.")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {plain(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, str):
        return plain(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value



# -- exports ------------------------------------------------------------------------------------


@st.cache_data(max_entries=4, show_spinner=False, hash_funcs=_HASH)
def export_frames(opts: Options) -> dict[str, pl.DataFrame]:
    """Analysis frames with the privacy settings applied (small units out, people out if asked)."""
    from orgnet.report.build import _PERSON_COLUMNS, _UNIT_COLUMNS, PERSON_FRAMES

    a = analysis(opts)
    out: dict[str, pl.DataFrame] = {}
    for name, df in a.run.frames.items():
        if opts.aggregate_only and name in PERSON_FRAMES:
            continue
        frame, _ = suppress_units(df, _UNIT_COLUMNS.get(name, ()), a, opts.min_group_size)
        if opts.aggregate_only:
            frame = frame.drop([c for c in _PERSON_COLUMNS if c in frame.columns])
        out[name] = frame
    return out


@st.cache_data(max_entries=4, show_spinner="Building the report…", hash_funcs=_HASH)
def report_files(opts: Options, formats: tuple[str, ...]) -> dict[str, bytes]:
    """``orgnet report`` for the options: file name (relative) -> bytes."""
    import tempfile

    from orgnet.report import build_report, render_report

    cfg = config()
    cfg = dataclasses.replace(
        cfg, privacy=dataclasses.replace(cfg.privacy, min_group_size=opts.min_group_size))
    data = _filtered(dataset(opts.workspace, opts.fingerprint), opts.sources, opts.all_sources)
    report = build_report(data, window=opts.window(), unit_kind=opts.unit_kind, config=cfg)
    with tempfile.TemporaryDirectory(prefix="orgnet-report-") as tmp:
        written = render_report(report, tmp, formats=formats or ("json",))
        root = Path(tmp)
        return {str(p.relative_to(root)): p.read_bytes()
                for paths in written.values() for p in paths}


#: Modebar buttons left out: the few kept (download image, zoom, pan, reset) fit beside a title.
_MODEBAR_REMOVE: Final = ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d",
                          "toggleSpikelines", "hoverClosestCartesian", "hoverCompareCartesian"]


def chart(fig: Any, *, where: Any = None, **kwargs: Any) -> Any:
    """Show a plotly figure full width with a small modebar (``where``: a column, default page)."""
    target = where if where is not None else st
    config = {"displaylogo": False, "modeBarButtonsToRemove": _MODEBAR_REMOVE,
              "toImageButtonOptions": {"format": "png", "scale": 2}}
    return target.plotly_chart(fig, width="stretch", config=config, **kwargs)
