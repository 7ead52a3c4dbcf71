"""Accounting for who took part: the comparison adjusted for the baseline differences between the groups."""

from dashboard.entry import require_app

require_app()

import streamlit as st

from analysis.adjusted import (
    BOOTSTRAP_MAX_N,
    CANNOT_FIX,
    CI_METHODS,
    ESTIMAND_ATO,
    ESTIMAND_ATT,
    ESTIMANDS,
    adjust,
    adjusted_verdict,
    candidate_covariates,
    covariate_label,
    default_covariates,
    role_text,
    safe_note,
    site_choice_text,
)
from analysis.figures import adjusted as fa
from analysis.figures.theme import HALF_CHART_PX
from analysis.schema import GROUP_CONTROL, GROUP_LABELS, GROUP_PA, GROUPS, SITE_COLUMN
from analysis.sites import site_labels
from dashboard import state, ui

TRIM_CHOICES = (None, 0.01, 0.05, 0.1)

ctx = state.context()
analysis = ctx.analysis
ui.page_header("Accounting for who took part", ctx,
               "People chose whether to take part in physical activity, so the groups differed before treatment. "
               "How much of the difference is left once we account for who took part?")

empty = [GROUP_LABELS[g] for g in GROUPS if analysis.n_finishers[g] == 0]
if empty:
    ui.not_available(f"No one in the {' and '.join(empty).lower()} group finished treatment with the current filters, "
                     "so there is nothing to adjust. Clear a filter in the sidebar.")
    st.stop()

# --- choices ------------------------------------------------------------------------------------------------
candidates = state.session_memo(ctx, ("adjusted", "candidates"), lambda: candidate_covariates(ctx.episodes))
defaults = state.session_memo(ctx, ("adjusted", "defaults"),
                              lambda: default_covariates(ctx.episodes, analysis.flags))
CHOICES_LABEL = "Characteristics adjusted for, and the weights"
CHOICES_OPEN_KEY = "adj_choices_open"  # the sections layout's choices expander, drawn while open (choices unchanged)
default_choices = {"adj_covariates": [c for c in defaults if c in candidates], "adj_estimand": ESTIMAND_ATT,
                   "adj_trim": None}
changed = any(key in st.session_state and st.session_state[key] != value for key, value in default_choices.items())
# In a room's layout, drawn once opened while the choices are the defaults (a run sends seven elements fewer).
choices = ui.widgets_expander(CHOICES_LABEL, CHOICES_OPEN_KEY, changed=changed, icon=":material/tune:")
if choices is None:
    chosen, estimand, trim = default_choices.values()
else:
    with choices:
        chosen = st.multiselect(
            "Adjust for", candidates, default=default_choices["adj_covariates"], key="adj_covariates",
            format_func=lambda c: covariate_label(c, ""),
            help="Baseline characteristics only (things that happened after people chose, such as sessions attended, "
                 "are never adjusted for). The default keeps at least 5 people of the smaller group per model "
                 "parameter; adding more can make the model separate the groups exactly.")
        left, right = st.columns(2)
        estimand = left.radio("Weights", (ESTIMAND_ATT, ESTIMAND_ATO), key="adj_estimand",
                              format_func=lambda e: {ESTIMAND_ATT: "ATT: effect in the PA group (default)",
                                                     ESTIMAND_ATO: "Overlap weights (ATO)"}[e])
        trim = right.selectbox("Leave out extreme propensity scores", TRIM_CHOICES, key="adj_trim",
                               format_func=lambda t: "No (default)" if t is None else f"Below {t:g} or above {1 - t:g}",
                               help="Only if you ask: it changes who the answer is about (the estimand), and says so.")
        st.caption(ESTIMANDS[estimand].capitalize() + ".")
site_text = site_choice_text(len(site_labels(ctx.episodes)), chosen)  # several sites: say whether site is adjusted for
if site_text:
    (st.info if SITE_COLUMN in chosen else st.warning)(site_text, icon=":material/location_city:")


def build():
    """The adjusted analysis and everything the page draws from it, memoised per data set, filters, covariates,
    weights, trimming and safe mode (state.session_memo: once per server process for shared data, in this
    session for an upload)."""
    result = adjust(ctx.episodes, analysis.flags, covariates=list(chosen), estimand=estimand, trim=trim)
    if not result.available:
        return result, None
    rows = fa.comparison_rows(analysis, result, ctx.safe)
    balance = fa.balance_rows(result, ctx.safe)
    overlap = fa.overlap_counts(result, ctx.safe)
    figures = {
        "rate": fa.effects_chart(rows, "rate"), "measure": fa.effects_chart(rows, "measure"),
        "love": fa.love_plot(balance), "overlap": fa.overlap_chart(overlap),
    }
    texts = {
        "rate": fa.effects_takeaway(rows, "rate"), "measure": fa.effects_takeaway(rows, "measure"),
        "love": fa.love_takeaway(balance, result), "overlap": fa.overlap_takeaway(result, ctx.safe),
    }
    tables = {"effects": fa.effects_table(rows), "balance": fa.balance_table(balance)}
    texts["e_values"] = [fa.e_value_text(rows, outcome) for outcome in ("recovery", "phq9", "gad7")
                         if outcome in set(rows["outcome"])]
    recovery_hidden = bool(rows[(rows["outcome"] == "recovery")]["hidden"].any())
    headline = {"recovery_hidden": recovery_hidden, "imbalanced": result.imbalanced,
                "verdict": None if recovery_hidden else adjusted_verdict(
                    result, analysis.rates["recovery"].difference.estimate),
                "role": role_text(result.role, result.parameters, min(result.n.values()), safe=ctx.safe)}
    return result, (rows, figures, texts, tables, headline)


result, drawn = state.session_memo(
    ctx, ("adjusted", tuple(chosen), estimand, trim, ctx.safe), build)

if not result.available:
    ui.not_available(f"The adjusted comparison cannot be computed: {result.reason}")
    for note in result.notes:
        st.text(safe_note(note) if ctx.safe else note)  # notes name category levels from the data file: as text
    st.stop()

rows, figures, texts, tables, headline = drawn



def _side_by_side(*charts: tuple[str, str]) -> None:
    """Two of the analysis's charts in two columns: each given as (its key in ``figures`` and ``texts``, its name)."""
    for column, (kind, name) in zip(st.columns(len(charts)), charts, strict=True):
        with column:
            ui.chart(figures[kind], name, ui.md_escape(texts[kind]), width_px=HALF_CHART_PX)


# --- the sections: one after another, or one at a time (the session's layout, dashboard/state.py)
section = ui.Sections("adjusted", {
    "What remains": "What remains after adjusting",
    "Side by side": "Unadjusted and adjusted, side by side",
    "Hidden differences": "How strong would hidden differences need to be?",
    "Balance": "Are the weighted groups comparable?",
    "Limits": "What adjustment cannot fix",
})

# --- headline ------------------------------------------------------------------------------------------------
if (box := section("What remains")) is not None:
    with box:
        if headline["recovery_hidden"]:
            ui.not_available("Presentation-safe mode hides the recovery comparison because a group's numbers are small.")
        else:
            st.markdown("#### " + ui.md_escape(headline["verdict"]))
        if result.role == "sensitivity":
            st.warning(headline["role"], icon=":material/science:")
        else:
            st.success("A primary analysis: " + headline["role"], icon=":material/verified:")
        # One wrapping row of tiles as wide as their words (four equal columns cut labels and values at 1280 px;
        # two rows of columns sent six blocks to every visitor, this sends one).
        tiles = st.container(horizontal=True, gap="medium")
        for group in GROUPS:
            tiles.metric(f"{GROUP_LABELS[group]} in the analysis", ui.count_text(ctx, result.n[group]), width="content",
                         help="Finishers with every chosen characteristic present.")
        tiles.metric("Effective size of the weighted control group",
                     "—" if result.ess[GROUP_CONTROL] is None else f"{result.ess[GROUP_CONTROL]:,.1f}", width="content",
                     help="(Σw)²/Σw²: how many equally weighted people the weighted group is worth (Kish). An estimate, "
                          "not a count.")
        tiles.metric("Characteristics imbalanced after weighting",
                     f"{headline['imbalanced']['after']} of {len(result.balance)} characteristics",
                     delta=f"{headline['imbalanced']['before']} before", delta_color="off", delta_arrow="off",
                     width="content",
                     help="|SMD| above 0.1 (Austin 2009), over the unweighted pooled SD.")

# --- side by side -------------------------------------------------------------------------------------------
if (box := section("Side by side")) is not None:
    with box:
        _side_by_side(("rate", "adjusted-rates"), ("measure", "adjusted-last-scores"))
        ui.table(tables["effects"], "unadjusted-and-adjusted")
        st.caption("Unadjusted: the rates' difference with Newcombe's CI, and for the scores ANCOVA adjusted for the first "
                   "score only. Adjusted: " + result.method + "; 95% CI by " + CI_METHODS[result.ci_method]
                   + (f" ({result.n_resamples:,} resamples, seed {result.seed})" if result.n_resamples else
                      f" (above {BOOTSTRAP_MAX_N:,} people)") + ". Estimand: " + result.estimand_text + ".")

# --- E-values -----------------------------------------------------------------------------------------------
if (box := section("Hidden differences")) is not None:
    with box:
        if texts["e_values"]:
            st.markdown("\n".join("- " + ui.md_escape(text) for text in texts["e_values"]))  # one list, one element
        st.caption("E-value (VanderWeele & Ding 2017): the minimum strength of association, as a risk ratio, that an "
                   "unmeasured characteristic would need with both choosing physical activity and the outcome to explain "
                   "the difference away. 1 means no confounding is needed; larger is more robust.")

# --- balance and overlap ------------------------------------------------------------------------------------
if (box := section("Balance")) is not None:
    with box:
        _side_by_side(("love", "balance-before-after-weighting"), ("overlap", "propensity-overlap"))
        ui.table(tables["balance"], "balance-after-weighting")
        if ctx.safe:
            st.caption("Presentation-safe mode: characteristics with fewer than 5 people in a group, and histogram bins with "
                       "fewer than 5 people, are hidden; other bins are rounded to the nearest 5.")

# --- limits -------------------------------------------------------------------------------------------------
if (box := section("Limits")) is not None:
    with box:
        st.markdown("\n".join(f"- {line}" for line in CANNOT_FIX))
        if result.notes:
            st.markdown("**Notes on this analysis**")
            for note in result.notes:
                st.text(safe_note(note) if ctx.safe else note)  # may name category levels from the data file: as text
        weights = ("weight 1; {control}: ps/(1 − ps)" if result.estimand == ESTIMAND_ATT else "weight 1 − ps; {control}: ps")
        st.caption(f"Weights: {GROUP_LABELS[GROUP_PA].lower()} " + weights.format(control=GROUP_LABELS[GROUP_CONTROL].lower())
                   + ", normalised within group; ps is the propensity score. See **Methods and definitions**.")
