"""Opening a page of the app in Streamlit's AppTest, and clicking its downloads: shared by the page tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from tests.conftest import ROOT

APP = str(ROOT / "app.py")


def page_text(at: AppTest) -> str:
    """What the page says in words: Markdown, captions and the info/success/warning boxes, escapes removed."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
    parts += [i.value for i in at.info] + [s.value for s in at.success]
    return "\n".join(parts).replace("\\", "")


def assert_clean(at: AppTest) -> None:
    """No exception and no error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def open_page(page: str, state: dict | None = None, *, from_home: bool = True) -> AppTest:
    """Run the app with ``state`` preset and show ``page``, checked clean.

    ``from_home``: run the app once on its default page first, then switch (as a visitor
    arrives); otherwise switch before the first run (a direct link).
    """
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    if from_home:
        at.run()
        at.switch_page(page).run()
    else:
        at.switch_page(page)
        at.run()
    assert_clean(at)
    return at


def survey_all_open() -> dict[str, bool]:
    """Session state that opens every expander on the Survey page: their contents (each stakeholder group's
    charts and findings, the table, the recommendations, examples and interviews) are drawn only while open."""
    from analysis import survey

    keys = [f"survey_open_{group}_all" for group in survey.STAKEHOLDER_GROUPS]
    keys += ["survey_open_table", "survey_open_recommendations", "survey_open_interviews"]
    keys += [f"survey_open_examples_{number}" for number in range(12)]
    return dict.fromkeys(keys, True)


NATIONAL_OPEN_KEYS = ("national_open_outside", "national_open_matching")  # pages/national.py's lazy expanders
METHODS_OPEN_KEYS = ("methods_open_table",)  # pages/methods.py's
RECOVERY_OPEN_KEYS = ("rates_defined_open",)  # pages/recovery.py's: what each rate counts


def national_all_open() -> dict[str, bool]:
    """Session state that opens both expanders on Against national figures (providers outside the limits, the
    case-mix matching): their tables are drawn only while open."""
    return dict.fromkeys(NATIONAL_OPEN_KEYS, True)


def every_expander_open() -> dict[str, bool]:
    """Session state that opens every lazily drawn expander with a table or chart on any page (the chance-of-benefit
    charts wherever ``dashboard.benefit.chance_section`` draws them; its MID inputs draw neither)."""
    from dashboard.benefit import CHARTS_OPEN_KEY

    charts = [f"{CHARTS_OPEN_KEY}_{where}" for where in ("overview", "recovery", "symptom_change")]
    return {**survey_all_open(), **national_all_open(),
            **dict.fromkeys((*METHODS_OPEN_KEYS, *RECOVERY_OPEN_KEYS, *charts), True)}


# --- downloads built on click -----------------------------------------------------------------------------


class RecordingMediaFileManager(MediaFileManager):
    """AppTest's media file manager, remembered so a test can find a download button's callable.

    A download button given a callable registers it with the runtime's ``MediaFileManager``
    (``proto.deferred_file_id`` names it); the server runs it when the button is clicked.
    """

    instances: list[MediaFileManager] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        RecordingMediaFileManager.instances.append(self)


def record_media_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make AppTests started after this call use :class:`RecordingMediaFileManager`."""
    monkeypatch.setattr(app_test_module, "MediaFileManager", RecordingMediaFileManager)
    RecordingMediaFileManager.instances.clear()


def deferred_download(button: Any) -> tuple[str, str, Callable[[], Any]]:
    """(file name, mime type, the callable a click runs) of a download button built on click.

    Needs :func:`record_media_files` before the AppTest started.
    """
    file_id = button.proto.deferred_file_id
    assert file_id, "the file should be built on click (deferred), not on every rerun"
    entry = next(m._deferred_callables[file_id] for m in reversed(RecordingMediaFileManager.instances)
                 if file_id in m._deferred_callables)
    return entry["filename"], entry["mimetype"], entry["callable"]
