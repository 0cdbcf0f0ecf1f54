"""``orgnet demo``: the main job end to end on the bundled sample organisation.

Steps: find (or generate) the sample organisation, import every file into a fresh workspace
(:mod:`orgnet.pipeline`), analyze, write the report, and start the dashboard.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from orgnet.exceptions import OrgnetError

__all__ = ["find_sample_data", "fresh_workspace"]


def find_sample_data(start: Path | None = None) -> Path | None:
    """The bundled ``sample_data/`` folder (next to the source tree), if there is one."""
    candidates = [Path.cwd() / "sample_data", Path(__file__).resolve().parents[1] / "sample_data"]
    if start is not None:
        candidates.insert(0, start)
    for c in candidates:
        if (c / "hris.csv").is_file():
            return c
    return None


def fresh_workspace(path: Path) -> Path:
    """Remove a previous demo workspace (only one that looks like an orgnet workspace)."""
    if path.exists():
        if not (path / "meta.json").is_file():
            raise OrgnetError(f"{path} exists and is not an orgnet workspace; choose another --out")
        shutil.rmtree(path)
    return path
