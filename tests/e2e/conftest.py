"""Real-browser tests: Playwright drives Debian's chromium against ``streamlit run app.py``.

Run them with::

    cd /work/main && python -m pytest tests/e2e -q

One Streamlit server (a free port, headless, no file watcher) serves every test in the session; each
test gets a fresh browser context at 1280×720, the projector size. Screenshots land in
``test-artifacts/screenshots/`` (gitignored) and the server's log in ``test-artifacts/e2e-streamlit.log``.

Playwright never downloads a browser here: it launches the system chromium (``/usr/bin/chromium`` or
``chromium`` on ``PATH``; set ``E2E_CHROMIUM=/path/to/chromium`` to use another build). Without it the
tests are skipped with the reason — except when ``CI=true``, where a missing browser fails the run, so
CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the tests import analysis/ and dashboard/ from the repo root
    sys.path.insert(0, str(ROOT))

ARTIFACTS = ROOT / "test-artifacts"
HEALTH_TIMEOUT_S = 60
SYSTEM_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _skip_or_fail(reason: str) -> None:
    """Skip locally; on CI (``CI=true``) a missing prerequisite is a failure, never a skip."""
    if _on_ci():
        pytest.fail(f"{reason} (CI=true, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def find_chromium() -> tuple[str | None, str]:
    """(path of the browser to drive, where we looked): ``$E2E_CHROMIUM`` if set, else the system chromium."""
    override = os.environ.get("E2E_CHROMIUM")
    if override:
        return (override if Path(override).is_file() else None), f"E2E_CHROMIUM={override}"
    if Path(SYSTEM_CHROMIUM).is_file():
        return SYSTEM_CHROMIUM, SYSTEM_CHROMIUM
    return shutil.which("chromium"), f"{SYSTEM_CHROMIUM} and `chromium` on PATH"


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Path of the system chromium, or skip (fail on CI) when there is none."""
    path, looked = find_chromium()
    if path is None:
        _skip_or_fail(f"chromium is not installed (looked for {looked})")
    return path


@pytest.fixture(scope="session")
def app_url(chromium_executable: str) -> Iterator[str]:
    """Start ``streamlit run app.py`` on a free port; yield its base URL; stop it at the end.

    The same server harness as the workshop load script (:class:`benchmarks.load.Server`: its
    own process group, file watcher off so edits during a run cannot pause the app).
    """
    from e2e_support import SERVER_LOG, server_log_tail

    from benchmarks.load import Server

    ARTIFACTS.mkdir(exist_ok=True)
    server = Server(SERVER_LOG, timeout_s=HEALTH_TIMEOUT_S)
    try:
        server.__enter__()
    except RuntimeError as error:
        pytest.fail(f"{error}:\n{server_log_tail()}", pytrace=False)
    try:
        yield server.url
    finally:
        server.__exit__(None, None, None)


@pytest.fixture(scope="session")
def chromium_browser(chromium_executable: str):
    """One system chromium for the session (not pytest-playwright's ``browser``, which wants its own build)."""
    from playwright.sync_api import sync_playwright  # a declared dev dependency (requirements-dev.txt)

    manager = sync_playwright().start()
    try:
        instance = manager.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True)
    except Exception as error:
        manager.stop()
        pytest.fail(f"could not launch {chromium_executable}: {error}", pytrace=False)
    try:
        yield instance
    finally:
        instance.close()
        manager.stop()


@pytest.fixture
def fresh_context(chromium_browser):
    """A factory of fresh browser contexts (a new Streamlit session each, like a new visitor) at 1280×720."""
    from e2e_support import VIEWPORT

    contexts = []

    def make():
        context = chromium_browser.new_context(viewport=VIEWPORT, accept_downloads=False)
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def app_page(fresh_context, app_url):
    """A page in a fresh context at 1280×720; the server is already up."""
    return fresh_context().new_page()
