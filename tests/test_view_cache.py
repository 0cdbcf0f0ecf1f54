"""Graph views cached in the workspace, keyed by the data fingerprint and the graph options."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from orgnet.analysis._context import AnalysisContext
from orgnet.analysis.registry import run_analyses
from orgnet.dataset import Dataset, Window
from orgnet.graph.build import GraphOptions
from orgnet.graph.cache import KEEP, ViewCache, options_key
from orgnet.pipeline import import_sample
from orgnet.workspace import Workspace

from .conftest import SAMPLE_DATA


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("cache") / "ws")
    import_sample(SAMPLE_DATA, ws)
    return ws


def _run(ws: Workspace) -> tuple[ViewCache, object]:
    data = Dataset.from_workspace(ws)
    cache = ViewCache.for_workspace(ws.path, data.fingerprint)
    return cache, run_analyses(data, view_cache=cache)


def test_second_run_reads_every_view_from_the_cache(sample_ws: Workspace) -> None:
    first_cache, first = _run(sample_ws)
    assert first_cache.hits == 0
    stored = sorted(first_cache.folder.glob("*.edges.parquet"))
    # The whole window's four views plus the monthly and quarterly ones of the trends.
    assert len(stored) > 4
    second_cache, second = _run(sample_ws)
    # Every view asked for was on disk (a collaboration view read whole needs no coedit view).
    assert second_cache.misses == 0 and second_cache.hits >= 4
    assert sorted(second_cache.folder.glob("*.edges.parquet")) == stored
    same = {k: v for k, v in first.document.items() if k != "generated_at"}  # type: ignore[attr-defined]
    assert same == {k: v for k, v in second.document.items()  # type: ignore[attr-defined]
                    if k != "generated_at"}
    # Equal up to float rounding: polars' parallel group-by sums are not bit-reproducible.
    for name, frame in first.frames.items():  # type: ignore[attr-defined]
        assert_frame_equal(frame, second.frames[name], rel_tol=1e-9)  # type: ignore[attr-defined]


def test_cached_view_equals_the_built_one(sample_ws: Workspace) -> None:
    data = Dataset.from_workspace(sample_ws)
    cache = ViewCache.for_workspace(sample_ws.path, data.fingerprint)
    for view in ("review", "communication", "coedit", "collaboration"):
        built = AnalysisContext(data).graph(view)
        cached = AnalysisContext(data, view_cache=cache).graph(view)
        assert cached.nodes == built.nodes and cached.directed == built.directed
        assert_frame_equal(cached.edges, built.edges, rel_tol=1e-9)


def test_unreadable_entry_is_rebuilt_and_options_change_the_key(sample_ws: Workspace) -> None:
    data = Dataset.from_workspace(sample_ws)
    cache = ViewCache.for_workspace(sample_ws.path, data.fingerprint)
    opts = GraphOptions()
    AnalysisContext(data, view_cache=cache).graph("review")
    key = options_key("review", opts)
    assert key is not None
    (cache.folder / f"{key}.edges.parquet").write_bytes(b"not parquet")
    fresh = ViewCache.for_workspace(sample_ws.path, data.fingerprint)
    assert fresh.load("review", opts) is None and fresh.misses == 1
    rebuilt = AnalysisContext(data, view_cache=fresh).graph("review")
    assert_frame_equal(rebuilt.edges, AnalysisContext(data).graph("review").edges, rel_tol=1e-9)
    assert fresh.load("review", opts) is not None  # written again
    window = Window.of("2024-01-01", "2024-02-01")
    assert options_key("review", GraphOptions(window=window)) != key
    assert options_key("review", GraphOptions(exclude_bots=False)) != key
    # Decay towards "now" (open window end) is never cached; towards a fixed end it is.
    assert options_key("review", GraphOptions(half_life_days=30)) is None
    assert options_key("review", GraphOptions(window=window, half_life_days=30)) is not None


def test_only_the_newest_fingerprints_are_kept(tmp_path: Path, sample_ws: Workspace) -> None:
    data = Dataset.from_workspace(sample_ws)
    graph = AnalysisContext(data).graph("review")
    root = tmp_path / "views"
    for i in range(KEEP + 2):
        ViewCache(root, f"fp{i}").save(graph, GraphOptions())
        stamp = dt.datetime(2026, 1, 1).timestamp() + i
        os.utime(root / f"fp{i}", (stamp, stamp))
    kept = sorted(p.name for p in root.iterdir())
    assert len(kept) == KEEP and f"fp{KEEP + 1}" in kept
    # No fingerprint (a dataset not read from a workspace): nothing is cached.
    off = ViewCache(root, "")
    off.save(graph, GraphOptions())
    assert off.load("review", GraphOptions()) is None
    assert sorted(p.name for p in root.iterdir()) == kept


def test_a_commit_removes_the_views_of_earlier_states(tmp_path: Path) -> None:
    from orgnet.importers.orgchart import import_orgchart
    from orgnet.ingest import ingest

    ws = Workspace(tmp_path / "ws")
    import_sample(SAMPLE_DATA, ws)
    data = Dataset.from_workspace(ws)
    cache = ViewCache.for_workspace(ws.path, data.fingerprint)
    AnalysisContext(data, view_cache=cache).graph("review")
    assert cache.folder.is_dir()
    # Any change to the data (here: one more org chart row) is a new state.
    extra = tmp_path / "extra.csv"
    extra.write_text("employee_id,full_name,work_email,team\nZ1,Zed Extra,zed@x.example,zeta\n",
                     encoding="utf-8")
    ingest(ws, import_orgchart(extra))
    assert ws.fingerprint() != data.fingerprint
    assert not cache.folder.exists()
