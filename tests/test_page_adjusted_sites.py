"""Issue 16 item 2 on the pages (AppTest): the adjusted page preselects site and says so; the Sites page shows
the site-adjusted figures with a link to the adjusted page; the pilot (no site) shows neither."""

from __future__ import annotations

import pytest

from analysis.adjusted import (
    SITE_METHOD,
    make_site_adjusted_safe,
    site_adjusted_block,
    site_adjusted_table,
)
from analysis.disclosure import safe_count
from analysis.outcomes import with_derived_columns
from analysis.schema import GROUP_LABELS, GROUP_PA
from analysis.summary import analyse
from analysis.validate import load_path
from dashboard import state
from tests.apptest_support import open_page, page_text
from tests.conftest import ROOT

PROGRAMME = ROOT / "data" / "sample" / "synthetic_programme_episodes.csv"
HEADING = "Adjusted for site and baseline characteristics"


@pytest.fixture(scope="module")
def programme():
    return analyse(with_derived_columns(load_path(PROGRAMME).episodes))


def _site_table(at):
    frames = [f.value for f in [*at.table, *at.dataframe] if "Adjusted difference (PA − control)" in f.value.columns]
    assert len(frames) == 1
    return frames[0]


def _as_shown(frame):
    """A frame as ui.table shows it (every cell as text)."""
    from dashboard.ui import breakable, cell_text, keep_together

    return frame.astype(object).map(lambda v: breakable(keep_together(cell_text(v)))).to_dict("records")


def test_adjusted_page_preselects_site_and_says_how_it_is_used(programme):
    at = open_page("pages/adjusted.py", {state.SAMPLE_KEY: "Programme"}, from_home=False)
    chosen = at.multiselect(key="adj_covariates").value
    assert chosen[0] == "site" and "Site" in at.multiselect(key="adj_covariates").options
    assert any(SITE_METHOD in i.value and "6 sites" in i.value for i in at.info)
    assert SITE_METHOD in page_text(at)  # the method caption under the comparison table names it too


def test_adjusted_page_warns_when_site_is_taken_out(programme):
    at = open_page("pages/adjusted.py", {state.SAMPLE_KEY: "Programme"}, from_home=False)
    at.multiselect(key="adj_covariates").unselect("site").run()
    assert any("site is not among the characteristics chosen" in w.value for w in at.warning)


def test_pilot_adjusted_page_says_nothing_about_sites():
    at = open_page("pages/adjusted.py", from_home=False)
    assert "site" not in at.multiselect(key="adj_covariates").value
    assert not any("sites" in i.value for i in at.info)


def test_sites_page_shows_the_site_adjusted_figures_and_links_to_the_adjusted_page(programme):
    at = open_page("pages/sites.py", {state.SAMPLE_KEY: "Programme"}, from_home=False)
    assert HEADING in [s.value for s in at.subheader]
    expected = site_adjusted_table(site_adjusted_block(programme.adjusted_blocks["adjusted"]))
    shown = _site_table(at)
    assert shown.to_dict("records") == _as_shown(expected)
    assert shown.iloc[0]["Outcome"] == "Recovery" and shown.iloc[0]["Adjusted difference (PA − control)"].endswith(
        "points")
    assert any(link.proto.page.endswith("adjusted.py") or "adjusted" in link.proto.page
               for link in at.get("page_link"))


def test_sites_page_safe_mode_rounds_the_site_adjusted_counts(programme):
    at = open_page("pages/sites.py", {state.SAMPLE_KEY: "Programme", state.SAFE_KEY: True}, from_home=False)
    shown = _site_table(at)
    exact = site_adjusted_block(programme.adjusted_blocks["adjusted"])["rates"]["recovery"]["n"][GROUP_PA]
    assert shown.iloc[0][f"{GROUP_LABELS[GROUP_PA]} (n)"] == f"{safe_count(exact):,}"
    expected = site_adjusted_table(make_site_adjusted_safe(site_adjusted_block(programme.adjusted_blocks["adjusted"])))
    assert shown.to_dict("records") == _as_shown(expected)
