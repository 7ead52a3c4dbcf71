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

Functions: :func:`safe_count`, :func:`safe_rate`, :func:`safe_ci` for single figures and
:func:`count_shown` for a count in a sentence; :func:`safe_figures` applies the rules once, by
KIND (count, proportion, estimate, p value, parameter, text), to the typed results table
(:mod:`analysis.results`), and :func:`make_summary_safe` renders the CLI's JSON summary from it
(a new top-level block declares its own rule with :func:`register_safe_block`, or is withheld);
:func:`safe_table` for page tables and exports. :data:`SAFE_MODE_NOTE` is the text to show
wherever safe mode is on.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from numbers import Integral, Real
from typing import Any, Final

import pandas as pd

from analysis.results import (
    COUNT,
    ESTIMATE,
    P_VALUE,
    PROPORTION,
    TEXT,
    UNDECLARED,
    Figure,
    render_figures,
    summary_figures,
)
from analysis.schema import GROUPS

__all__ = [
    "DISCLOSURE_RULES",
    "ROUND_TO",
    "SAFE_MODE_NOTE",
    "SUPPRESS_BELOW",
    "FEWER_THAN",
    "FEWER_THAN_SHORT",
    "count_shown",
    "make_summary_safe",
    "measure_basis",
    "rate_basis",
    "register_safe_block",
    "safe_by_kind",
    "safe_figure",
    "safe_figures",
    "safe_ci",
    "safe_count",
    "safe_rate",
    "safe_table",
]

SUPPRESS_BELOW: Final = 5
ROUND_TO: Final = 5
FEWER_THAN: Final = f"fewer than {SUPPRESS_BELOW}"  # how a suppressed count reads in a sentence
# ... and in a table cell or a metric tile, where the words are cut ("fewer th…" in a quarter-width tile at 1280 px)
FEWER_THAN_SHORT: Final = f"<{SUPPRESS_BELOW}"

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


def count_shown(n: int | None, safe: bool, short: bool = False) -> str:
    """A count as a sentence shows it: exact ('1,234'), or in safe mode rounded ('1,235') or
    'fewer than 5' (``short``: '<5', for a metric tile or table cell); '—' when missing. Every sentence,
    caption, takeaway and hover text with a count goes through this (or :func:`safe_count`), so the rule
    is applied in one place.

    >>> count_shown(33, False), count_shown(33, True), count_shown(3, True), count_shown(3, True, short=True)
    ('33', '35', 'fewer than 5', '<5')
    """
    if n is None:
        return "—"
    shown = safe_count(n) if safe else _as_count(n)
    if shown is None:
        return FEWER_THAN_SHORT if short else FEWER_THAN
    return f"{shown:,}"


# --- the results table and the JSON summary ---------------------------------------------------

FREE_TEXT_KEYS: Final = frozenset({"note", "reason"})  # text written from the data, which may quote counts
HIDDEN_COUNT_REASON: Final = (f"Suppressed in presentation-safe mode: a count below {SUPPRESS_BELOW}.")
HIDDEN_FIGURE_REASON: Final = (f"Hidden in presentation-safe mode: it rests on a count below {SUPPRESS_BELOW}.")
UNDECLARED_REASON: Final = ("Withheld in presentation-safe mode: no disclosure rule is declared for this "
                            "figure.")

# Top-level summary blocks that apply their own disclosure control: key -> function(block) -> safe block.
# A module that adds a block to ``Analysis.to_dict`` registers here (see :func:`register_safe_block`).
SAFE_BLOCKS: dict[str, Callable[..., Any]] = {}


def register_safe_block(key: str, make_safe: Callable[..., Any]) -> None:
    """Declare how the top-level summary block ``key`` is made presentation-safe.

    ``make_safe(block)`` (or ``make_safe(block, summary)``) returns the safe copy of the block; with
    two parameters it also gets the whole exact summary, so a rule can read the group counts its
    figures rest on (e.g.
    ``summary["rates"]["recovery"]["control"]["count"]``). The easiest way to write it is
    :func:`safe_by_kind`, which walks the block and applies :func:`safe_figure` to each leaf with the
    kind and basis you declare::

        register_safe_block("bayes", lambda block, summary: safe_by_kind(
            block, lambda path, key: PARAMETER if key == "mid" else PROPORTION,
            lambda path: rate_basis(summary, path[0])))

    A block with no registered rule is withheld in safe mode (replaced by ``{"reason": ...}``),
    never shown unchecked. Registering again replaces the rule (a module may be imported twice).
    """
    SAFE_BLOCKS[key] = make_safe


def _apply_rule(rule: Callable[..., Any], block: Any, summary: Mapping[str, Any]) -> Any:
    """``rule(block, summary)`` when the rule takes two parameters, else ``rule(block)``."""
    import inspect

    try:
        takes_summary = len(inspect.signature(rule).parameters) >= 2
    except (TypeError, ValueError):
        takes_summary = False
    return rule(block, summary) if takes_summary else rule(block)


def rate_basis(summary: Mapping[str, Any], rate: str) -> tuple[int | None, ...]:
    """The exact counts and denominators of both groups of one rate in an (exact) summary, or
    ``(None,)`` when the rate is not there (so a figure resting on it is hidden)."""
    entry = summary.get("rates", {}).get(rate)
    if not isinstance(entry, Mapping):
        return (None,)
    return tuple(entry.get(g, {}).get(k) if isinstance(entry.get(g), Mapping) else None
                 for g in GROUPS for k in ("count", "denominator"))


def measure_basis(summary: Mapping[str, Any], measure: str) -> tuple[int | None, ...]:
    """Both groups' n of one measure in an (exact) summary, or ``(None,)`` when it is not there."""
    entry = summary.get("measures", {}).get(measure)
    if not isinstance(entry, Mapping):
        return (None,)
    return tuple(entry.get(g, {}).get("n") if isinstance(entry.get(g), Mapping) else None for g in GROUPS)


def safe_by_kind(block: Any, kind_of: Callable[[tuple[str, ...], str], str],
                 basis_of: Callable[[tuple[str, ...]], tuple[int | None, ...]] = lambda path: ()) -> Any:
    """A nested JSON block made safe leaf by leaf: each leaf's kind is ``kind_of(path, key)`` and the
    counts it rests on ``basis_of(path)`` (``path``: the keys down to the object holding the leaf, list
    positions as text); :func:`safe_figure` applies the rule, and an object holding a hidden figure
    gets a ``"reason"``. Lists of numbers (intervals) are one leaf; lists of objects are walked.
    """
    def walk(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            reason = None
            for key, item in value.items():
                if key == "reason":
                    continue
                if isinstance(item, Mapping) or (isinstance(item, list) and any(
                        isinstance(v, Mapping) for v in item)):
                    out[key] = walk(item, (*path, key))
                    continue
                row = safe_figure(Figure(path, key, item, kind_of(path, key), basis_of(path)))
                out[key] = row.value
                if row.value is None and row.reason:
                    reason = reason or row.reason
            if value.get("reason") or reason:
                out["reason"] = value.get("reason") if value.get("reason") and reason is None else reason
            return out
        if isinstance(value, list):
            return [walk(v, (*path, str(i))) for i, v in enumerate(value)]
        return value

    return walk(copy.deepcopy(block), ())


def _small(n: int | None) -> bool:
    return n is None or n < SUPPRESS_BELOW


def _blank(value: Any) -> Any:
    """None for a number or a list of numbers; a dict keeps its keys with numbers blanked."""
    if isinstance(value, Mapping):
        return {k: (v if isinstance(v, str) else _blank(v)) for k, v in value.items()}
    if isinstance(value, str):
        return value
    return None


def safe_figure(row: Figure) -> Figure:
    """One figure as presentation-safe mode shows it, decided by its KIND, never by its name.

    - count: suppressed below 5 (None) and rounded to the nearest 5;
    - proportion, estimate, p value: hidden (None) when any count it rests on (``basis``) is below 5
      or unknown; otherwise unchanged (computed from the exact counts);
    - parameter, text: unchanged (a number of resamples or a seed is a setting, not a count);
    - undeclared: withheld (None), because nobody said what it is.
    """
    if row.kind == COUNT:
        if row.value is None or isinstance(row.value, (Mapping, list, str, bool)):
            return row if not isinstance(row.value, (Mapping, list)) else replace(
                row, value=_blank(row.value), reason=HIDDEN_COUNT_REASON)
        shown = safe_count(row.value)
        return replace(row, value=shown, reason=row.reason if shown is not None or row.value is None
                       else HIDDEN_COUNT_REASON)
    small_basis = any(_small(n) for n in row.basis)
    if row.kind in (PROPORTION, ESTIMATE, P_VALUE):
        if small_basis:  # a reason written from the exact data (e.g. "1 and 3 people") is replaced too
            return replace(row, value=_blank(row.value), reason=HIDDEN_FIGURE_REASON)
        return row
    if row.kind == TEXT and row.key in FREE_TEXT_KEYS and small_basis and isinstance(row.value, str):
        return replace(row, value=HIDDEN_FIGURE_REASON)
    if row.kind == UNDECLARED and row.value is not None and not isinstance(row.value, str):
        return replace(row, value=_blank(row.value), reason=UNDECLARED_REASON)
    return row


def safe_figures(rows: Iterable[Figure]) -> list[Figure]:
    """The results table with disclosure control applied once, row by row, by kind (:func:`safe_figure`)."""
    return [safe_figure(row) for row in rows]


def make_summary_safe(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The CLI's JSON summary with NHS England's disclosure control applied; a new dict.

    Method: the summary's known blocks (``participants``, ``rates``, ``measures``, ``data``) become
    the typed results table (:func:`analysis.results.summary_figures`, where each figure's kind is
    declared once), :func:`safe_figures` applies the rules by kind, and the table is rendered back
    to the same JSON shape, with a ``"reason"`` beside every object holding a hidden figure. So:

    - counts (``participants``, a group's ``count``/``denominator``/``n``, the ``data`` count blocks)
      are suppressed below 5 and rounded to 5;
    - a group's ``rate`` and ``ci95`` are hidden when its count or denominator is below 5;
    - every between-group figure (difference, odds ratio, relative risk, NNT, Fisher's p, Welch,
      Mann–Whitney, Hedges' g, ANCOVA, permutation, MCID) is hidden when either group's counts are;
    - means and SDs of a group with n below 5 are hidden;
    - parameters (``n_resamples``, ``seed``, the MCID ``threshold``) and text are never changed.

    Any other top-level block is made safe by the function registered for it
    (:func:`register_safe_block`); a block with none is withheld (``{"reason": ...}``), never shown
    unchecked. ``"disclosure_control": {"applied": true, "rules": ...}`` is added. The input is
    never modified.

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
    >>> safe["rates"]["recovery"]["control"]["rate"], safe["rates"]["recovery"]["fisher_p"]
    (None, None)
    """
    summary = copy.deepcopy(dict(summary))
    rows, others = summary_figures(summary, GROUPS)
    known = render_figures(safe_figures(rows))
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if key in others:
            rule = SAFE_BLOCKS.get(key)
            out[key] = _apply_rule(rule, value, summary) if rule is not None else {"reason": UNDECLARED_REASON}
        elif key in known:
            out[key] = known[key]
        else:  # a known block that rendered to nothing (e.g. empty)
            out[key] = value
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
