"""Start page: what to import when the workspace is missing, empty or broken."""

from __future__ import annotations

import streamlit as st

from app import _shared as shared

st.title("orgnet")
st.caption("Engineering organisation network analysis: the informal network of code review, "
           "commits and chat against the org chart.")
config_error = st.session_state.get("_orgnet_config_error")
if config_error:
    st.error("The configuration file could not be read.", icon=":material/error:")
    st.text(shared.plain(config_error))
    st.markdown("Fix the file (the message names the key), or start without it:")
    st.code("orgnet app -w WORKSPACE            # uses WORKSPACE/orgnet.toml when present\n"
            "orgnet app -w WORKSPACE --config other.toml", language="bash")
else:
    shared.guidance(shared.workspace_state())
