"""The controls that matter on every page, in one place (the sidebar).

Each control is bound to the URL (``bind="query-params"``), so it persists when
switching pages and a view can be shared as a link: the page path plus
``?measure=gad7&safe=true&f_gender=Female``.
"""

from __future__ import annotations

import streamlit as st

from analysis.compare import measure_for
from dashboard import state


def _measure_label(key: str) -> str:
    measure = measure_for(key)
    return f"{measure.label} — {measure.full_name}"


def render_sidebar() -> None:
    """Draw the shared controls. Call once per run, before the page runs."""
    dataset = state.current_dataset()
    with st.sidebar:
        st.markdown("### Data")
        if st.session_state.get(state.UPLOAD_KEY) is not None:
            upload = st.session_state[state.UPLOAD_KEY]
            choice = st.radio("Show", ["upload", "sample"], key=state.SOURCE_KEY,
                              format_func=lambda v: f"Your file: {upload.name}" if v == "upload"
                              else "Bundled synthetic sample")
            dataset = upload if choice == "upload" else state.sample_dataset()
        else:
            st.caption("Bundled synthetic sample. Upload your own on the **Data** page.")
        measures = state.filter_columns(dataset)
        available = list(dict.fromkeys(["phq9", "gad7", *_dataset_measures(dataset)]))
        st.selectbox("Outcome measure", available, key=state.MEASURE_KEY, format_func=_measure_label,
                     bind="query-params", help="Used on the Symptom change and Who benefits pages.")
        with st.expander("Filters", expanded=bool(state.active_filters(dataset))):
            st.caption("Leave a filter empty to include everyone.")
            for column in measures:
                levels = sorted(dataset.episodes[column].dropna().astype(str).unique())
                st.multiselect(column.replace("_", " ").capitalize(), levels, key=state.FILTER_PREFIX + column,
                               bind="query-params")
        st.toggle("Presentation-safe numbers", key=state.SAFE_KEY, bind="query-params",
                  help="Suppress counts below 5 and round other counts to the nearest 5 "
                       "(NHS England's disclosure control), on every page and export.")


def _dataset_measures(dataset: state.Dataset) -> list[str]:
    from analysis.compare import available_measures

    return available_measures(dataset.episodes)
