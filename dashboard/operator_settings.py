"""The operator's ``secrets.toml``, read once per script run.

With no secrets file (the bundled set-up, most workshops) Streamlit looks for one on every read of
``st.secrets`` (it keeps only a file it found) and raises: each run read it for the passcode, the
sign-in, the workshop data set, the analyst passcode and the page layout, a dozen times a run, 3% of the
server's time for a room of 50 opening a page (py-spy). Here each run reads it once; the next run reads it
again, so a secrets file an operator adds or edits is seen as Streamlit itself would see it.

Kept per run (:func:`dashboard.entry.once_per_run`: weakly, by the run's own object): never in a session,
never written anywhere. Settings only; no data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from dashboard import entry


def _read() -> Mapping[str, Any]:
    try:
        return st.secrets.to_dict()
    except Exception:  # no secrets file at all (or one that does not parse: Streamlit says so where it is read)
        return {}


def secrets() -> Mapping[str, Any]:
    """The secrets as this run sees them (nested sections as dicts); empty when there is no secrets file."""
    return entry.once_per_run("secrets", _read)


def secret(name: str) -> Any:
    """One setting from ``secrets.toml`` (None when it is not set)."""
    return secrets().get(name)
