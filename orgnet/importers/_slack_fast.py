"""Columnar reading of plain Slack day files: DuckDB parses, polars applies the message rules.

The reference path of :mod:`orgnet.importers.slack` parses each day file into Python objects
and handles one message at a time (about 25 µs per message). Most day files of a large export
are *plain*: every message is an ordinary message from a user listed in ``users.json``, with
well-typed fields. For those this module does the same work column-wise:

1. :func:`parse_days` parses a batch of day files in one DuckDB ``read_json`` call. Each file is
   wrapped as ``{"f": i, "k": nonce, "m": [<file bytes>]}``; a file is taken only when its
   record comes back in sequence with the random nonce and exactly one value in ``m``, so a
   file that is not a single JSON value cannot pose as (part of) another. Files with what
   DuckDB's parser is laxer about than the reference parser (trailing commas, NaN/Infinity), a
   byte-order mark or no top-level array are left to the reference path before parsing. A batch
   DuckDB refuses (invalid UTF-8, a lone surrogate escape, a wrong type where a struct is read)
   is split in halves until the refused files are found.
2. :func:`plain_messages` types and checks every field the importer reads, with the reference
   path's rules. A day file with any message outside the plain case (a user not in
   ``users.json``, ``file_comment``, an unknown subtype, a malformed field, a mention of someone
   not in ``users.json``) goes to the reference path whole, which gives it exactly the reference
   treatment, rejects included.
3. :func:`run_events` turns the messages of consecutive plain files into the same events,
   records and skip counts as the reference path, in the same order.

Duplicate keys are refused (the file goes to the reference path, which rejects it) in every
object whose keys the importer reads: a message and its reactions, and ``blocks`` when they are
read for mentions. A key repeated in a part of a message orgnet never reads (an attachment, a
file) does not change what is imported and is not looked at, as FORMATS §17.2 asks for
security-relevant objects only.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import duckdb
import polars as pl

# The rules are the reference importer's; it imports this module only when it runs.
from orgnet.importers import slack as slack_rules
from orgnet.importers._base import event_key
from orgnet.importers._io import batch_file

__all__ = ["Day", "Plain", "parse_days", "plain_messages", "run_events"]

#: Raw bytes of day files parsed per DuckDB call.
BATCH_BYTES: Final = 24 << 20
#: DuckDB's parser accepts trailing commas and NaN/Infinity, which the reference parser refuses:
#: files with them (or anything that looks like them, inside a string too) take the reference
#: path. DuckDB refuses lone surrogate escapes and invalid UTF-8 itself.
_TRAILING_COMMA: Final = re.compile(rb",[ \t\r\n]*[\]}]")
_WS: Final = b" \t\r\n"
#: A reaction's ``"users": null`` is malformed to the reference path, but DuckDB reads a JSON
#: null in a struct as a missing key: such files (or any with a null after a ``"users"`` key,
#: or after a key written with escapes, which could spell "users") take the reference path.
_NULL_USERS: Final = re.compile(rb'"users"[ \t\r\n]*:[ \t\r\n]*null')
_NULL_ESCAPED_KEY: Final = re.compile(rb'"[^"]*\\[^"]*"[ \t\r\n]*:[ \t\r\n]*null')
# The reference path's patterns, run by polars (Rust regex: "$" matches only at the very end,
# so a value Python would accept with a trailing newline is not plain and takes that path).
_TS: Final = slack_rules._TS.pattern
_ID: Final = slack_rules._ID.pattern
#: First whole second past the latest year the reference path accepts.
_MAX_WHOLE: Final = int(dt.datetime(slack_rules._MAX_YEAR + 1, 1, 1, tzinfo=dt.UTC).timestamp())
_NULL_TYPES: Final = (None, "NULL")

#: Fields of a message read as their JSON text (minified by DuckDB): their JSON type and string
#: value are derived in polars (:func:`_dec`), much cheaper than json_type/json_extract_string
#: per field; DuckDB returns the messages as read, without a list comprehension (another 30%).
#: Reactions, rarer, get DuckDB's functions afterwards (:func:`_reaction_users`).
_JSON_FIELDS: Final = ("ts", "sub", "thr", "user", "bot", "uname", "pname", "comment", "text",
                       "par")
_FIELD_NAMES: Final = {"subtype": "sub", "thread_ts": "thr", "bot_id": "bot", "username": "uname",
                       "parent_user_id": "par", "reactions": "rx"}
_MSG_SQL: Final = """
SELECT f, k, len(m) AS nm, m[1] AS msgs
FROM read_json(?, format = ?, columns = {
  f: 'BIGINT', k: 'VARCHAR',
  m: 'STRUCT(ts JSON, "user" JSON, subtype JSON, thread_ts JSON, text JSON, bot_id JSON,
             username JSON, bot_profile STRUCT(name JSON), comment JSON,
             parent_user_id JSON, blocks JSON, reactions STRUCT(name JSON, users JSON)[])[][]'})
"""
_USERS_SQL: Final = """
SELECT json_extract_string(u, '$[*]') AS users, json_type(u, '$[*]') AS users_ty
FROM orgnet_reaction_users ORDER BY i
"""


@dataclass
class Day:
    """One day file of a batch: its conversation, member name and bytes (or the read error)."""

    conv: Any
    member: str
    raw: bytes | Exception


@dataclass
class Plain:
    """Plain messages of a batch: one row per message of a plain file, in import order."""

    messages: pl.DataFrame
    plain_files: set[int]
    #: (f, line, _s, target_id): mentioned identities, in order of appearance.
    mentions: pl.DataFrame
    #: (f, line, _s, artifact_id, value): references found in the text.
    references: pl.DataFrame
    #: (f, line, _s, reactor, value): one row per reacting user and emoji.
    reactions: pl.DataFrame


def _suspect(raw: bytes, nonce: bytes) -> bool:
    head = raw[:1]
    if head != b"[":
        head = raw.lstrip(_WS)[:1]
    return (head != b"[" or nonce in raw or b"NaN" in raw or b"Infinity" in raw
            or _TRAILING_COMMA.search(raw) is not None
            or (b"null" in raw and _NULL_USERS.search(raw) is not None)
            or (b"null" in raw and b"\\u" in raw and _NULL_ESCAPED_KEY.search(raw) is not None))


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _suspects(raws: list[bytes], nonce: bytes) -> tuple[list[bool], list[bool]]:
    """:func:`_suspect` of every file, and whether it has a line break, by polars' regex engine.

    Searched over the files as one column: about a fifth of the CPU of ``re`` and ``in`` file
    by file (10,000-person export: 1.2 -> 0.25 s per 120 MB shard). Files that are not valid
    UTF-8 (DuckDB refuses them anyway) get :func:`_suspect` itself.
    """
    try:
        text = pl.Series(raws, dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.ComputeError:  # invalid UTF-8 somewhere: the others still by polars
        invalid = [k for k, r in enumerate(raws) if not _utf8(r)]
        if not invalid:
            raise  # every file decodes: the error was something else
        skip = set(invalid)
        valid = [k for k in range(len(raws)) if k not in skip]
        suspect, broken = [True] * len(raws), [False] * len(raws)
        for k, bad, lines in zip(valid, *_suspects([raws[k] for k in valid], nonce),
                                 strict=True):
            suspect[k], broken[k] = bad, lines
        for k in invalid:
            suspect[k] = _suspect(raws[k], nonce)
            broken[k] = b"\n" in raws[k] or b"\r" in raws[k]
        return suspect, broken
    s = text.str
    null = s.contains("null", literal=True)
    escaped = null & s.contains("\\u", literal=True)
    if escaped.any():  # rare: the slower pattern only where it can match
        escaped = escaped & s.contains(_NULL_ESCAPED_KEY.pattern.decode())
    suspect_s = (~s.contains(r"^[ \t\r\n]*\[") | s.contains(nonce.decode(), literal=True)
                 | s.contains("NaN", literal=True) | s.contains("Infinity", literal=True)
                 | s.contains(_TRAILING_COMMA.pattern.decode())
                 | (null & s.contains(_NULL_USERS.pattern.decode())) | escaped)
    return suspect_s.to_list(), s.contains("[\n\r]").to_list()


def parse_days(con: Any, days: Sequence[Day]) -> pl.DataFrame:
    """Parse the day files DuckDB reads exactly as the reference parser would.

    Returns
    -------
    pl.DataFrame
        One row per parsed file: ``f`` (index in ``days``) and ``msgs`` (its messages, with the
        JSON type and value of every field the importer reads).
    """
    nonce = secrets.token_hex(16).encode()
    read = [i for i, d in enumerate(days) if isinstance(d.raw, bytes)]
    suspect, broken = _suspects([days[i].raw for i in read], nonce)  # type: ignore[misc]
    todo = [i for i, bad in zip(read, suspect, strict=True) if not bad]
    multiline = {i for i, b in zip(read, broken, strict=True) if b}
    frames: list[pl.DataFrame] = []
    stack = [todo] if todo else []
    while stack:
        group = stack.pop()
        frame = _parse_group(con, days, group, nonce, multiline)
        if frame is not None:
            frames.append(frame)
        elif len(group) > 1:  # find the files DuckDB refuses: halves, in order
            half = len(group) // 2
            stack.extend([group[half:], group[:half]])
    if not frames:
        return pl.DataFrame()
    # In order of f already: groups are taken in order (halves first-half first) and each
    # frame's f is checked equal to its group.
    return pl.concat(frames)


def _parse_group(con: Any, days: Sequence[Day], group: list[int],
                 nonce: bytes, multiline: set[int]) -> pl.DataFrame | None:
    # Only files read as bytes are in a group (parse_days).
    raws = cast(list[bytes], [days[i].raw for i in group])
    head = b'{"f":%d,"k":"' + nonce + b'","m":['
    # Pieces for writev: no copy of a file's bytes here.
    if any(i in multiline for i in group):  # pretty-printed files: one JSON array of records
        pieces = [b"["]
        for k, (i, r) in enumerate(zip(group, raws, strict=True)):
            pieces.extend((b"," + head % i if k else head % i, r, b"]}"))
        pieces.append(b"]")
        fmt = "array"
    else:
        pieces = [piece for i, r in zip(group, raws, strict=True)
                  for piece in (head % i, r, b"]}\n")]
        fmt = "newline_delimited"
    with batch_file(pieces, "orgnet-slack-") as source:
        try:
            frame: pl.DataFrame = con.sql(_MSG_SQL, params=[source, fmt]).pl()
        except (duckdb.Error, UnicodeDecodeError):  # any refusal: the reference path decides
            # (DuckDB's message can quote the value cut inside a UTF-8 sequence, and then the
            # error surfaces as a UnicodeDecodeError.)
            return None
    # Each file exactly once, in order, with the nonce and one value: nothing spliced.
    if (frame.height != len(group) or frame.get_column("f").to_list() != group
            or not (frame.get_column("k") == nonce.decode()).all()
            or not (frame.get_column("nm") == 1).all()):
        return None  # the caller splits the group to find the file
    return frame.select("f", "msgs")


def _reaction_users(con: Any, users: pl.Series) -> pl.DataFrame:
    """``json_extract_string(u, '$[*]')`` and ``json_type(u, '$[*]')`` of JSON texts, in order."""
    con.register("orgnet_reaction_users", pl.DataFrame(
        {"i": pl.int_range(users.len(), eager=True), "u": users}).to_arrow())
    try:
        out: pl.DataFrame = con.sql(_USERS_SQL).pl()
    finally:
        con.unregister("orgnet_reaction_users")
    if out.height != users.len():
        raise RuntimeError("reaction users out of step")
    return out


def _json_type(x: pl.Expr) -> pl.Expr:
    """``json_type`` of a JSON text as :func:`_dec` names it."""
    head = x.str.slice(0, 1)
    return (pl.when(head == '"').then(pl.lit("VARCHAR")).when(head == "{").then(pl.lit("OBJECT"))
            .when(head == "[").then(pl.lit("ARRAY")).when(head == "n").then(pl.lit("NULL"))
            .when(head.is_in(["t", "f"])).then(pl.lit("BOOLEAN"))
            .when(head.is_not_null()).then(pl.lit("NUMBER")))


def _dec(frame: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """Turn JSON texts into ``<c>_t`` and ``<c>`` as ``json_type`` and ``json_extract_string``.

    The type is named as DuckDB's ``json_type`` for the types the rules tell apart
    (``VARCHAR``, ``OBJECT``, ``ARRAY``, ``BOOLEAN``, ``NULL``; any number is ``NUMBER``). The
    value is the decoded string of a JSON string, null for JSON ``null``, else the JSON text.
    """
    frame = frame.with_columns(_json_type(pl.col(n)).alias(f"{n}_t") for n in names)
    frame = frame.with_columns(
        pl.when(pl.col(f"{n}_t") == "VARCHAR")
        .then(pl.col(n).str.strip_prefix('"').str.strip_suffix('"'))
        .when(pl.col(f"{n}_t") != "NULL").then(pl.col(n)).alias(n)
        for n in names)
    escaped = frame.select(
        [((pl.col(f"{n}_t") == "VARCHAR") & pl.col(n).str.contains("\\", literal=True))
         .fill_null(False).any().alias(n) for n in names]).row(0)
    for n, any_escaped in zip(names, escaped, strict=True):
        if not any_escaped:
            continue
        rows = frame.select(((pl.col(f"{n}_t") == "VARCHAR")
                             & pl.col(n).str.contains("\\", literal=True)).fill_null(False)
                            .arg_true()).to_series()
        col = frame.get_column(n)
        text = ('"' + col.gather(rows) + '"').str.json_decode(pl.String)
        frame = frame.with_columns(col.scatter(rows, text))
    return frame


def plain_messages(
    files: pl.DataFrame,
    days: Sequence[Day],
    *,
    con: Any,
    users: dict[str, str],
    bot_users: set[str],
    bot_identity: Callable[[str], str],
    plain_subtypes: frozenset[str],
    notice_subtypes: frozenset[str],
    conv_targets: Callable[[Any], tuple[str, ...] | None],
    mentions: Callable[[str | None, str | None], list[str] | None],
    references: Callable[[str], list[tuple[str | None, str]]],
    clean_emoji: Callable[[str], str | None],
) -> Plain:
    """Check every message of the parsed files; keep the files whose messages are all plain.

    Parameters
    ----------
    con
        The DuckDB connection (reads the users of reactions).
    users
        Slack user id -> identity id of every user in ``users.json``.
    bot_users
        The user ids among them that are bots.
    bot_identity
        A ``bot_id`` -> its identity id.
    conv_targets
        The identity ids of a DM's or MPIM's members (``()`` for other conversations), or
        ``None`` when a member is not in ``users.json``.
    mentions
        ``(blocks_json, text)`` -> mentioned user ids as the reference path finds them, or
        ``None`` when the blocks cannot be read.
    references
        Text -> ``(artifact_id, value)`` of each reference.
    clean_emoji
        The reference path's cleaning of a reaction name (``None``: not a usable name).
    """
    if files.height == 0:
        return Plain(pl.DataFrame(), set(), pl.DataFrame(), pl.DataFrame(), pl.DataFrame())
    # A null element of a day file (a malformed message to the reference path) sends its file
    # there; an empty file has no rows.
    with_null = (pl.col("msgs").list.eval(pl.element().is_null()).list.any()).fill_null(False)
    null_files = set(files.filter(with_null).get_column("f").to_list())
    m = (files.filter(~with_null & (pl.col("msgs").list.len() > 0).fill_null(False))
         .explode("msgs")
         .with_columns(pl.int_range(1, pl.len() + 1).over("f").alias("line"))
         .unnest("msgs")
         .with_columns(pl.col("bot_profile").struct.field("name").alias("pname"))
         .drop("bot_profile")
         .rename(_FIELD_NAMES)
         .pipe(_dec, _JSON_FIELDS)
         .with_columns(pl.col("ts").str.split(".").list.first()
                       .cast(pl.Int64, strict=False).alias("sec")))
    ts_ok = (pl.col("ts_t") == "VARCHAR") & pl.col("ts").str.contains(_TS) & (
        pl.col("sec") < _MAX_WHOLE)
    sub = (pl.when(pl.col("sub_t").is_in(_NULL_TYPES) | pl.col("sub_t").is_null()).then(pl.lit(""))
           .when(pl.col("sub_t") == "VARCHAR").then(pl.col("sub")).otherwise(None))
    m = m.with_columns(sub.alias("subtype"), ts_ok.alias("ts_ok"))
    notice = pl.col("subtype").is_in(list(notice_subtypes))
    null = {c: pl.col(c).is_null() | (pl.col(c) == "NULL") for c in
            ("thr_t", "bot_t", "text_t", "par_t")}
    thr_valid = (pl.col("thr").str.contains(_TS) & (
        pl.col("thr").str.split(".").list.first().cast(pl.Int64, strict=False) < _MAX_WHOLE))
    thread_ok = null["thr_t"] | ((pl.col("thr_t") == "VARCHAR")
                                 & ((pl.col("thr") == pl.col("ts")) | thr_valid))
    user_map = pl.DataFrame({"user": list(users), "actor": list(users.values())},
                            schema={"user": pl.String, "actor": pl.String})
    m = m.join(user_map, on="user", how="left", maintain_order="left")
    # Bots: a user flagged by the message (bot_id, bot_message) is marked a bot; a message
    # with no user is the bot's own (bot_id), named by username or bot_profile.name.
    bot_hint = (pl.col("subtype") == "bot_message") | ~null["bot_t"]
    no_user = pl.col("user_t").is_null() | (pl.col("user_t") == "NULL")
    as_bot = no_user & (pl.col("bot_t") == "VARCHAR") & pl.col("bot").str.contains(_ID)
    bot_ids = m.filter(as_bot).get_column("bot").unique().to_list()
    bot_map = pl.DataFrame({"bot": bot_ids, "bot_actor": [bot_identity(x) for x in bot_ids]},
                           schema={"bot": pl.String, "bot_actor": pl.String})
    m = m.join(bot_map, on="bot", how="left", maintain_order="left").with_columns(
        pl.when(as_bot).then(pl.col("bot_actor")).otherwise(
            pl.when(~no_user & (pl.col("user_t") == "VARCHAR")).then(pl.col("actor"))
        ).alias("actor"),
        # (native id, username) of the identity the reference path registers per message
        pl.when(as_bot).then(pl.col("bot")).when(
            bot_hint & pl.col("user").is_in(list(bot_users)).not_()).then(pl.col("user"))
        .alias("id_native"),
        pl.when(as_bot & (pl.col("uname_t") == "VARCHAR")).then(pl.col("uname"))
        .alias("id_uname"),
        pl.when(as_bot & (pl.col("pname_t") == "VARCHAR")).then(pl.col("pname"))
        .alias("id_pname"),
    )
    m = m.join(user_map.rename({"user": "par", "actor": "parent"}), on="par", how="left",
               maintain_order="left")
    # Only a string parent_user_id names a user (a number's text could equal an id).
    m = m.with_columns(pl.when(pl.col("par_t") == "VARCHAR").then(pl.col("parent")))
    is_reply = null["thr_t"].not_() & (pl.col("thr") != pl.col("ts"))
    parent_ok = (null["par_t"] | (pl.col("par_t") != "VARCHAR") | pl.col("parent").is_not_null()
                 | is_reply.not_())
    message_ok = (
        pl.col("subtype").is_in(list(plain_subtypes)) & thread_ok & pl.col("actor").is_not_null()
        & ~(no_user & (pl.col("comment_t") == "OBJECT").fill_null(False))
        & (null["text_t"] | (pl.col("text_t") == "VARCHAR")) & parent_ok
    )
    m = m.with_columns(
        (pl.col("ts_ok") & (notice | message_ok)).alias("ok"),
        notice.alias("notice"),
        is_reply.fill_null(False).alias("is_reply"),
    )
    # Files that fail here go to the reference path; the rest is checked further below.
    bad = set(m.filter(~pl.col("ok").fill_null(False)).get_column("f").to_list()) | null_files
    m = m.filter(~pl.col("f").is_in(list(bad)))

    # Conversations: DM/MPIM member targets, looked up once per conversation of the batch.
    conv_index: dict[int, int] = {}
    conv_lists: list[list[str]] = []
    conv_known: list[bool] = []
    conv_rows_f: list[int] = []
    conv_rows_c: list[int] = []
    for f in m.get_column("f").unique().to_list():
        conv = days[f].conv
        c = conv_index.get(id(conv))
        if c is None:
            targets = conv_targets(conv)
            c = conv_index[id(conv)] = len(conv_lists)
            conv_lists.append(list(targets or ()))
            conv_known.append(targets is not None)
        if not conv_known[c]:
            bad.add(f)
        conv_rows_f.append(f)
        conv_rows_c.append(c)
    m = m.filter(~pl.col("f").is_in(list(bad)))

    # Reactions: every entry a usable name and users all in users.json.
    rx = (m.select("f", "line", "rx").filter(pl.col("rx").is_not_null())
          .with_columns(pl.int_ranges(pl.col("rx").list.len()).alias("ri"))
          .explode("rx", "ri").filter(pl.col("rx").is_not_null() | pl.col("ri").is_not_null())
          .unnest("rx"))
    names: dict[str, str | None] = {}
    if rx.height:
        rx = pl.concat([_dec(rx.drop("users"), ("name",)),
                        rx.select(_json_type(pl.col("users")).alias("users_t")),
                        _reaction_users(con, rx.get_column("users"))], how="horizontal")
        rx_bad = rx.filter(
            (pl.col("name_t") != "VARCHAR") | pl.col("name_t").is_null()
            | ~(pl.col("users_t").is_null() | (pl.col("users_t") == "ARRAY"))
        )
        bad.update(rx_bad.get_column("f").to_list())
        for name in rx.get_column("name").drop_nulls().unique().to_list():
            names[name] = clean_emoji(name)
        rx = rx.with_columns(pl.col("name").replace_strict(names, default=None,
                                                           return_dtype=pl.String).alias("emoji"))
        bad.update(rx.filter(pl.col("emoji").is_null() & (pl.col("name_t") == "VARCHAR"))
                   .get_column("f").to_list())
        ru = (rx.filter(pl.col("users").is_not_null())
              .select("f", "line", "ri", "users", "users_ty")
              .with_columns(pl.int_ranges(pl.col("users").list.len()).alias("ui"))
              .explode("users", "users_ty", "ui")
              .filter(pl.col("users_ty") == "VARCHAR")
              .join(user_map.rename({"user": "users", "actor": "reactor"}), on="users",
                    how="left", maintain_order="left"))
        bad.update(ru.filter(pl.col("reactor").is_null()).get_column("f").to_list())
    else:
        ru = pl.DataFrame()

    # Mentions and references: the reference functions, on the texts that can hold any.
    # Without blocks and "<@" in the text nobody is mentioned (``mentions`` reads no blocks
    # and finds no "<@"): the call is spared.
    at = pl.col("text").str.contains("<@", literal=True).fill_null(False)
    slash = pl.col("text").str.contains("/", literal=True).fill_null(False)
    need = m.filter(~pl.col("notice") & ~pl.col("f").is_in(list(bad)) & (
        pl.col("blocks").str.contains('"user"', literal=True).fill_null(False)
        | at | slash
        | ~(pl.col("blocks").is_null() | pl.col("blocks").is_in(
            ["null", "[]", "{}", "false", '""', "0"]) | pl.col("blocks").str.starts_with("[")
            | pl.col("blocks").str.starts_with("{"))
    )).select("f", "line", "blocks", "text", (pl.col("blocks").is_not_null() | at).alias("m"),
              slash.alias("r"))
    mf: list[int] = []
    ml: list[int] = []
    ms: list[int] = []
    mt: list[str] = []
    rf: list[int] = []
    rl: list[int] = []
    rs: list[int] = []
    ra: list[str | None] = []
    rv: list[str] = []
    for f, line, blocks, text, call_mentions, call_references in need.iter_rows():
        if call_mentions:
            found = mentions(blocks, text)
            if found is None or any(u not in users for u in found):
                bad.add(f)
                continue
            for j, u in enumerate(found):
                mf.append(f)
                ml.append(line)
                ms.append(j)
                mt.append(users[u])
        if call_references:
            for j, (artifact, value) in enumerate(references(text)):
                rf.append(f)
                rl.append(line)
                rs.append(j)
                ra.append(artifact)
                rv.append(value)
    keep = pl.col("f").is_in(list(bad)).not_()
    ments = pl.DataFrame({"f": mf, "line": ml, "_s": ms, "target_id": mt},
                         schema={"f": pl.Int64, "line": pl.Int64, "_s": pl.Int64,
                                 "target_id": pl.String})
    refs = pl.DataFrame({"f": rf, "line": rl, "_s": rs, "artifact_id": ra, "value": rv},
                        schema={"f": pl.Int64, "line": pl.Int64, "_s": pl.Int64,
                                "artifact_id": pl.String, "value": pl.String})
    if rx.height:
        reacts = (ru.filter(keep)
                  .unique(["f", "line", "ri", "reactor"], keep="first", maintain_order=True)
                  .join(rx.select("f", "line", "ri", "emoji"), on=["f", "line", "ri"],
                        how="left", maintain_order="left")
                  .select("f", "line", (pl.col("ri") * (1 << 20) + pl.col("ui")).alias("_s"),
                          "reactor", pl.col("emoji").str.slice(0, 100).alias("value")))
    else:
        reacts = pl.DataFrame(schema={"f": pl.Int64, "line": pl.Int64, "_s": pl.Int64,
                                      "reactor": pl.String, "value": pl.String})
    dm_targets = pl.DataFrame({"f": conv_rows_f, "c": conv_rows_c},
                              schema={"f": pl.Int64, "c": pl.Int64}).join(
        pl.DataFrame({"c": range(len(conv_lists)), "dm_targets": conv_lists},
                     schema={"c": pl.Int64, "dm_targets": pl.List(pl.String)}),
        on="c", how="left", maintain_order="left").drop("c")
    m = m.filter(keep).join(dm_targets, on="f", how="left", maintain_order="left")
    frac = pl.col("ts").str.split(".").list.get(1, null_on_oob=True).fill_null("")
    m = m.with_columns(
        (frac + "000000000").str.slice(0, 9).cast(pl.Int64).alias("frac9"),
    ).with_columns(
        pl.from_epoch(pl.col("sec") * 1_000_000 + pl.col("frac9") // 1000, time_unit="us")
        .dt.replace_time_zone("UTC").alias("when"),
    )
    # Import order: by file, then ts (stable). Files are nearly always in ts order already
    # (and "line" rises within a file), so the sort is skipped when it would change nothing.
    in_order = m.select(
        ((pl.col("f") > pl.col("f").shift()) | (
            (pl.col("f") == pl.col("f").shift()) & (
                (pl.col("sec") > pl.col("sec").shift()) | (
                    (pl.col("sec") == pl.col("sec").shift())
                    & (pl.col("frac9") >= pl.col("frac9").shift())))))
        .slice(1).fill_null(False).all()).item()
    if not in_order:
        m = m.sort("f", "sec", "frac9", "line", maintain_order=True)
    plain = {f for f in files.get_column("f").to_list() if f not in bad}
    return Plain(m.drop("rx", "blocks", "text"), plain, ments.filter(keep), refs.filter(keep),
                 reacts)


def run_events(
    run: pl.DataFrame,
    mentions: pl.DataFrame,
    references: pl.DataFrame,
    reactions: pl.DataFrame,
    *,
    first_rec: int,
    containers: dict[int, tuple[str, str]],
    roots: dict[tuple[str, str], str],
    since: Any,
    until: Any,
    hash_keys: Callable[[pl.Series], pl.Series],
) -> tuple[list[str], Counter[str], pl.DataFrame, list[tuple[tuple[str, str], str]]]:
    """Records, skips, events and new thread roots of the messages of consecutive plain files.

    Parameters
    ----------
    run
        Rows of :attr:`Plain.messages` for the files of the run, in import order.
    mentions, references, reactions
        The matching frames of :class:`Plain` (rows of other files are ignored).
    first_rec
        Record index of the first message.
    containers
        File index -> (channel id, container name).
    roots
        Thread roots seen before the run: (channel id, ts) -> author identity id.
    since, until
        The import window (aware datetimes or ``None``).
    hash_keys
        Event-id keys -> event ids (the builder's ``stable_hash`` of the same parts).

    Returns
    -------
    (statuses, skipped, events, new_roots)
    """
    n = run.height
    ch = pl.DataFrame({"f": list(containers), "channel_id": [c[0] for c in containers.values()],
                       "container": [c[1] for c in containers.values()]},
                      schema={"f": pl.Int64, "channel_id": pl.String, "container": pl.String})
    r = run.with_columns(pl.int_range(pl.len()).alias("pos")).join(
        ch, on="f", how="left", maintain_order="left")
    r = r.with_columns((pl.col("pos") + first_rec).alias("_rec"))
    in_window = pl.lit(True)
    if since is not None:
        in_window = in_window & (pl.col("when") >= since)
    if until is not None:
        in_window = in_window & (pl.col("when") < until)
    r = r.with_columns(in_window.alias("in_window"))
    statuses = ["ok"] * n
    skipped: Counter[str] = Counter()
    notice_pos = r.filter(pl.col("notice")).select("pos", "subtype")
    for pos, subtype in notice_pos.iter_rows():
        statuses[pos] = "skipped"
        skipped[f"subtype {subtype}"] += 1
    msgs = r.filter(~pl.col("notice"))
    for pos in msgs.filter(~pl.col("in_window")).get_column("pos").to_list():
        statuses[pos] = "skipped"
        skipped["outside --since/--until"] += 1
    # Thread roots: the latest root before each reply in this run, else one seen earlier.
    run_roots = msgs.filter(~pl.col("is_reply")).select(
        "channel_id", pl.col("ts").alias("thr"), "pos", pl.col("actor").alias("root_actor"))
    replies = msgs.filter(pl.col("is_reply")).select("pos", "channel_id", "thr")
    found = replies.sort("pos").join_asof(
        run_roots.sort("pos"), on="pos", by=["channel_id", "thr"], strategy="backward",
        allow_exact_matches=False, check_sortedness=False)
    # Roots from before the run, looked up for the replies whose root is not in the run.
    missing = found.filter(pl.col("root_actor").is_null())
    before = [roots.get(k) for k in zip(missing.get_column("channel_id").to_list(),
                                        missing.get_column("thr").to_list(), strict=True)]
    old = missing.select("pos", pl.Series("old_root", before, dtype=pl.String))
    found = found.join(old, on="pos", how="left", maintain_order="left").select(
        "pos", pl.coalesce("root_actor", "old_root").alias("root"))
    msgs = msgs.join(found, on="pos", how="left", maintain_order="left")
    new_roots = list(zip(zip(run_roots.get_column("channel_id").to_list(),
                             run_roots.get_column("thr").to_list(), strict=True),
                         run_roots.get_column("root_actor").to_list(), strict=True))
    ev = msgs.filter(pl.col("in_window"))
    base = ["_rec", "actor", "when", "container", "channel_id", "ts"]
    keys = ev.select("f", "line", *base)
    parts: list[pl.DataFrame] = []

    def part(frame: pl.DataFrame, kind: str, group: int, **cols: pl.Expr) -> None:
        if frame.height:
            parts.append(frame.select(
                *base, pl.lit(kind).alias("kind"), pl.lit(group).alias("_g"),
                *(e.alias(name) for name, e in cols.items())))

    reply = ev.filter(pl.col("is_reply")).with_columns(
        pl.coalesce("root", "parent").alias("tgt"))
    part(reply, "chat_reply", 0, target_id=pl.col("tgt"),
         target_role=pl.when(pl.col("tgt").is_not_null()).then(pl.lit("thread_root_author")),
         _s=pl.lit(0))
    root = ev.filter(~pl.col("is_reply"))
    dm = (root.filter(pl.col("dm_targets").list.len() > 0)
          .with_columns(pl.col("dm_targets").alias("tg"),
                        pl.int_ranges(pl.col("dm_targets").list.len()).alias("_s"))
          .explode("tg", "_s").filter(pl.col("tg") != pl.col("actor")))
    lone = root.filter(~pl.col("_rec").is_in(dm.get_column("_rec").implode()))
    part(lone, "chat_message", 0, target_id=pl.lit(None, pl.String),
         target_role=pl.lit(None, pl.String), _s=pl.lit(0))
    part(dm, "chat_message", 0, target_id=pl.col("tg"), target_role=pl.lit("conversation_member"),
         _s=pl.col("_s"))
    mt = keys.join(mentions, on=["f", "line"], how="inner").filter(
        pl.col("target_id") != pl.col("actor"))
    part(mt, "mention", 1, target_id=pl.col("target_id"), target_role=pl.lit("mentioned"),
         _s=pl.col("_s"))
    rx = keys.join(reactions, on=["f", "line"], how="inner")
    part(rx, "reaction", 2, target_id=pl.col("actor"), target_role=pl.lit("message_author"),
         value=pl.col("value"), _s=pl.col("_s"), _actor=pl.col("reactor"))
    rf = keys.join(references, on=["f", "line"], how="inner")
    part(rf, "reference", 3, artifact_id=pl.col("artifact_id"), value=pl.col("value"),
         _s=pl.col("_s"))
    if not parts:
        return statuses, skipped, pl.DataFrame(), new_roots
    events = pl.concat(parts, how="diagonal_relaxed").sort("_rec", "_g", "_s",
                                                            maintain_order=True)
    if "_actor" in events.columns:
        events = events.with_columns(pl.coalesce("_actor", "actor").alias("actor"))
    for col in ("target_id", "target_role", "artifact_id", "value"):
        if col not in events.columns:
            events = events.with_columns(pl.lit(None, pl.String).alias(col))
    raw_ref1 = pl.col("channel_id") + ":" + pl.col("ts")
    key = event_key("slack", None, kind=pl.col("kind"), artifact=pl.col("artifact_id"),
                    ref0="message", ref1=raw_ref1, actor=pl.col("actor"),
                    target=pl.col("target_id"), value=pl.col("value"))
    events = events.with_columns(key.alias("_key"))
    events = events.with_columns(hash_keys(events.get_column("_key")).alias("event_id"))
    out = events.select(
        "event_id", pl.lit("slack").alias("source"), "kind", pl.col("actor").alias("actor_id"),
        "target_id", "target_role", "artifact_id", "container", pl.col("when").alias("ts"),
        "value", pl.lit(1.0).alias("weight"), "_rec")
    return statuses, skipped, out, new_roots


