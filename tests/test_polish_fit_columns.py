"""Charts in a column and static tables fit at 1280 px (issue 18, items 3 and 7, on the pages that
landed later: Overview's adjusted and recovery charts, the Adjusted page, the chance-of-benefit table).

On main before this change, ``fit_layout`` wrapped every title for a full-width chart (56 characters at
22 px, about 690 px), so a title in a half-width column (about 380 px) ran off its right edge; the
Open Government Licence note under the recovery chart was wrapped at 60 characters of a 380 px chart;
and table cells could break anywhere ("0.1 / 7", "percentag / e").
"""

from __future__ import annotations

import json

import plotly.graph_objects as go

from analysis.figures import theme
from analysis.national import ATTRIBUTION
from dashboard import ui
from tests.apptest_support import open_page


def _figures(page: str) -> list[go.Figure]:
    at = open_page(page)
    return [go.Figure(json.loads(chart.proto.spec)) for chart in at.get("plotly_chart")]


def _title_fits(figure: go.Figure, width_px: float) -> None:
    size = figure.layout.title.font.size or theme.FONT_SIZE + 4
    for line in theme.text_lines(figure.layout.title.text.replace("<sup>", "<sup>\0")):
        scale = theme.SUP_SCALE if line.startswith("\0") else 1
        drawn = len(line.lstrip("\0")) * theme.CHAR_PX * size * scale
        assert drawn <= width_px - 20, (line, drawn, width_px)


def _notes_fit(figure: go.Figure, width_px: float) -> int:
    """Every note under the plot fits the chart's width; returns how many there are."""
    notes = [a for a in figure.layout.annotations if a.yref == "paper" and a.y is not None and a.y < 0]
    left = figure.layout.margin.l if figure.layout.margin.l is not None else 70
    for note in notes:
        size = note.font.size or theme.FONT_SIZE
        lines = theme.text_lines(note.text)
        assert max(len(line) for line in lines) * theme.CHAR_PX * size <= width_px - left, lines
        assert figure.layout.margin.b >= len(lines) * size * theme.LINE_HEIGHT, "the note runs off the bottom"
    return len(notes)


def _x_titles_fit(figure: go.Figure, width_px: float) -> None:
    for key in [k for k in figure.layout.to_plotly_json() if k.startswith("xaxis")]:
        for line in theme.text_lines(figure.layout[key].title.text):
            assert len(line) * theme.CHAR_PX * theme.FONT_SIZE <= width_px - 80, (key, line)


def test_overview_column_charts_fit_their_columns():
    figures = {" ".join(theme.text_lines(f.layout.title.text)): f for f in _figures("pages/overview.py")}
    adjusted = [f for t, f in figures.items() if t.startswith("Recovery difference before and after adjusting")]
    assert adjusted, list(figures)
    _title_fits(adjusted[0], theme.THREE_FIFTHS_CHART_PX)
    rate = [f for t, f in figures.items() if t.startswith("Recovery rate by group")]
    assert rate, list(figures)
    _title_fits(rate[0], theme.HALF_CHART_PX)
    assert _notes_fit(rate[0], theme.HALF_CHART_PX) == 1
    # The attribution stays on the chart, whole, so a PNG or SVG download carries it.
    note = [a for a in rate[0].layout.annotations if a.y is not None and a.y < 0][0]
    assert " ".join(theme.text_lines(note.text)) == ATTRIBUTION


def test_adjusted_page_charts_fit_half_columns():
    figures = _figures("pages/adjusted.py")
    assert len(figures) >= 4
    for figure in figures:
        _title_fits(figure, theme.HALF_CHART_PX)
        _x_titles_fit(figure, theme.HALF_CHART_PX)


def test_fit_layout_wraps_a_note_under_the_plot_to_the_chart_and_is_idempotent():
    figure = theme.apply_theme(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), "A title")
    figure.add_annotation(text=ATTRIBUTION.replace(" Source:", "<br>Source:"), xref="paper", yref="paper", x=0,
                          y=-0.1, yanchor="top", xanchor="left", showarrow=False, font=dict(size=12))
    theme.fit_layout(figure, theme.HALF_CHART_PX)
    first = (figure.layout.annotations[0].text, figure.layout.margin.b)
    assert _notes_fit(figure, theme.HALF_CHART_PX) == 1
    assert len(theme.text_lines(first[0])) >= 4
    theme.fit_layout(figure, theme.HALF_CHART_PX)
    assert (figure.layout.annotations[0].text, figure.layout.margin.b) == first


def test_a_full_width_chart_keeps_its_one_line_title():
    figure = theme.apply_theme(go.Figure(go.Bar(x=["a"], y=[1])), "Recovery difference before and after adjusting")
    theme.fit_layout(figure)
    assert len(theme.text_lines(figure.layout.title.text)) == 1
    theme.fit_layout(figure, theme.HALF_CHART_PX)
    assert len(theme.text_lines(figure.layout.title.text)) == 2


def test_table_cells_never_break_inside_a_number_or_word():
    assert "anywhere" not in ui._TABLE_STYLE and "break-all" not in ui._TABLE_STYLE
    assert ui.keep_together("−5.6 to 1.3") == "−5.6\u00a0to\u00a01.3"
    assert ui.keep_together("5 percentage points") == "5\u00a0percentage\u00a0points"
    assert ui.keep_together("Difference in rates (Newcombe 95% CI)") == "Difference in rates (Newcombe 95% CI)"
    # The Sites page's "p = / 0.03" and "4.6 (p = / 0.47)".
    assert ui.keep_together("p = 0.03") == "p\u00a0=\u00a00.03"
    assert ui.keep_together("4.6 (p < 0.001)") == "4.6 (p\u00a0<\u00a00.001)"


def test_overview_tables_keep_intervals_and_p_values_whole():
    at = open_page("pages/overview.py")
    primary = [t.value for t in at.table if "95% CI" in list(t.value.columns)]
    assert primary, [list(t.value.columns) for t in at.table]
    for value in primary[0]["95% CI"]:
        assert " " not in value and "\u00a0to\u00a0" in value, value  # "−6 to 54" never wraps mid-interval
    mids = [t.value for t in at.table if "MID" in list(t.value.columns)]
    assert mids and all(" " not in v for v in mids[0]["MID"]), mids


def test_a_cell_starting_with_greater_than_is_not_a_quote():
    # "> 99%" in the chance-of-benefit table drew as a greyed Markdown block quote.
    assert ui.cell_text(">99%") == "\\>99%"
    assert ui.cell_text("# 1") == "\\# 1"


def test_a_title_over_several_lines_starts_inside_the_chart():
    # plotly drops its top-anchor shift for a title of several lines: the first line was drawn above
    # the chart, cut in half ("Rates: unadjusted and" on the Adjusted page).
    figure = theme.apply_theme(go.Figure(go.Bar(x=["a"], y=[1])), "Rates: unadjusted and adjusted difference (95% CI)")
    theme.fit_layout(figure, theme.HALF_CHART_PX)
    size = figure.layout.title.font.size or theme.FONT_SIZE + 4
    assert len(theme.text_lines(figure.layout.title.text)) == 2
    assert figure.layout.title.pad.t >= 0.7 * size
    one = theme.fit_layout(theme.apply_theme(go.Figure(go.Bar(x=["a"], y=[1])), "Short"))
    assert one.layout.title.pad.t < 0.7 * size  # one line: plotly's own shift applies
    for figure in _figures("pages/adjusted.py"):
        if len(theme.text_lines(figure.layout.title.text)) > 1:
            assert figure.layout.title.pad.t >= 0.7 * size, figure.layout.title.text


def test_national_comparison_values_sit_above_the_whiskers():
    # "63%" and "5%" were written just over the bar, with the CI whisker running through them.
    from analysis import national
    from analysis.figures.national import comparison_chart
    from analysis.results import Rate
    from analysis.schema import GROUP_CONTROL, GROUP_PA

    pilot = {key: {GROUP_PA: Rate(GROUP_PA, 12, 19, 0.63, (0.41, 0.81)),
                   GROUP_CONTROL: Rate(GROUP_CONTROL, 1, 19, 0.05, (0.01, 0.25))} for key in national.RATE_LABELS}
    england = national.benchmark(national.ENGLAND_ORG)
    figure = comparison_chart(pilot, england)
    whiskered = [t for t in figure.data if t.type == "bar" and t.error_y and t.error_y.array]
    assert len(whiskered) == 2
    for trace in whiskered:
        assert trace.textposition == "none", trace.name
    values = [a for a in figure.layout.annotations if a.yref == "y"]
    assert len(values) == 2 * len(national.RATE_LABELS)
    tops = sorted(round(a.y, 6) for a in values)
    assert tops == sorted([round(81.0, 6)] * 4 + [round(25.0, 6)] * 4)  # each at its whisker's top
    assert max(figure.layout.yaxis.range) > 100



def test_national_comparison_hidden_labels_do_not_overlap():
    from analysis import national
    from analysis.figures.national import comparison_chart
    from analysis.results import Rate
    from analysis.schema import GROUP_CONTROL, GROUP_PA

    pilot = {key: {GROUP_PA: Rate(GROUP_PA, 1, 19, 0.05, (0.01, 0.25)),
                   GROUP_CONTROL: Rate(GROUP_CONTROL, 1, 19, 0.05, (0.01, 0.25))} for key in national.RATE_LABELS}
    hidden = {key: frozenset({GROUP_PA, GROUP_CONTROL}) for key in national.RATE_LABELS}
    figure = comparison_chart(pilot, national.benchmark(national.ENGLAND_ORG), hidden=hidden)
    labels = [a for a in figure.layout.annotations if a.yref == "y"]
    assert labels and all(a.text == "hidden" and a.textangle == -90 for a in labels)
