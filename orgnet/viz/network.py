"""Network drawings: the collaboration graph, one person's ego network, units as nodes.

Builders are pure: frames in, a :class:`plotly.graph_objects.Figure` out. Positions come from
:func:`layout_positions` (deterministic: a seeded spring layout up to ``spring_max_nodes`` nodes,
a spectral embedding beyond), computed once by the caller and passed in, so a dashboard can cache
them. Every label reaching plotly is HTML-escaped first: plotly renders a subset of HTML in text
and hover labels (``<a href>``, ``<b>``), and names come from the data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Final

import networkx as nx
import numpy as np
import plotly.graph_objects as go
import polars as pl
import scipy.sparse as sp

from orgnet.viz.charts import short_label

__all__ = [
    "GL_ABOVE",
    "NETWORK_PALETTE",
    "color_map",
    "ego_edges",
    "ego_figure",
    "layout_positions",
    "network_figure",
    "unit_network_figure",
]

#: Above this many nodes scatter traces switch to WebGL (``go.Scattergl``).
GL_ABOVE: Final = 2000
#: Categorical colours (colour-blind-aware first, then more distinct hues), cycled when needed.
NETWORK_PALETTE: Final[tuple[str, ...]] = (
    "#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#EECA3B", "#B279A2", "#FF9DA6",
    "#9D755D", "#1F77B4", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#BCBD22",
    "#17BECF", "#393B79", "#637939", "#8C6D31", "#843C39", "#7B4173", "#3182BD", "#E6550D",
    "#31A354", "#756BB1", "#6BAED6", "#FDAE6B",
)
_OTHER_COLOR: Final = "#C8C8C8"
_EDGE_COLOR: Final = "rgba(120,120,120,0.22)"


def safe_label(value: object, *, limit: int = 80) -> str:
    """:func:`~orgnet.viz.charts.short_label`: control characters dropped, HTML escaped, shortened."""
    return short_label(value, limit)


def color_map(groups: Sequence[str | None]) -> dict[str, str]:
    """Group -> colour, largest groups first (so the common ones get the distinct colours)."""
    counts: dict[str, int] = {}
    for g in groups:
        key = "" if g is None else str(g)
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts, key=lambda g: (-counts[g], g))
    out = {g: NETWORK_PALETTE[i % len(NETWORK_PALETTE)] for i, g in enumerate(x for x in ordered if x != "")}
    out[""] = _OTHER_COLOR
    return out


def _sparse(edges: pl.DataFrame, nodes: Sequence[str]) -> sp.csr_matrix:
    index = {n: i for i, n in enumerate(nodes)}
    n = len(nodes)
    keep = edges.filter(pl.col("src").is_in(list(index)) & pl.col("dst").is_in(list(index))
                        & (pl.col("src") != pl.col("dst")))
    if keep.height == 0:
        return sp.csr_matrix((n, n), dtype=np.float64)
    src = np.array([index[s] for s in keep["src"]], dtype=np.int64)
    dst = np.array([index[d] for d in keep["dst"]], dtype=np.int64)
    w = keep["weight"].cast(pl.Float64).fill_null(1.0).to_numpy()
    mat = sp.csr_matrix((np.concatenate([w, w]), (np.concatenate([src, dst]),
                                                 np.concatenate([dst, src]))), shape=(n, n))
    mat.sum_duplicates()
    return mat


def layout_positions(
    edges: pl.DataFrame,
    nodes: Sequence[str],
    *,
    seed: int = 7,
    spring_max_nodes: int = GL_ABOVE,
    iterations: int | None = None,
) -> pl.DataFrame:
    """Deterministic 2-D positions for a weighted undirected graph.

    Parameters
    ----------
    edges
        ``src, dst, weight``.
    nodes
        Every node to place (isolated ones included).
    seed
        Seed of the spring layout: the same graph and seed give the same picture.
    spring_max_nodes
        Up to this many nodes: :func:`networkx.spring_layout` (Fruchterman-Reingold, weighted).
        Beyond: a 2-D spectral embedding (scikit-network ``Spectral``), which scales to tens of
        thousands of nodes.
    iterations
        Spring layout iterations (default: 100 up to 500 nodes, else 50; each costs
        O(nodes²)).

    Returns
    -------
    pl.DataFrame
        ``node, x, y`` with coordinates in ``[-1, 1]``.
    """
    names = list(dict.fromkeys(str(n) for n in nodes))
    if not names:
        return pl.DataFrame(schema={"node": pl.String, "x": pl.Float64, "y": pl.Float64})
    if len(names) == 1:
        return pl.DataFrame({"node": names, "x": [0.0], "y": [0.0]})
    adj = _sparse(edges, names)
    if len(names) <= spring_max_nodes:
        g = nx.Graph()
        g.add_nodes_from(range(len(names)))
        coo = sp.triu(adj, k=1).tocoo()
        # Squared relative weights: strong (teammate) ties pull much harder than incidental ones,
        # so teams show as clusters instead of one hairball.
        mean = float(coo.data.mean()) if coo.nnz else 1.0
        g.add_weighted_edges_from(
            (int(i), int(j), float((w / mean) ** 2))
            for i, j, w in zip(coo.row, coo.col, coo.data, strict=True)
        )
        rounds = iterations if iterations is not None else (100 if len(names) <= 500 else 50)
        pos = nx.spring_layout(g, seed=seed, weight="weight", iterations=rounds)
        xy = np.array([pos[i] for i in range(len(names))], dtype=np.float64)
    else:
        from sknetwork.embedding import Spectral

        embedding = Spectral(n_components=2, normalized=True).fit_transform(adj)
        xy = np.asarray(embedding, dtype=np.float64)
        # Spread ties along each axis: rank-transform so dense cores do not collapse to a dot.
        rng = np.random.default_rng(seed)
        jitter = rng.normal(scale=1e-6, size=xy.shape)
        xy = xy + jitter
        for axis in range(2):
            order = np.argsort(xy[:, axis], kind="stable")
            ranks = np.empty(len(order), dtype=np.float64)
            ranks[order] = np.linspace(-1.0, 1.0, len(order))
            xy[:, axis] = 0.5 * ranks + 0.5 * (xy[:, axis] / (np.abs(xy[:, axis]).max() or 1.0))
    # Fit the bulk (2nd-98th percentile) into [-1, 1]; stragglers sit just outside instead of
    # shrinking everyone else into the middle.
    for axis in range(2):
        lo, hi = np.percentile(xy[:, axis], [2, 98]) if len(names) > 20 else (
            xy[:, axis].min(), xy[:, axis].max())
        mid, half = (lo + hi) / 2, (hi - lo) / 2 or 1.0
        xy[:, axis] = np.clip((xy[:, axis] - mid) / half, -1.15, 1.15)
    return pl.DataFrame({"node": names, "x": xy[:, 0], "y": xy[:, 1]})


def _edge_lines(
    edges: pl.DataFrame, pos: Mapping[str, tuple[float, float]]
) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for s, d in edges.select("src", "dst").iter_rows():
        if s in pos and d in pos:
            (x0, y0), (x1, y1) = pos[s], pos[d]
            xs += [x0, x1, None]
            ys += [y0, y1, None]
    return xs, ys


def _size_range(n: int, base_hi: float, comfortable: int) -> tuple[float, float]:
    """Marker size range shrinking with the number of nodes, so big graphs are not one blob."""
    hi = base_hi if n <= comfortable else max(9.0, base_hi * math.sqrt(comfortable / n))
    return max(3.0, hi / 4), hi


def _sizes(values: pl.Series | None, n: int, lo: float = 6.0, hi: float = 26.0) -> list[float]:
    if values is None or n == 0:
        return [min(9.0, hi)] * n
    v = values.cast(pl.Float64).fill_null(0.0).to_numpy()
    v = np.sqrt(np.clip(v, 0.0, None))
    top = v.max() if v.size else 0.0
    if top <= 0:
        return [9.0] * n
    return list(lo + (hi - lo) * v / top)


def _base_layout(fig: go.Figure, title: str | None, *, height: int, legend: bool) -> go.Figure:
    fig.update_layout(
        title=title, height=height, showlegend=legend, hovermode="closest",
        margin={"l": 10, "r": 10, "t": 44, "b": 10},
        xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x", "scaleratio": 1},
        plot_bgcolor="white", paper_bgcolor="white",
        legend={"itemsizing": "constant", "font": {"size": 11}, "title": {"text": ""}},
        dragmode="pan",
    )
    return fig


def network_figure(
    nodes: pl.DataFrame,
    edges: pl.DataFrame,
    *,
    positions: pl.DataFrame | None = None,
    color_by: str = "group",
    size_by: str | None = "size",
    max_edges: int | None = None,
    highlight: str | None = None,
    title: str | None = None,
    height: int = 640,
    max_legend: int = 24,
) -> go.Figure:
    """A node-link drawing of a weighted graph.

    Parameters
    ----------
    nodes
        One row per node: ``node`` (id, returned as ``customdata`` for click selection),
        ``label`` (shown on hover), the ``color_by`` column (a category) and optionally the
        ``size_by`` column (e.g. PageRank); any ``hover_*`` columns are added to the hover text.
    edges
        ``src, dst, weight``; only the ``max_edges`` heaviest are drawn.
    positions
        ``node, x, y`` (default: :func:`layout_positions`).
    color_by
        Categorical column colouring the nodes (one legend entry per category up to
        ``max_legend`` categories; beyond, one trace without legend).
    size_by
        Column scaling node size (square root), or ``None`` for equal sizes.
    max_edges
        Heaviest edges drawn (default: four per node; the rest only clutter the picture).
    highlight
        A node drawn with a thick outline (the focused person).
    title, height
        Figure title and height in pixels.
    max_legend
        Most categories shown as separate legend entries.

    Returns
    -------
    go.Figure
        Uses ``go.Scattergl`` above :data:`GL_ABOVE` nodes.
    """
    fig = go.Figure()
    if nodes.height == 0:
        return _base_layout(fig, title, height=height, legend=False)
    if positions is None:
        positions = layout_positions(edges, nodes["node"].to_list())
    pos = {n: (x, y) for n, x, y in positions.select("node", "x", "y").iter_rows()}
    scatter = go.Scattergl if nodes.height > GL_ABOVE else go.Scatter
    limit = max_edges if max_edges is not None else 4 * nodes.height
    drawn = edges.sort("weight", descending=True).head(limit) if edges.height else edges
    if drawn.height:
        xs, ys = _edge_lines(drawn, pos)
        fig.add_trace(scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                              line={"width": 0.6, "color": _EDGE_COLOR}, name="ties"))
    frame = nodes.filter(pl.col("node").is_in(list(pos)))
    groups = [None if g is None else str(g) for g in frame[color_by].to_list()] \
        if color_by in frame.columns else [None] * frame.height
    colors = color_map(groups)
    sizes = _sizes(frame[size_by] if size_by and size_by in frame.columns else None, frame.height,
                   *_size_range(frame.height, 26.0, 300))
    hover_cols = [c for c in frame.columns if c.startswith("hover_")]
    labels = frame["label"].to_list() if "label" in frame.columns else frame["node"].to_list()
    texts = []
    for i, row in enumerate(frame.select(hover_cols).iter_rows() if hover_cols else
                            ([()] * frame.height)):
        parts = [f"<b>{safe_label(labels[i])}</b>"]
        if groups[i] is not None:
            parts.append(f"{safe_label(color_by)}: {safe_label(groups[i])}")
        parts += [f"{safe_label(c.removeprefix('hover_'))}: {safe_label(v)}"
                  for c, v in zip(hover_cols, row, strict=True)]
        texts.append("<br>".join(parts))
    node_ids = frame["node"].to_list()
    xs = [pos[n][0] for n in node_ids]
    ys = [pos[n][1] for n in node_ids]
    distinct = sorted({g or "" for g in groups}, key=lambda g: (g == "", g))
    if len(distinct) <= max_legend:
        for g in distinct:
            idx = [i for i, v in enumerate(groups) if (v or "") == g]
            fig.add_trace(scatter(
                x=[xs[i] for i in idx], y=[ys[i] for i in idx], mode="markers",
                name=safe_label(g or "(none)", limit=40),
                marker={"size": [sizes[i] for i in idx], "color": colors[g],
                        "line": {"width": 0.5, "color": "white"}},
                text=[texts[i] for i in idx], hoverinfo="text",
                customdata=[node_ids[i] for i in idx],
            ))
        legend = True
    else:
        fig.add_trace(scatter(
            x=xs, y=ys, mode="markers", name="people", showlegend=False,
            marker={"size": sizes, "color": [colors[g or ""] for g in groups],
                    "line": {"width": 0.3, "color": "white"}},
            text=texts, hoverinfo="text", customdata=node_ids,
        ))
        legend = False
    if highlight is not None and highlight in pos:
        base = sizes[node_ids.index(highlight)] if highlight in node_ids else 12.0
        fig.add_trace(go.Scatter(
            x=[pos[highlight][0]], y=[pos[highlight][1]], mode="markers", showlegend=False,
            hoverinfo="skip", name="focus",
            marker={"size": base + 8, "color": "rgba(0,0,0,0)",
                    "line": {"width": 3, "color": "#111111"}},
        ))
    return _base_layout(fig, title, height=height, legend=legend)


def ego_edges(edges: pl.DataFrame, center: str, *, max_neighbors: int = 40) -> pl.DataFrame:
    """The ego network of ``center``: its heaviest ties plus the ties among those neighbours.

    Returns
    -------
    pl.DataFrame
        ``src, dst, weight, spoke`` (``spoke`` is true for ties of the centre itself).
    """
    if edges.height == 0:
        return pl.DataFrame(schema={"src": pl.String, "dst": pl.String, "weight": pl.Float64,
                                    "spoke": pl.Boolean})
    own = (
        edges.filter((pl.col("src") == center) | (pl.col("dst") == center))
        .with_columns(pl.when(pl.col("src") == center).then(pl.col("dst")).otherwise(pl.col("src"))
                      .alias("other"))
        .group_by("other").agg(pl.col("weight").sum())
        .sort(["weight", "other"], descending=[True, False]).head(max_neighbors)
    )
    neighbours = own["other"].to_list()
    spokes = own.select(pl.lit(center).alias("src"), pl.col("other").alias("dst"),
                        pl.col("weight").cast(pl.Float64), pl.lit(True).alias("spoke"))
    among = edges.filter(pl.col("src").is_in(neighbours) & pl.col("dst").is_in(neighbours)).select(
        "src", "dst", pl.col("weight").cast(pl.Float64), pl.lit(False).alias("spoke"))
    return pl.concat([spokes, among])


def ego_figure(
    edges: pl.DataFrame,
    center: str,
    *,
    labels: Mapping[str, str] | None = None,
    groups: Mapping[str, str | None] | None = None,
    max_neighbors: int = 24,
    label_max: int = 24,
    title: str | None = None,
    height: int = 560,
) -> go.Figure:
    """One person's ego network: the person in the middle, neighbours on a circle by group.

    Parameters
    ----------
    edges
        The whole graph's ``src, dst, weight`` (the ego part is cut out with :func:`ego_edges`).
    center
        The focused node.
    labels
        Node -> display name (default: the id).
    groups
        Node -> category (unit or community) colouring the nodes and ordering the circle.
    max_neighbors
        Heaviest ties kept.
    label_max
        Names are written next to the nodes up to this many neighbours (always on hover).
    title, height
        Figure title and height.

    Returns
    -------
    go.Figure
        Spoke width is proportional to tie weight; ties among neighbours are thin grey lines.
    """
    labels = labels or {}
    groups = groups or {}
    ego = ego_edges(edges, center, max_neighbors=max_neighbors)
    spokes = ego.filter(pl.col("spoke"))
    neighbours = spokes["dst"].to_list()
    weights = dict(zip(spokes["dst"].to_list(), spokes["weight"].to_list(), strict=True))
    order = sorted(neighbours, key=lambda n: (str(groups.get(n) or "~"), -weights[n], n))
    pos: dict[str, tuple[float, float]] = {center: (0.0, 0.0)}
    for i, n in enumerate(order):
        # An ellipse wider than tall: names are wide, so neighbours at the top and bottom need
        # more horizontal room than those at the sides.
        angle = math.pi / 2 - 2 * math.pi * i / max(len(order), 1)
        pos[n] = (1.5 * math.cos(angle), math.sin(angle))
    fig = go.Figure()
    among = ego.filter(~pl.col("spoke"))
    if among.height:
        xs, ys = _edge_lines(among, pos)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                 line={"width": 0.5, "color": "rgba(150,150,150,0.35)"}))
    top = max(weights.values(), default=1.0) or 1.0
    for n in order:
        fig.add_trace(go.Scatter(
            x=[0.0, pos[n][0]], y=[0.0, pos[n][1]], mode="lines", hoverinfo="skip",
            showlegend=False,
            line={"width": 0.8 + 5.0 * weights[n] / top, "color": "rgba(76,120,168,0.45)"},
        ))
    colors = color_map([groups.get(n) for n in [center, *order]])
    show_text = len(order) <= label_max

    def text_position(node: str) -> str:
        x, y = pos[node]
        if node == center:
            return "bottom center"
        if abs(y) > 0.9:
            return "top center" if y > 0 else "bottom center"
        return "middle right" if x > 0 else "middle left"

    seen: list[str] = []
    for n in order:
        g = groups.get(n) or ""
        if g not in seen:
            seen.append(g)
    for g in seen:
        members = [m for m in order if (groups.get(m) or "") == g]
        fig.add_trace(go.Scatter(
            x=[pos[m][0] for m in members], y=[pos[m][1] for m in members],
            mode="markers+text" if show_text else "markers",
            name=safe_label(g or "(none)", limit=40),
            text=[safe_label(labels.get(m, m), limit=22) for m in members],
            textposition=[text_position(m) for m in members], textfont={"size": 11},
            hovertext=[f"<b>{safe_label(labels.get(m, m))}</b><br>{safe_label(g or '(none)')}"
                       f"<br>tie weight: {weights[m]:.1f}" for m in members],
            hoverinfo="text", customdata=members,
            marker={"size": 14, "color": colors[g], "line": {"width": 0.5, "color": "white"}},
        ))
    g_center = groups.get(center) or ""
    fig.add_trace(go.Scatter(
        x=[0.0], y=[0.0], mode="markers+text", showlegend=False,
        text=[safe_label(labels.get(center, center), limit=30)], textposition="bottom center",
        textfont={"size": 13},
        hovertext=[f"<b>{safe_label(labels.get(center, center))}</b><br>"
                   f"{safe_label(g_center or '(none)')}<br>{len(order)} ties shown"],
        hoverinfo="text", customdata=[center],
        marker={"size": 26, "color": colors[g_center], "line": {"width": 3, "color": "#111111"}},
    ))
    fig = _base_layout(fig, title, height=height, legend=True)
    fig.update_xaxes(range=[-2.4, 2.4] if show_text else [-1.8, 1.8])
    fig.update_yaxes(range=[-1.25, 1.25])
    return fig


def unit_network_figure(
    units: pl.DataFrame,
    edges: pl.DataFrame,
    *,
    positions: pl.DataFrame | None = None,
    color_by: str | None = "group",
    min_weight_share: float = 0.0,
    max_edges: int | None = None,
    title: str | None = None,
    height: int = 640,
    label_limit: int = 60,
) -> go.Figure:
    """Units as nodes (size by members), weighted ties between units as lines.

    Parameters
    ----------
    units
        ``node`` (unit id), ``label`` (unit name), ``size`` (members), optionally the
        ``color_by`` column and ``hover_*`` columns.
    edges
        ``src, dst, weight`` between units (self-ties are ignored).
    positions
        ``node, x, y`` (default: :func:`layout_positions`).
    color_by
        Categorical column colouring the units (e.g. the parent department), or ``None``.
    min_weight_share
        Ties lighter than this share of the heaviest tie are not drawn.
    max_edges
        Heaviest ties drawn (default: three per unit).
    title, height
        Figure title and height.
    label_limit
        Up to this many units get a text label on the drawing (all get hover text).

    Returns
    -------
    go.Figure
    """
    fig = go.Figure()
    if units.height == 0:
        return _base_layout(fig, title, height=height, legend=False)
    between = edges.filter(pl.col("src") != pl.col("dst")) if edges.height else edges
    if positions is None:
        positions = layout_positions(between, units["node"].to_list())
    pos = {n: (x, y) for n, x, y in positions.select("node", "x", "y").iter_rows()}
    if between.height:
        top = float(between["weight"].cast(pl.Float64).max() or 1.0) or 1.0  # type: ignore[arg-type]
        limit = max_edges if max_edges is not None else 3 * units.height
        drawn = (between.filter(pl.col("weight") >= min_weight_share * top)
                 .sort("weight", descending=True).head(limit).sort("weight"))
        # Bucket widths: one trace per width class keeps the figure small for big orgs.
        buckets: dict[int, list[tuple[str, str]]] = {}
        for s, d, w in drawn.select("src", "dst", "weight").iter_rows():
            buckets.setdefault(min(5, int(6 * w / top)), []).append((s, d))
        for b, pairs in sorted(buckets.items()):
            xs, ys = _edge_lines(pl.DataFrame(pairs, schema=["src", "dst"], orient="row"), pos)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
                                     line={"width": 0.5 + 1.5 * b,
                                           "color": f"rgba(90,90,90,{0.15 + 0.1 * b:.2f})"}))
    frame = units.filter(pl.col("node").is_in(list(pos)))
    groups = [None if g is None else str(g) for g in frame[color_by].to_list()] \
        if color_by and color_by in frame.columns else [None] * frame.height
    colors = color_map(groups)
    sizes = _sizes(frame["size"] if "size" in frame.columns else None, frame.height,
                   *_size_range(frame.height, 44.0, 30))
    hover_cols = [c for c in frame.columns if c.startswith("hover_")]
    labels = frame["label"].to_list()
    show_text = frame.height <= label_limit
    ids = frame["node"].to_list()
    texts = []
    for i, row in enumerate(frame.select(hover_cols).iter_rows() if hover_cols else
                            ([()] * frame.height)):
        parts = [f"<b>{safe_label(labels[i])}</b>"]
        if "size" in frame.columns:
            parts.append(f"members: {frame['size'][i]}")
        parts += [f"{safe_label(c.removeprefix('hover_'))}: {safe_label(v)}"
                  for c, v in zip(hover_cols, row, strict=True)]
        texts.append("<br>".join(parts))
    distinct = sorted({g or "" for g in groups}, key=lambda g: (g == "", g))
    legend = 1 < len(distinct) <= 24
    for g in distinct if legend else [None]:
        idx = [i for i in range(frame.height) if g is None or (groups[i] or "") == g]
        fig.add_trace(go.Scatter(
            x=[pos[ids[i]][0] for i in idx], y=[pos[ids[i]][1] for i in idx],
            mode="markers+text" if show_text else "markers",
            name=safe_label(g or "(none)", limit=40) if g is not None else "units",
            text=[safe_label(labels[i], limit=22) for i in idx], textposition="top center",
            textfont={"size": 10},
            hovertext=[texts[i] for i in idx], hoverinfo="text",
            customdata=[ids[i] for i in idx],
            marker={"size": [sizes[i] for i in idx],
                    "color": [colors[groups[i] or ""] for i in idx] if g is None else colors[g],
                    "line": {"width": 1, "color": "white"}, "opacity": 0.9},
        ))
    return _base_layout(fig, title, height=height, legend=legend)

