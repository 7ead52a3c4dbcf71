"""The Recovery and reliable change page (AppTest): the rates, the comparison table, the
outcome categories, the first-vs-last scatter, completeness and the survey callout."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from analysis import formatting as fmt
from analysis.outcomes import OUTCOME_CATEGORIES, with_derived_columns
from analysis.schema import GROUP_CONTROL, GROUP_PA
from analysis.summary import analyse
from analysis.survey import SOURCE_TITLES, load_recommendations
from dashboard.ui import keep_together
from tests.apptest_support import assert_clean, open_page, page_text
from tests.conftest import SAMPLE_SESSIONS

PAGE = "pages/recovery.py"


@pytest.fixture(scope="module")
def expected():
    from analysis.validate import load_path

    return analyse(with_derived_columns(load_path(SAMPLE_SESSIONS).episodes))


def _open(**state) -> AppTest:
    return open_page(PAGE, state)






def _charts(at: AppTest) -> dict[str, dict]:
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {spec["layout"]["title"]["text"].replace("<br>", " "): spec for spec in specs}  # titles wrap to fit


def _table(at: AppTest, first_column: str, first_value: str):
    for frame in at.table:
        value = frame.value
        if first_column in value.columns and value[first_column].iloc[0] == first_value:
            return value
    raise AssertionError(f"no table starting {first_column} = {first_value}")


@pytest.fixture(scope="module")
def page() -> AppTest:
    return _open()


def test_recovery_figures_appear_as_text(page, expected):
    text = page_text(page)
    assert "63%" in text and "36%" in text
    assert expected.recovery_verdict() in text
    assert "Recovery 63% vs 36%" in text  # the grouped chart's takeaway


def test_charts_present_with_references(page):
    charts = _charts(page)
    assert list(charts) == ["Outcome rates by group", "Outcome of every finisher (share of finishers)",
                            "PHQ-9: first against last score"]  # the chance-of-benefit charts: drawn when
    # their expander is opened (tests/test_page_bayes.py)
    rates = charts["Outcome rates by group"]
    # the reference lines are England's published rates for the latest year (50.5% and 67.5% in 2024-25)
    assert [round(s["y0"], 1) for s in rates["layout"]["shapes"]] == [50.5, 67.5]
    assert "England 2024-25: 50.5%" in [t.get("name") for t in rates["data"]]
    scatter = charts["PHQ-9: first against last score"]
    assert [t["name"] for t in scatter["data"] if t.get("mode") == "markers"] == ["Physical activity", "Control"]


def test_rate_comparison_table(page, expected):
    table = _table(page, "Figure", "Physical activity (Wilson 95% CI)")
    assert list(table.columns) == ["Figure", "Recovery", "Reliable recovery", "Reliable improvement",
                                   "Reliable deterioration"]
    recovery = expected.rates["recovery"]
    rows = table.set_index("Figure")["Recovery"]
    assert rows["Physical activity (Wilson 95% CI)"] == "63% (41% to 81%); 12 of 19"
    assert rows["Control (Wilson 95% CI)"].startswith("36% (") and rows["Control (Wilson 95% CI)"].endswith("5 of 14")
    assert rows["Fisher's exact p"] == fmt.p_value(recovery.fisher.p).removeprefix("p = ")
    assert rows["Odds ratio method"] == "exact (conditional MLE)"
    assert rows["Odds ratio (95% CI)"].startswith(fmt.number(recovery.odds_ratio.estimate, 2))
    assert rows["Number needed to treat"] == f"{fmt.number(recovery.nnt.estimate, 1)} (PA higher)"
    assert "∞" in rows["NNT 95% CI (∞ = runs through infinity)"]  # the recovery difference's CI includes 0
    improvement = table.set_index("Figure")["Reliable improvement"]
    assert improvement["NNT 95% CI (∞ = runs through infinity)"] == keep_together(fmt.ci(
        expected.rates["reliable_improvement"].nnt.ci95).removeprefix("95% CI "))  # shown whole: no-break spaces


def test_outcome_categories_and_completeness(page, expected):
    categories = _table(page, "Outcome", "Reliable recovery")
    assert categories["Physical activity"].iloc[0] == "10 (53%)"
    completeness = _table(page, "Group", "Physical activity")
    rows = completeness.set_index("Group")
    assert rows.loc["Everyone", "Completeness"] == fmt.percent(expected.completeness.loc["all", "completeness"])
    assert rows.loc["Everyone", "Meets the 90% standard"] == "yes"


def test_survey_recommendation_callout_uses_the_data_file(page):
    recommendations = load_recommendations().set_index("recommendation_id")
    text = page_text(page)
    short = recommendations.loc["R1-S1"]
    assert short["solution_text"] in text
    assert recommendations.loc["R1-L2", "solution_text"] in text
    assert short["title"] in text
    assert SOURCE_TITLES[short["source_document"]] in text and short["source_section"] in text
    assert "63% of the physical activity group recovered against 36% of the control group" in text


def test_switching_the_scatter_to_gad7(expected):
    at = _open()
    at.sidebar.selectbox(key="measure").set_value("gad7").run()  # the sidebar's measure (issue 18 item 8)
    assert_clean(at)
    charts = _charts(at)
    assert "GAD-7: first against last score" in charts and "PHQ-9: first against last score" not in charts
    gad7 = charts["GAD-7: first against last score"]
    assert 8 in [s["x0"] for s in gad7["layout"]["shapes"] if s["yref"] == "y domain"]  # GAD-7 cut-off
    assert "On GAD-7 alone" in page_text(at)


def test_a_filter_that_empties_the_control_group_shows_a_message():
    at = _open(f_ethnicity=["Asian or Asian British"])  # physical activity participants only, on the sample
    text = page_text(at)
    assert "cannot be compared: no one in the control group finished treatment" in text
    table = _table(at, "Figure", "Physical activity (Wilson 95% CI)")
    assert table.set_index("Figure").loc["Control (Wilson 95% CI)", "Recovery"].startswith("not available")
    assert "Control" not in _charts(at)["Outcome of every finisher (share of finishers)"]["data"][0]["y"]


def test_safe_mode_hides_the_scatter_and_pools_small_categories():
    at = _open(safe=True)
    charts = _charts(at)
    assert "PHQ-9: first against last score" not in charts
    transitions = _table(at, "Group", "Physical activity")
    assert list(transitions.columns) == ["Group", "At the first score", "Last: At caseness", "Last: Below cut-off"]
    cells = transitions[["Last: At caseness", "Last: Below cut-off"]].to_numpy().ravel()
    assert all(c == "fewer than 5" or int(c.replace(",", "")) % 5 == 0 for c in cells)
    categories = charts["Outcome of every finisher (share of finishers)"]
    assert categories["data"][-1]["name"].replace("<br>", " ") == "Smaller categories (pooled, hidden)"
    text = page_text(at)
    assert "individual participants are not drawn" in text.lower()
    rates = _table(at, "Figure", "Physical activity (Wilson 95% CI)").set_index("Figure")
    # 0 of 19 deteriorated in the PA group: hidden, and so is every comparison resting on it
    assert rates.loc["Physical activity (Wilson 95% CI)", "Reliable deterioration"].startswith("hidden")
    assert rates.loc["Fisher's exact p", "Reliable deterioration"] == "hidden (small numbers)"
    assert rates.loc["Physical activity (Wilson 95% CI)", "Recovery"] == "63% (41% to 81%); 10 of 20"



def test_safe_mode_table_hides_every_category_the_chart_pools():
    """Complementary suppression: a category added to the chart's pool is hidden in the table too, or the
    table would give back the small cells the pool hides."""
    at = _open(safe=True)
    chart = _charts(at)["Outcome of every finisher (share of finishers)"]
    drawn = {(t["name"].replace("<br>", " "), y) for t in chart["data"] for x, y in zip(t["x"], t["y"], strict=True)
             if x and not t["name"].startswith("Smaller")}  # a segment of non-zero width
    table = _table(at, "Outcome", OUTCOME_CATEGORIES[0]).set_index("Outcome")
    hidden = {(category, group) for category in table.index for group in table.columns
              if table.loc[category, group] == "hidden (pooled in the chart)"}
    assert hidden  # the sample's small categories are pooled
    for category, group in hidden:
        assert (category, group) not in drawn
    assert table.loc["Reliable recovery", "Control"] == "hidden (pooled in the chart)"


def test_groups_keep_their_colours(page):
    rates = _charts(page)["Outcome rates by group"]
    bars = [t for t in rates["data"] if t["type"] == "bar"]
    assert [(t["name"], t["marker"]["color"]) for t in bars] == [("Physical activity", "#0072B2"),
                                                                  ("Control", "#B97A00")]


def test_expected_sample_counts(expected):
    """The sample's recovery counts the page's text rests on (12 of 19 vs 5 of 14)."""
    groups = expected.rates["recovery"].groups
    assert (groups[GROUP_PA].count, groups[GROUP_PA].denominator) == (12, 19)
    assert (groups[GROUP_CONTROL].count, groups[GROUP_CONTROL].denominator) == (5, 14)
