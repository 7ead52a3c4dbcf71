"""Helpers for the real-browser tests: waiting for Streamlit, sidebar widgets, screenshots, expected figures.

Kept out of ``conftest.py`` so test modules can import them by name (``from e2e_support import ...``);
pytest puts ``tests/e2e`` on ``sys.path`` because the folder has no ``__init__.py``.

Expected figures are never typed in by hand: :func:`expected_analysis` runs the same pipeline the app
runs on the bundled sample (``analysis.validate.load_path`` → ``analysis.outcomes.with_derived_columns``
→ ``dashboard.state.apply_filters`` → ``analysis.summary.analyse``), and tests format its numbers with
``analysis.formatting`` exactly as the pages do.
"""

from __future__ import annotations

import re
import time
from functools import cache
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_FILE = ROOT / "data" / "sample" / "synthetic_pilot_sessions.csv"
SCREENSHOT_DIR = ROOT / "test-artifacts" / "screenshots"
SERVER_LOG = ROOT / "test-artifacts" / "e2e-streamlit.log"  # the app's output (client error details are off)
VIEWPORT = {"width": 1280, "height": 720}

APP = '[data-testid="stApp"]'
MAIN = '[data-testid="stMainBlockContainer"]'
SIDEBAR = '[data-testid="stSidebar"]'
STATUS = '[data-testid="stStatusWidget"]'
EXCEPTION = '[data-testid="stException"]'
ERROR_ALERT = '[data-testid="stAlertContentError"]'
PLACEHOLDER_TEXT = "This page is being built."

WAIT_MS = 30_000
SETTLE_S = 0.4


# --- where the pages are ----------------------------------------------------------------------------


@cache
def page_paths() -> dict[str, str]:
    """{page file: URL path} read from app.py's ``st.Page(...)`` calls, so a renamed ``url_path`` follows.

    The default page is ``/``; a page without ``url_path`` gets its file name, as Streamlit does.
    """
    import ast

    paths = {}
    for node in ast.walk(ast.parse((ROOT / "app.py").read_text())):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "Page" and node.args
                and isinstance(node.args[0], ast.Constant)):
            continue
        source = node.args[0].value
        keywords = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
        paths[source] = "/" if keywords.get("default") else "/" + keywords.get("url_path", Path(source).stem)
    return paths


def page_path(source: str) -> str:
    """URL path of a page file, e.g. ``page_path("pages/symptom_change.py")``."""
    paths = page_paths()
    assert source in paths, f"app.py does not register {source} (it registers {sorted(paths)})"
    return paths[source]


# --- waiting for Streamlit ---------------------------------------------------------------------------


def wait_for_app(page: Page, timeout_ms: int = WAIT_MS) -> None:
    """Wait until Streamlit has finished running the script and the page shows content.

    Done means: the app root reports ``data-test-script-state="notRunning"`` while connected, the
    "Running…" status widget is gone, and the main block has text. Then a short settle, repeated until
    the app stays idle (a widget bound to the URL can trigger one more run just after the first).
    """
    deadline = time.monotonic() + timeout_ms / 1000
    idle_in_a_row = 0
    while idle_in_a_row < 2:
        remaining = max(1, int((deadline - time.monotonic()) * 1000))
        page.wait_for_selector(f'{APP}[data-test-script-state="notRunning"][data-test-connection-state="CONNECTED"]',
                               timeout=remaining)
        page.locator(STATUS).wait_for(state="hidden", timeout=remaining)
        page.wait_for_function(
            "sel => { const m = document.querySelector(sel); return !!m && m.innerText.trim().length > 0; }",
            arg=MAIN, timeout=remaining)
        time.sleep(SETTLE_S)
        idle = page.locator(f'{APP}[data-test-script-state="notRunning"]').count() == 1 \
            and page.locator(STATUS).count() == 0
        idle_in_a_row = idle_in_a_row + 1 if idle else 0
        if time.monotonic() > deadline:
            raise PlaywrightTimeoutError(f"Streamlit did not settle within {timeout_ms} ms")


def wait_for_rerun(page: Page, timeout_ms: int = WAIT_MS) -> None:
    """After an interaction: wait for the rerun it triggers to start (if we can see it) and finish."""
    try:
        page.wait_for_selector(f'{APP}[data-test-script-state="running"]', timeout=3_000)
    except PlaywrightTimeoutError:
        pass  # a fast rerun can start and finish between two polls; the content checks catch real misses
    wait_for_app(page, timeout_ms)


def open_app(page: Page, base_url: str, path: str) -> None:
    """Load ``base_url + path`` as a fresh browser session and wait for the app to finish running."""
    page.goto(base_url.rstrip("/") + path, wait_until="domcontentloaded")
    wait_for_app(page)


def server_log_tail(lines: int = 30) -> str:
    """The end of the server's log: the app hides tracebacks from the browser, the log has them."""
    try:
        return "\n".join(SERVER_LOG.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def assert_no_errors(page: Page) -> None:
    """No exception box and no error alert anywhere on the page (the main block or the sidebar)."""
    exceptions = page.locator(EXCEPTION)
    if exceptions.count():
        raise AssertionError(f"Streamlit exception box on {page.url}; end of {SERVER_LOG.name}:\n"
                             + server_log_tail())
    errors = page.locator(ERROR_ALERT)
    if errors.count():
        raise AssertionError("Error alert on the page:\n" + "\n---\n".join(errors.all_inner_texts()))


def main_block(page: Page) -> Locator:
    return page.locator(MAIN)


def visible_text(scope: Locator | Page, text: str) -> Locator:
    """The first visible element whose text contains ``text`` (substring, case-sensitive)."""
    return scope.get_by_text(re.compile(re.escape(text))).filter(visible=True).first


# --- sidebar widgets ---------------------------------------------------------------------------------


def _open_listbox(page: Page, widget: Locator, option: Locator) -> None:
    """Open a selectbox/multiselect's option list (its "Open" button) until ``option`` shows.

    Clicking the text input only focuses it; the chevron button opens the list. In chromium the first
    click on the button after the page (or an expander) settles is often swallowed, so click again
    while the list is still closed.
    """
    button = widget.locator('button[aria-label="Open"]')
    for _ in range(6):
        if button.get_attribute("aria-expanded") != "true":
            button.click()
        try:
            option.wait_for(state="visible", timeout=1_500)
            return
        except PlaywrightTimeoutError:
            continue
    raise PlaywrightTimeoutError(f"the option list never showed {option}")


def open_filters(page: Page) -> None:
    """Expand the sidebar's "Filters" expander when it is collapsed."""
    details = page.locator(f"{SIDEBAR} details").filter(has=page.locator("summary", has_text="Filters"))
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    expect(details).to_have_attribute("open", "")


def _pick(page: Page, widget: Locator, option: Locator, close: bool, done: Locator, attempts: int = 3) -> None:
    """Open the list, click ``option`` (pressing Escape after, when ``close``), and wait for ``done``.

    A rerun that lands while the list is open redraws the widget and closes the list, losing the click;
    then we start again.
    """
    for attempt in range(1, attempts + 1):
        _open_listbox(page, widget, option)
        try:
            option.click(timeout=3_000)
        except PlaywrightTimeoutError:
            if attempt == attempts:
                raise
            continue
        if close:
            page.keyboard.press("Escape")
        wait_for_rerun(page)
        try:
            done.wait_for(state="attached", timeout=5_000)
            return
        except PlaywrightTimeoutError:
            if attempt == attempts:
                raise


def choose_filter_level(page: Page, column: str, level: str) -> None:
    """Pick one level in a sidebar filter multiselect (key ``f_<column>``) and wait for the rerun.

    The multiselect applies the choice when its option list closes, so we press Escape after clicking.
    """
    open_filters(page)
    widget = page.locator(f"{SIDEBAR} .st-key-f_{column}")
    expect(widget).to_be_visible()
    option = page.get_by_role("option", name=level, exact=True)
    chosen = widget.locator(f'[aria-label="Selected values"] [data-tag][aria-label="{level}"]')
    _pick(page, widget, option, close=True, done=chosen)


def choose_measure(page: Page, label: str) -> None:
    """Pick the sidebar's outcome measure whose label starts with ``label`` (e.g. "GAD-7")."""
    widget = page.locator(f"{SIDEBAR} .st-key-measure")
    expect(widget).to_be_visible()
    option = page.get_by_role("option", name=re.compile("^" + re.escape(label)))
    chosen = widget.locator(f'input[role="combobox"][value^="{label}"]')
    _pick(page, widget, option, close=False, done=chosen)


def measure_shown(page: Page) -> Locator:
    """The sidebar's outcome-measure combobox (its ``value`` is the measure's label)."""
    return page.locator(f'{SIDEBAR} .st-key-measure input[role="combobox"]')


# --- screenshots -------------------------------------------------------------------------------------


def wait_for_charts(page: Page) -> None:
    """Plotly charts draw after the script finishes: wait until each has its SVG."""
    try:
        page.wait_for_function(
            """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                     .every(c => c.querySelector('svg.main-svg'))""", timeout=10_000)
    except PlaywrightTimeoutError:
        pass  # the screenshot then shows the chart as it is, which is what a reviewer needs to see
    time.sleep(0.3)


def save_viewport_screenshot(page: Page, name: str) -> Path:
    """Save ``<name>.png``: exactly what a 1280×720 screen shows."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    wait_for_charts(page)
    path = SCREENSHOT_DIR / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def save_screenshots(page: Page, name: str) -> tuple[Path, Path]:
    """Save ``<name>-viewport.png`` (the first 1280×720 screen) and ``<name>.png`` (the whole page).

    Streamlit scrolls inside ``stMain`` rather than the document, so Playwright's ``full_page`` alone
    captures one screen; for the whole page we grow the viewport to the content height (width stays
    1280), capture, and restore 1280×720. Chromium cannot capture much beyond 16,000 px, so a longer
    page is cut there.
    """
    viewport_path = save_viewport_screenshot(page, f"{name}-viewport")
    height = page.evaluate(
        """() => Math.max(720, ...['[data-testid="stMain"]', '[data-testid="stSidebarContent"]']
                   .map(s => document.querySelector(s)).filter(Boolean).map(e => e.scrollHeight))""")
    full_path = SCREENSHOT_DIR / f"{name}.png"
    try:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": min(int(height) + 40, 16_000)})
        time.sleep(0.5)  # charts and the grid redraw for the new size
        page.screenshot(path=str(full_path), full_page=True)
    finally:
        page.set_viewport_size(VIEWPORT)
    return viewport_path, full_path


# --- expected figures, computed by analysis/ -----------------------------------------------------------


@cache
def _sample_report():
    from analysis.validate import load_path

    report = load_path(SAMPLE_FILE)
    assert report.usable, f"bundled sample failed validation: {report.problems[:3]}"
    return report


@cache
def sample_episode_frame():
    """The bundled sample's episodes with derived columns, as ``dashboard.state.sample_dataset`` holds them."""
    from analysis.outcomes import with_derived_columns

    return with_derived_columns(_sample_report().episodes)


@cache
def expected_analysis(filters: tuple[tuple[str, tuple[str, ...]], ...] = ()):
    """``analysis.summary.Analysis`` of the bundled sample under ``filters`` — what the app shows.

    Mirrors ``dashboard.state._sample_analysis`` (same source name, level and notes).
    """
    from analysis.summary import analyse
    from dashboard.state import SAMPLE_NAME, apply_filters

    report = _sample_report()
    episodes = apply_filters(sample_episode_frame(), dict(filters))
    return analyse(episodes, source=SAMPLE_NAME, level=report.level or "episode", notes=tuple(report.notes))


def expected_participants(filters: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> tuple[int, int]:
    """(participants shown, participants in the data) for the filter banner."""
    from dashboard.state import apply_filters

    episodes = sample_episode_frame()
    return len(apply_filters(episodes, dict(filters))), len(episodes)


def analysis_of_file(path: Path):
    """``Analysis`` of a file as the app would analyse an upload of it."""
    from analysis.outcomes import with_derived_columns
    from analysis.summary import analyse
    from analysis.validate import load_path

    report = load_path(path)
    assert report.usable, f"{path.name} failed validation: {report.problems[:3]}"
    return analyse(with_derived_columns(report.episodes))


__all__ = [
    "page_paths", "page_path", "wait_for_app", "wait_for_rerun", "open_app", "assert_no_errors", "server_log_tail", "main_block",
    "visible_text", "open_filters", "choose_filter_level", "choose_measure", "measure_shown", "save_screenshots",
    "save_viewport_screenshot", "sample_episode_frame", "expected_analysis", "expected_participants",
    "analysis_of_file",
]
