"""Columnar reading of plain commits of a ``git log`` (FORMAT_commits.md): polars parses, DuckDB hashes.

The reference path of :mod:`orgnet.importers.git` splits the log into records and turns each
record into rows in Python (about 40 µs per commit). Almost every record of a real log is a
*plain* commit: twelve header fields, one trailer block ended by GS, strict ISO dates with an
offset, valid parents, numstat lines ``added TAB deleted TAB path``. This module reads the log in
blocks of :data:`BLOCK_BYTES` and does the reference rules column-wise for the plain commits of a
block:

1. A block ends just before a record start (RS, a commit hash, US), so records never straddle
   blocks. It is split at every RS byte; a piece that does not start with a hash is data of the
   record before it, exactly as :func:`orgnet.importers.git._segments` splits the stream.
2. A record is *plain* when it is one piece of valid UTF-8 with exactly one GS and eleven US
   before it, its hash is not seen elsewhere in the input so far nor twice in the block, its
   parents are hashes separated by single spaces, both dates are ``YYYY-MM-DDTHH:MM:SS±HH:MM``
   (years 1900-2199) naming a real time, every non-empty numstat line is
   ``count TAB count TAB path`` (counts ``-`` or up to nine digits), every credit trailer has a
   usable identity without a problem, the author is not blank and, with a ``review_pattern``,
   the subject does not match it. Everything else (text before the first commit, records with
   an RS inside, truncated records, bad dates, stray lines ...) goes to the reference
   :meth:`_Parser.record <orgnet.importers.git._Parser.record>` in file order, so its treatment,
   rejects included, is exactly the reference one.
   So do the plain commits of short runs in a block with many runs (:data:`_MAX_RUNS`,
   :data:`_MIN_RUN`): each run costs a few milliseconds of frame work, so a log that alternates
   plain and odd commits is read faster by the reference path.
3. Per-value rules whose exact Python semantics matter (``str.strip``, ``casefold``, mailmaps,
   trailer values, C-quoted and renamed paths, identities) are applied in Python once per
   distinct value of the block and joined back.

Records are begun in file order (runs of plain commits with ``begin_many``), identities are
registered in the order the reference path first sees them, and name counts are added per
block, so identities, settled names, rows and their order are those of the reference path.
The commit subject is only matched against ``review_pattern``; no commit text is kept.
"""

from __future__ import annotations

import bisect
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from itertools import repeat
from typing import IO, Any, Final

import polars as pl

from orgnet.importers._base import Identity, duckdb_connect, event_ids, event_key

# The rules are the reference importer's; it imports this module only when it runs.
from orgnet.importers.git import (
    _HEADER_AT,
    CREDIT_TRAILERS,
    SKIP_WINDOW,
    _Parser,
    _rename_target,
    _unquote_c,
    git_identity,
)

__all__ = ["BLOCK_BYTES", "read_log"]

#: Event ids of a block are hashed in DuckDB from this many events on (in Python below).
_DUCKDB_MIN: Final = 20_000

#: Decompressed bytes of log read per block.
BLOCK_BYTES: Final = 32 << 20
#: More runs of plain records than this in a block and the runs shorter than ``_MIN_RUN``
#: records take the reference path (each run costs a few milliseconds of frame work, about
#: what 100-150 records cost on the reference path; measured on 20,000 commits with one odd
#: commit every k: columnar as fast as the reference from runs of about 128 records on).
_MAX_RUNS: Final = 32
_MIN_RUN: Final = 128

_RS: Final = b"\x1e"
_RS_CRC: Final = zlib.crc32(_RS)
_HEX: Final = r"[0-9a-f]{40}(?:[0-9a-f]{24})?"
_SHA_RE: Final = rf"^({_HEX})\x1f"
_PARENTS_RE: Final = rf"^(?:{_HEX}(?: {_HEX})*)?$"
_DATE_RE: Final = (r"^(?:19|20|21)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
                   r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9][+-](?:[01][0-9]|2[0-3]):[0-5][0-9]$")
_COUNT_RE: Final = r"^(?:-|[0-9]{1,9})$"
#: ``bytes.strip()`` whitespace.
_ASCII_WS: Final = " \t\n\r\x0b\x0c"
_FIELDS: Final = ("sha", "parents", "an", "ae", "aN", "aE", "ad", "cn", "ce", "cd", "subject",
                  "trailers")
_KEY: Final = {"name": pl.String, "email": pl.String}


def _blocks(fh: IO[bytes]) -> Iterator[bytes]:
    """The stream in blocks; every block but the first starts with a record start."""
    buf = bytearray()
    checked = 0  # buf[1:checked] holds no record start: each byte is looked at once
    while True:
        chunk = fh.read(BLOCK_BYTES)
        if not chunk:
            break
        buf += chunk
        # The last record start with enough bytes after it to be sure it is one.
        end = max(len(buf) - 65, 0)
        i = buf.rfind(_RS, checked, end)
        while i > 0 and _HEADER_AT.match(buf, i + 1) is None:
            i = buf.rfind(_RS, checked, i)
        if i > 0:
            yield bytes(buf[:i])
            del buf[:i]
            checked = end - i
        else:
            checked = end
    if buf:
        yield bytes(buf)


def _texts(block: bytes, pieces: list[bytes]) -> pl.Series:
    """The pieces as strings, null where a piece is not valid UTF-8."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        decoded: list[str | None] = []
        for piece in pieces:
            try:
                decoded.append(piece.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(None)
        return pl.Series("t", decoded, dtype=pl.String)
    series = pl.Series("t", [text], dtype=pl.String).str.split("\x1e").explode()
    if series.len() != len(pieces):
        raise RuntimeError("git log pieces out of step")
    return series.rename("t")


def _lookup(values: pl.Series, fn: Callable[[Any], Any], name: str,
            dtype: Any) -> pl.DataFrame:
    """``fn`` applied in Python once per distinct value: a frame ``(value, name)`` to join."""
    uniq = values.unique()
    out = [fn(v) for v in uniq.to_list()]
    return pl.DataFrame([uniq, pl.Series(name, out, dtype=dtype)])


class _Block:
    """The plain commits of one block, column-wise."""

    def __init__(self, parser: _Parser, block: bytes) -> None:
        self.parser = parser
        pieces = block.split(_RS)
        texts = _texts(block, pieces)
        frame = pl.DataFrame([texts]).with_row_index("p").with_columns(
            pl.col("t").str.count_matches("\n", literal=True).alias("nl"),
            pl.col("t").str.extract(_SHA_RE, 1).alias("sha"),
        ).with_columns(pl.col("sha").is_not_null().alias("start"))  # a record's header
        if texts.null_count():  # invalid UTF-8: looked at as bytes
            bad = texts.is_null().arg_true().to_list()
            nl = frame.get_column("nl").to_list()
            start = frame.get_column("start").to_list()
            sha = frame.get_column("sha").to_list()
            for i in bad:
                m = _HEADER_AT.match(pieces[i])
                nl[i] = pieces[i].count(b"\n")
                start[i] = m is not None
                sha[i] = m.group()[:-1].decode("ascii") if m else None
            frame = frame.with_columns(pl.Series("nl", nl, dtype=pl.UInt32),
                                       pl.Series("start", start, dtype=pl.Boolean),
                                       pl.Series("sha", sha, dtype=pl.String))
        n = len(pieces)
        frame = frame.with_columns(
            (pl.col("start") & (pl.col("p") > 0)).alias("start"),
        ).with_columns(
            (pl.col("start") | (pl.col("p") == 0)).cum_sum().alias("grp"),
            (pl.col("nl").cum_sum() - pl.col("nl")).alias("nl_before"),
        )
        self.n_lines = int(frame.get_column("nl").sum())
        # A candidate is a one-piece record: a start followed by a start (or the block's end).
        nxt = pl.col("start").shift(-1, fill_value=True)
        frame = frame.with_columns((pl.col("start") & nxt & pl.col("t").is_not_null())
                                   .alias("cand"))
        # Hashes seen before this block or twice in it: the reference path keeps its crc check.
        starts = frame.filter(pl.col("start"))
        shas = starts.get_column("sha")
        seen = parser._seen
        seen_before = pl.Series([s in seen for s in shas.to_list()], dtype=pl.Boolean)
        dup = starts.select(pl.col("p"), (shas.is_duplicated() | seen_before).alias("dup"))
        frame = frame.join(dup, on="p", how="left", maintain_order="left")
        self.frame = frame
        self.pieces = pieces
        self.n = n

    def plan(self) -> None:
        """Decide which records are plain and build their rows."""
        parser = self.parser
        cand = self.frame.filter(pl.col("cand") & ~pl.col("dup").fill_null(False)).select(
            "p", "t", "sha")
        cand = self._unnest(cand)
        ok = ((pl.col("n_gs") == 1) & (pl.col("n_us") == 11)
              & pl.col("parents").str.contains(_PARENTS_RE)
              & pl.col("ad").str.contains(_DATE_RE) & pl.col("cd").str.contains(_DATE_RE))
        cand = cand.filter(ok.fill_null(False))

        def when(col: str) -> tuple[pl.Expr, pl.Expr]:
            c = pl.col(col)
            local = c.str.slice(0, 19).str.to_datetime("%Y-%m-%dT%H:%M:%S", time_unit="us",
                                                       strict=False)
            off = (pl.when(c.str.slice(19, 1) == "-").then(-1).otherwise(1)
                   * (c.str.slice(20, 2).cast(pl.Int32, strict=False) * 60
                      + c.str.slice(23, 2).cast(pl.Int32, strict=False)))
            return (local - pl.duration(minutes=off)), off

        a_ts, a_off = when("ad")
        c_ts, c_off = when("cd")
        cand = cand.with_columns(a_ts.alias("a_ts"), a_off.alias("a_off"), c_ts.alias("c_ts"),
                                 c_off.alias("c_off")).filter(
            pl.col("a_ts").is_not_null() & pl.col("c_ts").is_not_null())
        bad: list[pl.Series] = []  # p of records that are not plain after all

        # Authors and committers: Python rules once per distinct value.
        mm = parser.mailmap

        def author_key(v: dict[str, str]) -> tuple[str, str] | None:
            an, ae, a_name, a_email = v["an"], v["ae"], v["aN"], v["aE"]
            if mm is not None and ae:
                hit = mm.lookup(an, ae)
                if hit is not None:
                    a_name, a_email = hit[0] or an, hit[1] or ae
            if not (a_name.strip() or a_email.strip()):
                return None
            return a_name, a_email

        def committer_key(v: dict[str, str]) -> tuple[str, str] | None:
            c_name, c_email = parser.mapped(v["cn"], v["ce"])
            if c_name.strip() or c_email.strip():
                return c_name, c_email
            return None

        a_struct = pl.struct("an", "ae", "aN", "aE").alias("ak")
        c_struct = pl.struct("cn", "ce").alias("ck")
        cand = cand.with_columns(a_struct, c_struct)
        keys: dict[tuple[str, str], int] = {}

        def kid(key: tuple[str, str] | None) -> int | None:
            if key is None:
                return None
            k = keys.get(key)
            if k is None:
                k = keys[key] = len(keys)
            return k

        amap = _lookup(cand.get_column("ak"), lambda v: kid(author_key(v)), "a_kid", pl.Int64)
        cmap = _lookup(cand.get_column("ck"), lambda v: kid(committer_key(v)), "c_kid", pl.Int64)
        cand = cand.join(amap, on="ak", how="left", maintain_order="left").join(
            cmap, on="ck", how="left", maintain_order="left").drop("ak", "ck")
        bad.append(cand.filter(pl.col("a_kid").is_null()).get_column("p"))

        if parser.review is not None:
            review = parser.review
            subj = cand.get_column("subject").to_list()
            hits = [bool(s) and review.search(s) is not None for s in subj]
            bad.append(cand.get_column("p").filter(pl.Series(hits, dtype=pl.Boolean)))

        # Trailers: one row per line with a ":", credit keys only.
        tr = cand.filter(pl.col("trailers") != "").select(
            "p", pl.col("trailers").str.split("\n").alias("line")).explode("line").with_row_index("r")
        kv = pl.col("line").str.splitn(":", 2)
        tr = tr.with_columns(kv.struct.field("field_0").alias("ktext"),
                             kv.struct.field("field_1").alias("val")).filter(
            pl.col("val").is_not_null() & (pl.col("line") != ""))
        def spec(k: str) -> str | None:
            hit = CREDIT_TRAILERS.get(k.strip().casefold())
            return None if hit is None else f"{hit[0]}\x00{hit[1]}"

        smap = _lookup(tr.get_column("ktext"), spec, "spec", pl.String)
        tr = tr.join(smap, on="ktext", how="inner", maintain_order="left").filter(
            pl.col("spec").is_not_null())

        def trailer_kid(v: str) -> int:
            usable, problem, name, email = parser.trailer_identity(v.strip())
            if not usable or problem:
                return -1
            k = kid((name, email))
            assert k is not None
            return k

        vmap = _lookup(tr.get_column("val"), trailer_kid, "t_kid", pl.Int64)
        tr = tr.join(vmap, on="val", how="left", maintain_order="left")
        bad.append(tr.filter(pl.col("t_kid") < 0).get_column("p"))
        tr = tr.select("p", "r", "t_kid",
                       pl.col("spec").str.split_exact("\x00", 1).struct.field("field_0")
                       .alias("kind"),
                       pl.col("spec").str.split_exact("\x00", 1).struct.field("field_1")
                       .alias("value"))

        # Numstat.
        blank = pl.col("tail").str.strip_chars(_ASCII_WS) == ""
        cand = cand.with_columns(blank.alias("blank"))
        ns = cand.filter(~pl.col("blank")).select(
            "p", pl.col("tail").str.split("\n").alias("line")).explode("line").filter(
            pl.col("line") != "")
        parts = pl.col("line").str.splitn("\t", 3)
        ns = ns.with_columns(parts.struct.field("field_0").alias("a"),
                             parts.struct.field("field_1").alias("d"),
                             parts.struct.field("field_2").alias("path")).drop("line")
        line_ok = (pl.col("a").str.contains(_COUNT_RE) & pl.col("d").str.contains(_COUNT_RE)
                   & pl.col("path").is_not_null() & (pl.col("path") != "")).fill_null(False)
        ns = ns.with_columns(line_ok.alias("ok"))
        bad.append(ns.filter(~pl.col("ok")).get_column("p"))
        quoted = (pl.col("path").str.starts_with('"') & pl.col("path").str.ends_with('"')
                  & (pl.col("path").str.len_chars() >= 2))
        renamed = ~quoted & pl.col("path").str.contains(" => ", literal=True)
        ns = ns.with_columns(quoted.alias("quoted"), renamed.alias("renamed"))
        odd = ns.filter(pl.col("quoted") | pl.col("renamed"))
        if odd.height:
            def fix(v: dict[str, Any]) -> str:
                return str(_unquote_c(v["path"]) if v["quoted"] else _rename_target(v["path"]))

            pmap = _lookup(odd.select(pl.struct("path", "quoted").alias("pq")).get_column("pq"),
                           fix, "new_path", pl.String)
            ns = ns.with_columns(pl.struct("path", "quoted").alias("pq")).join(
                pmap, on="pq", how="left", maintain_order="left").with_columns(
                pl.coalesce("new_path", "path").alias("path")).drop("pq", "new_path")

        # Every check done: the plain records.
        bad_p = pl.concat([s.cast(pl.UInt32) for s in bad]).unique()
        cand = cand.filter(~pl.col("p").is_in(bad_p.implode()))
        cand = self._without_short_runs(cand)
        if parser.since is not None or parser.until is not None:
            out = pl.lit(False)
            if parser.since is not None:
                out = out | (pl.col("c_ts") < parser.since.replace(tzinfo=None))
            if parser.until is not None:
                out = out | (pl.col("c_ts") >= parser.until.replace(tzinfo=None))
            cand = cand.with_columns(out.alias("skip"))
        else:
            cand = cand.with_columns(pl.lit(False).alias("skip"))
        self.plain_p: list[int] = cand.get_column("p").to_list()
        self.plain_skip: list[bool] = cand.get_column("skip").to_list()
        self.plain_sha: list[str] = cand.get_column("sha").to_list()
        kept = cand.filter(~pl.col("skip"))
        kp = kept.select("p")
        tr = tr.join(kp, on="p", how="semi", maintain_order="left")
        ns = ns.join(kp, on="p", how="semi", maintain_order="left")
        self.renames = int(ns.get_column("renamed").sum())

        # Identities: key ids -> identity ids, without registering (done in file order, with
        # the identities made here).
        key_list = list(keys)
        people = parser._people
        iids: list[str] = []
        self.idents: dict[int, tuple[Identity, str | None]] = {}
        for k, pair in enumerate(key_list):
            hit = people.get(pair)
            if hit is None:
                made = self.idents[k] = git_identity(*pair)
                iids.append(made[0].identity_id)
            else:
                iids.append(hit[0])
        self.key_list = key_list
        id_frame = pl.DataFrame({"kid": pl.Series(range(len(key_list)), dtype=pl.Int64),
                                 "iid": pl.Series(iids, dtype=pl.String)})

        def iid_of(frame: pl.DataFrame, col: str, alias: str) -> pl.DataFrame:
            return frame.join(id_frame.rename({"kid": col, "iid": alias}), on=col, how="left",
                              maintain_order="left")

        kept = iid_of(iid_of(kept, "a_kid", "author"), "c_kid", "committer")
        tr = iid_of(tr, "t_kid", "actor")
        tr = tr.join(kept.select("p", "author", "a_ts", "a_off", "c_ts", "c_off"), on="p",
                     how="left", maintain_order="left")

        # Person occurrences in the reference order: author, committer, credit trailers.
        occ = pl.concat([
            kept.select("p", pl.lit(0, pl.Int64).alias("s"), pl.col("a_kid").alias("kid")),
            kept.filter(pl.col("c_kid").is_not_null()).select(
                "p", pl.lit(1, pl.Int64).alias("s"), pl.col("c_kid").alias("kid")),
            tr.select("p", (pl.col("r").cast(pl.Int64) + 2).alias("s"),
                      pl.col("t_kid").alias("kid")),
        ]).sort("p", "s")
        counts = occ.group_by("kid").len()
        self.counts = dict(zip(counts.get_column("kid").to_list(),
                               counts.get_column("len").to_list(), strict=True))
        new = [k not in people for k in key_list]
        first = occ.unique("kid", keep="first", maintain_order=True).filter(
            pl.col("kid").is_in(pl.Series([i for i, f in enumerate(new) if f],
                                          dtype=pl.Int64).implode()))
        self.first_p: list[int] = first.get_column("p").to_list()
        self.first_kid: list[int] = first.get_column("kid").to_list()

        # Rows.
        container = parser.container
        kept = kept.with_columns((pl.lit(f"git:{container}@") + pl.col("sha")).alias("aid"))
        tr = tr.unique(["p", "kind", "value", "actor"], keep="first", maintain_order=True).join(
            kept.select("p", "aid", "sha"), on="p", how="left", maintain_order="left")
        coauthor = pl.col("kind") == "commit_coauthored"
        ev_cols = ["p", "s", "kind", "actor", "target", "role", "aid", "sha", "ts", "off",
                   "value"]
        events = pl.concat([
            kept.select("p", pl.lit(0, pl.Int64).alias("s"),
                        pl.lit("commit_authored").alias("kind"), pl.col("author").alias("actor"),
                        pl.lit(None, pl.String).alias("target"),
                        pl.lit(None, pl.String).alias("role"), "aid", "sha",
                        pl.col("a_ts").alias("ts"), pl.col("a_off").alias("off"),
                        pl.lit(None, pl.String).alias("value")),
            kept.filter(pl.col("committer").is_not_null()
                        & (pl.col("committer") != pl.col("author"))).select(
                "p", pl.lit(1, pl.Int64).alias("s"), pl.lit("commit_committed").alias("kind"),
                pl.col("committer").alias("actor"), pl.col("author").alias("target"),
                pl.lit("artifact_author").alias("role"), "aid", "sha",
                pl.col("c_ts").alias("ts"), pl.col("c_off").alias("off"),
                pl.lit(None, pl.String).alias("value")),
            tr.select("p", (pl.col("r").cast(pl.Int64) + 2).alias("s"), "kind", "actor",
                      pl.col("author").alias("target"), pl.lit("artifact_author").alias("role"),
                      "aid", "sha",
                      pl.when(coauthor).then(pl.col("a_ts")).otherwise(pl.col("c_ts"))
                      .alias("ts"),
                      pl.when(coauthor).then(pl.col("a_off")).otherwise(pl.col("c_off"))
                      .alias("off"), "value"),
        ]).select(ev_cols).sort("p", "s")
        key = event_key(parser.b.source_kind, parser.b.instance, kind=pl.col("kind"),
                        artifact=pl.col("aid"), ref0="commit", ref1=pl.col("sha"),
                        actor=pl.col("actor"), target=pl.col("target"), value=pl.col("value"))
        self.events = events.with_columns(key.alias("key"))

        # Touches: first row of each path of a commit.
        ns = ns.filter(pl.struct("p", "path").is_first_distinct()).join(
            kept.select("p", "aid", "author", "a_ts"), on="p", how="left",
            maintain_order="left").with_columns(
            pl.when(pl.col("a") == "-").then(None).otherwise(pl.col("a"))
            .cast(pl.Int64).alias("added"),
            pl.when(pl.col("d") == "-").then(None).otherwise(pl.col("d"))
            .cast(pl.Int64).alias("deleted"))
        self.touches = ns.select(
            "p", pl.col("aid").alias("artifact_id"), pl.col("author").alias("actor_id"), "path",
            pl.col("a_ts").alias("ts"), pl.col("added").alias("lines_added"),
            pl.col("deleted").alias("lines_deleted"))
        totals = ns.group_by("p").agg(pl.len().cast(pl.Int32).alias("nf"),
                                      pl.col("added").sum().alias("sa"),
                                      pl.col("deleted").sum().alias("sd"))
        kept = kept.join(totals, on="p", how="left", maintain_order="left")
        merge = pl.col("parents").str.count_matches(" ", literal=True) >= 1
        zero = pl.when(merge).then(None)
        self.artifacts = kept.select(
            "p", pl.col("aid").alias("artifact_id"), pl.lit("commit").alias("kind"),
            pl.lit("git").alias("source"), pl.lit(container).alias("container"),
            pl.col("author").alias("author_id"), pl.col("a_ts").alias("opened_at"),
            pl.col("c_ts").alias("closed_at"), pl.lit("committed").alias("outcome"),
            pl.when(pl.col("blank")).then(zero.otherwise(0)).otherwise(pl.col("nf"))
            .cast(pl.Int32).alias("n_files"),
            pl.when(pl.col("blank")).then(zero.otherwise(0)).otherwise(pl.col("sa"))
            .cast(pl.Int64).alias("lines_added"),
            pl.when(pl.col("blank")).then(zero.otherwise(0)).otherwise(pl.col("sd"))
            .cast(pl.Int64).alias("lines_deleted"))

    def _without_short_runs(self, cand: pl.DataFrame) -> pl.DataFrame:
        """The plain records less those of runs too short to pay for their frames.

        A run (plain records with no other record or text between them) costs a few
        milliseconds of frame work (:func:`_emit_block`), the time of about a hundred records on
        the reference path. When a block has more than :data:`_MAX_RUNS` runs, the records of
        runs shorter than :data:`_MIN_RUN` are left to the reference path (a log that alternates
        plain and odd commits goes there whole).
        """
        if cand.height <= _MAX_RUNS:
            return cand
        # Groups are numbered in file order; a plain record is a group of its own, so plain
        # records are in one run when their group numbers are consecutive.
        grp = self.frame.get_column("grp").gather(cand.get_column("p")).cast(pl.Int64)
        run = (grp - grp.shift(1)).ne_missing(1).cum_sum().alias("run")
        if int(run.max()) <= _MAX_RUNS:  # type: ignore[arg-type]
            return cand
        return cand.with_columns(run).filter(pl.len().over("run") >= _MIN_RUN).drop("run")

    @staticmethod
    def _unnest(cand: pl.DataFrame) -> pl.DataFrame:
        gs = pl.col("t").str.splitn("\x1d", 2)
        cand = cand.with_columns(
            pl.col("t").str.count_matches("\x1d", literal=True).alias("n_gs"),
            gs.struct.field("field_0").alias("head"),
            gs.struct.field("field_1").alias("tail"),
        )
        split = pl.col("head").str.split_exact("\x1f", 11)
        return cand.with_columns(
            pl.col("head").str.count_matches("\x1f", literal=True).alias("n_us"),
            *(split.struct.field(f"field_{i}").alias(name) for i, name in enumerate(_FIELDS)
              if name != "sha"),
        ).drop("t", "head")


def read_log(parser: _Parser, fh: IO[bytes]) -> bool:
    """Read a whole log with ``parser``: plain commits column-wise, the rest record by record.

    Parameters
    ----------
    parser
        The importer's parser (its builder, options and caches).
    fh
        The log, a binary stream.

    Returns
    -------
    bool
        Whether text that is not a record was seen (the reference loop's ``seen_content``).
    """
    cons: list[Any] = []  # DuckDB, connected for the first large block
    try:
        seen_content = False
        line_base = 1
        for block in _blocks(fh):
            blk = _Block(parser, block)
            blk.plan()
            seen_content |= _emit_block(parser, blk, line_base, cons)
            line_base += blk.n_lines
        return seen_content
    finally:
        for con in cons:
            con.close()


def _event_ids(cons: list[Any], keys: pl.Series) -> pl.Series:
    """:func:`orgnet.importers._base.event_ids` of the event keys: in DuckDB (connected once,
    into ``cons``) for a batch of at least ``_DUCKDB_MIN`` keys, else with ``hashlib``."""
    if keys.len() < _DUCKDB_MIN:
        return event_ids(keys)
    if not cons:
        cons.append(duckdb_connect())
    return event_ids(keys, cons[0])


def _emit_block(parser: _Parser, blk: _Block, line_base: int, cons: list[Any]) -> bool:
    """Begin the block's records in file order and add their rows; returns ``seen_content``."""
    b = parser.b
    frame = blk.frame
    plain_p = blk.plain_p
    # Segments for the reference path: groups that are not one plain record.
    groups = frame.group_by("grp", maintain_order=True).agg(
        pl.col("p").first().alias("p0"), pl.col("p").last().alias("p1"),
        pl.col("nl_before").first().alias("nl0")).filter(
        (pl.col("p0") != pl.col("p1"))
        | ~pl.col("p0").is_in(pl.Series(plain_p, dtype=pl.UInt32).implode()))
    slow: list[tuple[int, int, int]] = list(groups.select("p0", "p1", "nl0").iter_rows())
    pieces = blk.pieces
    # crc of the plain records, for the reference path's "seen twice" check.
    crcs = map(zlib.crc32, (pieces[p] for p in plain_p), repeat(_RS_CRC))
    parser._seen.update(zip(blk.plain_sha, crcs, strict=True))
    parser.records += len(plain_p)
    parser.renames += blk.renames

    events = blk.events
    events = events.with_columns(
        _event_ids(cons, events.get_column("key")).alias("event_id") if events.height
        else pl.lit(None, pl.String).alias("event_id"))
    tables = {
        "interactions": events.select(
            "p", "event_id", pl.lit("git").alias("source"), "kind",
            pl.col("actor").alias("actor_id"), pl.col("target").alias("target_id"),
            pl.col("role").alias("target_role"), pl.col("aid").alias("artifact_id"),
            pl.lit(parser.container).alias("container"),
            pl.col("ts").dt.replace_time_zone("UTC"),
            pl.col("off").cast(pl.Int16).alias("time_offset_min"), "value",
            pl.lit(1.0).alias("weight")),
        "artifacts": blk.artifacts.with_columns(
            pl.col("opened_at").dt.replace_time_zone("UTC"),
            pl.col("closed_at").dt.replace_time_zone("UTC")),
        "touches": blk.touches.with_columns(pl.col("ts").dt.replace_time_zone("UTC")),
    }
    tables = {k: v.with_columns(pl.col("p").cast(pl.Int64)) for k, v in tables.items()}

    key_list = blk.key_list
    first_p, first_kid = blk.first_p, blk.first_kid
    people, names = parser._people, parser._names
    reg = 0

    def register_until(p: int) -> None:
        nonlocal reg
        while reg < len(first_p) and first_p[reg] < p:
            key = key_list[first_kid[reg]]
            if key not in people:
                iid, display = parser.register(*key, known=blk.idents[first_kid[reg]])
                if display is not None:
                    names[iid][display] += 0  # the name's place among the person's names
            reg += 1

    def emit(lo: int, hi: int) -> None:
        if lo >= hi:
            return
        statuses = ["skipped" if s else "ok" for s in blk.plain_skip[lo:hi]]
        n_skip = statuses.count("skipped")
        first = b.begin_many(statuses, Counter({SKIP_WINDOW: n_skip}) if n_skip else None)
        recs = pl.DataFrame({"p": pl.Series(plain_p[lo:hi], dtype=pl.Int64),
                             "_rec": pl.Series(range(first, first + hi - lo), dtype=pl.Int64)})
        p_lo, p_hi = plain_p[lo], plain_p[hi - 1]
        parts: dict[str, pl.DataFrame] = {}
        for table, rows in tables.items():
            ps = rows.get_column("p")
            a = ps.search_sorted(p_lo, side="left")
            z = ps.search_sorted(p_hi, side="right")
            parts[table] = rows.slice(a, z - a)
        # Tables in the order the reference path creates them: a commit adds its events, then
        # its touches, then its artifact, so touches come first when the run's first commit
        # has some.
        order = ["interactions", "artifacts", "touches"]
        arts, touches = parts["artifacts"], parts["touches"]
        if touches.height and arts.height and touches.item(0, "p") == arts.item(0, "p"):
            order = ["interactions", "touches", "artifacts"]
        for table in order:
            part = parts[table]
            if part.height:
                b.add_frame(table, part.join(recs, on="p", how="inner",
                                             maintain_order="left").drop("p"))

    seen_content = False
    done = 0  # plain records emitted so far
    for p0, p1, nl0 in slow:
        upto = bisect.bisect_left(plain_p, p0)
        emit(done, upto)
        done = upto
        register_until(p0)
        data = _RS.join(pieces[p0:p1 + 1])
        if p0 > 0:
            data = _RS + data
        elif not data:
            continue
        line = line_base + nl0
        if data[:1] == _RS:
            parser.record(line, data)
        elif data.strip():
            seen_content = True
            parser.garbage(line, data, "text before the first commit")
    emit(done, len(plain_p))
    register_until(blk.n + 1)
    for k, n in blk.counts.items():
        iid, display = people[key_list[k]]
        if display is not None:
            names[iid][display] += n
    return seen_content
