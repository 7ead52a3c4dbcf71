"""`python -m analysis benchmarks` and `summarize --benchmark-org`, as a user calls them (subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from analysis import national
from tests.conftest import ROOT, SAMPLE_EPISODES


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_benchmarks_json_england_2024_25():
    result = run("benchmarks", "--year", "2024-25", "--format", "json")
    assert result.returncode == 0, result.stderr
    block = json.loads(result.stdout)
    england = block["england"]
    assert england["finished"] == 670_419 and england["at_caseness"] == 634_248
    assert england["rates"]["recovery"] == {"count": 321_061, "denominator": 635_185, "rate": 0.505}
    assert england["rates"]["reliable_improvement"]["rate"] == 0.675
    assert england["rates"]["reliable_recovery"]["count"] == 301_815
    assert england["rates"]["reliable_deterioration"] == {"count": 39_157, "denominator": 670_419, "rate": 0.058}
    assert block["attribution"] == national.ATTRIBUTION
    assert "pilot" not in block  # no data file, no pilot


def test_benchmarks_text_for_a_provider_says_counts_are_rounded():
    result = run("benchmarks", "--org", "RW4", "--year", "2023-24", "--format", "text")
    assert result.returncode == 0, result.stderr
    assert "National figures, 2023-24 (NHS England)" in result.stdout
    assert "Mersey Care NHS Foundation Trust (Provider, RW4)" in result.stdout
    assert "(counts rounded to 5)" in result.stdout
    assert national.ATTRIBUTION in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("--org", "london"), "give the ODS code"),
    (("--org", "NOT-A-CODE"), "No organisation"),
    (("--year", "2031-32"), "extract covers"),
])
def test_benchmarks_bad_input_is_a_message_not_a_traceback(args, message):
    result = run("benchmarks", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_summarize_with_benchmark_block():
    result = run("summarize", str(SAMPLE_EPISODES), "--benchmark-org", "Y56", "--format", "json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["rates"]["recovery"]["physical_activity"]["count"] == 12  # the usual summary is unchanged
    block = summary["benchmark"]
    assert block["organisation"]["organisation"] == {"type": "NHS region", "code": "Y56",
                                                     "name": "London Commissioning Region"}
    assert block["organisation"]["counts_rounded_to_5"] is True
    assert block["england"]["rates"]["recovery"]["rate"] == 0.505
    assert block["pilot"]["funnel_position"] == {"physical_activity": "within the 95% limits",
                                                 "control": "within the 95% limits"}
    recovery = block["expected"]["problem_descriptor"]["rates"]["recovery"]
    assert recovery["physical_activity"]["observed"] == 12 and recovery["physical_activity"]["n"] == 19
    oe = recovery["physical_activity"]["observed_over_expected"]
    assert oe["estimate"] == pytest.approx(12 / recovery["physical_activity"]["expected"])
    gender = block["expected"]["gender"]["categories"]
    assert [c["value"] for c in gender if c["published"] is None] == ["Non-binary"]
    assert block["attribution"] == national.ATTRIBUTION


def test_summarize_benchmark_safe_mode_and_text():
    result = run("summarize", str(SAMPLE_EPISODES), "--benchmark-org", "England", "--safe", "--format", "json")
    assert result.returncode == 0, result.stderr
    block = json.loads(result.stdout)["benchmark"]
    pilot = block["pilot"]["rates"]["recovery"]
    assert pilot["physical_activity"] == {"count": 10, "denominator": 20, "rate": 12 / 19}
    control_age = block["expected"]["age_group"]["rates"]["recovery"]["control"]  # 3 recovered: hidden
    assert control_age["observed"] is None and control_age["observed_over_expected"]["estimate"] is None
    assert block["england"]["rates"]["recovery"]["count"] == 321_061  # published figures pass through
    control_gender = block["expected"]["gender"]["rates"]["reliable_improvement"]["control"]  # 1 unmatched
    assert control_gender["unmatched"] is None and control_gender["reason"].startswith("fewer than 5 participant")
    text = run("summarize", str(SAMPLE_EPISODES), "--benchmark-org", "RW4", "--format", "text")
    assert text.returncode == 0, text.stderr
    assert "Expected rates by problem descriptor" in text.stdout and national.ATTRIBUTION in text.stdout


def test_summarize_with_unknown_benchmark_org_fails_cleanly():
    result = run("summarize", str(SAMPLE_EPISODES), "--benchmark-org", "ZZZ")
    assert result.returncode == 2 and "No organisation" in result.stderr and "Traceback" not in result.stderr
