"""The Sites page and the programme sample in a real browser: a shared link opens the programme with a
site filter, the sidebar's sample choice writes itself into the URL, and the forest plot draws."""

from __future__ import annotations

import re

from e2e_support import (
    SIDEBAR,
    assert_no_errors,
    choose_filter_level,
    main_block,
    open_app,
    page_path,
    save_screenshots,
    visible_text,
    wait_for_rerun,
)
from playwright.sync_api import expect

from analysis.figures import sites as fs
from analysis.sites import site_analysis
from analysis.validate import load_path
from tests.conftest import ROOT

PROGRAMME = ROOT / "data" / "sample" / "synthetic_programme_episodes.csv"


def test_a_link_to_the_programme_shows_every_site_pooled_and_a_site_filter_is_shareable(app_page, app_url):
    open_app(app_page, app_url, page_path("pages/sites.py") + "?sample=Programme")
    assert_no_errors(app_page)
    main = main_block(app_page)
    expect(main.locator('[data-testid="stPlotlyChart"] svg.main-svg').first).to_be_attached()
    save_screenshots(app_page, "sites-programme")
    recovery = site_analysis(load_path(PROGRAMME).episodes).rates["recovery"]
    expect(visible_text(main, fs.forest_takeaway(recovery)[:60])).to_be_visible()
    expect(app_page.locator(f"{SIDEBAR} .st-key-sample").get_by_role("radio", name="Programme")).to_be_checked()

    choose_filter_level(app_page, "site", "Eastgate")
    assert_no_errors(app_page)
    expect(visible_text(main, "Only one site")).to_be_visible()
    assert re.search(r"[?&]f_site=Eastgate", app_page.url) and "sample=Programme" in app_page.url, app_page.url


def test_choosing_the_programme_in_the_sidebar_puts_it_in_the_url(app_page, app_url):
    open_app(app_page, app_url, page_path("pages/sites.py"))
    main = main_block(app_page)
    expect(visible_text(main, "no `site` column".replace("`", ""))).to_be_visible()
    app_page.locator(f"{SIDEBAR} .st-key-sample").get_by_text("Programme", exact=True).click()
    wait_for_rerun(app_page)
    assert_no_errors(app_page)
    expect(main.locator('[data-testid="stPlotlyChart"]').first).to_be_visible()
    assert "sample=Programme" in app_page.url, app_page.url
