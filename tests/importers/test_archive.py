"""SafeArchive: zip slip, absolute and symlink members, bombs, overlapping entries, collisions."""

from __future__ import annotations

import contextlib
import copy
import io
import os
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import orgnet.importers._archive as archive_module
from orgnet.exceptions import InputError
from orgnet.importers._archive import ArchiveMemberError, SafeArchive, _ListedInfos


def _zip(path: Path, members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_reads_members_in_memory(tmp_path: Path) -> None:
    p = _zip(tmp_path / "ok.zip", {"users.json": b"[]", "general/2024-05-01.json": b"[1]"})
    with SafeArchive(p) as ar:
        assert ar.members() == ["general/2024-05-01.json", "users.json"]
        assert ar.read("general/2024-05-01.json") == b"[1]"
        assert ar.problems == []
    assert not (tmp_path / "general").exists()  # nothing extracted


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../evil.json", "escapes the archive"),
        ("a/../../evil.json", "escapes the archive"),
        ("..\\..\\evil.json", "escapes the archive"),
        ("/etc/evil.json", "absolute member path"),
        ("C:\\evil.json", "absolute member path"),
    ],
)
def test_path_traversal_refuses_archive(tmp_path: Path, name: str, reason: str) -> None:
    p = _zip(tmp_path / "slip.zip", {"users.json": b"[]", name: b"{}"})
    with pytest.raises(InputError, match=reason) as err:
        SafeArchive(p)
    assert repr(name) in str(err.value)


def test_symlink_member_rejected_others_kept(tmp_path: Path) -> None:
    p = tmp_path / "link.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("users.json", b"[]")
        info = zipfile.ZipInfo("general/2024-05-01.json")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with SafeArchive(p) as ar:
        assert ar.members() == ["users.json"]
        assert [(x.name, x.reason) for x in ar.problems] == [
            ("general/2024-05-01.json", "symlink member")
        ]


def test_control_character_and_long_names_rejected(tmp_path: Path) -> None:
    p = _zip(tmp_path / "names.zip", {"ok.json": b"1", "bad\x07name.json": b"2",
                                      "x" * 300 + ".json": b"3"})
    with SafeArchive(p, max_name_length=200) as ar:
        assert ar.members() == ["ok.json"]
        reasons = sorted(x.reason for x in ar.problems)
    assert reasons == ["NUL or control character in member name",
                       "member name longer than 200 bytes"]


def test_case_and_nfc_collisions_rejected(tmp_path: Path) -> None:
    p = _zip(tmp_path / "fold.zip", {"Users.json": b"1", "users.json": b"2",
                                     "caf\u00e9.json": b"3", "cafe\u0301.json": b"4"})
    with SafeArchive(p) as ar:
        assert ar.members() == ["Users.json", "caf\u00e9.json"]
        assert all("collides" in x.reason for x in ar.problems)
        assert len(ar.problems) == 2


def test_member_bomb_is_a_member_error(tmp_path: Path) -> None:
    p = _zip(tmp_path / "bomb.zip", {"ok.json": b"[]", "big.json": b"\0" * (4 * 1024 * 1024)})
    with SafeArchive(p, max_member_bytes=1024 * 1024) as ar:
        assert ar.read("ok.json") == b"[]"
        with pytest.raises(ArchiveMemberError, match="inflates past"):
            ar.read("big.json")


def test_total_bomb_refuses_archive(tmp_path: Path) -> None:
    # 20 MB of zeros deflates to ~20 KB: far beyond 100x the archive size (1 MiB floor).
    p = _zip(tmp_path / "bomb.zip", {"big.json": b"\0" * (200 * 1024 * 1024 // 10) * 10})
    assert p.stat().st_size < 1024 * 1024
    with SafeArchive(p) as ar, pytest.raises(InputError, match="zip bomb"):
        ar.read("big.json")


def test_lying_header_size_does_not_matter(tmp_path: Path) -> None:
    p = _zip(tmp_path / "lie.zip", {"big.json": b"\0" * (3 * 1024 * 1024)})
    with SafeArchive(p, max_member_bytes=1024 * 1024) as ar:
        ar._infos["big.json"].file_size = 10  # a lying header is not trusted
        with pytest.raises((ArchiveMemberError, zipfile.BadZipFile)):
            ar.read("big.json")


def test_overlapping_entries_refuse_archive(tmp_path: Path) -> None:
    p = tmp_path / "overlap.zip"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.json", b"\0" * 100_000)
        dup = copy.copy(zf.getinfo("a.json"))
        dup.filename = dup.orig_filename = "b.json"
        zf.filelist.append(dup)
        zf.NameToInfo["b.json"] = dup
    with pytest.raises(InputError, match="share one local header"):
        SafeArchive(p)


def test_member_count_cap(tmp_path: Path) -> None:
    p = _zip(tmp_path / "many.zip", {f"{i}.json": b"" for i in range(20)})
    with pytest.raises(InputError, match="more than the limit of 10"):
        SafeArchive(p, max_members=10)


def test_not_a_zip_is_input_error(tmp_path: Path) -> None:
    p = tmp_path / "x.zip"
    p.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputError, match="not a readable zip"):
        SafeArchive(p)
    with pytest.raises(InputError, match="cannot open"):
        SafeArchive(tmp_path / "missing.zip")


def test_nested_archive_is_not_opened(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("deep.json", b"[]")
    p = _zip(tmp_path / "outer.zip", {"inner.zip": inner.getvalue()})
    with SafeArchive(p) as ar:
        assert ar.members() == ["inner.zip"]
        assert ar.read("inner.zip") == inner.getvalue()  # just bytes


@pytest.mark.skipif(os.name == "nt", reason="symlinks")
def test_directory_layout_refuses_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "export"
    (root / "general").mkdir(parents=True)
    (root / "users.json").write_bytes(b"[]")
    (root / "general" / "2024-05-01.json").symlink_to("/etc/passwd")
    (root / "linkdir").symlink_to(tmp_path)
    with SafeArchive(root) as ar:
        assert ar.is_dir
        assert ar.members() == ["users.json"]
        assert sorted(x.name for x in ar.problems) == ["general/2024-05-01.json", "linkdir"]
        assert ar.read("users.json") == b"[]"


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_only_input_error(tmp_path_factory: pytest.TempPathFactory,
                                          data: bytes) -> None:
    p = tmp_path_factory.mktemp("fuzz") / "x.zip"
    p.write_bytes(b"PK\x03\x04" + data if data[:1] == b"\0" else data)
    try:
        with SafeArchive(p) as ar:
            for name in ar.members():
                with contextlib.suppress(ArchiveMemberError):
                    ar.read(name)
    except InputError:
        pass


def _outcomes(path: Path, *, fast: bool, listed: bool = False,
              many: bool = False) -> tuple[object, list[object]]:
    """What SafeArchive.read gives for every member (bytes or the error), fast path on or off,
    with the directory read here or taken from another SafeArchive's listing; with ``many``,
    what SafeArchive.read_many gives for all members at once (up to an InputError). The fast
    path reads the directory column-wise (``_zipdir``), the other with ``zipfile``."""
    saved = archive_module._COLUMNAR_DIRECTORY
    archive_module._COLUMNAR_DIRECTORY = fast
    try:
        return _outcomes_of(path, fast=fast, listed=listed, many=many)
    finally:
        archive_module._COLUMNAR_DIRECTORY = saved


def _outcomes_of(path: Path, *, fast: bool, listed: bool,
                 many: bool) -> tuple[object, list[object]]:
    try:
        if listed:
            with SafeArchive(path) as first:
                listing = first.listing()
            ar = SafeArchive(path, listing=listing)
            assert isinstance(ar._infos, _ListedInfos)  # the listing was used
        else:
            ar = SafeArchive(path)
    except InputError as exc:
        return str(exc), []
    out: list[object] = [ar.members(), ar.problems]
    with ar:
        if not fast:
            ar._fd = None  # every member through zipfile
        if many:
            try:
                got = ar.read_many(ar.members())
            except InputError as exc:
                return None, [*out, f"InputError: {exc}"]
            out.extend(x if isinstance(x, bytes) else f"{type(x).__name__}: {x}" for x in got)
            return None, out
        for name in ar.members():
            try:
                out.append(ar.read(name))
            except (ArchiveMemberError, InputError) as exc:
                out.append(f"{type(exc).__name__}: {exc}")
    return None, out


def _mixed_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("a/deflated.json", b'[{"ts": "1.0"}]' * 50, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("a/stored.json", b"[1, 2, 3]", compress_type=zipfile.ZIP_STORED)
        # Larger than the one-call limit (1 MiB): read in one go too when clean.
        zf.writestr("a/big.json", b"[" + b'{"id": 1},' * 150_000 + b"{}]",
                    compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("a/empty.json", b"", compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("a/bz.json", b"[4]" * 40, compress_type=zipfile.ZIP_BZIP2)
        zf.writestr("a/xz.json", b"[5]" * 40, compress_type=zipfile.ZIP_LZMA)
        zf.writestr("b/\u00e9t\u00e9.json", "[\"caf\u00e9\"]".encode(), compress_type=zipfile.ZIP_DEFLATED)
    return path


def test_fast_member_reads_are_used_and_equal_zipfile(tmp_path: Path) -> None:
    p = _mixed_zip(tmp_path / "mixed.zip")
    assert _outcomes(p, fast=True) == _outcomes(p, fast=False)
    assert _outcomes(p, fast=True, listed=True) == _outcomes(p, fast=False)
    assert _outcomes(p, fast=False, listed=True) == _outcomes(p, fast=False)
    for listed in (False, True):
        assert _outcomes(p, fast=True, listed=listed, many=True) == _outcomes(p, fast=False)
    with SafeArchive(p) as ar:
        fast = {n for n in ar.members() if ar._read_clean_member(ar._infos[n]) is not None}
    # Stored and deflated members are read from the mapped file; bzip2 and LZMA by zipfile.
    assert fast == {"a/deflated.json", "a/stored.json", "a/empty.json", "a/big.json",
                    "b/\u00e9t\u00e9.json"}


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_fast_member_reads_match_zipfile_on_damaged_archives(
        tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    """A flipped or truncated byte anywhere gives the same bytes or the same error either way."""
    p = _mixed_zip(tmp_path_factory.mktemp("dmg") / "m.zip")
    raw = bytearray(p.read_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        del raw[data.draw(st.integers(0, len(raw) - 1))]
    p.write_bytes(bytes(raw))
    reference = _outcomes(p, fast=False)
    assert _outcomes(p, fast=True) == reference
    assert _outcomes(p, fast=True, listed=True) == reference
    assert _outcomes(p, fast=True, many=True) == _upto_input_error(reference)
    assert _outcomes(p, fast=True, listed=True, many=True) == _upto_input_error(reference)


def _upto_input_error(outcome: tuple[object, list[object]]) -> tuple[object, list[object]]:
    """read_many stops at the first InputError (reading member by member goes on)."""
    error, out = outcome
    for i, x in enumerate(out):
        if isinstance(x, str) and x.startswith("InputError"):
            return error, out[:i + 1]
    return outcome


def test_empty_member_name_is_a_member_problem(tmp_path: Path) -> None:
    p = _zip(tmp_path / "e.zip", {"users.json": b"[]", "x": b"[1]"})
    raw = p.read_bytes()
    # Blank the second member's name in the central directory (same length keeps it a zip).
    central = raw.rindex(b"PK\x01\x02")
    assert raw[central + 46:central + 47] == b"x"
    raw = raw[:central + 28] + b"\0\0" + raw[central + 30:central + 46] + raw[central + 47:]
    end = raw.rindex(b"PK\x05\x06")
    size = int.from_bytes(raw[end + 12:end + 16], "little") - 1
    raw = raw[:end + 12] + size.to_bytes(4, "little") + raw[end + 16:]
    p.write_bytes(raw)
    with SafeArchive(p) as ar:
        assert ar.members() == ["users.json"]
        assert [(x.name, x.reason) for x in ar.problems] == [("", "empty member name")]


def test_member_offset_before_the_file_start_is_not_read_from_its_end(tmp_path: Path) -> None:
    """An end record that overstates the directory's offset makes member offsets negative:
    zipfile's seek refuses them, and the fast path must not wrap round to the file's end."""
    raw = bytearray(_zip(tmp_path / "n.zip", {"users.json": b'[{"id": "U1"}]'},
                         compression=zipfile.ZIP_STORED).read_bytes())
    end = raw.rindex(b"PK\x05\x06")
    offset = int.from_bytes(raw[end + 16:end + 20], "little")
    raw[end + 16:end + 20] = (offset + len(raw)).to_bytes(4, "little")
    p = tmp_path / "neg.zip"
    p.write_bytes(bytes(raw))
    with SafeArchive(p) as ar:
        info = ar._infos["users.json"]
        assert info.header_offset < 0
        assert ar._read_clean_member(info) is None
        with pytest.raises(ArchiveMemberError):
            ar.read("users.json")
    assert _outcomes(p, fast=True) == _outcomes(p, fast=False)


def test_listing_spares_the_directory_and_is_ignored_for_another_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _zip(tmp_path / "l.zip", {"users.json": b"[]", "c/2024-05-01.json": b"[1]",
                                  "c\x01bad.json": b"[2]"})
    with SafeArchive(p) as first:  # read column-wise: the listing is that table
        columnar = first.listing()
        assert first._zip is None and first._listed is not None
    with SafeArchive(p, max_members=5, listing=columnar) as other:  # other limits: not adopted
        assert not other.listed_from(columnar)
        assert other._listed is not None and other._listed is not columnar.table
    with SafeArchive(p, listing=columnar) as same:  # same file and limits: adopted
        assert same.listed_from(columnar) and same.listing() is columnar
    # The rest with zipfile's directory reader, whose parses are counted.
    monkeypatch.setattr(archive_module, "_COLUMNAR_DIRECTORY", False)
    with SafeArchive(p) as first:
        listing = first.listing()
        assert [x.reason for x in first.problems] == ["NUL or control character in member name"]
    parsed: list[object] = []
    real = zipfile.ZipFile

    def counting(*args: object, **kwargs: object) -> zipfile.ZipFile:
        parsed.append(args[0])
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile, "ZipFile", counting)
    with SafeArchive(p, listing=listing) as ar:
        assert ar.members() == ["c/2024-05-01.json", "users.json"]
        assert ar.problems == list(listing.problems)
        assert ar.read("c/2024-05-01.json") == b"[1]" and ar.size("users.json") == 2
    assert listing.table.equals(columnar.table) and listing.problems == columnar.problems
    assert parsed == []  # the directory was not parsed again
    # Other limits, or the file changed since: the listing is not used.
    with SafeArchive(p, listing=listing, max_members=5) as ar:
        assert not isinstance(ar._infos, _ListedInfos)
    os.utime(p, ns=(1, 1))
    with SafeArchive(p, listing=listing) as ar:
        assert not isinstance(ar._infos, _ListedInfos)
        assert ar.read("users.json") == b"[]"
    assert len(parsed) == 2
    # A directory layout has no listing.
    (tmp_path / "d").mkdir()
    with SafeArchive(tmp_path / "d") as d, pytest.raises(ValueError):
        d.listing()


def test_read_many_spans_equal_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Members in and out of file order, far apart, at the end of the file, with long extra
    fields, in spans of any size: read_many gives what read gives, with one read per span."""

    p = tmp_path / "s.zip"
    with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(40):
            info = zipfile.ZipInfo(f"c{i % 3}/2024-05-{i:02d}.json")
            info.compress_type = zipfile.ZIP_STORED if i % 7 == 0 else zipfile.ZIP_DEFLATED
            if i % 11 == 0:  # a local extra field longer than the span's allowance
                info.extra = b"\xfe\xca" + (3000).to_bytes(2, "little") + os.urandom(3000)
            zf.writestr(info, os.urandom(i * 97) if i % 5 == 0 else b"[1]" * (i * 50))
        zf.writestr("big.json", b"[" + b"2," * 300_000 + b"3]")
    with SafeArchive(p) as ar:
        names = ar.members()
        expected = [ar.read(n) for n in names]
        orders = [names, names[::-1], sorted(names, key=lambda n: n[-7:]), names[5:9] * 2]
    preads: list[int] = []
    real = os.pread

    def counting(fd: int, n: int, off: int) -> bytes:
        preads.append(n)
        return real(fd, n, off)

    monkeypatch.setattr(archive_module.os, "pread", counting)
    for span in (1, 200, 5000, 8 << 20):
        monkeypatch.setattr(archive_module, "_SPAN_BYTES", span)
        for listed in (False, True):
            if listed:
                with SafeArchive(p) as first:
                    listing = first.listing()
            for order in orders:
                with SafeArchive(p, listing=listing if listed else None) as ar:
                    preads.clear()
                    got = ar.read_many(order)
                    assert got == [expected[names.index(n)] for n in order]
                    assert ar.bytes_read == sum(len(x) for x in got if isinstance(x, bytes))
                    if span == 8 << 20 and order is names:
                        assert len(preads) < len(order)  # spans were read in one go


@pytest.mark.parametrize("columnar", [False, True])
def test_member_left_to_zipfile_of_a_changed_archive_is_a_member_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, columnar: bool) -> None:
    """zipfile may read the directory only when a member needs it (another compression): an
    archive rewritten since is then that member's error, never a raw zipfile exception."""
    monkeypatch.setattr(archive_module, "_COLUMNAR_DIRECTORY", columnar)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("small.json", b"[1]")
        zf.writestr(zipfile.ZipInfo("big.json"), b"[" + b"1," * 700_000 + b"1]",
                    compress_type=zipfile.ZIP_LZMA)
    z = tmp_path / "a.zip"
    z.write_bytes(buf.getvalue())
    with SafeArchive(z) as archive:
        with z.open("r+b") as fh:  # the end record wiped while the archive is open
            fh.seek(-22, 2)
            fh.write(b"\0" * 22)
        assert archive.read("small.json") == b"[1]"
        try:
            data = archive.read("big.json")
        except ArchiveMemberError as exc:
            assert "big.json" in str(exc)
        else:
            assert data.startswith(b"[1,1,")  # zipfile's reader was made before the change


def test_a_shard_listing_is_used_by_that_shard_only(tmp_path: Path) -> None:
    """A listing planned for one shard holds only its members: any other reader (another
    shard, a whole-file reader) reads the directory itself and sees every member."""
    import dataclasses

    p = _zip(tmp_path / "s.zip", {"users.json": b"[]", "a/2024-05-01.json": b"[1]",
                                  "b/2024-05-01.json": b"[2]"})
    with SafeArchive(p) as whole:
        listing = whole.listing()
    part = dataclasses.replace(listing, table=listing.table.filter(
        listing.table["key"] != "b/2024-05-01.json"), folders=("a",), shard=(0, 2))
    with SafeArchive(p, listing=part, shard=(0, 2)) as mine:
        assert mine.listed_from(part) and "b/2024-05-01.json" not in mine.members()
        assert mine.listing() is part  # handed on as adopted, still that shard's
    for shard in (None, (1, 2), (0, 3)):
        with SafeArchive(p, listing=part, shard=shard) as other:
            assert not other.listed_from(part)
            assert "b/2024-05-01.json" in other.members()
