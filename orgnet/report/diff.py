"""What changed between two runs: findings new, resolved, worse or unchanged, keyed by finding id.

Finding ids are stable hashes of the finding's kind and subjects (:func:`orgnet.findings.make_finding`),
so the same gatekeeper in the same unit keeps its id from one week to the next.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from orgnet.exceptions import InputError

__all__ = ["WORSE_BY", "diff_findings", "load_previous"]

#: A finding is *worse* when its severity rose by at least this much.
WORSE_BY: Final = 0.1
_EPS: Final = 1e-9


def _entry(f: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    out = {"id": str(f.get("id")), "kind": f.get("kind"), "title": f.get("title"),
           "severity": f.get("severity")}
    if previous is not None:
        out["previous_severity"] = previous.get("severity")
    return out


def _sev(f: Mapping[str, Any]) -> float:
    value = f.get("severity")
    return float(value) if isinstance(value, int | float) else 0.0


def diff_findings(
    current_doc: Mapping[str, Any],
    previous_doc: Mapping[str, Any],
    *,
    worse_by: float = WORSE_BY,
) -> dict[str, Any]:
    """Compare two ``findings.json`` documents.

    Parameters
    ----------
    current_doc, previous_doc
        ``findings.json`` documents (only ``findings[].id/kind/title/severity`` and the
        ``window`` / ``generated_at`` / ``data_up_to`` keys are read).
    worse_by
        Severity increase that makes a finding *worse*.

    Returns
    -------
    dict
        ``new`` (in current only), ``resolved`` (in previous only), ``worse`` (severity up by
        ``>= worse_by``), ``unchanged`` (the rest present in both): lists of
        ``{id, kind, title, severity[, previous_severity]}``; ``counts`` per list; ``previous`` and
        ``current`` (window, generated_at, data_up_to); ``worse_by``. Lists are sorted by severity
        (highest first; ``worse`` by the increase) then id, so the result is deterministic.
    """
    cur = {str(f.get("id")): f for f in current_doc.get("findings", []) or []}
    prev = {str(f.get("id")): f for f in previous_doc.get("findings", []) or []}
    new = [_entry(cur[i]) for i in cur if i not in prev]
    resolved = [_entry(prev[i]) for i in prev if i not in cur]
    worse: list[dict[str, Any]] = []
    unchanged: list[dict[str, Any]] = []
    for i, f in cur.items():
        if i not in prev:
            continue
        entry = _entry(f, prev[i])
        (worse if _sev(f) - _sev(prev[i]) >= worse_by - _EPS else unchanged).append(entry)

    def by_severity(e: dict[str, Any]) -> tuple[float, str]:
        return (-_sev(e), e["id"])

    new.sort(key=by_severity)
    resolved.sort(key=by_severity)
    unchanged.sort(key=by_severity)
    worse.sort(key=lambda e: (-(_sev(e) - float(e.get("previous_severity") or 0.0)), e["id"]))

    def meta(doc: Mapping[str, Any]) -> dict[str, Any]:
        return {k: doc.get(k) for k in ("window", "generated_at", "data_up_to")}

    return {
        "previous": meta(previous_doc),
        "current": meta(current_doc),
        "worse_by": worse_by,
        "counts": {"new": len(new), "resolved": len(resolved), "worse": len(worse),
                   "unchanged": len(unchanged)},
        "new": new,
        "resolved": resolved,
        "worse": worse,
        "unchanged": unchanged,
    }


def load_previous(path: str | Path) -> dict[str, Any]:
    """Read a previous run's ``findings.json`` (``path`` is the run's folder or the file).

    Raises
    ------
    InputError
        When the folder or file does not exist, is not JSON, or has no ``findings`` list.
    """
    target = Path(path)
    if target.is_dir():
        target = target / "findings.json"
    if not target.is_file():
        raise InputError("no findings.json from a previous run here (give the folder of a "
                         "previous `orgnet report --out` or its findings.json)", file=str(target))
    try:
        doc = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not a readable findings.json ({exc})", file=str(target)) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list) or not all(
            isinstance(f, dict) and "id" in f for f in doc["findings"]):
        raise InputError("not a findings.json document: expected {\"findings\": [{\"id\": ...}]}",
                         file=str(target))
    return doc
