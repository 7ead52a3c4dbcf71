"""Presentation mode: the story one message per screen, in large type, with the controls hidden.

Turned on by the URL parameter ``present=true`` (the Export page's toggle sets it); the slide
shown is ``slide=N`` in the URL, so a link can open a given slide. The slides are the same
:func:`analysis.report.story.build_story` slides as the PowerPoint deck and the offline report,
for the current data, filters and presentation-safe setting.

``app.py`` still draws the sidebar controls in this mode (hidden with CSS): they are bound to the
URL, and a control that is not drawn would drop its filter from the URL and the session.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import streamlit as st

from analysis.figures.theme import chart_config
from analysis.report.charts import slide_figure
from analysis.report.story import Slide, build_story
from dashboard import national as national_controls
from dashboard import state

PRESENT_PARAM: Final = "present"
SLIDE_PARAM: Final = "slide"
_TRUE: Final = frozenset({"true", "1", "yes", "on"})
CHART_HEIGHT: Final = 420

# Static CSS (no user text): hide the sidebar, its toggle and the app header; projector-sized type.
_STYLE: Final = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarNav"],
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"], .block-container { padding-top: 0.75rem !important;
    padding-bottom: 0.5rem !important; max-width: 1400px; }
h1 { font-size: 2.3rem !important; line-height: 1.15 !important; padding: 0.1rem 0 0.2rem 0 !important; }
.st-key-present-takeaway [data-testid="stText"], .st-key-present-takeaway [data-testid="stText"] * {
    font-size: 1.5rem; font-weight: 700; color: #0072B2; line-height: 1.3; font-family: inherit;
    white-space: pre-wrap; }
.st-key-present-figures [data-testid="stText"], .st-key-present-figures [data-testid="stText"] * {
    font-size: 1.2rem; line-height: 1.3; font-family: inherit; white-space: pre-wrap; }
.st-key-present-figures-wide [data-testid="stText"], .st-key-present-figures-wide [data-testid="stText"] * {
    font-size: 1.5rem; line-height: 1.35; font-family: inherit; white-space: pre-wrap; }
.st-key-present-nav button p { font-size: 1.05rem; }
</style>
"""


def is_presenting() -> bool:
    """True when the URL asks for presentation mode (``?present=true``)."""
    return str(st.query_params.get(PRESENT_PARAM, "")).strip().lower() in _TRUE


def start_presentation(slide: int = 1) -> None:
    """Enter presentation mode at ``slide`` (usable as a widget callback)."""
    st.query_params[PRESENT_PARAM] = "true"
    st.query_params[SLIDE_PARAM] = str(slide)


def stop_presentation() -> None:
    """Leave presentation mode: drop ``present`` and ``slide`` from the URL (other parameters stay)."""
    for key in (PRESENT_PARAM, SLIDE_PARAM):
        if key in st.query_params:
            del st.query_params[key]


def go_to_slide(number: int) -> None:
    """Show slide ``number`` (the Previous / Next callbacks)."""
    st.query_params[SLIDE_PARAM] = str(number)


def current_slide(total: int) -> int:
    """The slide number from the URL, clamped to 1..total (1 when missing or not a number)."""
    try:
        number = int(str(st.query_params.get(SLIDE_PARAM, "1")).strip())
    except ValueError:
        number = 1
    return min(max(number, 1), max(total, 1))


def story_for(ctx: state.Context) -> list[Slide]:
    """The story of the current view, memoised in this session for its data, filters and safe mode."""
    from dashboard import benefit  # the MIDs and costs entered on the pages

    year = national_controls.chosen_year()
    return state.session_memo(ctx, ("report-story", ctx.safe, date.today().isoformat(), year,
                                    benefit.settings_key()), lambda: build_story(
        ctx.analysis, safe=ctx.safe, filters=ctx.filters, source=ctx.dataset.name,
        excluded_rows=ctx.dataset.excluded_rows, episodes=ctx.episodes, synthetic=ctx.dataset.is_sample,
        national_year=year, extra=benefit.extra_summary(ctx)))


def _status(ctx: state.Context) -> str:
    """Which data is shown, in fixed words (no user text)."""
    source = ("synthetic sample" if ctx.dataset.is_sample else "workshop data set" if state.is_workshop(ctx.dataset)
              else "your uploaded data")
    parts = [source,
             "filtered" if ctx.filters else "everyone", "safe numbers on" if ctx.safe else "exact numbers"]
    return " · ".join(parts)


def _navigation(number: int, total: int, ctx: state.Context) -> None:
    with st.container(key="present-nav", horizontal=True, vertical_alignment="center"):
        st.button("Previous", key="present-previous", icon=":material/arrow_back:", disabled=number <= 1,
                  on_click=go_to_slide, args=(number - 1,), shortcut="Left")
        st.button("Next", key="present-next", icon=":material/arrow_forward:", disabled=number >= total,
                  on_click=go_to_slide, args=(number + 1,), shortcut="Right", type="primary")
        st.caption(f"Slide {number} of {total} · {_status(ctx)}")
        st.space("stretch")
        # Left from the script body, then a rerun draws the normal page with the cleaned URL.
        if st.button("Exit presentation", key="present-exit", icon=":material/close:", shortcut="Esc"):
            stop_presentation()
            st.rerun()


def _figures(slide: Slide, wide: bool = False) -> None:
    with st.container(key="present-figures-wide" if wide else "present-figures"):
        for bullet in slide.bullets:
            st.text("• " + bullet)  # may hold user text (file name, filter values): shown literally


def render_presentation() -> None:
    """Draw the current slide full-screen with Previous / Next / Exit controls."""
    st.html(_STYLE)
    ctx = state.context()
    slides = story_for(ctx)
    number = current_slide(len(slides))
    # Written back on every run, so the address bar always names the slide shown (also after clamping
    # an out-of-range number), ready to be copied as a link.
    st.query_params[PRESENT_PARAM] = "true"
    st.query_params[SLIDE_PARAM] = str(number)
    slide = slides[number - 1]
    _navigation(number, len(slides), ctx)
    st.title(slide.title, anchor=False)
    with st.container(key="present-takeaway"):
        st.text(slide.takeaway)
    figure = slide_figure(slide, ctx.analysis, height=CHART_HEIGHT)
    if figure is None:
        _figures(slide, wide=True)
        return
    figure.update_layout(font_size=20, title_text=None, margin=dict(t=40))
    chart_column, text_column = st.columns([3, 2], gap="large")
    with chart_column:
        st.plotly_chart(figure, config=chart_config(f"slide-{number}-{slide.key}"), theme=None,
                        key=f"present-chart-{slide.key}", alt=slide.takeaway)
    with text_column:
        _figures(slide)
