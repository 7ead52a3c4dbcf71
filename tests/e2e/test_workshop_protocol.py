"""The workshop load harness, small: protocol visitors (no browsers) against `streamlit run app.py`.

Each visitor speaks Streamlit's websocket protocol (``benchmarks/protocol.py``): first view of a page,
then a filter change through the URL query. Every visitor must get ``script_finished`` without an
exception and read the page's own text, then the "Filter active" banner.
"""

from __future__ import annotations

import pytest

from benchmarks.load import ROOT, Server
from benchmarks.protocol import BASELINE_PAGE, WORKSHOP_PAGES, rerun_message, run_protocol, run_sync


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
    assert all(v.elements and v.elements > 20 for v in result.visits)  # what each first view sent, counted
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


def test_a_filter_change_reruns_the_page_it_was_made_on(app_server):
    """The harness reruns with the page's own hash (from the ``navigation`` message): a rerun with the entry
    script's hash falls back to the default page (Overview), and is then reported, never timed as the page."""
    from benchmarks.protocol import _connect, _same_page, _script_run

    async def scenario():
        ws = await _connect(app_server.url, "")
        try:
            first = await _script_run(ws, rerun_message("recovery", ""), 120)
            again = await _script_run(ws, rerun_message("recovery", "f_gender=Female", first.page_hash,
                                                        history=True), 120)
            fallback = await _script_run(ws, rerun_message("recovery", "f_gender=Female", first.entry_hash,
                                                           history=True), 120)
            return first, again, fallback
        finally:
            await ws.close()

    first, again, fallback = run_sync(scenario())
    assert first.title == again.title == "Recovery and reliable change"
    assert _same_page(first, again, "filter change") is None
    assert any("Filter active" in text for text in again.texts)
    assert fallback.title == "Overview"  # what the old harness timed as Recovery's filter change
    assert "not 'Recovery and reliable change'" in _same_page(first, fallback, "filter change")


def test_the_element_floor_counts_and_compares_the_elements_it_adds(capsys):
    """benchmarks/element_floor.py: the baseline with N more lines sends N more elements, and each round prints
    the p95 ratio against the plain baseline for both steps."""
    from benchmarks import element_floor

    with Server(ROOT / "test-artifacts" / "workshop-floor-plain.log", script="benchmarks/baseline_app.py") as plain, \
            Server(ROOT / "test-artifacts" / "workshop-floor-more.log", script="benchmarks/baseline_app.py",
                   env={"BASELINE_EXTRA_LINES": "7"}) as more:
        counts = [run_sync(run_protocol(s.url, 1, [BASELINE_PAGE], timeout_s=60)).visits[0].elements
                  for s in (plain, more)]
    assert counts[1] - counts[0] == 7
    assert element_floor.main(["--lines", "4", "--visitors", "3", "--rounds", "1", "--timeout", "60"]) == 0
    out = capsys.readouterr().out
    assert "7 elements (baseline + 4 lines), round 1: first p95" in out and "filtered p95" in out and "×" in out
    # the copies can run with the dashboard's server work-arounds applied (BASELINE_SERVER_FIXES=1)
    assert element_floor.main(["--lines", "4", "--visitors", "3", "--rounds", "1", "--timeout", "60",
                               "--server-fixes"]) == 0
    assert "7 elements (baseline + 4 lines), round 1: first p95" in capsys.readouterr().out


def test_every_page_can_be_visited_by_the_harness(app_server):
    """--page every: each page in the navigation is opened and filtered by protocol visitors without an error
    (the Export page's st.code once tripped the harness's text reader)."""
    from benchmarks.protocol import PAGES

    result = run_sync(run_protocol(app_server.url, len(PAGES), list(PAGES), timeout_s=180))
    assert result.errors == []
    assert {v.page for v in result.visits} == set(PAGES)


def test_the_harness_keeps_the_browsers_message_cache(app_server):
    """As the frontend does: messages the server marks cacheable (10 kB or more: National's charts) are kept,
    their hashes go with the next rerun, and what the server then sends as references is read from the cache."""
    import pytest as _pytest

    from benchmarks.protocol import _connect, _script_run

    async def scenario():
        ws = await _connect(app_server.url, "")
        cache: dict[str, bytes] = {}
        try:
            first = await _script_run(ws, rerun_message("national", ""), 120, cache)
            held = dict(cache)
            again = await _script_run(ws, rerun_message("national", "", first.page_hash, cached=cache), 120, cache)
            with _pytest.raises(RuntimeError, match="does not hold"):  # a reference the visitor cannot resolve
                await _script_run(ws, rerun_message("national", "", first.page_hash, cached=held), 120, {})
            return first, again, held
        finally:
            await ws.close()

    first, again, held = run_sync(scenario())
    assert held and first.references == 0
    assert 0 < again.references <= len(held)  # unchanged held messages came back as references, read from the cache
    assert again.title == first.title == "Against national figures"
    assert again.deltas == first.deltas and again.texts == first.texts and not again.exceptions


def test_the_harness_measures_rounds_in_a_chosen_layout(app_server, capsys, tmp_path):
    """--layout sections starts the dashboard one section at a time (a first view then sends fewer elements than
    the whole page on app_server); --rounds 2 measures the page twice, each followed by the baseline, and prints
    and records the median of the ratios."""
    import json

    from benchmarks.protocol import main

    whole = run_sync(run_protocol(app_server.url, 1, ["recovery"], timeout_s=120)).visits[0].elements
    out_json = tmp_path / "rounds.json"
    assert main(["--visitors", "2", "--page", "recovery", "--rounds", "2", "--layout", "sections",
                 "--timeout", "120", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    assert "the dashboard's page layout: sections" in out
    assert "recovery (round 1) first" in out and "recovery (round 2) filtered" in out
    assert "recovery: median over 2 rounds of the p95 over the baseline's: first view" in out
    results = json.loads(out_json.read_text())["results"]
    assert set(results["median_ratio_to_baseline"]["recovery"]) == {"first", "filtered"}
    sections = [v["elements"] for key in ("recovery (round 1)", "recovery (round 2)") for v in results[key]["visits"]]
    assert whole and all(0 < n < whole for n in sections)
