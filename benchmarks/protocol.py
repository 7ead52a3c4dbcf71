"""Workshop load test without browsers: visitors that speak Streamlit's own websocket protocol.

    python -m benchmarks.load --protocol --visitors 50 --page symptom_change            # all at once
    python -m benchmarks.load --protocol --visitors 50 --page all --ramp 10             # a room arriving over 10 s
    python -m benchmarks.load --protocol --visitors 100 --page mixed --proxy 2 --sticky      # 2 processes behind nginx

What the server does for a room of people, and nothing of what their laptops' browsers do. Each
visitor is what the Streamlit 1.67 frontend is on the wire:

1. ``GET /<page>`` (the HTML; a proxy's sticky-session cookie, if any, is kept for what follows);
2. a websocket to ``/_stcore/stream`` offering the subprotocol ``streamlit`` (the frontend repurposes the
   ``Sec-WebSocket-Protocol`` header: entry 1 the subprotocol, entry 2 the XSRF token, entry 3 the
   session id it reconnects to);
3. **first view**: a ``BackMsg`` ``rerun_script`` whose ``ClientState`` carries the page's query string
   and ``page_name`` (the URL path, as the frontend sends it before it knows the page's hash); the
   server answers ``new_session`` (the session id, the page's script hash), the page's deltas and
   ``script_finished`` (``FINISHED_EARLY_FOR_RERUN`` between the runs of an ``st.rerun``);
4. **filter change**: another ``rerun_script`` with the filter in the query string
   (``is_history_navigation``: the URL wins over the session's widgets, as on the browser's back button,
   so the URL-bound sidebar filter changes), the page's script hash and, as the frontend does on every rerun,
   the hashes of the messages the first view sent that the browser keeps (those the server marked
   ``cacheable``: 10 kB or more); the server sends any of them that the filter leaves unchanged as a
   reference (``ref_hash``), which the visitor reads from its cache;
5. with ``--sticky`` (a proxy in front): the websocket is dropped and reopened with the session id,
   as the frontend does after a network blip; the session must come back (the same session id and,
   when the proxy reports ``X-Upstream``, the same process). Otherwise the visitor's state is lost.

Each step's time runs from sending the ``BackMsg`` to ``script_finished``; a step is an error when it
times out, the script ends with an exception element or a compile error, the page is not found or
the page's text lacks what it should show (the page title; "Filter active" after the filter). Every
visitor keeps its websocket open until all are done, so the server's memory is read with every
session open. The one-headline baseline app (``benchmarks/baseline_app.py``) is measured the same way
in the same run, and the ratio of the p95s is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import statistics
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# page name (URL path) -> (the text that shows the page arrived). "" is the default page (Overview).
PAGES: dict[str, str] = {
    "overview": "Overview",
    "symptom_change": "Symptom change",
    "recovery": "Recovery and reliable change",
    "who_benefits": "Who benefits",
    "survey": "Survey findings",
    "planning": "Planning the next evaluation",
    "methods": "Methods and definitions",
    "adjusted": "Accounting for who took part",
    "sites": "Sites",
    "national": "Against national figures",
    "data": "Your data",
    "export": "Export and present",
}
WORKSHOP_PAGES = ("overview", "symptom_change", "recovery", "who_benefits")  # the pages the filters change
BASELINE_PAGE = "baseline"
BASELINE_TEXT = "Recovery was"
FILTER_TEXT = "Filter active"
# A page that does not use the sidebar's filters says so instead of showing the banner.
FILTER_TEXTS: dict[str, str] = {"survey": "The filters in the sidebar do not apply here"}
BASELINE_FILTER_TEXT = "the same for"
STEPS = ("first", "filtered", "reconnect")
TARGET_RAMP_P95_S = 2.0
TARGET_BASELINE_RATIO = 4.0
TARGET_MEMORY_MB = 2048


@dataclass
class Visit:
    visitor: int
    page: str
    first_s: float | None = None
    filtered_s: float | None = None
    reconnect_s: float | None = None
    session_id: str = ""
    upstream: str = ""  # the process that served the websocket, when a proxy says so (X-Upstream)
    sticky: bool | None = None  # after a reconnect: same session (and same upstream, when known)
    error: str | None = None
    elements: int | None = None  # the deltas (elements and blocks) the first view's run sent
    references: int | None = None  # the filter change's elements sent as references to the browser's cache


@dataclass
class ProtocolResult:
    url: str
    page: str
    visitors: int
    ramp_s: float
    query: str
    filter_query: str
    wall_s: float = 0.0
    visits: list[Visit] = field(default_factory=list)
    server_cpu_s: float | None = None
    server_rss_mb: float | None = None  # every server process, with every visitor's session open
    server_rss_before_mb: float | None = None

    @property
    def errors(self) -> list[str]:
        return [f"visitor {v.visitor} ({v.page or 'overview'}): {v.error}" for v in self.visits if v.error]

    def times(self, step: str) -> list[float]:
        return sorted(t for v in self.visits if (t := getattr(v, f"{step}_s")) is not None)

    def summary(self, step: str) -> dict[str, float | int | None]:
        values = self.times(step)
        return {"p50": percentile(values, 50), "p95": percentile(values, 95), "max": max(values, default=None),
                "n": len(values)}

    @property
    def upstreams(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for v in self.visits:
            if v.upstream:
                counts[v.upstream] = counts.get(v.upstream, 0) + 1
        return counts

    @property
    def not_sticky(self) -> int:
        return sum(1 for v in self.visits if v.sticky is False)

    def to_dict(self) -> dict:
        return {"url": self.url, "page": self.page, "visitors": self.visitors, "ramp_s": self.ramp_s,
                "query": self.query, "filter_query": self.filter_query, "wall_s": self.wall_s,
                "server_cpu_s": self.server_cpu_s, "server_rss_mb": self.server_rss_mb,
                "server_rss_before_mb": self.server_rss_before_mb, "upstreams": self.upstreams,
                "not_sticky": self.not_sticky, "errors": self.errors,
                **{step: self.summary(step) for step in STEPS}, "visits": [asdict(v) for v in self.visits]}


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least q% of values at or below it)."""
    import math

    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


# --- the server's processes ---------------------------------------------------------------------------------


def _tree(pids: list[int]) -> list[int]:
    """``pids`` and every live descendant."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    out, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        if pid not in out:
            out.append(pid)
            todo.extend(children.get(pid, []))
    return out


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds so far of ``pids`` and their descendants (Linux ``/proc``)."""
    if not pids:
        return None
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in _tree(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def rss_mb(pids: list[int]) -> float | None:
    """Resident memory (MB) of ``pids`` and their descendants."""
    if not pids:
        return None
    total = 0
    for pid in _tree(pids):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


# --- one visitor --------------------------------------------------------------------------------------------


def _texts(msg, sink: list[str]) -> None:
    """The words a person would read in one ForwardMsg delta (markdown, headings, alerts, metrics)."""
    if msg.WhichOneof("type") != "delta" or msg.delta.WhichOneof("type") != "new_element":
        return
    element = msg.delta.new_element
    kind = element.WhichOneof("type")
    if kind in ("markdown", "heading", "alert", "text"):
        sink.append(getattr(element, kind).body)
    elif kind == "code":  # st.code: its text is code_text, not body
        sink.append(element.code.code_text)
    elif kind == "metric":
        sink.append(f"{element.metric.label} {element.metric.body}")
    elif kind == "exception":
        sink.append(f"EXCEPTION {element.exception.type}: {element.exception.message}")


class _Run:
    """What one script run sent: its text, its session, its page hash, how it ended."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.session_id = ""
        self.page_hash = ""
        self.entry_hash = ""
        self.page_not_found = False
        self.exceptions: list[str] = []
        self.title = ""  # the page's first heading (st.title): which page ran
        self.deltas = 0  # elements and blocks sent by the run (after the last new_session)
        self.references = 0  # of them, sent as a reference to a message the browser holds (ref_hash)


async def _script_run(ws, back: bytes, timeout_s: float, cache: dict[str, bytes] | None = None) -> _Run:
    """Send a rerun BackMsg; read ForwardMsgs until the run (and any ``st.rerun`` after it) finishes.

    ``cache``: the browser's message cache, as the frontend keeps it (its ``ForwardMessageCache``): a message the
    server marks ``cacheable`` is kept under its hash, and a ``ref_hash`` message (sent instead of a message the
    rerun said the browser holds: :func:`rerun_message`'s ``cached``) is read as the message it refers to.
    """
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    run = _Run()
    await ws.send(back)
    async with asyncio.timeout(timeout_s):
        while True:
            payload = await ws.recv()
            msg = ForwardMsg()
            msg.ParseFromString(payload)
            kind = msg.WhichOneof("type")
            if kind == "ref_hash":
                held = (cache or {}).get(msg.ref_hash)
                if held is None:
                    raise RuntimeError(f"the server referred to a message the browser does not hold ({msg.ref_hash})")
                reference = msg
                msg = ForwardMsg()
                msg.ParseFromString(held)
                msg.metadata.CopyFrom(reference.metadata)
                kind = msg.WhichOneof("type")
                run.references += 1
            elif cache is not None and msg.metadata.cacheable and msg.hash:
                cache.setdefault(msg.hash, payload)
            if kind == "new_session":
                run.session_id = msg.new_session.initialize.session_id or run.session_id
                run.entry_hash = msg.new_session.page_script_hash  # the entry script's (app.py), not the page's
                run.page_hash = run.page_hash or run.entry_hash
                run.texts.clear()  # a new run (after st.rerun) redraws the page
                run.deltas = 0
            elif kind == "navigation":  # st.navigation: the hash of the page that ran (a rerun must send it back)
                run.page_hash = msg.navigation.page_script_hash or run.page_hash
            elif kind == "page_not_found":
                run.page_not_found = True
            elif kind == "delta":
                run.deltas += 1
                before = len(run.texts)
                _texts(msg, run.texts)
                if not run.title and msg.delta.new_element.WhichOneof("type") == "heading":
                    run.title = msg.delta.new_element.heading.body
                run.exceptions += [t for t in run.texts[before:] if t.startswith("EXCEPTION")]
            elif kind == "script_finished":
                status = msg.script_finished
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    run.exceptions.append("the script did not compile")
                    return run
                if status in (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                    return run
                # FINISHED_EARLY_FOR_RERUN: another run follows


def rerun_message(page: str, query: str, page_hash: str = "", history: bool = False,
                  cached: Iterable[str] = ()) -> bytes:
    """The BackMsg the frontend sends to run a page: ``rerun_script`` with the URL's query and page, and the
    hashes of the messages the browser holds (``cached``), which the server then sends as references."""
    from streamlit.proto.BackMsg_pb2 import BackMsg

    back = BackMsg()
    state = back.rerun_script
    state.query_string = query
    state.cached_message_hashes.extend(cached)
    state.page_script_hash = page_hash
    state.page_name = "" if page in ("overview", BASELINE_PAGE) else page
    state.is_history_navigation = history
    state.context_info.timezone = "Europe/London"
    state.context_info.timezone_offset = 0
    state.context_info.locale = "en-GB"
    state.context_info.color_scheme = "light"
    return back.SerializeToString()


async def _http_get(url: str, cookie: str, timeout_s: float) -> tuple[int, dict[str, list[str]]]:
    """GET ``url`` as a browser's first request would (HTTP/1.1, body read and dropped): (status, headers)."""
    parts = urllib.parse.urlsplit(url)
    reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port or 80), timeout_s)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = (f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
                   + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n")
        writer.write(request.encode())
        await writer.drain()
        async with asyncio.timeout(timeout_s):
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.read()
    finally:
        writer.close()
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(lines[0].split()[1]), headers


def _cookies(headers: dict[str, list[str]]) -> str:
    return "; ".join(value.split(";", 1)[0] for value in headers.get("set-cookie", []))


async def _connect(base: str, cookie: str, session_id: str = ""):
    from websockets.asyncio.client import connect

    ws_url = re.sub(r"^http", "ws", base.rstrip("/")) + "/_stcore/stream"
    xsrf = re.search(r"_streamlit_xsrf=([^;]+)", cookie)
    subprotocols = ["streamlit", xsrf.group(1) if xsrf else "none"] + ([session_id] if session_id else [])
    return await connect(ws_url, subprotocols=subprotocols, additional_headers={"Cookie": cookie} if cookie else {},
                         max_size=None, open_timeout=60, ping_interval=None, compression=None)


def _check(run: _Run, expect: str, step: str) -> str | None:
    if run.page_not_found:
        return f"{step}: the server said the page was not found"
    if run.exceptions:
        return f"{step}: {run.exceptions[0][:300]}"
    if not any(expect in text for text in run.texts):
        return f"{step}: the page's text lacks {expect!r} ({len(run.texts)} texts arrived)"
    return None


def _same_page(first: _Run, later: _Run, step: str) -> str | None:
    """A rerun must draw the page the first view drew (a wrong page hash falls back to the default page)."""
    if later.title != first.title:
        return f"{step}: the rerun drew {later.title or 'a page without a title'!r}, not {first.title!r}"
    return None


class _Countdown:
    """Set once ``n`` visitors have said they are through their steps."""

    def __init__(self, n: int) -> None:
        self.left, self.event = n, asyncio.Event()
        if n <= 0:
            self.event.set()

    def tick(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.event.set()

    async def wait(self) -> None:
        await self.event.wait()


async def visit(base: str, number: int, page: str, query: str, filter_query: str, timeout_s: float,
                delay_s: float, gate: asyncio.Event, done: asyncio.Event, sticky: bool,
                through: _Countdown | None = None) -> Visit:
    result = Visit(visitor=number, page=page)
    expect = BASELINE_TEXT if page == BASELINE_PAGE else PAGES[page]
    expect_filtered = BASELINE_FILTER_TEXT if page == BASELINE_PAGE else FILTER_TEXTS.get(page, FILTER_TEXT)
    await gate.wait()
    if delay_s:
        await asyncio.sleep(delay_s)
    step, ws = "opening the page", None
    try:
        start = time.perf_counter()
        path = "" if page in ("overview", BASELINE_PAGE) else page
        status, headers = await _http_get(f"{base.rstrip('/')}/{path}" + (f"?{query}" if query else ""), "", timeout_s)
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
        cookie = _cookies(headers)
        step = "opening the websocket"
        ws = await _connect(base, cookie)
        result.upstream = ws.response.headers.get("X-Upstream", "")
        step = "first view"
        cache: dict[str, bytes] = {}  # the browser's message cache: empty on a first visit
        run = await _script_run(ws, rerun_message(page, query), timeout_s, cache)
        result.first_s = time.perf_counter() - start
        result.session_id = run.session_id
        result.elements = run.deltas
        if (problem := _check(run, expect, step)) is not None:
            raise RuntimeError(problem)
        step = "filter change"
        start = time.perf_counter()
        filtered = await _script_run(ws, rerun_message(page, filter_query, run.page_hash, history=True, cached=cache),
                                     timeout_s, cache)
        result.filtered_s = time.perf_counter() - start
        result.references = filtered.references
        if (problem := _check(filtered, expect_filtered, step) or _same_page(run, filtered, step)) is not None:
            raise RuntimeError(problem)  # the filter's banner, on the same page (not the default page)
        if sticky:
            step = "reconnecting"
            await ws.close()
            start = time.perf_counter()
            ws = await _connect(base, cookie, result.session_id)
            upstream = ws.response.headers.get("X-Upstream", "")
            again = await _script_run(ws, rerun_message(page, filter_query, run.page_hash, cached=cache), timeout_s,
                                      cache)  # the browser keeps its cache across a reconnect
            result.reconnect_s = time.perf_counter() - start
            result.sticky = again.session_id == result.session_id and upstream == result.upstream
            if not result.sticky:
                raise RuntimeError(f"the session did not come back: {result.session_id} on {result.upstream or '?'} "
                                   f"became {again.session_id} on {upstream or '?'}")
            if (problem := _check(again, expect_filtered, step) or _same_page(run, again, step)) is not None:
                raise RuntimeError(problem)
    except Exception as error:  # noqa: BLE001 - every failure is a finding, reported with the visitor
        text = str(error).splitlines()[0][:300] if str(error) else ""
        result.error = text if text.startswith(step) else f"{step}: {type(error).__name__}" + (f": {text}" if text else "")
    if through is not None:
        through.tick()
    try:
        await done.wait()  # hold the session open until every visitor is through (memory is read then)
    finally:
        if ws is not None:
            await ws.close()
    return result


async def run_protocol(base: str, visitors: int, pages: list[str], query: str = "",
                       filter_query: str | list[str] = "f_gender=Female", ramp_s: float = 0.0,
                       timeout_s: float = 120.0, server_pids: list[int] | None = None,
                       sticky: bool = False) -> ProtocolResult:
    """``visitors`` protocol visitors against ``base``; visitor i opens ``pages[i % len(pages)]`` and
    changes to ``filter_query[i % len(filter_query)]`` (a list: a room trying different filters).

    ``ramp_s`` spreads the arrivals evenly over that many seconds (0: all at once).
    """
    pids = server_pids or []
    filters = [filter_query] if isinstance(filter_query, str) else list(filter_query)
    gate, done, through = asyncio.Event(), asyncio.Event(), _Countdown(visitors)
    tasks = [asyncio.create_task(visit(base, i + 1, pages[i % len(pages)], query, filters[i % len(filters)], timeout_s,
                                       ramp_s * i / max(visitors, 1), gate, done, sticky, through))
             for i in range(visitors)]
    result = ProtocolResult(url=base, page=",".join(pages), visitors=visitors, ramp_s=ramp_s, query=query,
                            filter_query=" | ".join(filters))
    result.server_rss_before_mb = rss_mb(pids)
    cpu_before = cpu_seconds(pids)
    start = time.perf_counter()
    gate.set()
    await through.wait()  # every visitor through its steps, every session still open
    result.wall_s = time.perf_counter() - start
    cpu_after = cpu_seconds(pids)
    result.server_rss_mb = rss_mb(pids)
    done.set()
    result.visits = list(await asyncio.gather(*tasks))
    if cpu_before is not None and cpu_after is not None:
        result.server_cpu_s = cpu_after - cpu_before
    return result


# --- the command ---------------------------------------------------------------------------------------------


def _line(name: str, s: dict) -> str:
    if not s["n"]:
        return f"  {name}: no visitor got there"
    return f"  {name}: p50 {s['p50']:.2f} s, p95 {s['p95']:.2f} s, max {s['max']:.2f} s ({s['n']} visitors)"


def _span(counts: Iterable[int | None]) -> str:
    """The counts' range ("47–75", or "47" when every visitor had the same; "" when none)."""
    known = sorted({c for c in counts if c is not None})
    return "" if not known else str(known[0]) if len(known) == 1 else f"{known[0]}–{known[-1]}"


def report(result: ProtocolResult, label: str = "") -> str:
    how = f"arriving over {result.ramp_s:g} s" if result.ramp_s else "at the same instant"
    lines = [f"{label or result.page}: {result.visitors} protocol visitors {how} ({result.url}), "
             f"filter {result.filter_query}"]
    lines.append(_line("first view", result.summary("first")))
    lines.append(_line("filter change", result.summary("filtered")))
    sent = _span(v.elements for v in result.visits)
    if sent:
        lines.append(f"  elements a first view sends: {sent}")
    referred = _span(v.references for v in result.visits)
    if referred:
        lines.append(f"  of a filter change's elements, sent as references to the browser's cache: {referred}")
    if result.summary("reconnect")["n"]:
        lines.append(_line("reconnect", result.summary("reconnect")))
    lines.append(f"  all through in {result.wall_s:.1f} s; errors: {len(result.errors)}")
    lines += [f"    {e}" for e in result.errors[:10]]
    if len(result.errors) > 10:
        lines.append(f"    … and {len(result.errors) - 10} more")
    if result.server_cpu_s is not None:
        lines.append(f"  server CPU {result.server_cpu_s:.1f} s ({result.server_cpu_s / max(result.visitors, 1):.2f} s "
                     f"a visitor); memory {result.server_rss_before_mb:.0f} MB before, "
                     f"{result.server_rss_mb:.0f} MB with {result.visitors} sessions open")
    if result.upstreams:
        lines.append("  processes (X-Upstream): " + ", ".join(f"{k} {v}" for k, v in sorted(result.upstreams.items()))
                     + f"; sessions that did not come back: {result.not_sticky}")
    return "\n".join(lines)


def run_sync(coro):
    """Run ``coro`` to the end and return its result, also from code that already has an event loop
    running in this thread (e.g. a test beside Playwright's sync API): then in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(coro)
        except BaseException as error:  # handed back to the caller below
            box["error"] = error

    worker = threading.Thread(target=target, name="protocol-visitors")
    worker.start()
    worker.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]



def _warm(url: str, pages: list[str], filter_query: str, timeout_s: float) -> None:
    """One visitor per page before the crowd, as the organiser would have opened the app."""
    run_sync(run_protocol(url, len(pages), pages, filter_query=filter_query, timeout_s=timeout_s))


def _span_ratios(ratios: list[float]) -> str:
    return f"{min(ratios):.1f}–{max(ratios):.1f}×"


def main(argv: list[str] | None = None) -> int:
    import argparse

    from benchmarks.load import Server

    parser = argparse.ArgumentParser(prog="python -m benchmarks.load --protocol",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--protocol", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--visitors", type=int, default=50, help="visitors (default 50)")
    parser.add_argument("--page", default="symptom_change",
                        help=f"page to open: {', '.join(PAGES)}; 'all' = each of {', '.join(WORKSHOP_PAGES)} "
                             "in turn; 'every' = every page in turn; 'mixed' = visitors spread over the first four")
    parser.add_argument("--ramp", type=float, default=0.0, help="spread arrivals over this many seconds (default 0)")
    parser.add_argument("--filter", action="append", default=[],
                        help="the filter change, as a URL query (default f_gender=Female); repeat it and visitor i "
                             "takes the i-th (modulo): a room trying different filters")
    parser.add_argument("--query", default="", help="the first view's URL query (default none)")
    parser.add_argument("--url", help="an app (or a proxy) already running; default: start `streamlit run app.py`")
    parser.add_argument("--server-pid", type=int, action="append", default=[],
                        help="with --url: a server process whose CPU and memory to report (repeatable)")
    parser.add_argument("--port", type=int,
                        help="port for the dashboard's server (the baseline's: the next one); default: free ones")
    parser.add_argument("--proxy", type=int, metavar="N",
                        help="start N streamlit processes behind nginx (deploy/nginx.conf.template) and visit through "
                             "it; --port is then nginx's (the processes take free ports)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-headline baseline app")
    parser.add_argument("--sticky", action="store_true",
                        help="drop and reopen each websocket with its session id: the session must come back")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds allowed for each step")
    parser.add_argument("--server-option", action="append", default=[],
                        help="a `streamlit run` option for the servers started here, e.g. runner.postScriptGC=true")
    parser.add_argument("--workshop-data", type=Path,
                        help="serve this file as the workshop data set (WORKSHOP_DATA) on the servers started here")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure each page (and the baseline right after it) this many times, alternating; "
                             "the ratios' median is reported (default 1)")
    parser.add_argument("--layout", choices=("page", "sections"),
                        help="the page layout of the dashboard's servers started here (PAGE_LAYOUT): every section "
                             "one after another, or one at a time (default: the environment's, else page)")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    env = {"WORKSHOP_DATA": str(args.workshop_data.resolve())} if args.workshop_data else {}
    if args.layout:
        env["PAGE_LAYOUT"] = args.layout
    if not args.url:
        print(f"the dashboard's page layout: {env.get('PAGE_LAYOUT') or os.environ.get('PAGE_LAYOUT') or 'page'}",
              flush=True)
    args.filter = args.filter or ["f_gender=Female"]
    pages = (list(WORKSHOP_PAGES) if args.page in ("all", "mixed") else list(PAGES) if args.page == "every"
             else [args.page])
    if any(p not in PAGES for p in pages):
        parser.error(f"unknown page {args.page!r}")
    extra = [f"--{o}" if "=" in o else o for o in args.server_option]
    rounds = [[p] for p in pages] if args.page in ("all", "every") else [pages]
    results: dict[str, dict] = {}

    # the baseline app has one filter, gender: other filters are measured on it as its gender filter
    base_filters = [f for f in args.filter if f.startswith("f_gender=")] or ["f_gender=Female"]

    def measure(url: str, pids: list[int], round_pages: list[str], label: str, filters: list[str] | None = None) -> dict:
        cpu = time.process_time()
        r = run_sync(run_protocol(url, args.visitors, round_pages, args.query, filters or args.filter, args.ramp,
                                   args.timeout, pids, args.sticky))
        results[label] = r.to_dict() | {"harness_cpu_s": time.process_time() - cpu}
        print(report(r, label) + f"\n  this harness's own CPU {results[label]['harness_cpu_s']:.1f} s", flush=True)
        return results[label]

    try:
        with contextlib.ExitStack() as stack:
            if args.url:
                url, pids, base_url, base_pids = args.url, args.server_pid, None, []
            elif args.proxy:
                from benchmarks.proxy import Proxy

                ports = None  # free ports for the processes; --port is nginx's
                proxy = stack.enter_context(Proxy(args.proxy, ROOT / "benchmarks" / "out", port=args.port,
                                                  server_ports=ports, extra_args=extra, env=env))
                url, pids, base_url, base_pids = proxy.url, proxy.server_pids, None, []
                for server in proxy.servers:  # each process opened once, as by the organiser
                    _warm(server.url, pages, args.filter[0], args.timeout)
            else:
                server = stack.enter_context(Server(ROOT / "benchmarks" / "out" / "protocol-streamlit.log",
                                                    port=args.port, extra_args=extra, env=env))
                url, pids, base_url, base_pids = server.url, [server.process.pid], None, []
                if not args.no_baseline:  # both servers up: each round measures the baseline right after
                    baseline = stack.enter_context(Server(
                        ROOT / "benchmarks" / "out" / "protocol-baseline.log", script="benchmarks/baseline_app.py",
                        port=args.port + 1 if args.port else None, extra_args=extra))
                    base_url, base_pids = baseline.url, [baseline.process.pid]
                    _warm(base_url, [BASELINE_PAGE], base_filters[0], args.timeout)
            _warm(url, pages, args.filter[0], args.timeout)  # the first filter only: the others are new to the server
            medians: dict[str, dict[str, float]] = {}
            for round_pages in rounds:
                name = ",".join(round_pages)
                ratios: dict[str, list[float]] = {"first": [], "filtered": []}
                for number in range(1, args.rounds + 1):
                    label = name if args.rounds == 1 else f"{name} (round {number})"
                    mine = measure(url, pids, round_pages, label)
                    if base_url is None:
                        continue
                    base = measure(base_url, base_pids, [BASELINE_PAGE], f"baseline after {label}", base_filters)
                    for step in ("first", "filtered"):
                        if mine[step]["p95"] is not None and base[step]["p95"]:
                            ratio = mine[step]["p95"] / base[step]["p95"]
                            mine.setdefault("ratio_to_baseline", {})[step] = ratio
                            ratios[step].append(ratio)
                            print(f"  {label} {step}: p95 {mine[step]['p95']:.2f} s = {ratio:.1f}× the baseline's "
                                  f"{base[step]['p95']:.2f} s (measured right after)", flush=True)
                if args.rounds > 1 and all(ratios.values()):
                    medians[name] = {step: statistics.median(found) for step, found in ratios.items()}
                    print(f"  {name}: median over {args.rounds} rounds of the p95 over the baseline's: first view "
                          f"{medians[name]['first']:.1f}× ({_span_ratios(ratios['first'])}), filter change "
                          f"{medians[name]['filtered']:.1f}× ({_span_ratios(ratios['filtered'])})", flush=True)
            if medians:
                results["median_ratio_to_baseline"] = medians
    except Exception as error:  # noqa: BLE001 - a message, not a traceback
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    visits = [r for key, r in results.items() if key != "median_ratio_to_baseline"]
    ok = all(not r["errors"] for r in visits)
    print(f"errors in all: {sum(len(r['errors']) for r in visits)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"cpus": os.cpu_count(), "args": vars(args) | {"json": str(args.json)},
                                         "results": results}, indent=1, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
