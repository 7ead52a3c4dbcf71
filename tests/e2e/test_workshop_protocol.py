"""The workshop load harness, small: protocol visitors (no browsers) against `streamlit run app.py`.

Each visitor speaks Streamlit's websocket protocol (``benchmarks/protocol.py``): first view of a page,
then a filter change through the URL query. Every visitor must get ``script_finished`` without an
exception and read the page's own text, then the "Filter active" banner.
"""

from __future__ import annotations

import pytest

from benchmarks.load import ROOT, Server
from benchmarks.protocol import BASELINE_PAGE, WORKSHOP_PAGES, run_protocol, run_sync


@pytest.fixture(scope="module")
def app_server():
    with Server(ROOT / "test-artifacts" / "workshop-protocol-streamlit.log") as server:
        yield server


def test_every_protocol_visitor_gets_each_page_and_its_filtered_view(app_server):
    pages = list(WORKSHOP_PAGES)
    result = run_sync(run_protocol(app_server.url, 2 * len(pages), pages, timeout_s=180,
                                      server_pids=[app_server.process.pid]))
    assert result.errors == []
    assert len(result.times("first")) == len(result.times("filtered")) == 2 * len(pages)
    assert {v.page for v in result.visits} == set(pages)
    assert all(v.session_id for v in result.visits)
    assert len({v.session_id for v in result.visits}) == len(result.visits)  # one session per visitor
    assert result.server_cpu_s is not None and result.server_cpu_s > 0
    assert result.server_rss_mb is not None and result.server_rss_mb > 50


def test_a_reconnect_comes_back_to_its_session(app_server):
    result = run_sync(run_protocol(app_server.url, 2, ["recovery"], timeout_s=180, sticky=True))
    assert result.errors == []
    assert [v.sticky for v in result.visits] == [True, True]


def test_the_harness_reports_a_page_that_does_not_show_what_it_should():
    """Against the one-headline baseline app, asking for Symptom change must be an error, not a pass."""
    with Server(ROOT / "test-artifacts" / "workshop-protocol-baseline.log",
                script="benchmarks/baseline_app.py") as server:
        wrong = run_sync(run_protocol(server.url, 1, ["symptom_change"], timeout_s=60))
        right = run_sync(run_protocol(server.url, 2, [BASELINE_PAGE], timeout_s=60))
    assert len(wrong.errors) == 1 and "lacks 'Symptom change'" in wrong.errors[0]
    assert right.errors == []
    assert len(right.times("filtered")) == 2
