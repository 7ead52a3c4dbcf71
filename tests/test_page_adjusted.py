"""The "Accounting for who took part" page in Streamlit's AppTest: default covariates, the verdict, charts with
takeaways, E-values, separation as a reason, trimming, overlap weights, safe mode and an empty group."""

from __future__ import annotations

import pytest

from analysis.adjusted import CANNOT_FIX, adjust, adjusted_verdict, default_covariates
from analysis.figures import adjusted as fa
from dashboard.ui import md_escape
from tests.apptest_support import open_page, page_text

PAGE = "pages/adjusted.py"


@pytest.fixture(scope="module")
def sample(app_sample):
    return app_sample


def _open(**state):
    return open_page(PAGE, state, from_home=False)


def test_default_view_shows_verdict_charts_e_values_and_limits(sample):
    episodes, analysis = sample
    at = _open()
    assert at.title[0].value == "Accounting for who took part"
    covariates = default_covariates(episodes, analysis.flags)
    assert at.multiselect(key="adj_covariates").value == covariates
    result = adjust(episodes, analysis.flags, covariates=covariates)
    text = page_text(at)
    verdict = adjusted_verdict(result, analysis.rates["recovery"].difference.estimate)
    assert "#### " + md_escape(verdict) in [m.value for m in at.markdown]
    rows = fa.comparison_rows(analysis, result)
    assert md_escape(fa.effects_takeaway(rows, "rate")).replace("\\", "") in text
    assert md_escape(fa.love_takeaway(fa.balance_rows(result), result)).replace("\\", "") in text
    assert fa.e_value_text(rows, "recovery") in text
    assert "sensitivity analysis" in text  # 38 people: labelled, with the n that would make it primary
    assert all(line in text for line in CANNOT_FIX)
    effects = [*at.table, *at.dataframe][0].value
    recovery = effects[effects["Outcome"] == "Recovery"]
    assert list(recovery["Analysis"]) == ["Unadjusted", "Adjusted"]
    assert at.metric[0].value == "19" and at.metric[1].value == "19"


def test_too_many_covariates_is_a_reason_not_a_crash(sample):
    episodes, analysis = sample
    everything = ["phq9_first", "gad7_first", "wsas_first", "age_band", "gender", "ethnicity", "problem_descriptor",
                  "ltc"]
    at = _open(adj_covariates=everything)
    result = adjust(episodes, analysis.flags, covariates=everything)
    text = page_text(at)
    if result.available:  # the pooled levels may still fit: then the page shows the analysis
        assert "Unadjusted and adjusted, side by side" in [s.value for s in at.subheader]
    else:
        assert result.reason.replace("\\", "") in text
    assert any("Asian or Asian British" in t.value for t in at.text)  # the one-group level, as plain text


def test_no_covariates_says_why():
    at = _open(adj_covariates=[])
    assert "nothing to adjust" in page_text(at)


def test_trimming_and_overlap_weights_say_the_estimand(sample):
    at = _open(adj_trim=0.1)
    assert "estimand changed" in page_text(at) or "Every participant has a propensity score" in page_text(at)
    at = _open(adj_estimand="ATO")
    assert "overlap weights" in page_text(at).lower()


def test_safe_mode_rounds_counts(sample):
    at = _open(safe=True)
    assert at.metric[0].value == "20" and at.metric[1].value == "20"


def test_filter_to_one_group_says_nothing_to_adjust(sample):
    at = _open(f_ethnicity=["Asian or Asian British"])
    assert "nothing to adjust" in page_text(at)


def test_rerun_uses_the_session_memo(sample, monkeypatch):
    at = _open()
    import analysis.adjusted as module

    calls = []
    monkeypatch.setattr(module, "_adjust", lambda *a, **k: calls.append(1))
    at.run()
    assert not calls  # the rerun drew from this session's memo, with no new analysis
    assert at.title[0].value == "Accounting for who took part"


def test_methods_page_describes_the_adjusted_analysis_from_the_constants():
    from analysis.adjusted import BOOTSTRAP_RESAMPLES, methods_lines

    at = open_page("pages/methods.py", {}, from_home=False)
    text = "\n".join(m.value for m in at.markdown)
    assert "Adjusting for who chose physical activity" in [s.value for s in at.subheader]
    assert all(f"- {line}" in text for line in methods_lines())
    assert f"{BOOTSTRAP_RESAMPLES:,} resamples" in text
