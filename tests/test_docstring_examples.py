"""Every ``>>>`` example in a docstring of analysis/ and dashboard/ runs and prints what it says.

The examples are documentation (the style of pingouin's docstrings): a wrong one misleads whoever reads it.
``dashboard/ui.py``'s ``md_escape`` example had drifted (a backslash read as an escape) unnoticed, because
nothing ran them.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for folder in ("analysis", "dashboard") for path in (ROOT / folder).rglob("*.py")
    if ">>> " in path.read_text(encoding="utf-8")
)


def test_the_examples_are_found():
    assert "dashboard.ui" in MODULES and "analysis.schema" in MODULES and len(MODULES) >= 10


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name}: no example ran"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
