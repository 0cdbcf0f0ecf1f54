"""The formal structure: unit tree, who belongs to which unit on a date, managers and reports.

Memberships are effective-dated (``[valid_from, valid_to)``) and attach people to their leaf unit
(a team, or a department for people without a team). Analyses compare with one level of the tree at
a time (``unit_kind``: ``team``, ``department``, ``maintainer_section``, ``company`` ...): a
person's unit at that level is the nearest ancestor-or-self of their leaf unit with that kind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

__all__ = [
    "INACTIVE_ROLES",
    "FormalStructure",
    "membership_at",
    "unit_ancestors",
]

#: Membership roles that do not make someone a current member (e.g. Rust team alumni).
INACTIVE_ROLES = frozenset({"alumni", "former", "emeritus", "inactive"})


def unit_ancestors(units: pl.DataFrame) -> pl.DataFrame:
    """Every (unit, ancestor-or-self) pair of the unit forest with the ancestor's kind and depth.

    Returns
    -------
    pl.DataFrame
        Columns ``unit_id``, ``ancestor_id``, ``ancestor_kind``, ``distance`` (0 for the unit itself).
    """
    parent = dict(units.select("unit_id", "parent_id").iter_rows())
    kind = dict(units.select("unit_id", "kind").iter_rows())
    rows: list[tuple[str, str, str, int]] = []
    for uid in sorted(parent):
        seen: set[str] = set()
        cur: str | None = uid
        dist = 0
        while cur is not None and cur not in seen and cur in parent:
            seen.add(cur)
            rows.append((uid, cur, kind[cur], dist))
            cur = parent[cur]
            dist += 1
    return pl.DataFrame(
        rows, schema={"unit_id": pl.String, "ancestor_id": pl.String, "ancestor_kind": pl.String,
                      "distance": pl.Int32}, orient="row",
    )


def membership_at(
    memberships: pl.DataFrame,
    units: pl.DataFrame,
    *,
    at: dt.date | None = None,
    unit_kind: str | None = "team",
) -> pl.DataFrame:
    """People's formal units on a date, at one level of the unit tree.

    Parameters
    ----------
    memberships, units
        The canonical tables.
    at
        The date (default: the latest ``valid_from`` in the data, i.e. the current chart).
        Memberships with an unknown start hold from the beginning.
    unit_kind
        Level to report: each leaf unit is mapped to its nearest ancestor-or-self of that kind;
        people whose units have no such ancestor are left out. ``None`` keeps the leaf units.

    Returns
    -------
    pl.DataFrame
        Columns ``person_id``, ``unit_id``, ``share`` (1/number of units the person belongs to at
        that level, so matrix organisations sum to one per person), ``role``, ``manager_id``,
        ``level``; sorted by ``person_id``, ``unit_id``.
    """
    schema = {"person_id": pl.String, "unit_id": pl.String, "share": pl.Float64,
              "role": pl.String, "manager_id": pl.String, "level": pl.String}
    if memberships.height == 0:
        return pl.DataFrame(schema=schema)
    if at is None:
        latest = memberships["valid_from"].max()
        at = latest if isinstance(latest, dt.date) else dt.date.max
    m = memberships.filter(
        (pl.col("valid_from").is_null() | (pl.col("valid_from") <= at))
        & (pl.col("valid_to").is_null() | (pl.col("valid_to") > at))
        & ~pl.col("role").is_in(sorted(INACTIVE_ROLES))
    )
    if unit_kind is not None:
        anc = unit_ancestors(units).filter(pl.col("ancestor_kind") == unit_kind)
        nearest = anc.sort("distance").unique("unit_id", keep="first")
        m = m.join(nearest.select("unit_id", "ancestor_id"), on="unit_id", how="inner").with_columns(
            pl.col("ancestor_id").alias("unit_id")
        )
    m = m.sort("person_id", "unit_id", "valid_from", nulls_last=False).unique(
        ["person_id", "unit_id"], keep="last", maintain_order=True
    )
    return (
        m.with_columns((1.0 / pl.len().over("person_id")).alias("share"))
        .select(list(schema))
        .cast(schema)  # type: ignore[arg-type]
        .sort("person_id", "unit_id")
    )


@dataclass
class FormalStructure:
    """Units, memberships and people of a workspace, with the queries analyses need."""

    units: pl.DataFrame
    memberships: pl.DataFrame
    people: pl.DataFrame

    def unit_kinds(self) -> list[str]:
        """The unit kinds present, most common first."""
        return (
            self.units.group_by("kind").len().sort(["len", "kind"], descending=[True, False])["kind"]
            .to_list()
        )

    def at(self, day: dt.date | None = None, *, unit_kind: str | None = "team") -> pl.DataFrame:
        """:func:`membership_at` on this structure."""
        return membership_at(self.memberships, self.units, at=day, unit_kind=unit_kind)

    def unit_names(self) -> dict[str, str]:
        """``unit_id -> name``."""
        return dict(self.units.select("unit_id", "name").iter_rows())

    def direct_reports(self, day: dt.date | None = None) -> pl.DataFrame:
        """Number of direct reports per person on ``day`` (columns ``person_id``, ``reports``)."""
        m = self.at(day, unit_kind=None)
        return (
            m.drop_nulls("manager_id")
            .group_by("manager_id")
            .agg(pl.col("person_id").n_unique().cast(pl.Int64).alias("reports"))
            .rename({"manager_id": "person_id"})
            .sort("person_id")
        )

    def person_names(self) -> dict[str, str]:
        """``person_id -> display_name``."""
        return dict(self.people.select("person_id", "display_name").iter_rows())
