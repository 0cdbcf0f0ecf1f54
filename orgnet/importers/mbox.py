"""Mailing-list archives (mbox, plain or ``.gz``) -> mail events and thread artifacts (FORMATS §12).

The file is streamed message by message (a separator is a line ``From <sender> <date>``; body
lines quoted as ``>From `` are left alone), so memory holds one message plus a compact summary of
each message read (ids, sender, time, review tags, references), never a body.

Threading (FORMATS §12.3): the parent of a message is its only ``In-Reply-To`` id, else the last
``References`` id. A thread's root is the top of its parent chain; when an ancestor is missing from
the archive, the oldest ``References`` id names the thread, so siblings of a missing parent stay
together. Message-IDs are compared without angle brackets, case kept; the first occurrence wins
and later copies are skipped as ``duplicate Message-ID``.

Events

* ``email_message`` for a thread root (target null);
* ``email_reply`` for a reply, target = the parent message's author (``parent_author``), null when
  the parent is not in the archive;
* review tags in the unquoted lines of replies that are not patch postings themselves (a patch
  2/5 under its cover letter, or a v2 carrying tags collected on v1, repeats earlier reviews),
  toward the *patch author* (the nearest ancestor
  that is a patch posting, else the thread root's author; ``artifact_author``):
  ``Reviewed-by`` and ``Acked-by`` -> ``review_approved`` (value = the tag), ``Tested-by`` ->
  ``commit_trailer`` (value ``Tested-by``). The actor is the person named in the tag;
* ``reference`` per repository/path/PR/change referred to in the body.

Artifacts: one per thread, ``mbox:<list>:<root message-id>``, kind ``patch`` when the root's
subject starts with a ``[… PATCH …]`` tag (else ``mail_thread``), with ``opened_at`` (root date),
``author_id`` and ``first_review_at`` (first reply by a non-bot other than the author).

Identity: native id = the normalised ``From`` address. Mailing lists that rewrite ``From`` for
DMARC (``"Jane Doe via dev" <dev@lists.example>``) are undone from ``X-Original-From`` or
``Reply-To``; when neither helps, the identity is keyed by the display name and flagged (or,
when there is no name either, the list address is kept as a bot identity, flagged).
Bodies are decoded only to find tags and references, then dropped; subjects are read only to
recognise patches.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.errors
import email.policy
import gzip
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import IO, Final

from orgnet._text import clean, normalize_email
from orgnet.exceptions import InputError
from orgnet.identity import is_bot_handle
from orgnet.importers._base import Identity, ImportBuilder, ImportResult, gc_paused
from orgnet.importers._io import open_binary
from orgnet.importers._refs import Reference, Window, extract_references

__all__ = [
    "MAX_MESSAGE_BYTES",
    "REVIEW_TAG_KINDS",
    "detect",
    "import_mbox",
    "parent_id",
]

SOURCE: Final = "mbox"
MAX_MESSAGE_BYTES: Final = 32 * 1024 * 1024
MAX_LINE_BYTES: Final = 4 * 1024 * 1024
MAX_BODY_CHARS: Final = 1024 * 1024
#: Decompressed bytes may not exceed this many times the ``.gz`` file size (1 MiB floor).
GZIP_RATIO: Final = 100
MAX_TOTAL_BYTES: Final = 64 * 1024**3

#: Review tags in reply bodies and the event each becomes: ``(kind, value)``.
REVIEW_TAG_KINDS: Final[dict[str, tuple[str, str]]] = {
    "reviewed-by": ("review_approved", "Reviewed-by"),
    "acked-by": ("review_approved", "Acked-by"),
    "tested-by": ("commit_trailer", "Tested-by"),
}

_SEPARATOR: Final = re.compile(rb"^From \S+\s+\S.*\d\d:\d\d")
_ANGLE_ADDR: Final = re.compile(r"<([^<>\s@]{1,200}@[^<>\s@]{1,200})>")
_MSGID: Final = re.compile(r"<([^<>\s]{1,998})>")
_TAG: Final = re.compile(r"^(Reviewed-by|Acked-by|Tested-by)[ \t]*:[ \t]*(\S[^\n]{0,300})$",
                         re.IGNORECASE | re.MULTILINE)
_VIA: Final = re.compile(r"^(?P<name>.+?)\s+via\s+(?P<list>[^<>]+)$", re.IGNORECASE)
_BRACKET: Final = re.compile(r"\s*\[([^\]\n]{0,200})\]")
_REPLY_PREFIX: Final = re.compile(
    r"^\s*(?:(?:re|aw|sv|fwd?)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE
)
_PATCH_WORD: Final = re.compile(r"\bPATCH\b", re.IGNORECASE)
_MIN_YEAR: Final = 1980
_MAX_YEAR: Final = 2200


@dataclass(slots=True)
class _Msg:
    """What pass 1 keeps of a message: no body, no subject."""

    line: int
    msgid: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    sender: str
    sender_is_bot: bool
    ts: dt.datetime
    offset_min: int | None
    is_patch: bool
    patchish: bool
    list_id: str | None
    tags: list[tuple[str, str, str]] = field(default_factory=list)  # kind, value, identity id
    refs: list[Reference] = field(default_factory=list)
    repairs: list[tuple[str, str, str | None]] = field(default_factory=list)
    duplicate: bool = False


def detect(path: Path) -> bool:
    """True when the file (plain or gzip) starts with an mbox ``From `` separator line."""
    try:
        with open_binary(Path(path)) as fh:
            head = fh.read(4096)
    except (OSError, InputError, EOFError):
        return False
    first = head.lstrip(b"\r\n").split(b"\n", 1)[0]
    return bool(_SEPARATOR.match(first))


def parent_id(in_reply_to: tuple[str, ...], references: tuple[str, ...]) -> str | None:
    """The parent Message-ID (FORMATS §12.3): the only In-Reply-To id, else the last References id.

    Examples
    --------
    >>> parent_id(("a@x",), ("r@x", "b@x"))
    'a@x'
    >>> parent_id(("a@x", "c@x"), ("r@x", "b@x"))
    'b@x'
    """
    if len(in_reply_to) == 1:
        return in_reply_to[0]
    if references:
        return references[-1]
    if in_reply_to:
        return in_reply_to[-1]
    return None


@gc_paused()
def import_mbox(
    path: str | Path,
    *,
    since: dt.datetime | dt.date | None = None,
    until: dt.datetime | dt.date | None = None,
    list_name: str | None = None,
) -> ImportResult:
    """Import a mailing-list archive in mbox format.

    Parameters
    ----------
    path
        An mbox file, plain or gzipped (``.gz``).
    since, until
        Keep messages dated ``since <= Date < until`` (UTC when naive); the others are skipped
        but still used for threading.
    list_name
        Container and artifact-id list name; default: the most common ``List-Id`` in the file,
        else the file name without extensions.

    Returns
    -------
    ImportResult
        ``email_message``, ``email_reply``, ``review_approved``, ``commit_trailer`` and
        ``reference`` events, one artifact per thread, ``mbox`` identities (native id = address).

    Raises
    ------
    InputError
        When the file cannot be opened, is not an mbox, or inflates past its size budget.
    """
    p = Path(path)
    window = Window(since, until)
    b = ImportBuilder(SOURCE, p)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or exc}", file=str(p)) from exc
    budget = min(MAX_TOTAL_BYTES, GZIP_RATIO * max(size, 1024 * 1024))
    msgs: list[_Msg] = []
    with open_binary(p) as fh:
        is_gzip = isinstance(fh, gzip.GzipFile)
        for line, separator, raw, problem in _split(fh, p, budget if is_gzip else None):
            if problem:
                b.reject_unreadable(problem, line=line, record=f"message at line {line}")
                continue
            parsed = _parse(b, line, separator, raw)
            if parsed is not None:
                msgs.append(parsed)
    lists = Counter(m.list_id for m in msgs if m.list_id)
    name = clean(list_name) or (lists.most_common(1)[0][0] if lists else None) or _stem(p)
    _emit(b, msgs, name, window)
    b.notes.append(f"list {name}: {len(msgs)} messages parsed")
    return b.finish(options={**window.options(), **({"list_name": name} if list_name else {})})


def _stem(p: Path) -> str:
    name = p.name
    for suffix in (".gz", ".mbox", ".txt", ".mbx"):
        name = name.removesuffix(suffix)
    return name or "mbox"


# -- pass 1: split and parse ----------------------------------------------------------------------
def _split(
    fh: IO[bytes], p: Path, budget: int | None
) -> Iterator[tuple[int, bytes, bytes, str | None]]:
    """Yield ``(line, separator, message, problem)``; ``problem`` names an unusable message."""
    total = 0
    lineno = 0
    start = 0
    separator = b""
    buf = bytearray()
    problem: str | None = None
    in_message = False
    preamble = False
    while True:
        try:
            line = fh.readline(MAX_LINE_BYTES + 1)
        except (EOFError, OSError) as exc:
            if lineno == 0:
                raise InputError(f"not a readable mbox or gzip file: {exc}", file=str(p)) from exc
            if in_message:
                yield start, separator, bytes(buf), "truncated message (compressed stream ended)"
            else:
                yield lineno + 1, b"", b"", "truncated compressed stream"
            return
        if not line:
            break
        lineno += 1
        total += len(line)
        if budget is not None and total > budget:
            raise InputError(
                f"decompresses to more than {budget} bytes (over {GZIP_RATIO}x the file size); "
                "refusing a possible gzip bomb",
                file=str(p),
                line=lineno,
            )
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while True:  # drain the rest of the over-long line
                chunk = fh.readline(MAX_LINE_BYTES)
                total += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            if in_message and problem is None:
                problem = f"line longer than {MAX_LINE_BYTES} bytes"
            continue
        if line.startswith(b"From ") and _SEPARATOR.match(line):
            if in_message:
                yield start, separator, bytes(buf), problem
            elif preamble:
                yield 1, b"", b"", "text before the first 'From ' separator line"
            buf = bytearray()
            separator = line
            start = lineno
            problem = None
            in_message = True
            continue
        if not in_message:
            if line.strip():
                preamble = True
            continue
        if problem is None:
            if len(buf) + len(line) > MAX_MESSAGE_BYTES:
                problem = f"message larger than {MAX_MESSAGE_BYTES} bytes"
                buf = bytearray()
            else:
                buf += line
    if in_message:
        yield start, separator, bytes(buf), problem
    elif preamble:
        raise InputError("not an mbox file: no 'From ' separator line found", file=str(p))


def _decode(value: str | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    with contextlib.suppress(
        email.errors.HeaderParseError, LookupError, UnicodeError, ValueError, TypeError
    ):
        text = str(make_header(decode_header(text)))
    return clean(text)


def _header(msg: Message, name: str) -> str | None:
    value = msg.get(name)
    return None if value is None else str(value)


def _ids(value: str | None, limit: int = 1000) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(m.strip() for m in _MSGID.findall(value)[-limit:])


def _message_id(value: str | None) -> str | None:
    """The Message-ID without angle brackets; a bare single token is accepted too."""
    ids = _ids(value, limit=1)
    if ids:
        return ids[0]
    token = (value or "").strip()
    if token and len(token) <= 998 and not any(ch.isspace() for ch in token):
        return token
    return None


def _address(raw: str | None) -> tuple[str | None, str | None]:
    """``(display name, normalised address)`` of an address header.

    Some clients encode the whole header, address included, as one RFC 2047 word; when the raw
    header yields no address, the decoded header is parsed again.
    """
    if not raw:
        return None, None
    try:
        name, addr = parseaddr(raw)
        email_addr = normalize_email(addr)
        if email_addr is None:
            decoded = _decode(raw) or ""
            name, addr = parseaddr(decoded)
            email_addr = normalize_email(addr)
            if email_addr is None:
                bracketed = _ANGLE_ADDR.findall(decoded)
                email_addr = normalize_email(bracketed[-1]) if bracketed else None
                name = decoded.split("<", 1)[0].strip(" \"'")
    except (ValueError, IndexError, TypeError):
        return None, None
    return (_decode(name) if name else None), email_addr


def _date(value: str | None) -> tuple[dt.datetime, int | None] | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    offset: int | None = None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)  # "-0000": zone unknown
    else:
        delta = when.utcoffset()
        offset = int(delta.total_seconds() // 60) if delta is not None else None
    if not _MIN_YEAR <= when.year <= _MAX_YEAR:
        return None
    if offset is not None and not -1440 < offset < 1440:
        offset = None
    return when.astimezone(dt.UTC), offset


def _separator_date(line: bytes) -> dt.datetime | None:
    parts = line.decode("ascii", "replace").split()
    if len(parts) < 7:
        return None
    try:
        parsed = time.strptime(" ".join(parts[2:7]), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    if parsed.tm_year < _MIN_YEAR:
        return None
    return dt.datetime(*parsed[:6], tzinfo=dt.UTC)


def _is_patch(subject: str | None) -> bool:
    """``[PATCH …]``, ``[RFC PATCH v2 1/3]``, ``[dev] [PATCH]`` at the start of the subject."""
    if not subject:
        return False
    pos = 0
    for _ in range(5):
        m = _BRACKET.match(subject, pos)
        if not m:
            return False
        if _PATCH_WORD.search(m.group(1)):
            return True
        pos = m.end()
    return False


def _body_text(msg: Message) -> str:
    """The text/plain parts, decoded, at most MAX_BODY_CHARS characters."""
    out: list[str] = []
    size = 0
    for part in msg.walk():
        if part.is_multipart() or part.get_content_type() != "text/plain":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        charset = part.get_content_charset() or "utf-8"
        try:
            text = payload.decode(charset, errors="replace")
        except LookupError:
            text = payload.decode("utf-8", errors="replace")
        out.append(text[: MAX_BODY_CHARS - size])
        size += len(out[-1])
        if size >= MAX_BODY_CHARS:
            break
    return "\n".join(out)


def _sender(msg: Message) -> tuple[Identity | None, list[tuple[str, str, str | None]]]:
    """The real sender, undoing list From-munging; also the repairs/flags it needed."""
    notes: list[tuple[str, str, str | None]] = []
    name, addr = _address(_header(msg, "From"))
    via = _VIA.match(name or "")
    list_post = (_header(msg, "List-Post") or "").lower()
    list_ids = _ids(_header(msg, "List-Id"), limit=1)
    # Mailman's List-Id is the list address with "@" written as ".": dev.lists.example.com.
    list_addr = list_ids[0].lower().replace(".", "@", 1) if list_ids else None
    munged = bool(via) or (addr is not None and (addr in list_post or addr == list_addr))
    if munged:
        real_name = via.group("name").strip(" \"'") if via else name
        orig_name, orig_addr = _address(_header(msg, "X-Original-From"))
        if orig_addr is None or orig_addr == addr:
            orig_name, orig_addr = _address(_header(msg, "Reply-To"))
        if orig_addr is not None and orig_addr != addr:
            name, addr = orig_name or real_name, orig_addr
        else:
            key = clean(real_name)
            if not key:
                if addr is None:
                    return None, notes
                # Mail from the list address itself (often forged spam): not a person.
                notes.append(("From is the list address and names nobody; kept as a bot",
                              "From", None))
                return Identity(SOURCE, addr, email=addr, is_bot=True), notes
            notes.append((
                "list-rewritten From without X-Original-From/Reply-To; identity keyed by name",
                "From", None,
            ))
            return Identity(SOURCE, f"name:{key.lower()}", name=key,
                            is_bot=is_bot_handle(key)), notes
    if addr is None:
        return None, notes
    return Identity(SOURCE, addr, email=addr, name=name, is_bot=is_bot_handle(name, addr)), notes


def _parse(b: ImportBuilder, line: int, separator: bytes, raw: bytes) -> _Msg | None:
    record = f"message at line {line}"
    if b"\n\n" not in raw and b"\r\n\r\n" not in raw:
        b.reject_unreadable("truncated message (headers not terminated by a blank line)",
                            line=line, record=record)
        return None
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        msgid = _message_id(_header(msg, "Message-ID"))
        sender, repairs = _sender(msg)
        date_raw = _header(msg, "Date")
        when = _date(date_raw)
        if when is None:
            received = msg.get_all("Received") or []
            fallback = _date(str(received[0]).rsplit(";", 1)[-1]) if received else None
            where = "topmost Received header"
            if fallback is None:
                sep_date = _separator_date(separator)
                fallback = (sep_date, None) if sep_date else None
                where = "mbox From line"
            if fallback is not None:
                repairs.append((f"missing or invalid Date; used the {where}", "Date", None))
                when = fallback
        subject = _decode(_header(msg, "Subject"))
        list_id = _ids(_header(msg, "List-Id"))
        body = _body_text(msg)
    except RecursionError:
        b.reject_unreadable("MIME structure nested too deeply", line=line, record=record)
        return None
    if msgid is None:
        b.reject_unreadable("missing Message-ID", line=line, record=record, field="Message-ID")
        return None
    if sender is None:
        b.reject_unreadable("no usable From address", line=line, record=msgid, field="From")
        return None
    if when is None:
        b.reject_unreadable("missing or unparseable Date (no Received or From-line fallback)",
                            line=line, record=msgid, field="Date")
        return None
    sender_id = b.identity(sender)
    m = _Msg(
        line=line,
        msgid=msgid,
        in_reply_to=tuple(x for x in _ids(_header(msg, "In-Reply-To")) if x != msgid),
        references=tuple(x for x in _ids(_header(msg, "References")) if x != msgid),
        sender=sender_id,
        sender_is_bot=sender.is_bot,
        ts=when[0],
        offset_min=when[1],
        is_patch=_is_patch(subject),
        patchish=_is_patch(_REPLY_PREFIX.sub("", subject or "")),
        list_id=clean(list_id[0]) if list_id else None,
        repairs=repairs,
    )
    seen: set[tuple[str, str]] = set()
    for key, person in _TAG.findall(body):
        kind, value = REVIEW_TAG_KINDS[key.lower()]
        pname, paddr = _address(person)
        if paddr is None:
            iid = sender_id  # "Acked-by: Jane Doe" without an address: the sender vouches
        else:
            iid = b.identity(Identity(SOURCE, paddr, email=paddr, name=pname,
                                      is_bot=is_bot_handle(pname, paddr)))
        if (value, iid) not in seen:
            seen.add((value, iid))
            m.tags.append((kind, value, iid))
    m.refs = extract_references(body)
    return m


# -- pass 2: thread and emit ----------------------------------------------------------------------
def _emit(b: ImportBuilder, msgs: list[_Msg], list_name: str, window: Window) -> None:
    by_id: dict[str, _Msg] = {}
    for m in msgs:
        if m.msgid in by_id:
            m.duplicate = True
        else:
            by_id[m.msgid] = m
    roots: dict[str, str] = {}

    def root_of(m: _Msg) -> str:
        chain: list[_Msg] = []
        cur = m
        seen: set[str] = set()
        result: str
        while True:
            if cur.msgid in roots:
                result = roots[cur.msgid]
                break
            chain.append(cur)
            seen.add(cur.msgid)
            pid = parent_id(cur.in_reply_to, cur.references)
            if pid is None or pid in seen:
                result = cur.msgid
                break
            parent = by_id.get(pid)
            if parent is None:
                result = cur.references[0] if cur.references else pid
                break
            cur = parent
        for c in chain:
            roots[c.msgid] = result
        return result

    threads: dict[str, list[_Msg]] = {}
    for m in msgs:
        if not m.duplicate:
            threads.setdefault(root_of(m), []).append(m)
    artifacts: dict[str, dict[str, object]] = {}
    for root_id, members in threads.items():
        root = by_id.get(root_id)
        author = root.sender if root else None
        if root is not None:
            kind = "patch" if root.is_patch else "mail_thread"
        else:
            kind = "patch" if any(x.patchish for x in members) else "mail_thread"
        reviews = [x.ts for x in members
                   if x is not root and author and x.sender != author and not x.sender_is_bot]
        artifacts[root_id] = {
            "kind": kind,
            "container": list_name,
            "author_id": author,
            "opened_at": root.ts if root else min(x.ts for x in members),
            "first_review_at": min(reviews) if reviews else None,
        }
    emitted_artifacts: set[str] = set()
    for m in msgs:
        b.begin(line=m.line, record=m.msgid)
        for reason, fname, raw in m.repairs:
            b.reject(reason, field=fname, raw=raw,
                     outcome="repaired" if fname == "Date" else "flagged")
        if m.duplicate:
            b.duplicate("duplicate Message-ID")
            continue
        if m.ts not in window:
            b.skip("outside --since/--until")
            continue
        root_id = roots[m.msgid]
        art = f"mbox:{list_name}:{root_id}"
        if root_id not in emitted_artifacts:
            emitted_artifacts.add(root_id)
            facts = artifacts[root_id]
            b.artifact(art, str(facts.pop("kind")), **facts)
        raw_ref = ("message", m.msgid)
        pid = parent_id(m.in_reply_to, m.references)
        common = {"ts": m.ts, "artifact_id": art, "container": list_name, "raw_ref": raw_ref,
                  "time_offset_min": m.offset_min}
        if pid is None:
            b.event("email_message", m.sender, **common)  # type: ignore[arg-type]
        else:
            parent = by_id.get(pid)
            target = parent.sender if parent else None
            b.event("email_reply", m.sender, target_id=target,
                    target_role="parent_author" if target else None, **common)  # type: ignore[arg-type]
            # A patch posting that is a reply (patch 2/5 under its cover letter, or v2 carrying
            # tags collected on v1) repeats earlier reviews: only plain replies give tags.
            tags = [] if m.is_patch else m.tags
            patch_author = _patch_author(m, by_id, roots) if tags else None
            for kind, value, iid in tags:
                b.event(kind, iid, target_id=patch_author,
                        target_role="artifact_author" if patch_author else None, value=value,
                        **common)  # type: ignore[arg-type]
        for ref in m.refs:
            b.event("reference", m.sender, ts=m.ts, artifact_id=ref.artifact_id,
                    container=list_name, value=ref.value, raw_ref=raw_ref,
                    time_offset_min=m.offset_min)


def _patch_author(m: _Msg, by_id: dict[str, _Msg], roots: dict[str, str]) -> str | None:
    """Author of the nearest ancestor that is a patch posting, else of the thread root or parent."""
    pid = parent_id(m.in_reply_to, m.references)
    parent = by_id.get(pid) if pid else None
    cur = parent
    seen: set[str] = set()
    while cur is not None and cur.msgid not in seen and len(seen) < 1000:
        if cur.is_patch:
            return cur.sender
        seen.add(cur.msgid)
        nxt = parent_id(cur.in_reply_to, cur.references)
        cur = by_id.get(nxt) if nxt else None
    root = by_id.get(roots.get(m.msgid, ""))
    if root is not None:
        return root.sender
    return parent.sender if parent else None

