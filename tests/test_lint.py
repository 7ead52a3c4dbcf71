"""The code base passes ruff (pinned in requirements-dev.txt), so style rot fails CI."""

import shutil
import subprocess
import sys

from tests.conftest import ROOT


def test_ruff_is_clean():
    command = [shutil.which("ruff")] if shutil.which("ruff") else [sys.executable, "-m", "ruff"]
    result = subprocess.run([*command, "check", "analysis", "dashboard", "pages", "app.py", "tests", "benchmarks",
                             "data"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
