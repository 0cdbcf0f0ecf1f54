"""Analyses: pure functions from a dataset to labelled polars frames, and their findings.

Each analysis module documents its output columns and cites the measure it implements. The
registry in :mod:`orgnet.analysis.registry` lists them for ``orgnet analyze``.
"""

from __future__ import annotations

from orgnet.analysis._context import AnalysisContext, ensure_context

__all__ = ["AnalysisContext", "ensure_context"]
