"""Export and present: the story as a PowerPoint deck, an offline HTML report, or full-screen slides."""

from dashboard.entry import require_app

require_app()

from datetime import date
from urllib.parse import urlencode

import streamlit as st

from analysis.report import build_deck, build_html, report_file_name
from dashboard import benefit, presentation, state, ui
from dashboard import national as national_controls

PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

ctx = state.context()
ui.page_header("Export and present", ctx, "Take the story of the current view to a meeting: a slide deck, a "
               "report that opens without internet, or the dashboard itself in presentation mode.")

slides = presentation.story_for(ctx)
today = date.today()
names = {suffix: report_file_name(ctx.dataset.name, suffix, safe=ctx.safe, synthetic=ctx.dataset.is_sample,
                                  day=today) for suffix in (".pptx", ".html")}


def _builder(build):
    """A no-argument callable for st.download_button: the file is built only when clicked.

    It runs outside the script (Streamlit calls it on a separate thread), so it captures the
    current analysis and settings now and touches no session state.
    """
    analysis, safe, filters = ctx.analysis, ctx.safe, dict(ctx.filters)
    source, excluded, episodes, synthetic = ctx.dataset.name, ctx.dataset.excluded_rows, ctx.episodes, \
        ctx.dataset.is_sample
    extra = benefit.extra_summary(ctx)  # the MIDs and costs entered on the pages (chance of benefit, value)

    national_year = national_controls.chosen_year()  # NHS England's figures for the sidebar's year

    def make():
        return build(analysis, safe=safe, filters=filters, source=source, excluded_rows=excluded,
                     episodes=episodes, synthetic=synthetic, generated=today, national_year=national_year,
                     extra=extra)

    return make


# --- the sections: one after another, or one at a time (the session's layout, dashboard/state.py)
section = ui.Sections("export", {
    "Download": "Download the story",
    "Present": "Present on a projector",
    "Share a link": "Share a view as a link",
})

# --- downloads
if (box := section("Download")) is not None:
    with box:
        st.markdown(f"Both files hold the same {len(slides)} slides, built from the data, filters and "
                    "presentation-safe setting shown above:")
        st.markdown("\n".join(f"{i}. {slide.title}" for i, slide in enumerate(slides, start=1)))
        if ctx.safe:
            st.caption("Presentation-safe numbers are on: the files round counts to the nearest 5 and hide small numbers.")
        else:
            st.caption("Exact counts. Turn on **Presentation-safe numbers** in the sidebar before sharing outside the "
                       "evaluation team.")

        deck_column, html_column = st.columns(2)
        with deck_column:
            st.download_button("Download slide deck (.pptx)", data=_builder(build_deck), file_name=names[".pptx"],
                               mime=PPTX_MIME, key="export-deck", on_click="ignore", type="primary",
                               icon=":material/slideshow:")
            st.caption("PowerPoint, 16:9, large type. Charts are native PowerPoint charts you can restyle; each slide "
                       "has its takeaway and figures in words, and speaker notes with the methods.")
            st.text(names[".pptx"])
        with html_column:
            st.download_button("Download offline report (.html)", data=_builder(build_html), file_name=names[".html"],
                               mime="text/html", key="export-html", on_click="ignore", icon=":material/description:")
            st.caption("One file that opens in any web browser with no internet connection: interactive charts "
                       "(hover for figures) and the same figures as text. About 5 MB, because the charting library "
                       "is inside the file.")
            st.text(names[".html"])
        st.caption("Files are made in memory when you click, from the numbers on screen; nothing is written to disk.")

# --- presentation mode
if (box := section("Present")) is not None:
    with box:
        st.markdown("**Presentation mode** shows the same slides one at a time, full-screen in large type, with the "
                    "sidebar and controls hidden — one message per screen, sized for a 1280×720 projector. Step through "
                    "with **Next** and **Previous** (or the → and ← keys) and leave with **Exit presentation** (or Esc). "
                    "The slides use the data, filters and presentation-safe setting you have now.")
        st.toggle("Presentation mode", key="present_toggle", on_change=presentation.start_presentation,
                  help="Adds present=true to the page address; Exit presentation removes it.")

# --- links
if (box := section("Share a link")) is not None:
    with box:
        st.markdown("The sidebar's choices live in the page address, so a copied link opens the same view: the measure, "
                    "the filters and presentation-safe mode. Adding `present=true&slide=N` opens presentation mode at "
                    "slide N. An uploaded file is never in a link: whoever opens it sees "
                    f"{state.shared_data_words('the bundled sample')} unless they upload the same file.")
        pairs = [(key, value) for key in st.query_params for value in st.query_params.get_all(key)
                 if key not in (presentation.PRESENT_PARAM, presentation.SLIDE_PARAM)]
        query = urlencode([*pairs, (presentation.PRESENT_PARAM, "true"), (presentation.SLIDE_PARAM, "1")])
        base = (st.context.url or "").split("?")[0]
        st.caption("This view in presentation mode, from slide 1:")
        st.code(f"{base}?{query}", language=None)  # filter values are user text: a code block shows them literally
