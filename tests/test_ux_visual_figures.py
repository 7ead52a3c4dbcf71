"""Charts fit their text (issue 18, item 7): no legend over the title, no axis title cut at the chart's
edge, no whisker through a bar's value, titles clear of the toolbar.

Checked on the figure objects every page really sends (AppTest: each ``plotly_chart``'s spec, after
``dashboard.ui.chart`` fitted it) and on ``theme.fit_layout`` directly.
"""

from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest

from analysis.figures import theme
from analysis.figures.outcomes import rate_chart, rates_chart
from tests.apptest_support import open_page, survey_all_open

CHART_PAGES = ["pages/overview.py", "pages/symptom_change.py", "pages/recovery.py", "pages/who_benefits.py",
               "pages/survey.py", "pages/planning.py"]


def _lines(text: str | None) -> list[str]:
    return theme.text_lines(text)


def assert_fitted(figure: go.Figure) -> None:
    """The layout rules ``theme.fit_layout`` guarantees, checked on a figure as sent to the browser."""
    layout = figure.layout
    name = " ".join(_lines(layout.title.text)) or "(untitled)"
    height = float(layout.height or 460)
    title_px = 0.0
    if layout.title.text:
        lines = _lines(layout.title.text)
        for line in _lines(layout.title.text.replace("<sup>", "<sup>\0")):
            limit = theme.TITLE_CHARS / theme.SUP_SCALE if line.startswith("\0") else theme.TITLE_CHARS
            assert len(line.lstrip("\0")) <= limit, (name, line)  # a subtitle (marked \0) is drawn smaller
        # Anchored to the top of the chart, where neither the legend nor plotly's margin pushing can move it.
        assert (layout.title.yref, layout.title.y, layout.title.yanchor) == ("container", 1, "top"), name
        size = layout.title.font.size or theme.FONT_SIZE + 4
        title_px = len(lines) * size * theme.LINE_HEIGHT * 0.8  # at least this tall, even with a <sup> line
    for key in [k for k in layout.to_plotly_json() if k.startswith("xaxis")]:
        lines = _lines(layout[key].title.text)
        assert all(len(line) <= theme.AXIS_TITLE_CHARS for line in lines), (name, key, lines)
    for trace in figure.data:
        if trace.name and trace.showlegend is not False:
            assert all(len(line) <= theme.LEGEND_ENTRY_CHARS for line in _lines(trace.name)), (name, trace.name)
        if trace.type == "bar" and trace.error_y and trace.error_y.visible is not False and trace.error_y.array:
            # A value written inside a bar has the whisker running through it.
            assert trace.textposition in ("none", "outside") or not trace.text, (name, trace.name, trace.textposition)
    rows = theme.legend_rows(figure)
    legend = layout.legend
    if rows and (legend.orientation or "h") == "h" and (legend.y is None or legend.y >= 1 or legend.yref == "container"):
        assert legend.yref == "container" and legend.yanchor == "top", (name, legend)
        legend_top = (1 - legend.y) * height
        assert legend_top >= title_px, f"{name}: the legend starts {legend_top:.0f} px from the top, in the title"
        assert layout.margin.t >= legend_top + rows * theme.FONT_SIZE, f"{name}: the legend runs into the plot"
    elif layout.title.text:
        assert layout.margin.t >= title_px, name


def _page_figures(page: str, state: dict | None = None) -> list[go.Figure]:
    at = open_page(page, state)
    return [go.Figure(json.loads(chart.proto.spec)) for chart in at.get("plotly_chart")]


@pytest.mark.parametrize("page", CHART_PAGES)
def test_every_chart_on_every_page_fits_its_text(page):
    # Charts behind lazy expanders are drawn only when opened: open them all (keys another page lacks are ignored).
    figures = _page_figures(page, survey_all_open() | {"bayes_charts_open_recovery": True,
                                                      "bayes_charts_open_symptom_change": True})
    assert figures, f"{page} drew no chart"
    for figure in figures:
        assert_fitted(figure)


def test_who_benefits_forest_legend_sits_under_its_title_for_every_subgroup():
    from analysis.figures.subgroups import column_label  # noqa: F401  (the page's own labels)

    for column in ("gender", "ethnicity", "problem_descriptor"):
        for figure in _page_figures("pages/who_benefits.py", {"wb_column": column}):
            assert_fitted(figure)


def test_a_long_title_axis_title_and_legend_are_wrapped_and_stacked():
    figure = go.Figure([go.Scatter(x=[1], y=[1], name=f"An entry with a long name number {i}") for i in range(5)])
    theme.apply_theme(figure, "A very long chart title that would run under the toolbar at the right of the chart")
    figure.update_layout(xaxis_title="Recovery: PA − control (percentage points; right = physical activity higher)")
    theme.fit_layout(figure)
    assert_fitted(figure)
    assert len(_lines(figure.layout.title.text)) == 2
    assert len(_lines(figure.layout.xaxis.title.text)) == 2  # was cut at the edge: "…physical activit"
    assert theme.legend_rows(figure) >= 3  # five long entries cannot share one row at 520 px
    theme.fit_layout(figure)  # idempotent
    assert len(_lines(figure.layout.title.text)) == 2


def test_panel_titles_get_their_own_row_under_the_title():
    figure = go.Figure(go.Scatter(x=[1], y=[1], showlegend=False))
    theme.apply_theme(figure, "Social Phobia Inventory (SPIN): each participant's first and last score")
    figure.add_annotation(text="Physical activity (n = 1)", xref="paper", yref="paper", x=0.25, y=1, yanchor="bottom",
                          showarrow=False)
    bare = figure.layout.margin.t or 0
    theme.fit_layout(figure)
    lines = len(_lines(figure.layout.title.text))
    assert lines == 2 and figure.layout.margin.t >= bare
    assert figure.layout.margin.t >= lines * (theme.FONT_SIZE + 4) * theme.LINE_HEIGHT + theme.FONT_SIZE


def test_bar_values_are_written_above_the_whiskers(sample_analysis):
    figure = rates_chart(sample_analysis.rates)
    tops = []
    for trace in figure.data:
        if trace.type == "bar":
            assert trace.textposition == "none"
            tops += [(text, y + plus) for y, plus, text in zip(trace.y, trace.error_y.array, trace.text, strict=True)]
    labels = [(a.text, a.y) for a in figure.layout.annotations if a.yref == "y" and a.text.endswith("%")]
    rounded = sorted((text, round(y, 9)) for text, y in labels)
    assert rounded == sorted((text, round(y, 9)) for text, y in tops)  # each value at its own whisker's top
    assert all(a.yanchor == "bottom" for a in figure.layout.annotations if a.yref == "y" and a.text.endswith("%"))
    # The single-measure chart on Overview does the same.
    single = rate_chart(sample_analysis.rates["recovery"].groups, "Recovery")
    assert all(t.textposition == "none" for t in single.data)
    assert any(a.text == "63%" and a.yanchor == "bottom" for a in single.layout.annotations)
