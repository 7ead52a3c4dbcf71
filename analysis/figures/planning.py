"""Figures and inputs for "Planning the next evaluation": sample size and power.

The planning numbers come from :mod:`analysis.power` (two-sided tests; rates by the
normal approximation on Cohen's h, means by the t test on Cohen's d; Cohen 1988). This
module gathers the pilot's estimates to start from (:func:`pilot_effects`), the table of
participants needed (:func:`requirements_table`), the power curve with the pilot's size
marked (:func:`power_curve_chart`) and its one-sentence takeaway.

Power is always for a *chosen* effect. When the chosen effect is the pilot's own estimate,
the curve's height at the pilot's size is "observed power", which restates the pilot's p
value and is not evidence (Hoenig & Heisey 2001, :data:`analysis.power.OBSERVED_POWER_WARNING`):
the takeaway then never states it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis import formatting as fmt
from analysis import power
from analysis.compare import measure_for
from analysis.disclosure import safe_count
from analysis.figures.subgroups import line_shape
from analysis.figures.theme import OKABE_ITO, REFERENCE_COLOUR, apply_theme
from analysis.schema import GROUP_CONTROL, GROUP_PA, GROUPS

if TYPE_CHECKING:
    from analysis.summary import Analysis

POWER_OPTIONS: Final = (0.70, 0.75, 0.80, 0.85, 0.90, 0.95)
ALPHA_OPTIONS: Final = (0.01, 0.025, 0.05, 0.10)
STANDARD_POWERS: Final = (0.80, 0.90)  # always shown in the table
CURVE_MAX_N: Final = 10_000  # the curve stops here; a larger need is reported in words
CURVE_POINTS: Final = 120
_CURVE_COLOUR: Final = OKABE_ITO["bluish_green"]
_PILOT_COLOUR: Final = OKABE_ITO["reddish_purple"]


@dataclass(frozen=True)
class PilotEffects:
    """The pilot's estimates a plan can start from (planning guesses, not evidence).

    Rates are recovery per group (finishers at caseness); the continuous effect is the
    difference in mean change (PA − control) of one measure with the pooled SD of change
    (n−1 weights) and Hedges' g. A figure that cannot be computed is None with a reason.
    """

    p_pa: float | None
    p_control: float | None
    count_pa: int
    count_control: int
    n_rate_pa: int
    n_rate_control: int
    rate_reason: str | None
    measure: str
    measure_label: str
    difference: float | None
    sd: float | None
    hedges_g: float | None
    n_change_pa: int
    n_change_control: int
    change_reason: str | None

    @property
    def cohens_d(self) -> float | None:
        """|difference| / pooled SD, the d that :func:`analysis.power.sample_size_for_means` uses."""
        if self.difference is None or not self.sd:
            return None
        return abs(self.difference) / self.sd


def pilot_effects(analysis: Analysis, measure: str) -> PilotEffects:
    """Recovery rates and the ``measure``'s difference in mean change from an
    :class:`analysis.summary.Analysis`.

    The difference is Welch's (mean change PA − mean change control) and the SD is the pooled
    SD behind Hedges' g (:func:`analysis.compare.hedges_g`).
    """
    recovery = analysis.rates["recovery"]
    pa, control = recovery.groups[GROUP_PA], recovery.groups[GROUP_CONTROL]
    rate_reason = None
    if pa.rate is None or control.rate is None:
        rate_reason = "A group has no one at caseness, so there is no recovery rate to start from."
    comparison = analysis.measures.get(measure)
    label = measure_for(measure).label
    if comparison is None:
        return PilotEffects(pa.rate, control.rate, pa.count, control.count, pa.denominator, control.denominator,
                            rate_reason, measure, label, None, None, None, 0, 0,
                            f"{label} is not in these data.")
    g = comparison.hedges_g
    n = {grp: comparison.descriptives[grp].n for grp in GROUPS}
    difference = comparison.welch.estimate if g.available else None
    sd = g.extra.get("pooled_sd") if g.available else None
    reason = None if g.available else g.reason
    return PilotEffects(pa.rate, control.rate, pa.count, control.count, pa.denominator, control.denominator,
                        rate_reason, measure, label, difference, float(sd) if sd is not None else None,
                        g.estimate, n[GROUP_PA], n[GROUP_CONTROL], reason)


def slider_step(measure: str) -> float:
    """Step for the difference and SD sliders: 0.5 points, or 0.05 for an item-average scale (MI)."""
    return 0.5 if measure_for(measure).integer else 0.05


def slider_range(measure: str) -> tuple[float, float]:
    """(smallest, largest) for the difference and SD sliders: one step to the measure's span."""
    info = measure_for(measure)
    return slider_step(measure), float(info.maximum - info.minimum)


def _snap(value: float, measure: str) -> float:
    step = slider_step(measure)
    lo, hi = slider_range(measure)
    snapped = round(round(value / step) * step, 4)
    return float(min(hi, max(lo, snapped)))


def starting_values(effects: PilotEffects, hide_rates: bool = False, hide_change: bool = False) -> dict[str, float]:
    """Where the "choose your own" sliders start: the pilot's estimates, snapped to the slider.

    Rates in whole percent (1–99); without both pilot rates (or with ``hide_rates``, when safe
    mode hides them) control starts at 50% (the national recovery standard) and PA at 60%. The
    difference and SD start at the pilot's; without them (or with ``hide_change``) at a tenth
    and a fifth of the measure's span: a Cohen's d of 0.5, "medium" (Cohen 1988).
    """
    no_rates = hide_rates or effects.p_pa is None or effects.p_control is None

    def pct(rate: float | None, fallback: int) -> int:
        return fallback if (no_rates or rate is None) else int(min(99, max(1, round(rate * 100))))

    info = measure_for(effects.measure)
    span = float(info.maximum - info.minimum)
    difference = abs(effects.difference) if (effects.difference and not hide_change) else span / 10
    sd = effects.sd if (effects.sd and not hide_change) else span / 5
    return {"p_pa": pct(effects.p_pa, 60), "p_control": pct(effects.p_control, 50),
            "difference": _snap(difference, effects.measure), "sd": _snap(sd, effects.measure)}


def equivalent_n(n_pa: int, n_control: int) -> float:
    """The equal group size with the same precision as ``n_pa`` and ``n_control``: their harmonic
    mean 2·n₁n₂/(n₁+n₂) (the variance of a difference is proportional to 1/n₁ + 1/n₂)."""
    if n_pa <= 0 or n_control <= 0:
        return 0.0
    return 2 * n_pa * n_control / (n_pa + n_control)


def powers_to_show(chosen: float) -> list[float]:
    """80% and 90% (always) plus the chosen power, ascending."""
    return sorted({*STANDARD_POWERS, round(float(chosen), 4)})


def _need_text(size: power.SampleSize) -> str:
    if not size.available:
        return "not available: " + (size.reason or "it cannot be worked out.")
    if size.n_control is not None and size.n_control != size.n_per_group:
        return f"{size.n_per_group:,} PA + {size.n_control:,} control"
    return f"{size.n_per_group:,}"


def requirements_table(p_pa: float | None, p_control: float | None, difference: float | None, sd: float | None,
                       alpha: float, chosen_power: float, measure_label: str) -> pd.DataFrame:
    """Participants needed per group for recovery and for symptom change at 80%, 90% and the
    chosen power (:func:`analysis.power.sample_size_for_rates`, :func:`~analysis.power.sample_size_for_means`).

    A missing input gives "not available" with the reason, never a made-up number.
    """
    rows = []
    for target in powers_to_show(chosen_power):
        if p_pa is None or p_control is None:
            rates = "not available: no recovery rates to plan from."
        else:
            rates = _need_text(power.sample_size_for_rates(p_pa, p_control, alpha, target))
        if difference is None or sd is None:
            means = "not available: no difference in change to plan from."
        else:
            means = _need_text(power.sample_size_for_means(difference, sd, alpha, target))
        rows.append({"Power": fmt.percent(target), "α (two-sided)": f"{alpha:g}",
                     "Recovery: per group": rates, f"{measure_label} change: per group": means})
    return pd.DataFrame(rows)


def curve_n_values(n_needed: int | None, pilot_n: float | None = None) -> list[int]:
    """Group sizes for the power curve: from 2 to beyond both the n needed and the pilot's n.

    Up to :data:`CURVE_POINTS` sizes, evenly spaced, ending at 1.5 × the larger of the two
    (at least 20, at most :data:`CURVE_MAX_N`), and including both values exactly.
    """
    marks = [v for v in (n_needed, pilot_n) if v is not None and v > 0]
    upper = int(min(CURVE_MAX_N, max(20, math.ceil(1.5 * max(marks, default=20)))))
    values = {int(v) for v in np.linspace(power.MIN_N_PER_GROUP, upper, CURVE_POINTS).round()}
    values |= {int(round(v)) for v in marks if power.MIN_N_PER_GROUP <= round(v) <= upper}
    return sorted(values)


def power_curve_chart(curve: pd.DataFrame, target_power: float, n_needed: int | None, pilot_n: float | None,
                      pilot_label: str | None, title: str) -> go.Figure:
    """Power against participants per group for a chosen effect.

    ``curve`` is :func:`analysis.power.power_curve`'s frame (``n_per_group``, ``power``). A dashed
    horizontal line marks the target power, a dotted vertical line the n needed and a solid
    vertical line the pilot's n per group (``pilot_label`` says what it is).
    """
    figure = go.Figure(go.Scatter(
        x=curve["n_per_group"], y=curve["power"] * 100, mode="lines", name="Power",
        line=dict(color=_CURVE_COLOUR, width=4),
        hovertemplate="%{x} per group: %{y:.0f}% power<extra></extra>"))
    shapes = [line_shape("y", target_power * 100, REFERENCE_COLOUR, 2, "dash")]
    annotations = [dict(xref="paper", yref="y", x=1, y=target_power * 100, xanchor="right", yanchor="top",
                        text=f"{fmt.percent(target_power)} power", showarrow=False, font=dict(size=16))]
    if n_needed is not None and n_needed <= int(curve["n_per_group"].max()):
        shapes.append(line_shape("x", n_needed, _CURVE_COLOUR, 3, "dot"))
        annotations.append(dict(xref="x", yref="paper", x=n_needed, y=0.02, xanchor="left", yanchor="bottom",
                                text=f"Needed: {n_needed:,}", showarrow=False, font=dict(size=16, color="#1a1a1a")))
    if pilot_n is not None and pilot_n > 0:
        shapes.append(line_shape("x", pilot_n, _PILOT_COLOUR, 3))
        annotations.append(dict(xref="x", yref="paper", x=pilot_n, y=0.98, xanchor="left", yanchor="top",
                                text=pilot_label or f"This pilot: {pilot_n:.0f}", showarrow=False,
                                font=dict(size=16, color="#1a1a1a"), bgcolor="rgba(255,255,255,0.85)", align="left"))
    figure.update_layout(showlegend=False, shapes=shapes, annotations=annotations,
                         xaxis=dict(title="Participants per group", rangemode="tozero"),
                         yaxis=dict(title="Power", range=[0, 100], ticksuffix="%"))
    return apply_theme(figure, title, height=420)


def pilot_n_label(n_pa: int | None, n_control: int | None) -> str:
    """The chart label for the pilot's line, on two short lines: 'This pilot:<br>19 per group' or
    'This pilot:<br>19 and 14 (≈ 16 each)'; counts may be presentation-safe rounded (None = fewer than 5)."""
    if n_pa is None or n_control is None:
        return "This pilot:<br>fewer than 5 in a group"
    if n_pa == n_control:
        return f"This pilot:<br>{n_pa:,} per group"
    return f"This pilot:<br>{n_pa:,} and {n_control:,} (≈ {equivalent_n(n_pa, n_control):.0f} each)"


def power_takeaway(what: str, size: power.SampleSize, pilot_n: tuple[int, int] | None,
                   effect_is_pilot: bool, power_at_pilot: float | None = None) -> str:
    """One sentence for a power curve.

    ``what`` names the effect ("63% vs 36% recovered"). The power a study of the pilot's size
    would have is stated only for a chosen effect (``effect_is_pilot`` False): for the pilot's
    own estimate it would be observed power, which is not evidence.
    """
    if not size.available:
        return f"No sample size for {what}: {size.reason}"
    need = (f"about {size.n_per_group:,} per group" if size.n_control in (None, size.n_per_group)
            else f"about {size.n_per_group:,} (PA) and {size.n_control:,} (control)")
    text = f"To detect {what} with {fmt.percent(size.power)} power (α = {size.alpha:g}) needs {need}"
    if size.n_per_group > CURVE_MAX_N:
        text += f", beyond the {CURVE_MAX_N:,} the chart shows"
    if pilot_n is not None:
        n_pa, n_control = pilot_n
        text += (f"; this pilot had {n_pa:,} per group" if n_pa == n_control
                 else f"; this pilot had {n_pa:,} and {n_control:,}")
        if not effect_is_pilot and power_at_pilot is not None:
            text += f", which would give {fmt.percent(power_at_pilot)} power for this chosen effect"
    text += "."
    if effect_is_pilot:
        text += " The effect is the pilot's own estimate, a rough planning guess: its interval is wide."
    return text


def rates_phrase(p_pa: float, p_control: float) -> str:
    """'63% vs 36% recovered' (PA first)."""
    return f"{fmt.percent(p_pa)} vs {fmt.percent(p_control)} recovered"


def means_phrase(difference: float, sd: float, measure_label: str) -> str:
    """'a 2.9-point difference in PHQ-9 change (SD 5.7)'."""
    return f"a {fmt.number(abs(difference))}-point difference in {measure_label} change (SD {fmt.number(sd)})"


@dataclass(frozen=True)
class CurveChart:
    """One power curve ready to show: ``figure`` is None when it cannot be drawn, and then
    ``takeaway`` says why."""

    name: str
    figure: go.Figure | None
    takeaway: str
    size: power.SampleSize | None


@dataclass(frozen=True)
class PlanningResults:
    """Everything the planning page shows for one set of inputs."""

    sentences: tuple[str, ...]
    table: pd.DataFrame
    rates: CurveChart
    means: CurveChart
    p_pa: float | None
    p_control: float | None
    difference: float | None
    sd: float | None


def _shown_pair(pair: tuple[int, int], safe: bool) -> tuple[int, int] | None:
    """The pilot's group sizes as shown: safe-mode rounded; None when a group is empty or hidden."""
    shown = tuple(safe_count(n) if safe else n for n in pair)
    if any(n is None or n <= 0 for n in shown):
        return None
    return shown  # type: ignore[return-value]


def planning_results(p_pa: float | None, p_control: float | None, difference: float | None, sd: float | None,
                     alpha: float, target_power: float, measure: str, pilot_rate_n: tuple[int, int],
                     pilot_change_n: tuple[int, int], effect_is_pilot: bool, safe: bool = False) -> PlanningResults:
    """Sample sizes, the plain sentences, the table and both power curves for one set of inputs.

    Rates are planned at whole percentages and the difference and SD at one decimal (two for an
    item-average scale such as MI): a pilot's estimate is a rough guess, and the sentence then
    reads "63% vs 36%". ``pilot_rate_n`` (finishers
    at caseness per group) and ``pilot_change_n`` (finishers with both scores) mark the pilot's
    size; with ``safe`` they are shown rounded to 5 (and left out below 5). Methods:
    :func:`analysis.power.sample_size_for_rates` / :func:`~analysis.power.sample_size_for_means`,
    :func:`~analysis.power.power_curve` (Cohen 1988).
    """
    if p_pa is not None and p_control is not None:
        p_pa, p_control = round(float(p_pa), 2), round(float(p_control), 2)
    else:
        p_pa = p_control = None
    measure_label = measure_for(measure).label
    decimals = 1 if measure_for(measure).integer else 2
    if difference is not None and sd is not None:
        difference, sd = round(abs(float(difference)), decimals), round(float(sd), decimals)
    else:
        difference = sd = None
    rate_pair, change_pair = _shown_pair(pilot_rate_n, safe), _shown_pair(pilot_change_n, safe)
    sentences = []
    if p_pa is not None:
        sentences.append(power.planning_sentence(p_pa, p_control, target_power, alpha, rate_pair))
    if difference is not None:
        sentences.append(power.planning_sentence_for_means(difference, sd, target_power, alpha, change_pair,
                                                           unit=f"{measure_label} points"))
    table = requirements_table(p_pa, p_control, difference, sd, alpha, target_power, measure_label)

    rates_name = "power-curve-recovery"
    if p_pa is None:
        rates = CurveChart(rates_name, None, "No recovery rates to plan from: choose values instead.", None)
    else:
        size = power.sample_size_for_rates(p_pa, p_control, alpha, target_power)
        rates = _curve_chart(rates_name, size, rate_pair, effect_is_pilot, rates_phrase(p_pa, p_control),
                             lambda ns: power.power_curve("rates", p_pa=p_pa, p_control=p_control, alpha=alpha,
                                                          n_values=ns),
                             lambda a, b: power.power_for_rates(p_pa, p_control, a, b, alpha),
                             "Power: recovery")
    means_name = f"power-curve-{measure_label}-change"
    if difference is None:
        means = CurveChart(means_name, None, f"No {measure_label} difference to plan from: choose values instead.",
                           None)
    else:
        size = power.sample_size_for_means(difference, sd, alpha, target_power)
        d = difference / sd if sd else 0.0
        means = _curve_chart(means_name, size, change_pair, effect_is_pilot, means_phrase(difference, sd, measure_label),
                             lambda ns: power.power_curve("means", d=d, alpha=alpha, n_values=ns),
                             lambda a, b: power.power_for_means(d, a, b, alpha),
                             f"Power: {measure_label} change")
    return PlanningResults(tuple(sentences), table, rates, means, p_pa, p_control, difference, sd)


def _curve_chart(name: str, size: power.SampleSize, pilot: tuple[int, int] | None, effect_is_pilot: bool, what: str,
                 curve_for: Callable[[list[int]], pd.DataFrame], power_at: Callable[[int, int], float],
                 title: str) -> CurveChart:
    if not size.available:
        return CurveChart(name, None, f"No sample size for {what}: {size.reason}", size)
    pilot_n = equivalent_n(*pilot) if pilot else None
    curve = curve_for(curve_n_values(size.n_per_group, pilot_n))
    at_pilot = None
    if pilot and not effect_is_pilot and min(pilot) >= power.MIN_N_PER_GROUP:
        at_pilot = power_at(*pilot)
    figure = power_curve_chart(curve, size.power, size.n_per_group, pilot_n,
                               pilot_n_label(*pilot) if pilot else None, title)
    return CurveChart(name, figure, power_takeaway(what, size, pilot, effect_is_pilot, at_pilot), size)


__all__ = [
    "ALPHA_OPTIONS", "POWER_OPTIONS", "PilotEffects", "curve_n_values", "equivalent_n", "means_phrase",
    "pilot_effects", "pilot_n_label", "power_curve_chart", "power_takeaway", "powers_to_show", "rates_phrase",
    "requirements_table", "slider_range", "slider_step", "starting_values", "planning_results", "PlanningResults",
    "CurveChart",
]
