"""The command line as a user calls it: `python -m analysis ...` in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE_EPISODES, SAMPLE_SESSIONS


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def episode_summary() -> dict:
    result = run("summarize", str(SAMPLE_EPISODES), "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_summarize_reproduces_the_published_calibration(episode_summary):
    s = episode_summary
    assert s["participants"] == {"physical_activity": 19, "control": 19}
    recovery = s["rates"]["recovery"]
    assert (recovery["physical_activity"]["count"], recovery["physical_activity"]["denominator"]) == (12, 19)
    assert (recovery["control"]["count"], recovery["control"]["denominator"]) == (5, 14)
    assert round(recovery["physical_activity"]["rate"], 3) == 0.632
    assert round(recovery["control"]["rate"], 3) == 0.357
    assert round(recovery["difference"]["estimate"], 3) == 0.274
    assert round(recovery["odds_ratio"]["estimate"], 2) == 2.98
    assert round(recovery["fisher_p"], 3) == 0.166
    for key in ("phq9", "gad7"):
        m = s["measures"][key]
        ratio = m["physical_activity"]["mean_change"] / m["control"]["mean_change"]
        assert 1.8 <= ratio <= 2.2, key  # about twice the fall
        assert m["ancova"]["p"] > 0.05 and m["welch"]["p"] > 0.05 and m["mann_whitney"]["p"] > 0.05


def test_summary_has_the_design_doc_shape(episode_summary):
    for rate in ("recovery", "reliable_recovery", "reliable_improvement", "reliable_deterioration"):
        block = episode_summary["rates"][rate]
        for group in ("physical_activity", "control"):
            assert set(block[group]) == {"count", "denominator", "rate", "ci95"}
        assert set(block["difference"]) >= {"estimate", "ci95"}
        assert set(block["odds_ratio"]) >= {"estimate", "ci95"}
        assert "fisher_p" in block
    for key in ("phq9", "gad7"):
        m = episode_summary["measures"][key]
        assert set(m["physical_activity"]) == {"n", "mean_first", "sd_first", "mean_last", "sd_last", "mean_change",
                                               "sd_change"}
        assert set(m["welch"]) == {"difference", "ci95", "t", "df", "p"}
        assert set(m["mann_whitney"]) == {"u", "p"}
        assert set(m["hedges_g"]) == {"estimate", "ci95"}
        assert set(m["ancova"]) >= {"difference", "ci95", "p"}


def test_session_level_sample_gives_the_same_rates(episode_summary):
    result = run("summarize", str(SAMPLE_SESSIONS), "--format", "json")
    assert result.returncode == 0, result.stderr
    sessions = json.loads(result.stdout)
    assert sessions["rates"] == episode_summary["rates"]
    assert sessions["measures"]["phq9"] == episode_summary["measures"]["phq9"]
    assert sessions["data"]["level"] == "session"


def test_text_format_reports_the_same_figures(episode_summary):
    result = run("summarize", str(SAMPLE_EPISODES), "--format", "text")
    assert result.returncode == 0
    assert "12/19 = 63%" in result.stdout and "5/14 = 36%" in result.stdout
    assert "p = 0.17" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_safe_flag_rounds_and_suppresses(episode_summary):
    result = run("summarize", str(SAMPLE_EPISODES), "--format", "json", "--safe")
    assert result.returncode == 0, result.stderr
    safe = json.loads(result.stdout)
    assert safe["participants"] == {"physical_activity": 20, "control": 20}
    assert safe["rates"]["recovery"]["physical_activity"]["count"] == 10  # 12 rounds to 10
    # The percentage is computed from unrounded counts: still 12/19.
    assert safe["rates"]["recovery"]["physical_activity"]["rate"] == pytest.approx(12 / 19)
    deterioration = safe["rates"]["reliable_deterioration"]["control"]
    assert deterioration["count"] is None and deterioration["rate"] is None  # 1 of 19: suppressed
    assert safe["disclosure_control"]["applied"] is True


def test_validate_accepts_the_sample():
    result = run("validate", str(SAMPLE_EPISODES))
    assert result.returncode == 0
    assert "usable" in result.stdout


def test_validate_lists_every_problem_with_row_column_value_rule(tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last\n"
                   "a,physical_activity,30,5,10,4\n"
                   "b,placebo,12,x,10,4\n", encoding="utf-8")
    result = run("validate", str(bad))
    assert result.returncode == 1
    out = result.stdout
    assert "row 2" in out and "phq9_first" in out and "'30'" in out
    assert "row 3" in out and "group" in out and "'placebo'" in out
    assert "phq9_last" in out and "'x'" in out
    assert "Traceback" not in out + result.stderr


def test_summarize_refuses_a_bad_file_with_exit_1(tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("participant_id,group\n", encoding="utf-8")
    result = run("summarize", str(bad))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", bytes(range(256)) * 4])
def test_unreadable_files_get_a_message_not_a_traceback(tmp_path: Path, content: bytes):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    result = run("validate", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip()


def test_missing_file_exits_2():
    result = run("summarize", "no/such/file.csv")
    assert result.returncode == 2
    assert "no such file" in result.stderr and "Traceback" not in result.stderr


def test_bad_arguments_exit_2():
    result = run("summarize")
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_recovery_verdict_writes_large_counts_with_thousands_separators():
    from analysis.compare import compare_counts
    from analysis.summary import recovery_verdict

    recovery = compare_counts("recovery", 700, 5_000, 600, 4_669)
    assert "with 9,669 people at caseness" in recovery_verdict(recovery, 9_669)
