"""Probability of benefit for the measures: closed-form normal posteriors worked out in the test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from analysis import bayes
from analysis.compare import ancova
from analysis.summary import analyse
from analysis.validate import load_path


def closed_form(d, se, prior_mean, prior_sd, mid):
    precision = 1 / prior_sd**2 + 1 / se**2
    mean = (prior_mean / prior_sd**2 + d / se**2) / precision
    sd = 1 / math.sqrt(precision)
    return mean, sd, stats.norm.cdf(-mean / sd), stats.norm.cdf((-mid - mean) / sd)


@pytest.mark.parametrize("d,se", [(-2.5, 1.5), (1.0, 0.8), (0.0, 2.0), (-6.0, 0.4)])
@pytest.mark.parametrize("mid", [5.0, 4.0, 2.5])
def test_each_prior_matches_the_closed_form(d, se, mid):
    result = bayes.measure_benefit(d, se, measure="phq9", label="PHQ-9", mid=mid)
    priors = {"vague": (0.0, 100.0), "sceptical": (0.0, mid / 1.96), "enthusiastic": (-mid, mid / 1.96)}
    for name, (m0, s0) in priors.items():
        mean, sd, p, p_mid = closed_form(d, se, m0, s0, mid)
        got = result.priors[name]
        assert got.posterior_mean == pytest.approx(mean, abs=1e-12)
        assert got.posterior_sd == pytest.approx(sd, abs=1e-12)
        assert got.p_benefit == pytest.approx(p, abs=1e-12)
        assert got.p_benefit_mid == pytest.approx(p_mid, abs=1e-12)


def test_posterior_probability_by_numerical_integration():
    # Independent of the conjugate formula: integrate prior × likelihood on a grid.
    d, se, mid = -2.5, 1.5, 5.0
    prior = stats.norm(0, mid / 1.96)
    unnormalised = lambda x: prior.pdf(x) * stats.norm.pdf(d, x, se)  # noqa: E731
    total, _ = integrate.quad(unnormalised, -60, 60, points=[0, d])
    below_zero, _ = integrate.quad(unnormalised, -60, 0)
    below_mid, _ = integrate.quad(unnormalised, -60, -mid)
    got = bayes.measure_benefit(d, se, measure="phq9", label="PHQ-9", mid=mid).priors["sceptical"]
    assert got.p_benefit == pytest.approx(below_zero / total, abs=1e-8)
    assert got.p_benefit_mid == pytest.approx(below_mid / total, abs=1e-8)


def test_sceptical_prior_gives_five_percent_beyond_the_mid_a_priori():
    # With no information in the data the posterior is the prior: P(effect < −MID) = 2.5% each side.
    got = bayes.measure_benefit(0.0, 1e6, measure="gad7", label="GAD-7", mid=4.0)
    assert got.priors["sceptical"].p_benefit_mid == pytest.approx(0.025, abs=1e-5)
    assert got.priors["enthusiastic"].p_benefit_mid == pytest.approx(0.5, abs=1e-6)
    assert got.priors["sceptical"].p_benefit == pytest.approx(0.5, abs=1e-6)


def test_unavailable_ancova_is_null_with_its_reason():
    got = bayes.measure_benefit(None, None, measure="phq9", label="PHQ-9", mid=5, reason="Needs at least 2.")
    assert got.to_dict()["vague"] == {"p_benefit": None, "p_benefit_mid": None, "mid": 5, "reason": "Needs at least 2."}
    with pytest.raises(ValueError):
        bayes.measure_benefit(-1, 1, measure="phq9", label="PHQ-9", mid=0)


def test_ancova_se_recovers_the_standard_error():
    rng = np.random.default_rng(3)
    first = rng.integers(8, 27, 30).astype(float)
    pa = np.repeat([1, 0], 15)
    last = first - 3 - 2 * pa + rng.normal(0, 3, 30)
    e = ancova(first, last, pa)
    se = bayes.ancova_se(e.estimate, e.ci95, e.df)
    assert se == pytest.approx(abs(e.estimate / e.statistic), rel=1e-9)
    assert bayes.ancova_se(None, None, None) is None


def test_robustness_and_density():
    curve = bayes.measure_robustness(-2.5, 1.5, mid=5.0)
    assert curve["p_benefit"].is_monotonic_increasing
    row = curve.iloc[(curve["prior_sd"] - 5 / 1.96).abs().argmin()]
    single = bayes.measure_benefit(-2.5, 1.5, measure="phq9", label="PHQ-9", mid=5.0).priors["sceptical"]
    assert row["p_benefit"] == pytest.approx(single.p_benefit) and row["p_benefit_mid"] == pytest.approx(single.p_benefit_mid)
    density = bayes.measure_posterior_density(-2.5, 1.5, mid=5.0)
    for _, frame in density.groupby("prior"):
        x = frame["difference"].to_numpy()
        assert float(np.trapezoid(frame["density"].to_numpy(), x)) == pytest.approx(1.0, abs=1e-3)
    assert density["difference"].min() < -5  # the MID is on the chart


def test_benefit_summary_on_the_sample_follows_the_contract():
    report = load_path("data/sample/synthetic_pilot_episodes.csv")
    analysis = analyse(report.episodes)
    summary = bayes.benefit_summary(analysis.rates, analysis.measures)
    assert set(summary) >= {"recovery", "reliable_recovery", "reliable_improvement", "reliable_deterioration",
                            "phq9", "gad7"}
    for _key, result in summary.items():
        entry = result.to_dict()
        for prior in ("vague", "sceptical", "enthusiastic"):
            assert set(entry[prior]) >= {"p_benefit", "p_benefit_mid", "mid"}
            assert 0 <= entry[prior]["p_benefit"] <= 1
    assert summary["phq9"].mid == 5 and summary["gad7"].mid == 4 and summary["recovery"].mid == 0.05
    a = analysis.measures["phq9"].ancova
    se = bayes.ancova_se(a.estimate, a.ci95, a.df)
    assert summary["phq9"].priors["vague"].p_benefit == pytest.approx(
        closed_form(a.estimate, se, 0, 100, 5)[2], abs=1e-12)
    custom = bayes.benefit_summary(analysis.rates, analysis.measures, rate_mid=0.1, measure_mids={"phq9": 3})
    assert custom["phq9"].mid == 3 and custom["recovery"].mid == 0.1
