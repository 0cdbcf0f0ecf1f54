"""Informal vs formal alignment (ANALYSES §1): communities, NMI/ARI, informal teams, misaligned
people, org change lag.

Measures
--------
- Communities: Louvain (Blondel et al. 2008, scikit-network) on the undirected collaboration graph,
  fixed seed. The resolution is chosen from a grid so that the median community size is closest to
  the median formal unit size at the compared level (communities at the granularity of the units they
  are compared with); pass ``resolution`` to fix it.
- Agreement: normalised mutual information (arithmetic normalisation, as scikit-learn's default) and
  the adjusted Rand index (Hubert and Arabie 1985) between communities and formal units.
- Informal teams: groups of people from several units whose ties to each other are as strong as
  ties between teammates (rare across units), found as dense groups in the graph of such ties.
- Misaligned people: own-unit share of collaboration weight below 30% while one other unit takes
  at least 40% and 1.5 times the own share.
- Org change lag: monthly informal home unit (largest share of collaboration weight, at least 35%)
  against the effective-dated formal unit; a formal move to Q that follows months of working in Q.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any, Final

import networkx as nx
import numpy as np
import polars as pl
import scipy.sparse as sp
from scipy.special import comb
from sknetwork.clustering import Louvain, get_modularity

from orgnet.analysis._context import (
    AnalysisContext,
    ensure_context,
    memoized,
    running_sum,
    with_home_units,
)
from orgnet.dataset import Dataset, Window
from orgnet.findings import Finding, make_finding
from orgnet.schema import frame_schema

__all__ = [
    "ALIGNMENT_SCHEMA",
    "COMMUNITY_SCHEMA",
    "INFORMAL_TEAM_SCHEMA",
    "MISALIGNED_SCHEMA",
    "ORG_CHANGE_LAG_SCHEMA",
    "UNIT_FRAGMENTATION_SCHEMA",
    "adjusted_rand_index",
    "alignment_scores",
    "communities",
    "find_informal_team",
    "find_misaligned_person",
    "find_org_change_lag",
    "informal_teams",
    "misaligned_people",
    "normalized_mutual_info",
    "org_change_lag",
    "unit_fragmentation",
]

COMMUNITY_SCHEMA: Final = frame_schema({"person_id": pl.String, "community": pl.String, "unit_id": pl.String})
ALIGNMENT_SCHEMA: Final = frame_schema({
    "unit_kind": pl.String, "n_people": pl.Int64, "n_units": pl.Int64, "n_communities": pl.Int64,
    "resolution": pl.Float64, "modularity": pl.Float64, "nmi": pl.Float64, "ari": pl.Float64,
})
UNIT_FRAGMENTATION_SCHEMA: Final = frame_schema({
    "unit_id": pl.String, "size": pl.Int64, "n_communities": pl.Int64, "entropy": pl.Float64,
    "main_community": pl.String, "main_share": pl.Float64,
})
INFORMAL_TEAM_SCHEMA: Final = frame_schema({
    "group": pl.String, "members": pl.List(pl.String), "units": pl.List(pl.String),
    "size": pl.Int64, "n_units": pl.Int64, "top_unit_share": pl.Float64,
    "internal_weight": pl.Float64, "expected_weight": pl.Float64, "lift": pl.Float64,
    "strength": pl.Float64, "density": pl.Float64,
})
MISALIGNED_SCHEMA: Final = frame_schema({
    "person_id": pl.String, "unit_id": pl.String, "total_weight": pl.Float64,
    "own_share": pl.Float64, "top_other_unit": pl.String, "top_other_share": pl.Float64,
})
ORG_CHANGE_LAG_SCHEMA: Final = frame_schema({
    "person_id": pl.String, "from_unit": pl.String, "to_unit": pl.String,
    "informal_since": pl.Date, "formal_since": pl.Date, "lag_days": pl.Int64,
    "windows_observed": pl.Int64, "mean_share": pl.Float64,
})

_MONTHLY_SCHEMA: Final = frame_schema(
    {"month": pl.Date, "person_id": pl.String, "informal_unit": pl.String, "share": pl.Float64})
_MOVES_SCHEMA: Final = frame_schema(
    {"person_id": pl.String, "from_unit": pl.String, "to_unit": pl.String, "formal_since": pl.Date})
_RESOLUTIONS: Final = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0)


def _empty(schema: pl.Schema | dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


# -- partition agreement ------------------------------------------------------------------------


def _contingency(a: list[str], b: list[str]) -> np.ndarray:
    ai = {x: i for i, x in enumerate(sorted(set(a)))}
    bi = {x: i for i, x in enumerate(sorted(set(b)))}
    table = np.zeros((len(ai), len(bi)), dtype=np.float64)
    for x, y in zip(a, b, strict=True):
        table[ai[x], bi[y]] += 1
    return table


def normalized_mutual_info(a: list[str], b: list[str]) -> float:
    """NMI of two labelings with arithmetic-mean normalisation; 1 for identical partitions."""
    if len(a) == 0:
        return float("nan")
    t = _contingency(a, b)
    n = t.sum()
    pa, pb = t.sum(axis=1) / n, t.sum(axis=0) / n
    ha = -float(np.sum(pa * np.log(pa)))
    hb = -float(np.sum(pb * np.log(pb)))
    nz = t > 0
    pij = t[nz] / n
    mi = float(np.sum(pij * np.log(pij / np.outer(pa, pb)[nz])))
    denom = (ha + hb) / 2
    if denom == 0:
        return 1.0
    return max(0.0, min(1.0, mi / denom))


def adjusted_rand_index(a: list[str], b: list[str]) -> float:
    """Adjusted Rand index (Hubert and Arabie 1985); 1 for identical partitions, ~0 for chance."""
    if len(a) < 2:
        return float("nan")
    t = _contingency(a, b)
    n = t.sum()
    sum_ij = float(comb(t, 2).sum())
    sum_a = float(comb(t.sum(axis=1), 2).sum())
    sum_b = float(comb(t.sum(axis=0), 2).sum())
    total = float(comb(n, 2))
    expected = sum_a * sum_b / total
    max_index = (sum_a + sum_b) / 2
    if max_index == expected:
        return 1.0
    return (sum_ij - expected) / (max_index - expected)


# -- communities --------------------------------------------------------------------------------


def _louvain(adj: sp.csr_matrix, resolution: float, seed: int) -> np.ndarray:
    labels: np.ndarray = Louvain(resolution=resolution, modularity="newman",
                                 random_state=seed).fit_predict(adj)
    return labels


def _community_run(ctx: AnalysisContext, resolution: float | None, seed: int) -> dict[str, object]:
    out: dict[str, object] = ctx.cached(("communities", resolution, seed, ctx.unit_kind),
                                        lambda: _community_run_uncached(ctx, resolution, seed))
    return out


def _community_run_uncached(ctx: AnalysisContext, resolution: float | None, seed: int
                            ) -> dict[str, object]:
    graph = ctx.graph("collaboration")
    home = ctx.home_unit()
    active = set(graph.edges["src"]) | set(graph.edges["dst"])
    nodes = [n for n in graph.nodes if n in active]
    out: dict[str, object] = {"labels": {}, "resolution": float("nan"), "modularity": float("nan")}
    if len(nodes) >= 3:
        sub = graph.restrict(nodes)
        adj, names = sub.to_sparse()
        adj = sp.csr_matrix(adj)
        if resolution is None:
            sizes = sorted(ctx.unit_sizes().values())
            target = float(np.median(sizes)) if sizes else 8.0
            best: tuple[float, float, np.ndarray] | None = None
            for r in _RESOLUTIONS:
                labels = _louvain(adj, r, seed)
                counts = np.bincount(labels)
                gap = abs(math.log(max(float(np.median(counts)), 1.0) / max(target, 1.0)))
                if best is None or gap < best[0] - 1e-9:
                    best = (gap, r, labels)
            assert best is not None
            _gap, chosen, labels = best
        else:
            chosen, labels = resolution, _louvain(adj, resolution, seed)
        modularity = float(get_modularity(adj, labels, resolution=1.0))
        out = {
            "labels": {names[i]: f"c{int(labels[i]):03d}" for i in range(len(names))},
            "resolution": chosen,
            "modularity": modularity,
        }
    out["home"] = home
    return out


def communities(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    resolution: float | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """Communities of the collaboration graph (Louvain, scikit-network).

    Parameters
    ----------
    resolution
        Louvain resolution; ``None`` picks it so community sizes match formal unit sizes.
    seed
        Random state of Louvain (results are deterministic for a seed).

    Returns
    -------
    pl.DataFrame
        ``person_id``, ``community`` (``c000``...), ``unit_id`` (formal unit at the compared level,
        null when none); people with collaboration ties only; sorted by ``person_id``.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    run = _community_run(ctx, resolution, seed)
    labels: dict[str, str] = run["labels"]  # type: ignore[assignment]
    home: dict[str, str] = run["home"]  # type: ignore[assignment]
    if not labels:
        return _empty(COMMUNITY_SCHEMA)
    return pl.DataFrame(
        [(p, c, home.get(p)) for p, c in sorted(labels.items())], schema=COMMUNITY_SCHEMA,
        orient="row",
    )


def alignment_scores(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    resolution: float | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """How well communities match formal units: one row.

    Returns
    -------
    pl.DataFrame
        ``unit_kind, n_people`` (with both a community and a unit), ``n_units, n_communities,
        resolution, modularity, nmi, ari``. Empty when fewer than 3 people collaborate.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    run = _community_run(ctx, resolution, seed)
    labels: dict[str, str] = run["labels"]  # type: ignore[assignment]
    home: dict[str, str] = run["home"]  # type: ignore[assignment]
    pairs = [(labels[p], home[p]) for p in sorted(labels) if p in home]
    if len(pairs) < 3:
        return _empty(ALIGNMENT_SCHEMA)
    comm = [c for c, _ in pairs]
    units = [u for _, u in pairs]
    return pl.DataFrame(
        [{
            "unit_kind": ctx.unit_kind, "n_people": len(pairs), "n_units": len(set(units)),
            "n_communities": len(set(comm)), "resolution": run["resolution"],
            "modularity": run["modularity"], "nmi": normalized_mutual_info(units, comm),
            "ari": adjusted_rand_index(units, comm),
        }],
        schema=ALIGNMENT_SCHEMA,
    )


def unit_fragmentation(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    resolution: float | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """Per formal unit: how many communities its people fall into.

    Returns
    -------
    pl.DataFrame
        ``unit_id, size`` (people with a community), ``n_communities, entropy`` (Shannon, nats),
        ``main_community, main_share``; sorted by ``unit_id``.
    """
    comm = communities(data, window=window, unit_kind=unit_kind, resolution=resolution, seed=seed)
    comm = comm.drop_nulls("unit_id")
    if comm.height == 0:
        return _empty(UNIT_FRAGMENTATION_SCHEMA)
    counts = comm.group_by("unit_id", "community").len().with_columns(
        (pl.col("len") / pl.col("len").sum().over("unit_id")).alias("p")
    )
    return (
        counts.sort(["unit_id", "len", "community"], descending=[False, True, False])
        .group_by("unit_id", maintain_order=True)
        .agg(
            pl.col("len").sum().cast(pl.Int64).alias("size"),
            pl.len().cast(pl.Int64).alias("n_communities"),
            (-(pl.col("p") * pl.col("p").log()).sum()).alias("entropy"),
            pl.col("community").first().alias("main_community"),
            pl.col("p").first().alias("main_share"),
        )
        .sort("unit_id")
        .cast(UNIT_FRAGMENTATION_SCHEMA)
    )


# -- informal teams -----------------------------------------------------------------------------


def _unit_pair_density(
    edges: pl.DataFrame, home: Mapping[str, str] | pl.DataFrame, sizes: dict[str, int]
) -> dict[tuple[str, str], float]:
    """Mean tie weight per possible pair between two different units (the baseline); ``home``
    as :func:`~orgnet.analysis._context.with_home_units` takes it."""
    cross = with_home_units(edges.select("src", "dst", "weight"), home, names=("us", "ud"))
    cross = cross.filter(pl.col("us") != pl.col("ud"))
    # A running sum in edge order: the totals of a loop over the edges, to the last bit.
    totals = cross.group_by(pl.min_horizontal("us", "ud").alias("a"),
                            pl.max_horizontal("us", "ud").alias("b"), maintain_order=True).agg(
        running_sum(pl.col("weight")))
    return {(a, b): v / (sizes[a] * sizes[b]) for a, b, v in totals.iter_rows()}


@memoized
def informal_teams(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    strength_quantile: float = 0.5,
    min_size: int = 3,
    max_size: int = 20,
    max_top_share: float = 0.7,
    min_density: float = 0.6,
) -> pl.DataFrame:
    """Groups of people from several units who work together as closely as teammates do.

    A cross-unit tie is *team-like* when its collaboration weight reaches the
    ``strength_quantile`` quantile (default: the median) of the weights of ties between teammates
    and the pair appears in every view the data has (they review each other, talk, and change the
    same code): such ties are rare between units in an organisation without informal teams, where
    cross-unit ties are a chat channel or a code dependency, not both. Groups are the
    Louvain communities of the graph of team-like cross-unit ties (plus the team-like ties among
    those people inside one unit); a group counts when it has ``min_size`` to ``max_size`` people
    from >= 2 units, no unit holds more than ``max_top_share``, at least two members come from
    outside its largest unit (a team plus one visitor is not an informal team), at least
    ``min_density`` of its member pairs have team-like ties, and its mean pair weight is itself
    team-like.

    Returns
    -------
    pl.DataFrame
        ``group, members, units, size, n_units, top_unit_share, internal_weight`` (collaboration
        weight among members across units), ``expected_weight`` (what the baseline density
        between their units predicts for the same pairs), ``lift`` (their ratio),
        ``strength`` (mean member pair weight over the median teammate tie), ``density`` (share
        of member pairs with team-like ties);
        sorted by ``strength`` descending then ``group``.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    graph = ctx.graph("collaboration")
    home = ctx.home_unit()
    sizes = ctx.unit_sizes()
    edges = graph.edges
    if edges.height == 0 or not home:
        return _empty(INFORMAL_TEAM_SCHEMA)
    homes = ctx.home_frame()
    pairs = with_home_units(edges.select("src", "dst", "weight"), homes, names=("us", "ud"),
                            how="left").with_columns(
        pl.min_horizontal("src", "dst").alias("a"), pl.max_horizontal("src", "dst").alias("b"))
    within = pairs.filter(pl.col("us") == pl.col("ud")).get_column("weight").to_numpy()
    if within.size == 0:
        return _empty(INFORMAL_TEAM_SCHEMA)
    threshold = float(np.quantile(within, strength_quantile))
    median_within = float(np.median(within))
    density = _unit_pair_density(edges, homes, sizes)
    # Working together is multiplex: the pair reviews, talks AND changes the same code (every view
    # the data has). Chat alone (an incident channel) or a code dependency alone is not a team.
    cross = pairs.filter((pl.col("us") != pl.col("ud")) & (pl.col("weight") >= threshold))
    for view in ("review", "communication", "coedit"):
        view_edges = ctx.graph(view).edges
        if view_edges.height:
            present = view_edges.select(pl.min_horizontal("src", "dst").alias("a"),
                                        pl.max_horizontal("src", "dst").alias("b"))
            cross = cross.join(present, on=["a", "b"], how="semi", maintain_order="left")
    if cross.height == 0:
        return _empty(INFORMAL_TEAM_SCHEMA)
    strong = nx.Graph()
    # In edge order: Louvain's result depends on the order nodes and edges were added.
    strong.add_weighted_edges_from(cross.select("a", "b", "weight").iter_rows())
    # Ties among the candidates (and only those) are looked up below.
    nodes = pl.Series(sorted(strong.nodes), dtype=pl.String)
    among = pairs.filter(pl.col("a").is_in(nodes.implode()) & pl.col("b").is_in(nodes.implode()))
    weights: dict[tuple[str, str], float] = dict(zip(
        zip(among.get_column("a").to_list(), among.get_column("b").to_list(), strict=True),
        among.get_column("weight").to_list(), strict=True))
    cands = sorted(strong.nodes)
    for i, a in enumerate(cands):
        for b in cands[i + 1:]:
            w = weights.get((a, b), 0.0)
            if w >= threshold and home.get(a) == home.get(b):
                strong.add_edge(a, b, weight=w)
    groups = nx.community.louvain_communities(strong, weight="weight", seed=0)
    rows = []
    for members_set in groups:
        members = sorted(members_set)
        if not min_size <= len(members) <= max_size:
            continue
        units = [home[m] for m in members]
        top_count = max(units.count(u) for u in set(units))
        top_share = top_count / len(units)
        if len(set(units)) < 2 or top_share > max_top_share:
            continue
        if len(units) - top_count < 2:
            continue  # one unit plus a visitor is a visitor, not an informal team
        tied = internal = expected = total = 0.0
        n_pairs = 0
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                n_pairs += 1
                w = weights.get((a, b), 0.0)
                total += w
                tied += 1 if w >= threshold else 0
                ua, ub = home[a], home[b]
                if ua != ub:
                    internal += w
                    expected += density.get((ua, ub) if ua < ub else (ub, ua), 0.0)
        dens = tied / n_pairs if n_pairs else 0.0
        mean_pair = total / n_pairs if n_pairs else 0.0
        if dens < min_density or mean_pair < threshold:
            continue
        rows.append({
            "group": "g-" + "-".join(members)[:60], "members": members,
            "units": sorted(set(units)), "size": len(members), "n_units": len(set(units)),
            "top_unit_share": top_share, "internal_weight": internal,
            "expected_weight": expected,
            "lift": internal / expected if expected > 0 else float("nan"),
            "strength": mean_pair / median_within if median_within > 0 else float("nan"),
            "density": dens,
        })
    if not rows:
        return _empty(INFORMAL_TEAM_SCHEMA)
    return pl.DataFrame(rows, schema=INFORMAL_TEAM_SCHEMA).sort(
        ["strength", "group"], descending=[True, False]
    )


def find_informal_team(ctx: AnalysisContext) -> list[Finding]:
    """``informal_team`` findings.

    ``severity = min(1, 0.4 + 0.3 * log2(strength)) * min(1, size / 4)``: a group whose ties
    are as strong as a typical teammate tie scores 0.4; four times as strong, 1.0.
    """
    df = informal_teams(ctx)
    fctx = ctx.finding_context()
    out = []
    for row in df.iter_rows(named=True):
        strength = max(row["strength"], 1e-9)
        sev = min(1.0, 0.4 + 0.3 * math.log2(strength)) * min(1.0, row["size"] / 4)
        names = ", ".join(fctx.person(p) for p in row["members"][:4])
        more = f" and {row['size'] - 4} more" if row["size"] > 4 else ""
        units = ", ".join(fctx.unit(u) for u in row["units"])
        title = (f"{names}{more} work together like a team across {units}: their ties are "
                 f"{strength:.1f}x as strong as a typical teammate tie")
        out.append(make_finding(
            "informal_team", sev, title, people=row["members"], units=row["units"],
            evidence={"members": row["members"], "units": row["units"],
                      "internal_weight": row["internal_weight"],
                      "expected_weight": row["expected_weight"], "lift": row["lift"],
                      "strength": row["strength"], "density": row["density"],
                      "top_unit_share": row["top_unit_share"]},
            ctx=fctx,
        ))
    return out


# -- misaligned people --------------------------------------------------------------------------


def _unit_shares(
    graph_edges: pl.DataFrame, membership: pl.DataFrame, *, split: bool = True
) -> pl.DataFrame:
    """Per person and partner unit: collaboration weight, both directions of undirected edges.

    ``split``: partners in several units count for each by their membership share (``W·M``, so
    shares sum to one); otherwise a partner counts fully for every unit they belong to (shares
    may sum to more than one) — "how much of my work is with members of U"."""
    both = pl.concat([
        graph_edges.select(pl.col("src").alias("person_id"), pl.col("dst").alias("other"), "weight"),
        graph_edges.select(pl.col("dst").alias("person_id"), pl.col("src").alias("other"), "weight"),
    ])
    m = membership.select(pl.col("person_id").alias("other"), pl.col("unit_id").alias("other_unit"),
                          pl.col("share") if split else pl.lit(1.0).alias("share"))
    return (
        both.join(m, on="other", how="inner")
        .group_by("person_id", "other_unit").agg((pl.col("weight") * pl.col("share")).sum()
                                                 .alias("weight"))
        .join(both.group_by("person_id").agg(pl.col("weight").sum().alias("total")),
              on="person_id")
        .with_columns((pl.col("weight") / pl.col("total")).alias("share"))
    )


@memoized
def misaligned_people(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    max_own_share: float = 0.3,
    min_other_share: float = 0.4,
    min_ratio: float = 1.5,
    min_activity: float = 0.25,
) -> pl.DataFrame:
    """People who mostly collaborate with one other unit than their own.

    Raised when the own units' share of a person's collaboration weight is below
    ``max_own_share`` while one other unit holds at least ``min_other_share`` and ``min_ratio``
    times the own share. ANALYSES suggests "below 25%, another unit the majority"; people who
    moved their work keep ties to old teammates and to neighbouring teams, so on generated
    organisations the planted cases measured own 20-27% against 46-65% for the other unit, while
    null organisations had nobody with another unit above 30% and their own below 70%: the looser
    bounds cost no precision. Only people whose total collaboration weight is at least
    ``min_activity`` times the median person's are considered (too little data says nothing).

    Returns
    -------
    pl.DataFrame
        ``person_id, unit_id`` (formal), ``total_weight, own_share, top_other_unit,
        top_other_share``; sorted by ``top_other_share`` descending then ``person_id``.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    home = ctx.home_unit()
    edges = ctx.graph("collaboration").edges
    if edges.height == 0 or not home:
        return _empty(MISALIGNED_SCHEMA)
    membership = ctx.membership()
    shares = _unit_shares(edges, membership)
    own_units = membership.select("person_id", pl.col("unit_id").alias("other_unit"),
                                  pl.lit(True).alias("is_own"))
    s = shares.join(own_units, on=["person_id", "other_unit"], how="left").with_columns(
        pl.col("is_own").fill_null(False))
    homes = pl.DataFrame(list(home.items()), schema={"person_id": pl.String, "unit_id": pl.String},
                         orient="row")
    own = s.filter(pl.col("is_own")).group_by("person_id").agg(pl.col("share").sum()
                                                               .alias("own_share"))
    top = (
        s.filter(~pl.col("is_own"))
        .sort(["person_id", "share", "other_unit"], descending=[False, True, False])
        .unique("person_id", keep="first")
        .join(homes, on="person_id", how="inner")
        .select("person_id", "unit_id", pl.col("total").alias("total_weight"),
                pl.col("other_unit").alias("top_other_unit"), pl.col("share").alias("top_other_share"))
    )
    out = top.join(own, on="person_id", how="left").with_columns(pl.col("own_share").fill_null(0.0))
    per_person = s.group_by("person_id").agg(pl.col("total").first())
    floor = min_activity * float(per_person["total"].median() or 0.0)  # type: ignore[arg-type]
    out = out.filter(
        (pl.col("own_share") < max_own_share) & (pl.col("top_other_share") >= min_other_share)
        & (pl.col("top_other_share") >= min_ratio * pl.col("own_share"))
        & (pl.col("total_weight") >= floor)
    )
    return out.select(list(MISALIGNED_SCHEMA)).cast(MISALIGNED_SCHEMA).sort(
        ["top_other_share", "person_id"], descending=[True, False]
    )


def find_misaligned_person(ctx: AnalysisContext) -> list[Finding]:
    """``misaligned_person`` findings; ``severity = top_other_share - own_share`` (0..1)."""
    df = misaligned_people(ctx)
    fctx = ctx.finding_context()
    lag = {(r[0], r[1]) for r in org_change_lag(ctx).select("person_id", "to_unit").rows()}
    out = []
    for r in df.iter_rows(named=True):
        if (r["person_id"], r["top_other_unit"]) in lag:
            continue  # already explained as an org change lag
        title = (f"{fctx.person(r['person_id'])} is in {fctx.unit(r['unit_id'])} on the chart but does "
                 f"{r['top_other_share']:.0%} of their collaboration with "
                 f"{fctx.unit(r['top_other_unit'])} (own unit {r['own_share']:.0%})")
        out.append(make_finding(
            "misaligned_person", r["top_other_share"] - r["own_share"], title,
            people=[r["person_id"]], units=[r["unit_id"], r["top_other_unit"]],
            evidence={"own_unit": r["unit_id"], "own_share": r["own_share"],
                      "top_other_unit": r["top_other_unit"], "top_other_share": r["top_other_share"],
                      "total_weight": r["total_weight"]},
            ctx=fctx,
        ))
    return out


# -- org change lag -----------------------------------------------------------------------------


def _month_starts(lo: dt.datetime, hi: dt.datetime) -> list[dt.date]:
    day = dt.date(lo.year, lo.month, 1)
    out = []
    while day <= hi.date():
        out.append(day)
        day = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return out


def _informal_home_by_month(ctx: AnalysisContext, min_share: float) -> pl.DataFrame:
    lo, hi = ctx.window.since, ctx.window.until
    dlo, dhi = ctx.data.time_range()
    lo = lo or dlo
    hi = hi or dhi
    if lo is None or hi is None:
        return _empty(_MONTHLY_SCHEMA)
    rows = []
    for start in _month_starts(lo, hi):
        end = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        sub = ctx.period(start, end, at=start)
        edges = sub.graph("collaboration").edges
        if edges.height == 0:
            continue
        # Informal home: partners' units at the END of the period, so a unit that did not
        # exist yet on the chart can still be someone's informal home.
        shares = _unit_shares(edges, ctx.membership(), split=False)
        best = (
            shares.sort(["person_id", "share", "other_unit"], descending=[False, True, False])
            .unique("person_id", keep="first")
            .filter(pl.col("share") >= min_share)
            .select(pl.lit(start).alias("month"), "person_id",
                    pl.col("other_unit").alias("informal_unit"), "share")
        )
        rows.append(best)
    if not rows:
        return _empty(_MONTHLY_SCHEMA)
    return pl.concat(rows)


def org_change_lag(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    min_share: float = 0.35,
    min_windows: int = 2,
    min_lag_days: int = 45,
) -> pl.DataFrame:
    """People whose informal home moved to a unit long before the chart moved them there.

    For each month, a person's informal home is the unit holding the largest share (at least
    ``min_share``) of their collaboration weight: a plurality, since people keep ties to old
    teammates while they move. A formal move into unit Q on date D (a membership in Q starting
    on D, after a different unit or none) is *lagging* when the informal home was Q in at least
    ``min_windows`` months before D, continuously up to D's month; the lag runs from the first of
    those months.

    Returns
    -------
    pl.DataFrame
        ``person_id, from_unit`` (formal unit before the move, null if none), ``to_unit,
        informal_since, formal_since, lag_days, windows_observed, mean_share``; sorted by
        ``lag_days`` descending then ``person_id``.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    key = ("org_change_lag", min_share, min_windows, min_lag_days)
    out: pl.DataFrame = ctx.cached(
        key, lambda: _org_change_lag(ctx, min_share, min_windows, min_lag_days))
    return out


def _org_change_lag(ctx: AnalysisContext, min_share: float, min_windows: int,
                    min_lag_days: int) -> pl.DataFrame:
    result = _empty(ORG_CHANGE_LAG_SCHEMA)
    moves = _formal_moves(ctx)
    if moves.height:
        monthly = _informal_home_by_month(ctx, min_share)
        # Per move, the months before the formal move, latest first; the streak is the leading
        # run of months whose informal home is already the new unit.
        seen = (
            moves.with_row_index("move")
            .join(monthly, on="person_id", how="inner")
            .filter(pl.col("month") < pl.col("formal_since"))
            .sort(["move", "month"], descending=[False, True])
            .with_columns((pl.col("informal_unit") == pl.col("to_unit")).cum_min().over("move")
                          .alias("in_streak"))
            .filter(pl.col("in_streak"))
        )
        streaks = (
            seen.group_by("move", maintain_order=True).agg(
                pl.col("person_id", "from_unit", "to_unit", "formal_since").first(),
                pl.col("month").min().alias("informal_since"),
                pl.len().cast(pl.Int64).alias("windows_observed"),
                pl.col("share").mean().alias("mean_share"),
            )
            .with_columns((pl.col("formal_since") - pl.col("informal_since")).dt.total_days()
                          .cast(pl.Int64).alias("lag_days"))
            .filter((pl.col("windows_observed") >= min_windows)
                    & (pl.col("lag_days") >= min_lag_days))
        )
        if streaks.height:
            result = streaks.select(list(ORG_CHANGE_LAG_SCHEMA)).cast(ORG_CHANGE_LAG_SCHEMA).sort(
                ["lag_days", "person_id"], descending=[True, False])
    return result


def _formal_moves(ctx: AnalysisContext) -> pl.DataFrame:
    """Membership starts into a unit (at the compared level) inside the window."""
    from orgnet.graph.formal import INACTIVE_ROLES, unit_ancestors

    m = ctx.data.memberships.filter(~pl.col("role").is_in(sorted(INACTIVE_ROLES)))
    if m.height == 0:
        return _empty(_MOVES_SCHEMA)
    anc = unit_ancestors(ctx.data.units).filter(pl.col("ancestor_kind") == ctx.unit_kind)
    nearest = anc.sort("distance").unique("unit_id", keep="first").select("unit_id", "ancestor_id")
    m = m.join(nearest, on="unit_id", how="inner").select(
        "person_id", pl.col("ancestor_id").alias("unit"), "valid_from", "valid_to")
    # spans starting the same day in a fixed order, so the result does not depend on row order
    m = m.sort("person_id", "valid_from", "unit", "valid_to", nulls_last=False)
    lo, hi = ctx.window.since, ctx.window.until
    lo_d = lo.date() if lo is not None else None
    hi_d = hi.date() if hi is not None else None
    rows: list[tuple[str, str | None, str, dt.date]] = []
    # One pass over the sorted rows; ``spans`` holds the person's earlier spans (a per-person
    # group_by with a gather per group took 0.7-0.85 s at 10,000 people, this 0.06-0.1 s).
    spans: list[tuple[str, dt.date | None]] = []
    current = None
    for pid, unit, start, end_ in m.iter_rows():
        if pid != current:
            current, spans = pid, []
        in_window = (start is not None and (lo_d is None or start >= lo_d)
                     and (hi_d is None or start < hi_d))
        if in_window:
            open_then = [u for u, end in spans if end is None or end >= start]
            if unit not in open_then:  # else a new role, title or manager, not a move
                before = sorted(set(open_then))
                rows.append((pid, before[0] if before else None, unit, start))
        spans.append((unit, end_))
    moves = pl.DataFrame(rows, schema=_MOVES_SCHEMA, orient="row")
    return _drop_reorgs(ctx, moves)


def _drop_reorgs(ctx: AnalysisContext, moves: pl.DataFrame) -> pl.DataFrame:
    """Moves shared by most of the old unit on the same day are a reorganisation, not a person
    changing teams: the informal network had nothing to lag behind."""
    if moves.height == 0:
        return moves
    groups = moves.drop_nulls("from_unit").group_by("from_unit", "to_unit", "formal_since").agg(
        pl.len().alias("movers"))
    reorg = []
    for r in groups.iter_rows(named=True):
        before = ctx.membership(at=r["formal_since"] - dt.timedelta(days=1))
        size = before.filter(pl.col("unit_id") == r["from_unit"]).height
        if r["movers"] >= 2 and size and r["movers"] >= 0.5 * size:
            reorg.append((r["from_unit"], r["to_unit"], r["formal_since"]))
    if not reorg:
        return moves
    drop = pl.DataFrame(reorg, schema=frame_schema(
        {"from_unit": pl.String, "to_unit": pl.String, "formal_since": pl.Date}), orient="row")
    return moves.join(drop, on=["from_unit", "to_unit", "formal_since"], how="anti")


def find_org_change_lag(ctx: AnalysisContext) -> list[Finding]:
    """``org_change_lag`` findings; ``severity = min(1, lag_days / 180) * mean_share``."""
    fctx = ctx.finding_context()
    out = []
    for r in org_change_lag(ctx).iter_rows(named=True):
        months = r["lag_days"] / 30.4
        title = (f"{fctx.person(r['person_id'])} worked mainly with {fctx.unit(r['to_unit'])} for "
                 f"{months:.0f} months before the org chart moved them there")
        units = [u for u in (r["from_unit"], r["to_unit"]) if u]
        out.append(make_finding(
            "org_change_lag", min(1.0, r["lag_days"] / 180) * r["mean_share"], title,
            people=[r["person_id"]], units=units,
            evidence={"from_unit": r["from_unit"], "to_unit": r["to_unit"],
                      "informal_since": r["informal_since"], "formal_since": r["formal_since"],
                      "lag_days": r["lag_days"], "windows_observed": r["windows_observed"],
                      "mean_share": r["mean_share"]},
            ctx=fctx,
        ))
    return out
