"""Sample size and power for a *chosen* effect: planning the next study.

One function per question, in the style of pingouin:

- how big is a difference between two rates on Cohen's scale? -> :func:`cohens_h`
- how many per group to detect rate A vs rate B? -> :func:`sample_size_for_rates`
- how many per group to detect a difference in means? -> :func:`sample_size_for_means`,
  :func:`sample_size_for_effect`
- what power would n per group give for a chosen effect? -> :func:`power_for_rates`,
  :func:`power_for_means`
- how does power grow with n? -> :func:`power_curve`
- the answer in one plain sentence -> :func:`planning_sentence`,
  :func:`planning_sentence_for_means`

All tests are two-sided. Rates use the normal approximation on Cohen's h (arcsine
transformation) and means the two-sample t test on Cohen's d (Cohen 1988), computed with
statsmodels' ``NormalIndPower`` and ``TTestIndPower``. ``ratio`` is control n / physical
activity n, as statsmodels' ``nobs2 = ratio * nobs1``.

Why there is no "observed power"
--------------------------------
Power worked out after the fact from the effect a study happened to observe ("observed" or
"post hoc" power) is a one-to-one function of the study's own p value: a non-significant
result always has low observed power, so it adds nothing and invites the wrong reading that
the study "was underpowered, so the effect is probably real" (Hoenig & Heisey 2001). This
module therefore never takes an observed result as input to judge that result. Every function
computes power or sample size for an effect the *user chooses* — ideally the smallest
difference that would matter clinically. A pilot's estimate may be used as a planning guess,
but it is imprecise, and the pilot's own result should be read from its confidence interval.
Pages show :data:`OBSERVED_POWER_WARNING` next to power figures.

Invalid input
-------------
The sample-size functions never raise on bad planning input: they return a
:class:`SampleSize` whose ``n_per_group`` is None and whose ``reason`` says why (rates not
strictly between 0 and 1, equal rates, SD ≤ 0, ...). The power functions, whose answer is a
bare number, raise ``ValueError`` with a plain-English message instead.

References
----------
Cohen J (1988). *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed. Erlbaum.
Hoenig JM, Heisey DM (2001). The abuse of power: the pervasive fallacy of power calculations
for data analysis. *The American Statistician* 55(1):19–24.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from numbers import Real
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import brentq
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from analysis.schema import ALPHA, GROUP_LABELS, GROUP_PA

__all__ = [
    "DEFAULT_POWER",
    "MIN_N_PER_GROUP",
    "OBSERVED_POWER_WARNING",
    "SampleSize",
    "cohens_h",
    "planning_sentence",
    "planning_sentence_for_means",
    "power_curve",
    "power_for_means",
    "power_for_rates",
    "sample_size_for_effect",
    "sample_size_for_means",
    "sample_size_for_rates",
]

DEFAULT_POWER: Final = 0.80
# A group needs at least two people for its variability to be estimated at all.
MIN_N_PER_GROUP: Final = 2
# Beyond this the answer is "not feasible", not a number worth printing.
_MAX_N_PER_GROUP: Final = 1e12

OBSERVED_POWER_WARNING: Final = (
    "Power is shown only for an effect you choose, never as \"observed power\" computed from "
    "this study's own result. Observed power is a restatement of the p value — a "
    "non-significant result always has low observed power — so it is not evidence that an "
    "effect exists or that the study was too small (Hoenig & Heisey 2001). Read this study's "
    "result from its confidence interval; use power only to plan the next one."
)

RATES_METHOD: Final = (
    "Two-sided comparison of two proportions, normal approximation on Cohen's h "
    "(h = 2·asin√p₁ − 2·asin√p₂; Cohen 1988), statsmodels NormalIndPower"
)
MEANS_METHOD: Final = (
    "Two-sided two-sample t test, noncentral t on Cohen's d (d = |difference| / SD; "
    "Cohen 1988), statsmodels TTestIndPower"
)

_H_NAME: Final = "Cohen's h"
_D_NAME: Final = "Cohen's d"


@dataclass(frozen=True)
class SampleSize:
    """How many participants a two-group study needs for a chosen effect.

    Attributes
    ----------
    n_per_group: participants needed in the physical activity group (rounded up; with
        ``ratio`` = 1 also in control), or None when it cannot be worked out (see ``reason``).
    n_exact: the unrounded solution, or None.
    effect_size: the size of the effect to detect (≥ 0; direction does not matter for a
        two-sided test), or None when the input is unusable.
    effect_size_name: "Cohen's h" (rates) or "Cohen's d" (means).
    alpha: two-sided significance level.
    power: the power asked for.
    method: the method's name and reference, as shown to users.
    reason: why ``n_per_group`` is None, or a caveat about it.
    ratio: control n / physical activity n.
    n_control: participants needed in control (``ratio`` × ``n_exact`` rounded up), or None.
    """

    n_per_group: int | None
    n_exact: float | None
    effect_size: float | None
    effect_size_name: str
    alpha: float
    power: float
    method: str
    reason: str | None = None
    ratio: float = 1.0
    n_control: int | None = None

    @property
    def available(self) -> bool:
        return self.n_per_group is not None

    @property
    def n_total(self) -> int | None:
        """Both groups together, or None."""
        if self.n_per_group is None or self.n_control is None:
            return None
        return self.n_per_group + self.n_control

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- input checks -------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))


def _rate_problem(name: str, value: object) -> str | None:
    if not _is_number(value):
        return f"{name} must be a number strictly between 0 and 1 (got {value!r})."
    if not 0.0 < float(value) < 1.0:  # type: ignore[arg-type]
        return f"{name} must be strictly between 0 and 1 (got {value!r}); give a proportion, e.g. 0.36 for 36%."
    return None


def _alpha_power_ratio_problem(alpha: object, power: object | None, ratio: object) -> str | None:
    if not _is_number(alpha) or not 0.0 < float(alpha) < 1.0:  # type: ignore[arg-type]
        return f"alpha must be a number strictly between 0 and 1 (got {alpha!r})."
    if power is not None:
        if not _is_number(power) or not 0.0 < float(power) < 1.0:  # type: ignore[arg-type]
            return f"power must be a number strictly between 0 and 1, e.g. 0.80 (got {power!r})."
        if float(power) <= float(alpha):  # type: ignore[arg-type]
            return f"power ({power}) must be greater than alpha ({alpha}): any test has power alpha with no effect."
    if not _is_number(ratio) or float(ratio) <= 0.0:  # type: ignore[arg-type]
        return f"ratio (control n / physical activity n) must be a positive number (got {ratio!r})."
    return None


def _check_n(name: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        if _is_number(n) and float(n).is_integer():  # type: ignore[arg-type]
            n = int(n)  # type: ignore[arg-type]
        else:
            raise ValueError(f"{name} must be a whole number of participants (got {n!r}).")
    if int(n) < MIN_N_PER_GROUP:
        raise ValueError(f"{name} must be at least {MIN_N_PER_GROUP} (got {n}).")
    return int(n)


# --- effect sizes ---------------------------------------------------------------------------


def cohens_h(p_pa: float, p_control: float) -> float:
    """Cohen's h for two proportions: h = 2·asin(√p_pa) − 2·asin(√p_control).

    The arcsine transformation makes equal h mean equally detectable differences
    anywhere on the 0–1 scale; 0.2, 0.5 and 0.8 are Cohen's (1988) small, medium and large.
    Positive when the physical activity rate is higher. Computed with statsmodels'
    ``proportion_effectsize``.

    Raises ``ValueError`` unless both are numbers from 0 to 1.

    Examples
    --------
    >>> round(cohens_h(0.63, 0.36), 4)
    0.5468
    >>> round(cohens_h(0.36, 0.63), 4)
    -0.5468
    """
    for name, value in (("p_pa", p_pa), ("p_control", p_control)):
        if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be a proportion from 0 to 1 (got {value!r}).")
    return float(proportion_effectsize(float(p_pa), float(p_control)))


# --- solving for n ------------------------------------------------------------------------


def _solve_n(power_at: Callable[[float], float], target: float) -> tuple[float | None, str | None]:
    """Smallest n (physical activity group, continuous) with power_at(n) = target.

    Brent's method on a bracket grown by doubling from ``MIN_N_PER_GROUP``; more robust than
    ``solve_power`` for very large or very small effects.
    """
    lo = float(MIN_N_PER_GROUP)
    if power_at(lo) >= target:
        return lo, (
            f"The effect is so large that the smallest usable group ({MIN_N_PER_GROUP}) already "
            "gives this power; in practice plan for more."
        )
    hi = lo * 2
    while power_at(hi) < target:
        lo, hi = hi, hi * 2
        if hi > _MAX_N_PER_GROUP:
            return None, (
                f"More than {_MAX_N_PER_GROUP:,.0f} per group would be needed: the effect is too small to "
                "detect in practice."
            )
    root = brentq(lambda n: power_at(n) - target, lo, hi, xtol=1e-10, rtol=1e-12, maxiter=500)
    return float(root), None


def _ceil(value: float) -> int:
    # Ignore floating-point noise such as 64.0000000001.
    return max(MIN_N_PER_GROUP, math.ceil(value - 1e-9))


def _normal_power(effect: float, n_pa: float, ratio: float, alpha: float) -> float:
    """Two-sided power on Cohen's h, statsmodels ``NormalIndPower``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(NormalIndPower().power(effect_size=abs(effect), nobs1=n_pa, alpha=alpha, ratio=ratio,
                                            alternative="two-sided"))


def _t_power(effect: float, n_pa: float, ratio: float, alpha: float) -> float:
    """Two-sided power of the two-sample t test, statsmodels ``TTestIndPower``.

    statsmodels returns NaN when power is within about 1e-14 of 1, because the far lower
    tail ``nct.cdf(-t_crit)`` underflows to NaN; then the same formula is evaluated with that
    negligible tail taken as 0 (scipy ``nct``).
    """
    effect = abs(effect)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(TTestIndPower().power(effect_size=effect, nobs1=n_pa, alpha=alpha, ratio=ratio,
                                            alternative="two-sided"))
        if math.isfinite(value):
            return value
        n_control = ratio * n_pa
        df = n_pa + n_control - 2
        noncentrality = effect * math.sqrt(n_pa * n_control / (n_pa + n_control))
        crit = float(stats.t.isf(alpha / 2, df))
        upper = float(stats.nct.sf(crit, df, noncentrality))
        lower = float(stats.nct.cdf(-crit, df, noncentrality))
    upper = upper if math.isfinite(upper) else 1.0
    lower = lower if math.isfinite(lower) else 0.0
    return min(1.0, upper + lower)


def _sample_size(
    effect: float,
    name: str,
    method: str,
    power_fn: Callable[[float, float, float, float], float],
    alpha: float,
    power: float,
    ratio: float,
) -> SampleSize:
    def power_at(n: float) -> float:
        return power_fn(effect, n, ratio, alpha)

    n_exact, note = _solve_n(power_at, power)
    if n_exact is None:
        return SampleSize(None, None, effect, name, alpha, power, method, note, ratio, None)
    return SampleSize(_ceil(n_exact), n_exact, effect, name, alpha, power, method, note, ratio,
                      _ceil(ratio * n_exact))


def sample_size_for_rates(
    p_pa: float,
    p_control: float,
    alpha: float = ALPHA,
    power: float = DEFAULT_POWER,
    ratio: float = 1.0,
) -> SampleSize:
    """Participants per group to detect rate ``p_pa`` vs ``p_control``.

    Method: two-sided comparison of two proportions by the normal approximation on Cohen's
    h = |2·asin√p_pa − 2·asin√p_control| (Cohen 1988, ch. 6), solved for n with statsmodels'
    ``NormalIndPower``. ``ratio`` = control n / physical activity n.

    Never raises on bad input: rates not strictly between 0 and 1, equal rates (no difference
    to detect), alpha/power outside (0, 1) or power ≤ alpha give ``n_per_group=None`` and a
    ``reason``.

    Examples
    --------
    >>> sample_size_for_rates(0.63, 0.36).n_per_group
    53
    >>> sample_size_for_rates(0.63, 0.36, power=0.90).n_per_group
    71
    >>> sample_size_for_rates(0.4, 0.4).reason
    'The two rates are equal, so there is no difference to detect.'
    """
    effect: float | None = None
    problem = _rate_problem("p_pa", p_pa) or _rate_problem("p_control", p_control)
    if problem is None:
        effect = abs(cohens_h(p_pa, p_control))
        if effect == 0.0:
            problem = "The two rates are equal, so there is no difference to detect."
    problem = problem or _alpha_power_ratio_problem(alpha, power, ratio)
    if problem is not None:
        return SampleSize(None, None, effect, _H_NAME, alpha, power, RATES_METHOD, problem, ratio, None)
    return _sample_size(effect, _H_NAME, RATES_METHOD, _normal_power, float(alpha),  # type: ignore[arg-type]
                        float(power), float(ratio))


def sample_size_for_effect(
    d: float,
    alpha: float = ALPHA,
    power: float = DEFAULT_POWER,
    ratio: float = 1.0,
) -> SampleSize:
    """Participants per group to detect a standardised mean difference (Cohen's d).

    Method: two-sided two-sample t test, power from the noncentral t distribution (Cohen
    1988, ch. 2), solved for n with statsmodels' ``TTestIndPower``. The sign of ``d`` does not
    matter. Never raises on bad input: d = 0 or not finite, alpha/power outside (0, 1) give
    ``n_per_group=None`` and a ``reason``.

    Examples
    --------
    >>> sample_size_for_effect(0.5).n_per_group   # Cohen's table: 64 per group
    64
    >>> print(sample_size_for_effect(0.0).reason)
    Cohen's d is 0, so there is no difference to detect.
    """
    if not _is_number(d):
        problem: str | None = f"Cohen's d must be a finite number (got {d!r})."
        effect = None
    else:
        effect = abs(float(d))
        problem = "Cohen's d is 0, so there is no difference to detect." if effect == 0.0 else None
    problem = problem or _alpha_power_ratio_problem(alpha, power, ratio)
    if problem is not None:
        return SampleSize(None, None, effect, _D_NAME, alpha, power, MEANS_METHOD, problem, ratio, None)
    return _sample_size(effect, _D_NAME, MEANS_METHOD, _t_power, float(alpha),  # type: ignore[arg-type]
                        float(power), float(ratio))


def sample_size_for_means(
    difference: float,
    sd: float,
    alpha: float = ALPHA,
    power: float = DEFAULT_POWER,
    ratio: float = 1.0,
) -> SampleSize:
    """Participants per group to detect a difference in means of ``difference`` when the
    outcome's standard deviation (within each group) is ``sd``.

    Method: Cohen's d = |difference| / sd, then :func:`sample_size_for_effect` (two-sided
    two-sample t test, statsmodels ``TTestIndPower``; Cohen 1988). For change scores use the
    SD of change. Never raises on bad input: sd ≤ 0, a zero difference or non-numbers give
    ``n_per_group=None`` and a ``reason``.

    Examples
    --------
    >>> sample_size_for_means(3, 6).n_per_group     # d = 0.5
    64
    >>> sample_size_for_means(3, 0).reason
    'The standard deviation must be a positive number (got 0).'
    """
    if not _is_number(sd) or float(sd) <= 0.0:
        return SampleSize(None, None, None, _D_NAME, alpha, power, MEANS_METHOD,
                          f"The standard deviation must be a positive number (got {sd!r}).", ratio, None)
    if not _is_number(difference):
        return SampleSize(None, None, None, _D_NAME, alpha, power, MEANS_METHOD,
                          f"The difference must be a finite number (got {difference!r}).", ratio, None)
    if float(difference) == 0.0:
        return SampleSize(None, None, 0.0, _D_NAME, alpha, power, MEANS_METHOD,
                          "The difference is 0, so there is no difference to detect.", ratio, None)
    return sample_size_for_effect(abs(float(difference)) / float(sd), alpha=alpha, power=power, ratio=ratio)


# --- power for a chosen effect --------------------------------------------------------------


def _check_alpha(alpha: float) -> float:
    problem = _alpha_power_ratio_problem(alpha, None, 1.0)
    if problem is not None:
        raise ValueError(problem)
    return float(alpha)


def power_for_rates(p_pa: float, p_control: float, n_pa: int, n_control: int, alpha: float = ALPHA) -> float:
    """Power of a two-sided test to detect rate ``p_pa`` vs ``p_control`` with these group sizes.

    For a *chosen* effect only, never the observed one (see :data:`OBSERVED_POWER_WARNING`).
    Method: normal approximation on Cohen's h (Cohen 1988), statsmodels ``NormalIndPower``.
    Equal rates give power = alpha (the false-positive rate). Raises ``ValueError`` for rates
    not strictly between 0 and 1, n below 2 or alpha outside (0, 1).

    Examples
    --------
    >>> round(power_for_rates(0.63, 0.36, 19, 19), 2)
    0.39
    >>> round(power_for_rates(0.63, 0.36, 53, 53), 2)
    0.8
    """
    problem = _rate_problem("p_pa", p_pa) or _rate_problem("p_control", p_control)
    if problem is not None:
        raise ValueError(problem)
    n1, n2 = _check_n("n_pa", n_pa), _check_n("n_control", n_control)
    alpha = _check_alpha(alpha)
    return _normal_power(cohens_h(p_pa, p_control), n1, n2 / n1, alpha)


def power_for_means(d: float, n_pa: int, n_control: int, alpha: float = ALPHA) -> float:
    """Power of a two-sided two-sample t test to detect Cohen's d with these group sizes.

    For a *chosen* effect only, never the observed one (see :data:`OBSERVED_POWER_WARNING`).
    Method: noncentral t (Cohen 1988), statsmodels ``TTestIndPower``. d = 0 gives power = alpha.
    Raises ``ValueError`` for a non-finite d, n below 2 or alpha outside (0, 1).

    Examples
    --------
    >>> round(power_for_means(0.5, 64, 64), 2)
    0.8
    """
    if not _is_number(d):
        raise ValueError(f"Cohen's d must be a finite number (got {d!r}).")
    n1, n2 = _check_n("n_pa", n_pa), _check_n("n_control", n_control)
    alpha = _check_alpha(alpha)
    return _t_power(float(d), n1, n2 / n1, alpha)


def power_curve(
    kind: Literal["rates", "means"],
    *,
    p_pa: float | None = None,
    p_control: float | None = None,
    d: float | None = None,
    difference: float | None = None,
    sd: float | None = None,
    alpha: float = ALPHA,
    n_values: Iterable[int] | None = None,
    ratio: float = 1.0,
) -> pd.DataFrame:
    """Power against participants per group for a chosen effect, for a plot or a table.

    ``kind="rates"`` needs ``p_pa`` and ``p_control`` (:func:`power_for_rates`);
    ``kind="means"`` needs ``d``, or ``difference`` and ``sd`` (:func:`power_for_means`).
    ``n_values`` are physical activity group sizes; control has ``round(ratio × n)`` (at
    least 2). By default 100 sizes from 2 to twice the n that gives 80% power (at least 20,
    at most 10,000). Returns columns ``n_per_group`` and ``power``. Raises ``ValueError`` on
    invalid input.

    Examples
    --------
    >>> curve = power_curve("rates", p_pa=0.63, p_control=0.36, n_values=[19, 53])
    >>> curve["power"].round(2).tolist()
    [0.39, 0.8]
    """
    if kind == "rates":
        if p_pa is None or p_control is None:
            raise ValueError('power_curve("rates") needs p_pa and p_control.')

        def power_at(n1: int, n2: int) -> float:
            return power_for_rates(p_pa, p_control, n1, n2, alpha)  # type: ignore[arg-type]

        def planned() -> SampleSize:
            return sample_size_for_rates(p_pa, p_control, alpha, DEFAULT_POWER, ratio)  # type: ignore[arg-type]
    elif kind == "means":
        if d is None:
            if difference is None or sd is None:
                raise ValueError('power_curve("means") needs d, or difference and sd.')
            if not _is_number(sd) or float(sd) <= 0.0:
                raise ValueError(f"The standard deviation must be a positive number (got {sd!r}).")
            if not _is_number(difference):
                raise ValueError(f"The difference must be a finite number (got {difference!r}).")
            d = float(difference) / float(sd)
        effect = d

        def power_at(n1: int, n2: int) -> float:
            return power_for_means(effect, n1, n2, alpha)

        def planned() -> SampleSize:
            return sample_size_for_effect(effect, alpha, DEFAULT_POWER, ratio)
    else:
        raise ValueError(f'kind must be "rates" or "means" (got {kind!r}).')

    if not _is_number(ratio) or float(ratio) <= 0.0:
        raise ValueError(f"ratio (control n / physical activity n) must be a positive number (got {ratio!r}).")
    if n_values is None:
        target = planned().n_per_group or 10_000
        upper = int(min(10_000, max(20, 2 * target)))
        ns = sorted({int(v) for v in np.linspace(MIN_N_PER_GROUP, upper, 100).round()})
    else:
        ns = [_check_n("n_values item", n) for n in n_values]
    rows = [(n, power_at(n, max(MIN_N_PER_GROUP, round(float(ratio) * n)))) for n in ns]
    return pd.DataFrame(rows, columns=["n_per_group", "power"])


# --- plain-English sentences ----------------------------------------------------------------


def _percent(p: float) -> str:
    value = 100 * float(p)
    return f"{value:.0f}%" if abs(value - round(value)) < 1e-9 else f"{value:.1f}%"


def _number(x: float) -> str:
    return f"{float(x):g}"


def _pilot_clause(pilot_n_per_group: int | tuple[int, int] | None) -> str:
    if pilot_n_per_group is None:
        return "."
    if isinstance(pilot_n_per_group, tuple):
        n_pa, n_control = pilot_n_per_group
        if n_pa == n_control:
            return f"; this pilot had {n_pa}."
        return f"; this pilot had {n_pa} ({GROUP_LABELS[GROUP_PA].lower()}) and {n_control} (control)."
    return f"; this pilot had {pilot_n_per_group}."


def _need_clause(size: SampleSize) -> str:
    if size.ratio == 1.0 or size.n_control == size.n_per_group:
        return f"you need about {size.n_per_group:,} per group"
    return (f"you need about {size.n_per_group:,} in the {GROUP_LABELS[GROUP_PA].lower()} group "
            f"and {size.n_control:,} in control")


def planning_sentence(
    p_pa: float,
    p_control: float,
    power: float = DEFAULT_POWER,
    alpha: float = ALPHA,
    pilot_n_per_group: int | tuple[int, int] | None = None,
    ratio: float = 1.0,
) -> str:
    """One sentence: how many per group to detect rate ``p_pa`` vs ``p_control``.

    Uses :func:`sample_size_for_rates` (normal approximation on Cohen's h; Cohen 1988).
    ``pilot_n_per_group`` (one number, or a (physical activity, control) pair) adds the
    pilot's size for comparison. When no sample size can be worked out the sentence says why.

    Examples
    --------
    >>> planning_sentence(0.63, 0.36, 0.80, 0.05, 19)
    'To detect 63% vs 36% with 80% power (α = 0.05, two-sided) you need about 53 per group; this pilot had 19.'
    >>> planning_sentence(0.36, 0.36)
    'No sample size for 36% vs 36%: the two rates are equal, so there is no difference to detect.'
    """
    size = sample_size_for_rates(p_pa, p_control, alpha, power, ratio)
    try:
        what = f"{_percent(p_pa)} vs {_percent(p_control)}"
    except (TypeError, ValueError):
        what = f"{p_pa!r} vs {p_control!r}"
    if not size.available:
        return f"No sample size for {what}: {_lower_first(size.reason)}"
    return (f"To detect {what} with {_percent(power)} power (α = {_number(alpha)}, two-sided) "
            f"{_need_clause(size)}{_pilot_clause(pilot_n_per_group)}")


def planning_sentence_for_means(
    difference: float,
    sd: float,
    power: float = DEFAULT_POWER,
    alpha: float = ALPHA,
    pilot_n_per_group: int | tuple[int, int] | None = None,
    ratio: float = 1.0,
    unit: str = "points",
) -> str:
    """One sentence: how many per group to detect a difference in means.

    Uses :func:`sample_size_for_means` (d = |difference| / sd; two-sided t test; Cohen 1988).

    Examples
    --------
    >>> planning_sentence_for_means(3, 6, 0.80, 0.05, 19)
    "To detect a difference of 3 points (SD 6, Cohen's d = 0.50) with 80% power (α = 0.05, two-sided) you need about 64 per group; this pilot had 19."
    """
    size = sample_size_for_means(difference, sd, alpha, power, ratio)
    if not size.available:
        return f"No sample size for a difference of {difference!r} {unit}: {_lower_first(size.reason)}"
    return (f"To detect a difference of {_number(abs(float(difference)))} {unit} (SD {_number(sd)}, "
            f"Cohen's d = {size.effect_size:.2f}) with {_percent(power)} power (α = {_number(alpha)}, "
            f"two-sided) {_need_clause(size)}{_pilot_clause(pilot_n_per_group)}")


def _lower_first(text: str | None) -> str:
    if not text:
        return "it cannot be worked out."
    first_word = text.split(" ", 1)[0]
    if first_word in {"The", "More"}:  # not a name such as "Cohen's"
        return text[0].lower() + text[1:]
    return text
