"""A room opening a deep link together on a freshly started server: every visitor goes through app.py.

Streamlit decides its legacy "pages/ folder" mode when a run starts; the first page to call
``dashboard.entry.require_app`` switched it off, and the other runs that had started in that mode then showed
their page without app.py: without the passcode (measured before the fix: 4-5 of 6 visitors saw Recovery's
figures on a server with a passcode) and without the sidebar. Each test starts its own server, so the race
is there to be lost. Spoken over Streamlit's websocket protocol (benchmarks/protocol.py), no browser.
"""

from __future__ import annotations

import asyncio

from benchmarks.load import ROOT, Server
from benchmarks.protocol import _connect, _script_run, rerun_message, run_sync

VISITORS = 8
APP_TITLE = "Physical activity in NHS Talking Therapies"


def _room(url: str, page: str) -> list:
    async def one():
        ws = await _connect(url, "")
        try:
            return await _script_run(ws, rerun_message(page, ""), 120)
        finally:
            await ws.close()

    async def everyone():
        return await asyncio.gather(*[one() for _ in range(VISITORS)])

    return run_sync(everyone())


def test_no_visitor_of_a_fresh_server_skips_the_passcode(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('passcode = "letmein"\n')
    with Server(ROOT / "test-artifacts" / "deep-link-race-passcode.log",
                extra_args=["--secrets.files", str(secrets)]) as server:
        runs = _room(server.url, "recovery")
    assert [r.title for r in runs] == [APP_TITLE] * VISITORS  # the passcode form's heading, for everyone
    assert not any("Recovery and reliable change" in text for r in runs for text in r.texts)
    assert all(r.deltas <= 6 and not r.exceptions for r in runs)  # the form, nothing of the page


def test_every_visitor_of_a_fresh_server_gets_the_shared_controls(tmp_path):
    with Server(ROOT / "test-artifacts" / "deep-link-race-open.log") as server:
        runs = _room(server.url, "who_benefits")
    assert [r.title for r in runs] == ["Who benefits"] * VISITORS
    assert all("### Data" in r.texts for r in runs)  # the sidebar drawn by app.py, in every visitor's run
    assert len({r.deltas for r in runs}) == 1  # the same page for everyone
