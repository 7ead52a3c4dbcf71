"""Presentation-safe disclosure control ("safe mode"), as NHS England's Talking Therapies
dashboards and publications apply it.

The rules
---------
1. A count below 5 (including 0) is suppressed: shown as missing (None / JSON null).
2. Every other count is rounded to the nearest 5: 5→5, 7→5, 8→10, 12→10, 13→15. Exact halves
   (x.5 multiples of 5, e.g. 7.5) are rounded *up* (half away from zero); they cannot occur
   for whole-number counts, whose remainder mod 5 is 0–4 (0–2 round down, 3–4 round up).
3. A percentage (rate), and its confidence interval, is hidden when its numerator or
   denominator is below 5. Shown percentages are computed from the UNROUNDED counts, so they
   need not match the rounded counts: 12 of 19 shows as 63% beside counts of 10 and 20.
4. A figure that compares two groups (difference in rates, odds ratio, relative risk, NNT,
   Fisher's p; Welch, Mann–Whitney, Hedges' g, ANCOVA) is hidden when either group's rate
   (rule 3) or, for continuous measures, either group's n is below 5, because it would let a
   hidden figure be worked back out.
5. Means, SDs and other descriptive figures of a group with n below 5 are hidden.

Rounding counts but not percentages is what NHS England's published Talking Therapies data do
(NHS England, *NHS Talking Therapies for anxiety and depression* monthly and annual reports,
data quality and disclosure control notes); it stops small cells being identified while
keeping the rates accurate. These rules change what is *shown*; the analysis always runs on
the exact data.

Functions: :func:`safe_count`, :func:`safe_rate`, :func:`safe_ci` for single figures,
:func:`make_summary_safe` for the CLI's JSON summary and :func:`safe_table` for page tables
and exports. :data:`SAFE_MODE_NOTE` is the text to show wherever safe mode is on.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any, Final

import pandas as pd

from analysis.schema import GROUPS

__all__ = [
    "COUNT_KEYS",
    "DISCLOSURE_RULES",
    "ROUND_TO",
    "SAFE_MODE_NOTE",
    "SUPPRESS_BELOW",
    "make_summary_safe",
    "safe_ci",
    "safe_count",
    "safe_rate",
    "safe_table",
]

SUPPRESS_BELOW: Final = 5
ROUND_TO: Final = 5

DISCLOSURE_RULES: Final = (
    f"Counts below {SUPPRESS_BELOW} (including 0) are suppressed (null); other counts are rounded to the "
    f"nearest {ROUND_TO} (halves round up). A percentage and its confidence interval are suppressed when "
    f"its numerator or denominator is below {SUPPRESS_BELOW}; shown percentages are computed from the "
    "unrounded counts. Comparisons between the groups (rate difference, odds ratio, relative risk, NNT, "
    f"p values, effect sizes, ANCOVA) are suppressed when either group's percentage is suppressed or "
    f"either group's n is below {SUPPRESS_BELOW}; means and SDs of a group with n below "
    f"{SUPPRESS_BELOW} are suppressed."
)

SAFE_MODE_NOTE: Final = (
    f"Safe mode is on: counts below {SUPPRESS_BELOW} are hidden and other counts are rounded to the "
    f"nearest {ROUND_TO}, as in NHS England's published Talking Therapies data. A percentage is hidden "
    f"when its numerator or denominator is below {SUPPRESS_BELOW}. Percentages are worked out from the "
    "exact counts, so they may not match the rounded counts shown (12 of 19 shows as 63% beside counts "
    "of 10 and 20). Group comparisons, means and SDs resting on fewer than "
    f"{SUPPRESS_BELOW} people are hidden too."
)

# Keys whose whole-number values are treated as counts wherever they appear inside the
# summary's "participants", "rates" and "measures" sections: "count", "denominator", "n", and
# any key starting with "n_" (e.g. "n_paired"). "nnt" is a ratio, not a count.
COUNT_KEYS: Final = frozenset({"count", "denominator", "n"})
_COUNT_PREFIX: Final = "n_"
# Top-level keys of the summary whose whole-number values (at any depth) are all counts.
_COUNT_SECTIONS: Final = frozenset({"participants", "excluded", "not_finished", "finishers"})
# Count blocks inside the summary's ``data`` section (every whole number in them is a count).
_DATA_COUNT_KEYS: Final = frozenset({"participants_total", "not_finished", "at_caseness", "excluded_rows_count"})


# --- single figures ---------------------------------------------------------------------------


def _as_count(n: object, what: str = "count") -> int | None:
    """An int from an int-like value, None for a missing one; ValueError otherwise."""
    if n is None:
        return None
    if isinstance(n, bool):
        raise TypeError(f"A {what} must be a whole number ≥ 0 (got {n!r}).")
    if isinstance(n, Integral):
        value = int(n)
    elif isinstance(n, Real):
        number = float(n)
        if math.isnan(number):
            return None
        if not number.is_integer():
            raise ValueError(f"A {what} must be a whole number ≥ 0 (got {n!r}).")
        value = int(number)
    else:
        raise TypeError(f"A {what} must be a whole number ≥ 0 (got {n!r}).")
    if value < 0:
        raise ValueError(f"A {what} cannot be negative (got {n!r}).")
    return value


def _is_small(n: object) -> bool:
    """True when a count is missing or below the suppression threshold."""
    value = _as_count(n)
    return value is None or value < SUPPRESS_BELOW


def safe_count(n: int | None) -> int | None:
    """A count as safe mode shows it: None below 5, else rounded to the nearest 5.

    Method: NHS England's Talking Therapies disclosure control (suppress counts below 5,
    round the rest to the nearest 5). Halves round up — ``floor(n / 5 + 0.5) × 5`` — which
    never matters for whole numbers. None (and NaN) stay missing; negative or fractional
    counts raise ``ValueError``, non-numbers ``TypeError``.

    Examples
    --------
    >>> [safe_count(n) for n in (0, 1, 4, 5, 7, 8, 12, 13, 19)]
    [None, None, None, 5, 5, 10, 10, 15, 20]
    """
    value = _as_count(n)
    if value is None or value < SUPPRESS_BELOW:
        return None
    return math.floor(value / ROUND_TO + 0.5) * ROUND_TO


def safe_rate(count: int | None, denominator: int | None, rate: float | None) -> float | None:
    """The rate as safe mode shows it: hidden (None) when ``count`` or ``denominator`` is
    below 5 (or missing), else ``rate`` unchanged.

    ``rate`` must be computed from the UNROUNDED count and denominator (the caller's exact
    figure is passed through, never recomputed from rounded counts).

    Examples
    --------
    >>> round(safe_rate(12, 19, 12 / 19), 3)      # shown beside counts of 10 and 20
    0.632
    >>> safe_rate(4, 19, 4 / 19) is None
    True
    """
    if rate is None or _is_small(count) or _is_small(denominator):
        return None
    return rate


def safe_ci(
    count: int | None, denominator: int | None, ci: Sequence[float | None] | None
) -> tuple[float | None, ...] | None:
    """A rate's confidence interval as safe mode shows it: hidden (None) under the same
    rule as :func:`safe_rate`, else the interval as a tuple.

    Examples
    --------
    >>> safe_ci(12, 19, [0.41, 0.81])
    (0.41, 0.81)
    >>> safe_ci(12, 4, [0.41, 0.81]) is None
    True
    """
    if ci is None or _is_small(count) or _is_small(denominator):
        return None
    return tuple(ci)


# --- the JSON summary ---------------------------------------------------------------------------


def _is_count_key(key: object) -> bool:
    return isinstance(key, str) and (key in COUNT_KEYS or key.startswith(_COUNT_PREFIX))


def _is_whole(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _round_counts(value: Any) -> Any:
    """Round every recognised count (by key name) at any depth; everything else unchanged."""
    if isinstance(value, Mapping):
        return {k: (safe_count(v) if _is_count_key(k) and _is_whole(v) else _round_counts(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_round_counts(v) for v in value]
    return value


def _round_all_whole_numbers(value: Any) -> Any:
    """Round every whole number at any depth (for sections made of counts); other numbers
    (e.g. a proportion) and text pass through."""
    if _is_whole(value) or (isinstance(value, float) and value.is_integer()):
        return safe_count(value)
    if isinstance(value, Mapping):
        return {k: _round_all_whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round_all_whole_numbers(v) for v in value]
    return value


def _blank_numbers(value: Any) -> Any:
    """Replace every number at any depth by None; keep text and flags. A list of numbers
    (an interval) becomes a single None."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, Real):
        return None
    if isinstance(value, Mapping):
        return {k: _blank_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if all(v is None or (isinstance(v, Real) and not isinstance(v, bool)) for v in value):
            return None
        return [_blank_numbers(v) for v in value]
    return value


def _safe_rate_block(block: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """One group's {"count", "denominator", "rate", "ci95", ...}; returns (safe block, hidden)."""
    hidden = _is_small(block.get("count")) or _is_small(block.get("denominator"))
    out: dict[str, Any] = {}
    for key, value in block.items():
        if _is_count_key(key) and _is_whole(value):
            out[key] = safe_count(value)
        elif key in ("count", "denominator"):
            out[key] = None if value is None else safe_count(value)
        elif hidden:
            out[key] = _blank_numbers(value)
        else:
            out[key] = _round_counts(value)
    return out, hidden


def _safe_measure_block(block: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """One group's {"n", "mean_first", "sd_first", ...}; returns (safe block, hidden)."""
    hidden = _is_small(block.get("n"))
    out: dict[str, Any] = {}
    for key, value in block.items():
        if key == "n" or (_is_count_key(key) and _is_whole(value)):
            out[key] = safe_count(value)
        elif hidden:
            out[key] = _blank_numbers(value)
        else:
            out[key] = _round_counts(value)
    return out, hidden


def _safe_comparison_entry(entry: Any, group_rule: Any) -> Any:
    """A rates or measures entry: its two group blocks plus between-group figures.

    Every key other than the group blocks is treated as a between-group comparison — the
    documented ones and any added later — because any such figure could reveal a hidden one.
    When either group is hidden (or missing), the comparisons' numbers become None (their
    text, e.g. a method or reason, is kept); otherwise only recognised counts are rounded.
    """
    if not isinstance(entry, Mapping):
        return copy.deepcopy(entry)
    out: dict[str, Any] = {}
    any_hidden = False
    for group in GROUPS:
        block = entry.get(group)
        if isinstance(block, Mapping):
            out[group], hidden = group_rule(block)
            any_hidden = any_hidden or hidden
        else:
            any_hidden = True
            if group in entry:
                out[group] = _blank_numbers(block)
    for key, value in entry.items():
        if key in GROUPS:
            continue
        if _is_count_key(key) and _is_whole(value):
            out[key] = safe_count(value)  # a count is rounded, never blanked as a comparison
        else:
            out[key] = _blank_numbers(value) if any_hidden else _round_counts(value)
    return {key: out[key] for key in entry}  # keep the input's key order


def make_summary_safe(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The CLI's JSON summary with NHS England's disclosure control applied; a new dict.

    Method (see the module docstring for the rules and their source):

    - ``participants`` (and top-level ``excluded``, ``not_finished``, ``finishers`` if
      present): every whole number is a count — suppressed below 5, else rounded to 5.
    - ``rates.<rate>.<group>``: ``count`` and ``denominator`` rounded/suppressed; ``rate`` and
      ``ci95`` become null when the unrounded count or denominator is below 5.
    - ``rates.<rate>``'s other keys (``difference``, ``odds_ratio``, ``fisher_p``, and any
      other such as ``relative_risk`` or ``nnt``) are comparisons: their numbers become null
      when either group's rate is hidden.
    - ``measures.<measure>.<group>``: ``n`` rounded/suppressed; when the unrounded n is below 5
      every other number of that group (means, SDs) becomes null.
    - ``measures.<measure>``'s other keys (``welch``, ``mann_whitney``, ``hedges_g``,
      ``ancova`` and any other) become null-valued when either group's n is below 5.
    - Recognised counts are whole numbers under the keys ``count``, ``denominator``, ``n`` or
      ``n_*`` inside ``participants``, ``rates`` and ``measures``; they are rounded wherever
      they are shown. Nothing else in those sections is rounded.
    - ``data.participants_total``, ``data.not_finished`` and ``data.at_caseness`` are counts too.
    - Any other top-level key passes through unchanged (copied), and
      ``"disclosure_control": {"applied": true, "rules": ...}`` is added.

    Suppressed values are None (JSON null); dict shapes are kept, so ``difference`` stays
    ``{"estimate": null, "ci95": null}``. The input is never modified.

    Examples
    --------
    >>> safe = make_summary_safe({
    ...     "participants": {"physical_activity": 19, "control": 14},
    ...     "rates": {"recovery": {
    ...         "physical_activity": {"count": 12, "denominator": 19, "rate": 0.632, "ci95": [0.41, 0.81]},
    ...         "control": {"count": 4, "denominator": 14, "rate": 0.286, "ci95": [0.12, 0.55]},
    ...         "difference": {"estimate": 0.346, "ci95": [0.0, 0.6]}, "fisher_p": 0.08}}})
    >>> safe["participants"]
    {'physical_activity': 20, 'control': 15}
    >>> safe["rates"]["recovery"]["physical_activity"]
    {'count': 10, 'denominator': 20, 'rate': 0.632, 'ci95': [0.41, 0.81]}
    >>> safe["rates"]["recovery"]["control"]
    {'count': None, 'denominator': 15, 'rate': None, 'ci95': None}
    >>> safe["rates"]["recovery"]["difference"], safe["rates"]["recovery"]["fisher_p"]
    ({'estimate': None, 'ci95': None}, None)
    """
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if key in _COUNT_SECTIONS:
            out[key] = _round_all_whole_numbers(copy.deepcopy(value))
        elif key == "rates" and isinstance(value, Mapping):
            out[key] = {name: _safe_comparison_entry(entry, _safe_rate_block) for name, entry in value.items()}
        elif key == "measures" and isinstance(value, Mapping):
            out[key] = {name: _safe_comparison_entry(entry, _safe_measure_block) for name, entry in value.items()}
        elif key == "data" and isinstance(value, Mapping):
            out[key] = {name: (_round_all_whole_numbers(copy.deepcopy(entry)) if name in _DATA_COUNT_KEYS
                               else copy.deepcopy(entry)) for name, entry in value.items()}
        elif key == "adjusted" and isinstance(value, Mapping):
            from analysis.adjusted import make_adjusted_safe

            out[key] = make_adjusted_safe(value)
        else:
            out[key] = copy.deepcopy(value)
    out["disclosure_control"] = {"applied": True, "rules": DISCLOSURE_RULES}
    return out


# --- tables -----------------------------------------------------------------------------------


def _count_series(df: pd.DataFrame, column: str) -> pd.Series:
    """The column as exact nullable integer counts (validated)."""
    values = [_as_count(v, f"count in column {column!r}") if not pd.isna(v) else None for v in df[column]]
    return pd.Series(values, index=df.index, dtype="Int64")


def safe_table(
    df: pd.DataFrame,
    count_columns: Iterable[str],
    rate_columns: Mapping[str, tuple[str, str]] | None = None,
    statistic_columns: Mapping[str, str | Sequence[str]] | None = None,
) -> pd.DataFrame:
    """A copy of a page table with the safe-mode rules applied; suppressed cells are missing.

    - ``count_columns``: counts, suppressed below 5 and rounded to the nearest 5 (returned
      as nullable ``Int64``).
    - ``rate_columns``: each rate-like column (a rate, a percentage, a CI bound) mapped to its
      ``(numerator column, denominator column)``; the cell is hidden when either unrounded
      count in that row is below 5 or missing. The value itself is kept as computed.
    - ``statistic_columns``: each column resting on group sizes (a mean, an SD, a difference,
      a p value) mapped to the n column(s) it rests on; hidden when any is below 5.

    Hiding decisions use the unrounded counts, so a count column may be both rounded and used
    as a numerator. Columns not named pass through unchanged; the input is not modified.
    Raises ``ValueError`` for a named column that is absent or a count that is negative or
    fractional, ``TypeError`` for a count that is not a number.

    Examples
    --------
    >>> table = pd.DataFrame({"recovered": [12, 4], "at_caseness": [19, 14],
    ...                       "rate": [12 / 19, 4 / 14]})
    >>> safe = safe_table(table, ["recovered", "at_caseness"], {"rate": ("recovered", "at_caseness")})
    >>> safe["recovered"].tolist(), safe["at_caseness"].tolist()
    ([10, <NA>], [20, 15])
    >>> safe["rate"].round(3).tolist()
    [0.632, nan]
    """
    count_columns = list(count_columns)
    rate_columns = dict(rate_columns or {})
    statistic_columns = {k: [v] if isinstance(v, str) else list(v) for k, v in (statistic_columns or {}).items()}
    sources = {c for pair in rate_columns.values() for c in pair} | {c for cs in statistic_columns.values() for c in cs}
    named = set(count_columns) | set(rate_columns) | set(statistic_columns) | sources
    missing = sorted(c for c in named if c not in df.columns)
    if missing:
        raise ValueError(f"safe_table: column(s) not in the table: {', '.join(map(repr, missing))}.")

    exact = {c: _count_series(df, c) for c in set(count_columns) | sources}

    def small(column: str) -> pd.Series:
        series = exact[column]
        return (series.isna() | (series < SUPPRESS_BELOW)).fillna(True).astype(bool)

    out = df.copy()
    for column, columns in [*((c, list(p)) for c, p in rate_columns.items()), *statistic_columns.items()]:
        hide = pd.Series(False, index=df.index)
        for source in columns:
            hide = hide | small(source)
        out[column] = out[column].mask(hide)
    for column in count_columns:
        out[column] = pd.Series([safe_count(v) if v is not pd.NA else None for v in exact[column]],
                                index=df.index, dtype="Int64")
    return out
