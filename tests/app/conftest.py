"""Fixtures for the dashboard tests: a workspace built from sample_data once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from orgnet.demo import find_sample_data
from orgnet.pipeline import import_sample

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "app" / "streamlit_app.py"

#: url path / views file -> page title.
PAGES: dict[str, str] = {
    "overview": "Overview",
    "network": "Network",
    "informal": "Informal vs formal",
    "unit_matrix": "Unit matrix",
    "blind_spots": "Blind spots",
    "gatekeeping": "Gatekeeping",
    "people": "People",
    "ownership": "Ownership",
    "trends": "Trends",
    "data": "Data",
    "export": "Export",
}


@pytest.fixture(scope="session")
def sample_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with every file of ``sample_data/`` imported."""
    sample = find_sample_data(ROOT / "sample_data")
    if sample is None:
        pytest.skip("sample_data/ is missing (run orgnet sample sample_data)")
    ws = tmp_path_factory.mktemp("app-ws") / "workspace"
    import_sample(sample, ws)
    return ws
