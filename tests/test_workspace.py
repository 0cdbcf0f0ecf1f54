"""Workspace: atomic commits, crash safety, the writer lock, idempotent re-import."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from orgnet.exceptions import WorkspaceError, WorkspaceLockedError
from orgnet.importers._base import Identity, ImportBuilder, ImportResult
from orgnet.ingest import ingest
from orgnet.schema import conform
from orgnet.workspace import Workspace, resolve_workspace_path


def _events(n: int, prefix: str = "e") -> pl.DataFrame:
    return conform("interactions", pl.DataFrame({
        "event_id": [f"{prefix}{i}" for i in range(n)], "source": ["git"] * n,
        "kind": ["commit_authored"] * n, "actor_id": ["i1"] * n,
        "ts": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * n, "weight": [1.0] * n,
    }))


def test_workspace_path_from_option_env_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORGNET_WORKSPACE", raising=False)
    assert resolve_workspace_path(None) == Path("orgnet-workspace")
    monkeypatch.setenv("ORGNET_WORKSPACE", "/tmp/from-env")
    assert resolve_workspace_path(None) == Path("/tmp/from-env")
    assert resolve_workspace_path("explicit") == Path("explicit")


def test_empty_workspace_reads_empty_tables(workspace: Workspace) -> None:
    assert not workspace.exists()
    assert workspace.read("people").height == 0
    assert workspace.meta()["imports"] == []


def test_commit_writes_one_parquet_per_table_and_meta(workspace: Workspace) -> None:
    with workspace.transaction() as tx:
        tx.append("interactions", _events(3))
    meta = json.loads(workspace.meta_path.read_text())
    assert meta["orgnet_version"]
    assert len(meta["tables"]["interactions"]) == 1
    assert workspace.read("interactions").height == 3
    assert sorted(p.suffix for p in (workspace.path / "tables").iterdir()) == [".parquet"]


def test_interrupted_write_leaves_previous_state_readable(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    with workspace.transaction() as tx:
        tx.append("interactions", _events(2))
        tx.replace("units", conform("units", pl.DataFrame(
            {"unit_id": ["u"], "name": ["U"], "kind": ["team"], "source": ["hris"]})))
    before = workspace.meta()

    calls = {"n": 0}
    real = pl.DataFrame.write_parquet

    def crash_on_second(self: pl.DataFrame, *args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full (simulated)")
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.DataFrame, "write_parquet", crash_on_second)
    with pytest.raises(OSError, match="simulated"), workspace.transaction() as tx:
        tx.append("interactions", _events(5, prefix="x"))
        tx.replace("units", conform("units", pl.DataFrame(
            {"unit_id": ["v"], "name": ["V"], "kind": ["team"], "source": ["hris"]})))
    monkeypatch.undo()
    assert workspace.meta() == before
    workspace.validate()
    assert workspace.read("interactions").height == 2
    assert workspace.read("units")["unit_id"].to_list() == ["u"]
    # Files of the failed transaction are gone.
    live = {n for names in before["tables"].values() for n in names}
    assert {p.name for p in (workspace.path / "tables").iterdir()} == live


_KILL_SCRIPT = r"""
import datetime as dt, os, signal, sys
import polars as pl
from orgnet.schema import conform
from orgnet.workspace import Workspace, atomic_write_bytes
import orgnet.workspace as w
ws = Workspace(sys.argv[1])
def die(*a, **k):
    os.kill(os.getpid(), signal.SIGKILL)
w.atomic_write_bytes = die   # killed right before the commit point
df = conform("interactions", pl.DataFrame({
    "event_id": ["k1"], "source": ["git"], "kind": ["commit_authored"], "actor_id": ["i"],
    "ts": [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)], "weight": [1.0]}))
with ws.transaction() as tx:
    tx.append("interactions", df)
"""


def test_sigkill_before_commit_keeps_old_state(workspace: Workspace) -> None:
    with workspace.transaction() as tx:
        tx.append("interactions", _events(1))
    proc = subprocess.run([sys.executable, "-c", _KILL_SCRIPT, str(workspace.path)],
                          check=False, capture_output=True)
    assert proc.returncode == -9
    workspace.validate()
    assert workspace.read("interactions")["event_id"].to_list() == ["e0"]
    # The next writer removes the orphaned part file.
    with workspace.transaction() as tx:
        tx.append("interactions", _events(1, prefix="z"))
    assert workspace.read("interactions").height == 2
    live = {n for names in workspace.meta()["tables"].values() for n in names}
    assert {p.name for p in (workspace.path / "tables").iterdir()} == live


def _append_many(path: str, prefix: str, rounds: int) -> None:
    ws = Workspace(path)
    for r in range(rounds):
        b = ImportBuilder("git", f"{prefix}.log")
        b.begin(line=1)
        a = b.identity(Identity("git", f"{prefix}@x.org", email=f"{prefix}@x.org"))
        b.event("commit_authored", a, ts=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                raw_ref=("commit", f"{prefix}-{r}"))
        ingest(ws, b.finish(), sha256=f"{prefix}-{r}")


def test_concurrent_writers_are_serialised(tmp_path: Path) -> None:
    path = str(tmp_path / "ws")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(path, p, 6)) for p in ("a", "b", "c")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    ws = Workspace(path)
    ws.validate()
    assert ws.read("interactions").height == 18
    assert len(ws.imports()) == 18
    assert ws.meta()["generation"] == 18


def test_lock_timeout_raises_a_clear_error(workspace: Workspace) -> None:
    other = Workspace(workspace.path, lock_timeout=0.2)
    with (workspace.lock(), pytest.raises(WorkspaceLockedError, match="another orgnet process"),
          other.lock()):
        pass


def test_corrupt_meta_is_a_workspace_error(workspace: Workspace) -> None:
    workspace.path.mkdir(parents=True)
    workspace.meta_path.write_text("{not json")
    with pytest.raises(WorkspaceError, match="cannot read the workspace metadata"):
        workspace.read("people")


def _result() -> ImportResult:
    b = ImportBuilder("git", "repo.log")
    b.begin(line=1, record="commit 1")
    a = b.identity(Identity("git", "ana@x.org", email="ana@x.org", name="Ana Ruiz"))
    r = b.identity(Identity("git", "bo@x.org", email="bo@x.org", name="Bo Li"))
    ts = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
    b.event("commit_authored", a, ts=ts, artifact_id="git:r@1", raw_ref=("commit", "1"))
    b.event("commit_trailer", r, target_id=a, ts=ts, artifact_id="git:r@1", value="Reviewed-by",
            raw_ref=("commit", "1"))
    b.artifact("git:r@1", "commit", author_id=a, opened_at=ts, outcome="committed")
    b.add("touches", artifact_id="git:r@1", actor_id=a, path="src/a.py", ts=ts, lines_added=3)
    b.begin(line=9, record="commit 2")
    b.reject("bad date", field="author_date", raw="yesterday")
    b.begin(line=12, record="commit 3")
    b.skip("outside --since/--until")
    return b.finish()


def test_reimport_changes_nothing_and_counts_add_up(workspace: Workspace) -> None:
    first = ingest(workspace, _result(), sha256="abc")
    c = first.counts
    assert (c.read, c.imported, c.duplicate, c.rejected, c.skipped) == (3, 1, 0, 1, 1)
    assert c.adds_up()
    snapshot = {t: workspace.read(t) for t in ("interactions", "artifacts", "touches",
                                                "identities", "people", "rejects")}
    second = ingest(workspace, _result(), sha256="abc")
    c2 = second.counts
    assert (c2.read, c2.imported, c2.duplicate, c2.rejected, c2.skipped) == (3, 0, 1, 1, 1)
    assert c2.adds_up()
    assert all(v == 0 for v in second.rows_added.values())
    for table, before in snapshot.items():
        assert workspace.read(table).equals(before), table
    log = workspace.imports()
    assert len(log) == 2
    entry = log[0]
    assert entry["sha256"] == "abc" and entry["source_kind"] == "git"
    assert set(entry["counts"]) >= {"read", "imported", "duplicate", "rejected"}
    assert os.path.basename(entry["file"]) == "repo.log"


def _table_files(ws: Workspace, table: str) -> list[str]:
    return sorted(p.name for p in (ws.path / "tables").glob(f"{table}-*.parquet"))


def test_staged_rows_are_written_in_a_part_before_the_commit(workspace: Workspace) -> None:
    """An append with ``stage=True`` is written at once (the transaction keeps only the file's
    path); readers of the workspace see it only after the commit, the transaction at once, and
    the parts keep the order of the appends, staged or not."""
    with workspace.transaction() as tx:
        tx.append("interactions", _events(2, prefix="a"))
    committed = _table_files(workspace, "interactions")
    with workspace.transaction() as tx:
        tx.append("interactions", _events(1, prefix="p"))  # held in memory ...
        assert _table_files(workspace, "interactions") == committed
        tx.append("interactions", _events(3, prefix="b"), stage=True)  # ... until this one
        staged = [n for n in _table_files(workspace, "interactions") if n not in committed]
        assert len(staged) == 2  # on disk already ...
        assert not tx._pending  # ... and not held in memory
        assert workspace.read("interactions").height == 2  # not yet the workspace's
        tx.append("interactions", _events(0, prefix="c"), stage=True)  # nothing to write
        tx.append("interactions", _events(1, prefix="d"))  # staged too, after the others
        assert len(_table_files(workspace, "interactions")) == 4
        order = ["a0", "a1", "p0", "b0", "b1", "b2", "d0"]
        assert tx.read("interactions")["event_id"].to_list() == order
        assert tx.scan("interactions").select(pl.len()).collect().item() == 7
    assert workspace.read("interactions")["event_id"].to_list() == order
    assert len(workspace.meta()["tables"]["interactions"]) == 4
    assert _table_files(workspace, "interactions") == sorted(
        workspace.meta()["tables"]["interactions"])


def test_staged_parts_go_with_an_abort_or_a_replace(workspace: Workspace) -> None:
    with workspace.transaction() as tx:
        tx.append("interactions", _events(2, prefix="a"))
    before = workspace.meta()
    with pytest.raises(RuntimeError, match="stop"), workspace.transaction() as tx:
        tx.append("interactions", _events(3, prefix="b"), stage=True)
        assert len(_table_files(workspace, "interactions")) == 2
        raise RuntimeError("stop")
    assert workspace.meta() == before
    assert _table_files(workspace, "interactions") == before["tables"]["interactions"]
    with workspace.transaction() as tx:
        tx.append("interactions", _events(3, prefix="b"), stage=True)
        tx.replace("interactions", _events(1, prefix="r"))
        tx.append("interactions", _events(1, prefix="s"), stage=True)
        assert tx.read("interactions")["event_id"].to_list() == ["r0", "s0"]
    assert workspace.read("interactions")["event_id"].to_list() == ["r0", "s0"]
    assert _table_files(workspace, "interactions") == workspace.meta()["tables"]["interactions"]
