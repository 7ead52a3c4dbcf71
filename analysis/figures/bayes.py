"""Figures for the probability of benefit (:mod:`analysis.bayes`).

:func:`robustness_chart`: the chance of benefit (and of a benefit of at least the MID) as the
sceptical prior's SD varies, the default prior marked. :func:`posterior_chart`: the posterior of
the difference (PA − control) under the three priors, with "no difference" and the MID marked.
Each has a ``*_takeaway`` sentence computed from the same numbers. Presentation-safe mode: when the
outcome's figures are hidden (``hidden=True``) nothing is drawn from them; the chart says so.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis import formatting as fmt
from analysis.bayes import PRIOR_LABELS, PRIORS, BenefitResult, percent_chance
from analysis.disclosure import HIDDEN_FIGURE_REASON
from analysis.figures.theme import OKABE_ITO, REFERENCE_COLOUR, apply_theme

PRIOR_COLOURS: Final = {"vague": OKABE_ITO["black"], "sceptical": OKABE_ITO["vermillion"],
                        "enthusiastic": OKABE_ITO["bluish_green"]}
PRIOR_DASHES: Final = {"vague": "solid", "sceptical": "dash", "enthusiastic": "dot"}
HIDDEN_TEXT: Final = HIDDEN_FIGURE_REASON


def _hidden_figure(title: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=HIDDEN_TEXT, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_layout(xaxis=dict(visible=False), yaxis=dict(visible=False))
    return apply_theme(figure, title, height=300)


def robustness_chart(curve: pd.DataFrame, result: BenefitResult, default_sd: float, *,
                     hidden: bool = False) -> go.Figure:
    """Probability of benefit (and of ≥ MID) against the sceptical prior's SD (log axis)."""
    title = f"{result.label}: chance of benefit, from sceptical to open-minded priors"
    if hidden or curve.empty:
        return _hidden_figure(title) if hidden else apply_theme(go.Figure(), title, height=300)
    what, _ = result.benefit_words()
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=curve["prior_sd"], y=curve["p_benefit"] * 100, mode="lines",
                                name="Any benefit", line=dict(color=OKABE_ITO["blue"], width=3),
                                hovertemplate="prior SD %{x:.3g}: %{y:.0f}%<extra>any benefit</extra>"))
    figure.add_trace(go.Scatter(x=curve["prior_sd"], y=curve["p_benefit_mid"] * 100, mode="lines",
                                name=f"Benefit of {result.mid_text()} or more",
                                line=dict(color=OKABE_ITO["vermillion"], width=3, dash="dash"),
                                hovertemplate="prior SD %{x:.3g}: %{y:.0f}%<extra>at least the MID</extra>"))
    figure.add_vline(x=default_sd, line=dict(color=REFERENCE_COLOUR, dash="dot", width=2))
    # on a log axis an annotation's x is log10 of the value (plotly places add_vline's own label wrongly there)
    figure.add_annotation(x=float(np.log10(default_sd)), y=0.03, yref="paper", xanchor="left", showarrow=False,
                          text=" default sceptical prior")
    figure.add_hline(y=50, line=dict(color="#999999", width=1))
    axis = "log odds ratio" if result.kind == "rate" else "points"
    figure.update_layout(
        xaxis=dict(type="log", title=f"Prior SD ({axis}): ← more sceptical · less sceptical →",
                   range=[float(np.log10(curve["prior_sd"].min())), float(np.log10(curve["prior_sd"].max()))]),
        yaxis=dict(title=f"Chance physical activity {what.split(' ')[0]} (%)", range=[0, 100], ticksuffix="%"),
        margin=dict(t=110))
    return apply_theme(figure, title)


def robustness_takeaway(curve: pd.DataFrame, result: BenefitResult, *, hidden: bool = False) -> str:
    """e.g. 'From a strongly sceptical prior to one that lets the data speak, the chance that physical
    activity improves recovery runs from 55% to 94% (at least 5 percentage points: 12% to 89%).'"""
    if hidden:
        return HIDDEN_TEXT
    if curve.empty:
        return f"The chance of benefit for {result.label} cannot be worked out."
    what, _ = result.benefit_words()
    first, last = curve.iloc[0], curve.iloc[-1]
    return (f"From a strongly sceptical prior (left) to one that lets the data speak (right), the chance that "
            f"physical activity {what} runs from {percent_chance(first['p_benefit'])} to "
            f"{percent_chance(last['p_benefit'])}, and the chance of a benefit of {result.mid_text()} or more from "
            f"{percent_chance(first['p_benefit_mid'])} to {percent_chance(last['p_benefit_mid'])}.")


def posterior_chart(density: pd.DataFrame, result: BenefitResult, *, hidden: bool = False) -> go.Figure:
    """Posterior density of the difference (PA − control) per prior, with 0 and the MID marked.

    Rates are drawn in percentage points, measures in score points.
    """
    unit = "percentage points" if result.kind == "rate" else "points"
    title = f"{result.label}: the difference between the groups, by prior"
    if hidden or density.empty:
        return _hidden_figure(title) if hidden else apply_theme(go.Figure(), title, height=300)
    scale = 100.0 if result.kind == "rate" else 1.0
    figure = go.Figure()
    for prior in PRIORS:
        frame = density[density["prior"] == prior]
        figure.add_trace(go.Scatter(
            x=frame["difference"] * scale, y=frame["density"] / scale, mode="lines", name=PRIOR_LABELS[prior] + " prior",
            line=dict(color=PRIOR_COLOURS[prior], dash=PRIOR_DASHES[prior], width=3),
            hovertemplate=f"{PRIOR_LABELS[prior]}: %{{x:.1f}}<extra></extra>"))
    mid_at = result.mid * scale * (1 if result.higher_is_better else -1)
    figure.add_vline(x=0, line=dict(color=REFERENCE_COLOUR, width=2), annotation_text="no difference",
                     annotation_position="top left" if mid_at > 0 else "top right")  # away from the MID's label

    figure.add_vline(x=mid_at, line=dict(color=REFERENCE_COLOUR, dash="dash", width=2),
                     annotation_text=f"MID ({fmt.number(mid_at, 0 if float(mid_at).is_integer() else 1)})",
                     annotation_position="top right" if mid_at > 0 else "top left")
    better = "higher is better" if result.higher_is_better else "lower is better"
    figure.update_layout(xaxis=dict(title=f"Difference, physical activity − control ({unit}; {better})"),
                         yaxis=dict(title="Posterior density", rangemode="tozero"), margin=dict(t=110))
    return apply_theme(figure, title)


def posterior_takeaway(result: BenefitResult, *, hidden: bool = False) -> str:
    """The three priors' chances in one sentence, the sceptical one first."""
    if hidden:
        return HIDDEN_TEXT
    s = result.priors["sceptical"]
    if s.p_benefit is None:
        return result.sentence("sceptical")
    v, e = result.priors["vague"], result.priors["enthusiastic"]
    return (result.sentence("sceptical") + f" With a vague prior the chances are {percent_chance(v.p_benefit)} and "
            f"{percent_chance(v.p_benefit_mid)}; with an enthusiastic prior {percent_chance(e.p_benefit)} and "
            f"{percent_chance(e.p_benefit_mid)}. The area of each curve beyond the dashed MID line is the chance of a "
            "benefit that matters.")


def chances_table(results: dict[str, BenefitResult], *, hidden: frozenset[str] = frozenset()) -> pd.DataFrame:
    """One row per outcome: the MID and each prior's two chances as percentages (text), for pages and slides."""
    rows = []
    for key, result in results.items():
        row = {"Outcome": result.label, "MID": result.mid_text()}
        for prior in PRIORS:
            p = result.priors[prior]
            shown = key not in hidden
            row[f"{PRIOR_LABELS[prior]}: any benefit"] = percent_chance(p.p_benefit) if shown else "hidden"
            row[f"{PRIOR_LABELS[prior]}: ≥ MID"] = percent_chance(p.p_benefit_mid) if shown else "hidden"
        rows.append(row)
    return pd.DataFrame(rows)


__all__ = ["chances_table", "posterior_chart", "posterior_takeaway", "robustness_chart", "robustness_takeaway"]
