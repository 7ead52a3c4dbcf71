"""Adjusting for who chose physical activity: propensity weights, balance and doubly robust effects.

Method (``shared/design/outcomes-and-statistics.md``, "Adjusting for who chose physical activity"):

* **Estimand**: the average effect in those who took part in physical activity (ATT). Overlap weights
  (the ATO, Li, Morgan & Zaslavsky 2018) are an option.
* **Propensity score**: logistic regression of group (PA = 1) on the chosen baseline covariates among
  finishers with every covariate present (complete cases; the excluded count is reported), fitted by
  statsmodels' ``Logit``. Numeric covariates enter linearly; a category enters as one indicator per
  level beside its most common one.
* **Weights**: ATT, 1 for PA and ps/(1 − ps) for control, normalised within group; overlap weights
  1 − ps for PA and ps for control.
* **Balance**: the SMD of every covariate (each category level) before and after weighting, always
  over the unweighted pooled SD, ``(mean PA − mean control) / √((SD²PA + SD²control)/2)``, with
  |SMD| > :data:`~analysis.compare.SMD_IMBALANCE` called imbalance (Austin 2009); effective sample
  size (Σw)²/Σw² per group (Kish 1965).
* **Effect (doubly robust)**: the outcome is regressed on the covariates by weighted least squares
  separately in each group (statsmodels ``WLS``; for the rates a linear probability model), and each
  group's model is averaged over the target population (g-computation over the PA group for the ATT):
  inverse-probability-weighted regression adjustment (IPW-RA; Wooldridge 2007), the estimator of
  statsmodels' ``TreatmentEffect.ipw_ra``. It is consistent when either the propensity model or the
  outcome model is right. Rates: difference and relative risk; measures: difference in last score,
  the measure's own first score always in its outcome model.
* **95% CI**: percentile bootstrap (:data:`BOOTSTRAP_RESAMPLES` seeded resamples, stratified by group)
  re-fitting both models in every resample, vectorised across resamples (Newton–Raphson for the
  logistic model, the normal equations for WLS); above :data:`BOOTSTRAP_MAX_N` people, the analytic
  M-estimation (sandwich) SE of the stacked estimating equations (Lunceford & Davidian 2004; Stefanski &
  Boos 2002), relative risk on the log scale.
* **E-value** (VanderWeele & Ding 2017): :func:`e_value_rr`, :func:`e_value_difference`.

**Large data** (above :data:`BOOTSTRAP_MAX_N` people) computes the same estimates another way, for speed
(tested against the way above): the design is kept as its parts (:class:`_Factored`: one cell per
combination of category levels, plus the numeric columns) instead of an n × p array; the logistic model takes
statsmodels' Newton steps on it (:func:`_newton_logit`); for the ATT the PA group's outcome model averaged over
the PA group is that group's mean, so it is not fitted; and every outcome's sandwich variance comes from the
block structure of the stacked equations in two passes over the rows (:func:`_factored_effects`).

Every failure (no covariates, a group too small, perfect separation, an outcome with no one in a
group) is a null with a plain reason; nothing here raises on data.
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from analysis import formatting as fmt
from analysis.compare import SMD_IMBALANCE, categorical_columns, measure_for, text_columns
from analysis.outcomes import RATE_DEFINITIONS, participant_outcomes
from analysis.results import Estimate, clean_ci, clean_float
from analysis.schema import GROUP_CONTROL, GROUP_LABELS, GROUP_PA, GROUPS, SITE_COLUMN
from analysis.sites import site_covariate

ESTIMAND_ATT: Final = "ATT"
ESTIMAND_ATO: Final = "ATO"
ESTIMANDS: Final = {
    ESTIMAND_ATT: "the average effect in those who took part in physical activity (ATT)",
    ESTIMAND_ATO: "the average effect in the people who could have been in either group (overlap weights, ATO)",
}
BOOTSTRAP_RESAMPLES: Final = 1000
BOOTSTRAP_SEED: Final = 20261205
BOOTSTRAP_MAX_N: Final = 5000  # above this many people: M-estimation (sandwich) SE instead of resampling
BOOTSTRAP_MAX_FAILED: Final = 0.2  # more failed resamples than this share: no CI (fewer: said in the notes)
MIN_LEVEL_COUNT: Final = 5  # category levels with fewer people are pooled into one "other" level
DEFAULT_PER_PARAMETER: Final = 5  # the default covariates keep ≥ 5 people of the smaller group per parameter
PRIMARY_PER_PARAMETER: Final = 10  # ≥ 10 per parameter in the smaller group: a primary analysis (Peduzzi 1996)
EXTREME_PROPENSITY: Final = 0.05  # scores below this or above 1 − this are shown as limited overlap
MIN_GROUP: Final = 2  # fewer people than this in a group: nothing is estimated
E_VALUE_SMD_FACTOR: Final = 0.91  # RR ≈ exp(0.91·d) for a standardised mean difference d (VanderWeele & Ding)
OTHER_LEVEL: Final = "Other (levels with fewer than 5 people)"
# The design's default covariates in priority order (baseline scores first). Derived columns
# (baseline_severity) and things that happen after the start (sessions) are not baseline covariates.
DEFAULT_ORDER: Final = ("phq9_first", "gad7_first", "wsas_first", "age_band", "gender", "ethnicity",
                        "problem_descriptor", "ltc")
NOT_COVARIATES: Final = frozenset({"participant_id", "group", "treatment_sessions", "pa_sessions", "adsm_measure",
                                   "adsm_first", "baseline_severity"})
ADJUSTED_MEASURES: Final = ("phq9", "gad7", "wsas")
METHOD: Final = ("Doubly robust inverse-probability-weighted regression adjustment (IPW-RA, Wooldridge 2007): "
                 "logistic propensity score, weighted least-squares outcome model per group, g-computation "
                 "over the target group")
CI_METHODS: Final = {
    "bootstrap": "percentile bootstrap, stratified by group, both models re-fitted in every resample",
    "sandwich": "M-estimation (sandwich) standard error of the stacked estimating equations "
                "(Lunceford & Davidian 2004); relative risk on the log scale",
}
SITE_METHOD: Final = ("site (two or more sites) is a covariate: one indicator per site beside the largest in both the "
                       "propensity model and each group's outcome model, so each person is compared with people of "
                       "the same site (adjustment for site, not stratified estimation within each site)")
SITE_CAVEAT: Final = ("With ATT weights site is balanced exactly only when it is the sole characteristic (the weights "
                      "then reweight each site's controls to its own physical activity share); with other "
                      "characteristics the balance table shows how close it is. The model assumes that the other "
                      "characteristics relate to choosing physical activity in the same way in every site (no "
                      "site-by-characteristic interactions); a site with people in one group only is left out, and "
                      f"sites with fewer than {MIN_LEVEL_COUNT} finishers are pooled into one level.")
E_VALUE_METHOD: Final = ("E-value (VanderWeele & Ding 2017): RR + √(RR(RR − 1)), RR inverted below 1; for a "
                         "difference in means RR ≈ exp(0.91·d), d = difference / pooled SD of the outcome")


# --- E-values ---------------------------------------------------------------------------------


def e_value_rr(rr: float | None, low: float | None = None, high: float | None = None
               ) -> tuple[float | None, float | None]:
    """E-value of a risk ratio and of its CI (VanderWeele & Ding 2017, Ann Intern Med 167:268).

    E = RR + √(RR(RR − 1)) for RR ≥ 1 (1/RR is used below 1). The CI's E-value is that of the
    limit nearer 1, or 1 when the CI includes 1. Returns ``(point, ci)``; None where not finite.

    >>> [round(v, 2) for v in e_value_rr(3.9, 1.8, 8.7)]   # the paper's breastfeeding example
    [7.26, 3.0]
    """
    def transform(value: float) -> float:
        value = 1 / value if value < 1 else value
        return value + math.sqrt(value * (value - 1))

    if rr is None or not math.isfinite(rr) or rr <= 0:
        return None, None
    point = transform(rr)
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)) or low <= 0:
        return point, None
    if low <= 1 <= high:
        return point, 1.0
    return point, transform(low if rr >= 1 else high)


def e_value_difference(difference: float | None, ci: tuple[float, float] | None, sd: float | None
                       ) -> tuple[float | None, float | None]:
    """E-value of a difference in means: RR ≈ exp(0.91·d), d = difference / SD (VanderWeele & Ding 2017)."""
    if difference is None or sd is None or not sd > 0:
        return None, None
    rr = math.exp(E_VALUE_SMD_FACTOR * difference / sd)
    if ci is None:
        return e_value_rr(rr)
    low, high = (math.exp(E_VALUE_SMD_FACTOR * limit / sd) for limit in ci)
    return e_value_rr(rr, min(low, high), max(low, high))


def e_value_sentence(e_point: float | None, e_ci: float | None, outcome: str) -> str:
    """The E-value in a sentence a commissioner understands."""
    if e_point is None:
        return f"The E-value for {outcome} cannot be computed."
    text = (f"To explain away the difference in {outcome}, an unmeasured difference between the groups would need "
            f"to be linked to both choosing physical activity and {outcome} by a risk ratio of "
            f"{e_point:.1f} each, over and above what was adjusted for")
    if e_ci is None:
        return text + "."
    if e_ci <= 1.0:
        return text + "; but the 95% CI already includes no difference, so no hidden confounding is needed to make it compatible with none."
    return text + f"; a risk ratio of {e_ci:.1f} each could move the 95% CI to include no difference."


# --- covariates -------------------------------------------------------------------------------


def candidate_covariates(episodes: pd.DataFrame, finishers: _Finishers | None = None) -> list[str]:
    """Baseline characteristics that can enter the propensity model: each first score (not the ADSM,
    whose scales differ) and each category column with 2 to 12 values (``finishers``: the columns' distinct
    values already worked out there)."""
    numeric = [c for c in episodes.columns if c.endswith("_first") and c not in NOT_COVARIATES
               and pd.api.types.is_numeric_dtype(episodes[c])]
    count = None if finishers is None else (lambda column: len(finishers.factorized(column)[1]))
    categories = [c for c in categorical_columns(episodes, count_levels=count) if c not in NOT_COVARIATES]
    ordered = [c for c in DEFAULT_ORDER if c in numeric or c in categories]
    return ordered + [c for c in [*numeric, *categories] if c not in ordered]


def _parameters(finishers: _Finishers, column: str) -> int:
    """The propensity-model parameters a column costs: 1 for a number; for a category one per level of at least
    :data:`MIN_LEVEL_COUNT` finishers, plus one for the rest pooled when they are as many, less the reference
    (levels as the values read as text, ``column.dropna().astype(str).value_counts()``)."""
    if pd.api.types.is_numeric_dtype(finishers.dtype(column)):
        return 1
    codes, uniques = finishers.factorized(column)
    as_text, names = pd.factorize(pd.Series(uniques).astype(str))  # values that read the same are one level
    counts = np.bincount(as_text[codes[codes >= 0]], minlength=len(names))
    levels = int((counts >= MIN_LEVEL_COUNT).sum()) + int(counts[counts < MIN_LEVEL_COUNT].sum() >= MIN_LEVEL_COUNT)
    return max(levels - 1, 0)


def default_covariates(episodes: pd.DataFrame, flags: pd.DataFrame | None = None) -> list[str]:
    """The design's default covariates (every baseline score, age band, gender, ethnicity, problem
    descriptor, long-term condition) that are present, in that order, kept while the propensity model has
    at least :data:`DEFAULT_PER_PARAMETER` people of the smaller group per parameter (at least the first).
    With two or more sites (:func:`analysis.sites.site_covariate`) ``site`` comes first, so it is always
    adjusted for (:data:`SITE_METHOD`); with one site or none the list is as before."""
    flags = participant_outcomes(episodes) if flags is None else flags
    return _default_covariates(episodes, _Finishers(episodes, flags["finished"].to_numpy(dtype=bool)))


def _default_covariates(episodes: pd.DataFrame, finishers: _Finishers) -> list[str]:
    smaller = min(int(finishers.is_group(g).sum()) for g in GROUPS)
    budget = max(smaller // DEFAULT_PER_PARAMETER, 1)
    chosen: list[str] = []
    used = 0
    finishers.prefetch(text_columns(episodes))  # each text column's distinct values, side by side
    candidates = candidate_covariates(episodes, finishers)
    order = [c for c in DEFAULT_ORDER if c in candidates]
    if SITE_COLUMN in candidates and site_covariate(episodes) is not None:
        order = [SITE_COLUMN, *order]
    for column in order:
        cost = _parameters(finishers, column)
        if cost == 0:
            continue
        if used + cost > budget and chosen:
            continue
        chosen.append(column)
        used += cost
    return chosen


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdjustedEffect:
    """One outcome's adjusted comparison: difference (and for a rate, relative risk) with 95% CIs."""

    outcome: str
    label: str
    kind: str  # "rate" or "measure"
    n: dict[str, int]
    difference: Estimate
    relative_risk: Estimate | None = None
    means: dict[str, float | None] = field(default_factory=dict)  # the two potential-outcome means

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": dict(self.n), "difference": _estimate_dict(self.difference)}
        if self.relative_risk is not None:
            out["relative_risk"] = _estimate_dict(self.relative_risk)
        return out


def _estimate_dict(e: Estimate) -> dict[str, Any]:
    out: dict[str, Any] = {"estimate": e.estimate, "ci95": list(e.ci95) if e.ci95 is not None else None}
    if e.reason:
        out["reason"] = e.reason
    elif e.estimate is None or e.ci95 is None:
        out["reason"] = "Not computable: the result is not a finite number."
    return out


def _counts_with_reason(counts: dict[str, Any], reason: str) -> dict[str, Any]:
    """A dict of per-group figures; a sibling reason when any is null."""
    out = dict(counts)
    if any(v is None for v in out.values()):
        out["reason"] = reason
    return out


@dataclass(frozen=True)
class Adjustment:
    """The adjusted analysis of one data set for one choice of covariates, weights and trimming."""

    estimand: str
    covariates: tuple[str, ...]
    n: dict[str, int]
    excluded: dict[str, int]  # per group: finishers left out (missing covariates, one-group levels, trimming)
    ess: dict[str, float | None]
    balance: pd.DataFrame = field(repr=False)
    propensity: pd.DataFrame = field(repr=False)  # group, propensity per person in the analysis
    effects: dict[str, AdjustedEffect] = field(default_factory=dict)
    ci_method: str = "bootstrap"
    n_resamples: int | None = None
    seed: int | None = None
    failed_resamples: int = 0
    parameters: int = 0
    role: str = "sensitivity"
    role_reason: str = ""
    trim: float | None = None
    notes: tuple[str, ...] = ()
    reason: str | None = None  # why nothing could be estimated
    method: str = METHOD

    @property
    def available(self) -> bool:
        return self.reason is None

    @property
    def estimand_text(self) -> str:
        text = ESTIMANDS[self.estimand]
        if self.trim is not None:
            text += (f", restricted to people with a propensity score between {self.trim:g} and {1 - self.trim:g} "
                     "(trimmed at your request: the estimand changed)")
        return text

    @property
    def imbalanced(self) -> dict[str, int]:
        """Characteristics (category levels) with |SMD| above the threshold, before and after weighting."""
        return {when: int((self.balance[f"smd_{when}"].abs() > SMD_IMBALANCE).sum()) for when in ("before", "after")}

    def overlap_counts(self) -> dict[str, int]:
        """People per group with a score outside [0.05, 0.95] (limited overlap)."""
        ps = self.propensity
        if ps.empty:
            return {g: 0 for g in GROUPS}
        extreme = (ps["propensity"] < EXTREME_PROPENSITY) | (ps["propensity"] > 1 - EXTREME_PROPENSITY)
        return {g: int((extreme & (ps["group"] == g)).sum()) for g in GROUPS}

    def to_dict(self) -> dict[str, Any]:
        balance = []
        for r in self.balance.to_dict("records"):
            row = {"covariate": r["covariate"], "level": r["level"], "smd_before": clean_float(r["smd_before"]),
                   "smd_after": clean_float(r["smd_after"])}
            if row["smd_before"] is None or row["smd_after"] is None:
                row["reason"] = "The characteristic does not vary within the groups, so it has no SMD."
            balance.append(row)
        out: dict[str, Any] = {
            "estimand": self.estimand if self.trim is None else f"{self.estimand} (trimmed)",
            "estimand_text": self.estimand_text,
            "covariates": list(self.covariates),
            "n": dict(self.n),
            "excluded": dict(self.excluded),
            "ess": _counts_with_reason({g: clean_float(v) for g, v in self.ess.items()},
                                       self.reason or "No weights in this group."),
            "balance": balance,
            "rates": {k: e.to_dict() for k, e in self.effects.items() if e.kind == "rate"},
            "measures": {k: e.to_dict() for k, e in self.effects.items() if e.kind == "measure"},
            "method": self.method,
            "ci_method": CI_METHODS.get(self.ci_method, self.ci_method),
            **({"n_resamples": self.n_resamples, "seed": self.seed, "failed_resamples": self.failed_resamples}
               if self.n_resamples is not None else {}),
            "propensity_parameters": self.parameters,
            "role": self.role,
            "role_reason": self.role_reason,
            "notes": list(self.notes),
        }
        if self.reason:
            out["reason"] = self.reason
        return out


def _unavailable(reason: str, estimand: str, covariates: tuple[str, ...], n: dict[str, int],
                 excluded: dict[str, int], notes: list[str], trim: float | None = None) -> Adjustment:
    return Adjustment(estimand=estimand, covariates=covariates, n=n, excluded=excluded,
                      ess={g: None for g in GROUPS},
                      balance=pd.DataFrame(columns=["covariate", "level", "label", "n_pa", "n_control",
                                                    "smd_before", "smd_after"]),
                      propensity=pd.DataFrame(columns=["group", "propensity"]), trim=trim,
                      notes=tuple(notes), reason=reason, role="unavailable", role_reason=reason)


def role_text(role: str, parameters: int, smaller: int | None, safe: bool = False) -> str:
    """Why the adjusted analysis is primary or a sensitivity analysis (``smaller``: the smaller group's
    size, shown as presentation-safe mode shows counts when ``safe``)."""
    from analysis.disclosure import count_shown

    needed = PRIMARY_PER_PARAMETER * max(parameters, 1)
    size = count_shown(smaller, safe)
    if role == "primary":
        return (f"{size} people in the smaller group, at least {PRIMARY_PER_PARAMETER} per propensity-model "
                f"parameter ({parameters}).")
    return (f"A sensitivity analysis: with {parameters} propensity-model parameter(s) a primary analysis needs at "
            f"least {needed:,} people in each group ({PRIMARY_PER_PARAMETER} per parameter, Peduzzi et al. 1996); "
            f"the smaller group has {size}.")


_NOTE_COUNT = re.compile(r"(?<![\w.,])(\d[\d,]*)(?= (?:physical activity|control|people|person|participant))")


def safe_note(text: str) -> str:
    """A note with each count of people in it as presentation-safe mode shows counts (suppressed below 5,
    rounded to 5): the counts this module writes precede "physical activity", "control", "people" or
    "participant"."""
    from analysis.disclosure import count_shown

    return _NOTE_COUNT.sub(lambda m: count_shown(int(m.group(1).replace(",", "")), True), text)


# --- preparing the design -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Design:
    X: np.ndarray | _Factored  # n × p with intercept (numeric columns standardised), whole or as its parts
    terms: list[tuple[str, str]]  # (covariate, level) per column after the intercept; level "" for numeric
    balance_columns: list[tuple[Any, ...]]  # ("numeric", covariate, values) or ("category", covariate, (each
    # row's 2·code + PA, their counts), the codes present in the order of their names, the names): every level
    keep: np.ndarray  # rows of the finishers frame in the analysis
    # a factored X's rows are the analysis rows in group order: the controls, then PA (each in their order)
    treated: np.ndarray | None = None  # PA on the analysis rows, when X's rows are in group order
    controls: int = 0  # how many are control

    def ordered(self, values: np.ndarray) -> np.ndarray:
        """Values on the analysis rows, in X's row order."""
        return values if self.treated is None else _grouped(values, ~self.treated, self.treated)

    def unordered(self, values: np.ndarray) -> np.ndarray:
        """Values in X's row order, back on the analysis rows."""
        if self.treated is None:
            return values
        out = np.empty_like(values)
        out[~self.treated], out[self.treated] = values[:self.controls], values[self.controls:]
        return out


def _grouped(values: np.ndarray, first: np.ndarray, then: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The values where ``first``, then those where ``then`` (two streaming passes, no index array)."""
    split = int(np.count_nonzero(first))
    if out is None:
        out = np.empty(split + int(np.count_nonzero(then)), dtype=values.dtype)
    np.compress(first, values, out=out[:split])
    np.compress(then, values, out=out[split:])
    return out


@dataclass(frozen=True)
class _Text:
    """A category column as integer codes into its (stripped) text levels; -1 for missing."""

    codes: np.ndarray
    levels: list[str]
    # (2·code + PA, its counts) on every finisher, when the preparation kept every finisher (else None)
    by_group: tuple[np.ndarray, np.ndarray] | None = None

    def code(self, level: str) -> int:
        """The code of ``level``, added to the levels when new."""
        if level not in self.levels:
            self.levels.append(level)
        return self.levels.index(level)


def _text(series: pd.Series) -> _Text:
    stripped = series.astype("string").str.strip()
    codes, uniques = pd.factorize(stripped)
    return _Text(codes=np.asarray(codes, dtype=np.int32), levels=[str(u) for u in uniques])


def _by_group(codes: np.ndarray, pa: np.ndarray) -> np.ndarray:
    """2·code + PA (one array: no temporary)."""
    out = np.multiply(codes, 2, dtype=np.intp)
    out += pa
    return out


def _level_counts(codes: np.ndarray, size: int, counts: np.ndarray | None = None) -> tuple[np.ndarray, list[int]]:
    """Counts per code (codes ≥ 0; ``counts`` when already known) and the present codes from most to least
    common, ties in order of first appearance (the order of ``pd.Series.value_counts``)."""
    counts = np.bincount(codes, minlength=size) if counts is None else counts
    present = np.flatnonzero(counts)
    tied = [int(k) for k in present if np.count_nonzero(counts[present] == counts[k]) > 1]
    first = {k: int(np.argmax(codes == k)) for k in tied}  # only ties need the first appearance
    order = sorted((int(k) for k in present), key=lambda k: (-int(counts[k]), first.get(k, 0)))
    return counts, order


class _Finishers:
    """The finishers' rows of the episodes, one column at a time (no copy of the whole frame). Each column's
    numbers or codes are worked out once, on the whole column, and shared by the default covariates, the
    preparation and the design."""

    def __init__(self, episodes: pd.DataFrame, finished: np.ndarray) -> None:
        self._episodes, self._finished, self.columns = episodes, finished, episodes.columns
        self._numbers: dict[str, np.ndarray] = {}
        self._factorized: dict[str, tuple[np.ndarray, Any]] = {}
        self._texts: dict[str, _Text] = {}
        self._groups: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return int(self._finished.sum())

    def dtype(self, column: str) -> Any:
        return self._episodes[column].dtype

    def is_group(self, group: str) -> np.ndarray:
        if group not in self._groups:
            self._groups[group] = (self._episodes["group"] == group).to_numpy(dtype=bool,
                                                                                na_value=False)[self._finished]
        return self._groups[group]

    def numbers(self, column: str) -> np.ndarray:
        """The column's values as float64 (NaN: missing)."""
        if column not in self._numbers:
            values = self._episodes[column].to_numpy(dtype="float64", na_value=np.nan)
            self._numbers[column] = values[self._finished]
        return self._numbers[column]

    def factorized(self, column: str) -> tuple[np.ndarray, Any]:
        """The column as codes (-1: missing) into its distinct values (``pd.factorize`` of the whole column)."""
        if column not in self._factorized:
            codes, uniques = pd.factorize(self._episodes[column])
            self._factorized[column] = (np.asarray(codes)[self._finished], uniques)
        return self._factorized[column]

    def prefetch(self, columns: list[str]) -> None:
        """Factorize these columns side by side (pyarrow releases the GIL while it hashes the text)."""
        todo = [c for c in columns if c not in self._factorized]
        for column, result in zip(todo, _in_parallel(lambda c: pd.factorize(self._episodes[c]), todo), strict=True):
            self._factorized[column] = (np.asarray(result[0])[self._finished], result[1])

    def text(self, column: str) -> _Text:
        """The column as codes of its values' stripped text (what ``_text`` of the finishers' values gives;
        the stripping is done once per distinct value)."""
        if column not in self._texts:
            codes, uniques = self.factorized(column)
            stripped = pd.Series(uniques).astype("string").str.strip()
            lookup, levels = pd.factorize(stripped)
            lookup = np.asarray(lookup, dtype=np.intp)
            if not np.array_equal(lookup, np.arange(len(lookup))):  # some values differ only in spaces
                codes = np.append(lookup, -1)[codes]  # -1 (missing) takes the last: -1
            self._texts[column] = _Text(codes=codes, levels=[str(level) for level in levels])
        text = self._texts[column]
        return _Text(codes=text.codes, levels=list(text.levels))  # the caller may add a level


def _label(covariate: str, level: str) -> str:
    if not level and covariate.endswith("_first"):
        try:
            return f"{measure_for(covariate.removesuffix('_first')).label} first score"
        except KeyError:
            pass
    name = {"ltc": "Long-term condition"}.get(covariate, covariate.replace("_", " ").capitalize())
    return f"{name}: {level}" if level else name


def covariate_label(covariate: str, level: str = "") -> str:
    """'phq9_first' -> 'PHQ-9 first score'; a category level -> 'Gender: Male'."""
    return _label(covariate, level)


def _prepare(finishers: _Finishers, covariates: tuple[str, ...], is_pa: np.ndarray,
             notes: list[str]) -> tuple[np.ndarray, dict[str, _Text], dict[str, int]]:
    """Complete cases, pooled rare levels and levels in one group only. Returns (keep mask, the
    category columns as integer codes of their text, per-group counts excluded for one-group levels)."""
    keep = np.ones(len(finishers), dtype=bool)
    texts: dict[str, _Text] = {}
    for column in covariates:
        if pd.api.types.is_numeric_dtype(finishers.dtype(column)):
            keep &= ~np.isnan(finishers.numbers(column))
        else:
            text = finishers.text(column)
            keep &= text.codes >= 0
            if "" in text.levels:
                keep &= text.codes != text.levels.index("")
            texts[column] = text
    missing = {g: int((~keep & (is_pa if g == GROUP_PA else ~is_pa)).sum()) for g in GROUPS}
    if any(missing.values()):
        notes.append(f"{missing[GROUP_PA]} physical activity and {missing[GROUP_CONTROL]} control finishers have a "
                     "chosen characteristic missing and are left out (complete cases).")
    one_group = {g: 0 for g in GROUPS}
    for column in covariates:
        if column not in texts:
            continue
        text = texts[column]
        codes = text.codes
        kept, pa_kept = (codes, is_pa) if keep.all() else (codes[keep], is_pa[keep])
        # each level's people per group (code 2·level + PA)
        by_group_code = _by_group(kept, pa_kept)
        by_group = np.bincount(by_group_code, minlength=2 * len(text.levels))
        counts, order = _level_counts(kept, len(text.levels), by_group[0::2] + by_group[1::2])
        rare = [k for k in order if counts[k] < MIN_LEVEL_COUNT]
        if rare:
            pooled = counts[rare].sum()
            target = text.code(OTHER_LEVEL) if pooled >= MIN_LEVEL_COUNT else order[0]
            lookup = np.arange(len(text.levels) + 1, dtype=np.intp)
            lookup[rare] = target
            lookup[-1] = -1  # missing (-1) stays missing
            codes, kept = lookup[codes], lookup[kept]
            notes.append(f"{_label(column, '').capitalize()}: {len(rare)} level(s) with fewer than "
                         f"{MIN_LEVEL_COUNT} people pooled into " + ("one 'other' level." if text.levels[target] == OTHER_LEVEL
                                                                    else f"the most common level ({text.levels[target]})."))
            by_group_code = _by_group(kept, pa_kept)
            by_group = np.bincount(by_group_code, minlength=2 * len(text.levels))
        # levels are disjoint: leaving one out changes no other's counts
        pa_counts, control_counts = by_group[1::2], by_group[0::2]
        present = np.flatnonzero(pa_counts + control_counts)
        for k in sorted((int(k) for k in present), key=lambda k: text.levels[k]):
            level = text.levels[k]
            in_pa, in_control = int(pa_counts[k]), int(control_counts[k])
            if in_pa and in_control:
                continue
            group = GROUP_PA if in_pa else GROUP_CONTROL
            keep &= codes != k
            one_group[group] += in_pa + in_control
            if group == GROUP_PA:
                notes.append(f"{_label(column, level)}: {in_pa} physical activity participant(s) and no control "
                             "participant, so no one is comparable: they are left out and the estimate is for the "
                             "other physical activity participants (the estimand changed).")
            else:
                notes.append(f"{_label(column, level)}: {in_control} control participant(s) and no physical "
                             "activity participant; they would get no weight, so they are left out.")
        # kept for the design while every finisher is kept (a later exclusion drops it: see _design)
        texts[column] = _Text(codes=codes, levels=text.levels,
                              by_group=(by_group_code, by_group) if kept is codes else None)
    return keep, texts, one_group


def _design(finishers: _Finishers, covariates: tuple[str, ...], texts: dict[str, _Text],
            keep: np.ndarray, treated: np.ndarray, factored: bool = False) -> _Design:
    """The propensity design: filled column by column into one float64 array (no per-column copies), or with
    ``factored`` kept as its parts (:class:`_Factored`) when its categories have few enough cells.
    ``treated``: PA, on the kept rows (a category's counts per group are kept for the balance table)."""
    n = int(keep.sum())
    pa = treated.astype(np.intp)
    every_row = n == len(keep)
    terms: list[tuple[str, str]] = []
    balance: list[tuple[Any, ...]] = []
    numeric: list[tuple[np.ndarray, float, float, int]] = []  # values, mean, SD, column of X
    categories: list[tuple[np.ndarray, list[int], list[int | None]]] = []  # codes, levels present, X's columns
    width = 1
    for column in covariates:
        if column not in texts:
            values = finishers.numbers(column)[keep]
            balance.append(("numeric", column, values))
            sd = values.std()
            if sd > 0:
                numeric.append((values, values.mean(), sd, width))
                terms.append((column, ""))
                width += 1
            continue
        text = texts[column]
        codes = text.codes if every_row else text.codes[keep]
        if every_row and text.by_group is not None:  # worked out by the preparation on these rows
            by_group_code, by_group = text.by_group
        else:
            by_group_code = _by_group(codes, pa)  # a level's people per group: code 2·level + PA
            by_group = np.bincount(by_group_code, minlength=2 * len(text.levels))
        _, order = _level_counts(codes, len(text.levels), by_group[0::2] + by_group[1::2])
        ranked = sorted(order, key=lambda k: text.levels[k])
        balance.append(("category", column, (by_group_code, by_group), ranked, [text.levels[k] for k in ranked]))
        columns: list[int | None] = []
        for k in ranked:
            if k == order[0]:  # the most common level is the reference
                columns.append(None)
                continue
            columns.append(width)
            terms.append((column, text.levels[k]))
            width += 1
        categories.append((codes, ranked, columns))
    X = _factored_x(n, width, numeric, categories, treated) if factored else None
    if X is not None:  # rows in group order: each group's model and target are sums over one run of rows
        return _Design(X=X, terms=terms, balance_columns=balance, keep=keep, treated=treated,
                       controls=int(np.count_nonzero(~treated)))
    X = np.zeros((n, width), order="F")  # column by column: each column contiguous
    X[:, 0] = 1.0
    for values, mean, sd, j in numeric:
        np.subtract(values, mean, out=X[:, j])
        X[:, j] /= sd
    for codes, ranked, columns in categories:
        for k, j in zip(ranked, columns, strict=True):
            if j is not None:
                X[:, j] = codes == k
    return _Design(X=X, terms=terms, balance_columns=balance, keep=keep)


# --- the design kept as its parts (large data) ----------------------------------------------------


MAX_CELLS: Final = 1 << 20  # more category cells than this (or than people): the design is built whole
_BLOCK: Final = 32768  # rows per block of a pass over a factored design (its temporaries stay in the cache)


@dataclass(frozen=True)
class _Factored:
    """The design X = [1, numeric columns, category indicators] kept as its parts, never as an n × p array.

    Each row of X is its category cell's row of ``table`` (the intercept and the level indicators, 0 in the
    numeric columns) plus its numeric values in the columns ``positions``; a cell is one combination of the
    categories' levels. The products the fits need then take a few passes over the rows (a gather or a
    bincount over the cells, a product per numeric column) instead of n·p² multiplications, and they are
    taken in row blocks (:meth:`blocks`), so each block's temporaries stay in the CPU's cache instead of
    streaming n-long arrays through memory. The numbers are X's own (the same standardisation, the same
    0/1 indicators); only the order of summation differs."""

    cells: np.ndarray  # each row's cell (intp)
    table: np.ndarray  # cells × p
    numeric: np.ndarray  # n × k, each column contiguous (Fortran order)
    positions: tuple[int, ...]  # X's column of each numeric column

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.cells), self.table.shape[1]

    def blocks(self, lo: int = 0, hi: int | None = None) -> Iterator[tuple[slice, _Factored]]:
        """(rows, the design on those rows) for row blocks of :data:`_BLOCK` rows (views, no copies)."""
        hi = len(self.cells) if hi is None else hi
        for start in range(lo, hi, _BLOCK):
            rows = slice(start, min(start + _BLOCK, hi))
            yield rows, _Factored(self.cells[rows], self.table, self.numeric[rows], self.positions)

    def dot(self, b: np.ndarray) -> np.ndarray:
        """X @ b (b: a p-vector)."""
        out = np.take(self.table @ b, self.cells)
        if self.positions:
            out += self.numeric @ b[list(self.positions)]
        return out

    def rdot(self, r: np.ndarray) -> np.ndarray:
        """Xᵀ r (r: n)."""
        total = _ProductSum(self)
        for rows, part in self.blocks():
            total.add(part, r[rows])
        return total.vector()

    def gram(self, v: np.ndarray) -> np.ndarray:
        """Xᵀ diag(v) X."""
        total = _CrossSum(self)
        for rows, part in self.blocks():
            total.add(part, v[rows])
        return total.matrix()

    def with_column(self, values: np.ndarray) -> _Factored:
        """The design with one more numeric column, last."""
        table = np.hstack([self.table, np.zeros((len(self.table), 1))])
        numeric = np.asfortranarray(np.column_stack([self.numeric, values]))
        return _Factored(self.cells, table, numeric, (*self.positions, self.table.shape[1]))

    def dense(self) -> np.ndarray:
        """X itself (n × p, each column contiguous), for the rare fit that needs it (a singular outcome model)."""
        X = np.asfortranarray(self.table[self.cells])
        for j, position in enumerate(self.positions):
            X[:, position] = self.numeric[:, j]
        return X


class _ProductSum:
    """Xᵀ r summed over row blocks of a factored X: each cell's total of r, and the numeric columns' products."""

    def __init__(self, X: _Factored) -> None:
        self.X = X
        self.cells = np.zeros(len(X.table))
        self.numeric = np.zeros(len(X.positions))

    def add(self, part: _Factored, r: np.ndarray) -> None:
        self.cells += np.bincount(part.cells, r, minlength=len(self.cells))
        if self.X.positions:
            self.numeric += part.numeric.T @ r

    def vector(self) -> np.ndarray:
        out = self.X.table.T @ self.cells
        if self.X.positions:
            out[list(self.X.positions)] += self.numeric  # the table is 0 in these columns
        return out


class _CrossSum:
    """Xᵀ diag(v) X summed over row blocks of a factored X: each cell's total weight (the cells' block), each
    cell's weighted total of every numeric column (their products with the cells' columns) and the numeric
    columns' own weighted products."""

    def __init__(self, X: _Factored) -> None:
        self.X = X
        size, k = len(X.table), len(X.positions)
        self.cells, self.cross, self.own = np.zeros(size), np.zeros((k, size)), np.zeros((k, k))

    def add(self, part: _Factored, v: np.ndarray) -> None:
        size = len(self.cells)
        self.cells += np.bincount(part.cells, v, minlength=size)
        if self.X.positions:
            weighted = part.numeric * v[:, None]
            for j in range(len(self.X.positions)):
                self.cross[j] += np.bincount(part.cells, weighted[:, j], minlength=size)
            self.own += weighted.T @ part.numeric

    def matrix(self) -> np.ndarray:
        table, positions = self.X.table, list(self.X.positions)
        out = (table.T * self.cells) @ table
        for j, position in enumerate(positions):
            cross = table.T @ self.cross[j]  # 0 in the numeric columns
            out[position, :] += cross
            out[:, position] += cross
        if positions:
            out[np.ix_(positions, positions)] = self.own
        return out


def _factored_x(n: int, width: int, numeric: list[tuple[np.ndarray, float, float, int]],
                categories: list[tuple[np.ndarray, list[int], list[int | None]]],
                treated: np.ndarray) -> _Factored | None:
    """The design's parts (:class:`_Factored`) with its rows in group order (control, then PA), or None when its
    categories have more cells (combinations of levels) than people or than :data:`MAX_CELLS`: then building X
    whole costs less."""
    size = 1
    for _, ranked, _ in categories:
        size *= len(ranked)
        if size > min(n, MAX_CELLS):
            return None
    table = np.zeros((size, width))
    table[:, 0] = 1.0
    every, stride = np.arange(size), 1
    steps = []  # per category: its codes and each code's step in the cell number
    for codes, ranked, columns in categories:  # mixed radix: the first category varies fastest
        step = np.zeros(max(ranked) + 1, dtype=np.intp)
        step[ranked] = np.arange(len(ranked)) * stride
        steps.append((codes, step))
        level_of_cell = (every // stride) % len(ranked)
        for value, j in enumerate(columns):
            if j is not None:
                table[level_of_cell == value, j] = 1.0
        stride *= len(ranked)
    cells = np.zeros(n, dtype=np.intp)
    for lo in range(0, n, _BLOCK):  # block by block: the steps' temporaries stay small
        rows = slice(lo, lo + _BLOCK)
        for codes, step in steps:
            cells[rows] += step[codes[rows]]
    control = ~treated
    values = np.empty((n, len(numeric)), order="F")
    for j, (column, mean, sd, _) in enumerate(numeric):
        _grouped(column, control, treated, out=values[:, j])
        values[:, j] -= mean
        values[:, j] /= sd
    return _Factored(_grouped(cells, control, treated), table, values,
                     tuple(position for *_, position in numeric))


# --- model fits -------------------------------------------------------------------------------


def _logit(treated: np.ndarray, X: np.ndarray) -> Any:
    """statsmodels' ``Logit`` without its rank check (a QR of the n × p design; :func:`_fit_propensity` checks
    the rank on XᵀX) and with its Hessian −Xᵀdiag(ps(1 − ps))X summed in row blocks (statsmodels forms a p × n
    temporary as large as the design)."""
    from statsmodels.discrete.discrete_model import Logit

    class _BlockLogit(Logit):
        def hessian(self, params: np.ndarray) -> np.ndarray:
            fitted = self.predict(params)
            return -_gram(self.exog, fitted * (1 - fitted))

    return _BlockLogit(treated, X, check_rank=False)


@dataclass(frozen=True)
class _Fit:
    """The fitted propensity model: coefficients and scores, and on a factored design what the sandwich needs of
    it, worked out in the fit's last pass: J_γ = −Σ ps(1 − ps)XXᵀ at the coefficients and Σ (a − ps)²XXᵀ."""

    params: np.ndarray
    ps: np.ndarray
    j_gamma: np.ndarray | None = None
    meat: np.ndarray | None = None


def _logit_pass(X: _Factored, a: np.ndarray, params: np.ndarray, ps: np.ndarray, last: bool
                ) -> tuple[np.ndarray, np.ndarray, bool, np.ndarray | None]:
    """One pass over the rows at ``params``: the scores (written into ``ps``), Xᵀ(a − ps), Xᵀdiag(ps(1 − ps))X,
    whether every score is within 1e-8 of the group (``np.allclose(ps - a, 0)``) and, when ``last``,
    Σ (a − ps)²XXᵀ."""
    cell_values, numeric = X.table @ params, params[list(X.positions)]
    score, hessian, meat = _ProductSum(X), _CrossSum(X), _CrossSum(X) if last else None
    close = True
    for rows, part in X.blocks():
        eta = np.take(cell_values, part.cells)
        if X.positions:
            eta += part.numeric @ numeric
        p = np.divide(1.0, 1 + np.exp(-eta), out=ps[rows])  # the logistic function, as statsmodels' Logit.cdf
        residual = a[rows] - p
        gap = float(np.max(np.abs(residual))) if len(residual) else 0.0
        close = close and gap <= 1e-8  # False for NaN too
        score.add(part, residual)
        hessian.add(part, p * (1 - p))
        if meat is not None:
            meat.add(part, residual * residual)
    return score.vector(), hessian.matrix(), close, None if meat is None else meat.matrix()


def _newton_logit(X: _Factored, treated: np.ndarray, maxiter: int = 100, tol: float = 1e-8,
                  ridge: float = 1e-10) -> tuple[_Fit, bool, bool] | None:
    """statsmodels' Newton–Raphson for ``Logit`` on a factored design: ``base.optimizer._fit_newton`` with the
    defaults :func:`_fit_propensity` uses (start at 0; 1e-10 added to the Hessian's diagonal; stop once no
    coefficient moves more than ``tol``, or after ``maxiter`` steps) and ``Logit``'s perfect-prediction check
    after every step. The same steps, so the same coefficients (to rounding; tested against statsmodels); each
    step is one pass over the rows (:func:`_logit_pass`). Returns (fit, converged, perfect prediction seen), or
    None when XᵀX is singular (the first pass's Hessian, where every score is 1/2, is XᵀX/4 exactly)."""
    a = treated.astype(float)
    params, previous = np.zeros(X.shape[1]), np.full(X.shape[1], np.inf)
    ps = np.empty(len(a))
    steps, perfect = 0, False
    while True:
        last = not (steps < maxiter and np.any(np.abs(params - previous) > tol))
        score, hessian, close, meat = _logit_pass(X, a, params, ps, last)
        if steps == 0 and not _full_rank(hessian):
            return None
        perfect = perfect or (steps > 0 and close)  # statsmodels checks after each step, not at the start
        if last:
            return _Fit(params, ps, -hessian, meat), steps < maxiter, perfect
        ridged = -hessian
        ridged[np.diag_indices_from(ridged)] += ridge
        previous = params
        params = previous - np.linalg.solve(ridged, score)
        steps += 1


RANK_DEFICIENT: Final = ("Some chosen characteristics are exact combinations of others (for example a category "
                         "level that matches another column), so the propensity model cannot be fitted; drop one.")


def _fit_propensity(X: np.ndarray | _Factored, treated: np.ndarray) -> tuple[_Fit | None, str | None]:
    """Logistic regression by statsmodels (a factored design: the same Newton steps, :func:`_newton_logit`);
    (fit, None) or (None, reason)."""
    from statsmodels.tools.sm_exceptions import PerfectSeparationError, PerfectSeparationWarning

    if not isinstance(X, _Factored) and not _full_rank(_gram(X, np.ones(len(X)))):
        return None, RANK_DEFICIENT
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="ignore", invalid="ignore"):
        warnings.simplefilter("always")
        try:
            if isinstance(X, _Factored):
                found = _newton_logit(X, treated)
                if found is None:
                    return None, RANK_DEFICIENT
                fit, converged, perfect = found
                params, ps = fit.params, fit.ps
            else:
                # the rank is checked above (no QR of the n × p design in statsmodels)
                result = _logit(treated, X).fit(disp=0, method="newton", maxiter=100)
                params = np.asarray(result.params, dtype=float)
                converged = bool(result.mle_retvals.get("converged", False))
                perfect = any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
                ps = 1 / (1 + np.exp(-(X @ params)))
                fit = _Fit(params, ps)
        except (PerfectSeparationError, np.linalg.LinAlgError, ValueError) as error:
            return None, f"The propensity model could not be fitted ({error})."
    # Separation: statsmodels' warning, or fitted scores of exactly 0 or 1 in floating point.
    separated = perfect or (ps.min() <= 0 or ps.max() >= 1)
    if separated or not converged or not np.all(np.isfinite(params)):
        return None, (f"The chosen characteristics predict the group (almost) exactly (perfect separation: "
                      f"{X.shape[1]} model parameters for {len(treated)} people), so no weighting can make the "
                      "groups comparable. Choose fewer characteristics.")
    return fit, None


def _weights(ps: np.ndarray, treated: np.ndarray, estimand: str) -> np.ndarray:
    if estimand == ESTIMAND_ATO:
        return np.where(treated, 1 - ps, ps)
    return np.where(treated, 1.0, ps / (1 - ps))


def _target(ps: np.ndarray, treated: np.ndarray, estimand: str) -> np.ndarray:
    return ps * (1 - ps) if estimand == ESTIMAND_ATO else treated.astype(float)


def _derivatives(ps: np.ndarray, treated: np.ndarray, estimand: str) -> tuple[np.ndarray, np.ndarray]:
    """d weight / d linear predictor and d target / d linear predictor (for the sandwich)."""
    slope = ps * (1 - ps)
    if estimand == ESTIMAND_ATO:
        return np.where(treated, -slope, slope), slope * (1 - 2 * ps)
    return np.where(treated, 0.0, ps / (1 - ps)), np.zeros_like(ps)


def _ess(w: np.ndarray) -> float | None:
    total = float((w * w).sum())
    return float(w.sum() ** 2 / total) if total > 0 else None


def _split(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each weight as a part on a grid whose sums are all exact (multiples of 2⁻⁵² of a power of two at least
    twice the weights' total) and the small remainder: an error-free split (Ogita, Rump & Oishi 2005)."""
    total = float(weights.sum() if weights.min() >= 0 else np.abs(weights).sum())
    if not total > 0 or not math.isfinite(total):
        return weights, np.zeros_like(weights)
    grid = math.ldexp(1.0, math.frexp(total)[1] - 52)
    high = weights / grid
    np.rint(high, out=high)
    high *= grid
    return high, weights - high


def _level_totals(codes: np.ndarray, split: tuple[np.ndarray, np.ndarray], size: int) -> np.ndarray:
    """Σ weights per code to within a rounding of each total (:func:`_split`; a plain bincount adds each
    code's weights one after another, whose rounding matters here: a weighted SMD after weighting is a
    difference of two nearly equal proportions, as ill-conditioned as 10⁶ on large data)."""
    high, low = split
    return np.bincount(codes, high, minlength=size) + np.bincount(codes, low, minlength=size)


def _balance(design: _Design, treated: np.ndarray, w: np.ndarray) -> pd.DataFrame:
    rows = []
    w_pa, w_control = w[treated], w[~treated]
    # a level's (weighted) proportions from its counts and weighted totals per group, all levels of a category
    # at once (code 2·level + PA)
    split = _split(w)
    sum1, sum0 = np.where(treated, w, 0.0).sum(), np.where(treated, 0.0, w).sum()
    n1, n0 = int(treated.sum()), int((~treated).sum())

    def row(covariate: str, level: str, in_pa: int, in_control: int, sd: float, before: float,
            after: float) -> dict[str, Any]:
        return {"covariate": covariate, "level": level, "label": _label(covariate, level),
                "n_pa": in_pa, "n_control": in_control,
                "smd_before": before / sd if sd > 0 else (0.0 if before == 0 else None),
                "smd_after": after / sd if sd > 0 else (0.0 if abs(after) < 1e-12 else None)}

    for entry in design.balance_columns:
        if entry[0] == "category":
            _, covariate, (by_group, counts), ranked, names = entry
            totals = _level_totals(by_group, split, len(counts))
            for k, name in zip(ranked, names, strict=True):
                in_pa, in_control = int(counts[2 * k + 1]), int(counts[2 * k])
                p1, p0 = in_pa / n1, in_control / n0
                sd = math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
                rows.append(row(covariate, name, in_pa, in_control, sd, p1 - p0,
                                float(totals[2 * k + 1] / sum1 - totals[2 * k] / sum0)))
            continue
        _, covariate, values = entry
        pa_values, control = values[treated], values[~treated]
        sd = (math.sqrt((pa_values.var(ddof=1) + control.var(ddof=1)) / 2)
              if len(pa_values) > 1 and len(control) > 1 else 0.0)
        before = np.average(pa_values) - np.average(control)
        after = np.average(pa_values, weights=w_pa) - np.average(control, weights=w_control)
        rows.append(row(covariate, "", len(pa_values), len(control), sd, before, after))
    table = pd.DataFrame(rows, columns=["covariate", "level", "label", "n_pa", "n_control", "smd_before",
                                        "smd_after"])
    for column in ("smd_before", "smd_after"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("float64")
    return table


@dataclass(frozen=True)
class _Outcome:
    key: str
    label: str
    kind: str
    y: np.ndarray  # outcome on the analysis rows (0 outside the outcome population; a rate's may be boolean)
    member: np.ndarray  # in this outcome's population
    Z: np.ndarray | _Factored  # outcome-model design


_CHUNK: Final = 32768  # rows per block of a weighted Gram matrix (small temporaries, BLAS-sized products)


def _gram(A: np.ndarray, w: np.ndarray, B: np.ndarray | None = None) -> np.ndarray:
    """Σᵢ wᵢ aᵢ bᵢᵀ over the rows (B = A by default), in row blocks: no n × p temporary. Rows with weight 0
    add nothing, so a subset's Gram matrix is the full one with the other rows weighted 0 (no row copies)."""
    B = A if B is None else B
    out = np.zeros((A.shape[1], B.shape[1]))
    for lo in range(0, len(w), _CHUNK):
        rows = slice(lo, lo + _CHUNK)
        out += (A[rows].T * w[rows]) @ B[rows]
    return out


def _xdot(X: np.ndarray | _Factored, b: np.ndarray) -> np.ndarray:
    """X @ b for a design whole or as its parts."""
    return X.dot(b) if isinstance(X, _Factored) else X @ b


def _xgram(X: np.ndarray | _Factored, v: np.ndarray) -> np.ndarray:
    """Xᵀ diag(v) X for a design whole or as its parts."""
    return X.gram(v) if isinstance(X, _Factored) else _gram(X, v)


def _wls(Z: np.ndarray, y: np.ndarray, w: np.ndarray, gram: np.ndarray | None = None) -> np.ndarray:
    """Weighted least squares by the normal equations (the same coefficients as statsmodels' ``WLS``,
    tested; one p × p solve instead of an SVD of the n × p design); least squares when singular. Rows
    with weight 0 (and any ``y`` there) are not in the fit."""
    fit = w > 0
    y0 = np.where(fit, y, 0.0)
    gram = _gram(Z, w) if gram is None else gram
    if _full_rank(gram):
        return np.linalg.solve(gram, Z.T @ (w * y0))
    root = np.sqrt(w[fit])
    return np.linalg.lstsq(Z[fit] * root[:, None], y0[fit] * root, rcond=None)[0]


def _full_rank(gram: np.ndarray) -> bool:
    """Whether a Gram matrix XᵀWX is of full rank (eigenvalues of the correlation-scaled matrix)."""
    diagonal = np.sqrt(np.clip(np.diag(gram), 0, None))
    if np.any(diagonal == 0):
        return False
    eigen = np.linalg.eigvalsh(gram / np.outer(diagonal, diagonal))
    return bool(eigen.min() > 1e-10 * eigen.max())


def _fit_rows(outcome: _Outcome, treated: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of each group's outcome model (PA, control): in the outcome's population, with weight."""
    return tuple(outcome.member & group_mask & (w > 0) for group_mask in (treated, ~treated))  # type: ignore[return-value]


def _outcome_grams(outcomes: list[_Outcome], treated: np.ndarray, w: np.ndarray
                   ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each outcome's two ZᵀWZ (PA, control), each distinct one computed once: outcomes with the same design
    and the same rows (the rates sharing a denominator; measures everyone has) share their matrices."""
    keys: dict[str, list[tuple[int, bytes]]] = {}
    distinct: dict[tuple[int, bytes], tuple[np.ndarray, np.ndarray]] = {}
    for o in outcomes:
        keys[o.key] = []
        for rows in _fit_rows(o, treated, w):
            key = (id(o.Z), np.packbits(rows).tobytes())
            distinct.setdefault(key, (o.Z, rows))
            keys[o.key].append(key)
    order = list(distinct)
    grams = dict(zip(order, _in_parallel(lambda key: _gram(distinct[key][0], np.where(distinct[key][1], w, 0.0)),
                                         order), strict=True))
    return {name: (grams[k[0]], grams[k[1]]) for name, k in keys.items()}


def _point(outcome: _Outcome, treated: np.ndarray, w: np.ndarray, t: np.ndarray,
           grams: tuple[np.ndarray, np.ndarray] | None = None
           ) -> tuple[float, float, np.ndarray, np.ndarray, tuple[np.ndarray, ...]] | str:
    """IPW-RA point estimate: (mu1, mu0, beta1, beta0, the two groups' ZᵀWZ for the sandwich), or a reason.
    ``grams``: those two matrices when already computed (:func:`_outcome_grams`)."""
    m = outcome.member
    betas, used = [], []
    for rows, name, gram in zip(_fit_rows(outcome, treated, w), (GROUP_PA, GROUP_CONTROL), grams or (None, None),
                                strict=True):
        if rows.sum() < MIN_GROUP:
            return f"Fewer than {MIN_GROUP} {GROUP_LABELS[name].lower()} participants are in this outcome's population."
        # the group's rows by weight (0 elsewhere), not by copying them; a level absent here: least squares
        weights = np.where(rows, w, 0.0)
        used.append(_gram(outcome.Z, weights) if gram is None else gram)
        betas.append(_wls(outcome.Z, outcome.y, weights, used[-1]))
    target = t * m
    if target.sum() <= 0:
        return "No one in the target group is in this outcome's population."
    mu1 = float(target @ (outcome.Z @ betas[0]) / target.sum())
    mu0 = float(target @ (outcome.Z @ betas[1]) / target.sum())
    return mu1, mu0, betas[0], betas[1], tuple(used)


# --- bootstrap (vectorised across resamples) ---------------------------------------------------


def _pairs(M: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """Row-wise products of every pair of columns (upper triangle): a weighted Gram matrix for many
    weight vectors at once is then one matrix product, ``weights @ pairs``."""
    upper = np.triu_indices(M.shape[1])
    return M[:, upper[0]] * M[:, upper[1]], upper


def _unpack(flat: np.ndarray, upper: tuple[np.ndarray, np.ndarray], size: int) -> np.ndarray:
    out = np.zeros((flat.shape[0], size, size))
    out[:, upper[0], upper[1]] = flat
    out[:, upper[1], upper[0]] = flat
    return out


def _batched_logit(X: np.ndarray, treated: np.ndarray, counts: np.ndarray, start: np.ndarray,
                   iterations: int = 30, pairs: tuple[np.ndarray, tuple[np.ndarray, np.ndarray]] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Newton–Raphson for B logistic fits at once with frequency weights ``counts`` (B × n).

    Returns (coefficients B × p, converged B). A tiny ridge keeps a level absent from a resample
    (a zero column) from making the Hessian singular; its coefficient then stays where it started.
    """
    B, p = counts.shape[0], X.shape[1]
    products, upper = _pairs(X) if pairs is None else pairs
    beta = np.repeat(start[None, :], B, axis=0)
    step_size = np.full(B, np.inf)
    ridge = 1e-8 * np.eye(p)
    a = treated.astype(float)
    for _ in range(iterations):
        active = step_size >= 1e-9
        if not active.any():
            break
        b, c = beta[active], counts[active]
        prob = 1 / (1 + np.exp(-np.clip(b @ X.T, -30, 30)))
        gradient = (c * (a - prob)) @ X
        hessian = _unpack((c * prob * (1 - prob)) @ products, upper, p) + ridge
        step = np.linalg.solve(hessian, gradient[:, :, None])[:, :, 0]
        step = np.where(np.isfinite(step), step, 0.0)
        beta[active] = b + step
        step_size[active] = np.abs(step).max(axis=1)
    return beta, (step_size < 1e-6) & np.all(np.abs(beta) < 30, axis=1)


def _batched_wls(Z: np.ndarray, y: np.ndarray, weights: np.ndarray,
                 pairs: tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """B weighted least-squares fits at once (weights B × n, zero for rows not in the fit)."""
    q = Z.shape[1]
    products, upper = pairs
    gram = _unpack(weights @ products, upper, q)
    scale = np.maximum(np.einsum("bii->bi", gram).mean(axis=1), 1e-12)
    gram = gram + (1e-10 * scale)[:, None, None] * np.eye(q)
    rhs = (weights * y) @ Z
    return np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]


def _bootstrap(design: _Design, treated: np.ndarray, outcomes: list[_Outcome], start: np.ndarray,
               estimand: str, resamples: int, seed: int) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], int]:
    """(mu1, mu0) per resample for each outcome (NaN where the resample failed), and the failed count.

    Resamples are drawn within each group (the group sizes stay fixed) and handled in chunks, each
    chunk's fits at once: the weighted Gram matrices of all its resamples are one matrix product over
    the rows that enter each fit."""
    rng = np.random.default_rng(seed)
    n = design.X.shape[0]
    counts = np.zeros((resamples, n))
    for rows in (np.flatnonzero(treated), np.flatnonzero(~treated)):
        counts[:, rows] = rng.multinomial(len(rows), np.full(len(rows), 1 / len(rows)), size=resamples)
    x_pairs = _pairs(design.X)
    group_index = (np.flatnonzero(treated), np.flatnonzero(~treated))
    fits = []  # per outcome and group: (member mask within the group, Z, y, pairs of Z) on the rows of that fit
    for o in outcomes:
        y = np.nan_to_num(o.y)
        groups = []
        for index in group_index:
            inside = o.member[index]
            Zg = o.Z[index[inside]]
            groups.append((None if inside.all() else inside, Zg, y[index[inside]], _pairs(Zg)))
        fits.append((o, groups))
    chunk = max(1, min(resamples, int(5e6 // n)))  # B × n arrays near 40 MB
    out = {o.key: (np.full(resamples, np.nan), np.full(resamples, np.nan)) for o in outcomes}
    failed = np.zeros(resamples, dtype=bool)
    for lo in range(0, resamples, chunk):
        c = counts[lo:lo + chunk]
        beta, ok = _batched_logit(design.X, treated, c, start, pairs=x_pairs)
        failed[lo:lo + chunk] |= ~ok
        ps = 1 / (1 + np.exp(-np.clip(beta @ design.X.T, -30, 30)))
        by_group = []  # (counts, fit weights × counts, target weights × counts) on each group's rows
        for g, index in enumerate(group_index):
            cg, pg = c[:, index], ps[:, index]
            if estimand == ESTIMAND_ATO:
                by_group.append((cg, cg * (1 - pg if g == 0 else pg), cg * pg * (1 - pg)))
            else:
                by_group.append((cg, cg if g == 0 else cg * (pg / (1 - pg)), cg if g == 0 else None))
        for o, groups in fits:
            mus = []
            enough = ok.copy()
            target_sum = np.zeros(len(c))
            target_z = []
            for (inside, Zg, _, _), (_, _, tg) in zip(groups, by_group, strict=True):
                if tg is not None:
                    tg = tg if inside is None else tg[:, inside]
                    target_sum += tg.sum(axis=1)
                    target_z.append(tg @ Zg)
            weighted_z = sum(target_z) / np.maximum(target_sum, 1e-300)[:, None]
            for g, ((inside, Zg, yg, pairs), (cg, fit_w, _)) in enumerate(zip(groups, by_group, strict=True)):
                cg_in, w_in = (cg, fit_w) if inside is None else (cg[:, inside], fit_w[:, inside])
                enough &= (cg_in > 0).sum(axis=1) >= MIN_GROUP
                if g == 0 and estimand == ESTIMAND_ATT:
                    # the PA model (weights 1, intercept) averaged over the PA group is the PA group's mean
                    mus.append(cg_in @ yg / np.maximum(cg_in.sum(axis=1), 1e-300))
                    continue
                mus.append((weighted_z * _batched_wls(Zg, yg, w_in, pairs)).sum(axis=1))
            out[o.key][0][lo:lo + chunk] = np.where(enough, mus[0], np.nan)
            out[o.key][1][lo:lo + chunk] = np.where(enough, mus[1], np.nan)
    return out, int(failed.sum())


def _percentile(values: np.ndarray, resamples: int) -> tuple[tuple[float, float] | None, str | None]:
    finite = values[np.isfinite(values)]
    if len(finite) < resamples * (1 - BOOTSTRAP_MAX_FAILED):
        return None, (f"Only {len(finite)} of {resamples} bootstrap resamples could be fitted, too few for a "
                      "trustworthy interval (the groups are small or nearly separated).")
    low, high = np.percentile(finite, [2.5, 97.5])
    return clean_ci(low, high), None


# --- M-estimation (sandwich) ----------------------------------------------------------------


@dataclass(frozen=True)
class _Shared:
    """What the sandwich needs of the propensity model, worked out once for every outcome."""

    ps: np.ndarray
    weights: np.ndarray
    d_weights: np.ndarray
    target: np.ndarray
    d_target: np.ndarray
    j_gamma: np.ndarray  # −Xᵀ diag(ps(1 − ps)) X
    residual: np.ndarray  # a − ps (the propensity model's ψ is X(a − ps))

    @classmethod
    def of(cls, X: np.ndarray | _Factored, treated: np.ndarray, gamma: np.ndarray, estimand: str) -> _Shared:
        ps = 1 / (1 + np.exp(-_xdot(X, gamma)))
        d_weights, d_target = _derivatives(ps, treated, estimand)
        return cls(ps=ps, weights=_weights(ps, treated, estimand), d_weights=d_weights,
                   target=_target(ps, treated, estimand), d_target=d_target,
                   j_gamma=-_xgram(X, ps * (1 - ps)), residual=treated - ps)


def _sandwich(design: _Design, treated: np.ndarray, shared: _Shared, outcome: _Outcome, beta1: np.ndarray,
              beta0: np.ndarray, mu1: float, mu0: float, grams: tuple[np.ndarray, ...]) -> np.ndarray:
    """Covariance of (mu1, mu0) from the stacked estimating equations of the propensity model, both
    outcome models and the two target means (empirical sandwich, Stefanski & Boos 2002).

    θ = (γ, β₁, β₀, μ₁, μ₀); ψ = (X(a − ps), a·w·Z(y − Zβ₁), (1 − a)·w·Z(y − Zβ₀), t(Zβ₁ − μ₁), t(Zβ₀ − μ₀)),
    restricted to the outcome's population except for the propensity rows. Each person's influence on
    (μ₁, μ₀) is the last two rows of J⁻¹ applied to their ψ; the blocks are built on the rows where they are
    not zero."""
    X, Z = design.X, outcome.Z
    n, p = X.shape
    q = Z.shape[1]
    k = p + 2 * q + 2
    s1, s2, s3 = slice(0, p), slice(p, p + q), slice(p + q, p + 2 * q)
    member = outcome.member
    J = np.zeros((k, k))
    J[s1, s1] = shared.j_gamma
    J[s2, s2], J[s3, s3] = -grams[0], -grams[1]  # the outcome models' ZᵀWZ, from the point estimate
    models = ((treated, beta1, s2), (~treated, beta0, s3))
    # Everything else is summed in row blocks (no n-long temporaries): first J, then the influences.
    target_sum = 0.0
    for lo in range(0, n, _CHUNK):
        rows = slice(lo, lo + _CHUNK)
        Xc, Zc, m, y = X[rows], Z[rows], member[rows], np.nan_to_num(outcome.y[rows])
        for group, beta, block in models:
            dw = np.where(m & group[rows], shared.d_weights[rows], 0.0)
            if np.any(dw):
                J[block, s1] += (Zc.T * (dw * (y - Zc @ beta))) @ Xc
        t = np.where(m, shared.target[rows], 0.0)
        dt = np.where(m, shared.d_target[rows], 0.0)
        if np.any(dt):
            J[k - 2, s1] += (dt * (Zc @ beta1 - mu1)) @ Xc
            J[k - 1, s1] += (dt * (Zc @ beta0 - mu0)) @ Xc
        J[k - 2, s2] += t @ Zc
        target_sum += t.sum()
    J[k - 1, s3] = J[k - 2, s2]
    J[k - 2, k - 2] = J[k - 1, k - 1] = -target_sum
    last = np.linalg.pinv(J / n)[k - 2:]
    meat = np.zeros((2, 2))
    # every product of a row of Z needed below in one matrix product per block: Zβ₁, Zβ₀ and the two
    # outcome blocks of J⁻¹'s last rows (and the propensity block when Z is X)
    same = Z is X
    products = np.column_stack([beta1, beta0, last[:, s2].T, last[:, s3].T] + ([last[:, s1].T] if same else []))
    for lo in range(0, n, _CHUNK):
        rows = slice(lo, lo + _CHUNK)
        Xc, Zc, m, y = X[rows], Z[rows], member[rows], np.nan_to_num(outcome.y[rows])
        F = Zc @ products
        influence = (F[:, 6:8] if same else Xc @ last[:, s1].T) * shared.residual[rows, None]
        for (group, _, _), fitted, part in ((models[0], F[:, 0], F[:, 2:4]), (models[1], F[:, 1], F[:, 4:6])):
            scale = np.where(m & group[rows], shared.weights[rows] * (y - fitted), 0.0)  # ψ rows = Z · (w·residual)
            influence += part * scale[:, None]
        t = np.where(m, shared.target[rows], 0.0)
        influence += np.column_stack([t * (F[:, 0] - mu1), t * (F[:, 1] - mu0)]) @ last[:, k - 2:].T
        meat += influence.T @ influence
    return meat / n / n


# --- the analysis -----------------------------------------------------------------------------


def _outcomes(episodes: pd.DataFrame, flags: pd.DataFrame, rows: np.ndarray, design: _Design,
              measures: tuple[str, ...]) -> list[_Outcome]:
    """Each outcome on the analysis rows (``rows``: which episodes and flags they are, a mask). A rate's outcome is
    kept as booleans on a factored design (large data: 1 byte a person, read block by block)."""
    compact = isinstance(design.X, _Factored)
    if design.treated is None:
        def on_rows(values: np.ndarray) -> np.ndarray:
            return values[rows]
    else:  # X's rows are in group order: the controls among the rows, then PA
        pa = rows.copy()
        pa[rows] = design.treated
        control = rows & ~pa

        def on_rows(values: np.ndarray) -> np.ndarray:
            return _grouped(values, control, pa)
    out = []
    for key, definition in RATE_DEFINITIONS.items():
        member = on_rows(flags[definition.denominator_column].to_numpy(dtype=bool))
        y = on_rows(flags[definition.numerator_column].to_numpy(dtype=bool)) & member
        out.append(_Outcome(key, definition.label, "rate", y if compact else y.astype(float), member, design.X))
    for key in measures:
        first_col, last_col = f"{key}_first", f"{key}_last"
        if first_col not in episodes.columns or last_col not in episodes.columns:
            continue
        last = on_rows(episodes[last_col].to_numpy(dtype="float64", na_value=np.nan))
        member = on_rows(~np.isnan(episodes[first_col].to_numpy(dtype="float64", na_value=np.nan))) & ~np.isnan(last)
        np.copyto(last, 0.0, where=~member)  # 0 outside the population (a copy of the column's rows)
        Z = design.X
        if (first_col, "") not in design.terms:  # the measure's own first score is always in its model
            first = on_rows(episodes[first_col].to_numpy(dtype="float64", na_value=np.nan))
            filled = np.where(member, first, 0.0)
            sd = filled[member].std() if member.any() else 0.0
            if sd > 0:
                extra = np.where(member, (filled - filled[member].mean()) / sd, 0.0)
                Z = Z.with_column(extra) if isinstance(Z, _Factored) else np.column_stack([Z, extra])
        out.append(_Outcome(key, measure_for(key).label, "measure", last, member, Z))
    return out


def _dense_effects(design: _Design, treated: np.ndarray, ps: np.ndarray, gamma: np.ndarray,
                  outcomes: list[_Outcome], estimand: str, sandwich: bool
                  ) -> tuple[dict[str, tuple[float, float] | str], dict[str, np.ndarray]]:
    """Each outcome's (mu1, mu0) or the reason it has none, and with ``sandwich`` the covariance of (mu1, mu0),
    on a design built whole: each group's outcome model fitted (:func:`_point`), the stacked estimating
    equations' sandwich per outcome (:func:`_sandwich`)."""
    w, t = _weights(ps, treated, estimand), _target(ps, treated, estimand)
    grams = _outcome_grams(outcomes, treated, w)
    fits = dict(zip([o.key for o in outcomes],
                    _in_parallel(lambda o: _point(o, treated, w, t, grams[o.key]), outcomes), strict=True))
    valid = [o for o in outcomes if not isinstance(fits[o.key], str)]
    covariances: dict[str, np.ndarray] = {}
    if sandwich and valid:
        shared = _Shared.of(design.X, treated, gamma, estimand)

        def covariance(o: _Outcome) -> np.ndarray:
            mu1, mu0, beta1, beta0, grams = fits[o.key]
            return _sandwich(design, treated, shared, o, beta1, beta0, mu1, mu0, grams)

        covariances = dict(zip([o.key for o in valid], _in_parallel(covariance, valid), strict=True))
    points = {key: fit if isinstance(fit, str) else (fit[0], fit[1]) for key, fit in fits.items()}
    return points, covariances


def _linear(X: _Factored, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """X @ b prepared for row blocks: (each cell's value, the numeric columns' coefficients)."""
    return X.table @ b, b[list(X.positions)]


def _on(part: _Factored, linear: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """X @ b on a row block (``linear``: :func:`_linear`)."""
    out = np.take(linear[0], part.cells)
    if part.positions:
        out += part.numeric @ linear[1]
    return out


def _factored_effects(design: _Design, treated: np.ndarray, fit: _Fit, outcomes: list[_Outcome],
                      estimand: str) -> tuple[dict[str, tuple[float, float] | str], dict[str, np.ndarray]]:
    """Each outcome's (mu1, mu0), or the reason it has none, and the sandwich covariance of (mu1, mu0), on a
    factored design (large data): the estimates of :func:`_point` and :func:`_sandwich`, solved through the
    structure of the stacked estimating equations instead of inverting them whole, in two passes over the rows
    for all outcomes at once.

    With θ = (γ, β_g, μ_g) and ψ as in :func:`_sandwich`, J is block triangular, so each person's influence
    on μ_g is, with s = Σ m·t, c = Σ m·t·Z, u_g = G_g⁻¹c (G_g = Σ 1_g·m·w·ZZᵀ, the group's ZᵀWZ),
    κ_g = Σ [1_g·m·w′·r_g·(Z·u_g) + m·t′·(Zβ_g − μ_g)]·X and λ_g = J_γ⁻¹κ_g (J_γ = −Σ ps(1 − ps)XXᵀ)::

        φ_g = [P_g − (X·λ_g)(a − ps)] / s,   P_g = m·t·(Zβ_g − μ_g) + 1_g·m·w·r_g·(Z·u_g),   r_g = y − Zβ_g

    (w′, t′: the derivatives of the weight and the target in the linear predictor), and the covariance of
    (μ₁, μ₀) is Σ φφᵀ = [Σ P_gP_h − λ_hᵀ Σ P_g(a − ps)X − λ_gᵀ Σ P_h(a − ps)X + λ_gᵀ (Σ (a − ps)²XXᵀ) λ_h] / s²:
    the first pass fits the outcome models (each distinct population's ZᵀWZ once), the second sums P's products
    and κ; no (2q + p + 2)-square J, no pseudo-inverse. For the ATT the PA model (weight 1, an intercept,
    target = PA) averaged over the PA group is the PA group's mean, with P₁ = m·a·(y − μ₁) and λ₁ = 0, so it is
    not fitted. An outcome whose model has a singular ZᵀWZ (a level absent from a group in the outcome's
    population) goes through :func:`_point` and :func:`_sandwich` on the design built whole, as before.
    Weights, targets and their derivatives are worked out block by block from the scores."""
    X, ps = design.X, fit.ps
    assert isinstance(X, _Factored) and fit.j_gamma is not None and fit.meat is not None
    modelled = (1,) if estimand == ESTIMAND_ATT else (0, 1)  # ATT: the PA model is its group's mean
    positive = _weights(ps, treated, estimand) > 0
    points: dict[str, tuple[float, float] | str] = {}
    # outcomes with the same design and population share their models' ZᵀWZ, the target and c
    populations: dict[tuple[int, bytes], list[_Outcome]] = {}
    for o in outcomes:
        reason = next((f"Fewer than {MIN_GROUP} {GROUP_LABELS[name].lower()} participants are in this outcome's "
                       "population." for group, name in ((treated, GROUP_PA), (~treated, GROUP_CONTROL))
                       if np.count_nonzero(o.member & group & positive) < MIN_GROUP), None)
        if reason is not None:
            points[o.key] = reason
            continue
        populations.setdefault((id(o.Z), np.packbits(o.member).tobytes()), []).append(o)

    att = estimand == ESTIMAND_ATT
    controls = design.controls  # X's rows are in group order: control first

    def blocks() -> Iterator[tuple[slice, int, np.ndarray, np.ndarray]]:
        """Row blocks, each within one group: (rows, its group: 0 PA or 1 control, the weights, the target).
        A group's model and (for the ATT) the target are then sums over that group's blocks only."""
        for start, stop, g in ((0, controls, 1), (controls, len(ps), 0)):
            for lo in range(start, stop, _BLOCK):
                rows = slice(lo, min(lo + _BLOCK, stop))
                a = treated[rows]
                yield rows, g, _weights(ps[rows], a, estimand), _target(ps[rows], a, estimand)

    def on_rows(Z: _Factored, rows: slice) -> _Factored:
        return _Factored(Z.cells[rows], Z.table, Z.numeric[rows], Z.positions)

    # pass 1: per population each modelled group's ZᵀWZ, c = Σ m·t·Z and s; per outcome ZᵀW·y (and Σ m·t·y)
    shared = {key: (members[0].Z, members[0].member) for key, members in populations.items()}
    grams = {(key, g): _CrossSum(Z) for key, (Z, _) in shared.items() for g in modelled}
    cs = {key: _ProductSum(Z) for key, (Z, _) in shared.items()}
    totals = dict.fromkeys(shared, 0.0)
    rhs = {(o.key, g): _ProductSum(o.Z) for members in populations.values() for o in members for g in modelled}
    target_y = {o.key: 0.0 for members in populations.values() for o in members}
    for rows, group, w, t in blocks():
        targeted = not (att and group == 1)  # the ATT's target is the PA group
        for key, (Z, member) in shared.items():
            part, m = on_rows(Z, rows), member[rows]
            target = t * m if targeted else None
            if target is not None:
                totals[key] += float(target.sum())
                cs[key].add(part, target)
            weights = w * (m & (w > 0)) if group in modelled else None
            if weights is not None:
                grams[key, group].add(part, weights)
            for o in populations[key]:
                y = o.y[rows]
                if target is not None:
                    target_y[o.key] += float(target @ y)
                if weights is not None:
                    rhs[o.key, group].add(part, weights * y)
    fits: dict[str, list[tuple[float, Any, Any]]] = {}  # per group (mu, Zβ, Z·u) or (mean, None, None)
    models: dict[tuple[tuple[int, bytes], int], Any] = {}  # (population, group) -> Z·u
    singular: list[_Outcome] = []
    for key, members in populations.items():
        Z, total = shared[key][0], totals[key]
        if not total > 0:
            for o in members:
                points[o.key] = "No one in the target group is in this outcome's population."
            continue
        c = cs[key].vector()
        found = {}
        for g in modelled:
            gram = grams[key, g].matrix()
            if not _full_rank(gram):
                break
            found[g] = gram
            models[key, g] = _linear(Z, np.linalg.solve(gram, c))
        else:
            for o in members:
                fits[o.key] = [(target_y[o.key] / total, None, None)] * 2  # the mean (the ATT's PA group)
                for g, gram in found.items():
                    beta = np.linalg.solve(gram, rhs[o.key, g].vector())
                    fits[o.key][g] = (float(c @ beta) / total, _linear(Z, beta), models[key, g])
            continue
        singular += members

    # pass 2: per outcome Σ P_g·P_h, Σ P_g·(a − ps)·X and κ_g = Σ [w′·r·(Z·u) + t′·m·(Zβ − μ)]·X, block by block
    # leaving out the terms that are 0 in the block's group
    ready = {key: [o for o in members if o.key in fits] for key, members in populations.items()}
    products = {o.key: np.zeros((2, 2)) for members in ready.values() for o in members}
    against = {(key, g): _ProductSum(X) for key in products for g in (0, 1)}
    kappas = {(key, g): _ProductSum(X) for key in products for g in modelled}
    for rows, group, w, t in blocks():
        x_part = on_rows(X, rows)
        residual_ps = treated[rows] - ps[rows]
        d_weights, d_target = _derivatives(ps[rows], treated[rows], estimand)
        targeted = not (att and group == 1)
        for key, members in ready.items():
            if not members:
                continue
            Z, m = shared[key][0], shared[key][1][rows]
            part = x_part if Z is X else on_rows(Z, rows)
            target = t * m if targeted else None
            in_model = _on(part, models[key, group]) * m if group in modelled else None  # (Z·u) in the model
            for o in members:
                y = o.y[rows]
                influence: list[np.ndarray | None] = [None, None]
                for g, (mu, beta, _) in enumerate(fits[o.key]):
                    if beta is None:  # the ATT's PA group: P₁ = m·a·(y − μ₁)
                        influence[g] = None if target is None else target * (y - mu)
                        continue
                    fitted = _on(part, beta)
                    terms, derivative = [], None
                    if target is not None:
                        terms.append(target * (fitted - mu))
                    if g == group:
                        r_zu = (y - fitted) * in_model
                        terms.append(w * r_zu)
                        derivative = d_weights * r_zu
                    if not att:
                        slope = d_target * m * (fitted - mu)
                        derivative = slope if derivative is None else derivative + slope
                    if derivative is not None:
                        kappas[o.key, g].add(x_part, derivative)
                    influence[g] = sum(terms[1:], terms[0]) if terms else None
                for g in (0, 1):
                    if influence[g] is None:
                        continue
                    against[o.key, g].add(x_part, influence[g] * residual_ps)
                    for h in range(g, 2):
                        if influence[h] is not None:
                            products[o.key][g, h] += float(influence[g] @ influence[h])
    covariances: dict[str, np.ndarray] = {}
    for key, members in ready.items():
        for o in members:
            lam = [np.linalg.solve(fit.j_gamma, kappas[o.key, g].vector()) if (o.key, g) in kappas
                   else np.zeros(X.shape[1]) for g in (0, 1)]
            cov = np.zeros((2, 2))
            for g in (0, 1):
                for h in range(g, 2):
                    cov[g, h] = cov[h, g] = (products[o.key][g, h] - lam[h] @ against[o.key, g].vector()
                                             - lam[g] @ against[o.key, h].vector() + lam[g] @ fit.meat @ lam[h])
            points[o.key] = (fits[o.key][0][0], fits[o.key][1][0])
            covariances[o.key] = cov / totals[key] / totals[key]
    for o in singular:  # as on a design built whole (least squares, pseudo-inverse)
        dense = _Design(X=X.dense(), terms=design.terms, balance_columns=design.balance_columns, keep=design.keep)
        whole = _Outcome(o.key, o.label, o.kind, o.y, o.member, dense.X if o.Z is X else o.Z.dense())
        found_points, found_covariance = _dense_effects(dense, treated, ps, fit.params, [whole], estimand,
                                                        sandwich=True)
        points[o.key] = found_points[o.key]
        covariances.update(found_covariance)
    return {o.key: points[o.key] for o in outcomes}, covariances


WORKERS: Final = 2  # outcomes worked on at once (numpy releases the GIL in its array work and BLAS)


def _in_parallel(work: Any, items: list[Any]) -> list[Any]:
    """``[work(item) for item in items]``, :data:`WORKERS` at a time in threads (each outcome's fit and sandwich
    are independent, and each BLAS call stays on one thread, so the results are those of the plain loop)."""
    if len(items) < 2 or WORKERS < 2:
        return [work(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="adjusted") as pool:
        return list(pool.map(work, items))


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run the many small matrix products in this thread only: OpenBLAS's worker threads cost far more
    than they save on these shapes (20× slower measured on a busy 2-CPU machine). No-op without
    threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a pinned requirement
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def adjust(episodes: pd.DataFrame, flags: pd.DataFrame | None = None,
           covariates: list[str] | tuple[str, ...] | None = None, estimand: str = ESTIMAND_ATT,
           trim: float | None = None, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED,
           measures: tuple[str, ...] = ADJUSTED_MEASURES, bootstrap_max_n: int = BOOTSTRAP_MAX_N) -> Adjustment:
    """The adjusted comparison of every rate and of each measure's last score (see the module docstring).

    ``covariates``: baseline columns (default :func:`default_covariates`); ``estimand``: ``"ATT"`` or
    ``"ATO"`` (overlap weights); ``trim``: leave out people whose propensity score is below ``trim`` or
    above ``1 − trim`` (only on request: the estimand changes, and says so). Finishers only. Above
    ``bootstrap_max_n`` people the CIs come from the sandwich variance instead of resampling.
    """
    with _one_blas_thread():
        return _adjust(episodes, flags, covariates, estimand, trim, resamples, seed, measures, bootstrap_max_n)


def _adjust(episodes: pd.DataFrame, flags: pd.DataFrame | None, covariates: list[str] | tuple[str, ...] | None,
            estimand: str, trim: float | None, resamples: int, seed: int, measures: tuple[str, ...],
            bootstrap_max_n: int) -> Adjustment:
    flags = participant_outcomes(episodes) if flags is None else flags
    notes: list[str] = []
    if estimand not in ESTIMANDS:
        estimand = ESTIMAND_ATT
    finished = flags["finished"].to_numpy(dtype=bool)
    finishers = _Finishers(episodes, finished)  # one column at a time, never the whole frame
    chosen = tuple(_default_covariates(episodes, finishers) if covariates is None else
                   [c for c in dict.fromkeys(covariates) if c in episodes.columns and c not in NOT_COVARIATES])
    is_pa = finishers.is_group(GROUP_PA)
    group_n = {GROUP_PA: int(is_pa.sum()), GROUP_CONTROL: int((~is_pa).sum())}
    if not chosen:
        return _unavailable("No baseline characteristic is chosen (or none is in the data), so there is nothing to "
                            "adjust for.", estimand, chosen, group_n, {g: 0 for g in GROUPS}, notes, trim)
    if min(group_n.values()) < MIN_GROUP:
        return _unavailable(f"Each group needs at least {MIN_GROUP} finishers to adjust.", estimand, chosen, group_n,
                            {g: 0 for g in GROUPS}, notes, trim)
    keep, texts, _ = _prepare(finishers, chosen, is_pa, notes)
    treated = is_pa[keep]
    n = {GROUP_PA: int(treated.sum()), GROUP_CONTROL: int((~treated).sum())}
    excluded = {g: group_n[g] - n[g] for g in GROUPS}
    if min(n.values()) < MIN_GROUP:
        return _unavailable(f"After leaving out people with missing characteristics or no comparable person in the "
                            f"other group, fewer than {MIN_GROUP} remain in a group.", estimand, chosen, n, excluded,
                            notes, trim)
    design = _design(finishers, chosen, texts, keep, treated, factored=sum(n.values()) > bootstrap_max_n)
    fit, reason = _fit_propensity(design.X, design.ordered(treated).astype(float))
    if fit is None:
        return _unavailable(reason or "The propensity model could not be fitted.", estimand, chosen, n, excluded,
                            notes, trim)
    ps = design.unordered(fit.ps)
    if trim is not None and 0 < trim < 0.5:
        inside = (ps >= trim) & (ps <= 1 - trim)
        if not inside.all():
            dropped = {GROUP_PA: int((~inside & treated).sum()), GROUP_CONTROL: int((~inside & ~treated).sum())}
            notes.append(f"Trimmed at your request: {dropped[GROUP_PA]} physical activity and "
                         f"{dropped[GROUP_CONTROL]} control participants with a propensity score outside "
                         f"{trim:g}–{1 - trim:g} are left out; the estimate is for the rest (the estimand changed).")
            keep = keep.copy()
            keep[np.flatnonzero(keep)[~inside]] = False
            treated = is_pa[keep]
            n = {GROUP_PA: int(treated.sum()), GROUP_CONTROL: int((~treated).sum())}
            excluded = {g: group_n[g] - n[g] for g in GROUPS}
            if min(n.values()) < MIN_GROUP:
                return _unavailable("Trimming left fewer than 2 people in a group.", estimand, chosen, n, excluded,
                                    notes, trim)
            design = _design(finishers, chosen, texts, keep, treated, factored=sum(n.values()) > bootstrap_max_n)
            fit, reason = _fit_propensity(design.X, design.ordered(treated).astype(float))
            if fit is None:
                return _unavailable(reason or "The propensity model could not be fitted.", estimand, chosen, n,
                                    excluded, notes, trim)
            ps = design.unordered(fit.ps)
    else:
        trim = None
    del texts
    w = _weights(ps, treated, estimand)
    ess = {GROUP_PA: _ess(w[treated]), GROUP_CONTROL: _ess(w[~treated])}
    model_method = METHOD + (f"; {SITE_METHOD}" if SITE_COLUMN in chosen else "")
    parameters = design.X.shape[1] - 1
    smaller = min(n.values())
    role = "primary" if smaller >= PRIMARY_PER_PARAMETER * max(parameters, 1) else "sensitivity"
    role_reason = role_text(role, parameters, smaller)
    extreme = int(((ps < EXTREME_PROPENSITY) | (ps > 1 - EXTREME_PROPENSITY)).sum())
    if extreme:
        notes.append(f"{extreme} people have a propensity score below {EXTREME_PROPENSITY:g} or above "
                     f"{1 - EXTREME_PROPENSITY:g} (limited overlap): see the overlap chart. Trimming is available "
                     "but changes the estimand.")
    rows = finished.copy()
    rows[finished] = keep  # the analysis rows among all episodes
    use_bootstrap = sum(n.values()) <= bootstrap_max_n

    def estimate() -> tuple[list[_Outcome], dict[str, tuple[float, float] | str], dict[str, np.ndarray]]:
        outcomes = _outcomes(episodes, flags, rows, design, measures)
        if isinstance(design.X, _Factored):  # large data (the sandwich), X kept as its parts, rows in group order
            return outcomes, *_factored_effects(design, design.ordered(treated), fit, outcomes, estimand)
        return outcomes, *_dense_effects(design, treated, ps, fit.params, outcomes, estimand, not use_bootstrap)

    # the balance table and the outcome models are independent: side by side
    balance, (outcomes, points, covariances) = _in_parallel(lambda task: task(), [
        lambda: _balance(design, treated, w), estimate])
    draws, failed = ({}, 0)
    valid = [o for o in outcomes if not isinstance(points[o.key], str)]
    if use_bootstrap and valid:
        draws, failed = _bootstrap(design, treated, valid, fit.params, estimand, resamples, seed)
    effects = {}
    treated_x = design.ordered(treated)  # the outcomes' rows are X's
    for o in outcomes:
        in_pa = int(np.count_nonzero(o.member & treated_x))
        in_control = int(np.count_nonzero(o.member)) - in_pa
        counts = {GROUP_PA: in_pa, GROUP_CONTROL: in_control}
        name = f"Adjusted difference in {o.label.lower() if o.kind == 'rate' else o.label + ' last score'} (PA − control)"
        rr_name = f"Adjusted relative risk of {o.label.lower()} (PA / control)"
        method = model_method + "; 95% CI: " + CI_METHODS["bootstrap" if use_bootstrap else "sandwich"]
        point = points[o.key]
        if isinstance(point, str):
            diff = Estimate.unavailable(name, method, point, counts)
            rr = Estimate.unavailable(rr_name, method, point, counts) if o.kind == "rate" else None
            effects[o.key] = AdjustedEffect(o.key, o.label, o.kind, counts, diff, rr)
            continue
        mu1, mu0 = point
        rr_estimate = mu1 / mu0 if mu0 > 0 and mu1 > 0 else None
        diff_ci = rr_ci = None
        ci_reason = rr_reason = None
        if use_bootstrap:
            b1, b0 = draws[o.key]
            diff_ci, ci_reason = _percentile(b1 - b0, resamples)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where((b0 > 0) & (b1 > 0), b1 / b0, np.nan)
            rr_ci, rr_reason = _percentile(ratio, resamples)
        else:
            cov = covariances[o.key]
            se = math.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0))
            diff_ci = clean_ci(mu1 - mu0 - 1.96 * se, mu1 - mu0 + 1.96 * se)
            if rr_estimate is not None:
                g = np.array([1 / mu1, -1 / mu0])
                se_log = math.sqrt(max(float(g @ cov @ g), 0.0))
                rr_ci = clean_ci(rr_estimate * math.exp(-1.96 * se_log), rr_estimate * math.exp(1.96 * se_log))
        extra = {"mean_pa": mu1, "mean_control_adjusted": mu0}
        diff = Estimate(name=name, estimate=clean_float(mu1 - mu0), ci95=diff_ci, method=method, n=counts,
                        reason=ci_reason, extra=extra)
        rr = None
        if o.kind == "rate":
            if rr_estimate is None:
                rr = Estimate.unavailable(rr_name, method, "A group's adjusted rate is zero, so the relative risk "
                                          "is not finite.", counts)
            else:
                rr = Estimate(name=rr_name, estimate=clean_float(rr_estimate), ci95=rr_ci, method=method, n=counts,
                              reason=rr_reason, extra=extra)
        effects[o.key] = AdjustedEffect(o.key, o.label, o.kind, counts, diff, rr,
                                        means={GROUP_PA: clean_float(mu1), GROUP_CONTROL: clean_float(mu0)})
    if use_bootstrap and failed:
        notes.append(f"{failed} of {resamples} bootstrap resamples could not be fitted and are left out.")
    # the group names as a categorical (two strings and a code per person, not a string per person)
    propensity = pd.DataFrame({"group": pd.Categorical.from_codes(treated.astype(np.int8), [GROUP_CONTROL, GROUP_PA]),
                               "propensity": ps})
    return Adjustment(estimand=estimand, covariates=chosen, n=n, excluded=excluded, ess=ess, balance=balance,
                      propensity=propensity, effects=effects, ci_method="bootstrap" if use_bootstrap else "sandwich",
                      n_resamples=resamples if use_bootstrap else None, seed=seed if use_bootstrap else None,
                      failed_resamples=failed, parameters=parameters, role=role, role_reason=role_reason,
                      trim=trim, notes=tuple(notes), method=model_method)


# --- the summary's blocks ----------------------------------------------------------------------


def _e_block(point: float | None, ci: float | None, source: float | None) -> dict[str, Any]:
    out: dict[str, Any] = {"estimate": clean_float(point), "ci": clean_float(ci)}
    if out["estimate"] is None:
        out["reason"] = ("No finite effect estimate to transform." if source is None else
                         "Not computable (the relative risk is not finite, or the outcome's SD is zero).")
    elif out["ci"] is None:
        out["reason"] = "The estimate has no 95% CI, so its E-value has none."
    return out


def _pooled_sd(comparison: Any) -> float | None:
    """Pooled SD of the last score over both groups (n − 1 weights) from a MeasureComparison."""
    parts = [comparison.descriptives[g] for g in GROUPS]
    if any(d.n < 2 or d.sd_last is None for d in parts):
        return None
    total = sum(d.n for d in parts)
    return math.sqrt(sum((d.n - 1) * d.sd_last ** 2 for d in parts) / (total - 2))


def e_values(rates: dict[str, Any], measures: dict[str, Any], adjustment: Adjustment | None) -> dict[str, Any]:
    """E-values of every primary result, unadjusted and adjusted (JSON key ``e_values``).

    Rates: from the relative risk (unadjusted: Katz CI; adjusted: this module's). Measures: from the
    difference in last score (unadjusted: ANCOVA; adjusted: IPW-RA) over the pooled SD of the last score.
    """
    out: dict[str, Any] = {}
    for key, comparison in rates.items():
        rr = comparison.relative_risk
        entry = {"unadjusted": _e_block(*e_value_rr(rr.estimate, *(rr.ci95 or (None, None))), rr.estimate)}
        effect = adjustment.effects.get(key) if adjustment is not None else None
        entry["n"] = {g: comparison.groups[g].denominator for g in GROUPS}
        if effect is not None:
            entry["n_adjusted"] = dict(effect.n)
        if effect is not None and effect.relative_risk is not None and effect.relative_risk.estimate is not None:
            a = effect.relative_risk
            entry["adjusted"] = _e_block(*e_value_rr(a.estimate, *(a.ci95 or (None, None))), a.estimate)
        else:
            reason = (adjustment.reason if adjustment is not None and adjustment.reason else
                      (effect.relative_risk.reason if effect is not None and effect.relative_risk is not None
                       else "No adjusted relative risk."))
            entry["adjusted"] = {"estimate": None, "ci": None, "reason": reason}
        out[key] = entry
    for key, comparison in measures.items():
        if key not in ADJUSTED_MEASURES:
            continue
        sd = _pooled_sd(comparison)
        a = comparison.ancova
        entry = {"unadjusted": _e_block(*e_value_difference(a.estimate, a.ci95, sd), a.estimate)}
        effect = adjustment.effects.get(key) if adjustment is not None else None
        entry["n"] = {g: comparison.descriptives[g].n for g in GROUPS}
        if effect is not None:
            entry["n_adjusted"] = dict(effect.n)
        if effect is not None and effect.difference.estimate is not None:
            d = effect.difference
            entry["adjusted"] = _e_block(*e_value_difference(d.estimate, d.ci95, sd), d.estimate)
        else:
            entry["adjusted"] = {"estimate": None, "ci": None,
                                 "reason": (adjustment.reason if adjustment is not None and adjustment.reason
                                            else "No adjusted difference.")}
        out[key] = entry
    out["method"] = E_VALUE_METHOD
    return out


def summary_blocks(episodes: pd.DataFrame | None, flags: pd.DataFrame, rates: dict[str, Any],
                   measures: dict[str, Any], adjustment: Adjustment | None = None) -> dict[str, Any]:
    """The ``adjusted`` and ``e_values`` keys of the machine-readable summary (default covariates, ATT);
    ``adjustment``: that analysis when already made (``adjust(episodes, flags)``)."""
    if episodes is None:
        reason = "The adjusted analysis needs the participant-level data."
        return {"adjusted": {"estimand": ESTIMAND_ATT, "reason": reason},
                "e_values": e_values(rates, measures, None)}
    adjustment = adjust(episodes, flags) if adjustment is None else adjustment
    return {"adjusted": adjustment.to_dict(), "e_values": e_values(rates, measures, adjustment)}


def site_adjusted_block(block: dict[str, Any]) -> dict[str, Any]:
    """The ``sites.adjusted`` key: the adjusted analysis (the summary's ``adjusted`` block) as the Sites page and
    report need it, saying whether it accounted for site (:data:`SITE_METHOD`) and giving each outcome's
    adjusted PA − control difference with its n; the full analysis stays under ``adjusted``."""
    covariates = list(block.get("covariates") or [])
    out: dict[str, Any] = {"adjusted_for_site": SITE_COLUMN in covariates and not block.get("reason"),
                           "estimand": block.get("estimand"), "covariates": covariates, "see": "adjusted"}
    if block.get("reason"):
        out["reason"] = f"The adjusted analysis is not available: {block['reason']}"
        return out
    if SITE_COLUMN not in covariates:
        out["reason"] = "Site is not among the characteristics the adjusted analysis accounts for."
        return out
    out["method"] = f"{METHOD}; {SITE_METHOD}"
    out["caveat"] = SITE_CAVEAT
    for section in ("rates", "measures"):
        out[section] = {key: {"n": dict(entry.get("n") or {}), "difference": dict(entry["difference"])}
                        for key, entry in (block.get(section) or {}).items()}
    return out


def site_adjusted_table(block: dict[str, Any]) -> pd.DataFrame:
    """The Sites page's "adjusted for site" table from a ``sites.adjusted`` block (safe or exact): each outcome's
    adjusted PA − control difference (rates in percentage points, measures' last score in points), its 95% CI and
    the people in each group; a hidden or missing figure reads "not available" with the reason."""
    rows = []
    for section, kind in (("rates", "points"), ("measures", "number")):
        for key, entry in (block.get(section) or {}).items():
            d, n = entry.get("difference") or {}, entry.get("n") or {}
            label = RATE_DEFINITIONS[key].label if key in RATE_DEFINITIONS else f"{measure_for(key).label} last score"
            value = (fmt.points(d.get("estimate")) if kind == "points" else fmt.number(d.get("estimate"), 1))
            # a rate's difference in (percentage) points: "1 point", "−2 points"; a missing one carries no unit
            unit = ("" if kind != "points" or value == fmt.MISSING else
                    " point" if value.lstrip("−-+") == "1" else " points")
            rows.append({"Outcome": label,
                         "Adjusted difference (PA − control)": value + unit,
                         "95% CI": fmt.ci(tuple(d["ci95"]) if d.get("ci95") else None, kind).removeprefix("95% CI "),
                         **{f"{GROUP_LABELS[g]} (n)": fmt.count(n.get(g)) if n.get(g) is not None else "fewer than 5"
                            for g in GROUPS},
                         "Note": d.get("reason") or ""})
    return pd.DataFrame(rows, columns=["Outcome", "Adjusted difference (PA − control)", "95% CI",
                                       *(f"{GROUP_LABELS[g]} (n)" for g in GROUPS), "Note"])


def site_adjusted_sentence(block: dict[str, Any] | None) -> str | None:
    """One line for the Sites slide and report from a (safe or exact) ``sites.adjusted`` block: the adjusted
    recovery difference with site as a covariate, or why it is not shown; None without the block."""
    if not block:
        return None
    if not block.get("adjusted_for_site"):
        return f"Adjusted for site: not available ({block.get('reason') or 'site not adjusted for'})."
    d = ((block.get("rates") or {}).get("recovery") or {}).get("difference") or {}
    if d.get("estimate") is None:
        return f"Adjusted for site: the recovery comparison is not shown ({d.get('reason') or 'not computable'})."
    ci = tuple(d["ci95"]) if d.get("ci95") else None
    return (f"Adjusted for site and baseline characteristics ({block.get('estimand')}): recovery "
            f"{fmt.points(d['estimate'])} points ({fmt.ci(ci, 'points')}), PA − control; see Accounting for who "
            "took part.")


def site_choice_text(n_sites: int, chosen: list[str] | tuple[str, ...]) -> str | None:
    """What the adjusted page says about site: None with fewer than two sites (nothing to account for)."""
    if n_sites < 2:
        return None
    if SITE_COLUMN in chosen:
        return (f"These data hold {n_sites} sites, and site is adjusted for: {SITE_METHOD}. {SITE_CAVEAT}")
    return (f"These data hold {n_sites} sites, but site is not among the characteristics chosen: if the sites differ "
            "both in how many people chose physical activity and in their outcomes, the comparison is confounded by "
            "site. Add Site to the characteristics to account for it.")


def make_site_adjusted_safe(block: dict[str, Any]) -> dict[str, Any]:
    """``sites.adjusted`` under presentation-safe rules: the same rules as the ``adjusted`` block
    (:func:`make_adjusted_safe`: counts suppressed below 5 and rounded to 5, an outcome resting on a group
    of fewer than 5 loses its estimate)."""
    out = make_adjusted_safe(block)
    if "notes" not in block:
        out.pop("notes", None)
    return out


def make_adjusted_safe(block: dict[str, Any]) -> dict[str, Any]:
    """The ``adjusted`` block under presentation-safe rules (:mod:`analysis.disclosure`): every count
    (``n``, ``excluded``, each outcome's ``n``) suppressed below 5 and rounded to 5; an outcome whose
    group count is below 5 loses its estimates. ESS, SMDs and estimates are not counts."""
    import copy

    from analysis.disclosure import SUPPRESS_BELOW, safe_count

    out = copy.deepcopy(dict(block))
    hidden_count = f"Hidden: fewer than {SUPPRESS_BELOW}."
    out["notes"] = [safe_note(note) for note in out.get("notes", [])]
    if out.get("role") in ("primary", "sensitivity") and isinstance(out.get("n"), dict):
        sizes = [v for g, v in out["n"].items() if g in GROUPS]
        smaller = min(sizes) if all(isinstance(v, int) for v in sizes) and sizes else None
        out["role_reason"] = role_text(out["role"], int(out.get("propensity_parameters") or 0), smaller, safe=True)
    for key in ("n", "excluded"):
        if isinstance(out.get(key), dict):
            out[key] = _counts_with_reason({g: safe_count(v) for g, v in out[key].items() if g in GROUPS},
                                           hidden_count)
    for section in ("rates", "measures"):
        for entry in (out.get(section) or {}).values():
            counts = entry.get("n") or {}
            small = any(v is None or v < SUPPRESS_BELOW for v in counts.values())
            entry["n"] = _counts_with_reason({g: safe_count(v) for g, v in counts.items()}, hidden_count)
            if small:
                for name in ("difference", "relative_risk"):
                    if name in entry:
                        entry[name] = {"estimate": None, "ci95": None, "reason": "Hidden: small numbers."}
    return out


def make_e_values_safe(block: dict[str, Any]) -> dict[str, Any]:
    """The ``e_values`` block under presentation-safe rules: its counts (``n``, ``n_adjusted``) suppressed below 5
    and rounded to 5, and an E-value resting on a group of fewer than 5 hidden with its reason."""
    import copy

    from analysis.disclosure import SUPPRESS_BELOW, safe_count

    out = copy.deepcopy(dict(block))
    for entry in out.values():
        if not isinstance(entry, dict):
            continue
        for counts_key, which in (("n", ("unadjusted", "adjusted")), ("n_adjusted", ("adjusted",))):
            counts = entry.get(counts_key)
            if not isinstance(counts, dict):
                continue
            if any(v is None or v < SUPPRESS_BELOW for v in counts.values()):
                for name in which:
                    entry[name] = {"estimate": None, "ci": None, "reason": "Hidden: small numbers."}
            entry[counts_key] = _counts_with_reason({g: safe_count(v) for g, v in counts.items() if g in GROUPS},
                                                    f"Hidden: fewer than {SUPPRESS_BELOW}.")
    return out


def _register_safe_blocks() -> None:
    """Declare this module's summary blocks to presentation-safe mode (:mod:`analysis.disclosure`)."""
    from analysis import disclosure

    register = getattr(disclosure, "register_safe_block", None)
    if register is not None:
        register("adjusted", make_adjusted_safe)
        register("e_values", make_e_values_safe)


def adjusted_text(summary: dict[str, Any]) -> list[str]:
    """Text-report lines for the ``adjusted`` and ``e_values`` keys."""
    block, evalues = summary.get("adjusted"), summary.get("e_values") or {}
    if not block:
        return []
    lines = ["", "Adjusted for who chose physical activity (" + str(block.get("estimand")) + "):"]
    if block.get("reason"):
        return lines + [f"  not available: {block['reason']}"]

    def ci(values: Any, scale: float = 1, decimals: int = 1) -> str:
        if not values:
            return "95% CI not available"
        return f"95% CI {values[0] * scale:.{decimals}f} to {values[1] * scale:.{decimals}f}"

    def num(value: Any, scale: float = 1, decimals: int = 1) -> str:
        return "not available" if value is None else f"{value * scale:.{decimals}f}"

    n, ess = block.get("n", {}), block.get("ess", {})
    lines.append("  Covariates: " + ", ".join(block.get("covariates", [])))
    lines.append("  People: " + "; ".join(f"{GROUP_LABELS[g]} {n.get(g) if n.get(g) is not None else 'fewer than 5'} "
                                          f"(effective sample size {num(ess.get(g))})" for g in GROUPS))
    after = [r for r in block.get("balance", []) if r.get("smd_after") is not None]
    worst = max((abs(r["smd_after"]) for r in after), default=None)
    lines.append(f"  Balance after weighting: largest |SMD| {num(worst, decimals=2)} (threshold {SMD_IMBALANCE:g})")
    for key, entry in block.get("rates", {}).items():
        d, rr = entry["difference"], entry.get("relative_risk", {})
        e = evalues.get(key, {}).get("adjusted", {})
        lines.append(f"  {RATE_DEFINITIONS[key].label}: {num(d['estimate'], 100)} points ({ci(d['ci95'], 100)}); "
                     f"relative risk {num(rr.get('estimate'), decimals=2)} ({ci(rr.get('ci95'), decimals=2)}); "
                     f"E-value {num(e.get('estimate'), decimals=2)} (CI {num(e.get('ci'), decimals=2)})")
    for key, entry in block.get("measures", {}).items():
        d = entry["difference"]
        e = evalues.get(key, {}).get("adjusted", {})
        lines.append(f"  {measure_for(key).label} last score: {num(d['estimate'], decimals=2)} "
                     f"({ci(d['ci95'], decimals=2)}); E-value {num(e.get('estimate'), decimals=2)} "
                     f"(CI {num(e.get('ci'), decimals=2)})")
    lines.append(f"  {block.get('role_reason', '')}")
    lines += [f"  note: {note}" for note in block.get("notes", [])]
    lines.append(f"  Method: {block.get('method')}; 95% CI: {block.get('ci_method')}"
                 + (f" ({block['n_resamples']:,} resamples, seed {block['seed']})" if block.get("n_resamples") else ""))
    lines.append("  Unadjusted E-values: " + "; ".join(
        f"{key} {num(v.get('unadjusted', {}).get('estimate'), decimals=2)}" for key, v in evalues.items()
        if isinstance(v, dict) and "unadjusted" in v))
    return lines


# --- words ---------------------------------------------------------------------------------------

CANNOT_FIX: Final = (
    "Characteristics that were not measured (motivation, fitness, support at home, how services offered "
    "physical activity) are not adjusted for: the E-value says how strong such a difference would have to be.",
    "Characteristics measured badly or coarsely (an age band rather than an age) are adjusted for only as "
    "recorded.",
    "Anything that happened after people chose (how many sessions they attended, dropping out) is not, and "
    "should not be, adjusted for; people who did not finish treatment are not in these figures.",
    "People with no comparable person in the other group (no overlap) can only be compared by extrapolation; "
    "trimming them changes who the answer is about.",
    "With few people the weights rest on a few individuals (see the effective sample size) and the intervals "
    "are wide: adjustment cannot add information the data do not hold.",
    "It is not a randomised trial: a well-balanced comparison is evidence, not proof, that physical activity "
    "caused the difference.",
)


def _covariate_phrase(covariates: tuple[str, ...]) -> str:
    names = [_label(c, "").replace(" first score", "") if c.endswith("_first") else _label(c, "").lower()
             for c in covariates]
    scores = [n for c, n in zip(covariates, names, strict=True) if c.endswith("_first")]
    others = [n for c, n in zip(covariates, names, strict=True) if not c.endswith("_first")]
    parts = []
    if scores:
        joined = ", ".join(scores[:-1]) + " and " + scores[-1] if len(scores) > 1 else scores[0]
        parts.append(joined + (" first scores" if len(scores) > 1 else " first score"))
    parts += others
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else (parts[0] if parts else "nothing")


def adjusted_verdict(adjustment: Adjustment, unadjusted_difference: float | None, outcome: str = "recovery") -> str:
    """One plain sentence: the adjusted difference in a rate beside the unadjusted one."""
    return verdict_from_summary(adjustment.to_dict(), unadjusted_difference, outcome)


def verdict_from_summary(block: dict[str, Any], unadjusted_difference: float | None, outcome: str = "recovery",
                         name_covariates: bool = True) -> str:
    """:func:`adjusted_verdict` from the summary's ``adjusted`` block (so a safe-mode block says "hidden");
    ``name_covariates=False`` leaves out the list of characteristics (a slide names them in a bullet)."""
    label = RATE_DEFINITIONS[outcome].label.lower() if outcome in RATE_DEFINITIONS else outcome
    if block.get("reason"):
        return f"The adjusted comparison is not available: {block['reason']}"
    entry = (block.get("rates") or {}).get(outcome)
    if entry is None:
        return f"The adjusted {label} comparison is not available."
    d = entry["difference"]
    if d["estimate"] is None:
        return f"The adjusted {label} comparison is not available: {d.get('reason') or 'not computable'}"
    estimate, ci = d["estimate"], tuple(d["ci95"]) if d.get("ci95") else None
    direction = "higher" if estimate > 0 else "lower"
    which = f" ({_covariate_phrase(tuple(block['covariates']))})" if name_covariates else ""
    text = (f"After adjusting for who chose physical activity{which}, "
            f"{label} was {fmt.points(abs(estimate))} points {direction} in the physical activity group "
            f"({fmt.ci(ci, 'points')})")
    if unadjusted_difference is not None:
        text += f", against {fmt.points(unadjusted_difference)} points before adjusting"
    if ci and ci[0] <= 0 <= ci[1]:
        text += "; the interval includes no difference"
    return text + "."


def methods_lines() -> list[str]:
    """The Methods page's account of the adjusted analysis, from this module's constants."""
    return [
        f"**Estimand**: {ESTIMANDS[ESTIMAND_ATT]}; overlap weights (Li, Morgan & Zaslavsky 2018) are an option, "
        "and trimming extreme propensity scores is done only when asked, saying that the estimand changed.",
        "**Propensity score**: logistic regression (statsmodels `Logit`) of choosing physical activity on the chosen "
        "baseline characteristics, among finishers with all of them present (complete cases; the excluded count is "
        f"shown). Category levels with fewer than {MIN_LEVEL_COUNT} people are pooled; a level found in one group "
        "only is left out with a note (for PA-only levels the estimand changes); perfect separation is reported, "
        "not fitted.",
        f"**Default characteristics**: {', '.join(DEFAULT_ORDER)} (those present), kept while the model has at "
        f"least {DEFAULT_PER_PARAMETER} people of the smaller group per parameter. With at least "
        f"{PRIMARY_PER_PARAMETER} per parameter (Peduzzi et al. 1996) the adjusted analysis is called primary, "
        "otherwise a sensitivity analysis, and the page says what size would make it primary.",
        "**Weights**: ATT, 1 for physical activity and ps/(1 − ps) for control; overlap, 1 − ps and ps; "
        "normalised within group. **Effective sample size** (Kish): (Σw)²/Σw² per group.",
        f"**Balance**: standardised mean difference of every characteristic (each category level) before and "
        f"after weighting, over the unweighted pooled SD; |SMD| above {SMD_IMBALANCE:g} is imbalance "
        "(Austin 2009).",
        f"**Adjusted effect**: {METHOD}. Rates: difference and relative risk; symptom measures: difference in the "
        "last score, with the measure's own first score always in its outcome model.",
        f"**95% CI**: {CI_METHODS['bootstrap']} ({BOOTSTRAP_RESAMPLES:,} resamples, seed {BOOTSTRAP_SEED}; no CI "
        f"when more than {BOOTSTRAP_MAX_FAILED:.0%} of resamples cannot be fitted); above {BOOTSTRAP_MAX_N:,} "
        f"people, {CI_METHODS['sandwich']}.",
        f"**{E_VALUE_METHOD}**, for every primary result, unadjusted and adjusted.",
        f"**Several sites**: {SITE_METHOD[0].upper() + SITE_METHOD[1:]}; site is chosen by default whenever the data "
        f"hold two or more sites. {SITE_CAVEAT}",
    ]


_register_safe_blocks()
