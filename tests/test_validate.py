"""Validation: every problem at once, in the user's terms; identifiable data refused; typed frames."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import schema
from analysis.io import read_path, read_table
from analysis.validate import (
    HIDDEN,
    Problem,
    ValidationReport,
    apply_mapping,
    exclude_rows,
    find_identifiable_columns,
    is_nhs_number,
    load_bytes,
    load_path,
    validate,
)

DATA = Path(__file__).parent / "data"
OK = DATA / "ok"
BAD = DATA / "bad"
HEADER = "participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last"
SESSION_HEADER = "participant_id,group,session_number,phq9,gad7"


def check(text: str, name: str = "x.csv") -> ValidationReport:
    return load_bytes(text.encode("utf-8"), name)


def summary(report: ValidationReport) -> list[tuple[int | None, str | None, str]]:
    return [(p.row, p.column, p.code) for p in report.problems]


def line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(text)


# --- the bad corpus: one test per kind of file ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("empty.csv", "'empty.csv' is empty."),
        ("binary.csv", "'binary.csv' does not contain text or a spreadsheet (it looks like binary data)."),
        ("png_renamed.csv", "'png_renamed.csv' is a PNG image, not a data table."),
        ("corrupt.xlsx", "'corrupt.xlsx' looks like an Excel workbook but is damaged and cannot be opened."),
    ],
)
def test_unreadable_file_is_one_problem(name: str, rule: str) -> None:
    report = load_path(BAD / name)
    assert report.level is None
    assert not report.usable
    assert report.episodes is None
    (problem,) = report.problems
    assert (problem.row, problem.column, problem.value) == (None, None, None)
    assert problem.rule == rule
    assert problem.fix
    assert problem.code == "unreadable"


def test_header_only() -> None:
    report = load_path(BAD / "header_only.csv")
    assert summary(report) == [(None, None, "no_rows")]
    assert report.problems[0].rule == "The file has column headings but no data rows"


def test_missing_column_names_it_and_the_columns_found() -> None:
    report = load_path(BAD / "missing_column.csv")
    (problem,) = report.problems
    assert (problem.row, problem.column, problem.code) == (None, "gad7_last", "missing_column")
    assert problem.rule == ("The file needs a column called 'gad7_last' (columns found: 'participant_id', "
                            "'group', 'phq9_first', 'phq9_last', 'gad7_first')")
    assert "may be left blank" in problem.fix


def test_unknown_group() -> None:
    report = load_path(BAD / "unknown_group.csv")
    (problem,) = report.problems
    assert (problem.row, problem.column, problem.value) == (line_of(BAD / "unknown_group.csv", "P007"), "group",
                                                            "exercise")
    assert problem.rule == ("group must be 'physical_activity' or 'control' (any capitals; 'PA' is accepted for "
                            "physical_activity)")


def test_out_of_range() -> None:
    report = load_path(BAD / "out_of_range.csv")
    (problem,) = report.problems
    assert (problem.row, problem.column, problem.value, problem.code) == (3, "phq9_first", "30", "out_of_range")
    assert problem.rule == "PHQ-9 must be a whole number from 0 to 27"
    assert "0 to 27" in problem.fix


def test_non_numeric() -> None:
    report = load_path(BAD / "non_numeric.csv")
    (problem,) = report.problems
    assert (problem.row, problem.column, problem.value, problem.code) == (5, "gad7_first", "seven", "not_a_number")
    assert problem.rule == "GAD-7 must be a whole number from 0 to 21"


def test_fractional() -> None:
    report = load_path(BAD / "fractional.csv")
    (problem,) = report.problems
    assert (problem.row, problem.column, problem.value, problem.code) == (6, "phq9_last", "12.5", "not_whole")
    assert problem.rule == "PHQ-9 must be a whole number from 0 to 27"


def test_duplicate_ids_lists_every_duplicate_row() -> None:
    report = load_path(BAD / "duplicate_ids.csv")
    assert summary(report) == [(3, "participant_id", "duplicate_id"), (5, "participant_id", "duplicate_id")]
    assert all(p.value == "P002" for p in report.problems)
    assert report.problems[0].rule == "participant_id must be unique: the same id is on rows 3, 5"


def test_one_group() -> None:
    report = load_path(BAD / "one_group.csv")
    (problem,) = report.problems
    assert (problem.row, problem.column, problem.code) == (None, "group", "one_group")
    assert problem.rule == ("The file only has control participants: the dashboard compares physical activity "
                            "with control, so it needs both groups")
    assert "physical_activity" in problem.fix


def test_several_errors_are_all_reported_with_file_rows() -> None:
    path = BAD / "several_errors.csv"
    report = load_path(path)
    first_p001 = line_of(path, "P001,physical_activity")
    second_p001 = line_of(path, "P001,control")
    assert summary(report) == [
        (first_p001, "participant_id", "duplicate_id"),
        (line_of(path, "P002"), "phq9_first", "out_of_range"),
        (line_of(path, ",physical_activity,11"), "participant_id", "blank_id"),
        (line_of(path, "P004"), "group", "group_unknown"),
        (line_of(path, "P005"), "gad7_first", "not_a_number"),
        (line_of(path, "P006"), "phq9_first", "required_blank"),
        (line_of(path, "P006"), "treatment_sessions", "out_of_range"),
        (second_p001, "participant_id", "duplicate_id"),
        (second_p001, "phq9_last", "not_whole"),
        (second_p001, "gad7_last", "out_of_range"),
    ]
    values = {(p.row, p.column): p.value for p in report.problems}
    assert values[(second_p001, "phq9_last")] == "11.5"
    assert values[(line_of(path, "P005"), "gad7_first")] == "ten"
    assert report.episodes is None
    assert report.row_count == 7


@pytest.mark.parametrize(
    ("name", "column", "value", "rule_part"),
    [
        ("nhs_numbers.csv", "participant_id", "(hidden: looks like an NHS number)", "contains NHS numbers"),
        ("email.csv", "contact", "(hidden: looks like an e-mail address)", "contains e-mail addresses"),
        ("postcode.csv", "area", "(hidden: looks like a postcode)", "contains UK postcodes"),
        ("phone.csv", "contact_no", "(hidden: looks like a phone number)", "contains UK phone numbers"),
        ("dob.csv", "born", "(hidden: looks like a date of birth)", "look like dates of birth"),
        ("name_column.csv", "Name", HIDDEN, "looks like it holds names"),
    ],
)
def test_identifiable_data_is_refused_first_without_echoing(name: str, column: str, value: str,
                                                            rule_part: str) -> None:
    report = load_path(BAD / name)
    assert not report.usable
    assert report.episodes is None and report.sessions is None
    assert report.identifiable
    first = report.problems[0]
    assert (first.row, first.column, first.value, first.code) == (None, column, value, "identifiable")
    assert rule_part in first.rule
    assert "pseudonym" in first.fix
    shown = " ".join(f"{p.value} {p.rule} {p.fix}" for p in report.problems)
    raw_text = (BAD / name).read_text(encoding="utf-8")
    second_row_cells = raw_text.splitlines()[1].split(",")
    secret = second_row_cells[0] if column in ("participant_id", "Name") else second_row_cells[-1]
    assert secret not in shown


# --- tolerated variants ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("bom.csv", 6),
        ("crlf.csv", 6),
        ("semicolon.csv", 6),
        ("latin1.csv", 6),
        ("extra_columns.csv", 6),
        ("blank_trailing_rows.csv", 6),
        ("mixed_case_groups.csv", 6),
        ("valid.xlsx", 5),
    ],
)
def test_tolerated_variants_are_usable(name: str, rows: int) -> None:
    report = load_path(OK / name)
    assert report.problems == []
    assert report.usable
    assert report.level == "episode"
    assert report.row_count == rows
    assert len(report.episodes) == rows
    assert set(report.episodes["group"]) == {"physical_activity", "control"}


def test_sessions_file_is_reduced() -> None:
    report = load_path(OK / "sessions.csv")
    assert report.usable
    assert report.level == "session"
    assert report.row_count == 8
    assert len(report.sessions) == 8
    episodes = report.episodes
    assert episodes.index.tolist() == [2, 5, 9]  # each participant's first row in the file
    assert episodes["participant_id"].tolist() == ["P1", "P2", "P3"]
    assert episodes["group"].tolist() == ["physical_activity", "control", "physical_activity"]
    assert episodes["phq9_first"].tolist() == [16.0, 18.0, 11.0]
    assert episodes["phq9_last"].tolist()[:2] == [9.0, 14.0] and np.isnan(episodes["phq9_last"].iloc[2])
    assert episodes["gad7_first"].tolist() == [12.0, 15.0, 9.0]
    assert np.isnan(episodes["gad7_last"].iloc[0]) and episodes["gad7_last"].iloc[1] == 10.0
    assert episodes["treatment_sessions"].tolist() == [3.0, 4.0, 1.0]
    assert any("8 session rows from 3 participants" in note for note in report.notes)


def test_blank_rows_note_is_passed_on() -> None:
    report = load_path(OK / "blank_trailing_rows.csv")
    assert "4 blank rows were ignored (rows 5, 9–11)." in report.notes
    assert report.episodes.index.tolist() == [2, 3, 4, 6, 7, 8]


# --- the typed frame contract ---------------------------------------------------------------------


def test_typed_episode_frame() -> None:
    report = load_path(OK / "extra_columns.csv")
    frame = report.episodes
    assert frame.index.name == "file_row"
    assert frame.index.tolist() == [2, 3, 4, 5, 6, 7]
    assert str(frame["participant_id"].dtype) == "str"
    assert str(frame["group"].dtype) == "str"
    for column in ("phq9_first", "phq9_last", "gad7_first", "gad7_last", "treatment_sessions", "pa_sessions"):
        assert frame[column].dtype == np.float64, column
    assert np.isnan(frame.loc[4, "phq9_last"])
    assert np.isnan(frame.loc[4, "pa_sessions"])
    assert frame["age_band"].tolist()[0] == "18-25"
    assert str(frame["age_band"].dtype) == "str"
    assert list(frame.columns) == ["participant_id", "group", "phq9_first", "phq9_last", "gad7_first",
                                   "gad7_last", "treatment_sessions", "age_band", "gender", "pa_sessions"]


def test_groups_are_canonical_and_ids_trimmed() -> None:
    report = load_path(OK / "mixed_case_groups.csv")
    assert report.episodes["group"].tolist() == ["physical_activity", "control", "physical_activity", "control",
                                                 "physical_activity", "control"]
    report = check(f"{HEADER}\n P1 ,pa,10,5,9,4\nP2,control,12,8,9,7\n")
    assert report.episodes["participant_id"].tolist() == ["P1", "P2"]


def test_whole_numbers_written_with_decimals_are_accepted() -> None:
    report = check(f"{HEADER}\nP1,pa,10.0,5,9,4\nP2,control,12, 8 ,9,7\n")
    assert report.usable
    assert report.episodes["phq9_first"].tolist() == [10.0, 12.0]
    assert report.episodes["phq9_last"].tolist() == [5.0, 8.0]


def test_missing_markers_read_as_blank_with_a_note() -> None:
    report = check(f"{HEADER}\nP1,pa,10,NA,9,n/a\nP2,control,12,8,9,7\n")
    assert report.usable
    assert np.isnan(report.episodes["phq9_last"].iloc[0])
    assert "1 cell in 'phq9_last' said NA, n/a or similar and was read as blank." in report.notes


def test_first_score_blank_is_a_problem_but_last_may_be_blank() -> None:
    report = check(f"{HEADER}\nP1,pa,,,9,\nP2,control,12,8,9,7\n")
    assert summary(report) == [(2, "phq9_first", "required_blank")]
    assert report.problems[0].rule == "PHQ-9 at first assessment (phq9_first) must not be blank"


def test_columns_differing_by_case_and_spaces_are_read_with_a_note() -> None:
    report = check("Participant ID,Group,PHQ-9 first,PHQ9 Last,GAD7_First,gad7 last\nP1,pa,10,5,9,4\n"
                   "P2,control,12,8,9,7\n")
    assert report.usable
    assert list(report.episodes.columns) == list(schema.REQUIRED_EPISODE_COLUMNS)
    assert "The column 'PHQ-9 first' was read as 'phq9_first'." in report.notes


def test_problem_names_the_users_column() -> None:
    report = check("Participant ID,Group,PHQ9 First,phq9_last,gad7_first,gad7_last\nP1,pa,99,5,9,4\n"
                   "P2,control,12,8,9,7\n")
    assert summary(report) == [(2, "PHQ9 First", "out_of_range")]


def test_missing_column_suggests_a_close_match() -> None:
    report = check("participant_id,group,phq9_first,phq9_last,gad7_first,gad7_lst\nP1,pa,10,5,9,4\n")
    problem = report.problems[0]
    assert problem.column == "gad7_last"
    assert "Rename the column 'gad7_lst' to 'gad7_last'" in problem.fix


def test_every_missing_column_is_one_problem() -> None:
    report = check("participant_id,group\nP1,pa\n")
    assert [p.column for p in report.problems if p.code == "missing_column"] == [
        "phq9_first", "phq9_last", "gad7_first", "gad7_last"]


def test_treatment_and_pa_sessions_must_be_whole_and_not_negative() -> None:
    report = check(f"{HEADER},treatment_sessions,pa_sessions\nP1,pa,10,5,9,4,2.5,x\nP2,control,12,8,9,7,-1,3\n")
    assert summary(report) == [(2, "treatment_sessions", "not_whole"), (2, "pa_sessions", "not_a_number"),
                               (3, "treatment_sessions", "out_of_range")]
    assert report.problems[0].rule == "treatment_sessions must be a whole number of 0 or more"


def test_wsas_is_checked_when_present_and_may_be_blank() -> None:
    report = check(f"{HEADER},wsas_first,wsas_last\nP1,pa,10,5,9,4,41,\nP2,control,12,8,9,7,,\n")
    assert summary(report) == [(2, "wsas_first", "out_of_range")]
    assert report.problems[0].rule == "WSAS must be a whole number from 0 to 40"


def test_adsm_rules() -> None:
    report = check(
        f"{HEADER},adsm_measure,adsm_first,adsm_last\n"
        "P1,pa,10,5,9,4,PCL-5,50,90\n"      # 2: PCL-5 above 80
        "P2,control,12,8,9,7,,12,\n"        # 3: score without a measure
        "P3,control,12,8,9,7,XYZ,,\n"       # 4: unknown measure
        "P4,pa,12,8,9,7,mi,2.5,1.2\n"       # 5: MI allows decimals
        "P5,pa,12,8,9,7,SPIN,2.5,\n"        # 6: SPIN is whole
        "P6,control,12,8,9,7,MI,0.5,\n"     # 7: MI is 1-5
    )
    assert summary(report) == [(2, "adsm_last", "out_of_range"), (3, "adsm_first", "adsm_without_measure"),
                               (4, "adsm_measure", "adsm_unknown"), (6, "adsm_first", "not_whole"),
                               (7, "adsm_first", "out_of_range")]
    rules = {p.row: p.rule for p in report.problems}
    assert rules[2] == "PCL-5 must be a whole number from 0 to 80"
    assert rules[4] == "adsm_measure must be one of SPIN, PCL-5, PDSS, HAI, OCI, MI"
    assert rules[7] == "MI must be a number from 1 to 5 (decimals allowed)"


def test_adsm_codes_are_canonical_in_the_typed_frame() -> None:
    report = check(f"{HEADER},adsm_measure,adsm_first,adsm_last\nP1,pa,10,5,9,4,pcl-5,50,30\n"
                   "P2,control,12,8,9,7,,,\n")
    assert report.usable
    assert report.episodes["adsm_measure"].iloc[0] == "PCL5"
    assert pd.isna(report.episodes["adsm_measure"].iloc[1])


def test_adsm_scores_without_the_measure_column() -> None:
    report = check(f"{HEADER},adsm_first\nP1,pa,10,5,9,4,20\nP2,control,12,8,9,7,\n")
    assert summary(report) == [(2, "adsm_first", "adsm_without_measure")]


def test_blank_group_and_blank_id() -> None:
    report = check(f"{HEADER}\n,pa,10,5,9,4\nP2,,12,8,9,7\nP3,control,12,8,9,7\n")
    assert summary(report) == [(2, "participant_id", "blank_id"), (3, "group", "group_blank")]


def test_duplicate_and_ragged_structure_problems() -> None:
    report = check("participant_id,group,phq9_first,phq9_first,phq9_last,gad7_first,gad7_last\n"
                   "P1,pa,10,1,5,9,4\nP2,control,12,1,8,9,7,extra\n")
    assert summary(report) == [(None, "phq9_first", "duplicate_column"), (3, None, "ragged_row")]
    assert report.problems[1].rule == "This row has values beyond the last column heading (8 values for 7 headings)"


def test_problems_frame() -> None:
    report = load_path(BAD / "out_of_range.csv")
    frame = report.problems_frame()
    assert list(frame.columns) == ["row", "participant", "column", "value", "rule", "fix"]
    assert frame.iloc[0]["row"] == 3
    assert frame.iloc[0]["value"] == "30"
    empty = load_path(OK / "bom.csv").problems_frame()
    assert list(empty.columns) == ["row", "participant", "column", "value", "rule", "fix"] and len(empty) == 0


def test_problem_is_frozen() -> None:
    problem = Problem(2, "group", "x", "rule", "fix")
    with pytest.raises(AttributeError):
        problem.row = 3  # type: ignore[misc]


# --- session level ---------------------------------------------------------------------------


def test_session_problems() -> None:
    report = check(
        f"{SESSION_HEADER}\n"
        "A,pa,1,10,9\n"        # 2
        "A,control,2,8,7\n"    # 3: group differs from A's first row
        "A,pa,2,7,6\n"         # 4: session 2 again
        "B,control,1,,\n"      # 5: B has no scores at all
        "B,control,x,,\n"      # 6: session number not a number
        ",pa,1,3,30\n"         # 7: blank id; GAD-7 out of range
    )
    assert summary(report) == [
        (3, "group", "group_inconsistent"),
        (3, "session_number", "duplicate_session"),
        (4, "session_number", "duplicate_session"),
        (5, "phq9", "no_scores"),
        (5, "gad7", "no_scores"),
        (6, "session_number", "not_a_number"),
        (7, "participant_id", "blank_id"),
        (7, "gad7", "out_of_range"),
    ]
    rules = {(p.row, p.column): p.rule for p in report.problems}
    assert rules[(3, "group")] == ("group must be the same on all of a participant's rows (this participant's "
                                   "first group is physical_activity)")
    assert rules[(4, "session_number")] == ("Each participant can have only one row per session: this "
                                            "participant has the same session_number on rows 3–4")
    assert report.episodes is None


def test_session_dates() -> None:
    report = check("participant_id,group,session_date,phq9,gad7\n"
                   "A,pa,2024-01-01,10,9\nA,pa,31/01/2024,8,7\nB,control,2024-02-30,3,3\nB,control,,3,3\n")
    assert summary(report) == [(4, "session_date", "date_invalid"), (5, "session_date", "session_blank")]
    good = check("participant_id,group,session_date,phq9,gad7\n"
                 "A,pa,31/01/2024,8,7\nA,pa,2024-01-01,10,9\nB,control,2024-02-01,3,3\n")
    assert good.usable
    assert good.sessions["session_date"].dtype.kind == "M"
    row = good.episodes.iloc[0]
    assert (row["phq9_first"], row["phq9_last"]) == (10.0, 8.0)


def test_repeated_session_dates_are_found_whatever_the_file_order() -> None:
    report = check("participant_id,group,session_date,phq9,gad7\n"
                   "A,pa,2024-01-08,10,9\n"      # 2: A's 8 January, three times
                   "B,control,2024-01-08,9,9\n"  # 3: the same date for another participant is fine
                   "A,pa,2024-01-01,11,9\n"      # 4
                   "A,pa,08/01/2024,9,8\n"       # 5: 8 January again, written the UK way
                   "A,pa,2024-01-08,8,8\n")      # 6
    assert summary(report) == [(2, "session_date", "duplicate_session"), (5, "session_date", "duplicate_session"),
                               (6, "session_date", "duplicate_session")]
    assert report.problems[0].rule.endswith("the same session_date on rows 2, 5–6")


def test_reduction_in_validation_matches_reduce_sessions_on_its_own() -> None:
    """Validation hands its participant codes and session order to the reduction (speed only): the
    episodes must be exactly what :func:`reduce_sessions` makes of the typed sessions by itself."""
    from analysis.io import reduce_sessions

    rng = np.random.default_rng(7)
    rows = []
    for person in range(60):
        group = "pa" if person % 2 else "control"
        days = rng.choice(90, size=rng.integers(1, 7), replace=False)
        for number, day in enumerate(sorted(days), start=1):
            phq9 = "" if number > 1 and rng.random() < 0.2 else str(rng.integers(0, 28))
            gad7 = "" if number > 1 and rng.random() < 0.2 else str(rng.integers(0, 22))
            date = (dt.date(2024, 1, 1) + dt.timedelta(days=int(day))).isoformat()
            rows.append(f"P{person:03d},{group},{number},{date},{phq9},{gad7},{rng.choice(['18-25', '26-35', ''])}")
    rng.shuffle(rows)  # file order is not session order
    report = check("participant_id,group,session_number,session_date,phq9,gad7,age_band\n" + "\n".join(rows) + "\n")
    assert report.usable, report.problems[:3]
    alone = reduce_sessions(report.sessions)
    pd.testing.assert_frame_equal(report.episodes, alone)
    assert len(alone) == 60 and alone["treatment_sessions"].sum() == len(rows)


def test_session_adsm_uses_the_participants_measure() -> None:
    report = check("participant_id,group,session_number,phq9,gad7,adsm_measure,adsm\n"
                   "A,pa,1,10,9,PDSS,20\nA,pa,2,8,7,,30\nB,control,1,5,5,,4\nB,control,2,5,5,SPIN,4\n")
    assert summary(report) == [(3, "adsm", "out_of_range")]
    assert report.problems[0].rule == "PDSS must be a whole number from 0 to 28"


def test_session_one_group() -> None:
    report = check(f"{SESSION_HEADER}\nA,control,1,10,9\nB,control,1,10,9\n")
    assert summary(report) == [(None, "group", "one_group")]


# --- identifiable data ---------------------------------------------------------------------------


def test_nhs_number_check_digit() -> None:
    assert is_nhs_number(["943 476 5919", "9434765919", "943-476-5919", "9434765918", "943 476 591",
                          "P0001", None, ""]).tolist() == [True, True, True, False, False, False, False, False]


def test_pseudonymous_values_are_not_flagged() -> None:
    frame = pd.DataFrame({
        "participant_id": ["P0001", "AB12CD", "X7Y8Z9", "1234567890"],  # 1234567890 fails mod 11
        "age_band": ["18-25", "26-35", "36-50", "65+"],
        "ethnicity": ["A", "B", "C", "Z"],
        "problem_descriptor": ["F41.1", "F32", "F43.1", "F40.1"],
        "first_contact": ["2024-01-05", "2023-11-30", "2022-06-01", "2024-02-29"],
        "session_date": ["2001-01-01", "2002-02-02", "2003-03-03", "2004-04-04"],
        "phq9_first": ["10", "12", "8", "20"],
    })
    assert find_identifiable_columns(frame) == []


def test_postcodes_without_spaces_need_most_of_the_column() -> None:
    few = pd.DataFrame({"code": ["AB12CD", "X1", "Y2", "Z3"]})
    assert find_identifiable_columns(few) == []
    mostly = pd.DataFrame({"code": ["SW1A1AA", "M11AE", "B338TH", "x"]})
    assert [p.value for p in find_identifiable_columns(mostly)] == ["(hidden: looks like a postcode)"]


def test_identifying_column_names() -> None:
    frame = pd.DataFrame({"Client Surname": ["x"], "e-mail": ["y"], "D.O.B.": ["z"], "nhs_no": ["1"],
                          "telephone_sessions": ["2"], "group": ["pa"]})
    problems = find_identifiable_columns(frame)
    assert [p.column for p in problems] == ["Client Surname", "e-mail", "D.O.B.", "nhs_no"]
    assert all(p.row is None and p.value == HIDDEN for p in problems)
    assert "dates of birth" in problems[2].rule


def test_identifiable_values_in_a_free_text_column_and_row_list() -> None:
    frame = pd.DataFrame({"notes": ["fine", "write to someone@example.com", "ok", "call 07700 900123"]})
    (problem,) = find_identifiable_columns(frame, row_numbers=[10, 11, 12, 13])
    assert problem.column == "notes"
    assert "(rows 11)" in problem.rule
    assert "someone" not in problem.rule


def test_repeated_values_scanned_once_each_find_the_same_rows() -> None:
    # Large columns whose values repeat (a session file's ids on neighbouring rows, its dates) are
    # scanned one distinct value at a time: the rows found must be exactly those of a row-by-row scan.
    from analysis.validate import _arrow_text, _kind_masks, _scan_column

    ids = [f"P{i // 6:05d}" for i in range(9000)]
    ids[600:606] = ["someone@example.com"] * 6  # one participant's six rows
    dates = [(dt.date(2024, 1, 1) + dt.timedelta(days=i % 700)).isoformat() for i in range(9000)]
    dates[4321] = "943 476 5919"  # a valid NHS number
    frame = pd.DataFrame({"participant_id": ids, "session_date": dates})
    for column, kind in (("participant_id", "email"), ("session_date", "nhs")):
        found = _scan_column(frame[column], check_dates=False)
        direct = _kind_masks(_arrow_text(frame[column]), spaced_postcodes_only=False)
        assert list(found) == list(direct) == [kind]
        np.testing.assert_array_equal(found[kind], direct[kind])
    problems = {p.column: p for p in find_identifiable_columns(frame)}
    assert "(rows 602–607)" in problems["participant_id"].rule
    assert "(rows 4323)" in problems["session_date"].rule


def test_recent_dates_are_not_dates_of_birth() -> None:
    today = dt.date.today()
    recent = [(today - dt.timedelta(days=400 * i)).isoformat() for i in range(1, 6)]
    assert find_identifiable_columns(pd.DataFrame({"referral": recent})) == []
    old = [dt.date(1980 + i, 1, 1).strftime("%d/%m/%Y") for i in range(5)]
    (problem,) = find_identifiable_columns(pd.DataFrame({"referral": old}))
    assert problem.value == "(hidden: looks like a date of birth)"


def test_identifiable_ids_are_hidden_in_every_other_problem() -> None:
    report = check(f"{HEADER}\n943 476 5919,pa,10,5,9,4\n943 476 5919,control,12,8,9,7\n")
    assert [p.code for p in report.problems] == ["identifiable", "duplicate_id", "duplicate_id"]
    assert all("5919" not in (p.value or "") + p.rule for p in report.problems)


def test_a_stray_identifying_value_is_hidden_in_its_problem() -> None:
    # one postcode without its space is not enough to refuse the column, but it is never echoed
    report = check(f"{HEADER}\nP1,SW1A1AA,10,5,9,4\nP2,control,12,8,9,7\nP3,pa,12,8,9,7\n")
    (problem,) = report.problems
    assert (problem.row, problem.column, problem.code) == (2, "group", "group_unknown")
    assert problem.value == "(hidden: looks like a postcode)"


def test_identifiable_data_cannot_be_excluded() -> None:
    raw = read_path(BAD / "email.csv")
    report = validate(raw)
    after = exclude_rows(report, raw)
    assert after.identifiable
    assert after.episodes is None
    assert after.excluded_rows == []
    assert any("cannot be excluded" in note for note in after.notes)


# --- exclusion and mapping --------------------------------------------------------------------------


def test_exclude_rows_when_every_row_has_a_problem() -> None:
    raw = read_path(BAD / "several_errors.csv")
    report = validate(raw)
    after = exclude_rows(report, raw)
    assert after.excluded_rows == [2, 3, 4, 5, 6, 7, 8]
    assert [p.code for p in after.problems] == ["no_rows"]
    assert after.notes[0].startswith("7 rows were excluded at your request")


def test_exclude_rows_keeps_clean_rows() -> None:
    raw = read_table(f"{HEADER}\nP1,pa,30,,10,\nP2,control,12,8,9,7\nP3,pa,14,9,12,6\nP4,control,x,8,9,7\n"
                     .encode(), "x.csv")
    after = exclude_rows(validate(raw), raw)
    assert after.usable
    assert after.excluded_rows == [2, 5]
    assert after.episodes.index.tolist() == [3, 4]
    assert after.notes[0] == "2 rows were excluded at your request because they had problems: rows 2, 5."


def test_exclude_rows_cannot_fix_whole_file_problems() -> None:
    raw = read_path(BAD / "missing_column.csv")
    after = exclude_rows(validate(raw), raw)
    assert not after.usable
    assert [p.code for p in after.problems] == ["missing_column"]


def test_exclude_rows_at_session_level_drops_the_whole_participant() -> None:
    raw = read_table(f"{SESSION_HEADER}\nA,pa,1,10,9\nA,pa,2,40,7\nB,control,1,5,5\nB,control,2,4,4\n"
                     "C,pa,1,3,3\n".encode(), "s.csv")
    report = validate(raw)
    assert summary(report) == [(3, "phq9", "out_of_range")]
    after = exclude_rows(report, raw)
    assert after.usable
    assert after.excluded_rows == [2, 3]
    assert after.episodes["participant_id"].tolist() == ["B", "C"]
    assert "all sessions of each participant concerned" in after.notes[0]


def test_exclusion_can_leave_one_group() -> None:
    raw = read_table(f"{HEADER}\nP1,pa,30,,10,\nP2,control,12,8,9,7\n".encode(), "x.csv")
    after = exclude_rows(validate(raw), raw)
    assert [p.code for p in after.problems] == ["one_group"]
    assert after.excluded_rows == [2]


def test_apply_mapping_renames_columns_and_maps_groups() -> None:
    raw = read_table(b"id,Arm,phq9_first,phq9_last,gad7_first,gad7_last\nP1,Exercise,10,5,9,4\n"
                     b"P2,TAU,12,8,9,7\nP3, tau ,12,8,9,7\nP4,other,1,1,1,1\n", "m.csv")
    mapped = apply_mapping(raw, {"id": "participant_id", "Arm": "group"},
                           {"Exercise": "physical_activity", "TAU": "control"})
    assert raw.frame.columns[0] == "id"  # the original is untouched
    assert mapped.frame["group"].tolist() == ["physical_activity", "control", "control", "other"]
    assert mapped.row_numbers.tolist() == [2, 3, 4, 5]
    assert "The column 'Arm' is used as 'group'." in mapped.notes
    report = validate(mapped)
    assert summary(report) == [(5, "group", "group_unknown")]


def test_apply_mapping_refuses_bad_mappings() -> None:
    raw = read_table(b"a,b,group\n1,2,pa\n", "m.csv")
    with pytest.raises(ValueError, match="not in the file"):
        apply_mapping(raw, {"zzz": "group"}, {})
    with pytest.raises(ValueError, match="More than one column"):
        apply_mapping(raw, {"a": "group"}, {})
    with pytest.raises(ValueError, match="must map to"):
        apply_mapping(raw, {}, {"pa": "treatment"})


# --- never raises -------------------------------------------------------------------------------------


def test_validate_handles_a_frame_without_columns() -> None:
    report = check("\n\nx\n")
    assert not report.usable
    assert {p.code for p in report.problems} <= {"missing_column", "no_rows"}


CELL = st.text(alphabet=list("0123456789 .-+eEaPpAcontrl_;,\t\"\r\n@é"), max_size=8)
HEADERS = st.sampled_from([
    HEADER,
    "participant_id,group,session_number,session_date,phq9,gad7,adsm_measure,adsm",
    "participant_id;group;phq9_first;phq9_last;gad7_first;gad7_last;adsm_measure;adsm_first",
])


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=400), st.sampled_from(["x.csv", "x.xlsx", "x.parquet", "x.txt", ""]))
def test_load_bytes_never_fails_on_arbitrary_bytes(data: bytes, name: str) -> None:
    report = load_bytes(data, name)
    assert isinstance(report, ValidationReport)
    assert all(p.code != "internal_error" for p in report.problems)
    assert report.usable == (not report.problems and report.episodes is not None)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(HEADERS, st.lists(st.lists(CELL, max_size=9), max_size=8), st.sampled_from(["\n", "\r\n", "\r"]),
       st.sampled_from(["utf-8", "cp1252", "utf-16"]))
def test_validate_never_fails_on_table_like_text(header: str, rows: list[list[str]], newline: str,
                                                 encoding: str) -> None:
    separator = ";" if ";" in header else ","
    text = newline.join([header, *(separator.join(r) for r in rows)]) + newline
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return
    report = load_bytes(data, "x.csv")
    assert all(p.code != "internal_error" for p in report.problems)
    for problem in report.problems:
        assert problem.rule and problem.fix
    if report.usable:
        assert report.episodes.index.name == "file_row"
    raw_rows = [p.row for p in report.problems if p.row is not None]
    assert all(r >= 2 for r in raw_rows)


@pytest.mark.parametrize("name", ["several_errors.csv", "nhs_numbers.csv", "email.csv", "out_of_range.csv"])
def test_columns_checked_in_threads_give_the_same_report(name: str, monkeypatch) -> None:
    # Large files check columns in worker threads; the problems and their order must not change.
    from analysis import io as io_module
    from analysis import validate as module

    path = Path(__file__).parent / "data" / "bad" / name
    serial = module.load_path(path)
    monkeypatch.setattr(io_module, "PARALLEL_MIN_ROWS", 0)
    threaded = module.load_path(path)
    assert threaded.problems == serial.problems and threaded.problems
    assert threaded.notes == serial.notes


def test_session_checks_in_threads_give_the_same_report_and_episodes(monkeypatch) -> None:
    # Session files prepare ids, groups, ADSM labels and dates in worker threads too.
    from analysis import io as io_module
    from analysis import validate as module

    bad = ("participant_id,group,session_date,phq9,gad7,adsm_measure,adsm\n"
           "A,pa,2024-01-01,10,9,PDSS,20\nA,control,2024-01-08,8,7,,30\nB,control,2024-02-30,3,3,XYZ,4\n"
           " B ,control,2024-02-30,3,3,,4\nC,,2024-01-01,5,5,SPIN,70\n")
    good = ((OK / "sessions.csv").read_bytes(), "sessions.csv")
    serial = [module.validate(read_table(bad.encode(), "x.csv")), module.validate(read_table(*good))]
    monkeypatch.setattr(io_module, "PARALLEL_MIN_ROWS", 0)
    threaded = [module.validate(read_table(bad.encode(), "x.csv")), module.validate(read_table(*good))]
    assert threaded[0].problems == serial[0].problems and len(serial[0].problems) >= 5
    assert threaded[0].notes == serial[0].notes
    pd.testing.assert_frame_equal(threaded[1].episodes, serial[1].episodes)
    pd.testing.assert_frame_equal(threaded[1].sessions, serial[1].sessions)


def test_missing_markers_are_noted_in_column_order_however_the_columns_are_parsed(monkeypatch) -> None:
    from analysis import io as io_module
    from analysis import validate as module

    rows = [f"P{i},PA,{'NA' if i % 3 == 0 else 12},{'n/a' if i % 2 == 0 else 8},10,{'-' if i % 5 == 0 else 6}"
            for i in range(1, 41)] + [f"C{i},control,14,9,11,7" for i in range(1, 41)]
    data = ("participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last\n" + "\n".join(rows) + "\n").encode()
    serial = module.validate(read_table(data, "x.csv"))
    monkeypatch.setattr(io_module, "PARALLEL_MIN_ROWS", 0)
    for _ in range(5):
        threaded = module.validate(read_table(data, "x.csv"))
        assert threaded.notes == serial.notes
    marker_notes = [n for n in serial.notes if "read as blank" in n]
    assert [n.split("'")[1] for n in marker_notes] == ["phq9_first", "phq9_last", "gad7_last"]
