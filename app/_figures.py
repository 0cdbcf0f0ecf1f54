"""Charts the dashboard needs that :mod:`orgnet.viz.charts` does not have (yet).

Same conventions as ``charts``: data first, keyword options, every label through ``plot_text`` /
``short_label`` (HTML-escaped), empty input gives a "no data" figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import plotly.graph_objects as go
import polars as pl

from orgnet.viz.charts import PALETTE, empty_figure, figure_layout, plot_text, short_label

__all__ = [
    "TOP_LEGEND",
    "brokerage_bars",
    "congruence_scatter",
    "events_per_source_bar",
    "help_balance_bars",
    "ownership_bars",
    "trend_counts",
]

#: Legend on one line between the title and the plot (never over the axis title or the modebar).
TOP_LEGEND = {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left",
              "font": {"size": 11}}


#: Dashboard figures sit in narrow columns: tighter margins than the report's, plotly's colours.
_APP_STYLE: Final[dict[str, Any]] = {"margin": {"l": 10, "r": 10, "t": 50, "b": 10},
                                     "colorway": None}


def _layout(fig: go.Figure, title: str, *, height: int, **extra: object) -> go.Figure:
    return figure_layout(fig, title, height=height, **_APP_STYLE, **extra)


def _empty(title: str, note: str = "no data in this window") -> go.Figure:
    return empty_figure(title, note, **_APP_STYLE)


def events_per_source_bar(frame: pl.DataFrame, *, title: str = "Events per source") -> go.Figure:
    """Horizontal bars: ``source``, ``events``."""
    if frame.height == 0:
        return _empty(title, "no events imported yet")
    df = frame.sort("events")
    fig = go.Figure(go.Bar(
        y=[plot_text(s) for s in df["source"].to_list()], x=df["events"].to_list(),
        orientation="h", marker_color=PALETTE[0], text=[f"{v:,}" for v in df["events"].to_list()],
        textposition="auto", hovertemplate="%{y}: %{x:,} events<extra></extra>"))
    fig.update_xaxes(title_text="events")
    return _layout(fig, title, height=max(200, 40 * df.height + 100), showlegend=False)


def _hbars(labels: list[str], full: list[str], series: Sequence[tuple[str, list[float], str]],
           title: str, xtitle: str, *, barmode: str = "group") -> go.Figure:
    pos = list(range(len(labels)))
    fig = go.Figure()
    for name, values, colour in series:
        fig.add_bar(y=pos, x=values, orientation="h", name=plot_text(name), marker_color=colour,
                    customdata=full,
                    hovertemplate="%{customdata}<br>" + plot_text(name) + ": %{x:,.2f}<extra></extra>")
    fig.update_yaxes(tickvals=pos, ticktext=labels, autorange="reversed")
    fig.update_xaxes(title_text=xtitle)
    fig = _layout(fig, title, height=max(300, 28 * len(labels) * (1 + (barmode == "group")) // 2
                                         + 180),
                  barmode=barmode, legend=TOP_LEGEND)
    fig.update_layout(margin={"t": 80})
    return fig


def help_balance_bars(frame: pl.DataFrame, *, unit_names: Mapping[str, str] | None = None,
                      title: str = "Reviews given to and received from other units",
                      top: int = 30) -> go.Figure:
    """Grouped bars per unit: ``reviews_given_out`` vs ``reviews_received_from_out``."""
    if frame.height == 0:
        return _empty(title)
    df = frame.with_columns((pl.col("reviews_given_out") + pl.col("reviews_received_from_out"))
                            .alias("_total")).sort(["_total", "unit_id"], descending=[True, False]
                                                   ).head(top)
    names = unit_names or {}
    ids = df["unit_id"].to_list()
    return _hbars([short_label(names.get(u, u), 26) for u in ids],
                  [plot_text(names.get(u, u)) for u in ids],
                  [("given to other units", df["reviews_given_out"].to_list(), PALETTE[0]),
                   ("received from other units", df["reviews_received_from_out"].to_list(),
                    PALETTE[1])], title, "reviews")


def congruence_scatter(frame: pl.DataFrame, *, unit_names: Mapping[str, str] | None = None,
                       title: str = "Coordination need against contact (per unit pair)",
                       org_congruence: float | None = None) -> go.Figure:
    """Unit pairs: coordination ``need`` (x, log) against ``congruence`` (y); size = shared files."""
    df = frame.filter(pl.col("need") > 0) if frame.height else frame
    if df.height == 0:
        return _empty(title, "no shared code between units in this window")
    names = unit_names or {}
    pairs = [f"{plot_text(names.get(a, a))} ↔ {plot_text(names.get(b, b))}"
             for a, b in df.select("unit_a", "unit_b").iter_rows()]
    files = df["shared_files"].cast(pl.Float64).fill_null(0.0).to_list()
    top = max(files) or 1.0
    colours = [PALETTE[5] if (c or 0) == 0 else PALETTE[0] for c in df["congruence"].to_list()]
    fig = go.Figure(go.Scatter(
        x=df["need"].to_list(), y=df["congruence"].to_list(), mode="markers",
        marker={"size": [6 + 22 * (f / top) ** 0.5 for f in files], "color": colours,
                "opacity": 0.75, "line": {"width": 0.5, "color": "white"}},
        customdata=[[p, int(f)] for p, f in zip(pairs, files, strict=True)],
        hovertemplate="%{customdata[0]}<br>need %{x:.1f}<br>congruence %{y:.0%}<br>shared files "
                      "%{customdata[1]}<extra></extra>"))
    if org_congruence is not None:
        fig.add_hline(y=org_congruence, line_dash="dash", line_color="#555555",
                      annotation_text=f"organisation {org_congruence:.0%}",
                      annotation_position="top left")
    fig.update_xaxes(type="log", title_text="coordination need (shared code, log scale)")
    fig.update_yaxes(range=[-0.05, 1.05], tickformat=".0%", title_text="needs met by contact")
    return _layout(fig, title, height=440, showlegend=False)


ROLES = ("coordinator", "itinerant", "representative", "gatekeeper", "liaison")


def brokerage_bars(frame: pl.DataFrame, *, labels: Mapping[str, str] | None = None,
                   key: str = "person_id", top: int = 20,
                   title: str = "Brokerage roles (Gould-Fernandez)") -> go.Figure:
    """Stacked bars of brokerage role counts for the ``top`` brokers (by ``total``)."""
    if frame.height == 0 or "total" not in frame.columns:
        return _empty(title)
    df = frame.filter(pl.col("total") > 0).sort(["total", key], descending=[True, False]).head(top)
    if df.height == 0:
        return _empty(title, "nobody brokers between units in this window")
    names = labels or {}
    ids = df[key].to_list()
    series = [(r, df[r].cast(pl.Float64).to_list(), PALETTE[i % len(PALETTE)])
              for i, r in enumerate(ROLES) if r in df.columns]
    return _hbars([short_label(names.get(p, p), 26) for p in ids],
                  [plot_text(names.get(p, p)) for p in ids], series, title,
                  "brokered pairs", barmode="stack")


def ownership_bars(frame: pl.DataFrame, *, value: str, top: int = 15, title: str,
                   threshold: float | None = None, xtitle: str = "share of changes") -> go.Figure:
    """Bars of a share column per area (``area``), highest first (or lowest for owner share)."""
    df = frame.filter(pl.col(value).is_not_null()) if frame.height else frame
    if df.height == 0:
        return _empty(title)
    descending = value != "owner_share"
    df = df.sort([value, "n_changes"], descending=[descending, True]).head(top)
    areas = df["area"].to_list()
    pos = list(range(df.height))
    custom = [[plot_text(a), n] for a, n in zip(areas, df["n_changes"].to_list(), strict=True)]
    # Bars past the threshold (islands above it, drifted areas below it) stand out.
    flagged = [threshold is not None and v is not None and (v >= threshold if descending
                                                             else v < threshold)
               for v in df[value].to_list()]
    colours = [PALETTE[5] if f else PALETTE[0] for f in flagged]
    fig = go.Figure(go.Bar(y=pos, x=df[value].to_list(), orientation="h", marker_color=colours,
                           customdata=custom,
                           hovertemplate="%{customdata[0]}<br>%{x:.0%} of %{customdata[1]} "
                                         "changes<extra></extra>"))
    if threshold is not None:
        fig.add_vline(x=threshold, line_dash="dash", line_color="#555555")
    fig.update_yaxes(tickvals=pos, ticktext=[short_label(a, 30) for a in areas],
                     autorange="reversed")
    fig.update_xaxes(range=[0, 1.02], tickformat=".0%", title_text=xtitle)
    return _layout(fig, title, height=max(280, 26 * df.height + 140), showlegend=False)


def trend_counts(frame: pl.DataFrame, *, columns: Sequence[str] = ("silos", "blind_spots"),
                 title: str = "Silos and blind spots per period") -> go.Figure:
    """Grouped bars of count columns per ``period_start``."""
    if frame.height == 0:
        return _empty(title)
    x = [str(d) for d in frame["period_start"].to_list()]
    fig = go.Figure()
    for i, c in enumerate(columns):
        if c in frame.columns:
            fig.add_bar(x=x, y=frame[c].to_list(), name=plot_text(c.replace("_", " ")),
                        marker_color=PALETTE[(i + 4) % len(PALETTE)])
    fig.update_xaxes(type="category", title_text="period starting")
    fig = _layout(fig, title, height=360, barmode="group", legend=TOP_LEGEND)
    fig.update_layout(margin={"t": 80})
    return fig
