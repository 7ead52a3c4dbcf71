"""Make the compact NHS Talking Therapies reference extract the dashboard ships (``data/reference/``).

    python data/reference/make_reference.py [--source DIR] [--output DIR]

Reads NHS England's published annual figures, as tidied by the ``nhstt`` package (Bennett
Institute, University of Oxford), from ``DIR`` (default: ``$NHSTT_DATA``, else
``../shared/data/nhs-talking-therapies`` beside the repository, else two folders up) and
writes three small Parquet files, so the app never needs the raw files at run time:

``nhs_tt_measures.parquet``
    One row per year x organisation x breakdown category x measure: the published ``count``
    and ``percentage`` (floats; missing where NHS England suppressed the cell with ``*`` or
    published ``NULL``: never zero) with ``count_status`` / ``percentage_status`` saying which
    ("published", "suppressed", "not published"). Kept: England, Commissioning Region, ICB and
    Provider totals for every year (2017-18 on), and England's breakdowns by age group, gender,
    problem descriptor (published as "Presenting Complaint" from 2020-21), ethnic group,
    long-term condition and deprivation decile: the ones a pilot's data can be matched to.
``nhs_tt_therapy_types.parquet``
    England's PROMs figures by therapy type (2019-20 on), including "Structured Physical
    Activity", for every diagnosis.
``nhs_tt_providers.parquet``
    The provider list (ODS code, name, status, ICB, NHS region).

Counts for regions, ICBs and providers are published rounded to the nearest 5 (and provider
percentages to whole numbers); England's are exact. Nothing here changes a published value.

Licence: Contains public sector information licensed under the Open Government Licence v3.0.
Source: NHS England, NHS Talking Therapies for anxiety and depression annual reports, via the
nhstt package.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RAW_SUBDIR = Path("shared") / "data" / "nhs-talking-therapies"

ORG_TYPES = ("England", "Commissioning Region", "ICB", "Provider")
# Breakdowns kept for England (the expected-rate standard); the published name -> the name used here.
BREAKDOWNS = {
    "Total": "Total",
    "Age Group": "Age group",
    "Gender": "Gender",
    "Problem Descriptor": "Problem descriptor",
    "Presenting Complaint": "Problem descriptor",  # NHS England's name for the same breakdown from 2020-21
    "Ethnic Group": "Ethnic group",
    "Long Term Condition Status": "Long-term condition",
    "Indices of Deprivation Decile": "Deprivation decile",
}
MEASURES = ("referrals_received", "finished_course_treatment", "at_caseness", "not_at_caseness", "improvement",
            "deterioration", "no_reliable_change", "recovery", "reliable_recovery")
KEY = ["year", "org_type", "org_code", "breakdown", "category", "subcategory", "measure"]


def default_source() -> Path:
    """``$NHSTT_DATA``, else ``shared/`` beside the repository (CI), else two folders up (a worktree)."""
    env = os.environ.get("NHSTT_DATA")
    if env:
        return Path(env)
    for base in (ROOT.parent, ROOT.parent.parent):
        candidate = base / RAW_SUBDIR
        if (candidate / "measures_annual.parquet").exists():
            return candidate
    return ROOT.parent / RAW_SUBDIR


def _status(raw: pd.Series) -> pd.Series:
    text = raw.astype("string").str.strip()
    status = pd.Series("published", index=raw.index, dtype="string")
    status[text.isna() | text.str.upper().isin(["NULL", ""])] = "not published"
    status[text == "*"] = "suppressed"
    return status


def _number(raw: pd.Series) -> pd.Series:
    """Published text as a float; ``*``/``NULL``/missing become NaN (missing), never 0."""
    return pd.to_numeric(raw.astype("string").str.strip().replace({"*": None, "NULL": None}), errors="coerce")


def _clean_label(value: pd.Series) -> pd.Series:
    text = value.astype("string").str.strip()
    return text.mask(text.str.upper().isin(["NULL", "NONE", ""]), "")


def measures_extract(source: Path) -> pd.DataFrame:
    raw = pd.read_parquet(
        source / "measures_annual.parquet",
        columns=["reporting_period", "org_type", "org_code", "org_name", "variable_type", "variable_a",
                 "variable_b", "measure_name", "measure_statistic", "value"],
        filters=[("org_type", "in", list(ORG_TYPES)), ("measure_name", "in", list(MEASURES))])
    keep = (raw["variable_type"] == "Total") | (
        (raw["org_type"] == "England") & raw["variable_type"].isin(list(BREAKDOWNS)))
    raw = raw[keep].copy()
    raw["value_number"] = _number(raw["value"])
    raw["value_status"] = _status(raw["value"])
    frame = pd.DataFrame({
        "year": raw["reporting_period"].astype("string"),
        "org_type": raw["org_type"].astype("string"),
        "org_code": raw["org_code"].astype("string").str.strip(),
        "org_name": raw["org_name"].astype("string").str.strip(),
        "breakdown": raw["variable_type"].map(BREAKDOWNS).astype("string"),
        "category": _clean_label(raw["variable_a"]),
        "subcategory": _clean_label(raw["variable_b"]),
        "measure": raw["measure_name"].astype("string"),
        "statistic": raw["measure_statistic"].astype("string"),
        "value": raw["value_number"],
        "status": raw["value_status"],
    })
    frame.loc[frame["breakdown"] == "Total", ["category", "subcategory"]] = ""
    # A provider published twice under two names (TAF90 in 2023-24) with the same figures: keep one row.
    frame = frame.drop_duplicates(subset=[*KEY, "statistic"], keep="first")
    counts = frame[frame["statistic"] == "count"].drop(columns="statistic").rename(
        columns={"value": "count", "status": "count_status"})
    percentages = frame[frame["statistic"] == "percentage"].drop(columns=["statistic", "org_name"]).rename(
        columns={"value": "percentage", "status": "percentage_status"})
    wide = counts.merge(percentages, on=KEY, how="left", validate="one_to_one")
    wide["percentage_status"] = wide["percentage_status"].fillna("not published")
    out = wide[[*KEY, "org_name", "count", "count_status", "percentage", "percentage_status"]]
    out = out.astype({"count": "float64", "percentage": "float64"})
    for column in (*KEY, "org_name", "count_status", "percentage_status"):
        out[column] = out[column].astype("category")
    return out.sort_values(KEY).reset_index(drop=True)


def therapy_types_extract(source: Path) -> pd.DataFrame:
    raw = pd.read_parquet(source / "proms_annual.parquet", filters=[("org_type", "==", "England")],
                          columns=["reporting_period", "variable_a", "variable_b", "measure_name",
                                   "measure_statistic", "measure_time", "value"])
    out = pd.DataFrame({
        "year": raw["reporting_period"].astype("string"),
        "diagnosis": raw["variable_a"].astype("string").str.strip(),
        "therapy_type": raw["variable_b"].astype("string").str.strip(),
        "measure": raw["measure_name"].astype("string"),
        "statistic": raw["measure_statistic"].astype("string"),
        "time": raw["measure_time"].astype("string").fillna(""),
        "value": pd.to_numeric(raw["value"], errors="coerce").astype("float64"),
    })
    for column in ("year", "diagnosis", "therapy_type", "measure", "statistic", "time"):
        out[column] = out[column].astype("category")
    return out.sort_values(["year", "therapy_type", "diagnosis", "measure", "statistic", "time"]).reset_index(drop=True)


def providers_extract(source: Path) -> pd.DataFrame:
    columns = ["org_code", "org_name", "status", "icb_code", "icb_name", "region_code", "region_name"]
    out = pd.read_parquet(source / "metadata_providers.parquet", columns=columns)
    return out.astype("string").sort_values("org_code").reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=None, help="folder holding measures_annual.parquet etc.")
    parser.add_argument("--output", type=Path, default=HERE)
    args = parser.parse_args(argv)
    source = args.source or default_source()
    if not (source / "measures_annual.parquet").exists():
        print(f"error: no measures_annual.parquet in {source} (set --source or NHSTT_DATA)", file=sys.stderr)
        return 2
    args.output.mkdir(parents=True, exist_ok=True)
    for name, frame in (("nhs_tt_measures", measures_extract(source)),
                        ("nhs_tt_therapy_types", therapy_types_extract(source)),
                        ("nhs_tt_providers", providers_extract(source))):
        path = args.output / f"{name}.parquet"
        frame.to_parquet(path, index=False, compression="zstd")
        print(f"wrote {path} ({len(frame):,} rows, {path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
