"""The Export page (deck and report downloads) and presentation mode, through Streamlit's AppTest.

Two AppTest details:

* The download buttons pass a callable to ``st.download_button`` (the file is built only when
  clicked). AppTest registers it with its mock runtime's ``MediaFileManager``; the fixture below
  records that manager (``tests.apptest_support.record_media_files``) so a test can call the
  registered callable, as the server does on a click, and open the bytes.
* With a ``pages/`` folder beside an ``st.navigation`` app, AppTest resets Streamlit's
  process-wide "pages directory" flag before every run, so from the second run on it runs the page
  file alone, without ``app.py`` (a real server runs ``app.py`` every time once ``st.navigation``
  has been called). Presentation mode lives in ``app.py``, so these tests keep the flag as the
  server has it.
"""

from __future__ import annotations

import io
import statistics
import time
from pathlib import Path

import pytest
from pptx import Presentation
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from analysis.report.story import HIDDEN
from dashboard import state
from tests.apptest_support import deferred_download, record_media_files

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
EXPORT = "pages/export.py"
TITLES = ["Physical activity in NHS Talking Therapies", "Recovery: physical activity vs control",
          "After accounting for who took part", "Symptom change: PHQ-9 and GAD-7", "Recovery and reliable change", "Against national figures",
          "Chance that physical activity helps",
          "Who took part: the groups at the start", "What services told us", "Methods and caveats"]


class _ServerLikePagesManager(PagesManager):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False  # as after the first st.navigation call on a server


@pytest.fixture(autouse=True)
def server_like_app_test(monkeypatch):
    record_media_files(monkeypatch)
    monkeypatch.setattr(app_test_module, "PagesManager", _ServerLikePagesManager)
    monkeypatch.setattr(PagesManager, "uses_pages_directory", PagesManager.uses_pages_directory)  # restored after
    yield


def export_page(safe: bool = False, filters: dict[str, list[str]] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if safe:
        at.session_state[state.SAFE_KEY] = True
    for column, levels in (filters or {}).items():
        at.session_state[state.FILTER_PREFIX + column] = levels
    at.run()
    at.switch_page(EXPORT).run()
    assert not at.exception, at.exception
    assert not at.error
    return at


def download(at: AppTest, label_start: str) -> tuple[str, str, bytes]:
    """(file name, mime type, bytes) of a download button, built as a click would build them."""
    button = next(b for b in at.get("download_button") if b.proto.label.startswith(label_start))
    name, mime, build = deferred_download(button)
    data = build()
    return name, mime, data.encode("utf-8") if isinstance(data, str) else data


def deck_texts(data: bytes) -> list[str]:
    deck = Presentation(io.BytesIO(data))
    return ["\n".join(s.text_frame.text for s in slide.shapes if s.has_text_frame and s.text_frame.text)
            for slide in deck.slides]


def present(query: dict[str, str], safe: bool = False, filters: dict[str, list[str]] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    if safe:
        at.session_state[state.SAFE_KEY] = True
    for column, levels in (filters or {}).items():
        at.session_state[state.FILTER_PREFIX + column] = levels
    at.run()
    assert not at.exception, at.exception
    return at


def shown_title(at: AppTest) -> str:
    return at.title[0].value


def texts(at: AppTest) -> str:
    return "\n".join(t.value for t in at.text)


# --- the Export page ----------------------------------------------------------------------------


def test_export_page_offers_both_files_of_the_current_view():
    at = export_page()
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download slide deck (.pptx)", "Download offline report (.html)"]
    assert [m.value for m in at.markdown if m.value.startswith("1. ")][0].splitlines() == \
        [f"{i}. {title}" for i, title in enumerate(TITLES, start=1)]
    assert at.toggle(key="present_toggle").value is False
    assert "present=true&slide=1" in at.code[0].value


def test_deck_download_is_a_valid_deck_named_for_what_it_is():
    at = export_page()
    name, mime, data = download(at, "Download slide deck")
    assert name.startswith("pa-talking-therapies-synthetic-sample-") and name.endswith(".pptx")
    assert not name.endswith("-safe.pptx")
    assert mime == "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    slides = deck_texts(data)
    assert [s.splitlines()[0] for s in slides] == TITLES
    assert "Physical activity: 63% recovered (12 of 19; 95% CI 41% to 81%)" in slides[1]
    assert name in texts(at)  # the file name is shown under the button


def test_report_download_is_one_offline_file():
    at = export_page()
    name, mime, data = download(at, "Download offline report")
    assert name.endswith(".html") and mime == "text/html"
    html = data.decode("utf-8")
    assert '<script src="http' not in html and html.count("* plotly.js v") == 1
    assert "Physical activity: 63% recovered (12 of 19; 95% CI 41% to 81%)" in html


def test_downloads_follow_safe_mode_and_filters():
    at = export_page(safe=True, filters={"gender": ["Female"]})
    name, _, data = download(at, "Download slide deck")
    assert name.endswith("-safe.pptx")
    slides = deck_texts(data)
    assert "Filters: Gender = Female" in slides[0] and "Presentation-safe numbers: on" in slides[0]
    assert "(12 of 19" not in "\n".join(slides)
    html_name, _, html = download(at, "Download offline report")
    assert html_name.endswith("-safe.html") and b"Filters: Gender = Female" in html
    assert "f_gender=Female" in at.code[0].value and "safe=true" in at.code[0].value


def test_export_page_when_a_filter_empties_a_group():
    at = export_page(filters={"ethnicity": ["Asian or Asian British"]})  # only physical activity participants
    _, _, data = download(at, "Download slide deck")
    slides = deck_texts(data)
    assert "Control: not available (no one in the denominator)" in slides[1]
    at.toggle(key="present_toggle").set_value(True).run()
    for _ in TITLES[1:]:
        at.button(key="present-next").click().run()
        assert not at.exception, at.exception


def test_export_page_rerun_is_fast():
    at = export_page()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.3, times


# --- presentation mode --------------------------------------------------------------------------


def test_present_parameter_shows_the_first_slide_and_next_advances():
    at = present({"present": "true"})
    assert shown_title(at) == TITLES[0]
    assert at.query_params["slide"] == "1"
    assert "Filters: none (everyone in the data)" in texts(at)
    assert at.button(key="present-previous").disabled
    at.button(key="present-next").click().run()
    assert not at.exception
    assert shown_title(at) == TITLES[1]
    assert at.query_params == {"present": "true", "slide": "2"}
    assert at.text[0].value.startswith("Recovery was 27 points higher")  # the takeaway, one message
    assert len(at.get("plotly_chart")) == 1
    assert "• Physical activity: 63% recovered (12 of 19; 95% CI 41% to 81%)" in texts(at)
    at.button(key="present-previous").click().run()
    assert shown_title(at) == TITLES[0]


def test_presentation_hides_the_navigation_and_page_content():
    at = present({"present": "true", "slide": "3"})
    assert shown_title(at) == TITLES[2]
    assert not at.get("download_button") and not any(t.value == "Overview" for t in at.title)
    styles = [h.proto.body for h in at.get("html")]
    assert any('[data-testid="stSidebar"]' in body and "display: none" in body for body in styles)


def test_slide_number_from_the_url_is_clamped():
    at = present({"present": "true", "slide": "99"})
    assert shown_title(at) == TITLES[-1]
    assert at.query_params["slide"] == str(len(TITLES))
    assert at.button(key="present-next").disabled
    at = present({"present": "true", "slide": "abc"})
    assert shown_title(at) == TITLES[0]


def test_exit_presentation_returns_to_the_page():
    at = present({"present": "true", "slide": "2"})
    at.button(key="present-exit").click().run()
    assert not at.exception
    assert "present" not in at.query_params and "slide" not in at.query_params
    assert shown_title(at) == "Overview"


def test_toggle_on_the_export_page_starts_the_presentation():
    at = export_page()
    at.toggle(key="present_toggle").set_value(True).run()
    assert not at.exception
    assert at.query_params["present"] == "true"
    assert shown_title(at) == TITLES[0]
    at.button(key="present-exit").click().run()
    assert shown_title(at) == "Export and present"


def test_presentation_keeps_filters_and_safe_mode():
    at = present({"present": "true", "slide": "5"}, safe=True, filters={"gender": ["Female"]})
    assert shown_title(at) == TITLES[4]
    assert f"Reliable deterioration: {HIDDEN}" in texts(at)
    for _ in range(4):
        at.button(key="present-previous").click().run()
    assert shown_title(at) == TITLES[0]
    assert "Filters: Gender = Female" in texts(at) and "Presentation-safe numbers: on" in texts(at)
    assert at.session_state[state.FILTER_PREFIX + "gender"] == ["Female"]


def test_presentation_step_is_fast():
    at = present({"present": "true", "slide": "1"})
    times = []
    for _ in range(4):
        start = time.perf_counter()
        at.button(key="present-next").click().run()
        times.append(time.perf_counter() - start)
    assert statistics.median(times) < 0.3, times
