"""Performance harness: synthetic files of any size, stage timings, CLI, memory, pages, load.

    python -m benchmarks            # the standard run (10³–10⁶ episodes, 10⁶ and 2·10⁶ session rows)
    python -m benchmarks --quick    # tiny sizes only, for the CI smoke test (under a minute)
    python -m benchmarks --full     # also 10⁷ session rows
    python -m benchmarks.load --sessions 20   # the workshop load test (real browsers)

Outputs (generated files, ``results.json``) go to ``benchmarks/out/`` (gitignored).
"""
