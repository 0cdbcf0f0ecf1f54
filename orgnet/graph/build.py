"""Graph views from the canonical tables (ANALYSES §0).

Views, each a :class:`Graph` over people (bots excluded by default):

``review``
    Directed, change author -> reviewer, for every review, approval, vote, inline review comment,
    ``Reviewed-by``/``Acked-by``/``Tested-by`` trailer and ``r=`` approval.
``communication``
    Directed, actor -> addressee for replies, mentions, comments on a change (-> its author), mail
    replies, direct messages, review requests and reactions; plus thread co-participation projected
    with Newman weights ``1/(k-1)`` (both directions).
``coedit``
    Undirected coordination requirements ``CR = TA·D·TAᵀ`` (zero diagonal), ``TA`` people x files
    (or directories at ``coedit_depth``), ``D`` the Newman projection weights ``1/(k_f - 1)`` of
    a file changed by ``k_f`` people (hub files such as release notes do not tie everyone to
    everyone). A change touching ``n > changeset_cap`` files counts ``changeset_cap/n`` per
    file, so mass renames and vendoring are not collaboration.
``collaboration``
    Undirected weighted sum of the three, each view first scaled to mean edge weight 1.

Event weights: ``kind_weights`` per event kind, optional exponential decay with ``half_life_days``
towards the window end. Undirected pairs are canonicalised (``src < dst``) before aggregation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Literal

import networkx as nx
import numpy as np
import polars as pl
import scipy.sparse as sp

from orgnet.dataset import Dataset, Window

__all__ = [
    "COMMUNICATION_KINDS",
    "DEFAULT_KIND_WEIGHTS",
    "REVIEW_KINDS",
    "REVIEW_TRAILERS",
    "Graph",
    "GraphOptions",
    "View",
    "build_view",
    "person_events",
    "unit_matrix",
]

View = Literal["review", "communication", "coedit", "collaboration"]

REVIEW_KINDS: Final = frozenset(
    {"review_approved", "review_changes_requested", "review_commented", "review_dismissed", "vote",
     "review_comment"}
)
REVIEW_TRAILERS: Final = frozenset({"Reviewed-by", "Acked-by", "Tested-by"})
COMMUNICATION_KINDS: Final = frozenset(
    {"chat_reply", "email_reply", "mention", "comment", "reaction", "review_requested",
     "chat_message"}
)
THREAD_KINDS: Final = frozenset(
    {"chat_message", "chat_reply", "email_message", "email_reply", "comment", "review_comment",
     "review_commented"}
)
DEFAULT_KIND_WEIGHTS: Final[Mapping[str, float]] = MappingProxyType(
    {"reaction": 0.25, "mention": 0.5, "review_requested": 0.5, "review_dismissed": 0.5}
)
EDGE_SCHEMA: Final = {"src": pl.String, "dst": pl.String, "weight": pl.Float64}


@dataclass(frozen=True)
class GraphOptions:
    """How to turn events into edges.

    Attributes
    ----------
    window
        Time window of the events.
    exclude_bots
        Drop events whose actor or target is a bot (default true).
    kind_weights
        Weight per event kind (default 1; reactions 0.25, mentions 0.5 ...).
    view_weights
        Weight of each view in the collaboration graph.
    half_life_days
        Exponential decay of event weight towards the window end (``None``: no decay).
    changeset_cap
        Changes touching more files than this are down-weighted to ``cap/n`` per file.
    coedit_depth
        ``None`` for files; ``k`` aggregates paths to their first ``k`` directories.
    max_thread_size
        Threads with more participants are not projected (a channel is not a conversation).
    """

    window: Window = field(default_factory=Window)
    exclude_bots: bool = True
    kind_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_KIND_WEIGHTS))
    view_weights: Mapping[str, float] = field(
        default_factory=lambda: {"review": 1.0, "communication": 1.0, "coedit": 1.0}
    )
    half_life_days: float | None = None
    changeset_cap: int = 30
    coedit_depth: int | None = None
    max_thread_size: int = 30


@dataclass(frozen=True)
class Graph:
    """A weighted graph over people: an edge table plus a node index.

    Integer positions exist only inside :meth:`to_sparse`'s result, always returned with the
    ``names`` that label them (the scikit-network convention).
    """

    edges: pl.DataFrame
    nodes: tuple[str, ...]
    directed: bool
    view: str

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    def to_sparse(self) -> tuple[sp.csr_matrix, list[str]]:
        """CSR adjacency (symmetric when undirected) and the node names labelling its rows."""
        n = len(self.nodes)
        if self.edges.height == 0:
            return sp.csr_matrix((n, n), dtype=np.float64), list(self.nodes)
        names = pl.Series(self.nodes, dtype=pl.String)
        positions = pl.Series(np.arange(n, dtype=np.int64))
        ends = self.edges.select(
            pl.col(c).replace_strict(names, positions, return_dtype=pl.Int64).alias(c)
            for c in ("src", "dst"))
        src, dst = ends["src"].to_numpy(), ends["dst"].to_numpy()
        w = self.edges["weight"].to_numpy().astype(np.float64)
        if not self.directed:
            src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
            w = np.concatenate([w, w])
        mat = sp.csr_matrix((w, (src, dst)), shape=(n, n))
        mat.sum_duplicates()
        return mat, list(self.nodes)

    def to_networkx(self) -> nx.Graph | nx.DiGraph:
        """A networkx graph with a ``weight`` attribute on every edge and every node present."""
        g: nx.Graph | nx.DiGraph = nx.DiGraph() if self.directed else nx.Graph()
        g.add_nodes_from(self.nodes)
        g.add_weighted_edges_from(self.edges.select("src", "dst", "weight").iter_rows())
        g.graph["view"] = self.view
        return g

    def restrict(self, nodes: list[str] | set[str]) -> Graph:
        """The subgraph induced by ``nodes`` (kept in this graph's order)."""
        keep = set(nodes)
        sub_nodes = tuple(n for n in self.nodes if n in keep)
        kept = sorted(keep & set(self.nodes))
        edges = self.edges.filter(pl.col("src").is_in(kept) & pl.col("dst").is_in(kept))
        return Graph(edges, sub_nodes, self.directed, self.view)


def person_events(data: Dataset, options: GraphOptions | None = None, *,
                  codes: bool = False) -> pl.LazyFrame:
    """Events in the window with actor and target mapped to people.

    Parameters
    ----------
    data
        The dataset.
    options
        Window, bots and weights.
    codes
        Give the text columns (``source, kind, actor, target, artifact_id, container, value``)
        as ``pl.Categorical`` codes, cast as the events are read, so the identity joins
        run on 4-byte keys and no text column is ever built for the whole table (the
        analysis context's compact table; the streaming query's peak at 10,000 people x 12
        months: about 0.9 GiB above its input instead of 1.9).

    Returns
    -------
    pl.LazyFrame
        Columns ``event_id, source, kind, actor, target, artifact_id, container, ts, value, w``;
        ``w`` is the event's weight after kind weights and decay. Self-edges (actor == target
        after identity resolution) have ``target`` set to null; bot events are dropped when
        ``exclude_bots``.
    """
    opts = options or GraphOptions()
    idmap = data.identity_map().lazy()
    ev = data.interactions.filter(opts.window.expr("ts"))
    if codes:
        text = ["source", "kind", "actor_id", "target_id", "artifact_id", "container", "value"]
        ev = ev.with_columns(pl.col(text).cast(pl.Categorical))
        idmap = idmap.with_columns(pl.col("identity_id", "person_id").cast(pl.Categorical))
    ev = (
        ev.join(idmap.select(pl.col("identity_id").alias("actor_id"), pl.col("person_id").alias("actor"),
                             pl.col("is_bot").alias("actor_bot")), on="actor_id", how="left")
        .join(idmap.select(pl.col("identity_id").alias("target_id"),
                           pl.col("person_id").alias("target"), pl.col("is_bot").alias("target_bot")),
              on="target_id", how="left")
        .with_columns(
            pl.coalesce("actor", "actor_id").alias("actor"),
            pl.when(pl.col("target_id").is_null()).then(None)
            .otherwise(pl.coalesce("target", "target_id")).alias("target"),
            pl.col("actor_bot").fill_null(False),
            pl.col("target_bot").fill_null(False),
        )
    )
    if opts.exclude_bots:
        ev = ev.filter(~pl.col("actor_bot") & ~pl.col("target_bot"))
    ev = ev.with_columns(
        pl.when(pl.col("target") == pl.col("actor")).then(None).otherwise(pl.col("target"))
        .alias("target")
    )
    kw = dict(opts.kind_weights)
    w = pl.col("weight") * pl.col("kind").replace_strict(kw, default=1.0, return_dtype=pl.Float64)
    if opts.half_life_days:
        end = opts.window.until or dt.datetime.now(dt.UTC)
        age_days = (pl.lit(end) - pl.col("ts")).dt.total_seconds() / 86400.0
        w = w * (0.5 ** (age_days / opts.half_life_days))
    return ev.with_columns(w.alias("w")).select(
        "event_id", "source", "kind", "actor", "target", "artifact_id", "container", "ts", "value", "w"
    )


def _sum_pairs(edges: pl.LazyFrame, directed: bool) -> pl.DataFrame:
    """Weights summed per pair (per unordered pair unless ``directed``), self-pairs and
    non-positive totals dropped, sorted by ``src, dst``."""
    if not directed:
        edges = edges.with_columns(
            pl.min_horizontal("src", "dst").alias("src"), pl.max_horizontal("src", "dst").alias("dst")
        )
    return (
        edges.filter(pl.col("src") != pl.col("dst"))
        .group_by("src", "dst")
        .agg(pl.col("weight").sum())
        .filter(pl.col("weight") > 0)
        .sort("src", "dst")
        .collect()
    )


def _aggregate(edges: pl.LazyFrame, directed: bool) -> pl.DataFrame:
    """:func:`_sum_pairs` of an edge list whose people are text or dictionary codes (the
    analysis context's compact event table).

    With codes, each person present is decoded once and ranked in text order, and the same
    rows, in the same order, are summed on the ranks, so the smaller and larger end of an
    undirected edge, the sort and every weight's sum are exactly those of the text (codes
    themselves are not in text order). Only the people are decoded, not every edge row: at
    10,000 people the whole-window communication view took 1.8-2.1 s instead of 2.1-2.6 s and
    the collaboration view 3.4-4.3 s instead of 4.5-4.8 s (alternating runs).
    """
    if edges.collect_schema()["src"] != pl.Categorical:
        return _sum_pairs(edges, directed)
    df = edges.select("src", "dst", "weight").collect()
    people = pl.concat([df["src"], df["dst"]]).drop_nulls().unique()
    key = (pl.DataFrame({"code": people.to_physical(), "name": people.cast(pl.String)})
           .sort("name").with_row_index("rank"))
    codes, ranks = key["code"], key["rank"]

    def rank(name: str) -> pl.Expr:
        return pl.col(name).to_physical().replace_strict(codes, ranks, default=None)

    lf = df.lazy().select(rank("src").alias("src"), rank("dst").alias("dst"), "weight")
    del df
    out = _sum_pairs(lf, directed)
    names = key["name"]
    return pl.DataFrame([names.gather(out["src"]).alias("src"), names.gather(out["dst"]).alias("dst"),
                         out["weight"]])


def review_edges(events: pl.LazyFrame) -> pl.LazyFrame:
    """Author -> reviewer edges of review events (the reviewer is the event's actor).

    ``events`` is :func:`person_events` or the compact table of the same rows (then people
    stay codes until :func:`_aggregate`)."""
    is_review = pl.col("kind").is_in(sorted(REVIEW_KINDS)) | (
        (pl.col("kind") == "commit_trailer") & pl.col("value").is_in(sorted(REVIEW_TRAILERS))
    )
    return events.filter(is_review & pl.col("target").is_not_null()).select(
        pl.col("target").alias("src"), pl.col("actor").alias("dst"), pl.col("w").alias("weight")
    )


def communication_edges(events: pl.LazyFrame, max_thread_size: int = 30) -> pl.LazyFrame:
    """Actor -> addressee edges, plus thread co-participation (Newman ``1/(k-1)``, both ways).

    ``events`` is :func:`person_events` or the compact table of the same rows (then people
    stay codes until :func:`_aggregate`)."""
    direct = events.filter(
        pl.col("kind").is_in(sorted(COMMUNICATION_KINDS)) & pl.col("target").is_not_null()
    ).select(pl.col("actor").alias("src"), pl.col("target").alias("dst"), pl.col("w").alias("weight"))
    threads = (
        events.filter(pl.col("kind").is_in(sorted(THREAD_KINDS)) & pl.col("artifact_id").is_not_null())
        .group_by("artifact_id", "actor")
        .agg(pl.len().alias("n"))
    )
    sizes = threads.group_by("artifact_id").agg(pl.len().alias("k"))
    members = threads.join(sizes, on="artifact_id").filter(
        (pl.col("k") >= 2) & (pl.col("k") <= max_thread_size)
    )
    pairs = (
        members.join(members.select("artifact_id", pl.col("actor").alias("other")), on="artifact_id")
        .filter(pl.col("actor") != pl.col("other"))
        .select(pl.col("actor").alias("src"), pl.col("other").alias("dst"),
                (1.0 / (pl.col("k") - 1)).alias("weight"))
    )
    return pl.concat([direct, pairs])


def coedit_matrix(
    data: Dataset, options: GraphOptions | None = None
) -> tuple[sp.csr_matrix, list[str], list[str]]:
    """The people x artifacts matrix ``TA`` of the window, with change-set caps applied.

    Returns
    -------
    (TA, people, paths)
        ``TA`` is CSR; ``people`` and ``paths`` label its rows and columns.
    """
    opts = options or GraphOptions()
    idmap = data.identity_map().lazy()
    t = data.touches.filter(opts.window.expr("ts")).join(
        idmap.select(pl.col("identity_id").alias("actor_id"), pl.col("person_id").alias("person"),
                     pl.col("is_bot").alias("bot")),
        on="actor_id", how="left",
    ).with_columns(pl.coalesce("person", "actor_id").alias("person"), pl.col("bot").fill_null(False))
    if opts.exclude_bots:
        t = t.filter(~pl.col("bot"))
    t = t.drop_nulls("person")
    path = pl.col("path")
    if opts.coedit_depth is not None:
        path = path.str.split("/").list.head(opts.coedit_depth).list.join("/")
    t = t.with_columns(path.alias("path"), pl.len().over("artifact_id").alias("n_files"))
    cap = float(opts.changeset_cap)
    t = t.with_columns(
        pl.when(pl.col("n_files") > cap).then(cap / pl.col("n_files")).otherwise(1.0).alias("w")
    )
    ta = t.group_by("person", "path").agg(pl.col("w").sum()).collect()
    if ta.height == 0:
        return sp.csr_matrix((0, 0)), [], []
    # Row and column numbers are the dense ranks of the sorted distinct names.
    idx = ta.select(
        (pl.col("person").rank("dense") - 1).cast(pl.Int64).alias("row"),
        (pl.col("path").rank("dense") - 1).cast(pl.Int64).alias("col"),
    )
    people = ta["person"].unique().sort().to_list()
    paths = ta["path"].unique().sort().to_list()
    mat = sp.csr_matrix((ta["w"].to_numpy(), (idx["row"].to_numpy(), idx["col"].to_numpy())),
                        shape=(len(people), len(paths)))
    return mat, people, paths


def coedit_edges(data: Dataset, options: GraphOptions | None = None, *,
                 matrix: tuple[sp.csr_matrix, list[str], list[str]] | None = None) -> pl.DataFrame:
    """Undirected coordination requirements ``CR = TA·D·TAᵀ`` as an edge table (``src < dst``).

    ``matrix`` is :func:`coedit_matrix` of the same data and options, when already computed.
    """
    ta, people, _paths = matrix if matrix is not None else coedit_matrix(data, options)
    if not people:
        return pl.DataFrame(schema=EDGE_SCHEMA)
    # Newman projection weights: a file changed by k people adds 1/(k-1) per pair, so release
    # notes and build files that everyone touches do not tie everyone to everyone.
    editors = np.asarray((ta > 0).sum(axis=0)).ravel().astype(np.float64)
    scale = np.where(editors >= 2, 1.0 / np.maximum(editors - 1, 1), 0.0)
    cr = sp.triu(ta @ sp.diags(scale) @ ta.T, k=1).tocoo()
    names = np.array(people, dtype=object)
    return pl.DataFrame(
        {"src": names[cr.row].tolist(), "dst": names[cr.col].tolist(), "weight": cr.data},
        schema=EDGE_SCHEMA,
    ).filter(pl.col("weight") > 0).sort("src", "dst")


def _scaled(edges: pl.DataFrame) -> pl.DataFrame:
    if edges.height == 0:
        return edges
    mean = float(edges["weight"].mean())  # type: ignore[arg-type]
    return edges.with_columns(pl.col("weight") / (mean or 1.0))


def _nodes(data: Dataset, edges: pl.DataFrame, options: GraphOptions) -> tuple[str, ...]:
    people = data.people
    if options.exclude_bots:
        people = people.filter(~pl.col("is_bot"))
    ids = pl.concat([people["person_id"], edges["src"], edges["dst"]]).unique().sort()
    return tuple(ids.to_list())  # UTF-8 byte order = code point order = Python's str order


def build_view(data: Dataset, view: View, options: GraphOptions | None = None, *,
               events: pl.LazyFrame | None = None,
               coedit: pl.DataFrame | None = None,
               matrix: tuple[sp.csr_matrix, list[str], list[str]] | None = None) -> Graph:
    """Build one graph view over people.

    Parameters
    ----------
    data
        The dataset.
    view
        ``review``, ``communication``, ``coedit`` or ``collaboration``.
    options
        Window, bots, weights, caps.
    events
        ``person_events(data, options)`` when already collected (an analysis context passes
        its cached events, so the event table is not scanned again for every view).
    coedit
        The ``coedit`` view's edges for the same options, when already built (reused by the
        ``collaboration`` view).
    matrix
        :func:`coedit_matrix` for the same options, when already computed (the ``coedit`` view
        is built from it).

    Returns
    -------
    Graph
        Every non-bot person is a node (isolated ones too), so node sets agree across views.
    """
    opts = options or GraphOptions()
    if events is None:
        events = person_events(data, opts)
    if view == "review":
        edges = _aggregate(review_edges(events), directed=True)
        return Graph(edges, _nodes(data, edges, opts), True, view)
    if view == "communication":
        edges = _aggregate(communication_edges(events, opts.max_thread_size), directed=True)
        return Graph(edges, _nodes(data, edges, opts), True, view)
    if view == "coedit":
        edges = coedit_edges(data, opts, matrix=matrix)
        return Graph(edges, _nodes(data, edges, opts), False, view)
    if view == "collaboration":
        parts = []
        for name, builder in (
            ("review", lambda: _aggregate(review_edges(events), directed=False)),
            ("communication", lambda: _aggregate(
                communication_edges(events, opts.max_thread_size), directed=False)),
            ("coedit", lambda: coedit if coedit is not None else coedit_edges(data, opts)),
        ):
            weight = float(opts.view_weights.get(name, 1.0))
            if weight == 0:
                continue
            part = _scaled(builder())
            parts.append(part.with_columns(pl.col("weight") * weight))
        edges = _aggregate(pl.concat(parts).lazy(), directed=False) if parts else pl.DataFrame(
            schema=EDGE_SCHEMA)
        return Graph(edges, _nodes(data, edges, opts), False, view)
    raise ValueError(f"unknown view {view!r}; expected review, communication, coedit or collaboration")


def unit_matrix(graph: Graph, membership: pl.DataFrame) -> pl.DataFrame:
    """Aggregate a person graph to units: ``Mᵀ W M`` with ``M`` the people x units shares.

    Parameters
    ----------
    graph
        A person graph.
    membership
        ``person_id, unit_id, share`` (from :func:`orgnet.graph.formal.membership_at`).

    Returns
    -------
    pl.DataFrame
        ``src_unit, dst_unit, weight`` (directed graphs keep direction; undirected ones give both
        directions of each unit pair and the within-unit weight once on the diagonal).
    """
    m = membership.select("person_id", "unit_id", "share")
    e = graph.edges
    if not graph.directed:
        e = pl.concat([e, e.filter(pl.col("src") != pl.col("dst")).select(
            pl.col("dst").alias("src"), pl.col("src").alias("dst"), "weight")])
    out = (
        e.join(m.rename({"person_id": "src", "unit_id": "src_unit", "share": "s1"}), on="src")
        .join(m.rename({"person_id": "dst", "unit_id": "dst_unit", "share": "s2"}), on="dst")
        .group_by("src_unit", "dst_unit")
        .agg((pl.col("weight") * pl.col("s1") * pl.col("s2")).sum().alias("weight"))
    )
    if not graph.directed:
        # Within-unit pairs were counted in both directions above.
        out = out.with_columns(
            pl.when(pl.col("src_unit") == pl.col("dst_unit")).then(pl.col("weight") / 2)
            .otherwise(pl.col("weight")).alias("weight")
        )
    return out.sort("src_unit", "dst_unit")
