"""The story as a PowerPoint deck (python-pptx): 16:9, projector-sized type, native charts.

Every slide has a title (36 pt), its one-sentence takeaway (24 pt) and its figures as text
(20 pt or more). Charts are native PowerPoint clustered column or bar charts (editable, with
their data in the embedded workbook), physical activity in blue #0072B2 and control in orange
#E69F00, data labels on. A hidden (safe-mode) value is left out of the chart — a gap, never a
0 bar — and the text beside it says "hidden (small numbers)".
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

import pandas as pd
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION, XL_TICK_LABEL_POSITION
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from analysis.report.story import ChartSpec, Slide, build_story
from analysis.summary import Analysis

SLIDE_WIDTH: Final = Inches(13.333)
SLIDE_HEIGHT: Final = Inches(7.5)
FONT: Final = "Arial"
TITLE_PT: Final = 36
TAKEAWAY_PT: Final = 24
BODY_PT: Final = 20
CHART_LABEL_PT: Final = 20
CHART_TEXT_PT: Final = 18
INK: Final = RGBColor(0x1A, 0x1A, 0x1A)
ACCENT: Final = RGBColor(0x00, 0x72, 0xB2)
MUTED: Final = RGBColor(0x55, 0x55, 0x55)
MARGIN: Final = Inches(0.6)
BODY_TOP: Final = Inches(2.45)


def _rgb(colour: str) -> RGBColor:
    return RGBColor.from_string(colour.lstrip("#").upper())


def _text_box(slide, left: int, top: int, width: int, height: int, paragraphs: list[str], size: int,
              bold: bool = False, colour: RGBColor = INK, bullets: bool = False,
              anchor: MSO_ANCHOR = MSO_ANCHOR.TOP, shrink: bool = False):
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    # Sized to fit at these point sizes; "shrink on overflow" is a safety net for long file names or filters.
    frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE if shrink else MSO_AUTO_SIZE.NONE
    frame.vertical_anchor = anchor
    frame.margin_left = frame.margin_right = Inches(0.05)
    for i, text in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.alignment = PP_ALIGN.LEFT
        if bullets:
            paragraph.space_after = Pt(6)
        run = paragraph.add_run()
        run.text = ("• " if bullets else "") + text
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.name = FONT
        run.font.color.rgb = colour
    return box


def _add_chart(slide, spec: ChartSpec, left: int, top: int, width: int, height: int):
    data = CategoryChartData(number_format=spec.number_format)
    data.categories = list(spec.categories)
    for name, values in spec.series.items():
        data.add_series(name, list(values))
    kind = XL_CHART_TYPE.BAR_CLUSTERED if spec.horizontal else XL_CHART_TYPE.COLUMN_CLUSTERED
    frame = slide.shapes.add_chart(kind, left, top, width, height, data)
    chart = frame.chart
    chart.font.size = Pt(CHART_TEXT_PT)
    chart.font.name = FONT
    chart.has_title = False
    chart.has_legend = len(spec.series) > 1
    if chart.has_legend:
        chart.legend.position = XL_LEGEND_POSITION.TOP
        chart.legend.include_in_layout = False
        chart.legend.font.size = Pt(CHART_TEXT_PT)
    plot = chart.plots[0]
    plot.gap_width = 60
    plot.overlap = -10
    plot.has_data_labels = True
    labels = plot.data_labels
    labels.number_format = spec.number_format
    labels.number_format_is_linked = False
    labels.position = XL_LABEL_POSITION.OUTSIDE_END
    labels.font.size = Pt(CHART_LABEL_PT if len(spec.categories) * len(spec.series) <= 4 else CHART_TEXT_PT)
    labels.font.bold = True
    for series in plot.series:
        series.format.fill.solid()
        series.format.fill.fore_color.rgb = _rgb(spec.colours.get(series.name, "#999999"))
        series.invert_if_negative = False
    value_axis = chart.value_axis
    value_axis.has_major_gridlines = True
    value_axis.major_gridlines.format.line.color.rgb = RGBColor(0xE5, 0xE5, 0xE5)
    value_axis.tick_labels.font.size = Pt(CHART_TEXT_PT)
    value_axis.tick_labels.number_format = spec.number_format
    value_axis.tick_labels.number_format_is_linked = False
    if spec.axis_min is not None:
        value_axis.minimum_scale = spec.axis_min
    if spec.axis_max is not None:
        value_axis.maximum_scale = spec.axis_max
    value_axis.has_title = True
    value_axis.axis_title.text_frame.text = spec.axis_title
    title_font = value_axis.axis_title.text_frame.paragraphs[0].runs[0].font
    title_font.size = Pt(CHART_TEXT_PT)
    title_font.bold = False
    category_axis = chart.category_axis
    category_axis.tick_labels.font.size = Pt(CHART_TEXT_PT)
    category_axis.format.line.color.rgb = RGBColor(0x99, 0x99, 0x99)
    category_axis.tick_label_position = XL_TICK_LABEL_POSITION.LOW  # labels clear of negative bars
    category_axis.has_major_gridlines = False
    body = category_axis._element.txPr.find(qn("a:bodyPr"))
    body.set("rot", "0")  # horizontal labels that wrap, never slanted
    body.set("vert", "horz")
    if spec.horizontal:
        category_axis.reverse_order = True  # first category at the top, as read
    return frame


def _add_slide(presentation, story_slide: Slide, number: int, total: int) -> None:
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])  # blank
    width = SLIDE_WIDTH - 2 * MARGIN
    bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, SLIDE_WIDTH, Inches(0.12))  # a thin accent bar
    bar.fill.solid()
    bar.fill.fore_color.rgb = ACCENT
    bar.line.fill.background()
    bar.name = "Accent bar"
    _text_box(slide, MARGIN, Inches(0.25), width, Inches(0.8), [story_slide.title], TITLE_PT, bold=True,
              anchor=MSO_ANCHOR.MIDDLE).name = "Title"
    _text_box(slide, MARGIN, Inches(1.05), width, Inches(1.35), [story_slide.takeaway], TAKEAWAY_PT,
              colour=ACCENT, bold=True, shrink=True).name = "Takeaway"
    body_height = SLIDE_HEIGHT - BODY_TOP - Inches(0.5)
    if story_slide.chart is not None:
        chart_width = Inches(6.0)
        frame = _add_chart(slide, story_slide.chart, MARGIN, BODY_TOP, chart_width, body_height)
        frame.name = "Chart"
        text_left = MARGIN + chart_width + Inches(0.3)
        _text_box(slide, text_left, BODY_TOP, SLIDE_WIDTH - text_left - MARGIN, body_height,
                  list(story_slide.bullets), BODY_PT, bullets=True, shrink=True).name = "Figures"
    else:
        _text_box(slide, MARGIN, BODY_TOP, width, body_height, list(story_slide.bullets), BODY_PT,
                  bullets=True, shrink=True).name = "Figures"
    _text_box(slide, SLIDE_WIDTH - MARGIN - Inches(1.6), SLIDE_HEIGHT - Inches(0.5), Inches(1.6), Inches(0.5),
              [f"{number} / {total}"], BODY_PT, colour=MUTED).name = "Slide number"
    notes = "\n".join([story_slide.takeaway, *story_slide.bullets, story_slide.notes]).strip()
    slide.notes_slide.notes_text_frame.text = notes


def deck_from_slides(slides: list[Slide], title: str = "Physical activity in NHS Talking Therapies") -> bytes:
    """A .pptx (bytes) with one slide per story slide."""
    presentation = Presentation()
    presentation.slide_width = Emu(int(SLIDE_WIDTH))
    presentation.slide_height = Emu(int(SLIDE_HEIGHT))
    presentation.core_properties.title = title
    presentation.core_properties.subject = "Outcomes of the physical activity group compared with the control group"
    for number, story_slide in enumerate(slides, start=1):
        _add_slide(presentation, story_slide, number, len(slides))
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


def build_deck(analysis: Analysis, safe: bool = False, filters: Mapping[str, tuple[str, ...]] | None = None,
               source: str | None = None, excluded_rows: tuple[int, ...] = (), *,
               episodes: pd.DataFrame | None = None, synthetic: bool | None = None,
               generated: date | None = None, national_year: str | None = None,
               extra: Mapping[str, Any] | None = None) -> bytes:
    """The story (:func:`analysis.report.story.build_story`) as PowerPoint bytes."""
    slides = build_story(analysis, safe=safe, filters=filters, source=source, excluded_rows=excluded_rows,
                         episodes=episodes, synthetic=synthetic, generated=generated,
                         national_year=national_year, extra=extra)
    return deck_from_slides(slides)


__all__ = ["build_deck", "deck_from_slides"]
