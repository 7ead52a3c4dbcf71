"""Value for money: what each additional recovery (or reliable improvement) costs.

Method. With the physical activity (PA) offer costing C per participant and a difference in rates
Δ = PA rate − control rate (a proportion), offering PA to 1/Δ people (the number needed to treat,
NNT) produces one more recovery than talking therapy alone, so

    cost per additional recovery = C / Δ = NNT × C.

Its 95% interval is C / (upper limit of Δ) to C / (lower limit of Δ) when the difference's 95% CI
lies wholly above zero. When the CI includes zero ("no benefit") the interval runs from C / upper
limit with **no upper bound**: the data are compatible with PA producing no extra recoveries, and the
cost per extra recovery is then unbounded (Altman 1998 for the NNT's interval through infinity).
When the point estimate is zero or below there is no cost per additional recovery to report.

The difference is the caller's: the unadjusted Newcombe difference from
:mod:`analysis.compare`, or the adjusted (ATT) difference of the adjusted analysis (design doc
``adjusted.rates.<rate>.difference``) when the caller has one; the adjusted one is preferred when
supplied. No QALYs: no published mapping from these outcomes to utilities is implemented.

Optional context from the user's own cost of a course of talking therapy T: cost per recovered
patient with talking therapy alone = T / control recovery rate, with the PA offer added = (T + C) /
PA recovery rate, and at the national recovery rate (England 2024-25, NHS England, below) T / 50.5%.
The project's source documents hold no published cost per recovered patient, so none is quoted.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from analysis import formatting as fmt
from analysis.disclosure import HIDDEN_FIGURE_REASON, register_safe_block
from analysis.outcomes import RATE_DEFINITIONS
from analysis.results import with_reason
from analysis.schema import GROUP_CONTROL, GROUP_PA

VALUE_RATES: Final = ("recovery", "reliable_improvement")
VALUE_METHOD: Final = ("Cost per additional recovery (or reliable improvement) = the cost of the physical activity "
                       "offer per participant ÷ the difference in rates (physical activity − control), which is the "
                       "number needed to treat × the cost. Its 95% interval divides the cost by the ends of the "
                       "difference's 95% CI (the adjusted difference where the adjusted analysis is available, else "
                       "the Newcombe one); when that CI includes no benefit, the cost has no upper limit. With the "
                       "cost of a course of talking therapy, the cost per recovered patient in each group is that "
                       "group's cost ÷ its recovery rate. No QALYs: no published mapping from these outcomes to "
                       "quality of life is implemented.")
CURRENCY: Final = "GBP"

@dataclass(frozen=True)
class ContextFigure:
    """A published figure shown beside the costs, with its exact source."""

    key: str
    label: str
    value: float
    text: str
    source: str


def national_context(year: str | None = None) -> dict[str, ContextFigure]:
    """England's published recovery and reliable improvement rates for ``year`` (default: the latest in
    the shipped extract), read through :mod:`analysis.national` (one source for every national figure),
    with the Open Government Licence attribution. A rate NHS England did not publish is left out."""
    from analysis import national

    figures = national.benchmark(national.ENGLAND_ORG, year)
    out: dict[str, ContextFigure] = {}
    for key in VALUE_RATES:
        rate = figures.rates[key]
        if rate.rate is None:
            continue
        basis = (f" (as published: {rate.count:,.0f} of {rate.denominator:,.0f})"
                 if rate.count is not None and rate.denominator is not None else "")
        out[key] = ContextFigure(key, f"National {rate.label.lower()} rate, England {figures.year}", rate.rate,
                                 f"{rate.rate * 100:.1f}%{basis}", national.ATTRIBUTION)
    return out


NO_PUBLISHED_COST: Final = ("The project's source documents (the NHS Talking Therapies Manual, the 2022 report "
                            "and its summary, the Community Living Well blog, the evidence brief) give no cost "
                            "per recovered patient, so none is quoted here; enter your service's cost of a "
                            "course of talking therapy to compare like with like.")


def explain_nulls(obj: Any, reason: str) -> Any:
    """Every dict (at any depth) holding a null figure gets ``reason`` beside it unless it has one (the
    JSON rule: a null carries its reason); lists are searched, values are not changed."""
    if isinstance(obj, dict):
        for value in obj.values():
            explain_nulls(value, obj.get("reason") or reason)
        with_reason(obj, None if obj.get("reason") else reason)
    elif isinstance(obj, list):
        for value in obj:
            explain_nulls(value, reason)
    return obj


def money(value: float | None) -> str:
    """£1,234 (whole pounds from £100; pence below)."""
    if value is None or not math.isfinite(value):
        return fmt.MISSING
    return f"£{value:,.0f}" if abs(value) >= 100 else f"£{value:,.2f}"


def check_cost(value: Any, what: str = "cost of the physical activity offer per participant") -> float:
    """A cost as a float, or ValueError naming the value and the rule (a number, 0 or more)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"The {what} must be a number of pounds (got {value!r}).") from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"The {what} must be a finite number of pounds, 0 or more (got {value!r}).")
    return number


@dataclass(frozen=True)
class CostPerOutcome:
    """Cost per additional recovery (or reliable improvement), with its interval and plain words."""

    outcome: str
    label: str
    cost: float
    difference: float | None
    difference_ci95: tuple[float, float] | None
    difference_source: str
    estimate: float | None  # cost per additional outcome, £
    ci95: tuple[float, float | None] | None  # upper None = unbounded
    includes_no_benefit: bool | None
    nnt: float | None
    statement: str
    reason: str | None = None
    basis: dict[str, dict[str, int]] = field(default_factory=dict)  # the group counts it rests on

    @property
    def unbounded(self) -> bool:
        return self.ci95 is not None and self.ci95[1] is None

    def to_dict(self) -> dict[str, Any]:
        out = {
            "difference": {"estimate": self.difference,
                           "ci95": list(self.difference_ci95) if self.difference_ci95 else None,
                           "source": self.difference_source},
            "nnt": self.nnt,
            "cost_per_extra": {"estimate": self.estimate, "ci95": list(self.ci95) if self.ci95 else None,
                               "upper_unbounded": self.unbounded, "currency": CURRENCY},
            "includes_no_benefit": self.includes_no_benefit,
            "statement": self.statement,
            **({"reason": self.reason} if self.reason else {}),
            **({"basis": {g: dict(c) for g, c in self.basis.items()}} if self.basis else {}),
        }
        return explain_nulls(out, self.reason or self.statement)


def cost_per_extra_outcome(cost: float, difference: float | None, ci95: Sequence[float] | None, *,
                           outcome: str = "recovery", source: str = "unadjusted",
                           reason: str | None = None) -> CostPerOutcome:
    """Cost per additional outcome = cost / difference (NNT × cost), with its 95% interval.

    >>> r = cost_per_extra_outcome(300, 0.25, (0.05, 0.45))
    >>> round(r.estimate), [round(x) for x in r.ci95]
    (1200, [667, 6000])
    >>> cost_per_extra_outcome(300, 0.25, (-0.05, 0.45)).ci95[1] is None
    True
    """
    cost = check_cost(cost)
    label = RATE_DEFINITIONS[outcome].label.lower() if outcome in RATE_DEFINITIONS else outcome
    ci = (float(ci95[0]), float(ci95[1])) if ci95 is not None else None
    noun = f"additional {label}" if label != "recovery" else "additional recovery"
    if difference is None or not math.isfinite(difference):
        why = (f"The difference in {label} rates is not available{f' ({reason.rstrip(chr(46))})' if reason else ''}, "
               "so its cost cannot be worked out.")
        return CostPerOutcome(outcome, label, cost, None, ci, source, None, None, None, None, why, why)
    includes_no_benefit = None if ci is None else ci[0] <= 0
    diff_text = f"{fmt.points(abs(difference))} percentage points"
    ci_text = fmt.ci(ci, "points") + " points" if ci else "95% CI not available"
    if difference <= 0:
        statement = (f"The physical activity group did not have a higher {label} rate "
                     f"({'no difference' if difference == 0 else diff_text + ' lower'}; {ci_text}), so there is "
                     f"no cost per {noun} to report: on these data the offer buys no extra {label}.")
        return CostPerOutcome(outcome, label, cost, difference, ci, source, None, None, True, None, statement,
                              "The difference is zero or favours the control group.")
    estimate = cost / difference
    nnt = 1 / difference
    if ci is None:
        interval = None
        statement = (f"Each {noun} costs about {money(estimate)} ({money(cost)} per participant ÷ {diff_text} "
                     f"more; {fmt.number(nnt)} people offered physical activity per {noun}); its interval is not "
                     "available.")
    elif ci[0] > 0:
        interval = (cost / ci[1], cost / ci[0])
        statement = (f"Each {noun} costs about {money(estimate)} (95% CI {money(interval[0])} to "
                     f"{money(interval[1])}): {money(cost)} per participant ÷ {diff_text} more, i.e. "
                     f"{fmt.number(nnt)} people offered physical activity per {noun}.")
    else:
        interval = (cost / ci[1], None)
        statement = (f"On the point estimate each {noun} costs about {money(estimate)} ({money(cost)} per "
                     f"participant ÷ {diff_text} more), but the 95% interval of the difference ({ci_text}) "
                     f"includes no benefit, so the cost per {noun} could be unbounded: from "
                     f"{money(interval[0])} with no upper limit.")
    return CostPerOutcome(outcome, label, cost, float(difference), ci, source, estimate, interval,
                          includes_no_benefit, nnt, statement)


@dataclass(frozen=True)
class ValueForMoney:
    """Cost per additional recovery and reliable improvement, with the context figures."""

    cost: float
    therapy_cost: float | None
    outcomes: dict[str, CostPerOutcome]
    therapy_context: dict[str, Any] = field(default_factory=dict)
    context: tuple[ContextFigure, ...] = field(default_factory=lambda: tuple(national_context().values()))
    notes: tuple[str, ...] = (NO_PUBLISHED_COST,)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "cost_per_participant": self.cost,
            "therapy_cost": self.therapy_cost,
            "currency": CURRENCY,
            "outcomes": {name: result.to_dict() for name, result in self.outcomes.items()},
            "therapy_context": copy.deepcopy(self.therapy_context),
            "context": [{"label": c.label, "value": c.value, "text": c.text, "source": c.source}
                        for c in self.context],
            "notes": list(self.notes),
            "method": VALUE_METHOD,
        }
        if self.therapy_cost is None:
            out["reason"] = "No cost of a course of talking therapy was given, so there is no comparison."
        context = out["therapy_context"]
        if context and (context.get("control") is None or context.get("physical_activity") is None):
            context["reason"] = "A group's recovery rate is 0 or not available, so its cost per recovery is unbounded."
        return explain_nulls(out, "Not available.")

    def lines(self) -> list[str]:
        """Plain-English sentences for pages, slides and the text report."""
        out = [result.statement for result in self.outcomes.values()]
        if self.therapy_context.get("statement"):
            out.append(self.therapy_context["statement"])
        return out


def _basis(comparison: Any) -> dict[str, dict[str, int]]:
    """The counts and denominators per group behind a rate comparison (for safe mode)."""
    return {g: {"count": int(comparison.groups[g].count), "denominator": int(comparison.groups[g].denominator)}
            for g in (GROUP_PA, GROUP_CONTROL)}


def adjusted_differences(adjusted: Mapping[str, Any] | None) -> dict[str, tuple[float | None, Sequence[float] | None]]:
    """Per-rate (estimate, ci95) from the adjusted analysis's JSON (design doc ``adjusted.rates``)."""
    out: dict[str, tuple[float | None, Sequence[float] | None]] = {}
    if not adjusted:
        return out
    for name, entry in (adjusted.get("rates") or {}).items():
        difference = (entry or {}).get("difference") or {}
        if difference.get("estimate") is not None:
            out[name] = (difference["estimate"], difference.get("ci95"))
    return out


def adjusted_from(analysis: Any) -> dict[str, tuple[float | None, Sequence[float] | None]]:
    """The adjusted differences an analysis carries, if the adjusted analysis ran (its summary blocks,
    ``analysis.adjusted_blocks["adjusted"]``, design doc shape); empty otherwise."""
    blocks = getattr(analysis, "adjusted_blocks", None) or {}
    return adjusted_differences(blocks.get("adjusted") if isinstance(blocks, Mapping) else None)


def value_for_money(rates: Mapping[str, Any], cost: float, *, therapy_cost: float | None = None,
                    adjusted: Mapping[str, tuple[float | None, Sequence[float] | None]] | None = None,
                    adjusted_label: str = "adjusted (ATT)") -> ValueForMoney:
    """Cost per additional recovery and reliable improvement from an analysis's rate comparisons.

    ``rates``: :class:`~analysis.compare.RateComparison` per rate. ``adjusted``: per-rate
    (estimate, ci95) of an adjusted difference (e.g. :func:`adjusted_differences` of the adjusted
    analysis's JSON); used instead of the unadjusted Newcombe difference where given.
    """
    cost = check_cost(cost)
    therapy = None if therapy_cost is None else check_cost(therapy_cost, "cost of a course of talking therapy")
    adjusted = adjusted or {}
    outcomes: dict[str, CostPerOutcome] = {}
    for name in VALUE_RATES:
        if name not in rates:
            continue
        if name in adjusted and adjusted[name][0] is not None:
            estimate, ci = adjusted[name]
            source = adjusted_label
        else:
            d = rates[name].difference
            estimate, ci, source = d.estimate, d.ci95, "unadjusted (Newcombe)"
        result = cost_per_extra_outcome(cost, estimate, ci, outcome=name, source=source,
                                        reason=rates[name].difference.reason)
        outcomes[name] = replace(result, basis=_basis(rates[name]))
    context: dict[str, Any] = {}
    if therapy is not None and "recovery" in rates:
        groups = rates["recovery"].groups
        pa, control = groups[GROUP_PA].rate, groups[GROUP_CONTROL].rate
        national = national_context()["recovery"].value
        context = {
            "control": therapy / control if control else None,
            "physical_activity": (therapy + cost) / pa if pa else None,
            "national": therapy / national,
            "method": "cost per recovered patient = cost per participant ÷ recovery rate",
            "basis": _basis(rates["recovery"]),
        }
        parts = []
        if context["control"] is not None:
            parts.append(f"with talking therapy alone ({money(therapy)} a course) each recovered patient costs "
                         f"{money(context['control'])} at the control group's recovery rate ({fmt.percent(control)})")
        if context["physical_activity"] is not None:
            parts.append(f"with the physical activity offer added ({money(therapy + cost)}) "
                         f"{money(context['physical_activity'])} at the physical activity group's rate "
                         f"({fmt.percent(pa)})")
        parts.append(f"at the national recovery rate ({fmt.percent(national, 1)}, England 2024-25, NHS England) talking therapy alone costs "
                     f"{money(context['national'])} per recovered patient")
        context["statement"] = ("For comparison: " + "; ".join(parts) + ".") if parts else ""
    return ValueForMoney(cost, therapy, outcomes, context)


__all__ = ["CURRENCY", "VALUE_METHOD", "NO_PUBLISHED_COST", "national_context", "CostPerOutcome", "ValueForMoney",
           "adjusted_differences", "adjusted_from", "check_cost", "make_value_safe", "cost_per_extra_outcome", "money", "value_for_money"]


def text_lines(value_json: Mapping[str, Any]) -> list[str]:
    """The ``value_for_money`` block as plain-text lines (statements, context and sources)."""
    lines = [f"Value for money (physical activity offer {money(value_json.get('cost_per_participant'))} per "
             "participant; no QALYs):"]
    for entry in (value_json.get("outcomes") or {}).values():
        lines.append(f"  {entry.get('statement')}")
    context = value_json.get("therapy_context") or {}
    if context.get("statement"):
        lines.append(f"  {context['statement']}")
    for figure in value_json.get("context") or []:
        lines.append(f"  Context: {figure['label']}: {figure['text']}. {figure['source']}")
    for note in value_json.get("notes") or []:
        lines.append(f"  Note: {note}")
    return lines


def _blank(value: Any) -> Any:
    """Numbers (and lists of numbers) to None at any depth; text and flags kept."""
    if isinstance(value, Mapping):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return None
    if isinstance(value, str):
        return value
    return None  # numbers, flags (which could reveal a hidden interval's side) and None


def make_value_safe(block: Mapping[str, Any]) -> dict[str, Any]:
    """The ``value_for_money`` block as presentation-safe mode shows it.

    Costs are not counts and pass unchanged, unless the outcome's rates rest on a group count below
    the threshold (its ``basis``), when every number derived from them becomes null and the statement
    says it is hidden. The costs the user entered, the published context figures and the basis counts
    (suppressed and rounded as counts) are kept.
    """
    from analysis.bayes import basis_is_small, safe_basis

    out = {k: v for k, v in block.items()}
    outcomes = {}
    for name, entry in (block.get("outcomes") or {}).items():
        if isinstance(entry, Mapping) and basis_is_small(entry):
            entry = {**_blank({k: v for k, v in entry.items() if k != "basis"}), "statement": HIDDEN_FIGURE_REASON,
                     "reason": HIDDEN_FIGURE_REASON, "basis": safe_basis(entry.get("basis"))}
        elif isinstance(entry, Mapping) and "basis" in entry:
            entry = {**entry, "basis": safe_basis(entry["basis"])}
        outcomes[name] = entry
    out["outcomes"] = outcomes
    context = block.get("therapy_context")
    if isinstance(context, Mapping) and context:
        if basis_is_small(context):
            context = {**_blank({k: v for k, v in context.items() if k not in ("basis", "national")}),
                       "national": context.get("national"), "statement": HIDDEN_FIGURE_REASON,
                       "basis": safe_basis(context.get("basis"))}
        else:
            context = {**context, "basis": safe_basis(context.get("basis"))}
        out["therapy_context"] = context
    return explain_nulls(out, HIDDEN_FIGURE_REASON)


register_safe_block("value_for_money", lambda block, summary: make_value_safe(block))
