"""Per-participant NHS Talking Therapies outcome flags and the four outcome rates.

Every rule here is the one in ``shared/design/outcomes-and-statistics.md``
("Population and outcome flags"), with thresholds read from :mod:`analysis.schema`.

Example
-------
>>> import pandas as pd
>>> episodes = pd.DataFrame({
...     "participant_id": ["a", "b"], "group": ["physical_activity", "control"],
...     "phq9_first": [15.0, 12.0], "phq9_last": [6.0, 11.0],
...     "gad7_first": [12.0, 9.0], "gad7_last": [5.0, 9.0]})
>>> flags = participant_outcomes(episodes)
>>> flags["recovered"].tolist(), flags["reliable_improvement"].tolist()
([True, False], [True, False])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.results import Rate
from analysis.schema import (
    ADSMS,
    FINISHED_MIN_SESSIONS,
    GAD7,
    GROUP_PA,
    GROUPS,
    PAIRED_COMPLETENESS_STANDARD,
    PHQ9,
    SCORE_DECIMALS,
)


@dataclass(frozen=True)
class RateDefinition:
    key: str
    label: str
    numerator: str
    denominator: str
    denominator_column: str  # flag column selecting the denominator
    numerator_column: str
    higher_is_better: bool


RATE_DEFINITIONS: Final = {
    "recovery": RateDefinition("recovery", "Recovery", "recovered", "finishers at caseness",
                               "at_caseness", "recovered", True),
    "reliable_recovery": RateDefinition("reliable_recovery", "Reliable recovery", "reliably recovered",
                                        "finishers at caseness", "at_caseness", "reliable_recovery", True),
    "reliable_improvement": RateDefinition("reliable_improvement", "Reliable improvement",
                                           "reliably improved", "all finishers", "finished",
                                           "reliable_improvement", True),
    "reliable_deterioration": RateDefinition("reliable_deterioration", "Reliable deterioration",
                                             "reliably deteriorated", "all finishers", "finished",
                                             "reliable_deterioration", False),
}

# Mutually exclusive outcome categories for stacked bars (all finishers), in display order.
OUTCOME_CATEGORIES: Final = (
    "Reliable recovery",
    "Recovered, not reliably improved",
    "Reliable improvement, not recovered",
    "No reliable change",
    "Reliable deterioration",
    "Not paired (no end scores)",
)

# Outcome categories (design doc, "Outcome categories"): every finisher is in exactly one, the first
# that applies in this order. A reliably deteriorated finisher is never shown as recovered or improved,
# even when the recovery flag (which the recovery rate counts) is set.
#   1. not paired                        -> Not paired (no end scores)
#   2. reliably deteriorated             -> Reliable deterioration
#   3. reliably recovered                -> Reliable recovery
#   4. recovered                         -> Recovered, not reliably improved
#   5. reliably improved                 -> Reliable improvement, not recovered
#   6. otherwise                         -> No reliable change
CATEGORY_PRECEDENCE: Final = (
    ("not_paired", "Not paired (no end scores)"),
    ("reliable_deterioration", "Reliable deterioration"),
    ("reliable_recovery", "Reliable recovery"),
    ("recovered", "Recovered, not reliably improved"),
    ("reliable_improvement", "Reliable improvement, not recovered"),
    ("finished", "No reliable change"),
)

# Session-level files (one row per participant per session) become one episode per participant
# (design doc, "Input"; analysis.io does it, vectorised, tested equal to this rule on random files):
#   first  = the score at the earliest session that has one (per measure);
#   last   = the score at the latest session that has one, if that is a later session than the first
#            (else blank: one score is not a change);
#   treatment_sessions = the participant's number of session rows.
SESSION_REDUCTION_RULE: Final = (
    "Per measure, first = the score at the earliest session that has one; last = the score at the latest "
    "session that has one, if that is a later session than the first (else blank); treatment sessions = "
    "the participant's number of session rows.")


def outcome_category_codes(finished: np.ndarray, paired: np.ndarray, deteriorated: np.ndarray,
                           reliable_recovery: np.ndarray, recovered: np.ndarray,
                           improved: np.ndarray) -> np.ndarray:
    """Per row, the index into :data:`OUTCOME_CATEGORIES` by :data:`CATEGORY_PRECEDENCE` (-1: not a finisher).

    The first rule that applies wins (``np.select`` takes the first true condition).
    """
    flags = {"not_paired": ~paired, "reliable_deterioration": deteriorated, "reliable_recovery": reliable_recovery,
             "recovered": recovered, "reliable_improvement": improved, "finished": finished}
    conditions = [finished & flags[flag] for flag, _ in CATEGORY_PRECEDENCE]
    choices = [OUTCOME_CATEGORIES.index(label) for _, label in CATEGORY_PRECEDENCE]
    return np.select(conditions, choices, default=-1).astype(np.int32)

PHQ9_SEVERITY_BANDS: Final = (
    (0, 4, "Minimal (0–4)"),
    (5, 9, "Mild (5–9)"),
    (10, 14, "Moderate (10–14)"),
    (15, 19, "Moderately severe (15–19)"),
    (20, 27, "Severe (20–27)"),
)


def _rounded(values: pd.Series) -> np.ndarray:
    return np.round(values.to_numpy(dtype="float64", na_value=np.nan), SCORE_DECIMALS)


# pandas' default text dtype (``str``): Arrow-backed, NaN for missing.
_STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)
_SEVERITY_LABELS: Final = tuple(label for _, _, label in PHQ9_SEVERITY_BANDS)


def _labelled(codes: np.ndarray, labels: tuple[str, ...] | list[str],
              dtype: pd.StringDtype = _STR_DTYPE) -> pd.api.extensions.ExtensionArray:
    """Text array ``labels[code]`` (code -1: missing), built in Arrow without a Python object per row.

    Speed only: the same values and dtype as building the column from an object array of
    the labels (which costs seconds for a million rows).
    """
    indices = pa.array(np.asarray(codes, dtype=np.int32), mask=np.asarray(codes) < 0, type=pa.int32())
    text = pa.DictionaryArray.from_arrays(indices, pa.array(list(labels), type=pa.large_string()))
    return pd.arrays.ArrowStringArray(pa.chunked_array([text.cast(pa.large_string())]), dtype=dtype)


def _text_values(series: pd.Series) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """A column's values to put in a new frame: zero-copy for pandas' ``str`` dtype, else a NumPy array."""
    return series.array if series.dtype == _STR_DTYPE else series.to_numpy()


def _severity_codes(phq9_first: pd.Series) -> np.ndarray:
    """Index into :data:`PHQ9_SEVERITY_BANDS` per value (-1 outside every band or missing).

    Bands are right-closed intervals (lo − 0.5, hi + 0.5], as ``pd.cut`` with those bins.
    """
    bins = np.array([-0.5] + [hi + 0.5 for _, hi, _ in PHQ9_SEVERITY_BANDS])
    values = pd.Series(phq9_first).astype("float64").to_numpy()
    codes = np.searchsorted(bins, values, side="left") - 1
    codes[np.isnan(values) | (codes < 0) | (codes >= len(_SEVERITY_LABELS))] = -1
    return codes


def _category_positions(column: pd.Series, categories: list[str]) -> np.ndarray:
    """Per row, the position of its value in ``categories`` (-1: missing or not listed), exact match.

    One pass over the column (the distinct values are looked up once), instead of one comparison
    of the whole column per category.
    """
    values, distinct = pd.factorize(column, use_na_sentinel=True)
    lookup = np.array([categories.index(v) if v in categories else -1 for v in distinct] + [-1], dtype=np.int64)
    return lookup[values]  # values == -1 (missing) picks the trailing -1


def finished_mask(episodes: pd.DataFrame) -> np.ndarray:
    """Per row, finished a course of treatment: ``treatment_sessions`` ≥ 2 (everyone when the column is absent)."""
    if "treatment_sessions" not in episodes.columns:
        return np.ones(len(episodes), dtype=bool)
    return episodes["treatment_sessions"].to_numpy(dtype="float64", na_value=np.nan) >= FINISHED_MIN_SESSIONS


@dataclass(frozen=True)
class MeasureRows:
    """Row facts the outcome rules and every measure of one data set share, worked out once.

    ``finished`` per row (:func:`finished_mask`); ``group`` the position of the row's group in
    :data:`GROUPS` (-1: none); ``adsm`` the position of its ``adsm_measure`` in ``schema.ADSMS``
    (-1: none, or no such column). One pass over each text column.
    """

    finished: np.ndarray
    group: np.ndarray
    adsm: np.ndarray

    @property
    def is_pa(self) -> np.ndarray:
        return self.group == GROUPS.index(GROUP_PA)

    @classmethod
    def of(cls, episodes: pd.DataFrame) -> MeasureRows:
        adsm = (_category_positions(episodes["adsm_measure"], list(ADSMS)) if "adsm_measure" in episodes.columns
                else np.full(len(episodes), -1, dtype=np.int64))
        return cls(finished=finished_mask(episodes), group=_category_positions(episodes["group"], list(GROUPS)),
                   adsm=adsm)


def participant_outcomes(episodes: pd.DataFrame, rows: MeasureRows | None = None) -> pd.DataFrame:
    """Outcome flags for every participant (one row per input row, same index).

    Parameters
    ----------
    episodes: a validated episode-level frame (scores as floats, NaN when blank).

    Returns
    -------
    DataFrame with ``participant_id``, ``group`` and the columns
    ``finished, anxiety_measure, anxiety_first, anxiety_last, anxiety_cutoff, anxiety_rc,
    phq9_change, anxiety_change, at_caseness, paired, recovered, reliable_improvement,
    reliable_deterioration, reliable_recovery, no_reliable_change, outcome_category,
    phq9_severity``. Non-finishers keep their row with ``finished=False``; every other
    flag is False for them (they are excluded from every rate and the count is reported).

    Rules (design doc, "Population and outcome flags"): finished = treatment_sessions ≥ 2
    (everyone when the column is absent); anxiety measure = the ADSM when ``adsm_measure``
    is given and both ADSM scores are present, otherwise GAD-7; at caseness = PHQ-9 first ≥ 10
    or anxiety first ≥ its cut-off; paired = all four scores present; recovered = paired, at
    caseness, both last scores below cut-off; reliable improvement = paired, a fall ≥ RC on
    either measure and a rise ≥ RC on neither; reliable deterioration the mirror image;
    reliable recovery = recovered and reliably improved.

    ``rows``: the data set's :class:`MeasureRows`, when the caller has them (worked out here when None).
    """
    n = len(episodes)
    index = episodes.index
    rows = MeasureRows.of(episodes) if rows is None else rows
    finished = rows.finished

    phq_first = _rounded(episodes["phq9_first"])
    phq_last = _rounded(episodes["phq9_last"])
    anx_first = _rounded(episodes["gad7_first"])
    anx_last = _rounded(episodes["gad7_last"])
    anx_cut = np.full(n, float(GAD7.caseness))
    anx_rc = np.full(n, float(GAD7.reliable_change))
    anx_measure = np.zeros(n, dtype=np.int32)  # index into anx_labels: GAD-7, then each ADSM
    anx_labels = [GAD7.key, *ADSMS]

    if "adsm_measure" in episodes.columns and "adsm_first" in episodes.columns and "adsm_last" in episodes.columns:
        adsm_first = _rounded(episodes["adsm_first"])
        adsm_last = _rounded(episodes["adsm_last"])
        # the ADSM replaces GAD-7 where it is named and both its scores are present
        use = (rows.adsm >= 0) & ~np.isnan(adsm_first) & ~np.isnan(adsm_last)
        if use.any():
            position = rows.adsm[use]
            anx_first[use] = adsm_first[use]
            anx_last[use] = adsm_last[use]
            anx_cut[use] = np.array([m.caseness for m in ADSMS.values()], dtype=float)[position]
            anx_rc[use] = np.array([m.reliable_change for m in ADSMS.values()], dtype=float)[position]
            anx_measure[use] = position + 1

    phq_cut, phq_rc = float(PHQ9.caseness), float(PHQ9.reliable_change)
    paired = finished & ~np.isnan(phq_first) & ~np.isnan(phq_last) & ~np.isnan(anx_first) & ~np.isnan(anx_last)
    # NaN comparisons are False, so an absent first score never makes a case.
    at_caseness = finished & ((phq_first >= phq_cut) | (anx_first >= anx_cut))
    phq_change = np.round(phq_last - phq_first, SCORE_DECIMALS)
    anx_change = np.round(anx_last - anx_first, SCORE_DECIMALS)
    fell = (phq_change <= -phq_rc) | (anx_change <= -anx_rc)
    rose = (phq_change >= phq_rc) | (anx_change >= anx_rc)
    improved = paired & fell & ~rose
    deteriorated = paired & rose & ~fell
    recovered = paired & at_caseness & (phq_last < phq_cut) & (anx_last < anx_cut)
    reliable_recovery = recovered & improved
    no_change = paired & ~improved & ~deteriorated

    category = outcome_category_codes(finished, paired, deteriorated, reliable_recovery, recovered, improved)

    return pd.DataFrame(
        {
            "participant_id": _text_values(episodes["participant_id"]),
            "group": _text_values(episodes["group"]),
            "finished": finished,
            "anxiety_measure": _labelled(anx_measure, anx_labels),
            "anxiety_first": anx_first,
            "anxiety_last": anx_last,
            "anxiety_cutoff": anx_cut,
            "anxiety_rc": anx_rc,
            "phq9_change": phq_change,
            "anxiety_change": anx_change,
            "at_caseness": at_caseness,
            "paired": paired,
            "recovered": recovered,
            "reliable_improvement": improved,
            "reliable_deterioration": deteriorated,
            "reliable_recovery": reliable_recovery,
            "no_reliable_change": no_change,
            "outcome_category": _labelled(category, OUTCOME_CATEGORIES),
            "phq9_severity": _labelled(_severity_codes(episodes["phq9_first"]), _SEVERITY_LABELS),
        },
        index=index,
        copy=False,  # the columns are new arrays: kept as they are, not copied into one block (speed only)
    )


def wilson_rate(count: int, denominator: int, group: str = "") -> Rate:
    """A proportion with its Wilson score 95% CI (Wilson 1927; Newcombe 1998, method 3).

    >>> r = wilson_rate(12, 19)
    >>> round(r.rate, 3), tuple(round(x, 3) for x in r.ci95)
    (0.632, (0.41, 0.809))
    """
    from statsmodels.stats.proportion import proportion_confint

    if denominator <= 0:
        return Rate(group, int(count), int(denominator), None, None,
                    reason="No one in the denominator, so there is no rate.")
    lo, hi = proportion_confint(count, denominator, alpha=0.05, method="wilson")
    return Rate(group, int(count), int(denominator), count / denominator, (float(lo), float(hi)))


def group_positions(flags: pd.DataFrame) -> np.ndarray:
    """Per row, the position of its group in :data:`GROUPS` (one pass over the column for both groups)."""
    return _category_positions(flags["group"], list(GROUPS))


def rate_counts(flags: pd.DataFrame, rate: str, positions: np.ndarray | None = None) -> dict[str, tuple[int, int]]:
    """(numerator, denominator) per group for one of :data:`RATE_DEFINITIONS`.

    ``positions``: :func:`group_positions` of ``flags``, when the caller counts several rates.
    """
    definition = RATE_DEFINITIONS[rate]
    out: dict[str, tuple[int, int]] = {}
    positions = group_positions(flags) if positions is None else positions
    for position, group in enumerate(GROUPS):
        in_group = positions == position
        denominator = in_group & flags[definition.denominator_column].to_numpy(dtype=bool)
        numerator = denominator & flags[definition.numerator_column].to_numpy(dtype=bool)
        out[group] = (int(numerator.sum()), int(denominator.sum()))
    return out


def finisher_counts(flags: pd.DataFrame, positions: np.ndarray | None = None) -> pd.DataFrame:
    """Participants, finishers and excluded non-finishers per group (``positions``: see :func:`rate_counts`)."""
    positions = group_positions(flags) if positions is None else positions
    finished = flags["finished"].to_numpy(dtype=bool)
    at_caseness = flags["at_caseness"].to_numpy(dtype=bool)
    rows = []
    for position, group in enumerate(GROUPS):
        in_group = positions == position
        total = int(in_group.sum())
        finishers = int((in_group & finished).sum())
        rows.append({"group": group, "participants": total, "finishers": finishers,
                     "not_finished": total - finishers,
                     "at_caseness": int((in_group & at_caseness).sum())})
    return pd.DataFrame(rows).set_index("group")


def paired_completeness(flags: pd.DataFrame, positions: np.ndarray | None = None) -> pd.DataFrame:
    """Share of finishers with paired PHQ-9 and anxiety scores, per group and overall,
    against the 90% standard (NHS Talking Therapies Manual, section 6). ``positions``: see :func:`rate_counts`."""
    positions = group_positions(flags) if positions is None else positions
    finished = flags["finished"].to_numpy(dtype=bool)
    paired_rows = flags["paired"].to_numpy(dtype=bool)
    rows = []
    for label, mask in [*((g, positions == p) for p, g in enumerate(GROUPS)), ("all", np.ones(len(flags), bool))]:
        finishers = mask & finished
        n = int(finishers.sum())
        paired = int((finishers & paired_rows).sum())
        share = paired / n if n else None
        rows.append({"group": label, "finishers": n, "paired": paired, "completeness": share,
                     "meets_standard": (share is not None and share >= PAIRED_COMPLETENESS_STANDARD)})
    return pd.DataFrame(rows).set_index("group")


def outcome_category_counts(flags: pd.DataFrame) -> pd.DataFrame:
    """Finishers per mutually exclusive outcome category and group (counts and shares)."""
    finishers = flags[flags["finished"]]
    rows = []
    for group in GROUPS:
        sub = finishers[finishers["group"] == group]
        total = len(sub)
        counts = sub["outcome_category"].value_counts()
        for category in OUTCOME_CATEGORIES:
            count = int(counts.get(category, 0))
            rows.append({"group": group, "category": category, "count": count, "denominator": total,
                         "share": count / total if total else None})
    return pd.DataFrame(rows)


def with_derived_columns(episodes: pd.DataFrame) -> pd.DataFrame:
    """The episodes plus derived subgroup columns (``baseline_severity``: PHQ-9 band at the
    first score). Returns a new frame; the input's columns are untouched."""
    if "baseline_severity" in episodes.columns:
        return episodes
    return episodes.assign(baseline_severity=_labelled(_severity_codes(episodes["phq9_first"]), _SEVERITY_LABELS))
