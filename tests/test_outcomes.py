"""Outcome flags at every cut-off and reliable-change boundary, and their properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.outcomes import (
    OUTCOME_CATEGORIES,
    RATE_DEFINITIONS,
    finisher_counts,
    outcome_category_counts,
    paired_completeness,
    participant_outcomes,
    rate_counts,
    wilson_rate,
    with_derived_columns,
)
from analysis.schema import GAD7, PHQ9


def one(**values) -> pd.Series:
    row = {"participant_id": "p1", "group": "physical_activity", "phq9_first": 15.0, "phq9_last": 15.0,
           "gad7_first": 12.0, "gad7_last": 12.0}
    row.update(values)
    return participant_outcomes(pd.DataFrame([row])).iloc[0]


# --- caseness -------------------------------------------------------------------

def test_phq9_exactly_at_cutoff_is_a_case():
    assert one(phq9_first=10, gad7_first=3)["at_caseness"]


def test_phq9_one_below_cutoff_and_gad7_below_is_not_a_case():
    assert not one(phq9_first=9, gad7_first=7)["at_caseness"]


def test_gad7_exactly_at_cutoff_is_a_case():
    assert one(phq9_first=2, gad7_first=8)["at_caseness"]


# --- reliable change ------------------------------------------------------------

def test_phq9_fall_of_exactly_six_is_reliable_improvement():
    flags = one(phq9_first=16, phq9_last=10, gad7_first=12, gad7_last=12)
    assert flags["reliable_improvement"] and not flags["reliable_deterioration"]


def test_phq9_fall_of_five_is_not_reliable():
    flags = one(phq9_first=16, phq9_last=11, gad7_first=12, gad7_last=11)
    assert not flags["reliable_improvement"] and flags["no_reliable_change"]


def test_gad7_rise_of_exactly_four_is_reliable_deterioration():
    flags = one(phq9_first=12, phq9_last=12, gad7_first=10, gad7_last=14)
    assert flags["reliable_deterioration"] and not flags["reliable_improvement"]


def test_gad7_rise_of_three_is_not_deterioration():
    assert not one(gad7_first=10, gad7_last=13)["reliable_deterioration"]


def test_fall_on_one_and_rise_on_other_is_neither():
    flags = one(phq9_first=20, phq9_last=12, gad7_first=8, gad7_last=13)
    assert not flags["reliable_improvement"] and not flags["reliable_deterioration"]
    assert flags["no_reliable_change"]


# --- recovery -----------------------------------------------------------------------

def test_recovery_needs_both_last_scores_below_cutoff():
    assert one(phq9_first=15, phq9_last=9, gad7_first=12, gad7_last=7)["recovered"]
    assert not one(phq9_first=15, phq9_last=10, gad7_first=12, gad7_last=7)["recovered"]
    assert not one(phq9_first=15, phq9_last=9, gad7_first=12, gad7_last=8)["recovered"]


def test_not_at_caseness_cannot_recover():
    flags = one(phq9_first=9, phq9_last=2, gad7_first=7, gad7_last=1)
    assert not flags["at_caseness"] and not flags["recovered"]


def test_reliable_recovery_is_recovery_and_reliable_improvement():
    both = one(phq9_first=18, phq9_last=5, gad7_first=14, gad7_last=4)
    assert both["recovered"] and both["reliable_improvement"] and both["reliable_recovery"]
    only_recovered = one(phq9_first=11, phq9_last=8, gad7_first=9, gad7_last=7)
    assert only_recovered["recovered"] and not only_recovered["reliable_recovery"]
    assert only_recovered["outcome_category"] == "Recovered, not reliably improved"


def test_missing_last_score_is_unpaired_but_stays_in_denominators():
    episodes = pd.DataFrame([
        {"participant_id": "a", "group": "physical_activity", "phq9_first": 15.0, "phq9_last": np.nan,
         "gad7_first": 12.0, "gad7_last": 4.0},
        {"participant_id": "b", "group": "physical_activity", "phq9_first": 15.0, "phq9_last": 5.0,
         "gad7_first": 12.0, "gad7_last": 4.0},
    ])
    flags = participant_outcomes(episodes)
    assert flags["paired"].tolist() == [False, True]
    assert flags["recovered"].tolist() == [False, True]
    assert rate_counts(flags, "recovery")["physical_activity"] == (1, 2)
    assert rate_counts(flags, "reliable_improvement")["physical_activity"] == (1, 2)
    assert flags.iloc[0]["outcome_category"] == "Not paired (no end scores)"


# --- finishers ------------------------------------------------------------------------

def test_fewer_than_two_sessions_is_not_finished_and_excluded():
    episodes = pd.DataFrame([
        {"participant_id": "a", "group": "control", "phq9_first": 15.0, "phq9_last": 5.0, "gad7_first": 12.0,
         "gad7_last": 4.0, "treatment_sessions": 1.0},
        {"participant_id": "b", "group": "control", "phq9_first": 15.0, "phq9_last": 5.0, "gad7_first": 12.0,
         "gad7_last": 4.0, "treatment_sessions": 2.0},
    ])
    flags = participant_outcomes(episodes)
    assert flags["finished"].tolist() == [False, True]
    assert not flags.iloc[0]["recovered"] and not flags.iloc[0]["at_caseness"]
    assert rate_counts(flags, "recovery")["control"] == (1, 1)
    counts = finisher_counts(flags)
    assert counts.loc["control", "not_finished"] == 1 and counts.loc["control", "finishers"] == 1


def test_without_sessions_column_everyone_finished():
    flags = participant_outcomes(pd.DataFrame([{"participant_id": "a", "group": "control", "phq9_first": 3.0,
                                                "phq9_last": 3.0, "gad7_first": 3.0, "gad7_last": 3.0}]))
    assert flags["finished"].all()


# --- ADSM rule -------------------------------------------------------------------------

def test_adsm_used_when_both_scores_present():
    # GAD-7 below cut-off, SPIN at caseness (19) and falling by exactly RC 10 to below cut-off.
    flags = one(phq9_first=8, phq9_last=6, gad7_first=5, gad7_last=5, adsm_measure="SPIN", adsm_first=25.0,
                adsm_last=15.0)
    assert flags["anxiety_measure"] == "SPIN"
    assert flags["at_caseness"] and flags["recovered"] and flags["reliable_improvement"]


def test_adsm_missing_end_score_falls_back_to_gad7():
    flags = one(phq9_first=8, phq9_last=6, gad7_first=5, gad7_last=5, adsm_measure="SPIN", adsm_first=25.0,
                adsm_last=np.nan)
    assert flags["anxiety_measure"] == "gad7"
    assert not flags["at_caseness"]  # GAD-7 5 and PHQ-9 8 are below cut-off
    assert flags["anxiety_cutoff"] == GAD7.caseness


def test_mobility_inventory_decimal_reliable_change_boundary():
    flags = one(phq9_first=8, phq9_last=8, gad7_first=5, gad7_last=5, adsm_measure="MI", adsm_first=3.10,
                adsm_last=2.37)
    assert flags["anxiety_measure"] == "MI"
    assert flags["reliable_improvement"]  # a fall of exactly 0.73 despite binary floating point
    assert not flags["recovered"]  # 2.37 is not below the 2.3 cut-off


def test_mobility_inventory_recovery_below_cutoff():
    flags = one(phq9_first=8, phq9_last=8, gad7_first=5, gad7_last=5, adsm_measure="MI", adsm_first=3.0,
                adsm_last=2.2)
    assert flags["at_caseness"] and flags["recovered"] and flags["reliable_recovery"]


# --- rates and tables ---------------------------------------------------------------------

def test_wilson_known_values_newcombe_1998_table_1():
    # Newcombe (1998) Statistics in Medicine 17:857, Table I, method 3 (Wilson score, no correction).
    for (x, n), (lo, hi) in {(81, 263): (0.2553, 0.3662), (15, 148): (0.0624, 0.1605),
                             (0, 20): (0.0000, 0.1611), (1, 29): (0.0061, 0.1718)}.items():
        rate = wilson_rate(x, n)
        assert rate.ci95[0] == pytest.approx(lo, abs=5e-5)
        assert rate.ci95[1] == pytest.approx(hi, abs=5e-5)


def test_wilson_empty_denominator_is_none_with_reason():
    rate = wilson_rate(0, 0)
    assert rate.rate is None and rate.ci95 is None and "denominator" in rate.reason


def test_sample_rates_reproduce_the_published_pilot(sample_episodes):
    flags = participant_outcomes(sample_episodes)
    counts = rate_counts(flags, "recovery")
    assert counts["physical_activity"] == (12, 19)
    assert counts["control"] == (5, 14)
    assert round(wilson_rate(*counts["physical_activity"]).rate, 2) == 0.63
    assert round(wilson_rate(*counts["control"]).rate, 2) == 0.36


def test_outcome_categories_partition_finishers(sample_episodes):
    flags = participant_outcomes(sample_episodes)
    table = outcome_category_counts(flags)
    for group, sub in table.groupby("group"):
        assert sub["count"].sum() == int((flags["group"] == group).sum())
        assert list(sub["category"]) == list(OUTCOME_CATEGORIES)


def test_each_adsm_brings_its_own_cutoff_and_reliable_change():
    from analysis.outcomes import MeasureRows
    from analysis.schema import ADSMS

    codes = [*ADSMS, None, "SPIN"]
    episodes = pd.DataFrame({
        "participant_id": [f"p{i}" for i in range(len(codes))],
        "group": ["physical_activity", "control"] * 4,  # six ADSMs, none, and SPIN again: eight rows
        "phq9_first": 12.0, "phq9_last": 8.0, "gad7_first": 9.0, "gad7_last": 7.0, "treatment_sessions": 4.0,
        "adsm_measure": pd.array(codes, dtype="str"),
        "adsm_first": [20.0] * (len(codes) - 1) + [np.nan],  # the last SPIN row lacks its first score
        "adsm_last": 10.0,
    })
    flags = participant_outcomes(episodes)
    for i, code in enumerate(codes):
        measure = ADSMS[code] if code is not None and i < len(codes) - 1 else GAD7
        assert flags["anxiety_measure"].iloc[i] == (code if measure is not GAD7 else "gad7")
        assert flags["anxiety_cutoff"].iloc[i] == measure.caseness
        assert flags["anxiety_rc"].iloc[i] == measure.reliable_change
        assert flags["anxiety_first"].iloc[i] == (20.0 if measure is not GAD7 else 9.0)
    # the shared row facts give the same flags and counts as working them out afresh
    rows = MeasureRows.of(episodes)
    pd.testing.assert_frame_equal(participant_outcomes(episodes, rows), flags)
    pd.testing.assert_frame_equal(finisher_counts(flags, rows.group), finisher_counts(flags))
    pd.testing.assert_frame_equal(paired_completeness(flags, rows.group), paired_completeness(flags))
    assert finisher_counts(flags).loc["physical_activity", "participants"] == 4


def test_paired_completeness_against_standard():
    episodes = pd.DataFrame({"participant_id": list("abcdefghij"), "group": ["control"] * 10,
                             "phq9_first": [12.0] * 10, "phq9_last": [5.0] * 9 + [np.nan],
                             "gad7_first": [9.0] * 10, "gad7_last": [3.0] * 10})
    table = paired_completeness(participant_outcomes(episodes))
    assert table.loc["control", "completeness"] == pytest.approx(0.9)
    assert bool(table.loc["control", "meets_standard"])


def test_severity_bands_at_boundaries():
    scores = pd.Series([0.0, 4, 5, 9, 10, 14, 15, 19, 20, 27])
    bands = with_derived_columns(pd.DataFrame({"phq9_first": scores}))["baseline_severity"].tolist()
    assert bands == ["Minimal (0–4)", "Minimal (0–4)", "Mild (5–9)", "Mild (5–9)", "Moderate (10–14)",
                     "Moderate (10–14)", "Moderately severe (15–19)", "Moderately severe (15–19)",
                     "Severe (20–27)", "Severe (20–27)"]


# --- properties ------------------------------------------------------------------------

score = st.one_of(st.none(), st.integers(0, 27))
anx = st.one_of(st.none(), st.integers(0, 21))
row = st.fixed_dictionaries({
    "group": st.sampled_from(["physical_activity", "control"]),
    "phq9_first": st.integers(0, 27), "phq9_last": score,
    "gad7_first": st.integers(0, 21), "gad7_last": anx,
    "treatment_sessions": st.integers(0, 20),
})


@settings(max_examples=200, deadline=None)
@given(st.lists(row, min_size=1, max_size=40))
def test_flag_properties(rows):
    episodes = pd.DataFrame(rows).astype({"phq9_last": "float64", "gad7_last": "float64"})
    episodes["participant_id"] = [f"p{i}" for i in range(len(episodes))]
    flags = participant_outcomes(episodes)
    assert not (flags["reliable_improvement"] & flags["reliable_deterioration"]).any()
    assert (flags.loc[flags["recovered"], "at_caseness"]).all()
    assert (flags.loc[flags["recovered"], "paired"]).all()
    assert (flags.loc[flags["reliable_recovery"], "recovered"]).all()
    for rate in RATE_DEFINITIONS:
        for count, denominator in rate_counts(flags, rate).values():
            assert 0 <= count <= denominator
            value = wilson_rate(count, denominator).rate
            assert value is None or 0.0 <= value <= 1.0


def test_thresholds_come_from_schema():
    # The flags use the schema's numbers: one below PHQ-9 RC is not reliable, at RC is.
    fall = PHQ9.reliable_change
    assert one(phq9_first=20, phq9_last=20 - fall)["reliable_improvement"]
    assert not one(phq9_first=20, phq9_last=20 - fall + 1)["reliable_improvement"]
