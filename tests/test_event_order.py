"""The person-event table's order: event id, stable, the same from every path that sorts it."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest

from orgnet.analysis._context import (
    _gather,
    collect_event_table,
    collect_events,
    decode_events,
    sort_by_event_id,
)

UTC = dt.UTC


def _hex(rng: random.Random, n: int, *, shared_prefix: int = 0) -> list[str]:
    """``n`` orgnet-like ids; ``shared_prefix`` of them share their first 16 digits in pairs."""
    ids = [f"{rng.getrandbits(80):020x}" for _ in range(n)]
    for k in range(0, min(shared_prefix, n - 1), 2):
        ids[k + 1] = ids[k][:16] + f"{rng.getrandbits(16):04x}"
    return ids


def _events(ids: list[str | None], rng: random.Random) -> pl.DataFrame:
    n = len(ids)
    t0 = dt.datetime(2026, 1, 1, tzinfo=UTC)
    return pl.DataFrame({
        "event_id": ids,
        "kind": [rng.choice(["review_approved", "message", None]) for _ in range(n)],
        "actor": [f"p{rng.randrange(50)}" for _ in range(n)],
        "ts": [t0 + dt.timedelta(minutes=rng.randrange(10**6)) for _ in range(n)],
        "w": [rng.random() for _ in range(n)],
        "row": list(range(n)),  # tells a stable sort from an unstable one
    }, schema={"event_id": pl.String, "kind": pl.String, "actor": pl.String,
               "ts": pl.Datetime("us", "UTC"), "w": pl.Float64, "row": pl.Int64})


def _chunked(df: pl.DataFrame, parts: int) -> pl.DataFrame:
    step = max(1, df.height // parts)
    return pl.concat([df.slice(i, step) for i in range(0, df.height, step)], rechunk=False)


@pytest.mark.parametrize("case", ["hex", "shared-prefix", "duplicates", "not-hex", "nulls"])
def test_sort_by_event_id_is_the_stable_string_sort(case: str) -> None:
    rng = random.Random(7)
    ids: list[str | None] = list(_hex(rng, 3000, shared_prefix=400 if case == "shared-prefix"
                                      else 0))
    if case == "duplicates":
        ids = [ids[rng.randrange(500)] for _ in ids]  # many equal ids: order by input row
    elif case == "not-hex":
        ids[17] = "X" + (ids[17] or "")[1:]
    elif case == "nulls":
        ids[5] = ids[900] = None
    df = _chunked(_events(ids, rng), 7)
    expected = df.sort("event_id", maintain_order=True)
    got = sort_by_event_id(df)
    assert got.schema == df.schema
    assert got.equals(expected)
    assert got.n_chunks() == 1 or case in ("not-hex", "nulls")
    # collect_events gives the same rows in the same order from a query.
    assert collect_events(df.lazy()).equals(expected)


def test_collect_events_keeps_every_row_and_type_of_a_multi_part_query() -> None:
    rng = random.Random(11)
    parts = [_events(_hex(rng, 1000, shared_prefix=50), rng) for _ in range(5)]
    query = pl.concat([p.lazy() for p in parts]).filter(pl.col("w") < 0.9)
    got = collect_events(query)
    base = query.collect()
    assert got.height == base.height > 0
    assert got.schema == base.schema
    assert got.equals(base.sort("event_id", maintain_order=True))
    assert got.n_chunks() == 1


@pytest.mark.parametrize("n", [0, 1])
def test_collect_events_of_tiny_queries(n: int) -> None:
    df = _events(_hex(random.Random(3), n), random.Random(3))
    got = collect_events(df.lazy())
    assert got.height == n and got.schema == df.schema


def test_gather_releases_each_column_once_taken() -> None:
    df = _events(_hex(random.Random(5), 100), random.Random(5))
    columns = df.get_columns()
    order = pl.Series("i", list(range(99, -1, -1)), dtype=pl.UInt32)
    out = _gather(columns, order)
    # The list no longer holds any input column: the caller's last reference is gone as soon
    # as its sorted copy exists.
    assert columns == []
    assert out.equals(df.reverse())


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(df.columns, nulls_last=True, maintain_order=True)


def _table_order(query: pl.LazyFrame) -> pl.DataFrame:
    return decode_events(collect_event_table(query)).collect()


def test_event_table_breaks_equal_ids_by_every_column() -> None:
    rng = random.Random(9)
    ids: list[str | None] = [f"{i % 40:020x}" for i in range(400)]
    df = _events(ids, rng).drop("row")
    got = _table_order(_chunked(df.sample(fraction=1.0, shuffle=True, seed=1), 5).lazy())
    assert got.equals(_sorted(df))
    unique = _events(_hex(rng, 400), rng)
    assert _table_order(unique.lazy()).equals(_sorted(unique))
    assert _table_order(unique.lazy()).equals(collect_events(unique.lazy()))
