"""The git importer on hand-checkable saved logs (tests/fixtures/git, made by make_fixtures.py)."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
import subprocess
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgnet.exceptions import ConfigError, InputError
from orgnet.importers import git as git_module
from orgnet.importers._base import ImportBuilder, identity_id_for
from orgnet.importers.git import (
    LOG_FORMAT,
    TrailerValue,
    detect,
    export_command,
    import_git,
    parse_trailer_value,
)
from orgnet.importers.mailmap import parse_mailmap, read_mailmap
from orgnet.ingest import ingest
from orgnet.workspace import Workspace

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "git"
GOOD = FIX / "good.gitlog"
BAD = FIX / "bad.gitlog"
MAILMAP = FIX / "good.mailmap"
RS, US, GS = "\x1e", "\x1f", "\x1d"


def git_id(email: str) -> str:
    return identity_id_for("git", email)


def gh_id(login: str) -> str:
    return identity_id_for("github", login)


def events(result, kind: str | None = None) -> pl.DataFrame:
    frame = result.tables["interactions"]
    return frame if kind is None else frame.filter(pl.col("kind") == kind)


def record(sha: str, *, an: str = "Ana", ae: str = "ana@example.com",
           ad: str = "2024-03-02T09:00:00+00:00", cn: str | None = None, ce: str | None = None,
           cd: str | None = None, subject: str = "s", trailers: tuple[str, ...] = (),
           numstat: tuple[str, ...] = (), parents: str = "1" * 40) -> str:
    head = US.join([sha, parents, an, ae, an, ae, ad, cn or an, ce or ae, cd or ad, subject,
                    "".join(t + "\n" for t in trailers)])
    tail = "\n" + ("\n" + "".join(n + "\n" for n in numstat) if numstat else "")
    return RS + head + GS + tail


def write(tmp_path: Path, text: str | bytes, name: str = "log.gitlog") -> Path:
    p = tmp_path / name
    if isinstance(text, str):
        p.write_text(text, encoding="utf-8", newline="")
    else:
        p.write_bytes(text)
    return p


# -- the good fixture ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def good():
    return import_git(GOOD, repo_name="acme/widgets", review_pattern="bors", mailmap=MAILMAP)


def test_events_per_commit(good) -> None:
    kinds = events(good).group_by("kind").len().sort("kind")
    assert dict(kinds.iter_rows()) == {
        "commit_authored": 4,
        "commit_coauthored": 1,
        "commit_committed": 2,       # Bob commits Ana's work; GitHub commits Bob's web merge
        "commit_trailer": 6,         # a: Reviewed, Acked, Signed-off; d: Acked, Reviewed, Tested
        "review_approved": 2,        # bors r=dan-r,@eve-p
    }
    a = events(good).filter(pl.col("artifact_id") == "git:acme/widgets@" + "a" * 40)
    trailers = a.filter(pl.col("kind") == "commit_trailer").sort("value")
    # Mailmap applies to trailers: dan@example.com -> dan@roe.example, Eve by name+e-mail.
    assert trailers.select("value", "actor_id").rows() == [
        ("Acked-by", git_id("eve@poe.example")),          # "acked-by" -> canonical case
        ("Reviewed-by", git_id("dan@roe.example")),
        ("Signed-off-by", git_id("ana@old.example")),     # the author's own sign-off is kept
    ]
    assert set(a["target_id"].drop_nulls()) == {git_id("ana@example.com")}
    co = events(good, "commit_coauthored").row(0, named=True)
    assert co["actor_id"] == git_id("carol@example.com") and co["value"] == "Co-authored-by"
    # Co-authors at the author date, trailers at the committer date (UTC).
    assert co["ts"] == dt.datetime(2024, 3, 2, 17, tzinfo=dt.UTC)
    assert trailers["ts"].to_list() == [dt.datetime(2024, 3, 3, 1, tzinfo=dt.UTC)] * 3
    assert a.filter(pl.col("kind") == "commit_authored")["time_offset_min"].to_list() == [-480]


def test_ignored_trailers_and_odd_spellings(good) -> None:
    d = events(good).filter(pl.col("artifact_id") == "git:acme/widgets@" + "d" * 40)
    assert sorted(d.filter(pl.col("kind") == "commit_trailer")["value"].to_list()) == [
        "Acked-by", "Reviewed-by", "Tested-by"]   # Acked-By, name-only Jane, "# on arm64"
    values = set(events(good)["value"].drop_nulls())
    assert not values & {"Fixes", "Cc", "Link", "Change-Id", "chore"}
    jane = good.tables["identities"].filter(pl.col("native_id") == "name:jane")
    assert jane.select("email", "name").rows() == [(None, "Jane")]
    assert good.rejects.select("line", "field", "reason", "outcome").rows() == [
        (18, "Reviewed-by", "trailer value has no e-mail address", "flagged")]


def test_bors_preset(good) -> None:
    rv = events(good, "review_approved").sort("actor_id")
    assert set(rv["actor_id"]) == {gh_id("dan-r"), gh_id("eve-p")}   # "@eve-p" -> eve-p
    assert set(rv["target_id"]) == {gh_id("ana-p")}                 # the PR author
    assert set(rv["artifact_id"]) == {"github:acme/widgets#12"}
    logins = good.tables["identities"].filter(pl.col("source") == "github")
    assert sorted(logins.select("native_id", "username").rows()) == [
        ("ana-p", "ana-p"), ("dan-r", "dan-r"), ("eve-p", "eve-p")]


def test_artifacts_touches_merges_and_bots(good) -> None:
    art = good.tables["artifacts"].sort("artifact_id")
    assert art.select("kind", "outcome", "n_files", "lines_added", "lines_deleted").rows() == [
        ("commit", "committed", 3, 4, 1),       # binary file counted as a file, not as lines
        ("commit", "committed", None, None, None),  # web merge without numstat
        ("commit", "committed", 1, 2, 2),       # bors merge with first-parent numstat
        ("commit", "committed", 1, 0, 5),
    ]
    first = art.row(0, named=True)
    assert first["opened_at"] == dt.datetime(2024, 3, 2, 17, tzinfo=dt.UTC)
    assert first["closed_at"] == dt.datetime(2024, 3, 3, 1, tzinfo=dt.UTC)
    touches = good.tables["touches"]
    a = touches.filter(pl.col("artifact_id") == "git:acme/widgets@" + "a" * 40)
    assert a.select("path", "lines_added", "lines_deleted").rows() == [
        ("src/widget.py", 3, 1), ("assets/logo.png", None, None), ("dir one/tab\tname.txt", 1, 0)]
    assert touches.filter(pl.col("artifact_id").str.ends_with("b" * 40)).height == 0
    ids = good.tables["identities"]
    bots = set(ids.filter(pl.col("is_bot"))["native_id"])
    assert bots == {"noreply@github.com", "bors@rust-lang.org"}


def test_author_mailmap_from_log_without_option() -> None:
    r = import_git(GOOD)
    assert r.tables["artifacts"]["container"].unique().to_list() == ["good"]
    authors = events(r, "commit_authored")["actor_id"].to_list()
    assert authors[0] == git_id("ana@example.com")       # %aE already mailmapped in the log
    # Without a mailmap, trailers keep their raw addresses.
    assert git_id("dan@example.com") in set(events(r, "commit_trailer")["actor_id"])
    assert events(r, "review_approved").height == 0


# -- malformed input -----------------------------------------------------------------------

def test_malformed_log_rejects_with_lines() -> None:
    r = import_git(BAD)
    assert r.rejects.select("line", "field", "outcome").rows() == [
        (1, None, "rejected"),                   # garbage before the first record
        (6, "author_date", "rejected"),          # bad date
        (9, "author_date", "rejected"),          # missing fields: 6 of 12
        (10, "header", "repaired"),              # invalid UTF-8 in a name
        (13, None, "rejected"),                  # garbage after a commit's numstat
        (18, "committer_email", "rejected"),     # truncated at end of file
    ]
    reasons = r.rejects["reason"].to_list()
    assert reasons[1] == "bad author date"
    assert reasons[2] == "truncated record: 6 of 12 header fields"
    assert reasons[5].startswith("truncated record: 8 of 12 header fields")
    assert "content not shown" in reasons[0] and "content not shown" in reasons[4]
    assert r.rejects["raw_excerpt"][0] is None   # garbage may be commit text: never echoed
    assert r.counts.read == 8 and r.counts.rejected == 5 and r.counts.repaired == 1
    dee = r.tables["identities"].filter(pl.col("native_id") == "dee@example.com")
    assert dee["name"].to_list() == ["D\ufffde"]


def test_malformed_counts_add_up_and_duplicate_commit(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    summary = ingest(ws, import_git(BAD))
    c = summary.counts
    assert (c.read, c.imported, c.duplicate, c.rejected, c.skipped) == (8, 2, 1, 5, 0)
    assert c.adds_up()


def test_reingest_is_a_noop(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    first = ingest(ws, import_git(GOOD, review_pattern="bors", mailmap=MAILMAP))
    assert first.counts.imported == 4 and first.counts.adds_up()
    second = ingest(ws, import_git(GOOD, review_pattern="bors", mailmap=MAILMAP))
    assert set(second.rows_added.values()) == {0}
    assert second.counts.duplicate == second.counts.read == 4


def test_trailer_value_shapes() -> None:
    assert parse_trailer_value("Jan B <jb@x.org>") == TrailerValue("Jan B", "jb@x.org", None)
    assert parse_trailer_value('"Doe, J" <j@x.org> # arm').email == "j@x.org"
    assert parse_trailer_value("J <j@x.org> [v2]").problem is None
    assert parse_trailer_value("J <j@x.org>wq").problem == "trailer value has text after <email>"
    bare = parse_trailer_value("Bin Liu bin.liu@x.com")
    assert (bare.name, bare.email) == ("Bin Liu", "bin.liu@x.com") and bare.problem
    mailto = parse_trailer_value("R S <r.s@arm.com<mailto:r.s@arm.com>>")
    assert (mailto.name, mailto.email) == ("R S", "r.s@arm.com")
    assert parse_trailer_value("AFL").problem == "trailer value has no e-mail address"


def test_empty_and_weird_trailer_values(tmp_path: Path) -> None:
    log = record("f" * 40, trailers=("Reviewed-by:", "Acked-by: <>", "Tested-by: x@y.z"))
    r = import_git(write(tmp_path, log))
    assert r.rejects.select("field", "reason", "outcome").rows() == [
        ("Reviewed-by", "Reviewed-by trailer without a name or e-mail", "flagged"),
        ("Acked-by", "Acked-by trailer without a name or e-mail", "flagged"),
        ("Tested-by", "trailer e-mail without <...>", "flagged"),
    ]
    assert events(r, "commit_trailer")["actor_id"].to_list() == [git_id("x@y.z")]


def test_duplicate_trailer_in_one_commit_is_one_event(tmp_path: Path) -> None:
    log = record("f" * 40, trailers=("Signed-off-by: Ana <ana@example.com>",
                                    "Signed-off-by: ANA <Ana@Example.com>"))
    assert events(import_git(write(tmp_path, log)), "commit_trailer").height == 1


def test_empty_commit_and_author_without_email(tmp_path: Path) -> None:
    log = record("f" * 40, ae="") + record("e" * 40, an="", ae="")
    r = import_git(write(tmp_path, log))
    assert r.tables["artifacts"]["n_files"].to_list() == [0]
    assert r.tables["identities"]["native_id"].to_list() == ["name:ana"]
    assert r.rejects.select("line", "field", "reason").rows() == [
        (2, "author", "commit has no author name or e-mail")]


def test_gzip_crlf_free_and_rename_notation(tmp_path: Path) -> None:
    log = record("f" * 40, numstat=("1\t1\tsrc/{old => new}/f.py", "2\t0\ta.txt => b.txt"))
    p = tmp_path / "x.gitlog.gz"
    p.write_bytes(gzip.compress(log.encode()))
    r = import_git(p)
    assert r.tables["touches"]["path"].to_list() == ["src/new/f.py", "b.txt"]
    assert any("rename notation" in n for n in r.notes)


def test_numstat_with_wrong_types_is_garbage(tmp_path: Path) -> None:
    log = record("f" * 40, numstat=("x\t1\tpath", "1\t2", "3\t4\tok"))
    r = import_git(write(tmp_path, log))
    assert r.tables["touches"]["path"].to_list() == ["ok"]
    assert r.rejects.select("line", "outcome").rows() == [(3, "rejected")]
    assert r.rejects["reason"][0].startswith("unparseable line(s) after a commit: 2 line(s)")


def test_rs_inside_a_subject_is_data(tmp_path: Path) -> None:
    log = record("f" * 40, subject="odd \x1e byte") + record("e" * 40)
    r = import_git(write(tmp_path, log))
    assert r.counts.read == 2 and r.rejects.height == 0


def test_not_a_log_raises(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no commit records"):
        import_git(write(tmp_path, "hello\nworld\n"))
    with pytest.raises(InputError, match="no such file"):
        import_git(tmp_path / "missing.gitlog")
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="not a git repository"):
        import_git(tmp_path / "plain")
    assert import_git(write(tmp_path, b"", "empty.gitlog")).counts.read == 0


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="reviewer"):
        import_git(GOOD, review_pattern=r"r=(\w+)")
    with pytest.raises(ConfigError, match="invalid regular expression"):
        import_git(GOOD, review_pattern="(")
    with pytest.raises(ConfigError, match="since"):
        import_git(GOOD, since="last tuesday")
    with pytest.raises(ConfigError, match="later"):
        import_git(GOOD, since="2024-03-05", until="2024-03-01")


# -- window -------------------------------------------------------------------------------

def test_since_until_half_open_on_committer_date() -> None:
    # committer dates: a 03-03T01:00Z, b 03-04T10:00Z, c 03-05T10:00Z, d 03-06T08:00Z
    r = import_git(GOOD, since="2024-03-04T10:00:00Z", until=dt.datetime(2024, 3, 6, 8,
                                                                         tzinfo=dt.UTC))
    kept = {a[-40] for a in r.tables["artifacts"]["artifact_id"]}
    assert kept == {"b", "c"}
    assert r.counts.skipped == 2
    assert r.counts.skipped_reasons == {"outside --since/--until": 2}
    r2 = import_git(GOOD, since=dt.date(2024, 3, 5))
    assert r2.counts.skipped == 2 and r2.options["since"] == "2024-03-05T00:00:00Z"


# -- review patterns ----------------------------------------------------------------------

def test_bors_reviewer_values(tmp_path: Path) -> None:
    subjects = [
        "Auto merge of #1 - al:b, r=@bo",
        "Auto merge of #2 - al:b, r=bo,cy",
        "Auto merge of #3 - al:b, r=\U0001f648Cy\U0001f648",
        "Auto merge of #4 - al:b, r=me",
        "Merge pull request #5 from al/b",
    ]
    log = "".join(record(f"{i:040x}", subject=s) for i, s in enumerate(subjects, 1))
    r = import_git(write(tmp_path, log), review_pattern="bors", repo_name="o/r")
    rv = events(r, "review_approved")
    assert sorted(zip(rv["artifact_id"], rv["actor_id"], strict=True)) == sorted([
        ("github:o/r#1", gh_id("bo")), ("github:o/r#2", gh_id("bo")),
        ("github:o/r#2", gh_id("cy")), ("github:o/r#3", gh_id("cy"))])
    assert r.rejects.select("line", "reason", "outcome").rows() == [
        (3, "reviewer login cleaned to 'Cy'", "repaired"),
        (4, "r=me does not name the reviewer; no approval recorded", "flagged"),
    ]


def test_custom_review_pattern(tmp_path: Path) -> None:
    log = (record("f" * 40, subject="Fix x (reviewed by bo, cy@example.com)")
           + record("e" * 40, subject="Merge PR 9 by al; approvers: dd"))
    pattern = r"reviewed by (?P<reviewer>[^)]+)\)|PR (?P<number>\d+) by (?P<author>\w+); approvers: (?P<reviewer2>\w+)"  # noqa: E501
    with pytest.raises(ConfigError):
        import_git(write(tmp_path, log), review_pattern=r"(?P<x>.)")
    r = import_git(write(tmp_path, log), review_pattern=pattern, repo_name="o/r")
    rv = events(r, "review_approved")
    assert sorted(rv["actor_id"]) == sorted([gh_id("bo"), git_id("cy@example.com")])
    assert set(rv["target_id"]) == {git_id("ana@example.com")}   # no author group: commit author
    assert set(rv["artifact_id"]) == {"git:o/r@" + "f" * 40}
    r2 = import_git(write(tmp_path, log),
                    review_pattern=r"PR (?P<number>\d+) by (?P<author>\w+); approvers: (?P<reviewer>\w+)",
                    repo_name="o/r")
    row = events(r2, "review_approved").row(0, named=True)
    assert (row["actor_id"], row["target_id"], row["artifact_id"]) == (
        gh_id("dd"), gh_id("al"), "github:o/r#9")


# -- mailmap ------------------------------------------------------------------------------

def test_mailmap_four_forms() -> None:
    mm = parse_mailmap(
        "# comment\n"
        "Proper One <one@x>\n"                              # name for an e-mail
        "<proper2@x> <two@x>\n"                             # e-mail only
        "Proper Three <proper3@x> <three@x>\n"              # both, by e-mail
        "Proper Four <proper4@x> Commit Four <four@x>\n"    # both, by name and e-mail
        "Proper Five <five@x>\n<proper5@x> <five@x>\n"      # two lines combine
        "no email here\n"
    )
    assert mm.map("x", "ONE@x") == ("Proper One", "ONE@x")
    assert mm.map("Two", "two@X") == ("Two", "proper2@x")
    assert mm.map("Three", "three@x") == ("Proper Three", "proper3@x")
    assert mm.map("commit four", "four@x") == ("Proper Four", "proper4@x")
    assert mm.map("Other", "four@x") == ("Other", "four@x")
    assert mm.map("F", "five@x") == ("Proper Five", "proper5@x")
    assert mm.map("U", "unknown@x") == ("U", "unknown@x")
    assert mm.lines_ignored == [8]


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_mailmap_agrees_with_git_check_mailmap(tmp_path: Path) -> None:
    text = (
        "A <a@x>\n<b2@x> <b@x>\nC <c2@x> <c@x>\nD <d2@x> Old D <d@x>\nE One <e@x>\n"
        "<e2@x> <e@x>\nF <f2@x> Fa <f@x>\nFf <f3@x> <f@x>\n"
    )
    mm_file = tmp_path / "mailmap"
    mm_file.write_text(text)
    mm = read_mailmap(mm_file)
    contacts = [("Zed", "a@x"), ("Zed", "B@X"), ("Zed", "c@x"), ("old d", "d@x"), ("Zed", "d@x"),
                ("Zed", "e@x"), ("Fa", "f@x"), ("Zed", "f@x"), ("Zed", "none@x")]
    subprocess.run(["git", "init", "-q", str(tmp_path / "r")], check=True)
    out = subprocess.run(
        ["git", "-C", str(tmp_path / "r"), "-c", f"mailmap.file={mm_file}", "check-mailmap",
         *[f"{n} <{e}>" for n, e in contacts]],
        check=True, capture_output=True, text=True,
    ).stdout.splitlines()
    ours = ["{} <{}>".format(*mm.map(n, e)) for n, e in contacts]
    assert ours == out


# -- detection, export command, privacy, robustness ------------------------------------------

def test_detect(tmp_path: Path) -> None:
    assert detect(GOOD) and detect(BAD) is False  # BAD starts with garbage
    gz = tmp_path / "g.gitlog.gz"
    gz.write_bytes(gzip.compress(GOOD.read_bytes()))
    assert detect(gz)
    assert not detect(MAILMAP) and not detect(tmp_path) and not detect(tmp_path / "nope")


def test_export_command() -> None:
    cmd = export_command("/src/my repo", "2024-01-01", dt.datetime(2024, 7, 1, tzinfo=dt.UTC),
                         output="out.gitlog.gz")
    assert cmd.startswith("env GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null ")
    for part in ("-c core.hooksPath=/dev/null", "-c diff.external=", "--no-ext-diff",
                 "--no-textconv", "--no-renames", "--numstat", "-c core.quotepath=off",
                 "-c core.fsmonitor=false", "--since=2024-01-01T00:00:00Z",
                 "--until=2024-07-01T00:00:00Z", "'/src/my repo'", "| gzip > out.gitlog.gz"):
        assert part in cmd
    assert "--format=" + LOG_FORMAT in cmd.replace("'", "")


def test_canary_never_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    canary = "CANARY-7f3a"
    # A plain commit, read column-wise: the canary in its subject, in message text of its
    # trailer block and in trailers that give no credit (one credit trailer, to be read).
    plain_sha = "c" * 40
    log = record(
        plain_sha, subject=f"{canary} plain subject",
        trailers=(f"{canary} body text of the message", f"Fixes: 123 ({canary})",
                  f"Link: https://x/{canary}", f"X-{canary}: {canary}",
                  "Signed-off-by: Dan <dan@example.com>"),
        numstat=("2\t1\tsrc/b.py",),
    ) + record(
        "f" * 40, subject=f"{canary} subject",
        trailers=(f"Fixes: 123 ({canary})", f"Link: https://x/{canary}", f"chore: {canary}",
                  f"Change-Id: I{canary}", "Reviewed-by: Dan <dan@example.com>"),
        numstat=("1\t1\tsrc/a.py", f"{canary} garbage line"),
    ) + f"{canary} between records\n" + record("e" * 40, subject=f"Auto merge of #1 - a:b, r=bo {canary}")
    # The columnar path on, and proof that it read the plain commit (and the reference path not).
    monkeypatch.setattr(git_module, "_FAST", True)
    column_wise: list[int] = []
    by_record: list[bytes] = []
    begin_many, one_record = ImportBuilder.begin_many, git_module._Parser.record

    def spy_many(self: ImportBuilder, statuses: Any, skipped: Any = None) -> int:
        column_wise.append(len(statuses))
        return begin_many(self, statuses, skipped)

    def spy_record(self: Any, line: int, raw: bytes) -> None:
        by_record.append(raw[1:41])
        one_record(self, line, raw)

    monkeypatch.setattr(ImportBuilder, "begin_many", spy_many)
    monkeypatch.setattr(git_module._Parser, "record", spy_record)
    r = import_git(write(tmp_path, log), review_pattern="bors")
    assert sum(column_wise) == 1
    assert plain_sha.encode() not in by_record and len(by_record) == 2
    of_plain = pl.col("artifact_id").str.ends_with(f"@{plain_sha}")
    assert r.tables["artifacts"].filter(of_plain).height == 1
    signed = events(r, "commit_trailer").filter(of_plain)
    assert signed.get_column("value").to_list() == ["Signed-off-by"]
    frames = [*r.tables.values(), r.rejects]
    for frame in frames:
        for col in frame.columns:
            if frame.schema[col] == pl.String:
                assert not frame[col].drop_nulls().str.contains(canary).any(), col
    assert r.rejects.height > 0
    assert not any(canary in note for note in r.notes)
    assert canary not in repr(r.options)
    # Stored: every table of the workspace and its import log (meta.json).
    ws = Workspace(tmp_path / "ws")
    ingest(ws, r)
    stored = [f for f in (tmp_path / "ws").rglob("*") if f.is_file()]
    assert any(f.name == "meta.json" for f in stored)
    assert any(f.name.startswith("rejects") for f in stored)
    for f in stored:
        if f.suffix == ".parquet":
            frame = pl.read_parquet(f)
            for col in frame.columns:
                assert canary not in col
                assert not any(canary in str(v) for v in frame[col].drop_nulls().to_list()), (
                    f.name, col)
        else:
            assert canary.encode() not in f.read_bytes(), f.name


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.binary(max_size=80),
    st.sampled_from([b"\x1e" + b"a" * 40 + b"\x1f", b"\x1f", b"\x1d", b"\n", b"\t", b"-\t-\tx\n",
                     b"2024-01-01T00:00:00+00:00", b"Reviewed-by: A <a@b>\n", b"\xff\xfe",
                     b"\x1e" + b"0" * 64 + b"\x1f"]),
), max_size=40))
def test_never_raises_but_input_error(tmp_path: Path, chunks: list[bytes]) -> None:
    p = tmp_path / "fuzz.gitlog"
    p.write_bytes(b"".join(chunks))
    try:
        result = import_git(p, review_pattern="bors")
    except InputError:
        return
    assert result.counts.read == len(result.record_status)
