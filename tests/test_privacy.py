"""Privacy and disclosure control across the app (issue 5).

* text from a file is shown as text, never Markdown/HTML, on every page;
* identifiable data is refused before anything from the file is shown;
* an upload lives only in its own session: not on disk, not in a shared cache or module
  global, not in the logs, not in another session;
* every CSV/XLSX the app writes neutralises spreadsheet formulas;
* the optional passcode;
* presentation-safe mode on every page (tests/test_disclosure.py tests the rules themselves).
"""

from __future__ import annotations

import ast
import builtins
import csv
import dataclasses
import io
import logging
import os
import pathlib
import re
import sys
import time
import types
import uuid
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from analysis.disclosure import SAFE_MODE_NOTE
from analysis.export import FORMULA_PREFIXES, neutralise_formulas, table_to_csv_bytes, table_to_xlsx_bytes
from dashboard import access, state, ui
from dashboard import upload as up
from tests.apptest_support import deferred_download, every_expander_open, record_media_files

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
BAD, UPLOAD = ROOT / "tests" / "data" / "bad", ROOT / "tests" / "data" / "upload"
DATA_PAGE = "pages/data.py"

HEADER = "participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last,treatment_sessions,gender"
MARKUP = ("<script>alert(1)</script>", "**x**", "[link](javascript:alert(1))", "<b>bold</b>")
# Element types whose body Streamlit renders as Markdown.
MARKDOWN_TYPES = {"markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success",
                  "toast", "exception", "latex"}


# --- helpers ------------------------------------------------------------------------------------------


def app_pages() -> list[str]:
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    return [node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page" and node.args
            and isinstance(node.args[0], ast.Constant)]


def uses_data(page: str) -> bool:
    """Pages that show the outcome data read it through ``state.context()`` (the survey page does not)."""
    return "state.context()" in (ROOT / page).read_text(encoding="utf-8")


def new_session(safe: bool = False) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in every_expander_open().items():  # what a page draws only while an expander is open: checked too
        at.session_state[key] = value
    if safe:
        at.session_state[state.SAFE_KEY] = True
    at.run()
    at.switch_page(DATA_PAGE).run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    next(u for u in at.file_uploader if u.label.startswith("CSV, Excel")).set_value((name, content, "text/csv"))
    at.run()
    assert not at.exception
    return at


def nodes(at: AppTest):
    """Every element of the last run (main area and sidebar), depth first."""
    stack = [at.main, at.sidebar]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(getattr(node, "children", {}).values())


def markdown_strings(at: AppTest, radio_options: bool = True) -> list[str]:
    """Every string Streamlit renders as Markdown: element bodies, labels, help texts, radio options."""
    out: list[str] = []
    for node in nodes(at):
        kind = getattr(node, "type", "")
        if kind in MARKDOWN_TYPES:
            out.append(str(node.value))
        for attribute in ("label", "help"):
            value = getattr(node, attribute, None)
            if isinstance(value, str):
                out.append(value)
        if kind == "radio" and radio_options:
            out.extend(str(option) for option in node.options)
    return out


def all_strings(at: AppTest) -> list[str]:
    """Everything shown as text anywhere, including table cells and select options."""
    out = list(markdown_strings(at))
    for node in nodes(at):
        value = getattr(node, "value", None) if getattr(node, "type", "") not in {"file_uploader"} else None
        if isinstance(value, str | int | float):
            out.append(str(value))
        elif isinstance(value, pd.DataFrame):
            out.extend(value.astype(str).to_numpy().ravel().tolist())
            out.extend(map(str, value.columns))
        for option in getattr(node, "options", []) or []:
            out.append(str(option))
    return [str(s) for s in out]


def valid_csv(ids: list[str], genders: list[str] | None = None) -> bytes:
    """A valid episode file with the given ids (alternating groups)."""
    scores = ["15,8,12,6,8", "18,14,13,11,6", "11,6,9,5,4", "20,9,16,7,10", "14,5,10,4,7", "12,12,9,10,5"]
    genders = genders or ["F", "M"] * 3
    rows = [f'"{i.replace(chr(34), chr(34) * 2)}",{"physical_activity" if n % 2 == 0 else "control"},'
            f'{scores[n % 6]},"{genders[n % len(genders)]}"' for n, i in enumerate(ids)]
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


# --- text from the file is shown as text ----------------------------------------------------------------


def test_markup_in_ids_labels_and_file_name_never_reaches_markdown_on_any_page():
    content = (UPLOAD / "markup_ids.csv").read_bytes()
    name = "**report** <i>q3</i>.csv"
    at = upload(new_session(), name, content)
    shown_as_text = set()
    for page in app_pages():
        at.switch_page(page).run()
        assert not at.exception, page
        rendered = "\n".join(markdown_strings(at))
        assert not [m for m in MARKUP if m in rendered], page
        # the file name: checked everywhere, the sidebar's radio options included
        rendered = "\n".join(markdown_strings(at))
        assert "**report**" not in rendered and "<i>q3</i>" not in rendered, page
        shown_as_text.update(m for m in MARKUP if any(m in s for s in all_strings(at)))
    # ... while they are still shown, literally, as text (tables, select options, st.text).
    assert shown_as_text == set(MARKUP)
    at.switch_page(DATA_PAGE).run()
    preview = next(d.value for d in at.dataframe if "participant_id" in d.value.columns)
    assert "<script>alert(1)</script>" in preview["participant_id"].tolist()
    assert name in [t.value for t in at.text]


def test_markup_labels_are_plain_select_options_in_the_sidebar():
    at = upload(new_session(), "ids.csv", (UPLOAD / "markup_ids.csv").read_bytes())
    gender = next(m for m in at.sidebar.multiselect if m.key == state.FILTER_PREFIX + "gender")
    assert "<b>bold</b>" in gender.options and "**x**" in gender.options  # select options: shown as text
    rendered = "\n".join(markdown_strings(at))
    assert not [m for m in MARKUP if m in rendered]


def test_file_name_is_not_markdown_in_the_sidebar():
    at = upload(new_session(), "**report**.csv", (UPLOAD / "small_groups.csv").read_bytes())
    assert at.sidebar.radio(key=state.SOURCE_KEY)
    assert not any("**report**" in s for s in markdown_strings(at))


# --- identifiable data ------------------------------------------------------------------------------------

IDENTIFYING = {"nhs_numbers.csv": "participant_id", "email.csv": "contact", "postcode.csv": "area",
               "phone.csv": "contact_no", "dob.csv": "born", "name_column.csv": "Name"}


@pytest.mark.parametrize(("name", "column"), IDENTIFYING.items())
def test_identifiable_file_is_refused_naming_the_column_before_anything_is_shown(name, column):
    content = (BAD / name).read_bytes()
    at = upload(new_session(), name, content)
    values = pd.read_csv(io.BytesIO(content), dtype=str)[column].dropna().tolist()
    for page in [DATA_PAGE, *[p for p in app_pages() if p != DATA_PAGE]]:
        at.switch_page(page).run()
        assert not at.exception
        shown = "\n".join(all_strings(at))
        assert not [v for v in values if v in shown], page
    at.switch_page(DATA_PAGE).run()
    table = next(d.value for d in [*at.table, *at.dataframe] if "Problem" in d.value.columns)
    assert table["Column"].tolist() == [column]
    assert table["Value"].str.startswith("(hidden").all()
    assert f"The column '{column}'" in table["Problem"].iloc[0]
    # nothing from the file is kept, previewed or analysed
    attempt = at.session_state[up.ATTEMPT_KEY]
    assert attempt.content is None and attempt.raw is None
    assert state.UPLOAD_KEY not in at.session_state
    assert not [d for d in at.dataframe if "Problem" not in d.value.columns and "meaning" not in d.value.columns]


# --- the upload stays in its session ---------------------------------------------------------------------


def _marker() -> str:
    return "QZMARK" + uuid.uuid4().hex[:12].upper()


def _full_session(marker: str) -> AppTest:
    """Upload a file (needing a mapping) carrying the marker, map it, visit every page, forget nothing."""
    content = valid_csv([f"{marker}-{n}" for n in range(6)]).replace(b"participant_id,group", b"Client ID,Arm")
    content = content.replace(b"physical_activity", b"Exercise").replace(b",control,", b",TAU,")
    at = upload(new_session(), f"{marker}.csv", content)
    next(b for b in at.button if b.label == "Use these columns").click().run()
    assert not at.exception
    assert at.session_state[state.UPLOAD_KEY].episodes["participant_id"].iloc[0] == f"{marker}-0"
    for page in app_pages():
        at.switch_page(page).run()
        assert not at.exception, page
    at.switch_page(DATA_PAGE).run()
    return at


def test_a_second_session_never_sees_the_first_sessions_upload():
    marker = _marker()
    first = _full_session(marker)
    second = new_session()
    assert state.UPLOAD_KEY not in second.session_state and up.ATTEMPT_KEY not in second.session_state
    for page in app_pages():
        second.switch_page(page).run()
        assert not second.exception
        assert not any(marker in s for s in all_strings(second)), page
        if uses_data(page):
            assert any("bundled synthetic sample" in i.value for i in second.info), page
    assert first.session_state[state.UPLOAD_KEY].name == f"{marker}.csv"  # the first still has its own


def _called_from_openpyxl_temporary_file() -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "create_temporary_file" and "openpyxl" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


class _WriteGuard:
    """Makes every attempt to open a file for writing fail, and records it."""

    def __init__(self) -> None:
        self.attempts: list[str] = []
        self.openpyxl_temporary_files = 0
        self._saved: list[tuple[object, str, object]] = []

    def _patch(self, owner: object, name: str, replacement: object) -> None:
        self._saved.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    def __enter__(self) -> _WriteGuard:
        real_open, real_os_open = builtins.open, os.open
        write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

        def guarded_open(file, mode="r", *args, **kwargs):
            if any(ch in str(mode) for ch in "wax+") and _called_from_openpyxl_temporary_file():
                self.openpyxl_temporary_files += 1  # see test_xlsx_is_built_without_temporary_files
                return real_open(file, mode, *args, **kwargs)
            if any(ch in str(mode) for ch in "wax+"):
                self.attempts.append(f"open({file!r}, {mode!r})")
                raise PermissionError(f"write blocked in test: {file}")
            return real_open(file, mode, *args, **kwargs)

        def guarded_os_open(path, flags, *args, **kwargs):
            if flags & write_flags and _called_from_openpyxl_temporary_file():
                self.openpyxl_temporary_files += 1
                return real_os_open(path, flags, *args, **kwargs)
            if flags & write_flags:
                self.attempts.append(f"os.open({path!r})")
                raise PermissionError(f"write blocked in test: {path}")
            return real_os_open(path, flags, *args, **kwargs)

        def blocked(method):
            def guarded(path_self, *args, **kwargs):
                self.attempts.append(f"{method}({path_self})")
                raise PermissionError(f"write blocked in test: {path_self}")
            return guarded

        self._patch(builtins, "open", guarded_open)
        self._patch(io, "open", guarded_open)
        self._patch(os, "open", guarded_os_open)
        for method in ("write_text", "write_bytes", "touch", "mkdir"):
            self._patch(pathlib.Path, method, blocked(method))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)


def test_xlsx_is_built_without_temporary_files():
    with _WriteGuard() as guard:
        table_to_xlsx_bytes(pd.DataFrame({"participant_id": ["P1"], "group": ["control"]}))
    assert guard.attempts == [] and guard.openpyxl_temporary_files == 0


def _files_changed_since(start: float, roots: list[Path]):
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in {".git", "proc", "node_modules"}]
            for name in files:
                path = Path(folder) / name
                try:
                    info = path.stat()
                except OSError:
                    continue
                if info.st_mtime >= start and info.st_size < 50_000_000 and path.is_file():
                    yield path


def test_nothing_from_an_upload_is_written_to_disk_or_logged(caplog, capfd):
    new_session()  # warm up: imports and the sample's cache, outside the guarded window
    marker = _marker()
    start = time.time() - 1
    caplog.set_level(logging.DEBUG)
    with _WriteGuard() as guard:
        at = _full_session(marker)
        for button in [b for b in at.get("download_button")]:
            assert button.label  # downloads are served from memory (the media file manager)
    assert guard.attempts == [], guard.attempts
    assert not at.exception
    out, err = capfd.readouterr()
    assert marker not in out and marker not in err
    assert marker not in caplog.text
    needle = marker.encode()
    on_disk = [p for p in _files_changed_since(start, [ROOT, Path("/tmp"), Path.home()])
               if needle in p.read_bytes()]
    assert on_disk == []


def test_a_chart_saved_as_svg_leaves_nothing_from_the_upload_on_disk_or_in_the_logs(monkeypatch, caplog, capfd,
                                                                                     svg_chromium):
    """The SVG download of a chart drawn from an upload (kaleido + a headless Chromium on the server).

    The upload's text is in the SVG (the check is real), and in no file written meanwhile: not in
    kaleido's page or Chromium's profile (read just before their temporary folders are removed),
    nor anywhere under the repo, /tmp or home afterwards; nor in any log, at any level.
    """
    from choreographer.utils import TmpDirectory

    from analysis.figures import svg

    record_media_files(monkeypatch)
    marker = _marker()
    at = upload(new_session(), f"{marker}.csv", valid_csv([f"P{n}" for n in range(6)], [f"{marker}-F", f"{marker}-M"]))
    at.switch_page("pages/who_benefits.py").run()
    assert not at.exception
    svg_downloads = [deferred_download(b) for b in at.get("download_button") if b.proto.label == ui.SVG_BUTTON]
    build = next(build for name, _, build in svg_downloads if name == "subgroups-gender-recovery.svg")

    needle = marker.encode()
    scanned: list[Path] = []
    holding_marker: list[Path] = []
    real_clean = TmpDirectory.clean

    def read_then_clean(self, *args, **kwargs):
        for path in Path(self.path).rglob("*"):
            if path.is_file() and not path.is_symlink():
                scanned.append(path)
                if needle in path.read_bytes():
                    holding_marker.append(path)
        return real_clean(self, *args, **kwargs)

    monkeypatch.setattr(TmpDirectory, "clean", read_then_clean)
    caplog.set_level(1)  # everything, below DEBUG too
    start = time.time() - 1
    drawn = build()
    assert needle in drawn and drawn.startswith(b"<svg class=\"main-svg\"")  # the chart, with the upload's labels
    assert any(p.name == "index.html" for p in scanned)  # kaleido's page was read before its removal ...
    assert any(p.parent.name == "Default" for p in scanned)  # ... and Chromium's profile
    assert holding_marker == []
    assert [p for p in scanned if p.exists()] == []  # both temporary folders are gone
    out, err = capfd.readouterr()
    assert marker not in out and marker not in err
    assert marker not in caplog.text
    on_disk = [p for p in _files_changed_since(start, [ROOT, Path("/tmp"), Path.home()]) if needle in p.read_bytes()]
    assert on_disk == []
    assert svg.svg_browser() is not None  # drawn by the real browser, not the fallback message


def _contains(value: object, needle: str, depth: int = 0, seen: set[int] | None = None) -> bool:
    """Whether ``needle`` occurs anywhere inside ``value`` (containers, frames, dataclasses, objects)."""
    seen = set() if seen is None else seen
    if depth > 8 or id(value) in seen:
        return False
    seen.add(id(value))
    if isinstance(value, str):
        return needle in value
    if isinstance(value, bytes | bytearray):
        return needle.encode() in value
    if isinstance(value, pd.DataFrame | pd.Series):
        return needle in value.to_string()
    if isinstance(value, dict):
        return any(_contains(k, needle, depth + 1, seen) or _contains(v, needle, depth + 1, seen)
                   for k, v in list(value.items()))  # a copy: other threads may change a live dict meanwhile
    if isinstance(value, list | tuple | set | frozenset):
        return any(_contains(v, needle, depth + 1, seen) for v in list(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_contains(getattr(value, f.name), needle, depth + 1, seen) for f in dataclasses.fields(value))
    if isinstance(value, types.ModuleType):  # our own modules are scanned one by one; others are not ours
        return False
    try:
        inner = getattr(value, "__dict__", None)
    except Exception:  # a context-bound proxy (e.g. a web framework's current_app) outside its context
        return False
    return isinstance(inner, dict) and not isinstance(value, type) and _contains(inner, needle, depth + 1, seen)


def test_an_upload_is_in_no_shared_cache_or_module_global():
    from streamlit.runtime.caching import cache_data_api, cache_resource_api

    marker = _marker()
    at = _full_session(marker)
    assert _contains(at.session_state[state.UPLOAD_KEY], marker)  # it is in the session (the check works)
    assert _contains(at.session_state[up.ATTEMPT_KEY], marker)
    assert not _contains(cache_data_api._data_caches._function_caches, marker)
    assert not _contains(cache_resource_api._resource_caches._function_caches, marker)
    ours = [m for name, m in sys.modules.items() if name.split(".")[0] in {"analysis", "dashboard", "pages"}]
    assert ours
    for module in ours:
        for name, value in vars(module).items():
            if not name.startswith("__"):
                assert not _contains(value, marker), f"{module.__name__}.{name}"


# --- formulas in files the app writes ---------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://example.com","click")', "+1", "-2", "@x", "=1+1", "\t=cmd", "=cmd\n2"]


def test_formula_cells_round_trip_as_text_in_csv_and_xlsx():
    frame = pd.DataFrame({"text": FORMULAS, "number": [-2, 1, 3, -4.5, 0, 7, 8],
                          "=sum(A1)": ["a", "b", "c", "d", "e", "f", "g"]})
    back = pd.read_csv(io.BytesIO(table_to_csv_bytes(frame)), dtype=str, keep_default_na=False)
    assert back["text"].tolist() == ["'" + f for f in FORMULAS]
    assert back["number"].tolist() == ["-2.0", "1.0", "3.0", "-4.5", "0.0", "7.0", "8.0"]  # numbers stay numbers
    assert "'=sum(A1)" in back.columns  # headings too
    sheet = openpyxl.load_workbook(io.BytesIO(table_to_xlsx_bytes(frame))).active
    texts = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert texts == ["'" + f for f in FORMULAS]
    assert all(cell.data_type == "s" for cell in sheet["A"][1:])  # stored as text, never as a formula
    assert [c.value for c in sheet["B"][1:]] == [-2, 1, 3, -4.5, 0, 7, 8]
    assert sheet["C"][0].value == "'=sum(A1)"
    untouched = neutralise_formulas(pd.DataFrame({"x": ["plain", "P001", None]}))["x"]
    assert untouched.iloc[:2].tolist() == ["plain", "P001"] and pd.isna(untouched.iloc[2])


def test_a_cell_with_a_carriage_return_stays_one_cell():
    frame = pd.DataFrame({"text": ["\r=cmd", "a\rb"], "n": [1, 2]})
    rows = list(csv.reader(io.StringIO(table_to_csv_bytes(frame).decode("utf-8-sig"), newline="")))
    assert rows == [["text", "n"], ["'\r=cmd", "1"], ["a\rb", "2"]]


@pytest.fixture
def downloads(monkeypatch):
    """Every file the app hands to the browser in this test: (file name, bytes)."""
    captured: list[tuple[str, bytes]] = []
    real = MemoryMediaFileStorage.load_and_get_id

    def capture(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, bytes | bytearray):
            captured.append((filename or "", bytes(path_or_data)))
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", capture)
    return captured


def _unsafe_cells(name: str, data: bytes) -> list[str]:
    """Text cells of a CSV/XLSX download that a spreadsheet would run as a formula."""
    def looks_numeric(text: str) -> bool:
        try:
            float(text.replace(",", ""))
            return True
        except ValueError:
            return False

    bad: list[str] = []
    if name.endswith(".csv"):
        for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))):
            bad.extend(c for c in row if c.startswith(FORMULA_PREFIXES) and not looks_numeric(c))
    elif name.endswith(".xlsx"):
        for sheet in openpyxl.load_workbook(io.BytesIO(data)).worksheets:
            for row in sheet.iter_rows():
                bad.extend(str(c.value) for c in row if c.data_type == "f" or (
                    isinstance(c.value, str) and c.value.startswith(FORMULA_PREFIXES) and not looks_numeric(c.value)))
    return bad


def test_the_validation_report_download_neutralises_formulas(downloads):
    upload(new_session(), "formula_cells.csv", (UPLOAD / "formula_cells.csv").read_bytes())
    report = [d for name, d in downloads if name == "validation-problems.csv"]
    assert report, [name for name, _ in downloads]
    values = pd.read_csv(io.BytesIO(report[-1]), dtype=str)["Value"].tolist()
    assert values == ["'" + '=HYPERLINK("http://example.com","click")', "'+1", "'-2", "'@x"]
    xlsx = [d for name, d in downloads if name == "validation-problems.xlsx"][-1]
    assert _unsafe_cells("validation-problems.xlsx", xlsx) == []
    assert _unsafe_cells("validation-problems.csv", report[-1]) == []


def test_no_download_on_any_page_carries_a_live_formula(downloads, monkeypatch):
    record_media_files(monkeypatch)
    ids = ['=HYPERLINK("http://example.com")', "@SUM(A1)", "+PID3", "-PID4", "P005", "P006"]
    at = upload(new_session(), "formulas.csv", valid_csv(ids, ["=1+1", "@x"]))
    assert state.UPLOAD_KEY in at.session_state
    built: list[tuple[str, bytes]] = []  # files made when their button is clicked: made here, page by page
    for page in app_pages():
        at.switch_page(page).run()
        assert not at.exception, page
        for button in at.get("download_button"):
            if button.proto.deferred_file_id:
                name, _, build = deferred_download(button)
                if name.endswith((".csv", ".xlsx")):
                    built.append((name, build()))
    tables = [(n, d) for n, d in [*downloads, *built] if n.endswith((".csv", ".xlsx"))]
    assert len(built) >= 20  # every page's tables, from the upload
    # the upload's own values (its genders "=1+1" and "@x") reach the files, so the check below is real
    assert any(b"1+1" in d and b"@x" in d for n, d in built if n.endswith(".csv"))
    assert {n: _unsafe_cells(n, d) for n, d in tables if _unsafe_cells(n, d)} == {}


# --- passcode -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "expected", "ok"), [
    ("letmein", "letmein", True), ("letmein ", "letmein", False), ("LETMEIN", "letmein", False),
    ("", "letmein", False), ("letmei", "letmein", False), ("pässwörd", "pässwörd", True), ("x" * 1000, "x", False),
])
def test_passcode_matches(given, expected, ok):
    assert access.passcode_matches(given, expected) is ok


def test_with_a_passcode_only_the_form_shows_until_the_right_code_is_entered():
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["passcode"] = "letmein"
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Physical activity in NHS Talking Therapies"]
    assert [t.label for t in at.text_input] == ["Passcode"]
    assert not at.metric and not at.table and not at.dataframe and not at.get("plotly_chart") and not at.sidebar.children
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["That passcode is not right."]
    assert not at.metric and [t.label for t in at.text_input] == ["Passcode"]
    at.text_input[0].input("letmein")
    at.button[0].click().run()
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Overview"]
    assert at.metric and at.sidebar.toggle(key=state.SAFE_KEY)


def test_without_a_passcode_the_app_is_open():
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert [t.value for t in at.title] == ["Overview"] and not at.text_input


@pytest.mark.parametrize("page", app_pages())
def test_a_page_opened_directly_still_asks_for_the_passcode(page):
    """A deep link on a fresh server must not skip app.py's passcode (pages call dashboard.entry.require_app)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["passcode"] = "letmein"
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Passcode"]
    assert not at.metric and not at.table and not at.dataframe and not at.file_uploader and not at.sidebar.children


# --- presentation-safe mode on every page --------------------------------------------------------------------

_COUNT = re.compile(r"^\d{1,3}(,\d{3})*$|^\d+$")


def _small_counts(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric if _COUNT.match(str(m.value).strip())
            and int(str(m.value).replace(",", "")) < 5]


@pytest.mark.parametrize("source", ["sample", "sample filtered to a small subgroup", "small upload"])
@pytest.mark.parametrize("page", app_pages())
def test_safe_mode_every_page(page, source):
    """Safe mode on: every data page says so, and no metric shows a count below 5 (3 PA participants in the
    small upload; a PTSD-only filter on the sample)."""
    at = new_session(safe=True)
    if source == "small upload":
        upload(at, "small_groups.csv", (UPLOAD / "small_groups.csv").read_bytes())
        assert at.session_state[state.UPLOAD_KEY].episodes["group"].value_counts()["physical_activity"] == 3
    elif source.startswith("sample filtered"):
        at.session_state[state.FILTER_PREFIX + "problem_descriptor"] = ["PTSD"]
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    if uses_data(page):
        assert any(s.value == SAFE_MODE_NOTE for s in at.success)
    assert _small_counts(at) == []


def test_safe_mode_test_would_catch_small_counts():
    """Without safe mode the same data shows a count below 5, so the test above is not vacuous."""
    at = upload(new_session(), "small_groups.csv", (UPLOAD / "small_groups.csv").read_bytes())
    assert ("Physical activity: participants", "3") in _small_counts(at)
    at.switch_page("pages/overview.py").run()
    assert _small_counts(at)
