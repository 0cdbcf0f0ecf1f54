"""The distributed-engine path of docs/scaling.md: the events-to-edges SQL on DuckDB gives the
same edge tables as orgnet's polars path; and repository hashing does not read git objects."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from orgnet.dataset import Dataset, Window
from orgnet.graph.build import GraphOptions, build_view
from orgnet.graph.sql import edges_sql
from orgnet.pipeline import import_sample
from orgnet.workspace import Workspace, file_sha256

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("scaling") / "ws")
    import_sample(SAMPLE, ws)
    return ws


@pytest.mark.parametrize("view", ["review", "communication", "coedit"])
@pytest.mark.parametrize("windowed", [False, True])
def test_duckdb_edges_equal_polars(sample_ws: Workspace, view: str, windowed: bool) -> None:
    duckdb = pytest.importorskip("duckdb", reason="duckdb not installed (pip install duckdb)")
    from orgnet.graph.sql import duckdb_edges

    window = Window.of(dt.date(2026, 2, 1), dt.date(2026, 4, 1)) if windowed else Window()
    options = GraphOptions(window=window)
    expected = build_view(Dataset.from_workspace(sample_ws), view, options).edges  # type: ignore[arg-type]
    got = duckdb_edges(sample_ws, view, options, connection=duckdb.connect())
    assert expected.height > 50
    assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


def test_duckdb_reads_a_workspace_whose_path_has_quotes(sample_ws: Workspace,
                                                        tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb", reason="duckdb not installed (pip install duckdb)")
    import shutil

    from orgnet.graph.sql import duckdb_edges

    moved = tmp_path / "o'brien \"team\"" / "ws"
    shutil.copytree(sample_ws.path, moved)
    expected = duckdb_edges(sample_ws, "review", connection=duckdb.connect())
    got = duckdb_edges(moved, "review", connection=duckdb.connect())
    assert expected.height > 50
    assert_frame_equal(got, expected)


def test_sql_is_one_statement_without_engine_specific_functions() -> None:
    sql = edges_sql("communication")
    assert sql.startswith("WITH ") and sql.count(";") == 0
    for word in ("read_parquet", "QUALIFY", "LIST(", "STRUCT"):
        assert word not in sql
    with pytest.raises(ValueError, match="half_life_days"):
        edges_sql("review", GraphOptions(half_life_days=30))
    with pytest.raises(ValueError, match="unknown view"):
        edges_sql("collaboration")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com",
                        "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.com",
                        "HOME": str(repo), "PATH": "/usr/bin:/bin"})


def test_repository_hash_follows_refs_not_objects(tmp_path: Path) -> None:
    try:
        _git(tmp_path, "init", "-q", "-b", "main")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not available")
    (tmp_path / "a.txt").write_text("one\n")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "commit", "-q", "-m", "one")
    first = file_sha256(tmp_path)
    # Unreferenced objects and work-tree edits do not change it: nothing the importer reads did.
    (tmp_path / ".git" / "objects" / "zz").mkdir()
    (tmp_path / ".git" / "objects" / "zz" / "junk").write_bytes(b"x" * 1000)
    (tmp_path / "a.txt").write_text("edited\n")
    assert file_sha256(tmp_path) == first
    _git(tmp_path, "commit", "-q", "-am", "two")
    second = file_sha256(tmp_path)
    assert second != first
    _git(tmp_path, "branch", "feature")
    assert file_sha256(tmp_path) != second
    # A plain directory is still hashed by content.
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "f").write_text("1")
    before = file_sha256(plain)
    (plain / "f").write_text("2")
    assert file_sha256(plain) != before
    assert pl.Series([first]).str.len_chars()[0] == 64
