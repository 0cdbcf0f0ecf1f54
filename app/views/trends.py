"""Trends: the measures per period (quarters) across the window."""

from __future__ import annotations

import streamlit as st

from app import _figures
from app import _shared as shared
from orgnet.viz.charts import trends_lines

opts, a = shared.page("Trends", need_events=False)
tr = a.frame("trends")
if tr.height == 0:
    st.info("No complete period in this window: widen the window in the sidebar.",
            icon=":material/event_busy:")
    st.stop()
labels = {"nmi": "alignment NMI", "ari": "alignment ARI", "mean_ei": "mean E-I index",
          "congruence": "socio-technical congruence"}
shared.chart(trends_lines(tr, labels=labels, title="Alignment, openness and congruence per "
                             "quarter"))
left, right = st.columns(2)
shared.chart(where=left, fig=_figures.trend_counts(tr))
shared.chart(where=right, fig=_figures.trend_counts(tr, columns=("active_people",),
                                         title="Active people per period"))
if tr.height < 2:
    st.caption("One period only: trends need a window spanning several quarters.")
shared.show_table(tr)
shared.download_frame(tr, "trends")
