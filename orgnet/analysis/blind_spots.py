"""Blind spots (ANALYSES §3): socio-technical congruence, dependencies without contact, one-sided
relationships, information droughts.

Measures
--------
- Coordination requirements ``CR = TA·TAᵀ`` (Cataldo et al. 2006 with ``T_D = I``: people who change
  the same files), from the co-edit view.
- Actual coordination ``CA``: a review or communication tie in either direction.
- Congruence, weighted by need (Kwan, Schröter and Damian 2011):
  ``congruence(A, B) = Σ_{(i,j) ∈ CR ∩ CA} CR_ij / Σ_{(i,j) ∈ CR} CR_ij`` over person pairs with
  ``i`` in unit A and ``j`` in unit B.
- **blind_spot (dependency without contact)**: a unit pair in the top quantile of coordination need
  (default: top 10% of cross-unit pairs) with congruence below 0.2 and below half the
  organisation's own congruence.
- **blind_spot (one-sided relationship)**: unit T depends on two or more units under the same
  parent O and works with O through some of them, while a unit X under O holding >= 20% of T's
  coordination need with O gets <= 10% of T's review and communication weight there (ANALYSES'
  "80% of the ties to one, 30% of the need with another" is a special case).
- **information_drought**: a conversation (chat channel or mail list) that refers to artifacts
  owned by unit U (paths through ownership rules; pull requests and changes through the files they
  touched) with real traffic (>= 10 messages, >= 3 people) and no member of U taking part.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Final

import polars as pl

from orgnet.analysis._context import (
    AnalysisContext,
    decode_events,
    ensure_context,
    memoized,
    running_sum,
    with_home_units,
)
from orgnet.dataset import Dataset, Window
from orgnet.findings import Finding, make_finding
from orgnet.graph.formal import unit_ancestors
from orgnet.schema import frame_schema

__all__ = [
    "CONGRUENCE_SCHEMA",
    "DROUGHT_SCHEMA",
    "ONE_SIDED_SCHEMA",
    "PERSON_CONGRUENCE_SCHEMA",
    "find_blind_spot",
    "find_information_drought",
    "information_droughts",
    "one_sided_relationships",
    "person_congruence",
    "unit_congruence",
]

CONGRUENCE_SCHEMA: Final = frame_schema({
    "unit_a": pl.String, "unit_b": pl.String, "need": pl.Float64, "met_need": pl.Float64,
    "congruence": pl.Float64, "person_pairs": pl.Int64, "tied_pairs": pl.Int64,
    "shared_files": pl.Int64, "communication": pl.Float64, "reviews": pl.Float64,
    "need_quantile": pl.Float64,
})
PERSON_CONGRUENCE_SCHEMA: Final = frame_schema({
    "person_id": pl.String, "unit_id": pl.String, "partners": pl.Int64, "tied_partners": pl.Int64,
    "need": pl.Float64, "congruence": pl.Float64,
})
ONE_SIDED_SCHEMA: Final = frame_schema({
    "unit_id": pl.String, "parent_id": pl.String, "favoured_unit": pl.String,
    "neglected_unit": pl.String, "favoured_tie_share": pl.Float64,
    "neglected_tie_share": pl.Float64, "neglected_need_share": pl.Float64,
    "need_with_parent": pl.Float64, "ties_with_parent": pl.Float64,
})
DROUGHT_SCHEMA: Final = frame_schema({
    "conversation": pl.String, "source": pl.String, "owning_unit": pl.String,
    "messages": pl.Int64, "participants": pl.Int64, "references": pl.Int64,
    "referenced_artifacts": pl.List(pl.String), "participant_units": pl.List(pl.String),
})

MESSAGE_KINDS: Final = ("chat_message", "chat_reply", "email_message", "email_reply")


def _tie_frame(ctx: AnalysisContext) -> pl.DataFrame:
    """Undirected person ties: ``a, b`` (``a < b``), ``comm`` and ``review`` weights.

    Computed once per context, in first-seen order (communication edges, then review edges, in
    edge-table order); each weight is the sum of at most two directed edges.
    """
    def make() -> pl.DataFrame:
        parts = []
        for idx, e in enumerate((ctx.graph("communication").edges, ctx.graph("review").edges)):
            parts.append(e.select(
                pl.min_horizontal("src", "dst").alias("a"),
                pl.max_horizontal("src", "dst").alias("b"),
                pl.col("weight").alias("comm") if idx == 0 else pl.lit(0.0).alias("comm"),
                pl.col("weight").alias("rev") if idx == 1 else pl.lit(0.0).alias("rev"),
            ))
        both = pl.concat(parts)
        # The sum of at most two values per view does not depend on their order; 0.0 + w == w.
        return both.group_by("a", "b", maintain_order=True).agg(pl.col("comm").sum(),
                                                                pl.col("rev").sum())
    frame: pl.DataFrame = ctx.cached("tie_frame", make)
    return frame


def _cross_units(frame: pl.DataFrame, homes: pl.DataFrame, left: str, right: str
                 ) -> pl.DataFrame:
    """Rows of ``frame`` whose two people both have a unit, and different ones: with ``ua, ub``
    (``ua < ub``), in ``frame``'s order."""
    return (
        with_home_units(frame, homes, left, right, names=("_ul", "_ur"))
        .filter(pl.col("_ul") != pl.col("_ur"))
        .with_columns(pl.min_horizontal("_ul", "_ur").alias("ua"),
                      pl.max_horizontal("_ul", "_ur").alias("ub"))
        .drop("_ul", "_ur")
    )


def _tied_coedit(ctx: AnalysisContext) -> pl.DataFrame:
    """Co-edit edges ``s, d, w`` with ``tied``: the two people have a review or communication
    tie."""
    def make() -> pl.DataFrame:
        cr = ctx.graph("coedit").edges
        ties = _tie_frame(ctx).select("a", "b", pl.lit(True).alias("tied"))
        return (
            cr.select(pl.col("src").alias("s"), pl.col("dst").alias("d"), pl.col("weight").alias("w"))
            .with_columns(pl.min_horizontal("s", "d").alias("a"), pl.max_horizontal("s", "d").alias("b"))
            .join(ties, on=["a", "b"], how="left", maintain_order="left")
            .with_columns(pl.col("tied").fill_null(False))
            .drop("a", "b")
        )
    frame: pl.DataFrame = ctx.cached("tied_coedit", make)
    return frame


def _shared_files(ctx: AnalysisContext, home: dict[str, str]) -> pl.DataFrame:
    """``ua, ub`` (``ua < ub``) and ``shared_files``: files both units' people changed (``B·Bᵀ``
    of units x files)."""
    import numpy as np
    import scipy.sparse as sp

    schema = {"ua": pl.String, "ub": pl.String, "shared_files": pl.Int64}
    ta, people, _paths = ctx.coedit_matrix()
    if not people:
        return pl.DataFrame(schema=schema)
    units = sorted({u for p in people if (u := home.get(p)) is not None})
    if not units:
        return pl.DataFrame(schema=schema)
    upos = {u: i for i, u in enumerate(units)}
    person_unit = np.array([upos[home[p]] if p in home else -1 for p in people], dtype=np.int64)
    coo = ta.tocoo()
    rows = person_unit[coo.row]
    keep = rows >= 0
    b = sp.csr_matrix((np.ones(int(keep.sum())), (rows[keep], coo.col[keep])),
                      shape=(len(units), ta.shape[1]))
    b.sum_duplicates()
    b.data[:] = 1.0
    shared = sp.triu(b @ b.T, k=1).tocoo()
    names = np.array(units, dtype=object)
    n = np.rint(shared.data).astype(np.int64)
    return pl.DataFrame({"ua": names[shared.row].tolist(), "ub": names[shared.col].tolist(),
                         "shared_files": n}, schema=schema).filter(pl.col("shared_files") > 0)


@memoized
def unit_congruence(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
) -> pl.DataFrame:
    """Socio-technical congruence per unit pair (need-weighted).

    Returns
    -------
    pl.DataFrame
        ``unit_a, unit_b`` (``unit_a < unit_b``), ``need`` (sum of ``CR`` over cross pairs),
        ``met_need`` (the part with a review or communication tie), ``congruence``,
        ``person_pairs, tied_pairs``, ``shared_files`` (files both units changed),
        ``communication`` and ``reviews`` (tie weights between the units), ``need_quantile``
        (rank of ``need`` among pairs, 0..1); sorted by ``need`` descending then the pair.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    home = ctx.home_unit()
    if ctx.graph("coedit").edges.height == 0 or not home:
        return pl.DataFrame(schema=CONGRUENCE_SCHEMA)
    homes = ctx.home_frame()
    acc = (_cross_units(_tied_coedit(ctx), homes, "s", "d")
           .group_by("ua", "ub", maintain_order=True)
           .agg(running_sum(pl.col("w")).alias("need"),
                running_sum(pl.col("w").filter(pl.col("tied"))).alias("met_need"),
                pl.len().cast(pl.Int64).alias("person_pairs"),
                pl.col("tied").sum().cast(pl.Int64).alias("tied_pairs")))
    if acc.height == 0:
        return pl.DataFrame(schema=CONGRUENCE_SCHEMA)
    between = _unit_ties(ctx).select("ua", "ub", "communication", "reviews")
    n = acc.height
    df = (acc.join(between, on=["ua", "ub"], how="left", maintain_order="left")
          .join(_shared_files(ctx, home), on=["ua", "ub"], how="left", maintain_order="left")
          .with_columns(pl.col("communication", "reviews").fill_null(0.0),
                        pl.col("shared_files").fill_null(0),
                        pl.when(pl.col("need") != 0).then(pl.col("met_need") / pl.col("need"))
                        .otherwise(float("nan")).alias("congruence"),
                        ((pl.col("need").rank("average") - 1) / max(n - 1, 1))
                        .alias("need_quantile"))
          .rename({"ua": "unit_a", "ub": "unit_b"}))
    return df.select(list(CONGRUENCE_SCHEMA)).cast(CONGRUENCE_SCHEMA).sort(
        ["need", "unit_a", "unit_b"], descending=[True, False, False]
    )


@memoized
def person_congruence(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
) -> pl.DataFrame:
    """Per person: coordination partners and how many of them they actually interact with.

    Returns
    -------
    pl.DataFrame
        ``person_id, unit_id, partners`` (people sharing files), ``tied_partners``, ``need``,
        ``congruence`` (need-weighted share met); sorted by ``person_id``.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    if ctx.graph("coedit").edges.height == 0:
        return pl.DataFrame(schema=PERSON_CONGRUENCE_SCHEMA)
    edges = _tied_coedit(ctx)
    # Both ends of each edge, edge by edge (the order a running sum adds them in).
    ends = edges.select(pl.concat_list("s", "d").alias("person_id"), "w", "tied").explode(
        "person_id")
    per = ends.group_by("person_id", maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("partners"),
        pl.col("tied").sum().cast(pl.Int64).alias("tied_partners"),
        running_sum(pl.col("w")).alias("need"),
        running_sum(pl.col("w").filter(pl.col("tied"))).alias("met"))
    df = per.join(ctx.home_frame().rename({"person": "person_id", "unit": "unit_id"}),
                  on="person_id", how="left").with_columns(
        pl.when(pl.col("need") != 0).then(pl.col("met") / pl.col("need"))
        .otherwise(float("nan")).alias("congruence"))
    return df.select(list(PERSON_CONGRUENCE_SCHEMA)).cast(PERSON_CONGRUENCE_SCHEMA).sort(
        "person_id")


def _unit_ties(ctx: AnalysisContext) -> pl.DataFrame:
    """Person ties between two different main units, per unit pair (computed once per
    context): ``ua, ub`` (``ua < ub``), ``communication`` and ``reviews`` (summed tie by tie),
    ``w`` (each tie's communication plus review weight, summed tie by tie) and ``n`` (the
    number of ties)."""
    def make() -> pl.DataFrame:
        return (_cross_units(_tie_frame(ctx), ctx.home_frame(), "a", "b")
                .group_by("ua", "ub", maintain_order=True)
                .agg(running_sum(pl.col("comm")).alias("communication"),
                     running_sum(pl.col("rev")).alias("reviews"),
                     running_sum(pl.col("comm") + pl.col("rev")).alias("w"),
                     pl.len().alias("n")))
    frame: pl.DataFrame = ctx.cached("unit_ties", make)
    return frame


@memoized
def one_sided_relationships(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    max_neglected_tie_share: float = 0.1,
    neglected_need_share: float = 0.2,
    min_ties: int = 5,
) -> pl.DataFrame:
    """Units that depend on several units under one parent but leave one of them out.

    For a unit T and a parent O with at least two of O's units that T shares code with: T's
    review and communication weight with O's units is split among them; the relationship is
    one-sided when a unit X under O holds at least ``neglected_need_share`` of T's coordination
    need with O but at most ``max_neglected_tie_share`` of T's ties there (ANALYSES' example,
    80% of the ties to one unit while another holds 30% of the need, is a special case). The
    favoured unit is the one with most of T's ties.

    Returns
    -------
    pl.DataFrame
        ``unit_id`` (T), ``parent_id`` (O), ``favoured_unit``, ``neglected_unit``,
        ``favoured_tie_share`` and ``neglected_tie_share`` (shares of T's review and
        communication weight with O's units), ``neglected_need_share``, ``need_with_parent``,
        ``ties_with_parent`` (number of person ties); sorted by ``neglected_need_share``
        descending then ``unit_id``.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    cong = unit_congruence(ctx)
    if cong.height == 0:
        return pl.DataFrame(schema=ONE_SIDED_SCHEMA)
    parent = dict(ctx.data.units.select("unit_id", "parent_id").iter_rows())
    need: dict[str, dict[str, float]] = defaultdict(dict)
    for r in cong.iter_rows(named=True):
        need[r["unit_a"]][r["unit_b"]] = r["need"]
        need[r["unit_b"]][r["unit_a"]] = r["need"]
    tie_weight: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    tie_count: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for ua, ub, w, n in _unit_ties(ctx).select("ua", "ub", "w", "n").iter_rows():
        tie_weight[ua][ub] = tie_weight[ub][ua] = w
        tie_count[ua][ub] = tie_count[ub][ua] = n
    rows = []
    for t in sorted(need):
        by_parent: dict[str, list[str]] = defaultdict(list)
        for x in need[t]:
            p = parent.get(x)
            if p is not None:
                by_parent[p].append(x)
        for p, xs in sorted(by_parent.items()):
            if len(xs) < 2:
                continue
            total_need = sum(need[t][x] for x in xs)
            n_ties = sum(tie_count[t].get(x, 0) for x in xs)
            ties = {x: tie_weight[t].get(x, 0.0) for x in xs}
            total_ties = sum(ties.values())
            if n_ties < max(min_ties, 1) or total_need <= 0 or total_ties <= 0:
                continue
            fav = max(sorted(xs), key=lambda x: ties[x])
            candidates = [x for x in sorted(xs) if x != fav
                          and ties[x] / total_ties <= max_neglected_tie_share
                          and need[t][x] / total_need >= neglected_need_share]
            if not candidates:
                continue
            neg = max(candidates, key=lambda x: need[t][x])
            rows.append({
                "unit_id": t, "parent_id": p, "favoured_unit": fav, "neglected_unit": neg,
                "favoured_tie_share": ties[fav] / total_ties,
                "neglected_tie_share": ties[neg] / total_ties,
                "neglected_need_share": need[t][neg] / total_need, "need_with_parent": total_need,
                "ties_with_parent": float(n_ties),
            })
    if not rows:
        return pl.DataFrame(schema=ONE_SIDED_SCHEMA)
    return pl.DataFrame(rows, schema=ONE_SIDED_SCHEMA).sort(
        ["neglected_need_share", "unit_id"], descending=[True, False])


def find_blind_spot(
    ctx: AnalysisContext,
    *,
    top_quantile: float = 0.9,
    max_congruence: float = 0.2,
    baseline_fraction: float = 0.5,
    min_one_sided_quantile: float = 0.6,
) -> list[Finding]:
    """``blind_spot`` findings of both kinds.

    Dependency without contact: a unit pair in the top ``1 - top_quantile`` of coordination need
    whose congruence is below ``max_congruence`` *and* below ``baseline_fraction`` of the
    organisation's own need-weighted congruence (so data with few recorded conversations, such as
    git trailers only, is judged against itself). ``severity = (1 - congruence / threshold) *
    (0.5 + 0.5 * band)`` where ``band`` is the pair's position inside the top quantile.
    One-sided: only when the neglected dependency itself is substantial (its need ranks at or
    above ``min_one_sided_quantile`` of unit pairs; on generated null organisations such gaps
    ranked at most 0.47) and the pair is not already a dependency without contact; each unit
    pair once. ``severity = (0.5 + 0.5 * min(1, (q - q_min) / 0.35)) * (1 - 5 * tie_share)``.
    """
    fctx = ctx.finding_context()
    out: list[Finding] = []
    cong = unit_congruence(ctx)
    total_need = float(cong["need"].sum()) if cong.height else 0.0
    baseline = float(cong["met_need"].sum()) / total_need if total_need else 0.0
    threshold = min(max_congruence, baseline_fraction * baseline)
    for r in cong.iter_rows(named=True):
        if r["need_quantile"] < top_quantile or r["congruence"] >= threshold:
            continue
        if fctx.too_small(r["unit_a"], r["unit_b"]):
            continue
        band = (r["need_quantile"] - top_quantile) / max(1 - top_quantile, 1e-9)
        sev = (1 - r["congruence"] / threshold) * (0.5 + 0.5 * band)
        a, b = fctx.unit(r["unit_a"]), fctx.unit(r["unit_b"])
        title = (f"{a} and {b} change the same code ({r['shared_files']} shared files) but "
                 f"{'never' if r['tied_pairs'] == 0 else 'rarely'} review or talk with each other: "
                 f"{r['congruence']:.0%} of their coordination needs are met "
                 f"({baseline:.0%} across the organisation)")
        out.append(make_finding(
            "blind_spot", sev, title, units=[r["unit_a"], r["unit_b"]],
            evidence={"type": "dependency_without_contact", "org_congruence": baseline,
                      **{k: r[k] for k in (
                          "need", "met_need", "congruence", "person_pairs", "tied_pairs",
                          "shared_files", "communication", "reviews", "need_quantile")}},
            ctx=fctx, key=f"dependency|{r['unit_a']}|{r['unit_b']}",
        ))
    reported = {frozenset((r["unit_a"], r["unit_b"])) for r in cong.iter_rows(named=True)
                if r["need_quantile"] >= top_quantile and r["congruence"] < threshold}
    quantile = {frozenset((a, b)): q for a, b, q in
                cong.select("unit_a", "unit_b", "need_quantile").iter_rows()}
    best: dict[frozenset[str], tuple[float, dict[str, Any]]] = {}
    for r in one_sided_relationships(ctx).iter_rows(named=True):
        pair = frozenset((r["unit_id"], r["neglected_unit"]))
        q = quantile.get(pair, 0.0)
        if pair in reported or q < min_one_sided_quantile:
            continue  # already a dependency without contact, or too small a dependency
        if fctx.too_small(r["unit_id"], r["favoured_unit"], r["neglected_unit"]):
            continue
        sev = (0.5 + 0.5 * min(1.0, (q - min_one_sided_quantile) / 0.35)) * max(
            0.0, 1 - 5 * r["neglected_tie_share"])
        if pair not in best or sev > best[pair][0]:
            best[pair] = (sev, {**r, "need_quantile": q})
    for pair in sorted(best, key=sorted):
        sev, r = best[pair]
        t, o = fctx.unit(r["unit_id"]), fctx.unit(r["parent_id"])
        fav, neg = fctx.unit(r["favoured_unit"]), fctx.unit(r["neglected_unit"])
        title = (f"{t} works with {o} through {fav} ({r['favoured_tie_share']:.0%} of its ties "
                 f"there) but has {r['neglected_tie_share']:.0%} of its ties with {neg}, which holds "
                 f"{r['neglected_need_share']:.0%} of the code it shares with {o}")
        out.append(make_finding(
            "blind_spot", sev, title,
            units=[r["unit_id"], r["favoured_unit"], r["neglected_unit"]],
            evidence={"type": "one_sided_relationship", **r},
            ctx=fctx, key=f"one-sided|{r['unit_id']}|{r['neglected_unit']}",
        ))
    return out


# -- information droughts -----------------------------------------------------------------------


def _reference_owners(ctx: AnalysisContext, refs: pl.DataFrame) -> pl.DataFrame:
    """``value -> owning unit`` (at the compared level) for path and change references."""
    from orgnet.ownership import OwnershipResolver

    own = ctx.data.ownership
    if own.height == 0 or refs.height == 0:
        return pl.DataFrame(schema={"value": pl.String, "owning_unit": pl.String})
    resolver = OwnershipResolver(own, ctx.data.units, ctx.data.identities)
    containers = list(own["container"].unique().to_list())
    # Paths referenced directly, and files touched by referenced changes.
    paths = refs.filter(pl.col("value").str.starts_with("path:")).select(
        "value", pl.col("value").str.strip_prefix("path:").alias("path"))
    changes = refs.drop_nulls("artifact_id").select("value", "artifact_id").unique()
    if changes.height:
        touched = ctx.data.touches.select("artifact_id", "path").join(
            changes.lazy(), on="artifact_id").select("value", "path").collect()
        paths = pl.concat([paths, touched])
    if paths.height == 0:
        return pl.DataFrame(schema={"value": pl.String, "owning_unit": pl.String})
    queries = paths.select("path").unique().join(
        pl.DataFrame({"container": containers}, schema={"container": pl.String}), how="cross")
    owners = resolver.assign(queries).drop_nulls("owner_unit_id").select(
        "path", pl.col("owner_unit_id").alias("leaf_unit")).unique()
    anc = unit_ancestors(ctx.data.units).filter(pl.col("ancestor_kind") == ctx.unit_kind)
    nearest = anc.sort("distance").unique("unit_id", keep="first").select(
        pl.col("unit_id").alias("leaf_unit"), pl.col("ancestor_id").alias("owning_unit"))
    return (paths.join(owners, on="path").join(nearest, on="leaf_unit")
            .select("value", "owning_unit").unique())


@memoized
def information_droughts(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    min_messages: int = 10,
    min_participants: int = 3,
    min_references: int = 2,
) -> pl.DataFrame:
    """Conversations about a unit's code that no member of the unit takes part in.

    Returns
    -------
    pl.DataFrame
        ``conversation`` (``source:container``), ``source``, ``owning_unit``, ``messages``,
        ``participants``, ``references`` (reference events pointing at the unit's artifacts),
        ``referenced_artifacts`` (up to 10 reference values), ``participant_units``; sorted by
        ``messages`` descending then ``conversation``.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    if ctx.event_table().height == 0:
        return pl.DataFrame(schema=DROUGHT_SCHEMA)
    refs = ctx.events(where=(pl.col("kind") == "reference") & pl.col("container").is_not_null(),
                      columns=["source", "container", "value", "artifact_id"])
    if refs.height == 0:
        return pl.DataFrame(schema=DROUGHT_SCHEMA)
    owners = _reference_owners(ctx, refs.select("value", "artifact_id").unique())
    if owners.height == 0:
        return pl.DataFrame(schema=DROUGHT_SCHEMA)
    conv = pl.concat_str([pl.col("source"), pl.lit(":"), pl.col("container")]).alias("conversation")
    about = (
        refs.join(owners, on="value").with_columns(conv)
        .group_by("conversation", "owning_unit")
        .agg(pl.len().alias("references"), pl.col("value").unique().sort().head(10)
             .alias("referenced_artifacts"))
        .filter(pl.col("references") >= min_references)
    )
    # Messages per (conversation, person), counted on the compact table's codes (equality
    # only) in order of first message, so only those pairs are decoded.
    per_person = decode_events(
        ctx.event_table().lazy()
        .filter(pl.col("kind").is_in(MESSAGE_KINDS) & pl.col("container").is_not_null())
        .group_by("source", "container", "actor", maintain_order=True)
        .agg(pl.len().alias("n"))
    ).collect().with_columns(conv)
    home = ctx.home_unit()
    homes = pl.DataFrame(list(home.items()), schema={"actor": pl.String, "unit": pl.String},
                         orient="row")
    traffic = (
        per_person.join(homes, on="actor", how="left", maintain_order="left")
        .group_by("conversation")
        .agg(pl.first("source"), pl.col("n").sum().alias("messages"), pl.col("actor").n_unique()
             .alias("participants"), pl.col("unit").drop_nulls().unique().sort()
             .alias("participant_units"))
        .filter((pl.col("messages") >= min_messages) & (pl.col("participants") >= min_participants))
    )
    joined = about.join(traffic, on="conversation").filter(
        ~pl.col("participant_units").list.contains(pl.col("owning_unit")))
    if joined.height == 0:
        return pl.DataFrame(schema=DROUGHT_SCHEMA)
    return joined.select(list(DROUGHT_SCHEMA)).cast(DROUGHT_SCHEMA).sort(
        ["messages", "conversation", "owning_unit"], descending=[True, False, False])


def find_information_drought(ctx: AnalysisContext) -> list[Finding]:
    """``information_drought`` findings.

    ``severity = min(1, log2(messages / 5) / 4) * min(1, references / 5) ** 0.5``.
    """
    fctx = ctx.finding_context()
    out = []
    for r in information_droughts(ctx).iter_rows(named=True):
        if fctx.too_small(r["owning_unit"]):
            continue
        sev = min(1.0, math.log2(max(r["messages"], 5) / 5) / 4) * min(1.0, r["references"] / 5) ** 0.5
        name = r["conversation"].split(":", 1)[1]
        title = (f"{r['participants']} people discuss {fctx.unit(r['owning_unit'])}'s code in {name} "
                 f"({r['messages']} messages, {r['references']} references) without anyone from "
                 f"{fctx.unit(r['owning_unit'])}")
        evidence: dict[str, Any] = {k: r[k] for k in DROUGHT_SCHEMA}
        out.append(make_finding(
            "information_drought", sev, title, units=[r["owning_unit"]], evidence=evidence,
            ctx=fctx, key=f"{r['conversation']}|{r['owning_unit']}",
        ))
    return out
