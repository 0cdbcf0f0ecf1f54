"""``orgnet app``: start the dashboard (Streamlit) on a workspace.

The dashboard lives in the ``app`` package next to ``orgnet`` (installed as package data); this
module only finds its entry script and runs ``streamlit run`` in a child process, so ``orgnet``
itself never imports Streamlit. The workspace and config reach the app through the environment
variables ``ORGNET_WORKSPACE`` and ``ORGNET_APP_CONFIG``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Final

import typer

from orgnet.exceptions import ConfigError, OrgnetError
from orgnet.workspace import resolve_workspace_path

__all__ = ["APP_CONFIG_ENV", "APP_WORKSPACE_ENV", "entry_script", "launch", "register", "streamlit_command"]

APP_WORKSPACE_ENV: Final = "ORGNET_WORKSPACE"
APP_CONFIG_ENV: Final = "ORGNET_APP_CONFIG"


def entry_script() -> Path:
    """The dashboard's entry script (``app/streamlit_app.py``)."""
    try:
        import app as app_package
    except ImportError as exc:
        raise OrgnetError("the dashboard package 'app' is not installed next to orgnet; "
                          "reinstall orgnet (pip install orgnet)") from exc
    script = Path(next(iter(app_package.__path__))) / "streamlit_app.py"
    if not script.is_file():
        raise OrgnetError(f"{script}: the dashboard entry script is missing; reinstall orgnet")
    return script


def streamlit_command(host: str, port: int, *, script: Path | None = None) -> list[str]:
    """The ``python -m streamlit run ...`` command line for ``host:port`` (headless, no telemetry)."""
    return [
        sys.executable, "-m", "streamlit", "run", str(script or entry_script()),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--global.developmentMode", "false",
        "--client.toolbarMode", "viewer",
    ]


def launch(
    workspace: Path | None = None,
    *,
    config: Path | None = None,
    host: str | None = None,
    port: int | None = None,
) -> int:
    """Run the dashboard on a workspace in the foreground; returns streamlit's exit code.

    Binds to ``host``/``port``, else orgnet.toml ``[app]``, else 127.0.0.1:8501.
    """
    from orgnet.config import load_config

    ws_path = resolve_workspace_path(workspace).resolve()
    if config is not None and not config.is_file():
        raise ConfigError(f"--config {config}: no such file")
    cfg = load_config(config, workspace=ws_path)
    bind_host = host or cfg.app.host
    bind_port = port if port is not None else cfg.app.port
    if not 0 < bind_port < 65536:
        raise ConfigError(f"--port {bind_port}: expected 1-65535")
    env = dict(os.environ)
    env[APP_WORKSPACE_ENV] = str(ws_path)
    if config is not None:
        env[APP_CONFIG_ENV] = str(config.resolve())
    else:
        env.pop(APP_CONFIG_ENV, None)
    typer.echo(f"orgnet dashboard on http://{bind_host}:{bind_port} (workspace {ws_path}); "
               "Ctrl+C stops it")
    try:
        return subprocess.call(streamlit_command(bind_host, bind_port), env=env)
    except KeyboardInterrupt:
        return 0


def register(app: typer.Typer) -> None:
    """Add the ``app`` command to the ``orgnet`` command line."""

    @app.command("app")
    def app_cmd(
        workspace: Annotated[
            Path | None,
            typer.Option("--workspace", "-w", help="Workspace directory (env ORGNET_WORKSPACE; "
                         "default ./orgnet-workspace).", envvar="ORGNET_WORKSPACE",
                         show_default=False),
        ] = None,
        config: Annotated[
            Path | None,
            typer.Option("--config", help="orgnet.toml to use (default: the workspace's "
                         "orgnet.toml)."),
        ] = None,
        host: Annotated[str | None, typer.Option(
            help="Address to listen on (default: orgnet.toml app.host, else 127.0.0.1). "
            "Anything but a loopback address exposes the data to the network.")] = None,
        port: Annotated[int | None, typer.Option(
            help="Port (default: orgnet.toml app.port, else 8501).")] = None,
    ) -> None:
        """Start the dashboard on a workspace (http://127.0.0.1:8501 by default)."""
        rc = launch(workspace, config=config, host=host, port=port)
        if rc not in (0, -2, 130):
            raise typer.Exit(rc)
