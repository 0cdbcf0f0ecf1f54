"""Perceval envelopes, JSON export readers and the plan/replay plumbing of the review importers.

Also holds small helpers the GitHub, Gerrit and GitLab tests share (canary scan, ingest twice).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgnet.exceptions import InputError
from orgnet.importers._base import ImportBuilder, ImportResult
from orgnet.importers._io import JsonRecordError
from orgnet.importers.perceval import (
    PercevalItem,
    PercevalReject,
    RecordPlan,
    detect_backend,
    envelope_excerpt,
    iter_json_records,
    iter_perceval_items,
    parse_epoch_utc,
    parse_iso_utc,
    replay,
    validate_envelope,
    window_bounds,
)
from orgnet.ingest import ingest
from orgnet.workspace import Workspace

CANARY = "CANARY-7f3a"
UTC = dt.UTC


# -- helpers shared by the review-importer tests ------------------------------------------------


def assert_no_canary(result: ImportResult, canary: str = CANARY) -> None:
    """The canary planted in every text field appears in no table and no reject."""
    frames = dict(result.tables)
    frames["rejects"] = result.rejects
    for name, frame in frames.items():
        for col in frame.columns:
            values = frame[col].cast(pl.String, strict=False).drop_nulls()
            hits = values.filter(values.str.contains(canary, literal=True))
            assert hits.len() == 0, f"{canary} leaked into {name}.{col}: {hits.to_list()[:3]}"
    assert all(canary not in note for note in result.notes)


def assert_reingest_is_noop(ws: Workspace, make: object) -> None:
    """Ingest a fresh result twice: the second time adds nothing and every record is duplicate."""
    assert callable(make)
    first = ingest(ws, make())
    assert first.counts.adds_up()
    before = {t: ws.read(t) for t in ("interactions", "artifacts", "identities", "touches")}
    second_result = make()
    second = ingest(ws, second_result)
    assert second.counts.adds_up()
    assert all(v == 0 for v in second.rows_added.values()), second.rows_added
    ok = sum(1 for s in second_result.record_status if s == "ok")
    assert second.counts.duplicate == ok
    assert second.counts.imported == 0
    for table, frame in before.items():
        assert ws.read(table).equals(frame), table


def tables_equal(a: ImportResult, b: ImportResult, tables: tuple[str, ...]) -> None:
    """The named tables of two results hold the same rows (order-insensitive)."""
    for t in tables:
        fa = a.tables[t].drop("_rec")
        fb = b.tables[t].drop("_rec")
        key = fa.columns[0]
        assert fa.sort(key).equals(fb.sort(key)), t


# -- envelopes ------------------------------------------------------------------------------------


def _item(**over: object) -> dict[str, object]:
    item: dict[str, object] = {
        "backend_name": "GitHub", "backend_version": "0.32.0", "category": "issue",
        "classified_fields_filtered": None, "data": {"number": 1},
        "origin": "https://github.com/acme/widgets", "perceval_version": "1.0.2",
        "search_fields": {"item_id": "1"}, "tag": "t", "timestamp": 1.0, "updated_on": 2.0,
        "uuid": "a" * 40,
    }
    item.update(over)
    return item


@pytest.mark.parametrize(
    ("obj", "reason", "field"),
    [
        ([1], "not a Perceval item: a JSON list, not an object", None),
        ({k: v for k, v in _item().items() if k != "uuid"},
         "not a Perceval item: missing envelope field 'uuid'", "uuid"),
        (_item(data=[1]), "envelope field 'data' is a list, expected dict", "data"),
        (_item(updated_on=True), "envelope field 'updated_on' is a bool, expected int or float",
         "updated_on"),
        (_item(updated_on=float("inf")), "envelope field 'updated_on' is not a finite number",
         "updated_on"),
        (_item(category=" "), "envelope field 'category' is empty", "category"),
    ],
)
def test_validate_envelope_problems(obj: object, reason: str, field: str | None) -> None:
    assert validate_envelope(obj) == (reason, field)


def test_validate_envelope_ok() -> None:
    assert validate_envelope(_item()) is None


def _write_both(tmp_path: Path, items: list[dict[str, object]]) -> tuple[Path, Path]:
    jl = tmp_path / "items.jsonl"
    jl.write_text("".join(json.dumps(i, separators=(",", ":"), sort_keys=True) + "\n"
                          for i in items))
    pretty = tmp_path / "items.json"
    pretty.write_text("".join(json.dumps(i, indent=4, sort_keys=True) + "\n" for i in items))
    return jl, pretty


def test_json_lines_and_pretty_give_the_same_items(tmp_path: Path) -> None:
    items = [_item(uuid=f"{i:040x}", data={"number": i, "nested": {"a": [1, {"b": 2}]}})
             for i in range(3)]
    jl, pretty = _write_both(tmp_path, items)
    got_jl = [e for _, e in iter_perceval_items(jl)]
    got_pretty = [e for _, e in iter_perceval_items(pretty)]
    assert all(isinstance(e, PercevalItem) for e in got_jl + got_pretty)
    assert [e.data for e in got_jl] == [e.data for e in got_pretty]  # type: ignore[union-attr]
    assert [e.line for e in got_jl] == [1, 2, 3]
    # pretty items start on the line of their opening brace
    pretty_lines = [e.line for e in got_pretty]
    assert pretty_lines[0] == 1
    assert pretty_lines[1] > 10


def test_gzip_and_array_forms(tmp_path: Path) -> None:
    items = [_item(uuid=f"{i:040x}") for i in range(2)]
    gz = tmp_path / "items.jsonl.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("".join(json.dumps(i) + "\n" for i in items))
    arr = tmp_path / "items_array.json"
    arr.write_text(json.dumps(items, indent=2))
    for p in (gz, arr):
        got = [e for _, e in iter_perceval_items(p)]
        assert [e.uuid for e in got] == [f"{i:040x}" for i in range(2)]  # type: ignore[union-attr]


def test_malformed_lines_become_rejects_with_lines(tmp_path: Path) -> None:
    good = json.dumps(_item(), sort_keys=True)
    body = json.dumps(_item(data={"body": CANARY}), sort_keys=True)
    p = tmp_path / "bad.jsonl"
    p.write_bytes(
        (good + "\n" + body[:120] + "\n" + good.replace('"updated_on": 2.0', '"updated_on": NaN')
         + "\n[1]\n").encode() + b'{"a": "\xff"}\n'
    )
    got = list(iter_perceval_items(p))
    assert isinstance(got[0][1], PercevalItem)
    rejects = [(line, e.reason) for line, e in got if isinstance(e, PercevalReject)]
    assert rejects[0][0] == 2 and rejects[0][1].startswith("invalid JSON")
    assert rejects[1] == (3, "non-standard JSON constant NaN")
    assert rejects[2] == (4, "not a Perceval item: a JSON list, not an object")
    assert rejects[3][0] == 5 and rejects[3][1].startswith("invalid UTF-8")
    for _, e in got:
        if isinstance(e, PercevalReject):
            assert CANARY not in (e.raw or "")


def test_envelope_excerpt_keeps_no_body() -> None:
    raw = json.dumps(_item(data={"body": CANARY}), sort_keys=True)[:200]
    out = envelope_excerpt(raw)
    assert out.startswith(f"<{len(raw)} bytes>") and '"backend_name"' in out
    assert CANARY not in out
    raw_bytes = b"\xff\xfe garbage " + CANARY.encode()
    assert envelope_excerpt(raw_bytes) == f"<{len(raw_bytes)} bytes>"


def test_detect_backend(tmp_path: Path) -> None:
    jl, pretty = _write_both(tmp_path, [_item(backend_name="Gerrit")])
    assert detect_backend(jl) == "gerrit"
    assert detect_backend(pretty) == "gerrit"
    other = tmp_path / "x.json"
    other.write_text('{"number": 1}')
    assert detect_backend(other) is None
    assert detect_backend(tmp_path) is None
    assert detect_backend(tmp_path / "missing.json") is None


# -- JSON export files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        ')]}\'\n[{"a": 1}, {"a": 2}]',           # Gerrit REST with XSSI guard
        '[{"a": 1}][{"a": 2}]',                   # gh api --paginate (concatenated pages)
        '[[{"a": 1}], [{"a": 2}]]',               # gh api --paginate --slurp
        '{"a": 1}\n{"a": 2}\n',                   # JSON lines
        '{\n  "a": 1\n}\n{\n  "a": 2\n}\n',       # pretty objects one after another
        ')]}\'\n{"a": 1}\n{"a": 2}\n',            # XSSI then JSON lines
    ],
)
def test_iter_json_records_shapes(tmp_path: Path, text: str) -> None:
    p = tmp_path / "x.json"
    p.write_text(text)
    assert [v for _, v in iter_json_records(p)] == [{"a": 1}, {"a": 2}]


def test_iter_json_records_errors(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_text('[{"a": 1, "a": 2}]')
    (value,) = [v for _, v in iter_json_records(p)]
    assert isinstance(value, JsonRecordError) and "duplicate key" in str(value)
    with pytest.raises(InputError):
        list(iter_json_records(tmp_path / "missing.json"))


# -- time ---------------------------------------------------------------------------------------------


def test_parse_iso_utc() -> None:
    want = dt.datetime(2024, 5, 2, 14, 7, 31, tzinfo=UTC)
    assert parse_iso_utc("2024-05-02T14:07:31Z") == want
    assert parse_iso_utc("2024-05-02T16:07:31+02:00") == want
    assert parse_iso_utc("2024-05-02 14:07:31.000000000") == want
    assert parse_iso_utc("2024-05-02T14:07:31") == want
    assert parse_iso_utc("2024-05-02T14:07:31.482Z").microsecond == 482000
    for bad in (12, None, "yesterday", ""):
        with pytest.raises(ValueError):
            parse_iso_utc(bad)


def test_parse_epoch_and_window() -> None:
    assert parse_epoch_utc(0) == dt.datetime(1970, 1, 1, tzinfo=UTC)
    for bad in (True, "1", float("nan"), -1, 1e20):
        with pytest.raises(ValueError):
            parse_epoch_utc(bad)
    lo, hi = window_bounds(dt.date(2024, 1, 1), "2024-02-01T00:00:00+01:00")
    assert lo == dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert hi == dt.datetime(2024, 1, 31, 23, tzinfo=UTC)
    assert window_bounds(dt.datetime(2024, 1, 1), None) == (lo, None)


# -- replay -----------------------------------------------------------------------------------------


def _plan(line: int, key: str | None, version: float | None, ts: dt.datetime) -> RecordPlan:
    plan = RecordPlan(line, f"r{line}", key=key, version=version)
    plan.event("comment", "i1", ts, artifact_id="a", raw_ref=("c", str(line)))
    return plan


def test_replay_versions_duplicates_and_window() -> None:
    t = dt.datetime(2024, 5, 1, tzinfo=UTC)
    plans = [
        _plan(1, "u1", 1.0, t),                    # superseded by line 3
        _plan(2, "u2", 1.0, t),
        _plan(3, "u1", 2.0, t),
        _plan(4, "u2", 1.0, t),                    # exact duplicate of line 2
        _plan(5, None, None, t - dt.timedelta(days=400)),  # outside the window
    ]
    b = ImportBuilder("github", "x")
    replay(b, plans, since=t - dt.timedelta(days=30), until=None)
    result = b.finish()
    assert result.record_status == ["skipped", "ok", "ok", "rejected", "skipped"]
    assert result.rejects["reason"].to_list() == [
        "duplicate item: same id and update time as line 2"
    ]
    assert result.counts.skipped_reasons == {
        "superseded by a newer version of the same item": 1,
        "outside the --since/--until window": 1,
    }


def test_replay_shared_events_are_written_once() -> None:
    t = dt.datetime(2024, 5, 1, tzinfo=UTC)
    plans = []
    for line in (1, 2):
        plan = RecordPlan(line, "r")
        plan.event("change_opened", "i1", t, artifact_id="a", raw_ref=("pull_request", "1"),
                   shared=True)
        plan.mention("i1", "bob", t, artifact_id="a", container="c", raw_ref=("p", "1"),
                     shared=True)
        plans.append(plan)
    b = ImportBuilder("github", "x")
    stats = replay(b, plans, resolve_handle={"bob": "i2"}.get)
    frame = b.finish().tables["interactions"]
    assert sorted(frame["kind"].to_list()) == ["change_opened", "mention"]
    assert stats == {"mentions_unresolved": 0, "handles_unresolved": 0}


# -- property ---------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_reader_never_raises_on_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    p = tmp_path / "fuzz.jsonl"
    p.write_bytes(data)
    try:
        for _line, entry in iter_perceval_items(p):
            assert isinstance(entry, PercevalItem | PercevalReject)
        list(iter_json_records(p))
        detect_backend(p)
    except InputError:
        pass


def test_truncated_gzip(tmp_path: Path) -> None:
    items = "".join(json.dumps(_item(uuid=f"{i:040x}")) + "\n" for i in range(200))
    blob = gzip.compress(items.encode())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(blob[: len(blob) * 2 // 3])
    got = list(iter_perceval_items(cut))
    assert isinstance(got[0][1], PercevalItem)
    last = got[-1][1]
    assert isinstance(last, PercevalReject)
    assert "truncated" in last.reason and "compressed" in last.reason
    header_only = tmp_path / "header.jsonl.gz"
    header_only.write_bytes(b"\x1f\x8b")
    with pytest.raises(InputError):
        list(iter_perceval_items(header_only))
    with pytest.raises(InputError):
        list(iter_json_records(header_only))
