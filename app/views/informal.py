"""Informal vs formal: how the collaboration communities line up with the org chart."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import _shared as shared
from orgnet.viz.charts import unit_community_sankey

MAX_SANKEY_UNITS = 30

opts, a = shared.page("Informal vs formal")
k = opts.min_group_size

align = a.frame("alignment")
if align.height:
    row = align.row(0, named=True)
    c = st.columns(5)
    c[0].metric("NMI", "n/a" if row["nmi"] is None else f"{row['nmi']:.2f}",
                help="Normalised mutual information of communities and units (0..1).")
    c[1].metric("ARI", "n/a" if row["ari"] is None else f"{row['ari']:.2f}",
                help="Adjusted Rand index (0 = chance agreement, 1 = identical).")
    c[2].metric("Communities", f"{row['n_communities']:,}")
    c[3].metric(f"Units ({shared.md(opts.unit_kind)})", f"{row['n_units']:,}")
    c[4].metric("Modularity", "n/a" if row["modularity"] is None else f"{row['modularity']:.2f}")

comm = a.frame("communities")
if comm.height:
    flows = comm.filter(pl.col("unit_id").is_not_null()).group_by("unit_id", "community").agg(
        pl.len().alias("people"))
    flows, hidden = shared.suppress_units(flows, ["unit_id"], a, k)
    frag_all = a.frame("unit_fragmentation")
    n_units = flows["unit_id"].n_unique()
    if n_units > MAX_SANKEY_UNITS and frag_all.height:
        # A Sankey of hundreds of units is unreadable: the most fragmented units tell the story.
        shown_n = st.slider("Units shown in the diagram", 10, min(n_units, 100), MAX_SANKEY_UNITS,
                            step=5, help="The units whose people spread over the most "
                            "communities (highest entropy).")
        top = (frag_all.filter(pl.col("unit_id").is_in(flows["unit_id"].unique().to_list()))
               .sort(["entropy", "size", "unit_id"], descending=[True, True, False])
               .head(shown_n)["unit_id"].to_list())
        flows = flows.filter(pl.col("unit_id").is_in(top))
        st.caption(f"Showing the {len(top)} most fragmented of {n_units:,} units.")
    sizes = comm.group_by("community").agg(pl.len().alias("n"))
    names = {c: f"community {c.lstrip('c0') or '0'} ({n})" for c, n in sizes.iter_rows()}
    shared.chart(unit_community_sankey(flows, unit_names=a.unit_names, community_names=names,
                                          title="Formal units → collaboration communities"))
    shared.suppressed_note(hidden, k, "unit flows")
    st.caption("Each band is the people of a formal unit (left) who collaborate mostly within a "
               "detected community (right). A unit splitting into many bands is fragmented; a "
               "community gathering several units is an informal team across the chart.")

st.subheader("How fragmented each unit is")
frag, hidden = shared.suppress_units(a.frame("unit_fragmentation"), ["unit_id"], a, k)
shared.show_table(shared.named(frag, a, units=["unit_id"]).sort("n_communities", descending=True))
shared.suppressed_note(hidden, k)
shared.download_frame(frag, "unit_fragmentation")

st.subheader("Informal teams")
teams = a.frame("informal_teams")
if opts.aggregate_only:
    teams = teams.select([c for c in teams.columns if c not in ("members", "group")])
elif teams.height:
    teams = teams.with_columns(pl.col("members").list.eval(
        pl.element().replace_strict(a.person_names, default=pl.element())).alias("member_names"))
if teams.height:
    teams = teams.with_columns(pl.col("units").list.eval(
        pl.element().replace_strict(a.unit_names, default=pl.element())).alias("unit_names"))
    first = [c for c in ("member_names", "unit_names", "size", "n_units", "strength", "lift")
             if c in teams.columns]
    teams = teams.select(first + [c for c in teams.columns if c not in first])
shared.show_table(teams)
if teams.height == 0:
    st.caption("No cross-unit group in this window collaborates far above its units' baseline.")
shared.download_frame(teams, "informal_teams")

if opts.aggregate_only:
    st.info("Aggregate-only mode: misaligned people and org-change lag (person-level) are hidden.")
    st.stop()

st.subheader("People the chart misplaces")
mis = shared.named(a.frame("misaligned_people"), a, people=["person_id"],
              units=["unit_id", "top_other_unit"])
shared.show_table(mis)
if mis.height == 0:
    st.caption("Nobody mostly works with another unit in this window.")
shared.download_frame(mis, "misaligned_people")

st.subheader("Org change lag")
lag = shared.named(a.frame("org_change_lag"), a, people=["person_id"], units=["from_unit", "to_unit"])
shared.show_table(lag)
if lag.height == 0:
    st.caption("No informal move that the org chart followed later.")
shared.download_frame(lag, "org_change_lag")
