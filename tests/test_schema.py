"""Canonical table schemas and validators."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from orgnet.exceptions import SchemaError
from orgnet.schema import CONTENT_COLUMN_NAMES, SCHEMAS, TABLES, conform, empty, validate

EXPECTED_TABLES = {
    "people", "identities", "units", "memberships", "interactions", "artifacts", "touches",
    "ownership", "rejects",
}


def test_every_architecture_table_has_a_schema() -> None:
    assert set(TABLES) == EXPECTED_TABLES
    for table in TABLES:
        assert isinstance(SCHEMAS[table], pl.Schema)
        validate(table, empty(table))


def test_no_table_has_a_free_text_content_column() -> None:
    for table, schema in SCHEMAS.items():
        for column in schema:
            parts = set(column.lower().split("_"))
            assert column.lower() not in CONTENT_COLUMN_NAMES, (table, column)
            assert not parts & {"text", "body", "message", "content", "subject", "comment"}, (
                table, column)


def _events(**overrides: object) -> pl.DataFrame:
    row = {
        "event_id": "e1", "source": "git", "kind": "commit_authored", "actor_id": "i1",
        "ts": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "weight": 1.0,
    }
    row.update(overrides)
    return conform("interactions", pl.DataFrame([row]))


def test_validator_accepts_a_good_frame() -> None:
    assert validate("interactions", _events()).height == 1


def test_validator_names_table_column_and_values_for_a_bad_kind() -> None:
    with pytest.raises(SchemaError) as err:
        validate("interactions", _events(kind="telepathy"))
    msg = str(err.value)
    assert "'interactions'" in msg and "'kind'" in msg and "'telepathy'" in msg


def test_validator_reports_nulls_in_required_columns() -> None:
    df = _events().with_columns(pl.lit(None, dtype=pl.String).alias("actor_id"))
    with pytest.raises(SchemaError, match=r"'interactions', column 'actor_id'.*null"):
        validate("interactions", df)


def test_validator_reports_duplicate_keys_with_values() -> None:
    df = pl.concat([_events(), _events()])
    with pytest.raises(SchemaError, match=r"duplicated key.*'e1'"):
        validate("interactions", df)


def test_validator_reports_missing_extra_and_mistyped_columns() -> None:
    with pytest.raises(SchemaError, match="missing column"):
        validate("people", pl.DataFrame({"person_id": ["a"]}))
    bad = empty("people").with_columns(pl.col("is_bot").cast(pl.String))
    with pytest.raises(SchemaError, match=r"'people', column 'is_bot': dtype"):
        validate("people", bad)
    with pytest.raises(SchemaError, match="unknown column"):
        conform("people", pl.DataFrame({"person_id": ["a"], "message": ["hi"]}))


def test_conform_fills_missing_nullable_columns() -> None:
    df = conform("units", pl.DataFrame({"unit_id": ["u"], "name": ["U"], "kind": ["team"],
                                        "source": ["hris"]}))
    assert df.columns == list(SCHEMAS["units"])
    assert df["parent_id"].to_list() == [None]
