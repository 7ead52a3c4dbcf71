"""Timing of the analysis pipeline, the CLI and the statistical core.

Every timing is wall-clock (``time.perf_counter``) and, where repeated, the *minimum*
of the repeats: on a shared machine the minimum is the run least disturbed by other
work, which is the figure that says what the code costs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """(fastest wall time in seconds, the last result) over ``repeat`` calls."""
    best, result = float("inf"), None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def pyarrow_read_seconds(path: Path, repeat: int = 3) -> float:
    """``pyarrow.csv.read_csv`` on the file with its defaults (type inference, threads): the yardstick."""
    import pyarrow.csv as pa_csv

    seconds, _ = best_of(lambda: pa_csv.read_csv(path), repeat)
    return seconds


def pyarrow_parquet_seconds(path: Path, repeat: int = 3) -> float:
    import pyarrow.parquet as pq

    seconds, _ = best_of(lambda: pq.read_table(path), repeat)
    return seconds


@dataclass
class Stages:
    """Seconds per pipeline stage for one file (in-process, best of the repeats)."""

    file: str
    rows: int
    participants: int
    level: str
    read: float
    validate: float  # checks and typing, without the session reduction
    reduce: float | None  # session files only
    outcomes: float
    comparisons: float
    measures: list[str] = field(default_factory=list)

    @property
    def analysis_total(self) -> float:
        return self.read + self.validate + (self.reduce or 0.0) + self.outcomes + self.comparisons


def pipeline_stages(path: Path, repeat: int = 1) -> Stages:
    """Time read → validate (→ reduce sessions) → outcomes → comparisons, as the CLI runs them."""
    from analysis.compare import available_measures, compare_rates
    from analysis.io import read_path, reduce_sessions
    from analysis.outcomes import finisher_counts, paired_completeness, participant_outcomes
    from analysis.summary import compare_measures
    from analysis.validate import validate

    read_s, raw = best_of(lambda: read_path(path), repeat)
    validate_s, report = best_of(lambda: validate(raw), repeat)
    if not report.usable:
        raise RuntimeError(f"{path.name} failed validation: {report.problems[:3]}")
    reduce_s = None
    if report.level == "session":
        reduce_s, _ = best_of(lambda: reduce_sessions(report.sessions), repeat)
        validate_s = max(validate_s - reduce_s, 0.0)
    episodes = report.episodes

    def outcomes():
        flags = participant_outcomes(episodes)
        finisher_counts(flags)
        paired_completeness(flags)
        return flags

    outcomes_s, flags = best_of(outcomes, repeat)
    keys = available_measures(episodes)

    def comparisons():  # as analyse() runs them: the measures in worker threads on large files
        compare_rates(flags)
        compare_measures(episodes, tuple(keys))

    comparisons_s, _ = best_of(comparisons, repeat)
    return Stages(file=path.name, rows=report.row_count, participants=len(episodes), level=report.level or "",
                  read=read_s, validate=validate_s, reduce=reduce_s, outcomes=outcomes_s,
                  comparisons=comparisons_s, measures=keys)


@dataclass
class CliRun:
    """One run of ``python -m analysis summarize FILE --format json`` as a subprocess."""

    seconds: float  # wall clock
    cpu_seconds: float  # user + system CPU
    max_rss_mb: float  # peak resident set size (MiB), the CLI process alone
    summary: dict | None  # the printed JSON, when asked for


# A small launcher process runs the command and reports its child's own rusage. The command is
# not started straight from this process because a child's peak RSS (``ru_maxrss``) includes the
# memory of the process it was forked from, up to its exec: this harness holds large tables, the
# launcher holds about 10 MB.
_LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
process = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(process.pid, 0)
elapsed = time.perf_counter() - start
with open(sys.argv[1], "w") as sink:
    json.dump({"seconds": elapsed, "cpu_seconds": usage.ru_utime + usage.ru_stime, "max_rss_kb": usage.ru_maxrss,
               "code": os.waitstatus_to_exitcode(status)}, sink)
"""


def _run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, float, int, bytes, bytes]:
    """Run ``command``; (seconds, CPU seconds, peak RSS in MiB of that process alone, exit code, stdout, stderr).

    The time is measured in the launcher around the command only (its own start-up excluded).
    """
    import tempfile

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".json") as usage:
        subprocess.run([sys.executable, "-c", _LAUNCHER, usage.name, *command], cwd=ROOT, stdout=out, stderr=err,
                       env=env, check=False)
        record = json.loads(Path(usage.name).read_text() or "{}")
        out.seek(0)
        err.seek(0)
        if not record:
            raise RuntimeError(f"the launcher did not report: {err.read().decode(errors='replace')[-500:]}")
        return (record["seconds"], record["cpu_seconds"], record["max_rss_kb"] / 1024.0, record["code"], out.read(),
                err.read())


def run_cli(path: Path, parse: bool = True) -> CliRun:
    """Run the CLI once on ``path`` (raises when it fails)."""
    command = [sys.executable, "-m", "analysis", "summarize", str(path), "--format", "json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    seconds, cpu, rss, code, out, err = _run_measured(command, env)
    if code != 0:
        raise RuntimeError(f"CLI failed on {path.name} (exit {code}): {err.decode(errors='replace')[-500:]}")
    return CliRun(seconds=seconds, cpu_seconds=cpu, max_rss_mb=rss, summary=json.loads(out) if parse else None)


@dataclass
class CliRounds:
    """The CLI on a file, taken in rounds with its yardsticks.

    Each round runs, back to back, the CLI on the tiny file, the CLI on this file (and on its Parquet
    twin) and pyarrow's read of this file. The machine's speed drifts by up to a third over minutes,
    but little within a round, so *added* time and its ratio to pyarrow's read are taken per round
    and summarised by their median (with the range), rather than by the fastest run of each.
    """

    file: str
    tiny: list[float]
    cli: list[float]
    cpu: list[float]
    read: list[float]
    parquet: list[float] = field(default_factory=list)
    max_rss_mb: float = 0.0
    parquet_max_rss_mb: float | None = None
    summary: dict | None = None
    parquet_summary: dict | None = None

    @property
    def added(self) -> list[float]:
        return [max(c - t, 0.0) for c, t in zip(self.cli, self.tiny, strict=True)]

    @property
    def ratios(self) -> list[float]:
        return [a / r for a, r in zip(self.added, self.read, strict=True)]

    @property
    def parquet_faster(self) -> int:
        """Rounds in which the Parquet twin took less time than the CSV."""
        return sum(p < c for p, c in zip(self.parquet, self.cli, strict=True)) if self.parquet else 0


def cli_rounds(tiny: Path, path: Path, parquet: Path | None = None, rounds: int = 5,
               read_repeat: int = 2) -> CliRounds:
    """Measure ``path`` in ``rounds`` rounds (see :class:`CliRounds`)."""
    result = CliRounds(file=path.name, tiny=[], cli=[], cpu=[], read=[])
    for _ in range(max(1, rounds)):
        result.tiny.append(run_cli(tiny, parse=False).seconds)
        run = run_cli(path, parse=result.summary is None)
        result.cli.append(run.seconds)
        result.cpu.append(run.cpu_seconds)
        result.max_rss_mb = max(result.max_rss_mb, run.max_rss_mb)
        result.summary = result.summary or run.summary
        if parquet is not None:
            twin = run_cli(parquet, parse=result.parquet_summary is None)
            result.parquet.append(twin.seconds)
            result.parquet_max_rss_mb = max(result.parquet_max_rss_mb or 0.0, twin.max_rss_mb)
            result.parquet_summary = result.parquet_summary or twin.summary
        result.read.append(pyarrow_read_seconds(path, read_repeat))
    return result


def same_figures(a: dict | None, b: dict | None) -> bool:
    """The two CLI summaries report the same numbers (the file name in ``data.source`` aside)."""
    if a is None or b is None:
        return False
    strip = lambda s: {k: v for k, v in s.items() if k != "data"} | {  # noqa: E731
        "data": {k: v for k, v in s["data"].items() if k != "source"}}
    return strip(a) == strip(b)


# --- statistical core against pingouin ---------------------------------------------------------------


@dataclass
class StatRow:
    test: str
    n: int
    ours: float
    pingouin: float | None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.pingouin in (None, 0) else self.ours / self.pingouin


MWU_PINGOUIN_MAX_N = 20_000  # pingouin.mwu's CLES builds an n1 × n2 matrix: 10⁵ people would need ~20 GB


def stats_arrays(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """First/last scores, change and group for ``n`` people, as the comparisons receive them."""
    rng = np.random.default_rng(seed)
    first = np.clip(np.rint(rng.normal(15, 5, n)), 0, 27)
    is_pa = rng.random(n) < 0.5
    last = np.clip(np.rint(first - rng.normal(4 + is_pa, 5, n)), 0, 27)
    change = np.round(last - first, 9)
    return {"first": first, "last": last, "change": change, "is_pa": is_pa}


def stats_vs_pingouin(sizes: list[int], repeat: int = 5) -> list[StatRow]:
    """Our welch_test / mann_whitney / ancova against pingouin's ttest / mwu / ancova, same arrays.

    Runs alternate (ours, pingouin, ours, ...) and each side keeps its fastest run, so a burst of
    load on the machine does not land on one side only. pingouin's inputs (a DataFrame for ANCOVA)
    are built outside the timing.
    """
    import warnings

    import pandas as pd

    from analysis.compare import ancova, mann_whitney, welch_test

    try:
        import pingouin as pg
    except ImportError:  # dev requirement only
        pg = None
    rows: list[StatRow] = []
    for n in sizes:
        data = stats_arrays(n)
        pa, control = data["change"][data["is_pa"]], data["change"][~data["is_pa"]]
        frame = pd.DataFrame({"first": data["first"], "last": data["last"],
                              "group": np.where(data["is_pa"], "physical_activity", "control")})
        is_pa = data["is_pa"].astype(float)
        big = n > MWU_PINGOUIN_MAX_N
        cases: list[tuple[str, Callable, Callable | None, str]] = [
            ("Welch t test (ttest)", partial(welch_test, pa, control),
             partial(pg.ttest, pa, control, correction=True) if pg else None, ""),
            ("Mann–Whitney U (mwu)", partial(mann_whitney, pa, control),
             partial(pg.mwu, pa, control, alternative="two-sided") if pg and not big else None,
             "pingouin.mwu not run: its CLES needs an n₁×n₂ matrix" if big else ""),
            ("ANCOVA (ancova)", partial(ancova, data["first"], data["last"], is_pa),
             partial(pg.ancova, data=frame, dv="last", covar="first", between="group") if pg else None, ""),
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name, ours_fn, theirs_fn, note in cases:
                ours_fn()  # warm imports and caches on both sides
                if theirs_fn:
                    theirs_fn()
                ours, theirs = float("inf"), float("inf")
                for _ in range(repeat):
                    ours = min(ours, best_of(ours_fn, 1)[0])
                    if theirs_fn:
                        theirs = min(theirs, best_of(theirs_fn, 1)[0])
                if pg is None:
                    note = "pingouin is not installed (pip install -r requirements-dev.txt)"
                rows.append(StatRow(name, n, ours, theirs if theirs_fn else None, note))
    return rows


@dataclass
class OddsRatioCheck:
    n: int
    method: str
    seconds: float


def odds_ratio_switch(sizes: tuple[int, ...] = (1000, 1002, 100_000, 1_000_000)) -> list[OddsRatioCheck]:
    """Time every rate comparison (Wilson, Newcombe, Fisher, OR, RR, NNT) either side of the switch
    from the exact conditional odds-ratio CI to Woolf's (at 1,000 people) and at large n."""
    from analysis.compare import METHODS, compare_counts

    out = []
    for n in sizes:
        n_pa = n // 2
        n_control = n - n_pa
        count_pa, count_control = int(n_pa * 0.55), int(n_control * 0.4)
        compare_counts("recovery", count_pa, n_pa, count_control, n_control)  # warm
        seconds, result = best_of(partial(compare_counts, "recovery", count_pa, n_pa, count_control, n_control), 3)
        method = "exact conditional" if result.odds_ratio.method == METHODS["odds_ratio_exact"] else "Woolf"
        out.append(OddsRatioCheck(n, method, seconds))
    return out


def log_log_slope(sizes: list[int], seconds: list[float]) -> float | None:
    """Least-squares slope of log(seconds) on log(n): 1 is linear growth, 2 quadratic."""
    points = [(n, s) for n, s in zip(sizes, seconds, strict=True) if n > 0 and s and s > 0]
    if len(points) < 2:
        return None
    x = np.log([p[0] for p in points])
    y = np.log([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])
