"""The controls that matter on every page, in one place (the sidebar).

Each control lives in the URL (filters and safe mode with ``bind="query-params"``, the
measure synced by hand so that ``?measure=gad7`` and ``?measure=GAD-7`` both work), so it persists when
switching pages and a view can be shared as a link: the page path plus
``?measure=gad7&safe=true&f_gender=Female``.
"""

from __future__ import annotations

import streamlit as st

from analysis.compare import measure_for
from analysis.schema import column_label
from dashboard import state, ui


def _measure_label(key: str) -> str:
    """The short label ("GAD-7"): Streamlit writes the shown label into the URL (?measure=GAD-7)."""
    return measure_for(key).label


def _measure_from_url(available: list[str]) -> None:
    """Start from ``?measure=`` (a key such as gad7 or a label such as GAD-7) on a session's first run.

    Synced by hand rather than with ``bind="query-params"``, because a bound selectbox puts
    its displayed label in the URL; by hand the link can say ``?measure=gad7``.
    """
    if state.MEASURE_KEY in st.session_state and st.session_state[state.MEASURE_KEY] in available:
        return
    wanted = str(st.query_params.get(state.MEASURE_KEY, "")).strip().lower()
    match = next((k for k in available if wanted in (k.lower(), measure_for(k).label.lower())), available[0])
    st.session_state[state.MEASURE_KEY] = match


def _measure_to_url() -> None:
    value = st.session_state.get(state.MEASURE_KEY)
    if value and value != "phq9":
        st.query_params[state.MEASURE_KEY] = value
    elif state.MEASURE_KEY in st.query_params:
        del st.query_params[state.MEASURE_KEY]


def _everyone_is_no_filter(key: str, levels: tuple[str, ...]) -> None:
    """A filter set to every level keeps everyone: empty it, so it is not shown as active nor kept in the URL."""
    chosen = st.session_state.get(key) or []
    if chosen and set(map(str, chosen)) == set(levels):
        st.session_state[key] = []


# The pages that show one outcome measure at a time (their url_path): the sidebar's measure control is
# drawn there only. Elsewhere (Overview shows PHQ-9 and GAD-7 side by side) it would change nothing.
MEASURE_PAGES = ("symptom_change", "recovery", "who_benefits", "planning")
FILTERS_OPEN_KEY = "filters_open"  # the sections layout's Filters expander, drawn while open (no filter set)


def render_sidebar(page_path: str | None = None) -> None:
    """Draw the shared controls. Call once per run, before the page runs.

    ``page_path``: the url_path of the page about to run; the outcome measure is offered only on
    :data:`MEASURE_PAGES` (None: everywhere). The choice is kept, and stays in the URL, on every page.
    """
    state.track_upload_in_url()  # before the filters: they drop values the sample does not have
    state.layout()  # ?layout=sections|page on any page: remembered for the session and kept in its links
    dataset = state.current_dataset()
    with st.sidebar:
        st.markdown("### Data")
        if st.session_state.get(state.UPLOAD_KEY) is not None:
            upload = st.session_state[state.UPLOAD_KEY]
            shared = state.shared_dataset()
            choice = st.radio("Show", ["upload", "sample"], key=state.SOURCE_KEY,
                              format_func=lambda v: "Your uploaded file" if v == "upload"
                              else ("Workshop data set" if state.is_workshop(shared) else "Bundled synthetic sample"))
            st.text(upload.name)  # a file name is user text: shown literally, never as Markdown
            dataset = upload if choice == "upload" else shared
        elif state.is_workshop(dataset):
            st.caption("The workshop data set, shared by the organiser. Upload your own on the **Data** page "
                       "(it stays private to you).")
        elif state.upload_lost():
            st.caption("Your uploaded file is not in this session any more (see the note on the page): "
                       f"{state.shared_data_words()} is shown.")
        else:
            st.caption("Bundled synthetic sample. Upload your own on the **Data** page.")
        _workshop_problem()
        if dataset.is_sample:  # which bundled sample: one pilot, or a programme of several sites
            st.radio("Sample", list(state.SAMPLE_CHOICES), key=state.SAMPLE_KEY, bind="query-params",
                     captions=[state.SAMPLE_CAPTIONS[c] for c in state.SAMPLE_CHOICES])
            dataset = state.sample_dataset()
        measures = state.filter_columns(dataset)
        available = list(dict.fromkeys(["phq9", "gad7", *_dataset_measures(dataset)]))
        _measure_from_url(available)
        if page_path is None or page_path in MEASURE_PAGES:
            # persist_state: the choice survives the pages that do not draw this control
            st.selectbox("Outcome measure", available, key=state.MEASURE_KEY, format_func=_measure_label,
                         on_change=_measure_to_url, persist_state="session",
                         help="The measure shown on Symptom change, Recovery (first against last), Who benefits "
                              "and Planning. Only measures both groups have enough people with to compare are "
                              "offered. " + "; ".join(f"{measure_for(k).label}: {measure_for(k).full_name}"
                                                      for k in available) + ".")
        _measure_to_url()  # keep the URL showing the measure on every page
        # Open when filters are active, also on a shared link's first run (before the widgets read the URL).
        active = bool(state.active_filters(dataset)) or state.filters_in_url(dataset)
        # In a room's layout, drawn once opened while no filter is set (a first view sends seven elements fewer);
        # with one set, always drawn: a filter not drawn would be dropped.
        box = ui.widgets_expander("Filters", FILTERS_OPEN_KEY, changed=active, expanded=active)
        if box is not None:
            with box:
                st.caption("Leave a filter empty to include everyone.")
                for column in measures:
                    levels = state.filter_levels(dataset, column)
                    # No "Select all": every level is the same as none (everyone), and would fill the URL.
                    st.multiselect(column_label(column), levels, key=state.FILTER_PREFIX + column,
                                   bind="query-params", select_all=False, on_change=_everyone_is_no_filter,
                                   args=(state.FILTER_PREFIX + column, tuple(levels)))
        from dashboard import national as national_controls

        national_controls.render_year_control()
        forced = state.safe_forced(dataset)
        if forced:  # the workshop data set: on for every viewer, whatever the URL says
            st.session_state[state.SAFE_KEY] = True
        st.toggle("Presentation-safe numbers", key=state.SAFE_KEY, bind="query-params", disabled=forced,
                  help="Suppress counts below 5 and round other counts to the nearest 5 "
                       "(NHS England's disclosure control), on every page and export."
                       + (" Always on for the workshop data set; an analyst with the analyst passcode can "
                          "turn it off for themselves." if forced else ""))
        if forced:
            _analyst_unlock()


def _dataset_measures(dataset: state.Dataset) -> list[str]:
    return state.dataset_measures(dataset)


def _workshop_problem() -> None:
    """Tell viewers, without quoting the file, when the organiser's workshop data set cannot be used."""
    status = state.workshop_status()
    if isinstance(status, str):
        st.warning(f"The workshop data set cannot be used: {status}. Showing the bundled synthetic sample.",
                   icon=":material/warning:")


def _analyst_unlock() -> None:
    """An analyst's passcode turns presentation-safe numbers off for their own session only."""
    if state._secret(state.ANALYST_SECRET) is None:
        return
    with st.expander("Analyst: exact numbers"):
        given = st.text_input("Analyst passcode", type="password", key="_analyst_passcode_input")
        clicked = st.button("Unlock for me", key="_analyst_unlock_button")
        if clicked:
            if state.unlock_analyst(given):
                st.rerun()
            st.error("That passcode is not right.")
