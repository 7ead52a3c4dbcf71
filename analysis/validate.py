"""Check an uploaded table against the data contract and type it.

Every problem is reported at once as a :class:`Problem` (file row, column,
value as typed, rule, fix); nothing is dropped or changed silently. When there
are no problems the report carries the typed episode-level frame that every
later step uses.

Identifiable data (names, NHS numbers, e-mail addresses, postcodes, phone
numbers, dates of birth) is refused before anything else: those problems come
first, the values are never echoed and no typed frame is produced.

The checks are vectorised with pyarrow compute and numpy, which keeps a
1,000,000-row file to well under a second on top of reading it. Pandera was
measured and not used: on text input its ``coerce`` step turns a bad cell into
a dtype failure that suppresses the range check of the whole column (a
``30`` next to an ``x`` went unreported), it reports the coerced value instead
of the text in the file, and it took 0.85 s (clean) to 2.2 s (with errors) on
a 1,000,000-row episode table.

References
----------
``shared/design/outcomes-and-statistics.md`` (section "Input");
:mod:`analysis.schema` for columns, measures and ranges.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis import schema
from analysis.io import (
    DataFileError,
    RawTable,
    SessionOrder,
    _in_threads,
    describe_rows,
    detect_level,
    read_path,
    read_table,
    reduce_sessions,
    session_keys,
)

__all__ = [
    "Problem",
    "ValidationReport",
    "apply_mapping",
    "exclude_rows",
    "find_identifiable_columns",
    "is_nhs_number",
    "load_bytes",
    "load_path",
    "validate",
]

# --- constants not (yet) in schema.py ------------------------------------------

# Cell text read as a blank score (compared after trimming, case-insensitively);
# a note says how many were read this way.
MISSING_MARKERS = frozenset({"na", "n/a", "nan", "null", "none", "#n/a", "-"})
# Count columns: whole numbers >= 0 when present.
COUNT_COLUMNS = ("treatment_sessions", "pa_sessions")
# A column whose name (lower-cased, non-alphanumerics removed) *contains* one of
# these identifies people, in addition to exact matches of
# schema.IDENTIFYING_COLUMN_NAMES ("Client surname", "patient_nhs_number").
IDENTIFYING_NAME_FRAGMENTS = (
    "nhsnumber", "nhsno", "dateofbirth", "birthdate", "postcode", "emailaddress", "email",
    "phonenumber", "telephonenumber", "mobilenumber", "surname", "forename", "firstname", "lastname",
    "givenname", "middlename", "familyname", "fullname", "patientname", "clientname", "address",
)
# A date column whose dates are mostly at least this many years ago looks like dates of birth.
DOB_MIN_YEARS = 10
# Accepted date formats, tried in order (day first: UK).
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d-%m-%Y", "%d.%m.%Y",
                "%Y/%m/%d", "%d/%m/%y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S")

HIDDEN = "(hidden)"
_HIDDEN_KIND = {
    "nhs": "(hidden: looks like an NHS number)",
    "email": "(hidden: looks like an e-mail address)",
    "phone": "(hidden: looks like a phone number)",
    "postcode": "(hidden: looks like a postcode)",
    "dob": "(hidden: looks like a date of birth)",
}
_KIND_WORDS = {
    "nhs": "NHS numbers",
    "email": "e-mail addresses",
    "phone": "UK phone numbers",
    "postcode": "UK postcodes",
    "dob": "dates that look like dates of birth",
}

_NUMBER_RE = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_EMAIL_RE = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# Identifying patterns; each tolerates spaces around the value so columns need not be trimmed first.
_NHS_RE = r"^\s*\d{3}[ -]?\d{3}[ -]?\d{4}\s*$"
_PHONE_RE = r"^\s*(?:(?:\+|00)44\s*(?:\(0\)\s*)?|\(?0)[1-9](?:[\s\-()]*\d){8,9}\s*$"
_POSTCODE_SPACED_RE = r"^\s*[A-Za-z]{1,2}\d[A-Za-z\d]?\s+\d[A-Za-z]{2}\s*$"
_POSTCODE_ANY_RE = r"^\s*[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}\s*$"
_CANDIDATE_RE = r"@|^[\s()+-]*(?:\d[\s()+-]*){10,}$|^\s*[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}\s*$"
_DATE_SHAPE_RE = r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?\s*$"

_TEXT = pa.large_string()
_STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)

_GROUP_RULE = ("group must be 'physical_activity' or 'control' (any capitals; 'PA' is accepted for "
               "physical_activity)")
_ADSM_CODES_TEXT = ", ".join(m.label for m in schema.ADSMS.values())
_SESSION_KEYS = ("session_number", "session_date")


# --- report types ------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, in the user's terms.

    Attributes
    ----------
    row : the row number as the user sees it in their file (the header is row
        1), or None for a problem with the whole file or a whole column.
    column : the column's name as in the file, or None.
    value : the cell as typed, or None; identifiable values are never echoed
        (e.g. ``"(hidden: looks like an NHS number)"``).
    rule : the rule broken, in plain English ("PHQ-9 must be a whole number from 0 to 27").
    fix : what to do about it.
    code : a stable machine-readable kind (``"out_of_range"``, ``"identifiable"``, ...).
    participant : the row's participant_id as in the file (trimmed), so a row can be found again
        after the file is sorted; None for whole-file problems, a blank id, or when the file has no
        participant_id column; ``"(hidden)"`` when the id column itself looks identifying.

    Examples
    --------
    >>> Problem(7, "phq9_first", "30", "PHQ-9 must be a whole number from 0 to 27", "Check the value.").row
    7
    """

    row: int | None
    column: str | None
    value: str | None
    rule: str
    fix: str
    code: str = ""
    participant: str | None = None


@dataclass
class ValidationReport:
    """Everything validation found, and the typed frame when the file is usable.

    Attributes
    ----------
    level : ``"episode"``, ``"session"`` or None (file unreadable).
    problems : every problem; identifiable-data problems first, then whole-file
        problems, then cell problems in file order.
    episodes : the typed episode-level frame, only when there are no problems.
        Index: file row numbers (name ``file_row``; for session input, the
        participant's first row). Columns: ``participant_id`` (str, trimmed),
        ``group`` (``physical_activity``/``control``), score, ``treatment_sessions``
        and ``pa_sessions`` columns float64 (NaN blank), ``adsm_measure`` canonical
        code or NaN, every other column as text.
    sessions : the typed session-level frame for session input (index
        ``file_row``; ``session_number`` float64, ``session_date`` datetime64,
        scores float64), when its rows have no problems.
    notes : remarks to show with the data (blank rows ignored, encoding, renamed
        columns, rows excluded, ...).
    row_count : data rows read (after fully blank rows were ignored).
    excluded_rows : file rows excluded at the user's request (see :func:`exclude_rows`).
    """

    level: str | None
    problems: list[Problem]
    episodes: pd.DataFrame | None = None
    sessions: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    row_count: int = 0
    excluded_rows: list[int] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """True when there are no problems and the typed frame exists."""
        return not self.problems and self.episodes is not None

    @property
    def identifiable(self) -> bool:
        """True when identifiable data was found (the file is refused)."""
        return any(p.code == "identifiable" for p in self.problems)

    @property
    def row_problem_rows(self) -> list[int]:
        """File rows that have at least one problem."""
        return sorted({p.row for p in self.problems if p.row is not None})

    def problems_frame(self) -> pd.DataFrame:
        """The problems as a table with columns row, participant, column, value, rule, fix."""
        frame = pd.DataFrame(
            {
                "row": pd.array([p.row for p in self.problems], dtype="Int64"),
                "participant": pd.array([p.participant for p in self.problems], dtype=_STR_DTYPE),
                "column": pd.array([p.column for p in self.problems], dtype=_STR_DTYPE),
                "value": pd.array([p.value for p in self.problems], dtype=_STR_DTYPE),
                "rule": pd.array([p.rule for p in self.problems], dtype=_STR_DTYPE),
                "fix": pd.array([p.fix for p in self.problems], dtype=_STR_DTYPE),
            },
            columns=["row", "participant", "column", "value", "rule", "fix"],
        )
        return frame


# --- vectorised text helpers ---------------------------------------------------------


def _arrow_text(series: pd.Series) -> pa.ChunkedArray:
    """A column as a large_string ChunkedArray (zero-copy for pandas' str dtype)."""
    if not isinstance(series.dtype, pd.StringDtype):
        series = series.astype(_STR_DTYPE)
    arr = pa.array(series.array)
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    if arr.type != _TEXT:
        arr = arr.cast(_TEXT)
    return arr


def _np(mask: pa.ChunkedArray | pa.Array, fill: bool = False) -> np.ndarray:
    """A pyarrow boolean array as numpy (nulls -> ``fill``)."""
    return np.asarray(pc.fill_null(mask, fill), dtype=bool)


def _series(values: pa.ChunkedArray | pa.Array, index: pd.Index | None = None) -> pd.Series:
    if isinstance(values, pa.Array):
        values = pa.chunked_array([values])
    return pd.Series(pd.arrays.ArrowStringArray(values.cast(_TEXT), dtype=_STR_DTYPE), index=index, copy=False)


def _map_unique(arr: pa.ChunkedArray, func: Callable[[str], str | None]) -> pa.ChunkedArray:
    """Apply ``func`` to each distinct value (a Python call per distinct value only)."""
    uniques = pc.unique(arr)
    mapped = pa.array([None if u is None else func(u) for u in uniques.to_pylist()], type=_TEXT)
    if not len(arr):
        return arr
    result = mapped.take(pc.index_in(arr, value_set=uniques))
    return result if isinstance(result, pa.ChunkedArray) else pa.chunked_array([result], type=_TEXT)


@dataclass
class _Numbers:
    values: np.ndarray  # float64, NaN for blank or not a number
    blank: np.ndarray  # missing, spaces only, or a missing marker such as NA
    bad: np.ndarray  # not blank and not a number
    markers: int  # cells read as blank because they said NA, n/a, ...


def _parse_numbers(text: pa.ChunkedArray) -> _Numbers:
    """Parse text cells as numbers, vectorised.

    The fast path is a single cast of the untrimmed text (a clean column parses
    in one step); otherwise the text is trimmed and a regex separates numbers
    from blanks, missing markers (NA, n/a, ...) and other text.
    """
    n = len(text)
    null = _np(pc.is_null(text), True)
    try:
        values = np.asarray(pc.cast(text, pa.float64()).to_numpy(), dtype=np.float64)
        if (np.isfinite(values) | null).all():  # a missing cell reads as NaN
            return _Numbers(values, null, np.zeros(n, dtype=bool), 0)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    trimmed = pc.utf8_trim_whitespace(text)
    empty = _np(pc.equal(pc.binary_length(trimmed), 0))
    marker = _np(pc.is_in(pc.utf8_lower(trimmed), value_set=pa.array(sorted(MISSING_MARKERS), type=_TEXT)))
    is_number_arrow = pc.match_substring_regex(trimmed, _NUMBER_RE)
    is_number = _np(is_number_arrow)
    number_text = pc.if_else(is_number_arrow, trimmed, pa.scalar(None, _TEXT))
    values = np.asarray(pc.cast(number_text, pa.float64()).to_numpy(), dtype=np.float64)
    blank = null | empty | marker
    bad = ~blank & ~is_number
    return _Numbers(values, blank, bad, int((marker & ~null).sum()))


def _parse_dates(trimmed: pa.ChunkedArray) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """(dates as datetime64, blank mask, not-a-date mask) for trimmed text.

    A column of ISO dates (``2024-03-31``) is parsed by pyarrow in one strict
    cast (``2024-02-31`` is not a date); otherwise :data:`DATE_FORMATS` are
    tried in order with pandas, each strictly, day-first as in the UK.
    """
    n = len(trimmed)
    blank = _np(pc.is_null(trimmed), True) | _np(pc.equal(pc.binary_length(trimmed), 0))
    result = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    todo = ~blank
    if todo.any():
        try:
            nonblank = pc.if_else(pa.array(blank), pa.scalar(None, _TEXT), trimmed)
            days = pc.cast(nonblank, pa.date32())
            result = np.asarray(pc.cast(days, pa.timestamp("us")).to_numpy(), dtype="datetime64[us]")
            todo = np.zeros(n, dtype=bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    if todo.any():
        text = _series(trimmed)
        for fmt in DATE_FORMATS:
            if not todo.any():
                break
            positions = np.flatnonzero(todo)
            parsed = pd.to_datetime(text.iloc[positions], format=fmt, errors="coerce")
            found = parsed.notna().to_numpy()
            if found.any():
                result[positions[found]] = parsed[found].to_numpy().astype("datetime64[us]")
                todo[positions[found]] = False
    return pd.Series(result, copy=False), blank, todo


def is_nhs_number(values: Iterable[object] | pd.Series) -> np.ndarray:
    """Which values are valid NHS numbers (vectorised modulus-11 check).

    Rule: ten digits, optionally written 3-3-4 with spaces or hyphens, whose
    tenth digit is the check digit: weight the first nine digits 10, 9, ..., 2,
    sum, take ``11 - sum mod 11`` (11 becomes 0; 10 means the number is not
    valid). Only strings matching the ten-digit shape are checked.

    Examples
    --------
    >>> is_nhs_number(["943 476 5919", "9434765918", "P0001", None]).tolist()
    [True, False, False, False]
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    arr = pc.utf8_trim_whitespace(_arrow_text(series.astype(_STR_DTYPE) if series.dtype == object else series))
    return _nhs_valid(arr)


def _nhs_valid(trimmed: pa.ChunkedArray) -> np.ndarray:
    shaped = _np(pc.match_substring_regex(trimmed, _NHS_RE))
    result = np.zeros(len(trimmed), dtype=bool)
    idx = np.flatnonzero(shaped)
    if not idx.size:
        return result
    candidates = pc.replace_substring_regex(trimmed.take(pa.array(idx)), r"[\s-]", "")
    joined = "".join(candidates.to_pylist()).encode("ascii")
    digits = (np.frombuffer(joined, dtype=np.uint8).reshape(-1, 10) - 48).astype(np.int64)
    total = digits[:, :9] @ np.arange(10, 1, -1)
    check = 11 - total % 11
    check[check == 11] = 0
    result[idx] = (check != 10) & (check == digits[:, 9])
    return result


# --- identifiable data ------------------------------------------------------------------


def _normalise_name(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _name_meaning(norm: str) -> str | None:
    if norm not in schema.IDENTIFYING_COLUMN_NAMES and not any(f in norm for f in IDENTIFYING_NAME_FRAGMENTS):
        return None
    if "nhs" in norm:
        return "NHS numbers"
    if "birth" in norm or norm == "dob":
        return "dates of birth"
    if any(w in norm for w in ("post", "zip", "address")):
        return "addresses or postcodes"
    if "email" in norm:
        return "e-mail addresses"
    if any(w in norm for w in ("phone", "tel", "mobile")):
        return "phone numbers"
    return "names"


def _kind_masks(trimmed: pa.ChunkedArray, spaced_postcodes_only: bool) -> dict[str, np.ndarray]:
    """Per kind, which values look identifying (cheap prefilter, then exact patterns)."""
    n = len(trimmed)
    masks: dict[str, np.ndarray] = {}
    candidates = np.flatnonzero(_np(pc.match_substring_regex(trimmed, _CANDIDATE_RE)))
    if not candidates.size:
        return masks
    sub = trimmed.take(pa.array(candidates))

    def spread(local: np.ndarray) -> np.ndarray:
        full = np.zeros(n, dtype=bool)
        full[candidates[local]] = True
        return full

    found = {
        "email": _np(pc.match_substring_regex(sub, _EMAIL_RE)),
        "nhs": _nhs_valid(sub),
        "phone": _np(pc.match_substring_regex(sub, _PHONE_RE)),
        "postcode": _np(pc.match_substring_regex(sub, _POSTCODE_SPACED_RE if spaced_postcodes_only
                                                 else _POSTCODE_ANY_RE)),
    }
    for kind, local in found.items():
        if local.any():
            masks[kind] = spread(local)
    return masks


def _sample_positions(n: int, size: int = 2000) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, size).astype(np.int64))


def _looks_like_dob(trimmed: pa.ChunkedArray) -> np.ndarray | None:
    """Row mask of old dates when the column holds dates mostly DOB_MIN_YEARS+ ago, else None."""
    present = np.flatnonzero(~_np(pc.is_null(trimmed), True))
    if present.size == 0:
        return None
    sample = trimmed.take(pa.array(present[_sample_positions(present.size)]))
    if _np(pc.match_substring_regex(sample, _DATE_SHAPE_RE)).mean() < 0.5:
        return None
    dates, blank, _ = _parse_dates(pc.utf8_trim_whitespace(trimmed))
    parsed = dates.notna().to_numpy()
    nonblank = ~blank
    if nonblank.sum() == 0 or parsed.sum() < 0.8 * nonblank.sum():
        return None
    today = _dt.date.today()
    try:
        cutoff = today.replace(year=today.year - DOB_MIN_YEARS)
    except ValueError:  # 29 February
        cutoff = today.replace(year=today.year - DOB_MIN_YEARS, day=28)
    old = (dates < pd.Timestamp(cutoff)).to_numpy() & parsed
    if old.sum() <= 0.5 * parsed.sum():
        return None
    return old


def _mostly_repeats(arr: pa.ChunkedArray) -> bool:
    """Whether at most half of a sample of the values are distinct. Two samples: values spread over the
    column, and 20 blocks of 100 neighbouring rows (a session file repeats each id on neighbouring rows)."""
    n = len(arr)
    spread = arr.take(pa.array(_sample_positions(n)))
    if len(pc.unique(spread)) <= 0.5 * len(spread):
        return True
    starts = _sample_positions(max(n - 100, 1), 20)
    blocks = np.unique(np.minimum(starts[:, None] + np.arange(100), n - 1).ravel())
    return len(pc.unique(arr.take(pa.array(blocks)))) <= 0.5 * len(blocks)


def _scan_column(series: pd.Series, check_dates: bool) -> dict[str, np.ndarray]:
    """Kind -> row mask of identifying values in one column."""
    arr = _arrow_text(series)  # untrimmed: the patterns allow surrounding spaces
    n = len(arr)
    if n == 0 or pc.max(pc.binary_length(arr)).as_py() in (None, 0, 1, 2, 3, 4):
        return {}
    # Values that repeat (a group or age-band column, a session file's ids and dates): scan the distinct
    # values only (the same answer per value, fewer values to match).
    if n > 5000 and _mostly_repeats(arr):
        uniques = pc.unique(arr)
        unique_masks = _kind_masks(pa.chunked_array([uniques]), spaced_postcodes_only=False)
        masks = {}
        for kind, local in unique_masks.items():
            hit = pa.array(uniques.to_numpy(zero_copy_only=False)[local].tolist(), type=_TEXT)
            masks[kind] = _np(pc.is_in(arr, value_set=hit))
    else:
        masks = _kind_masks(arr, spaced_postcodes_only=False)
    if "postcode" in masks:
        # A postcode written without its space (SW1A1AA) only counts when the column is mostly
        # postcodes: short codes such as "AB12CD" are common as pseudonymous ids.
        spaced = _np(pc.match_substring_regex(arr, _POSTCODE_SPACED_RE))
        nonblank = int((~_np(pc.is_null(arr), True) & _np(pc.greater(pc.binary_length(arr), 0))).sum())
        if not spaced.any() and masks["postcode"].sum() < 0.5 * max(nonblank, 1):
            del masks["postcode"]
    if check_dates:
        old = _looks_like_dob(arr)
        if old is not None:
            masks["dob"] = old
    return masks


def find_identifiable_columns(frame: pd.DataFrame, row_numbers: Sequence[int] | None = None) -> list[Problem]:
    """Columns that identify people, one :class:`Problem` per column.

    Rules: a column is refused when its name (lower-cased, spaces, ``_`` and
    ``-`` removed) is in ``schema.IDENTIFYING_COLUMN_NAMES`` or contains one of
    :data:`IDENTIFYING_NAME_FRAGMENTS`; or when any value is a valid NHS number
    (``943 476 5919``, modulus-11 checked), an e-mail address, a UK phone
    number (``07700 900123``, ``020 7946 0958``, ``+44 7700 900123``) or a UK
    postcode written with its space (``SW1A 1AA``, ``M1 1AE``; without the
    space only when most of the column looks like postcodes); or when it is a
    date column (other than ``session_date``) whose dates are mostly more than
    ten years ago, i.e. dates of birth. Values are never echoed; ``row`` is
    None and the rule names up to five rows where such values are.

    Examples
    --------
    >>> frame = pd.DataFrame({"participant_id": ["943 476 5919"], "Surname": ["Smith"]})
    >>> [(p.column, p.value) for p in find_identifiable_columns(frame)]
    [('participant_id', '(hidden: looks like an NHS number)'), ('Surname', '(hidden)')]
    """
    rows = np.asarray(row_numbers if row_numbers is not None else np.arange(2, len(frame) + 2), dtype=np.int64)
    problems: list[Problem] = []
    fix = ("Remove this column (or replace its values with pseudonymous codes) and upload the file again: "
           "the dashboard only accepts pseudonymised data.")
    meanings = {name: _name_meaning(_normalise_name(name)) for name in frame.columns}
    to_scan = [name for name in frame.columns if meanings[name] is None]
    scans = _in_threads(lambda name: _scan_column(frame[name], check_dates=_normalise_name(name) != "sessiondate"),
                        to_scan, len(frame))
    for name in frame.columns:
        meaning = meanings[name]
        if meaning is not None:
            problems.append(Problem(None, str(name), HIDDEN,
                                    f"The column '{name}' looks like it holds {meaning}, which identify people.",
                                    fix, "identifiable"))
            continue
        masks = scans[name]
        if not masks:
            continue
        kinds = [k for k in ("nhs", "email", "phone", "postcode", "dob") if k in masks]
        where = np.zeros(len(frame), dtype=bool)
        for kind in kinds:
            where |= masks[kind]
        words = " and ".join(_KIND_WORDS[k] for k in kinds)
        rule = (f"The column '{name}' contains {words}, which identify people "
                f"(rows {describe_rows(rows[where].tolist(), limit=5)}).")
        problems.append(Problem(None, str(name), _HIDDEN_KIND[kinds[0]], rule, fix, "identifiable"))
    return problems


_NUMBER_COLUMNS: Final = {  # per level, the columns read as numbers
    "episode": (*(f"{key}_{suffix}" for key in schema.EPISODE_MEASURES for suffix in ("first", "last")),
                *COUNT_COLUMNS, "adsm_first", "adsm_last"),
    "session": ("session_number", "phq9", "gad7", "wsas", *COUNT_COLUMNS, "adsm"),
}


def _hide_values(values: list[str | None]) -> list[str | None]:
    """Replace values that look identifying (any pattern) before they are shown."""
    if not values:
        return values
    arr = pc.utf8_trim_whitespace(pa.chunked_array([pa.array(values, type=_TEXT)]))
    masks = _kind_masks(arr, spaced_postcodes_only=False)
    if not masks:
        return values
    out = list(values)
    for kind in ("nhs", "email", "phone", "postcode"):
        if kind in masks:
            for i in np.flatnonzero(masks[kind]):
                out[i] = _HIDDEN_KIND[kind]
    return out


# --- the checker -------------------------------------------------------------------------


def _num_text(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _range_rule(measure: schema.Measure) -> str:
    lo, hi = _num_text(measure.minimum), _num_text(measure.maximum)
    if measure.integer:
        return f"{measure.label} must be a whole number from {lo} to {hi}"
    return f"{measure.label} must be a number from {lo} to {hi} (decimals allowed)"


class _Checker:
    """Holds the frame being checked and collects problems."""

    def __init__(self, raw: RawTable, frame: pd.DataFrame, original: dict[str, str], hidden: set[str]) -> None:
        self.raw = raw
        self.frame = frame
        self.rows = np.asarray(raw.row_numbers, dtype=np.int64)
        self.original = original  # contract name -> name in the file
        self.hidden = hidden  # file column names whose values are never shown
        self.problems: list[Problem] = []
        self.notes: list[str] = []
        # caches: each filled once per column (possibly from worker threads, one key per task)
        self._trimmed: dict[str, pa.ChunkedArray] = {}
        self._numbers: dict[str, _Numbers] = {}
        self._coded: dict[str, _Coded] = {}
        self._dates: dict[str, tuple[pd.Series, np.ndarray, np.ndarray]] = {}
        self.marker_columns: dict[str, int] = {}
        self._row_index: pd.Index | None = None

    # -- access
    def text(self, column: str) -> pa.ChunkedArray:
        return _arrow_text(self.frame[column])

    def trimmed(self, column: str) -> pa.ChunkedArray:
        if column not in self._trimmed:
            self._trimmed[column] = pc.utf8_trim_whitespace(_arrow_text(self.frame[column]))
        return self._trimmed[column]

    def blank(self, column: str) -> np.ndarray:
        arr = self.trimmed(column)
        return _np(pc.is_null(arr), True) | _np(pc.equal(pc.binary_length(arr), 0))

    def numbers(self, column: str) -> _Numbers:
        if column not in self._numbers:
            stored = self.raw.numbers.get(self.name(column))
            if stored is not None and stored[0] is self.frame[column].array:  # the reader holds these as numbers
                values = stored[1]
                self._numbers[column] = _Numbers(values, np.isnan(values), np.zeros(len(values), dtype=bool), 0)
                return self._numbers[column]
            parsed = _parse_numbers(self.trimmed(column) if column in self._trimmed else self.text(column))
            if parsed.markers:
                self.marker_columns[self.name(column)] = parsed.markers
            self._numbers[column] = parsed
        return self._numbers[column]

    def name(self, column: str) -> str:
        return self.original.get(column, column)

    # -- problems
    def file_problem(self, column: str | None, rule: str, fix: str, code: str, value: str | None = None) -> None:
        self.problems.append(Problem(None, column, value, rule, fix, code))

    def cells(self, mask: np.ndarray, column: str | None, rule: str | Callable[[np.ndarray], list[str]],
              fix: str | Callable[[np.ndarray], list[str]], code: str, value_column: str | None = None) -> None:
        """One problem per True in ``mask`` (rule/fix may be per-row callables of the positions)."""
        idx = np.flatnonzero(mask)
        if not idx.size:
            return
        rows = self.rows[idx].tolist()
        source = value_column if value_column is not None else column
        if source is None:
            values: list[str | None] = [None] * idx.size
        elif self.name(source) in self.hidden:
            values = [HIDDEN] * idx.size
        else:
            taken = self.frame[source].iloc[idx]
            values = _hide_values([None if pd.isna(v) else str(v) for v in taken.tolist()])
        rules = rule(idx) if callable(rule) else [rule] * idx.size
        fixes = fix(idx) if callable(fix) else [fix] * idx.size
        shown = self.name(column) if column is not None else None
        people = self.participants(idx)
        self.problems.extend(
            Problem(r, shown, v, ru, fx, code, who)
            for r, v, ru, fx, who in zip(rows, values, rules, fixes, people, strict=True)
        )

    def participants(self, idx: np.ndarray) -> list[str | None]:
        """The participant_id (trimmed) of each row position, for naming the participant beside the row.

        None where the id is blank or the file has no participant_id column; ``(hidden)`` when the id
        column was found to hold identifying values (it is never echoed).
        """
        if "participant_id" not in self.frame.columns:
            return [None] * idx.size
        if self.name("participant_id") in self.hidden:
            return [HIDDEN] * idx.size
        ids = self.trimmed("participant_id").take(pa.array(idx)).to_pylist()
        return _hide_values([v if v else None for v in ids])

    # -- shared checks
    def check_scores(self, column: str, measure: schema.Measure, required: bool, what: str) -> None:
        parsed = self.numbers(column)
        rule = _range_rule(measure)
        lo, hi = _num_text(measure.minimum), _num_text(measure.maximum)
        self.cells(parsed.bad, column, rule,
                   f"Type the {measure.label} score as a number (e.g. 12)"
                   + (", or leave the cell empty if there is no score." if not required else "."),
                   "not_a_number")
        values = parsed.values
        finite = ~np.isnan(values)
        if measure.integer:
            self.cells(finite & (np.floor(values) != values), column, rule,
                       f"{measure.label} total scores have no decimals: check this value was typed correctly.",
                       "not_whole")
        self.cells(finite & ((values < measure.minimum) | (values > measure.maximum)), column, rule,
                   f"Check this value: {measure.label} scores run from {lo} to {hi}.", "out_of_range")
        if required:
            self.cells(parsed.blank, column, f"{measure.label} {what} ({column}) must not be blank",
                       f"Fill in the {measure.label} score {what}, or exclude this participant.", "required_blank")

    def check_count(self, column: str) -> None:
        parsed = self.numbers(column)
        rule = f"{column} must be a whole number of 0 or more"
        values = parsed.values
        finite = ~np.isnan(values)
        self.cells(parsed.bad, column, rule, "Type the number of sessions as digits (e.g. 6), or leave it empty.",
                   "not_a_number")
        self.cells(finite & (np.floor(values) != values), column, rule,
                   "Sessions are counted in whole numbers: check this value.", "not_whole")
        self.cells(finite & (values < 0), column, rule, "A number of sessions cannot be negative: check this value.",
                   "out_of_range")

    def participant_blank(self) -> np.ndarray:
        blank = self.blank("participant_id")
        self.cells(blank, "participant_id", "participant_id must not be blank",
                   "Give every participant a pseudonymous id (e.g. P001), or delete the row if it is not a participant.",
                   "blank_id")
        return blank

    def coded(self, column: str) -> _Coded:
        """``group`` or ``adsm_measure`` read through its distinct values (see :func:`_code_column`)."""
        if column not in self._coded:
            normalise, categories = _CATEGORY_COLUMNS[column]
            self._coded[column] = _code_column(self.text(column), normalise, categories)
        return self._coded[column]

    def dates(self, column: str) -> tuple[pd.Series, np.ndarray, np.ndarray]:
        """:func:`_parse_dates` of the trimmed column, worked out once."""
        if column not in self._dates:
            self._dates[column] = _parse_dates(self.trimmed(column))
        return self._dates[column]

    def prepare(self, level: str) -> list[Callable[[], object]]:
        """The per-column work the checks will ask for (number parsing, category coding, trimming ids,
        parsing session dates), as independent tasks: run side by side, they fill the caches the checks
        then read. Speed only: each result is what the check would have worked out itself."""
        tasks: list[Callable[[], object]] = [partial(self.numbers, c) for c in _NUMBER_COLUMNS[level]
                                             if c in self.frame]
        tasks += [partial(self.coded, column) for column in _CATEGORY_COLUMNS if column in self.frame]
        if "participant_id" in self.frame:
            tasks.append(partial(self.trimmed, "participant_id"))
        if level == "session" and "session_date" in self.frame:
            tasks.append(partial(self.dates, "session_date"))
        return tasks

    def groups(self) -> _Coded:
        """Canonical groups; problems for blank and unknown labels."""
        coded = self.coded("group")
        self.cells(coded.blank, "group", "group must not be blank",
                   "Fill in the group: physical_activity (or PA) or control.", "group_blank")
        self.cells(coded.unknown, "group", _GROUP_RULE,
                   "Change the label to physical_activity or control, or match your labels to the two groups "
                   "when you upload the file.", "group_unknown")
        return coded

    def adsm_codes(self) -> _Coded:
        coded = self.coded("adsm_measure")
        self.cells(coded.unknown, "adsm_measure", f"adsm_measure must be one of {_ADSM_CODES_TEXT}",
                   "Use the measure's short name (e.g. PCL-5 for the PTSD checklist), or leave it empty "
                   "if no anxiety-disorder-specific measure was used.", "adsm_unknown")
        return coded

    def check_adsm_scores(self, column: str, codes: np.ndarray) -> None:
        """ADSM score range by the measure in ``codes`` (position in schema.ADSMS per row, -1 for none)."""
        parsed = self.numbers(column)
        self.cells(parsed.bad, column, "The ADSM score must be a number in its measure's range",
                   "Type the score as a number (e.g. 24), or leave the cell empty.", "not_a_number")
        values = parsed.values
        finite = ~np.isnan(values)
        self.cells(finite & (codes < 0), column, "An ADSM score needs its measure named in adsm_measure",
                   f"Fill in adsm_measure ({_ADSM_CODES_TEXT}) for this participant, or remove the score.",
                   "adsm_without_measure")
        for position, measure in enumerate(schema.ADSMS.values()):
            rows = finite & (codes == position)
            if not rows.any():
                continue
            rule = _range_rule(measure)
            lo, hi = _num_text(measure.minimum), _num_text(measure.maximum)
            if measure.integer:
                self.cells(rows & (np.floor(values) != values), column, rule,
                           f"{measure.label} total scores have no decimals: check this value.", "not_whole")
            self.cells(rows & ((values < measure.minimum) | (values > measure.maximum)), column, rule,
                       f"Check this value and adsm_measure: {measure.label} scores run from {lo} to {hi}.",
                       "out_of_range")

    def check_one_group(self, groups: np.ndarray) -> None:
        """Both groups must be present. Not judged while some labels are not recognised (reported as
        such): an unmatched label such as ``Exercise`` may well be the other group."""
        if self.coded("group").unknown.any():
            return
        present = np.flatnonzero(np.bincount(groups[groups >= 0], minlength=len(_GROUPS)))
        if len(present) == 1:
            group = _GROUPS[int(present[0])]
            only = schema.GROUP_LABELS[group].lower()
            other = schema.GROUP_CONTROL if group == schema.GROUP_PA else schema.GROUP_PA
            self.file_problem("group" if "group" not in self.original else self.name("group"),
                              f"The file only has {only} participants: the dashboard compares physical activity "
                              "with control, so it needs both groups",
                              f"Add the {other} participants to the same file (or check the group labels).",
                              "one_group")

    # -- typed columns
    def text_column(self, column: str) -> pd.Series:
        return pd.Series(self.frame[column].array, index=self._index(), copy=False)

    def _index(self) -> pd.Index:
        """The file's row numbers as the typed frames' index (made once, shared by every column)."""
        if self._row_index is None:
            self._row_index = pd.Index(self.rows, name="file_row")
        return self._row_index


_GROUPS = tuple(schema.GROUPS)
_ADSM_CODES = tuple(schema.ADSMS)
_CATEGORY_COLUMNS: Final = {  # column -> (label normaliser, canonical categories)
    "group": (schema.normalise_group, _GROUPS),
    "adsm_measure": (schema.normalise_adsm, _ADSM_CODES),
}


@dataclass
class _Coded:
    """A category column (group, adsm_measure) read through its distinct values."""

    codes: np.ndarray  # int64 position in the categories; -1 for blank or not recognised
    blank: np.ndarray  # missing or only spaces
    unknown: np.ndarray  # not blank and not recognised
    canonical: pa.ChunkedArray  # the canonical label per row (null for blank or not recognised)


def _code_column(text: pa.ChunkedArray, normalise: Callable[[str], str | None],
                 categories: Sequence[str]) -> _Coded:
    """Trim, normalise and look up each *distinct* value once, then spread the answers to the rows.

    ``normalise`` maps a trimmed label to its canonical form (None: not recognised). Speed only: one
    dictionary-encoding pass over the column instead of separate passes to trim, test for blanks,
    normalise and find each row's position; the masks and labels are the same.
    """
    encoded = pc.dictionary_encode(text.combine_chunks())
    dictionary = pc.utf8_trim_whitespace(encoded.dictionary)
    size = len(dictionary)
    # one entry per distinct value, then one for a missing cell
    blank_of = np.append(_np(pc.equal(pc.binary_length(dictionary), 0)), True)
    canonical_of = [None if value is None else normalise(value) for value in dictionary.to_pylist()] + [None]
    code_of = np.array([categories.index(c) if c in categories else -1 for c in canonical_of], dtype=np.int64)
    unknown_of = ~blank_of & np.array([c is None for c in canonical_of])
    entry = np.asarray(pc.fill_null(encoded.indices, size).to_numpy(zero_copy_only=False), dtype=np.int64)
    labels = pa.DictionaryArray.from_arrays(pa.array(entry.astype(np.int32)),
                                            pa.array(canonical_of, type=_TEXT)).cast(_TEXT)
    return _Coded(codes=code_of[entry], blank=blank_of[entry], unknown=unknown_of[entry],
                  canonical=pa.chunked_array([labels]))


# --- column names ---------------------------------------------------------------------

_KNOWN_COLUMNS = frozenset(c.name for c in (*schema.EPISODE_COLUMNS, *schema.SESSION_COLUMNS))


def _contract_names(columns: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """Rename columns that differ from a contract name only by capitals, spaces or hyphens."""
    present = set(columns)
    renames: dict[str, str] = {}
    notes: list[str] = []
    for column in columns:
        if column in _KNOWN_COLUMNS:
            continue
        base = column.strip().lower()
        for candidate in (re.sub(r"\s+", "_", base.replace("-", "")), re.sub(r"[\s-]+", "_", base)):
            if candidate in _KNOWN_COLUMNS and candidate not in present and candidate not in renames.values():
                renames[column] = candidate
                notes.append(f"The column '{column}' was read as '{candidate}'.")
                break
    return renames, notes


def _missing_column_problems(checker: _Checker, required: Sequence[str], columns: Sequence[str]) -> None:
    found = ", ".join(f"'{c}'" for c in columns) or "none"
    for name in required:
        if name in checker.frame.columns:
            continue
        close = difflib.get_close_matches(name, list(columns), n=1, cutoff=0.6)
        blank_ok = " (its cells may be left blank)" if name.endswith("_last") or name in {"phq9", "gad7"} else ""
        fix = (f"Rename the column '{close[0]}' to '{name}' if it holds the same thing, or add a '{name}' column"
               f"{blank_ok}." if close else f"Add a column called '{name}'{blank_ok}.")
        checker.file_problem(name, f"The file needs a column called '{name}' (columns found: {found})", fix,
                             "missing_column")


# --- episode level -------------------------------------------------------------------------


def _check_episode(checker: _Checker) -> pd.DataFrame | None:
    frame = checker.frame
    _missing_column_problems(checker, schema.REQUIRED_EPISODE_COLUMNS, list(checker.raw.frame.columns))
    n = len(frame)
    if n == 0:
        return None
    typed: dict[str, pd.Series] = {}
    index = checker._index()

    if "participant_id" in frame:
        blank = checker.participant_blank()
        ids = checker.trimmed("participant_id")
        combined = ids.combine_chunks()  # one hash table over the whole column (faster than per chunk)
        if len(pc.unique(combined)) - (1 if combined.null_count else 0) < int((~blank).sum()):
            _duplicate_problems(checker, ids, blank)
        typed["participant_id"] = _series(ids, index)
    groups = None
    if "group" in frame:
        coded = checker.groups()
        groups = coded.codes
        typed["group"] = _series(coded.canonical, index)
    for key, measure in schema.EPISODE_MEASURES.items():
        for suffix, what in (("first", "at first assessment"), ("last", "at the last assessment")):
            column = f"{key}_{suffix}"
            if column not in frame:
                continue
            checker.check_scores(column, measure, required=suffix == "first" and key != "wsas", what=what)
            typed[column] = pd.Series(checker.numbers(column).values, index=index, copy=False)
    for column in COUNT_COLUMNS:
        if column in frame:
            checker.check_count(column)
            typed[column] = pd.Series(checker.numbers(column).values, index=index, copy=False)
    codes = np.full(n, -1, dtype=np.int64)
    if "adsm_measure" in frame:
        coded = checker.adsm_codes()
        codes = coded.codes
        typed["adsm_measure"] = _series(coded.canonical, index)
    for column in ("adsm_first", "adsm_last"):
        if column in frame:
            checker.check_adsm_scores(column, codes)
            typed[column] = pd.Series(checker.numbers(column).values, index=index, copy=False)
    if groups is not None:
        checker.check_one_group(groups)
    if schema.SITE_COLUMN in frame:
        typed[schema.SITE_COLUMN] = _check_sites(checker, groups, None)
    if checker.problems:
        return None
    for column in frame.columns:
        if column not in typed:
            typed[column] = checker.text_column(column)
    # copy=False: the typed columns are new arrays, kept as they are rather than copied into one block
    return pd.DataFrame({c: typed[c] for c in frame.columns}, index=index, copy=False)


def _duplicate_problems(checker: _Checker, ids: pa.ChunkedArray, blank: np.ndarray) -> None:
    text = _series(ids)
    dup = text.duplicated(keep=False).to_numpy() & ~blank
    if not dup.any():
        return
    positions = np.flatnonzero(dup)
    rows = checker.rows[positions]
    groups = pd.Series(rows).groupby(text.iloc[positions].to_numpy()).agg(list)
    by_position = {}
    for row_list in groups:
        listed = describe_rows(row_list, limit=8)
        for row in row_list:
            by_position[row] = listed
    checker.cells(dup, "participant_id",
                  lambda idx: [f"participant_id must be unique: the same id is on rows {by_position[r]}"
                               for r in checker.rows[idx].tolist()],
                  "Give each participant one row with their own id; if these are sessions of one person, "
                  "upload a session-level file (with session_number) instead.", "duplicate_id")


# --- several sites (the optional ``site`` column) ---------------------------------------------


def _site_codes(checker: _Checker) -> tuple[np.ndarray, list[str]]:
    """Each row's site as a position in the list of distinct trimmed site labels (-1: blank)."""
    encoded = pc.dictionary_encode(checker.trimmed(schema.SITE_COLUMN).combine_chunks())
    labels = [str(v) if v is not None else "" for v in encoded.dictionary.to_pylist()]
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    blank_label = np.append(np.array([label == "" for label in labels], dtype=bool), True)
    return np.where(blank_label[codes], -1, codes), labels


def _check_sites(checker: _Checker, groups: np.ndarray | None, participants: np.ndarray | None) -> pd.Series:
    """The ``site`` column: every participant needs one (a problem per participant without), one site
    per participant (session files), and a site without both groups gets a note naming it (it is left
    out of the pooled site analysis, where :func:`analysis.sites.site_analysis` lists it with the same
    reason). A site column left blank throughout is no site at all (as a file without one).
    ``participants``: each row's participant code, or None at episode level (each row is one
    participant). Returns the trimmed site per row (blank: missing)."""
    column = schema.SITE_COLUMN
    codes, labels = _site_codes(checker)
    if checker.name(column) in checker.hidden:  # never echo a value from a column flagged as identifiable
        labels = [HIDDEN] * len(labels)

    def pid(i: int) -> str | None:
        """Row i's participant id as shown in a message (looked up only for rows that have a problem)."""
        if "participant_id" not in checker.frame:
            return None
        return HIDDEN if checker.name("participant_id") in checker.hidden else checker.trimmed("participant_id")[i].as_py()

    site_text = _series(checker.trimmed(column), checker._index())
    if not (codes >= 0).any():  # an empty site column (e.g. the template's, left blank): one site, as without it
        return site_text.where(pd.Series(False, index=checker._index()))
    if participants is None:  # episode level: each row is a participant, so only a blank site can be wrong
        first_row = np.ones(len(codes), dtype=bool)
        lacking = codes < 0
    else:
        known = participants >= 0
        n_people = int(participants.max()) + 1 if known.any() else 0
        has_site = np.zeros(n_people, dtype=bool)
        has_site[participants[known & (codes >= 0)]] = True
        first_row = np.zeros(len(codes), dtype=bool)  # each participant's first row
        first_row[np.unique(participants, return_index=True)[1]] = True
        first_row &= known
        lacking = first_row & ~has_site[np.where(known, participants, 0)]
        # a participant in two sites (the first site given is the participant's)
        usable = known & (codes >= 0)
        first_site = _first_per_participant(participants, codes, usable, n_people)
        expected = np.where(known, first_site[np.where(known, participants, 0)], -1)
        first_at = _first_per_participant(participants, checker.rows, usable, n_people)
        differs = usable & (expected >= 0) & (codes != expected)
        checker.cells(differs, column,
                      lambda idx: [f"a participant is in one site only: this participant is at site "
                                   f"'{labels[expected[i]]}' on row {first_at[participants[i]]} and at another site "
                                   "here" for i in idx],
                      "Correct the site on this row so all of the participant's rows agree (or give the two "
                      "episodes different participant ids).", "site_inconsistent")
    checker.cells(lacking, column,
                  "site must not be blank when the file has a site column (this participant has no site on "
                  "any row)",
                  "Fill in the participant's site (the service or clinic they were seen at), or exclude "
                  "this participant.", "site_blank")
    if groups is not None and not checker.problems:
        counted = first_row & (codes >= 0) & (groups >= 0)
        counts = np.bincount(codes[counted] * len(_GROUPS) + groups[counted],
                             minlength=len(labels) * len(_GROUPS)).reshape(len(labels), len(_GROUPS))
        for position in np.flatnonzero((counts.sum(axis=1) > 0) & (counts.min(axis=1) < schema.SITE_MIN_PER_GROUP)):
            first = int(np.argmax(counted & (codes == position)))
            short = " and ".join(schema.GROUP_LABELS[g].lower() for i, g in enumerate(_GROUPS)
                                 if counts[position, i] < schema.SITE_MIN_PER_GROUP)  # no exact count: safe to show
            checker.notes.append(
                f"Site '{labels[position]}' (column '{checker.name(column)}', first on row "
                f"{int(checker.rows[first])}, participant {pid(first)}) has fewer than {schema.SITE_MIN_PER_GROUP} "
                f"{short} participants: a site is compared within itself only with at least "
                f"{schema.SITE_MIN_PER_GROUP} people in each group, so it is listed with this reason and left out of "
                "the pooled site analysis; its participants count in every other figure.")
    return site_text.where(pd.Series(codes >= 0, index=checker._index()))


# --- session level -------------------------------------------------------------------------


def _first_per_participant(codes: np.ndarray, values: np.ndarray, valid: np.ndarray, n_groups: int) -> np.ndarray:
    """The first valid value per participant in file order (-1 when none)."""
    out = np.full(n_groups, -1, dtype=np.int64)
    idx = np.flatnonzero(valid & (codes >= 0))
    if idx.size:
        first = np.full(n_groups, len(codes), dtype=np.int64)
        np.minimum.at(first, codes[idx], idx)
        found = first < len(codes)
        out[found] = values[first[found]]
    return out


def _check_session(checker: _Checker) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    frame = checker.frame
    _missing_column_problems(checker, schema.REQUIRED_SESSION_COLUMNS, list(checker.raw.frame.columns))
    n = len(frame)
    if n == 0:
        return None, None
    index = checker._index()
    typed: dict[str, pd.Series] = {}
    blank_id = np.ones(n, dtype=bool)
    codes = np.full(n, -1, dtype=np.int64)
    n_groups = 0
    participants = None
    if "participant_id" in frame:
        blank_id = checker.participant_blank()
        ids = checker.trimmed("participant_id")
        typed["participant_id"] = _series(ids, index)
        encoded = pc.dictionary_encode(ids.combine_chunks())  # numbered by first appearance, as pd.factorize
        codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(), dtype=np.int64)
        codes = np.where(blank_id, -1, codes)
        participants = (codes, _series(encoded.dictionary).array)
        n_groups = len(encoded.dictionary)

    def consistent(column: str, canonical: np.ndarray, categories: Sequence[str], label: str) -> None:
        if not n_groups:
            return
        first = _first_per_participant(codes, canonical, canonical >= 0, n_groups)
        ok = codes >= 0
        expected = np.where(ok, first[np.where(ok, codes, 0)], -1)
        differs = ok & (canonical >= 0) & (expected >= 0) & (canonical != expected)
        checker.cells(differs, column,
                      lambda idx: [f"{label} must be the same on all of a participant's rows "
                                   f"(this participant's first {label} is {categories[expected[i]]})" for i in idx],
                      f"Correct the {label} on this row so every row of the participant agrees.",
                      f"{column}_inconsistent")

    groups = None
    if "group" in frame:
        coded = checker.groups()
        groups = coded.codes
        consistent("group", groups, _GROUPS, "group")
        typed["group"] = _series(coded.canonical, index)

    if "session_number" in frame:
        parsed = checker.numbers("session_number")
        rule = "session_number must be a whole number of 0 or more"
        values = parsed.values
        finite = ~np.isnan(values)
        checker.cells(parsed.bad, "session_number", rule, "Type the session number as digits (1, 2, 3, ...).",
                      "not_a_number")
        checker.cells(finite & ((np.floor(values) != values) | (values < 0)), "session_number", rule,
                      "Number the sessions 1, 2, 3, ... (0 may be used for an assessment).", "out_of_range")
        checker.cells(parsed.blank, "session_number", "session_number must not be blank",
                      "Fill in the session number, or delete the session_number column so sessions are ordered "
                      "by session_date.", "session_blank")
        typed["session_number"] = pd.Series(values, index=index, copy=False)
    if "session_date" in frame:
        dates, blank, bad = checker.dates("session_date")
        day_first, month_first = _date_orders(checker.trimmed("session_date"), blank, bad)
        checker.cells(bad, "session_date",
                      lambda idx: [_DATE_RULE + (_MONTH_FIRST_RULE if month_first[i] else "") for i in idx],
                      lambda idx: [_MONTH_FIRST_FIX if month_first[i] else _DATE_FIX for i in idx], "date_invalid")
        note = _date_note(checker.name("session_date"), int(day_first.sum()), int(month_first.sum()))
        if note:
            checker.notes.append(note)
        if "session_number" not in frame:
            checker.cells(blank, "session_date", "session_date must not be blank",
                          "Fill in the date of the session (sessions are ordered by it).", "session_blank")
        typed["session_date"] = pd.Series(dates.to_numpy(), index=index, copy=False)
    # One sort of the rows into session order finds repeated sessions (neighbours in that order) and is
    # reused to reduce the sessions to episodes.
    keys = session_keys(typed["session_number"].to_numpy() if "session_number" in typed else None,
                        typed["session_date"].to_numpy() if "session_date" in typed else None)
    order = SessionOrder.of(codes, keys) if keys and n_groups else None
    if order is not None:
        dup = _repeated_sessions(codes, keys[0], order.order)
        if dup.any():
            key_name = "session_number" if "session_number" in frame else "session_date"
            _session_duplicates(checker, dup, codes, keys[0], key_name)

    for measure_key, measure in (("phq9", schema.PHQ9), ("gad7", schema.GAD7), ("wsas", schema.WSAS)):
        if measure_key in frame:
            checker.check_scores(measure_key, measure, required=False, what="at this session")
            typed[measure_key] = pd.Series(checker.numbers(measure_key).values, index=index, copy=False)
    for column in COUNT_COLUMNS:
        if column in frame:
            checker.check_count(column)
            typed[column] = pd.Series(checker.numbers(column).values, index=index, copy=False)
    adsm_codes = np.full(n, -1, dtype=np.int64)
    if "adsm_measure" in frame:
        coded = checker.adsm_codes()
        row_codes = coded.codes
        consistent("adsm_measure", row_codes, [schema.ADSMS[c].label for c in _ADSM_CODES], "adsm_measure")
        first = _first_per_participant(codes, row_codes, row_codes >= 0, n_groups)
        adsm_codes = np.where(codes >= 0, first[np.where(codes >= 0, codes, 0)], row_codes) if n_groups else row_codes
        typed["adsm_measure"] = _series(coded.canonical, index)
    if "adsm" in frame:
        checker.check_adsm_scores("adsm", adsm_codes)
        typed["adsm"] = pd.Series(checker.numbers("adsm").values, index=index, copy=False)

    # Participant-level checks: every participant needs a PHQ-9 and a GAD-7 somewhere.
    if n_groups:
        first_rows = _first_per_participant(codes, checker.rows, np.ones(n, dtype=bool), n_groups)
        for measure_key, measure in (("phq9", schema.PHQ9), ("gad7", schema.GAD7)):
            if measure_key not in frame:
                continue
            present = ~checker.numbers(measure_key).blank & (codes >= 0)
            counts = np.bincount(codes[present], minlength=n_groups)
            lacking = set(first_rows[counts == 0].tolist())
            if lacking:
                mask = np.isin(checker.rows, list(lacking))
                checker.cells(mask, measure_key,
                              f"Each participant needs at least one {measure.label} score: none of this "
                              "participant's sessions has one", f"Add the participant's {measure.label} scores, "
                              "or exclude the participant.", "no_scores", value_column=None)
    if groups is not None:
        checker.check_one_group(groups)
    if schema.SITE_COLUMN in frame:
        typed[schema.SITE_COLUMN] = _check_sites(checker, groups, codes)
    if checker.problems:
        return None, None
    for column in frame.columns:
        if column not in typed:
            typed[column] = checker.text_column(column)
    sessions = pd.DataFrame({c: typed[c] for c in frame.columns}, index=index, copy=False)
    episodes = reduce_sessions(sessions, participants, order)
    count = len(episodes)
    checker.notes.append(f"{n} session rows from {count} participant{'s' if count != 1 else ''} "
                         "were combined into one row per participant (first and last available scores).")
    return sessions, episodes


_DATE_RULE = "session_date must be a date such as 2024-03-31 or 31/03/2024"
_DATE_FIX = "Write the date as YYYY-MM-DD (or DD/MM/YYYY) and check it exists."
_MONTH_FIRST_RULE = (": dates with slashes are read day/month/year (UK order), and this one only makes sense "
                     "month first (US order, e.g. 03/31/2024)")
_MONTH_FIRST_FIX = ("Save the dates day first (DD/MM/YYYY) or as YYYY-MM-DD: in Excel, format the column as a "
                    "date with the English (United Kingdom) locale, then save the file again.")
_SLASHED_RE = r"^(?P<a>\d{1,2})[/.-](?P<b>\d{1,2})[/.-](?:\d{2}|\d{4})(?:[ T].*)?$"


def _date_orders(trimmed: pa.ChunkedArray, blank: np.ndarray, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row masks: (dates written with the day first that were read day/month/year,
    dates that failed and only make sense month first, e.g. 03/31/2024).

    Rule: a date written ``a/b/yyyy`` (or with ``-`` or ``.``) is read day/month/year, as in the UK
    (:data:`DATE_FORMATS`). One that could not be read, whose first number is 1-12 and second 13-31,
    looks like a US (month-first) date.
    """
    parts = pc.extract_regex(trimmed, _SLASHED_RE)
    slashed = _np(pc.is_valid(parts))
    day_first = slashed & ~blank & ~bad
    month_first = np.zeros(len(trimmed), dtype=bool)
    candidates = np.flatnonzero(slashed & bad)
    if candidates.size:
        fields = parts.take(pa.array(candidates)).combine_chunks()
        first = np.asarray(pc.cast(fields.field("a"), pa.int64()).to_numpy(zero_copy_only=False))
        second = np.asarray(pc.cast(fields.field("b"), pa.int64()).to_numpy(zero_copy_only=False))
        month_first[candidates] = (first >= 1) & (first <= 12) & (second >= 13) & (second <= 31)
    return day_first, month_first


def _date_note(column: str, day_first: int, month_first: int) -> str | None:
    """How the session dates were read, said once (None when no date was written with slashes)."""
    if not day_first and not month_first:
        return None
    note = (f"Dates in '{column}' written with slashes were read day/month/year, the UK order "
            f"(03/04/2024 is 3 April 2024): {day_first:,} date{'s' if day_first != 1 else ''} read this way.")
    if month_first:
        many = month_first != 1
        note += (f" {month_first:,} date{'s' if many else ''} only make{'' if many else 's'} sense month first "
                 f"(US order) and {'are listed as problems' if many else 'is listed as a problem'}: check which order the "
                 "column uses.")
    return note


def _repeated_sessions(codes: np.ndarray, key: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Row mask: the participant has another row with the same ``key`` (rows without a key never count).

    ``order`` sorts the rows by participant and then ``key`` (:class:`~analysis.io.SessionOrder`), so the
    rows of one session are neighbours.
    """
    sorted_codes, sorted_key = codes[order], key[order]
    same = (sorted_codes[1:] == sorted_codes[:-1]) & (sorted_key[1:] == sorted_key[:-1])  # NaN never equal
    repeated = np.zeros(len(order), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    dup = np.zeros(len(codes), dtype=bool)
    dup[order[repeated]] = True
    return dup


def _session_duplicates(checker: _Checker, dup: np.ndarray, codes: np.ndarray, key: np.ndarray,
                        key_name: str) -> None:
    positions = np.flatnonzero(dup)
    rows = checker.rows[positions]
    frame = pd.DataFrame({"p": codes[positions], "k": key[positions], "row": rows})
    listed = frame.groupby(["p", "k"])["row"].transform(lambda r: describe_rows(r.tolist(), limit=8))
    by_row = dict(zip(rows.tolist(), listed.tolist(), strict=True))
    checker.cells(dup, key_name,
                  lambda idx: [f"Each participant can have only one row per session: this participant has the "
                               f"same {key_name} on rows {by_row[r]}" for r in checker.rows[idx].tolist()],
                  "Correct the session number or date, or delete the repeated row.", "duplicate_session")


# --- entry points -----------------------------------------------------------------------------


def _sort_problems(problems: list[Problem], column_order: dict[str, int]) -> list[Problem]:
    def key(p: Problem) -> tuple[int, int, int]:
        kind = 0 if p.code == "identifiable" else (1 if p.row is None else 2)
        return kind, p.row if p.row is not None else -1, column_order.get(p.column or "", -1)

    return sorted(problems, key=key)


def validate(raw: RawTable) -> ValidationReport:
    """Check a :class:`~analysis.io.RawTable` against the data contract.

    Rules (every problem in every row and column is collected):

    * identifiable data (see :func:`find_identifiable_columns`) is refused, first;
    * required columns present (episode: ``schema.REQUIRED_EPISODE_COLUMNS``;
      session: ``schema.REQUIRED_SESSION_COLUMNS`` plus ``session_number`` or
      ``session_date``); a column that differs only by capitals, spaces or
      hyphens (``PHQ9 First``) is read as the contract name, with a note;
    * at least one data row; column headings unique; no values beyond the last heading;
    * ``participant_id`` not blank and (episode level) unique;
    * ``group`` physical_activity/control (any capitals, ``PA`` accepted), the
      same on all of a participant's session rows, and both groups present;
    * scores numeric, whole where the measure is, within the measure's range;
      ``phq9_first``/``gad7_first`` not blank (``_last`` may be); ``NA``,
      ``n/a``, ``-`` and similar are read as blank, with a note;
    * ``treatment_sessions``/``pa_sessions`` whole numbers >= 0;
    * ``adsm_measure`` a known code; ADSM scores within that measure's range
      and never without a measure;
    * sessions: ``session_number`` whole >= 0 and filled / ``session_date`` a
      real date; one row per participant per session; each participant has a
      PHQ-9 and a GAD-7 at some session. Sessions are then reduced with
      :func:`analysis.io.reduce_sessions`;
    * ``site`` (optional; several sites): filled for every participant unless blank throughout,
      one site per participant; a site without both groups is named in a note.

    Examples
    --------
    >>> raw = read_table(b"participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last\\n"
    ...                  b"P1,PA,30,,10,\\nP2,control,12,8,9,7\\n", "x.csv")
    >>> [(p.row, p.column, p.value, p.rule) for p in validate(raw).problems]
    [(2, 'phq9_first', '30', 'PHQ-9 must be a whole number from 0 to 27')]
    """
    frame = raw.frame
    column_order = {c: i for i, c in enumerate(frame.columns)}
    notes = list(raw.notes)
    renames, rename_notes = _contract_names([str(c) for c in frame.columns])
    notes.extend(rename_notes)
    working = frame.rename(columns=renames) if renames else frame
    original = {new: old for old, new in renames.items()}
    level = detect_level(working.columns)
    hidden: set[str] = set()  # filled from the identifiable-data scan, before any value is shown
    checker = _Checker(raw, working, original, hidden)
    # The per-column work of the checks (numbers, group and ADSM labels, ids, dates) runs while the
    # identifiable-data scan runs (large files: side by side in worker threads; kept for the checks below).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse") as pool:
        parsing = pool.submit(_in_threads, lambda task: task(), checker.prepare(level or "episode"), len(frame))
        identifying = find_identifiable_columns(frame, raw.row_numbers)
        parsing.result()
    hidden.update(p.column for p in identifying if p.column)
    checker.problems.extend(identifying)

    for name in raw.duplicate_columns:
        checker.file_problem(name, f"The column heading '{name}' appears more than once",
                             "Rename or delete the repeated column so every heading is different.", "duplicate_column")
    if raw.ragged_rows:
        width = frame.shape[1]
        ragged = np.isin(checker.rows, list(raw.ragged_rows))
        checker.cells(ragged, None,
                      lambda idx: [f"This row has values beyond the last column heading "
                                   f"({raw.ragged_rows[r]} values for {width} headings)" for r in
                                   checker.rows[idx].tolist()],
                      "Remove the extra values, or give their column a heading.", "ragged_row")
    if len(frame) == 0:
        checker.file_problem(None, "The file has column headings but no data rows",
                             "Add one row per participant below the headings.", "no_rows")

    episodes = sessions = None
    if level == "session":
        sessions, episodes = _check_session(checker)
    else:
        episodes = _check_episode(checker)
    notes.extend(checker.notes)
    # in file column order (the number columns may have been parsed in worker threads, in any order)
    for column, count in sorted(checker.marker_columns.items(), key=lambda item: column_order.get(item[0], len(column_order))):
        notes.append(f"{count} cell{'s' if count != 1 else ''} in '{column}' said NA, n/a or similar and "
                     f"{'were' if count != 1 else 'was'} read as blank.")
    problems = _sort_problems(checker.problems, column_order)
    if problems:
        episodes = None
        if identifying:
            sessions = None
    return ValidationReport(level=level, problems=problems, episodes=episodes, sessions=sessions, notes=notes,
                            row_count=len(frame))


def _unreadable(error: DataFileError) -> ValidationReport:
    return ValidationReport(level=None, problems=[Problem(None, None, None, error.message, error.fix, "unreadable")])


def _internal(exc: BaseException) -> ValidationReport:
    rule = f"The file could not be checked because of an unexpected error ({type(exc).__name__})."
    return ValidationReport(level=None, problems=[Problem(None, None, None, rule,
                                                          "Save the file as CSV UTF-8 and try again; if it keeps "
                                                          "happening, report it to the dashboard's maintainers.",
                                                          "internal_error")])


def load_bytes(data: bytes, filename: str) -> ValidationReport:
    """Read and validate an uploaded file; never raises for bad input.

    A file that cannot be read at all becomes a single problem (row, column and
    value None; rule = the reason; fix = what to save it as).

    Examples
    --------
    >>> report = load_bytes(b"\\x89PNG\\r\\n\\x1a\\n", "scores.csv")
    >>> report.usable, report.problems[0].rule
    (False, "'scores.csv' is a PNG image, not a data table.")
    """
    try:
        raw = read_table(data, filename)
        return validate(raw)
    except DataFileError as error:
        return _unreadable(error)
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user; code "internal_error" marks it
        return _internal(exc)


def load_path(path: str | Path) -> ValidationReport:
    """Read and validate a file on disk; see :func:`load_bytes`."""
    try:
        raw = read_path(path)
        return validate(raw)
    except DataFileError as error:
        return _unreadable(error)
    except Exception as exc:  # noqa: BLE001 - as in load_bytes
        return _internal(exc)


def apply_mapping(raw: RawTable, columns: dict[str, str], groups: dict[str, str]) -> RawTable:
    """A new RawTable with the user's columns renamed and group labels mapped.

    Parameters
    ----------
    columns : the user's column name -> contract name (``{"Arm": "group"}``).
    groups : the user's group label -> ``physical_activity`` or ``control``
        (``{"Exercise": "physical_activity", "TAU": "control"}``); labels are
        matched after trimming, ignoring capitals. Cells whose label is not in
        ``groups`` are left as they are (validation then judges them).

    Raises
    ------
    ValueError : a mapped column is not in the file, two columns would get
        the same name, or a group maps to something other than the two groups.

    Examples
    --------
    >>> raw = read_table(b"id,Arm\\nP1,Exercise\\nP2,TAU\\n", "x.csv")
    >>> new = apply_mapping(raw, {"id": "participant_id", "Arm": "group"},
    ...                     {"Exercise": "physical_activity", "TAU": "control"})
    >>> new.frame["group"].tolist()
    ['physical_activity', 'control']
    """
    frame = raw.frame
    unknown = [c for c in columns if c not in frame.columns]
    if unknown:
        raise ValueError(f"Columns not in the file: {', '.join(map(str, unknown))}")
    renamed = [columns.get(c, c) for c in frame.columns]
    if len(set(renamed)) != len(renamed):
        clashes = sorted({c for c in renamed if renamed.count(c) > 1})
        raise ValueError(f"More than one column would be called {', '.join(clashes)}")
    notes = list(raw.notes)
    notes.extend(f"The column '{old}' is used as '{new}'." for old, new in columns.items() if old != new)
    new_frame = frame.rename(columns=columns)
    if groups:
        targets = {}
        for label, group in groups.items():
            canonical = schema.normalise_group(group)
            if canonical is None:
                raise ValueError(f"Group labels must map to {' or '.join(schema.GROUPS)}")
            targets[str(label).strip().casefold()] = canonical
        if "group" in new_frame.columns:
            arr = _arrow_text(new_frame["group"])
            mapped = _map_unique(pc.utf8_trim_whitespace(arr), lambda v: targets.get(v.casefold()))
            new_group = pc.if_else(pc.is_null(mapped), arr, mapped)
            new_frame = new_frame.assign(group=_series(new_group, new_frame.index))
            notes.extend(f"The group label '{label}' was read as {targets[str(label).strip().casefold()]}."
                         for label in groups)
    return dataclasses.replace(raw, frame=new_frame, notes=notes,
                               row_numbers=np.asarray(raw.row_numbers).copy())


def exclude_rows(report: ValidationReport, raw: RawTable) -> ValidationReport:
    """Revalidate without the rows that have problems, at the user's explicit request.

    Rules: every file row named by a row-level problem is excluded (for
    session-level input, all rows of a participant with any such row, since
    first/last scores depend on every session). Whole-file problems stay.
    Identifiable data can never be excluded this way: the report is returned
    unchanged apart from a note. The excluded rows are recorded in
    ``excluded_rows`` and in ``notes`` so every page can show them.

    Examples
    --------
    >>> raw = read_table(b"participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last\\n"
    ...                  b"P1,pa,30,,10,\\nP2,control,12,8,9,7\\nP3,pa,14,9,12,6\\n", "x.csv")
    >>> report = exclude_rows(validate(raw), raw)
    >>> report.usable, report.excluded_rows
    (True, [2])
    """
    if report.identifiable:
        note = ("Rows cannot be excluded while the file contains identifiable data: remove the identifying "
                "columns from the file and upload it again.")
        return dataclasses.replace(report, notes=[*report.notes, note])
    bad_rows = set(report.row_problem_rows)
    if not bad_rows:
        return report
    row_numbers = np.asarray(raw.row_numbers, dtype=np.int64)
    drop = np.isin(row_numbers, list(bad_rows))
    participant_note = ""
    if report.level == "session" and "participant_id" in raw.frame.columns:
        ids = raw.frame["participant_id"].str.strip()
        affected = set(ids[drop].dropna().tolist()) - {""}
        if affected:
            before = int(drop.sum())
            drop |= ids.isin(affected).to_numpy()
            if drop.sum() > before:
                participant_note = " (all sessions of each participant concerned)"
    excluded = row_numbers[drop].tolist()
    kept = dataclasses.replace(raw, frame=raw.frame.loc[~drop].reset_index(drop=True),
                               row_numbers=row_numbers[~drop], notes=list(raw.notes))
    new_report = validate(kept)
    all_excluded = sorted(set(report.excluded_rows) | set(excluded))
    n = len(excluded)
    new_report.notes.insert(0, f"{n} row{'s were' if n != 1 else ' was'} excluded at your request because "
                               f"{'they' if n != 1 else 'it'} had problems{participant_note}: "
                               f"row{'s' if n != 1 else ''} {describe_rows(excluded, limit=20)}.")
    new_report.excluded_rows = all_excluded
    return new_report
