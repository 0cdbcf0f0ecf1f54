"""Tiny hand-checkable datasets for analysis tests: identity id == person id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import polars as pl

from orgnet.dataset import Dataset
from orgnet.schema import conform

T0 = dt.datetime(2024, 3, 4, 12, tzinfo=dt.UTC)

Event = tuple[str, str, str | None]  # (kind, actor, target)


def dataset(
    people: Mapping[str, str],
    *,
    units: Mapping[str, tuple[str, str | None, str]] | None = None,
    events: Iterable[tuple[object, ...]] = (),
    touches: Iterable[tuple[str, str, str]] = (),
    ownership: Iterable[tuple[str, str, str]] = (),
    memberships: Iterable[tuple[str, str, dt.date | None, dt.date | None]] | None = None,
    levels: Mapping[str, str] | None = None,
) -> Dataset:
    """Build a dataset.

    ``people``: person -> unit. ``units``: unit -> (name, parent, kind) (default: each unit a
    team under no parent). ``events``: (kind, actor, target[, artifact, container, value, ts]).
    ``touches``: (artifact, person, path). ``ownership``: (pattern, owner_handle, unit_id).
    ``memberships``: explicit (person, unit, valid_from, valid_to) spans instead of ``people``.
    """
    unit_rows = units or {u: (u.title(), None, "team") for u in sorted(set(people.values()))}
    ev_rows = []
    for i, e in enumerate(events):
        kind, actor, target, *rest = e
        artifact = rest[0] if len(rest) > 0 else None
        container = rest[1] if len(rest) > 1 else None
        value = rest[2] if len(rest) > 2 else None
        ts = rest[3] if len(rest) > 3 else T0
        ev_rows.append({"event_id": f"e{i:05d}", "source": "test", "kind": kind, "actor_id": actor,
                        "target_id": target, "artifact_id": artifact, "container": container,
                        "value": value, "ts": ts, "weight": 1.0})
    spans = memberships if memberships is not None else [
        (p, u, None, None) for p, u in people.items()]
    everyone = sorted(set(people) | {s[0] for s in spans})
    return Dataset(
        people=conform("people", pl.DataFrame({
            "person_id": everyone, "display_name": [p.title() for p in everyone],
            "is_bot": [False] * len(everyone), "in_org_chart": [True] * len(everyone)})),
        identities=conform("identities", pl.DataFrame({
            "identity_id": everyone, "person_id": everyone, "source": ["test"] * len(everyone),
            "is_bot": [False] * len(everyone), "origin": ["observed"] * len(everyone)})),
        units=conform("units", pl.DataFrame(
            [{"unit_id": u, "name": n, "parent_id": p, "kind": k, "source": "test"}
             for u, (n, p, k) in sorted(unit_rows.items())])),
        memberships=conform("memberships", pl.DataFrame(
            [{"person_id": p, "unit_id": u, "role": "member", "valid_from": a, "valid_to": b,
              "precision": "day", "source": "test", "level": (levels or {}).get(p)}
             for p, u, a, b in spans],
            schema={"person_id": pl.String, "unit_id": pl.String, "role": pl.String,
                    "valid_from": pl.Date, "valid_to": pl.Date, "precision": pl.String,
                    "source": pl.String, "level": pl.String})),
        interactions=conform("interactions", pl.DataFrame(
            ev_rows, schema={"event_id": pl.String, "source": pl.String, "kind": pl.String,
                             "actor_id": pl.String, "target_id": pl.String,
                             "artifact_id": pl.String, "container": pl.String,
                             "value": pl.String, "ts": pl.Datetime("us", "UTC"),
                             "weight": pl.Float64})).lazy(),
        touches=conform("touches", pl.DataFrame(
            [{"artifact_id": a, "actor_id": p, "path": f, "ts": T0} for a, p, f in touches],
            schema={"artifact_id": pl.String, "actor_id": pl.String, "path": pl.String,
                    "ts": pl.Datetime("us", "UTC")})).lazy(),
        ownership=conform("ownership", pl.DataFrame(
            [{"rule_id": f"r{i}", "source": "codeowners", "source_file": "CODEOWNERS",
              "rule_order": i, "pattern": pat, "negate": False, "role": "owner",
              "owner_handle": h, "owner_unit_id": u}
             for i, (pat, h, u) in enumerate(ownership)],
            schema={"rule_id": pl.String, "source": pl.String, "source_file": pl.String,
                    "rule_order": pl.Int32, "pattern": pl.String, "negate": pl.Boolean,
                    "role": pl.String, "owner_handle": pl.String, "owner_unit_id": pl.String})),
    )


def team_of(n: int, unit: str, prefix: str | None = None) -> dict[str, str]:
    """``n`` people named ``<prefix><i>`` in ``unit``."""
    p = prefix or unit[0]
    return {f"{p}{i}": unit for i in range(n)}


def chatter(people: list[str], times: int = 1, kind: str = "chat_reply") -> list[tuple[object, ...]]:
    """Every ordered pair of ``people`` talks ``times`` times."""
    return [(kind, a, b) for a in people for b in people if a != b for _ in range(times)]
