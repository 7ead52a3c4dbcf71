"""Issue 18, item 1: in presentation-safe mode no page shows a count below 5 or an unrounded count,
in any sentence, caption, takeaway, metric, table or chart (AppTest, every page, ?safe=true).

And item 2: a verdict is never contradicted by the interval printed beside it.
"""

from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from analysis.compare import compare_counts
from analysis.disclosure import DISCLOSURE_RULES, SAFE_MODE_NOTE, SUPPRESS_BELOW
from analysis.summary import BORDERLINE, CHANCE, CLEAR, evidence, rate_evidence_note, recovery_verdict
from tests.apptest_support import open_page
from tests.conftest import ROOT

# Every page. The Survey findings page is left out: its figures are published survey aggregates (each
# with its source), not participant data, and disclosure control does not apply to them (as the deck
# notes say); the survey sentences on other pages are exempt for the same reason (EXEMPT below).
PUBLISHED_ONLY = {"pages/survey.py"}
PAGES = tuple(page for page in re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', (ROOT / "app.py").read_text())
              if page not in PUBLISHED_ONLY)  # every page in the app's navigation, new ones included

NUMBER = r"(\d[\d,]*)"
# Phrases that state how many people: "n = 19", "38 people", "12 of 19" (not "6 of 6 levels").
COUNT_PHRASES = (
    re.compile(rf"\bn\s*=\s*{NUMBER}"),
    re.compile(rf"(?<![\d.,])(?<!than )(?<!least )(?<!most ){NUMBER}\s+(?:people|participants|finishers|persons?)\b"),
    re.compile(rf"(?<![\d.,]){NUMBER} of {NUMBER}\b(?!\s*(?:levels|characteristics|baseline|slides?|the))"),
)
# Published survey figures and the published pilot are not participant data (their own sources).
EXEMPT = re.compile(r"respond|commissioner|survey|published|“|We only had|slide \d|mentioned|position",
                    re.IGNORECASE)


def _texts(at: AppTest) -> list[str]:
    texts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning]
    texts += [i.value for i in at.info] + [s.value for s in at.success]
    texts += [f"{m.label}: n = {m.value}" if re.fullmatch(r"[\d,]+", str(m.value)) else f"{m.label}: {m.value}"
              for m in at.metric]
    for frame in [*at.table, *at.dataframe]:
        table = frame.value
        for column in table.columns:
            count_column = str(column).strip().lower() in {"n", "finishers", "with paired scores", "count", "people"}
            for cell in table[column].astype(str):
                texts.append(f"n = {cell}" if count_column and re.fullmatch(r"[\d,]+", cell) else cell)
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for trace in spec.get("data", []):
            hover = trace.get("hovertemplate")
            hovers = hover if isinstance(hover, list) else [hover]
            custom = trace.get("customdata") or []
            for template in filter(None, hovers):
                if "%{customdata[0]}" in template:
                    texts += [template.replace("%{customdata[0]}", str(row[0])) for row in custom]
                else:
                    texts.append(template)
        texts += [a.get("text", "") for a in spec.get("layout", {}).get("annotations", [])]
    return [t for t in texts if isinstance(t, str)]


def shown_counts(text: str) -> list[tuple[int, str]]:
    """Every count a text states, with its context."""
    text = text.replace("\\", "").replace(SAFE_MODE_NOTE, "").replace(DISCLOSURE_RULES, "")
    found = []
    for sentence in re.split(r"(?<=[.;\n])\s", text):
        if EXEMPT.search(sentence):
            continue
        for pattern in COUNT_PHRASES:
            for match in pattern.finditer(sentence):
                for number in match.groups():
                    found.append((int(number.replace(",", "")), sentence.strip()[:160]))
    return found


def test_the_scanner_finds_the_defects_the_issue_reports():
    found = shown_counts("Caution: 38 people finished treatment. Mean PHQ-9 went from 14.8 to 8.8 (n = 19); "
                         "12 of 19 recovered. 6 of 6 levels have fewer than 10 people per group.")
    assert [n for n, _ in found] == [38, 19, 12, 19]


@pytest.mark.parametrize("page", PAGES)
def test_safe_mode_pages_show_no_small_or_unrounded_count(page):
    at = open_page(page, {"safe": True})
    bad = [(n, where) for text in _texts(at) for n, where in shown_counts(text)
           if n < SUPPRESS_BELOW or n % 5]
    assert not bad, bad


def test_safe_mode_symptom_change_session_by_session_rounds_every_n():
    at = open_page("pages/symptom_change.py", {"safe": True})
    text = "\n".join(_texts(at))
    assert "n = 19" not in text and "n = 9)" not in text and "n = 6)" not in text
    assert "n = 20" in text  # the same takeaways, their counts rounded


# --- item 2: the verdict and the interval beside it agree, or the disagreement is explained ------------


def _disagreeing():
    """A constructed table where the Newcombe CI excludes 0 but Fisher's exact p is above 0.05."""
    comparison = compare_counts("recovery", 6, 12, 1, 12)  # 50% vs 8%: Newcombe 5 to 67, Fisher p = 0.07
    assert comparison.fisher.p > 0.05 and comparison.difference.ci95[0] > 0
    return comparison


def test_evidence_reads_both_the_test_and_the_interval():
    assert evidence(0.07, (0.02, 0.63)) == BORDERLINE
    assert evidence(0.04, (-0.01, 0.5)) == BORDERLINE
    assert evidence(0.01, (0.1, 0.5)) == CLEAR
    assert evidence(0.3, (-0.1, 0.4)) == CHANCE
    assert evidence(0.07, (1.05, 4.49), null=1.0) == BORDERLINE


def test_recovery_verdict_never_calls_chance_what_its_interval_excludes():
    comparison = _disagreeing()
    text = recovery_verdict(comparison, 23)
    assert "could be chance" not in text and "unlikely to be chance" not in text
    assert "borderline" in text and "Newcombe" in text and "Fisher's exact test" in text
    note = rate_evidence_note("Recovery", comparison)
    assert note and "Newcombe" in note and "excludes no difference" in note


def test_sample_verdicts_name_their_methods_and_agree(sample_analysis):
    text = sample_analysis.recovery_verdict()
    assert "could be chance" in text and "includes no difference" in text and "Newcombe" in text
    assert rate_evidence_note("Recovery", sample_analysis.rates["recovery"]) is None
    # Reliable improvement on the sample: p = 0.05 beside an RR CI of 1.05 to 4.49 and a Newcombe CI of 5 to 60.
    note = rate_evidence_note("Reliable improvement", sample_analysis.rates["reliable_improvement"])
    assert note and "relative risk" in note and "Newcombe" in note and "borderline" in note


def test_the_deck_does_not_call_a_borderline_rate_chance(sample_analysis):
    from analysis.report.story import build_story

    rates = next(s for s in build_story(sample_analysis) if s.key == "rates")
    assert "none is clearly more than chance" not in rates.takeaway
    assert "borderline for reliable improvement" in rates.takeaway
    assert "Fisher's exact test gives" in rates.notes


def test_recovery_page_explains_the_disagreement():
    at = open_page("pages/recovery.py")
    info = "\n".join(i.value for i in at.info)
    assert "Reliable improvement" in info and "borderline" in info
