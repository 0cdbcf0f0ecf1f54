"""The dashboard's entry script: page config, the sidebar, and one router (``st.navigation``).

Run it with ``orgnet app -w WORKSPACE`` (or ``streamlit run app/streamlit_app.py`` with
``ORGNET_WORKSPACE`` set). A missing, empty or broken workspace gets a start page with the exact
commands to run instead of the analysis pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from app import _auth, _shared
from orgnet.config import Config
from orgnet.exceptions import OrgnetError

# Next to this script (not app.VIEWS_DIR: an editable install made before app/__init__.py existed
# imports `app` as a namespace package without the constants).
VIEWS_DIR = Path(__file__).resolve().with_name("views")

st.set_page_config(page_title="orgnet", page_icon=":material/hub:", layout="wide",
                   initial_sidebar_state="expanded")
# Static style only (no data): less empty space above the title, so a laptop screen shows the
# headline figures without scrolling.
st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.5rem;}</style>")


def _page(name: str, title: str, icon: str, *, default: bool = False) -> Any:
    return st.Page(str(VIEWS_DIR / f"{name}.py"), title=title, icon=icon, url_path=name,
                   default=default)


opts = None
config_error = None
cfg: Config | None
try:
    cfg = _shared.config()
except OrgnetError as exc:
    cfg = None
    config_error = str(exc)

if not _auth.signed_in(cfg):
    st.stop()

state = _shared.workspace_state()

if cfg is not None and state.state == "ready":
    try:
        opts = _shared.sidebar(state, cfg)
    except OrgnetError as exc:
        state = _shared.WorkspaceState(state.path, "broken", str(exc))

if config_error is not None:
    pages: Any = [_page("start", "Start", ":material/rocket_launch:", default=True)]
    st.session_state["_orgnet_config_error"] = config_error
elif state.state != "ready":
    st.session_state.pop("_orgnet_config_error", None)
    pages = [_page("start", "Start", ":material/rocket_launch:", default=True),
             _page("data", "Data", ":material/folder_open:")]
else:
    st.session_state.pop("_orgnet_config_error", None)
    aggregate_only = bool(cfg and cfg.privacy.aggregate_only)
    analysis_pages = [
        _page("overview", "Overview", ":material/dashboard:", default=True),
        _page("network", "Network", ":material/hub:"),
        _page("informal", "Informal vs formal", ":material/compare_arrows:"),
        _page("unit_matrix", "Unit matrix", ":material/grid_on:"),
        _page("blind_spots", "Blind spots", ":material/visibility_off:"),
        _page("gatekeeping", "Gatekeeping", ":material/gpp_maybe:"),
    ]
    if not aggregate_only:
        analysis_pages.append(_page("people", "People", ":material/person:"))
    analysis_pages += [_page("ownership", "Ownership", ":material/folder_shared:"),
                       _page("trends", "Trends", ":material/trending_up:")]
    pages = {"Analysis": analysis_pages,
             "Workspace": [_page("data", "Data", ":material/folder_open:"),
                           _page("export", "Export", ":material/download:")]}

st.navigation(pages).run()
