"""Recovery and reliable change: the NHS Talking Therapies outcome rates, group by group."""

from dashboard.entry import require_app

require_app()

import re

import pandas as pd
import streamlit as st

from analysis import formatting as fmt
from analysis.compare import EXACT_ODDS_RATIO_MAX_N, METHODS, measure_for
from analysis.disclosure import FEWER_THAN
from analysis.figures.national import add_attribution
from analysis.figures.outcomes import (
    first_last_scatter,
    first_last_scatter_takeaway,
    outcome_categories_chart,
    outcome_categories_takeaway,
    rates_chart,
    rates_takeaway,
)
from analysis.national import ATTRIBUTION, rate_references
from analysis.outcomes import OUTCOME_CATEGORIES, RATE_DEFINITIONS, outcome_category_counts
from analysis.schema import (
    GROUP_LABELS,
    GROUP_PA,
    GROUPS,
    PAIRED_COMPLETENESS_STANDARD,
    RECOVERY_STANDARD,
    RELIABLE_IMPROVEMENT_REFERENCE,
)
from analysis.summary import rate_evidence_note
from analysis.survey import SOURCE_TITLES, load_recommendations
from analysis.trajectories import (
    CASENESS_STATES,
    POOLED_CATEGORY,
    caseness_transitions,
    jacobson_truax_counts,
    pool_small_categories,
)
from dashboard import benefit, state, ui
from dashboard import national as national_controls

# Recommendation 1's solutions that ask for evidence on clinical outcomes (survey_recommendations.csv).
OUTCOME_RECOMMENDATION_IDS = ("R1-S1", "R1-L2")


def _plain(text: str) -> str:
    """Backslash-escape Markdown punctuation so data-file text shows literally (CommonMark)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:])", r"\\\1", text)


ctx = state.context()
analysis = ctx.analysis
rates = analysis.rates
ui.page_header("Recovery and reliable change", ctx, "The NHS Talking Therapies outcome rates in each group: "
               "**recovery** (moved from clinical caseness to below it), **reliable improvement** and "
               "**reliable deterioration** (a change larger than measurement error), and **reliable recovery** "
               "(both recovered and reliably improved).")


hidden = {rate: ui.hidden_groups(ctx, comparison.groups) for rate, comparison in rates.items()}
empty_groups = [g for g in GROUPS if analysis.n_finishers[g] == 0]

# --- the verdict
if empty_groups:
    ui.not_available("The groups cannot be compared: no one in the " + " or ".join(
        GROUP_LABELS[g].lower() for g in empty_groups) + " group finished treatment in the current selection. "
        "Clear or widen the filters in the sidebar.")
elif hidden["recovery"]:
    ui.not_available("Presentation-safe mode hides the recovery verdict because a group's numbers are small.")
else:
    st.markdown(f"#### {analysis.recovery_verdict(safe=ctx.safe)}")
st.caption(analysis.small_sample_caution(safe=ctx.safe))

# --- the sections: one after another, or one at a time (the session's layout, dashboard/state.py)
section = ui.Sections("recovery", {
    "Rates": "The four outcome rates",
    "Comparison": "Comparison of each rate",
    "Every finisher": "What happened to every finisher",
    "First against last": "First against last score",
    "Completeness": "Paired-data completeness",
    "Why it matters": "Why this matters: the survey report's recommendation 1",
    "Chance of benefit": benefit.CHANCE_HEADING,
    "Value for money": benefit.VALUE_HEADING,
})

# --- the four rates
if (box := section("Rates")) is not None:
    with box:
        national_year = national_controls.chosen_year()  # England's published rates as the reference lines
        references = rate_references(national_year)
        figure, takeaway = state.session_memo(ctx, ("rates", ctx.safe, national_year), lambda: (
            add_attribution(rates_chart(rates, hidden, references)),
            rates_takeaway(rates, hidden, references, f"England's published rates for {national_year}")))
        ui.chart(figure, "outcome rates by group", takeaway)
        definitions = ui.lazy_expander("What each rate counts", "rates_defined_open")
        if definitions is not None:
            with definitions:
                ui.static_table(state.constant(("rate-definitions",), lambda: pd.DataFrame([
                    {"Rate": d.label, "Who counts": d.numerator.capitalize(), "Out of": d.denominator.capitalize()}
                    for d in RATE_DEFINITIONS.values()])), alt="What each rate counts")
                st.caption(f"National references: recovery standard {fmt.percent(RECOVERY_STANDARD)}; about two in three "
                           f"({fmt.percent(RELIABLE_IMPROVEMENT_REFERENCE)}) reliably improve. Finished treatment = 2 or more "
                           "sessions; at caseness = PHQ-9 or the anxiety measure at or above its cut-off at the start. "
                           "Whiskers are Wilson 95% CIs.")
        st.caption(f"Reference lines: England's published rates, {national_year} (change the year in the sidebar). "
                   + ATTRIBUTION)


# --- the comparison table, one column per rate
def _rate_cell(rate: str, group: str) -> str:
    r = rates[rate].groups[group]
    counts = f"{ui.count_text(ctx, r.count)} of {ui.count_text(ctx, r.denominator)}"
    if group in hidden[rate]:
        return f"hidden (small numbers); {counts}"
    if r.rate is None:
        return f"not available: {r.reason or 'no one in the denominator'}"
    return f"{fmt.percent(r.rate)} ({fmt.ci(r.ci95, 'percent').removeprefix('95% CI ')}); {counts}"


def _estimate(e, decimals: int = 2) -> str:
    if e.estimate is None:
        return f"not available: {e.reason}"
    ci = f" ({fmt.ci(e.ci95, decimals=decimals).removeprefix('95% CI ')})" if e.ci95 else ""
    return fmt.number(e.estimate, decimals) + ci


def _nnt(e) -> tuple[str, str]:
    if e.estimate is None:
        return f"not available: {e.reason}", fmt.MISSING
    side = "PA higher" if e.estimate > 0 else "control higher"
    value = f"{fmt.number(abs(e.estimate), 1)} ({side})"
    if e.ci95 is not None:
        return value, fmt.ci(e.ci95).removeprefix("95% CI ")
    text = e.extra.get("ci_text") or "not available"
    return value, text.removeprefix("The 95% CI runs through infinity: ")


def _odds_ratio_method(e) -> str:
    """The odds ratio's method in two words (the full name is in the caption and on Methods)."""
    return "exact (conditional MLE)" if e.method == METHODS["odds_ratio_exact"] else "Woolf (sample OR)"


if (box := section("Comparison")) is not None:
    with box:
        def comparison_rows() -> pd.DataFrame:
            table: dict[str, list[str]] = {"Figure": [
                f"{GROUP_LABELS[GROUPS[0]]} (Wilson 95% CI)", f"{GROUP_LABELS[GROUPS[1]]} (Wilson 95% CI)",
                "Difference, points (Newcombe 95% CI)", "Fisher's exact p", "Odds ratio (95% CI)", "Odds ratio method",
                "Relative risk (95% CI: Katz; MOVER-R at 0% or 100%)", "Number needed to treat", "NNT 95% CI (∞ = runs through infinity)"]}
            for key, comparison in rates.items():
                label = RATE_DEFINITIONS[key].label
                column = [_rate_cell(key, g) for g in GROUPS]
                if hidden[key]:
                    column += (["hidden (small numbers)"] * 3 + [_odds_ratio_method(comparison.odds_ratio)]
                               + ["hidden (small numbers)"] * 3)
                else:
                    d = comparison.difference
                    column.append(f"{fmt.points(d.estimate)} ({fmt.ci(d.ci95, 'points').removeprefix('95% CI ')})"
                                  if d.estimate is not None else f"not available: {d.reason}")
                    column.append(fmt.p_value(comparison.fisher.p).removeprefix("p = ") if comparison.fisher.p is not None
                                  else f"not available: {comparison.fisher.reason}")
                    column.append(_estimate(comparison.odds_ratio))
                    column.append(_odds_ratio_method(comparison.odds_ratio))
                    column.append(_estimate(comparison.relative_risk))
                    column.extend(_nnt(comparison.nnt))
                table[label] = column
            return pd.DataFrame(table)


        # Everything in it depends on the data, the filters and safe mode (the session memo's key): built once.
        ui.table(state.session_memo(ctx, ("rate-comparisons", ctx.safe), comparison_rows), "rate comparisons",
                 key="rate-comparisons")
        st.caption("Differences are physical activity minus control. Odds ratios and relative risks above 1 mean the "
                   "outcome was more common with physical activity (good for recovery and improvement, bad for "
                   "deterioration). The NNT is the number who would need physical activity for one more person to have "
                   "the outcome (or, marked 'control higher', one fewer); when the difference's CI includes zero the "
                   f"NNT's CI runs through infinity. Odds ratio methods: {METHODS['odds_ratio_exact']}, up to "
                   f"{EXACT_ODDS_RATIO_MAX_N:,} people; above that, {METHODS['odds_ratio_woolf'].split(';')[0]}.")
        for key, comparison in rates.items():  # where a test and an interval in the table disagree, say so beside it
            note = None if hidden[key] else rate_evidence_note(RATE_DEFINITIONS[key].label, comparison)
            if note:
                st.info(note, icon=":material/balance:")

# --- outcome categories
if (box := section("Every finisher")) is not None:
    with box:
        def category_counts() -> tuple[pd.DataFrame, pd.DataFrame]:
            """Every finisher's outcome category counted per group, and the same as drawn (small cells pooled in safe
            mode)."""
            found = outcome_category_counts(analysis.flags)
            return found, pool_small_categories(found) if ctx.safe else found


        counts, drawn = state.session_memo(ctx, ("category-counts", ctx.safe), category_counts)
        if drawn.empty or drawn["denominator"].max() == 0:
            ui.not_available("No one in the current selection finished treatment (or, in presentation-safe mode, "
                             f"each group has {FEWER_THAN} finishers), so there are no outcome categories to draw.")
        else:
            figure, takeaway = state.session_memo(ctx, ("categories", ctx.safe), lambda: (
                outcome_categories_chart(drawn), outcome_categories_takeaway(drawn)
                + (f" Categories with {FEWER_THAN} people are pooled (hatched grey)." if ctx.safe else "")))
            ui.chart(figure, "outcome categories by group", takeaway)


        def category_rows() -> pd.DataFrame:
            # In safe mode a category the chart pools (a small cell, or the one added to the pool so that it
            # cannot be read off as one small cell) is hidden here too: otherwise the table gives it back.
            shown = None
            if ctx.safe:
                shown = (set() if "pooled" not in drawn else
                         {(g, c) for g, c, pooled in drawn[["group", "category", "pooled"]].itertuples(index=False) if not pooled})
            rows = []
            for category in OUTCOME_CATEGORIES:
                row = {"Outcome": category}
                for group in GROUPS:
                    c = counts[(counts["group"] == group) & (counts["category"] == category)].iloc[0]
                    if shown is not None and (group, category) not in shown:
                        row[GROUP_LABELS[group]] = "hidden (pooled in the chart)"
                        continue
                    row[GROUP_LABELS[group]] = (f"{ui.count_text(ctx, int(c['count']))} "
                                                f"({ui.rate_text(ctx, int(c['count']), int(c['denominator']), c['share'])})")
                rows.append(row)
            return pd.DataFrame(rows)


        ui.table(state.session_memo(ctx, ("categories-table", ctx.safe), category_rows), "outcome categories",
                 key="outcome-categories")
        if ctx.safe:
            st.caption(f"'{POOLED_CATEGORY}' in the chart combines the categories hidden in this table.")

# --- first vs last scatter
if (box := section("First against last")) is not None:
    with box:
        # One control: the sidebar's outcome measure (in the URL). The plot needs a caseness cut-off and a
        # reliable change index, which WSAS has not: then PHQ-9 is drawn, and the page says so.
        chosen_measure = measure_for(ctx.measure)
        choice = ctx.measure if chosen_measure.caseness is not None and chosen_measure.reliable_change is not None else "phq9"
        scatter_measure = measure_for(choice)
        if choice != ctx.measure:
            st.caption(f"{chosen_measure.label}, the outcome measure chosen in the sidebar, has no caseness cut-off or "
                       f"reliable change index, so this plot shows {scatter_measure.label}.")
        else:
            st.caption(f"{scatter_measure.label}: the outcome measure chosen in the sidebar.")
        measure_comparison = analysis.measures.get(choice)
        if measure_comparison is None or measure_comparison.scores is None or measure_comparison.scores.empty:
            ui.not_available(f"No finisher in the current selection has both {scatter_measure.label} scores.")
        else:
            scores = measure_comparison.scores
            if ctx.safe:
                st.info("Presentation-safe mode: individual participants are not drawn. The table counts finishers by "
                        f"{scatter_measure.label} caseness (score {fmt.number(scatter_measure.caseness, 0)} or more) at "
                        "their first and last score.")
                def transition_rows() -> pd.DataFrame:
                    transitions = caseness_transitions(scores, scatter_measure)
                    return pd.DataFrame({
                        "Group": transitions["group"].map(GROUP_LABELS),
                        "At the first score": transitions["first"],
                        **{f"Last: {state_}": transitions[state_].map(lambda v: ui.count_text(ctx, int(v)))
                           for state_ in CASENESS_STATES}})

                shown = state.session_memo(ctx, ("caseness-transitions", choice, ctx.safe), transition_rows)
                ui.table(shown, f"{scatter_measure.label} caseness first and last", key="caseness-transitions")
            else:
                figure, takeaway = state.session_memo(ctx, ("scatter", choice), lambda: (
                    first_last_scatter(scores, scatter_measure),
                    first_last_scatter_takeaway(jacobson_truax_counts(scores, scatter_measure), scatter_measure)))
                ui.chart(figure, f"{scatter_measure.label} first against last", takeaway)
                st.caption("Dotted lines: the caseness cut-off (points right of the vertical line started at caseness; "
                           "points below the horizontal line ended below it). Solid diagonal: no change. Shaded band: "
                           f"within ± {fmt.number(scatter_measure.reliable_change, 0)} points of no change (not reliable). "
                           "Points are nudged by at most 0.2 so identical scores stay visible; hover for the true scores. "
                           "The rates above combine PHQ-9 with each person's anxiety measure, so they differ from this "
                           "single-measure picture.")

# --- paired-data completeness
if (box := section("Completeness")) is not None:
    with box:
        def completeness_rows() -> pd.DataFrame:
            completeness = analysis.completeness
            rows = []
            for group in (*GROUPS, "all"):
                c = completeness.loc[group]
                finishers, paired = int(c["finishers"]), int(c["paired"])
                rows.append({"Group": GROUP_LABELS.get(group, "Everyone"), "Finishers": ui.count_text(ctx, finishers),
                             "With paired scores": ui.count_text(ctx, paired),
                             "Completeness": ui.rate_text(ctx, paired, finishers, c["completeness"]),
                             f"Meets the {fmt.percent(PAIRED_COMPLETENESS_STANDARD)} standard": (
                                 "yes" if c["meets_standard"] else ("no finishers" if finishers == 0 else "no"))})
            return pd.DataFrame(rows)


        ui.table(state.session_memo(ctx, ("paired-completeness", ctx.safe), completeness_rows), "paired completeness",
                 key="paired-completeness")
        st.caption(f"Paired = PHQ-9 and the anxiety measure both have a first and a last score. The NHS Talking Therapies "
                   f"standard is at least {fmt.percent(PAIRED_COMPLETENESS_STANDARD)}. Unpaired finishers stay in every "
                   "denominator but can never count as recovered or improved, so low completeness pulls the rates down.")

# --- the survey report's recommendation


def recommendation_texts() -> tuple[str, list[str], str] | None:
    """Recommendation 1's title, its outcome solutions and their sources, as the page shows them (the survey's
    documents are the same for every visitor: made once)."""
    recommendations = load_recommendations()
    chosen = recommendations[recommendations["recommendation_id"].isin(OUTCOME_RECOMMENDATION_IDS)]
    if chosen.empty:
        return None
    quotes = [f"> **{'Short-term solution' if row.solution_term == 'short' else 'Long-term solution'}:** "
              f"“{_plain(row.solution_text)}”" for row in chosen.itertuples(index=False)]
    by_document: dict[str, list[str]] = {}
    for row in chosen.itertuples(index=False):
        by_document.setdefault(row.source_document, [])
        if row.source_section not in by_document[row.source_document]:
            by_document[row.source_document].append(row.source_section)
    source = "Source: " + "; ".join(_plain(f"{SOURCE_TITLES.get(doc, doc)} — {', '.join(sections)}")
                                    for doc, sections in by_document.items()) + "."
    return f"**Recommendation 1:** {_plain(chosen.iloc[0]['title'])}", quotes, source


recommendation = state.constant(("recommendation-1", OUTCOME_RECOMMENDATION_IDS), recommendation_texts)
if recommendation is not None and (box := section("Why it matters")) is not None:
    title, quotes, source = recommendation
    with box:
        with st.container(border=True):
            recovery = rates["recovery"].groups
            if hidden["recovery"] or empty_groups:
                result = "This page is the pilot's evidence on clinical outcomes."
            else:
                result = (f"This page is the pilot's evidence on clinical outcomes: "
                          f"{fmt.percent(recovery[GROUP_PA].rate)} of the physical activity group recovered against "
                          f"{fmt.percent(recovery[GROUPS[1]].rate)} of the control group.")
            st.markdown(f"The stakeholder survey report's first recommendation asks for evidence of the impact on "
                        f"clinical outcomes. {result}")
            st.markdown(title)
            for quote in quotes:
                st.markdown(quote)
            st.caption(source)

# --- chance of benefit and value for money (analysis/bayes.py, analysis/value.py)

if (box := section("Chance of benefit")) is not None:
    with box:
        benefit.chance_section(ctx, tuple(rates), where="recovery", heading=None)
if (box := section("Value for money")) is not None:
    with box:
        benefit.value_section(ctx, where="recovery", heading=None)
