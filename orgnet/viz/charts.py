"""Charts: heatmaps, bars, distributions, trends, Sankey (builders added with the report)."""

from __future__ import annotations

__all__: list[str] = []
