"""The workshop data set on a real server: safe numbers forced; an analyst's passcode unlocks them for
that session only. Spoken over Streamlit's websocket protocol (benchmarks/protocol.py), no browser."""

from __future__ import annotations

import asyncio

import pandas as pd
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.load import ROOT, Server
from benchmarks.protocol import _connect, rerun_message, run_sync

SAMPLE = ROOT / "data" / "sample" / "synthetic_pilot_episodes.csv"


async def _run(ws, back: bytes):
    await ws.send(back)
    elements, page_hash = [], ""
    while True:
        msg = ForwardMsg()
        msg.ParseFromString(await asyncio.wait_for(ws.recv(), 120))
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            elements = []
        elif kind == "navigation":  # the page that ran (new_session carries the entry script's hash)
            page_hash = msg.navigation.page_script_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            elements.append(msg.delta.new_element)
        elif kind == "script_finished" and msg.script_finished in (ForwardMsg.FINISHED_SUCCESSFULLY,
                                                                   ForwardMsg.FINISHED_WITH_COMPILE_ERROR):
            return elements, page_hash


def _widgets(elements) -> dict[str, object]:
    return {getattr(e, e.WhichOneof("type")).label: getattr(e, e.WhichOneof("type")) for e in elements
            if e.WhichOneof("type") in ("button", "text_input", "checkbox")}


def _alerts(elements) -> list[str]:
    return [e.alert.body for e in elements if e.WhichOneof("type") == "alert"]


def _click(page_hash: str, passcode_id: str, passcode: str, button_id: str) -> bytes:
    back = BackMsg()
    back.ParseFromString(rerun_message("recovery", "", page_hash))
    text = back.rerun_script.widget_states.widgets.add()
    text.id, text.string_value = passcode_id, passcode
    button = back.rerun_script.widget_states.widgets.add()
    button.id, button.trigger_value = button_id, True
    return back.SerializeToString()


def test_safe_numbers_are_forced_and_an_analyst_passcode_unlocks_them_for_that_session(tmp_path):
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    data = tmp_path / "room.csv"
    frame.to_csv(data, index=False)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'workshop_data = "{data}"\nanalyst_passcode = "only-analysts"\n')

    async def scenario(url: str):
        analyst, viewer = await _connect(url, ""), await _connect(url, "")
        try:
            elements, page_hash = await _run(analyst, rerun_message("recovery", ""))
            widgets = _widgets(elements)
            assert widgets["Presentation-safe numbers"].disabled and widgets["Presentation-safe numbers"].value
            assert any("workshop data set" in a for a in _alerts(elements))
            ids = widgets["Analyst passcode"].id, widgets["Unlock for me"].id
            elements, page_hash = await _run(analyst, _click(page_hash, ids[0], "wrong", ids[1]))
            assert "That passcode is not right." in _alerts(elements)
            assert _widgets(elements)["Presentation-safe numbers"].disabled
            elements, page_hash = await _run(analyst, _click(page_hash, ids[0], "only-analysts", ids[1]))
            widgets = _widgets(elements)
            assert not widgets["Presentation-safe numbers"].disabled and "Analyst passcode" not in widgets
            elements, _ = await _run(viewer, rerun_message("recovery", ""))  # the rest of the room: unchanged
            assert _widgets(elements)["Presentation-safe numbers"].disabled
        finally:
            await analyst.close()
            await viewer.close()

    with Server(ROOT / "test-artifacts" / "workshop-analyst-streamlit.log",
                extra_args=["--secrets.files", str(secrets)]) as server:
        run_sync(scenario(server.url))
    log = (ROOT / "test-artifacts" / "workshop-analyst-streamlit.log").read_text()
    assert "SYN-" not in log and "only-analysts" not in log
