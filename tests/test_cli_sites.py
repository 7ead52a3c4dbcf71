"""Several sites through the command line and the exports: the JSON/text `sites` block, safe mode,
validation of the site column, and the Sites slide and report section (issue 16)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pandas as pd
import pytest
from pptx import Presentation

from analysis.disclosure import SUPPRESS_BELOW
from analysis.sites import site_analysis
from analysis.validate import load_path
from tests.conftest import ROOT, SAMPLE_EPISODES

PROGRAMME = ROOT / "data" / "sample" / "synthetic_programme_episodes.csv"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180)


def summarize(path, *extra: str) -> dict:
    result = run("summarize", str(path), "--format", "json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def programme_json() -> dict:
    return summarize(PROGRAMME)


def test_the_sites_block_follows_the_design_contract_and_matches_the_analysis(programme_json):
    block = programme_json["sites"]
    expected = site_analysis(load_path(PROGRAMME).episodes)
    assert block["n_sites"] == 6
    for section, keys in (("rates", ("recovery", "reliable_recovery", "reliable_improvement",
                                     "reliable_deterioration")), ("measures", ("phq9", "gad7", "wsas"))):
        assert tuple(block[section]) == keys
        for key in keys:
            entry = block[section][key]
            mine = expected.outcomes[key]
            assert [s["site"] for s in entry["per_site"]] == list(expected.sites)
            for site, effect in zip(entry["per_site"], mine.per_site, strict=True):
                assert {"site", "estimate", "ci95", "n"} <= set(site)
                assert site["estimate"] == pytest.approx(effect.estimate.estimate)
                assert site["n"] == effect.n
            pooled = entry["pooled"]
            assert {"estimate", "ci95", "tau2", "i2", "q", "q_p", "method"} <= set(pooled)
            assert pooled["estimate"] == pytest.approx(mine.pooled.estimate)
            assert pooled["tau2"] == pytest.approx(mine.pooled.tau2)
            assert "Paule–Mandel" in pooled["method"]


def test_a_one_site_file_behaves_as_today_and_a_pilot_has_no_sites_key(tmp_path):
    pilot = summarize(SAMPLE_EPISODES)
    assert "sites" not in pilot
    one_site = tmp_path / "one_site.csv"
    frame = pd.read_csv(SAMPLE_EPISODES, dtype=str, keep_default_na=False)
    frame.assign(site="Leeds").to_csv(one_site, index=False)
    with_site = summarize(one_site)
    block = with_site.pop("sites")
    with_site["data"].pop("source"), pilot["data"].pop("source")
    assert with_site == pilot  # every other figure is today's
    assert block["n_sites"] == 1 and "One site only" in block["reason"]
    assert block["rates"]["recovery"]["pooled"]["estimate"] is None
    assert "at least 2 sites" in block["rates"]["recovery"]["pooled"]["reason"]


def test_safe_mode_rounds_per_site_counts_and_hides_small_sites(tmp_path):
    rows = PROGRAMME.read_text(encoding="utf-8").splitlines()
    extra = [f"TINY-{i},{g},Tiny,15,5,12,4,6,20,10,4,26-35,Female,White British,No,Depression"
             for i, g in enumerate(["physical_activity"] * 3 + ["control"] * 2)]
    path = tmp_path / "programme_plus.csv"
    path.write_text("\n".join([*rows, *extra]) + "\n", encoding="utf-8")
    exact = summarize(path)["sites"]
    safe = summarize(path, "--safe")["sites"]
    tiny_exact = next(s for s in exact["rates"]["reliable_improvement"]["per_site"] if s["site"] == "Tiny")
    assert tiny_exact["included"] and tiny_exact["estimate"] is not None  # 3 vs 2: pooled when exact
    tiny = next(s for s in safe["rates"]["reliable_improvement"]["per_site"] if s["site"] == "Tiny")
    assert tiny["n"] == {"physical_activity": None, "control": None}
    assert tiny["estimate"] is None and tiny["ci95"] is None and "safe" in tiny["reason"]
    for entry in [*safe["rates"].values(), *safe["measures"].values()]:
        for site in entry["per_site"]:
            for n in [*site["n"].values(), *site.get("events", {}).values()]:
                assert n is None or (n >= SUPPRESS_BELOW and n % 5 == 0)
        assert entry["pooled"]["estimate"] is not None  # the pooled figures combine every site
    assert all(p["n"]["control"] is None or p["n"]["control"] % 5 == 0 for p in safe["participants"])


def test_the_text_report_prints_each_site_and_the_pooled_effect():
    result = run("summarize", str(PROGRAMME), "--format", "text")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "Sites (6): each site's PA − control difference" in text
    assert "Pooled (6 sites):" in text and "95% prediction interval" in text
    safe = run("summarize", str(PROGRAMME), "--format", "text", "--safe")
    assert safe.returncode == 0 and "Sites (6)" in safe.stdout
    assert "Sites (" not in run("summarize", str(SAMPLE_EPISODES), "--format", "text").stdout


def test_validate_names_a_participant_in_two_sites(tmp_path):
    path = tmp_path / "sessions.csv"
    path.write_text("participant_id,group,session_number,phq9,gad7,site\n"
                    "P1,PA,1,15,12,North\nP1,PA,2,5,4,South\nP2,control,1,14,11,North\nP2,control,2,10,9,North\n",
                    encoding="utf-8")
    result = run("validate", str(path))
    assert result.returncode == 1
    assert "row 3 (participant P1), column 'site', value 'South'" in result.stdout


def test_the_deck_and_the_report_have_a_sites_slide_only_with_several_sites(tmp_path):
    deck, report = tmp_path / "deck.pptx", tmp_path / "report.html"
    assert run("report", str(PROGRAMME), "--output", str(deck)).returncode == 0
    assert run("report", str(PROGRAMME), "--output", str(report), "--safe").returncode == 0
    titles = [next((sh.text_frame.text for sh in s.shapes if sh.name == "Title"), "")
              for s in Presentation(io.BytesIO(deck.read_bytes())).slides]
    assert "Sites: does it work everywhere? (6 sites)" in titles
    page = report.read_text(encoding="utf-8")
    assert 'id="sites"' in page and "Pooled (random effects)" in page and "Eastgate" in page
    pilot_report = tmp_path / "pilot.html"
    assert run("report", str(SAMPLE_EPISODES), "--output", str(pilot_report)).returncode == 0
    assert 'id="sites"' not in pilot_report.read_text(encoding="utf-8")
