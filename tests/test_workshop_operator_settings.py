"""dashboard/operator_settings.py: the operator's secrets.toml is read once per script run, not once per
setting, and a change is seen by the next run."""

from __future__ import annotations

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


def test_outside_a_run_every_call_reads_again_and_no_secrets_file_is_empty(monkeypatch):
    values = iter([{"passcode": "one"}, {"passcode": "two"}])
    monkeypatch.setattr(Secrets, "to_dict", lambda self: next(values))
    assert operator_settings.secret("passcode") == "one"
    assert operator_settings.secret("passcode") == "two"

    def missing(self):
        raise FileNotFoundError("no secrets.toml")

    monkeypatch.setattr(Secrets, "to_dict", missing)
    assert operator_settings.secrets() == {} and operator_settings.secret("passcode") is None
