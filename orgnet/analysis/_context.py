"""The shared context of one analysis run: dataset, window, unit level, cached graphs.

Every analysis is a pure function of a :class:`~orgnet.dataset.Dataset` and options. Several
analyses need the same graph views and memberships; an :class:`AnalysisContext` builds each once.
Pass a ``Dataset`` and the analysis makes its own context; pass a context to share the cache.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from orgnet.dataset import Dataset, Window
from orgnet.findings import FindingContext
from orgnet.graph.build import Graph, GraphOptions, View, build_view, person_events
from orgnet.graph.formal import membership_at

__all__ = ["AnalysisContext", "ensure_context"]


@dataclass
class AnalysisContext:
    """Dataset + options + caches for one analysis run.

    Attributes
    ----------
    data
        The dataset.
    window
        Events considered.
    unit_kind
        Formal level compared with (``team``, ``department``, ``maintainer_section`` ...).
    graph_options
        How events become edges (the window inside is replaced by ``window``).
    at
        Date of the formal structure (default: the window end, else the latest event day).
    min_group_size
        Privacy threshold for unit-level findings.
    """

    data: Dataset
    window: Window = field(default_factory=Window)
    unit_kind: str = "team"
    graph_options: GraphOptions | None = None
    at: dt.date | None = None
    min_group_size: int = 5
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    @property
    def options(self) -> GraphOptions:
        """Graph options with this context's window."""
        base = self.graph_options or GraphOptions()
        if base.window == self.window:
            return base
        return GraphOptions(
            window=self.window, exclude_bots=base.exclude_bots, kind_weights=base.kind_weights,
            view_weights=base.view_weights, half_life_days=base.half_life_days,
            changeset_cap=base.changeset_cap, coedit_depth=base.coedit_depth,
            max_thread_size=base.max_thread_size,
        )

    def cached(self, key: Any, make: Any) -> Any:
        """The value cached under ``key``, computed with ``make()`` the first time.

        Finding rules use it to reuse an analysis frame another rule already computed.
        """
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    _cached = cached

    def graph(self, view: View) -> Graph:
        """A graph view (built once per context)."""
        return self._cached(("graph", view), lambda: build_view(self.data, view, self.options))

    def events(self) -> pl.DataFrame:
        """Person-level events of the window (collected once)."""
        # Sorted by event id: analyses that pick "the first" row must not depend on scan order.
        return self._cached(
            "events", lambda: person_events(self.data, self.options).collect().sort("event_id")
        )

    def formal_date(self) -> dt.date:
        """The date the formal structure is read at."""
        if self.at is not None:
            return self.at
        if self.window.until is not None:
            return (self.window.until - dt.timedelta(microseconds=1)).date()
        _lo, hi = self.cached("time_range", self.data.time_range)
        if hi is not None:
            return hi.date()
        latest = self.data.memberships["valid_from"].max() if self.data.memberships.height else None
        return latest if isinstance(latest, dt.date) else dt.date.today()

    def membership(self, unit_kind: str | None = None, at: dt.date | None = None) -> pl.DataFrame:
        """``person_id, unit_id, share, role, manager_id, level`` at the formal date."""
        kind = unit_kind or self.unit_kind
        day = at or self.formal_date()
        return self._cached(
            ("membership", kind, day),
            lambda: membership_at(self.data.memberships, self.data.units, at=day, unit_kind=kind),
        )

    def home_unit(self, unit_kind: str | None = None, at: dt.date | None = None) -> dict[str, str]:
        """Each person's main unit (largest share; ties by unit id)."""
        m = self.membership(unit_kind, at).sort(["person_id", "share", "unit_id"],
                                                descending=[False, True, False])
        return dict(m.unique("person_id", keep="first").select("person_id", "unit_id").iter_rows())

    def unit_sizes(self, unit_kind: str | None = None) -> dict[str, int]:
        """Members per unit at the formal date."""
        m = self.membership(unit_kind)
        return dict(m.group_by("unit_id").agg(pl.col("person_id").n_unique()).iter_rows())

    def finding_context(self) -> FindingContext:
        """Names, unit sizes and the privacy threshold for writing findings."""
        return FindingContext(
            person_names=dict(self.data.people.select("person_id", "display_name").iter_rows()),
            unit_names=dict(self.data.units.select("unit_id", "name").iter_rows()),
            unit_sizes=self.unit_sizes(),
            min_group_size=self.min_group_size,
        )


def ensure_context(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
) -> AnalysisContext:
    """Use ``data`` when it is a context (window/unit_kind must then agree), else make one."""
    if isinstance(data, AnalysisContext):
        if window is not None and window != data.window:
            return AnalysisContext(data.data, window=window, unit_kind=unit_kind or data.unit_kind,
                                   graph_options=data.graph_options, at=data.at,
                                   min_group_size=data.min_group_size)
        if unit_kind is not None and unit_kind != data.unit_kind:
            return AnalysisContext(data.data, window=data.window, unit_kind=unit_kind,
                                   graph_options=data.graph_options, at=data.at,
                                   min_group_size=data.min_group_size, _cache=data._cache)
        return data
    return AnalysisContext(data, window=window or Window(), unit_kind=unit_kind or "team")
