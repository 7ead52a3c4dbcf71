"""With a workshop data set served, no wording says the room is looking at the bundled sample (AppTest).

The Data page says the room is seeing the organiser's workshop data set (never its file), with
presentation-safe numbers forced on, and that an upload stays private to this person's session and
replaces the workshop data only for them. The same holds for the page's buttons and notes after an
upload, for a lost upload (the banner on every page), the Export page's note on links and the
presentation mode's status line.
"""

from __future__ import annotations

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import shared_cache, state
from tests.apptest_support import APP, assert_clean
from tests.conftest import ROOT
from tests.test_privacy import upload

SAMPLE = ROOT / "data" / "sample" / "synthetic_pilot_episodes.csv"
DATA_PAGE = "pages/data.py"


@pytest.fixture
def workshop_file(tmp_path, monkeypatch):
    """A small valid workshop file (20 participants) named by the environment, as an organiser would."""
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).head(20)
    frame["participant_id"] = [f"ROOM-{i:03d}" for i in range(len(frame))]
    path = tmp_path / "organiser-secret-name.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setenv(state.WORKSHOP_ENV, str(path))
    shared_cache.clear()
    yield path
    shared_cache.clear()


def session(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert_clean(at)
    return at


def words(at: AppTest) -> str:
    """Everything the page and the sidebar say: Markdown, captions, boxes, plain text and button labels."""
    parts = [e.value for kind in ("markdown", "caption", "info", "success", "warning", "text")
             for e in getattr(at, kind)]
    parts += [e.value for kind in ("markdown", "caption", "info", "warning") for e in getattr(at.sidebar, kind)]
    parts += [b.label for b in at.button] + [b.proto.label for b in at.get("download_button")]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def assert_no_sample_wording(text: str, path) -> None:
    assert "bundled" not in text.lower() and "the sample" not in text.lower(), text
    assert path.name not in text and str(path.parent) not in text  # the file is never named


def test_the_data_page_says_the_room_sees_the_workshop_data_set(workshop_file):
    at = session(DATA_PAGE)
    text = words(at)
    assert_no_sample_wording(text, workshop_file)
    intro = at.markdown[0].value
    assert "Everyone in the room is seeing the organiser's **workshop data set**" in intro
    assert "presentation-safe numbers forced on" in intro
    assert "stays private to your session and replaces the workshop data set for you only" in intro
    assert "No file uploaded in this session: every page shows the workshop data set." in text


def test_after_an_upload_the_page_says_it_is_private_and_returns_to_the_workshop_data(workshop_file):
    at = session(DATA_PAGE)
    upload(at, "mine.csv", SAMPLE.read_bytes())
    text = words(at)
    assert_no_sample_wording(text, workshop_file)
    assert any(s.value == "Your file is valid and every page now shows it to you; everyone else in the room still "
               "sees the workshop data set." for s in at.success)
    back = next(b for b in at.button if b.key == "use_sample")
    assert back.label == "Return to the workshop data set"
    back.click().run()
    assert_clean(at)
    assert_no_sample_wording(words(at), workshop_file)
    assert any(i.value == "Your file is valid. The pages are showing the workshop data set at the moment."
               for i in at.info)
    assert any(i.value.startswith("Showing the **workshop data set") for i in at.info)  # the page banner agrees


def test_a_lost_upload_says_the_workshop_data_set_is_shown_meanwhile(workshop_file):
    at = session(DATA_PAGE, {state.SOURCE_PARAM: "upload"})  # a link made while an upload was shown
    text = words(at)
    assert_no_sample_wording(text, workshop_file)
    assert "These pages show the workshop data set until you upload the file again" in text
    assert "Carry on with the workshop data set" in [b.label for b in at.button]
    other = session("pages/overview.py", {state.SOURCE_PARAM: "upload"})
    assert any("These pages show the workshop data set" in w.value for w in other.warning)


def test_export_and_presentation_name_the_workshop_data_set(workshop_file):
    at = session("pages/export.py")
    assert "whoever opens it sees the workshop data set unless they upload the same file" in words(at)
    assert_no_sample_wording(words(at), workshop_file)
    presenting = AppTest.from_file(APP, default_timeout=60)
    presenting.query_params.update({"present": "true", "slide": "1"})
    presenting.run()
    assert_clean(presenting)
    status = next(c.value for c in presenting.caption if c.value.startswith("Slide 1 of "))
    assert "workshop data set" in status and "your uploaded data" not in status


def test_without_a_workshop_data_set_the_sample_is_named_as_before(monkeypatch):
    monkeypatch.delenv(state.WORKSHOP_ENV, raising=False)
    shared_cache.clear()
    at = session(DATA_PAGE)
    assert "keep using the bundled synthetic sample" in at.markdown[0].value
    assert "No file uploaded in this session: every page shows the bundled synthetic sample." in words(at)
    assert "workshop" not in words(at).lower()
