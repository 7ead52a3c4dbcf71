"""analysis/national.py on the shipped extract (data/reference/): benchmarks, trend, funnel limits,
case-mix expected rates, Structured Physical Activity. Works without the raw files."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import national
from analysis.outcomes import participant_outcomes
from analysis.schema import GROUP_CONTROL, GROUP_PA

# NHS England's published England figures, 2024-25 (the data README's check values).
ENGLAND_2024_25 = {"finished": 670_419, "at_caseness": 634_248, "recovery": (321_061, 0.505),
                   "reliable_improvement": (452_284, 0.675), "reliable_recovery": (301_815, 0.475),
                   "reliable_deterioration": (39_157, 0.058)}


def test_england_2024_25_published_figures():
    b = national.benchmark("England", "2024-25")
    assert b.finished == ENGLAND_2024_25["finished"]
    assert b.at_caseness == ENGLAND_2024_25["at_caseness"]
    assert not b.rounded
    for key in national.PUBLISHED_MEASURES:
        count, rate = ENGLAND_2024_25[key]
        assert b.rates[key].count == count
        assert b.rates[key].rate == pytest.approx(rate, abs=1e-9)
    # NHS England's recovery denominator: finishers minus those not at caseness (35,234)
    assert b.rates["recovery"].denominator == 670_419 - 35_234
    assert b.rates["reliable_improvement"].denominator == 670_419
    assert round(321_061 / 635_185 * 100, 1) == 50.5  # the published percentage follows from the counts


def test_default_year_is_latest_and_trend_spans_2017_18_on():
    assert national.latest_year() == "2024-25"
    assert national.benchmark().year == "2024-25"
    trend = national.trend("England")
    years = sorted(trend["year"].unique())
    assert years[0] == "2017-18" and years[-1] == "2024-25" and len(years) == 8
    recovery = trend[trend["rate"] == "recovery"].set_index("year")["value"]
    assert recovery["2024-25"] == pytest.approx(0.505)
    assert recovery.between(0.45, 0.56).all()


def test_find_organisation_by_code_name_and_ambiguity():
    assert national.find_organisation("RW4").code == "RW4"
    assert national.find_organisation("rw4").org_type == "Provider"
    region = national.find_organisation("Y56")
    assert region.org_type == "Commissioning Region" and "LONDON" in region.name
    assert national.find_organisation("Mersey Care NHS Foundation Trust").code == "RW4"
    assert national.find_organisation(None) == national.ENGLAND_ORG
    with pytest.raises(LookupError, match="give the ODS code"):
        national.find_organisation("london")
    with pytest.raises(LookupError, match="No organisation"):
        national.find_organisation("ZZZ-not-a-code")
    with pytest.raises(LookupError, match="extract covers"):
        national.benchmark("England", "2030-31")


def test_provider_counts_rounded_and_suppressed_values_missing_not_zero():
    b = national.benchmark("RMY", "2024-25")
    assert b.rounded
    assert b.rates["recovery"].count == 12_480 and b.rates["recovery"].rate == pytest.approx(0.53)
    assert all(v % 5 == 0 for v in (b.finished, b.not_at_caseness, b.rates["recovery"].count))
    suppressed = national.benchmark("RRF", "2024-25")  # recovery suppressed in 2024-25
    assert suppressed.rates["recovery"].count is None
    assert suppressed.rates["recovery"].rate is None
    assert "suppressed" in suppressed.rates["recovery"].reason
    assert suppressed.to_dict()["rates"]["recovery"]["rate"] is None


def test_binomial_limits_follow_spiegelhalter_interpolation():
    target, n = 0.5, np.array([20.0, 100.0, 1000.0])
    lo, hi = national.binomial_limits(target, n, 0.95)
    # independent computation of Spiegelhalter (2005) A.1.1 for the upper limit at n = 100
    p = 0.975
    r = stats.binom.ppf(p, 100, target)
    alpha = (stats.binom.cdf(r, 100, target) - p) / (stats.binom.cdf(r, 100, target) - stats.binom.cdf(r - 1, 100, target))
    assert hi[1] == pytest.approx((r - alpha) / 100)
    # symmetric around 0.5 up to the interpolation's one-count step, and near the normal approximation
    assert 0.5 - lo[2] == pytest.approx(hi[2] - 0.5, abs=1.5 / 1000)
    assert hi[2] == pytest.approx(0.5 + 1.96 * math.sqrt(0.25 / 1000), abs=1.5e-3)
    lo998, hi998 = national.binomial_limits(target, n, 0.998)
    assert (hi998 > hi).all() and (lo998 < lo).all()
    assert np.all(np.diff(hi) < 0)  # the funnel narrows
    assert national.funnel_position(0.9, 100, 0.5) == "above the 99.8% limit"
    assert national.funnel_position(0.5, 100, 0.5) == "within the 95% limits"
    assert national.funnel_position(0.38, 100, 0.5).startswith("below the 95% limit")


def test_funnel_has_every_provider_with_a_rate():
    f = national.funnel("2024-25")
    assert f.target == pytest.approx(0.505)
    assert len(f.providers) > 100
    assert f.excluded >= 1  # providers whose recovery is suppressed are left out and counted
    rmy = f.providers.set_index("org_code").loc["RMY"]
    assert rmy["rate"] == pytest.approx(0.53)
    assert set(f.limits.columns) == {"n", "lo95", "hi95", "lo998", "hi998"}
    assert (f.limits["hi998"] >= f.limits["hi95"]).all()


def test_poisson_ratio_ci_matches_ulm_table():
    # 12 observed: exact Poisson 95% limits 6.201 and 20.962 (Ulm 1990; standard SMR tables)
    lo, hi = national._poisson_ratio_ci(12, 1.0)
    assert lo == pytest.approx(6.2006, abs=1e-3) and hi == pytest.approx(20.9623, abs=1e-3)
    lo0, hi0 = national._poisson_ratio_ci(0, 2.0)
    assert lo0 == 0 and hi0 == pytest.approx(3.6889 / 2, abs=1e-3)


def _tiny_pilot() -> pd.DataFrame:
    """Six finishers at caseness: three depression (two recover), two PTSD (one recovers), one unmatched."""
    rows = []
    spec = [("physical_activity", "Depression", True), ("physical_activity", "Depression", True),
            ("physical_activity", "PTSD", False), ("control", "Depression", False), ("control", "PTSD", True),
            ("control", "Made-up problem", True)]
    for i, (group, problem, recovers) in enumerate(spec):
        rows.append({"participant_id": f"P{i}", "group": group, "phq9_first": 15, "phq9_last": 5 if recovers else 14,
                     "gad7_first": 12, "gad7_last": 3 if recovers else 11, "treatment_sessions": 6,
                     "problem_descriptor": problem})
    return pd.DataFrame(rows)


def test_expected_rates_by_hand():
    episodes = _tiny_pilot()
    flags = participant_outcomes(episodes)
    national_rates = national.national_category_rates("problem_descriptor", "2024-25")
    dep = national_rates.loc["Depression"]
    ptsd = national_rates.loc["Post-traumatic stress disorder"]
    r_dep = dep["recovery"] / dep["caseness_denominator"]
    r_ptsd = ptsd["recovery"] / ptsd["caseness_denominator"]
    assert r_dep == pytest.approx(0.496, abs=1e-3)  # published 49.6%
    mix = national.expected_rates(episodes, flags, "problem_descriptor", "2024-25")
    pa = mix.results["recovery"][GROUP_PA]
    assert pa.n == 3 and pa.observed == 2
    assert pa.expected == pytest.approx(2 * r_dep + r_ptsd)
    assert pa.ratio == pytest.approx(2 / (2 * r_dep + r_ptsd))
    assert pa.ci95 == pytest.approx(national._poisson_ratio_ci(2, 2 * r_dep + r_ptsd))
    control = mix.results["recovery"][GROUP_CONTROL]
    assert control.n == 2 and control.unmatched == 1 and control.observed == 1  # the unmatched one is left out
    assert "matched no published category" in control.reason
    unmatched = {c.value: c for c in mix.unmatched}
    assert set(unmatched) == {"Made-up problem"}
    assert unmatched["Made-up problem"].n == {GROUP_PA: 0, GROUP_CONTROL: 1}
    assert "no matching published problem descriptor" in unmatched["Made-up problem"].reason


def test_expected_rates_age_bands_pool_open_band_and_report_straddlers():
    published = ["Under 18", "18 to 25", "26 to 64", "65 to 74", "75 to 89", "90 and over"]
    assert national._match_age("18-25", published) == (("18 to 25",), None)
    assert national._match_age("36-45", published) == (("26 to 64",), None)
    assert national._match_age("66+", published) == (("65 to 74", "75 to 89", "90 and over"), None)
    labels, reason = national._match_age("56-65", published)
    assert labels is None and "straddles" in reason and "26 to 64" in reason
    assert national._match_age("adult", published)[0] is None


def test_expected_rates_on_the_sample(sample_episodes):
    flags = participant_outcomes(sample_episodes)
    mixes = national.all_expected_rates(sample_episodes, flags, "2024-25")
    assert set(mixes) == {"problem_descriptor", "age_group", "gender", "ethnic_group", "long_term_condition"}
    gender = mixes["gender"]
    assert [c.value for c in gender.unmatched] == ["Non-binary"]
    pd_mix = mixes["problem_descriptor"]
    assert not pd_mix.unmatched  # every sample problem descriptor is mapped explicitly
    for group in (GROUP_PA, GROUP_CONTROL):
        r = pd_mix.results["recovery"][group]
        assert r.n + r.unmatched == int((flags["group"].eq(group) & flags["at_caseness"]).sum())
        assert 0.3 < r.expected_rate < 0.7
    with pytest.raises(LookupError, match="no imd_decile"):
        national.expected_rates(sample_episodes, flags, "deprivation_decile")


def test_structured_physical_activity_flags_small_numbers():
    spa = national.structured_physical_activity().set_index("year")
    assert list(spa.index)[0] == "2019-20"
    latest = spa.loc["2024-25"]
    assert latest["courses"] == 17 and latest["recovery"] == pytest.approx(0.563)
    assert bool(latest["small"]) and not bool(spa.loc["2019-20", "small"])
    assert "different population" in national.SPA_CAVEAT.lower()


def test_benchmark_block_carries_attribution_and_pilot(sample_episodes):
    flags = participant_outcomes(sample_episodes)
    block = national.benchmark_block(flags, sample_episodes, "RW4", "2024-25")
    assert block["attribution"] == national.ATTRIBUTION
    assert "anxiety and depression" in block["attribution"]
    assert block["england"]["rates"]["recovery"]["count"] == 321_061
    assert block["organisation"]["organisation"]["code"] == "RW4"
    assert block["pilot"]["rates"]["recovery"][GROUP_PA] == {"count": 12, "denominator": 19, "rate": 12 / 19}
    assert block["pilot"]["funnel_position"][GROUP_PA] == "within the 95% limits"
    oe = block["expected"]["problem_descriptor"]["rates"]["recovery"][GROUP_PA]["observed_over_expected"]
    assert oe["estimate"] > 1 and oe["ci95"][0] < 1 < oe["ci95"][1]
    text = national.benchmark_text(block)
    assert national.ATTRIBUTION in text and "Mersey Care" in text


def test_england_reference_line_names_the_year():
    rate, label = national.england_recovery("2023-24")
    assert rate == pytest.approx(0.501) and label == "England 2023-24: 50.1%"
    assert national.england_reference("reliable_improvement", "2024-25") == (0.675, "England 2024-25: 67.5%")


def test_blank_values_are_reported_as_unmatched_not_dropped():
    episodes = _tiny_pilot()
    episodes.loc[0, "problem_descriptor"] = None
    flags = participant_outcomes(episodes)
    mix = national.expected_rates(episodes, flags, "problem_descriptor", "2024-25")
    blank = next(c for c in mix.unmatched if c.value == "(blank)")
    assert blank.n == {GROUP_PA: 1, GROUP_CONTROL: 0} and "no problem_descriptor recorded" in blank.reason
    pa = mix.results["recovery"][GROUP_PA]
    assert (pa.n, pa.unmatched, pa.observed) == (2, 1, 1)


def test_the_shipped_extract_is_compact_and_needs_no_raw_files():
    files = [national.REFERENCE_DIR / name for name in
             (national.MEASURES_FILE, national.THERAPY_TYPES_FILE, national.PROVIDERS_FILE)]
    assert all(f.exists() for f in files)
    assert sum(f.stat().st_size for f in files) < 2_000_000
    statuses = set(national.load_measures()["count_status"].unique())
    assert statuses <= {"published", "suppressed", "not published"} and "suppressed" in statuses
    suppressed = national.load_measures().query("count_status == 'suppressed'")
    assert suppressed["count"].isna().all()  # missing, never zero
