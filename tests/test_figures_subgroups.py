"""Who benefits figures: forest plot rows, safe-mode hiding, Love plot and takeaways, checked against analysis."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest

from analysis import formatting as fmt
from analysis.compare import SMD_IMBALANCE, baseline_balance, subgroup_analysis
from analysis.figures import subgroups as sg
from analysis.figures.theme import OKABE_ITO
from analysis.outcomes import rate_counts, with_derived_columns
from analysis.schema import GROUP_CONTROL, GROUP_PA, GROUPS
from analysis.summary import analyse


@pytest.fixture(scope="module")
def episodes(sample_episodes):
    return with_derived_columns(sample_episodes)


@pytest.fixture(scope="module")
def analysis(episodes):
    return analyse(episodes)


def _rows(episodes, analysis, column, outcome, safe=False):
    result = subgroup_analysis(episodes, column, outcome, analysis.flags)
    overall = analysis.rates.get(outcome) if sg.is_rate(outcome) else analysis.measures.get(outcome)
    counts = sg.subgroup_counts(episodes, analysis.flags, column, outcome) if sg.is_rate(outcome) else None
    return result, sg.forest_rows(result, overall, safe, counts)


def test_labels_and_outcome_keys():
    assert sg.column_label("problem_descriptor") == "Problem descriptor"
    assert sg.column_label("baseline_severity") == "Baseline severity (PHQ-9 band)"
    assert sg.column_phrase("baseline_severity") == "baseline severity (PHQ-9 band)"
    assert sg.outcome_key(sg.CHANGE_OUTCOME, "gad7") == "gad7"
    assert sg.outcome_key("recovery", "gad7") == "recovery"
    assert sg.outcome_label("reliable_improvement") == "Reliable improvement"
    assert sg.outcome_label("phq9") == "Change in PHQ-9"
    assert sg.outcome_phrase("phq9") == "change in PHQ-9"


def test_subgroup_counts_add_up_to_the_rate_counts(episodes, analysis):
    counts = sg.subgroup_counts(episodes, analysis.flags, "gender", "recovery")
    totals = rate_counts(analysis.flags, "recovery")
    for group in GROUPS:
        in_group = counts[counts["group"] == group]
        assert (int(in_group["count"].sum()), int(in_group["denominator"].sum())) == totals[group]
    result = subgroup_analysis(episodes, "gender", "recovery", analysis.flags)
    by_level = counts.pivot(index="level", columns="group", values="denominator")
    for row in result.table.itertuples():
        assert (by_level.loc[row.level, GROUP_PA], by_level.loc[row.level, GROUP_CONTROL]) == (row.n_pa, row.n_control)


def test_forest_rows_for_a_rate(episodes, analysis):
    result, rows = _rows(episodes, analysis, "gender", "recovery")
    overall = rows.iloc[0]
    assert overall["is_overall"] and overall["label"] == sg.OVERALL_LABEL
    difference = analysis.rates["recovery"].difference
    assert overall["estimate"] == pytest.approx(difference.estimate * 100)
    assert (overall["ci_low"], overall["ci_high"]) == pytest.approx(tuple(100 * v for v in difference.ci95))
    assert (overall["n_pa"], overall["n_control"]) == (19, 14)
    levels = rows.iloc[1:]
    assert levels["level"].tolist() == result.table["level"].tolist()
    for row, expected in zip(levels.to_dict("records"), result.table.to_dict("records"), strict=True):
        assert (row["n_pa"], row["n_control"]) == (expected["n_pa"], expected["n_control"])
        if expected["estimate"] is None or (isinstance(expected["estimate"], float) and math.isnan(expected["estimate"])):
            assert np.isnan(row["estimate"])
        else:
            assert row["estimate"] == pytest.approx(expected["estimate"] * 100)
        assert row["small"] == (min(expected["n_pa"], expected["n_control"]) < sg.SMALL_SUBGROUP)
    assert sg.small_levels(rows) == [r["level"] for r in levels.to_dict("records") if r["small"]]


def test_forest_rows_for_change_use_welch(episodes, analysis):
    result, rows = _rows(episodes, analysis, "ltc", "phq9")
    welch = analysis.measures["phq9"].welch
    assert rows.iloc[0]["estimate"] == pytest.approx(welch.estimate)
    assert rows.iloc[1:]["estimate"].tolist() == pytest.approx(result.table["estimate"].tolist())


def test_safe_mode_hides_small_subgroups(episodes, analysis):
    _, exact = _rows(episodes, analysis, "gender", "recovery")
    counts = sg.subgroup_counts(episodes, analysis.flags, "gender", "recovery")
    _, safe = _rows(episodes, analysis, "gender", "recovery", safe=True)
    for row in safe.iloc[1:].to_dict("records"):
        cells = counts[counts["level"] == row["level"]]
        small = bool((cells["count"] < 5).any() or (cells["denominator"] < 5).any())
        assert row["hidden"] == small
        if small:
            assert np.isnan(row["estimate"])
    # The overall comparison (12/19 vs 5/14) stays: no count below 5.
    assert not safe.iloc[0]["hidden"] and safe.iloc[0]["estimate"] == pytest.approx(exact.iloc[0]["estimate"])
    table = sg.subgroup_table(safe, "recovery", safe=True)
    assert "hidden (small numbers)" in table.iloc[:, 3].tolist()
    assert table.iloc[0]["n physical activity"] == "20" and table.iloc[0]["n control"] == "15"


def test_forest_plot_traces_lines_and_labels(episodes, analysis):
    result, rows = _rows(episodes, analysis, "gender", "recovery")
    figure = sg.forest_plot(rows, "recovery", "gender")
    assert isinstance(figure, go.Figure)
    by_name = {trace.name: trace for trace in figure.data}
    assert list(by_name["rows"].y) == [f"{r['label']} (n {r['n_pa']} vs {r['n_control']})"
                                       for r in rows.to_dict("records")]
    assert list(by_name["Overall"].x) == pytest.approx([rows.iloc[0]["estimate"]])
    big = rows[~rows["is_overall"] & ~rows["small"] & rows["estimate"].notna()]
    assert list(by_name[f"Subgroup (≥ {sg.SMALL_SUBGROUP} per group)"].x) == pytest.approx(big["estimate"].tolist())
    small = rows[rows["small"] & rows["estimate"].notna()]
    assert list(by_name[f"Subgroup with fewer than {sg.SMALL_SUBGROUP} per group"].x) == pytest.approx(
        small["estimate"].tolist())
    overall_trace = by_name["Overall"]
    assert overall_trace.error_x.array[0] == pytest.approx(rows.iloc[0]["ci_high"] - rows.iloc[0]["estimate"])
    lines = [(shape.x0, shape.line.dash) for shape in figure.layout.shapes]
    assert (0, "solid") in lines
    assert any(dash == "dash" and x == pytest.approx(rows.iloc[0]["estimate"]) for x, dash in lines)
    notes = [a.text for a in figure.layout.annotations]
    assert notes == ["not estimable"] * int(rows.iloc[1:]["estimate"].isna().sum())
    # The first row (overall) is drawn at the top of the category axis.
    assert figure.layout.yaxis.categoryarray[-1].startswith("Overall")
    assert figure.layout.title.text == "Recovery by gender (95% CI)"
    assert figure.layout.template.layout.font.size >= 16


def test_forest_plot_in_safe_mode_shows_rounded_counts(episodes, analysis):
    _, rows = _rows(episodes, analysis, "gender", "recovery", safe=True)
    figure = sg.forest_plot(rows, "recovery", "gender", safe=True)
    labels = list(next(t for t in figure.data if t.name == "rows").y)
    assert labels[0] == "Overall (n 20 vs 15)"
    assert any("<5" in label for label in labels)
    assert "hidden (small numbers)" in [a.text for a in figure.layout.annotations]


def test_forest_takeaway_for_change(episodes, analysis):
    result, rows = _rows(episodes, analysis, "ltc", "phq9")
    text = sg.forest_takeaway(rows, "phq9", "ltc", result.interaction)
    levels = rows.iloc[1:]
    low = levels.loc[levels["estimate"].idxmin()]
    high = levels.loc[levels["estimate"].idxmax()]
    assert f"ranged from {fmt.number(low['estimate'])} points ({low['label']})" in text
    assert f"to {fmt.number(high['estimate'])} points ({high['label']})" in text
    assert f"against {fmt.number(rows.iloc[0]['estimate'])} points overall" in text
    interaction = result.interaction
    assert interaction.statistic_name == "F"
    assert f"F = {fmt.number(interaction.statistic, 2)} on 1 df, {fmt.p_value(interaction.p)}" in text
    assert "gives no evidence that it varies" in text
    small = int(levels["small"].sum())
    assert f"{small} of {len(levels)} levels" in text


def test_interaction_text_when_not_available(episodes, analysis):
    result, rows = _rows(episodes, analysis, "gender", "recovery")
    assert result.interaction.statistic is None
    assert sg.interaction_text(result.interaction).startswith("not available: some subgroup levels")
    assert "the interaction test is not available" in sg.forest_takeaway(rows, "recovery", "gender",
                                                                           result.interaction)


def test_subgroup_table(episodes, analysis):
    _, rows = _rows(episodes, analysis, "ltc", "phq9")
    table = sg.subgroup_table(rows, "phq9")
    assert table.columns.tolist() == ["Subgroup", "n physical activity", "n control",
                                      "Difference PA − control (points)", "95% CI", "Caution", "Note"]
    assert table.iloc[0]["Difference PA − control (points)"] == fmt.number(rows.iloc[0]["estimate"])
    assert table.iloc[0]["95% CI"] == fmt.ci((rows.iloc[0]["ci_low"], rows.iloc[0]["ci_high"])).removeprefix("95% CI ")
    assert table["Caution"].tolist() == ["fewer than 10 per group" if s else "" for s in rows["small"]]


def test_a_group_emptied_by_a_filter(episodes):
    only_pa = episodes[episodes["group"] == GROUP_PA]
    analysis = analyse(only_pa)
    result, rows = _rows(only_pa, analysis, "gender", "recovery")
    assert rows["estimate"].isna().all()
    text = sg.forest_takeaway(rows, "recovery", "gender", result.interaction)
    assert text.startswith("No gender level has a difference that can be shown")
    figure = sg.forest_plot(rows, "recovery", "gender")
    assert [t.name for t in figure.data] == ["rows"]
    balance = sg.balance_rows(only_pa, analysis.flags)
    assert balance["smd"].isna().all()
    assert sg.love_takeaway(balance).startswith("Baseline balance cannot be shown")


def test_balance_rows_match_baseline_balance(episodes, analysis):
    rows = sg.balance_rows(episodes, analysis.flags)
    expected = baseline_balance(episodes, analysis.flags)
    assert rows[["variable", "level"]].values.tolist() == expected[["variable", "level"]].values.tolist()
    assert rows["smd"].tolist() == pytest.approx(expected["smd"].tolist())
    assert rows["imbalanced"].tolist() == expected["imbalanced"].tolist()
    finishers = episodes[analysis.flags["finished"].to_numpy()]
    female = rows[(rows["variable"] == "gender") & (rows["level"] == "Female")].iloc[0]
    assert female["label"] == "Gender: Female"
    assert female["n_pa"] == int(((finishers["group"] == GROUP_PA) & (finishers["gender"] == "Female")).sum())
    assert rows.iloc[0]["label"] == "PHQ-9 first score (mean)" and rows.iloc[0]["kind"] == "mean"


def test_balance_rows_safe_mode_hides_small_cells(episodes, analysis):
    rows = sg.balance_rows(episodes, analysis.flags, safe=True)
    for row in rows.to_dict("records"):
        small = min(row["n_pa"], row["n_control"]) < 5
        assert row["hidden"] == small
        if small:
            assert row["smd"] is None or np.isnan(row["smd"])
    table = sg.balance_table(rows, safe=True)
    assert "hidden (small numbers)" in table["Control"].tolist()


def test_love_plot_and_takeaway(episodes, analysis):
    rows = sg.balance_rows(episodes, analysis.flags)
    figure = sg.love_plot(rows)
    imbalanced = next(t for t in figure.data if t.name.startswith("Imbalanced"))
    balanced = next(t for t in figure.data if t.name == "Balanced")
    assert imbalanced.marker.color == OKABE_ITO["reddish_purple"]
    assert sorted(imbalanced.x) == pytest.approx(sorted(rows.loc[rows["imbalanced"], "smd"]))
    assert len(imbalanced.x) + len(balanced.x) == int(rows["smd"].notna().sum())
    assert all(abs(x) <= SMD_IMBALANCE for x in balanced.x)
    xs = sorted(shape.x0 for shape in figure.layout.shapes)
    assert xs == pytest.approx([-SMD_IMBALANCE, 0, SMD_IMBALANCE])
    text = sg.love_takeaway(rows)
    ranked = rows.assign(size=rows["smd"].abs()).sort_values("size", ascending=False)
    top = ranked.iloc[0]
    assert f"{top['label']} (SMD {fmt.number(top['smd'], 2)}" in text
    assert f"on {int(rows['imbalanced'].sum())} of {int(rows['smd'].notna().sum())} characteristics" in text
