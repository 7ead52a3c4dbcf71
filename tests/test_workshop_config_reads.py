"""dashboard/server_fixes.py, fix 3: reading a Streamlit setting no longer waits for the config lock,
and reads exactly what Streamlit's own functions read."""

from __future__ import annotations

import copy
import threading

import pytest
from streamlit import config

from dashboard import server_fixes


@pytest.fixture(scope="module", autouse=True)
def applied():
    assert server_fixes.apply() and server_fixes.apply()  # idempotent
    config.get_config_options()  # parsed, as in a running server


def _in_thread(function, *args):
    """Run ``function`` in a thread; its result, or 'blocked' when it has not returned within 2 s."""
    result: list = []
    thread = threading.Thread(target=lambda: result.append(function(*args)), daemon=True)
    thread.start()
    thread.join(2.0)
    return result[0] if result else "blocked"


def test_every_setting_reads_as_streamlit_reads_it():
    original = config.get_option.__wrapped__
    assert config.get_option is not original
    for key in config._config_options:
        assert config.get_option(key) == original(key), key


def test_an_unknown_setting_still_raises():
    with pytest.raises(RuntimeError, match="not defined"):
        config.get_option("no.suchOption")


def test_a_setting_is_read_while_another_thread_holds_the_config_lock():
    with config._config_lock:  # this thread holds it; the reader is another thread
        assert _in_thread(config.get_option, "server.maxUploadSize") == config._config_options[
            "server.maxUploadSize"].value
        section = _in_thread(config.get_options_for_section, "theme")
    assert section != "blocked" and section == config.get_options_for_section.__wrapped__("theme")
    # Streamlit's own functions do wait for it (what the fix removes)
    with config._config_lock:
        assert _in_thread(config.get_option.__wrapped__, "server.maxUploadSize") == "blocked"
    # the blocked reader finishes once the lock is free; nothing is left waiting
    assert config.get_option("server.maxUploadSize") == config.get_option.__wrapped__("server.maxUploadSize")


def test_sections_match_streamlits_and_see_a_change_made_with_set_option():
    original = config.get_options_for_section.__wrapped__
    for section in ("theme", "theme.sidebar", "server", "client", "runner", "global"):
        assert config.get_options_for_section(section) == original(section), section
    before = config.get_option("theme.primaryColor")
    try:
        config.set_option("theme.primaryColor", "#123456")
        assert config.get_options_for_section("theme")["primaryColor"] == "#123456"
        assert config.get_option("theme.primaryColor") == "#123456"
    finally:
        config.set_option("theme.primaryColor", before)
    assert config.get_options_for_section("theme") == original("theme")


def test_a_reparsed_mapping_is_read_not_the_old_one(monkeypatch):
    fresh = copy.deepcopy(config._config_options)
    fresh["server.maxUploadSize"].set_value(7, "test")
    fresh["theme.primaryColor"].set_value("#abcdef", "test")
    config.get_options_for_section("theme")  # listed from the old mapping first
    monkeypatch.setattr(config, "_config_options", fresh)
    assert config.get_option("server.maxUploadSize") == 7
    assert config.get_options_for_section("theme")["primaryColor"] == "#abcdef"


def test_a_stand_in_for_get_option_is_left_in_place():
    """AppTest swaps get_option for one that answers global.appTest = True while a test's script runs; the
    app's apply() (in app.py) must not replace that stand-in with a direct read of the settings."""
    from streamlit.testing.v1.util import patch_config_options

    with patch_config_options({"global.appTest": True}):
        stand_in = config.get_option
        assert server_fixes.apply() is False  # this fix is not in place while the stand-in is
        assert config.get_option is stand_in and config.get_option("global.appTest") is True
    assert config.get_option("global.appTest") is False and getattr(config.get_option, "__wrapped__", None)
