"""Unit matrix and silos (ANALYSES §2).

Measures
--------
- Unit x unit directed weight matrix of a view, normalised by unit sizes (weight per possible pair).
- Help given vs received: reviews a unit's members do for other units' authors against the reviews
  its authors receive from other units.
- E-I index (Krackhardt and Stern 1988), ``(E - I) / (E + I)`` over the social ties (review and
  communication, binarised) of each unit's members. Its *expectation* accounts for unit size and the
  organisation's own homophily: with ``p_in`` and ``p_out`` the organisation-wide tie densities inside
  and across units, a unit of ``n`` among ``N`` people expects ``I = p_in n(n-1)/2`` and
  ``E = p_out n(N-n)``. Teams talk inside more than outside everywhere; a silo is a unit far more
  inward than its peers: the robust z-score (median/MAD across units, spread at least 0.25) of the
  log-odds residual ``logit(E share) - logit(expected E share)``.
- **silo**: z <= -2.5, the external share at most half of its expectation, and real coordination
  needs outside (at least 10% of the unit's co-edit weight is with other units).
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
import polars as pl

from orgnet.analysis._context import AnalysisContext, ensure_context, memoized, with_home_units
from orgnet.dataset import Dataset, Window
from orgnet.findings import Finding, make_finding
from orgnet.graph.build import View, unit_matrix
from orgnet.schema import frame_schema

__all__ = [
    "EI_SCHEMA",
    "HELP_SCHEMA",
    "UNIT_MATRIX_SCHEMA",
    "ei_index",
    "find_silo",
    "help_balance",
    "unit_pair_matrix",
]

#: Smallest spread of the log-odds residuals used for the robust z-score.
MIN_SPREAD: Final = 0.25

UNIT_MATRIX_SCHEMA: Final = frame_schema({
    "src_unit": pl.String, "dst_unit": pl.String, "weight": pl.Float64, "src_size": pl.Int64,
    "dst_size": pl.Int64, "weight_per_pair": pl.Float64,
})
HELP_SCHEMA: Final = frame_schema({
    "unit_id": pl.String, "size": pl.Int64, "reviews_given_out": pl.Float64,
    "reviews_received_from_out": pl.Float64, "reviews_inside": pl.Float64, "help_ratio": pl.Float64,
})
EI_SCHEMA: Final = frame_schema({
    "unit_id": pl.String, "size": pl.Int64, "internal_ties": pl.Int64, "external_ties": pl.Int64,
    "ei": pl.Float64, "ei_expected": pl.Float64, "z": pl.Float64, "coedit_outside_share": pl.Float64,
    "coedit_outside_weight": pl.Float64,
})


@memoized
def unit_pair_matrix(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    view: View = "collaboration",
) -> pl.DataFrame:
    """The unit x unit weight matrix of a view (``Mᵀ W M``), with sizes.

    Returns
    -------
    pl.DataFrame
        ``src_unit, dst_unit, weight, src_size, dst_size, weight_per_pair`` (weight divided by the
        number of possible person pairs); sorted by ``src_unit, dst_unit``.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    m = ctx.membership()
    if m.height == 0:
        return pl.DataFrame(schema=UNIT_MATRIX_SCHEMA)
    um = unit_matrix(ctx.graph(view), m)
    sizes = pl.DataFrame(list(ctx.unit_sizes().items()), schema={"u": pl.String, "n": pl.Int64},
                         orient="row")
    out = (
        um.join(sizes.rename({"u": "src_unit", "n": "src_size"}), on="src_unit", how="left")
        .join(sizes.rename({"u": "dst_unit", "n": "dst_size"}), on="dst_unit", how="left")
        .with_columns(
            pl.when(pl.col("src_unit") == pl.col("dst_unit"))
            .then(pl.col("weight") / (pl.col("src_size") * (pl.col("src_size") - 1) / 2).clip(1))
            .otherwise(pl.col("weight") / (pl.col("src_size") * pl.col("dst_size")).clip(1))
            .alias("weight_per_pair")
        )
    )
    return out.select(list(UNIT_MATRIX_SCHEMA)).cast(UNIT_MATRIX_SCHEMA).sort("src_unit", "dst_unit")


@memoized
def help_balance(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
) -> pl.DataFrame:
    """Reviews given to other units vs received from them, per unit.

    Returns
    -------
    pl.DataFrame
        ``unit_id, size, reviews_given_out, reviews_received_from_out, reviews_inside,
        help_ratio`` (given / received; null when nothing was received); sorted by ``unit_id``;
        empty when the window has no reviews.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    m = ctx.membership()
    if m.height == 0 or ctx.graph("review").edges.height == 0:
        return pl.DataFrame(schema=HELP_SCHEMA)
    # Review graph edges run author -> reviewer, so src_unit receives and dst_unit gives.
    um = unit_matrix(ctx.graph("review"), m)
    cross = um.filter(pl.col("src_unit") != pl.col("dst_unit"))
    given = cross.group_by(pl.col("dst_unit").alias("unit_id")).agg(
        pl.col("weight").sum().alias("reviews_given_out"))
    received = cross.group_by(pl.col("src_unit").alias("unit_id")).agg(
        pl.col("weight").sum().alias("reviews_received_from_out"))
    inside = um.filter(pl.col("src_unit") == pl.col("dst_unit")).select(
        pl.col("src_unit").alias("unit_id"), pl.col("weight").alias("reviews_inside"))
    sizes = pl.DataFrame(list(ctx.unit_sizes().items()), schema={"unit_id": pl.String,
                                                                "size": pl.Int64}, orient="row")
    out = (
        sizes.join(given, on="unit_id", how="left").join(received, on="unit_id", how="left")
        .join(inside, on="unit_id", how="left")
        .with_columns(pl.col("reviews_given_out", "reviews_received_from_out", "reviews_inside")
                      .fill_null(0.0))
        .with_columns(
            pl.when(pl.col("reviews_received_from_out") > 0)
            .then(pl.col("reviews_given_out") / pl.col("reviews_received_from_out"))
            .otherwise(None).alias("help_ratio")
        )
    )
    return out.select(list(HELP_SCHEMA)).cast(HELP_SCHEMA).sort("unit_id")


def _social_ties(ctx: AnalysisContext) -> pl.DataFrame:
    """Undirected, binarised review + communication ties (``a < b``)."""
    parts = [ctx.graph("review").edges, ctx.graph("communication").edges]
    e = pl.concat(parts)
    if e.height == 0:
        return e.select("src", "dst")
    return (
        e.select(pl.min_horizontal("src", "dst").alias("a"), pl.max_horizontal("src", "dst").alias("b"))
        .unique().rename({"a": "src", "b": "dst"}).sort("src", "dst")
    )


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@memoized
def ei_index(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
) -> pl.DataFrame:
    """E-I index per unit against its size- and homophily-adjusted expectation.

    Returns
    -------
    pl.DataFrame
        ``unit_id, size, internal_ties, external_ties, ei, ei_expected, z`` (robust z of the
        log-odds residual across units; negative = more inward than peers), ``coedit_outside_share``
        and ``coedit_outside_weight`` (co-edit weight with other units); sorted by ``unit_id``.
        Units of fewer than 2 people are left out; empty when the window has no ties.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    home = ctx.home_frame()
    sizes = {u: n for u, n in ctx.unit_sizes().items() if n >= 2}
    if not sizes:
        return pl.DataFrame(schema=EI_SCHEMA)
    ties = _social_ties(ctx)
    if ties.height == 0:
        return pl.DataFrame(schema=EI_SCHEMA)
    placed = with_home_units(ties, home)
    same = pl.col("ua") == pl.col("ub")
    n_in = int(placed.select(same.sum()).item() or 0)
    n_out = placed.height - n_in
    internal = dict.fromkeys(sizes, 0)
    external = dict.fromkeys(sizes, 0)
    for u, n in placed.filter(same).group_by("ua").len().iter_rows():
        if u in internal:
            internal[u] = int(n)
    cross = placed.filter(~same)
    for u, n in pl.concat([cross["ua"], cross["ub"]]).value_counts().iter_rows():
        if u in external:
            external[u] = int(n)
    n_total = sum(ctx.unit_sizes().values())
    possible_in = sum(n * (n - 1) / 2 for n in ctx.unit_sizes().values())
    possible_out = (n_total * (n_total - 1) / 2) - possible_in
    p_in = n_in / possible_in if possible_in else 0.0
    p_out = n_out / possible_out if possible_out else 0.0
    coedit = _coedit_outside(ctx, home)
    rows: list[dict[str, Any]] = []
    for u in sorted(sizes):
        n = sizes[u]
        i_obs, e_obs = internal[u], external[u]
        i_exp = p_in * n * (n - 1) / 2
        e_exp = p_out * n * (n_total - n)
        ei = (e_obs - i_obs) / (e_obs + i_obs) if e_obs + i_obs else float("nan")
        ei_exp = (e_exp - i_exp) / (e_exp + i_exp) if e_exp + i_exp else float("nan")
        out_share, out_weight = coedit.get(u, (0.0, 0.0))
        rows.append({"unit_id": u, "size": n, "internal_ties": i_obs, "external_ties": e_obs,
                     "ei": ei, "ei_expected": ei_exp, "z": float("nan"),
                     "coedit_outside_share": out_share, "coedit_outside_weight": out_weight})
    resid = []
    for r in rows:
        tot = r["internal_ties"] + r["external_ties"]
        if tot == 0 or math.isnan(r["ei_expected"]):
            resid.append(float("nan"))
            continue
        share = r["external_ties"] / tot
        share_exp = (r["ei_expected"] + 1) / 2
        resid.append(_logit(share) - _logit(share_exp))
    arr = np.array(resid, dtype=float)
    ok = ~np.isnan(arr)
    if ok.sum() >= 4:
        med = float(np.median(arr[ok]))
        mad = float(np.median(np.abs(arr[ok] - med))) * 1.4826
        # A floor on the spread (in log-odds): when most units are alike, MAD is ~0 and a small
        # difference would look enormous.
        spread = max(mad, MIN_SPREAD)
        for r, x in zip(rows, arr, strict=True):
            r["z"] = (x - med) / spread if not math.isnan(x) else float("nan")
    return pl.DataFrame(rows, schema=EI_SCHEMA).sort("unit_id")


def _coedit_outside(ctx: AnalysisContext, home: pl.DataFrame) -> dict[str, tuple[float, float]]:
    """Per unit: share and weight of its members' co-edit ties that reach another unit."""
    placed = with_home_units(ctx.graph("coedit").edges, home)
    if placed.height == 0:
        return {}
    same = pl.col("ua") == pl.col("ub")
    # A tie inside a unit counts once for it; a tie across units counts for both.
    ends = pl.concat([
        placed.select(pl.col("ua").alias("unit"), "weight", (~same).alias("out")),
        placed.filter(~same).select(pl.col("ub").alias("unit"), "weight", pl.lit(True).alias("out")),
    ])
    sums = ends.group_by("unit").agg(
        pl.col("weight").sum().alias("total"),
        pl.col("weight").filter(pl.col("out")).sum().alias("outside"),
    )
    return {u: (o / t if t else 0.0, o) for u, t, o in sums.iter_rows()}


def find_silo(
    ctx: AnalysisContext, *, max_z: float = -2.5, min_coedit_outside: float = 0.1
) -> list[Finding]:
    """``silo`` findings.

    ``severity = min(1, -z / 5) * min(1, coedit_outside_share / 0.2)``.
    """
    fctx = ctx.finding_context()
    out = []
    for r in ei_index(ctx).iter_rows(named=True):
        z = r["z"]
        if z is None or math.isnan(z) or z > max_z or fctx.too_small(r["unit_id"]):
            continue
        tot = r["internal_ties"] + r["external_ties"]
        share = r["external_ties"] / tot if tot else 0.0
        share_exp = (r["ei_expected"] + 1) / 2
        if share > share_exp / 2 or r["coedit_outside_share"] < min_coedit_outside:
            continue
        sev = min(1.0, -z / 5) * min(1.0, r["coedit_outside_share"] / 0.2)
        title = (f"{fctx.unit(r['unit_id'])} works on code shared with other teams "
                 f"({r['coedit_outside_share']:.0%} of its co-edits) but only {share:.0%} of its ties "
                 f"reach outside, against {share_exp:.0%} expected")
        out.append(make_finding(
            "silo", sev, title, units=[r["unit_id"]],
            evidence={"ei": r["ei"], "ei_expected": r["ei_expected"], "z": z,
                      "internal_ties": r["internal_ties"], "external_ties": r["external_ties"],
                      "external_share": share, "external_share_expected": share_exp,
                      "coedit_outside_share": r["coedit_outside_share"],
                      "coedit_outside_weight": r["coedit_outside_weight"], "size": r["size"]},
            ctx=fctx,
        ))
    return out
