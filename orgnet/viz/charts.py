"""Charts: heatmaps, bars, distributions, trends and Sankey diagrams built with plotly.

Every builder is ``(frame, *, options) -> plotly.graph_objects.Figure``: data first (a polars
frame with the documented columns), keyword-only options, no I/O. The dashboard, the report and
notebooks share them, so the signatures are stable.

Conventions shared by every builder:

* **Inert text.** plotly.js renders a subset of HTML in titles, tick labels and hover text
  (``<a href>``, ``<b>``, ``<br>`` ...). Every user-controlled string (unit and person names,
  finding kinds from a file) goes through :func:`plot_text`, which drops control and bidi
  characters and HTML-escapes the rest, so ``<script>`` or ``<a href="javascript:...">`` is
  shown literally, never interpreted.
* **No overlapping labels.** Category axes are positional (``0..n-1``) with truncated tick text
  (:func:`short_label`) and the full name in the hover; two units whose names truncate to the same
  text stay two categories.
* **Colour-blind-safe colours.** The Okabe-Ito palette (:data:`PALETTE`) for categories, Cividis for
  sequential scales, a blue-orange diverging scale; the meaning never rests on colour alone
  (values are in the hover and axis).
* **Deterministic.** Rows are sorted explicitly; equal input gives an equal figure.
* **Empty input** gives a figure with a centred "no data" note instead of an error.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import plotly.graph_objects as go
import polars as pl

from orgnet._text import clean

__all__ = [
    "DIVERGING",
    "PALETTE",
    "SEQUENTIAL",
    "approval_concentration_bars",
    "ei_expectation_bars",
    "empty_figure",
    "figure_layout",
    "findings_by_kind_bar",
    "latency_box",
    "most_connected_units",
    "plot_text",
    "severity_histogram",
    "short_label",
    "trends_lines",
    "unit_community_sankey",
    "unit_matrix_heatmap",
]

#: Okabe & Ito (2008) colour-blind-safe qualitative palette.
PALETTE: Final[tuple[str, ...]] = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
)
#: Sequential scale readable with every colour-vision deficiency.
SEQUENTIAL: Final = "Cividis"
#: Diverging blue (negative) - white - orange (positive).
DIVERGING: Final[list[list[Any]]] = [[0.0, "#0072B2"], [0.5, "#F7F7F7"], [1.0, "#E69F00"]]

_TEMPLATE: Final = "plotly_white"
_FONT: Final = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 12}
_MARGIN: Final = {"l": 60, "r": 20, "t": 56, "b": 20}


def plot_text(value: object) -> str:
    """A user-controlled value made safe for plotly text (control characters dropped, HTML escaped)."""
    if value is None:
        return ""
    return html.escape(clean(str(value)) or "", quote=True)


def short_label(value: object, max_chars: int = 24) -> str:
    """:func:`plot_text` of ``value`` truncated to ``max_chars`` characters (with an ellipsis)."""
    text = clean(str(value)) if value is not None else ""
    text = text or ""
    if len(text) > max_chars:
        text = text[: max(1, max_chars - 1)].rstrip() + "…"
    return html.escape(text, quote=True)


def _name(names: Mapping[str, str] | None, key: str | None) -> str:
    if key is None:
        return "(none)"
    return (names or {}).get(key, key) or key


def figure_layout(
    fig: go.Figure,
    title: str,
    *,
    height: int | None = None,
    margin: Mapping[str, int] | None = None,
    colorway: Sequence[str] | None = PALETTE,
    **extra: Any,
) -> go.Figure:
    """orgnet's figure style: left-aligned escaped title, white template, system font.

    Parameters
    ----------
    fig
        The figure to style (changed in place and returned).
    title
        Plain-text title (escaped here).
    height
        Pixels; ``None`` leaves plotly's default.
    margin
        Plot margins (default: the report's).
    colorway
        Trace colours when traces set none (default :data:`PALETTE`; ``None`` keeps plotly's).
    extra
        More ``update_layout`` arguments.
    """
    fig.update_layout(
        title={"text": plot_text(title), "x": 0.0, "xanchor": "left"},
        template=_TEMPLATE, font=_FONT, margin=dict(margin or _MARGIN),
        hoverlabel={"align": "left"},
        **({"colorway": list(colorway)} if colorway else {}),
        **({"height": height} if height else {}), **extra,
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def empty_figure(title: str, note: str = "no data", **layout: Any) -> go.Figure:
    """A titled figure that says ``note`` instead of plotting (styled by :func:`figure_layout`)."""
    fig = go.Figure()
    fig.add_annotation(text=plot_text(note), x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font={"size": 14, "color": "#555555"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return figure_layout(fig, title, height=220, **layout)


def _require(frame: pl.DataFrame, columns: Sequence[str], builder: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{builder}: the frame lacks column(s) {missing}; it has {frame.columns}")


def _finite(value: object) -> float | None:
    if value is None:
        return None
    f = float(value)  # type: ignore[arg-type]
    return f if math.isfinite(f) else None


# -- unit matrix --------------------------------------------------------------------------------


def most_connected_units(
    frame: pl.DataFrame,
    n: int,
    *,
    parents: Mapping[str, str | None] | None = None,
    unit_names: Mapping[str, str] | None = None,
) -> list[str]:
    """The ``n`` units with the most collaboration weight across unit lines, in axis order.

    A readable heatmap holds a few dozen units; for large organisations this picks the ones
    to show, grouped by parent unit (so departments form blocks), then by display name.

    Parameters
    ----------
    frame
        ``src_unit``, ``dst_unit``, ``weight`` (the ``unit_matrix`` frame).
    n
        How many units.
    parents, unit_names
        Parent unit id and display name by unit id, for the order.

    Returns
    -------
    list[str]
        Unit ids, for ``unit_matrix_heatmap(order=...)``.
    """
    _require(frame, ("src_unit", "dst_unit", "weight"), "most_connected_units")
    cross = frame.filter(pl.col("src_unit") != pl.col("dst_unit"))
    totals = (pl.concat([cross.select(pl.col("src_unit").alias("u"), "weight"),
                         cross.select(pl.col("dst_unit").alias("u"), "weight")])
              .group_by("u").agg(pl.col("weight").sum())
              .sort(["weight", "u"], descending=[True, False]))
    top = totals.head(n)["u"].to_list()
    parent = parents or {}

    def key(u: str) -> tuple[str, str, str]:
        p = parent.get(u)
        return (_name(unit_names, p).casefold() if p else "", _name(unit_names, u).casefold(), u)

    return sorted(top, key=key)


def unit_matrix_heatmap(
    frame: pl.DataFrame,
    *,
    value: str = "weight_per_pair",
    unit_names: Mapping[str, str] | None = None,
    title: str = "Collaboration between units",
    max_label: int = 22,
    order: Sequence[str] | None = None,
    diagonal: bool = True,
) -> go.Figure:
    """Unit x unit heatmap of collaboration weight.

    Parameters
    ----------
    frame
        ``src_unit``, ``dst_unit`` and the ``value`` column (the ``unit_matrix`` analysis frame).
    value
        Column to colour by (``weight`` or ``weight_per_pair``, size-normalised).
    unit_names
        Display names by unit id (default: the ids).
    title
        Figure title.
    max_label
        Tick labels are truncated to this many characters; the hover shows the full names.
    order
        Unit ids in axis order (default: sorted by display name, then id).
    diagonal
        Show within-unit weight. Within-unit ties usually dwarf the rest; ``False`` leaves the
        diagonal blank (grey) so the colour scale shows the cross-unit structure.

    Pairs absent from ``frame`` are 0 (no collaboration).
    """
    _require(frame, ("src_unit", "dst_unit", value), "unit_matrix_heatmap")
    if frame.height == 0:
        return empty_figure(title)
    units = list(order) if order is not None else sorted(
        set(frame["src_unit"].to_list()) | set(frame["dst_unit"].to_list()),
        key=lambda u: (_name(unit_names, u).casefold(), u))
    index = {u: i for i, u in enumerate(units)}
    n = len(units)
    # A numpy matrix (NaN = gap): plotly serialises it as one typed array, not n*n values.
    z = np.zeros((n, n), dtype=np.float64)
    for src, dst, v in frame.select("src_unit", "dst_unit", value).iter_rows():
        if src in index and dst in index:
            z[index[src], index[dst]] = np.nan if v is None else float(v)
    z[~np.isfinite(z)] = np.nan
    if not diagonal:
        np.fill_diagonal(z, np.nan)
    full = np.array([plot_text(_name(unit_names, u)) for u in units], dtype=object)
    custom = np.stack(np.broadcast_arrays(full[:, None], full[None, :]), axis=-1)
    ticks = [short_label(_name(unit_names, u), max_label) for u in units]
    fig = go.Figure(go.Heatmap(
        z=z, x=list(range(n)), y=list(range(n)), customdata=custom, colorscale=SEQUENTIAL,
        hoverongaps=False, colorbar={"title": {"text": plot_text(value.replace("_", " "))}},
        hovertemplate="from %{customdata[0]}<br>to %{customdata[1]}<br>"
                      + plot_text(value.replace("_", " ")) + ": %{z:.3g}<extra></extra>",
    ))
    fig.update_xaxes(tickvals=list(range(n)), ticktext=ticks, tickangle=-45, title_text="to unit",
                     showgrid=False)
    fig.update_yaxes(tickvals=list(range(n)), ticktext=ticks, autorange="reversed",
                     title_text="from unit", showgrid=False)
    return figure_layout(fig, title, height=max(360, 24 * n + 190), plot_bgcolor="#E0E0E0")


def ei_expectation_bars(
    frame: pl.DataFrame,
    *,
    unit_names: Mapping[str, str] | None = None,
    title: str = "E-I index: observed vs expected",
    max_label: int = 26,
) -> go.Figure:
    """Observed E-I index per unit next to the value expected from unit sizes.

    Parameters
    ----------
    frame
        ``unit_id``, ``ei``, ``ei_expected`` and optionally ``z`` (the ``ei_index`` frame).
        E-I = (external - internal) / (external + internal) ties: -1 all inside, +1 all outside.
    unit_names
        Display names by unit id.
    title, max_label
        Figure title; tick label length.

    Units are sorted by observed minus expected (most inward-looking first).
    """
    _require(frame, ("unit_id", "ei", "ei_expected"), "ei_expectation_bars")
    df = frame.filter(pl.col("ei").is_not_null())
    if df.height == 0:
        return empty_figure(title)
    df = df.with_columns((pl.col("ei") - pl.col("ei_expected").fill_null(0.0)).alias("_gap")).sort(
        ["_gap", "unit_id"])
    ids = df["unit_id"].to_list()
    n = len(ids)
    full = [plot_text(_name(unit_names, u)) for u in ids]
    zs = df["z"].to_list() if "z" in df.columns else [None] * n
    custom = [[full[i], "" if zs[i] is None else f"{zs[i]:.2f}"] for i in range(n)]
    pos = list(range(n))
    fig = go.Figure()
    fig.add_bar(y=pos, x=df["ei"].to_list(), orientation="h", name="observed",
                marker_color=PALETTE[0], customdata=custom,
                hovertemplate="%{customdata[0]}<br>observed E-I %{x:.2f}<br>z %{customdata[1]}"
                              "<extra></extra>")
    fig.add_bar(y=pos, x=df["ei_expected"].to_list(), orientation="h", name="expected",
                marker_color=PALETTE[1], marker_pattern_shape="/", customdata=custom,
                hovertemplate="%{customdata[0]}<br>expected E-I %{x:.2f}<extra></extra>")
    fig.update_yaxes(tickvals=pos, ticktext=[short_label(_name(unit_names, u), max_label)
                                             for u in ids], autorange="reversed")
    fig.update_xaxes(range=[-1.05, 1.05], title_text="E-I index (-1 all inside, +1 all outside)",
                     zeroline=True, zerolinecolor="#888888")
    return figure_layout(fig, title, height=max(300, 30 * n + 140), barmode="group",
                         legend={"orientation": "h", "y": -0.15 if n < 8 else -0.06})


# -- gatekeeping ----------------------------------------------------------------------------------


def approval_concentration_bars(
    frame: pl.DataFrame,
    *,
    area_names: Mapping[str, str] | None = None,
    threshold: float | None = 0.5,
    top: int = 25,
    title: str = "Top approver's share of approvals",
    max_label: int = 26,
) -> go.Figure:
    """Top approver share per area, highest first.

    Parameters
    ----------
    frame
        ``area_id``, ``top_share``, ``approvals`` and optionally ``bus_factor`` and
        ``possible_reviewers`` (the ``approval_concentration`` frame).
    area_names
        Display names by area id (units' names for unit areas).
    threshold
        Draw a reference line at this share (the review-bottleneck rule's default 0.5).
    top
        Areas shown.
    title, max_label
        Figure title; tick label length.
    """
    _require(frame, ("area_id", "top_share", "approvals"), "approval_concentration_bars")
    df = frame.filter(pl.col("top_share").is_not_null() & (pl.col("approvals") > 0))
    if df.height == 0:
        return empty_figure(title)
    df = df.sort(["top_share", "approvals", "area_id"], descending=[True, True, False]).head(top)
    ids = df["area_id"].to_list()
    n = len(ids)
    bus = df["bus_factor"].to_list() if "bus_factor" in df.columns else [None] * n
    possible = (df["possible_reviewers"].to_list() if "possible_reviewers" in df.columns
                else [None] * n)
    custom = [[plot_text(_name(area_names, a)), df["approvals"][i],
               "" if bus[i] is None else bus[i], "" if possible[i] is None else possible[i]]
              for i, a in enumerate(ids)]
    pos = list(range(n))
    colours = [PALETTE[5] if threshold is not None and (s or 0) >= threshold else PALETTE[0]
               for s in df["top_share"].to_list()]
    fig = go.Figure(go.Bar(
        y=pos, x=df["top_share"].to_list(), orientation="h", marker_color=colours,
        customdata=custom,
        hovertemplate="%{customdata[0]}<br>top approver share %{x:.0%}<br>approvals "
                      "%{customdata[1]}<br>bus factor %{customdata[2]}<br>possible reviewers "
                      "%{customdata[3]}<extra></extra>",
    ))
    if threshold is not None:
        fig.add_vline(x=threshold, line_dash="dash", line_color="#555555",
                      annotation_text=f"{threshold:.0%}", annotation_position="top")
    fig.update_yaxes(tickvals=pos, ticktext=[short_label(_name(area_names, a), max_label)
                                             for a in ids], autorange="reversed")
    fig.update_xaxes(range=[0, 1.02], tickformat=".0%", title_text="share of approvals")
    return figure_layout(fig, title, height=max(280, 26 * n + 140), showlegend=False)


def latency_box(
    frame: pl.DataFrame,
    *,
    value: str = "hours",
    group: str = "side",
    order: Sequence[str] = ("insiders", "outsiders"),
    log_scale: bool = True,
    title: str = "Time to first review: insiders vs outsiders",
) -> go.Figure:
    """Distributions of review latency per group (box plots with the points' spread).

    Parameters
    ----------
    frame
        One row per observation: ``group`` (e.g. ``"insiders"`` / ``"outsiders"``) and ``value``
        (hours; null and negative values are dropped).
    value, group
        Column names.
    order
        Groups in display order (groups not listed follow, sorted).
    log_scale
        Log y axis (latencies are heavy-tailed).
    title
        Figure title.
    """
    _require(frame, (value, group), "latency_box")
    df = frame.filter(pl.col(value).is_not_null() & (pl.col(value) >= 0))
    if df.height == 0:
        return empty_figure(title, "no review latencies (no change timestamps in the data)")
    present = sorted(set(df[group].cast(pl.String).to_list()))
    groups = [g for g in order if g in present] + [g for g in present if g not in order]
    fig = go.Figure()
    for i, g in enumerate(groups):
        vals = df.filter(pl.col(group).cast(pl.String) == g)[value].to_numpy().astype(np.float64)
        if log_scale:
            vals = np.maximum(vals, 0.01)
        # The box's statistics, not the observations: the figure stays small however many
        # reviews there are. Quartiles interpolate linearly (plotly's default); whiskers reach
        # the furthest observation within 1.5 IQR (Tukey).
        q1, median, q3 = (float(q) for q in np.percentile(vals, [25, 50, 75]))
        iqr = q3 - q1
        low = float(vals[vals >= q1 - 1.5 * iqr].min())
        high = float(vals[vals <= q3 + 1.5 * iqr].max())
        name = f"{plot_text(g)}<br>n={len(vals):,}, median {median:.1f} h"
        fig.add_box(x=[name], name=name, q1=[q1], median=[median], q3=[q3], lowerfence=[low],
                    upperfence=[high], marker_color=PALETTE[i % 8], boxpoints=False)
    fig.update_yaxes(type="log" if log_scale else "linear", title_text=f"{value} (log scale)"
                     if log_scale else value)
    return figure_layout(fig, title, height=420, showlegend=False)


# -- trends ---------------------------------------------------------------------------------------

_TREND_LABELS: Final = {
    "nmi": "NMI (chart vs communities)", "ari": "ARI (chart vs communities)",
    "mean_ei": "mean E-I index", "congruence": "socio-technical congruence",
}


def trends_lines(
    frame: pl.DataFrame,
    *,
    x: str = "period_start",
    metrics: Sequence[str] = ("nmi", "ari", "mean_ei", "congruence"),
    labels: Mapping[str, str] | None = None,
    title: str = "Trends per period",
) -> go.Figure:
    """One line per metric over periods (the ``trends`` frame).

    Parameters
    ----------
    frame
        ``x`` (period start) and the ``metrics`` columns; missing metric columns are skipped.
    x
        Period column.
    metrics
        Columns to draw.
    labels
        Legend labels by column (defaults for nmi, ari, mean_ei, congruence).
    title
        Figure title.
    """
    _require(frame, (x,), "trends_lines")
    cols = [m for m in metrics if m in frame.columns]
    if frame.height == 0 or not cols:
        return empty_figure(title)
    df = frame.sort(x)
    xs = [str(v) for v in df[x].to_list()]
    names = {**_TREND_LABELS, **(labels or {})}
    symbols = ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "hexagon")
    fig = go.Figure()
    for i, m in enumerate(cols):
        fig.add_scatter(x=xs, y=df[m].to_list(), mode="lines+markers",
                        name=plot_text(names.get(m, m)), line_color=PALETTE[i % 8],
                        marker_symbol=symbols[i % len(symbols)],
                        hovertemplate=plot_text(names.get(m, m)) + " %{y:.3f}<br>%{x}<extra></extra>")
    fig.update_xaxes(type="category", title_text="period starting")
    fig.update_yaxes(title_text="value")
    return figure_layout(fig, title, height=380, legend={"orientation": "h", "y": -0.25})


# -- alignment ------------------------------------------------------------------------------------


def unit_community_sankey(
    frame: pl.DataFrame,
    *,
    unit_names: Mapping[str, str] | None = None,
    community_names: Mapping[str, str] | None = None,
    min_people: int = 1,
    title: str = "Formal units → collaboration communities",
    max_label: int = 24,
) -> go.Figure:
    """Sankey diagram: how each formal unit's people spread over the informal communities.

    Parameters
    ----------
    frame
        Either one row per person (``unit_id``, ``community``; the ``communities`` frame) or
        pre-aggregated flows with a ``people`` count column. Rows without a unit or community are
        dropped.
    unit_names, community_names
        Display names by id.
    min_people
        Flows with fewer people are left out.
    title, max_label
        Figure title; node label length.
    """
    _require(frame, ("unit_id", "community"), "unit_community_sankey")
    df = frame.filter(pl.col("unit_id").is_not_null() & pl.col("community").is_not_null())
    if "people" in df.columns:
        flows = df.group_by("unit_id", "community").agg(pl.col("people").sum())
    else:
        flows = df.group_by("unit_id", "community").agg(pl.len().alias("people"))
    flows = flows.filter(pl.col("people") >= min_people).sort("unit_id", "community")
    if flows.height == 0:
        return empty_figure(title)
    units = sorted(set(flows["unit_id"].to_list()), key=lambda u: (_name(unit_names, u).casefold(), u))
    comms = sorted(set(flows["community"].to_list()))
    index = {("u", u): i for i, u in enumerate(units)}
    index.update({("c", c): len(units) + i for i, c in enumerate(comms)})
    labels = [short_label(_name(unit_names, u), max_label) for u in units] + [
        short_label(_name(community_names, c), max_label) for c in comms]
    full = [plot_text(_name(unit_names, u)) for u in units] + [
        plot_text(_name(community_names, c)) for c in comms]
    colours = [PALETTE[0]] * len(units) + [PALETTE[1]] * len(comms)
    src = [index[("u", u)] for u in flows["unit_id"].to_list()]
    dst = [index[("c", c)] for c in flows["community"].to_list()]
    fig = go.Figure(go.Sankey(
        arrangement="snap",
        node={"label": labels, "customdata": full, "color": colours, "pad": 8, "thickness": 14,
              "hovertemplate": "%{customdata}<br>%{value} people<extra></extra>"},
        link={"source": src, "target": dst, "value": flows["people"].to_list(),
              "color": "rgba(0,114,178,0.25)",
              "customdata": [[full[s], full[d]] for s, d in zip(src, dst, strict=True)],
              "hovertemplate": "%{customdata[0]} → %{customdata[1]}<br>%{value} people"
                               "<extra></extra>"},
    ))
    return figure_layout(fig, title, height=max(420, 22 * max(len(units), len(comms)) + 120))


# -- findings -------------------------------------------------------------------------------------


def findings_by_kind_bar(
    frame: pl.DataFrame,
    *,
    kinds: Sequence[str] | None = None,
    high: float = 0.7,
    title: str = "Findings by kind",
) -> go.Figure:
    """Number of findings per kind, split into high (``>= high``) and other severity.

    Parameters
    ----------
    frame
        One row per finding with ``kind`` and ``severity``.
    kinds
        Kinds in display order (default: by count, then name); kinds with no finding are shown
        as zero when listed here.
    high
        Severity at and above which a finding counts as high.
    title
        Figure title.
    """
    _require(frame, ("kind", "severity"), "findings_by_kind_bar")
    if frame.height == 0 and not kinds:
        return empty_figure(title, "no findings")
    counts = frame.group_by("kind").agg(
        (pl.col("severity") >= high).sum().alias("high"),
        (pl.col("severity") < high).sum().alias("other"),
        pl.len().alias("n"),
    )
    by_kind = {r["kind"]: r for r in counts.iter_rows(named=True)}
    order = list(kinds) if kinds is not None else [
        r["kind"] for r in counts.sort(["n", "kind"], descending=[True, False]).iter_rows(named=True)]
    labels = [plot_text(k.replace("_", " ")) for k in order]
    highs = [int(by_kind[k]["high"]) if k in by_kind else 0 for k in order]
    others = [int(by_kind[k]["other"]) if k in by_kind else 0 for k in order]
    fig = go.Figure()
    fig.add_bar(x=labels, y=highs, name=f"severity ≥ {high:g}", marker_color=PALETTE[5],
                hovertemplate="%{x}: %{y} high<extra></extra>")
    fig.add_bar(x=labels, y=others, name=f"severity < {high:g}", marker_color=PALETTE[4],
                marker_pattern_shape="/", hovertemplate="%{x}: %{y} other<extra></extra>")
    fig.update_yaxes(title_text="findings", dtick=1 if max([*highs, *others, 0]) < 10 else None)
    fig.update_xaxes(tickangle=-30)
    return figure_layout(fig, title, height=360, barmode="stack",
                         legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1,
                                 "xanchor": "right"})


def severity_histogram(
    frame: pl.DataFrame,
    *,
    bins: int = 10,
    title: str = "Severity of findings",
) -> go.Figure:
    """Histogram of finding severities over ``[0, 1]`` in ``bins`` equal bins.

    Parameters
    ----------
    frame
        One row per finding with ``severity``.
    bins
        Number of bins.
    title
        Figure title.
    """
    _require(frame, ("severity",), "severity_histogram")
    values = [v for v in frame["severity"].to_list() if v is not None]
    if not values:
        return empty_figure(title, "no findings")
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(float(v) * bins)))] += 1
    edges = [i / bins for i in range(bins + 1)]
    mids = [(edges[i] + edges[i + 1]) / 2 for i in range(bins)]
    labels = [f"{edges[i]:.1f}–{edges[i + 1]:.1f}" for i in range(bins)]
    colours = [PALETTE[5] if m >= 0.7 else PALETTE[1] if m >= 0.4 else PALETTE[4] for m in mids]
    fig = go.Figure(go.Bar(x=mids, y=counts, width=1 / bins * 0.92, marker_color=colours,
                           customdata=labels,
                           hovertemplate="severity %{customdata}: %{y}<extra></extra>"))
    fig.update_xaxes(range=[0, 1], dtick=0.1, title_text="severity (0 low … 1 high)")
    fig.update_yaxes(title_text="findings", dtick=1 if max(counts) < 10 else None)
    return figure_layout(fig, title, height=320, showlegend=False)
