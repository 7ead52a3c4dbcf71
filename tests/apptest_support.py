"""Opening a page of the app in Streamlit's AppTest: shared by the page tests."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")


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
