"""The git importer on a real temporary repository, including a hostile one (FORMATS §14.9)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
import subprocess
from pathlib import Path

import polars as pl
import pytest

from orgnet.exceptions import InputError
from orgnet.importers._base import identity_id_for
from orgnet.importers.git import detect, export_command, git_log_argv, import_git
from orgnet.ingest import ingest
from orgnet.workspace import Workspace

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")

ENV = {
    "PATH": os.environ.get("PATH", os.defpath),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "LC_ALL": "C",
}


def git(repo: Path, *args: str, when: str = "2024-03-02T09:00:00+01:00",
        author: tuple[str, str] = ("Ana Perez", "ana@example.com"),
        committer: tuple[str, str] | None = None) -> str:
    committer = committer or author
    env = {**ENV, "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1],
           "GIT_COMMITTER_NAME": committer[0], "GIT_COMMITTER_EMAIL": committer[1],
           "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    return subprocess.run(["git", "-C", str(repo), *args], env=env, check=True,
                          capture_output=True, text=True).stdout


def git_id(email: str) -> str:
    return identity_id_for("git", email)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gitrepo")
    r = root / "widgets"
    subprocess.run(["git", "init", "-q", "-b", "main", str(r)], env=ENV, check=True)
    (r / "src").mkdir()
    (r / "src" / "a.py").write_text("print(1)\n")
    (r / "logo.bin").write_bytes(b"\x00\x01\x02binary\x00")
    (r / "dir one").mkdir()
    (r / "dir one" / "tab\tname.txt").write_text("x\ny\n")
    (r / "é.txt").write_text("accent\n")
    git(r, "add", "-A")
    msg = ("Add widget\n\nBody text that must not be stored.\n\n"
           "Reviewed-by: Dan Roe <dan@example.com>\nacked-by: Eve Poe <eve@example.com>\n"
           "Co-authored-by: Carol Doe <carol@example.com>\nFixes: abc123\n"
           "Signed-off-by: Ana Perez <ana@example.com>\n")
    git(r, "commit", "-q", "-m", msg, committer=("Bob Committer", "bob@example.com"),
        when="2024-03-02T09:00:00+01:00")
    git(r, "checkout", "-q", "-b", "topic")
    (r / "src" / "a.py").write_text("print(2)\nprint(3)\n")
    git(r, "commit", "-q", "-am", "Topic change\n\nTested-by: Dan Roe <dan@old.example>",
        author=("Eve Poe", "eve@example.com"), when="2024-03-03T09:00:00+00:00")
    git(r, "checkout", "-q", "main")
    git(r, "merge", "-q", "--no-ff", "-m", "Merge branch 'topic'", "topic",
        when="2024-03-04T09:00:00+00:00")
    (r / ".mailmap").write_text("Dan Roe <dan@example.com> <dan@old.example>\n")
    git(r, "add", ".mailmap")
    git(r, "commit", "-q", "-m", "Add mailmap", when="2024-03-05T09:00:00+00:00")

    # Now make it hostile: every program the repository could configure writes a marker file.
    marker = root / "pwned"
    evil = root / "evil.sh"
    evil.write_text(f"#!/bin/sh\necho \"$0 $*\" >> '{marker}'\nexit 0\n")
    evil.chmod(evil.stat().st_mode | stat.S_IEXEC)
    for hook in ("post-checkout", "post-merge", "pre-commit", "post-rewrite", "reference-transaction",
                 "fsmonitor-watchman"):
        h = r / ".git" / "hooks" / hook
        h.write_text(f"#!/bin/sh\necho {hook} >> '{marker}'\n")
        h.chmod(h.stat().st_mode | stat.S_IEXEC)
    for key, value in (
        ("diff.external", str(evil)),
        ("diff.evil.textconv", str(evil)),
        ("diff.evil.command", str(evil)),
        ("core.pager", str(evil)),
        ("pager.log", str(evil)),
        ("core.fsmonitor", str(evil)),
        ("core.hooksPath", str(r / ".git" / "hooks")),
        ("log.showSignature", "true"),
        ("gpg.program", str(evil)),
        ("i18n.logOutputEncoding", "UTF-16"),
        ("log.showRoot", "false"),
        ("core.quotepath", "on"),
        ("diff.renames", "copies"),
        ("core.sshCommand", str(evil)),
    ):
        git(r, "config", key, value)
    (r / ".gitattributes").write_text("* diff=evil\n")
    return r


@pytest.fixture(scope="module")
def imported(repo: Path):
    result = import_git(repo)
    return result


def test_hostile_repository_runs_nothing(repo: Path, imported) -> None:
    marker = repo.parent / "pwned"
    assert not marker.exists()
    assert imported.counts.read == 4 and imported.rejects.height == 0
    # The trap is live: a plain `git log -p` in the same repository runs the configured program.
    subprocess.run(["git", "-C", str(repo), "log", "-p", "-1"], env=ENV, capture_output=True,
                   check=False)
    assert marker.exists()
    marker.unlink()


def test_commits_trailers_and_files(imported) -> None:
    it = imported.tables["interactions"]
    kinds = dict(it.group_by("kind").len().iter_rows())
    assert kinds == {"commit_authored": 4, "commit_committed": 1, "commit_coauthored": 1,
                     "commit_trailer": 4}
    trailers = it.filter(pl.col("kind") == "commit_trailer").sort("value")
    # The repository's own .mailmap maps the Tested-by address; "acked-by" is normalised.
    assert trailers.select("value", "actor_id").rows() == [
        ("Acked-by", git_id("eve@example.com")),
        ("Reviewed-by", git_id("dan@example.com")),
        ("Signed-off-by", git_id("ana@example.com")),
        ("Tested-by", git_id("dan@example.com")),
    ]
    touches = imported.tables["touches"]
    root = touches.filter(pl.col("lines_added").is_null() | pl.col("path").str.contains("a.py"))
    assert set(touches["path"]) == {"src/a.py", "logo.bin", "dir one/tab\tname.txt", "é.txt",
                                    ".mailmap"}
    assert root.filter(pl.col("path") == "logo.bin")["lines_added"].to_list() == [None]
    arts = imported.tables["artifacts"].sort("opened_at")
    assert arts["n_files"].to_list() == [4, 1, None, 1]   # the merge has no numstat
    first = arts.row(0, named=True)
    assert first["opened_at"] == dt.datetime(2024, 3, 2, 8, tzinfo=dt.UTC)
    assert set(arts["container"]) == {"widgets"}


def test_bare_clone_gives_the_same_rows(repo: Path, imported, tmp_path: Path) -> None:
    bare = tmp_path / "widgets.git"
    subprocess.run(["git", "clone", "-q", "--bare", "--no-local", str(repo), str(bare)],
                   env=ENV, check=True)
    assert detect(bare) and detect(repo)
    r = import_git(bare)
    assert r.tables["artifacts"]["container"].unique().to_list() == ["widgets"]
    for table in ("interactions", "touches", "artifacts"):
        assert r.tables[table].drop("_rec").sort(r.tables[table].columns[0]).equals(
            imported.tables[table].drop("_rec").sort(imported.tables[table].columns[0])), table


def test_window_and_rev(repo: Path) -> None:
    r = import_git(repo, since="2024-03-03", until="2024-03-05T09:00:00Z")
    # git pre-filters (its --until is inclusive); the commit at exactly --until is skipped here.
    assert (r.counts.read, r.counts.skipped) == (3, 1)
    assert r.tables["artifacts"].height == 2    # the topic commit and the merge
    r2 = import_git(repo, rev="topic")
    assert r2.counts.read == 2
    with pytest.raises(InputError, match="git log failed"):
        import_git(repo, rev="no-such-branch")


def test_saved_export_matches_direct_import(repo: Path, imported, tmp_path: Path) -> None:
    out = tmp_path / "widgets.gitlog"
    argv = git_log_argv(repo)
    env = {**ENV, "GIT_TERMINAL_PROMPT": "0"}
    with out.open("wb") as fh:
        subprocess.run(argv, cwd=repo, env=env, stdout=fh, check=True)
    r = import_git(out, repo_name="widgets", mailmap=repo / ".mailmap")
    assert r.tables["interactions"]["event_id"].sort().equals(
        imported.tables["interactions"]["event_id"].sort())
    cmd = export_command(repo)
    assert "log --no-color --no-ext-diff --no-textconv --no-renames --numstat" in cmd


def test_ingest_twice(repo: Path, tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    first = ingest(ws, import_git(repo), sha256="x")
    assert first.counts.imported == 4
    second = ingest(ws, import_git(repo), sha256="x")
    assert set(second.rows_added.values()) == {0} and second.counts.duplicate == 4


def test_body_text_not_stored(imported) -> None:
    for frame in imported.tables.values():
        for col in frame.columns:
            if frame.schema[col] == pl.String:
                assert not frame[col].drop_nulls().str.contains("must not be stored").any()
