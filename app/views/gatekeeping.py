"""Gatekeeping: approval concentration, outsider vs insider review latency, brokerage roles."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import _figures
from app import _shared as shared
from orgnet.viz.charts import approval_concentration_bars, latency_box

opts, a = shared.page("Gatekeeping")
k = opts.min_group_size

shared.finding_cards(shared.findings_for(a, opts, ["gatekeeper", "review_bottleneck"]), limit=5)

st.subheader("Approval concentration")
conc, hidden = shared.suppress_units(a.frame("approval_concentration"), ["area_id"], a, k)
if opts.aggregate_only:
    conc = conc.drop([c for c in ("top_approver",) if c in conc.columns])
shared.chart(approval_concentration_bars(conc, area_names=a.unit_names))
shared.suppressed_note(hidden, k, "areas")
shared.show_table(shared.named(conc, a, people=[] if opts.aggregate_only else ["top_approver"],
                     units=["area_id"]), height=300)
shared.download_frame(conc, "approval_concentration")

st.subheader("Time to first review: outsiders vs insiders")
lat = shared.review_latencies(opts)
if lat.height == 0:
    st.caption("No review with a known opening time in this window (commit trailers carry none).")
else:
    shared.chart(latency_box(lat.select("side", "hours")))
    summary = lat.group_by("side").agg(
        pl.len().alias("reviews"), pl.col("hours").median().alias("median_hours"),
        pl.col("hours").quantile(0.9).alias("p90_hours"),
        pl.col("changes_requested").mean().alias("changes_requested_rate"))
    shared.show_table(summary.sort("side"))
if not opts.aggregate_only:
    fr = shared.named(a.frame("outsider_friction"), a, people=["person_id"], units=["unit_id"])
    with st.expander("Per reviewer (outsider friction)"):
        shared.show_table(fr.sort("latency_ratio", descending=True, nulls_last=True), height=320)
    shared.download_frame(a.frame("outsider_friction"), "outsider_friction")

st.subheader("Brokerage roles")
brok = a.frame("brokerage")
if opts.aggregate_only or brok.height == 0:
    roles = [r for r in _figures.ROLES if r in brok.columns]
    by_unit = (brok.filter(pl.col("unit_id").is_not_null()).group_by("unit_id")
               .agg(*[pl.col(r).sum() for r in roles], pl.col("total").sum())
               if brok.height else brok)
    by_unit, hidden = shared.suppress_units(by_unit, ["unit_id"], a, k)
    shared.chart(_figures.brokerage_bars(by_unit, labels=a.unit_names, key="unit_id",
                                            title="Brokerage roles by unit (Gould-Fernandez)"))
    shared.suppressed_note(hidden, k, "units")
    shared.show_table(shared.named(by_unit, a, units=["unit_id"]))
else:
    shared.chart(_figures.brokerage_bars(brok, labels=a.person_names))
    cols = ["person_id", "unit_id", *[r for r in _figures.ROLES if r in brok.columns], "total"]
    shared.show_table(shared.named(brok.select(cols).sort("total", descending=True), a,
                         people=["person_id"], units=["unit_id"]), height=320)
    shared.download_frame(brok, "brokerage")
st.caption("Coordinator: brokers inside their own unit; itinerant: between two people of "
           "another unit; representative / gatekeeper: carries ties out of / into their unit; "
           "liaison: between two other units.")
