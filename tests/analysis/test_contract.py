"""Contract test over every registered analysis and finding rule."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from orgnet.analysis._context import AnalysisContext
from orgnet.analysis.registry import ANALYSES, FINDING_RULES, _load_rule, run_analyses
from orgnet.dataset import Window
from orgnet.findings import FINDING_KINDS

from .factory import chatter, dataset, team_of

POSITIONAL = {"index", "idx", "row", "row_nr", "position", "pos", "node", "node_index", "i", "j"}
CONTRACT_FIELDS = {"id", "kind", "severity", "title", "people", "units", "evidence"}


def _org(shuffle: bool = False) -> object:
    people: dict[str, str] = {}
    for t in "abcdef":
        people.update(team_of(5, t))
    events: list[tuple[object, ...]] = []
    for t in "abcdef":
        members = [f"{t}{i}" for i in range(5)]
        events += chatter(members)
        events += [("review_approved", members[(i + 1) % 5], members[i], f"pr-{t}{i}")
                   for i in range(5)]
    events += [("chat_reply", "a0", "b0"), ("chat_reply", "c1", "d1"), ("review_approved", "e2", "f2")]
    touches = [(f"k{t}{i}", f"{t}{i}", f"{t}/file{i % 2}.py") for t in "abcdef" for i in range(5)]
    touches += [("kx", "a0", "b/file0.py")]
    if shuffle:
        events = list(reversed(events))
        touches = list(reversed(touches))
    return dataset(people, events=events, touches=touches,
                   ownership=[("/a/", "@acme/a", "a"), ("/b/", "@acme/b", "b")])


@pytest.mark.parametrize("spec", ANALYSES, ids=[s.name for s in ANALYSES])
def test_every_analysis_honours_the_contract(spec: object) -> None:
    fn = spec.load()  # type: ignore[attr-defined]
    full = fn(AnalysisContext(_org()))
    again = fn(AnalysisContext(_org(shuffle=True)))
    empty = fn(AnalysisContext(_org(), window=Window.of("2030-01-01", "2030-02-01")))
    assert isinstance(full, pl.DataFrame)
    # An empty window: no rows, the same documented columns and dtypes.
    assert empty.height == 0
    assert empty.schema == full.schema
    # Deterministic, independent of input order.
    assert full.equals(again), spec.name  # type: ignore[attr-defined]
    # Labelled, never positional.
    assert not POSITIONAL & {c.lower() for c in full.columns}
    assert not any(c.startswith("__index") for c in full.columns)


def test_every_finding_rule_produces_contract_findings(tmp_path: Path) -> None:
    run = run_analyses(_org(), out=tmp_path)
    doc = json.loads((tmp_path / "findings.json").read_text())
    assert set(doc) >= {"orgnet_version", "generated_at", "window", "findings"}
    for f in doc["findings"]:
        assert set(f) == CONTRACT_FIELDS
        assert f["kind"] in FINDING_KINDS and 0.0 <= f["severity"] <= 1.0
        assert f["title"] and f["title"].strip().count("\n") == 0
        assert all(set(p) == {"person_id", "name"} for p in f["people"])
        assert all(set(u) == {"unit_id", "name"} for u in f["units"])
    sev = [f["severity"] for f in doc["findings"]]
    assert sev == sorted(sev, reverse=True)
    for spec in ANALYSES:
        assert (tmp_path / f"{spec.name}.parquet").is_file()
        assert (tmp_path / f"{spec.name}.csv").is_file()
    assert set(run.frames) == {s.name for s in ANALYSES}
    # Every rule runs on an empty window without error and finds nothing.
    ctx = AnalysisContext(_org(), window=Window.of(dt.date(2030, 1, 1), dt.date(2030, 2, 1)))
    for target in FINDING_RULES:
        assert _load_rule(target)(ctx) == [], target


def test_findings_json_is_deterministic(tmp_path: Path) -> None:
    a = run_analyses(_org(), out=tmp_path / "a").document
    b = run_analyses(_org(shuffle=True), out=tmp_path / "b").document
    a.pop("generated_at")
    b.pop("generated_at")
    assert a == b


def test_analyses_side_by_side_give_the_serial_results() -> None:
    serial = run_analyses(_org(), threads=1)
    threaded = run_analyses(_org(shuffle=True), threads=3)
    assert list(threaded.frames) == [s.name for s in ANALYSES]  # the list's order
    for name, frame in serial.frames.items():
        assert frame.equals(threaded.frames[name]), name
    assert serial.document["findings"] == threaded.document["findings"]


def test_a_cached_value_is_computed_once_however_many_threads_ask() -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from orgnet.analysis._context import cached_in

    cache: dict[object, object] = {}
    calls: list[str] = []
    gate = threading.Barrier(4)

    def make(key: str) -> str:
        calls.append(key)
        time.sleep(0.05)  # long enough for every other thread to arrive meanwhile
        return key.upper()

    def ask(key: str) -> object:
        gate.wait()
        # the outer value needs the inner one: nested keys take their own locks
        return cached_in(cache, key, lambda: (make(key), cached_in(cache, "inner",
                                                                   lambda: make("inner"))))

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(ask, ["a", "a", "b", "a"]))
    assert got == [("A", "INNER"), ("A", "INNER"), ("B", "INNER"), ("A", "INNER")]
    assert sorted(calls) == ["a", "b", "inner"]
