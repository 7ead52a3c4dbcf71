"""The "Against national figures" slide in the deck and the section in the offline HTML report."""

from __future__ import annotations

import io

from pptx import Presentation

from analysis import national
from analysis.report import build_deck, build_html
from analysis.report.national_slide import national_slide
from analysis.summary import analyse


def _text(slide) -> str:
    return "\n".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)


def test_deck_slide_names_the_year_and_carries_the_attribution(sample_analysis, sample_episodes):
    deck = Presentation(io.BytesIO(build_deck(sample_analysis, episodes=sample_episodes)))
    slide = next(s for s in deck.slides if "Against national figures" in _text(s))
    text = _text(slide)
    assert "England recovered 50.5% in 2024-25" in text
    assert "England 2024-25: recovery 50.5%; reliable improvement 67.5%" in text
    assert "physical activity 63%, within the 95% limits" in text
    assert "Case-mix expected recovery by problem descriptor" in text and "O/E 1.27" in text
    assert national.ATTRIBUTION in text
    assert national.ATTRIBUTION in slide.notes_slide.notes_text_frame.text


def test_html_report_has_the_national_section(sample_analysis, sample_episodes):
    page = build_html(sample_analysis, episodes=sample_episodes)
    assert 'id="national"' in page
    assert "Against national figures" in page
    assert "Contains public sector information licensed under the Open Government Licence v3.0." in page
    assert "NHS Talking Therapies for anxiety and depression annual reports" in page


def test_slide_for_another_year_and_without_episodes(sample_analysis):
    slide = national_slide(sample_analysis, sample_analysis.to_dict(), safe=False, episodes=None, year="2019-20")
    assert slide.takeaway.startswith("England recovered 51.1% in 2019-20")
    assert any("need the participant-level data" in b for b in slide.bullets)


def test_safe_mode_hides_a_small_group(sample_episodes):
    from analysis.disclosure import make_summary_safe

    men = sample_episodes[sample_episodes["gender"] == "Male"]
    analysis = analyse(men)
    slide = national_slide(analysis, make_summary_safe(analysis.to_dict()), safe=True, episodes=men)
    funnel = next(b for b in slide.bullets if b.startswith("On the providers' recovery funnel"))
    hidden_groups = [g for g, (count, denominator) in
                     {g: (r.count, r.denominator) for g, r in analysis.rates["recovery"].groups.items()}.items()
                     if count < 5 or denominator < 5]
    assert hidden_groups  # the test needs a small group
    assert "hidden (small numbers)" in funnel


def test_deck_and_report_follow_the_chosen_year(sample_analysis, sample_episodes):
    deck = Presentation(io.BytesIO(build_deck(sample_analysis, episodes=sample_episodes, national_year="2023-24")))
    slide = next(s for s in deck.slides if "Against national figures" in _text(s))
    assert "England recovered 50.1% in 2023-24" in _text(slide)
    assert "England recovered 50.1% in 2023-24" in build_html(sample_analysis, episodes=sample_episodes,
                                                                national_year="2023-24")
