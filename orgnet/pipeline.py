"""The main job as functions: import a sample organisation folder into a workspace.

Used by ``orgnet demo``, the recovery tests and the benchmarks, so all of them import the same
files the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from orgnet.ingest import ImportSummary, ingest
from orgnet.workspace import Workspace, file_sha256

__all__ = ["SAMPLE_FILES", "import_sample"]

#: Files of a generated organisation, in import order (org chart first so every handle resolves
#: against it): file name, source kind, ``module:function``, options. ``{repo}`` is filled from
#: ``truth.json``.
SAMPLE_FILES: Final[tuple[tuple[str, str, str, dict[str, Any]], ...]] = (
    ("hris.csv", "orgchart", "orgnet.importers.orgchart:import_orgchart", {}),
    ("CODEOWNERS", "owners", "orgnet.importers.owners:import_owners", {"container": "{repo}"}),
    ("git.log.gz", "git", "orgnet.importers.git:import_git", {"repo_name": "{repo}"}),
    ("github.jsonl.gz", "github", "orgnet.importers.github:import_github", {}),
    ("slack.zip", "slack", "orgnet.importers.slack:import_slack", {}),
)


def _function(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return fn


def sample_repo(folder: Path) -> str:
    """The repository name a generated organisation uses (from ``truth.json``)."""
    import json

    truth = folder / "truth.json"
    if truth.is_file():
        repo = json.loads(truth.read_text(encoding="utf-8")).get("github_repo")
        if isinstance(repo, str) and repo:
            return repo
    return "exampleco/monorepo"


def import_sample(
    folder: str | Path,
    workspace: Workspace | str | Path,
    *,
    on_import: Callable[[str, Path, ImportSummary], None] | None = None,
) -> list[ImportSummary]:
    """Import every file of a generated organisation folder into ``workspace``.

    Returns
    -------
    list[ImportSummary]
        One per file present, in import order.
    """
    src = Path(folder)
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    repo = sample_repo(src)
    out = []
    for name, _kind, target, options in SAMPLE_FILES:
        path = src / name
        if not path.exists():
            continue
        opts = {k: (v.format(repo=repo) if isinstance(v, str) else v) for k, v in options.items()}
        result = _function(target)(path, **opts)
        summary = ingest(ws, result, sha256=file_sha256(path))
        if on_import is not None:
            on_import(name, path, summary)
        out.append(summary)
    return out
