"""Charts of shared data serialised once per server process, not once per visitor.

``st.plotly_chart`` copies a figure into a dict (``to_dict``: a deep copy, arrays to base64) and
serialises it to JSON on every call: for a room of 50 opening the same page on the same data, that
is the same JSON made 50 times (about a tenth of the server's time per visit in a py-spy profile of
``python -m benchmarks.load --protocol --visitors 50 --page all``). For a figure held in
``dashboard/shared_cache.py`` (data every visitor shares: the bundled sample, a workshop data set)
the JSON is made once (``shared_cache.derived``) and the chart's message is assembled from it here,
exactly as ``st.plotly_chart`` assembles it (Streamlit 1.67's ``PlotlyMixin.plotly_chart``, the
path without selections, theme ``None``). A figure built from an upload is not held there, so it
goes through ``st.plotly_chart`` as before and nothing of it is kept.

This uses Streamlit internals (pinned in requirements.txt). ``tests/test_perf2_shared_charts.py``
checks that the message is byte for byte the one ``st.plotly_chart`` sends; if an upgrade moves
the internals, ``available()`` is False and every chart takes ``st.plotly_chart``.

Tables likewise: a shared table becomes Arrow once (Streamlit's own conversion) and ``st.dataframe``
is given that Arrow table, from which it sends the same bytes as from the frame; a shared static table's
Arrow bytes are made once and its ``st.table`` message is assembled from them (:func:`table_from_bytes`).
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

try:  # Streamlit internals: the same ones st.plotly_chart uses
    from streamlit.dataframe_util import convert_pandas_df_to_arrow_bytes, convert_pandas_df_to_arrow_table
    from streamlit.elements.lib import agent_data, agent_spec
    from streamlit.elements.lib.form_utils import current_form_id
    from streamlit.elements.lib.layout_utils import LayoutConfig, create_layout_config
    from streamlit.elements.lib.utils import compute_and_register_element_id, normalize_alt
    from streamlit.elements.plotly_chart import _plotly_data, _resolve_content_height, _resolve_content_width
    from streamlit.proto.PlotlyChart_pb2 import PlotlyChart as PlotlyChartProto
    from streamlit.proto.Table_pb2 import Table as TableProto
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx  # noqa: F401
    _AVAILABLE = True
except ImportError:  # pragma: no cover - a Streamlit whose internals moved
    _AVAILABLE = False


def available() -> bool:
    return _AVAILABLE


def figure_spec(figure: Any) -> str:
    """The JSON ``st.plotly_chart`` sends for ``figure`` (``to_dict`` then ``plotly.io.to_json``)."""
    import plotly.io
    import plotly.tools

    return plotly.io.to_json(plotly.tools.return_figure_from_figure_or_data(figure, validate_figure=True),
                             validate=False)


def plotly_chart_from_spec(spec: str, figure: Any, *, config: dict[str, Any], key: str,
                           alt: str | None = None) -> None:
    """``st.plotly_chart(figure, config=config, key=key, theme=None, alt=alt)`` given ``figure``'s ``spec``.

    ``figure`` is only read for its layout's width and height (as st.plotly_chart does).
    """
    dg = st._main  # what st.plotly_chart is bound to; _enqueue routes into the active `with` container
    proto = PlotlyChartProto()
    proto.theme = ""
    proto.form_id = current_form_id(dg)
    proto.spec = spec
    proto.config = json.dumps(config)
    normalized_alt = normalize_alt(alt)
    if normalized_alt is not None:
        proto.alt = normalized_alt
    proto.id = compute_and_register_element_id(
        "plotly_chart", user_key=key, key_as_main_identity=False, dg=dg, plotly_spec=proto.spec,
        plotly_config=proto.config, selection_mode=("points", "box", "lasso"), is_selection_activated=False,
        theme=None, width="stretch", height="content", alt=normalized_alt)
    layout_config = LayoutConfig(width=_resolve_content_width("stretch", figure),
                                 height=_resolve_content_height("content", figure))
    dg._enqueue("plotly_chart", proto, layout_config=layout_config,
                agent_props=agent_spec.element("plotly_chart", key=key,
                                               data_builder=lambda: _plotly_data(proto.spec),
                                               alt=proto.alt or None))


def table_bytes(frame: Any) -> bytes:
    """The Arrow bytes ``st.table(frame, hide_index=True)`` sends for ``frame`` (Streamlit's own conversion)."""
    return convert_pandas_df_to_arrow_bytes(frame)


def table_from_bytes(data: bytes, *, alt: str | None = None) -> None:
    """``st.table(frame, hide_index=True, border="horizontal", alt=alt)`` given ``table_bytes(frame)``
    (Streamlit 1.67's ``TableMixin.table`` for a pandas frame, without its conversion)."""
    dg = st._main
    proto = TableProto()
    proto.arrow_data.data = data
    proto.border_mode = TableProto.BorderMode.HORIZONTAL
    proto.hide_index = True
    proto.hide_header = False
    normalized_alt = normalize_alt(alt)
    if normalized_alt is not None:
        proto.alt = normalized_alt
    dg._enqueue("table", proto,
                layout_config=create_layout_config(width="stretch", height="content", allow_content_width=True,
                                                   allow_content_height=True),
                agent_props=agent_spec.element(
                    "table", data_builder=lambda: agent_data.arrow(proto.arrow_data.data,
                                                                   coordinates=dg._get_write_delta_path_str()),
                    hide_index=proto.hide_index, hide_header=proto.hide_header, caption=None, alt=normalized_alt)
                if agent_spec.is_recording() else None)


def arrow_table(frame: Any) -> Any:
    """``frame`` as the Arrow table ``st.dataframe`` makes of it (given this table, it sends the same bytes)."""
    return convert_pandas_df_to_arrow_table(frame)
