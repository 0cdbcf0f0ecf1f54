"""Score findings against a generated organisation's ``truth.json`` (precision and recall per kind).

A planted structure is *recovered* when a finding of the same kind names the right subjects:
person kinds must name the planted person; ``informal_team`` must share at least half of its
members with the planted group (Jaccard >= 0.5); unit kinds must name the planted units
(``blind_spot``: both units of a dependency without contact, or the dependent and the neglected
unit of a one-sided relationship; ``silo``, ``information_drought``, ``ownership_drift``: the
first, owning unit). Used by the recovery tests and ``benchmarks/recovery.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KindScore", "match", "score_findings"]

PERSON_KINDS = frozenset({"gatekeeper", "review_bottleneck", "misaligned_person", "hidden_influencer",
                          "knowledge_island", "org_change_lag"})


@dataclass
class KindScore:
    """Counts for one finding kind."""

    planted: int = 0
    recovered: int = 0
    findings: int = 0
    true_findings: int = 0
    top_is_planted: bool | None = None
    missed: list[Mapping[str, Any]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Recovered / planted (1.0 when nothing was planted)."""
        return self.recovered / self.planted if self.planted else 1.0

    @property
    def precision(self) -> float:
        """Findings matching a planted structure / findings (1.0 when there are none)."""
        return self.true_findings / self.findings if self.findings else 1.0


def _people(f: Mapping[str, Any]) -> set[str]:
    return {p["person_id"] for p in f.get("people", [])}


def _units(f: Mapping[str, Any]) -> set[str]:
    return {u["unit_id"] for u in f.get("units", [])}


def match(planted: Mapping[str, Any], finding: Mapping[str, Any]) -> bool:
    """True when ``finding`` reports ``planted`` (same kind, right people or units)."""
    kind = planted["kind"]
    if finding["kind"] != kind:
        return False
    people = set(planted.get("people", []))
    units = list(planted.get("units", []))
    if kind in PERSON_KINDS:
        return bool(people) and people <= _people(finding)
    if kind == "informal_team":
        got = _people(finding)
        return bool(got) and len(people & got) / len(people | got) >= 0.5
    if kind == "blind_spot":
        details = planted.get("details") or {}
        if details.get("variant") == "one_sided_relationship":
            # The blind spot is the dependent unit and the unit it does not talk to; a finding may
            # report it as a one-sided relationship or as a dependency without contact.
            pair = {details.get("dependent_unit"), details.get("silent_with")}
            return None not in pair and pair <= _units(finding)
        return bool(units) and set(units) <= _units(finding)
    return bool(units) and units[0] in _units(finding)


def score_findings(
    findings: Iterable[Mapping[str, Any]], planted: Iterable[Mapping[str, Any]],
    *, min_severity: float = 0.0,
) -> dict[str, KindScore]:
    """Per kind: planted, recovered, findings, true findings and whether the top finding is planted."""
    found = [f for f in findings if f["severity"] >= min_severity]
    truth = list(planted)
    kinds = sorted({p["kind"] for p in truth} | {f["kind"] for f in found})
    out: dict[str, KindScore] = {}
    for kind in kinds:
        fs = sorted((f for f in found if f["kind"] == kind), key=lambda f: -f["severity"])
        ps = [p for p in truth if p["kind"] == kind]
        s = KindScore(planted=len(ps), findings=len(fs))
        s.recovered = sum(1 for p in ps if any(match(p, f) for f in fs))
        s.missed = [p for p in ps if not any(match(p, f) for f in fs)]
        s.true_findings = sum(1 for f in fs if any(match(p, f) for p in ps))
        if fs:
            s.top_is_planted = any(match(p, fs[0]) for p in ps)
        out[kind] = s
    return out
