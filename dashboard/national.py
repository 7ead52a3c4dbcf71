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


def org_from_url(year: str, options: list[str]) -> str:
    """The organisation to start from: ``?nat_org=`` (an ODS code or a name) when it names one, else the
    one chosen earlier in this session, else England. Synced by hand rather than with ``bind``, so the
    link carries the code (``?nat_org=RW4``), not the displayed name."""
    wanted = str(st.query_params.get(ORG_KEY, "")).strip()
    if wanted:
        try:
            code = national.find_organisation(wanted, year).code
        except LookupError:
            code = None
        if code in options:
            return code
    remembered = st.session_state.get(_ORG_MEMORY)
    return remembered if remembered in options else national.ENGLAND_ORG.code


def org_to_url() -> None:
    code = st.session_state.get(ORG_KEY)
    st.session_state[_ORG_MEMORY] = code
    if code and code != national.ENGLAND_ORG.code:
        st.query_params[ORG_KEY] = code
    elif ORG_KEY in st.query_params:
        del st.query_params[ORG_KEY]
