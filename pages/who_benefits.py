"""Who benefits: the PA − control difference within subgroups, and how the groups differed at the start."""

from dashboard.entry import require_app

require_app()

import streamlit as st

from analysis.compare import SMD_IMBALANCE, SUBGROUP_CAUTION, categorical_columns, subgroup_analysis
from analysis.figures import subgroups as sg
from analysis.outcomes import RATE_DEFINITIONS
from analysis.schema import GROUP_LABELS, GROUPS
from dashboard import state, ui

ctx = state.context()
analysis = ctx.analysis
ui.page_header("Who benefits", ctx, "Is the difference between the groups larger for some people than others? "
               "And how did the self-selected groups differ before treatment started?")

empty = [GROUP_LABELS[g] for g in GROUPS if analysis.n_finishers[g] == 0]
columns = state.session_memo(ctx, ("who_benefits", "columns"), lambda: categorical_columns(ctx.episodes))
measure_label = sg.outcome_label(ctx.measure).removeprefix("Change in ")

# --- the sections: one after another, or one at a time (the session's layout, dashboard/state.py)
section = ui.Sections("who_benefits", {
    "Subgroups": "Difference between the groups within each subgroup",
    "At the start": "How the groups differed at the start",
})

# --- subgroups, with their choices (bound to the URL so a view can be shared)
if (box := section("Subgroups")) is not None:
    with box:
        left, right = st.columns(2)
        column = left.selectbox("Compare within", columns, key="wb_column", format_func=sg.column_label,
                                bind="query-params", disabled=not columns,
                                help="Any category in the data with 2 to 12 values; baseline severity is the PHQ-9 band "
                                     "at the first score.")
        choices = [*RATE_DEFINITIONS, sg.CHANGE_OUTCOME]
        choice = right.selectbox("Outcome", choices, key="wb_outcome", bind="query-params",
                                 format_func=lambda c: ("Symptom change (measure chosen in the sidebar)"
                                                        if c == sg.CHANGE_OUTCOME else RATE_DEFINITIONS[c].label),
                                 help=f"Symptom change uses the sidebar's outcome measure, now {measure_label}.")
        outcome = sg.outcome_key(choice, ctx.measure)
        st.warning(SUBGROUP_CAUTION, icon=":material/warning:")
        if empty:
            ui.not_available(f"No one in the {' and '.join(empty).lower()} group finished treatment with the current "
                             "filters, so there is no difference to compare. Clear a filter in the sidebar.")
        elif column is None:
            ui.not_available("These data have no category column with 2 to 12 values (such as gender or age band) "
                             "to split by. Columns with a single value under the current filter are left out.")
        else:
            def build_subgroups():
                """Everything the subgroup section shows (memoised per data, filters and choices)."""
                result = subgroup_analysis(ctx.episodes, column, outcome, analysis.flags)
                overall = analysis.rates.get(outcome) if sg.is_rate(outcome) else analysis.measures.get(outcome)
                counts = sg.subgroup_counts(ctx.episodes, analysis.flags, column, outcome) if sg.is_rate(outcome) else None
                rows = sg.forest_rows(result, overall, ctx.safe, counts)
                return (result, sg.small_levels(rows), sg.forest_plot(rows, outcome, column, ctx.safe),
                        sg.forest_takeaway(rows, outcome, column, result.interaction), sg.subgroup_table(rows, outcome, ctx.safe))

            result, small, figure, takeaway, table = state.session_memo(
                ctx, ("who_benefits", "subgroups", column, outcome, ctx.safe), build_subgroups)
            ui.chart(figure, f"subgroups-{column}-{outcome}", ui.md_escape(takeaway))
            # Labels from the data file are escaped wherever a sentence goes through Markdown.
            st.markdown("**Interaction test** (does the difference vary across levels?): "
                        + ui.md_escape(sg.interaction_text(result.interaction)))
            st.caption(result.interaction.method)
            if small:
                st.warning(f"Fewer than {sg.SMALL_SUBGROUP} people per group — do not act on these subgroups:",
                           icon=":material/search:")
                st.text(", ".join(small))  # category labels come from the data file: shown as text
            ui.table(table, f"subgroups-{column}-{outcome}")
            unit = ("Differences are in percentage points (PA rate − control rate, Newcombe 95% CI)" if sg.is_rate(outcome)
                    else "Differences are in mean change, last − first (PA − control, Welch 95% CI); negative = the "
                         "physical activity group's symptoms fell more")
            st.caption(unit + ". The overall row is the whole comparison on this page's data.")

# --- baseline balance
if (box := section("At the start")) is not None:
    with box:
        st.markdown("Participants chose whether to take part in physical activity, so the groups may have differed before "
                    f"treatment. A standardised mean difference (SMD) beyond ±{SMD_IMBALANCE:g} is conventionally called an "
                    "imbalance (Austin 2009). Finishers only.")
        if empty:
            ui.not_available("Baseline balance needs finishers in both groups.")
        else:

            def build_balance():
                rows = sg.balance_rows(ctx.episodes, analysis.flags, ctx.safe)
                shown = bool(rows["smd"].notna().any())
                return (sg.love_plot(rows) if shown else None, sg.love_takeaway(rows), sg.balance_table(rows, ctx.safe))

            love, love_text, balance_table = state.session_memo(ctx, ("who_benefits", "balance", ctx.safe), build_balance)
            if love is not None:
                ui.chart(love, "baseline-balance", ui.md_escape(love_text))
            else:
                ui.not_available("No characteristic has an SMD for both groups (too few people, or hidden in "
                                 "presentation-safe mode).")
            ui.table(balance_table, "baseline-balance")
            st.caption("Physical activity and control columns: the mean first score (or sessions), or the share of each "
                       "group's finishers in that category. ANCOVA adjusts the symptom comparisons for the first score only; "
                       "the other differences are not adjusted for.")
