"""Ownership: knowledge islands and ownership drift per owned area."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import _figures
from app import _shared as shared

opts, a = shared.page("Ownership", need_events=False)
k = opts.min_group_size

areas = a.frame("area_ownership")
if areas.height == 0:
    st.info("No owned areas with changes in this window: import ownership files "
            "(orgnet import owners CODEOWNERS --container owner/repo) and commits.",
            icon=":material/folder_off:")
    st.stop()
person_cols = ["main_contributor", "owner_people", "shadow_owners", "shadow_shares"]
if opts.aggregate_only:
    areas = areas.drop([c for c in person_cols if c in areas.columns])
areas, hidden = shared.suppress_units(areas, ["owning_unit", "top_outside_unit"], a, k)

shared.finding_cards(shared.findings_for(a, opts, ["knowledge_island", "ownership_drift"]), limit=6)

st.subheader("Knowledge islands")
st.caption("Areas where one person made most of the changes (truck factor 1 means one person "
           "made at least half).")
active = areas.filter(pl.col("n_changes") >= 10)
shared.chart(_figures.ownership_bars(active, value="main_share", threshold=0.8,
                                        title="Main contributor's share of changes per area",
                                        xtitle="main contributor's share"))
cols = ["area", "container", "n_changes", "n_contributors", "main_share", "truck_factor",
        "owning_unit"] + ([] if opts.aggregate_only else ["main_contributor"])
islands = active.select([c for c in cols if c in active.columns]).sort("main_share",
                                                                          descending=True)
shared.show_table(shared.named(islands, a, people=[] if opts.aggregate_only else ["main_contributor"],
                     units=["owning_unit"]), height=300)

st.subheader("Ownership drift")
st.caption("Owned areas where the owners made few of the changes, and who made them instead.")
owned = active.filter(pl.col("owner_share").is_not_null())
shared.chart(_figures.ownership_bars(owned, value="owner_share", threshold=0.2,
                                        title="Owners' share of changes per owned area",
                                        xtitle="owners' share"))
cols = ["area", "n_changes", "owner_share", "owning_unit", "top_outside_unit",
        "top_outside_share"]
shared.show_table(shared.named(owned.select([c for c in cols if c in owned.columns]).sort("owner_share"),
                     a, units=["owning_unit", "top_outside_unit"]), height=300)
shared.suppressed_note(hidden, k, "areas")
shared.download_frame(areas, "area_ownership")
