"""Physical activity in NHS Talking Therapies — evaluation dashboard (entry point).

    streamlit run app.py

A thin entry script: page config, the optional passcode, navigation and the shared
controls. Each page lives in ``pages/`` and only lays out what ``analysis/`` returns.
"""

from pathlib import Path

import streamlit as st

from dashboard import entry, navigation  # neither issues a Streamlit command: they may come before set_page_config

entry.mark_app_run()  # no Streamlit command: the pages rerun any run that did not come through here

# The tab icon ships with the app: a ":material/...:" page icon is fetched from a Google fonts host on
# every page load, which fails offline and sends traffic out of an NHS network.
PAGE_ICON = Path(__file__).parent / "assets" / "page_icon.png"

st.set_page_config(page_title="Physical activity in NHS Talking Therapies", page_icon=navigation.page_icon(PAGE_ICON),
                   layout="wide", initial_sidebar_state="expanded")

import dashboard.server_fixes  # noqa: E402
from dashboard import access, controls, operator_settings, presentation, ui  # noqa: E402  (after set_page_config)

dashboard.server_fixes.apply()  # reconnects without a file-watcher walk of sys.modules (dashboard/server_fixes.py)

if operator_settings.problem() is not None:  # a secrets file that cannot be read: closed (the server's log says why)
    st.error("The operator's settings file (`.streamlit/secrets.toml`) could not be read, so the dashboard stays "
             "closed until it is fixed. The server's log says why.", icon=":material/lock:")
    st.stop()
if not access.sign_in_ok():  # optional: [auth] in secrets.toml (st.login, e.g. Microsoft Entra ID)
    st.stop()
if not access.passcode_ok():
    st.stop()

# Made once per server process and copied for each run (dashboard/navigation.py): building twelve pages
# resolved twelve files on every rerun of every visitor.
PAGES = navigation.pages(Path(__file__).parent, lambda: {
    "Outcomes": [
        st.Page("pages/overview.py", title="Overview", icon=":material/home:", default=True),
        st.Page("pages/symptom_change.py", title="Symptom change", icon=":material/trending_down:", url_path="symptom_change"),
        st.Page("pages/recovery.py", title="Recovery and reliable change", icon=":material/check_circle:", url_path="recovery"),
        st.Page("pages/who_benefits.py", title="Who benefits", icon=":material/groups:", url_path="who_benefits"),
        st.Page("pages/adjusted.py", title="Accounting for who took part", icon=":material/balance:", url_path="adjusted"),
        st.Page("pages/sites.py", title="Sites", icon=":material/location_on:", url_path="sites"),
    ],
    "Context and planning": [
        st.Page("pages/survey.py", title="Survey findings", icon=":material/forum:", url_path="survey"),
        st.Page("pages/planning.py", title="Planning the next evaluation", icon=":material/calculate:", url_path="planning"),
        st.Page("pages/national.py", title="Against national figures", icon=":material/public:", url_path="national"),
    ],
    "Your data and exports": [
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
        st.Page("pages/export.py", title="Export and present", icon=":material/slideshow:", url_path="export"),
    ],
    "About": [
        st.Page("pages/methods.py", title="Methods and definitions", icon=":material/menu_book:", url_path="methods"),
    ],
})

presenting = presentation.is_presenting()  # ?present=true: the story full-screen, controls hidden
# Pages in the top bar, so the sidebar's shared controls are on the first screen of a projector.
page = st.navigation(PAGES, position="hidden" if presenting else "top")
controls.render_sidebar(page.url_path)  # also when presenting (hidden by CSS): the URL-bound filters must stay drawn
ui.table_style()  # how every static table wraps, once for the page (not once per table)
if presenting:
    presentation.render_presentation()
else:
    page.run()
