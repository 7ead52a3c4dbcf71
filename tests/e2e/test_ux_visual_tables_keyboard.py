"""Tables fit the page and the pages work from the keyboard (issue 18, items 3 and 10), at 1280×720.

* Item 3: no table hides a column or cuts a cell: every table's content is as wide as its box at most,
  and its box ends inside the page (Recovery's "Comparison of each rate" hid the whole Reliable
  deterioration column; Symptom change, Who benefits, Methods and the upload report cut theirs).
* Item 10: each chart is one tab stop at most (plotly's toolbar was eight), no element keeps keyboard
  focus for several presses (an interactive grid held it on an invisible cell for five), every chart has
  a text equivalent for screen readers, and the grey captions that carry the caveats reach 4.5:1.
"""

from __future__ import annotations

import pytest
from e2e_support import (
    MAIN,
    ROOT,
    assert_no_errors,
    open_app,
    page_paths,
    save_screenshots,
    wait_for_rerun,
)

from analysis.figures.theme import MIN_TEXT_CONTRAST, contrast_ratio

BAD_UPLOAD = ROOT / "tests" / "data" / "bad" / "several_errors.csv"

# Every table (static or grid) and how far its content overflows its own box, and how far the box
# overflows the main column.
_OVERFLOWS = """(main) => {
  const limit = document.querySelector(main).getBoundingClientRect().right + 1;
  const out = [];
  for (const t of document.querySelectorAll('[data-testid="stTable"], [data-testid="stDataFrame"]')) {
    const box = t.getBoundingClientRect();
    if (box.width === 0 || !t.checkVisibility()) continue;  // inside a closed expander
    const scroller = t.querySelector('.dvn-scroller') || t.querySelector('table')?.parentElement || t;
    const header = [...t.querySelectorAll('th')].map(th => th.innerText.trim()).join(' | ')
                   || t.getAttribute('aria-label') || '(grid)';
    out.push({header, kind: t.getAttribute('data-testid'), hidden: scroller.scrollWidth - scroller.clientWidth,
              past_page: Math.round(box.right - limit), cells_cut: [...t.querySelectorAll('td, th')]
                .filter(c => c.scrollWidth > c.clientWidth + 1).length});
  }
  return out;
}"""


def _assert_tables_fit(page, where: str) -> int:
    tables = page.evaluate(_OVERFLOWS, MAIN)
    bad = [t for t in tables if t["hidden"] > 1 or t["past_page"] > 0 or t["cells_cut"]]
    assert not bad, f"{where}: tables cut at 1280 px: {bad}"
    return len(tables)


# Every page on the pilot sample, and the Sites page on the programme sample (its pooled tables show only there;
# "Every outcome, pooled across sites" had eleven columns and hid its prediction intervals).
@pytest.mark.parametrize("path", [*sorted(set(page_paths().values())), "/sites?sample=Programme"])
def test_no_table_hides_a_column_at_1280(app_page, app_url, path):
    open_app(app_page, app_url, path)
    assert_no_errors(app_page)
    assert _assert_tables_fit(app_page, path) >= (4 if "Programme" in path else 0)


def test_the_upload_report_shows_how_to_fix_in_full(app_page, app_url):
    open_app(app_page, app_url, "/data")
    app_page.locator('input[type="file"][accept*=".csv"]').first.set_input_files(str(BAD_UPLOAD))
    wait_for_rerun(app_page)
    save_screenshots(app_page, "ux-visual-upload-report")
    header = app_page.locator('[data-testid="stTable"] th', has_text="How to fix")
    assert header.count() == 1 and header.first.is_visible(), "the upload report has no visible How to fix column"
    assert _assert_tables_fit(app_page, "upload report") >= 1


_FOCUS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const r = e.getBoundingClientRect();
  if (!e.dataset.uxFocusId) e.dataset.uxFocusId = String(window.__uxFocusCount = (window.__uxFocusCount || 0) + 1);
  return {key: e.dataset.uxFocusId + '|' + e.tagName + '|' + (e.getAttribute('aria-label') || e.innerText || '').slice(0, 60),
          chart: !!e.closest('[data-testid="stPlotlyChart"]'),
          chart_index: [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].indexOf(e.closest('[data-testid="stPlotlyChart"]')),
          width: r.width, height: r.height};
}"""


@pytest.mark.parametrize("path", ["/recovery", "/symptom_change", "/who_benefits"])
def test_keyboard_focus_moves_on_every_press_and_charts_are_one_stop(app_page, app_url, path):
    open_app(app_page, app_url, path)
    charts = app_page.locator('[data-testid="stPlotlyChart"]').count()
    assert charts >= 1
    app_page.wait_for_timeout(1_000)
    stops_per_chart: dict[int, int] = {}
    previous, repeats, seen = None, 0, []
    for _ in range(200):
        app_page.keyboard.press("Tab")
        focus = app_page.evaluate(_FOCUS)
        if focus is None:
            continue
        if seen and focus["key"] == seen[0]:
            break  # once round the page
        if focus["key"] == previous:
            repeats += 1
            assert repeats < 2, f"{path}: focus stayed on {focus['key']!r} for {repeats + 1} presses"
        else:
            repeats = 0
        previous = focus["key"]
        seen.append(focus["key"])
        assert focus["width"] > 0 and focus["height"] > 0, f"{path}: focus on an invisible element {focus['key']!r}"
        if focus["chart"]:
            stops_per_chart[focus["chart_index"]] = stops_per_chart.get(focus["chart_index"], 0) + 1
    assert stops_per_chart, f"{path}: the keyboard never reached a chart's PNG button"
    assert max(stops_per_chart.values()) <= 1, f"{path}: tab stops per chart {stops_per_chart}"


_CHART_ALTS = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
  .map(c => [c.getAttribute('role'), c.getAttribute('aria-label') || ''])"""

_CAPTIONS = """() => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')].filter(c => c.innerText.trim())
  .map(c => { let opacity = 1; for (let e = c; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
              return [getComputedStyle(c).color, opacity, c.innerText.slice(0, 50)]; })"""


def _blend(rgb: str, opacity: float) -> str:
    channels = [int(v) for v in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3]]
    return "#" + "".join(f"{round(opacity * c + (1 - opacity) * 255):02X}" for c in channels)


@pytest.mark.parametrize("path", ["/", "/symptom_change", "/recovery", "/who_benefits", "/planning"])
def test_charts_have_a_text_equivalent_and_captions_are_readable(app_page, app_url, path):
    open_app(app_page, app_url, path)
    app_page.locator('[data-testid="stPlotlyChart"]').first.wait_for()  # charts draw after the script ends
    alts = app_page.evaluate(_CHART_ALTS)
    assert alts, f"{path}: no chart"
    for role, label in alts:
        assert role in ("figure", "img") and label.startswith("Chart") and len(label) > 40, (path, role, label)
    captions = app_page.evaluate(_CAPTIONS)
    assert captions, f"{path}: no caption"
    for colour, opacity, text in captions:
        ratio = contrast_ratio(_blend(colour, opacity))
        assert ratio >= MIN_TEXT_CONTRAST, f"{path}: caption {text!r} at {ratio:.2f}:1"


# --- metric tiles: their labels are not cut ("Staff: satisfied with sup…", "Finished treatment (analys…") ---

_CUT_METRIC_LABELS = """() => [...document.querySelectorAll('[data-testid="stMetricLabel"], [data-testid="stMetricValue"]')]
  .filter(m => m.getBoundingClientRect().width > 0)
  .filter(m => [m, ...m.querySelectorAll('*')].some(e => e.scrollWidth > e.clientWidth + 1))
  .map(m => m.innerText)"""


@pytest.mark.parametrize("path", ["/", "/survey", "/adjusted"])
def test_no_metric_label_is_cut(app_page, app_url, path):
    open_app(app_page, app_url, path)
    app_page.locator('[data-testid="stMetricLabel"]').nth(3).wait_for()
    assert app_page.evaluate(_CUT_METRIC_LABELS) == []


def test_the_upload_summary_tiles_show_their_whole_labels(app_page, app_url):
    open_app(app_page, app_url, "/data")
    app_page.locator('input[type="file"][accept*=".csv"]').first.set_input_files(
        str(ROOT / "data" / "sample" / "synthetic_pilot_episodes.csv"))
    wait_for_rerun(app_page)
    assert_no_errors(app_page)
    assert app_page.locator('[data-testid="stMetricLabel"]', has_text="Finished treatment").count() == 1
    assert app_page.evaluate(_CUT_METRIC_LABELS) == []
    _assert_tables_fit(app_page, "data page after an upload")


def test_the_survey_findings_table_fits_when_opened(app_page, app_url):
    open_app(app_page, app_url, "/survey")
    app_page.locator("summary", has_text="These findings as one table").click()
    app_page.locator('[data-testid="stTable"] th', has_text="Finding").first.wait_for()
    assert _assert_tables_fit(app_page, "survey findings table") >= 1
