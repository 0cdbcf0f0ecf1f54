"""Throughput of the GitHub importer on a synthetic Perceval JSON-lines file.

Run with ``python -m benchmarks.bench_import_github [--events N] [--reference]``
(``--reference``: the item-at-a-time path instead of the columnar one, for comparison). Writes
a Perceval ``--json-line`` file of ``pull_request`` items to a temporary directory (about ten
events per
pull request: opening, a review request, three reviews, three inline comments, a mention and the
merge), times :func:`orgnet.importers.github.import_github` on it and prints one JSON line:
events, wall and CPU seconds, events per second, peak resident memory (MiB; the growth during the import is
the importer's own peak) and the input size.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from orgnet.importers.github import import_github

EVENTS_PER_PULL = 10


def _user(i: int) -> dict[str, object]:
    return {"login": f"dev{i:05d}", "id": 100000 + i, "type": "User"}


def write_perceval_file(path: Path, n_pulls: int, *, n_people: int = 2000, seed: int = 7) -> int:
    """Write ``n_pulls`` Perceval GitHub ``pull_request`` items; return the events expected."""
    rng = random.Random(seed)
    base = 1_700_000_000
    with path.open("w", encoding="utf-8") as fh:
        for n in range(1, n_pulls + 1):
            people = rng.sample(range(n_people), 5)
            author, r1, r2, r3, req = (_user(p) for p in people)
            t0 = base + n * 600

            def iso(t: int) -> str:
                return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

            reviews = [
                {"id": n * 10 + 1, "user": r1, "state": "CHANGES_REQUESTED",
                 "body": "please add a test", "submitted_at": iso(t0 + 3600)},
                {"id": n * 10 + 2, "user": r2, "state": "COMMENTED",
                 "body": f"looks fine, cc @{author['login']}", "submitted_at": iso(t0 + 4000)},
                {"id": n * 10 + 3, "user": r1, "state": "APPROVED", "body": "",
                 "submitted_at": iso(t0 + 7200)},
            ]
            comments = [
                {"id": n * 10 + 4 + k, "user": (r1, r3, author)[k], "body": "nit",
                 "path": f"src/mod{n % 50}.py", "created_at": iso(t0 + 3500 + k * 60)}
                for k in range(3)
            ]
            data = {
                "id": n, "number": n, "state": "closed", "title": "change", "body": "desc",
                "user": author, "created_at": iso(t0), "closed_at": iso(t0 + 9000),
                "merged_at": iso(t0 + 9000), "merged": True, "merged_by": r1,
                "requested_reviewers": [req], "additions": 10, "deletions": 3, "changed_files": 2,
                "reviews_data": reviews, "review_comments_data": comments,
                "requested_reviewers_data": [], "merged_by_data": [], "commits_data": [],
            }
            item = {
                "backend_name": "GitHub", "backend_version": "0.32.0", "category": "pull_request",
                "classified_fields_filtered": None, "data": data,
                "origin": "https://github.com/bench/repo", "perceval_version": "1.0.2",
                "search_fields": {"item_id": str(n)}, "tag": "https://github.com/bench/repo",
                "timestamp": 1717171717.0, "updated_on": float(t0 + 9000),
                "uuid": f"{n:040x}",
            }
            fh.write(json.dumps(item, separators=(",", ":"), sort_keys=True))
            fh.write("\n")
    return n_pulls * EVENTS_PER_PULL


def _peak_rss_mib() -> float:
    """Peak resident memory of this process so far (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def main() -> None:
    """Generate, import, report one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reference", action="store_true",
                        help="time the item-at-a-time reference path")
    args = parser.parse_args()
    if args.reference:
        from orgnet.importers import github

        github._FAST = False
    n_pulls = max(1, -(-args.events // EVENTS_PER_PULL))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "github.jsonl"
        write_perceval_file(path, n_pulls)
        size = path.stat().st_size
        rss_before = _peak_rss_mib()
        t0, c0 = time.perf_counter(), time.process_time()
        result = import_github(path)
        seconds = time.perf_counter() - t0
        cpu_seconds = time.process_time() - c0
        rss_after = _peak_rss_mib()
    events = result.counts.events
    print(json.dumps({
        "benchmark": "import_github" + ("_reference" if args.reference else ""),
        "records": result.counts.read,
        "events": events,
        "seconds": round(seconds, 2),
        "events_per_second": round(events / seconds),
        "cpu_seconds": round(cpu_seconds, 2),
        "events_per_cpu_second": round(events / cpu_seconds),
        "peak_rss_mib": round(rss_after, 1),
        "peak_rss_growth_mib": round(rss_after - rss_before, 1),
        "input_mib": round(size / 2**20, 1),
    }))


if __name__ == "__main__":
    main()
