"""Trends (ANALYSES §7): the organisation-level measures over consecutive windows.

Each period (month or quarter) gets its own :class:`AnalysisContext` (graphs rebuilt from that
period's events, formal structure read at the period's end) and reports: activity, alignment of
communities with units (NMI, ARI; Louvain at the resolution chosen for the whole window, so
periods are comparable), the mean E-I index, the organisation's need-weighted
socio-technical congruence, and the number of silo and blind-spot findings the period alone would
raise. Comparing runs (new, resolved, worse findings) is the report's ``--previous``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Final, Literal

import polars as pl

from orgnet.analysis._context import AnalysisContext, ensure_context
from orgnet.dataset import Dataset, Window
from orgnet.schema import frame_schema

__all__ = ["TRENDS_SCHEMA", "Period", "periods", "trends"]

Period = Literal["month", "quarter"]

TRENDS_SCHEMA: Final = frame_schema({
    "period_start": pl.Date, "period_end": pl.Date, "events": pl.Int64, "active_people": pl.Int64,
    "nmi": pl.Float64, "ari": pl.Float64, "mean_ei": pl.Float64, "congruence": pl.Float64,
    "silos": pl.Int64, "blind_spots": pl.Int64,
})


def periods(lo: dt.datetime, hi: dt.datetime, period: Period = "quarter") -> list[tuple[dt.date, dt.date]]:
    """Calendar months or quarters covering ``[lo, hi]`` as ``(start, end)`` half-open dates."""
    step = 1 if period == "month" else 3
    first_month = lo.month if period == "month" else 3 * ((lo.month - 1) // 3) + 1
    start = dt.date(lo.year, first_month, 1)
    out = []
    while start <= hi.date():
        month = start.month - 1 + step
        end = dt.date(start.year + month // 12, month % 12 + 1, 1)
        out.append((start, end))
        start = end
    return out


def trends(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    period: Period = "quarter",
) -> pl.DataFrame:
    """Organisation-level measures per period.

    Returns
    -------
    pl.DataFrame
        ``period_start, period_end, events, active_people, nmi, ari, mean_ei, congruence,
        silos, blind_spots``; one row per period with events, in time order.
    """
    from orgnet.analysis.alignment import alignment_scores
    from orgnet.analysis.blind_spots import find_blind_spot, unit_congruence
    from orgnet.analysis.team_matrix import ei_index, find_silo

    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    events = ctx.event_table()
    if events.height == 0:
        return pl.DataFrame(schema=TRENDS_SCHEMA)
    lo, hi = events["ts"].min(), events["ts"].max()
    assert isinstance(lo, dt.datetime) and isinstance(hi, dt.datetime)
    # Every period uses the Louvain resolution chosen for the whole window: comparable periods,
    # and no resolution search per period.
    whole = alignment_scores(ctx)
    resolution = float(whole["resolution"][0]) if whole.height else None
    rows = []
    for start, end in periods(lo, hi, period):
        sub = ctx.period(start, end)
        ev = sub.event_table()
        if ev.height == 0:
            continue
        # Codes stand one-to-one for people, so counting distinct codes counts people.
        active = pl.concat([ev["actor"], ev["target"].drop_nulls()]).n_unique()
        align = alignment_scores(sub, resolution=resolution)
        nmi = ari = float("nan")
        if align.height:
            nmi, ari = align["nmi"][0], align["ari"][0]
        ei = ei_index(sub)
        mean_ei = float(ei["ei"].drop_nans().mean()) if ei.height else float("nan")  # type: ignore[arg-type]
        cong = unit_congruence(sub)
        need = float(cong["need"].sum()) if cong.height else 0.0
        congruence = float(cong["met_need"].sum()) / need if need else float("nan")
        rows.append({
            "period_start": start, "period_end": end, "events": ev.height,
            "active_people": active, "nmi": nmi, "ari": ari,
            "mean_ei": mean_ei if not math.isnan(mean_ei) else None,
            "congruence": congruence, "silos": len(find_silo(sub)),
            "blind_spots": len(find_blind_spot(sub)),
        })
    if not rows:
        return pl.DataFrame(schema=TRENDS_SCHEMA)
    return pl.DataFrame(rows, schema=TRENDS_SCHEMA).sort("period_start")
