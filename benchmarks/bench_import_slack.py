"""Benchmark the Slack importer on a generated export with >= 1 million events.

Run as ``python -m benchmarks.bench_import_slack [--messages N]``. Prints one JSON line:
events, records, seconds, events per second and peak resident memory (MiB) of the process.

Each generated message yields 5 events: the message (or reply), a mention, two reactions and a
reference to a path;
one message in five is a thread reply. The export is written straight into a zip in a temporary
directory, one day file at a time, so generating it costs little memory.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from orgnet.importers.slack import import_slack

EVENTS_PER_MESSAGE = 5


def generate(path: Path, *, messages: int, users: int = 500, channels: int = 40,
             seed: int = 7) -> None:
    """Write a Slack export zip with ``messages`` messages spread over channels and days."""
    rng = random.Random(seed)
    uids = [f"U{i:07d}" for i in range(users)]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("users.json", json.dumps([
            {"id": u, "name": f"user{i}", "real_name": f"User {i}",
             "profile": {"email": f"user{i}@example.com"}} for i, u in enumerate(uids)]))
        zf.writestr("channels.json", json.dumps([
            {"id": f"C{c:06d}", "name": f"chan-{c}", "members": rng.sample(uids, 20)}
            for c in range(channels)]))
        per_file = 500
        ts = 1_700_000_000
        written = 0
        day = 0
        while written < messages:
            for c in range(channels):
                if written >= messages:
                    break
                batch = []
                root_ts: str | None = None
                for i in range(min(per_file, messages - written)):
                    ts += 1
                    author, other, r1, r2 = rng.sample(uids, 4)
                    msg: dict[str, object] = {
                        "type": "message", "user": author, "ts": f"{ts}.{i:06d}",
                        "text": f"<@{other}> please look at services/api{i % 50}/handler.py",
                        "reactions": [{"name": "eyes", "users": [r1, r2], "count": 2}],
                    }
                    if root_ts is not None and i % 5 == 0:
                        msg["thread_ts"] = root_ts
                    else:
                        root_ts = msg["ts"]  # type: ignore[assignment]
                    batch.append(msg)
                written += len(batch)
                name = f"chan-{c}/{_date(day)}.json"
                zf.writestr(name, json.dumps(batch))
            day += 1


def _date(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(1_700_000_000 + 86400 * day))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000 // EVENTS_PER_MESSAGE + 1000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "slack-export.zip"
        t0 = time.perf_counter()
        generate(path, messages=args.messages)
        gen_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = import_slack(path)
        seconds = time.perf_counter() - t0
        events = result.counts.events
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({
            "benchmark": "import_slack",
            "messages": args.messages,
            "records": result.counts.read,
            "events": events,
            "zip_mib": round(path.stat().st_size / 2**20, 1),
            "generate_s": round(gen_s, 1),
            "import_s": round(seconds, 1),
            "events_per_s": round(events / seconds),
            "peak_rss_mib": round(peak_mib),
        }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
