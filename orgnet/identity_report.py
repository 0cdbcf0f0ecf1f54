"""Which handles did identity resolution leave unresolved or ambiguous, and how much do they matter?"""

from __future__ import annotations

from typing import Literal

import polars as pl

__all__ = ["identity_report"]

Show = Literal["unresolved", "ambiguous", "all"]


def identity_report(
    identities: pl.DataFrame,
    people: pl.DataFrame,
    interactions: pl.LazyFrame,
    *,
    show: Show = "unresolved",
) -> pl.DataFrame:
    """Observed handles with the number of events they take part in.

    Parameters
    ----------
    identities, people
        The canonical tables.
    interactions
        The ``interactions`` table (lazy: only actor and target ids are read).
    show
        ``"unresolved"``: handles whose person is not in the org chart (bots excluded);
        ``"ambiguous"``: handles whose evidence pointed at more than one person;
        ``"all"``: every observed handle.

    Returns
    -------
    pl.DataFrame
        Columns ``identity_id, source, handle, name, person_id, in_org_chart, is_bot, evidence,
        events``, most events first (ties by ``identity_id``).
    """
    counts = (
        pl.concat(
            [
                interactions.select(pl.col("actor_id").alias("identity_id")),
                interactions.select(pl.col("target_id").alias("identity_id")).drop_nulls(),
            ]
        )
        .group_by("identity_id")
        .agg(pl.len().cast(pl.Int64).alias("events"))
        .collect()
    )
    df = (
        identities.filter(pl.col("origin") == "observed")
        .join(people.select("person_id", "in_org_chart"), on="person_id", how="left")
        .join(counts, on="identity_id", how="left")
        .with_columns(
            pl.col("events").fill_null(0),
            pl.coalesce("username", "email", "native_id").alias("handle"),
            pl.col("in_org_chart").fill_null(False),
        )
    )
    if show == "unresolved":
        df = df.filter(~pl.col("in_org_chart") & ~pl.col("is_bot"))
    elif show == "ambiguous":
        df = df.filter(pl.col("evidence").str.starts_with("ambiguous"))
    return df.select(
        "identity_id", "source", "handle", "name", "person_id", "in_org_chart", "is_bot",
        "evidence", "events",
    ).sort(["events", "identity_id"], descending=[True, False])
