"""The Survey page is a few screens, not 25 (issue 18, item 9): measured in a real browser at 1280×720."""

from __future__ import annotations

from e2e_support import assert_no_errors, open_app, page_path, save_screenshots

MAX_SCREENS = 5  # 720 px each; the page was about 11,000 px tall with only the staff group shown


def _height(page) -> int:
    return page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")


def test_the_survey_page_is_a_few_screens_with_the_summary_on_the_first_two(app_page, app_url):
    open_app(app_page, app_url, page_path("pages/survey.py"))
    save_screenshots(app_page, "ux-visual-survey")
    assert_no_errors(app_page)
    height = _height(app_page)
    assert height <= MAX_SCREENS * 720, f"the survey page is {height} px tall ({height / 720:.1f} screens)"
    # The summary (the recommendations and the quotes) is within the first two screens.
    top = app_page.evaluate("""() => { const el = [...document.querySelectorAll('[data-testid="stMarkdownContainer"]')]
        .find(e => e.innerText.trim() === "In participants' words");
        return el ? el.getBoundingClientRect().top + document.querySelector('[data-testid="stMain"]').scrollTop : null; }""")
    assert top is not None and top < 2 * 720, top


def test_filtered_to_staff_the_page_stays_short_of_its_old_length(app_page, app_url):
    open_app(app_page, app_url, page_path("pages/survey.py") + "?survey_groups=staff")
    assert_no_errors(app_page)
    assert _height(app_page) < 11_000 * 0.6
