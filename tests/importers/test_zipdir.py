"""_zipdir: the central directory and its validation equal zipfile + SafeArchive._validate_zip."""

from __future__ import annotations

import io
import os
import shutil
import stat
import struct
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from orgnet.exceptions import InputError
from orgnet.importers import _archive
from orgnet.importers._archive import _LISTED_FIELDS, SafeArchive
from orgnet.importers._zipdir import (
    DIRECTORY_SCHEMA,
    LISTING_SCHEMA,
    UnsafeArchiveError,
    read_directory,
    validate,
)

_SETTINGS = settings(max_examples=300, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])


def _expected_validation(path: Path, infos: list[zipfile.ZipInfo], max_members: int,
                         max_name_length: int) -> tuple[str, Any]:
    """What SafeArchive._validate_zip makes of ``infos``: its error, or table and problems."""
    ar = SafeArchive.__new__(SafeArchive)
    ar.path = path
    ar.max_members = max_members
    ar.max_name_length = max_name_length
    ar.problems = []
    try:
        ar._validate_zip(infos)
    except InputError as exc:
        return "error", str(exc)
    columns: dict[str, list[Any]] = {"key": list(ar._infos)}
    for f in _LISTED_FIELDS:
        columns[f] = [getattr(ar._infos[k], f) for k in ar._infos]
    return "ok", (pl.DataFrame(columns, schema=LISTING_SCHEMA), ar.problems)


def _got_validation(path: Path, table: pl.DataFrame, max_members: int,
                    max_name_length: int) -> tuple[str, Any]:
    ar = SafeArchive.__new__(SafeArchive)
    ar.path = path
    try:
        readable, problems = validate(table, max_members=max_members,
                                      max_name_length=max_name_length)
    except UnsafeArchiveError as exc:
        return "error", str(ar._fail(exc.message, exc.member))
    return "ok", (readable, problems)


def _check(path: Path, *, max_members: int = 1000, max_name_length: int = 1024,
           must_read: bool = False) -> pl.DataFrame | None:
    """read_directory + validate against zipfile + _validate_zip; the table (or None)."""
    got = read_directory(path)
    with open(path, "rb") as fh:  # the same from an open file
        again = read_directory(fh)
    assert (got is None) == (again is None)
    if got is not None and again is not None:
        assert got.equals(again)
    try:
        zf = zipfile.ZipFile(path)
    except Exception:  # any error of zipfile: read_directory must decline
        assert got is None
        return None
    with zf:
        infos = zf.infolist()
    if must_read:
        assert got is not None
    if got is None:
        return None
    assert got.schema == pl.Schema(DIRECTORY_SCHEMA)
    assert got.height == len(infos)
    for field in DIRECTORY_SCHEMA:
        assert got[field].to_list() == [getattr(i, field) for i in infos], field
    want = _expected_validation(path, infos, max_members, max_name_length)
    have = _got_validation(path, got, max_members, max_name_length)
    assert have[0] == want[0], (have, want)
    if want[0] == "error":
        assert have[1] == want[1]
    else:
        assert have[1][0].schema == want[1][0].schema
        assert have[1][0].equals(want[1][0]), (have[1][0], want[1][0])
        assert have[1][1] == want[1][1]
    return got


# -- hand-crafted archives ----------------------------------------------------------------------

_PIECES = [b"a", b"A", b"b", b"B", b"/", b"\\", b"..", b".", b"C:", b"z:", b"\x00", b"\x01",
           b"\x1f", b"\x7f", b"\xc3\xa9", b"e\xcc\x81", b"\xe2\x84\xaa", b"K", b"k", b"\xc5\xbf",
           b"s", b"S", b"\xc3\x9f", b"ss", b"\xdf", b"\x80", b"\xff", b"\xc2\x85", b"\xed\xa0\x80",
           b"PK\x01\x02", b"PK\x05\x06", b"\xef\xbc\xa1", b"\xe1\xba\x9e"]

_names = st.lists(st.sampled_from(_PIECES), max_size=5).map(b"".join)
_extra_field = st.one_of(
    st.builds(lambda tp, body: struct.pack("<HH", tp, len(body)) + body,
              st.sampled_from([0x5455, 0x7875, 0xCAFE, 0x000A, 0x5455, 0x0001, 0x7075]),
              st.binary(max_size=12)),
    st.binary(max_size=5),  # corrupt or trailing bytes
)


def _rarely(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``common`` about 23 times in 24, else ``rare`` (declined values must not hide the rest)."""
    return st.sampled_from([False] * 23 + [True]).flatmap(lambda r: rare if r else common)


_ENTRY: dict[str, st.SearchStrategy[Any]] = {
    "name": _names,
    "flags": _rarely(st.sampled_from([0, 0, 0x8, 0x1, 0x41, 0x800, 0x808, 0x801]),
                     st.integers(0, 0xFFFF)),
    "method": st.sampled_from([0, 8, 8, 12, 14, 99]),
    "time": st.integers(0, 0xFFFF),
    "crc": st.integers(0, 0xFFFF_FFFF),
    "csize": _rarely(st.integers(0, 300), st.sampled_from([0xFFFF_FFFF, 5000])),
    "usize": _rarely(st.integers(0, 300), st.just(0xFFFF_FFFF)),
    "extra": _rarely(st.just(b""), st.lists(_extra_field, min_size=1, max_size=2).map(b"".join)),
    "comment": _rarely(st.just(b""), st.binary(max_size=4)),
    "eattr": st.sampled_from([0, 0, (stat.S_IFLNK | 0o777) << 16, (stat.S_IFREG | 0o644) << 16,
                              (stat.S_IFDIR | 0o755) << 16 | 0x10, 0xFFFF_FFFF]),
    # None: laid out one after the other (400 bytes each), else where it says
    "offset": _rarely(st.none(), st.one_of(st.integers(0, 2000), st.just(0xFFFF_FFFF))),
    "version": _rarely(st.sampled_from([10, 20, 45]), st.sampled_from([63, 64, 255])),
    # a comment length past the entry: zipfile reads the last entry short, the others garbled
    "comment_overrun": _rarely(st.just(0), st.integers(1, 30)),
}
_entry = st.fixed_dictionaries(_ENTRY)


def _utf8_flag_only_on_utf8(e: dict[str, Any]) -> dict[str, Any]:
    """The entry with the UTF-8 flag cleared when its name is not UTF-8 (zipfile raises)."""
    try:
        e["name"].decode("utf-8")
    except UnicodeDecodeError:
        return {**e, "flags": e["flags"] & ~0x800}
    return e


#: Entries zipfile reads as they are, which read_directory must read too: no zip64 values, no
#: extra field zipfile interprets or refuses, a supported version, a comment within the entry
#: (names, flags, methods, attributes, offsets and comments as for _entry).
_readable_entry = st.fixed_dictionaries({
    **_ENTRY,
    "flags": st.one_of(st.sampled_from([0, 0x8, 0x1, 0x41, 0x800, 0x808, 0x801]),
                       st.integers(0, 0xFFFF)),
    "csize": st.integers(0, 300),
    "usize": st.integers(0, 300),
    "extra": st.lists(st.builds(lambda tp, body: struct.pack("<HH", tp, len(body)) + body,
                                st.sampled_from([0x5455, 0x7875, 0xCAFE, 0x000A]),
                                st.binary(max_size=12)), max_size=2).map(b"".join),
    "comment": st.binary(max_size=4),
    "offset": st.one_of(st.none(), st.integers(0, 2000)),
    "version": st.sampled_from([10, 20, 45, 63]),
    "comment_overrun": st.just(0),
}).map(_utf8_flag_only_on_utf8)


def _central(e: dict[str, Any]) -> bytes:
    return struct.pack(
        "<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, e["version"], 0, e["flags"], e["method"],
        e["time"], 0x5021, e["crc"], e["csize"], e["usize"], len(e["name"]), len(e["extra"]),
        len(e["comment"]) + e.get("comment_overrun", 0), 0, 0, e["eattr"], e["offset"],
    ) + e["name"] + e["extra"] + e["comment"]


def _craft(entries: list[dict[str, Any]], *, body: int = 4000, prefix: bytes = b"",
           comment: bytes = b"", zip64: bool = False, count_delta: int = 0,
           disk: int = 0, offset_delta: int = 0, gap: bytes = b"") -> bytes:
    cd = b"".join(_central({**e, "offset": 400 * i if e["offset"] is None else e["offset"]})
                  for i, e in enumerate(entries))
    n = len(entries) + count_delta
    out = b"\x00" * body + cd + gap
    if zip64:
        rec64_pos = len(out)
        out += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, disk, 0, n, n, len(cd),
                           body + offset_delta)
        out += struct.pack("<4sLQL", b"PK\x06\x07", 0, rec64_pos, 1)
        out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF,
                           0xFFFF_FFFF, 0xFFFF_FFFF, len(comment))
    else:
        out += struct.pack("<4s4H2LH", b"PK\x05\x06", disk, disk, n & 0xFFFF, n & 0xFFFF,
                           len(cd), body + offset_delta, len(comment))
    return prefix + out + comment


@st.composite
def _crafted(draw: st.DrawFn, *, readable: bool = False) -> bytes:
    """A crafted archive; ``readable``: one that zipfile and read_directory both read (single
    disk, nothing before the archive or between directory and end record, no damage)."""
    if readable:
        return _craft(
            draw(st.lists(_readable_entry, max_size=8)),
            comment=draw(st.sampled_from([b"", b"a comment", b"x" * 30])),
            zip64=draw(st.booleans()),
            count_delta=draw(st.sampled_from([0, 0, 0, 1])),
        )
    entries = draw(st.lists(_entry, max_size=8))
    data = _craft(
        entries,
        prefix=draw(_rarely(st.just(b""), st.just(b"#!/bin/sh\n"))),
        comment=draw(st.sampled_from([b"", b"", b"a comment", b"PK\x05\x06", b"x" * 30])),
        zip64=draw(st.booleans()),
        count_delta=draw(st.sampled_from([0, 0, 0, 1])),
        disk=draw(_rarely(st.just(0), st.just(1))),
        offset_delta=draw(_rarely(st.just(0), st.sampled_from([-1, 3]))),
        gap=draw(_rarely(st.just(b""), st.sampled_from([b"\x00", b"PK\x01\x02" + b"\x00" * 42]))),
    )
    mutation = draw(st.sampled_from(["none"] * 5 + ["cut", "flip"]))
    if mutation == "cut" and data:
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif mutation == "flip" and data:
        i = draw(st.integers(0, len(data) - 1))
        data = data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]
    return data


@_SETTINGS
@given(data=_crafted(), max_members=st.sampled_from([0, 3, 1000]),
       max_name_length=st.sampled_from([2, 8, 1024]))
def test_crafted_archives_match_zipfile(tmp_path: Path, data: bytes, max_members: int,
                                        max_name_length: int) -> None:
    path = tmp_path / "crafted.zip"
    path.write_bytes(data)
    got = _check(path, max_members=max_members, max_name_length=max_name_length)
    # Shown by --hypothesis-show-statistics; test_readable_crafted_archives_are_read makes
    # sure the comparison above is not vacuous (read_directory declining everything).
    if got is not None:
        event("read column-wise")
    elif _zipfile_reads(path):
        event("declined by read_directory, read by zipfile")
    else:
        event("refused by zipfile")


@_SETTINGS
@given(data=_crafted(readable=True), max_members=st.sampled_from([0, 3, 1000]),
       max_name_length=st.sampled_from([2, 8, 1024]))
def test_readable_crafted_archives_are_read(tmp_path: Path, data: bytes, max_members: int,
                                            max_name_length: int) -> None:
    """read_directory reads every archive of the readable kind (and matches zipfile): a reader
    that declines too readily fails here, while test_crafted_archives_match_zipfile would pass."""
    path = tmp_path / "readable.zip"
    path.write_bytes(data)
    # Random names and extra fields can end the central directory with bytes zipfile takes
    # for a zip64 locator ("PK\x06\x07" 20 bytes before the end record): such an archive is
    # not of the readable kind (rare; read_directory must then decline or match, as checked
    # by test_crafted_archives_match_zipfile).
    assume(_zipfile_reads(path))
    got = _check(path, max_members=max_members, max_name_length=max_name_length,
                 must_read=True)
    assert got is not None


def _zipfile_reads(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path):
            return True
    except Exception:  # any error of zipfile
        return False


def _plain(name: bytes, flags: int = 0, offset: int = 0, csize: int = 10) -> dict[str, Any]:
    return {"name": name, "flags": flags, "method": 8, "time": 0, "crc": 0, "csize": csize,
            "usize": 10, "extra": b"", "comment": b"", "eattr": 0, "offset": offset,
            "version": 20}


@pytest.mark.parametrize(
    ("names", "flags"),
    [
        ([b"caf\xc3\xa9.json", b"cafe\xcc\x81.json"], 0x800),  # NFC collision
        ([b"\xe2\x84\xaa.json", b"k.json"], 0x800),  # Kelvin sign folds to k
        ([b"Stra\xc3\x9fe", b"STRASSE"], 0x800),  # casefold, not lower
        ([b"caf\x82.json", b"CAF\x90.json"], 0),  # cp437 names: e-acute, E-acute
        ([b"a\\b.json", b"A/B.json", b"a/", b"x\x00y", b"", b"\x01"], 0),
        ([b"a.json", b"a.json"], 0),  # duplicates
    ],
)
def test_handcrafted_names_are_read(tmp_path: Path, names: list[bytes], flags: int) -> None:
    entries = [_plain(n, flags, offset=100 * i) for i, n in enumerate(names)]
    path = tmp_path / "names.zip"
    path.write_bytes(_craft(entries))
    got = _check(path, must_read=True)
    assert got is not None
    assert got.height == len(names)


@pytest.mark.parametrize(
    ("offsets", "message"),
    [([0, 0], "share one local header"), ([0, 20], "overlaps the data"), ([0, 200], None)],
)
def test_overlapping_entries(tmp_path: Path, offsets: list[int], message: str | None) -> None:
    path = tmp_path / "overlap.zip"
    path.write_bytes(_craft([_plain(b"b.json", offset=offsets[0]),
                             _plain(b"a.json", offset=offsets[1])]))
    _check(path, must_read=True)
    table = read_directory(path)
    assert table is not None
    if message is None:
        validate(table, max_members=10, max_name_length=100)
    else:
        with pytest.raises(UnsafeArchiveError, match=message):
            validate(table, max_members=10, max_name_length=100)


@pytest.mark.parametrize(
    "entry",
    [
        {"csize": 0xFFFF_FFFF, "extra": struct.pack("<HHQ", 1, 8, 5)},
        {"offset": 0xFFFF_FFFF, "extra": struct.pack("<HHQ", 1, 8, 5)},
        {"extra": struct.pack("<HH", 1, 0)},
        {"extra": struct.pack("<HH", 0x7075, 5) + b"\x01abcd"},
        {"extra": struct.pack("<HH", 0xCAFE, 9)},  # corrupt extra: zipfile raises
        {"version": 64},  # zipfile: NotImplementedError
        {"name": b"\xff.json", "flags": 0x800},  # not UTF-8: zipfile raises
        {"csize": 0xFFFF_FFFF},  # zip64 markers without the extra: declined all the same
        {"usize": 0xFFFF_FFFF},
        {"offset": 0xFFFF_FFFF},
        {"comment_overrun": 3},  # zipfile reads the comment short
    ],
)
def test_declined_entries(tmp_path: Path, entry: dict[str, Any]) -> None:
    path = tmp_path / "declined.zip"
    path.write_bytes(_craft([{**_plain(b"a.json"), **entry}]))
    assert read_directory(path) is None
    _check(path)


def test_declined_archives(tmp_path: Path) -> None:
    entries = [_plain(b"a.json")]
    cases = {
        "prefix": _craft(entries, prefix=b"junk"),
        "offset": _craft(entries, offset_delta=1),
        "disk": _craft(entries, disk=1),
        "gap": _craft(entries, gap=b"\x00" * 7),  # zipfile: concat 7, reads at the wrong place
        "gap before a directory": _craft(entries, gap=_central(_plain(b"b.json"))),
        "zip64 disk": _craft(entries, zip64=True, disk=1),
        "empty file": b"",
        "not a zip": b"hello world, this is not a zip file at all",
        "truncated": _craft(entries)[:-30],
    }
    for label, data in cases.items():
        path = tmp_path / f"{label}.zip"
        path.write_bytes(data)
        assert read_directory(path) is None, label
        _check(path)


def test_zip64_end_records_are_read(tmp_path: Path) -> None:
    entries = [_plain(f"m{i}.json".encode(), offset=100 * i) for i in range(3)]
    path = tmp_path / "z64.zip"
    path.write_bytes(_craft(entries, body=400, zip64=True, comment=b"note"))
    got = _check(path, must_read=True)
    assert got is not None
    assert got["filename"].to_list() == ["m0.json", "m1.json", "m2.json"]


def test_signature_bytes_inside_names_and_comments(tmp_path: Path) -> None:
    entries = [{**_plain(b"PK\x01\x02x", offset=0), "comment": b"PK\x01\x02"},
               {**_plain(b"b", offset=100), "extra": struct.pack("<HH", 0xCAFE, 4) + b"PK\x01\x02"}]
    path = tmp_path / "sig.zip"
    path.write_bytes(_craft(entries, comment=b"PK\x01\x02"))
    _check(path, must_read=True)


# -- archives written by zipfile ----------------------------------------------------------------

_text_names = st.text(
    alphabet=st.sampled_from(list("aAbB/\\.:_\x00\x01\x7f\x85éÉe\u0301KkſsSßẞ\u212a\uff21 ")),
    max_size=8)


@st.composite
def _written(draw: st.DrawFn) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.comment = draw(st.sampled_from([b"", b"an archive comment"]))
        for name in draw(st.lists(_text_names, max_size=8)):
            info = zipfile.ZipInfo(name)
            info.compress_type = draw(st.sampled_from(
                [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]))
            info.external_attr = draw(st.sampled_from(
                [0, (stat.S_IFLNK | 0o777) << 16, (stat.S_IFREG | 0o644) << 16]))
            info.extra = draw(st.sampled_from([b"", struct.pack("<HH", 0xCAFE, 2) + b"xy"]))
            if draw(st.booleans()):
                with zf.open(info, "w", force_zip64=draw(st.booleans())) as fh:
                    fh.write(draw(st.binary(max_size=50)))
            else:
                zf.writestr(info, draw(st.binary(max_size=50)))
    return buf.getvalue()


@pytest.mark.filterwarnings("ignore:Duplicate name")
@_SETTINGS
@given(data=_written(), max_name_length=st.sampled_from([3, 1024]))
def test_zipfile_written_archives(tmp_path: Path, data: bytes, max_name_length: int) -> None:
    path = tmp_path / "written.zip"
    path.write_bytes(data)
    _check(path, max_name_length=max_name_length, must_read=True)


def test_data_descriptors_from_a_stream(tmp_path: Path) -> None:
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buf = io.BytesIO()

        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            return self.buf.write(b)

    out = Unseekable()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.json", b"[]" * 100)
        zf.writestr("b/c.json", b"{}")
    path = tmp_path / "stream.zip"
    path.write_bytes(out.buf.getvalue())
    got = _check(path, must_read=True)
    assert got is not None
    assert all(f & 0x8 for f in got["flag_bits"].to_list())


def test_many_members_use_zip64_end_records(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(70_000):
            zf.writestr(f"c{i % 7}/d{i}.json", b"")
    got = _check(path, max_members=100_000, must_read=True)
    assert got is not None
    assert got.height == 70_000
    with pytest.raises(UnsafeArchiveError, match="70000 members, more than the limit of 69999"):
        validate(got, max_members=69_999, max_name_length=1024)


def test_unsafe_member_named_first_in_directory_order(tmp_path: Path) -> None:
    path = tmp_path / "slip.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name in ["ok.json", "a/../../x", "/etc/passwd", "C:\\x"]:
            zf.writestr(name, b"")
    _check(path, must_read=True)
    table = read_directory(path)
    assert table is not None
    with pytest.raises(UnsafeArchiveError) as err:
        validate(table, max_members=10, max_name_length=100)
    assert err.value.member == "a/../../x"


def test_benchmark_slack_export(monkeypatch: pytest.MonkeyPatch) -> None:
    """A large Slack export (opt-in: ``ORGNET_SLACK_ZIP=path/to/slack.zip``, e.g. the benchmark's
    ``org10k/slack.zip``): the column-wise listing equals zipfile + ``_validate_zip``'s."""
    value = os.environ.get("ORGNET_SLACK_ZIP")
    if not value:
        pytest.skip("set ORGNET_SLACK_ZIP to a Slack export zip to compare its listing")
    path = Path(value)
    if not path.is_file():
        pytest.skip(f"ORGNET_SLACK_ZIP={value!r} is not a file")
    with monkeypatch.context() as m:  # the reference: zipfile and SafeArchive._validate_zip
        m.setattr(_archive, "_COLUMNAR_DIRECTORY", False)
        with SafeArchive(path) as ar:
            assert ar._listed is None
            want = ar.listing()
    table = read_directory(path)
    assert table is not None
    readable, problems = validate(table, max_members=ar.max_members,
                                  max_name_length=ar.max_name_length)
    assert readable.equals(want.table)
    assert tuple(problems) == want.problems
    with SafeArchive(path) as columnar:  # and SafeArchive itself reads it column-wise
        assert columnar._listed is not None
        got = columnar.listing()
    assert got.table.equals(want.table)
    assert got.problems == want.problems


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP zip not installed")
def test_info_zip_archive(tmp_path: Path) -> None:
    """Info-ZIP writes extra fields (UT, ux) and a symlink entry with -y."""
    root = tmp_path / "export"
    (root / "général").mkdir(parents=True)
    (root / "users.json").write_bytes(b"[]")
    (root / "général" / "2024-05-01.json").write_bytes(b"[1]" * 100)
    (root / "link.json").symlink_to("users.json")
    path = tmp_path / "info.zip"
    subprocess.run(["zip", "-q", "-r", "-y", "-z", str(path), "."], cwd=root, check=True,
                   input=b"an archive comment\n.\n")
    got = _check(path, must_read=True)
    assert got is not None
    assert "users.json" in got["filename"].to_list()
