"""Shared figures serialised once (dashboard/fast_elements.py): the same message as st.plotly_chart, never for an upload."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import fast_elements, shared_cache
from tests.apptest_support import open_page


@pytest.fixture(autouse=True)
def _fresh_cache():
    shared_cache.clear()
    yield
    shared_cache.clear()


def _script(fast: bool) -> None:
    import plotly.graph_objects as go
    import streamlit as st

    from dashboard import fast_elements

    figure = go.Figure(go.Bar(x=["a", "b"], y=[1.5, 2.5]), layout={"height": 320, "title": "t"})
    config = {"displaylogo": False, "toImageButtonOptions": {"filename": "x"}}
    with st.columns(2)[1]:  # inside a container, as the pages show most charts
        if fast:
            fast_elements.plotly_chart_from_spec(fast_elements.figure_spec(figure), figure, config=config, key="c",
                                                 alt="A bar chart.")
        else:
            st.plotly_chart(figure, config=config, key="c", theme=None, alt="A bar chart.")


def _chart_messages(at: AppTest) -> list[bytes]:
    return [c.proto.SerializeToString(deterministic=True) for c in at.get("plotly_chart")]


def test_the_assembled_message_is_the_one_st_plotly_chart_sends():
    assert fast_elements.available()
    plain = AppTest.from_function(_script, kwargs={"fast": False}).run()
    fast = AppTest.from_function(_script, kwargs={"fast": True}).run()
    assert not plain.exception and not fast.exception
    assert len(_chart_messages(plain)) == 1
    assert _chart_messages(fast) == _chart_messages(plain)


def test_derived_is_built_once_for_a_held_value_and_never_for_anything_else():
    figure, other = object(), object()
    shared_cache.get_or_build(("page", "k"), lambda: (figure, "takeaway"))
    builds = []
    assert shared_cache.derived(figure, "spec", lambda: builds.append(1) or "json") == "json"
    assert shared_cache.derived(figure, "spec", lambda: builds.append(1) or "other") == "json"
    assert builds == [1]
    assert shared_cache.derived(other, "spec", lambda: builds.append(1) or "json") is None  # not held: not kept
    assert builds == [1]


def test_derived_is_dropped_with_its_entry(monkeypatch):
    monkeypatch.setattr(shared_cache, "MAX_ENTRIES", 1)
    figure = object()
    shared_cache.get_or_build(("a",), lambda: figure)
    assert shared_cache.derived(figure, "spec", lambda: "json") == "json"
    shared_cache.get_or_build(("b",), lambda: 2)  # evicts ("a",)
    assert shared_cache.derived(figure, "spec", lambda: "again") is None
    assert not shared_cache._derived.get(("a",))


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/recovery.py"])
def test_sample_pages_send_the_same_charts_through_the_shared_path(page, monkeypatch):
    fast = open_page(page)
    assert shared_cache._derived, "the sample's charts were not served from the shared cache"
    fast_messages = _chart_messages(fast)
    shared_cache.clear()
    monkeypatch.setattr(fast_elements, "_AVAILABLE", False)
    plain = open_page(page)
    assert fast_messages and fast_messages == _chart_messages(plain)


def _table_script(fast: bool) -> None:
    import pandas as pd
    import streamlit as st

    from dashboard import fast_elements

    frame = pd.DataFrame({"Outcome": ["Recovery", "PHQ-9"], "Estimate": ["27.0 points", "-1.2"], "n": [19, 17]})
    st.dataframe(fast_elements.arrow_table(frame) if fast else frame, hide_index=True)


def test_a_shared_table_sends_the_same_bytes_as_its_frame():
    plain = AppTest.from_function(_table_script, kwargs={"fast": False}).run()
    fast = AppTest.from_function(_table_script, kwargs={"fast": True}).run()
    assert not plain.exception and not fast.exception
    messages = [[d.proto.SerializeToString(deterministic=True) for d in at.dataframe] for at in (plain, fast)]
    assert len(messages[0]) == 1 and messages[0] == messages[1]


def _tables(at: AppTest) -> list[bytes]:
    return [t.proto.SerializeToString(deterministic=True) for t in [*at.dataframe, *at.table]]


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/recovery.py", "pages/symptom_change.py"])
def test_sample_pages_send_the_same_tables_through_the_shared_path(page, monkeypatch):
    fast = open_page(page)
    assert any(name in ("arrow", "static-arrow") for memo in shared_cache._derived.values() for _, name in memo)
    fast_tables = _tables(fast)
    shared_cache.clear()
    monkeypatch.setattr(fast_elements, "_AVAILABLE", False)
    plain = open_page(page)
    assert fast_tables and fast_tables == _tables(plain)


def test_a_figure_nested_in_a_builder_s_tuple_of_dicts_is_held():
    """pages/adjusted.py memoises (result, (rows, {name: figure}, texts, tables)): its figures are served once."""
    shared_cache.clear()
    figure, table = object(), object()
    shared_cache.get_or_build(("nested",), lambda: ("result", (["rows"], {"rate": figure}, {"rate": "text"},
                                                               {"effects": table})))
    assert shared_cache.derived(figure, "spec", lambda: "json") == "json"
    assert shared_cache.derived(table, "arrow", lambda: "bytes") == "bytes"
    assert shared_cache.derived(object(), "spec", lambda: "json") is None  # not held: not kept
    shared_cache.clear()


def test_a_figure_in_a_results_dataclass_is_held():
    """pages/planning.py memoises a results object whose fields hold the table and the charts."""
    from dataclasses import dataclass

    @dataclass
    class Chart:
        figure: object

    @dataclass
    class Results:
        table: object
        rates: Chart

    shared_cache.clear()
    figure, table = object(), object()
    shared_cache.get_or_build(("planning",), lambda: Results(table, Chart(figure)))
    assert shared_cache.derived(figure, "spec", lambda: "json") == "json"
    assert shared_cache.derived(table, "arrow", lambda: "bytes") == "bytes"
    shared_cache.clear()


def _table_calls(fast: bool) -> list[tuple]:
    """What reaches DeltaGenerator._enqueue for one static table: (type, the proto's bytes, its layout)."""
    from streamlit.delta_generator import DeltaGenerator

    calls: list[tuple] = []
    original = DeltaGenerator._enqueue

    def record(self, delta_type, element_proto, layout_config=None, *args, **kwargs):
        if delta_type == "table":
            calls.append((delta_type, element_proto.SerializeToString(deterministic=True), layout_config))
        return original(self, delta_type, element_proto, layout_config, *args, **kwargs)

    def script(fast: bool) -> None:
        import pandas as pd
        import streamlit as st

        from dashboard import fast_elements

        cells = pd.DataFrame({"Outcome": ["Recovery", "PHQ-9"], "Estimate": ["27.0\u00a0points", "−1.2"]})
        if fast:
            fast_elements.table_from_bytes(fast_elements.table_bytes(cells), alt="rate comparisons")
        else:
            st.table(cells, hide_index=True, border="horizontal", alt="rate comparisons")

    DeltaGenerator._enqueue = record
    try:
        at = AppTest.from_function(script, kwargs={"fast": fast}).run()
    finally:
        DeltaGenerator._enqueue = original
    assert not at.exception
    return calls


def test_a_shared_static_table_s_message_and_layout_are_st_table_s():
    """table_from_bytes enqueues what st.table enqueues: the same Table proto and the same layout (width and
    height), so a table of shared data looks exactly like any other."""
    plain, fast = _table_calls(False), _table_calls(True)
    assert len(plain) == 1 and plain == fast
