"""The data dictionary, definitions and methods text are generated from the constants the code uses."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from analysis import compare, dictionary, disclosure, power
from analysis.outcomes import RATE_DEFINITIONS
from analysis.schema import (
    ADSMS,
    EPISODE_COLUMNS,
    FINISHED_MIN_SESSIONS,
    GAD7,
    KNOWN_SUBGROUP_COLUMNS,
    PAIRED_COMPLETENESS_STANDARD,
    PHQ9,
    SESSION_COLUMNS,
    WSAS,
)
from analysis.survey import PILOT_DOCUMENT

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def test_committed_csv_is_the_functions_output():
    committed = dictionary.DICTIONARY_PATH.read_text(encoding="utf-8")
    assert committed == dictionary.dictionary_csv()
    frame = pd.read_csv(dictionary.DICTIONARY_PATH, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(frame, dictionary.full_dictionary())


def test_dictionary_rows_follow_the_schema():
    episode = dictionary.data_dictionary("episode")
    session = dictionary.data_dictionary("session")
    assert list(episode.columns) == list(dictionary.DICTIONARY_COLUMNS)
    assert episode["column"].tolist() == [c.name for c in EPISODE_COLUMNS] + list(KNOWN_SUBGROUP_COLUMNS)
    assert session["column"].tolist() == [c.name for c in SESSION_COLUMNS]
    assert set(episode["level"]) == {"episode"} and set(session["level"]) == {"session"}
    phq9_first = episode.set_index("column").loc["phq9_first"]
    assert phq9_first["type_and_range"] == PHQ9.range_text == "whole number 0–27"
    assert "derived" in episode.set_index("column").loc["baseline_severity", "required"]
    full = dictionary.full_dictionary()
    assert len(full) == len(episode) + len(session)


def test_dictionary_rejects_an_unknown_level():
    with pytest.raises(ValueError, match="level"):
        dictionary.data_dictionary("participant")  # type: ignore[arg-type]


def test_main_writes_and_checks(tmp_path, capsys):
    target = tmp_path / "dictionary.csv"
    assert dictionary.main(["--output", str(target), "--check"]) == 1  # missing: out of date
    assert dictionary.main(["--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == dictionary.dictionary_csv()
    assert dictionary.main(["--output", str(target), "--check"]) == 0
    target.write_text(target.read_text(encoding="utf-8").replace("PHQ-9", "PHQ9"), encoding="utf-8")
    assert dictionary.main(["--output", str(target), "--check"]) == 1
    assert "out of date" in capsys.readouterr().err


def test_thresholds_table_is_the_schema():
    table = dictionary.thresholds_table().set_index("Measure")
    measures = [PHQ9, GAD7, *ADSMS.values(), WSAS]
    assert table.index.tolist() == [m.label for m in measures]
    for m in measures:
        row = table.loc[m.label]
        assert row["Full name"] == m.full_name
        assert row["Range"] == m.range_text
        assert row["Caseness (score ≥)"] == ("—" if m.caseness is None else f"{m.caseness:g}")
        assert row["Reliable change (change ≥)"] == ("—" if m.reliable_change is None else f"{m.reliable_change:g}")
        assert row["MCID (fall ≥)"] == ("—" if m.mcid is None else f"{m.mcid:g}")
    assert table.loc["MI", "Caseness (score ≥)"] == "2.3" and table.loc["MI", "Reliable change (change ≥)"] == "0.73"


def test_rate_definitions_table():
    table = dictionary.rate_definitions_table()
    assert table["Rate"].tolist() == [d.label for d in RATE_DEFINITIONS.values()]
    assert table["Denominator"].tolist() == [d.denominator for d in RATE_DEFINITIONS.values()]
    assert table.set_index("Rate").loc["Reliable deterioration", "Higher is better"] == "no"


def test_flag_rules_read_the_schema_constants():
    rules = dict(dictionary.flag_rules())
    assert rules["Finished a course of treatment"].startswith(f"treatment_sessions ≥ {FINISHED_MIN_SESSIONS}.")
    assert f"PHQ-9 first ≥ {PHQ9.caseness:g}" in rules["At caseness"]
    assert f"GAD-7 {GAD7.caseness:g}" in rules["At caseness"]
    for measure in ADSMS.values():
        assert f"{measure.label} {measure.caseness:g}" in rules["At caseness"]
        assert f"{measure.label} {measure.reliable_change:g}" in rules["Reliable improvement"]
    assert f"PHQ-9 fell by ≥ {PHQ9.reliable_change:g}" in rules["Reliable improvement"]
    assert f"{PAIRED_COMPLETENESS_STANDARD * 100:.0f}% standard" in rules["Paired"]
    assert "recovered and reliably improved" in rules["Reliable recovery"]


def test_changing_a_constant_changes_the_text(monkeypatch):
    monkeypatch.setattr(dictionary, "PHQ9", dataclasses.replace(PHQ9, caseness=11, reliable_change=7))
    monkeypatch.setattr(dictionary, "FINISHED_MIN_SESSIONS", 3)
    rules = dict(dictionary.flag_rules())
    assert "PHQ-9 first ≥ 11" in rules["At caseness"]
    assert "PHQ-9 last < 11" in rules["Recovered"]
    assert "PHQ-9 fell by ≥ 7" in rules["Reliable improvement"]
    assert rules["Finished a course of treatment"].startswith("treatment_sessions ≥ 3.")
    assert dictionary.thresholds_table().iloc[0]["Caseness (score ≥)"] == "11"


def test_methods_table_has_every_method_with_its_reference(monkeypatch):
    table = dictionary.methods_table()
    by_key = table.set_index("key")
    for key, text in compare.METHODS.items():
        assert by_key.loc[key, "Description and reference"] == text
    assert by_key.loc["power_rates", "Description and reference"] == power.RATES_METHOD
    assert by_key.loc["power_means", "Description and reference"] == power.MEANS_METHOD
    assert by_key.loc["observed_power", "Description and reference"] == power.OBSERVED_POWER_WARNING
    assert by_key.loc["disclosure", "Description and reference"] == disclosure.DISCLOSURE_RULES
    assert f"{compare.PERMUTATION_RESAMPLES:,} resamples" in by_key.loc["permutation", "Settings"]
    assert f"{compare.EXACT_ODDS_RATIO_MAX_N:,}" in by_key.loc["odds_ratio_exact", "Settings"]
    # Every statistical method names a reference (an author and a year), in its description or settings.
    for key in compare.METHODS:
        text = by_key.loc[key, "Description and reference"] + " " + by_key.loc[key, "Settings"]
        assert re.search(r"[A-Z][a-z]+.* (19|20)\d\d", text), key
    monkeypatch.setitem(compare.METHODS, "new_method", "A new method (Someone 2030)")
    assert "new_method" in dictionary.methods_table()["key"].tolist()


def test_method_sentence_joins_settings():
    assert dictionary.method_sentence({"Description and reference": "A test (X 2000)", "Settings": "Seed 1."}) == \
        "A test (X 2000). Seed 1."
    assert dictionary.method_sentence({"Description and reference": "A test.", "Settings": ""}) == "A test."


def test_limitations_quote_the_pilot_write_up():
    quoted = [item for item in dictionary.PILOT_LIMITATIONS if item.quote]
    titles = [item.title for item in dictionary.PILOT_LIMITATIONS]
    assert {"Self-selection", "Small numbers", "Synthetic sample"} <= set(titles)
    assert all(item.source_document == PILOT_DOCUMENT for item in quoted)
    assert "38 participants" in next(i.quote for i in quoted if i.title == "Small numbers")
    source = SEEDS / PILOT_DOCUMENT
    if not source.exists():
        pytest.skip(f"the pilot write-up is not present at {source} (it lives outside the repo)")
    text = re.sub(r"\s+", " ", source.read_text(encoding="utf-8"))
    for item in quoted:
        assert item.quote in text, item.title
        assert item.source_section in text


def test_dictionary_csv_round_trips_through_pandas():
    frame = pd.read_csv(io.StringIO(dictionary.dictionary_csv()), dtype=str, keep_default_na=False)
    assert frame.columns.tolist() == list(dictionary.DICTIONARY_COLUMNS)
    assert "participant_id" in frame["column"].tolist()
