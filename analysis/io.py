"""Read a user's file into text cells, detect its level and reduce sessions.

Reading is deliberately dumb: every cell comes back as the text that is in the
file (or missing when the cell is blank), with the row number the user sees in
their spreadsheet or text editor. Deciding what the text means is the job of
:mod:`analysis.validate`, so a problem can always be reported as
(row, column, value as typed, rule).

The only thing reading removes is a *fully blank* row (every cell empty or
spaces): it is not a participant. Removed rows are listed in ``RawTable.notes``.

Formats, recognised by their content first and their name second:

* CSV (also ``.txt``/``.tsv``): UTF-8 with or without BOM, UTF-16 with BOM,
  otherwise Windows-1252/Latin-1; delimiter ``,``, ``;`` or tab, chosen from the
  header line; CRLF, LF or CR line ends. Read with ``pyarrow.csv`` (all columns
  as strings), falling back to Python's :mod:`csv` module only for irregular
  files (quoted line breaks, rows with the wrong number of values).
* XLSX: the first worksheet, via openpyxl. Whole numbers stored as floats are
  written without ``.0`` (``7.0`` -> ``"7"``), dates as ``YYYY-MM-DD``.
* Parquet: via pyarrow; every column cast to text the same way.

Anything else (an image, a PDF, an old ``.xls``, random bytes, a damaged
workbook) raises :class:`DataFileError` with a plain-English message; no
exception from pandas, pyarrow or openpyxl escapes.
"""

from __future__ import annotations

import csv
import datetime as _dt
import io as _stdio
import math
import os
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from analysis.schema import PARALLEL_MIN_ROWS  # noqa: F401 (read at call time; tests patch it here)

__all__ = [
    "DataFileError",
    "RawTable",
    "describe_rows",
    "detect_level",
    "read_path",
    "read_table",
    "reduce_sessions",
]

# The text type every raw column is stored in (pandas' default ``str`` dtype is
# backed by large_string, so conversion to pandas is zero-copy).
_TEXT = pa.large_string()
_STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)

_DELIMITERS = (",", ";", "\t")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}

_FIX_SAVE_AS = "Save the file as CSV (comma-separated, UTF-8) or as an Excel workbook (.xlsx) and upload it again."


class DataFileError(Exception):
    """The file cannot be read as a table at all.

    The message is written for the person who uploaded the file and never
    contains cell values. ``fix`` says what to do about it.

    Examples
    --------
    >>> read_table(b"\\x89PNG\\r\\n\\x1a\\n....", "scores.csv")
    Traceback (most recent call last):
    ...
    analysis.io.DataFileError: 'scores.csv' is a PNG image, not a data table.
    """

    def __init__(self, message: str, fix: str = _FIX_SAVE_AS) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


@dataclass
class RawTable:
    """A table exactly as the file has it.

    Attributes
    ----------
    frame : every cell as text (pandas ``str`` dtype) exactly as in the file, NaN
        for a blank cell; column names with surrounding spaces and any BOM
        removed. The index is a plain 0..n-1 range.
    row_numbers : int64 array, one per frame row: the row number the user sees
        in their file. CSV: the line number (the header is line 1, so the first
        data row is 2). XLSX: Excel's row number. Parquet: position + 2, as if
        the header were row 1.
    file_format : ``"csv"``, ``"xlsx"`` or ``"parquet"``.
    encoding, delimiter : how a CSV was decoded and split (None otherwise).
    notes : plain-English remarks to show the user (blank rows ignored, the
        encoding used, extra sheets not read, ...). Never cell values.
    ragged_rows : file row -> number of values, for CSV/XLSX rows with more
        non-blank values than the header has columns (the extra values were not
        read; validation reports each as a problem).
    duplicate_columns : header names that occur more than once; the second and
        later copies are renamed ``"name (2)"``, ``"name (3)"`` (validation
        reports this as a problem).
    filename : the name the file was uploaded with.

    Examples
    --------
    >>> raw = read_table(b"participant_id,group\\nP1,pa\\n", "x.csv")
    >>> raw.frame["group"].tolist(), raw.row_numbers.tolist()
    (['pa'], [2])
    """

    frame: pd.DataFrame
    row_numbers: np.ndarray
    file_format: str
    encoding: str | None = None
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)
    ragged_rows: dict[int, int] = field(default_factory=dict)
    duplicate_columns: list[str] = field(default_factory=list)
    filename: str | None = None
    numbers: dict[str, tuple[pd.api.extensions.ExtensionArray, np.ndarray]] = field(default_factory=dict)
    header_row: int = 1  # the row (CSV: line) of the column headings, as the user numbers it

    def __len__(self) -> int:
        return len(self.frame)


# --- small helpers -------------------------------------------------------------


def describe_rows(rows: Iterable[int], limit: int = 12) -> str:
    """Row numbers as compact ranges: ``[3, 4, 5, 9]`` -> ``"3–5, 9"``.

    At most ``limit`` ranges are listed; the rest are summarised as
    ``"and N more"``.
    """
    values = sorted({int(r) for r in rows})
    if not values:
        return ""
    ranges: list[tuple[int, int]] = []
    start = prev = values[0]
    for value in values[1:]:
        if value == prev + 1:
            prev = value
            continue
        ranges.append((start, prev))
        start = prev = value
    ranges.append((start, prev))
    parts = [f"{a}" if a == b else f"{a}–{b}" for a, b in ranges[:limit]]
    rest = sum(b - a + 1 for a, b in ranges[limit:])
    if rest:
        parts.append(f"and {rest} more")
    return ", ".join(parts)


def _blank_rows_note(rows: Sequence[int]) -> str:
    n = len(rows)
    noun = "row was" if n == 1 else "rows were"
    label = "row" if n == 1 else "rows"
    return f"{n} blank {noun} ignored ({label} {describe_rows(rows)})."


def _clean_names(names: Sequence[object]) -> tuple[list[str], list[str], list[str]]:
    """Strip names, name blank headers, make duplicates unique.

    Returns (names, notes, duplicated original names).
    """
    cleaned: list[str] = []
    notes: list[str] = []
    for position, name in enumerate(names, start=1):
        text = "" if name is None else str(name)
        text = text.replace("\ufeff", "").strip()
        if not text:
            text = f"column_{position}"
            notes.append(f"Column {position} has no heading; it is shown as '{text}'.")
        cleaned.append(text)
    seen: dict[str, int] = {}
    duplicates: list[str] = []
    unique: list[str] = []
    taken = set(cleaned)
    for text in cleaned:
        count = seen.get(text, 0) + 1
        seen[text] = count
        if count == 1:
            unique.append(text)
            continue
        if text not in duplicates:
            duplicates.append(text)
        candidate = f"{text} ({count})"
        while candidate in taken:
            count += 1
            candidate = f"{text} ({count})"
        taken.add(candidate)
        unique.append(candidate)
    return unique, notes, duplicates


def _blank_mask(columns: Sequence[pa.ChunkedArray | pa.Array], n: int) -> np.ndarray:
    """True for rows whose every cell is missing or only spaces (vectorised)."""
    if n == 0:
        return np.zeros(0, dtype=bool)
    mask = np.ones(n, dtype=bool)
    for column in columns:
        blank = pc.fill_null(pc.utf8_is_space(column), True)  # null -> blank
        blank = pc.or_(blank, pc.equal(pc.binary_length(column), 0))
        mask &= np.asarray(pc.fill_null(blank, True))
        if not mask.any():
            break
    return mask


def _table_to_raw(
    names: list[str],
    columns: list[pa.ChunkedArray | pa.Array],
    row_numbers: np.ndarray,
    file_format: str,
    notes: list[str],
    skipped_blank: Sequence[int] = (),
    **extra: object,
) -> RawTable:
    """Drop fully blank rows and wrap the text columns in a RawTable.

    ``skipped_blank`` are row numbers of blank lines a reader already skipped;
    they are listed in the same note as the blank rows dropped here.
    """
    n = len(row_numbers)
    blank = _blank_mask(columns, n)
    blank_rows = sorted([*skipped_blank, *row_numbers[blank].tolist()])
    if blank_rows:
        notes.append(_blank_rows_note(blank_rows))
    if blank.any():
        keep = pa.array(~blank)
        columns = [pc.filter(column, keep) for column in columns]
        row_numbers = row_numbers[~blank]
    data = {
        name: pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(_as_chunks(column), type=_TEXT), dtype=_STR_DTYPE),
                        copy=False)
        for name, column in zip(names, columns, strict=True)
    }
    frame = pd.DataFrame(data, columns=names)
    if frame.shape[1] == 0:
        frame = pd.DataFrame(index=pd.RangeIndex(len(row_numbers)))
    return RawTable(frame=frame, row_numbers=np.asarray(row_numbers, dtype=np.int64), file_format=file_format,
                    notes=notes, **extra)  # type: ignore[arg-type]


def _as_chunks(column: pa.ChunkedArray | pa.Array) -> list[pa.Array]:
    if isinstance(column, pa.ChunkedArray):
        chunks = column.chunks if column.type == _TEXT else [chunk.cast(_TEXT) for chunk in column.chunks]
        return chunks or [pa.array([], type=_TEXT)]
    return [column.cast(_TEXT)]


# --- format detection ------------------------------------------------------------

_MAGIC_ERRORS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"{\\rtf", "a Rich Text (RTF) document"),
    (b"SQLite format 3", "an SQLite database"),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# Bytes that do not occur in text files (C0 controls other than tab, LF, CR).
_CONTROL_BYTES = np.zeros(256, dtype=bool)
_CONTROL_BYTES[[*range(9), 11, 12, *range(14, 32), 127]] = True


def _has_content(data: bytes) -> bool:
    """True when the bytes contain anything but whitespace (stops at the first such byte)."""
    return re.search(rb"\S", data) is not None


def _display_name(filename: str) -> str:
    return f"'{Path(filename).name}'" if filename else "The file"


def _suffix(filename: str) -> str:
    return Path(filename or "").suffix.lower()


def _detect_format(data: bytes, filename: str) -> str:
    """``"csv"``, ``"xlsx"`` or ``"parquet"`` from the content, then the name."""
    name = _display_name(filename)
    head = bytes(data[:64])
    if head.startswith(_ZIP_MAGICS):
        return "xlsx"
    if head.startswith(b"PAR1"):
        return "parquet"
    for magic, what in _MAGIC_ERRORS:
        if head.startswith(magic):
            raise DataFileError(f"{name} is {what}, not a data table.")
    if head.startswith(_OLE_MAGIC):
        raise DataFileError(
            f"{name} is in the old Excel 97–2003 (.xls) or another Office binary format, which cannot be read.",
            "Open it in Excel and use Save As → Excel Workbook (.xlsx) or CSV UTF-8, then upload that file.")
    if head.startswith(_UTF16_BOMS):
        return "csv"
    sample = np.frombuffer(bytes(data[:65536]), dtype=np.uint8)
    if sample.size and (not sample.all() or _CONTROL_BYTES[sample].mean() > 0.01):
        raise DataFileError(f"{name} does not contain text or a spreadsheet (it looks like binary data).")
    suffix = _suffix(filename)
    if suffix in {".xlsx", ".xlsm", ".xls"}:
        return "csv"  # text content named like a workbook: read as CSV (a note says so)
    if suffix == ".parquet":
        raise DataFileError(f"{name} is named .parquet but is not a Parquet file.")
    stripped = bytes(data[:4096]).lstrip(_UTF8_BOM).lstrip()
    if stripped[:1] in (b"{", b"["):
        raise DataFileError(f"{name} looks like JSON, not a table of rows and columns.")
    if stripped[:1] == b"<":
        raise DataFileError(f"{name} looks like a web page or XML, not a table of rows and columns.")
    return "csv"


# --- CSV ---------------------------------------------------------------------------


def _to_utf8(data: bytes) -> tuple[bytes, str, list[str]]:
    """UTF-8 bytes without BOM, the encoding read and notes."""
    if data.startswith(_UTF8_BOM):
        body = data[len(_UTF8_BOM):]
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return _from_single_byte(body)
        return body, "utf-8-sig", []
    if data.startswith(_UTF16_BOMS):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DataFileError("The file says it is UTF-16 text but its characters cannot be decoded.") from exc
        return text.encode("utf-8"), "utf-16", []
    if data.isascii():
        return data, "utf-8", []
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return _from_single_byte(data)
    return data, "utf-8", []


def _from_single_byte(data: bytes) -> tuple[bytes, str, list[str]]:
    try:
        text, encoding = data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    label = "Windows-1252" if encoding == "cp1252" else "Latin-1 (ISO-8859-1)"
    note = (f"The file is not UTF-8, so it was read as {label} text. If accented letters look wrong, "
            "save it as 'CSV UTF-8' and upload it again.")
    return text.encode("utf-8"), encoding, [note]


def _sniff_delimiter(header: str) -> str:
    """The delimiter that occurs most often in the header line (ties: comma)."""
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _is_blank_line(line: bytes) -> bool:
    return not line.strip(b" \t\r,;")


# How many non-blank rows at the top of a file are searched for the column headings.
HEADER_SEARCH_ROWS: Final = 20


def _filled(cells: Sequence[str | None]) -> int:
    return sum(1 for c in cells if c is not None and c.strip())


def header_position(rows: Sequence[Sequence[str | None]]) -> int:
    """Which of a file's first non-blank rows holds the column headings (0: the first).

    Reporting systems put a title, the run date or notes above the headings; those rows fill one
    or two cells, while the headings fill about as many as the data. Rule: of the first
    :data:`HEADER_SEARCH_ROWS` non-blank rows, the headings are the first row with at least two
    non-blank cells and more than half as many as the fullest of those rows; 0 when none is.

    Examples
    --------
    >>> header_position([["Outcomes report"], ["Run 01/03/2025", None], ["id", "arm", "phq9"], ["C1", "PA", "9"]])
    2
    >>> header_position([["id", "arm"], ["C1", "PA", "extra"]])
    0
    """
    counts = [_filled(r) for r in rows[:HEADER_SEARCH_ROWS]]
    widest = max(counts, default=0)
    return next((i for i, n in enumerate(counts) if n >= 2 and 2 * n > widest), 0)


def _skipped_note(where: str, header: int, skipped: Sequence[int]) -> str:
    """Says which rows above the headings were left out (never silently)."""
    n = len(skipped)
    rows = describe_rows(skipped)
    above = (f"the {n} {where}s above them ({where}s {rows}) look like a title or notes, not data, and were"
             if n != 1 else f"the {where} above them ({where} {rows}) looks like a title or notes, not data, and was")
    return (f"The column headings were found on {where} {header}: {above} not read. If that is wrong, choose "
            "the row of the headings on the Data page.")


def _split_line(text: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error:
        return text.split(delimiter)


def _read_csv(data: bytes, filename: str, header_row: int | None = None) -> RawTable:
    buf, encoding, notes = _to_utf8(data)
    if b"\r" in buf and buf.count(b"\r") != buf.count(b"\r\n"):
        buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")  # old Mac (CR) line ends
    if not _has_content(buf):
        raise DataFileError(f"{_display_name(filename)} is empty.", "Check you chose the right file: it has no content.")
    if b"\x00" in buf:
        raise DataFileError(f"{_display_name(filename)} contains binary data, so it cannot be read as text.")
    # Find the header: the first line with any content.
    offset = 0
    line_no = 1
    while True:
        end = buf.find(b"\n", offset)
        line = buf[offset:] if end < 0 else buf[offset:end]
        if not _is_blank_line(line):
            break
        if end < 0:
            raise DataFileError(f"{_display_name(filename)} has no column headings or data.",
                                "Check you chose the right file: it contains only blank lines.")
        offset, line_no = end + 1, line_no + 1
    # The headings may be below a title or notes: look at the first non-blank lines (or the line asked for).
    candidates: list[tuple[int, int, int, str]] = []  # (line number, start offset, end offset, text)
    while len(candidates) < max(HEADER_SEARCH_ROWS, (header_row or 0) - line_no + 1):
        if not _is_blank_line(line):
            candidates.append((line_no, offset, end, line.decode("utf-8").rstrip("\r")))
        if end < 0:
            break
        offset, line_no = end + 1, line_no + 1
        end = buf.find(b"\n", offset)
        line = buf[offset:] if end < 0 else buf[offset:end]
    if header_row is not None:
        chosen = next((i for i, c in enumerate(candidates) if c[0] >= header_row), None)
        if chosen is None:
            raise DataFileError(f"{_display_name(filename)} has nothing on line {header_row} or below it.",
                                "Choose the line where the column headings are.")
    else:
        widest = max(candidates, key=lambda c: sum(c[3].count(d) for d in _DELIMITERS))[3]
        chosen = header_position([_split_line(c[3], _sniff_delimiter(widest)) for c in candidates])
    line_no, offset, end, header_text = candidates[chosen]
    skipped = [c[0] for c in candidates[:chosen]]
    delimiter = _sniff_delimiter(header_text)
    extra = {"encoding": encoding, "delimiter": delimiter}
    if skipped:
        notes.append(_skipped_note("line", line_no, skipped))
    elif line_no > 1:
        notes.append(f"The column headings are on line {line_no}; the blank lines above them were ignored.")
    if _suffix(filename) in {".xlsx", ".xlsm", ".xls"}:
        notes.append("The file is named like an Excel workbook but contains delimited text; it was read as CSV.")
    if delimiter != ",":
        notes.append(f"Columns are separated by {_DELIMITER_NAMES[delimiter]}s.")
    if header_text.count('"') % 2 == 0:
        names = next(csv.reader([header_text], delimiter=delimiter))
        body_start = len(buf) if end < 0 else end + 1
        fast = _read_csv_fast(buf, body_start, line_no, names, delimiter, notes, extra)
        if fast is not None:
            fast.header_row = line_no
            return fast
    slow = _read_csv_slow(buf, delimiter, notes, extra, filename, line_no)
    slow.header_row = line_no
    return slow


def _read_csv_fast(buf: bytes, body_start: int, header_line: int, names: list[str], delimiter: str,
                   notes: list[str], extra: dict) -> RawTable | None:
    """pyarrow read; None when the file is irregular (the slow reader then takes over).

    pyarrow reads an empty line as a row of blanks (``ignore_empty_lines=False``), so every line of
    the file is one record and the records are numbered straight on from the header; the blank ones
    are dropped with a note, like any blank row. Only a quoted value can hold a line break and so
    span lines: when the file has a quote, the records are checked against the lines first.
    """
    clean, name_notes, duplicates = _clean_names(names)
    body = memoryview(buf)[body_start:]
    lines = None
    if len(body) < 1 << 20:  # a small file: number its lines exactly first (no records: no pyarrow read)
        records, empty = _record_lines(buf, body_start, header_line)
        if len(records) == 0:
            return _table_to_raw(clean, [pa.array([], type=_TEXT) for _ in clean], records, "csv",
                                 notes + name_notes, skipped_blank=empty, duplicate_columns=duplicates, **extra)
        lines = len(records) + len(empty)
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(body),
            read_options=pa_csv.ReadOptions(column_names=clean, block_size=1 << 22),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: _TEXT for name in clean},
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException, ValueError):
        return None
    if lines is None and buf.find(b'"', body_start) >= 0:
        lines = buf.count(b"\n", body_start) + (0 if buf.endswith(b"\n") else 1)
    if lines is not None and table.num_rows != lines:
        return None
    columns = [table.column(i) for i in range(table.num_columns)]
    row_numbers = header_line + 1 + np.arange(table.num_rows, dtype=np.int64)
    return _table_to_raw(clean, columns, row_numbers, "csv", notes + name_notes, duplicate_columns=duplicates,
                         **extra)


def _record_lines(buf: bytes, body_start: int, header_line: int) -> tuple[np.ndarray, list[int]]:
    """(file line number of each record, numbers of the empty lines) for the text after the header."""
    body = memoryview(buf)[body_start:]
    arr = np.frombuffer(body, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [len(arr)]))
    if len(arr) and arr[-1] == 10:  # the text after the final newline is not a line
        starts, ends = starts[:-1], ends[:-1]
    elif not len(arr):
        starts, ends = starts[:0], ends[:0]
    lengths = ends - starts
    if len(lengths):
        has_cr = np.zeros(len(lengths), dtype=bool)
        nonzero = lengths > 0
        has_cr[nonzero] = arr[ends[nonzero] - 1] == 13
        lengths = lengths - has_cr
    line_numbers = header_line + 1 + np.arange(len(lengths), dtype=np.int64)
    nonempty = lengths > 0
    return line_numbers[nonempty], line_numbers[~nonempty].tolist()


def _read_csv_slow(buf: bytes, delimiter: str, notes: list[str], extra: dict, filename: str,
                   header_line: int = 1) -> RawTable:
    """Python csv reader: exact record start lines, tolerant of irregular rows. The headings are the
    first non-blank record starting on ``header_line`` or later (the lines above are already noted)."""
    text = buf.decode("utf-8")
    csv.field_size_limit(1 << 30)
    reader = csv.reader(_stdio.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    header: list[str] | None = None
    records: list[list[str]] = []
    record_lines: list[int] = []
    blank_lines: list[int] = []
    ragged: dict[int, int] = {}
    short = 0
    previous_line = 0
    try:
        for fields in reader:
            start, previous_line = previous_line + 1, reader.line_num
            if header is None:
                if start >= header_line and any(f.strip() for f in fields):
                    header = fields
                continue
            if not any(f.strip() for f in fields):
                blank_lines.append(start)
                continue
            width = len(header)
            if len(fields) > width:
                if any(f.strip() for f in fields[width:]):
                    ragged[start] = max(i for i, f in enumerate(fields) if f.strip()) + 1
                fields = fields[:width]
            elif len(fields) < width:
                short += 1
                fields = fields + [""] * (width - len(fields))
            records.append(fields)
            record_lines.append(start)
    except csv.Error as exc:
        raise DataFileError(
            f"{_display_name(filename)} could not be read as delimited text (line {previous_line + 1}).") from exc
    if header is None:
        raise DataFileError(f"{_display_name(filename)} has no column headings or data.")
    clean, name_notes, duplicates = _clean_names(header)
    if short:
        notes.append(f"{short} row{'s' if short != 1 else ''} had fewer values than there are columns; "
                     "the missing values at the end were read as blank.")
    columns = [
        pa.array([(r[i] if r[i] != "" else None) for r in records], type=_TEXT) for i in range(len(clean))
    ]
    return _table_to_raw(clean, columns, np.asarray(record_lines, dtype=np.int64), "csv", notes + name_notes,
                         skipped_blank=blank_lines, duplicate_columns=duplicates, ragged_rows=ragged, **extra)


# --- XLSX --------------------------------------------------------------------------


def _cell_text(value: object) -> str | None:
    """An Excel cell value as the text a user would see (7.0 -> '7')."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        text = repr(value)
        return format(value, ".15g") if len(text) > 16 else text
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


def _read_xlsx(data: bytes, filename: str, header_row_wanted: int | None = None) -> RawTable:
    import openpyxl  # deferred: only needed for workbooks

    name = _display_name(filename)
    try:
        with zipfile.ZipFile(_stdio.BytesIO(data)) as archive:
            members = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DataFileError(f"{name} looks like an Excel workbook but is damaged and cannot be opened.",
                            "Open it in Excel, save it again as .xlsx or CSV UTF-8, and upload the new file.") from exc
    if "xl/workbook.xml" not in members:
        raise DataFileError(f"{name} is a ZIP archive (or a Word/PowerPoint file), not an Excel workbook.")
    notes: list[str] = []
    rows: list[list[str | None]] = []
    row_numbers: list[int] = []
    header: list[str | None] | None = None
    header_row = 0
    blank_rows: list[int] = []
    ragged: dict[int, int] = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(_stdio.BytesIO(data), read_only=True, data_only=True)
            try:
                sheets = workbook.worksheets
                if not sheets:
                    raise DataFileError(f"{name} has no worksheets.")
                sheet = sheets[0]
                if len(sheets) > 1:
                    notes.append(f"The workbook has {len(sheets)} sheets; only the first ('{sheet.title}') was read.")
                if hasattr(sheet, "reset_dimensions"):
                    sheet.reset_dimensions()  # some writers record a wrong used range
                width = 0
                top: list[tuple[int, list[str | None]]] = []  # the first non-blank rows, to find the headings
                pending: list[tuple[int, list[str | None]]] = []  # rows read while still looking

                def take_header() -> None:
                    nonlocal header, header_row, width
                    if chosen_row is not None:
                        at = next((i for i, (n, _) in enumerate(top) if n >= chosen_row), None)
                        if at is None:
                            raise DataFileError(f"The first sheet of {name} has nothing on row {chosen_row} or "
                                                "below it.", "Choose the row where the column headings are.")
                    else:
                        at = header_position([cells for _, cells in top])
                    header_row, header = top[at][0], list(top[at][1])
                    skipped.extend(n for n, _ in top[:at])
                    while header and (header[-1] is None or not header[-1].strip()):
                        header.pop()
                    width = len(header)
                    pending[:] = [(n, c) for n, c in pending if n > header_row]

                skipped: list[int] = []
                chosen_row = header_row_wanted
                for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                    cells = [_cell_text(v) for v in values]
                    if header is None:
                        pending.append((number, cells))
                        if any(c is not None and c.strip() for c in cells):
                            top.append((number, cells))
                            if len(top) >= HEADER_SEARCH_ROWS and (chosen_row is None or number >= chosen_row):
                                take_header()
                                for pending_number, pending_cells in list(pending):
                                    _xlsx_row(pending_number, pending_cells, width, rows, row_numbers,
                                              blank_rows, ragged)
                                pending.clear()
                        continue
                    _xlsx_row(number, cells, width, rows, row_numbers, blank_rows, ragged)
                if header is None and top:
                    take_header()
                    for pending_number, pending_cells in pending:
                        _xlsx_row(pending_number, pending_cells, width, rows, row_numbers, blank_rows, ragged)
            finally:
                workbook.close()
    except DataFileError:
        raise
    except Exception as exc:  # openpyxl raises many kinds on damaged files
        raise DataFileError(f"{name} looks like an Excel workbook but is damaged and cannot be opened.",
                            "Open it in Excel, save it again as .xlsx or CSV UTF-8, and upload the new file.") from exc
    if header is None:
        raise DataFileError(f"The first sheet of {name} is empty.",
                            "Put the column headings in the first row of the first sheet.")
    if skipped:
        notes.append(_skipped_note("row", header_row, skipped))
    elif header_row > 1:
        notes.append(f"The column headings are on row {header_row}; the blank rows above them were ignored.")
    clean, name_notes, duplicates = _clean_names(header)
    columns = [pa.array([r[i] for r in rows], type=_TEXT) for i in range(len(clean))]
    raw = _table_to_raw(clean, columns, np.asarray(row_numbers, dtype=np.int64), "xlsx", notes + name_notes,
                        skipped_blank=blank_rows, duplicate_columns=duplicates, ragged_rows=ragged)
    raw.header_row = header_row
    return raw


def _xlsx_row(number: int, cells: list[str | None], width: int, rows: list, row_numbers: list[int],
              blank_rows: list[int], ragged: dict[int, int]) -> None:
    """One worksheet row below the headings: kept (cut or padded to the headings), or noted as blank."""
    if not any(c is not None and c.strip() for c in cells):
        blank_rows.append(number)
        return
    if len(cells) > width:
        if any(c is not None and c.strip() for c in cells[width:]):
            ragged[number] = max(i for i, c in enumerate(cells) if c is not None and c.strip()) + 1
        cells = cells[:width]
    elif len(cells) < width:
        cells = cells + [None] * (width - len(cells))
    rows.append(cells)
    row_numbers.append(number)


# --- Parquet -----------------------------------------------------------------------




_Column = TypeVar("_Column")


def _in_threads(func: Callable[[_Column], Any], columns: Sequence[_Column], n_rows: int) -> dict[_Column, Any]:
    """``{column: func(column)}``, the columns spread over worker threads for large files.

    pyarrow's compute kernels release the GIL, so two CPUs share the per-column work; each
    column's result is the same either way.
    """
    workers = min(len(columns), os.cpu_count() or 1)
    if workers < 2 or n_rows < PARALLEL_MIN_ROWS:
        return {column: func(column) for column in columns}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="columns") as pool:
        return dict(zip(columns, pool.map(func, columns), strict=True))


def _read_parquet(data: bytes, filename: str) -> RawTable:
    import pyarrow.parquet as pq

    name = _display_name(filename)
    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as exc:  # pyarrow raises several kinds on damaged files
        raise DataFileError(f"{name} looks like a Parquet file but is damaged and cannot be read.") from exc
    metadata = table.schema.pandas_metadata or {}
    index_columns = [c for c in metadata.get("index_columns", []) if isinstance(c, str)]
    if index_columns:
        table = table.drop_columns([c for c in index_columns if c in table.column_names])
    def as_text(position: int) -> tuple[pa.ChunkedArray, np.ndarray | None]:
        column = table.column(position)
        try:
            return _parquet_column_text(column), _parquet_numbers(column)
        except (pa.ArrowException, ValueError) as exc:
            raise DataFileError(
                f"Column {position + 1} of {name} holds nested values (lists or records), which cannot be read.",
                "Flatten the data so each cell holds one value, or save it as CSV.") from exc

    positions = list(range(table.num_columns))
    converted = _in_threads(as_text, positions, table.num_rows)  # the first nested column raises, as before
    columns = [converted[position][0] for position in positions]
    clean, name_notes, duplicates = _clean_names(table.column_names)
    row_numbers = np.arange(2, table.num_rows + 2, dtype=np.int64)
    raw = _table_to_raw(clean, columns, row_numbers, "parquet", name_notes, duplicate_columns=duplicates)
    if len(raw.frame) == table.num_rows:  # no blank rows were dropped: the values line up with the rows
        for position, column in enumerate(clean):
            values = converted[position][1]
            if values is not None:
                raw.numbers[column] = (raw.frame[column].array, values)
    return raw


def _parquet_numbers(column: pa.ChunkedArray) -> np.ndarray | None:
    """A numeric column's values as float64 (NaN for missing), or None: not numbers, or not all finite.

    Exactly what parsing the column's text (:func:`_parquet_column_text`) would give: Arrow writes each
    number in the shortest form that reads back as the same double.
    """
    kind = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        return None
    values = np.asarray(column.cast(pa.float64()).to_numpy(), dtype=np.float64)  # null -> NaN
    return values if not np.isinf(values).any() else None


# Below this size a whole float64 and the same int64 are written as the same text by Arrow
# (checked for every m·10^j and 3 million random values under 10^10; larger ones may be
# written as 1e+10).
_WHOLE_FLOAT_LIMIT = 1e9


def _whole_floats_as_int(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A float64 column of whole numbers (no −0.0, all below 10⁹ in size) as int64, else unchanged.

    Speed only: the text of each value is identical (``24.0`` and ``24`` are both written
    ``"24"``), but Arrow formats integers about twice as fast as floats, and a score column
    with blanks is float64 in Parquet files written from pandas.
    """
    if not pa.types.is_float64(column.type) or column.null_count == len(column):
        return column
    values = column.to_numpy()
    values = values[~np.isnan(values)]
    if (np.abs(values) < _WHOLE_FLOAT_LIMIT).all() and (values == np.trunc(values)).all() \
            and not ((values == 0) & np.signbit(values)).any():
        return column.cast(pa.int64())
    return column


def _parquet_column_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_floating(kind):
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, kind), column)
        column = _whole_floats_as_int(column)
    elif pa.types.is_timestamp(kind):
        midnight = pc.equal(pc.cast(column, pa.date32()).cast(kind), column)
        if pc.all(pc.fill_null(midnight, True)).as_py():
            column = column.cast(pa.date32())
    elif pa.types.is_boolean(kind):
        return pc.if_else(column, pa.scalar("TRUE", _TEXT), pa.scalar("FALSE", _TEXT))
    text = column.cast(_TEXT)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind)):
        return text  # numbers and dates are never written as empty text (speed only: skips a copy)
    empty = pc.equal(pc.binary_length(text), 0)
    if not pc.any(empty).as_py():
        return text  # speed only: no empty cell, nothing to blank
    return pc.if_else(empty, pa.scalar(None, _TEXT), text)


# --- public readers ----------------------------------------------------------------


def read_table(data: bytes, filename: str, header_row: int | None = None) -> RawTable:
    """Read an uploaded file's bytes into a :class:`RawTable`.

    The format is recognised from the content first (a ZIP container is an
    XLSX workbook, ``PAR1`` is Parquet, images/PDF/binary are refused) and then
    from the name; anything textual is read as CSV.

    Parameters
    ----------
    data : the file's bytes.
    filename : the name it was uploaded with (used in messages and as a hint).
    header_row : the row (CSV: line) holding the column headings, as the user numbers it; None to
        find it (:func:`header_position`: a title or notes above the headings are left out, with a
        note listing them). Parquet files have their headings built in and ignore it.

    Raises
    ------
    DataFileError : when the bytes are not a readable table (empty, binary, an
        image, a damaged workbook, ...). A file with headings but no data rows
        is *not* an error here: validation reports "no data rows".

    Examples
    --------
    >>> raw = read_table(b"participant_id;group\\r\\nP1;control\\r\\n\\r\\n", "x.csv")
    >>> raw.delimiter, raw.row_numbers.tolist(), raw.notes[-1]
    (';', [2], '1 blank row was ignored (row 3).')
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise DataFileError("The upload did not contain file data.", "Choose the file again and re-upload it.")
    filename = filename or ""
    if not _has_content(data):
        raise DataFileError(f"{_display_name(filename)} is empty.",
                            "Check you chose the right file: it has no content.")
    kind = _detect_format(data, filename)
    try:
        if kind == "xlsx":
            raw = _read_xlsx(data, filename, header_row)
        elif kind == "parquet":
            raw = _read_parquet(data, filename)
        else:
            raw = _read_csv(data, filename, header_row)
    except DataFileError:
        raise
    except MemoryError as exc:
        raise DataFileError(f"{_display_name(filename)} is too large to read on this server.",
                            "Upload a smaller file, e.g. one service or one year at a time.") from exc
    except Exception as exc:  # a last guard: no library traceback reaches the user
        raise DataFileError(f"{_display_name(filename)} could not be read as a table ({type(exc).__name__}).") from exc
    raw.filename = filename
    return raw


def read_path(path: str | Path) -> RawTable:
    """Read a file from disk; see :func:`read_table`.

    Examples
    --------
    >>> read_path("data/sample/episodes.csv").file_format  # doctest: +SKIP
    'csv'
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise DataFileError(f"There is no file called '{path.name}'.", "Check the file name and folder.") from exc
    except IsADirectoryError as exc:
        raise DataFileError(f"'{path.name}' is a folder, not a file.", "Give the path of a CSV or XLSX file.") from exc
    except OSError as exc:
        raise DataFileError(f"'{path.name}' could not be opened ({exc.strerror or type(exc).__name__}).",
                            "Check the file exists and you have permission to read it.") from exc
    return read_table(data, path.name)


# --- level detection and session reduction ----------------------------------------

SESSION_ORDER_COLUMNS = ("session_number", "session_date")
# Session-level measure column -> episode-level prefix.
SESSION_MEASURES = {"phq9": "phq9", "gad7": "gad7", "adsm": "adsm", "wsas": "wsas"}


def detect_level(columns: Iterable[str]) -> str:
    """``"session"`` or ``"episode"``: which kind of table the columns describe.

    Rule: session level when a bare ``phq9`` or ``gad7`` column is present
    together with ``session_number`` or ``session_date``; otherwise episode
    level (``phq9_first`` etc.; missing columns are validation's business).

    Examples
    --------
    >>> detect_level(["participant_id", "group", "session_number", "phq9", "gad7"])
    'session'
    >>> detect_level(["participant_id", "group", "phq9_first", "phq9_last"])
    'episode'
    """
    names = set(columns)
    has_scores = bool(names & {"phq9", "gad7"})
    has_order = bool(names & set(SESSION_ORDER_COLUMNS))
    return "session" if has_scores and has_order else "episode"


def _first_positions(codes: np.ndarray, valid: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the first and last ``valid`` row of each group in ``codes``.

    ``codes`` must be sorted (non-decreasing). Missing groups get -1.
    """
    first = np.full(n_groups, -1, dtype=np.int64)
    last = np.full(n_groups, -1, dtype=np.int64)
    idx = np.flatnonzero(valid)
    if idx.size == 0:
        return first, last
    grp = codes[idx]
    boundary = np.flatnonzero(grp[1:] != grp[:-1]) + 1
    starts = np.concatenate(([0], boundary))
    ends = np.concatenate((boundary - 1, [idx.size - 1]))
    first[grp[starts]] = idx[starts]
    last[grp[ends]] = idx[ends]
    return first, last


def _take(series: pd.Series, positions: np.ndarray) -> pd.Series:
    """``series`` values at ``positions`` (-1 -> missing), keeping the dtype."""
    values = series.array.take(positions, allow_fill=True)
    return pd.Series(values, copy=False)


def _order_key(values: np.ndarray) -> tuple[np.ndarray, int]:
    """A non-negative int64 rank-like key (NaN last) and its span, order-preserving."""
    finite = ~np.isnan(values)
    if not finite.any():
        return np.zeros(len(values), dtype=np.int64), 1
    present = values[finite]
    if np.all(present == np.floor(present)) and present.max() - present.min() < 2**40:
        low = present.min()
        key = np.where(finite, values - low, 0).astype(np.int64)
        span = int(present.max() - low) + 2
    else:  # fractional values: dense rank
        uniques, inverse = np.unique(present, return_inverse=True)
        key = np.zeros(len(values), dtype=np.int64)
        key[finite] = inverse
        span = len(uniques) + 1
    key[~finite] = span - 1
    return key, span


def session_sort_key(codes: np.ndarray, keys: Sequence[np.ndarray]) -> np.ndarray | None:
    """One int64 per row ordering by participant code, then each key (NaN last).

    Returns None when the combined key would not fit in 62 bits (the caller
    then sorts with :func:`numpy.lexsort`). Equal values mean the same
    participant and the same session.
    """
    combined = np.asarray(codes, dtype=np.int64).copy()
    capacity = max(int(combined.max(initial=0)) + 1, 1)
    parts = [_order_key(np.asarray(k, dtype=np.float64)) for k in keys]
    for _, span in parts:
        capacity *= span
    if capacity >= 2**62:
        return None
    for key, span in parts:
        combined = combined * span + key
    return combined


def _session_keys(frame: pd.DataFrame) -> list[np.ndarray]:
    """Ordering keys as float64 arrays: session_number, then session_date (seconds)."""
    number = (pd.to_numeric(frame["session_number"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
              if "session_number" in frame else None)
    dates = pd.to_datetime(frame["session_date"], errors="coerce") if "session_date" in frame else None
    return session_keys(number, None if dates is None else dates.to_numpy())


def session_keys(number: np.ndarray | None, dates: np.ndarray | None) -> list[np.ndarray]:
    """The ordering keys from typed columns: session_number, then session_date in seconds (NaN: missing)."""
    keys: list[np.ndarray] = []
    if number is not None:
        keys.append(np.asarray(number, dtype=np.float64))
    if dates is not None:
        dates = np.asarray(dates, dtype="datetime64[s]")
        seconds = dates.astype(np.int64).astype(np.float64)
        seconds[np.isnat(dates)] = np.nan
        keys.append(seconds)
    return keys


@dataclass(frozen=True)
class SessionOrder:
    """Session rows in session order: by participant, then each key (NaN last), ties in file order.

    ``order``: positions of the rows that have a participant (code ≥ 0), sorted. ``session``: per
    sorted row, what identifies its session (one combined int64 key, or each key), so that equal
    values mean the same participant and the same session.
    """

    order: np.ndarray
    session: list[np.ndarray]

    @classmethod
    def of(cls, codes: np.ndarray, keys: Sequence[np.ndarray]) -> SessionOrder:
        codes = np.asarray(codes, dtype=np.int64)
        present = codes >= 0
        combined = session_sort_key(np.where(present, codes, 0), keys)
        if combined is not None:
            order = np.argsort(combined, kind="stable")
        else:
            order = np.lexsort([*reversed(keys), codes])
        order = order[present[order]]
        session = [combined[order]] if combined is not None else [np.asarray(k)[order] for k in keys]
        return cls(order=order, session=session)


_Participants = tuple[np.ndarray, "pd.Index | pd.api.extensions.ExtensionArray"]


def participant_codes(ids: pd.Series) -> _Participants:
    """Each row's participant as a code numbered by first appearance (-1: blank), and the ids in that order."""
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), uniques


def reduce_sessions(sessions: pd.DataFrame, participants: _Participants | None = None,
                    order: SessionOrder | None = None) -> pd.DataFrame:
    """Reduce a typed session-level table to one row per participant.

    Rules (``shared/design/outcomes-and-statistics.md``): sessions are ordered
    by ``session_number``, else ``session_date`` (both: number, then date;
    ties keep file order). Per measure (``phq9``, ``gad7``, ``adsm``, ``wsas``
    when present), *first* is the score at the earliest session that has one
    and *last* the score at the latest session that has one, if that is a
    later session than the first (otherwise blank). ``treatment_sessions`` is
    the participant's number of session rows. ``group``, ``adsm_measure`` and
    every other column take the participant's first non-missing value (in
    session order). Rows without a participant_id are left out.

    Parameters
    ----------
    sessions : the typed, validated session frame (scores float64, session_number
        float64 and/or session_date datetime64, text otherwise).
    participants, order : :func:`participant_codes` of ``participant_id`` and the
        :class:`SessionOrder` of those codes and :func:`session_keys`, when the caller
        has them already (validation does); worked out here when None. Speed only.

    Returns
    -------
    One row per participant in order of first appearance, indexed by the index
    label of the participant's first row in the input (so file row numbers
    survive), with columns participant_id, group, phq9_first, phq9_last,
    gad7_first, gad7_last, treatment_sessions, [adsm_measure, adsm_first,
    adsm_last], [wsas_first, wsas_last], then the other columns.

    Examples
    --------
    >>> s = pd.DataFrame({"participant_id": ["A", "A", "A"], "group": ["control"] * 3,
    ...                   "session_number": [1.0, 2.0, 3.0], "phq9": [15.0, 12.0, np.nan],
    ...                   "gad7": [9.0, np.nan, np.nan]})
    >>> reduce_sessions(s)[["phq9_first", "phq9_last", "gad7_first", "gad7_last",
    ...                     "treatment_sessions"]].iloc[0].tolist()
    [15.0, 12.0, 9.0, nan, 3.0]
    """
    frame = sessions
    codes, uniques = participant_codes(frame["participant_id"]) if participants is None else participants
    n_groups = len(uniques)
    present = codes >= 0
    # first row (in input order) of each participant: codes are numbered by first appearance
    running_max = np.maximum.accumulate(np.where(present, codes, -1)) if len(codes) else codes
    is_new = present & (codes > np.concatenate(([-1], running_max[:-1])))
    first_rows = np.flatnonzero(is_new)

    if order is None:
        order = SessionOrder.of(codes, _session_keys(frame))
    sorted_keys = order.session
    order = order.order
    sorted_codes = codes[order]

    # first positions when nothing is missing, shared by every such column
    every_row = _first_positions(sorted_codes, np.ones(len(sorted_codes), dtype=bool), n_groups)[0]

    def first_nonmissing(column: str) -> dict[str, pd.Series]:
        present = frame[column].notna().to_numpy()
        if present.all():  # speed only: the same positions as the general case
            first = every_row
        else:
            first, _ = _first_positions(sorted_codes, present[order], n_groups)
        positions = np.where(first >= 0, order[np.maximum(first, 0)], -1) if len(order) else first
        return {column: _take(frame[column], positions)}

    def first_and_last(measure: str) -> dict[str, pd.Series]:
        scores = pd.to_numeric(frame[measure], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)[order]
        first, last = _first_positions(sorted_codes, ~np.isnan(scores), n_groups)
        later = last != first
        if sorted_keys:  # the last scored row must be a *later* session, not a tie
            differs = np.zeros(n_groups, dtype=bool)
            for key in sorted_keys:
                a = key[np.maximum(first, 0)] if len(key) else np.zeros(n_groups)
                b = key[np.maximum(last, 0)] if len(key) else np.zeros(n_groups)
                same = (a == b) | (np.isnan(a) & np.isnan(b)) if key.dtype.kind == "f" else a == b
                differs |= ~same
            later &= differs
        if len(scores):
            first_values = np.where(first >= 0, scores[np.maximum(first, 0)], np.nan)
            last_values = np.where((last >= 0) & later, scores[np.maximum(last, 0)], np.nan)
        else:
            first_values = last_values = np.full(n_groups, np.nan)
        prefix = SESSION_MEASURES[measure]
        return {f"{prefix}_first": pd.Series(first_values, copy=False),
                f"{prefix}_last": pd.Series(last_values, copy=False)}

    # Each column is worked out on its own (side by side in worker threads for large files).
    handled = {"participant_id", "treatment_sessions", *SESSION_ORDER_COLUMNS, *SESSION_MEASURES}
    tasks = [partial(first_and_last, measure) for measure in SESSION_MEASURES if measure in frame]
    tasks += [partial(first_nonmissing, column) for column in frame.columns if column not in handled]
    done = _in_threads(lambda task: task(), tasks, len(frame))
    out: dict[str, pd.Series] = {"participant_id": pd.Series(pd.array(uniques, dtype=_STR_DTYPE), copy=False)}
    for task in tasks:
        out.update(done[task])
    out["treatment_sessions"] = pd.Series(np.bincount(sorted_codes, minlength=n_groups).astype(np.float64), copy=False)

    ordered = ["participant_id", "group", "phq9_first", "phq9_last", "gad7_first", "gad7_last",
               "treatment_sessions", "adsm_measure", "adsm_first", "adsm_last", "wsas_first", "wsas_last"]
    columns = [c for c in ordered if c in out] + [c for c in out if c not in ordered]
    result = pd.DataFrame({c: out[c] for c in columns}, columns=columns, copy=False)
    result.index = pd.Index(frame.index[first_rows], name=frame.index.name)
    return result
