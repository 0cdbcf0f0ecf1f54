"""``orgnet demo``: the main job end to end on the bundled sample organisation.

Steps: find (or generate) the sample organisation, import every file into a fresh workspace, and
show what was imported. Later steps (analyze, report, dashboard) join as they land.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orgnet.exceptions import OrgnetError
from orgnet.importers._base import ImportResult

__all__ = ["DEMO_FILES", "DemoPlan", "demo_plan", "find_sample_data"]

#: Files of a sample organisation, in import order: the org chart first, so every later handle
#: resolves against it.
DEMO_FILES: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("hris.csv", "orgchart", "orgnet.importers.orgchart:import_orgchart", {}),
    ("CODEOWNERS", "owners", "orgnet.importers.owners:import_owners", {"container": "acme/monorepo"}),
    ("git.log.gz", "git", "orgnet.importers.git:import_git", {"repo_name": "acme/monorepo"}),
    ("github.jsonl.gz", "github", "orgnet.importers.github:import_github", {}),
    ("slack.zip", "slack", "orgnet.importers.slack:import_slack", {}),
)


@dataclass
class DemoPlan:
    """What the demo will import: (file, source kind, importer, options) per present file."""

    sample_dir: Path
    steps: list[tuple[Path, str, Callable[..., ImportResult], dict[str, Any]]] = field(
        default_factory=list
    )
    missing: list[str] = field(default_factory=list)


def find_sample_data(start: Path | None = None) -> Path | None:
    """The bundled ``sample_data/`` folder (next to the source tree), if there is one."""
    candidates = [Path.cwd() / "sample_data", Path(__file__).resolve().parents[1] / "sample_data"]
    if start is not None:
        candidates.insert(0, start)
    for c in candidates:
        if (c / "hris.csv").is_file():
            return c
    return None


def _load(target: str) -> Callable[..., ImportResult] | None:
    module, _, name = target.partition(":")
    try:
        mod = __import__(module, fromlist=[name])
    except ImportError:
        return None
    fn: Callable[..., ImportResult] | None = getattr(mod, name, None)
    return fn


def demo_plan(sample_dir: Path) -> DemoPlan:
    """Plan the imports of a sample organisation folder."""
    if not sample_dir.is_dir():
        raise OrgnetError(f"{sample_dir}: no sample organisation here; run orgnet sample {sample_dir}")
    plan = DemoPlan(sample_dir)
    for name, source, target, options in DEMO_FILES:
        path = sample_dir / name
        fn = _load(target)
        if not path.exists() or fn is None:
            plan.missing.append(name)
            continue
        plan.steps.append((path, source, fn, dict(options)))
    return plan


def fresh_workspace(path: Path) -> Path:
    """Remove a previous demo workspace (only one that looks like an orgnet workspace)."""
    if path.exists():
        if not (path / "meta.json").is_file():
            raise OrgnetError(f"{path} exists and is not an orgnet workspace; choose another --out")
        shutil.rmtree(path)
    return path
