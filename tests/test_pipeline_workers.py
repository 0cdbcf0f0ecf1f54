"""Parallel import (worker processes, Slack shards) gives the workspace of a serial import."""

from __future__ import annotations

import os
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
    # A failed shard or plan would be made good here (re-run, or unplanned shards): neither.
    reruns: list[str] = []
    plans: list[object] = []
    real_run, real_plan = pipeline._run_importer, pipeline._packed_listings
    monkeypatch.setattr(pipeline, "_run_importer",
                        lambda t, p, o: (reruns.append(p.name), real_run(t, p, o))[1])
    monkeypatch.setattr(pipeline, "_packed_listings",
                        lambda t, p, n: (plans.append(real_plan(t, p, n)), plans[-1])[1])
    parallel = import_sample(SAMPLE_DATA, tmp_path / "parallel", workers=2)
    assert reruns == []
    assert len(plans) == 1 and plans[0] is not None
    listings = [packed.unpack() for packed in plans[0]]  # type: ignore[attr-defined]
    assert [x.shard for x in listings] == [(k, len(listings)) for k in range(len(listings))]
    assert all(x.folders is not None for x in listings) and len(listings) >= 3
    assert [s.counts.as_dict() for s in parallel] == [s.counts.as_dict() for s in serial]
    a, b = Workspace(tmp_path / "serial"), Workspace(tmp_path / "parallel")
    for table in SCHEMAS:
        left, right = a.read(table), b.read(table)
        if table == "rejects":  # import ids carry the import time
            left, right = left.drop("import_id"), right.drop("import_id")
        assert left.height > 0 or table == "rejects", table
        assert left.equals(right), table


def test_pool_results_are_used_not_recomputed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker result that fails to arrive is silently re-run here; make sure none had to be."""
    reruns: list[str] = []
    real = pipeline._run_importer

    def counting(target: str, path: Path, options: dict[str, object]) -> object:
        reruns.append(path.name)
        return real(target, path, options)

    spill_dirs: list[str] = []
    real_mkdtemp = pipeline.tempfile.mkdtemp

    def recording_mkdtemp(prefix: str, dir: str | None) -> str:
        spill_dirs.append(real_mkdtemp(prefix=prefix, dir=dir))
        return spill_dirs[-1]

    handed_over: list[bool] = []
    real_unspill = pipeline._unspill

    def counting_unspill(obj: object) -> object:
        handed_over.append(isinstance(obj, pipeline._Spilled))
        return real_unspill(obj)

    monkeypatch.setattr(pipeline, "_unspill", counting_unspill)
    monkeypatch.setattr(pipeline, "_run_importer", counting)
    monkeypatch.setattr(pipeline.tempfile, "mkdtemp", recording_mkdtemp)
    monkeypatch.setattr(pipeline, "_POOL_BYTES", 0)
    summaries = import_sample(SAMPLE_DATA, tmp_path / "ws", workers=2)
    assert len(summaries) >= 4
    assert reruns == []  # every file came back from a worker process
    # ... through Arrow files, not pickled whole (the sample's five files, Slack unsharded)
    assert handed_over == [True] * len(summaries)
    assert len(spill_dirs) == 1 and not Path(spill_dirs[0]).exists()  # removed afterwards


def test_spilled_tables_round_trip_and_fall_back_when_unwritable(tmp_path: Path) -> None:
    target = "orgnet.importers.owners:import_owners"
    path = SAMPLE_DATA / "CODEOWNERS"
    opts = {"container": "exampleco/monorepo"}
    direct = pipeline._run_importer(target, path, opts)
    spilled = pipeline._run_importer_spilled(target, path, opts, str(tmp_path))
    assert isinstance(spilled, pipeline._Spilled) and spilled.result.tables == {}
    assert sorted(p.name.split("-", 1)[1] for p in tmp_path.iterdir()) == sorted(
        f"{name}.arrow" for name in direct.tables)
    back = pipeline._unspill(spilled)
    assert list(back.tables) == list(direct.tables)
    for name, frame in direct.tables.items():
        assert back.tables[name].equals(frame), name
    assert back.record_status == direct.record_status
    assert list(tmp_path.iterdir()) == []  # the main process removed the files it read
    # A spill directory that cannot be written: the result comes back whole (to be pickled).
    whole = pipeline._run_importer_spilled(target, path, opts, str(tmp_path / "missing"))
    assert not isinstance(whole, pipeline._Spilled)
    assert all(whole.tables[n].equals(f) for n, f in direct.tables.items())


def test_spilled_frames_are_mapped_and_outlive_their_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The main process maps a worker's table (no copy); the frame keeps every type and value
    after its file is removed, as the hand-over does at once."""
    import polars as pl

    if os.name == "posix":  # mapped there: polars' copying reader is not used

        def no_copy(*_a: object, **_k: object) -> None:
            raise AssertionError("read_ipc copies the table")

        monkeypatch.setattr(pl, "read_ipc", no_copy)

    frame = pl.DataFrame({
        "kind": pl.Series(["review", "chat", "review"], dtype=pl.Enum(["chat", "review"])),
        "cat": pl.Series(["a", "b", None], dtype=pl.Categorical),
        "ts": pl.Series([1, 2, 3]).cast(pl.Datetime("us", "UTC")),
        "text": ["x" * 40, None, "z"],
        "ids": [[1, 2], [], None],
        "w": [0.5, None, 2.0],
    })
    frame = pl.concat([frame, frame.reverse()], rechunk=False)  # two record batches
    file = tmp_path / "t.arrow"
    frame.write_ipc(file, compression="uncompressed")
    back = pipeline._read_spilled(str(file))
    file.unlink()
    assert back.schema == frame.schema
    assert back.equals(frame)
    assert back.select(pl.col("text").str.len_bytes().sum()).item() == 2 * 41
    # A table with no rows keeps its schema (a file with no record batch).
    frame.clear().write_ipc(file, compression="uncompressed")
    empty = pipeline._read_spilled(str(file))
    assert empty.height == 0 and empty.schema == frame.schema


def test_spill_directories_of_killed_imports_are_removed(tmp_path: Path) -> None:
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead_pid = int(gone.stdout)
    stale = tmp_path / f"orgnet-import-{dead_pid}-abc123"
    live = tmp_path / f"orgnet-import-{os.getpid()}-def456"
    other = tmp_path / f"not-orgnet-{dead_pid}-abc"
    for d in (stale, live, other):
        d.mkdir()
        (d / "x-identities.arrow").write_bytes(b"names")
    pipeline._remove_stale_spills(str(tmp_path))
    assert not stale.exists()
    assert live.exists() and other.exists()


def test_spill_root_avoids_a_small_dev_shm(monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(pipeline, "_SHM_MIN_FREE", 1 << 62)  # no /dev/shm is that large
    assert pipeline._spill_root() == tempfile.gettempdir()


def test_no_spill_directory_means_pickled_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(**_kwargs: object) -> str:
        raise PermissionError("read-only temporary directory")

    monkeypatch.setattr(pipeline.tempfile, "mkdtemp", refuse)
    monkeypatch.setattr(pipeline, "_POOL_BYTES", 0)
    serial = import_sample(SAMPLE_DATA, tmp_path / "serial")
    handed_over: list[bool] = []
    real_unspill = pipeline._unspill

    def counting_unspill(obj: object) -> object:
        handed_over.append(isinstance(obj, pipeline._Spilled))
        return real_unspill(obj)

    monkeypatch.setattr(pipeline, "_unspill", counting_unspill)
    pooled = import_sample(SAMPLE_DATA, tmp_path / "pooled", workers=2)
    assert [s.counts.as_dict() for s in pooled] == [s.counts.as_dict() for s in serial]
    # Every result came back from a worker, pickled whole (not re-run here after a failure).
    assert handed_over == [False] * len(pooled)


def test_packed_listings_keep_the_shared_lookups_once(tmp_path: Path) -> None:
    """Each shard's listing is pickled once; the users and conversations the plan packed are
    kept once beside them (not in every pickle) and put back on unpacking."""
    import pickle

    z = SAMPLE_DATA / "slack.zip"
    packed = pipeline._packed_listings("orgnet.importers.slack:import_slack", z, 3)
    assert packed is not None and len(packed) == 3
    assert packed[0].lookups is None  # the first shard reads the files for its records
    shared = packed[1].lookups
    assert shared is not None and packed[2].lookups is shared
    assert all(pickle.loads(p.blob).lookups is None for p in packed)
    listings = [p.unpack() for p in packed]
    assert listings[0].lookups is None and listings[1].lookups is shared
    assert [x.shard for x in listings] == [(0, 3), (1, 3), (2, 3)]


def test_workers_run_polars_and_duckdb_with_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The import's workers already fill the cores: each gets one polars thread (DuckDB
    follows), unless the user chose a number; this process's environment is left as it was."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import polars as pl

    from orgnet.importers._base import duckdb_connect

    monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        with pipeline._worker_environment():
            future = pool.submit(pl.thread_pool_size)
        assert future.result() == 1
        assert "POLARS_MAX_THREADS" not in os.environ
    monkeypatch.setenv("POLARS_MAX_THREADS", "3")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        with pipeline._worker_environment():
            future = pool.submit(pl.thread_pool_size)
        assert future.result() == 3
        assert os.environ["POLARS_MAX_THREADS"] == "3"
    con = duckdb_connect()
    try:
        threads = con.execute("SELECT current_setting('threads')").fetchall()
        assert int(threads[0][0]) == pl.thread_pool_size()
    finally:
        con.close()


def _jemalloc_setting() -> str:
    return os.environ.get("_RJEM_MALLOC_CONF", "")


def test_workers_keep_freed_pages_for_reuse_unless_the_user_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """polars returns freed pages after half a second; the workers keep them five seconds
    (their next batch reuses them), a setting of the user's is kept, and this process's
    environment is left as it was."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    for before in (None, pipeline._POLARS_JEMALLOC):
        if before is None:
            monkeypatch.delenv("_RJEM_MALLOC_CONF", raising=False)
        else:
            monkeypatch.setenv("_RJEM_MALLOC_CONF", before)
        with ProcessPoolExecutor(1, mp_context=ctx) as pool:
            with pipeline._worker_environment():
                future = pool.submit(_jemalloc_setting)
            # polars puts its own setting first; jemalloc takes the last value of an option
            assert future.result().endswith("," + pipeline._WORKER_JEMALLOC)
        assert os.environ.get("_RJEM_MALLOC_CONF") == before
    mine = pipeline._POLARS_JEMALLOC + ",dirty_decay_ms:0"
    monkeypatch.setenv("_RJEM_MALLOC_CONF", mine)
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        with pipeline._worker_environment():
            future = pool.submit(_jemalloc_setting)
        assert future.result().endswith(",dirty_decay_ms:0")
        assert pipeline._WORKER_JEMALLOC not in future.result()
    assert os.environ["_RJEM_MALLOC_CONF"] == mine


def test_polars_own_allocator_setting_is_the_one_the_workers_replace() -> None:
    """The workers' setting replaces polars' own only when the environment holds exactly that
    (else it is the user's): a polars that changes its default fails here, not silently."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("_RJEM_MALLOC_CONF", "POLARS_THP")}
    out = subprocess.run(
        [sys.executable, "-c",
         "import os, polars; print(os.environ.get('_RJEM_MALLOC_CONF', ''))"],
        env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == pipeline._POLARS_JEMALLOC


def test_no_process_pool_means_a_serial_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where process pools cannot be made (no working ``sem_open``, say), every file is read in
    this process instead of the import failing."""
    serial = import_sample(SAMPLE_DATA, tmp_path / "serial")

    def no_pool(*_args: object, **_kwargs: object) -> object:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", no_pool)
    monkeypatch.setattr(pipeline, "_POOL_BYTES", 0)
    ran: list[str] = []
    real_run = pipeline._run_importer
    monkeypatch.setattr(pipeline, "_run_importer",
                        lambda t, p, o: (ran.append(p.name), real_run(t, p, o))[1])
    fallback = import_sample(SAMPLE_DATA, tmp_path / "fallback", workers=2)
    assert ran == [Path(s.source_file).name for s in serial]
    assert [s.counts.as_dict() for s in fallback] == [s.counts.as_dict() for s in serial]


def test_default_workers_are_cores_capped_by_available_memory(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "usable_cores", lambda: 64)
    gib = pipeline.WORKER_MEMORY
    for available, expected in ((10 * gib, 9), (gib // 2, 1), (1000 * gib, 64), (None, 64)):
        monkeypatch.setattr(pipeline, "available_memory", lambda a=available: a)
        assert pipeline.default_workers() == expected, available  # one share kept for this one


def test_available_memory_and_cores_read_the_kernel_and_the_container(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"/proc/meminfo": "MemTotal: 1000 kB\nMemFree: 10 kB\nMemAvailable: 800 kB\n"}
    monkeypatch.setattr(pipeline, "_read_text", lambda path: files.get(path, ""))
    assert pipeline.available_memory() == 800 * 1024  # page cache counts, not only MemFree
    files["/sys/fs/cgroup/memory.max"] = "409600\n"
    files["/sys/fs/cgroup/memory.current"] = "102400\n"
    assert pipeline.available_memory() == 307_200  # the container's limit is lower
    files["/sys/fs/cgroup/memory.max"] = "max\n"
    assert pipeline.available_memory() == 800 * 1024
    monkeypatch.setattr(pipeline.os, "sched_getaffinity", lambda _pid: set(range(16)),
                        raising=False)
    assert pipeline.usable_cores() == 16
    files["/sys/fs/cgroup/cpu.max"] = "250000 100000\n"  # docker --cpus 2.5
    assert pipeline.usable_cores() == 3
    files["/sys/fs/cgroup/cpu.max"] = "max 100000\n"
    assert pipeline.usable_cores() == 16


def probe_importer(path: Path, **_options: object) -> object:
    """A test importer (run in a worker): records its polars and DuckDB thread counts."""
    import polars as pl

    from orgnet.importers._base import ImportBuilder, duckdb_connect

    con = duckdb_connect()
    try:
        duck = int(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
    finally:
        con.close()
    result = ImportBuilder("github", str(path)).finish()
    result.tables["probe"] = pl.DataFrame({"pid": [os.getpid()], "polars": [pl.thread_pool_size()],
                                           "duckdb": [duck],
                                           "env": [os.environ.get("POLARS_MAX_THREADS")]})
    return result


def test_pool_workers_get_one_polars_and_duckdb_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the import's own pool: the workers' polars and DuckDB pools have one thread."""
    monkeypatch.delenv("POLARS_MAX_THREADS", raising=False)
    monkeypatch.setattr(pipeline, "_POOL_BYTES", 0)
    source = tmp_path / "input.json"
    source.write_text("{}", encoding="utf-8")
    target = f"{__name__}:probe_importer"
    jobs = [(f"f{i}", source, target, {}) for i in range(3)]
    probes = [r.tables["probe"] for r in pipeline._results(jobs, 2)]
    assert all(p["pid"][0] != os.getpid() for p in probes)  # ran in workers
    assert [(p["polars"][0], p["duckdb"][0], p["env"][0]) for p in probes] == [(1, 1, "1")] * 3
    assert "POLARS_MAX_THREADS" not in os.environ


def test_failed_worker_start_means_a_serial_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that cannot be started (EAGAIN under a process limit) is not an import error."""
    serial = import_sample(SAMPLE_DATA, tmp_path / "serial")
    real_pool = pipeline.ProcessPoolExecutor

    class Refusing(real_pool):  # type: ignore[misc,valid-type]
        def submit(self, *args: object, **kwargs: object) -> object:
            raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", Refusing)
    monkeypatch.setattr(pipeline, "_POOL_BYTES", 0)
    fallback = import_sample(SAMPLE_DATA, tmp_path / "fallback", workers=2)
    assert [s.counts.as_dict() for s in fallback] == [s.counts.as_dict() for s in serial]


def test_sharded_import_reports_progress_as_shards_arrive(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line's progress display counts records read by worker processes too."""
    from orgnet.importers._base import progress_hook

    monkeypatch.setattr(pipeline, "_POOL_BYTES", 0)
    monkeypatch.setattr(pipeline, "_SHARD_BYTES", 0)
    ticks: list[int] = []
    with progress_hook(ticks.append):
        result = pipeline.import_file("orgnet.importers.slack:import_slack",
                                      SAMPLE_DATA / "slack.zip", {}, workers=2)
    shards = pipeline._n_shards("orgnet.importers.slack:import_slack",
                                SAMPLE_DATA / "slack.zip", 2)
    assert len(ticks) == shards >= 3
    assert ticks == sorted(ticks) and ticks[-1] == result.counts.read > ticks[0] > 0


def test_results_are_released_and_workers_stopped_before_the_last_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result is freed once ingested, not held while the next file is awaited, and the
    worker processes stop (with the memory they keep) once every task is done, before the
    last result is ingested."""
    import weakref
    from concurrent.futures import ProcessPoolExecutor

    events: list[str] = []
    refs: list[weakref.ref[object]] = []
    real_results = pipeline._results
    real_ingest = pipeline.ingest

    def results(jobs: list, workers: int):  # type: ignore[no-untyped-def,type-arg]
        for result in real_results(jobs, workers):
            events.append("alive" if any(ref() is not None for ref in refs) else "released")
            refs.append(weakref.ref(result))
            yield result
            del result

    def ingest(ws: object, result: object, **kwargs: object) -> object:
        events.append("ingest")
        return real_ingest(ws, result, **kwargs)  # type: ignore[arg-type]

    class Pool(ProcessPoolExecutor):
        def shutdown(self, *args: object, **kwargs: object) -> None:
            events.append("shutdown")
            super().shutdown(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_POOL_BYTES", 0)
    monkeypatch.setattr(pipeline, "_results", results)
    monkeypatch.setattr(pipeline, "ingest", ingest)
    monkeypatch.setattr(pipeline, "ProcessPoolExecutor", Pool)
    summaries = import_sample(SAMPLE_DATA, tmp_path / "ws", workers=2)
    assert len(summaries) == 5
    assert events.count("released") == 5 and "alive" not in events
    # The first shutdown (the generator's own; leaving the pool's block makes another) comes
    # before the last result is handed over.
    last = len(events) - 1 - events[::-1].index("ingest")
    assert events.index("shutdown") < last
    assert events.count("ingest") == 5


def _glibc_setting() -> str | None:
    return os.environ.get("GLIBC_TUNABLES")


def test_workers_keep_freed_glibc_heap_unless_the_user_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The workers start with glibc's malloc tuned to keep freed heap for the next batch; a
    setting of the user's wins, and this process's environment is left as it was."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        with pipeline._worker_environment():
            future = pool.submit(_glibc_setting)
        assert future.result() == pipeline._WORKER_ENV["GLIBC_TUNABLES"]
    assert "glibc.malloc.trim_threshold=" in pipeline._WORKER_ENV["GLIBC_TUNABLES"]
    assert "GLIBC_TUNABLES" not in os.environ
    mine = "glibc.malloc.arena_max=2"
    monkeypatch.setenv("GLIBC_TUNABLES", mine)
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        with pipeline._worker_environment():
            future = pool.submit(_glibc_setting)
        assert future.result() == mine
    assert os.environ["GLIBC_TUNABLES"] == mine


class _FakePool:
    """Records what is submitted; each task's future is completed by the test."""

    def __init__(self) -> None:
        from concurrent.futures import Future

        self.submitted: list[tuple[str, tuple[int, int] | None]] = []
        self.futures: list[Future[object]] = []

    def submit(self, fn: object, target: str, path: Path, opts: dict[str, object],
               spill_dir: str | None) -> object:
        from concurrent.futures import Future

        self.submitted.append((path.name, opts.get("shard")))  # type: ignore[arg-type]
        f: Future[object] = Future()
        f.set_running_or_notify_cancel()
        self.futures.append(f)
        return f


def _spilled(tmp_path: Path, name: str, rows: int) -> object:
    """A worker's result whose one table file holds ``rows`` rows."""
    import polars as pl

    from orgnet.importers._base import ImportBuilder

    file = tmp_path / f"{name}.arrow"
    pl.DataFrame({"x": list(range(rows))}).write_ipc(file, compression="uncompressed")
    return pipeline._Spilled(ImportBuilder("git", name).finish(), {"t": str(file)})


def test_tasks_start_ahead_of_the_ingest_only_within_bounds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two running per worker at most, and none started while finished results not yet taken
    hold the budget; tasks are taken in order, and a dropped file's tasks are forgotten."""
    monkeypatch.setattr(pipeline, "_packed_listings", lambda t, p, n: None)
    jobs = [(f"f{i}", Path(f"f{i}"), "t", {}) for i in range(3)]
    tasks = [(0, 0, 1), *((1, k, 6) for k in range(6)), (2, 0, 1)]
    pool = _FakePool()
    sched = pipeline._Scheduler(pool, jobs, tasks, str(tmp_path), workers=2,  # type: ignore[arg-type]
                                budget=20_000)
    sched.top_up()
    assert pool.submitted == [("f0", None), ("f1", (0, 6)), ("f1", (1, 6)), ("f1", (2, 6))]
    # Two finish: two more start (four running again).
    pool.futures[1].set_result(_spilled(tmp_path, "a", 10))
    pool.futures[2].set_result(_spilled(tmp_path, "b", 10))
    sched.top_up()
    assert len(pool.submitted) == 6
    # A large finished result fills the budget: nothing more starts, however many finish.
    pool.futures[3].set_result(_spilled(tmp_path, "c", 10_000))
    for f in pool.futures[4:6]:
        f.set_result(_spilled(tmp_path, "d", 1))
    sched.top_up()
    assert len(pool.submitted) == 6
    # Taking results frees the budget; the first file's task must be taken first.
    pool.futures[0].set_result(_spilled(tmp_path, "e", 1))
    assert sched.take(0, 0).source_file == "e"
    assert sched.take(1, 0).source_file == "a"
    assert len(pool.submitted) == 6  # "c" still waits
    sched.take(1, 1)
    sched.take(1, 2)  # "c" taken: the rest may start
    assert pool.submitted[6:] == [("f1", (5, 6)), ("f2", None)]
    # The file's remaining shards are dropped (its file is read again): their results go.
    sched.drop(1)
    assert not any(key[0] == 1 for key in sched.outstanding)
    assert not (tmp_path / "d.arrow").exists()
    pool.futures[7].set_result(_spilled(tmp_path, "g", 1))
    assert sched.take(2, 0).source_file == "g"
    assert sched.finished()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_shards_are_ingested_as_they_arrive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Slack export's shards reach ``ingest`` one at a time (not merged first), and the
    workspace is the one a serial import makes."""
    from orgnet.importers._base import ShardedResult

    monkeypatch.setattr(pipeline, "_POOL_BYTES", 0)
    monkeypatch.setattr(pipeline, "_SHARD_BYTES", 0)
    seen: list[str] = []
    real_ingest = pipeline.ingest

    def ingest(ws: object, result: object, **kwargs: object) -> object:
        seen.append(type(result).__name__ if not isinstance(result, ShardedResult)
                    else f"shards:{result.n}")
        return real_ingest(ws, result, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "ingest", ingest)
    import_sample(SAMPLE_DATA, tmp_path / "ws", workers=2)
    n = pipeline._n_shards("orgnet.importers.slack:import_slack", SAMPLE_DATA / "slack.zip", 2)
    assert n >= 3 and seen[-1] == f"shards:{n}"
    assert seen[:-1] == ["ImportResult"] * (len(seen) - 1)
    assert len(Workspace(tmp_path / "ws").meta()["tables"]["interactions"]) > n
