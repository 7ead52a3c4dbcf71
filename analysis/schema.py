"""The data contract: columns, groups, measures, cut-offs and reliable change.

This module is the single source of the definitions in
``shared/design/outcomes-and-statistics.md``. Validation enforces it, the outcome
rules read their thresholds from it and the Methods page renders it, so there is
no second copy that can drift.

References
----------
NHS Talking Therapies (IAPT) Manual, appendix "Clinical cut-offs and reliable
change index"; section 6 (paired data, "last available score").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# --- groups -----------------------------------------------------------------

GROUP_PA: Final = "physical_activity"
GROUP_CONTROL: Final = "control"
GROUPS: Final = (GROUP_PA, GROUP_CONTROL)
GROUP_LABELS: Final = {GROUP_PA: "Physical activity", GROUP_CONTROL: "Control"}
# Accepted spellings (compared case-insensitively after trimming spaces).
GROUP_ALIASES: Final = {
    "physical_activity": GROUP_PA,
    "pa": GROUP_PA,
    "control": GROUP_CONTROL,
}


def normalise_group(value: object) -> str | None:
    """The canonical group for a cell, or None when it is not an accepted label."""
    if value is None:
        return None
    return GROUP_ALIASES.get(str(value).strip().lower())


# --- measures ----------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A questionnaire with its range and, where NHS Talking Therapies sets them,
    its caseness cut-off (score >= cut-off is a case) and reliable change index."""

    key: str
    label: str
    full_name: str
    minimum: float
    maximum: float
    integer: bool = True
    caseness: float | None = None
    reliable_change: float | None = None
    mcid: float | None = None  # minimal clinically important difference (a fall of)

    @property
    def range_text(self) -> str:
        lo, hi = (int(self.minimum), int(self.maximum)) if self.integer else (self.minimum, self.maximum)
        kind = "whole number" if self.integer else "number (decimals allowed)"
        return f"{kind} {lo}–{hi}"


PHQ9: Final = Measure("phq9", "PHQ-9", "Patient Health Questionnaire-9 (depression)", 0, 27,
                      caseness=10, reliable_change=6, mcid=5)
GAD7: Final = Measure("gad7", "GAD-7", "Generalised Anxiety Disorder-7 (anxiety)", 0, 21,
                      caseness=8, reliable_change=4, mcid=4)
WSAS: Final = Measure("wsas", "WSAS", "Work and Social Adjustment Scale (functioning)", 0, 40)

# Anxiety-disorder-specific measures (ADSMs), keyed by the code used in `adsm_measure`.
ADSMS: Final = {
    "SPIN": Measure("SPIN", "SPIN", "Social Phobia Inventory", 0, 68, caseness=19, reliable_change=10),
    "PCL5": Measure("PCL5", "PCL-5", "PTSD Checklist for DSM-5", 0, 80, caseness=32, reliable_change=10),
    "PDSS": Measure("PDSS", "PDSS", "Panic Disorder Severity Scale", 0, 28, caseness=8, reliable_change=5),
    "HAI": Measure("HAI", "HAI", "Health Anxiety Inventory (short form)", 0, 54, caseness=18, reliable_change=4),
    "OCI": Measure("OCI", "OCI", "Obsessive-Compulsive Inventory", 0, 168, caseness=40, reliable_change=32),
    "MI": Measure("MI", "MI", "Mobility Inventory (agoraphobia), item average", 1, 5, integer=False,
                  caseness=2.3, reliable_change=0.73),
}
# Spellings accepted in `adsm_measure` (upper-cased, spaces/hyphens/underscores removed).
ADSM_ALIASES: Final = {code: code for code in ADSMS} | {"PCL": "PCL5", "SHAI": "HAI", "OCIR": "OCI"}


def normalise_adsm(value: object) -> str | None:
    """The canonical ADSM code for a cell (``"PCL-5"`` -> ``"PCL5"``), or None."""
    if value is None:
        return None
    key = "".join(ch for ch in str(value).upper() if ch.isalnum())
    return ADSM_ALIASES.get(key)


# A measure is offered for comparing the groups when each group has at least this many finishers
# with both its scores (fewer: no spread within a group, so no test or interval; PHQ-9 and GAD-7,
# the primary measures, are always offered and say why when they cannot be compared).
MIN_COMPARABLE_PER_GROUP: Final = 2

# Continuous measures that have first/last columns at episode level.
EPISODE_MEASURES: Final = {"phq9": PHQ9, "gad7": GAD7, "wsas": WSAS}

# --- thresholds and reference lines -----------------------------------------

FINISHED_MIN_SESSIONS: Final = 2  # treatment_sessions >= 2 is a finished course of treatment
RECOVERY_STANDARD: Final = 0.50  # national recovery standard
RELIABLE_IMPROVEMENT_REFERENCE: Final = 2 / 3  # "about two in three reliably improve"
PAIRED_COMPLETENESS_STANDARD: Final = 0.90
# Several sites (design doc "Several sites"): a site enters the pooling with at least this many
# participants in each group; the Hartung–Knapp–Sidik–Jonkman interval is used below this many sites.
SITE_COLUMN: Final = "site"
SITE_MIN_PER_GROUP: Final = 2
SITES_HKSJ_BELOW: Final = 10
SITE_MAX_LEVELS: Final = 50  # a site column is a filter and a subgroup with up to this many sites
ALPHA: Final = 0.05
PRIMARY_MEASURES: Final = ("phq9", "gad7")  # the measures every outcome rule uses; the headline's measures
PARALLEL_MIN_ROWS: Final = 50_000  # below this many rows, work is done one piece after another (no threads)
# Scores are compared after rounding to this many decimals, so that 3.10 - 2.37
# counts as a change of 0.73 (MI) despite binary floating point.
SCORE_DECIMALS: Final = 9

# --- columns -------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    required: str  # "yes", "no", "with adsm_measure", ...
    kind: str  # human description of type and range
    meaning: str


EPISODE_COLUMNS: Final = (
    Column("participant_id", "yes", "text, unique, pseudonymous", "Never a name or an NHS number."),
    Column("group", "yes", "`physical_activity` or `control` (any case; `PA` accepted)",
           "Which arm the participant was in."),
    Column("phq9_first", "yes", PHQ9.range_text, "PHQ-9 at first assessment."),
    Column("phq9_last", "yes (may be blank)", PHQ9.range_text, "PHQ-9 last available score."),
    Column("gad7_first", "yes", GAD7.range_text, "GAD-7 at first assessment."),
    Column("gad7_last", "yes (may be blank)", GAD7.range_text, "GAD-7 last available score."),
    Column("treatment_sessions", "no", "whole number ≥ 0",
           f"Attended treatment appointments; {FINISHED_MIN_SESSIONS} or more is a finished course."),
    Column("adsm_measure", "no", "one of " + ", ".join(m.label for m in ADSMS.values()),
           "Anxiety-disorder-specific measure matched to the problem descriptor."),
    Column("adsm_first", "with adsm_measure", "that measure's range (MI 1–5, decimals allowed)",
           "ADSM at first assessment."),
    Column("adsm_last", "with adsm_measure", "that measure's range", "ADSM last available score."),
    Column("wsas_first", "no", WSAS.range_text, "Work and Social Adjustment Scale at first assessment."),
    Column("wsas_last", "no", WSAS.range_text, "WSAS last available score."),
    Column("pa_sessions", "no", "whole number ≥ 0", "Physical activity sessions attended."),
    Column("site", "no", "text (a service, clinic or area)",
           "The site the participant was seen at, when several sites are pooled: each site is compared "
           "on its own and the sites are combined by a random-effects meta-analysis."),
)
REQUIRED_EPISODE_COLUMNS: Final = ("participant_id", "group", "phq9_first", "phq9_last",
                                   "gad7_first", "gad7_last")

SESSION_COLUMNS: Final = (
    Column("participant_id", "yes", "text, pseudonymous", "The same id on each of the participant's rows."),
    Column("group", "yes", "`physical_activity` or `control`", "The same on each of the participant's rows."),
    Column("session_number", "this and/or session_date", "whole number ≥ 0", "Order of the session."),
    Column("session_date", "this and/or session_number", "date (YYYY-MM-DD)", "Date of the session."),
    Column("phq9", "yes (may be blank)", PHQ9.range_text, "PHQ-9 at this session."),
    Column("gad7", "yes (may be blank)", GAD7.range_text, "GAD-7 at this session."),
    Column("adsm_measure", "no", "as at episode level", "ADSM used for this participant."),
    Column("adsm", "with adsm_measure", "that measure's range", "ADSM at this session."),
    Column("wsas", "no", WSAS.range_text, "WSAS at this session."),
    Column("site", "no", "text", "The participant's site: the same on each of the participant's rows."),
)
REQUIRED_SESSION_COLUMNS: Final = ("participant_id", "group", "phq9", "gad7")

# Categorical columns the dashboard offers as subgroups when present.
KNOWN_SUBGROUP_COLUMNS: Final = ("age_band", "gender", "ethnicity", "ltc", "problem_descriptor",
                                 "baseline_severity")
# How a subgroup column is named to people, wherever it appears (sidebar filter, banner, charts,
# tables, deck); any other column: its name with spaces, first letter capital (column_label).
COLUMN_LABELS: Final = {"ltc": "Long-term condition", "baseline_severity": "Baseline severity (PHQ-9 band)",
                        "age_band": "Age band", "problem_descriptor": "Problem descriptor"}


def column_label(column: str) -> str:
    """The one label of a data column for people: ``ltc`` -> ``Long-term condition``.

    >>> column_label("ltc"), column_label("problem_descriptor"), column_label("site_name")
    ('Long-term condition', 'Problem descriptor', 'Site name')
    """
    return COLUMN_LABELS.get(column, column.replace("_", " ").capitalize())

# Column names that identify a person (compared after lower-casing and removing
# spaces, hyphens and underscores).
IDENTIFYING_COLUMN_NAMES: Final = frozenset({
    "name", "firstname", "forename", "surname", "lastname", "familyname", "fullname", "patientname",
    "clientname", "nhsnumber", "nhsno", "nhsnum", "nhs", "dob", "dateofbirth", "birthdate",
    "postcode", "zipcode", "address", "addressline1", "email", "emailaddress", "phone",
    "phonenumber", "telephone", "mobile", "mobilenumber", "tel",
})
