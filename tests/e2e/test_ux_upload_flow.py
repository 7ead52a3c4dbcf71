"""Issue 18 items 4, 5, 6, 8, 12 in a real browser at 1280×720: a messy export is uploaded, matched and used;
a refresh says the upload is gone and keeps the place; a shared link opens the Filters panel; the outcome
measure is offered only where it changes something. Screenshots: test-artifacts/screenshots/ux-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_support import (
    ERROR_ALERT,
    SIDEBAR,
    assert_no_errors,
    main_block,
    open_app,
    page_path,
    save_screenshots,
    visible_text,
    wait_for_app,
    wait_for_rerun,
)
from playwright.sync_api import expect

DATA_UPLOADER = 'input[type="file"][accept*=".csv"]'
# A reporting-system export: a title and run details above the headings, the service's own column names
# and group labels (items 4 and 5), and gender written F/M (a filter the bundled sample cannot hold).
ROWS = [f"C{i:03d},{'Exercise' if i % 2 else 'TAU'},{12 + i % 9},{5 + i % 7},{10 + i % 6},{4 + i % 5},"
        f"{3 + i % 6},{'F' if i % 3 else 'M'}" for i in range(30)]
EXPORT = "\n".join(["Physical activity pilot - outcomes extract,,,,,,,", "Run 03/03/2025 09:14 by Reporting,,,,,,,",
                    ",,,,,,,", "Client ID,Arm,PHQ9 Start,PHQ9 End,GAD7 Start,GAD7 End,Sessions attended,Sex",
                    *ROWS]) + "\n"


@pytest.fixture
def export_file(tmp_path: Path) -> Path:
    path = tmp_path / "outcomes-extract.csv"
    path.write_text(EXPORT, encoding="utf-8")
    return path


def test_a_messy_export_is_matched_used_and_survives_a_refresh_as_a_note(app_page, app_url, export_file):
    open_app(app_page, app_url, "/data")
    app_page.locator(DATA_UPLOADER).first.set_input_files(str(export_file))
    wait_for_rerun(app_page)
    main = main_block(app_page)
    # items 4 and 5: no error; the title rows are named as left out; the page leads with the mapping
    expect(app_page.locator(ERROR_ALERT)).to_have_count(0)
    expect(visible_text(main, "Match them to the dashboard's first")).to_be_visible()
    expect(visible_text(main, "look like a title or notes")).to_be_visible()
    expect(visible_text(main, "finds no problem")).to_be_visible()
    save_screenshots(app_page, "ux-data-mapping-first")
    main.get_by_role("button", name="Use these columns").click()
    wait_for_rerun(app_page)
    assert_no_errors(app_page)
    expect(visible_text(main, "Your file is valid and every page now shows it")).to_be_visible()
    assert "data=upload" in app_page.url

    # item 6: a refresh starts a new session; the page says the file is gone, on the same page
    app_page.reload(wait_until="domcontentloaded")
    wait_for_app(app_page)
    expect(visible_text(main_block(app_page), "Your uploaded file is no longer in this session")).to_be_visible()
    expect(app_page.get_by_role("button", name="Carry on with the bundled sample")).to_be_visible()
    assert app_page.url.startswith(app_url.rstrip("/") + "/data")
    save_screenshots(app_page, "ux-data-after-refresh")


def test_a_shared_link_with_a_filter_opens_the_filters_panel(app_page, app_url):
    open_app(app_page, app_url, page_path("pages/recovery.py") + "?f_ltc=Yes&measure=gad7")
    assert_no_errors(app_page)
    sidebar = app_page.locator(SIDEBAR)
    # item 12: the panel is open on arrival, and the column has its one label
    expect(sidebar.get_by_text("Long-term condition", exact=True)).to_be_visible()
    expect(sidebar.get_by_text("Ltc", exact=True)).to_have_count(0)
    # item 8: Recovery's first-against-last plot follows the sidebar's measure (no radio of its own)
    expect(visible_text(main_block(app_page), "GAD-7: the outcome measure chosen in the sidebar")).to_be_visible()
    save_screenshots(app_page, "ux-recovery-shared-link")
    open_app(app_page, app_url, "/?measure=gad7")
    expect(app_page.locator(f"{SIDEBAR} .st-key-measure")).to_have_count(0)  # changes nothing on Overview
    assert "measure=gad7" in app_page.url
    save_screenshots(app_page, "ux-overview")
