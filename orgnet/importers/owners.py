"""Ownership files: CODEOWNERS, Kubernetes/Chromium OWNERS, OWNERS_ALIASES, MAINTAINERS, AUTHORS.

Ownership files produce no interactions. They produce rules in the ``ownership`` table (in file
order), and, for MAINTAINERS-style files and OWNERS_ALIASES, formal units with dated memberships.
:class:`orgnet.ownership.OwnershipResolver` answers "who owns this path?" from those rules.

Formats (FORMATS §15)
---------------------
``codeowners``
    ``<pattern> <owner>...``; owners ``@user``, ``@org/team`` or an e-mail address. One rule row
    per (rule, owner), ``role="code_owner"``; a rule without owners gets one row with a null owner
    (it un-owns the path). ``@user`` -> GitHub identity (``native_id`` = login); e-mail owners ->
    identity of source ``email``; team owners keep only ``owner_handle`` (the resolver maps them to
    org-chart units). Invalid lines (``!`` negation, ``[...]`` classes, bad owners) are rejected
    with their line number, as GitHub skips them. GitLab ``[Section]`` headers are skipped.
``owners``
    Kubernetes ``OWNERS`` (YAML: ``approvers``, ``reviewers``, ``emeritus_approvers``,
    ``options.no_parent_owners``, ``filters``) with aliases expanded from ``OWNERS_ALIASES``, or a
    Chromium/Gerrit ``OWNERS`` file (e-mails, ``*``, ``set noparent``, ``per-file``). Patterns
    encode the scope: ``dir/`` (root ``/``), ``dir/{re:REGEX}`` for a filter,
    ``dir/{glob:GLOB}`` for ``per-file``; ``no_parent_owners`` is a row with that role and no owner.
``owners_aliases``
    ``aliases: {name: [logins]}`` -> units of kind ``owners_alias`` with ``member`` memberships.
``maintainers`` / ``authors``
    Sections become units of kind ``maintainer_section`` (DPDK's underlined group headings become
    ``maintainer_group`` parents); ``M:``/``R:`` people become ``maintainer``/``reviewer``
    memberships; ``F:`` patterns become rules owned by the section unit, ``X:`` rules have
    ``negate=True``. ``N:`` (path regexes) and ``K:`` (content regexes) are not path ownership
    and are ignored, as are ``L: S: T: W: B: C: Q: P: V:``. An ``authors`` file (erofs) has no
    ``F:`` lines: each of its sections owns the whole repository (rules ``*`` and ``*/``).
    Unit ids: ``maint:<container>:<section slug>``, ``maint:<container>:<group slug>/<section
    slug>`` inside a group (DPDK repeats titles such as "NVIDIA mlx5" across groups) and
    ``maint:<container>:group:<group slug>`` for a group; without a container the
    ``<container>:`` part is left out. M:/R: people are identities of source ``maintainers``
    (``native_id`` = lower-cased address).

Re-import. Importing a newer version of the same logical file (``source_name``, by default the
canonical name: ``CODEOWNERS``, ``MAINTAINERS``, ``AUTHORS``, ``OWNERS_ALIASES``, the OWNERS
file's path relative to the scanned directory) of the same container **replaces** its rules.
Memberships are snapshots: rows of a dated import (``as_of``) are valid from ``as_of`` until the
next later snapshot of the same container (``valid_to`` = that snapshot's date, so a person who
left a section stops at the later snapshot, and one who stayed continues in the later snapshot's
row); an undated import replaces the earlier undated rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, cast, get_args

import polars as pl

from orgnet._text import clean, normalize_email, slugify, stable_hash
from orgnet.exceptions import ConfigError, InputError
from orgnet.identity import is_bot_handle
from orgnet.importers._base import Identity, ImportBuilder, ImportResult, MergeStrategy, gc_paused
from orgnet.importers._io import read_text
from orgnet.ownership import PatternError, codeowners_regex, maintainers_regex

__all__ = [
    "OWNERS_KINDS",
    "OwnersKind",
    "detect",
    "detect_kind",
    "import_owners",
    "load_yaml_subset",
]

OwnersKind = Literal["codeowners", "owners", "owners_aliases", "maintainers", "authors"]
OWNERS_KINDS: Final[tuple[str, ...]] = get_args(OwnersKind)

MAX_FILE_BYTES: Final = 64 * 1024 * 1024
GITHUB_CODEOWNERS_LIMIT: Final = 3 * 1024 * 1024
_SOURCE_KIND: Final = "owners"

_TAG: Final = re.compile(r"^([A-Z]):\s*(.*?)\s*$")
_PERSON: Final = re.compile(
    r"^(?P<name>.*?)\s*<+\s*(?P<email>[^<>\s]+@[^<>\s]+?)\s*>+\s*(?:\(.*\))?$"
)
_BARE_EMAIL: Final = re.compile(r"^<?(?P<email>[^<>\s@]+@[^<>\s@]+\.[^<>\s@]+)>?$")
_GH_USER: Final = re.compile(r"^@[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_GH_TEAM: Final = re.compile(r"^@[A-Za-z0-9_][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$")
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_K8S_KEY: Final = re.compile(
    r"^\s*[\"']?(approvers|reviewers|emeritus_approvers|required_reviewers|options|filters"
    r"|labels|security_contacts|aliases)[\"']?\s*:", re.M
)
_MAINT_LIST: Final = re.compile(r"^\s*Maintainers List\b", re.I)
_UNDERLINE: Final = re.compile(r"^(-{3,}|={3,})$")
_LOGIN: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


# --------------------------------------------------------------------------------------------
# detection
# --------------------------------------------------------------------------------------------
def _stem(name: str) -> str:
    """``MAINTAINERS.start.txt.gz`` -> ``maintainers``; ``OWNERS_ALIASES`` -> ``owners_aliases``."""
    return name.lower().split(".", 1)[0]


def _kind_from_name(name: str) -> str | None:
    stem = _stem(name)
    if stem == "codeowners":
        return "codeowners"
    if stem in ("owners_aliases", "owners_alias"):
        return "owners_aliases"
    if stem == "owners":
        return "owners"
    if stem == "maintainers":
        return "maintainers"
    if stem == "authors":
        return "authors"
    return None


def _maintainers_like(text: str) -> bool:
    tags = sum(1 for line in text.splitlines()[:20000] if re.match(r"^[MRF]:\s*\S", line))
    return tags >= 1


def detect_kind(path: str | Path, text: str | None = None) -> str | None:
    """The ownership-file kind of ``path`` from its name, else its content; ``None`` if unknown.

    A directory is ``owners`` when it holds an ``OWNERS`` file at its top.
    """
    p = Path(path)
    if p.is_dir():
        return "owners" if (p / "OWNERS").is_file() else None
    kind = _kind_from_name(p.name)
    if kind is not None and kind != "authors":
        return kind
    if text is None:
        try:
            text, _codec = read_text(p, max_bytes=256 * 1024)
        except (InputError, UnicodeDecodeError):
            return None
    if kind == "authors":
        return "authors" if _maintainers_like(text) else None
    if _maintainers_like(text) and re.search(r"^[A-Za-z0-9].*\n[MRFLSX]:", text, re.M):
        return "maintainers"
    if re.search(r"^\s*aliases\s*:", text, re.M) and not re.search(
        r"^\s*(approvers|reviewers)\s*:", text, re.M
    ):
        return "owners_aliases"
    if _K8S_KEY.search(text):
        return "owners"
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if lines and sum(
        1 for ln in lines[:200] if len(ln.split()) >= 2 and ln.split()[1].startswith("@")
    ) >= max(1, len(lines[:200]) // 2):
        return "codeowners"
    return None


def detect(path: Path) -> bool:
    """Cheap sniffing for ``orgnet import auto``: is ``path`` an ownership file we read?

    True for files named ``CODEOWNERS``, ``OWNERS``, ``OWNERS_ALIASES``, ``MAINTAINERS`` (also
    with suffixes such as ``MAINTAINERS.start.txt.gz``), an ``AUTHORS`` file with ``M:``/``R:``
    lines, and a directory with an ``OWNERS`` file at its top. Other names are not claimed, even
    when their content would parse (pass ``kind=`` for those).
    """
    p = Path(path)
    try:
        if not p.is_dir() and _kind_from_name(p.name) is None:
            return False
        return detect_kind(p) is not None
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------
@dataclass
class _Ctx:
    b: ImportBuilder
    container: str | None
    as_of: dt.date | None
    own_rows: int = 0
    seen_rule_ids: set[str] = field(default_factory=set)


def _as_date(value: dt.date | dt.datetime | str | None) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise ConfigError(f"as_of must be a date like 2026-07-01, not {value!r}") from None


@gc_paused()
def import_owners(
    path: str | Path,
    *,
    kind: OwnersKind | None = None,
    container: str | None = None,
    as_of: dt.date | dt.datetime | str | None = None,
    aliases: str | Path | None = None,
    source_name: str | None = None,
) -> ImportResult:
    """Import an ownership file (or a tree of OWNERS files) into ownership rules and units.

    Parameters
    ----------
    path
        The file (gzip is read transparently) or, for ``owners``, a directory: every ``OWNERS``
        file below it is read with its directory as scope, plus ``OWNERS_ALIASES`` at its top.
    kind
        ``codeowners``, ``owners``, ``owners_aliases``, ``maintainers`` or ``authors``; detected
        from the file name, else the content, when ``None``.
    container
        Repository the file belongs to (``owner/repo``); stored on every rule and part of unit ids
        (``maint:<container>:<section slug>``; ``maint:<slug>`` without a container).
    as_of
        Date of the file version (a snapshot): membership ``valid_from`` with precision
        ``"snapshot"``. Without it memberships are undated (precision ``"unknown"``).
    aliases
        ``OWNERS_ALIASES`` used to expand aliases in ``owners`` files; by default the one next to
        a single ``OWNERS`` file or at the top of the scanned directory.
    source_name
        Logical file name stored in ``ownership.source_file``; re-importing the same logical name
        and container replaces its rules. Defaults to the canonical name of the kind.

    Returns
    -------
    ImportResult
        Tables ``ownership``, ``units``, ``memberships``, ``identities``; ``merge`` holds the
        replace strategies for ``ownership`` and ``memberships``.

    Raises
    ------
    InputError
        When the path cannot be read, is too large, or its kind cannot be told.
    ConfigError
        For an unknown ``kind`` or a malformed ``as_of``.
    """
    p = Path(path)
    if kind is not None and kind not in OWNERS_KINDS:
        raise ConfigError(f"unknown ownership kind {kind!r}; use one of {', '.join(OWNERS_KINDS)}")
    day = _as_date(as_of)
    if not p.exists():
        raise InputError("no such file or directory", file=str(p))
    b = ImportBuilder(_SOURCE_KIND, p)
    ctx = _Ctx(b, container, day)
    if p.is_dir():
        if kind not in (None, "owners"):
            raise InputError(
                f"a directory can only be read as OWNERS files, not {kind}", file=str(p)
            )
        _import_owners_tree(ctx, p, aliases)
        resolved_kind = "owners"
        replace_files: frozenset[str] | None = None  # the whole tree of the container
    else:
        text = _read(p)
        resolved_kind = kind or detect_kind(p, text) or ""
        if not resolved_kind:
            raise InputError(
                "cannot tell which ownership format this is; pass kind= (codeowners, owners, "
                "owners_aliases, maintainers, authors)",
                file=str(p),
            )
        logical = source_name or _canonical_name(resolved_kind, p)
        replace_files = frozenset({logical})
        if resolved_kind == "codeowners":
            if len(text.encode("utf-8", "replace")) > GITHUB_CODEOWNERS_LIMIT:
                b.notes.append("CODEOWNERS is over 3 MB: GitHub ignores such a file entirely")
            _parse_codeowners(ctx, text, logical)
        elif resolved_kind in ("maintainers", "authors"):
            _parse_maintainers(ctx, text, logical, authors=resolved_kind == "authors")
        elif resolved_kind == "owners_aliases":
            _parse_aliases_file(ctx, text, logical)
        else:
            alias_map = _load_aliases(ctx, aliases, p.parent / "OWNERS_ALIASES")
            _parse_owners_file(ctx, text, logical, "", alias_map)
    result = b.finish(options={
        "kind": resolved_kind, "container": container,
        "as_of": day.isoformat() if day else None, "source_name": source_name,
    })
    _attach_strategies(result, resolved_kind, container, day, replace_files)
    return result


def _read(p: Path) -> str:
    try:
        text, _codec = read_text(p, max_bytes=MAX_FILE_BYTES)
    except UnicodeDecodeError as exc:  # a UTF-16 byte-order mark followed by invalid UTF-16
        raise InputError(f"starts like UTF-16 but is not valid UTF-16 ({exc.reason})",
                         file=str(p)) from exc
    return text


def _canonical_name(kind: str, p: Path) -> str:
    return {
        "codeowners": "CODEOWNERS",
        "maintainers": "MAINTAINERS",
        "authors": "AUTHORS",
        "owners_aliases": "OWNERS_ALIASES",
        "owners": "OWNERS",
    }.get(kind, p.name)


# --------------------------------------------------------------------------------------------
# rows
# --------------------------------------------------------------------------------------------
def _rule(
    ctx: _Ctx,
    *,
    source: str,
    source_file: str,
    order: int,
    pattern: str,
    role: str | None,
    negate: bool = False,
    handle: str | None = None,
    unit_id: str | None = None,
    identity_id: str | None = None,
) -> None:
    rule_id = "own-" + stable_hash(
        source, ctx.container, source_file, order, pattern, negate, role, handle, unit_id,
        identity_id, length=20,
    )
    if rule_id in ctx.seen_rule_ids:
        return  # the same owner listed twice on one rule
    ctx.seen_rule_ids.add(rule_id)
    ctx.b.add(
        "ownership",
        rule_id=rule_id,
        source=source,
        source_file=source_file,
        container=ctx.container,
        rule_order=order,
        pattern=pattern,
        negate=negate,
        role=role,
        owner_handle=handle,
        owner_unit_id=unit_id,
        owner_identity_id=identity_id,
    )
    ctx.own_rows += 1


def _membership(ctx: _Ctx, identity_id: str, unit_id: str, role: str, source: str) -> None:
    ctx.b.add(
        "memberships",
        person_id=identity_id,  # placeholder: ingest re-fills it from identity resolution
        member_identity_id=identity_id,
        unit_id=unit_id,
        role=role,
        valid_from=ctx.as_of,
        valid_to=None,
        precision="snapshot" if ctx.as_of else "unknown",
        source=source,
    )


def _github_identity(ctx: _Ctx, login: str) -> str:
    return ctx.b.identity(
        Identity("github", login, username=login, is_bot=is_bot_handle(login))
    )


def _email_identity(ctx: _Ctx, email: str, name: str | None = None, source: str = "email") -> str:
    norm = normalize_email(email) or email.lower()
    return ctx.b.identity(
        Identity(source, norm, email=norm, name=name, is_bot=is_bot_handle(name, norm))
    )


# --------------------------------------------------------------------------------------------
# CODEOWNERS
# --------------------------------------------------------------------------------------------
def _tokens(line: str) -> list[str]:
    """Split on unescaped whitespace; an unescaped ``#`` at a token start begins a comment."""
    tokens: list[str] = []
    cur: list[str] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        if ch == "\\" and i + 1 < n:
            cur.append(line[i:i + 2])
            i += 2
            continue
        if ch in " \t":
            if cur:
                tokens.append("".join(cur))
                cur = []
        elif ch == "#" and not cur:
            break
        else:
            cur.append(ch)
        i += 1
    if cur:
        tokens.append("".join(cur))
    return tokens


def _parse_codeowners(ctx: _Ctx, text: str, source_file: str) -> None:
    b = ctx.b
    for lineno, raw in enumerate(text.splitlines(), start=1):
        tokens = _tokens(raw)
        if not tokens:
            continue  # blank or comment: not a record, never stored
        pattern, owners = tokens[0], tokens[1:]
        b.begin(line=lineno, record=f"rule {pattern[:80]}")
        if pattern.startswith(("[", "^[")):
            b.skip("GitLab section header (sections are read as one list)")
            continue
        try:
            codeowners_regex(pattern)
        except PatternError as exc:
            b.reject(f"invalid pattern: {exc}", field="pattern", raw=raw)
            continue
        bad = [o for o in owners if not (_GH_USER.match(o) or _GH_TEAM.match(o) or _EMAIL.match(o))]
        if bad:
            b.reject(f"invalid owner {bad[0][:60]!r} (GitHub skips the whole line)", field="owner",
                     raw=raw)
            continue
        if not owners:
            _rule(ctx, source="codeowners", source_file=source_file, order=lineno,
                  pattern=pattern, role="code_owner")
            continue
        for owner in owners:
            identity = None
            if _GH_USER.match(owner):
                identity = _github_identity(ctx, owner[1:])
            elif _EMAIL.match(owner):
                identity = _email_identity(ctx, owner)
            _rule(ctx, source="codeowners", source_file=source_file, order=lineno,
                  pattern=pattern, role="code_owner", handle=owner, identity_id=identity)


# --------------------------------------------------------------------------------------------
# MAINTAINERS / AUTHORS
# --------------------------------------------------------------------------------------------
@dataclass
class _Section:
    title: str
    line: int
    group_id: str | None
    unit_id: str
    is_group: bool = False
    tags: list[tuple[int, str, str]] = field(default_factory=list)


def _unit_prefix(kind: str, container: str | None) -> str:
    return f"{kind}:{container}:" if container else f"{kind}:"


def _iter_sections(
    ctx: _Ctx, text: str
) -> Iterator[tuple[int, str, str] | _Section]:
    """Yield group headings ``(line, title, unit_id)`` and sections, in file order.

    A section is a title line followed by tag lines; an underlined (``---``) heading is a group
    (DPDK), and tag lines right under it are the group's own entries (a section with
    ``is_group``). Text before a ``Maintainers List`` heading is preamble. Stray tag lines
    (no title above them) are rejected here.
    """
    lines = text.splitlines()
    start = 0
    for i, line in enumerate(lines):
        if _MAINT_LIST.match(line):
            start = i + 1
            break
    prefix = _unit_prefix("maint", ctx.container)
    group: tuple[int, str, str] | None = None  # (line, title, unit id) of the current group
    group_open = False  # the group heading was just read: tags now belong to the group
    pending: tuple[int, str] | None = None
    section: _Section | None = None
    for idx in range(start, len(lines)):
        lineno = idx + 1
        line = lines[idx].rstrip()
        if not line.strip():
            if section is not None:
                yield section
                section = None
            pending = None
            group_open = False
            continue
        if line.lstrip().startswith("#"):
            continue
        tag = _TAG.match(line)
        if tag:
            if section is None:
                if pending is not None:
                    unit = prefix + (group[2].split("group:", 1)[1] + "/" if group else "")
                    section = _Section(pending[1], pending[0], group[2] if group else None,
                                       unit + slugify(pending[1]))
                    pending = None
                elif group_open and group is not None:
                    section = _Section(group[1], group[0], None, group[2], is_group=True)
                else:
                    ctx.b.reject_unreadable("tag line outside a section (no title above it)",
                                            line=lineno, raw=line, field=tag.group(1))
                    continue
            section.tags.append((lineno, tag.group(1), tag.group(2)))
            continue
        if _UNDERLINE.match(line.strip()) and pending is not None and not line[0].isspace():
            if line.strip().startswith("-"):
                group = (pending[0], pending[1], prefix + "group:" + slugify(pending[1]))
                group_open = True
                yield group
            pending = None
            continue
        group_open = False
        if section is not None:
            # A new title without a blank line before it.
            yield section
            section = None
        pending = (lineno, line.strip()) if not line[0].isspace() else None
    if section is not None:
        yield section


def _parse_person(value: str) -> tuple[str | None, str | None, bool]:
    """``Name <email>`` -> (name, email, repaired); unparseable -> (None, None, False)."""
    m = _PERSON.match(value)
    if m:
        name = clean(m.group("name").strip("\"' <>"))
        repaired = value.count("<") > 1 or value.count(">") > 1
        return name, m.group("email"), repaired
    m = _BARE_EMAIL.match(value)
    if m:
        return None, m.group("email"), False
    return None, None, False


def _parse_maintainers(ctx: _Ctx, text: str, source_file: str, *, authors: bool) -> None:
    b = ctx.b
    seen_units: set[str] = set()
    members: set[tuple[str, str, str]] = set()
    for item in _iter_sections(ctx, text):
        if isinstance(item, tuple):
            line, title, group_id = item
            b.begin(line=line, record=f"group {title[:80]}")
            if group_id in seen_units:
                b.reject("group heading repeated; its sections are merged into the first one",
                         field="title", raw=title, outcome="flagged")
                continue
            seen_units.add(group_id)
            b.add("units", unit_id=group_id, name=clean(title) or title, parent_id=None,
                  kind="maintainer_group", source="maintainers")
            continue
        section = item
        title = clean(section.title) or section.title
        unit_id = section.unit_id
        b.begin(line=section.line,
                record=f"{'group entries' if section.is_group else 'section'} {title[:80]}")
        if section.is_group:
            pass  # the group's own entries: its unit was added with the heading
        elif unit_id in seen_units:
            b.reject("section title repeated; its entries are merged into the first one",
                     field="title", raw=title, outcome="flagged")
        else:
            seen_units.add(unit_id)
            b.add("units", unit_id=unit_id, name=title, parent_id=section.group_id,
                  kind="maintainer_section", source="maintainers")
        last_p: str | None = None
        has_files = False
        for lineno, letter, value in section.tags:
            if letter == "P":
                last_p = value  # old files: P: is the person's name, paired with an M: address
                continue
            if letter in ("M", "R"):
                name, email, repaired = _parse_person(value)
                if email is None:
                    b.reject(f"{letter}: entry without an e-mail address", field=letter,
                             raw=value, line=lineno, outcome="repaired")
                    continue
                if repaired:
                    b.reject(f"{letter}: malformed address (extra '<' or '>') was repaired",
                             field=letter, raw=value, line=lineno, outcome="repaired")
                if name is None and letter == "M" and last_p and "/" not in last_p:
                    name = clean(last_p)
                identity = _email_identity(ctx, email, name, source="maintainers")
                role = "maintainer" if letter == "M" else "reviewer"
                if (identity, unit_id, role) not in members:
                    members.add((identity, unit_id, role))
                    _membership(ctx, identity, unit_id, role, "maintainers")
            elif letter in ("F", "X"):
                if not value:
                    b.reject(f"empty {letter}: pattern", field=letter, line=lineno,
                             outcome="repaired")
                    continue
                pattern = value.split()[0] if " " in value or "\t" in value else value
                try:
                    maintainers_regex(pattern)
                except PatternError as exc:
                    b.reject(f"invalid {letter}: pattern: {exc}", field=letter, raw=value,
                             line=lineno, outcome="repaired")
                    continue
                has_files = has_files or letter == "F"
                _rule(ctx, source="maintainers", source_file=source_file, order=lineno,
                      pattern=pattern, role="maintainer", negate=letter == "X", unit_id=unit_id)
        if authors and not has_files:
            for offset, pattern in enumerate(("*", "*/")):
                _rule(ctx, source="maintainers", source_file=source_file,
                      order=section.line * 1000 + offset, pattern=pattern, role="maintainer",
                      unit_id=unit_id)


# --------------------------------------------------------------------------------------------
# a small YAML reader for OWNERS files
# --------------------------------------------------------------------------------------------
class _YamlError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class _YStr(str):
    """A scalar string that remembers its line."""

    line: int = 0


_MAX_DEPTH: Final = 32


def _strip_comment(s: str) -> str:
    quote: str | None = None
    for i, ch in enumerate(s):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'" and (i == 0 or s[i - 1] in " \t[{,:-"):
            quote = ch
        elif ch == "#" and (i == 0 or s[i - 1] in " \t"):
            return s[:i].rstrip()
    return s.rstrip()


def _scalar(s: str, line: int) -> Any:
    s = s.strip()
    if not s or s in ("~", "null", "Null", "NULL"):
        return None
    if s[0] in "&*!|>%@`":
        raise _YamlError(f"unsupported YAML feature {s[0]!r}", line)
    if s[0] == '"':
        if len(s) < 2 or not s.endswith('"'):
            raise _YamlError("unterminated double-quoted string", line)
        out = _unescape(s[1:-1], line)
    elif s[0] == "'":
        if len(s) < 2 or not s.endswith("'"):
            raise _YamlError("unterminated single-quoted string", line)
        out = s[1:-1].replace("''", "'")
    elif s[0] == "[":
        return _flow_list(s, line)
    elif s[0] == "{":
        if s.replace(" ", "") == "{}":
            return {}
        raise _YamlError("flow mappings are not supported in OWNERS files", line)
    else:
        low = s.lower()
        if low in ("true", "yes", "on"):
            return True
        if low in ("false", "no", "off"):
            return False
        out = s
    value = _YStr(out)
    value.line = line
    return value


_ESCAPES: Final = {"\\": "\\", '"': '"', "/": "/", "n": "\n", "t": "\t", "0": "\0", " ": " "}


def _unescape(s: str, line: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\":
            if i + 1 >= len(s) or s[i + 1] not in _ESCAPES:
                raise _YamlError("unsupported escape in a double-quoted string", line)
            out.append(_ESCAPES[s[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _flow_list(s: str, line: int) -> list[Any]:
    if not s.endswith("]"):
        raise _YamlError("a flow list must close on the same line", line)
    inner = s[1:-1].strip()
    if not inner:
        return []
    items: list[str] = []
    cur: list[str] = []
    quote: str | None = None
    for ch in inner:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            cur.append(ch)
        elif ch in "[]{}":
            raise _YamlError("nested flow collections are not supported", line)
        elif ch == ",":
            items.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if quote:
        raise _YamlError("unterminated quoted string in a flow list", line)
    items.append("".join(cur))
    return [_scalar(item, line) for item in items if item.strip()]


def _split_key(content: str, line: int) -> tuple[str, str] | None:
    """``key: rest`` -> (key, rest); ``None`` when the line is not a mapping entry."""
    if content[0] in "\"'":
        quote = content[0]
        end = content.find(quote, 1)
        while end != -1 and (
            (quote == "'" and content[end + 1:end + 2] == "'")
            or (quote == '"' and _odd_backslashes(content, end))
        ):
            end = content.find(quote, end + 2 if quote == "'" else end + 1)
        if end == -1:
            raise _YamlError("unterminated quoted key", line)
        key_raw, rest = content[:end + 1], content[end + 1:].lstrip()
        if not (rest.startswith(":") and (len(rest) == 1 or rest[1] in " \t")):
            return None
        key = _scalar(key_raw, line)
        return _key(str(key), line), rest[1:]
    m = re.search(r":(?=[ \t]|$)", content)
    if not m:
        return None
    key = content[:m.start()].strip()
    if not key or key[0] in "[{&*!|>%@`" or content.startswith(("- ", "-\t")) or content == "-":
        return None
    return _key(key, line), content[m.end():]


def _odd_backslashes(s: str, end: int) -> bool:
    n = 0
    i = end - 1
    while i >= 0 and s[i] == "\\":
        n += 1
        i -= 1
    return n % 2 == 1


def _key(key: str, line: int) -> str:
    k = _YStr(key)
    k.line = line
    return k


def load_yaml_subset(text: str) -> Any:
    """Parse the YAML subset OWNERS files use: block maps and lists, flow lists, quoted strings.

    Anchors, aliases, tags, block scalars and multi-line flow collections are refused.

    Raises
    ------
    _YamlError
        With the 1-based line of the problem.
    """
    rows: list[tuple[int, int, str]] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if raw.strip() in ("---", "..."):
            continue
        body = _strip_comment(raw)
        if not body.strip():
            continue
        stripped = body.lstrip(" ")
        if stripped.startswith("\t"):
            raise _YamlError("tab in indentation", lineno)
        rows.append((lineno, len(body) - len(stripped), stripped))
    if not rows:
        return None
    value, pos = _block(rows, 0, rows[0][1], 0)
    if pos != len(rows):
        raise _YamlError("unexpected indentation", rows[pos][0])
    return value


def _block(rows: list[tuple[int, int, str]], pos: int, indent: int, depth: int) -> tuple[Any, int]:
    if depth > _MAX_DEPTH:
        raise _YamlError("nested too deeply", rows[pos][0])
    line, ind, content = rows[pos]
    if ind != indent:
        raise _YamlError("unexpected indentation", line)
    if content == "-" or content.startswith("- "):
        return _seq(rows, pos, indent, depth)
    if _split_key(content, line) is not None:
        return _map(rows, pos, indent, depth)
    if pos + 1 < len(rows) and rows[pos + 1][1] > indent:
        raise _YamlError("multi-line scalars are not supported", line)
    return _scalar(content, line), pos + 1


def _seq(rows: list[tuple[int, int, str]], pos: int, indent: int, depth: int) -> tuple[Any, int]:
    out: list[Any] = []
    while pos < len(rows):
        line, ind, content = rows[pos]
        if ind < indent:
            break
        if ind > indent:
            raise _YamlError("unexpected indentation", line)
        if not (content == "-" or content.startswith("- ")):
            break
        rest = content[1:].lstrip(" ")
        if not rest:
            if pos + 1 < len(rows) and rows[pos + 1][1] > indent:
                value, pos = _block(rows, pos + 1, rows[pos + 1][1], depth + 1)
            else:
                value, pos = None, pos + 1
            out.append(value)
            continue
        if rest.startswith("- ") or (_split_key(rest, line) is not None and rest[0] not in "[{"):
            # "- key: value" opens a mapping whose keys sit at the item's content column.
            col = ind + (len(content) - len(rest))
            rows[pos] = (line, col, rest)
            value, pos = _block(rows, pos, col, depth + 1)
            out.append(value)
            continue
        out.append(_scalar(rest, line))
        pos += 1
    return out, pos


def _map(rows: list[tuple[int, int, str]], pos: int, indent: int, depth: int) -> tuple[Any, int]:
    out: dict[str, Any] = {}
    while pos < len(rows):
        line, ind, content = rows[pos]
        if ind < indent:
            break
        if ind > indent:
            raise _YamlError("unexpected indentation", line)
        split = _split_key(content, line)
        if split is None:
            if content.startswith("- "):
                break
            raise _YamlError("expected 'key: value'", line)
        key, rest = split
        if key in out:
            raise _YamlError(f"duplicate key {key!r}", line)
        rest = rest.strip()
        pos += 1
        if rest:
            out[key] = _scalar(rest, line)
        elif pos < len(rows) and rows[pos][1] > indent:
            out[key], pos = _block(rows, pos, rows[pos][1], depth + 1)
        elif pos < len(rows) and rows[pos][1] == indent and (
            rows[pos][2] == "-" or rows[pos][2].startswith("- ")
        ):
            out[key], pos = _seq(rows, pos, indent, depth + 1)
        else:
            out[key] = None
    return out, pos


# --------------------------------------------------------------------------------------------
# Kubernetes / Chromium OWNERS and OWNERS_ALIASES
# --------------------------------------------------------------------------------------------
_K8S_ROLES: Final = {
    "approvers": "approver",
    "reviewers": "reviewer",
    "emeritus_approvers": "emeritus_approver",
    "required_reviewers": "required_reviewer",
}
_K8S_IGNORED: Final = frozenset({"labels", "security_contacts", "options", "filters", "component"})


def _scope_pattern(scope: str) -> str:
    return scope.strip("/") + "/" if scope.strip("/") else "/"


def _parse_owners_file(
    ctx: _Ctx, text: str, source_file: str, scope: str, aliases: dict[str, list[str]]
) -> None:
    if _K8S_KEY.search(text) or text.lstrip().startswith("---"):
        _parse_k8s_owners(ctx, text, source_file, scope, aliases)
    else:
        _parse_chromium_owners(ctx, text, source_file, scope)


def _names(value: Any) -> list[_YStr] | None:
    """A list of names (a single string is accepted); ``None`` when the type is wrong."""
    if value is None:
        return []
    if isinstance(value, str):
        return [cast(_YStr, value)]
    if isinstance(value, list) and all(isinstance(v, str) or v is None for v in value):
        return [cast(_YStr, v) for v in value if v is not None]
    return None


def _parse_k8s_owners(
    ctx: _Ctx, text: str, source_file: str, scope: str, aliases: dict[str, list[str]]
) -> None:
    b = ctx.b
    b.begin(line=1, record=f"OWNERS {source_file}")
    try:
        data = load_yaml_subset(text)
    except _YamlError as exc:
        b.reject(f"invalid OWNERS YAML: {exc}", line=exc.line)
        return
    if data is None:
        b.skip("empty OWNERS file")
        return
    if not isinstance(data, dict):
        b.reject("an OWNERS file must be a YAML mapping", field="(root)")
        return
    base = _scope_pattern(scope)
    counter = [0]

    def order_of(value: object) -> int:
        counter[0] += 1
        return getattr(value, "line", 0) or 100000 + counter[0]

    def emit(config: dict[str, Any], pattern: str, where: str) -> None:
        for key, role in _K8S_ROLES.items():
            names = _names(config.get(key))
            if names is None:
                b.reject(f"{where}{key} must be a list of names", field=key, outcome="repaired")
                continue
            for name in names:
                login = name.strip()
                if not _LOGIN.match(login.lstrip("@")):
                    b.reject(f"invalid user name in {where}{key}", field=key, raw=login[:60],
                             line=getattr(name, "line", None), outcome="repaired")
                    continue
                expanded = aliases.get(login.lstrip("@").lower())
                for member in expanded if expanded is not None else [login.lstrip("@")]:
                    identity = _github_identity(ctx, member)
                    _rule(ctx, source="owners", source_file=source_file,
                          order=order_of(name), pattern=pattern, role=role, handle=member,
                          identity_id=identity)

    options = data.get("options")
    if options is not None and not isinstance(options, dict):
        b.reject("options must be a mapping", field="options", outcome="repaired")
    elif isinstance(options, dict) and options.get("no_parent_owners") is True:
        key = next(k for k in options if k == "no_parent_owners")
        _rule(ctx, source="owners", source_file=source_file, order=order_of(key),
              pattern=base, role="no_parent_owners")
    unknown = sorted(k for k in data if k not in _K8S_ROLES and k not in _K8S_IGNORED)
    if unknown:
        b.reject(f"unknown OWNERS key(s) {unknown[:5]} ignored", field=str(unknown[0]),
                 outcome="flagged")
    filters = data.get("filters")
    if filters is not None:
        if not isinstance(filters, dict):
            b.reject("filters must be a mapping of regex to config", field="filters",
                     outcome="repaired")
        else:
            if any(k in data for k in _K8S_ROLES):
                b.reject("filters and top-level approvers/reviewers together (Prow rejects "
                         "this); both are read", field="filters", outcome="flagged")
            for regex, config in filters.items():
                if not isinstance(config, dict):
                    b.reject("a filter must map to approvers/reviewers", field="filters",
                             raw=str(regex)[:60], outcome="repaired")
                    continue
                try:
                    re.compile(str(regex))
                except re.error as exc:
                    b.reject(f"invalid filter regex: {exc}", field="filters",
                             raw=str(regex)[:60], outcome="repaired")
                    continue
                pattern = base if str(regex) in (".*", "") else f"{base}{{re:{regex}}}"
                emit(config, pattern, "filters: ")
    emit(data, base, "")


def _parse_chromium_owners(ctx: _Ctx, text: str, source_file: str, scope: str) -> None:
    b = ctx.b
    b.begin(line=1, record=f"OWNERS {source_file}")
    base = _scope_pattern(scope)

    def directive(value: str, pattern: str, lineno: int) -> bool:
        value = value.strip()
        if re.fullmatch(r"set\s+noparent", value):
            _rule(ctx, source="owners", source_file=source_file, order=lineno, pattern=pattern,
                  role="no_parent_owners")
        elif value == "*":
            _rule(ctx, source="owners", source_file=source_file, order=lineno, pattern=pattern,
                  role="owner", handle="*")
        elif _EMAIL.match(value):
            identity = _email_identity(ctx, value)
            _rule(ctx, source="owners", source_file=source_file, order=lineno, pattern=pattern,
                  role="owner", handle=value.lower(), identity_id=identity)
        elif value.startswith(("file:", "include ")):
            b.reject("OWNERS includes (file:, include) are not followed", field="file",
                     raw=value[:80], line=lineno, outcome="flagged")
        else:
            return False
        return True

    any_rule = False
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        any_rule = True
        m = re.match(r"^per-file\s+(?P<globs>[^=]+?)\s*=\s*(?P<owners>.*)$", line)
        if m:
            globs = [g.strip() for g in m.group("globs").split(",") if g.strip()]
            if not globs or any("/" in g for g in globs):
                b.reject("per-file globs must name files in this directory (no '/')",
                         field="per-file", raw=line, line=lineno, outcome="repaired")
                continue
            owners_part = m.group("owners")
            values = [owners_part] if owners_part.startswith(("file:", "set ")) else [
                v for v in owners_part.split(",") if v.strip()
            ]
            for glob in globs:
                for value in values:
                    if not directive(value, f"{base}{{glob:{glob}}}", lineno):
                        b.reject("unrecognised per-file owner", field="per-file",
                                 raw=value[:80], line=lineno, outcome="repaired")
            continue
        if not directive(line, base, lineno):
            b.reject("unrecognised OWNERS line", raw=line[:80], line=lineno, outcome="repaired")
    if not any_rule:
        b.skip("empty OWNERS file")


def _parse_aliases_text(text: str) -> tuple[dict[str, list[_YStr]], list[tuple[str, int]]]:
    """Aliases and problems; raises ``_YamlError`` when the file is not readable YAML."""
    data = load_yaml_subset(text)
    if data is None:
        return {}, []
    if not isinstance(data, dict) or not isinstance(data.get("aliases", {}), dict | None):
        raise _YamlError("OWNERS_ALIASES must be a mapping with an 'aliases' mapping", 1)
    out: dict[str, list[_YStr]] = {}
    problems: list[tuple[str, int]] = []
    for name, members in (data.get("aliases") or {}).items():
        names = _names(members)
        if names is None:
            problems.append((str(name), getattr(name, "line", 0)))
            continue
        out[str(name)] = names
    return out, problems


def _load_aliases(ctx: _Ctx, explicit: str | Path | None, default: Path) -> dict[str, list[str]]:
    path = Path(explicit) if explicit is not None else default
    if not path.is_file():
        if explicit is not None:
            raise InputError("OWNERS_ALIASES file not found", file=str(path))
        return {}
    try:
        aliases, _problems = _parse_aliases_text(_read(path))
    except _YamlError as exc:
        ctx.b.notes.append(f"{path}: line {exc.line}: {exc}; aliases not expanded")
        return {}
    return {k.lower(): [m.strip().lstrip("@") for m in v if _LOGIN.match(m.strip().lstrip("@"))]
            for k, v in aliases.items()}


def _parse_aliases_file(ctx: _Ctx, text: str, source_file: str) -> None:
    b = ctx.b
    try:
        aliases, problems = _parse_aliases_text(text)
    except _YamlError as exc:
        b.reject_unreadable(f"invalid OWNERS_ALIASES YAML: {exc}", line=exc.line)
        return
    prefix = _unit_prefix("alias", ctx.container)
    for name, members in aliases.items():
        b.begin(line=getattr(members[0], "line", None) if members else None,
                record=f"alias {name[:80]}")
        unit_id = prefix + slugify(name)
        b.add("units", unit_id=unit_id, name=name, parent_id=None, kind="owners_alias",
              source="owners_aliases")
        for member in members:
            login = member.strip().lstrip("@")
            if not _LOGIN.match(login):
                b.reject("invalid user name in alias", field="aliases", raw=login[:60],
                         line=getattr(member, "line", None), outcome="repaired")
                continue
            _membership(ctx, _github_identity(ctx, login), unit_id, "member", "owners_aliases")
    for name, line in problems:
        b.reject_unreadable("an alias must list user names", line=line or None,
                            raw=name[:60], field="aliases")
    del source_file


def _import_owners_tree(ctx: _Ctx, root: Path, aliases: str | Path | None) -> list[str]:
    """Read every OWNERS file below ``root`` (symlinks are not followed, ``.git`` is skipped)."""
    alias_map = _load_aliases(ctx, aliases, root / "OWNERS_ALIASES")
    alias_file = Path(aliases) if aliases is not None else root / "OWNERS_ALIASES"
    if alias_file.is_file():
        try:
            _parse_aliases_file(ctx, _read(alias_file), "OWNERS_ALIASES")
        except InputError as exc:
            ctx.b.notes.append(str(exc))
    files: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in (".git", ".hg", ".svn"))
        if "OWNERS" not in filenames:
            continue
        file = Path(dirpath) / "OWNERS"
        if file.is_symlink():
            continue
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir
        rel_file = f"{rel_dir}/OWNERS" if rel_dir else "OWNERS"
        try:
            text = _read(file)
        except InputError as exc:
            ctx.b.reject_unreadable(f"cannot read: {exc}", record=rel_file)
            continue
        files.append(rel_file)
        _parse_owners_file(ctx, text, rel_file, rel_dir, alias_map)
    if not files:
        ctx.b.notes.append("no OWNERS file found below the directory")
    return files


# --------------------------------------------------------------------------------------------
# merge strategies
# --------------------------------------------------------------------------------------------
def _container_is(container: str | None) -> pl.Expr:
    return pl.col("container").is_null() if container is None else (
        pl.col("container") == container
    )


def _ownership_strategy(
    source: str, container: str | None, files: frozenset[str] | None
) -> MergeStrategy:
    """Drop the stored rules of the same logical file(s) and container, then add the new ones."""
    return functools.partial(_merge_ownership, source, container, files)


def _merge_ownership(
    source: str, container: str | None, files: frozenset[str] | None, old: pl.DataFrame,
    new: pl.DataFrame
) -> pl.DataFrame:
    """The merge of :func:`_ownership_strategy` (module level, so results pickle)."""
    same = (pl.col("source") == source) & _container_is(container)
    if files is not None:
        same = same & pl.col("source_file").is_in(sorted(files))
    kept = old.filter(~same.fill_null(False))
    return pl.concat([kept, new], how="vertical_relaxed").unique(
        "rule_id", keep="last", maintain_order=True
    )


def _membership_strategy(
    source: str, namespace: Callable[[], pl.Expr], as_of: dt.date | None
) -> MergeStrategy:
    """Snapshots of one namespace form a chain: each dated row ends at the next later snapshot.

    The import's rows replace the stored rows of the same snapshot (same ``valid_from``, or the
    undated rows for an undated import). Then every dated row of the namespace gets
    ``valid_to`` = the next later snapshot date (null for the latest), so the chain does not
    depend on the order in which snapshots are imported.
    """
    return functools.partial(_merge_membership_chain, source, namespace, as_of)


def _merge_membership_chain(
    source: str, namespace: Callable[[], pl.Expr], as_of: dt.date | None, old: pl.DataFrame,
    new: pl.DataFrame
) -> pl.DataFrame:
    """The merge of :func:`_membership_strategy` (module level, so results pickle)."""
    in_ns = ((pl.col("source") == source) & namespace()).fill_null(False)
    if as_of is None:
        drop = in_ns & pl.col("valid_from").is_null()
    else:
        drop = in_ns & (pl.col("valid_from") == as_of).fill_null(False)
    combined = pl.concat([old.filter(~drop), new], how="vertical_relaxed")
    dated = combined.filter(in_ns & pl.col("valid_from").is_not_null())
    dates = sorted(set(dated["valid_from"].to_list()))
    if not dates:
        return combined
    following = {d: dates[i + 1] for i, d in enumerate(dates[:-1])}
    nxt = pl.col("valid_from").replace_strict(
        following, default=None, return_dtype=pl.Date
    )
    return combined.with_columns(
        pl.when(in_ns & pl.col("valid_from").is_not_null())
        .then(nxt)
        .otherwise(pl.col("valid_to"))
        .alias("valid_to")
    )


def _namespace(prefix_kind: str, container: str | None) -> Callable[[], pl.Expr]:
    return functools.partial(_namespace_expr, prefix_kind, container)


def _namespace_expr(prefix_kind: str, container: str | None) -> pl.Expr:
    """Unit ids of one kind of ownership group (of one container when given)."""
    if container:
        return pl.col("unit_id").str.starts_with(f"{prefix_kind}:{container}:")
    pattern = "^" + re.escape(prefix_kind) + r":(?:group:)?[a-z0-9-]+(?:/[a-z0-9-]+)?$"
    return pl.col("unit_id").str.contains(pattern)


def _attach_strategies(
    result: ImportResult,
    kind: str,
    container: str | None,
    as_of: dt.date | None,
    files: frozenset[str] | None,
) -> None:
    source = {"codeowners": "codeowners", "maintainers": "maintainers",
              "authors": "maintainers", "owners": "owners"}.get(kind)
    if source is not None:
        result.merge["ownership"] = _ownership_strategy(source, container, files)
    if kind in ("maintainers", "authors"):
        result.merge["memberships"] = _membership_strategy(
            "maintainers", _namespace("maint", container), as_of
        )
    elif kind in ("owners_aliases", "owners") and "memberships" in result.tables:
        result.merge["memberships"] = _membership_strategy(
            "owners_aliases", _namespace("alias", container), as_of
        )
