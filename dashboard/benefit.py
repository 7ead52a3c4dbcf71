"""The "Chance of benefit" and "Value for money" sections the pages share (issue 14).

Every number comes from :mod:`analysis.bayes` and :mod:`analysis.value`; this module only lays them
out. The MIDs and costs a visitor enters are kept in this session's state (``bayes_*`` keys) so they
follow the visitor from page to page; results are memoised per session (:func:`state.session_memo`).
Presentation-safe mode: an outcome resting on a group below the disclosure threshold shows no
probability or cost (the same rule as the CLI's JSON, :func:`analysis.bayes.basis_is_small`).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from analysis import bayes
from analysis.figures import bayes as figures
from analysis.schema import GROUPS
from analysis.value import NO_PUBLISHED_COST, adjusted_from, money, national_context, value_for_money
from dashboard import state, ui

RATE_MID_KEY = "bayes_mid_rate"  # percentage points
MEASURE_MID_KEYS = {key: f"bayes_mid_{key}" for key in bayes.MEASURE_MID_DEFAULTS}
COST_KEY = "bayes_pa_cost"
THERAPY_COST_KEY = "bayes_therapy_cost"
PRIOR_HELP = ("Vague: the data alone, almost. Sceptical: starts from 'no effect', doubting large effects "
              "(for the rates an odds ratio beyond about 2 either way; for the scores an effect beyond the MID "
              "has a 5% prior chance). Enthusiastic: starts from a benefit (odds ratio 1.5; one MID on the scores).")


def mids() -> tuple[float, dict[str, float]]:
    """(rate MID as a proportion, {measure: MID in points}) as this visitor set them (defaults otherwise)."""
    rate = float(st.session_state.get(RATE_MID_KEY, bayes.RATE_MID_DEFAULT * 100)) / 100
    measures = {key: float(st.session_state.get(MEASURE_MID_KEYS[key], default))
                for key, default in bayes.MEASURE_MID_DEFAULTS.items()}
    return rate, measures


def _store(widget_key: str, stored_key: str) -> None:
    """Copy a widget's new value to the session's own key before the rerun (so text above the widget uses it)."""
    st.session_state[stored_key] = st.session_state[widget_key]


MID_OPEN_KEY = "bayes_mid_open"  # + _<where>: the MID expander is open (its inputs are drawn only then)
CHARTS_OPEN_KEY = "bayes_charts_open"  # + _<where>: the charts expander is open (drawn only then)


def mid_inputs(where: str, measures: tuple[str, ...] = ("rates", *bayes.MEASURE_MID_DEFAULTS)) -> None:
    """Number inputs for the MIDs (stored in the session so every page uses the same values), in an expander
    whose inputs are drawn only while it is open (``.open``: a closed one costs the server nothing to send)."""
    rate, measure_mids = mids()
    expander = ui.lazy_expander("Change the minimal important difference (MID)", f"{MID_OPEN_KEY}_{where}")
    if expander is None:
        return
    with expander:
        columns = st.columns(len(measures))
        for column, key in zip(columns, measures, strict=True):
            if key == "rates":
                column.number_input("Rates: percentage points", min_value=0.5, max_value=50.0, step=0.5,
                                    value=rate * 100, key=f"{RATE_MID_KEY}_{where}", help=bayes.MID_SOURCES["rates"],
                                    on_change=_store, args=(f"{RATE_MID_KEY}_{where}", RATE_MID_KEY))
            else:
                label = "PHQ-9 points" if key == "phq9" else "GAD-7 points"
                widget = f"{MEASURE_MID_KEYS[key]}_{where}"
                column.number_input(label, min_value=0.5, max_value=20.0, step=0.5, value=measure_mids[key],
                                    key=widget, help=bayes.MID_SOURCES[key], on_change=_store,
                                    args=(widget, MEASURE_MID_KEYS[key]))
        st.caption("Defaults and their sources are on the **Methods and definitions** page.")


def results(ctx: state.Context) -> dict[str, bayes.BenefitResult]:
    """Every outcome's probability of benefit for the current data and MIDs (memoised in the session)."""
    rate, measure_mids = mids()
    key = ("bayes", rate, tuple(sorted(measure_mids.items())))
    return state.session_memo(ctx, key, lambda: ctx.analysis.benefit(rate, measure_mids))


def hidden(ctx: state.Context) -> frozenset[str]:
    """Outcomes whose figures safe mode hides (a group's count, denominator or n below the threshold)."""
    if not ctx.safe:
        return frozenset()
    return frozenset(key for key, result in results(ctx).items() if bayes.basis_is_small(result.to_dict()))


def sentences(ctx: state.Context, keys: tuple[str, ...], prior: str = "sceptical") -> list[str]:
    """Plain-English chance sentences for the outcomes in ``keys`` (hidden ones say so)."""
    found, hide = results(ctx), hidden(ctx)
    out = []
    for key in keys:
        if key not in found:
            continue
        out.append(f"{found[key].label}: {figures.HIDDEN_TEXT}" if key in hide else found[key].sentence(prior))
    return out


def chances_table(ctx: state.Context, keys: tuple[str, ...], name: str) -> None:
    found = {k: v for k, v in results(ctx).items() if k in keys}
    if found:
        hide = hidden(ctx)
        rate, measure_mids = mids()  # what results() depends on, as in its key
        key = ("chances-table", tuple(found), tuple(sorted(hide)), rate, tuple(sorted(measure_mids.items())))
        table = state.session_memo(ctx, key, lambda: figures.chances_table(found, hidden=hide))
        ui.table(table, name, key=f"{name}-table")
        st.caption("Each cell: the chance (%) that physical activity is better (any benefit) and that it is better "
                   "by at least the MID, under each prior. " + PRIOR_HELP)


def charts(ctx: state.Context, key: str) -> None:
    """The posterior (with the MID) and prior-robustness charts for one outcome."""
    found = results(ctx)
    if key not in found:
        return
    result, is_hidden = found[key], key in hidden(ctx)
    if result.priors["sceptical"].p_benefit is None:
        ui.not_available(result.sentence())
        return

    def build():
        if result.kind == "rate":
            c = ctx.analysis.rates[key]
            counts = (c.groups[GROUPS[0]].count, c.groups[GROUPS[0]].denominator,
                      c.groups[GROUPS[1]].count, c.groups[GROUPS[1]].denominator)
            density = bayes.rate_posterior_density(*counts, higher_is_better=result.higher_is_better)
            curve = bayes.rate_robustness(*counts, higher_is_better=result.higher_is_better, mid=result.mid)
            default_sd = bayes.LOG_OR_PRIOR_SD
        else:
            a = ctx.analysis.measures[key].ancova
            se = bayes.ancova_se(a.estimate, a.ci95, a.df)
            density = bayes.measure_posterior_density(a.estimate, se, mid=result.mid)
            curve = bayes.measure_robustness(a.estimate, se, mid=result.mid)
            default_sd = result.mid / bayes.MID_Z
        return (figures.posterior_chart(density, result, hidden=is_hidden),
                figures.posterior_takeaway(result, hidden=is_hidden),
                figures.robustness_chart(curve, result, default_sd, hidden=is_hidden),
                figures.robustness_takeaway(curve, result, hidden=is_hidden))

    posterior, posterior_text, robustness, robustness_text = state.session_memo(
        ctx, ("bayes-charts", key, result.mid, is_hidden), build)
    ui.chart(posterior, f"{result.label} posterior of the difference", posterior_text)
    ui.chart(robustness, f"{result.label} chance of benefit by prior scepticism", robustness_text)
    for note in result.notes if not is_hidden else ():
        st.caption(note)


CHANCE_HEADING = "Chance of benefit"
VALUE_HEADING = "Value for money: what each extra recovery costs"


def chance_section(ctx: state.Context, keys: tuple[str, ...], *, where: str, chart_choice: bool = True,
                   heading: str | None = CHANCE_HEADING) -> None:
    """The section: sentences, the table of chances, the MID inputs and (optionally) the charts. ``heading``
    None: the caller has titled it (a tab, :class:`dashboard.ui.Sections`)."""
    if heading:
        st.subheader(heading)
    st.markdown("What the data say in stakeholders' terms: how likely it is that adding physical activity "
                "helps, and how likely that it helps by an amount that matters (the minimal important "
                "difference, MID). These are Bayesian probabilities, beside (not instead of) the confidence "
                "intervals and p values.")
    said = sentences(ctx, keys)
    if said:
        st.markdown("\n".join(f"- {sentence}" for sentence in said))  # one list, one element
    measure_keys = tuple(k for k in keys if k in bayes.MEASURE_MID_DEFAULTS)
    inputs = (("rates",) if any(k not in bayes.MEASURE_MID_DEFAULTS for k in keys) else ()) + measure_keys
    mid_inputs(where, inputs)
    chances_table(ctx, keys, f"chance of benefit {where}")
    shown = [k for k in keys if k in results(ctx)]
    if chart_choice and shown:  # drawn while the expander is open (a room's first view sends none of them)
        expander = ui.lazy_expander("Charts: the chance of benefit and how it depends on the prior",
                                    f"{CHARTS_OPEN_KEY}_{where}")
        if expander is not None:
            with expander:
                if len(shown) > 1:
                    choice = st.selectbox("Charts for", shown, format_func=lambda k: results(ctx)[k].label,
                                          key=f"bayes_chart_{where}")
                else:
                    choice = shown[0]
                charts(ctx, choice)


def cost_inputs(where: str) -> tuple[float | None, float | None]:
    """The cost of the PA offer per participant and (optionally) of a course of talking therapy, in £."""
    row = st.container(horizontal=True)  # side by side in one block (st.columns made three)
    row.number_input("Cost of the physical activity offer per participant (£)", min_value=0.0,
                     value=st.session_state.get(COST_KEY), step=10.0, placeholder="e.g. 150",
                     key=f"{COST_KEY}_{where}", on_change=_store, args=(f"{COST_KEY}_{where}", COST_KEY))
    row.number_input("Cost of a course of talking therapy (£, optional)", min_value=0.0,
                     value=st.session_state.get(THERAPY_COST_KEY), step=50.0, placeholder="your service's figure",
                     key=f"{THERAPY_COST_KEY}_{where}", on_change=_store,
                     args=(f"{THERAPY_COST_KEY}_{where}", THERAPY_COST_KEY))
    return st.session_state.get(COST_KEY), st.session_state.get(THERAPY_COST_KEY)


def value_section(ctx: state.Context, *, where: str, heading: str | None = VALUE_HEADING) -> None:
    """Cost per additional recovery and reliable improvement, from the costs the visitor enters. ``heading``
    None: the caller has titled it."""
    if heading:
        st.subheader(heading)
    cost, therapy = cost_inputs(where)
    if cost is None:
        st.caption("Enter the cost of the physical activity offer per participant to see the cost per additional "
                   "recovery (cost ÷ difference in recovery rates, i.e. the number needed to treat × the cost).")
        return
    result = state.session_memo(ctx, ("value", cost, therapy), lambda: value_for_money(
        ctx.analysis.rates, cost, therapy_cost=therapy, adjusted=adjusted_from(ctx.analysis)))
    hide = hidden(ctx)
    items = [figures.HIDDEN_TEXT if name in hide else outcome.statement for name, outcome in result.outcomes.items()]
    if result.therapy_context.get("statement"):
        items.append(figures.HIDDEN_TEXT if 'recovery' in hide else result.therapy_context['statement'])
    if items:
        st.markdown("\n".join(f"- {item}" for item in items))  # one list, one element
    source = next(iter(result.outcomes.values())).difference_source if result.outcomes else ""
    st.caption(f"Difference used: {source}. Method: cost per additional outcome = {money(cost)} per participant ÷ "
               "the difference in rates; its interval comes from the difference's 95% CI and has no upper limit "
               "when that CI includes no benefit. No QALYs. " + NO_PUBLISHED_COST)
    context = national_context()
    st.caption("Context: " + "; ".join(f"{c.label}: {c.text}" for c in context.values()) + ". "
               + context["recovery"].source)


def extra_summary(ctx: state.Context) -> dict[str, Any]:
    """The summary keys this visitor's settings change, for the deck, the report and presentation mode:
    ``bayes`` with their MIDs and, once they entered a cost, ``value_for_money``."""
    out: dict[str, Any] = {"bayes": {key: result.to_dict() for key, result in results(ctx).items()}}
    cost, therapy = st.session_state.get(COST_KEY), st.session_state.get(THERAPY_COST_KEY)
    if cost is not None:
        out["value_for_money"] = state.session_memo(ctx, ("value", cost, therapy), lambda: value_for_money(
            ctx.analysis.rates, cost, therapy_cost=therapy, adjusted=adjusted_from(ctx.analysis))).to_dict()
    return out


def settings_key() -> tuple:
    """What :func:`extra_summary` depends on besides the data (for memo keys)."""
    rate, measure_mids = mids()
    return (rate, tuple(sorted(measure_mids.items())), st.session_state.get(COST_KEY),
            st.session_state.get(THERAPY_COST_KEY))
