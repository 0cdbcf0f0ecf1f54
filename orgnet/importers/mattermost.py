"""Mattermost bulk export (JSONL: plain, gzipped or in the export zip) -> chat events (§8.1).

``mmctl export create`` writes one JSON object per line, ``{"type": "<kind>", "<kind>": {…}}``:
``version`` first, then ``scheme``, ``emoji``, ``team``, ``channel``, ``user``, ``bot``, ``post``,
``direct_channel``, ``direct_post``. Each ``post`` and ``direct_post`` line is one record; the
metadata lines feed identities and are not counted as records unless malformed (then rejected).

Events per post line

* ``chat_message`` for the post (target null in channels; one event per other member,
  ``conversation_member``, for direct posts);
* ``chat_reply`` per reply in ``replies`` (target = the post's author, ``thread_root_author``);
* ``mention`` per distinct ``@username`` of a known user (``@here``/``@channel``/``@all`` are not
  expanded), not to oneself;
* ``reaction`` per reaction (value = emoji, target = the author of the post or reply, time = the
  reaction's own ``create_at``);
* ``reference`` per repository/path/PR/change referred to in a message.

Identity: native id = **username** (the export has no user ids); e-mail and names from ``user``
lines. ``bot`` lines, ``props.from_bot`` and bot-like names flag bots. Posts whose ``type`` starts
with ``system_`` and webhook posts (``props.from_webhook``) are skipped with a reason.
Container: ``<team>/<channel>`` for channel posts, ``dm:<user>+<user>…`` for direct posts.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

from orgnet._text import clean
from orgnet.exceptions import InputError
from orgnet.identity import is_bot_handle
from orgnet.importers._archive import (
    ArchiveMemberError,
    SafeArchive,
    iter_bounded_lines,
    member_file,
    member_label,
)
from orgnet.importers._base import Identity, ImportBuilder, ImportResult, gc_paused
from orgnet.importers._io import MAX_LINE_BYTES, JsonRecordError, loads_strict, open_binary
from orgnet.importers._refs import Window, at_mentions, emit_references

__all__ = ["detect", "import_mattermost"]

SOURCE: Final = "mattermost"
_USERNAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_NAME: Final = re.compile(r"^[^\x00-\x1f]{1,200}$")
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_MS: Final = 7_258_118_400_000  # 2200-01-01
METADATA_TYPES: Final = frozenset(
    {"version", "scheme", "emoji", "team", "channel", "user", "bot", "direct_channel", "role",
     "info"}
)
_MAX_REPLIES: Final = 100_000


@dataclass
class _State:
    users: dict[str, str] = field(default_factory=dict)  # username -> identity id
    bots: set[str] = field(default_factory=set)
    seen_version: bool = False
    posts: int = 0


def detect(path: Path) -> bool:
    """True when the first line of a ``.jsonl``(``.gz``) file, or of the ``.jsonl`` member of a
    zip, is a Mattermost ``version`` line."""
    path = Path(path)
    try:
        if path.is_file() and zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.lower().endswith(".jsonl")]
                if not names:
                    return False
                with zf.open(sorted(names)[0]) as fh:
                    head = fh.read(4096)
        elif path.is_file():
            with open_binary(path) as fh:
                head = fh.read(4096)
        else:
            return False
    except (OSError, InputError, zipfile.BadZipFile, EOFError, ValueError):
        return False
    first = head.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    return b'"type"' in first and b'"version"' in first


@gc_paused()
def import_mattermost(
    path: str | Path,
    *,
    since: dt.datetime | dt.date | None = None,
    until: dt.datetime | dt.date | None = None,
) -> ImportResult:
    """Import a Mattermost bulk export.

    Parameters
    ----------
    path
        The JSONL file (``.jsonl`` or ``.jsonl.gz``) or the zip written by ``mmctl export create``
        (every ``.jsonl`` member is read, in name order; attachments are ignored).
    since, until
        Keep events with ``since <= time < until`` (UTC when naive); a post with none is skipped.

    Returns
    -------
    ImportResult
        ``chat_message``, ``chat_reply``, ``mention``, ``reaction`` and ``reference`` events and
        the ``mattermost`` identities (native id = username).

    Raises
    ------
    InputError
        When the file cannot be read, the zip holds no ``.jsonl`` file, or the zip is unsafe.
    """
    p = Path(path)
    window = Window(since, until)
    b = ImportBuilder(SOURCE, p)
    state = _State()
    with ExitStack() as stack:
        if p.is_file() and zipfile.is_zipfile(p):
            archive = stack.enter_context(SafeArchive(p))
            for problem in archive.problems:
                with member_file(b, member_label(p, problem.name, False)):
                    b.reject_unreadable(problem.reason, record=problem.name, field="member")
            members = [m for m in archive.members() if m.lower().endswith(".jsonl")]
            if not members:
                raise InputError("no .jsonl file in the zip; is this an mmctl export?", file=str(p))
            for member in members:
                with member_file(b, member_label(p, member, False)):
                    try:
                        with archive.open(member) as fh:
                            _import_lines(b, state, fh, window)
                    except ArchiveMemberError as exc:
                        b.reject_unreadable(f"member unreadable: {exc}", record=member)
        else:
            with open_binary(p) as fh:
                _import_lines(b, state, fh, window)
    if not state.seen_version:
        b.notes.append("no 'version' line: this may not be a Mattermost bulk export")
    return b.finish(options=window.options())


def _lines(fh: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    try:
        yield from enumerate(iter_bounded_lines(fh, MAX_LINE_BYTES), start=1)
    except (EOFError, OSError) as exc:
        raise InputError(f"truncated or corrupt compressed stream: {exc}") from exc


def _import_lines(b: ImportBuilder, state: _State, fh: IO[bytes], window: Window) -> None:
    lineno = 0
    try:
        for lineno, raw in _lines(fh):
            _import_line(b, state, lineno, raw, window)
    except InputError as exc:
        # A truncated gzip stream: keep what was read, record where it stopped.
        b.reject_unreadable(str(exc), line=lineno + 1)


def _import_line(
    b: ImportBuilder, state: _State, lineno: int, raw: bytes | None, window: Window
) -> None:
    if raw is None:
        b.reject_unreadable(f"line longer than {MAX_LINE_BYTES} bytes", line=lineno)
        return
    if not raw.strip():
        return
    try:
        obj = loads_strict(raw)
    except UnicodeDecodeError as exc:
        b.reject_unreadable(f"invalid UTF-8 at byte {exc.start}", line=lineno)
        return
    except JsonRecordError as exc:
        b.reject_unreadable(str(exc), line=lineno)
        return
    kind = obj.get("type") if isinstance(obj, dict) else None
    if not isinstance(kind, str):
        b.reject_unreadable('not a {"type": …} object', line=lineno, field="type")
        return
    if kind == "version":
        state.seen_version = True
        return
    if kind in ("post", "direct_post"):
        _import_post(b, state, lineno=lineno, kind=kind, post=obj.get(kind), window=window)
        return
    if kind not in METADATA_TYPES:
        b.reject_unreadable("unknown line type", line=lineno, field="type")
        return
    payload = obj.get(kind)
    if not isinstance(payload, dict):
        b.reject_unreadable(f"{kind} line without a {kind!r} object", line=lineno, field=kind)
        return
    if kind in ("user", "bot"):
        _import_user(b, state, lineno, kind, payload)


def _import_user(
    b: ImportBuilder, state: _State, lineno: int, kind: str, u: dict[str, Any]
) -> None:
    username = u.get("username")
    if not isinstance(username, str) or not _USERNAME.match(username):
        b.reject_unreadable(f"{kind} without a valid username", line=lineno, field="username")
        return
    username = username.lower()
    first, last = _text_field(u.get("first_name")), _text_field(u.get("last_name"))
    name = " ".join(x for x in (first, last) if x) or _text_field(u.get("nickname")) or (
        _text_field(u.get("display_name"))
    )
    email = _text_field(u.get("email"))
    bot = kind == "bot" or u.get("is_bot") is True or is_bot_handle(username, name, email)
    if bot:
        state.bots.add(username)
    ident = Identity(SOURCE, username, username=username, email=email, name=name, is_bot=bot)
    state.users[username] = b.identity(ident)


def _text_field(value: object) -> str | None:
    if isinstance(value, str) and _NAME.match(value):
        return clean(value)
    return None


def _identity(b: ImportBuilder, state: _State, username: str, bot: bool = False) -> str:
    iid = state.users.get(username)
    if iid is None or (bot and username not in state.bots):
        if bot:
            state.bots.add(username)
        iid = b.identity(
            Identity(SOURCE, username, username=username, is_bot=bot or is_bot_handle(username))
        )
        state.users[username] = iid
    return iid


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ms(value: object) -> dt.datetime | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < _MAX_MS:
        return None
    return _EPOCH + dt.timedelta(milliseconds=value)


def _username(value: object) -> str | None:
    if isinstance(value, str) and _USERNAME.match(value):
        return value.lower()
    return None


def _import_post(
    b: ImportBuilder,
    state: _State,
    *,
    lineno: int,
    kind: str,
    post: object,
    window: Window,
) -> None:
    if not isinstance(post, dict):
        b.reject_unreadable(f"{kind} line without a {kind!r} object", line=lineno, field=kind)
        return
    state.posts += 1
    when = _ms(post.get("create_at"))
    user = _username(post.get("user"))
    if kind == "post":
        team, channel = post.get("team"), post.get("channel")
        ok = isinstance(team, str) and isinstance(channel, str) and bool(team) and bool(channel)
        container = f"{clean(str(team))}/{clean(str(channel))}" if ok else None
        members: list[str] = []
    else:
        raw_members = post.get("channel_members")
        members = sorted({m for m in map(_username, raw_members or []) if m}) if isinstance(
            raw_members, list) else []
        container = "dm:" + "+".join(members) if members else None
    b.begin(line=lineno, record=f"{kind} {container} {post.get('create_at')!s:.20}")
    if container is None:
        field_name = "team/channel" if kind == "post" else "channel_members"
        b.reject(f"{kind} without a valid {field_name}", field=field_name)
        return
    if user is None:
        b.reject(f"{kind} without a valid user", field="user")
        return
    if when is None:
        b.reject("create_at is not epoch milliseconds", field="create_at")
        return
    ptype = post.get("type") or ""
    if not isinstance(ptype, str):
        b.reject("type is not a string", field="type")
        return
    props = _dict(post.get("props"))
    if ptype.startswith("system_"):
        b.skip("system post")
        return
    if ptype:
        b.skip("unknown post type")
        return
    if str(props.get("from_webhook", "")).lower() == "true":
        b.skip("webhook post")
        return
    bot = str(props.get("from_bot", "")).lower() == "true"
    actor = _identity(b, state, user, bot)
    raw_ref = ("post", f"{container}:{user}:{post['create_at']}")
    emitted = 0
    if when in window:
        targets = [
            _identity(b, state, m) for m in members if m != user
        ] if kind == "direct_post" else []
        if targets:
            for t in targets:
                b.event("chat_message", actor, ts=when, target_id=t,
                        target_role="conversation_member", container=container, raw_ref=raw_ref)
        else:
            b.event("chat_message", actor, ts=when, container=container, raw_ref=raw_ref)
        emitted += 1 + _message_extras(b, state, post.get("message"), actor=actor, user=user,
                                       when=when, container=container, raw_ref=raw_ref)
    emitted += _reactions(b, state, post.get("reactions"), author=actor, default_ts=when,
                          container=container, raw_ref=raw_ref, window=window,
                          field_name="reactions")
    replies = post.get("replies")
    if replies is not None and not isinstance(replies, list):
        b.reject("replies is not a list; ignored", field="replies", outcome="repaired")
        replies = []
    for i, reply in enumerate((replies or [])[:_MAX_REPLIES]):
        emitted += _import_reply(b, state, index=i, reply=reply, root_author=actor,
                                 container=container, root_ref=raw_ref, window=window)
    if not emitted:
        b.skip("outside --since/--until")


def _message_extras(
    b: ImportBuilder,
    state: _State,
    message: object,
    *,
    actor: str,
    user: str,
    when: dt.datetime,
    container: str,
    raw_ref: tuple[str, str],
) -> int:
    """Mentions and references in a message text; the text is then dropped."""
    if not isinstance(message, str):
        return 0
    n = 0
    for name in at_mentions(message):
        if name == user or name not in state.users:
            continue
        b.event("mention", actor, ts=when, target_id=state.users[name], target_role="mentioned",
                container=container, raw_ref=raw_ref)
        n += 1
    n += emit_references(b, message, actor, ts=when, container=container, raw_ref=raw_ref)
    return n


def _reactions(
    b: ImportBuilder,
    state: _State,
    reactions: object,
    *,
    author: str,
    default_ts: dt.datetime,
    container: str,
    raw_ref: tuple[str, str],
    window: Window,
    field_name: str,
) -> int:
    if reactions is None:
        return 0
    if not isinstance(reactions, list):
        b.reject("reactions is not a list; ignored", field=field_name, outcome="repaired")
        return 0
    n = bad = 0
    for r in reactions:
        if not isinstance(r, dict):
            bad += 1
            continue
        user = _username(r.get("user"))
        emoji = clean(r["emoji_name"]) if isinstance(r.get("emoji_name"), str) else None
        if user is None or emoji is None:
            bad += 1
            continue
        when = _ms(r.get("create_at")) or default_ts
        if when not in window:
            continue
        b.event("reaction", _identity(b, state, user), ts=when, target_id=author,
                target_role="message_author", container=container, value=emoji[:100],
                raw_ref=raw_ref)
        n += 1
    if bad:
        b.reject(f"{bad} malformed reaction(s) ignored", field=field_name, outcome="repaired")
    return n


def _import_reply(
    b: ImportBuilder,
    state: _State,
    *,
    index: int,
    reply: object,
    root_author: str,
    container: str,
    root_ref: tuple[str, str],
    window: Window,
) -> int:
    where = f"replies[{index}]"
    if not isinstance(reply, dict):
        b.reject("reply is not an object; ignored", field=where, outcome="repaired")
        return 0
    user = _username(reply.get("user"))
    when = _ms(reply.get("create_at"))
    if user is None or when is None:
        what = "user" if user is None else "create_at"
        b.reject(f"reply without a valid {what}; ignored", field=f"{where}.{what}",
                 outcome="repaired")
        return 0
    rtype = reply.get("type") or ""
    if not isinstance(rtype, str) or rtype:
        return 0  # system or plugin replies are not conversation
    props = _dict(reply.get("props"))
    actor = _identity(b, state, user, str(props.get("from_bot", "")).lower() == "true")
    raw_ref = ("reply", f"{root_ref[1]}:{user}:{reply['create_at']}")
    n = 0
    if when in window:
        b.event("chat_reply", actor, ts=when, target_id=root_author,
                target_role="thread_root_author", container=container, raw_ref=raw_ref)
        n = 1 + _message_extras(b, state, reply.get("message"), actor=actor, user=user,
                                when=when, container=container, raw_ref=raw_ref)
    n += _reactions(b, state, reply.get("reactions"), author=actor, default_ts=when,
                    container=container, raw_ref=raw_ref, window=window,
                    field_name=f"{where}.reactions")
    return n
