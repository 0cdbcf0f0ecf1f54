"""Unit matrix: collaboration between units, E-I against expectation, help given vs received."""

from __future__ import annotations

import streamlit as st

from app import _figures
from app import _shared as shared
from orgnet.viz.charts import ei_expectation_bars, most_connected_units, unit_matrix_heatmap

MAX_UNITS = 40
MAX_BARS = 30

opts, a = shared.page("Unit matrix")
k = opts.min_group_size

matrix, hidden = shared.suppress_units(a.frame("unit_matrix"), ["src_unit", "dst_unit"], a, k)
c1, c2 = st.columns(2)
value = c1.radio("Cell value", ["weight_per_pair", "weight"], horizontal=True,
                 format_func=lambda v: {"weight_per_pair": "tie weight per pair of people",
                                        "weight": "total tie weight"}[v])
within = c2.checkbox("Show ties within a unit (the diagonal)", value=False,
                     help="Within-unit ties are much stronger than ties between units; hiding "
                     "them lets the colour scale show the differences between units.")
# Large organisations: a readable heatmap holds a few dozen units; show the units with the most
# collaboration across unit lines, grouped by parent unit so departments form blocks.
n_units = len(set(matrix["src_unit"].to_list()) | set(matrix["dst_unit"].to_list()))
order = None
if n_units > MAX_UNITS:
    shown_n = st.slider("Units shown", 10, min(n_units, 80), MAX_UNITS, step=5,
                        help="The units with the most collaboration with other units.")
    parent = dict(a.ctx.data.units.select("unit_id", "parent_id").iter_rows())
    order = most_connected_units(matrix, shown_n, parents=parent, unit_names=a.unit_names)
    st.caption(f"Showing {len(order)} of {n_units:,} units (the most connected across units), "
               "grouped by parent unit.")
shared.chart(unit_matrix_heatmap(matrix, value=value, unit_names=a.unit_names, order=order,
                                 diagonal=within))
shared.suppressed_note(hidden, k, "unit pairs")
shared.download_frame(matrix, "unit_matrix")

left, right = st.columns(2)
ei, hidden_ei = shared.suppress_units(a.frame("ei_index"), ["unit_id"], a, k)
ei_top = ei.sort("z", nulls_last=True).head(MAX_BARS)
ei_fig = ei_expectation_bars(ei_top, unit_names=a.unit_names, title="E-I index: observed vs expected"
                             + (f" ({MAX_BARS} most inward units)" if ei.height > MAX_BARS else ""))
ei_fig.update_layout(legend=_figures.TOP_LEGEND, margin={"t": 80})
shared.chart(where=left, fig=ei_fig)
helped, hidden_help = shared.suppress_units(a.frame("help_balance"), ["unit_id"], a, k)
shared.chart(where=right, fig=_figures.help_balance_bars(helped, unit_names=a.unit_names))
shared.suppressed_note(max(hidden_ei, hidden_help), k, "units")

st.subheader("E-I index per unit")
st.caption("E-I = (external - internal) / (external + internal) ties. Negative z: more "
           "inward-looking than the unit's size predicts.")
shared.show_table(shared.named(ei, a, units=["unit_id"]).sort("z", nulls_last=True))
shared.download_frame(ei, "ei_index")
st.subheader("Help given and received")
shared.show_table(shared.named(helped, a, units=["unit_id"]).sort("help_ratio", descending=True,
                                                      nulls_last=True))
shared.download_frame(helped, "help_balance")
