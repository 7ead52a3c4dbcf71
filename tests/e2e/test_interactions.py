"""Interactions in a real browser: a sidebar filter changes the headline, and a shared link reproduces a view.

Expected text comes from ``analysis/`` run on the bundled sample with the same filter the browser sets.
"""

from __future__ import annotations

import re

from e2e_support import (
    assert_no_errors,
    choose_filter_level,
    choose_measure,
    expected_analysis,
    expected_participants,
    main_block,
    measure_shown,
    open_app,
    page_path,
    visible_text,
    wait_for_app,
    wait_for_charts,
)
from playwright.sync_api import expect

from analysis.compare import measure_for
from analysis.disclosure import SAFE_MODE_NOTE
from analysis.schema import column_label

FILTER_COLUMN, FILTER_LEVEL = "gender", "Female"
FILTER = ((FILTER_COLUMN, (FILTER_LEVEL,)),)
SYMPTOMS = "pages/symptom_change.py"


def _filter_banner() -> str:
    """The start of ``dashboard.ui.data_banner``'s filter warning for FILTER, with counts from analysis."""
    shown, total = expected_participants(FILTER)
    return f"Filter active: {column_label(FILTER_COLUMN)} = {FILTER_LEVEL} — {shown} of {total} participants shown."


def test_sidebar_filter_changes_the_overview_headline(app_page, app_url):
    before, after = expected_analysis().recovery_verdict(), expected_analysis(FILTER).recovery_verdict()
    assert before != after, "test set-up: the filter must change the verdict for this test to mean anything"

    open_app(app_page, app_url, "/")
    main = main_block(app_page)
    expect(visible_text(main, before)).to_be_visible()

    choose_filter_level(app_page, FILTER_COLUMN, FILTER_LEVEL)

    assert_no_errors(app_page)
    expect(visible_text(main, after)).to_be_visible()
    expect(main.get_by_text(before, exact=False)).to_have_count(0)
    expect(visible_text(main, _filter_banner())).to_be_visible()
    expect(app_page).to_have_url(re.compile(rf"[?&]f_{FILTER_COLUMN}={FILTER_LEVEL}\b"))


def test_measure_chosen_in_the_sidebar_survives_a_shared_link(app_page, app_url, fresh_context):
    """Pick GAD-7 on Symptom change, copy the URL, open it as a new visitor: the same view."""
    gad7 = measure_for("gad7").label
    open_app(app_page, app_url, page_path(SYMPTOMS))
    choose_measure(app_page, gad7)
    expect(measure_shown(app_page)).to_have_value(re.compile("^" + re.escape(gad7)))
    expect(app_page).to_have_url(re.compile(re.escape(page_path(SYMPTOMS)) + r"\?(.*&)?measure="))
    assert_no_errors(app_page)
    wait_for_charts(app_page)  # the page's text includes the charts' axes and legends, drawn after the run
    original = main_block(app_page).inner_text()

    visitor = fresh_context().new_page()
    visitor.goto(app_page.url)
    wait_for_app(visitor)
    assert_no_errors(visitor)
    wait_for_charts(visitor)
    expect(measure_shown(visitor)).to_have_value(re.compile("^" + re.escape(gad7)))
    assert main_block(visitor).inner_text() == original, "the shared link shows a different page"
    # rests on pages/symptom_change.py: the page itself names the measure it shows
    expect(visible_text(main_block(visitor), gad7),
           "pages/symptom_change.py does not name the chosen measure (GAD-7)").to_be_visible()


def test_shared_link_with_measure_opens_gad7(app_page, app_url):
    """The documented link form (dashboard/controls.py): the measure's key, ``?measure=gad7``."""
    gad7 = measure_for("gad7").label
    open_app(app_page, app_url, page_path(SYMPTOMS) + "?measure=gad7")
    assert_no_errors(app_page)
    expect(measure_shown(app_page)).to_have_value(re.compile("^" + re.escape(gad7)))
    # rests on pages/symptom_change.py naming the measure it shows
    expect(visible_text(main_block(app_page), gad7),
           "pages/symptom_change.py does not name the chosen measure (GAD-7)").to_be_visible()


def test_shared_link_with_safe_mode_shows_the_note(app_page, app_url):
    open_app(app_page, app_url, "/?safe=true")
    assert_no_errors(app_page)
    expect(app_page.locator('.st-key-safe input[type="checkbox"]')).to_be_checked()
    expect(visible_text(main_block(app_page), SAFE_MODE_NOTE[:60])).to_be_visible()
    expect(main_block(app_page)).to_contain_text(SAFE_MODE_NOTE)


def test_shared_link_with_filter_shows_the_banner_and_filtered_numbers(app_page, app_url):
    open_app(app_page, app_url, f"/?f_{FILTER_COLUMN}={FILTER_LEVEL}")
    assert_no_errors(app_page)
    main = main_block(app_page)
    expect(visible_text(main, _filter_banner())).to_be_visible()
    expect(visible_text(main, expected_analysis(FILTER).recovery_verdict())).to_be_visible()
    tags = app_page.locator(f'.st-key-f_{FILTER_COLUMN} [aria-label="Selected values"] [data-tag]')
    expect(tags).to_have_count(1)
    expect(tags).to_contain_text(FILTER_LEVEL)
