"""Uploading through the real file-upload widget on the Data page (pages/data.py, dashboard/upload.py).

Which assertions rest on what:

* the ``input[type=file]`` on /data, the file name shown there and the Data page's own behaviour
  depend on pages/data.py — if it is a placeholder the test FAILS with that said, it never skips;
* the sidebar's data-source radio (``data_source``, upload first) and file name, the data banner naming
  the file and the overview's verdict depend on dashboard/controls.py, dashboard/ui.py and pages/overview.py.

Expected verdicts are computed by analysis/ from the very file uploaded.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from e2e_support import (
    ERROR_ALERT,
    ROOT,
    SIDEBAR,
    analysis_of_file,
    assert_no_errors,
    expected_analysis,
    main_block,
    open_app,
    visible_text,
    wait_for_rerun,
)
from playwright.sync_api import Page, expect

DATA_UPLOADER = 'input[type="file"][accept*=".csv"]'
SAMPLE_EPISODES = ROOT / "data" / "sample" / "synthetic_pilot_episodes.csv"
IDENTIFIABLE = ROOT / "tests" / "data" / "bad" / "nhs_numbers.csv"


def _data_uploader(page: Page):
    uploader = page.locator(DATA_UPLOADER)
    if uploader.count() == 0:
        pytest.fail("/data has no CSV file-upload widget (input[type=file] accepting .csv): is pages/data.py "
                    "still a placeholder?", pytrace=False)
    return uploader.first


def _go_to_overview(page: Page, app_url: str) -> None:
    """Navigate inside the same session (a fresh page load would start a new session without the upload)."""
    page.locator('[data-testid="stTopNavSection"]', has_text="Outcomes").first.click()  # the top bar's menu
    page.locator(f'a[data-testid="stTopNavDropdownLink"][href="{app_url}/"]').click()
    wait_for_rerun(page)


@pytest.fixture
def small_upload(tmp_path: Path) -> Path:
    """Every other participant of the sample's episode file: valid, and with a different verdict."""
    path = tmp_path / "e2e-half-sample.csv"
    pd.read_csv(SAMPLE_EPISODES, dtype=str, keep_default_na=False).iloc[::2].to_csv(path, index=False)
    return path


def test_valid_upload_becomes_the_data_of_every_page(app_page, app_url, small_upload):
    uploaded_verdict = analysis_of_file(small_upload).recovery_verdict()
    sample_verdict = expected_analysis().recovery_verdict()
    assert uploaded_verdict != sample_verdict, "test set-up: the upload must differ from the sample"

    open_app(app_page, app_url, "/data")
    _data_uploader(app_page).set_input_files(str(small_upload))
    wait_for_rerun(app_page)

    # pages/data.py: the upload is read, checked and named on the page, with no error
    assert_no_errors(app_page)
    expect(visible_text(main_block(app_page), small_upload.name),
           "pages/data.py does not name the uploaded file").to_be_visible()
    # dashboard/controls.py: the sidebar's data-source radio (upload first, then the sample) shows the
    # upload, and the sidebar names the file
    expect(app_page.locator(f"{SIDEBAR} .st-key-data_source").get_by_role("radio").first).to_be_checked()
    expect(visible_text(app_page.locator(SIDEBAR), small_upload.name)).to_be_visible()

    _go_to_overview(app_page, app_url)
    assert_no_errors(app_page)
    main = main_block(app_page)
    expect(visible_text(main, small_upload.name)).to_be_visible()  # ui.data_banner names the file
    expect(visible_text(main, uploaded_verdict)).to_be_visible()
    expect(main.get_by_text(sample_verdict)).to_have_count(0)


def test_identifiable_upload_is_refused_and_nothing_from_it_is_shown(app_page, app_url):
    identifiers = pd.read_csv(IDENTIFIABLE, dtype=str)["participant_id"].tolist()
    open_app(app_page, app_url, "/data")
    _data_uploader(app_page).set_input_files(str(IDENTIFIABLE))
    wait_for_rerun(app_page)

    assert app_page.locator('[data-testid="stException"]').count() == 0
    expect(app_page.locator(ERROR_ALERT).first, "pages/data.py shows no refusal").to_be_visible()
    page_text = app_page.locator("body").inner_text()
    shown = [value for value in identifiers if value in page_text]
    assert not shown, f"identifiable values from a refused file are on the page: {shown}"
    expect(app_page.locator(f"{SIDEBAR} .st-key-data_source")).to_have_count(0)  # no upload to switch to

    _go_to_overview(app_page, app_url)
    assert_no_errors(app_page)
    expect(visible_text(main_block(app_page), expected_analysis().recovery_verdict())).to_be_visible()
