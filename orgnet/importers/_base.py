"""What every importer produces: :class:`ImportBuilder` collects records, :class:`ImportResult` carries them.

An importer is a pure function ``(path, *, options) -> ImportResult``. It knows one format and
nothing about the workspace or graphs. The workspace's ``ingest`` de-duplicates the result against
what is stored, resolves identities and commits atomically.

Counting. Every *record* the importer reads (a commit, a pull request, a message, a CSV row) ends
in exactly one bucket, so the import summary adds up::

    read = imported + duplicate + rejected + skipped

``rejected``: the record is unusable (a row in ``rejects`` says why). ``skipped``: the record was
read and deliberately not turned into events (outside ``--since/--until``, a channel-join notice),
counted per reason. ``duplicate``: every row the record produced is already stored, or the importer
found the record repeated in its own input (:meth:`ImportBuilder.duplicate`). ``imported``: the
rest. Repairs (a field cleared, a record still imported) and flags go to ``rejects`` too,
with ``outcome`` ``"repaired"`` or ``"flagged"``, without moving the record out of ``imported``.

Usage::

    b = ImportBuilder("git", path)
    b.begin(line=12, record="commit 1a2b3c")
    author = b.identity(Identity("git", "ana@example.com", email="ana@example.com", name="Ana"))
    b.event("commit_authored", author, ts=when, artifact_id="repo@1a2b3c", container="repo",
            raw_ref=("commit", "1a2b3c"))
    result = b.finish()
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import gc
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from hashlib import sha1
from pathlib import Path
from typing import Any, Final

import polars as pl

from orgnet._text import clean, excerpt, stable_hash
from orgnet.schema import ARTIFACT_OUTCOMES, EVENT_KINDS, SCHEMAS

__all__ = [
    "Identity",
    "ImportBuilder",
    "ImportCounts",
    "ImportResult",
    "MergeStrategy",
    "ShardError",
    "ShardedResult",
    "current_progress",
    "duckdb_connect",
    "event_ids",
    "event_key",
    "gc_paused",
    "identity_id_for",
    "merge_identities",
    "merge_results",
    "progress_hook",
]


def event_key(source_kind: str, instance: str | None, *, kind: pl.Expr | str,
              artifact: pl.Expr | str | None, ref0: pl.Expr | str | None,
              ref1: pl.Expr | str | None, actor: pl.Expr | str | None,
              target: pl.Expr | str | None, value: pl.Expr | str | None) -> pl.Expr:
    """The string :meth:`ImportBuilder.event` hashes into an ``event_id``, column-wise.

    Each part (an expression, a string or ``None``; a null is the empty string) followed by
    ``\x1f``, in the builder's order: source kind, instance, kind, artifact, the raw reference
    (two parts), actor, target, value. :func:`event_ids` turns the keys into ids.
    """
    parts: list[pl.Expr] = []
    for part in (source_kind, instance, kind, artifact, ref0, ref1, actor, target, value):
        expr = part if isinstance(part, pl.Expr) else pl.lit(part or "", dtype=pl.String)
        parts += [expr.fill_null(""), pl.lit("\x1f")]
    return pl.concat_str(parts)


def duckdb_connect() -> Any:
    """A DuckDB connection for the columnar import paths, using as many threads as polars does.

    DuckDB otherwise starts one thread per core in every process; the import's worker
    processes already keep every core busy, and they run polars with one thread
    (``POLARS_MAX_THREADS=1``, set by :mod:`orgnet.pipeline` when it starts them), so DuckDB
    follows.
    """
    import duckdb

    return duckdb.connect(config={"threads": max(1, pl.thread_pool_size())})


def event_ids(keys: pl.Series, con: Any | None = None) -> pl.Series:
    """The ``event_id`` of each event key, as :meth:`ImportBuilder.event` makes it, in order.

    A key is the event's id fields each followed by ``\x1f`` (the string
    :meth:`ImportBuilder.event` hashes); the id is its SHA-1, first 20 hex digits. With a DuckDB
    connection ``con`` the digests are computed by DuckDB's ``sha1`` (the columnar import
    paths, for large batches), else one by one with ``hashlib``.
    """
    if con is None:
        return pl.Series([sha1(k.encode("utf-8", "surrogatepass"),
                               usedforsecurity=False).hexdigest()[:20]
                          for k in keys.to_list()], dtype=pl.String)
    con.register("orgnet_event_keys", pl.DataFrame({"k": keys}).to_arrow())
    try:
        ids: pl.Series = con.sql(
            "SELECT left(sha1(k), 20) AS h FROM orgnet_event_keys").pl().get_column("h")
    finally:
        con.unregister("orgnet_event_keys")
    if ids.len() != keys.len():
        raise RuntimeError("event ids out of step")
    return ids


MergeStrategy = Callable[[pl.DataFrame, pl.DataFrame], pl.DataFrame]
ProgressCallback = Callable[[int], None]

_PROGRESS: contextvars.ContextVar[ProgressCallback | None] = contextvars.ContextVar(
    "orgnet_import_progress", default=None
)
_PROGRESS_EVERY = 2048


@contextlib.contextmanager
def progress_hook(callback: ProgressCallback) -> Iterator[None]:
    """Call ``callback(records_read)`` every few thousand records while importing.

    The command line uses it to drive a progress display; importers need not know about it.
    """
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def current_progress() -> ProgressCallback | None:
    """The callback of the enclosing :func:`progress_hook`, if any (for code that reads a file
    in other processes and reports the records they read as their results arrive)."""
    return _PROGRESS.get()


def identity_id_for(source: str, native_id: str, instance: str | None = None) -> str:
    """Deterministic identity id for a handle: a hash of source, instance and native id."""
    return "i" + stable_hash(source, instance or "", native_id.lower())


@dataclass(frozen=True)
class Identity:
    """An identity observed in a source (FORMATS §0.5 says what ``native_id`` is per source)."""

    source: str
    native_id: str
    username: str | None = None
    email: str | None = None
    name: str | None = None
    is_bot: bool = False
    instance: str | None = None

    @property
    def identity_id(self) -> str:
        """The identity's stable id."""
        return identity_id_for(self.source, self.native_id, self.instance)


@dataclass
class ImportCounts:
    """Record counts of one import; ``imported`` and ``duplicate`` are filled in at ingest."""

    read: int = 0
    imported: int = 0
    duplicate: int = 0
    rejected: int = 0
    skipped: int = 0
    repaired: int = 0
    flagged: int = 0
    events: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)

    def adds_up(self) -> bool:
        """True when every record read is in exactly one bucket."""
        return self.read == self.imported + self.duplicate + self.rejected + self.skipped

    def as_dict(self) -> dict[str, object]:
        """Plain dict for ``meta.json``."""
        return {
            "read": self.read,
            "imported": self.imported,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "repaired": self.repaired,
            "flagged": self.flagged,
            "events": self.events,
            "skipped_reasons": dict(sorted(self.skipped_reasons.items())),
        }


@dataclass
class ImportResult:
    """Everything one import produced, before de-duplication against the workspace.

    Frames carry an extra ``_rec`` column (the index of the record that produced the row),
    which ingest uses to count duplicate records and then drops.

    Attributes
    ----------
    source_kind
        ``orgchart``, ``git``, ``github`` ...
    source_file
        The path as given by the user.
    tables
        Canonical table name -> rows (with ``_rec``). ``identities`` holds observed handles.
    rejects
        Rows of the ``rejects`` table (without ``import_id``, filled at ingest).
    counts
        Record counts; ``imported``/``duplicate`` are computed at ingest.
    record_status
        Per record index: ``"ok"``, ``"duplicate"``, ``"rejected"``, ``"skipped"`` or
        ``"derived"`` (made up by the importer, not a record read; not counted).
    merge
        Per table, how new rows combine with stored rows when the default (append and de-duplicate
        by key; upsert for artifacts, units and identities) is not right.
    notes
        Short human-readable remarks for the import log (e.g. "3 roots in the org chart").
    """

    source_kind: str
    source_file: str
    tables: dict[str, pl.DataFrame]
    rejects: pl.DataFrame
    counts: ImportCounts
    record_status: list[str]
    merge: dict[str, MergeStrategy] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    options: dict[str, object] = field(default_factory=dict)


_REC = "_rec"


class ImportBuilder:
    """Collects the records of one import and turns them into an :class:`ImportResult`.

    Parameters
    ----------
    source_kind
        Importer name, e.g. ``"git"``.
    source_file
        Path of the input, as shown in rejects and the import log.
    instance
        Host, tenant or repository the handles belong to; part of identity and event ids.
    """

    def __init__(self, source_kind: str, source_file: str | Path, *, instance: str | None = None):
        self.source_kind = source_kind
        self.source_file = str(source_file)
        self.instance = instance
        self._rec = -1
        self._rec_override: int | None = None
        self._progress = _PROGRESS.get()
        self._status: list[str] = []
        self._line: int | None = None
        self._record: str | None = None
        self._identities: dict[str, dict[str, object]] = {}
        self._tables: dict[str, _Columns] = {}
        self._rejects: list[dict[str, object]] = []
        self._skipped: Counter[str] = Counter()
        self._skipped_dup: Counter[str] = Counter()
        self._repaired = 0
        self._flagged = 0
        self._events = 0
        self.notes: list[str] = []

    # -- records -----------------------------------------------------------------------------
    def begin(
        self, *, line: int | None = None, record: str | None = None, derived: bool = False
    ) -> int:
        """Start a new record; rows added until the next ``begin`` belong to it.

        ``derived=True`` starts a record the importer made up (a unit implied by the rows, a row
        of an auxiliary file): it carries rows but is not counted as a record read.
        """
        self._rec += 1
        if self._rec % _PROGRESS_EVERY == 0 and self._progress is not None:
            self._progress(self._rec)
        self._rec_override = None
        self._status.append("derived" if derived else "ok")
        self._line = line
        self._record = record
        return self._rec

    def begin_many(self, statuses: Sequence[str], skipped: Counter[str] | None = None) -> int:
        """Start ``len(statuses)`` records at once; returns the index of the first.

        For importers that build rows column-wise: each status is ``"ok"`` or ``"skipped"``,
        ``skipped`` counts the skip reasons (it must add up to the skipped statuses). Rows of
        these records are added with :meth:`add_frame`, their ``_rec`` in the returned range.
        """
        reasons = skipped or Counter()
        n_skipped = sum(1 for s in statuses if s == "skipped")
        if n_skipped != sum(reasons.values()) or any(s not in ("ok", "skipped") for s in statuses):
            raise ValueError("begin_many: statuses must be ok/skipped and match the skip reasons")
        first = self._rec + 1
        self._rec += len(statuses)
        self._status.extend(statuses)
        self._skipped.update(reasons)
        self._rec_override = None
        self._line = self._record = None
        if self._progress is not None and statuses and (
            first // _PROGRESS_EVERY != (self._rec + 1) // _PROGRESS_EVERY
        ):
            self._progress(self._rec)
        return first

    def add_frame(self, table: str, frame: pl.DataFrame) -> None:
        """Append rows built column-wise: ``frame`` has the table's columns and ``_rec``.

        Columns are cast to the canonical types (a missing column is null); every ``_rec``
        must name a record begun already.
        """
        if frame.height == 0:
            return
        store = self._store(table)
        unknown = set(frame.columns) - set(store.names)
        if unknown:
            raise ValueError(f"table {table!r}: unknown column(s) {sorted(unknown)}")
        recs = frame.get_column(_REC)
        if recs.null_count() or recs.min() < 0 or recs.max() > self._rec:  # type: ignore[operator]
            raise ValueError("add_frame: _rec outside the records begun so far")
        store.append_frame(frame)
        if table == "interactions":
            self._events += frame.height

    def attach(self, rec: int) -> None:
        """Make an earlier record current again, to add rows or problems to it."""
        if not 0 <= rec <= self._rec:
            raise IndexError(f"no record {rec}")
        self._rec_override = rec

    def describe(self, record: str) -> None:
        """Name the current record (shown in rejects), once the importer knows what it is."""
        self._record = record

    def remove_rows(self, table: str, predicate: Callable[[dict[str, object]], bool]) -> int:
        """Drop rows added so far to ``table`` for which ``predicate`` is true; returns how many."""
        store = self._tables.get(table)
        if store is None:
            return 0
        return store.remove(predicate)

    @property
    def n_records(self) -> int:
        """Records begun so far."""
        return self._rec + 1

    def _current(self) -> int:
        if self._rec < 0:
            raise RuntimeError("ImportBuilder: call begin() before adding rows")
        if self._rec_override is not None:
            return self._rec_override
        return self._rec

    def reject(
        self,
        reason: str,
        *,
        field: str | None = None,
        raw: str | bytes | None = None,
        outcome: str = "rejected",
        line: int | None = None,
        record: str | None = None,
        source_file: str | None = None,
    ) -> None:
        """Record a problem with the current record.

        ``source_file`` names the file when it is not the import's own (a member of an archive).

        ``outcome="rejected"`` drops the record (its rows are discarded at :meth:`finish`);
        ``"repaired"`` and ``"flagged"`` keep it.
        """
        rec = self._current()
        if outcome == "rejected":
            self._status[rec] = "rejected"
        elif outcome == "repaired":
            self._repaired += 1
        elif outcome == "flagged":
            self._flagged += 1
        else:
            raise ValueError(f"unknown reject outcome {outcome!r}")
        self._rejects.append(
            {
                "source_kind": self.source_kind,
                "source_file": source_file or self.source_file,
                "line": line if line is not None else self._line,
                "record": record if record is not None else self._record,
                "field": field,
                "reason": reason,
                "outcome": outcome,
                "raw_excerpt": excerpt(raw),
            }
        )

    def skip(self, reason: str) -> None:
        """Mark the current record as read but deliberately not imported (e.g. outside the window)."""
        rec = self._current()
        if self._status[rec] == "ok":
            self._status[rec] = "skipped"
            self._skipped[reason] += 1

    def duplicate(self, reason: str) -> None:
        """Mark the current record as a duplicate of another record of the same input."""
        rec = self._current()
        if self._status[rec] in ("ok", "derived"):
            self._status[rec] = "duplicate"
            self._skipped_dup[reason] += 1

    def reject_unreadable(self, reason: str, *, line: int | None = None, raw: str | bytes | None = None,
                          record: str | None = None, field: str | None = None) -> None:
        """Count one unreadable record (e.g. a malformed JSON line) and reject it."""
        self.begin(line=line, record=record)
        self.reject(reason, raw=raw, line=line, field=field)

    # -- rows ----------------------------------------------------------------------------------
    def identity(self, ident: Identity) -> str:
        """Register an observed identity and return its id; attributes seen later fill gaps."""
        iid = ident.identity_id
        row = self._identities.get(iid)
        values = {
            "username": clean(ident.username),
            "email": clean(ident.email),
            "name": clean(ident.name),
        }
        if row is None:
            self._identities[iid] = {
                "identity_id": iid,
                "source": ident.source,
                "instance": ident.instance,
                "native_id": ident.native_id,
                **values,
                "is_bot": ident.is_bot,
                "origin": "observed",
            }
        else:
            for key, value in values.items():
                if value is not None:
                    row[key] = value  # the latest observation wins (renamed logins)
            if ident.is_bot:
                row["is_bot"] = True
        return iid

    def _store(self, table: str) -> _Columns:
        store = self._tables.get(table)
        if store is None:
            if table not in SCHEMAS:
                raise ValueError(f"unknown table {table!r}")
            store = self._tables[table] = _Columns(table)
        return store

    def add(self, table: str, **row: object) -> None:
        """Append a row to any canonical table (columns not given are null)."""
        row[_REC] = self._current()
        self._store(table).append(row)

    def add_values(self, table: str, values: tuple[object, ...]) -> None:
        """Append a row given positionally, in the table's schema order (no ``_rec``).

        The fast form of :meth:`add` for an importer's hot loop: timestamps must already be
        naive UTC (``aware.astimezone(dt.UTC).replace(tzinfo=None)``), nothing is checked
        beyond the number of values.
        """
        store = self._tables.get(table) or self._store(table)
        store.append_values((*values, self._current()))

    def event(
        self,
        kind: str,
        actor_id: str,
        *,
        ts: dt.datetime,
        target_id: str | None = None,
        target_role: str | None = None,
        artifact_id: str | None = None,
        container: str | None = None,
        value: str | None = None,
        weight: float = 1.0,
        raw_ref: tuple[str, str] | None = None,
        time_offset_min: int | None = None,
    ) -> str:
        """Append an interaction event and return its deterministic ``event_id`` (FORMATS §0.4)."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        if ts.tzinfo is None:
            raise ValueError("event timestamps must be timezone-aware")
        ref = raw_ref or ("", "")
        # stable_hash(source_kind, instance, kind, artifact_id, ref0, ref1, actor_id, target_id,
        # value, length=20) in one encode and one update (same digest; this runs per event).
        # An f-string formats each part as str() does; None is the empty string.
        inst, r0, r1 = self.instance, ref[0], ref[1]
        key = (f"{self.source_kind}\x1f{'' if inst is None else inst}\x1f{kind}\x1f"
               f"{'' if artifact_id is None else artifact_id}\x1f{'' if r0 is None else r0}\x1f"
               f"{'' if r1 is None else r1}\x1f{'' if actor_id is None else actor_id}\x1f"
               f"{'' if target_id is None else target_id}\x1f{'' if value is None else value}\x1f")
        event_id = sha1(key.encode("utf-8", "surrogatepass"),
                        usedforsecurity=False).hexdigest()[:20]
        self._events += 1
        # Positional append in schema order: this is the hot path of every importer.
        store = self._tables.get("interactions") or self._store("interactions")
        store.append_values((
            event_id, self.source_kind, kind, actor_id, target_id, target_role, artifact_id,
            container, ts.replace(tzinfo=None) if ts.tzinfo is dt.UTC else _naive_utc(ts),
            time_offset_min, value, weight, self._current(),
        ))
        return event_id

    def artifact(self, artifact_id: str, kind: str, **fields: object) -> None:
        """Append an artifact row (a change); ``outcome`` must be in the vocabulary."""
        outcome = fields.get("outcome")
        if outcome is not None and outcome not in ARTIFACT_OUTCOMES:
            raise ValueError(f"unknown artifact outcome {outcome!r}")
        self.add("artifacts", artifact_id=artifact_id, kind=kind, source=self.source_kind, **fields)

    # -- result -------------------------------------------------------------------------------
    def finish(self, *, options: dict[str, object] | None = None) -> ImportResult:
        """Build the result; rows of rejected records are dropped here."""
        rejected = {i for i, s in enumerate(self._status) if s == "rejected"}
        tables: dict[str, pl.DataFrame] = {}
        for table, store in self._tables.items():
            frame = store.frame()
            if rejected and frame.height:
                frame = frame.filter(~pl.col(_REC).is_in(sorted(rejected)))
            tables[table] = frame
        ident_schema: dict[str, Any] = dict(SCHEMAS["identities"])
        ident_schema[_REC] = pl.Int64
        observed = pl.DataFrame(
            [{**r, "person_id": None, "evidence": None, _REC: None}
             for r in self._identities.values()],
            schema=ident_schema,
            orient="row",
        ) if self._identities else pl.DataFrame(schema=ident_schema)
        # Claims (org chart, alias file) come in through add("identities", ...).
        claims = tables.get("identities")
        tables["identities"] = observed if claims is None else pl.concat([observed, claims])
        rej_schema = {k: v for k, v in SCHEMAS["rejects"].items() if k != "import_id"}
        rejects = (
            pl.DataFrame(self._rejects, schema=rej_schema, orient="row")
            if self._rejects
            else pl.DataFrame(schema=rej_schema)
        )
        counts = ImportCounts(
            read=sum(1 for s in self._status if s != "derived"),
            rejected=len(rejected),
            skipped=sum(self._skipped.values()),
            repaired=self._repaired,
            flagged=self._flagged,
            events=tables["interactions"].height if "interactions" in tables else 0,
            skipped_reasons=dict(self._skipped),
        )
        return ImportResult(
            source_kind=self.source_kind,
            source_file=self.source_file,
            tables=tables,
            rejects=rejects,
            counts=counts,
            record_status=list(self._status),
            notes=list(self.notes),
            options=dict(options or {}),
        )


def merge_results(parts: Sequence[ImportResult]) -> ImportResult:
    """One result from the results of consecutive shards of one input.

    Shards are parts of one input read separately (the Slack importer's ``shard`` option splits
    the day-file folders into ranges); in shard order they give the result of reading the whole
    input at once: records are renumbered in sequence, counts and skip reasons add up, and an
    identity observed by several shards keeps the latest non-null value of each attribute
    (bot when any shard saw a bot), as one builder would have.

    Parameters
    ----------
    parts
        Results of the shards, in order; the first one's source, options and merge strategies
        are kept.

    Returns
    -------
    ImportResult
    """
    if not parts:
        raise ValueError("merge_results needs at least one result")
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    frames: dict[str, list[pl.DataFrame]] = {}
    status: list[str] = []
    reasons: Counter[str] = Counter()
    for part in parts:
        offset = len(status)
        for name, table in part.tables.items():
            frames.setdefault(name, []).append(renumber(table, offset))
        status.extend(part.record_status)
        reasons.update(part.counts.skipped_reasons)
    tables = {name: pl.concat(fs, how="vertical_relaxed") for name, fs in frames.items()}
    if "identities" in tables:
        tables["identities"] = merge_identities([tables["identities"]])
    counts = ImportCounts(
        read=sum(p.counts.read for p in parts),
        rejected=sum(p.counts.rejected for p in parts),
        skipped=sum(p.counts.skipped for p in parts),
        repaired=sum(p.counts.repaired for p in parts),
        flagged=sum(p.counts.flagged for p in parts),
        events=sum(p.counts.events for p in parts),
        skipped_reasons=dict(reasons),
    )
    return ImportResult(
        source_kind=first.source_kind,
        source_file=first.source_file,
        tables=tables,
        rejects=pl.concat([p.rejects for p in parts], how="vertical_relaxed"),
        counts=counts,
        record_status=status,
        merge=dict(first.merge),
        notes=list(dict.fromkeys(n for p in parts for n in p.notes)),
        options=dict(first.options),
    )


def renumber(table: pl.DataFrame, offset: int) -> pl.DataFrame:
    """``table`` with its record numbers (``_rec``) moved up by ``offset``."""
    return table.with_columns(pl.col(_REC) + offset) if offset and _REC in table.columns else table


def merge_identities(frames: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """The ``identities`` tables of consecutive shards as one builder would have made them.

    An identity observed by several shards keeps the latest non-null value of each attribute
    (bot when any shard saw a bot), in order of first observation; rows tied to a record
    (``_rec`` set) follow, as they are.
    """
    idents = pl.concat(frames, how="vertical_relaxed") if len(frames) > 1 else frames[0]
    if idents.height == 0 or _REC not in idents.columns:
        return idents
    observed = idents.filter(pl.col(_REC).is_null())
    attrs = ("username", "email", "name")
    merged = observed.group_by("identity_id", maintain_order=True).agg(
        *(pl.col(c).first() for c in observed.columns
          if c not in (*attrs, "is_bot", "identity_id")),
        *(pl.col(a).drop_nulls().last() for a in attrs),
        pl.col("is_bot").any(),
    ).select(observed.columns).cast(observed.schema)
    return pl.concat([merged, idents.filter(pl.col(_REC).is_not_null())])


class ShardError(Exception):
    """A shard of a :class:`ShardedResult` could not be had from its worker process."""


@dataclass
class ShardedResult:
    """The results of the consecutive shards of one input, handed over one at a time.

    :func:`merge_results` of the parts is the result of reading the whole input at once.
    A consumer that takes the parts one by one (:func:`orgnet.ingest.ingest`) holds one
    shard's tables at a time instead of the whole input's.

    Attributes
    ----------
    n
        How many parts ``parts`` yields.
    parts
        The shards' results in order, each made when it is asked for. It raises
        :class:`ShardError` when one cannot be had; ``fallback`` then gives the whole result.
    fallback
        Reads the whole input again, in this process (the result of a serial run).
    """

    n: int
    parts: Iterator[ImportResult]
    fallback: Callable[[], ImportResult]

    def merged(self) -> ImportResult:
        """The parts merged into one result (the fallback's result when a part fails)."""
        try:
            return merge_results(list(self.parts))
        except ShardError:
            return self.fallback()


_drain: Callable[[Iterable[None]], None] = deque[None](maxlen=0).extend


def _naive_utc(value: object) -> object:
    """Aware datetimes become naive UTC (much faster for polars to ingest); others pass."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


#: Rows a table buffers as Python objects before they become a polars chunk (about 120 bytes
#: per event row in a frame, several times that as Python objects); measured on a 1.9 M-event
#: Slack shard, the import's peak went from 1.6 to 1.4 GiB.
_CHUNK_ROWS: Final = 1 << 18


class _Columns:
    """Column-wise row buffer of one canonical table (plus the ``_rec`` column).

    Rows are appended to Python lists; every :data:`_CHUNK_ROWS` rows the lists become a polars
    chunk, and :meth:`frame` concatenates the chunks.
    """

    __slots__ = ("chunks", "data", "index", "names", "table", "ts_columns")

    def __init__(self, table: str) -> None:
        self.table = table
        self.names: list[str] = [*SCHEMAS[table].names(), _REC]
        self.index = {n: i for i, n in enumerate(self.names)}
        self.data: list[list[object]] = [[] for _ in self.names]
        self.chunks: list[pl.DataFrame] = []
        self.ts_columns = {
            i for i, n in enumerate(self.names[:-1])
            if isinstance(SCHEMAS[table][n], pl.Datetime)
        }

    def append(self, row: dict[str, object]) -> None:
        if not row.keys() <= self.index.keys():
            unknown = sorted(row.keys() - self.index.keys())
            raise ValueError(f"table {self.table!r}: unknown column(s) {unknown}")
        get = row.get
        values = [get(name) for name in self.names]
        for i in self.ts_columns:
            values[i] = _naive_utc(values[i])
        _drain(map(list.append, self.data, values))
        if len(self.data[0]) >= _CHUNK_ROWS:
            self._flush()

    def append_values(self, values: tuple[object, ...]) -> None:
        data = self.data
        if len(values) != len(data):
            raise ValueError(f"table {self.table!r}: {len(values)} values for "
                             f"{len(data)} columns")
        # One C-level loop: map() calls each column's append with its value, deque drains it.
        _drain(map(list.append, data, values))
        if len(data[0]) >= _CHUNK_ROWS:
            self._flush()

    def append_frame(self, frame: pl.DataFrame) -> None:
        self._flush()  # rows buffered before the frame stay before it
        schema = SCHEMAS[self.table]
        cols = []
        for name in self.names:
            dtype = pl.Int64 if name == _REC else schema[name]
            if name in frame.columns:
                cols.append(frame.get_column(name).cast(dtype))
            else:
                cols.append(pl.Series(name, [None] * frame.height, dtype=dtype))
        self.chunks.append(pl.DataFrame(cols))

    def _flush(self) -> None:
        if self.data[0]:
            self.chunks.append(self._buffered())
            self.data = [[] for _ in self.names]

    def remove(self, predicate: Callable[[dict[str, object]], bool]) -> int:
        # Rows as stored in the lists (timestamps naive UTC), chunks included; rare and small
        # (the org chart drops conflicting claims), so the chunks go back to Python rows.
        ts_names = [self.names[i] for i in self.ts_columns]
        rows = [r | {n: _naive_utc(r[n]) for n in ts_names}
                for chunk in self.chunks for r in chunk.iter_rows(named=True)]
        rows += [dict(zip(self.names, values, strict=True))
                 for values in zip(*self.data, strict=True)]
        keep = [r for r in rows if not predicate(r)]
        self.chunks = []
        self.data = [[r[name] for r in keep] for name in self.names]
        return len(rows) - len(keep)

    def frame(self) -> pl.DataFrame:
        self._flush()
        if not self.chunks:
            return self._buffered()
        if len(self.chunks) > 1:
            self.chunks = [pl.concat(self.chunks, rechunk=True)]
        return self.chunks[0]

    def _buffered(self) -> pl.DataFrame:
        """The rows still held as Python lists, as a frame."""
        schema = SCHEMAS[self.table]
        series = []
        for name, col in zip(self.names, self.data, strict=True):
            if name == _REC:
                series.append(pl.Series(name, col, dtype=pl.Int64))
                continue
            dtype = schema[name]
            if isinstance(dtype, pl.Datetime):
                naive = pl.Series(name, col, dtype=pl.Datetime("us"))
                series.append(naive.dt.replace_time_zone("UTC"))
            else:
                series.append(pl.Series(name, col, dtype=dtype))
        return pl.DataFrame(series)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while an import builds millions of small objects.

    Importers create no reference cycles, so the collector's repeated full scans of the growing
    row lists only cost time (about a quarter of a large import; a tenth of a Slack shard's or
    a git log's CPU). It is re-enabled on exit if it was enabled on entry. Also a decorator:
    ``@gc_paused()``.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
