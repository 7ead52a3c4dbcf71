"""Make every run go through ``app.py``, even a deep link on a fresh server.

Streamlit still has its first multipage mode ("MPA v1"): while the entry script has
not yet called ``st.navigation`` in this server process, a folder named ``pages/``
next to it is run directly. On a freshly started server, the very first visit being
a shared link such as ``/recovery?safe=true`` would then run ``pages/recovery.py``
alone — without the shared controls, the URL-bound filters or the passcode.

Every page therefore calls :func:`require_app` first. In that situation it switches
the legacy mode off and reruns, and the rerun goes through ``app.py`` to the same page
(each page's ``url_path`` equals its file name, as the legacy mode names it).

Streamlit decides the mode when a run *starts* (``PagesManager.uses_pages_directory``, one flag for
the process). When a room opens a deep link together on a fresh server, several runs start in the
legacy mode; the first page to call :func:`require_app` switches the flag off, so the flag alone could
not tell the others that they too were running without ``app.py``: they showed the page without the
passcode. ``app.py`` therefore marks each of its runs (:func:`mark_app_run`), and a page run that the
entry script did not mark reruns as well.

The same run identity keeps what a run works out once for all its callers (:func:`once_per_run`: the
operator's settings, the page layout).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TypeVar

import streamlit as st

APP_SCRIPT = Path(__file__).resolve().parents[1] / "app.py"
# The runs app.py has started, as each run's own object (Streamlit makes a new parallel-fragment coordinator
# for every run); weakly held, so a finished run leaves nothing behind. No data, only run identities.
_runs_through_app: weakref.WeakSet = weakref.WeakSet()


def _this_run() -> tuple[object, object] | None:
    """This run's context and its own object (None outside a script run)."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    run = getattr(ctx, "parallel_coordinator", None) if ctx is not None else None
    return (ctx, run) if run is not None else None


_Made = TypeVar("_Made")
# What a run worked out once (its settings, its layout), by the run's own object: weakly held, so it goes with
# the run. Settings only, never data.
_per_run: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_per_run_lock = threading.Lock()


def once_per_run(name: str, build: Callable[[], _Made]) -> _Made:
    """``build()`` once per script run: every later call in the same run gets what the first made. Outside a
    script run (a test calling a function directly) every call builds."""
    this = _this_run()
    if this is None:
        return build()
    with _per_run_lock:
        made = _per_run.setdefault(this[1], {})
        if name in made:
            return made[name]
    value = build()  # outside the lock: a build may itself ask for another once-per-run value
    with _per_run_lock:
        return made.setdefault(name, value)


@cache
def _is_app(main_script_path: str) -> bool:
    return Path(main_script_path).resolve() == APP_SCRIPT


def mark_app_run() -> None:
    """Called by ``app.py`` at the start of every run: this run goes through the entry script."""
    this = _this_run()
    if this is not None:
        _runs_through_app.add(this[1])


def _run_without_app() -> bool:
    """True when this page is running without ``app.py`` having run first in the same run (the legacy mode)."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the legacy mode
        return False
    if getattr(PagesManager, "uses_pages_directory", False):
        return True
    this = _this_run()
    if this is None or this[1] in _runs_through_app:
        return False
    # Only where app.py is the entry script (a test may run a page file on its own, on purpose).
    return _is_app(str(this[0].pages_manager.main_script_path))


def require_app() -> None:
    if _run_without_app():
        from streamlit.runtime.pages_manager import PagesManager

        PagesManager.uses_pages_directory = False
        st.rerun()
