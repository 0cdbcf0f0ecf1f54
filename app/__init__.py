"""The orgnet dashboard (Streamlit).

``streamlit_app.py`` is the entry script (one router with ``st.navigation``); ``_shared.py`` holds
every cached computation and the sidebar; ``views/`` holds the thin pages. Start it with
``orgnet app -w WORKSPACE`` (see ``orgnet.cli_app``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = ["ENTRY_SCRIPT", "VIEWS_DIR"]

#: The script ``streamlit run`` executes.
ENTRY_SCRIPT: Final = Path(__file__).resolve().with_name("streamlit_app.py")
#: Folder of the page scripts.
VIEWS_DIR: Final = Path(__file__).resolve().with_name("views")
