"""Participant-level views of symptom change: session trajectories, first→last movement
and the Jacobson–Truax classification of each participant's scores.

Pure functions on the typed frames that :mod:`analysis.io` and :mod:`analysis.compare`
produce. The figure builders in :mod:`analysis.figures.outcomes` draw these tables and
the pages lay them out; nothing here imports streamlit.

Methods
-------
* Mean score per session with a t-based 95% CI (mean ± t₀.₉₇₅,ₙ₋₁ · SD/√n), as for the
  first/last means in :func:`analysis.compare.describe_group`.
* Reliable change and caseness as defined in ``shared/design/outcomes-and-statistics.md``
  and drawn after Jacobson & Truax (1991): a fall of at least the measure's reliable change
  index (RC) is reliable improvement, a rise of at least RC reliable deterioration; a score
  at or above the cut-off is "at caseness".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

import numpy as np
import pandas as pd
from scipy import stats

from analysis.schema import ADSMS, GROUPS, Measure

TRAJECTORY_COLUMNS: Final = ("participant_id", "group", "session", "score")
SUMMARY_COLUMNS: Final = ("group", "session", "n", "mean", "sd", "ci_low", "ci_high")
CASENESS_STATES: Final = ("At caseness", "Below cut-off")
JT_COLUMNS: Final = ("group", "n", "reliably_improved", "no_reliable_change", "reliably_deteriorated",
                     "cases_at_first", "below_cutoff_at_last_of_cases")
DIRECTION_COLUMNS: Final = ("group", "n", "fell", "unchanged", "rose")
POOLED_CATEGORY: Final = "Smaller categories (pooled, hidden)"


def session_column(measure: str) -> str:
    """The session-level column holding a measure's score (``adsm`` for every ADSM)."""
    return "adsm" if measure in ADSMS else measure


def session_scores(sessions: pd.DataFrame | None, measure: str,
                   participant_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per participant and session with a score on ``measure``.

    Parameters
    ----------
    sessions: the typed session-level frame (``Dataset.sessions``), or None for episode-level data.
    measure: ``phq9``, ``gad7``, ``wsas`` or an ADSM code; an ADSM's rows are those whose
        ``adsm_measure`` is that code.
    participant_ids: keep only these participants (the filtered finishers); None keeps everyone.

    Returns
    -------
    Columns ``participant_id, group, session, score``. ``session`` is ``session_number`` when the
    data have it, else the participant's session order by ``session_date`` (1, 2, ...). Empty
    (with those columns) when there are no session data or no scores for the measure.
    """
    empty = pd.DataFrame({c: pd.Series(dtype="float64" if c in ("session", "score") else "object")
                          for c in TRAJECTORY_COLUMNS})
    column = session_column(measure)
    if sessions is None or column not in sessions.columns or len(sessions) == 0:
        return empty
    keep = sessions[column].notna().to_numpy(dtype=bool)
    if measure in ADSMS:
        if "adsm_measure" not in sessions.columns:
            return empty
        keep = keep & (sessions["adsm_measure"] == measure).fillna(False).to_numpy(dtype=bool)
    if participant_ids is not None:
        ids = {str(i) for i in participant_ids}
        keep = keep & sessions["participant_id"].astype(str).isin(ids).to_numpy(dtype=bool)
    frame = sessions.loc[keep]
    if len(frame) == 0:
        return empty
    if "session_number" in frame.columns and frame["session_number"].notna().all():
        session = frame["session_number"].to_numpy(dtype="float64")
    else:
        order = frame.assign(_date=pd.to_datetime(frame["session_date"], errors="coerce"))
        session = (order.groupby("participant_id", sort=False)["_date"]
                   .rank(method="first").to_numpy(dtype="float64"))
    out = pd.DataFrame({"participant_id": frame["participant_id"].astype(str).to_numpy(),
                        "group": frame["group"].astype(str).to_numpy(), "session": session,
                        "score": frame[column].to_numpy(dtype="float64")})
    return out.sort_values(["group", "participant_id", "session"], kind="stable").reset_index(drop=True)


def _t_interval(mean: float, sd: float, n: int) -> tuple[float, float] | tuple[None, None]:
    if n < 2 or not math.isfinite(sd):
        return None, None
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


def trajectory_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean score per group and session with its t-based 95% CI.

    Parameters
    ----------
    scores: the output of :func:`session_scores`.

    Returns
    -------
    Columns ``group, session, n, mean, sd, ci_low, ci_high`` ordered by group (physical
    activity first) then session. SD and CI are missing where n < 2.

    Note: later sessions hold only the participants who stayed that long, so a falling mean
    can partly reflect who remained (survivorship), not only change within people.
    """
    rows = []
    for group in GROUPS:
        sub = scores[scores["group"] == group]
        for session, values in sub.groupby("session", sort=True)["score"]:
            v = values.to_numpy(dtype="float64")
            n = len(v)
            mean = float(v.mean())
            sd = float(v.std(ddof=1)) if n >= 2 else None
            lo, hi = _t_interval(mean, sd, n) if sd is not None else (None, None)
            rows.append({"group": group, "session": float(session), "n": n, "mean": mean, "sd": sd,
                         "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def direction_counts(scores: pd.DataFrame) -> pd.DataFrame:
    """How many participants' scores fell, stayed the same or rose from first to last, per group.

    ``scores`` has ``group`` and ``change`` (last − first), e.g. ``MeasureComparison.scores``.
    Returns columns ``group, n, fell, unchanged, rose`` (one row per group, PA first).
    """
    rows = []
    for group in GROUPS:
        change = scores.loc[scores["group"] == group, "change"].to_numpy(dtype="float64")
        rows.append({"group": group, "n": len(change), "fell": int((change < 0).sum()),
                     "unchanged": int((change == 0).sum()), "rose": int((change > 0).sum())})
    return pd.DataFrame(rows, columns=list(DIRECTION_COLUMNS))


def jacobson_truax_counts(scores: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """Per group, participants in each Jacobson–Truax region for one measure.

    ``scores`` has ``group, first, last, change`` (finishers with both scores). Reliably
    improved = change ≤ −RC, reliably deteriorated = change ≥ RC, otherwise no reliable
    change; ``cases_at_first`` = first ≥ cut-off and ``below_cutoff_at_last_of_cases`` = of
    those, last < cut-off. This is the single-measure picture the scatter draws; the
    dashboard's rates combine PHQ-9 with the anxiety measure (see :mod:`analysis.outcomes`).
    """
    if measure.caseness is None or measure.reliable_change is None:
        raise ValueError(f"{measure.label} has no caseness cut-off or reliable change index.")
    rc, cut = float(measure.reliable_change), float(measure.caseness)
    rows = []
    for group in GROUPS:
        sub = scores[scores["group"] == group]
        change = np.round(sub["change"].to_numpy(dtype="float64"), 9)
        first = sub["first"].to_numpy(dtype="float64")
        last = sub["last"].to_numpy(dtype="float64")
        improved = change <= -rc
        deteriorated = change >= rc
        cases = first >= cut
        rows.append({"group": group, "n": len(sub), "reliably_improved": int(improved.sum()),
                     "no_reliable_change": int((~improved & ~deteriorated).sum()),
                     "reliably_deteriorated": int(deteriorated.sum()), "cases_at_first": int(cases.sum()),
                     "below_cutoff_at_last_of_cases": int((cases & (last < cut)).sum())})
    return pd.DataFrame(rows, columns=list(JT_COLUMNS))


def caseness_transitions(scores: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """The 2×2 table of caseness at the first and the last score, per group.

    Returns columns ``group, first, At caseness, Below cut-off`` — for each group one row per
    state at the first score, counting participants by their state at the last score. This
    is the aggregate stand-in for the first-vs-last scatter in presentation-safe mode.
    """
    if measure.caseness is None:
        raise ValueError(f"{measure.label} has no caseness cut-off.")
    cut = float(measure.caseness)
    rows = []
    for group in GROUPS:
        sub = scores[scores["group"] == group]
        first_case = sub["first"].to_numpy(dtype="float64") >= cut
        last_case = sub["last"].to_numpy(dtype="float64") >= cut
        for state, at_first in zip(CASENESS_STATES, (first_case, ~first_case), strict=True):
            rows.append({"group": group, "first": state,
                         CASENESS_STATES[0]: int((at_first & last_case).sum()),
                         CASENESS_STATES[1]: int((at_first & ~last_case).sum())})
    return pd.DataFrame(rows, columns=["group", "first", *CASENESS_STATES])


def pool_small_categories(counts: pd.DataFrame, threshold: int = 5) -> pd.DataFrame:
    """Outcome-category counts with small cells pooled, for presentation-safe stacked bars.

    ``counts`` is :func:`analysis.outcomes.outcome_category_counts` output (``group, category,
    count, denominator, share``). Within each group, categories with 1 to ``threshold − 1``
    people are pooled into :data:`POOLED_CATEGORY`; if the pool itself then holds fewer than
    ``threshold`` people, the smallest remaining category is added to it (complementary
    suppression, so the pooled share cannot be read off as one small cell). Empty categories
    stay (a zero share reveals nothing about a person). A group whose denominator is below
    ``threshold`` keeps no rows. Adds a boolean ``pooled`` column; shares stay computed from
    exact counts.
    """
    out = []
    for group, sub in counts.groupby("group", sort=False):
        sub = sub.copy()
        denominator = int(sub["denominator"].iloc[0]) if len(sub) else 0
        if denominator < threshold:
            continue
        small = (sub["count"] > 0) & (sub["count"] < threshold)
        pool_total = int(sub.loc[small, "count"].sum())
        if small.any() and pool_total < threshold:
            rest = sub[~small & (sub["count"] > 0)]
            if len(rest):
                small |= sub.index == rest["count"].idxmin()
        kept = sub[~small].assign(pooled=False)
        if small.any():
            pooled_count = int(sub.loc[small, "count"].sum())
            kept = pd.concat([kept, pd.DataFrame([{
                "group": group, "category": POOLED_CATEGORY, "count": pooled_count, "denominator": denominator,
                "share": pooled_count / denominator, "pooled": True}])], ignore_index=True)
        out.append(kept)
    if not out:
        return counts.iloc[0:0].assign(pooled=pd.Series(dtype=bool))
    return pd.concat(out, ignore_index=True)


__all__ = [
    "POOLED_CATEGORY", "caseness_transitions", "direction_counts", "jacobson_truax_counts",
    "pool_small_categories", "session_column", "session_scores", "trajectory_summary",
]
