"""The story's "Against national figures" slide (deck, offline report, presentation mode).

The pilot's recovery and reliable improvement beside England's published rates for the year, where
each group sits on the providers' recovery funnel (Spiegelhalter 2005), and the case-mix expected
recovery by the first published breakdown the data have (problem descriptor when present), from
:mod:`analysis.national`. Pilot figures come from the (safe, when asked) summary, so a hidden figure
stays hidden; the Open Government Licence attribution is a bullet and in the notes.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis import formatting as fmt
from analysis import national
from analysis.disclosure import safe_rate
from analysis.report.story import HIDDEN, Slide, _hidden_groups
from analysis.schema import GROUP_LABELS, GROUPS
from analysis.summary import Analysis

PREFERRED_BREAKDOWN = "problem_descriptor"


def _expected_bullets(analysis: Analysis, episodes: pd.DataFrame | None, year: str, safe: bool) -> list[str]:
    if episodes is None:
        return ["Case-mix expected rates need the participant-level data, which this export was not given."]
    mixes = national.all_expected_rates(episodes, analysis.flags, year)
    if not mixes:
        return ["Case-mix expected rates: the data have none of the columns NHS England breaks its figures down "
                "by (problem descriptor, age band, gender, ethnicity, long-term condition, deprivation decile)."]
    key = PREFERRED_BREAKDOWN if PREFERRED_BREAKDOWN in mixes else next(iter(mixes))
    mix = mixes[key]
    parts = []
    for g in GROUPS:
        r = mix.results["recovery"][g]
        if r.expected is None:
            parts.append(f"{GROUP_LABELS[g].lower()} not available")
        elif safe and safe_rate(r.observed, r.n, r.ratio) is None:
            parts.append(f"{GROUP_LABELS[g].lower()} {HIDDEN}")
        else:
            parts.append(f"{GROUP_LABELS[g].lower()} {r.expected_rate * 100:.1f}% expected, "
                         f"{fmt.percent(r.observed_rate)} observed (O/E {fmt.number(r.ratio, 2)}, "
                         f"{fmt.ci(r.ci95, 'number', 2)})")
    bullets = [f"Case-mix expected recovery by {mix.label.lower()}: " + "; ".join(parts)]
    unmatched = [c for c in mix.categories if c.published is None]
    if unmatched:
        bullets.append("Unmatched (left out of both): " + "; ".join(f"{c.value}" for c in unmatched))
    return bullets


def national_slide(analysis: Analysis, summary: dict[str, Any], safe: bool, episodes: pd.DataFrame | None = None,
                   year: str | None = None) -> Slide:
    year = year or national.latest_year()
    england = national.benchmark(national.ENGLAND_ORG, year)
    target = england.rates["recovery"].rate
    keys = ("recovery", "reliable_improvement", "reliable_recovery", "reliable_deterioration")
    bullets = [f"England {year}: " + "; ".join(
        f"{national.RATE_LABELS[k].lower()} {england.rates[k].rate * 100:.1f}%" for k in keys
        if england.rates[k].rate is not None)]
    hidden = _hidden_groups(summary["rates"]["recovery"], analysis, "recovery")
    positions = []
    for g in GROUPS:
        block = summary["rates"]["recovery"][g]
        exact = analysis.rates["recovery"].groups[g]
        if g in hidden:
            positions.append(f"{GROUP_LABELS[g].lower()} {HIDDEN}")
        elif block["rate"] is None or target is None:
            positions.append(f"{GROUP_LABELS[g].lower()} not available")
        else:
            where = national.funnel_position(exact.rate, exact.denominator, target)
            positions.append(f"{GROUP_LABELS[g].lower()} {fmt.percent(block['rate'])}, {where}")
    bullets.append("On the providers' recovery funnel: " + "; ".join(positions))
    bullets += _expected_bullets(analysis, episodes, year, safe)
    spa = national.structured_physical_activity()
    if not spa.empty:
        latest = spa.iloc[-1]
        bullets.append(f"\"Structured Physical Activity\" nationally, {latest['year']}: "
                       f"{fmt.count(int(latest['courses']))} courses, {latest['recovery'] * 100:.0f}% recovered — small "
                       "numbers, a different population: context only")
    bullets.append(national.ATTRIBUTION)
    # No chart: at projector size the figures and the attribution need the slide's full width.
    pa, control = (summary["rates"]["recovery"][g]["rate"] for g in GROUPS)
    if target is None:
        takeaway = f"England's recovery rate for {year} is not published."
    elif pa is None or control is None:
        takeaway = (f"England recovered {target * 100:.1f}% of finishers at caseness in {year}; a group's rate is "
                    "hidden or not available.")
    else:
        takeaway = (f"England recovered {target * 100:.1f}% in {year}; the physical activity group "
                    f"{fmt.percent(pa)} and the control group {fmt.percent(control)}, both within the funnel's "
                    "limits for groups this small." if all("within" in p for p in positions) else
                    f"England recovered {target * 100:.1f}% in {year}; the physical activity group "
                    f"{fmt.percent(pa)}, the control group {fmt.percent(control)}: " + "; ".join(positions) + ".")
    return Slide(key="national", title="Against national figures", takeaway=takeaway, bullets=tuple(bullets),
                 notes=(f"{national.Funnel.method} "
                                     f"{national.CaseMix.method} {national.ROUNDING_NOTE} {national.ATTRIBUTION}"))


__all__ = ["national_slide"]
