"""Every chart downloads as PNG (the toolbar's camera) and as SVG (a button under it), named for what it is.

The SVG is drawn on the server by ``analysis.figures.svg.figure_to_svg`` (kaleido driving the
machine's Chromium); these tests draw real ones. Its privacy (nothing written to disk or logged)
is tested in ``tests/test_privacy.py``, and the click in a real browser in
``tests/e2e/test_browser_svg_download.py``.
"""

from __future__ import annotations

import json
import os
import stat
import time
import xml.etree.ElementTree as ET

import pytest

from analysis.figures import svg, theme
from analysis.figures.outcomes import rate_chart
from dashboard import ui
from tests.apptest_support import deferred_download, open_page, record_media_files, survey_all_open

SVG_NS = "{http://www.w3.org/2000/svg}"
OVERVIEW_TITLE = "Recovery rate by group (95% CI)"


def _squeezed(text: str) -> str:
    return "".join(text.split())
# Every page that draws charts, and the least number of charts it draws on the bundled sample.
CHART_PAGES = {"pages/overview.py": 1, "pages/symptom_change.py": 3, "pages/recovery.py": 3,
               "pages/who_benefits.py": 2, "pages/survey.py": 3, "pages/planning.py": 1,
               "pages/national.py": 4}


def svg_root(data: bytes) -> ET.Element:
    root = ET.fromstring(data)
    assert root.tag == f"{SVG_NS}svg", root.tag
    return root


def svg_texts(root: ET.Element) -> list[str]:
    """The text of every ``<text>`` element (plotly splits none of our titles or labels)."""
    return ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}text")]


@pytest.fixture(scope="module")
def overview_figure(app_sample):
    _, analysis = app_sample
    return rate_chart(analysis.rates["recovery"].groups, OVERVIEW_TITLE)


# --- figure_to_svg -----------------------------------------------------------------------------------------


def test_a_dashboard_chart_becomes_valid_svg_with_its_title_labels_and_colours(overview_figure, svg_chromium):
    assert svg.svg_unavailable_reason() is None  # this machine has Chromium (as CI installs it)
    started = time.perf_counter()
    data = svg.figure_to_svg(overview_figure)
    took = time.perf_counter() - started
    root = svg_root(data)
    texts = svg_texts(root)
    assert _squeezed(OVERVIEW_TITLE) in _squeezed("".join(texts))  # a title wrapped to its column: a tspan a line
    assert {"Physical activity", "Control"} <= set(texts)  # the bars' axis labels
    assert (root.get("width"), root.get("height")) == (str(svg.SVG_WIDTH), "460")
    assert b"fill: rgb(0, 114, 178)" in data and b"fill: rgb(185, 122, 0)" in data  # PA blue, control orange (theme.CONTROL_ORANGE)
    assert overview_figure.layout.width is None  # the figure shown on the page was not changed
    assert took < svg.SVG_TIMEOUT_S


def test_a_figure_with_its_own_width_keeps_it(overview_figure, svg_chromium):
    figure = type(overview_figure)(overview_figure).update_layout(width=640, height=400)
    root = svg_root(svg.figure_to_svg(figure))
    assert (root.get("width"), root.get("height")) == ("640", "400")


def test_without_a_browser_the_svg_says_why_and_the_reason_is_given(monkeypatch, overview_figure):
    monkeypatch.setenv(svg.BROWSER_ENV, "/nonexistent/chromium")
    reason = svg.svg_unavailable_reason()
    assert reason is not None and "/nonexistent/chromium" in reason
    texts = " ".join(svg_texts(svg_root(svg.figure_to_svg(overview_figure))))
    assert svg.SVG_FAILED in texts and svg.BROWSER_ENV in texts


def test_without_any_chromium_on_the_path_the_reason_says_how_to_install_it(monkeypatch):
    monkeypatch.delenv(svg.BROWSER_ENV, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert svg.svg_browser() is None
    assert "apt-get install chromium" in svg.svg_unavailable_reason()


def test_a_browser_that_fails_gives_an_svg_saying_so(monkeypatch, overview_figure):
    monkeypatch.setenv(svg.BROWSER_ENV, "/bin/false")
    assert svg.svg_unavailable_reason() is None  # it exists; it fails only when started
    texts = " ".join(svg_texts(svg_root(svg.figure_to_svg(overview_figure))))
    assert svg.SVG_FAILED in texts and "failed" in texts and "PNG" in texts


def test_a_browser_that_hangs_is_stopped_at_the_time_limit_and_killed(monkeypatch, tmp_path, overview_figure):
    pid_file = tmp_path / "pid"
    fake = tmp_path / "stuck-chromium"
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 120\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(svg.BROWSER_ENV, str(fake))
    monkeypatch.setattr(svg, "SVG_TIMEOUT_S", 3)
    started = time.perf_counter()
    texts = " ".join(svg_texts(svg_root(svg.figure_to_svg(overview_figure))))
    assert time.perf_counter() - started < 3 + 15
    assert "took longer than 3 seconds" in texts
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the stuck browser (pid {pid}) is still running")


def test_the_message_svg_is_valid_and_escapes_its_text():
    root = svg_root(svg.message_svg("Title <&>", "a detail " * 30))
    texts = svg_texts(root)
    assert texts[0] == "Title <&>" and len(texts) > 2  # the detail wrapped over several lines


def test_the_png_toolbar_button_is_named_after_the_chart():
    config = theme.chart_config("recovery-rate-by-group")
    assert config["toImageButtonOptions"] == {"format": "png", "filename": "recovery-rate-by-group", "scale": 2}


# --- every chart on every page --------------------------------------------------------------------------


def chart_names(at) -> list[str]:
    """The PNG file name (without ``.png``) of each chart on the page, top to bottom."""
    return [json.loads(c.proto.config)["toImageButtonOptions"]["filename"] for c in at.get("plotly_chart")]


def svg_buttons(at) -> list:
    return [b for b in at.get("download_button") if b.proto.label == ui.SVG_BUTTON]


@pytest.mark.parametrize("page", sorted(CHART_PAGES))
def test_every_chart_has_an_svg_download_named_like_its_png(monkeypatch, page, svg_chromium):
    record_media_files(monkeypatch)
    at = open_page(page, survey_all_open() if page == "pages/survey.py" else None)  # its charts: in expanders
    names = chart_names(at)
    assert len(names) >= CHART_PAGES[page], names
    assert all(names) and len(set(names)) == len(names), names  # each chart has its own, non-empty name
    buttons = svg_buttons(at)
    downloads = [deferred_download(b) for b in buttons]  # deferred: nothing is drawn until a click
    assert [name for name, _, _ in downloads] == [f"{n}.svg" for n in names]  # one per chart, in order
    assert {mime for _, mime, _ in downloads} == {"image/svg+xml"}
    assert not any(b.proto.disabled for b in buttons)
    assert all(b.proto.help == ui.SVG_HELP for b in buttons)


def test_the_overview_svg_button_downloads_the_chart_above_it(monkeypatch, svg_chromium):
    record_media_files(monkeypatch)
    at = open_page("pages/overview.py")
    downloads = {name: (mime, build) for name, mime, build in map(deferred_download, svg_buttons(at))}
    assert set(downloads) == {"recovery-difference-adjusted.svg", "recovery-rate-by-group.svg"}
    mime, build = downloads["recovery-rate-by-group.svg"]
    assert mime == "image/svg+xml"
    texts = svg_texts(svg_root(build()))
    assert _squeezed(OVERVIEW_TITLE) in _squeezed("".join(texts)) and "England" in " ".join(texts)  # the reference line's label (England's year)


def test_without_a_browser_the_svg_buttons_are_greyed_out_and_say_why(monkeypatch):
    monkeypatch.setenv(svg.BROWSER_ENV, "/nonexistent/chromium")
    at = open_page("pages/recovery.py")
    buttons = svg_buttons(at)
    assert len(buttons) == len(chart_names(at)) >= 3
    assert all(b.proto.disabled for b in buttons)
    assert all("/nonexistent/chromium" in b.proto.help for b in buttons)


def test_the_reason_is_kept_for_a_while_and_follows_the_environment(monkeypatch):
    calls = []
    real = svg._unavailable_reason
    monkeypatch.setattr(svg, "_unavailable_reason", lambda: calls.append(1) or real())
    monkeypatch.setattr(svg, "_REASON", {})
    monkeypatch.setenv(svg.BROWSER_ENV, "/bin/false")
    assert svg.svg_unavailable_reason() is None and svg.svg_unavailable_reason() is None
    assert len(calls) == 1  # asked twice, looked once
    monkeypatch.setenv(svg.BROWSER_ENV, "/nonexistent/chromium")  # a changed environment is seen at once
    assert "/nonexistent/chromium" in svg.svg_unavailable_reason() and len(calls) == 2
    later = svg._clock() + svg.REASON_TTL_S + 1  # and the answer is looked for again after a while
    monkeypatch.setattr(svg, "_clock", lambda: later)
    svg.svg_unavailable_reason()
    assert len(calls) == 3
