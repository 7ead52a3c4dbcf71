"""The app's pages and tab icon made once per server process (dashboard/navigation.py)."""

from __future__ import annotations

import base64
from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard import navigation
from tests.apptest_support import APP, open_page

ROOT = Path(APP).parent


def test_pages_are_built_once_per_folder_and_each_run_gets_its_own_copies(tmp_path):
    built: list[int] = []

    class Page:  # a stand-in with st.Page's shape: attributes set once, a flag st.navigation sets on one page
        def __init__(self, name: str) -> None:
            self.name, self._can_be_called = name, False

    def build() -> dict[str, list[Page]]:
        built.append(1)
        return {"Outcomes": [Page("overview"), Page("recovery")], "About": [Page("methods")]}

    first = navigation.pages(tmp_path, build)
    first["Outcomes"][1]._can_be_called = True  # what st.navigation does to the page it returns
    second = navigation.pages(tmp_path, build)
    assert len(built) == 1
    assert [[p.name for p in listed] for listed in second.values()] == [["overview", "recovery"], ["methods"]]
    assert second["Outcomes"][1] is not first["Outcomes"][1]
    assert not second["Outcomes"][1]._can_be_called  # one run's choice is not the next run's
    navigation.pages(tmp_path / "another app", build)
    assert len(built) == 2


def test_the_apps_pages_are_made_once_and_no_run_marks_the_shared_ones():
    at = open_page("pages/recovery.py")
    assert not at.exception
    templates = navigation._templates[ROOT]
    made = [id(p) for listed in templates.values() for p in listed]
    assert [p.url_path for listed in templates.values() for p in listed] == [
        "", "symptom_change", "recovery", "who_benefits", "adjusted", "sites", "survey", "planning", "national",
        "data", "export", "methods"]
    assert not any(p._can_be_called for listed in templates.values() for p in listed)
    again = AppTest.from_file(APP, default_timeout=60)
    again.run()
    again.switch_page("pages/methods.py").run()
    assert not again.exception and again.title[0].value == "Methods and definitions"
    assert [id(p) for listed in navigation._templates[ROOT].values() for p in listed] == made


def test_the_tab_icon_is_the_apps_png_as_a_data_url():
    path = ROOT / "assets" / "page_icon.png"
    url = navigation.page_icon(path)
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    assert base64.b64decode(url.removeprefix(prefix)) == path.read_bytes()
    assert navigation.page_icon(path) is url  # read once
