"""The Who benefits page in Streamlit's AppTest: subgroup choices, filters, measure, safe mode and an empty group."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis import formatting as fmt
from analysis.compare import SUBGROUP_CAUTION, subgroup_analysis
from analysis.figures import subgroups as sg
from analysis.summary import analyse
from dashboard.ui import cell_text, md_escape
from tests.apptest_support import open_page

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/who_benefits.py"


@pytest.fixture(scope="module")
def sample(app_sample):
    return app_sample


def _open(**state) -> AppTest:
    return open_page(PAGE, state, from_home=False)


def _markdown(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def _subgroup_table(at: AppTest):
    return at.table[0].value


def test_default_view_shows_the_forest_plot_caution_and_balance(sample):
    episodes, analysis = sample
    at = _open()
    assert at.title[0].value == "Who benefits"
    assert at.selectbox(key="wb_column").value == "age_band"
    assert at.selectbox(key="wb_outcome").value == "recovery"
    assert SUBGROUP_CAUTION in [w.value for w in at.warning]
    result = subgroup_analysis(episodes, "age_band", "recovery", analysis.flags)
    rows = sg.forest_rows(result, analysis.rates["recovery"], False,
                          sg.subgroup_counts(episodes, analysis.flags, "age_band", "recovery"))
    takeaway = md_escape(sg.forest_takeaway(rows, "recovery", "age_band", result.interaction))
    assert f"**Takeaway:** {takeaway}" in _markdown(at)
    assert any(m.startswith("**Interaction test**") and "not available" in m for m in _markdown(at))
    # Levels with fewer than 10 per group are listed as plain text.
    assert at.text[0].value == ", ".join(sg.small_levels(rows))
    table = _subgroup_table(at)
    assert table.iloc[0]["Subgroup"] == "Overall"
    assert table.iloc[0]["Difference PA − control (percentage points)"] == fmt.number(
        analysis.rates["recovery"].difference.estimate * 100, 0)
    balance = sg.balance_rows(episodes, analysis.flags)
    assert f"**Takeaway:** {md_escape(sg.love_takeaway(balance))}" in _markdown(at)
    assert len(at.table) == 2 and len(at.table[1].value) == len(balance)


def test_choosing_a_subgroup_and_the_change_outcome(sample):
    episodes, analysis = sample
    at = _open()
    at.selectbox(key="wb_column").set_value("ltc")
    at.selectbox(key="wb_outcome").set_value(sg.CHANGE_OUTCOME)
    at.run()
    assert not at.exception and not at.error
    result = subgroup_analysis(episodes, "ltc", "phq9", analysis.flags)
    interaction = md_escape(sg.interaction_text(result.interaction))
    assert any(m.endswith(interaction) for m in _markdown(at))
    assert "F = 0" in sg.interaction_text(result.interaction)
    table = _subgroup_table(at)
    assert table["Subgroup"].tolist() == ["Overall", "No", "Yes"]
    assert table.iloc[0]["Difference PA − control (points)"] == fmt.number(analysis.measures["phq9"].welch.estimate)
    assert table.iloc[2]["Difference PA − control (points)"] == fmt.number(result.table.iloc[1]["estimate"])


def test_the_sidebar_measure_changes_the_change_outcome(sample):
    _, analysis = sample
    at = _open(measure="gad7", wb_column="ltc", wb_outcome=sg.CHANGE_OUTCOME)
    table = _subgroup_table(at)
    assert table.iloc[0]["Difference PA − control (points)"] == fmt.number(analysis.measures["gad7"].welch.estimate)
    assert "GAD-7" in at.selectbox(key="wb_outcome").help
    assert any(md_escape("change in GAD-7") in m.value for m in at.markdown)  # the takeaway names it


def test_a_filter_changes_the_numbers(sample):
    episodes, _ = sample
    at = _open(f_gender=["Female"], wb_column="ltc")
    female = episodes[episodes["gender"] == "Female"]
    analysis = analyse(female)
    table = _subgroup_table(at)
    recovery = analysis.rates["recovery"]
    assert table.iloc[0]["n physical activity"] == str(recovery.groups["physical_activity"].denominator)
    assert table.iloc[0]["Difference PA − control (percentage points)"] == fmt.number(
        recovery.difference.estimate * 100, 0)
    # The filtered column is no longer offered as a subgroup (one level left).
    assert "gender" not in at.selectbox(key="wb_column").options


def test_a_filter_that_empties_a_group_says_why():
    at = _open(f_gender=["Non-binary"])
    messages = [w.value for w in at.warning]
    assert any("No one in the physical activity group finished treatment" in m for m in messages)
    assert "Baseline balance needs finishers in both groups." in messages
    assert len(at.table) == 0


def test_safe_mode_hides_small_subgroups():
    at = _open(safe=True, wb_column="gender")
    table = _subgroup_table(at)
    assert table.iloc[0]["n physical activity"] == "20" and table.iloc[0]["n control"] == "15"
    assert "hidden (small numbers)" in table["Difference PA − control (percentage points)"].tolist()
    assert "<5" in table["n control"].tolist()
    assert "hidden (small numbers)" in at.table[1].value["Control"].tolist()


def test_labels_from_the_data_are_not_markdown(sample):
    from dashboard.state import UPLOAD_KEY, Dataset

    episodes, _ = sample
    tricky = episodes.assign(gender=episodes["gender"].replace({"Male": "**Male**", "Female": "<b>F</b>"}))
    dataset = Dataset(token="upload-test", name="tricky.csv", is_sample=False, episodes=tricky)
    at = _open(**{UPLOAD_KEY: dataset, "data_source": "upload", "wb_column": "gender"})
    takeaway = next(m for m in _markdown(at) if m.startswith("**Takeaway:** Across gender"))
    assert md_escape("**Male**") in takeaway and md_escape("<b>F</b>") in takeaway
    assert "**Male**" not in takeaway and "<b>F</b>" not in takeaway
    assert any("**Male**" in t.value for t in at.text)  # the small-subgroup list is plain text
    # The table shows each cell as text: its Markdown is escaped (``ui.cell_text``), so it reads **Male**.
    assert cell_text("**Male**") in _subgroup_table(at)["Subgroup"].tolist()


def test_every_subgroup_and_outcome_renders_without_error(sample):
    from analysis.compare import categorical_columns
    from analysis.outcomes import RATE_DEFINITIONS

    episodes, _ = sample
    at = _open(measure="SPIN")
    for column in categorical_columns(episodes):
        for outcome in [*RATE_DEFINITIONS, sg.CHANGE_OUTCOME]:
            at.selectbox(key="wb_column").set_value(column)
            at.selectbox(key="wb_outcome").set_value(outcome)
            at.run()
            assert not at.exception, (column, outcome, at.exception)
            assert not at.error, (column, outcome)
            assert at.table[0].value.iloc[0]["Subgroup"] == "Overall"
