"""Presentation mode (``?present=true&slide=N``, dashboard/presentation.py) on a 1280×720 projector.

Each slide's title and takeaway come from ``analysis.report.story.build_story`` run on the bundled
sample; every slide must fit the screen without scrolling, and is saved as
``test-artifacts/screenshots/present-slide-<n>.png``.
"""

from __future__ import annotations

import re

from e2e_support import (
    SIDEBAR,
    assert_no_errors,
    expected_analysis,
    main_block,
    open_app,
    sample_episode_frame,
    save_viewport_screenshot,
    wait_for_rerun,
)
from playwright.sync_api import expect

from analysis.report.story import build_story


def _expected_slides():
    analysis = expected_analysis()
    return build_story(analysis, safe=False, filters={}, source=analysis.source, episodes=sample_episode_frame(),
                       synthetic=True)


def test_presentation_mode_steps_through_every_slide_and_each_fits_1280x720(app_page, app_url):
    slides = _expected_slides()
    open_app(app_page, app_url, "/?present=true&slide=1")
    expect(app_page.locator(SIDEBAR)).to_be_hidden()

    for number, slide in enumerate(slides, start=1):
        assert_no_errors(app_page)
        expect(app_page).to_have_url(re.compile(rf"[?&]slide={number}\b"))
        main = main_block(app_page)
        expect(main.locator("h1")).to_have_text(slide.title)
        expect(app_page.locator(".st-key-present-takeaway")).to_contain_text(slide.takeaway)
        save_viewport_screenshot(app_page, f"present-slide-{number}")
        overflow = app_page.evaluate(
            """() => { const m = document.querySelector('[data-testid="stMain"]');
                       return m.scrollHeight - m.clientHeight; }""")
        assert overflow <= 2, f"slide {number} ({slide.key}) is {overflow}px taller than a 1280×720 screen"
        next_button = app_page.locator(".st-key-present-next button")
        if number < len(slides):
            next_button.click()
            wait_for_rerun(app_page)
        else:
            expect(next_button).to_be_disabled()

    app_page.locator(".st-key-present-exit button").click()
    wait_for_rerun(app_page)
    expect(app_page).not_to_have_url(re.compile(r"present=true"))
    expect(app_page.locator(SIDEBAR)).to_be_visible()
    assert_no_errors(app_page)
