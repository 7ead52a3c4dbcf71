"""The data dictionary, definitions, thresholds, methods and limitations, as tables and text.

Everything here is generated from the constants the analysis itself uses
(:mod:`analysis.schema`, :data:`analysis.outcomes.RATE_DEFINITIONS`,
:data:`analysis.compare.METHODS`, :mod:`analysis.power`, :mod:`analysis.disclosure`), so
the Methods page and ``data/sample/reference/data_dictionary.csv`` cannot drift from the code.

    python -m analysis.dictionary            # rewrite data/sample/reference/data_dictionary.csv
    python -m analysis.dictionary --check    # exit 1 if the committed file is out of date
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import pandas as pd

from analysis import compare, disclosure, power
from analysis.formatting import percent
from analysis.outcomes import CATEGORY_PRECEDENCE, PHQ9_SEVERITY_BANDS, RATE_DEFINITIONS, SESSION_REDUCTION_RULE
from analysis.schema import (
    ADSMS,
    ALPHA,
    EPISODE_COLUMNS,
    FINISHED_MIN_SESSIONS,
    GAD7,
    GROUP_CONTROL,
    GROUP_PA,
    KNOWN_SUBGROUP_COLUMNS,
    PAIRED_COMPLETENESS_STANDARD,
    PHQ9,
    RECOVERY_STANDARD,
    RELIABLE_IMPROVEMENT_REFERENCE,
    REQUIRED_EPISODE_COLUMNS,
    REQUIRED_SESSION_COLUMNS,
    SESSION_COLUMNS,
    WSAS,
    Column,
    Measure,
)
from analysis.survey import PILOT_DOCUMENT

ROOT: Final = Path(__file__).resolve().parents[1]
DICTIONARY_PATH: Final = ROOT / "data" / "sample" / "reference" / "data_dictionary.csv"
DICTIONARY_COLUMNS: Final = ("level", "column", "required", "type_and_range", "meaning")
LEVELS: Final = ("episode", "session")

# Optional category columns the synthetic sample carries (and the dashboard offers as subgroups).
_SUBGROUP_MEANINGS: Final = {
    "age_band": "Age band (e.g. 18-25).",
    "gender": "Gender as recorded by the service.",
    "ethnicity": "Ethnic group as recorded by the service.",
    "ltc": "Long-term physical health condition (Yes/No).",
    "problem_descriptor": "Presenting problem (e.g. Depression, PTSD), matched to the ADSM.",
}


def _number(value: float | None) -> str:
    """A threshold as written: 10, 2.3, 0.73; '—' when the measure has none."""
    return "—" if value is None else f"{value:g}"


# --- the data dictionary -----------------------------------------------------------------------


def _column_row(level: str, column: Column) -> dict[str, str]:
    return {"level": level, "column": column.name, "required": column.required, "type_and_range": column.kind,
            "meaning": column.meaning}


def data_dictionary(level: Literal["episode", "session"] = "episode") -> pd.DataFrame:
    """One row per accepted input column at ``level`` ("episode" or "session").

    Built from :data:`analysis.schema.EPISODE_COLUMNS` / :data:`~analysis.schema.SESSION_COLUMNS`
    (the same objects validation enforces). At episode level the optional category columns
    (:data:`~analysis.schema.KNOWN_SUBGROUP_COLUMNS`) follow, including the derived
    ``baseline_severity`` (PHQ-9 severity band of ``phq9_first``). Columns are
    :data:`DICTIONARY_COLUMNS`; all values are text.

    >>> data_dictionary("episode").iloc[0]["column"]
    'participant_id'
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS} (got {level!r}).")
    columns = EPISODE_COLUMNS if level == "episode" else SESSION_COLUMNS
    rows = [_column_row(level, column) for column in columns]
    if level == "episode":
        for name in KNOWN_SUBGROUP_COLUMNS:
            if name == "baseline_severity":
                bands = ", ".join(label for _, _, label in PHQ9_SEVERITY_BANDS)
                rows.append({"level": level, "column": name, "required": "no (derived)",
                             "type_and_range": f"one of {bands}",
                             "meaning": "PHQ-9 severity band of phq9_first (Kroenke, Spitzer & Williams 2001); "
                                        "added by the dashboard when the file has no column of this name."})
            else:
                rows.append({"level": level, "column": name, "required": "no", "type_and_range": "text (categories)",
                             "meaning": _SUBGROUP_MEANINGS.get(name, "Optional category.")
                             + " Usable as a filter and a subgroup."})
    return pd.DataFrame(rows, columns=list(DICTIONARY_COLUMNS))


def full_dictionary() -> pd.DataFrame:
    """Both levels, episode first: the content of ``data/sample/reference/data_dictionary.csv``."""
    return pd.concat([data_dictionary(level) for level in LEVELS], ignore_index=True)


def dictionary_csv() -> str:
    """The dictionary as the committed CSV's text (UTF-8, comma, ``\\n`` line ends)."""
    return full_dictionary().to_csv(index=False, lineterminator="\n")


def write_dictionary(path: Path = DICTIONARY_PATH) -> Path:
    """Write :func:`dictionary_csv` to ``path`` and return the path."""
    Path(path).write_text(dictionary_csv(), encoding="utf-8", newline="")
    return Path(path)


def required_columns_text(level: Literal["episode", "session"]) -> str:
    """'participant_id, group, ...' — the columns a file at ``level`` must have."""
    return ", ".join(REQUIRED_EPISODE_COLUMNS if level == "episode" else REQUIRED_SESSION_COLUMNS)


# --- thresholds and definitions ----------------------------------------------------------------


def all_measures() -> list[Measure]:
    """PHQ-9, GAD-7, each ADSM (schema order), then WSAS."""
    return [PHQ9, GAD7, *ADSMS.values(), WSAS]


def thresholds_table() -> pd.DataFrame:
    """Measure, full name, range, caseness cut-off, reliable change and MCID, from the schema.

    Caseness = a score at or above the cut-off; reliable change = a change of at least the
    index (NHS Talking Therapies Manual, appendix "Clinical cut-offs and reliable change index").
    """
    rows = [{"Measure": m.label, "Full name": m.full_name, "Range": m.range_text,
             "Caseness (score ≥)": _number(m.caseness), "Reliable change (change ≥)": _number(m.reliable_change),
             "MCID (fall ≥)": _number(m.mcid)} for m in all_measures()]
    return pd.DataFrame(rows)


def rate_definitions_table() -> pd.DataFrame:
    """The four outcome rates with their numerator and denominator (:data:`RATE_DEFINITIONS`)."""
    return pd.DataFrame([{"Rate": d.label, "Numerator": d.numerator, "Denominator": d.denominator,
                          "Higher is better": "yes" if d.higher_is_better else "no"}
                         for d in RATE_DEFINITIONS.values()])


def _adsm_list(attribute: str) -> str:
    return ", ".join(f"{m.label} {_number(getattr(m, attribute))}" for m in ADSMS.values())


def flag_rules() -> list[tuple[str, str]]:
    """The population and outcome-flag rules as (name, rule) sentences, thresholds read from the schema.

    The same rules :func:`analysis.outcomes.participant_outcomes` applies (design doc,
    "Population and outcome flags").
    """
    phq_cut, phq_rc = _number(PHQ9.caseness), _number(PHQ9.reliable_change)
    gad_cut, gad_rc = _number(GAD7.caseness), _number(GAD7.reliable_change)
    return [
        ("Finished a course of treatment",
         f"treatment_sessions ≥ {FINISHED_MIN_SESSIONS}. When the column is absent every participant counts as "
         "finished. All outcome figures use finishers only; the number excluded is shown."),
        ("Anxiety measure",
         "the anxiety-disorder-specific measure (ADSM) when adsm_measure is given and both adsm_first and "
         "adsm_last are present; otherwise GAD-7."),
        ("At caseness",
         f"PHQ-9 first ≥ {phq_cut} or anxiety first ≥ its cut-off (GAD-7 {gad_cut}; {_adsm_list('caseness')})."),
        ("Paired",
         "PHQ-9 first and last and anxiety first and last all present. Unpaired participants are never "
         "recovered, improved or deteriorated but stay in every denominator; paired-data completeness is "
         f"reported against the {percent(PAIRED_COMPLETENESS_STANDARD)} standard."),
        ("Recovered",
         f"paired, at caseness, PHQ-9 last < {phq_cut} and anxiety last < its cut-off."),
        ("Reliable improvement",
         f"paired, (PHQ-9 fell by ≥ {phq_rc} or anxiety fell by ≥ its reliable change index: GAD-7 {gad_rc}; "
         f"{_adsm_list('reliable_change')}) and neither rose by ≥ its index."),
        ("Reliable deterioration",
         f"paired, (PHQ-9 rose by ≥ {phq_rc} or anxiety rose by ≥ its index) and neither fell by ≥ its index."),
        ("Reliable recovery", "recovered and reliably improved."),
        ("No reliable change", "paired and neither reliably improved nor reliably deteriorated."),
        ("Outcome category (every finisher in exactly one, for the category charts)",
         "the first that applies: " + " → ".join(label for _, label in CATEGORY_PRECEDENCE) + ". A reliably "
         "deteriorated finisher is never shown as recovered or improved, even when the recovery flag (which the "
         "recovery rate counts) is set."),
        ("Session-level files", SESSION_REDUCTION_RULE),
        ("Change", "last − first, so a negative change (and a negative difference in change) is an improvement. "
                   "Continuous analyses use finishers with both scores of that measure."),
        ("Reference lines",
         f"national recovery standard {percent(RECOVERY_STANDARD)}; about "
         f"{percent(RELIABLE_IMPROVEMENT_REFERENCE)} (two in three) reliably improve."),
    ]


# --- methods -----------------------------------------------------------------------------------

_METHOD_LABELS: Final = {
    "welch": "Welch's t test", "mann_whitney": "Mann–Whitney U", "hedges_g": "Hedges' g", "ancova": "ANCOVA",
    "permutation": "Permutation test", "mcid": "Minimal clinically important difference",
    "wilson": "Wilson interval", "newcombe": "Difference in rates", "fisher": "Fisher's exact test",
    "odds_ratio_exact": "Odds ratio (exact)", "odds_ratio_woolf": "Odds ratio (large samples)",
    "relative_risk": "Relative risk", "nnt": "Number needed to treat",
    "mann_whitney_exact": "Mann–Whitney U (small groups with ties)",
    "relative_risk_mover": "Relative risk at 0% or 100%", "smd": "Standardised mean difference",
    "interaction": "Subgroup interaction test",
}


# References for methods whose description in compare.METHODS names none.
_ADDED_REFERENCES: Final = {
    "interaction": "References: Altman & Bland 2003 (interaction revisited); Wang et al. 2007 (reporting subgroup "
                   "analyses).",
    "mcid": "Reference: Jaeschke, Singer & Guyatt 1989 (the minimal clinically important difference).",
}


def _method_detail(key: str) -> str:
    """Settings the code uses for a method (from the same constants) and any added reference, or ''."""
    detail = _method_setting(key)
    reference = _ADDED_REFERENCES.get(key, "")
    return f"{detail} {reference}".strip()


def _method_setting(key: str) -> str:
    if key == "permutation":
        return (f"{compare.PERMUTATION_RESAMPLES:,} resamples, seed {compare.PERMUTATION_SEED}; not run above "
                f"{compare.PERMUTATION_MAX_N:,} participants.")
    if key == "odds_ratio_exact":
        return f"Used when the two denominators together are at most {compare.EXACT_ODDS_RATIO_MAX_N:,}."
    if key == "smd":
        return f"|SMD| > {compare.SMD_IMBALANCE:g} is flagged as imbalance."
    if key == "ancova":
        return ("Primary analysis for continuous outcomes; the other continuous methods are sensitivity analyses. "
                f"Not reported (null with the reason) when the residual variance is below "
                f"{compare.PERFECT_FIT_TOLERANCE:g} of the last score's variance (a perfect fit).")
    if key == "mann_whitney_exact":
        return (f"Used when a group has at most {compare.MANN_WHITNEY_EXACT_MAX_N} people and there are ties; exact "
                f"enumeration up to {compare.PERMUTATION_RESAMPLES:,} splits, else that many random splits.")
    return ""


def methods_table() -> pd.DataFrame:
    """Every statistical method with its reference: :data:`analysis.compare.METHODS` (key
    column ``key``), the power methods and the disclosure rules, with the settings in use."""
    rows = [{"Area": "Group comparisons", "Method": _METHOD_LABELS.get(key, key.replace("_", " ").capitalize()),
             "key": key, "Description and reference": text, "Settings": _method_detail(key)}
            for key, text in compare.METHODS.items()]
    rows += [
        {"Area": "Planning", "Method": "Sample size and power for rates", "key": "power_rates",
         "Description and reference": power.RATES_METHOD,
         "Settings": f"Two-sided; α = {ALPHA:g} and {percent(power.DEFAULT_POWER)} power by default."},
        {"Area": "Planning", "Method": "Sample size and power for means", "key": "power_means",
         "Description and reference": power.MEANS_METHOD,
         "Settings": f"Two-sided; α = {ALPHA:g} and {percent(power.DEFAULT_POWER)} power by default."},
        {"Area": "Planning", "Method": "No observed power", "key": "observed_power",
         "Description and reference": power.OBSERVED_POWER_WARNING, "Settings": ""},
        {"Area": "Presentation-safe mode", "Method": "Disclosure control", "key": "disclosure",
         "Description and reference": disclosure.DISCLOSURE_RULES,
         "Settings": f"Suppress below {disclosure.SUPPRESS_BELOW}; round to the nearest {disclosure.ROUND_TO}."},
    ]
    return pd.DataFrame(rows, columns=["Area", "Method", "key", "Description and reference", "Settings"])


def method_sentence(row: pd.Series | dict) -> str:
    """A :func:`methods_table` row as one line: the description, then its settings if any."""
    text = str(row["Description and reference"]).rstrip()
    settings = str(row["Settings"] or "").strip()
    if not settings:
        return text
    return (text if text.endswith(".") else text + ".") + " " + settings


GROUP_DIRECTION: Final = (f"Every comparison is {GROUP_PA.replace('_', ' ')} minus {GROUP_CONTROL}; "
                          "p values are two-sided.")


# --- limitations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limitation:
    """A limitation of the outcome evidence; ``quote`` is the pilot write-up's own words
    (verbatim in ``source_document``) or None when it is this dashboard's statement."""

    title: str
    summary: str
    quote: str | None = None
    source_document: str | None = None
    source_section: str | None = None


PILOT_LIMITATIONS: Final = (
    Limitation(
        "Self-selection",
        "Participants were not randomised: they chose physical activity (or not), so a difference between the "
        "groups may reflect who chose it rather than its effect. The baseline balance on Who benefits shows how "
        "the groups differed at the start; ANCOVA adjusts for the first score only.",
        "Participants chose to take part in physical activity sessions (or not), so it could be that those in "
        "the physical activity group had more reason to benefit.",
        PILOT_DOCUMENT, "What does this mean?"),
    Limitation(
        "Small numbers",
        "With a few dozen participants, confidence intervals are wide: a real benefit can look like chance and "
        "chance can look like a benefit. A p value above 0.05 does not show there is no difference.",
        "We only had 38 participants overall, and more are needed before we can confidently conclude that "
        "improvements were due to physical activity and not just chance.",
        PILOT_DOCUMENT, "What we found:"),
    Limitation(
        "Who benefits is unknown",
        "Subgroup results are exploratory; the pilot was too small to say whether physical activity helps some "
        "people more than others.",
        "Future research should examine whether physical activity is more effective for some people than others.",
        PILOT_DOCUMENT, "What does this mean?"),
    Limitation(
        "Synthetic sample",
        "The bundled sample is synthetic: invented participants calibrated to the pilot's published headline "
        "figures (38 participants; 63% vs 36% recovered; symptom falls about twice as large with physical "
        "activity). It reproduces those figures, not the pilot's real data: use it to learn the dashboard, "
        "not to draw conclusions. Its subgroup columns are invented."),
)


# --- CLI -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Write the data dictionary CSV (or, with ``--check``, report whether it is current)."""
    parser = argparse.ArgumentParser(prog="python -m analysis.dictionary",
                                     description="Write the data dictionary generated from analysis.schema.")
    parser.add_argument("--output", type=Path, default=DICTIONARY_PATH, help="CSV to write")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file differs from the schema")
    args = parser.parse_args(argv)
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != dictionary_csv():
            print(f"{args.output} is out of date: run python -m analysis.dictionary", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date.")
        return 0
    path = write_dictionary(args.output)
    print(f"Wrote {path} ({len(full_dictionary())} columns described).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
