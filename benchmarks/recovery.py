"""Precision and recall of every finding kind on generated organisations.

Run with ``python -m benchmarks.recovery [--seeds 1 2 3] [--sizes 150 300] [--months 6]``: for each
seed and size, generate a planted and a null organisation, import, analyze, and score the findings
against ``truth.json`` (:mod:`orgnet.recovery`). Prints a Markdown table per kind and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from orgnet.analysis.registry import run_analyses
from orgnet.dataset import Dataset
from orgnet.pipeline import import_sample
from orgnet.recovery import score_findings
from orgnet.synth import generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--sizes", type=int, nargs="+", default=[150, 300])
    parser.add_argument("--months", type=int, default=6)
    args = parser.parse_args()
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    null_strong: list[tuple[int, int, int]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for people in args.sizes:
                for null in (False, True):
                    base = Path(tmp) / f"{people}-{seed}-{null}"
                    generate(base / "org", people=people, months=args.months, seed=seed, null=null)
                    import_sample(base / "org", base / "ws")
                    run = run_analyses(Dataset.from_workspace(base / "ws"))
                    findings = run.document["findings"]
                    if null:
                        null_strong.append((seed, people,
                                            sum(f["severity"] >= 0.5 for f in findings)))
                        for f in findings:
                            totals[f["kind"]]["null_findings"] += 1
                        continue
                    truth = json.loads((base / "org" / "truth.json").read_text())["planted"]
                    for kind, s in score_findings(findings, truth).items():
                        t = totals[kind]
                        t["planted"] += s.planted
                        t["recovered"] += s.recovered
                        t["findings"] += s.findings
                        t["true_findings"] += s.true_findings
                        t["top_planted"] += int(bool(s.top_is_planted)) if s.planted else 0
                        t["runs_with_plant"] += int(s.planted > 0)
    print("| kind | planted | recovered | recall | findings | matching a plant | precision "
          "| top finding planted | findings on null orgs |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in sorted(totals):
        t = totals[kind]
        recall = t["recovered"] / t["planted"] if t["planted"] else float("nan")
        precision = t["true_findings"] / t["findings"] if t["findings"] else float("nan")
        print(f"| {kind} | {t['planted']} | {t['recovered']} | {recall:.2f} | {t['findings']} | "
              f"{t['true_findings']} | {precision:.2f} | {t['top_planted']}/{t['runs_with_plant']} "
              f"| {t['null_findings']} |")
    print()
    for seed, people, n in null_strong:
        print(f"null seed {seed}, {people} people: {n} findings with severity >= 0.5 "
              f"(limit {3 * people / 1000:.2f})")
    print(json.dumps({"benchmark": "recovery", "seconds": round(time.perf_counter() - started, 1),
                      "kinds": {k: dict(v) for k, v in totals.items()},
                      "null_strong": null_strong}))


if __name__ == "__main__":
    main()
