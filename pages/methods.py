"""Methods and definitions: rendered from the constants the analysis uses, so it cannot drift from the code."""

from dashboard.entry import require_app

require_app()

import streamlit as st

from analysis import bayes as _bayes
from analysis import dictionary as dd
from analysis import national, survey
from analysis import value as _value
from analysis.adjusted import CANNOT_FIX, methods_lines
from analysis.outcomes import SESSION_REDUCTION_RULE
from analysis.schema import PHQ9
from analysis.sites import method_lines
from dashboard import state, ui

ctx = state.context()
ui.page_header("Methods and definitions", ctx, "What every number in this dashboard means and how it is worked "
               "out. Everything on this page is generated from the same definitions the calculations use.")

# --- the sections: one after another, or one at a time (the session's layout, dashboard/state.py)
section = ui.Sections("methods", {
    "Outcomes": "Who is counted, and the outcome definitions",
    "Measures": "Measures, cut-offs and reliable change",
    "Statistics": "Statistical methods",
    "Adjusting": "Adjusting for who chose physical activity",
    "Sites": "Several sites",
    "Data dictionary": "Data dictionary",
    "Limitations": "Limitations of the outcome evidence",
    "Survey": "Survey samples and their limitations",
    "National": "National figures and expected rates",
    "Benefit and value": "Chance of benefit and value for money",
})

# --- definitions
if (box := section("Outcomes")) is not None:
    with box:
        st.markdown("\n".join(f"- **{name}**: {rule}" for name, rule in dd.flag_rules()))
        st.markdown("**The four outcome rates** (each with a Wilson 95% interval per group):")
        ui.table(state.constant(("methods", "rates"), dd.rate_definitions_table), "outcome-rate-definitions")
        st.caption("Source: NHS Talking Therapies for anxiety and depression Manual (section 6, paired data and "
                   "\"last available score\"; appendix \"Clinical cut-offs and reliable change index\").")

# --- thresholds
if (box := section("Measures")) is not None:
    with box:
        st.markdown(f"A participant is a **case** on a measure when the score is at or above its cut-off (PHQ-9: "
                    f"{PHQ9.caseness:g} or more), and a change is **reliable** when it is at least the measure's reliable "
                    f"change index (PHQ-9: {PHQ9.reliable_change:g} points). The MCID is the minimal clinically important "
                    "difference, a fall of at least that many points (reported as a supplementary analysis).")
        ui.table(state.constant(("methods", "thresholds"), dd.thresholds_table), "measures-and-thresholds")

# --- methods
if (box := section("Statistics")) is not None:
    with box:
        st.markdown(dd.GROUP_DIRECTION + " For continuous outcomes ANCOVA (last score adjusted for the first) is the "
                    "primary analysis; the others are sensitivity analyses. Rates are compared by their difference with "
                    "Fisher's exact test.")
        methods = state.constant(("methods", "methods"), dd.methods_table)  # from the code's constants: made once
        method_lists = state.constant(("methods", "method-lists"), lambda: [
            (area, "\n".join(f"- *{row['Method']}*: " + dd.method_sentence(row) for _, row in rows.iterrows()))
            for area, rows in methods.groupby("Area", sort=False)])
        for area, listed in method_lists:
            st.markdown(f"**{area}**")
            st.markdown(listed)
        methods_box = ui.lazy_expander("All methods as a table (download)", "methods_open_table")
        if methods_box:  # drawn only while open
            with methods_box:
                ui.table(methods, "statistical-methods")

# --- adjusting for who chose physical activity (analysis/adjusted.py)
if (box := section("Adjusting")) is not None:
    with box:
        st.markdown("\n".join(f"- {line}" for line in methods_lines()))
        st.markdown("**What adjustment cannot fix**:\n" + "\n".join(f"- {line}" for line in CANNOT_FIX))

# --- several sites
if (box := section("Sites")) is not None:
    with box:
        st.markdown("When the data have a `site` column, each site is compared on its own and the sites are pooled "
                    "(the **Sites** page):\n" + "\n".join(f"- {line}" for line in method_lines()))

# --- data dictionary
if (box := section("Data dictionary")) is not None:
    with box:
        st.markdown(f"A file can be **episode level** (one row per participant; required columns: "
                    f"{dd.required_columns_text('episode')}) or **session level** (one row per participant per session; "
                    f"required: {dd.required_columns_text('session')}). Session-level files are reduced to one row per "
                    f"participant: {SESSION_REDUCTION_RULE[0].lower()}{SESSION_REDUCTION_RULE[1:]} "
                    "Any other column is kept and can be used as a filter or subgroup.")
        ui.table(state.constant(("methods", "dictionary"), dd.full_dictionary), "data-dictionary")
        st.caption("The same table is in data/sample/reference/data_dictionary.csv (made by python -m analysis.dictionary).")

# --- limitations
if (box := section("Limitations")) is not None:
    with box:
        source_title = survey.SOURCE_TITLES[survey.PILOT_DOCUMENT]
        for item in dd.PILOT_LIMITATIONS:
            st.markdown(f"**{item.title}.** {item.summary}")
            if item.quote:
                st.markdown(f"> “{item.quote}”\n>\n> — *{source_title}*, section “{item.source_section.rstrip(':')}”")

# --- survey
if (box := section("Survey")) is not None:
    with box:
        st.markdown(survey.methods_text())

# --- national figures (analysis.national)
if (box := section("National")) is not None:
    with box:
        st.markdown("- **Published rates**: NHS England's percentages; recovery and reliable recovery over finishers minus "
                    "those not at caseness, reliable improvement and deterioration over all finishers.\n"
                    f"- **Funnel plot**: {national.Funnel.method}\n"
                    f"- **Expected rates**: {national.CaseMix.method} Pilot values are matched to the published categories "
                    "by explicit tables; values that match none are listed and left out of both observed and expected.\n"
                    f"- **Disclosure control**: {national.ROUNDING_NOTE}")
        st.caption(national.ATTRIBUTION)

# --- chance of benefit and value for money (analysis/bayes.py, analysis/value.py)
if (box := section("Benefit and value")) is not None:
    with box:
        st.markdown("The **chance of benefit** is the Bayesian probability, given the data and a prior, that physical "
                    "activity is better than control (P(benefit)), and that it is better by at least the minimal important "
                    "difference, MID (P(benefit ≥ MID)). Benefit is a higher rate for recovery, reliable recovery and "
                    "reliable improvement, a lower rate for reliable deterioration, and a lower last score on PHQ-9 and "
                    "GAD-7. The MIDs can be changed wherever the chances are shown.")
        st.markdown("\n".join(f"- **{name}**: {text}" for name, text in _bayes.methods_items()))
        st.markdown(f"**Value for money.** {_value.VALUE_METHOD} {_value.NO_PUBLISHED_COST}")
        st.markdown("\n".join(f"- **{c.label}**: {c.text}." for c in _value.national_context().values()))
        st.caption(national.ATTRIBUTION)
