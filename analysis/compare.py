"""Group comparisons, physical activity (PA) minus control.

One function per question, each returning an :class:`~analysis.results.Estimate`
(estimate, 95% CI, test statistic, p, n and method together). Methods follow
``shared/design/outcomes-and-statistics.md`` ("Comparisons"); change = last − first,
so a negative change (and a negative difference in change) favours improvement.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Final

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats.contingency import odds_ratio as scipy_odds_ratio
from scipy.stats.contingency import relative_risk as scipy_relative_risk

from analysis import schema
from analysis.outcomes import (
    RATE_DEFINITIONS,
    MeasureRows,
    _text_values,
    group_positions,
    participant_outcomes,
    rate_counts,
    wilson_rate,
)
from analysis.results import Estimate, Rate, clean_ci, clean_float, with_reason
from analysis.schema import ADSMS, EPISODE_MEASURES, GROUP_CONTROL, GROUP_PA, GROUPS, Measure

PERMUTATION_RESAMPLES: Final = 9999
PERMUTATION_SEED: Final = 20240817
PERMUTATION_MAX_N: Final = 5000  # above this the t-based tests are accurate; the resampling is skipped
PERMUTATION_BATCH: Final = 1000  # resamples evaluated at a time (memory; see permutation_test)
EXACT_ODDS_RATIO_MAX_N: Final = 1000  # design doc: exact conditional CI up to 1,000 people
MANN_WHITNEY_EXACT_MAX_N: Final = 8  # a group this small (scipy's own exact limit): exact/permutation p, not normal
PERFECT_FIT_TOLERANCE: Final = 1e-10  # residual variance below this share of the outcome's variance: a perfect fit
SMD_IMBALANCE: Final = 0.1  # |SMD| above 0.1 is conventionally called imbalance (Austin 2009)

PERFECT_FIT_REASON: Final = (
    "The first score and group predict every last score exactly (residual variance below "
    f"{PERFECT_FIT_TOLERANCE:g} of the last score's variance), so there is no error left to test against: a p "
    "value here would be rounding noise.")

METHODS: Final = {
    "welch": "Welch's t test on change, Welch–Satterthwaite df, t-based 95% CI (Welch 1947)",
    "mann_whitney": "Mann–Whitney U test on change, two-sided; U is the PA group's (Mann & Whitney 1947)",
    "mann_whitney_exact": "Mann–Whitney U test on change, two-sided, p from the exact permutation distribution "
                          "of U (ties at small n); U is the PA group's (Mann & Whitney 1947)",
    "hedges_g": "Hedges' g: difference in mean change / pooled SD, small-sample corrected; "
                "normal-approximation 95% CI (Hedges & Olkin 1985)",
    "ancova": "ANCOVA: OLS of last score on group and first score, classical SEs (Vickers & Altman 2001)",
    "permutation": "Permutation test of the difference in mean change, two-sided, seeded (Good 2005)",
    "mcid": "Share reaching the minimal clinically important difference (a fall of at least the MCID), "
            "Wilson 95% CIs; difference with Newcombe's hybrid-score CI",
    "wilson": "Wilson score 95% interval (Wilson 1927)",
    "newcombe": "Difference in rates with Newcombe's hybrid-score 95% CI, method 10 (Newcombe 1998)",
    "fisher": "Fisher's exact test, two-sided (Fisher 1935)",
    "odds_ratio_exact": "Conditional maximum-likelihood odds ratio with exact 95% CI (Cornfield 1956)",
    "odds_ratio_woolf": "Sample odds ratio ad/bc with Woolf's log 95% CI (Woolf 1955); "
                        "used above 1,000 people, where the exact CI is too slow",
    "relative_risk": "Relative risk with Katz's log 95% CI (Katz et al. 1978)",
    "relative_risk_mover": "Relative risk with the MOVER-R 95% CI from each group's Wilson interval, used when a "
                           "rate is 0% or 100% (Zou & Donner 2008; Fagerland, Lydersen & Laake 2015)",
    "nnt": "Number needed to treat = 1 / rate difference; CI by inverting Newcombe's CI (Altman 1998)",
    "smd": "Standardised mean difference: (mean PA − mean control) / √((SD²PA + SD²control)/2); "
           "for a category level, the same with p(1−p) variances (Austin 2009)",
    "interaction": "Interaction test: F test of the group × subgroup terms in OLS of change on group, "
                   "subgroup and their product (continuous); likelihood-ratio test in logistic "
                   "regression (rates)",
}


# --- continuous outcomes ------------------------------------------------------


def measure_for(key: str) -> Measure:
    """The Measure for ``phq9``, ``gad7``, ``wsas`` or an ADSM code (``SPIN``, ...)."""
    if key in EPISODE_MEASURES:
        return EPISODE_MEASURES[key]
    if key in ADSMS:
        return ADSMS[key]
    raise KeyError(f"Unknown measure {key!r}")


def available_measures(episodes: pd.DataFrame, rows: MeasureRows | None = None) -> list[str]:
    """Measures with first/last scores in this data: PHQ-9, GAD-7, each ADSM used, WSAS.

    ``rows``: the data set's :class:`~analysis.outcomes.MeasureRows`, when the caller has them.
    """
    keys = ["phq9", "gad7"]
    if "adsm_measure" in episodes.columns and "adsm_first" in episodes.columns:
        if rows is not None:
            counts = np.bincount(rows.adsm[rows.adsm >= 0], minlength=len(ADSMS))
            used = {code for code, count in zip(ADSMS, counts, strict=True) if count}
        else:
            used = {str(code) for code in episodes["adsm_measure"].dropna().unique()}
        keys += [code for code in ADSMS if code in used]
    if "wsas_first" in episodes.columns and "wsas_last" in episodes.columns:
        keys.append("wsas")
    return keys


def comparable_measures(episodes: pd.DataFrame) -> list[str]:
    """The measures the groups can be compared on, for the outcome-measure control.

    Rule: PHQ-9 and GAD-7 always (the primary measures); then each other measure of
    :func:`available_measures` (each ADSM used, WSAS) only when both groups have at least
    :data:`~analysis.schema.MIN_COMPARABLE_PER_GROUP` finishers with its first and last scores.
    A measure with 1 person against 0 cannot be compared, so it is not offered.

    Examples
    --------
    >>> frame = pd.DataFrame({"participant_id": ["a", "b", "c", "d"], "group": ["physical_activity", "control"] * 2,
    ...     "phq9_first": [12, 14, 15, 11], "phq9_last": [6, 9, 8, 10], "gad7_first": [10, 9, 11, 12],
    ...     "gad7_last": [5, 8, 6, 9], "treatment_sessions": [6, 5, 7, 4], "adsm_measure": ["SPIN", None, None, None],
    ...     "adsm_first": [30, None, None, None], "adsm_last": [20, None, None, None]})
    >>> comparable_measures(frame)
    ['phq9', 'gad7']
    """
    flags = participant_outcomes(episodes)
    keys = available_measures(episodes)
    out = []
    for key in keys:
        if key in ("phq9", "gad7"):
            out.append(key)
            continue
        counts = measure_scores(episodes, key, flags)["group"].value_counts()
        if all(int(counts.get(group, 0)) >= schema.MIN_COMPARABLE_PER_GROUP for group in GROUPS):
            out.append(key)
    return out


def measure_scores(episodes: pd.DataFrame, measure: str, flags: pd.DataFrame | None = None) -> pd.DataFrame:
    """First, last and change of one measure for finishers with both scores.

    Returns columns ``participant_id, group, first, last, change`` (index as input).
    """
    flags = participant_outcomes(episodes) if flags is None else flags
    if measure in ADSMS and "adsm_measure" not in episodes.columns:
        return pd.DataFrame(columns=["participant_id", "group", "first", "last", "change"])
    return _scores_frame(episodes, measure, _measure_rows(episodes, measure, flags))


def _score_columns(episodes: pd.DataFrame, measure: str) -> tuple[np.ndarray, np.ndarray]:
    first_col, last_col = ("adsm_first", "adsm_last") if measure in ADSMS else (f"{measure}_first", f"{measure}_last")
    return (episodes[first_col].to_numpy(dtype="float64", na_value=np.nan),
            episodes[last_col].to_numpy(dtype="float64", na_value=np.nan))


def _measure_rows(episodes: pd.DataFrame, measure: str, flags: pd.DataFrame | MeasureRows) -> np.ndarray:
    """Row mask: finishers with both scores of ``measure`` (for an ADSM, only rows using that ADSM)."""
    finished = flags.finished if isinstance(flags, MeasureRows) else flags["finished"].to_numpy(dtype=bool)
    if measure in ADSMS:
        if "adsm_measure" not in episodes.columns:
            return np.zeros(len(episodes), dtype=bool)
        if isinstance(flags, MeasureRows):
            rows = flags.adsm == list(ADSMS).index(measure)
        else:
            rows = (episodes["adsm_measure"] == measure).fillna(False).to_numpy(dtype=bool)
    else:
        rows = np.ones(len(episodes), dtype=bool)
    first, last = _score_columns(episodes, measure)
    return rows & finished & ~np.isnan(first) & ~np.isnan(last)


def _scores_frame(episodes: pd.DataFrame, measure: str, keep: np.ndarray) -> pd.DataFrame:
    first, last = _score_columns(episodes, measure)
    return pd.DataFrame(
        {
            "participant_id": _text_values(episodes["participant_id"])[keep],
            "group": _text_values(episodes["group"])[keep],
            "first": first[keep],
            "last": last[keep],
            "change": np.round(last[keep] - first[keep], 9),
        },
        index=episodes.index[keep],
    )


@dataclass(frozen=True)
class GroupDescriptives:
    group: str
    n: int
    mean_first: float | None
    sd_first: float | None
    mean_last: float | None
    sd_last: float | None
    mean_change: float | None
    sd_change: float | None
    ci95_first: tuple[float, float] | None = None
    ci95_last: tuple[float, float] | None = None
    ci95_change: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        return with_reason({k: getattr(self, k) for k in ("n", "mean_first", "sd_first", "mean_last", "sd_last",
                                                          "mean_change", "sd_change")},
                           "No one in this group has both scores." if self.n == 0 else
                           "An SD needs at least 2 people with both scores.")


def _mean_sd_ci(values: np.ndarray) -> tuple[float | None, float | None, tuple[float, float] | None]:
    n = len(values)
    if n == 0:
        return None, None, None
    mean = float(np.mean(values))
    if n < 2:
        return mean, None, None
    sd = float(np.std(values, ddof=1))
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return mean, sd, (mean - half, mean + half)


def describe_group(scores: pd.DataFrame, group: str) -> GroupDescriptives:
    """n, mean and SD (n−1) of first, last and change, with t-based 95% CIs of the means."""
    rows = (scores["group"] == group).to_numpy(dtype=bool, na_value=False)  # copies only the numeric columns
    return _describe(group, *(scores[c].to_numpy(dtype="float64")[rows] for c in ("first", "last", "change")))


def _describe(group: str, first: np.ndarray, last: np.ndarray, change: np.ndarray) -> GroupDescriptives:
    mf, sf, cf = _mean_sd_ci(first)
    ml, sl, cl = _mean_sd_ci(last)
    mc, sc, cc = _mean_sd_ci(change)
    return GroupDescriptives(group, len(change), mf, sf, ml, sl, mc, sc, cf, cl, cc)


def _n(pa: np.ndarray, control: np.ndarray) -> dict[str, int]:
    return {GROUP_PA: int(len(pa)), GROUP_CONTROL: int(len(control))}


def _too_small(name: str, method: str, pa: np.ndarray, control: np.ndarray, minimum: int = 2) -> Estimate | None:
    if len(pa) < minimum or len(control) < minimum:
        return Estimate.unavailable(
            name, method,
            f"Needs at least {minimum} participant{'s' if minimum > 1 else ''} with both scores in each group "
            f"(physical activity {len(pa)}, control {len(control)}).",
            _n(pa, control))
    return None


def welch_test(pa_change: np.ndarray, control_change: np.ndarray) -> Estimate:
    """Difference in mean change (PA − control) by Welch's t test.

    ``scipy.stats.ttest_ind(pa, control, equal_var=False)``; the 95% CI is t-based with the
    Welch–Satterthwaite degrees of freedom.

    >>> e = welch_test(np.array([-6.0, -8, -4, -10]), np.array([-2.0, -3, -1, -4, 0]))
    >>> round(e.estimate, 2), round(e.df, 2)
    (-5.0, 4.75)
    """
    pa, control = np.asarray(pa_change, float), np.asarray(control_change, float)
    name = "Difference in mean change (PA − control)"
    if (small := _too_small(name, METHODS["welch"], pa, control)) is not None:
        return small
    if np.var(pa, ddof=1) == 0 and np.var(control, ddof=1) == 0:
        return Estimate.unavailable(name, METHODS["welch"], "Every change in both groups is identical "
                                    "(zero variance), so the t test is undefined.", _n(pa, control))
    result = stats.ttest_ind(pa, control, equal_var=False)
    ci = result.confidence_interval(0.95)
    return Estimate(
        name=name, estimate=float(pa.mean() - control.mean()), ci95=clean_ci(ci.low, ci.high),
        method=METHODS["welch"], statistic=clean_float(result.statistic), statistic_name="t",
        df=clean_float(result.df), p=clean_float(result.pvalue), n=_n(pa, control))


def mann_whitney(pa_change: np.ndarray, control_change: np.ndarray) -> Estimate:
    """Mann–Whitney U on change, two-sided; U is the PA sample's.

    scipy's defaults (exact without ties when a group has at most 8, else the normal approximation
    with tie and continuity corrections), except that with ties in a group of at most
    :data:`MANN_WHITNEY_EXACT_MAX_N` the p value comes from the permutation distribution of U
    (exact enumeration when there are at most 9,999 splits): the normal approximation is poor there.
    The method name says which.

    The estimate is the probability of superiority U / (n₁n₂): the chance that a random PA
    participant's change is larger (worse) than a random control's, ties counting half.
    """
    pa, control = np.asarray(pa_change, float), np.asarray(control_change, float)
    name = "Mann–Whitney U (PA sample)"
    if (small := _too_small(name, METHODS["mann_whitney"], pa, control, minimum=1)) is not None:
        return small
    method = METHODS["mann_whitney"]
    options: dict = {}
    if min(len(pa), len(control)) <= MANN_WHITNEY_EXACT_MAX_N and len(np.unique(np.concatenate([pa, control]))) < (
            len(pa) + len(control)):
        # Ties at pilot sizes: scipy's default falls back to the normal approximation (3 vs 3 completely
        # separated gives p = 0.047 where the exact distribution gives 0.1). The permutation distribution of
        # U is enumerated exactly when the splits are at most PERMUTATION_RESAMPLES, else sampled (seeded).
        splits = math.comb(len(pa) + len(control), len(pa))
        if splits <= PERMUTATION_RESAMPLES:
            u = float(stats.mannwhitneyu(pa, control, alternative="two-sided").statistic)
            return Estimate(name=name, estimate=u, method=METHODS["mann_whitney_exact"], statistic=u,
                            statistic_name="U", p=_exact_mann_whitney_p(pa, control), n=_n(pa, control),
                            extra={"probability_of_superiority": u / (len(pa) * len(control))})
        if min(len(pa), len(control)) >= 2:
            options["method"] = stats.PermutationMethod(n_resamples=PERMUTATION_RESAMPLES,
                                                        rng=np.random.default_rng(PERMUTATION_SEED))
            method = (METHODS["mann_whitney_exact"].replace("exact permutation distribution",
                                                            "permutation distribution")
                      + f"; {PERMUTATION_RESAMPLES:,} random splits, seed {PERMUTATION_SEED}")
    elif min(len(pa), len(control)) <= MANN_WHITNEY_EXACT_MAX_N:
        method = METHODS["mann_whitney_exact"].replace(" (ties at small n)", "")  # scipy's exact method, no ties
    # Each sample is sorted first. Speed only: U, the tie counts and p do not depend on the order within
    # a sample (the rank sum of half-integers is exact), so the result is bit-identical, and scipy's
    # stable argsort of the pooled data becomes a merge of two sorted runs.
    result = stats.mannwhitneyu(np.sort(pa), np.sort(control), alternative="two-sided", **options)
    u = float(result.statistic)
    return Estimate(name=name, estimate=u, method=method, statistic=u, statistic_name="U",
                    p=clean_float(result.pvalue), n=_n(pa, control),
                    extra={"probability_of_superiority": u / (len(pa) * len(control))})


def _exact_mann_whitney_p(pa: np.ndarray, control: np.ndarray) -> float:
    """Two-sided p of U from every split of the pooled (mid-ranked) data: the share of splits whose U is
    at least as far from n₁n₂/2 as the observed one (exact under ties; Mann & Whitney 1947)."""
    from itertools import combinations

    ranks = stats.rankdata(np.concatenate([pa, control]))
    n1 = len(pa)
    offset = n1 * (n1 + 1) / 2
    centre = n1 * len(control) / 2
    observed = abs(float(ranks[:n1].sum()) - offset - centre)
    chosen = np.fromiter((i for combo in combinations(range(len(ranks)), n1) for i in combo), dtype=np.int64)
    u = ranks[chosen.reshape(-1, n1)].sum(axis=1) - offset
    return float(np.mean(np.abs(u - centre) >= observed - 1e-9))


def hedges_g(pa_change: np.ndarray, control_change: np.ndarray) -> Estimate:
    """Hedges' g for the difference in mean change, with its approximate 95% CI.

    d = (mean₁ − mean₂) / pooled SD (n−1 weights); g = d·(1 − 3/(4(n₁+n₂) − 9));
    CI g ± 1.96·√((n₁+n₂)/(n₁n₂) + g²/(2(n₁+n₂))) (Hedges & Olkin 1985).
    """
    pa, control = np.asarray(pa_change, float), np.asarray(control_change, float)
    name = "Hedges' g (standardised difference in change)"
    if (small := _too_small(name, METHODS["hedges_g"], pa, control)) is not None:
        return small
    n1, n2 = len(pa), len(control)
    pooled = math.sqrt(((n1 - 1) * np.var(pa, ddof=1) + (n2 - 1) * np.var(control, ddof=1)) / (n1 + n2 - 2))
    if pooled == 0:
        return Estimate.unavailable(name, METHODS["hedges_g"], "The pooled SD is zero.", _n(pa, control))
    d = (pa.mean() - control.mean()) / pooled
    g = d * (1 - 3 / (4 * (n1 + n2) - 9))
    se = math.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2)))
    return Estimate(name=name, estimate=float(g), ci95=(float(g - 1.96 * se), float(g + 1.96 * se)),
                    method=METHODS["hedges_g"], n=_n(pa, control), extra={"cohens_d": float(d),
                                                                          "pooled_sd": pooled})


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ aᵢbᵢ in this thread (``einsum``, not BLAS).

    Speed only: OpenBLAS runs a long dot product on every core and its threads then spin, taking the
    CPUs the other measures' worker threads need (about 0.7 s of CPU for eight measures at 10⁶ rows).
    """
    return float(np.einsum("i,i->", a, b))


def ancova(first: np.ndarray, last: np.ndarray, is_pa: np.ndarray) -> Estimate:
    """ANCOVA: OLS ``last ~ pa + first`` with classical SEs; the ``pa`` coefficient.

    Solved by the normal equations with the first score centred at its mean (the same fit as
    ``statsmodels`` OLS, to rounding error, at a few passes over the data instead of an SVD of
    the n × 3 design): the ``pa`` coefficient and the slope do not depend on the centring, and
    the centred intercept is the control group's adjusted mean. t-based 95% CI and p on
    n − 3 df. ``extra`` carries the adjusted (least-squares) mean last score per group at the
    overall mean first score.

    A fit with no residual error (residual variance below :data:`PERFECT_FIT_TOLERANCE` of the last
    score's variance, e.g. identical change scores) has no test: None with that reason, not a p value
    made of rounding noise.

    >>> e = ancova(np.array([10., 12, 14, 10, 12, 14]), np.array([5., 8, 9, 8, 10, 12]),
    ...            np.array([1, 1, 1, 0, 0, 0]))
    >>> round(e.estimate, 6)
    -2.666667
    """
    first = np.asarray(first, float)
    last = np.asarray(last, float)
    is_pa = np.asarray(is_pa, float)
    name = "Adjusted difference in last score (PA − control)"
    n_pa = int(is_pa.sum())
    n = {GROUP_PA: n_pa, GROUP_CONTROL: int(len(is_pa) - n_pa)}
    if min(n.values()) < 2 or len(first) < 4:
        return Estimate.unavailable(name, METHODS["ancova"], "Needs at least 2 participants with both "
                                    f"scores in each group (physical activity {n[GROUP_PA]}, control "
                                    f"{n[GROUP_CONTROL]}).", n)
    mean_first = float(first.mean())
    centred = first - mean_first
    ss_first = _dot(centred, centred)
    # The covariate must vary within the groups, or it is collinear with the group (rank < 3).
    pa_mask = is_pa == 1
    sum_pa_centred = float(centred[pa_mask].sum())
    sum_centred = float(centred.sum())  # zero up to rounding
    within = (ss_first - sum_pa_centred ** 2 / n_pa
              - (sum_centred - sum_pa_centred) ** 2 / n[GROUP_CONTROL])  # within-group sum of squares
    if ss_first == 0 or within <= 1e-10 * ss_first:
        reason = ("Every first score is the same, so the adjustment is undefined." if ss_first == 0 else
                  "The first score is the same within each group, so the adjustment is undefined.")
        return Estimate.unavailable(name, METHODS["ancova"], reason, n)
    total = float(len(first))
    xtx = np.array([[total, n_pa, sum_centred],
                    [n_pa, n_pa, sum_pa_centred],
                    [sum_centred, sum_pa_centred, ss_first]])
    xty = np.array([float(last.sum()), float(last[pa_mask].sum()), _dot(centred, last)])
    inverse = np.linalg.inv(xtx)
    params = inverse @ xty
    residual = last - params[0] - params[1] * is_pa - params[2] * centred
    df = total - 3
    sigma2 = _dot(residual, residual) / df
    outcome_ss = _dot(last - last.mean(), last - last.mean())
    if sigma2 * df <= PERFECT_FIT_TOLERANCE * outcome_ss or outcome_ss == 0:
        return Estimate.unavailable(name, METHODS["ancova"], PERFECT_FIT_REASON, n)
    se = math.sqrt(sigma2 * inverse[1, 1])
    if not np.isfinite(se) or se == 0:
        return Estimate.unavailable(name, METHODS["ancova"], "Too few participants to estimate the model.", n)
    t_value = float(params[1]) / se
    half = stats.t.ppf(0.975, df) * se
    adjusted = {GROUP_PA: float(params[0] + params[1]), GROUP_CONTROL: float(params[0])}
    return Estimate(name=name, estimate=float(params[1]), ci95=clean_ci(params[1] - half, params[1] + half),
                    method=METHODS["ancova"], statistic=clean_float(t_value), statistic_name="t", df=df,
                    p=clean_float(2 * stats.t.sf(abs(t_value), df)), n=n,
                    extra={"adjusted_mean_last": adjusted, "first_score_slope": float(params[2]),
                           "mean_first": mean_first})


def permutation_test(pa_change: np.ndarray, control_change: np.ndarray,
                     n_resamples: int = PERMUTATION_RESAMPLES, seed: int = PERMUTATION_SEED) -> Estimate:
    """Two-sided permutation test of the difference in mean change (seeded, reproducible).

    ``scipy.stats.permutation_test`` with ``permutation_type="independent"``. Skipped above
    5,000 participants, where Welch's test is accurate and resampling only costs time.
    """
    pa, control = np.asarray(pa_change, float), np.asarray(control_change, float)
    name = "Difference in mean change, permutation test"
    method = f"{METHODS['permutation']}; {n_resamples:,} resamples, seed {seed}"
    if (small := _too_small(name, method, pa, control)) is not None:
        return small
    if len(pa) + len(control) > PERMUTATION_MAX_N:
        return Estimate(name=name, estimate=float(pa.mean() - control.mean()), method=method, n=_n(pa, control),
                        reason=f"Not run above {PERMUTATION_MAX_N:,} participants: the sample is large enough "
                               "for Welch's test, which it would only confirm.")
    # batch: resamples are evaluated PERMUTATION_BATCH at a time. Speed and memory only: scipy draws the
    # same permutations from the seeded generator either way, so the result is bit-identical, but all
    # 9,999 at once need a 9,999 × n array (1.2 GB at n = 4,900; 160 MB in batches).
    result = stats.permutation_test(
        (pa, control), lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
        permutation_type="independent", vectorized=True, n_resamples=n_resamples,
        alternative="two-sided", rng=np.random.default_rng(seed), batch=PERMUTATION_BATCH)
    return Estimate(name=name, estimate=float(result.statistic), method=method, statistic=float(result.statistic),
                    statistic_name="difference", p=clean_float(result.pvalue), n=_n(pa, control),
                    extra={"n_resamples": n_resamples, "seed": seed})


# --- rates ---------------------------------------------------------------------


def rate_difference(count_pa: int, n_pa: int, count_control: int, n_control: int) -> Estimate:
    """PA rate − control rate with Newcombe's hybrid-score 95% CI (method 10).

    >>> e = rate_difference(56, 70, 48, 80)
    >>> round(e.estimate, 3), tuple(round(x, 4) for x in e.ci95)
    (0.2, (0.0524, 0.3339))
    """
    from statsmodels.stats.proportion import confint_proportions_2indep

    name = "Difference in rates (PA − control)"
    n = {GROUP_PA: n_pa, GROUP_CONTROL: n_control}
    if n_pa == 0 or n_control == 0:
        return Estimate.unavailable(name, METHODS["newcombe"], "A group has no one in the denominator.", n)
    lo, hi = confint_proportions_2indep(count_pa, n_pa, count_control, n_control, method="newcomb",
                                        compare="diff")
    return Estimate(name=name, estimate=count_pa / n_pa - count_control / n_control, ci95=clean_ci(lo, hi),
                    method=METHODS["newcombe"], n=n)


def fisher_test(count_pa: int, n_pa: int, count_control: int, n_control: int) -> Estimate:
    """Fisher's exact test, two-sided, of the 2×2 table [[a, b], [c, d]] (PA first)."""
    name = "Fisher's exact test"
    n = {GROUP_PA: n_pa, GROUP_CONTROL: n_control}
    if n_pa == 0 or n_control == 0:
        return Estimate.unavailable(name, METHODS["fisher"], "A group has no one in the denominator.", n)
    table = [[count_pa, n_pa - count_pa], [count_control, n_control - count_control]]
    result = stats.fisher_exact(table, alternative="two-sided")
    return Estimate(name=name, estimate=clean_float(result.pvalue), method=METHODS["fisher"],
                    p=clean_float(result.pvalue), n=n)


def odds_ratio(count_pa: int, n_pa: int, count_control: int, n_control: int) -> Estimate:
    """Odds ratio (PA vs control) with 95% CI.

    Up to 1,000 people: conditional MLE with exact CI
    (``scipy.stats.contingency.odds_ratio(kind="conditional")``), as R's ``fisher.test``: a zero cell
    gives the estimate 0 with its finite exact upper bound (e.g. 0, 95% CI 0 to 3.18 for
    [[0, 5], [3, 4]]); an infinite estimate (or one a table with no information cannot give) is None
    with the reason. Above 1,000: sample OR ad/bc with Woolf's CI, None when a cell is zero.
    """
    name = "Odds ratio (PA vs control)"
    n = {GROUP_PA: n_pa, GROUP_CONTROL: n_control}
    a, b, c, d = count_pa, n_pa - count_pa, count_control, n_control - count_control
    exact = n_pa + n_control <= EXACT_ODDS_RATIO_MAX_N
    method = METHODS["odds_ratio_exact" if exact else "odds_ratio_woolf"]
    if n_pa == 0 or n_control == 0:
        return Estimate.unavailable(name, method, "A group has no one in the denominator.", n)
    if exact:
        if (a + c == 0) or (b + d == 0):
            return Estimate.unavailable(name, method, "No one (or everyone) in both groups has the outcome, so "
                                        "the table holds no information on the odds ratio.", n)
        result = scipy_odds_ratio([[a, b], [c, d]], kind="conditional")
        ci = result.confidence_interval(0.95)
        estimate = clean_float(result.statistic)
        if estimate is None:
            return Estimate.unavailable(name, method, "A cell of the 2×2 table is zero and the conditional "
                                        "estimate is infinite" + (f" (exact 95% CI from {clean_float(ci.low):.3g} "
                                        "to infinity)" if clean_float(ci.low) is not None else "") + ".", n)
        return Estimate(name=name, estimate=estimate, ci95=clean_ci(ci.low, ci.high), method=method, n=n)
    if min(a, b, c, d) == 0:
        return Estimate.unavailable(name, method, "A cell of the 2×2 table is zero, so the sample odds ratio "
                                    "is not finite.", n)
    estimate = (a * d) / (b * c)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    interval = (math.exp(math.log(estimate) - 1.96 * se), math.exp(math.log(estimate) + 1.96 * se))
    return Estimate(name=name, estimate=estimate, ci95=interval, method=method, n=n)


def _mover_ratio_ci(count_pa: int, n_pa: int, count_control: int, n_control: int) -> tuple[float, float] | None:
    """MOVER-R 95% CI of p₁/p₂ from the Wilson intervals (l, u) of each rate (Zou & Donner 2008).

    L = (p₁p₂ − √((p₁p₂)² − l₁u₂(2p₁ − l₁)(2p₂ − u₂))) / (u₂(2p₂ − u₂)),
    U = (p₁p₂ + √((p₁p₂)² − u₁l₂(2p₁ − u₁)(2p₂ − l₂))) / (l₂(2p₂ − l₂)); None when p₂ = 0.
    It stays inside the possible values at 0% and 100% (1 of 1 has a Wilson interval 21% to 100%).
    """
    from statsmodels.stats.proportion import proportion_confint

    if count_control == 0:
        return None
    p1, p2 = count_pa / n_pa, count_control / n_control
    l1, u1 = (float(v) for v in proportion_confint(count_pa, n_pa, method="wilson"))
    l2, u2 = (float(v) for v in proportion_confint(count_control, n_control, method="wilson"))
    low = (p1 * p2 - math.sqrt(max((p1 * p2) ** 2 - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2), 0.0))) / (
        u2 * (2 * p2 - u2))
    high = (p1 * p2 + math.sqrt(max((p1 * p2) ** 2 - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2), 0.0))) / (
        l2 * (2 * p2 - l2))
    return clean_ci(low if low > 0 else 0.0, high)  # never −0.0


def relative_risk(count_pa: int, n_pa: int, count_control: int, n_control: int) -> Estimate:
    """Relative risk (PA rate / control rate) with a 95% CI.

    Katz's log CI (``scipy.stats.contingency.relative_risk``) when both rates are strictly between 0%
    and 100%; when either is 0% or 100% (where Katz's interval collapses to a point, e.g. 1.00 to 1.00
    at 100% vs 100%, or ignores the uncertainty of 1 of 1), the MOVER-R interval built from the two
    Wilson intervals (:func:`_mover_ratio_ci`). None with the reason when the control rate is 0%
    (the ratio is infinite or undefined).
    """
    name = "Relative risk (PA / control)"
    n = {GROUP_PA: n_pa, GROUP_CONTROL: n_control}
    if n_pa == 0 or n_control == 0:
        return Estimate.unavailable(name, METHODS["relative_risk"], "A group has no one in the denominator, so "
                                    "there is no relative risk.", n)
    if count_control == 0:
        return Estimate.unavailable(name, METHODS["relative_risk_mover"], "No one in the control group has the "
                                    "outcome, so the relative risk is infinite or undefined.", n)
    if 0 < count_pa < n_pa and count_control < n_control:
        result = scipy_relative_risk(count_pa, n_pa, count_control, n_control)
        ci = result.confidence_interval(0.95)
        return Estimate(name=name, estimate=clean_float(result.relative_risk), ci95=clean_ci(ci.low, ci.high),
                        method=METHODS["relative_risk"], n=n)
    return Estimate(name=name, estimate=(count_pa / n_pa) / (count_control / n_control),
                    ci95=_mover_ratio_ci(count_pa, n_pa, count_control, n_control),
                    method=METHODS["relative_risk_mover"], n=n)


def number_needed_to_treat(difference: Estimate) -> Estimate:
    """NNT = 1 / rate difference (Altman 1998).

    When the difference's CI excludes zero the CI is (1/upper, 1/lower). When it includes
    zero the CI runs through infinity: ``ci95`` is None and ``extra["ci_text"]`` states the
    two parts (e.g. "NNT (benefit) 1.9 to ∞ to NNT (harm) 16.6").
    """
    name = "Number needed to treat (1 / rate difference)"
    method = METHODS["nnt"]
    if difference.estimate is None:
        return Estimate.unavailable(name, method, difference.reason or "No rate difference.", difference.n)
    if difference.estimate == 0:
        return Estimate.unavailable(name, method, "The rates are equal, so the NNT is infinite.", difference.n)
    estimate = 1 / difference.estimate
    ci, ci_text = None, None
    if difference.ci95 is not None:
        lo, hi = difference.ci95
        if lo > 0 or hi < 0:
            ci = (min(1 / lo, 1 / hi), max(1 / lo, 1 / hi))
        else:
            parts = []
            if hi > 0:
                parts.append(f"{1 / hi:.1f} more to ∞ (PA higher)")
            if lo < 0:
                parts.append(f"∞ to {1 / -lo:.1f} (control higher)")
            ci_text = "The 95% CI runs through infinity: " + "; ".join(parts)
    return Estimate(name=name, estimate=estimate, ci95=ci, method=method, n=difference.n,
                    reason=ci_text, extra={"ci_text": ci_text} if ci_text else {})


@dataclass(frozen=True)
class RateComparison:
    """One outcome rate compared between groups."""

    rate: str
    groups: dict[str, Rate]
    difference: Estimate
    fisher: Estimate
    odds_ratio: Estimate
    relative_risk: Estimate
    nnt: Estimate

    def to_dict(self) -> dict:
        out: dict = {group: self.groups[group].to_dict() for group in GROUPS}
        out["difference"] = _estimate_block(self.difference, "estimate", ci=True)
        out["odds_ratio"] = with_reason({"estimate": self.odds_ratio.estimate, "ci95": _list(self.odds_ratio.ci95),
                                         "method": self.odds_ratio.method}, self.odds_ratio.reason)
        out["fisher_p"] = self.fisher.p
        out["relative_risk"] = _estimate_block(self.relative_risk, "estimate", ci=True,
                                               method=self.relative_risk.method)
        nnt = self.nnt
        out["nnt"] = with_reason({"estimate": nnt.estimate, "ci95": _list(nnt.ci95), "note": nnt.reason},
                                 nnt.reason if nnt.estimate is None else
                                 "The 95% CI of the rate difference includes zero, so the NNT's CI runs "
                                 "through infinity (see note).")
        return with_reason(out, self.fisher.reason and f"Fisher's exact test: {self.fisher.reason}")


def _list(ci: tuple[float, float] | None) -> list[float] | None:
    return list(ci) if ci is not None else None


def _estimate_block(e: Estimate, key: str, ci: bool = False, **extra) -> dict:
    """``{key: estimate, "ci95": [...], **extra}`` with the estimate's reason beside a null figure."""
    block = {key: e.estimate}
    if ci:
        block["ci95"] = _list(e.ci95)
    block.update(extra)
    return with_reason(block, e.reason or ("The 95% CI is not available." if e.estimate is not None else None))


def compare_counts(rate: str, count_pa: int, n_pa: int, count_control: int, n_control: int) -> RateComparison:
    """Every rate comparison from the four counts."""
    difference = rate_difference(count_pa, n_pa, count_control, n_control)
    return RateComparison(
        rate=rate,
        groups={GROUP_PA: wilson_rate(count_pa, n_pa, GROUP_PA),
                GROUP_CONTROL: wilson_rate(count_control, n_control, GROUP_CONTROL)},
        difference=difference,
        fisher=fisher_test(count_pa, n_pa, count_control, n_control),
        odds_ratio=odds_ratio(count_pa, n_pa, count_control, n_control),
        relative_risk=relative_risk(count_pa, n_pa, count_control, n_control),
        nnt=number_needed_to_treat(difference),
    )


def compare_rate(flags: pd.DataFrame, rate: str, positions: np.ndarray | None = None) -> RateComparison:
    """Compare one of the four NHS Talking Therapies rates between the groups (``positions``: see
    :func:`~analysis.outcomes.rate_counts`)."""
    counts = rate_counts(flags, rate, positions)
    (a, n1), (c, n2) = counts[GROUP_PA], counts[GROUP_CONTROL]
    return compare_counts(rate, a, n1, c, n2)


def compare_rates(flags: pd.DataFrame, positions: np.ndarray | None = None) -> dict[str, RateComparison]:
    """The four rates compared (``positions``: :func:`~analysis.outcomes.group_positions` of ``flags``,
    or :attr:`~analysis.outcomes.MeasureRows.group`, when the caller has them)."""
    positions = group_positions(flags) if positions is None else positions
    return {rate: compare_rate(flags, rate, positions) for rate in RATE_DEFINITIONS}


# --- one measure, every analysis ----------------------------------------------


@dataclass(frozen=True)
class MeasureComparison:
    """Every continuous analysis of one measure. ANCOVA is primary; the rest are sensitivity."""

    measure: str
    label: str
    descriptives: dict[str, GroupDescriptives]
    ancova: Estimate
    welch: Estimate
    mann_whitney: Estimate
    hedges_g: Estimate
    permutation: Estimate
    mcid: RateComparison | None = None
    # The per-participant scores (participant_id, group, first, last, change) are built when first
    # asked for: the statistics above need only the numbers, and most callers (the CLI) never ask.
    build_scores: Callable[[], pd.DataFrame] | None = field(default=None, repr=False, compare=False)

    @cached_property
    def scores(self) -> pd.DataFrame:
        """Finishers with both scores: ``participant_id, group, first, last, change``."""
        if self.build_scores is None:
            return pd.DataFrame(columns=["participant_id", "group", "first", "last", "change"])
        return self.build_scores()

    def to_dict(self) -> dict:
        out: dict = {group: self.descriptives[group].to_dict() for group in GROUPS}
        w = self.welch
        out["welch"] = _estimate_block(w, "difference", ci=True, t=w.statistic, df=w.df, p=w.p)
        mw = self.mann_whitney
        out["mann_whitney"] = with_reason({"u": mw.statistic, "p": mw.p}, mw.reason)
        out["hedges_g"] = _estimate_block(self.hedges_g, "estimate", ci=True)
        a = self.ancova
        out["ancova"] = _estimate_block(a, "difference", ci=True, p=a.p,
                                        adjusted_mean_last=a.extra.get("adjusted_mean_last"))
        p = self.permutation
        out["permutation"] = with_reason({"difference": p.estimate, "p": p.p,
                                          "n_resamples": p.extra.get("n_resamples"), "seed": p.extra.get("seed"),
                                          "note": p.reason}, p.reason)
        if self.mcid is not None:
            out["mcid"] = with_reason({"threshold": measure_for(self.measure).mcid,
                                       **{g: self.mcid.groups[g].to_dict() for g in GROUPS},
                                       "difference": _estimate_block(self.mcid.difference, "estimate", ci=True),
                                       "fisher_p": self.mcid.fisher.p},
                                      self.mcid.fisher.reason and f"Fisher's exact test: {self.mcid.fisher.reason}")
        return out

    def table(self) -> pd.DataFrame:
        """The comparison table: primary analysis first, then the sensitivity analyses."""
        rows = [("Primary", self.ancova), ("Sensitivity", self.welch), ("Sensitivity", self.mann_whitney),
                ("Sensitivity", self.hedges_g), ("Sensitivity", self.permutation)]
        return pd.DataFrame([{
            "role": role, "analysis": e.name, "estimate": e.estimate,
            "ci_low": e.ci95[0] if e.ci95 else None, "ci_high": e.ci95[1] if e.ci95 else None,
            "statistic": e.statistic, "statistic_name": e.statistic_name, "df": e.df, "p": e.p,
            "method": e.method, "note": e.reason} for role, e in rows])


def compare_measure(episodes: pd.DataFrame, measure: str, flags: pd.DataFrame | MeasureRows | None = None,
                    n_resamples: int = PERMUTATION_RESAMPLES, seed: int = PERMUTATION_SEED) -> MeasureComparison:
    """Every continuous comparison of one measure, finishers with both scores.

    ``flags`` is the data set's :func:`~analysis.outcomes.participant_outcomes` (only its ``finished``
    column is used) or its :class:`MeasureRows`, which comparing many measures shares (built here when None).
    """
    info = measure_for(measure)
    rows = MeasureRows.of(episodes) if flags is None else flags
    keep = _measure_rows(episodes, measure, rows)
    first, last = (values[keep] for values in _score_columns(episodes, measure))
    change = np.round(last - first, 9)
    is_pa_all = (rows.is_pa if isinstance(rows, MeasureRows)
                 else (episodes["group"] == GROUP_PA).to_numpy(dtype=bool, na_value=False))
    is_pa = is_pa_all[keep]
    pa = change[is_pa]
    control = change[~is_pa]
    mcid = None
    if info.mcid is not None:
        reached = change <= -info.mcid
        mcid = compare_counts(f"{measure}_mcid", int(reached[is_pa].sum()), len(pa), int(reached[~is_pa].sum()),
                              len(control))
    return MeasureComparison(
        measure=measure, label=info.label,
        descriptives={GROUP_PA: _describe(GROUP_PA, first[is_pa], last[is_pa], pa),
                      GROUP_CONTROL: _describe(GROUP_CONTROL, first[~is_pa], last[~is_pa], control)},
        ancova=ancova(first, last, is_pa.astype(float)),
        welch=welch_test(pa, control), mann_whitney=mann_whitney(pa, control), hedges_g=hedges_g(pa, control),
        permutation=permutation_test(pa, control, n_resamples, seed), mcid=mcid,
        build_scores=partial(_scores_frame, episodes, measure, keep))


# --- baseline balance -----------------------------------------------------------


def standardised_mean_difference(pa: np.ndarray, control: np.ndarray) -> float | None:
    """(mean PA − mean control) / √((SD²PA + SD²control)/2) (Austin 2009)."""
    pa, control = np.asarray(pa, float), np.asarray(control, float)
    if len(pa) < 2 or len(control) < 2:
        return None
    denominator = math.sqrt((np.var(pa, ddof=1) + np.var(control, ddof=1)) / 2)
    if denominator == 0:
        return 0.0 if pa.mean() == control.mean() else None
    return float((pa.mean() - control.mean()) / denominator)


def proportion_smd(p_pa: float, p_control: float) -> float | None:
    """SMD for a binary characteristic: (p₁ − p₂) / √((p₁(1−p₁) + p₂(1−p₂))/2)."""
    denominator = math.sqrt((p_pa * (1 - p_pa) + p_control * (1 - p_control)) / 2)
    if denominator == 0:
        return 0.0 if p_pa == p_control else None
    return (p_pa - p_control) / denominator


def text_columns(episodes: pd.DataFrame) -> list[str]:
    """The columns :func:`categorical_columns` looks at: text columns that are not ids, groups or scores."""
    skip = {"participant_id", "group", "adsm_measure"}
    return [column for column in episodes.columns
            if not (column in skip or column.endswith(("_first", "_last"))
                    or column in {"treatment_sessions", "pa_sessions"})
            and not pd.api.types.is_numeric_dtype(episodes[column])]


def categorical_columns(episodes: pd.DataFrame, max_levels: int = 12,
                        count_levels: Callable[[str], int] | None = None) -> list[str]:
    """Columns usable as subgroups: text columns (not ids) with 2..max_levels values (``count_levels``: a
    column's number of distinct values when already known; by default ``dropna().nunique()``)."""
    out = []
    for column in text_columns(episodes):
        levels = count_levels(column) if count_levels is not None else episodes[column].dropna().nunique()
        if 2 <= levels <= (max(max_levels, schema.SITE_MAX_LEVELS) if column == schema.SITE_COLUMN
                           else max_levels):
            out.append(column)
    return out


def baseline_balance(episodes: pd.DataFrame, flags: pd.DataFrame | None = None) -> pd.DataFrame:
    """Baseline balance among finishers: SMD of each first score and of each category level.

    Columns: ``variable, level, physical_activity, control, smd, imbalanced`` where the
    group columns hold the mean first score (continuous) or the share (category level).
    |SMD| > 0.1 is flagged as imbalance.
    """
    flags = participant_outcomes(episodes) if flags is None else flags
    finishers = episodes[flags["finished"].to_numpy(dtype=bool)]
    is_pa = (finishers["group"] == GROUP_PA).to_numpy()
    rows = []
    for column in [c for c in finishers.columns if c.endswith("_first")] + [
            c for c in ("treatment_sessions",) if c in finishers.columns]:
        if column == "adsm_first":
            continue  # different scales per ADSM: not comparable in one SMD
        values = finishers[column].to_numpy(dtype="float64", na_value=np.nan)
        pa, control = values[is_pa], values[~is_pa]
        pa, control = pa[~np.isnan(pa)], control[~np.isnan(control)]
        rows.append({"variable": column, "level": "mean",
                     GROUP_PA: float(pa.mean()) if len(pa) else None,
                     GROUP_CONTROL: float(control.mean()) if len(control) else None,
                     "smd": standardised_mean_difference(pa, control)})
    for column in categorical_columns(finishers):
        values = finishers[column].astype("object").where(finishers[column].notna(), "(blank)")
        for level in sorted(values.unique(), key=str):
            hit = (values == level).to_numpy()
            p1 = float(hit[is_pa].mean()) if is_pa.any() else None
            p2 = float(hit[~is_pa].mean()) if (~is_pa).any() else None
            smd = proportion_smd(p1, p2) if p1 is not None and p2 is not None else None
            rows.append({"variable": column, "level": str(level), GROUP_PA: p1, GROUP_CONTROL: p2, "smd": smd})
    table = pd.DataFrame(rows, columns=["variable", "level", GROUP_PA, GROUP_CONTROL, "smd"])
    for column in (GROUP_PA, GROUP_CONTROL, "smd"):  # None (a group with no one) -> NaN
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("float64")
    table["imbalanced"] = table["smd"].abs() > SMD_IMBALANCE
    return table


# --- subgroups ------------------------------------------------------------------


@dataclass(frozen=True)
class SubgroupResult:
    """A difference between groups within each level of a subgroup, and the interaction test."""

    column: str
    outcome: str
    table: pd.DataFrame  # level, n_pa, n_control, estimate, ci_low, ci_high, method, note
    interaction: Estimate
    caution: str


SUBGROUP_CAUTION: Final = (
    "Subgroup results are exploratory. Each subgroup is smaller than the whole pilot, so its "
    "interval is wide and chance differences between subgroups are expected; judge a subgroup "
    "effect by the interaction test, not by one subgroup's p value, and do not act on a "
    "subgroup with fewer than 10 people per group."
)


def subgroup_analysis(episodes: pd.DataFrame, column: str, outcome: str,
                      flags: pd.DataFrame | None = None) -> SubgroupResult:
    """Difference PA − control within each level of ``column``.

    ``outcome`` is a rate key (``recovery``, ...: difference in rates, Newcombe CI) or a
    measure key (``phq9``, ...: difference in mean change, Welch CI). The interaction
    test asks whether the difference varies across levels.
    """
    flags = participant_outcomes(episodes) if flags is None else flags
    data = flags.copy()
    data["level"] = episodes[column].astype("object").where(episodes[column].notna(), "(blank)").astype(str)
    rows = []
    if outcome in RATE_DEFINITIONS:
        definition = RATE_DEFINITIONS[outcome]
        data = data[data[definition.denominator_column].to_numpy(dtype=bool)]
        data["y"] = data[definition.numerator_column].astype(float)
        for level, sub in data.groupby("level", sort=True):
            pa, control = sub[sub["group"] == GROUP_PA], sub[sub["group"] == GROUP_CONTROL]
            diff = rate_difference(int(pa["y"].sum()), len(pa), int(control["y"].sum()), len(control))
            rows.append(_subgroup_row(level, len(pa), len(control), diff))
        interaction = _logistic_interaction(data)
    else:
        scores = measure_scores(episodes, outcome, flags)
        data = data.loc[scores.index].assign(y=scores["change"])
        for level, sub in data.groupby("level", sort=True):
            pa = sub.loc[sub["group"] == GROUP_PA, "y"].to_numpy()
            control = sub.loc[sub["group"] == GROUP_CONTROL, "y"].to_numpy()
            rows.append(_subgroup_row(level, len(pa), len(control), welch_test(pa, control)))
        interaction = _ols_interaction(data)
    return SubgroupResult(column=column, outcome=outcome, table=pd.DataFrame(rows), interaction=interaction,
                          caution=SUBGROUP_CAUTION)


def _subgroup_row(level: str, n_pa: int, n_control: int, diff: Estimate) -> dict:
    return {"level": level, "n_pa": n_pa, "n_control": n_control, "estimate": diff.estimate,
            "ci_low": diff.ci95[0] if diff.ci95 else None, "ci_high": diff.ci95[1] if diff.ci95 else None,
            "method": diff.method, "note": diff.reason}


def _design(data: pd.DataFrame, interaction: bool) -> np.ndarray:
    pa = (data["group"] == GROUP_PA).to_numpy(dtype=float)
    levels = sorted(data["level"].unique())
    dummies = [(data["level"] == lev).to_numpy(dtype=float) for lev in levels[1:]]
    columns = [np.ones(len(data)), pa, *dummies]
    if interaction:
        columns += [pa * d for d in dummies]
    return np.column_stack(columns)


def _ols_interaction(data: pd.DataFrame) -> Estimate:
    from statsmodels.regression.linear_model import OLS

    name = "Group × subgroup interaction"
    method = METHODS["interaction"]
    levels = data["level"].nunique()
    if levels < 2:
        return Estimate.unavailable(name, method, "Only one subgroup level has data.")
    y = data["y"].to_numpy(dtype=float)
    full, reduced = _design(data, True), _design(data, False)
    if len(y) <= full.shape[1] or np.linalg.matrix_rank(full) < full.shape[1]:
        return Estimate.unavailable(name, method, "Some subgroup levels lack participants in one of the "
                                    "groups, so the interaction cannot be estimated.")
    fit_full, fit_reduced = OLS(y, full).fit(), OLS(y, reduced).fit()
    f, p, df_diff = fit_full.compare_f_test(fit_reduced)
    return Estimate(name=name, estimate=clean_float(f), method=method + " — F test", statistic=clean_float(f),
                    statistic_name="F", df=float(df_diff), p=clean_float(p))


def _logistic_interaction(data: pd.DataFrame) -> Estimate:
    import warnings

    from statsmodels.discrete.discrete_model import Logit

    name = "Group × subgroup interaction"
    method = METHODS["interaction"] + " — likelihood-ratio test"
    if data["level"].nunique() < 2:
        return Estimate.unavailable(name, method, "Only one subgroup level has data.")
    y = data["y"].to_numpy(dtype=float)
    full, reduced = _design(data, True), _design(data, False)
    if len(y) <= full.shape[1] or np.linalg.matrix_rank(full) < full.shape[1]:
        return Estimate.unavailable(name, method, "Some subgroup levels lack participants in one of the "
                                    "groups, so the interaction cannot be estimated.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_full = Logit(y, full).fit(disp=0, maxiter=200)
            fit_reduced = Logit(y, reduced).fit(disp=0, maxiter=200)
    except Exception as error:  # perfect separation, singular matrix
        return Estimate.unavailable(name, method, f"The logistic model could not be fitted ({type(error).__name__}): "
                                    "with so few people some subgroups are all or none.")
    if not (fit_full.mle_retvals.get("converged", True) and fit_reduced.mle_retvals.get("converged", True)):
        return Estimate.unavailable(name, method, "The logistic model did not converge (some subgroups are all "
                                    "or none), so the interaction test is not reliable.")
    lr = 2 * (fit_full.llf - fit_reduced.llf)
    df = full.shape[1] - reduced.shape[1]
    return Estimate(name=name, estimate=clean_float(lr), method=method, statistic=clean_float(lr),
                    statistic_name="χ²", df=float(df), p=clean_float(stats.chi2.sf(lr, df)))
