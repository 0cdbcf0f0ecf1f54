"""Ownership and knowledge (ANALYSES §6): who changes each owned area, knowledge islands, drift.

Areas
-----
An *area* is what an ownership rule owns, evaluated with :class:`orgnet.ownership.OwnershipResolver`
exactly as each file format's tooling does:

- CODEOWNERS: one area per pattern (the last matching rule wins, so each path is in at most one
  CODEOWNERS area per file); its owners are the rule's owners (team handles map to org-chart units).
- MAINTAINERS: one area per section; the section's unit (people in ``memberships``) owns it.
  Sections nest (an x86/mm file is in *X86 MEMORY* and *X86 ARCHITECTURE*), so with the default
  ``area="owner"`` a path counts in every section that owns it, as ``get_maintainer.pl`` lists them.
- OWNERS: one area per directory holding an OWNERS file; inherited owners make the parent
  directories' areas overlap the child's.
- Paths no rule owns: the directory made of their first ``depth`` components
  (``services/payments/api/x.py`` -> ``services/payments`` at depth 2; a root file -> ``/``).

``area="primary"`` keeps only the most specific area of each path (longest MAINTAINERS pattern,
nearest OWNERS directory, longest CODEOWNERS pattern; ties by area id), so areas partition the paths.
``area="directory"`` ignores the rules and uses directories for every path.

Measures
--------
- Changes: distinct artifacts (commits, pull requests, patches) of the window touching the area,
  from the ``touches`` table; each is credited to its author (the touch's actor, resolved to a
  person through identity resolution). Bots are excluded (``GraphOptions.exclude_bots``).
- ``main_share``: the main contributor's share of the area's changes (Mockus, Fielding and
  Herbsleb 2002 measure ownership as the share of changes; Bird et al. 2011 call the top author's
  share of commits *ownership*).
- ``truck_factor``: the simple *change-share* variant: the fewest people who together made at least
  half of the area's changes (greedy by number of changes, which is exact for this variant). Avelino
  et al. (2016) work per file with a degree-of-authorship model that needs each file's creation
  history; the ``touches`` table carries no file creation events, so that variant is not computed.
- ``owner_share``: share of the area's changes made by the owners: members of an owning unit (or of
  one of its sub-units) **at the time of the change** (``membership="change"``, the default) or at
  the context's formal date (``membership="formal"``), plus people listed as owners by name.
  Membership rows whose dates are only snapshot or unknown precision (MAINTAINERS, one HRIS
  snapshot) that are the first snapshot of their unit are taken to hold since before the data:
  the first picture of a structure is the best evidence about the time before it.
- ``top_outside_unit`` / ``top_outside_share``: among changes not made by owners, the unit (of the
  owning unit's kind, or ``unit_kind`` when given) whose members made the most of them; a person in
  several units of that kind splits the change equally. ``shadow_owners``: the people outside the
  owning units who made the most changes (at least ``shadow_min_share`` of the area each).

Findings
--------
``knowledge_island``: one person made >= 80% of the changes to an active area (>= 10 changes in the
window) and the one-sided binomial test of "this person made at most half of the changes"
(p0 = 0.5) is rejected at q < 0.05 after Benjamini-Hochberg over every active area. Random spread
over several contributors gives shares near 1/k, which neither the share threshold nor the test
accepts.

``ownership_drift``: the owners made < 20% of the changes to an owned area with >= 10 changes, and
the one-sided binomial test of "the owners made at least half of the changes" is rejected at
q < 0.05 (Benjamini-Hochberg over every owned active area). Catch-all rules (``*``, ``*/``, a root
OWNERS file: THE REST, a default CODEOWNERS owner) are not reported: nobody is expected to make
most changes everywhere. Unit-level: an owning unit with fewer members than the privacy threshold
is not reported, and an outside unit below it is not named (nor one making < 25% of the changes).
Expect this finding on MAINTAINERS sections of mailing-list projects, where maintainers mostly
review (``Acked-by``) rather than author: the owners' share counts authorship only.

Severities
----------
- knowledge_island: ``(main_share - 0.5) / 0.5 * min(1, log10(n_changes) / 2)``.
- ownership_drift: ``(1 - owner_share / 0.2) * min(1, log10(n_changes) / 2)``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from typing import Final, Literal

import numpy as np
import polars as pl
from scipy.stats import binom

from orgnet.analysis._context import AnalysisContext, ensure_context
from orgnet.dataset import Dataset, Window
from orgnet.findings import Finding, FindingContext, make_finding
from orgnet.graph.formal import INACTIVE_ROLES, unit_ancestors
from orgnet.ownership import OwnershipResolver
from orgnet.schema import UTC_TS, frame_schema

__all__ = [
    "AREA_SCHEMA",
    "area_ownership",
    "benjamini_hochberg",
    "find_knowledge_island",
    "find_ownership_drift",
]

AreaMode = Literal["owner", "primary", "directory"]
MembershipMode = Literal["change", "formal"]

AREA_SCHEMA: Final = frame_schema({
    "area_id": pl.String,
    "area": pl.String,
    "area_kind": pl.String,
    "container": pl.String,
    "source_file": pl.String,
    "catch_all": pl.Boolean,
    "n_paths": pl.Int64,
    "n_changes": pl.Int64,
    "n_contributors": pl.Int64,
    "main_contributor": pl.String,
    "main_changes": pl.Int64,
    "main_share": pl.Float64,
    "truck_factor": pl.Int64,
    "owning_unit": pl.String,
    "owning_units": pl.List(pl.String),
    "owner_people": pl.List(pl.String),
    "owning_unit_size": pl.Int64,
    "owner_changes": pl.Int64,
    "owner_share": pl.Float64,
    "top_outside_unit": pl.String,
    "top_outside_changes": pl.Float64,
    "top_outside_share": pl.Float64,
    "shadow_owners": pl.List(pl.String),
    "shadow_shares": pl.List(pl.Float64),
    "first_change": UTC_TS,
    "last_change": UTC_TS,
})

#: Display names of the rule systems in titles.
_SOURCE_NAMES: Final = {"codeowners": "CODEOWNERS", "maintainers": "MAINTAINERS", "owners": "OWNERS"}


# -- statistics ---------------------------------------------------------------------------------


def benjamini_hochberg(pvalues: np.ndarray | list[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order.

    ``q_(i) = min_{j >= i} p_(j) * m / j`` over the sorted p-values, clipped to 1.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m, dtype=np.float64)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def _activity(n: int) -> float:
    """Evidence weight of ``n`` changes: ``log10(n) / 2`` capped at 1 (10 -> 0.5, 100+ -> 1)."""
    return min(1.0, math.log10(max(n, 1)) / 2.0)


# -- inputs -------------------------------------------------------------------------------------


def _touches(ctx: AnalysisContext) -> pl.DataFrame:
    """Touches of the window: ``artifact_id, person, path, container ("" when unknown), ts``."""
    data = ctx.data
    idmap = data.identity_map().lazy().select(
        pl.col("identity_id").alias("actor_id"), pl.col("person_id").alias("person"),
        pl.col("is_bot").alias("bot"),
    )
    t = (
        data.touches.filter(ctx.window.expr("ts"))
        .select("artifact_id", "actor_id", "path", "ts")
        .join(idmap, on="actor_id", how="left")
        .with_columns(pl.coalesce("person", "actor_id").alias("person"),
                      pl.col("bot").fill_null(False))
    )
    if ctx.options.exclude_bots:
        t = t.filter(~pl.col("bot"))
    arts = data.artifacts.lazy().select("artifact_id", "container").unique("artifact_id", keep="first")
    return (
        t.drop_nulls(["person", "path", "artifact_id"])
        .join(arts, on="artifact_id", how="left")
        .with_columns(pl.col("container").fill_null(""))
        .select("artifact_id", "person", "path", "container", "ts")
        .collect()
    )


def _directory(depth: int) -> pl.Expr:
    """The first ``depth`` directory components of ``path`` (``/`` for a root file)."""
    parts = pl.col("path").str.strip_chars_start("/").str.split("/")
    dirs = parts.list.slice(0, pl.min_horizontal(parts.list.len() - 1, pl.lit(depth)))
    joined = dirs.list.join("/")
    return pl.when(joined == "").then(pl.lit("/")).otherwise(joined)


def _rule_areas(ownership: pl.DataFrame, units: pl.DataFrame) -> pl.DataFrame:
    """Area of every ownership rule: ``rule_id, area_id, area, area_kind, source_file, priority,
    catch_all``."""
    o = ownership.with_columns(pl.col("container").fill_null(""), pl.col("source_file").fill_null(""))
    owners_dir = (
        pl.col("pattern").str.replace(r"\{(?:re|glob):.*\}$", "").str.strip_chars("/")
    )
    key = (
        pl.when(pl.col("source") == "codeowners")
        .then(pl.col("source_file") + ":" + pl.col("pattern"))
        .when(pl.col("source") == "maintainers")
        .then(pl.coalesce("owner_unit_id", "owner_handle", "rule_id"))
        .when(pl.col("source") == "owners")
        .then(owners_dir)
        .otherwise(pl.col("rule_id"))
    )
    names = units.select(pl.col("unit_id").alias("owner_unit_id"), pl.col("name").alias("unit_name"))
    label = (
        pl.when(pl.col("source") == "codeowners")
        .then(pl.col("pattern").str.strip_chars_start("/"))
        .when(pl.col("source") == "maintainers")
        .then(pl.coalesce("unit_name", "owner_handle", "owner_unit_id", "pattern"))
        .when(pl.col("source") == "owners")
        .then(pl.when(owners_dir == "").then(pl.lit("/")).otherwise(owners_dir))
        .otherwise(pl.col("pattern"))
    )
    priority = (
        pl.when(pl.col("source") == "owners").then(owners_dir.str.len_chars() + 1)
        .otherwise(pl.col("pattern").str.len_chars())
    )
    wildcard = (pl.col("source") != "owners") & pl.col("pattern").str.strip_chars("/").str.contains(r"^\**$")
    catch = (wildcard | ((pl.col("source") == "owners") & (owners_dir == ""))) & ~pl.col("negate").fill_null(
        False)
    out = (
        o.join(names, on="owner_unit_id", how="left")
        .with_columns(
            (pl.col("source") + ":" + pl.col("container") + ":" + key).alias("area_id"),
            label.alias("area"),
            pl.col("source").alias("area_kind"),
            priority.cast(pl.Int64).alias("priority"),
            catch.alias("catch"),
        )
    )
    any_catch = out.group_by("area_id").agg(pl.col("catch").any().alias("catch_all"))
    return out.join(any_catch, on="area_id").select(
        "rule_id", "area_id", "area", "area_kind", "source_file", "priority", "catch_all"
    )


def _path_areas(
    ctx: AnalysisContext, paths: pl.DataFrame, area: AreaMode, depth: int,
    unit_mapping: Mapping[str, str] | None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Map distinct ``(path, container)`` to areas.

    Returns ``(path_area, area_info, area_units, area_people)``: path_area ``path, container,
    area_id``; area_info ``area_id, area, area_kind, container, source_file, catch_all``;
    area_units ``area_id, unit_id``; area_people ``area_id, person``.
    """
    data = ctx.data
    info_schema = {"area_id": pl.String, "area": pl.String, "area_kind": pl.String,
                   "container": pl.String, "source_file": pl.String, "catch_all": pl.Boolean}
    owned = pl.DataFrame(schema={"path": pl.String, "container": pl.String, "area_id": pl.String})
    info = pl.DataFrame(schema=info_schema)
    units = pl.DataFrame(schema={"area_id": pl.String, "unit_id": pl.String})
    people = pl.DataFrame(schema={"area_id": pl.String, "person": pl.String})
    if area != "directory" and data.ownership.height and paths.height:
        resolver = OwnershipResolver(data.ownership, data.units, data.identities,
                                     unit_mapping=unit_mapping)
        query = paths.with_columns(
            pl.when(pl.col("container") == "").then(None).otherwise(pl.col("container")).alias("container")
        )
        assigned = resolver.assign(query).with_columns(pl.col("container").fill_null(""))
        rules = _rule_areas(data.ownership, data.units)
        rows = assigned.join(rules, on="rule_id", how="inner")
        if area == "primary":
            best = (
                rows.select("path", "container", "area_id", "priority")
                .unique()
                .sort(["path", "container", "priority", "area_id"], descending=[False, False, True, False])
                .unique(["path", "container"], keep="first")
                .select("path", "container", "area_id")
            )
            rows = rows.join(best, on=["path", "container", "area_id"], how="semi")
        owned = rows.select("path", "container", "area_id").unique()
        info = (
            rows.select("area_id", "area", "area_kind", "container", "source_file", "catch_all")
            .unique("area_id", keep="first")
            .cast(info_schema)  # type: ignore[arg-type]
        )
        units = (
            rows.select("area_id", pl.col("owner_unit_id").alias("unit_id")).drop_nulls().unique()
        )
        people = (
            rows.select("area_id", pl.col("owner_person_id").alias("person")).drop_nulls().unique()
        )
    rest = paths.join(owned.select("path", "container"), on=["path", "container"], how="anti")
    if rest.height:
        dirs = rest.with_columns(_directory(depth).alias("area")).with_columns(
            ("directory:" + pl.col("container") + ":" + pl.col("area")).alias("area_id")
        )
        owned = pl.concat([owned, dirs.select("path", "container", "area_id")])
        info = pl.concat([info, dirs.select(
            "area_id", "area", pl.lit("directory").alias("area_kind"), "container",
            pl.lit(None, dtype=pl.String).alias("source_file"), pl.lit(False).alias("catch_all"),
        ).unique("area_id", keep="first")])
    return owned, info, units, people


def _members(ctx: AnalysisContext, membership: MembershipMode) -> pl.DataFrame:
    """Membership intervals at every level: ``person, unit_id, unit_kind, valid_from, valid_to``."""
    data = ctx.data
    m = data.memberships.filter(
        ~pl.col("role").is_in(sorted(INACTIVE_ROLES)) & pl.col("person_id").is_not_null()
    )
    undated = pl.col("precision").is_in(["snapshot", "unknown"])
    first = pl.col("valid_from").filter(undated).min().over("unit_id")
    m = m.with_columns(
        pl.when(undated & (pl.col("valid_from") == first)).then(None)
        .otherwise(pl.col("valid_from")).alias("valid_from")
    )
    if membership == "formal":
        day = ctx.formal_date()
        m = m.filter(
            (pl.col("valid_from").is_null() | (pl.col("valid_from") <= day))
            & (pl.col("valid_to").is_null() | (pl.col("valid_to") > day))
        ).with_columns(pl.lit(None, dtype=pl.Date).alias("valid_from"),
                       pl.lit(None, dtype=pl.Date).alias("valid_to"))
    anc = unit_ancestors(data.units).select("unit_id", "ancestor_id", "ancestor_kind")
    return (
        m.select(pl.col("person_id").alias("person"), "unit_id", "valid_from", "valid_to")
        .join(anc, on="unit_id", how="left")
        .select(
            "person",
            pl.coalesce("ancestor_id", "unit_id").alias("unit_id"),
            pl.col("ancestor_kind").alias("unit_kind"),
            "valid_from", "valid_to",
        )
        .unique()
    )


def _valid_on(day: pl.Expr) -> pl.Expr:
    return (pl.col("valid_from").is_null() | (pl.col("valid_from") <= day)) & (
        pl.col("valid_to").is_null() | (pl.col("valid_to") > day)
    )


def _unit_sizes_now(ctx: AnalysisContext, members: pl.DataFrame) -> dict[str, int]:
    """People per unit (any level) at the context's formal date."""
    day = ctx.formal_date()
    sized = members.filter(_valid_on(pl.lit(day))).group_by("unit_id").agg(
        pl.col("person").n_unique().alias("size"))
    return {str(u): int(s) for u, s in sized.iter_rows()}


# -- the analysis -------------------------------------------------------------------------------


def area_ownership(
    data: Dataset | AnalysisContext,
    *,
    window: Window | None = None,
    unit_kind: str | None = None,
    area: AreaMode = "owner",
    depth: int = 2,
    membership: MembershipMode = "change",
    unit_mapping: Mapping[str, str] | None = None,
    n_shadow: int = 3,
    shadow_min_share: float = 0.1,
) -> pl.DataFrame:
    """Who changes each owned area: contributors, main contributor, truck factor, owners' share.

    Parameters
    ----------
    data
        A dataset or an analysis context.
    window
        Changes considered (by touch time).
    unit_kind
        Level of the units an outside contributor is counted under (``top_outside_unit``); default:
        the kind of the area's owning units (teams for CODEOWNERS team handles, sections for
        MAINTAINERS), else the context's ``unit_kind``.
    area
        ``"owner"`` (every rule owning a path; nested sections overlap), ``"primary"`` (only the
        most specific rule of each path) or ``"directory"`` (directories only). Paths without an
        owner always fall into directory areas.
    depth
        Directory depth of the areas of unowned paths.
    membership
        ``"change"``: owners are the owning units' members on the day of each change; ``"formal"``:
        members at the context's formal date.
    unit_mapping
        Owner handle -> unit id (see :func:`orgnet.ownership.load_unit_mapping`).
    n_shadow, shadow_min_share
        At most ``n_shadow`` shadow owners per area, each with at least this share of its changes.

    Returns
    -------
    pl.DataFrame
        One row per area with at least one change in the window, sorted by ``n_changes``
        (descending) then ``area_id``:

        - ``area_id`` (``<kind>:<container>:<key>``), ``area`` (pattern, section name or
          directory), ``area_kind`` (``codeowners``, ``maintainers``, ``owners``, ``directory``),
          ``container``, ``source_file``, ``catch_all`` (a rule owning everything: ``*``, root OWNERS);
        - ``n_paths`` (distinct paths changed), ``n_changes`` (distinct artifacts),
          ``n_contributors``, ``main_contributor`` (person id; ties by id), ``main_changes``,
          ``main_share``, ``truck_factor`` (fewest people making >= 50% of the changes),
          ``first_change``, ``last_change``;
        - ``owning_unit`` (the owning unit whose members made the most changes; ties by id),
          ``owning_units`` and ``owner_people`` (all owners), ``owning_unit_size`` (members at the
          formal date), ``owner_changes``, ``owner_share`` (null without owners);
        - ``top_outside_unit``, ``top_outside_changes`` (fractional), ``top_outside_share``,
          ``shadow_owners`` (person ids) and ``shadow_shares`` (their shares of all changes).

    Notes
    -----
    Ownership as share of changes: Mockus, Fielding and Herbsleb (2002); Bird, Nagappan, Murphy,
    Gall and Devanbu (2011), "Don't touch my code!". Truck factor: the change-share variant of
    Avelino, Passos, Hora and Valente (2016) (see the module docstring).
    """
    ctx = ensure_context(data, window=window, unit_kind=unit_kind)
    mapping_key = tuple(sorted((unit_mapping or {}).items()))
    key = ("ownership.area_ownership", area, depth, unit_kind, ctx.unit_kind, ctx.at, membership,
           mapping_key, n_shadow, shadow_min_share)
    out: pl.DataFrame = ctx.cached(key, lambda: _area_ownership(
        ctx, unit_kind=unit_kind, area=area, depth=depth, membership=membership,
        unit_mapping=unit_mapping, n_shadow=n_shadow, shadow_min_share=shadow_min_share))
    return out


def _area_ownership(
    ctx: AnalysisContext, *, unit_kind: str | None, area: AreaMode, depth: int,
    membership: MembershipMode, unit_mapping: Mapping[str, str] | None, n_shadow: int,
    shadow_min_share: float,
) -> pl.DataFrame:
    if area not in ("owner", "primary", "directory"):
        raise ValueError(f"area must be 'owner', 'primary' or 'directory', not {area!r}")
    if membership not in ("change", "formal"):
        raise ValueError(f"membership must be 'change' or 'formal', not {membership!r}")
    touches = _touches(ctx)
    if touches.height == 0:
        return pl.DataFrame(schema=AREA_SCHEMA)
    paths = touches.select("path", "container").unique()
    path_area, info, area_units, area_people = _path_areas(ctx, paths, area, depth, unit_mapping)

    # Contributions: one row per (area, artifact, person).
    hits = touches.join(path_area, on=["path", "container"], how="inner")
    contrib = hits.group_by("area_id", "artifact_id", "person").agg(pl.col("ts").min())
    areas = (
        contrib.group_by("area_id").agg(
            pl.col("artifact_id").n_unique().alias("n_changes"),
            pl.col("person").n_unique().alias("n_contributors"),
            pl.col("ts").min().alias("first_change"),
            pl.col("ts").max().alias("last_change"),
        )
        .join(hits.group_by("area_id").agg(pl.col("path").n_unique().alias("n_paths")), on="area_id")
    )
    per_person = (
        contrib.group_by("area_id", "person").agg(pl.len().alias("changes"))
        .join(areas.select("area_id", "n_changes"), on="area_id")
        .sort(["area_id", "changes", "person"], descending=[False, True, False])
        .with_columns(pl.col("changes").cum_sum().over("area_id").alias("cum"))
    )
    main = (
        per_person.group_by("area_id", maintain_order=True).agg(
            pl.col("person").first().alias("main_contributor"),
            pl.col("changes").first().alias("main_changes"),
            ((pl.col("cum") - pl.col("changes")) < 0.5 * pl.col("n_changes")).sum()
            .alias("truck_factor"),
        )
    )

    # Owners: members of an owning unit on the day of the change, or people named as owners.
    members = _members(ctx, membership)
    day = pl.col("ts").dt.date()
    own_u = (
        contrib.join(area_units, on="area_id", how="inner")
        .join(members.select("person", "unit_id", "valid_from", "valid_to"), on=["person", "unit_id"],
              how="inner")
        .filter(_valid_on(day))
        .select("area_id", "artifact_id", "person", "unit_id")
        .unique()
    )
    own_p = contrib.join(area_people, on=["area_id", "person"], how="semi").select(
        "area_id", "artifact_id", "person")
    owner_rows = pl.concat([own_u.select("area_id", "artifact_id", "person"), own_p]).unique()
    owner_counts = owner_rows.group_by("area_id").agg(
        pl.col("artifact_id").n_unique().alias("owner_changes"))
    unit_counts = (
        area_units.join(own_u.group_by("area_id", "unit_id").agg(pl.col("artifact_id").n_unique()
                                                                 .alias("n")),
                        on=["area_id", "unit_id"], how="left")
        .with_columns(pl.col("n").fill_null(0))
        .sort(["area_id", "n", "unit_id"], descending=[False, True, False])
    )
    sizes = _unit_sizes_now(ctx, members)
    owning = unit_counts.group_by("area_id", maintain_order=True).agg(
        pl.col("unit_id").first().alias("owning_unit"),
        pl.col("unit_id").sort().alias("owning_units"),
    ).with_columns(
        pl.col("owning_unit").replace_strict(sizes, default=0, return_dtype=pl.Int64)
        .alias("owning_unit_size")
    )
    owner_people = area_people.group_by("area_id").agg(pl.col("person").sort().alias("owner_people"))
    has_owner = pl.concat([area_units.select("area_id"), area_people.select("area_id")]).unique()

    # Outside contributions: the units and people who are not owners.
    outside = contrib.join(owner_rows, on=["area_id", "artifact_id", "person"], how="anti").join(
        has_owner, on="area_id", how="semi")
    unit_kinds = dict(ctx.data.units.select("unit_id", "kind").iter_rows())
    area_kind = (
        area_units.with_columns(
            pl.col("unit_id").replace_strict(unit_kinds, default=None, return_dtype=pl.String)
            .alias("okind"))
        .group_by("area_id").agg(pl.col("okind").drop_nulls().unique().sort())
        .with_columns(
            pl.when(pl.col("okind").list.len() == 1).then(pl.col("okind").list.first())
            .otherwise(pl.lit(ctx.unit_kind)).alias("okind")
        )
    )
    if unit_kind is not None:
        area_kind = area_kind.with_columns(pl.lit(unit_kind).alias("okind"))
    outside_units = (
        outside.join(area_kind, on="area_id", how="left")
        .with_columns(pl.col("okind").fill_null(unit_kind or ctx.unit_kind))
        .join(members, on="person", how="inner")
        .filter((pl.col("unit_kind") == pl.col("okind")) & _valid_on(day))
        .join(area_units, on=["area_id", "unit_id"], how="anti")
        .select("area_id", "artifact_id", "person", "unit_id")
        .unique()
        .with_columns((1.0 / pl.len().over("area_id", "artifact_id", "person")).alias("w"))
        .group_by("area_id", "unit_id").agg(pl.col("w").sum().alias("top_outside_changes"))
        .sort(["area_id", "top_outside_changes", "unit_id"], descending=[False, True, False])
        .unique("area_id", keep="first", maintain_order=True)
        .rename({"unit_id": "top_outside_unit"})
    )
    shadow = (
        outside.group_by("area_id", "person").agg(pl.len().alias("n"))
        .join(areas.select("area_id", "n_changes"), on="area_id")
        .with_columns((pl.col("n") / pl.col("n_changes")).alias("share"))
        .filter(pl.col("share") >= shadow_min_share)
        .sort(["area_id", "n", "person"], descending=[False, True, False])
        .group_by("area_id", maintain_order=True)
        .agg(pl.col("person").head(n_shadow).alias("shadow_owners"),
             pl.col("share").head(n_shadow).alias("shadow_shares"))
    )

    result = (
        areas.join(info, on="area_id", how="left")
        .join(main, on="area_id", how="left")
        .join(owning, on="area_id", how="left")
        .join(owner_people, on="area_id", how="left")
        .join(has_owner.with_columns(pl.lit(True).alias("owned")), on="area_id", how="left")
        .join(owner_counts, on="area_id", how="left")
        .join(outside_units, on="area_id", how="left")
        .join(shadow, on="area_id", how="left")
        .with_columns(
            pl.when(pl.col("container") == "").then(None).otherwise(pl.col("container"))
            .alias("container"),
            (pl.col("main_changes") / pl.col("n_changes")).alias("main_share"),
            pl.when(pl.col("owned")).then(pl.col("owner_changes").fill_null(0)).alias("owner_changes"),
            pl.col("owning_units").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("owner_people").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("shadow_owners").fill_null(pl.lit([], dtype=pl.List(pl.String))),
            pl.col("shadow_shares").fill_null(pl.lit([], dtype=pl.List(pl.Float64))),
            (pl.col("top_outside_changes") / pl.col("n_changes")).alias("top_outside_share"),
        )
        .with_columns((pl.col("owner_changes") / pl.col("n_changes")).alias("owner_share"))
    )
    return (
        result.select(list(AREA_SCHEMA))
        .cast(dict(AREA_SCHEMA))  # type: ignore[arg-type]
        .sort(["n_changes", "area_id"], descending=[True, False])
    )


# -- findings -----------------------------------------------------------------------------------


def _period(ctx: AnalysisContext, row: Mapping[str, object]) -> str:
    """``"in the last 6 months"`` for a closed window, else the area's own first and last change."""
    since, until = ctx.window.since, ctx.window.until
    if since is not None and until is not None:
        months = max(1, round((until - since).total_seconds() / 86400.0 / 30.44))
        return "in the last month" if months == 1 else f"in the last {months} months"
    first, last = row.get("first_change"), row.get("last_change")
    if not isinstance(first, dt.datetime) or not isinstance(last, dt.datetime):
        return "in the window"
    a, b = f"{first:%b %Y}", f"{last:%b %Y}"
    return f"in {a}" if a == b else f"between {a} and {b}"


def _finding_context(ctx: AnalysisContext, df: pl.DataFrame) -> FindingContext:
    """The context's names, with the sizes of owning units of every kind added."""
    base = ctx.finding_context()
    sizes = dict(base.unit_sizes)
    for unit, size in df.select("owning_unit", "owning_unit_size").drop_nulls().unique().iter_rows():
        sizes[unit] = int(size)
    if df.height:
        members = _members(ctx, "formal")
        sizes.update({u: s for u, s in _unit_sizes_now(ctx, members).items() if u not in sizes})
    return dataclasses.replace(base, unit_sizes=sizes)


def find_knowledge_island(
    ctx: AnalysisContext,
    *,
    min_share: float = 0.8,
    min_changes: int = 10,
    alpha: float = 0.05,
) -> list[Finding]:
    """``knowledge_island``: one person made >= ``min_share`` of an active area's changes.

    An area is active with >= ``min_changes`` changes in the window. The main contributor's count
    is tested against "at most half of the changes" (one-sided binomial, p0 = 0.5), with
    Benjamini-Hochberg over all active areas; findings need q < ``alpha``.

    Severity: ``(main_share - 0.5) / 0.5 * min(1, log10(n_changes) / 2)``: 0.5 for 10 changes all
    by one person, 0.71 for 92% of 48, 1.0 for 100% of 100 or more.
    """
    df = area_ownership(ctx)
    active = df.filter(pl.col("n_changes") >= min_changes)
    if active.height == 0:
        return []
    pvals = binom.sf(active["main_changes"].to_numpy() - 1, active["n_changes"].to_numpy(), 0.5)
    active = active.with_columns(pl.Series("p_value", pvals), pl.Series("q_value", benjamini_hochberg(pvals)))
    hits = active.filter((pl.col("main_share") >= min_share) & (pl.col("q_value") < alpha))
    fctx = _finding_context(ctx, df)
    out = []
    for r in hits.iter_rows(named=True):
        person = r["main_contributor"]
        n, share = int(r["n_changes"]), float(r["main_share"])
        amount = f"all {n} changes" if r["main_changes"] == n else f"{share:.0%} of {n} changes"
        title = f"Only {fctx.person(person)} changes {r['area']}: {amount} {_period(ctx, r)}"
        units = [u for u in [r["owning_unit"]] if u is not None and not fctx.too_small(u)]
        severity = (share - 0.5) / 0.5 * _activity(n)
        out.append(make_finding(
            "knowledge_island", severity, title, people=[person], units=units,
            evidence={
                "area": r["area"], "area_id": r["area_id"], "area_kind": r["area_kind"],
                "container": r["container"], "n_changes": n, "main_changes": r["main_changes"],
                "main_share": share, "n_contributors": r["n_contributors"],
                "truck_factor": r["truck_factor"], "n_paths": r["n_paths"],
                "owning_unit": units[0] if units else None, "p_value": r["p_value"],
                "q_value": r["q_value"], "n_tested": active.height, "window": ctx.window.as_dict(),
            },
            ctx=fctx, key=f"{r['area_id']}|{person}",
        ))
    return out


def find_ownership_drift(
    ctx: AnalysisContext,
    *,
    max_owner_share: float = 0.2,
    min_changes: int = 10,
    alpha: float = 0.05,
    min_outside_share: float = 0.25,
) -> list[Finding]:
    """``ownership_drift``: the owners made < ``max_owner_share`` of their own area's changes.

    Owned areas with a formal owning unit and >= ``min_changes`` changes, catch-all rules excluded.
    The owners' count is tested against "at least half of the changes" (one-sided binomial,
    p0 = 0.5), Benjamini-Hochberg over all those areas; findings need q < ``alpha``. Owning units
    below the privacy threshold are not reported. The top outside unit is named (title and
    ``units``) when it made >= ``min_outside_share`` of the changes and is not below the privacy
    threshold; the evidence always carries it.

    Severity: ``(1 - owner_share / max_owner_share) * min(1, log10(n_changes) / 2)``: 0.48 for 9%
    of 57 changes, 0.84 for none of 48.
    """
    df = area_ownership(ctx)
    owned = df.filter(
        pl.col("owning_unit").is_not_null() & (pl.col("n_changes") >= min_changes) & ~pl.col("catch_all")
    )
    if owned.height == 0:
        return []
    pvals = binom.cdf(owned["owner_changes"].to_numpy(), owned["n_changes"].to_numpy(), 0.5)
    owned = owned.with_columns(pl.Series("p_value", pvals), pl.Series("q_value", benjamini_hochberg(pvals)))
    hits = owned.filter((pl.col("owner_share") < max_owner_share) & (pl.col("q_value") < alpha))
    fctx = _finding_context(ctx, df)
    out = []
    for r in hits.iter_rows(named=True):
        unit = r["owning_unit"]
        if fctx.too_small(unit):
            continue
        n, share = int(r["n_changes"]), float(r["owner_share"])
        pct = f"{math.floor(100 * share)}%"
        top = r["top_outside_unit"]
        other = top if top is not None and not fctx.too_small(top) and (
            r["top_outside_share"] >= min_outside_share) else None
        source = _SOURCE_NAMES.get(str(r["area_kind"]), str(r["source_file"] or r["area_kind"]))
        if r["area_kind"] == "maintainers":
            title = (f"The {fctx.unit(unit)} maintainers made {pct} of the {n} changes to their "
                     f"{source} section")
        else:
            title = f"{fctx.unit(unit)} owns {r['area']} in {source} but made {pct} of its {n} changes"
        if other is not None:
            title += f"; {fctx.unit(other)} made {r['top_outside_share']:.0%}"
        severity = (1.0 - share / max_owner_share) * _activity(n)
        out.append(make_finding(
            "ownership_drift", severity, title, people=list(r["shadow_owners"]),
            units=[unit] + ([other] if other is not None else []),
            evidence={
                "area": r["area"], "area_id": r["area_id"], "area_kind": r["area_kind"],
                "container": r["container"], "source_file": r["source_file"],
                "owning_unit": unit, "owning_units": list(r["owning_units"]),
                "owning_unit_size": r["owning_unit_size"], "n_changes": n,
                "owner_changes": r["owner_changes"], "owner_share": share,
                "top_outside_unit": top if top is None or not fctx.too_small(top) else None,
                "top_outside_share": r["top_outside_share"],
                "shadow_owners": list(r["shadow_owners"]), "shadow_shares": list(r["shadow_shares"]),
                "n_contributors": r["n_contributors"], "p_value": r["p_value"], "q_value": r["q_value"],
                "n_tested": owned.height, "window": ctx.window.as_dict(),
            },
            ctx=fctx, key=r["area_id"],
        ))
    return out
