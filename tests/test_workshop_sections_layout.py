"""One section at a time (``layout = sections``): each page's sections as tabs, only the open one drawn.

The whole-page layout (the default) must stay as it was: every section one after another under its heading.
The sections layout draws the same sections as tabs named as below, draws only the open tab's contents
(so a room's first view sends far fewer elements), and every tab, opened, shows its section cleanly.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from dashboard.ui import SECTIONS_KEY_PREFIX
from tests.apptest_support import APP, assert_clean, page_text

# page: (its tabs in order, a heading the whole-page layout draws for the first of them, None when it has none)
SECTIONED_PAGES = {
    "overview": (["After adjusting", "Recovery and symptoms", "Primary comparisons", "Chance of benefit",
                  "Value for money"], "After accounting for who took part"),
    "symptom_change": (["First and last", "Change", "Each participant", "Session by session", "Comparison",
                        "Chance of benefit"], "First and last scores"),
    "recovery": (["Rates", "Comparison", "Every finisher", "First against last", "Completeness", "Why it matters",
                  "Chance of benefit", "Value for money"], "The four outcome rates"),
    "who_benefits": (["Subgroups", "At the start"], "Difference between the groups within each subgroup"),
    "survey": (["At a glance", "Findings", "Recommendations", "Interviews"], "At a glance"),
    "methods": (["Outcomes", "Measures", "Statistics", "Adjusting", "Sites", "Data dictionary", "Limitations",
                 "Survey", "National", "Benefit and value"], "Who is counted, and the outcome definitions"),
    "adjusted": (["What remains", "Side by side", "Hidden differences", "Balance", "Limits"],
                 "What remains after adjusting"),
    "national": (["Beside national", "Funnel", "Trend", "Expected rates", "Structured Physical Activity"],
                 "The pilot beside national figures"),
    "export": (["Download", "Present", "Share a link"], "Download the story"),
    "planning": (["Participants needed", "Power curves"], "Participants needed per group"),
}


def _open(page: str, *, query: dict[str, str] | None = None, tab: str | None = None,
          secrets: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    if tab is not None:
        at.session_state[SECTIONS_KEY_PREFIX + page] = tab
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert_clean(at)
    return at


def _headings(at: AppTest) -> list[str]:
    return [h.value for h in at.header] + [h.value for h in at.subheader]


def _drawn(block) -> int:
    """Elements drawn inside a block, counted through nested blocks."""
    children = getattr(block, "children", None)
    if not children:
        return 1
    return 1 + sum(_drawn(child) for child in children.values())


@pytest.mark.parametrize("page", list(SECTIONED_PAGES))
def test_whole_page_draws_every_section_under_its_heading_and_no_tabs(page):
    at = _open(page)
    names, first_heading = SECTIONED_PAGES[page]
    assert [t.label for t in at.tabs] == []
    assert first_heading in _headings(at)


@pytest.mark.parametrize("page", list(SECTIONED_PAGES))
def test_sections_layout_draws_only_the_open_tab_and_every_tab_opens_cleanly(page):
    names, first_heading = SECTIONED_PAGES[page]
    whole = _open(page)
    first = _open(page, query={state.LAYOUT_PARAM: state.LAYOUT_SECTIONS})
    assert [t.label for t in first.tabs] == names
    assert first_heading not in _headings(first)  # the tab names the section
    assert _drawn(first.main) < _drawn(whole.main)  # the point of it: fewer elements to send
    for number, name in enumerate(names):
        at = first if number == 0 else _open(page, query={state.LAYOUT_PARAM: state.LAYOUT_SECTIONS}, tab=name)
        drawn = [_drawn(tab) - 1 for tab in at.tabs]
        assert drawn[number] > 0, f"{page}: the {name!r} tab is empty"
        assert sum(drawn) == drawn[number], f"{page}: tabs other than {name!r} were drawn: {drawn}"


def test_a_section_shows_the_same_words_in_either_layout():
    """Recovery's comparison table and its caption, as the whole page shows them, are in the Comparison tab."""
    whole = _open("recovery")
    tab = _open("recovery", query={state.LAYOUT_PARAM: state.LAYOUT_SECTIONS}, tab="Comparison")
    assert len(tab.table) == 1
    caption = next(c.value for c in tab.caption if c.value.startswith("Differences are physical activity minus"))
    assert caption in page_text(whole)
    assert tab.table[0].value.equals(whole.table[0].value)


def test_the_operator_sets_the_rooms_layout_and_a_link_overrides_it_for_a_session(monkeypatch):
    monkeypatch.setenv(state.LAYOUT_ENV, state.LAYOUT_SECTIONS)
    assert [t.label for t in _open("who_benefits").tabs] == SECTIONED_PAGES["who_benefits"][0]
    at = _open("who_benefits", query={state.LAYOUT_PARAM: state.LAYOUT_PAGE})
    assert len(at.tabs) == 0
    assert at.query_params[state.LAYOUT_PARAM] == state.LAYOUT_PAGE  # the link keeps saying so
    monkeypatch.delenv(state.LAYOUT_ENV)
    at = _open("who_benefits", secrets={state.LAYOUT_SECRET: state.LAYOUT_SECTIONS})
    assert len(at.tabs) == 2
    assert state.LAYOUT_PARAM not in at.query_params  # the room's default: nothing to add to a link


def test_a_link_chooses_the_layout_for_the_rest_of_the_session():
    at = _open("recovery", query={state.LAYOUT_PARAM: "SECTIONS"})  # case does not matter
    assert len(at.tabs) == 8
    assert at.query_params[state.LAYOUT_PARAM] == state.LAYOUT_SECTIONS
    del at.query_params[state.LAYOUT_PARAM]  # e.g. a page link without it: the session remembers
    at.switch_page("pages/overview.py").run()
    assert_clean(at)
    assert [t.label for t in at.tabs] == SECTIONED_PAGES["overview"][0]


def test_an_unknown_layout_is_the_default(monkeypatch):
    monkeypatch.setenv(state.LAYOUT_ENV, "carousel")
    at = _open("export", query={state.LAYOUT_PARAM: "slides"})
    assert len(at.tabs) == 0
    assert "Download the story" in _headings(at)


def test_a_link_to_a_page_without_sections_still_chooses_the_layout():
    """Sites and Data have no sections; a ?layout= link opened there is remembered for the pages that have."""
    at = _open("sites", query={state.LAYOUT_PARAM: state.LAYOUT_SECTIONS})
    assert len(at.tabs) == 0
    del at.query_params[state.LAYOUT_PARAM]
    at.switch_page("pages/recovery.py").run()
    assert_clean(at)
    assert [t.label for t in at.tabs] == SECTIONED_PAGES["recovery"][0]
    assert at.query_params[state.LAYOUT_PARAM] == state.LAYOUT_SECTIONS


def test_in_the_sections_layout_the_filters_are_drawn_once_opened_and_always_while_one_is_set():
    from dashboard.controls import FILTERS_OPEN_KEY

    at = _open("recovery", query={state.LAYOUT_PARAM: state.LAYOUT_SECTIONS})
    assert len(at.sidebar.multiselect) == 0  # none set: the closed expander draws nothing
    assert any(e.label == "Filters" for e in at.sidebar.expander)
    at.session_state[FILTERS_OPEN_KEY] = True  # opened
    at.run()
    assert_clean(at)
    gender = at.sidebar.multiselect(key=state.FILTER_PREFIX + "gender")
    gender.select("Female").run()
    assert_clean(at)
    at.session_state[FILTERS_OPEN_KEY] = False  # closed again while a filter is set: still drawn, still applied
    at.run()
    assert at.sidebar.multiselect(key=state.FILTER_PREFIX + "gender").value == ["Female"]
    assert "Filter active" in page_text(at)
    whole = _open("recovery")  # the whole-page layout draws them every time, as before
    assert len(whole.sidebar.multiselect) > 0


def test_a_filtered_link_in_the_sections_layout_draws_its_filters():
    at = _open("recovery", query={state.LAYOUT_PARAM: state.LAYOUT_SECTIONS, state.FILTER_PREFIX + "gender": "Female"})
    assert at.sidebar.multiselect(key=state.FILTER_PREFIX + "gender").value == ["Female"]
    assert "Filter active" in page_text(at)


def test_in_the_sections_layout_a_tables_downloads_wait_behind_one_menu():
    from dashboard.ui import DOWNLOADS_KEY_SUFFIX

    at = _open("recovery", query={state.LAYOUT_PARAM: state.LAYOUT_SECTIONS}, tab="Comparison")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == []  # the table's two downloads are not drawn until the menu is opened
    assert [p.proto.popover.label for p in at.get("popover")] == ["Download table"]
    at.session_state["rate-comparisons" + DOWNLOADS_KEY_SUFFIX] = True  # opened
    at.run()
    assert_clean(at)
    assert [b.proto.label for b in at.get("download_button")] == ["Download CSV", "Download XLSX"]
    whole = _open("recovery")  # the whole page shows every table's two buttons, as before
    assert [b.proto.label for b in whole.get("download_button")].count("Download CSV") >= 3


def test_in_the_sections_layout_the_adjustment_choices_are_drawn_once_opened_and_always_once_changed():
    """Accounting for who took part: its four choices wait behind their expander while they are the defaults;
    a changed one stays drawn (and applied) with the expander closed, so closing it never forgets a choice."""
    at = _open("adjusted", query={state.LAYOUT_PARAM: state.LAYOUT_SECTIONS})
    assert [e.label for e in at.expander][:1] == ["Characteristics adjusted for, and the weights"]
    assert len(at.main.multiselect) == 0 and len(at.main.radio) == 0  # defaults: nothing drawn while closed
    defaults_verdict = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert len(defaults_verdict) == 1
    at.session_state["adj_choices_open"] = True  # opened
    at.run()
    assert_clean(at)
    covariates = at.multiselect(key="adj_covariates")
    assert covariates.value  # the defaults, drawn
    assert [m.value for m in at.markdown if m.value.startswith("#### ")] == defaults_verdict  # the same analysis
    covariates.unselect(covariates.value[0]).run()
    assert_clean(at)
    changed = at.multiselect(key="adj_covariates").value
    changed_verdict = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert changed_verdict != defaults_verdict
    at.session_state["adj_choices_open"] = False  # closed again with a choice changed: still drawn, still applied
    at.run()
    assert_clean(at)
    assert at.multiselect(key="adj_covariates").value == changed
    assert [m.value for m in at.markdown if m.value.startswith("#### ")] == changed_verdict
    whole = _open("adjusted")  # the whole-page layout draws them every time, as before
    assert whole.multiselect(key="adj_covariates").value
