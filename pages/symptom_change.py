"""Symptom change: how much did scores fall in each group, and is the difference more than chance?

Follows the sidebar's outcome measure (bound to the URL). ANCOVA is the primary analysis;
Welch, Mann–Whitney, Hedges' g and the permutation test are sensitivity analyses.
"""

from dashboard.entry import require_app

require_app()

import pandas as pd
import streamlit as st

from analysis import formatting as fmt
from analysis.compare import MeasureComparison, measure_for
from analysis.disclosure import FEWER_THAN, SUPPRESS_BELOW
from analysis.figures.outcomes import (
    change_distribution_chart,
    change_distribution_takeaway,
    first_last_chart,
    first_last_takeaway,
    slope_chart,
    slope_takeaway,
    trajectory_chart,
    trajectory_takeaway,
)
from analysis.schema import GROUP_LABELS, GROUPS
from analysis.summary import rate_evidence_note
from analysis.trajectories import direction_counts, session_scores, trajectory_summary
from dashboard import benefit, state, ui

SESSION_MIN_N = 3  # a session mean resting on fewer people is not drawn (too noisy to read)
HEDGES_G = "Hedges' g (standardised difference in change)"

ctx = state.context()
measure = measure_for(ctx.measure)
ui.page_header("Symptom change", ctx, "How much did symptom scores fall from the first to the last "
               "assessment in each group, and is the difference between the groups more than chance? "
               "Change = last − first, so a **negative** change is an improvement.")
st.markdown(f"**Measure shown: {measure.label} — {measure.full_name}.** Change it with *Outcome measure* "
            "in the sidebar.")

comparison: MeasureComparison | None = ctx.analysis.measures.get(ctx.measure)
if comparison is None:
    ui.not_available(f"No one in the current selection has {measure.label} scores, so there is nothing to "
                     "compare. Clear the filters or choose another measure in the sidebar.")
    st.stop()

descriptives = comparison.descriptives
n = {g: descriptives[g].n for g in GROUPS}
hidden = frozenset(g for g in GROUPS if ctx.safe and n[g] < SUPPRESS_BELOW)  # disclosure: means of n < 5 hidden
comparable = min(n.values()) >= 2 and not hidden

# --- the sentence at the top
if hidden:
    ui.not_available(f"Presentation-safe mode hides this comparison because a group has {FEWER_THAN} people "
                     f"with both {measure.label} scores.")
elif comparable:
    st.markdown(f"#### {ctx.analysis.measure_verdict(ctx.measure)}")
else:
    ui.not_available(f"{measure.label} change cannot be compared between the groups: "
                     f"{comparison.ancova.reason or 'a group has too few people with both scores.'}")
st.caption(f"Finishers with both a first and a last {measure.label} score: physical activity "
           f"{ui.count_text(ctx, n[GROUPS[0]])}, control {ui.count_text(ctx, n[GROUPS[1]])}. "
           + ctx.analysis.small_sample_caution(safe=ctx.safe))


def _mean_ci(mean: float | None, ci: tuple[float, float] | None, group: str) -> str:
    if group in hidden:
        return f"hidden ({FEWER_THAN})"
    if mean is None:
        return fmt.MISSING
    return fmt.number(mean) + (f" ({fmt.ci(ci).removeprefix('95% CI ')})" if ci else "")


def descriptive_rows() -> pd.DataFrame:
    adjusted = comparison.ancova.extra.get("adjusted_mean_last") or {}
    rows = []
    for group in GROUPS:
        d = descriptives[group]
        rows.append({
            "Group": GROUP_LABELS[group], "n": ui.count_text(ctx, d.n),
            "Mean first (95% CI)": _mean_ci(d.mean_first, d.ci95_first, group),
            "Mean last (95% CI)": _mean_ci(d.mean_last, d.ci95_last, group),
            "Mean change (95% CI)": _mean_ci(d.mean_change, d.ci95_change, group),
            "ANCOVA adjusted mean last": (("hidden" if hidden else fmt.number(adjusted[group]))
                                          if group in adjusted else "not available")})
    return pd.DataFrame(rows)


def mcid_section() -> None:
    mcid = comparison.mcid
    if measure.mcid is None or mcid is None:
        st.info(f"No minimal clinically important difference (MCID) is set for {measure.label}, so there is no "
                "MCID line or proportion for it.")
        return
    st.markdown(f"**Reached the MCID** (a fall of at least {fmt.number(measure.mcid, 0)} points, the dashed line)")

    def mcid_rows() -> tuple[pd.DataFrame, bool]:
        rows, any_hidden = [], False
        for group in GROUPS:
            r = mcid.groups[group]
            shown = ui.rate_text(ctx, r.count, r.denominator, r.rate)
            is_hidden = ui.rate_hidden(ctx, r)
            any_hidden |= is_hidden
            rows.append({"Group": GROUP_LABELS[group],
                         "Reached": f"{ui.count_text(ctx, r.count)} of {ui.count_text(ctx, r.denominator)}",
                         "Share": shown,
                         "Wilson 95% CI": fmt.MISSING if is_hidden or r.ci95 is None
                         else fmt.ci(r.ci95, "percent").removeprefix("95% CI ")})
        return pd.DataFrame(rows), any_hidden

    table, any_hidden = state.session_memo(ctx, ("mcid-table", ctx.measure, ctx.safe), mcid_rows)
    ui.table(table, f"{measure.label} MCID proportions", key="mcid-table")
    if any_hidden:
        st.caption(f"Presentation-safe mode hides the difference because a share rests on {FEWER_THAN} people.")
    elif mcid.difference.estimate is not None:
        st.markdown(f"Difference {fmt.points(mcid.difference.estimate)} points "
                    f"(Newcombe {fmt.ci(mcid.difference.ci95, 'points')}), Fisher's exact {fmt.p_value(mcid.fisher.p)}.")
        note = rate_evidence_note("Reaching the MCID", mcid)
        if note:  # the test and the interval disagree: say so where it happens
            st.info(note, icon=":material/balance:")
    else:
        ui.not_available(f"The MCID shares cannot be compared: {mcid.difference.reason}")


def comparison_rows() -> pd.DataFrame:
    out = []
    for row in comparison.table().itertuples(index=False):
        places = 2 if row.analysis == HEDGES_G else 1
        ci = (row.ci_low, row.ci_high) if pd.notna(row.ci_low) and pd.notna(row.ci_high) else None
        available = pd.notna(row.estimate)
        statistic = fmt.MISSING
        if pd.notna(row.statistic) and row.statistic_name:
            statistic = f"{row.statistic_name} = {fmt.number(row.statistic, 2)}"
            if pd.notna(row.df):
                statistic += f", df = {fmt.number(row.df, 1)}"
        out.append({
            "Role": "Primary analysis" if row.role == "Primary" else "Sensitivity analysis",
            "Analysis": row.analysis,
            "Estimate": fmt.number(row.estimate, places) if available else f"not available: {row.note}",
            "95% CI": fmt.ci(ci, decimals=places).removeprefix("95% CI ") if ci else fmt.MISSING,
            "Test statistic": statistic,
            "p": fmt.p_value(row.p).removeprefix("p = ") if pd.notna(row.p) else fmt.MISSING,
            "Method": row.method,
            "Note": row.note if (available and isinstance(row.note, str)) else "",
        })
    return pd.DataFrame(out)


# --- the sections: one after another, or one at a time (the session's layout, dashboard/state.py)
section = ui.Sections("symptom_change", {
    "First and last": "First and last scores",
    "Change": "Change from first to last score",
    "Each participant": "Each participant's first and last score",
    "Session by session": "Session by session",
    "Comparison": "Comparison between the groups",
    "Chance of benefit": benefit.CHANCE_HEADING,
})
if max(n.values()) == 0:
    no_scores = (f"No finisher in the current selection has both {measure.label} scores, so there are no "
                 "first and last scores to show.")
    if section.one_at_a_time:  # said in each of the three sections it empties
        for name in ("First and last", "Change", "Each participant"):
            if (box := section(name)) is not None:
                with box:
                    ui.not_available(no_scores)
    else:
        ui.not_available(no_scores)
else:
    # --- first and last means
    if (box := section("First and last")) is not None:
        with box:
            figure, takeaway = state.session_memo(ctx, ("first-last", ctx.measure, ctx.safe), lambda: (
                first_last_chart(comparison, measure, hidden, safe=ctx.safe),
                first_last_takeaway(comparison, hidden, safe=ctx.safe)))
            ui.chart(figure, f"{measure.label} first and last means", takeaway)
            ui.table(state.session_memo(ctx, ("first-last-table", ctx.measure, ctx.safe), descriptive_rows),
                     f"{measure.label} first and last means", key="first-last-table")
            st.caption("Means with t-based 95% CIs. The ANCOVA adjusted mean is each group's expected last score at the "
                       "average first score of everyone compared.")

    # --- distribution of change and the MCID
    if (box := section("Change")) is not None:
        with box:
            show_points = not ctx.safe
            figure, takeaway = state.session_memo(ctx, ("change", ctx.measure, ctx.safe), lambda: (
                change_distribution_chart(comparison, measure, show_points, hidden),
                change_distribution_takeaway(comparison, measure, show_points, hidden, safe=ctx.safe)))
            ui.chart(figure, f"{measure.label} change by group", takeaway)
            mcid_section()

    # --- each participant
    if (box := section("Each participant")) is not None:
        with box:
            if ctx.safe:
                st.info("Presentation-safe mode: individual participants are not drawn.")
            else:
                figure, takeaway = state.session_memo(ctx, ("slopes", ctx.measure), lambda: (
                    slope_chart(comparison, measure), slope_takeaway(comparison, direction_counts(comparison.scores))))
                ui.chart(figure, f"{measure.label} participant slopes", takeaway)

# --- session by session
if (box := section("Session by session")) is not None:
    with box:
        sessions = ctx.dataset.sessions
        if sessions is None:
            st.info("Session-by-session scores need a session-level file (one row per participant per session); "
                    "the data shown are episode-level (first and last scores only).")
        else:
            flags = ctx.analysis.flags
            min_n = SUPPRESS_BELOW if ctx.safe else SESSION_MIN_N

            def _trajectories():
                scores = session_scores(sessions, ctx.measure, flags.loc[flags["finished"], "participant_id"])
                if scores.empty:
                    return None
                summary = trajectory_summary(scores)
                return (trajectory_chart(summary, measure, None if ctx.safe else scores, min_n, safe=ctx.safe),
                        trajectory_takeaway(summary, measure, min_n, not ctx.safe, safe=ctx.safe))

            built = state.session_memo(ctx, ("trajectory", ctx.measure, ctx.safe), _trajectories)
            if built is None:
                ui.not_available(f"No session of a finisher in the current selection has a {measure.label} score.")
            else:
                ui.chart(built[0], f"{measure.label} by session", built[1])
                st.caption("Finishers only. Later sessions hold only the people who stayed that long, so the mean can "
                           "fall partly because of who remained, not only because people improved.")

# --- the comparison table
if (box := section("Comparison")) is not None:
    with box:
        if hidden:
            ui.not_available(f"Presentation-safe mode hides the comparisons because a group has {FEWER_THAN} people.")
        else:
            ui.table(state.session_memo(ctx, ("comparison-table", ctx.measure), comparison_rows),
                     f"{measure.label} comparison table", key="comparison-table")
            st.caption("Primary: ANCOVA of the last score adjusted for the first (negative = the physical activity group "
                       "ended lower). Sensitivity: Welch's test and the permutation test compare mean change; Mann–Whitney "
                       "compares the distributions of change (U is the physical activity group's); Hedges' g is the "
                       "difference in mean change in SD units. See **Methods and definitions**.")

# --- chance of benefit (analysis/bayes.py)
if (box := section("Chance of benefit")) is not None:
    with box:
        if ctx.measure in benefit.bayes.MEASURE_MID_DEFAULTS:
            benefit.chance_section(ctx, (ctx.measure,), where="symptom_change", heading=None)
        else:
            st.caption(f"The chance of benefit is worked out for PHQ-9 and GAD-7, which have a published minimal "
                       f"important difference; {measure.label} has none in the project's sources. Choose PHQ-9 or "
                       "GAD-7 in the sidebar.")
