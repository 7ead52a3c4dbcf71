"""The adjusted analysis (analysis/adjusted.py): E-values against published examples, weights, balance and
ESS against hand computation, the doubly robust estimate against statsmodels, and real-pilot edge cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis import adjusted as adj
from analysis.adjusted import adjust, default_covariates, e_value_difference, e_value_rr
from analysis.outcomes import participant_outcomes, with_derived_columns
from analysis.schema import GROUP_CONTROL, GROUP_PA
from analysis.summary import analyse
from analysis.validate import load_path
from benchmarks.adjusted_simulation import simulate

SAMPLE = "data/sample/synthetic_pilot_sessions.csv"


@pytest.fixture(scope="module")
def sample():
    episodes = with_derived_columns(load_path(SAMPLE).episodes)
    return episodes, participant_outcomes(episodes)


# --- E-values ---------------------------------------------------------------------------------


def test_e_value_vanderweele_ding_breastfeeding_example():
    # VanderWeele & Ding 2017 (Ann Intern Med), breastfeeding and respiratory death: RR 3.9 (1.8 to 8.7)
    # -> E-value 7.26, for the CI 3.0.
    point, ci = e_value_rr(3.9, 1.8, 8.7)
    assert point == pytest.approx(7.26, abs=0.005)
    assert ci == pytest.approx(3.0, abs=0.005)


def test_e_value_protective_uses_inverse_and_upper_limit():
    # R package EValue, evalues.RR(0.80, 0.71, 0.91): point 1.81, CI 1.43.
    point, ci = e_value_rr(0.80, 0.71, 0.91)
    assert point == pytest.approx(1.809, abs=0.001)
    assert ci == pytest.approx(1.429, abs=0.001)


def test_e_value_ci_including_one_is_one_and_rr_one_is_one():
    assert e_value_rr(1.5, 0.8, 2.7)[1] == 1.0
    assert e_value_rr(1.0, 0.5, 2.0) == (1.0, 1.0)
    assert e_value_rr(None) == (None, None)
    assert e_value_rr(0.0, 0.0, 1.0) == (None, None)


def test_e_value_difference_in_means_uses_exp_091_d():
    # d = 0.5 -> RR = exp(0.455) = 1.576 -> E = 2.53 (EValue::evalues.MD(0.5, ...)).
    point, ci = e_value_difference(1.0, (0.216, 1.784), sd=2.0)
    assert point == pytest.approx(2.529, abs=0.002)
    rr_low = math.exp(0.91 * 0.108)
    assert ci == pytest.approx(rr_low + math.sqrt(rr_low * (rr_low - 1)), abs=1e-9)
    # a negative difference is as strong as the positive one
    assert e_value_difference(-1.0, (-1.784, -0.216), 2.0) == pytest.approx((point, ci))
    assert e_value_difference(1.0, None, sd=0) == (None, None)


def test_e_value_sentence_is_plain():
    text = adj.e_value_sentence(2.4, 1.3, "recovery")
    assert "risk ratio of 2.4 each" in text and "1.3" in text
    assert "includes no difference" in adj.e_value_sentence(2.4, 1.0, "recovery")


# --- weights, balance, ESS by hand ------------------------------------------------------------


def _small_data(n: int = 200, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    return simulate(n, seed)


def test_weights_balance_and_ess_by_hand():
    import statsmodels.api as sm

    episodes, flags = _small_data()
    result = adjust(episodes, flags, covariates=["phq9_first"], resamples=50)
    x = episodes["phq9_first"].to_numpy(float)
    a = (episodes["group"] == GROUP_PA).to_numpy()
    ps = sm.Logit(a.astype(float), sm.add_constant(x)).fit(disp=0).predict()
    np.testing.assert_allclose(result.propensity["propensity"].to_numpy(), ps, rtol=1e-6)
    w = np.where(a, 1.0, ps / (1 - ps))
    ess_control = w[~a].sum() ** 2 / (w[~a] ** 2).sum()
    assert result.ess[GROUP_CONTROL] == pytest.approx(ess_control)
    assert result.ess[GROUP_PA] == pytest.approx(a.sum())
    sd = math.sqrt((x[a].var(ddof=1) + x[~a].var(ddof=1)) / 2)
    before = (x[a].mean() - x[~a].mean()) / sd
    after = (x[a].mean() - np.average(x[~a], weights=w[~a])) / sd
    row = result.balance.iloc[0]
    assert row["smd_before"] == pytest.approx(before)
    assert row["smd_after"] == pytest.approx(after)
    assert abs(after) < abs(before)


def test_category_balance_uses_p_one_minus_p_and_every_level():
    episodes, flags = _small_data()
    result = adjust(episodes, flags, covariates=["ltc"], resamples=50)
    levels = result.balance[result.balance["covariate"] == "ltc"]
    assert sorted(levels["level"]) == ["No", "Yes"]
    hit = (episodes["ltc"] == "Yes").to_numpy()
    a = (episodes["group"] == GROUP_PA).to_numpy()
    p1, p0 = hit[a].mean(), hit[~a].mean()
    expected = (p1 - p0) / math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
    assert levels.set_index("level").loc["Yes", "smd_before"] == pytest.approx(expected)
    # one binary covariate in a saturated logistic model: weighting balances it exactly
    assert abs(levels.set_index("level").loc["Yes", "smd_after"]) < 1e-6


def test_overlap_weights_balance_means_exactly():
    episodes, flags = _small_data(300, 8)
    result = adjust(episodes, flags, covariates=["phq9_first", "ltc"], estimand=adj.ESTIMAND_ATO, resamples=50)
    # Li, Morgan & Zaslavsky (2018): overlap weights from a logistic model balance each covariate's mean exactly
    assert result.balance["smd_after"].abs().max() < 1e-6
    assert "overlap" in result.estimand_text


# --- the doubly robust estimate against statsmodels ---------------------------------------------


@pytest.mark.parametrize("outcome", ["score", "rate"])
def test_dr_estimate_equals_statsmodels_ipw_ra_att(outcome):
    import statsmodels.api as sm
    from statsmodels.treatment.treatment_effects import TreatmentEffect

    episodes, flags = _small_data(400, 11)
    result = adjust(episodes, flags, covariates=["phq9_first", "ltc"], resamples=50, measures=("phq9",))
    X = sm.add_constant(np.column_stack([episodes["phq9_first"].to_numpy(float),
                                         (episodes["ltc"] == "Yes").to_numpy(float)]))
    a = (episodes["group"] == GROUP_PA).to_numpy().astype(int)
    y = (episodes["phq9_last"].to_numpy(float) if outcome == "score"
         else flags["recovered"].to_numpy(float))
    select = sm.Logit(a, X).fit(disp=0)
    effect, mean0, mean1 = TreatmentEffect(sm.OLS(y, X), a, results_select=select).ipw_ra(
        effect_group=1, return_results=False)
    mine = result.effects["phq9" if outcome == "score" else "recovery"]
    assert mine.difference.estimate == pytest.approx(effect, rel=1e-8)
    assert mine.means[GROUP_CONTROL] == pytest.approx(mean0, rel=1e-8)
    if outcome == "rate":
        assert mine.relative_risk.estimate == pytest.approx(mean1 / mean0, rel=1e-8)


def test_wls_equals_statsmodels_and_batched_fits_equal_single_fits():
    import statsmodels.api as sm

    rng = np.random.default_rng(1)
    Z = sm.add_constant(rng.normal(size=(120, 3)))
    y, w = rng.normal(size=120), rng.uniform(0.2, 3, 120)
    np.testing.assert_allclose(adj._wls(Z, y, w), sm.WLS(y, Z, weights=w).fit().params, rtol=1e-9)
    counts = rng.integers(0, 3, size=(4, 120)).astype(float)
    batched = adj._batched_wls(Z, y, counts * w, adj._pairs(Z))
    for b in range(4):
        np.testing.assert_allclose(batched[b], sm.WLS(y, Z, weights=counts[b] * w).fit().params, rtol=1e-6)
    a = (rng.random(120) < 1 / (1 + np.exp(-Z[:, 1]))).astype(float)
    start = np.zeros(4)
    beta, ok = adj._batched_logit(Z, a.astype(bool), counts, start)
    assert ok.all()
    for b in range(4):
        rows = np.repeat(np.arange(120), counts[b].astype(int))  # frequency weights = repeated rows
        np.testing.assert_allclose(beta[b], sm.Logit(a[rows], Z[rows]).fit(disp=0).params, rtol=1e-6)


def test_sandwich_se_close_to_bootstrap_se():
    episodes, flags = _small_data(1500, 21)
    kwargs = dict(covariates=["phq9_first", "ltc"], measures=("phq9",))
    boot = adjust(episodes, flags, resamples=1000, **kwargs)
    sandwich = adjust(episodes, flags, bootstrap_max_n=0, **kwargs)
    assert sandwich.ci_method == "sandwich" and boot.ci_method == "bootstrap"
    for key in ("phq9", "recovery"):
        b, s = boot.effects[key].difference, sandwich.effects[key].difference
        assert b.estimate == pytest.approx(s.estimate)
        width_b, width_s = b.ci95[1] - b.ci95[0], s.ci95[1] - s.ci95[0]
        assert width_s == pytest.approx(width_b, rel=0.15)


def test_bootstrap_is_seeded():
    episodes, flags = _small_data(150, 5)
    one = adjust(episodes, flags, covariates=["phq9_first"], resamples=200, seed=7)
    two = adjust(episodes, flags, covariates=["phq9_first"], resamples=200, seed=7)
    three = adjust(episodes, flags, covariates=["phq9_first"], resamples=200, seed=8)
    assert one.effects["recovery"].difference.ci95 == two.effects["recovery"].difference.ci95
    assert one.effects["recovery"].difference.ci95 != three.effects["recovery"].difference.ci95


# --- the sample and real-pilot edge cases -------------------------------------------------------


def test_sample_defaults_are_a_labelled_sensitivity_analysis(sample):
    episodes, flags = sample
    covariates = default_covariates(episodes, flags)
    assert covariates[:2] == ["phq9_first", "gad7_first"]  # baseline scores first
    result = adjust(episodes, flags)
    assert result.available and result.estimand == "ATT"
    assert result.role == "sensitivity"
    needed = adj.PRIMARY_PER_PARAMETER * result.parameters
    assert f"at least {needed}" in result.role_reason and "19" in result.role_reason
    recovery = result.effects["recovery"]
    assert recovery.difference.ci95 is not None and recovery.relative_risk.ci95 is not None
    assert result.n == {GROUP_PA: 19, GROUP_CONTROL: 19}
    # the PA group's own rate is untouched by ATT weighting: 12/19 recovered at caseness
    assert recovery.means[GROUP_PA] == pytest.approx(12 / 19)


def test_level_in_one_group_only_is_left_out_with_the_estimand_change(sample):
    episodes, flags = sample
    result = adjust(episodes, flags, covariates=["phq9_first", "ethnicity"], resamples=100)
    # 5 Asian or Asian British finishers, all in the PA group
    assert result.excluded[GROUP_PA] == 5 and result.n[GROUP_PA] == 14
    assert any("Asian or Asian British" in note and "estimand changed" in note for note in result.notes)


def test_control_only_level_is_left_out_without_changing_the_att():
    episodes, flags = _small_data(200, 2)
    episodes = episodes.copy()
    control = np.flatnonzero((episodes["group"] == GROUP_CONTROL).to_numpy())[:6]
    episodes["site"] = "A"
    episodes.loc[episodes.index[control], "site"] = "B"
    result = adjust(episodes, flags, covariates=["phq9_first", "site"], resamples=50)
    assert result.excluded == {GROUP_PA: 0, GROUP_CONTROL: 6}
    assert any("would get no weight" in note for note in result.notes)


def test_perfect_separation_is_a_null_with_reason():
    episodes, flags = _small_data(60, 4)
    episodes = episodes.copy()
    episodes["phq9_first"] = np.where(episodes["group"] == GROUP_PA, 20.0, 5.0) + np.arange(60) * 0.01
    result = adjust(episodes, flags, covariates=["phq9_first"], resamples=50)
    assert not result.available
    assert "separation" in result.reason
    summary = result.to_dict()
    assert summary["reason"] == result.reason
    json.dumps(summary, allow_nan=False)


def test_missing_covariates_complete_cases_with_count():
    episodes, flags = _small_data(200, 6)
    episodes = episodes.copy()
    pa_rows = np.flatnonzero((episodes["group"] == GROUP_PA).to_numpy())[:3]
    control_rows = np.flatnonzero((episodes["group"] == GROUP_CONTROL).to_numpy())[:4]
    episodes.loc[episodes.index[pa_rows], "phq9_first"] = np.nan
    episodes.loc[episodes.index[control_rows], "ltc"] = None
    result = adjust(episodes, flags, covariates=["phq9_first", "ltc"], resamples=50)
    assert result.excluded == {GROUP_PA: 3, GROUP_CONTROL: 4}
    assert any("3 physical activity and 4 control" in note for note in result.notes)


def test_near_zero_propensity_is_noted_and_trimming_changes_the_estimand():
    episodes, flags = _small_data(400, 9)
    episodes = episodes.copy()
    a = (episodes["group"] == GROUP_PA).to_numpy()
    rng = np.random.default_rng(0)
    episodes["phq9_first"] = np.where(a, rng.normal(3, 1, len(a)), rng.normal(0, 1, len(a)))
    result = adjust(episodes, flags, covariates=["phq9_first"], resamples=100)
    assert result.available
    assert any("limited overlap" in note for note in result.notes)
    assert sum(result.overlap_counts().values()) > 0
    trimmed = adjust(episodes, flags, covariates=["phq9_first"], resamples=100, trim=0.05)
    assert trimmed.trim == 0.05 and "estimand changed" in trimmed.estimand_text
    assert sum(trimmed.n.values()) < sum(result.n.values())
    assert trimmed.to_dict()["estimand"] == "ATT (trimmed)"


@pytest.mark.parametrize("covariates, words", [([], "nothing to adjust"), (["no_such_column"], "nothing to adjust")])
def test_no_covariates_is_a_null_with_reason(covariates, words):
    episodes, flags = _small_data(50, 1)
    result = adjust(episodes, flags, covariates=covariates)
    assert not result.available and words in result.reason


def test_a_group_of_one_is_a_null_with_reason():
    episodes, flags = _small_data(40, 1)
    episodes = episodes.copy()
    episodes["group"] = GROUP_CONTROL
    episodes.loc[episodes.index[0], "group"] = GROUP_PA
    result = adjust(episodes, flags, covariates=["phq9_first"])
    assert not result.available and "at least 2" in result.reason


def test_outcome_with_nobody_in_a_group_is_a_null_with_reason():
    episodes, flags = _small_data(200, 12)
    flags = flags.copy()
    flags.loc[(episodes["group"] == GROUP_CONTROL).to_numpy(), "at_caseness"] = False
    result = adjust(episodes, flags, covariates=["phq9_first"], resamples=50)
    recovery = result.effects["recovery"]
    assert recovery.difference.estimate is None and "control" in recovery.difference.reason
    assert result.effects["reliable_improvement"].difference.estimate is not None


# --- the summary, safe mode, the CLI ------------------------------------------------------------


def test_summary_json_has_adjusted_and_e_values(sample):
    episodes, _ = sample
    summary = analyse(episodes, source="sample").to_dict()
    block, evalues = summary["adjusted"], summary["e_values"]
    assert block["estimand"] == "ATT" and set(block["n"]) == {GROUP_PA, GROUP_CONTROL}
    assert {"covariate", "smd_before", "smd_after"} <= set(block["balance"][0])
    assert set(block["rates"]) == {"recovery", "reliable_recovery", "reliable_improvement", "reliable_deterioration"}
    assert {"phq9", "gad7"} <= set(block["measures"])
    rr = summary["rates"]["recovery"]["relative_risk"]
    expected = e_value_rr(rr["estimate"], *rr["ci95"])
    assert evalues["recovery"]["unadjusted"]["estimate"] == pytest.approx(expected[0])
    assert evalues["recovery"]["unadjusted"]["ci"] == pytest.approx(expected[1])
    assert evalues["recovery"]["adjusted"]["estimate"] is not None
    assert evalues["phq9"]["adjusted"]["estimate"] is not None
    json.dumps(summary, allow_nan=False)


def test_safe_mode_rounds_and_suppresses_the_adjusted_counts():
    from analysis.disclosure import make_summary_safe

    block = {"n": {GROUP_PA: 19, GROUP_CONTROL: 3}, "excluded": {GROUP_PA: 0, GROUP_CONTROL: 7},
             "ess": {GROUP_PA: 19.0, GROUP_CONTROL: 2.4},
             "rates": {"recovery": {"n": {GROUP_PA: 19, GROUP_CONTROL: 3},
                                    "difference": {"estimate": 0.1, "ci95": [0, 0.2]}}},
             "measures": {"phq9": {"n": {GROUP_PA: 19, GROUP_CONTROL: 12},
                                   "difference": {"estimate": -1.0, "ci95": [-2, 0]}}}}
    safe = make_summary_safe({"adjusted": block})["adjusted"]
    hidden = "Hidden: fewer than 5."
    assert safe["n"] == {GROUP_PA: 20, GROUP_CONTROL: None, "reason": hidden}
    assert safe["excluded"] == {GROUP_PA: None, GROUP_CONTROL: 5, "reason": hidden}
    assert safe["ess"] == {GROUP_PA: 19.0, GROUP_CONTROL: 2.4}  # an estimate, not a count
    assert safe["rates"]["recovery"]["difference"]["estimate"] is None
    assert safe["measures"]["phq9"]["n"] == {GROUP_PA: 20, GROUP_CONTROL: 10}
    assert safe["measures"]["phq9"]["difference"]["estimate"] == -1.0
    assert block["n"][GROUP_CONTROL] == 3  # the input is not modified


def test_cli_prints_adjusted_json_and_text(capsys):
    from analysis.__main__ import main

    assert main(["summarize", SAMPLE, "--format", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert "adjusted" in summary and "e_values" in summary
    assert main(["summarize", SAMPLE, "--format", "text", "--safe"]) == 0
    text = capsys.readouterr().out
    assert "Adjusted for who chose physical activity" in text and "E-value" in text


def test_safe_summary_keeps_the_adjusted_blocks_under_their_own_rules(sample):
    from analysis.disclosure import make_summary_safe

    episodes, _ = sample
    summary = analyse(episodes, source="sample").to_dict()
    safe = make_summary_safe(summary)
    assert safe["adjusted"]["n"] == {GROUP_PA: 20, GROUP_CONTROL: 20}  # 19 and 19, rounded
    assert safe["adjusted"]["rates"]["recovery"]["difference"]["estimate"] == pytest.approx(
        summary["adjusted"]["rates"]["recovery"]["difference"]["estimate"])
    assert safe["e_values"]["recovery"]["n"] == {GROUP_PA: 20, GROUP_CONTROL: 15}  # 19 and 14 at caseness
    assert safe["e_values"]["recovery"]["adjusted"]["estimate"] == summary["e_values"]["recovery"]["adjusted"]["estimate"]
    small = {"recovery": {"unadjusted": {"estimate": 2.0, "ci": 1.0}, "adjusted": {"estimate": 1.5, "ci": 1.0},
                          "n": {GROUP_PA: 12, GROUP_CONTROL: 4}, "n_adjusted": {GROUP_PA: 12, GROUP_CONTROL: 4}}}
    hidden = make_summary_safe({"e_values": small})["e_values"]["recovery"]
    assert hidden["unadjusted"]["estimate"] is None and hidden["adjusted"]["estimate"] is None
    assert hidden["n"] == {GROUP_PA: 10, GROUP_CONTROL: None, "reason": "Hidden: fewer than 5."}


def test_safe_mode_rounds_counts_in_the_notes_and_the_role_sentence(sample):
    from analysis.adjusted import safe_note
    from analysis.disclosure import make_summary_safe

    episodes, flags = sample
    block = adjust(episodes, flags, covariates=["phq9_first", "ethnicity"], resamples=100).to_dict()
    assert "the smaller group has 14." in block["role_reason"]
    safe = make_summary_safe({"adjusted": block})["adjusted"]
    assert "the smaller group has 15." in safe["role_reason"]
    note = next(n for n in safe["notes"] if "Asian or Asian British" in n)
    assert note.startswith("Ethnicity: Asian or Asian British: 5 physical activity")  # 5 stays 5
    assert safe_note("3 physical activity and 12 control finishers; 2 people") == (
        "fewer than 5 physical activity and 10 control finishers; fewer than 5 people")
    assert safe_note("Age band: 18-25: pooled (fewer than 5 people)") == "Age band: 18-25: pooled (fewer than 5 people)"
