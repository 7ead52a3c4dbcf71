"""One analysis of a data set: every figure computed once, then shown many ways.

:func:`analyse` runs the outcome rules and every comparison; the result feeds the
pages, the CLI's JSON/text (:meth:`Analysis.to_dict`, :meth:`Analysis.to_text`) and
the exports, so they all print the same numbers.
"""

from __future__ import annotations

import copy
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
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
from analysis.disclosure import FEWER_THAN, count_shown
from analysis.outcomes import (
    RATE_DEFINITIONS,
    finisher_counts,
    paired_completeness,
    participant_outcomes,
)
from analysis.results import clean_float, figures_frame, summary_figures, with_reason
from analysis.schema import (
    ALPHA,
    GROUP_CONTROL,
    GROUP_LABELS,
    GROUP_PA,
    GROUPS,
    PARALLEL_MIN_ROWS,
    PRIMARY_MEASURES,  # noqa: F401 (re-exported: pages and the story read it from here or schema)
)
from analysis.sites import SiteAnalysis, site_analysis, sites_text

SMALL_SAMPLE_THRESHOLD: Final = 100
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
    sites: SiteAnalysis | None = None  # several sites (a site column): per-site comparisons and their pooling
    episodes: pd.DataFrame | None = field(default=None, repr=False, compare=False)  # for the adjusted analysis
    # the adjusted analysis (default characteristics, ATT) when analyse() started it beside the comparisons
    adjustment: Future | None = field(default=None, repr=False, compare=False)

    @cached_property
    def adjusted_blocks(self) -> dict[str, Any]:
        """The summary's ``adjusted`` and ``e_values`` keys (:mod:`analysis.adjusted`), computed once."""
        from analysis.adjusted import summary_blocks

        return summary_blocks(self.episodes, self.flags, self.rates, self.measures,
                              None if self.adjustment is None else self.adjustment.result())

    @cached_property
    def _counts(self) -> dict[str, tuple[tuple[str, int], ...] | int]:
        """The finisher counts, read from ``finishers`` once (pages ask for them several times a run)."""
        return {column: tuple((g, int(self.finishers.loc[g, column])) for g in GROUPS)
                for column in ("finishers", "not_finished")} | {
            "at_caseness": int(self.finishers["at_caseness"].sum())}

    @property
    def n_finishers(self) -> dict[str, int]:
        return dict(self._counts["finishers"])

    @property
    def n_not_finished(self) -> dict[str, int]:
        return dict(self._counts["not_finished"])

    @property
    def n_at_caseness(self) -> int:
        return self._counts["at_caseness"]

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
                "paired_completeness": with_reason({
                    g: clean_float(completeness.loc[g, "completeness"]) for g in (*GROUPS, "all")},
                    "No one in the group finished treatment, so there is no completeness."),
                "notes": list(self.notes),
            },
            "bayes": {key: result.to_dict() for key, result in self.benefit().items()},
            **copy.deepcopy(self.adjusted_blocks),
        } | ({"sites": self.sites_dict()} if self.sites is not None else {})

    def sites_dict(self) -> dict[str, Any]:
        """The ``sites`` key: the site analysis, with ``adjusted`` (the adjusted analysis accounting for site,
        :func:`analysis.adjusted.site_adjusted_block`) when there are two or more sites."""
        from analysis.adjusted import site_adjusted_block

        out = self.sites.to_dict() if self.sites is not None else {}
        if self.sites is not None and self.sites.n_sites >= 2:
            out["adjusted"] = site_adjusted_block(self.adjusted_blocks["adjusted"])
        return out

    def benefit(self, rate_mid: float | None = None, measure_mids: dict[str, float] | None = None) -> dict[str, Any]:
        """Probability of benefit per rate and measure (:func:`analysis.bayes.benefit_summary`; MIDs default)."""
        from analysis.bayes import benefit_summary

        return benefit_summary(self.rates, self.measures, rate_mid=rate_mid, measure_mids=measure_mids)

    def results_table(self, safe: bool = False) -> pd.DataFrame:
        """Every figure of :meth:`to_dict`'s known blocks as one tidy typed table (a row per figure:
        section, item, part, key, value, kind, basis, reason), with disclosure control applied by
        kind when ``safe`` (:func:`analysis.disclosure.safe_figures`)."""
        rows, _ = summary_figures(self.to_dict(), GROUPS)
        if safe:
            from analysis.disclosure import safe_figures

            rows = safe_figures(rows)
        return figures_frame(rows)

    def recovery_verdict(self, safe: bool = False) -> str:
        """The recovery sentence; ``safe``: the number at caseness as presentation-safe mode shows it."""
        return recovery_verdict(self.rates["recovery"], self.n_at_caseness, safe=safe)

    def measure_verdict(self, measure: str) -> str:
        return measure_verdict(self.measures[measure])

    def small_sample_caution(self, safe: bool = False) -> str:
        total = count_shown(sum(self.n_finishers.values()), safe)
        if not self.small_sample:
            return ("Groups were not randomised, so differences may reflect who chose physical activity "
                    "rather than its effect.")
        return (f"Caution: {total} people finished treatment in this data. With so few, intervals are wide, "
                "a real benefit can look like chance, and chance can look like a benefit. Groups were not "
                "randomised (participants chose physical activity), so differences may reflect who chose it.")

    def to_text(self, safe: bool = False, summary: dict[str, Any] | None = None) -> str:
        """A readable report of exactly the figures in :meth:`to_dict` (safe-mode aware); ``summary``: that
        dict already made (e.g. with ``bayes`` for other MIDs or ``value_for_money`` added), not made again."""
        summary = self.to_dict() if summary is None else summary
        if safe:
            from analysis.disclosure import SAFE_MODE_NOTE, make_summary_safe

            summary = make_summary_safe(summary)
        text = render_text(summary)
        if safe:
            return text + "\n" + SAFE_MODE_NOTE
        return text + "\n\nVerdict: " + self.recovery_verdict() + "\n" + self.small_sample_caution()


def _value(value: Any, kind: str = "number", decimals: int = 1) -> str:
    if value is None:  # a count is null only when safe mode suppressed it
        return FEWER_THAN if kind == "count" else "not available"
    if kind == "percent":
        return fmt.percent(value)
    if kind == "points":
        return fmt.points(value)
    if kind == "count":
        return fmt.count(value)
    return fmt.number(value, decimals)


def _ci(ci: Any, kind: str = "number", decimals: int = 1) -> str:
    return fmt.ci(tuple(ci), kind, decimals) if ci else "95% CI not available"


def _why(*blocks: Any) -> str:
    """' [not available: <reason>]' for the first block holding a null figure with its reason (JSON rule)."""
    for block in blocks:
        if isinstance(block, dict) and block.get("reason"):
            return f" [{block['reason']}]"
    return ""


def render_text(summary: dict[str, Any]) -> str:
    """Render the machine-readable summary as a plain-text report (one source of figures); every figure
    that is not available carries its reason in brackets, as the JSON does."""
    data = summary.get("data", {})
    lines = [f"Physical activity in NHS Talking Therapies — summary of {data.get('source') or 'data'}",
             f"Data level: {data.get('level', 'episode')}", "",
             "Participants who finished treatment (2+ sessions):"]
    for g in GROUPS:
        lines.append(f"  {GROUP_LABELS[g]}: {_value(summary['participants'][g], 'count')} "
                     f"({_value(data.get('not_finished', {}).get(g), 'count')} not finished, excluded)"
                     + (_why(summary["participants"], data.get("not_finished")) if summary["participants"][g] is None
                        or data.get("not_finished", {}).get(g) is None else ""))
    lines += ["", "Outcome rates (Wilson 95% CIs):"]
    for name, rate in summary["rates"].items():
        lines.append(f"  {RATE_DEFINITIONS[name].label}:")
        for g in GROUPS:
            r = rate[g]
            lines.append(f"    {GROUP_LABELS[g]}: {_value(r['count'], 'count')}/{_value(r['denominator'], 'count')}"
                         f" = {_value(r['rate'], 'percent')} ({_ci(r['ci95'], 'percent')}){_why(r)}")
        d = rate["difference"]
        lines.append(f"    Difference: {_value(d['estimate'], 'points')} points ({_ci(d['ci95'], 'points')}){_why(d)}; "
                     f"Fisher's exact {fmt.p_value(rate['fisher_p'])}"
                     + (_why(rate) if rate["fisher_p"] is None else ""))
        o, rr = rate["odds_ratio"], rate.get("relative_risk", {})
        lines.append(f"    Odds ratio: {_value(o['estimate'], decimals=2)} ({_ci(o['ci95'], decimals=2)}){_why(o)}; "
                     f"relative risk: {_value(rr.get('estimate'), decimals=2)} ({_ci(rr.get('ci95'), decimals=2)})"
                     f"{_why(rr)}")
    lines += ["", "Symptom change (last − first; negative = improvement):"]
    for key, m in summary["measures"].items():
        lines.append(f"  {_measure_label(key)}:")
        for g in GROUPS:
            d = m[g]
            lines.append(f"    {GROUP_LABELS[g]} (n={_value(d['n'], 'count')}): first {_value(d['mean_first'])} "
                         f"(SD {_value(d['sd_first'])}), last {_value(d['mean_last'])} (SD {_value(d['sd_last'])}), "
                         f"change {_value(d['mean_change'])} (SD {_value(d['sd_change'])}){_why(d)}")
        a, w = m["ancova"], m["welch"]
        lines.append(f"    ANCOVA (primary): {_value(a['difference'], decimals=2)} ({_ci(a['ci95'], decimals=2)}), "
                     f"{fmt.p_value(a['p'])}{_why(a)}")
        lines.append(f"    Welch: {_value(w['difference'], decimals=2)} ({_ci(w['ci95'], decimals=2)}), "
                     f"t = {_value(w['t'], decimals=2)}, df = {_value(w['df'])}, {fmt.p_value(w['p'])}{_why(w)}")
        mw = m["mann_whitney"]
        lines.append(f"    Mann–Whitney: U = {_value(mw['u'])}, {fmt.p_value(mw['p'])}{_why(mw)}")
        lines.append(f"    Hedges' g: {_value(m['hedges_g']['estimate'], decimals=2)} "
                     f"({_ci(m['hedges_g']['ci95'], decimals=2)}){_why(m['hedges_g'])}")
        pm = m.get("permutation", {})
        if pm.get("p") is not None:
            lines.append(f"    Permutation test: {fmt.p_value(pm['p'])} ({pm['n_resamples']:,} resamples, "
                         f"seed {pm['seed']})")
        else:
            lines.append(f"    Permutation test: not run ({pm.get('reason') or pm.get('note') or 'not available'})")
    if summary.get("sites"):
        lines += sites_text(summary["sites"])
    if summary.get("bayes"):
        from analysis.bayes import text_lines as bayes_lines

        lines += ["", *bayes_lines(summary["bayes"])]
    if summary.get("value_for_money"):
        from analysis.value import text_lines as value_lines

        lines += ["", *value_lines(summary["value_for_money"])]
    from analysis.adjusted import adjusted_text

    lines += adjusted_text(summary)
    return "\n".join(lines)


def _measure_label(key: str) -> str:
    from analysis.compare import measure_for

    return measure_for(key).label


def _in_background(work: Any, *args: Any) -> Future:
    """``work(*args)`` in a daemon thread of its own; its result (or exception) through the returned future."""
    future: Future = Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(work(*args))
            except BaseException as error:  # noqa: BLE001 - handed to whoever asks for the result
                future.set_exception(error)

    threading.Thread(target=run, name="adjusted", daemon=True).start()
    return future


def analyse(episodes: pd.DataFrame, source: str = "", level: str = "episode",
            notes: tuple[str, ...] = (), measures: tuple[str, ...] | None = None,
            adjusted: bool = False) -> Analysis:
    """Run every outcome rule and comparison on a validated episode-level frame.

    On large data sets (:data:`PARALLEL_MIN_ROWS`) the outcome flags, the rates and each measure's
    comparisons run side by side in worker threads (they depend only on the data, not on each other);
    every figure is the same either way. With ``adjusted`` (the CLI's summary, which always carries it) the
    adjusted analysis with its defaults (:func:`analysis.adjusted.adjust`) starts in a thread of its own as
    soon as the outcome flags exist, beside the comparisons, instead of after them; on small data sets it is
    left to :attr:`Analysis.adjusted_blocks` as before.
    """
    rows = MeasureRows.of(episodes)
    keys = measures if measures is not None else tuple(available_measures(episodes, rows))
    workers = min(len(keys) + 1, os.cpu_count() or 1, MAX_MEASURE_THREADS)
    parallel = workers >= 2 and len(episodes) >= PARALLEL_MIN_ROWS
    adjustment: list[Future] = []

    def outcomes_and_rates() -> tuple[pd.DataFrame, dict[str, RateComparison]]:
        flags = participant_outcomes(episodes, rows)
        if adjusted and parallel:
            from analysis.adjusted import adjust

            adjustment.append(_in_background(adjust, episodes, flags))
        return flags, compare_rates(flags, rows.group)

    if not parallel:
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
        sites=site_analysis(episodes, flags, keys), adjustment=adjustment[0] if adjustment else None,
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


CLEAR: Final = "clear"  # the test's p is below ALPHA and the interval excludes no difference
CHANCE: Final = "chance"  # p at or above ALPHA and the interval includes no difference
BORDERLINE: Final = "borderline"  # the test and the interval disagree (near the threshold)


def evidence(p: float | None, ci: tuple[float, float] | None, null: float = 0.0) -> str | None:
    """How strong the evidence of a difference is, judged from BOTH the test's p and the interval.

    ``clear`` when p < :data:`~analysis.schema.ALPHA` and the 95% CI excludes ``null`` (0 for a
    difference, 1 for a ratio); ``chance`` when p ≥ ALPHA and the CI includes it; ``borderline``
    when they disagree, which happens near the threshold when the p and the CI come from different
    methods (Fisher's exact test is conservative; Newcombe's interval is not its inversion). None
    when there is neither. A verdict is never worded from one of them alone.

    >>> evidence(0.07, (0.02, 0.63)), evidence(0.01, (0.1, 0.5)), evidence(0.3, (-0.1, 0.4))
    ('borderline', 'clear', 'chance')
    """
    if p is None and ci is None:
        return None
    excludes = None if ci is None else (ci[0] > null or ci[1] < null)
    significant = None if p is None else p < ALPHA
    if significant is None:
        return CLEAR if excludes else CHANCE
    if excludes is None or excludes == significant:
        return CLEAR if significant else CHANCE
    return BORDERLINE


def evidence_clause(p: float | None, ci: tuple[float, float] | None, test: str, interval: str,
                    kind: str = "points", null: float = 0.0) -> str:
    """The clause that states the evidence, naming the method behind each number, e.g.
    "this difference could be chance (Fisher's exact test p = 0.17; Newcombe 95% CI −6 to 54 includes no
    difference)"; where the two disagree it says so, and why."""
    verdict = evidence(p, ci, null)
    p_text = f"{test} {fmt.p_value(p)}" if p is not None else f"{test}: p not available"
    ci_text = f"{interval} {fmt.ci(ci, kind).removeprefix('95% CI ')}" if ci is not None else f"{interval}: not available"
    none = "no difference" if null == 0 else "no difference (1)"
    if verdict == CLEAR:
        return f"this difference is unlikely to be chance alone ({p_text}; {ci_text} excludes {none})"
    if verdict == CHANCE:
        return f"this difference could be chance ({p_text}; {ci_text} includes {none})"
    if verdict == BORDERLINE:
        if p is not None and p >= ALPHA:
            return (f"the evidence is borderline: the {ci_text} excludes {none}, but {p_text} is not below "
                    f"{ALPHA:g}. The two methods differ near the threshold (Fisher's exact test is conservative "
                    "with small numbers), so read this as weak evidence, not proof")
        return (f"the evidence is borderline: {p_text} is below {ALPHA:g}, but the {ci_text} includes {none}. "
                "The two methods differ near the threshold, so read this as weak evidence, not proof")
    return "there is no test of this difference"


def recovery_verdict(recovery: RateComparison, n_at_caseness: int | None, safe: bool = False) -> str:
    """Plain-English verdict on the recovery comparison, generated from the numbers.

    The wording comes from both Fisher's exact p and the Newcombe 95% CI of the difference
    (:func:`evidence`), each named; when they disagree the sentence says so. e.g. "Recovery was 27
    points higher in the physical activity group (63% vs 36%); with 33 people at caseness this
    difference could be chance (Fisher's exact test p = 0.17; Newcombe 95% CI −6 to 54 includes no
    difference)." ``safe``: the number at caseness as presentation-safe mode shows it.
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
    head += f" ({fmt.percent(pa.rate)} vs {fmt.percent(control.rate)})"
    p = recovery.fisher.p
    if p is None and d.ci95 is None:
        return head + "."
    clause = evidence_clause(p, d.ci95, "Fisher's exact test", "Newcombe 95% CI")
    at_caseness = "" if n_at_caseness is None else f"with {count_shown(n_at_caseness, safe)} people at caseness "
    ending = ", though the groups were self-selected." if evidence(p, d.ci95) == CLEAR else "."
    return f"{head}; {at_caseness}{clause}{ending}"


def rate_evidence_note(label: str, comparison: RateComparison) -> str | None:
    """Where Fisher's exact p and an interval printed beside it disagree about chance, one sentence
    saying so and why; None where they agree. The intervals checked are those the pages print: the
    Newcombe CI of the difference (against 0), the odds ratio's and the relative risk's (against 1).
    """
    p = comparison.fisher.p
    if p is None:
        return None
    intervals = [("Newcombe 95% CI of the difference", comparison.difference.ci95, 0.0, "points"),
                 ("odds ratio's 95% CI", comparison.odds_ratio.ci95, 1.0, "number"),
                 ("relative risk's 95% CI", comparison.relative_risk.ci95, 1.0, "number")]
    disagree = [(name, ci, kind) for name, ci, null, kind in intervals
                if ci is not None and evidence(p, ci, null) == BORDERLINE]
    if not disagree:
        return None
    listed = " and ".join(f"the {name} ({fmt.ci(ci, kind, 2 if kind == 'number' else 0).removeprefix('95% CI ')})"
                       for name, ci, kind in disagree)
    if p >= ALPHA:
        return (f"{label}: {listed} {'excludes' if len(disagree) == 1 else 'exclude'} no difference, but Fisher's "
                f"exact test gives {fmt.p_value(p)}, not below {ALPHA:g}. The methods differ near the threshold "
                "(Fisher's exact test is conservative with small numbers), so this is borderline: weak evidence "
                "of a difference, not proof.")
    return (f"{label}: Fisher's exact test gives {fmt.p_value(p)}, below {ALPHA:g}, but {listed} "
            f"{'includes' if len(disagree) == 1 else 'include'} no difference. The methods differ near the "
            "threshold, so this is borderline: weak evidence of a difference, not proof.")


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
    text += (f". Adjusted for the first score (ANCOVA), the physical activity group ended "
             f"{fmt.number(abs(a.estimate))} points {lower} ({fmt.ci(a.ci95)}, {fmt.p_value(a.p)})")
    verdict = evidence(a.p, a.ci95)  # one model gives both, so they agree but for rounding at the threshold
    if verdict == CHANCE:
        text += ": this could be chance."
    elif verdict == BORDERLINE:
        text += ": borderline, at the threshold of chance."
    else:
        text += "."
    return text


__all__ = ["Analysis", "analyse", "compare_measures", "evidence", "evidence_clause", "measure_verdict",
           "rate_evidence_note", "recovery_verdict", "render_text"]
