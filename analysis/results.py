"""Typed result objects: an estimate travels with its CI, test, p, n and method.

Modelled on statsmodels' results objects: a page, the CLI's JSON and a slide all
print the same object the same way. A figure that cannot be computed has
``estimate=None`` and ``reason`` says why; nothing is ever made up.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Final

import pandas as pd


def clean_float(value: Any) -> float | None:
    """A plain float, or None for None/NaN/inf (JSON has no NaN)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def clean_ci(low: Any, high: Any) -> tuple[float, float] | None:
    lo, hi = clean_float(low), clean_float(high)
    if lo is None or hi is None:
        return None
    return (lo, hi)


@dataclass(frozen=True)
class Estimate:
    """One statistical figure with everything needed to report it honestly.

    Attributes
    ----------
    name: what is estimated, in words ("difference in mean change (PA − control)").
    estimate: the point estimate, or None when it cannot be computed (see ``reason``).
    ci95: the 95% confidence interval, or None.
    method: the method's name and reference, as shown to users.
    statistic / statistic_name: the test statistic (t, U, F, ...) where there is one.
    df: degrees of freedom where they apply.
    p: two-sided p value where a test applies.
    n: participants used per group.
    reason: why the estimate is None (or a caveat about it).
    extra: further named figures (e.g. adjusted means, number of resamples).
    """

    name: str
    estimate: float | None
    ci95: tuple[float, float] | None = None
    method: str = ""
    statistic: float | None = None
    statistic_name: str | None = None
    df: float | None = None
    p: float | None = None
    n: dict[str, int] | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def unavailable(cls, name: str, method: str, reason: str, n: dict[str, int] | None = None) -> Estimate:
        return cls(name=name, estimate=None, method=method, reason=reason, n=n)

    @property
    def available(self) -> bool:
        return self.estimate is not None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ci95"] = list(self.ci95) if self.ci95 is not None else None
        return out


@dataclass(frozen=True)
class Rate:
    """A proportion in one group: count / denominator with its 95% CI."""

    group: str
    count: int
    denominator: int
    rate: float | None
    ci95: tuple[float, float] | None
    method: str = "Wilson score interval (Wilson 1927)"
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return with_reason({
            "count": self.count,
            "denominator": self.denominator,
            "rate": self.rate,
            "ci95": list(self.ci95) if self.ci95 is not None else None,
        }, self.reason or "No one in the denominator, so there is no rate.")


# --- the results table: every figure of a summary as a typed row ---------------------------------

COUNT: Final = "count"  # how many people: suppressed below 5 and rounded to 5 in safe mode
PROPORTION: Final = "proportion"  # a share of a group (rate, its CI): hidden when its counts are small
ESTIMATE: Final = "estimate"  # a statistic resting on group sizes (mean, SD, difference, OR, t, df, U)
P_VALUE: Final = "p value"  # a test's p: hidden like an estimate
PARAMETER: Final = "parameter"  # a setting of the method (resamples, seed, MCID threshold): never changed
TEXT: Final = "text"  # a method's name, a note, a label: shown as it is
UNDECLARED: Final = "undeclared"  # a number whose kind nobody declared: withheld in safe mode
KINDS: Final = (COUNT, PROPORTION, ESTIMATE, P_VALUE, PARAMETER, TEXT, UNDECLARED)

TEXT_KEYS: Final = frozenset({"reason", "note", "method", "label", "source", "level", "notes"})


@dataclass(frozen=True)
class Figure:
    """One figure of the results table (a leaf of the JSON summary), with its kind.

    ``path`` locates the JSON object holding it (``("rates", "recovery", "difference")``) and ``key``
    its name there (``"estimate"``); ``section``, ``item`` and ``part`` are the path's first three
    steps (``rates`` / ``recovery`` / ``difference``: what, which measure or rate, which group or
    contrast). ``basis`` lists the exact counts the figure rests on, which disclosure control
    consults (a proportion: its numerator and denominator; a comparison: both groups'); ``reason``
    says why the value is None, if it is.
    """

    path: tuple[str, ...]
    key: str
    value: Any
    kind: str
    basis: tuple[int | None, ...] = ()
    reason: str | None = None

    @property
    def section(self) -> str:
        return self.path[0] if self.path else self.key

    @property
    def item(self) -> str | None:
        return self.path[1] if len(self.path) > 1 else None

    @property
    def part(self) -> str | None:
        return self.path[2] if len(self.path) > 2 else None


def _whole(value: Any) -> int | None:
    number = clean_float(value)
    return None if number is None else int(round(number))


def _group_basis(entry: dict[str, Any], groups: tuple[str, ...], keys: tuple[str, ...]) -> tuple[int | None, ...]:
    """The exact counts of every group block in a comparison entry (None for a missing group)."""
    out: list[int | None] = []
    for group in groups:
        block = entry.get(group)
        out += [_whole(block.get(k)) if isinstance(block, dict) else None for k in keys]
    return tuple(out)


def _leaves(path: tuple[str, ...], obj: dict[str, Any], kind_of, basis: tuple[int | None, ...],
            reason: str | None) -> list[Figure]:
    out = []
    reason = obj.get("reason") or reason
    for key, value in obj.items():
        if key == "reason":
            continue
        kind = TEXT if key in TEXT_KEYS else kind_of(key)
        out.append(Figure(path, key, value, kind, basis, reason if _is_null(value) else None))
    return out


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, dict):
        return any(_is_null(v) for v in value.values())
    return False


def _rate_entry(path: tuple[str, ...], entry: dict[str, Any], groups: tuple[str, ...],
                extra_basis: tuple[int | None, ...] = ()) -> list[Figure]:
    """A rate compared between groups: group blocks, then contrasts resting on all four counts."""
    rows: list[Figure] = []
    basis = _group_basis(entry, groups, ("count", "denominator")) + extra_basis
    for key, value in entry.items():
        if key == "reason":
            continue
        if key in groups and isinstance(value, dict):
            own = (_whole(value.get("count")), _whole(value.get("denominator")))
            rows += _leaves((*path, key), value, lambda k: COUNT if k in ("count", "denominator") else PROPORTION,
                            own, None)
        elif isinstance(value, dict):
            rows += _leaves((*path, key), value, _contrast_kind, basis, None)
        elif key == "threshold":
            rows.append(Figure(path, key, value, PARAMETER))
        else:
            rows.append(Figure(path, key, value, TEXT if key in TEXT_KEYS else
                               (P_VALUE if key.endswith("_p") or key == "p" else ESTIMATE), basis,
                               entry.get("reason") if value is None else None))
    return rows


_PARAMETERS: Final = frozenset({"n_resamples", "seed", "threshold"})


def _contrast_kind(key: str) -> str:
    """The kind of a figure inside a between-group comparison (difference, odds ratio, Welch, ANCOVA...)."""
    if key in _PARAMETERS:
        return PARAMETER
    if key == "p" or key.endswith("_p"):
        return P_VALUE
    return COUNT if key == "n" else ESTIMATE


def _measure_entry(path: tuple[str, ...], entry: dict[str, Any], groups: tuple[str, ...]) -> list[Figure]:
    rows: list[Figure] = []
    basis = _group_basis(entry, groups, ("n",))
    for key, value in entry.items():
        if key == "reason":
            continue
        if key in groups and isinstance(value, dict):
            own = (_whole(value.get("n")),)
            rows += _leaves((*path, key), value, lambda k: COUNT if k == "n" else ESTIMATE, own, None)
        elif key == "mcid" and isinstance(value, dict):
            rows += _rate_entry((*path, key), value, groups, basis)
        elif isinstance(value, dict):
            rows += _leaves((*path, key), value, _contrast_kind, basis, None)
        else:
            rows.append(Figure(path, key, value, TEXT if key in TEXT_KEYS else UNDECLARED, basis))
    return rows


def _counts_block(path: tuple[str, ...], block: Any) -> list[Figure]:
    if isinstance(block, dict):
        return [Figure(path, k, v, COUNT, reason=block.get("reason") if v is None else None)
                for k, v in block.items() if k != "reason"]
    return [Figure(path[:-1], path[-1], block, COUNT)]


def summary_figures(summary: dict[str, Any], groups: tuple[str, ...]) -> tuple[list[Figure], dict[str, Any]]:
    """The figures of the known blocks of a JSON summary (``participants``, ``rates``, ``measures``,
    ``data``) as typed rows, and the other top-level blocks untouched (see
    :func:`analysis.disclosure.make_summary_safe` for how those declare their own disclosure).

    The kinds are declared here, once, by what each figure *is* (its place in the design doc's JSON
    contract), never guessed from a key's spelling: ``count``/``denominator``/``n`` of a group and the
    ``participants``/``data`` count blocks are counts; a group's ``rate`` and CI are proportions resting
    on its count and denominator; every between-group figure rests on both groups' counts; resamples,
    seeds and thresholds are parameters; a number in a known block whose kind is not declared is
    ``undeclared`` (withheld in safe mode).
    """
    rows: list[Figure] = []
    others: dict[str, Any] = {}
    for key, value in summary.items():
        if key in ("participants", "excluded", "not_finished", "finishers"):
            rows += _counts_block((key,), value)
        elif key == "rates" and isinstance(value, dict):
            for name, entry in value.items():
                rows += _rate_entry((key, name), entry, groups) if isinstance(entry, dict) else [
                    Figure((key,), name, entry, UNDECLARED)]
        elif key == "measures" and isinstance(value, dict):
            for name, entry in value.items():
                rows += _measure_entry((key, name), entry, groups) if isinstance(entry, dict) else [
                    Figure((key,), name, entry, UNDECLARED)]
        elif key == "data" and isinstance(value, dict):
            rows += _data_block(value, summary, groups)
        else:
            others[key] = value
    return rows, others


_DATA_COUNTS: Final = frozenset({"participants_total", "not_finished", "at_caseness", "excluded_rows_count"})


def _data_block(data: dict[str, Any], summary: dict[str, Any], groups: tuple[str, ...]) -> list[Figure]:
    rows: list[Figure] = []
    finishers = summary.get("participants") if isinstance(summary.get("participants"), dict) else {}
    for key, value in data.items():
        if key == "reason":
            continue
        if key in _DATA_COUNTS:
            rows += _counts_block(("data", key), value)
        elif key == "paired_completeness" and isinstance(value, dict):
            reason = value.get("reason")
            for group, share in value.items():
                if group == "reason":
                    continue
                total = (sum(_whole(finishers.get(g)) or 0 for g in groups) if group == "all"
                         else _whole(finishers.get(group)))
                share = clean_float(share)
                paired = None if share is None or total is None else int(round(share * total))
                rows.append(Figure(("data", key), group, share, PROPORTION, (paired, total),
                                   reason if share is None else None))
        elif key in TEXT_KEYS:
            rows.append(Figure(("data",), key, value, TEXT))
        else:
            rows.append(Figure(("data",), key, value, UNDECLARED))
    return rows


def render_figures(rows: list[Figure]) -> dict[str, Any]:
    """The nested JSON summary from its rows, in row order; an object holding a null figure gets a
    sibling ``"reason"`` (the first reason among its null figures)."""
    out: dict[str, Any] = {}
    reasons: dict[tuple[str, ...], str] = {}
    for row in rows:
        target = out
        for step in row.path:
            target = target.setdefault(step, {})
        target[row.key] = row.value
        if row.reason and _is_null(row.value) and row.kind != TEXT:
            reasons.setdefault(row.path, row.reason)
            if isinstance(row.value, dict):
                reasons.setdefault((*row.path, row.key), row.reason)
    for path, reason in reasons.items():
        target = out
        for step in path:
            target = target[step]
        if isinstance(target, dict) and not target.get("reason"):
            target["reason"] = reason
    return out


def figures_frame(rows: list[Figure]) -> pd.DataFrame:
    """The results table as a tidy frame: one row per figure (section, item, part, key, value, kind,
    basis, reason), e.g. ``rates / recovery / difference / estimate / 0.275 / estimate``."""
    return pd.DataFrame([{"section": r.section, "item": r.item, "part": r.part,
                          "detail": ".".join(r.path[3:]) or None, "key": r.key, "value": r.value,
                          "kind": r.kind, "basis": r.basis, "reason": r.reason} for r in rows],
                        columns=["section", "item", "part", "detail", "key", "value", "kind", "basis", "reason"])


def with_reason(block: dict[str, Any], reason: str | None) -> dict[str, Any]:
    """``block`` plus a ``"reason"`` key when one of its figures is None (the JSON rule: a null figure
    has its reason beside it); unchanged when every figure is there."""
    if any(v is None for k, v in block.items() if k not in TEXT_KEYS) and reason:
        block["reason"] = reason
    return block
