"""The Against national figures page (AppTest), and the Overview's England reference line."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from analysis import national
from dashboard import national as national_controls
from dashboard import state, ui
from tests.apptest_support import (
    NATIONAL_OPEN_KEYS,
    deferred_download,
    national_all_open,
    open_page,
    page_text,
    record_media_files,
)

PAGE = "pages/national.py"


def _charts(at: AppTest) -> dict[str, dict]:
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    # Keyed by the title as read (a title in a column is wrapped to its width with <br>).
    return {spec["layout"]["title"]["text"].replace("<br>", " "): spec for spec in specs}


def _tables(at: AppTest) -> list:
    return [df.value for df in [*at.table, *at.dataframe]]


@pytest.fixture(scope="module")
def page() -> AppTest:
    return open_page(PAGE, national_all_open())


def test_page_shows_england_beside_the_pilot_with_attribution(page):
    text = page_text(page)
    assert national.ATTRIBUTION in text
    assert "anxiety and depression" in text
    table = next(t for t in _tables(page) if "Rate" in t.columns and "England 2024-25" in t.columns)
    rows = table.set_index("Rate")
    assert rows.loc["Recovery", "England 2024-25"] == "50.5% (published: 321,061 of 635,185)"
    assert rows.loc["Reliable improvement", "England 2024-25"] == "67.5% (published: 452,284 of 670,419)"
    assert rows.loc["Reliable deterioration", "England 2024-25"] == "5.8% (published: 39,157 of 670,419)"
    assert rows.loc["Recovery", "Physical activity"] == "63% of 19"
    # on the page the attribution is said once under the table, not in a column repeated on every row
    assert ui.SOURCE_COLUMN not in table.columns


def test_every_table_shows_the_attribution_once_and_its_downloads_carry_it_on_every_row(monkeypatch):
    import io

    import pandas as pd

    record_media_files(monkeypatch)
    at = open_page(PAGE, national_all_open())
    tables = _tables(at)
    assert len(tables) >= 4  # the pilot beside England, providers outside the limits, expected rates, SPA (+ matching)
    assert all(ui.SOURCE_COLUMN not in t.columns for t in tables)
    # the page's own line, then one under each table
    assert sum(c.value == national.ATTRIBUTION for c in at.caption) == len(tables) + 2  # + the closing line
    csv_buttons = [b for b in at.get("download_button") if b.proto.label == "Download CSV"]
    xlsx_buttons = [b for b in at.get("download_button") if b.proto.label == "Download XLSX"]
    assert len(csv_buttons) == len(xlsx_buttons) == len(tables)
    for button, shown in zip(csv_buttons, tables, strict=True):
        name, mime, build = deferred_download(button)
        exported = pd.read_csv(io.BytesIO(build()), dtype=str, keep_default_na=False)
        assert mime == "text/csv" and name.endswith(".csv")
        assert list(exported.columns) == [*shown.columns, ui.SOURCE_COLUMN], name
        assert len(exported) == len(shown) and (exported[ui.SOURCE_COLUMN] == national.ATTRIBUTION).all(), name
    for button in xlsx_buttons:
        name, _, build = deferred_download(button)
        exported = pd.read_excel(io.BytesIO(build()), dtype=str)
        assert len(exported) and (exported[ui.SOURCE_COLUMN] == national.ATTRIBUTION).all(), name


def test_every_chart_carries_the_attribution(page):
    for title, spec in _charts(page).items():
        # Read as drawn: the note is wrapped to the chart's width (``theme.fit_layout``), lines joined by spaces.
        notes = " ".join(a.get("text", "").replace("<br>", " ") for a in spec["layout"].get("annotations", []))
        assert "Open Government Licence v3.0" in notes and "anxiety and depression" in notes, title


def test_funnel_places_both_groups_and_the_takeaway_says_where(page):
    charts = _charts(page)
    funnel = charts["Recovery funnel plot, providers in England 2024-25"]
    names = [t.get("name") for t in funnel["data"]]
    assert "Physical activity" in names and "Control" in names
    pa = next(t for t in funnel["data"] if t.get("name") == "Physical activity")
    assert pa["x"] == [19] and pa["y"][0] == pytest.approx(100 * 12 / 19)
    text = page_text(page)
    assert "the physical activity group is within the 95% limits" in text
    assert "99.8% limits" in text


def test_trend_expected_rates_and_spa_context(page):
    charts = _charts(page)
    trend = charts["Published outcome rates by year"]
    recovery = next(t for t in trend["data"] if t.get("name") == "Recovery")
    assert recovery["x"][0] == "2017-18" and recovery["x"][-1] == "2024-25"
    assert "Recovery against a case-mix expected rate" in charts
    text = page_text(page)
    assert "If each did as well as people like them in England (problem descriptor, 2024-25)" in text
    matching = next(t for t in _tables(page) if "Pilot value" in t.columns)
    unmatched = matching[matching["Published category"] == "unmatched"]
    assert "Non-binary" in set(unmatched["Pilot value"])  # reported, never dropped silently
    assert "different population" in text.lower()
    spa = next(t for t in _tables(page) if "Courses counted in outcomes" in t.columns)
    assert spa.set_index("Year").loc["2024-25", "Recovery"] == "56.3%"


def test_the_two_expanders_draw_their_tables_only_while_open():
    closed = open_page(PAGE)
    assert [e.label for e in closed.expander if e.label.startswith(("Providers outside", "How the pilot"))] == [
        "Providers outside the 99.8% limits", "How the pilot's values were matched to NHS England's categories"]
    assert all(not e.children for e in closed.expander if e.label.startswith(("Providers outside", "How the pilot")))
    closed_tables = _tables(closed)
    assert not [t for t in closed_tables if "Pilot value" in t.columns or "Finishers at caseness (rounded)" in t.columns]
    closed_downloads = len(closed.get("download_button"))
    for key in NATIONAL_OPEN_KEYS:  # as a click on each expander does: it reruns with the expander open
        closed.session_state[key] = True
    opened = closed.run()
    assert not opened.exception
    shown = _tables(opened)
    assert len(shown) == len(closed_tables) + 2
    outside = next(t for t in shown if "Finishers at caseness (rounded)" in t.columns)
    assert len(outside) > 0 and outside["Position"].str.contains("99.8% limit").all()
    assert any("Pilot value" in t.columns for t in shown)
    assert len(opened.get("download_button")) == closed_downloads + 4  # each table's CSV and XLSX


def test_chosen_organisation_and_year():
    at = open_page(PAGE, {national_controls.ORG_KEY: "RW4", national_controls.YEAR_KEY: "2023-24"})
    table = next(t for t in _tables(at) if "Rate" in t.columns)
    org_column = next(c for c in table.columns if "Mersey Care" in c)
    assert org_column.endswith("(Provider, RW4) 2023-24")
    expected = national.benchmark("RW4", "2023-24").rates["recovery"]
    assert table.set_index("Rate").loc["Recovery", org_column].startswith(f"{expected.rate * 100:.1f}% (published: ")
    assert "England 2023-24" in table.columns
    assert "Recovery funnel plot, providers in England 2023-24" in _charts(at)


def test_safe_mode_hides_small_groups_on_the_funnel():
    at = open_page(PAGE, {state.SAFE_KEY: True, state.FILTER_PREFIX + "gender": ["Male"], **national_all_open()})
    funnel = next(spec for title, spec in _charts(at).items() if title.startswith("Recovery funnel plot"))
    names = [t.get("name") for t in funnel["data"]]
    # men: physical activity 5 of 8 recovered (shown), control 1 of 2 (hidden)
    assert "Physical activity" in names and "Control" not in names
    text = page_text(at)
    assert "the control group is not drawn (small numbers)" in text
    expected = next(spec for title, spec in _charts(at).items() if title.endswith("case-mix expected rate"))
    assert "Control" not in [t.get("name") for t in expected["data"] if t.get("x")]
    assert "1 of 2" not in " ".join(str(v) for t in _tables(at) for v in t.to_numpy().ravel())


def test_overview_reference_line_is_englands_rate_for_the_chosen_year():
    at = open_page("pages/overview.py", {national_controls.YEAR_KEY: "2023-24"}, from_home=False)
    chart = _charts(at)["Recovery rate by group (95% CI)"]
    assert [round(s["y0"], 1) for s in chart["layout"]["shapes"]] == [50.1]
    text = page_text(at)
    assert "England's published recovery rate for 2023-24 (50.1%)" in text
    assert "the national standard is 50%" in text
    notes = " ".join(a.get("text", "") for a in chart["layout"]["annotations"]).replace("<br>", " ")
    assert national.ATTRIBUTION in notes  # the chart's PNG/SVG carries the attribution


def test_recovery_page_reference_lines_name_englands_year():
    at = open_page("pages/recovery.py", {national_controls.YEAR_KEY: "2022-23"}, from_home=False)
    chart = _charts(at)["Outcome rates by group"]
    assert [round(s["y0"], 1) for s in chart["layout"]["shapes"]] == [49.9, 66.5]
    assert "The reference lines mark England's published rates for 2022-23 (49.9% for recovery, 66.5% for " \
           "reliable improvement)" in page_text(at)
    assert "Open Government Licence v3.0" in " ".join(a.get("text", "") for a in chart["layout"]["annotations"]
                                                      ).replace("<br>", " ")  # wrapped to the chart's width


def test_svg_download_of_a_national_chart_carries_the_attribution(svg_chromium):
    from analysis.figures.national import trend_chart
    from analysis.figures.svg import figure_to_svg

    svg = figure_to_svg(trend_chart(national.trend(national.ENGLAND_ORG)))
    text = svg.decode() if isinstance(svg, bytes) else svg
    assert "Open Government Licence v3.0" in text and "anxiety and depression" in text
