"""Overview: did the physical activity group do better, by how much, how sure can we be?"""

from dashboard.entry import require_app

require_app()

import pandas as pd
import streamlit as st

from analysis import formatting as fmt
from analysis.disclosure import SUPPRESS_BELOW
from analysis.figures.national import add_attribution
from analysis.figures.outcomes import rate_chart, rate_takeaway
from analysis.figures.theme import HALF_CHART_PX, THREE_FIFTHS_CHART_PX
from analysis.national import ATTRIBUTION, england_recovery
from analysis.schema import GROUP_LABELS, GROUPS, RECOVERY_STANDARD
from analysis.summary import rate_evidence_note
from analysis.survey import headline
from dashboard import benefit, shared_cache, state, ui
from dashboard import national as national_controls

ctx = state.context()
analysis = ctx.analysis
ui.page_header("Overview", ctx, "Does adding physical activity to talking therapy improve outcomes? "
               "The answer at a glance, with how sure we can be.")

# --- who is in the comparison
finishers, not_finished = analysis.n_finishers, analysis.n_not_finished
# Four tiles a row (a suppressed count is "<5": "fewer than 5" was cut at 1280 px), in one horizontal block (four
# columns were five blocks, sent to every visitor of a workshop's room).
tiles = st.container(horizontal=True)
for group in GROUPS:
    tiles.metric(f"{GROUP_LABELS[group]} finishers", ui.count_text(ctx, finishers[group], short=True),
                 help="Finished a course of treatment = 2 or more treatment sessions.")
tiles.metric("Not finished", ui.count_text(ctx, sum(not_finished.values()), short=True),
             help="Fewer than 2 treatment sessions: excluded from every outcome figure.")
tiles.metric("At caseness", ui.count_text(ctx, analysis.n_at_caseness, short=True),
             help="Finishers at clinical caseness at the start: the recovery denominator.")

if analysis.sites is not None and analysis.sites.n_sites >= 2:  # a programme: point to the site-by-site view
    st.info(f"These data pool **{analysis.sites.n_sites} sites**. The figures below combine every participant; "
            "the **Sites** page compares each site and pools them with a random-effects meta-analysis.",
            icon=":material/location_on:")

# --- the headline: outcomes beside the survey
recovery = analysis.rates["recovery"]
hidden = ui.hidden_groups(ctx, recovery.groups)
outcome_col, survey_col = st.columns([3, 2])
with outcome_col:
    st.subheader("Outcome headline")
    if hidden:
        ui.not_available("Presentation-safe mode hides the recovery verdict because a group's numbers are small.")
    else:
        st.markdown(f"#### {analysis.recovery_verdict(safe=ctx.safe)}")
    for key in ("phq9", "gad7"):
        if key in analysis.measures:
            st.markdown(analysis.measure_verdict(key))
    st.caption(analysis.small_sample_caution(safe=ctx.safe))
with survey_col:
    st.subheader("What services told us")
    survey = shared_cache.get_or_build(("survey-headline",), headline)  # published findings, not patient data
    st.markdown(f"**{survey.sentence}**")
    st.caption(f"{survey.detail} Source: stakeholder surveys, December 2022 report (see **Survey findings**).")

# --- the second headline: what remains after accounting for who took part (pages/adjusted.py)
def _adjusted_headline():
    from analysis.adjusted import adjust, adjusted_verdict
    from analysis.figures import adjusted as fa

    result = adjust(ctx.episodes, analysis.flags)
    if not result.available:
        return f"The adjusted comparison is not available: {result.reason}", None, "", True
    rows = fa.comparison_rows(analysis, result, ctx.safe)
    recovery_rows = rows[rows["outcome"] == "recovery"]
    figure = fa.effects_chart(recovery_rows, "rate", "Recovery difference before and after adjusting (95% CI)")
    return (adjusted_verdict(result, recovery.difference.estimate), figure, fa.effects_takeaway(recovery_rows, "rate"),
            bool(recovery_rows["hidden"].any()))


# --- the sections: one after another, or one at a time (the session's layout, dashboard/state.py)
section = ui.Sections("overview", {
    "After adjusting": "After accounting for who took part",
    "Recovery and symptoms": None,  # recovery against England's rate, and mean change in symptoms (no heading of its own)
    "Primary comparisons": "Primary comparisons",
    "Chance of benefit": benefit.CHANCE_HEADING,
    "Value for money": benefit.VALUE_HEADING,
})
if (box := section("After adjusting")) is not None:
    with box:
        adjusted_text, adjusted_figure, adjusted_takeaway, adjusted_hidden = state.session_memo(
            ctx, ("overview", "adjusted", ctx.safe), _adjusted_headline)
        if adjusted_hidden:
            ui.not_available("Presentation-safe mode hides the adjusted recovery comparison because a group's numbers are small.")
        else:
            adjusted_col, adjusted_chart_col = st.columns([2, 3])
            adjusted_col.markdown(f"#### {ui.md_escape(adjusted_text)}")
            adjusted_col.caption("Weighted for the baseline differences between the groups (doubly robust, effect in the "
                                 "physical activity group). Details, balance and how strong hidden differences would need to "
                                 "be: **Accounting for who took part**.")
            if adjusted_figure is not None:
                with adjusted_chart_col:
                    ui.chart(adjusted_figure, "recovery-difference-adjusted", ui.md_escape(adjusted_takeaway),
                             width_px=THREE_FIFTHS_CHART_PX)

# --- recovery against England's published rate for the chosen year (analysis.national)
if (box := section("Recovery and symptoms")) is not None:
    with box:
        chart_col, change_col = st.columns([1, 1])
        with chart_col:
            national_year = national_controls.chosen_year()
            england_rate, england_label = england_recovery(national_year)
            figure = state.session_memo(ctx, ("overview-recovery", hidden, national_year), lambda: add_attribution(
                rate_chart(recovery.groups, "Recovery rate by group (95% CI)", reference=england_rate,
                           reference_label=england_label, hidden=hidden), y=-0.1, width=60))
            ui.chart(figure, "recovery-rate-by-group", rate_takeaway(recovery.groups, "recovered", hidden) +
                     f" The dashed line is England's published recovery rate for {national_year} "
                     f"({england_rate * 100:.1f}%); the national standard is {fmt.percent(RECOVERY_STANDARD)}.",
                     width_px=HALF_CHART_PX)
            st.caption(f"England's rate: NHS England, {national_year} (change the year in the sidebar; more on "
                       f"**Against national figures**). {ATTRIBUTION}")
        with change_col:
            st.subheader("Mean change in symptoms")

            def mean_change() -> tuple[pd.DataFrame, str]:
                rows, sizes = [], []
                for key in ("phq9", "gad7"):
                    comparison = analysis.measures.get(key)
                    if comparison is None:
                        continue
                    row = {"Measure": comparison.label}
                    for group in GROUPS:
                        d = comparison.descriptives[group]
                        small = ctx.safe and d.n < SUPPRESS_BELOW
                        row[GROUP_LABELS[group]] = fmt.MISSING if small else (
                            f"{fmt.number(d.mean_change)} ({fmt.ci(d.ci95_change).removeprefix('95% CI ')})")
                        sizes.append(f"{comparison.label} {GROUP_LABELS[group].lower()} {ui.count_text(ctx, d.n)}")
                    rows.append(row)
                return pd.DataFrame(rows), "; ".join(sizes)

            change_table, change_sizes = state.session_memo(ctx, ("overview-mean-change", ctx.safe), mean_change)
            ui.static_table(change_table, alt="Mean change in symptoms")
            st.caption("Mean change = last − first score, with its 95% CI: negative means symptoms fell (improvement). "
                       "People with both scores: " + change_sizes + ".")

# --- primary tests
if (box := section("Primary comparisons")) is not None:
    with box:
        def primary_rows() -> pd.DataFrame:
            primary = [{"Outcome": "Recovery (finishers at caseness)",
                        "Analysis": "Difference in rates (Newcombe 95% CI), Fisher's exact test p",
                        "Estimate (PA − control)": "hidden" if hidden else f"{fmt.points(recovery.difference.estimate)} points",
                        "95% CI": "hidden" if hidden else fmt.ci(recovery.difference.ci95, "points").removeprefix("95% CI "),
                        "p": "hidden" if hidden else fmt.p_value(recovery.fisher.p).removeprefix("p = ")}]
            for key in ("phq9", "gad7"):
                comparison = analysis.measures.get(key)
                if comparison is None:
                    continue
                a = comparison.ancova
                primary.append({"Outcome": f"{comparison.label} last score", "Analysis": "ANCOVA adjusted for first score",
                                "Estimate (PA − control)": fmt.number(a.estimate, 1) if a.available else f"not available: {a.reason}",
                                "95% CI": fmt.ci(a.ci95).removeprefix("95% CI "),
                                "p": fmt.p_value(a.p).removeprefix("p = ")})
            return pd.DataFrame(primary)


        ui.table(state.session_memo(ctx, ("overview-primary", ctx.safe), primary_rows), "primary-comparisons")
        note = None if hidden else rate_evidence_note("Recovery", recovery)
        if note:  # the test and the interval printed in the same row disagree: say so where it happens
            st.info(note, icon=":material/balance:")
        st.caption("Each p value is two-sided. A p value above 0.05 means the data are compatible with no difference; "
                   "it does not show that there is none. See **Methods and definitions** for every method.")

# --- chance of benefit and value for money (analysis/bayes.py, analysis/value.py)
if (box := section("Chance of benefit")) is not None:
    with box:
        benefit.chance_section(ctx, ("recovery", "phq9", "gad7"), where="overview", chart_choice=False, heading=None)
if (box := section("Value for money")) is not None:
    with box:
        benefit.value_section(ctx, where="overview", heading=None)
