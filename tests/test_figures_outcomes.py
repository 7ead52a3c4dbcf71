"""Figure builders for the outcome pages, tested without a browser: traces, values, order,
fixed group colours, reference lines, and takeaways computed from the same numbers."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from analysis import formatting as fmt
from analysis.figures import outcomes as figs
from analysis.figures.theme import CATEGORY_COLOURS, GROUP_COLOURS
from analysis.outcomes import OUTCOME_CATEGORIES, outcome_category_counts
from analysis.schema import (
    ADSMS,
    GAD7,
    GROUP_CONTROL,
    GROUP_LABELS,
    GROUP_PA,
    PHQ9,
    RECOVERY_STANDARD,
    RELIABLE_IMPROVEMENT_REFERENCE,
    WSAS,
)
from analysis.trajectories import (
    POOLED_CATEGORY,
    direction_counts,
    jacobson_truax_counts,
    pool_small_categories,
    session_scores,
    trajectory_summary,
)
from tests.conftest import SAMPLE_SESSIONS

BLUE, ORANGE = "#0072B2", "#B97A00"  # control: Okabe & Ito orange darkened to 3:1+ (theme.CONTROL_ORANGE)


@pytest.fixture(scope="module")
def phq9(sample_analysis):
    return sample_analysis.measures["phq9"]


@pytest.fixture(scope="module")
def sessions():
    from analysis.validate import load_path

    return load_path(SAMPLE_SESSIONS).sessions


def _themed(figure: go.Figure) -> None:
    assert figure.layout.template.layout.font.size == 18  # the project template, projector-sized type


def _shape_ys(figure: go.Figure) -> list[float]:
    return [s.y0 for s in figure.layout.shapes if s.y0 == s.y1]


def test_group_colours_are_fixed():
    assert GROUP_COLOURS == {GROUP_PA: BLUE, GROUP_CONTROL: ORANGE}


# --- the overview's rate chart still works ----------------------------------------------------------


def test_rate_chart_keeps_its_contract(sample_analysis):
    rates = sample_analysis.rates["recovery"].groups
    figure = figs.rate_chart(rates, "Recovery")
    assert [t.name for t in figure.data] == ["Physical activity", "Control"]
    assert [t.marker.color for t in figure.data] == [BLUE, ORANGE]
    assert figure.data[0].y[0] == pytest.approx(12 / 19 * 100)
    assert RECOVERY_STANDARD * 100 in _shape_ys(figure)
    assert "63%" in figs.rate_takeaway(rates) and "36%" in figs.rate_takeaway(rates)


# --- symptom change ----------------------------------------------------------------------------------


def test_first_last_chart_draws_the_means_with_their_cis(phq9):
    figure = figs.first_last_chart(phq9, PHQ9)
    _themed(figure)
    assert [t.name for t in figure.data] == ["Physical activity", "Control"]
    assert [t.line.color for t in figure.data] == [BLUE, ORANGE]
    for trace, group in zip(figure.data, (GROUP_PA, GROUP_CONTROL), strict=True):
        d = phq9.descriptives[group]
        assert list(trace.y) == pytest.approx([d.mean_first, d.mean_last])
        assert list(trace.error_y.array) == pytest.approx([d.ci95_first[1] - d.mean_first,
                                                           d.ci95_last[1] - d.mean_last])
        assert list(trace.error_y.arrayminus) == pytest.approx([d.mean_first - d.ci95_first[0],
                                                                d.mean_last - d.ci95_last[0]])
    assert PHQ9.caseness in _shape_ys(figure)
    assert any("Cut-off 10" in a.text for a in figure.layout.annotations)


def test_first_last_hidden_group_is_left_out_and_said(phq9):
    figure = figs.first_last_chart(phq9, PHQ9, hidden=frozenset({GROUP_CONTROL}))
    assert [t.name for t in figure.data] == ["Physical activity"]
    text = figs.first_last_takeaway(phq9, frozenset({GROUP_CONTROL}))
    assert "hidden for the control group" in text


def test_first_last_takeaway_matches_the_numbers(phq9):
    text = figs.first_last_takeaway(phq9)
    pa, control = phq9.descriptives[GROUP_PA], phq9.descriptives[GROUP_CONTROL]
    assert f"from {fmt.number(pa.mean_first)} to {fmt.number(pa.mean_last)} in the physical activity group" in text
    assert f"from {fmt.number(control.mean_first)} to {fmt.number(control.mean_last)} in the control group" in text


def test_change_chart_shows_every_participant_and_the_mcid_line(phq9):
    figure = figs.change_distribution_chart(phq9, PHQ9, show_points=True)
    assert [type(t).__name__ for t in figure.data] == ["Box", "Box"]
    assert [t.marker.color for t in figure.data] == [BLUE, ORANGE]
    assert all(t.boxpoints == "all" for t in figure.data)
    scores = phq9.scores
    for trace, group in zip(figure.data, (GROUP_PA, GROUP_CONTROL), strict=True):
        assert sorted(trace.y) == sorted(scores.loc[scores["group"] == group, "change"])
    assert -PHQ9.mcid in _shape_ys(figure) and 0 in _shape_ys(figure)
    assert any("MCID" in a.text for a in figure.layout.annotations)


def test_change_chart_safe_mode_draws_aggregates_only(phq9):
    figure = figs.change_distribution_chart(phq9, PHQ9, show_points=False)
    assert all(isinstance(t, go.Scatter) for t in figure.data)
    assert all(len(t.y) == 1 for t in figure.data)  # one mean per group, no participants
    assert figure.data[0].y[0] == pytest.approx(phq9.descriptives[GROUP_PA].mean_change)
    assert "not drawn in presentation-safe mode" in figs.change_distribution_takeaway(phq9, PHQ9, False)


def test_change_takeaway_quotes_the_mcid_shares(phq9):
    text = figs.change_distribution_takeaway(phq9, PHQ9)
    assert fmt.percent(phq9.mcid.groups[GROUP_PA].rate) in text
    assert fmt.percent(phq9.mcid.groups[GROUP_CONTROL].rate) in text
    assert fmt.number(phq9.descriptives[GROUP_PA].mean_change) in text
    assert "MCID of 5 points" in text


def test_change_chart_without_mcid_has_no_mcid_line(sample_analysis):
    wsas = sample_analysis.measures["wsas"]
    figure = figs.change_distribution_chart(wsas, WSAS)
    assert _shape_ys(figure) == [0]
    assert "MCID" not in figs.change_distribution_takeaway(wsas, WSAS)


def test_change_chart_handles_an_empty_group(sample_analysis):
    spin = sample_analysis.measures["SPIN"]  # 1 PA participant, no control
    figure = figs.change_distribution_chart(spin, ADSMS["SPIN"])
    assert [t.name for t in figure.data] == ["Physical activity"]
    assert "control group: no one with both scores" in figs.change_distribution_takeaway(spin, ADSMS["SPIN"])


def test_slope_chart_one_line_per_participant_per_panel(phq9):
    figure = figs.slope_chart(phq9, PHQ9)
    participants = [t for t in figure.data if t.name.endswith("participants")]
    means = [t for t in figure.data if t.name.endswith("mean")]
    assert [t.xaxis for t in participants] == ["x", "x2"]
    for trace, group in zip(participants, (GROUP_PA, GROUP_CONTROL), strict=True):
        n = phq9.descriptives[group].n
        assert len(trace.x) == 3 * n  # first, last, gap per participant
        assert list(trace.y[:2]) == phq9.scores[phq9.scores["group"] == group][["first", "last"]].iloc[0].tolist()
    assert [t.line.color for t in means] == [BLUE, ORANGE]
    assert list(means[0].y) == pytest.approx([phq9.descriptives[GROUP_PA].mean_first,
                                              phq9.descriptives[GROUP_PA].mean_last])


def test_slope_takeaway_counts(phq9):
    directions = direction_counts(phq9.scores).set_index("group")
    text = figs.slope_takeaway(phq9, direction_counts(phq9.scores))
    pa = directions.loc[GROUP_PA]
    assert f"{pa['fell']} of {pa['n']} in the physical activity group fell and {pa['rose']} rose" in text


def test_trajectory_chart_means_bands_and_lines(sessions):
    scores = session_scores(sessions, "phq9")
    summary = trajectory_summary(scores)
    figure = figs.trajectory_chart(summary, PHQ9, scores, min_n=3)
    means = [t for t in figure.data if t.name in GROUP_LABELS.values()]
    assert [t.name for t in means] == ["Physical activity", "Control"]
    assert [t.line.color for t in means] == [BLUE, ORANGE]
    pa = summary[(summary["group"] == GROUP_PA) & (summary["n"] >= 3)]
    assert list(means[0].x) == pa["session"].tolist()
    assert list(means[0].y) == pytest.approx(pa["mean"].tolist())
    assert any(t.name.endswith("participants") for t in figure.data)
    assert any(t.name.endswith("95% CI") and t.fill == "toself" for t in figure.data)
    assert PHQ9.caseness in _shape_ys(figure)
    text = figs.trajectory_takeaway(summary, PHQ9, 3)
    assert f"from {fmt.number(pa['mean'].iloc[0])} at session 1 (n = {pa['n'].iloc[0]})" in text
    assert f"to {fmt.number(pa['mean'].iloc[-1])} at session {fmt.number(pa['session'].iloc[-1], 0)}" in text


def test_trajectory_chart_safe_mode_has_no_participant_lines(sessions):
    scores = session_scores(sessions, "phq9")
    summary = trajectory_summary(scores)
    figure = figs.trajectory_chart(summary, PHQ9, None, min_n=5)
    assert not any(t.name.endswith("participants") for t in figure.data)
    means = [t for t in figure.data if t.name in GROUP_LABELS.values()]
    assert all(summary.set_index(["group", "session"]).loc[(GROUP_PA, s), "n"] >= 5 for s in means[0].x)
    text = figs.trajectory_takeaway(summary, PHQ9, 5, individual_lines=False)
    assert "fewer than 5 people are not drawn" in text and "not drawn in presentation-safe mode" in text


# --- recovery and reliable change ----------------------------------------------------------------------


def test_rates_chart_bars_whiskers_and_references(sample_analysis):
    rates = sample_analysis.rates
    figure = figs.rates_chart(rates)
    bars = [t for t in figure.data if isinstance(t, go.Bar)]
    assert [t.name for t in bars] == ["Physical activity", "Control"]
    assert [t.marker.color for t in bars] == [BLUE, ORANGE]
    keys = list(rates)
    for bar, group in zip(bars, (GROUP_PA, GROUP_CONTROL), strict=True):
        assert list(bar.y) == pytest.approx([rates[k].groups[group].rate * 100 for k in keys])
        lows = [rates[k].groups[group].ci95[0] * 100 for k in keys]
        assert list(np.array(bar.y) - np.array(bar.error_y.arrayminus)) == pytest.approx(lows)
    assert bars[0].text[0] == "63%" and bars[1].text[0] == "36%"
    references = {round(s.y0, 6): (s.x0, s.x1) for s in figure.layout.shapes}
    i = keys.index("recovery")
    assert references[round(RECOVERY_STANDARD * 100, 6)] == pytest.approx((i - 0.45, i + 0.45))
    j = keys.index("reliable_improvement")
    assert references[round(RELIABLE_IMPROVEMENT_REFERENCE * 100, 6)] == pytest.approx((j - 0.45, j + 0.45))
    legend = [t.name for t in figure.data if isinstance(t, go.Scatter)]
    assert legend == ["Recovery standard 50%", "About 2 in 3 reliably improve"]


def test_rates_chart_hides_suppressed_bars(sample_analysis):
    hidden = {"reliable_deterioration": frozenset({GROUP_PA, GROUP_CONTROL})}
    figure = figs.rates_chart(sample_analysis.rates, hidden)
    i = list(sample_analysis.rates).index("reliable_deterioration")
    assert figure.data[0].y[i] == 0 and figure.data[0].text[i] == "hidden"
    text = figs.rates_takeaway(sample_analysis.rates, hidden)
    assert "Reliable deterioration hidden (small numbers)" in text


def test_rates_takeaway_matches_the_rates(sample_analysis):
    text = figs.rates_takeaway(sample_analysis.rates)
    assert "Recovery 63% vs 36%" in text
    ri = sample_analysis.rates["reliable_improvement"].groups
    assert f"Reliable improvement {fmt.percent(ri[GROUP_PA].rate)} vs {fmt.percent(ri[GROUP_CONTROL].rate)}" in text
    assert "50% for recovery" in text and "67% for reliable improvement" in text


def test_outcome_categories_chart_is_a_100_percent_stack(sample_analysis):
    counts = outcome_category_counts(sample_analysis.flags)
    figure = figs.outcome_categories_chart(counts)
    assert [t.name for t in figure.data] == list(OUTCOME_CATEGORIES)
    assert [t.marker.color for t in figure.data] == CATEGORY_COLOURS
    assert figure.layout.barmode == "stack"
    totals = np.sum([list(t.x) for t in figure.data], axis=0)
    assert totals == pytest.approx([100, 100])
    first = counts[(counts["group"] == GROUP_PA) & (counts["category"] == OUTCOME_CATEGORIES[0])].iloc[0]
    assert figure.data[0].x[0] == pytest.approx(first["share"] * 100)
    assert list(figure.data[0].y) == ["Physical activity", "Control"]
    text = figs.outcome_categories_takeaway(counts)
    assert f"reliable recovery {fmt.percent(first['share'])}" in text


def test_outcome_categories_chart_pooled_for_safe_mode(sample_analysis):
    pooled = pool_small_categories(outcome_category_counts(sample_analysis.flags))
    figure = figs.outcome_categories_chart(pooled)
    names = [t.name for t in figure.data]
    assert names[-1] == POOLED_CATEGORY
    pooled_trace = figure.data[-1]
    assert pooled_trace.marker.pattern.shape == "/" and all(t == "" for t in pooled_trace.text)
    assert np.sum([list(t.x) for t in figure.data], axis=0) == pytest.approx([100, 100])


def test_first_last_scatter_reference_lines_and_points(phq9):
    figure = figs.first_last_scatter(phq9.scores, PHQ9)
    points = [t for t in figure.data if t.mode == "markers"]
    assert [t.name for t in points] == ["Physical activity", "Control"]
    assert [t.marker.color for t in points] == [BLUE, ORANGE]
    scores = phq9.scores
    for trace, group in zip(points, (GROUP_PA, GROUP_CONTROL), strict=True):
        sub = scores[scores["group"] == group]
        assert np.array(trace.customdata)[:, 0].tolist() == sub["first"].tolist()  # true scores in the hover
        assert np.max(np.abs(np.array(trace.x) - sub["first"].to_numpy())) <= 0.2  # jitter at most 0.2
    lines = {(s.xref, s.yref, s.x0, s.y0, s.x1, s.y1) for s in figure.layout.shapes}
    lo, hi, rc, cut = PHQ9.minimum, PHQ9.maximum, PHQ9.reliable_change, PHQ9.caseness
    assert ("x", "y", lo, lo, hi, hi) in lines  # diagonal
    assert ("x", "y", lo, lo - rc, hi, hi - rc) in lines and ("x", "y", lo, lo + rc, hi, hi + rc) in lines
    assert ("x", "y domain", cut, 0, cut, 1) in lines and ("x domain", "y", 0, cut, 1, cut) in lines
    band = figure.data[0]
    assert band.fill == "toself" and list(band.y) == [lo - rc, hi - rc, hi + rc, lo + rc]


def test_first_last_scatter_for_gad7_uses_its_thresholds(sample_analysis):
    gad7 = sample_analysis.measures["gad7"]
    figure = figs.first_last_scatter(gad7.scores, GAD7)
    assert ("x", "y domain", GAD7.caseness, 0, GAD7.caseness, 1) in {
        (s.xref, s.yref, s.x0, s.y0, s.x1, s.y1) for s in figure.layout.shapes}
    with pytest.raises(ValueError):
        figs.first_last_scatter(gad7.scores, WSAS)


def test_first_last_scatter_takeaway_matches_counts(phq9):
    jt = jacobson_truax_counts(phq9.scores, PHQ9)
    text = figs.first_last_scatter_takeaway(jt, PHQ9)
    pa = jt.set_index("group").loc[GROUP_PA]
    assert f"{pa['reliably_improved']} of {pa['n']} in the physical activity group reliably improved" in text
    assert f"{pa['below_cutoff_at_last_of_cases']} of the {pa['cases_at_first']} who started at caseness" in text


def _points(figure) -> int:
    """Values a figure sends to the browser, as the benchmark counts them (a gap between lines, None, counts)."""
    from benchmarks.app_timing import figure_points

    return figure_points(figure)


def test_participant_charts_send_at_most_10000_points_for_100000_participants():
    import numpy as np
    import pandas as pd

    from analysis.compare import compare_measure
    from analysis.figures.outcomes import (
        MAX_CHART_POINTS,
        change_distribution_chart,
        first_last_scatter,
        slope_chart,
        trajectory_chart,
    )
    from analysis.schema import PHQ9

    rng = np.random.default_rng(3)
    n = 100_000
    first = rng.integers(5, 28, n).astype(float)
    episodes = pd.DataFrame({"participant_id": [f"p{i}" for i in range(n)],
                             "group": np.where(rng.random(n) < 0.5, "physical_activity", "control"),
                             "phq9_first": first, "phq9_last": np.clip(first - rng.integers(-3, 10, n), 0, 27),
                             "gad7_first": 10.0, "gad7_last": 6.0})
    comparison = compare_measure(episodes, "phq9", n_resamples=99)
    for figure in (slope_chart(comparison, PHQ9), first_last_scatter(comparison.scores, PHQ9),
                   change_distribution_chart(comparison, PHQ9, show_points=True)):
        assert _points(figure) <= MAX_CHART_POINTS, figure.layout.title.text
        notes = " ".join(a.text for a in figure.layout.annotations)
        assert "100,000" in notes  # the sampling or aggregation is said on the chart
    # Session paths of 1 to 12 sessions (uneven, as in a service's records), 12 sessions of means per group.
    lengths = rng.integers(1, 13, 20_000)
    sessions = pd.DataFrame({"participant_id": np.repeat(episodes["participant_id"].to_numpy()[:20_000], lengths),
                             "group": np.repeat(episodes["group"].to_numpy()[:20_000], lengths),
                             "session": np.concatenate([np.arange(1, k + 1) for k in lengths]), "score": 10.0})
    summary = pd.DataFrame({"group": np.repeat(["physical_activity", "control"], 12),
                            "session": np.tile(np.arange(1, 13), 2), "n": 100,
                            "mean": 10.0, "ci_low": 9.0, "ci_high": 11.0})
    figure = trajectory_chart(summary, PHQ9, scores=sessions)
    assert MAX_CHART_POINTS - 500 < _points(figure) <= MAX_CHART_POINTS  # the budget is used, never exceeded
    assert any("random sample" in a.text for a in figure.layout.annotations)
