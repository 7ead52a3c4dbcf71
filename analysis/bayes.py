"""Probability of benefit: how likely physical activity helps, and helps by an amount that matters.

Design doc: "Probability of benefit (JSON key ``bayes``)". Conjugate updates and scipy only; no
probabilistic-programming dependency. Benefit always means "better for physical activity": a
*higher* rate for recovery, reliable recovery and reliable improvement, a *lower* rate for reliable
deterioration, and a *lower* last score (ANCOVA difference below zero) for the measures.

Rates (counts a/n₁ physical activity, c/n₂ control)
    **vague**: independent Beta(1, 1) priors per group, so the posteriors are Beta(a+1, n₁−a+1) and
    Beta(c+1, n₂−c+1). P(benefit) and P(benefit ≥ MID) are the one-dimensional integrals
    ∫ f_lo(x) · S_hi(x + MID) dx (f a posterior density, S a posterior survival function; "hi" the
    group whose higher rate is the benefit) by adaptive quadrature (``scipy.integrate.quad``).
    **sceptical / enthusiastic**: a normal prior on the log odds ratio (PA vs control), mean 0
    (sceptical) or log 1.5 in PA's favour (enthusiastic: −log 1.5 for deterioration, where a lower
    rate is the benefit), SD 0.35, combined with the normal approximation of the log-OR likelihood
    (log(ad/bc), SE √(1/a+1/b+1/c+1/d), Woolf 1955) by precision weighting. P(benefit) is the
    posterior normal tail beyond 0 (closed form). P(benefit ≥ MID) is on the risk-difference scale:
    the posterior log OR is converted with the control rate's Beta(c+1, n₂−c+1) posterior,
    p_PA = expit(logit(p_c) + log OR), and P(p_PA − p_c ≥ MID) is integrated exactly over the control
    rate, ∫ f_c(p) P(log OR ≥ logit(p + MID) − logit(p)) dp (``scipy.integrate.quad``): the limit of
    the design's Monte Carlo recipe (a log-OR draw converted with a control-rate draw) without its
    sampling error, and tested against that recipe with 10⁶ seeded draws. Only the posterior-density
    chart samples (:data:`DRAWS` draws, seed :data:`SEED`).
    **Zero cells**: the log-OR approximation is undefined when a cell is 0 (0% or 100% in a group),
    so 0.5 is added to all four cells (Haldane 1940; Anscombe 1956) and the result says so
    (``continuity_correction``). A group with no one in the denominator gives null with its reason.

Measures (ANCOVA difference in last score, PA − control, estimate d and standard error s)
    Normal likelihood N(d, s²), with s recovered from the t-based 95% CI (s = half-width / t₀.₉₇₅,df),
    and normal priors: vague N(0, 100²), sceptical N(0, (MID/1.96)²) (a priori P(|effect| > MID) =
    5%), enthusiastic N(−MID, (MID/1.96)²). Posterior by precision weighting (closed form);
    P(benefit) = Φ(−μ/σ), P(benefit ≥ MID) = Φ((−MID − μ)/σ).

References: Spiegelhalter, Abrams & Myles (2004) *Bayesian Approaches to Clinical Trials and
Health-Care Evaluation*, ch. 3 and 5 (sceptical and enthusiastic priors, normal approximations);
Gelman et al. (2013) *Bayesian Data Analysis*, 3rd ed., §2.4 and §3.7 (conjugate Beta–binomial and
normal updates).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import integrate, ndimage, special, stats

from analysis import formatting as fmt
from analysis.disclosure import HIDDEN_COUNT_REASON, HIDDEN_FIGURE_REASON, register_safe_block, safe_count
from analysis.outcomes import RATE_DEFINITIONS
from analysis.schema import GAD7, GROUP_CONTROL, GROUP_PA, GROUPS, PHQ9

# --- the fixed choices (design doc); every page, export and the CLI read them from here ----------

PRIORS: Final = ("vague", "sceptical", "enthusiastic")
PRIOR_LABELS: Final = {"vague": "Vague", "sceptical": "Sceptical", "enthusiastic": "Enthusiastic"}
VAGUE_BETA: Final = (1.0, 1.0)  # Beta(1, 1) per group for the rates
LOG_OR_PRIOR_SD: Final = 0.35
ENTHUSIASTIC_OR: Final = 1.5
VAGUE_MEASURE_SD: Final = 100.0
MID_Z: Final = 1.96  # sceptical SD = MID / 1.96: a priori P(|effect| > MID) = 5%
CONTINUITY_CORRECTION: Final = 0.5
DRAWS: Final = 100_000  # Monte Carlo draws for the density chart (design doc: at least 100,000, fixed seed)
SEED: Final = 20_221_201
RATE_MID_DEFAULT: Final = 0.05  # 5 percentage points
MEASURE_MID_DEFAULTS: Final = {PHQ9.key: float(PHQ9.mcid), GAD7.key: float(GAD7.mcid)}  # schema's MCIDs
ROBUSTNESS_FACTORS: Final = tuple(sorted({float(f) for f in np.geomspace(0.1, 20, 41)} | {1.0}))  # × the default SD

# Where each default MID comes from (shown on the Methods page).
MID_SOURCES: Final = {
    "rates": ("5 percentage points: the project's design default (shared/design/outcomes-and-statistics.md, "
              "\"Probability of benefit\"), one more person in twenty recovering. No published minimal "
              "important difference for a difference in NHS Talking Therapies recovery rates exists in the "
              "project's sources, so set the value your service would act on."),
    PHQ9.key: ("5 points: the PHQ-9 minimal clinically important difference (Löwe B, Unützer J, Callahan CM, "
               "Perkins AJ, Kroenke K. Monitoring depression treatment outcomes with the Patient Health "
               "Questionnaire-9. Medical Care 2004;42:1194–1201), the MCID the dashboard uses elsewhere. It was "
               "estimated for one person's change; used here for the difference between the groups, as the design "
               "sets, it is a demanding bar."),
    GAD7.key: ("4 points: the GAD-7 minimal clinically important difference (Toussaint A, Hüsing P, Gumz A, "
               "et al. Sensitivity to change and minimal clinically important difference of the 7-item "
               "Generalized Anxiety Disorder Questionnaire (GAD-7). Journal of Affective Disorders "
               "2020;265:395–401), the MCID the dashboard uses elsewhere. Like PHQ-9's it was estimated for one "
               "person's change, so as a difference between the groups it is a demanding bar."),
}

METHODS: Final = {
    "vague_rate": "Independent Beta(1, 1) priors per group; Beta posteriors; probabilities by numerical "
                  "integration (scipy.integrate.quad).",
    "log_or": "Normal prior on the log odds ratio (SD 0.35) × normal approximation of the log-OR likelihood "
              "(Woolf); P(benefit) in closed form; P(benefit ≥ MID) on the risk-difference scale, converting the "
              "posterior log OR with the control rate's Beta posterior, by numerical integration (exact, no "
              "sampling error).",
    "measure": "Normal likelihood of the ANCOVA difference (estimate, SE from its 95% CI) × normal prior; "
               "closed-form normal posterior.",
}

__all__ = [
    "BenefitResult", "DRAWS", "LOG_OR_PRIOR_SD", "MEASURE_MID_DEFAULTS", "MID_SOURCES", "PRIORS",
    "PRIOR_LABELS", "Probability", "RATE_MID_DEFAULT", "SEED", "ancova_se", "benefit_summary",
    "basis_is_small", "chance", "log_or_likelihood", "make_bayes_safe", "percent_chance", "safe_basis", "result_from_dict", "text_lines", "measure_benefit", "measure_posterior_density", "measure_prior",
    "measure_robustness", "normal_posterior", "rate_benefit", "rate_log_or_prior",
    "rate_posterior_density", "rate_robustness",
]


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probability:
    """One prior's answer: P(benefit) and P(benefit ≥ MID), or None with the reason.

    ``posterior_mean`` / ``posterior_sd`` describe the posterior of the quantity the prior is put
    on: the risk difference (PA − control) under the vague rate prior, the log odds ratio under the
    sceptical and enthusiastic rate priors, the difference in last score for a measure.
    """

    prior: str
    p_benefit: float | None
    p_benefit_mid: float | None
    mid: float
    method: str
    posterior_mean: float | None = None
    posterior_sd: float | None = None
    scale: str = ""
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"p_benefit": self.p_benefit, "p_benefit_mid": self.p_benefit_mid, "mid": self.mid}
        if self.reason is not None:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class BenefitResult:
    """Every prior's probability of benefit for one outcome (a rate or a measure)."""

    outcome: str
    label: str
    kind: str  # "rate" or "measure"
    mid: float
    priors: dict[str, Probability]
    higher_is_better: bool = True
    continuity_correction: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    basis: dict[str, dict[str, int]] = field(default_factory=dict)  # the group counts it rests on

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {prior: self.priors[prior].to_dict() for prior in PRIORS}
        if self.kind == "rate":
            out["continuity_correction"] = self.continuity_correction
        if self.notes:
            out["notes"] = list(self.notes)
        if self.basis:
            out["basis"] = {group: dict(counts) for group, counts in self.basis.items()}
        return out  # every null probability carries its prior's reason

    def mid_text(self) -> str:
        """'5 percentage points' / '5 points'."""
        if self.kind == "rate":
            return f"{fmt.number(self.mid * 100, _decimals(self.mid * 100))} percentage points"
        return f"{fmt.number(self.mid, _decimals(self.mid))} points"

    def benefit_words(self) -> tuple[str, str]:
        """(what benefit is, what 'by the MID' reads as) in plain English."""
        if self.kind == "measure":
            return f"lowers {self.label} scores", "lowers them"
        if self.outcome in ("recovery", "reliable_recovery"):
            return f"improves {self.label.lower()}", "improves it"
        if self.higher_is_better:
            return f"raises the {self.label.lower()} rate", "raises it"
        return f"lowers the {self.label.lower()} rate", "lowers it"

    def sentence(self, prior: str = "sceptical") -> str:
        """'Under a sceptical prior there is a 78% chance that physical activity improves recovery,
        and a 55% chance it improves it by 5 percentage points or more.'"""
        p = self.priors[prior]
        if p.p_benefit is None:
            return f"The chance that physical activity helps ({self.label}) cannot be worked out: {p.reason}"
        what, again = self.benefit_words()
        text = f"Under {_article(prior)} {prior} prior there is {chance(p.p_benefit)} chance that physical activity {what}"
        if p.p_benefit_mid is None:
            return text + "."
        return text + f", and {chance(p.p_benefit_mid)} chance it {again} by {self.mid_text()} or more."


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _decimals(value: float) -> int:
    return 0 if abs(value - round(value)) < 1e-9 else 1


def percent_chance(p: float | None) -> str:
    """A probability as a percentage that never rounds to a certainty: '78%', '>99%', '<1%'."""
    if p is None or not math.isfinite(p):
        return fmt.MISSING
    if p >= 0.995:
        return ">99%"
    if p < 0.005:
        return "<1%"
    return fmt.percent(p)


def chance(p: float | None) -> str:
    """A probability as people say it: 'a 78%', 'more than a 99%', 'less than a 1%'."""
    if p is None or not math.isfinite(p):
        return "an unknown"
    if p >= 0.995:
        return "more than a 99%"
    if p < 0.005:
        return "less than a 1%"
    text = fmt.percent(p)
    number = text.rstrip("%")
    spoken_with_vowel = number in ("8", "11", "18") or (len(number) == 2 and number.startswith("8"))
    return ("an " if spoken_with_vowel else "a ") + text


# --- the normal building blocks -----------------------------------------------------------------


def normal_posterior(prior_mean: float, prior_sd: float, estimate: float, se: float) -> tuple[float, float]:
    """Conjugate normal update: the posterior (mean, SD) of N(prior) × N(estimate, se²) likelihood."""
    w_prior, w_data = 1.0 / prior_sd**2, 1.0 / se**2
    precision = w_prior + w_data
    return (w_prior * prior_mean + w_data * estimate) / precision, math.sqrt(1.0 / precision)


def log_or_likelihood(count_pa: int, n_pa: int, count_control: int, n_control: int
                      ) -> tuple[float, float, bool] | None:
    """Normal approximation of the log odds ratio (PA vs control): (log OR, SE, corrected).

    With a zero cell 0.5 is added to all four (Haldane–Anscombe); None when a group is empty.
    """
    if n_pa <= 0 or n_control <= 0:
        return None
    a, b, c, d = count_pa, n_pa - count_pa, count_control, n_control - count_control
    corrected = min(a, b, c, d) == 0
    if corrected:
        a, b, c, d = (x + CONTINUITY_CORRECTION for x in (a, b, c, d))
    return math.log(a * d / (b * c)), math.sqrt(1 / a + 1 / b + 1 / c + 1 / d), corrected


def rate_log_or_prior(prior: str, higher_is_better: bool = True, sd: float = LOG_OR_PRIOR_SD) -> tuple[float, float]:
    """(mean, SD) of the sceptical or enthusiastic prior on the log OR (PA vs control)."""
    if prior == "sceptical":
        return 0.0, sd
    if prior == "enthusiastic":
        mean = math.log(ENTHUSIASTIC_OR)
        return (mean if higher_is_better else -mean), sd
    raise ValueError(f"No log-OR prior called {prior!r} (sceptical or enthusiastic).")


def measure_prior(prior: str, mid: float) -> tuple[float, float]:
    """(mean, SD) of a measure's prior on the difference in last score (lower is better)."""
    if prior == "vague":
        return 0.0, VAGUE_MEASURE_SD
    if prior == "sceptical":
        return 0.0, mid / MID_Z
    if prior == "enthusiastic":
        return -mid, mid / MID_Z
    raise ValueError(f"No prior called {prior!r} ({', '.join(PRIORS)}).")


def ancova_se(estimate: float | None, ci95: Sequence[float] | None, df: float | None) -> float | None:
    """The SE behind a t-based 95% CI: half-width / t(0.975, df) (normal quantile when df is unknown)."""
    if estimate is None or ci95 is None:
        return None
    quantile = stats.t.ppf(0.975, df) if df is not None and df > 0 else stats.norm.ppf(0.975)
    se = (float(ci95[1]) - float(ci95[0])) / (2 * quantile)
    return se if math.isfinite(se) and se > 0 else None


# --- rates -------------------------------------------------------------------------------------


def _check_counts(count_pa: int, n_pa: int, count_control: int, n_control: int) -> str | None:
    for what, count, n in (("physical activity", count_pa, n_pa), ("control", count_control, n_control)):
        if n <= 0:
            return f"The {what} group has no one in this rate's denominator."
        if count < 0 or count > n:
            return f"The {what} group's count ({count}) is not between 0 and its denominator ({n})."
    return None


def _beta_posteriors(count_pa: int, n_pa: int, count_control: int, n_control: int
                     ) -> tuple[tuple[float, float], tuple[float, float]]:
    """(a, b) of the physical activity and control groups' Beta posteriors under the vague prior."""
    a0, b0 = VAGUE_BETA
    return ((count_pa + a0, n_pa - count_pa + b0), (count_control + a0, n_control - count_control + b0))


def _p_exceeds(hi: tuple[float, float], lo: tuple[float, float], margin: float) -> float:
    """P(X_hi − X_lo ≥ margin) for independent Beta(a, b) variables: ∫ f_lo(x) S_hi(x + margin) dx.

    The integrand calls scipy.special directly (Beta density in logs, ``betaincc`` for the survival
    function): the same values as ``scipy.stats.beta`` at a hundredth of the cost per call.
    """
    if margin >= 1:
        return 0.0
    (a_hi, b_hi), (a_lo, b_lo) = hi, lo
    log_norm = special.betaln(a_lo, b_lo)

    def integrand(x: float) -> float:
        density = math.exp(special.xlogy(a_lo - 1, x) + special.xlog1py(b_lo - 1, -x) - log_norm)
        return density * float(special.betaincc(a_hi, b_hi, min(x + margin, 1.0)))

    start = float(special.betaincinv(a_lo, b_lo, 1e-13))
    stop = float(special.betainccinv(a_lo, b_lo, 1e-13))
    stop = min(stop, 1.0 - max(margin, 0.0))
    start = max(start, -margin if margin < 0 else 0.0)
    if stop <= start:
        return 0.0
    mean = a_lo / (a_lo + b_lo)
    value, _ = integrate.quad(integrand, start, stop, points=[mean] if start < mean < stop else None,
                              limit=200, epsabs=1e-11, epsrel=1e-9)
    return float(min(max(value, 0.0), 1.0))


def _p_mid_log_or(mean: float, sd: float, control: tuple[float, float], mid: float, higher_is_better: bool) -> float:
    """P(benefit ≥ MID) on the risk-difference scale for a normal log-OR posterior N(mean, sd²) and the
    control rate's Beta(a, b) posterior: ∫ f_c(p) P(log OR ≥ logit(p + MID) − logit(p)) dp (higher is
    better), or ∫ f_c(p) P(log OR ≤ logit(p − MID) − logit(p)) dp (lower is better)."""
    a, b = control
    log_norm = special.betaln(a, b)

    def integrand(p: float) -> float:
        density = math.exp(special.xlogy(a - 1, p) + special.xlog1py(b - 1, -p) - log_norm)
        if higher_is_better:
            threshold = special.logit(p + mid) - special.logit(p)
            return density * float(special.ndtr((mean - threshold) / sd))
        threshold = special.logit(p - mid) - special.logit(p)
        return density * float(special.ndtr((threshold - mean) / sd))

    start = float(special.betaincinv(a, b, 1e-13))
    stop = float(special.betainccinv(a, b, 1e-13))
    if higher_is_better:
        stop = min(stop, 1.0 - mid)
    else:
        start = max(start, mid)
    if stop <= start:
        return 0.0
    centre = a / (a + b)
    value, _ = integrate.quad(integrand, start, stop, points=[centre] if start < centre < stop else None,
                              limit=200, epsabs=1e-11, epsrel=1e-9)
    return float(min(max(value, 0.0), 1.0))


def rate_benefit(count_pa: int, n_pa: int, count_control: int, n_control: int, *, rate: str = "recovery",
                 label: str | None = None, higher_is_better: bool | None = None,
                 mid: float = RATE_MID_DEFAULT) -> BenefitResult:
    """P(benefit) and P(benefit ≥ MID) for one rate under the three priors (see the module docstring).

    ``mid`` is a proportion (0.05 = 5 percentage points). ``higher_is_better`` defaults to the
    rate's definition (False for reliable deterioration).
    """
    definition = RATE_DEFINITIONS.get(rate)
    label = label or (definition.label if definition else rate)
    if higher_is_better is None:
        higher_is_better = definition.higher_is_better if definition else True
    if not 0 <= mid < 1:
        raise ValueError(f"The MID for a rate is a proportion between 0 and 1 (got {mid}).")
    basis = {GROUP_PA: {"count": int(count_pa), "denominator": int(n_pa)},
             GROUP_CONTROL: {"count": int(count_control), "denominator": int(n_control)}}
    problem = _check_counts(count_pa, n_pa, count_control, n_control)
    if problem is not None:
        priors = {p: Probability(p, None, None, mid, METHODS["vague_rate" if p == "vague" else "log_or"],
                                 reason=problem) for p in PRIORS}
        return BenefitResult(rate, label, "rate", mid, priors, higher_is_better, basis=basis)

    pa_post, control_post = _beta_posteriors(count_pa, n_pa, count_control, n_control)
    hi, lo = (pa_post, control_post) if higher_is_better else (control_post, pa_post)
    (a1, b1), (a2, b2) = pa_post, control_post
    diff_mean = a1 / (a1 + b1) - a2 / (a2 + b2)
    diff_sd = math.sqrt(a1 * b1 / ((a1 + b1) ** 2 * (a1 + b1 + 1)) + a2 * b2 / ((a2 + b2) ** 2 * (a2 + b2 + 1)))
    priors = {"vague": Probability("vague", _p_exceeds(hi, lo, 0.0), _p_exceeds(hi, lo, mid), mid,
                                   METHODS["vague_rate"], diff_mean, diff_sd, "risk difference")}

    estimate, se, corrected = log_or_likelihood(count_pa, n_pa, count_control, n_control)  # type: ignore[misc]
    for prior in ("sceptical", "enthusiastic"):
        m0, s0 = rate_log_or_prior(prior, higher_is_better)
        mean, sd = normal_posterior(m0, s0, estimate, se)
        p_benefit = float(special.ndtr(mean / sd) if higher_is_better else special.ndtr(-mean / sd))
        p_mid = _p_mid_log_or(mean, sd, control_post, mid, higher_is_better)
        priors[prior] = Probability(prior, p_benefit, p_mid, mid, METHODS["log_or"], mean, sd, "log odds ratio")
    notes = ()
    if corrected:
        notes = ("A group had 0% or 100% (a zero cell), so 0.5 was added to each of the four cells for the "
                 "log odds ratio's normal approximation (Haldane–Anscombe); the sceptical and enthusiastic "
                 "figures are approximate.",)
    return BenefitResult(rate, label, "rate", mid, priors, higher_is_better, corrected, notes, basis)


def rate_robustness(count_pa: int, n_pa: int, count_control: int, n_control: int, *,
                    higher_is_better: bool = True, mid: float = RATE_MID_DEFAULT,
                    prior_sds: Sequence[float] | None = None) -> pd.DataFrame:
    """P(benefit) and P(benefit ≥ MID) as the sceptical prior's SD on the log OR varies.

    Columns ``prior_sd``, ``p_benefit``, ``p_benefit_mid``. A small SD is a strongly sceptical prior
    (pulled to "no effect"); a large one lets the data speak. Exact (integration, as
    :func:`rate_benefit`). Empty when a group is empty.
    """
    sds = np.asarray(prior_sds if prior_sds is not None else [LOG_OR_PRIOR_SD * f for f in ROBUSTNESS_FACTORS], float)
    likelihood = log_or_likelihood(count_pa, n_pa, count_control, n_control)
    if likelihood is None or _check_counts(count_pa, n_pa, count_control, n_control) is not None:
        return pd.DataFrame(columns=["prior_sd", "p_benefit", "p_benefit_mid"])
    estimate, se, _ = likelihood
    control = _beta_posteriors(count_pa, n_pa, count_control, n_control)[1]
    rows = []
    for sd0 in sds:
        mean, sd = normal_posterior(0.0, float(sd0), estimate, se)
        p = float(special.ndtr(mean / sd) if higher_is_better else special.ndtr(-mean / sd))
        rows.append((float(sd0), p, _p_mid_log_or(mean, sd, control, mid, higher_is_better)))
    return pd.DataFrame(rows, columns=["prior_sd", "p_benefit", "p_benefit_mid"])


def rate_posterior_density(count_pa: int, n_pa: int, count_control: int, n_control: int, *,
                           higher_is_better: bool = True, bins: int = 121, draws: int = DRAWS,
                           seed: int = SEED) -> pd.DataFrame:
    """Posterior density of the risk difference (PA − control, as a proportion) under each prior.

    Columns ``prior``, ``difference``, ``density``: a normalised histogram of :data:`DRAWS` seeded
    draws on a common grid, lightly smoothed (Gaussian, 1.5 bins) for drawing (vague: Beta draws per group; sceptical / enthusiastic: log-OR posterior
    draws converted with control-rate draws, as for P(benefit ≥ MID)). Empty when a group is empty.
    """
    if draws < DRAWS:
        raise ValueError(f"Monte Carlo needs at least {DRAWS:,} draws (got {draws:,}).")
    if _check_counts(count_pa, n_pa, count_control, n_control) is not None:
        return pd.DataFrame(columns=["prior", "difference", "density"])
    rng = np.random.default_rng(seed)
    a0, b0 = VAGUE_BETA
    control_rate = rng.beta(count_control + a0, n_control - count_control + b0, draws)
    samples = {"vague": rng.beta(count_pa + a0, n_pa - count_pa + b0, draws) - control_rate}
    estimate, se, _ = log_or_likelihood(count_pa, n_pa, count_control, n_control)  # type: ignore[misc]
    z = rng.standard_normal(draws)
    for prior in ("sceptical", "enthusiastic"):
        mean, sd = normal_posterior(*rate_log_or_prior(prior, higher_is_better), estimate, se)
        samples[prior] = special.expit(special.logit(control_rate) + mean + sd * z) - control_rate
    low = min(float(np.quantile(s, 0.0005)) for s in samples.values())
    high = max(float(np.quantile(s, 0.9995)) for s in samples.values())
    if high <= low:
        low, high = low - 0.01, high + 0.01
    edges = np.linspace(low, high, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    frames = []
    for prior in PRIORS:
        counts, _ = np.histogram(samples[prior], bins=edges)
        smooth = ndimage.gaussian_filter1d(counts / (draws * np.diff(edges)), sigma=1.5, mode="constant")
        frames.append(pd.DataFrame({"prior": prior, "difference": centres, "density": smooth}))
    return pd.concat(frames, ignore_index=True)


# --- measures ----------------------------------------------------------------------------------


def measure_benefit(estimate: float | None, se: float | None, *, measure: str, label: str, mid: float,
                    reason: str | None = None, n: Mapping[str, int] | None = None) -> BenefitResult:
    """P(benefit) and P(benefit ≥ MID) for a measure's ANCOVA difference (PA − control; lower is better).

    ``n``: people per group behind the difference (kept as the result's basis, for safe mode)."""
    if not mid > 0:
        raise ValueError(f"The MID for a measure is a positive number of points (got {mid}).")
    priors: dict[str, Probability] = {}
    for prior in PRIORS:
        if estimate is None or se is None or not math.isfinite(estimate) or not (se > 0 and math.isfinite(se)):
            why = reason or "The adjusted (ANCOVA) difference or its standard error is not available."
            priors[prior] = Probability(prior, None, None, mid, METHODS["measure"], reason=why)
            continue
        mean, sd = normal_posterior(*measure_prior(prior, mid), estimate, se)
        priors[prior] = Probability(prior, float(stats.norm.cdf(0, mean, sd)), float(stats.norm.cdf(-mid, mean, sd)),
                                    mid, METHODS["measure"], mean, sd, "difference in last score")
    basis = {group: {"n": int(count)} for group, count in (n or {}).items()}
    return BenefitResult(measure, label, "measure", mid, priors, higher_is_better=False, basis=basis)


def measure_robustness(estimate: float, se: float, *, mid: float,
                       prior_sds: Sequence[float] | None = None) -> pd.DataFrame:
    """P(benefit) and P(benefit ≥ MID) as a sceptical N(0, SD²) prior's SD varies (closed form)."""
    sds = np.asarray(prior_sds if prior_sds is not None else [mid / MID_Z * f for f in ROBUSTNESS_FACTORS], float)
    w0, w = 1 / sds**2, 1 / se**2
    mean = w * estimate / (w0 + w)
    sd = np.sqrt(1 / (w0 + w))
    return pd.DataFrame({"prior_sd": sds, "p_benefit": stats.norm.cdf(0, mean, sd),
                         "p_benefit_mid": stats.norm.cdf(-mid, mean, sd)})


def measure_posterior_density(estimate: float, se: float, *, mid: float, points: int = 241) -> pd.DataFrame:
    """Posterior density of the difference in last score under each prior (exact normal densities)."""
    posts = {prior: normal_posterior(*measure_prior(prior, mid), estimate, se) for prior in PRIORS}
    low = min(m - 4 * s for m, s in posts.values())
    high = max(m + 4 * s for m, s in posts.values())
    low, high = min(low, -mid - 0.5), max(high, 0.5)
    grid = np.linspace(low, high, points)
    return pd.concat([pd.DataFrame({"prior": prior, "difference": grid, "density": stats.norm.pdf(grid, m, s)})
                      for prior, (m, s) in posts.items()], ignore_index=True)


# --- one analysis ------------------------------------------------------------------------------


def benefit_summary(rates: Mapping[str, Any], measures: Mapping[str, Any], *, rate_mid: float | None = None,
                    measure_mids: Mapping[str, float] | None = None) -> dict[str, BenefitResult]:
    """Every rate's and measure's probability of benefit, from an analysis's comparisons.

    ``rates``: :class:`~analysis.compare.RateComparison` per rate; ``measures``:
    :class:`~analysis.compare.MeasureComparison` per measure. Measures with a MID (a default in
    :data:`MEASURE_MID_DEFAULTS` or one given in ``measure_mids``) are included; the rest have no
    amount "that matters" and are left out.
    """
    rate_mid = RATE_MID_DEFAULT if rate_mid is None else rate_mid
    mids = {**MEASURE_MID_DEFAULTS, **(measure_mids or {})}
    out: dict[str, BenefitResult] = {}
    for name, comparison in rates.items():
        pa, control = comparison.groups[GROUP_PA], comparison.groups[GROUP_CONTROL]
        out[name] = rate_benefit(pa.count, pa.denominator, control.count, control.denominator, rate=name,
                                 mid=rate_mid)
    for key, comparison in measures.items():
        if key not in mids:
            continue
        a = comparison.ancova
        se = ancova_se(a.estimate, a.ci95, a.df)
        out[key] = measure_benefit(a.estimate, se, measure=key, label=comparison.label, mid=float(mids[key]),
                                   reason=a.reason, n={g: comparison.descriptives[g].n for g in GROUPS})
    return out


# --- from the JSON back to words (the CLI's text report, safe mode included) ----------------------


def _label(key: str) -> tuple[str, str, bool]:
    """(label, kind, higher_is_better) for a rate or measure key."""
    if key in RATE_DEFINITIONS:
        return RATE_DEFINITIONS[key].label, "rate", RATE_DEFINITIONS[key].higher_is_better
    from analysis.compare import measure_for

    try:
        return measure_for(key).label, "measure", False
    except KeyError:
        return key, "measure", False


def result_from_dict(key: str, entry: Mapping[str, Any]) -> BenefitResult:
    """A :class:`BenefitResult` rebuilt from its JSON (``bayes.<key>``), for sentences and tables."""
    label, kind, higher = _label(key)
    mid = next((entry[p].get("mid") for p in PRIORS if isinstance(entry.get(p), Mapping)), None)
    mid = float(mid) if mid is not None else (RATE_MID_DEFAULT if kind == "rate" else 0.0)
    priors = {p: Probability(p, entry.get(p, {}).get("p_benefit"), entry.get(p, {}).get("p_benefit_mid"), mid, "",
                             reason=entry.get(p, {}).get("reason")) for p in PRIORS}
    return BenefitResult(key, label, kind, mid, priors, higher, bool(entry.get("continuity_correction")),
                         tuple(entry.get("notes") or ()))


def text_lines(bayes_json: Mapping[str, Any]) -> list[str]:
    """The ``bayes`` block as plain-text lines: each outcome's chances under the three priors."""
    lines = ["Probability of benefit (Bayesian; P(benefit) / P(benefit ≥ MID), MID = minimal important difference):"]
    for key, entry in bayes_json.items():
        result = result_from_dict(key, entry)
        parts = []
        for prior in PRIORS:
            p = result.priors[prior]
            parts.append(f"{prior} {percent_chance(p.p_benefit)} / {percent_chance(p.p_benefit_mid)}")
        lines.append(f"  {result.label} (MID {result.mid_text()}): " + "; ".join(parts))
        if result.priors["sceptical"].p_benefit is None and entry.get("hidden"):
            lines.append(f"    {entry['hidden']}")
        else:
            lines.append(f"    {result.sentence('sceptical')}")
        for note in result.notes:
            lines.append(f"    Note: {note}")
    return lines


def methods_items() -> list[tuple[str, str]]:
    """(name, description) of each choice, from the constants above, for the Methods page."""
    enthusiastic = f"{ENTHUSIASTIC_OR:g}"
    return [
        ("Priors for the rates", f"vague: Beta({VAGUE_BETA[0]:g}, {VAGUE_BETA[1]:g}) per group (every rate equally likely); "
         f"sceptical: normal on the log odds ratio with mean 0 and SD {LOG_OR_PRIOR_SD:g} (an odds ratio beyond "
         f"{math.exp(1.96 * LOG_OR_PRIOR_SD):.1f} either way has a 5% prior chance); enthusiastic: the same SD "
         f"centred on an odds ratio of {enthusiastic} in physical activity's favour (1/{enthusiastic} for "
         "deterioration, where a lower rate is the benefit)."),
        ("Priors for PHQ-9 and GAD-7", f"on the ANCOVA difference in last score: vague N(0, {VAGUE_MEASURE_SD:g}²); "
         f"sceptical N(0, (MID/{MID_Z:g})²), so a difference beyond the MID either way has a 5% prior chance; "
         "enthusiastic N(−MID, (MID/1.96)²), a benefit of one MID (lower scores are better)."),
        ("How the chances are worked out", f"{METHODS['vague_rate']} {METHODS['log_or']} {METHODS['measure']}"),
        ("Zero cells", "When a group has 0% or 100% the log odds ratio is undefined, so 0.5 is added to each of the "
         "four cells (Haldane–Anscombe) for the sceptical and enthusiastic rate priors, and the result says so. "
         "The vague (Beta) results need no correction."),
        ("MID for the rates (default)", MID_SOURCES["rates"]),
        (f"MID for {PHQ9.label} (default)", MID_SOURCES[PHQ9.key]),
        (f"MID for {GAD7.label} (default)", MID_SOURCES[GAD7.key]),
        ("References", "Spiegelhalter DJ, Abrams KR, Myles JP. Bayesian Approaches to Clinical Trials and "
         "Health-Care Evaluation. Wiley, 2004 (sceptical and enthusiastic priors); Gelman A et al. Bayesian "
         "Data Analysis, 3rd ed., 2013 (conjugate updates); Haldane JBS 1940, Anscombe FJ 1956 (0.5 correction)."),
    ]


# --- presentation-safe mode (analysis.disclosure's registry of top-level blocks) ------------------


def basis_is_small(entry: Mapping[str, Any]) -> bool:
    """True when any group count an entry rests on (its ``basis``) is missing or would be suppressed."""
    basis = entry.get("basis") if isinstance(entry, Mapping) else None
    if not isinstance(basis, Mapping):
        return True
    for group in GROUPS:
        counts = basis.get(group)
        if not isinstance(counts, Mapping) or not counts or any(safe_count(v) is None for v in counts.values()):
            return True
    return False


def safe_basis(basis: Any) -> Any:
    """Basis counts as safe mode shows counts (suppressed below the threshold, rounded), with the reason."""
    if not isinstance(basis, Mapping):
        return None
    out = {}
    for group, counts in basis.items():
        shown = {k: safe_count(v) for k, v in counts.items()} if isinstance(counts, Mapping) else {}
        if any(v is None for v in shown.values()) or not shown:
            shown["reason"] = HIDDEN_COUNT_REASON
        out[group] = shown
    return out


def make_bayes_safe(block: Mapping[str, Any]) -> dict[str, Any]:
    """The ``bayes`` block as presentation-safe mode shows it.

    Probabilities are not counts and pass unchanged, unless the outcome rests on a group count
    below the threshold (rates: a group's count or denominator; measures: a group's n), when they
    become null with the reason, and a zero-cell note or flag (which would reveal a count) goes too.
    The basis counts are suppressed and rounded as counts. MIDs are settings and never change.
    """
    out: dict[str, Any] = {}
    for key, entry in block.items():
        if not isinstance(entry, Mapping):
            out[key] = entry
            continue
        safe = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in entry.items()}
        if basis_is_small(entry):
            for prior in PRIORS:
                if isinstance(safe.get(prior), dict):
                    safe[prior].update(p_benefit=None, p_benefit_mid=None, reason=HIDDEN_FIGURE_REASON)
            safe.pop("notes", None)
            if "continuity_correction" in safe:
                safe["continuity_correction"] = None
            safe["hidden"] = safe["reason"] = HIDDEN_FIGURE_REASON
        if "basis" in safe:
            safe["basis"] = safe_basis(entry["basis"])
        out[key] = safe
    return out


register_safe_block("bayes", lambda block, summary: make_bayes_safe(block))
