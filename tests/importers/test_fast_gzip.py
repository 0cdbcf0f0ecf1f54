"""``open_binary`` inflates gzip with ISA-L: same bytes and exception classes as :mod:`gzip`."""

from __future__ import annotations

import gzip
import io
import struct
import zlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgnet.importers import _io
from orgnet.importers._io import open_binary


def _read_all(fh: io.BufferedIOBase, how: str) -> tuple[list[bytes], type[BaseException] | None]:
    """Everything a reader gets before the stream ends or fails, and the exception class."""
    out: list[bytes] = []
    try:
        while True:
            if how == "readline":
                chunk = fh.readline()
            elif how == "read1":
                chunk = fh.read1(777)
            else:
                chunk = fh.read(4096)
            if not chunk:
                return out, None
            out.append(chunk)
    except (EOFError, OSError, zlib.error) as exc:
        return out, type(exc)


def _both(path: Path, how: str) -> tuple[object, object]:
    with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as ref:
        want = _read_all(ref, how)
    with open_binary(path) as fh:
        got = _read_all(fh, how)  # type: ignore[arg-type]
    return (b"".join(got[0]), got[1]), (b"".join(want[0]), want[1])


def _member(data: bytes, *, name: bytes | None = None, extra: bytes | None = None,
            comment: bytes | None = None, hcrc: bool = False) -> bytes:
    flags = (8 if name is not None else 0) | (4 if extra is not None else 0) | (
        16 if comment is not None else 0) | (2 if hcrc else 0)
    head = b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0\0\xff"
    if extra is not None:
        head += struct.pack("<H", len(extra)) + extra
    if name is not None:
        head += name + b"\0"
    if comment is not None:
        head += comment + b"\0"
    if hcrc:
        head += struct.pack("<H", zlib.crc32(head) & 0xFFFF)
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = comp.compress(data) + comp.flush()
    return head + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def test_the_fast_reader_is_used() -> None:
    assert _io._FAST_GZIP


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.binary(max_size=300), min_size=0, max_size=60),
    members=st.integers(1, 3),
    cut=st.one_of(st.none(), st.floats(0, 1)),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=3),
    tail=st.sampled_from([b"", b"garbage", b"\0\0\0\0", b"\x1f\x8b"]),
    header=st.sampled_from(["plain", "name", "extra", "comment", "hcrc"]),
    how=st.sampled_from(["readline", "read1", "read"]),
)
def test_same_bytes_and_errors_as_gzip(tmp_path: Path, lines: list[bytes], members: int,
                                       cut: float | None, flips: list[tuple[float, int]],
                                       tail: bytes, header: str, how: str) -> None:
    data = b"\n".join(lines)
    kw: dict[str, object] = {
        "plain": {}, "name": {"name": b"x.jsonl"}, "extra": {"extra": b"ab\x00\x02xy"},
        "comment": {"comment": b"hi"}, "hcrc": {"hcrc": True}}[header]
    blob = bytearray(b"".join(_member(data[i::members], **kw)  # type: ignore[arg-type]
                              for i in range(members)) + tail)
    for where, xor in flips:
        if blob:
            blob[min(int(where * len(blob)), len(blob) - 1)] ^= xor
    if cut is not None:
        blob = blob[: int(cut * len(blob))]
    path = tmp_path / "x.jsonl.gz"
    path.write_bytes(bytes(blob))
    got, want = _both(path, how)
    assert got == want


def test_large_stream_with_truncation_keeps_what_was_read(tmp_path: Path) -> None:
    data = b"".join(b'{"n":%d,"pad":"%s"}\n' % (i, b"z" * (i % 97)) for i in range(200_000))
    full = gzip.compress(data)
    for cut in (len(full) // 3, len(full) - 9, len(full)):
        path = tmp_path / f"c{cut}.gz"
        path.write_bytes(full[:cut])
        got, want = _both(path, "readline")
        assert got == want
        if cut == len(full):
            assert got == (data, None)
        else:
            assert got[1] is EOFError and len(got[0]) > 0  # type: ignore[index,arg-type]
