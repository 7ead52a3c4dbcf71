"""Figures for the outcome comparison (recovery, rates, symptom change).

Each builder takes results from :mod:`analysis` and returns a themed ``go.Figure``;
each has a ``*_takeaway`` companion giving the chart's message as one sentence.
"""

from __future__ import annotations

import plotly.graph_objects as go

from analysis import formatting as fmt
from analysis.figures.theme import GROUP_COLOURS, GROUP_ORDER, REFERENCE_COLOUR, apply_theme
from analysis.results import Rate
from analysis.schema import GROUP_CONTROL, GROUP_LABELS, GROUP_PA, RECOVERY_STANDARD


def rate_chart(rates: dict[str, Rate], title: str, reference: float | None = RECOVERY_STANDARD,
               reference_label: str = "National recovery standard 50%",
               hidden: frozenset[str] = frozenset()) -> go.Figure:
    """Rate per group as bars with Wilson 95% CI whiskers and a reference line.

    ``hidden`` names groups whose rate is suppressed (presentation-safe mode): their bar is
    left out and labelled so, never drawn from a hidden number.
    """
    figure = go.Figure()
    for group in GROUP_ORDER:
        rate = rates[group]
        shown = rate.rate is not None and group not in hidden
        lo, hi = rate.ci95 if (rate.ci95 and shown) else (None, None)
        figure.add_trace(go.Bar(
            x=[GROUP_LABELS[group]], y=[rate.rate * 100 if shown else 0], name=GROUP_LABELS[group],
            marker_color=GROUP_COLOURS[group],
            error_y=dict(type="data", symmetric=False, array=[(hi - rate.rate) * 100 if hi is not None else 0],
                         arrayminus=[(rate.rate - lo) * 100 if lo is not None else 0], thickness=2.5, width=14,
                         color="#1a1a1a", visible=lo is not None),
            text=[fmt.percent(rate.rate) if shown else "hidden (small numbers)"], textposition="inside",
            insidetextanchor="start", textfont=dict(size=22, color="white" if shown else "#1a1a1a"),
            hovertemplate=(f"{GROUP_LABELS[group]}: {fmt.percent(rate.rate)} "
                           f"({fmt.ci(rate.ci95, 'percent')})<extra></extra>") if shown else
            f"{GROUP_LABELS[group]}: hidden (small numbers)<extra></extra>",
        ))
    if reference is not None:
        figure.add_hline(y=reference * 100, line_dash="dash", line_color=REFERENCE_COLOUR, line_width=2,
                         annotation_text=reference_label, annotation_position="top right",
                         annotation_font_size=16)
    figure.update_layout(showlegend=False, yaxis=dict(title="Percent (95% CI)", range=[0, 100], ticksuffix="%"),
                         bargap=0.45)
    return apply_theme(figure, title)


def rate_takeaway(rates: dict[str, Rate], what: str = "recovered",
                  hidden: frozenset[str] = frozenset()) -> str:
    """e.g. '63% of the physical activity group recovered (95% CI 41% to 81%) vs 36% of control (16% to 61%).'"""
    if hidden:
        return f"The share who {what} is hidden for at least one group because the numbers are small."
    pa, control = rates[GROUP_PA], rates[GROUP_CONTROL]
    if pa.rate is None or control.rate is None:
        return f"The share who {what} cannot be shown: a group has no one in the denominator."
    return (f"{fmt.percent(pa.rate)} of the physical activity group {what} ({fmt.ci(pa.ci95, 'percent')}) "
            f"compared with {fmt.percent(control.rate)} of the control group ({fmt.ci(control.ci95, 'percent')})"
            "; the intervals overlap widely." if _overlap(pa, control) else
            f"{fmt.percent(pa.rate)} of the physical activity group {what} ({fmt.ci(pa.ci95, 'percent')}) "
            f"compared with {fmt.percent(control.rate)} of the control group ({fmt.ci(control.ci95, 'percent')}).")


def _overlap(a: Rate, b: Rate) -> bool:
    if not a.ci95 or not b.ci95:
        return False
    return a.ci95[0] < b.ci95[1] and b.ci95[0] < a.ci95[1]


__all__ = ["rate_chart", "rate_takeaway", "GROUP_CONTROL"]
