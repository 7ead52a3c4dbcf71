"""dashboard/server_fixes.py, fix 4: the theme each run's ``new_session`` message carries is made once per
setting, byte for byte what Streamlit makes, and made again when a setting is written or re-parsed."""

from __future__ import annotations

import copy

import pytest
from streamlit import config
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.runtime import app_session

from dashboard import server_fixes

SECTIONS = ["theme", *(f"theme.{c.value}" for c in config.CustomThemeCategories)]


@pytest.fixture(scope="module", autouse=True)
def applied():
    assert server_fixes.apply() and server_fixes.apply()  # idempotent
    config.get_config_options()  # parsed, as in a running server


def _theme_bytes(populate) -> bytes:
    """The theme part of a new_session message, filled section by section as AppSession fills it."""
    msg = ForwardMsg()
    theme = msg.new_session.custom_theme
    populate(theme)
    for category in config.CustomThemeCategories:
        target = theme
        for part in category.value.split("."):
            target = getattr(target, part)
        populate(target, f"theme.{category.value}")
    return msg.SerializeToString()


def test_the_theme_is_what_streamlit_makes_and_is_made_once(monkeypatch):
    made = app_session._populate_theme_msg
    original = made.__wrapped__
    assert made is not original
    assert _theme_bytes(made) == _theme_bytes(original)
    assert b"#37474F" in _theme_bytes(made)  # the project's primary colour (.streamlit/config.toml) is in it
    listed: list[str] = []
    read = config.get_options_for_section
    monkeypatch.setattr(config, "get_options_for_section", lambda section: listed.append(section) or read(section))
    again = [_theme_bytes(made) for _ in range(3)]
    assert listed == []  # nothing changed: no run lists the settings again
    assert set(again) == {_theme_bytes(original)}
    assert len(listed) == len(SECTIONS)  # Streamlit's own lists all six sections for every run


def test_a_written_setting_is_in_the_next_runs_theme():
    made = app_session._populate_theme_msg
    before = config.get_option("theme.primaryColor")
    sidebar_before = config.get_option("theme.sidebar.backgroundColor")
    _theme_bytes(made)  # made and kept
    try:
        config.set_option("theme.primaryColor", "#123456")
        config.set_option("theme.sidebar.backgroundColor", "#fedcba")
        after = _theme_bytes(made)
        assert after == _theme_bytes(made.__wrapped__)
        assert b"#123456" in after and b"#fedcba" in after and b"#37474F" not in after
    finally:
        config.set_option("theme.primaryColor", before)
        config.set_option("theme.sidebar.backgroundColor", sidebar_before)
    assert _theme_bytes(made) == _theme_bytes(made.__wrapped__)
    assert b"#fedcba" not in _theme_bytes(made)


def test_a_reparsed_mapping_is_read_not_the_old_one(monkeypatch):
    made = app_session._populate_theme_msg
    _theme_bytes(made)
    fresh = copy.deepcopy(config._config_options)
    fresh["theme.primaryColor"].set_value("#abcdef", "test")
    monkeypatch.setattr(config, "_config_options", fresh)
    assert b"#abcdef" in _theme_bytes(made)
    assert config.get_options_for_section("theme")["primaryColor"] == "#abcdef"


def test_a_section_is_listed_once_and_handed_out_as_a_copy():
    first = config.get_options_for_section("theme")
    first["primaryColor"] = "changed by a caller"
    assert config.get_options_for_section("theme")["primaryColor"] == config.get_option("theme.primaryColor")
    assert config.get_options_for_section("theme") == config.get_options_for_section.__wrapped__("theme")


def test_writes_are_counted_as_they_start_and_end():
    start = server_fixes._CONFIG_WRITES[0]
    before = config.get_option("theme.primaryColor")
    config.set_option("theme.primaryColor", before)
    assert server_fixes._CONFIG_WRITES[0] == start + 2
    assert config._set_option.__wrapped__ is not config._set_option
