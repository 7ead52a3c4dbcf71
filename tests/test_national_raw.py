"""The shipped extract and analysis/national.py against NHS England's raw files (the nhstt copy).

The raw files are in ``../shared/data/nhs-talking-therapies`` beside the repository (CI) or two folders
up (a worktree), or where ``NHSTT_DATA`` points. Without them these tests skip with that reason; the
extract-based tests (tests/test_national_extract.py) still run.
"""

from __future__ import annotations

import importlib.util
import os

import pandas as pd
import pytest

from analysis import national
from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("make_reference", ROOT / "data" / "reference" / "make_reference.py")
make_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_reference)
RAW = make_reference.default_source()
MISSING = f"NHS England raw files not found at {RAW} (set NHSTT_DATA)"
ON_CI = os.environ.get("CI", "").strip().lower() == "true"
# Locally the raw comparison skips without the files; in CI (which has ../shared) it must run.
pytestmark = pytest.mark.skipif(not ON_CI and not (RAW / "measures_annual.parquet").exists(), reason=MISSING)


@pytest.fixture(autouse=True)
def _raw_files_present():
    if not (RAW / "measures_annual.parquet").exists():
        pytest.fail(f"{MISSING} (CI=true, so these tests must run)", pytrace=False)
# (year, provider): large and small providers, one with suppressed recovery (RRF 2024-25), one tiny (NO401).
PROVIDERS = [("2024-25", "RW4"), ("2024-25", "RMY"), ("2024-25", "RRF"), ("2024-25", "NO401"), ("2024-25", "8J724"),
             ("2019-20", "RW4"), ("2019-20", "RMY"), ("2019-20", "AEY01"), ("2017-18", "AN901")]


@pytest.fixture(scope="module")
def raw_totals() -> pd.DataFrame:
    return pd.read_parquet(RAW / "measures_annual.parquet", filters=[("variable_type", "==", "Total")])


def _raw(raw: pd.DataFrame, org_type: str, code: str, year: str, measure: str, statistic: str = "count"):
    rows = raw[(raw["org_type"] == org_type) & (raw["org_code"] == code) & (raw["reporting_period"] == year)
               & (raw["measure_name"] == measure) & (raw["measure_statistic"] == statistic)]
    assert len(rows) >= 1, (org_type, code, year, measure, statistic)
    value = rows["value"].iloc[0]
    return None if value in ("*", "NULL") or pd.isna(value) else float(value)


def test_england_2024_25_from_the_raw_file(raw_totals):
    raw = lambda m, s="count": _raw(raw_totals, "England", "All", "2024-25", m, s)  # noqa: E731
    assert raw("finished_course_treatment") == 670_419
    assert raw("at_caseness") == 634_248
    assert (raw("recovery"), raw("recovery", "percentage")) == (321_061, 50.5)
    assert (raw("improvement"), raw("improvement", "percentage")) == (452_284, 67.5)
    assert (raw("reliable_recovery"), raw("reliable_recovery", "percentage")) == (301_815, 47.5)
    assert (raw("deterioration"), raw("deterioration", "percentage")) == (39_157, 5.8)
    b = national.benchmark("England", "2024-25")
    assert b.finished == raw("finished_course_treatment") and b.at_caseness == raw("at_caseness")
    for key, measure in national.PUBLISHED_MEASURES.items():
        assert b.rates[key].count == raw(measure)
        assert b.rates[key].rate == pytest.approx(raw(measure, "percentage") / 100)


@pytest.mark.parametrize(("year", "code"), PROVIDERS)
def test_sample_of_providers_matches_raw(raw_totals, year, code):
    b = national.benchmark(national.Organisation("Provider", code, ""), year)
    assert b.finished == _raw(raw_totals, "Provider", code, year, "finished_course_treatment")
    for key, measure in national.PUBLISHED_MEASURES.items():
        count = _raw(raw_totals, "Provider", code, year, measure)
        pct = _raw(raw_totals, "Provider", code, year, measure, "percentage")
        assert b.rates[key].count == count  # None where suppressed: missing, never zero
        if pct is not None:
            assert b.rates[key].rate == pytest.approx(pct / 100)
        elif count is None:
            assert b.rates[key].rate is None


def test_extract_equals_raw_for_every_kept_total(raw_totals):
    extract = national.load_measures()
    kept = extract[extract["breakdown"] == "Total"]
    raw = raw_totals[raw_totals["org_type"].isin(national.ORG_TYPES)
                     & raw_totals["measure_name"].isin(make_reference.MEASURES)]
    raw = raw.drop_duplicates(["reporting_period", "org_type", "org_code", "measure_name", "measure_statistic"])
    counts = raw[raw["measure_statistic"] == "count"]
    merged = counts.merge(kept, left_on=["reporting_period", "org_type", "org_code", "measure_name"],
                          right_on=["year", "org_type", "org_code", "measure"], how="left", indicator=True)
    assert (merged["_merge"] == "both").all()
    published = pd.to_numeric(merged["value"].where(~merged["value"].isin(["*", "NULL"])), errors="coerce")
    assert published.isna().equals(merged["count"].isna())
    assert (published.dropna() == merged["count"].dropna()).all()
    assert (merged.loc[merged["value"] == "*", "count_status"] == "suppressed").all()


def test_spa_from_the_raw_file():
    raw = pd.read_parquet(RAW / "proms_annual.parquet", filters=[("org_type", "==", "England"),
                                                                ("variable_b", "==", national.SPA_THERAPY),
                                                                ("variable_a", "==", "Total")])
    row = raw[(raw["reporting_period"] == "2024-25") & (raw["measure_name"] == "ther_recovery")
              & (raw["measure_statistic"] == "percentage")]
    spa = national.structured_physical_activity().set_index("year")
    assert spa.loc["2024-25", "recovery"] == pytest.approx(row["value"].iloc[0] / 100)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as strings (a Parquet round trip changes only their categories' dtype)."""
    return frame.astype({c: "string" for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)})


def test_committed_extract_is_what_the_script_makes_from_the_raw_files():
    shipped = pd.read_parquet(national.REFERENCE_DIR / national.MEASURES_FILE)
    remade = make_reference.measures_extract(RAW)
    pd.testing.assert_frame_equal(_plain(shipped), _plain(remade))
    therapy = pd.read_parquet(national.REFERENCE_DIR / national.THERAPY_TYPES_FILE)
    pd.testing.assert_frame_equal(_plain(therapy), _plain(make_reference.therapy_types_extract(RAW)))


def test_a_published_breakdown_from_the_raw_file():
    raw = pd.read_parquet(RAW / "measures_annual.parquet",
                          filters=[("org_type", "==", "England"), ("reporting_period", "==", "2024-25"),
                                   ("variable_type", "==", "Presenting Complaint"), ("variable_a", "==", "Depression")])
    count = float(raw[(raw["measure_name"] == "recovery") & (raw["measure_statistic"] == "count")]["value"].iloc[0])
    table = national.national_category_rates("problem_descriptor", "2024-25")
    assert table.loc["Depression", "recovery"] == count
