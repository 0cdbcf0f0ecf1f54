"""Parallel import (worker processes, Slack shards) gives the workspace of a serial import."""

from __future__ import annotations

from pathlib import Path

import pytest

from orgnet import pipeline
from orgnet.pipeline import import_sample
from orgnet.schema import SCHEMAS
from orgnet.workspace import Workspace

from .conftest import SAMPLE_DATA


def test_workers_and_shards_give_the_serial_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = import_sample(SAMPLE_DATA, tmp_path / "serial")
    # Every file through the pool and the Slack export in shards, however small.
    monkeypatch.setattr(pipeline, "_POOL_BYTES", 0)
    monkeypatch.setattr(pipeline, "_SHARD_BYTES", 0)
    parallel = import_sample(SAMPLE_DATA, tmp_path / "parallel", workers=2)
    assert [s.counts.as_dict() for s in parallel] == [s.counts.as_dict() for s in serial]
    a, b = Workspace(tmp_path / "serial"), Workspace(tmp_path / "parallel")
    for table in SCHEMAS:
        left, right = a.read(table), b.read(table)
        if table == "rejects":  # import ids carry the import time
            left, right = left.drop("import_id"), right.drop("import_id")
        assert left.height > 0 or table == "rejects", table
        assert left.equals(right), table
