"""Random-effects meta-analysis across sites (analysis/sites.py) against independent computations.

The BCG vaccine trials (Colditz et al. 1994; metafor's ``dat.bcg``) are the standard worked example:
log relative risks of tuberculosis, vaccinated vs not, in 13 trials. metafor's documentation
(``rma.uni``) reports Q(df = 12) = 152.2330, τ² = 0.3088 (DerSimonian–Laird) and 0.3132 (REML) with
pooled log RR −0.7141 and −0.7145. Each is recomputed here by a hand-written estimator (closed-form DL,
Fisher scoring for REML, a bisection for Paule–Mandel) and the module's figures are checked against
the hand-written Paule–Mandel fit, so the test does not take statsmodels' word for anything.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from analysis.compare import rate_difference
from analysis.outcomes import participant_outcomes
from analysis.schema import GROUP_CONTROL, GROUP_PA, SITES_HKSJ_BELOW
from analysis.sites import random_effects, site_analysis, site_covariate, site_labels

# dat.bcg: tpos, tneg (vaccinated with / without TB), cpos, cneg (not vaccinated)
TPOS = np.array([4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27])
TNEG = np.array([119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886])
CPOS = np.array([11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29])
CNEG = np.array([128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825])


def bcg() -> tuple[np.ndarray, np.ndarray]:
    """Log relative risk and its sampling variance per trial (metafor escalc(measure="RR"))."""
    yi = np.log((TPOS / (TPOS + TNEG)) / (CPOS / (CPOS + CNEG)))
    vi = 1 / TPOS - 1 / (TPOS + TNEG) + 1 / CPOS - 1 / (CPOS + CNEG)
    return yi, vi


def q_statistic(y: np.ndarray, v: np.ndarray, tau2: float = 0.0) -> float:
    w = 1 / (v + tau2)
    mu = (w * y).sum() / w.sum()
    return float((w * (y - mu) ** 2).sum())


def dersimonian_laird(y: np.ndarray, v: np.ndarray) -> float:
    w = 1 / v
    q = q_statistic(y, v)
    return max(0.0, (q - (len(y) - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))


def paule_mandel(y: np.ndarray, v: np.ndarray) -> float:
    """τ² solving Q(τ²) = k − 1 (generalised Q is decreasing in τ²), by bisection."""
    k = len(y)
    if q_statistic(y, v) <= k - 1:
        return 0.0
    lo, hi = 0.0, 100.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if q_statistic(y, v, mid) > k - 1 else (lo, mid)
    return (lo + hi) / 2


def reml(y: np.ndarray, v: np.ndarray) -> float:
    """REML τ² by its fixed-point iteration τ² = Σw²((y − μ)² − v)/Σw² + 1/Σw (Viechtbauer 2005)."""
    tau2 = dersimonian_laird(y, v)
    for _ in range(200):
        w = 1 / (v + tau2)
        mu = (w * y).sum() / w.sum()
        update = ((w ** 2 * ((y - mu) ** 2 - v)).sum() + (w ** 2).sum() / w.sum()) / (w ** 2).sum() - tau2
        tau2 = max(0.0, tau2 + update)
        if abs(update) < 1e-12:
            break
    return tau2


def pooled(y: np.ndarray, v: np.ndarray, tau2: float) -> tuple[float, float]:
    w = 1 / (v + tau2)
    return float((w * y).sum() / w.sum()), float(math.sqrt(1 / w.sum()))


def test_hand_written_estimators_reproduce_metafors_documented_bcg_results():
    y, v = bcg()
    assert q_statistic(y, v) == pytest.approx(152.2330, abs=5e-5)
    tau2_dl, tau2_reml = dersimonian_laird(y, v), reml(y, v)
    assert tau2_dl == pytest.approx(0.3088, abs=5e-5)
    assert tau2_reml == pytest.approx(0.3132, abs=5e-5)
    mu_dl, se_dl = pooled(y, v, tau2_dl)
    mu_reml, se_reml = pooled(y, v, tau2_reml)
    assert mu_dl == pytest.approx(-0.7141, abs=5e-5)
    assert mu_reml == pytest.approx(-0.7145, abs=5e-5)
    assert (mu_reml - 1.959964 * se_reml, mu_reml + 1.959964 * se_reml) == pytest.approx((-1.0669, -0.3622), abs=5e-5)


def test_bcg_pooled_estimate_tau2_and_heterogeneity_match_an_independent_paule_mandel_fit():
    y, v = bcg()
    result = random_effects(y, v)  # 13 trials: not fewer than 10, so the normal-approximation interval
    tau2 = paule_mandel(y, v)
    mu, se = pooled(y, v, tau2)
    k = len(y)
    assert tau2 == pytest.approx(0.3181, abs=5e-5)  # Paule–Mandel lies above DL and REML here
    assert result.tau2 == pytest.approx(tau2, rel=1e-6)
    assert result.estimate == pytest.approx(mu, rel=1e-6)
    assert result.se == pytest.approx(se, rel=1e-6)
    assert result.ci95 == pytest.approx((mu - 1.959964 * se, mu + 1.959964 * se), rel=1e-5)
    assert result.q == pytest.approx(152.2330, abs=5e-5)
    assert result.q_p == pytest.approx(stats.chi2.sf(152.2330, 12), rel=1e-4)
    assert result.i2 == pytest.approx((152.2330 - 12) / 152.2330, abs=1e-6)
    half = stats.t.ppf(0.975, k - 2) * math.sqrt(tau2 + se ** 2)
    assert result.prediction95 == pytest.approx((mu - half, mu + half), rel=1e-5)
    assert result.p == pytest.approx(2 * stats.norm.sf(abs(mu / se)), rel=1e-4)


def test_fewer_than_ten_sites_get_the_hksj_interval_on_k_minus_1_df():
    y, v = bcg()
    y, v = y[:6], v[:6]
    assert len(y) < SITES_HKSJ_BELOW
    result = random_effects(y, v)
    tau2 = paule_mandel(y, v)
    w = 1 / (v + tau2)
    mu = (w * y).sum() / w.sum()
    se_hksj = math.sqrt((w * (y - mu) ** 2).sum() / ((len(y) - 1) * w.sum()))  # Hartung–Knapp
    crit = stats.t.ppf(0.975, len(y) - 1)
    assert result.tau2 == pytest.approx(tau2, rel=1e-6)
    assert result.se == pytest.approx(se_hksj, rel=1e-6)
    assert result.ci95 == pytest.approx((mu - crit * se_hksj, mu + crit * se_hksj), rel=1e-6)
    assert "Hartung–Knapp" in result.interval


def test_homogeneous_sites_have_tau2_zero_and_i2_zero():
    result = random_effects([0.20, 0.21, 0.19, 0.20], [0.01, 0.02, 0.015, 0.01])
    assert result.tau2 == 0.0 and result.i2 == 0.0
    w = 1 / np.array([0.01, 0.02, 0.015, 0.01])
    assert result.estimate == pytest.approx((w * [0.20, 0.21, 0.19, 0.20]).sum() / w.sum(), rel=1e-9)


def test_fewer_than_two_sites_or_bad_variances_are_null_with_a_reason():
    one = random_effects([0.3], [0.01])
    assert one.estimate is None and one.k == 1 and "at least 2 sites" in one.reason
    bad = random_effects([0.3, 0.1], [0.01, 0.0])
    assert bad.estimate is None and "variance" in bad.reason
    two = random_effects([0.3, 0.1], [0.01, 0.02])
    assert two.estimate is not None and two.prediction95 is None and "3 sites" in two.prediction_reason


# --- hand-made sites ------------------------------------------------------------------------------


def hand_made_sites() -> pd.DataFrame:
    """Three sites with known recovery counts and scores (every participant at caseness and finished)."""
    rows = []
    # site: (PA recovered of n, control recovered of n, PA change, control change)
    plan = {"Alpha": (6, 8, 2, 8, -8, -3), "Beta": (5, 10, 4, 10, -6, -5), "Gamma": (9, 12, 3, 12, -9, -2)}
    rng = np.random.default_rng(7)
    for site, (a, n1, c, n2, pa_change, control_change) in plan.items():
        for group, recovered, n, change in ((GROUP_PA, a, n1, pa_change), (GROUP_CONTROL, c, n2, control_change)):
            for i in range(n):
                first = int(rng.integers(12, 22))
                done = i < recovered
                last = 5 if done else max(10, min(27, first + change))
                rows.append({"participant_id": f"{site}-{group}-{i}", "group": group, "site": site,
                             "phq9_first": float(first), "phq9_last": float(last),
                             "gad7_first": 12.0, "gad7_last": 4.0 if done else 11.0})
    frame = pd.DataFrame(rows, index=pd.RangeIndex(2, 2 + len(rows), name="file_row"))
    return frame.sample(frac=1, random_state=3)  # sites interleaved, as in an export


def test_each_sites_rate_difference_is_newcombes_and_the_pooling_uses_se_from_its_ci():
    episodes = hand_made_sites()
    result = site_analysis(episodes)
    recovery = result.rates["recovery"]
    expected = {"Alpha": (6, 8, 2, 8), "Beta": (5, 10, 4, 10), "Gamma": (9, 12, 3, 12)}
    effects, variances = [], []
    for site_effect in recovery.per_site:
        a, n1, c, n2 = expected[site_effect.site]
        assert site_effect.estimate.estimate == pytest.approx(a / n1 - c / n2)
        assert site_effect.n == {GROUP_PA: n1, GROUP_CONTROL: n2}
        lo, hi = rate_difference(a, n1, c, n2).ci95
        assert site_effect.estimate.ci95 == pytest.approx((lo, hi))
        effects.append(a / n1 - c / n2)
        variances.append(((hi - lo) / (2 * stats.norm.ppf(0.975))) ** 2)  # Cochrane: width / 3.92
    y, v = np.array(effects), np.array(variances)
    tau2 = paule_mandel(y, v)
    w = 1 / (v + tau2)
    assert recovery.pooled.tau2 == pytest.approx(tau2, abs=1e-9)
    assert recovery.pooled.estimate == pytest.approx((w * y).sum() / w.sum(), rel=1e-6)
    assert recovery.pooled.q == pytest.approx(q_statistic(y, v), rel=1e-9)
    assert sum(s.weight for s in recovery.per_site) == pytest.approx(1.0)


def test_each_sites_measure_difference_is_the_ancova_coefficient_with_its_se():
    episodes = hand_made_sites()
    result = site_analysis(episodes)
    phq9 = result.measures["phq9"]
    effects, variances = [], []
    for site_effect in phq9.per_site:
        mine = episodes[episodes["site"] == site_effect.site]
        design = sm.add_constant(np.column_stack([(mine["group"] == GROUP_PA).astype(float), mine["phq9_first"]]))
        fit = sm.OLS(mine["phq9_last"].to_numpy(), design).fit()
        assert site_effect.estimate.estimate == pytest.approx(fit.params[1], rel=1e-9)
        assert site_effect.se == pytest.approx(fit.bse[1], rel=1e-9)
        effects.append(fit.params[1])
        variances.append(fit.bse[1] ** 2)
    y, v = np.array(effects), np.array(variances)
    tau2 = paule_mandel(y, v)
    w = 1 / (v + tau2)
    assert phq9.pooled.tau2 == pytest.approx(tau2, abs=1e-8)
    assert phq9.pooled.estimate == pytest.approx((w * y).sum() / w.sum(), rel=1e-6)
    assert phq9.pooled.k == 3


def test_a_site_with_a_group_under_two_is_listed_with_its_reason_and_left_out():
    episodes = hand_made_sites()
    extra = pd.DataFrame([{"participant_id": "Delta-pa-0", "group": GROUP_PA, "site": "Delta", "phq9_first": 15.0,
                           "phq9_last": 5.0, "gad7_first": 12.0, "gad7_last": 4.0},
                          {"participant_id": "Delta-c-0", "group": GROUP_CONTROL, "site": "Delta",
                           "phq9_first": 15.0, "phq9_last": 14.0, "gad7_first": 12.0, "gad7_last": 11.0},
                          {"participant_id": "Delta-c-1", "group": GROUP_CONTROL, "site": "Delta",
                           "phq9_first": 16.0, "phq9_last": 14.0, "gad7_first": 12.0, "gad7_last": 11.0}],
                         index=pd.RangeIndex(500, 503, name="file_row"))
    with_delta = pd.concat([episodes, extra])
    result = site_analysis(with_delta)
    assert result.n_sites == 4 and "Delta" in result.excluded
    gad7 = result.measures["gad7"]  # every GAD-7 first score is 12: no site's ANCOVA is defined
    assert gad7.pooled.estimate is None and "no site has one" in gad7.pooled.reason
    assert all("first score" in s.reason for s in gad7.per_site if s.site != "Delta")
    for outcome in [*result.rates.values(), result.measures["phq9"]]:
        delta = next(s for s in outcome.per_site if s.site == "Delta")
        assert not delta.included and "Fewer than 2 people in a group" in delta.reason
        assert "physical activity 1, control 2" in delta.reason
        assert outcome.pooled.k == 3
    without = site_analysis(episodes)
    assert result.rates["recovery"].pooled.estimate == pytest.approx(without.rates["recovery"].pooled.estimate)
    block = result.to_dict()
    assert block["excluded"] == [{"site": "Delta", "reason": result.excluded["Delta"]}]


def test_no_site_column_gives_no_site_analysis_and_one_site_pools_nothing_with_a_reason():
    episodes = hand_made_sites()
    assert site_analysis(episodes.drop(columns="site")) is None
    assert site_analysis(episodes.assign(site=pd.NA)) is None
    one = site_analysis(episodes.assign(site="Only"))
    assert one.n_sites == 1 and "One site only" in one.reason
    recovery = one.rates["recovery"]
    assert recovery.pooled.estimate is None and "at least 2 sites" in recovery.pooled.reason
    flags = participant_outcomes(episodes)
    whole = rate_difference(int((flags["recovered"] & (flags["group"] == GROUP_PA)).sum()),
                            int(((flags["group"] == GROUP_PA) & flags["at_caseness"]).sum()),
                            int((flags["recovered"] & (flags["group"] == GROUP_CONTROL)).sum()),
                            int(((flags["group"] == GROUP_CONTROL) & flags["at_caseness"]).sum()))
    assert recovery.per_site[0].estimate.estimate == pytest.approx(whole.estimate)


def test_site_labels_and_the_adjusted_analysis_hook():
    episodes = hand_made_sites()
    assert site_labels(episodes) == ["Alpha", "Beta", "Gamma"]
    covariate = site_covariate(episodes)
    assert list(covariate.cat.categories) == ["Alpha", "Beta", "Gamma"]
    assert covariate.index.equals(episodes.index)
    assert site_covariate(episodes.assign(site="Only")) is None


def test_tau2_is_the_paule_mandel_root_on_six_heterogeneous_sites():
    """Six sites' PHQ-9 ANCOVA estimates and variances (an earlier draw of the programme sample, on which
    statsmodels' own iteration, run to a tight tolerance, had reset τ² to 0)."""
    y = np.array([-4.1476787, 1.33677808, -2.87967585, -3.21107367, -2.72490483, -2.7362001])
    v = np.array([2.55916481, 0.86645333, 0.71825317, 0.4281248, 0.60802521, 1.25780978])
    tau2 = paule_mandel(y, v)
    assert tau2 > 2
    result = random_effects(y, v)
    assert result.tau2 == pytest.approx(tau2, rel=1e-6)
    mu, _ = pooled(y, v, tau2)
    assert result.estimate == pytest.approx(mu, rel=1e-6)
