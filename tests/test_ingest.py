"""``ingest``: identity resolution runs beside the table merges; failures leave nothing behind."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import orgnet.ingest as ingest_module
from orgnet.importers.git import import_git
from orgnet.importers.orgchart import import_orgchart
from orgnet.ingest import ingest
from orgnet.workspace import Workspace

from .test_crash_safety import ORGCHART, write_log


def _ws(tmp_path: Path) -> tuple[Workspace, Path]:
    ws = Workspace(tmp_path / "ws")
    chart = tmp_path / "hris.csv"
    chart.write_text(ORGCHART, encoding="utf-8")
    ingest(ws, import_orgchart(chart))
    return ws, write_log(tmp_path / "c.gitlog", commits=60)


def test_a_failing_resolution_changes_nothing(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ws, log = _ws(tmp_path)
    before = {t: ws.read(t) for t in ("identities", "people", "interactions", "touches")}
    generation = ws.meta()["generation"]

    def broken(_identities: object) -> None:
        raise RuntimeError("resolution failed")

    monkeypatch.setattr(ingest_module, "resolve", broken)
    with pytest.raises(RuntimeError, match="resolution failed"):
        ingest(ws, import_git(log))
    assert ws.meta()["generation"] == generation
    for table, frame in before.items():
        assert ws.read(table).equals(frame), table


def test_rows_added_in_serial_order_and_people_resolved(tmp_path: Path) -> None:
    ws, log = _ws(tmp_path)
    result = import_git(log)
    summary = ingest(ws, result)
    assert list(summary.rows_added) == ["identities", *[t for t in result.tables
                                                        if t != "identities"]]
    assert summary.rows_added["interactions"] == result.tables["interactions"].height > 0
    people = ws.read("people")
    # Every committer of the log resolves to its org-chart person (same e-mail addresses).
    ids = ws.read("identities").filter(ws.read("identities")["source"] == "git")
    assert ids.height and ids["person_id"].is_in(people["person_id"].implode()).all()
    charted = people.filter(pl.col("in_org_chart"))["person_id"].implode()
    assert ids["person_id"].is_in(charted).all()
    assert set(ids["evidence"].to_list()) <= {"email", "hris:email", "self", "native-id"}


@settings(max_examples=200, deadline=None)
@given(
    new=st.lists(st.tuples(st.sampled_from(["a", "b", "c", None]), st.integers(0, 2)),
                 max_size=30),
    old=st.lists(st.tuples(st.sampled_from(["a", "b", "d", None]), st.integers(0, 2)),
                 max_size=20),
    two_keys=st.booleans(),
)
def test_dedupe_append_matches_a_plain_reading(new: list[tuple[str | None, int]],
                                               old: list[tuple[str | None, int]],
                                               two_keys: bool) -> None:
    """A row is a duplicate when its key is stored or came earlier in the new rows (nulls
    alike), whatever the hashing shortcuts."""
    keys = ["k", "n"] if two_keys else ["k"]
    schema = {"k": pl.String, "n": pl.Int64}
    new_df = pl.DataFrame(new, schema=schema, orient="row")
    old_df = pl.DataFrame(old, schema=schema, orient="row")
    got = ingest_module._dedupe_append(new_df, old_df.lazy(), keys)
    assert got.dtype == pl.Boolean and got.len() == new_df.height
    stored = {tuple(r[c] for c in keys) for r in old_df.iter_rows(named=True)}
    seen: set[tuple[object, ...]] = set()
    want = []
    for r in new_df.iter_rows(named=True):
        k = tuple(r[c] for c in keys)
        want.append(k in stored or k in seen)
        seen.add(k)
    assert got.to_list() == want
    key = pl.col(keys[0]) if len(keys) == 1 else pl.struct(keys)
    first = ingest_module._first_distinct(new_df, keys, new_df.select(key.hash(seed=0)).to_series())
    assert first.to_list() == new_df.select(key.is_first_distinct()).to_series().to_list()


@settings(max_examples=100, deadline=None)
@given(
    new=st.lists(st.tuples(st.sampled_from(["a", "b", None]), st.integers(0, 1)), max_size=20),
    old=st.lists(st.tuples(st.sampled_from(["a", "c", None]), st.integers(0, 1)), max_size=10),
    chunked=st.booleans(),
)
def test_dedupe_upsert_matches_a_plain_reading(new: list[tuple[str | None, int]],
                                               old: list[tuple[str | None, int]],
                                               chunked: bool) -> None:
    """For an upserted table a duplicate is a row equal to a stored one or an earlier new one,
    whether or not the new rows come in several chunks (as a worker's mapped table does)."""
    schema = {"k": pl.String, "n": pl.Int64}
    new_df = pl.DataFrame(new, schema=schema, orient="row")
    if chunked and new_df.height > 1:
        half = new_df.height // 2
        new_df = pl.concat([new_df.head(half), new_df.tail(new_df.height - half)], rechunk=False)
    old_df = pl.DataFrame(old, schema=schema, orient="row")
    got = ingest_module._dedupe_upsert(new_df, old_df)
    stored = set(old_df.iter_rows())
    seen: set[tuple[object, ...]] = set()
    want = []
    for r in new_df.iter_rows():
        want.append(r in stored or r in seen)
        seen.add(r)
    assert got.to_list() == want
