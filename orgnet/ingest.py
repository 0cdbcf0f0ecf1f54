"""Ingest an :class:`~orgnet.importers._base.ImportResult` into a workspace.

De-duplicates against what is stored, counts duplicate records, re-resolves identities, logs the
import in ``meta.json`` and commits atomically. Under ``strict`` any problem row aborts the import
before anything is written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from orgnet import __version__
from orgnet.exceptions import StrictImportError
from orgnet.identity import resolve
from orgnet.importers._base import (
    ImportCounts,
    ImportResult,
    MergeStrategy,
    ShardedResult,
    ShardError,
    gc_paused,
    merge_identities,
    renumber,
)
from orgnet.schema import KEYS, SCHEMAS, conform
from orgnet.workspace import Transaction, Workspace, file_sha256

__all__ = ["ImportSummary", "already_imported", "ingest"]

_REC = "_rec"
#: Tables where a new row with a stored key replaces the stored row (latest export wins).
UPSERT_TABLES = frozenset({"artifacts", "units", "identities"})


@dataclass
class ImportSummary:
    """What an import did; also the import-log entry written to ``meta.json``."""

    import_id: str
    source_kind: str
    source_file: str
    sha256: str
    counts: ImportCounts
    unchanged: bool = False
    notes: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    rows_added: dict[str, int] = field(default_factory=dict)
    time: str = ""

    def as_log_entry(self) -> dict[str, Any]:
        """The JSON-able import-log entry."""
        return {
            "import_id": self.import_id,
            "source_kind": self.source_kind,
            "file": self.source_file,
            "sha256": self.sha256,
            "options": self.options,
            "counts": self.counts.as_dict(),
            "rows_added": self.rows_added,
            "notes": self.notes,
            "time": self.time,
            "orgnet_version": __version__,
        }


def _options_key(options: dict[str, Any]) -> str:
    return repr(sorted((k, repr(v)) for k, v in options.items()))


def already_imported(
    ws: Workspace, source_kind: str, sha256: str, options: dict[str, Any]
) -> dict[str, Any] | None:
    """The log entry of an earlier import of the same bytes with the same options, if any."""
    key = _options_key(options)
    for entry in reversed(ws.imports()):
        if (
            entry.get("source_kind") == source_kind
            and entry.get("sha256") == sha256
            and _options_key(entry.get("options", {})) == key
        ):
            return entry
    return None


def _key(keys: list[str]) -> pl.Expr:
    return pl.col(keys[0]) if len(keys) == 1 else pl.struct(keys)


def _first_distinct(frame: pl.DataFrame, keys: list[str], hashes: pl.Series) -> pl.Series:
    """Whether each row's key is the first of its value (nulls alike), as ``is_first_distinct``.

    When the keys' 64-bit ``hashes`` are all distinct the keys are (equal keys hash alike),
    which is the usual case and costs a fifth of ``is_first_distinct`` on strings (6 M event
    ids: 0.2 s against 1.1 s).
    """
    if hashes.n_unique() == frame.height:
        return pl.repeat(True, frame.height, dtype=pl.Boolean, eager=True)
    return frame.select(_key(keys).is_first_distinct()).to_series()


def _rows_in(frame: pl.DataFrame, keys: list[str], stored: pl.DataFrame) -> pl.Series:
    """Whether each row's key is one of ``stored``'s (nulls equal)."""
    found = (frame.select(keys).with_row_index("_i")
             .join(stored.select(keys), on=keys, how="semi", nulls_equal=True).get_column("_i"))
    return pl.int_range(frame.height, dtype=pl.UInt32, eager=True).is_in(found.implode())


def _dedupe_append(new: pl.DataFrame, old: pl.LazyFrame, keys: list[str]) -> pl.Series:
    """Whether each row of ``new`` is a duplicate: its key is stored or appeared earlier in ``new``.

    The flags are a series beside the frame, not columns added to it: a worker's table comes
    in chunks (mapped from its file), and a frame given a one-chunk column is copied whole to
    align them (a 10,000-person git log: 0.46 GiB).
    """
    key = _key(keys)
    hashes = new.select(key.hash(seed=0).alias("_h")).to_series()
    first = _first_distinct(new, keys, hashes)
    # Stored keys that may also be new: those whose hash is a new key's hash (two tables of
    # distinct sources share none, usually); ``_rows_in`` then matches them exactly.
    stored = (old.select(keys).with_columns(key.hash(seed=0).alias("_h"))
              .join(hashes.to_frame().lazy(), on="_h", how="semi").drop("_h")
              .unique().collect())
    if stored.height == 0:
        return ~first
    return ~first | _rows_in(new, keys, stored)


def _dedupe_upsert(new: pl.DataFrame, old: pl.DataFrame) -> pl.Series:
    """Whether each row of ``new`` is a duplicate: identical to a stored row (all columns) or
    to an earlier row of ``new``."""
    cols = list(new.columns)
    first = new.select(pl.struct(cols).is_first_distinct()).to_series()
    if old.height == 0:
        return ~first
    return ~first | _rows_in(new, cols, old.select(cols).unique())


def _upsert(old: pl.DataFrame, new: pl.DataFrame, keys: list[str], table: str) -> pl.DataFrame:
    if new.height == 0:
        return old
    latest = new.unique(keys, keep="last", maintain_order=True)
    if table == "identities":
        # Keep attributes seen before when the new observation lacks them.
        merged = latest.join(old, on=keys, how="left", suffix="_old")
        fill = ["username", "email", "name", "instance"]
        merged = merged.with_columns(
            *[pl.coalesce(pl.col(c), pl.col(f"{c}_old")).alias(c) for c in fill],
            (pl.col("is_bot") | pl.col("is_bot_old").fill_null(False)).alias("is_bot"),
        ).select(latest.columns)
        latest = merged
    kept = old.join(latest.select(keys), on=keys, how="anti", nulls_equal=True)
    return pl.concat([kept, latest]).sort(keys)


@gc_paused()  # identity resolution (in a thread meanwhile) builds a dict per identity
def ingest(
    ws: Workspace,
    result: ImportResult | ShardedResult,
    *,
    sha256: str | None = None,
    strict: bool = False,
) -> ImportSummary:
    """Merge ``result`` into ``ws`` in one atomic transaction.

    Parameters
    ----------
    ws
        The workspace.
    result
        What the importer produced: one result, or the results of an input's shards
        (:class:`~orgnet.importers._base.ShardedResult`). Shards are taken one at a time: the
        rows each adds to the large append-only tables are de-duplicated and written to a
        staged part before the next is read, so memory holds one shard, not the whole input.
        The workspace and the summary are those of ingesting the merged result.
    sha256
        Digest of the input (computed from ``result.source_file`` when omitted).
    strict
        Raise :class:`StrictImportError` and write nothing when the import has any rejected,
        repaired or flagged record.

    Returns
    -------
    ImportSummary
        Counts that add up: ``read = imported + duplicate + rejected + skipped``.
    """
    if isinstance(result, ShardedResult):
        if strict or result.n <= 1:  # strict reports the whole input's problems first
            result = result.merged()
        else:
            try:
                return _ingest_parts(ws, result.n, result.parts, sha256=sha256)
            except ShardError:  # the transaction is rolled back: read it all here instead
                result = result.fallback()
    if strict and result.rejects.height:
        first = result.rejects.head(5).iter_rows(named=True)
        detail = "; ".join(
            f"line {r['line']}: {r['reason']}" + (f" ({r['field']})" if r["field"] else "")
            for r in first
        )
        raise StrictImportError(
            f"{result.rejects.height} problem(s) with --strict: {detail}",
            file=result.source_file,
        )
    return _ingest_parts(ws, 1, iter([result]), sha256=sha256)


def _ingest_parts(
    ws: Workspace, n: int, parts: Iterator[ImportResult], *, sha256: str | None
) -> ImportSummary:
    """Ingest the ``n`` consecutive parts of one input's result (see :func:`ingest`)."""
    import_id = uuid.uuid4().hex[:12]
    statuses: list[str] = []
    part_rows: list[tuple[np.ndarray, np.ndarray]] = []  # per part: (duplicate, all) rows
    deferred: dict[str, list[pl.DataFrame]] = {}  # tables merged once, after the last part
    ident_frames: list[pl.DataFrame] = []
    rejects: list[pl.DataFrame] = []
    reasons: Counter[str] = Counter()
    totals = dict.fromkeys(("read", "rejected", "skipped", "repaired", "flagged", "events"), 0)
    rows_added: dict[str, int] = {}
    order: dict[str, None] = {}  # the tables in order of first appearance
    first: ImportResult | None = None
    notes: dict[str, None] = {}
    resolving = None

    with ws.transaction() as tx, ThreadPoolExecutor(1) as pool:
        stored = tx.read("identities")
        k = -1
        # Not enumerate(): its reused result tuple would keep the last part alive while the
        # next one is made.
        for part in parts:
            k += 1
            if k >= n:
                raise ValueError(f"more parts than the {n} announced")
            # Only what the summary needs of the first part (not its tables).
            first = first or dataclasses.replace(part, tables={}, record_status=[])
            offset = len(statuses)
            statuses.extend(part.record_status)
            reasons.update(part.counts.skipped_reasons)
            for name in totals:
                totals[name] += getattr(part.counts, name)
            notes.update(dict.fromkeys(part.notes))
            rejects.append(part.rejects)
            if "identities" in part.tables:
                ident_frames.append(part.tables["identities"])
            if k == n - 1:
                # Identities: observed rows upserted, claims added, everything re-resolved, so
                # handle-keyed memberships can be compared with stored rows by person.
                # Resolution is Python (one core) and no table but memberships depends on it:
                # it runs in a thread while the last part's tables are merged (polars, which
                # releases the GIL).
                idents = (pl.DataFrame(schema=SCHEMAS["identities"]) if not ident_frames
                          else ident_frames[0] if len(ident_frames) == 1
                          else merge_identities(ident_frames))
                ident_body = conform("identities", idents.drop(_REC, strict=False))
                resolving = pool.submit(resolve, _upsert(stored, ident_body, ["identity_id"],
                                                         "identities"))
            dup = np.zeros(len(part.record_status), dtype=np.int64)
            every = np.zeros(len(part.record_status), dtype=np.int64)
            part_rows.append((dup, every))
            frame: pl.DataFrame | None
            for table, frame in part.tables.items():
                if table == "identities":
                    continue
                order[table] = None
                strategy = part.merge.get(table)
                if table == "memberships" or not _append_only(table, strategy):
                    deferred.setdefault(table, []).append(renumber(frame, offset))
                    continue
                # An append-only table is merged part by part: a row is a duplicate when its
                # key is stored, including by an earlier part, as it would be in the merged one.
                # A part's new rows are written at once (staged), so it is not held until the
                # commit; a whole result's stay until then (the caller holds them anyway).
                rows_added[table] = rows_added.get(table, 0) + _merge_table(
                    tx, table, frame, strategy, dup, every, stage=n > 1)
            del part
            frame = None  # nothing of the part outlives its turn
        if first is None or resolving is None:
            raise ValueError(f"{n} parts announced, fewer given")
        dup_rows = np.concatenate([d for d, _ in part_rows]) if n > 1 else part_rows[0][0]
        all_rows = np.concatenate([a for _, a in part_rows]) if n > 1 else part_rows[0][1]
        del part_rows
        merged = {t: pl.concat(fs, how="vertical_relaxed") if len(fs) > 1 else fs[0]
                  for t, fs in deferred.items()}
        del deferred
        for table, frame in merged.items():
            if table != "memberships":
                rows_added[table] = _merge_table(
                    tx, table, frame, first.merge.get(table), dup_rows, all_rows)
        resolved, people = resolving.result()
        added_identities = resolved.join(
            stored.select("identity_id"), on="identity_id", how="anti"
        ).height
        tx.replace("identities", resolved)
        tx.replace("people", people)
        _refresh_member_people(tx, resolved)
        if "memberships" in merged:
            rows = _fill_member_people(merged["memberships"], resolved)
            rows_added["memberships"] = _merge_table(
                tx, "memberships", rows, first.merge.get("memberships"), dup_rows, all_rows)
        # In the order of a serial merge: identities, then the result's tables.
        rows_added = {"identities": added_identities, **{t: rows_added[t] for t in order}}
        all_rejects = rejects[0] if n == 1 else pl.concat(rejects, how="vertical_relaxed")
        if all_rejects.height:
            # A problem already on record for the same file and line is not recorded twice.
            same = [c for c in all_rejects.columns if c != "import_id"]
            rej = all_rejects.unique(maintain_order=True).join(
                tx.scan("rejects").select(same).collect(), on=same, how="anti", nulls_equal=True
            )
            rej = rej.with_columns(pl.lit(import_id).alias("import_id"))
            tx.append("rejects", conform("rejects", rej))
        # A record read as "ok" whose every row was already stored is a duplicate.
        status = pl.Series(statuses, dtype=pl.String)
        del statuses
        ok = (status == "ok").fill_null(False).to_numpy()
        seen = ok & (all_rows > 0) & (dup_rows == all_rows)
        counts = first.counts if n == 1 else ImportCounts(**totals,
                                                          skipped_reasons=dict(reasons))
        counts.imported = int(ok.sum() - seen.sum())
        counts.duplicate = int((status == "duplicate").sum() + seen.sum())
        if sha256 is None:
            path = Path(first.source_file)
            sha256 = file_sha256(path) if path.exists() else ""
        summary = ImportSummary(
            import_id=import_id,
            source_kind=first.source_kind,
            source_file=first.source_file,
            sha256=sha256,
            counts=counts,
            notes=list(notes),
            options=first.options,
            rows_added=rows_added,
            time=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        tx.log_import(summary.as_log_entry())
    return summary


def _append_only(table: str, strategy: MergeStrategy | None) -> bool:
    """Whether new rows of ``table`` are only appended (de-duplicated by key)."""
    return strategy is None and table not in UPSERT_TABLES and bool(KEYS[table])


def _fill_member_people(frame: pl.DataFrame, identities: pl.DataFrame) -> pl.DataFrame:
    """Set ``person_id`` of handle-keyed membership rows from the resolved identities."""
    if "member_identity_id" not in frame.columns:
        return frame
    mapping = identities.select(
        pl.col("identity_id").alias("member_identity_id"), pl.col("person_id").alias("_pid")
    )
    return (
        frame.join(mapping, on="member_identity_id", how="left")
        .with_columns(pl.coalesce("_pid", "person_id").alias("person_id"))
        .drop("_pid")
    )


def _refresh_member_people(tx: Transaction, identities: pl.DataFrame) -> None:
    """Memberships keyed by a handle get the person that handle resolves to now."""
    members = tx.read("memberships")
    if members.height == 0 or members["member_identity_id"].null_count() == members.height:
        return
    mapping = identities.select(
        pl.col("identity_id").alias("member_identity_id"), pl.col("person_id").alias("_pid")
    )
    updated = (
        members.join(mapping, on="member_identity_id", how="left")
        .with_columns(pl.coalesce("_pid", "person_id").alias("person_id"))
        .drop("_pid")
        .unique(KEYS["memberships"], keep="first", maintain_order=True)
    )
    if not updated.equals(members):
        tx.replace("memberships", updated)


def _merge_table(
    tx: Transaction,
    table: str,
    frame: pl.DataFrame,
    strategy: MergeStrategy | None,
    dup_rows: np.ndarray,
    all_rows: np.ndarray,
    *,
    stage: bool = False,
) -> int:
    """Merge one table of the result; update per-record row and duplicate counts.

    ``stage``: write an append-only table's new rows at once (:meth:`Transaction.append`).
    """
    if _REC not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias(_REC))
    keys = list(KEYS[table])
    body = conform(table, frame.drop(_REC))
    if _append_only(table, strategy):
        # Large append-only tables are only scanned for their keys, never read whole.
        dup = _dedupe_append(body, tx.scan(table), keys)
        old = None
    else:
        old = tx.read(table)
        dup = _dedupe_upsert(body, old)
    # Rows and duplicates per record: counted by numpy (a hash group-by of the 6 M Slack rows
    # of 10,000 people took 1-2 s of the main process).
    counted = pl.DataFrame({_REC: frame.get_column(_REC), "_dup": dup}).drop_nulls(_REC)
    recs = counted.get_column(_REC).cast(pl.Int64).to_numpy()
    if recs.size:
        if recs.min() < 0 or recs.max() >= all_rows.size:
            raise ValueError(f"{table}: a row's record number is outside the import's records")
        all_rows += np.bincount(recs, minlength=all_rows.size)
        dup_rows += np.bincount(recs[counted.get_column("_dup").fill_null(False).to_numpy()],
                                minlength=dup_rows.size)
    # Without duplicates (the usual case) the new rows are the result's own buffers, which the
    # transaction holds until it commits: filtering would copy the whole table first.
    fresh = body.filter(~dup) if dup.any() else body
    if old is None:
        tx.append(table, fresh, stage=stage)
        return fresh.height
    if strategy is not None:
        # A strategy sees every new row (not only the unseen ones): it may replace by scope.
        combined = conform(table, strategy(old, body))
        tx.replace(table, combined)
        return combined.join(old, on=list(combined.columns), how="anti", nulls_equal=True).height
    if table in UPSERT_TABLES:
        tx.replace(table, _upsert(old, fresh, keys, table))
        return fresh.height
    tx.replace(table, pl.concat([old, fresh]))
    return fresh.height
