"""Issue 18 item 5: an export with a title and notes above the column headings is read, says so, and lets
the user choose the headings' row; no data row is dropped silently."""

from __future__ import annotations

import io

import openpyxl
import pytest

from analysis.io import DataFileError, header_position, read_table
from analysis.validate import validate
from dashboard import upload as up
from tests.test_page_data import in_use, new_session, upload_bytes

HEADER = "participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last,treatment_sessions"
ROWS = ["P001,physical_activity,15,8,12,6,8", "P002,control,18,14,13,11,6", "P003,physical_activity,11,6,9,5,4",
        "P004,control,20,9,16,7,10", "P005,physical_activity,14,5,10,4,7", "P006,control,12,12,9,10,5"]
# As a reporting system writes it: a title, the run details, a blank line, then the table.
TITLED = "\n".join(["Physical activity pilot: outcomes report,,,,,,", "Run 01/03/2025 09:14 by Reporting,,,,,,",
                    ",,,,,,", HEADER, *ROWS]) + "\n"


def _xlsx(text: str) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line in text.strip("\n").split("\n"):
        sheet.append([int(v) if v.isdigit() else (v or None) for v in line.split(",")])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_the_header_is_the_first_row_about_as_full_as_the_data() -> None:
    assert header_position([["Report"], ["Run", "today"], ["id", "arm", "phq9", "gad7"], ["C1", "PA", "9", "8"]]) == 2
    assert header_position([["id", "arm", "phq9"], ["C1", "PA", "9"]]) == 0
    assert header_position([]) == 0


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_title_rows_above_the_headings_are_left_out_with_a_note(kind: str) -> None:
    data = TITLED.encode() if kind == "csv" else _xlsx(TITLED)
    raw = read_table(data, f"export.{kind}")
    assert list(raw.frame.columns) == HEADER.split(",")
    assert raw.row_numbers.tolist() == [5, 6, 7, 8, 9, 10]  # numbered as in the file
    assert raw.header_row == 4
    word = "line" if kind == "csv" else "row"
    assert any(n.startswith(f"The column headings were found on {word} 4: the 2 {word}s above them "
                            f"({word}s 1–2)") for n in raw.notes), raw.notes
    report = validate(raw)
    assert report.usable and len(report.episodes) == len(ROWS)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_user_can_choose_the_row_of_the_headings(kind: str) -> None:
    data = TITLED.encode() if kind == "csv" else _xlsx(TITLED)
    raw = read_table(data, f"export.{kind}", header_row=2)
    assert raw.header_row == 2 and raw.frame.columns[0].startswith("Run 01/03/2025")
    with pytest.raises(DataFileError):
        read_table(data, f"export.{kind}", header_row=99)


def test_a_plain_file_is_read_as_before() -> None:
    raw = read_table(("\n".join([HEADER, *ROWS]) + "\n").encode(), "plain.csv")
    assert raw.header_row == 1 and raw.row_numbers.tolist()[0] == 2
    assert not any("headings" in n for n in raw.notes)


def test_the_titled_export_is_usable_on_the_data_page() -> None:
    at = upload_bytes(new_session(), "export.csv", TITLED.encode())
    assert not at.exception and not at.error, [e.value for e in at.error]  # was 61 "values beyond the last heading"
    assert in_use(at) is not None and len(in_use(at).episodes) == len(ROWS)
    assert any("look like a title or notes" in t.value for t in at.text)
    # The user can still say the headings are elsewhere: the file is read again from there.
    at.number_input(key=f"header_row_{at.session_state[up.ATTEMPT_KEY].digest[:12]}").set_value(1).run()
    next(b for b in at.button if b.label == "Read the file again from there").click().run()
    assert not at.exception
    attempt = at.session_state[up.ATTEMPT_KEY]
    assert attempt.raw.header_row == 1 and attempt.status == up.PROBLEMS
