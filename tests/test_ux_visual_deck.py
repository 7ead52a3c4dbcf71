"""The deck (issue 18, item 11): titles in title placeholders, the CIs and national lines the text cites
drawn on the charts, a slide title that says what its chart shows, value labels clear of category names."""

from __future__ import annotations

import io

import pytest
from pptx import Presentation
from pptx.oxml.ns import qn
from pptx.util import Inches

from analysis.report import deck as deck_module
from analysis.report.deck import PLOT_BOX, build_deck, titled_slide
from analysis.report.story import build_story


@pytest.fixture(scope="module")
def story_and_deck(sample_analysis, sample_episodes):
    from analysis.outcomes import with_derived_columns

    episodes = with_derived_columns(sample_episodes)
    story = build_story(sample_analysis, episodes=episodes)
    presentation = Presentation(io.BytesIO(build_deck(sample_analysis, episodes=episodes)))
    return story, presentation


def _chart(slide):
    return next(s for s in slide.shapes if s.has_chart).chart


def _error_bars(chart) -> dict[str, tuple[list[float], list[float]]]:
    out = {}
    for series in chart.plots[0].series:
        bars = series._element.find(qn("c:errBars"))
        if bars is None:
            continue
        values = [[float(v.text) for v in bars.find(qn(f"c:{side}")).iter(qn("c:v"))] for side in ("plus", "minus")]
        out[series.name] = (values[0], values[1])
    return out


def test_every_slide_title_is_in_the_title_placeholder(story_and_deck):
    story, presentation = story_and_deck
    for story_slide, slide in zip(story, presentation.slides, strict=True):
        title = slide.shapes.title
        assert title is not None and title.is_placeholder, story_slide.title
        assert title.text_frame.text == story_slide.title
        # and no second, look-alike title in a plain text box
        assert [s for s in slide.shapes if s.name == "Title"] == [title]


def test_the_helper_other_slides_reuse_gives_a_titled_slide():
    presentation = Presentation()
    slide = titled_slide(presentation, "Against the nation")
    assert slide.shapes.title.text_frame.text == "Against the nation"
    assert slide.shapes.title.text_frame.paragraphs[0].runs[0].font.size.pt == deck_module.TITLE_PT


@pytest.mark.parametrize("key", ["recovery", "rates", "symptom_change"])
def test_charts_carry_the_cis_the_text_cites(story_and_deck, key):
    story, presentation = story_and_deck
    index = next(i for i, s in enumerate(story) if s.key == key)
    spec = story[index].chart
    bars = _error_bars(_chart(presentation.slides[index]))
    assert set(bars) == set(spec.series), key
    for name, (plus, minus) in bars.items():
        for value, interval, up, down in zip(spec.series[name], spec.intervals[name], plus, minus, strict=True):
            assert interval is not None and value is not None
            assert up == pytest.approx(interval[1] - value, abs=1e-9) and down == pytest.approx(value - interval[0], abs=1e-9)
            assert up + down > 0  # a whisker (a rate of 0% has only an upper arm)


def test_the_recovery_chart_draws_the_national_standard_where_it_is(story_and_deck):
    story, presentation = story_and_deck
    index = next(i for i, s in enumerate(story) if s.key == "recovery")
    slide = presentation.slides[index]
    frame = next(s for s in slide.shapes if s.has_chart)
    line = next(s for s in slide.shapes if s.name.startswith("Reference: National standard 50%"))
    x, y, w, h = PLOT_BOX[False]
    expected = frame.top + frame.height * y + frame.height * h * (1 - 50 / 100)
    assert abs(line.begin_y - expected) < Inches(0.02) and line.begin_y == line.end_y
    assert any(s.name.startswith("Reference label") and "50%" in s.text_frame.text for s in slide.shapes)


def test_the_rates_chart_marks_both_national_figures(story_and_deck):
    story, presentation = story_and_deck
    index = next(i for i, s in enumerate(story) if s.key == "rates")
    names = [s.name for s in presentation.slides[index].shapes if s.name.startswith("Reference: ")]
    assert len(names) == 2
    assert "national" in story[index].chart.axis_title


def test_the_balance_slide_says_what_it_shows_and_its_labels_have_room(story_and_deck):
    story, presentation = story_and_deck
    index = next(i for i, s in enumerate(story) if s.key == "who_benefits")
    spec = story[index].chart
    assert spec.kind == "balance" and "benefits" not in story[index].title  # it shows imbalance only
    frame = next(s for s in presentation.slides[index].shapes if s.has_chart)
    plot_width_in = frame.width / Inches(1) * PLOT_BOX[True][2]
    longest = max(abs(v) for v in next(iter(spec.series.values())))
    room_in = (spec.axis_max - longest) / (spec.axis_max - spec.axis_min) * plot_width_in
    size = _chart(presentation.slides[index]).plots[0].data_labels.font.size.pt
    label_in = len(f"−{longest:.2f}") * size * 0.6 / 72  # bold digits, about 0.6 em each
    assert room_in >= label_in, (room_in, label_in)
