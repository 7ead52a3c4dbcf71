"""The Sites page in Streamlit's AppTest: the pilot (no sites), the programme sample, safe mode, outcomes."""

from __future__ import annotations

import pytest

from analysis.disclosure import safe_count
from analysis.figures import sites as fs
from analysis.sites import heterogeneity_sentence
from analysis.summary import analyse
from analysis.validate import load_path
from dashboard import state
from dashboard.ui import md_escape
from tests.apptest_support import open_page, page_text
from tests.conftest import ROOT

PAGE = "pages/sites.py"
PROGRAMME = ROOT / "data" / "sample" / "synthetic_programme_episodes.csv"


@pytest.fixture(scope="module")
def programme():
    from analysis.outcomes import with_derived_columns

    episodes = with_derived_columns(load_path(PROGRAMME).episodes)
    return episodes, analyse(episodes)


def test_the_pilot_has_no_site_column_and_says_how_to_get_one():
    at = open_page(PAGE, from_home=False)
    assert at.title[0].value == "Sites"
    text = " ".join(w.value for w in at.warning)
    assert "no `site` column" in text and "Programme" in text
    assert not at.get("plotly_chart")


def test_the_programme_shows_each_site_the_pooled_effect_and_its_heterogeneity(programme):
    _, analysis = programme
    at = open_page(PAGE, {state.SAMPLE_KEY: "Programme"}, from_home=False)
    assert at.selectbox(key="sites_outcome").value == "recovery"
    recovery = analysis.sites.rates["recovery"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Sites pooled"] == "6 of 6"
    assert metrics["Pooled difference"] == f"{recovery.pooled.estimate * 100:.0f}"
    assert metrics["I² (between sites)"] == f"{recovery.pooled.i2 * 100:.0f}%"
    assert metrics["Heterogeneity Q"] == f"{recovery.pooled.q:.1f}"
    markdown = [m.value for m in at.markdown]
    assert md_escape(heterogeneity_sentence(recovery)) in markdown
    assert f"**Takeaway:** {md_escape(fs.forest_takeaway(recovery))}" in markdown
    assert "Eastgate stands out" in fs.forest_takeaway(recovery)
    assert len(at.get("plotly_chart")) == 1
    svg = [b for b in at.get("download_button") if b.proto.label == "Download SVG"]
    assert len(svg) == 1 and svg[0].key == (
        "chart-sites-recovery-svg")
    table = [*at.table, *at.dataframe][0].value
    assert table["Site"].tolist() == [*analysis.sites.sites, fs.POOLED_LABEL]
    assert table.iloc[-1]["95% CI"] == fs.site_table(recovery)["95% CI"].iloc[-1]
    assert len([*at.table, *at.dataframe][1].value) == len(analysis.sites.outcomes)


def test_choosing_a_measure_redraws_for_it(programme):
    _, analysis = programme
    at = open_page(PAGE, {state.SAMPLE_KEY: "Programme"}, from_home=False)
    at.selectbox(key="sites_outcome").set_value("phq9").run()
    assert not at.exception
    phq9 = analysis.sites.measures["phq9"]
    assert f"**Takeaway:** {md_escape(fs.forest_takeaway(phq9))}" in [m.value for m in at.markdown]
    assert {m.label: m.value for m in at.metric}["Pooled difference"] == (
        f"{phq9.pooled.estimate:.1f}".replace("-", "−"))


def test_safe_mode_rounds_each_sites_counts(programme):
    _, analysis = programme
    at = open_page(PAGE, {state.SAMPLE_KEY: "Programme", state.SAFE_KEY: True}, from_home=False)
    table = [*at.table, *at.dataframe][0].value
    shown = dict(zip(table["Site"], table["n control"], strict=True))
    shown.pop(fs.POOLED_LABEL)
    exact = {e.site: e.n["control"] for e in analysis.sites.rates["recovery"].per_site}
    assert shown == {site: str(safe_count(n)) if n >= 5 else "<5" for site, n in exact.items()}
    assert any(str(n) != shown[site] for site, n in exact.items())  # some count was rounded
    assert all(v == "<5" or int(v.replace(",", "")) % 5 == 0 for v in table["n physical activity"])


def test_a_site_filter_leaves_one_site_and_the_page_says_so():
    at = open_page(PAGE, {state.SAMPLE_KEY: "Programme", state.FILTER_PREFIX + "site": ["Eastgate"]},
                   from_home=False)
    assert "Only one site" in page_text(at)
    assert any(t.value == "Site: Eastgate" for t in at.text)


def test_a_site_without_both_groups_is_listed_with_its_reason(programme):
    from streamlit.testing.v1 import AppTest

    from analysis.validate import load_bytes
    from dashboard.state import make_upload_dataset
    from tests.apptest_support import APP

    episodes, _ = programme
    rows = PROGRAMME.read_text(encoding="utf-8").splitlines()
    extra = [f"TINY-{i},physical_activity,Tiny,15,5,12,4,6,20,10,4,26-35,Female,White British,No,Depression"
             for i in range(3)]
    content = ("\n".join([*rows, *extra]) + "\n").encode()
    report = load_bytes(content, "programme_plus.csv")
    assert report.usable, report.problems[:2]
    assert len(report.episodes) == len(episodes) + 3
    assert any("Site 'Tiny'" in note for note in report.notes)  # validation names it too
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[state.UPLOAD_KEY] = make_upload_dataset("programme_plus.csv", content, report)
    at.session_state[state.SOURCE_KEY] = "upload"
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    listed = "\n".join(t.value for t in at.text)
    assert "Tiny: Fewer than 2 people in a group (physical activity 3, control 0)" in listed
    assert {m.label: m.value for m in at.metric}["Sites pooled"] == "6 of 7"


def test_site_is_a_subgroup_on_who_benefits(programme):
    from analysis.compare import subgroup_analysis

    episodes, analysis = programme
    at = open_page("pages/who_benefits.py", {state.SAMPLE_KEY: "Programme", "wb_column": "site"}, from_home=False)
    assert "Site" in at.selectbox(key="wb_column").options  # shown labels
    assert at.selectbox(key="wb_column").value == "site"
    table = [*at.table, *at.dataframe][0].value
    expected = subgroup_analysis(episodes, "site", "recovery", analysis.flags).table["level"].tolist()
    assert [s for s in table["Subgroup"].tolist() if s in expected] == expected == list(analysis.sites.sites)


def test_overview_points_to_the_sites_page_and_methods_explains_the_pooling():
    from analysis.sites import method_lines

    at = open_page("pages/overview.py", {state.SAMPLE_KEY: "Programme"}, from_home=False)
    assert any("pool **6 sites**" in i.value for i in at.info)
    pilot = open_page("pages/overview.py", from_home=False)
    assert not any("sites**" in i.value for i in pilot.info)
    methods = open_page("pages/methods.py", from_home=False)
    text = "\n".join(m.value for m in methods.markdown)
    assert all(line in text for line in method_lines())


@pytest.mark.parametrize("page", ["pages/sites.py", "pages/overview.py", "pages/who_benefits.py"])
def test_safe_mode_programme_pages_show_no_small_or_unrounded_count(page):
    from analysis.disclosure import SUPPRESS_BELOW
    from tests.test_results_safe_pages import _texts, shown_counts

    at = open_page(page, {state.SAMPLE_KEY: "Programme", state.SAFE_KEY: True, "wb_column": "site"},
                   from_home=False)
    # metrics that are not counts of people: the number of sites and the pooled difference
    texts = [t for t in _texts(at) if not t.startswith(("Sites pooled:", "Pooled difference:", "Heterogeneity Q:"))]
    if page == "pages/sites.py":  # the per-site tables' count columns, scanned as counts
        texts += [f"n = {cell}" for frame in [*at.table, *at.dataframe] for column in frame.value.columns
                  if str(column).startswith(("n ", "Physical activity (", "Control ("))
                  for cell in frame.value[column].astype(str) if cell.replace(",", "").isdigit()]
        assert any(t.startswith("n = ") for t in texts)
    bad = [(n, where) for text in texts for n, where in shown_counts(text) if n < SUPPRESS_BELOW or n % 5]
    assert not bad, bad


def test_presentation_mode_shows_the_sites_slide_with_the_forest_plot(programme):
    import json

    from streamlit.testing.v1 import AppTest

    from analysis.report.story import build_story
    from tests.apptest_support import APP

    _, analysis = programme
    keys = [s.key for s in build_story(analysis)]
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"present": "true", "slide": str(keys.index("sites") + 1), state.SAMPLE_KEY: "Programme"})
    at.run()
    assert not at.exception
    assert at.title[0].value == "Sites: does it work everywhere? (6 sites)"
    [chart] = at.get("plotly_chart")
    spec = json.loads(chart.proto.spec)
    assert any(trace.get("fill") == "toself" for trace in spec["data"])  # the pooled diamond
    assert fs.PREDICTION_LABEL in spec["layout"]["yaxis"]["ticktext"]
