"""Planning figures: pilot estimates, sample-size table, power curves and takeaways, checked against analysis.power."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import pytest

from analysis import power
from analysis.figures import planning as pl
from analysis.schema import GROUP_PA
from analysis.summary import analyse


@pytest.fixture(scope="module")
def effects(sample_analysis):
    return pl.pilot_effects(sample_analysis, "phq9")


def test_pilot_effects_come_from_the_analysis(sample_analysis, effects):
    recovery = sample_analysis.rates["recovery"]
    assert effects.p_pa == pytest.approx(recovery.groups[GROUP_PA].rate) == pytest.approx(12 / 19)
    assert effects.p_control == pytest.approx(5 / 14)
    assert (effects.count_pa, effects.n_rate_pa, effects.count_control, effects.n_rate_control) == (12, 19, 5, 14)
    phq9 = sample_analysis.measures["phq9"]
    assert effects.difference == pytest.approx(phq9.welch.estimate)
    assert effects.sd == pytest.approx(phq9.hedges_g.extra["pooled_sd"])
    assert effects.hedges_g == pytest.approx(phq9.hedges_g.estimate)
    assert effects.cohens_d == pytest.approx(abs(phq9.hedges_g.extra["cohens_d"]))
    assert (effects.n_change_pa, effects.n_change_control) == (19, 19)
    assert effects.rate_reason is None and effects.change_reason is None


def test_pilot_effects_for_a_measure_not_in_the_data(sample_analysis):
    effects = pl.pilot_effects(sample_analysis, "OCI")
    assert effects.difference is None and effects.cohens_d is None
    assert effects.change_reason == "OCI is not in these data."


def test_pilot_effects_with_an_empty_group(sample_episodes):
    analysis = analyse(sample_episodes[sample_episodes["group"] == GROUP_PA])
    effects = pl.pilot_effects(analysis, "phq9")
    assert effects.p_control is None and "no one at caseness" in effects.rate_reason
    assert effects.difference is None and effects.change_reason


def test_starting_values(effects):
    start = pl.starting_values(effects)
    assert start["p_pa"] == 63 and start["p_control"] == 36
    assert start["difference"] == round(abs(effects.difference) / 0.5) * 0.5
    assert start["sd"] == round(effects.sd / 0.5) * 0.5
    hidden = pl.starting_values(effects, hide_rates=True, hide_change=True)
    assert (hidden["p_pa"], hidden["p_control"]) == (60, 50)
    assert hidden["difference"] == pytest.approx(2.5)  # 27 / 10 = 2.7, snapped to 0.5 steps
    assert hidden["sd"] == pytest.approx(5.5)  # 27 / 5 = 5.4


def test_slider_steps_follow_the_measure():
    assert pl.slider_step("phq9") == 0.5 and pl.slider_range("phq9") == (0.5, 27.0)
    assert pl.slider_step("MI") == 0.05 and pl.slider_range("MI") == (0.05, 4.0)


def test_equivalent_n_is_the_harmonic_mean():
    assert pl.equivalent_n(19, 19) == 19
    assert pl.equivalent_n(19, 14) == pytest.approx(2 * 19 * 14 / 33)
    assert pl.equivalent_n(0, 14) == 0
    # The same precision: power with 19 and 14 equals power with the harmonic mean in each group.
    n = pl.equivalent_n(19, 14)
    assert power.power_for_rates(0.63, 0.36, 19, 14) == pytest.approx(
        power._normal_power(power.cohens_h(0.63, 0.36), n, 1.0, 0.05), rel=1e-6)


def test_powers_to_show():
    assert pl.powers_to_show(0.8) == [0.8, 0.9]
    assert pl.powers_to_show(0.85) == [0.8, 0.85, 0.9]
    assert pl.powers_to_show(0.95) == [0.8, 0.9, 0.95]


def test_requirements_table_uses_analysis_power():
    table = pl.requirements_table(0.63, 0.36, 3, 6, 0.05, 0.8, "PHQ-9")
    assert table["Power"].tolist() == ["80%", "90%"]
    assert table["Recovery: per group"].tolist() == ["53", "71"]
    assert table["PHQ-9 change: per group"].tolist() == [
        str(power.sample_size_for_means(3, 6, 0.05, p).n_per_group) for p in (0.8, 0.9)]
    equal = pl.requirements_table(0.4, 0.4, None, None, 0.01, 0.85, "GAD-7")
    assert equal["α (two-sided)"].tolist() == ["0.01"] * 3
    assert equal["Recovery: per group"].iloc[0] == "not available: The two rates are equal, so there is no " \
                                                   "difference to detect."
    assert equal["GAD-7 change: per group"].iloc[0].startswith("not available")


def test_curve_n_values():
    values = pl.curve_n_values(53, pl.equivalent_n(19, 14))
    assert values[0] == power.MIN_N_PER_GROUP and 53 in values and 16 in values
    assert values[-1] == math.ceil(1.5 * 53)
    assert values == sorted(set(values))
    assert pl.curve_n_values(5_100_191, 19)[-1] == pl.CURVE_MAX_N
    assert pl.curve_n_values(None, None)[-1] == 30


def test_power_curve_chart():
    curve = power.power_curve("rates", p_pa=0.63, p_control=0.36, n_values=pl.curve_n_values(53, 16.1))
    figure = pl.power_curve_chart(curve, 0.8, 53, 16.1, pl.pilot_n_label(19, 14), "Recovery")
    assert isinstance(figure, go.Figure)
    assert list(figure.data[0].x) == curve["n_per_group"].tolist()
    assert list(figure.data[0].y) == pytest.approx((curve["power"] * 100).tolist())
    shapes = [(s.x0, s.y0, s.line.dash) for s in figure.layout.shapes]
    assert (0, 80, "dash") in shapes
    assert (53, 0, "dot") in shapes and (16.1, 0, "solid") in shapes
    texts = [a.text for a in figure.layout.annotations]
    assert texts == ["80% power", "Needed: 53", "This pilot:<br>19 and 14 (≈ 16 each)"]
    assert figure.layout.yaxis.range == (0, 100)


def test_pilot_n_label():
    assert pl.pilot_n_label(19, 19) == "This pilot:<br>19 per group"
    assert pl.pilot_n_label(19, 14) == "This pilot:<br>19 and 14 (≈ 16 each)"
    assert pl.pilot_n_label(None, 14) == "This pilot:<br>fewer than 5 in a group"


def test_planning_results_from_the_pilot(effects):
    results = pl.planning_results(effects.p_pa, effects.p_control, effects.difference, effects.sd, 0.05, 0.8, "phq9",
                                  (19, 14), (19, 19), effect_is_pilot=True)
    assert (results.p_pa, results.p_control) == (0.63, 0.36)
    assert results.sentences[0] == power.planning_sentence(0.63, 0.36, 0.8, 0.05, (19, 14))
    assert "you need about 53 per group; this pilot had 19 (physical activity) and 14 (control)." in \
        results.sentences[0]
    assert results.difference == round(abs(effects.difference), 1) and results.sd == round(effects.sd, 1)
    assert results.sentences[1] == power.planning_sentence_for_means(results.difference, results.sd, 0.8, 0.05,
                                                                     (19, 19), unit="PHQ-9 points")
    assert results.rates.size.n_per_group == 53
    assert results.rates.figure is not None and results.means.figure is not None
    # The pilot's own estimate: the power at the pilot's size (observed power) is never stated.
    assert "which would give" not in results.rates.takeaway
    assert "pilot's own estimate" in results.rates.takeaway
    assert results.rates.takeaway.startswith("To detect 63% vs 36% recovered with 80% power (α = 0.05) needs "
                                             "about 53 per group; this pilot had 19 and 14.")
    assert results.table["Recovery: per group"].tolist() == ["53", "71"]


def test_planning_results_for_a_chosen_effect_states_power_at_the_pilot_size():
    results = pl.planning_results(0.55, 0.50, 2.5, 6.0, 0.05, 0.9, "phq9", (19, 14), (19, 19), effect_is_pilot=False)
    expected = power.power_for_rates(0.55, 0.50, 19, 14, 0.05)
    assert f"which would give {expected * 100:.0f}% power for this chosen effect" in results.rates.takeaway
    assert results.rates.size.n_per_group == power.sample_size_for_rates(0.55, 0.50, 0.05, 0.9).n_per_group
    assert results.table["Power"].tolist() == ["80%", "90%"]
    assert "pilot's own estimate" not in results.means.takeaway


def test_planning_results_in_safe_mode_round_the_pilot_sizes():
    results = pl.planning_results(0.63, 0.36, 3, 6, 0.05, 0.8, "phq9", (19, 14), (19, 4), True, safe=True)
    assert results.sentences[0].endswith("this pilot had 20 (physical activity) and 15 (control).")
    assert results.sentences[1].endswith("per group.")  # a group below 5: the pilot's size is left out
    assert [a.text for a in results.means.figure.layout.annotations] == ["80% power", "Needed: 64"]


def test_planning_results_when_nothing_can_be_planned():
    results = pl.planning_results(0.4, 0.4, None, None, 0.05, 0.8, "gad7", (19, 14), (19, 19), False)
    assert results.rates.figure is None
    assert results.rates.takeaway == ("No sample size for 40% vs 40% recovered: The two rates are equal, so there is "
                                      "no difference to detect.")
    assert results.means.figure is None and results.means.takeaway.startswith("No GAD-7 difference")
    assert results.sentences == ("No sample size for 40% vs 40%: the two rates are equal, so there is no difference "
                                 "to detect.",)
    missing = pl.planning_results(None, 0.4, 1.0, 0.0, 0.05, 0.8, "gad7", (0, 0), (0, 0), False)
    assert missing.rates.figure is None and missing.means.figure is None
    assert "standard deviation must be a positive number" in missing.means.takeaway


def test_power_takeaway_beyond_the_chart():
    size = power.sample_size_for_means(0.05, 6.0)
    text = pl.power_takeaway("a tiny difference", size, (19, 19), effect_is_pilot=False, power_at_pilot=0.05)
    assert f"about {size.n_per_group:,} per group, beyond the 10,000 the chart shows" in text
    assert "which would give 5% power" in text
