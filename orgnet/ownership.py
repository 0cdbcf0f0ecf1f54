"""Path -> owners: evaluate the ``ownership`` table the way each file format's own tooling does.

Three rule systems live side by side in the ``ownership`` table (``source`` column):

``codeowners``
    GitHub/GitLab ``CODEOWNERS``: gitignore-style patterns, **the last matching rule wins**, a
    winning rule without owners leaves the path unowned (FORMATS §15.1).
``maintainers``
    Linux-style ``MAINTAINERS`` (also Xen, DPDK, coreboot, erofs ``AUTHORS``): **every** section
    whose ``F:`` patterns match and whose ``X:`` patterns do not, like ``get_maintainer.pl``
    (FORMATS §15.3). The owner is the section unit; its people are in ``memberships``.
``owners``
    Kubernetes and Chromium/Gerrit ``OWNERS`` files: the owners of the nearest ``OWNERS`` up the
    directory tree, united with those of every parent until a file that sets
    ``no_parent_owners`` / ``set noparent`` (FORMATS §15.2, §15.4).

Rules of different systems or files apply together: a path gets the union of the owners each
``(source, source_file)`` group assigns. Rules are grouped per ``container`` (repository); a query
without a container sees only rules imported without one.

Owner handles without a unit or identity (``@org/team`` in CODEOWNERS) are mapped to org-chart
units through an explicit mapping (:func:`load_unit_mapping`: a CSV ``owner,unit_id``) or, failing
that, by normalised name: ``@acme/data-platform`` -> the unit whose name slugifies to
``data-platform`` ("Data Platform"), preferring units of kind ``team`` when several match.

Pattern encoding of ``owners`` rules (written by :mod:`orgnet.importers.owners`): ``dir/`` (the
root is ``/``) owns the directory and everything below; ``dir/{re:REGEX}`` limits a Kubernetes
``filters`` entry to paths (relative to ``dir``) the regex finds; ``dir/{glob:GLOB}`` limits a
Chromium ``per-file`` entry to files directly in ``dir``. Rows with role ``no_parent_owners``
(null owner) stop inheritance at their directory (or, with a glob, for the matching files).
"""

from __future__ import annotations

import bisect
import csv
import fnmatch
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from orgnet._text import slugify
from orgnet.exceptions import ConfigError, InputError

__all__ = [
    "NON_OWNING_ROLES",
    "Owner",
    "OwnershipResolver",
    "PatternError",
    "codeowners_regex",
    "load_unit_mapping",
    "maintainers_regex",
    "normalize_path",
    "owners_scope",
]

#: Roles that appear in the ownership table but never make someone an owner of a path.
NON_OWNING_ROLES: Final = frozenset({"emeritus_approver", "no_parent_owners"})

_RE_META: Final = frozenset(".^$+(){}[]|\\?*")
_OWNERS_QUALIFIER: Final = re.compile(r"^(?P<dir>.*?/)\{(?P<kind>re|glob):(?P<expr>.*)\}$", re.S)

ASSIGN_COLUMNS: Final = {
    "path": pl.String,
    "container": pl.String,
    "source": pl.String,
    "source_file": pl.String,
    "rule_id": pl.String,
    "role": pl.String,
    "owner_handle": pl.String,
    "owner_unit_id": pl.String,
    "owner_identity_id": pl.String,
    "owner_person_id": pl.String,
    "specificity": pl.Int32,
}


class PatternError(ValueError):
    """An ownership pattern cannot be compiled (the importer turns it into a reject)."""


def _esc(ch: str) -> str:
    return "\\" + ch if ch in _RE_META else ch


def normalize_path(path: str) -> str:
    """Repository-relative path without ``./`` or a leading ``/``; backslashes become ``/``."""
    p = path.replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p.lstrip("/")


def codeowners_regex(pattern: str) -> str:
    """Regular expression (Python ``re`` and Rust ``regex`` compatible) for a CODEOWNERS pattern.

    gitignore rules without negation or character classes (FORMATS §15.1): a leading or middle
    ``/`` anchors the pattern at the repository root, otherwise it matches at any depth; a trailing
    ``/`` matches a directory and everything below it; ``*`` and ``?`` never cross ``/``; ``**``
    does. A pattern matching a directory matches everything below it, except that a last segment
    ``*`` (``docs/*``) matches only files directly in the directory, as GitHub documents.
    ``\\x`` escapes ``x`` (``\\#``, ``\\ ``).

    Raises
    ------
    PatternError
        For an empty pattern, ``!`` negation or a ``[...]`` class.
    """
    p = pattern
    if p.startswith("!"):
        raise PatternError("negation (!) is not supported in CODEOWNERS")
    anchored = p.startswith("/")
    if anchored:
        p = p[1:]
    dir_only = p.endswith("/") and not p.endswith("\\/")
    p = p.rstrip("/")
    if not p:
        raise PatternError("empty pattern")
    if "/" in p:
        anchored = True
    out: list[str] = []
    i, n = 0, len(p)
    while i < n:
        ch = p[i]
        if ch == "\\" and i + 1 < n:
            out.append(_esc(p[i + 1]))
            i += 2
        elif p.startswith("**/", i) and (i == 0 or p[i - 1] == "/"):
            out.append("(?:.*/)?")
            i += 3
        elif p.startswith("**", i):
            out.append(".*")
            i += 2
        elif ch == "*":
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            raise PatternError("character classes ([...]) are not supported in CODEOWNERS")
        else:
            out.append(_esc(ch))
            i += 1
    prefix = "^" if anchored else "^(?:.*/)?"
    last = p.rsplit("/", 1)[-1]
    if dir_only:
        suffix = "/.*$"
    elif last == "*" and "/" in p:
        suffix = "$"
    else:
        suffix = "(?:/.*)?$"
    return prefix + "".join(out) + suffix


def maintainers_regex(pattern: str) -> str:
    """Regular expression for a MAINTAINERS ``F:``/``X:`` pattern, as ``get_maintainer.pl`` matches.

    ``get_maintainer.pl`` turns ``*`` into ``.*`` and ``?`` into ``.``, matches the start of the
    path, and (for a pattern without a trailing ``/``) requires as many ``/`` in the path as in
    the pattern. Equivalently: a trailing ``/`` pattern is a prefix whose wildcards may cross
    ``/``; any other pattern's wildcards, and the rest of the path, stay within one directory.
    ``**`` crosses ``/`` everywhere. Without the source tree we cannot tell that a bare name
    without a trailing ``/`` is a directory (``get_maintainer.pl`` checks ``-d``), so a pattern
    without wildcards also matches as a directory.

    Raises
    ------
    PatternError
        For an empty pattern.
    """
    p = pattern.strip()
    if p.startswith("./"):
        p = p[2:]
    if not p or p == "/":
        raise PatternError("empty pattern")
    trailing = p.endswith("/")
    wild = any(c in p for c in "*?")
    out: list[str] = []
    i, n = 0, len(p)
    while i < n:
        if p.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        ch = p[i]
        if ch == "*":
            out.append(".*" if trailing else "[^/]*")
        elif ch == "?":
            out.append("." if trailing else "[^/]")
        else:
            out.append(_esc(ch))
        i += 1
    body = "^" + "".join(out)
    if trailing:
        return body
    if not wild:
        return body + "(?:[^/]*$|/)"
    return body + "[^/]*$"


def owners_scope(pattern: str) -> tuple[str, str | None, str | None]:
    """Split an ``owners`` pattern into ``(directory, qualifier kind, expression)``.

    ``"pkg/api/"`` -> ``("pkg/api", None, None)``; ``"/"`` -> ``("", None, None)``;
    ``"pkg/{re:\\.go$}"`` -> ``("pkg", "re", "\\.go$")``.
    """
    m = _OWNERS_QUALIFIER.match(pattern)
    if m:
        return m.group("dir").strip("/"), m.group("kind"), m.group("expr")
    return pattern.strip("/"), None, None


def load_unit_mapping(path: str | Path) -> dict[str, str]:
    """Read a CSV ``owner,unit_id`` mapping owner handles (``@acme/data-platform``) to units.

    Raises
    ------
    InputError
        When the file cannot be read, lacks the two columns, or a row is incomplete.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the owner mapping: {exc}", file=str(p)) from exc
    reader = csv.DictReader(text.splitlines())
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "owner" not in fields or "unit_id" not in fields:
        raise InputError("the owner mapping needs the columns owner,unit_id", file=str(p), line=1)
    mapping: dict[str, str] = {}
    for lineno, row in enumerate(reader, start=2):
        norm = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        owner, unit = norm.get("owner", ""), norm.get("unit_id", "")
        if not owner or not unit:
            raise InputError("owner and unit_id must both be set", file=str(p), line=lineno)
        mapping[owner] = unit
    return mapping


@dataclass(frozen=True)
class Owner:
    """One owner of a path.

    Attributes
    ----------
    unit_id
        The owning unit: a MAINTAINERS section, or a team mapped from a handle; else ``None``.
    person_id
        The owning person (through identity resolution of ``identity_id``); else ``None``.
    role
        ``code_owner``, ``maintainer``, ``approver``, ``reviewer``, ``owner`` ...
    rule_id
        The ``ownership`` row that made the match.
    identity_id, handle, source, pattern
        The owner's identity id and handle as written, the rule system and the pattern.
    specificity
        Length of the matching pattern (MAINTAINERS: more specific sections rank first).
    """

    unit_id: str | None
    person_id: str | None
    role: str | None
    rule_id: str
    identity_id: str | None = None
    handle: str | None = None
    source: str | None = None
    pattern: str | None = None
    specificity: int = 0


@dataclass
class _Rule:
    rule_id: str
    order: int
    pattern: str
    negate: bool
    role: str | None
    handle: str | None
    unit_id: str | None
    identity_id: str | None
    person_id: str | None
    source: str
    source_file: str | None


@dataclass
class _Compiled:
    regex: str
    rx: re.Pattern[str]
    prefix: str = ""  # every match starts with this literal (a cheap pre-filter)
    prefix_only: bool = False  # matching the prefix is matching the pattern


@dataclass
class _CodeownersGroup:
    # distinct rules in file order: (order, pattern, compiled, owner rows)
    rules: list[tuple[int, str, _Compiled | None, list[_Rule]]] = field(default_factory=list)


@dataclass
class _Section:
    unit_id: str
    include: list[tuple[_Compiled, _Rule]] = field(default_factory=list)
    exclude: list[_Compiled] = field(default_factory=list)


@dataclass
class _DirEntry:
    plain: list[_Rule] = field(default_factory=list)
    qualified: list[tuple[str, str, re.Pattern[str] | None, _Rule]] = field(default_factory=list)
    noparent: bool = False
    noparent_globs: list[str] = field(default_factory=list)


def _compile(regex: str, pattern: str = "", kind: str = "") -> _Compiled:
    prefix = ""
    prefix_only = False
    if kind == "maintainers" or (kind == "codeowners" and "/" in pattern.rstrip("/")):
        body = pattern.strip()
        body = body[2:] if body.startswith("./") else body
        body = body.lstrip("/") if kind == "codeowners" else body
        cut = min([body.find(c) for c in "*?[\\" if c in body] or [len(body)])
        prefix = body[:cut]
        prefix_only = kind == "maintainers" and cut == len(body) and body.endswith("/")
    return _Compiled(regex, re.compile(regex), prefix, prefix_only)


class _PathIndex:
    """Distinct normalised paths, sorted once so a literal prefix is a binary-search range."""

    def __init__(self, norm: pl.Series) -> None:
        self.series = norm
        self.values: list[str] = norm.to_list()
        self.order = np.argsort(np.array(self.values, dtype=object), kind="stable")
        self.sorted = [self.values[i] for i in self.order]

    def __len__(self) -> int:
        return len(self.values)

    def mask(self, comp: _Compiled) -> np.ndarray:
        """Boolean match mask: prefix range first, the regex only on the candidates."""
        if not comp.prefix:
            return self.series.str.contains(comp.regex).fill_null(False).to_numpy()
        lo = bisect.bisect_left(self.sorted, comp.prefix)
        hi = bisect.bisect_left(self.sorted, comp.prefix + "\U0010ffff", lo)
        out = np.zeros(len(self.values), dtype=bool)
        idx = self.order[lo:hi]
        if comp.prefix_only:
            out[idx] = True
        elif len(idx):
            rx = comp.rx
            out[idx] = [rx.match(self.values[i]) is not None for i in idx]
        return out


class OwnershipResolver:
    """Answer "who owns this path?" from the canonical ``ownership``, ``units``, ``identities``.

    Parameters
    ----------
    ownership
        The ``ownership`` table.
    units
        The ``units`` table (for mapping team handles to units by name); may be empty.
    identities
        The ``identities`` table (``identity_id`` -> ``person_id``); may be empty.
    unit_mapping
        Explicit owner handle -> unit id (see :func:`load_unit_mapping`); wins over name matching.
        Keys are compared case-insensitively, with or without the leading ``@``.

    Notes
    -----
    Patterns are compiled once. :meth:`assign` evaluates CODEOWNERS and MAINTAINERS rules with
    vectorised regular expressions over all distinct paths at once, and OWNERS inheritance with a
    per-directory cache, so a hundred thousand paths take seconds.
    """

    def __init__(
        self,
        ownership: pl.DataFrame,
        units: pl.DataFrame,
        identities: pl.DataFrame,
        *,
        unit_mapping: Mapping[str, str] | None = None,
    ) -> None:
        for name, frame, cols in (
            ("ownership", ownership, ("rule_id", "source", "rule_order", "pattern", "negate")),
            ("units", units, ("unit_id", "name")),
            ("identities", identities, ("identity_id", "person_id")),
        ):
            missing = [c for c in cols if c not in frame.columns]
            if missing:
                raise ConfigError(f"OwnershipResolver: the {name} frame lacks column(s) {missing}")
        self._person: dict[str, str] = {
            iid: pid
            for iid, pid in identities.select("identity_id", "person_id").iter_rows()
            if iid is not None and pid is not None
        }
        self._mapping = {_handle_key(k): v for k, v in (unit_mapping or {}).items()}
        self._units_by_slug: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        kinds = units["kind"] if "kind" in units.columns else pl.Series([None] * units.height)
        for uid, name, kind in zip(units["unit_id"], units["name"], kinds, strict=True):
            if uid is None:
                continue
            keys = {slugify(name)} if name else set()
            keys.add(str(uid).lower())
            for key in keys:
                self._units_by_slug[key].append((uid, kind))
        self._handle_unit_cache: dict[str, str | None] = {}
        self._codeowners: dict[tuple[str | None, str | None], _CodeownersGroup] = {}
        self._maintainers: dict[tuple[str | None, str | None], dict[str, _Section]] = {}
        self._owners_dirs: dict[str | None, dict[str, _DirEntry]] = {}
        self._chain_cache: dict[tuple[str | None, str], list[tuple[str, _DirEntry]]] = {}
        self._containers: set[str | None] = set()
        self._load(ownership)

    # -- construction ------------------------------------------------------------------------
    def _load(self, ownership: pl.DataFrame) -> None:
        cols = ["rule_id", "source", "source_file", "container", "rule_order", "pattern",
                "negate", "role", "owner_handle", "owner_unit_id", "owner_identity_id"]
        frame = ownership
        for c in cols:
            if c not in frame.columns:
                frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(c))
        frame = frame.select(cols).sort(["container", "source", "source_file", "rule_order"],
                                         nulls_last=False, maintain_order=True)
        compiled: dict[str, _Compiled | None] = {}
        for row in frame.iter_rows(named=True):
            rule = self._rule(row)
            container = row["container"]
            self._containers.add(container)
            if rule.source == "codeowners":
                group = self._codeowners.setdefault((container, rule.source_file),
                                                    _CodeownersGroup())
                if not group.rules or group.rules[-1][0] != rule.order or (
                    group.rules[-1][1] != rule.pattern
                ):
                    if rule.pattern not in compiled:
                        try:
                            compiled[rule.pattern] = _compile(
                                codeowners_regex(rule.pattern), rule.pattern, "codeowners"
                            )
                        except (PatternError, re.error):
                            compiled[rule.pattern] = None
                    group.rules.append((rule.order, rule.pattern, compiled[rule.pattern], []))
                group.rules[-1][3].append(rule)
            elif rule.source == "maintainers":
                sections = self._maintainers.setdefault((container, rule.source_file), {})
                unit = rule.unit_id or rule.handle or rule.rule_id
                section = sections.setdefault(unit, _Section(unit))
                key = "m:" + rule.pattern
                if key not in compiled:
                    try:
                        compiled[key] = _compile(
                            maintainers_regex(rule.pattern), rule.pattern, "maintainers"
                        )
                    except (PatternError, re.error):
                        compiled[key] = None
                comp = compiled[key]
                if comp is None:
                    continue
                if rule.negate:
                    section.exclude.append(comp)
                else:
                    section.include.append((comp, rule))
            elif rule.source == "owners":
                self._add_owners_rule(container, rule)

    def _rule(self, row: dict[str, object]) -> _Rule:
        identity = row["owner_identity_id"]
        handle = row["owner_handle"]
        unit = row["owner_unit_id"]
        if unit is None and isinstance(handle, str) and identity is None:
            unit = self._unit_for_handle(handle)
        elif unit is None and isinstance(handle, str) and _handle_key(handle) in self._mapping:
            unit = self._mapping[_handle_key(handle)]
        return _Rule(
            rule_id=str(row["rule_id"]),
            order=int(row["rule_order"]),  # type: ignore[call-overload]
            pattern=str(row["pattern"]),
            negate=bool(row["negate"]),
            role=row["role"] if isinstance(row["role"], str) else None,
            handle=handle if isinstance(handle, str) else None,
            unit_id=unit if isinstance(unit, str) else None,
            identity_id=identity if isinstance(identity, str) else None,
            person_id=self._person.get(identity) if isinstance(identity, str) else None,
            source=str(row["source"]),
            source_file=row["source_file"] if isinstance(row["source_file"], str) else None,
        )

    def _unit_for_handle(self, handle: str) -> str | None:
        """Explicit mapping first, then a unique unit whose name matches the team's slug."""
        key = _handle_key(handle)
        if key in self._handle_unit_cache:
            return self._handle_unit_cache[key]
        unit: str | None = self._mapping.get(key)
        if unit is None and "/" in key and "@" not in key:
            team = key.rsplit("/", 1)[-1]
            candidates = self._units_by_slug.get(slugify(team), [])
            ids = sorted({u for u, _ in candidates})
            if len(ids) > 1:
                ids = sorted({u for u, k in candidates if k == "team"})
            unit = ids[0] if len(ids) == 1 else None
        self._handle_unit_cache[key] = unit
        return unit

    def _add_owners_rule(self, container: str | None, rule: _Rule) -> None:
        dirs = self._owners_dirs.setdefault(container, {})
        directory, kind, expr = owners_scope(rule.pattern)
        entry = dirs.setdefault(directory, _DirEntry())
        if rule.role == "no_parent_owners":
            if kind == "glob" and expr is not None:
                entry.noparent_globs.append(expr)
            elif kind is None:
                entry.noparent = True
            return
        if kind is None or expr is None:
            entry.plain.append(rule)
            return
        rx: re.Pattern[str] | None = None
        if kind == "re":
            try:
                rx = re.compile(expr)
            except re.error:
                return
        entry.qualified.append((kind, expr, rx, rule))

    # -- single path --------------------------------------------------------------------------
    def owners(self, path: str, container: str | None = None) -> list[Owner]:
        """All owners of ``path`` in ``container`` (see the module docstring for the semantics).

        Parameters
        ----------
        path
            Repository-relative file path (``./`` and a leading ``/`` are ignored).
        container
            Repository the path belongs to; ``None`` uses rules imported without a container.

        Returns
        -------
        list[Owner]
            CODEOWNERS owners of the winning rule, MAINTAINERS sections from most to least
            specific, then OWNERS owners from the nearest directory up; no duplicates.
        """
        p = normalize_path(path)
        found: list[Owner] = []
        for (cont, _file), group in self._codeowners.items():
            if cont != container:
                continue
            for _order, _pattern, comp, rows in reversed(group.rules):
                if comp is not None and comp.rx.match(p):
                    found.extend(_owner(r) for r in rows if _owns(r))
                    break
        for (cont, _file), sections in self._maintainers.items():
            if cont != container:
                continue
            hits: list[Owner] = []
            for section in sections.values():
                if any(c.rx.match(p) for c in section.exclude):
                    continue
                best: _Rule | None = None
                for comp, rule in section.include:
                    if comp.rx.match(p) and (best is None or len(rule.pattern) > len(best.pattern)):
                        best = rule
                if best is not None:
                    hits.append(_owner(best, specificity=len(best.pattern)))
            hits.sort(key=lambda o: (-o.specificity, o.unit_id or ""))
            found.extend(hits)
        found.extend(_owner(r) for r in self._owners_for(p, container))
        unique: dict[tuple[object, ...], Owner] = {}
        for o in found:
            key = (o.unit_id, o.person_id, o.identity_id, o.handle, o.role, o.source)
            unique.setdefault(key, o)
        return list(unique.values())

    def _chain(self, container: str | None, directory: str) -> list[tuple[str, _DirEntry]]:
        """OWNERS directories from ``directory`` up to the root, cut after ``no_parent_owners``."""
        key = (container, directory)
        cached = self._chain_cache.get(key)
        if cached is not None:
            return cached
        dirs = self._owners_dirs.get(container, {})
        entry = dirs.get(directory)
        chain: list[tuple[str, _DirEntry]] = []
        if entry is not None:
            chain.append((directory, entry))
        if directory and not (entry is not None and entry.noparent):
            parent = directory.rsplit("/", 1)[0] if "/" in directory else ""
            chain.extend(self._chain(container, parent))
        self._chain_cache[key] = chain
        return chain

    def _owners_for(self, p: str, container: str | None) -> list[_Rule]:
        if container not in self._owners_dirs:
            return []
        directory = p.rsplit("/", 1)[0] if "/" in p else ""
        out: list[_Rule] = []
        for d, entry in self._chain(container, directory):
            rel = p[len(d) + 1:] if d else p
            direct = "/" not in rel
            qualified = [
                rule for kind, expr, rx, rule in entry.qualified
                if (kind == "re" and rx is not None and rx.search(rel))
                or (kind == "glob" and direct and fnmatch.fnmatchcase(rel, expr))
            ]
            if direct and any(fnmatch.fnmatchcase(rel, g) for g in entry.noparent_globs):
                out.extend(r for r in qualified if _owns(r))
                break
            out.extend(r for r in entry.plain if _owns(r))
            out.extend(r for r in qualified if _owns(r))
        return out

    # -- many paths ---------------------------------------------------------------------------
    def assign(self, paths: pl.DataFrame | pl.Series | Iterable[str]) -> pl.DataFrame:
        """Owners of many paths at once.

        Parameters
        ----------
        paths
            A frame with a ``path`` column and optionally ``container``, a Series, or strings.

        Returns
        -------
        pl.DataFrame
            One row per (path, owner): ``path`` (as given), ``container``, ``source``,
            ``source_file``, ``rule_id``, ``role``, ``owner_handle``, ``owner_unit_id``,
            ``owner_identity_id``, ``owner_person_id``, ``specificity``. Unowned paths have no row
            (anti-join the input to list them). Same semantics as :meth:`owners`.
        """
        if isinstance(paths, pl.DataFrame):
            frame = paths
        elif isinstance(paths, pl.Series):
            frame = paths.alias("path").to_frame()
        else:
            frame = pl.DataFrame({"path": list(paths)}, schema={"path": pl.String})
        if "path" not in frame.columns:
            raise ConfigError("assign: the paths frame needs a 'path' column")
        if "container" not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("container"))
        distinct = frame.select(pl.col("path").cast(pl.String),
                                pl.col("container").cast(pl.String)).unique().drop_nulls("path")
        parts: list[pl.DataFrame] = []
        for (container,), sub in distinct.group_by(["container"], maintain_order=True):
            cont = container if isinstance(container, str) else None
            if cont not in self._containers:
                continue
            given = sub["path"]
            norm = given.str.replace_all("\\", "/", literal=True).str.replace(
                r"^(?:\./)*/*", "")
            index = _PathIndex(norm)
            parts.extend(self._assign_codeowners(cont, given, index))
            parts.extend(self._assign_maintainers(cont, given, index))
            parts.append(self._assign_owners(cont, given, norm))
        parts = [p for p in parts if p.height]
        if not parts:
            return pl.DataFrame(schema=ASSIGN_COLUMNS)
        combined = pl.concat([p.select(list(ASSIGN_COLUMNS)) for p in parts])
        return combined.sort(
            ["container", "path", "source", "specificity"],
            descending=[False, False, False, True],
            nulls_last=False,
            maintain_order=True,
        )

    def _assign_codeowners(
        self, container: str | None, given: pl.Series, index: _PathIndex
    ) -> list[pl.DataFrame]:
        out = []
        for (cont, _file), group in self._codeowners.items():
            if cont != container:
                continue
            win = np.full(len(index), -1, dtype=np.int64)
            for idx, (_order, _pattern, comp, _rows) in enumerate(group.rules):
                if comp is None:
                    continue
                win[index.mask(comp)] = idx
            hit = np.nonzero(win >= 0)[0]
            if not len(hit):
                continue
            names = given.to_list()
            records = []
            for i in hit.tolist():
                for rule in group.rules[int(win[i])][3]:
                    if _owns(rule):
                        records.append(_record(names[i], container, rule, 0))
            out.append(_frame(records))
        return out

    def _assign_maintainers(
        self, container: str | None, given: pl.Series, index: _PathIndex
    ) -> list[pl.DataFrame]:
        out = []
        hits_cache: dict[str, np.ndarray] = {}
        names = given.to_list()

        def hits_of(comp: _Compiled) -> np.ndarray:
            h = hits_cache.get(comp.regex)
            if h is None:
                h = np.nonzero(index.mask(comp))[0]
                hits_cache[comp.regex] = h
            return h

        for (cont, _file), sections in self._maintainers.items():
            if cont != container:
                continue
            records = []
            for section in sections.values():
                best: dict[int, _Rule] = {}
                for comp, rule in section.include:
                    size = len(rule.pattern)
                    for i in hits_of(comp).tolist():
                        current = best.get(i)
                        if current is None or size > len(current.pattern):
                            best[i] = rule
                if not best:
                    continue
                for comp in section.exclude:
                    for i in hits_of(comp).tolist():
                        best.pop(i, None)
                for i, rule in best.items():
                    records.append(_record(names[i], container, rule, len(rule.pattern)))
            if records:
                out.append(_frame(records))
        return out

    def _assign_owners(
        self, container: str | None, given: pl.Series, norm: pl.Series
    ) -> pl.DataFrame:
        if container not in self._owners_dirs:
            return pl.DataFrame(schema=ASSIGN_COLUMNS)
        records = [
            _record(raw, container, rule, 0)
            for raw, p in zip(given.to_list(), norm.to_list(), strict=True)
            for rule in _unique_rules(self._owners_for(p, container))
        ]
        return _frame(records)


def _unique_rules(rules: list[_Rule]) -> list[_Rule]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for r in rules:
        key = (r.unit_id, r.person_id, r.identity_id, r.handle, r.role, r.source)
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def _handle_key(handle: str) -> str:
    return handle.strip().lower().lstrip("@")


def _owns(rule: _Rule) -> bool:
    if rule.role in NON_OWNING_ROLES:
        return False
    return bool(rule.handle or rule.unit_id or rule.identity_id)


def _owner(rule: _Rule, *, specificity: int = 0) -> Owner:
    return Owner(
        unit_id=rule.unit_id,
        person_id=rule.person_id,
        role=rule.role,
        rule_id=rule.rule_id,
        identity_id=rule.identity_id,
        handle=rule.handle,
        source=rule.source,
        pattern=rule.pattern,
        specificity=specificity,
    )


def _record(path: str, container: str | None, rule: _Rule, specificity: int) -> dict[str, object]:
    return {
        "path": path, "container": container, "source": rule.source,
        "source_file": rule.source_file, "rule_id": rule.rule_id, "role": rule.role,
        "owner_handle": rule.handle, "owner_unit_id": rule.unit_id,
        "owner_identity_id": rule.identity_id, "owner_person_id": rule.person_id,
        "specificity": specificity,
    }


def _frame(records: list[dict[str, object]]) -> pl.DataFrame:
    if not records:
        return pl.DataFrame(schema=ASSIGN_COLUMNS)
    return pl.DataFrame(records, schema=ASSIGN_COLUMNS, orient="row")
