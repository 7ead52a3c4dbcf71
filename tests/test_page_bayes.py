"""Chance of benefit and value for money on the Overview, Recovery and Symptom change pages (AppTest)."""

from __future__ import annotations

import json

import pytest

from analysis.outcomes import with_derived_columns
from analysis.summary import analyse
from analysis.value import value_for_money
from tests.apptest_support import assert_clean, open_page, page_text
from tests.conftest import SAMPLE_SESSIONS


@pytest.fixture(scope="module")
def expected():
    from analysis.validate import load_path

    return analyse(with_derived_columns(load_path(SAMPLE_SESSIONS).episodes))


@pytest.fixture(scope="module")
def overview():
    return open_page("pages/overview.py")


def test_overview_says_the_chances_in_plain_english(overview, expected):
    text = page_text(overview)
    found = expected.benefit()
    assert "Chance of benefit" in [h.value for h in overview.subheader]
    for key in ("recovery", "phq9", "gad7"):
        assert found[key].sentence("sceptical") in text
    assert "Under a sceptical prior there is a 75% chance that physical activity improves recovery" in text
    table = next(f.value for f in [*overview.table, *overview.dataframe] if "Sceptical: any benefit" in f.value.columns)
    assert list(table["Outcome"]) == ["Recovery", "PHQ-9", "GAD-7"]
    assert table.iloc[0]["Sceptical: ≥ MID"] == f"{found['recovery'].priors['sceptical'].p_benefit_mid * 100:.0f}%"


def test_changing_the_mid_changes_the_chance_and_follows_to_other_pages(expected):
    at = open_page("pages/overview.py", {"bayes_mid_open_overview": True})  # the MID expander opened
    at.number_input(key="bayes_mid_rate_overview").set_value(10.0).run()
    assert_clean(at)
    wanted = expected.benefit(rate_mid=0.10)["recovery"].sentence()
    assert "10 percentage points" in wanted and wanted in page_text(at)
    at.session_state["bayes_mid_open_recovery"] = True
    at.switch_page("pages/recovery.py").run()
    assert_clean(at)
    assert wanted in page_text(at)
    assert at.number_input(key="bayes_mid_rate_recovery").value == 10.0


def test_value_for_money_appears_when_a_cost_is_entered(expected):
    at = open_page("pages/overview.py")
    assert "Enter the cost of the physical activity offer" in page_text(at)
    at.number_input(key="bayes_pa_cost_overview").set_value(300.0).run()
    at.number_input(key="bayes_therapy_cost_overview").set_value(1000.0).run()
    assert_clean(at)
    from analysis.value import adjusted_from

    # the page prefers the adjusted (ATT) difference once the adjusted analysis is there
    result = value_for_money(expected.rates, 300, therapy_cost=1000, adjusted=adjusted_from(expected))
    text = page_text(at)
    assert result.outcomes["recovery"].statement in text and "no upper limit" in text
    assert result.therapy_context["statement"] in text
    assert "Open Government Licence" in text and "no cost per recovered patient" in text


def test_recovery_page_charts_with_the_mid_marked(expected):
    at = open_page("pages/recovery.py", {"bayes_charts_open_recovery": True})  # the charts expander opened
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    titles = [s["layout"]["title"]["text"].replace("<br>", " ") for s in specs]  # titles wrap to fit the page
    posterior = specs[titles.index("Recovery: the difference between the groups, by prior")]
    assert sorted(shape["x0"] for shape in posterior["layout"]["shapes"]) == [0, 5]
    assert "Recovery: chance of benefit, from sceptical to open-minded priors" in titles
    at.selectbox(key="bayes_chart_recovery").set_value("reliable_improvement").run()
    assert_clean(at)
    text = page_text(at)
    assert expected.benefit()["reliable_improvement"].sentence() in text


def test_safe_mode_hides_chances_resting_on_small_groups(expected):
    at = open_page("pages/recovery.py", {"safe": True, "bayes_charts_open_recovery": True})
    text = page_text(at)
    # reliable deterioration has a group with fewer than 5: no probability is shown for it
    assert "Reliable deterioration: Hidden in presentation-safe mode" in text
    assert expected.benefit()["reliable_deterioration"].sentence() not in text
    assert expected.benefit()["recovery"].sentence() in text  # probabilities are not counts
    table = next(f.value for f in [*at.table, *at.dataframe] if "Sceptical: any benefit" in f.value.columns)
    row = table[table["Outcome"] == "Reliable deterioration"].iloc[0]
    assert row["Sceptical: any benefit"] == "hidden" and row["Vague: ≥ MID"] == "hidden"
    at.selectbox(key="bayes_chart_recovery").set_value("reliable_deterioration").run()
    assert_clean(at)
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    hidden = [s for s in specs if s["layout"]["title"]["text"].startswith("Reliable deterioration:")]
    assert hidden and all(not s["data"] for s in hidden)


@pytest.mark.parametrize("measure,label", [("phq9", "PHQ-9"), ("gad7", "GAD-7")])
def test_symptom_change_page_follows_the_measure(expected, measure, label):
    at = open_page("pages/symptom_change.py", {"measure": measure, "bayes_charts_open_symptom_change": True})
    text = page_text(at)
    assert expected.benefit()[measure].sentence() in text
    assert f"lowers {label} scores" in text
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"].replace("<br>", " ") for c in at.get("plotly_chart")]
    assert f"{label}: the difference between the groups, by prior" in titles


def test_symptom_change_without_a_mid_says_why():
    at = open_page("pages/symptom_change.py", {"measure": "wsas"})
    assert "has none in the project's sources" in page_text(at)


def test_methods_page_states_priors_and_each_default_mids_source():
    from analysis import bayes

    at = open_page("pages/methods.py")
    text = page_text(at)
    assert "Chance of benefit and value for money" in [h.value for h in at.subheader]
    assert f"SD {bayes.LOG_OR_PRIOR_SD:g}" in text and "Beta(1, 1)" in text
    assert "Löwe B" in text and "Toussaint A" in text and "5 percentage points" in text
    assert "Haldane" in text and "No QALYs" in text and "Open Government Licence" in text


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/recovery.py", "pages/symptom_change.py"])
def test_a_filter_that_empties_a_group_says_why_instead_of_crashing(page):
    at = open_page(page, {"f_ethnicity": ["Asian or Asian British"]})  # physical activity participants only
    text = page_text(at)
    assert "cannot be worked out" in text
    assert "Under a sceptical prior" not in text


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/recovery.py"])
def test_safe_mode_with_costs_shows_no_small_or_unrounded_count(page):
    from analysis.disclosure import SUPPRESS_BELOW
    from tests.test_results_safe_pages import _texts, shown_counts

    at = open_page(page, {"safe": True, "bayes_pa_cost": 300.0, "bayes_therapy_cost": 1000.0})
    assert "each additional recovery costs about" in page_text(at)
    bad = [(n, where) for text in _texts(at) for n, where in shown_counts(text) if n < SUPPRESS_BELOW or n % 5]
    assert not bad, bad


def test_the_mid_inputs_and_the_charts_are_drawn_only_while_their_expanders_are_open(expected):
    """A closed expander's contents are not sent (a room's first view is cheaper); opening it draws them."""
    at = open_page("pages/recovery.py")
    labels = [e.label for e in at.expander]
    assert "Change the minimal important difference (MID)" in labels
    assert "Charts: the chance of benefit and how it depends on the prior" in labels
    assert not [n for n in at.number_input if n.key and n.key.startswith("bayes_mid_")]
    assert not [s for s in at.selectbox if s.key == "bayes_chart_recovery"]
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert not [t for t in titles if "by prior" in t.replace("<br>", " ")]
    at.session_state["bayes_mid_open_recovery"] = True
    at.session_state["bayes_charts_open_recovery"] = True
    at.run()
    assert_clean(at)
    assert at.number_input(key="bayes_mid_rate_recovery").value == 5.0
    assert at.selectbox(key="bayes_chart_recovery").value == "recovery"
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"].replace("<br>", " ") for c in at.get("plotly_chart")]
    assert "Recovery: the difference between the groups, by prior" in titles
    assert expected.benefit()["recovery"].sentence() in page_text(at)  # the sentences show either way
