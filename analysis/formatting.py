"""Numbers formatted for people: 63%, 95% CI 41% to 81%, p = 0.17.

Shared by the pages, the CLI's text report and the exports, so a figure reads the
same everywhere. ``None`` formats as an em dash ("—").
"""

from __future__ import annotations

import math

MISSING = "—"
MINUS = "−"  # typographic minus sign


def _signed(text: str) -> str:
    return text.replace("-", MINUS) if text.startswith("-") else text


def percent(value: float | None, decimals: int = 0) -> str:
    """0.632 -> '63%'."""
    if value is None or not math.isfinite(value):
        return MISSING
    return _signed(f"{value * 100:.{decimals}f}%")


def points(value: float | None, decimals: int = 0) -> str:
    """A difference of proportions in percentage points: 0.275 -> '27.5' with decimals=1."""
    if value is None or not math.isfinite(value):
        return MISSING
    return _signed(f"{value * 100:.{decimals}f}")


def number(value: float | None, decimals: int = 1) -> str:
    """-3.456 -> '−3.5'."""
    if value is None or not math.isfinite(value):
        return MISSING
    text = f"{value:.{decimals}f}"
    if text.lstrip("-") == f"{0:.{decimals}f}":
        text = text.lstrip("-")
    return _signed(text)


def count(value: int | None) -> str:
    return MISSING if value is None else f"{value:,}"


def ci(interval: tuple[float, float] | None, kind: str = "number", decimals: int = 1) -> str:
    """'95% CI 41% to 81%' (kind='percent') or '95% CI −4.1 to 0.8' (kind='number')."""
    if interval is None:
        return "95% CI not available"
    lo, hi = interval
    fmt = {"percent": lambda v: percent(v, 0), "points": lambda v: points(v, 0),
           "number": lambda v: number(v, decimals)}[kind]
    return f"95% CI {fmt(lo)} to {fmt(hi)}"


def p_value(p: float | None) -> str:
    """'p = 0.17', 'p = 0.041', 'p < 0.001'."""
    if p is None or not math.isfinite(p):
        return "p not available"
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return f"p = {p:.3f}"
    text = f"{p:.2f}"
    if text == "0.05" and p < 0.05:
        text = f"{p:.3f}"
    return f"p = {text}"
