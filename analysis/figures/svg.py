"""Charts as SVG files, drawn on the server: plotly.js in a headless Chromium, through kaleido.

The dashboard's "Download SVG" button under each chart calls :func:`figure_to_svg` when clicked
(the PNG comes from the chart's own toolbar, :func:`analysis.figures.theme.chart_config`). The
Chromium is the one already on the machine (Debian's ``chromium``, or ``$BROWSER_PATH``); nothing
is downloaded.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import shutil
import signal
import textwrap
import threading
import time
from collections.abc import Coroutine
from typing import Any, Final
from xml.sax.saxutils import escape

import plotly.graph_objects as go

SVG_WIDTH: Final = 900  # px, when a figure sets no width (on screen charts take their column's width)
SVG_TIMEOUT_S: Final = 60  # starting the browser and drawing one chart, together
SVG_MAX_PARALLEL: Final = 2  # browsers drawing at once, whatever the number of visitors clicking
BROWSER_ENV: Final = "BROWSER_PATH"  # the variable choreographer (kaleido's browser driver) also reads
BROWSER_NAMES: Final = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# kaleido's and choreographer's debug messages carry the whole figure and the SVG, Chromium's own log
# ("browser_proc") the page's console, and their error messages may quote either: all held at CRITICAL
# (which they use only for byte counts). A failure is told to the visitor in the SVG instead.
_CHATTY_LOGGERS: Final = ("kaleido", "choreographer", "browser_proc")
_DRAWING: Final = threading.BoundedSemaphore(SVG_MAX_PARALLEL)
SVG_FAILED: Final = "This chart could not be saved as SVG."
_USE_PNG: Final = "The camera button in the chart's toolbar still saves it as a PNG."


def svg_browser() -> str | None:
    """The Chromium/Chrome that draws SVGs: ``$BROWSER_PATH`` when set, else the first of
    :data:`BROWSER_NAMES` on ``PATH`` (Debian's ``chromium`` is ``/usr/bin/chromium``)."""
    configured = os.environ.get(BROWSER_ENV, "").strip()
    if configured:
        return shutil.which(configured)  # a path or a program name; None if it is not an executable
    return next((path for name in BROWSER_NAMES if (path := shutil.which(name))), None)


# Every chart on every visit asks; the answer looks for kaleido and walks PATH (about 50 µs). It is kept for
# REASON_TTL_S per value of $BROWSER_PATH and $PATH, so a change to either is seen at once and a Chromium
# installed while the server runs within the half minute.
REASON_TTL_S: Final = 30.0
_REASON: dict[tuple[str, str], tuple[float, str | None]] = {}
_clock = time.monotonic


def svg_unavailable_reason() -> str | None:
    """Why charts cannot be saved as SVG on this server, in a sentence, or None when they can.

    Cheap (no browser is started; the answer is kept for :data:`REASON_TTL_S`), so a page can grey out its
    SVG buttons and say why.
    """
    key = (os.environ.get(BROWSER_ENV, ""), os.environ.get("PATH", ""))
    now = _clock()
    kept = _REASON.get(key)
    if kept is not None and now - kept[0] < REASON_TTL_S:
        return kept[1]
    reason = _unavailable_reason()
    _REASON.clear()  # one entry: the environment as it is now
    _REASON[key] = (now, reason)
    return reason


def _unavailable_reason() -> str | None:
    if importlib.util.find_spec("kaleido") is None:
        return "SVG export needs the kaleido package on the server (pip install -r requirements.txt)."
    if svg_browser() is None:
        configured = os.environ.get(BROWSER_ENV, "").strip()
        if configured:
            return f"SVG export cannot start the browser set in {BROWSER_ENV} ({configured}): no such program."
        return ("SVG export needs Chromium on the server (Debian: apt-get install chromium), "
                f"or {BROWSER_ENV} set to a Chrome or Chromium program.")
    return None


def message_svg(title: str, detail: str) -> bytes:
    """A small, valid SVG image that says something in words (what :func:`figure_to_svg`
    returns when it cannot draw the chart, so a click never ends in an error)."""
    lines = [title, *textwrap.wrap(detail, 70)]
    height = 40 + 28 * len(lines)
    styles = ['font-size="20" font-weight="bold"'] + ['font-size="16"'] * (len(lines) - 1)
    texts = "".join(f'<text x="24" y="{44 + 28 * i}" {style}>{escape(line)}</text>'
                    for i, (line, style) in enumerate(zip(lines, styles, strict=True)))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="760" height="{height}" '
            f'viewBox="0 0 760 {height}" font-family="Arial, Helvetica, sans-serif" fill="#1a1a1a">'
            f'<rect width="760" height="{height}" fill="#ffffff" stroke="#999999"/>{texts}</svg>').encode()


def _quiet_chatty_loggers() -> None:
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


async def _draw_svg(figure: go.Figure | dict, browser: str, width: int | None) -> bytes:
    import kaleido

    opts: dict[str, Any] = {"format": "svg"}
    if width is not None:
        opts["width"] = width
    # mathjax=False: the charts use no LaTeX, and its default source is a CDN this server may not reach.
    drawer = kaleido.Kaleido(path=browser, mathjax=False, timeout=SVG_TIMEOUT_S)
    try:
        await drawer.open()
        return await drawer.calc_fig(figure, opts=opts)
    except BaseException:  # failed, or cancelled at the time limit: a stuck browser never answers "close"
        _kill_browser(drawer)
        raise
    finally:  # also when opening failed (``async with`` would then leave the browser running)
        await drawer.close()  # removes the temporary folders


def _kill_browser(drawer: Any) -> None:
    """Kill the browser's whole process group (choreographer starts it in a session of its own)."""
    process = getattr(drawer, "subprocess", None)
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait(timeout=10)


def _run_in_own_thread(coroutine: Coroutine[Any, Any, bytes], timeout_s: float) -> bytes:
    """Run ``coroutine`` to completion in a fresh event loop on a thread of its own (the caller
    may already be inside one, as Streamlit's server is); cancelled after ``timeout_s``."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["svg"] = asyncio.run(asyncio.wait_for(coroutine, timeout_s))
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=run, name="figure-to-svg", daemon=True)
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["svg"]


def figure_to_svg(figure: go.Figure | dict, width: int | None = None) -> bytes:
    """The figure as an SVG document (UTF-8 bytes), drawn by plotly.js in a headless Chromium.

    ``width`` in px: the figure's own width if it sets one, else :data:`SVG_WIDTH`; the height is
    the figure's (the theme's 460 px unless a builder set another).

    Never raises: when no browser or no kaleido is available, or drawing fails or takes longer
    than :data:`SVG_TIMEOUT_S`, the result is a small SVG that says so in words (see
    :func:`message_svg`), so a visitor's click on a download never ends in a traceback.

    Privacy: the figure travels to the browser through a pipe and the SVG comes back the same
    way; neither is written to a file. What *is* written: kaleido's ``index.html`` (script tags
    only) and Chromium's throw-away profile, in temporary folders removed when the browser
    closes; ``tests/test_privacy.py`` checks that a chart's text reaches neither, nor any other
    file, nor the logs (kaleido's and choreographer's loggers, whose debug messages carry the
    figure, are held at CRITICAL). Each call starts and closes its own browser, so nothing of one
    visitor's chart outlives the call; at most :data:`SVG_MAX_PARALLEL` browsers run at once.
    """
    reason = svg_unavailable_reason()
    browser = svg_browser()
    if reason is not None or browser is None:
        return message_svg(SVG_FAILED, reason or "No browser was found.")
    if width is None:
        own_width = figure.get("layout", {}).get("width") if isinstance(figure, dict) else figure.layout.width
        width = None if own_width else SVG_WIDTH
    _quiet_chatty_loggers()
    started = time.monotonic()
    try:
        with _DRAWING:
            started = time.monotonic()  # the time limit counts from here, not from the wait for a turn
            svg = _run_in_own_thread(_draw_svg(figure, browser, width), SVG_TIMEOUT_S)
    except Exception as error:  # any failure of the browser or of plotly.js: said in words, never raised
        # (a browser cancelled while starting reports its own error rather than the time-out)
        if isinstance(error, TimeoutError) or time.monotonic() - started >= SVG_TIMEOUT_S:
            return message_svg(SVG_FAILED, f"Drawing it took longer than {SVG_TIMEOUT_S} seconds. {_USE_PNG}")
        return message_svg(SVG_FAILED, f"The browser that draws it failed ({type(error).__name__}). {_USE_PNG}")
    if not svg.lstrip().startswith(b"<svg"):
        return message_svg(SVG_FAILED, f"The browser that draws it returned something else. {_USE_PNG}")
    return svg
