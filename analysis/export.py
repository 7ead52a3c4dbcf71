"""Tables out as CSV/XLSX bytes, safe to open in a spreadsheet.

Every cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab/carriage return)
is prefixed with an apostrophe so it cannot run as a formula when the file is opened
in Excel (OWASP "CSV injection"). Numbers stay numbers: only text cells change.
"""

from __future__ import annotations

import io

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy where every text cell (and column name) that could start a formula is prefixed with '."""

    def fix(value: object) -> object:
        if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
            return "'" + value
        return value

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].astype(object).map(fix)
    out.columns = [fix(str(c)) for c in out.columns]
    return out


def table_to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV with BOM (so Excel reads accents), formulas neutralised."""
    # CRLF rows: with the default "\n" a cell holding a bare carriage return is written unquoted
    # and a spreadsheet would split the row there.
    return neutralise_formulas(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def table_to_xlsx_bytes(frame: pd.DataFrame, sheet_name: str = "data") -> bytes:
    """An XLSX workbook of one sheet, formulas neutralised, text cells stored as text.

    Built entirely in memory (xlsxwriter's ``in_memory`` mode: openpyxl and xlsxwriter's default
    both spill to temporary files, and a table may hold patient-level data).
    """
    buffer = io.BytesIO()
    safe_name = "".join(ch for ch in sheet_name if ch not in "[]:*?/\\")[:31] or "data"
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        neutralise_formulas(frame).to_excel(writer, index=False, sheet_name=safe_name)
    return buffer.getvalue()
