"""Charts for the probability of benefit: what they draw and what their takeaways say."""

from __future__ import annotations

import pytest

from analysis import bayes
from analysis.figures import bayes as figures

PILOT = (12, 19, 5, 14)


@pytest.fixture(scope="module")
def recovery():
    return bayes.rate_benefit(*PILOT)


def test_robustness_chart_draws_both_curves_and_marks_the_default(recovery):
    curve = bayes.rate_robustness(*PILOT)
    figure = figures.robustness_chart(curve, recovery, bayes.LOG_OR_PRIOR_SD)
    assert len(figure.data) == 2
    assert list(figure.data[0].y) == pytest.approx(list(curve["p_benefit"] * 100))
    assert figure.layout.xaxis.type == "log"
    assert any(shape.x0 == bayes.LOG_OR_PRIOR_SD for shape in figure.layout.shapes)
    text = figures.robustness_takeaway(curve, recovery)
    assert f"{curve['p_benefit'].iloc[0] * 100:.0f}%" in text and "improves recovery" in text


def test_posterior_chart_marks_zero_and_the_mid(recovery):
    density = bayes.rate_posterior_density(*PILOT)
    figure = figures.posterior_chart(density, recovery)
    assert [trace.name for trace in figure.data] == ["Vague prior", "Sceptical prior", "Enthusiastic prior"]
    assert sorted(shape.x0 for shape in figure.layout.shapes) == pytest.approx([0, 5])
    assert "percentage points" in figure.layout.xaxis.title.text
    text = figures.posterior_takeaway(recovery)
    assert text.startswith("Under a sceptical prior there is")
    assert f"{recovery.priors['vague'].p_benefit * 100:.0f}%" in text


def test_measure_posterior_mid_is_negative():
    result = bayes.measure_benefit(-2.5, 1.5, measure="phq9", label="PHQ-9", mid=5)
    figure = figures.posterior_chart(bayes.measure_posterior_density(-2.5, 1.5, mid=5), result)
    assert sorted(shape.x0 for shape in figure.layout.shapes) == pytest.approx([-5, 0])
    assert "lower is better" in figure.layout.xaxis.title.text


def test_hidden_draws_nothing_from_the_numbers(recovery):
    figure = figures.posterior_chart(bayes.rate_posterior_density(*PILOT), recovery, hidden=True)
    assert len(figure.data) == 0 and "presentation-safe" in figure.layout.annotations[0].text
    assert figures.posterior_takeaway(recovery, hidden=True) == figures.HIDDEN_TEXT
    table = figures.chances_table({"recovery": recovery}, hidden=frozenset({"recovery"}))
    assert table.iloc[0]["Sceptical: any benefit"] == "hidden"
    shown = figures.chances_table({"recovery": recovery})
    assert shown.iloc[0]["Sceptical: any benefit"] == f"{recovery.priors['sceptical'].p_benefit * 100:.0f}%"
