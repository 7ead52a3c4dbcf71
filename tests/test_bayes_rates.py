"""Probability of benefit for the rates, checked against independent computations.

Vague prior: Evan Miller's closed-form sum for P(X_B > X_A) with Beta posteriors (integer
parameters) and scipy.integrate.dblquad for P(X_B − X_A ≥ MID). Sceptical / enthusiastic: the
posterior worked out by hand, and P(benefit ≥ MID) by one-dimensional integration over the control
rate instead of the module's Monte Carlo draws.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from analysis import bayes


def miller_p_greater(alpha_b: int, beta_b: int, alpha_a: int, beta_a: int) -> float:
    """P(X_B > X_A), X ~ Beta, integer alpha_b (Evan Miller 2015, "Formulas for Bayesian A/B testing")."""
    total = 0.0
    for i in range(alpha_b):
        total += math.exp(special.betaln(alpha_a + i, beta_a + beta_b) - math.log(beta_b + i)
                          - special.betaln(1 + i, beta_b) - special.betaln(alpha_a, beta_a))
    return total


def dblquad_p_exceeds(hi: tuple[int, int], lo: tuple[int, int], margin: float) -> float:
    """P(X_hi − X_lo ≥ margin) by double integration of the two Beta densities."""
    f_hi, f_lo = stats.beta(*hi), stats.beta(*lo)
    value, _ = integrate.dblquad(lambda y, x: f_lo.pdf(x) * f_hi.pdf(y), 0, 1 - margin,
                                 lambda x: x + margin, lambda x: 1.0, epsabs=1e-10, epsrel=1e-8)
    return value


def hand_log_or_posterior(a, n1, c, n2, prior_mean, prior_sd=0.35):
    b, d = n1 - a, n2 - c
    if 0 in (a, b, c, d):
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    est, var = math.log(a * d / (b * c)), 1 / a + 1 / b + 1 / c + 1 / d
    precision = 1 / prior_sd**2 + 1 / var
    return (prior_mean / prior_sd**2 + est / var) / precision, math.sqrt(1 / precision)


def integrated_p_mid(mean, sd, c, n2, mid, higher_is_better=True):
    """P(RD ≥ MID) = ∫ f_c(p) P(log OR ≥ logit(p + MID) − logit(p)) dp (or the mirror for lower-is-better)."""
    control = stats.beta(c + 1, n2 - c + 1)

    def inner(p):
        if higher_is_better:
            if p + mid >= 1:
                return 0.0
            return stats.norm.sf(special.logit(p + mid) - special.logit(p), mean, sd)
        if p - mid <= 0:
            return 0.0
        return stats.norm.cdf(special.logit(p - mid) - special.logit(p), mean, sd)

    value, _ = integrate.quad(lambda p: control.pdf(p) * inner(p), 0, 1, limit=400)
    return value


def monte_carlo_p_mid(mean, sd, c, n2, mid, higher_is_better=True, draws=1_000_000, seed=7):
    rng = np.random.default_rng(seed)
    control = rng.beta(c + 1, n2 - c + 1, draws)
    pa = special.expit(special.logit(control) + rng.normal(mean, sd, draws))
    difference = pa - control
    return float(np.mean(difference >= mid if higher_is_better else difference <= -mid))


PILOT = (12, 19, 5, 14)  # the published pilot's recovery: 63% vs 36%


@pytest.mark.parametrize("counts", [PILOT, (1, 1, 0, 1), (0, 10, 0, 10), (10, 10, 0, 10), (3, 4, 7, 9),
                                    (40, 100, 35, 90), (0, 3, 2, 2)])
def test_vague_p_benefit_matches_closed_form(counts):
    a, n1, c, n2 = counts
    result = bayes.rate_benefit(a, n1, c, n2)
    expected = miller_p_greater(a + 1, n1 - a + 1, c + 1, n2 - c + 1)
    assert result.priors["vague"].p_benefit == pytest.approx(expected, abs=1e-8)


def test_tiny_groups_by_hand():
    # 1/1 vs 0/1: Beta(2, 1) vs Beta(1, 2); P(X > Y) = ∫ 2x (2x − x²) dx = 5/6.
    result = bayes.rate_benefit(1, 1, 0, 1)
    assert result.priors["vague"].p_benefit == pytest.approx(5 / 6, abs=1e-9)
    assert result.continuity_correction is True


@pytest.mark.parametrize("counts", [PILOT, (1, 1, 0, 1), (0, 10, 0, 10), (10, 10, 0, 10), (3, 4, 7, 9)])
@pytest.mark.parametrize("mid", [0.05, 0.2])
def test_vague_p_mid_matches_double_integral(counts, mid):
    a, n1, c, n2 = counts
    result = bayes.rate_benefit(a, n1, c, n2, mid=mid)
    expected = dblquad_p_exceeds((a + 1, n1 - a + 1), (c + 1, n2 - c + 1), mid)
    assert result.priors["vague"].p_benefit_mid == pytest.approx(expected, abs=1e-6)
    assert result.priors["vague"].p_benefit_mid < result.priors["vague"].p_benefit


def test_equal_groups_are_even_odds():
    for counts in [(0, 10, 0, 10), (10, 10, 10, 10), (5, 10, 5, 10)]:
        result = bayes.rate_benefit(*counts)
        assert result.priors["vague"].p_benefit == pytest.approx(0.5, abs=1e-8)
        assert result.priors["sceptical"].p_benefit == pytest.approx(0.5, abs=1e-12)
        assert result.priors["enthusiastic"].p_benefit > 0.5  # the prior favours PA


@pytest.mark.parametrize("counts", [PILOT, (0, 10, 0, 10), (10, 10, 0, 10), (2, 3, 1, 4), (400, 1000, 350, 1000)])
@pytest.mark.parametrize("prior", ["sceptical", "enthusiastic"])
def test_log_or_priors_match_hand_posterior_and_integration(counts, prior):
    a, n1, c, n2 = counts
    result = bayes.rate_benefit(a, n1, c, n2)
    prior_mean = 0.0 if prior == "sceptical" else math.log(1.5)
    mean, sd = hand_log_or_posterior(a, n1, c, n2, prior_mean)
    p = result.priors[prior]
    assert p.posterior_mean == pytest.approx(mean, abs=1e-12)
    assert p.posterior_sd == pytest.approx(sd, abs=1e-12)
    assert p.p_benefit == pytest.approx(stats.norm.sf(0, mean, sd), abs=1e-12)
    assert p.p_benefit_mid == pytest.approx(integrated_p_mid(mean, sd, c, n2, 0.05), abs=1e-6)
    # The design's Monte Carlo recipe: each log-OR draw converted with a control-rate draw (10⁶ draws:
    # standard error at most 0.0005, so 0.003 is 6 SEs).
    assert p.p_benefit_mid == pytest.approx(monte_carlo_p_mid(mean, sd, c, n2, 0.05), abs=0.003)


def test_pilot_sceptical_values():
    result = bayes.rate_benefit(*PILOT)
    # log OR = log(12·9 / (7·5)) = 1.1268, var = 1/12+1/7+1/5+1/9 = 0.5377; prior N(0, 0.35²).
    assert result.priors["sceptical"].posterior_mean == pytest.approx(0.2097, abs=1e-3)
    assert result.priors["sceptical"].p_benefit == pytest.approx(0.746, abs=1e-3)
    assert result.continuity_correction is False and not result.notes


def test_deterioration_benefit_is_a_lower_rate():
    counts = (2, 19, 5, 14)
    worse = bayes.rate_benefit(*counts, rate="reliable_deterioration")
    as_if_higher = bayes.rate_benefit(*counts, rate="recovery")
    assert worse.higher_is_better is False
    assert worse.priors["vague"].p_benefit == pytest.approx(1 - as_if_higher.priors["vague"].p_benefit, abs=1e-8)
    assert worse.priors["sceptical"].p_benefit == pytest.approx(1 - as_if_higher.priors["sceptical"].p_benefit,
                                                                abs=1e-12)
    # The enthusiastic prior favours PA, which for deterioration is a lower rate: mean −log 1.5.
    mean, sd = hand_log_or_posterior(*counts, -math.log(1.5))
    assert worse.priors["enthusiastic"].posterior_mean == pytest.approx(mean)
    expected_mid = dblquad_p_exceeds((5 + 1, 14 - 5 + 1), (2 + 1, 19 - 2 + 1), 0.05)
    assert worse.priors["vague"].p_benefit_mid == pytest.approx(expected_mid, abs=1e-6)
    sceptical = hand_log_or_posterior(*counts, 0.0)
    assert worse.priors["sceptical"].p_benefit_mid == pytest.approx(
        integrated_p_mid(*sceptical, 5, 14, 0.05, higher_is_better=False), abs=1e-6)
    assert worse.priors["sceptical"].p_benefit_mid == pytest.approx(
        monte_carlo_p_mid(*sceptical, 5, 14, 0.05, higher_is_better=False), abs=0.003)
    assert "lowers the reliable deterioration rate" in worse.sentence()


def test_zero_cells_use_the_continuity_correction_and_say_so():
    result = bayes.rate_benefit(0, 6, 3, 7)
    assert result.continuity_correction is True
    assert result.to_dict()["continuity_correction"] is True
    assert "0.5 was added" in result.to_dict()["notes"][0]
    estimate, se, corrected = bayes.log_or_likelihood(0, 6, 3, 7)
    assert corrected and estimate == pytest.approx(math.log(0.5 * 4.5 / (6.5 * 3.5)))
    assert se == pytest.approx(math.sqrt(1 / 0.5 + 1 / 6.5 + 1 / 3.5 + 1 / 4.5))
    for prior in bayes.PRIORS:
        assert 0 <= result.priors[prior].p_benefit <= 1


def test_empty_group_is_null_with_reason():
    result = bayes.rate_benefit(0, 0, 3, 7)
    for prior in bayes.PRIORS:
        entry = result.to_dict()[prior]
        assert entry["p_benefit"] is None and entry["p_benefit_mid"] is None
        assert "no one" in entry["reason"]
    assert "cannot be worked out" in result.sentence()
    assert bayes.rate_robustness(0, 0, 3, 7).empty
    assert bayes.rate_posterior_density(0, 0, 3, 7).empty


def test_figures_are_deterministic_and_the_density_is_seeded():
    assert bayes.rate_benefit(*PILOT).to_dict() == bayes.rate_benefit(*PILOT).to_dict()
    first = bayes.rate_posterior_density(*PILOT)
    assert first.equals(bayes.rate_posterior_density(*PILOT))
    with pytest.raises(ValueError, match="100,000"):
        bayes.rate_posterior_density(*PILOT, draws=10_000)
    with pytest.raises(ValueError):
        bayes.rate_benefit(*PILOT, mid=1.5)


def test_mid_of_zero_gives_the_closed_form_chance():
    result = bayes.rate_benefit(*PILOT, mid=0.0)
    for prior in bayes.PRIORS:
        assert result.priors[prior].p_benefit_mid == pytest.approx(result.priors[prior].p_benefit, abs=1e-7)


def test_very_large_groups_are_fast_and_sensible():
    result = bayes.rate_benefit(400_000, 1_000_000, 350_000, 1_000_000)
    assert result.priors["vague"].p_benefit == pytest.approx(1.0)
    # the difference is exactly 5 points, so a benefit of at least 5 is even odds
    assert result.priors["vague"].p_benefit_mid == pytest.approx(0.5, abs=0.01)
    assert result.priors["sceptical"].p_benefit_mid == pytest.approx(0.5, abs=0.02)


def test_mid_changes_only_the_mid_probability():
    small, big = bayes.rate_benefit(*PILOT, mid=0.01), bayes.rate_benefit(*PILOT, mid=0.2)
    for prior in bayes.PRIORS:
        assert small.priors[prior].p_benefit == pytest.approx(big.priors[prior].p_benefit)
        assert small.priors[prior].p_benefit_mid > big.priors[prior].p_benefit_mid
    assert big.to_dict()["sceptical"]["mid"] == 0.2
    assert "20 percentage points" in big.sentence()


def test_robustness_curve_runs_from_sceptical_to_the_data():
    curve = bayes.rate_robustness(*PILOT)
    assert list(curve.columns) == ["prior_sd", "p_benefit", "p_benefit_mid"]
    assert curve["prior_sd"].is_monotonic_increasing
    assert curve["p_benefit"].is_monotonic_increasing  # less scepticism, more belief in the benefit
    at_default = curve.iloc[(curve["prior_sd"] - bayes.LOG_OR_PRIOR_SD).abs().argmin()]
    assert at_default["prior_sd"] == pytest.approx(bayes.LOG_OR_PRIOR_SD)
    single = bayes.rate_benefit(*PILOT).priors["sceptical"]
    assert at_default["p_benefit"] == pytest.approx(single.p_benefit)
    assert at_default["p_benefit_mid"] == pytest.approx(single.p_benefit_mid)
    est, se, _ = bayes.log_or_likelihood(*PILOT)
    wide = bayes.rate_robustness(*PILOT, prior_sds=[1000.0])
    assert wide["p_benefit"].iloc[0] == pytest.approx(stats.norm.sf(0, est, se), abs=1e-6)


def test_posterior_density_integrates_to_one_near_the_posterior():
    density = bayes.rate_posterior_density(*PILOT)
    assert set(density["prior"]) == set(bayes.PRIORS)
    for _prior, frame in density.groupby("prior"):
        step = float(np.diff(frame["difference"].to_numpy()).mean())
        assert float(frame["density"].sum() * step) == pytest.approx(1.0, abs=0.01)
    vague = density[density["prior"] == "vague"]
    step = float(np.diff(vague["difference"].to_numpy()).mean())
    mean = float((vague["difference"] * vague["density"]).sum() * step)
    assert mean == pytest.approx(13 / 21 - 6 / 16, abs=0.005)  # Beta(13, 8) mean − Beta(6, 10) mean
