"""Thin, safe readers shared by importers: text with codec fallback, gzip, JSON and JSON lines.

Parsers stay pure functions over lines or records; these helpers own files, compression and the
JSON pitfalls of FORMATS §17.2 (duplicate keys, NaN, deep nesting, huge lines, BOMs).
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import io
import json
import os
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Final, cast

from isal import isal_zlib

from orgnet.exceptions import InputError

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_LINE_BYTES",
    "JsonRecordError",
    "decode_text",
    "iter_json_documents",
    "iter_json_lines",
    "iter_line_blocks",
    "iter_raw_lines",
    "loads_strict",
    "open_binary",
    "read_text",
]

MAX_LINE_BYTES: Final = 16 * 1024 * 1024
MAX_JSON_DEPTH: Final = 200
MAX_DECOMPRESSED_BYTES: Final = 64 * 1024**3


class JsonRecordError(ValueError):
    """One JSON record is malformed (the reader goes on with the next)."""


#: ISA-L's error class (typed for ``except``; also used by :mod:`orgnet.importers._archive`).
_ISAL_ERROR: Final = cast("type[Exception]", isal_zlib.error)

#: Where the columnar paths hand DuckDB a batch: memory when there is a writable ``/dev/shm``.
BATCH_DIR: Final = ("/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK)
                    else None)


def _iov_max() -> int:
    """Buffers per ``writev`` call (``IOV_MAX``: 1024 on Linux and macOS)."""
    try:
        n = os.sysconf("SC_IOV_MAX")
    except (AttributeError, ValueError, OSError):
        return 16
    return min(n, 1024) if n > 0 else 16


_IOV_MAX: Final = _iov_max()


def write_all(fd: int, pieces: list[bytes]) -> None:
    """Write ``pieces`` one after the other to ``fd`` by ``writev``, without joining them first
    (the batch is copied once, by the kernel); short writes are completed, and a write that
    makes no progress raises ``ENOSPC`` instead of looping."""
    for k in range(0, len(pieces), _IOV_MAX):
        chunk = pieces[k:k + _IOV_MAX]
        done = os.writev(fd, chunk)
        if done < sum(map(len, chunk)):  # a short write: the rest of the chunk one by one
            view = memoryview(b"".join(chunk))[done:]
            while view:
                written = os.write(fd, view)
                if written <= 0:  # never on tmpfs or a disk (they raise ENOSPC)
                    raise OSError(errno.ENOSPC, "no space left for the batch", BATCH_DIR)
                view = view[written:]


@contextlib.contextmanager
def batch_file(pieces: list[bytes], prefix: str) -> Iterator[str]:
    """A temporary file holding ``pieces``, for DuckDB to read; yields the path to read.

    The batch holds message or review text: on Linux the file is unlinked before it is read
    (DuckDB reads it through ``/proc/self/fd``), so nothing is left behind even if the process
    is killed; elsewhere it is removed afterwards. ``pieces`` is emptied once written, so the
    batch is not held in memory twice while it is read.
    """
    fd, path = tempfile.mkstemp(suffix=".json", prefix=prefix, dir=BATCH_DIR)
    linked = True
    try:
        write_all(fd, pieces)
        pieces.clear()
        source = f"/proc/self/fd/{fd}"
        if os.path.exists(source):
            os.unlink(path)
            linked = False
        else:
            source = path
        yield source
    finally:
        os.close(fd)
        if linked:
            os.unlink(path)


class _Inflater:
    """ISA-L's raw-deflate decompressor with the ``zlib`` interface and errors (``zlib.error``)."""

    __slots__ = ("_d",)

    def __init__(self, **kwargs: Any) -> None:
        self._d = isal_zlib.decompressobj(**kwargs)

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        try:
            return bytes(self._d.decompress(data, max_length))
        except _ISAL_ERROR as exc:
            raise zlib.error(str(exc)) from exc

    @property
    def eof(self) -> bool:
        return bool(self._d.eof)

    @property
    def unconsumed_tail(self) -> bytes:
        return bytes(self._d.unconsumed_tail)

    @property
    def unused_data(self) -> bytes:
        return bytes(self._d.unused_data)


class _FastGzipReader(gzip._GzipReader):
    """The standard library's gzip reader (headers, members, CRC and length checks, errors)
    with its inflating and CRC done by ISA-L: the same bytes and exceptions for valid,
    truncated or corrupt input at about a third of the CPU."""

    _crc: int
    _stream_size: int

    def __init__(self, fp: IO[bytes]) -> None:
        super().__init__(fp)
        self._decomp_factory = _Inflater
        self._decompressor = _Inflater(**self._decomp_args)  # type: ignore[attr-defined]

    def _add_read_data(self, data: bytes) -> None:
        self._crc = isal_zlib.crc32(data, self._crc)
        self._stream_size = self._stream_size + len(data)


class _FastGzipFile(gzip.GzipFile):
    """:class:`gzip.GzipFile` for reading, on :class:`_FastGzipReader`."""

    def __init__(self, fileobj: IO[bytes]) -> None:
        super().__init__(fileobj=fileobj, mode="rb")
        self._buffer = io.BufferedReader(_FastGzipReader(fileobj), 1 << 17)


def _fast_gzip_works() -> bool:
    """Whether the standard library's gzip reader has the internals :class:`_FastGzipReader`
    builds on (else the plain :class:`gzip.GzipFile` is used)."""
    try:
        reader = _FastGzipReader(io.BytesIO(gzip.compress(b"orgnet\n")))
        return (reader.read(64) == b"orgnet\n" and reader.read(64) == b""
                and isinstance(reader._decompressor, _Inflater))
    except Exception:  # pragma: no cover - another Python's gzip internals
        return False


_FAST_GZIP: Final = _fast_gzip_works()


def open_binary(path: str | Path) -> IO[bytes]:
    """Open a file for reading bytes, transparently gunzipping ``.gz`` files.

    Gzip is read as a :class:`gzip.GzipFile` that inflates with ISA-L (:mod:`isal`).

    Raises
    ------
    InputError
        When the file does not exist or cannot be opened.
    """
    p = Path(path)
    try:
        fh = p.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or exc}", file=str(p)) from exc
    head = fh.peek(2)[:2] if isinstance(fh, io.BufferedReader) else b""
    if p.suffix == ".gz" or head == b"\x1f\x8b":
        if _FAST_GZIP:
            return _FastGzipFile(fh)  # type: ignore[return-value]
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    return fh


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM tolerated), else UTF-16 with BOM, else cp1252.

    Returns
    -------
    (text, codec)
        The text and the codec that decoded it, to record in the import log.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


_COMPRESSION_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def read_text(path: str | Path, *, max_bytes: int = 2 * 1024**3) -> tuple[str, str]:
    """Read a whole (possibly gzipped) text file with :func:`decode_text`.

    Raises
    ------
    InputError
        When the file is missing, too large, or its compression is corrupt or truncated.
    """
    try:
        with open_binary(path) as fh:
            data = fh.read(max_bytes + 1)
    except _COMPRESSION_ERRORS as exc:
        raise InputError(f"corrupt or truncated compressed file: {exc}", file=str(path)) from exc
    if len(data) > max_bytes:
        raise InputError(f"larger than {max_bytes} bytes; split it or raise the limit", file=str(path))
    return decode_text(data)


def _reject_constant(name: str) -> Any:
    raise JsonRecordError(f"non-standard JSON constant {name}")


def _pairs_no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonRecordError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_strict(text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that rejects duplicate keys, NaN/Infinity, deep nesting and huge integers.

    Nesting deeper than ``max_depth`` is rejected after parsing (a walk over containers only);
    input deep enough to exhaust the C scanner's recursion limit is rejected the same way.

    Raises
    ------
    JsonRecordError
        With a short reason suitable for the rejects table.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig", errors="strict")
    elif text.startswith("\ufeff"):
        text = text[1:]
    try:
        value = json.loads(
            text, object_pairs_hook=_pairs_no_duplicates, parse_constant=_reject_constant
        )
    except JsonRecordError:
        raise
    except json.JSONDecodeError as exc:
        raise JsonRecordError(f"invalid JSON: {exc.msg} column {exc.colno}") from exc
    except RecursionError as exc:
        raise JsonRecordError(f"JSON nested deeper than {max_depth} levels") from exc
    except ValueError as exc:
        raise JsonRecordError(f"invalid JSON: {exc}") from exc
    # Nesting depth is at most the number of opening brackets: most documents (a Slack day
    # file, one JSONL record) have fewer than the limit and need no walk.
    if text.count("[") + text.count("{") > max_depth and _too_deep(value, max_depth):
        raise JsonRecordError(f"JSON nested deeper than {max_depth} levels")
    return value


def _too_deep(value: Any, limit: int) -> bool:
    """True when containers nest deeper than ``limit`` (walks containers only, not characters)."""
    try:
        return _too_deep_recursive(value, 1, limit)
    except RecursionError:
        return _too_deep_iterative(value, limit)


def _too_deep_recursive(item: Any, depth: int, limit: int) -> bool:
    # The per-record hot path of every JSON importer: exact type checks (json.loads builds
    # plain dicts and lists) and no tuple per child.
    if depth > limit:
        return True
    t = type(item)
    if t is dict:
        children: Any = item.values()
    elif t is list:
        children = item
    elif isinstance(item, dict):
        children = item.values()
    elif isinstance(item, list):
        children = item
    else:
        return False
    for child in children:
        ct = type(child)
        if (ct is dict or ct is list or isinstance(child, dict | list)) and _too_deep_recursive(
                child, depth + 1, limit):
            return True
    return False


def _too_deep_iterative(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return False


def iter_raw_lines(
    path: str | Path, *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, bytes | JsonRecordError]]:
    """Yield ``(line_number, raw_line_or_error)`` for each non-blank line of a JSONL file, unparsed.

    A line longer than ``max_line_bytes`` and corrupt or truncated compressed data yield a
    :class:`JsonRecordError` (the latter as the last record).
    """
    last = 0
    try:
        with open_binary(path) as fh:
            for lineno, raw in enumerate(_bounded_lines(fh, max_line_bytes), start=1):
                if raw is None:
                    last = lineno
                    yield lineno, JsonRecordError(f"line longer than {max_line_bytes} bytes")
                    continue
                if not raw.strip():
                    continue
                last = lineno
                yield lineno, raw
    except _COMPRESSION_ERRORS as exc:
        yield last + 1, JsonRecordError(f"corrupt or truncated compressed data: {exc}")


def _chunks(fh: IO[bytes], size: int) -> Iterator[bytes]:
    """About ``size`` bytes at a time. On corrupt or truncated compressed data, everything
    decompressed before it is yielded first (as a line-by-line reader would have seen it)."""
    parts: list[bytes] = []
    n = 0
    read = getattr(fh, "read1", fh.read)
    try:
        while True:
            chunk = read(max(size - n, 1))
            if not chunk:
                break
            parts.append(chunk)
            n += len(chunk)
            if n >= size:
                yield b"".join(parts)
                parts, n = [], 0
    except _COMPRESSION_ERRORS:
        if parts:
            yield b"".join(parts)
        raise
    if parts:
        yield b"".join(parts)


def iter_line_blocks(
    path: str | Path, *, max_line_bytes: int = MAX_LINE_BYTES, block_bytes: int = 16 << 20
) -> Iterator[list[tuple[int, bytes | JsonRecordError, bool]]]:
    """The records of :func:`iter_raw_lines`, read in large blocks (much faster for big files).

    Yields lists of ``(line_number, raw_or_error, newline)``: ``raw`` is the line without its
    line end, ``newline`` tells whether it had one (only the last line of a file may not).
    """
    last = lineno = 0
    out: list[tuple[int, bytes | JsonRecordError, bool]] = []

    def too_long() -> None:
        nonlocal last
        last = lineno
        out.append((lineno, JsonRecordError(f"line longer than {max_line_bytes} bytes"), True))

    try:
        with open_binary(path) as fh:
            rest = b""
            skipping = False  # inside a line already reported as too long
            for chunk in _chunks(fh, block_bytes):
                data = rest + chunk if rest else chunk
                cut = data.rfind(b"\n")
                if cut < 0:
                    if not skipping and len(data) > max_line_bytes:
                        lineno += 1
                        too_long()
                        skipping = True
                    rest = b"" if skipping else data
                    continue
                lines = data[:cut].split(b"\n")
                rest = data[cut + 1:]
                if skipping:  # the end of the long line
                    lines = lines[1:]
                    skipping = False
                for raw in lines:
                    lineno += 1
                    if len(raw) > max_line_bytes:
                        too_long()
                    elif raw.strip():
                        last = lineno
                        out.append((lineno, raw, True))
                if len(rest) > max_line_bytes:
                    lineno += 1
                    too_long()
                    rest, skipping = b"", True
                if out:
                    yield out
                    out = []
            if rest and not skipping:
                lineno += 1
                if len(rest) > max_line_bytes:
                    too_long()
                elif rest.strip():
                    last = lineno
                    out.append((lineno, rest, False))
    except _COMPRESSION_ERRORS as exc:
        out.append((last + 1, JsonRecordError(f"corrupt or truncated compressed data: {exc}"),
                    True))
    if out:
        yield out


def iter_json_lines(
    path: str | Path, *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, Any | JsonRecordError, bytes]]:
    """Yield ``(line_number, object_or_error, raw_line)`` for each non-blank line of a JSONL file.

    Malformed lines yield a :class:`JsonRecordError` instead of stopping the import. Lines longer
    than ``max_line_bytes`` are not parsed.
    """
    for lineno, raw in iter_raw_lines(path, max_line_bytes=max_line_bytes):
        if isinstance(raw, JsonRecordError):
            yield lineno, raw, b""
            continue
        try:
            yield lineno, loads_strict(raw), raw
        except (JsonRecordError, UnicodeDecodeError) as exc:
            err = exc if isinstance(exc, JsonRecordError) else JsonRecordError(
                f"invalid UTF-8: {exc.reason}"
            )
            yield lineno, err, raw


def _bounded_lines(fh: IO[bytes], limit: int) -> Iterator[bytes | None]:
    """Lines of a binary stream; a line over ``limit`` bytes yields ``None`` and is skipped."""
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while True:  # drain the rest of the huge line
                chunk = fh.readline(limit)
                if not chunk or chunk.endswith(b"\n"):
                    break
            yield None
            continue
        yield line


def iter_json_documents(
    path: str | Path, *, max_bytes: int = 2 * 1024**3
) -> Iterator[tuple[int, Any | JsonRecordError]]:
    """Yield ``(line_number, object_or_error)`` from concatenated JSON documents.

    Perceval's default output is pretty-printed JSON objects one after another (FORMATS §1.2);
    a JSON array of objects and JSON lines are read too. After a malformed document the reader
    resynchronises at the next line that starts with ``{``.
    """
    text, _codec = read_text(path, max_bytes=max_bytes)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = loads_strict(text)
        except JsonRecordError as exc:
            yield 1, exc
            return
        if isinstance(data, list):
            for item in data:
                yield 1, item
        return
    decoder = json.JSONDecoder(object_pairs_hook=_pairs_no_duplicates, parse_constant=_reject_constant)
    pos, n = 0, len(text)
    while pos < n:
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        if pos >= n:
            break
        lineno = text.count("\n", 0, pos) + 1
        try:
            obj, end = decoder.raw_decode(text, pos)
            if _too_deep(obj, MAX_JSON_DEPTH):
                raise JsonRecordError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
            yield lineno, obj
            pos = end
        except (json.JSONDecodeError, JsonRecordError, ValueError, RecursionError) as exc:
            err = exc if isinstance(exc, JsonRecordError) else JsonRecordError(f"invalid JSON: {exc}")
            yield lineno, err
            nxt = text.find("\n{", pos + 1)
            if nxt < 0:
                break
            pos = nxt + 1
