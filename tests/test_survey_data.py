"""The survey CSVs are faithful to their sources, and the survey helpers and figures use them correctly.

Each figure must appear in the sentence it cites, and each cited sentence must
appear in its source document (after collapsing whitespace) when the source
documents are present at ``<repo>/../shared/seeds``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest

from analysis import survey
from analysis.figures import survey as survey_figures

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
DATA = Path(__file__).resolve().parents[1] / "data" / "sample" / "survey"

LOADERS = {
    "survey_findings.csv": survey.load_findings,
    "survey_recommendations.csv": survey.load_recommendations,
    "survey_examples.csv": survey.load_examples,
    "pilot_interviews.csv": survey.load_interviews,
}
ID_COLUMNS = {
    "survey_findings.csv": "finding_id",
    "survey_recommendations.csv": "recommendation_id",
    "survey_examples.csv": "example_id",
    "pilot_interviews.csv": "item_id",
}
WORDS = {"none": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
         "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13}
FRACTIONS = {"half": 50, "two-thirds": 67, "a third": 33}  # as percentages


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def parse_value_text(text: str) -> float:
    """The number a figure's written form states: '99%', '12 of 13', 'half', 'Three', '2nd', 'top two'."""
    t = text.strip().lower()
    if t in FRACTIONS:
        return FRACTIONS[t]
    if t in WORDS:
        return WORDS[t]
    if t.startswith("top "):
        return WORDS[t.removeprefix("top ")]
    match = re.search(r"\d+(?:\.\d+)?", t)
    assert match, f"no number in {text!r}"
    return float(match.group())


def value_forms(value: float) -> list[str]:
    """Ways a number may be written in the sources."""
    number = f"{value:g}"
    forms = [number, f"{number}%", f"{number}st", f"{number}nd", f"{number}rd", f"{number}th"]
    forms += [word for word, n in WORDS.items() if n == value]
    forms += [word for word, n in FRACTIONS.items() if n == value]
    return forms


def appears(form: str, sentence: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(form)}(?![\w]|\.\d)", sentence, flags=re.IGNORECASE) is not None


@pytest.fixture(scope="module")
def findings() -> pd.DataFrame:
    return survey.load_findings()


@pytest.fixture(scope="module")
def documents() -> dict[str, str]:
    if not SEEDS.is_dir():
        pytest.skip(f"source documents not present at {SEEDS} (they live outside the repo); "
                    "sentence provenance cannot be checked here")
    return {p.name: collapse(p.read_text(encoding="utf-8")) for p in SEEDS.glob("*.txt")}


# --- structure ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_csv_is_utf8_with_expected_header(name: str) -> None:
    header = (DATA / name).read_text(encoding="utf-8").splitlines()[0].split(",")
    assert tuple(header) == tuple(LOADERS[name]().columns)


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_required_columns_are_never_blank(name: str) -> None:
    frame = LOADERS[name]()
    assert len(frame) > 0
    for column in survey.REQUIRED_COLUMNS[name]:
        blank = frame[column].isna() | frame[column].astype(str).str.strip().eq("")
        assert not blank.any(), f"{name}: blank {column} in rows {frame.loc[blank].index.tolist()}"


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_ids_are_unique(name: str) -> None:
    ids = LOADERS[name]()[ID_COLUMNS[name]]
    assert ids.is_unique, ids[ids.duplicated()].tolist()


def test_findings_vocabularies(findings: pd.DataFrame) -> None:
    assert set(findings["stakeholder_group"]) <= set(survey.STAKEHOLDER_GROUPS)
    assert findings["topic"].str.fullmatch(r"[a-z_]+").all()
    assert set(findings["source_document"]) == {survey.REPORT_DOCUMENT, survey.SUMMARY_DOCUMENT}
    for topic in ("importance", "satisfaction", "awareness", "partnership", "plans", "flexibility",
                  "service_user_wants", "activity_levels", "barriers", "conditions", "motivators",
                  "provider_involvement", "demographics", "locations", "sample"):
        assert topic in set(findings["topic"]), topic


# --- faithfulness of figures -------------------------------------------------------------


def test_every_value_appears_in_its_source_sentence(findings: pd.DataFrame) -> None:
    quantified = findings.loc[findings["value"].notna()]
    assert len(quantified) > 100
    for _, row in quantified.iterrows():
        value = float(row["value"])
        sentence = row["source_sentence"]
        assert row["value_text"], row["finding_id"]
        assert row["value_text"].lower() in sentence.lower(), (row["finding_id"], row["value_text"], sentence)
        assert parse_value_text(row["value_text"]) == pytest.approx(value), row["finding_id"]
        assert any(appears(form, sentence) for form in value_forms(value)), (row["finding_id"], value, sentence)


def test_unquantified_rows_have_no_figure(findings: pd.DataFrame) -> None:
    blank = findings.loc[findings["value"].isna()]
    assert len(blank) > 0  # chart-only findings are kept in words
    assert blank["value_text"].eq("").all()
    assert blank["unit"].eq("").all()


def test_n_of_m_rows_carry_m_as_base(findings: pd.DataFrame) -> None:
    for _, row in findings.iterrows():
        match = re.fullmatch(r"(\d+) (?:of|out of|in) (\d+)", row["value_text"])
        if match:
            assert int(row["base_n"]) == int(match.group(2)), row["finding_id"]


def test_percentages_are_percentages(findings: pd.DataFrame) -> None:
    percent = findings.loc[findings["unit"].eq("percent"), "value"]
    assert percent.between(0, 100).all()


def test_every_quantified_summary_figure_is_transcribed(findings: pd.DataFrame) -> None:
    summary = findings.loc[findings["source_document"].eq(survey.SUMMARY_DOCUMENT), "value_text"]
    for figure in ("99%", "12 of 13", "91%", "17%", "9 of 13", "82%", "1 in 4", "1.6 times", "155", "nearly 400"):
        assert figure in set(summary), figure


def test_report_figures_that_disagree_are_both_kept_with_notes(findings: pd.DataFrame) -> None:
    staff_satisfaction = findings.loc[(findings["stakeholder_group"] == "staff")
                                      & (findings["topic"] == "satisfaction"), "value"].tolist()
    assert 17 in staff_satisfaction and 18 in staff_satisfaction
    providers = findings.loc[(findings["stakeholder_group"] == "providers") & (findings["topic"] == "sample"), "value"]
    assert {32, 33} <= set(providers)
    white = findings.loc[findings["label"].str.contains("White"), ["value", "note"]]
    assert {71, 74} <= set(white["value"]) and white["note"].ne("").all()


def test_condition_counts_add_up_to_the_report_totals(findings: pd.DataFrame) -> None:
    counts = findings.loc[findings["unit"].eq("mentions")]
    for total, part in counts.groupby("base_n"):
        assert part["value"].sum() == total
    assert set(counts["base_n"]) == {29, 21}


# --- provenance -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_every_source_sentence_is_in_its_document(name: str, documents: dict[str, str]) -> None:
    frame = LOADERS[name]()
    for _, row in frame.iterrows():
        assert row["source_document"] in documents, row["source_document"]
        sentence = collapse(row["source_sentence"])
        assert sentence in documents[row["source_document"]], (row[ID_COLUMNS[name]], sentence)


def test_limitation_quotes_are_the_reports_words(documents: dict[str, str]) -> None:
    quoted = [item for item in survey.SURVEY_LIMITATIONS if item.quote]
    assert quoted
    for item in quoted:
        assert collapse(item.quote) in documents[item.source_document], item.quote


# --- recommendations, examples, interviews ---------------------------------------------------


def test_four_recommendations_each_with_short_and_long_solutions() -> None:
    recs = survey.load_recommendations()
    assert sorted(recs["recommendation_number"].unique()) == [1, 2, 3, 4]
    assert set(recs["solution_term"]) == {"short", "long"}
    for number, part in recs.groupby("recommendation_number"):
        assert set(part["solution_term"]) == {"short", "long"}, number
        assert part["title"].nunique() == 1
    assert recs.loc[recs["recommendation_number"] == 1, "title"].iloc[0].startswith("Review and refresh national")


def test_examples_cover_appendix_c_and_d() -> None:
    examples = survey.load_examples()
    assert {"pilot", "innovative_approach", "case_study", "national_offer"} <= set(examples["kind"])
    orgs = set(examples["organisation"])
    for org in ("Healthy Minds Bucks", "Ealing IAPT", "Hounslow IAPT", "Waltham Forest IAPT",
                "Livingwell Consortium", "Camden & Islington IAPT"):
        assert org in orgs, org
    offers = set(examples.loc[examples["kind"] == "national_offer", "name"])
    assert {"Moving Medicine", "Physical activity in clinical care training (PACC)", "E-learning modules"} <= offers


def test_interviews_have_themes_and_quotes_from_the_pilot() -> None:
    interviews = survey.load_interviews()
    assert set(interviews["source_document"]) == {survey.PILOT_DOCUMENT}
    assert {"valued", "barrier", "improvement", "outcome"} <= set(interviews["theme"])
    assert set(interviews["kind"]) == {"theme", "quote"}
    quotes = interviews.loc[interviews["kind"] == "quote", "text"]
    assert any("walking stick" in q for q in quotes)
    for _, row in interviews.loc[interviews["kind"] == "quote"].iterrows():
        assert collapse(row["text"]) in collapse(row["source_sentence"])  # quotes are verbatim


# --- helpers ------------------------------------------------------------------------------------


def test_headline_numbers_and_sentence() -> None:
    h = survey.headline()
    assert (h.staff_very_important_pct, h.staff_satisfied_pct, h.staff_respondents) == (99, 17, 224)
    assert (h.commissioners_very_important, h.commissioner_respondents) == (12, 13)
    assert (h.service_users_agree_pct, h.service_user_respondents) == (91, 86)
    assert h.sentence == ("99% of NHS Talking Therapies staff surveyed (224 responded) say physical activity is "
                          "very important, but only 17% are satisfied with the support their service offers to "
                          "help service users increase their physical activity.")
    assert "18%" in h.caveat


EXPECTED_BARRIERS = [
    "Lack of awareness of local services & partnerships",
    "Service user barriers (e.g. motivation/cost/LTC)",
    "Lack of session time & frequency",
    "Lack of accessible external services",
    "Lack of confidence/knowledge of physical activity",
    "Lack of strategic support",
    "Work space",
    "Service users do not see physical activity as therapy/beneficial",
    "Working remotely",
]


def test_ranked_barriers_in_report_order() -> None:
    ranked = survey.ranked_barriers()
    assert ranked["label"].tolist() == EXPECTED_BARRIERS
    assert ranked["rank"].tolist() == list(range(1, 10))
    assert ranked["value"].isna().all()  # the chart gives no counts


def test_filter_findings(findings: pd.DataFrame) -> None:
    staff = survey.filter_findings(findings, stakeholder_groups="staff")
    assert set(staff["stakeholder_group"]) == {"staff"}
    both = survey.filter_findings(findings, ["staff", "commissioners"], topics=["importance"])
    assert set(both["stakeholder_group"]) == {"staff", "commissioners"}
    assert set(both["topic"]) == {"importance"}
    assert len(survey.filter_findings(findings)) == len(findings)
    with pytest.raises(ValueError):
        survey.filter_findings(findings, stakeholder_groups="staf")


def test_loaders_return_copies() -> None:
    first = survey.load_findings()
    first.loc[:, "statement"] = "changed"
    assert survey.load_findings()["statement"].ne("changed").all()


def test_methods_text_mentions_active_respondents() -> None:
    text = survey.methods_text()
    assert "over indexed on active service users" in text
    assert "224" in text and "86" in text


# --- figures ------------------------------------------------------------------------------------


def _assert_accessible(fig: go.Figure) -> None:
    assert fig.layout.font.size >= 16
    bar = fig.data[0]
    assert bar.marker.color == survey_figures.SURVEY_BAR_COLOUR
    assert bar.textfont.size >= 16
    assert "Source" in bar.hovertemplate


def test_barriers_chart_ranked_with_most_mentioned_on_top() -> None:
    ranked = survey.ranked_barriers()
    fig = survey_figures.barriers_chart(ranked)
    bar = fig.data[0]
    assert bar.orientation == "h"
    assert list(bar.y) == EXPECTED_BARRIERS
    assert fig.layout.yaxis.autorange == "reversed"  # first category drawn on top
    assert list(bar.x) == sorted(bar.x, reverse=True)
    assert bar.text[0] == "Most mentioned"
    assert "224" in fig.layout.title.text and "no counts" in fig.layout.title.text
    assert "slide 59" in bar.customdata[0][1]
    _assert_accessible(fig)
    takeaway = survey_figures.barriers_takeaway(ranked)
    assert takeaway.startswith("“Lack of awareness of local services & partnerships” was the most mentioned")


def test_barriers_chart_with_counts_orders_by_value(findings: pd.DataFrame) -> None:
    conditions = findings.loc[findings["unit"].eq("mentions") & findings["base_n"].eq(29)]
    fig = survey_figures.barriers_chart(conditions, title="Long-term conditions named as barriers")
    bar = fig.data[0]
    assert list(bar.x) == sorted(bar.x, reverse=True)
    assert bar.y[0] == "Physical health/physical disability" and bar.text[0] == "8"
    assert "29" in fig.layout.title.text
    _assert_accessible(fig)
    assert "(8 mentions)" in survey_figures.barriers_takeaway(conditions)


def test_agreement_chart_bars_in_order_with_bases(findings: pd.DataFrame) -> None:
    rows = findings.set_index("finding_id").loc[["SF004", "SF005", "SF006", "SF008"]].reset_index()
    fig = survey_figures.agreement_chart(rows)
    bar = fig.data[0]
    assert list(bar.y) == rows["label"].tolist()
    assert list(bar.x) == pytest.approx([99, 1200 / 13, 91, 17])
    assert list(bar.text) == ["99% of 224", "12 of 13", "91% of 86", "17% of 224"]
    assert fig.layout.xaxis.ticksuffix == "%"
    _assert_accessible(fig)
    assert survey_figures.agreement_takeaway(rows) == (
        "Figures range from 99% of 224 (Staff: PA very important) to 17% of 224 (Staff satisfied with support).")


def test_agreement_chart_states_a_single_base(findings: pd.DataFrame) -> None:
    staff = survey.filter_findings(findings, "staff", ["importance", "plans"])
    fig = survey_figures.agreement_chart(staff)
    assert "Base: 224" in fig.layout.title.text


def test_figures_handle_empty_selection(findings: pd.DataFrame) -> None:
    empty = findings.iloc[0:0]
    assert isinstance(survey_figures.barriers_chart(empty), go.Figure)
    assert isinstance(survey_figures.agreement_chart(empty), go.Figure)
    assert "No" in survey_figures.barriers_takeaway(empty)
