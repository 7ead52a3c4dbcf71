"""Physical activity in NHS Talking Therapies — evaluation dashboard (entry point).

    streamlit run app.py

A thin entry script: page config, the optional passcode, navigation and the shared
controls. Each page lives in ``pages/`` and only lays out what ``analysis/`` returns.
"""

import streamlit as st

st.set_page_config(page_title="Physical activity in NHS Talking Therapies", page_icon="🏃",
                   layout="wide", initial_sidebar_state="expanded")

from dashboard import access, controls  # noqa: E402  (after set_page_config)

if not access.passcode_ok():
    st.stop()

PAGES = {
    "Outcomes": [
        st.Page("pages/overview.py", title="Overview", icon="🏠", default=True),
        st.Page("pages/symptom_change.py", title="Symptom change", icon="📉", url_path="symptom-change"),
        st.Page("pages/recovery.py", title="Recovery and reliable change", icon="✅", url_path="recovery"),
        st.Page("pages/who_benefits.py", title="Who benefits", icon="👥", url_path="who-benefits"),
    ],
    "Context and planning": [
        st.Page("pages/survey.py", title="Survey findings", icon="🗣️", url_path="survey"),
        st.Page("pages/planning.py", title="Planning the next evaluation", icon="🧮", url_path="planning"),
    ],
    "Your data and exports": [
        st.Page("pages/data.py", title="Data", icon="📄", url_path="data"),
        st.Page("pages/export.py", title="Export and present", icon="📤", url_path="export"),
    ],
    "About": [
        st.Page("pages/methods.py", title="Methods and definitions", icon="📘", url_path="methods"),
    ],
}

page = st.navigation(PAGES)
controls.render_sidebar()
page.run()
