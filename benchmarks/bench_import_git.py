"""Benchmark the git importer on a synthetic saved log with >= 1 million events.

Run ``python -m benchmarks.bench_import_git [--events N] [--profile] [--reference] [--log PATH]``.
The log is generated in a temporary directory (FORMAT_commits layout, gzipped), or ``--log``
names a saved one, then :func:`orgnet.importers.git.import_git` is timed. Prints one JSON line:
events, commits, seconds, CPU seconds (``time.process_time``, polars and DuckDB threads
included), events per second, peak RSS (the run is not traced, so timings are not distorted).
``--reference`` turns the columnar path (:mod:`orgnet.importers._git_fast`) off.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import pstats
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

import orgnet.importers.git as git_module
from orgnet.importers._base import Identity, ImportBuilder, ImportCounts, ImportResult
from orgnet.importers.git import import_git

__all__ = ["generate_log", "main"]

_TRAILER_KEYS = ("Reviewed-by", "Acked-by", "Tested-by", "Signed-off-by", "Co-authored-by",
                 "Reported-by")


def generate_log(path: Path, *, events: int, seed: int = 7) -> tuple[int, int]:
    """Write a gzipped log with at least ``events`` events; return (commits, expected events)."""
    rng = random.Random(seed)
    people = [(f"Dev {i:04d}", f"dev{i:04d}@example.com") for i in range(2000)]
    dirs = [f"src/mod{i:03d}" for i in range(300)]
    n_events = n_commits = 0
    with gzip.open(path, "wb", compresslevel=1) as fh:
        while n_events < events:
            sha = f"{rng.getrandbits(160):040x}"
            parent = f"{rng.getrandbits(160):040x}"
            an, ae = people[rng.randrange(len(people))]
            if rng.random() < 0.5:
                cn, ce = an, ae
            else:
                cn, ce = people[rng.randrange(len(people))]
            day = 1 + n_commits % 28
            adate = f"2024-03-{day:02d}T{n_commits % 24:02d}:{n_commits % 60:02d}:07+01:00"
            cdate = f"2024-04-{day:02d}T{n_commits % 24:02d}:{n_commits % 60:02d}:09-07:00"
            trailers = []
            used = set()
            for _ in range(rng.randrange(1, 6)):
                key = rng.choice(_TRAILER_KEYS)
                tn, te = people[rng.randrange(len(people))]
                if (key, te) in used or te == ae:
                    continue
                used.add((key, te))
                trailers.append(f"{key}: {tn} <{te}>")
            trailers.append("Link: https://example.com/patch/123")
            files = []
            for _ in range(rng.randrange(1, 6)):
                path_ = f"{rng.choice(dirs)}/file{rng.randrange(50)}.c"
                if rng.random() < 0.02:
                    files.append(f"-\t-\t{path_}.bin")
                else:
                    files.append(f"{rng.randrange(200)}\t{rng.randrange(100)}\t{path_}")
            files = list(dict.fromkeys(files))
            header = "\x1f".join([sha, parent, an, ae, an, ae, adate, cn, ce, cdate,
                                  "subject: do the thing", "\n".join(trailers) + "\n"])
            record = "\x1e" + header + "\x1d\n\n" + "\n".join(files) + "\n"
            fh.write(record.encode("utf-8"))
            n_commits += 1
            n_events += 1 + (ce != ae) + len(used)
    return n_commits, n_events


class _NullBuilder(ImportBuilder):
    """An ImportBuilder that keeps nothing: isolates the parser's own cost."""

    def identity(self, ident: Identity) -> str:
        return ident.native_id

    def add(self, table: str, **row: object) -> None:
        return None

    def event(self, kind: str, actor_id: str, **kwargs: Any) -> str:
        return ""

    def artifact(self, artifact_id: str, kind: str, **fields: object) -> None:
        return None

    def finish(self, *, options: dict[str, object] | None = None) -> ImportResult:
        return ImportResult("git", self.source_file, {}, pl.DataFrame(), ImportCounts(), [])


def _parser_only_cpu(log: Path) -> float:
    """CPU seconds of the reference path's import with the no-op builder."""
    original, fast = git_module.ImportBuilder, git_module._FAST
    git_module.ImportBuilder = _NullBuilder  # type: ignore[misc]
    git_module._FAST = False
    try:
        c0 = time.process_time()
        import_git(log, repo_name="bench/repo")
        return time.process_time() - c0
    finally:
        git_module.ImportBuilder = original  # type: ignore[misc]
        git_module._FAST = fast


def main(argv: list[str] | None = None) -> int:
    """Generate, import, print one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--profile", action="store_true", help="print the top cProfile entries")
    ap.add_argument("--breakdown", action="store_true",
                    help="also time the reference parser with a no-op ImportBuilder "
                         "(the shared row collection)")
    ap.add_argument("--reference", action="store_true",
                    help="the record-at-a-time reference path (columnar path off)")
    ap.add_argument("--log", type=Path, default=None,
                    help="import this saved log instead of a generated one")
    ap.add_argument("--repo-name", default="bench/repo")
    args = ap.parse_args(argv)
    git_module._FAST = not args.reference
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if args.log is None:
            log = Path(tmp) / "bench.gitlog.gz"
            commits, expected = generate_log(log, events=args.events)
        else:
            log, commits, expected = args.log, -1, -1
        gen_s = time.perf_counter() - t0
        prof = cProfile.Profile() if args.profile else None
        t0, c0 = time.perf_counter(), time.process_time()
        if prof is not None:
            prof.enable()
        result = import_git(log, repo_name=args.repo_name)
        if prof is not None:
            prof.disable()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        breakdown = _parser_only_cpu(log) if args.breakdown else None
        events = result.counts.events
        rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = {
            "benchmark": "import_git",
            "path": "reference" if args.reference else "columnar",
            "commits": commits if commits >= 0 else result.counts.read,
            "events": events,
            "expected_events": expected,
            "touches": result.tables["touches"].height,
            "log_bytes": log.stat().st_size,
            "generate_s": round(gen_s, 2),
            "import_s": round(seconds, 2),
            "import_cpu_s": round(cpu, 2),
            "events_per_s": round(events / seconds),
            "events_per_cpu_s": round(events / cpu),
            "peak_rss_mb": round(rss_kb / 1024, 1),
            "python": sys.version.split()[0],
        }
        if breakdown is not None:
            out["parser_only_cpu_s"] = round(breakdown, 2)
            out["builder_cpu_share"] = round(1 - breakdown / cpu, 2)
        print(json.dumps(out))
        if prof is not None:
            pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        return 0 if expected < 0 or events == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
