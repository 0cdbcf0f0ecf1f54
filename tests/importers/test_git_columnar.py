"""The git importer's columnar path gives exactly what the reference path gives.

Every test imports the same log twice, with the columnar path (:mod:`orgnet.importers._git_fast`)
on and off, and compares every table, reject, count, record status and note. The logs mix plain
commits with every kind of record the columnar path hands to the reference path (text before
the first commit, truncated records, bad dates and parents, odd trailers, stray numstat lines,
invalid UTF-8, repeated commits ...) and with plain commits that need care (renames, quoted
paths, binary files, merges, duplicate paths and trailers, mailmapped people), in small blocks
so that records, identities and name counts must stay in step across blocks.
"""

from __future__ import annotations

import gzip
import io
import itertools
import random
import re
from pathlib import Path
from typing import Any

import pytest
from polars.testing import assert_frame_equal

from orgnet.importers import _git_fast, git
from orgnet.importers._base import ImportBuilder, ImportResult

RS, US, GS = "\x1e", "\x1f", "\x1d"
HEX = "0123456789abcdef"


def sha_of(n: int, width: int = 40) -> str:
    return f"{n:0{width}x}"[-width:]


def rec(sha: str, *, an: str = "Ana", ae: str = "ana@example.com", a_name: str | None = None,
        a_email: str | None = None, ad: str = "2024-03-02T09:00:00+01:00", cn: str | None = None,
        ce: str | None = None, cd: str | None = None, subject: str = "fix the thing",
        trailers: tuple[str, ...] = (), numstat: tuple[str, ...] = (),
        parents: str = "1" * 40, tail: str | None = None) -> str:
    head = US.join([sha, parents, an, ae, a_name if a_name is not None else an,
                    a_email if a_email is not None else ae, ad, cn if cn is not None else an,
                    ce if ce is not None else ae, cd or ad, subject,
                    "".join(t + "\n" for t in trailers)])
    if tail is None:
        tail = "\n" + ("\n" + "".join(n + "\n" for n in numstat) if numstat else "")
    return RS + head + GS + tail


def both(monkeypatch: pytest.MonkeyPatch, path: Path, *, duckdb_min: int = 0,
         max_runs: int | None = 10**9, **kw: Any) -> tuple[ImportResult, ImportResult, int]:
    """(reference, columnar, records read column-wise); event ids hashed in DuckDB
    from ``duckdb_min`` events of a block on, in Python below. With ``max_runs`` (default: no
    limit, so that short runs of plain records are read column-wise too) as ``_MAX_RUNS``.

    The records read column-wise are those begun with ``ImportBuilder.begin_many`` (the
    reference path begins its records one by one), so a columnar path that hands every record
    to the reference path counts 0."""
    monkeypatch.setattr(_git_fast, "_DUCKDB_MIN", duckdb_min)
    if max_runs is not None:
        monkeypatch.setattr(_git_fast, "_MAX_RUNS", max_runs)
    monkeypatch.setattr(git, "_FAST", False)
    ref = git.import_git(path, **kw)
    monkeypatch.setattr(git, "_FAST", True)
    taken: list[int] = []
    begin_many = ImportBuilder.begin_many

    def spy(self: ImportBuilder, statuses: Any, skipped: Any = None) -> int:
        taken.append(len(statuses))
        return begin_many(self, statuses, skipped)

    monkeypatch.setattr(ImportBuilder, "begin_many", spy)
    new = git.import_git(path, **kw)
    monkeypatch.setattr(ImportBuilder, "begin_many", begin_many)
    return ref, new, sum(taken)


def assert_same(ref: ImportResult, new: ImportResult) -> None:
    assert list(new.tables) == list(ref.tables)  # the same tables, created in the same order
    for name, frame in ref.tables.items():
        try:
            assert_frame_equal(new.tables[name], frame, check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"table {name!r} differs from the reference: {exc}") from exc
    assert_frame_equal(new.rejects, ref.rejects, check_exact=True)
    assert new.counts == ref.counts
    assert new.record_status == ref.record_status
    assert new.notes == ref.notes
    assert new.options == ref.options


def write(path: Path, parts: list[str | bytes], *, gz: bool = False) -> Path:
    data = b"".join(p.encode("utf-8") if isinstance(p, str) else p for p in parts)
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


PEOPLE = [("Ana", "ana@example.com"), ("Bo Li", "bo@example.com"), ("Cy", "cy@example.org"),
          ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
          ("Ana María", "ANA@example.com"), ("GitHub", "noreply@github.com"),
          ("Dee \u00c9", "dee@example.com"), ("Dee E", "dee@example.com")]


def plain(n: int, rng: random.Random) -> str:
    an, ae = PEOPLE[rng.randrange(len(PEOPLE))]
    cn, ce = PEOPLE[rng.randrange(len(PEOPLE))] if rng.random() < 0.5 else (an, ae)
    trailers = []
    for _ in range(rng.randrange(4)):
        tn, te = PEOPLE[rng.randrange(len(PEOPLE))]
        key = rng.choice(["Signed-off-by", "Reviewed-by", "Co-authored-by", "acked-BY",
                          "Link", "Change-Id", "Co-developed-by", " Tested-by "])
        trailers.append(f"{key}: {tn} <{te}>")
    files = []
    for _ in range(rng.randrange(5)):
        path = rng.choice(["src/a.py", "src/b.py", "docs/x y.md", "lib/\u00e9t\u00e9.c",
                           "bin/blob.png", "src/{old => new}/f.c", "a => b",
                           '"q\\tx\\303\\251"', '"x => y\\tz"', "x\ty"])
        if rng.random() < 0.1:
            files.append(f"-\t-\t{path}")
        else:
            files.append(f"{rng.randrange(300)}\t{rng.randrange(90)}\t{path}")
    parents = " ".join(sha_of(rng.getrandbits(160)) for _ in range(rng.choice([0, 1, 1, 1, 2])))
    day = 1 + n % 28
    off = rng.choice(["+00:00", "-08:00", "+05:45", "-03:30", "+01:00", "-00:00"])
    return rec(sha_of(rng.getrandbits(160)), an=an, ae=ae, cn=cn, ce=ce,
               ad=f"2024-02-{day:02d}T{n % 24:02d}:{n % 60:02d}:07{off}",
               cd=f"2024-03-{day:02d}T{(n + 3) % 24:02d}:{n % 60:02d}:09{off}",
               trailers=tuple(trailers), numstat=tuple(files), parents=parents,
               subject=rng.choice(["Auto merge of #12 - bob:fix, r=cy,@Ana", "chore: x", ""]))


ODDITIES: list[str | bytes] = [
    rec("a" * 40, ad="2024-13-02T09:00:00+00:00"),                    # month 13
    rec("b" * 40, cd="2024-02-30T09:00:00+00:00"),                    # no such day
    rec("c" * 40, ad="2024-03-02T09:00:00"),                          # no offset
    rec("c1" * 20, ad="2024-03-02T09:00:00Z"),                        # Z
    rec("c2" * 20, cd="2024-03-02T09:00:00.250+02:00"),               # fraction
    rec("c3" * 20, cd="2024-03-02T23:59:60+00:00"),                   # leap second
    rec("c4" * 20, cd="2024-03-02T24:00:00+00:00"),
    rec("c5" * 20, ad="1899-12-31T23:00:00+00:00"),
    rec("c6" * 20, ad=" 2024-03-02T09:00:00+00:00 "),
    rec("c7" * 20, ad="2024-03-02T09:00:00+24:00"),
    rec("d" * 40, parents="xyz"),                                     # bad parents
    rec("d1" * 20, parents="1" * 40 + "  " + "2" * 40),               # double space
    rec("d2" * 20, parents=" " + "1" * 40),
    rec("e" * 40, an="", ae="", a_name=" ", a_email=""),              # no author
    rec("e1" * 20, cn="", ce=""),                                     # no committer
    rec("e2" * 20, cn="Bo Li", ce="bo@example.com"),
    rec("e3" * 20, a_name="Ana\x1c", a_email="ana@example.com"),
    rec("f" * 40, trailers=("Signed-off-by: Ana",)),                 # no e-mail
    rec("f1" * 20, trailers=("Reviewed-by: bo@example.com",)),       # bare e-mail
    rec("f2" * 20, trailers=("Acked-by: Bo <bo@example.com> and more",)),
    rec("f3" * 20, trailers=("Tested-by: a@b.c<mailto:a@b.c>",)),
    rec("f4" * 20, trailers=("Co-authored-by:",)),                    # nothing
    rec("f5" * 20, trailers=("\u017figned-off-by: Cy <cy@example.org>",)),  # casefolds to s
    rec("f6" * 20, trailers=("Reviewed-by: Bo <bo@example.com> # v2",
                             "Reviewed-by: Bo Li <BO@example.com>", "Cc: x", "no colon",
                             "Reviewed-by: Bo <bo@example.com> # v2")),
    rec("f7" * 20, trailers=("Co-authored-by: Ana <ana@example.com>",)),
    rec("1a" * 20, numstat=("1\t2\tsrc/a.py", "x\ty\tz")),            # stray line
    rec("1b" * 20, numstat=("1\t2\t",)),
    rec("19" * 20, numstat=("1\tx\tp.c",)),
    rec("18" * 20, numstat=("1\t12345678901\tp.c",)),
    rec("17" * 20, tail="\n\u00a0\n"),                                 # not bytes whitespace
    rec("16" * 20, tail="\n\x1c\n"),
    rec("1c" * 20, numstat=("12345678901\t1\tbig.c",)),               # 11 digits
    rec("1d" * 20, tail="\n\n1\t2\ta.c\r\n"),                          # CR in the path
    rec("1e" * 20, tail="\n \n"),                                      # blank tail
    rec("1f" * 20, tail="\n\n 1\t2\ta.c\n"),
    rec("2a" * 20, numstat=("1\t2\tsame.c", "3\t4\tsame.c", "-\t-\tbin.png", "-\t5\th.c")),
    rec("2b" * 20, parents="1" * 40 + " " + "2" * 40),                 # merge, no numstat
    rec("2c" * 20, parents=""),                                        # root, empty
    rec("2d" * 32),                                                    # sha-256
    rec("2e" * 20, subject="with \x1e inside the subject"),            # RS as data
    rec("2f" * 20, subject="a\x1fb"),                                  # stray US
    RS + US.join(["3a" * 20, "1" * 40, "Ana"]) + GS + "\n",           # truncated
    RS + US.join(["3b" * 20, "1" * 40, "Ana", "a@b", "Ana", "a@b", "2024-01-01T00:00:00+00:00",
                  "Ana", "a@b", "2024-01-01T00:00:00+00:00", "s", ""]) + "\n",  # no GS
    rec("3c" * 20, trailers=("Signed-off-by: Ana <ana@example.com>",)) + GS + "\n",  # two GS
    rec("3d" * 20).encode() + b"\n\n1\t1\tbad\xff.c\n",                  # bad UTF-8 path
    RS.encode() + ("3e" * 20).encode() + b"\x1f" + ("1" * 40).encode()
    + b"\x1fJos\xe9\x1fj@x\x1fJos\xe9\x1fj@x\x1f2024-01-01T00:00:00+00:00\x1fJ\x1fj@x"
      b"\x1f2024-01-01T00:00:00+00:00\x1fs\x1f\x1d\n",                 # bad UTF-8 header
    rec("a" * 40, ad="2024-13-02T09:00:00+00:00"),                     # repeat, same
    rec("4a" * 20),
    rec("4a" * 20, subject="changed"),                                 # repeat, different
    rec("4b" * 20, cd="2031-01-01T00:00:00+00:00"),
    rec("4c" * 20, cd="1999-12-31T23:59:59-01:00"),
]


@pytest.mark.parametrize("block", [200, 1500, 1 << 20])
def test_mixed_log_matches_the_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         block: int) -> None:
    rng = random.Random(3)
    parts: list[str | bytes] = ["\n"]  # blank text before the first commit: not content
    for k, odd in enumerate(ODDITIES):
        parts += [plain(k, rng), odd, plain(k + 100, rng)]
    parts.append(rec("4a" * 20))  # seen twice already
    path = write(tmp_path / "commits.gitlog", parts)
    # The oddities alone, read by the reference path: the rejects the mixed log must give too.
    monkeypatch.setattr(git, "_FAST", False)
    alone = git.import_git(write(tmp_path / "odd.gitlog", list(ODDITIES)),
                           repo_name="acme/widgets").rejects
    monkeypatch.setattr(_git_fast, "BLOCK_BYTES", block)
    ref, new, taken = both(monkeypatch, path, repo_name="acme/widgets",
                           duckdb_min=0 if block < 1000 else 10**9)
    assert taken >= 2 * len(ODDITIES)  # every plain() commit, and plain oddities
    assert alone.height > 0
    assert ref.rejects.height >= alone.height
    assert set(alone.get_column("reason")) <= set(ref.rejects.get_column("reason"))
    assert_same(ref, new)


def test_text_before_the_first_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    for k, head in enumerate(["garbage line\nmore\n", RS + "not a header\n", "  \n\t",
                              "a" * 40 + US + "no RS\n"]):
        commits = [plain(n, rng) for n in range(20)]
        path = write(tmp_path / f"log{k}.gitlog", [head, *commits])
        for block in (50, 1 << 20):
            monkeypatch.setattr(_git_fast, "BLOCK_BYTES", block)
            ref, new, taken = both(monkeypatch, path)
            assert taken == len(commits)  # the head goes the reference way, every commit not
            assert_same(ref, new)


def test_no_records_raises_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "x.gitlog", ["just text\n", RS, "more\n"])
    monkeypatch.setattr(git, "_FAST", True)
    with pytest.raises(git.InputError) as fast:
        git.import_git(path)
    monkeypatch.setattr(git, "_FAST", False)
    with pytest.raises(git.InputError) as ref:
        git.import_git(path)
    assert str(fast.value) == str(ref.value)


@pytest.mark.parametrize("options", [
    {"since": "2024-03-10", "until": "2024-03-20T12:00:00"},
    {"until": "2024-03-05"},
    {"review_pattern": "bors"},
    {"review_pattern": r"r=(?P<reviewer>\S+)"},
])
def test_options_match_the_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     options: dict[str, Any]) -> None:
    rng = random.Random(11)
    parts: list[str | bytes] = []
    for k, odd in enumerate(ODDITIES):
        parts += [plain(k, rng), odd, plain(k + 50, rng), plain(k + 70, rng)]
    path = write(tmp_path / "w.gitlog.gz", parts, gz=True)
    monkeypatch.setattr(_git_fast, "BLOCK_BYTES", 700)
    ref, new, taken = both(monkeypatch, path, **options)
    assert taken > 0
    assert_same(ref, new)


def test_mailmap_matches_the_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mailmap = tmp_path / "mm"
    mailmap.write_text("Ana Real <ana@real.example> <ana@example.com>\n"
                       "<bo@real.example> <bo@example.com>\n"
                       "Cy Real <cy@example.org>\n"
                       "Dee <dee@real.example> Dee E <dee@example.com>\n", encoding="utf-8")
    rng = random.Random(17)
    n_plain = 300
    parts: list[str | bytes] = [plain(k, rng) for k in range(n_plain)]
    parts[40:40] = ODDITIES
    path = write(tmp_path / "m.gitlog", parts)
    monkeypatch.setattr(_git_fast, "BLOCK_BYTES", 4000)
    ref, new, taken = both(monkeypatch, path, mailmap=mailmap)
    assert taken >= n_plain  # a mailmap makes no commit odd
    assert_same(ref, new)


def test_names_settle_the_same_across_blocks(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # One e-mail, several spellings: the most frequent wins, ties to the first seen; the first
    # sightings fall in different blocks and around records of the reference path.
    names = ["Juline Grall", "Juline Grall", "J. Grall", "Juline  Grall", "J. Grall", "jg"]
    parts: list[str | bytes] = []
    n_plain = 120
    for k in range(n_plain):
        name = names[k % len(names)] if k > 3 else "Typo Grall"
        parts.append(rec(sha_of(1000 + k), an=name, ae="jg@example.com",
                         trailers=(f"Reviewed-by: {names[(k + 1) % 6]} <JG@example.com>",)))
        if k % 17 == 0:
            parts.append(rec(sha_of(5000 + k), an=names[(k + 2) % 6], ae="jg@example.com",
                             ad="2024-03-02T09:00:00"))  # repaired: the reference path
    path = write(tmp_path / "n.gitlog", parts)
    for block in (300, 2000, 1 << 20):
        monkeypatch.setattr(_git_fast, "BLOCK_BYTES", block)
        ref, new, taken = both(monkeypatch, path)
        assert taken == n_plain  # the dates without an offset go the reference way
        assert_same(ref, new)


def test_name_ties_settle_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A tie between two spellings goes to the one seen first: here a plain commit, followed in
    # the same block by a record of the reference path with the other spelling.
    parts: list[str | bytes] = [
        rec(sha_of(1), an="Alpha Person", ae="x@example.com"),
        rec(sha_of(2), an="Beta Person", ae="x@example.com", ad="2024-03-02T09:00:00"),
        rec(sha_of(3), an="Gamma", ae="g@example.com",
            trailers=("Reviewed-by: Beta Person <x@example.com>",
                      "Acked-by: Alpha Person <x@example.com>")),
    ]
    path = write(tmp_path / "t.gitlog", parts)
    ref, new, taken = both(monkeypatch, path)
    assert taken == 2
    names = dict(ref.tables["identities"].select("email", "name").iter_rows())
    assert names["x@example.com"] == "Alpha Person"
    assert_same(ref, new)


@pytest.mark.parametrize("first_files", [(), ("1\t1\ta.c",)])
def test_tables_in_the_reference_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       first_files: tuple[str, ...]) -> None:
    parts: list[str | bytes] = [rec(sha_of(1), numstat=first_files),
                                rec(sha_of(2), numstat=("2\t2\tb.c",))]
    path = write(tmp_path / "o.gitlog", parts)
    ref, new, taken = both(monkeypatch, path)
    assert taken == 2
    assert_same(ref, new)


def not_plain(k: int) -> str:
    """A record the columnar path leaves to the reference path (of a kind chosen by ``k``)."""
    an, ae = PEOPLE[k % len(PEOPLE)]
    odd: dict[str, Any] = [
        {"ad": "2024-03-02T09:00:00"},                               # no offset: repaired
        {"trailers": ("Signed-off-by: Ana",)},                       # no e-mail: flagged
        {"numstat": ("1\t2\tsrc/a.py", "x\ty")},                     # a stray line
        {"parents": "xyz"},                                          # rejected
        {"cd": "2024-02-30T09:00:00+00:00"},                         # no such day: rejected
        {"subject": "a\x1fb"},                                       # a stray US: flagged
    ][k % 6]
    return rec(sha_of(7000 + k), an=an, ae=ae, **odd)


def _alternating(n_runs: int, rng: random.Random, length: int = 1) -> list[str | bytes]:
    """``n_runs`` runs of ``length`` plain() commits, each run followed by a record of the
    reference path."""
    parts: list[str | bytes] = []
    for k in range(n_runs):
        parts += [plain(length * k + j, rng) for j in range(length)]
        parts.append(not_plain(k))
    return parts


@pytest.mark.parametrize("options", [{}, {"review_pattern": "bors"}, {"until": "2024-03-10"}])
def test_alternating_log_goes_to_the_reference_path(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    options: dict[str, Any]) -> None:
    # Plain and odd commits alternate: more than _MAX_RUNS runs of one plain commit, each
    # worth less than its frames, so the whole block is read by the reference path.
    n_runs = 3 * _git_fast._MAX_RUNS
    path = write(tmp_path / "alt.gitlog", _alternating(n_runs, random.Random(23)))
    ref, new, taken = both(monkeypatch, path, max_runs=None, **options)
    assert ref.counts.read >= 2 * n_runs
    assert taken == 0
    assert_same(ref, new)


def test_few_runs_stay_column_wise(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As many runs as _MAX_RUNS, however short: read column-wise.
    n_runs = _git_fast._MAX_RUNS
    path = write(tmp_path / "few.gitlog", _alternating(n_runs, random.Random(29), length=2))
    ref, new, taken = both(monkeypatch, path, max_runs=None)
    assert taken == 2 * n_runs
    assert_same(ref, new)


@pytest.mark.parametrize("block", [6000, 20_000, 1 << 20])
@pytest.mark.parametrize("options", [{}, {"review_pattern": "bors"}, {"since": "2024-03-08"}])
def test_short_runs_go_to_the_reference_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             block: int, options: dict[str, Any]) -> None:
    # Runs of 1 to 9 plain commits between odd ones; with more than 3 runs in a block, those
    # shorter than 5 take the reference path. Identities and names are shared by both paths.
    rng = random.Random(31)
    review = re.compile(git.BORS_PATTERN) if "review_pattern" in options else None
    parts: list[str | bytes] = []
    is_plain: list[bool] = []  # per record: read column-wise unless its run is short
    n = 0
    for k in range(40):
        for _ in range(rng.randrange(1, 10)):
            text = plain(n, rng)
            parts.append(text)
            is_plain.append(review is None or not review.search(text.split(US)[10]))
            n += 1
        parts.append(not_plain(k))
        is_plain.append(False)
    path = write(tmp_path / "runs.gitlog", parts)
    monkeypatch.setattr(_git_fast, "BLOCK_BYTES", block)
    monkeypatch.setattr(_git_fast, "_MIN_RUN", 5)
    ref, new, taken = both(monkeypatch, path, max_runs=3, **options)
    runs = [len(list(group)) for plain_, group in itertools.groupby(is_plain) if plain_]
    assert len(runs) > 3 and min(runs) < 5 <= max(runs)
    if block == 1 << 20:  # one block: exactly the runs of 5 or more
        assert taken == sum(length for length in runs if length >= 5)
    assert 0 < taken < sum(runs)
    assert_same(ref, new)


def test_each_identity_made_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The columnar path makes a new person's identity once: to build the rows, then to register.
    people = [(f"P{k}", f"p{k}@example.com") for k in range(20)]
    path = write(tmp_path / "p.gitlog", [rec(sha_of(k + 1), an=n, ae=e)
                                         for k, (n, e) in enumerate(people)])
    made: list[tuple[str, str]] = []
    original = git.git_identity

    def spy(name: str, email: str) -> Any:
        made.append((name, email))
        return original(name, email)

    monkeypatch.setattr(git, "git_identity", spy)
    monkeypatch.setattr(_git_fast, "git_identity", spy)
    ref, new, taken = both(monkeypatch, path)
    assert taken == len(people)
    assert sorted(made) == sorted(people + people)  # once per path (reference, columnar)
    assert_same(ref, new)


def _blocks_as_before(data: bytes, size: int) -> list[bytes]:
    """_git_fast._blocks as it was (rescanning the buffer from its start on every read)."""
    out, buf, pos = [], b"", 0
    while pos < len(data):
        buf, pos = buf + data[pos:pos + size], pos + size
        i = buf.rfind(b"\x1e", 0, max(len(buf) - 65, 0))
        while i > 0 and re.match(rb"[0-9a-f]{40}(?:[0-9a-f]{24})?\x1f", buf[i + 1:]) is None:
            i = buf.rfind(b"\x1e", 0, i)
        if i > 0:
            out.append(buf[:i])
            buf = buf[i:]
    return [*out, buf] if buf else out


class _CountingPattern:
    def __init__(self, pattern: re.Pattern[bytes]) -> None:
        self.pattern, self.calls = pattern, 0

    def match(self, *args: Any) -> re.Match[bytes] | None:
        self.calls += 1
        return self.pattern.match(*args)


@pytest.mark.parametrize("size", [50, 300, 4000, 1 << 20])
def test_blocks_look_at_each_record_start_once(monkeypatch: pytest.MonkeyPatch,
                                               size: int) -> None:
    # Long stretches without a record start (RS bytes that start none: text, an RS inside a
    # subject, a cut-off hash) between records, some longer than a block.
    rng = random.Random(size)
    parts: list[bytes] = [b"text before\x1e\x1e\n"]
    for k in range(60):
        roll = rng.random()
        if roll < 0.4:
            parts.append(plain(k, rng).encode())
        elif roll < 0.7:
            parts.append(b"".join(rng.choice([b"\x1e", b"\x1eabc", b"\x1e" + b"f" * 39 + b"\x1f",
                                              b"junk\n", b"\x1e" + b"a" * 40])
                                  for _ in range(rng.randrange(1, 400))))
        else:
            parts.append(rec(sha_of(k), subject="\x1e" * rng.randrange(1, 300)).encode())
    data = b"".join(parts)
    counting = _CountingPattern(_git_fast._HEADER_AT)
    monkeypatch.setattr(_git_fast, "BLOCK_BYTES", size)
    monkeypatch.setattr(_git_fast, "_HEADER_AT", counting)
    blocks = list(_git_fast._blocks(io.BytesIO(data)))
    assert blocks == _blocks_as_before(data, size)
    assert len(blocks) > (1 if size < 1 << 20 else 0)
    assert counting.calls <= data.count(b"\x1e")


def test_blocks_cut_where_they_did() -> None:
    # Every read size from 1 to 700 bytes over records and stretches without a record start:
    # a record start at each position of a read (the last 65 bytes too) is met.
    rng = random.Random(37)
    parts = [plain(k, rng).encode() for k in range(4)]
    for k in range(60):  # record starts of short records (all the splitting looks at)
        parts.append(b"\x1e" + sha_of(k).encode() + b"\x1f" + b"x" * rng.randrange(90)
                     + rng.choice([b"", b"\x1e-\x1e", b"\x1e" + b"b" * 40 + b"\n"]))
    data = b"".join(parts)
    for size in range(1, 700):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(_git_fast, "BLOCK_BYTES", size)
            assert list(_git_fast._blocks(io.BytesIO(data))) == _blocks_as_before(data, size), size


def _random_record(rng: random.Random, n: int) -> tuple[str, str | bytes]:
    """``("plain", a plain() commit)``, ``("odd", one of ODDITIES)`` or ``("damaged", ...)``."""
    roll = rng.random()
    if roll < 0.75:
        return "plain", plain(n, rng)
    if roll < 0.9:
        return "odd", ODDITIES[rng.randrange(len(ODDITIES))]
    # A plain record with random damage.
    text = plain(n, rng)
    data = bytearray(text.encode("utf-8"))
    for _ in range(rng.randrange(1, 4)):
        pos = rng.randrange(1, len(data))
        choice = rng.random()
        if choice < 0.3:
            del data[pos]
        elif choice < 0.6:
            data[pos:pos] = bytes([rng.choice(b"\x1e\x1f\x1d\n\t:<>@ -\xff\xc3")])
        else:
            data[pos] = rng.choice(b"0123456789abcdef-+TZ: \t\n")
    return "damaged", bytes(data)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_logs_match_the_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         seed: int) -> None:
    rng = random.Random(seed)
    records = [_random_record(rng, n) for n in range(400)]
    parts = [data for _kind, data in records]
    if seed % 2:
        parts.insert(0, "leading text\n")
        parts.append(b"\x1e" + b"f" * 40)  # cut off at the end
    path = write(tmp_path / "r.gitlog", parts, gz=bool(seed % 2))
    monkeypatch.setattr(_git_fast, "BLOCK_BYTES", rng.choice([97, 1000, 5000, 1 << 20]))
    options: dict[str, Any] = rng.choice([{}, {"since": "2024-03-08"},
                                          {"review_pattern": "bors"}])
    ref, new, taken = both(monkeypatch, path, **options)
    # Every plain() commit is read column-wise, but for a subject the review pattern matches.
    review = re.compile(git.BORS_PATTERN) if "review_pattern" in options else None
    n_plain = sum(1 for kind, data in records if kind == "plain" and not (
        review is not None and review.search(str(data).split(US)[10])))
    assert n_plain > 0
    assert taken >= n_plain
    assert_same(ref, new)


def test_benchmark_log_matches_the_reference(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.bench_import_git import generate_log

    path = tmp_path / "bench.gitlog.gz"
    generate_log(path, events=20_000)
    monkeypatch.setattr(_git_fast, "BLOCK_BYTES", 256 << 10)
    ref, new, taken = both(monkeypatch, path, repo_name="bench/repo", duckdb_min=10**9)
    # Every commit the reference path reads without a problem is read column-wise.
    records = ref.rejects.get_column("record")  # null: a stretch of text, a record of its own
    with_problems = records.drop_nulls().n_unique() + records.null_count()
    clean = ref.counts.read - with_problems
    assert clean > 0
    assert taken >= clean
    assert_same(ref, new)


@pytest.mark.realdata
@pytest.mark.parametrize(("rel", "options"), [
    ("xen/commits.gitlog.gz", {}),
    ("dpdk/commits.gitlog.gz", {"mailmap": "dpdk/mailmap.end.txt"}),
    ("coreboot/commits.gitlog.gz", {"mailmap": "coreboot/mailmap.end.txt"}),
    ("cargo-rust-team/commits.gitlog.gz", {"review_pattern": "bors",
                                           "repo_name": "rust-lang/cargo"}),
    ("erofs/erofs-utils_commits.gitlog.gz", {"since": "2020-01-01"}),
])
def test_real_logs_match_the_reference(monkeypatch: pytest.MonkeyPatch, rel: str,
                                       options: dict[str, Any]) -> None:
    from tests.conftest import REALDATA

    if not REALDATA.is_dir():
        pytest.skip(f"real data not found at {REALDATA}")
    if "mailmap" in options:
        options = {**options, "mailmap": REALDATA / options["mailmap"]}
    monkeypatch.setattr(_git_fast, "BLOCK_BYTES", 1 << 20)
    ref, new, taken = both(monkeypatch, REALDATA / rel, duckdb_min=5000, **options)
    assert taken > ref.counts.read // 2
    assert_same(ref, new)
