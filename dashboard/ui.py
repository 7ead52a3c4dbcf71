"""Display helpers the pages share: banners, charts with takeaways and downloads, tables with downloads.

Text from a data file is always shown as text (``st.text``/dataframes), never as
Markdown or HTML, so a participant id of ``<script>`` or ``**x**`` shows literally.
"""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis import formatting as fmt
from analysis.disclosure import SAFE_MODE_NOTE, count_shown, safe_rate
from analysis.export import table_to_csv_bytes, table_to_xlsx_bytes
from analysis.figures.svg import figure_to_svg, svg_unavailable_reason
from analysis.figures.theme import chart_config
from analysis.results import Rate
from analysis.schema import column_label
from dashboard import fast_elements, shared_cache
from dashboard.state import Context, upload_lost

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>$])")


def md_escape(text: object) -> str:
    """User text made inert inside Markdown: specials backslash-escaped, ``<`` and ``&`` as entities.

    >>> md_escape("**x** <script>")
    '\\*\\*x\\*\\* &lt;script&gt;'
    """
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIALS.sub(r"\\\1", value).replace("\\&gt;", "&gt;")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "table"


def page_header(title: str, ctx: Context, intro: str | None = None) -> None:
    """Title, which data is shown, active filters and safe mode — on every page."""
    st.title(title)
    if intro:
        st.markdown(intro)
    if upload_lost():  # a refresh or a link started a new session without the file: say so
        st.warning(UPLOAD_LOST, icon=":material/sync_problem:")
    data_banner(ctx)


def data_banner(ctx: Context) -> None:
    dataset = ctx.dataset
    if dataset.is_sample and dataset.token == "sample_programme":
        st.info("Showing the **bundled synthetic programme**: six invented sites of invented participants, one of "
                "them calibrated to be an outlier (see the **Sites** page). Choose the pilot sample in the sidebar, "
                "or upload your own data on the **Data** page.", icon=":material/info:")
    elif dataset.is_sample:
        st.info("Showing the **bundled synthetic sample**: invented participants calibrated to the published "
                "Community Living Well pilot figures. Upload your own data on the **Data** page.", icon=":material/info:")
    elif dataset.shared:  # an operator's workshop data set (dashboard/state.py): its file is never named
        st.info(f"Showing the **{dataset.name.lower()}**, the same for everyone in the room. Upload your own "
                "data on the **Data** page: it stays private to you.", icon=":material/groups:")
    else:
        st.info("Showing your uploaded file:", icon=":material/description:")
        st.text(dataset.name)  # file names are user text: shown literally
    if dataset.excluded_rows:
        st.warning(f"{len(dataset.excluded_rows)} row(s) with problems were excluded at your request "
                   f"(file rows {', '.join(map(str, dataset.excluded_rows[:20]))}"
                   f"{'…' if len(dataset.excluded_rows) > 20 else ''}).")
    if ctx.filters:
        parts = [f"{md_escape(column_label(column))} = {', '.join(md_escape(v) for v in levels)}"
                 for column, levels in ctx.filters.items()]
        st.warning("Filter active: " + "; ".join(parts) + f" — {count_text(ctx, len(ctx.episodes))} of "
                   f"{count_text(ctx, len(dataset.episodes))} participants shown.", icon=":material/filter_alt:")
    if ctx.safe:
        st.success(SAFE_MODE_NOTE, icon=":material/shield:")


UPLOAD_LOST = ("**Your uploaded file is no longer in this session.** Refreshing the page or opening a link "
               "starts a new session, and an upload is kept only in the session that received it (it is never "
               "saved). These pages show the bundled synthetic sample until you upload the file again on the "
               "**Data** page; this page and the link's filters are kept for it.")


def count_text(ctx: Context, n: int | None) -> str:
    """A count as shown: suppressed/rounded in safe mode."""
    return fmt.MISSING if n is None else count_shown(n, ctx.safe)


def rate_hidden(ctx: Context, rate: Rate) -> bool:
    """True when safe mode hides this rate (its count or denominator is below 5): decided by the
    disclosure rule on the numbers, never by testing formatted text."""
    return ctx.safe and rate.rate is not None and safe_rate(rate.count, rate.denominator, rate.rate) is None


def hidden_groups(ctx: Context, groups: dict[str, Rate]) -> frozenset[str]:
    """The groups whose rate safe mode hides (:func:`rate_hidden`)."""
    return frozenset(g for g, rate in groups.items() if rate_hidden(ctx, rate))


def rate_text(ctx: Context, count: int, denominator: int, rate: float | None) -> str:
    shown = safe_rate(count, denominator, rate) if ctx.safe else rate
    return "hidden (small numbers)" if shown is None and rate is not None else fmt.percent(shown)


SVG_BUTTON = "Download SVG"
SVG_HELP = ("This chart as a vector image (SVG) for reports and slides, drawn on the server when you click. "
            "The camera button in the chart's toolbar saves a PNG.")


def chart(figure: go.Figure, name: str, takeaway: str, key: str | None = None) -> None:
    """A chart with its one-sentence takeaway under it (its text equivalent), and its downloads.

    Both are named after the chart (``slug(name)``): the camera button in the chart's toolbar
    saves ``<slug>.png`` (drawn by the visitor's browser), and a "Download SVG" button under the
    takeaway saves ``<slug>.svg``, drawn on the server by ``figure_to_svg`` only when clicked.
    Where the server cannot draw SVGs (no Chromium), that button is greyed out and its help says
    why; a drawing that fails later downloads an SVG that says why (never a traceback).
    """
    base = slug(name)
    chart_key = key or f"chart-{base}"
    # A figure of shared data (held in shared_cache) is serialised once for every visitor (fast_elements).
    spec = shared_cache.derived(figure, "plotly-spec", lambda: fast_elements.figure_spec(figure)) \
        if fast_elements.available() else None
    if spec is None:
        st.plotly_chart(figure, config=chart_config(base), key=chart_key, theme=None)
    else:
        fast_elements.plotly_chart_from_spec(spec, figure, config=chart_config(base), key=chart_key)
    st.markdown(f"**Takeaway:** {takeaway}")
    unavailable = svg_unavailable_reason()
    # The callable runs on click, outside this script run: it keeps this run's figure, which no
    # page changes after showing it (copying every figure on every rerun would cost more).
    st.download_button(SVG_BUTTON, lambda: figure_to_svg(figure), file_name=f"{base}.svg", mime="image/svg+xml",
                       key=f"{chart_key}-svg", on_click="ignore", icon=":material/download:",
                       disabled=unavailable is not None, help=unavailable or SVG_HELP)


def table(frame: pd.DataFrame, name: str, key: str | None = None, **dataframe_kwargs) -> None:
    """A table with CSV and XLSX downloads (formulas neutralised), built only when clicked."""
    # A table of shared data (held in shared_cache) becomes Arrow once for every visitor (the same bytes).
    arrow = shared_cache.derived(frame, "arrow", lambda: fast_elements.arrow_table(frame)) \
        if fast_elements.available() else None
    st.dataframe(frame if arrow is None else arrow, hide_index=True, **dataframe_kwargs)
    base = slug(name)
    # The callables run on click, outside this script run: a copy, unless the frame is shared (never changed).
    snapshot = frame if arrow is not None else frame.copy()
    left, right = st.columns(2)
    left.download_button("Download CSV", lambda: table_to_csv_bytes(snapshot), file_name=f"{base}.csv",
                         mime="text/csv", key=f"{key or base}-csv", on_click="ignore")
    right.download_button("Download XLSX", lambda: table_to_xlsx_bytes(snapshot, sheet_name=name[:31]),
                          file_name=f"{base}.xlsx", key=f"{key or base}-xlsx", on_click="ignore",
                          mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def not_available(message: str) -> None:
    """Say in words why something cannot be shown (never a blank chart or a traceback)."""
    st.warning(message, icon=":material/warning:")
