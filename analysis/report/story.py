"""The story both doors tell: one list of slides for the deck, the offline report and presentation mode.

:func:`build_story` is pure (no streamlit, no file I/O besides the bundled survey data): it
takes an :class:`~analysis.summary.Analysis` and returns :class:`Slide` objects holding each
slide's title, its one-sentence takeaway, its figures as text and, where there is one, a
chart specification (categories, series name → values, number format, axis title).

Numbers come from the machine-readable summary (:meth:`Analysis.to_dict`); in safe mode from
:func:`analysis.disclosure.make_summary_safe` of it, so a deck made with ``safe=True`` shows
exactly the figures of ``python -m analysis summarize FILE --safe``. Counts outside that
summary (baseline characteristics, excluded rows, totals) go through
:func:`analysis.disclosure.safe_count` under the same rules. A hidden figure is ``None`` in a
chart series (drawn as a gap, never a 0 bar) and "hidden (small numbers)" in text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import pandas as pd

from analysis import formatting as fmt
from analysis.compare import SMD_IMBALANCE, SUBGROUP_CAUTION, baseline_balance, measure_for
from analysis.disclosure import FEWER_THAN, SAFE_MODE_NOTE, SUPPRESS_BELOW, count_shown, make_summary_safe
from analysis.figures.outcomes import RATE_REFERENCES
from analysis.figures.theme import GROUP_COLOURS, OKABE_ITO
from analysis.outcomes import RATE_DEFINITIONS
from analysis.schema import (
    ALPHA,
    GROUP_CONTROL,
    GROUP_LABELS,
    GROUP_PA,
    GROUPS,
    PRIMARY_MEASURES,
    RECOVERY_STANDARD,
)
from analysis.schema import column_label as schema_column_label
from analysis.summary import BORDERLINE, CLEAR, Analysis, evidence, rate_evidence_note

HIDDEN: Final = "hidden (small numbers)"
NOT_AVAILABLE: Final = "not available"
REPORT_TITLE: Final = "Physical activity in NHS Talking Therapies"
BALANCE_SHOWN: Final = 5  # largest baseline differences drawn on the "who benefits" slide
SURVEY_COLOUR: Final = OKABE_ITO["bluish_green"]  # not a group colour: survey respondents are neither group
BALANCE_COLOUR: Final = OKABE_ITO["grey"]
# The slide shows how the groups differed at the start (baseline balance), not who benefits: its title says so.
BALANCE_TITLE: Final = "Who took part: the groups at the start"
BALANCE_LABEL_ROOM: Final = 2.0  # the value axis runs to 2 × the largest |SMD|: room for its label
PERCENT_FORMAT: Final = '0"%"'
SYNTHETIC_NOTE: Final = ("The data are the bundled synthetic sample: invented participants calibrated to the "
                         "published Community Living Well pilot figures, not real patients.")


@dataclass(frozen=True)
class ChartSpec:
    """A chart as data: what the deck draws natively and the report/presentation draw with plotly.

    ``series`` maps a series name (a group, or one neutral series) to one value per category;
    ``None`` is a value that is hidden or not available and is left out of the chart (a gap,
    never a 0 bar). ``hidden`` lists the (series, category) pairs hidden by safe mode.
    ``kind`` names the interactive builder: ``recovery`` and ``rates`` reuse
    :mod:`analysis.figures.outcomes`; the others are drawn from the spec itself.
    """

    kind: str
    categories: tuple[str, ...]
    series: dict[str, tuple[float | None, ...]]
    colours: dict[str, str]
    number_format: str
    axis_title: str
    axis_min: float | None = None
    axis_max: float | None = None
    hidden: frozenset[tuple[str, str]] = frozenset()
    horizontal: bool = False  # bars run sideways (long category labels), first category at the top
    # 95% CI of each value, in chart units, per series (None: no interval, e.g. hidden): drawn as whiskers.
    intervals: dict[str, tuple[tuple[float, float] | None, ...]] | None = None
    # Reference lines: (category, value, label); an empty category runs the line across every category.
    references: tuple[tuple[str, float, str], ...] = ()

    @property
    def has_values(self) -> bool:
        return any(v is not None for values in self.series.values() for v in values)


@dataclass(frozen=True)
class Slide:
    """One message: a title, the takeaway sentence, the figures as text and an optional chart."""

    key: str
    title: str
    takeaway: str
    bullets: tuple[str, ...]
    chart: ChartSpec | None = None
    notes: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


# --- small helpers --------------------------------------------------------------------------------


def _group(group: str) -> str:
    return GROUP_LABELS[group]


def _shown_count(n: int | None, safe: bool) -> str:
    """A count as text: rounded/suppressed in safe mode ('fewer than 5')."""
    return fmt.MISSING if n is None else count_shown(int(n), safe)


def _summary_count(value: int | None) -> str:
    """A count already passed through the safe summary (None = suppressed)."""
    return FEWER_THAN if value is None else fmt.count(value)


def _percent_value(rate: float | None) -> float | None:
    """A rate as a chart value in percent, one decimal (0.6316 -> 63.2)."""
    return None if rate is None else round(rate * 100, 1)


def _percent_interval(block: dict) -> tuple[float, float] | None:
    """A summary rate's Wilson 95% CI in percent (None when the rate is hidden or has none)."""
    interval = block.get("ci95")
    if block.get("rate") is None or not interval or interval[0] is None or interval[1] is None:
        return None
    return (round(interval[0] * 100, 1), round(interval[1] * 100, 1))


def _ci(interval: Any, kind: str = "number") -> str:
    """'95% CI 41% to 81%' from a summary's list (or 'not available' for None)."""
    return fmt.ci(tuple(interval) if interval else None, kind)


def _round1(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 1)


def _interval1(interval: Any) -> tuple[float, float] | None:
    if not interval or _round1(interval[0]) is None or _round1(interval[1]) is None:
        return None
    return (_round1(interval[0]), _round1(interval[1]))


def filters_text(filters: Mapping[str, tuple[str, ...]] | None) -> str:
    """'none (everyone)' or 'gender = Female; age band = 18-25, 26-35'."""
    if not filters:
        return "none (everyone in the data)"
    return "; ".join(f"{schema_column_label(column)} = {', '.join(map(str, levels))}"
                     for column, levels in filters.items())


def is_synthetic_source(source: str) -> bool:
    """True for the bundled sample (its display name or its file names say 'synthetic')."""
    return "synthetic" in source.lower()


# --- the slides ---------------------------------------------------------------------------------


def _title_slide(summary: dict, safe: bool, filters, source: str, excluded_rows: tuple, generated: date,
                 synthetic: bool) -> Slide:
    participants = summary["participants"]
    bullets = [f"Data: {source or 'unnamed data'}" + (" (synthetic)" if synthetic and "synthetic" not in
                                                       source.lower() else ""),
               f"Generated: {generated.strftime('%d %B %Y').lstrip('0')}",
               f"Filters: {filters_text(filters)}",
               "Presentation-safe numbers: " + ("on — counts below 5 hidden, other counts rounded to the nearest 5"
                                                if safe else "off — exact counts")]
    if excluded_rows:
        if safe:
            bullets.append(f"Rows with problems excluded at your request: {_shown_count(len(excluded_rows), True)}")
        else:
            rows = ", ".join(map(str, excluded_rows[:12])) + ("…" if len(excluded_rows) > 12 else "")
            bullets.append(f"Rows with problems excluded at your request: {len(excluded_rows)} (file rows {rows})")
    bullets.append("Finished treatment (2+ sessions): " + ", ".join(
        f"{_group(g).lower()} {_summary_count(participants[g])}" for g in GROUPS))
    return Slide(key="title", title=REPORT_TITLE,
                 takeaway="Did people who added physical activity to talking therapy do better than those who "
                          "did not?",
                 bullets=tuple(bullets),
                 notes="Outcomes follow the NHS Talking Therapies definitions; PA = physical activity group.")


def _rate_text(block: Mapping[str, Any], exact_rate: float | None, what: str) -> str:
    """'63% recovered (12 of 19; 95% CI 41% to 81%)' or 'hidden (small numbers)'."""
    if block["rate"] is None:
        return HIDDEN if exact_rate is not None else f"{NOT_AVAILABLE} (no one in the denominator)"
    return (f"{fmt.percent(block['rate'])} {what} ({_summary_count(block['count'])} of "
            f"{_summary_count(block['denominator'])}; {_ci(block['ci95'], 'percent')})")


def _hidden_groups(summary_rate: Mapping[str, Any], analysis: Analysis, rate: str) -> frozenset[str]:
    """Groups whose rate exists but is hidden by safe mode."""
    return frozenset(g for g in GROUPS if summary_rate[g]["rate"] is None
                     and analysis.rates[rate].groups[g].rate is not None)


def _difference_text(entry: Mapping[str, Any], hidden: bool) -> str:
    d = entry["difference"]
    if d["estimate"] is None:
        return f"Difference: {HIDDEN if hidden else NOT_AVAILABLE}"
    return (f"Difference: {fmt.points(d['estimate'])} points ({_ci(d['ci95'], 'points')}); "
            f"Fisher's exact {fmt.p_value(entry['fisher_p'])}")


def _recovery_slide(analysis: Analysis, summary: dict, safe: bool) -> Slide:
    entry = summary["rates"]["recovery"]
    hidden = _hidden_groups(entry, analysis, "recovery")
    exact = analysis.rates["recovery"]
    bullets = [f"{_group(g)}: {_rate_text(entry[g], exact.groups[g].rate, 'recovered')}" for g in GROUPS]
    bullets.append(_difference_text(entry, bool(hidden)))
    standard = []
    for g in GROUPS:
        rate = entry[g]["rate"]
        if rate is not None:
            standard.append(f"{_group(g).lower()} {'meets' if rate >= RECOVERY_STANDARD else 'is below'} it")
    bullets.append(f"National recovery standard {fmt.percent(RECOVERY_STANDARD)}"
                   + (": " + ", ".join(standard) if standard else ""))
    if hidden:
        takeaway = "Recovery is hidden for at least one group because the numbers are small (presentation-safe mode)."
    else:  # the verdict names how many were at caseness: a count, so rounded like every other in safe mode
        takeaway = analysis.recovery_verdict(safe=safe)
    values = {_group(g): (_percent_value(entry[g]["rate"]),) for g in GROUPS}
    chart = ChartSpec(kind="recovery", categories=("Recovery",), series=values,
                      colours={_group(g): GROUP_COLOURS[g] for g in GROUPS}, number_format=PERCENT_FORMAT,
                      axis_title="Recovered (% of finishers at caseness)", axis_min=0, axis_max=100,
                      hidden=frozenset((_group(g), "Recovery") for g in hidden),
                      intervals={_group(g): (_percent_interval(entry[g]),) for g in GROUPS},
                      references=(("", RECOVERY_STANDARD * 100,
                                   f"National standard {fmt.percent(RECOVERY_STANDARD)}"),))
    return Slide(key="recovery", title="Recovery: physical activity vs control", takeaway=takeaway,
                 bullets=tuple(bullets), chart=chart if chart.has_values else None,
                 notes="Recovery = finishers at caseness whose PHQ-9 and anxiety measure both ended below the "
                       "caseness cut-off. Wilson 95% CIs; difference with Newcombe's hybrid-score CI; Fisher's exact "
                       "test.")


def _adjusted_slide(summary: dict) -> Slide:
    """Recovery (and PHQ-9, GAD-7) unadjusted beside adjusted for who chose physical activity, with E-values
    (from the summary's ``adjusted`` and ``e_values`` keys, so safe mode is already applied)."""
    from analysis.adjusted import CANNOT_FIX, covariate_label, e_value_sentence, verdict_from_summary

    block, evalues = summary.get("adjusted") or {}, summary.get("e_values") or {}
    recovery = summary["rates"]["recovery"]["difference"]
    takeaway = verdict_from_summary(block, recovery["estimate"], name_covariates=False) if block else "The adjusted comparison is not available."
    bullets: list[str] = []
    chart = None
    measures_note = ""
    if block and not block.get("reason"):
        adjusted = block["rates"]["recovery"]["difference"]
        bullets.append("Adjusted for: " + ", ".join(covariate_label(c) for c in block.get("covariates", [])))
        bullets.append(f"Recovery: {fmt.points(recovery['estimate'])} points unadjusted "
                       f"({_ci(recovery['ci95'], 'points')}); {fmt.points(adjusted['estimate'])} adjusted "
                       f"({_ci(adjusted['ci95'], 'points')})")
        e = evalues.get("recovery", {}).get("adjusted", {})
        if e.get("estimate") is not None and adjusted["estimate"] is not None:
            bullets.append(f"E-value {fmt.number(e['estimate'])} (CI {fmt.number(e.get('ci'))}): how strongly a hidden "
                           "difference would need to drive both choice and recovery to explain it away")
        after = [abs(r["smd_after"]) for r in block.get("balance", []) if r.get("smd_after") is not None]
        ess = block.get("ess", {}).get(GROUP_CONTROL)
        bullets.append(f"Balance: {sum(v > SMD_IMBALANCE for v in after)} of {len(after)} characteristics "
                       f"|SMD| > {SMD_IMBALANCE:g} after weighting"
                       + (f"; effective size of the weighted control group {fmt.number(ess, 1)}" if ess else ""))
        if block.get("role") == "sensitivity":
            bullets.append("A sensitivity analysis: too few people per model parameter for a primary one")
        for key in PRIMARY_MEASURES:
            if key in block.get("measures", {}) and key in summary["measures"]:
                a, d = summary["measures"][key]["ancova"], block["measures"][key]["difference"]
                measures_note += (f"{measure_for(key).label} last score, unadjusted (ANCOVA) {fmt.number(a['difference'])} "
                                  f"({_ci(a['ci95'])}), adjusted {fmt.number(d['estimate'])} ({_ci(d['ci95'])}). ")
        if e.get("estimate") is not None and adjusted["estimate"] is not None:
            measures_note += e_value_sentence(e["estimate"], e.get("ci"), "recovery") + " "
        measures_note += str(block.get("role_reason", "")) + " "
        values = (_round1(None if recovery["estimate"] is None else recovery["estimate"] * 100),
                  _round1(None if adjusted["estimate"] is None else adjusted["estimate"] * 100))
        chart = ChartSpec(kind="adjusted", categories=("Unadjusted", "Adjusted"),
                          series={"Recovery difference, PA − control": values},
                          colours={"Recovery difference, PA − control": OKABE_ITO["bluish_green"]},
                          number_format="0.0", axis_title="PA − control (percentage points)")
    return Slide(key="adjusted", title="After accounting for who took part", takeaway=takeaway,
                 bullets=tuple(b for b in bullets if b), chart=chart if chart is not None and chart.has_values else None,
                 notes=(measures_note + str(block.get("method", "")) + ". Estimand: " + str(block.get("estimand_text", "")) + ". "
                        + " ".join(CANNOT_FIX[:1] + CANNOT_FIX[-1:])))


def _change_takeaway(summary: dict, keys: list[str], labels: dict[str, str]) -> str:
    """One sentence on mean change per group and the ANCOVA p values, from the (safe) summary."""
    parts, ps = [], []
    for key in keys:
        m = summary["measures"][key]
        pa, control = m[GROUP_PA]["mean_change"], m[GROUP_CONTROL]["mean_change"]
        if pa is None or control is None:
            why = HIDDEN if m[GROUP_PA]["n"] is None or m[GROUP_CONTROL]["n"] is None else NOT_AVAILABLE
            parts.append(f"{labels[key]} change is {why} for a group")
            continue
        verb = "fell" if pa < 0 and control < 0 else "changed"
        amounts = (f"by {fmt.number(-pa)} and {fmt.number(-control)} points" if verb == "fell" else
                   f"by {fmt.number(pa)} and {fmt.number(control)} points")
        parts.append(f"mean {labels[key]} {verb} {amounts}")
        if m["ancova"]["p"] is not None:
            ps.append((labels[key], m["ancova"]["p"]))
    sentence = "; ".join(parts)
    sentence = sentence[0].upper() + sentence[1:] + " (physical activity vs control)" if sentence else ""
    if not ps:
        return sentence + "." if sentence else "Symptom change cannot be compared for this selection."
    chance = [label for label, p in ps if p >= ALPHA]
    p_text = " and ".join(f"{label} {fmt.p_value(p)}" for label, p in ps)
    if len(chance) == len(ps):
        verdict = "adjusted for first scores, the differences could be chance"
    elif not chance:
        verdict = "adjusted for first scores, the differences are unlikely to be chance alone"
    else:
        verdict = "adjusted for first scores, only some differences are unlikely to be chance alone"
    return f"{sentence}; {verdict} (ANCOVA {p_text})."


def _measure_bullets(analysis: Analysis, summary: dict, key: str) -> list[str]:
    """Mean change per group and the ANCOVA result for one measure, from the (safe) summary."""
    m = summary["measures"][key]
    label = analysis.measures[key].label
    if any(m[g]["n"] is None for g in GROUPS) and m["ancova"]["difference"] is None:
        return [f"{label}: {HIDDEN} (a group has {FEWER_THAN} people with both scores)"]
    changes = " vs ".join(fmt.number(m[g]["mean_change"]) if m[g]["mean_change"] is not None else NOT_AVAILABLE
                          for g in GROUPS)
    bullets = [f"{label} mean change: {changes}"]
    a = m["ancova"]
    if a["difference"] is None:
        bullets.append(f"{label} adjusted difference: {NOT_AVAILABLE} ({analysis.measures[key].ancova.reason})")
    else:
        bullets.append(f"{label} adjusted difference (ANCOVA): {fmt.number(a['difference'])} points "
                       f"({_ci(a['ci95'])}), {fmt.p_value(a['p'])}")
    return bullets


def _change_slide(analysis: Analysis, summary: dict, safe: bool) -> Slide:
    keys = [k for k in PRIMARY_MEASURES if k in summary["measures"] and k in analysis.measures]
    labels = {k: analysis.measures[k].label for k in keys}
    bullets = ["Physical activity vs control (negative = symptoms fell):"]
    for key in keys:
        bullets += _measure_bullets(analysis, summary, key)
    bullets.append("With both scores: " + "; ".join(
        f"{labels[k]} " + " and ".join(_summary_count(summary["measures"][k][g]["n"]) for g in GROUPS)
        for k in keys))
    hidden = frozenset((_group(g), labels[k]) for k in keys for g in GROUPS
                       if summary["measures"][k][g]["mean_change"] is None
                       and analysis.measures[k].descriptives[g].mean_change is not None)
    series = {_group(g): tuple(_round1(summary["measures"][k][g]["mean_change"]) for k in keys) for g in GROUPS}
    # The mean change's t-based 95% CI, for every value the summary shows (a hidden mean has none).
    intervals = {_group(g): tuple(
        _interval1(analysis.measures[k].descriptives[g].ci95_change)
        if summary["measures"][k][g]["mean_change"] is not None else None for k in keys) for g in GROUPS}
    chart = ChartSpec(kind="change", categories=tuple(labels[k] for k in keys), series=series,
                      colours={_group(g): GROUP_COLOURS[g] for g in GROUPS}, number_format="0.0",
                      axis_title="Mean change, 95% CI (negative = improvement)", hidden=hidden,
                      intervals=intervals)
    verdicts = [analysis.measure_verdict(k) for k in keys
                if all(summary["measures"][k][g]["n"] is not None for g in GROUPS)]
    return Slide(key="symptom_change", title="Symptom change: PHQ-9 and GAD-7",
                 takeaway=_change_takeaway(summary, keys, labels), bullets=tuple(bullets),
                 chart=chart if chart.has_values else None,
                 notes=" ".join([*verdicts, "Change = last − first score, finishers with both scores. Primary "
                                 "analysis: ANCOVA of the last score on group adjusted for the first score (OLS, "
                                 "classical SEs)."]))


def _rates_takeaway(summary: dict) -> str:
    """Which rates favour physical activity, and which differences Fisher's test calls more than chance."""
    better, worse, shown, clear, borderline = [], [], 0, [], []
    deterioration = ""
    for key, entry in summary["rates"].items():
        pa, control = entry[GROUP_PA]["rate"], entry[GROUP_CONTROL]["rate"]
        if pa is None or control is None:
            continue
        shown += 1
        label = RATE_DEFINITIONS[key].label.lower()
        ci = entry["difference"]["ci95"]
        verdict = evidence(entry["fisher_p"], tuple(ci) if ci else None)
        if verdict == CLEAR:
            clear.append(label)
        elif verdict == BORDERLINE:
            borderline.append(label)
        if pa == control:
            continue
        if not RATE_DEFINITIONS[key].higher_is_better:
            deterioration = f"{'fewer' if pa < control else 'more'} of them {RATE_DEFINITIONS[key].numerator}"
            continue
        (better if pa > control else worse).append(label)
    if shown == 0:
        return "The outcome rates cannot be compared for this selection (hidden or no one in a denominator)."
    if better:
        text = "The physical activity group had higher " + _join(better)
        if worse:
            text += f" but lower {_join(worse)}"
    elif worse:
        text = "The physical activity group had lower " + _join(worse)
    else:
        text = "The physical activity group's rates were the same as control's"
    if deterioration:
        text += f", and {deterioration}"
    # The verdict reads both Fisher's exact p and the Newcombe CI of the difference (never one alone).
    if clear:
        text += (f"; only {_join(clear)} differed by more than chance would easily explain (Fisher's p < {ALPHA:g}, "
                 "Newcombe CI excludes 0)")
    if borderline:  # the slide's notes say why (rate_evidence_note)
        text += f"; borderline for {_join(borderline)} (Newcombe CI excludes 0; Fisher's p ≥ {ALPHA:g})"
    if not clear and not borderline:
        text += f"; none is clearly more than chance (each Fisher's p ≥ {ALPHA:g}, each Newcombe CI includes 0)"
    return text + "."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _evidence_notes(analysis: Analysis, summary: dict) -> list[str]:
    """Where a rate's Fisher p and an interval disagree, why (only for rates the summary shows)."""
    notes = []
    for key, entry in summary["rates"].items():
        if entry["fisher_p"] is not None and key in analysis.rates:
            note = rate_evidence_note(RATE_DEFINITIONS[key].label, analysis.rates[key])
            if note:
                notes.append(note)
    return notes


def _rates_slide(analysis: Analysis, summary: dict) -> Slide:
    bullets, hidden = ["Physical activity vs control:"], set()
    for key, entry in summary["rates"].items():
        label = RATE_DEFINITIONS[key].label
        groups = _hidden_groups(entry, analysis, key)
        hidden |= {(_group(g), label) for g in groups}
        parts = []
        for g in GROUPS:
            block = entry[g]
            if block["rate"] is None:
                parts.append(HIDDEN if g in groups else NOT_AVAILABLE)
            else:
                parts.append(f"{fmt.percent(block['rate'])} ({_summary_count(block['count'])} of "
                             f"{_summary_count(block['denominator'])})")
        text = f"{label}: " + (HIDDEN if len(groups) == len(GROUPS) else " vs ".join(parts))
        if entry["difference"]["estimate"] is not None:
            text += f"; {fmt.p_value(entry['fisher_p'])}"
        bullets.append(text)
    labels = tuple(RATE_DEFINITIONS[k].label for k in summary["rates"])
    series = {_group(g): tuple(_percent_value(summary["rates"][k][g]["rate"]) for k in summary["rates"])
              for g in GROUPS}
    intervals = {_group(g): tuple(_percent_interval(summary["rates"][k][g]) for k in summary["rates"])
                 for g in GROUPS}
    references = tuple((RATE_DEFINITIONS[k].label, value * 100, text) for k, (value, text) in RATE_REFERENCES.items()
                       if k in summary["rates"])
    chart = ChartSpec(kind="rates", categories=labels, series=series,
                      colours={_group(g): GROUP_COLOURS[g] for g in GROUPS}, number_format=PERCENT_FORMAT,
                      axis_title="Percent of finishers (Wilson 95% CI); dashed: national figures"
                      if references else "Percent of finishers (Wilson 95% CI)", axis_min=0, axis_max=100,
                      hidden=frozenset(hidden), horizontal=True, intervals=intervals, references=references)
    bullets.append("Recovery rates count finishers at caseness; improvement and deterioration, all finishers.")
    return Slide(key="rates", title="Recovery and reliable change", takeaway=_rates_takeaway(summary),
                 bullets=tuple(bullets), chart=chart if chart.has_values else None,
                 notes=" ".join(["Reliable change: PHQ-9 by 6 or more, GAD-7 by 4 or more (ADSM thresholds where "
                                 "used). Fisher's exact test per rate; Wilson 95% CIs; differences with Newcombe's "
                                 "hybrid-score 95% CI.", *_evidence_notes(analysis, summary)]))


def _balance_rows(analysis: Analysis, episodes: pd.DataFrame | None, safe: bool) -> tuple[list[dict], int, int]:
    """The baseline differences to show (largest |SMD| first), and (imbalanced, compared) totals.

    Safe mode drops any category level held by fewer than 5 finishers in either group (its
    share times the group's finishers), and any mean of a group with fewer than 5, because an
    SMD with the group size would let the count be worked back out.
    """
    if episodes is None:
        return [], 0, 0
    finishers = analysis.n_finishers
    if min(finishers.values()) < 2:
        return [], 0, 0
    table = baseline_balance(episodes, analysis.flags)
    table = table[table["smd"].notna()]
    rows = []
    for row in table.itertuples(index=False):
        variable, level = str(row.variable), str(row.level)
        record = {"variable": variable, "level": level, "pa": getattr(row, GROUP_PA),
                  "control": getattr(row, GROUP_CONTROL), "smd": float(row.smd), "imbalanced": bool(row.imbalanced)}
        if safe and level != "mean":
            counts = [round(record["pa"] * finishers[GROUP_PA]), round(record["control"] * finishers[GROUP_CONTROL])]
            if min(counts) < SUPPRESS_BELOW or min(finishers[GROUP_PA] - counts[0],
                                                   finishers[GROUP_CONTROL] - counts[1]) < SUPPRESS_BELOW:
                continue
        if safe and min(finishers.values()) < SUPPRESS_BELOW:
            continue
        rows.append(record)
    rows.sort(key=lambda r: abs(r["smd"]), reverse=True)
    return rows, sum(r["imbalanced"] for r in rows), len(rows)


def _balance_label(row: Mapping[str, Any]) -> str:
    variable = str(row["variable"])
    if row["level"] == "mean":
        name = variable.removesuffix("_first")
        try:
            label = measure_for(name).label
        except KeyError:
            label = name.replace("_", " ")
        return f"Mean first {label}" if variable.endswith("_first") else f"Mean {label}"
    return f"{schema_column_label(variable)} — {row['level']}"


def _balance_values(row: Mapping[str, Any]) -> str:
    if row["level"] == "mean":
        return f"{fmt.number(row['pa'])} vs {fmt.number(row['control'])}"
    return f"{fmt.percent(row['pa'])} vs {fmt.percent(row['control'])}"


def _balance_slide(analysis: Analysis, episodes: pd.DataFrame | None, safe: bool) -> Slide:
    rows, imbalanced, compared = _balance_rows(analysis, episodes, safe)
    shown = rows[:BALANCE_SHOWN]
    if episodes is None or compared == 0:
        takeaway = ("Baseline balance cannot be shown for this selection"
                    + (" (each group needs at least 2 people who finished, and 5 in safe mode)." if episodes is not None
                       else "."))
        bullets = [SUBGROUP_CAUTION]
        chart = None
    else:
        if imbalanced:
            takeaway = (f"The groups differed at the start on {imbalanced} of the {compared} baseline scores and "
                        f"characteristics compared (standardised difference above {SMD_IMBALANCE:g}), so outcome "
                        "differences may partly reflect who chose physical activity.")
        else:
            takeaway = (f"The groups were similar at the start on all {compared} baseline characteristics compared "
                        f"(standardised differences of {SMD_IMBALANCE:g} or less).")
        bullets = [f"{_balance_label(r)}: {_balance_values(r)} (SMD {fmt.number(r['smd'], 2)})"
                   for r in shown[:1 if safe else 2]]  # the largest; safe mode needs room for its note
        bullets.append(SUBGROUP_CAUTION)
        # Symmetric, with room beyond the longest bar for its value label: a label of a bar that ends near
        # the axis's end ran into the category names beside the plot (the deck's slide 5).
        bound = max(0.5, math.ceil(max(abs(r["smd"]) for r in shown) * BALANCE_LABEL_ROOM * 4) / 4)
        chart = ChartSpec(kind="balance", categories=tuple(_balance_label(r) for r in shown),
                          series={"Standardised difference (physical activity − control)":
                                  tuple(round(r["smd"], 2) for r in shown)},
                          colours={"Standardised difference (physical activity − control)": BALANCE_COLOUR},
                          number_format="0.00", axis_title="Standardised mean difference",
                          axis_min=-bound, axis_max=bound, horizontal=True)
    if safe:
        bullets.insert(len(bullets) - 1, f"Characteristics of {FEWER_THAN} people in a group are not shown.")
    return Slide(key="who_benefits", title=BALANCE_TITLE, takeaway=takeaway,
                 bullets=tuple(bullets), chart=chart,
                 notes="Standardised mean difference (Austin 2009): means for scores, shares for category levels; "
                       f"|SMD| above {SMD_IMBALANCE:g} is conventionally called imbalance.")


def _survey_slide() -> Slide:
    from analysis.survey import headline

    survey = headline()
    name = "Respondents (%)"
    chart = ChartSpec(kind="survey",
                      categories=("Staff: physical activity is very important",
                                  "Staff: satisfied with their service's support",
                                  "Service users: agree it is important"),
                      series={name: (survey.staff_very_important_pct, survey.staff_satisfied_pct,
                                     survey.service_users_agree_pct)},
                      colours={name: SURVEY_COLOUR}, number_format=PERCENT_FORMAT,
                      axis_title="Percent of respondents", axis_min=0, axis_max=100, horizontal=True)
    return Slide(key="survey", title="What services told us", takeaway=survey.sentence,
                 bullets=(survey.detail,
                          "Source: stakeholder surveys, findings and recommendations report (December 2022).",
                          "Respondents chose to take part, so they may be keener on physical activity than most."),
                 chart=chart,
                 notes=survey.caveat + " Published survey percentages, not participant data: presentation-safe "
                                       "rounding does not apply to them.")


def _methods_slide(analysis: Analysis, summary: dict, safe: bool, synthetic: bool) -> Slide:
    finishers = analysis.n_finishers
    total = sum(finishers.values())
    not_finished = sum(analysis.n_not_finished.values())
    small = analysis.small_sample
    if small:
        takeaway = (f"With {_shown_count(total, safe)} people who finished treatment and groups that chose "
                    "themselves, read these results as a signal to test in a larger evaluation, not as proof.")
    else:
        takeaway = ("The groups chose themselves, so read differences as associations that a randomised "
                    "evaluation would need to confirm.")
    completeness = summary["data"]["paired_completeness"]["all"]
    bullets = [
        f"Finished treatment = 2 or more sessions: {_shown_count(total, safe)} people; "
        f"{_shown_count(not_finished, safe)} who did not finish are excluded.",
        "Rates: NHS Talking Therapies definitions, Wilson 95% CIs, Fisher's exact test. Symptom change: ANCOVA "
        "adjusted for the first score.",
        "Small sample: wide intervals, so a real benefit can look like chance, and chance like a benefit."
        if small else "Sample size: large enough for reasonably narrow intervals.",
        "Self-selected groups: people chose physical activity, so the groups may differ in other ways too.",
    ]
    if completeness is not None and total >= SUPPRESS_BELOW:
        bullets.append(f"Paired first and last scores: {fmt.percent(completeness)} of finishers (standard: 90% or "
                       "more).")
    if synthetic:
        bullets.append("Synthetic data: invented participants calibrated to the published pilot, not real patients.")
    if safe:
        bullets.append("Presentation-safe numbers: counts below 5 hidden, others rounded to the nearest 5; "
                       "percentages use the exact counts.")
    notes = ["Definitions and methods: the dashboard's Methods and definitions page."]
    if synthetic:
        notes.append(SYNTHETIC_NOTE)
    if safe:
        notes.append(SAFE_MODE_NOTE)
    return Slide(key="methods", title="Methods and caveats", takeaway=takeaway, bullets=tuple(bullets),
                 notes=" ".join(notes))


def _sites_slides(analysis: Analysis, summary: dict, safe: bool) -> list[Slide]:
    """A "Sites" slide when the data hold two or more sites (none otherwise): recovery by site with the
    pooled random-effects estimate, heterogeneity and the prediction interval; figures from the
    (safe) summary's ``sites`` block, so the slide matches ``summarize --safe``."""
    from analysis.figures.sites import POOLED_LABEL, forest_takeaway
    from analysis.sites import META_METHOD, PREDICTION_METHOD, heterogeneity_sentence

    sites = analysis.sites
    block = summary.get("sites")
    if sites is None or block is None or sites.n_sites < 2:
        return []
    recovery = block["rates"]["recovery"]
    pooled = recovery["pooled"]
    bullets = []
    for site in recovery["per_site"]:
        n = " vs ".join(_summary_count(site["n"][g]) for g in GROUPS)
        if site["estimate"] is None:
            figure = HIDDEN if safe and site["included"] else (site.get("reason") or NOT_AVAILABLE)
        else:
            figure = f"{fmt.points(site['estimate'])} points ({_ci(site['ci95'], 'points')})"
            if not site["included"]:
                figure += f"; not pooled: {site.get('reason')}"
        bullets.append(f"{site['site']} (n {n}): {figure}")
    if pooled["estimate"] is not None:
        bullets.append(f"{POOLED_LABEL}: {fmt.points(pooled['estimate'])} points ({_ci(pooled['ci95'], 'points')}), "
                       f"{fmt.p_value(pooled['p'])}; I² {fmt.percent(pooled['i2'])}; a new site: "
                       + (f"{fmt.points(pooled['prediction_interval'][0])} to "
                          f"{fmt.points(pooled['prediction_interval'][1])} points"
                          if pooled["prediction_interval"] else NOT_AVAILABLE))
    else:
        bullets.append(f"{POOLED_LABEL}: {NOT_AVAILABLE} ({pooled.get('reason')})")
    bullets.append(heterogeneity_sentence(sites.rates["recovery"]))
    from analysis.adjusted import site_adjusted_sentence  # the adjusted analysis with site as a covariate

    if (adjusted_line := site_adjusted_sentence(block.get("adjusted"))) is not None:
        bullets.append(adjusted_line)
    primary = sites.measures.get("phq9")
    if primary is not None and primary.pooled.estimate is not None:
        bullets.append(forest_takeaway(primary, safe).split(". ")[0] + ".")
    series = tuple(None if site["estimate"] is None else round(site["estimate"] * 100, 1)
                   for site in recovery["per_site"])
    series += (None if pooled["estimate"] is None else round(pooled["estimate"] * 100, 1),)
    chart = ChartSpec(kind="sites", categories=(*[site["site"] for site in recovery["per_site"]], POOLED_LABEL),
                      series={"Recovery: PA − control": series}, colours={"Recovery: PA − control": BALANCE_COLOUR},
                      number_format="0", axis_title="Recovery, PA − control (percentage points)", horizontal=True)
    return [Slide(key="sites", title=f"Sites: does it work everywhere? ({sites.n_sites} sites)",
                  takeaway=forest_takeaway(sites.rates["recovery"], safe), bullets=tuple(bullets),
                  chart=chart if chart.has_values else None,
                  notes=f"Each site's difference in recovery (Newcombe 95% CI), pooled by {META_METHOD}. "
                        f"{PREDICTION_METHOD}. The Sites page shows every rate and measure.",
                  meta={"outcome": "recovery", "safe": safe})]


def build_story(analysis: Analysis, safe: bool = False, filters: Mapping[str, tuple[str, ...]] | None = None,
                source: str | None = None, excluded_rows: tuple[int, ...] = (), *,
                episodes: pd.DataFrame | None = None, synthetic: bool | None = None,
                generated: date | None = None, national_year: str | None = None,
                extra: Mapping[str, Any] | None = None) -> list[Slide]:
    """The slides, in order: title, headline (recovery), symptom change, rates, against national
    figures (NHS England's published rates for ``national_year``, default the latest), chance of
    benefit (and value for money when ``extra`` has it), who benefits, survey, methods and caveats.

    ``extra``: top-level summary keys added to (or replacing) :meth:`Analysis.to_dict`'s before safe
    mode applies, e.g. ``bayes`` with the user's MIDs and ``value_for_money`` with their costs.

    ``source`` defaults to ``analysis.source``; ``synthetic`` (the bundled sample) is detected
    from the source name when not given; ``episodes`` (the same filtered episode frame the
    analysis was run on) enables the baseline-balance figures, which are not part of the
    summary — without it that slide says so; ``generated`` defaults to today.
    """
    source = analysis.source if source is None else source
    synthetic = is_synthetic_source(source) if synthetic is None else synthetic
    generated = generated or date.today()
    summary = analysis.to_dict() | dict(extra or {})
    if safe:
        summary = make_summary_safe(summary)
    from analysis.report.bayes_slides import chance_slide, value_slide
    from analysis.report.national_slide import national_slide  # imports this module's Slide

    benefit_slides = [slide for slide in (chance_slide(summary), value_slide(summary)) if slide is not None]
    return [
        _title_slide(summary, safe, filters, source, tuple(excluded_rows), generated, synthetic),
        _recovery_slide(analysis, summary, safe),
        _adjusted_slide(summary),
        _change_slide(analysis, summary, safe),
        _rates_slide(analysis, summary),
        *_sites_slides(analysis, summary, safe),
        national_slide(analysis, summary, safe, episodes, national_year),
        *benefit_slides,
        _balance_slide(analysis, episodes, safe),
        _survey_slide(),
        _methods_slide(analysis, summary, safe, synthetic),
    ]


__all__ = ["HIDDEN", "ChartSpec", "Slide", "build_story", "filters_text", "is_synthetic_source"]
