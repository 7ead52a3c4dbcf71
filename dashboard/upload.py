"""One session's upload: read, check, map, exclude rows on request, then use it everywhere.

The Data page calls these functions; they keep everything in this user's
``st.session_state`` only:

* the file's bytes and the table read from them live in the session's
  :class:`UploadAttempt` (never on disk, in a module global, a shared cache or a log);
* a file with identifiable data is refused before anything from it is shown or
  analysed, and its bytes and table are dropped at once (only the report naming the
  columns is kept), and the upload widget is reset so it lets go of the file too;
* a file that is valid as uploaded (columns and group labels already match) becomes
  the data of every page at once (:func:`dashboard.state.use_upload`), with no click;
* a file with problems is not analysed until it is fixed, mapped, or the user
  explicitly excludes the rows with problems (:func:`exclude_problem_rows`).

:func:`process_upload` is the pure part (no Streamlit state) and is tested directly;
:func:`handle_upload` stores its result in the session and switches the data.
Functions that change widget-bound state (the data-source radio) run as widget
callbacks, before the script reruns, as Streamlit requires.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field

import streamlit as st

from analysis.io import DataFileError, RawTable, read_table
from analysis.mapping import (
    MappingFileError,
    SavedMapping,
    guess_level,
    mapping_for_columns,
    mapping_from_json,
    suggest_columns,
    suggested_mapping,
)
from analysis.validate import Problem, ValidationReport, apply_mapping, exclude_rows, validate
from dashboard import state

ATTEMPT_KEY = "upload_attempt"  # session_state: this session's UploadAttempt
MAPPING_KEY = "upload_mapping"  # session_state: the mapping confirmed in this session (SavedMapping)
MAPPING_MESSAGE_KEY = "upload_mapping_message"  # session_state: (kind, text) about the last mapping file
PROBLEMS_MEMO_KEY = "_upload_problems_memo"  # session_state: the Data page's problems table and its downloads
_UPLOADER_COUNTER_KEY = "_upload_widget_generation"

UNREADABLE = "unreadable"
REFUSED = "refused"
PROBLEMS = "problems"
READY = "ready"
DATA_FILE_TYPES = ["csv", "txt", "tsv", "xlsx", "xlsm", "xls", "parquet"]


@dataclass(frozen=True)
class UploadAttempt:
    """The latest file uploaded in this session and what checking it found.

    Attributes
    ----------
    name : the file name as uploaded (user text: show it with ``st.text``).
    digest : SHA-256 of the bytes (identifies the upload; not secret).
    status : ``"unreadable"``, ``"refused"`` (identifiable data), ``"problems"`` or ``"ready"``.
    report : the validation report of the file as mapped (only the identifiable-data
        problems when refused).
    content, raw : the bytes and the table as read; None when refused or unreadable.
    mapping : the column/group mapping applied (empty when none).
    mapping_error : why the last mapping could not be applied, or None.
    level : the layout used to offer mapping targets (``"episode"``/``"session"``).
    suggestions : file column -> suggested contract column (or None).
    """

    name: str
    digest: str
    status: str
    report: ValidationReport = field(repr=False)
    content: bytes | None = field(default=None, repr=False)
    raw: RawTable | None = field(default=None, repr=False)
    mapping: SavedMapping = field(default_factory=SavedMapping)
    mapping_error: str | None = None
    level: str = "episode"
    suggestions: dict[str, str | None] = field(default_factory=dict)
    preview: ValidationReport | None = field(default=None, repr=False)
    preview_mapping: SavedMapping | None = None

    @property
    def columns(self) -> list[str]:
        return [] if self.raw is None else [str(c) for c in self.raw.frame.columns]

    @property
    def needs_mapping(self) -> bool:
        """True when columns are missing or group labels are not recognised."""
        codes = {p.code for p in self.report.problems}
        return self.status == PROBLEMS and bool(codes & {"missing_column", "group_unknown", "one_group"})

    @property
    def lead_with_mapping(self) -> bool:
        """True when columns or group labels are still unmatched: the Data page then leads with the
        mapping, and the file is judged as it will be mapped (:attr:`preview`), not as it is named.
        False when nothing could be matched for the user (no preview): then the missing columns are the news."""
        codes = {p.code for p in self.report.problems}
        return self.status == PROBLEMS and bool(codes & {"missing_column", "group_unknown"}) and self.preview is not None

    @property
    def can_exclude(self) -> bool:
        """True when every problem belongs to a row, so excluding those rows could make the file usable."""
        problems = self.report.problems
        return (self.status == PROBLEMS and self.raw is not None and bool(problems)
                and all(p.row is not None for p in problems))


def _failed(name: str, digest: str, rule: str, fix: str, code: str) -> UploadAttempt:
    report = ValidationReport(level=None, problems=[Problem(None, None, None, rule, fix, code)])
    return UploadAttempt(name=name, digest=digest, status=UNREADABLE, report=report)


def _refused(name: str, digest: str, report: ValidationReport) -> UploadAttempt:
    """Keep only the identifiable-data problems; drop the bytes and the table."""
    kept = ValidationReport(level=None, problems=[p for p in report.problems if p.code == "identifiable"],
                            row_count=report.row_count)
    return UploadAttempt(name=name, digest=digest, status=REFUSED, report=kept)


def _checked(attempt: UploadAttempt, mapping: SavedMapping) -> UploadAttempt:
    """Validate the attempt's table with ``mapping`` applied (the table itself is never changed)."""
    assert attempt.raw is not None
    raw = attempt.raw
    if not mapping.empty:
        try:
            raw = apply_mapping(raw, mapping.columns, mapping.groups)
        except ValueError as error:
            return dataclasses.replace(attempt, mapping_error=str(error))
    report = validate(raw)
    if report.identifiable:
        return _refused(attempt.name, attempt.digest, report)
    status = READY if report.usable else PROBLEMS
    return dataclasses.replace(attempt, status=status, report=report, mapping=mapping, mapping_error=None)


def with_preview(attempt: UploadAttempt) -> UploadAttempt:
    """The attempt with :attr:`UploadAttempt.preview`: its validation with the suggested mapping applied
    (:func:`analysis.mapping.suggested_mapping`), when columns or labels are still unmatched.

    So the page can say what is wrong with the file *as the mapping will use it*, instead of listing
    every column the file names its own way as an error.
    """
    codes = {p.code for p in attempt.report.problems}
    if attempt.status != PROBLEMS or not codes & {"missing_column", "group_unknown"} or attempt.raw is None:
        return dataclasses.replace(attempt, preview=None, preview_mapping=None)
    raw = attempt.raw
    if not attempt.mapping.empty:
        try:
            raw = apply_mapping(raw, attempt.mapping.columns, attempt.mapping.groups)
        except ValueError:
            return dataclasses.replace(attempt, preview=None, preview_mapping=None)
    suggested = suggested_mapping(raw.frame, attempt.mapping.level or attempt.level)
    try:
        preview = validate(apply_mapping(raw, suggested.columns, suggested.groups)) if not suggested.empty else None
    except ValueError:
        preview = None
    return dataclasses.replace(attempt, preview=preview, preview_mapping=suggested if preview is not None else None)


def column_names_in_file(attempt: UploadAttempt, report: ValidationReport | None = None) -> dict[str, str]:
    """{column as validation names it: the file's own column} for a report of the mapped file, so a
    problem can name the column the person will look for (``PHQ9 Start``, read as ``phq9_first``)."""
    renames = dict(attempt.mapping.columns)
    if report is not None and report is attempt.preview and attempt.preview_mapping is not None:
        renames.update(attempt.preview_mapping.columns)
    return {target: source for source, target in renames.items() if source != target}


def process_upload(name: str, content: bytes, remembered: SavedMapping | None = None,
                   header_row: int | None = None) -> UploadAttempt:
    """Read and check an uploaded file; never raises for bad input.

    Identifiable data is looked for in the file *as uploaded* (before any mapping renames a
    column), so ``Surname`` mapped to ``participant_id`` is still refused. A file that is
    valid as it is is used as it is; otherwise the part of ``remembered`` (the mapping
    confirmed earlier in this session) that fits the file's columns is applied. ``header_row``: the
    row of the column headings the user chose (None: found by :func:`analysis.io.read_table`).
    """
    name = str(name)
    digest = hashlib.sha256(content).hexdigest()
    try:
        raw = read_table(content, name, header_row)
        report = validate(raw)
    except DataFileError as error:
        return _failed(name, digest, error.message, error.fix, "unreadable")
    except Exception as exc:  # noqa: BLE001 - the user gets a reason, never a traceback
        return _failed(name, digest, f"The file could not be checked because of an unexpected error "
                                     f"({type(exc).__name__}).",
                       "Save the file as CSV UTF-8 and try again; if it keeps happening, report it to the "
                       "dashboard's maintainers.", "internal_error")
    if report.identifiable:
        return _refused(name, digest, report)
    columns = [str(c) for c in raw.frame.columns]
    level = guess_level(columns)
    attempt = UploadAttempt(name=name, digest=digest, status=READY if report.usable else PROBLEMS, report=report,
                            content=content, raw=raw, level=level, suggestions=suggest_columns(columns, level))
    if report.usable or remembered is None:
        return attempt
    mapping = _labels_in_file(mapping_for_columns(remembered, columns), raw)
    if mapping.empty:
        return attempt
    remapped = _checked(attempt, mapping)
    return remapped if remapped.mapping_error is None else attempt


def _labels_in_file(mapping: SavedMapping, raw: RawTable) -> SavedMapping:
    """The mapping without group labels that do not occur in the file's group column."""
    if not mapping.groups:
        return mapping
    group_column = next((source for source, target in mapping.columns.items() if target == "group"), "group")
    if group_column not in raw.frame.columns:
        return dataclasses.replace(mapping, groups={})
    present = {str(v).strip().casefold() for v in raw.frame[group_column].dropna().unique()}
    return dataclasses.replace(mapping, groups={label: group for label, group in mapping.groups.items()
                                                if label.strip().casefold() in present})


def remap(attempt: UploadAttempt, mapping: SavedMapping) -> UploadAttempt:
    """The attempt re-checked with a new mapping (``mapping_error`` set when it cannot apply)."""
    if attempt.raw is None:
        return attempt
    return _checked(dataclasses.replace(attempt, level=mapping.level or attempt.level), mapping)


def excluded(attempt: UploadAttempt) -> UploadAttempt:
    """The attempt re-checked without the rows that have problems (see :func:`analysis.validate.exclude_rows`)."""
    if not attempt.can_exclude or attempt.raw is None:
        return attempt
    raw = attempt.raw
    if not attempt.mapping.empty:
        raw = apply_mapping(raw, attempt.mapping.columns, attempt.mapping.groups)
    report = exclude_rows(attempt.report, raw)
    return dataclasses.replace(attempt, report=report, status=READY if report.usable else PROBLEMS)


# --- session state (call from the Data page or its widget callbacks) ---------------------------


def current_attempt() -> UploadAttempt | None:
    return st.session_state.get(ATTEMPT_KEY)


def remembered_mapping() -> SavedMapping | None:
    return st.session_state.get(MAPPING_KEY)


def uploader_key() -> str:
    """The upload widget's key; it changes (emptying the widget) after a file is refused."""
    return f"upload_file_{st.session_state.get(_UPLOADER_COUNTER_KEY, 0)}"


def _reset_uploader() -> None:
    st.session_state[_UPLOADER_COUNTER_KEY] = st.session_state.get(_UPLOADER_COUNTER_KEY, 0) + 1


def _store(attempt: UploadAttempt) -> UploadAttempt:
    """Keep the attempt in this session; a usable one becomes the data of every page."""
    attempt = with_preview(attempt)
    st.session_state[ATTEMPT_KEY] = attempt
    st.session_state.pop(PROBLEMS_MEMO_KEY, None)
    if attempt.status == READY and attempt.content is not None:
        dataset = state.make_upload_dataset(attempt.name, attempt.content, attempt.report,
                                            excluded_rows=tuple(attempt.report.excluded_rows))
        state.use_upload(dataset)
    elif attempt.status == REFUSED:
        _reset_uploader()
    return attempt


def handle_upload(name: str, content: bytes, header_row: int | None = None) -> UploadAttempt:
    """Check a newly uploaded file and update this session (see :func:`process_upload`)."""
    return _store(process_upload(name, content, remembered_mapping(), header_row))


def reread_with_header(header_row: int) -> None:
    """Callback: read the current upload again with its column headings on ``header_row``."""
    attempt = current_attempt()
    if attempt is not None and attempt.content is not None:
        handle_upload(attempt.name, attempt.content, int(header_row))


def on_file_change() -> None:
    """Callback of the upload widget: handle the file just chosen (removing it changes nothing)."""
    uploaded = st.session_state.get(uploader_key())
    if uploaded is None:
        return
    handle_upload(uploaded.name, uploaded.getvalue())


def apply_user_mapping(mapping: SavedMapping) -> UploadAttempt | None:
    """Re-check the current upload with a mapping the user confirmed, and remember the mapping."""
    attempt = current_attempt()
    if attempt is None:
        return None
    new = remap(attempt, mapping)
    if new.mapping_error is None:
        st.session_state[MAPPING_KEY] = mapping
    return _store(new)


def mapping_failed(message: str) -> None:
    """Record why the mapping the user chose cannot be applied (shown on the Data page)."""
    attempt = current_attempt()
    if attempt is not None:
        st.session_state[ATTEMPT_KEY] = dataclasses.replace(attempt, mapping_error=message)


def on_mapping_file() -> None:
    """Callback of the mapping-file widget: read it, remember it, re-check the current upload."""
    uploaded = st.session_state.get("mapping_file")
    if uploaded is None:
        return
    try:
        mapping = mapping_from_json(uploaded.getvalue())
    except MappingFileError as error:
        st.session_state[MAPPING_MESSAGE_KEY] = ("error", str(error))
        return
    st.session_state[MAPPING_KEY] = mapping
    st.session_state[MAPPING_MESSAGE_KEY] = ("ok", "Mapping loaded: it is used for files you upload in this "
                                                   "session whose columns it fits.")
    attempt = current_attempt()
    if attempt is not None and attempt.raw is not None and attempt.status != READY:
        fitted = _labels_in_file(mapping_for_columns(mapping, attempt.columns), attempt.raw)
        if not fitted.empty:
            _store(remap(attempt, fitted))


def exclude_problem_rows() -> None:
    """Callback of the exclude button: use the file without its problem rows (shown on every page)."""
    attempt = current_attempt()
    if attempt is not None:
        _store(excluded(attempt))


def show_upload() -> None:
    """Callback: show this session's upload again after returning to the sample."""
    if st.session_state.get(state.UPLOAD_KEY) is not None:
        st.session_state[state.SOURCE_KEY] = "upload"


def forget() -> None:
    """Callback: drop the upload (bytes, table, report, dataset) from this session."""
    for key in (ATTEMPT_KEY, PROBLEMS_MEMO_KEY):
        st.session_state.pop(key, None)
    state.forget_upload()
    _reset_uploader()
