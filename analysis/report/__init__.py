"""Exports of the story: a PowerPoint deck (.pptx) and a self-contained offline report (.html).

Both are built from one list of slides (:func:`analysis.report.story.build_story`), so the
deck, the report, presentation mode and the CLI tell the same story with the same numbers.

    python -m analysis report FILE --output deck.pptx|report.html [--safe]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.report.deck import build_deck
from analysis.report.html import build_html
from analysis.report.story import ChartSpec, Slide, build_story
from analysis.summary import Analysis

SUFFIXES = {".pptx": "PowerPoint deck", ".html": "offline HTML report"}
FILE_PREFIX = "pa-talking-therapies"


def report_file_name(source: str, suffix: str, safe: bool = False, synthetic: bool = False,
                     day: date | None = None) -> str:
    """A file name that says what the file is: ``pa-talking-therapies-<source>-<YYYY-MM-DD>[-safe].pptx``.

    The source slug is ``synthetic-sample`` for the bundled sample, else the data file's name
    without its extension, lower-cased to letters, digits and hyphens (at most 40 characters).
    """
    if synthetic:
        slug = "synthetic-sample"
    else:
        stem = Path(source).stem if source else ""
        slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:40].strip("-") or "data"
    day = day or date.today()
    suffix = suffix if suffix.startswith(".") else "." + suffix
    return f"{FILE_PREFIX}-{slug}-{day.isoformat()}{'-safe' if safe else ''}{suffix}"


def write_report(analysis: Analysis, output: str | Path, safe: bool = False,
                 filters: Mapping[str, tuple[str, ...]] | None = None, excluded_rows: tuple = (), *,
                 episodes: pd.DataFrame | None = None, extra: Mapping[str, Any] | None = None) -> Path:
    """Write the deck (.pptx) or the offline report (.html), chosen by ``output``'s suffix.

    ``episodes`` (the analysed episode frame) adds the baseline-balance figures. Any other
    suffix raises ``ValueError`` naming the two that work. Returns the path written.
    """
    path = Path(output)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"cannot write a report to {path.name!r}: the output must end in .pptx (slide deck) "
                         "or .html (offline report)")
    if suffix == ".pptx":
        path.write_bytes(build_deck(analysis, safe=safe, filters=filters, excluded_rows=excluded_rows,
                                    episodes=episodes, extra=extra))
    else:
        path.write_text(build_html(analysis, safe=safe, filters=filters, excluded_rows=excluded_rows,
                                   episodes=episodes, extra=extra), encoding="utf-8")
    return path


__all__ = ["ChartSpec", "Slide", "build_deck", "build_html", "build_story", "report_file_name", "write_report"]
