"""Shared state: which data is shown, the filters, the measure and safe mode.

Privacy: an uploaded file lives only in this user's ``st.session_state`` (never on
disk, in a module global or in a cache shared between sessions). Only shared data (the
bundled synthetic sample; an operator's workshop data set) go through the process-wide
``shared_cache``, built once for every visitor. Analyses of an upload, and what is built
from them, are memoised in the session's own state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pandas as pd
import streamlit as st

from analysis.compare import available_measures, categorical_columns
from analysis.outcomes import with_derived_columns
from analysis.summary import Analysis, analyse
from dashboard import shared_cache

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "data" / "sample"
SAMPLE_FILES = {
    "sample_sessions": SAMPLE_DIR / "synthetic_pilot_sessions.csv",
    "sample_episodes": SAMPLE_DIR / "synthetic_pilot_episodes.csv",
}
SAMPLE_NAME = "Bundled synthetic sample (invented participants, calibrated to the Community Living Well pilot)"
UPLOAD_KEY = "upload_dataset"  # session_state key holding the user's Dataset
SOURCE_KEY = "data_source"
MEASURE_KEY = "measure"
SAFE_KEY = "safe"
FILTER_PREFIX = "f_"
_ANALYSIS_CACHE_KEY = "_analysis_memo"
_ANALYSIS_CACHE_SIZE = 8


@dataclass(frozen=True)
class Dataset:
    """A validated data set as the app uses it."""

    token: str  # identifies the content (sample key or the upload's hash)
    name: str
    is_sample: bool
    episodes: pd.DataFrame = field(repr=False)
    sessions: pd.DataFrame | None = field(default=None, repr=False)
    level: str = "episode"
    notes: tuple[str, ...] = ()
    excluded_rows: tuple[int, ...] = ()
    shared: bool = False  # the same for every visitor (sample, workshop data set): served from shared_cache


def _sample(key: str) -> tuple[pd.DataFrame, pd.DataFrame | None, str, tuple[str, ...]]:
    """The bundled sample, read and validated once per server process (read-only for every session)."""
    return shared_cache.get_or_build(("sample", key), lambda: _load_sample(key))


def _load_sample(key: str) -> tuple[pd.DataFrame, pd.DataFrame | None, str, tuple[str, ...]]:
    """The bundled synthetic sample (not patient data, so a shared cache is fine)."""
    from analysis.validate import load_path

    report = load_path(SAMPLE_FILES[key])
    if not report.usable:  # a broken bundle is a bug: say so plainly
        raise RuntimeError(f"The bundled sample {SAMPLE_FILES[key].name} failed validation: {report.problems[:3]}")
    return with_derived_columns(report.episodes), report.sessions, report.level or "episode", tuple(report.notes)


def sample_dataset(key: str = "sample_sessions") -> Dataset:
    episodes, sessions, level, notes = _sample(key)
    return Dataset(token=key, name=SAMPLE_NAME, is_sample=True, episodes=episodes, sessions=sessions,
                   level=level, notes=notes, shared=True)


def make_upload_dataset(name: str, content: bytes, report, excluded_rows: tuple[int, ...] = ()) -> Dataset:
    """Wrap a usable validation report of an upload as this session's Dataset."""
    token = "upload-" + hashlib.sha256(content).hexdigest()[:16] + (f"-x{len(excluded_rows)}" if excluded_rows else "")
    return Dataset(token=token, name=name, is_sample=False, episodes=with_derived_columns(report.episodes),
                   sessions=report.sessions, level=report.level or "episode", notes=tuple(report.notes),
                   excluded_rows=tuple(excluded_rows))


def current_dataset() -> Dataset:
    """The data every page shows: this session's upload when chosen, else the sample."""
    upload = st.session_state.get(UPLOAD_KEY)
    if upload is not None and st.session_state.get(SOURCE_KEY, "upload") == "upload":
        return upload
    return sample_dataset()


def use_upload(dataset: Dataset) -> None:
    st.session_state[UPLOAD_KEY] = dataset
    st.session_state[SOURCE_KEY] = "upload"
    st.session_state.pop(_ANALYSIS_CACHE_KEY, None)


def use_sample() -> None:
    st.session_state[SOURCE_KEY] = "sample"


def forget_upload() -> None:
    for key in (UPLOAD_KEY, _ANALYSIS_CACHE_KEY):
        st.session_state.pop(key, None)
    st.session_state[SOURCE_KEY] = "sample"


def filter_columns(dataset: Dataset) -> list[str]:
    """The subgroup columns of a data set, worked out once per data set (the sidebar, the filters
    and every page ask for them on each rerun; counting levels scans every text column)."""
    if dataset.shared:
        return list(shared_cache.get_or_build(("filter-columns", dataset.token),
                                              lambda: tuple(categorical_columns(dataset.episodes))))
    memo: dict = st.session_state.setdefault("_filter_columns_memo", {})
    if dataset.token not in memo:
        memo.clear()  # only the data set in use is kept
        memo[dataset.token] = categorical_columns(dataset.episodes)
    return list(memo[dataset.token])


def active_filters(dataset: Dataset) -> dict[str, tuple[str, ...]]:
    """{column: selected levels} for every filter with a selection (empty = everyone)."""
    out = {}
    for column in filter_columns(dataset):
        chosen = st.session_state.get(FILTER_PREFIX + column) or []
        if chosen:
            out[column] = tuple(sorted(str(v) for v in chosen))
    return out


def apply_filters(episodes: pd.DataFrame, filters: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    keep = pd.Series(True, index=episodes.index)
    for column, levels in filters.items():
        keep &= episodes[column].astype("string").isin(levels).fillna(False)
    return episodes[keep.to_numpy(dtype=bool)]


def filter_levels(dataset: Dataset, column: str) -> list[str]:
    """The levels a filter offers (sorted text), worked out once per data set and column."""
    def build() -> tuple[str, ...]:
        return tuple(sorted(dataset.episodes[column].dropna().astype(str).unique()))

    if dataset.shared:
        return list(shared_cache.get_or_build(("filter-levels", dataset.token, column), build))
    memo: dict = st.session_state.setdefault("_filter_levels_memo", {})
    if memo.get("token") != dataset.token:
        memo.clear()
        memo["token"] = dataset.token
    if column not in memo:
        memo[column] = build()
    return list(memo[column])


def dataset_measures(dataset: Dataset) -> list[str]:
    """``available_measures`` once per data set (the sidebar and every page ask on each rerun)."""
    if dataset.shared:
        return list(shared_cache.get_or_build(("measures", dataset.token),
                                              lambda: tuple(available_measures(dataset.episodes))))
    memo: dict = st.session_state.setdefault("_measures_memo", {})
    if dataset.token not in memo:
        memo.clear()
        memo[dataset.token] = tuple(available_measures(dataset.episodes))
    return list(memo[dataset.token])


def filtered_episodes(dataset: Dataset, filters: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """``apply_filters`` once per data set and filter (shared data: once for every visitor)."""
    frozen = tuple(sorted(filters.items()))
    if not filters:
        return dataset.episodes
    if dataset.shared:
        return shared_cache.get_or_build(("episodes", dataset.token, frozen),
                                         lambda: apply_filters(dataset.episodes, filters))
    memo: dict = st.session_state.setdefault("_filtered_memo", {})
    if memo.get("key") != (dataset.token, frozen):
        memo.clear()  # only the current view of the data in use is kept
        memo["key"], memo["episodes"] = (dataset.token, frozen), apply_filters(dataset.episodes, filters)
    return memo["episodes"]


def _shared_analysis(dataset: Dataset, filters: tuple[tuple[str, tuple[str, ...]], ...]) -> Analysis:
    """The analysis of shared data, once per data set and filter for every visitor (read-only)."""
    return shared_cache.get_or_build(("analysis", dataset.token, filters), lambda: analyse(
        filtered_episodes(dataset, dict(filters)), source=dataset.name, level=dataset.level, notes=dataset.notes))


def current_analysis(dataset: Dataset, filters: dict[str, tuple[str, ...]]) -> Analysis:
    """The analysis of the filtered data: shared cache for the sample, session memo for uploads."""
    frozen = tuple(sorted(filters.items()))
    if dataset.shared:
        return _shared_analysis(dataset, frozen)
    memo: dict = st.session_state.setdefault(_ANALYSIS_CACHE_KEY, {})
    key = (dataset.token, frozen)
    if key not in memo:
        if len(memo) >= _ANALYSIS_CACHE_SIZE:
            memo.pop(next(iter(memo)))
        episodes = apply_filters(dataset.episodes, filters)
        memo[key] = analyse(episodes, source=dataset.name, level=dataset.level, notes=dataset.notes)
    return memo[key]


@dataclass(frozen=True)
class Context:
    """What a page needs: the data, the filtered analysis and the shared controls."""

    dataset: Dataset
    filters: dict[str, tuple[str, ...]]
    episodes: pd.DataFrame = field(repr=False)
    analysis: Analysis = field(repr=False)
    measure: str
    measures: list[str]
    safe: bool


def context() -> Context:
    dataset = current_dataset()
    filters = active_filters(dataset)
    episodes = filtered_episodes(dataset, filters)
    analysis = current_analysis(dataset, filters)
    measures = dataset_measures(dataset)
    measure = st.session_state.get(MEASURE_KEY) or "phq9"
    if measure not in measures:
        measure = "phq9"
    return Context(dataset=dataset, filters=filters, episodes=episodes, analysis=analysis, measure=measure,
                   measures=measures, safe=bool(st.session_state.get(SAFE_KEY, False)))


_PAGE_MEMO_KEY = "_page_memo"
_PAGE_MEMO_SIZE = 48
_Built = TypeVar("_Built")


def session_memo(ctx: Context, key: tuple, build: Callable[[], _Built]) -> _Built:
    """Memoise something built from the current data (a figure, a table) in this session's state.

    Keyed by the data's token, the active filters and ``key`` (everything else the result
    depends on: the measure, safe mode, a page choice...). Per session, so it is safe for
    uploaded data (never shared, never on disk); bounded, oldest first out. Entries of an
    upload that is no longer this session's current one are dropped on every call, so
    forgetting or replacing an upload also forgets what was built from it. Saves the cost of
    rebuilding plotly figures (~10–30 ms each) on every rerun.
    """
    memo: dict = st.session_state.setdefault(_PAGE_MEMO_KEY, {})
    upload = st.session_state.get(UPLOAD_KEY)
    current_upload = upload.token if upload is not None else None
    for stale in [k for k in memo if str(k[0]).startswith("upload-") and k[0] != current_upload]:
        memo.pop(stale, None)
    full = (ctx.dataset.token, tuple(sorted(ctx.filters.items())), *key)
    if ctx.dataset.shared:  # the same for every visitor: built once in this server process
        return shared_cache.get_or_build(("page", *full), build)
    if full not in memo:
        if len(memo) >= _PAGE_MEMO_SIZE:
            memo.pop(next(iter(memo)))
        memo[full] = build()
    return memo[full]
