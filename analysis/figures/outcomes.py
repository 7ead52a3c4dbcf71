"""Figures for the outcome comparison (recovery, rates, symptom change).

Each builder takes results from :mod:`analysis` and returns a themed ``go.Figure``;
each has a ``*_takeaway`` companion giving the chart's message as one sentence,
computed from the same numbers the chart draws.

Presentation-safe mode: builders that can draw participants take ``show_points`` (or
are not called at all); ``hidden`` names groups whose figures are suppressed, and their
marks are left out and labelled so, never drawn from a hidden number.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis import formatting as fmt
from analysis.compare import MeasureComparison, RateComparison
from analysis.disclosure import FEWER_THAN, count_shown, safe_rate
from analysis.figures.theme import (
    CATEGORY_COLOURS,
    GROUP_COLOURS,
    GROUP_INK,
    GROUP_ORDER,
    REFERENCE_COLOUR,
    apply_theme,
)
from analysis.outcomes import OUTCOME_CATEGORIES, RATE_DEFINITIONS
from analysis.results import Rate
from analysis.schema import (
    GROUP_CONTROL,
    GROUP_LABELS,
    GROUP_PA,
    RECOVERY_STANDARD,
    RELIABLE_IMPROVEMENT_REFERENCE,
    Measure,
)
from analysis.trajectories import POOLED_CATEGORY


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
            text=[fmt.percent(rate.rate) if shown else "hidden (small numbers)"], textposition="none",
            hovertemplate=(f"{GROUP_LABELS[group]}: {fmt.percent(rate.rate)} "
                           f"({fmt.ci(rate.ci95, 'percent')})<extra></extra>") if shown else
            f"{GROUP_LABELS[group]}: hidden (small numbers)<extra></extra>",
        ))
        # The value above the whisker's top, where the whisker cannot run through it.
        top = (hi if hi is not None else rate.rate) * 100 if shown else 0
        figure.add_annotation(x=GROUP_LABELS[group], y=top, xref="x", yref="y", showarrow=False, yanchor="bottom",
                              yshift=4, text=fmt.percent(rate.rate) if shown else "hidden (small numbers)",
                              font=dict(size=22 if shown else 16, color=GROUP_INK[group] if shown else "#1a1a1a"))
    if reference is not None:  # labelled outside the plot, where no bar or whisker can cross it
        import textwrap

        _hline(figure, reference * 100, dash="dash", text="<br>".join(textwrap.wrap(reference_label, 12)),
               outside=True)
    figure.update_layout(showlegend=False, xaxis=dict(ticklabelstandoff=10),
                         yaxis=dict(title="Percent (95% CI)", range=[0, 112], ticksuffix="%",
                                                      tickvals=_PERCENT_TICKS, ticktext=[f"{v}%" for v in _PERCENT_TICKS]),
                         bargap=0.45)
    apply_theme(figure, title)
    if reference is not None:
        figure.update_layout(margin=dict(r=LABEL_MARGIN))
    return figure


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




# --- helpers ----------------------------------------------------------------------

TOP_MARGIN = 95  # room for the title above a legend that sits on top of the plot
LABEL_MARGIN = 130  # right margin for reference-line labels drawn outside the plot


def _rgba(colour: str, alpha: float) -> str:
    """'#0072B2' -> 'rgba(0,114,178,0.2)'."""
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


MAX_CHART_POINTS: Final = 10_000  # the most participant-level points one chart sends to the browser
CHART_SAMPLE_SEED: Final = 20240817


def _sample_participants(frame: pd.DataFrame, max_participants: int) -> pd.DataFrame:
    """At most ``max_participants`` participants of ``frame`` (all their rows), drawn with a fixed seed."""
    ids = frame["participant_id"].drop_duplicates()
    if len(ids) <= max_participants:
        return frame
    keep = ids.sample(n=max_participants, random_state=CHART_SAMPLE_SEED)
    return frame[frame["participant_id"].isin(keep)]


def _sampling_note(figure: go.Figure, shown: int, total: int) -> None:
    """Say on the chart itself that it draws a sample (every figure and statistic still uses everyone)."""
    if shown < total:
        figure.add_annotation(
            text=f"Drawing a random {shown:,} of {total:,} participants so the chart stays fast; "
                 "every number uses everyone.", xref="paper", yref="paper", x=0, y=-0.18, xanchor="left",
            yanchor="top", showarrow=False, font=dict(size=14, color=REFERENCE_COLOUR))


def _hline(figure: go.Figure, y: float, colour: str = REFERENCE_COLOUR, dash: str = "solid", width: float = 2,
           text: str | None = None, above: bool = True, xref: str = "x", yref: str = "y",
           outside: bool = False) -> go.Figure:
    """A full-width horizontal reference line, with an optional label.

    The label sits at the line's right end inside the plot, or just outside it when
    ``outside`` (then the figure needs a right margin, :data:`LABEL_MARGIN`), where no data
    point can hide it. The same shape ``Figure.add_hline`` draws, added directly:
    ``add_hline`` costs about 9 ms a call, which adds up on every page rerun.
    """
    figure.add_shape(type="line", xref=f"{xref} domain", yref=yref, x0=0, x1=1, y0=y, y1=y,
                     line=dict(color=colour, dash=dash, width=width))
    if text:
        figure.add_annotation(xref=f"{xref} domain", yref=yref, x=1, y=y, showarrow=False, text=text,
                              xanchor="left" if outside else "right", xshift=6 if outside else 0,
                              yanchor="middle" if outside else ("bottom" if above else "top"),
                              align="left", font=dict(size=16, color=colour))
    return figure


def _vline(figure: go.Figure, x: float, colour: str = REFERENCE_COLOUR, dash: str = "solid",
           width: float = 2) -> go.Figure:
    """A full-height vertical reference line (as ``Figure.add_vline`` draws, without its cost)."""
    figure.add_shape(type="line", xref="x", yref="y domain", x0=x, x1=x, y0=0, y1=1,
                     line=dict(color=colour, dash=dash, width=width))
    return figure


def _finish(figure: go.Figure, title: str, height: int = 460, right: int | None = None) -> go.Figure:
    """Theme the figure, then keep the title clear of a legend placed above the plot."""
    apply_theme(figure, title, height=height)
    margin = dict(t=TOP_MARGIN)
    if right is not None:
        margin["r"] = right
    figure.update_layout(margin=margin, title=dict(y=0.98, yanchor="top"),
                         legend=dict(y=1.0, yanchor="bottom", x=0, xanchor="left"))
    return figure


def _lines_with_gaps(groups: list[tuple[list[float], list[float]]]) -> tuple[list, list]:
    """Concatenate many polylines into one trace, separated by None (fast to draw and send)."""
    xs: list = []
    ys: list = []
    for x, y in groups:
        xs.extend([*x, None])
        ys.extend([*y, None])
    return xs, ys


def _cut_text(measure: Measure) -> str:
    return f"Cut-off {fmt.number(measure.caseness, 0 if measure.integer else 1)}"


# --- symptom change -------------------------------------------------------------------

_OFFSET = 0.06  # horizontal offset between the groups' markers, so whiskers do not overlap


def first_last_chart(comparison: MeasureComparison, measure: Measure,
                     hidden: frozenset[str] = frozenset(), safe: bool = False) -> go.Figure:
    """Mean first and last score per group with t-based 95% CI whiskers, joined by a line.

    Draws ``GroupDescriptives.mean_first/mean_last`` with ``ci95_first/ci95_last``; a dotted
    line marks the caseness cut-off where the measure has one. Groups in ``hidden`` (or with
    no one) are left out. The values are in the hover and the table beside the chart, not
    printed on it (labels of two close groups collide). ``safe``: n in the hover as
    presentation-safe mode shows a count.
    """
    figure = go.Figure()
    for i, group in enumerate(GROUP_ORDER):
        d = comparison.descriptives[group]
        if group in hidden or d.mean_first is None or d.mean_last is None:
            continue
        offset = -_OFFSET if i == 0 else _OFFSET
        means = [d.mean_first, d.mean_last]
        cis = [d.ci95_first, d.ci95_last]
        plus = [(ci[1] - m) if ci else 0 for m, ci in zip(means, cis, strict=True)]
        minus = [(m - ci[0]) if ci else 0 for m, ci in zip(means, cis, strict=True)]
        figure.add_trace(go.Scatter(
            x=[0 + offset, 1 + offset], y=means, mode="lines+markers", name=GROUP_LABELS[group],
            line=dict(color=GROUP_COLOURS[group], width=4), marker=dict(size=14, color=GROUP_COLOURS[group]),
            error_y=dict(type="data", symmetric=False, array=plus, arrayminus=minus, thickness=2.5, width=10,
                         color=GROUP_COLOURS[group], visible=any(cis)),
            hovertemplate=[f"{GROUP_LABELS[group]}, {when}: mean {fmt.number(m)} ({fmt.ci(ci)}), "
                           f"n = {count_shown(d.n, safe)}"
                           "<extra></extra>" for when, m, ci in zip(("first", "last"), means, cis, strict=True)],
        ))
    if measure.caseness is not None:
        _hline(figure, measure.caseness, dash="dot", text=_cut_text(measure), outside=True)
    figure.update_layout(
        xaxis=dict(tickvals=[0, 1], ticktext=["First score", "Last score"], range=[-0.45, 1.45]),
        yaxis=dict(title=f"Mean {measure.label} (95% CI)", range=[measure.minimum, measure.maximum]))
    return _finish(figure, f"{measure.label}: mean first and last score", right=LABEL_MARGIN)


def first_last_takeaway(comparison: MeasureComparison, hidden: frozenset[str] = frozenset(),
                        safe: bool = False) -> str:
    """e.g. 'Mean PHQ-9 went from 14.8 to 8.8 in the physical activity group and from ...'
    (``safe``: each n as presentation-safe mode shows a count)."""
    parts = []
    for group in GROUP_ORDER:
        d = comparison.descriptives[group]
        name = f"the {GROUP_LABELS[group].lower()} group"
        if group in hidden:
            parts.append(f"is hidden for {name} ({FEWER_THAN} people)")
        elif d.mean_first is None or d.mean_last is None:
            parts.append(f"cannot be shown for {name} (no one with both scores)")
        else:
            parts.append(f"went from {fmt.number(d.mean_first)} to {fmt.number(d.mean_last)} in {name} "
                         f"(n = {count_shown(d.n, safe)})")
    return f"Mean {comparison.label} " + " and ".join(parts) + "."


def change_distribution_chart(comparison: MeasureComparison, measure: Measure, show_points: bool = True,
                              hidden: frozenset[str] = frozenset()) -> go.Figure:
    """Change (last − first) per group, with the MCID and no-change reference lines.

    ``show_points=True``: a box per group with every participant as a point (jittered
    sideways) and the mean as a dashed line in the box. ``show_points=False``
    (presentation-safe): only the mean change with its t-based 95% CI, no participant marks.
    A dashed line at −MCID marks "a fall of the minimal clinically important difference".
    """
    figure = go.Figure()
    scores = comparison.scores
    too_many = show_points and len(scores) > MAX_CHART_POINTS
    if too_many:  # a box plot sends every value to the browser: draw means and CIs instead
        show_points = False
    for group in GROUP_ORDER:
        d = comparison.descriptives[group]
        if group in hidden or d.n == 0 or d.mean_change is None:
            continue
        label = GROUP_LABELS[group]
        if show_points:
            change = scores.loc[scores["group"] == group, "change"].to_numpy(dtype="float64")
            figure.add_trace(go.Box(
                y=change, x=[label] * len(change), name=label, boxpoints="all", jitter=0.45, pointpos=0,
                boxmean=True, marker=dict(color=GROUP_COLOURS[group], size=10, opacity=0.75,
                                          line=dict(color="white", width=1)),
                line=dict(color=GROUP_COLOURS[group], width=2.5), fillcolor=_rgba(GROUP_COLOURS[group], 0.15),
                hovertemplate=f"{label}: change %{{y}}<extra></extra>"))
        else:
            ci = d.ci95_change
            figure.add_trace(go.Scatter(
                x=[label], y=[d.mean_change], mode="markers+text", name=label,
                marker=dict(size=18, color=GROUP_COLOURS[group], symbol="diamond"),
                error_y=dict(type="data", symmetric=False, array=[(ci[1] - d.mean_change) if ci else 0],
                             arrayminus=[(d.mean_change - ci[0]) if ci else 0], thickness=3, width=14,
                             color=GROUP_COLOURS[group], visible=ci is not None),
                text=[fmt.number(d.mean_change)], textposition="middle right" if group == GROUP_PA else "middle left",
                textfont=dict(size=18, color=GROUP_INK[group]),
                hovertemplate=f"{label}: mean change {fmt.number(d.mean_change)} ({fmt.ci(ci)})<extra></extra>"))
    _hline(figure, 0, colour="#999999", width=1.5, text="No change", outside=True)
    if measure.mcid is not None:
        _hline(figure, -measure.mcid, dash="dash", text=f"MCID: a fall<br>of {fmt.number(measure.mcid, 0)} points",
               outside=True)
    span = measure.maximum - measure.minimum
    figure.update_layout(showlegend=False, yaxis=dict(
        title=f"Change in {measure.label} (last − first)" + ("" if show_points else ", mean (95% CI)"),
        range=[-span * 0.85, span * 0.55] if not show_points else None, zeroline=False),
        xaxis=dict(categoryorder="array", categoryarray=[GROUP_LABELS[g] for g in GROUP_ORDER]))
    if too_many:
        figure.add_annotation(
            text=f"{len(scores):,} participants: drawn as means with 95% CIs, not one point each.",
            xref="paper", yref="paper", x=0, y=-0.12, xanchor="left", yanchor="top", showarrow=False,
            font=dict(size=14, color=REFERENCE_COLOUR))
    return _finish(figure, f"{measure.label}: change from first to last score", right=LABEL_MARGIN)


def change_distribution_takeaway(comparison: MeasureComparison, measure: Measure, show_points: bool = True,
                                 hidden: frozenset[str] = frozenset(), safe: bool = False) -> str:
    """Mean change per group and, where the measure has an MCID, the share reaching it (``safe``: left
    out when a share rests on a count below 5, as presentation-safe mode hides it)."""
    parts = []
    for group in GROUP_ORDER:
        d = comparison.descriptives[group]
        name = f"the {GROUP_LABELS[group].lower()} group"
        if group in hidden:
            parts.append(f"{name}: hidden ({FEWER_THAN} people)")
        elif d.mean_change is None:
            parts.append(f"{name}: no one with both scores")
        else:
            parts.append(f"{name}: mean {fmt.number(d.mean_change)} ({fmt.ci(d.ci95_change)})")
    text = f"{comparison.label} change (negative = improvement) — " + "; ".join(parts) + "."
    mcid = comparison.mcid
    if measure.mcid is not None and mcid is not None and not hidden:
        pa, control = mcid.groups[GROUP_PA], mcid.groups[GROUP_CONTROL]
        if safe:
            pa, control = (Rate(r.group, r.count, r.denominator, safe_rate(r.count, r.denominator, r.rate), r.ci95)
                           for r in (pa, control))
        if pa.rate is not None and control.rate is not None:
            text += (f" {fmt.percent(pa.rate)} of the physical activity group and {fmt.percent(control.rate)} of "
                     f"the control group fell by at least the MCID of {fmt.number(measure.mcid, 0)} points "
                     "(dashed line).")
    if not show_points:
        text += " Individual participants are not drawn in presentation-safe mode."
    return text


def slope_chart(comparison: MeasureComparison, measure: Measure) -> go.Figure:
    """Each participant's first → last score as a faint line, one panel per group, with the
    group mean as a thick line. Participant-level: not for presentation-safe mode.

    The two panels share the y axis (``x``/``x2`` side by side; built directly rather than
    with ``make_subplots``, which costs ~17 ms a call).
    """
    figure = go.Figure()
    scores = comparison.scores
    shown = 0
    gap = 0.06
    domains = [[0, 0.5 - gap / 2], [0.5 + gap / 2, 1]]
    for col, group in enumerate(GROUP_ORDER):
        axis = "x" if col == 0 else "x2"
        everyone = scores[scores["group"] == group]
        sub = _sample_participants(everyone, MAX_CHART_POINTS // 6)  # first, last and a gap a line; two groups
        shown += len(sub)
        colour = GROUP_COLOURS[group]
        if len(sub):
            xs, ys = _lines_with_gaps([([0, 1], [f, la]) for f, la in zip(sub["first"], sub["last"], strict=True)])
            figure.add_trace(go.Scatter(
                x=xs, y=ys, xaxis=axis, yaxis="y", mode="lines+markers", name=f"{GROUP_LABELS[group]}: participants",
                line=dict(color=_rgba(colour, 0.35), width=2), marker=dict(color=_rgba(colour, 0.5), size=7),
                hoverinfo="skip", showlegend=False))
        d = comparison.descriptives[group]
        if d.mean_first is not None and d.mean_last is not None:
            figure.add_trace(go.Scatter(
                x=[0, 1], y=[d.mean_first, d.mean_last], xaxis=axis, yaxis="y", mode="lines+markers",
                name=f"{GROUP_LABELS[group]}: mean", line=dict(color=colour, width=6),
                marker=dict(color=colour, size=14), showlegend=False,
                hovertemplate=f"{GROUP_LABELS[group]} mean: %{{y:.1f}}<extra></extra>"))
        figure.add_annotation(text=f"{GROUP_LABELS[group]} (n = {len(everyone)})", xref=f"{axis} domain", yref="paper",
                              x=0.5, y=1.0, yanchor="bottom", showarrow=False, font=dict(size=18, color=GROUP_INK[group]))
        if measure.caseness is not None:
            _hline(figure, measure.caseness, dash="dot", xref=axis,
                   text=_cut_text(measure) if col == 1 else None, outside=True)
    x_axis = dict(tickvals=[0, 1], ticktext=["First", "Last"], range=[-0.15, 1.15])
    figure.update_layout(
        xaxis=dict(domain=domains[0], **x_axis), xaxis2=dict(domain=domains[1], anchor="y", **x_axis),
        yaxis=dict(title=measure.label, range=[measure.minimum, measure.maximum]))
    _sampling_note(figure, shown, len(scores))
    return _finish(figure, f"{measure.label}: each participant's first and last score",
                   right=LABEL_MARGIN if measure.caseness is not None else None)


def slope_takeaway(comparison: MeasureComparison, directions: pd.DataFrame) -> str:
    """How many participants' scores fell / rose per group (``trajectories.direction_counts``)."""
    parts = []
    rows = directions.set_index("group")
    for group in GROUP_ORDER:
        row = rows.loc[group]
        if int(row["n"]) == 0:
            parts.append(f"no one in the {GROUP_LABELS[group].lower()} group has both scores")
            continue
        parts.append(f"{int(row['fell'])} of {int(row['n'])} in the {GROUP_LABELS[group].lower()} group fell "
                     f"and {int(row['rose'])} rose")
    return (f"Each faint line is one participant's {comparison.label}, the thick line the group mean: "
            + "; ".join(parts) + ".")


def trajectory_chart(summary: pd.DataFrame, measure: Measure, scores: pd.DataFrame | None = None,
                     min_n: int = 1, safe: bool = False) -> go.Figure:
    """Mean score per session number per group with a shaded t-based 95% CI band.

    ``summary`` is :func:`analysis.trajectories.trajectory_summary` output; sessions with
    fewer than ``min_n`` people have no mean drawn (presentation-safe mode uses 5). ``scores``
    (:func:`analysis.trajectories.session_scores`) adds each participant's path as a faint
    line; pass None in presentation-safe mode.
    """
    figure = go.Figure()
    sampled = False
    for group in GROUP_ORDER:
        colour = GROUP_COLOURS[group]
        label = GROUP_LABELS[group]
        rows = summary[(summary["group"] == group) & (summary["n"] >= min_n)]
        if scores is not None:
            everyone = scores[scores["group"] == group]
            # Each group's half of the point budget, less its mean line and CI band (3 points a session);
            # a path costs its sessions plus the gap that ends it.
            budget = MAX_CHART_POINTS // 2 - 3 * len(rows)
            per_path = max(len(everyone) / max(everyone["participant_id"].nunique(), 1), 1.0) + 1
            sub = _sample_participants(everyone, max(int(budget / per_path), 0))
            paths = [(p["session"].tolist(), p["score"].tolist()) for _, p in sub.groupby("participant_id")]
            used = np.cumsum([len(x) + 1 for x, _ in paths])
            paths = paths[:int(np.searchsorted(used, budget, side="right"))]  # whole paths within the budget
            sampled = sampled or len(paths) < everyone["participant_id"].nunique()
            if paths:
                xs, ys = _lines_with_gaps(paths)
                figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"{label}: participants",
                                            line=dict(color=_rgba(colour, 0.18), width=1.5), hoverinfo="skip",
                                            showlegend=False))
        if len(rows) == 0:
            continue
        band = rows.dropna(subset=["ci_low", "ci_high"])
        if len(band):
            figure.add_trace(go.Scatter(
                x=[*band["session"], *band["session"][::-1]], y=[*band["ci_high"], *band["ci_low"][::-1]],
                mode="lines", fill="toself", fillcolor=_rgba(colour, 0.18), line=dict(width=0), hoverinfo="skip",
                name=f"{label}: 95% CI", showlegend=False))
        figure.add_trace(go.Scatter(
            x=rows["session"], y=rows["mean"], mode="lines+markers", name=label,
            line=dict(color=colour, width=4), marker=dict(color=colour, size=10),
            customdata=np.column_stack([[count_shown(int(n), safe) for n in rows["n"]]]),
            hovertemplate=f"{label}, session %{{x}}: mean %{{y:.1f}} (n = %{{customdata[0]}})<extra></extra>"))
    if measure.caseness is not None:
        _hline(figure, measure.caseness, dash="dot", text=_cut_text(measure), outside=True)
    figure.update_layout(xaxis=dict(title="Session number", dtick=1),
                         yaxis=dict(title=f"Mean {measure.label} (95% CI)", range=[measure.minimum, measure.maximum]))
    if sampled:
        figure.add_annotation(
            text="Faint lines: a random sample of participants so the chart stays fast; the means use everyone.",
            xref="paper", yref="paper", x=0, y=-0.18, xanchor="left", yanchor="top", showarrow=False,
            font=dict(size=14, color=REFERENCE_COLOUR))
    return _finish(figure, f"{measure.label} session by session",
                   right=LABEL_MARGIN if measure.caseness is not None else None)


def trajectory_takeaway(summary: pd.DataFrame, measure: Measure, min_n: int = 1,
                        individual_lines: bool = True, safe: bool = False) -> str:
    """Where each group's mean started and ended over the sessions drawn."""
    parts = []
    for group in GROUP_ORDER:
        rows = summary[(summary["group"] == group) & (summary["n"] >= min_n)].sort_values("session")
        name = f"the {GROUP_LABELS[group].lower()} group"
        if len(rows) == 0:
            parts.append(f"no session is shown for {name}")
            continue
        first, last = rows.iloc[0], rows.iloc[-1]
        parts.append(f"in {name} the mean went from {fmt.number(first['mean'])} at session "
                     f"{fmt.number(first['session'], 0)} (n = {count_shown(int(first['n']), safe)}) to "
                     f"{fmt.number(last['mean'])} at session {fmt.number(last['session'], 0)} "
                     f"(n = {count_shown(int(last['n']), safe)})")
    text = f"Mean {measure.label} by session: " + "; ".join(parts) + "."
    if min_n > 1:
        text += f" Means resting on fewer than {min_n} people are not drawn."
    text += (" Faint lines are individual participants." if individual_lines else
             " Individual participants are not drawn in presentation-safe mode.")
    return text


# --- recovery and reliable change ------------------------------------------------------

RATE_REFERENCES: dict[str, tuple[float, str]] = {
    "recovery": (RECOVERY_STANDARD, f"Recovery standard {fmt.percent(RECOVERY_STANDARD)}"),
    "reliable_improvement": (RELIABLE_IMPROVEMENT_REFERENCE, "About 2 in 3 reliably improve"),
}
_REFERENCE_DASH = {"recovery": "dash", "reliable_improvement": "dot"}
_BARGAP = 0.25
_PERCENT_TICKS = list(range(0, 101, 20))  # the axis runs to 112% to leave room for values above whiskers
# Centre of each group's bar relative to its category (two bars share 1 − bargap of the slot).
_GROUP_OFFSETS = [(slot - 0.5) * (1 - _BARGAP) / 2 for slot in range(2)]


def _labels_above_whiskers(figure: go.Figure, xs: list[float], tops: list[float], texts: list[str],
                           colour: str) -> None:
    """Write each bar's value just above its whisker (or bar) top, in the group's text colour."""
    for x, top, text in zip(xs, tops, texts, strict=True):
        figure.add_annotation(x=x, y=top, xref="x", yref="y", text=text, showarrow=False, yanchor="bottom",
                              yshift=4, font=dict(size=18, color=colour))


def rates_chart(rates: Mapping[str, RateComparison],
                hidden: Mapping[str, frozenset[str]] | None = None,
                references: Mapping[str, tuple[float, str]] | None = None) -> go.Figure:
    """The outcome rates as grouped bars (one colour per group) with Wilson 95% CI whiskers.

    Reference segments sit over their own rate only, and are named in the legend: the
    national recovery standard (50%) over recovery and "about two in three" over reliable
    improvement. ``hidden[rate]`` names groups whose rate is suppressed in presentation-safe
    mode; their bar is not drawn and is labelled "hidden". ``references`` replaces those lines
    (rate -> (value, legend text)), e.g. England's published rates from
    :func:`analysis.national.rate_references`.
    """
    hidden = dict(hidden or {})
    keys = list(rates)
    labels = [RATE_DEFINITIONS[k].label.replace(" ", "<br>", 1) for k in keys]
    figure = go.Figure()
    for group in GROUP_ORDER:
        ys, plus, minus, texts, hovers = [], [], [], [], []
        for key in keys:
            rate = rates[key].groups[group]
            shown = rate.rate is not None and group not in hidden.get(key, frozenset())
            ys.append(rate.rate * 100 if shown else 0)
            lo, hi = rate.ci95 if (shown and rate.ci95) else (None, None)
            plus.append((hi - rate.rate) * 100 if hi is not None else 0)
            minus.append((rate.rate - lo) * 100 if lo is not None else 0)
            texts.append(fmt.percent(rate.rate) if shown else ("hidden" if rate.rate is not None else "n/a"))
            hovers.append(f"{GROUP_LABELS[group]}, {RATE_DEFINITIONS[key].label}: "
                          + (f"{fmt.percent(rate.rate)} ({fmt.ci(rate.ci95, 'percent')})" if shown else texts[-1]))
        # The value is written above the whisker's top (``_labels_above_whiskers``), never inside the
        # bar where the whisker would run through it; ``text`` keeps it for hover and for tests.
        figure.add_trace(go.Bar(
            x=labels, y=ys, name=GROUP_LABELS[group], marker_color=GROUP_COLOURS[group], text=texts,
            textposition="none", cliponaxis=False,
            error_y=dict(type="data", symmetric=False, array=plus, arrayminus=minus, thickness=2, width=8,
                         color="#1a1a1a"),
            hovertext=hovers, hoverinfo="text"))
        slot = GROUP_ORDER.index(group)
        _labels_above_whiskers(figure, [i + _GROUP_OFFSETS[slot] for i in range(len(keys))],
                               [y + p for y, p in zip(ys, plus, strict=True)], texts, GROUP_INK[group])
    for key, (value, text) in (RATE_REFERENCES if references is None else references).items():
        if key not in keys:
            continue
        i = keys.index(key)
        line = dict(color=REFERENCE_COLOUR, width=3, dash=_REFERENCE_DASH[key])
        figure.add_shape(type="line", xref="x", yref="y", x0=i - 0.45, x1=i + 0.45, y0=value * 100, y1=value * 100,
                         line=line)
        figure.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=line, name=text, hoverinfo="skip"))
    figure.update_layout(barmode="group", bargap=_BARGAP, bargroupgap=0.08,
                         yaxis=dict(title="Percent (Wilson 95% CI)", range=[0, 112], ticksuffix="%",
                                    tickvals=_PERCENT_TICKS, ticktext=[f"{v}%" for v in _PERCENT_TICKS]),
                         xaxis=dict(categoryorder="array", categoryarray=labels, tickangle=0))
    return _finish(figure, "Outcome rates by group", height=500)


def rates_takeaway(rates: Mapping[str, RateComparison], hidden: Mapping[str, frozenset[str]] | None = None,
                   references: Mapping[str, tuple[float, str]] | None = None,
                   reference_name: str = "the national figures") -> str:
    """One clause per rate: PA vs control, and the reference where there is one (``references`` as
    given to :func:`rates_chart`, named ``reference_name``)."""
    hidden = dict(hidden or {})
    parts = []
    for key, comparison in rates.items():
        label = RATE_DEFINITIONS[key].label
        pa, control = comparison.groups[GROUP_PA], comparison.groups[GROUP_CONTROL]
        if hidden.get(key):
            parts.append(f"{label} hidden (small numbers)")
        elif pa.rate is None or control.rate is None:
            parts.append(f"{label} not available (a group has no one in the denominator)")
        else:
            parts.append(f"{label} {fmt.percent(pa.rate)} vs {fmt.percent(control.rate)}")
    text = "Physical activity vs control: " + "; ".join(parts) + "."
    decimals = 0 if references is None else 1  # published rates have one decimal
    refs = [f"{fmt.percent(value, decimals)} for {RATE_DEFINITIONS[k].label.lower()}" for k, (value, _) in
            (RATE_REFERENCES if references is None else references).items() if k in rates]
    if refs:
        text += f" The reference lines mark {reference_name} (" + ", ".join(refs) + ")."
    return text


_DARK_TEXT_COLOURS = frozenset({"#DDDDDD", "#BBBBBB", "#56B4E9", "#999999", "#009E73", "#A6DBC8"})


def outcome_categories_chart(counts: pd.DataFrame) -> go.Figure:
    """Each group's finishers split into the mutually exclusive outcome categories (100% stacked).

    ``counts`` is :func:`analysis.outcomes.outcome_category_counts` output, or the pooled version
    from :func:`analysis.trajectories.pool_small_categories` (presentation-safe), in which pooled
    cells are drawn grey and hatched with no percentage. Colours: ``theme.CATEGORY_COLOURS``,
    best outcome first. Groups with no finishers are left out.
    """
    figure = go.Figure()
    present = [g for g in GROUP_ORDER if ((counts["group"] == g) & (counts["denominator"] > 0)).any()]
    y = [GROUP_LABELS[g] for g in present]
    categories = [*OUTCOME_CATEGORIES, POOLED_CATEGORY]
    colours = [*CATEGORY_COLOURS, "#BBBBBB"]
    for category, colour in zip(categories, colours, strict=True):
        rows = counts[counts["category"] == category].set_index("group")
        if category == POOLED_CATEGORY and rows.empty:
            continue
        shares = [float(rows.loc[g, "share"]) * 100 if g in rows.index and pd.notna(rows.loc[g, "share"])
                  else 0.0 for g in present]
        pooled = category == POOLED_CATEGORY
        figure.add_trace(go.Bar(
            y=y, x=shares, name=category, orientation="h", marker=dict(
                color=colour, line=dict(color="white", width=1),
                pattern=dict(shape="/" if pooled else "", fgcolor="#777777")),
            text=["" if pooled or s < 8 else f"{s:.0f}%" for s in shares], textposition="inside",
            insidetextanchor="middle", textangle=0,
            textfont=dict(size=18, color="#1a1a1a" if colour in _DARK_TEXT_COLOURS else "white"),
            hovertemplate=[f"{GROUP_LABELS[g]}: {category} " + ("(pooled, hidden)" if pooled else f"{s:.0f}%")
                           + "<extra></extra>" for g, s in zip(present, shares, strict=True)]))
    figure.update_layout(barmode="stack", xaxis=dict(range=[0, 100], ticksuffix="%"),
                         yaxis=dict(autorange="reversed"), uniformtext=dict(minsize=14, mode="hide"))
    _finish(figure, "Outcome of every finisher (share of finishers)", height=560)
    figure.update_layout(legend=dict(orientation="v", y=-0.12, yanchor="top", x=0, font=dict(size=16),
                                     traceorder="normal"),
                         margin=dict(l=160, t=60, b=230))
    return figure


def outcome_categories_takeaway(counts: pd.DataFrame) -> str:
    """Reliable recovery and reliable deterioration shares per group, as drawn."""
    parts = []
    for group in GROUP_ORDER:
        sub = counts[counts["group"] == group].set_index("category")
        name = GROUP_LABELS[group].lower()
        if sub.empty or int(sub["denominator"].iloc[0]) == 0:
            parts.append(f"the {name} group has no finishers shown")
            continue
        bits = []
        for category in (OUTCOME_CATEGORIES[0], OUTCOME_CATEGORIES[4]):
            if category in sub.index:
                bits.append(f"{category.lower()} {fmt.percent(float(sub.loc[category, 'share']))}")
            else:
                bits.append(f"{category.lower()} pooled with other small categories")
        parts.append(f"in the {name} group " + ", ".join(bits))
    return "Of everyone who finished treatment: " + "; ".join(parts) + "."


def first_last_scatter(scores: pd.DataFrame, measure: Measure, jitter: float = 0.2, seed: int = 1) -> go.Figure:
    """Jacobson–Truax style plot: first score (x) against last score (y), one colour per group.

    Reference lines: the caseness cut-off on both axes (dotted), the diagonal of no change
    (solid) and the reliable-change band (shaded, dashed edges at ± RC around the diagonal;
    points below the band reliably improved, above it reliably deteriorated) (Jacobson &
    Truax 1991). Points are moved by at most ``jitter`` points (seeded) so identical scores
    do not hide each other; the hover shows the true scores. Participant-level: not for
    presentation-safe mode.
    """
    if measure.caseness is None or measure.reliable_change is None:
        raise ValueError(f"{measure.label} has no caseness cut-off or reliable change index.")
    rng = np.random.default_rng(seed)
    lo, hi = measure.minimum, measure.maximum
    rc, cut = measure.reliable_change, measure.caseness
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=[lo, hi, hi, lo], y=[lo - rc, hi - rc, hi + rc, lo + rc], mode="lines",
                                fill="toself", fillcolor="rgba(120,120,120,0.10)", line=dict(width=0),
                                hoverinfo="skip", name=f"No reliable change (within ± {rc:g})"))
    for offset, dash in ((0, "solid"), (-rc, "dash"), (rc, "dash")):
        figure.add_shape(type="line", x0=lo, x1=hi, y0=lo + offset, y1=hi + offset, xref="x", yref="y",
                         line=dict(color=REFERENCE_COLOUR, width=2 if offset == 0 else 1.5, dash=dash))
    _vline(figure, cut, dash="dot")
    _hline(figure, cut, dash="dot")
    shown = 0
    for group in GROUP_ORDER:
        # half the point budget per group, less the 4 corners of the no-reliable-change band
        sub = _sample_participants(scores[scores["group"] == group], (MAX_CHART_POINTS - 4) // 2)
        shown += len(sub)
        if len(sub) == 0:
            continue
        first = sub["first"].to_numpy(dtype="float64")
        last = sub["last"].to_numpy(dtype="float64")
        shift = rng.uniform(-jitter, jitter, size=(2, len(sub))) if jitter else np.zeros((2, len(sub)))
        figure.add_trace(go.Scatter(
            x=first + shift[0], y=last + shift[1], mode="markers", name=GROUP_LABELS[group],
            marker=dict(color=GROUP_COLOURS[group], size=13, opacity=0.8, line=dict(color="white", width=1),
                        symbol="circle" if group == GROUP_PA else "diamond"),
            customdata=np.column_stack([first, last]),
            hovertemplate=f"{GROUP_LABELS[group]}: first %{{customdata[0]:g}}, last %{{customdata[1]:g}}"
                          "<extra></extra>"))
    pad = (hi - lo) * 0.03
    figure.add_annotation(x=hi - pad, y=lo + pad, text="Reliably improved", showarrow=False, xanchor="right",
                          yanchor="bottom", font=dict(size=16, color=REFERENCE_COLOUR))
    figure.add_annotation(x=lo + pad, y=hi - pad, text="Reliably deteriorated", showarrow=False, xanchor="left",
                          yanchor="top", font=dict(size=16, color=REFERENCE_COLOUR))
    figure.update_layout(
        xaxis=dict(title=f"First {measure.label} (cut-off {fmt.number(cut, 0 if measure.integer else 1)})",
                   range=[lo - pad, hi + pad], constrain="domain"),
        yaxis=dict(title=f"Last {measure.label}", range=[lo - pad, hi + pad], scaleanchor="x", scaleratio=1))
    _sampling_note(figure, shown, len(scores))
    return _finish(figure, f"{measure.label}: first against last score", height=600)


def first_last_scatter_takeaway(jt: pd.DataFrame, measure: Measure) -> str:
    """Counts per Jacobson–Truax region (``trajectories.jacobson_truax_counts``) in words."""
    parts = []
    rows = jt.set_index("group")
    for group in GROUP_ORDER:
        row = rows.loc[group]
        name = GROUP_LABELS[group].lower()
        if int(row["n"]) == 0:
            parts.append(f"no one in the {name} group has both scores")
            continue
        parts.append(f"{int(row['reliably_improved'])} of {int(row['n'])} in the {name} group reliably improved "
                     f"and {int(row['reliably_deteriorated'])} reliably deteriorated; "
                     f"{int(row['below_cutoff_at_last_of_cases'])} of the {int(row['cases_at_first'])} who started "
                     "at caseness ended below the cut-off")
    return (f"On {measure.label} alone (a fall or rise of at least {fmt.number(measure.reliable_change, 0)} points "
            f"is reliable; caseness is {fmt.number(measure.caseness, 0)} or more): " + "; ".join(parts) + ".")


__all__ = [
    "change_distribution_chart", "change_distribution_takeaway", "first_last_chart",
    "first_last_scatter", "first_last_scatter_takeaway", "first_last_takeaway", "outcome_categories_chart",
    "outcome_categories_takeaway", "rate_chart", "rate_takeaway", "rates_chart", "rates_takeaway",
    "slope_chart", "slope_takeaway", "trajectory_chart", "trajectory_takeaway",
]
