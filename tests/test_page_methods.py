"""The Methods page in Streamlit's AppTest: every definition, threshold and method comes from the code's constants."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from analysis import compare, dictionary, disclosure, power, schema, survey
from analysis.schema import GAD7, PHQ9
from dashboard.ui import cell_text
from tests.apptest_support import METHODS_OPEN_KEYS, open_page

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/methods.py"


def _open(**state) -> AppTest:
    """The page with its methods table's expander open (drawn only while open)."""
    return open_page(PAGE, {**dict.fromkeys(METHODS_OPEN_KEYS, True), **state}, from_home=False)


def _text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def _table(at: AppTest, columns: list[str]) -> pd.DataFrame:
    """The page's table with those columns, without the zero-width break points ``ui.breakable`` puts
    after separators in long words (display only: the words are the same)."""
    shown = next(d.value for d in at.table if list(d.value.columns) == columns)
    return shown.map(lambda v: re.sub("([/._?&=,;-])\u200b", r"\1", v) if isinstance(v, str) else v)


def test_definitions_and_thresholds_come_from_the_schema():
    at = _open()
    assert at.title[0].value == "Methods and definitions"
    text = _text(at)
    for name, rule in dictionary.flag_rules():
        assert f"- **{name}**: {rule}" in text
    assert f"PHQ-9 first ≥ {PHQ9.caseness:g}" in text and f"GAD-7 {GAD7.caseness:g}" in text
    assert f"(PHQ-9: {PHQ9.caseness:g} or more)" in text
    assert f"(PHQ-9: {PHQ9.reliable_change:g} points)" in text
    assert f"treatment_sessions ≥ {schema.FINISHED_MIN_SESSIONS}" in text
    assert f"{schema.PAIRED_COMPLETENESS_STANDARD * 100:.0f}% standard" in text
    assert f"national recovery standard {schema.RECOVERY_STANDARD * 100:.0f}%" in text
    thresholds = dictionary.thresholds_table()
    pd.testing.assert_frame_equal(_table(at, thresholds.columns.tolist()), thresholds)
    rates = dictionary.rate_definitions_table()
    pd.testing.assert_frame_equal(_table(at, rates.columns.tolist()), rates)


def test_every_method_with_its_reference_is_listed():
    at = _open()
    text = _text(at)
    methods = dictionary.methods_table()
    for key, description in compare.METHODS.items():
        assert description in text, key
    for row in methods.to_dict("records"):
        assert f"- *{row['Method']}*: {dictionary.method_sentence(row)}" in text
    assert power.RATES_METHOD in text and power.MEANS_METHOD in text
    assert power.OBSERVED_POWER_WARNING in text and disclosure.DISCLOSURE_RULES in text
    shown = _table(at, methods.columns.tolist())
    assert set(compare.METHODS) <= set(shown["key"])


def test_data_dictionary_limitations_and_survey():
    at = _open()
    dictionary_table = _table(at, list(dictionary.DICTIONARY_COLUMNS))
    # Cells are shown as text in a table that fits the page (``ui.cell_text`` escapes Markdown).
    pd.testing.assert_frame_equal(dictionary_table, dictionary.full_dictionary().astype(object).map(cell_text),
                                  check_dtype=False)
    text = _text(at)
    assert dictionary.required_columns_text("episode") in text
    for item in dictionary.PILOT_LIMITATIONS:
        assert f"**{item.title}.** {item.summary}" in text
        if item.quote:
            assert f"“{item.quote}”" in text
    assert survey.methods_text() in text
    for sample in survey.SURVEY_SAMPLES:
        assert f"{sample.label}: {sample.respondents} respondents" in text


def test_changing_a_constant_changes_the_page(monkeypatch):
    changed = dataclasses.replace(PHQ9, caseness=11, reliable_change=7)
    monkeypatch.setattr(schema, "PHQ9", changed)
    monkeypatch.setattr(dictionary, "PHQ9", changed)
    monkeypatch.setattr(dictionary, "FINISHED_MIN_SESSIONS", 3)
    monkeypatch.setitem(compare.METHODS, "new_method", "A brand-new method (Someone 2030)")
    # The page's tables of constants are made once per server process (state.constant): a changed constant
    # shows after a restart, as after any code change. A fresh process is simulated by a fresh cache.
    from dashboard import shared_cache

    shared_cache.clear()
    at = _open()
    shared_cache.clear()  # the patched tables must not outlive this test
    text = _text(at)
    assert "PHQ-9 first ≥ 11" in text and "PHQ-9 first ≥ 10" not in text
    assert "(PHQ-9: 11 or more)" in text and "(PHQ-9: 7 points)" in text
    assert "treatment_sessions ≥ 3." in text
    assert "A brand-new method (Someone 2030)" in text
    thresholds = _table(at, dictionary.thresholds_table().columns.tolist())
    assert thresholds.iloc[0]["Caseness (score ≥)"] == "11"


def test_the_page_is_the_same_in_safe_mode_and_under_a_filter():
    plain = _text(_open())
    filtered = _open(f_gender=["Female"], safe=True)
    assert any("Filter active" in w.value for w in filtered.warning)
    # Definitions do not depend on the data shown: only the banner differs.
    assert _text(filtered) == plain
