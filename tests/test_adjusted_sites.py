"""Issue 16 item 2: the adjusted analysis accounts for site when the data hold two or more sites
(site as a covariate in the propensity and outcome models; analysis/adjusted.py with
analysis.sites.site_covariate), shown in the ``adjusted`` and ``sites.adjusted`` JSON blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.adjusted import (
    METHOD,
    SITE_METHOD,
    adjust,
    default_covariates,
    make_site_adjusted_safe,
    site_adjusted_block,
    site_adjusted_table,
    site_choice_text,
)
from analysis.disclosure import SUPPRESS_BELOW, make_summary_safe
from analysis.schema import GROUP_CONTROL, GROUP_PA, GROUPS
from analysis.summary import analyse
from analysis.validate import load_path
from tests.conftest import ROOT

PROGRAMME = ROOT / "data" / "sample" / "synthetic_programme_episodes.csv"
TRUE_EFFECT = 0.10
# four sites: the PA share rises with the site's recovery rate, so site confounds group and outcome
SITE_DESIGN = {"Alpha": (0.15, 0.20), "Bravo": (0.35, 0.35), "Charlie": (0.60, 0.50), "Delta": (0.85, 0.65)}


@pytest.fixture(scope="module")
def programme():
    report = load_path(PROGRAMME)
    assert report.usable, report.problems
    return analyse(report.episodes, source=PROGRAMME.name)


def confounded_by_site(n_per_site: int = 1500, seed: int = 16) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Episodes and flags (the columns adjust() reads) where site alone confounds group and recovery: within
    every site PA raises recovery by exactly TRUE_EFFECT in expectation."""
    rng = np.random.default_rng(seed)
    parts = []
    for site, (pa_share, base) in SITE_DESIGN.items():
        pa = rng.random(n_per_site) < pa_share
        recovered = rng.random(n_per_site) < base + TRUE_EFFECT * pa
        parts.append(pd.DataFrame({"site": site, "pa": pa, "recovered": recovered,
                                   "phq9_first": rng.normal(15, 4, n_per_site).round(0)}))
    frame = pd.concat(parts, ignore_index=True)
    frame["phq9_last"] = frame["phq9_first"] - 3 - 2 * frame["pa"] + rng.normal(0, 3, len(frame))
    episodes = pd.DataFrame({
        "participant_id": [f"S-{i:06d}" for i in range(len(frame))],
        "group": np.where(frame["pa"], GROUP_PA, GROUP_CONTROL),
        "site": frame["site"], "phq9_first": frame["phq9_first"], "phq9_last": frame["phq9_last"],
    })
    rec = frame["recovered"].to_numpy()
    true = np.ones(len(frame), dtype=bool)
    flags = pd.DataFrame({"finished": true, "at_caseness": true, "recovered": rec, "reliable_recovery": rec,
                          "reliable_improvement": rec, "reliable_deterioration": ~rec}, index=episodes.index)
    return episodes, flags


def stratified_att(episodes: pd.DataFrame, flags: pd.DataFrame) -> float:
    """Independent computation: the within-site differences weighted by each site's PA count (the ATT)."""
    frame = pd.DataFrame({"site": episodes["site"], "pa": episodes["group"] == GROUP_PA, "y": flags["recovered"]})
    total = 0.0
    for _, site in frame.groupby("site"):
        pa, control = site[site["pa"]], site[~site["pa"]]
        total += len(pa) * (pa["y"].mean() - control["y"].mean())
    return total / int(frame["pa"].sum())


# --- the programme sample ----------------------------------------------------------------------


def test_programme_sample_adjusts_for_site_by_default(programme):
    assert default_covariates(programme.episodes, programme.flags)[0] == "site"
    block = programme.to_dict()["adjusted"]
    assert "reason" not in block
    assert block["covariates"][0] == "site" and "phq9_first" in block["covariates"]
    assert SITE_METHOD in block["method"]
    assert {r["covariate"] for r in block["balance"]} >= {"site"}
    site_rows = [r for r in block["balance"] if r["covariate"] == "site"]
    assert len(site_rows) == 6  # one row per site (every Programme site has both groups)
    assert all(abs(r["smd_after"]) < 0.1 for r in site_rows)  # weighting balances site
    recovery = block["rates"]["recovery"]["difference"]
    assert recovery["estimate"] is not None and recovery["ci95"][0] < recovery["estimate"] < recovery["ci95"][1]


def test_programme_sites_block_carries_the_site_adjusted_figures(programme):
    summary = programme.to_dict()
    adjusted = summary["sites"]["adjusted"]
    assert adjusted["adjusted_for_site"] is True and adjusted["see"] == "adjusted"
    assert adjusted["covariates"] == summary["adjusted"]["covariates"]
    for section in ("rates", "measures"):
        assert set(adjusted[section]) == set(summary["adjusted"][section])
        for key, entry in adjusted[section].items():
            assert entry["difference"] == summary["adjusted"][section][key]["difference"]
            assert entry["n"] == summary["adjusted"][section][key]["n"]
    table = site_adjusted_table(adjusted)
    assert list(table["Outcome"])[0] == "Recovery" and len(table) == len(adjusted["rates"]) + len(adjusted["measures"])


def test_programme_safe_mode_rounds_the_site_adjusted_counts(programme):
    safe = make_summary_safe(programme.to_dict())
    for section in ("rates", "measures"):
        for entry in safe["sites"]["adjusted"][section].values():
            assert all(v is None or v % 5 == 0 for g, v in entry["n"].items() if g in GROUPS)
    assert safe["sites"]["adjusted"]["rates"]["recovery"]["difference"]["estimate"] is not None


def test_safe_rule_hides_an_adjusted_figure_resting_on_a_small_group():
    block = {"adjusted_for_site": True, "covariates": ["site"], "rates": {"recovery": {
        "n": {GROUP_PA: SUPPRESS_BELOW - 1, GROUP_CONTROL: 40},
        "difference": {"estimate": 0.2, "ci95": [0.1, 0.3]}}}}
    safe = make_site_adjusted_safe(block)
    entry = safe["rates"]["recovery"]
    assert entry["difference"]["estimate"] is None and entry["difference"]["reason"]
    assert entry["n"][GROUP_PA] is None and entry["n"][GROUP_CONTROL] == 40 and entry["n"]["reason"]
    assert "notes" not in safe
    row = site_adjusted_table(safe).iloc[0].to_dict()
    assert "fewer than 5" in row.values()
    assert not row["Adjusted difference (PA − control)"].endswith("points")  # hidden: no unit after the dash


def test_a_rate_difference_of_one_point_is_one_point():
    block = {"adjusted_for_site": True, "covariates": ["site"], "rates": {rate: {
        "n": {GROUP_PA: 40, GROUP_CONTROL: 40}, "difference": {"estimate": estimate, "ci95": [-0.05, 0.05]}}
        for rate, estimate in (("recovery", -0.01), ("reliable_improvement", 0.18))}}
    shown = site_adjusted_table(block).set_index("Outcome")["Adjusted difference (PA − control)"]
    assert shown["Recovery"] == "−1 point" and shown["Reliable improvement"] == "18 points"


# --- site confounds group and outcome ---------------------------------------------------------


def test_adjusting_for_site_removes_the_confounding_the_unadjusted_difference_keeps():
    episodes, flags = confounded_by_site()
    pa = (episodes["group"] == GROUP_PA).to_numpy()
    unadjusted = flags["recovered"][pa].mean() - flags["recovered"][~pa].mean()
    assert unadjusted > TRUE_EFFECT + 0.08  # biased: PA people are mostly in the high-recovery sites

    assert default_covariates(episodes, flags)[0] == "site"
    result = adjust(episodes, flags, resamples=200)  # the defaults: site and the PHQ-9 first score
    assert result.available and result.covariates[0] == "site"
    recovery = result.effects["recovery"].difference
    assert recovery.estimate == pytest.approx(TRUE_EFFECT, abs=0.03)
    assert recovery.ci95[0] < TRUE_EFFECT < recovery.ci95[1]
    assert not recovery.ci95[0] < unadjusted < recovery.ci95[1]
    assert SITE_METHOD in result.method and SITE_METHOD in recovery.method


def test_site_only_adjustment_equals_the_stratified_att():
    """With site as the only covariate the propensity model is saturated, ATT weights reweight each site's
    controls to its PA count, and IPW-RA equals the hand-computed within-site differences weighted by PA count."""
    episodes, flags = confounded_by_site(n_per_site=400, seed=7)
    result = adjust(episodes, flags, covariates=["site"], resamples=50)
    assert result.effects["recovery"].difference.estimate == pytest.approx(stratified_att(episodes, flags), abs=1e-9)
    site_rows = result.balance[result.balance["covariate"] == "site"]
    assert site_rows["smd_after"].abs().max() < 1e-9  # exact balance on site when it is the sole covariate
    assert site_rows["smd_before"].abs().max() > 0.3


def test_site_not_chosen_is_flagged_and_confounded():
    episodes, flags = confounded_by_site(n_per_site=400, seed=3)
    result = adjust(episodes, flags, covariates=["phq9_first"], resamples=50)
    assert result.method == METHOD
    assert result.effects["recovery"].difference.estimate > TRUE_EFFECT + 0.08
    assert "not among" in site_choice_text(4, ["phq9_first"])
    assert SITE_METHOD in site_choice_text(4, ["site", "phq9_first"])
    block = site_adjusted_block(result.to_dict())
    assert block["adjusted_for_site"] is False and "not among" in block["reason"]


# --- one site: as before -----------------------------------------------------------------------


def test_one_site_file_behaves_as_before(sample_episodes, sample_analysis):
    one_site = sample_episodes.assign(site="Only site")
    flags = sample_analysis.flags
    assert default_covariates(one_site, flags) == default_covariates(sample_episodes, flags)
    assert "site" not in default_covariates(one_site, flags)
    assert site_choice_text(1, []) is None
    before = adjust(sample_episodes, flags, resamples=100)
    after = adjust(one_site, flags, resamples=100)
    assert after.method == METHOD and after.covariates == before.covariates
    assert after.effects["recovery"].difference.estimate == before.effects["recovery"].difference.estimate
    summary = analyse(one_site).to_dict()
    assert "adjusted" not in summary.get("sites", {})
    assert "site" not in summary["adjusted"]["covariates"]


# --- the Sites slide and report section ---------------------------------------------------------


def test_sites_slide_has_the_site_adjusted_recovery_line(programme):
    from analysis.adjusted import site_adjusted_sentence
    from analysis.report.story import build_story

    recovery = programme.to_dict()["sites"]["adjusted"]["rates"]["recovery"]["difference"]
    [slide] = [s for s in build_story(programme) if s.key == "sites"]
    line = next(b for b in slide.bullets if b.startswith("Adjusted for site"))
    assert f"recovery {recovery['estimate'] * 100:.0f} points" in line
    assert f"95% CI {recovery['ci95'][0] * 100:.0f} to {recovery['ci95'][1] * 100:.0f}" in line
    hidden = {"adjusted_for_site": True, "rates": {"recovery": {"difference": {
        "estimate": None, "ci95": None, "reason": "Hidden: small numbers."}}}}
    assert "not shown (Hidden: small numbers.)" in site_adjusted_sentence(hidden)
    assert "not available" in site_adjusted_sentence({"adjusted_for_site": False, "reason": "No site."})
    assert site_adjusted_sentence(None) is None


def test_cli_text_report_has_the_site_adjusted_line(programme):
    from analysis.summary import render_text

    exact = render_text(programme.to_dict())
    assert "Adjusted for site and baseline characteristics (ATT" in exact
    assert "Adjusted for site" not in render_text(analyse(load_path(ROOT / "data" / "sample" /
                                                                   "synthetic_pilot_episodes.csv").episodes).to_dict())
