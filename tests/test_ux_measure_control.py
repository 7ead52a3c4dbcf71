"""Issue 18 item 8: one outcome-measure control (the sidebar's, in the URL), offering only measures the
groups can be compared on, and drawn only on the pages it changes."""

from __future__ import annotations

import json

import pytest

from analysis.compare import available_measures, comparable_measures
from analysis.outcomes import with_derived_columns
from analysis.validate import load_path
from dashboard import state
from tests.apptest_support import assert_clean, open_page, page_text
from tests.conftest import SAMPLE_SESSIONS


@pytest.fixture(scope="module")
def episodes():
    return with_derived_columns(load_path(SAMPLE_SESSIONS).episodes)


def _measure_control(at):
    return [s for s in at.sidebar.selectbox if s.key == state.MEASURE_KEY]


def _chart_titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]


def test_measures_with_one_person_against_none_are_not_offered(episodes) -> None:
    assert "SPIN" in available_measures(episodes)  # 1 physical activity participant, no control
    assert comparable_measures(episodes) == ["phq9", "gad7", "wsas"]


def test_the_sidebar_offers_only_comparable_measures() -> None:
    at = open_page("pages/symptom_change.py")
    (control,) = _measure_control(at)
    assert control.options == ["PHQ-9", "GAD-7", "WSAS"]


def test_overview_does_not_show_the_control_but_keeps_the_choice() -> None:
    at = open_page("pages/symptom_change.py")
    at.sidebar.selectbox(key=state.MEASURE_KEY).set_value("gad7").run()
    assert at.query_params.get(state.MEASURE_KEY) == "gad7"
    at.switch_page("pages/overview.py").run()
    assert_clean(at)
    assert _measure_control(at) == []  # it would change nothing on Overview
    assert at.query_params.get(state.MEASURE_KEY) == "gad7"  # a link from here keeps the choice
    at.switch_page("pages/symptom_change.py").run()
    assert _measure_control(at)[0].value == "gad7"
    assert "Measure shown: GAD-7" in page_text(at)


def test_recovery_plot_follows_the_sidebar_measure() -> None:
    at = open_page("pages/recovery.py")
    assert not [r for r in at.radio if r.label == "Measure"]  # no second control of its own
    assert "PHQ-9: first against last score" in _chart_titles(at)
    at.sidebar.selectbox(key=state.MEASURE_KEY).set_value("gad7").run()
    assert "GAD-7: first against last score" in _chart_titles(at)
    at.sidebar.selectbox(key=state.MEASURE_KEY).set_value("wsas").run()
    assert_clean(at)
    assert "PHQ-9: first against last score" in _chart_titles(at)
    assert any("WSAS, the outcome measure chosen in the sidebar, has no caseness cut-off" in c.value
               for c in at.caption)
