"""Survey findings: what staff, commissioners, service users and providers told the 2022 engagement work.

Everything here comes from the December 2022 findings and recommendations report, its
one-page summary and the pilot's interview blog, transcribed in ``data/sample/`` and read
through :mod:`analysis.survey`. It does not use the uploaded outcome data. The figures
are published aggregates about survey respondents, not patient data, so what is built from the bundled
CSVs is made once per server process for every visitor (``state.constant_by_arguments``): the same
figures and tables, fitted and serialised once.

Text from the CSVs is escaped before it reaches Markdown, so it always shows literally.
"""

from dashboard.entry import require_app

require_app()

import re

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analysis import survey
from analysis.figures import survey as figures
from dashboard import state, ui

GROUPS_KEY = "survey_groups"
TOPICS_KEY = "survey_topics"
# Respondent-profile topics go in a collapsed "who responded" expander, not the main list.
PROFILE_TOPICS = ("sample", "demographics", "locations", "context")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~$])")


def _md(text: object) -> str:
    """Bundled text made safe for Markdown: special characters escaped, so it shows literally."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


@state.constant_by_arguments("survey-findings")
def _findings() -> pd.DataFrame:
    return survey.distinct_findings()


@state.constant_by_arguments("survey-recommendations")
def _recommendations() -> list[survey.RecommendationCard]:
    return survey.recommendation_cards()


def _bullets(rows: pd.DataFrame, with_organisation: bool = False, separator: str = ": ") -> str:
    return "\n".join(f"- **{_md(r['name'])}**"
                     + (f" ({_md(r['organisation'])})" if with_organisation and r["organisation"] else "")
                     + f"{separator}{_md(r['description'])}" for _, r in rows.iterrows())


@state.constant_by_arguments("survey-examples")
def _example_blocks() -> list[tuple[str, list[str]]]:
    """Appendix C and D as Markdown blocks, one expander each: [(expander title, blocks)]."""
    examples = survey.load_examples()
    innovative = []
    for kind in ("approach_type", "pilot", "innovative_approach"):
        innovative.append(f"**{_md(survey.EXAMPLE_KIND_LABELS[kind])}**")
        for organisation, part in survey.examples_by_organisation(examples, kind):
            innovative.append((f"*{_md(organisation)}*\n\n" if organisation else "") + _bullets(part))
    cases = [f"**{_md(organisation)}**\n\n" + _bullets(part, separator=" ")
             for organisation, part in survey.examples_by_organisation(examples, "case_study")]
    offers = [f"**{_md(survey.EXAMPLE_KIND_LABELS[kind])}**\n\n"
              + _bullets(examples.loc[examples["kind"] == kind], with_organisation=kind == "national_offer")
              for kind in ("national_offer", "risk_consensus_principle")]
    return [("Innovative approaches in services (report Appendix C)", innovative),
            ("Case studies: Livingwell Consortium and Camden & Islington (report Appendix C)", cases),
            ("National offers and training (report Appendix D)", offers)]


@state.constant_by_arguments("survey-interviews")
def _interviews() -> list[survey.InterviewSection]:
    return survey.interview_sections()


@state.constant_by_arguments("survey-headline")
def _headline() -> tuple[survey.SurveyHeadline, list[survey.HeadlineMetric]]:
    return survey.headline(), survey.headline_metrics()


def common_base(table: pd.DataFrame) -> str:
    """The base most of a group's findings share (said once above them), or "" when none is shared."""
    bases = table["Base"][table["Base"].astype(bool)] if len(table) else pd.Series(dtype=str)
    if bases.empty:
        return ""
    counts = bases.value_counts()
    return str(counts.index[0]) if counts.iloc[0] > 1 else ""


def _finding_items(table: pd.DataFrame, said_base: str = "") -> list[tuple[str, str | None]]:
    """Each finding as a line of Markdown (figure, statement, base, note) with its source for the tooltip.

    Topic headings are items without a tooltip. A finding whose base is ``said_base`` (stated once
    above the list) does not repeat it.
    """
    items: list[tuple[str, str | None]] = []
    topic = None
    for _, row in table.iterrows():
        if row["Topic"] != topic:
            topic = row["Topic"]
            items.append((f"**{_md(topic)}**", None))
        figure = f"**{_md(row['Figure'])}** — " if row["Figure"] else "*In words only (no figure in the text):* "
        base = f" *(base: {_md(row['Base'])})*" if row["Base"] and row["Base"] != said_base else ""
        note = f"  \n:material/warning: *{_md(row['Note'])}*" if row["Note"] else ""
        items.append((f"{figure}{_md(row['Finding'])}{base}{note}",
                      f"Source: {_md(row['Source'])} (ref {_md(row['Ref'])})"))
    return items


def _show_items(items: list[tuple[str, str | None]]) -> None:
    for text, source in items:
        st.markdown(text, help=source)


@state.constant_by_arguments("survey-charts")
def _charts(group: str, topics: tuple[str, ...]) -> list[tuple[str, go.Figure, str, list[str]]]:
    """One stakeholder group's charts for the chosen topics: [(name, figure, takeaway, notes)].

    Built once per (group, topics) and server process: themed figures are the slow part of this page. The
    same figures are handed back (not copies), fitted and serialised once for every visitor; they hold only
    the bundled, published survey figures, never uploaded data.
    """
    rows = survey.filter_findings(_findings(), group, topics or None)
    label = survey.stakeholder_label(group)
    charts = []
    barriers = survey.ranked_barriers(rows)
    if not barriers.empty:
        charts.append((f"survey-barriers-{group}",
                       figures.barriers_chart(barriers, f"{label}: barriers, most mentioned first"),
                       figures.barriers_takeaway(barriers), survey.rank_conflicts(rows)))
    for title, part in survey.mention_tables(rows):
        charts.append((f"survey-{group}-{title}", figures.barriers_chart(part, title),
                       figures.barriers_takeaway(part), []))
    agreement = survey.agreement_rows(rows)
    if not agreement.empty:
        charts.append((f"survey-views-{group}", figures.agreement_chart(agreement, f"{label}: views and experiences"),
                       figures.agreement_takeaway(agreement), survey.notes_for(agreement)))
    return charts


@state.constant_by_arguments("survey-items")
def _items(group: str, topics: tuple[str, ...]) -> tuple[list, list, str]:
    """One stakeholder group's findings as lines of text: (views and experiences, who responded, the
    base most of them share, said once above them)."""
    rows = survey.filter_findings(_findings(), group, topics or None)
    profile = rows["topic"].isin(PROFILE_TOPICS)
    main = survey.findings_table(rows.loc[~profile])
    base = common_base(main)
    return (_finding_items(main, base), _finding_items(survey.findings_table(rows.loc[profile]), base), base)


@state.constant_by_arguments("survey-table")
def _all_table(groups: tuple[str, ...], topics: tuple[str, ...]) -> pd.DataFrame:
    return survey.findings_table(survey.filter_findings(_findings(), groups or None, topics or None), with_group=True)


def _group_section(group: str, topics: tuple[str, ...], expanded: bool) -> None:
    """One stakeholder group behind its own expander: base said once, charts, findings, who responded."""
    label = survey.stakeholder_label(group)
    sample = survey.sample_for(group)
    main, profile, base = _items(group, topics)
    respondents = f" ({sample.respondents} respondents)" if sample is not None else ""
    # Drawn while open (a room's first view sends none of the groups' findings); a filter opens the sections it
    # chose, so the key changes with it.
    section = ui.lazy_expander(f"{label}{respondents}", f"survey_open_{group}_{'chosen' if expanded else 'all'}",
                               expanded=expanded)
    if section is None:
        return
    with section:
        if sample is not None:
            st.caption(f"{sample.respondents} survey respondents. {_md(sample.description)}")
        if base:
            st.caption(f"Base of every figure below unless a line says otherwise: {_md(base)}.")
        for name, figure, takeaway, notes in _charts(group, topics):
            ui.chart(figure, name, takeaway)
            if notes:
                st.caption("Notes on these figures: " + " ".join(f":material/warning: {_md(n)}" for n in notes))
        _show_items(main)
        if profile:
            st.markdown(f"**Who responded and context ({_md(label)})**")
            _show_items(profile)


def _two_quotes(sections: list[survey.InterviewSection]) -> list[tuple[str, str]]:
    """The first quote of the first two interview themes that have one: [(theme title, quote)]."""
    return [(section.title, section.quotes[0]) for section in sections if section.quotes][:2]


# --- header ------------------------------------------------------------------------------
st.title("Survey findings")
st.markdown("What NHS Talking Therapies (IAPT) staff, commissioners, service users and community physical "
            "activity providers said about physical activity in the December 2022 engagement work, its four "
            "recommendations, and what participants in the Community Living Well pilot told interviewers.")
st.info("This page shows the surveys and interviews in the **December 2022 findings and recommendations "
        "report** (and its summary and the pilot's interview blog), **not the uploaded data**. The filters in "
        "the sidebar do not apply here.", icon=":material/forum:")
if st.session_state.get(state.SAFE_KEY):
    st.caption("Presentation-safe mode does not change this page: these are published figures about survey "
               "respondents, not patient data.")

# --- the sections: one after another, or one at a time (the session's layout, dashboard/state.py)
page_sections = ui.Sections("survey", {
    "At a glance": "At a glance",
    "Findings": "Findings by stakeholder group",
    "Recommendations": "The report's four recommendations",
    "Interviews": "In participants' words: the pilot interviews",
}, level="header")
cards = _recommendations()  # published documents, the same for every visitor (made once)
sections = _interviews()

# --- the summary a stakeholder reads first: key figures, the four recommendations, two quotes -----
if (box := page_sections("At a glance")) is not None:
    with box:
        headline, metrics = _headline()
        st.markdown(f"#### {headline.sentence}")
        st.markdown(headline.detail)
        # Two tiles a row: four in one row cut their labels ("Staff: satisfied with sup…") at 1280 px.
        for start in range(0, len(metrics), 2):
            for column, metric in zip(st.columns(2), metrics[start:start + 2], strict=False):
                column.metric(metric.label, metric.value, help=f"{_md(metric.statement)} Base: {_md(metric.base)}. "
                                                                   f"Source: {_md(metric.source)}.")
        st.caption(f":material/warning: {headline.caveat} Sources: {_md(survey.SOURCE_TITLES[survey.SUMMARY_DOCUMENT])}; "
                   f"{_md(survey.SOURCE_TITLES[survey.REPORT_DOCUMENT])}.")
        summary_left, summary_right = st.columns(2, gap="large")
        with summary_left:
            st.markdown("**The report's four recommendations**")
            st.markdown("\n".join(f"{card.number}. {_md(card.title)}" for card in cards))
        with summary_right:
            st.markdown("**In participants' words**")
            for title, quote in _two_quotes(sections):
                st.markdown(f"> “{_md(quote)}”  \n> — *{_md(title)}*")
        st.caption("The other tabs give the detail behind this summary." if page_sections.one_at_a_time else
                   "Everything below gives the detail behind this summary: open a section to read it.")

# --- findings, filtered ------------------------------------------------------------------
if (box := page_sections("Findings")) is not None:
    with box:
        findings = _findings()
        left, right = st.columns(2)
        groups = left.multiselect("Stakeholder group", list(survey.STAKEHOLDER_GROUPS), key=GROUPS_KEY,
                                  format_func=lambda g: survey.stakeholder_label(g, short=True), bind="query-params",
                                  placeholder="All groups")
        topics = right.multiselect("Topic", survey.ordered_topics(findings), key=TOPICS_KEY,
                                   format_func=survey.topic_label, bind="query-params", placeholder="All topics")
        st.caption("Leave a filter empty to include everything. A finding with no figure is one the report shows only "
                   "as a chart, without numbers in its text; it is given in words, never with a made-up number. "
                   "Hover over ❔ beside a finding for its source.")
        selected = survey.filter_findings(findings, groups or None, topics or None)
        if selected.empty:
            chosen = ", ".join(survey.stakeholder_label(g) for g in groups) or "any group"
            about = ", ".join(survey.topic_label(t) for t in topics) or "any topic"
            ui.not_available(f"The report gives no findings for {chosen} on {about}. Choose another group or topic.")
        chosen_topics = tuple(sorted(topics))
        shown_groups = [g for g in survey.STAKEHOLDER_GROUPS if g in set(selected["stakeholder_group"])]
        for group in shown_groups:
            # A filtered choice opens its sections; unfiltered, each group waits behind its expander.
            _group_section(group, chosen_topics, expanded=bool(groups or topics))
        if not selected.empty:
            table_box = ui.lazy_expander("These findings as one table, with sources (CSV and XLSX downloads)",
                                         "survey_open_table")
            if table_box is not None:
                with table_box:
                    # Eight text columns of prose: here a long word may break anywhere (no figures to split), so the
                    # table fits 1280 px (ui.static_table keeps words whole elsewhere, which suits tables of numbers).
                    st.html("<style>.st-key-survey-findings-table [data-testid='stTable'] td, "
                            ".st-key-survey-findings-table [data-testid='stTable'] td * "
                            "{ overflow-wrap: anywhere !important; }</style>")
                    with st.container(key="survey-findings-table"):
                        ui.table(_all_table(tuple(sorted(groups)), chosen_topics), "survey-findings", whole=True)

# --- recommendations -----------------------------------------------------------------------
if (box := page_sections("Recommendations")) is not None:
    with box:
        recommendations_box = ui.lazy_expander("The four recommendations in full, with their short- and long-term solutions",
                                               "survey_open_recommendations")
        if recommendations_box is not None:
            with recommendations_box:
                for card in cards:
                    with st.container(border=True):
                        st.markdown(f"**Recommendation {card.number}**")
                        st.markdown(f"##### {_md(card.title)}")
                        st.markdown("**Short-term solutions**\n\n" + "\n".join(f"- {_md(s)}" for s in card.short_term))
                        st.markdown("**Long-term solutions**\n\n" + "\n".join(f"- {_md(s)}" for s in card.long_term))
                        st.caption(f"Source: {_md(card.source)}")

        for number, (title, blocks) in enumerate(_example_blocks()):
            examples_box = ui.lazy_expander(title, f"survey_open_examples_{number}")
            if examples_box is not None:
                with examples_box:
                    for block in blocks:
                        st.markdown(block)
        st.caption(f"Source: {_md(survey.SOURCE_TITLES[survey.REPORT_DOCUMENT])}.")

# --- pilot interviews --------------------------------------------------------------------
if (box := page_sections("Interviews")) is not None:
    with box:
        interviews_box = ui.lazy_expander("Every interview theme and quote", "survey_open_interviews")
        if interviews_box is not None:
            with interviews_box:
                st.markdown("Participants in the Community Living Well pilot were interviewed about the physical activity "
                            "support they received alongside talking therapy.")
                for section in sections:
                    st.markdown(f"**{_md(section.title)}**")
                    if section.points:
                        st.markdown("\n".join(f"- {_md(p)}" for p in section.points))
                    for quote in section.quotes:
                        st.markdown(f"> “{_md(quote)}”")
        st.caption(f"Source: {_md(survey.SOURCE_TITLES[survey.PILOT_DOCUMENT])}. Quotes are verbatim.")
