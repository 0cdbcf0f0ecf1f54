"""People: one person's ego network, units bridged, roles and the findings that involve them."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import _shared as shared
from orgnet.viz.network import ego_figure

opts, a = shared.page("People", person_level=True)

graph = a.ctx.graph("collaboration")
infl = a.frame("influence")
people = sorted(graph.nodes, key=lambda p: (a.person(p).casefold(), p))
if not people:
    st.info("Nobody collaborated in this window.")
    st.stop()
query = st.text_input("Search a person (name or id)", key="people-q")
q = shared.plain(query).strip().casefold()
matches = [p for p in people if q in a.person(p).casefold() or q in p.casefold()] if q else people
if not matches:
    st.warning("Nobody matches that search.")
    st.stop()
default = 0
if not q and infl.height:
    top = infl.sort("pagerank", descending=True)["person_id"][0]
    default = matches.index(top) if top in matches else 0
pid = st.selectbox("Person", matches, index=default, key="people-pick",
                   format_func=lambda p: f"{a.person(p)} ({p})")
st.header(shared.md(a.person(pid)))

row = infl.filter(pl.col("person_id") == pid).row(0, named=True) \
    if infl.height and pid in infl["person_id"].to_list() else {}
comm = a.frame("communities")
community = next(iter(comm.filter(pl.col("person_id") == pid)["community"].to_list()), None) \
    if comm.height else None
st.markdown(f"Unit: **{shared.md(a.unit(a.home_unit.get(pid))) or 'none'}** · community "
            f"**{shared.md(community or 'none')}**")
c = st.columns(4)
c[0].metric("PageRank rank", f"{row.get('rank_pagerank')} of {infl.height}" if row else "n/a")
c[1].metric("Units bridged", f"{row.get('units_bridged', 0)}" if row else "n/a")
c[2].metric("Ties", f"{row.get('degree', 0)}" if row else "n/a")
c[3].metric("Findings", f"{sum(1 for f in a.run.findings if any(p == pid for p, _ in f.people))}")

groups = {p: a.unit(a.home_unit.get(p)) or None for p in graph.nodes}
labels = {p: a.person(p) for p in graph.nodes}
shared.chart(ego_figure(graph.edges, pid, labels=labels, groups=groups,
                        title="Ego network: strongest ties (colour = formal unit, line width = "
                        "tie weight)"))

left, right = st.columns(2)
with left:
    st.markdown("**Brokerage roles**")
    brok = a.frame("brokerage").filter(pl.col("person_id") == pid) \
        if a.frame("brokerage").height else pl.DataFrame()
    if brok.height:
        roles = ["coordinator", "itinerant", "representative", "gatekeeper", "liaison"]
        shared.show_table(brok.select([r for r in roles if r in brok.columns])
                     .transpose(include_header=True, header_name="role",
                                column_names=["brokered pairs"]))
    else:
        st.caption("No brokerage in this window.")
with right:
    st.markdown("**Units bridged** (units of the people they collaborate with)")
    ties = (graph.edges.filter((pl.col("src") == pid) | (pl.col("dst") == pid))
            .with_columns(pl.when(pl.col("src") == pid).then(pl.col("dst"))
                          .otherwise(pl.col("src")).alias("other")))
    bridged = (ties.with_columns(pl.col("other").replace_strict(a.home_unit, default=None,
                                                                  return_dtype=pl.String)
                                 .alias("unit_id"))
               .group_by("unit_id").agg(pl.len().alias("people"), pl.col("weight").sum())
               .sort("weight", descending=True))
    shared.show_table(shared.named(bridged, a, units=["unit_id"]), height=260)

st.subheader("Findings that involve them")
mine = [f for f in a.run.findings if any(p == pid for p, _ in f.people)]
shared.finding_cards(mine, limit=10, key="person")
st.subheader("All measures")
if row:
    shared.show_table(pl.DataFrame({"measure": list(row), "value": [shared.plain(v) for v in row.values()]}))
shared.download_frame(shared.named(ties.select("other", "weight").rename({"other": "person_id"}), a,
                         people=["person_id"]), f"ties-{pid}")
