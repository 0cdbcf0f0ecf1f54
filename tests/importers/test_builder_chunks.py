"""The import builder turns its row buffers into polars chunks; results do not depend on it."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from orgnet.importers import _base
from orgnet.importers.orgchart import import_orgchart
from orgnet.importers.slack import import_slack

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _tables(result: _base.ImportResult) -> dict[str, pl.DataFrame]:
    return {**result.tables, "rejects": result.rejects}


@pytest.mark.parametrize("chunk", [1, 2, 5])
def test_slack_import_same_with_tiny_chunks(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = import_slack(FIXTURES / "slack" / "export")
    monkeypatch.setattr(_base, "_CHUNK_ROWS", chunk)
    chunked = import_slack(FIXTURES / "slack" / "export")
    assert whole.tables["interactions"].height > 3 * chunk  # several chunks were made
    assert chunked.counts == whole.counts
    assert chunked.record_status == whole.record_status
    for name, frame in _tables(whole).items():
        assert_frame_equal(_tables(chunked)[name], frame, check_exact=True)


def test_orgchart_claim_removal_reaches_rows_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    path = FIXTURES / "orgchart" / "duplicate_email.csv"
    whole = import_orgchart(path)
    monkeypatch.setattr(_base, "_CHUNK_ROWS", 1)  # every row in its own chunk before removal
    chunked = import_orgchart(path)
    assert chunked.counts == whole.counts
    for name, frame in _tables(whole).items():
        assert_frame_equal(_tables(chunked)[name], frame, check_exact=True)


def test_remove_rows_across_chunks_and_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_base, "_CHUNK_ROWS", 2)
    b = _base.ImportBuilder("hris", "chart.csv")
    for i in range(5):  # two chunks of two rows, one row still buffered
        b.begin(line=i + 1)
        b.add("identities", identity_id=f"id{i}", source="email", origin="hris",
              email=f"p{i}@example.com", person_id=f"e{i % 2}")
    removed = b.remove_rows("identities", lambda r: r["person_id"] == "e0")
    assert removed == 3
    result = b.finish()
    claims = result.tables["identities"].filter(pl.col("origin") == "hris")
    assert claims["identity_id"].to_list() == ["id1", "id3"]


@pytest.mark.parametrize("parts", [
    ("github", None, "review_approved", "gh:a/b#1", "review", "1:2", "i1", "i2", None),
    ("slack", "T01", "chat_message", None, "message", "C1:1700000000.000100", "i1", None, None),
    ("git", "repo", "commit_trailer", "sha", "", "", "i1", "i2", "Reviewed-by"),
    ("mbox", None, "email_reply", None, None, None, "ü\u2028", "x\x1fy", "é"),
])
def test_event_id_is_stable_hash_of_its_parts(parts: tuple[object, ...]) -> None:
    """``ImportBuilder.event`` inlines ``stable_hash`` for speed; both must give the same id."""
    import datetime as dt

    from orgnet._text import stable_hash

    source, instance, kind, artifact, ref0, ref1, actor, target, value = parts
    b = _base.ImportBuilder(str(source), "input", instance=instance)  # type: ignore[arg-type]
    b.begin(line=1)
    got = b.event(str(kind), str(actor), ts=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                  artifact_id=artifact, target_id=target, value=value,  # type: ignore[arg-type]
                  raw_ref=(ref0, ref1))  # type: ignore[arg-type]
    assert got == stable_hash(*parts, length=20)


def test_begin_many_and_add_frame() -> None:
    b = _base.ImportBuilder("slack", "x.zip")
    b.begin(line=1, record="first")
    first = b.begin_many(["ok", "skipped", "ok"], Counter({"outside --since/--until": 1}))
    assert first == 1
    ts = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    b.add_frame("interactions", pl.DataFrame({
        "event_id": ["e1", "e2"], "source": ["slack", "slack"], "kind": ["chat_message"] * 2,
        "actor_id": ["a", "b"], "ts": [ts, ts], "weight": [1.0, 1.0], "_rec": [1, 3]}))
    r = b.finish()
    assert r.record_status == ["ok", "ok", "skipped", "ok"]
    assert r.counts.read == 4 and r.counts.skipped == 1 and r.counts.events == 2
    ev = r.tables["interactions"]
    assert ev["_rec"].to_list() == [1, 3] and ev["target_id"].null_count() == 2
    assert ev.schema["ts"] == pl.Datetime("us", "UTC")


def test_begin_many_and_add_frame_refuse_bad_input() -> None:
    b = _base.ImportBuilder("slack", "x.zip")
    with pytest.raises(ValueError, match="skip reasons"):
        b.begin_many(["ok", "skipped"])
    with pytest.raises(ValueError, match="skip reasons"):
        b.begin_many(["rejected"])
    b.begin_many(["ok"])
    with pytest.raises(ValueError, match="_rec outside"):
        b.add_frame("interactions", pl.DataFrame({"event_id": ["e"], "_rec": [5]}))
    with pytest.raises(ValueError, match="unknown column"):
        b.add_frame("interactions", pl.DataFrame({"nope": [1], "_rec": [0]}))


def test_add_values_is_add_in_schema_order() -> None:
    ts = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    rows = [("git:r@1", "i1", "a.py", 3, None), ("git:r@1", "i2", "b/c.py", None, 0)]
    by_name = _base.ImportBuilder("git", "x")
    by_position = _base.ImportBuilder("git", "x")
    for art, actor, path, added, deleted in rows:
        by_name.begin()
        by_name.add("touches", artifact_id=art, actor_id=actor, path=path, ts=ts,
                    lines_added=added, lines_deleted=deleted)
        by_position.begin()
        naive = ts.astimezone(dt.UTC).replace(tzinfo=None)
        by_position.add_values("touches", (art, actor, path, naive, added, deleted))
    want, got = by_name.finish().tables["touches"], by_position.finish().tables["touches"]
    assert want.height == 2
    assert_frame_equal(got, want)
    with pytest.raises(ValueError, match="values for"):
        by_position.add_values("touches", ("too", "few"))
