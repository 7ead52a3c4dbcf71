"""Command line: the same numbers as the dashboard, for reproducibility and batch use.

    python -m analysis summarize FILE [--format json|text] [--safe] [--benchmark-org CODE [--benchmark-year YYYY-YY]]
                                      [--cost POUNDS [--therapy-cost POUNDS]]
                                      [--mid-rate POINTS] [--mid-phq9 POINTS] [--mid-gad7 POINTS]
    python -m analysis validate FILE
    python -m analysis benchmarks [--org CODE] [--year 2024-25] [--format json|text]

Exit codes: 0 success / usable file; 1 the file has problems (each listed with row,
column, value and rule); 2 any other error (unreadable path, bad arguments). Never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import threading
from pathlib import Path

# NumPy asks Linux for 2 MB pages for every array of 4 MB or more (madvise MADV_HUGEPAGE). Where the kernel then
# compacts memory to find one on each first touch (transparent_hugepage/defrag "madvise", the default on many
# Linux hosts and on the development VM), a fresh array costs several times as long to fill, and one run of the
# CLI fills hundreds of them once each: ordinary pages, unless the variable is set (before NumPy is imported).
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

EXIT_OK, EXIT_PROBLEMS, EXIT_ERROR = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 with usage, never a traceback
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m analysis", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    summarize = commands.add_parser("summarize", help="outcome rates and comparisons for a data file")
    summarize.add_argument("file", help="CSV, XLSX or Parquet; episode- or session-level")
    summarize.add_argument("--format", choices=("json", "text"), default="json")
    summarize.add_argument("--safe", action="store_true",
                           help="presentation-safe: suppress counts below 5, round others to 5 (nulls in JSON)")
    summarize.add_argument("--benchmark-org", metavar="CODE",
                           help="add a 'benchmark' block: England's and this organisation's published rates "
                                "(ODS code or name; 'England' for England alone), expected rates and O/E")
    summarize.add_argument("--benchmark-year", metavar="YYYY-YY", help="reporting year (default: the latest)")
    _add_benefit_arguments(summarize)
    benchmarks = commands.add_parser("benchmarks", help="NHS England's published rates for an organisation")
    benchmarks.add_argument("--org", default="England", help="ODS code or name (default England)")
    benchmarks.add_argument("--year", default=None, help="reporting year, e.g. 2024-25 (default: the latest)")
    benchmarks.add_argument("--format", choices=("json", "text"), default="json")
    validate = commands.add_parser("validate", help="check a data file and list every problem")
    validate.add_argument("file")
    report = commands.add_parser("report", help="write a slide deck (.pptx) or offline report (.html)")
    report.add_argument("file")
    report.add_argument("--output", required=True, help="deck.pptx or report.html")
    report.add_argument("--safe", action="store_true")
    _add_benefit_arguments(report)
    return parser


def _add_benefit_arguments(parser: argparse.ArgumentParser) -> None:
    """Probability of benefit (MIDs) and value for money (costs): the ``bayes`` and ``value_for_money`` keys."""
    parser.add_argument("--cost", type=float, metavar="POUNDS",
                        help="cost of the physical activity offer per participant: adds value_for_money "
                             "(cost per additional recovery and reliable improvement)")
    parser.add_argument("--therapy-cost", type=float, metavar="POUNDS",
                        help="cost of a course of talking therapy, for context (with --cost)")
    parser.add_argument("--mid-rate", type=float, metavar="POINTS",
                        help="minimal important difference for the rates, in percentage points (default 5)")
    parser.add_argument("--mid-phq9", type=float, metavar="POINTS", help="MID for PHQ-9 (default 5)")
    parser.add_argument("--mid-gad7", type=float, metavar="POINTS", help="MID for GAD-7 (default 4)")


def _benefit_overrides(args, analysis, summary: dict) -> dict:
    """The ``bayes`` block with the user's MIDs and, with --cost, ``value_for_money`` (ValueError: a message).

    Value for money uses the adjusted differences when the summary has an ``adjusted`` block (design doc).
    """
    out: dict = {}
    mids = {key: value for key, value in (("phq9", args.mid_phq9), ("gad7", args.mid_gad7)) if value is not None}
    for name, value in (("--mid-rate", args.mid_rate), ("--mid-phq9", args.mid_phq9), ("--mid-gad7", args.mid_gad7)):
        if value is not None and not (0 < value < (100 if name == "--mid-rate" else 1e9)):
            raise ValueError(f"{name} must be a positive number of {'percentage ' if name == '--mid-rate' else ''}"
                             f"points{' below 100' if name == '--mid-rate' else ''} (got {value:g}).")
    if args.mid_rate is not None or mids:
        rate_mid = args.mid_rate / 100 if args.mid_rate is not None else None
        out["bayes"] = {key: result.to_dict() for key, result in analysis.benefit(rate_mid, mids).items()}
    if args.therapy_cost is not None and args.cost is None:
        raise ValueError("--therapy-cost needs --cost (the cost of the physical activity offer per participant).")
    if args.cost is not None:
        from analysis.value import adjusted_differences, value_for_money

        out["value_for_money"] = value_for_money(analysis.rates, args.cost, therapy_cost=args.therapy_cost,
                                                 adjusted=adjusted_differences(summary.get("adjusted"))).to_dict()
    return out


def _problem_lines(report) -> list[str]:
    lines = []
    for problem in report.problems:
        where = f"row {problem.row}" if problem.row is not None else "file"
        if problem.participant:
            where += f" (participant {problem.participant})"
        column = f", column '{problem.column}'" if problem.column else ""
        value = f", value {problem.value!r}" if problem.value is not None else ""
        lines.append(f"- {where}{column}{value}: {problem.rule}" + (f" Fix: {problem.fix}" if problem.fix else ""))
    return lines


def _load(path: str):
    from analysis.validate import load_path

    if not Path(path).exists():
        print(f"error: no such file: {path}", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)
    if Path(path).is_dir():
        print(f"error: {path} is a folder, not a data file", file=sys.stderr)
        raise SystemExit(EXIT_ERROR)
    return load_path(path)


def _usable_or_exit(report, path: str) -> None:
    if not report.usable:
        print(f"{path} cannot be analysed: {len(report.problems)} problem(s).", file=sys.stderr)
        print("\n".join(_problem_lines(report)), file=sys.stderr)
        raise SystemExit(EXIT_PROBLEMS)


def _start_loading_statistics() -> None:
    """Import the statistics modules (scipy.stats, statsmodels: about a second) in a background thread.

    The file is read and validated meanwhile, mostly in pyarrow and NumPy, which release the GIL, so on a
    large file the import costs almost nothing; ``analyse`` imports the same modules and simply finds
    them loaded (Python's import lock makes it wait if the thread has not finished).
    """
    threading.Thread(target=importlib.import_module, args=("analysis.summary",), name="import-statistics",
                     daemon=True).start()


def _benchmarks(args) -> int:
    """``benchmarks``: NHS England's published figures for England and an organisation (no data file)."""
    from analysis import national

    try:
        block = national.benchmark_block(org=args.org, year=args.year)
    except LookupError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if args.format == "json":
        print(json.dumps(block, indent=2, ensure_ascii=False, allow_nan=False))
    else:
        print(national.benchmark_text(block))
    return EXIT_OK


def _benchmark_block(args, analysis, episodes) -> dict:
    """The ``benchmark`` block of ``summarize --benchmark-org`` (exact: safe mode is applied with the rest
    of the summary, by the rule :mod:`analysis.national` registers for this block)."""
    from analysis import national

    try:
        return national.benchmark_block(analysis.flags, episodes, org=args.benchmark_org, year=args.benchmark_year)
    except LookupError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(EXIT_ERROR) from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "benchmarks":
        try:
            return _benchmarks(args)
        except Exception as error:  # the last guard: a message, never a traceback
            print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
            return EXIT_ERROR
    if args.command != "validate":
        _start_loading_statistics()
    try:
        report = _load(args.file)
        if args.command == "validate":
            if report.usable:
                kind = report.level or "episode"
                print(f"{args.file}: usable ({report.row_count} rows, {kind} level, "
                      f"{len(report.episodes)} participants).")
                for note in report.notes:
                    print(f"note: {note}")
                return EXIT_OK
            print(f"{args.file}: {len(report.problems)} problem(s) — not usable until fixed.")
            print("\n".join(_problem_lines(report)))
            return EXIT_PROBLEMS
        _usable_or_exit(report, args.file)
        from analysis.summary import analyse

        analysis = analyse(report.episodes, source=Path(args.file).name, level=report.level or "episode",
                           notes=tuple(report.notes), adjusted=True)  # the summary and the report carry it
        if args.command == "summarize":
            benchmark = (_benchmark_block(args, analysis, report.episodes)
                         if args.benchmark_org else None)
            summary = analysis.to_dict()
            try:
                summary |= _benefit_overrides(args, analysis, summary)
            except ValueError as problem:
                print(f"error: {problem}", file=sys.stderr)
                return EXIT_ERROR
            if args.format == "json":
                if benchmark is not None:
                    summary["benchmark"] = benchmark
                if args.safe:
                    from analysis.disclosure import make_summary_safe

                    summary = make_summary_safe(summary)
                print(json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False))
            else:
                print(analysis.to_text(safe=args.safe, summary=summary))
                if benchmark is not None:
                    from analysis.national import benchmark_text, make_benchmark_safe

                    print("\n" + benchmark_text(make_benchmark_safe(benchmark) if args.safe else benchmark))
            return EXIT_OK
        if args.command == "report":
            from analysis.report import write_report

            try:
                extra = _benefit_overrides(args, analysis, {})
            except ValueError as problem:
                print(f"error: {problem}", file=sys.stderr)
                return EXIT_ERROR
            written = write_report(analysis, args.output, safe=args.safe, episodes=report.episodes, extra=extra)
            print(f"wrote {written}")
            return EXIT_OK
    except SystemExit as stop:
        return int(stop.code or 0)
    except KeyboardInterrupt:
        return EXIT_ERROR
    except Exception as error:  # the last guard: a message, never a traceback
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
