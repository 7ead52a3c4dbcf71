"""Sample size and power: known figures, hand computations, properties and bad input."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from analysis import power as pw
from analysis.power import (
    OBSERVED_POWER_WARNING,
    SampleSize,
    cohens_h,
    planning_sentence,
    planning_sentence_for_means,
    power_curve,
    power_for_means,
    power_for_rates,
    sample_size_for_effect,
    sample_size_for_means,
    sample_size_for_rates,
)

# --- Cohen's h ------------------------------------------------------------------------------


def test_cohens_h_matches_hand_computation() -> None:
    expected = 2 * math.asin(math.sqrt(0.63)) - 2 * math.asin(math.sqrt(0.36))
    assert cohens_h(0.63, 0.36) == pytest.approx(expected, abs=1e-12)
    assert cohens_h(0.63, 0.36) == pytest.approx(0.5468, abs=1e-4)
    assert cohens_h(0.36, 0.63) == pytest.approx(-expected, abs=1e-12)
    assert cohens_h(0.5, 0.5) == 0.0


def test_cohens_h_defined_at_the_ends_of_the_scale() -> None:
    assert cohens_h(1.0, 0.0) == pytest.approx(math.pi)


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan"), "0.5", None])
def test_cohens_h_rejects_non_proportions(bad: object) -> None:
    with pytest.raises(ValueError, match="p_pa"):
        cohens_h(bad, 0.3)  # type: ignore[arg-type]


# --- sample size for rates -------------------------------------------------------------------


def test_pilot_rates_at_80_percent_need_53_per_group() -> None:
    size = sample_size_for_rates(0.63, 0.36, alpha=0.05, power=0.80)
    assert isinstance(size, SampleSize)
    assert size.n_per_group == 53
    assert size.n_control == 53
    assert size.n_total == 106
    assert size.n_exact == pytest.approx(52.50, abs=0.01)
    assert size.effect_size == pytest.approx(0.5468, abs=1e-4)
    assert size.effect_size_name == "Cohen's h"
    assert size.alpha == 0.05 and size.power == 0.80
    assert "Cohen 1988" in size.method and "NormalIndPower" in size.method
    assert size.reason is None and size.available


def test_pilot_rates_at_90_percent_need_71_per_group() -> None:
    size = sample_size_for_rates(0.63, 0.36, power=0.90)
    assert size.n_per_group == 71
    assert size.n_exact == pytest.approx(70.28, abs=0.01)


def test_rates_sample_size_matches_the_normal_formula() -> None:
    # n = 2·((z_{1-α/2} + z_{power}) / h)^2 per group; statsmodels adds the negligible far tail.
    h = cohens_h(0.63, 0.36)
    formula = 2 * ((norm.ppf(0.975) + norm.ppf(0.80)) / h) ** 2
    assert sample_size_for_rates(0.63, 0.36).n_exact == pytest.approx(formula, rel=1e-3)


def test_direction_does_not_matter() -> None:
    assert sample_size_for_rates(0.36, 0.63).n_per_group == 53


def test_unequal_allocation() -> None:
    size = sample_size_for_rates(0.63, 0.36, ratio=2.0)
    assert size.ratio == 2.0
    assert size.n_control == math.ceil(2 * size.n_exact - 1e-9)
    # Unequal allocation needs more in total than equal allocation.
    assert size.n_total > 106
    assert power_for_rates(0.63, 0.36, size.n_per_group, size.n_control) >= 0.80


@pytest.mark.parametrize(
    ("p_pa", "p_control", "fragment"),
    [
        (0.4, 0.4, "equal"),
        (0.0, 0.3, "strictly between 0 and 1"),
        (1.0, 0.3, "strictly between 0 and 1"),
        (0.3, -0.2, "p_control"),
        (1.5, 0.3, "p_pa"),
        (float("nan"), 0.3, "p_pa"),
        ("63%", 0.3, "p_pa"),
        (None, 0.3, "p_pa"),
    ],
)
def test_invalid_rates_give_none_with_a_reason(p_pa: object, p_control: object, fragment: str) -> None:
    size = sample_size_for_rates(p_pa, p_control)  # type: ignore[arg-type]
    assert size.n_per_group is None and size.n_exact is None and not size.available
    assert size.reason is not None and fragment in size.reason


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.2}, "alpha"),
        ({"power": 1.0}, "power"),
        ({"power": 0.04}, "greater than alpha"),
        ({"ratio": 0.0}, "ratio"),
        ({"ratio": -1.0}, "ratio"),
    ],
)
def test_invalid_settings_give_none_with_a_reason(kwargs: dict[str, float], fragment: str) -> None:
    size = sample_size_for_rates(0.63, 0.36, **kwargs)
    assert size.n_per_group is None
    assert size.reason is not None and fragment in size.reason


def test_tiny_difference_is_reported_as_infeasible_not_a_crash() -> None:
    size = sample_size_for_rates(0.5, 0.5 + 1e-9)
    assert size.n_per_group is None
    assert "too small" in size.reason


def test_huge_difference_gives_the_minimum_group_with_a_caveat() -> None:
    size = sample_size_for_effect(10.0)
    assert size.n_per_group == pw.MIN_N_PER_GROUP
    assert size.reason is not None and "smallest usable group" in size.reason


# --- sample size for means -------------------------------------------------------------------


def test_medium_effect_needs_64_per_group_as_in_cohens_table() -> None:
    size = sample_size_for_effect(0.5)
    assert size.n_per_group == 64
    assert size.n_exact == pytest.approx(63.77, abs=0.01)
    assert size.effect_size_name == "Cohen's d"
    assert "TTestIndPower" in size.method


@pytest.mark.parametrize(
    ("d", "power", "expected"),
    [
        # Exact noncentral-t values as G*Power gives them (two-sided α = 0.05, equal groups);
        # Cohen's (1988) Table 2.4.1 agrees to within 1 (its 393 for d = 0.2 is approximate).
        (0.2, 0.80, 394),
        (0.5, 0.90, 86),
        (0.8, 0.80, 26),
    ],
)
def test_means_match_published_tables(d: float, power: float, expected: int) -> None:
    assert sample_size_for_effect(d, power=power).n_per_group == expected


def test_means_from_difference_and_sd() -> None:
    size = sample_size_for_means(3.0, 6.0)  # d = 0.5
    assert size.effect_size == pytest.approx(0.5)
    assert size.n_per_group == 64
    assert sample_size_for_means(-3.0, 6.0).n_per_group == 64


def test_t_test_needs_slightly_more_than_the_normal_formula() -> None:
    formula = 2 * ((norm.ppf(0.975) + norm.ppf(0.80)) / 0.5) ** 2  # 62.8
    n_exact = sample_size_for_effect(0.5).n_exact
    assert formula < n_exact < formula + 2


@pytest.mark.parametrize(
    ("difference", "sd", "fragment"),
    [
        (3.0, 0.0, "standard deviation"),
        (3.0, -1.0, "standard deviation"),
        (3.0, float("nan"), "standard deviation"),
        (0.0, 5.0, "no difference"),
        (float("inf"), 5.0, "difference"),
    ],
)
def test_invalid_means_give_none_with_a_reason(difference: float, sd: float, fragment: str) -> None:
    size = sample_size_for_means(difference, sd)
    assert size.n_per_group is None
    assert size.reason is not None and fragment in size.reason


def test_zero_effect_gives_none() -> None:
    assert sample_size_for_effect(0.0).n_per_group is None
    assert sample_size_for_effect(float("nan")).n_per_group is None


# --- power for a chosen effect ------------------------------------------------------------------


def test_power_at_the_pilot_size_and_at_the_planned_size() -> None:
    pilot = power_for_rates(0.63, 0.36, 19, 19)
    assert pilot == pytest.approx(0.392, abs=0.001)
    assert power_for_rates(0.63, 0.36, 53, 53) >= 0.80 > power_for_rates(0.63, 0.36, 52, 52)
    assert power_for_means(0.5, 64, 64) >= 0.80 > power_for_means(0.5, 63, 63)


def test_no_effect_gives_power_alpha() -> None:
    assert power_for_rates(0.4, 0.4, 30, 30) == pytest.approx(0.05)
    assert power_for_means(0.0, 30, 30, alpha=0.01) == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ((0.0, 0.3, 20, 20), "p_pa"),
        ((0.3, 1.0, 20, 20), "p_control"),
        ((0.6, 0.3, 1, 20), "n_pa"),
        ((0.6, 0.3, 20, 0), "n_control"),
        ((0.6, 0.3, 20.5, 20), "whole number"),
        ((0.6, 0.3, "20", 20), "whole number"),
    ],
)
def test_power_for_rates_rejects_bad_input_clearly(args: tuple, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        power_for_rates(*args)


def test_power_functions_reject_bad_alpha_and_effect() -> None:
    with pytest.raises(ValueError, match="alpha"):
        power_for_rates(0.6, 0.3, 20, 20, alpha=1.5)
    with pytest.raises(ValueError, match="Cohen's d"):
        power_for_means(float("nan"), 20, 20)
    with pytest.raises(ValueError, match="n_pa"):
        power_for_means(0.5, 1, 20)


rate = st.floats(min_value=0.01, max_value=0.99)
group_n = st.integers(min_value=2, max_value=2_000)


@settings(max_examples=100, deadline=None)
@given(p1=rate, p2=rate, n=group_n, extra=st.integers(min_value=1, max_value=500))
def test_rates_power_is_monotone_in_n(p1: float, p2: float, n: int, extra: int) -> None:
    assert power_for_rates(p1, p2, n + extra, n + extra) >= power_for_rates(p1, p2, n, n) - 1e-12


@settings(max_examples=100, deadline=None)
@given(d=st.floats(min_value=0.0, max_value=3.0), n=group_n, extra=st.integers(min_value=1, max_value=500))
def test_means_power_is_monotone_in_n(d: float, n: int, extra: int) -> None:
    assert power_for_means(d, n + extra, n + extra) >= power_for_means(d, n, n) - 1e-12


@settings(max_examples=100, deadline=None)
@given(d=st.floats(min_value=0.0, max_value=3.0), bigger=st.floats(min_value=0.0, max_value=1.0), n=group_n)
def test_means_power_is_monotone_in_effect(d: float, bigger: float, n: int) -> None:
    assert power_for_means(d + bigger, n, n) >= power_for_means(d, n, n) - 1e-12


@settings(max_examples=100, deadline=None)
@given(p_control=st.floats(min_value=0.01, max_value=0.5), gap=st.floats(min_value=0.0, max_value=0.2),
       more=st.floats(min_value=0.0, max_value=0.2), n=group_n)
def test_rates_power_is_monotone_in_effect(p_control: float, gap: float, more: float, n: int) -> None:
    small = power_for_rates(p_control + gap, p_control, n, n)
    large = power_for_rates(p_control + gap + more, p_control, n, n)
    assert large >= small - 1e-12


@settings(max_examples=50, deadline=None)
@given(p1=rate, p2=rate, target=st.floats(min_value=0.5, max_value=0.95))
def test_sample_size_achieves_the_power_asked_for(p1: float, p2: float, target: float) -> None:
    size = sample_size_for_rates(p1, p2, power=target)
    if size.n_per_group is None:
        assert size.reason
        return
    assert power_for_rates(p1, p2, size.n_per_group, size.n_per_group) >= target - 1e-9


# --- the curve ----------------------------------------------------------------------------------


def test_power_curve_for_rates() -> None:
    curve = power_curve("rates", p_pa=0.63, p_control=0.36, n_values=[10, 19, 53, 100])
    assert list(curve.columns) == ["n_per_group", "power"]
    assert curve["n_per_group"].tolist() == [10, 19, 53, 100]
    assert curve["power"].is_monotonic_increasing
    assert curve.loc[curve["n_per_group"] == 19, "power"].item() == pytest.approx(0.392, abs=0.001)


def test_power_curve_default_range_spans_the_planned_size() -> None:
    curve = power_curve("means", difference=3.0, sd=6.0)
    assert curve["n_per_group"].min() == 2 and curve["n_per_group"].max() >= 64
    assert curve["power"].is_monotonic_increasing
    assert curve["power"].iloc[-1] > 0.8


def test_power_curve_means_by_d_equals_by_difference() -> None:
    by_d = power_curve("means", d=0.5, n_values=[20, 64])
    by_diff = power_curve("means", difference=3.0, sd=6.0, n_values=[20, 64])
    assert by_d["power"].tolist() == pytest.approx(by_diff["power"].tolist())


@pytest.mark.parametrize(
    ("args", "kwargs", "fragment"),
    [
        (("odds",), {"d": 0.5}, "kind"),
        (("rates",), {"p_pa": 0.6}, "p_control"),
        (("means",), {"difference": 3.0}, "sd"),
        (("means",), {"difference": 3.0, "sd": 0.0}, "standard deviation"),
        (("means",), {"d": 0.5, "n_values": [1, 10]}, "at least 2"),
        (("rates",), {"p_pa": 0.6, "p_control": 0.3, "ratio": 0}, "ratio"),
    ],
)
def test_power_curve_rejects_bad_input(args: tuple, kwargs: dict, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        power_curve(*args, **kwargs)


# --- sentences and the warning -----------------------------------------------------------------


def test_planning_sentence_for_the_pilot() -> None:
    assert planning_sentence(0.63, 0.36, 0.80, 0.05, 19) == (
        "To detect 63% vs 36% with 80% power (α = 0.05, two-sided) you need about 53 per group; "
        "this pilot had 19."
    )
    assert "about 71 per group" in planning_sentence(0.63, 0.36, 0.90, 0.05, 19)
    assert planning_sentence(0.63, 0.36).endswith("per group.")
    unequal = planning_sentence(0.63, 0.36, pilot_n_per_group=(19, 14))
    assert unequal.endswith("this pilot had 19 (physical activity) and 14 (control).")


def test_planning_sentence_explains_when_there_is_no_answer() -> None:
    sentence = planning_sentence(0.36, 0.36)
    assert sentence.startswith("No sample size for 36% vs 36%")
    assert "no difference to detect" in sentence
    assert "p_pa" in planning_sentence(1.2, 0.36)


def test_planning_sentence_for_means() -> None:
    sentence = planning_sentence_for_means(3, 6, 0.80, 0.05, 19)
    assert sentence == (
        "To detect a difference of 3 points (SD 6, Cohen's d = 0.50) with 80% power "
        "(α = 0.05, two-sided) you need about 64 per group; this pilot had 19."
    )
    assert "standard deviation" in planning_sentence_for_means(3, 0)


def test_observed_power_warning_is_explained_and_referenced() -> None:
    assert "Hoenig & Heisey 2001" in OBSERVED_POWER_WARNING
    assert "p value" in OBSERVED_POWER_WARNING
    assert "Hoenig" in (pw.__doc__ or "")


def test_sample_size_serialises() -> None:
    as_dict = sample_size_for_rates(0.63, 0.36).to_dict()
    assert as_dict["n_per_group"] == 53 and as_dict["effect_size_name"] == "Cohen's h"
