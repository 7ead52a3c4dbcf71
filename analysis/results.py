"""Typed result objects: an estimate travels with its CI, test, p, n and method.

Modelled on statsmodels' results objects: a page, the CLI's JSON and a slide all
print the same object the same way. A figure that cannot be computed has
``estimate=None`` and ``reason`` says why; nothing is ever made up.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


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
        return {
            "count": self.count,
            "denominator": self.denominator,
            "rate": self.rate,
            "ci95": list(self.ci95) if self.ci95 is not None else None,
        }
