"""The workshop load harness, small: protocol visitors (no browsers) against `streamlit run app.py`.

Each visitor speaks Streamlit's websocket protocol (``benchmarks/protocol.py``): first view of a page,
then a filter change through the URL query. Every visitor must get ``script_finished`` without an
exception and read the page's own text, then the "Filter active" banner.
"""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.load import ROOT, Server
from benchmarks.protocol import BASELINE_PAGE, WORKSHOP_PAGES, run_protocol


@pytest.fixture(scope="module")
def app_server():
    with Server(ROOT / "test-artifacts" / "workshop-protocol-streamlit.log") as server:
        yield server


def test_every_protocol_visitor_gets_each_page_and_its_filtered_view(app_server):
    pages = list(WORKSHOP_PAGES)
    result = asyncio.run(run_protocol(app_server.url, 2 * len(pages), pages, timeout_s=180,
                                      server_pids=[app_server.process.pid]))
    assert result.errors == []
    assert len(result.times("first")) == len(result.times("filtered")) == 2 * len(pages)
    assert {v.page for v in result.visits} == set(pages)
    assert all(v.session_id for v in result.visits)
    assert len({v.session_id for v in result.visits}) == len(result.visits)  # one session per visitor
    assert result.server_cpu_s is not None and result.server_cpu_s > 0
    assert result.server_rss_mb is not None and result.server_rss_mb > 50


def test_a_reconnect_comes_back_to_its_session(app_server):
    result = asyncio.run(run_protocol(app_server.url, 2, ["recovery"], timeout_s=180, sticky=True))
    assert result.errors == []
    assert [v.sticky for v in result.visits] == [True, True]


def test_the_harness_reports_a_page_that_does_not_show_what_it_should():
    """Against the one-headline baseline app, asking for Symptom change must be an error, not a pass."""
    with Server(ROOT / "test-artifacts" / "workshop-protocol-baseline.log",
                script="benchmarks/baseline_app.py") as server:
        wrong = asyncio.run(run_protocol(server.url, 1, ["symptom_change"], timeout_s=60))
        right = asyncio.run(run_protocol(server.url, 2, [BASELINE_PAGE], timeout_s=60))
    assert len(wrong.errors) == 1 and "lacks 'Symptom change'" in wrong.errors[0]
    assert right.errors == []
    assert len(right.times("filtered")) == 2


def test_the_recovery_scatter_measure_reruns_only_its_fragment(app_server):
    """The radio is a local widget: its change reruns the First-against-last section (st.fragment), not the page."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    from benchmarks.protocol import _connect, rerun_message

    async def scenario():
        ws = await _connect(app_server.url, "")
        try:
            await ws.send(rerun_message("recovery", ""))
            radio, page_hash = None, ""
            while True:
                msg = ForwardMsg()
                msg.ParseFromString(await asyncio.wait_for(ws.recv(), 120))
                kind = msg.WhichOneof("type")
                if kind == "new_session":
                    page_hash = msg.new_session.page_script_hash
                elif kind == "delta" and msg.delta.new_element.WhichOneof("type") == "radio":
                    if msg.delta.new_element.radio.label == "Measure":
                        radio = (msg.delta.new_element.radio.id, msg.delta.fragment_id)
                elif kind == "script_finished" and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    break
            assert radio is not None and radio[1], "the Measure radio should be drawn inside a fragment"
            back = BackMsg()
            back.ParseFromString(rerun_message("recovery", "", page_hash))
            back.rerun_script.fragment_id = radio[1]
            widget = back.rerun_script.widget_states.widgets.add()
            widget.id, widget.int_value = radio[0], 1  # the second option (GAD-7)
            await ws.send(back.SerializeToString())
            statuses, texts = [], []
            while not statuses:
                msg = ForwardMsg()
                msg.ParseFromString(await asyncio.wait_for(ws.recv(), 120))
                if msg.WhichOneof("type") == "delta" and msg.delta.new_element.WhichOneof("type") == "heading":
                    texts.append(msg.delta.new_element.heading.body)
                if msg.WhichOneof("type") == "script_finished":
                    statuses.append(msg.script_finished)
            return statuses, texts
        finally:
            await ws.close()

    statuses, texts = asyncio.run(scenario())
    assert statuses == [ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY]
    assert "Recovery and reliable change" not in texts  # the page's title was not redrawn
