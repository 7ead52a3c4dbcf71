"""One look for every chart: a colour-blind-safe palette and projector-sized type.

Okabe & Ito (2008) colours; physical activity is always blue and control always
orange, on every page, export and slide.

Charts download two ways: a PNG from the toolbar's camera button (:func:`chart_config`,
drawn by the visitor's own browser) and an SVG drawn on the server
(:func:`analysis.figures.svg.figure_to_svg`).
"""

from __future__ import annotations

from typing import Final

import plotly.graph_objects as go
import plotly.io as pio

from analysis.schema import GROUP_CONTROL, GROUP_LABELS, GROUP_PA

OKABE_ITO: Final = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
    "grey": "#999999",
}
GROUP_COLOURS: Final = {GROUP_PA: OKABE_ITO["blue"], GROUP_CONTROL: OKABE_ITO["orange"]}
# Text drawn on a group's bar: white on blue, near-black on orange (contrast ≥ 4.5:1 on both).
GROUP_TEXT_COLOURS: Final = {GROUP_PA: "#FFFFFF", GROUP_CONTROL: "#1A1A1A"}
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
    """
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": file_name, "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    }
