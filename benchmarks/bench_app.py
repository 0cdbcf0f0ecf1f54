"""Benchmark the dashboard: how fast the Overview renders on a 10,000-person workspace.

Run ``python -m benchmarks.bench_app [--people 10000 --months 3 --workdir DIR]``; prints one JSON
line. The organisation is generated with :func:`orgnet.synth.generate` and imported once into
``DIR/workspace`` (reused by later runs with the same arguments). Then the Overview page is run
with Streamlit's ``AppTest``:

- ``cold_s``: first run in a fresh process (loads the tables and runs every analysis);
- ``warm_s``: a new session with the analysis results cached (the target: <= 3 s);
- ``rerun_s``: a rerun of that session (what a widget change costs when nothing is recomputed);
- ``network_units_s``: the Network page (units drawn as nodes above 1,500 people), warm.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from orgnet.workspace import Workspace

ENTRY = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"


def _prepare(workdir: Path, people: int, months: int, seed: int) -> tuple[Path, dict[str, float]]:
    from orgnet.pipeline import import_sample
    from orgnet.synth import generate

    stamp = workdir / "params.json"
    params = {"people": people, "months": months, "seed": seed}
    ws_path = workdir / "workspace"
    timings: dict[str, float] = {}
    if Workspace(ws_path).exists() and stamp.is_file() \
            and json.loads(stamp.read_text(encoding="utf-8")) == params:
        return ws_path, timings
    sample = workdir / "sample"
    t0 = time.perf_counter()
    generate(sample, people=people, months=months, seed=seed)
    timings["generate_s"] = round(time.perf_counter() - t0, 1)
    if ws_path.exists():
        import shutil

        shutil.rmtree(ws_path)
    t0 = time.perf_counter()
    import_sample(sample, ws_path)
    timings["import_s"] = round(time.perf_counter() - t0, 1)
    stamp.write_text(json.dumps(params), encoding="utf-8")
    return ws_path, timings


def _run_page(page: str | None, timeout: float) -> tuple[float, Any]:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ENTRY), default_timeout=timeout)
    t0 = time.perf_counter()
    at.run()
    if page is not None:
        at.switch_page(f"views/{page}.py").run()
    seconds = time.perf_counter() - t0
    if at.exception:
        raise RuntimeError(f"{page or 'overview'}: {at.exception[0].value}")
    return seconds, at


def main(argv: list[str] | None = None) -> int:
    """Prepare the workspace, time the Overview cold and warm, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/results/bench_app"))
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    ws_path, prep = _prepare(args.workdir, args.people, args.months, args.seed)
    os.environ["ORGNET_WORKSPACE"] = str(ws_path.resolve())
    os.environ.pop("ORGNET_APP_CONFIG", None)

    cold, _ = _run_page(None, args.timeout)
    warm, at = _run_page(None, args.timeout)
    t0 = time.perf_counter()
    at.run()
    rerun = time.perf_counter() - t0
    network, _ = _run_page("network", args.timeout)
    counts = Workspace(ws_path).counts()
    print(json.dumps({
        "benchmark": "app.overview",
        "people": counts["people"],
        "events": counts["interactions"],
        **prep,
        "cold_s": round(cold, 2),
        "warm_s": round(warm, 2),
        "rerun_s": round(rerun, 2),
        "network_units_s": round(network, 2),
        "target_warm_s": 3.0,
        "ok": warm <= 3.0,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }))
    return 0 if warm <= 3.0 else 1


if __name__ == "__main__":
    sys.exit(main())
