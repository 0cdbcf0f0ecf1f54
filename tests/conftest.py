"""Shared fixtures: the real-data folder and a fresh workspace per test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orgnet.workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("ORGNET_REALDATA", ROOT.parent / "shared" / "realdata"))
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE_DATA = ROOT / "sample_data"


@pytest.fixture
def realdata() -> Path:
    """``../shared/realdata``; the test is skipped with a reason when it is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real data not found at {REALDATA} (clone the project with ../shared beside it)")
    return REALDATA


@pytest.fixture
def fixtures() -> Path:
    """The folder of input fixtures."""
    return FIXTURES


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """An empty workspace in a temporary directory."""
    return Workspace(tmp_path / "ws", lock_timeout=30)
