"""The benchmark runner's memory pre-flight and its report of sizes it did not run."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import run
from benchmarks.run import _too_big, markdown


def test_size_projected_past_memory_is_not_run() -> None:
    why = _too_big(100_000, [(10_000, 4.8)], memory_gib=23.5)
    assert why is not None
    assert "48 GiB" in why and "10,000 people" in why and "--force" in why


def test_size_that_fits_runs() -> None:
    assert _too_big(40_000, [(10_000, 4.8)], memory_gib=23.5) is None  # 19.2 <= 21.2
    assert _too_big(50_000, [(10_000, 4.8)], memory_gib=23.5) is not None  # 24.0 > 21.2


def test_projection_uses_largest_smaller_size_only() -> None:
    # The 20,000 run (peak 3 GiB) projects 100,000 to 15 GiB: fits in 23.5 * 0.9.
    assert _too_big(100_000, [(2_000, 4.0), (20_000, 3.0)], memory_gib=23.5) is None
    # A larger size measured earlier says nothing about a smaller one.
    assert _too_big(10_000, [(100_000, 50.0)], memory_gib=23.5) is None
    # Nothing measured yet, or memory unknown: run.
    assert _too_big(100_000, [], memory_gib=23.5) is None
    assert _too_big(100_000, [(10_000, 4.8)], memory_gib=None) is None


def test_markdown_lists_a_size_not_run() -> None:
    doc = {"date": "2026-11-21", "machine": {"cores": 2},
           "sizes": [{"people": 100_000, "error": "not run: projected 48 GiB"}]}
    text = markdown(doc)
    assert "Size 100,000: not run: projected 48 GiB" in text


def test_verdict_only_for_the_period_the_targets_are_for() -> None:
    summary = {"import_s": 50.0, "analyze_s": 70.0, "total_s": 500.0, "peak_gib": 9.0}
    assert run._verdict(10_000, 12, summary) == "import ok, analyze MISSED"
    assert run._verdict(100_000, 12, summary) == "total ok, memory ok"
    assert run._verdict(100_000, 2, summary).startswith("no verdict")
    assert run._verdict(2_000, 12, summary) == ""


def test_cpu_seconds_count_ended_children() -> None:
    import subprocess
    import sys

    before = run._cpu_seconds()
    subprocess.run([sys.executable, "-c", "sum(i * i for i in range(3_000_000))"], check=True)
    assert run._cpu_seconds() - before >= 0.05  # the child's CPU, not only this process's


def test_markdown_shows_import_cpu_and_the_speed_probe() -> None:
    size = {"people": 2_000, "verdict": "",
            "facts": {"people": 2_000, "rows": {"interactions": 10}, "generate_s": 1.0,
                      "input_bytes": {"a": 1}, "speed_probe_s": [0.35, 0.41]},
            "steps": [{"step": "import", "group": "import", "seconds": 3.0, "cpu_s": 5.5,
                       "peak_gib": 0.5}],
            "summary": {"import_s": 3.0, "analyze_s": 4.0, "report_s": 1.0, "total_s": 8.0,
                        "peak_gib": 0.5, "import_cpu_s": 5.5}}
    text = markdown({"date": "2026-11-22", "machine": {"cores": 2}, "sizes": [size]})
    row = next(line for line in text.splitlines() if line.startswith("| 2,000 | 10 |"))
    assert row.endswith("| 5.50 | 0.35 / 0.41 |")
    assert run.speed_probe() > 0


def test_peak_memory_counts_files_in_dev_shm_once(monkeypatch: Any) -> None:
    """Files in /dev/shm count through the file system's growth, not through the processes
    that map them (that would count them twice)."""
    status = [b"Name:\tpython\n", b"VmRSS:\t  700 kB\n", b"RssAnon:\t  300 kB\n",
              b"RssFile:\t  100 kB\n", b"RssShmem:\t  300 kB\n", b"VmSwap:\t 0 kB\n"]
    assert run._private_rss(status) == 400 * 1024  # shared memory left out
    mem = run.PeakMemory()
    if mem._proc is None or not mem._proc_status or mem._shm is None:
        pytest.skip("no psutil, /proc or /dev/shm here: the measure is resident size only")
    assert "/dev/shm" in mem.method
    me = mem._proc
    own = mem._one(me)
    assert 0 < own <= me.memory_info().rss
    # The file system's growth since the measure started is added once (other tests may use
    # /dev/shm at the same time: its reading is replaced here).
    size = 64 << 20
    monkeypatch.setattr(mem, "_shm_used", lambda: mem._shm_base + size)
    monkeypatch.setattr(mem, "_one", lambda proc: own)
    monkeypatch.setattr(mem, "_children", [])
    monkeypatch.setattr(mem, "_listed_at", float("inf"))
    assert mem._rss() == own + size
    monkeypatch.setattr(mem, "_shm_used", lambda: mem._shm_base - size)  # shrunk: not negative
    assert mem._rss() == own
