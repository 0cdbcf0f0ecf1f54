"""Graph views over people and units, built from the canonical tables (ANALYSES §0)."""

from __future__ import annotations

from orgnet.graph.build import (
    Graph,
    GraphOptions,
    View,
    build_view,
    coedit_matrix,
    person_events,
    unit_matrix,
)
from orgnet.graph.formal import FormalStructure, membership_at, unit_ancestors

__all__ = [
    "FormalStructure",
    "Graph",
    "GraphOptions",
    "View",
    "build_view",
    "coedit_matrix",
    "membership_at",
    "person_events",
    "unit_ancestors",
    "unit_matrix",
]
