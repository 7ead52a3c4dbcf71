"""The CLI's probability of benefit (`bayes`) and value for money (`--cost`), as a user calls it."""

from __future__ import annotations

import json

import pytest

from analysis import bayes
from analysis.compare import compare_counts
from tests.test_cli import run

SAMPLE = "data/sample/synthetic_pilot_episodes.csv"


@pytest.fixture(scope="module")
def summary() -> dict:
    result = run("summarize", SAMPLE, "--format", "json", "--cost", "300", "--therapy-cost", "1000")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_bayes_follows_the_contract_and_reproduces_from_the_counts(summary):
    block = summary["bayes"]
    assert set(block) == {"recovery", "reliable_recovery", "reliable_improvement", "reliable_deterioration",
                          "phq9", "gad7"}
    for entry in block.values():
        for prior in ("vague", "sceptical", "enthusiastic"):
            assert set(entry[prior]) >= {"p_benefit", "p_benefit_mid", "mid"}
    r = summary["rates"]["recovery"]
    again = bayes.rate_benefit(r["physical_activity"]["count"], r["physical_activity"]["denominator"],
                               r["control"]["count"], r["control"]["denominator"]).to_dict()
    assert block["recovery"]["sceptical"] == again["sceptical"]
    assert block["recovery"]["vague"]["mid"] == 0.05 and block["phq9"]["vague"]["mid"] == 5
    a = summary["measures"]["gad7"]["ancova"]
    se = (a["ci95"][1] - a["ci95"][0]) / (2 * __import__("scipy").stats.t.ppf(0.975, 38 - 3))
    assert block["gad7"]["vague"]["p_benefit"] == pytest.approx(
        bayes.measure_benefit(a["difference"], se, measure="gad7", label="GAD-7", mid=4).priors["vague"].p_benefit,
        abs=1e-9)


def test_cost_adds_value_for_money(summary):
    value = summary["value_for_money"]
    r = summary["rates"]["recovery"]
    d = summary["adjusted"]["rates"]["recovery"]["difference"]  # the adjusted (ATT) difference is preferred
    assert value["cost_per_participant"] == 300 and value["therapy_cost"] == 1000
    recovery = value["outcomes"]["recovery"]
    assert recovery["cost_per_extra"]["estimate"] == pytest.approx(300 / d["estimate"])
    assert recovery["includes_no_benefit"] is True and recovery["cost_per_extra"]["upper_unbounded"] is True
    assert recovery["cost_per_extra"]["ci95"] == [pytest.approx(300 / d["ci95"][1]), None]
    assert "no upper limit" in recovery["statement"]
    assert value["therapy_context"]["control"] == pytest.approx(1000 / r["control"]["rate"])
    assert "Open Government Licence" in value["context"][0]["source"]


def test_without_cost_there_is_no_value_for_money_but_there_is_bayes():
    result = run("summarize", SAMPLE, "--format", "json")
    out = json.loads(result.stdout)
    assert "value_for_money" not in out and "bayes" in out


def test_mids_are_settable():
    result = run("summarize", SAMPLE, "--format", "json", "--mid-rate", "10", "--mid-phq9", "3", "--mid-gad7", "2")
    out = json.loads(result.stdout)
    assert out["bayes"]["recovery"]["sceptical"]["mid"] == 0.1
    assert out["bayes"]["phq9"]["sceptical"]["mid"] == 3 and out["bayes"]["gad7"]["vague"]["mid"] == 2
    assert out["bayes"]["recovery"]["vague"]["p_benefit_mid"] == pytest.approx(
        bayes.rate_benefit(12, 19, 5, 14, mid=0.1).priors["vague"].p_benefit_mid)


def test_text_reports_the_sentences_and_costs(summary):
    adjusted = summary["adjusted"]["rates"]["recovery"]["difference"]["estimate"]  # preferred over unadjusted
    result = run("summarize", SAMPLE, "--format", "text", "--cost", "300")
    assert result.returncode == 0, result.stderr
    assert "Probability of benefit" in result.stdout
    assert "Under a sceptical prior there is a 75% chance that physical activity improves recovery" in result.stdout
    assert f"each additional recovery costs about £{300 / adjusted:,.0f}" in result.stdout


def test_safe_mode_hides_figures_resting_on_small_groups():
    result = run("summarize", SAMPLE, "--format", "json", "--safe", "--cost", "300")
    out = json.loads(result.stdout)
    # reliable deterioration has a group below 5: its probabilities and zero-cell note are hidden
    hidden = out["bayes"]["reliable_deterioration"]
    assert hidden["sceptical"]["p_benefit"] is None and "presentation-safe" in hidden["sceptical"]["reason"]
    assert hidden["continuity_correction"] is None and "notes" not in hidden
    assert out["bayes"]["recovery"]["sceptical"]["p_benefit"] is not None  # probabilities are not counts
    assert out["bayes"]["recovery"]["basis"]["physical_activity"] == {"count": 10, "denominator": 20}  # rounded
    from analysis.disclosure import make_summary_safe
    from analysis.value import value_for_money

    small = {"recovery": compare_counts("recovery", 3, 4, 1, 4)}
    summary = {"bayes": {"recovery": bayes.rate_benefit(3, 4, 1, 4).to_dict()},
               "value_for_money": value_for_money(small, 300, therapy_cost=900).to_dict()}
    safe = make_summary_safe(summary)
    assert safe["bayes"]["recovery"]["vague"]["p_benefit"] is None
    assert safe["bayes"]["recovery"]["basis"]["physical_activity"]["count"] is None
    value = safe["value_for_money"]
    assert value["outcomes"]["recovery"]["cost_per_extra"]["estimate"] is None
    assert value["outcomes"]["recovery"]["includes_no_benefit"] is None
    assert "presentation-safe" in value["outcomes"]["recovery"]["statement"]
    assert value["cost_per_participant"] == 300  # the user's own figure
    assert value["therapy_context"]["control"] is None and "£" not in value["therapy_context"]["statement"]


@pytest.mark.parametrize("args,message", [(("--cost", "-5"), "0 or more"), (("--cost", "nan"), "finite"),
                                          (("--therapy-cost", "900"), "needs --cost"),
                                          (("--mid-rate", "0"), "--mid-rate"), (("--mid-phq9", "-1"), "--mid-phq9")])
def test_bad_inputs_exit_2_with_a_message(args, message):
    result = run("summarize", SAMPLE, *args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_value_for_money_prefers_the_adjusted_difference_when_the_summary_has_one():
    from analysis.__main__ import _benefit_overrides, _parser
    from analysis.summary import analyse
    from analysis.validate import load_path

    analysis = analyse(load_path(SAMPLE).episodes)
    args = _parser().parse_args(["summarize", SAMPLE, "--cost", "200"])
    adjusted = {"rates": {"recovery": {"difference": {"estimate": 0.2, "ci95": [0.05, 0.35]}}}}
    out = _benefit_overrides(args, analysis, {"adjusted": adjusted})
    recovery = out["value_for_money"]["outcomes"]["recovery"]
    assert recovery["difference"]["source"].startswith("adjusted")
    assert recovery["cost_per_extra"]["estimate"] == pytest.approx(1000)
    assert recovery["cost_per_extra"]["ci95"] == pytest.approx([200 / 0.35, 200 / 0.05])
    plain = _benefit_overrides(args, analysis, {})["value_for_money"]["outcomes"]["recovery"]
    assert plain["difference"]["source"].startswith("unadjusted")


@pytest.mark.parametrize("safe", [False, True])
def test_every_null_in_bayes_and_value_for_money_has_a_reason(safe):
    from analysis.disclosure import make_summary_safe
    from analysis.summary import analyse
    from analysis.validate import load_path
    from analysis.value import value_for_money
    from tests.test_results_edge_cases import _tiny, unexplained_nulls

    for analysis in (analyse(load_path(SAMPLE).episodes), analyse(_tiny(), source="tiny.csv")):
        for therapy in (None, 900):
            summary = analysis.to_dict()
            summary["value_for_money"] = value_for_money(analysis.rates, 250, therapy_cost=therapy).to_dict()
            if safe:
                summary = make_summary_safe(summary)
            json.dumps(summary, allow_nan=False)
            assert unexplained_nulls({"bayes": summary["bayes"]}) == 0
            assert unexplained_nulls({"value": summary["value_for_money"]}) == 0
