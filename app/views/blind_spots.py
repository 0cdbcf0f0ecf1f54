"""Blind spots: dependency without contact, one-sided relationships, information droughts."""

from __future__ import annotations

import polars as pl
import streamlit as st

from app import _figures
from app import _shared as shared

opts, a = shared.page("Blind spots")
k = opts.min_group_size

shared.finding_cards(shared.findings_for(a, opts, ["blind_spot", "information_drought"]), limit=5)

st.subheader("Dependency without contact")
cong, hidden = shared.suppress_units(a.frame("congruence"), ["unit_a", "unit_b"], a, k)
org = None
if cong.height and float(cong["need"].sum() or 0) > 0:
    org = float(cong["met_need"].sum()) / float(cong["need"].sum())
shared.chart(_figures.congruence_scatter(cong, unit_names=a.unit_names, org_congruence=org))
shared.suppressed_note(hidden, k, "unit pairs")
st.caption("Each dot is a pair of units changing the same code. Orange dots at 0% never review "
           "or talk with each other: the blind spots.")
worst = cong.sort(["congruence", "need"], descending=[False, True])
shared.show_table(shared.named(worst, a, units=["unit_a", "unit_b"]), height=320)
shared.download_frame(cong, "congruence")

st.subheader("One-sided relationships")
one, hidden = shared.suppress_units(a.frame("one_sided"),
                               ["unit_id", "favoured_unit", "neglected_unit"], a, k)
shared.show_table(shared.named(one, a, units=["unit_id", "parent_id", "favoured_unit", "neglected_unit"]))
if one.height == 0:
    st.caption("No unit talks to only one of several units it depends on.")
shared.suppressed_note(hidden, k)
shared.download_frame(one, "one_sided")

st.subheader("Information droughts")
dry, hidden = shared.suppress_units(a.frame("information_droughts"), ["owning_unit"], a, k)
if dry.height:
    dry = dry.with_columns(pl.col("participant_units").list.eval(
        pl.element().replace_strict(a.unit_names, default=pl.element())))
shared.show_table(shared.named(dry, a, units=["owning_unit"]))
if dry.height == 0:
    st.caption("No conversation about a unit's code went on without the unit.")
shared.suppressed_note(hidden, k)
shared.download_frame(dry, "information_droughts")
