"""Columnar reading of plain Perceval GitHub items: DuckDB parses, polars plans.

The reference path of :mod:`orgnet.importers.github` decodes every Perceval item into Python
objects and plans it field by field (about 110 µs per item at 10,000 people). Most items of a
real export are *plain* pull requests or issues: well-typed fields, valid user objects, no
touched files, no team review requests. For those this module does the same work column-wise:

1. :func:`parse_items` parses a batch of JSON lines in one DuckDB ``read_json`` call, reading
   every field the importer uses as JSON text (its type and string value are derived in
   polars). DuckDB refuses a line with more than one JSON value and keeps the file's order, so
   row ``i`` is line ``i`` when the counts agree. A line that is not an object or has a
   trailing comma (which DuckDB accepts) goes to the reference path; a batch DuckDB refuses
   (invalid UTF-8, a duplicate key in an object the importer reads, a wrong type where an
   object is read, nesting deeper than 128) is split in halves until the refused lines are
   found. Perceval writes ``{}`` for an empty
   ``review_comments_data`` and ``[]`` for a missing ``merged_by_data``; they are read as ``[]``
   and ``null``, which is what the reference path makes of them. NaN and Infinity in a field
   the importer reads make the item not plain.
2. :func:`plan_batch` checks every field with the reference path's rules and builds the
   events, mentions, identities and artifact rows of each plain item. An item with anything
   outside the plain case (another category, a ghost or malformed user, a timestamp not in
   GitHub's ``YYYY-MM-DDTHH:MM:SSZ`` form, a review entry that is not an object, files, team
   requests ...) goes to the reference path whole, which gives it exactly the reference
   treatment, problems included.

:func:`replay` then replays reference plans and plain items together, in file order, with the
reference rules (latest version of an item wins, shared events written once, mentions resolved
against every login of the input).

As for Slack (FORMATS §17.2: security-relevant objects), a duplicate key, a NaN or an
oversized number in a part of an item the importer never reads is not looked at; the strict
reference parser refuses the whole item for it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import duckdb
import polars as pl

from orgnet.importers._base import ImportBuilder, event_ids, event_key
from orgnet.importers._io import batch_file
from orgnet.importers.perceval import RecordPlan, replay_plan

__all__ = ["BATCH_BYTES", "EMIT_RECORDS", "USER_FIELDS", "Batch", "parse_items", "plan_batch", "replay"]

#: Raw bytes of JSON lines parsed per DuckDB call and planned together: each batch costs a few
#: hundred small polars operations, so larger batches save CPU (10,000 people: 42 -> 38 s at 128
#: MB instead of 64; no better at 256 MB) for memory (+80 MB peak).
BATCH_BYTES: Final = 128 << 20
#: Plain records emitted together at most: the rows of a run are sliced, joined and copied a
#: few times on their way to the builder, so an unbounded run (a file with no reference item
#: between its plain ones) held several copies of the whole file's events at once.
EMIT_RECORDS: Final = 1 << 16
#: What DuckDB reads and the reference parser refuses, in a line that is otherwise JSON: a
#: trailing comma, and a vertical tab or form feed (blank to DuckDB, not JSON whitespace).
_TRAILING_COMMA: Final = re.compile(rb",[ \t\r\n]*[\]}]|[\x0b\x0c]")
_TS_RE: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
_TS_FMT: Final = "%Y-%m-%dT%H:%M:%SZ"
#: Python's ``str.strip()`` whitespace is Rust's ``\s`` plus U+001C..U+001F.
_NOT_BLANK: Final = r"[^\s\x1c-\x1f]"
_REVIEW_KINDS: Final = {
    "APPROVED": "review_approved",
    "CHANGES_REQUESTED": "review_changes_requested",
    "COMMENTED": "review_commented",
    "DISMISSED": "review_dismissed",
}


def _typed(name: str, expr: str) -> str:
    # The JSON text of the value (minified by DuckDB); its type and string value are derived
    # in polars (:func:`_dec`), much cheaper than json_type/json_extract_string per field.
    return f"'{name}': {expr}"


_USER: Final = 'STRUCT(id JSON, login JSON, "type" JSON)'
_PROFILE: Final = "STRUCT(name JSON, email JSON)"
_LISTED_USER: Final = 'STRUCT(id JSON, login JSON, "type" JSON, name JSON, email JSON)'


def _user_sql(u: str, profile: str | None) -> str:
    name = f"{profile}.name" if profile else f"{u}.name"
    email = f"{profile}.email" if profile else f"{u}.email"
    return ("{" + f"'null': {u} IS NULL, {_typed('id', f'{u}.id')}, "
            f"{_typed('login', f'{u}.login')}, {_typed('type', f'{u}.type')}, "
            f"{_typed('name', name)}, {_typed('email', email)}" + "}")


_ITEM_SQL: Final = f"""
SELECT
  {{{_typed('backend', 'backend_name')}, {_typed('category', 'category')},
    {_typed('origin', 'origin')}, {_typed('uuid', 'uuid')},
    {_typed('upd', 'updated_on')}}} AS env,
  d IS NULL AS no_data,
  {{{_typed('number', 'd.number')}, {_typed('created', 'd.created_at')},
    {_typed('closed', 'd.closed_at')}, {_typed('merged_at', 'd.merged_at')},
    {_typed('merged', 'd.merged')}, {_typed('state', 'd.state')}, {_typed('body', 'd.body')},
    {_typed('cf', 'd.changed_files')}, {_typed('add', 'd.additions')},
    {_typed('del', 'd.deletions')}, 'files': d.files_data, 'commits': d.commits_data,
    'teams': len(d.requested_teams), {_typed('twin', 'd.pull_request')}}} AS pr,
  {_user_sql('d."user"', 'd.user_data')} AS author,
  {_user_sql('d.merged_by', 'd.merged_by_data')} AS merger,
  [{_user_sql('u', None)} for u in d.requested_reviewers] AS rr,
  [{_user_sql('u', None)} for u in d.requested_reviewers_data] AS rrd,
  [{{'null': r IS NULL, {_typed('id', 'r.id')}, {_typed('state', 'r.state')},
     {_typed('ts', 'r.submitted_at')}, {_typed('body', 'r.body')},
     'u': {_user_sql('r."user"', 'r.user_data')}}} for r in d.reviews_data] AS reviews,
  [{{'null': c IS NULL, {_typed('id', 'c.id')}, {_typed('ts', 'c.created_at')},
     {_typed('body', 'c.body')}, {_typed('reply', 'c.in_reply_to_id')},
     'u': {_user_sql('c."user"', 'c.user_data')}}} for c in d.review_comments_data] AS comments,
  [{{'null': c IS NULL, {_typed('id', 'c.id')}, {_typed('ts', 'c.created_at')},
     {_typed('body', 'c.body')},
     'u': {_user_sql('c."user"', 'c.user_data')}}} for c in d.comments_data] AS icomments
FROM (SELECT *, data AS d FROM read_json(?, format = 'newline_delimited', columns = {{
  backend_name: 'JSON', category: 'JSON', origin: 'JSON', uuid: 'JSON', updated_on: 'JSON',
  data: 'STRUCT(number JSON, "user" {_USER}, user_data {_PROFILE}, created_at JSON,
       closed_at JSON, merged_at JSON, merged JSON, state JSON, body JSON, changed_files JSON,
       additions JSON, deletions JSON, merged_by {_USER}, merged_by_data {_PROFILE},
       requested_reviewers {_LISTED_USER}[], requested_reviewers_data {_LISTED_USER}[],
       requested_teams JSON[], files_data JSON, commits_data JSON,
       reviews_data STRUCT(id JSON, state JSON, submitted_at JSON, body JSON,
                           "user" {_USER}, user_data {_PROFILE})[],
       review_comments_data STRUCT(id JSON, created_at JSON, body JSON, in_reply_to_id JSON,
                                   "user" {_USER}, user_data {_PROFILE})[],
       pull_request JSON,
       comments_data STRUCT(id JSON, created_at JSON, body JSON,
                            "user" {_USER}, user_data {_PROFILE})[])'}}))
"""


#: Perceval's placeholders (``__init_extra_pull_fields``): ``review_comments_data`` starts as
#: ``{}`` and ``merged_by_data`` as ``[]``. Other shapes DuckDB cannot read as declared (a list
#: field written as an object ...) make it refuse the line, which then takes the reference path.
_REWRITES: Final = (
    (b'"review_comments_data":{}', b'"review_comments_data":[]'),
    (b'"merged_by_data":[]', b'"merged_by_data":null'),
)


def parse_items(con: Any, raws: Sequence[bytes | None]) -> pl.DataFrame:
    """Parse the JSON lines DuckDB reads exactly as the reference parser would.

    Parameters
    ----------
    raws
        The lines of a batch without their line ends (``None``: not for this path).

    Returns
    -------
    pl.DataFrame
        One row per parsed line, ``f`` its index in ``raws``, sorted by ``f``.
    """
    # A line that is not an object (an array would pass as its records) takes the reference
    # path, and so does a line with a trailing comma (DuckDB accepts them).
    todo = [i for i, r in enumerate(raws) if r is not None and r.startswith(b"{")]
    if todo:
        commas = _trailing_commas([raws[i] for i in todo])  # type: ignore[misc]
        todo = [i for i, comma in zip(todo, commas, strict=True) if not comma]
    frames: list[pl.DataFrame] = []
    stack = [todo] if todo else []
    while stack:
        group = stack.pop()
        frame = _parse_group(con, raws, group)
        if frame is not None:
            frames.append(frame)
        elif len(group) > 1:  # find the lines DuckDB refuses: halves, in order
            half = len(group) // 2
            stack.extend([group[half:], group[:half]])
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, how="vertical_relaxed").sort("f")


def _rewrite(blob: bytes) -> bytes:
    """Perceval's placeholders for empty lists and profiles, as the reference path reads them
    (one line at a time: replacing in 3 KB lines is cheaper than in the 64 MB batch).

    ``"review_comments_data":{}`` becomes ``[]`` and ``"merged_by_data":[]`` ``null``. The quote
    before the colon of a match cannot be inside a string (it would be escaped there), so a
    match is always the value of a key ending in that name: the field itself, or a longer key
    orgnet does not read.
    """
    for old, new in _REWRITES:
        blob = blob.replace(old, new)  # the same object when there is nothing to replace
    return blob


def _trailing_commas(lines: list[bytes]) -> list[bool]:
    """Whether each line has a comma before a closing bracket, a vertical tab or a form feed
    (``_TRAILING_COMMA``).

    Searched by polars' regex engine over the lines as one column (about 15 times faster than
    ``re`` over the joined batch); a batch with invalid UTF-8, which polars cannot read as
    text, is searched line by line with ``re``.
    """
    try:
        text = pl.Series(lines, dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.ComputeError:
        return [_TRAILING_COMMA.search(line) is not None for line in lines]
    return text.str.contains(_TRAILING_COMMA.pattern.decode()).to_list()


def _parse_group(con: Any, raws: Sequence[bytes | None], group: list[int]
                 ) -> pl.DataFrame | None:
    pieces = [piece for i in group for piece in (_rewrite(raws[i]), b"\n")]  # type: ignore[arg-type]
    with batch_file(pieces, "orgnet-github-") as source:
        try:
            frame: pl.DataFrame = con.sql(_ITEM_SQL, params=[source]).pl()
        except (duckdb.Error, UnicodeDecodeError):
            return None
    # DuckDB refuses a line with more than one JSON value and keeps the file's order: one row
    # per line, in order (a refused group is split by the caller).
    if frame.height != len(group):
        return None
    return frame.with_columns(pl.Series("f", group, dtype=pl.Int64))


# -- planning ----------------------------------------------------------------------------------


_USER_JSON: Final = ("id", "login", "type", "name", "email")


def _dec(frame: pl.DataFrame, cols: Sequence[str], prefix: str = "") -> pl.DataFrame:
    """Turn JSON texts into ``<c>_t`` (the JSON type, named as DuckDB's ``json_type``) and
    ``<c>`` (the decoded string of a JSON string, else the JSON text)."""
    names = [prefix + c for c in cols]
    types = []
    for n in names:
        x = pl.col(n)
        head = x.str.slice(0, 1)
        types.append(
            pl.when(head == '"').then(pl.lit("VARCHAR")).when(head == "{").then(pl.lit("OBJECT"))
            .when(head == "[").then(pl.lit("ARRAY"))
            .when(head.is_in(["t", "f"])).then(pl.lit("BOOLEAN"))
            .when(head == "n").then(pl.lit("NULL"))
            # NaN and Infinity, which DuckDB reads and the reference parser refuses
            .when(head.is_in(["N", "I"]) | x.str.starts_with("-I")).then(pl.lit("NAN"))
            .when(x.str.contains("[.eE]")).then(pl.lit("DOUBLE"))
            .when(x.is_not_null()).then(pl.lit("UBIGINT")).alias(f"{n}_t"))
    frame = frame.with_columns(types)
    frame = frame.with_columns(
        pl.when(pl.col(f"{n}_t") == "VARCHAR").then(
            pl.col(n).str.slice(1, pl.col(n).str.len_chars() - 2)).otherwise(pl.col(n)).alias(n)
        for n in names)
    for n in names:  # strings with escapes: decoded by a JSON parser
        escaped = frame.select(((pl.col(f"{n}_t") == "VARCHAR")
                                & pl.col(n).str.contains("\\", literal=True)).fill_null(False)
                               .arg_true()).to_series()
        if escaped.len():
            col = frame.get_column(n)
            text = ('"' + col.gather(escaped) + '"').str.json_decode(pl.String)
            frame = frame.with_columns(col.scatter(escaped, text))
    return frame


def _is_null(col: str) -> pl.Expr:
    return pl.col(col).is_null() | (pl.col(col) == "NULL")


#: DuckDB's JSON types of an integer (``UBIGINT`` for non-negative ones).
_INT: Final = ["UBIGINT", "BIGINT"]


def _int_ok(t: str, v: str) -> pl.Expr:
    return pl.col(t).is_in(_INT) & pl.col(v).cast(pl.Int64, strict=False).is_not_null()


def _ts_ok(t: str, v: str) -> pl.Expr:
    return (pl.col(t) == "VARCHAR") & pl.col(v).str.contains(_TS_RE)


def _ts(v: str) -> pl.Expr:
    """The timestamp, or null where Python's ``fromisoformat`` would refuse it: polars reads a
    leap second (``:60``, as the next minute) and year 0, so the value must come back as written
    and the year be at least 1."""
    t = pl.col(v).str.strptime(pl.Datetime("us", "UTC"), _TS_FMT, strict=False)
    return pl.when((t.dt.strftime(_TS_FMT) == pl.col(v)) & (t.dt.year() >= 1)).then(t)


def _user_ok(prefix: str = "") -> pl.Expr:
    """A user object the reference path accepts without a problem (and not the ghost)."""
    c = (lambda n: pl.col(prefix + n)) if prefix else pl.col
    return (~c("null") & (c("login_t") == "VARCHAR") & c("login").str.contains(_NOT_BLANK)
            & (c("login").str.to_lowercase() != "ghost") & c("id_t").is_in(_INT)
            & c("id").cast(pl.Int64, strict=False).is_not_null())


def _user_cols(prefix: str = "") -> list[pl.Expr]:
    c = (lambda n: pl.col(prefix + n)) if prefix else pl.col
    return [c("id").cast(pl.Int64, strict=False).alias("uid"), c("login").alias("login"),
            pl.when(c("type_t") == "VARCHAR").then(c("type")).alias("typ"),
            pl.when(c("name_t") == "VARCHAR").then(c("name")).alias("uname"),
            pl.when(c("email_t") == "VARCHAR").then(c("email")).alias("email")]


USER_FIELDS: Final = ["uid", "login", "typ", "uname", "email"]
#: ``seq`` of a user occurrence: the reference path meets them in this order within an item.
_SEQ: Final = {"rr": 1 << 20, "rrd": 2 << 20, "reviews": 3 << 20, "comments": 4 << 20,
               "merger": 5 << 20, "icomments": 6 << 20}


@dataclass
class Batch:
    """Plain items of a batch and everything they produce.

    Attributes
    ----------
    items
        One row per plain item: ``f``, ``uuid``, ``version``, ``art``, ``container``,
        ``number``, ``author`` (identity id) and the artifact fields.
    users
        Each user occurrence in the order the reference path meets them: ``f``, ``seq`` and
        the cache key (``uid``, ``login``, ``typ``, ``uname``, ``email``).
    events
        Events and mentions: ``f``, ``phase`` (0 events, 1 mentions), ``g``, ``s1``, ``s2``,
        ``kind``, ``actor``, ``ts``, ``target``, ``role``, ``ref0``, ``ref1``, ``shared``,
        ``handle`` (mentions).
    """

    items: pl.DataFrame
    users: pl.DataFrame
    events: pl.DataFrame

    @property
    def plain(self) -> set[int]:
        """Indexes of the plain items."""
        return set(self.items.get_column("f").to_list()) if self.items.height else set()


def plan_batch(
    parsed: pl.DataFrame,
    *,
    containers: Callable[[str], str | None],
    identity_of: Callable[[int], str],
    is_bot: Callable[[str, str | None], bool],
    mentions: Callable[[str], list[str]],
) -> Batch:
    """Check the parsed items and build the rows of the plain ones.

    Parameters
    ----------
    containers
        ``origin`` -> ``owner/repo`` (``None``: not a GitHub repository URL).
    identity_of
        Numeric user id -> identity id.
    is_bot
        ``(login, type)`` -> bot flag, as the reference path decides it.
    mentions
        A body with ``@`` -> the lower-cased handles it mentions.
    """
    empty = Batch(pl.DataFrame(), pl.DataFrame(), pl.DataFrame())
    if parsed.height == 0:
        return empty
    df = _dec(parsed.unnest("env").unnest("pr"),
              ("backend", "category", "origin", "uuid", "upd", "number", "created", "closed",
               "merged_at", "merged", "state", "body", "cf", "add", "del", "twin"))
    # Envelope (validate_envelope) and the pull request's own fields.
    env_ok = pl.lit(True)
    for name in ("backend", "category", "origin", "uuid"):
        env_ok = env_ok & (pl.col(f"{name}_t") == "VARCHAR") & pl.col(name).str.contains(_NOT_BLANK)
    env_ok = env_ok & pl.col("upd_t").is_in([*_INT, "DOUBLE"]) & ~pl.col("no_data")
    origins = df.get_column("origin").drop_nulls().unique().to_list()
    cont_map = pl.DataFrame({"origin": origins, "container": [containers(o) for o in origins]},
                            schema={"origin": pl.String, "container": pl.String})
    df = df.join(cont_map, on="origin", how="left", maintain_order="left")
    merged = (pl.col("merged_t") == "BOOLEAN") & (pl.col("merged") == "true")
    opt_ts = {c: _is_null(f"{c}_t") | _ts_ok(f"{c}_t", c) for c in ("closed", "merged_at")}
    df = df.with_columns(
        _ts("created").alias("opened"), _ts("closed").alias("closed_ts"),
        _ts("merged_at").alias("merged_ts"),
        (merged | ~_is_null("merged_at_t")).alias("is_merged"),
    )
    merge_event = (pl.col("is_merged") & pl.col("merged_ts").is_not_null()
                   & ~pl.col("merger").struct.field("null"))
    ok = (env_ok & (pl.col("backend").str.to_lowercase() == "github")
          & pl.col("category").is_in(["pull_request", "issue"]) & pl.col("container").is_not_null()
          & _int_ok("number_t", "number") & _ts_ok("created_t", "created")
          & pl.col("opened").is_not_null() & opt_ts["closed"] & opt_ts["merged_at"]
          & (_is_null("closed_t") | pl.col("closed_ts").is_not_null())
          & (_is_null("merged_at_t") | pl.col("merged_ts").is_not_null())
          # files: a files_data list, or commits with files (any object in commits_data)
          & ~pl.col("files").str.starts_with("[").fill_null(False)
          & ~(pl.col("commits").str.starts_with("[")
              & pl.col("commits").str.contains("{", literal=True)).fill_null(False)
          & (pl.col("teams").fill_null(0) == 0)
          & pl.col("author").struct.field("null").not_())
    is_issue = pl.col("category") == "issue"
    df = df.with_columns(ok.fill_null(False).alias("ok"),
                         (merge_event & ~is_issue).fill_null(False).alias("merge_ev"),
                         is_issue.fill_null(False).alias("is_issue"),
                         # an issue that is a pull request's twin (its conversation)
                         (is_issue & ~_is_null("twin_t")).fill_null(False).alias("twin"))
    df = df.filter(pl.col("ok"))
    if df.height == 0:
        return empty
    bad: set[int] = set()

    # Users, in the reference path's order: author, requested reviewers, reviews, comments,
    # merger. seq orders them within an item.
    author = _dec(df.select("f", pl.lit(0).alias("seq"), pl.col("author").alias("u")).unnest("u"),
                  _USER_JSON)
    # Issues are read by _plan_issue: their author, conversation comments and body only.
    prs, issues = df.filter(~pl.col("is_issue")), df.filter(pl.col("is_issue"))
    pending = []
    for col in ("rr", "rrd"):
        p = (prs.select("f", col).filter(pl.col(col).list.len() > 0)
             .with_columns(pl.int_ranges(pl.col(col).list.len()).alias("i"))
             .explode(col, "i").unnest(col).pipe(_dec, _USER_JSON)
             .with_columns((pl.lit(_SEQ[col]) + pl.col("i")).alias("seq")))
        pending.append(p)
    reviews = (prs.select("f", "reviews").filter(pl.col("reviews").list.len() > 0)
               .with_columns(pl.int_ranges(pl.col("reviews").list.len()).alias("ri"))
               .explode("reviews", "ri").unnest("reviews")
               .rename({"id": "rid"}).pipe(_dec, ("rid", "state", "ts", "body")))
    bad.update(reviews.filter(pl.col("null")).get_column("f").to_list())
    reviews = reviews.filter(~pl.col("null")).drop("null")
    # PENDING reviews are skipped before anything else is read (a missing state is not one)
    reviews = reviews.filter(((pl.col("state_t") == "VARCHAR") & (pl.col("state") == "PENDING"))
                             .fill_null(False).not_())
    rv_ok = ((pl.col("state_t") == "VARCHAR") & pl.col("state").is_in(list(_REVIEW_KINDS))
             & _int_ok("rid_t", "rid") & _ts_ok("ts_t", "ts") & _user_ok("u_"))
    reviews = _dec(reviews.with_columns(
        *(pl.col("u").struct.field(n).alias(f"u_{n}") for n in ("null", *_USER_JSON))).drop("u"),
        _USER_JSON, "u_")
    reviews = reviews.with_columns(_ts("ts").alias("when"))
    bad.update(reviews.filter(~rv_ok.fill_null(False) | pl.col("when").is_null())
               .get_column("f").to_list())
    comments = (prs.select("f", "comments").filter(pl.col("comments").list.len() > 0)
                .with_columns(pl.int_ranges(pl.col("comments").list.len()).alias("ci"))
                .explode("comments", "ci").unnest("comments")
                .rename({"id": "cid"}).pipe(_dec, ("cid", "ts", "body", "reply")))
    bad.update(comments.filter(pl.col("null")).get_column("f").to_list())
    comments = _dec(comments.filter(~pl.col("null")).drop("null").with_columns(
        *(pl.col("u").struct.field(n).alias(f"u_{n}") for n in ("null", *_USER_JSON))).drop("u"),
        _USER_JSON, "u_").with_columns(_ts("ts").alias("when"))
    cm_ok = _int_ok("cid_t", "cid") & _ts_ok("ts_t", "ts") & _user_ok("u_")
    bad.update(comments.filter(~cm_ok.fill_null(False) | pl.col("when").is_null())
               .get_column("f").to_list())
    icomments = (issues.select("f", "icomments").filter(pl.col("icomments").list.len() > 0)
                 .with_columns(pl.int_ranges(pl.col("icomments").list.len()).alias("ci"))
                 .explode("icomments", "ci").unnest("icomments")
                 .rename({"id": "cid"}).pipe(_dec, ("cid", "ts", "body")))
    bad.update(icomments.filter(pl.col("null")).get_column("f").to_list())
    icomments = _dec(icomments.filter(~pl.col("null")).drop("null").with_columns(
        *(pl.col("u").struct.field(n).alias(f"u_{n}") for n in ("null", *_USER_JSON))).drop("u"),
        _USER_JSON, "u_").with_columns(_ts("ts").alias("when"))
    ic_ok = _int_ok("cid_t", "cid") & _ts_ok("ts_t", "ts") & _user_ok("u_")
    bad.update(icomments.filter(~ic_ok.fill_null(False) | pl.col("when").is_null())
               .get_column("f").to_list())
    merger = df.filter(pl.col("merge_ev")).select("f", pl.lit(_SEQ["merger"]).alias("seq"),
                                                  pl.col("merger").alias("u")).unnest("u")
    merger = _dec(merger, _USER_JSON)
    u_cols = ["f", "seq", "ok", *USER_FIELDS]
    occurrences = [
        author.select("f", "seq", _user_ok().alias("ok"), *_user_cols()),
        *(p.select("f", "seq", _user_ok().alias("ok"), *_user_cols()) for p in pending),
        reviews.select("f", (pl.lit(_SEQ["reviews"]) + pl.col("ri")).alias("seq"),
                       _user_ok("u_").alias("ok"), *_user_cols("u_")),
        comments.select("f", (pl.lit(_SEQ["comments"]) + pl.col("ci")).alias("seq"),
                        _user_ok("u_").alias("ok"), *_user_cols("u_")),
        merger.select("f", "seq", _user_ok().alias("ok"), *_user_cols()),
        icomments.select("f", (pl.lit(_SEQ["icomments"]) + pl.col("ci")).alias("seq"),
                         _user_ok("u_").alias("ok"), *_user_cols("u_")),
    ]
    users = pl.concat([o.select(u_cols) for o in occurrences if o.height],
                      how="vertical_relaxed")
    bad.update(users.filter(~pl.col("ok").fill_null(False)).get_column("f").to_list())
    if bad:
        keep = ~pl.col("f").is_in(list(bad))
        df, users = df.filter(keep), users.filter(keep)
        reviews, comments = reviews.filter(keep), comments.filter(keep)
        icomments = icomments.filter(keep)
    users = users.drop("ok").sort("f", "seq")
    if df.height == 0:
        return empty
    uids = users.get_column("uid").unique().to_list()
    id_map = pl.DataFrame({"uid": uids, "iid": [identity_of(u) for u in uids]},
                          schema={"uid": pl.Int64, "iid": pl.String})
    pairs = users.select("login", "typ").unique()
    bot_map = pairs.with_columns(pl.Series("bot", [is_bot(lg, ty) for lg, ty in pairs.iter_rows()],
                                           dtype=pl.Boolean))
    users = (users.join(id_map, on="uid", how="left", maintain_order="left")
             .join(bot_map, on=["login", "typ"], how="left", maintain_order="left", nulls_equal=True))
    who = users.select("f", "seq", "iid", "bot")

    def actor(frame: pl.DataFrame, seq: pl.Expr) -> pl.DataFrame:
        return frame.with_columns(seq.alias("seq")).join(who, on=["f", "seq"], how="left",
                                                         maintain_order="left")

    df = actor(df, pl.lit(0)).rename({"iid": "author_id", "bot": "author_bot"})
    base = df.select("f", "author_id", "opened", "container", "number", "is_issue", "twin")
    art = pl.format("github:{}#{}", pl.col("container"), pl.col("number").cast(pl.Int64))
    base = base.with_columns(art.alias("art"), pl.col("number").cast(pl.Int64).cast(pl.String)
                             .alias("num"))
    parts: list[pl.DataFrame] = []

    def part(frame: pl.DataFrame, phase: int, g: int, s1: pl.Expr, s2: pl.Expr, kind: pl.Expr,
             actor_col: str, ts: pl.Expr, target: pl.Expr, role: pl.Expr | None,
             ref0: str, ref1: pl.Expr, *, shared: bool = False,
             handle: pl.Expr | None = None) -> None:
        if frame.height == 0:
            return
        parts.append(frame.select(
            "f", pl.lit(phase).alias("phase"), pl.lit(g).alias("g"), s1.cast(pl.Int64).alias("s1"),
            s2.cast(pl.Int64).alias("s2"), kind.alias("kind"), pl.col(actor_col).alias("actor"),
            ts.alias("ts"), target.cast(pl.String).alias("target"),
            (role if role is not None else pl.lit(None, pl.String)).alias("role"),
            pl.col("art"), pl.col("container"), pl.lit(ref0).alias("ref0"),
            ref1.cast(pl.String).alias("ref1"), pl.lit(shared).alias("shared"),
            (handle if handle is not None else pl.lit(None, pl.String)).alias("handle")))

    # review requests: requested_reviewers then requested_reviewers_data, first of each target
    rr_users = pl.concat([p.select("f", "seq") for p in pending if p.height], how="vertical_relaxed") \
        if any(p.height for p in pending) else pl.DataFrame(schema={"f": pl.Int64, "seq": pl.Int64})
    rq = (rr_users.join(who, on=["f", "seq"], how="inner", maintain_order="left").sort("f", "seq")
          .filter(pl.col("iid").is_first_distinct().over("f"))
          .join(base, on="f", how="inner", maintain_order="left"))
    part(rq, 0, 0, pl.col("seq"), pl.lit(0), pl.lit("review_requested"), "author_id",
         pl.col("opened"), pl.col("iid"), pl.lit("requested_reviewer"),
         "review_request_pending", pl.col("iid"))
    # reviews
    rv = actor(reviews, pl.lit(_SEQ["reviews"]) + pl.col("ri")).join(base, on="f", how="inner",
                                                               maintain_order="left")
    rv = rv.with_columns(pl.col("state").replace_strict(_REVIEW_KINDS, default=None).alias("kind"),
                         pl.col("rid").cast(pl.Int64).cast(pl.String).alias("rid_s"),
                         ((pl.col("body_t") == "VARCHAR")
                          & pl.col("body").str.contains(_NOT_BLANK)).fill_null(False)
                         .alias("has_body"))
    rv_emit = rv.filter((pl.col("kind") != "review_commented") | pl.col("has_body"))
    part(rv_emit, 0, 1, pl.col("ri"), pl.lit(0), pl.col("kind"), "iid", pl.col("when"),
         pl.col("author_id"), pl.lit("artifact_author"), "review", pl.col("rid_s"))
    # review comments, with the author of the comment they answer (earlier or itself)
    cm = actor(comments, pl.lit(_SEQ["comments"]) + pl.col("ci")).join(base, on="f", how="inner",
                                                                maintain_order="left")
    cm = cm.with_columns(pl.col("cid").cast(pl.Int64).alias("cid_i"),
                         pl.when(pl.col("reply_t").is_in(_INT))
                         .then(pl.col("reply").cast(pl.Int64, strict=False)).alias("reply_i"),
                         pl.col("cid").cast(pl.Int64).cast(pl.String).alias("cid_s"))
    parents = cm.select("f", pl.col("ci").alias("pi"), pl.col("cid_i").alias("reply_i"),
                        pl.col("iid").alias("parent_author")).sort("pi")
    cm = cm.sort("ci").join_asof(
        parents.filter(pl.col("reply_i").is_not_null()), left_on="ci", right_on="pi",
        by=["f", "reply_i"], strategy="backward", allow_exact_matches=True,
        check_sortedness=False).sort("f", "ci")
    part(cm, 0, 2, pl.col("ci"), pl.lit(0), pl.lit("review_comment"), "iid", pl.col("when"),
         pl.col("author_id"), pl.lit("artifact_author"), "review_comment", pl.col("cid_s"))
    cm2 = cm.filter(pl.col("parent_author").is_not_null()
                    & (pl.col("parent_author") != pl.col("author_id")))
    part(cm2, 0, 2, pl.col("ci"), pl.lit(1), pl.lit("review_comment"), "iid", pl.col("when"),
         pl.col("parent_author"), pl.lit("parent_author"), "review_comment", pl.col("cid_s"))
    # merge
    mg = actor(df.filter(pl.col("merge_ev")).select("f", "merged_ts"), pl.lit(_SEQ["merger"])).join(
        base, on="f", how="inner", maintain_order="left")
    part(mg, 0, 3, pl.lit(0), pl.lit(0), pl.lit("change_merged"), "iid", pl.col("merged_ts"),
         pl.col("author_id"), pl.lit("artifact_author"), "merge", pl.col("num"))
    # the opening, shared with the pull request's issue twin
    opening = base.filter(~pl.col("is_issue") | pl.col("twin"))
    part(opening, 0, 4, pl.lit(0), pl.lit(0), pl.lit("change_opened"), "author_id",
         pl.col("opened"), pl.lit(None, pl.String), None, "pull_request", pl.col("num"),
         shared=True)
    # conversation comments of issues (and of pull requests, through their twins)
    ic = actor(icomments, pl.lit(_SEQ["icomments"]) + pl.col("ci")).join(
        base, on="f", how="inner", maintain_order="left").with_columns(
        pl.col("cid").cast(pl.Int64).cast(pl.String).alias("cid_s"))
    part(ic, 0, 2, pl.col("ci"), pl.lit(0), pl.lit("comment"), "iid", pl.col("when"),
         pl.col("author_id"), pl.lit("artifact_author"), "comment", pl.col("cid_s"))
    # mentions: reviews, review comments, then the pull request's body (shared)

    def mention_rows(frame: pl.DataFrame, idx: str) -> pl.DataFrame:
        frame = frame.filter((pl.col("body_t") == "VARCHAR") & pl.col("body").str.contains("@"))
        if frame.height == 0:
            return frame.with_columns(pl.lit(None, pl.String).alias("handle"),
                                      pl.lit(0, pl.Int64).alias("mi"))
        found = [mentions(b) for b in frame.get_column("body").to_list()]
        frame = frame.with_columns(pl.Series("handle", found, dtype=pl.List(pl.String)))
        frame = frame.filter(pl.col("handle").list.len() > 0)
        return frame.with_columns(pl.int_ranges(pl.col("handle").list.len()).alias("mi")).explode(
            "handle", "mi").sort("f", idx, "mi")

    rvm = mention_rows(rv_emit, "ri")
    part(rvm, 1, 5, pl.col("ri"), pl.col("mi"), pl.lit("mention"), "iid", pl.col("when"),
         pl.lit(None, pl.String), pl.lit("mentioned"), "review", pl.col("rid_s"),
         handle=pl.col("handle"))
    cmm = mention_rows(cm, "ci")
    part(cmm, 1, 6, pl.col("ci"), pl.col("mi"), pl.lit("mention"), "iid", pl.col("when"),
         pl.lit(None, pl.String), pl.lit("mentioned"), "review_comment", pl.col("cid_s"),
         handle=pl.col("handle"))
    icm = mention_rows(ic, "ci")
    part(icm, 1, 6, pl.col("ci"), pl.col("mi"), pl.lit("mention"), "iid", pl.col("when"),
         pl.lit(None, pl.String), pl.lit("mentioned"), "comment", pl.col("cid_s"),
         handle=pl.col("handle"))
    prm = mention_rows(df.select("f", "body_t", "body").join(base, on="f", maintain_order="left"),
                       "f")
    # the body of a pull request (or its twin) is shared; an issue's comes before its comments'
    opened_by = prm.filter(~pl.col("is_issue") | pl.col("twin"))
    part(opened_by, 1, 7, pl.lit(0), pl.col("mi"), pl.lit("mention"), "author_id",
         pl.col("opened"), pl.lit(None, pl.String), pl.lit("mentioned"), "pull_request",
         pl.col("num"), shared=True, handle=pl.col("handle"))
    part(prm.filter(pl.col("is_issue") & ~pl.col("twin")), 1, 5, pl.lit(0), pl.col("mi"),
         pl.lit("mention"), "author_id", pl.col("opened"), pl.lit(None, pl.String),
         pl.lit("mentioned"), "issue", pl.col("num"), handle=pl.col("handle"))
    events = pl.concat(parts, how="vertical_relaxed").sort("f", "phase", "g", "s1", "s2",
                                                           maintain_order=True)

    # first review: the earliest review or inline comment by someone else, not a bot
    rev_times = pl.concat([
        rv.select("f", "iid", "bot", "when"), cm.select("f", "iid", "bot", "when")],
        how="vertical_relaxed").join(base.select("f", "author_id"), on="f")
    first = (rev_times.filter((pl.col("iid") != pl.col("author_id")) & ~pl.col("bot"))
             .group_by("f").agg(pl.col("when").min().alias("first_review")))

    def count(v: str) -> pl.Expr:
        n = pl.col(v).cast(pl.Int64, strict=False)
        return pl.when(pl.col(f"{v}_t").is_in(_INT) & (n >= 0) & (n < 2**31)).then(n)

    items = (df.join(first, on="f", how="left", maintain_order="left")
             .join(base.select("f", "art"), on="f", maintain_order="left")
             .select(
        "f", pl.col("uuid"), pl.col("upd").cast(pl.Float64).alias("version"), "art", "container",
        pl.col("number").cast(pl.Int64), pl.col("author_id"), pl.col("opened"),
        pl.col("first_review"),
        pl.when(pl.col("is_issue")).then(pl.lit("issue")).otherwise(pl.lit("pull_request"))
        .alias("kind"),
        # the record's label, and whether it writes an artifact (a twin does not)
        pl.when(pl.col("is_issue") & ~pl.col("twin")).then(pl.lit("issue"))
        .otherwise(pl.lit("pull")).alias("label"),
        (~pl.col("twin")).alias("has_artifact"),
        pl.when(pl.col("is_issue")).then(pl.col("closed_ts"))
        .otherwise(pl.coalesce("merged_ts", "closed_ts")).alias("closed_at"),
        pl.when(~pl.col("is_issue")).then(pl.col("is_merged")).alias("merged"),
        pl.when(pl.col("is_merged") & ~pl.col("is_issue")).then(pl.lit("merged"))
        .when(((pl.col("state_t") == "VARCHAR") & (pl.col("state") == "closed")).fill_null(False)
              | pl.col("closed_ts").is_not_null()).then(pl.lit("closed"))
        .otherwise(pl.lit("open")).alias("outcome"),
        *(pl.when(~pl.col("is_issue")).then(count(c)).alias(n) for c, n in (
            ("cf", "n_files"), ("add", "lines_added"), ("del", "lines_deleted")))))
    return Batch(items, users, events)


# -- replay ------------------------------------------------------------------------------------


def replay(
    b: ImportBuilder,
    plans: list[RecordPlan | None],
    plain: tuple[pl.DataFrame, pl.DataFrame],
    *,
    lines: list[int],
    resolve: dict[str, str],
    con: Any,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> dict[str, int]:
    """Replay reference plans and plain items together, in file order.

    Parameters
    ----------
    plans
        One entry per record: a :class:`RecordPlan`, or ``None`` for a plain item.
    plain
        ``(items, events)`` of the plain items (:class:`Batch` rows, ``f`` now the index in
        ``plans``).
    lines
        File line of every record.
    resolve
        Lower-cased login -> identity id (every account of the input).
    since, until
        The import window (aware UTC datetimes or ``None``): events outside it are left out,
        and a record with no event inside it is skipped.

    Returns
    -------
    dict
        As :func:`orgnet.importers.perceval.replay`.
    """
    items, events = plain
    if items.height == 0:
        items = pl.DataFrame(schema={"f": pl.Int64, "uuid": pl.String, "version": pl.Float64,
                                     "art": pl.String, "label": pl.String})
    windowed = since is not None or until is not None
    outside: set[int] = set()  # plain records with no event in the window
    if events.height:
        events = events.with_row_index("_row")
        if windowed:
            inside = pl.lit(True)
            if since is not None:
                inside = inside & (pl.col("ts") >= since)
            if until is not None:
                inside = inside & (pl.col("ts") < until)
            events = events.with_columns(inside.alias("_in"))
            has = events.filter(pl.col("phase") == 0).group_by("f").agg(pl.col("_in").any())
            outside = set(has.filter(~pl.col("_in")).get_column("f").to_list())
            events = events.filter(pl.col("_in")).drop("_in")
    # Latest version of each key: the first record with the highest version wins.
    top = (items.group_by("uuid").agg(
        pl.col("version").max().alias("best_v"),
        pl.col("f").filter(pl.col("version") == pl.col("version").max()).min().alias("best_i")))
    best: dict[str, tuple[float, int]] = dict(zip(
        top.get_column("uuid").to_list(),
        zip(top.get_column("best_v").to_list(), top.get_column("best_i").to_list(), strict=True),
        strict=True))
    refs = [i for i, plan in enumerate(plans) if plan is not None]
    ref_keys: set[str] = set()
    for i in refs:
        plan = plans[i]
        assert plan is not None
        if plan.key is None or plan.rejected or plan.skip_reason:
            continue
        ref_keys.add(plan.key)
        version = plan.version if plan.version is not None else 0.0
        cur = best.get(plan.key)
        if cur is None or version > cur[0] or (version == cur[0] and i < cur[1]):
            best[plan.key] = (version, i)
    if ref_keys:
        top = pl.DataFrame({"uuid": list(best), "best_v": [v[0] for v in best.values()],
                            "best_i": [v[1] for v in best.values()]},
                           schema={"uuid": pl.String, "best_v": pl.Float64, "best_i": pl.Int64})
    st = items.select("f", "uuid", "version", "art", "label").join(
        top, on="uuid", how="left", maintain_order="left").with_columns(
        pl.when((pl.col("best_i") == pl.col("f")) & pl.col("f").is_in(list(outside)))
        .then(3).when(pl.col("best_i") == pl.col("f")).then(0)
        .when(pl.col("best_v") == pl.col("version")).then(2).otherwise(1).alias("status"))
    pos: list[int] = st.get_column("f").to_list()
    status: list[int] = st.get_column("status").to_list()
    stats = {"mentions_unresolved": 0, "handles_unresolved": 0}
    shared_seen: set[tuple[Any, ...]] = set()
    # Lines of the winning plain records, for the reference path's duplicate messages.
    first_line: dict[tuple[str, float], int | None] = {
        (k, v): lines[f] for k, v, f in
        st.filter(pl.col("status").is_in([0, 3]) & pl.col("uuid").is_in(list(ref_keys)))
        .select("uuid", "version", "f").iter_rows()} if ref_keys else {}
    sequential = any(plans[i].shared_events or plans[i].shared_mentions  # type: ignore[union-attr]
                     for i in refs)
    sh_pos: list[int] = []
    sh_rows: list[int] = []
    sh_keys: list[tuple[Any, ...]] = []
    if events.height:
        ok_f = st.filter(pl.col("status") == 0).select("f")
        shared = events.filter(pl.col("shared")).join(ok_f, on="f", how="semi",
                                                      maintain_order="left")
        if not sequential:  # shared rows meet only each other: the first of each is kept
            cols = ["phase", "kind", "actor", "target", "role", "art", "container", "ref0",
                    "ref1", "handle"]
            dup = shared.filter(~pl.struct(cols).is_first_distinct()).get_column("_row")
            if dup.len():
                events = events.filter(~pl.col("_row").is_in(dup.implode()))
        else:  # in file order with the reference plans' shared events
            sh_pos = shared.get_column("f").to_list()
            sh_rows = shared.get_column("_row").to_list()
            for ph, kind, actor, target, role, art, cont, r0, r1, handle in shared.select(
                    "phase", "kind", "actor", "target", "role", "art", "container", "ref0",
                    "ref1", "handle").iter_rows():
                sh_keys.append(("e", kind, actor, target, role, art, cont, None, (r0, r1))
                               if ph == 0 else
                               ("m", actor, handle, art, cont, (r0, r1), kind, "mentioned"))
    dropped: list[int] = []
    j = 0  # next shared row (sequential mode)
    logins = pl.DataFrame({"handle": list(resolve), "resolved": list(resolve.values())},
                          schema={"handle": pl.String, "resolved": pl.String})

    def emit_plain(lo: int, hi: int) -> None:
        """Plain items ``pos[lo:hi]``: runs of records begun at once (at most ``EMIT_RECORDS``
        each), duplicates one by one."""
        nonlocal j
        k = lo
        while k < hi:
            statuses: list[str] = []
            run: list[int] = []
            skipped: Counter[str] = Counter()
            while k < hi and status[k] != 2 and len(run) < EMIT_RECORDS:
                f = pos[k]
                if status[k] in (1, 3):
                    statuses.append("skipped")
                    skipped["superseded by a newer version of the same item" if status[k] == 1
                            else "outside the --since/--until window"] += 1
                    run.append(-1)
                else:
                    statuses.append("ok")
                    run.append(f)
                    while j < len(sh_pos) and sh_pos[j] < f:
                        j += 1
                    while j < len(sh_pos) and sh_pos[j] == f:
                        if sh_keys[j] in shared_seen:
                            dropped.append(sh_rows[j])
                        else:
                            shared_seen.add(sh_keys[j])
                        j += 1
                k += 1
            if statuses:
                first = b.begin_many(statuses, skipped)
                _emit(b, items, events, run, first, dropped, logins, stats, con)
                dropped.clear()
            if k < hi and status[k] == 2:  # a duplicate: same id and version as the winner
                f = pos[k]
                key, _version, art, label = st.row(k)[1:5]
                b.begin(line=lines[f], record=f"{label} {art.removeprefix('github:')}")
                b.reject(f"duplicate item: same id and update time as line {lines[best[key][1]]}",
                         field="uuid", raw=f"uuid {key}")
                k += 1

    k = 0
    for i in refs:
        lo = k
        while k < len(pos) and pos[k] < i:
            k += 1
        emit_plain(lo, k)
        plan = plans[i]
        assert plan is not None
        replay_plan(b, plan, i, best=best, first_line=first_line, shared_seen=shared_seen,
                    stats=stats, resolve_handle=resolve.get, since=since, until=until)
    emit_plain(k, len(pos))
    return stats


def _emit(b: ImportBuilder, items: pl.DataFrame, events: pl.DataFrame, run: list[int],
          first: int, dropped: list[int], logins: pl.DataFrame, stats: dict[str, int],
          con: Any) -> None:
    """Events and artifacts of a run of plain records (``-1``: a superseded one)."""
    kept = [p for p in run if p >= 0]  # increasing
    if not kept:
        return
    recs = pl.DataFrame({"f": kept, "_rec": [first + n for n, p in enumerate(run) if p >= 0]},
                        schema={"f": pl.Int64, "_rec": pl.Int64})
    lo, hi = kept[0], kept[-1]

    def rows(frame: pl.DataFrame) -> pl.DataFrame:  # sorted by f: the run's slice, joined
        fs = frame.get_column("f")
        a = fs.search_sorted(lo, side="left")
        z = fs.search_sorted(hi, side="right")
        return frame.slice(a, z - a).join(recs, on="f", how="inner", maintain_order="left")

    ev = rows(events) if events.height else events
    if dropped:
        ev = ev.filter(~pl.col("_row").is_in(dropped))
    if ev.height:
        ev = ev.join(logins, on="handle", how="left", maintain_order="left")
        unresolved = ev.filter((pl.col("phase") == 1) & pl.col("resolved").is_null())
        stats["mentions_unresolved"] += unresolved.height
        ev = ev.filter((pl.col("phase") == 0) | pl.col("resolved").is_not_null()).with_columns(
            pl.coalesce("target", "resolved").alias("target"))
        key = event_key(b.source_kind, b.instance, kind=pl.col("kind"), artifact=pl.col("art"),
                        ref0=pl.col("ref0"), ref1=pl.col("ref1"), actor=pl.col("actor"),
                        target=pl.col("target"), value=None)
        ev = ev.with_columns(event_ids(ev.select(key.alias("k")).get_column("k"), con)
                             .alias("event_id"))
        b.add_frame("interactions", ev.select(
            "event_id", pl.lit(b.source_kind).alias("source"), "kind",
            pl.col("actor").alias("actor_id"), pl.col("target").alias("target_id"),
            pl.col("role").alias("target_role"), pl.col("art").alias("artifact_id"),
            "container", "ts", pl.lit(1.0).alias("weight"), "_rec"))
    arts = rows(items).filter(pl.col("has_artifact"))
    b.add_frame("artifacts", arts.select(
        pl.col("art").alias("artifact_id"), "kind",
        pl.lit(b.source_kind).alias("source"), "container", "author_id",
        "opened_at" if "opened_at" in arts.columns else pl.col("opened").alias("opened_at"),
        pl.col("first_review").alias("first_review_at"), "closed_at", "merged", "outcome",
        "n_files", "lines_added", "lines_deleted", "_rec"))

