"""The chance-of-benefit and value-for-money slides: deck, offline report, presentation mode and `report --cost`."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from analysis.report import build_deck, build_html, build_story
from analysis.summary import analyse
from analysis.validate import load_path
from analysis.value import value_for_money
from tests.conftest import ROOT

SAMPLE = ROOT / "data" / "sample" / "synthetic_pilot_episodes.csv"


@pytest.fixture(scope="module")
def analysis():
    return analyse(load_path(SAMPLE).episodes)


def _slide(slides, key):
    return next(s for s in slides if s.key == key)


def test_chance_slide_says_the_sceptical_chances(analysis):
    slides = build_story(analysis)
    found = analysis.benefit()
    chance = _slide(slides, "chance_of_benefit")
    assert chance.takeaway == found["recovery"].sentence()
    assert any(b.startswith("PHQ-9: 85% chance of any benefit, 1% of 5 points or more") for b in chance.bullets)
    assert chance.chart.categories == ("Recovery", "Reliable improvement", "PHQ-9", "GAD-7")
    any_benefit = chance.chart.series["Any benefit (sceptical prior)"]
    assert any_benefit[0] == pytest.approx(found["recovery"].priors["sceptical"].p_benefit * 100)
    assert "value_for_money" not in [s.key for s in slides]  # no cost given, no cost slide


def test_value_slide_with_the_users_cost_and_mids(analysis):
    extra = {"bayes": {k: r.to_dict() for k, r in analysis.benefit(rate_mid=0.1).items()},
             "value_for_money": value_for_money(analysis.rates, 300, therapy_cost=1000).to_dict()}
    slides = build_story(analysis, extra=extra)
    keys = [s.key for s in slides]
    assert keys.index("rates") < keys.index("chance_of_benefit") < keys.index("value_for_money")
    assert "10 percentage points" in _slide(slides, "chance_of_benefit").takeaway
    value = _slide(slides, "value_for_money")
    assert value.takeaway.startswith("On the point estimate each additional recovery costs about £1,093")
    assert "no upper limit" in value.takeaway
    assert any("Open Government Licence" in b for b in value.bullets)
    assert "No QALYs" in value.notes


def test_safe_story_hides_outcomes_on_small_groups(analysis):
    slides = build_story(analysis, safe=True)
    chance = _slide(slides, "chance_of_benefit")
    series = chance.chart.series["Any benefit (sceptical prior)"]
    assert all(v is not None for v in series)  # recovery, improvement, PHQ-9, GAD-7 all rest on 5+ per group
    small = analyse(load_path(SAMPLE).episodes.head(12))
    hidden_slide = _slide(build_story(small, safe=True), "chance_of_benefit")
    assert "Hidden in presentation-safe mode" in hidden_slide.takeaway
    assert hidden_slide.chart is None or hidden_slide.chart.series["Any benefit (sceptical prior)"][0] is None


def test_deck_and_html_carry_the_slides(analysis):
    extra = {"value_for_money": value_for_money(analysis.rates, 300).to_dict()}
    deck = Presentation(io.BytesIO(build_deck(analysis, extra=extra)))
    titles = [next(s.text_frame.text for s in slide.shapes if s.name == "Title") for slide in deck.slides]
    assert "Chance that physical activity helps" in titles and "What each extra recovery costs" in titles
    chance = deck.slides[titles.index("Chance that physical activity helps")]
    assert any(shape.has_chart for shape in chance.shapes)
    page = build_html(analysis, extra=extra)
    assert "Chance that physical activity helps" in page and "What each extra recovery costs" in page
    assert "£1,093" in page


def test_report_command_takes_the_cost(tmp_path):
    out = tmp_path / "deck.pptx"
    result = subprocess.run([sys.executable, "-m", "analysis", "report", str(SAMPLE), "--output", str(out),
                             "--cost", "300", "--mid-rate", "10"], cwd=ROOT, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    deck = Presentation(str(out))
    texts = ["\n".join(s.text_frame.text for s in slide.shapes if s.has_text_frame) for slide in deck.slides]
    assert any("each additional recovery costs about £1,093" in t for t in texts)
    assert any("10 percentage points" in t for t in texts)


def test_presentation_mode_shows_the_chance_slide_with_the_pages_settings():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["bayes_pa_cost"] = 300.0
    at.query_params["present"] = "true"
    at.run()
    titles = []
    for _ in range(12):
        titles.append(at.title[0].value if at.title else "")
        if "What each extra recovery costs" in titles[-1]:
            break
        nxt = at.button(key="present-next")
        if nxt.disabled:
            break
        nxt.click().run()
        assert not at.exception
    assert any("Chance that physical activity helps" in t for t in titles)
    assert "What each extra recovery costs" in titles[-1]
    shown = "\n".join([m.value for m in at.markdown] + [t.value for t in at.text]).replace("\\", "")
    adjusted = analyse(load_path(SAMPLE).episodes).adjusted_blocks["adjusted"]["rates"]["recovery"]["difference"]
    assert f"£{300 / adjusted['estimate']:,.0f}" in shown  # the adjusted (ATT) difference is preferred
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert not specs  # the value slide has no chart
