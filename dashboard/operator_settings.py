"""The operator's ``secrets.toml``, read once per script run.

With no secrets file (the bundled set-up, most workshops) Streamlit looks for one on every read of
``st.secrets`` (it keeps only a file it found) and raises: each run read it for the passcode, the
sign-in, the workshop data set, the analyst passcode and the page layout, a dozen times a run, 3% of the
server's time for a room of 50 opening a page (py-spy). Here each run reads it once; the next run reads it
again, so a secrets file an operator adds or edits is seen as Streamlit itself would see it. A file that is
there but cannot be read (a typo, a folder in its place) is not "no settings": :func:`problem` says why, and
``app.py`` keeps the dashboard closed until it is fixed.

Kept per run (:func:`dashboard.entry.once_per_run`: weakly, by the run's own object): never in a session,
never written anywhere. Settings only; no data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import streamlit as st

from dashboard import entry

NO_SECRETS_FILE = "no-secrets-found"  # Streamlit's error_id when there is no secrets file at all
_logger = logging.getLogger(__name__)
_logged: set[str] = set()  # problems already in the server's log (settings files' errors only, never data)


def _read() -> tuple[Mapping[str, Any], str | None]:
    """The secrets, and why they could not be read (None when they could, or when there is no file at all)."""
    try:
        return st.secrets.to_dict(), None
    except Exception as error:  # noqa: BLE001 - every failure is a reason the app must say
        if getattr(error, "error_id", None) == NO_SECRETS_FILE:
            return {}, None  # none at all (the bundled set-up): no passcode, no sign-in, as configured
        problem = str(error)  # a file that does not parse, or a folder in its place: never "no passcode"
        if problem not in _logged:  # once, for the operator; the visitor is told only that it is closed
            _logged.add(problem)
            _logger.error("The dashboard stays closed: %s", problem)
        return {}, problem


def secrets() -> Mapping[str, Any]:
    """The secrets as this run sees them (nested sections as dicts); empty when there is no secrets file."""
    return entry.once_per_run("secrets", _read)[0]


def secret(name: str) -> Any:
    """One setting from ``secrets.toml`` (None when it is not set)."""
    return secrets().get(name)


def problem() -> str | None:
    """Why a secrets file that is there could not be read (Streamlit's message: the file and the line, never a
    value; written once to the server's log), or None. ``app.py`` then keeps every page closed: a passcode or
    sign-in the operator wrote in a file with a typo must not silently become no passcode at all."""
    return entry.once_per_run("secrets", _read)[1]
