"""The Overview's count tiles show their whole value in presentation-safe mode, at 1280×720 (real browser).

Four tiles share a row; a suppressed count written out ("fewer than 5") was cut to "fewer th…". It is
shown as "<5" (``analysis.disclosure.FEWER_THAN_SHORT``) there.
"""

from __future__ import annotations

import pytest
from e2e_support import assert_no_errors, open_app, save_viewport_screenshot

from analysis.disclosure import FEWER_THAN_SHORT

# Each metric tile's label and value, and whether the value (or anything inside it) is wider than its box.
_TILES = """() => [...document.querySelectorAll('[data-testid="stMetric"]')]
  .filter(m => m.getBoundingClientRect().width > 0)
  .map(m => {
    const value = m.querySelector('[data-testid="stMetricValue"]');
    return {label: m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(), value: value.innerText.trim(),
            cut: [value, ...value.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1)};
  })"""


@pytest.mark.parametrize(("query", "small"), [
    ("safe=true", "Not finished"),                     # 3 people did not finish
    ("safe=true&f_gender=Male", "Control finishers"),  # 2 men finished in the control group
])
def test_overview_count_tiles_are_not_cut_in_safe_mode(app_page, app_url, query, small):
    open_app(app_page, app_url, f"/?{query}")
    app_page.locator('[data-testid="stMetricValue"]').nth(3).wait_for()
    assert_no_errors(app_page)
    save_viewport_screenshot(app_page, f"uxbits-overview-tiles-{query.replace('&', '-').replace('=', '-')}")
    tiles = {tile["label"]: tile for tile in app_page.evaluate(_TILES)}
    assert [label for label, tile in tiles.items() if tile["cut"]] == []  # the whole value is visible
    assert not any(tile["value"].endswith("…") for tile in tiles.values())
    assert tiles[small]["value"] == FEWER_THAN_SHORT
