"""``orgnet app``: the command line it runs, its defaults and its errors (no server started)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from orgnet import cli_app


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    cli_app.register(app)
    return app


def test_entry_script_is_packaged() -> None:
    script = cli_app.entry_script()
    assert script.name == "streamlit_app.py" and script.is_file()
    assert (script.parent / "_shared.py").is_file()
    assert (script.parent / "views" / "overview.py").is_file()


def test_streamlit_command_is_local_headless_and_private() -> None:
    cmd = cli_app.streamlit_command("127.0.0.1", 8765)
    assert cmd[:4] == [sys.executable, "-m", "streamlit", "run"]
    pairs = dict(zip(cmd[5::2], cmd[6::2], strict=False))
    assert pairs["--server.address"] == "127.0.0.1"
    assert pairs["--server.port"] == "8765"
    assert pairs["--server.headless"] == "true"
    assert pairs["--browser.gatherUsageStats"] == "false"


def test_app_command_defaults_and_environment(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    calls: list[tuple[list[str], dict[str, str]]] = []

    def fake_call(cmd: list[str], env: dict[str, str]) -> int:
        calls.append((cmd, env))
        return 0

    monkeypatch.setattr(subprocess, "call", fake_call)
    monkeypatch.delenv("ORGNET_WORKSPACE", raising=False)
    ws = tmp_path / "ws"
    result = CliRunner().invoke(_app(), ["app", "-w", str(ws)])
    assert result.exit_code == 0, result.output
    cmd, env = calls[0]
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.port") + 1] == "8501"
    assert env["ORGNET_WORKSPACE"] == str(ws.resolve())
    assert "ORGNET_APP_CONFIG" not in env

    cfg = tmp_path / "orgnet.toml"
    cfg.write_text('[app]\nhost = "127.0.0.2"\nport = 9001\n')
    result = CliRunner().invoke(_app(), ["app", "-w", str(ws), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    cmd, env = calls[1]
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.2"
    assert cmd[cmd.index("--server.port") + 1] == "9001"
    assert env["ORGNET_APP_CONFIG"] == str(cfg.resolve())

    result = CliRunner().invoke(_app(), ["app", "-w", str(ws), "--config", str(cfg),
                                         "--host", "127.0.0.1", "--port", "8600"])
    cmd, _ = calls[2]
    assert cmd[cmd.index("--server.port") + 1] == "8600"
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"


def test_app_command_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(subprocess, "call", lambda *a, **k: 0)
    result = CliRunner().invoke(_app(), ["app", "--config", str(tmp_path / "missing.toml")])
    assert result.exit_code != 0
    assert "no such file" in str(result.exception)
    result = CliRunner().invoke(_app(), ["app", "--port", "70000"])
    assert result.exit_code != 0
