"""The sequential identity resolution orgnet shipped until the columnar one: an oracle.

Kept verbatim (one union at a time over Python rows) so tests can check the columnar
``orgnet.identity.resolve`` gives the same people, evidence and people table.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from orgnet._text import normalize_email, normalize_handle, normalize_name, stable_hash
from orgnet.identity import (
    _FREEMAIL,
    _NOREPLY,
    USERNAME_SOURCES,
    is_bot_handle,
    is_shared_address,
)
from orgnet.schema import SCHEMAS


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> str:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra
        return ra


@dataclass(frozen=True)
class _Row:
    identity_id: str
    source: str
    native_id: str | None
    username: str | None
    email: str | None
    name: str | None
    is_bot: bool
    origin: str
    person_id: str | None

    @property
    def shared(self) -> bool:
        """True when the handle is a shared address (never evidence for a merge)."""
        if is_shared_address(self.email):
            return True
        return self.source in ("git", "mbox", "email") and is_shared_address(self.native_id)


def _keys(r: _Row) -> Iterable[tuple[int, str, str]]:
    """Evidence keys of an identity as (strength, reason, key); lower strength is stronger."""
    shared = r.is_bot
    email = normalize_email(r.email) or (
        normalize_email(r.native_id) if r.source in ("git", "mbox", "email") else None
    )
    if r.origin != "observed":
        strength = 0 if r.origin == "hris" else 1
        reason = r.origin
        if r.source == "hris":
            return
        if email:
            yield strength, f"{reason}:email", f"email:{email}"
        if r.source in USERNAME_SOURCES and r.username:
            yield strength, f"{reason}:{r.source}", f"user:{r.source}:{normalize_handle(r.username)}"
        if r.native_id and r.source != "email":
            yield strength, f"{reason}:{r.source}", f"id:{r.source}:{r.native_id.strip().lower()}"
        return
    if r.native_id:
        yield 1, "native-id", f"id:{r.source}:{r.native_id.strip().lower()}"
    if r.source in USERNAME_SOURCES and r.username:
        yield 1, "username", f"user:{r.source}:{normalize_handle(r.username)}"
    if email and not shared and not is_shared_address(email):
        yield 2, "email", f"email:{email}"
        m = _NOREPLY.match(email)
        if m:
            yield 3, "github-noreply", f"user:github:{m.group('login').lower()}"


def _domain_emails(rows: Iterable[_Row]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        e = normalize_email(r.email)
        if e and not is_shared_address(e):
            domain = e.partition("@")[2]
            if domain not in _FREEMAIL:
                out[domain].add(e)
    return out


def resolve_reference(identities: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Resolve identities to people.

    Parameters
    ----------
    identities
        The ``identities`` table: observed handles plus org-chart and alias claims. The incoming
        ``person_id``/``evidence`` of observed rows are ignored; claims keep theirs.

    Returns
    -------
    identities : pl.DataFrame
        Same rows with ``person_id`` and ``evidence`` (``"hris:email"``, ``"email"``, ``"name"``,
        ``"ambiguous:name"``, ``"self"`` ...) filled in, sorted by ``identity_id``.
    people : pl.DataFrame
        The ``people`` table, sorted by ``person_id``.
    """
    cols = ("identity_id", "source", "native_id", "username", "email", "name", "is_bot",
            "origin", "person_id")
    rows = [
        _Row(
            identity_id=iid,
            source=source,
            native_id=native_id,
            username=username,
            email=email,
            name=name,
            is_bot=bool(is_bot) or (
                origin == "observed" and is_bot_handle(username, name, email, native_id)
            ),
            origin=origin,
            person_id=person_id if origin != "observed" else None,
        )
        for iid, source, native_id, username, email, name, is_bot, origin, person_id in zip(
            *(identities[c].to_list() for c in cols), strict=True)
    ]
    by_id = {r.identity_id: r for r in rows}
    uf = _UnionFind()
    anchor: dict[str, str] = {}  # root -> org-chart / alias person id
    evidence: dict[str, str] = {}
    ambiguous: dict[str, str] = {}
    hris_person_names: dict[str, set[str]] = defaultdict(set)

    for r in rows:
        uf.find(r.identity_id)
        if r.origin != "observed" and r.person_id:
            # All claims of one person belong together: union them through a person node.
            node = f"person:{r.person_id}"
            root = uf.union(node, r.identity_id)
            anchor[root] = r.person_id
            evidence[r.identity_id] = "hris" if r.source == "hris" else f"{r.origin}:{r.source}"
            if r.origin == "hris" and r.name:
                n = normalize_name(r.name)
                if n:
                    hris_person_names[n].add(r.person_id)

    def try_union(a: str, b: str, reason: str) -> bool:
        ra, rb = uf.find(a), uf.find(b)
        if ra == rb:
            return True
        pa, pb = anchor.get(ra), anchor.get(rb)
        if pa and pb and pa != pb:
            for x in (a, b):
                if by_id.get(x) and by_id[x].origin == "observed":
                    ambiguous.setdefault(x, f"ambiguous:{reason}")
            return False
        root = uf.union(a, b)
        if pa or pb:
            anchor[root] = pa or pb  # type: ignore[assignment]
        return True

    # Keys, strongest evidence first.
    keyed: list[tuple[int, str, str, str]] = []
    for r in rows:
        for strength, reason, key in _keys(r):
            keyed.append((strength, key, reason, r.identity_id))
    keyed.sort()
    first_by_key: dict[str, tuple[str, str]] = {}
    for _strength, key, reason, iid in keyed:
        first = first_by_key.get(key)
        if first is None:
            first_by_key[key] = (iid, reason)
            continue
        other, first_reason = first
        # The first holder of a key came with the strongest evidence for it.
        label = first_reason if by_id[other].origin != "observed" else reason
        if try_union(other, iid, label):
            for x in (iid, other):
                if by_id[x].origin == "observed":
                    evidence.setdefault(x, label)

    # Name evidence, weakest: only unique names, never bots, never across conflicting addresses.
    name_groups: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r.origin == "observed" and not r.is_bot and not r.shared and r.name:
            n = normalize_name(r.name)
            if n and len(n.split()) >= 2:
                name_groups[n].append(r.identity_id)
    component_rows: dict[str, list[_Row]] = defaultdict(list)
    for r in rows:
        component_rows[uf.find(r.identity_id)].append(r)
    for n in sorted(name_groups):
        members = name_groups[n]
        owners = hris_person_names.get(n, set())
        if len(owners) > 1:
            for iid in members:
                if anchor.get(uf.find(iid)) is None:
                    ambiguous.setdefault(iid, "ambiguous:name shared by several org-chart people")
            continue
        targets = sorted({uf.find(i) for i in members})
        if owners:
            (owner,) = owners
            targets = [f"person:{owner}", *targets]
        if len(targets) < 2:
            continue
        base = targets[0]
        for other in targets[1:]:
            ra, rb = uf.find(base), uf.find(other)
            if ra == rb:
                continue
            if _conflicting(component_rows[ra], component_rows[rb]):
                for iid in members:
                    if uf.find(iid) in (ra, rb):
                        ambiguous.setdefault(iid, "ambiguous:same name, conflicting e-mail addresses")
                continue
            if try_union(ra, rb, "name"):
                merged = component_rows.pop(ra, []) + component_rows.pop(rb, [])
                component_rows[uf.find(ra)] = merged
                for iid in members:
                    evidence.setdefault(iid, "name")

    # Person ids.
    components: dict[str, list[_Row]] = defaultdict(list)
    for r in rows:
        components[uf.find(r.identity_id)].append(r)
    person_of_root: dict[str, str] = {}
    for root, component in components.items():
        pid = anchor.get(root)
        if pid is None:
            pid = "p-" + stable_hash(min(_stable_key(m) for m in component), length=12)
        person_of_root[root] = pid

    out_person = []
    out_evidence = []
    for r in rows:
        root = uf.find(r.identity_id)
        out_person.append(person_of_root[root])
        ev = evidence.get(r.identity_id) if r.origin == "observed" else None
        if r.origin != "observed":
            ev = identities_evidence(r)
        elif r.identity_id in ambiguous and (ev is None or len(components[root]) == 1):
            ev = ambiguous[r.identity_id]
        out_evidence.append(ev or "self")
    resolved = identities.with_columns(
        pl.Series("person_id", out_person, dtype=pl.String),
        pl.Series("evidence", out_evidence, dtype=pl.String),
        pl.Series("is_bot", [r.is_bot for r in rows], dtype=pl.Boolean),
    ).sort("identity_id")
    people = _people(components, person_of_root)
    return resolved.select(list(SCHEMAS["identities"])), people


def identities_evidence(r: _Row) -> str:
    """Evidence label of a claim row."""
    return "hris" if r.source == "hris" else f"{r.origin}:{r.source}"


def _stable_key(r: _Row) -> str:
    email = normalize_email(r.email)
    if email and not is_shared_address(email):
        return "0" + email
    return f"1{r.source}:{(r.native_id or r.username or r.name or r.identity_id).lower()}"


def _conflicting(a: list[_Row], b: list[_Row]) -> bool:
    """Two groups conflict when each holds a different non-freemail address on the same domain,
    or both are anchored to different people."""
    da, db = _domain_emails(a), _domain_emails(b)
    return any(da[domain].isdisjoint(db[domain]) for domain in set(da) & set(db))


def _people(components: dict[str, list[_Row]], person_of_root: dict[str, str]) -> pl.DataFrame:
    records = []
    for root, members in components.items():
        pid = person_of_root[root]
        hris = [m for m in members if m.source == "hris"]
        observed = [m for m in members if m.origin == "observed"]
        in_chart = bool(hris)
        name: str | None
        if hris:
            name = hris[0].name or pid
            email = normalize_email(hris[0].email)
        else:
            names = Counter(m.name for m in members if m.name)
            name = names.most_common(1)[0][0] if names else None
            if name is None:
                handles = [h for m in members if (h := m.username or m.native_id)]
                name = sorted(handles)[0] if handles else pid
            emails = Counter(
                normalize_email(m.email) for m in members
                if normalize_email(m.email) and not is_shared_address(m.email)
            )
            email = emails.most_common(1)[0][0] if emails else None
        is_bot = bool(observed) and all(m.is_bot for m in observed) and not in_chart
        records.append((pid, name, email, is_bot, in_chart))
    people = pl.DataFrame(
        records, schema=SCHEMAS["people"], orient="row"
    ) if records else pl.DataFrame(schema=SCHEMAS["people"])
    # Several roots can map to the same org-chart person only through the anchor; keep one row.
    return people.unique("person_id", keep="first").sort("person_id")
