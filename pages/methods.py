"""Methods and definitions: rendered from the constants the analysis uses, so it cannot drift from the code."""

from dashboard.entry import require_app

require_app()

import streamlit as st

from analysis import dictionary as dd
from analysis import survey
from analysis.outcomes import SESSION_REDUCTION_RULE
from analysis.schema import PHQ9
from dashboard import state, ui

ctx = state.context()
ui.page_header("Methods and definitions", ctx, "What every number in this dashboard means and how it is worked "
               "out. Everything on this page is generated from the same definitions the calculations use.")

# --- definitions
st.subheader("Who is counted, and the outcome definitions")
st.markdown("\n".join(f"- **{name}**: {rule}" for name, rule in dd.flag_rules()))
st.markdown("**The four outcome rates** (each with a Wilson 95% interval per group):")
ui.table(dd.rate_definitions_table(), "outcome-rate-definitions")
st.caption("Source: NHS Talking Therapies for anxiety and depression Manual (section 6, paired data and "
           "\"last available score\"; appendix \"Clinical cut-offs and reliable change index\").")

# --- thresholds
st.subheader("Measures, cut-offs and reliable change")
st.markdown(f"A participant is a **case** on a measure when the score is at or above its cut-off (PHQ-9: "
            f"{PHQ9.caseness:g} or more), and a change is **reliable** when it is at least the measure's reliable "
            f"change index (PHQ-9: {PHQ9.reliable_change:g} points). The MCID is the minimal clinically important "
            "difference, a fall of at least that many points (reported as a supplementary analysis).")
ui.table(dd.thresholds_table(), "measures-and-thresholds")

# --- methods
st.subheader("Statistical methods")
st.markdown(dd.GROUP_DIRECTION + " For continuous outcomes ANCOVA (last score adjusted for the first) is the "
            "primary analysis; the others are sensitivity analyses. Rates are compared by their difference with "
            "Fisher's exact test.")
methods = dd.methods_table()
for area, rows in methods.groupby("Area", sort=False):
    st.markdown(f"**{area}**")
    st.markdown("\n".join(f"- *{row['Method']}*: " + dd.method_sentence(row) for _, row in rows.iterrows()))
with st.expander("All methods as a table (download)"):
    ui.table(methods, "statistical-methods")

# --- data dictionary
st.subheader("Data dictionary")
st.markdown(f"A file can be **episode level** (one row per participant; required columns: "
            f"{dd.required_columns_text('episode')}) or **session level** (one row per participant per session; "
            f"required: {dd.required_columns_text('session')}). Session-level files are reduced to one row per "
            f"participant: {SESSION_REDUCTION_RULE[0].lower()}{SESSION_REDUCTION_RULE[1:]} "
            "Any other column is kept and can be used as a filter or subgroup.")
ui.table(dd.full_dictionary(), "data-dictionary")
st.caption("The same table is in data/sample/reference/data_dictionary.csv (made by python -m analysis.dictionary).")

# --- limitations
st.subheader("Limitations of the outcome evidence")
source_title = survey.SOURCE_TITLES[survey.PILOT_DOCUMENT]
for item in dd.PILOT_LIMITATIONS:
    st.markdown(f"**{item.title}.** {item.summary}")
    if item.quote:
        st.markdown(f"> “{item.quote}”\n>\n> — *{source_title}*, section “{item.source_section.rstrip(':')}”")

# --- survey
st.subheader("Survey samples and their limitations")
st.markdown(survey.methods_text())
