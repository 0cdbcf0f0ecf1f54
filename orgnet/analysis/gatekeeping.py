"""Gatekeeping in code review: who approves, how concentrated, and who slows outsiders (ANALYSES §4).

:func:`approval_concentration`
    Per area (the change author's unit, the owning units of the files a change touches, or the
    repository): approvals, top approver and share, Herfindahl-Hirschman index, review bus factor,
    possible reviewers. :func:`find_review_bottleneck` turns it into findings.
:func:`outsider_friction`
    Per reviewer: changes from outside vs inside the reviewer's unit, time to first review,
    changes-requested and abandonment rates, Mann-Whitney U / Fisher exact tests with
    Benjamini-Hochberg correction. :func:`find_gatekeeper` turns it into findings.
:func:`gate_share`
    Per person (and per area): number and share of gate events (approvals, ``Acked-by``).

Event vocabulary. *Approvals* are ``review_approved`` events (GitHub/GitLab approvals, Gerrit
``Code-Review`` at its maximum, bors/homu ``r=``), plus - for git-trailer data, i.e. in
repositories (containers) without any ``review_approved`` event in the window -
``Reviewed-by`` and ``Acked-by`` trailers. *Gate events* are ``review_approved`` events and
``Acked-by`` trailers (the maintainer gate in Xen and DPDK). Reviewers are people after identity
resolution; bot events are excluded by the context's graph options.

Sources: Sadowski et al., ICSE-SEIP 2018 (review as gatekeeping); Bosu & Carver, ESEM 2014 and
Baysal et al., EMSE 2016 (first-feedback interval and outcome by insider/outsider status);
SOCIOTECH §6.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, Literal

import numpy as np
import polars as pl
from scipy.special import ndtr
from scipy.stats import mannwhitneyu

from orgnet.analysis._context import AnalysisContext, ensure_context, memoized
from orgnet.analysis.brokerage import gould_fernandez
from orgnet.dataset import Dataset, Window
from orgnet.findings import Finding, make_finding
from orgnet.graph.build import REVIEW_KINDS, REVIEW_TRAILERS
from orgnet.graph.formal import membership_at, unit_ancestors

__all__ = [
    "APPROVAL_CONCENTRATION_SCHEMA",
    "GATE_SHARE_SCHEMA",
    "OUTSIDER_FRICTION_SCHEMA",
    "AreaBy",
    "approval_concentration",
    "benjamini_hochberg",
    "find_gatekeeper",
    "find_review_bottleneck",
    "gate_share",
    "outsider_friction",
]

AreaBy = Literal["unit", "owner", "container", "all"]

APPROVAL_TRAILERS: Final = ("Reviewed-by", "Acked-by")
GATE_TRAILERS: Final = ("Acked-by",)
ABANDONED_OUTCOMES: Final = ("abandoned", "closed")

APPROVAL_CONCENTRATION_SCHEMA: Final[dict[str, type[pl.DataType] | pl.DataType]] = {
    "area_id": pl.String,
    "area_kind": pl.String,
    "approvals": pl.Int64,
    "approvers": pl.Int64,
    "top_approver": pl.String,
    "top_approvals": pl.Int64,
    "top_share": pl.Float64,
    "hhi": pl.Float64,
    "bus_factor": pl.Int64,
    "possible_reviewers": pl.Int64,
    "trailer_approvals": pl.Int64,
}

GATE_SHARE_SCHEMA: Final[dict[str, type[pl.DataType] | pl.DataType]] = {
    "area_id": pl.String,
    "area_kind": pl.String,
    "person_id": pl.String,
    "unit_id": pl.String,
    "gate_events": pl.Int64,
    "area_gate_events": pl.Int64,
    "share": pl.Float64,
    "rank": pl.Int64,
}

OUTSIDER_FRICTION_SCHEMA: Final[dict[str, type[pl.DataType] | pl.DataType]] = {
    "person_id": pl.String,
    "unit_id": pl.String,
    "n_outside": pl.Int64,
    "n_inside": pl.Int64,
    "n_latency_outside": pl.Int64,
    "n_latency_inside": pl.Int64,
    "median_hours_outside": pl.Float64,
    "median_hours_inside": pl.Float64,
    "latency_ratio": pl.Float64,
    "changes_requested_rate_outside": pl.Float64,
    "changes_requested_rate_inside": pl.Float64,
    "changes_requested_diff": pl.Float64,
    "abandoned_rate_outside": pl.Float64,
    "abandoned_rate_inside": pl.Float64,
    "abandoned_diff": pl.Float64,
    "p_latency": pl.Float64,
    "p_changes_requested": pl.Float64,
    "p_abandoned": pl.Float64,
    "q_latency": pl.Float64,
    "q_changes_requested": pl.Float64,
    "q_abandoned": pl.Float64,
}


# -- helpers ------------------------------------------------------------------------------------

def benjamini_hochberg(p: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN/None stay NaN and are not counted."""
    arr = np.array([np.nan if v is None else float(v) for v in p], dtype=np.float64)
    out = np.full(arr.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(arr))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(arr[ok], kind="stable")]
    scaled = arr[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out[order] = np.minimum(adjusted, 1.0)
    return out


def _is_review() -> pl.Expr:
    return pl.col("kind").is_in(sorted(REVIEW_KINDS)) | (
        (pl.col("kind") == "commit_trailer") & pl.col("value").is_in(sorted(REVIEW_TRAILERS)))


def _artifact_authors(ctx: AnalysisContext) -> pl.DataFrame:
    """``artifact_id, author, art_kind, opened_at, outcome, merged`` with the author as a person."""
    idmap = ctx.data.identity_map().select("identity_id", "person_id")
    return (
        ctx.data.artifacts.select("artifact_id", pl.col("kind").alias("art_kind"), "author_id",
                                  "opened_at", "outcome", "merged")
        .join(idmap, left_on="author_id", right_on="identity_id", how="left")
        .with_columns(pl.coalesce("person_id", "author_id").alias("author"))
        .drop("person_id", "author_id")
        .unique("artifact_id", keep="first")
    )


def _approvals(ctx: AnalysisContext, trailers: Sequence[str], *, explicit_only_where_present: bool
               ) -> pl.DataFrame:
    """Approval / gate events: ``review_approved`` plus the given trailers.

    With ``explicit_only_where_present`` the trailers count only in containers that have no
    ``review_approved`` event in the window (git-trailer data).
    """
    ev = ctx.events(where=pl.col("actor").is_not_null() & (
        (pl.col("kind") == "review_approved")
        | ((pl.col("kind") == "commit_trailer") & pl.col("value").is_in(list(trailers)))),
        columns=["kind", "actor", "target", "artifact_id", "container", "ts", "value"])
    explicit = ev.filter(pl.col("kind") == "review_approved")
    trail = ev.filter((pl.col("kind") == "commit_trailer") & pl.col("value").is_in(list(trailers)))
    if explicit_only_where_present and explicit.height:
        with_explicit = explicit["container"].drop_nulls().unique().to_list()
        trail = trail.filter(~pl.col("container").is_in(with_explicit) | pl.col("container").is_null())
    both = pl.concat([explicit.with_columns(pl.lit(False).alias("is_trailer")),
                      trail.with_columns(pl.lit(True).alias("is_trailer"))])
    return both.select("kind", "actor", "target", "artifact_id", "container", "ts", "is_trailer")


def _with_authors(ctx: AnalysisContext, events: pl.DataFrame) -> pl.DataFrame:
    arts = _artifact_authors(ctx).select("artifact_id", pl.col("author").alias("art_author"))
    return (
        events.join(arts, on="artifact_id", how="left")
        .with_columns(pl.coalesce("target", "art_author").alias("author"))
        .drop("art_author")
    )


def _owner_areas(ctx: AnalysisContext, artifact_ids: list[str]) -> pl.DataFrame:
    """``artifact_id, area_id``: owning units of the files each artifact touches."""
    from orgnet.ownership import OwnershipResolver

    empty = pl.DataFrame(schema={"artifact_id": pl.String, "area_id": pl.String})
    data = ctx.data
    if data.ownership.height == 0 or not artifact_ids:
        return empty
    idmap = data.identity_map().select("identity_id", "person_id")
    touches = (
        data.touches.filter(pl.col("artifact_id").is_in(artifact_ids))
        .select("artifact_id", "path").collect()
        .join(data.artifacts.select("artifact_id", "container"), on="artifact_id", how="left")
    )
    if touches.height == 0:
        return empty
    rule_containers = set(data.ownership["container"].to_list())
    touches = touches.with_columns(
        pl.when(pl.col("container").is_in([c for c in rule_containers if c is not None]))
        .then(pl.col("container")).otherwise(None).alias("container")
    )
    resolver = OwnershipResolver(data.ownership, data.units, idmap)
    owners = resolver.assign(touches.select("path", "container").unique())
    owners = owners.drop_nulls("owner_unit_id").select("path", "container", "owner_unit_id")
    anc = unit_ancestors(data.units).filter(pl.col("ancestor_kind") == ctx.unit_kind)
    nearest = anc.sort("distance").unique("unit_id", keep="first").select(
        pl.col("unit_id").alias("owner_unit_id"), pl.col("ancestor_id"))
    owners = owners.join(nearest, on="owner_unit_id", how="left").with_columns(
        pl.coalesce("ancestor_id", "owner_unit_id").alias("area_id"))
    return (
        touches.join(owners.select("path", "container", "area_id"), on=["path", "container"],
                     how="inner", nulls_equal=True)
        .select("artifact_id", "area_id").unique().sort("artifact_id", "area_id")
    )


def _areas(ctx: AnalysisContext, events: pl.DataFrame, by: AreaBy) -> pl.DataFrame:
    """Attach ``area_id`` to events (an event may land in several owner areas)."""
    if by == "all":
        return events.with_columns(pl.lit("*").alias("area_id"))
    if by == "container":
        return events.with_columns(pl.col("container").alias("area_id")).drop_nulls("area_id")
    if by == "unit":
        home = pl.DataFrame(list(ctx.home_unit().items()), schema={"author": pl.String,
                                                                   "area_id": pl.String},
                            orient="row")
        return _with_authors(ctx, events).join(home, on="author", how="inner")
    if by == "owner":
        ids = events["artifact_id"].drop_nulls().unique().sort().to_list()
        return events.join(_owner_areas(ctx, ids), on="artifact_id", how="inner")
    raise ValueError(f"by must be 'unit', 'owner', 'container' or 'all', not {by!r}")


def _unit_members(ctx: AnalysisContext) -> pl.DataFrame:
    """``area_id, person_id``: people in each unit or any unit below it, at the formal date."""
    leaf = membership_at(ctx.data.memberships, ctx.data.units, at=ctx.formal_date(), unit_kind=None)
    anc = unit_ancestors(ctx.data.units).select("unit_id", pl.col("ancestor_id").alias("area_id"))
    return leaf.select("person_id", "unit_id").join(anc, on="unit_id").select(
        "area_id", "person_id").unique()


# -- approval concentration -----------------------------------------------------------------------

@memoized
def approval_concentration(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    by: AreaBy = "unit",
    trailers: Sequence[str] = APPROVAL_TRAILERS,
) -> pl.DataFrame:
    """How concentrated approvals are in each area.

    Parameters
    ----------
    data
        A dataset or an analysis context.
    window, unit_kind
        Events considered and the formal level of the areas.
    by
        What an area is: ``unit`` (default) - the change author's main unit at ``unit_kind``
        (approvals of authors without a unit are left out); ``owner`` - every unit owning a
        file the change touches (ownership rules: CODEOWNERS, OWNERS, MAINTAINERS sections; an
        owner unit is lifted to its nearest ancestor of kind ``unit_kind`` when it has one), so
        one approval counts once in each owning area; ``container`` - the repository;
        ``all`` - the whole window (``area_id = "*"``).
    trailers
        Trailer keys counted as approvals in repositories without ``review_approved`` events
        (default ``Reviewed-by`` and ``Acked-by``).

    Returns
    -------
    pl.DataFrame
        One row per area (sorted by ``area_id``): ``area_id``, ``area_kind`` (``by``),
        ``approvals`` (approval events), ``approvers`` (distinct people), ``top_approver``
        (person id; ties by id), ``top_approvals``, ``top_share``, ``hhi`` (Herfindahl-Hirschman
        index ``Σ share²`` over approvers, 0..1), ``bus_factor`` (fewest approvers covering at
        least 50% of approvals), ``possible_reviewers`` (members of the area's unit, or of a
        unit below it, who gave any review event in the window; for ``container``/``all``
        areas: everyone who reviewed there), ``trailer_approvals`` (how many approvals are
        trailers).
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    appr = _approvals(ctx, trailers, explicit_only_where_present=True)
    if appr.height == 0:
        return pl.DataFrame(schema=APPROVAL_CONCENTRATION_SCHEMA)
    appr = _areas(ctx, appr, by)
    if appr.height == 0:
        return pl.DataFrame(schema=APPROVAL_CONCENTRATION_SCHEMA)
    per = (
        appr.group_by("area_id", "actor").agg(pl.len().cast(pl.Int64).alias("n"))
        .with_columns(pl.col("n").sum().over("area_id").alias("total"))
        .with_columns((pl.col("n") / pl.col("total")).alias("share"))
        .sort(["area_id", "n", "actor"], descending=[False, True, False])
        .with_columns(pl.col("share").cum_sum().over("area_id").alias("cum"))
    )
    summary = per.group_by("area_id", maintain_order=True).agg(
        pl.col("total").first().alias("approvals"),
        pl.len().cast(pl.Int64).alias("approvers"),
        pl.col("actor").first().alias("top_approver"),
        pl.col("n").first().alias("top_approvals"),
        pl.col("share").first().alias("top_share"),
        (pl.col("share") ** 2).sum().alias("hhi"),
        # cum is increasing: the bus factor is one plus the approvers strictly below 50%.
        ((pl.col("cum") < 0.5 - 1e-12).sum() + 1).cast(pl.Int64).alias("bus_factor"),
    )
    trail = appr.group_by("area_id").agg(pl.col("is_trailer").sum().cast(pl.Int64)
                                         .alias("trailer_approvals"))
    reviews = ctx.events(where=_is_review() & pl.col("actor").is_not_null(),
                         columns=["actor", "target", "artifact_id", "container"])
    if by in ("unit", "owner"):
        reviewers = reviews.select(pl.col("actor").alias("person_id")).unique()
        possible = (
            _unit_members(ctx).join(reviewers, on="person_id")
            .group_by("area_id").agg(pl.len().cast(pl.Int64).alias("possible_reviewers"))
        )
    else:
        possible = (
            _areas(ctx, reviews, by).group_by("area_id")
            .agg(pl.col("actor").n_unique().cast(pl.Int64).alias("possible_reviewers"))
        )
    return (
        summary.join(trail, on="area_id", how="left")
        .join(possible, on="area_id", how="left")
        .with_columns(pl.lit(by).alias("area_kind"),
                      pl.col("possible_reviewers").fill_null(0),
                      pl.col("trailer_approvals").fill_null(0))
        .select(list(APPROVAL_CONCENTRATION_SCHEMA))
        .cast(APPROVAL_CONCENTRATION_SCHEMA)  # type: ignore[arg-type]
        .sort("area_id")
    )


def _default_area(ctx: AnalysisContext) -> AreaBy:
    return "owner" if ctx.data.ownership.height else "unit"


def find_review_bottleneck(
    ctx: AnalysisContext,
    *,
    by: AreaBy | None = None,
    min_share: float = 0.5,
    min_approvals: int = 20,
    min_possible_reviewers: int = 3,
) -> list[Finding]:
    """One person gives most approvals in an area where several people could review.

    Raised when ``top_share >= min_share`` over ``>= min_approvals`` approvals and the area has
    ``>= min_possible_reviewers`` possible reviewers; areas that are units smaller than the
    privacy threshold are skipped. ``by`` defaults to ``owner`` when ownership rules exist and
    the changes' files are known for at least half of the approvals, else ``unit``.

    Severity: ``(0.4 + 0.6·(top_share - min_share)/(1 - min_share)) · (1 - exp(-approvals/40))``
    (effect size times evidence strength; 20 approvals weigh 0.39, 100 weigh 0.92).
    """
    area_by = by or _default_area(ctx)
    frame = approval_concentration(ctx, by=area_by)
    if by is None and area_by == "owner":
        # Owner areas need the files each change touched; review exports often lack them
        # (Perceval does not fetch PR files). Fall back to the author's unit when owner areas
        # cover less than half of the approvals.
        unit_frame = approval_concentration(ctx, by="unit")
        if float(frame["approvals"].sum()) < 0.5 * float(unit_frame["approvals"].sum()):
            area_by, frame = "unit", unit_frame
    hits = frame.filter(
        (pl.col("top_share") >= min_share) & (pl.col("approvals") >= min_approvals)
        & (pl.col("possible_reviewers") >= min_possible_reviewers)
    )
    fc = ctx.finding_context()
    out = []
    for row in hits.iter_rows(named=True):
        area = row["area_id"]
        is_unit = area_by in ("unit", "owner")
        if is_unit and fc.too_small(area):
            continue
        effect = 0.4 + 0.6 * (row["top_share"] - min_share) / max(1e-9, 1 - min_share)
        severity = effect * (1 - math.exp(-row["approvals"] / 40))
        who = fc.person(row["top_approver"])
        where = fc.unit(area) if is_unit else area
        title = (f"{who} gives {row['top_share']:.0%} of the {row['approvals']:,} approvals into "
                 f"{where}, although {row['possible_reviewers']} people there review code.")
        evidence = {k: row[k] for k in ("approvals", "approvers", "top_approvals", "top_share", "hhi",
                                        "bus_factor", "possible_reviewers", "trailer_approvals")}
        evidence["area_kind"] = area_by
        evidence["area_id"] = area
        out.append(make_finding("review_bottleneck", severity, title, people=[row["top_approver"]],
                                units=[area] if is_unit else [], evidence=evidence, ctx=fc))
    return out


# -- gate share -----------------------------------------------------------------------------------

@memoized
def gate_share(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    by: AreaBy = "all",
    trailers: Sequence[str] = GATE_TRAILERS,
) -> pl.DataFrame:
    """Number and share of gate events each person gives, overall or per area.

    Gate events are ``review_approved`` events and the ``trailers`` (default ``Acked-by``) in
    every repository (unlike :func:`approval_concentration`, no per-repository fallback: an
    ``Acked-by`` is a gate wherever it appears).

    Parameters
    ----------
    data
        A dataset or an analysis context.
    window, unit_kind
        Events considered and the formal level of the areas and of ``unit_id``.
    by
        ``all`` (default; one area ``"*"``), ``unit`` (change author's unit), ``owner`` (owning
        units of the touched files) or ``container``; see :func:`approval_concentration`.
    trailers
        Trailer keys that are gate events.

    Returns
    -------
    pl.DataFrame
        One row per (area, person) with at least one gate event, sorted by ``area_id`` then
        ``rank``: ``area_id``, ``area_kind``, ``person_id``, ``unit_id`` (the person's main
        unit), ``gate_events``, ``area_gate_events``, ``share`` (of the area's gate events),
        ``rank`` (1 = most; ties share the rank, order then by person id).
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    gates = _approvals(ctx, trailers, explicit_only_where_present=False)
    if gates.height == 0:
        return pl.DataFrame(schema=GATE_SHARE_SCHEMA)
    gates = _areas(ctx, gates, by)
    if gates.height == 0:
        return pl.DataFrame(schema=GATE_SHARE_SCHEMA)
    home = ctx.home_unit()
    return (
        gates.group_by("area_id", "actor").agg(pl.len().cast(pl.Int64).alias("gate_events"))
        .rename({"actor": "person_id"})
        .with_columns(pl.col("gate_events").sum().over("area_id").alias("area_gate_events"))
        .with_columns(
            (pl.col("gate_events") / pl.col("area_gate_events")).alias("share"),
            pl.col("gate_events").rank(method="min", descending=True).over("area_id")
            .cast(pl.Int64).alias("rank"),
            pl.lit(by).alias("area_kind"),
            pl.col("person_id").replace_strict(home, default=None, return_dtype=pl.String)
            .alias("unit_id"),
        )
        .select(list(GATE_SHARE_SCHEMA))
        .cast(GATE_SHARE_SCHEMA)  # type: ignore[arg-type]
        .sort("area_id", "rank", "person_id")
    )


# -- outsider friction ----------------------------------------------------------------------------

@memoized  # outsider friction and the report's latency chart read it (10,000 people: 3.2 s)
def _review_pairs(ctx: AnalysisContext) -> pl.DataFrame:
    """One row per (reviewer, change): author, latency, changes requested, abandoned, outside."""
    ev = ctx.events(where=_is_review() & pl.col("actor").is_not_null()
                    & pl.col("artifact_id").is_not_null(),
                    columns=["kind", "actor", "target", "artifact_id", "ts"])
    schema = {"reviewer": pl.String, "author": pl.String, "artifact_id": pl.String,
              "hours": pl.Float64, "changes_requested": pl.Boolean, "abandoned": pl.Boolean,
              "outside": pl.Boolean}
    if ev.height == 0:
        return pl.DataFrame(schema=schema)
    arts = _artifact_authors(ctx)
    is_trailer = pl.col("kind") == "commit_trailer"
    pairs = (
        ev.group_by("actor", "artifact_id").agg(
            pl.col("target").drop_nulls().sort().first().alias("target"),
            pl.col("ts").filter(~is_trailer).min().alias("first_review"),
            (pl.col("kind") == "review_changes_requested").any().alias("changes_requested"),
        )
        .join(arts, on="artifact_id", how="left")
        .with_columns(pl.coalesce("target", "author").alias("author"))
        .filter(pl.col("author").is_not_null() & (pl.col("author") != pl.col("actor")))
    )
    hours = (pl.col("first_review") - pl.col("opened_at")).dt.total_seconds() / 3600.0
    pairs = pairs.with_columns(
        pl.when((pl.col("art_kind") != "commit") & pl.col("opened_at").is_not_null()
                & pl.col("first_review").is_not_null() & (hours >= 0))
        .then(hours).otherwise(None).alias("hours"),
        (pl.col("outcome").is_in(list(ABANDONED_OUTCOMES)) & ~pl.col("merged").fill_null(False))
        .alias("abandoned"),
    ).rename({"actor": "reviewer"})
    member = ctx.membership().select("person_id", "unit_id")
    known = set(member["person_id"].to_list())
    shared = (
        pairs.select("reviewer", "author").unique()
        .join(member.rename({"person_id": "reviewer"}), on="reviewer")
        .join(member.rename({"person_id": "author"}), on=["author", "unit_id"])
        .select("reviewer", "author").unique().with_columns(pl.lit(True).alias("inside"))
    )
    return (
        pairs.filter(pl.col("reviewer").is_in(sorted(known)) & pl.col("author").is_in(sorted(known)))
        .join(shared, on=["reviewer", "author"], how="left")
        .with_columns((~pl.col("inside").fill_null(False)).alias("outside"))
        .select(list(schema))
        .sort("reviewer", "artifact_id")
    )


def _fisher_many(a_yes: np.ndarray, a_n: np.ndarray, b_yes: np.ndarray, b_n: np.ndarray
                 ) -> np.ndarray:
    """Two-sided Fisher exact p-values of the tables ``[[a_yes, a_n - a_yes], [b_yes, b_n -
    b_yes]]``, all at once: the same values as ``scipy.stats.fisher_exact`` table by table.

    scipy's 2x2 test takes the hypergeometric tail on the observed side of the mode and finds
    the other tail's end by a binary search over the pmf; here every table's search runs in
    step, each probe one vectorized pmf call, so the probes, and the p-values, are those of
    scipy's own loop (a test compares them bit for bit). A table with an empty row is ``nan``,
    one with an empty column ``1.0``. About 0.3 ms per table in scipy, called per reviewer.
    """
    from scipy.stats import hypergeom

    a_yes, a_n, b_yes, b_n = (np.asarray(v, dtype=np.int64) for v in (a_yes, a_n, b_yes, b_n))
    out = np.full(a_yes.shape, np.nan)
    rows = (a_n > 0) & (b_n > 0)
    col = a_yes + b_yes
    out[rows & ((col == 0) | (col == a_n + b_n))] = 1.0
    todo = np.flatnonzero(rows & (col > 0) & (col < a_n + b_n))
    if todo.size == 0:
        return out
    x, n1, n = a_yes[todo], a_n[todo], col[todo]
    total = n1 + b_n[todo]

    def pmf(k: np.ndarray, sel: np.ndarray) -> np.ndarray:
        return np.asarray(hypergeom.pmf(k, total[sel], n1[sel], n[sel]), dtype=np.float64)

    every = np.arange(todo.size)
    mode = ((n + 1) * (n1 + 1) / (total + 2)).astype(np.int64)
    pexact, pmode = pmf(x, every), pmf(mode, every)
    gamma = 1 + 1e-14
    p = np.empty(todo.size)
    at_mode = np.abs(pexact - pmode) / np.maximum(pexact, pmode) <= 1e-14
    p[at_mode] = 1.0
    lower = ~at_mode & (x < mode)
    upper = ~at_mode & ~lower
    # The tail on the observed side.
    tail = np.zeros(todo.size)
    tail[lower] = hypergeom.cdf(x[lower], total[lower], n1[lower], n[lower])
    tail[upper] = hypergeom.sf(x[upper] - 1, total[upper], n1[upper], n[upper])
    # No other tail when the far end of the support is already above the observed pmf.
    far = np.where(lower, n, 0)
    alone = (lower | upper) & (pmf(far, every) > pexact * gamma)
    p[alone] = tail[alone]
    search = np.flatnonzero((lower | upper) & ~alone)
    if search.size:
        # scipy's _binary_search: a(i) <= d < a(i+1), with a = -pmf (lower) or pmf (upper).
        sign = np.where(lower[search], -1.0, 1.0)
        d = sign * pexact[search] * gamma
        lo = np.where(lower[search], mode[search], 0)
        hi = np.where(lower[search], n[search], mode[search])
        found = np.full(search.size, -1, dtype=np.int64)
        live = lo < hi
        while live.any():
            idx = np.flatnonzero(live)
            mid = lo[idx] + (hi[idx] - lo[idx]) // 2
            val = sign[idx] * pmf(mid, search[idx])
            below, above = val < d[idx], val > d[idx]
            lo[idx[below]] = mid[below] + 1
            hi[idx[above]] = mid[above] - 1
            hit = ~below & ~above
            found[idx[hit]] = mid[hit]
            live[idx[hit]] = False
            live &= lo < hi
        rest = found < 0
        if rest.any():
            idx = np.flatnonzero(rest)
            val = sign[idx] * pmf(lo[idx], search[idx])
            found[idx] = np.where(val <= d[idx], lo[idx], lo[idx] - 1)
        s_low = lower[search]
        other = np.empty(search.size)
        sl, su = search[s_low], search[~s_low]
        other[s_low] = hypergeom.sf(found[s_low], total[sl], n1[sl], n[sl])
        other[~s_low] = hypergeom.cdf(found[~s_low], total[su], n1[su], n[su])
        p[search] = tail[search] + other
    out[todo] = np.minimum(p, 1.0)
    return out


def _median(values: pl.Expr) -> pl.Expr:
    """The median of the non-null ``values`` as ``numpy.median`` computes it (the mean of the
    two middle values, ``(a + b) / 2``; polars' own median may differ in the last bit), null
    when there are none."""
    ordered = values.drop_nulls().sort()
    n = ordered.len()
    return (ordered.get((n - 1) // 2, null_on_oob=True)
            + ordered.get(n // 2, null_on_oob=True)) / 2


def _mannwhitney_many(samples: pl.DataFrame) -> pl.DataFrame:
    """Two-sided Mann-Whitney U p-values of many pairs of samples at once: per group, the value
    ``scipy.stats.mannwhitneyu(x, y, alternative="two-sided")`` gives when both samples have
    more than 8 values (scipy's own choice of its asymptotic method there).

    ``samples`` has one row per value: ``g`` (group), ``x`` (true for the first sample, false
    for the second) and ``v`` (the value, not null). The ranks (average for ties), the tie
    correction, the continuity correction and the normal tail are scipy's, in scipy's order of
    operations: the p-values are the same bit for bit (a test compares them), without scipy's
    per-call overhead (3 ms a call, once per reviewer: 6 s of 8.6 at 10,000 people).

    Returns
    -------
    pl.DataFrame
        ``g, n1, n2, p``, one row per group; ``p`` is null where a sample has 8 values or fewer
        (scipy may then use its exact distribution: the caller decides).
    """
    x = pl.col("x")
    ties = (samples.group_by("g", "v").len()
            .group_by("g").agg((pl.col("len").cast(pl.Float64) ** 3 - pl.col("len"))
                              .sum().alias("tie")))
    agg = (samples.with_columns(pl.col("v").rank("average").over("g").alias("_r"))
           .group_by("g").agg(x.sum().cast(pl.Int64).alias("n1"),
                              (~x).sum().cast(pl.Int64).alias("n2"),
                              pl.col("_r").filter(x).sum().cast(pl.Float64).alias("r1"))
           .join(ties, on="g", how="left"))
    n1, n2 = agg["n1"].to_numpy(), agg["n2"].to_numpy()
    r1, tie = agg["r1"].to_numpy(), agg["tie"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        u1 = r1 - n1 * (n1 + 1) / 2
        u2 = n1 * n2 - u1
        u = np.maximum(u1, u2)
        mu = n1 * n2 / 2
        n = n1 + n2
        s = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie / (n * (n - 1))))
        z = (u - mu - 0.5) / s
    p = np.clip(ndtr(-z) * 2, 0.0, 1.0)
    big = (n1 > 8) & (n2 > 8)
    return agg.select("g", "n1", "n2").with_columns(
        pl.Series("p", np.where(big, p, np.nan)).fill_nan(None))


@memoized
def outsider_friction(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    min_changes: int = 10,
) -> pl.DataFrame:
    """How each reviewer treats changes from outside their unit compared with their own unit's.

    A reviewer's changes are those they reviewed (any review event, including review trailers);
    a change is *outside* when its author shares no unit (at ``unit_kind``) with the reviewer.
    Pairs where either side has no unit are left out, as are self-reviews.

    * Time to first review: from the change's ``opened_at`` to the reviewer's first review event
      on it (trailers excluded). Only for change artifacts (pull/merge requests, Gerrit changes);
      commits carry no review timestamps, so git-trailer data has no latencies (``n_latency_*``
      are 0 and the latency columns null).
    * Changes requested: the reviewer gave ``review_changes_requested`` on the change.
    * Abandoned: the change ended ``abandoned`` or ``closed`` without merging.

    Tests (only when both sides have ``>= min_changes`` changes, else null): two-sided
    Mann-Whitney U on the latencies, two-sided Fisher exact on the two rates; each family is
    Benjamini-Hochberg adjusted across the reviewers tested (``q_*``).

    Parameters
    ----------
    data
        A dataset or an analysis context.
    window, unit_kind
        Events considered and the formal level defining inside/outside.
    min_changes
        Minimum changes on each side for a test.

    Returns
    -------
    pl.DataFrame
        One row per reviewer with at least one classified change (sorted by ``person_id``):
        ``person_id``, ``unit_id`` (main unit), ``n_outside``, ``n_inside`` (changes),
        ``n_latency_outside``, ``n_latency_inside`` (changes with a latency),
        ``median_hours_outside``, ``median_hours_inside``, ``latency_ratio`` (outside / inside
        median; null when the inside median is 0 or missing), ``changes_requested_rate_outside``,
        ``changes_requested_rate_inside``, ``changes_requested_diff`` (outside - inside),
        ``abandoned_rate_outside``, ``abandoned_rate_inside``, ``abandoned_diff``,
        ``p_latency``, ``p_changes_requested``, ``p_abandoned`` and their BH-adjusted
        ``q_latency``, ``q_changes_requested``, ``q_abandoned``.
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    pairs = _review_pairs(ctx)
    if pairs.height == 0:
        return pl.DataFrame(schema=OUTSIDER_FRICTION_SCHEMA)
    side = pl.col("outside")
    hours = pl.col("hours")
    agg = pairs.group_by("reviewer").agg(
        side.sum().cast(pl.Int64).alias("n_outside"),
        (~side).sum().cast(pl.Int64).alias("n_inside"),
        hours.filter(side).count().cast(pl.Int64).alias("n_latency_outside"),
        hours.filter(~side).count().cast(pl.Int64).alias("n_latency_inside"),
        _median(hours.filter(side)).alias("median_hours_outside"),
        _median(hours.filter(~side)).alias("median_hours_inside"),
        pl.col("changes_requested").filter(side).sum().cast(pl.Int64).alias("cr_out"),
        pl.col("changes_requested").filter(~side).sum().cast(pl.Int64).alias("cr_in"),
        pl.col("abandoned").filter(side).sum().cast(pl.Int64).alias("ab_out"),
        pl.col("abandoned").filter(~side).sum().cast(pl.Int64).alias("ab_in"),
    ).sort("reviewer")
    home = ctx.home_unit()
    counts = {c: agg.get_column(c).to_numpy() for c in ("n_outside", "n_inside", "cr_out",
                                                          "cr_in", "ab_out", "ab_in")}
    p_crs = _fisher_many(counts["cr_out"], counts["n_outside"], counts["cr_in"], counts["n_inside"])
    p_abs = _fisher_many(counts["ab_out"], counts["n_outside"], counts["ab_in"], counts["n_inside"])
    # Latency test: reviewers with enough changes on both sides and enough latencies on each.
    tested = (agg.filter((pl.col("n_outside") >= min_changes) & (pl.col("n_inside") >= min_changes)
                         & (pl.col("n_latency_outside") >= min_changes)
                         & (pl.col("n_latency_inside") >= min_changes))
              .get_column("reviewer"))
    samples = (pairs.filter(pl.col("reviewer").is_in(tested.implode()) & hours.is_not_null())
               .select(pl.col("reviewer").alias("g"), side.alias("x"), hours.alias("v")))
    lat = _mannwhitney_many(samples)
    p_lat: dict[str, float | None] = dict(zip(lat["g"].to_list(), lat["p"].to_list(), strict=True))
    small = lat.filter(pl.col("p").is_null())["g"]
    if small.len():  # samples of 8 or fewer (min_changes below 9): scipy decides its method
        parts = samples.filter(pl.col("g").is_in(small.implode())).partition_by(
            "g", "x", as_dict=True)
        for g in small.to_list():
            x, y = parts.get((g, True)), parts.get((g, False))
            # A side without latencies (only with min_changes 0): scipy's p is nan, null here.
            p_lat[g] = None if x is None or y is None else float(mannwhitneyu(
                x["v"].to_numpy(), y["v"].to_numpy(), alternative="two-sided").pvalue)
    rows = []
    for k, r in enumerate(agg.iter_rows(named=True)):
        n_o, n_i = r["n_outside"], r["n_inside"]
        med_o, med_i = r["median_hours_outside"], r["median_hours_inside"]
        ratio = med_o / med_i if med_o is not None and med_i else None
        tested_k = n_o >= min_changes and n_i >= min_changes
        p_cr = float(p_crs[k]) if tested_k else None
        p_ab = float(p_abs[k]) if tested_k else None

        def rate(k: int, n: int) -> float | None:
            return k / n if n else None

        cr_o, cr_i = rate(r["cr_out"], n_o), rate(r["cr_in"], n_i)
        ab_o, ab_i = rate(r["ab_out"], n_o), rate(r["ab_in"], n_i)
        rows.append({
            "person_id": r["reviewer"], "unit_id": home.get(r["reviewer"]),
            "n_outside": n_o, "n_inside": n_i,
            "n_latency_outside": r["n_latency_outside"], "n_latency_inside": r["n_latency_inside"],
            "median_hours_outside": med_o, "median_hours_inside": med_i, "latency_ratio": ratio,
            "changes_requested_rate_outside": cr_o, "changes_requested_rate_inside": cr_i,
            "changes_requested_diff": cr_o - cr_i if cr_o is not None and cr_i is not None else None,
            "abandoned_rate_outside": ab_o, "abandoned_rate_inside": ab_i,
            "abandoned_diff": ab_o - ab_i if ab_o is not None and ab_i is not None else None,
            "p_latency": p_lat.get(r["reviewer"]), "p_changes_requested": p_cr,
            "p_abandoned": p_ab,
        })
    frame = pl.DataFrame(rows, schema={k: v for k, v in OUTSIDER_FRICTION_SCHEMA.items()
                                       if not k.startswith("q_")})
    qs = {f"q_{name}": benjamini_hochberg(frame[f"p_{name}"].to_list())
          for name in ("latency", "changes_requested", "abandoned")}
    return (
        frame.with_columns(*(pl.Series(k, v) for k, v in qs.items()))
        .with_columns(pl.col("^[pq]_.*$").fill_nan(None))
        .select(list(OUTSIDER_FRICTION_SCHEMA))
        .cast(OUTSIDER_FRICTION_SCHEMA)  # type: ignore[arg-type]
        .sort("person_id")
    )


def find_gatekeeper(
    ctx: AnalysisContext,
    *,
    min_changes: int = 10,
    min_ratio: float = 2.0,
    min_rate_diff: float = 0.2,
    alpha: float = 0.01,
    fallback_min_share: float = 0.2,
    fallback_min_events: int = 50,
    fallback_min_z: float = 2.0,
) -> list[Finding]:
    """Reviewers who are markedly slower or harsher with other units' changes.

    **Friction mode** (the data has review timestamps relative to change opening: at least one
    reviewed change with a time to first review): a reviewer is raised with ``>= min_changes``
    changes on each side, and either latency ratio ``>= min_ratio`` with ``q_latency < alpha``,
    or changes-requested rate difference ``>= min_rate_diff`` with
    ``q_changes_requested < alpha``. Severity: ``effect = max(log2(ratio)/3, diff/0.5)`` of the
    qualifying effects (capped at 1), ``strength = min(1, -log10(q)/6)`` of the smallest
    qualifying q; ``severity = 0.3 + 0.4·effect + 0.3·strength``.

    **Fallback mode** (no such timestamps - git trailers or bors ``r=`` only): a person is raised
    when they give ``>= fallback_min_share`` of all gate events (``review_approved``,
    ``Acked-by``) in the window, over ``>= fallback_min_events`` events, and their
    Gould-Fernandez gatekeeper z-score (review + communication graph, units as groups) is
    ``>= fallback_min_z``. Evidence carries ``method: "fallback_gate_share"`` and the reason.
    Severity: ``min(0.9, 0.3 + 0.5·min(1, (share - min_share)/0.5) + 0.2·min(1, (z - min_z)/4))``
    (capped below 1: weaker evidence than measured friction).
    """
    fc = ctx.finding_context()
    friction = outsider_friction(ctx, min_changes=min_changes)
    has_latency = friction.height > 0 and int(
        (friction["n_latency_outside"] + friction["n_latency_inside"]).sum()) > 0
    out: list[Finding] = []
    if has_latency:
        eligible = friction.filter((pl.col("n_outside") >= min_changes)
                                   & (pl.col("n_inside") >= min_changes))
        for r in eligible.iter_rows(named=True):
            slow = (r["latency_ratio"] is not None and r["latency_ratio"] >= min_ratio
                    and r["q_latency"] is not None and r["q_latency"] < alpha)
            harsh = (r["changes_requested_diff"] is not None
                     and r["changes_requested_diff"] >= min_rate_diff
                     and r["q_changes_requested"] is not None and r["q_changes_requested"] < alpha)
            if not (slow or harsh):
                continue
            effects, qs = [], []
            if slow:
                effects.append(math.log2(r["latency_ratio"]) / 3)
                qs.append(r["q_latency"])
            if harsh:
                effects.append(r["changes_requested_diff"] / 0.5)
                qs.append(r["q_changes_requested"])
            effect = min(1.0, max(effects))
            strength = min(1.0, -math.log10(max(min(qs), 1e-300)) / 6)
            severity = 0.3 + 0.4 * effect + 0.3 * strength
            who = fc.person(r["person_id"])
            unit = fc.unit(r["unit_id"]) if r["unit_id"] else "their unit"
            parts = []
            if slow:
                parts.append(f"takes {r['latency_ratio']:.1f}x longer to first review changes from "
                             f"outside {unit} ({r['median_hours_outside']:.0f} h vs "
                             f"{r['median_hours_inside']:.0f} h)")
            if harsh:
                parts.append(f"requests changes on {r['changes_requested_rate_outside']:.0%} of them "
                             f"vs {r['changes_requested_rate_inside']:.0%} for insiders")
            title = f"{who} " + " and ".join(parts) + "."
            evidence = {k: v for k, v in r.items() if k not in ("person_id",)}
            evidence["method"] = "outsider_friction"
            out.append(make_finding("gatekeeper", severity, title, people=[r["person_id"]],
                                    units=[r["unit_id"]] if r["unit_id"] else [], evidence=evidence,
                                    ctx=fc))
        return out
    shares = gate_share(ctx, by="all")
    total_gates = shares["area_gate_events"].max() if shares.height else 0
    if not isinstance(total_gates, int) or total_gates < fallback_min_events:
        return out
    gf = gould_fernandez(ctx).select("person_id", "gatekeeper", "exp_gatekeeper", "z_gatekeeper")
    cand = shares.filter(pl.col("share") >= fallback_min_share).join(gf, on="person_id", how="left")
    for r in cand.iter_rows(named=True):
        z = r["z_gatekeeper"]
        if z is None or z < fallback_min_z:
            continue
        severity = min(0.9, 0.3 + 0.5 * min(1.0, (r["share"] - fallback_min_share) / 0.5)
                       + 0.2 * min(1.0, (z - fallback_min_z) / 4))
        who = fc.person(r["person_id"])
        unit = fc.unit(r["unit_id"]) if r["unit_id"] else "their unit"
        title = (f"{who} gives {r['share']:.0%} of all {r['area_gate_events']:,} approvals and acks "
                 f"and sits on {r['gatekeeper']:,} paths into {unit} from outside it, about "
                 f"{r['exp_gatekeeper']:.0f} expected by chance.")
        evidence = {
            "method": "fallback_gate_share",
            "reason": "no review timestamps relative to change opening (trailer or r= data only): "
                      "gate-event share and Gould-Fernandez gatekeeper z-score used instead of "
                      "outsider/insider latency",
            "gate_events": r["gate_events"], "all_gate_events": r["area_gate_events"],
            "share": r["share"], "gatekeeper_brokerage": r["gatekeeper"],
            "expected_gatekeeper_brokerage": r["exp_gatekeeper"], "z_gatekeeper": z,
            "unit_id": r["unit_id"],
        }
        out.append(make_finding("gatekeeper", severity, title, people=[r["person_id"]],
                                units=[r["unit_id"]] if r["unit_id"] else [], evidence=evidence, ctx=fc))
    return out
