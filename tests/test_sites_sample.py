"""The bundled multi-site synthetic programme sample (data/sample/make_programme.py)."""

from __future__ import annotations

import importlib.util

import pytest

from analysis.sites import site_analysis
from analysis.validate import load_path
from tests.conftest import ROOT

SAMPLE = ROOT / "data" / "sample" / "synthetic_programme_episodes.csv"


def _generator():
    spec = importlib.util.spec_from_file_location("make_programme", ROOT / "data" / "sample" / "make_programme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report():
    return load_path(SAMPLE)


def test_the_programme_sample_validates_with_six_sites_of_the_planned_sizes(report):
    generator = _generator()
    assert report.usable, report.problems[:3]
    episodes = report.episodes
    sizes = episodes["site"].value_counts().to_dict()
    assert sizes == {site: plan[0] for site, plan in generator.SITES.items()}
    assert len(set(sizes.values())) == 6  # sites of different sizes
    assert not [n for n in report.notes if n.startswith("Site ")]  # every site has both groups


def test_one_site_is_the_outlier_and_the_others_agree_with_the_pooled_estimate(report):
    generator = _generator()
    analysis = site_analysis(report.episodes)
    assert analysis.n_sites == 6 and not analysis.excluded
    for outcome in (analysis.rates["recovery"], analysis.measures["phq9"]):
        pooled = outcome.pooled.estimate
        missing = [s.site for s in outcome.per_site if not s.estimate.ci95[0] <= pooled <= s.estimate.ci95[1]]
        assert missing == [generator.OUTLIER]
    phq9 = analysis.measures["phq9"].pooled
    assert phq9.ci95[1] < 0 and phq9.q_p < 0.05 and phq9.tau2 > 0
    assert analysis.measures["phq9"].per_site[[s.site for s in analysis.measures["phq9"].per_site].index(
        generator.OUTLIER)].estimate.estimate > 0  # physical activity did no better than control there


def test_the_generator_is_seeded_and_reproduces_the_bundled_file():
    generator = _generator()
    frame = generator.make_programme(generator.CALIBRATED_SEED)
    ok, report = generator.calibrated(frame)
    assert ok, report
    assert not generator.calibrated(generator.make_programme(generator.CALIBRATED_SEED - 1))[0]
    assert SAMPLE.read_text(encoding="utf-8") == generator.csv_text(frame)
    assert generator.make_programme(generator.CALIBRATED_SEED).equals(frame)  # the same seed, the same participants


def test_the_sidebar_offers_the_programme_beside_the_pilot_with_a_site_filter():
    from analysis.compare import categorical_columns
    from dashboard import state
    from tests.apptest_support import open_page

    at = open_page("pages/overview.py", from_home=False)
    radio = at.sidebar.radio(key=state.SAMPLE_KEY)
    assert radio.options == ["Pilot", "Programme"] and radio.value == "Pilot"
    assert not [m for m in at.sidebar.multiselect if m.key == state.FILTER_PREFIX + "site"]
    radio.set_value("Programme").run()
    assert not at.exception
    site_filter = at.sidebar.multiselect(key=state.FILTER_PREFIX + "site")
    assert site_filter.options == ["Brookside", "Eastgate", "Hillcrest", "Northfield", "Riverside", "Westmoor"]
    site_filter.set_value(["Eastgate"]).run()
    assert not at.exception
    # (AppTest does not write bound widgets into its URL; the next test opens the link instead)
    eastgate = site_analysis(load_path(SAMPLE).episodes).participants["Eastgate"]
    assert [m.value for m in at.metric][:2] == [str(eastgate["physical_activity"]), str(eastgate["control"])]
    assert "site" in categorical_columns(load_path(SAMPLE).episodes)


def test_a_link_to_the_programme_filtered_to_one_site_opens_that_view():
    from streamlit.testing.v1 import AppTest

    from dashboard import state
    from tests.apptest_support import APP

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params[state.SAMPLE_KEY] = "Programme"
    at.query_params[state.FILTER_PREFIX + "site"] = "Northfield"
    at.run()
    assert not at.exception
    assert at.sidebar.radio(key=state.SAMPLE_KEY).value == "Programme"
    assert at.sidebar.multiselect(key=state.FILTER_PREFIX + "site").value == ["Northfield"]
    northfield = site_analysis(load_path(SAMPLE).episodes).participants["Northfield"]
    shown = [m.value for m in at.metric]
    assert shown[:2] == [f"{northfield['physical_activity']:,}", f"{northfield['control']:,}"], shown
