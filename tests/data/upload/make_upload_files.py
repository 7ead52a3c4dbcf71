"""Write the upload-page test files in tests/data/upload (run from the repository root).

    python tests/data/upload/make_upload_files.py

They complement tests/data/bad and tests/data/ok (the validation corpus) with files that
exercise the Data page: column mapping, hostile text, formulas, other formats, tiny groups.
Every identifier is invented.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).parent
HEADER = "participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last,treatment_sessions"
ROWS = [
    "P001,physical_activity,15,8,12,6,8",
    "P002,control,18,14,13,11,6",
    "P003,physical_activity,11,,9,,1",
    "P004,control,20,9,16,7,10",
    "P005,physical_activity,14,5,10,4,7",
    "P006,control,12,12,9,10,5",
]


def text(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


def write(name: str, content: str | bytes, encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(content.encode(encoding) if isinstance(content, str) else content)


def main() -> None:
    # Columns and group labels named the service's way: need mapping.
    write("renamed_columns.csv", text("Client ID,Arm,PHQ9 Start,PHQ9 End,GAD7 Start,GAD7 End,Sessions attended,Sex", [
        "C01,Exercise,15,8,12,6,8,F", "C02,TAU,18,14,13,11,6,M", "C03,Exercise,11,,9,,1,F",
        "C04,TAU,20,9,16,7,10,M", "C05,Exercise,14,5,10,4,7,F", "C06,TAU,12,12,9,10,5,F"]))
    # The same with a Surname column: refused before any mapping can rename it.
    write("renamed_with_surname.csv", text("Client ID,Surname,Arm,PHQ9 Start,PHQ9 End,GAD7 Start,GAD7 End", [
        "C01,Example,Exercise,15,8,12,6", "C02,Sample,TAU,18,14,13,11", "C03,Bloggs,Exercise,11,,9,",
        "C04,Test,TAU,20,9,16,7"]))
    # Valid file whose ids and labels are markup: must show literally, never rendered.
    write("markup_ids.csv", text(HEADER + ",gender", [
        "<script>alert(1)</script>,physical_activity,15,8,12,6,8,**x**",
        "**x**,control,18,14,13,11,6,<b>bold</b>",
        "[link](javascript:alert(1)),physical_activity,11,6,9,5,4,**x**",
        "P004,control,20,9,16,7,10,<b>bold</b>",
        "P005,physical_activity,14,5,10,4,7,**x**",
        "P006,control,12,12,9,10,5,<b>bold</b>"]))
    # Cells that would run as spreadsheet formulas if written back unescaped.
    write("formula_cells.csv", text(HEADER, [
        'P001,"=HYPERLINK(""http://example.com"",""click"")",15,8,12,6,8',
        "P002,+1,18,14,13,11,6",
        "P003,-2,11,,9,,1",
        "P004,@x,20,9,16,7,10",
        *ROWS[4:]]))
    # 3 physical activity and 7 control participants: small counts for safe mode.
    write("small_groups.csv", text(HEADER, [
        "S01,physical_activity,15,8,12,6,8", "S02,physical_activity,11,6,9,5,4", "S03,physical_activity,14,5,10,4,7",
        "S04,control,18,14,13,11,6", "S05,control,20,9,16,7,10", "S06,control,12,12,9,10,5",
        "S07,control,16,10,12,9,6", "S08,control,13,12,10,9,5", "S09,control,19,15,14,12,8",
        "S10,control,11,7,9,6,3"]))
    # Other formats and encodings.
    table = pa.table({"participant_id": ["Q1", "Q2", "Q3", "Q4"],
                      "group": ["physical_activity", "control", "PA", "control"],
                      "phq9_first": [15, 18, 11, 20], "phq9_last": [8, 14, None, 9],
                      "gad7_first": [12, 13, 9, 16], "gad7_last": [6, 11, None, 7]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    write("valid.parquet", buffer.getvalue())
    write("utf16.csv", "\ufeff" + text(HEADER, ROWS), encoding="utf-16-le")
    write("tabs.tsv", text(HEADER.replace(",", "\t"), [r.replace(",", "\t") for r in ROWS]))
    # More bad inputs.
    write("old_excel.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    write("json_named.csv", '[{"participant_id": "P001", "group": "control"}]\n')
    write("web_page.csv", "<!DOCTYPE html><html><body><table><tr><td>P001</td></tr></table></body></html>\n")
    write("text_named.parquet", text(HEADER, ROWS))
    write("ragged_rows.csv", text(HEADER, [*ROWS[:2], "P003,physical_activity,11,,9,,1,extra,values", *ROWS[3:]]))
    write("duplicate_headers.csv", text(HEADER + ",group", [r + ",control" for r in ROWS]))
    write("session_inconsistent_group.csv", text("participant_id,group,session_number,phq9,gad7", [
        "P1,physical_activity,1,16,12", "P1,control,2,12,10", "P2,control,1,18,15", "P2,control,2,14,10",
        "P3,PA,1,11,9", "P3,PA,2,8,6"]))


if __name__ == "__main__":
    main()
