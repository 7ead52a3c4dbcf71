"""The offline HTML report and the interactive versions of the story's charts."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest

from analysis.disclosure import make_summary_safe
from analysis.report import build_html, build_story
from analysis.report.charts import slide_figure, spec_figure
from analysis.report.story import HIDDEN, ChartSpec
from analysis.schema import GROUP_CONTROL, GROUP_LABELS, GROUP_PA, GROUPS
from analysis.summary import analyse

DAY = date(2025, 3, 14)
HOSTILE = '<img src=x onerror="alert(1)">**bold** & <script>alert(2)</script>'


class _Collector(HTMLParser):
    """Every tag with its attributes, and the visible text (outside <script>/<style>)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


@pytest.fixture(scope="module")
def report(sample_analysis, sample_episodes) -> str:
    return build_html(sample_analysis, episodes=sample_episodes, generated=DAY)


@pytest.fixture(scope="module")
def safe_report(sample_analysis, sample_episodes) -> str:
    return build_html(sample_analysis, safe=True, episodes=sample_episodes, generated=DAY)


def test_report_is_self_contained(report):
    assert report.startswith("<!DOCTYPE html>")
    tags = parse(report).tags
    assert not [attrs for tag, attrs in tags if tag == "script" and "src" in attrs]  # no <script src=...> at all
    assert '<script src="http' not in report
    assert not [attrs for tag, attrs in tags if tag == "link"]  # no external stylesheet or font
    assert "@import" not in report and "fonts.googleapis" not in report
    assert report.count("* plotly.js v") == 1  # plotly.js inlined once, with the first chart
    assert report.index("* plotly.js v") < report.index("Plotly.newPlot")


def test_report_tells_the_same_story_as_the_deck(report, sample_analysis, sample_episodes):
    story = build_story(sample_analysis, episodes=sample_episodes, generated=DAY)
    text = " ".join(" ".join(parse(report).text).split())
    for slide in story:
        assert slide.title in text
        assert " ".join(slide.takeaway.split()) in text
        for bullet in slide.bullets:
            assert " ".join(bullet.split()) in text, bullet
    charts = re.findall(r'id="chart-([a-z_]+)"', report)
    assert charts == [slide.key for slide in story if slide.chart is not None]
    assert "Physical activity: 63% recovered (12 of 19; 95% CI 41% to 81%)" in text
    assert "Control: 36% recovered (5 of 14; 95% CI 16% to 61%)" in text
    assert sample_analysis.recovery_verdict() in text


def test_user_text_is_escaped(sample_analysis):
    html = build_html(sample_analysis, filters={"gender": (HOSTILE,)}, source=HOSTILE, generated=DAY)
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    tags = parse(html).tags
    assert not [a for t, a in tags if t == "img"]
    assert not [a for t, a in tags if t == "script" and "alert" in str(a)]
    text = " ".join(parse(html).text)
    assert f"Data: {HOSTILE}" in text and f"Filters: Gender = {HOSTILE}" in text  # shown literally


def test_safe_report_hides_small_numbers(safe_report, sample_analysis):
    text = " ".join(" ".join(parse(safe_report).text).split())
    safe = make_summary_safe(sample_analysis.to_dict())
    assert f"Reliable deterioration: {HIDDEN}" in text
    block = safe["rates"]["recovery"][GROUP_PA]
    assert f"({block['count']} of {block['denominator']};" in text
    assert "(12 of 19;" not in text and "(1 of 19)" not in text  # (the safe-mode note quotes "12 of 19" as its example)
    assert "Presentation-safe numbers: on" in text


def test_recovery_figure_reuses_rate_chart_values(sample_analysis, sample_episodes):
    story = build_story(sample_analysis, episodes=sample_episodes, generated=DAY)
    recovery = next(s for s in story if s.key == "recovery")
    figure = slide_figure(recovery, sample_analysis)
    bars = {trace.name: trace.y[0] for trace in figure.data if trace.type == "bar"}
    rates = sample_analysis.rates["recovery"].groups
    assert bars == {GROUP_LABELS[g]: pytest.approx(rates[g].rate * 100) for g in GROUPS}
    assert [round(v, 1) for v in bars.values()] == [63.2, 35.7]
    assert {trace.marker.color for trace in figure.data} == {"#0072B2", "#B97A00"}


def test_safe_rates_figure_leaves_hidden_bars_out(sample_analysis, sample_episodes):
    story = build_story(sample_analysis, safe=True, episodes=sample_episodes, generated=DAY)
    rates = next(s for s in story if s.key == "rates")
    assert rates.chart.hidden == {(GROUP_LABELS[g], "Reliable deterioration") for g in GROUPS}
    figure = slide_figure(rates, sample_analysis)
    bars = [trace for trace in figure.data if trace.type == "bar"]
    assert [trace.name for trace in bars] == [GROUP_LABELS[g] for g in GROUPS]
    for trace in bars:
        assert trace.text[-1] == "hidden"  # the figures builder's label for a suppressed bar
        assert trace.y[-1] == 0 and not trace.error_y.array[-1]  # no bar height, no whisker from hidden data


def test_spec_figure_draws_the_spec_values():
    spec = ChartSpec(kind="change", categories=("PHQ-9", "GAD-7"),
                     series={"Physical activity": (-5.9, None), "Control": (-3.1, -2.9)},
                     colours={"Physical activity": "#0072B2", "Control": "#B97A00"}, number_format="0.0",
                     axis_title="Mean change")
    figure = spec_figure(spec, "Symptom change")
    assert [trace.name for trace in figure.data] == ["Physical activity", "Control"]
    assert list(figure.data[0].y) == [-5.9, None]  # hidden: a gap
    assert list(figure.data[0].text) == ["−5.9", ""]
    assert figure.data[1].marker.color == "#B97A00"
    sideways = spec_figure(ChartSpec(kind="survey", categories=("A long category label that wraps", "B"),
                                     series={"Respondents (%)": (99.0, 17.0)}, colours={}, number_format='0"%"',
                                     axis_title="Percent", axis_min=0, axis_max=100, horizontal=True), "Survey")
    assert sideways.data[0].orientation == "h" and list(sideways.data[0].x) == [99.0, 17.0]
    assert list(sideways.data[0].text) == ["99%", "17%"]
    assert sideways.layout.yaxis.autorange == "reversed"


def test_report_for_an_empty_group(sample_episodes):
    only_control = sample_episodes[sample_episodes["group"] == GROUP_CONTROL]
    analysis = analyse(only_control, source="x.csv")
    html = build_html(analysis, episodes=only_control, generated=DAY)
    text = " ".join(parse(html).text)
    assert "Physical activity: not available (no one in the denominator)" in text
    assert "Recovery cannot be compared" in text


def test_report_size_and_speed(report, sample_analysis, sample_episodes):
    import time

    assert len(report.encode("utf-8")) < 6_000_000  # ~4.8 MB of it is plotly.js, included once
    start = time.perf_counter()
    build_html(sample_analysis, episodes=sample_episodes)
    assert time.perf_counter() - start < 3.0
