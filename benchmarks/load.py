"""Workshop load test: many people open the dashboard at once on one server.

    python -m benchmarks.load --sessions 20             # starts its own `streamlit run app.py`
    python -m benchmarks.load --sessions 20 --url http://127.0.0.1:8501   # an app already running
    python -m benchmarks.load --protocol --visitors 50 --page symptom_change   # no browsers: benchmarks/protocol.py

Each session is a fresh browser context (a new visitor, so a new Streamlit session) in one
headless Debian chromium driven by Playwright's async API; all start together. A session:

1. opens the dashboard and waits for the Overview headline (the recovery verdict, "Recovery was ...");
2. opens the sidebar's Filters, picks one level of a filter (default ``gender = Female``) in its
   multiselect, the way a person does, and waits for the headline to change;
3. reads the changed headline and checks the page shows no exception.

Reports the time to the first headline and to the changed headline (p50, p95 by nearest rank, max)
and every error. Target for a workshop: no errors and p95 time-to-headline under 5 s at 20 sessions.
Exit code 0 when the target is met, 1 when not, 2 when the test could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
HEADLINE_TEXT = "Recovery was"
TARGET_P95_S = 5.0
VIEWPORT = {"width": 1280, "height": 720}

MAIN = '[data-testid="stMainBlockContainer"]'
SIDEBAR = '[data-testid="stSidebar"]'
EXCEPTION = '[data-testid="stException"]'
HEADLINE = f"{MAIN} h4"


@dataclass
class SessionResult:
    session: int
    headline_s: float | None = None  # open the dashboard -> the verdict is on screen
    filtered_s: float | None = None  # start the filter interaction -> the changed verdict is on screen
    headline: str = ""
    filtered_headline: str = ""
    error: str | None = None


@dataclass
class LoadResult:
    url: str
    sessions: int
    filter: str
    wall_s: float
    results: list[SessionResult] = field(default_factory=list)
    ramp_s: float = 0.0
    server_cpu_s: float | None = None  # CPU the Streamlit server used during the test (when it is ours)
    machine_cpu_s: float | None = None  # busy CPU of the whole machine: server, browsers and anything else
    browser_cpu_s: float | None = None  # CPU of this test's chromium and Playwright driver processes

    @property
    def errors(self) -> list[str]:
        return [f"session {r.session}: {r.error}" for r in self.results if r.error]

    def times(self, which: str) -> list[float]:
        return sorted(getattr(r, which) for r in self.results if getattr(r, which) is not None)

    def summary(self, which: str) -> dict[str, float | None]:
        values = self.times(which)
        return {"p50": percentile(values, 50), "p95": percentile(values, 95), "max": max(values, default=None),
                "n": len(values)}

    @property
    def passed(self) -> bool:
        p95 = self.summary("headline_s")["p95"]
        complete = all(r.headline_s is not None and r.filtered_s is not None for r in self.results)
        return not self.errors and complete and p95 is not None and p95 < TARGET_P95_S

    def to_dict(self) -> dict:
        return {"url": self.url, "sessions": self.sessions, "filter": self.filter, "wall_s": self.wall_s,
                "ramp_s": self.ramp_s, "server_cpu_s": self.server_cpu_s, "machine_cpu_s": self.machine_cpu_s,
                "browser_cpu_s": self.browser_cpu_s,
                "cpus": os.cpu_count(),
                "headline": self.summary("headline_s"), "filtered": self.summary("filtered_s"),
                "errors": self.errors, "passed": self.passed, "results": [asdict(r) for r in self.results]}


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (the smallest value with at least q% of values at or below it)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def process_cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``), or None."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def browser_cpu_seconds(exclude: int | None = None) -> float | None:
    """CPU seconds of every live process descended from this one (Playwright's driver and chromium),
    including the children they have reaped, leaving out the ``exclude`` process (the server) and its own."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = sum(int(v) for v in fields[11:15]) / tick  # utime, stime, cutime, cstime
    if not parents:
        return None
    me, total = os.getpid(), 0.0
    for pid in cpu:
        chain, node = [], pid
        while node in parents and node not in (0, 1, me) and node != exclude:
            chain.append(node)
            node = parents[node]
        if node == me and pid != me:
            total += cpu[pid]
    return total


def machine_busy_seconds() -> float | None:
    """Busy CPU seconds of the whole machine so far, summed over CPUs (Linux ``/proc/stat``), or None."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle, iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# --- one visitor -----------------------------------------------------------------------------------------


async def _headline(page, timeout_ms: float, not_text: str | None = None) -> str:
    """Wait until the Overview's verdict (an h4 starting "Recovery was") is visible (and differs from ``not_text``)."""
    await page.wait_for_function(
        """([sel, start, before]) => [...document.querySelectorAll(sel)].some(
               h => h.offsetParent !== null && h.innerText.trim().startsWith(start)
                    && (before === null || h.innerText.trim() !== before))""",
        arg=[HEADLINE, HEADLINE_TEXT, not_text], timeout=timeout_ms)
    texts = await page.locator(HEADLINE).all_inner_texts()
    return next(t.strip() for t in texts if t.strip().startswith(HEADLINE_TEXT) and t.strip() != not_text)


async def _choose_filter(page, column: str, level: str, timeout_ms: float) -> None:
    """Open the sidebar's Filters expander and pick ``level`` in the ``f_<column>`` multiselect."""
    details = page.locator(f"{SIDEBAR} details").filter(has=page.locator("summary", has_text="Filters"))
    if await details.get_attribute("open", timeout=timeout_ms) is None:
        await details.locator("summary").click(timeout=timeout_ms)
    combobox = page.locator(f'{SIDEBAR} .st-key-f_{column} input[role="combobox"]')
    option = page.get_by_role("option", name=level, exact=True)
    for attempt in range(3):  # a click can land during a rerender and be lost: retry like a person would
        await combobox.click(timeout=timeout_ms)
        try:
            await option.wait_for(state="visible", timeout=min(timeout_ms, 10_000))
            break
        except Exception:
            await page.keyboard.press("Escape")
            if attempt == 2:
                raise
    await option.click(timeout=timeout_ms)
    await page.keyboard.press("Escape")  # the multiselect applies the choice when its list closes


async def _visit(browser, number: int, url: str, column: str, level: str, timeout_s: float,
                 start_gate: asyncio.Event, delay_s: float = 0.0) -> SessionResult:
    result = SessionResult(session=number)
    timeout_ms = timeout_s * 1000
    context = await browser.new_context(viewport=VIEWPORT, accept_downloads=False)
    step = "opening a browser page"
    try:
        page = await context.new_page()
        await start_gate.wait()
        if delay_s:
            await asyncio.sleep(delay_s)
        start = time.perf_counter()
        step = "loading the dashboard"
        await page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
        step = "waiting for the headline"
        result.headline = await _headline(page, timeout_ms)
        result.headline_s = time.perf_counter() - start
        start = time.perf_counter()
        step = f"choosing {column} = {level} in the sidebar"
        await _choose_filter(page, column, level, timeout_ms)
        step = "waiting for the changed headline"
        result.filtered_headline = await _headline(page, timeout_ms, not_text=result.headline)
        result.filtered_s = time.perf_counter() - start
        if await page.locator(EXCEPTION).count():
            result.error = "exception on the page: " + " | ".join(await page.locator(EXCEPTION).all_inner_texts())
    except Exception as error:  # noqa: BLE001 - every failure is a finding, reported with the session
        result.error = f"{step}: {type(error).__name__}: {str(error).splitlines()[0][:300]}"
    finally:
        await context.close()
    return result


async def _run(url: str, sessions: int, column: str, level: str, executable: str, timeout_s: float,
               ramp_s: float, server_pid: int | None) -> LoadResult:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            gate = asyncio.Event()
            tasks = [asyncio.create_task(_visit(browser, i + 1, url, column, level, timeout_s, gate,
                                                ramp_s * i / max(sessions, 1)))
                     for i in range(sessions)]
            await asyncio.sleep(0.5)  # let every context open, then release them together
            server_before, machine_before = process_cpu_seconds(server_pid), machine_busy_seconds()
            browsers_before = browser_cpu_seconds(exclude=server_pid)
            start = time.perf_counter()
            gate.set()
            results = await asyncio.gather(*tasks)
            wall = time.perf_counter() - start
            server_after, machine_after = process_cpu_seconds(server_pid), machine_busy_seconds()
            browsers = browser_cpu_seconds(exclude=server_pid)  # before closing: chromium's own time
        finally:
            await browser.close()
    server_cpu = None if server_before is None or server_after is None else server_after - server_before
    machine_cpu = None if machine_before is None or machine_after is None else machine_after - machine_before
    browser_cpu = None if browsers is None or browsers_before is None else browsers - browsers_before
    return LoadResult(url=url, sessions=sessions, filter=f"{column} = {level}", wall_s=wall, results=list(results),
                      ramp_s=ramp_s, server_cpu_s=server_cpu, machine_cpu_s=machine_cpu, browser_cpu_s=browser_cpu)


def run_load(url: str, sessions: int = 20, executable: str | None = None, column: str = "gender",
             level: str = "Female", timeout_s: float = 60.0, ramp_s: float = 0.0,
             server_pid: int | None = None) -> LoadResult:
    """Run ``sessions`` concurrent visitors against the app at ``url`` (see the module docstring).

    ``ramp_s`` spreads the arrivals evenly over that many seconds (0: all at once). With
    ``server_pid`` the server's own CPU time during the test is reported too.

    Runs its own event loop in a worker thread, so it can be called from code that already has
    one (pytest with Playwright's sync API, a notebook).
    """
    executable = executable or find_chromium()
    if executable is None:
        raise RuntimeError("chromium is not installed (/usr/bin/chromium or `chromium` on PATH)")
    from benchmarks.protocol import run_sync  # its own thread when the caller already runs an event loop

    return run_sync(_run(url, sessions, column, level, executable, timeout_s, ramp_s, server_pid))


# --- the server ---------------------------------------------------------------------------------------------


def find_chromium() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``streamlit run <script>`` (default ``app.py``) on a free port (its own process group, stopped as one), from
    ``cwd`` (default: this repository; a test may serve another tree, such as the container image's files)."""

    def __init__(self, log: Path, timeout_s: float = 60, script: str = "app.py", port: int | None = None,
                 extra_args: list[str] | None = None, env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
        self.script = script
        self.cwd = cwd
        self.port = port or _free_port()
        self.extra_args = list(extra_args or [])
        self.env = dict(env or {})
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.timeout_s = timeout_s
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "streamlit", "run", self.script, "--server.port", str(self.port),
                   "--server.address", "127.0.0.1", "--server.headless", "true",
                   "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", *self.extra_args]
        with self.log.open("w") as sink:
            self.process = subprocess.Popen(command, cwd=self.cwd, stdout=sink, stderr=subprocess.STDOUT,
                                            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env}, start_new_session=True)
        deadline = time.monotonic() + self.timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {self.process.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"streamlit did not answer within {self.timeout_s:.0f} s; see {self.log}")
            time.sleep(0.25)

    def __exit__(self, *exc: object) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _warm(url: str, executable: str, column: str, level: str, timeout_s: float) -> None:
    """One visitor before the crowd, as the presenter would have opened the app: imports and the sample's cache."""
    run_load(url, 1, executable, column, level, timeout_s)


def report(result: LoadResult) -> str:
    def line(name: str, which: str) -> str:
        s = result.summary(which)
        if not s["n"]:
            return f"{name}: no session got there"
        return (f"{name}: p50 {s['p50']:.2f} s, p95 {s['p95']:.2f} s, max {s['max']:.2f} s "
                f"({s['n']} of {result.sessions} sessions)")

    lines = [f"Load test: {result.sessions} concurrent browser sessions against one server ({result.url}), "
             f"filter {result.filter}",
             line("time to headline", "headline_s"),
             line("time to the changed headline after the filter", "filtered_s"),
             f"all sessions done in {result.wall_s:.1f} s; errors: {len(result.errors)}"]
    lines += [f"  {e}" for e in result.errors]
    if result.ramp_s:
        lines.append(f"arrivals spread over {result.ramp_s:g} s")
    if result.machine_cpu_s is not None:
        per = max(result.sessions, 1)
        cpu = (f"CPU used during the test: {result.machine_cpu_s:.1f} s on the whole machine ({os.cpu_count()} CPUs, "
               f"{result.wall_s:.1f} s)")
        if result.server_cpu_s is not None:
            cpu += f"; the Streamlit server {result.server_cpu_s:.1f} s ({result.server_cpu_s / per:.2f} s per session)"
        if result.browser_cpu_s is not None:
            cpu += f"; the test's browsers {result.browser_cpu_s:.1f} s ({result.browser_cpu_s / per:.2f} s per session)"
        lines.append(cpu)
    changed = {r.filtered_headline for r in result.results if r.filtered_headline}
    if changed:
        lines.append(f"changed headline (as read): {sorted(changed)[0][:160]}")
    lines.append(f"target (no errors, p95 time-to-headline < {TARGET_P95_S:g} s): "
                 + ("PASS" if result.passed else "FAIL"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    if "--protocol" in (sys.argv[1:] if argv is None else argv):  # browserless: benchmarks/protocol.py
        from benchmarks.protocol import main as protocol_main

        return protocol_main(argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent browser sessions (default 20)")
    parser.add_argument("--url", help="an app already running (default: start `streamlit run app.py` here)")
    parser.add_argument("--filter", default="gender=Female", help="sidebar filter to choose, column=level")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed for each step")
    parser.add_argument("--executable", help="chromium to drive (default /usr/bin/chromium)")
    parser.add_argument("--no-warm", action="store_true", help="do not open the app once before the crowd")
    parser.add_argument("--ramp", type=float, default=0.0,
                        help="spread the arrivals over this many seconds (default 0: all at once)")
    parser.add_argument("--baseline", action="store_true",
                        help="run against benchmarks/baseline_app.py (one headline, one filter, no analysis): "
                             "what Streamlit and the browsers cost on this machine before the dashboard's own work")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    column, _, level = args.filter.partition("=")
    executable = args.executable or find_chromium()
    if executable is None:
        print("error: chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    try:
        if args.url:
            if not args.no_warm:
                _warm(args.url, executable, column, level, args.timeout)
            result = run_load(args.url, args.sessions, executable, column, level, args.timeout, args.ramp)
        else:
            script = "benchmarks/baseline_app.py" if args.baseline else "app.py"
            with Server(ROOT / "benchmarks" / "out" / "load-streamlit.log", script=script) as server:
                if not args.no_warm:
                    _warm(server.url, executable, column, level, args.timeout)
                result = run_load(server.url, args.sessions, executable, column, level, args.timeout, args.ramp,
                                  server.process.pid if server.process else None)
    except Exception as error:  # noqa: BLE001 - a message, not a traceback
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    if args.baseline:
        print("Baseline: benchmarks/baseline_app.py (a headline and a filter, no data or analysis)")
    print(report(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result.to_dict(), indent=1))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
