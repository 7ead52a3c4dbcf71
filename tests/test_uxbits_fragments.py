"""Local widgets rerun only their part of the page (``st.fragment``): the Sites page's outcome, the Against
national figures page's organisation and expected-rate choices (AppTest).

Two things are checked for each widget: that it is drawn inside a fragment (its delta carries a
``fragment_id``; without ``@st.fragment`` it is empty), and that a fragment rerun, as the browser asks for
when the widget changes, redraws the chart and table from the new choice without running the rest of the
page (``ui.page_header``, called once per full run, is not called). AppTest always asks for a full rerun, so
:func:`rerun_fragment` asks for a fragment's, as the frontend does (``RerunData.fragment_id_queue``).
"""

from __future__ import annotations

import functools
import json

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.testing.v1 import AppTest, local_script_runner

from analysis import national
from analysis.figures import sites as fs
from analysis.summary import analyse
from dashboard import national as national_controls
from dashboard import state, ui
from dashboard.ui import md_escape
from tests.apptest_support import APP, assert_clean, national_all_open


@pytest.fixture
def messages(monkeypatch) -> list[list[ForwardMsg]]:
    """The messages of each AppTest run, as the browser would receive them."""
    runs: list[list[ForwardMsg]] = []
    parse = local_script_runner.parse_tree_from_messages

    def record(msgs):
        runs.append(list(msgs))
        return parse(msgs)

    monkeypatch.setattr(local_script_runner, "parse_tree_from_messages", record)
    return runs


@pytest.fixture
def page_runs(monkeypatch) -> list[str]:
    """One entry per run of a page's top level (``ui.page_header`` is its first call)."""
    calls: list[str] = []
    header = ui.page_header

    def counted(title, *args, **kwargs):
        calls.append(title)
        return header(title, *args, **kwargs)

    monkeypatch.setattr(ui, "page_header", counted)
    return calls


def widget_fragment(msgs: list[ForwardMsg], key: str) -> str:
    """The ``fragment_id`` of the delta that drew the widget with ``key`` ('' outside any fragment)."""
    for msg in msgs:
        if msg.HasField("delta") and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            proto = getattr(element, element.WhichOneof("type"))
            if str(getattr(proto, "id", "")).endswith(f"-{key}"):
                return msg.delta.fragment_id
    raise AssertionError(f"no widget with key {key!r} was drawn")


def rerun_fragment(at: AppTest, fragment_id: str, monkeypatch) -> AppTest:
    """Run ``at`` as the browser reruns a fragment after one of its widgets changed: that fragment only."""
    with monkeypatch.context() as patch:
        patch.setattr(local_script_runner, "RerunData",
                      functools.partial(local_script_runner.RerunData, fragment_id_queue=[fragment_id]))
        at.run()
    assert_clean(at)
    return at


def open_page(page: str, state_values: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (state_values or {}).items():
        at.session_state[key] = value
    at.switch_page(page)
    at.run()
    assert_clean(at)
    return at


def _charts(at: AppTest) -> dict[str, dict]:
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {spec["layout"]["title"]["text"].replace("<br>", " "): spec for spec in specs}


# --- Sites: the outcome chooser ------------------------------------------------------------------------------


def test_sites_outcome_reruns_only_its_part_of_the_page(messages, page_runs, monkeypatch):
    at = open_page("pages/sites.py", {state.SAMPLE_KEY: "Programme"})
    assert page_runs == ["Sites"]
    fragment = widget_fragment(messages[-1], "sites_outcome")
    assert fragment, "the outcome chooser should be drawn inside an st.fragment"
    assert widget_fragment(messages[-1], state.SAMPLE_KEY) == ""  # the sidebar's shared controls are not

    at.selectbox(key="sites_outcome").set_value("phq9")
    rerun_fragment(at, fragment, monkeypatch)
    assert page_runs == ["Sites"]  # the rest of the page did not run again
    phq9 = analyse(state.sample_dataset("sample_programme").episodes).sites.measures["phq9"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Pooled difference"] == f"{phq9.pooled.estimate:.1f}".replace("-", "−")
    assert f"**Takeaway:** {md_escape(fs.forest_takeaway(phq9))}" in [m.value for m in at.markdown]
    [chart] = at.get("plotly_chart")
    assert "PHQ-9" in json.loads(chart.proto.spec)["layout"]["title"]["text"]
    each_site = [*at.table, *at.dataframe][0].value
    assert each_site["Site"].tolist()[-1] == fs.POOLED_LABEL
    assert [t.value for t in at.subheader][-1] == "Each site"  # the pooled tables below were not redrawn

    at.run()  # a full rerun (another widget, a page switch) keeps the choice
    assert page_runs == ["Sites", "Sites"]
    assert at.selectbox(key="sites_outcome").value == "phq9"
    assert {m.label: m.value for m in at.metric}["Pooled difference"] == metrics["Pooled difference"]
    assert "Every outcome, pooled across sites" in [t.value for t in at.subheader]


# --- Against national figures: the organisation and the expected rate ----------------------------------------


def test_national_organisation_reruns_only_its_sections_and_stays_in_the_url(messages, page_runs, monkeypatch):
    at = open_page("pages/national.py")
    fragment = widget_fragment(messages[-1], national_controls.ORG_KEY)
    assert fragment, "the organisation chooser should be drawn inside an st.fragment"
    assert widget_fragment(messages[-1], national_controls.YEAR_KEY) == ""  # the sidebar's year is shared
    assert widget_fragment(messages[-1], "nat_expected_rate") not in ("", fragment)  # a fragment of its own

    at.selectbox(key=national_controls.ORG_KEY).set_value("RW4")
    rerun_fragment(at, fragment, monkeypatch)
    assert page_runs == ["Against national figures"]
    assert at.query_params.get(national_controls.ORG_KEY) in ("RW4", ["RW4"])  # the link carries the code
    table = next(t.value for t in [*at.table, *at.dataframe] if "Rate" in t.value.columns)
    column = next(c for c in table.columns if "Mersey Care" in c)
    expected = national.benchmark("RW4", national.latest_year()).rates["recovery"]
    assert table.set_index("Rate").loc["Recovery", column].startswith(f"{expected.rate * 100:.1f}%")
    trend = _charts(at)["Published outcome rates by year"]
    assert any("Mersey Care" in str(trace.get("legendgroup")) for trace in trend["data"])  # the trend follows
    assert not any(title.endswith("case-mix expected rate") for title in _charts(at))  # not redrawn


def test_national_expected_rate_reruns_only_its_section(messages, page_runs, monkeypatch):
    at = open_page("pages/national.py", national_all_open())  # the matching table is drawn only while open
    fragment = widget_fragment(messages[-1], "nat_expected_rate")
    assert fragment, "the expected-rate chooser should be drawn inside an st.fragment"
    before = set(_charts(at))
    assert "Recovery against a case-mix expected rate" in before

    at.radio(key="nat_expected_rate").set_value("reliable_improvement")
    rerun_fragment(at, fragment, monkeypatch)
    assert page_runs == ["Against national figures"]
    assert list(_charts(at)) == ["Reliable improvement against a case-mix expected rate"]
    table = next(t.value for t in [*at.table, *at.dataframe] if "O/E (95% CI)" in t.value.columns)
    assert len(table) and "Source" not in table.columns  # said once under it; its downloads carry it
    assert any(c.value == national.ATTRIBUTION for c in at.caption)
    matching = next(t.value for t in [*at.table, *at.dataframe] if "Pilot value" in t.value.columns)
    assert "England reliable improvement" in matching.columns
