"""Benchmark the sample-organisation generator: wall time and peak memory.

Run ``python -m benchmarks.bench_synth [--people 10000 --months 12]``; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from orgnet.synth import generate


def main(argv: list[str] | None = None) -> int:
    """Generate an organisation into a temporary folder and report time, memory and volumes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--null", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as tmp:
        t0 = time.perf_counter()
        summary = generate(
            Path(tmp), people=args.people, months=args.months, seed=args.seed, null=args.null
        )
        seconds = time.perf_counter() - t0
        sizes = {p.name: p.stat().st_size for p in Path(tmp).iterdir()}
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({
        "benchmark": "synth.generate",
        "people": summary.people,
        "months": args.months,
        "teams": summary.teams,
        "commits": summary.commits,
        "prs": summary.prs,
        "reviews": summary.reviews,
        "review_comments": summary.review_comments,
        "messages": summary.messages,
        "events": summary.events,
        "seconds": round(seconds, 1),
        "events_per_second": round(summary.events / seconds),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "bytes": sizes,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
