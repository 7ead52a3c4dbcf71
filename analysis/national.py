"""The pilot against the nation: NHS England's published NHS Talking Therapies figures as
benchmarks and as an expected rate.

Data: the compact extract in ``data/reference/`` (made by ``data/reference/make_reference.py``
from the ``nhstt`` package's tidy copy of NHS England's annual reports). It is public data, so
it is read once per process (``functools.cache``), and the figures worked out from it alone (benchmarks,
trends, the funnel, category rates) are memoised per process too (``functools.lru_cache``); their
results are shared, so callers must not modify them. No patient-level data ever goes near these caches:
:func:`expected_rates` and :func:`benchmark_block` with a pilot's data are never cached here.

What this module computes (pure functions, no Streamlit):

* :func:`benchmark` — for a reporting year and an organisation (England, an NHS region, an ICB
  or a provider, found by :func:`find_organisation` from a name or an ODS code), the four rates
  with their published counts. The rate is NHS England's published percentage; recovery and
  reliable recovery are published over ``finished − not at caseness``, improvement and
  deterioration over all finishers (NHS England's measure definitions, 2024-25).
* :func:`trend` — the same rates for every year from 2017-18 to the latest.
* :func:`funnel` — every provider's recovery rate against its number of finishers at caseness,
  with exact binomial 95% and 99.8% control limits around England's rate (Spiegelhalter DJ.
  Funnel plots for comparing institutional performance. *Stat Med* 2005;24:1185–1202, appendix
  A.1.1: the binomial quantile interpolated so the limits are smooth in n).
* :func:`expected_rates` — case-mix expected rates by indirect standardisation: each participant
  is given the national rate of people in their published category (one breakdown at a time:
  problem descriptor, age group, gender, ethnic group, long-term condition, deprivation decile);
  expected E = the sum of those rates, observed O = the number who recovered, and O/E with an
  exact Poisson 95% CI (Ulm K. A simple method to calculate the confidence interval of a
  standardized mortality ratio. *Am J Epidemiol* 1990;131:373–375). Pilot values are mapped to
  the published categories by explicit tables; values that match no category are reported with
  their count and the reason, never dropped silently.
* :func:`structured_physical_activity` — England's published figures for the therapy type
  "Structured Physical Activity" (2019-20 on), flagged as small numbers and a different population.

Disclosure control as published: a suppressed (``*``) or unpublished (``NULL``) value is missing
(None with its reason), never zero. Region, ICB and provider counts are rounded to the nearest 5.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
from scipy import stats

from analysis.schema import GROUP_LABELS, GROUPS, RECOVERY_STANDARD

ATTRIBUTION: Final = ("Contains public sector information licensed under the Open Government Licence v3.0. "
                      "Source: NHS England, NHS Talking Therapies for anxiety and depression annual reports, "
                      "via the nhstt package.")
ROUNDING_NOTE: Final = ("Region, ICB and provider counts are published rounded to the nearest 5 (provider "
                        "percentages to whole numbers); England's counts are exact. Suppressed or unpublished "
                        "values are shown as missing, never as zero.")
REFERENCE_DIR: Final = Path(__file__).resolve().parents[1] / "data" / "reference"
MEASURES_FILE: Final = "nhs_tt_measures.parquet"
THERAPY_TYPES_FILE: Final = "nhs_tt_therapy_types.parquet"
PROVIDERS_FILE: Final = "nhs_tt_providers.parquet"
FIRST_YEAR: Final = "2017-18"
ENGLAND: Final = "England"
ORG_TYPES: Final = ("England", "Commissioning Region", "ICB", "Provider")
ORG_TYPE_LABELS: Final = {"England": "England", "Commissioning Region": "NHS region", "ICB": "ICB",
                          "Provider": "Provider"}
FUNNEL_LEVELS: Final = (0.95, 0.998)  # two-sided coverage of the funnel's control limits
SPA_THERAPY: Final = "Structured Physical Activity"
SMALL_NUMBERS: Final = 100  # a published national figure resting on fewer people than this is flagged

# The project's rate keys -> NHS England's measure names.
PUBLISHED_MEASURES: Final = {
    "recovery": "recovery",
    "reliable_improvement": "improvement",
    "reliable_recovery": "reliable_recovery",
    "reliable_deterioration": "deterioration",
}
RATE_LABELS: Final = {"recovery": "Recovery", "reliable_improvement": "Reliable improvement",
                      "reliable_recovery": "Reliable recovery", "reliable_deterioration": "Reliable deterioration"}
CASENESS_RATES: Final = frozenset({"recovery", "reliable_recovery"})
DENOMINATORS: Final = {
    "recovery": "finishers minus those not at caseness",
    "reliable_recovery": "finishers minus those not at caseness",
    "reliable_improvement": "all finishers",
    "reliable_deterioration": "all finishers",
}
EXPECTED_RATES: Final = ("recovery", "reliable_improvement")  # rates the case-mix standardisation covers


# --- loading (public data: one shared cache per process) -------------------------------------------------


@functools.cache
def load_measures(directory: str | None = None) -> pd.DataFrame:
    """The reference extract of published measures, with a ``label`` column: the category as matched."""
    frame = pd.read_parquet(Path(directory or REFERENCE_DIR) / MEASURES_FILE)
    frame = frame.astype({c: "string" for c in ("year", "org_type", "org_code", "org_name", "breakdown", "category",
                                                "subcategory", "measure", "count_status", "percentage_status")})
    frame["label"] = _published_label(frame["category"], frame["subcategory"])
    return frame


@functools.cache
def load_therapy_types(directory: str | None = None) -> pd.DataFrame:
    frame = pd.read_parquet(Path(directory or REFERENCE_DIR) / THERAPY_TYPES_FILE)
    return frame.astype({c: "string" for c in ("year", "diagnosis", "therapy_type", "measure", "statistic", "time")})


@functools.cache
def load_providers(directory: str | None = None) -> pd.DataFrame:
    return pd.read_parquet(Path(directory or REFERENCE_DIR) / PROVIDERS_FILE).astype("string")


# Published labels that changed spelling between years, made one.
_PUBLISHED_ALIASES: Final = {
    "Generalized anxiety disorder": "Generalised anxiety disorder",
    "Hypochondriacal disorder": "Hypochondriacal disorders",
    "Other Recorded Problems": "Other recorded problems",
    "Body Dysmorphic Disorder": "Body dysmorphic disorder",
    "Indeterminate (unable to be classified as male or female)": "Indeterminate",
}


def _published_label(category: pd.Series, subcategory: pd.Series) -> pd.Series:
    """The most specific published label: the sub-category (e.g. 'Social phobias') where there is one."""
    sub = subcategory.fillna("")
    broad = sub.isin(["", "All", "Total", "Other", "NULL"]) | (sub == category)
    label = category.where(broad, sub).fillna("")
    return label.replace(_PUBLISHED_ALIASES)


def years(directory: str | None = None) -> list[str]:
    """Reporting years in the extract, oldest first (e.g. ['2017-18', ..., '2024-25'])."""
    return list(_years(directory))


@functools.cache
def _years(directory: str | None) -> tuple[str, ...]:  # every page's sidebar asks: worked out once
    return tuple(sorted(load_measures(directory)["year"].dropna().unique().tolist()))


def latest_year(directory: str | None = None) -> str:
    return years(directory)[-1]


# --- organisations --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Organisation:
    org_type: str  # England / Commissioning Region / ICB / Provider
    code: str
    name: str

    @property
    def label(self) -> str:
        if self.org_type == ENGLAND:
            return ENGLAND
        return f"{display_name(self.name)} ({ORG_TYPE_LABELS[self.org_type]}, {self.code})"

    def to_dict(self) -> dict[str, str]:
        return {"type": ORG_TYPE_LABELS[self.org_type], "code": self.code, "name": display_name(self.name)}


ENGLAND_ORG: Final = Organisation(ENGLAND, "All", ENGLAND)


def display_name(name: str) -> str:
    """NHS England's upper-case names made readable ('LONDON COMMISSIONING REGION' -> 'London Commissioning Region')."""
    if name.isupper():
        small = {"And", "Of", "The", "For", "In", "On"}
        words = [w.capitalize() for w in name.split()]
        return " ".join(w.lower() if i and w in small else (w.upper() if w in {"Nhs", "Icb", "Cic"} else w)
                        for i, w in enumerate(words))
    return name


@functools.lru_cache(maxsize=256)  # public data only: safe to share between sessions
def organisations(year: str | None = None, directory: str | None = None) -> pd.DataFrame:
    """Every organisation with a published total in ``year``: type, code, name (England first)."""
    frame = load_measures(directory)
    year = year or latest_year(directory)
    rows = frame[(frame["year"] == year) & (frame["breakdown"] == "Total")
                 & (frame["measure"] == "finished_course_treatment") & (frame["org_code"] != "UNKNOWN")]
    out = rows[["org_type", "org_code", "org_name"]].drop_duplicates(["org_type", "org_code"])
    order = {t: i for i, t in enumerate(ORG_TYPES)}
    out = out.assign(_o=out["org_type"].map(order)).sort_values(["_o", "org_name"]).drop(columns="_o")
    return out.reset_index(drop=True)


@functools.lru_cache(maxsize=256)  # public data only: safe to share between sessions
def find_organisation(query: str | None, year: str | None = None, directory: str | None = None) -> Organisation:
    """England, a region, an ICB or a provider from an ODS code or (part of) a name, case-insensitive.

    An exact code wins, then an exact name, then a unique name containing ``query``. Raises
    ``LookupError`` with a plain message (naming up to five candidates when several match).
    """
    text = (query or "").strip()
    if not text or text.lower() in {"england", "all", "eng"}:
        return ENGLAND_ORG
    year = year or latest_year(directory)
    orgs = organisations(year, directory)
    orgs = orgs[orgs["org_type"] != ENGLAND]
    for column in ("org_code", "org_name"):
        exact = orgs[orgs[column].str.lower() == text.lower()]
        if len(exact) >= 1:
            row = exact.iloc[0]
            return Organisation(row["org_type"], row["org_code"], row["org_name"])
    partial = orgs[orgs["org_name"].str.lower().str.contains(re.escape(text.lower()), regex=True)]
    if len(partial) == 1:
        row = partial.iloc[0]
        return Organisation(row["org_type"], row["org_code"], row["org_name"])
    if len(partial) > 1:
        names = "; ".join(f"{r.org_code} {display_name(r.org_name)}" for r in partial.head(5).itertuples())
        raise LookupError(f"{len(partial)} organisations in {year} match {text!r} (e.g. {names}): give the ODS code.")
    raise LookupError(f"No organisation in NHS England's {year} figures has the code or name {text!r}.")


# --- benchmarks --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedRate:
    """One published rate: NHS England's percentage (as a proportion) and the counts behind it."""

    key: str
    count: float | None
    denominator: float | None
    rate: float | None
    reason: str | None = None

    @property
    def label(self) -> str:
        return RATE_LABELS[self.key]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"count": _int(self.count), "denominator": _int(self.denominator), "rate": self.rate}
        if self.reason:
            out["reason"] = self.reason
        return out


def _int(value: float | None) -> int | None:
    return None if value is None or not math.isfinite(value) else int(round(value))


@dataclass(frozen=True)
class Benchmark:
    """An organisation's published figures for one reporting year."""

    organisation: Organisation
    year: str
    finished: float | None
    at_caseness: float | None
    not_at_caseness: float | None
    rates: dict[str, PublishedRate]
    rounded: bool  # counts published rounded to the nearest 5
    reason: str | None = None  # why nothing is available, if so

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "organisation": self.organisation.to_dict(), "year": self.year,
            "finished": _int(self.finished), "at_caseness": _int(self.at_caseness),
            "not_at_caseness": _int(self.not_at_caseness),
            "rates": {k: r.to_dict() for k, r in self.rates.items()},
            "counts_rounded_to_5": self.rounded,
        }
        if self.reason:
            out["reason"] = self.reason
        return out


def _totals(org: Organisation, directory: str | None) -> pd.DataFrame:
    frame = load_measures(directory)
    return frame[(frame["org_type"] == org.org_type) & (frame["org_code"] == org.code) & (frame["breakdown"] == "Total")]


def _published(rows: pd.DataFrame, measure: str) -> tuple[float | None, float | None, str]:
    """(count, percentage, status) of one measure in ``rows`` (one year's totals or one category)."""
    row = rows[rows["measure"] == measure]
    if row.empty:
        return None, None, "not published"
    row = row.iloc[0]
    count = None if pd.isna(row["count"]) else float(row["count"])
    percentage = None if pd.isna(row["percentage"]) else float(row["percentage"])
    return count, percentage, str(row["count_status"])


def _rates_from(rows: pd.DataFrame, what: str) -> tuple[dict[str, PublishedRate], dict[str, float | None]]:
    finished, _, _ = _published(rows, "finished_course_treatment")
    at_caseness, _, _ = _published(rows, "at_caseness")
    not_caseness, _, _ = _published(rows, "not_at_caseness")
    caseness_denominator = (finished - not_caseness) if finished is not None and not_caseness is not None else None
    out = {}
    for key, measure in PUBLISHED_MEASURES.items():
        count, percentage, status = _published(rows, measure)
        denominator = caseness_denominator if key in CASENESS_RATES else finished
        reason = None
        if percentage is not None:
            rate = round(percentage / 100, 6)
        elif count is not None and denominator:
            rate = count / denominator
            reason = "NHS England published no percentage; worked out from the published counts."
        else:
            rate = None
            reason = f"{RATE_LABELS[key]} is {status} for {what}."
        out[key] = PublishedRate(key, count, denominator, rate, reason)
    return out, {"finished": finished, "at_caseness": at_caseness, "not_at_caseness": not_caseness}


@functools.lru_cache(maxsize=256)  # public data only: safe to share between sessions
def benchmark(org: Organisation | str | None = None, year: str | None = None,
              directory: str | None = None) -> Benchmark:
    """The four published rates and their counts for ``org`` (default England) in ``year`` (default latest)."""
    year = year or latest_year(directory)
    if year not in years(directory):
        raise LookupError(f"No NHS England figures for {year!r}: the extract covers {', '.join(years(directory))}.")
    org = org if isinstance(org, Organisation) else find_organisation(org, year, directory)
    totals = _totals(org, directory)
    rows = totals[totals["year"] == year]
    if rows.empty:
        empty = {k: PublishedRate(k, None, None, None, f"{org.label} has no published figures for {year}.")
                 for k in PUBLISHED_MEASURES}
        return Benchmark(org, year, None, None, None, empty, org.org_type != ENGLAND,
                         reason=f"{org.label} has no published figures for {year}.")
    rates, counts = _rates_from(rows, f"{org.label} in {year}")
    return Benchmark(org, year, counts["finished"], counts["at_caseness"], counts["not_at_caseness"], rates,
                     rounded=org.org_type != ENGLAND)


def england_recovery(year: str | None = None, directory: str | None = None) -> tuple[float, str]:
    """England's published recovery rate for ``year`` and a label naming the year, for reference lines.

    Falls back to the 50% national standard (saying so) only if the year has no published rate.
    """
    figures = benchmark(ENGLAND_ORG, year, directory)
    rate = figures.rates["recovery"].rate
    if rate is None:
        return RECOVERY_STANDARD, f"National recovery standard {RECOVERY_STANDARD:.0%}"
    return rate, f"England {figures.year}: {rate * 100:.1f}%"


def england_reference(rate_key: str, year: str | None = None, directory: str | None = None) -> tuple[float, str] | None:
    """England's published rate ``rate_key`` in ``year`` with its label, or None when not published."""
    figures = benchmark(ENGLAND_ORG, year, directory)
    rate = figures.rates[rate_key].rate
    return None if rate is None else (rate, f"England {figures.year}: {rate * 100:.1f}%")


def rate_references(year: str | None = None, directory: str | None = None) -> dict[str, tuple[float, str]]:
    """England's published recovery and reliable improvement for ``year`` as reference lines
    (rate -> (value, legend text such as 'England 2024-25: 50.5%')), for the outcome charts in place
    of fixed national lines; each line sits over its own rate, so the legend names the year and value."""
    out = {}
    for key in ("recovery", "reliable_improvement"):
        reference = england_reference(key, year, directory)
        if reference is not None:
            out[key] = reference
    return out


@functools.lru_cache(maxsize=256)  # public data only: safe to share between sessions
def trend(org: Organisation | str | None = None, directory: str | None = None) -> pd.DataFrame:
    """One row per year (2017-18 on) and rate: year, rate, rate_label, value, count, denominator, reason."""
    org = org if isinstance(org, Organisation) else find_organisation(org, None, directory)
    totals = _totals(org, directory)
    rows = []
    for year in years(directory):
        year_rows = totals[totals["year"] == year]
        if year_rows.empty:
            continue
        rates, _ = _rates_from(year_rows, f"{org.label} in {year}")
        for key, rate in rates.items():
            rows.append({"year": year, "rate": key, "rate_label": RATE_LABELS[key], "value": rate.rate,
                         "count": rate.count, "denominator": rate.denominator, "reason": rate.reason})
    return pd.DataFrame(rows, columns=["year", "rate", "rate_label", "value", "count", "denominator", "reason"])


# --- funnel plot (Spiegelhalter 2005) -------------------------------------------------------------------------


def binomial_limits(target: float, n: np.ndarray | float, coverage: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial control limits (as proportions) around ``target`` for sample sizes ``n``.

    Spiegelhalter (2005), appendix A.1.1: for the tail probability p, r_p is the p-quantile of
    Binomial(n, target); α = (F(r_p) − p) / (F(r_p) − F(r_p − 1)); the limit is (r_p − α) / n. The
    interpolation makes the limits continuous in n. Lower limit p = (1 − coverage)/2, upper 1 − that.
    """
    n = np.atleast_1d(np.asarray(n, dtype=float))
    out = []
    for p in ((1 - coverage) / 2, 1 - (1 - coverage) / 2):
        r = stats.binom.ppf(p, n, target)
        f_r = stats.binom.cdf(r, n, target)
        f_below = stats.binom.cdf(r - 1, n, target)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.where(f_r > f_below, (f_r - p) / (f_r - f_below), 0.0)
            out.append(np.clip((r - alpha) / n, 0.0, 1.0))
    return out[0], out[1]


def funnel_position(rate: float, n: float, target: float) -> str:
    """Where a rate of n people sits on the funnel: 'above the 99.8% limit', 'within the 95% limits', ..."""
    lo95, hi95 = binomial_limits(target, n, 0.95)
    lo998, hi998 = binomial_limits(target, n, 0.998)
    if rate > hi998[0]:
        return "above the 99.8% limit"
    if rate > hi95[0]:
        return "above the 95% limit (within 99.8%)"
    if rate < lo998[0]:
        return "below the 99.8% limit"
    if rate < lo95[0]:
        return "below the 95% limit (within 99.8%)"
    return "within the 95% limits"


@dataclass(frozen=True)
class Funnel:
    year: str
    target: float  # England's recovery rate
    providers: pd.DataFrame  # org_code, org_name, n (finishers at caseness), rate, position
    limits: pd.DataFrame  # n, lo95, hi95, lo998, hi998
    excluded: int  # providers with no published rate or denominator
    method: str = ("Exact binomial 95% and 99.8% control limits around England's rate (Spiegelhalter 2005, "
                   "Stat Med 24:1185-1202); n = finishers minus those not at caseness, rounded to 5 as published.")


@functools.lru_cache(maxsize=256)  # public data only: safe to share between sessions
def funnel(year: str | None = None, directory: str | None = None, points: int = 200) -> Funnel:
    """Every provider's published recovery rate against its number of finishers at caseness, with limits."""
    year = year or latest_year(directory)
    target = benchmark(ENGLAND_ORG, year, directory).rates["recovery"].rate
    frame = load_measures(directory)
    rows = frame[(frame["year"] == year) & (frame["org_type"] == "Provider") & (frame["breakdown"] == "Total")]
    wide = rows.pivot_table(index=["org_code"], columns="measure", values=["count", "percentage"], aggfunc="first")
    names = rows.drop_duplicates("org_code").set_index("org_code")["org_name"]
    n = wide[("count", "finished_course_treatment")] - wide[("count", "not_at_caseness")]
    rate = wide[("percentage", "recovery")] / 100
    providers = pd.DataFrame({"org_code": wide.index, "org_name": names.reindex(wide.index).to_numpy(),
                              "n": n.to_numpy(), "rate": rate.to_numpy(),
                              "recovered": wide[("count", "recovery")].to_numpy()})
    usable = providers["n"].gt(0) & providers["rate"].notna()
    excluded = int((~usable).sum())
    providers = providers[usable].reset_index(drop=True)
    if target is not None and len(providers):
        providers["position"] = [funnel_position(r, k, target) for r, k in zip(providers["rate"], providers["n"],
                                                                                 strict=True)]
        top = max(float(providers["n"].max()), 50.0)
        grid = np.unique(np.round(np.geomspace(5, top * 1.1, points)))
        limits = {"n": grid}
        for coverage, tag in zip(FUNNEL_LEVELS, ("95", "998"), strict=True):
            limits[f"lo{tag}"], limits[f"hi{tag}"] = binomial_limits(target, grid, coverage)
        limits_frame = pd.DataFrame(limits)
    else:
        providers["position"] = None
        limits_frame = pd.DataFrame(columns=["n", "lo95", "hi95", "lo998", "hi998"])
    return Funnel(year, float(target) if target is not None else float("nan"), providers, limits_frame, excluded)


# --- case-mix expected rates (indirect standardisation) -----------------------------------------------------


def _norm(value: object) -> str:
    return re.sub(r"[\s_\-–/]+", " ", str(value).strip().lower()).strip()


# Pilot values (normalised: lower case, separators as spaces) -> NHS England's published label.
_PROBLEM_DESCRIPTORS: Final = {
    "depression": "Depression", "depressive episode": "Depression", "recurrent depression": "Depression",
    "mixed anxiety and depression": "Mixed anxiety and depressive disorder",
    "mixed anxiety and depressive disorder": "Mixed anxiety and depressive disorder",
    "generalised anxiety disorder": "Generalised anxiety disorder",
    "generalized anxiety disorder": "Generalised anxiety disorder", "gad": "Generalised anxiety disorder",
    "ptsd": "Post-traumatic stress disorder", "post traumatic stress disorder": "Post-traumatic stress disorder",
    "health anxiety": "Hypochondriacal disorders", "hypochondriacal disorder": "Hypochondriacal disorders",
    "hypochondriacal disorders": "Hypochondriacal disorders",
    "social anxiety disorder": "Social phobias", "social anxiety": "Social phobias", "social phobia": "Social phobias",
    "social phobias": "Social phobias",
    "panic disorder": "Panic disorder [episodic paroxysmal anxiety]",
    "agoraphobia": "Agoraphobia",
    "ocd": "Obsessive-compulsive disorder", "obsessive compulsive disorder": "Obsessive-compulsive disorder",
    "specific phobia": "Specific (isolated) phobias", "specific phobias": "Specific (isolated) phobias",
    "other anxiety": "Other anxiety or stress related disorder",
    "other anxiety or stress related disorder": "Other anxiety or stress related disorder",
    "body dysmorphic disorder": "Body dysmorphic disorder",
}
_GENDERS: Final = {"female": "Female", "f": "Female", "woman": "Female", "male": "Male", "m": "Male",
                   "man": "Male"}
_ETHNIC_GROUPS: Final = {
    "white": "White", "white british": "White", "white irish": "White", "white other": "White",
    "any other white background": "White", "white gypsy or irish traveller": "White",
    "asian or asian british": "Asian or Asian British", "asian": "Asian or Asian British",
    "black or black british": "Black or Black British", "black": "Black or Black British",
    "mixed": "Mixed", "mixed or multiple ethnic groups": "Mixed",
    "other": "Other Ethnic Groups", "other ethnic group": "Other Ethnic Groups",
    "other ethnic groups": "Other Ethnic Groups",
    "not stated": "Not stated/Not known/Invalid", "not known": "Not stated/Not known/Invalid",
}
_LTC: Final = {"yes": "Long term condition", "y": "Long term condition", "true": "Long term condition",
               "long term condition": "Long term condition", "no": "No long term condition",
               "n": "No long term condition", "false": "No long term condition",
               "no long term condition": "No long term condition"}


@dataclass(frozen=True)
class BreakdownSpec:
    breakdown: str  # the published breakdown ("Problem descriptor")
    columns: tuple[str, ...]  # pilot columns it can be matched from, first present wins
    table: dict[str, str] = field(default_factory=dict)  # normalised pilot value -> published label
    ages: bool = False  # match age bands by their numeric range


BREAKDOWNS: Final = {
    "problem_descriptor": BreakdownSpec("Problem descriptor", ("problem_descriptor", "presenting_complaint"),
                                        _PROBLEM_DESCRIPTORS),
    "age_group": BreakdownSpec("Age group", ("age_band", "age_group"), ages=True),
    "gender": BreakdownSpec("Gender", ("gender", "sex"), _GENDERS),
    "ethnic_group": BreakdownSpec("Ethnic group", ("ethnicity", "ethnic_group"), _ETHNIC_GROUPS),
    "long_term_condition": BreakdownSpec("Long-term condition", ("ltc", "long_term_condition"), _LTC),
    "deprivation_decile": BreakdownSpec("Deprivation decile", ("imd_decile", "deprivation_decile")),
}


def available_breakdowns(columns) -> dict[str, str]:
    """{breakdown key: the pilot column it uses} for the breakdowns whose column the data have."""
    present = set(columns)
    out = {}
    for key, spec in BREAKDOWNS.items():
        column = next((c for c in spec.columns if c in present), None)
        if column:
            out[key] = column
    return out


_AGE_RANGE = re.compile(r"^\s*(\d+)\s*(?:-|–|to)\s*(\d+)\s*$")
_AGE_OPEN = re.compile(r"^\s*(\d+)\s*(?:\+|and over|or over|plus)\s*$")
_AGE_UNDER = re.compile(r"^\s*under\s*(\d+)\s*$", re.IGNORECASE)


def _age_interval(text: str) -> tuple[float, float] | None:
    """'18-25' -> (18, 25); '66+' / '65 and over' -> (66, inf); 'Under 18' -> (0, 17)."""
    text = str(text).strip().lower()
    if m := _AGE_RANGE.match(text):
        return float(m.group(1)), float(m.group(2))
    if m := _AGE_OPEN.match(text):
        return float(m.group(1)), math.inf
    if m := _AGE_UNDER.match(text):
        return 0.0, float(m.group(1)) - 1
    return None


def _match_age(value: str, published: list[str]) -> tuple[tuple[str, ...] | None, str | None]:
    """The published band(s) an age band falls in: one band that contains it, or for an open band
    ('66+') the bands from the one containing its lower end upwards. A band that straddles two
    published bands ('56-65' across '26 to 64' and '65 to 74') matches none, with the reason."""
    interval = _age_interval(value)
    if interval is None:
        return None, f"{value!r} is not an age band such as 18-25 or 66+"
    bands = [(label, _age_interval(label)) for label in published]
    bands = [(label, band) for label, band in bands if band is not None]
    lo, hi = interval
    for label, (blo, bhi) in bands:
        if blo <= lo and hi <= bhi:
            return (label,), None
    if math.isinf(hi):
        start = [label for label, (blo, bhi) in bands if blo <= lo <= bhi]
        if start:
            chosen = tuple(label for label, (blo, _) in bands if blo >= dict(bands)[start[0]][0])
            if any(math.isinf(dict(bands)[label][1]) for label in chosen):
                return chosen, None
    crossing = [label for label, (blo, bhi) in bands if blo <= hi and lo <= bhi]
    return None, (f"{value} straddles the published bands {' and '.join(crossing)}" if crossing else
                  f"{value} falls in no published age band")


@dataclass(frozen=True)
class CategoryMatch:
    value: str  # the pilot's value
    published: tuple[str, ...] | None  # the published label(s) pooled for it, None when unmatched
    national_rate: dict[str, float | None]  # rate key -> national rate of that category
    n: dict[str, int]  # group -> participants with this value (in the rate's denominator for recovery)
    reason: str | None = None


@dataclass(frozen=True)
class ExpectedRate:
    """One group's observed and case-mix expected rate (indirect standardisation)."""

    group: str
    rate: str
    n: int  # matched participants in the rate's denominator
    observed: int
    expected: float | None
    observed_rate: float | None
    expected_rate: float | None
    ratio: float | None  # O / E
    ci95: tuple[float, float] | None
    unmatched: int  # participants in the denominator whose value matched no published category
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"n": self.n, "observed": self.observed, "expected": self.expected,
               "observed_rate": self.observed_rate, "expected_rate": self.expected_rate,
               "observed_over_expected": {"estimate": self.ratio, "ci95": list(self.ci95) if self.ci95 else None},
               "unmatched": self.unmatched}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class CaseMix:
    """Expected rates for both groups by one published breakdown."""

    breakdown: str  # key of BREAKDOWNS
    column: str
    year: str
    categories: list[CategoryMatch]
    results: dict[str, dict[str, ExpectedRate]]  # rate -> group -> result
    method: str = ("Indirect standardisation: each participant gets England's published rate for their "
                   "category; expected = sum of those rates; observed ÷ expected with an exact Poisson 95% CI "
                   "(Ulm 1990).")

    @property
    def label(self) -> str:
        return BREAKDOWNS[self.breakdown].breakdown

    @property
    def unmatched(self) -> list[CategoryMatch]:
        return [c for c in self.categories if c.published is None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "breakdown": self.label, "column": self.column, "year": self.year, "method": self.method,
            "rates": {rate: {g: r.to_dict() for g, r in groups.items()} for rate, groups in self.results.items()},
            "categories": [{"value": c.value, "published": list(c.published) if c.published else None,
                            "national_rate": c.national_rate, "n": c.n,
                            **({"reason": c.reason} if c.reason else {})} for c in self.categories],
        }


@functools.lru_cache(maxsize=256)  # public data only: safe to share between sessions
def national_category_rates(breakdown: str, year: str | None = None,
                            directory: str | None = None) -> pd.DataFrame:
    """England's published counts per category of a breakdown: label, finished, caseness denominator and
    each rate's count (NaN where suppressed)."""
    spec = BREAKDOWNS[breakdown]
    year = year or latest_year(directory)
    frame = load_measures(directory)
    rows = frame[(frame["year"] == year) & (frame["org_type"] == ENGLAND) & (frame["breakdown"] == spec.breakdown)]
    wide = rows.pivot_table(index="label", columns="measure", values="count", aggfunc="first")
    out = pd.DataFrame(index=wide.index)
    out["finished"] = wide.get("finished_course_treatment")
    out["caseness_denominator"] = wide.get("finished_course_treatment") - wide.get("not_at_caseness")
    for key, measure in PUBLISHED_MEASURES.items():
        out[key] = wide.get(measure)
    return out


def _match_value(value: str, spec: BreakdownSpec, published: list[str]) -> tuple[tuple[str, ...] | None, str | None]:
    if spec.ages:
        return _match_age(value, published)
    norm = _norm(value)
    exact = [p for p in published if _norm(p) == norm]
    if exact:
        return (exact[0],), None
    target = spec.table.get(norm)
    if target is None:
        return None, f"{value!r} has no matching published {spec.breakdown.lower()} category"
    if target not in published:
        return None, f"{value!r} maps to {target!r}, which NHS England did not publish this year"
    return (target,), None


def _poisson_ratio_ci(observed: int, expected: float, coverage: float = 0.95) -> tuple[float, float]:
    """Exact Poisson CI for O/E (Ulm 1990): chi-square quantiles of 2O and 2(O+1), halved, over E."""
    tail = (1 - coverage) / 2
    lower = stats.chi2.ppf(tail, 2 * observed) / 2 if observed > 0 else 0.0
    upper = stats.chi2.ppf(1 - tail, 2 * (observed + 1)) / 2
    return float(lower / expected), float(upper / expected)


def expected_rates(episodes: pd.DataFrame, flags: pd.DataFrame, breakdown: str, year: str | None = None,
                   directory: str | None = None) -> CaseMix:
    """Case-mix expected recovery and reliable improvement per group, by one published breakdown.

    ``flags`` are :func:`analysis.outcomes.participant_outcomes` of ``episodes`` (same index). Each
    participant in a rate's denominator (finishers at caseness for recovery, all finishers for
    reliable improvement) whose value maps to a published category gets England's rate for that
    category (pooled counts where a value maps to several bands); participants whose value matches
    nothing, or whose category's rate is suppressed, are counted as unmatched and left out of both
    O and E, and the result says how many.
    """
    if breakdown not in BREAKDOWNS:
        raise LookupError(f"Unknown breakdown {breakdown!r}; choose from {', '.join(BREAKDOWNS)}.")
    spec = BREAKDOWNS[breakdown]
    year = year or latest_year(directory)
    column = available_breakdowns(episodes.columns).get(breakdown)
    if column is None:
        raise LookupError(f"The data have no {' or '.join(spec.columns)} column for the {spec.breakdown.lower()} "
                          "breakdown.")
    national = national_category_rates(breakdown, year, directory)
    published = [p for p in national.index.tolist() if p]
    records = national.to_dict("index")  # label -> published counts (plain dicts: fast to pool)
    group_of = flags["group"].to_numpy()
    finished = flags["finished"].to_numpy(dtype=bool)
    values = episodes.loc[flags.index, column]
    codes, uniques = pd.factorize(values.astype("string"), sort=True)  # one pass; -1 = blank
    categories: list[CategoryMatch] = []
    rate_of: dict[str, dict[str, float | None]] = {}
    for position, value in enumerate(uniques.tolist()):
        labels, reason = _match_value(value, spec, published)
        rates: dict[str, float | None] = {}
        if labels is not None:
            parts = [records[label] for label in labels]

            def pooled(column: str, parts=parts) -> float | None:
                """The published counts of the matched categories added up; None if any is suppressed."""
                values = [part[column] for part in parts]
                return None if any(pd.isna(v) for v in values) else float(sum(values))

            for key in EXPECTED_RATES:
                denom = pooled("caseness_denominator" if key in CASENESS_RATES else "finished")
                count = pooled(key)
                rates[key] = count / denom if count is not None and denom else None
            if all(r is None for r in rates.values()):
                reason = f"England's rates for {', '.join(labels)} are suppressed or not published in {year}"
        rate_of[value] = rates
        in_value = codes == position
        n = {g: int((in_value & (group_of == g) & finished).sum()) for g in GROUPS}
        categories.append(CategoryMatch(value, labels, rates, n, reason))
    blank = codes < 0
    if blank.any():
        n = {g: int((blank & (group_of == g) & finished).sum()) for g in GROUPS}
        categories.append(CategoryMatch("(blank)", None, {}, n, f"no {column} recorded"))
    results: dict[str, dict[str, ExpectedRate]] = {}
    for key in EXPECTED_RATES:
        denominator_column = "at_caseness" if key in CASENESS_RATES else "finished"
        outcome_column = {"recovery": "recovered", "reliable_improvement": "reliable_improvement"}[key]
        by_code = np.array([np.nan if rate_of[v].get(key) is None else rate_of[v][key] for v in uniques.tolist()]
                           + [np.nan], dtype=float)  # last entry: blank (code -1)
        individual = by_code[codes]
        in_denominator = flags[denominator_column].to_numpy(dtype=bool)
        outcome = flags[outcome_column].to_numpy(dtype=bool)
        results[key] = {}
        for g in GROUPS:
            mine = in_denominator & (group_of == g)
            matched = mine & np.isfinite(individual)
            n = int(matched.sum())
            unmatched = int(mine.sum()) - n
            observed = int((matched & outcome).sum())
            if n == 0:
                results[key][g] = ExpectedRate(g, key, 0, 0, None, None, None, None, None, unmatched,
                                               reason=f"No {GROUP_LABELS[g].lower()} participant in the "
                                                      f"{RATE_LABELS[key].lower()} denominator has a matched "
                                                      f"{spec.breakdown.lower()}.")
                continue
            expected = float(individual[matched].sum())
            ratio = observed / expected if expected > 0 else None
            ci = _poisson_ratio_ci(observed, expected) if expected > 0 else None
            reason = (f"{unmatched} participant(s) left out: their {column} matched no published category."
                      if unmatched else None)
            results[key][g] = ExpectedRate(g, key, n, observed, expected, observed / n, expected / n, ratio, ci,
                                           unmatched, reason)
    return CaseMix(breakdown, column, year, categories, results)


def all_expected_rates(episodes: pd.DataFrame, flags: pd.DataFrame, year: str | None = None,
                       directory: str | None = None) -> dict[str, CaseMix]:
    """:func:`expected_rates` for every breakdown whose column the data have."""
    return {key: expected_rates(episodes, flags, key, year, directory) for key in available_breakdowns(episodes.columns)}


# --- Structured Physical Activity (PROMs by therapy type) -----------------------------------------------------


@functools.lru_cache(maxsize=256)  # public data only: safe to share between sessions
def structured_physical_activity(directory: str | None = None, therapy: str = SPA_THERAPY) -> pd.DataFrame:
    """England's published figures for one therapy type per year (all diagnoses).

    Columns: year, finishers (finished a course including this therapy), courses (courses of
    this therapy type counted in the outcomes), recovery / reliable_improvement / reliable_recovery /
    reliable_deterioration counts and rates (as proportions), phq9_start, phq9_end, gad7_start,
    gad7_end, small (courses below :data:`SMALL_NUMBERS`).
    """
    frame = load_therapy_types(directory)
    rows = frame[(frame["therapy_type"] == therapy) & (frame["diagnosis"] == "Total")]
    out = []
    names = {"ther_recovery": "recovery", "ther_improvement": "reliable_improvement",
             "ther_rel_recovery": "reliable_recovery", "ther_deterioration": "reliable_deterioration"}

    def value(g: pd.DataFrame, measure: str, statistic: str, time: str = "") -> float | None:
        hit = g[(g["measure"] == measure) & (g["statistic"] == statistic) & (g["time"] == time)]
        return None if hit.empty or pd.isna(hit["value"].iloc[0]) else float(hit["value"].iloc[0])

    for year, g in rows.groupby("year", sort=True):
        record: dict[str, Any] = {"year": year, "finishers": value(g, "total_finishing_course_treatment", "count"),
                                  "courses": value(g, "courses_of_therapy", "count")}
        for measure, key in names.items():
            record[f"{key}_count"] = value(g, measure, "count")
            pct = value(g, measure, "percentage")
            record[key] = None if pct is None else pct / 100
        for measure, key in (("phq", "phq9"), ("gad", "gad7"), ("wsas", "wsas")):
            record[f"{key}_start"] = value(g, measure, "mean", "start")
            record[f"{key}_end"] = value(g, measure, "mean", "end")
        record["small"] = record["courses"] is None or record["courses"] < SMALL_NUMBERS
        out.append(record)
    return pd.DataFrame(out)


SPA_CAVEAT: Final = (f"Small numbers and a different population: NHS England counts a course as "
                     f"\"{SPA_THERAPY}\" when that was the therapy recorded for it — a low-intensity intervention in "
                     "its own right, recorded for few courses nationally — whereas the pilot added physical activity "
                     "to talking therapy. Treat these as context, not as a comparison group.")


# --- one block for the CLI and exports ---------------------------------------------------------------------


def pilot_rates(flags: pd.DataFrame) -> dict[str, dict[str, dict[str, Any]]]:
    """The pilot's four rates per group as {rate: {group: {count, denominator, rate}}} (project definitions)."""
    from analysis.outcomes import rate_counts

    out: dict[str, dict[str, dict[str, Any]]] = {}
    for key in PUBLISHED_MEASURES:
        counts = rate_counts(flags, key)
        out[key] = {g: {"count": c, "denominator": d, "rate": (c / d if d else None)} for g, (c, d) in counts.items()}
    return out


def benchmark_block(flags: pd.DataFrame | None = None, episodes: pd.DataFrame | None = None,
                    org: Organisation | str | None = None, year: str | None = None,
                    directory: str | None = None) -> dict[str, Any]:
    """The CLI's ``benchmark`` block: the organisation's and England's published rates, and (with the
    pilot's data) each group's funnel position and the case-mix expected rates with O/E."""
    year = year or latest_year(directory)
    organisation = org if isinstance(org, Organisation) else find_organisation(org, year, directory)
    england = benchmark(ENGLAND_ORG, year, directory)
    block: dict[str, Any] = {
        "year": year,
        "england": england.to_dict(),
        "organisation": benchmark(organisation, year, directory).to_dict(),
        "attribution": ATTRIBUTION,
        "note": ROUNDING_NOTE,
    }
    if flags is not None and episodes is not None:
        pilot = pilot_rates(flags)
        target = england.rates["recovery"].rate
        positions = {}
        for g in GROUPS:
            entry = pilot["recovery"][g]
            positions[g] = (funnel_position(entry["rate"], entry["denominator"], target)
                            if entry["rate"] is not None and target is not None else None)
        block["pilot"] = {"rates": pilot, "funnel_position": positions}
        block["expected"] = {key: mix.to_dict() for key, mix in all_expected_rates(episodes, flags, year,
                                                                                     directory).items()}
    return block


def make_benchmark_safe(block: dict[str, Any]) -> dict[str, Any]:
    """The ``benchmark`` block with presentation-safe disclosure control on the PILOT's figures
    (:mod:`analysis.disclosure` rules: counts below 5 null, others rounded to 5; a rate, funnel
    position or observed ÷ expected null when its count or denominator is below 5). NHS England's
    published figures are already disclosure-controlled and pass through unchanged."""
    import copy

    from analysis.disclosure import count_shown, safe_count, safe_rate

    out = copy.deepcopy(block)
    pilot = out.get("pilot")
    if pilot:
        for rate, groups in pilot["rates"].items():
            for g, entry in groups.items():
                count, denominator = entry["count"], entry["denominator"]
                entry["rate"] = safe_rate(count, denominator, entry["rate"])
                entry["count"], entry["denominator"] = safe_count(count), safe_count(denominator)
                if rate == "recovery" and entry["rate"] is None:
                    pilot["funnel_position"][g] = None
    for mix in (out.get("expected") or {}).values():
        for groups in mix["rates"].values():
            for entry in groups.values():
                hidden = safe_rate(entry["observed"], entry["n"], entry["observed_rate"]) is None
                if hidden and entry["expected"] is not None:
                    entry.update({"observed_rate": None, "expected_rate": None, "expected": None,
                                  "observed_over_expected": {"estimate": None, "ci95": None},
                                  "reason": "hidden (small numbers): presentation-safe mode"})
                if entry["unmatched"]:  # the reason states the exact count: restate it as safe mode shows counts
                    entry["reason"] = re.sub(r"^\d+", lambda m: count_shown(int(m.group()), True), entry["reason"])
                entry["observed"], entry["n"] = safe_count(entry["observed"]), safe_count(entry["n"])
                entry["unmatched"] = safe_count(entry["unmatched"]) if entry["unmatched"] else 0
        for category in mix["categories"]:
            category["n"] = {g: safe_count(v) for g, v in category["n"].items()}
    return out


def _register_disclosure_rule() -> None:
    """The ``benchmark`` block declares its own presentation-safe rule (:func:`make_benchmark_safe`)."""
    from analysis.disclosure import register_safe_block

    register_safe_block("benchmark", lambda block, summary: make_benchmark_safe(block))


_register_disclosure_rule()


def benchmark_text(block: dict[str, Any]) -> str:
    """The ``benchmark`` block as readable text (the CLI's ``--format text``)."""
    lines = [f"National figures, {block['year']} (NHS England)"]
    for which in ("england", "organisation"):
        entry = block[which]
        org = entry["organisation"]
        name = "England" if org["type"] == "England" else f"{org['name']} ({org['type']}, {org['code']})"
        if which == "organisation" and org["type"] == "England":
            continue
        lines.append(f"{name}: finished a course of treatment {_fmt_count(entry['finished'])}"
                     + (" (counts rounded to 5)" if entry["counts_rounded_to_5"] else ""))
        for key, rate in entry["rates"].items():
            shown = "not available" if rate["rate"] is None else f"{rate['rate'] * 100:.1f}%"
            lines.append(f"  {RATE_LABELS[key]}: {shown} ({_fmt_count(rate['count'])} of "
                         f"{_fmt_count(rate['denominator'])})" + (f" — {rate['reason']}" if rate.get("reason") else ""))
    pilot = block.get("pilot")
    if pilot:
        lines.append("The pilot on England's recovery funnel: " + "; ".join(
            f"{GROUP_LABELS[g]} {pos or 'not placed (hidden or not available)'}"
            for g, pos in pilot["funnel_position"].items()))
    for mix in (block.get("expected") or {}).values():
        lines.append(f"Expected rates by {mix['breakdown'].lower()} ({mix['column']}), England {mix['year']}:")
        for rate, groups in mix["rates"].items():
            for g, r in groups.items():
                oe = r["observed_over_expected"]
                if r["expected"] is None:
                    lines.append(f"  {RATE_LABELS[rate]}, {GROUP_LABELS[g]}: not available — {r.get('reason')}")
                    continue
                n = "fewer than 5" if r["n"] is None else r["n"]
                ci = oe["ci95"]
                lines.append(f"  {RATE_LABELS[rate]}, {GROUP_LABELS[g]}: observed {r['observed_rate'] * 100:.0f}% "
                             f"vs expected {r['expected_rate'] * 100:.1f}% (n = {n}); O/E "
                             f"{oe['estimate']:.2f} (95% CI {ci[0]:.2f} to {ci[1]:.2f})"
                             + (f"; {r['unmatched']} unmatched" if r["unmatched"] else
                                "; fewer than 5 unmatched" if r["unmatched"] is None else ""))
        unmatched = [c for c in mix["categories"] if c["published"] is None]
        if unmatched:
            lines.append("  Unmatched values: " + "; ".join(f"{c['value']} ({c.get('reason')})" for c in unmatched))
    lines.append(block["note"])
    lines.append(block["attribution"])
    return "\n".join(lines)


def _fmt_count(value: int | None) -> str:
    return "not published" if value is None else f"{value:,}"
