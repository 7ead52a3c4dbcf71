"""Data: bring your own file — upload, map columns, see every problem, choose what to do.

Privacy: the file is read in this session's memory only (dashboard/upload.py); a file
with identifiable data is refused before anything from it is shown. Text from the file
(names, labels, values) is only ever shown as text: in tables, ``st.text`` and select
options, never in Markdown.
"""

from dashboard.entry import require_app

require_app()

import pandas as pd
import streamlit as st

from analysis import mapping as mp
from analysis.dictionary import data_dictionary
from analysis.export import table_to_csv_bytes, table_to_xlsx_bytes
from analysis.schema import EPISODE_COLUMNS, GROUP_LABELS, GROUPS, SESSION_COLUMNS
from dashboard import state, ui, upload

NONE = "(not in my file)"
WHOLE_FILE = "whole file"
MAX_PROBLEMS_SHOWN = 1000
EAGER_DOWNLOAD_ROWS = 2000
PREVIEW_ROWS = 10
LAYOUT_LABELS = {"episode": "One row per participant (episode level)",
                 "session": "One row per participant per session (session level)"}
_MEANINGS = {c.name: c.meaning for c in (*EPISODE_COLUMNS, *SESSION_COLUMNS)}
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ctx = state.context()
WORKSHOP = state.workshop_dataset() is not None  # the organiser serves one data set to the whole room
if WORKSHOP:  # never named by its file: the room only knows it as the workshop data set
    INTRO = ("Upload your service's data to see every page with it. Everyone in the room is seeing the organiser's "
             "**workshop data set**, with presentation-safe numbers forced on"
             + (" (your analyst passcode lets you turn them off for yourself)" if state.analyst_unlocked() else "")
             + ". A file you upload here stays private to your session and replaces the workshop data set for you "
             "only: everyone else keeps seeing the workshop data set. Your file is read in this browser session's "
             "memory only: it is never saved to disk or shared with other users, and it is gone when you close the "
             "tab.")
else:
    INTRO = ("Upload your service's data to see every page with it, or keep using the bundled synthetic sample. Your "
             "file is read in this browser session's memory only: it is never saved to disk or shared with other "
             "users, and it is gone when you close the tab.")
ui.page_header("Your data", ctx, INTRO)


@state.constant_by_arguments("data-template-files")
def template_files(level: str) -> tuple[pd.DataFrame, bytes, bytes, bytes]:
    """The data dictionary as shown and the blank template's files for a layout: no user data, so made once per
    server process and handed to every session as they are (``st.cache_data`` unpickled a copy every visit, and
    the shown table's cells were prepared again each time)."""
    template = mp.blank_template(level)
    dictionary = data_dictionary(level)
    return (dictionary.drop(columns=["level"]), table_to_csv_bytes(template), table_to_xlsx_bytes(template, "data"),
            table_to_csv_bytes(dictionary))


def problems_table(report, safe: bool, names_in_file: dict[str, str] | None = None) -> pd.DataFrame:
    """The report's problems with headings for people (the value column is hidden in safe mode)."""
    frame = report.problems_frame().rename(columns={"row": "Row in your file", "participant": "Participant",
                                                    "column": "Column", "value": "Value", "rule": "Problem",
                                                    "fix": "How to fix"})
    # A whole-file problem has no row: say so rather than showing "None".
    frame["Row in your file"] = frame["Row in your file"].astype("string").fillna(WHOLE_FILE)
    frame = frame.fillna({"Participant": "", "Column": "", "Value": ""})
    if names_in_file:  # a mapped column is named as in the file, then as the dashboard reads it
        frame["Column"] = [f"{names_in_file[c]} (read as {c})" if c in names_in_file else c for c in frame["Column"]]
    return frame.drop(columns=["Value", "Participant"]) if safe else frame


def problem_downloads(attempt: upload.UploadAttempt, safe: bool, report=None):
    """The problems table and its CSV/XLSX data, built once per report (kept in this session only).

    Large reports get their files built only when the button is clicked (a 50,000-row XLSX takes seconds).
    ``report``: the report to list (default: the attempt's own).
    """
    report = attempt.report if report is None else report
    memo = st.session_state.get(upload.PROBLEMS_MEMO_KEY)
    if memo is None or memo[0] is not report or memo[1] != safe:
        frame = problems_table(report, safe, upload.column_names_in_file(attempt, report))
        if len(frame) <= EAGER_DOWNLOAD_ROWS:
            csv_data, xlsx_data = table_to_csv_bytes(frame), table_to_xlsx_bytes(frame, "validation-problems")
        else:
            def csv_data() -> bytes:
                return table_to_csv_bytes(frame)

            def xlsx_data() -> bytes:
                return table_to_xlsx_bytes(frame, "validation-problems")
        memo = (report, safe, frame, csv_data, xlsx_data)
        st.session_state[upload.PROBLEMS_MEMO_KEY] = memo
    return memo[2], memo[3], memo[4]


def show_problems(attempt: upload.UploadAttempt, report=None) -> None:
    """Every problem at once (the first 1,000 on screen), with CSV/XLSX downloads (formulas neutralised)."""
    frame, csv_data, xlsx_data = problem_downloads(attempt, ctx.safe, report)
    if len(frame) <= ui.MAX_STATIC_ROWS:  # every column, "How to fix" included, wrapped to the page
        ui.static_table(frame, alt="Problems found in your file")
    else:
        st.dataframe(frame.head(MAX_PROBLEMS_SHOWN), hide_index=True, column_config={
            "Row in your file": st.column_config.TextColumn("Row", width=60, help="The row as numbered in your file"),
            "Participant": st.column_config.TextColumn(width=100, help="The row's participant_id"),
            "Value": st.column_config.TextColumn(width="medium"),
            "Problem": st.column_config.TextColumn(width="large"),
            "How to fix": st.column_config.TextColumn(width="large")})
    if len(frame) > MAX_PROBLEMS_SHOWN:
        st.caption(f"The first {MAX_PROBLEMS_SHOWN:,} of {len(frame):,} problems are shown; the downloads list "
                   "them all.")
    left, right = st.columns(2)
    left.download_button("Download CSV", csv_data, file_name="validation-problems.csv", mime="text/csv",
                         key="problems-csv", on_click="ignore")
    right.download_button("Download XLSX", xlsx_data, file_name="validation-problems.xlsx", mime=_XLSX,
                          key="problems-xlsx", on_click="ignore")
    if ctx.safe:
        st.caption("Presentation-safe mode hides the values and participant ids from your file; turn it off to "
                   "see them.")


def show_notes(notes) -> None:
    """Notes can name the file's columns, so they are shown as plain text."""
    if notes:
        st.text("\n".join(f"• {note}" for note in notes))


def _apply_choices(digest: str, level: str, targets: tuple[str, ...]) -> None:
    """Callback of 'Use these columns': build the mapping from the widgets and re-check the file."""
    attempt = upload.current_attempt()
    if attempt is None or attempt.digest != digest:
        return
    prefix = f"map_{digest[:12]}"
    choices = {target: st.session_state.get(f"{prefix}_{target}") for target in targets}
    pa = st.session_state.get(f"{prefix}_pa") or []
    control = st.session_state.get(f"{prefix}_control") or []
    try:
        chosen = mp.mapping_from_choices({t: (None if c in (None, NONE) else c) for t, c in choices.items()},
                                         pa, control, level)
    except mp.MappingFileError as error:
        upload.mapping_failed(str(error))
        return
    upload.apply_user_mapping(chosen)


def mapping_section(attempt: upload.UploadAttempt) -> None:
    """Match the file's columns (and group labels) to the ones the dashboard needs."""
    st.subheader("Match your columns")
    st.markdown("For each column the dashboard needs, choose the column of your file that holds it. The likely "
                "match is suggested; columns you do not choose are kept as they are (usable as subgroups).")
    prefix = f"map_{attempt.digest[:12]}"
    level = st.radio("Your file has", list(mp.LEVELS), format_func=LAYOUT_LABELS.get, key=f"{prefix}_level",
                     index=list(mp.LEVELS).index(attempt.mapping.level or attempt.level), horizontal=True)
    columns = attempt.columns
    chosen = {t: s for s, t in attempt.mapping.columns.items()} if attempt.mapping.level in (None, level) else {}
    suggested = {t: s for s, t in mp.suggest_columns(columns, level).items() if t}
    required = list(mp.required_targets(level)) + (["session_number", "session_date"] if level == "session" else [])
    optional = [t for t in mp.targets(level) if t not in required]

    def picker(target: str) -> None:
        source = chosen.get(target) or (target if target in columns else suggested.get(target))
        options = [NONE, *columns]
        st.selectbox(f"`{target}`", options, index=options.index(source) if source in options else 0,
                     key=f"{prefix}_{target}", help=_MEANINGS.get(target))

    grid = st.columns(3)
    for i, target in enumerate(required):
        with grid[i % 3]:
            picker(target)
    if level == "session":
        st.caption("Session level needs `session_number` or `session_date` (or both).")
    with st.expander("Optional columns"):
        grid = st.columns(3)
        for i, target in enumerate(optional):
            with grid[i % 3]:
                picker(target)

    group_column = st.session_state.get(f"{prefix}_group")
    if group_column and group_column != NONE and attempt.raw is not None:
        labels = mp.unrecognised_labels(attempt.raw.frame[group_column])
        if labels is None:
            ui.not_available("The column chosen for `group` has too many different values to be the group: "
                             "choose the column that says which group each participant was in.")
        elif labels:
            st.markdown("**Group labels.** Your group column has labels the dashboard does not know. Say which "
                        "mean physical activity and which mean control (leave out any that are neither).")
            suggested_groups = {label: attempt.mapping.groups.get(label) or mp.suggest_group(label)
                                for label in labels}
            left, right = st.columns(2)
            left.multiselect(f"Labels meaning **{GROUP_LABELS[GROUPS[0]].lower()}**", labels,
                             default=[lab for lab, g in suggested_groups.items() if g == GROUPS[0]],
                             key=f"{prefix}_pa")
            right.multiselect(f"Labels meaning **{GROUP_LABELS[GROUPS[1]].lower()}**", labels,
                              default=[lab for lab, g in suggested_groups.items() if g == GROUPS[1]],
                              key=f"{prefix}_control")
    st.button("Use these columns", type="primary", on_click=_apply_choices,
              args=(attempt.digest, level, tuple(required + optional)), key=f"{prefix}_apply")
    if attempt.mapping_error:
        st.error("That mapping cannot be used:", icon=":material/warning:")
        st.text(attempt.mapping_error)  # names the file's columns


def mapping_first(attempt: upload.UploadAttempt) -> None:
    """Columns or group labels still unmatched: lead with the mapping, and judge the file as it will be mapped.

    A file that only names its columns its own way is not an error: the page says what to do first,
    then lists only the problems the file has with the suggested columns (``attempt.preview``).
    """
    codes = {p.code for p in attempt.report.problems}
    what = ("its columns and its groups" if {"missing_column", "group_unknown"} <= codes
            else "its columns" if "missing_column" in codes else "its groups")
    st.info(f"Your file names {what} its own way. Match them to the dashboard's first: the likely matches are "
            "already chosen below. Check them and press **Use these columns**; the file is then checked as it "
            "will be used.", icon=":material/swap_horiz:")
    st.text(f"File: {attempt.name}")
    if not ctx.dataset.is_sample:
        st.caption("Until then, the pages keep showing the data named at the top of this page.")
    show_notes(attempt.report.notes)
    header_section(attempt)
    mapping_section(attempt)
    st.subheader("What the check finds with these columns")
    preview = attempt.preview
    if preview is None:
        st.markdown("No column of your file could be matched for you. What the dashboard needs and did not find:")
        show_problems(attempt)
    elif not preview.problems:
        st.success("With the columns suggested above, the check finds no problem in your file: press **Use these "
                   "columns** to analyse it.", icon=":material/check_circle:")
    else:
        count = len(preview.problems)
        st.warning(f"With the columns suggested above, the check finds {count:,} problem{'s' if count != 1 else ''} "
                   "to fix (or to match above). Each is listed with its row as numbered in your file.",
                   icon=":material/warning:")
        show_problems(attempt, preview)


def header_section(attempt: upload.UploadAttempt) -> None:
    """Where the column headings were read from, and a way to choose another row (title rows above them)."""
    raw = attempt.raw
    if raw is None or raw.file_format == "parquet":
        return
    where = "line" if raw.file_format == "csv" else "row"
    codes = {p.code for p in attempt.report.problems}
    ragged = "ragged_row" in codes
    if raw.header_row == 1 and not codes & {"ragged_row", "missing_column"}:
        return  # headings on the first row and nothing to suggest otherwise: nothing to choose
    with st.expander(f"Column headings: read from {where} {raw.header_row} of your file", expanded=ragged):
        st.caption("Exports from reporting systems often have a title or notes above the headings. They were looked "
                   "for and left out (the notes above say so); if the wrong row was taken, say where the headings are.")
        key = f"header_row_{attempt.digest[:12]}"
        chosen = st.number_input(f"The column headings are on {where}", min_value=1, step=1,
                                 value=int(raw.header_row), key=key)
        st.button("Read the file again from there", key=f"{key}_apply", on_click=upload.reread_with_header,
                  args=(chosen,), disabled=int(chosen) == raw.header_row)


def exclusion_section(attempt: upload.UploadAttempt) -> None:
    rows = attempt.report.row_problem_rows
    st.subheader("Or analyse the rest")
    st.markdown(f"You can exclude the **{len(rows):,} row(s)** listed above and analyse the others. Nothing is "
                "changed in your file; the exclusion and its count stay visible on every page and in every "
                "export." + (" At session level, all rows of a participant with a problem row are excluded."
                             if attempt.report.level == "session" else ""))
    agreed = st.checkbox("I want to exclude the rows with problems", key=f"exclude_ok_{attempt.digest[:12]}")
    st.button("Exclude these rows and analyse the rest", disabled=not agreed, on_click=upload.exclude_problem_rows,
              key=f"exclude_{attempt.digest[:12]}")


def ready_section(attempt: upload.UploadAttempt) -> None:
    dataset = st.session_state.get(state.UPLOAD_KEY)
    if dataset is None:
        return
    in_use = not ctx.dataset.is_sample and ctx.dataset.token == dataset.token
    if in_use:
        st.success("Your file is valid and every page now shows it" + (
            " to you; everyone else in the room still sees the workshop data set." if WORKSHOP else "."),
            icon=":material/check_circle:")
    else:
        st.info(f"Your file is valid. The pages are showing {state.shared_data_words('the bundled sample')} at the "
                "moment.", icon=":material/info:")
    st.text(f"File: {attempt.name}")
    analysis = state.current_analysis(dataset, {})
    totals = analysis.finishers
    columns = [*st.columns(2), *st.columns(2)]  # two tiles a row: four in one cut their labels at 1280 px
    for column, group in zip(columns[:2], GROUPS, strict=True):
        column.metric(f"{GROUP_LABELS[group]}: participants", ui.count_text(ctx, int(totals.loc[group, "participants"])))
    columns[2].metric("Finished treatment (analysed)", ui.count_text(ctx, sum(analysis.n_finishers.values())))
    columns[3].metric("Layout", "sessions" if dataset.level == "session" else "one row each")
    if dataset.excluded_rows:
        st.warning(f"{len(dataset.excluded_rows):,} row(s) with problems were excluded at your request; every page "
                   "says so.")
    show_notes(attempt.report.notes)
    header_section(attempt)
    left, middle, right = st.columns(3)
    if in_use:
        left.button(f"Return to {state.shared_data_words('the bundled sample')}", on_click=state.use_sample,
                    key="use_sample")
    else:
        left.button("Show my file on every page", on_click=upload.show_upload, type="primary", key="show_upload")
    middle.button("Forget my file", on_click=upload.forget, key="forget_upload",
                  help="Removes your file from this session. Closing the tab does the same.")
    if not attempt.mapping.empty:
        right.download_button("Save this column mapping (.json)", mp.mapping_to_json(attempt.mapping),
                              file_name="column-mapping.json", mime="application/json", on_click="ignore",
                              key="mapping_download", help="Upload it next time to match the columns at once.")
    with st.expander("Preview the data as read (first rows)"):
        if ctx.safe:
            st.caption("Hidden in presentation-safe mode: it shows individual participants.")
        else:
            st.dataframe(dataset.episodes.head(PREVIEW_ROWS), hide_index=True)


# --- 1. upload ----------------------------------------------------------------------------------
st.subheader("Upload a file")
st.file_uploader("CSV, Excel (.xlsx) or Parquet: one row per participant, or one row per session",
                 type=upload.DATA_FILE_TYPES, key=upload.uploader_key(), on_change=upload.on_file_change,
                 help="Pseudonymised data only: files with names, NHS numbers, dates of birth, postcodes, e-mail "
                      "addresses or phone numbers are refused.")
attempt = upload.current_attempt()
if attempt is None and state.upload_lost():
    st.markdown("Choose the same file again above to carry on where you were, or carry on with "
                f"{state.shared_data_words('the sample')}.")
    st.button(f"Carry on with {state.shared_data_words('the bundled sample')}", on_click=state.continue_with_sample,
              key="continue_with_sample")
elif attempt is None:
    st.caption(f"No file uploaded in this session: every page shows {state.shared_data_words()}.")
elif attempt.status == upload.REFUSED:
    st.error("This file was refused because it contains identifiable data. Nothing from it has been shown, "
             "analysed or kept. Remove the column(s) listed below (or replace them with pseudonymous codes) and "
             "upload the file again.", icon=":material/block:")
    st.text(f"File: {attempt.name}")
    show_problems(attempt)
elif attempt.status == upload.UNREADABLE:
    st.error("This file cannot be read as a table.", icon=":material/block:")
    st.text(f"File: {attempt.name}")
    show_problems(attempt)
elif attempt.status == upload.PROBLEMS and attempt.lead_with_mapping:
    mapping_first(attempt)
elif attempt.status == upload.PROBLEMS:
    count = len(attempt.report.problems)
    st.error(f"{count:,} problem{'s' if count != 1 else ''} found: the file is not analysed until "
             f"{'they are' if count != 1 else 'it is'} fixed. Each is listed with its row as numbered in your "
             "file.", icon=":material/warning:")
    st.text(f"File: {attempt.name}")
    if not ctx.dataset.is_sample:
        st.caption("Until then, the pages keep showing the data named at the top of this page.")
    show_problems(attempt)
    show_notes(attempt.report.notes)
    header_section(attempt)
    if attempt.needs_mapping:
        mapping_section(attempt)
    if attempt.can_exclude:
        exclusion_section(attempt)
    elif attempt.report.row_problem_rows:
        st.caption("Rows can be excluded once the problems without a row number (whole-file problems) are fixed.")
    if not attempt.needs_mapping and st.toggle("Match your columns to the dashboard's yourself",
                                               key=f"map_open_{attempt.digest[:12]}"):
        mapping_section(attempt)
else:
    ready_section(attempt)

# --- 2. templates and the data dictionary --------------------------------------------------------
st.subheader("Template and data dictionary")
level = st.radio("Layout", list(mp.LEVELS), format_func=LAYOUT_LABELS.get, key="template_level", horizontal=True)
dictionary, template_csv, template_xlsx, dictionary_csv = template_files(level)
# Side by side in one block; each file handed over when clicked (not hashed into the media store every visit).
files = st.container(horizontal=True)
files.download_button("Blank template (CSV)", lambda: template_csv, file_name=f"template-{level}.csv",
                      mime="text/csv", on_click="ignore", key="template_csv")
files.download_button("Blank template (XLSX)", lambda: template_xlsx, file_name=f"template-{level}.xlsx",
                      mime=_XLSX, on_click="ignore", key="template_xlsx")
files.download_button("Data dictionary (CSV)", lambda: dictionary_csv, file_name=f"data-dictionary-{level}.csv",
                      mime="text/csv", on_click="ignore", key="dictionary_csv")
with st.expander("What each column means"):
    ui.static_table(dictionary, alt="What each column means")

# --- 3. a saved mapping --------------------------------------------------------------------------
with st.expander("Re-use a column mapping saved from this page"):
    st.file_uploader("Column mapping (.json)", type=["json"], key="mapping_file", on_change=upload.on_mapping_file)
    message = st.session_state.get(upload.MAPPING_MESSAGE_KEY)
    if message:
        kind, text = message
        (st.success if kind == "ok" else st.error)("Mapping file:" if kind == "error" else text)
        if kind == "error":
            st.text(text)  # may quote text from the file
    remembered = upload.remembered_mapping()
    if remembered is not None and not remembered.empty:
        st.download_button("Download the mapping used in this session (.json)", mp.mapping_to_json(remembered),
                           file_name="column-mapping.json", mime="application/json", on_click="ignore",
                           key="remembered_mapping_download")
