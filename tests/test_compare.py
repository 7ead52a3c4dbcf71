"""Comparisons against values worked independently of the code under test."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.compare import (
    ancova,
    baseline_balance,
    compare_counts,
    compare_measure,
    fisher_test,
    hedges_g,
    mann_whitney,
    number_needed_to_treat,
    odds_ratio,
    permutation_test,
    proportion_smd,
    rate_difference,
    relative_risk,
    standardised_mean_difference,
    subgroup_analysis,
    welch_test,
)
from analysis.results import Estimate

PA = np.array([-6.0, -8, -4, -10])
CONTROL = np.array([-2.0, -3, -1, -4, 0])


def test_newcombe_own_example():
    # Newcombe (1998) Statistics in Medicine 17:873, example (a): 56/70 vs 48/80.
    d = rate_difference(56, 70, 48, 80)
    assert d.estimate == pytest.approx(0.200, abs=5e-4)
    assert d.ci95[0] == pytest.approx(0.0524, abs=5e-5)
    assert d.ci95[1] == pytest.approx(0.3339, abs=5e-5)


def test_newcombe_example_with_zero_cell():
    # Newcombe (1998) example (f): 0/10 vs 0/20 -> -0.1611 to 0.2775 (method 10).
    d = rate_difference(0, 10, 0, 20)
    assert d.ci95[0] == pytest.approx(-0.1611, abs=5e-5)
    assert d.ci95[1] == pytest.approx(0.2775, abs=5e-5)


def test_welch_by_hand():
    # means -7 and -2; variances 20/3 and 2.5; se² = 20/12 + 0.5
    se2 = 20 / 3 / 4 + 2.5 / 5
    df = se2**2 / ((20 / 3 / 4) ** 2 / 3 + (2.5 / 5) ** 2 / 4)
    t = -5 / math.sqrt(se2)
    half = stats.t.ppf(0.975, df) * math.sqrt(se2)
    e = welch_test(PA, CONTROL)
    assert e.estimate == pytest.approx(-5)
    assert e.df == pytest.approx(df) and df == pytest.approx(4.7494, abs=1e-4)
    assert e.statistic == pytest.approx(t)
    assert e.ci95 == pytest.approx((-5 - half, -5 + half))
    assert e.p == pytest.approx(2 * stats.t.sf(abs(t), df))
    assert e.n == {"physical_activity": 4, "control": 5}


def test_welch_too_small_is_none_with_reason():
    e = welch_test(np.array([-3.0]), CONTROL)
    assert e.estimate is None and e.ci95 is None and "at least 2" in e.reason


def test_welch_zero_variance_is_none_with_reason():
    e = welch_test(np.array([-3.0, -3.0]), np.array([-1.0, -1.0]))
    assert e.estimate is None and "zero variance" in e.reason


def test_mann_whitney_complete_separation_exact():
    # PA all below control: U_PA = 0; exact two-sided p = 2/C(6,3) = 0.1.
    e = mann_whitney(np.array([1.0, 2, 3]), np.array([4.0, 5, 6]))
    assert e.statistic == 0
    assert e.p == pytest.approx(0.1)


def test_permutation_exact_small_sample():
    e = permutation_test(np.array([1.0, 2, 3]), np.array([4.0, 5, 6]), n_resamples=9999, seed=1)
    assert e.estimate == pytest.approx(-3)
    assert e.p == pytest.approx(0.1)  # 2 of the 20 splits are as extreme
    assert e.extra["n_resamples"] == 9999 and e.extra["seed"] == 1


def test_permutation_is_reproducible():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 30), rng.normal(0.5, 1, 30)
    assert permutation_test(a, b).p == permutation_test(a, b).p


def test_hedges_g_by_hand():
    n1, n2 = 4, 5
    pooled = math.sqrt((3 * 20 / 3 + 4 * 2.5) / 7)
    d = -5 / pooled
    g = d * (1 - 3 / (4 * 9 - 9))
    se = math.sqrt(9 / 20 + g**2 / 18)
    e = hedges_g(PA, CONTROL)
    assert e.estimate == pytest.approx(g)
    assert e.ci95 == pytest.approx((g - 1.96 * se, g + 1.96 * se))
    assert n1 + n2 == 9


def test_ancova_against_normal_equations():
    first = np.array([10.0, 12, 15, 18, 11, 13, 16, 20])
    last = np.array([4.0, 7, 8, 12, 9, 10, 14, 17])
    pa = np.array([1.0, 1, 1, 1, 0, 0, 0, 0])
    X = np.column_stack([np.ones(8), pa, first])
    beta = np.linalg.solve(X.T @ X, X.T @ last)
    resid = last - X @ beta
    sigma2 = resid @ resid / (8 - 3)
    se = math.sqrt(sigma2 * np.linalg.inv(X.T @ X)[1, 1])
    half = stats.t.ppf(0.975, 5) * se
    e = ancova(first, last, pa)
    assert e.estimate == pytest.approx(beta[1])
    assert e.ci95 == pytest.approx((beta[1] - half, beta[1] + half))
    assert e.p == pytest.approx(2 * stats.t.sf(abs(beta[1] / se), 5))
    adjusted = e.extra["adjusted_mean_last"]
    assert adjusted["physical_activity"] - adjusted["control"] == pytest.approx(beta[1])
    assert adjusted["control"] == pytest.approx(beta[0] + beta[2] * first.mean())


@pytest.mark.parametrize("n", [8, 60, 5_000, 200_000])
def test_ancova_matches_statsmodels_ols(n):
    # The closed-form fit must agree with statsmodels' OLS (SVD) on the same design.
    from statsmodels.regression.linear_model import OLS

    rng = np.random.default_rng(n)
    first = rng.integers(10, 28, n).astype(float)
    pa = (np.arange(n) % 2).astype(float)
    last = np.clip(first - 4 - 2 * pa + rng.normal(0, 5, n).round(), 0, 27)
    fit = OLS(last, np.column_stack([np.ones(n), pa, first])).fit()
    e = ancova(first, last, pa)
    assert e.estimate == pytest.approx(fit.params[1], rel=1e-9, abs=1e-12)
    assert e.ci95 == pytest.approx(tuple(fit.conf_int(0.05)[1]), rel=1e-9)
    assert e.statistic == pytest.approx(fit.tvalues[1], rel=1e-9)
    assert e.p == pytest.approx(fit.pvalues[1], rel=1e-7, abs=1e-300)
    assert e.df == fit.df_resid
    assert e.extra["first_score_slope"] == pytest.approx(fit.params[2], rel=1e-9)
    assert e.extra["adjusted_mean_last"]["control"] == pytest.approx(fit.params[0] + fit.params[2] * first.mean())


def test_ancova_first_score_fixed_by_group_is_none():
    # Every PA first score 10, every control 12: the covariate is the group itself (rank 2).
    e = ancova(np.array([10.0, 10, 10, 12, 12, 12]), np.arange(6.0), np.array([1.0, 1, 1, 0, 0, 0]))
    assert e.estimate is None and "within each group" in e.reason


def test_ancova_constant_first_score_is_none():
    e = ancova(np.array([10.0] * 6), np.array([1.0, 2, 3, 4, 5, 6]), np.array([1.0, 1, 1, 0, 0, 0]))
    assert e.estimate is None and "first score" in e.reason


def test_fisher_and_exact_odds_ratio_match_design_doc_example():
    # Design doc example: 12/19 vs 5/14 -> OR 2.98, Fisher p 0.166.
    assert fisher_test(12, 19, 5, 14).p == pytest.approx(0.166, abs=5e-4)
    o = odds_ratio(12, 19, 5, 14)
    assert o.estimate == pytest.approx(2.98, abs=5e-3)
    assert "exact" in o.method


def test_odds_ratio_above_1000_uses_woolf():
    a, b, c, d = 300, 300, 200, 400
    o = odds_ratio(a, a + b, c, c + d)
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert o.estimate == pytest.approx(2.0)
    assert o.ci95 == pytest.approx((math.exp(math.log(2) - 1.96 * se), math.exp(math.log(2) + 1.96 * se)))
    assert "Woolf" in o.method


def test_odds_ratio_zero_cell_is_the_conditional_mle_zero():
    # As R's fisher.test: estimate 0 with a finite exact upper bound (tests/test_results_edge_cases.py
    # checks the bound against the noncentral hypergeometric distribution).
    o = odds_ratio(0, 10, 5, 10)
    assert o.estimate == 0 and o.ci95[0] == 0 and 0 < o.ci95[1] < 1


def test_relative_risk_katz():
    se = math.sqrt(1 / 12 - 1 / 19 + 1 / 5 - 1 / 14)
    rr = (12 / 19) / (5 / 14)
    e = relative_risk(12, 19, 5, 14)
    assert e.estimate == pytest.approx(rr)
    assert e.ci95 == pytest.approx((rr * math.exp(-1.96 * se), rr * math.exp(1.96 * se)), rel=1e-3)


def test_nnt_when_ci_excludes_zero():
    e = number_needed_to_treat(Estimate("d", 0.25, (0.1, 0.4)))
    assert e.estimate == pytest.approx(4)
    assert e.ci95 == pytest.approx((2.5, 10))


def test_nnt_when_ci_includes_zero_runs_through_infinity():
    e = number_needed_to_treat(Estimate("d", 0.25, (-0.05, 0.5)))
    assert e.ci95 is None
    assert "∞" in e.extra["ci_text"] and "2.0" in e.extra["ci_text"] and "20.0" in e.extra["ci_text"]


def test_compare_counts_carries_everything():
    c = compare_counts("recovery", 12, 19, 5, 14)
    assert c.groups["physical_activity"].rate == pytest.approx(12 / 19)
    assert c.difference.estimate == pytest.approx(12 / 19 - 5 / 14)
    out = c.to_dict()
    assert set(out) >= {"physical_activity", "control", "difference", "odds_ratio", "fisher_p"}


def test_smd_by_hand():
    a, b = np.array([1.0, 2, 3, 4]), np.array([2.0, 4, 6, 8])
    expected = (2.5 - 5) / math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2)
    assert standardised_mean_difference(a, b) == pytest.approx(expected)
    assert proportion_smd(0.5, 0.3) == pytest.approx(0.2 / math.sqrt((0.25 + 0.21) / 2))


def test_compare_measure_on_sample(sample_episodes):
    m = compare_measure(sample_episodes, "phq9")
    assert m.descriptives["physical_activity"].n == 19 and m.descriptives["control"].n == 19
    assert m.ancova.p > 0.05 and m.welch.p > 0.05
    pa, control = m.descriptives["physical_activity"].mean_change, m.descriptives["control"].mean_change
    assert 1.8 <= pa / control <= 2.2  # "about twice" (calibration)
    assert list(m.table()["role"]) == ["Primary", "Sensitivity", "Sensitivity", "Sensitivity", "Sensitivity"]
    # MCID: share with a fall of at least 5 points
    scores = m.scores
    reached = (scores["change"] <= -5)
    assert m.mcid.groups["physical_activity"].count == int(reached[scores["group"] == "physical_activity"].sum())


def test_baseline_balance_has_first_scores_and_category_levels(sample_episodes):
    table = baseline_balance(sample_episodes)
    assert {"phq9_first", "gad7_first"} <= set(table["variable"])
    assert "gender" in set(table["variable"])
    assert table["imbalanced"].dtype == bool


def test_subgroups_rates_and_measures(sample_episodes):
    result = subgroup_analysis(sample_episodes, "gender", "recovery")
    assert set(result.table["level"]) <= set(sample_episodes["gender"].unique())
    assert result.table["n_pa"].sum() == 19
    continuous = subgroup_analysis(sample_episodes, "ltc", "phq9")
    assert continuous.interaction.statistic_name == "F"
    assert continuous.interaction.p is None or 0 <= continuous.interaction.p <= 1


def test_subgroup_with_one_group_missing_says_why():
    episodes = pd.DataFrame({
        "participant_id": [f"p{i}" for i in range(8)],
        "group": ["physical_activity"] * 4 + ["control"] * 4,
        "phq9_first": [15.0] * 8, "phq9_last": [5.0, 6, 7, 12, 9, 10, 14, 8],
        "gad7_first": [12.0] * 8, "gad7_last": [5.0] * 8,
        "site": ["A", "A", "B", "B", "A", "A", "A", "A"],
    })
    result = subgroup_analysis(episodes, "site", "phq9")
    row_b = result.table.set_index("level").loc["B"]
    assert row_b["estimate"] is None or pd.isna(row_b["estimate"])
    assert "at least" in row_b["note"]
    assert result.interaction.estimate is None and result.interaction.reason


def test_baseline_balance_with_an_empty_group_does_not_crash(sample_episodes):
    only_pa = sample_episodes[sample_episodes["group"] == "physical_activity"]
    table = baseline_balance(only_pa)
    assert table["smd"].isna().all()
    assert not table["imbalanced"].any()


def test_measures_in_threads_give_the_same_analysis(sample_episodes, monkeypatch):
    # Large data sets compare the measures in worker threads; the figures must not change.
    from analysis import summary

    serial = summary.analyse(sample_episodes).to_dict()
    monkeypatch.setattr(summary, "PARALLEL_MIN_ROWS", 0)
    threaded = summary.analyse(sample_episodes)
    assert list(threaded.measures) == list(serial["measures"])
    assert threaded.to_dict() == serial


def test_available_measures_lists_the_adsms_in_use_in_schema_order():
    from analysis.compare import available_measures
    from analysis.outcomes import MeasureRows

    episodes = pd.DataFrame({
        "participant_id": ["a", "b", "c", "d", "e"], "group": ["physical_activity", "control"] * 2 + ["control"],
        "phq9_first": 12.0, "phq9_last": 8.0, "gad7_first": 9.0, "gad7_last": 7.0,
        "adsm_measure": pd.array(["MI", None, "SPIN", "MI", "unknown"], dtype="str"),
        "adsm_first": [2.5, np.nan, 30.0, 3.0, np.nan], "adsm_last": [2.0, np.nan, 20.0, 2.5, np.nan],
        "wsas_first": 10.0, "wsas_last": 8.0,
    })
    expected = ["phq9", "gad7", "SPIN", "MI", "wsas"]
    assert available_measures(episodes) == expected
    assert available_measures(episodes, MeasureRows.of(episodes)) == expected
    assert available_measures(episodes.drop(columns=["adsm_measure", "wsas_last"])) == ["phq9", "gad7"]
