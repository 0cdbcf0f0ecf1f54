"""Optional sign-in for the dashboard: a shared password, or Streamlit's OpenID Connect login.

``[app] auth`` in orgnet.toml chooses: ``"none"`` (the default: the dashboard binds to 127.0.0.1
only), ``"password"`` (the password is read from the environment variable named by
``[app] password_env``, default ``ORGNET_APP_PASSWORD``, and compared in constant time), or
``"oidc"`` (``st.login()``; the identity provider is configured in ``.streamlit/secrets.toml``
``[auth]`` as Streamlit documents). Nothing from the workspace is read before sign-in succeeds.
"""

from __future__ import annotations

import hmac
import os

import streamlit as st

from orgnet.config import Config

__all__ = ["signed_in"]

_SESSION_KEY = "_orgnet_signed_in"


def signed_in(cfg: Config | None) -> bool:
    """Show the sign-in form when needed; True when the page may be shown."""
    mode = cfg.app.auth if cfg is not None else "none"
    if mode == "none":
        return True
    if mode == "oidc":
        return _oidc()
    return _password(cfg.app.password_env if cfg is not None else "ORGNET_APP_PASSWORD")


def _password(env_name: str) -> bool:
    expected = os.environ.get(env_name, "")
    if not expected:
        st.error(f"Password sign-in is configured but ${env_name} is not set on the server; "
                 "set it and restart `orgnet app`.")
        return False
    if st.session_state.get(_SESSION_KEY):
        return True
    st.title("orgnet")
    with st.form("orgnet-sign-in"):
        given = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in")
    if submitted:
        if hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
            st.session_state[_SESSION_KEY] = True
            st.rerun()
        st.error("Wrong password.")
    return False


def _oidc() -> bool:
    try:
        logged_in = bool(st.user.is_logged_in)
    except Exception:  # streamlit raises when [auth] is missing from secrets.toml
        st.error("OpenID Connect sign-in is configured (auth = \"oidc\") but "
                 ".streamlit/secrets.toml has no [auth] section; see Streamlit's authentication "
                 "documentation.")
        return False
    if logged_in:
        with st.sidebar:
            st.button("Sign out", on_click=st.logout)
        return True
    st.title("orgnet")
    st.button("Sign in", on_click=st.login)
    return False
