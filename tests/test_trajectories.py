"""analysis.trajectories: session scores, per-session means, first→last directions,
Jacobson–Truax counts, caseness transitions and the safe-mode pooling of categories."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.outcomes import OUTCOME_CATEGORIES, outcome_category_counts, participant_outcomes
from analysis.schema import GAD7, GROUP_CONTROL, GROUP_PA, PHQ9, WSAS
from analysis.trajectories import (
    CASENESS_STATES,
    POOLED_CATEGORY,
    caseness_transitions,
    direction_counts,
    jacobson_truax_counts,
    pool_small_categories,
    session_column,
    session_scores,
    trajectory_summary,
)
from tests.conftest import SAMPLE_SESSIONS


@pytest.fixture(scope="module")
def sample():
    from analysis.validate import load_path

    report = load_path(SAMPLE_SESSIONS)
    assert report.usable and report.sessions is not None
    return report


def _sessions() -> pd.DataFrame:
    """Two PA participants and one control, PHQ-9 on three sessions, one missing score, one ADSM."""
    return pd.DataFrame({
        "participant_id": ["a", "a", "a", "b", "b", "b", "c", "c"],
        "group": [GROUP_PA] * 6 + [GROUP_CONTROL] * 2,
        "session_number": [1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0, 2.0],
        "phq9": [15.0, 12.0, 9.0, 11.0, np.nan, 7.0, 14.0, 13.0],
        "gad7": [10.0, 9.0, 8.0, 12.0, 10.0, 6.0, 9.0, 9.0],
        "adsm_measure": [None, None, None, "SPIN", "SPIN", "SPIN", None, None],
        "adsm": [np.nan, np.nan, np.nan, 40.0, 35.0, 20.0, np.nan, np.nan],
    })


# --- session scores -------------------------------------------------------------------------------


def test_session_column_maps_adsms_to_adsm():
    assert session_column("phq9") == "phq9"
    assert session_column("wsas") == "wsas"
    assert session_column("SPIN") == "adsm"


def test_session_scores_drops_missing_scores_and_keeps_order():
    scores = session_scores(_sessions(), "phq9")
    assert list(scores.columns) == ["participant_id", "group", "session", "score"]
    assert len(scores) == 7  # b's session 2 has no PHQ-9
    b = scores[scores["participant_id"] == "b"]
    assert b["session"].tolist() == [1.0, 3.0]
    assert b["score"].tolist() == [11.0, 7.0]


def test_session_scores_filters_participants_and_adsm_code():
    assert set(session_scores(_sessions(), "phq9", ["a", "c"])["participant_id"]) == {"a", "c"}
    spin = session_scores(_sessions(), "SPIN")
    assert spin["participant_id"].unique().tolist() == ["b"]
    assert spin["score"].tolist() == [40.0, 35.0, 20.0]
    assert session_scores(_sessions(), "PCL5").empty


def test_session_scores_empty_for_episode_level_or_absent_column():
    assert session_scores(None, "phq9").empty
    assert session_scores(_sessions(), "wsas").empty  # no wsas column
    assert list(session_scores(None, "phq9").columns) == ["participant_id", "group", "session", "score"]


def test_session_scores_orders_by_date_when_there_is_no_session_number():
    frame = _sessions().drop(columns="session_number")
    frame["session_date"] = pd.to_datetime(["2024-01-10", "2024-01-03", "2024-01-17", "2024-02-01",
                                            "2024-02-08", "2024-02-15", "2024-03-01", "2024-03-08"])
    scores = session_scores(frame, "phq9")
    a = scores[scores["participant_id"] == "a"].sort_values("session")
    # a's second row (12) is the earliest date, so it is session 1
    assert a["score"].tolist() == [12.0, 15.0, 9.0]


def test_session_scores_on_the_sample_match_the_episode_first_and_last(sample):
    scores = session_scores(sample.sessions, "phq9")
    first = scores.sort_values("session").groupby("participant_id")["score"].first()
    episodes = sample.episodes.set_index("participant_id")
    assert first.to_dict() == episodes.loc[first.index, "phq9_first"].to_dict()


# --- per-session summary --------------------------------------------------------------------------


def test_trajectory_summary_means_and_t_intervals():
    summary = trajectory_summary(session_scores(_sessions(), "phq9"))
    assert list(summary.columns) == ["group", "session", "n", "mean", "sd", "ci_low", "ci_high"]
    assert summary["group"].tolist()[:3] == [GROUP_PA] * 3  # PA first
    row = summary[(summary["group"] == GROUP_PA) & (summary["session"] == 1.0)].iloc[0]
    assert row["n"] == 2 and row["mean"] == 13.0
    sd = np.std([15.0, 11.0], ddof=1)
    half = stats.t.ppf(0.975, 1) * sd / math.sqrt(2)
    assert row["ci_low"] == pytest.approx(13.0 - half) and row["ci_high"] == pytest.approx(13.0 + half)
    single = summary[(summary["group"] == GROUP_PA) & (summary["session"] == 2.0)].iloc[0]
    assert single["n"] == 1 and pd.isna(single["ci_low"]) and pd.isna(single["sd"])


def test_trajectory_summary_of_the_sample_starts_with_everyone(sample):
    scores = session_scores(sample.sessions, "phq9")
    summary = trajectory_summary(scores)
    first = summary[summary["session"] == 1.0].set_index("group")
    episodes = sample.episodes
    for group in (GROUP_PA, GROUP_CONTROL):
        expected = episodes.loc[episodes["group"] == group, "phq9_first"]
        assert first.loc[group, "n"] == len(expected)
        assert first.loc[group, "mean"] == pytest.approx(expected.mean())


# --- direction, Jacobson–Truax, transitions --------------------------------------------------------


def _scores() -> pd.DataFrame:
    first = [15.0, 12.0, 9.0, 20.0, 10.0, 8.0]
    last = [8.0, 12.0, 16.0, 19.0, 3.0, 8.0]
    return pd.DataFrame({"group": [GROUP_PA] * 3 + [GROUP_CONTROL] * 3, "first": first, "last": last,
                         "change": np.subtract(last, first)})


def test_direction_counts():
    d = direction_counts(_scores()).set_index("group")
    assert d.loc[GROUP_PA].to_dict() == {"n": 3, "fell": 1, "unchanged": 1, "rose": 1}
    assert d.loc[GROUP_CONTROL].to_dict() == {"n": 3, "fell": 2, "unchanged": 1, "rose": 0}


def test_jacobson_truax_counts_use_the_measure_thresholds():
    jt = jacobson_truax_counts(_scores(), PHQ9).set_index("group")  # RC 6, cut-off 10
    pa, control = jt.loc[GROUP_PA], jt.loc[GROUP_CONTROL]
    assert (pa["reliably_improved"], pa["no_reliable_change"], pa["reliably_deteriorated"]) == (1, 1, 1)
    assert (pa["cases_at_first"], pa["below_cutoff_at_last_of_cases"]) == (2, 1)
    assert (control["reliably_improved"], control["no_reliable_change"], control["reliably_deteriorated"]) == (1, 2, 0)
    assert (control["cases_at_first"], control["below_cutoff_at_last_of_cases"]) == (2, 1)
    # GAD-7's RC is 4: PA's 12→12 stays, 15→8 improves, 9→16 deteriorates
    assert jacobson_truax_counts(_scores(), GAD7).set_index("group").loc[GROUP_PA, "reliably_improved"] == 1


def test_jacobson_truax_counts_of_the_sample_phq9(sample_analysis):
    scores = sample_analysis.measures["phq9"].scores
    jt = jacobson_truax_counts(scores, PHQ9).set_index("group")
    for group in (GROUP_PA, GROUP_CONTROL):
        sub = scores[scores["group"] == group]
        assert jt.loc[group, "reliably_improved"] == int((sub["change"] <= -6).sum())
        assert jt.loc[group, "n"] == len(sub)
        row = jt.loc[group]
        assert row["reliably_improved"] + row["no_reliable_change"] + row["reliably_deteriorated"] == row["n"]


def test_jacobson_truax_needs_cut_off_and_rc():
    with pytest.raises(ValueError, match="WSAS"):
        jacobson_truax_counts(_scores(), WSAS)
    with pytest.raises(ValueError, match="WSAS"):
        caseness_transitions(_scores(), WSAS)


def test_caseness_transitions_is_a_2x2_per_group():
    table = caseness_transitions(_scores(), PHQ9)
    assert list(table.columns) == ["group", "first", *CASENESS_STATES]
    pa = table[table["group"] == GROUP_PA].set_index("first")
    # PA: 15→8 (case→below), 12→12 (case→case), 9→16 (below→case)
    assert pa.loc["At caseness"].tolist()[1:] == [1, 1]
    assert pa.loc["Below cut-off"].tolist()[1:] == [1, 0]
    assert table[list(CASENESS_STATES)].to_numpy().sum() == len(_scores())


# --- pooling small categories -------------------------------------------------------------------------


def _counts(pa: list[int], control: list[int]) -> pd.DataFrame:
    rows = []
    for group, values in ((GROUP_PA, pa), (GROUP_CONTROL, control)):
        total = sum(values)
        for category, count in zip(OUTCOME_CATEGORIES, values, strict=True):
            rows.append({"group": group, "category": category, "count": count, "denominator": total,
                         "share": count / total if total else None})
    return pd.DataFrame(rows)


def test_pool_small_categories_pools_cells_of_one_to_four():
    pooled = pool_small_categories(_counts([10, 2, 3, 4, 0, 0], [5, 6, 7, 8, 9, 0]))
    pa = pooled[pooled["group"] == GROUP_PA].set_index("category")
    assert pa.loc[POOLED_CATEGORY, "count"] == 9 and bool(pa.loc[POOLED_CATEGORY, "pooled"])
    assert "Recovered, not reliably improved" not in pa.index
    assert pa.loc["Reliable recovery", "count"] == 10 and pa.loc["Reliable deterioration", "count"] == 0
    assert pa["share"].sum() == pytest.approx(1.0)
    control = pooled[pooled["group"] == GROUP_CONTROL]
    assert POOLED_CATEGORY not in control["category"].tolist()  # nothing small to pool


def test_pool_small_categories_adds_the_smallest_shown_cell_when_the_pool_is_small():
    pooled = pool_small_categories(_counts([10, 2, 0, 6, 0, 0], [5, 5, 5, 5, 5, 5]))
    pa = pooled[pooled["group"] == GROUP_PA].set_index("category")
    # the pool of 2 is below 5, so the smallest remaining cell (6) joins it: 8 pooled
    assert pa.loc[POOLED_CATEGORY, "count"] == 8
    assert "No reliable change" not in pa.index and pa.loc["Reliable recovery", "count"] == 10


def test_pool_small_categories_drops_groups_below_five():
    pooled = pool_small_categories(_counts([1, 1, 1, 0, 0, 0], [5, 6, 7, 8, 9, 0]))
    assert GROUP_PA not in pooled["group"].tolist()
    assert set(pooled["group"]) == {GROUP_CONTROL}


def test_pool_small_categories_on_the_sample_flags(sample_episodes):
    counts = outcome_category_counts(participant_outcomes(sample_episodes))
    pooled = pool_small_categories(counts)
    shown = pooled[~pooled["pooled"]]
    assert ((shown["count"] == 0) | (shown["count"] >= 5)).all()
    assert (pooled.loc[pooled["pooled"], "count"] >= 5).all()
    for group in (GROUP_PA, GROUP_CONTROL):
        assert pooled.loc[pooled["group"] == group, "count"].sum() == counts.loc[counts["group"] == group,
                                                                                 "count"].sum()
