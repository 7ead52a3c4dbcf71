"""Several sites in one evaluation: each site's comparison, then a random-effects meta-analysis.

Design doc, "Several sites" (JSON key ``sites``): each site's physical activity − control
difference — rates: difference in rates with Newcombe's hybrid-score CI; measures: the ANCOVA
adjusted difference in last score — then a random-effects meta-analysis across the sites
(``statsmodels.stats.meta_analysis.combine_effects``, Paule–Mandel τ²; the Hartung–Knapp–
Sidik–Jonkman interval with t on k − 1 df when there are fewer than
:data:`~analysis.schema.SITES_HKSJ_BELOW` sites): pooled estimate, CI, τ², I², Cochran's Q and
its p, and a 95% prediction interval for a new site. A site with fewer than
:data:`~analysis.schema.SITE_MIN_PER_GROUP` people in a group (for that outcome) is listed with
the reason and left out of the pooling.

Pure functions of a validated episode-level frame: no Streamlit, nothing stored.

References
----------
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Controlled Clinical Trials 7:177–188.
Paule RC, Mandel J (1982). Consensus values and weighting factors. J Res Natl Bur Stand 87:377–385.
Hartung J, Knapp G (2001); Sidik K, Jonkman JN (2002): the HKSJ interval.
Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. Stat Med 21:1539–1558 (I²).
Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of random-effects meta-analysis.
JRSS A 172:137–159 (prediction interval, t on k − 2 df).
Cochrane Handbook for Systematic Reviews of Interventions, §6.5.2.3 (a standard error from a 95% CI).
Newcombe RG (1998). Interval estimation for the difference between independent proportions. Stat Med 17:873–890.

Hook for the adjusted analysis (``analysis/adjusted.py``, built on another branch): when a data set
has two or more sites, :func:`site_covariate` gives the site of every row as a categorical, to add
as a stratum or a fixed-effect covariate there; it is None when there is nothing to adjust for.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from numbers import Integral
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from analysis import formatting as fmt
from analysis.compare import METHODS, ancova, available_measures, measure_for, rate_difference
from analysis.compare import _measure_rows as measure_rows  # the rows each measure's comparison uses
from analysis.compare import _score_columns as score_columns
from analysis.disclosure import SUPPRESS_BELOW, register_safe_block, safe_count
from analysis.outcomes import RATE_DEFINITIONS, group_positions, participant_outcomes
from analysis.results import Estimate, clean_ci, clean_float
from analysis.schema import (
    ALPHA,
    GROUP_CONTROL,
    GROUP_LABELS,
    GROUP_PA,
    GROUPS,
    SITE_COLUMN,
    SITE_MIN_PER_GROUP,
    SITES_HKSJ_BELOW,
)

Z95: Final = float(stats.norm.ppf(0.975))
PM_TOLERANCE: Final = 1e-12  # relative change in τ² at which the Paule–Mandel iteration stops
PM_MAX_ITERATIONS: Final = 500
PM_START_BELOW: Final = 1e-9  # combine_effects starts this fraction below the root (see paule_mandel_tau2)
META_METHOD: Final = "Random-effects meta-analysis across sites, Paule–Mandel τ² (statsmodels combine_effects)"
HKSJ_NOTE: Final = (f"Hartung–Knapp–Sidik–Jonkman 95% CI (t on k − 1 df), used with fewer than "
                    f"{SITES_HKSJ_BELOW} sites")
WALD_NOTE: Final = "normal-approximation 95% CI"
PREDICTION_METHOD: Final = "95% prediction interval for a new site: t on k − 2 df (Higgins, Thompson & Spiegelhalter 2009)"
SE_FROM_CI: Final = {
    "rate": "each site weighted by 1/(SE² + τ²), SE = width of its Newcombe 95% CI / 3.92 (Cochrane Handbook §6.5.2.3)",
    "measure": "each site weighted by 1/(SE² + τ²), SE = the ANCOVA group coefficient's standard error",
}


# --- which sites -------------------------------------------------------------------------------


def _site_codes(episodes: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Each row's site as a position in the sorted list of distinct sites (-1: none or blank)."""
    if SITE_COLUMN not in episodes.columns:
        return np.full(len(episodes), -1, dtype=np.int64), []
    codes, uniques = pd.factorize(episodes[SITE_COLUMN], sort=True)  # one hash pass; -1 for missing
    labels = [str(u) for u in uniques]
    keep = [i for i, label in enumerate(labels) if label.strip()]
    if len(keep) < len(labels):  # blank labels (a frame not from validation): no site
        remap = np.full(len(labels) + 1, -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        codes = remap[codes]  # -1 indexes the last entry, itself -1
        labels = [labels[i] for i in keep]
    return np.asarray(codes, dtype=np.int64), labels


def site_labels(episodes: pd.DataFrame) -> list[str]:
    """The distinct sites of a data set, sorted; empty without a ``site`` column (or when it is blank)."""
    return _site_codes(episodes)[1]


def has_sites(episodes: pd.DataFrame) -> bool:
    """True when the data hold two or more sites (the site analysis, slide and report section show)."""
    return len(site_labels(episodes)) >= 2


def site_covariate(episodes: pd.DataFrame) -> pd.Series | None:
    """The hook for ``analysis/adjusted.py``: each row's site as a categorical (index as ``episodes``)
    to stratify by or adjust for, or None with fewer than two sites."""
    if not has_sites(episodes):
        return None
    return episodes[SITE_COLUMN].astype("object").astype(pd.CategoricalDtype(site_labels(episodes)))


# --- result types -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteEffect:
    """One site's PA − control difference for one outcome, and whether it enters the pooling."""

    site: str
    n: dict[str, int]  # people used per group (denominator for a rate, both scores for a measure)
    estimate: Estimate
    se: float | None
    included: bool
    reason: str | None = None
    weight: float | None = None  # relative random-effects weight (sums to 1 over included sites)
    events: dict[str, int] | None = None  # rates: the numerator per group

    def to_dict(self) -> dict[str, Any]:
        out = {"site": self.site, "estimate": self.estimate.estimate,
               "ci95": list(self.estimate.ci95) if self.estimate.ci95 is not None else None,
               "n": dict(self.n), "se": self.se, "included": self.included, "weight": self.weight,
               "reason": self.reason}
        if self.events is not None:
            out["events"] = dict(self.events)
        return out

    def hidden(self, safe: bool) -> bool:
        """True when presentation-safe mode hides this site's figures: a group (or, for a rate, a
        group's numerator) below :data:`analysis.disclosure.SUPPRESS_BELOW` (disclosure rules 3–4)."""
        counts = [*self.n.values(), *(self.events or {}).values()]
        return safe and min(counts) < SUPPRESS_BELOW


@dataclass(frozen=True)
class Pooled:
    """A random-effects pooled estimate with its heterogeneity (None figures carry ``reason``)."""

    estimate: float | None
    ci95: tuple[float, float] | None
    se: float | None
    p: float | None
    tau2: float | None
    i2: float | None
    q: float | None
    q_p: float | None
    k: int
    prediction95: tuple[float, float] | None
    method: str
    interval: str = ""
    reason: str | None = None
    prediction_reason: str | None = None
    fixed_effect: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "estimate": self.estimate, "ci95": list(self.ci95) if self.ci95 is not None else None,
            "se": self.se, "p": self.p, "tau2": self.tau2, "i2": self.i2, "q": self.q, "q_p": self.q_p,
            "k": self.k, "prediction_interval": list(self.prediction95) if self.prediction95 is not None else None,
            "method": self.method, "interval": self.interval}
        if self.reason:
            out["reason"] = self.reason
        if self.prediction_reason:
            out["prediction_reason"] = self.prediction_reason
        return out


@dataclass(frozen=True)
class SiteOutcome:
    """Every site's comparison of one outcome and the pooled effect."""

    outcome: str  # a rate key (recovery, ...) or a measure key (phq9, ...)
    label: str
    kind: str  # "rate" (difference in proportions) or "measure" (points on the measure)
    per_site: tuple[SiteEffect, ...]
    pooled: Pooled

    @property
    def excluded(self) -> list[SiteEffect]:
        return [s for s in self.per_site if not s.included]

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "per_site": [s.to_dict() for s in self.per_site],
                "pooled": self.pooled.to_dict()}

    def table(self) -> pd.DataFrame:
        """One row per site, then the pooled row: site, n_pa, n_control, estimate, ci_low, ci_high,
        weight, included, reason (a page and an export lay it out as it is)."""
        rows = [{"site": s.site, "n_pa": s.n[GROUP_PA], "n_control": s.n[GROUP_CONTROL],
                 "estimate": s.estimate.estimate,
                 "ci_low": s.estimate.ci95[0] if s.estimate.ci95 else None,
                 "ci_high": s.estimate.ci95[1] if s.estimate.ci95 else None,
                 "weight": s.weight, "included": s.included, "reason": s.reason} for s in self.per_site]
        frame = pd.DataFrame(rows, columns=["site", "n_pa", "n_control", "estimate", "ci_low", "ci_high",
                                            "weight", "included", "reason"])
        for column in ("estimate", "ci_low", "ci_high", "weight"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        return frame


@dataclass(frozen=True)
class SiteAnalysis:
    """The site-by-site analysis of a data set (see the module docstring)."""

    sites: tuple[str, ...]
    participants: dict[str, dict[str, int]]  # site -> finishers per group
    rates: dict[str, SiteOutcome]
    measures: dict[str, SiteOutcome]
    excluded: dict[str, str] = field(default_factory=dict)  # site -> why it is out of every pooling
    reason: str | None = None  # why nothing could be pooled (fewer than two sites), if so

    @property
    def n_sites(self) -> int:
        return len(self.sites)

    @property
    def outcomes(self) -> dict[str, SiteOutcome]:
        return {**self.rates, **self.measures}

    def to_dict(self) -> dict[str, Any]:
        """The ``sites`` block of the JSON summary (design doc shape, plus extra keys)."""
        out: dict[str, Any] = {
            "n_sites": self.n_sites,
            "participants": [{"site": site, "n": dict(n)} for site, n in self.participants.items()],
            "excluded": [{"site": site, "reason": why} for site, why in self.excluded.items()],
            "rates": {key: o.to_dict() for key, o in self.rates.items()},
            "measures": {key: o.to_dict() for key, o in self.measures.items()},
            "method": META_METHOD,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


# --- the meta-analysis ---------------------------------------------------------------------------


def _unpooled(k: int, reason: str) -> Pooled:
    return Pooled(estimate=None, ci95=None, se=None, p=None, tau2=None, i2=None, q=None, q_p=None, k=k,
                  prediction95=None, method=META_METHOD, reason=reason)


def paule_mandel_tau2(y: np.ndarray, v: np.ndarray) -> float:
    """Paule–Mandel τ²: the root of Σwᵢ(yᵢ − μ̂)² = k − 1 with wᵢ = 1/(vᵢ + τ²), 0 when Q ≤ k − 1.

    Newton's method from τ² = 0, as statsmodels' ``_fit_tau_iterative`` (DerSimonian & Kacker 2007,
    appendix 8): the generalised Q is decreasing and convex in τ², so the iterates rise to the root.
    Safeguarded: statsmodels resets τ² to 0 when rounding makes the equation slightly negative near the
    root (seen on the bundled programme sample), so here that ends the iteration at the current τ², and
    ``combine_effects`` is started just below the root (``tau2_start``), where its own check stops at once.
    """
    k = len(y)
    tau2 = 0.0
    for _ in range(PM_MAX_ITERATIONS):
        w = 1 / (v + tau2)
        mu = float(w @ y / w.sum())
        resid_sq = (y - mu) ** 2
        excess = float(w @ resid_sq) - (k - 1)
        if excess <= 0:
            break
        step = excess / float((w ** 2) @ resid_sq)
        tau2 += step
        if step <= PM_TOLERANCE * max(tau2, 1e-300):
            break
    return tau2


def random_effects(effects: np.ndarray | list[float], variances: np.ndarray | list[float],
                   hksj: bool | None = None) -> Pooled:
    """Random-effects meta-analysis of per-site effects with their sampling variances.

    τ² by Paule–Mandel (:func:`paule_mandel_tau2`, then ``combine_effects(method_re="pm")``); the pooled estimate weights each site by
    1/(vᵢ + τ²). The 95% CI uses the HKSJ standard error with t on k − 1 df when ``hksj`` (default:
    fewer than :data:`SITES_HKSJ_BELOW` sites), else the usual standard error with the normal quantile.
    Heterogeneity: Cochran's Q (fixed-effect weights) with its χ² p on k − 1 df, and
    I² = max(0, (Q − (k − 1)) / Q). Prediction interval (k ≥ 3): estimate ± t(k − 2)·√(τ² + SE²).

    >>> r = random_effects([0.1, 0.3, 0.5], [0.01, 0.01, 0.01])
    >>> round(r.estimate, 6), round(r.tau2, 6), round(r.q, 6)
    (0.3, 0.03, 8.0)
    """
    from statsmodels.stats.meta_analysis import combine_effects

    y = np.asarray(effects, dtype=float)
    v = np.asarray(variances, dtype=float)
    k = len(y)
    if k < 2:
        return _unpooled(k, "Pooling needs at least 2 sites with an estimate; "
                         + ("only one site has one." if k == 1 else "no site has one."))
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v)) and np.all(v > 0)):
        return _unpooled(k, "A site's estimate or variance is not a positive finite number.")
    use_hksj = k < SITES_HKSJ_BELOW if hksj is None else hksj
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # combine_effects warns that per-site CIs use the normal distribution
        # started a hair below the root, where statsmodels' check (equation ≥ 0 and within 1e-5) stops at once
        result = combine_effects(y, v, method_re="pm", use_t=use_hksj,
                                 tau2_start=paule_mandel_tau2(y, v) * (1 - PM_START_BELOW))
    estimate = float(result.mean_effect_re)
    tau2 = max(float(result.tau2), 0.0)
    if use_hksj:
        se = float(result.sd_eff_w_re_hksj)
        crit = float(stats.t.ppf(0.975, k - 1))
        p = 2 * float(stats.t.sf(abs(estimate / se), k - 1)) if se > 0 else None
        interval = HKSJ_NOTE
    else:
        se = float(result.sd_eff_w_re)
        crit = Z95
        p = 2 * float(stats.norm.sf(abs(estimate / se))) if se > 0 else None
        interval = WALD_NOTE
    q = float(result.q)
    q_p = float(stats.chi2.sf(q, k - 1))
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    prediction, prediction_reason = None, None
    if k >= 3:
        half = float(stats.t.ppf(0.975, k - 2)) * math.sqrt(tau2 + se ** 2)
        prediction = clean_ci(estimate - half, estimate + half)
    else:
        prediction_reason = "A prediction interval needs at least 3 sites (t on k − 2 df)."
    return Pooled(estimate=clean_float(estimate), ci95=clean_ci(estimate - crit * se, estimate + crit * se),
                  se=clean_float(se), p=clean_float(p), tau2=clean_float(tau2), i2=clean_float(i2),
                  q=clean_float(q), q_p=clean_float(q_p), k=k, prediction95=prediction, method=META_METHOD,
                  interval=interval, prediction_reason=prediction_reason,
                  fixed_effect=clean_float(result.mean_effect_fe))


def _pool(outcome: str, label: str, kind: str, effects: list[SiteEffect]) -> SiteOutcome:
    included = [s for s in effects if s.included]
    pooled = random_effects([s.estimate.estimate for s in included], [s.se ** 2 for s in included])  # type: ignore[operator]
    if pooled.tau2 is not None and included:
        raw = np.array([1 / (s.se ** 2 + pooled.tau2) for s in included])  # type: ignore[operator]
        weights = dict(zip([s.site for s in included], (raw / raw.sum()).tolist(), strict=True))
        effects = [replace(s, weight=weights.get(s.site)) for s in effects]
    method = f"{pooled.method}; {SE_FROM_CI[kind]}"
    pooled = replace(pooled, method=method)
    return SiteOutcome(outcome=outcome, label=label, kind=kind, per_site=tuple(effects), pooled=pooled)


# --- per-site comparisons --------------------------------------------------------------------------


def _too_few(n: dict[str, int]) -> str | None:
    if min(n.values()) >= SITE_MIN_PER_GROUP:
        return None
    held = ", ".join(f"{GROUP_LABELS[g].lower()} {n[g]}" for g in GROUPS)
    return (f"Fewer than {SITE_MIN_PER_GROUP} people in a group ({held}): listed, left out of the pooling.")


def site_rate(site: str, counts: dict[str, tuple[int, int]]) -> SiteEffect:
    """One site's difference in a rate (Newcombe CI) and its SE for pooling (CI width / 3.92)."""
    (a, n1), (c, n2) = counts[GROUP_PA], counts[GROUP_CONTROL]
    n = {GROUP_PA: n1, GROUP_CONTROL: n2}
    difference = rate_difference(a, n1, c, n2)
    reason = _too_few(n) or (None if difference.ci95 is not None else difference.reason or "No interval.")
    events = {GROUP_PA: a, GROUP_CONTROL: c}
    if reason is not None:
        return SiteEffect(site, n, difference, None, False, reason, events=events)
    lo, hi = difference.ci95  # type: ignore[misc]
    return SiteEffect(site, n, difference, (hi - lo) / (2 * Z95), True, events=events)


def site_measure(site: str, first: np.ndarray, last: np.ndarray, is_pa: np.ndarray) -> SiteEffect:
    """One site's ANCOVA adjusted difference in last score and its standard error."""
    n = {GROUP_PA: int(is_pa.sum()), GROUP_CONTROL: int((~is_pa).sum())}
    too_few = _too_few(n)
    if too_few is not None:
        return SiteEffect(site, n, Estimate.unavailable("Adjusted difference in last score (PA − control)",
                                                        METHODS["ancova"], too_few, n), None, False, too_few)
    estimate = ancova(first, last, is_pa.astype(float))
    if estimate.estimate is None or estimate.ci95 is None or estimate.df is None:
        return SiteEffect(site, n, estimate, None, False, estimate.reason or "The ANCOVA could not be fitted.")
    lo, hi = estimate.ci95
    se = (hi - lo) / (2 * float(stats.t.ppf(0.975, estimate.df)))
    return SiteEffect(site, n, estimate, se, True)


def site_analysis(episodes: pd.DataFrame, flags: pd.DataFrame | None = None,
                  measures: tuple[str, ...] | None = None) -> SiteAnalysis | None:
    """Each site's comparison of every rate and measure, and their random-effects pooling.

    None when the data have no ``site`` column (or it is blank throughout): the rest of the dashboard
    then behaves as for one pilot. With one site the per-site figures are given and the pooling is
    null with its reason. ``flags``: the data's :func:`~analysis.outcomes.participant_outcomes`,
    when the caller has them (same index as ``episodes``).
    """
    codes, sites = _site_codes(episodes)
    if not sites:
        return None
    flags = participant_outcomes(episodes) if flags is None else flags
    # each row's site and group as positions, then counts per (site, group) cell in one pass each
    group = group_positions(flags)  # position in GROUPS (physical activity 0, control 1), -1 for neither
    valid = (codes >= 0) & (group >= 0)
    cell = np.where(valid, codes * len(GROUPS) + group, 0)

    def per_cell(mask: np.ndarray) -> np.ndarray:
        return np.bincount(cell[mask & valid], minlength=len(sites) * len(GROUPS)).reshape(len(sites), len(GROUPS))

    def by_group(table: np.ndarray, i: int) -> dict[str, int]:
        return {g: int(table[i, j]) for j, g in enumerate(GROUPS)}

    finished = per_cell(flags["finished"].to_numpy(dtype=bool))
    participants = {site: by_group(finished, i) for i, site in enumerate(sites)}
    rates: dict[str, SiteOutcome] = {}
    for rate, definition in RATE_DEFINITIONS.items():
        denominator = flags[definition.denominator_column].to_numpy(dtype=bool)
        numerator = per_cell(denominator & flags[definition.numerator_column].to_numpy(dtype=bool))
        denominator_counts = per_cell(denominator)
        effects = [site_rate(site, {g: (by_group(numerator, i)[g], by_group(denominator_counts, i)[g]) for g in GROUPS})
                   for i, site in enumerate(sites)]
        rates[rate] = _pool(rate, definition.label, "rate", effects)
    keys = measures if measures is not None else tuple(available_measures(episodes))
    compared: dict[str, SiteOutcome] = {}
    for key in keys:
        keep = measure_rows(episodes, key, flags) & valid
        first, last = (values[keep] for values in score_columns(episodes, key))
        site_kept, is_pa = codes[keep], group[keep] == 0
        # the rows in site order (a stable radix sort of small integers), so each site is one slice
        order = np.argsort(site_kept.astype(np.int32 if len(sites) > 32_000 else np.int16), kind="stable")
        first, last, is_pa = first[order], last[order], is_pa[order]
        bounds = np.searchsorted(site_kept[order], np.arange(len(sites) + 1))
        effects = [site_measure(site, first[bounds[i]:bounds[i + 1]], last[bounds[i]:bounds[i + 1]],
                                is_pa[bounds[i]:bounds[i + 1]]) for i, site in enumerate(sites)]
        compared[key] = _pool(key, measure_for(key).label, "measure", effects)
    excluded = {site: why for site, n in participants.items() if (why := _too_few(n)) is not None}
    reason = None if len(sites) >= 2 else ("One site only: there is nothing to pool across sites; the figures "
                                           "are those of the whole data set.")
    return SiteAnalysis(sites=tuple(sites), participants=participants, rates=rates, measures=compared,
                        excluded=excluded, reason=reason)


def heterogeneity_sentence(outcome: SiteOutcome) -> str:
    """Plain English on how much the sites differ (I² bands from the Cochrane Handbook §10.10.2)."""
    p = outcome.pooled
    if p.i2 is None or p.q_p is None:
        return f"{outcome.label}: heterogeneity not available ({p.reason or 'too few sites'})."
    band = ("might not be important" if p.i2 < 0.4 else "may be moderate" if p.i2 < 0.6
            else "may be substantial" if p.i2 < 0.75 else "may be considerable")
    head = ("the sites differ by more than chance would explain" if p.q_p < ALPHA
            else "the sites' differences are within what chance would explain")
    return (f"{outcome.label}: {head} (Q = {fmt.number(p.q)} on {p.k - 1} df, {fmt.p_value(p.q_p)}); "
            f"I² = {fmt.percent(p.i2)}: heterogeneity {band}.")


def method_lines() -> list[str]:
    """The method in plain sentences (the Sites page and the Methods page render these)."""
    from analysis.adjusted import SITE_METHOD  # imported here: analysis.adjusted imports this module

    return [
        "Each site: **rates** — the difference in rates (PA − control) with Newcombe's hybrid-score 95% CI; "
        "**measures** — ANCOVA, the difference in last score adjusted for the first.",
        f"{META_METHOD}. Rates: {SE_FROM_CI['rate']}. Measures: {SE_FROM_CI['measure']}.",
        f"With fewer than {SITES_HKSJ_BELOW} sites the pooled 95% CI is the Hartung–Knapp–Sidik–Jonkman interval "
        "(t on k − 1 df), which keeps its coverage with few sites; otherwise the normal-approximation interval.",
        "Heterogeneity: Cochran's Q with its χ² p on k − 1 df; I² = (Q − (k − 1))/Q (Higgins & Thompson 2002); "
        "τ² is the between-site variance of the true effects.",
        f"{PREDICTION_METHOD}: where the effect in a new, similar site would be expected to fall.",
        f"A site enters the pooling of an outcome with at least {SITE_MIN_PER_GROUP} people in each group for it; "
        "a site with fewer is listed with the reason, and its participants count in every other figure.",
        "Sites were not randomised and people chose physical activity: a site that stands out may differ in who it "
        "serves or how it ran the programme, not only in the effect.",
        f"The adjusted analysis (Accounting for who took part) accounts for site whenever there are two or more: "
        f"{SITE_METHOD}.",
    ]


# --- presentation-safe mode ------------------------------------------------------------------------

SITE_HIDDEN_REASON: Final = (f"Hidden in presentation-safe mode: a group (or its numerator) is below "
                             f"{SUPPRESS_BELOW}.")
SITE_TOO_FEW_SAFE: Final = ("Too few people in a group to compare within this site (counts hidden in "
                            "presentation-safe mode).")


def _site_counts_small(entry: Mapping[str, Any]) -> bool:
    counts = [*(entry.get("n") or {}).values(), *(entry.get("events") or {}).values()]
    return not counts or any(c is None or c < SUPPRESS_BELOW for c in counts)


def _safe_counts_dict(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: safe_count(v) if isinstance(v, Integral) and not isinstance(v, bool) else v
                for k, v in value.items()}
    return copy.deepcopy(value)


def safe_sites_block(block: Mapping[str, Any]) -> dict[str, Any]:
    """The summary's ``sites`` block (:meth:`SiteAnalysis.to_dict`) under :mod:`analysis.disclosure`'s rules
    (registered there for the key ``sites``, so ``make_summary_safe`` and ``summarize --safe`` apply it).

    Each site's counts (``n`` per group, ``events`` per group for a rate, ``participants``) are
    suppressed below 5 and rounded to 5 (rules 1–2); a site's comparison (estimate, CI, SE, weight)
    is null when either group's n or, for a rate, numerator is below 5 (rules 3–4), with a reason
    that names no count. Reasons naming a site's exact counts (a site left out of the pooling) are
    replaced by one that does not. The pooled figures combine every site and are kept, as are the
    number of sites and the method texts.
    """
    out: dict[str, Any] = {}
    for key, value in block.items():
        if key == "participants" and isinstance(value, list):
            out[key] = [{**entry, "n": _safe_counts_dict(entry.get("n"))} for entry in value]
        elif key == "excluded" and isinstance(value, list):
            out[key] = [{**entry, "reason": SITE_TOO_FEW_SAFE} for entry in value]
        elif key == "adjusted" and isinstance(value, Mapping):  # the adjusted analysis, adjusted for site
            from analysis.adjusted import make_site_adjusted_safe

            out[key] = make_site_adjusted_safe(dict(value))
        elif key in ("rates", "measures") and isinstance(value, Mapping):
            out[key] = {}
            for name, outcome in value.items():
                per_site = []
                for entry in outcome.get("per_site", []):
                    safe_entry = {**entry, "n": _safe_counts_dict(entry.get("n"))}
                    if "events" in entry:
                        safe_entry["events"] = _safe_counts_dict(entry["events"])
                    if _site_counts_small(entry):
                        safe_entry.update({k: None for k in ("estimate", "ci95", "se", "weight") if k in entry})
                        safe_entry["reason"] = SITE_TOO_FEW_SAFE if not entry.get("included") else SITE_HIDDEN_REASON
                    elif not entry.get("included") and entry.get("reason"):
                        safe_entry["reason"] = entry["reason"] if "Fewer than" not in entry["reason"] else SITE_TOO_FEW_SAFE
                    per_site.append(safe_entry)
                out[key][name] = {**copy.deepcopy(dict(outcome)), "per_site": per_site}
        else:
            out[key] = copy.deepcopy(value)
    return out


register_safe_block("sites", lambda block, summary: safe_sites_block(block))



def sites_text(block: dict[str, Any]) -> list[str]:
    """The ``sites`` block of the JSON summary as lines of the CLI's text report (safe-mode aware:
    it prints what the block holds, so a suppressed figure reads "not shown")."""

    def value(v: float | None, rate: bool) -> str:
        if v is None:
            return "not shown"
        return fmt.number(v * 100, 0) if rate else fmt.number(v, 2)

    def interval(ci: list | None, rate: bool) -> str:
        return f"{value(ci[0], rate)} to {value(ci[1], rate)}" if ci else "not available"

    def n_text(n: dict) -> str:
        return " vs ".join("fewer than 5" if n.get(g) is None else fmt.count(n[g]) for g in GROUPS)

    lines = ["", f"Sites ({block['n_sites']}): each site's PA − control difference, pooled by a random-effects "
             "meta-analysis (rates in percentage points, measures in points):"]
    if block.get("reason"):
        lines.append(f"  {block['reason']}")
    for section, rate in (("rates", True), ("measures", False)):
        for entry in block.get(section, {}).values():
            p = entry["pooled"]
            lines.append(f"  {entry['label']}:")
            for site in entry["per_site"]:
                text = (f"    {site['site']} (n {n_text(site['n'])}): {value(site['estimate'], rate)} "
                        f"({interval(site['ci95'], rate)})")
                if not site["included"] or site["estimate"] is None:
                    text += f" — {site.get('reason') or 'not pooled'}"
                lines.append(text)
            if p["estimate"] is None:
                lines.append(f"    Pooled: not available ({p.get('reason')})")
                continue
            lines.append(f"    Pooled ({p['k']} sites): {value(p['estimate'], rate)} ({interval(p['ci95'], rate)}), "
                         f"{fmt.p_value(p['p'])}; τ² = {fmt.number(p['tau2'] * (1e4 if rate else 1), 2)}, "
                         f"I² = {fmt.percent(p['i2'])}, Q = {fmt.number(p['q'], 2)} ({fmt.p_value(p['q_p'])}); "
                         f"95% prediction interval {interval(p['prediction_interval'], rate)}")
    lines.append(f"  Method: {META_METHOD}; {HKSJ_NOTE}; {PREDICTION_METHOD}.")
    for entry in block.get("excluded", []):
        lines.append(f"  Not pooled: {entry['site']}: {entry['reason']}")
    adjusted = block.get("adjusted")
    if adjusted:  # the adjusted analysis, accounting for site (analysis.adjusted.site_adjusted_block)
        if not adjusted.get("adjusted_for_site"):
            lines.append(f"  Adjusted for site: not available ({adjusted.get('reason')})")
        else:
            parts = [f"{RATE_DEFINITIONS[k].label if k in RATE_DEFINITIONS else k} "
                     f"{value(e['difference'].get('estimate'), True)} ({interval(e['difference'].get('ci95'), True)})"
                     for k, e in adjusted.get("rates", {}).items()]
            lines.append(f"  Adjusted for site and baseline characteristics ({adjusted.get('estimand')}; see the "
                         "adjusted section), PA − control in percentage points: " + "; ".join(parts))
    return lines


__all__ = ["SiteAnalysis", "SiteOutcome", "SiteEffect", "Pooled", "site_analysis", "random_effects",
           "site_labels", "has_sites", "site_covariate", "site_rate", "site_measure", "heterogeneity_sentence",
           "paule_mandel_tau2", "sites_text", "method_lines", "safe_sites_block"]
