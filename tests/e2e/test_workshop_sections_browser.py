"""One section at a time in a real browser: a ``?layout=sections`` link shows a page's sections as tabs, the
first one drawn; clicking another tab draws it (and only it), and the link keeps saying so."""

from __future__ import annotations

from e2e_support import (
    assert_no_errors,
    main_block,
    open_app,
    page_path,
    save_screenshots,
    save_viewport_screenshot,
    visible_text,
    wait_for_rerun,
)
from playwright.sync_api import expect


def test_a_sections_link_shows_tabs_and_a_click_draws_the_chosen_section(app_page, app_url):
    open_app(app_page, app_url, page_path("pages/recovery.py") + "?layout=sections")
    assert_no_errors(app_page)
    main = main_block(app_page)
    tabs = main.get_by_role("tab")
    expect(tabs.first).to_have_text("Rates")
    assert tabs.count() == 8
    expect(main.get_by_role("tab", name="Rates")).to_have_attribute("aria-selected", "true")
    # the verdict above the tabs, the open tab's chart, and nothing of the other tabs
    expect(visible_text(main, "Recovery was")).to_be_visible()
    expect(main.locator('[data-testid="stPlotlyChart"]')).to_have_count(1)
    expect(main.locator('[data-testid="stTable"]')).to_have_count(0)
    save_screenshots(app_page, "sections-recovery-rates")

    main.get_by_role("tab", name="Comparison").click()
    wait_for_rerun(app_page)
    assert_no_errors(app_page)
    expect(main.get_by_role("tab", name="Comparison")).to_have_attribute("aria-selected", "true")
    expect(visible_text(main, "Differences are physical activity minus control")).to_be_visible()
    expect(main.locator('[data-testid="stTable"]:visible')).to_have_count(1)
    expect(main.locator('[data-testid="stPlotlyChart"]')).to_have_count(0)  # the Rates tab is no longer drawn
    assert "layout=sections" in app_page.url, app_page.url
    # the table's two downloads wait behind one menu, drawn once it is opened
    expect(main.get_by_role("button", name="Download CSV")).to_have_count(0)
    main.get_by_role("button", name="Download table").click()
    wait_for_rerun(app_page)
    expect(app_page.get_by_role("button", name="Download CSV")).to_be_visible()
    expect(app_page.get_by_role("button", name="Download XLSX")).to_be_visible()
    save_viewport_screenshot(app_page, "sections-recovery-download-menu")
    app_page.keyboard.press("Escape")
    save_screenshots(app_page, "sections-recovery-comparison")


def test_the_whole_page_layout_is_unchanged_without_the_link(app_page, app_url):
    open_app(app_page, app_url, page_path("pages/recovery.py"))
    assert_no_errors(app_page)
    main = main_block(app_page)
    expect(main.get_by_role("tab")).to_have_count(0)
    expect(main.get_by_role("heading", name="Comparison of each rate")).to_be_attached()
    expect(main.get_by_role("heading", name="Paired-data completeness")).to_be_attached()


def test_the_adjustment_choices_open_on_a_click_and_a_changed_one_outlives_closing_them(app_page, app_url):
    """Accounting for who took part, one section at a time: the choices' widgets are drawn once their expander is
    opened; a characteristic taken out stays out (and the verdict says so) after the expander is closed."""
    open_app(app_page, app_url, page_path("pages/adjusted.py") + "?layout=sections")
    assert_no_errors(app_page)
    main = main_block(app_page)
    verdict = main.locator("h4").first
    expect(verdict).to_contain_text("PHQ-9, GAD-7 and WSAS first scores")
    expect(main.locator('[data-testid="stMultiSelect"]')).to_have_count(0)  # closed: not drawn
    expect(main.locator('[data-testid="stMetric"]')).to_have_count(4)  # the four tiles, in one row that wraps
    main.get_by_text("Characteristics adjusted for, and the weights").click()
    wait_for_rerun(app_page)
    remove = main.get_by_role("button", name="Remove WSAS first score")
    expect(remove).to_be_visible()
    save_viewport_screenshot(app_page, "sections-adjusted-choices-open")
    remove.click()
    wait_for_rerun(app_page)
    expect(verdict).to_contain_text("PHQ-9 and GAD-7 first scores")
    main.get_by_text("Characteristics adjusted for, and the weights").click()  # closed again
    wait_for_rerun(app_page)
    assert_no_errors(app_page)
    expect(verdict).to_contain_text("PHQ-9 and GAD-7 first scores")  # the choice is kept
    main.get_by_text("Characteristics adjusted for, and the weights").click()
    wait_for_rerun(app_page)
    expect(main.get_by_role("button", name="Remove PHQ-9 first score")).to_be_visible()
    expect(main.get_by_role("button", name="Remove WSAS first score")).to_have_count(0)
    save_viewport_screenshot(app_page, "sections-adjusted-choices-kept")
