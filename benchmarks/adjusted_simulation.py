"""Simulation proof of the adjusted analysis: confounded data with a known true effect in the PA group.

    python -m benchmarks.adjusted_simulation            # the full study (a few minutes) and the 10⁵-person CLI time
    python -m benchmarks.adjusted_simulation --quick    # a small version

Each replicate invents ``n`` finishers. Two baseline characteristics drive both the choice of physical
activity and the outcomes: a first score (more severe people chose PA more often) and a long-term
condition. The true effect of PA is the same for everyone, so the ATT is known exactly:

* score: last = 12 + 4·x + 2·ltc − 2·PA + noise (SD 3), so the ATT on the last score is **−2**;
* rate: P(recovered) = 0.30 + 0.12·x + 0.10·ltc + 0.15·PA (x in [−1, 1], so it stays in (0, 1)),
  so the ATT on the recovery rate is **+0.15** (15 points).

PA is chosen with logit P = −0.3 + 1.2·x + 0.8·ltc, so the unadjusted comparisons are biased (more
severe people, who end higher, chose PA). The study reports, for the unadjusted difference and the
adjusted (doubly robust, :func:`analysis.adjusted.adjust`) one: mean bias and the share of 95% CIs that
cover the truth.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

TRUE_SCORE_ATT = -2.0
TRUE_RATE_ATT = 0.15
SEED = 20261205


def simulate(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One confounded data set: (episodes, flags) as :func:`analysis.adjusted.adjust` reads them.

    Only the columns the adjusted analysis reads are built (group, ``phq9_first``, ``phq9_last``,
    ``ltc``; flags ``finished``, ``at_caseness`` and the four numerator flags)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    ltc = rng.random(n) < 0.35
    pa = rng.random(n) < 1 / (1 + np.exp(-(-0.3 + 1.2 * x + 0.8 * ltc)))
    last = 12 + 4 * x + 2 * ltc + TRUE_SCORE_ATT * pa + rng.normal(0, 3, n)
    recovered = rng.random(n) < 0.30 + 0.12 * x + 0.10 * ltc + TRUE_RATE_ATT * pa
    episodes = pd.DataFrame({
        "participant_id": [f"SIM-{i:06d}" for i in range(n)],
        "group": np.where(pa, "physical_activity", "control"),
        "phq9_first": np.round(14 + 5 * x, 6), "phq9_last": last,
        "ltc": np.where(ltc, "Yes", "No"),
    })
    true = np.ones(n, dtype=bool)
    flags = pd.DataFrame({"finished": true, "at_caseness": true, "recovered": recovered,
                          "reliable_recovery": recovered, "reliable_improvement": recovered,
                          "reliable_deterioration": ~recovered}, index=episodes.index)
    return episodes, flags


@dataclass(frozen=True)
class StudyResult:
    replicates: int
    n: int
    ci_method: str
    bias: dict[str, float]  # (unadjusted|adjusted)_(rate|score)
    coverage: dict[str, float]
    failed: int
    seconds: float

    def lines(self) -> list[str]:
        out = [f"{self.replicates} replicates of {self.n} people, adjusted CI by {self.ci_method} "
               f"({self.seconds:.1f} s; {self.failed} replicates without an adjusted CI)"]
        for outcome, truth, unit in (("rate", TRUE_RATE_ATT, 100), ("score", TRUE_SCORE_ATT, 1)):
            what = "recovery rate (points)" if outcome == "rate" else "last score (points)"
            out.append(f"  {what}: true ATT {truth * unit:+.1f}; "
                       f"unadjusted bias {self.bias['unadjusted_' + outcome] * unit:+.2f}, "
                       f"coverage {self.coverage['unadjusted_' + outcome]:.1%}; "
                       f"adjusted bias {self.bias['adjusted_' + outcome] * unit:+.2f}, "
                       f"coverage {self.coverage['adjusted_' + outcome]:.1%}")
        return out


def _unadjusted(y: np.ndarray, pa: np.ndarray) -> tuple[float, float, float]:
    """Difference in means with a Welch normal 95% CI."""
    a, b = y[pa], y[~pa]
    difference = a.mean() - b.mean()
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return difference, difference - 1.96 * se, difference + 1.96 * se


def study(replicates: int, n: int, seed: int = SEED, bootstrap: bool = True, resamples: int = 1000) -> StudyResult:
    """Run the simulation: bias and CI coverage, unadjusted and adjusted, on the rate and the score."""
    from analysis.adjusted import adjust

    truth = {"rate": TRUE_RATE_ATT, "score": TRUE_SCORE_ATT}
    estimates: dict[str, list[float]] = {f"{k}_{o}": [] for k in ("unadjusted", "adjusted") for o in truth}
    covered: dict[str, list[bool]] = {key: [] for key in estimates}
    failed = 0
    started = time.perf_counter()
    for replicate in range(replicates):
        episodes, flags = simulate(n, seed + replicate)
        pa = (episodes["group"] == "physical_activity").to_numpy()
        values = {"rate": flags["recovered"].to_numpy(dtype=float),
                  "score": episodes["phq9_last"].to_numpy(dtype=float)}
        result = adjust(episodes, flags, covariates=["phq9_first", "ltc"], resamples=resamples,
                        seed=seed + replicate, measures=("phq9",), bootstrap_max_n=n if bootstrap else 0)
        effects = {"rate": result.effects["recovery"].difference, "score": result.effects["phq9"].difference}
        for outcome, true_value in truth.items():
            difference, low, high = _unadjusted(values[outcome], pa)
            estimates[f"unadjusted_{outcome}"].append(difference)
            covered[f"unadjusted_{outcome}"].append(low <= true_value <= high)
            effect = effects[outcome]
            if effect.estimate is None or effect.ci95 is None:
                failed += 1
                continue
            estimates[f"adjusted_{outcome}"].append(effect.estimate)
            covered[f"adjusted_{outcome}"].append(effect.ci95[0] <= true_value <= effect.ci95[1])
    return StudyResult(
        replicates=replicates, n=n, ci_method="bootstrap" if bootstrap else "sandwich",
        bias={key: float(np.mean(v)) - truth[key.split("_")[1]] for key, v in estimates.items()},
        coverage={key: float(np.mean(v)) for key, v in covered.items()}, failed=failed,
        seconds=time.perf_counter() - started)


def cli_time(n: int = 100_000, rounds: int = 3) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(wall, CPU) seconds for ``python -m analysis summarize`` on an n-episode CSV, and for :func:`adjust`
    alone in-process on the same data (each ``rounds`` times). CPU time (user + system) is reported beside
    the wall time because on a shared machine the wall time mostly measures the other processes."""
    import resource

    def children_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    from analysis.adjusted import adjust
    from analysis.outcomes import with_derived_columns
    from analysis.validate import load_path
    from benchmarks.generate import episode_files

    path, _ = episode_files(n, parquet=False)
    cli = []
    for _ in range(rounds):
        started, cpu = time.perf_counter(), children_cpu()
        subprocess.run([sys.executable, "-m", "analysis", "summarize", str(path), "--format", "json"],
                       check=True, stdout=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1])
        cli.append((time.perf_counter() - started, children_cpu() - cpu))
    episodes = with_derived_columns(load_path(path).episodes)
    alone = []
    for _ in range(rounds):
        started, cpu = time.perf_counter(), time.process_time()
        adjust(episodes)
        alone.append((time.perf_counter() - started, time.process_time() - cpu))
    return cli, alone


def page_times(n: int = 100_000, reruns: int = 3) -> list[tuple[str, float, float]]:
    """(page, first visit s, median rerun s) for the Overview and the adjusted page on an n-episode upload."""
    from benchmarks.app_timing import page_timings
    from benchmarks.generate import episode_files

    path, _ = episode_files(n, parquet=False)
    timings, _ = page_timings(reruns=reruns, upload=path, pages=["pages/overview.py", "pages/adjusted.py"])
    return [(t.page, t.first_load, float(np.median(t.reruns))) for t in timings]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.adjusted_simulation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small study (CI smoke test)")
    parser.add_argument("--replicates", type=int, default=None)
    parser.add_argument("--skip-cli", action="store_true", help="skip the 100,000-person CLI and page timings")
    args = parser.parse_args(argv)
    replicates = args.replicates or (20 if args.quick else 300)
    print("Simulation study of the adjusted analysis (python -m benchmarks.adjusted_simulation)")
    for bootstrap, n in ((True, 400), (False, 2000)):
        result = study(replicates, n, bootstrap=bootstrap, resamples=200 if args.quick else 1000)
        print("\n".join(result.lines()))
    if not args.skip_cli:
        n = 2000 if args.quick else 100_000
        cli, alone = cli_time(n, rounds=1 if args.quick else 3)
        for what, times in ((f"CLI summarize, {n:,} episodes (everything, adjusted included)", cli),
                            ("adjust() alone on the same data", alone)):
            print(f"{what}: wall " + ", ".join(f"{w:.2f}" for w, _ in times) + " s; CPU "
                  + ", ".join(f"{c:.2f}" for _, c in times) + f" s (medians {np.median([w for w, _ in times]):.2f} "
                  f"and {np.median([c for _, c in times]):.2f} s)")
        for page, first, rerun in page_times(n, reruns=1 if args.quick else 3):
            print(f"{page} on a {n:,}-episode upload: first visit {first:.2f} s, rerun {rerun:.3f} s (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
