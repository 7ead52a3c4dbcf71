"""Forest plot by site, its takeaway and tables (analysis/figures/sites.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.figures import sites as fs
from analysis.figures.theme import GROUP_COLOURS
from analysis.sites import SITE_TOO_FEW_SAFE, site_analysis
from analysis.validate import load_path
from tests.conftest import ROOT

PROGRAMME = ROOT / "data" / "sample" / "synthetic_programme_episodes.csv"


@pytest.fixture(scope="module")
def sites():
    return site_analysis(load_path(PROGRAMME).episodes)


@pytest.fixture(scope="module")
def with_tiny_site():
    episodes = load_path(PROGRAMME).episodes
    tiny = episodes.iloc[:3].copy()
    tiny.index = pd.RangeIndex(9001, 9004, name="file_row")
    tiny["participant_id"] = ["T1", "T2", "T3"]
    tiny["group"] = ["physical_activity", "physical_activity", "control"]
    tiny["site"] = "<b>Tiny</b>"
    return site_analysis(pd.concat([episodes, tiny]))


def test_the_forest_plot_has_every_site_the_pooled_diamond_and_the_prediction_interval(sites):
    recovery = sites.rates["recovery"]
    figure = fs.forest_plot(recovery)
    ticks = list(figure.layout.yaxis.ticktext)
    assert ticks[-2:] == [fs.POOLED_LABEL, fs.PREDICTION_LABEL]
    assert [t.split(" (n ")[0] for t in ticks[:-2]] == list(sites.sites)
    diamond = next(t for t in figure.data if t.fill == "toself")
    lo, hi = recovery.pooled.ci95
    assert min(diamond.x) == pytest.approx(lo * 100) and max(diamond.x) == pytest.approx(hi * 100)
    assert max(diamond.y) > min(diamond.y)  # a diamond, not a line
    band = next(t for t in figure.data if t.name.startswith("95% prediction interval"))
    assert list(band.x) == pytest.approx([v * 100 for v in recovery.pooled.prediction95])
    outlier = next(t for t in figure.data if t.name.startswith("Site whose CI misses"))
    eastgate = next(i for i, t in enumerate(ticks) if t.startswith("Eastgate"))
    assert len(outlier.x) == 1 and outlier.y[0] == figure.layout.yaxis.tickvals[eastgate]
    colours = {t.marker.color for t in figure.data if t.marker is not None and t.marker.color is not None}
    assert not colours & set(GROUP_COLOURS.values())  # a site is never mistaken for a group


def test_the_takeaway_states_the_pooled_effect_heterogeneity_prediction_and_the_outlier(sites):
    phq9 = sites.measures["phq9"]
    text = fs.forest_takeaway(phq9)
    pooled = phq9.pooled
    assert text.startswith(f"Pooled across 6 sites, PHQ-9 ended {abs(pooled.estimate):.1f} points lower")
    assert f"I² = {pooled.i2 * 100:.0f}%" in text and "more than chance" in text
    assert "a new site could expect anything from" in text
    assert "Site Eastgate stands out" in text
    assert fs.outlier_sites(phq9) == ["Eastgate"]


def test_a_site_left_out_keeps_its_row_with_the_reason_and_its_label_is_plain_text(with_tiny_site):
    recovery = with_tiny_site.rates["recovery"]
    figure = fs.forest_plot(recovery)
    assert any(t.startswith("&lt;b&gt;Tiny&lt;/b&gt;") for t in figure.layout.yaxis.ticktext)
    assert any(a.text == "not pooled: fewer than 2 in a group" for a in figure.layout.annotations)
    assert "Not pooled (too few people): <b>Tiny</b>." in fs.forest_takeaway(recovery)
    table = fs.site_table(recovery)
    row = table[table["Site"] == "<b>Tiny</b>"].iloc[0]
    assert row["Pooled"] == "no" and row["Note"].startswith("Fewer than 2 people in a group")
    assert fs.excluded_lines(with_tiny_site) == [f"<b>Tiny</b>: {with_tiny_site.excluded['<b>Tiny</b>']}"]


def test_safe_mode_hides_a_small_sites_figures_and_rounds_counts(with_tiny_site):
    recovery = with_tiny_site.rates["recovery"]
    table = fs.site_table(recovery, safe=True)
    tiny = table[table["Site"] == "<b>Tiny</b>"].iloc[0]
    assert tiny["n physical activity"] == "<5" and tiny["Difference PA − control (percentage points)"] == (
        "hidden (small numbers)")
    others = table[~table["Site"].isin(["<b>Tiny</b>", fs.POOLED_LABEL])]
    assert all(int(v.replace(",", "")) % 5 == 0 for v in others["n control"])
    figure = fs.forest_plot(recovery, safe=True)
    assert any(a.text == "hidden (small numbers)" for a in figure.layout.annotations)
    people = fs.participants_table(with_tiny_site, safe=True)
    assert people.loc[people["Site"] == "<b>Tiny</b>", "Control (finished)"].iloc[0] == "<5"
    # the too-few reason states the exact group sizes, so safe mode shows one that names no count
    assert "(physical activity " in fs.excluded_lines(with_tiny_site)[0]
    shown = [*fs.excluded_lines(with_tiny_site, safe=True), *people["Pooled"], *table["Note"],
             *fs.excluded_lines(with_tiny_site, recovery, safe=True)]
    assert not [text for text in shown if "(physical activity " in text]
    assert fs.excluded_lines(with_tiny_site, safe=True) == [f"<b>Tiny</b>: {SITE_TOO_FEW_SAFE}"]


def test_one_pooled_site_is_not_pooled_and_says_why(sites):
    episodes = load_path(PROGRAMME).episodes
    two = site_analysis(episodes[episodes["site"].isin(["Northfield", "Riverside"])])
    recovery = two.rates["recovery"]
    assert recovery.pooled.k == 2 and recovery.pooled.prediction95 is None
    figure = fs.forest_plot(recovery)
    assert any("3 sites" in a.text for a in figure.layout.annotations)
    one_left = site_analysis(episodes[episodes["site"] == "Northfield"].assign(site="Northfield"))
    assert "cannot be pooled" in fs.forest_takeaway(one_left.rates["recovery"])
    pooled = fs.pooled_table(sites)
    assert pooled["Outcome"].tolist()[:4] == ["Recovery", "Reliable recovery", "Reliable improvement",
                                              "Reliable deterioration"]


def test_pooled_table_fits_estimate_and_interval_in_one_cell_and_notes_only_when_there_are_some(sites):
    pooled = fs.pooled_table(sites).set_index("Outcome")
    recovery = sites.rates["recovery"].pooled
    lo, hi = (round(v * 100) for v in recovery.ci95)
    assert pooled.loc["Recovery", "Pooled difference, PA − control (95% CI)"] == (
        f"{round(recovery.estimate * 100)} ({lo} to {hi})".replace("-", "−"))
    assert "95% CI" not in pooled.columns
    assert "Note" not in pooled.columns  # six sites, every outcome pooled with a prediction interval: nothing to note
    episodes = load_path(PROGRAMME).episodes
    two = fs.pooled_table(site_analysis(episodes[episodes["site"].isin(["Northfield", "Riverside"])]))
    assert "Note" in two.columns and two["Note"].astype(bool).all()  # two sites: no prediction interval, and why
