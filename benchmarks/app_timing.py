"""Dashboard timings with Streamlit's AppTest: page reruns and the points each chart sends.

A rerun is what happens on every click: Streamlit runs ``app.py`` and the page's script
again, top to bottom. Each page is opened once (its first load, which builds and caches
what it needs), then rerun ``reruns`` times; the median rerun is the page's cost.

For an upload the data set is put into the session exactly as the Data page's handler
does (:func:`dashboard.upload.process_upload`, then :func:`dashboard.state.make_upload_dataset`
and :func:`dashboard.state.use_upload`'s session keys), so the pages see a real upload.

Chart size is measured on what the browser would receive: the plotly JSON of every
``st.plotly_chart`` element, with each trace's data arrays counted (plotly's base64
typed arrays decoded to their length).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
POINTS_LIMIT = 10_000
# Trace keys that hold one value per drawn point (or per raw observation plotly bins itself).
_DATA_KEYS = ("x", "y", "z", "lat", "lon", "r", "theta", "values", "a", "b", "c", "open", "high", "low", "close",
              "dimensions", "locations", "ids")
_DTYPE_SIZES = {"f8": 8, "f4": 4, "i1": 1, "u1": 1, "i2": 2, "u2": 2, "i4": 4, "u4": 4, "i8": 8, "u8": 8}


def page_files(app: Path = APP) -> list[str]:
    """The pages listed in ``app.py`` (``st.Page("pages/....py", ...)``), in navigation order."""
    return re.findall(r"st\.Page\(\s*[\"'](pages/[^\"']+\.py)[\"']", app.read_text())


def _length(value: object) -> int:
    """Number of values in a plotly data array: a list, or a typed array ``{"dtype", "bdata"[, "shape"]}``."""
    if isinstance(value, dict) and "bdata" in value:
        if "shape" in value:
            total = 1
            for part in str(value["shape"]).split(","):
                total *= int(part.strip() or 1)
            return total
        size = _DTYPE_SIZES.get(str(value.get("dtype")), 8)
        return len(base64.b64decode(value["bdata"])) // size
    if isinstance(value, list):
        if value and isinstance(value[0], list):  # 2-D (heatmap z) or line segments
            return sum(len(row) if isinstance(row, list) else 1 for row in value)
        return len(value)
    return 0


def trace_points(trace: dict) -> int:
    """Points a trace carries: the longest of its data arrays (x and y of a scatter count once)."""
    return max((_length(trace.get(key)) for key in _DATA_KEYS if key in trace), default=0)


@dataclass
class ChartSize:
    title: str
    traces: int
    points: int  # summed over traces
    largest_trace: int


def chart_sizes(spec_json: str) -> ChartSize:
    """Points in a plotly figure's JSON as ``st.plotly_chart`` sends it."""
    spec = json.loads(spec_json)
    data = spec.get("data", [])
    title = spec.get("layout", {}).get("title", {})
    text = title.get("text", "") if isinstance(title, dict) else str(title)
    counts = [trace_points(trace) for trace in data]
    return ChartSize(title=re.sub(r"<[^>]+>", " ", text or "(untitled)").strip(), traces=len(data),
                     points=sum(counts), largest_trace=max(counts, default=0))


def figure_points(figure) -> int:
    """Points in a ``go.Figure`` (the same count as :func:`chart_sizes`, for figure builders)."""
    return chart_sizes(figure.to_json()).points


@dataclass
class PageTiming:
    page: str
    first_load: float
    reruns: list[float]
    charts: list[ChartSize] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # exceptions / error messages on the page

    @property
    def median(self) -> float:
        return statistics.median(self.reruns) if self.reruns else float("nan")

    @property
    def max_points(self) -> int:
        return max((c.points for c in self.charts), default=0)

    @property
    def biggest_chart(self) -> str:
        return max(self.charts, key=lambda c: c.points).title if self.charts else ""


def _quiet_streamlit() -> None:
    """AppTest runs scripts in bare mode and warns about it on every call; those warnings are noise here."""
    for name in ("streamlit", "streamlit.runtime", "streamlit.runtime.scriptrunner_utils.script_run_context",
                 "streamlit.runtime.caching.cache_data_api", "streamlit.runtime.state.session_state_proxy"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _problems(at) -> list[str]:
    found = [f"exception: {e.message}" for e in at.exception]
    found += [f"error: {e.value}" for e in at.error]
    return found


def _charts(at) -> list[ChartSize]:
    return [chart_sizes(element.proto.spec) for element in at.get("plotly_chart")]


def upload_dataset(path: Path):
    """(Dataset, UploadAttempt, seconds): ``path`` checked the way the Data page handles an upload."""
    from dashboard import state

    content = path.read_bytes()
    start = time.perf_counter()
    try:
        from dashboard import upload
    except ImportError:  # the Data page's handler not there: validate directly, as it would
        from analysis.validate import load_bytes

        report = load_bytes(content, path.name)
        attempt = None
    else:
        attempt = upload.process_upload(path.name, content)
        report = attempt.report
    if not report.usable:
        raise RuntimeError(f"{path.name} is not usable as an upload: {report.problems[:3]}")
    dataset = state.make_upload_dataset(path.name, content, report)
    return dataset, attempt, time.perf_counter() - start


def page_timings(reruns: int = 5, upload: Path | None = None, pages: list[str] | None = None,
                 timeout: float = 300) -> tuple[list[PageTiming], dict[str, float]]:
    """Open each page and time its reruns, on the bundled sample or on ``upload``.

    Returns the per-page timings and extras: ``upload_s`` (checking the file, when given),
    ``app_start_s`` (the app's first run, on its default page) and ``filter_change_s`` (the Overview rerun after choosing one level of the first sidebar filter:
    a new filter set means a new analysis).
    """
    from streamlit.testing.v1 import AppTest

    from dashboard import state

    _quiet_streamlit()
    pages = pages or page_files()
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    extras: dict[str, float] = {}
    if upload is not None:
        dataset, attempt, seconds = upload_dataset(upload)
        extras["upload_s"] = seconds
        extras["participants"] = len(dataset.episodes)
        at.session_state[state.UPLOAD_KEY] = dataset
        at.session_state[state.SOURCE_KEY] = "upload"
        if attempt is not None:
            from dashboard import upload as upload_module

            at.session_state[upload_module.ATTEMPT_KEY] = attempt
    start = time.perf_counter()
    at.run()  # the app's first run (default page): imports, the sample's cache, the upload's analysis
    extras["app_start_s"] = time.perf_counter() - start
    results = []
    for page in pages:
        start = time.perf_counter()
        at.switch_page(page).run()
        first = time.perf_counter() - start
        times = []
        for _ in range(reruns):
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        results.append(PageTiming(page=page, first_load=first, reruns=times, charts=_charts(at),
                                  problems=_problems(at)))
    extras.update(_filter_change(at, pages))
    return results, extras


def _filter_change(at, pages: list[str]) -> dict[str, float]:
    """Seconds for the first page's rerun after a sidebar filter changes (one level of the first filter)."""
    filters = [w for w in at.sidebar.multiselect if str(w.key or "").startswith("f_")]
    if not filters or not filters[0].options:
        return {}
    at.switch_page(pages[0]).run()
    widget = at.sidebar.multiselect(key=filters[0].key)
    start = time.perf_counter()
    widget.set_value([widget.options[0]]).run()
    seconds = time.perf_counter() - start
    widget = at.sidebar.multiselect(key=filters[0].key)
    widget.set_value([]).run()
    return {"filter_change_s": seconds}
