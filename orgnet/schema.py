"""Canonical tables: one ``pl.Schema`` per table and the validators that enforce them.

The canonical tables are the contract between the importers and everything else
(ARCHITECTURE §2). None of them has a column for message, review or commit text: importers
read bodies only to extract mentions, trailers and references, then drop them.

Tables
------
people
    One row per resolved person. ``person_id`` is the HRIS ``employee_id`` when the person is
    in the org chart, else a stable hash of their strongest identity.
identities
    Every handle ever seen (``origin="observed"``) or claimed by the org chart or an alias
    file (``origin="hris"``/``"alias"``), the person it resolved to, and why (``evidence``).
units
    Formal units (teams, departments, orgs, maintainer sections, companies): a forest through
    ``parent_id``.
memberships
    Effective-dated membership of people in units: valid on ``[valid_from, valid_to)``; a null
    ``valid_from`` means "since before the data", a null ``valid_to`` means "still valid".
    Org-chart rows carry the ``employee_id`` as ``person_id``. Structures whose members are handles
    (a team membership list keyed by GitHub login, MAINTAINERS sections) set ``member_identity_id``;
    their ``person_id`` is re-filled from identity resolution at every import.
interactions
    One row per event. ``actor_id`` and ``target_id`` are *identity* ids, so re-resolving
    identities never rewrites events; the graph layer maps them to people.
artifacts
    One row per change (pull request, patch, commit, Gerrit change): the facts needed for
    latency and outcome analysis.
touches
    One row per (artifact, path): the files a change touched, for co-edit analysis.
ownership
    Ownership rules from CODEOWNERS, OWNERS and MAINTAINERS files, in file order.
rejects
    Every record an import could not use (``outcome="rejected"``), used after repairing a field
    (``"repaired"``), or kept but worth a look (``"flagged"``), with file, line and reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

import polars as pl

from orgnet.exceptions import SchemaError

__all__ = [
    "ARTIFACT_OUTCOMES",
    "CONTENT_COLUMN_NAMES",
    "EVENT_KINDS",
    "KEYS",
    "REJECT_OUTCOMES",
    "REQUIRED",
    "SCHEMAS",
    "TABLES",
    "TableName",
    "conform",
    "empty",
    "frame_schema",
    "schema_of",
    "validate",
]

TableName = Literal[
    "people",
    "identities",
    "units",
    "memberships",
    "interactions",
    "artifacts",
    "touches",
    "ownership",
    "rejects",
]

UTC_TS: Final = pl.Datetime("us", "UTC")


def frame_schema(columns: Mapping[str, Any]) -> pl.Schema:
    """A ``pl.Schema`` from a mapping of column -> dtype (typed for mypy)."""
    return pl.Schema(columns)

SCHEMAS: Final[dict[str, pl.Schema]] = {
    "people": frame_schema(
        {
            "person_id": pl.String,
            "display_name": pl.String,
            "primary_email": pl.String,
            "is_bot": pl.Boolean,
            "in_org_chart": pl.Boolean,
        }
    ),
    "identities": frame_schema(
        {
            "identity_id": pl.String,
            "person_id": pl.String,
            "source": pl.String,
            "instance": pl.String,
            "native_id": pl.String,
            "username": pl.String,
            "email": pl.String,
            "name": pl.String,
            "is_bot": pl.Boolean,
            "origin": pl.String,
            "evidence": pl.String,
        }
    ),
    "units": frame_schema(
        {
            "unit_id": pl.String,
            "name": pl.String,
            "parent_id": pl.String,
            "kind": pl.String,
            "source": pl.String,
        }
    ),
    "memberships": frame_schema(
        {
            "person_id": pl.String,
            "member_identity_id": pl.String,
            "unit_id": pl.String,
            "role": pl.String,
            "manager_id": pl.String,
            "title": pl.String,
            "level": pl.String,
            "location": pl.String,
            "timezone": pl.String,
            "employment_type": pl.String,
            "valid_from": pl.Date,
            "valid_to": pl.Date,
            "precision": pl.String,
            "source": pl.String,
        }
    ),
    "interactions": frame_schema(
        {
            "event_id": pl.String,
            "source": pl.String,
            "kind": pl.String,
            "actor_id": pl.String,
            "target_id": pl.String,
            "target_role": pl.String,
            "artifact_id": pl.String,
            "container": pl.String,
            "ts": UTC_TS,
            "time_offset_min": pl.Int16,
            "value": pl.String,
            "weight": pl.Float64,
        }
    ),
    "artifacts": frame_schema(
        {
            "artifact_id": pl.String,
            "kind": pl.String,
            "source": pl.String,
            "container": pl.String,
            "path": pl.String,
            "author_id": pl.String,
            "opened_at": UTC_TS,
            "first_review_at": UTC_TS,
            "closed_at": UTC_TS,
            "merged": pl.Boolean,
            "outcome": pl.String,
            "n_files": pl.Int32,
            "lines_added": pl.Int64,
            "lines_deleted": pl.Int64,
        }
    ),
    "touches": frame_schema(
        {
            "artifact_id": pl.String,
            "actor_id": pl.String,
            "path": pl.String,
            "ts": UTC_TS,
            "lines_added": pl.Int64,
            "lines_deleted": pl.Int64,
        }
    ),
    "ownership": frame_schema(
        {
            "rule_id": pl.String,
            "source": pl.String,
            "source_file": pl.String,
            "container": pl.String,
            "rule_order": pl.Int32,
            "pattern": pl.String,
            "negate": pl.Boolean,
            "role": pl.String,
            "owner_handle": pl.String,
            "owner_unit_id": pl.String,
            "owner_identity_id": pl.String,
        }
    ),
    "rejects": frame_schema(
        {
            "import_id": pl.String,
            "source_kind": pl.String,
            "source_file": pl.String,
            "line": pl.Int64,
            "record": pl.String,
            "field": pl.String,
            "reason": pl.String,
            "outcome": pl.String,
            "raw_excerpt": pl.String,
        }
    ),
}

TABLES: Final[tuple[str, ...]] = tuple(SCHEMAS)

#: Columns that identify a row; duplicates are a validation error.
KEYS: Final[dict[str, tuple[str, ...]]] = {
    "people": ("person_id",),
    "identities": ("identity_id",),
    "units": ("unit_id",),
    "memberships": ("person_id", "unit_id", "role", "valid_from", "source"),
    "interactions": ("event_id",),
    "artifacts": ("artifact_id",),
    "touches": ("artifact_id", "path"),
    "ownership": ("rule_id",),
    "rejects": (),
}

#: Columns that may never be null.
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "people": ("person_id", "display_name", "is_bot", "in_org_chart"),
    "identities": ("identity_id", "person_id", "source", "origin", "is_bot"),
    "units": ("unit_id", "name", "kind", "source"),
    "memberships": ("person_id", "unit_id", "role", "precision", "source"),
    "interactions": ("event_id", "source", "kind", "actor_id", "ts", "weight"),
    "artifacts": ("artifact_id", "kind", "source"),
    "touches": ("artifact_id", "path"),
    "ownership": ("rule_id", "source", "rule_order", "pattern", "negate"),
    "rejects": ("import_id", "source_kind", "source_file", "reason", "outcome"),
}

#: The event vocabulary (FORMATS §0.2, plus ``email_message`` for thread roots and
#: ``reference`` for a message that refers to a repository, path or change).
EVENT_KINDS: Final[frozenset[str]] = frozenset(
    {
        "commit_authored",
        "commit_committed",
        "commit_coauthored",
        "commit_trailer",
        "change_opened",
        "change_merged",
        "review_requested",
        "review_approved",
        "review_changes_requested",
        "review_commented",
        "review_dismissed",
        "vote",
        "review_comment",
        "comment",
        "chat_message",
        "chat_reply",
        "email_message",
        "email_reply",
        "mention",
        "reaction",
        "reference",
    }
)

ARTIFACT_OUTCOMES: Final[frozenset[str]] = frozenset(
    {"open", "merged", "closed", "abandoned", "committed"}
)
REJECT_OUTCOMES: Final[frozenset[str]] = frozenset({"rejected", "repaired", "flagged"})
IDENTITY_ORIGINS: Final[frozenset[str]] = frozenset({"observed", "hris", "alias", "derived"})

_ENUMS: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("interactions", "kind"): EVENT_KINDS,
    ("artifacts", "outcome"): ARTIFACT_OUTCOMES,
    ("rejects", "outcome"): REJECT_OUTCOMES,
    ("identities", "origin"): IDENTITY_ORIGINS,
    ("memberships", "precision"): frozenset({"day", "snapshot", "unknown"}),
}

#: Column names that would hold free text; no canonical table may have one.
CONTENT_COLUMN_NAMES: Final[frozenset[str]] = frozenset(
    {"text", "body", "message", "messages", "content", "subject", "comment", "description",
     "summary", "diff", "patch", "raw", "payload", "html", "markdown"}
)


def empty(table: str) -> pl.DataFrame:
    """Return an empty frame with the canonical schema of ``table``.

    Parameters
    ----------
    table
        A name from :data:`TABLES`.

    Returns
    -------
    pl.DataFrame
        Zero rows, the canonical columns and dtypes.
    """
    return pl.DataFrame(schema=_schema(table))


def _schema(table: str) -> pl.Schema:
    try:
        return SCHEMAS[table]
    except KeyError:
        raise SchemaError(f"unknown table {table!r}; known tables: {', '.join(TABLES)}") from None


def conform(table: str, df: pl.DataFrame) -> pl.DataFrame:
    """Add missing nullable columns, order and cast columns to the canonical schema.

    Importers build frames with the columns they know; this fills the rest with nulls so the
    result validates. Extra columns are an error: they would be silently lost otherwise.

    Parameters
    ----------
    table
        A name from :data:`TABLES`.
    df
        Frame with a subset of the canonical columns.

    Returns
    -------
    pl.DataFrame
        The same rows with exactly the canonical columns, in order.

    Raises
    ------
    SchemaError
        If ``df`` has a column the table does not define, or a value cannot be cast.
    """
    schema = _schema(table)
    extra = [c for c in df.columns if c not in schema]
    if extra:
        raise SchemaError(f"table {table!r}: unknown column(s) {extra}; expected {list(schema)}")
    exprs = []
    for name, dtype in schema.items():
        if name in df.columns:
            exprs.append(pl.col(name).cast(dtype, strict=True))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    try:
        return df.select(exprs)
    except pl.exceptions.InvalidOperationError as exc:
        raise SchemaError(f"table {table!r}: cannot cast to the canonical schema: {exc}") from exc


def _sample(values: pl.Series, limit: int = 5) -> str:
    shown = [repr(v) for v in values.head(limit).to_list()]
    more = f" (and {values.len() - limit} more)" if values.len() > limit else ""
    return ", ".join(shown) + more


def validate(table: str, df: pl.DataFrame, *, check_keys: bool = True) -> pl.DataFrame:
    """Check that ``df`` is a valid instance of the canonical table ``table``.

    Checks, in order: exact column names and order, dtypes, non-null required columns,
    vocabulary of enumerated columns, unique keys.

    Parameters
    ----------
    table
        A name from :data:`TABLES`.
    df
        The frame to check.
    check_keys
        Also check that key columns are unique (costs a group-by on large tables).

    Returns
    -------
    pl.DataFrame
        ``df`` unchanged, so the call can be chained.

    Raises
    ------
    SchemaError
        Naming the table, the column and up to five offending values.
    """
    schema = _schema(table)
    if list(df.columns) != list(schema):
        missing = [c for c in schema if c not in df.columns]
        extra = [c for c in df.columns if c not in schema]
        detail = []
        if missing:
            detail.append(f"missing column(s) {missing}")
        if extra:
            detail.append(f"unexpected column(s) {extra}")
        if not detail:
            detail.append(f"columns out of order: {df.columns}")
        raise SchemaError(f"table {table!r}: " + "; ".join(detail))
    for name, dtype in schema.items():
        if df.schema[name] != dtype:
            raise SchemaError(
                f"table {table!r}, column {name!r}: dtype {df.schema[name]} but expected {dtype}"
            )
    for name in REQUIRED[table]:
        nulls = df[name].null_count()
        if nulls:
            rows = df.with_row_index("_row").filter(pl.col(name).is_null())["_row"]
            raise SchemaError(
                f"table {table!r}, column {name!r}: {nulls} null value(s) in a required column "
                f"(rows {_sample(rows)})"
            )
    for (tname, col), allowed in _ENUMS.items():
        if tname != table:
            continue
        values = df[col].drop_nulls().unique().sort()
        bad = values.filter(~values.is_in(sorted(allowed)))
        if bad.len():
            raise SchemaError(
                f"table {table!r}, column {col!r}: value(s) outside the vocabulary: {_sample(bad)}"
            )
    keys = KEYS[table]
    if check_keys and keys and df.height:
        dup = df.group_by(list(keys)).len().filter(pl.col("len") > 1)
        if dup.height:
            shown = dup.head(5).drop("len").rows()
            raise SchemaError(
                f"table {table!r}, key {list(keys)}: {dup.height} duplicated key(s), e.g. {shown}"
            )
    return df


def schema_of(table: str) -> Mapping[str, pl.DataType]:
    """Return the canonical schema of ``table`` (read-only mapping of column to dtype)."""
    return _schema(table)
