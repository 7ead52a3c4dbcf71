"""Write the small bad and tolerated files under tests/data/bad and tests/data/ok.

Run from the repository root: ``python tests/data/make_corpus.py``. The files are
committed; this script documents how each one was made and can recreate them.
Every identifier, NHS number, e-mail address, postcode and phone number is
invented: NHS numbers are in the 999 test range, e-mail addresses use
example.com, phone numbers are in Ofcom's drama ranges.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
BAD = HERE / "bad"
OK = HERE / "ok"
HEADER = "participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last,treatment_sessions"

VALID_ROWS = [
    "P001,physical_activity,15,8,12,6,8",
    "P002,control,18,14,13,11,6",
    "P003,physical_activity,11,,9,,1",
    "P004,control,20,9,16,7,10",
    "P005,physical_activity,14,5,10,4,7",
    "P006,control,12,12,9,10,5",
]


def nhs_number(prefix: str) -> str:
    """A mod-11-valid NHS number from nine digits (retry prefixes with check digit 10)."""
    digits = [int(c) for c in prefix]
    total = sum(d * w for d, w in zip(digits, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    if check == 10:
        raise ValueError("prefix has no valid check digit")
    number = prefix + str(check)
    return f"{number[:3]} {number[3:6]} {number[6:]}"


def csv_text(header: str, rows: list[str], newline: str = "\n") -> str:
    return newline.join([header, *rows]) + newline


def png_bytes() -> bytes:
    """A real 1x1 PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Data"
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_bytes(content.encode(encoding))
    else:
        path.write_bytes(content)


def main() -> None:
    # --- bad ----------------------------------------------------------------------
    write(BAD / "empty.csv", b"")
    write(BAD / "header_only.csv", csv_text(HEADER, []))
    write(BAD / "missing_column.csv", csv_text(
        "participant_id,group,phq9_first,phq9_last,gad7_first",
        [",".join(r.split(",")[:5]) for r in VALID_ROWS]))
    write(BAD / "unknown_group.csv", csv_text(HEADER, [*VALID_ROWS[:2], "P007,exercise,16,9,11,5,6",
                                                       *VALID_ROWS[2:]]))
    write(BAD / "out_of_range.csv", csv_text(HEADER, [VALID_ROWS[0], "P002,control,30,14,13,11,6",
                                                      *VALID_ROWS[2:]]))
    write(BAD / "non_numeric.csv", csv_text(HEADER, [*VALID_ROWS[:3], "P004,control,20,9,seven,7,10",
                                                     *VALID_ROWS[4:]]))
    write(BAD / "fractional.csv", csv_text(HEADER, [*VALID_ROWS[:4], "P005,physical_activity,14,12.5,10,4,7",
                                                    VALID_ROWS[5]]))
    write(BAD / "duplicate_ids.csv", csv_text(HEADER, [*VALID_ROWS[:3], "P002,physical_activity,16,10,12,8,6",
                                                       *VALID_ROWS[3:]]))
    rng = np.random.default_rng(20240601)
    write(BAD / "binary.csv", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    write(BAD / "png_renamed.csv", png_bytes())
    good_xlsx = xlsx_bytes([HEADER.split(","), *[[int(v) if v.isdigit() else (v or None) for v in r.split(",")]
                                                   for r in VALID_ROWS]])
    damaged = bytearray(good_xlsx)
    middle = len(damaged) // 2
    damaged[middle:middle + 400] = b"\x00" * 400  # zeroed bytes inside the compressed parts
    write(BAD / "corrupt.xlsx", bytes(damaged[: len(damaged) - 200]))  # and the central directory cut short
    nhs = [nhs_number(p) for p in ("999000001", "999000002", "999000003", "999000005", "999000006", "999000007")]
    write(BAD / "nhs_numbers.csv", csv_text(HEADER, [n + r[4:] for n, r in zip(nhs, VALID_ROWS, strict=True)]))
    write(BAD / "email.csv", csv_text(HEADER + ",contact", [
        r + f",participant{i}@example.com" for i, r in enumerate(VALID_ROWS, start=1)]))
    postcodes = ["SW1A 1AA", "M1 1AE", "B33 8TH", "CR2 6XH", "DN55 1PT", "EC1A 1BB"]
    write(BAD / "postcode.csv", csv_text(HEADER + ",area", [
        f"{r},{p}" for r, p in zip(VALID_ROWS, postcodes, strict=True)]))
    phones = ["07700 900123", "07700 900456", "020 7946 0958", "0113 496 0000", "+44 7700 900789", "01632 960123"]
    write(BAD / "phone.csv", csv_text(HEADER + ",contact_no", [
        f"{r},{p}" for r, p in zip(VALID_ROWS, phones, strict=True)]))
    births = ["1984-03-02", "1991-11-23", "1975-06-30", "1969-01-15", "2001-08-09", "1988-12-01"]
    write(BAD / "dob.csv", csv_text(HEADER + ",born", [
        f"{r},{b}" for r, b in zip(VALID_ROWS, births, strict=True)]))
    names = ["Alex Example", "Sam Sample", "Jo Bloggs", "Chris Test", "Pat Person", "Lee Dummy"]
    write(BAD / "name_column.csv", csv_text("Name," + HEADER, [
        f"{n},{r}" for n, r in zip(names, VALID_ROWS, strict=True)]))
    write(BAD / "one_group.csv", csv_text(HEADER, [r.replace("physical_activity", "control") for r in VALID_ROWS]))
    write(BAD / "several_errors.csv", csv_text(HEADER, [
        "P001,physical_activity,15,8,12,6,8",
        "P002,control,31,14,13,11,6",          # line 3: PHQ-9 out of range
        ",physical_activity,11,,9,,1",          # line 4: blank participant_id
        "P004,treatment,20,9,16,7,10",          # line 5: unknown group
        "P005,physical_activity,14,5,ten,4,7",  # line 6: GAD-7 not a number
        "P006,control,,12,9,10,-1",             # line 7: PHQ-9 first blank; sessions negative
        "P001,control,12,11.5,9,22,5",          # line 8: duplicate id, fractional, GAD-7 out of range
    ]))

    # --- ok -------------------------------------------------------------------------
    write(OK / "bom.csv", "\ufeff" + csv_text(HEADER, VALID_ROWS))
    write(OK / "crlf.csv", csv_text(HEADER, VALID_ROWS, newline="\r\n"))
    write(OK / "semicolon.csv", csv_text(HEADER.replace(",", ";"), [r.replace(",", ";") for r in VALID_ROWS]))
    write(OK / "latin1.csv", csv_text(HEADER + ",venue", [
        r + ("," + ("Café" if i % 2 else "Park")) for i, r in enumerate(VALID_ROWS)]), encoding="cp1252")
    write(OK / "extra_columns.csv", csv_text(HEADER + ",age_band,gender,pa_sessions", [
        r + e for r, e in zip(VALID_ROWS, [",18-25,F,6", ",26-35,M,0", ",36-50,F,", ",51-65,X,3", ",65+,F,8",
                                           ",26-35,M,"], strict=True)]))
    write(OK / "blank_trailing_rows.csv", csv_text(HEADER, [*VALID_ROWS[:3], "", *VALID_ROWS[3:], ",,,,,,",
                                                            ",,,,,,", ""]))
    write(OK / "mixed_case_groups.csv", csv_text(HEADER, [
        "P001,PA,15,8,12,6,8",
        "P002,Control,18,14,13,11,6",
        "P003,Physical_Activity,11,,9,,1",
        "P004,CONTROL,20,9,16,7,10",
        "P005, pa ,14,5,10,4,7",
        "P006,control,12,12,9,10,5",
    ]))
    write(OK / "valid.xlsx", xlsx_bytes([
        HEADER.split(",") + ["first_contact"],
        ["P001", "physical_activity", 15.0, 8, 12, 6, 8, dt.date(2024, 3, 1)],
        ["P002", "control", 18, 14, 13, 11, 6, dt.date(2024, 3, 4)],
        ["P003", "PA", 11, None, 9, None, 1, dt.date(2024, 3, 5)],
        ["P004", "control", 20, 9.0, 16, 7, 10, dt.date(2024, 3, 8)],
        ["P005", "physical_activity", 14, 5, 10, 4, 7, dt.date(2024, 3, 9)],
    ]))
    session_rows = [
        # participant P1: PHQ-9 at sessions 1-3, GAD-7 only at session 1 -> gad7_last blank
        "P1,physical_activity,1,2024-01-08,16,12",
        "P1,physical_activity,2,2024-01-15,12,",
        "P1,physical_activity,3,2024-01-22,9,",
        # participant P2 (rows out of order): first = session 1, last = session 4
        "P2,control,4,2024-02-26,14,10",
        "P2,control,1,2024-02-05,18,15",
        "P2,control,2,2024-02-12,,",
        "P2,control,3,2024-02-19,17,13",
        # participant P3: a single session
        "P3,PA,1,2024-03-04,11,9",
    ]
    write(OK / "sessions.csv", csv_text("participant_id,group,session_number,session_date,phq9,gad7", session_rows))


if __name__ == "__main__":
    main()
