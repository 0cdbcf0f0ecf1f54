"""Plotly figure builders shared by the dashboard, the report and notebooks.

Every builder is ``(frame, *, options) -> plotly.graph_objects.Figure``: data first, keyword-only
options, no I/O, no Streamlit. :mod:`orgnet.viz.charts` holds charts (heatmaps, bars,
distributions, trends, Sankey); :mod:`orgnet.viz.network` holds network drawings.
"""

from __future__ import annotations

from orgnet.viz import charts, network
from orgnet.viz.charts import *  # noqa: F403
from orgnet.viz.network import *  # noqa: F403

__all__ = [*charts.__all__, *network.__all__]  # noqa: PLE0604
