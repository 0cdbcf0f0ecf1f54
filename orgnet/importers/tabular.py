"""Read tabular inputs (CSV, TSV, Parquet, JSON, JSON lines) into header + string rows with line numbers.

Every cell comes back as text (or ``None``): ids keep their leading zeros and ``+``, dates are parsed
by the caller, nothing is evaluated. CSV is read with an explicit dialect (comma, tab or semicolon
from the header line, never ``csv.Sniffer``), a bounded field size, and UTF-8 / UTF-16 / cp1252
decoding (the codec used is reported).
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from orgnet.exceptions import InputError
from orgnet.importers._io import JsonRecordError, decode_text, loads_strict, open_binary

__all__ = ["MAX_FIELD_BYTES", "Table", "TableRow", "read_table"]

MAX_FIELD_BYTES = 1024 * 1024
_LIST_KEYS = ("employees", "workers", "people", "members", "data", "results", "rows", "records")


@dataclass(frozen=True)
class TableRow:
    """One data row: ``line`` is the 1-based line (CSV) or record number (Parquet/JSON)."""

    line: int
    cells: dict[str, str | None]


@dataclass
class Table:
    """Headers as written, rows, the codec used, and rows that could not be read."""

    path: str
    headers: list[str]
    rows: list[TableRow]
    codec: str
    bad_rows: list[tuple[int, str, str]]  # (line, reason, raw excerpt)


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ";".join(str(v) for v in value if v is not None)
    text = str(value)
    return text if text.strip() != "" else None


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _delimiter(header_line: str, suffix: str) -> str:
    if suffix in (".tsv", ".tab"):
        return "\t"
    counts = {d: header_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(path: Path, text: str, codec: str) -> Table:
    first = text.split("\n", 1)[0]
    suffix = path.suffix.lower() if path.suffix.lower() != ".gz" else Path(path.stem).suffix.lower()
    delim = _delimiter(first, suffix)
    old_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_FIELD_BYTES)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, quotechar='"', strict=True)
        rows: list[TableRow] = []
        bad: list[tuple[int, str, str]] = []
        headers: list[str] | None = None
        last_line = 0
        while True:
            start = last_line + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                last_line = reader.line_num
                bad.append((start, f"unreadable CSV record: {exc}", ""))
                continue
            last_line = reader.line_num
            if headers is None:
                headers = [h.strip() for h in record]
                if not any(headers):
                    raise InputError("the header row is empty", file=str(path), line=start)
                dupes = sorted({h for h in headers if h and headers.count(h) > 1})
                if dupes:
                    raise InputError(f"duplicate column header(s) {dupes}", file=str(path), line=start)
                continue
            if not any(c.strip() for c in record):
                continue
            if len(record) != len(headers):
                bad.append(
                    (start, f"{len(record)} fields where the header has {len(headers)}",
                     delim.join(record)[:200])
                )
                continue
            rows.append(TableRow(start, {h: _cell(v) for h, v in zip(headers, record, strict=True)}))
    finally:
        csv.field_size_limit(old_limit)
    if headers is None:
        raise InputError("the file is empty: a header row is required", file=str(path))
    return Table(str(path), headers, rows, codec, bad)


def _read_json(path: Path, text: str, codec: str) -> Table:
    stripped = text.lstrip()
    records: list[tuple[int, Any]] = []
    bad: list[tuple[int, str, str]] = []
    if stripped.startswith("[") or (stripped.startswith("{") and "\n{" not in stripped):
        try:
            data = loads_strict(text)
        except JsonRecordError as exc:
            raise InputError(str(exc), file=str(path)) from exc
        if isinstance(data, dict):
            for key in _LIST_KEYS:
                if isinstance(data.get(key), list):
                    data = data[key]
                    break
            else:
                data = [data]
        if not isinstance(data, list):
            raise InputError("expected a JSON array of objects", file=str(path))
        records = [(i, item) for i, item in enumerate(data, start=1)]
    else:
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((lineno, loads_strict(line)))
            except JsonRecordError as exc:
                bad.append((lineno, str(exc), line[:200]))
    headers: list[str] = []
    rows: list[TableRow] = []
    for recno, item in records:
        if not isinstance(item, dict):
            bad.append((recno, f"expected an object, got {type(item).__name__}", str(item)[:200]))
            continue
        flat = _flatten(item)
        for key in flat:
            if key not in headers:
                headers.append(key)
        rows.append(TableRow(recno, {k: _cell(v) for k, v in flat.items()}))
    return Table(str(path), headers, rows, codec, bad)


def _read_parquet(path: Path) -> Table:
    try:
        df = pl.read_parquet(path)
    except Exception as exc:  # polars raises several error types for corrupt files
        raise InputError(f"cannot read Parquet: {exc}", file=str(path)) from exc
    headers = list(df.columns)
    rows = [
        TableRow(i, {h: _cell(v) for h, v in rec.items()})
        for i, rec in enumerate(df.iter_rows(named=True), start=1)
    ]
    return Table(str(path), headers, rows, "parquet", [])


def read_table(path: str | Path) -> Table:
    """Read a CSV, TSV, Parquet, JSON or JSON-lines file (optionally gzipped).

    Raises
    ------
    InputError
        When the file cannot be read at all (missing, empty, no header, not the format).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", file=str(p))
    name = p.name.lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        return _read_parquet(p)
    try:
        with open_binary(p) as fh:
            data = fh.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise InputError(f"corrupt or truncated compressed file: {exc}", file=str(p)) from exc
    if data.startswith(b"PAR1"):
        return _read_parquet(p)
    text, codec = decode_text(data)
    if name.endswith((".json", ".jsonl", ".ndjson")) or text.lstrip()[:1] in ("[", "{"):
        return _read_json(p, text, codec)
    return _read_csv(p, text, codec)


def iter_rows(table: Table) -> Iterator[TableRow]:
    """Rows in file order."""
    yield from table.rows
