"""The story as a PowerPoint deck (python-pptx): 16:9, projector-sized type, native charts.

Every slide has a title (36 pt) in the layout's title placeholder (so PowerPoint's accessibility
checker and screen readers find it: :func:`titled_slide`), its one-sentence takeaway (24 pt) and its
figures as text (20 pt or more). Charts are native PowerPoint clustered column or bar charts
(editable, with their data in the embedded workbook), physical activity in blue #0072B2 and control
in orange (``theme.CONTROL_ORANGE``), data labels on, with the 95% CIs the text cites as error bars
and the national reference lines drawn over the plot. A hidden (safe-mode) value is left out of the
chart — a gap, never a 0 bar — and the text beside it says "hidden (small numbers)".
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
from pptx.enum.dml import MSO_LINE_DASH_STYLE
from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml import parse_xml
from pptx.oxml.ns import nsdecls, qn
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


# The plot area's inner box as fractions of the chart frame (set explicitly, so reference lines drawn
# over the chart land on the value they mark).
PLOT_BOX: Final = {False: (0.14, 0.16, 0.82, 0.66), True: (0.34, 0.14, 0.60, 0.70)}  # (x, y, w, h) by horizontal
REFERENCE_RGB: Final = RGBColor(0x55, 0x55, 0x55)
ERROR_BAR_RGB: Final = RGBColor(0x1A, 0x1A, 0x1A)


def _manual_plot_layout(chart, box: tuple[float, float, float, float]) -> None:
    """Fix the inner plot area at ``box`` (fractions of the chart frame), as PowerPoint's layout dialog does."""
    plot_area = chart._chartSpace.find(qn("c:chart")).find(qn("c:plotArea"))
    existing = plot_area.find(qn("c:layout"))
    if existing is not None:
        plot_area.remove(existing)
    x, y, w, h = box
    layout = parse_xml(
        f'<c:layout {nsdecls("c")}><c:manualLayout><c:layoutTarget val="inner"/><c:xMode val="edge"/>'
        f'<c:yMode val="edge"/><c:x val="{x}"/><c:y val="{y}"/><c:w val="{w}"/><c:h val="{h}"/>'
        f'</c:manualLayout></c:layout>')
    plot_area.insert(0, layout)


def _num_lit(values: list[float]) -> str:
    points = "".join(f'<c:pt idx="{i}"><c:v>{v:g}</c:v></c:pt>' for i, v in enumerate(values))
    return f'<c:numLit><c:formatCode>General</c:formatCode><c:ptCount val="{len(values)}"/>{points}</c:numLit>'


def _add_error_bars(series, values: tuple[float | None, ...],
                    intervals: tuple[tuple[float, float] | None, ...]) -> None:
    """Custom error bars (the 95% CI) on one series: plus = high − value, minus = value − low, 0 where none."""
    plus = [max(0.0, hi - v) if v is not None and ci else 0.0 for v, ci in zip(values, intervals, strict=True)
            for hi in [ci[1] if ci else 0.0]]
    minus = [max(0.0, v - lo) if v is not None and ci else 0.0 for v, ci in zip(values, intervals, strict=True)
             for lo in [ci[0] if ci else 0.0]]
    colour = str(ERROR_BAR_RGB)
    bars = parse_xml(
        f'<c:errBars {nsdecls("c", "a")}><c:errBarType val="both"/><c:errValType val="cust"/>'
        f'<c:noEndCap val="0"/><c:plus>{_num_lit(plus)}</c:plus><c:minus>{_num_lit(minus)}</c:minus>'
        f'<c:spPr><a:ln w="28575"><a:solidFill><a:srgbClr val="{colour}"/></a:solidFill></a:ln></c:spPr>'
        f'</c:errBars>')
    ser = series._element
    anchor = ser.find(qn("c:cat"))
    anchor.addprevious(bars)  # the schema's order: … dLbls, trendline, errBars, cat, val …


def _add_references(slide, spec: ChartSpec, left: int, top: int, width: int, height: int) -> None:
    """Dashed reference lines over the plot (e.g. the national recovery standard), each labelled."""
    if not spec.references or spec.axis_min is None or spec.axis_max is None:
        return
    x, y, w, h = PLOT_BOX[spec.horizontal]
    plot_left, plot_top = left + int(width * x), top + int(height * y)
    plot_width, plot_height = int(width * w), int(height * h)
    span = spec.axis_max - spec.axis_min
    n = len(spec.categories)
    for category, value, label in spec.references:
        share = (value - spec.axis_min) / span
        band = spec.categories.index(category) if category in spec.categories else None
        if spec.horizontal:  # a vertical segment across the category's band (first category at the top)
            x0 = plot_left + int(plot_width * share)
            y0, y1 = (plot_top, plot_top + plot_height) if band is None else (
                plot_top + int(plot_height * band / n), plot_top + int(plot_height * (band + 1) / n))
            line = slide.shapes.add_connector(MSO_CONNECTOR.STRAIGHT, x0, y0, x0, y1)
            text_left = None  # no room beside a band: the axis title explains the dashed lines
        else:  # a horizontal line across the category's slot (or the whole plot)
            y0 = plot_top + int(plot_height * (1 - share))
            x0, x1 = (plot_left, plot_left + plot_width) if band is None else (
                plot_left + int(plot_width * band / n), plot_left + int(plot_width * (band + 1) / n))
            line = slide.shapes.add_connector(MSO_CONNECTOR.STRAIGHT, x0, y0, x1, y0)
            text_left, text_top = x0 + Inches(0.05), y0 - Inches(0.75)
        line.line.color.rgb = REFERENCE_RGB
        line.line.width = Pt(2.5)
        line.line.dash_style = MSO_LINE_DASH_STYLE.DASH
        line.name = f"Reference: {label}"
        if text_left is None:
            continue
        _text_box(slide, text_left, text_top, Inches(3.2), Inches(0.75), [label], BODY_PT,
                  colour=REFERENCE_RGB).name = f"Reference label: {label}"


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
        if spec.intervals and spec.intervals.get(series.name):
            _add_error_bars(series, spec.series[series.name], spec.intervals[series.name])
    if spec.intervals:
        # Values sit at the bars' base, clear of the whiskers that run to the CI's ends.
        labels.position = XL_LABEL_POSITION.INSIDE_BASE
    _manual_plot_layout(chart, PLOT_BOX[spec.horizontal])
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


TITLE_ONLY_LAYOUT: Final = 5  # the default template's "Title Only" layout: one title placeholder


def titled_slide(presentation, title: str):
    """A new slide whose title is in the layout's title placeholder (36 pt, bold, at the top).

    PowerPoint's accessibility checker and screen readers take a slide's title from its title
    placeholder: a text box that merely looks like a title leaves the slide untitled. Use this for
    every slide; it also draws the thin accent bar above the title.
    """
    slide = presentation.slides.add_slide(presentation.slide_layouts[TITLE_ONLY_LAYOUT])
    placeholder = slide.shapes.title
    placeholder.name = "Title"
    placeholder.left, placeholder.top = MARGIN, Inches(0.25)
    placeholder.width, placeholder.height = SLIDE_WIDTH - 2 * MARGIN, Inches(0.8)
    frame = placeholder.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    frame.auto_size = MSO_AUTO_SIZE.TEXT_TO_FIT_SHAPE
    frame.text = title
    paragraph = frame.paragraphs[0]
    paragraph.alignment = PP_ALIGN.LEFT
    font = paragraph.runs[0].font
    font.size, font.bold, font.name = Pt(TITLE_PT), True, FONT
    font.color.rgb = INK
    bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, SLIDE_WIDTH, Inches(0.12))  # a thin accent bar
    bar.fill.solid()
    bar.fill.fore_color.rgb = ACCENT
    bar.line.fill.background()
    bar.name = "Accent bar"
    return slide


def _add_slide(presentation, story_slide: Slide, number: int, total: int) -> None:
    slide = titled_slide(presentation, story_slide.title)
    width = SLIDE_WIDTH - 2 * MARGIN
    _text_box(slide, MARGIN, Inches(1.05), width, Inches(1.35), [story_slide.takeaway], TAKEAWAY_PT,
              colour=ACCENT, bold=True, shrink=True).name = "Takeaway"
    body_height = SLIDE_HEIGHT - BODY_TOP - Inches(0.5)
    if story_slide.chart is not None:
        chart_width = Inches(6.0)
        frame = _add_chart(slide, story_slide.chart, MARGIN, BODY_TOP, chart_width, body_height)
        frame.name = "Chart"
        _add_references(slide, story_slide.chart, MARGIN, BODY_TOP, chart_width, body_height)
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


__all__ = ["build_deck", "deck_from_slides", "titled_slide"]
