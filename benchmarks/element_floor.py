"""What Streamlit's elements alone cost a room of 50: the one-headline baseline with N more lines.

    python -m benchmarks.element_floor                       # N = 25, 50, 100; 50 visitors at once; 2 rounds
    python -m benchmarks.element_floor --lines 50 100 --visitors 50 --rounds 3
    python -m benchmarks.element_floor --lines 100 --rounds 3 --server-fixes   # the copies with the dashboard's
                                                                                # dashboard/server_fixes.py applied

The workshop target compares the dashboard with the one-headline baseline app (``benchmarks/baseline_app.py``,
3 elements) under 50 protocol visitors at the same instant (``benchmarks/protocol.py``). This runs that
baseline beside copies of itself that draw N more one-line Markdown paragraphs (``BASELINE_EXTRA_LINES``):
no data, no analysis, no widgets, no charts. Each round measures the copy and then the plain baseline, and
prints the p95 ratio for the first view and the filter change, so the ratio a page of N bare elements
reaches is known on this machine, in the same run. A dashboard page sends 45 to 80 elements a run (its sidebar
alone is 15, 10 of them widgets), most of them heavier than a line of Markdown.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from benchmarks.load import ROOT, Server
from benchmarks.protocol import BASELINE_PAGE, _warm, run_protocol, run_sync


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.element_floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[25, 50, 100], help="extra lines (default 25 50 100)")
    parser.add_argument("--visitors", type=int, default=50, help="visitors at the same instant (default 50)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per size (default 2)")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--server-fixes", action="store_true",
                        help="apply the dashboard's server work-arounds (dashboard/server_fixes.py) in the copies with "
                             "more lines (BASELINE_SERVER_FIXES=1); the plain baseline stays plain")
    args = parser.parse_args(argv)
    out = ROOT / "benchmarks" / "out"
    try:
        with contextlib.ExitStack() as stack:
            base = stack.enter_context(Server(out / "floor-baseline.log", script="benchmarks/baseline_app.py"))
            _warm(base.url, [BASELINE_PAGE], "f_gender=Female", args.timeout)
            for lines in args.lines:
                with Server(out / f"floor-{lines}.log", script="benchmarks/baseline_app.py",
                            env={"BASELINE_EXTRA_LINES": str(lines),
                                 **({"BASELINE_SERVER_FIXES": "1"} if args.server_fixes else {})}) as server:
                    _warm(server.url, [BASELINE_PAGE], "f_gender=Female", args.timeout)
                    for round_ in range(1, args.rounds + 1):
                        ratios = []
                        found = {}
                        for label, url, pid in ((f"+{lines} lines", server.url, server.process.pid),
                                                ("baseline", base.url, base.process.pid)):
                            r = run_sync(run_protocol(url, args.visitors, [BASELINE_PAGE], timeout_s=args.timeout,
                                                      server_pids=[pid]))
                            if r.errors:
                                print(f"{label}: {len(r.errors)} errors, e.g. {r.errors[0]}", file=sys.stderr)
                                return 1
                            found[label] = {step: r.summary(step)["p95"] for step in ("first", "filtered")}
                        for step in ("first", "filtered"):
                            mine, yard = found[f"+{lines} lines"][step], found["baseline"][step]
                            ratios.append(f"{step} p95 {mine:.2f} s vs {yard:.2f} s = {mine / yard:.1f}×")
                        print(f"{3 + lines} elements (baseline + {lines} lines), round {round_}: " + "; ".join(ratios),
                              flush=True)
    except Exception as error:  # noqa: BLE001 - a message, not a traceback
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
