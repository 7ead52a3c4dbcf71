"""Large data in the adjusted analysis (analysis/adjusted.py): the design kept as its parts, the propensity model
by Newton's steps on it, and the outcome models and sandwich variances solved through the structure of the stacked
estimating equations. Each is checked against an independent computation: the design built whole, statsmodels'
Logit and OLS, and the per-outcome sandwich of the whole design (pseudo-inverse of the stacked J)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis import adjusted as adj
from analysis.schema import GROUP_CONTROL, GROUP_PA


def _data(n: int, seed: int, *, pa_never_at_caseness_in: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Confounded episodes with numbers and categories (one padded with spaces, one with a rare level and a
    missing value), the flags the adjusted analysis reads, and a measure whose first score is not a covariate."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    site = rng.choice(["North", "South", "East", "West"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    band = rng.choice(["18-25", "26-35", "36-45", "46+"], size=n)
    gender = rng.choice(["Female", " Female", "Male", "Non-binary"], size=n, p=[0.45, 0.05, 0.45, 0.05]).astype(object)
    gender[:3] = "Rare"  # three people: pooled
    gender[5] = None  # missing: left out (complete cases)
    ltc = rng.random(n) < 0.3
    pa = rng.random(n) < 1 / (1 + np.exp(-(-0.2 + 0.6 * x + 0.5 * ltc + 0.3 * (site == "South"))))
    caseness = rng.random(n) < 0.85
    if pa_never_at_caseness_in:  # the PA recovery model then has no one at that site: its ZᵀWZ is singular
        caseness[(site == pa_never_at_caseness_in) & pa] = False
    recovered = rng.random(n) < 0.35 + 0.1 * x.clip(-1, 1) + 0.12 * pa
    improved = rng.random(n) < 0.5 + 0.1 * pa
    episodes = pd.DataFrame({
        "participant_id": [f"T-{i:06d}" for i in range(n)],
        "group": np.where(pa, GROUP_PA, GROUP_CONTROL),
        "phq9_first": np.round(14 + 4 * x, 2), "phq9_last": np.round(11 + 4 * x - 1.5 * pa + rng.normal(size=n), 2),
        "gad7_first": np.round(10 + 3 * x + rng.normal(size=n), 1),
        "gad7_last": np.where(rng.random(n) < 0.1, np.nan, np.round(8 + 3 * x - pa + rng.normal(size=n), 1)),
        "site": site, "age_band": band, "gender": gender, "ltc": np.where(ltc, "Yes", "No"),
    })
    episodes["gender"] = episodes["gender"].astype("str")
    flags = pd.DataFrame({"finished": np.ones(n, dtype=bool), "at_caseness": caseness,
                          "recovered": recovered & caseness, "reliable_recovery": recovered & caseness & improved,
                          "reliable_improvement": improved, "reliable_deterioration": ~improved})
    return episodes, flags


COVARIATES = ["phq9_first", "site", "age_band", "gender", "ltc"]  # gad7_first is not one: its model adds it


def _whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build the design whole (the per-outcome fits and sandwich of before) whatever the data's size."""
    monkeypatch.setattr(adj, "_factored_x", lambda *args, **kwargs: None)


def _same(a: adj.Adjustment, b: adj.Adjustment, rel: float = 1e-10) -> None:
    assert a.n == b.n and a.excluded == b.excluded and a.notes == b.notes and a.covariates == b.covariates
    assert a.ci_method == b.ci_method == "sandwich"
    np.testing.assert_allclose(a.propensity["propensity"], b.propensity["propensity"], rtol=1e-12)
    for group in (GROUP_PA, GROUP_CONTROL):
        assert a.ess[group] == pytest.approx(b.ess[group], rel=1e-12)
    pd.testing.assert_frame_equal(a.balance.drop(columns=["smd_before", "smd_after"]),
                                  b.balance.drop(columns=["smd_before", "smd_after"]))
    np.testing.assert_allclose(a.balance[["smd_before", "smd_after"]], b.balance[["smd_before", "smd_after"]],
                               rtol=1e-9, atol=1e-13)
    assert a.effects.keys() == b.effects.keys()
    for key, effect in a.effects.items():
        other = b.effects[key]
        assert effect.n == other.n
        for mine, theirs in ((effect.difference, other.difference), (effect.relative_risk, other.relative_risk)):
            if mine is None or mine.estimate is None:
                assert theirs is None or (theirs.estimate is None and theirs.reason == mine.reason)
                continue
            assert mine.estimate == pytest.approx(theirs.estimate, rel=rel, abs=1e-13)
            assert mine.ci95 == pytest.approx(theirs.ci95, rel=rel, abs=1e-13)


# --- the parts of the design -------------------------------------------------------------------


def test_factored_design_is_the_whole_design_and_its_products_agree() -> None:
    episodes, flags = _data(3000, 1)
    finishers = adj._Finishers(episodes, flags["finished"].to_numpy(bool))
    is_pa = finishers.is_group(GROUP_PA)
    keep, texts, _ = adj._prepare(finishers, tuple(COVARIATES), is_pa, [])
    whole = adj._design(finishers, tuple(COVARIATES), texts, keep, is_pa[keep])
    parts = adj._design(finishers, tuple(COVARIATES), texts, keep, is_pa[keep], factored=True)
    assert isinstance(parts.X, adj._Factored) and parts.terms == whole.terms
    # its rows are the analysis rows in group order (control first), with the same numbers, not merely close
    treated = is_pa[keep]
    assert not parts.ordered(treated)[:parts.controls].any() and parts.ordered(treated)[parts.controls:].all()
    X = np.vstack([whole.X[~treated], whole.X[treated]])
    np.testing.assert_array_equal(parts.X.dense(), X)
    np.testing.assert_array_equal(parts.unordered(parts.ordered(treated)), treated)
    rng = np.random.default_rng(2)
    b, r, v = rng.normal(size=X.shape[1]), rng.normal(size=len(X)), rng.random(len(X))
    np.testing.assert_allclose(parts.X.dot(b), X @ b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(parts.X.rdot(r), X.T @ r, rtol=1e-11, atol=1e-10)
    np.testing.assert_allclose(parts.X.gram(v), (X * v[:, None]).T @ X, rtol=1e-11, atol=1e-10)
    extra = rng.normal(size=len(X))
    np.testing.assert_array_equal(parts.X.with_column(extra).dense(), np.column_stack([X, extra]))


def test_too_many_cells_builds_the_design_whole(monkeypatch) -> None:
    """More category combinations than people (or than MAX_CELLS): the parts would cost more than X itself."""
    episodes, flags = _data(300, 3)
    finishers = adj._Finishers(episodes, flags["finished"].to_numpy(bool))
    covariates = ("site", "age_band", "ltc")  # 4 × 4 × 2 = 32 cells
    is_pa = finishers.is_group(GROUP_PA)
    keep, texts, _ = adj._prepare(finishers, covariates, is_pa, [])
    assert isinstance(adj._design(finishers, covariates, texts, keep, is_pa[keep], factored=True).X, adj._Factored)
    few = keep & (np.arange(300) < 31)
    assert isinstance(adj._design(finishers, covariates, texts, few, is_pa[few], factored=True).X, np.ndarray)
    monkeypatch.setattr(adj, "MAX_CELLS", 31)
    assert isinstance(adj._design(finishers, covariates, texts, keep, is_pa[keep], factored=True).X, np.ndarray)


def test_finishers_text_codes_are_the_stripped_text_of_the_finishers_values() -> None:
    values = pd.Series([" a", "b", None, "a ", "", "c", "b", "  ", "a"], dtype="str")
    finished = np.array([True, True, True, True, True, False, True, True, True])
    text = adj._Finishers(pd.DataFrame({"x": values}), finished).text("x")
    expected = adj._text(values[finished])
    assert [text.levels[k] if k >= 0 else None for k in text.codes] == [
        expected.levels[k] if k >= 0 else None for k in expected.codes]


def test_level_totals_are_the_exact_sums() -> None:
    rng = np.random.default_rng(4)
    weights = rng.random(200_000) * rng.choice([1e-4, 1.0, 40.0], 200_000)
    codes = rng.integers(0, 9, 200_000)
    totals = adj._level_totals(codes, adj._split(weights), 9)
    assert list(totals) == [math.fsum(weights[codes == k]) for k in range(9)]  # correctly rounded


# --- the propensity model ----------------------------------------------------------------------


def test_newton_on_the_parts_is_statsmodels_logit() -> None:
    import statsmodels.api as sm

    episodes, flags = _data(6000, 5)
    finishers = adj._Finishers(episodes, flags["finished"].to_numpy(bool))
    is_pa = finishers.is_group(GROUP_PA)
    keep, texts, _ = adj._prepare(finishers, tuple(COVARIATES), is_pa, [])
    design = adj._design(finishers, tuple(COVARIATES), texts, keep, is_pa[keep], factored=True)
    treated = design.ordered(is_pa[keep])  # X's rows are in group order
    fit, reason = adj._fit_propensity(design.X, treated.astype(float))
    assert reason is None
    X = design.X.dense()
    result = sm.Logit(treated.astype(float), X).fit(disp=0, method="newton", maxiter=100)
    np.testing.assert_allclose(fit.params, result.params, rtol=1e-10, atol=1e-12)
    ps = result.predict(X)
    np.testing.assert_allclose(fit.ps, ps, rtol=1e-12)
    np.testing.assert_allclose(fit.j_gamma, -(X * (ps * (1 - ps))[:, None]).T @ X, rtol=1e-10)
    np.testing.assert_allclose(fit.meat, (X * ((treated - ps) ** 2)[:, None]).T @ X, rtol=1e-10)


def test_separation_and_collinear_characteristics_are_nulls_as_on_the_whole_design(monkeypatch) -> None:
    episodes, flags = _data(6000, 6)
    episodes["same_as_ltc"] = episodes["ltc"]  # an exact combination of another column
    episodes["choice"] = np.where(episodes["group"] == GROUP_PA, "chose", "did not")  # predicts the group
    for covariates in (["phq9_first", "ltc", "same_as_ltc"], ["phq9_first", "choice"]):
        parts = adj.adjust(episodes, flags, covariates=covariates, bootstrap_max_n=0)
        with monkeypatch.context() as patch:
            _whole(patch)
            whole = adj.adjust(episodes, flags, covariates=covariates, bootstrap_max_n=0)
        assert parts.reason == whole.reason and parts.reason is not None


# --- the outcome models and the sandwich --------------------------------------------------------


def test_att_pa_model_averaged_over_the_pa_group_is_the_pa_groups_mean() -> None:
    """Why the ATT's PA model is not fitted: least squares with an intercept, weight 1, averaged over the rows it
    was fitted on, is their mean (statsmodels' OLS as the independent fit)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(7)
    Z = sm.add_constant(np.column_stack([rng.normal(size=500), rng.random(500) < 0.3, rng.random(500) < 0.5]))
    y = rng.normal(size=500) + Z[:, 1]
    pa = rng.random(500) < 0.4
    fitted = sm.OLS(y[pa], Z[pa]).fit().predict(Z[pa])
    assert fitted.mean() == pytest.approx(y[pa].mean(), rel=1e-10)


@pytest.mark.parametrize("estimand", [adj.ESTIMAND_ATT, adj.ESTIMAND_ATO])
def test_structured_sandwich_equals_the_per_outcome_sandwich(estimand, monkeypatch) -> None:
    episodes, flags = _data(6000, 8)
    kwargs = dict(covariates=COVARIATES, estimand=estimand, bootstrap_max_n=0, measures=("phq9", "gad7"))
    parts = adj.adjust(episodes, flags, **kwargs)
    _whole(monkeypatch)
    whole = adj.adjust(episodes, flags, **kwargs)
    assert parts.available and "gad7" in parts.effects
    _same(parts, whole)


@pytest.mark.parametrize("estimand", [adj.ESTIMAND_ATT, adj.ESTIMAND_ATO])
def test_singular_outcome_model_equals_the_pseudo_inverse_of_before(estimand, monkeypatch) -> None:
    """The PA recovery model lacks a site: for the ATT the PA group's mean stands (it is what least squares and
    the pseudo-inverse give); for the ATO that outcome is fitted on the whole design, as before."""
    episodes, flags = _data(6000, 9, pa_never_at_caseness_in="West")
    kwargs = dict(covariates=COVARIATES, estimand=estimand, bootstrap_max_n=0, measures=("phq9",))
    parts = adj.adjust(episodes, flags, **kwargs)
    _whole(monkeypatch)
    whole = adj.adjust(episodes, flags, **kwargs)
    _same(parts, whole)


def test_trimmed_and_outcomes_without_people_agree_with_the_whole_design(monkeypatch) -> None:
    episodes, flags = _data(6000, 10)
    flags["at_caseness"] = flags["at_caseness"] & (episodes["group"] == GROUP_CONTROL).to_numpy()  # no PA in it
    kwargs = dict(covariates=COVARIATES, bootstrap_max_n=0, trim=0.2)
    parts = adj.adjust(episodes, flags, **kwargs)
    _whole(monkeypatch)
    whole = adj.adjust(episodes, flags, **kwargs)
    assert parts.effects["recovery"].difference.reason and parts.trim == 0.2
    _same(parts, whole)


def test_adjusted_started_beside_the_comparisons_is_the_same_summary() -> None:
    """analyse(..., adjusted=True) starts the adjusted analysis in its own thread: the same blocks."""
    from analysis.summary import analyse
    from analysis.validate import load_path

    episodes = load_path("data/sample/synthetic_programme_episodes.csv").episodes
    big = pd.concat([episodes.assign(participant_id=episodes["participant_id"] + f"-{i}") for i in range(70)],
                    ignore_index=True)  # above the size at which analyse() works in threads
    started = analyse(big, adjusted=True)
    assert started.adjustment is not None
    assert started.adjusted_blocks == analyse(big).adjusted_blocks
