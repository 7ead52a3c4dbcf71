"""dashboard/operator_settings.py: the operator's secrets.toml is read once per script run, not once per
setting, and a change is seen by the next run."""

from __future__ import annotations

import logging

import pytest
import streamlit as st
from streamlit import config
from streamlit.runtime.secrets import Secrets
from streamlit.testing.v1 import AppTest

from dashboard import operator_settings
from tests.apptest_support import APP, assert_clean


def test_each_run_reads_the_secrets_once_however_many_settings_it_asks_for(monkeypatch):
    reads: list[int] = []
    to_dict = Secrets.to_dict
    monkeypatch.setattr(Secrets, "to_dict", lambda self: reads.append(1) or to_dict(self))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["passcode"] = "letmein"
    at.run()
    assert_clean(at)
    assert at.text_input[0].label == "Passcode"  # the passcode, from the one read, still asked for
    assert len(reads) == 1
    at.text_input[0].input("letmein")
    at.button[0].click().run()  # the form's button: a run, then the st.rerun that lets the visitor in
    assert_clean(at)
    runs = 2  # the submit run and its rerun
    assert len(reads) == 1 + runs
    assert "Overview" in [t.value for t in at.title]  # through app.py, the sidebar and the page: still one read a run


def test_outside_a_run_every_call_reads_again(monkeypatch):
    values = iter([{"passcode": "one"}, {"passcode": "two"}])
    monkeypatch.setattr(Secrets, "to_dict", lambda self: next(values))
    assert operator_settings.secret("passcode") == "one"
    assert operator_settings.secret("passcode") == "two"


@pytest.fixture
def secrets_file(tmp_path):
    """Point Streamlit at one secrets file under tmp_path (written by the test, or not), as an operator's
    .streamlit/secrets.toml; Streamlit's own setting and parsed secrets are put back afterwards."""
    path = tmp_path / "secrets.toml"
    saved = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(path)])
    st.secrets._reset()
    yield path
    config.set_option("secrets.files", saved)
    st.secrets._reset()


def test_no_secrets_file_is_no_settings_and_no_problem(secrets_file):
    assert not secrets_file.exists()
    assert operator_settings.secrets() == {} and operator_settings.secret("passcode") is None
    assert operator_settings.problem() is None


def test_a_secrets_file_that_does_not_parse_keeps_every_page_closed_and_says_why_in_the_log(secrets_file, caplog):
    """A passcode with a typo around it must not become no passcode: the app stays closed until it is fixed."""
    secrets_file.write_text('passcode = "letmein\n')  # the closing quote forgotten
    assert operator_settings.secrets() == {}
    assert "Error parsing secrets file" in operator_settings.problem()
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/recovery.py")  # a deep link as well
    with caplog.at_level(logging.ERROR, logger=operator_settings.__name__):
        at.run()
        at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The operator's settings file (`.streamlit/secrets.toml`) could not be read, so the dashboard stays closed "
        "until it is fixed. The server's log says why."]
    assert "letmein" not in " ".join(e.value for e in at.error)
    assert len(at.title) == 0 and len(at.text_input) == 0 and len(at.sidebar.radio) == 0  # no page, no form
    logged = [r.getMessage() for r in caplog.records if "stays closed" in r.getMessage()]
    assert len(logged) == 1 and str(secrets_file) in logged[0]  # once for two runs, naming the file
    secrets_file.write_text('passcode = "letmein"\n')  # fixed: the next run asks for the passcode
    st.secrets._reset()
    at.run()
    assert not at.exception and len(at.error) == 0
    assert at.text_input[0].label == "Passcode"
