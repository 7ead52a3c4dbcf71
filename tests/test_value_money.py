"""Value for money: cost per additional recovery = cost ÷ difference = NNT × cost, with its interval."""

from __future__ import annotations

import math

import pytest

from analysis import value
from analysis.compare import compare_counts
from analysis.value import cost_per_extra_outcome, value_for_money


def rates(recovery=(12, 19, 5, 14), improvement=(14, 19, 6, 19)):
    return {"recovery": compare_counts("recovery", *recovery),
            "reliable_improvement": compare_counts("reliable_improvement", *improvement)}


def test_cost_is_nnt_times_cost_with_the_inverted_interval():
    result = cost_per_extra_outcome(250, 0.2, (0.05, 0.4))
    assert result.estimate == pytest.approx(1250) and result.nnt == pytest.approx(5)
    assert result.estimate == pytest.approx(result.nnt * 250)
    assert result.ci95 == pytest.approx((625, 5000))
    assert result.includes_no_benefit is False and not result.unbounded
    assert "£1,250" in result.statement and "£625 to £5,000" in result.statement


def test_interval_including_no_benefit_is_unbounded_and_said_plainly():
    result = cost_per_extra_outcome(300, 0.25, (-0.05, 0.45))
    assert result.estimate == pytest.approx(1200)
    assert result.ci95[0] == pytest.approx(300 / 0.45) and result.ci95[1] is None
    assert result.unbounded and result.includes_no_benefit
    assert "includes no benefit" in result.statement and "no upper limit" in result.statement
    entry = result.to_dict()
    assert entry["cost_per_extra"]["upper_unbounded"] is True and entry["cost_per_extra"]["ci95"][1] is None


def test_no_or_negative_difference_has_no_cost():
    for d in (0.0, -0.1):
        result = cost_per_extra_outcome(300, d, (-0.3, 0.1))
        assert result.estimate is None and result.ci95 is None
        assert "no cost per additional recovery" in result.statement
        assert result.reason


def test_missing_difference_is_null_with_reason():
    result = cost_per_extra_outcome(300, None, None)
    assert result.estimate is None and "not available" in result.reason


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "ten"])
def test_bad_cost_is_a_clear_message(bad):
    with pytest.raises(ValueError, match="pounds"):
        cost_per_extra_outcome(bad, 0.2, (0.1, 0.3))


def test_value_for_money_uses_newcombe_unless_adjusted_is_given():
    r = rates()
    plain = value_for_money(r, 300)
    d = r["recovery"].difference
    assert plain.outcomes["recovery"].difference == pytest.approx(d.estimate)
    assert plain.outcomes["recovery"].estimate == pytest.approx(300 / d.estimate)
    assert plain.outcomes["recovery"].difference_source.startswith("unadjusted")
    adjusted_json = {"rates": {"recovery": {"difference": {"estimate": 0.1, "ci95": [0.02, 0.18]}},
                               "reliable_improvement": {"difference": {"estimate": None, "ci95": None}}}}
    adjusted = value.adjusted_differences(adjusted_json)
    assert set(adjusted) == {"recovery"}
    result = value_for_money(r, 300, adjusted=adjusted)
    assert result.outcomes["recovery"].estimate == pytest.approx(3000)
    assert result.outcomes["recovery"].ci95 == pytest.approx((300 / 0.18, 300 / 0.02))
    assert result.outcomes["recovery"].difference_source.startswith("adjusted")
    # no adjusted improvement estimate: falls back to the unadjusted difference
    assert result.outcomes["reliable_improvement"].difference_source.startswith("unadjusted")


def test_therapy_context_from_the_users_costs_and_the_published_national_rate():
    r = rates()
    result = value_for_money(r, 300, therapy_cost=1000)
    ctx = result.therapy_context
    assert ctx["control"] == pytest.approx(1000 / (5 / 14))
    assert ctx["physical_activity"] == pytest.approx(1300 / (12 / 19))
    assert ctx["national"] == pytest.approx(1000 / 0.505)
    assert "£2,800" in ctx["statement"]
    out = result.to_dict()
    assert out["context"][0]["value"] == 0.505 and "Open Government Licence" in out["context"][0]["source"]
    assert "no cost per recovered patient" in out["notes"][0]
    assert value_for_money(r, 300).therapy_context == {}


def test_zero_control_rate_gives_no_therapy_alone_cost():
    result = value_for_money(rates(recovery=(3, 5, 0, 5)), 100, therapy_cost=800)
    assert result.therapy_context["control"] is None
    assert math.isclose(result.therapy_context["physical_activity"], 900 / 0.6)


def test_adjusted_differences_are_read_from_an_analysis_that_has_them():
    from types import SimpleNamespace

    with_adjusted = SimpleNamespace(adjusted_blocks={"adjusted": {"rates": {
        "recovery": {"difference": {"estimate": 0.15, "ci95": [0.01, 0.29]}}}}})
    assert value.adjusted_from(with_adjusted) == {"recovery": (0.15, [0.01, 0.29])}
    assert value.adjusted_from(SimpleNamespace()) == {}
    result = value_for_money(rates(), 150, adjusted=value.adjusted_from(with_adjusted))
    assert result.outcomes["recovery"].estimate == pytest.approx(1000)
