"""The story and the PowerPoint deck: opened with python-pptx and checked against the analysis.

Expected figures come from the analysis itself (``Analysis.to_dict`` and, for safe mode,
``make_summary_safe`` of it — what ``python -m analysis summarize --safe`` prints), never typed in,
except the published sample values the brief names (63.2% vs 35.7% recovery; reliable
deterioration 0 of 19 vs 1 of 19, both hidden in safe mode).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from PIL import ImageFont
from pptx import Presentation
from pptx.util import Emu

from analysis.disclosure import make_summary_safe
from analysis.outcomes import RATE_DEFINITIONS
from analysis.report import build_deck, build_story, report_file_name, write_report
from analysis.report.story import HIDDEN
from analysis.schema import GROUP_CONTROL, GROUP_LABELS, GROUP_PA, GROUPS
from analysis.summary import analyse

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "synthetic_pilot_episodes.csv"
DAY = date(2025, 3, 14)
PA, CONTROL = GROUP_LABELS[GROUP_PA], GROUP_LABELS[GROUP_CONTROL]
TITLES = ["Physical activity in NHS Talking Therapies", "Recovery: physical activity vs control",
          "After accounting for who took part",
          "Symptom change: PHQ-9 and GAD-7", "Recovery and reliable change", "Against national figures",
          "Chance that physical activity helps",
          "Who took part: the groups at the start", "What services told us", "Methods and caveats"]
CHART_SLIDES = {"Recovery: physical activity vs control", "After accounting for who took part",
                "Symptom change: PHQ-9 and GAD-7",
                "Recovery and reliable change", "Chance that physical activity helps", "Who took part: the groups at the start",
                "What services told us"}


def open_deck(data: bytes):
    return Presentation(io.BytesIO(data))


def shape(slide, name: str):
    return next(s for s in slide.shapes if s.name == name)


def text_of(slide, name: str) -> str:
    return shape(slide, name).text_frame.text


def chart_of(slide):
    charts = [s for s in slide.shapes if s.has_chart]
    assert len(charts) == 1, f"expected one native chart on {text_of(slide, 'Title')!r}"
    return charts[0].chart


def series_values(chart) -> dict[str, tuple]:
    return {series.name: tuple(series.values) for series in chart.plots[0].series}


def slide_titled(presentation, title: str):
    return next(s for s in presentation.slides if text_of(s, "Title") == title)


@pytest.fixture(scope="module")
def deck(sample_analysis, sample_episodes):
    return open_deck(build_deck(sample_analysis, episodes=sample_episodes, generated=DAY))


@pytest.fixture(scope="module")
def safe_deck(sample_analysis, sample_episodes):
    return open_deck(build_deck(sample_analysis, safe=True, episodes=sample_episodes, generated=DAY))


@pytest.fixture(scope="module")
def safe_summary(sample_analysis):
    return make_summary_safe(sample_analysis.to_dict())


# --- shape of the deck -------------------------------------------------------------------------


def test_deck_is_16_9_with_the_story_titles_in_order(deck, sample_analysis, sample_episodes):
    assert abs(Emu(deck.slide_width).inches - 13.333) < 0.01 and abs(Emu(deck.slide_height).inches - 7.5) < 0.01
    story = build_story(sample_analysis, episodes=sample_episodes, generated=DAY)
    assert [text_of(s, "Title") for s in deck.slides] == [slide.title for slide in story] == TITLES
    assert [text_of(s, "Takeaway") for s in deck.slides] == [slide.takeaway for slide in story]


def test_chart_slides_have_native_charts_and_the_others_none(deck):
    for slide in deck.slides:
        title = text_of(slide, "Title")
        has_chart = any(s.has_chart for s in slide.shapes)
        assert has_chart == (title in CHART_SLIDES), title


def test_type_is_projector_sized(deck, safe_deck):
    for presentation in (deck, safe_deck):
        for slide in presentation.slides:
            for s in slide.shapes:
                if not s.has_text_frame or not s.text_frame.text:
                    continue  # the accent bar is a shape without text
                sizes = [run.font.size.pt for p in s.text_frame.paragraphs for run in p.runs]
                minimum = 36 if s.name == "Title" else 20
                assert sizes and min(sizes) >= minimum, (s.name, sizes)


def _font(bold: bool, size: float):
    """Arial-metric font for a fit estimate: Liberation Sans where installed, else Pillow's own."""
    name = "LiberationSans-Bold.ttf" if bold else "LiberationSans-Regular.ttf"
    path = Path("/usr/share/fonts/truetype/liberation") / name
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size)


def _lines(text: str, font, width: float) -> int:
    lines, current = 1, ""
    for word in text.split(" "):
        trial = f"{current} {word}".strip()
        if font.getlength(trial) <= width:
            current = trial
        else:
            lines, current = lines + 1, word
    return lines


def test_every_text_box_fits_at_its_size(deck, safe_deck):
    """Estimated with Arial metrics and 1.2 line spacing: no box needs PowerPoint's shrink-on-overflow."""
    for presentation in (deck, safe_deck):
        for slide in presentation.slides:
            for s in slide.shapes:
                if not s.has_text_frame or not s.text_frame.text:
                    continue
                frame = s.text_frame
                width = Emu(s.width).pt - Emu(frame.margin_left).pt - Emu(frame.margin_right).pt
                height = Emu(s.height).pt - Emu(frame.margin_top).pt - Emu(frame.margin_bottom).pt
                used = 0.0
                for paragraph in frame.paragraphs:
                    run = paragraph.runs[0]
                    size = run.font.size.pt
                    used += _lines(paragraph.text, _font(bool(run.font.bold), size), width) * size * 1.2
                    used += paragraph.space_after.pt if paragraph.space_after is not None else 0
                assert used <= height, (text_of(slide, "Title"), s.name, round(used), round(height))


def test_every_slide_has_speaker_notes_with_its_takeaway(deck):
    for slide in deck.slides:
        assert text_of(slide, "Takeaway") in slide.notes_slide.notes_text_frame.text


# --- the numbers ------------------------------------------------------------------------------


def test_recovery_slide_matches_the_analysis(deck, sample_analysis):
    slide = slide_titled(deck, "Recovery: physical activity vs control")
    chart = chart_of(slide)
    assert list(chart.plots[0].categories) == ["Recovery"]
    assert series_values(chart) == {PA: (63.2,), CONTROL: (35.7,)}
    recovery = sample_analysis.rates["recovery"]
    assert series_values(chart)[PA][0] == round(recovery.groups[GROUP_PA].rate * 100, 1)
    assert text_of(slide, "Takeaway") == sample_analysis.recovery_verdict()
    figures = text_of(slide, "Figures")
    assert "Physical activity: 63% recovered (12 of 19; 95% CI 41% to 81%)" in figures
    assert "Control: 36% recovered (5 of 14; 95% CI 16% to 61%)" in figures
    assert "Fisher's exact p = 0.17" in figures and "National recovery standard 50%" in figures


def test_charts_use_the_group_colours_and_show_data_labels(deck):
    for title in ("Recovery: physical activity vs control", "Recovery and reliable change",
                  "Symptom change: PHQ-9 and GAD-7"):
        plot = chart_of(slide_titled(deck, title)).plots[0]
        assert plot.has_data_labels
        colours = {s.name: str(s.format.fill.fore_color.rgb) for s in plot.series}
        assert colours == {PA: "0072B2", CONTROL: "B97A00"}


def test_rates_slide_matches_the_analysis(deck, sample_analysis):
    slide = slide_titled(deck, "Recovery and reliable change")
    chart = chart_of(slide)
    assert list(chart.plots[0].categories) == [d.label for d in RATE_DEFINITIONS.values()]
    expected = {GROUP_LABELS[g]: tuple(round(sample_analysis.rates[k].groups[g].rate * 100, 1)
                                       for k in RATE_DEFINITIONS) for g in GROUPS}
    assert series_values(chart) == expected
    assert expected[PA][-1] == 0.0  # 0 of 19 deteriorated: a real 0%, drawn as such outside safe mode
    figures = text_of(slide, "Figures")
    for comparison in sample_analysis.rates.values():
        pa, control = comparison.groups[GROUP_PA], comparison.groups[GROUP_CONTROL]
        assert f"({pa.count} of {pa.denominator})" in figures
        assert f"({control.count} of {control.denominator})" in figures


def test_symptom_change_slide_matches_the_analysis(deck, sample_analysis):
    slide = slide_titled(deck, "Symptom change: PHQ-9 and GAD-7")
    chart = chart_of(slide)
    assert list(chart.plots[0].categories) == ["PHQ-9", "GAD-7"]
    expected = {GROUP_LABELS[g]: tuple(round(sample_analysis.measures[k].descriptives[g].mean_change, 1)
                                       for k in ("phq9", "gad7")) for g in GROUPS}
    assert series_values(chart) == expected
    figures = text_of(slide, "Figures")
    assert "PHQ-9 adjusted difference (ANCOVA): −2.1 points (95% CI −5.6 to 1.3), p = 0.22" in figures
    assert "GAD-7 adjusted difference (ANCOVA): −2.8 points" in figures
    notes = slide.notes_slide.notes_text_frame.text
    assert sample_analysis.measure_verdict("phq9") in notes and sample_analysis.measure_verdict("gad7") in notes


def test_balance_and_survey_slides(deck, sample_analysis, sample_episodes):
    from analysis.compare import SUBGROUP_CAUTION, baseline_balance
    from analysis.survey import headline

    balance = slide_titled(deck, "Who took part: the groups at the start")
    table = baseline_balance(sample_episodes, sample_analysis.flags).dropna(subset=["smd"])
    largest = table.loc[table["smd"].abs().idxmax()]
    values = series_values(chart_of(balance))
    (smds,) = values.values()
    assert smds[0] == round(float(largest["smd"]), 2)
    assert SUBGROUP_CAUTION in text_of(balance, "Figures")
    assert f"on {int(table['imbalanced'].sum())} of the {len(table)} baseline" in text_of(balance, "Takeaway")
    survey = slide_titled(deck, "What services told us")
    h = headline()
    assert text_of(survey, "Takeaway") == h.sentence
    assert series_values(chart_of(survey)) == {"Respondents (%)": (h.staff_very_important_pct,
                                                                   h.staff_satisfied_pct, h.service_users_agree_pct)}


def test_title_and_methods_slides_describe_the_data(sample_analysis, sample_episodes):
    filters = {"gender": ("Female", "Male")}
    presentation = open_deck(build_deck(sample_analysis, filters=filters, source="pilot <export>.csv",
                                        excluded_rows=(4, 9), episodes=sample_episodes, generated=DAY,
                                        synthetic=False))
    title = text_of(presentation.slides[0], "Figures")
    assert "Data: pilot <export>.csv" in title  # user text, literally
    assert "Generated: 14 March 2025" in title
    assert "Filters: Gender = Female, Male" in title  # the one label of the column (schema.column_label)
    assert "Presentation-safe numbers: off" in title
    assert "excluded at your request: 2 (file rows 4, 9)" in title
    assert "physical activity 19, control 19" in title
    methods = text_of(presentation.slides[-1], "Figures")
    assert "Small sample" in methods and "Self-selected" in methods and "Synthetic data" not in methods
    sample_methods = text_of(open_deck(build_deck(sample_analysis, generated=DAY)).slides[-1], "Figures")
    assert "Synthetic data" in sample_methods  # detected from the sample's file name


# --- safe mode --------------------------------------------------------------------------------


def test_safe_deck_equals_the_safe_summary(safe_deck, safe_summary):
    title = text_of(safe_deck.slides[0], "Figures")
    participants = safe_summary["participants"]
    assert f"physical activity {participants[GROUP_PA]}, control {participants[GROUP_CONTROL]}" in title
    assert "Presentation-safe numbers: on" in title
    recovery = slide_titled(safe_deck, "Recovery: physical activity vs control")
    block = safe_summary["rates"]["recovery"]
    figures = text_of(recovery, "Figures")
    for group in GROUPS:
        assert f"({block[group]['count']} of {block[group]['denominator']};" in figures
    assert "(12 of 19" not in figures and "(5 of 14" not in figures  # exact counts never shown
    assert series_values(chart_of(recovery)) == {GROUP_LABELS[g]: (round(block[g]["rate"] * 100, 1),) for g in GROUPS}
    takeaway = text_of(recovery, "Takeaway")
    assert "35 people at caseness" in takeaway and "33" not in takeaway


def test_safe_deck_hides_small_numbers_without_drawing_zero_bars(safe_deck, safe_summary, deck):
    slide = slide_titled(safe_deck, "Recovery and reliable change")
    values = series_values(chart_of(slide))
    deterioration = safe_summary["rates"]["reliable_deterioration"]
    assert deterioration[GROUP_PA]["rate"] is None and deterioration[GROUP_CONTROL]["rate"] is None  # 0/19, 1/19
    assert values[PA][-1] is None and values[CONTROL][-1] is None  # a gap, not a 0 bar
    assert values[PA][:3] == tuple(round(safe_summary["rates"][k][GROUP_PA]["rate"] * 100, 1)
                                   for k in list(RATE_DEFINITIONS)[:3])
    figures = text_of(slide, "Figures")
    assert f"Reliable deterioration: {HIDDEN}" in figures
    assert "(1 of 19)" not in figures and "(0 of 19)" not in figures
    for key in list(RATE_DEFINITIONS)[:3]:
        for group in GROUPS:
            block = safe_summary["rates"][key][group]
            assert f"({block['count']} of {block['denominator']})" in figures
    assert "(1 of 19)" in text_of(slide_titled(deck, "Recovery and reliable change"), "Figures")


def test_safe_deck_counts_are_rounded_everywhere(safe_deck):
    """Every 'N of M' and 'N people' in the safe deck is a multiple of 5 or 'fewer than 5'."""
    import re

    for slide in safe_deck.slides:
        if text_of(slide, "Title") == "What services told us":
            continue  # published survey percentages and respondent counts, not participant data
        for s in slide.shapes:
            if s.has_text_frame:
                for count in re.findall(r"\((\d+) of (\d+)", s.text_frame.text):
                    assert all(int(c) % 5 == 0 for c in count), (s.text_frame.text, count)
                for count in re.findall(r"(\d+) people", s.text_frame.text):
                    assert int(count) % 5 == 0, s.text_frame.text


def test_a_filter_that_empties_a_group_still_builds(sample_episodes):
    only_pa = sample_episodes[sample_episodes["group"] == GROUP_PA]
    analysis = analyse(only_pa, source="synthetic_pilot_episodes.csv")
    for safe in (False, True):
        presentation = open_deck(build_deck(analysis, safe=safe, episodes=only_pa, generated=DAY))
        assert [text_of(s, "Title") for s in presentation.slides] == TITLES
        recovery = slide_titled(presentation, "Recovery: physical activity vs control")
        assert series_values(chart_of(recovery))[CONTROL] == (None,)
        assert "Control: not available (no one in the denominator)" in text_of(recovery, "Figures")
        assert text_of(recovery, "Takeaway").startswith("Recovery cannot be compared")
        balance = slide_titled(presentation, "Who took part: the groups at the start")
        assert "cannot be shown" in text_of(balance, "Takeaway")


# --- writing files and the CLI ------------------------------------------------------------------


def test_write_report_chooses_by_suffix(tmp_path, sample_analysis):
    deck_path = write_report(sample_analysis, tmp_path / "deck.PPTX")
    assert len(open_deck(deck_path.read_bytes()).slides) == len(TITLES)
    html_path = write_report(sample_analysis, tmp_path / "report.html", safe=True)
    assert "Plotly.newPlot" in html_path.read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=r"must end in \.pptx .* or \.html"):
        write_report(sample_analysis, tmp_path / "report.pdf")
    assert not (tmp_path / "report.pdf").exists()


def test_report_file_names_say_what_they_are():
    assert report_file_name("ignored", ".pptx", synthetic=True, day=DAY) == \
        "pa-talking-therapies-synthetic-sample-2025-03-14.pptx"
    assert report_file_name("Pilot Q3 (final).xlsx", "html", safe=True, day=DAY) == \
        "pa-talking-therapies-pilot-q3-final-2025-03-14-safe.html"
    assert report_file_name("../../<x>.csv", ".pptx", day=DAY) == "pa-talking-therapies-x-2025-03-14.pptx"
    assert report_file_name("", ".pptx", day=DAY) == "pa-talking-therapies-data-2025-03-14.pptx"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_cli_writes_the_deck_and_the_report(tmp_path):
    deck_path, html_path = tmp_path / "deck.pptx", tmp_path / "report.html"
    result = run_cli("report", str(SAMPLE), "--output", str(deck_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {deck_path}"
    presentation = open_deck(deck_path.read_bytes())
    assert [text_of(s, "Title") for s in presentation.slides] == TITLES
    recovery = chart_of(slide_titled(presentation, "Recovery: physical activity vs control"))
    assert series_values(recovery) == {PA: (63.2,), CONTROL: (35.7,)}
    balance = slide_titled(presentation, "Who took part: the groups at the start")
    assert any(s.has_chart for s in balance.shapes)  # the CLI passes the episodes through
    result = run_cli("report", str(SAMPLE), "--output", str(html_path))
    assert result.returncode == 0, result.stderr
    html = html_path.read_text(encoding="utf-8")
    assert '<script src="http' not in html and "Plotly.newPlot" in html and "63%" in html


def test_cli_safe_deck_matches_the_cli_safe_json(tmp_path):
    deck_path = tmp_path / "safe.pptx"
    assert run_cli("report", str(SAMPLE), "--output", str(deck_path), "--safe").returncode == 0
    summary = json.loads(run_cli("summarize", str(SAMPLE), "--safe").stdout)
    presentation = open_deck(deck_path.read_bytes())
    rates = slide_titled(presentation, "Recovery and reliable change")
    values = series_values(chart_of(rates))
    for i, key in enumerate(RATE_DEFINITIONS):
        for group in GROUPS:
            rate = summary["rates"][key][group]["rate"]
            assert values[GROUP_LABELS[group]][i] == (None if rate is None else round(rate * 100, 1))
    title = text_of(presentation.slides[0], "Figures")
    assert f"physical activity {summary['participants'][GROUP_PA]}, control {summary['participants'][GROUP_CONTROL]}" \
        in title


def test_cli_bad_suffix_exits_2_with_a_clear_message(tmp_path):
    result = run_cli("report", str(SAMPLE), "--output", str(tmp_path / "deck.pdf"))
    assert result.returncode == 2
    assert "must end in .pptx" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "deck.pdf").exists()


def test_deck_builds_fast(sample_analysis, sample_episodes):
    import time

    start = time.perf_counter()
    build_deck(sample_analysis, episodes=sample_episodes)
    assert time.perf_counter() - start < 2.0

