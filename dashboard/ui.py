"""Display helpers the pages share: banners, charts with takeaways and downloads, tables with downloads.

Text from a data file is always shown as text (``st.text``/dataframes), never as
Markdown or HTML, so a participant id of ``<script>`` or ``**x**`` shows literally.
"""

from __future__ import annotations

import contextlib
import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis import formatting as fmt
from analysis.disclosure import SAFE_MODE_NOTE, count_shown, safe_rate
from analysis.export import table_to_csv_bytes, table_to_xlsx_bytes
from analysis.figures.svg import figure_to_svg, svg_unavailable_reason
from analysis.figures.theme import chart_config, fit_layout, text_lines
from analysis.results import Rate
from analysis.schema import column_label
from dashboard import fast_elements, shared_cache
from dashboard.state import LAYOUT_SECTIONS, Context, layout, shared_data_words, upload_lost

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>$])")


def md_escape(text: object) -> str:
    r"""User text made inert inside Markdown: specials backslash-escaped, ``<`` and ``&`` as entities.

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
        st.warning(upload_lost_message(), icon=":material/sync_problem:")
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


def upload_lost_message() -> str:
    """Why the upload a link or refresh named is gone, and what the pages show meanwhile (the workshop data set
    when the organiser serves one)."""
    return ("**Your uploaded file is no longer in this session.** Refreshing the page or opening a link starts a "
            "new session, and an upload is kept only in the session that received it (it is never saved). These "
            f"pages show {shared_data_words()} until you upload the file again on the **Data** page; this page and "
            "the link's filters are kept for it.")


def count_text(ctx: Context, n: int | None, short: bool = False) -> str:
    """A count as shown: suppressed/rounded in safe mode ("fewer than 5", or with ``short`` "<5": for a
    metric tile that shares its row with three others, where the words are cut)."""
    return fmt.MISSING if n is None else count_shown(n, ctx.safe, short=short)


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


def plain_text(markdown: str) -> str:
    """Markdown as a screen reader should hear it: emphasis marks, escapes and entities removed.

    >>> plain_text(r"**Takeaway:** 63% \\(41% to 81%\\) &lt;x&gt;")
    'Takeaway: 63% (41% to 81%) <x>'
    """
    import html

    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|~>$])", r"\1", re.sub(r"(?<!\\)(\*\*|__)", "", markdown))
    return html.unescape(text)


def chart_alt(figure: go.Figure, takeaway: str) -> str:
    """The chart's text equivalent for screen readers: its title, then its takeaway."""
    title = " ".join(text_lines(figure.layout.title.text)).strip()
    message = plain_text(takeaway).strip()
    return f"Chart: {title}. {message}" if title else f"Chart. {message}"


SVG_BUTTON = "Download SVG"
SVG_HELP = ("This chart as a vector image (SVG) for reports and slides, drawn on the server when you click. "
            "The camera button in the chart's toolbar saves a PNG.")


def chart(figure: go.Figure, name: str, takeaway: str, key: str | None = None,
          width_px: float | None = None) -> None:
    """A chart with its one-sentence takeaway under it (its text equivalent), and its downloads.

    Both are named after the chart (``slug(name)``): the camera button in the chart's toolbar
    saves ``<slug>.png`` (drawn by the visitor's browser), and a "Download SVG" button under the
    takeaway saves ``<slug>.svg``, drawn on the server by ``figure_to_svg`` only when clicked.
    Where the server cannot draw SVGs (no Chromium), that button is greyed out and its help says
    why; a drawing that fails later downloads an SVG that says why (never a traceback).
    ``width_px``: the width the chart is drawn at when it sits in a column (``theme.HALF_CHART_PX``),
    so its title, axis titles, legend and notes are wrapped to fit it.
    """
    base = slug(name)
    chart_key = key or f"chart-{base}"
    # A figure of shared data (held in shared_cache) is fitted and serialised once, by one session, for every
    # visitor (fast_elements), and never changed after; any other figure is fitted and sent as before.
    spec = shared_cache.derived(figure, f"plotly-spec-{width_px}",
                                lambda: fast_elements.figure_spec(fit_layout(figure, width_px) or figure)) \
        if fast_elements.available() else None
    if spec is None:
        fit_layout(figure, width_px)  # titles, axis titles and legend wrapped and stacked to fit the page
        st.plotly_chart(figure, config=chart_config(base), key=chart_key, theme=None, alt=chart_alt(figure, takeaway))
    else:
        fast_elements.plotly_chart_from_spec(spec, figure, config=chart_config(base), key=chart_key,
                                             alt=chart_alt(figure, takeaway))
    st.markdown(f"**Takeaway:** {takeaway}")
    unavailable = svg_unavailable_reason()
    # The callable runs on click, outside this script run: it keeps this run's figure, which no
    # page changes after showing it (copying every figure on every rerun would cost more).
    st.download_button(SVG_BUTTON, lambda: figure_to_svg(figure), file_name=f"{base}.svg", mime="image/svg+xml",
                       key=f"{chart_key}-svg", on_click="ignore", icon=":material/download:",
                       disabled=unavailable is not None, help=unavailable or SVG_HELP)


MAX_STATIC_ROWS = 100  # a longer table scrolls in an interactive grid instead of filling the page
_CELL_SPECIALS = re.compile(r"([\\`*~$\[\]>#])")
_WORD_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_SHORTCODE = re.compile(r":(?=[A-Za-z0-9_+\-/]+:)")


def cell_text(value: object) -> str:
    r"""A table cell made inert for ``st.table``, which renders each cell as Markdown.

    Emphasis, code, maths, links, escapes and ``:shortcode:`` icons/emoji become literal text (a
    zero-width space after the first colon breaks a shortcode); HTML is already shown as text.
    Underscores inside words (``phq9_first``) cannot make emphasis and are left alone.

    >>> print(cell_text("**x** _y_ phq9_first $1"))
    \*\*x\*\* \_y\_ phq9_first \$1
    """
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = _CELL_SPECIALS.sub(r"\\\1", str(value))
    text = _WORD_EDGE_UNDERSCORE.sub(r"\\_", text)
    return _SHORTCODE.sub(":\u200b", text)


def static_table(frame: pd.DataFrame, alt: str | None = None) -> None:
    """A table that fits the page: every column shown, long cells wrapped (``st.table``).

    An interactive grid (``st.dataframe``) sizes columns to their text and scrolls sideways, so at
    1280 px wide tables hid whole columns with no cue, cut cells, and held keyboard focus on its
    invisible cells. Cells are shown as text (:func:`cell_text`). A table longer than
    :data:`MAX_STATIC_ROWS` rows stays a scrolling grid.
    """
    shared = held(frame)
    if len(frame) > MAX_STATIC_ROWS:
        _grid(frame, shared)
        return
    _static(frame, alt, shared=shared)


def _grid(frame: pd.DataFrame, shared: bool, **dataframe_kwargs) -> None:
    """An interactive grid; for shared data from its Arrow table made once (the same bytes as from the frame)."""
    arrow = shared_cache.derived(frame, "arrow", lambda: fast_elements.arrow_table(frame)) if shared else None
    st.dataframe(frame if arrow is None else arrow, hide_index=True, **dataframe_kwargs)


def held(frame: pd.DataFrame) -> bool:
    """True when ``frame`` is held in the shared cache (built from data every visitor shares, through
    ``state.session_memo``): then what is derived from it for display is built once for every visitor."""
    return fast_elements.available() and shared_cache.derived(frame, "held", lambda: True) is not None


# A static table wraps at spaces. A word longer than its column ("confidence/knowledge") may break only
# where it would otherwise run past the cell (``break-word``, not ``anywhere``: ``anywhere`` let the
# browser shrink a column to one character, so "0.17" drew as "0.1 / 7" and "percentage" broke).
_TABLE_STYLE = ("<style>[data-testid='stTable'] :is(th, td), [data-testid='stTable'] :is(th, td) * "
                "{ white-space: normal !important; word-break: normal !important; } "
                "[data-testid='stTable'] td, [data-testid='stTable'] td * { overflow-wrap: break-word !important; }"
                "</style>")  # headers break only between words
# A number, interval or amount ("0.17", "−5.6 to 1.3", "27 points", "5 percentage points") is one token:
# its spaces become no-break spaces so it never wraps mid-value.
_NUMBER = r"[−\-+£$]?\d[\d.,%]*"
_NUMERIC_CELL = re.compile(rf"{_NUMBER}(?:\s+(?:to|points?|percentage|pp|vs|–|-)\s*[−\-+£$]?[\d.,%]*)*")
_NUMERIC_CELL_MAX = 24
_P_VALUE = re.compile(r"\bp\s*([=<>≤≥])\s*(?=[\d.])")
# "−2.0 (−3.9 to −0.2)": an estimate and its interval may wrap before the bracket, never inside it
_ESTIMATE_AND_INTERVAL = re.compile(rf"({_NUMBER})\s+\(({_NUMBER})\s+to\s+({_NUMBER})\)")


def keep_together(text: str) -> str:
    """``text`` with no-break spaces if it is a short number, interval or amount, else unchanged.

    >>> keep_together("−5.6 to 1.3") == "−5.6\u00a0to\u00a01.3"
    True
    >>> keep_together("Recovery (finishers at caseness)")
    'Recovery (finishers at caseness)'
    >>> keep_together("−2.0 (−3.9 to −0.2)") == "−2.0 (−3.9\u00a0to\u00a0−0.2)"
    True
    """
    if len(text) <= _NUMERIC_CELL_MAX and _NUMERIC_CELL.fullmatch(text.strip()):
        return re.sub(r"\s+", "\u00a0", text.strip())
    pair = _ESTIMATE_AND_INTERVAL.fullmatch(text.strip())
    if pair:
        return f"{pair[1]} ({pair[2]}\u00a0to\u00a0{pair[3]})"
    return _P_VALUE.sub("p\u00a0\\1\u00a0", text)  # "p = 0.03" never breaks as "p = / 0.03"


def table_style() -> None:
    """How every static table wraps (:data:`_TABLE_STYLE`): drawn once a run, by the entry script (app.py)."""
    st.html(_TABLE_STYLE)


def _static(frame: pd.DataFrame, alt: str | None, shared: bool = False) -> None:
    # Shared data: the text cells' Arrow bytes are made once for every visitor, and the table's message is
    # assembled from them as st.table assembles it (tests/test_perf2_shared_charts.py compares the bytes).
    data = shared_cache.derived(frame, "static-arrow", lambda: fast_elements.table_bytes(_cells(frame))) \
        if shared else None
    if data is None:
        st.table(_cells(frame), hide_index=True, border="horizontal", alt=alt)
    else:
        fast_elements.table_from_bytes(data, alt=alt)


# A long run without spaces (a web address, "confidence/knowledge", a file's column name) gets a
# zero-width break opportunity after each separator, so it can wrap inside its column instead of pushing
# the table past the page (``break-word`` alone does not shrink a column below its longest word).
_LONG_TOKEN = re.compile(r"\S{20,}")
_TOKEN_SEPARATORS = re.compile(r"([/._?&=,;-])(?=\S)")


def breakable(text: str) -> str:
    """``text`` with a zero-width space after the separators inside any run of 20+ non-spaces.

    >>> breakable("see https://example.org/a/b") == "see https:/\u200b/\u200bexample.\u200borg/\u200ba/\u200bb"
    True
    >>> breakable("27 points")
    '27 points'
    """
    return _LONG_TOKEN.sub(lambda m: _TOKEN_SEPARATORS.sub("\\1\u200b", m.group()), text)


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    shown = frame.copy()
    shown.columns = [cell_text(c) for c in frame.columns]
    return shown.astype(object).map(lambda v: breakable(keep_together(cell_text(v)))) if len(shown) else shown


SOURCE_COLUMN = "Source"


def with_source(frame: pd.DataFrame, source: str | None) -> pd.DataFrame:
    """``frame`` as its CSV and XLSX downloads carry it: with a :data:`SOURCE_COLUMN` naming ``source`` on every
    row (published data keep their licence attribution when a table leaves the page), or as it is."""
    return frame.assign(**{SOURCE_COLUMN: source}) if source else frame


DOWNLOADS_KEY_SUFFIX = "-downloads"  # the sections layout's "Download table" menu: its key is the table's + this


def table(frame: pd.DataFrame, name: str, key: str | None = None, *, whole: bool = False,
          source: str | None = None, **dataframe_kwargs) -> None:
    """A table that fits the page (:func:`static_table`) with CSV and XLSX downloads (formulas
    neutralised), built only when clicked. A table longer than :data:`MAX_STATIC_ROWS` is an
    interactive grid (``dataframe_kwargs``, e.g. ``column_config``, apply to it) unless ``whole``
    (e.g. inside an expander, where its length costs nothing until opened).

    ``source``: the licence attribution of published figures in the table. It is shown once, under the
    table, and each download carries it on every row (:func:`with_source`); the table on the page does not
    repeat it in every row."""
    # A table of shared data (held in shared_cache) is prepared once for every visitor: its Arrow bytes
    # for a grid (the same bytes), its text cells for a static table.
    shared = held(frame)
    if not whole and (len(frame) > MAX_STATIC_ROWS or dataframe_kwargs):
        _grid(frame, shared, **dataframe_kwargs)
    else:
        _static(frame, alt=name.replace("-", " "), shared=shared)
    if source:
        st.caption(source)
    base = slug(name)
    # The callables run on click, outside this script run: a copy, unless the frame is shared (never changed).
    snapshot = frame if shared else frame.copy()
    if layout() == LAYOUT_SECTIONS:
        # One section at a time (a room's layout): the two downloads behind one button, drawn once it is opened
        # (one element instead of three for a room opening the page).
        row = st.popover("Download table", icon=":material/download:", key=f"{key or base}{DOWNLOADS_KEY_SUFFIX}",
                         on_change="rerun")
        if not row.open:
            return
    else:
        # The two buttons side by side in one block (st.columns made three, and a room's server sends every block
        # to every visitor).
        row = st.container(horizontal=True)
    row.download_button("Download CSV", lambda: table_to_csv_bytes(with_source(snapshot, source)),
                        file_name=f"{base}.csv", mime="text/csv", key=f"{key or base}-csv", on_click="ignore")
    row.download_button("Download XLSX",
                        lambda: table_to_xlsx_bytes(with_source(snapshot, source), sheet_name=name[:31]),
                        file_name=f"{base}.xlsx", key=f"{key or base}-xlsx", on_click="ignore",
                        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


_HERE = contextlib.nullcontext()  # the whole-page layout's section: drawn where the page already draws


class Sections:
    """A page's sections, laid out as the session's layout says (:func:`dashboard.state.layout`).

    ``sections`` maps each section's short name (its tab) to its heading (None: none). Whole page (``"page"``): calling
    ``section(name)`` draws the heading and returns a context that draws in place, one section after another
    as before. One section at a time (``"sections"``): the sections are tabs (Streamlit's ``st.tabs`` with
    ``on_change="rerun"``); ``section(name)`` returns the open tab's container, and None for every other tab,
    whose contents are then not drawn at all (a page sends about half its elements). Use::

        section = ui.Sections("recovery", {"Rates": "The four outcome rates", ...})
        if (box := section("Rates")) is not None:
            with box:
                ...
    """

    def __init__(self, key: str, sections: dict[str, str | None], *, level: str = "subheader") -> None:
        self.headings = dict(sections)
        self.level = level  # "header" or "subheader": how the whole-page layout draws each heading
        self.tabs: dict[str, object] | None = None
        if layout() == LAYOUT_SECTIONS:
            names = list(self.headings)
            self.tabs = dict(zip(names, st.tabs(names, key=f"{SECTIONS_KEY_PREFIX}{key}", on_change="rerun"),
                                 strict=True))

    @property
    def one_at_a_time(self) -> bool:
        return self.tabs is not None

    def __call__(self, name: str):
        if self.tabs is None:
            if self.headings[name]:
                (st.header if self.level == "header" else st.subheader)(self.headings[name])
            return _HERE
        tab = self.tabs[name]
        return tab if tab.open else None


SECTIONS_KEY_PREFIX = "sections_"  # + the page's key: session_state holds the open tab's name


def lazy_expander(label: str, key: str, expanded: bool = False, *, icon: str | None = None, keep: bool = False):
    """An expander whose contents are drawn only while it is open (Streamlit's ``.open``; opening or closing it
    reruns the page): a closed one costs the server nothing to draw or send, which a workshop room of 50
    opening the same page notices. Returns the expander when its contents should be drawn, else None.

    ``expanded`` opens it at first; the state then lives under ``key``, so a ``key`` that changes with what
    decides ``expanded`` (e.g. a filter) lets that decide again. ``keep`` draws the contents closed as well:
    for widgets holding a changed value, which Streamlit forgets once a run does not draw them.
    """
    box = st.expander(label, expanded=expanded, key=key, on_change="rerun", icon=icon)
    return box if box.open or keep else None


def widgets_expander(label: str, key: str, *, changed: bool, expanded: bool = False, icon: str | None = None):
    """An expander of widgets (filters, an analysis's choices), laid out as the session's layout says. Whole page:
    always drawn, as a plain expander. One section at a time (a room's layout): a :func:`lazy_expander`, whose
    widgets are drawn only once it is opened while ``changed`` is False (nothing set: they would only show their
    defaults); once something is changed they are drawn, open or closed, so closing it never forgets a value.
    Returns the expander when its widgets should be drawn, else None (the caller then uses the defaults)."""
    if layout() == LAYOUT_SECTIONS:
        return lazy_expander(label, key, expanded, icon=icon, keep=changed)
    return st.expander(label, expanded=expanded, icon=icon)


def not_available(message: str) -> None:
    """Say in words why something cannot be shown (never a blank chart or a traceback)."""
    st.warning(message, icon=":material/warning:")
