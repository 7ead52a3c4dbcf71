"""One analysis of a data set: every figure computed once, then shown many ways.

:func:`analyse` runs the outcome rules and every comparison; the result feeds the
pages, the CLI's JSON/text (:meth:`Analysis.to_dict`, :meth:`Analysis.to_text`) and
the exports, so they all print the same numbers.
"""

from __future__ import annotations

import copy
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

import pandas as pd

from analysis import formatting as fmt
from analysis.compare import (
    MeasureComparison,
    MeasureRows,
    RateComparison,
    available_measures,
    compare_measure,
    compare_rates,
)
from analysis.outcomes import (
    RATE_DEFINITIONS,
    finisher_counts,
    paired_completeness,
    participant_outcomes,
)
from analysis.schema import ALPHA, GROUP_CONTROL, GROUP_LABELS, GROUP_PA, GROUPS

SMALL_SAMPLE_THRESHOLD: Final = 100
PRIMARY_MEASURES: Final = ("phq9", "gad7")
PARALLEL_MIN_ROWS: Final = 50_000  # below this the measures are compared one after another
MAX_MEASURE_THREADS: Final = 4


@dataclass(frozen=True)
class Analysis:
    """Everything the dashboard reports for one data set."""

    flags: pd.DataFrame
    finishers: pd.DataFrame
    completeness: pd.DataFrame
    rates: dict[str, RateComparison]
    measures: dict[str, MeasureComparison]
    source: str = ""
    level: str = "episode"
    notes: tuple[str, ...] = field(default_factory=tuple)
    episodes: pd.DataFrame | None = field(default=None, repr=False, compare=False)  # for the adjusted analysis

    @cached_property
    def adjusted_blocks(self) -> dict[str, Any]:
        """The summary's ``adjusted`` and ``e_values`` keys (:mod:`analysis.adjusted`), computed once."""
        from analysis.adjusted import summary_blocks

        return summary_blocks(self.episodes, self.flags, self.rates, self.measures)

    @property
    def n_finishers(self) -> dict[str, int]:
        return {g: int(self.finishers.loc[g, "finishers"]) for g in GROUPS}

    @property
    def n_not_finished(self) -> dict[str, int]:
        return {g: int(self.finishers.loc[g, "not_finished"]) for g in GROUPS}

    @property
    def n_at_caseness(self) -> int:
        return int(self.finishers["at_caseness"].sum())

    @property
    def small_sample(self) -> bool:
        return sum(self.n_finishers.values()) < SMALL_SAMPLE_THRESHOLD

    def to_dict(self) -> dict[str, Any]:
        """The machine-readable summary (design doc shape, plus extra keys)."""
        completeness = self.completeness
        return {
            "participants": self.n_finishers,
            "rates": {name: comparison.to_dict() for name, comparison in self.rates.items()},
            "measures": {name: comparison.to_dict() for name, comparison in self.measures.items()},
            "data": {
                "source": self.source,
                "level": self.level,
                "participants_total": {g: int(self.finishers.loc[g, "participants"]) for g in GROUPS},
                "not_finished": self.n_not_finished,
                "at_caseness": {g: int(self.finishers.loc[g, "at_caseness"]) for g in GROUPS},
                "paired_completeness": {
                    g: completeness.loc[g, "completeness"] for g in (*GROUPS, "all")},
                "notes": list(self.notes),
            },
            **copy.deepcopy(self.adjusted_blocks),
        }

    def recovery_verdict(self) -> str:
        return recovery_verdict(self.rates["recovery"], self.n_at_caseness)

    def measure_verdict(self, measure: str) -> str:
        return measure_verdict(self.measures[measure])

    def small_sample_caution(self) -> str:
        total = sum(self.n_finishers.values())
        if not self.small_sample:
            return ("Groups were not randomised, so differences may reflect who chose physical activity "
                    "rather than its effect.")
        return (f"Caution: {total} people finished treatment in this data. With so few, intervals are wide, "
                "a real benefit can look like chance, and chance can look like a benefit. Groups were not "
                "randomised (participants chose physical activity), so differences may reflect who chose it.")

    def to_text(self, safe: bool = False) -> str:
        """A readable report of exactly the figures in :meth:`to_dict` (safe-mode aware)."""
        summary = self.to_dict()
        if safe:
            from analysis.disclosure import SAFE_MODE_NOTE, make_summary_safe

            summary = make_summary_safe(summary)
        text = render_text(summary)
        if safe:
            return text + "\n" + SAFE_MODE_NOTE
        return text + "\n\nVerdict: " + self.recovery_verdict() + "\n" + self.small_sample_caution()


def _value(value: Any, kind: str = "number", decimals: int = 1) -> str:
    if value is None:
        return "not available"
    if kind == "percent":
        return fmt.percent(value)
    if kind == "points":
        return fmt.points(value)
    if kind == "count":
        return fmt.count(value)
    return fmt.number(value, decimals)


def _ci(ci: Any, kind: str = "number", decimals: int = 1) -> str:
    return fmt.ci(tuple(ci), kind, decimals) if ci else "95% CI not available"


def render_text(summary: dict[str, Any]) -> str:
    """Render the machine-readable summary as a plain-text report (one source of figures)."""
    data = summary.get("data", {})
    lines = [f"Physical activity in NHS Talking Therapies — summary of {data.get('source') or 'data'}",
             f"Data level: {data.get('level', 'episode')}", "",
             "Participants who finished treatment (2+ sessions):"]
    for g in GROUPS:
        lines.append(f"  {GROUP_LABELS[g]}: {_value(summary['participants'][g], 'count')} "
                     f"({_value(data.get('not_finished', {}).get(g), 'count')} not finished, excluded)")
    lines += ["", "Outcome rates (Wilson 95% CIs):"]
    for name, rate in summary["rates"].items():
        lines.append(f"  {RATE_DEFINITIONS[name].label}:")
        for g in GROUPS:
            r = rate[g]
            lines.append(f"    {GROUP_LABELS[g]}: {_value(r['count'], 'count')}/{_value(r['denominator'], 'count')}"
                         f" = {_value(r['rate'], 'percent')} ({_ci(r['ci95'], 'percent')})")
        d = rate["difference"]
        lines.append(f"    Difference: {_value(d['estimate'], 'points')} points ({_ci(d['ci95'], 'points')}); "
                     f"Fisher's exact {fmt.p_value(rate['fisher_p'])}")
        o, rr = rate["odds_ratio"], rate.get("relative_risk", {})
        lines.append(f"    Odds ratio: {_value(o['estimate'], decimals=2)} ({_ci(o['ci95'], decimals=2)}); "
                     f"relative risk: {_value(rr.get('estimate'), decimals=2)} ({_ci(rr.get('ci95'), decimals=2)})")
    lines += ["", "Symptom change (last − first; negative = improvement):"]
    for key, m in summary["measures"].items():
        lines.append(f"  {_measure_label(key)}:")
        for g in GROUPS:
            d = m[g]
            lines.append(f"    {GROUP_LABELS[g]} (n={_value(d['n'], 'count')}): first {_value(d['mean_first'])} "
                         f"(SD {_value(d['sd_first'])}), last {_value(d['mean_last'])} (SD {_value(d['sd_last'])}), "
                         f"change {_value(d['mean_change'])} (SD {_value(d['sd_change'])})")
        a, w = m["ancova"], m["welch"]
        lines.append(f"    ANCOVA (primary): {_value(a['difference'], decimals=2)} ({_ci(a['ci95'], decimals=2)}), "
                     f"{fmt.p_value(a['p'])}")
        lines.append(f"    Welch: {_value(w['difference'], decimals=2)} ({_ci(w['ci95'], decimals=2)}), "
                     f"t = {_value(w['t'], decimals=2)}, df = {_value(w['df'])}, {fmt.p_value(w['p'])}")
        lines.append(f"    Mann–Whitney: U = {_value(m['mann_whitney']['u'])}, {fmt.p_value(m['mann_whitney']['p'])}")
        lines.append(f"    Hedges' g: {_value(m['hedges_g']['estimate'], decimals=2)} "
                     f"({_ci(m['hedges_g']['ci95'], decimals=2)})")
        pm = m.get("permutation", {})
        if pm.get("p") is not None:
            lines.append(f"    Permutation test: {fmt.p_value(pm['p'])} ({pm['n_resamples']:,} resamples, "
                         f"seed {pm['seed']})")
        else:
            lines.append(f"    Permutation test: not run ({pm.get('note') or 'not available'})")
    from analysis.adjusted import adjusted_text

    lines += adjusted_text(summary)
    return "\n".join(lines)


def _measure_label(key: str) -> str:
    from analysis.compare import measure_for

    return measure_for(key).label


def analyse(episodes: pd.DataFrame, source: str = "", level: str = "episode",
            notes: tuple[str, ...] = (), measures: tuple[str, ...] | None = None) -> Analysis:
    """Run every outcome rule and comparison on a validated episode-level frame.

    On large data sets (:data:`PARALLEL_MIN_ROWS`) the outcome flags, the rates and each measure's
    comparisons run side by side in worker threads (they depend only on the data, not on each other);
    every figure is the same either way.
    """
    rows = MeasureRows.of(episodes)
    keys = measures if measures is not None else tuple(available_measures(episodes, rows))

    def outcomes_and_rates() -> tuple[pd.DataFrame, dict[str, RateComparison]]:
        flags = participant_outcomes(episodes, rows)
        return flags, compare_rates(flags, rows.group)

    workers = min(len(keys) + 1, os.cpu_count() or 1, MAX_MEASURE_THREADS)
    if workers < 2 or len(episodes) < PARALLEL_MIN_ROWS:
        flags, rates = outcomes_and_rates()
        compared = {key: compare_measure(episodes, key, rows) for key in keys}
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="analyse") as pool:
            first = pool.submit(outcomes_and_rates)
            futures = {key: pool.submit(compare_measure, episodes, key, rows) for key in keys}
            flags, rates = first.result()
            compared = {key: future.result() for key, future in futures.items()}
    return Analysis(
        flags=flags,
        finishers=finisher_counts(flags, rows.group),
        completeness=paired_completeness(flags, rows.group),
        rates=rates,
        measures=compared,
        source=source, level=level, notes=tuple(notes), episodes=episodes,
    )


def compare_measures(episodes: pd.DataFrame, keys: tuple[str, ...]) -> dict[str, MeasureComparison]:
    """Every measure's comparisons, in ``keys`` order, as :func:`analyse` runs them.

    Large data sets run the measures in worker threads (NumPy, pyarrow and scipy's sorting release
    the GIL, so two CPUs share the work); each measure's arithmetic is the same either way, so the
    results are identical. Small ones run in this thread: starting threads would cost more than it saves.
    The row facts the measures share (:class:`~analysis.outcomes.MeasureRows`) are worked out once.
    """
    rows = MeasureRows.of(episodes)
    workers = min(len(keys), os.cpu_count() or 1, MAX_MEASURE_THREADS)
    if workers < 2 or len(episodes) < PARALLEL_MIN_ROWS:
        return {key: compare_measure(episodes, key, rows) for key in keys}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="measure") as pool:
        futures = {key: pool.submit(compare_measure, episodes, key, rows) for key in keys}
        return {key: future.result() for key, future in futures.items()}


def recovery_verdict(recovery: RateComparison, n_at_caseness: int) -> str:
    """Plain-English verdict on the recovery comparison, generated from the numbers.

    e.g. "Recovery was 27 points higher in the physical activity group (95% CI −6 to 54);
    with 33 people at caseness this difference could be chance (p = 0.17)."
    """
    pa, control = recovery.groups[GROUP_PA], recovery.groups[GROUP_CONTROL]
    d = recovery.difference
    if d.estimate is None:
        return f"Recovery cannot be compared: {d.reason}"
    direction = "higher" if d.estimate > 0 else "lower"
    if abs(d.estimate) < 0.005:
        head = "Recovery was about the same in both groups"
    else:
        head = f"Recovery was {fmt.points(abs(d.estimate))} points {direction} in the physical activity group"
    head += (f" ({fmt.percent(pa.rate)} vs {fmt.percent(control.rate)}; difference {fmt.ci(d.ci95, 'points')})")
    p = recovery.fisher.p
    if p is None:
        return head + "."
    if p < ALPHA:
        return (head + f"; with {n_at_caseness:,} people at caseness this difference is unlikely to be chance "
                f"alone ({fmt.p_value(p)}), though the groups were self-selected.")
    return head + f"; with {n_at_caseness:,} people at caseness this difference could be chance ({fmt.p_value(p)})."


def measure_verdict(comparison: MeasureComparison) -> str:
    """Plain-English sentence on one measure's change, with the primary (ANCOVA) result."""
    pa, control = comparison.descriptives[GROUP_PA], comparison.descriptives[GROUP_CONTROL]
    if pa.mean_change is None or control.mean_change is None:
        return f"{comparison.label} change cannot be compared: a group has no one with both scores."

    def moved(value: float) -> str:
        return f"fell by {fmt.number(-value)}" if value < 0 else f"rose by {fmt.number(value)}"

    text = (f"{comparison.label} {moved(pa.mean_change)} points on average in the physical activity group and "
            f"{moved(control.mean_change)} in the control group")
    a = comparison.ancova
    if a.estimate is None:
        return text + f"; the adjusted comparison is not available ({a.reason})."
    lower = "lower" if a.estimate < 0 else "higher"
    text += (f". Adjusted for the first score, the physical activity group ended {fmt.number(abs(a.estimate))} "
             f"points {lower} ({fmt.ci(a.ci95)}, {fmt.p_value(a.p)})")
    if a.p is not None and a.p >= ALPHA:
        text += ": this could be chance."
    else:
        text += "."
    return text


__all__ = ["Analysis", "analyse", "compare_measures", "recovery_verdict", "measure_verdict", "render_text"]
