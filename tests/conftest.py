"""Shared fixtures: the bundled sample, loaded through the same path users take."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SAMPLE_EPISODES = ROOT / "data" / "sample" / "synthetic_pilot_episodes.csv"
SAMPLE_SESSIONS = ROOT / "data" / "sample" / "synthetic_pilot_sessions.csv"


@pytest.fixture(scope="session")
def sample_episodes():
    from analysis.validate import load_path

    report = load_path(SAMPLE_EPISODES)
    assert report.usable, report.problems
    return report.episodes


@pytest.fixture(scope="session")
def sample_analysis(sample_episodes):
    from analysis.summary import analyse

    return analyse(sample_episodes, source=SAMPLE_EPISODES.name)


@pytest.fixture(scope="session")
def app_sample():
    """The app's default data — the session-level sample reduced to episodes, with derived
    columns — and its analysis: what the pages should show unfiltered."""
    from analysis.outcomes import with_derived_columns
    from analysis.summary import analyse
    from analysis.validate import load_path

    episodes = with_derived_columns(load_path(SAMPLE_SESSIONS).episodes)
    return episodes, analyse(episodes)


@pytest.fixture
def svg_chromium() -> str:
    """The Chromium that draws SVG downloads; without one, skip locally and fail on CI (``CI=true``),
    as the browser tests do (``.ci/run`` installs Debian's chromium first)."""
    import os

    from analysis.figures import svg

    unavailable = svg.svg_unavailable_reason()
    if unavailable is not None:
        reason = f"SVGs cannot be drawn here: {unavailable}"
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(f"{reason} (CI=true, so these tests must run)", pytrace=False)
        pytest.skip(reason)
    return svg.svg_browser()
