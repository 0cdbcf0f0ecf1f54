"""Influence: who carries weight in the informal network, whatever the chart says (ANALYSES §5).

:func:`influence`
    Per person PageRank, betweenness (exact, or estimated from sampled sources on large graphs),
    Burt's constraint, units bridged, review load, management role and level, with ranks.
:func:`find_hidden_influencer`
    People in the top brokerage decile, far beyond their peers, without a management role and
    at or below the median level of people with similar reach.
:func:`betweenness`
    Brandes' betweenness for unweighted undirected graphs, by batched sparse-dense products.
"""

from __future__ import annotations

import math
import random
import re
from typing import Final

import numpy as np
import polars as pl
import scipy.sparse as sp
from sknetwork.ranking import PageRank

from orgnet.analysis._context import AnalysisContext, ensure_context, memoized
from orgnet.analysis.brokerage import _burt, _undirected_weighted
from orgnet.dataset import Dataset, Window
from orgnet.findings import Finding, make_finding
from orgnet.graph.build import REVIEW_KINDS, REVIEW_TRAILERS
from orgnet.graph.formal import membership_at

__all__ = [
    "INFLUENCE_SCHEMA",
    "betweenness",
    "find_hidden_influencer",
    "influence",
    "parse_level",
]

INFLUENCE_SCHEMA: Final[dict[str, type[pl.DataType] | pl.DataType]] = {
    "person_id": pl.String,
    "unit_id": pl.String,
    "degree": pl.Int64,
    "pagerank": pl.Float64,
    "betweenness": pl.Float64,
    "betweenness_se": pl.Float64,
    "betweenness_sources": pl.Int64,
    "constraint": pl.Float64,
    "units_bridged": pl.Int64,
    "review_load": pl.Int64,
    "reports": pl.Int64,
    "has_reports": pl.Boolean,
    "level": pl.String,
    "level_rank": pl.Float64,
    "management_level": pl.Boolean,
    "rank_pagerank": pl.Int64,
    "rank_betweenness": pl.Int64,
    "rank_units_bridged": pl.Int64,
    "rank_constraint": pl.Int64,
    "reach": pl.Float64,
    "rank_reach": pl.Int64,
}

_LEVEL_NUMBER: Final = re.compile(r"(\d+(?:\.\d+)?)")
_MANAGEMENT_LEVEL: Final = re.compile(r"^\s*(m|mgr|manager|d|dir|director|vp|svp|evp|c)\s*-?\s*\d", re.I)


def parse_level(level: str | None) -> tuple[float | None, bool]:
    """Numeric rank of a level string and whether it is a management-track level.

    ``"L5"``, ``"IC4"``, ``"E6"``, ``"P3"``, ``"5"`` -> ``(5.0, False)`` ...; ``"M1"``,
    ``"D2"``, ``"VP1"`` -> ``(None, True)`` (management tracks are not comparable with
    individual-contributor numbers and already are a formal role); no digits -> ``(None, False)``.
    """
    if level is None or not level.strip():
        return None, False
    if _MANAGEMENT_LEVEL.match(level):
        return None, True
    m = _LEVEL_NUMBER.search(level)
    return (float(m.group(1)), False) if m else (None, False)


# -- betweenness ---------------------------------------------------------------------------------

def _brandes_batch(adj: sp.csr_matrix, sources: np.ndarray) -> np.ndarray:
    """Dependencies ``δ_s(v)`` (rows: sources) of unweighted undirected shortest paths."""
    n = adj.shape[0]
    b = sources.size
    rows = np.arange(b)
    sigma = np.zeros((b, n))
    sigma[rows, sources] = 1.0
    dist = np.full((b, n), -1, dtype=np.int32)
    dist[rows, sources] = 0
    frontier = sigma.copy()
    depth = 0
    while True:
        reach = np.asarray((adj @ frontier.T).T)   # paths into each node from the frontier
        new = (reach > 0) & (dist < 0)
        if not new.any():
            break
        depth += 1
        dist[new] = depth
        sigma[new] = reach[new]
        frontier = np.where(new, reach, 0.0)
    delta = np.zeros((b, n))
    for d in range(depth, 0, -1):
        at_d = dist == d
        coef = np.where(at_d, (1.0 + delta) / np.where(at_d, sigma, 1.0), 0.0)
        back = np.asarray((adj @ coef.T).T)
        prev = dist == d - 1
        delta[prev] += sigma[prev] * back[prev]
    delta[rows, sources] = 0.0
    return delta


def betweenness(
    adjacency: sp.spmatrix,
    *,
    sources: int | None = None,
    seed: int = 0,
    nodes: list[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Normalised betweenness of an unweighted undirected graph (Brandes 2001).

    Parameters
    ----------
    adjacency
        Symmetric adjacency; any nonzero is an edge (weights are ignored: shortest paths count
        hops).
    sources
        ``None``: exact (every node a source). Otherwise ``k`` sources drawn as networkx does,
        ``random.Random(seed).sample(nodes, k)``, so the estimate equals
        ``nx.betweenness_centrality(G, k=k, seed=seed)`` on a graph with that node order.
    seed
        Seed of the sample.
    nodes
        Node names in adjacency order (only their order matters, for the sample).

    Returns
    -------
    (betweenness, standard_error, n_sources)
        ``C_B(v) = Σ_{s≠v≠t} σ_st(v)/σ_st / ((n-1)(n-2))`` (networkx ``normalized=True``), its
        estimated standard error (0 when exact) and the number of sources used.

    Notes
    -----
    Sources are processed in batches: breadth-first levels and the backward dependency
    accumulation are sparse-dense products ``A · X`` (the linear-algebra form of Brandes'
    algorithm), so the cost is ``O(levels · nnz · k)`` floating-point work in scipy.

    With ``k`` sampled sources the estimate is unbiased (Brandes & Pich 2007). Each source's
    scaled contribution lies in ``[0, n/(n-1)]``, so by Hoeffding's inequality the absolute
    error exceeds ``ε`` with probability at most ``2·exp(-2kε²)``: for ``k = 256``,
    ``|error| < 0.085`` with 95% confidence, on a 0..1 scale where top brokers of large
    organisations score 0.01-0.1. The reported standard error (sample standard deviation of the
    per-source contributions, with the finite-population correction) is typically far tighter;
    use sampled values to find the top brokers, not to rank the long tail (PERFORMANCE_NOTES).
    """
    adj = sp.csr_matrix(adjacency, dtype=np.float64)
    adj.setdiag(0)
    adj.eliminate_zeros()
    adj.data[:] = 1.0
    n = adj.shape[0]
    if n < 3:
        return np.zeros(n), np.zeros(n), n
    order = list(range(n))
    exact = sources is None or sources >= n
    if exact:
        chosen = np.arange(n)
    else:
        k_req = int(sources)  # type: ignore[arg-type]
        if nodes is None:
            chosen = np.array(random.Random(seed).sample(order, k_req), dtype=np.int64)
        else:
            pos = {name: i for i, name in enumerate(nodes)}
            chosen = np.array([pos[p] for p in random.Random(seed).sample(list(nodes), k_req)],
                              dtype=np.int64)
    k = chosen.size
    batch = max(1, min(256, int(4_000_000 // max(n, 1))))
    total = np.zeros(n)
    total_sq = np.zeros(n)
    for start in range(0, k, batch):
        delta = _brandes_batch(adj, chosen[start:start + batch])
        total += delta.sum(axis=0)
        total_sq += (delta * delta).sum(axis=0)
    if exact:
        return total / ((n - 1) * (n - 2)), np.zeros(n), k
    # networkx's sampled rescaling without endpoints: a sampled node cannot be its own source.
    is_source = np.zeros(n, dtype=bool)
    is_source[chosen] = True
    k_eff = np.where(is_source, k - 1, k).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        est = total / (k_eff * (n - 2))
        mean = total / k_eff
        var = np.maximum(total_sq / k_eff - mean * mean, 0.0) * k_eff / np.maximum(k_eff - 1, 1)
        fpc = max(0.0, 1.0 - k / n)
        se = np.sqrt(var / k_eff * fpc) / (n - 2)
    return np.nan_to_num(est), np.nan_to_num(se), k


# -- influence -----------------------------------------------------------------------------------

def _ranks(values: np.ndarray, *, descending: bool) -> np.ndarray:
    """Dense 1-based ranks (ties share the best rank); NaN ranks last."""
    v = np.where(np.isnan(values), -np.inf if descending else np.inf, values)
    s = pl.Series(-v if descending else v)
    return s.rank(method="min").cast(pl.Int64).to_numpy()


@memoized
def influence(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    exact_betweenness_max: int = 2000,
    betweenness_sources: int = 256,
    seed: int = 0,
    damping: float = 0.85,
) -> pl.DataFrame:
    """Influence measures per person on the collaboration graph.

    Measures: PageRank (Brin & Page 1998; scikit-network, ``n_iter=100``, weighted),
    betweenness (Brandes 2001; unweighted hops; exact up to ``exact_betweenness_max`` people,
    else estimated from ``betweenness_sources`` sampled sources with a fixed ``seed``: see
    :func:`betweenness` for the error), Burt's constraint (Burt 1992), units bridged, review load.

    Parameters
    ----------
    data
        A dataset or an analysis context.
    window, unit_kind
        Events considered and the formal level of "units bridged".
    exact_betweenness_max
        Largest graph on which betweenness is exact.
    betweenness_sources, seed
        Sample size and seed above that size.
    damping
        PageRank damping factor.

    Returns
    -------
    pl.DataFrame
        One row per person (sorted by ``person_id``): ``person_id``, ``unit_id`` (main unit at
        ``unit_kind``), ``degree`` (collaborators), ``pagerank`` (sums to 1), ``betweenness``
        (normalised, 0..1), ``betweenness_se`` (0 when exact), ``betweenness_sources`` (sources
        used), ``constraint`` (null for isolates), ``units_bridged`` (distinct units at
        ``unit_kind``, other than the person's own, that their collaborators belong to),
        ``review_load`` (review events given: reviews, approvals, votes, review comments,
        Reviewed-by/Acked-by/Tested-by trailers), ``reports`` / ``has_reports`` (direct reports
        in the org chart), ``level`` (as recorded), ``level_rank`` (its number, see
        :func:`parse_level`), ``management_level`` (a management-track level), ``rank_pagerank``,
        ``rank_betweenness``, ``rank_units_bridged`` (1 = highest), ``rank_constraint``
        (1 = lowest constraint), ``reach`` (mean percentile of units bridged, betweenness and
        low constraint; 0..1) and ``rank_reach``. Every person of the graph has a row; a
        window without any collaboration gives an empty frame.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    adjacency, names = _undirected_weighted(ctx)
    n = len(names)
    if n == 0 or adjacency.nnz == 0:   # nothing happened in the window
        return pl.DataFrame(schema=INFLUENCE_SCHEMA)
    pr = PageRank(damping_factor=damping, n_iter=100)
    pagerank = np.asarray(pr.fit_predict(sp.csr_matrix(adjacency)), dtype=np.float64)
    sample = None if n <= exact_betweenness_max else betweenness_sources
    btw, btw_se, n_src = betweenness(adjacency, sources=sample, seed=seed, nodes=names)
    degree, constraint, _effective = _burt(adjacency)

    # Units bridged: units of collaborators (binary A · M) minus the person's own units.
    membership = ctx.membership()
    unit_ids = sorted(set(membership["unit_id"].to_list()))
    pos = {p: i for i, p in enumerate(names)}
    upos = {u: i for i, u in enumerate(unit_ids)}
    pairs = [(pos[p], upos[u]) for p, u in membership.select("person_id", "unit_id").iter_rows()
             if p in pos]
    if pairs and unit_ids:
        r, c = np.array(pairs, dtype=np.int64).T
        member = sp.csr_matrix((np.ones(r.size), (r, c)), shape=(n, len(unit_ids)))
        binary = adjacency.copy()
        binary.data[:] = 1.0
        reached = sp.csr_matrix(binary @ member)
        reached.data[:] = 1.0
        own = reached.multiply(member)
        bridged = (np.diff(reached.indptr) - np.asarray(own.sum(axis=1)).ravel()).astype(np.int64)
    else:
        bridged = np.zeros(n, dtype=np.int64)

    is_review = pl.col("kind").is_in(sorted(REVIEW_KINDS)) | (
        (pl.col("kind") == "commit_trailer") & pl.col("value").is_in(sorted(REVIEW_TRAILERS)))
    load = dict(ctx.events(where=is_review, columns=["actor"]).group_by("actor").len().iter_rows())

    day = ctx.formal_date()
    reports = dict(ctx.data.formal.direct_reports(day).iter_rows())
    leaf = membership_at(ctx.data.memberships, ctx.data.units, at=day, unit_kind=None)
    levels = dict(
        leaf.drop_nulls("level").sort("person_id", "unit_id").unique("person_id", keep="first")
        .select("person_id", "level").iter_rows()
    )
    home = ctx.home_unit()
    parsed = [parse_level(levels.get(p)) for p in names]
    rank_btw = _ranks(btw, descending=True)
    rank_units = _ranks(bridged.astype(np.float64), descending=True)
    rank_cons = _ranks(constraint, descending=False)
    # Percentiles (1 = best of all) of the three brokerage signals; isolates reach 0.
    pct = [(n - r) / max(n - 1, 1) for r in (rank_units, rank_btw, rank_cons)]
    reach = np.where(degree > 0, (pct[0] + pct[1] + pct[2]) / 3.0, 0.0)
    frame = pl.DataFrame(
        {
            "person_id": names,
            "unit_id": [home.get(p) for p in names],
            "degree": degree,
            "pagerank": pagerank,
            "betweenness": btw,
            "betweenness_se": btw_se,
            "betweenness_sources": np.full(n, n_src, dtype=np.int64),
            "constraint": constraint,
            "units_bridged": bridged,
            "review_load": [int(load.get(p, 0)) for p in names],
            "reports": [int(reports.get(p, 0)) for p in names],
            "has_reports": [reports.get(p, 0) > 0 for p in names],
            "level": [levels.get(p) for p in names],
            "level_rank": [lv for lv, _m in parsed],
            "management_level": [mg for _lv, mg in parsed],
            "rank_pagerank": _ranks(pagerank, descending=True),
            "rank_betweenness": rank_btw,
            "rank_units_bridged": rank_units,
            "rank_constraint": rank_cons,
            "reach": reach,
            "rank_reach": _ranks(reach, descending=True),
        },
        schema=INFLUENCE_SCHEMA,
    )
    return frame.with_columns(pl.col("constraint").fill_nan(None)).sort("person_id")


# -- hidden influencer ---------------------------------------------------------------------------

def _robust_z(values: np.ndarray, min_scale: float) -> np.ndarray:
    """``(x - median) / max(1.4826·MAD, min_scale)``: the floor keeps a degenerate spread (most
    people bridging no unit) from turning one or two extra units into an extreme score."""
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med))) * 1.4826
    return (values - med) / max(mad, min_scale)


def find_hidden_influencer(
    ctx: AnalysisContext,
    *,
    top_fraction: float = 0.1,
    min_z: float = 2.75,
    min_z_units: float = 0.5,
    min_combined_z: float = 4.0,
    max_per_thousand: float = 10.0,
    min_people: int = 20,
) -> list[Finding]:
    """People with exceptional informal reach and no formal weight.

    A person is raised when all hold:

    * their ``reach`` (units bridged, betweenness, low constraint) is in the top ``top_fraction``
      (default decile) of connected people;
    * their brokerage is extreme: the robust z-score (median/MAD over connected people, scale
      floor 0.5) of ``log(betweenness)`` is ``>= min_z`` (default 2.75) while they bridge more
      units than most (robust z of units bridged ``>= min_z_units``, default 0.5); or the mean of
      the two z-scores is ``>= min_combined_z`` (default 4.0) with both positive. Betweenness is
      the discriminating measure in small organisations, where nearly everyone bridges most units;
      on generated null organisations no non-manager at or below the median level of their reach
      peers passed either test;
    * they have no direct reports and no management-track level;
    * their level is at or below the median level of the people with similar reach (the top
      decile). People without a recorded level are compared on the rest and flagged
      ``level_known: false`` in the evidence (severity x 0.8).

    At most ``max_per_thousand`` findings per 1,000 people (at least one), highest severity
    first; no findings on graphs with fewer than ``min_people`` connected people, nor when the
    formal structure records neither managers nor levels (rank is unknown, so "reach without
    the title" cannot be judged).

    Severity: ``min(1, 0.4 + 0.1·excess)`` where ``excess`` is how far the person passes the
    stricter of the two tests, times 0.8 without a known level (a z-score just past the bar is
    moderate evidence; 0.5 needs one unit of z beyond it).
    """
    members = ctx.data.memberships
    if members.height and members["manager_id"].null_count() == members.height and (
        members["level"].null_count() == members.height
    ):
        # No manager chain and no levels (a team list, MAINTAINERS, company domains): the formal
        # structure says nothing about rank, so "reach without the title" cannot be judged.
        return []
    frame = influence(ctx)
    connected = frame.filter(pl.col("degree") > 0)
    if connected.height < min_people:
        return []
    btw = connected["betweenness"].to_numpy()
    positive = btw[btw > 0]
    floor = float(positive.min()) / 2 if positive.size else 1e-12
    z_btw = _robust_z(np.log(np.maximum(btw, floor)), 0.5)
    z_units = _robust_z(connected["units_bridged"].to_numpy().astype(np.float64), 1.0)
    n_top = max(1, math.ceil(top_fraction * connected.height))
    scored = connected.with_columns(
        pl.Series("z_betweenness", z_btw), pl.Series("z_units_bridged", z_units)
    ).sort(["reach", "person_id"], descending=[True, False])
    peers = scored.head(n_top)
    peer_levels = peers["level_rank"].drop_nulls()
    median_level = float(peer_levels.median()) if peer_levels.len() else None  # type: ignore[arg-type]
    fc = ctx.finding_context()
    out: list[tuple[float, Finding]] = []
    for row in peers.iter_rows(named=True):
        zb, zu = row["z_betweenness"], row["z_units_bridged"]
        z = (zb + zu) / 2
        by_betweenness = zb >= min_z and zu >= min_z_units
        by_reach = z >= min_combined_z and min(zb, zu) > 0
        if not (by_betweenness or by_reach) or row["has_reports"] or row["management_level"]:
            continue
        level_known = row["level_rank"] is not None and median_level is not None
        if level_known and row["level_rank"] > median_level:
            continue
        excess = max(zb - min_z, z - min_combined_z, 0.0)
        severity = min(1.0, 0.4 + 0.1 * excess) * (1.0 if level_known else 0.8)
        name = fc.person(row["person_id"])
        level_text = f"is at level {row['level']}" if row["level"] else "has no recorded level"
        beaten = 100 * (1 - row["rank_betweenness"] / frame.height)
        paths = ("more cross-team paths than anyone else" if row["rank_betweenness"] == 1 else
                 f"more cross-team paths than {min(beaten, 99):.0f}% of colleagues")
        title = (f"{name} works with people in {row['units_bridged']} other units and sits on "
                 f"{paths}, yet manages no one and {level_text}.")
        evidence = {
            "units_bridged": row["units_bridged"],
            "betweenness": row["betweenness"],
            "betweenness_se": row["betweenness_se"],
            "betweenness_sources": row["betweenness_sources"],
            "constraint": row["constraint"],
            "pagerank": row["pagerank"],
            "rank_betweenness": row["rank_betweenness"],
            "rank_units_bridged": row["rank_units_bridged"],
            "rank_constraint": row["rank_constraint"],
            "rank_reach": row["rank_reach"],
            "z_betweenness": row["z_betweenness"],
            "z_units_bridged": row["z_units_bridged"],
            "z_reach": z,
            "level": row["level"],
            "level_known": level_known,
            "median_level_of_peers": median_level,
            "peers": peers.height,
            "people": frame.height,
            "direct_reports": row["reports"],
            "unit_id": row["unit_id"],
        }
        units = [row["unit_id"]] if row["unit_id"] else []
        out.append((severity, make_finding("hidden_influencer", severity, title, people=[row["person_id"]],
                                           units=units, evidence=evidence, ctx=fc)))
    cap = max(1, int(max_per_thousand * frame.height / 1000))
    out.sort(key=lambda t: (-t[0], t[1].id))
    return [f for _s, f in out[:cap]]
