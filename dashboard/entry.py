"""Make every run go through ``app.py``, even a deep link on a fresh server.

Streamlit still has its first multipage mode ("MPA v1"): while the entry script has
not yet called ``st.navigation`` in this server process, a folder named ``pages/``
next to it is run directly. On a freshly started server, the very first visit being
a shared link such as ``/recovery?safe=true`` would then run ``pages/recovery.py``
alone — without the shared controls, the URL-bound filters or the passcode.

Every page therefore calls :func:`require_app` first. In that situation it switches
the legacy mode off and reruns, and the rerun goes through ``app.py`` to the same page
(each page's ``url_path`` equals its file name, as the legacy mode names it).
"""

from __future__ import annotations

import streamlit as st


def require_app() -> None:
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the legacy mode: nothing to do
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
