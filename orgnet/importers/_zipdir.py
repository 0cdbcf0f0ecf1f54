"""Read and validate a zip file's central directory column-wise, without ``zipfile``.

``zipfile.ZipFile(path)`` builds a ``ZipInfo`` and decodes a name per member (about 6 us each),
and :meth:`SafeArchive._validate_zip <orgnet.importers._archive.SafeArchive._validate_zip>` then
checks each member in Python (about 4 us more): 7 s of CPU for a 677,000-member Slack export,
about a minute at 7 million. This module reads the end-of-central-directory records and the
directory bytes with two reads, parses every entry with numpy, and validates the names with
polars (Python only for names with non-ASCII bytes or a NUL).

:func:`read_directory` gives exactly the values ``zipfile.ZipFile(path).infolist()`` gives, or
``None`` whenever it cannot be sure it does (the caller then uses ``zipfile``, which decides,
with its own errors): a malformed or truncated directory, bytes before the archive (``concat``),
zip64 fields in an entry, extra fields zipfile interprets (zip64 ``0x0001``; the Unicode path
``0x7075`` that newer Pythons may honour), multi-disk archives, a UTF-8 flagged name that is not
UTF-8. :func:`validate` gives the outcome of ``_validate_zip`` on that table: the same archive
error (:class:`UnsafeArchiveError`, same message and member), the same problems in the same order
and the readable members in directory order, as the table of an ``ArchiveListing``.
"""

from __future__ import annotations

import os
import struct
from typing import IO, Final

import numpy as np
import polars as pl
import pyarrow as pa

from orgnet.importers._archive import (
    _ABSOLUTE_PATH,
    _CONTROL,
    _CONTROL_IN_NAME,
    _DRIVE,
    _EMPTY_NAME,
    _ENCRYPTED,
    _ESCAPING_PATH,
    _SYMLINK,
    LISTING_SCHEMA,
    ArchiveProblem,
    _collision,
    _fold,
    _long_name,
    _overlap,
    _shared_header,
    _too_many_members,
)

__all__ = ["DIRECTORY_SCHEMA", "LISTING_SCHEMA", "UnsafeArchiveError", "read_directory", "validate"]

_EOCD: Final = struct.Struct("<4s4H2LH")  # zipfile.structEndArchive
_EOCD64_LOCATOR: Final = struct.Struct("<4sLQL")  # zipfile.structEndArchive64Locator
_EOCD64: Final = struct.Struct("<4sQ2H2L4Q")  # zipfile.structEndArchive64
_EOCD_SIG: Final = b"PK\x05\x06"
_LOCATOR_SIG: Final = b"PK\x06\x07"
_EOCD64_SIG: Final = b"PK\x06\x06"
_CENTRAL_SIG: Final = b"PK\x01\x02"
_CENTRAL_SIZE: Final = 46
_NAME_LENGTHS: Final = struct.Struct("<3H")  # name, extra and comment lengths at offset 28
#: zipfile.MAX_EXTRACT_VERSION: a higher "version needed" makes zipfile raise.
_MAX_EXTRACT_VERSION: Final = 63
#: Extra fields zipfile interprets now (zip64) or may in later versions (Unicode path).
_INTERPRETED_EXTRAS: Final = (0x0001, 0x7075)

#: Columns of :func:`read_directory`: the ``ZipInfo`` attributes of the same names.
DIRECTORY_SCHEMA: Final = {
    "filename": pl.String, "orig_filename": pl.String, "header_offset": pl.Int64,
    "compress_size": pl.Int64, "file_size": pl.Int64, "CRC": pl.Int64,
    "compress_type": pl.Int64, "flag_bits": pl.Int64, "_raw_time": pl.Int64,
    "external_attr": pl.Int64,
}


class UnsafeArchiveError(Exception):
    """The whole archive is refused, as ``_validate_zip`` refuses it.

    Attributes
    ----------
    message
        The reason, as given to ``SafeArchive._fail``.
    member
        The member named in the error, or ``None``.
    """

    def __init__(self, message: str, member: str | None = None) -> None:
        super().__init__(message, member)
        self.message = message
        self.member = member


def _pread(fh: IO[bytes], n: int, off: int) -> bytes:
    fh.seek(off)
    return fh.read(n)


def _end_record(fh: IO[bytes], filesize: int) -> tuple[int, int] | None:
    """``(offset, size)`` of the central directory as zipfile finds it, or ``None``.

    Follows ``zipfile._EndRecData`` and ``_EndRecData64``; ``None`` for anything zipfile would
    refuse or read differently from a plain single-disk archive starting at byte 0.
    """
    if filesize < _EOCD.size:
        return None
    tail_start = max(filesize - (1 << 16) - _EOCD.size, 0)
    tail = _pread(fh, filesize - tail_start, tail_start)
    if len(tail) != filesize - tail_start:
        return None
    last = tail[-_EOCD.size:]
    if last[:4] == _EOCD_SIG and last[-2:] == b"\x00\x00":
        location = filesize - _EOCD.size
    else:
        start = tail.rfind(_EOCD_SIG)
        if start < 0 or len(tail) - start < _EOCD.size:
            return None
        location = tail_start + start
    rec = tail[location - tail_start:location - tail_start + _EOCD.size]
    _sig, disk, disk_start, _n_disk, _n_total, size_cd, offset_cd, _comment = _EOCD.unpack(rec)
    # zip64 end records: zipfile looks for the locator just before the end record.
    loc_pos = location - _EOCD64_LOCATOR.size
    if loc_pos >= 0:
        locator = _pread(fh, _EOCD64_LOCATOR.size, loc_pos)
        if len(locator) == _EOCD64_LOCATOR.size and locator[:4] == _LOCATOR_SIG:
            _s, diskno, reloff, disks = _EOCD64_LOCATOR.unpack(locator)
            rec64_pos = loc_pos - _EOCD64.size
            if diskno != 0 or disks > 1 or rec64_pos < 0 or reloff != rec64_pos:
                return None
            rec64 = _pread(fh, _EOCD64.size, rec64_pos)
            if len(rec64) != _EOCD64.size:
                return None
            (sig, rec_size, _cv, _rv, disk, disk_start, n_disk, n_total, size_cd,
             offset_cd) = _EOCD64.unpack(rec64)
            # zipfile would keep the 32-bit record on a bad signature: leave that to it.
            if sig != _EOCD64_SIG or rec_size != _EOCD64.size - 12 or n_disk != n_total:
                return None
            location = rec64_pos
    if disk != 0 or disk_start != 0:
        return None
    if location - size_cd - offset_cd != 0:  # zipfile's "concat": bytes before the archive
        return None
    return offset_cd, size_cd


def _walk(data: bytes) -> np.ndarray | None:
    """Offsets of the entries in directory bytes, as zipfile's loop reads them, or ``None``."""
    size = len(data)
    arr = np.frombuffer(data, dtype=np.uint8)
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    if size >= 4:
        cand = np.flatnonzero(arr[:-3] == 0x50)
        cand = cand[(arr[cand + 1] == 0x4B) & (arr[cand + 2] == 1) & (arr[cand + 3] == 2)]
        cand = cand.astype(np.int64)
        if len(cand) and cand[0] == 0 and cand[-1] + _CENTRAL_SIZE <= size:
            nxt = cand + _CENTRAL_SIZE + _u16(arr, cand, 28) + _u16(arr, cand, 30) + _u16(
                arr, cand, 32)
            if nxt[-1] == size and np.array_equal(nxt[:-1], cand[1:]):
                # Every signature in the bytes chains to the next from 0 to the end: this is
                # the walk (no signature bytes inside names, extras or comments).
                return cand
    offsets: list[int] = []
    pos = 0
    unpack = _NAME_LENGTHS.unpack_from
    while pos < size:
        if size - pos < _CENTRAL_SIZE or data[pos:pos + 4] != _CENTRAL_SIG:
            return None  # zipfile: truncated directory or bad magic number
        n_name, n_extra, n_comment = unpack(data, pos + 28)
        offsets.append(pos)
        pos += _CENTRAL_SIZE + n_name + n_extra + n_comment
    if pos != size:  # the last entry runs past the directory: zipfile reads it short
        return None
    return np.asarray(offsets, dtype=np.int64)


def _u16(arr: np.ndarray, pos: np.ndarray, off: int) -> np.ndarray:
    return arr[pos + off].astype(np.int64) | (arr[pos + off + 1].astype(np.int64) << 8)


def _u32(arr: np.ndarray, pos: np.ndarray, off: int) -> np.ndarray:
    return _u16(arr, pos, off) | (_u16(arr, pos, off + 2) << 16)


def _extras_ok(arr: np.ndarray, start: np.ndarray, length: np.ndarray) -> bool:
    """Whether zipfile's ``_decodeExtra`` accepts and ignores every entry's extra field."""
    cur, rem = start[length >= 4], length[length >= 4]
    while len(cur):
        tp = _u16(arr, cur, 0)
        ln = _u16(arr, cur, 2) + 4
        if np.any(ln > rem) or np.any(np.isin(tp, _INTERPRETED_EXTRAS)):
            return False
        cur, rem = cur + ln, rem - ln
        keep = rem >= 4
        cur, rem = cur[keep], rem[keep]
    return True


def read_directory(source: str | os.PathLike[str] | IO[bytes]) -> pl.DataFrame | None:
    """The central directory of a zip file as ``zipfile`` reads it, one row per entry.

    Parameters
    ----------
    source
        A path, or a binary file open for reading (seekable; its position is moved). Reading
        from the file that is kept open afterwards spares a check that it is the same file.

    Returns
    -------
    polars.DataFrame or None
        Columns :data:`DIRECTORY_SCHEMA` (``filename``, ``orig_filename``, ``header_offset``,
        ``compress_size``, ``file_size``, ``CRC``, ``compress_type``, ``flag_bits``,
        ``_raw_time``, ``external_attr``), in directory order, equal to the attributes of the
        ``ZipInfo`` objects of ``zipfile.ZipFile(source).infolist()``. ``None`` when the
        archive is anything but a plain single-disk archive whose directory this function
        reproduces exactly (zip64 entries, interpreted extra fields, bytes before the
        archive, a malformed directory, an undecodable name, ...): use ``zipfile`` then, which
        reads it or raises its own error.

    Raises
    ------
    OSError
        When the file cannot be opened or read.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            return _read_directory(fh)
    return _read_directory(source)


def _read_directory(fh: IO[bytes]) -> pl.DataFrame | None:
    filesize = fh.seek(0, os.SEEK_END)
    found = _end_record(fh, filesize)
    if found is None:
        return None
    offset_cd, size_cd = found
    data = _pread(fh, size_cd, offset_cd)
    if len(data) != size_cd:
        return None
    pos = _walk(data)
    if pos is None:
        return None
    arr = np.frombuffer(data, dtype=np.uint8)
    if len(pos) and int(arr[pos + 6].max()) > _MAX_EXTRACT_VERSION:
        return None  # zipfile raises NotImplementedError
    flags = _u16(arr, pos, 8)
    compress_size = _u32(arr, pos, 20)
    file_size = _u32(arr, pos, 24)
    n_name = _u16(arr, pos, 28)
    n_extra = _u16(arr, pos, 30)
    header_offset = _u32(arr, pos, 42)
    big = 0xFFFF_FFFF
    if np.any(compress_size == big) or np.any(file_size == big) or np.any(header_offset == big):
        return None  # zip64 values in the extra field
    if not _extras_ok(arr, pos + _CENTRAL_SIZE + n_name, n_extra):
        return None
    names = _decode_names(data, arr, pos + _CENTRAL_SIZE, n_name, flags)
    if names is None:
        return None
    orig, cut = names
    return pl.DataFrame({
        "filename": cut, "orig_filename": orig, "header_offset": header_offset,
        "compress_size": compress_size, "file_size": file_size, "CRC": _u32(arr, pos, 16),
        "compress_type": _u16(arr, pos, 10), "flag_bits": flags, "_raw_time": _u16(arr, pos, 12),
        "external_attr": _u32(arr, pos, 38),
    }, schema=DIRECTORY_SCHEMA)


def _decode_names(data: bytes, arr: np.ndarray, start: np.ndarray, length: np.ndarray,
                  flags: np.ndarray) -> tuple[pl.Series, pl.Series] | None:
    """``(orig_filename, filename)`` columns: names as zipfile decodes them, then cut at NUL.

    Plain ASCII names without NUL (the same in UTF-8 and cp437) are copied column-wise; the
    others are decoded one by one in Python.
    """
    n = len(start)
    # Mark the name bytes (names lie in increasing, disjoint ranges of the directory).
    delta = np.zeros(len(arr) + 1, dtype=np.int8)
    delta[start] += 1
    delta[start + length] -= 1
    mask = np.cumsum(delta[:-1], dtype=np.int8).view(np.bool_)
    values = arr[mask]
    bounds = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(length, out=bounds[1:])
    special = np.zeros(n, dtype=np.bool_)
    nonempty = length > 0
    if np.any(nonempty):
        seg = bounds[:-1][nonempty]
        special[nonempty] = (np.maximum.reduceat(values, seg) >= 0x80) | (
            np.minimum.reduceat(values, seg) == 0)
    plain_len = np.where(special, 0, length)
    plain_bounds = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(plain_len, out=plain_bounds[1:])
    plain_values = values[np.repeat(~special, length)] if np.any(special) else values
    strings = pa.LargeStringArray.from_buffers(
        n, pa.py_buffer(plain_bounds), pa.py_buffer(np.ascontiguousarray(plain_values)))
    orig = pl.Series("orig_filename", strings, dtype=pl.String)
    cut = orig.clone()
    idx = np.flatnonzero(special)
    if len(idx):
        decoded: list[str] = []
        cut_names: list[str] = []
        for i in idx.tolist():
            raw = data[int(start[i]):int(start[i] + length[i])]
            try:
                name = raw.decode("utf-8" if flags[i] & 0x800 else "cp437")
            except UnicodeDecodeError:
                return None  # zipfile raises it
            decoded.append(name)
            nul = name.find("\x00")
            cut_names.append(name[:nul] if nul >= 0 else name)
        orig = orig.scatter(idx, pl.Series(decoded, dtype=pl.String))
        cut = cut.scatter(idx, pl.Series(cut_names, dtype=pl.String))
    return orig.rename("orig_filename"), cut.rename("filename")


def validate(table: pl.DataFrame, *, max_members: int,
             max_name_length: int) -> tuple[pl.DataFrame, list[ArchiveProblem]]:
    """``SafeArchive._validate_zip`` on a :func:`read_directory` table, column-wise.

    Parameters
    ----------
    table
        The directory, as :func:`read_directory` returns it.
    max_members
        Largest number of entries (``SafeArchive.max_members``).
    max_name_length
        Longest member name in UTF-8 bytes (``SafeArchive.max_name_length``).

    Returns
    -------
    readable : polars.DataFrame
        The readable members in directory order, columns :data:`LISTING_SCHEMA`: ``key`` (the
        name with ``\\`` replaced by ``/``, the key of ``SafeArchive._infos``) and the
        ``ZipInfo`` fields ``ArchiveListing.table`` holds.
    problems : list of ArchiveProblem
        The refused members, in the order ``_validate_zip`` appends them.

    Raises
    ------
    UnsafeArchiveError
        When ``_validate_zip`` refuses the whole archive; ``message`` and ``member`` are the
        arguments it gives ``SafeArchive._fail``.
    """
    n = table.height
    if n > max_members:
        raise UnsafeArchiveError(_too_many_members(n, max_members))
    name = pl.col("filename")
    norm = name.str.replace_all("\\", "/", literal=True)
    checks = table.select(
        absolute=norm.str.starts_with("/") | norm.str.contains(_DRIVE.pattern),
        escapes=norm.str.contains(r"(?:^|/)\.\.(?:/|$)"),
    )
    unsafe = np.flatnonzero((checks["absolute"] | checks["escapes"]).to_numpy())
    if len(unsafe):
        i = int(unsafe[0])
        reason = _ABSOLUTE_PATH if checks["absolute"][i] else _ESCAPING_PATH
        raise UnsafeArchiveError(reason, table["filename"][i])
    _check_spans(table)

    mode = (pl.col("external_attr") // 65536) % 65536
    problem = (
        pl.when(name == "").then(pl.lit(_EMPTY_NAME))
        .when(name.str.len_bytes() > max_name_length)
        .then(pl.lit(_long_name(max_name_length)))
        .when(name.str.contains(_CONTROL.pattern)).then(pl.lit(_CONTROL_IN_NAME))
        .when((mode // 4096) % 16 == 0o12).then(pl.lit(_SYMLINK))
        .when(pl.col("flag_bits") % 2 == 1).then(pl.lit(_ENCRYPTED))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    rows = table.with_row_index("_row").with_columns(
        _dir=name.str.ends_with("/"),
        _problem=problem,
        _key=norm,
        _ascii=name.str.len_bytes() == name.str.len_chars(),
    )
    # NFC + case folding: lowercase for ASCII names (the same), Python for the others.
    cands = rows.filter(~pl.col("_dir") & pl.col("_problem").is_null())
    fold = cands["_key"].str.to_lowercase()
    other = np.flatnonzero(~cands["_ascii"].to_numpy())
    if len(other):
        fold = fold.scatter(other, pl.Series([_fold(s) for s in cands["filename"].gather(
            other).to_list()], dtype=pl.String))
    first = fold.is_first_distinct()
    if not first.all():
        cands = cands.with_columns(_fold=fold)
        firsts = cands.filter(first).select("_fold", _first=pl.col("filename"))
        colliding = cands.filter(~first).join(firsts, on="_fold", how="left",
                                              maintain_order="left")
        messages = [_collision(other_name) for other_name in colliding["_first"].to_list()]
        rows = rows.update(
            colliding.select("_row", _problem=pl.Series(messages, dtype=pl.String)),
            on="_row", how="left")
    refused = rows.filter(~pl.col("_dir") & pl.col("_problem").is_not_null())
    problems = [ArchiveProblem(member, reason) for member, reason in zip(
        refused["filename"].to_list(), refused["_problem"].to_list(), strict=True)]
    readable = rows.filter(~pl.col("_dir") & pl.col("_problem").is_null()).select(
        pl.col("_key").alias("key"), *[c for c in LISTING_SCHEMA if c != "key"])
    return readable.cast(LISTING_SCHEMA), problems  # type: ignore[arg-type]


def _check_spans(table: pl.DataFrame) -> None:
    """The overlapping-entry check of ``_validate_zip``: the first bad pair in span order."""
    spans = table.select(
        start=pl.col("header_offset"),
        end=pl.col("header_offset") + 30 + pl.col("filename").str.len_bytes().cast(pl.Int64)
        + pl.col("compress_size"),
        name=pl.col("filename"),
    ).sort("start", "end", "name")
    bad = spans.select(
        same=pl.col("start").shift(-1) == pl.col("start"),
        over=pl.col("start").shift(-1) < pl.col("end"),
    )
    hits = np.flatnonzero((bad["same"] | bad["over"]).fill_null(False).to_numpy())
    if len(hits):
        i = int(hits[0])
        name_a, name_b = spans["name"][i], spans["name"][i + 1]
        if bad["same"][i]:
            raise UnsafeArchiveError(_shared_header(name_a), name_b)
        raise UnsafeArchiveError(_overlap(name_a), name_b)
