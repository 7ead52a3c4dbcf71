"""The app's pages and tab icon, made once per server process instead of on every run.

``app.py`` runs on every rerun of every visitor. Two things it hands Streamlit were rebuilt each time:

* twelve ``st.Page`` objects. Each resolves its file (``Path.resolve``: a system call per folder),
  checks that the file exists and reads its name: in a py-spy profile of the app's shell (the sidebar and
  navigation, no page) under 50 visitors at once (``python -m benchmarks.load --protocol``) that was a
  tenth of the server's Python time. :func:`pages` builds them once per folder the app runs from, inside
  the first run (a page needs a run to resolve against), and gives each run its own shallow copies:
  ``st.navigation`` marks the page it returns as the one that may run, on the copy of that run only;
* the tab icon. A file path makes Streamlit read the PNG and register it with its media file manager on
  every run; :func:`page_icon` is the same image as a ``data:`` URL (read once; it ships with the app).
"""

from __future__ import annotations

import base64
import copy
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_templates: dict[Path, dict[str, list[Any]]] = {}


def pages(app_folder: Path, build: Callable[[], dict[str, list[Any]]]) -> dict[str, list[Any]]:
    """``build()`` (the sections of ``st.Page`` objects for ``st.navigation``) made once for ``app_folder``;
    each call returns fresh shallow copies of the same pages."""
    made = _templates.get(app_folder)
    if made is None:
        with _lock:
            made = _templates.get(app_folder)
            if made is None:
                made = _templates[app_folder] = build()
    return {section: [copy.copy(page) for page in listed] for section, listed in made.items()}


@cache
def page_icon(path: Path) -> str:
    """The PNG at ``path`` as a ``data:`` URL, which ``st.set_page_config`` passes to the browser as it is."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
