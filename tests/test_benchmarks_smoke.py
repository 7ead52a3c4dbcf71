"""The performance harness runs end to end at tiny sizes and prints its tables (``python -m benchmarks --quick``).

The real measurements come from ``python -m benchmarks`` (see the README's "Performance"); this test
only guards the harness itself in CI: every stage runs, the table and the target verdicts are printed,
and the figures it compares agree (the CLI gives the same numbers for a Parquet file as for the same
data as CSV).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 240  # about 40 s on an idle 2-core machine; generous for a shared CI runner


def test_quick_benchmark_completes_and_prints_the_table(tmp_path):
    start = time.monotonic()
    completed = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path)], cwd=ROOT,
                               capture_output=True, text=True, timeout=TIMEOUT_S,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    elapsed = time.monotonic() - start
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = completed.stdout
    for heading in ("== Pipeline stages", "== Statistical core vs pingouin", "== Pages on the sample", "== Targets"):
        assert heading in out, f"{heading!r} missing from the report:\n{out[-3000:]}"
    targets = out.split("== Targets", 1)[1]
    assert "points per chart" in targets and "rerun on the sample" in targets
    verdict_lines = [line for line in targets.splitlines() if line.rstrip().endswith(("PASS", "FAIL", "n/a (smaller n)"))]
    assert len(verdict_lines) >= 8, targets

    results = json.loads((tmp_path / "results.json").read_text())
    kinds = {row["kind"] for row in results["files"]}
    assert kinds == {"episode CSV", "session CSV"}
    episode = next(row for row in results["files"] if row["kind"] == "episode CSV")
    assert episode["parquet_same_figures"] is True  # the CLI reads Parquet to the same numbers as the CSV
    assert episode["cli_s"] > 0 and episode["max_rss_mb"] > 0
    # the CLI is timed in rounds with its yardsticks; the ratio is worked out within each round
    assert len(episode["cli_all_s"]) == len(episode["tiny_all_s"]) == len(episode["ratio_all"]) == 1
    assert episode["ratio_all"][0] == max(episode["cli_all_s"][0] - episode["tiny_all_s"][0], 0.0) \
        / episode["pyarrow_read_all_s"][0]
    from benchmarks.app_timing import page_files

    sample_pages = [page["page"] for page in results["pages"]["sample"]["pages"]]
    assert sample_pages == page_files()  # every page listed in app.py was timed
    assert all(len(page["reruns"]) >= 3 for page in results["pages"]["sample"]["pages"])
    print(f"python -m benchmarks --quick took {elapsed:.0f} s")
