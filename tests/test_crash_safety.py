"""Crash safety: SIGKILL at random points never corrupts the workspace; writers are serialised.

``orgnet import git`` and ``orgnet analyze`` run as subprocesses and are killed with SIGKILL after a
random delay between 0 and their measured run time (seeded RNG). After every kill the workspace must
validate and hold exactly the state before the import or the state after it (row counts per table
and ``meta.json`` generation), and a normal import must then succeed and reach the state after.
Three processes importing different files at once must all land, with counts that add up.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orgnet.importers.git import import_git
from orgnet.ingest import ingest
from orgnet.workspace import Workspace

from ._gitlog import GS, RS, US

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL semantics are POSIX")

KILLS_IMPORT = 15
KILLS_ANALYZE = 10  # analyze has a fixed start-up cost of a few seconds
SEED = 20240521
ORGCHART = "employee_id,full_name,work_email,manager_employee_id,team\n" + "".join(
    f"E{i},Person Number{i},p{i}@acme.example,{'' if i == 0 else 'E0'},team{i % 4}\n"
    for i in range(40)
)


def write_log(path: Path, *, commits: int, offset: int = 0) -> Path:
    """A saved ``git log`` with ``commits`` commits by 40 people, with trailers and numstat."""
    parts = []
    prev = ""
    for n in range(commits):
        i = (n * 7 + offset) % 40
        j = (i + 1 + n % 5) % 40
        sha = f"{n + offset * 100000:040x}"
        when = f"2024-0{1 + n % 6}-{1 + n % 27:02d}T10:{n % 60:02d}:00+00:00"
        head = US.join([sha, prev, f"Person Number{i}", f"p{i}@acme.example", f"Person Number{i}",
                        f"p{i}@acme.example", when, f"Person Number{i}", f"p{i}@acme.example",
                        when, f"change {n}",
                        f"Reviewed-by: Person Number{j} <p{j}@acme.example>\n"])
        parts.append(RS + head + GS + f"\n\n{n % 9 + 1}\t{n % 3}\tsrc/mod{n % 50}/file{n % 7}.py\n"
                     f"1\t1\tdocs/{n % 11}.md\n")
        prev = sha
    path.write_text("".join(parts), encoding="utf-8")
    return path


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "orgnet.cli", *args]


def state(ws: Workspace) -> tuple[int, dict[str, int], int]:
    """(generation, row counts, number of logged imports) after validating every table."""
    ws.validate()
    meta = ws.meta()
    return int(meta["generation"]), ws.counts(), len(meta["imports"])


def run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    return time.perf_counter() - started


def kill_after(args: list[str], delay: float, env: dict[str, str]) -> int | None:
    """Start ``args``, SIGKILL it after ``delay`` s; its return code if it finished first."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    try:
        return proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("crash")
    env = {**os.environ, "NO_COLOR": "1"}
    chart = tmp / "hris.csv"
    chart.write_text(ORGCHART, encoding="utf-8")
    log = write_log(tmp / "widgets.gitlog", commits=1200)
    base = tmp / "base"
    run(cli("import", "orgchart", str(chart), "-w", str(base)), env)
    after = tmp / "after"
    shutil.copytree(base, after)
    import_seconds = run(cli("import", "git", str(log), "-w", str(after), "--repo-name", "acme/w"),
                         env)
    analyze_seconds = run(cli("analyze", "-w", str(after), "--out", str(tmp / "out0")), env)
    return {
        "tmp": tmp, "env": env, "log": log, "base": base, "after": after,
        "old": state(Workspace(base)), "new": state(Workspace(after)),
        "import_seconds": import_seconds, "analyze_seconds": analyze_seconds,
    }


def test_states_differ(setup: dict[str, object]) -> None:
    old, new = setup["old"], setup["new"]
    assert isinstance(old, tuple) and isinstance(new, tuple)
    assert new[0] == old[0] + 1 and new[1]["interactions"] >= 2400 and old[1]["interactions"] == 0


def test_sigkill_during_import(setup: dict[str, object]) -> None:
    tmp, env, log = Path(str(setup["tmp"])), setup["env"], Path(str(setup["log"]))
    assert isinstance(env, dict)
    old, new = setup["old"], setup["new"]
    typical = float(str(setup["import_seconds"]))
    rng = random.Random(SEED)
    outcomes = {"old": 0, "new": 0}
    for k in range(KILLS_IMPORT):
        ws_path = tmp / f"kill-import-{k}"
        shutil.copytree(Path(str(setup["base"])), ws_path)
        delay = rng.uniform(0, typical)
        kill_after(cli("import", "git", str(log), "-w", str(ws_path), "--repo-name", "acme/w"),
                   delay, env)
        ws = Workspace(ws_path, lock_timeout=10)
        got = state(ws)
        assert got in (old, new), (k, delay, got)
        outcomes["old" if got == old else "new"] += 1
        # Left-over temporary part files are garbage; the next writer removes them.
        summary = ingest(ws, import_git(log, repo_name="acme/w"), sha256="again")
        assert summary.counts.adds_up()
        after = state(ws)
        assert after[1] == new[1], (k, delay)  # type: ignore[index]
        assert not any(p.name.endswith(".tmp") for p in (ws_path / "tables").iterdir())
        shutil.rmtree(ws_path)
    print(f"import kills: {outcomes}")
    assert outcomes["old"] >= 1  # some kills landed before the commit point


def test_sigkill_during_analyze(setup: dict[str, object]) -> None:
    tmp, env = Path(str(setup["tmp"])), setup["env"]
    assert isinstance(env, dict)
    new = setup["new"]
    after = Path(str(setup["after"]))
    typical = float(str(setup["analyze_seconds"]))
    rng = random.Random(SEED + 1)
    truncated = 0
    for k in range(KILLS_ANALYZE):
        out = tmp / f"kill-analyze-{k}"
        kill_after(cli("analyze", "-w", str(after), "--out", str(out)), rng.uniform(0, typical), env)
        assert state(Workspace(after)) == new  # analyze never writes the workspace
        findings = out / "findings.json"
        if findings.is_file():
            try:
                json.loads(findings.read_text(encoding="utf-8"))
            except ValueError:
                truncated += 1  # findings.json is not written atomically (reported)
    # A normal run afterwards succeeds and overwrites whatever a killed run left.
    run(cli("analyze", "-w", str(after), "--out", str(tmp / "kill-analyze-0")), env)
    json.loads((tmp / "kill-analyze-0" / "findings.json").read_text(encoding="utf-8"))
    print(f"analyze kills: {KILLS_ANALYZE}, truncated findings.json: {truncated}")
    assert truncated <= KILLS_ANALYZE


def test_concurrent_imports_are_serialised(setup: dict[str, object]) -> None:
    tmp, env = Path(str(setup["tmp"])), setup["env"]
    assert isinstance(env, dict)
    logs = [write_log(tmp / f"repo{i}.gitlog", commits=400, offset=i + 1) for i in range(3)]
    ws_path = tmp / "concurrent"
    shutil.copytree(Path(str(setup["base"])), ws_path)
    procs = [subprocess.Popen(cli("import", "git", str(p), "-w", str(ws_path),
                                  "--repo-name", f"acme/repo{i}"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
             for i, p in enumerate(logs)]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode(errors="replace")
    ws = Workspace(ws_path)
    gen, counts, n_imports = state(ws)
    old = setup["old"]
    assert isinstance(old, tuple)
    assert gen == old[0] + 3 and n_imports == old[2] + 3
    # The same three imports one after another give the same tables.
    seq = Workspace(tmp / "sequential")
    shutil.copytree(Path(str(setup["base"])), seq.path)
    for i, p in enumerate(logs):
        ingest(seq, import_git(p, repo_name=f"acme/repo{i}"), sha256=str(i))
    assert counts == seq.counts()
    assert counts["interactions"] == sum(
        import_git(p, repo_name=f"acme/repo{i}").tables["interactions"].height
        for i, p in enumerate(logs))
