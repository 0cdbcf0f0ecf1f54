"""The command line: imports, status, identities, errors as one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
