"""Survey findings, recommendations, examples and pilot interview themes.

The data are transcribed, one finding a row, from three source documents into the
tidy CSVs in ``data/sample/``:

* ``000_5b372d9a7540e9fe.txt`` — Transformation Partners in Health and Care /
  Sport England, *Exploring how physical activity can be better utilised within
  IAPT services to help improve mental health outcomes. Findings and
  recommendations report*, December 2022 (surveys of 224 IAPT staff, 13
  commissioners, 86 service users and 32–33 community physical activity
  providers; interviews and focus groups; four recommendations; Appendix C
  innovative approaches; Appendix D national offers).
* ``001_6da51bf51ea61b79.txt`` — the report's one-page summary (NHS Talking
  Therapies naming).
* ``002_b2cfbb07bc3ebb2b.txt`` — "Mind the (Implementation) Gap", the pilot's
  interview findings at Community Living Well.

Every row carries ``source_document``, ``source_section`` and a ``source_sentence``
copied verbatim from the document (a contiguous span once whitespace is
collapsed). A figure is given only where the text states it; where the report
shows a chart whose numbers are not in the text the row keeps the finding's words
and leaves ``value`` blank. ``value_text`` is the figure exactly as written
("99%", "12 of 13", "half"); ``note`` records the report's own inconsistencies
(e.g. 17% vs 18% staff satisfaction, 32 vs 33 providers, 74% vs 71% White).

The IAPT programme was renamed NHS Talking Therapies in 2023; the report (000)
uses "IAPT" and the summary (001) "NHS Talking Therapies". They are the same
service.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import pandas as pd

DATA_DIR: Final = Path(__file__).resolve().parents[1] / "data" / "sample" / "survey"

REPORT_DOCUMENT: Final = "000_5b372d9a7540e9fe.txt"
SUMMARY_DOCUMENT: Final = "001_6da51bf51ea61b79.txt"
PILOT_DOCUMENT: Final = "002_b2cfbb07bc3ebb2b.txt"
SOURCE_TITLES: Final = {
    REPORT_DOCUMENT: ("Exploring how physical activity can be better utilised within IAPT services to help "
                      "improve mental health outcomes. Findings and recommendations report (December 2022)"),
    SUMMARY_DOCUMENT: ("Exploring how physical activity can be better utilised within NHS Talking Therapies "
                       "services to help improve mental health outcomes (one-page summary)"),
    PILOT_DOCUMENT: "Mind the (Implementation) Gap: Introducing Physical Activity into Mental Health Treatment",
}

# ``professionals`` is used where the report pools IAPT staff and providers
# (the location question); ``all`` for context and whole-project counts.
STAKEHOLDER_GROUPS: Final = ("staff", "commissioners", "service_users", "providers", "professionals", "all")
STAKEHOLDER_LABELS: Final = {
    "staff": "NHS Talking Therapies (IAPT) staff",
    "commissioners": "Commissioners",
    "service_users": "Service users",
    "providers": "Community physical activity providers",
    "professionals": "Professionals (staff and providers)",
    "all": "All / context",
}

FINDINGS_COLUMNS: Final = (
    "finding_id", "stakeholder_group", "topic", "label", "statement", "value", "value_text", "unit",
    "base_n", "base_description", "rank", "source_document", "source_section", "source_sentence", "note",
)
RECOMMENDATIONS_COLUMNS: Final = (
    "recommendation_id", "recommendation_number", "title", "solution_term", "solution_text",
    "source_document", "source_section", "source_sentence",
)
EXAMPLES_COLUMNS: Final = (
    "example_id", "kind", "organisation", "name", "description",
    "source_document", "source_section", "source_sentence",
)
INTERVIEWS_COLUMNS: Final = (
    "item_id", "theme", "kind", "text", "source_document", "source_section", "source_sentence", "note",
)
# Columns that must never be blank, per file.
REQUIRED_COLUMNS: Final = {
    "survey_findings.csv": ("finding_id", "stakeholder_group", "topic", "label", "statement",
                            "source_document", "source_section", "source_sentence"),
    "survey_recommendations.csv": RECOMMENDATIONS_COLUMNS,
    "survey_examples.csv": ("example_id", "kind", "name", "description",
                            "source_document", "source_section", "source_sentence"),
    "pilot_interviews.csv": ("item_id", "theme", "kind", "text",
                             "source_document", "source_section", "source_sentence"),
}
_NUMERIC: Final = {"value": "Float64", "base_n": "Int64", "rank": "Int64", "recommendation_number": "Int64"}


def _read(name: str, columns: tuple[str, ...], data_dir: Path | None = None) -> pd.DataFrame:
    path = (data_dir or DATA_DIR) / name
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path.name} lacks columns {missing}")
    frame = frame.loc[:, list(columns)]
    for column, dtype in _NUMERIC.items():
        if column in frame.columns:
            frame[column] = pd.to_numeric(frame[column].replace("", pd.NA)).astype(dtype)
    return frame


@cache
def _cached(name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    return _read(name, columns)


def _load(name: str, columns: tuple[str, ...], data_dir: Path | None) -> pd.DataFrame:
    if data_dir is not None:
        return _read(name, columns, Path(data_dir))
    return _cached(name, columns).copy()


def load_findings(data_dir: Path | None = None) -> pd.DataFrame:
    """Quantified and chart-only survey findings from the report (000) and its summary (001).

    ``value`` is Float64 (blank where the text gives no number), ``base_n`` and
    ``rank`` are Int64; text columns are strings with ``""`` for blank.
    """
    return _load("survey_findings.csv", FINDINGS_COLUMNS, data_dir)


def load_recommendations(data_dir: Path | None = None) -> pd.DataFrame:
    """The report's four recommendations (000) with their short- and long-term solutions."""
    return _load("survey_recommendations.csv", RECOMMENDATIONS_COLUMNS, data_dir)


def load_examples(data_dir: Path | None = None) -> pd.DataFrame:
    """Appendix C innovative approaches, pilots and case studies, and Appendix D national offers (000).

    ``kind`` is one of ``pilot``, ``innovative_approach``, ``case_study``,
    ``approach_type`` (Recommendation 4's list), ``national_offer`` and
    ``risk_consensus_principle``.
    """
    return _load("survey_examples.csv", EXAMPLES_COLUMNS, data_dir)


def load_interviews(data_dir: Path | None = None) -> pd.DataFrame:
    """The pilot's interview themes and participants' quotes (002).

    ``theme`` is ``valued``, ``barrier``, ``improvement`` or ``outcome``;
    ``kind`` is ``theme`` or ``quote``.
    """
    return _load("pilot_interviews.csv", INTERVIEWS_COLUMNS, data_dir)


def _as_tuple(values: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):
        return (values,)
    return tuple(values)


def filter_findings(df: pd.DataFrame, stakeholder_groups: str | Iterable[str] | None = None,
                    topics: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Rows of ``df`` for the given stakeholder groups and topics (None = no filter).

    Unknown stakeholder groups raise ``ValueError`` so a typo never silently
    empties a page.
    """
    groups = _as_tuple(stakeholder_groups)
    wanted_topics = _as_tuple(topics)
    mask = pd.Series(True, index=df.index)
    if groups is not None:
        unknown = sorted(set(groups) - set(STAKEHOLDER_GROUPS))
        if unknown:
            raise ValueError(f"unknown stakeholder group(s) {unknown}; expected {STAKEHOLDER_GROUPS}")
        mask &= df["stakeholder_group"].isin(groups)
    if wanted_topics is not None:
        mask &= df["topic"].isin(wanted_topics)
    return df.loc[mask]


def ranked_barriers(df: pd.DataFrame | None = None) -> pd.DataFrame:
    """Staff barriers to supporting service users with physical activity, most mentioned first.

    Source: 000, Appendix A, slide 59 ("IAPT staff frequently mentioned service
    user barriers and lack of awareness of local services and partnerships as
    barriers..."). The chart orders nine barriers on a "Least mentioned ← → Most
    mentioned" axis and gives no counts, so ``rank`` is the position (1 = most
    mentioned) and ``value`` is blank. The report's text calls session time the
    "2nd" and confidence/knowledge the "3rd" most mentioned barrier, which does
    not match the chart order (3rd and 5th); those statements are separate rows
    (``unit == "rank_stated"``) and are not part of this ranking.
    """
    frame = load_findings() if df is None else df
    ranked = frame.loc[(frame["stakeholder_group"] == "staff") & (frame["topic"] == "barriers")
                       & frame["rank"].notna()]
    return ranked.sort_values("rank", kind="stable").reset_index(drop=True)


# --- headline -------------------------------------------------------------------

# Rows the headline reads (ids in survey_findings.csv).
HEADLINE_IDS: Final = {
    "staff_very_important": "SF004",   # 001: "99% of NHS Talking Therapies staff say it's very important"
    "staff_satisfied": "SF008",        # 001: "17% of NHS Talking Therapies staff are satisfied ..."
    "staff_respondents": "SF020",      # 000: "224 IAPT staff, 32 community physical activity providers, ..."
    "commissioners_very_important": "SF005",  # 001: "12 of 13 commissioners say it's very important"
    "service_users_agree": "SF006",    # 001: "91% of service users strongly agree or agree"
    "service_user_respondents": "SF029",      # 000: "Response number 86 IAPT users"
}


@dataclass(frozen=True)
class SurveyHeadline:
    """The survey's headline figures (000 slides 8, 14, 15; 001 "Key Findings").

    Per-question bases are not reported: the respondent counts are the numbers
    who answered each survey, not necessarily each question.
    """

    staff_very_important_pct: float
    staff_satisfied_pct: float
    staff_respondents: int
    commissioners_very_important: int
    commissioner_respondents: int
    service_users_agree_pct: float
    service_user_respondents: int
    finding_ids: tuple[str, ...]

    @property
    def sentence(self) -> str:
        return (f"{self.staff_very_important_pct:g}% of NHS Talking Therapies staff surveyed "
                f"({self.staff_respondents} responded) say physical activity is very important, but only "
                f"{self.staff_satisfied_pct:g}% are satisfied with the support their service offers to help "
                f"service users increase their physical activity.")

    @property
    def detail(self) -> str:
        return (f"{self.commissioners_very_important} of {self.commissioner_respondents} commissioners also "
                f"say it is very important, and {self.service_users_agree_pct:g}% of the "
                f"{self.service_user_respondents} service users who responded strongly agree or agree.")

    @property
    def caveat(self) -> str:
        return ("The report gives 17% on its key-findings slide and summary but 18% for the same staff "
                "question on slide 58; respondents chose to take part and per-question bases are not reported.")


def headline(df: pd.DataFrame | None = None) -> SurveyHeadline:
    """The headline figures, read from the findings rows listed in ``HEADLINE_IDS``.

    Source: 001 "Key Findings" (99%, 17%, 12 of 13, 91%) and 000 "Survey Sample:
    Who we reached" (224 staff, 86 service users).
    """
    frame = (load_findings() if df is None else df).set_index("finding_id")

    def row(key: str) -> pd.Series:
        return frame.loc[HEADLINE_IDS[key]]

    def number(key: str) -> float:
        value = row(key)["value"]
        if pd.isna(value):
            raise ValueError(f"headline finding {HEADLINE_IDS[key]} has no value")
        return float(value)

    return SurveyHeadline(
        staff_very_important_pct=number("staff_very_important"),
        staff_satisfied_pct=number("staff_satisfied"),
        staff_respondents=int(number("staff_respondents")),
        commissioners_very_important=int(number("commissioners_very_important")),
        commissioner_respondents=int(row("commissioners_very_important")["base_n"]),
        service_users_agree_pct=number("service_users_agree"),
        service_user_respondents=int(number("service_user_respondents")),
        finding_ids=tuple(HEADLINE_IDS.values()),
    )


# --- samples and limitations for the methods page ------------------------------------


@dataclass(frozen=True)
class SurveySample:
    """Who answered one of the report's surveys (000, "Survey Sample: Who we reached")."""

    group: str
    label: str
    respondents: int
    description: str
    source_section: str


@dataclass(frozen=True)
class SurveyLimitation:
    """A limitation of the survey evidence.

    ``quote`` is the report's own words (verbatim, in ``source_document``) or None
    when the limitation is this dashboard's reading of the methods.
    """

    summary: str
    quote: str | None
    source_document: str | None
    source_section: str | None


SURVEY_SAMPLES: Final = (
    SurveySample("staff", "NHS Talking Therapies (IAPT) staff", 224,
                 "Two-thirds (69%) clinicians; the rest managers, service leads, PWPs and CBT psychotherapists.",
                 "Survey Sample: Who we reached"),
    SurveySample("commissioners", "Commissioners", 13, "Service commissioners.", "Survey Sample: Who we reached"),
    SurveySample("service_users", "Service users", 86,
                 "46% aged 26-39; 65% women; 74% White (71% on slide 36); 54% with a disability or "
                 "long-term condition; 82% of the 50 who gave a location were in London.",
                 "Survey Sample: Who we reached"),
    SurveySample("providers", "Community physical activity providers", 32,
                 "32 on the sample slide, 33 on the stakeholder survey responses slide.",
                 "Survey Sample: Who we reached"),
)

SURVEY_LIMITATIONS: Final = (
    SurveyLimitation(
        "Active service users are over-represented, so interest in doing more may be understated.",
        "This is perhaps lower than expected as the sample who responded to this survey is over indexed on "
        "active service users.", REPORT_DOCUMENT,
        "There is widespread appetite to do more to increase physical activity levels through IAPT services"),
    SurveyLimitation(
        "Most service users who responded were already active, probably more than the average service user.",
        "Note, the majority of those who responded to the survey already engaged in physical activity. This is "
        "potentially more than the average IAPT service user.", REPORT_DOCUMENT,
        "An active cohort of service users took part in the survey"),
    SurveyLimitation(
        "Service user respondents already understood what counts as physical activity.",
        "53% scored this question with 1 “as expected”, which shows this is a well informed group on what is "
        "meant by physical activity.", REPORT_DOCUMENT,
        "Majority of service users who responded understand the definition of physical activity"),
    SurveyLimitation(
        "Respondents chose to take part: the surveys were open invitations with no sampling frame or response "
        "rate reported, so the figures describe those who answered, not all staff, commissioners, providers or "
        "service users.", None, None, None),
    SurveyLimitation(
        "The report claims the service user sample is representative of the national picture in age, gender "
        "and ethnicity; it is not representative in activity level (see above) or place (mostly London).",
        "representative of the national picture (in age, gender and ethnicity)", REPORT_DOCUMENT,
        "Survey Sample: Who we reached"),
    SurveyLimitation(
        "Location was optional and concentrated in London.",
        "Sharing location was optional.", REPORT_DOCUMENT,
        "Where our service user respondents access IAPT services"),
    SurveyLimitation(
        "Per-question bases are rarely given; percentages are shown against the number who answered each "
        "survey. Some figures rest on very few answers.",
        "Only 7 responded and the following challenges were raised", REPORT_DOCUMENT,
        "Community physical activity providers listed the following challenges in accessing their services"),
    SurveyLimitation(
        "The access-to-support question was not specific to mental health services.",
        "This question is not specific to mental health services", REPORT_DOCUMENT,
        "Majority of service users feel they have enough access to support and information to be physically "
        "active"),
    SurveyLimitation(
        "The report is internally inconsistent in places: 17% vs 18% staff satisfaction, 32 vs 33 providers, "
        "74% vs 71% White service users, and staff barrier ranks stated in the text (session time 2nd, "
        "confidence 3rd) differ from the slide 59 chart order (3rd, 5th). Both figures are kept, with notes.",
        None, None, None),
)


def methods_text() -> str:
    """Markdown for the methods page: who was surveyed and the limitations, with sources."""
    lines = ["**Survey samples** (Findings and recommendations report, December 2022):", ""]
    for sample in SURVEY_SAMPLES:
        lines.append(f"- {sample.label}: {sample.respondents} respondents. {sample.description}")
    lines += ["", "**Limitations**", ""]
    for item in SURVEY_LIMITATIONS:
        quoted = f' The report: "{item.quote}"' if item.quote else ""
        lines.append(f"- {item.summary}{quoted}")
    return "\n".join(lines)


# --- the Survey findings page: labels, distinct findings, display tables -----------------

TOPIC_LABELS: Final = {
    "importance": "Importance of physical activity",
    "satisfaction": "Satisfaction with support",
    "awareness": "Awareness of local services",
    "partnership": "Working with partners",
    "plans": "Plans",
    "flexibility": "Flexibility to offer physical activity",
    "current_practice": "Current practice",
    "service_user_wants": "What service users want",
    "activity_levels": "Activity levels",
    "pa_definition": "Understanding of 'physical activity'",
    "motivators": "Motivators",
    "provider_involvement": "Providers working with services",
    "barriers": "Barriers",
    "conditions": "Health conditions as barriers",
    "demographics": "Who responded: demographics",
    "locations": "Who responded: locations",
    "sample": "Who responded: numbers",
    "context": "Context",
}
# Topics whose percentages are views or experiences, drawn as agreement bars. Respondent
# profiles (demographics, locations, sample), context, barriers and conditions are not:
# barriers and conditions are drawn as ranked bars, the rest stay in the tables.
VIEW_TOPICS: Final = ("importance", "satisfaction", "awareness", "partnership", "plans", "flexibility",
                      "current_practice", "service_user_wants", "activity_levels", "pa_definition", "motivators",
                      "provider_involvement")
SOURCE_SHORT: Final = {
    REPORT_DOCUMENT: "Report (Dec 2022)",
    SUMMARY_DOCUMENT: "Summary",
    PILOT_DOCUMENT: "Pilot interviews blog",
}
FINDINGS_TABLE_COLUMNS: Final = ("Topic", "Figure", "Finding", "Base", "Source", "Note", "Ref")
_MERGE_KEY: Final = ("stakeholder_group", "topic", "label", "unit", "value", "base_n")


def topic_label(topic: str) -> str:
    """A topic key as words ('service_user_wants' -> 'What service users want')."""
    return TOPIC_LABELS.get(topic, topic.replace("_", " ").capitalize())


# Short names for filters and links (a bound filter puts the name in the URL).
STAKEHOLDER_SHORT_LABELS: Final = {
    "staff": "Staff",
    "commissioners": "Commissioners",
    "service_users": "Service users",
    "providers": "Providers",
    "professionals": "Staff and providers",
    "all": "All / context",
}


def stakeholder_label(group: str, short: bool = False) -> str:
    """A stakeholder group as words: full ('NHS Talking Therapies (IAPT) staff') or short ('Staff')."""
    labels = STAKEHOLDER_SHORT_LABELS if short else STAKEHOLDER_LABELS
    return labels.get(group, group.replace("_", " ").capitalize())


def ordered_topics(df: pd.DataFrame | None = None) -> list[str]:
    """The topics present in ``df`` (default: all findings), in the page's order."""
    present = set((load_findings() if df is None else df)["topic"])
    known = [t for t in TOPIC_LABELS if t in present]
    return known + sorted(present - set(known))


def sample_for(group: str) -> SurveySample | None:
    """Who answered this group's survey (None for pooled or context rows)."""
    return next((s for s in SURVEY_SAMPLES if s.group == group), None)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _join_unique(values: Iterable[str], sep: str) -> str:
    return sep.join(dict.fromkeys(v for v in values if v))


def _source(document: str, section: str) -> str:
    return f"{SOURCE_SHORT.get(document, document)}: {section}"


def distinct_findings(df: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per distinct figure: a figure the report and its summary both give is merged.

    Rows are merged when stakeholder group, topic, label, unit, value and base agree
    (e.g. "99% of staff say very important" in the summary and on slide 14). The first
    row's wording is kept; ``finding_id``, ``source_document``, ``source_section`` and
    ``note`` join the merged rows' distinct values with "; " (notes with a space), and
    a ``source`` column names every document and section ("Summary: Key Findings ›
    ...; Report (Dec 2022): ... (slide 14)"). Figures that differ (17% vs 18%) stay
    separate rows, each with its note. Chart-only rows (blank value) merge only when
    their label is the same, so no finding is lost. Input order is kept.
    """
    frame = (load_findings() if df is None else df).reset_index(drop=True)
    dtypes = frame.dtypes.to_dict()
    if frame.empty:
        return frame.assign(source=pd.Series(dtype="str"))
    keys = frame.loc[:, list(_MERGE_KEY)].astype("string").fillna("<NA>").agg("\x1f".join, axis=1)
    rows = []
    for _, part in frame.groupby(keys, sort=False):
        first = part.iloc[0].copy()
        first["finding_id"] = _join_unique(part["finding_id"], "; ")
        first["source_document"] = _join_unique(part["source_document"], "; ")
        first["source_section"] = _join_unique(part["source_section"], "; ")
        first["note"] = _join_unique(part["note"], " ")
        first["source"] = _join_unique(
            (_source(d, s) for d, s in zip(part["source_document"], part["source_section"], strict=True)), "; ")
        rows.append(first)
    return pd.DataFrame(rows).reset_index(drop=True).astype(dtypes)


def source_text(row: pd.Series) -> str:
    """'Report (Dec 2022): Recommendation 1 › Supporting evidence' (every source of a merged row)."""
    if "source" in row.index and row["source"]:
        return str(row["source"])
    return _source(str(row["source_document"]), str(row["source_section"]))


def base_label(row: pd.Series) -> str:
    """'224 IAPT staff survey respondents (...)', the description alone, or 'not stated in the report'."""
    description = str(row["base_description"]).strip()
    if pd.notna(row["base_n"]):
        return f"{int(row['base_n'])} {description}".strip()
    if description:
        return description
    return "" if row["topic"] in ("sample", "context") else "not stated in the report"


def figure_label(row: pd.Series, ranked_out_of: int | None = None) -> str:
    """The figure exactly as the report writes it; blank when the report gives no number.

    A row ranked on a chart without counts shows its position in words ("1st most
    mentioned of 9 (no counts given)"), never a made-up number.
    """
    if str(row["value_text"]):
        return str(row["value_text"])
    if pd.notna(row["rank"]):
        of = f" of {ranked_out_of}" if ranked_out_of else ""
        return f"{_ordinal(int(row['rank']))} most mentioned{of} (no counts given)"
    return ""


def findings_table(df: pd.DataFrame, with_group: bool = False) -> pd.DataFrame:
    """The findings as a readable table: Topic, Figure, Finding, Base, Source, Note, Ref.

    Rows are ordered by (stakeholder group, when ``with_group``) topic in page order,
    then chart rank, then input order; the Figure is blank where the report shows a
    finding only as a chart. ``with_group`` adds a first "Stakeholder group" column.
    """
    columns = (["Stakeholder group"] if with_group else []) + list(FINDINGS_TABLE_COLUMNS)
    if df.empty:
        return pd.DataFrame(columns=columns)
    order = {topic: i for i, topic in enumerate(ordered_topics(df))}
    group_order = {group: i for i, group in enumerate(STAKEHOLDER_GROUPS)}
    frame = df.reset_index(drop=True)
    frame = frame.assign(_group=frame["stakeholder_group"].map(group_order) if with_group else 0,
                         _topic=frame["topic"].map(order), _rank=frame["rank"].astype("Float64"),
                         _pos=range(len(frame)))
    frame = frame.sort_values(["_group", "_topic", "_rank", "_pos"], na_position="last", kind="stable")
    ranked_counts = frame.loc[frame["rank"].notna()].groupby(["stakeholder_group", "topic"]).size().to_dict()
    table = pd.DataFrame({
        "Topic": [topic_label(t) for t in frame["topic"]],
        "Figure": [figure_label(r, ranked_counts.get((r["stakeholder_group"], r["topic"])))
                   for _, r in frame.iterrows()],
        "Finding": frame["statement"].tolist(),
        "Base": [base_label(r) for _, r in frame.iterrows()],
        "Source": [source_text(r) for _, r in frame.iterrows()],
        "Note": frame["note"].tolist(),
        "Ref": frame["finding_id"].tolist(),
    })
    if with_group:
        table.insert(0, "Stakeholder group", [stakeholder_label(g) for g in frame["stakeholder_group"]])
    return table


def agreement_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Distinct view/experience findings with a stated percentage or 'N of M' count, for bars.

    Chart-only rows (no number in the text) are left out; they stay in the table in words.
    """
    frame = df.loc[df["topic"].isin(VIEW_TOPICS)]
    percent = frame["unit"].eq("percent") & frame["value"].notna()
    of_base = frame["unit"].eq("count") & frame["value"].notna() & frame["base_n"].notna()
    return frame.loc[percent | of_base].reset_index(drop=True)


def mention_tables(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Counted mentions (unit 'mentions'), one table per total: [(title, rows)].

    The report gives two tables of conditions named as barriers (totals 29 and 21);
    the title is the table's name as recorded in the note.
    """
    counts = df.loc[df["unit"].eq("mentions") & df["value"].notna() & df["base_n"].notna()]
    tables = []
    for total, part in counts.groupby("base_n", sort=False):
        match = next((re.search(r"Table '([^']+)'", n) for n in part["note"] if "Table '" in n), None)
        name = match.group(1) if match else str(part["base_description"].iloc[0]).capitalize()
        tables.append((f"{name} ({int(total)} mentions in all)", part.reset_index(drop=True)))
    return tables


def notes_for(df: pd.DataFrame) -> list[str]:
    """The distinct transcription notes (the report's inconsistencies among them) for these rows."""
    return list(dict.fromkeys(note for note in df["note"] if note))


def rank_conflicts(df: pd.DataFrame) -> list[str]:
    """Where the report's text ranks a staff barrier differently from its slide 59 chart.

    One sentence per ``rank_stated`` row, quoting the stated rank and the chart
    position recorded in its note.
    """
    stated = df.loc[df["unit"].eq("rank_stated")]
    return [f"The report's text: “{r['statement']}” ({r['source_section']}). {r['note']}"
            for _, r in stated.iterrows()]


# --- recommendations, examples and interviews ---------------------------------------------


@dataclass(frozen=True)
class RecommendationCard:
    """One recommendation with its short- and long-term solutions (000, Recommendations 1–4)."""

    number: int
    title: str
    short_term: tuple[str, ...]
    long_term: tuple[str, ...]
    source: str


def recommendation_cards(df: pd.DataFrame | None = None) -> list[RecommendationCard]:
    """The four recommendations in number order, each with its solutions in report order."""
    frame = load_recommendations() if df is None else df
    cards = []
    for number, part in frame.groupby("recommendation_number", sort=True):
        cards.append(RecommendationCard(
            number=int(number), title=str(part["title"].iloc[0]),
            short_term=tuple(part.loc[part["solution_term"] == "short", "solution_text"]),
            long_term=tuple(part.loc[part["solution_term"] == "long", "solution_text"]),
            source=f"{SOURCE_SHORT[REPORT_DOCUMENT]}: Recommendation {int(number)}",
        ))
    return cards


EXAMPLE_KIND_LABELS: Final = {
    "pilot": "Pilots",
    "innovative_approach": "Innovative approaches in services",
    "case_study": "Case studies",
    "approach_type": "Kinds of approach (Recommendation 4)",
    "national_offer": "National offers and training",
    "risk_consensus_principle": "Risk consensus statement: five principles",
}


def examples_by_organisation(df: pd.DataFrame, kinds: str | Iterable[str]) -> list[tuple[str, pd.DataFrame]]:
    """Examples of the given kinds grouped by organisation, in file order: [(organisation, rows)].

    Rows without an organisation are grouped under "".
    """
    wanted = _as_tuple(kinds) or ()
    frame = df.loc[df["kind"].isin(wanted)]
    return [(str(org), part.reset_index(drop=True)) for org, part in frame.groupby("organisation", sort=False)]


INTERVIEW_THEME_LABELS: Final = {
    "valued": "What participants valued",
    "barrier": "Barriers to regular activity",
    "improvement": "Improvements participants suggested",
    "outcome": "What changed for participants",
}


@dataclass(frozen=True)
class InterviewSection:
    """One interview theme: its summary points and participants' verbatim quotes (002)."""

    theme: str
    title: str
    points: tuple[str, ...]
    quotes: tuple[str, ...]


def interview_sections(df: pd.DataFrame | None = None) -> list[InterviewSection]:
    """Interview themes in a fixed order (outcome, valued, barrier, improvement) with their quotes."""
    frame = load_interviews() if df is None else df
    order = ["outcome", "valued", "barrier", "improvement"]
    themes = order + sorted(set(frame["theme"]) - set(order))
    sections = []
    for theme in themes:
        part = frame.loc[frame["theme"] == theme]
        if part.empty:
            continue
        sections.append(InterviewSection(
            theme=theme, title=INTERVIEW_THEME_LABELS.get(theme, theme.capitalize()),
            points=tuple(part.loc[part["kind"] == "theme", "text"]),
            quotes=tuple(part.loc[part["kind"] == "quote", "text"]),
        ))
    return sections


@dataclass(frozen=True)
class HeadlineMetric:
    """One headline figure as shown in a metric tile: label, the figure as written, its source."""

    label: str
    value: str
    statement: str
    base: str
    source: str
    finding_id: str


def headline_metrics(df: pd.DataFrame | None = None) -> list[HeadlineMetric]:
    """The four headline figures as tiles (staff 99% and 17%, commissioners 12 of 13, service users 91%).

    Values are the findings' own ``value_text`` (the report's words), checked against
    :func:`headline` so a tile and the headline sentence never disagree.
    """
    frame = (load_findings() if df is None else df).set_index("finding_id")
    h = headline(frame.reset_index())
    tiles = [
        ("staff_very_important", "Staff: very important", h.staff_very_important_pct),
        ("staff_satisfied", "Staff: satisfied with support", h.staff_satisfied_pct),
        ("commissioners_very_important", "Commissioners: very important", h.commissioners_very_important),
        ("service_users_agree", "Service users: agree", h.service_users_agree_pct),
    ]
    metrics = []
    for key, label, expected in tiles:
        row = frame.loc[HEADLINE_IDS[key]]
        if float(row["value"]) != float(expected):
            raise ValueError(f"headline tile {key} disagrees with the headline ({row['value']} vs {expected})")
        metrics.append(HeadlineMetric(
            label=label, value=str(row["value_text"]), statement=str(row["statement"]), base=base_label(row),
            source=_source(str(row["source_document"]), str(row["source_section"])),
            finding_id=HEADLINE_IDS[key]))
    return metrics
