"""One look for every chart: a colour-blind-safe palette and projector-sized type.

Okabe & Ito (2008) colours; physical activity is always blue and control always
orange, on every page, export and slide.

Charts download two ways: a PNG from the toolbar's camera button (:func:`chart_config`,
drawn by the visitor's own browser) and an SVG drawn on the server
(:func:`analysis.figures.svg.figure_to_svg`).
"""

from __future__ import annotations

import re
from typing import Final

import plotly.graph_objects as go
import plotly.io as pio

from analysis.schema import GROUP_CONTROL, GROUP_LABELS, GROUP_PA

OKABE_ITO: Final = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
    "grey": "#999999",
}
# WCAG 2.2 contrast minimums: 3:1 for lines, bars and markers (1.4.11), 4.5:1 for text (1.4.3).
MIN_GRAPHIC_CONTRAST: Final = 3.0
MIN_TEXT_CONTRAST: Final = 4.5
BACKGROUND: Final = "#FFFFFF"
# The control group's orange: Okabe & Ito's #E69F00 is only 2.25:1 on white, too faint for a line or
# marker (WCAG 1.4.11 asks 3:1), so it is darkened along its own hue (3.6:1) and stays orange to
# every colour vision: blue against orange is the pair that survives protanopia, deuteranopia and
# tritanopia alike. Near-black text on it keeps 4.8:1.
CONTROL_ORANGE: Final = "#B97A00"
GROUP_COLOURS: Final = {GROUP_PA: OKABE_ITO["blue"], GROUP_CONTROL: CONTROL_ORANGE}
# Text drawn on a group's bar: white on blue, near-black on orange (contrast ≥ 4.5:1 on both).
GROUP_TEXT_COLOURS: Final = {GROUP_PA: "#FFFFFF", GROUP_CONTROL: "#1A1A1A"}
# Text written *in* a group's colour on white (panel titles, labels beside a mark): ≥ 4.5:1.
GROUP_INK: Final = {GROUP_PA: OKABE_ITO["blue"], GROUP_CONTROL: "#8A5700"}
GROUP_ORDER: Final = [GROUP_PA, GROUP_CONTROL]
GROUP_NAMES: Final = [GROUP_LABELS[g] for g in GROUP_ORDER]
REFERENCE_COLOUR: Final = "#555555"
# Outcome categories: ordered from best to worst, colour-blind-safe sequence.
# Neither group colour is used, so a category is never mistaken for a group.
CATEGORY_COLOURS: Final = [OKABE_ITO["bluish_green"], "#A6DBC8", OKABE_ITO["reddish_purple"],
                           OKABE_ITO["grey"], "#882255", "#DDDDDD"]
FONT_SIZE: Final = 18
TEMPLATE_NAME: Final = "pa_talking_therapies"


def _template() -> go.layout.Template:
    template = go.layout.Template(pio.templates["plotly_white"])
    template.layout.font = dict(family="Arial, Helvetica, sans-serif", size=FONT_SIZE, color="#1a1a1a")
    template.layout.title = dict(font=dict(size=FONT_SIZE + 4), x=0, xanchor="left")
    template.layout.colorway = [GROUP_COLOURS[GROUP_PA], GROUP_COLOURS[GROUP_CONTROL],
                                *[c for k, c in OKABE_ITO.items() if k not in ("blue", "orange", "black")]]
    template.layout.margin = dict(l=70, r=30, t=70, b=60)
    template.layout.legend = dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0,
                                  font=dict(size=FONT_SIZE))
    template.layout.xaxis = dict(title=dict(font=dict(size=FONT_SIZE)), tickfont=dict(size=FONT_SIZE - 2),
                                 gridcolor="#e5e5e5", zerolinecolor="#999999")
    template.layout.yaxis = dict(title=dict(font=dict(size=FONT_SIZE)), tickfont=dict(size=FONT_SIZE - 2),
                                 gridcolor="#e5e5e5", zerolinecolor="#999999")
    template.layout.hoverlabel = dict(font=dict(size=FONT_SIZE - 2))
    return template


pio.templates[TEMPLATE_NAME] = _template()


def apply_theme(figure: go.Figure, title: str | None = None, height: int = 460) -> go.Figure:
    """Give a figure the project template (and a title and height)."""
    figure.update_layout(template=TEMPLATE_NAME, height=height)
    if title:
        figure.update_layout(title_text=title)
    return figure


def chart_config(file_name: str) -> dict:
    """Plotly config: download as PNG from the chart's toolbar with a meaningful file name.

    The toolbar's camera button saves ``<file_name>.png`` (at twice the size shown). The SVG
    variant is not a toolbar button (Streamlit passes no JavaScript to plotly's toolbar): the
    dashboard draws it on the server with :func:`analysis.figures.svg.figure_to_svg` behind a "Download SVG" button.

    The toolbar holds that one button (:data:`MODEBAR_BUTTONS`): plotly's default eight (zoom, pan,
    autoscale, …) were eight more keyboard tab stops per chart, and tools no reader of these
    charts needs.
    """
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": file_name, "scale": 2},
        "modeBarButtons": [list(MODEBAR_BUTTONS)],
    }


MODEBAR_BUTTONS: Final = ("toImage",)


def relative_luminance(colour: str) -> float:
    """WCAG 2.2 relative luminance of an ``#RRGGBB`` colour (sRGB, 0 = black, 1 = white)."""
    value = colour.lstrip("#")
    channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str = BACKGROUND) -> float:
    """WCAG 2.2 contrast ratio (L1 + 0.05) / (L2 + 0.05), from 1:1 to 21:1."""
    high, low = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# --- fitting a chart's text to the page --------------------------------------------------------------
#
# Plotly neither wraps titles nor keeps a legend clear of the title: a long axis title is cut at the
# chart's edge ("…physical activit") and a legend that wraps onto a second row grows up into the
# title. ``fit_layout`` wraps titles, axis titles and legend entries to widths that fit the narrowest
# chart a page draws (a half-width column at 1280 px), stacks title, legend and panel titles in the
# top margin at fixed pixel offsets, and sizes that margin to hold them.

NARROWEST_CHART_PX: Final = 520
CHAR_PX: Final = 0.56  # average glyph width of Arial, in ems
# A title is left-aligned over the whole chart and the toolbar sits at its right end: it may use
# about 700 px of a full-width chart (880 px at 1280) before meeting the toolbar.
TITLE_WIDTH_PX: Final = 700
TITLE_CHARS: Final = int(TITLE_WIDTH_PX / (CHAR_PX * (FONT_SIZE + 4)))  # 56 at 22 px
AXIS_TITLE_CHARS: Final = int(NARROWEST_CHART_PX / (CHAR_PX * FONT_SIZE))  # 51 at 18 px
LEGEND_ENTRY_CHARS: Final = 44
LINE_HEIGHT: Final = 1.3
SUP_SCALE: Final = 0.7  # plotly draws <sup> text at 70% of the font size
_TOP_PAD: Final = 8


def wrap_text(text: str, width: int) -> str:
    """``text`` wrapped at ``width`` characters with ``<br>``; existing ``<br>`` breaks are kept."""
    import textwrap

    if not text:
        return text
    # A subtitle broken by hand is joined up and wrapped afresh, one <sup> per line.
    text = re.sub(r"<sup>(.*?)</sup>", lambda m: "<sup>" + re.sub(r"<br\s*/?>", " ", m.group(1)) + "</sup>",
                  text, flags=re.S)
    lines = []
    for part in re.split(r"<br\s*/?>", text):
        sup = re.fullmatch(r"<sup>(.*)</sup>", part)
        if sup:  # a subtitle, drawn at about 70% size: more characters fit a line
            lines.extend(f"<sup>{line}</sup>" for line in textwrap.wrap(sup.group(1), int(width / SUP_SCALE),
                                                                         break_on_hyphens=False))
        elif "<" in part:  # other markup is left whole
            lines.append(part)
        else:
            lines.extend(textwrap.wrap(part, width, break_on_hyphens=False) or [""])
    return "<br>".join(lines)


def text_lines(text: str | None) -> list[str]:
    """The lines of a plotly text (split at ``<br>``), markup removed."""
    if not text:
        return []
    return [re.sub(r"<[^>]+>", "", line) for line in re.split(r"<br\s*/?>", text)]


def _font_size(font: object, default: float) -> float:
    size = getattr(font, "size", None)
    return float(size) if size else default


def legend_rows(figure: go.Figure, width_px: float = NARROWEST_CHART_PX) -> int:
    """Rows a horizontal legend takes at ``width_px`` (entries packed left to right), 0 when none."""
    layout = figure.layout
    if layout.showlegend is False:
        return 0
    names = [t.name for t in figure.data if t.name and t.showlegend is not False]
    if len(names) < 2 and layout.showlegend is not True:
        return 0
    if not names:
        return 0
    size = _font_size(layout.legend.font, FONT_SIZE)
    rows: list[int] = []  # lines in each row
    used = 0.0
    for name in names:
        lines = text_lines(name)
        entry = 48 + max(len(line) for line in lines) * CHAR_PX * size
        if not rows or used + entry > width_px:
            rows.append(len(lines))
            used = 0.0
        rows[-1] = max(rows[-1], len(lines))
        used += entry
    return sum(rows)


def _top_panel_titles(figure: go.Figure) -> bool:
    """Whether annotations sit on top of the plot area (panel titles at paper y ≥ 1)."""
    return any(a.yref == "paper" and a.y is not None and a.y >= 1 and a.yanchor == "bottom"
               for a in figure.layout.annotations)


def fit_layout(figure: go.Figure) -> go.Figure:
    """Wrap the title, axis titles and legend entries, and stack title, legend and panel titles.

    Idempotent. The title keeps the top of the chart; a horizontal legend above the plot is placed
    just under it (container coordinates, so plotly cannot push it into the title); panel titles sit
    under that; the top margin holds all three. A vertical legend, or one placed below the plot, is
    left where its builder put it. Returns the figure.
    """
    layout = figure.layout
    height = float(layout.height or 460)
    title_size = _font_size(layout.title.font, FONT_SIZE + 4)
    title = layout.title.text
    title_px = 0.0
    if title:
        title = wrap_text(title, TITLE_CHARS)
        lines = text_lines(title)
        sup = title.count("<sup>")
        title_px = (len(lines) - sup) * title_size * LINE_HEIGHT + sup * title_size * 0.8 * LINE_HEIGHT
        figure.update_layout(title=dict(text=title, yref="container", y=1, yanchor="top",
                                        pad=dict(t=_TOP_PAD, b=0), automargin=False))
    for trace in figure.data:
        if trace.name and len(trace.name) > LEGEND_ENTRY_CHARS and "<br>" not in trace.name:
            trace.name = wrap_text(trace.name, LEGEND_ENTRY_CHARS)
    for axis_name in [k for k in layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]:
        axis = layout[axis_name]
        text = axis.title.text
        if text:
            # A y axis title runs along the plot's height, which is shorter than its width.
            chars = AXIS_TITLE_CHARS if axis_name.startswith("x") else max(24, int((height - 120) / (CHAR_PX * FONT_SIZE)))
            axis.title.text = wrap_text(text, chars)
            if "<br>" in axis.title.text:
                # A title over several lines must push the margin, or its first line sits on the tick labels.
                axis.automargin = True
                axis.title.standoff = 12
    top = _TOP_PAD + title_px + (_TOP_PAD if title else 0)
    legend = layout.legend
    orientation = legend.orientation or "h"  # the template's legend is horizontal, above the plot
    horizontal_on_top = orientation == "h" and (legend.y is None or legend.y >= 1 or legend.yref == "container")
    rows = legend_rows(figure) if horizontal_on_top else 0
    if rows:
        legend_size = _font_size(legend.font, FONT_SIZE)
        figure.update_layout(legend=dict(yref="container", y=1 - top / height, yanchor="top", x=0, xanchor="left"))
        top += rows * legend_size * 1.6
    if _top_panel_titles(figure):
        top += FONT_SIZE * LINE_HEIGHT + 4
    top += 16
    current = layout.margin.t if layout.margin.t is not None else 70
    figure.update_layout(margin=dict(t=max(int(round(top)), int(current)) if not title and not rows else int(round(top))))
    return figure
