"""Network: the collaboration graph, coloured by formal unit or detected community."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import _shared as shared
from orgnet.viz.network import ego_figure, network_figure, unit_network_figure

opts, a = shared.page("Network")

graph = a.ctx.graph("collaboration")
n_people = graph.n_nodes
c1, c2 = st.columns([2, 3])
units_only = opts.aggregate_only or n_people > shared.AGGREGATE_ABOVE
if opts.aggregate_only:
    c1.caption("Aggregate-only mode: units are drawn instead of people.")
else:
    units_only = c1.toggle("Draw units instead of people", value=n_people > shared.AGGREGATE_ABOVE,
                           help=f"On by default above {shared.AGGREGATE_ABOVE:,} people.")

if units_only:
    edges, units = shared.unit_graph(opts)
    shared.chart(unit_network_figure(units, edges, positions=shared.layout(opts, "units"),
                                        title=f"Units ({shared.md(opts.unit_kind)}) and the "
                                        "collaboration between them"),
                    key="unit-net")
    small = sum(1 for n in a.unit_sizes.values() if n < opts.min_group_size)
    shared.suppressed_note(small, opts.min_group_size, "units")
    if units.height > 150:
        st.caption(f"{units.height:,} units: for a readable picture choose a coarser unit level "
                   "in the sidebar (e.g. department); hover a unit for its name.")
    table = units.join(
        edges.group_by("src").agg(pl.col("weight").sum()).rename({"src": "node"})
        .vstack(edges.group_by("dst").agg(pl.col("weight").sum()).rename({"dst": "node"}))
        .group_by("node").agg(pl.col("weight").sum().alias("tie_weight_to_other_units")),
        on="node", how="left").rename({"node": "unit_id", "label": "unit", "group": "parent"})
    table = table.select("unit", "parent", "size", "tie_weight_to_other_units", "unit_id")
    shared.show_table(table.sort("tie_weight_to_other_units", descending=True, nulls_last=True),
                      height=400)
    shared.download_frame(edges, "unit_ties")
    st.stop()

color = c2.radio("Colour by", ["formal unit", "community"], horizontal=True, key="net-color")
communities = dict(a.frame("communities").select("person_id", "community").iter_rows()) \
    if a.frame("communities").height else {}
infl = a.frame("influence")
nodes = pl.DataFrame({"node": list(graph.nodes)}).with_columns(
    pl.col("node").replace_strict(a.person_names, default=pl.col("node")).alias("label"),
    pl.col("node").replace_strict(a.home_unit, default=None, return_dtype=pl.String)
    .replace_strict(a.unit_names, default=None, return_dtype=pl.String).alias("unit"),
    pl.col("node").replace_strict(communities, default=None, return_dtype=pl.String)
    .alias("community"),
)
if infl.height:
    nodes = nodes.join(infl.select(pl.col("person_id").alias("node"), "pagerank",
                                   pl.col("degree").alias("hover_ties")), on="node", how="left")
else:
    nodes = nodes.with_columns(pl.lit(None, pl.Float64).alias("pagerank"))
nodes = nodes.with_columns(pl.col("community").alias("hover_community"))
group_col = "unit" if color == "formal unit" else "community"

people = nodes.sort("label")["node"].to_list()
choices = ["(nobody)", *people]
labels = {p: a.person(p) for p in people}
pending = st.session_state.pop("net-focus-click", None)
if pending in labels:
    st.session_state["net-focus"] = pending  # a click on the graph moves the selectbox
picked = c1.selectbox("Focus on a person", choices, key="net-focus",
                      format_func=lambda p: p if p == "(nobody)" else f"{labels[p]} ({p})")
focus = picked if picked in labels else None

fig = network_figure(nodes, graph.edges, positions=shared.layout(opts, "people"), color_by=group_col,
                     size_by="pagerank", highlight=focus,
                     title=f"Collaboration network: {n_people:,} people, node size = PageRank")
event = shared.chart(fig, key="people-net", on_select="rerun",
                        selection_mode="points")
points = (event.get("selection", {}) or {}).get("points", []) if isinstance(event, dict) else []
if points:
    clicked = points[0].get("customdata")
    if isinstance(clicked, list):
        clicked = clicked[0] if clicked else None
    if isinstance(clicked, str) and clicked in labels \
            and clicked != st.session_state.get("net-last-click"):
        st.session_state["net-last-click"] = clicked
        st.session_state["net-focus-click"] = clicked
        st.rerun()
st.caption("Click a person (or pick one above) to see their ego network. Scroll to zoom, drag "
           "to pan; double-click resets.")

if focus is not None:
    st.subheader(f"Ego network: {shared.md(labels[focus])}")
    groups = dict(nodes.select("node", group_col).iter_rows())
    shared.chart(ego_figure(graph.edges, focus, labels=labels, groups=groups),
                    key="ego")
    ties = (graph.edges.filter((pl.col("src") == focus) | (pl.col("dst") == focus))
            .with_columns(pl.when(pl.col("src") == focus).then(pl.col("dst"))
                          .otherwise(pl.col("src")).alias("person_id"))
            .select("person_id", "weight").sort("weight", descending=True))
    ties = shared.named(ties.join(nodes.select(pl.col("node").alias("person_id"), "unit", "community"),
                             on="person_id", how="left"), a, people=["person_id"])
    shared.show_table(ties, height=300)
    shared.download_frame(ties, f"ties-{focus}", key="dl-ego")

st.subheader("People")
table = nodes.select(pl.col("node").alias("person_id"), pl.col("label").alias("name"), "unit",
                     "community", "pagerank", pl.col("hover_ties").alias("ties")
                     if "hover_ties" in nodes.columns else pl.lit(None).alias("ties"))
shared.show_table(table.sort("pagerank", descending=True, nulls_last=True), height=320)
shared.download_frame(graph.edges, "collaboration_edges")
