"""Planning the next evaluation: how many participants would a conclusive study need?"""

from dashboard.entry import require_app

require_app()

import streamlit as st

from analysis import formatting as fmt
from analysis import power
from analysis.disclosure import safe_count
from analysis.figures import planning as pl
from analysis.figures.theme import HALF_CHART_PX
from dashboard import state, ui

ctx = state.context()
ui.page_header("Planning the next evaluation", ctx,
               "How many participants would the next evaluation need to detect a difference that matters? "
               "Move the sliders: every number updates at once.")
st.warning("**Plan for the smallest difference that would matter.** " + power.OBSERVED_POWER_WARNING,
           icon=":material/balance:")

effects = pl.pilot_effects(ctx.analysis, ctx.measure)
label = effects.measure_label


def shown_n(n: int) -> int | None:
    """A pilot group size as this view may show it (presentation-safe rounding; None = fewer than 5)."""
    return safe_count(n) if ctx.safe else n


@st.fragment
def planner() -> None:
    """The interactive part: only this reruns when a slider moves."""
    source_col, alpha_col, power_col = st.columns([2, 1, 1])
    source = source_col.radio("Effect to plan for", ["pilot", "chosen"], key="pl_effect", bind="query-params",
                              horizontal=True,
                              format_func=lambda v: "This pilot's estimates" if v == "pilot" else "Values I choose",
                              help="The pilot's estimates are a rough starting guess: their intervals are wide.")
    alpha = alpha_col.select_slider("Significance level α", pl.ALPHA_OPTIONS, value=power.ALPHA,
                                    key="pl_alpha", bind="query-params", format_func=lambda v: f"{v:g}")
    target = power_col.select_slider("Power", pl.POWER_OPTIONS, value=power.DEFAULT_POWER, key="pl_power",
                                     bind="query-params", format_func=fmt.percent)

    rate_hidden = ctx.safe and (shown_n(effects.count_pa) is None or shown_n(effects.count_control) is None
                                or shown_n(effects.n_rate_pa) is None or shown_n(effects.n_rate_control) is None)
    change_hidden = ctx.safe and (shown_n(effects.n_change_pa) is None or shown_n(effects.n_change_control) is None)
    rates_col, change_col = st.columns(2)
    if source == "pilot":
        p_pa, p_control = (None, None) if rate_hidden else (effects.p_pa, effects.p_control)
        difference, sd = (None, None) if change_hidden else (effects.difference, effects.sd)
        with rates_col:
            st.markdown("**Recovery in this pilot** (finishers at caseness)")
            if effects.rate_reason:
                ui.not_available(effects.rate_reason)
            elif rate_hidden:
                ui.not_available("Presentation-safe mode hides this pilot's recovery rates (small numbers): "
                                 "choose values instead.")
            else:
                st.markdown(f"Physical activity {ui.rate_text(ctx, effects.count_pa, effects.n_rate_pa, p_pa)} "
                            f"({ui.count_text(ctx, effects.count_pa)} of {ui.count_text(ctx, effects.n_rate_pa)}); "
                            f"control {ui.rate_text(ctx, effects.count_control, effects.n_rate_control, p_control)} "
                            f"({ui.count_text(ctx, effects.count_control)} of "
                            f"{ui.count_text(ctx, effects.n_rate_control)}).")
        with change_col:
            st.markdown(f"**{label} change in this pilot** (measure chosen in the sidebar)")
            if effects.change_reason:
                ui.not_available(effects.change_reason)
            elif change_hidden:
                ui.not_available("Presentation-safe mode hides this comparison (fewer than 5 in a group): "
                                 "choose values instead.")
            else:
                st.markdown(f"Difference in mean change (PA − control) {fmt.number(difference)} points; pooled SD "
                            f"{fmt.number(sd)}; Hedges' g {fmt.number(effects.hedges_g, 2)} "
                            f"(n {ui.count_text(ctx, effects.n_change_pa)} and "
                            f"{ui.count_text(ctx, effects.n_change_control)}).")
    else:
        start = pl.starting_values(effects, hide_rates=rate_hidden, hide_change=change_hidden)
        step = pl.slider_step(ctx.measure)
        low, high = pl.slider_range(ctx.measure)
        number_format = "%.1f" if step >= 0.1 else "%.2f"
        keys = {"pl_rate_pa": start["p_pa"], "pl_rate_control": start["p_control"],
                f"pl_diff_{ctx.measure}": start["difference"], f"pl_sd_{ctx.measure}": start["sd"]}
        for key, value in keys.items():  # start from the pilot; a value in the URL still wins on first load
            st.session_state.setdefault(key, value)
        with rates_col:
            p_pa = rates_col.slider("Recovery, physical activity (%)", 1, 99, key="pl_rate_pa",
                                    bind="query-params") / 100
            p_control = rates_col.slider("Recovery, control (%)", 1, 99, key="pl_rate_control",
                                         bind="query-params") / 100
        with change_col:
            difference = change_col.slider(f"Difference in mean {label} change to detect (points)", low, high,
                                           step=step, format=number_format, key=f"pl_diff_{ctx.measure}",
                                           bind="query-params")
            sd = change_col.slider(f"SD of {label} change within each group (points)", low, high, step=step,
                                   format=number_format, key=f"pl_sd_{ctx.measure}", bind="query-params")
        st.caption("The sliders start at this pilot's estimates. For planning, set the smallest difference that "
                   "would matter in practice.")
    is_pilot = source == "pilot"

    def build():
        return pl.planning_results(p_pa, p_control, difference, sd, alpha, target, ctx.measure,
                                   (effects.n_rate_pa, effects.n_rate_control),
                                   (effects.n_change_pa, effects.n_change_control), is_pilot, ctx.safe)

    results = state.session_memo(ctx, ("planning", ctx.measure, source, p_pa, p_control, difference, sd, alpha,
                                       target, ctx.safe), build)

    # The results: one after another, or one at a time (the session's layout, dashboard/state.py)
    section = ui.Sections("planning", {"Participants needed": "Participants needed per group", "Power curves": None})
    if (box := section("Participants needed")) is not None:
        with box:
            st.markdown("\n\n".join(f"#### {sentence}" for sentence in results.sentences))  # one element
            ui.table(results.table, "participants-needed")
    if (box := section("Power curves")) is not None:
        with box:
            left, right = st.columns(2)
            for column, chart in ((left, results.rates), (right, results.means)):
                with column:
                    if chart.figure is None:
                        ui.not_available(chart.takeaway)
                    else:
                        ui.chart(chart.figure, chart.name, chart.takeaway, width_px=HALF_CHART_PX)
            st.caption(f"Recovery: {power.RATES_METHOD}. Symptom change: {power.MEANS_METHOD}. The vertical line "
                       "marks this pilot's size; with unequal groups, the equal group size of the same precision "
                       "(harmonic mean).")


planner()
