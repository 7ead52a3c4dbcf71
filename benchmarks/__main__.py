"""Measure scale and speed against the project's targets and print PASS/FAIL per target.

    python -m benchmarks [--quick | --full] [--sizes N ...] [--session-sizes N ...] [--skip-pages]

Generates synthetic files into ``benchmarks/out/`` (reused on later runs), then measures:

* each pipeline stage in-process (read, validate, reduce sessions, outcomes, comparisons);
* the whole CLI (``python -m analysis summarize FILE --format json``) as a subprocess, minus the
  same CLI on a tiny file (interpreter start and imports), against ``pyarrow.csv.read_csv`` of the
  same file, and its peak memory (the child's own ``ru_maxrss`` from ``os.wait4``). These three are
  taken back to back in rounds (5; ``--quick``: 1) and the ratio worked out within each round, since
  the machine's speed drifts over minutes; the median round is reported, with the range;
* Parquet against the same data as CSV (CLI and app);
* the statistical core (welch_test, mann_whitney, ancova) against pingouin on the same arrays;
* every page's rerun with Streamlit's AppTest, on the bundled sample and on 100,000-participant
  uploads (episode- and session-level), and the points each chart sends to the browser;
* how each cost grows with n (the slope of log time on log n: 1 = linear).

Stage timings are the minimum of repeated runs (page reruns: the median), so they show what the code
costs rather than what else the machine was doing; the machine's load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from statistics import median

from benchmarks import generate, measure

OUT_DIR = generate.OUT_DIR
TINY_N = 200
UPLOAD_N = 100_000

TARGET_EPISODE_RATIO = 4.0
TARGET_SESSION_RATIO = 6.0
TARGET_PAGE_SAMPLE_S = 0.300
TARGET_PAGE_UPLOAD_S = 2.0
TARGET_POINTS = 10_000
TARGET_MEMORY_BYTES = 1.5e9
TARGET_EPISODE_N = 1_000_000
TARGET_SESSION_N = 2_000_000


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _table(headers: list[str], rows: list[list[object]]) -> str:
    """A plain-text table with right-aligned numbers."""
    text = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    text = [row + [""] * (len(headers) - len(row)) for row in text]
    widths = [max(len(r[i]) for r in text) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        cells = []
        for i, value in enumerate(row):
            numeric = value.replace(".", "", 1).replace(",", "").replace("×", "").replace("-", "", 1).isdigit()
            cells.append(value.rjust(widths[i]) if numeric else value.ljust(widths[i]))
        return "  ".join(cells).rstrip()

    return "\n".join([line(text[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in text[1:]])


def _s(seconds: float | None, digits: int = 2) -> str:
    return "" if seconds is None else f"{seconds:.{digits}f}"


def _ms(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds * 1000:.0f}"


def _n(n: int) -> str:
    return f"{n:,}"


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"
    except OSError:
        return "unknown"


def _versions() -> str:
    import numpy
    import pandas
    import pyarrow
    import scipy
    import statsmodels
    import streamlit

    return (f"Python {platform.python_version()}, pandas {pandas.__version__}, numpy {numpy.__version__}, "
            f"pyarrow {pyarrow.__version__}, scipy {scipy.__version__}, statsmodels {statsmodels.__version__}, "
            f"streamlit {streamlit.__version__}")


def _config(args: argparse.Namespace) -> dict:
    if args.quick:
        config = {"episodes": [2_000], "sessions": [12_000], "rounds": 1,
                  "read_repeat": 1, "stage_repeat": 1, "stats_sizes": [1_000], "stats_repeat": 3,
                  "upload_n": None, "reruns": 3, "session_upload_rows": 30_000}
    else:
        # 4,900 episodes: the largest data set that still runs the permutation tests (up to 5,000)
        config = {"episodes": [1_000, 4_900, 10_000, 100_000, 1_000_000], "sessions": [1_000_000, 2_000_000],
                  "rounds": 5, "read_repeat": 2, "stage_repeat": 1,
                  "stats_sizes": [1_000, 10_000, 100_000, 1_000_000], "stats_repeat": 5,
                  "upload_n": UPLOAD_N, "reruns": 5, "session_upload_rows": 600_000}
        if args.full:
            config["sessions"] = [*config["sessions"], 10_000_000]
    if args.sizes:
        config["episodes"] = sorted(set(args.sizes))
    if args.session_sizes is not None:
        config["sessions"] = sorted(set(args.session_sizes))
    if args.reruns:
        config["reruns"] = args.reruns
    return config


def _file_rows(kind: str, n: int, stages: measure.Stages, rounds: measure.CliRounds,
               parquet_read_s: float | None = None) -> dict:
    """One file's figures: CLI times are medians over the rounds; added time and its ratio to pyarrow's
    read are worked out within each round, then their median (and range) reported."""
    ratios = rounds.ratios
    row = {"kind": kind, "n": n, "participants": stages.participants, "pyarrow_read_s": median(rounds.read),
           "read_s": stages.read, "validate_s": stages.validate, "reduce_s": stages.reduce,
           "outcomes_s": stages.outcomes, "comparisons_s": stages.comparisons, "cli_s": median(rounds.cli),
           "cli_all_s": rounds.cli, "tiny_all_s": rounds.tiny, "pyarrow_read_all_s": rounds.read,
           "cli_cpu_s": median(rounds.cpu), "cli_added_s": median(rounds.added),
           "ratio": median(ratios),
           "ratio_all": ratios, "max_rss_mb": rounds.max_rss_mb * 1.048576, "measures": stages.measures}
    if rounds.parquet:
        row.update({"parquet_cli_s": median(rounds.parquet), "parquet_all_s": rounds.parquet,
                    "parquet_added_s": median([max(p - t, 0.0) for p, t in zip(rounds.parquet, rounds.tiny,
                                                                                strict=True)]),
                    "parquet_faster_rounds": rounds.parquet_faster, "rounds": len(rounds.cli),
                    "parquet_read_s": parquet_read_s,
                    "parquet_max_rss_mb": (rounds.parquet_max_rss_mb or 0.0) * 1.048576,
                    "parquet_same_figures": measure.same_figures(rounds.summary, rounds.parquet_summary)})
    return row


def run(args: argparse.Namespace) -> dict:
    config = _config(args)
    out_dir: Path = args.out
    results: dict = {"config": config, "machine": {"cpus": os.cpu_count(), "load_before": _load(),
                                                   "versions": _versions()}}
    _log(f"load average {_load()} on {os.cpu_count()} CPUs; writing to {out_dir}")

    # --- files
    start = time.perf_counter()
    tiny_csv, _ = generate.episode_files(TINY_N, out_dir, parquet=False)
    episode_paths = {n: generate.episode_files(n, out_dir) for n in config["episodes"]}
    session_paths = {n: generate.session_file(n, out_dir)[0] for n in config["sessions"]}
    results["generate_s"] = time.perf_counter() - start
    _log(f"files ready ({results['generate_s']:.1f} s)")

    # --- the CLI, in rounds with its yardsticks (the tiny file's CLI and pyarrow's read; see CliRounds)
    rows = []
    tiny_runs: list[float] = []
    for n, (csv_path, pq_path) in episode_paths.items():
        stages = measure.pipeline_stages(csv_path, config["stage_repeat"])
        rounds = measure.cli_rounds(tiny_csv, csv_path, pq_path, config["rounds"], config["read_repeat"])
        pq_read = measure.pyarrow_parquet_seconds(pq_path, config["read_repeat"]) if pq_path else None
        tiny_runs += rounds.tiny
        rows.append(_file_rows("episode CSV", n, stages, rounds, pq_read))
        twin = f" (Parquet {median(rounds.parquet):.2f} s)" if rounds.parquet else ""
        _log(f"episodes {n:,}: CLI {median(rounds.cli):.2f} s{twin}, "
             f"tiny file {median(rounds.tiny):.2f} s, pyarrow read {median(rounds.read):.2f} s, "
             f"added/read {median(rounds.ratios):.1f}× (median of {len(rounds.cli)} rounds)")
    for n, csv_path in session_paths.items():
        stages = measure.pipeline_stages(csv_path, config["stage_repeat"])
        rounds = measure.cli_rounds(tiny_csv, csv_path, None, config["rounds"], config["read_repeat"])
        tiny_runs += rounds.tiny
        rows.append(_file_rows("session CSV", n, stages, rounds))
        _log(f"session rows {n:,}: CLI {median(rounds.cli):.2f} s, tiny file {median(rounds.tiny):.2f} s, "
             f"pyarrow read {median(rounds.read):.2f} s, added/read {median(rounds.ratios):.1f}×")
    results["cli_baseline_s"] = median(tiny_runs) if tiny_runs else None
    results["files"] = rows

    # --- Parquet accepted by the app's upload handler
    largest_pq = episode_paths[max(episode_paths)][1]
    try:
        from benchmarks.app_timing import upload_dataset

        dataset, _, seconds = upload_dataset(largest_pq)
        results["parquet_app"] = {"accepted": True, "participants": len(dataset.episodes), "seconds": seconds,
                                  "file": largest_pq.name}
        _, _, csv_seconds = upload_dataset(episode_paths[max(episode_paths)][0])
        results["parquet_app"]["csv_seconds"] = csv_seconds
    except Exception as error:  # noqa: BLE001 - reported as a failed target, not a crash
        results["parquet_app"] = {"accepted": False, "error": f"{type(error).__name__}: {error}"}

    # --- odds ratio switch and the statistical core against pingouin
    results["odds_ratio"] = [asdict(r) for r in measure.odds_ratio_switch()]
    _log("statistical core against pingouin ...")
    results["stats"] = [asdict(r) | {"ratio": r.ratio} for r in
                        measure.stats_vs_pingouin(config["stats_sizes"], config["stats_repeat"])]

    # --- pages
    if not args.skip_pages:
        from benchmarks import app_timing

        runs: list[tuple[str, Path | None]] = [("sample", None)]
        if config["upload_n"]:
            runs.append((f"upload: {config['upload_n']:,} episodes", generate.episode_files(config["upload_n"],
                                                                                          out_dir)[0]))
        if config["session_upload_rows"]:
            runs.append((f"upload: {config['session_upload_rows']:,} session rows",
                         generate.session_file(config["session_upload_rows"], out_dir)[0]))
        page_runs = {}
        for label, upload in runs:
            _log(f"pages on the {label} ...")
            timings, extras = app_timing.page_timings(config["reruns"], upload)
            page_runs[label] = {"pages": [asdict(t) | {"median": t.median, "max_points": t.max_points,
                                                       "biggest_chart": t.biggest_chart} for t in timings],
                                "extras": extras}
        results["pages"] = page_runs
    results["machine"]["load_after"] = _load()
    return results


def _slopes(rows: list[dict], kind: str) -> dict[str, float | None]:
    subset = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["n"])
    # fixed costs dominate tiny files, so fit on n >= 10,000 when there are two such sizes
    big = [r for r in subset if r["n"] >= 10_000]
    subset = big if len(big) >= 2 else subset
    sizes = [r["n"] for r in subset]
    keys = ["read_s", "validate_s", "reduce_s", "outcomes_s", "comparisons_s", "cli_added_s", "max_rss_mb"]
    return {key: measure.log_log_slope(sizes, [r[key] or 0 for r in subset]) for key in keys}


def _ratio_range(row: dict) -> str:
    ratios = row["ratio_all"]
    return (f"median of {len(ratios)} rounds, range {min(ratios):.1f}–{max(ratios):.1f}×" if len(ratios) > 1
            else "1 round")


def _targets(results: dict, quick: bool) -> list[list[str]]:
    """(target, measured, verdict) rows."""
    out = []
    files = results["files"]

    def at_size(kind: str, n: int) -> tuple[dict | None, str]:
        subset = [r for r in files if r["kind"] == kind]
        exact = [r for r in subset if r["n"] == n]
        if exact:
            return exact[0], ""
        if not subset:
            return None, ""
        largest = max(subset, key=lambda r: r["n"])
        return largest, f" [measured at {largest['n']:,}, not {n:,}]"

    def verdict(ok: bool, note: str) -> str:
        """Size-dependent targets measured below their size (--quick) are not judged."""
        return "n/a (smaller n)" if note else ("PASS" if ok else "FAIL")

    for kind, size, limit in (("episode CSV", TARGET_EPISODE_N, TARGET_EPISODE_RATIO),
                              ("session CSV", TARGET_SESSION_N, TARGET_SESSION_RATIO)):
        row, note = at_size(kind, size)
        if row:
            out.append([f"summarize {size:,}-row {kind}: added time ≤ {limit:g}× pyarrow read",
                        f"{row['cli_added_s']:.2f} s = {row['ratio']:.1f}× ({row['pyarrow_read_s']:.2f} s); "
                        f"{_ratio_range(row)}{note}", verdict(row["ratio"] <= limit, note)])
    episode_rows = [r for r in files if r["kind"] == "episode CSV" and "parquet_cli_s" in r]
    if episode_rows:
        largest = max(episode_rows, key=lambda r: r["n"])
        app = results.get("parquet_app", {})
        accepted = all(r["parquet_same_figures"] for r in episode_rows) and app.get("accepted", False)
        out.append(["Parquet accepted by the CLI (same figures as the CSV) and the app",
                    f"CLI {'same figures' if all(r['parquet_same_figures'] for r in episode_rows) else 'DIFFERENT'}"
                    f" at every size; app {'accepted' if app.get('accepted') else 'refused: ' + app.get('error', '')}",
                    "PASS" if accepted else "FAIL"])
        faster = largest["parquet_faster_rounds"] * 2 > largest["rounds"]  # in most rounds
        out.append(["Parquet faster than the same CSV (CLI, largest file)",
                    f"median {largest['parquet_cli_s']:.2f} s vs {largest['cli_s']:.2f} s at {largest['n']:,}, "
                    f"faster in {largest['parquet_faster_rounds']} of {largest['rounds']} rounds"
                    + (f"; app upload {app['seconds']:.2f} s vs {app['csv_seconds']:.2f} s" if app.get("csv_seconds")
                       else ""), verdict(faster, "" if largest["n"] >= TARGET_EPISODE_N else "small")])
    pages = results.get("pages", {})
    if "sample" in pages:
        worst = max(pages["sample"]["pages"], key=lambda p: p["median"])
        ok = all(p["median"] < TARGET_PAGE_SAMPLE_S and not p["problems"] for p in pages["sample"]["pages"])
        out.append([f"every page's rerun on the sample < {TARGET_PAGE_SAMPLE_S * 1000:.0f} ms (median)",
                    f"slowest {worst['page']} {worst['median'] * 1000:.0f} ms", "PASS" if ok else "FAIL"])
    for label, run in pages.items():
        if label == "sample":
            continue
        worst = max(run["pages"], key=lambda p: p["median"])
        participants = run["extras"].get("participants", 0)
        note = "" if participants >= 0.95 * UPLOAD_N else f" [{participants:,} participants, not {UPLOAD_N:,}]"
        ok = all(p["median"] < TARGET_PAGE_UPLOAD_S and not p["problems"] for p in run["pages"])
        out.append([f"every page's rerun on the {label} < {TARGET_PAGE_UPLOAD_S:g} s",
                    f"slowest {worst['page']} {worst['median']:.2f} s{note}", verdict(ok, note)])
        biggest = max(run["pages"], key=lambda p: p["max_points"])
        ok = all(p["max_points"] <= TARGET_POINTS for p in run["pages"])
        out.append([f"points per chart ≤ {TARGET_POINTS:,} ({label})",
                    f"max {biggest['max_points']:,} ({biggest['page']}: {biggest['biggest_chart'][:50]}){note}",
                    # over the limit with fewer participants is over it with more: a FAIL at any size
                    "FAIL" if not ok else verdict(ok, note)])
    row, note = at_size("episode CSV", TARGET_EPISODE_N)
    if row:
        out.append([f"peak memory, summarize {TARGET_EPISODE_N:,} episodes < {TARGET_MEMORY_BYTES / 1e9:g} GB",
                    f"{row['max_rss_mb'] / 1000:.2f} GB{note}", verdict(row["max_rss_mb"] * 1e6 < TARGET_MEMORY_BYTES,
                                                                        note)])
    for test in dict.fromkeys(r["test"] for r in results["stats"]):
        compared = [r for r in results["stats"] if r["test"] == test and r["pingouin"] is not None]
        if not compared:
            out.append([f"{test} no slower than pingouin", "pingouin not run", "FAIL"])
            continue
        worst = max(compared, key=lambda r: r["ratio"])
        out.append([f"{test} no slower than pingouin",
                    f"worst {worst['ratio']:.2f}× pingouin's time (n = {worst['n']:,}); sizes "
                    + ", ".join(f"{r['n']:,}" for r in compared),
                    "PASS" if all(r["ratio"] <= 1.0 for r in compared) else "FAIL"])
    return out


def report(results: dict, quick: bool) -> str:
    lines = ["", "== Machine", f"{results['machine']['cpus']} CPUs; load average (1/5/15 min) before "
             f"{results['machine']['load_before']}, after {results['machine']['load_after']}",
             results["machine"]["versions"], "",
             "== Pipeline stages (seconds; in-process, best of runs) and the CLI (subprocess; median of "
             f"{results['config']['rounds']} rounds, each round the CLI on a {TINY_N}-row file (median "
             f"{results['cli_baseline_s']:.2f} s), on this file and pyarrow's read of it, back to back; 'added' is the "
             "file's CLI minus the small file's in the same round, and added/pyarrow the median of each round's ratio)"]
    headers = ["file", "rows", "pyarrow read", "read", "validate", "reduce", "outcomes", "compare", "CLI",
               "CLI CPU", "CLI added", "added/pyarrow", "peak MB", "Parquet CLI", "Parquet added"]
    table = []
    for r in results["files"]:
        table.append([r["kind"], _n(r["n"]), _s(r["pyarrow_read_s"]), _s(r["read_s"]), _s(r["validate_s"]),
                      _s(r["reduce_s"]), _s(r["outcomes_s"]), _s(r["comparisons_s"]), _s(r["cli_s"]),
                      _s(r["cli_cpu_s"]), _s(r["cli_added_s"]), f"{r['ratio']:.1f}×" if r["ratio"] is not None else "",
                      f"{r['max_rss_mb']:.0f}", _s(r.get("parquet_cli_s")), _s(r.get("parquet_added_s"))])
    lines += [_table(headers, table), ""]
    lines.append("== Growth with n (slope of log time on log n, n ≥ 10,000; 1 = linear, 2 = quadratic)")
    slope_rows = []
    for kind in ("episode CSV", "session CSV"):
        if len([r for r in results["files"] if r["kind"] == kind and r["n"] >= 10_000]) < 2:
            slope_rows.append([kind, "needs two sizes of 10,000 or more"])
            continue
        slopes = _slopes(results["files"], kind)
        slope_rows.append([kind] + [("" if v is None else f"{v:.2f}") for v in slopes.values()])
    lines += [_table(["file", "read", "validate", "reduce", "outcomes", "compare", "CLI added", "peak MB"],
                     slope_rows), ""]
    lines.append("== Rate comparisons either side of the exact odds-ratio CI switch (all six rate statistics)")
    lines += [_table(["people", "odds ratio CI", "ms"],
                     [[_n(r["n"]), r["method"], f"{r['seconds'] * 1000:.1f}"] for r in results["odds_ratio"]]), ""]
    lines.append("== Statistical core vs pingouin 0.7 (same arrays; fastest of alternating runs, ms)")
    lines += [_table(["test", "n", "ours", "pingouin", "ours/pingouin", "note"],
                     [[r["test"], _n(r["n"]), f"{r['ours'] * 1000:.2f}",
                       "" if r["pingouin"] is None else f"{r['pingouin'] * 1000:.2f}",
                       "" if r["ratio"] is None else f"{r['ratio']:.2f}", r["note"]] for r in results["stats"]]), ""]
    for label, run in results.get("pages", {}).items():
        extras = run["extras"]
        extra_text = "; ".join(f"{k.removesuffix('_s').replace('_', ' ')} {v:.2f} s" if k.endswith("_s")
                               else f"{k} {v:,}" for k, v in extras.items())
        lines.append(f"== Pages on the {label} (AppTest; first visit, then median of reruns; {extra_text})")
        lines.append(_table(["page", "first visit ms", "median rerun ms", "charts", "max points/chart", "problems"],
                            [[p["page"], _ms(p["first_load"]), _ms(p["median"]), len(p["charts"]),
                              _n(p["max_points"]), "; ".join(p["problems"])[:80]] for p in run["pages"]]))
        offenders = [(p["page"], c) for p in run["pages"] for c in p["charts"] if c["points"] > TARGET_POINTS]
        if offenders:
            lines.append("Charts over the limit: " + "; ".join(f"{page}: '{c['title'][:60]}' {c['points']:,} points "
                                                              f"in {c['traces']} traces" for page, c in offenders))
        lines.append("")
    lines.append("== Targets")
    lines.append(_table(["target", "measured", "verdict"], _targets(results, quick)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="tiny sizes only (CI smoke test, under a minute)")
    size.add_argument("--full", action="store_true", help="also 10,000,000 session rows (slow)")
    parser.add_argument("--sizes", type=int, nargs="+", help="episode counts to measure (CSV and Parquet)")
    parser.add_argument("--session-sizes", type=int, nargs="*", help="session-row counts to measure (CSV)")
    parser.add_argument("--reruns", type=int, help="page reruns to time per page (default 5)")
    parser.add_argument("--skip-pages", action="store_true", help="skip the AppTest page timings")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where files and results.json go")
    args = parser.parse_args(argv)
    results = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print(report(results, args.quick))
    print(f"\nResults: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
