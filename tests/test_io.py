"""Reading files into text cells with the user's row numbers; level detection; session reduction."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.io import (
    DataFileError,
    RawTable,
    describe_rows,
    detect_level,
    read_path,
    read_table,
    reduce_sessions,
)

DATA = Path(__file__).parent / "data"
OK = DATA / "ok"
BAD = DATA / "bad"
HEADER = "participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last"


def xlsx(rows: list[list[object]], extra_sheet: bool = False) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Scores"
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        workbook.create_sheet("Notes")["A1"] = "ignored"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def line_of(path: Path, text: str) -> int:
    """The 1-based line number of the first line containing ``text``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(text)


# --- tolerated CSV variants -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter"),
    [
        ("bom.csv", "utf-8-sig", ","),
        ("crlf.csv", "utf-8", ","),
        ("semicolon.csv", "utf-8", ";"),
        ("latin1.csv", "cp1252", ","),
        ("extra_columns.csv", "utf-8", ","),
        ("mixed_case_groups.csv", "utf-8", ","),
    ],
)
def test_csv_variants_read_with_header_as_line_one(name: str, encoding: str, delimiter: str) -> None:
    raw = read_path(OK / name)
    assert raw.file_format == "csv"
    assert raw.encoding == encoding
    assert raw.delimiter == delimiter
    assert list(raw.frame.columns[:2]) == ["participant_id", "group"]
    assert raw.row_numbers.tolist() == [2, 3, 4, 5, 6, 7]
    assert raw.frame["participant_id"].tolist() == ["P001", "P002", "P003", "P004", "P005", "P006"]


def test_bom_is_not_part_of_the_first_column_name() -> None:
    raw = read_path(OK / "bom.csv")
    assert raw.frame.columns[0] == "participant_id"


def test_crlf_values_have_no_carriage_returns() -> None:
    raw = read_path(OK / "crlf.csv")
    last_column = raw.frame.columns[-1]
    assert last_column == "treatment_sessions"
    assert raw.frame[last_column].tolist() == ["8", "6", "1", "10", "7", "5"]


def test_latin1_is_decoded_and_noted() -> None:
    raw = read_path(OK / "latin1.csv")
    assert raw.frame["venue"].tolist()[:2] == ["Park", "Café"]
    assert any("not UTF-8" in note for note in raw.notes)


def test_cells_are_text_exactly_as_typed_and_blank_is_missing() -> None:
    raw = read_table(f"{HEADER}\nP1, pa ,07,,9.0,NA\n".encode(), "x.csv")
    row = raw.frame.iloc[0]
    assert row["group"] == " pa "
    assert row["phq9_first"] == "07"
    assert pd.isna(row["phq9_last"])
    assert row["gad7_first"] == "9.0"
    assert row["gad7_last"] == "NA"
    assert all(str(dtype) == "str" for dtype in raw.frame.dtypes)


def test_column_names_are_stripped() -> None:
    raw = read_table(b" participant_id ,\tgroup\nP1,pa\n", "x.csv")
    assert list(raw.frame.columns) == ["participant_id", "group"]


def test_blank_rows_are_ignored_with_their_line_numbers() -> None:
    raw = read_path(OK / "blank_trailing_rows.csv")
    assert raw.row_numbers.tolist() == [2, 3, 4, 6, 7, 8]
    assert raw.notes == ["4 blank rows were ignored (rows 5, 9–11)."]


def test_row_with_spaces_only_counts_as_blank() -> None:
    raw = read_table(f"{HEADER}\nP1,pa,1,2,3,4\n   \n , , , , , \nP2,control,1,2,3,4\n".encode(), "x.csv")
    assert raw.row_numbers.tolist() == [2, 5]
    assert raw.notes == ["2 blank rows were ignored (rows 3–4)."]


def test_header_only_is_a_table_with_no_rows() -> None:
    raw = read_path(BAD / "header_only.csv")
    assert len(raw.frame) == 0
    assert list(raw.frame.columns)[:2] == ["participant_id", "group"]
    assert raw.row_numbers.tolist() == []


def test_blank_lines_above_the_header_are_skipped_and_numbered() -> None:
    raw = read_table(b"\n\nparticipant_id,group\nP1,pa\n", "x.csv")
    assert raw.row_numbers.tolist() == [4]
    assert any("line 3" in note for note in raw.notes)


def test_quoted_line_break_keeps_the_record_start_line() -> None:
    data = b'participant_id,note\nP1,"two\nlines"\nP2,plain\n'
    raw = read_table(data, "x.csv")
    assert raw.frame["note"].tolist() == ["two\nlines", "plain"]
    assert raw.row_numbers.tolist() == [2, 4]


def test_rows_with_extra_values_are_recorded_and_short_rows_padded() -> None:
    data = b"a,b,c\n1,2,3\n4,5,6,7\n8,9\n10,11,12,,\n"
    raw = read_table(data, "x.csv")
    assert raw.row_numbers.tolist() == [2, 3, 4, 5]
    assert raw.ragged_rows == {3: 4}
    assert raw.frame["c"].isna().tolist() == [False, False, True, False]
    assert any("fewer values" in note for note in raw.notes)


def test_duplicate_headings_are_renamed_and_reported() -> None:
    raw = read_table(b"a,b,a\n1,2,3\n", "x.csv")
    assert list(raw.frame.columns) == ["a", "b", "a (2)"]
    assert raw.duplicate_columns == ["a"]


def test_blank_heading_gets_a_name_and_a_note() -> None:
    raw = read_table(b"a,,c\n1,2,3\n", "x.csv")
    assert list(raw.frame.columns) == ["a", "column_2", "c"]
    assert any("no heading" in note for note in raw.notes)


def test_old_mac_line_endings() -> None:
    raw = read_table(b"a,b\r1,2\r\r3,4\r", "x.csv")
    assert raw.frame["a"].tolist() == ["1", "3"]
    assert raw.row_numbers.tolist() == [2, 4]


def test_utf16_with_bom_tab_separated() -> None:
    raw = read_table("a\tb\r\nCafé\t2\r\n".encode("utf-16"), "x.txt")
    assert raw.encoding == "utf-16"
    assert raw.delimiter == "\t"
    assert raw.frame["a"].tolist() == ["Café"]


def test_text_named_like_a_workbook_is_read_as_csv_with_a_note() -> None:
    raw = read_table(b"a,b\n1,2\n", "x.xlsx")
    assert raw.file_format == "csv"
    assert any("named like an Excel workbook" in note for note in raw.notes)


# --- unreadable files -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "'empty.csv' is empty."),
        ("binary.csv", "looks like binary data"),
        ("png_renamed.csv", "'png_renamed.csv' is a PNG image, not a data table."),
        ("corrupt.xlsx", "'corrupt.xlsx' looks like an Excel workbook but is damaged"),
    ],
)
def test_unreadable_corpus_files_raise_a_plain_message(name: str, message: str) -> None:
    with pytest.raises(DataFileError) as info:
        read_path(BAD / name)
    assert message in str(info.value)
    assert info.value.fix


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"%PDF-1.7\n...", "x.csv", "is a PDF document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "x.xls", "Excel 97–2003"),
        (b'{"participant_id": "P1"}', "x.csv", "looks like JSON"),
        (b"<html><body></body></html>", "x.csv", "web page"),
        (b"   \n\n  ", "x.csv", "is empty"),
        (b"a,b\n1,2\n", "x.parquet", "not a Parquet file"),
        (b"PAR1 this is not parquet", "x.parquet", "Parquet file but is damaged"),
    ],
)
def test_other_unreadable_content(data: bytes, name: str, message: str) -> None:
    with pytest.raises(DataFileError, match=message):
        read_table(data, name)


def test_zip_that_is_not_a_workbook() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    with pytest.raises(DataFileError, match="not an Excel workbook"):
        read_table(buffer.getvalue(), "x.xlsx")


def test_content_wins_over_the_name() -> None:
    raw = read_table(xlsx([["a", "b"], [1, 2]]), "renamed.csv")
    assert raw.file_format == "xlsx"
    with pytest.raises(DataFileError, match="PNG image"):
        read_table((OK.parent / "bad" / "png_renamed.csv").read_bytes(), "picture.xlsx")


def test_read_path_reports_missing_files_and_folders(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="There is no file called 'nope.csv'"):
        read_path(tmp_path / "nope.csv")
    with pytest.raises(DataFileError, match="is a folder"):
        read_path(tmp_path)


# --- XLSX --------------------------------------------------------------------------------


def test_xlsx_cells_are_text_without_float_artefacts() -> None:
    raw = read_table(xlsx([
        ["participant_id", "score", "mi", "when", "flag"],
        ["P1", 7.0, 2.5, dt.datetime(2024, 3, 1), True],
        ["P2", 12, 1.1 + 2.2, dt.datetime(2024, 3, 1, 9, 30), False],
    ]), "x.xlsx")
    assert raw.file_format == "xlsx"
    assert raw.frame["score"].tolist() == ["7", "12"]
    assert raw.frame["mi"].tolist() == ["2.5", "3.3"]
    assert raw.frame["when"].tolist() == ["2024-03-01", "2024-03-01 09:30:00"]
    assert raw.frame["flag"].tolist() == ["TRUE", "FALSE"]


def test_xlsx_row_numbers_are_excels() -> None:
    raw = read_table(xlsx([
        [None],
        ["participant_id", "group"],
        ["P1", "pa"],
        [None, None],
        ["P2", "control"],
    ], extra_sheet=True), "x.xlsx")
    assert raw.row_numbers.tolist() == [3, 5]
    assert raw.frame["participant_id"].tolist() == ["P1", "P2"]
    assert any("row 2" in note for note in raw.notes)
    assert any("blank row was ignored (row 4)" in note for note in raw.notes)
    assert any("only the first ('Scores')" in note for note in raw.notes)


def test_xlsx_values_beyond_the_last_heading_are_recorded() -> None:
    raw = read_table(xlsx([["a", "b"], [1, 2], [3, 4, "stray"]]), "x.xlsx")
    assert raw.ragged_rows == {3: 3}


def test_valid_xlsx_from_the_corpus() -> None:
    raw = read_path(OK / "valid.xlsx")
    assert raw.row_numbers.tolist() == [2, 3, 4, 5, 6]
    assert raw.frame["phq9_first"].tolist() == ["15", "18", "11", "20", "14"]
    assert raw.frame["first_contact"].iloc[0] == "2024-03-01"


def test_empty_first_sheet_is_an_error() -> None:
    with pytest.raises(DataFileError, match="first sheet"):
        read_table(xlsx([]), "x.xlsx")


# --- Parquet -----------------------------------------------------------------------------


def test_parquet_is_read_as_text_with_rows_from_two() -> None:
    frame = pd.DataFrame({
        "participant_id": ["P1", "P2", "P3"],
        "phq9_first": [7.0, np.nan, 12.5],
        "sessions": [3, 4, 5],
        "when": pd.to_datetime(["2024-01-01", "2024-02-03", "2024-03-04"]),
        "flag": [True, False, True],
    })
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    raw = read_table(buffer.getvalue(), "x.parquet")
    assert raw.file_format == "parquet"
    assert raw.row_numbers.tolist() == [2, 3, 4]
    assert raw.frame["phq9_first"].tolist()[0] == "7"
    assert pd.isna(raw.frame["phq9_first"].iloc[1])
    assert raw.frame["phq9_first"].iloc[2] == "12.5"
    assert raw.frame["sessions"].tolist() == ["3", "4", "5"]
    assert raw.frame["when"].tolist() == ["2024-01-01", "2024-02-03", "2024-03-04"]
    assert raw.frame["flag"].tolist() == ["TRUE", "FALSE", "TRUE"]


# --- helpers -------------------------------------------------------------------------------


def test_describe_rows() -> None:
    assert describe_rows([9, 3, 4, 5]) == "3–5, 9"
    assert describe_rows([1, 3, 5, 7], limit=2) == "1, 3, and 2 more"
    assert describe_rows([]) == ""


@pytest.mark.parametrize(
    ("columns", "level"),
    [
        (["participant_id", "group", "session_number", "phq9", "gad7"], "session"),
        (["participant_id", "group", "session_date", "gad7"], "session"),
        (["participant_id", "group", "phq9_first", "phq9_last", "gad7_first", "gad7_last"], "episode"),
        (["participant_id", "group", "phq9", "gad7"], "episode"),  # no session order column
        ([], "episode"),
    ],
)
def test_detect_level(columns: list[str], level: str) -> None:
    assert detect_level(columns) == level


def test_raw_table_len() -> None:
    raw = read_table(b"a\n1\n2\n", "x.csv")
    assert isinstance(raw, RawTable)
    assert len(raw) == 2


# --- reduce_sessions -------------------------------------------------------------------------


def sessions_frame(rows: list[tuple], columns: tuple[str, ...], first_row: int = 2) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    frame.index = pd.Index(range(first_row, first_row + len(frame)), name="file_row")
    for column in ("phq9", "gad7", "adsm", "wsas", "session_number"):
        if column in frame:
            frame[column] = frame[column].astype("float64")
    if "session_date" in frame:
        frame["session_date"] = pd.to_datetime(frame["session_date"])
    return frame


def test_reduce_first_and_last_scored_sessions() -> None:
    columns = ("participant_id", "group", "session_number", "phq9", "gad7")
    frame = sessions_frame([
        ("A", "physical_activity", 3, 9, None),   # row 2
        ("A", "physical_activity", 1, None, 14),  # row 3: PHQ-9 missing at the first session
        ("A", "physical_activity", 2, 12, 11),    # row 4
        ("A", "physical_activity", 4, None, None),  # row 5: nothing scored at the last session
        ("B", "control", 1, 20, 15),              # row 6: a single scored session
        ("B", "control", 2, None, None),          # row 7
    ], columns)
    result = reduce_sessions(frame)
    assert result.index.tolist() == [2, 6]
    assert result.index.name == "file_row"
    a, b = result.loc[2], result.loc[6]
    # A: PHQ-9 first at session 2 (12), last at session 3 (9); GAD-7 first at 1 (14), last at 2 (11)
    assert (a["phq9_first"], a["phq9_last"], a["gad7_first"], a["gad7_last"]) == (12.0, 9.0, 14.0, 11.0)
    assert a["treatment_sessions"] == 4.0
    # B: only one scored session, so last is blank
    assert b["phq9_first"] == 20.0 and np.isnan(b["phq9_last"])
    assert b["gad7_first"] == 15.0 and np.isnan(b["gad7_last"])
    assert b["treatment_sessions"] == 2.0
    assert list(result.columns) == ["participant_id", "group", "phq9_first", "phq9_last", "gad7_first",
                                    "gad7_last", "treatment_sessions"]


def test_reduce_orders_by_date_when_there_is_no_number() -> None:
    columns = ("participant_id", "group", "session_date", "phq9", "gad7")
    frame = sessions_frame([
        ("A", "control", "2024-03-01", 8, 6),
        ("A", "control", "2024-01-05", 18, 12),
        ("A", "control", "2024-02-01", 13, 9),
    ], columns)
    result = reduce_sessions(frame).iloc[0]
    assert (result["phq9_first"], result["phq9_last"]) == (18.0, 8.0)
    assert (result["gad7_first"], result["gad7_last"]) == (12.0, 6.0)
    assert result["treatment_sessions"] == 3.0


def test_reduce_orders_by_number_then_date() -> None:
    columns = ("participant_id", "group", "session_number", "session_date", "phq9", "gad7")
    frame = sessions_frame([
        ("A", "control", 2, "2024-01-01", 10, 5),  # the number wins over an earlier date
        ("A", "control", 1, "2024-02-01", 20, 15),
    ], columns)
    result = reduce_sessions(frame).iloc[0]
    assert (result["phq9_first"], result["phq9_last"]) == (20.0, 10.0)


def test_reduce_same_session_twice_is_not_a_later_session() -> None:
    columns = ("participant_id", "group", "session_number", "phq9", "gad7")
    frame = sessions_frame([("A", "control", 1, 10, 5), ("A", "control", 1, 12, 6)], columns)
    result = reduce_sessions(frame).iloc[0]
    assert result["phq9_first"] == 10.0
    assert np.isnan(result["phq9_last"])
    assert result["treatment_sessions"] == 2.0


def test_reduce_carries_group_adsm_and_extras() -> None:
    columns = ("participant_id", "group", "session_number", "phq9", "gad7", "adsm_measure", "adsm", "wsas",
               "age_band")
    frame = sessions_frame([
        ("A", "physical_activity", 2, 10, 8, None, 40, 20, None),
        ("A", "physical_activity", 1, 15, 12, "PCL5", 55, None, "26-35"),
        ("A", "physical_activity", 3, 9, 7, None, None, 12, "36-50"),
    ], columns)
    frame["age_band"] = frame["age_band"].astype("str")
    result = reduce_sessions(frame)
    row = result.iloc[0]
    assert row["adsm_measure"] == "PCL5"
    assert (row["adsm_first"], row["adsm_last"]) == (55.0, 40.0)
    assert (row["wsas_first"], row["wsas_last"]) == (20.0, 12.0)
    assert row["age_band"] == "26-35"  # first non-missing in session order
    assert list(result.columns) == ["participant_id", "group", "phq9_first", "phq9_last", "gad7_first",
                                    "gad7_last", "treatment_sessions", "adsm_measure", "adsm_first",
                                    "adsm_last", "wsas_first", "wsas_last", "age_band"]


def test_reduce_participant_without_scores_and_empty_input() -> None:
    columns = ("participant_id", "group", "session_number", "phq9", "gad7")
    frame = sessions_frame([("A", "control", 1, None, None)], columns)
    row = reduce_sessions(frame).iloc[0]
    assert np.isnan(row["phq9_first"]) and np.isnan(row["phq9_last"])
    empty = reduce_sessions(frame.iloc[:0])
    assert len(empty) == 0
    assert "phq9_first" in empty.columns


def reference_reduce(frame: pd.DataFrame) -> pd.DataFrame:
    """A slow, obviously-correct reduction to check the vectorised one against."""
    out = {}
    for pid, rows in frame.groupby("participant_id", sort=False):
        rows = rows.sort_values("session_number", kind="stable")
        record = {"treatment_sessions": float(len(rows))}
        for measure in ("phq9", "gad7"):
            scored = rows[rows[measure].notna()]
            record[f"{measure}_first"] = scored[measure].iloc[0] if len(scored) else np.nan
            later = len(scored) > 1 and scored["session_number"].iloc[-1] != scored["session_number"].iloc[0]
            record[f"{measure}_last"] = scored[measure].iloc[-1] if later else np.nan
        out[pid] = record
    return pd.DataFrame.from_dict(out, orient="index")


def test_reduce_matches_a_reference_on_random_sessions() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    frame = pd.DataFrame({
        "participant_id": pd.array(rng.integers(0, 400, n).astype(str), dtype="str"),
        "group": "control",
        "session_number": rng.permutation(n).astype(float),  # unique session numbers, shuffled
        "phq9": np.where(rng.random(n) < 0.4, np.nan, rng.integers(0, 28, n)),
        "gad7": np.where(rng.random(n) < 0.4, np.nan, rng.integers(0, 22, n)),
    })
    result = reduce_sessions(frame).set_index("participant_id")
    expected = reference_reduce(frame)
    columns = ["phq9_first", "phq9_last", "gad7_first", "gad7_last", "treatment_sessions"]
    pd.testing.assert_frame_equal(result[columns], expected.loc[result.index, columns], check_names=False)



@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a,1", "b,2", "", "\r", " ,", "c,3\r"]), min_size=0, max_size=12),
       st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_record_line_numbers_match_a_line_by_line_count(lines, ending, trailing):
    # The exact line-by-line numbering (used for small files):
    # each record's line number and the empty lines must be the true ones.
    from analysis.io import _record_lines

    header = "id,x" + ending
    body = ending.join(lines) + (ending if trailing and lines else "")
    pieces = body.split("\n") if body else []
    if body.endswith("\n"):
        pieces = pieces[:-1]  # the text after the final newline is not a line
    expected_records, expected_empty = [], []
    for number, piece in enumerate(pieces, start=2):
        (expected_records if piece.removesuffix("\r") else expected_empty).append(number)
    records, empty = _record_lines((header + body).encode(), len(header.encode()), 1)
    assert records.tolist() == expected_records
    assert empty == expected_empty


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
@pytest.mark.parametrize("blank_at", [None, 5, 30_000])
def test_a_large_csv_numbers_its_rows_as_lines_of_the_file(ending, blank_at):
    # Files over 1 MB are read first and their records numbered as the lines of the file (pyarrow reads an
    # empty line as a blank row); a blank line anywhere must still shift every later row number (and be noted).
    lines = [f"P{i:06d},physical_activity,{i % 28},{i % 20},1{'x' * 20}" for i in range(40_000)]
    if blank_at is not None:
        lines.insert(blank_at, "")
    data = ("participant_id,group,phq9_first,gad7_first,note" + ending + ending.join(lines) + ending).encode()
    assert len(data) > 1 << 20
    raw = read_table(data, "big.csv")
    assert len(raw.frame) == 40_000
    expected = [2 + i for i in range(len(lines)) if lines[i]]
    assert raw.row_numbers.tolist() == expected
    assert raw.frame["participant_id"].iloc[-1] == "P039999"
    blank_notes = [n for n in raw.notes if "blank" in n.lower()]
    assert bool(blank_notes) == (blank_at is not None)
    if blank_at is not None:
        assert str(blank_at + 2) in blank_notes[0]


def test_parquet_columns_converted_in_threads_give_the_same_table(tmp_path, monkeypatch):
    # Large Parquet files turn their columns into text in worker threads; the table must not change.
    import analysis.io as module

    frame = pd.DataFrame({"participant_id": [f"P{i}" for i in range(300)], "phq9_first": np.arange(300) % 28 * 1.0,
                          "when": pd.to_datetime("2024-01-01") + pd.to_timedelta(np.arange(300), unit="D"),
                          "flag": np.arange(300) % 2 == 0, "score": np.where(np.arange(300) % 7 == 0, np.nan, 1.5)})
    path = tmp_path / "x.parquet"
    frame.to_parquet(path)
    serial = module.read_path(path)
    monkeypatch.setattr(module, "PARALLEL_MIN_ROWS", 0)
    threaded = module.read_path(path)
    pd.testing.assert_frame_equal(threaded.frame, serial.frame)
    assert threaded.frame["phq9_first"].iloc[27] == "27" and threaded.frame["flag"].iloc[0] == "TRUE"


def test_parquet_numbers_are_the_values_their_text_parses_to() -> None:
    """A Parquet file's number columns reach validation as numbers (no parse of their text): the
    values must be exactly what the text parses to, and anything unusual is left to the text."""
    from analysis.validate import _arrow_text as text_of
    from analysis.validate import _parse_numbers, validate

    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame({
        "participant_id": [f"P{i}" for i in range(n)],
        "group": np.where(np.arange(n) % 2 == 0, "physical_activity", "control"),
        "phq9_first": rng.integers(0, 28, n).astype(float),
        "phq9_last": np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 28, n).astype(float)),
        "gad7_first": rng.integers(0, 22, n),  # int64
        "gad7_last": rng.integers(0, 22, n).astype(np.int32),
        "adsm_measure": np.where(np.arange(n) % 3 == 0, "MI", None),
        "adsm_first": np.where(np.arange(n) % 3 == 0, np.round(rng.uniform(1, 5, n), 2), np.nan),  # decimals
        "adsm_last": np.where(np.arange(n) % 3 == 0, rng.uniform(1, 5, n), np.nan),  # full-precision doubles
        "treatment_sessions": pd.Series(rng.integers(0, 12, n)).astype("category"),  # dictionary-encoded
        "wsas_first": np.full(n, np.inf),  # not finite: left to the text, which validation refuses
    })
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    raw = read_table(buffer.getvalue(), "x.parquet")
    assert set(raw.numbers) == {"phq9_first", "phq9_last", "gad7_first", "gad7_last", "adsm_first", "adsm_last",
                                "treatment_sessions"}
    for column, (array, values) in raw.numbers.items():
        assert array is raw.frame[column].array
        parsed = _parse_numbers(text_of(raw.frame[column]))
        np.testing.assert_array_equal(values, parsed.values, err_msg=column)
        np.testing.assert_array_equal(np.isnan(values), parsed.blank, err_msg=column)
        assert not parsed.bad.any()
    with_numbers = validate(raw)
    without = validate(dataclasses.replace(raw, numbers={}))
    assert [(p.row, p.column, p.code) for p in with_numbers.problems] == \
        [(p.row, p.column, p.code) for p in without.problems]
    assert {p.column for p in with_numbers.problems} == {"wsas_first"}
    fixed = validate(read_table(_parquet_bytes(frame.drop(columns="wsas_first")), "x.parquet"))
    again = validate(dataclasses.replace(read_table(_parquet_bytes(frame.drop(columns="wsas_first")), "x.parquet"),
                                         numbers={}))
    assert fixed.usable
    pd.testing.assert_frame_equal(fixed.episodes, again.episodes)


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


_FILLER = [f"z{i:07d},{i:07d}" for i in range(65_000)]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["a,1", "b,2", "", "\r", ",", " ,", '"c\nd",3', '"e,f",4', "g,5\r"]),
                min_size=0, max_size=12),
       st.sampled_from(["\n", "\r\n"]), st.booleans(), st.booleans())
def test_fast_and_line_by_line_readers_agree(lines, ending, trailing, large):
    # pyarrow's read numbers its records as lines of the file (an empty line reads as a blank row); the
    # line-by-line reader is the reference for cells, row numbers and the notes on blank rows.
    from analysis.io import _read_csv_slow

    filler = _FILLER if large else []  # over 1 MB: the large-file path
    body = ending.join([*lines, *filler]) + (ending if trailing and (lines or filler) else "")
    data = ("id,x" + ending + body).encode()
    assert (len(data) > 1 << 20) == large
    fast = read_table(data, "x.csv")
    if data.count(b"\r") != data.count(b"\r\n"):  # a lone CR ends a line, as the reader has it
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    reference = _read_csv_slow(data, ",", [], {}, "x.csv")
    assert fast.row_numbers.tolist() == reference.row_numbers.tolist()
    pd.testing.assert_frame_equal(fast.frame, reference.frame)
    assert [n for n in fast.notes if "blank" in n] == [n for n in reference.notes if "blank" in n]


def test_reduction_counts_session_rows_whatever_a_treatment_sessions_column_says() -> None:
    frame = pd.DataFrame({"participant_id": ["A", "A", "B"], "group": ["control"] * 3,
                          "session_number": [1.0, 2.0, 1.0], "phq9": [12.0, 9.0, 5.0], "gad7": [8.0, 7.0, 4.0],
                          "treatment_sessions": [9.0, 9.0, 9.0]})
    assert reduce_sessions(frame)["treatment_sessions"].tolist() == [2.0, 1.0]


def test_validation_uses_the_parquet_numbers_instead_of_parsing_their_text(monkeypatch) -> None:
    import analysis.validate as validate_module

    frame = pd.DataFrame({"participant_id": ["P1", "P2", "P3", "P4"], "group": ["PA", "control", "PA", "control"],
                          "phq9_first": [12.0, 15.0, 9.0, 20.0], "phq9_last": [8.0, np.nan, 7.0, 11.0],
                          "gad7_first": [10, 12, 8, 14], "gad7_last": [6, 9, 7, 8]})
    parsed: list[int] = []
    real = validate_module._parse_numbers
    monkeypatch.setattr(validate_module, "_parse_numbers", lambda text: parsed.append(len(text)) or real(text))
    from_parquet = validate_module.validate(read_table(_parquet_bytes(frame), "x.parquet"))
    assert from_parquet.usable and parsed == []  # every number column came as numbers
    from_csv = validate_module.validate(read_table(frame.to_csv(index=False).encode(), "x.csv"))
    assert len(parsed) == 4  # the CSV's four score columns are parsed from text
    pd.testing.assert_frame_equal(from_parquet.episodes, from_csv.episodes)
