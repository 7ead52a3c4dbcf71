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
    return neutralise_formulas(frame).to_csv(index=False).encode("utf-8-sig")


def table_to_xlsx_bytes(frame: pd.DataFrame, sheet_name: str = "data") -> bytes:
    """An XLSX workbook of one sheet, formulas neutralised, text cells stored as text."""
    buffer = io.BytesIO()
    safe_name = "".join(ch for ch in sheet_name if ch not in "[]:*?/\\")[:31] or "data"
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        neutralise_formulas(frame).to_excel(writer, index=False, sheet_name=safe_name)
    return buffer.getvalue()
