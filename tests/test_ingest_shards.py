"""``ingest`` of a :class:`ShardedResult`: the shards one at a time, the merged result's outcome."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from orgnet.importers._base import ImportResult, ShardedResult, ShardError, merge_results
from orgnet.importers.git import import_git
from orgnet.importers.orgchart import import_orgchart
from orgnet.importers.slack import import_slack
from orgnet.ingest import ImportSummary, ingest
from orgnet.schema import SCHEMAS
from orgnet.workspace import Workspace

from .conftest import SAMPLE_DATA
from .test_crash_safety import ORGCHART, write_log


def _start(path: Path, chart: Path) -> Workspace:
    ws = Workspace(path)
    ingest(ws, import_orgchart(chart))
    return ws


def _sharded(parts: list[ImportResult], fallback: ImportResult | None = None) -> ShardedResult:
    def never() -> ImportResult:
        raise AssertionError("the fallback is not wanted here")

    return ShardedResult(len(parts), iter(parts),
                         (lambda: fallback) if fallback is not None else never)


def _same(a: Workspace, b: Workspace, sa: ImportSummary, sb: ImportSummary) -> None:
    assert sa.counts.as_dict() == sb.counts.as_dict()
    assert sa.rows_added == sb.rows_added
    assert list(sa.rows_added) == list(sb.rows_added)
    assert sa.notes == sb.notes and sa.source_file == sb.source_file
    for table in SCHEMAS:
        left, right = a.read(table), b.read(table)
        if table == "rejects":  # import ids are random
            left, right = left.drop("import_id"), right.drop("import_id")
        assert left.equals(right), table


@pytest.fixture()
def chart(tmp_path: Path) -> Path:
    path = tmp_path / "hris.csv"
    path.write_text(ORGCHART, encoding="utf-8")
    return path


def test_slack_shards_ingest_as_their_merged_result(tmp_path: Path) -> None:
    """The sample's Slack export in four shards, one more repeated (its rows are then
    duplicates of an earlier part's), and then all again (every record a duplicate)."""
    src = SAMPLE_DATA / "slack.zip"
    parts = [import_slack(src, shard=(k, 4)) for k in range(4)]
    assert sum(1 for p in parts if p.counts.read) >= 3
    parts.append(import_slack(src, shard=(1, 4)))
    a = _start(tmp_path / "a", SAMPLE_DATA / "hris.csv")
    b = _start(tmp_path / "b", SAMPLE_DATA / "hris.csv")
    sa = ingest(a, _sharded(parts))
    sb = ingest(b, merge_results(parts))
    assert sa.counts.duplicate >= parts[1].counts.read - parts[1].counts.skipped > 0
    _same(a, b, sa, sb)
    # Each shard's events in their own staged part, committed in order.
    assert len(a.meta()["tables"]["interactions"]) == sum(
        1 for p in parts if p.tables["interactions"].height) - 1  # the repeat adds nothing
    sa, sb = ingest(a, _sharded(parts)), ingest(b, merge_results(parts))
    assert sa.counts.imported == 0 and sa.counts.duplicate > 0
    _same(a, b, sa, sb)


def test_shards_with_upserted_tables_and_shared_rows(tmp_path: Path, chart: Path) -> None:
    """Parts sharing commits: artifacts (upserted) are merged once, events and touches part by
    part, and the records of a later part whose rows an earlier one stored are duplicates."""
    def log(name: str, commits: int, offset: int = 0) -> ImportResult:
        return import_git(write_log(tmp_path / name, commits=commits, offset=offset),
                          repo_name="acme/r")

    one, two = log("one.gitlog", 40), log("two.gitlog", 60)  # the 40 and 20 more
    three = log("three.gitlog", 30, offset=3)
    parts = [one, two, three]
    a, b = _start(tmp_path / "a", chart), _start(tmp_path / "b", chart)
    sa, sb = ingest(a, _sharded(parts)), ingest(b, merge_results(parts))
    assert sa.counts.duplicate >= 40
    assert sa.rows_added["artifacts"] > 0 and sa.rows_added["touches"] > 0
    _same(a, b, sa, sb)


def test_shards_are_held_one_at_a_time(tmp_path: Path) -> None:
    """When the next shard is asked for, the last one is gone and its events are on disk."""
    src = SAMPLE_DATA / "slack.zip"
    ws = _start(tmp_path / "ws", SAMPLE_DATA / "hris.csv")
    committed = set(ws.meta()["tables"].get("interactions", []))
    refs: list[weakref.ref[ImportResult]] = []
    staged: list[int] = []

    def parts() -> Iterator[ImportResult]:
        for k in range(3):
            gc.collect()
            assert all(ref() is None for ref in refs), f"shard {k - 1} still held"
            staged.append(len({p.name for p in (ws.path / "tables").glob("interactions-*")}
                              - committed))
            part = import_slack(src, shard=(k, 3))
            refs.append(weakref.ref(part))
            yield part
            del part

    ingest(ws, ShardedResult(3, parts(), lambda: import_slack(src)))
    assert staged == [0, 1, 2]


def test_a_shard_that_cannot_be_had_means_the_whole_file_read_again(
        tmp_path: Path, chart: Path) -> None:
    log = write_log(tmp_path / "c.gitlog", commits=50)
    whole = import_git(log)
    a, b = _start(tmp_path / "a", chart), _start(tmp_path / "b", chart)
    before = {p.name for p in (tmp_path / "a" / "tables").iterdir()}

    def failing() -> Iterator[ImportResult]:
        yield import_git(write_log(tmp_path / "part.gitlog", commits=20))
        assert {p.name for p in (tmp_path / "a" / "tables").iterdir()} != before  # staged
        raise ShardError("worker died")

    sa = ingest(a, ShardedResult(2, failing(), lambda: import_git(log)))
    sb = ingest(b, whole)
    _same(a, b, sa, sb)
    assert len(a.meta()["tables"]["interactions"]) == 1  # the staged part went with the abort
    live = {n for names in a.meta()["tables"].values() for n in names}
    assert {p.name for p in (tmp_path / "a" / "tables").iterdir()} == live


def test_any_other_failure_leaves_the_workspace_as_it_was(tmp_path: Path, chart: Path) -> None:
    ws = _start(tmp_path / "ws", chart)
    before = ws.meta()

    def failing() -> Iterator[ImportResult]:
        yield import_git(write_log(tmp_path / "part.gitlog", commits=20))
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        ingest(ws, ShardedResult(2, failing(), lambda: pytest.fail("no fallback")))
    assert ws.meta() == before
    live = {n for names in before["tables"].values() for n in names}
    assert {p.name for p in (tmp_path / "ws" / "tables").iterdir()} == live


def test_strict_sees_every_shard_before_writing(tmp_path: Path, chart: Path) -> None:
    from orgnet.exceptions import StrictImportError

    good = import_git(write_log(tmp_path / "good.gitlog", commits=10))
    bad_log = tmp_path / "bad.gitlog"
    bad_log.write_text(write_log(tmp_path / "x.gitlog", commits=3).read_text()
                       + "commit zzzz\nAuthor: nobody\n\n    broken\n", encoding="utf-8")
    bad = import_git(bad_log)
    assert bad.rejects.height
    ws = _start(tmp_path / "ws", chart)
    before = ws.meta()
    with pytest.raises(StrictImportError, match="with --strict"):
        ingest(ws, _sharded([good, bad]), strict=True)
    assert ws.meta() == before


def test_announced_and_given_parts_must_agree(tmp_path: Path, chart: Path) -> None:
    part = import_git(write_log(tmp_path / "c.gitlog", commits=5))
    ws = _start(tmp_path / "ws", chart)
    with pytest.raises(ValueError, match="fewer given"):
        ingest(ws, ShardedResult(3, iter([part, part]), lambda: part))
    with pytest.raises(ValueError, match="more parts"):
        ingest(ws, ShardedResult(2, iter([part, part, part]), lambda: part))
    assert pl.DataFrame(ws.read("interactions")).height == 0
