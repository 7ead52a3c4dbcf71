"""The Symptom change page (AppTest), driven through app.py like a user: navigate, read the
numbers, switch the measure, filter, turn on presentation-safe mode."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from analysis import formatting as fmt
from analysis.outcomes import with_derived_columns
from analysis.schema import GROUP_CONTROL, GROUP_PA
from analysis.summary import analyse
from tests.apptest_support import assert_clean, open_page, page_text
from tests.conftest import SAMPLE_SESSIONS

PAGE = "pages/symptom_change.py"


@pytest.fixture(scope="module")
def episodes():
    """The bundled session-level sample, reduced to episodes as the app loads it."""
    from analysis.validate import load_path

    return with_derived_columns(load_path(SAMPLE_SESSIONS).episodes)


@pytest.fixture(scope="module")
def expected(episodes):
    """The analysis the page should show, unfiltered."""
    return analyse(episodes)


def _open(**state) -> AppTest:
    return open_page(PAGE, state)






def _charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _titles(at: AppTest) -> list[str]:
    return [spec["layout"]["title"]["text"].replace("<br>", " ") for spec in _charts(at)]  # titles wrap to fit


@pytest.fixture(scope="module")
def page() -> AppTest:
    return _open()


def test_page_renders_the_phq9_comparison(page, expected):
    text = page_text(page)
    assert "Measure shown: PHQ-9" in text
    assert expected.measure_verdict("phq9") in text
    phq9 = expected.measures["phq9"]
    assert f"fell by {fmt.number(-phq9.descriptives[GROUP_PA].mean_change)} points" in text
    assert _titles(page) == ["PHQ-9: mean first and last score", "PHQ-9: change from first to last score",
                             "PHQ-9: each participant's first and last score", "PHQ-9 session by session"]
    # the chance-of-benefit charts are drawn when their expander is opened (tests/test_page_bayes.py)


def test_tables_show_first_last_means_and_ancova_primary(page, expected):
    phq9 = expected.measures["phq9"]
    means = page.table[0].value
    pa = phq9.descriptives[GROUP_PA]
    row = means[means["Group"] == "Physical activity"].iloc[0]
    # on screen the interval never wraps inside its brackets: "12.9 to 16.7" is held together by no-break spaces
    shown = f"{fmt.number(pa.mean_first)} ({fmt.ci(pa.ci95_first)[7:]})"
    assert row["Mean first (95% CI)"] == shown.replace(" to ", "\u00a0to\u00a0")
    assert row["ANCOVA adjusted mean last"] == fmt.number(phq9.ancova.extra["adjusted_mean_last"][GROUP_PA])
    comparison = next(f.value for f in [*page.table, *page.dataframe] if "Role" in f.value.columns)  # the chances table follows
    assert comparison["Role"].tolist() == ["Primary analysis"] + ["Sensitivity analysis"] * 4
    assert comparison["Estimate"].iloc[0] == fmt.number(phq9.ancova.estimate)
    assert comparison["p"].iloc[0] == fmt.p_value(phq9.ancova.p).removeprefix("p = ")
    assert "Hedges" in comparison["Analysis"].iloc[3] and "permutation" in comparison["Analysis"].iloc[4]


def test_mcid_proportions_and_line(page, expected):
    mcid = expected.measures["phq9"].mcid
    table = page.table[1].value
    assert table["Share"].tolist() == [fmt.percent(mcid.groups[GROUP_PA].rate),
                                       fmt.percent(mcid.groups[GROUP_CONTROL].rate)]
    change = _charts(page)[1]
    assert -5 in [shape["y0"] for shape in change["layout"]["shapes"]]


def test_session_trajectory_uses_every_finisher_at_session_1(page, expected):
    n_pa = expected.measures["phq9"].descriptives[GROUP_PA].n
    assert f"at session 1 (n = {n_pa})" in page_text(page)
    trajectory = _charts(page)[3]
    assert any(trace["name"].endswith("participants") for trace in trajectory["data"])


def test_switching_the_measure_to_gad7_changes_the_numbers(expected):
    at = _open()
    phq9_text = page_text(at)
    at.sidebar.selectbox(key="measure").set_value("gad7").run()
    assert_clean(at)
    text = page_text(at)
    assert "Measure shown: GAD-7" in text
    assert expected.measure_verdict("gad7") in text
    assert expected.measure_verdict("phq9") not in text and expected.measure_verdict("phq9") in phq9_text
    assert _titles(at)[0] == "GAD-7: mean first and last score"
    gad7 = expected.measures["gad7"].descriptives[GROUP_PA]
    assert at.table[0].value["Mean first (95% CI)"].iloc[0].startswith(fmt.number(gad7.mean_first))


def test_a_small_group_says_not_available_why(expected):
    # SPIN (1 participant against 0) is no longer offered (issue 18 item 8); a filter can still leave a
    # measure with too few people: WSAS among Asian or Asian British participants (no control).
    at = _open(measure="wsas", f_ethnicity=["Asian or Asian British"])
    text = page_text(at)
    assert "Measure shown: WSAS" in text
    assert "WSAS change cannot be compared between the groups" in text
    assert "Needs at least 2 participants" in text
    comparison = next(f.value for f in [*at.table, *at.dataframe] if "Role" in f.value.columns)
    assert comparison["Estimate"].str.startswith("not available").all()
    assert "No minimal clinically important difference" in text


def test_a_filter_that_empties_the_control_group_shows_a_message():
    at = _open(f_ethnicity=["Asian or Asian British"])  # physical activity participants only, on the sample
    text = page_text(at)
    assert "Filter active" in text
    assert "cannot be compared between the groups" in text
    assert "control 0" in text
    assert _titles(at)[0] == "PHQ-9: mean first and last score"
    first_last = _charts(at)[0]
    assert [trace["name"] for trace in first_last["data"]] == ["Physical activity"]


def test_filters_reach_the_session_trajectories(episodes, expected):
    at = _open(f_gender=["Male"])
    male = (episodes["gender"] == "Male").to_numpy()
    finished = expected.flags["finished"].to_numpy()
    n_pa = int((male & finished & (episodes["group"] == GROUP_PA).to_numpy()).sum())
    n_control = int((male & finished & (episodes["group"] == GROUP_CONTROL).to_numpy()).sum())
    assert n_pa != expected.measures["phq9"].descriptives[GROUP_PA].n  # the filter changes the number
    text = page_text(at)
    assert "in the physical activity group the mean went from" in text
    assert f"at session 1 (n = {n_pa})" in text
    if n_control >= 3:
        assert f"at session 1 (n = {n_control})" in text


def test_safe_mode_hides_participant_level_charts():
    at = _open(safe=True)
    titles = _titles(at)
    assert "PHQ-9: each participant's first and last score" not in titles
    specs = _charts(at)
    change = specs[titles.index("PHQ-9: change from first to last score")]
    assert all(trace["type"] == "scatter" and len(trace["y"]) == 1 for trace in change["data"])
    trajectory = specs[titles.index("PHQ-9 session by session")]
    assert not any(trace["name"].endswith("participants") for trace in trajectory["data"])
    text = page_text(at)
    assert "individual participants are not drawn" in text.lower()
    assert "Safe mode is on" in text
    assert at.table[0].value["n"].tolist() == ["20", "20"]  # 19 each, rounded to the nearest 5


@pytest.fixture(scope="module")
def episode_upload():
    """The bundled episode-level sample as if uploaded (no session data)."""
    from analysis.validate import load_path
    from dashboard.state import make_upload_dataset
    from tests.conftest import SAMPLE_EPISODES

    return make_upload_dataset("episodes.csv", SAMPLE_EPISODES.read_bytes(), load_path(SAMPLE_EPISODES))


def test_episode_level_data_explains_why_there_are_no_session_trajectories(episode_upload):
    at = _open(upload_dataset=episode_upload, data_source="upload")
    assert "Session-by-session scores need a session-level file" in page_text(at)
    assert "PHQ-9 session by session" not in _titles(at)
    assert "PHQ-9: mean first and last score" in _titles(at)


def test_figures_are_memoised_per_session_and_forgotten_with_the_upload(episode_upload):
    at = _open(upload_dataset=episode_upload, data_source="upload")
    memo = at.session_state["_page_memo"]
    assert any(key[0] == episode_upload.token for key in memo)
    at.session_state["upload_dataset"] = None  # as state.forget_upload leaves it
    at.session_state["data_source"] = "sample"
    at.run()
    assert_clean(at)
    assert not any(str(key[0]).startswith("upload-") for key in at.session_state["_page_memo"])
    assert "bundled synthetic sample" in page_text(at)
