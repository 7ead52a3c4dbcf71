"""The Survey page leads with a stakeholder summary and keeps the detail behind expanders (issue 18, item 9).

It was about 25 screens tall (11,000 px with only the staff group shown). Now the first thing on the page
is the summary a stakeholder needs (the key figures, the four recommendations, two participants' quotes),
and every group's charts and findings, the recommendations in full and the interviews wait in expanders.
The page's height in a real browser is checked in tests/e2e/test_ux_visual_survey_height.py.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from analysis import survey
from tests.apptest_support import open_page, survey_all_open

PAGE = "pages/survey.py"


def _order(at: AppTest) -> list[str]:
    """The main column's headers, markdown and expander labels in page order (the element tree's walk)."""
    out = []

    def walk(node) -> None:
        kind = getattr(node, "type", "")
        if kind in ("markdown", "header", "subheader", "title"):
            out.append(node.value)
        if kind == "expander":
            out.append("EXPANDER:" + node.label)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at.main)
    return out


def test_the_summary_comes_first_with_figures_recommendations_and_two_quotes():
    at = open_page(PAGE)
    order = _order(at)
    findings_at = order.index("Findings by stakeholder group")
    summary = "\n".join(order[:findings_at]).replace("\\", "")
    assert order.index("At a glance") < findings_at
    assert [m.value for m in at.metric] == ["99%", "17%", "12 of 13", "91%"]
    for card in survey.recommendation_cards():
        assert f"{card.number}. {card.title}" in summary
    quotes = [q for section in survey.interview_sections() for q in section.quotes]
    assert sum(f"“{q}”" in summary for q in quotes) == 2
    assert not [line for line in order[:findings_at] if line.startswith("EXPANDER:")]  # nothing hidden in it


def test_the_detail_waits_behind_closed_expanders():
    at = open_page(PAGE)
    groups = [e for e in at.expander if any(e.label.startswith(survey.stakeholder_label(g)) for g in
                                            survey.STAKEHOLDER_GROUPS)]
    assert len(groups) == len(survey.STAKEHOLDER_GROUPS)
    assert all(not e.proto.expanded for e in groups)
    labels = [e.label for e in at.expander]
    assert "The four recommendations in full, with their short- and long-term solutions" in labels
    assert "Every interview theme and quote" in labels
    # The metric labels fit their tiles: two a row, never four.
    rows = [row for row in at.main.children.values() if any(getattr(c, "type", "") == "column"
                                                            for c in getattr(row, "children", {}).values())]
    tiles = [row for row in rows if any(getattr(m, "type", "") == "metric" for c in row.children.values()
                                        for m in c.children.values())]
    assert tiles and all(len(row.children) <= 2 for row in tiles)


def test_a_chosen_group_opens_its_section():
    at = open_page(PAGE)
    at.multiselect(key="survey_groups").set_value(["commissioners"]).run()
    section = next(e for e in at.expander if e.label.startswith("Commissioners"))
    assert section.proto.expanded


def test_each_base_is_said_once_per_group():
    at = open_page(PAGE, survey_all_open())
    lines = [m.value.replace("\\", "") for m in at.markdown]
    for group in survey.STAKEHOLDER_GROUPS:
        rows = survey.filter_findings(survey.distinct_findings(), group, None)
        table = survey.findings_table(rows.loc[~rows["topic"].isin(("sample", "demographics", "locations",
                                                                        "context"))])
        bases = table["Base"][table["Base"].astype(bool)]
        if bases.empty or bases.value_counts().iloc[0] < 2:
            continue
        common = bases.value_counts().index[0]
        assert not [line for line in lines if f"(base: {common})" in line], (group, common)
        assert sum(f"otherwise: {common}." in c.value.replace("\\", "") for c in at.caption) == 1, group
