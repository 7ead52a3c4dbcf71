"""Every page opens in a real browser at 1280×720 without an error, shows its key figures, and is screenshotted.

Screenshots: ``test-artifacts/screenshots/<page>.png`` (whole page, 1280 wide) and
``<page>-viewport.png`` (the first 1280×720 screen, what a projector shows before scrolling).
The key figures are computed by ``analysis/`` here, never typed in.
"""

from __future__ import annotations

import pytest
from e2e_support import (
    PLACEHOLDER_TEXT,
    assert_no_errors,
    expected_analysis,
    main_block,
    open_app,
    page_path,
    page_paths,
    save_screenshots,
    visible_text,
)
from playwright.sync_api import expect

from analysis import formatting as fmt
from analysis.schema import GROUPS

# (screenshot name, page file); the URL path of each is read from app.py
PAGES = [
    ("overview", "pages/overview.py"),
    ("symptom-change", "pages/symptom_change.py"),
    ("recovery", "pages/recovery.py"),
    ("who-benefits", "pages/who_benefits.py"),
    ("adjusted", "pages/adjusted.py"),
    ("survey", "pages/survey.py"),
    ("planning", "pages/planning.py"),
    ("national", "pages/national.py"),
    ("data", "pages/data.py"),
    ("export", "pages/export.py"),
    ("methods", "pages/methods.py"),
    ("sites", "pages/sites.py"),
]


def _key_figures(name: str) -> list[str]:
    """Text each page must show, computed from analysis/ on the bundled sample."""
    if name == "overview":
        recovery = expected_analysis().rates["recovery"]
        rates = [fmt.percent(recovery.groups[group].rate) for group in GROUPS]  # e.g. 63% and 36%
        return [*rates, expected_analysis().recovery_verdict()]
    if name == "national":
        from analysis import national

        england = national.benchmark()  # the takeaway names the year and the published rate
        return [f"England's recovery rate in {england.year} was {england.rates['recovery'].rate * 100:.1f}%"]
    if name == "survey":
        from analysis.survey import headline

        return [f"{headline().staff_very_important_pct:g}%"]  # 99% of staff say it is very important
    return []


def test_every_page_in_the_navigation_is_tested():
    assert sorted(page_paths()) == sorted(source for _, source in PAGES)


@pytest.mark.parametrize(("name", "source"), PAGES, ids=[p[0] for p in PAGES])
def test_page_opens_cleanly_and_shows_its_key_figures(app_page, app_url, name, source):
    open_app(app_page, app_url, page_path(source))
    save_screenshots(app_page, name)  # before the assertions, so a broken page is still on record

    assert_no_errors(app_page)
    main = main_block(app_page)
    expect(main.locator("h1").first).to_be_visible()
    assert app_page.locator('[data-testid="stTopNav"]').is_visible(), "the page navigation (top bar) is missing"
    if main.get_by_text(PLACEHOLDER_TEXT).count():
        pytest.fail(f"{source} is still a placeholder (it says {PLACEHOLDER_TEXT!r})", pytrace=False)
    for text in _key_figures(name):
        expect(visible_text(main, text), f"{name}: expected {text!r} on the page").to_be_visible()
