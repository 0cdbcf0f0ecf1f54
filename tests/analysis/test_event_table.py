"""The analysis context's compact event table: codes and integer ids that decode to the text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from orgnet.analysis._context import (
    CODED_COLUMNS,
    ID_HIGH,
    ID_LOW,
    AnalysisContext,
    collect_event_table,
    collect_events,
    decode_events,
)
from orgnet.dataset import Dataset, Window
from orgnet.graph.build import build_view, communication_edges, person_events, review_edges
from orgnet.pipeline import import_sample
from orgnet.workspace import Workspace

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """The bundled sample organisation (150 people, every source)."""
    if not (SAMPLE / "hris.csv").is_file():
        pytest.skip(f"sample data not found at {SAMPLE}")
    ws = Workspace(tmp_path_factory.mktemp("sample") / "ws", lock_timeout=30)
    import_sample(SAMPLE, ws)
    return Dataset.from_workspace(ws)


def _text(data: Dataset, window: Window | None = None) -> pl.DataFrame:
    ctx = AnalysisContext(data, window=window or Window())
    return collect_events(person_events(data, ctx.options))


def test_table_decodes_to_the_text_table_row_for_row(data: Dataset) -> None:
    ctx = AnalysisContext(data)
    table = ctx.event_table()
    text = _text(data)
    assert table.height == text.height > 1000
    # Compact: codes for the text columns, two integers for the id.
    assert table.columns[:2] == [ID_HIGH, ID_LOW] and "event_id" not in table.columns
    for name in CODED_COLUMNS:
        assert table.schema[name] == pl.Categorical, name
    # 8 + 2 bytes of id, 4 per code, 8 each for ts and w, and validity bits: about 55 per row.
    assert table.estimated_size() / table.height < 60 < text.estimated_size() / text.height
    # Decoded, it is the text table: same columns, types, rows and order.
    assert decode_events(table).collect().equals(text)
    assert ctx.events().equals(text)


# Filters the analyses run on the codes, each checked against the same filter on the text.
WHERES = [
    pl.col("kind") == "review_approved",
    pl.col("kind").is_in(["chat_message", "chat_reply", "no-such-kind"]),
    pl.col("target").is_null(),
    pl.col("actor").is_not_null() & pl.col("artifact_id").is_not_null()
    & (pl.col("kind") == "commit_trailer"),
    (pl.col("kind") == "reference") & pl.col("container").is_not_null(),
    pl.col("value").is_in(["Reviewed-by", "Acked-by"]),
    pl.col("target") == pl.col("actor"),
    pl.col("source") != "slack",
]


@pytest.mark.parametrize("where", WHERES, ids=[str(i) for i in range(len(WHERES))])
def test_filters_on_codes_keep_the_rows_the_text_filter_keeps(data: Dataset, where: pl.Expr
                                                              ) -> None:
    ctx = AnalysisContext(data)
    text = _text(data)
    expected = text.filter(where)
    assert ctx.events(where=where).equals(expected)
    cols = ["actor", "kind", "event_id"]
    got = ctx.events(where=where, columns=cols)
    # Columns come back in the table's order.
    assert got.equals(expected.select("event_id", "kind", "actor"))


def test_a_filter_on_event_ids_runs_on_the_text(data: Dataset) -> None:
    ctx = AnalysisContext(data)
    text = _text(data)
    some = text["event_id"].gather([0, 5, 17]).to_list()
    where = pl.col("event_id").is_in(some) | (pl.col("event_id") < text["event_id"][2])
    assert ctx.events(where=where).equals(text.filter(where))
    assert ctx.events(where=where, columns=["w", "event_id"]).equals(
        text.filter(where).select("event_id", "w"))
    assert ctx.events(where=where).height == 4


def test_some_filters_keep_rows(data: Dataset) -> None:
    # The parametrized checks above mean something only if the filters keep rows.
    text = _text(data)
    kept = [text.filter(w).height for w in WHERES]
    assert sum(1 for k in kept if 0 < k < text.height) >= 5, kept


def test_period_tables_come_from_the_parent_and_equal_a_fresh_scan(data: Dataset) -> None:
    ctx = AnalysisContext(data)
    lo, hi = ctx.event_table()["ts"].min(), ctx.event_table()["ts"].max()
    assert isinstance(lo, dt.datetime) and isinstance(hi, dt.datetime)
    mid = (lo + (hi - lo) / 2).date()
    sub = ctx.period(mid, hi.date())
    assert "event_table" in sub._cache  # taken from the parent, not scanned again
    fresh = AnalysisContext(data, window=Window.of(mid, hi.date()))
    assert 0 < sub.event_table().height < ctx.event_table().height
    assert sub.events().equals(fresh.events())
    assert sub.events().equals(_text(data, Window.of(mid, hi.date())))


@pytest.mark.parametrize("view", ["review", "communication", "collaboration"])
def test_views_from_codes_equal_views_from_text(data: Dataset, view: str) -> None:
    ctx = AnalysisContext(data)
    text = build_view(data, view, ctx.options, events=_text(data).lazy())  # type: ignore[arg-type]
    codes = build_view(data, view, ctx.options,  # type: ignore[arg-type]
                       events=ctx.event_table().lazy())
    assert text.edges.height > 100
    # Same pairs, same orientation, same order and the same weights; thread pairs come out of
    # a hash join in a varying order, so their sums agree to the last bits only (two builds
    # from the text differ the same way), and the review view, which has none, to every bit.
    assert codes.edges.schema == text.edges.schema
    assert codes.edges.select("src", "dst").equals(text.edges.select("src", "dst"))
    if view == "review":
        assert codes.edges.equals(text.edges)
    else:
        diff = (codes.edges["weight"] - text.edges["weight"]).abs() / text.edges["weight"]
        assert float(diff.max()) < 1e-12  # type: ignore[arg-type]
    assert codes.nodes == text.nodes


def test_edge_lists_keep_codes_until_aggregated(data: Dataset) -> None:
    table = AnalysisContext(data).event_table().lazy()
    for edges in (review_edges(table), communication_edges(table)):
        assert edges.collect_schema()["src"] == pl.Categorical


def test_ids_that_are_not_orgnets_stay_text() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    df = pl.DataFrame({
        "event_id": ["b", "a", "C0FFEE00000000000000", "c"],
        "kind": ["message", "message", "review_approved", None],
        "actor": ["p1", "p2", "p1", "p3"],
        "ts": [t0] * 4,
    })
    table = collect_event_table(df.lazy())
    assert table.schema["event_id"] == pl.String and ID_HIGH not in table.columns
    assert table["event_id"].to_list() == ["C0FFEE00000000000000", "a", "b", "c"]
    assert decode_events(table).collect().equals(df.sort("event_id"))


def test_a_missing_id_sorts_last_and_keeps_its_row() -> None:
    df = pl.DataFrame({"event_id": ["0" * 20, None, "f" * 20], "actor": ["p1", "p2", "p3"]})
    got = decode_events(collect_event_table(df.lazy())).collect()
    assert got["actor"].to_list() == ["p1", "p3", "p2"]
    assert got["event_id"].to_list() == ["0" * 20, "f" * 20, None]


def test_ids_round_trip_at_the_edges_of_their_digits() -> None:
    ids = ["0" * 20, "f" * 20, "0123456789abcdef0001", "fedcba9876543210ffff",
           "00000000000000010000", "0000000000000000fffe"]
    df = pl.DataFrame({"event_id": ids, "w": [1.0] * len(ids)})
    table = collect_event_table(df.lazy())
    assert table.columns[:2] == [ID_HIGH, ID_LOW]
    assert decode_events(table).collect()["event_id"].to_list() == sorted(ids)
