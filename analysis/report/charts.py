"""Interactive (plotly) versions of the story's charts, for the offline report and presentation mode.

Recovery and the four rates reuse :mod:`analysis.figures.outcomes` (``rate_chart``,
``rates_chart``: bars with Wilson 95% CI whiskers and the national reference lines); the other
charts are drawn from the slide's :class:`~analysis.report.story.ChartSpec`, so they show the
very values the deck's native chart holds. Values hidden by safe mode are not drawn.
"""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go

from analysis import formatting as fmt
from analysis.figures.outcomes import rate_chart, rates_chart
from analysis.figures.theme import REFERENCE_COLOUR, apply_theme, contrast_ratio
from analysis.outcomes import RATE_DEFINITIONS
from analysis.report.story import ChartSpec, Slide
from analysis.schema import GROUP_LABELS, GROUPS
from analysis.summary import Analysis


def _label(value: float | None, number_format: str) -> str:
    if value is None:
        return ""
    if number_format.endswith('"%"'):
        return f"{value:.0f}%"
    decimals = len(number_format.split(".")[1]) if "." in number_format else 0
    return fmt.number(value, decimals)


def _ink_on(colour: str) -> str:
    """White or near-black, whichever reads better on a bar of ``colour``."""
    return "#FFFFFF" if contrast_ratio("#FFFFFF", colour) >= contrast_ratio("#1A1A1A", colour) else "#1A1A1A"


def _wrap(label: str, width: int = 26) -> str:
    return "<br>".join(textwrap.wrap(label, width)) or label


def spec_figure(spec: ChartSpec, title: str, height: int = 460) -> go.Figure:
    """Grouped bars straight from a chart spec (one colour per series, value labels, gaps for hidden).

    ``spec.horizontal`` draws the bars sideways with the first category at the top, for long
    category labels (as the deck does).
    """
    figure = go.Figure()
    categories = [_wrap(c) for c in spec.categories] if spec.horizontal else list(spec.categories)
    for name, values in spec.series.items():
        positions, lengths = (values, categories) if spec.horizontal else (categories, values)
        intervals = (spec.intervals or {}).get(name)
        whiskers = None
        if intervals:  # the 95% CI the slide's text cites, as whiskers
            whiskers = dict(type="data", symmetric=False, thickness=2, width=8, color="#1a1a1a",
                            array=[ci[1] - v if ci and v is not None else 0 for v, ci in zip(values, intervals, strict=True)],
                            arrayminus=[v - ci[0] if ci and v is not None else 0
                                        for v, ci in zip(values, intervals, strict=True)])
        figure.add_trace(go.Bar(
            error_x=whiskers if spec.horizontal else None, error_y=None if spec.horizontal else whiskers,
            x=list(positions), y=list(lengths), name=name, orientation="h" if spec.horizontal else "v",
            marker_color=spec.colours.get(name, "#999999"),
            text=[_label(v, spec.number_format) for v in values],
            textposition="inside" if intervals else "outside", insidetextanchor="start", cliponaxis=False,
            textfont=dict(size=18, color=_ink_on(spec.colours.get(name, "#999999")) if intervals else "#1a1a1a"),
            hovertext=[f"{name}, {c}: {_label(v, spec.number_format) or 'not shown'}"
                       for c, v in zip(spec.categories, values, strict=True)], hoverinfo="text"))
    value_axis: dict = dict(title=spec.axis_title, zeroline=True, zerolinecolor=REFERENCE_COLOUR, zerolinewidth=2)
    if spec.number_format.endswith('"%"'):
        value_axis["ticksuffix"] = "%"
    if spec.axis_min is not None and spec.axis_max is not None:
        value_axis["range"] = [spec.axis_min, spec.axis_max * (1.12 if spec.axis_max > 0 else 1)]
    if spec.horizontal:
        figure.update_layout(xaxis=value_axis, yaxis=dict(autorange="reversed", automargin=True))
    else:
        figure.update_layout(yaxis=value_axis)
    figure.update_layout(barmode="group", bargap=0.3, showlegend=len(spec.series) > 1)
    return apply_theme(figure, title, height=height)


def slide_figure(slide: Slide, analysis: Analysis, height: int = 460) -> go.Figure | None:
    """The plotly figure for one story slide, or None when the slide has no chart."""
    spec = slide.chart
    if spec is None:
        return None
    hidden_by_category: dict[str, frozenset[str]] = {}
    for series, category in spec.hidden:
        group = next(g for g in GROUPS if GROUP_LABELS[g] == series)
        hidden_by_category[category] = hidden_by_category.get(category, frozenset()) | {group}
    if spec.kind == "recovery":
        figure = rate_chart(analysis.rates["recovery"].groups, slide.title,
                            hidden=hidden_by_category.get("Recovery", frozenset()))
    elif spec.kind == "rates":
        hidden = {key: hidden_by_category.get(definition.label, frozenset())
                  for key, definition in RATE_DEFINITIONS.items()}
        figure = rates_chart(analysis.rates, hidden=hidden)
        figure.update_layout(title_text=slide.title)
    elif spec.kind == "sites" and analysis.sites is not None:  # the forest plot with the pooled diamond
        from analysis.figures.sites import forest_plot

        figure = forest_plot(analysis.sites.rates[slide.meta.get("outcome", "recovery")], slide.meta.get("safe", False))
        figure.update_layout(title_text=slide.title)
    else:
        figure = spec_figure(spec, slide.title, height=height)
    figure.update_layout(height=height)
    return figure


__all__ = ["slide_figure", "spec_figure"]
