"""The story's "chance of benefit" and "value for money" slides (deck, offline report, presentation mode).

Built from the machine-readable summary's ``bayes`` and ``value_for_money`` blocks (safe-mode
already applied by :func:`analysis.disclosure.make_summary_safe`), so a slide shows exactly what
``python -m analysis summarize FILE [--safe] [--cost ...]`` prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from analysis.bayes import METHODS, MID_SOURCES, PRIORS, percent_chance, result_from_dict
from analysis.disclosure import HIDDEN_FIGURE_REASON
from analysis.figures.theme import OKABE_ITO
from analysis.report.story import PERCENT_FORMAT, ChartSpec, Slide
from analysis.value import NO_PUBLISHED_COST

ANY: Final = "Any benefit (sceptical prior)"
AT_LEAST_MID: Final = "Benefit of at least the MID (sceptical prior)"
SHOWN: Final = ("recovery", "reliable_improvement", "phq9", "gad7")


def chance_slide(summary: Mapping[str, Any]) -> Slide | None:
    """Chance that physical activity helps: the sceptical prior's sentences and a bar per outcome."""
    block = summary.get("bayes") or {}
    keys = [k for k in SHOWN if k in block]
    if not keys:
        return None
    results = {k: result_from_dict(k, block[k]) for k in keys}
    hidden = {k for k in keys if block[k].get("hidden")}

    def sentence(key: str) -> str:
        return f"{results[key].label}: {HIDDEN_FIGURE_REASON}" if key in hidden else results[key].sentence()

    def short(key: str) -> str:
        r = results[key]
        if key in hidden:
            return f"{r.label}: {HIDDEN_FIGURE_REASON}"
        p = r.priors["sceptical"]
        if p.p_benefit is None:
            return f"{r.label}: not available ({p.reason})"
        return (f"{r.label}: {percent_chance(p.p_benefit)} chance of any benefit, {percent_chance(p.p_benefit_mid)} "
                f"of {r.mid_text()} or more")

    recovery = results.get("recovery")
    takeaway = sentence("recovery") if recovery else sentence(keys[0])
    bullets = ["Under the sceptical prior:", *(short(k) for k in keys if k != "recovery" or not recovery)]
    if recovery and "recovery" not in hidden and recovery.priors["vague"].p_benefit is not None:
        v, e = recovery.priors["vague"], recovery.priors["enthusiastic"]
        bullets.append(f"Recovery, other priors: vague {percent_chance(v.p_benefit)} "
                       f"({percent_chance(v.p_benefit_mid)}), enthusiastic {percent_chance(e.p_benefit)} "
                       f"({percent_chance(e.p_benefit_mid)})")
    categories = tuple(results[k].label for k in keys)
    series = {
        ANY: tuple(None if k in hidden or results[k].priors["sceptical"].p_benefit is None
                   else results[k].priors["sceptical"].p_benefit * 100 for k in keys),
        AT_LEAST_MID: tuple(None if k in hidden or results[k].priors["sceptical"].p_benefit_mid is None
                            else results[k].priors["sceptical"].p_benefit_mid * 100 for k in keys),
    }
    chart = ChartSpec(kind="bayes", categories=categories, series=series,
                      colours={ANY: OKABE_ITO["blue"], AT_LEAST_MID: OKABE_ITO["vermillion"]},
                      number_format=PERCENT_FORMAT, axis_title="Chance physical activity is better (%)",
                      axis_min=0, axis_max=100, horizontal=True)
    mids = "; ".join(f"{results[k].label}: MID {results[k].mid_text()}" for k in keys)
    notes = ("These are probabilities given the data and a prior, beside the confidence intervals: not proof, and "
             f"the groups chose themselves. Priors: {', '.join(PRIORS)}. Rates: {METHODS['vague_rate']} {METHODS['log_or']} "
             f"Measures: {METHODS['measure']} MIDs used: {mids}. Default MID sources: rates — {MID_SOURCES['rates']}")
    return Slide(key="chance_of_benefit", title="Chance that physical activity helps", takeaway=takeaway,
                 bullets=tuple(bullets), chart=chart if chart.has_values else None, notes=notes)


def value_slide(summary: Mapping[str, Any]) -> Slide | None:
    """What each extra recovery costs, when the user gave a cost (``value_for_money`` in the summary)."""
    block = summary.get("value_for_money")
    if not block:
        return None
    outcomes = block.get("outcomes") or {}
    statements = [entry.get("statement") for entry in outcomes.values() if entry.get("statement")]
    if not statements:
        return None
    bullets = statements[1:]
    context = block.get("therapy_context") or {}
    if context.get("statement"):
        bullets.append(context["statement"])
    for figure in block.get("context") or []:
        bullets.append(f"{figure['label']}: {figure['text']}.")
    sources = {figure["source"] for figure in block.get("context") or []}
    bullets.extend(sorted(sources))  # the Open Government Licence attribution, shown with the figures
    notes = " ".join([block.get("method", ""), "No QALYs.", NO_PUBLISHED_COST, *sorted(sources)])
    return Slide(key="value_for_money", title="What each extra recovery costs", takeaway=statements[0],
                 bullets=tuple(bullets), notes=notes)


__all__ = ["chance_slide", "value_slide"]
