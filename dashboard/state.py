"""Shared state: which data is shown, the filters, the measure and safe mode.

Privacy: an uploaded file lives only in this user's ``st.session_state`` (never on
disk, in a module global or in a cache shared between sessions). Only shared data (the
bundled synthetic sample; an operator's workshop data set) go through the process-wide
``shared_cache``, built once for every visitor. Analyses of an upload, and what is built
from them, are memoised in the session's own state.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pandas as pd
import streamlit as st

from analysis.compare import categorical_columns, comparable_measures
from analysis.outcomes import with_derived_columns
from analysis.summary import Analysis, analyse
from dashboard import entry, operator_settings, shared_cache

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT / "data" / "sample"
SAMPLE_FILES = {
    "sample_sessions": SAMPLE_DIR / "synthetic_pilot_sessions.csv",
    "sample_episodes": SAMPLE_DIR / "synthetic_pilot_episodes.csv",
    "sample_programme": SAMPLE_DIR / "synthetic_programme_episodes.csv",
}
SAMPLE_NAME = "Bundled synthetic sample (invented participants, calibrated to the Community Living Well pilot)"
SAMPLE_NAMES = {"sample_programme": "Bundled synthetic programme (six invented sites, invented participants)"}
# The sidebar's choice of bundled sample (URL ?sample=Programme): shown label -> SAMPLE_FILES key.
SAMPLE_KEY = "sample"
SAMPLE_CHOICES = {"Pilot": "sample_sessions", "Programme": "sample_programme"}
SAMPLE_CAPTIONS = {"Pilot": "One pilot: 38 people, calibrated to Community Living Well",
                   "Programme": "Six sites pooled, one an outlier (Sites page)"}
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


def sample_dataset(key: str | None = None) -> Dataset:
    """A bundled sample: ``key`` of :data:`SAMPLE_FILES`, or (None) the one chosen in the sidebar."""
    if key is None:
        key = SAMPLE_CHOICES.get(str(st.session_state.get(SAMPLE_KEY) or "Pilot"), "sample_sessions")
    episodes, sessions, level, notes = _sample(key)
    return Dataset(token=key, name=SAMPLE_NAMES.get(key, SAMPLE_NAME), is_sample=True, episodes=episodes,
                   sessions=sessions, level=level, notes=notes, shared=True)


def make_upload_dataset(name: str, content: bytes, report, excluded_rows: tuple[int, ...] = ()) -> Dataset:
    """Wrap a usable validation report of an upload as this session's Dataset."""
    token = "upload-" + hashlib.sha256(content).hexdigest()[:16] + (f"-x{len(excluded_rows)}" if excluded_rows else "")
    return Dataset(token=token, name=name, is_sample=False, episodes=with_derived_columns(report.episodes),
                   sessions=report.sessions, level=report.level or "episode", notes=tuple(report.notes),
                   excluded_rows=tuple(excluded_rows))


def current_dataset() -> Dataset:
    """The data every page shows: this session's upload when chosen, else the shared data set
    (the operator's workshop data set when one is configured, else the sample)."""
    upload = st.session_state.get(UPLOAD_KEY)
    if upload is not None and st.session_state.get(SOURCE_KEY, "upload") == "upload":
        return upload
    return shared_dataset()


# --- an operator's workshop data set (issue 17) ------------------------------------------------------------
# One file on the server, named in .streamlit/secrets.toml (workshop_data = "/path/file.csv") or the
# WORKSHOP_DATA environment variable: read and validated once per server process, shared read-only by every
# session (shared_cache), shown with presentation-safe numbers forced on. An analyst who enters
# analyst_passcode (secrets.toml) may turn them off in their own session. The file itself is never sent,
# shown by name, logged or written anywhere; its problems are never shown (they quote its values).

WORKSHOP_SECRET = "workshop_data"
WORKSHOP_ENV = "WORKSHOP_DATA"
WORKSHOP_NAME = "Workshop data set (shared by the organiser)"
ANALYST_SECRET = "analyst_passcode"
ANALYST_KEY = "_analyst_unlocked"


def _secret(name: str) -> str | None:
    value = operator_settings.secret(name)  # read once per run (dashboard/operator_settings.py)
    return str(value) if value else None


# --- page layout: every section one after another ("page"), or one section at a time ("sections")
# "sections" draws a page's sections as tabs and only the open one (Streamlit's tabs with ``.open``): a page
# then sends about half the elements, which a room of 50 opening it at the same moment notices (README,
# "Running a workshop"). The operator sets the room's default; a visitor's ``?layout=`` link wins for their
# session.
LAYOUT_PARAM = "layout"
LAYOUT_SECRET = "page_layout"
LAYOUT_ENV = "PAGE_LAYOUT"
LAYOUT_PAGE, LAYOUT_SECTIONS = "page", "sections"
LAYOUTS = (LAYOUT_PAGE, LAYOUT_SECTIONS)
_LAYOUT_KEY = "_layout"  # session_state: the layout a ?layout= link chose for this session


def default_layout() -> str:
    """The operator's layout for everyone (environment variable, then secrets.toml); "page" when unset or unknown."""
    value = (os.environ.get(LAYOUT_ENV, "").strip() or (_secret(LAYOUT_SECRET) or "").strip()).lower()
    return value if value in LAYOUTS else LAYOUT_PAGE


def layout() -> str:
    """This session's page layout: a ``?layout=page|sections`` link (remembered for the session), else the
    operator's default. The URL keeps saying it while it differs from the default, so a link can be shared.
    Worked out once per run (the sidebar, each page's sections and each table ask)."""
    return entry.once_per_run("layout", _resolve_layout)


def _resolve_layout() -> str:
    given = str(st.query_params.get(LAYOUT_PARAM, ""))
    wanted = given.strip().lower()
    if wanted in LAYOUTS:
        st.session_state[_LAYOUT_KEY] = wanted
    default = default_layout()
    chosen = st.session_state.get(_LAYOUT_KEY) or default
    if chosen != default:
        if given != chosen:  # written only when it differs (each write is a message to the browser)
            st.query_params[LAYOUT_PARAM] = chosen
    elif LAYOUT_PARAM in st.query_params:
        del st.query_params[LAYOUT_PARAM]
    return chosen


def workshop_path() -> Path | None:
    """The configured workshop data file (the environment variable wins), or None."""
    value = os.environ.get(WORKSHOP_ENV, "").strip() or (_secret(WORKSHOP_SECRET) or "").strip()
    return Path(value).expanduser() if value else None


def _load_workshop(path: Path) -> Dataset | str:
    """The workshop Dataset, or the reason it cannot be used (never quoting the file's content)."""
    from analysis.validate import load_path

    if not path.is_file():
        return "the file named by the organiser does not exist on the server"
    report = load_path(path)
    if not report.usable:
        return (f"it did not pass validation ({len(report.problems):,} problem(s)); the organiser can list them "
                "on the server with `python -m analysis validate FILE`")
    digest = hashlib.sha256(f"{path.resolve()}|{path.stat().st_mtime_ns}|{path.stat().st_size}".encode()).hexdigest()
    return Dataset(token="workshop-" + digest[:16], name=WORKSHOP_NAME, is_sample=False,
                   episodes=with_derived_columns(report.episodes), sessions=report.sessions,
                   level=report.level or "episode", notes=tuple(report.notes), shared=True)


def workshop_status() -> Dataset | str | None:
    """The workshop Dataset, the reason it cannot be used, or None when none is configured.

    Loaded once per server process and file version (a replaced file is read again)."""
    path = workshop_path()
    if path is None:
        return None
    try:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = None
    return shared_cache.get_or_build(("workshop", str(path), version), lambda: _load_workshop(path))


def workshop_dataset() -> Dataset | None:
    status = workshop_status()
    return status if isinstance(status, Dataset) else None


def shared_dataset() -> Dataset:
    """What a session shows without an upload: the workshop data set when usable, else the sample."""
    return workshop_dataset() or sample_dataset()


def is_workshop(dataset: Dataset) -> bool:
    return dataset.shared and dataset.token.startswith("workshop-")


WORKSHOP_WORDS = "the workshop data set"


def shared_data_words(sample_words: str = "the bundled synthetic sample") -> str:
    """What every page shows without an upload, as a sentence names it: :data:`WORKSHOP_WORDS` when the
    organiser serves a usable workshop data set (never its file's name or path), else ``sample_words``."""
    return WORKSHOP_WORDS if workshop_dataset() is not None else sample_words


def analyst_unlocked() -> bool:
    return bool(st.session_state.get(ANALYST_KEY))


def unlock_analyst(given: str) -> bool:
    """True (and this session unlocked) when ``given`` is the configured analyst passcode."""
    from dashboard.access import passcode_matches

    expected = _secret(ANALYST_SECRET)
    if expected is None or not passcode_matches(given, expected):
        return False
    st.session_state[ANALYST_KEY] = True
    return True


def safe_forced(dataset: Dataset) -> bool:
    """Presentation-safe numbers are forced on for the workshop data set, unless this session's analyst unlocked."""
    return is_workshop(dataset) and not analyst_unlocked()


def use_upload(dataset: Dataset) -> None:
    st.session_state[UPLOAD_KEY] = dataset
    st.session_state[SOURCE_KEY] = "upload"
    st.session_state.pop(_ANALYSIS_CACHE_KEY, None)
    _restore_view(dataset)


def use_sample() -> None:
    st.session_state[SOURCE_KEY] = "sample"


# --- an upload lost to a refresh or a link -----------------------------------------------------
# An upload lives only in the session that received it (privacy: never on disk), and refreshing the
# page or opening a link starts a new session. The URL says ``data=upload`` while an upload is shown,
# so a new session can tell the user their file is gone instead of silently showing the sample, and
# keep their place: the page is in the path; the filters and measure of the link are set again when
# the file is uploaded again.
SOURCE_PARAM = "data"
_UPLOAD_IN_URL = "upload"
_LOST_KEY = "_upload_lost"  # session_state: the URL named an upload this session does not have
_PENDING_VIEW_KEY = "_pending_view"  # session_state: {url key: values} of filters/measure to set again


def track_upload_in_url() -> None:
    """Keep ``data=upload`` in the URL while the upload is shown; notice when a new session lacks it.

    Call once per run before the filter widgets are drawn (they drop values the sample does not have).
    """
    has_upload = st.session_state.get(UPLOAD_KEY) is not None
    showing = has_upload and st.session_state.get(SOURCE_KEY, "upload") == "upload"
    named = str(st.query_params.get(SOURCE_PARAM, "")) == _UPLOAD_IN_URL
    if showing:
        st.query_params[SOURCE_PARAM] = _UPLOAD_IN_URL
    elif named and has_upload:
        del st.query_params[SOURCE_PARAM]  # the user chose the sample
    elif named and _LOST_KEY not in st.session_state:
        st.session_state[_LOST_KEY] = True
        st.session_state[_PENDING_VIEW_KEY] = {key: st.query_params.get_all(key) for key in st.query_params
                                               if key.startswith(FILTER_PREFIX) or key == MEASURE_KEY}


def upload_lost() -> bool:
    """True when the page's address says an upload was shown but this session has none (refresh, link)."""
    return bool(st.session_state.get(_LOST_KEY)) and st.session_state.get(UPLOAD_KEY) is None


def continue_with_sample() -> None:
    """Callback: stop saying the upload is missing (the user carries on with the sample)."""
    st.session_state[_LOST_KEY] = False
    st.session_state.pop(_PENDING_VIEW_KEY, None)
    if SOURCE_PARAM in st.query_params:
        del st.query_params[SOURCE_PARAM]


def _restore_view(dataset: Dataset) -> None:
    """After an upload lost to a refresh is uploaded again: the link's filters and measure, where they fit."""
    pending = st.session_state.pop(_PENDING_VIEW_KEY, None)
    st.session_state[_LOST_KEY] = False
    if not pending:
        return
    levels = {column: set(values) for column, values in _levels_of(dataset).items()}
    for key, values in pending.items():
        if key == MEASURE_KEY:
            wanted = str(values[-1]).strip().lower() if values else ""
            st.session_state[MEASURE_KEY] = next((k for k in comparable_measures(dataset.episodes)
                                                  if wanted == k.lower()), "phq9")
            continue
        column = key[len(FILTER_PREFIX):]
        chosen = [v for v in values if v in levels.get(column, ())]
        if chosen:
            st.session_state[key] = chosen


def _levels_of(dataset: Dataset) -> dict[str, list[str]]:
    return {column: sorted(dataset.episodes[column].dropna().astype(str).unique())
            for column in categorical_columns(dataset.episodes)}


def forget_upload() -> None:
    for key in (UPLOAD_KEY, _ANALYSIS_CACHE_KEY):
        st.session_state.pop(key, None)
    st.session_state[SOURCE_KEY] = "sample"
    continue_with_sample()  # forgotten on purpose: not "lost"


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
    """{column: selected levels} for every filter with a selection (empty = everyone).

    A filter that selects every level keeps everyone, so it is not active (no "Filter active" banner).
    """
    out = {}
    for column in filter_columns(dataset):
        chosen = st.session_state.get(FILTER_PREFIX + column) or []
        if chosen and set(map(str, chosen)) != set(filter_levels(dataset, column)):
            out[column] = tuple(sorted(str(v) for v in chosen))
    return out


def filters_in_url(dataset: Dataset) -> bool:
    """Whether the page's address asks for a filter of this data set (a shared link), before the
    filter widgets have read it."""
    columns = set(filter_columns(dataset))
    return any(key.startswith(FILTER_PREFIX) and key[len(FILTER_PREFIX):] in columns
               and any(str(v).strip() for v in st.query_params.get_all(key)) for key in st.query_params)


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
    """The outcome measures offered for this data set, worked out once per data set: those both
    groups can be compared on (:func:`analysis.compare.comparable_measures`); shared data: once for everyone."""
    if dataset.shared:
        return list(shared_cache.get_or_build(("measures", dataset.token),
                                              lambda: tuple(comparable_measures(dataset.episodes))))
    memo: dict = st.session_state.setdefault("_measures_memo", {})
    if dataset.token not in memo:
        memo.clear()
        memo[dataset.token] = tuple(comparable_measures(dataset.episodes))
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
                   measures=measures, safe=safe_forced(dataset) or bool(st.session_state.get(SAFE_KEY, False)))


def constant(key: tuple, build: Callable[[], _Built]) -> _Built:
    """Something that depends on no data set (a table of definitions, the survey's recommendations): built once
    per server process and handed to every session, whatever data it shows. Never for anything built from
    data: that goes through :func:`session_memo`."""
    return shared_cache.get_or_build(("constant", *key), build)


def constant_by_arguments(name: str) -> Callable[[Callable[..., _Built]], Callable[..., _Built]]:
    """A decorator: the function's result for each (hashable) set of arguments is a :func:`constant` named
    ``name`` (made once per server process, for every session). For what depends on no uploaded data: the
    bundled survey's published figures, the code's definitions. Unlike ``st.cache_data`` it hands back the
    same objects (a figure held here is fitted and serialised once, ``dashboard/fast_elements.py``)."""
    def decorate(function: Callable[..., _Built]) -> Callable[..., _Built]:
        @functools.wraps(function)
        def cached(*args: Hashable) -> _Built:
            return constant((name, *args), lambda: function(*args))
        return cached
    return decorate


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
