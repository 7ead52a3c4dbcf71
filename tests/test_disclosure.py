"""Safe mode: suppression, rounding, hidden percentages and the JSON summary."""

from __future__ import annotations

import copy
import json
import math

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.disclosure import (
    DISCLOSURE_RULES,
    SAFE_MODE_NOTE,
    UNDECLARED_REASON,
    make_summary_safe,
    safe_ci,
    safe_count,
    safe_rate,
    safe_table,
)


def _figures(block: dict) -> dict:
    """A block without its "reason" (checked separately: every hidden block carries one)."""
    assert any(v is None for k, v in block.items() if k != "reason") == bool(block.get("reason"))
    return {k: v for k, v in block.items() if k != "reason"}


# --- counts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, None), (1, None), (2, None), (3, None), (4, None),
        (5, 5), (6, 5), (7, 5), (8, 10), (9, 10), (10, 10),
        (12, 10), (13, 15), (17, 15), (18, 20), (19, 20), (22, 20), (23, 25),
        (100, 100), (102, 100), (103, 105), (1_234_567, 1_234_565), (1_234_568, 1_234_570),
    ],
)
def test_count_boundaries(n: int, shown: int | None) -> None:
    assert safe_count(n) == shown


def test_missing_count_stays_missing() -> None:
    assert safe_count(None) is None
    assert safe_count(float("nan")) is None


def test_int_like_counts_are_accepted() -> None:
    import numpy as np

    assert safe_count(np.int64(13)) == 15
    assert safe_count(12.0) == 10


@pytest.mark.parametrize(("bad", "error"), [(-1, ValueError), (7.5, ValueError), ("7", TypeError), (True, TypeError)])
def test_bad_counts_raise_clearly(bad: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="count"):
        safe_count(bad)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**9))
def test_rounded_counts_are_multiples_of_5_within_2(n: int) -> None:
    shown = safe_count(n)
    if n < 5:
        assert shown is None
    else:
        assert shown % 5 == 0 and abs(shown - n) <= 2 and shown >= 5


# --- percentages ------------------------------------------------------------------------------


def test_percentage_hidden_at_numerator_4_shown_at_5() -> None:
    assert safe_rate(4, 19, 4 / 19) is None
    assert safe_rate(5, 19, 5 / 19) == pytest.approx(5 / 19)


def test_percentage_hidden_at_denominator_4_shown_at_5() -> None:
    assert safe_rate(4, 4, 1.0) is None  # numerator 4 too
    assert safe_rate(5, 4, 1.25) is None  # a denominator of 4 hides whatever the numerator
    assert safe_rate(5, 5, 1.0) == 1.0


def test_zero_numerator_hides_the_percentage() -> None:
    assert safe_rate(0, 50, 0.0) is None


def test_percentage_uses_the_unrounded_counts() -> None:
    # 12 of 19 shows as 63% although the counts show as 10 and 20 (which would be 50%).
    shown = safe_rate(12, 19, 12 / 19)
    assert round(100 * shown) == 63
    assert (safe_count(12), safe_count(19)) == (10, 20)


def test_missing_parts_hide_the_percentage() -> None:
    assert safe_rate(None, 19, 0.5) is None
    assert safe_rate(12, None, 0.5) is None
    assert safe_rate(12, 19, None) is None


def test_ci_follows_the_percentage_rule() -> None:
    assert safe_ci(12, 19, [0.41, 0.81]) == (0.41, 0.81)
    assert safe_ci(4, 19, [0.06, 0.43]) is None
    assert safe_ci(12, 4, (0.1, 0.9)) is None
    assert safe_ci(12, 19, None) is None


def test_notes_state_the_rules() -> None:
    for text in (SAFE_MODE_NOTE, DISCLOSURE_RULES):
        assert "below 5" in text and "nearest 5" in text
    assert "63%" in SAFE_MODE_NOTE


# --- the JSON summary ---------------------------------------------------------------------------


def _summary() -> dict:
    """A realistic summary in the shape of the design doc's machine-readable summary."""
    return {
        "participants": {"physical_activity": 19, "control": 14},
        "rates": {
            "recovery": {
                "physical_activity": {"count": 12, "denominator": 19, "rate": 0.632, "ci95": [0.410, 0.809]},
                "control": {"count": 5, "denominator": 14, "rate": 0.357, "ci95": [0.163, 0.612]},
                "difference": {"estimate": 0.275, "ci95": [-0.065, 0.546]},
                "odds_ratio": {"estimate": 2.98, "ci95": [0.59, 16.2]},
                "fisher_p": 0.166,
                "relative_risk": {"estimate": 1.77, "ci95": [0.82, 3.81], "method": "Katz log"},
                "nnt": {"estimate": 3.6, "ci95": None},
            },
            "reliable_deterioration": {
                "physical_activity": {"count": 1, "denominator": 19, "rate": 0.053, "ci95": [0.009, 0.246]},
                "control": {"count": 2, "denominator": 14, "rate": 0.143, "ci95": [0.040, 0.399]},
                "difference": {"estimate": -0.090, "ci95": [-0.328, 0.124]},
                "odds_ratio": {"estimate": 0.34, "ci95": [0.005, 7.3]},
                "fisher_p": 0.565,
            },
            "reliable_improvement": {
                "physical_activity": {"count": 15, "denominator": 19, "rate": 0.789, "ci95": [0.567, 0.915]},
                "control": {"count": 8, "denominator": 14, "rate": 0.571, "ci95": [0.326, 0.786]},
                "difference": {"estimate": 0.218, "ci95": [-0.097, 0.494]},
                "odds_ratio": {"estimate": 2.73, "ci95": [0.50, 16.0]},
                "fisher_p": 0.257,
            },
        },
        "measures": {
            "phq9": {
                "physical_activity": {"n": 18, "mean_first": 15.2, "sd_first": 4.1, "mean_last": 8.3,
                                      "sd_last": 5.0, "mean_change": -6.9, "sd_change": 4.8},
                "control": {"n": 13, "mean_first": 14.8, "sd_first": 3.9, "mean_last": 11.0,
                            "sd_last": 5.2, "mean_change": -3.8, "sd_change": 4.4},
                "welch": {"difference": -3.1, "ci95": [-6.4, 0.2], "t": -1.9, "df": 27.5, "p": 0.067},
                "mann_whitney": {"u": 75.0, "p": 0.08},
                "hedges_g": {"estimate": -0.66, "ci95": [-1.39, 0.07]},
                "ancova": {"difference": -2.9, "ci95": [-6.0, 0.2], "p": 0.066, "n": 31},
            },
            "gad7": {
                "physical_activity": {"n": 18, "mean_first": 12.0, "sd_first": 3.5, "mean_last": 7.1,
                                      "sd_last": 4.0, "mean_change": -4.9, "sd_change": 4.1},
                "control": {"n": 4, "mean_first": 11.5, "sd_first": 3.1, "mean_last": 9.0,
                            "sd_last": 2.9, "mean_change": -2.5, "sd_change": 3.0},
                "welch": {"difference": -2.4, "ci95": [-7.1, 2.3], "t": -1.4, "df": 5.1, "p": 0.22},
                "mann_whitney": {"u": 22.0, "p": 0.3},
                "hedges_g": {"estimate": -0.6, "ci95": [-1.7, 0.5]},
                "ancova": {"difference": -2.0, "ci95": [-5.9, 1.9], "p": 0.3},
                "label": "GAD-7",
            },
        },
        "paired_completeness": 0.94,
        "source": {"file": "pilot.csv", "rows": 3},
    }


def test_summary_input_is_not_mutated() -> None:
    summary = _summary()
    before = copy.deepcopy(summary)
    safe = make_summary_safe(summary)
    assert summary == before
    assert "disclosure_control" not in summary
    # No shared nested objects either: editing the output leaves the input alone.
    safe["rates"]["recovery"]["physical_activity"]["ci95"].append(1.0)
    safe["participants"]["control"] = 0
    assert summary == before


def test_summary_participants_are_rounded() -> None:
    assert make_summary_safe(_summary())["participants"] == {"physical_activity": 20, "control": 15}


def test_summary_rates_shown_when_both_groups_are_big_enough() -> None:
    recovery = make_summary_safe(_summary())["rates"]["recovery"]
    assert recovery["physical_activity"] == {"count": 10, "denominator": 20, "rate": 0.632,
                                             "ci95": [0.410, 0.809]}
    # Count 5 is on the boundary: shown (as 5) with its rate.
    assert recovery["control"] == {"count": 5, "denominator": 15, "rate": 0.357, "ci95": [0.163, 0.612]}
    assert recovery["difference"] == {"estimate": 0.275, "ci95": [-0.065, 0.546]}
    assert recovery["odds_ratio"]["estimate"] == 2.98
    assert recovery["fisher_p"] == 0.166
    assert recovery["relative_risk"]["method"] == "Katz log"


def test_summary_rates_and_comparisons_hidden_for_small_numerators() -> None:
    deterioration = make_summary_safe(_summary())["rates"]["reliable_deterioration"]
    assert _figures(deterioration["physical_activity"]) == {"count": None, "denominator": 20, "rate": None, "ci95": None}
    assert _figures(deterioration["control"]) == {"count": None, "denominator": 15, "rate": None, "ci95": None}
    assert _figures(deterioration["difference"]) == {"estimate": None, "ci95": None}
    assert _figures(deterioration["odds_ratio"]) == {"estimate": None, "ci95": None}
    assert deterioration["fisher_p"] is None


def test_one_hidden_group_hides_every_comparison_including_unknown_ones() -> None:
    summary = _summary()
    summary["rates"]["recovery"]["control"]["count"] = 4
    recovery = make_summary_safe(summary)["rates"]["recovery"]
    assert recovery["physical_activity"]["rate"] == 0.632  # the other group is still shown
    assert recovery["control"]["rate"] is None
    assert _figures(recovery["difference"]) == {"estimate": None, "ci95": None}
    assert recovery["fisher_p"] is None and recovery["reason"]
    assert _figures(recovery["relative_risk"]) == {"estimate": None, "ci95": None, "method": "Katz log"}
    assert _figures(recovery["nnt"]) == {"estimate": None, "ci95": None}


def test_summary_measures_shown_when_both_groups_are_big_enough() -> None:
    phq9 = make_summary_safe(_summary())["measures"]["phq9"]
    assert phq9["physical_activity"]["n"] == 20 and phq9["physical_activity"]["mean_change"] == -6.9
    assert phq9["control"]["n"] == 15 and phq9["control"]["sd_last"] == 5.2
    assert phq9["welch"] == {"difference": -3.1, "ci95": [-6.4, 0.2], "t": -1.9, "df": 27.5, "p": 0.067}
    assert phq9["ancova"]["n"] == 30  # a recognised count is rounded wherever it is shown
    assert phq9["hedges_g"]["estimate"] == -0.66


def test_summary_measures_hidden_for_a_small_group() -> None:
    gad7 = make_summary_safe(_summary())["measures"]["gad7"]
    assert gad7["physical_activity"]["mean_first"] == 12.0  # n 18: shown
    assert _figures(gad7["control"]) == {"n": None, "mean_first": None, "sd_first": None, "mean_last": None,
                               "sd_last": None, "mean_change": None, "sd_change": None}
    assert _figures(gad7["welch"]) == {"difference": None, "ci95": None, "t": None, "df": None, "p": None}
    assert _figures(gad7["mann_whitney"]) == {"u": None, "p": None}
    assert _figures(gad7["hedges_g"]) == {"estimate": None, "ci95": None}
    assert _figures(gad7["ancova"]) == {"difference": None, "ci95": None, "p": None}
    assert gad7["label"] == "GAD-7"  # text passes through


def test_summary_unknown_blocks_are_withheld_and_rules_are_added() -> None:
    # A block nobody declared a disclosure rule for is never shown unchecked (issue 12: by kind, not name).
    safe = make_summary_safe(_summary())
    assert safe["paired_completeness"] == {"reason": UNDECLARED_REASON}
    assert safe["source"] == {"reason": UNDECLARED_REASON}
    assert safe["disclosure_control"]["applied"] is True
    assert "below 5" in safe["disclosure_control"]["rules"]


def test_summary_is_valid_json_with_nulls() -> None:
    text = json.dumps(make_summary_safe(_summary()), allow_nan=False)
    assert '"fisher_p": null' in text


def test_summary_key_order_is_kept() -> None:
    summary = _summary()
    safe = make_summary_safe(summary)
    assert list(safe)[: len(summary)] == list(summary)
    assert list(safe["rates"]["recovery"]) == list(summary["rates"]["recovery"])


def test_missing_group_block_hides_comparisons() -> None:
    summary = {"rates": {"recovery": {"physical_activity": {"count": 12, "denominator": 19, "rate": 0.63,
                                                            "ci95": [0.4, 0.8]},
                                      "difference": {"estimate": 0.3, "ci95": [0.0, 0.6]}}}}
    recovery = make_summary_safe(summary)["rates"]["recovery"]
    assert recovery["physical_activity"]["rate"] == 0.63
    assert _figures(recovery["difference"]) == {"estimate": None, "ci95": None}
    assert "control" not in recovery


def test_empty_summary() -> None:
    assert make_summary_safe({}) == {"disclosure_control": {"applied": True, "rules": DISCLOSURE_RULES}}


# --- tables -----------------------------------------------------------------------------------


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "subgroup": ["18-25", "26-35", "36+"],
        "recovered": [12, 4, 7],
        "at_caseness": [19, 14, 4],
        "recovery_rate": [12 / 19, 4 / 14, 7 / 4],
        "ci_low": [0.41, 0.12, 0.5],
        "n": [19, 14, 3],
        "mean_change": [-6.1, -3.0, -2.0],
    })


def test_safe_table_rounds_counts_and_hides_rates_from_unrounded_counts() -> None:
    table = _table()
    before = table.copy()
    pair = ("recovered", "at_caseness")
    safe = safe_table(table, ["recovered", "at_caseness", "n"],
                      rate_columns={"recovery_rate": pair, "ci_low": pair},
                      statistic_columns={"mean_change": "n"})
    pd.testing.assert_frame_equal(table, before)  # input untouched
    assert safe["recovered"].dtype == "Int64"
    assert safe["recovered"].iloc[0] == 10 and pd.isna(safe["recovered"].iloc[1]) and safe["recovered"].iloc[2] == 5
    assert safe["at_caseness"].iloc[0] == 20 and safe["at_caseness"].iloc[1] == 15
    assert pd.isna(safe["at_caseness"].iloc[2])
    assert safe["recovery_rate"].iloc[0] == pytest.approx(12 / 19)  # 63% beside 10 and 20
    assert math.isnan(safe["recovery_rate"].iloc[1])  # numerator 4
    assert math.isnan(safe["recovery_rate"].iloc[2])  # denominator 4
    assert safe["ci_low"].isna().tolist() == [False, True, True]
    assert safe["mean_change"].isna().tolist() == [False, False, True]
    assert safe["subgroup"].tolist() == ["18-25", "26-35", "36+"]


def test_safe_table_missing_counts_are_missing_and_hide_rates() -> None:
    table = pd.DataFrame({"k": [None, 10], "n": [20, 20], "rate": [0.5, 0.5]})
    safe = safe_table(table, ["k"], rate_columns={"rate": ("k", "n")})
    assert pd.isna(safe["k"].iloc[0]) and safe["k"].iloc[1] == 10
    assert safe["rate"].isna().tolist() == [True, False]


def test_safe_table_rejects_unknown_columns_and_bad_counts() -> None:
    with pytest.raises(ValueError, match="not in the table"):
        safe_table(_table(), ["nope"])
    with pytest.raises(ValueError, match="negative"):
        safe_table(pd.DataFrame({"k": [-3]}), ["k"])


def test_summary_data_section_counts_are_rounded_too(sample_analysis):
    safe = make_summary_safe(sample_analysis.to_dict())
    data = safe["data"]
    assert data["participants_total"] == {"physical_activity": 20, "control": 20}
    assert data["at_caseness"] == {"physical_activity": 20, "control": 15}
    assert _figures(data["not_finished"]) == {"physical_activity": None, "control": None}  # 0 is below 5
