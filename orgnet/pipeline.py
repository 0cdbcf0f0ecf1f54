"""The main job as functions: import a sample organisation folder into a workspace.

Used by ``orgnet demo``, the recovery tests and the benchmarks, so all of them import the same
files the same way.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import functools
import importlib
import multiprocessing
import os
import pickle
import re
import shutil
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Final

import polars as pl

from orgnet.importers._base import ShardedResult, ShardError
from orgnet.ingest import ImportSummary, ingest
from orgnet.workspace import Workspace, file_sha256

__all__ = ["SAMPLE_FILES", "WORKER_MEMORY", "available_memory", "default_workers", "import_file",
           "import_sample", "usable_cores"]

#: Files of a generated organisation, in import order (org chart first so every handle resolves
#: against it): file name, source kind, ``module:function``, options. ``{repo}`` is filled from
#: ``truth.json``.
SAMPLE_FILES: Final[tuple[tuple[str, str, str, dict[str, Any]], ...]] = (
    ("hris.csv", "orgchart", "orgnet.importers.orgchart:import_orgchart", {}),
    ("CODEOWNERS", "owners", "orgnet.importers.owners:import_owners", {"container": "{repo}"}),
    ("git.log.gz", "git", "orgnet.importers.git:import_git", {"repo_name": "{repo}"}),
    ("github.jsonl.gz", "github", "orgnet.importers.github:import_github", {}),
    ("slack.zip", "slack", "orgnet.importers.slack:import_slack", {}),
)


#: Files at least this large run in worker processes when ``workers > 1``; smaller ones run in
#: the main process when their turn comes (the org chart is ingested first without waiting).
_POOL_BYTES: Final = 16 << 20
#: Importers that can read one input in shards (``shard=(i, n)``) and files large enough to
#: split: their shards run in parallel and are merged in order (same result as one import).
#: They also take ``listing=`` (:meth:`SafeArchive.listing`) for a zip read once by the caller.
_SHARDABLE: Final = frozenset({"orgnet.importers.slack:import_slack"})
#: For a shardable importer: ``(path, listing, n) -> one listing per shard`` (the shard plan).
_SHARD_PLANS: Final = {"orgnet.importers.slack:import_slack": "orgnet.importers.slack:shard_listings"}
_SHARD_BYTES: Final = 64 << 20
#: About this many bytes of a sharded file per shard (at least ``workers + 1`` shards): small
#: shards fill the gaps other files leave on the workers (a planned shard's set-up is small).
_SHARD_TARGET_BYTES: Final = 64 << 20
_MAX_SHARDS: Final = 256


def _function(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return fn


def _run_importer(target: str, path: Path, options: dict[str, Any]) -> Any:
    return _function(target)(path, **options)


@dataclasses.dataclass
class _Spilled:
    """An import result whose tables a worker wrote to Arrow IPC files instead of pickling.

    Pickling a result sends every table through the pool's pipe and copies it three times
    (pickle, pipe, unpickle): 5-8 s of CPU for the 0.8 GB of a 10,000-person git log. Written
    uncompressed to a file in ``spill_dir`` (in memory on Linux) it costs one write and one
    read.
    """

    result: Any  # ImportResult with ``tables`` emptied
    files: dict[str, str]


def _run_importer_spilled(
    target: str, path: Path, options: dict[str, Any], spill_dir: str | None
) -> Any:
    """Run an importer (in a worker) and hand its tables back through files in ``spill_dir``.

    When a table cannot be written (the temporary file system is full, for one), the files
    already written are removed and the result is returned whole, to be pickled instead.
    """
    options = {k: v.unpack() if isinstance(v, _Packed) else v for k, v in options.items()}
    result = _run_importer(target, path, options)
    if spill_dir is None:
        return result
    files: dict[str, str] = {}
    try:
        for name, frame in result.tables.items():
            file = os.path.join(spill_dir, f"{uuid.uuid4().hex}-{name}.arrow")
            files[name] = file
            frame.write_ipc(file, compression="uncompressed")
    except Exception:  # any failure to write: the result is handed over whole
        for file in files.values():
            Path(file).unlink(missing_ok=True)
        return result
    return _Spilled(dataclasses.replace(result, tables={}), files)


def _read_spilled(file: str) -> pl.DataFrame:
    """A table a worker wrote: memory-mapped where the file can be removed while mapped (POSIX).

    Mapped, the frame's buffers are the file's pages (in memory under ``/dev/shm``): no copy,
    and the pages are freed when the frame is and the file is gone (10,000 people: about 3 GB
    handed over, 2-4 s of the main process's CPU for ``read_ipc``'s copy).
    """
    if os.name != "posix":  # a mapped file cannot be removed there
        return pl.read_ipc(file)
    import pyarrow as pa
    import pyarrow.ipc

    with pa.memory_map(file) as source:
        table = pyarrow.ipc.open_file(source).read_all()
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _discard(obj: Any) -> None:
    """Remove the files of a worker's result that will not be read."""
    if isinstance(obj, _Spilled):
        for file in obj.files.values():
            with contextlib.suppress(OSError):
                os.unlink(file)


def _unspill(obj: Any) -> Any:
    """The import result of a worker, with its tables read back from their files (then removed)."""
    if not isinstance(obj, _Spilled):
        return obj
    tables: dict[str, pl.DataFrame] = {}
    for name, file in obj.files.items():
        tables[name] = _read_spilled(file)
        with contextlib.suppress(OSError):  # else removed with the spill directory at the end
            os.unlink(file)
    return dataclasses.replace(obj.result, tables=tables)


#: ``/dev/shm`` is used for the hand-over only with at least this much free (containers often
#: mount a 64 MiB one; the 10,000-person benchmark hands over about 3 GiB, one file at a time).
_SHM_MIN_FREE: Final = 1 << 30


def _spill_root() -> str:
    """Where workers write result tables: ``/dev/shm`` (memory) when present and roomy, else temp."""
    shm = "/dev/shm"
    try:
        if os.access(shm, os.W_OK) and shutil.disk_usage(shm).free >= _SHM_MIN_FREE:
            return shm
    except OSError:
        pass
    return tempfile.gettempdir()


_SPILL_PREFIX: Final = "orgnet-import-"


def _remove_stale_spills(root: str) -> None:
    """Remove spill directories of this user's imports whose process is gone (killed -9).

    The tables in them hold identities (names, e-mail addresses) but never message text; a
    killed import would otherwise leave them in ``/dev/shm`` until the next reboot.
    """
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        match = re.fullmatch(rf"{_SPILL_PREFIX}(\d+)-\w+", entry.name)
        if match is None or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            # Ownership first: os.getuid does not exist on Windows (nothing is removed there),
            # where signal 0 would mean CTRL_C_EVENT.
            if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:  # the import that wrote it is gone
            shutil.rmtree(entry.path, ignore_errors=True)
        except (OSError, OverflowError, AttributeError):  # alive, not ours, or no getuid
            continue


def _shared_listing(path: Path) -> Any:
    """The validated directory of a zip read in shards, or ``None`` (not a zip, or unreadable:
    the shards then read it themselves and report what is wrong)."""
    if not path.is_file():
        return None
    from orgnet.importers._archive import SafeArchive

    try:
        with SafeArchive(path) as archive:
            return archive.listing()
    except Exception:  # any problem is the shards' to report, as without a listing
        return None


def _packed_listings(target: str, path: Path, n: int) -> list[_Packed] | None:
    """The zip's listing once per shard (each with its part of the plan when the importer has
    one), pickled here once each; ``None`` when the zip cannot be listed."""
    listing = _shared_listing(path)
    if listing is None:
        return None
    plan = _SHARD_PLANS.get(target)
    parts = [listing] * n
    if plan is not None:
        try:
            parts = _function(plan)(path, listing, n)
        except Exception:  # any problem: every shard plans for itself, as without a plan
            parts = [listing] * n
    blobs: dict[int, _Packed] = {}  # the same listing is pickled once
    for part in parts:
        if id(part) not in blobs:
            # The lookups the plan packed (the same bytes for every shard) are kept once here,
            # not copied into every shard's pickle.
            lookups = getattr(part, "lookups", None)
            bare = dataclasses.replace(part, lookups=None) if lookups is not None else part
            blobs[id(part)] = _Packed(pickle.dumps(bare, protocol=pickle.HIGHEST_PROTOCOL),
                                      lookups)
    return [blobs[id(part)] for part in parts]


def _n_shards(target: str, path: Path, workers: int) -> int:
    size = path.stat().st_size
    if workers <= 1 or target not in _SHARDABLE or size < _SHARD_BYTES:
        return 1
    # At least one more than workers, and more for a large file: the shards then fill the gaps
    # left by other files (three shards of the 10,000-person Slack export left one worker idle
    # for 15 s while the other finished the last one; seven, planned once by the main process:
    # 71 -> 63-68 s for the whole import on the same afternoon).
    return max(workers + 1, min(_MAX_SHARDS, -(-size // _SHARD_TARGET_BYTES)))


@dataclasses.dataclass(frozen=True)
class _Packed:
    """A value pickled once in the main process for many tasks (a zip listing for every shard)."""

    blob: bytes
    #: Bytes shared by many listings (:attr:`ArchiveListing.lookups`), put back on unpacking.
    lookups: bytes | None = None

    def unpack(self) -> Any:
        value = pickle.loads(self.blob)
        if self.lookups is not None:
            value = dataclasses.replace(value, lookups=self.lookups)
        return value


#: Environment of the import's worker processes: one polars (and DuckDB) thread each. The
#: workers and the main process already keep every core busy; thread pools of their own only add
#: spinning and switching (10,000 people: 20 s less CPU in all, import 81 -> 73 s).
_WORKER_ENV: Final = {
    "POLARS_MAX_THREADS": "1",
    # glibc's malloc (Python's objects above 512 bytes and its bytes buffers; polars and
    # DuckDB bring their own jemalloc) keeps up to 1 GiB of freed heap instead of 64 MiB at
    # most, and serves blocks up to 32 MiB from it: a worker's next batch reuses the pages
    # instead of faulting fresh zeroed ones in. The GitHub file of 10,000 people: 1.41 ->
    # 1.31 M page faults, 3-5% less CPU. C libraries other than glibc ignore the variable.
    "GLIBC_TUNABLES": ("glibc.malloc.mmap_threshold=33554432"
                       ":glibc.malloc.trim_threshold=1073741824"),
}
#: polars' own jemalloc setting (``polars/__init__.py`` puts it in ``_RJEM_MALLOC_CONF`` when it
#: loads, ahead of any setting of the user's): freed pages go back to the system after half a
#: second, and the next batch faults them in again.
_POLARS_JEMALLOC: Final = "dirty_decay_ms:500,muzzy_decay_ms:1000"
#: The workers' setting, unless the user chose one: freed pages are kept five seconds, long
#: enough for the next batch of a file to reuse them, short enough that a worker waiting for
#: the end of the import gives them back. 10,000 people: the workers' page faults 6.2 M ->
#: 3.7 M and their system CPU 21 -> 18 s (never giving pages back: 2.4 M faults, but more
#: memory held and no faster).
_WORKER_JEMALLOC: Final = "dirty_decay_ms:5000,muzzy_decay_ms:5000"
_JEMALLOC_VAR: Final = "_RJEM_MALLOC_CONF"
_ENV_LOCK: Final = threading.Lock()


@contextlib.contextmanager
def _worker_environment() -> Iterator[None]:
    """Set :data:`_WORKER_ENV` (except what the user set) while worker processes are started.

    ``spawn`` copies the environment at each start; this process's own polars thread pool is
    made first, so it keeps its size. The environment of this process changes meanwhile (a
    process another thread starts in that time inherits it); imports in several threads start
    their workers one after the other.
    """
    pl.thread_pool_size()
    with _ENV_LOCK:
        added = {k: v for k, v in _WORKER_ENV.items() if k not in os.environ}
        jemalloc = os.environ.get(_JEMALLOC_VAR)
        if jemalloc in (None, _POLARS_JEMALLOC):  # not the user's own setting
            added[_JEMALLOC_VAR] = _WORKER_JEMALLOC
        before = {k: os.environ.get(k) for k in added}
        os.environ.update(added)
        try:
            yield
        finally:
            for key, value in before.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def _serial(jobs: list[tuple[str, Path, str, dict[str, Any]]]) -> Iterator[Any]:
    """Import results in job order, every file read in this process."""
    for _name, path, target, opts in jobs:
        yield _run_importer(target, path, opts)


#: Bytes of finished worker results (their table files) that may wait for the main process
#: before no further task is started: a large Slack export's shards then do not pile up while
#: the main process ingests another file (100,000 people x 2 months: 2.2 GiB waited in
#: ``/dev/shm`` during the GitHub file's ingest, and it grows with the months imported).
_WAITING_BYTES: Final = 1 << 30


class _Scheduler:
    """Submits the pool's tasks in ingest order, ahead of the main process within bounds.

    A task is started while fewer than two per worker are running (one working, one queued,
    so a worker does not wait for the main process to hand it the next) and the finished
    results not yet taken hold less than ``budget`` bytes. The task the main process needs
    next is always startable: every task before it has been taken.
    """

    def __init__(self, pool: ProcessPoolExecutor, jobs: list[tuple[str, Path, str, dict[str, Any]]],
                 tasks: list[tuple[int, int, int]], spill_dir: str | None, workers: int,
                 budget: int) -> None:
        self.pool, self.jobs, self.spill_dir = pool, jobs, spill_dir
        self.todo = collections.deque(tasks)
        self.running_max = 2 * workers
        self.budget = budget
        self.outstanding: dict[tuple[int, int], Future[Any]] = {}  # started, not yet taken
        self.failed: set[tuple[int, int]] = set()  # could not be started
        self.broken = False
        self.sizes: dict[tuple[int, int], int] = {}
        self.listings: dict[int, list[_Packed] | None] = {}

    def _waiting_bytes(self) -> int:
        total = 0
        for key, f in self.outstanding.items():
            if not f.done():
                continue
            if key not in self.sizes:
                size = 0
                if f.exception() is None and isinstance(f.result(), _Spilled):
                    for file in f.result().files.values():
                        with contextlib.suppress(OSError):
                            size += os.stat(file).st_size
                self.sizes[key] = size
            total += self.sizes[key]
        return total

    def top_up(self) -> None:
        """Start tasks while the bounds allow."""
        while self.todo:
            running = sum(1 for f in self.outstanding.values() if not f.done())
            if self.outstanding and (running >= self.running_max
                                     or self._waiting_bytes() >= self.budget):
                return
            i, k, n = self.todo.popleft()
            if self.broken:  # the pool is broken: the rest is read in this process
                self.failed.add((i, k))
                continue
            opts = self.jobs[i][3]
            if n > 1:
                # The zip directory is read once here (while the pool works on the tasks
                # started before) instead of once per shard.
                if i not in self.listings:
                    self.listings[i] = _packed_listings(self.jobs[i][2], self.jobs[i][1], n)
                listing = self.listings[i]
                opts = {**opts, "shard": (k, n)}
                if listing is not None:
                    opts["listing"] = listing[k]
                if k == n - 1:
                    del self.listings[i]
            try:
                with _worker_environment():  # a worker starts on submit
                    self.outstanding[(i, k)] = self.pool.submit(
                        _run_importer_spilled, self.jobs[i][2], self.jobs[i][1], opts,
                        self.spill_dir)
            except (OSError, BrokenProcessPool):  # a worker could not be started (EAGAIN...)
                self.broken = True
                self.failed.add((i, k))

    def take(self, i: int, k: int) -> Any:
        """Task ``(i, k)``'s result, read back from its files; raises what the task raised."""
        self.top_up()
        if (i, k) in self.failed:
            raise ShardError(f"task {k} of {self.jobs[i][1]} could not be started")
        f = self.outstanding[(i, k)]
        while not f.done():  # start more as others finish
            concurrent.futures.wait([g for g in self.outstanding.values() if not g.done()],
                                    return_when=concurrent.futures.FIRST_COMPLETED)
            self.top_up()
        del self.outstanding[(i, k)]
        self.sizes.pop((i, k), None)
        result = _unspill(f.result())
        self.top_up()
        return result

    def drop(self, i: int) -> None:
        """Forget the tasks of job ``i`` not yet taken (its file is read here instead)."""
        self.todo = collections.deque(t for t in self.todo if t[0] != i)
        for key in [key for key in self.outstanding if key[0] == i]:
            f = self.outstanding.pop(key)
            self.sizes.pop(key, None)
            if not f.cancel() and f.done() and f.exception() is None:
                _discard(f.result())
        self.failed = {key for key in self.failed if key[0] != i}
        self.listings.pop(i, None)

    def finished(self) -> bool:
        """Whether every task has been taken (or could not be started)."""
        return not self.todo and not self.outstanding


def _results(jobs: list[tuple[str, Path, str, dict[str, Any]]], workers: int
             ) -> Generator[Any, None, None]:
    """Import results in job order.

    With ``workers > 1`` files of at least ``_POOL_BYTES`` run in worker processes (in file
    order; a large Slack export in shards, given as a :class:`ShardedResult` whose parts are
    taken one by one) while the small ones run here when their turn comes, and each result is
    ingested as soon as it and those before it are in. Tasks start ahead of the ingest only as
    far as :class:`_Scheduler` allows. A worker failure of any kind (an importer error, a result
    that cannot be pickled) re-runs that file here, so errors and results are exactly those of
    a serial run.
    """
    big = [i for i, job in enumerate(jobs) if job[1].stat().st_size >= _POOL_BYTES]
    if workers <= 1 or not big:
        yield from _serial(jobs)
        return
    from orgnet.importers._base import current_progress

    progress = current_progress()

    # (job, shard, shards) in ingest order: a file that finishes early is ingested here while
    # the pool works on.
    tasks: list[tuple[int, int, int]] = []
    shards: dict[int, int] = {}
    for i in big:
        _name, path, target, _opts = jobs[i]
        shards[i] = n = _n_shards(target, path, workers)
        tasks.extend((i, k, n) for k in range(n))
    # "spawn": polars' thread pool does not survive fork().
    ctx = multiprocessing.get_context("spawn")
    # Private (0700) directory for the workers' result tables; removed whatever happens. If
    # none can be made (read-only or full temporary space), results come back pickled.
    spill_dir: str | None = None
    try:
        root = _spill_root()
        for place in {root, tempfile.gettempdir(), "/dev/shm"}:
            _remove_stale_spills(place)
        spill_dir = tempfile.mkdtemp(prefix=f"{_SPILL_PREFIX}{os.getpid()}-", dir=root)
    except OSError:
        spill_dir = None
    try:
        try:
            pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=ctx)
        except (OSError, NotImplementedError, ImportError, ValueError):  # no process pools here
            # (no working sem_open, for one): every file is read here, as with one worker.
            yield from _serial(jobs)
            return
        with pool:
            sched = _Scheduler(pool, jobs, tasks, spill_dir, workers, _WAITING_BYTES)
            sched.top_up()

            def done() -> None:
                if sched.finished():
                    # Every task is taken: the idle workers' memory (pages their allocator
                    # keeps for reuse) is freed before the last and largest ingest.
                    pool.shutdown(wait=True)

            def parts(i: int, n: int) -> Iterator[Any]:
                read = taken = 0
                try:
                    for k in range(n):
                        try:
                            part = sched.take(i, k)
                        except Exception as exc:  # the whole file is then read here
                            raise ShardError(f"shard {k} of {jobs[i][1]}: {exc!r}") from exc
                        taken += 1
                        read += part.counts.read
                        if progress is not None:  # records read so far, shard by shard
                            progress(read)
                        done()
                        yield part
                        del part
                finally:
                    if taken < n:  # failed or abandoned: the shards left are not wanted
                        sched.drop(i)

            for i, (_name, path, target, opts) in enumerate(jobs):
                if i not in shards:
                    yield _run_importer(target, path, opts)
                    continue
                fallback = functools.partial(_run_importer, target, path, opts)
                if shards[i] > 1:
                    yield ShardedResult(shards[i], parts(i, shards[i]), fallback)
                    continue
                try:
                    result = sched.take(i, 0)
                    if progress is not None:
                        progress(result.counts.read)
                except Exception:  # re-run here: the outcome is then the serial one
                    result = None
                done()
                yield result if result is not None else fallback()
                del result
    finally:
        if spill_dir is not None:
            shutil.rmtree(spill_dir, ignore_errors=True)


def usable_cores() -> int:
    """The cores this process may use: its CPU affinity, a container's CPU quota (cgroup v2
    ``cpu.max``) and, on Windows, the 61 processes a process pool can have."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cores = os.cpu_count() or 1
    quota = _read_text("/sys/fs/cgroup/cpu.max").split()
    if len(quota) == 2 and quota[0].isdigit() and quota[1].isdigit() and int(quota[1]) > 0:
        cores = min(cores, -(-int(quota[0]) // int(quota[1])))
    if sys.platform == "win32":
        cores = min(cores, 61)  # ProcessPoolExecutor's limit there
    return max(1, cores)


#: Memory set aside per worker process when choosing how many to start: a 64 MB Slack shard
#: peaks at about 1.2 GB resident in its worker (10,000-person export), libraries included.
#: The main process, which merges the shards' tables, is given as much.
WORKER_MEMORY: Final = 2 << 30


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def available_memory() -> int | None:
    """Bytes of memory available to this process now, or ``None`` when unknown.

    ``MemAvailable`` of ``/proc/meminfo`` (free memory plus page cache the kernel can reclaim),
    within a container's cgroup v2 limit (``memory.max`` less ``memory.current``); elsewhere
    the free physical pages.
    """
    found: list[int] = []
    for line in _read_text("/proc/meminfo").splitlines():
        if line.startswith("MemAvailable:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                found.append(int(parts[1]) * 1024)
            break
    limit, current = (_read_text(f"/sys/fs/cgroup/memory.{n}").strip() for n in ("max", "current"))
    if limit.isdigit() and current.isdigit():
        found.append(max(0, int(limit) - int(current)))
    if not found:
        try:
            pages = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):  # not on every platform
            return None
        if pages > 0:
            found.append(pages)
    return min(found) if found else None


def default_workers() -> int:
    """Worker processes for a parallel import: the usable cores, but no more than the available
    memory holds at :data:`WORKER_MEMORY` each after as much for this process (at least one).

    A many-core machine or container with little memory would otherwise start more shard
    processes than it can hold. Where the available memory is unknown, the cores decide.
    """
    cores = usable_cores()
    available = available_memory()
    if available is None:
        return cores
    return max(1, min(cores, available // WORKER_MEMORY - 1))


def import_file(target: str, path: str | Path, options: dict[str, Any] | None = None, *,
                workers: int = 1) -> Any:
    """Run one importer; a large file of an importer that reads in shards uses ``workers``
    processes.

    Parameters
    ----------
    target
        ``module:function`` of the importer, e.g. ``orgnet.importers.slack:import_slack``.
    path, options
        The input and the importer's keyword options.
    workers
        Processes for a file of at least 64 MB whose importer reads shards (a Slack export):
        the shards run in parallel and are merged in order, which gives exactly the result of
        one import. Anything else is read here. Worker processes are started with ``spawn``: a
        script that passes ``workers > 1`` needs the usual ``if __name__ == "__main__":``
        guard.

    Returns
    -------
    ImportResult
        As the importer returns it.
    """
    p = Path(path)
    opts = dict(options or {})
    if workers > 1 and p.is_file() and _n_shards(target, p, workers) > 1:
        results = _results([(p.name, p, target, opts)], workers)
        try:
            result = next(results)
            # The shards are taken while the pool and its spill directory are still there.
            return result.merged() if isinstance(result, ShardedResult) else result
        finally:
            results.close()
    return _run_importer(target, p, opts)


def sample_repo(folder: Path) -> str:
    """The repository name a generated organisation uses (from ``truth.json``)."""
    import json

    truth = folder / "truth.json"
    if truth.is_file():
        repo = json.loads(truth.read_text(encoding="utf-8")).get("github_repo")
        if isinstance(repo, str) and repo:
            return repo
    return "exampleco/monorepo"


def import_sample(
    folder: str | Path,
    workspace: Workspace | str | Path,
    *,
    on_import: Callable[[str, Path, ImportSummary], None] | None = None,
    workers: int = 1,
) -> list[ImportSummary]:
    """Import every file of a generated organisation folder into ``workspace``.

    Parameters
    ----------
    folder, workspace
        The organisation's files and the workspace to import into.
    on_import
        Called after each file is ingested.
    workers
        Processes that run the (pure) importers of different files at once (a large Slack
        export in shards). Results are ingested one by one in file order either way, so the
        workspace is identical. Worker processes are started with ``spawn``: a script that
        passes ``workers > 1`` needs the usual ``if __name__ == "__main__":`` guard.

    Returns
    -------
    list[ImportSummary]
        One per file present, in import order.
    """
    src = Path(folder)
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    repo = sample_repo(src)
    jobs = []
    for name, _kind, target, options in SAMPLE_FILES:
        path = src / name
        if not path.exists():
            continue
        opts = {k: (v.format(repo=repo) if isinstance(v, str) else v) for k, v in options.items()}
        jobs.append((name, path, target, opts))
    workers = max(1, min(workers, len(jobs)))
    out = []
    results = _results(jobs, workers)
    try:
        for name, path, _target, _opts in jobs:
            # Not zip(): it would keep each result alive while the next one is awaited (10,000
            # people: 0.75 GiB of a git log's tables held through the GitHub import).
            result = next(results)
            summary = ingest(ws, result, sha256=file_sha256(path))
            del result
            if on_import is not None:
                on_import(name, path, summary)
            out.append(summary)
    finally:
        results.close()  # workers and their spill directory go now, whatever happened
    return out
