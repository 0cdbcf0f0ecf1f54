"""A tiny hand-built organisation for report tests (three teams of five, one team of two)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from orgnet.dataset import Dataset
from tests.analysis.factory import chatter, dataset

T = dt.datetime(2024, 3, 4, 12, tzinfo=dt.UTC)


def tiny_org(*, person_names: dict[str, str] | None = None,
             unit_names: dict[str, str] | None = None,
             unit_ids: dict[str, str] | None = None) -> Dataset:
    """Teams alpha, beta, gamma (5 people each) and delta (2 people, below the privacy threshold).

    alpha and beta talk a lot with each other; gamma (g0..g4) keeps to itself; a0 approves most of beta's
    changes (a review bottleneck). ``person_names`` / ``unit_names`` override display names;
    ``unit_ids`` renames units.
    """
    ids = {"alpha": "alpha", "beta": "beta", "gamma": "gamma", "delta": "delta", **(unit_ids or {})}
    people = {f"{t[0]}{i}": ids[t] for t in ("alpha", "beta", "gamma") for i in range(5)}
    people.update({"d0": ids["delta"], "d1": ids["delta"]})
    units = {ids[t]: ((unit_names or {}).get(t, t.title()), None, "team")
             for t in ("alpha", "beta", "gamma", "delta")}
    events: list[tuple[object, ...]] = []
    for t in ("a", "b", "g"):
        events += chatter([f"{t}{i}" for i in range(5)], times=2)
    events += chatter(["d0", "d1", "a1"], times=1)
    for i in range(5):
        for j in range(5):
            events += [("chat_reply", f"a{i}", f"b{j}", None, None, None,
                        T + dt.timedelta(hours=i + j))]
    for n in range(24):
        art = f"gh:org/beta#{n}"
        events += [("review_approved", "a0", f"b{n % 5}", art, "org/beta", None,
                    T + dt.timedelta(days=n % 12))]
    for n, reviewer in enumerate(("b1", "b2", "b3", "b1")):
        art = f"gh:org/beta#{100 + n}"
        events += [("review_approved", reviewer, "b0", art, "org/beta", None,
                    T + dt.timedelta(days=n))]
    data = dataset(people, units=units, events=events)
    if person_names:
        data.people = data.people.with_columns(
            pl.col("person_id").replace_strict(person_names, default=pl.col("display_name"))
            .alias("display_name"))
    return data
