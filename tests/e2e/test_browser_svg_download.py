"""Chart downloads in a real browser: the Overview chart's "Download SVG" button saves an SVG named for the chart.

The SVG is drawn on the server (kaleido and the machine's Chromium) when the button is clicked; the
browser receives it as a download. The toolbar's PNG is drawn by plotly.js in the visitor's browser.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from e2e_support import VIEWPORT, assert_no_errors, main_block, open_app, page_path
from playwright.sync_api import expect

from dashboard import ui

SVG_NS = "{http://www.w3.org/2000/svg}"
CHART_KEY = "chart-recovery-rate-by-group"  # ui.chart's key for the Overview chart named "recovery-rate-by-group"


def test_overview_chart_downloads_as_svg_named_for_the_chart(chromium_browser, app_url):
    context = chromium_browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    try:
        page = context.new_page()
        open_app(page, app_url, page_path("pages/overview.py"))
        assert_no_errors(page)
        button = main_block(page).locator(f".st-key-{CHART_KEY}-svg").get_by_role("button", name=ui.SVG_BUTTON)
        expect(button).to_be_visible()
        expect(button).to_be_enabled()
        with page.expect_download(timeout=90_000) as download_info:
            button.click()
        download = download_info.value
        assert download.failure() is None
        assert download.suggested_filename == "recovery-rate-by-group.svg"
        data = Path(download.path()).read_bytes()
        root = ET.fromstring(data)
        assert root.tag == f"{SVG_NS}svg"
        texts = ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]
        # the title may be wrapped to the chart's column (theme.fit_layout): one text element a line
        squeezed = "".join("".join(texts).split())  # wrapped lines are tspans with no space between them
        assert "Recoveryratebygroup(95%CI)" in squeezed
        assert {"Physical activity", "Control"} <= set(texts)
        assert_no_errors(page)  # the click did not rerun the page into an error
    finally:
        context.close()
