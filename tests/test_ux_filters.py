"""Issue 18 item 12: the sidebar filters — one label per column everywhere, no "Select all" that makes an
all-levels "active" filter and a long URL, and a shared link with filters opens the Filters panel."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from analysis.figures.subgroups import column_label as chart_label
from analysis.report.story import filters_text
from analysis.schema import column_label
from dashboard import state
from tests.apptest_support import APP, assert_clean


def _filters_expander(at: AppTest):
    return next(e for e in at.expander if e.label == "Filters")


def _run(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    assert_clean(at)
    return at


def test_one_label_for_a_column_everywhere() -> None:
    assert column_label("ltc") == "Long-term condition" == chart_label("ltc")
    assert filters_text({"ltc": ("Yes",)}) == "Long-term condition = Yes"
    at = _run()
    labels = {m.label for m in at.sidebar.multiselect}
    assert "Long-term condition" in labels and "Ltc" not in labels
    assert "Age band" in labels and "Problem descriptor" in labels


def test_the_filters_offer_no_select_all() -> None:
    at = _run()
    assert all(m.proto.select_all == 0 for m in at.sidebar.multiselect), [m.proto.select_all
                                                                          for m in at.sidebar.multiselect]


def test_every_level_chosen_is_no_filter() -> None:
    at = _run()
    ltc = at.multiselect(key=state.FILTER_PREFIX + "ltc")
    ltc.set_value(list(ltc.options)).run()
    assert_clean(at)
    assert at.session_state[state.FILTER_PREFIX + "ltc"] == []
    assert not any("Filter active" in w.value for w in at.warning)
    assert state.FILTER_PREFIX + "ltc" not in at.query_params
    # A link that names every level (made before this fix) is no filter either.
    at = _run({state.FILTER_PREFIX + "ltc": list(ltc.options)})
    assert not any("Filter active" in w.value for w in at.warning)


def test_a_shared_link_with_a_filter_opens_the_filters_panel() -> None:
    assert _filters_expander(_run()).proto.expanded is False
    at = _run({state.FILTER_PREFIX + "gender": "Female"})
    assert any("Filter active" in w.value for w in at.warning)
    assert _filters_expander(at).proto.expanded is True
