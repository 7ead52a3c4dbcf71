"""Optional passcode for shared or workshop deployments.

Set ``passcode = "..."`` in ``.streamlit/secrets.toml`` (or the host's secrets) to
turn it on; with no passcode configured the app is open. The comparison is in
constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hmac

import streamlit as st

_OK_KEY = "_passcode_ok"


def configured_passcode() -> str | None:
    try:
        value = st.secrets.get("passcode")
    except Exception:  # no secrets file at all
        return None
    return str(value) if value else None


def passcode_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def passcode_ok() -> bool:
    expected = configured_passcode()
    if expected is None or st.session_state.get(_OK_KEY):
        return True
    st.title("Physical activity in NHS Talking Therapies")
    with st.form("passcode"):
        given = st.text_input("Passcode", type="password")
        submitted = st.form_submit_button("Enter")
    if submitted:
        if passcode_matches(given, expected):
            st.session_state[_OK_KEY] = True
            st.rerun()
        st.error("That passcode is not right.")
    return False
