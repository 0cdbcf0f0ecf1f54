"""GrimoireLab Perceval items, and the plumbing the code-review importers share.

Perceval (FORMATS §1) wraps every raw record in an envelope (``backend_name``, ``category``,
``origin``, ``uuid``, ``updated_on``, ``data`` ...). It writes items either as JSON lines
(``--json-line``) or, by default, as pretty-printed objects simply concatenated. Both are read
here: :func:`iter_perceval_items` yields ``(line, item)`` for a valid envelope and
``(line, reject)`` for a record that is not one.

The GitHub, GitLab and Gerrit importers share three more things defined here:

- :func:`iter_json_records`: any JSON file an API client or ``gh api --paginate`` writes
  (one document, concatenated documents, JSON lines, Gerrit's ``)]}'`` XSSI prefix).
- :class:`RecordPlan` and :func:`replay`: an importer first turns each source record into a plan
  (events, artifact rows, touches, problems). After the whole input is read, the plans are
  replayed into the :class:`~orgnet.importers._base.ImportBuilder`. This lets a later version of
  the same Perceval item replace an earlier one, resolves ``@login`` mentions against every
  account seen anywhere in the input, and applies the ``--since/--until`` window per record.
- small parsers: :func:`parse_iso_utc`, :func:`parse_epoch_utc`, :func:`window_bounds`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from orgnet.exceptions import InputError
from orgnet.importers._base import ImportBuilder, gc_paused
from orgnet.importers._io import (
    JsonRecordError,
    iter_json_documents,
    iter_json_lines,
    loads_strict,
    open_binary,
    read_text,
)

__all__ = [
    "DECOMPRESSION_ERRORS",
    "ENVELOPE_FIELDS",
    "FieldError",
    "PercevalItem",
    "PercevalReject",
    "RecordPlan",
    "describe_value",
    "detect_backend",
    "envelope_excerpt",
    "gc_paused",
    "is_json_lines",
    "iso_field",
    "item_or_reject",
    "iter_json_records",
    "iter_perceval_items",
    "parse_epoch_utc",
    "parse_iso_utc",
    "replay",
    "replay_plan",
    "validate_envelope",
    "window_bounds",
]

#: Envelope fields every Perceval item must have, with the JSON types allowed.
ENVELOPE_FIELDS: Final[dict[str, tuple[type, ...]]] = {
    "backend_name": (str,),
    "category": (str,),
    "origin": (str,),
    "uuid": (str,),
    "updated_on": (int, float),
    "data": (dict,),
}

_PEEK_BYTES: Final = 64 * 1024
_BACKEND_RE: Final = re.compile(rb'"backend_name"\s*:\s*"([^"\\]{1,64})"')
_XSSI: Final = ")]}'"
#: What a truncated or corrupt ``.gz`` raises while it is read (the foundation readers let it out).
DECOMPRESSION_ERRORS: Final = (EOFError, OSError, zlib.error)


@dataclass(frozen=True, slots=True)
class PercevalItem:
    """One valid Perceval envelope.

    Attributes
    ----------
    line
        Line where the item starts in the file (1-based).
    backend
        ``backend_name`` as written by Perceval (``"GitHub"``, ``"Gerrit"`` ...).
    category, origin, uuid, updated_on
        Envelope fields (``updated_on`` in epoch seconds).
    data
        The raw record.
    """

    line: int
    backend: str
    category: str
    origin: str
    uuid: str
    updated_on: float
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PercevalReject:
    """A record that is not a usable Perceval item: why, where, and a text-free excerpt."""

    line: int
    reason: str
    field: str | None = None
    raw: str | None = None


def envelope_excerpt(raw: bytes | str | None) -> str:
    """A text-free excerpt of an unparseable record: its size and its envelope head only.

    Perceval sorts keys, so everything before ``"data"`` is envelope metadata (backend, category,
    versions), never message text. Anything else is described by its size alone.
    """
    if raw is None:
        return "<unreadable>"
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    head = data[:400]
    cut = head.find(b'"data"')
    prefix = ""
    if cut > 0 and head.lstrip().startswith(b"{"):
        prefix = " " + head[: min(cut, 160)].decode("utf-8", "replace").replace("\n", " ")
        prefix = re.sub(r"\s+", " ", prefix)
    return f"<{len(data)} bytes>{prefix}"


def validate_envelope(obj: object) -> tuple[str, str | None] | None:
    """Check a decoded object against the Perceval envelope (FORMATS §1.2).

    Returns
    -------
    (reason, field) or None
        ``None`` when the envelope is valid.
    """
    if not isinstance(obj, dict):
        return f"not a Perceval item: a JSON {type(obj).__name__}, not an object", None
    for name, types in ENVELOPE_FIELDS.items():
        if name not in obj:
            return f"not a Perceval item: missing envelope field {name!r}", name
        value = obj[name]
        if isinstance(value, bool) or not isinstance(value, types):
            want = " or ".join(t.__name__ for t in types)
            return f"envelope field {name!r} is a {type(value).__name__}, expected {want}", name
    if isinstance(obj["updated_on"], float) and not math.isfinite(obj["updated_on"]):
        return "envelope field 'updated_on' is not a finite number", "updated_on"
    for name in ("backend_name", "category", "uuid", "origin"):
        if not obj[name].strip():
            return f"envelope field {name!r} is empty", name
    return None


def is_json_lines(path: Path) -> bool:
    """True for JSON lines: the first non-blank line is more than a lone ``{`` (pretty) or ``[``.

    Raises
    ------
    InputError
        When the file cannot be decompressed.
    """
    try:
        with open_binary(path) as fh:
            for _ in range(1000):
                raw = fh.readline(_PEEK_BYTES)
                if not raw:
                    break
                line = raw.lstrip(b"\xef\xbb\xbf").strip()
                if line:
                    return line.startswith(b"{") and line != b"{"
    except DECOMPRESSION_ERRORS as exc:
        raise InputError(f"cannot decompress: {exc}", file=str(path)) from exc
    return False


def iter_perceval_items(path: str | Path) -> Iterator[tuple[int, PercevalItem | PercevalReject]]:
    """Yield ``(line, item_or_reject)`` for every record of a Perceval output file.

    Reads ``--json-line`` output line by line (streaming) and the default concatenated
    pretty-printed output (and a JSON array of items) through an incremental decoder. Gzipped
    files are read transparently.

    Parameters
    ----------
    path
        The Perceval output file.

    Yields
    ------
    (line, PercevalItem | PercevalReject)
        ``line`` is where the record starts.

    Raises
    ------
    InputError
        When the file cannot be opened.
    """
    p = Path(path)
    lineno = 0
    try:
        if is_json_lines(p):
            for lineno, obj, raw in iter_json_lines(p):
                if isinstance(obj, JsonRecordError):
                    yield lineno, PercevalReject(lineno, str(obj), None, envelope_excerpt(raw))
                    continue
                yield lineno, item_or_reject(lineno, obj)
        else:
            for lineno, obj in iter_json_documents(p):
                if isinstance(obj, JsonRecordError):
                    yield lineno, PercevalReject(lineno, str(obj), None, "<unparseable document>")
                    continue
                yield lineno, item_or_reject(lineno, obj)
    except UnicodeDecodeError as exc:  # a UTF-16 byte-order mark followed by invalid UTF-16
        raise InputError(f"starts like UTF-16 but is not valid UTF-16 ({exc.reason})",
                         file=str(p)) from exc
    except DECOMPRESSION_ERRORS as exc:
        if lineno == 0:
            raise InputError(f"cannot decompress: {exc}", file=str(p)) from exc
        yield lineno + 1, PercevalReject(
            lineno + 1, f"compressed input truncated or corrupt after line {lineno}: {exc}"
        )


def item_or_reject(lineno: int, obj: object) -> PercevalItem | PercevalReject:
    """A decoded record as a :class:`PercevalItem`, or why it is not one."""
    problem = validate_envelope(obj)
    if problem is not None:
        reason, fld = problem
        keys = ",".join(sorted(obj)[:12]) if isinstance(obj, dict) else type(obj).__name__
        return PercevalReject(lineno, reason, fld, f"keys: {keys}")
    assert isinstance(obj, dict)
    return PercevalItem(
        line=lineno,
        backend=obj["backend_name"],
        category=obj["category"],
        origin=obj["origin"],
        uuid=obj["uuid"],
        updated_on=float(obj["updated_on"]),
        data=obj["data"],
    )


def detect_backend(path: str | Path) -> str | None:
    """The lower-cased ``backend_name`` of the first Perceval item in ``path``, else ``None``.

    Cheap: reads at most the first 64 KiB. Never raises for unreadable or foreign files.
    """
    p = Path(path)
    if not p.is_file():
        return None
    try:
        with open_binary(p) as fh:
            head = fh.read(_PEEK_BYTES)
    except (InputError, *DECOMPRESSION_ERRORS):
        return None
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n[")
    if not body.startswith(b"{") or (b'"uuid"' not in head and b'"origin"' not in head):
        return None
    m = _BACKEND_RE.search(head)
    if m is None:
        return None
    try:
        return m.group(1).decode("ascii").lower()
    except UnicodeDecodeError:
        return None


# -- generic JSON files (REST exports) -------------------------------------------------------


def _split_documents(text: str) -> Iterator[tuple[int, str]]:
    """Split concatenated JSON documents (``[..][..]``, ``{..}{..}``) into their source texts."""
    decoder = json.JSONDecoder()
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        if pos >= n:
            return
        lineno = text.count("\n", 0, pos) + 1
        try:
            _obj, end = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            yield lineno, text[pos:]
            return
        yield lineno, text[pos:end]
        pos = end


def iter_json_records(path: str | Path) -> Iterator[tuple[int | None, Any | JsonRecordError]]:
    """Yield ``(line, value_or_error)`` for the top-level records of a JSON export file.

    Accepted shapes: one JSON document (an array's elements are yielded one by one; an array
    whose every element is an array, as ``gh api --paginate --slurp`` writes, is flattened),
    concatenated documents (``gh api --paginate`` without ``--slurp`` writes ``[...][...]``),
    pretty-printed objects one after another, and JSON lines. A leading Gerrit XSSI line ``)]}'``
    is dropped. Values are decoded strictly (no duplicate keys, NaN or absurd nesting, FORMATS
    §17.2).

    Raises
    ------
    InputError
        When the file cannot be opened or decompressed.
    """
    p = Path(path)
    try:
        yield from _json_records(p)
    except DECOMPRESSION_ERRORS as exc:
        raise InputError(f"cannot decompress: {exc}", file=str(p)) from exc


def _json_records(p: Path) -> Iterator[tuple[int | None, Any | JsonRecordError]]:
    with open_binary(p) as fh:
        first = fh.readline(_PEEK_BYTES).lstrip(b"\xef\xbb\xbf").strip()
        second = b""
        if first.startswith(_XSSI.encode()) or not first:
            for raw in fh:
                second = raw.strip()
                if second:
                    break
        probe = second if first.startswith(_XSSI.encode()) or not first else first
    # Streaming JSON lines when every record is one line (Gerrit SSH output, Perceval-like dumps).
    if probe.startswith(b"{") and probe != b"{" and probe.endswith(b"}"):
        for lineno, obj, _raw in iter_json_lines(p):
            if lineno == 1 and isinstance(obj, JsonRecordError) and first.startswith(b")]}'"):
                continue
            yield lineno, obj
        return
    try:
        text, _codec = read_text(p)
    except UnicodeDecodeError as exc:  # a UTF-16 byte-order mark followed by invalid UTF-16
        raise InputError(f"starts like UTF-16 but is not valid UTF-16 ({exc.reason})",
                         file=str(p)) from exc
    if text.startswith(_XSSI):
        nl = text.find("\n")
        text = " " * nl + text[nl:] if nl >= 0 else ""  # keep line numbers
    for lineno, segment in _split_documents(text):
        try:
            value = loads_strict(segment)
        except JsonRecordError as exc:
            yield lineno, exc
            continue
        if isinstance(value, list):
            pages = bool(value) and all(isinstance(e, list) for e in value)
            for element in value:
                if pages:
                    for inner in element:
                        yield lineno, inner
                else:
                    yield lineno, element
        else:
            yield lineno, value


class FieldError(ValueError):
    """A field of a record has the wrong type or value (the record, or part of it, is rejected).

    Attributes
    ----------
    reason, field
        For the rejects table.
    raw
        A text-free excerpt (see :func:`describe_value`).
    """

    def __init__(self, reason: str, field: str | None, raw: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field
        self.raw = raw


def describe_value(value: object) -> str:
    """A text-free description of a bad value: numbers and booleans are shown, text is not."""
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return f"<{type(value).__name__}>"


# -- time --------------------------------------------------------------------------------------


def iso_field(obj: dict[str, Any], key: str, where: str, *, required: bool) -> dt.datetime | None:
    """``obj[key]`` as a UTC ISO 8601 timestamp; ``None`` when absent and not ``required``.

    Raises
    ------
    FieldError
        When the field is missing (and required) or not an ISO 8601 timestamp; ``where`` prefixes
        the message (e.g. ``"review "``).
    """
    value = obj.get(key)
    if value is None:
        if required:
            raise FieldError(f"{where}{key} is missing", key, f"{key}=None")
        return None
    try:
        return parse_iso_utc(value)
    except ValueError:
        raise FieldError(f"{where}{key} is not an ISO 8601 timestamp", key,
                         f"{key}={describe_value(value)}") from None


def parse_iso_utc(value: object) -> dt.datetime:
    """Parse an ISO 8601 / RFC 3339 timestamp (``Z`` or offset; naive means UTC).

    Also reads Gerrit REST timestamps (``2024-05-02 09:14:03.118000000``, UTC, nanoseconds).

    Raises
    ------
    ValueError
        When ``value`` is not a string or not a timestamp.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a timestamp string, got {type(value).__name__}")
    text = value.strip()
    if len(text) > 26 and text[19:20] == "." and text[-1].isdigit() and "+" not in text[19:]:
        text = text[:26]  # nanoseconds -> microseconds (Gerrit)
    try:
        ts = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {value[:40]!r}") from None
    if ts.tzinfo is None:
        return ts.replace(tzinfo=dt.UTC)
    return ts.astimezone(dt.UTC)


def parse_epoch_utc(value: object) -> dt.datetime:
    """Epoch seconds (int or float) to an aware UTC datetime.

    Raises
    ------
    ValueError
        When ``value`` is not a finite number in a plausible range.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected epoch seconds, got {type(value).__name__}")
    if not math.isfinite(value) or not 0 <= value < 32503680000:
        raise ValueError(f"epoch seconds out of range: {value!r}")
    return dt.datetime.fromtimestamp(value, dt.UTC)


def window_bounds(
    since: dt.datetime | dt.date | str | None, until: dt.datetime | dt.date | str | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Normalise ``--since``/``--until`` to aware UTC datetimes (naive values are UTC).

    ``since`` is inclusive and ``until`` exclusive; a date means its midnight UTC.
    """

    def one(value: dt.datetime | dt.date | str | None) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return parse_iso_utc(value)
        if isinstance(value, dt.datetime):
            if value.tzinfo is None:
                return value.replace(tzinfo=dt.UTC)
            return value.astimezone(dt.UTC)
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)

    return one(since), one(until)


# -- plans -------------------------------------------------------------------------------------

#: ``(kind, actor_id, ts, target_id, target_role, artifact_id, container, value, raw_ref)``
EventOp = tuple[str, str, dt.datetime, str | None, str | None, str | None, str | None, str | None,
                tuple[str, str]]
#: ``(actor_id, handle, ts, artifact_id, container, raw_ref, kind, target_role)``
MentionOp = tuple[str, str, dt.datetime, str | None, str | None, tuple[str, str], str, str]


@dataclass(slots=True)
class RecordPlan:
    """What one source record will produce, collected before anything reaches the builder.

    Attributes
    ----------
    line, record
        Where the record is (line in the file, structural label such as ``"pull acme/w#12"``).
    key, version
        Identity and version of the record for "latest version wins" (Perceval ``uuid`` and
        ``updated_on``); ``None`` when the source has no versions.
    key_kind, key_field
        How a duplicate is named in the rejects table (``"item"``/``"uuid"``,
        ``"change"``/``"number"`` ...).
    """

    line: int | None
    record: str | None
    key: str | None = None
    version: float | None = None
    key_kind: str = "item"
    key_field: str = "uuid"
    events: list[EventOp] = field(default_factory=list)
    mentions: list[MentionOp] = field(default_factory=list)
    shared_events: list[EventOp] = field(default_factory=list)
    shared_mentions: list[MentionOp] = field(default_factory=list)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    touches: list[dict[str, Any]] = field(default_factory=list)
    problems: list[tuple[str, str | None, str | None, str]] = field(default_factory=list)
    skip_reason: str | None = None
    anchor_ts: dt.datetime | None = None

    def event(
        self,
        kind: str,
        actor_id: str,
        ts: dt.datetime,
        *,
        target_id: str | None = None,
        target_role: str | None = None,
        artifact_id: str | None = None,
        container: str | None = None,
        value: str | None = None,
        raw_ref: tuple[str, str],
        shared: bool = False,
    ) -> None:
        """Plan an interaction event (see :meth:`ImportBuilder.event`).

        ``shared=True`` marks an event another record of the same input may plan too (a pull
        request's opening seen in its Perceval ``issue`` twin); replay writes it once.
        """
        op = (kind, actor_id, ts, target_id, target_role, artifact_id, container, value, raw_ref)
        (self.shared_events if shared else self.events).append(op)

    def mention(
        self,
        actor_id: str,
        handle: str,
        ts: dt.datetime,
        *,
        artifact_id: str | None,
        container: str | None,
        raw_ref: tuple[str, str],
        shared: bool = False,
    ) -> None:
        """Plan a ``mention`` of ``handle`` (lower-cased login), resolved at replay time."""
        op = (actor_id, handle, ts, artifact_id, container, raw_ref, "mention", "mentioned")
        (self.shared_mentions if shared else self.mentions).append(op)

    def handle_event(
        self,
        kind: str,
        actor_id: str,
        handle: str,
        ts: dt.datetime,
        *,
        target_role: str,
        artifact_id: str | None,
        container: str | None,
        raw_ref: tuple[str, str],
    ) -> None:
        """Plan an event whose target is known only by login (``requested review from @x``)."""
        self.mentions.append(
            (actor_id, handle, ts, artifact_id, container, raw_ref, kind, target_role)
        )

    def artifact(self, artifact_id: str, kind: str, **fields: Any) -> None:
        """Plan an artifact row (see :meth:`ImportBuilder.artifact`)."""
        self.artifacts.append({"artifact_id": artifact_id, "kind": kind, **fields})

    def touch(self, **row: Any) -> None:
        """Plan a ``touches`` row."""
        self.touches.append(row)

    def problem(
        self,
        reason: str,
        *,
        field: str | None = None,
        raw: str | None = None,
        outcome: str = "rejected",
    ) -> None:
        """Record a problem; ``outcome="rejected"`` drops the whole record at replay."""
        self.problems.append((reason, field, raw, outcome))

    @property
    def rejected(self) -> bool:
        """True when a problem rejects the record."""
        return any(p[3] == "rejected" for p in self.problems)


_DONE: Final = RecordPlan(None, None)


def _in_window(ts: dt.datetime, lo: dt.datetime | None, hi: dt.datetime | None) -> bool:
    return (lo is None or ts >= lo) and (hi is None or ts < hi)


def replay(
    b: ImportBuilder,
    plans: list[RecordPlan],
    *,
    resolve_handle: Callable[[str], str | None] | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> dict[str, int]:
    """Feed plans into the builder, one builder record per plan.

    Rules, in order: a plan with a rejecting problem is rejected (its problems become rejects);
    a plan with a ``key`` whose ``version`` is lower than another plan's with the same key is
    skipped as superseded, an exact repeat (same key and version) is rejected as a duplicate;
    a plan marked ``skip_reason`` is skipped; a plan none of whose events (or, without events,
    whose ``anchor_ts``) falls in ``[since, until)`` is skipped. Otherwise events inside the
    window, mentions whose handle resolves to an identity, artifacts and touches are emitted.

    The list is consumed: each plan is released once replayed.

    Returns
    -------
    dict
        Small statistics for the import notes: ``mentions_unresolved`` and
        ``handles_unresolved`` (other handle-targeted events left out).
    """
    best: dict[str, tuple[float, int]] = {}
    for i, plan in enumerate(plans):
        if plan.key is None or plan.rejected or plan.skip_reason:
            continue
        version = plan.version if plan.version is not None else 0.0
        cur = best.get(plan.key)
        if cur is None or version > cur[0]:
            best[plan.key] = (version, i)
    stats = {"mentions_unresolved": 0, "handles_unresolved": 0}
    shared_seen: set[tuple[Any, ...]] = set()
    first_line: dict[tuple[str, float], int | None] = {}
    for i in range(len(plans)):
        plan = plans[i]
        plans[i] = _DONE  # free each plan once replayed
        replay_plan(b, plan, i, best=best, first_line=first_line, shared_seen=shared_seen,
                    stats=stats, resolve_handle=resolve_handle, since=since, until=until)
    return stats


def replay_plan(
    b: ImportBuilder,
    plan: RecordPlan,
    i: int,
    *,
    best: dict[str, tuple[float, int]],
    first_line: dict[tuple[str, float], int | None],
    shared_seen: set[tuple[Any, ...]],
    stats: dict[str, int],
    resolve_handle: Callable[[str], str | None] | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> None:
    """Replay plan ``i`` of a list (see :func:`replay`); the state is shared across calls.

    ``best`` maps each key to its winning ``(version, index)``; ``first_line``,
    ``shared_seen`` and ``stats`` are updated.
    """
    windowed = since is not None or until is not None
    b.begin(line=plan.line, record=plan.record)
    for reason, fld, raw, outcome in plan.problems:
        b.reject(reason, field=fld, raw=raw, outcome=outcome)
    if plan.rejected:
        return
    if plan.skip_reason:
        b.skip(plan.skip_reason)
        return
    if plan.key is not None:
        version = plan.version if plan.version is not None else 0.0
        if best[plan.key][1] != i:
            if best[plan.key][0] == version:
                where = first_line.get((plan.key, version))
                b.reject(
                    f"duplicate {plan.key_kind}: same id and update time as line {where}",
                    field=plan.key_field,
                    raw=f"{plan.key_field} {plan.key}",
                )
            else:
                b.skip("superseded by a newer version of the same item")
            return
        first_line.setdefault((plan.key, version), plan.line)
    events = plan.events
    mentions = plan.mentions
    if plan.shared_events:
        events = events + plan.shared_events
    if plan.shared_mentions:
        mentions = mentions + plan.shared_mentions
    if windowed:
        had_events = bool(events)
        events = [e for e in events if _in_window(e[2], since, until)]
        mentions = [m for m in mentions if _in_window(m[2], since, until)]
        anchor = plan.anchor_ts
        if not events and not (
            not had_events and anchor is not None and _in_window(anchor, since, until)
        ):
            b.skip("outside the --since/--until window")
            return
    if plan.shared_events or plan.shared_mentions:
        shared_ids = {id(e) for e in plan.shared_events} | {id(m) for m in plan.shared_mentions}
        kept_e: list[EventOp] = []
        for e in events:
            if id(e) in shared_ids:
                key = ("e", *e[:2], *e[3:])
                if key in shared_seen:
                    continue
                shared_seen.add(key)
            kept_e.append(e)
        kept_m: list[MentionOp] = []
        for m in mentions:
            if id(m) in shared_ids:
                mkey = ("m", *m[:2], *m[3:])
                if mkey in shared_seen:
                    continue
                shared_seen.add(mkey)
            kept_m.append(m)
        events, mentions = kept_e, kept_m
    event = b.event
    for kind, actor, ts, target, role, art, cont, value, ref in events:
        event(kind, actor, ts=ts, target_id=target, target_role=role, artifact_id=art,
              container=cont, value=value, raw_ref=ref)
    for actor, handle, ts, art, cont, ref, kind, role in mentions:
        target = resolve_handle(handle) if resolve_handle is not None else None
        if target is None:
            stats["mentions_unresolved" if kind == "mention" else "handles_unresolved"] += 1
            continue
        event(kind, actor, ts=ts, target_id=target, target_role=role,
              artifact_id=art, container=cont, raw_ref=ref)
    for row in plan.artifacts:
        fields = dict(row)
        b.artifact(fields.pop("artifact_id"), fields.pop("kind"), **fields)
    for row in plan.touches:
        b.add("touches", **row)
