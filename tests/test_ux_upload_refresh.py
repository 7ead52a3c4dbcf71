"""Issue 18 item 6: a refresh or an opened link (a new session) no longer drops an upload silently.

The URL says ``data=upload`` while an upload is shown; a session that opens such an address without the
file says so on every page and on the Data page, and when the file is uploaded again the link's filters
and measure are set again (the page is in the path).
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from dashboard import state
from tests.apptest_support import APP, assert_clean
from tests.test_page_data import button, in_use, new_session, upload_bytes

HEADER = "participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last,treatment_sessions,gender"
# Gender written F/M: levels the bundled sample does not have (a link's filter must survive the sample).
ROWS = [f"P{i:02d},{'physical_activity' if i % 2 else 'control'},{12 + i % 7},{6 + i % 5},{10 + i % 6},"
        f"{5 + i % 4},{3 + i % 5},{'F' if i % 3 else 'M'}" for i in range(24)]
CONTENT = ("\n".join([HEADER, *ROWS]) + "\n").encode()


def _new_visit(page: str, query: dict) -> AppTest:
    """A new session opening ``page`` at an address with ``query`` (as after a refresh)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(page)
    at.run()
    assert_clean(at)
    return at


def _lost_note(at: AppTest) -> bool:
    return any("Your uploaded file is no longer in this session" in w.value for w in at.warning)


def test_showing_an_upload_puts_it_in_the_url() -> None:
    at = upload_bytes(new_session(), "service.csv", CONTENT)
    assert in_use(at) is not None
    assert at.query_params.get(state.SOURCE_PARAM) == "upload"
    button(at, "Return to the bundled sample").click().run()
    assert state.SOURCE_PARAM not in at.query_params
    assert not _lost_note(at)


def test_forgetting_the_file_is_not_losing_it() -> None:
    at = upload_bytes(new_session(), "service.csv", CONTENT)
    button(at, "Forget my file").click().run()
    assert state.SOURCE_PARAM not in at.query_params and not _lost_note(at)


def test_a_refreshed_page_says_the_upload_is_gone_on_every_page() -> None:
    at = _new_visit("pages/recovery.py", {state.SOURCE_PARAM: "upload"})
    assert _lost_note(at)
    assert any("bundled synthetic sample" in i.value for i in at.info)
    at.switch_page("pages/data.py").run()
    assert _lost_note(at)
    assert any(b.label == "Carry on with the bundled sample" for b in at.button)
    button(at, "Carry on with the bundled sample").click().run()
    assert not _lost_note(at) and state.SOURCE_PARAM not in at.query_params


def test_uploading_again_restores_the_links_filters_and_measure() -> None:
    at = _new_visit("pages/data.py", {state.SOURCE_PARAM: "upload", state.FILTER_PREFIX + "gender": "F",
                                      state.MEASURE_KEY: "gad7"})
    assert _lost_note(at)
    upload_bytes(at, "service.csv", CONTENT)
    assert_clean(at)
    assert in_use(at) is not None and not _lost_note(at)
    assert at.session_state[state.FILTER_PREFIX + "gender"] == ["F"]
    assert any("Filter active" in w.value for w in at.warning)
    assert at.session_state[state.MEASURE_KEY] == "gad7"
    assert at.query_params.get(state.FILTER_PREFIX + "gender") in ("F", ["F"])
    assert at.query_params.get(state.SOURCE_PARAM) == "upload"
