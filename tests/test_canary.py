"""No content: a canary planted in every free-text field of every format reaches no output.

Each importer gets inputs whose free text (commit subjects and trailer comments, pull-request and
merge-request titles, bodies, review bodies and comments, Gerrit messages, chat messages, topics,
purposes, file comments, mail subjects and bodies, ownership-file comments, org-chart and alias
columns orgnet does not import) carries ``CANARY-<kind>-7f3a91``. Everything is imported into one
workspace, analysed and (when the report package is there) reported; then every Parquet file,
``meta.json``, every analysis output, every report file and the command line's output are searched.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from orgnet.analysis.registry import run_analyses
from orgnet.dataset import Dataset
from orgnet.importers._base import ImportResult
from orgnet.importers.aliases import import_aliases
from orgnet.importers.gerrit import import_gerrit
from orgnet.importers.git import import_git
from orgnet.importers.github import import_github
from orgnet.importers.gitlab import import_gitlab
from orgnet.importers.mattermost import import_mattermost
from orgnet.importers.mbox import import_mbox
from orgnet.importers.orgchart import import_orgchart
from orgnet.importers.owners import import_owners
from orgnet.importers.slack import import_slack
from orgnet.ingest import ingest
from orgnet.workspace import Workspace

from ._gitlog import GS, RS, US, git_record

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CANARY = re.compile(r"CANARY-[a-z_]+-7f3a91", re.IGNORECASE)
ANY_CANARY = re.compile(r"canary-|7f3a91", re.IGNORECASE)
#: JSON keys holding free text in the review and chat formats.
TEXT_KEYS = frozenset({
    "title", "body", "message", "text", "subject", "description", "commitMessage", "note",
    "purpose", "topic", "header", "comment", "status_message", "commit_message",
})


def canary(kind: str) -> str:
    return f"CANARY-{kind}-7f3a91"


def _plant(value: Any, mark: str) -> Any:
    """Append the canary to every free-text string of a JSON document."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in TEXT_KEYS and isinstance(v, str):
                out[k] = f"{v} {mark}" if v else mark
            else:
                out[k] = _plant(v, mark)
        return out
    if isinstance(value, list):
        return [_plant(v, mark) for v in value]
    return value


def _rewrite_tree(src: Path, dst: Path, kind: str) -> Path:
    """Copy fixtures, turning the fixture canaries into this kind's and planting more in JSON."""
    mark = canary(kind)
    if src.is_file():
        files = [(src, dst)]
    else:
        files = [(f, dst / f.relative_to(src)) for f in src.rglob("*") if f.is_file()]
    for f, target in files:
        target.parent.mkdir(parents=True, exist_ok=True)
        raw = f.read_bytes().replace(b"CANARY-7f3a", mark.encode())
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            target.write_bytes(raw)  # a deliberately badly encoded fixture: kept as it is
            continue
        if f.suffix == ".json":
            # Concatenated documents fail to parse: only the fixture canaries are renamed.
            with contextlib.suppress(ValueError):
                text = json.dumps(_plant(json.loads(text), mark), indent=1)
        elif f.suffix == ".jsonl":
            lines = []
            for line in text.splitlines():
                try:
                    lines.append(json.dumps(_plant(json.loads(line), mark)))
                except ValueError:
                    lines.append(line)  # a malformed line of the fixture stays malformed
            text = "\n".join(lines) + "\n"
        target.write_text(text, encoding="utf-8")
    return dst


# -- inputs per importer -------------------------------------------------------------------------

ORGCHART = """employee_id,full_name,work_email,manager_employee_id,department,team,title,notes
E1,Ana Ruiz,ana@acme.example,E3,Engineering,Platform,Engineer,{c} private note
E2,Ben Okafor,ben@acme.example,E3,Engineering,Platform,Engineer,{c}
E3,Dana Boss,dana@acme.example,,Engineering,Data,Manager,{c} performance concerns
E4,Eve Poe,eve@acme.example,E3,Engineering,Data,Engineer,{c}
E5,Dan Roe,dan@acme.example,E3,Engineering,Data,Engineer,{c}
"""


def write_git_log(path: Path) -> Path:
    c = canary("git")
    text = "".join([
        git_record("a" * 40, "", "Ana Ruiz", "ana@acme.example", "2024-05-01T10:00:00+00:00",
                   f"Add widget {c}", [f"Reviewed-by: Ben Okafor <ben@acme.example> # {c}",
                                       f"Fixes: 0123456789ab (\"{c}\")", f"Note: {c}",
                                       f"Tested-by: Dan Roe <dan@acme.example> ({c})"],
                   ["3\t1\tsrc/widget.py"]),
        git_record("b" * 40, "a" * 40, "Ben Okafor", "ben@acme.example",
                   "2024-05-02T10:00:00+00:00", f"{c}: fix widget",
                   [f"Acked-by: Ana Ruiz <ana@acme.example> # {c}",
                    f"Co-authored-by: Eve Poe <eve@acme.example> {c}"],
                   ["1\t1\tsrc/widget.py", "2\t0\tsrc/data.py"]),
        git_record("c" * 40, "b" * 40, "Eve Poe", "eve@acme.example",
                   "2024-05-03T10:00:00+00:00", f"Data {c}", [], ["1\t1\tsrc/data.py"]),
        # A broken record (the subject must not reach the rejects either).
        RS + "zzz" + US + f"broken {c}" + GS + "\n",
    ])
    path.write_text(text, encoding="utf-8")
    return path


def make_git_repo(path: Path) -> Path:
    c = canary("gitrepo")
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(path.parent),
           "GIT_AUTHOR_DATE": "2024-05-01T10:00:00+00:00",
           "GIT_COMMITTER_DATE": "2024-05-01T10:00:00+00:00"}
    path.mkdir()

    def git(*args: str, name: str = "Ana Ruiz", email: str = "ana@acme.example") -> None:
        subprocess.run(["git", "-c", f"user.name={name}", "-c", f"user.email={email}",
                        "-c", "commit.gpgsign=false", *args], cwd=path, env=env, check=True,
                       capture_output=True)

    git("init", "-q", "-b", "main")
    (path / "README.md").write_text(f"{c} file content\n")
    git("add", "README.md")
    git("commit", "-q", "-m", f"Initial {c}\n\nBody text {c}\n\n"
        f"Reviewed-by: Ben Okafor <ben@acme.example> # {c}\n"
        f"Signed-off-by: Ana Ruiz <ana@acme.example>\n")
    (path / "src").mkdir()
    (path / "src" / "data.py").write_text(f"# {c}\n")
    git("add", "src/data.py")
    git("commit", "-q", "-m", f"Data {c}\n\n{c} body\n\nCo-authored-by: Eve Poe "
        "<eve@acme.example>\n", name="Dan Roe", email="dan@acme.example")
    git("tag", "-a", "v1", "-m", f"tag message {c}")
    return path


def write_mbox(path: Path) -> Path:
    c = canary("mbox")
    base = _rewrite_tree(FIXTURES / "mbox" / "list.mbox", path.parent / "fixture.mbox", "mbox")
    extra = (
        "From ana@acme.example Wed May  1 10:00:00 2024\n"
        "From: Ana Ruiz <ana@acme.example>\n"
        "To: dev@lists.acme.example\n"
        f"Subject: [PATCH] widget: {c}\n"
        "Date: Wed, 01 May 2024 10:00:00 +0000\n"
        "Message-ID: <p1@acme.example>\n"
        "\n"
        f"Patch description {c}\n"
        "---\n"
        " src/widget.py | 2 +-\n"
        "\n"
        "From ben@acme.example Wed May  1 11:00:00 2024\n"
        "From: Ben Okafor <ben@acme.example>\n"
        f"Subject: Re: [PATCH] widget: {c}\n"
        "Date: Wed, 01 May 2024 11:00:00 +0000\n"
        "Message-ID: <r1@acme.example>\n"
        "In-Reply-To: <p1@acme.example>\n"
        "\n"
        f"> Patch description {c}\n"
        f"Looks good {c}, see acme/widgets#3\n"
        "\n"
        f"Reviewed-by: Ben Okafor <ben@acme.example> # {c}\n"
        "\n"
    )
    path.write_text(base.read_text(encoding="utf-8") + "\n" + extra, encoding="utf-8")
    return path


def write_owners(folder: Path) -> list[tuple[Path, str]]:
    c = canary("owners")
    folder.mkdir()
    co = folder / "CODEOWNERS"
    co.write_text(f"# {c} header comment\n*.py @ana-r @acme/platform  # {c} trailing\n"
                  f"docs/ ben@acme.example\n# {c}\n", encoding="utf-8")
    maint = folder / "MAINTAINERS"
    maint.write_text(
        f"List of maintainers {c}\n\n"
        "WIDGET SUBSYSTEM\n"
        "M:\tAna Ruiz <ana@acme.example>\n"
        "R:\tBen Okafor <ben@acme.example>\n"
        f"S:\tMaintained {c}\n"
        f"W:\thttps://{c}.example\n"
        "F:\tsrc/widget.py\n"
        f"K:\t{c}\n"
        f"N:\t{c}\n", encoding="utf-8")
    k8s = _rewrite_tree(FIXTURES / "owners" / "k8s", folder / "k8s", "owners")
    for f in k8s.rglob("OWNERS*"):
        f.write_text(f"# {c} yaml comment\n" + f.read_text(encoding="utf-8"), encoding="utf-8")
    chromium = _rewrite_tree(FIXTURES / "owners" / "chromium", folder / "chromium", "owners")
    for f in chromium.rglob("OWNERS"):
        f.write_text(f"# {c} comment\n" + f.read_text(encoding="utf-8"), encoding="utf-8")
    authors = folder / "AUTHORS"
    authors.write_text((FIXTURES / "owners" / "AUTHORS").read_text(encoding="utf-8")
                       + f"\n# {c}\n", encoding="utf-8")
    return [(co, "codeowners"), (maint, "maintainers"), (k8s, "owners"),
            (k8s / "OWNERS_ALIASES", "owners_aliases"), (chromium, "owners"), (authors, "authors")]


def build_inputs(tmp: Path) -> list[tuple[str, ImportResult]]:
    """Every importer on canary-laden inputs."""
    out: list[tuple[str, ImportResult]] = []
    chart = tmp / "hris.csv"
    chart.write_text(ORGCHART.format(c=canary("orgchart")), encoding="utf-8")
    out.append(("orgchart", import_orgchart(chart)))
    aliases = tmp / "aliases.csv"
    aliases.write_text(f"person_id,source,handle,comment\nE1,github,ana-r,{canary('aliases')}\n"
                       f"E2,slack,U02BEN,{canary('aliases')}\n", encoding="utf-8")
    out.append(("aliases", import_aliases(aliases)))
    out.append(("git", import_git(write_git_log(tmp / "widgets.gitlog"), repo_name="acme/widgets")))
    out.append(("gitrepo", import_git(make_git_repo(tmp / "repo"), repo_name="acme/repo")))
    gh = _rewrite_tree(FIXTURES / "github", tmp / "github", "github")
    out.append(("github", import_github(gh / "perceval_github.jsonl")))
    out.append(("github", import_github(gh / "perceval_github_malformed.jsonl")))
    out.append(("github", import_github(gh / "rest")))
    gl = _rewrite_tree(FIXTURES / "gitlab", tmp / "gitlab", "gitlab")
    out.append(("gitlab", import_gitlab(gl / "perceval_gitlab.jsonl")))
    out.append(("gitlab", import_gitlab(gl / "perceval_gitlab_malformed.jsonl")))
    ge = _rewrite_tree(FIXTURES / "gerrit", tmp / "gerrit", "gerrit")
    for name in ("ssh_query.jsonl", "ssh_malformed.jsonl", "rest_changes.json",
                 "perceval_gerrit.jsonl"):
        out.append(("gerrit", import_gerrit(ge / name)))
    sl = _rewrite_tree(FIXTURES / "slack" / "export", tmp / "slack", "slack")
    out.append(("slack", import_slack(sl)))
    zpath = tmp / "slack.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in sorted(sl.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(sl).as_posix())
    out.append(("slack", import_slack(zpath)))
    mm = _rewrite_tree(FIXTURES / "mattermost" / "export.jsonl", tmp / "mm.jsonl", "mattermost")
    out.append(("mattermost", import_mattermost(mm)))
    out.append(("mbox", import_mbox(write_mbox(tmp / "dev.mbox"), list_name="dev")))
    for path, kind in write_owners(tmp / "owners"):
        out.append(("owners", import_owners(path, kind=kind, container="acme/widgets")))  # type: ignore[arg-type]
    return out


def _inputs_have_canaries(tmp: Path) -> int:
    """How many input files carry a canary (proves the planting worked)."""
    n = 0
    for f in tmp.rglob("*"):
        if f.is_file() and ".git" not in f.parts and CANARY.search(
                f.read_bytes().decode("utf-8", "replace")):
            n += 1
    return n


def _scan_file(path: Path) -> list[str]:
    """Canary hits in one output file (Parquet read column by column, others as bytes)."""
    if path.suffix == ".parquet":
        df = pl.read_parquet(path)
        hits = []
        for col in df.columns:
            if ANY_CANARY.search(col):
                hits.append(f"{path.name}: column name {col}")
            for v in df[col].drop_nulls().to_list():
                if ANY_CANARY.search(str(v)):
                    hits.append(f"{path.name}[{col}]: {str(v)[:80]}")
                    break
        return hits
    data = path.read_bytes().decode("utf-8", "replace")
    return [f"{path}: {m.group(0)}" for m in ANY_CANARY.finditer(data)][:3]


def _scan_tree(folder: Path) -> tuple[int, list[str]]:
    n, hits = 0, []
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.name != ".lock":
            n += 1
            hits.extend(_scan_file(f))
    return n, hits


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Workspace, list[str]]:
    tmp = tmp_path_factory.mktemp("trust")
    inputs = tmp / "inputs"
    inputs.mkdir()
    results = build_inputs(inputs)
    ws = Workspace(tmp / "ws", lock_timeout=30)
    for _kind, result in results:
        ingest(ws, result, sha256="x")
    return inputs, ws, sorted({k for k, _ in results})


def test_canaries_were_planted(imported: tuple[Path, Workspace, list[str]]) -> None:
    inputs, ws, kinds = imported
    assert kinds == sorted({"orgchart", "aliases", "git", "gitrepo", "github", "gitlab", "gerrit",
                            "slack", "mattermost", "mbox", "owners"})
    assert _inputs_have_canaries(inputs) >= 30
    # The imports did real work (a canary test on empty tables proves nothing).
    counts = ws.counts()
    assert counts["interactions"] > 100 and counts["ownership"] > 10 and counts["rejects"] > 5
    sources = set(ws.read("interactions")["source"].unique())
    assert {"git", "github", "gitlab", "gerrit", "slack", "mattermost", "mbox"} <= sources


def test_no_canary_in_the_workspace(imported: tuple[Path, Workspace, list[str]]) -> None:
    _inputs, ws, _ = imported
    n, hits = _scan_tree(ws.path)
    assert n >= 10
    assert hits == []


def test_no_canary_in_analysis_outputs(imported: tuple[Path, Workspace, list[str]],
                                       tmp_path: Path) -> None:
    _inputs, ws, _ = imported
    out = tmp_path / "analysis"
    run = run_analyses(Dataset.from_workspace(ws), unit_kind="team", out=out, min_group_size=1)
    assert run.frames
    n, hits = _scan_tree(out)
    assert n >= 5
    assert hits == []
    for name, frame in run.frames.items():
        assert not ANY_CANARY.search(str(frame.to_dicts())), name


def test_no_canary_in_report(imported: tuple[Path, Workspace, list[str]], tmp_path: Path) -> None:
    build = pytest.importorskip("orgnet.report.build")
    _inputs, ws, _ = imported
    report = build.build_report(ws, unit_kind="team")
    assert not ANY_CANARY.search(repr(report))
    try:
        render = __import__("orgnet.report.render", fromlist=["render_report"])
    except ImportError:
        pytest.skip("orgnet.report.render is not there yet: only the built report was checked")
    out = tmp_path / "report"
    render.render_report(report, out)
    n, hits = _scan_tree(out)
    assert n >= 1
    assert hits == []


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "ORGNET_LOG_LEVEL": "DEBUG"}
    return subprocess.run([sys.executable, "-m", "orgnet.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120, check=False)


def test_no_canary_through_the_command_line(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    chart = inputs / "hris.csv"
    chart.write_text(ORGCHART.format(c=canary("orgchart")), encoding="utf-8")
    log = write_git_log(inputs / "widgets.gitlog")
    slack = _rewrite_tree(FIXTURES / "slack" / "export", inputs / "slack", "slack")
    mbox = write_mbox(inputs / "dev.mbox")
    ws, out = tmp_path / "ws", tmp_path / "out"
    runs = [
        _cli("import", "orgchart", str(chart), "-w", str(ws), cwd=tmp_path),
        _cli("import", "git", str(log), "-w", str(ws), "--repo-name", "acme/widgets", cwd=tmp_path),
        _cli("import", "slack", str(slack), "-w", str(ws), cwd=tmp_path),
        _cli("import", "mbox", str(mbox), "-w", str(ws), cwd=tmp_path),
        _cli("status", "-w", str(ws), cwd=tmp_path),
        _cli("identities", "-w", str(ws), "--show", "all", "--csv", str(out / "ids.csv"),
             cwd=tmp_path),
        _cli("rejects", "-w", str(ws), "--limit", "500", cwd=tmp_path),
        _cli("analyze", "-w", str(ws), "--out", str(out / "analysis"), "--min-group-size", "1",
             cwd=tmp_path),
    ]
    for r in runs:
        assert r.returncode == 0, (r.args, r.stdout[-2000:], r.stderr[-2000:])
        assert not ANY_CANARY.search(r.stdout), (r.args, r.stdout)
        assert not ANY_CANARY.search(r.stderr), (r.args, r.stderr)
    assert "rejected" in runs[1].stdout  # the broken record was reported, without its text
    n, hits = _scan_tree(ws)
    m, hits2 = _scan_tree(out)
    assert n >= 5 and m >= 5
    assert hits + hits2 == []
    shutil.rmtree(inputs)
