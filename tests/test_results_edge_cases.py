"""Issue 12's seven defects, each checked against an independent computation or the written rule."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from analysis.compare import (
    MANN_WHITNEY_EXACT_MAX_N,
    ancova,
    compare_measure,
    mann_whitney,
    odds_ratio,
    permutation_test,
    relative_risk,
)
from analysis.disclosure import SUPPRESS_BELOW, make_summary_safe
from analysis.outcomes import CATEGORY_PRECEDENCE, OUTCOME_CATEGORIES, participant_outcomes
from analysis.results import COUNT, summary_figures
from analysis.schema import GAD7, GROUPS, PHQ9
from analysis.summary import analyse


def unexplained_nulls(obj) -> int:
    """The checker of /work/shared/hooks/before-stop: a null figure needs a sibling "reason"."""
    n = 0
    if isinstance(obj, dict):
        has_reason = bool(obj.get("reason"))
        for key, value in obj.items():
            if value is None and key not in ("reason", "note", "method") and not has_reason:
                n += 1
            n += unexplained_nulls(value)
    elif isinstance(obj, list):
        n += sum(unexplained_nulls(v) for v in obj)
    return n


# --- 1. outcome categories follow the written precedence, never the order of assignments -----------


def _episodes(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame({
        "participant_id": [f"p{i}" for i in range(len(rows))],
        "group": ["physical_activity" if i % 2 else "control" for i in range(len(rows))],
        "phq9_first": [r[0] for r in rows], "phq9_last": [r[1] for r in rows],
        "gad7_first": [r[2] for r in rows], "gad7_last": [r[3] for r in rows]})


def test_deteriorated_and_recovered_finisher_is_shown_as_deteriorated():
    # The case: PHQ-9 10 -> 9 (recovered on PHQ-9), GAD-7 2 -> 7 (a rise of 5 >= RC 4).
    flags = participant_outcomes(_episodes([(10, 9, 2, 7)]))
    row = flags.iloc[0]
    assert row["recovered"] and row["reliable_deterioration"]  # the flags the rates count
    assert row["outcome_category"] == "Reliable deterioration"


def _expected(row: pd.Series) -> str:
    """The design doc's precedence, written out independently of the code under test."""
    if not row["paired"]:
        return "Not paired (no end scores)"
    if row["reliable_deterioration"]:
        return "Reliable deterioration"
    if row["reliable_recovery"]:
        return "Reliable recovery"
    if row["recovered"]:
        return "Recovered, not reliably improved"
    if row["reliable_improvement"]:
        return "Reliable improvement, not recovered"
    return "No reliable change"


def test_categories_against_the_flags_on_every_edge_combination():
    # Scores either side of each cut-off and of each reliable-change threshold, plus blanks.
    phq = [0.0, PHQ9.caseness - 1, PHQ9.caseness, PHQ9.caseness + PHQ9.reliable_change - 1,
           PHQ9.caseness + PHQ9.reliable_change, 27.0]
    gad = [0.0, GAD7.caseness - GAD7.reliable_change, GAD7.caseness - 1, GAD7.caseness,
           GAD7.caseness + GAD7.reliable_change, 21.0]
    rows = [(a, b, c, d) for a, b in itertools.product(phq, phq) for c, d in itertools.product(gad, gad)]
    rows += [(15.0, math.nan, 10.0, 5.0), (15.0, 5.0, 10.0, math.nan)]
    flags = participant_outcomes(_episodes(rows))
    expected = flags.apply(_expected, axis=1)
    assert (flags["outcome_category"] == expected).all()
    # Every combination of flags that can occur is met, including recovered-and-deteriorated.
    combos = flags[["recovered", "reliable_improvement", "reliable_deterioration"]].drop_duplicates()
    assert len(combos) >= 5
    assert (flags["recovered"] & flags["reliable_deterioration"]).any()
    # The category counts agree with the rates' flags where the categories are the flags.
    assert (flags["outcome_category"] == "Reliable deterioration").sum() == flags["reliable_deterioration"].sum()
    assert (flags["outcome_category"] == "Reliable recovery").sum() == (
        flags["reliable_recovery"] & ~flags["reliable_deterioration"]).sum()
    assert set(flags["outcome_category"]) <= set(OUTCOME_CATEGORIES)
    assert [label for _, label in CATEGORY_PRECEDENCE][:2] == ["Not paired (no end scores)", "Reliable deterioration"]


# --- 2. safe mode decides by kind: a parameter is never rounded, every count is ---------------------


def test_safe_mode_keeps_parameters_and_rounds_every_count(sample_analysis):
    safe = make_summary_safe(sample_analysis.to_dict())
    permutation = safe["measures"]["phq9"]["permutation"]
    assert permutation["n_resamples"] == 9999 and permutation["seed"] == 20240817
    assert safe["measures"]["phq9"]["mcid"]["threshold"] == sample_analysis.to_dict()["measures"]["phq9"]["mcid"][
        "threshold"]
    rows, _ = summary_figures(safe, GROUPS)
    counts = [r.value for r in rows if r.kind == COUNT and r.value is not None]
    assert counts and all(v >= SUPPRESS_BELOW and v % 5 == 0 for v in counts)


def test_safe_mode_hides_a_share_resting_on_a_small_count_wherever_it_is():
    # An MCID share of 4 people was shown before (only the key names 'count'/'n_*' were looked at).
    summary = {"measures": {"phq9": {
        "physical_activity": {"n": 19, "mean_change": -5.0}, "control": {"n": 19, "mean_change": -3.0},
        "mcid": {"threshold": 5, "physical_activity": {"count": 11, "denominator": 19, "rate": 0.58, "ci95": [0.3, 0.7]},
                 "control": {"count": 4, "denominator": 19, "rate": 0.21, "ci95": [0.08, 0.43]},
                 "difference": {"estimate": 0.37, "ci95": [0.06, 0.6]}, "fisher_p": 0.04}}}}
    mcid = make_summary_safe(summary)["measures"]["phq9"]["mcid"]
    assert mcid["control"]["rate"] is None and mcid["control"]["count"] is None
    assert mcid["difference"]["estimate"] is None and mcid["fisher_p"] is None
    assert mcid["threshold"] == 5
    assert unexplained_nulls(mcid) == 0


def test_unknown_top_level_block_is_withheld_unless_it_declares_its_rule():
    from analysis import disclosure

    summary = {"participants": {"physical_activity": 19, "control": 14}, "sites": {"per_site": [{"n": 3}]}}
    saved = dict(disclosure.SAFE_BLOCKS)
    disclosure.SAFE_BLOCKS.pop("sites", None)
    try:
        assert make_summary_safe(summary)["sites"] == {"reason": disclosure.UNDECLARED_REASON}
        disclosure.register_safe_block("sites", lambda block: {"n_sites": block and 1})  # one-parameter form
        assert make_summary_safe(summary)["sites"] == {"n_sites": 1}
    finally:  # other modules' rules (bayes, value_for_money...) stay as they were
        disclosure.SAFE_BLOCKS.clear()
        disclosure.SAFE_BLOCKS.update(saved)


# --- 3. every null carries its reason, in the JSON and the text ---------------------------------------


def _tiny() -> pd.DataFrame:
    # 3 vs 1 finishers, identical changes in one group: most comparisons are null.
    return _episodes([(15, 9, 12, 6), (15, 9, 12, 6), (15, 9, 12, 6), (12, 12, 9, 9)]).assign(
        group=["physical_activity"] * 3 + ["control"])


@pytest.mark.parametrize("safe", [False, True])
def test_every_null_in_the_json_has_a_reason(sample_analysis, safe):
    for analysis in (sample_analysis, analyse(_tiny(), source="tiny.csv")):
        summary = analysis.to_dict()
        if safe:
            summary = make_summary_safe(summary)
        json.dumps(summary, allow_nan=False)
        assert unexplained_nulls(summary) == 0


def test_text_report_prints_the_reasons():
    text = analyse(_tiny(), source="tiny.csv").to_text()
    assert "Needs at least 2 participants" in text
    assert "not available (95% CI not available)\n" not in text


# --- 4. a perfect fit is not a p value --------------------------------------------------------------


def test_ancova_on_identical_changes_is_null_with_the_perfect_fit_reason():
    first = np.array([10.0, 12, 14, 16, 11, 13, 15, 17])
    is_pa = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    e = ancova(first, first - 3, is_pa)
    assert e.estimate is None and e.p is None
    assert "exactly" in e.reason and "1e-10" in e.reason


def test_perfect_fit_through_compare_measure():
    rows = [(f, f - 4, 10, 5) for f in (12.0, 14, 16, 18, 13, 15, 17, 19)]
    frame = _episodes(rows)
    comparison = compare_measure(frame, "phq9")
    assert comparison.ancova.estimate is None and "exactly" in comparison.ancova.reason


# --- 5. relative risk at 0% and 100% ---------------------------------------------------------------


def test_relative_risk_100_vs_100_has_an_interval_of_width():
    e = relative_risk(19, 19, 14, 14)
    assert e.estimate == pytest.approx(1.0)
    low, high = e.ci95
    assert low < 1 < high and high - low > 0.2
    assert "MOVER" in e.method


def test_relative_risk_1_of_1_keeps_the_pa_groups_uncertainty():
    # 1 of 1 has a Wilson interval from 21% to 100%; against 5 of 10 the ratio may be well below 1.
    e = relative_risk(1, 1, 5, 10)
    low, high = e.ci95
    wilson_low = stats.binomtest(1, 1).proportion_ci(method="wilson").low
    assert wilson_low == pytest.approx(0.2065, abs=1e-4)
    assert low < 1 and low < wilson_low / 0.5 and high > 2


def test_relative_risk_without_control_events_is_null_with_reason():
    e = relative_risk(3, 10, 0, 10)
    assert e.estimate is None and "control" in e.reason


def test_relative_risk_inside_the_boundaries_is_still_katz():
    e = relative_risk(12, 19, 5, 14)
    se = math.sqrt(1 / 12 - 1 / 19 + 1 / 5 - 1 / 14)
    rr = (12 / 19) / (5 / 14)
    assert e.ci95 == pytest.approx((rr * math.exp(-1.96 * se), rr * math.exp(1.96 * se)), rel=1e-3)


# --- 6. Mann–Whitney at pilot sizes with ties -------------------------------------------------------


def _exact_u_p(pa: np.ndarray, control: np.ndarray) -> float:
    """Two-sided p from enumerating every split of the pooled data (independent of scipy)."""
    pooled = np.concatenate([pa, control])
    ranks = stats.rankdata(pooled)
    n1 = len(pa)
    observed = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    centre = n1 * len(control) / 2
    extreme = total = 0
    for chosen in itertools.combinations(range(len(pooled)), n1):
        u = ranks[list(chosen)].sum() - n1 * (n1 + 1) / 2
        total += 1
        extreme += abs(u - centre) >= abs(observed - centre) - 1e-9
    return extreme / total


def test_mann_whitney_small_tied_samples_use_the_exact_distribution():
    pa, control = np.array([1.0, 1, 3]), np.array([4.0, 5, 5])  # completely separated, with ties
    e = mann_whitney(pa, control)
    assert e.p == pytest.approx(_exact_u_p(pa, control)) and e.p == pytest.approx(0.1)
    assert "exact" in e.method
    assert permutation_test(pa, control).p == pytest.approx(0.1)
    assert len(pa) <= MANN_WHITNEY_EXACT_MAX_N


def test_mann_whitney_larger_samples_keep_scipys_default():
    rng = np.random.default_rng(3)
    pa, control = rng.integers(-8, 3, 19).astype(float), rng.integers(-6, 4, 19).astype(float)
    e = mann_whitney(pa, control)
    assert e.p == pytest.approx(stats.mannwhitneyu(pa, control, alternative="two-sided").pvalue)
    assert "exact" not in e.method


# --- 7. exact conditional odds ratio with a zero cell, as R's fisher.test ---------------------------


def _exact_upper_bound(a: int, b: int, c: int, d: int) -> float:
    """Upper 95% bound of the conditional OR: P(X <= a; psi) = 0.025 under Fisher's noncentral
    hypergeometric distribution (Cornfield 1956), solved directly."""
    total, row1, col1 = a + b + c + d, a + b, a + c
    return optimize.brentq(
        lambda psi: stats.nchypergeom_fisher(total, col1, row1, psi).cdf(a) - 0.025, 1e-8, 1e6)


def test_odds_ratio_zero_cell_is_zero_with_the_exact_upper_bound():
    o = odds_ratio(0, 10, 5, 10)
    assert o.estimate == 0.0
    assert o.ci95[0] == 0.0
    assert o.ci95[1] == pytest.approx(_exact_upper_bound(0, 10, 5, 5), rel=1e-4)


def test_odds_ratio_infinite_is_null_with_reason():
    o = odds_ratio(10, 10, 5, 10)
    assert o.estimate is None and "infinite" in o.reason


def test_odds_ratio_zero_cell_above_the_exact_limit_is_null_with_reason():
    o = odds_ratio(0, 600, 5, 600)
    assert o.estimate is None and "zero" in o.reason


def test_methods_page_rules_state_the_precedence_and_the_session_rule_from_the_code():
    from analysis.dictionary import flag_rules
    from analysis.outcomes import SESSION_REDUCTION_RULE

    rules = dict(flag_rules())
    category = next(rule for name, rule in rules.items() if name.startswith("Outcome category"))
    positions = [category.index(label) for _, label in CATEGORY_PRECEDENCE]
    assert positions == sorted(positions)
    assert rules["Session-level files"] == SESSION_REDUCTION_RULE


def test_results_table_is_one_typed_row_per_figure(sample_analysis):
    table = sample_analysis.results_table()
    assert list(table.columns) == ["section", "item", "part", "detail", "key", "value", "kind", "basis", "reason"]
    row = table[(table["item"] == "recovery") & (table["part"] == "difference") & (table["key"] == "estimate")]
    assert row["kind"].item() == "estimate" and row["value"].item() == pytest.approx(12 / 19 - 5 / 14)
    assert row["basis"].item() == (12, 19, 5, 14)
    kinds = table.set_index(["item", "part", "key"])["kind"]
    assert kinds[("phq9", "permutation", "n_resamples")] == "parameter"
    assert kinds[("phq9", "physical_activity", "n")] == "count"
    assert kinds[("recovery", "physical_activity", "rate")] == "proportion"
    assert kinds[("phq9", "ancova", "p")] == "p value"
    # Safe mode is the same table with the rule applied by kind, once.
    safe = sample_analysis.results_table(safe=True).set_index(["item", "part", "key"])["value"]
    assert safe[("phq9", "permutation", "n_resamples")] == 9999
    assert safe[("recovery", "control", "count")] == 5 and safe[("recovery", "physical_activity", "count")] == 10
    assert safe[("reliable_deterioration", "difference", "estimate")] is None


def test_json_names_the_method_behind_the_relative_risk(sample_analysis):
    summary = sample_analysis.to_dict()
    assert "Katz" in summary["rates"]["recovery"]["relative_risk"]["method"]
    assert "MOVER" in summary["rates"]["reliable_deterioration"]["relative_risk"]["method"]  # 0 events in PA


def test_a_new_block_declares_its_kinds_with_safe_by_kind():
    from analysis import disclosure
    from analysis.disclosure import rate_basis, register_safe_block, safe_by_kind
    from analysis.results import COUNT, ESTIMATE, PARAMETER, PROPORTION

    summary = {"rates": {
        "recovery": {"physical_activity": {"count": 12, "denominator": 19}, "control": {"count": 5, "denominator": 14}},
        "reliable_deterioration": {"physical_activity": {"count": 0, "denominator": 19},
                                   "control": {"count": 2, "denominator": 19}}},
        "bayes": {"recovery": {"vague": {"p_benefit": 0.96, "p_benefit_mid": 0.9, "mid": 0.05}},
                  "reliable_deterioration": {"vague": {"p_benefit": 0.8, "p_benefit_mid": 0.6, "mid": 0.05}}},
        "sites": {"per_site": [{"site": "A", "n": 7, "estimate": 0.2}, {"site": "B", "n": 3, "estimate": 0.1}]}}
    saved = dict(disclosure.SAFE_BLOCKS)
    register_safe_block("bayes", lambda block, s: safe_by_kind(
        block, lambda path, key: PARAMETER if key == "mid" else PROPORTION, lambda path: rate_basis(s, path[0])))
    register_safe_block("sites", lambda block, s: safe_by_kind(
        block, lambda path, key: COUNT if key == "n" else ESTIMATE,
        lambda path: (block["per_site"][int(path[1])]["n"],) if len(path) > 1 else ()))
    try:
        safe = make_summary_safe(summary)
    finally:  # the real rules registered by analysis.bayes and others come back
        disclosure.SAFE_BLOCKS.clear()
        disclosure.SAFE_BLOCKS.update(saved)
    assert safe["bayes"]["recovery"]["vague"] == {"p_benefit": 0.96, "p_benefit_mid": 0.9, "mid": 0.05}
    hidden = safe["bayes"]["reliable_deterioration"]["vague"]
    assert hidden["p_benefit"] is None and hidden["mid"] == 0.05 and hidden["reason"]
    assert safe["sites"]["per_site"][0] == {"site": "A", "n": 5, "estimate": 0.2}
    assert safe["sites"]["per_site"][1]["n"] is None and safe["sites"]["per_site"][1]["estimate"] is None
    assert unexplained_nulls(safe) == 0
