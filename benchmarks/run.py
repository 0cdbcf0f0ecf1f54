"""The scale benchmark: generated organisations of 10,000 and 100,000 people, end to end.

``make bench`` (``python -m benchmarks.run``) generates organisations with the sample generator,
then for each size, in its own subprocess so memory peaks are per size, times:

- ``import``: every file of the organisation through its importer and :func:`orgnet.ingest.ingest`;
- ``events``: the person-level event table of the window (collected once per run);
- ``graph:<view>``: each graph view;
- ``analysis:<name>`` and ``rule:<name>``: every analysis and finding rule (``AnalysisRun.timings``);
- ``report``: building and rendering the report (HTML, Markdown, JSON, CSV) from that run;

with peak resident memory (a psutil sampling thread when psutil is installed, else
``ru_maxrss``), then runs the kernel comparison of :mod:`benchmarks.kernels`. Results go to
``benchmarks/results/bench-<date>.json`` and ``.md`` with the machine's facts.

Sizes run smallest first; a size whose peak memory, projected linearly from the largest smaller
size measured, would exceed 90% of the machine's memory is reported as not run (``--force`` runs
it). Options: ``--sizes 10000 100000 --months 12`` (default), ``--quick`` (2,000 people, 6 months, a
5,000-node kernel graph), ``--data DIR`` (where generated organisations are kept and reused),
``--no-kernels``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["machine", "main", "markdown", "run_size", "speed_probe"]

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_DATA = Path(tempfile.gettempdir()) / "orgnet-bench"

#: Targets on a 2-core, 24 GB machine (issue 9), for organisations of that many people over
#: TARGET_MONTHS months; other periods are reported without a verdict.
TARGET_MONTHS = 12
TARGETS = {
    10_000: {"import_s": 60.0, "analyze_s": 60.0},
    100_000: {"total_s": 900.0, "peak_gib": 12.0},
}


# -- memory ---------------------------------------------------------------------------------------


def _private_rss(status: Iterable[bytes]) -> int:
    """``RssAnon + RssFile`` in bytes from the lines of a ``/proc/<pid>/status`` file: resident
    memory without the shared-memory pages (``RssShmem``), which ``/dev/shm`` counts."""
    total = 0
    for line in status:
        if line.startswith((b"RssAnon:", b"RssFile:")):
            total += int(line.split()[1]) * 1024  # kB
    return total


class PeakMemory:
    """Peak memory of this process and its children: a sampling thread (psutil) or ``ru_maxrss``.

    On Linux a sample is every process's private and file-backed resident pages (``RssAnon`` +
    ``RssFile`` of ``/proc/<pid>/status``) plus what ``/dev/shm`` has grown by since the
    measure started. The import hands worker results and DuckDB batches over through files in
    ``/dev/shm``: they are memory, whether or not a process has them mapped, and counted once
    that way (plain RSS missed the files no process had mapped yet, and would count a mapped
    one twice if the files were simply added to it: at 100,000 people x 2 months the processes
    peaked at 6.9 GiB by RSS while ``/dev/shm`` held up to 3.1 GiB, in the tenth session).
    """

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._children: list[Any] = []
        self._listed_at = float("-inf")
        self._shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self._shm_base = self._shm_used()
        self._proc_status = os.path.isfile("/proc/self/status")
        try:
            import psutil

            self._proc: Any = psutil.Process()
        except ImportError:  # pragma: no cover - psutil is optional
            self._proc = None

    @property
    def method(self) -> str:
        if self._proc is None:
            return "ru_maxrss"
        what = ("RssAnon + RssFile of the process and its children (listed once a second) plus "
                "the growth of /dev/shm" if self._proc_status and self._shm
                else "psutil RSS of the process and its children (listed once a second)")
        return f"{what}, sampled every 50 ms"

    def _shm_used(self) -> int:
        if self._shm is None:
            return 0
        try:
            return shutil.disk_usage(self._shm).used
        except OSError:
            return 0

    def _one(self, proc: Any) -> int:
        """Resident memory of one process, its shared-memory pages left out on Linux."""
        if self._proc_status:
            try:
                with open(f"/proc/{proc.pid}/status", "rb") as fh:
                    return _private_rss(fh)
            except OSError:
                pass
        return int(proc.memory_info().rss)

    def _rss(self) -> int:
        """This process plus its children (the import worker processes) plus ``/dev/shm``.

        Listing the children scans every process of the machine (about 1.5 ms with psutil), so
        the list is refreshed once a second and only their resident sizes are read at each
        sample. With a fresh list every 50 ms the 10,000-person import took 75.7 and 78.6 s
        against 70.8 and 72.3 s unmeasured, in alternating runs (the thread also holds the GIL
        of the process it measures).
        """
        total = self._one(self._proc)
        now = time.monotonic()
        if now - self._listed_at >= 1.0:
            self._children = self._proc.children(recursive=True)
            self._listed_at = now
        for child in self._children:
            try:
                total += self._one(child)
            except Exception:  # a child that just exited
                continue
        if self._proc_status:
            total += max(0, self._shm_used() - self._shm_base)
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self._rss())

    def start(self) -> None:
        if self._proc is not None:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def reset(self) -> None:
        """Start a new phase (psutil only: ``ru_maxrss`` cannot go down)."""
        if self._proc is not None:
            self.peak = self._rss()

    def current_peak(self) -> int:
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
        if self._proc is None:
            return maxrss
        self.peak = max(self.peak, self._rss())
        return self.peak

    def stop(self) -> None:
        self._stop.set()


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its children that have ended."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def speed_probe() -> float:
    """Seconds for a fixed piece of CPU work (Python, hashing and a polars sort), best of three.

    Run before and after each size: on a shared virtual machine the same code can take a
    quarter longer from one hour to the next, and the probe shows how fast the machine was
    while the size ran, so runs can be compared.
    """
    import hashlib

    import polars as pl

    block = bytes(range(256)) * (1 << 16)  # 16 MiB
    values = pl.Series("x", range(5_000_000)).hash(seed=1)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(3_000_000):
            total += i * i % 7
        for _ in range(12):
            hashlib.sha256(block).digest()
        values.sort()
        best = min(best, time.perf_counter() - started)
    return round(best, 3)


def _gib(n: int) -> float:
    return round(n / 2**30, 2)


# -- one size (runs in a subprocess) --------------------------------------------------------------


def _generated(data_dir: Path, people: int, months: int, seed: int) -> tuple[Path, float | None]:
    """The organisation folder, generated unless a complete one is already there."""
    from orgnet.synth import generate

    folder = data_dir / f"org-{people}x{months}-s{seed}"
    done = folder / ".complete"
    if done.is_file():
        return folder, None
    started = time.perf_counter()
    generate(folder, people=people, months=months, seed=seed)
    seconds = time.perf_counter() - started
    done.write_text(f"{seconds:.1f}\n", encoding="utf-8")
    return folder, seconds


def run_size(people: int, months: int, seed: int, data_dir: Path) -> dict[str, Any]:
    """Generate (or reuse), import, analyse and report one organisation; time every step."""
    import polars as pl

    import orgnet.report.build as report_build
    from orgnet.analysis._context import AnalysisContext
    from orgnet.analysis.registry import default_threads, run_analyses
    from orgnet.config import load_config
    from orgnet.dataset import Dataset, Window
    from orgnet.pipeline import import_sample
    from orgnet.report import build_report, render_report
    from orgnet.workspace import Workspace

    mem = PeakMemory()
    mem.start()
    steps: list[dict[str, Any]] = []

    @contextmanager
    def step(name: str, group: str) -> Iterator[dict[str, Any]]:
        mem.reset()
        row: dict[str, Any] = {"step": name, "group": group}
        started, cpu = time.perf_counter(), _cpu_seconds()
        yield row
        row["seconds"] = round(time.perf_counter() - started, 3)
        row["cpu_s"] = round(_cpu_seconds() - cpu, 1)
        row["peak_gib"] = _gib(mem.current_peak())
        steps.append(row)
        print(f"  {people}: {name} {row['seconds']:.1f} s, peak {row['peak_gib']} GiB",
              file=sys.stderr, flush=True)

    data_dir.mkdir(parents=True, exist_ok=True)
    folder, gen_seconds = _generated(data_dir, people, months, seed)
    facts: dict[str, Any] = {
        "people": people, "months": months, "seed": seed,
        "generate_s": None if gen_seconds is None else round(gen_seconds, 1),
        "input_bytes": {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()},
    }
    probes = [speed_probe()]
    mem.reset()
    with tempfile.TemporaryDirectory(prefix="orgnet-bench-ws-", dir=data_dir) as tmp:
        ws = Workspace(Path(tmp) / "ws")
        with step("import", "import") as row:
            per_file: dict[str, float] = {}
            last = [time.perf_counter()]

            def on_import(name: str, _path: Path, _summary: Any) -> None:
                now = time.perf_counter()
                per_file[name] = round(now - last[0], 2)
                last[0] = now

            import_sample(folder, ws, on_import=on_import, workers=os.cpu_count() or 1)
            row["files"] = per_file
        facts["rows"] = ws.counts()

        with step("load", "analyze"):
            data = Dataset.from_workspace(ws)
        cfg = load_config(workspace=ws.path)
        window = Window.of(cfg.analysis.since, cfg.analysis.until)
        ctx = AnalysisContext(data, window=window, unit_kind=cfg.analysis.unit_kind,
                              min_group_size=cfg.privacy.min_group_size)
        with step("events", "analyze") as row:
            events = ctx.event_table()
            row["rows"] = events.height
            row["table_gib"] = _gib(events.estimated_size())
        facts["person_events"] = events.height
        for view in ("review", "communication", "coedit", "collaboration"):
            with step(f"graph:{view}", "analyze") as row:
                g = ctx.graph(view)
                row["nodes"], row["edges"] = g.n_nodes, g.edges.height
        started = time.perf_counter()
        mem.reset()
        facts["analysis_threads"] = default_threads()
        run = run_analyses(ctx, rule_options=cfg.thresholds)
        total = time.perf_counter() - started
        peak = _gib(mem.current_peak())
        for name, seconds in run.timings.items():
            group = "rule" if name.startswith("find_") else "analysis"
            steps.append({"step": f"{group}:{name}", "group": "analyze",
                          "seconds": round(seconds, 3), "peak_gib": None})
        steps.append({"step": "analyses+rules (wall)", "group": "summary",
                      "seconds": round(total, 3), "peak_gib": peak})
        facts["findings"] = len(run.findings)
        facts["findings_by_kind"] = dict(
            pl.DataFrame({"k": [f.kind for f in run.findings]}, schema={"k": pl.String})
            .group_by("k").len().sort("k").iter_rows())

        # The report reuses the context and run above (build_report would otherwise run the
        # analyses a second time); only building sections/figures and rendering are timed.
        original = (report_build.AnalysisContext, report_build.run_analyses)
        report_build.AnalysisContext = lambda *a, **k: ctx  # type: ignore[assignment,misc]
        report_build.run_analyses = lambda *a, **k: run
        try:
            with step("report", "report") as row:
                report = build_report(ws, config=cfg)
                written = render_report(report, Path(tmp) / "report",
                                        formats=("html", "md", "json", "csv"))
                row["files"] = sum(len(v) for v in written.values())
                html = Path(tmp) / "report" / "report.html"
                row["html_bytes"] = html.stat().st_size if html.exists() else 0
        finally:
            report_build.AnalysisContext, report_build.run_analyses = original  # type: ignore[misc]
    mem.stop()
    probes.append(speed_probe())
    facts["speed_probe_s"] = probes
    sums = {
        "import_s": sum(s["seconds"] for s in steps if s["group"] == "import"),
        "analyze_s": sum(s["seconds"] for s in steps
                         if s["group"] == "summary" or (s["group"] == "analyze"
                                                       and not s["step"].startswith(("analysis:",
                                                                                     "rule:")))),
        "report_s": sum(s["seconds"] for s in steps if s["group"] == "report"),
    }
    sums = {k: round(v, 1) for k, v in sums.items()}
    sums["total_s"] = round(sums["import_s"] + sums["analyze_s"] + sums["report_s"], 1)
    sums["peak_gib"] = max((s["peak_gib"] or 0.0) for s in steps)
    sums["import_cpu_s"] = next(s["cpu_s"] for s in steps if s["step"] == "import")
    return {"facts": facts, "steps": steps, "summary": sums, "memory_method": mem.method}


# -- driver ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """Cores, memory, Python and library versions."""
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    mem_total = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem_total = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    cpu = platform.processor() or None
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": mem_total,
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        **{name: version(name) for name in
           ("orgnet", "polars", "networkx", "scipy", "numpy", "scikit-network", "psutil", "duckdb")},
    }


def _subprocess_json(args: list[str], label: str) -> dict[str, Any] | None:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    try:
        proc = subprocess.run([sys.executable, "-m", *args, "--json", str(out)], check=False)
        if proc.returncode != 0:
            print(f"{label}: exit {proc.returncode}", file=sys.stderr)
            return {"error": f"exit {proc.returncode}"}
        loaded: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return loaded
    finally:
        out.unlink(missing_ok=True)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def markdown(doc: dict[str, Any]) -> str:
    """The results as a Markdown page."""
    lines = [f"# orgnet benchmark {doc['date']}", ""]
    m = doc["machine"]
    lines += ["## Machine", "", "| fact | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in m.items()]
    sizes = [s for s in doc["sizes"] if "summary" in s]
    if sizes:
        lines += ["", "## Summary", "",
                  "| people | events | import s | analyze s | report s | total s | peak GiB "
                  "| targets | import CPU s | speed probe s |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for s in sizes:
            f, sm = s["facts"], s["summary"]
            probe = " / ".join(_fmt(x) for x in f.get("speed_probe_s", []))
            lines.append(
                f"| {_fmt(f['people'])} | {_fmt(f['rows'].get('interactions'))} "
                f"| {_fmt(sm['import_s'])} | {_fmt(sm['analyze_s'])} | {_fmt(sm['report_s'])} "
                f"| {_fmt(sm['total_s'])} | {_fmt(sm['peak_gib'])} | {s.get('verdict', '')} "
                f"| {_fmt(sm.get('import_cpu_s'))} | {probe} |")
        names = list(dict.fromkeys(st["step"] for s in sizes for st in s["steps"]))
        lines += ["", "## Steps (seconds, peak GiB of the step)", "",
                  "| step | " + " | ".join(_fmt(s["facts"]["people"]) for s in sizes) + " |",
                  "|---|" + "---|" * len(sizes)]
        for name in names:
            cells = []
            for s in sizes:
                hit = next((st for st in s["steps"] if st["step"] == name), None)
                if hit is None:
                    cells.append("")
                elif hit.get("peak_gib") is not None:
                    cells.append(f"{_fmt(hit['seconds'])} ({hit['peak_gib']})")
                else:
                    cells.append(_fmt(hit["seconds"]))
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines += ["", "Analysis and rule timings include building any graph view or cache they "
                  "are the first to need; the views built up front are listed as graph:<view>. "
                  "Analyses run side by side (`analysis_threads` in the JSON, two on two "
                  "cores), so their own timings overlap and add up to more than "
                  "`analyses+rules (wall)`, which is what `analyze s` counts.",
                  "`analyze s` = load + events + graph views + analyses and rules (wall). "
                  "`import s` includes reading, parsing, identity resolution and writing "
                  "Parquet. Generation time is not counted. `import CPU s`: user and system "
                  "CPU of the import, its worker processes included. `speed probe s`: a fixed "
                  "piece of CPU work timed before and after the size (best of three; "
                  "`benchmarks.run.speed_probe`): how fast this shared machine was meanwhile.",
                  ""]
        lines += ["## Data", "", "| people | rows per table | generate s | input bytes |",
                  "|---|---|---|---|"]
        for s in sizes:
            f = s["facts"]
            rows = ", ".join(f"{k} {v:,}" for k, v in f["rows"].items())
            size = sum(f["input_bytes"].values())
            lines.append(f"| {_fmt(f['people'])} | {rows} | {_fmt(f['generate_s'])} "
                         f"| {size / 2**20:,.0f} MiB |")
    for s in doc["sizes"]:
        if "error" in s:
            lines += ["", f"Size {_fmt(s.get('people'))}: {s['error']}"]
    k = doc.get("kernels")
    if k and "rows" in k:
        from benchmarks.kernels import markdown_table

        lines += ["", f"## Kernels: orgnet vs networkx on one {k['graph']['nodes']:,}-node graph",
                  "", markdown_table(k)]
    elif k:
        lines += ["", f"Kernels: {k.get('error')}"]
    return "\n".join(lines) + "\n"


#: Share of the machine's memory a size may be projected to need and still run.
_MEMORY_HEADROOM = 0.9


def _too_big(people: int, measured: list[tuple[int, float]], memory_gib: float | None) -> str | None:
    """Why ``people`` should not run here, or None.

    Peak memory grows about linearly with people (events per person are constant in the
    generator), so the largest smaller size measured in this run projects the peak; a size
    projected past ``_MEMORY_HEADROOM`` of the machine's memory would end in the OOM killer
    after the hour it takes to generate, so it is reported instead.
    """
    smaller = [(n, peak) for n, peak in measured if n < people]
    if not smaller or not memory_gib:
        return None
    n, peak = max(smaller)
    projected = peak * people / n
    if projected <= _MEMORY_HEADROOM * memory_gib:
        return None
    return (f"peak memory projected at {projected:,.0f} GiB (linear from {peak:.1f} GiB at "
            f"{n:,} people) > {_MEMORY_HEADROOM:.0%} of this machine's {memory_gib:.1f} GiB; "
            "--force runs it anyway")


def _verdict(people: int, months: int, summary: dict[str, Any]) -> str:
    t = TARGETS.get(people)
    if t is None:
        return ""
    if months != TARGET_MONTHS:
        return f"no verdict: the targets are for {TARGET_MONTHS} months"
    checks = []
    if "import_s" in t:
        checks.append(f"import {'ok' if summary['import_s'] <= t['import_s'] else 'MISSED'}")
    if "analyze_s" in t:
        checks.append(f"analyze {'ok' if summary['analyze_s'] <= t['analyze_s'] else 'MISSED'}")
    if "total_s" in t:
        checks.append(f"total {'ok' if summary['total_s'] <= t['total_s'] else 'MISSED'}")
    if "peak_gib" in t:
        checks.append(f"memory {'ok' if summary['peak_gib'] <= t['peak_gib'] else 'MISSED'}")
    return ", ".join(checks)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; ``--one N`` is the per-size subprocess."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="2,000 people x 6 months")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="where generated organisations are kept and reused")
    parser.add_argument("--kernel-nodes", type=int, default=20_000)
    parser.add_argument("--no-kernels", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--force", action="store_true",
                        help="run every size even when a smaller one projects its peak memory "
                             "past this machine's")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one is not None:
        result = run_size(args.one, args.months, args.seed, args.data)
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
        return 0

    if args.quick:
        args.sizes, args.months, args.kernel_nodes = [2_000], 6, 5_000
    today = dt.date.today().isoformat()
    doc: dict[str, Any] = {"date": today, "machine": machine(), "months": args.months,
                           "seed": args.seed, "targets": {str(k): v for k, v in TARGETS.items()},
                           "sizes": []}
    measured: list[tuple[int, float]] = []  # (people, peak GiB) of the sizes run so far
    for people in sorted(args.sizes):
        skip = None if args.force else _too_big(people, measured, doc["machine"]["memory_gib"])
        if skip is not None:
            print(f"== {people:,} people: not run, {skip}", file=sys.stderr, flush=True)
            doc["sizes"].append({"people": people, "error": f"not run: {skip}"})
            continue
        print(f"== {people:,} people x {args.months} months", file=sys.stderr, flush=True)
        res = _subprocess_json(["benchmarks.run", "--one", str(people), "--months",
                                str(args.months), "--seed", str(args.seed), "--data",
                                str(args.data)], f"size {people}")
        assert res is not None
        res.setdefault("people", people)
        if "summary" in res:
            res["verdict"] = _verdict(people, args.months, res["summary"])
            measured.append((people, float(res["summary"]["peak_gib"])))
        doc["sizes"].append(res)
    if not args.no_kernels:
        print(f"== kernels on {args.kernel_nodes:,} nodes", file=sys.stderr, flush=True)
        doc["kernels"] = _subprocess_json(
            ["benchmarks.kernels", "--nodes", str(args.kernel_nodes)], "kernels")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"bench-{today}{'-quick' if args.quick else ''}"
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    text = markdown(doc)
    stem.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {stem}.json and {stem}.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

