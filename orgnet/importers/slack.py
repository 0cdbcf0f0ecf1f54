"""Slack workspace export (zip or unpacked directory) -> chat events (FORMATS §7).

Layout: ``users.json`` (or ``org_users.json``), ``channels.json``, and for full exports
``groups.json``, ``dms.json``, ``mpims.json``; messages in ``<folder>/YYYY-MM-DD.json`` day files
(folder = channel or MPIM name, DM id). Every message in a day file is one record.

Events per message

* root (no ``thread_ts`` or ``thread_ts == ts``): ``chat_message``; target null in channels, one
  event per other member (``conversation_member``) in DMs and MPIMs;
* reply (``thread_ts != ts``, including ``thread_broadcast``, counted once): ``chat_reply`` to the
  thread root's author (``thread_root_author``), found by ``thread_ts``, else ``parent_user_id``;
* ``mention`` per distinct ``<@U…>`` user (``blocks`` preferred, else ``text``), not to oneself;
  ``<!here>``/``<!channel>``/user groups are not expanded;
* ``reaction`` per reacting user, value = emoji, target = message author, time = the message's
  ``ts`` (Slack exports have no reaction times: a lower bound);
* ``reference`` per repository/path/PR/change referred to in the text.

Join/leave/topic/purpose/rename/archive/pin notices and tombstones are skipped with a reason;
unknown subtypes are skipped and counted. Bots (``bot_id``, ``bot_message``, ``is_bot``,
``USLACKBOT``) are flagged, not dropped. Time always comes from ``ts``, never from the day file
name.
Text is read for mentions and references only, then dropped.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import itertools
import pickle
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from orgnet._text import clean
from orgnet.exceptions import InputError
from orgnet.identity import is_bot_handle
from orgnet.importers._archive import (
    ArchiveListing,
    ArchiveMemberError,
    SafeArchive,
    member_file,
    member_label,
)
from orgnet.importers._base import (
    Identity,
    ImportBuilder,
    ImportResult,
    duckdb_connect,
    event_ids,
    gc_paused,
    identity_id_for,
)
from orgnet.importers._io import JsonRecordError, loads_strict
from orgnet.importers._refs import Window, emit_references, extract_references, slack_mentions

if TYPE_CHECKING:  # imported when the columnar path runs (it brings DuckDB)
    from orgnet.importers import _slack_fast

__all__ = ["detect", "import_slack"]

SOURCE: Final = "slack"
_DAY_FILE: Final = re.compile(r"^([^/]+)/(\d{4}-\d{2}-\d{2})\.json$")
_TS: Final = re.compile(r"^[0-9]{1,12}(?:\.[0-9]{1,9})?$")
_ID: Final = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,40}$")
_MAX_BLOCK_DEPTH: Final = 30
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_YEAR: Final = 2200

#: Subtypes that are ordinary messages from a person or bot.
MESSAGE_SUBTYPES: Final = frozenset(
    {"", "file_share", "thread_broadcast", "me_message", "bot_message", "file_comment",
     "reply_broadcast", "file_mention"}
)
#: Subtypes that are notices, not interactions: skipped with the reason ``subtype <name>``.
NOTICE_SUBTYPES: Final = frozenset(
    {"channel_join", "channel_leave", "group_join", "group_leave", "channel_topic",
     "channel_purpose", "channel_name", "channel_archive", "channel_unarchive", "group_topic",
     "group_purpose", "group_name", "group_archive", "group_unarchive",
     "channel_convert_to_private", "channel_convert_to_public", "channel_posting_permissions",
     "pinned_item", "unpinned_item", "reminder_add", "reminder_delete", "tombstone", "bot_add",
     "bot_remove", "bot_enable", "bot_disable", "huddle_thread", "sh_room_created",
     "joiner_notification", "app_conversation_join", "message_changed", "message_deleted",
     "message_replied", "ekm_access_denied", "slackbot_response", "channel_canvas_updated"}
)
_Label = Callable[[str], str]
_META_FILES: Final = (
    ("channels.json", "channel"),
    ("groups.json", "private"),
    ("mpims.json", "mpim"),
    ("dms.json", "dm"),
)


@dataclass
class _Conversation:
    channel_id: str
    container: str
    kind: str
    members: tuple[str, ...] = ()


@dataclass
class _User:
    identity: Identity
    bot: bool
    iid: str = ""

    def __post_init__(self) -> None:
        self.iid = self.identity.identity_id  # a SHA-1: computed once, looked up per event


@dataclass
class _State:
    users: dict[str, _User] = field(default_factory=dict)
    roots: dict[tuple[str, str], str] = field(default_factory=dict)
    unknown_subtypes: Counter[str] = field(default_factory=Counter)


def detect(path: Path) -> bool:
    """True when ``path`` looks like a Slack export (``users.json`` and ``channels.json`` on top).

    Reads only the zip directory (or the directory listing).
    """
    path = Path(path)
    try:
        if path.is_dir():
            return (path / "channels.json").is_file() and (
                (path / "users.json").is_file() or (path / "org_users.json").is_file()
            )
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (OSError, zipfile.BadZipFile, ValueError):
        return False
    return "channels.json" in names and ("users.json" in names or "org_users.json" in names)


def _ts(value: object) -> tuple[str, dt.datetime] | None:
    if not isinstance(value, str) or not _TS.match(value):
        return None
    whole, _, frac = value.partition(".")
    try:
        when = _EPOCH + dt.timedelta(seconds=int(whole), microseconds=int((frac + "000000")[:6]))
    except (OverflowError, ValueError):
        return None
    if when.year > _MAX_YEAR:
        return None
    return value, when


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object, limit: int = 200) -> str | None:
    text = clean(value) if isinstance(value, str) else None
    return text[:limit] if text else None


def _is_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


@gc_paused()
def import_slack(
    path: str | Path,
    *,
    since: dt.datetime | dt.date | None = None,
    until: dt.datetime | dt.date | None = None,
    shard: tuple[int, int] | None = None,
    listing: ArchiveListing | None = None,
) -> ImportResult:
    """Import a Slack workspace export.

    Parameters
    ----------
    path
        The export ``.zip`` as downloaded from Slack, or the directory it unpacks to.
    since, until
        Keep messages with ``since <= ts < until`` (UTC when naive); others are skipped.
    shard
        ``(i, n)``: read only the ``i``-th of ``n`` consecutive ranges of conversation folders
        (ranges of about equal size); shard 0 also reads the metadata files' records. The
        results of shards ``0..n-1`` combined with
        :func:`~orgnet.importers._base.merge_results` equal the result of one import, so
        shards can run in separate processes.
    listing
        The zip's validated directory from :meth:`SafeArchive.listing` in another process
        (the parallel import reads it once for all shards); ignored unless it describes this
        very file under the same limits, and, for a listing planned for one shard
        (:func:`shard_listings`), unless ``shard`` is that shard.

    Returns
    -------
    ImportResult
        ``chat_message``, ``chat_reply``, ``mention``, ``reaction`` and ``reference`` events
        and the ``slack`` identities (native id = user id).

    Raises
    ------
    InputError
        When the path is not a readable export (no ``users.json``/``channels.json``, unreadable
        metadata) or the archive is unsafe (path traversal, zip bomb, overlapping entries).
    """
    p = Path(path)
    window = Window(since, until)
    index, n_shards = shard or (0, 1)
    if not 0 <= index < n_shards:
        raise ValueError(f"shard {index} of {n_shards} does not exist")
    b = ImportBuilder(SOURCE, p)
    # Shards after the first read the metadata for lookups only; its records are shard 0's.
    meta = b if index == 0 else ImportBuilder(SOURCE, p)
    state = _State()
    with SafeArchive(p, listing=listing, shard=(index, n_shards)) as archive:

        def label(member: str) -> str:
            return member_label(p, member, archive.is_dir)

        for problem in archive.problems:
            if index:
                break
            with member_file(b, label(problem.name)):
                b.reject_unreadable(problem.reason, record=problem.name, field="member")
        users_name = "users.json" if "users.json" in archive else "org_users.json"
        if users_name not in archive or "channels.json" not in archive:
            raise InputError(
                "not a Slack export: users.json and channels.json must be at the top level "
                "(export from Slack: Workspace settings > Import/Export Data > Export)",
                file=str(p),
            )
        planned = listing.folders if listing is not None and listing.folders is not None and (
            archive.listed_from(listing)) else None
        lookups = (_unpack_lookups(listing.lookups) if index and planned is not None
                   and listing is not None else None)
        if lookups is not None:  # users and conversations as the plan read them
            state.users, folders = lookups
        else:
            _load_users(archive, meta, state, users_name, label)
            folders = _load_conversations(archive, meta, label)
        days, ignored = _day_files(archive)
        if planned is not None and listing is not None and listing.outside is not None:
            ignored = listing.outside  # this shard's table holds only its own members
        if ignored and index == 0:
            b.notes.append(f"{ignored} archive member(s) outside the export layout ignored")
        jobs: list[tuple[_Conversation, str]] = []
        for folder in (_shard_folders(archive, days, index, n_shards) if planned is None
                       else planned):
            conv = folders.get(folder) or _Conversation(folder, folder, "unknown")
            if folder not in folders:
                b.notes.append(f"folder {folder!r} has no entry in the metadata files")
            jobs.extend((conv, member) for member in sorted(days[folder]))
        if _FAST:
            _import_days_columnar(archive, b, state, jobs, window, label)
        else:
            for conv, member in jobs:
                with member_file(b, label(member)):
                    _import_day(archive, b, state, conv=conv, member=member, window=window)
    if state.unknown_subtypes:
        shown = ", ".join(f"{k} x{v}" for k, v in sorted(state.unknown_subtypes.items())[:20])
        b.notes.append(f"unknown message subtypes skipped: {shown}")
    return b.finish(options=window.options())


def _day_files(archive: SafeArchive) -> tuple[dict[str, list[str]], int]:
    """Day files by conversation folder, and the number of members outside the export layout."""
    days: dict[str, list[str]] = {}
    ignored = 0
    for name in archive.members():
        m = _DAY_FILE.match(name)
        if m and not name.startswith("__MACOSX/"):
            days.setdefault(m.group(1), []).append(name)
        elif "/" in name:
            ignored += 1
    return days, ignored


def shard_listings(path: str | Path, listing: ArchiveListing,
                   n_shards: int) -> list[ArchiveListing]:
    """One listing per shard of a zip export: each shard gets only its conversation folders'
    members and the top-level files, with its folders planned.

    Given to ``import_slack(path, shard=(i, n_shards), listing=...)``, each spares the shard the
    work over every member of the export (grouping day files, claimed sizes of all folders,
    its index of members): about 2 s per shard for a 677,000-member export, and growing with
    it. The shards read exactly what they would with the whole listing. The first also reports
    the archive's problems (kept in every listing) and the number of members outside the
    layout, counted here over all members.

    The plan is made column-wise on the listing's table when every member name is printable
    ASCII (where polars' regex engine and ``re`` read ``_DAY_FILE`` alike), else member by
    member as a shard would make it.
    """
    with SafeArchive(path, listing=listing) as archive:
        if not archive.listed_from(listing):
            return [listing] * n_shards
        lookups = _pack_lookups(archive, Path(path))
        keys = listing.table.get_column("key")
        plan = _plan_columnar(listing.table, n_shards)
        if plan is None:
            days, ignored = _day_files(archive)
            folders = sorted(days)
            shard_of = _shard_indexes(_folder_sizes(archive, days), n_shards)
            where = {m: k for f, k in zip(folders, shard_of, strict=True) for m in days[f]}
            plan = (folders, shard_of,
                    pl.Series([where.get(m) for m in keys.to_list()], dtype=pl.Int64), ignored)
    folders, shard_of, row_shard, outside = plan
    top = ~keys.str.contains("/", literal=True)
    out = []
    for index in range(n_shards):
        table = listing.table.filter(top | (row_shard == index).fill_null(False))
        mine = tuple(f for f, k in zip(folders, shard_of, strict=True) if k == index)
        out.append(dataclasses.replace(listing, table=table, folders=mine, outside=outside,
                                       shard=(index, n_shards),
                                       lookups=lookups if index else None))  # 0 reads its own
    return out


def _pack_lookups(archive: SafeArchive, path: Path) -> bytes | None:
    """The users and conversations the shards after the first read for lookups, pickled once
    (``None`` when the metadata files cannot be read: each shard then reads them and reports
    what is wrong, as without a plan).

    10,000 users and their conversations cost each shard about 0.5 s to parse and check, and
    100,000 ten times that, in every shard.
    """
    users_name = "users.json" if "users.json" in archive else "org_users.json"
    if users_name not in archive or "channels.json" not in archive:
        return None
    scratch = ImportBuilder(SOURCE, path)  # their records are the first shard's

    def label(member: str) -> str:
        return member_label(path, member, archive.is_dir)

    state = _State()
    try:
        _load_users(archive, scratch, state, users_name, label)
        folders = _load_conversations(archive, scratch, label)
    except (InputError, ArchiveMemberError):
        return None
    return pickle.dumps((state.users, folders), protocol=pickle.HIGHEST_PROTOCOL)


def _unpack_lookups(blob: bytes | None) -> tuple[dict[str, _User], dict[str, _Conversation]] | None:
    """:func:`_pack_lookups`' users and conversations (``None``: none were packed)."""
    if blob is None:
        return None
    users, folders = pickle.loads(blob)  # made by the shard plan of this import
    return users, folders


def _plan_columnar(
    table: pl.DataFrame, n_shards: int
) -> tuple[list[str], list[int], pl.Series, int] | None:
    """The shard plan from the listing's table: sorted folders, the shard of each (as
    :func:`_day_files`, :func:`_folder_sizes` and :func:`_shard_indexes` give them), the
    shard of each row's member (null: not a day file) and the number of members outside the
    layout; ``None`` when a member name is not all printable ASCII."""
    keys = table.get_column("key")
    if keys.str.contains(r"[^\x20-\x7e]").any():
        return None
    day = table.select(
        pl.when(~pl.col("key").str.starts_with("__MACOSX/"))
        .then(pl.col("key").str.extract(_DAY_FILE.pattern, 1)).alias("folder"),
        pl.col("file_size"),
    )
    sizes = (day.drop_nulls("folder").group_by("folder")
             # Int128: claimed sizes are untrusted (zip64 allows 2**63 - 1 each), an Int64
             # sum could wrap; Python's sum in _folder_sizes is exact
             .agg((pl.col("file_size").cast(pl.Int128).sum() + 1).alias("size")).sort("folder"))
    folders: list[str] = sizes.get_column("folder").to_list()
    shard_of = _shard_indexes(sizes.get_column("size").to_list(), n_shards)
    assigned = pl.DataFrame({"folder": folders, "shard": shard_of},
                            schema={"folder": pl.String, "shard": pl.Int64})
    row_shard = day.select("folder").join(assigned, on="folder", how="left",
                                          maintain_order="left").get_column("shard")
    outside = int((keys.str.contains("/", literal=True) & day.get_column("folder").is_null())
                  .sum())
    return folders, shard_of, row_shard, outside


def _shard_indexes(sizes: list[int], n_shards: int) -> list[int]:
    """The shard of each folder (sorted) by claimed size: the one its midpoint falls in.

    In integers: with claimed sizes past 2**53 (untrusted, from the zip) floats could put a
    midpoint at ``total`` and a folder in shard ``n_shards``, which no shard reads.
    """
    total = sum(sizes)
    out, acc = [], 0
    for size in sizes:
        out.append((2 * acc + size) * n_shards // (2 * total))
        acc += size
    return out


def _shard_folders(
    archive: SafeArchive, days: dict[str, list[str]], index: int, n_shards: int
) -> list[str]:
    """The ``index``-th of ``n_shards`` consecutive ranges of sorted folders, by claimed size."""
    folders = sorted(days)
    if n_shards == 1:
        return folders
    sizes = _folder_sizes(archive, days)
    # A folder goes to the shard its midpoint falls in: every folder in exactly one shard.
    return [f for f, k in zip(folders, _shard_indexes(sizes, n_shards), strict=True)
            if k == index]


def _folder_sizes(archive: SafeArchive, days: dict[str, list[str]]) -> list[int]:
    """Claimed bytes (+1) of each folder's day files, folders sorted."""
    folders = sorted(days)
    claimed = iter(archive.sizes([m for f in folders for m in days[f]]))
    return [sum(itertools.islice(claimed, len(days[f]))) + 1 for f in folders]


def _read_json(archive: SafeArchive, name: str, data: bytes | None = None) -> Any:
    """Parse a member (or its bytes, read already); raises JsonRecordError/ArchiveMemberError."""
    if data is None:
        data = archive.read(name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonRecordError(f"invalid UTF-8 at byte {exc.start}") from exc
    return loads_strict(text)


def _load_meta(archive: SafeArchive, name: str, label: _Label) -> list[Any]:
    try:
        data = _read_json(archive, name)
    except (JsonRecordError, ArchiveMemberError) as exc:
        raise InputError(f"unreadable metadata file: {exc}", file=label(name)) from exc
    if not isinstance(data, list):
        raise InputError("expected a JSON array", file=label(name))
    return data


def _user_identity(uid: str, u: dict[str, Any]) -> _User:
    profile = _dict(u.get("profile"))
    username = _str(u.get("name"))
    name = _str(u.get("real_name")) or _str(profile.get("real_name")) or _str(
        profile.get("display_name")
    )
    email = _str(profile.get("email"), 320)
    bot = (
        u.get("is_bot") is True
        or u.get("is_app_user") is True
        or uid == "USLACKBOT"
        or is_bot_handle(username, name, email)
    )
    return _User(Identity(SOURCE, uid, username=username, email=email, name=name, is_bot=bot), bot)


def _load_users(
    archive: SafeArchive, b: ImportBuilder, state: _State, name: str, label: _Label
) -> None:
    users = _load_meta(archive, name, label)
    with member_file(b, label(name)):
        for i, u in enumerate(users, start=1):
            if not isinstance(u, dict) or not _is_id(u.get("id")):
                b.reject_unreadable(
                    "user entry without a valid id" if isinstance(u, dict)
                    else "user entry is not a JSON object",
                    line=i, record=f"{name}[{i}]", field="id",
                )
                continue
            uid = u["id"]
            user = _user_identity(uid, u)
            state.users[uid] = user
            b.identity(user.identity)


def _load_conversations(
    archive: SafeArchive, b: ImportBuilder, label: _Label
) -> dict[str, _Conversation]:
    folders: dict[str, _Conversation] = {}
    for name, kind in _META_FILES:
        if name not in archive:
            continue
        if name == "channels.json":
            entries = _load_meta(archive, name, label)
        else:
            try:
                entries = _load_meta(archive, name, label)
            except InputError as exc:
                with member_file(b, label(name)):
                    b.reject_unreadable(str(exc).split(": ", 1)[-1], record=name)
                continue
        with member_file(b, label(name)):
            for i, c in enumerate(entries, start=1):
                if not isinstance(c, dict) or not _is_id(c.get("id")):
                    b.reject_unreadable("conversation entry without a valid id", line=i,
                                        record=f"{name}[{i}]", field="id")
                    continue
                cid = c["id"]
                cname = c.get("name") if isinstance(c.get("name"), str) else None
                raw_members = c.get("members")
                members = tuple(
                    x for x in (raw_members if isinstance(raw_members, list) else []) if _is_id(x)
                )
                container = clean(cname) or cid
                conv = _Conversation(cid, container, kind, members)
                if cname:
                    folders.setdefault(cname, conv)
                folders.setdefault(cid, conv)
    return folders


def _block_mentions(blocks: object, depth: int = 0) -> Iterator[str]:
    """User ids of ``{"type": "user", "user_id": …}`` elements anywhere in rich-text blocks."""
    if depth > _MAX_BLOCK_DEPTH:
        return
    if isinstance(blocks, list):
        for item in blocks:
            yield from _block_mentions(item, depth + 1)
    elif isinstance(blocks, dict):
        if blocks.get("type") == "user" and _is_id(blocks.get("user_id")):
            yield blocks["user_id"]
        for key in ("elements", "blocks"):
            if key in blocks:
                yield from _block_mentions(blocks[key], depth + 1)


def _import_days_columnar(
    archive: SafeArchive,
    b: ImportBuilder,
    state: _State,
    jobs: list[tuple[_Conversation, str]],
    window: Window,
    label: _Label,
) -> None:
    """Import day files in batches: plain files column-wise, the others one message at a time.

    Same records, rows and order as :func:`_import_day` on every file (see
    :mod:`orgnet.importers._slack_fast`).
    """
    from orgnet.importers import _slack_fast as fast

    con = duckdb_connect()
    users = {uid: u.iid for uid, u in state.users.items()}
    bot_users = {uid for uid, u in state.users.items() if u.bot}
    targets: dict[str, tuple[str, ...] | None] = {}

    def conv_targets(conv: _Conversation) -> tuple[str, ...] | None:
        if conv.kind not in ("dm", "mpim"):
            return ()
        if conv.channel_id not in targets:
            known = all(m in users for m in conv.members)
            targets[conv.channel_id] = (
                tuple(dict.fromkeys(users[m] for m in conv.members)) if known else None
            )
        return targets[conv.channel_id]

    # A batch: the next files up to and including the one whose claimed size reaches
    # BATCH_BYTES (prefix sums of the claimed sizes: cum[j] - cum[i] is jobs[i:j]'s).
    cum = [0, *itertools.accumulate(archive.sizes([member for _conv, member in jobs]))]
    i = 0
    while i < len(jobs):
        end = min(bisect.bisect_left(cum, cum[i] + fast.BATCH_BYTES, lo=i + 1), len(jobs))
        batch = jobs[i:end]
        i = end
        raws = archive.read_many([member for _conv, member in batch])
        days = [fast.Day(conv, member, raw)
                for (conv, member), raw in zip(batch, raws, strict=True)]
        files = fast.parse_days(con, days)
        plain = fast.plain_messages(
            files, days, con=con, users=users, bot_users=bot_users,
            bot_identity=lambda x: identity_id_for(SOURCE, x), plain_subtypes=_PLAIN_SUBTYPES,
            notice_subtypes=NOTICE_SUBTYPES, conv_targets=conv_targets,
            mentions=_fast_mentions, references=_fast_references, clean_emoji=clean,
        )
        plain_files = plain.plain_files
        runs = sum(1 for k in plain_files if k - 1 not in plain_files)
        if runs > _MAX_RUNS:  # plain files scattered among others: one path for the batch
            plain_files = set()
        run: list[int] = []
        for k, day in enumerate(days):
            if k in plain_files:
                run.append(k)
                continue
            _emit_run(b, state, plain, days, run, window, con)
            run = []
            with member_file(b, label(day.member)):
                _import_day(archive, b, state, conv=day.conv, member=day.member, window=window,
                            raw=day.raw)
        _emit_run(b, state, plain, days, run, window, con)
    con.close()


def _emit_run(
    b: ImportBuilder,
    state: _State,
    plain: _slack_fast.Plain,
    days: list[_slack_fast.Day],
    run: list[int],
    window: Window,
    con: Any,
) -> None:
    """Records, identities, events and thread roots of consecutive plain day files."""
    if not run:
        return
    from orgnet.importers import _slack_fast as fast

    in_run = pl.col("f").is_between(run[0], run[-1])
    msgs = plain.messages.filter(in_run)
    first = b.n_records
    statuses, skipped, events, new_roots = fast.run_events(
        msgs, plain.mentions.filter(in_run), plain.references.filter(in_run),
        plain.reactions.filter(in_run), first_rec=first,
        containers={k: (days[k].conv.channel_id, days[k].conv.container) for k in run},
        roots=state.roots, since=window.since, until=window.until,
        hash_keys=lambda keys: event_ids(keys, con),
    )
    if b.begin_many(statuses, skipped) != first:
        raise RuntimeError("record numbering out of step")
    # The identities the reference path registers per message, in message order (a repeat of
    # the one just registered changes nothing and is left out).
    cols = ("id_native", "id_uname", "id_pname")
    ids = msgs.filter(~pl.col("notice") & pl.col("id_native").is_not_null()).select(cols)
    ids = ids.filter((pl.int_range(pl.len()) == 0)
                     | pl.any_horizontal(pl.col(c).ne_missing(pl.col(c).shift()) for c in cols))
    for native, uname, pname in ids.iter_rows():
        b.identity(Identity(SOURCE, native, username=_str(uname) or _str(pname), is_bot=True))
    b.add_frame("interactions", events)
    state.roots.update(new_roots)


_PLAIN_SUBTYPES: Final = MESSAGE_SUBTYPES - {"file_comment"}
#: More runs of plain files than this in one batch and the batch takes the reference path
#: (each run costs a few milliseconds of frame work).
_MAX_RUNS: Final = 32
#: Plain day files are read column-wise (tests switch it off to compare with the reference).
_FAST = True


def _fast_mentions(blocks: str | None, text: str | None) -> list[str] | None:
    """Mentioned user ids as :func:`_import_message` finds them; ``None``: unreadable blocks."""
    parsed = None
    if blocks is not None:
        try:
            parsed = loads_strict(blocks)
        except JsonRecordError:
            return None
    mentioned = list(dict.fromkeys(_block_mentions(parsed))) if parsed else []
    return mentioned or slack_mentions(text)


def _fast_references(text: str) -> list[tuple[str | None, str]]:
    return [(r.artifact_id, r.value) for r in extract_references(text)]


def _import_day(
    archive: SafeArchive,
    b: ImportBuilder,
    state: _State,
    *,
    conv: _Conversation,
    member: str,
    window: Window,
    raw: bytes | Exception | None = None,
) -> None:
    try:
        if isinstance(raw, Exception):
            raise raw
        data = _read_json(archive, member, raw)
    except (JsonRecordError, ArchiveMemberError) as exc:
        b.reject_unreadable(f"unreadable day file: {exc}", record=member)
        return
    if not isinstance(data, list):
        b.reject_unreadable(
            f"day file is not a JSON array (got {type(data).__name__})", record=member
        )
        return
    # Day files are normally in ts order; sort anyway (stable) so thread roots come before
    # replies. Each ts is parsed once; the sort is skipped when the file is already in order.
    indexed = []
    for line, msg in enumerate(data, start=1):
        parsed = _ts(msg.get("ts")) if isinstance(msg, dict) else None
        indexed.append((_sort_key(parsed), line, msg, parsed))
    if any(indexed[i][0] > indexed[i + 1][0] for i in range(len(indexed) - 1)):
        indexed.sort(key=lambda x: x[0])
    for _key, line, msg, parsed in indexed:
        _import_message(b, state, conv=conv, member=member, line=line, msg=msg, window=window,
                        parsed=parsed)


def _sort_key(parsed: tuple[str, dt.datetime] | None) -> tuple[int, int]:
    """Exact numeric order of ``ts`` strings (seconds, then the fraction's digits padded to 9)."""
    if parsed is None:
        return (-1, 0)
    whole, _, frac = parsed[0].partition(".")
    return (int(whole), int((frac + "000000000")[:9]))


def _actor(b: ImportBuilder, state: _State, msg: dict[str, Any], bot_hint: bool) -> str | None:
    uid = msg.get("user")
    if uid is None and isinstance(msg.get("comment"), dict):
        uid = msg["comment"].get("user")  # legacy file_comment
    if uid is not None:
        if not _is_id(uid):
            return None
        return _identity_for(b, state, uid, bot_hint, msg.get("user_profile"))
    bot_id = msg.get("bot_id")
    if isinstance(bot_id, str) and _is_id(bot_id):
        profile = _dict(msg.get("bot_profile"))
        username = _str(msg.get("username")) or _str(profile.get("name"))
        return b.identity(Identity(SOURCE, bot_id, username=username, is_bot=True))
    return None


def _identity_for(
    b: ImportBuilder, state: _State, uid: str, bot_hint: bool = False, profile: object = None
) -> str:
    user = state.users.get(uid)
    if user is not None:
        if bot_hint and not user.bot:
            return b.identity(Identity(SOURCE, uid, is_bot=True))
        return user.iid
    # Deleted or external (Slack Connect) user: a placeholder, named from the inline profile.
    name = username = None
    if isinstance(profile, dict):
        name = _str(profile.get("real_name")) or _str(profile.get("display_name"))
        username = _str(profile.get("name"))
    bot = bot_hint or uid == "USLACKBOT" or uid.startswith("B") or is_bot_handle(username, name)
    return b.identity(Identity(SOURCE, uid, username=username, name=name, is_bot=bot))


def _import_message(
    b: ImportBuilder,
    state: _State,
    *,
    conv: _Conversation,
    member: str,
    line: int,
    msg: object,
    window: Window,
    parsed: tuple[str, dt.datetime] | None,
) -> None:
    if not isinstance(msg, dict):
        b.reject_unreadable("message is not a JSON object", line=line, record=f"{member}[{line}]")
        return
    record = f"{conv.container} {parsed[0]}" if parsed else f"{member}[{line}]"
    b.begin(line=line, record=record)
    if parsed is None:
        b.reject("missing or invalid ts (expected epoch seconds as a string)", field="ts",
                 raw=f"keys: {','.join(sorted(map(str, msg))[:12])}")
        return
    ts_str, when = parsed
    subtype = msg.get("subtype")
    if subtype is not None and not isinstance(subtype, str):
        b.reject("subtype is not a string", field="subtype", raw=record)
        return
    subtype = subtype or ""
    if subtype in NOTICE_SUBTYPES:
        b.skip(f"subtype {subtype}")
        return
    if subtype not in MESSAGE_SUBTYPES:
        state.unknown_subtypes[(clean(subtype) or "?")[:40]] += 1
        b.skip("unknown subtype")
        return
    thread_ts = msg.get("thread_ts")
    if thread_ts is not None and thread_ts != ts_str and _ts(thread_ts) is None:
        b.reject("invalid thread_ts", field="thread_ts", raw=record)
        return
    bot_hint = subtype == "bot_message" or msg.get("bot_id") is not None
    actor = _actor(b, state, msg, bot_hint)
    if actor is None:
        b.reject("no valid sender (user or bot_id)", field="user", raw=record)
        return
    is_reply = thread_ts is not None and thread_ts != ts_str
    if not is_reply:
        state.roots[(conv.channel_id, ts_str)] = actor
    if when not in window:
        b.skip("outside --since/--until")
        return
    text = msg.get("text")
    if text is not None and not isinstance(text, str):
        b.reject("text is not a string; ignored", field="text", raw=record, outcome="repaired")
        text = None
    raw_ref = ("message", f"{conv.channel_id}:{ts_str}")
    container = conv.container
    if is_reply:
        target = state.roots.get((conv.channel_id, thread_ts))  # type: ignore[arg-type]
        parent = msg.get("parent_user_id")
        if target is None and isinstance(parent, str) and _is_id(parent):
            target = _identity_for(b, state, parent)
        b.event("chat_reply", actor, ts=when, target_id=target,
                target_role="thread_root_author" if target else None, container=container,
                raw_ref=raw_ref)
    else:
        targets: list[str] = []
        if conv.kind in ("dm", "mpim"):  # channel members are not addressees of every message
            targets = [t for t in dict.fromkeys(_identity_for(b, state, m) for m in conv.members)
                       if t != actor]
        if targets:
            for target in targets:
                b.event("chat_message", actor, ts=when, target_id=target,
                        target_role="conversation_member", container=container, raw_ref=raw_ref)
        else:
            b.event("chat_message", actor, ts=when, container=container, raw_ref=raw_ref)
    blocks = msg.get("blocks")
    mentioned = list(dict.fromkeys(_block_mentions(blocks))) if blocks else []
    if not mentioned:
        mentioned = slack_mentions(text)
    for uid in mentioned:
        target = _identity_for(b, state, uid)
        if target != actor:
            b.event("mention", actor, ts=when, target_id=target, target_role="mentioned",
                    container=container, raw_ref=raw_ref)
    _reactions(b, state, msg.get("reactions"), author=actor, when=when, container=container,
               raw_ref=raw_ref, record=record)
    emit_references(b, text, actor, ts=when, container=container, raw_ref=raw_ref)


def _reactions(
    b: ImportBuilder,
    state: _State,
    reactions: object,
    *,
    author: str,
    when: dt.datetime,
    container: str,
    raw_ref: tuple[str, str],
    record: str,
) -> None:
    if reactions is None:
        return
    if not isinstance(reactions, list):
        b.reject("reactions is not a list; ignored", field="reactions", raw=record,
                 outcome="repaired")
        return
    bad = 0
    for r in reactions:
        if not isinstance(r, dict) or not isinstance(r.get("name"), str) or not isinstance(
            r.get("users", []), list
        ):
            bad += 1
            continue
        emoji = clean(r["name"])
        if emoji is None:
            bad += 1
            continue
        for uid in dict.fromkeys(u for u in r.get("users", []) if _is_id(u)):
            reactor = _identity_for(b, state, uid)
            b.event("reaction", reactor, ts=when, target_id=author, target_role="message_author",
                    container=container, value=emoji[:100], raw_ref=raw_ref)
    if bad:
        b.reject(f"{bad} malformed reaction(s) ignored", field="reactions", raw=record,
                 outcome="repaired")
