"""The planning page in Streamlit's AppTest: pilot estimates, sliders, chosen effects, filters and safe mode."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis import power
from analysis.figures import planning as pl
from analysis.summary import analyse
from tests.apptest_support import assert_clean, open_page

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/planning.py"


@pytest.fixture(scope="module")
def sample(app_sample):
    return app_sample


def _open(**state) -> AppTest:
    return open_page(PAGE, state, from_home=False)


_ok = assert_clean


def _sentences(at: AppTest) -> list[str]:
    """The headline sentences (one Markdown element, a heading each)."""
    return [part.removeprefix("#### ") for m in at.markdown for part in m.value.split("\n\n")
            if part.startswith("#### ")]


def _takeaways(at: AppTest) -> list[str]:
    return [m.value.removeprefix("**Takeaway:** ") for m in at.markdown if m.value.startswith("**Takeaway:**")]


def test_default_view_plans_from_the_pilot(sample):
    _, analysis = sample
    at = _open()
    assert at.title[0].value == "Planning the next evaluation"
    assert any(power.OBSERVED_POWER_WARNING in w.value for w in at.warning)
    assert at.radio(key="pl_effect").value == "pilot"
    assert at.select_slider(key="pl_alpha").value == 0.05
    assert at.select_slider(key="pl_power").value == 0.8
    sentences = _sentences(at)
    assert sentences[0] == ("To detect 63% vs 36% with 80% power (α = 0.05, two-sided) you need about 53 per group; "
                            "this pilot had 19 (physical activity) and 14 (control).")
    effects = pl.pilot_effects(analysis, "phq9")
    expected = power.planning_sentence_for_means(round(abs(effects.difference), 1), round(effects.sd, 1), 0.8, 0.05,
                                                 (19, 19), unit="PHQ-9 points")
    assert sentences[1] == expected
    table = at.table[0].value
    assert table["Power"].tolist() == ["80%", "90%"]
    assert table["Recovery: per group"].tolist() == ["53", "71"]
    takeaways = _takeaways(at)
    assert len(takeaways) == 2 and takeaways[0].startswith("To detect 63% vs 36% recovered")
    assert all("which would give" not in t for t in takeaways)  # no observed power


def test_power_and_alpha_sliders_change_the_numbers():
    at = _open()
    at.select_slider(key="pl_power").set_value(0.9).run()
    _ok(at)
    assert "you need about 71 per group" in _sentences(at)[0]
    at.select_slider(key="pl_alpha").set_value(0.01).run()
    _ok(at)
    expected = power.sample_size_for_rates(0.63, 0.36, 0.01, 0.9).n_per_group
    assert f"you need about {expected} per group" in _sentences(at)[0]
    assert at.table[0].value["α (two-sided)"].tolist() == ["0.01", "0.01"]


def test_chosen_values_start_at_the_pilot_and_move():
    at = _open()
    at.radio(key="pl_effect").set_value("chosen").run()
    _ok(at)
    assert at.slider(key="pl_rate_pa").value == 63 and at.slider(key="pl_rate_control").value == 36
    assert at.slider(key="pl_diff_phq9").value == 3.0 and at.slider(key="pl_sd_phq9").value == 5.5
    at.slider(key="pl_rate_pa").set_value(55)
    at.slider(key="pl_rate_control").set_value(50)
    at.run()
    _ok(at)
    n = power.sample_size_for_rates(0.55, 0.50).n_per_group
    assert _sentences(at)[0].startswith(f"To detect 55% vs 50% with 80% power (α = 0.05, two-sided) you need about "
                                        f"{n:,} per group")
    at_pilot = power.power_for_rates(0.55, 0.50, 19, 14)
    assert f"which would give {at_pilot * 100:.0f}% power for this chosen effect" in _takeaways(at)[0]
    at.slider(key="pl_diff_phq9").set_value(5.0).run()
    _ok(at)
    assert _sentences(at)[1].startswith("To detect a difference of 5 PHQ-9 points (SD 5.5")


def test_the_sidebar_measure_is_planned_for(sample):
    _, analysis = sample
    at = _open(measure="gad7")
    effects = pl.pilot_effects(analysis, "gad7")
    assert _sentences(at)[1].startswith(f"To detect a difference of {round(abs(effects.difference), 1):g} GAD-7 points")
    assert "GAD-7 change: per group" in at.table[0].value.columns


def test_a_filter_changes_the_pilot_estimates(sample):
    episodes, _ = sample
    at = _open(f_gender=["Female"])
    recovery = analyse(episodes[episodes["gender"] == "Female"]).rates["recovery"]
    pa, control = recovery.groups["physical_activity"], recovery.groups["control"]
    expected = power.planning_sentence(round(pa.rate, 2), round(control.rate, 2), 0.8, 0.05,
                                       (pa.denominator, control.denominator))
    assert _sentences(at)[0] == expected


def test_a_filter_that_empties_a_group_says_why():
    at = _open(f_gender=["Non-binary"])
    messages = [w.value for w in at.warning]
    assert "A group has no one at caseness, so there is no recovery rate to start from." in messages
    assert "No recovery rates to plan from: choose values instead." in messages
    assert _sentences(at) == []
    assert _takeaways(at) == []


def test_safe_mode_rounds_the_pilot_sizes():
    at = _open(safe=True)
    assert _sentences(at)[0].endswith("this pilot had 20 (physical activity) and 15 (control).")
    assert any("10 of 20" in m.value for m in at.markdown)  # 12 of 19 shown with rounded counts


def test_chosen_values_with_an_empty_group_and_a_secondary_measure():
    # SPIN (1 participant against 0 on the sample) is no longer offered (issue 18 item 8): WSAS instead.
    at = _open(f_gender=["Non-binary"], pl_effect="chosen", measure="wsas")
    # No pilot figures to start from: the documented fallbacks (50% control, 60% PA; d = 0.5).
    assert at.slider(key="pl_rate_pa").value == 60 and at.slider(key="pl_rate_control").value == 50
    assert at.slider(key="pl_diff_wsas").value == pytest.approx(4.0)  # 40 / 10
    assert at.slider(key="pl_sd_wsas").value == pytest.approx(8.0)  # 40 / 5
    n = power.sample_size_for_rates(0.60, 0.50).n_per_group
    assert _sentences(at)[0] == f"To detect 60% vs 50% with 80% power (α = 0.05, two-sided) you need about {n} per group."
    assert len(_takeaways(at)) == 2
