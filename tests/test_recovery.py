"""Recovery of planted structures on generated organisations, and few findings on null ones.

Three seeds and two sizes (ANALYSES "statistical hygiene"; issue acceptance): every planted
structure at default strength is reported with the right people or units, the highest-severity
finding of each kind is a planted one, and null organisations raise at most 3 findings of
severity >= 0.5 per 1,000 people. ``benchmarks/recovery.py`` prints the full precision/recall
table.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from orgnet.analysis.registry import run_analyses
from orgnet.dataset import Dataset
from orgnet.pipeline import import_sample
from orgnet.recovery import score_findings
from orgnet.synth import generate

pytestmark = pytest.mark.slow

SEEDS = (1, 2, 3)
SIZES = (150, 300)
MONTHS = 6


@cache
def _run(people: int, seed: int, null: bool, root: str) -> tuple[list[dict], list[dict]]:
    base = Path(root) / f"{people}-{seed}-{'null' if null else 'planted'}"
    generate(base / "org", people=people, months=MONTHS, seed=seed, null=null)
    import_sample(base / "org", base / "ws")
    run = run_analyses(Dataset.from_workspace(base / "ws"))
    truth = json.loads((base / "org" / "truth.json").read_text())["planted"]
    return run.document["findings"], truth


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("recovery"))


@pytest.mark.parametrize("people", SIZES)
@pytest.mark.parametrize("seed", SEEDS)
def test_every_planted_structure_is_recovered(root: str, seed: int, people: int) -> None:
    findings, truth = _run(people, seed, False, root)
    scores = score_findings(findings, truth)
    missed = {k: s.missed for k, s in scores.items() if s.planted and s.recovered < s.planted}
    assert not missed, missed
    wrong_top = [k for k, s in scores.items() if s.planted and s.top_is_planted is False]
    assert not wrong_top, {k: next(f["title"] for f in sorted(findings, key=lambda f: -f["severity"])
                                   if f["kind"] == k) for k in wrong_top}


@pytest.mark.parametrize("people", SIZES)
@pytest.mark.parametrize("seed", SEEDS)
def test_null_organisations_raise_few_findings(root: str, seed: int, people: int) -> None:
    findings, truth = _run(people, seed, True, root)
    assert truth == []
    strong = [f for f in findings if f["severity"] >= 0.5]
    assert len(strong) <= 3 * people / 1000, [(f["kind"], f["title"]) for f in strong]
