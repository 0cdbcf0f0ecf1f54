"""Findings: ranked, explained results of the analyses, and the ``findings.json`` contract.

``findings.json`` is the product's stable contract (ARCHITECTURE §4)::

    {"orgnet_version": "0.1.0", "generated_at": "2026-11-21T10:00:00Z",
     "window": {"since": "2026-01-01", "until": "2026-10-01"},
     "findings": [{"id", "kind", "severity", "title", "people": [{"person_id", "name"}],
                   "units": [{"unit_id", "name"}], "evidence": {...}}]}

Findings are sorted by severity (highest first), then by id, so the file is deterministic.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from orgnet import __version__
from orgnet._text import stable_hash

__all__ = [
    "FINDING_KINDS",
    "Finding",
    "FindingContext",
    "findings_document",
    "make_finding",
    "read_findings",
    "sort_findings",
    "write_findings",
]

FINDING_KINDS: Final = (
    "gatekeeper",
    "review_bottleneck",
    "blind_spot",
    "silo",
    "informal_team",
    "misaligned_person",
    "hidden_influencer",
    "information_drought",
    "knowledge_island",
    "ownership_drift",
    "org_change_lag",
)


@dataclass(frozen=True)
class Finding:
    """One finding: what, how severe (0..1), a plain sentence, who and which units, and why."""

    id: str
    kind: str
    severity: float
    title: str
    people: tuple[tuple[str, str], ...] = ()
    units: tuple[tuple[str, str], ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of the contract."""
        return {
            "id": self.id,
            "kind": self.kind,
            "severity": round(float(self.severity), 4),
            "title": self.title,
            "people": [{"person_id": p, "name": n} for p, n in self.people],
            "units": [{"unit_id": u, "name": n} for u, n in self.units],
            "evidence": _jsonable(dict(self.evidence)),
        }


@dataclass
class FindingContext:
    """Names and thresholds the findings layer needs to write sentences and respect privacy.

    Attributes
    ----------
    person_names, unit_names
        Display names by id.
    unit_sizes
        People per unit at the compared level (for the minimum group size).
    min_group_size
        Unit-level findings about smaller units are suppressed (privacy; default 5).
    """

    person_names: Mapping[str, str] = field(default_factory=dict)
    unit_names: Mapping[str, str] = field(default_factory=dict)
    unit_sizes: Mapping[str, int] = field(default_factory=dict)
    min_group_size: int = 5

    def person(self, pid: str) -> str:
        """Display name of a person."""
        return self.person_names.get(pid, pid)

    def unit(self, uid: str) -> str:
        """Display name of a unit."""
        return self.unit_names.get(uid, uid)

    def too_small(self, *units: str) -> bool:
        """True when any of the units has fewer members than the privacy threshold."""
        return any(self.unit_sizes.get(u, self.min_group_size) < self.min_group_size for u in units)


def make_finding(
    kind: str,
    severity: float,
    title: str,
    *,
    people: Sequence[str] = (),
    units: Sequence[str] = (),
    evidence: Mapping[str, Any] | None = None,
    ctx: FindingContext | None = None,
    key: str | None = None,
) -> Finding:
    """Build a finding with a stable id (a hash of kind and subjects, or of ``key``).

    Severity is clipped to ``[0, 1]``.
    """
    if kind not in FINDING_KINDS:
        raise ValueError(f"unknown finding kind {kind!r}")
    c = ctx or FindingContext()
    subjects = key if key is not None else "|".join([*sorted(people), "#", *sorted(units)])
    sev = 0.0 if math.isnan(severity) else min(1.0, max(0.0, float(severity)))
    return Finding(
        id=stable_hash(kind, subjects, length=16),
        kind=kind,
        severity=sev,
        title=title,
        people=tuple((p, c.person(p)) for p in people),
        units=tuple((u, c.unit(u)) for u in units),
        evidence=dict(evidence or {}),
    )


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Highest severity first; ties by kind and id (deterministic)."""
    return sorted(findings, key=lambda f: (-round(f.severity, 6), f.kind, f.id))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 6)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return value


def findings_document(
    findings: Iterable[Finding],
    *,
    window: Mapping[str, str | None] | None = None,
    generated_at: dt.datetime | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``findings.json`` document."""
    when = generated_at or dt.datetime.now(dt.UTC)
    doc: dict[str, Any] = {
        "orgnet_version": __version__,
        "generated_at": when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "window": dict(window or {"since": None, "until": None}),
        "findings": [f.as_dict() for f in sort_findings(findings)],
    }
    if extra:
        doc.update(_jsonable(dict(extra)))
    return doc


def write_findings(path: str | Path, document: Mapping[str, Any]) -> Path:
    """Write ``findings.json`` (sorted keys, UTF-8)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    tmp.replace(out)  # atomic: a reader never sees half a file
    return out


def read_findings(path: str | Path) -> dict[str, Any]:
    """Read a ``findings.json`` document."""
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data
