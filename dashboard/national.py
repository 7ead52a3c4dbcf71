"""The national-figures year and organisation the pages share (NHS England's published data).

The year lives in the sidebar (every page's reference line uses it) and in the URL
(``?nat_year=2023-24``); the organisation is chosen on the Against national figures page and kept in
the session (``?nat_org=RW4`` on that page). The published data are public, so
:mod:`analysis.national` caches them per process.
"""

from __future__ import annotations

import streamlit as st

from analysis import national

YEAR_KEY = "nat_year"
ORG_KEY = "nat_org"
_ORG_MEMORY = "_nat_org_chosen"  # a plain key: it survives pages where the organisation widget is not drawn


def year_options() -> list[str]:
    """Reporting years, newest first."""
    return list(reversed(national.years()))


def render_year_control() -> None:
    st.selectbox("National figures year", year_options(), key=YEAR_KEY, bind="query-params",
                 help="NHS England's published NHS Talking Therapies figures for this reporting year: the "
                      "reference line on the Overview and Recovery pages and the Against national figures page.")


def chosen_year() -> str:
    value = st.session_state.get(YEAR_KEY)
    return value if value in national.years() else national.latest_year()


def chosen_org() -> str:
    return st.session_state.get(ORG_KEY) or st.session_state.get(_ORG_MEMORY) or national.ENGLAND_ORG.code


def remember_org(code: str) -> None:
    st.session_state[_ORG_MEMORY] = code
