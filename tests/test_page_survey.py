"""The Survey findings page (AppTest) and the analysis helpers it lays out.

The page is driven through ``app.py`` like a user would: navigate, read the text,
change the stakeholder-group and topic filters. The helpers in ``analysis.survey``
that exist for this page (distinct findings, display tables, cards, interview
sections, headline tiles) are tested directly against the bundled CSVs.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from analysis import survey
from analysis.figures import survey as survey_figures
from analysis.figures.theme import TEMPLATE_NAME
from tests.apptest_support import assert_clean, open_page, survey_all_open

PAGE = "pages/survey.py"


# --- helpers -------------------------------------------------------------------------------------


def _open() -> AppTest:
    return open_page(PAGE, survey_all_open())  # every expander opened: their contents are drawn only then


_assert_clean = assert_clean


def _text(at: AppTest) -> str:
    """All Markdown, captions and metric values on the page, Markdown escapes removed."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [f"{m.label}: {m.value}" for m in at.metric]
    return "\n".join(parts).replace("\\", "")


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def _chart_titles(at: AppTest) -> list[str]:
    """Each chart's title without its subtitle, lines joined (titles are wrapped to fit the page)."""
    return [re.sub(r"<sup>.*?</sup>", "", spec["layout"]["title"]["text"]).replace("<br>", " ").strip()
            for spec in _charts(at)]


def _group_sections(at: AppTest) -> list[str]:
    """The stakeholder groups shown, from their expanders' labels ("Commissioners (13 respondents)")."""
    labels = {survey.stakeholder_label(g): g for g in survey.STAKEHOLDER_GROUPS}
    return [label for e in at.expander for label in labels if e.label == label or e.label.startswith(label + " (")]


def _filter(at: AppTest, groups: list[str] | None = None, topics: list[str] | None = None) -> AppTest:
    if groups is not None:
        at.multiselect(key="survey_groups").set_value(groups)
    if topics is not None:
        at.multiselect(key="survey_topics").set_value(topics)
    at.run()
    _assert_clean(at)
    return at


@pytest.fixture(scope="module")
def survey_page() -> AppTest:
    return _open()


@pytest.fixture(scope="module")
def distinct() -> pd.DataFrame:
    return survey.distinct_findings()


# --- the page, unfiltered ---------------------------------------------------------------------------


def test_page_renders_the_headline_figures_as_text(survey_page: AppTest) -> None:
    h = survey.headline()
    text = _text(survey_page)
    assert survey_page.title[0].value == "Survey findings"
    assert h.sentence in text and h.detail in text
    for figure in ("99%", "17%", "224", "12 of 13", "91%"):
        assert figure in h.sentence + h.detail
        assert figure in text
    assert "18%" in text  # the caveat: the report's own 17% vs 18%
    assert [m.value for m in survey_page.metric] == ["99%", "17%", "12 of 13", "91%"]
    assert "not the uploaded data" in survey_page.info[0].value


def test_page_shows_every_group_with_its_charts(survey_page: AppTest) -> None:
    assert _group_sections(survey_page) == [survey.stakeholder_label(g) for g in survey.STAKEHOLDER_GROUPS]
    titles = _chart_titles(survey_page)
    assert titles[0] == "NHS Talking Therapies (IAPT) staff: barriers, most mentioned first"
    assert "Commissioners: views and experiences" in titles
    assert any(t.startswith("Long term conditions mentioned as a barrier (29") for t in titles)
    assert len(survey_page.get("plotly_chart")) == len(titles) == 7


def test_staff_barriers_are_ranked_bars_with_the_base_stated(survey_page: AppTest) -> None:
    spec = _charts(survey_page)[0]
    bar = spec["data"][0]
    assert bar["orientation"] == "h"
    assert bar["y"] == survey.ranked_barriers()["label"].tolist()
    assert bar["x"] == sorted(bar["x"], reverse=True)
    assert "Base: 224" in spec["layout"]["title"]["text"]
    assert "Source" in bar["hovertemplate"]
    text = _text(survey_page)
    # the report's text ranks two barriers differently from its chart: said beside the chart
    assert "2nd most frequently mentioned barrier" in text and "3rd of 9" in text


def test_agreement_bars_state_their_base_and_sources_on_hover(survey_page: AppTest) -> None:
    spec = next(s for s in _charts(survey_page) if s["layout"]["title"]["text"].startswith("Commissioners"))
    bar = spec["data"][0]
    assert "12 of 13" in bar["text"]
    assert "Base: 13" in spec["layout"]["title"]["text"]
    sources = [row[2] for row in bar["customdata"]]
    assert all(sources)
    assert any("Summary:" in s and "Report (Dec 2022):" in s for s in sources)  # merged, both named


def test_findings_read_as_text_with_base_and_notes(survey_page: AppTest) -> None:
    text = _text(survey_page)
    assert "**99%** — 99% of NHS Talking Therapies staff say physical activity is very important" in text
    # The base every staff figure shares is said once, above them, not on every line.
    assert text.count("Base of every figure below unless a line says otherwise: 224 IAPT staff survey respondents") == 1
    assert "(base: 224 IAPT staff survey respondents (question-level base not stated))" not in text
    # the report's contradictions are beside the figures
    assert "but 18% for the same staff satisfaction question" in text
    assert "32 community physical activity providers on the sample slide but 33" in text
    # every finding line carries its source as a tooltip
    lines = [m for m in survey_page.markdown if m.value.startswith("**99%** — 99% of NHS")]
    assert lines and lines[0].help.startswith("Source: ")


def test_chart_only_findings_are_words_without_a_number(survey_page: AppTest, distinct: pd.DataFrame) -> None:
    text = _text(survey_page)
    chart_only = distinct.loc[distinct["value"].isna() & distinct["rank"].isna()]
    assert len(chart_only) > 5
    for statement in chart_only["statement"]:
        assert f"*In words only (no figure in the text):* {statement}" in text
    # e.g. the motivators chart (n=80) gives no numbers in the text
    assert "doing physical activity with others motivated them" in text


def test_recommendation_cards_show_all_four_titles(survey_page: AppTest) -> None:
    text = _text(survey_page)
    recs = survey.load_recommendations()
    titles = recs.drop_duplicates("recommendation_number")["title"].tolist()
    assert len(titles) == 4
    for number, title in enumerate(titles, start=1):
        assert f"Recommendation {number}" in text
        assert f"##### {title}" in text
    for solution in recs["solution_text"]:
        assert solution in text
    assert text.count("**Short-term solutions**") == 4 and text.count("**Long-term solutions**") == 4


def test_examples_offers_and_interviews(survey_page: AppTest) -> None:
    labels = [e.label for e in survey_page.expander]
    assert "Innovative approaches in services (report Appendix C)" in labels
    assert "National offers and training (report Appendix D)" in labels
    text = _text(survey_page)
    for name in ("Moving Medicine", "Running to Better course", "Walking group pathway"):
        assert name in text
    assert "It has wiped away my tears, it has taken my walking stick from me." in text
    assert "Barriers to regular activity" in text
    assert survey.SOURCE_TITLES[survey.PILOT_DOCUMENT] in text


def test_findings_table_has_downloads(survey_page: AppTest) -> None:
    frame = survey_page.table[0].value
    assert list(frame.columns) == ["Stakeholder group", *survey.FINDINGS_TABLE_COLUMNS]
    assert len(frame) == len(survey.distinct_findings())
    assert {b.label for b in survey_page.get("download_button")} >= {"Download CSV", "Download XLSX"}


# --- the survey_page, filtered -------------------------------------------------------------------------------


def test_commissioners_only_shows_their_figures_and_no_staff_figures() -> None:
    at = _filter(_open(), groups=["commissioners"])
    assert _group_sections(at) == ["Commissioners"]
    assert _chart_titles(at) == ["Commissioners: views and experiences"]
    items = [m.value.replace("\\", "") for m in at.markdown]
    assert "**12 of 13** — 12 of 13 commissioners say physical activity is very important." in items
    assert any("unless a line says otherwise: 13 commissioner survey respondents" in c.value for c in at.caption)
    text = "\n".join(items)
    for staff_only in ("Only 8% of IAPT staff", "92% of IAPT staff", "IAPT staff survey respondents",
                       "Lack of awareness of local services"):
        assert staff_only not in text
    table = at.table[0].value
    assert set(table["Stakeholder group"]) == {"Commissioners"}
    assert "12 of 13" in set(table["Figure"])


def test_topic_filter_keeps_only_that_topic() -> None:
    at = _filter(_open(), topics=["barriers"])
    table = at.table[0].value
    assert set(table["Topic"]) == {"Barriers"}
    assert _chart_titles(at) == ["NHS Talking Therapies (IAPT) staff: barriers, most mentioned first"]
    items = [m.value for m in at.markdown]
    assert "**Barriers**" in items
    assert "**Importance of physical activity**" not in items
    assert _group_sections(at) == ["NHS Talking Therapies (IAPT) staff", "Service users"]
    # service users' barriers are given in words only: the text has no figures for them
    assert any(m.startswith("*In words only") and "Lack of time" in m for m in items)


def test_group_and_topic_together() -> None:
    at = _filter(_open(), groups=["service_users"], topics=["conditions"])
    titles = _chart_titles(at)
    assert titles == ["Long term conditions mentioned as a barrier (29 mentions in all)",
                      "Mental health conditions (21 mentions in all)"]
    first = _charts(at)[0]["data"][0]
    assert first["y"][0] == "Physical health/physical disability" and first["text"][0] == "8"


def test_a_filter_with_no_findings_says_so() -> None:
    at = _filter(_open(), groups=["commissioners"], topics=["barriers"])
    assert any("no findings for Commissioners on Barriers" in w.value for w in at.warning)
    assert not _group_sections(at) and not at.get("plotly_chart") and not at.table
    # the rest of the page still stands
    assert "##### " + survey.recommendation_cards()[0].title in _text(at)


def test_safe_mode_says_it_does_not_apply() -> None:
    at = _open()
    at.session_state["safe"] = True
    at.run()
    _assert_clean(at)
    assert any("Presentation-safe mode does not change this page" in c.value for c in at.caption)
    assert [m.value for m in at.metric] == ["99%", "17%", "12 of 13", "91%"]


# --- analysis helpers for the page ------------------------------------------------------------------


def test_distinct_findings_merge_only_identical_figures(distinct: pd.DataFrame) -> None:
    findings = survey.load_findings()
    assert len(distinct) < len(findings)
    ids = [i for cell in distinct["finding_id"] for i in cell.split("; ")]
    assert sorted(ids) == sorted(findings["finding_id"])  # nothing lost, nothing twice
    staff_important = distinct.loc[distinct["finding_id"] == "SF004; SF046"].iloc[0]
    assert staff_important["value_text"] == "99%"
    assert staff_important["source"].startswith("Summary: Key Findings")
    assert "Report (Dec 2022): Supporting findings" in staff_important["source"]
    satisfaction = distinct.loc[distinct["stakeholder_group"].eq("staff") & distinct["topic"].eq("satisfaction")]
    assert {17, 18} <= set(satisfaction["value"])  # the disagreeing figures stay apart
    # per group, the bars never repeat a label (a repeated label would overlap its bar)
    for group in survey.STAKEHOLDER_GROUPS:
        rows = survey.agreement_rows(survey.filter_findings(distinct, group))
        assert rows["label"].is_unique, group


def test_findings_table_words_and_ranks(distinct: pd.DataFrame) -> None:
    staff = survey.findings_table(survey.filter_findings(distinct, "staff", "barriers"))
    assert list(staff.columns) == list(survey.FINDINGS_TABLE_COLUMNS)
    ranked = staff.loc[staff["Figure"].str.contains("most mentioned")]
    assert ranked["Figure"].iloc[0] == "1st most mentioned of 9 (no counts given)"
    assert ranked["Figure"].iloc[-1] == "9th most mentioned of 9 (no counts given)"
    summary_list = staff.loc[staff["Ref"].eq("SF011")].iloc[0]
    assert summary_list["Figure"] == ""  # listed without a figure: no number invented
    assert summary_list["Base"].startswith("224 IAPT staff")
    providers = survey.findings_table(survey.filter_findings(distinct, "providers", "plans"))
    assert providers["Base"].iloc[0] == "community physical activity providers (base for this question not stated)"
    assert survey.findings_table(distinct.iloc[0:0]).empty


def test_agreement_rows_and_mention_tables(distinct: pd.DataFrame) -> None:
    rows = survey.agreement_rows(distinct)
    assert set(rows["topic"]) <= set(survey.VIEW_TOPICS)
    assert rows["value"].notna().all()
    assert "demographics" not in set(rows["topic"])
    tables = survey.mention_tables(distinct)
    assert [(title, int(part["value"].sum())) for title, part in tables] == [
        ("Long term conditions mentioned as a barrier (29 mentions in all)", 29),
        ("Mental health conditions (21 mentions in all)", 21)]


def test_rank_conflicts_quote_the_text_and_the_chart(distinct: pd.DataFrame) -> None:
    conflicts = survey.rank_conflicts(distinct)
    assert len(conflicts) == 2
    assert "2nd most frequently mentioned" in conflicts[0] and "3rd of 9" in conflicts[0]
    assert "3rd most frequently mentioned" in conflicts[1] and "5th of 9" in conflicts[1]


def test_recommendation_cards_and_interview_sections() -> None:
    cards = survey.recommendation_cards()
    assert [c.number for c in cards] == [1, 2, 3, 4]
    assert all(c.short_term and c.long_term for c in cards)
    assert cards[0].title.startswith("Review and refresh national")
    recs = survey.load_recommendations()
    assert sum(len(c.short_term) + len(c.long_term) for c in cards) == len(recs)
    sections = survey.interview_sections()
    assert [s.theme for s in sections] == ["outcome", "valued", "barrier", "improvement"]
    assert any("walking stick" in q for q in sections[0].quotes)
    assert sum(len(s.points) + len(s.quotes) for s in sections) == len(survey.load_interviews())


def test_headline_metrics_agree_with_the_headline() -> None:
    metrics = survey.headline_metrics()
    assert [m.value for m in metrics] == ["99%", "17%", "12 of 13", "91%"]
    assert [m.finding_id for m in metrics] == ["SF004", "SF008", "SF005", "SF006"]
    assert metrics[2].base == "13 commissioner survey respondents"
    assert all(m.source.startswith("Summary: Key Findings") for m in metrics)


def test_examples_grouped_by_organisation() -> None:
    groups = survey.examples_by_organisation(survey.load_examples(), "innovative_approach")
    organisations = [org for org, _ in groups]
    assert organisations[0] == "Healthy Minds Bucks"
    assert {"Ealing IAPT", "Hounslow IAPT", "Waltham Forest IAPT"} <= set(organisations)
    assert sum(len(part) for _, part in groups) == 15


def test_labels() -> None:
    assert survey.topic_label("service_user_wants") == "What service users want"
    assert survey.topic_label("new_topic") == "New topic"
    assert survey.stakeholder_label("staff", short=True) == "Staff"
    assert survey.ordered_topics()[0] == "importance"


def test_survey_figures_use_the_project_theme(distinct: pd.DataFrame) -> None:
    figure = survey_figures.agreement_chart(survey.agreement_rows(survey.filter_findings(distinct, "staff")))
    assert figure.layout.template == pio.templates[TEMPLATE_NAME]
    assert figure.layout.font.size >= 16
    from analysis.figures.theme import GROUP_COLOURS

    assert figure.data[0].marker.color not in GROUP_COLOURS.values()  # never mistaken for a trial group
    # the hover names the merged sources, document and section
    assert any("Summary:" in row[2] for row in figure.data[0].customdata)


def test_closed_sections_send_nothing_and_opening_one_draws_it() -> None:
    """Each stakeholder group's charts and findings are drawn only while its expander is open (a workshop room's
    first view of the page sends none of them); opening it draws them."""
    at = open_page(PAGE)
    assert len(_group_sections(at)) == len(survey.STAKEHOLDER_GROUPS)  # the expanders are there, closed
    assert not at.get("plotly_chart") and not at.table
    assert len([m for m in at.markdown if m.value.startswith("> “")]) == 2  # only the summary's two quotes
    at.session_state["survey_open_staff_all"] = True
    at.run()
    _assert_clean(at)
    staff = next(e for e in at.expander if e.label.startswith(survey.stakeholder_label("staff")))
    others = [e for e in at.expander if e is not staff and e.label in _group_sections(at)]
    assert staff.get("plotly_chart") and staff.get("markdown")
    assert not [chart for e in at.expander if e is not staff for chart in e.get("plotly_chart")], others
