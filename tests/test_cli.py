"""The command line: imports, status, identities, errors as one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orgnet import __version__
from orgnet.cli import app

runner = CliRunner()


def _orgnet(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orgnet.cli", *args], capture_output=True,
                          text=True, check=False, env={**os.environ, **(env or {})})


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_import_status_identities_and_idempotent_reimport(fixtures: Path, tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    chart = str(fixtures / "orgchart" / "canonical.csv")
    first = runner.invoke(app, ["import", "orgchart", chart, "-w", ws])
    assert first.exit_code == 0, first.output
    assert "records read" in first.output and "imported" in first.output
    second = runner.invoke(app, ["import", "orgchart", chart, "-w", ws])
    assert second.exit_code == 0 and "unchanged" in second.output
    forced = runner.invoke(app, ["import", "orgchart", chart, "-w", ws, "--force"])
    assert forced.exit_code == 0
    assert "duplicate" in forced.output
    status = runner.invoke(app, ["status", "-w", ws])
    assert status.exit_code == 0
    for word in ("people", "memberships", "last imports", "orgchart"):
        assert word in status.output
    ident = runner.invoke(app, ["identities", "-w", ws, "--show", "all"])
    assert ident.exit_code == 0 and "identities" in ident.output


def test_workspace_from_environment(fixtures: Path, tmp_path: Path) -> None:
    ws = tmp_path / "envws"
    proc = _orgnet("import", "orgchart", str(fixtures / "orgchart" / "canonical.csv"),
                   env={"ORGNET_WORKSPACE": str(ws)})
    assert proc.returncode == 0, proc.stderr
    assert (ws / "meta.json").is_file()


def test_user_errors_are_one_line_without_traceback(tmp_path: Path, fixtures: Path) -> None:
    cases = [
        ("import", "orgchart", str(tmp_path / "missing.csv"), "-w", str(tmp_path / "w")),
        ("status", "-w", str(tmp_path / "nothing-here")),
        ("import", "orgchart", str(fixtures / "orgchart" / "canonical.csv"), "-w",
         str(tmp_path / "w"), "--column", "bogus=x"),
        ("import", "orgchart", str(fixtures / "orgchart" / "unknown_manager.csv"), "-w",
         str(tmp_path / "w"), "--strict"),
    ]
    for args in cases:
        proc = _orgnet(*args)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        lines = [x for x in proc.stderr.splitlines() if x.strip()]
        assert lines and lines[0].startswith("error:"), proc.stderr
    assert not (tmp_path / "w" / "meta.json").exists()


def test_rejects_command_lists_problems(fixtures: Path, tmp_path: Path) -> None:
    ws = str(tmp_path / "ws")
    runner.invoke(app, ["import", "orgchart", str(fixtures / "orgchart" / "manager_cycle.csv"),
                        "-w", ws])
    result = runner.invoke(app, ["rejects", "-w", ws])
    assert result.exit_code == 0 and "manager cycle" in result.output


def test_pseudonymized_import_from_the_command_line(fixtures: Path, tmp_path: Path) -> None:
    ws = tmp_path / "pws"
    chart = str(fixtures / "orgchart" / "canonical.csv")
    env = {"ORGNET_PSEUDONYM_KEY": "k" * 32}
    mapfile = tmp_path / "reidentify.csv"
    proc = _orgnet("import", "orgchart", chart, "-w", str(ws), "--pseudonymize",
                   "--reidentify-map", str(mapfile), env=env)
    assert proc.returncode == 0, proc.stderr
    stored = b"".join(p.read_bytes() for p in (ws / "tables").iterdir())
    for original in (b"ksato@example.com", b"Keiko Sato", b"E0107", b"U04KSATO"):
        assert original not in stored
    assert "ksato@example.com" in mapfile.read_text()
    plain = _orgnet("import", "orgchart", str(fixtures / "orgchart" / "workday.csv"), "-w",
                    str(ws), "--as-of", "2024-01-01")
    assert plain.returncode == 1 and "error:" in plain.stderr
    no_key = _orgnet("import", "orgchart", chart, "-w", str(tmp_path / "nokey"), "--pseudonymize",
                     env={"ORGNET_PSEUDONYM_KEY": ""})
    assert no_key.returncode == 1 and "key" in no_key.stderr.lower()


def test_slack_import_in_shards_gives_the_one_process_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``orgnet import slack --workers 2`` reads the export in shards in worker processes (here
    however small it is) and writes what one process writes."""
    from orgnet import pipeline
    from orgnet.schema import SCHEMAS
    from orgnet.workspace import Workspace

    from .conftest import SAMPLE_DATA

    export = str(SAMPLE_DATA / "slack.zip")
    one = runner.invoke(app, ["import", "slack", export, "-w", str(tmp_path / "one"),
                              "--workers", "1"])
    assert one.exit_code == 0, one.output
    monkeypatch.setattr(pipeline, "_SHARD_BYTES", 0)
    monkeypatch.setattr(pipeline, "_POOL_BYTES", 0)
    shards: list[int] = []
    real = pipeline._n_shards
    monkeypatch.setattr(pipeline, "_n_shards",
                        lambda t, p, w: (shards.append(real(t, p, w)), shards[-1])[1])
    reruns: list[str] = []  # a failed shard would be re-read here: none is
    real_run = pipeline._run_importer
    monkeypatch.setattr(pipeline, "_run_importer",
                        lambda t, p, o: (reruns.append(p.name), real_run(t, p, o))[1])
    many = runner.invoke(app, ["import", "slack", export, "-w", str(tmp_path / "many"),
                               "--workers", "2"])
    assert many.exit_code == 0, many.output
    assert shards and shards[0] >= 3 and reruns == []
    a, b = Workspace(tmp_path / "one"), Workspace(tmp_path / "many")
    for table in SCHEMAS:
        left, right = a.read(table), b.read(table)
        if table == "rejects":
            left, right = left.drop("import_id"), right.drop("import_id")
        assert left.equals(right), table
    assert a.read("interactions").height > 0
    # the number of processes is not an importer option: the import log's options agree
    assert ([e["options"] for e in a.imports()] == [e["options"] for e in b.imports()])
    bad = runner.invoke(app, ["import", "slack", export, "-w", str(tmp_path / "x"),
                              "--workers", "0"])
    assert bad.exit_code != 0
    # Without --workers, and through `import auto`: default_workers() processes.
    monkeypatch.setattr(pipeline, "default_workers", lambda: 2)
    calls: list[int] = []
    monkeypatch.setattr(pipeline, "_n_shards",
                        lambda t, p, w: (calls.append(w), real(t, p, w))[1])
    for command in (["slack"], ["auto"]):
        calls.clear()
        out = runner.invoke(app, ["import", *command, export, "-w",
                                  str(tmp_path / command[0])])
        assert out.exit_code == 0, out.output
        assert calls and set(calls) == {2}, command  # planned for default_workers() processes
        assert Workspace(tmp_path / command[0]).read("interactions").equals(
            a.read("interactions"))
    assert reruns == []
