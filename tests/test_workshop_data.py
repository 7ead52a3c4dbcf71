"""An operator's workshop data set: configured on the server, loaded once, shared read-only, safe numbers forced."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis.disclosure import SAFE_MODE_NOTE
from dashboard import shared_cache, state
from tests.apptest_support import APP, assert_clean, page_text
from tests.conftest import ROOT
from tests.test_privacy import upload

SAMPLE = ROOT / "data" / "sample" / "synthetic_pilot_episodes.csv"
MARK = "WSROOM"  # in every participant id of the workshop file: must never be shown, logged or written


@pytest.fixture
def workshop_file(tmp_path, monkeypatch):
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)
    frame["participant_id"] = [f"{MARK}-{i:03d}" for i in range(len(frame))]
    path = tmp_path / "room-secret-name.csv"
    frame.to_csv(path, index=False)
    monkeypatch.setenv(state.WORKSHOP_ENV, str(path))
    shared_cache.clear()
    yield path
    shared_cache.clear()


def _session(query: dict | None = None, secrets: dict | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert_clean(at)
    return at


def _safe_toggle(at: AppTest):
    return at.sidebar.toggle(key=state.SAFE_KEY)


def test_every_viewer_sees_the_workshop_data_with_safe_numbers_forced(workshop_file):
    at = _session(page="pages/recovery.py")
    assert any("workshop data set" in i.value for i in at.info)
    assert any(s.value == SAFE_MODE_NOTE for s in at.success)
    toggle = _safe_toggle(at)
    assert toggle.value is True and toggle.proto.disabled
    dataset = state.shared_dataset()
    assert state.is_workshop(dataset) and dataset.shared and not dataset.is_sample
    assert set(dataset.episodes["participant_id"].str[:len(MARK)]) == {MARK}
    assert workshop_file.name not in page_text(at) and str(workshop_file) not in page_text(at)


def test_the_url_cannot_turn_safe_numbers_off(workshop_file):
    at = _session(query={"safe": "false"}, page="pages/overview.py")
    assert _safe_toggle(at).value is True
    assert any(s.value == SAFE_MODE_NOTE for s in at.success)


def test_loaded_once_and_shared_read_only_by_every_session(workshop_file, monkeypatch):
    import analysis.validate as validate

    calls = []
    real = validate.load_path
    monkeypatch.setattr(validate, "load_path", lambda path: calls.append(path) or real(path))
    first, second = _session(), _session(page="pages/symptom_change.py")
    assert len(calls) == 1
    keys = [k for k in shared_cache._entries if k[0] == "workshop"]
    assert len(keys) == 1
    assert state.workshop_dataset() is state.workshop_dataset()
    assert any("workshop data set" in i.value for i in first.info)
    assert any("workshop data set" in i.value for i in second.info)


def test_an_unlocked_analyst_may_turn_safe_numbers_off_in_their_own_session_only(workshop_file):
    """The unlock itself (passcode typed, button clicked) runs against a real server in
    tests/e2e/test_workshop_analyst.py: AppTest does not deliver a sidebar button's click after st.navigation."""
    secrets = {"analyst_passcode": "only-analysts"}
    at = _session(secrets=secrets, page="pages/recovery.py")
    assert [t.label for t in at.sidebar.text_input] == ["Analyst passcode"]
    at.session_state[state.ANALYST_KEY] = True  # what unlock_analyst sets on the right passcode
    at.run()
    assert not _safe_toggle(at).proto.disabled and not at.sidebar.text_input
    _safe_toggle(at).set_value(False).run()
    assert_clean(at)
    assert not any(s.value == SAFE_MODE_NOTE for s in at.success)
    other = _session(secrets=secrets, page="pages/recovery.py")  # someone else in the room: still forced
    assert _safe_toggle(other).value is True and _safe_toggle(other).proto.disabled


def test_without_an_analyst_passcode_nobody_can_turn_them_off(workshop_file):
    at = _session(secrets={"passcode": "room"})  # the room's passcode is not the analyst's
    at.text_input[0].input("room")
    at.button[0].click().run()
    assert_clean(at)
    assert _safe_toggle(at).proto.disabled and not [t for t in at.sidebar.text_input if "Analyst" in t.label]


def test_an_upload_stays_private_while_the_room_sees_the_workshop_data(workshop_file):
    mine = _session(page="pages/data.py")
    upload(mine, "mine.csv", SAMPLE.read_bytes())
    mine_dataset = mine.session_state[state.UPLOAD_KEY]
    assert mine_dataset.name == "mine.csv" and not mine_dataset.shared
    mine.switch_page("pages/overview.py").run()
    assert any(i.value.startswith("Showing your uploaded file") for i in mine.info)
    theirs = _session(page="pages/overview.py")
    assert any("workshop data set" in i.value for i in theirs.info)
    assert not any(mine_dataset.token in repr(k) for k in shared_cache._entries)
    assert not any(v is mine_dataset.episodes for v in shared_cache._entries.values())


def test_a_broken_workshop_file_falls_back_to_the_sample_without_quoting_it(tmp_path, monkeypatch):
    bad = tmp_path / "broken.csv"
    bad.write_text(f"participant_id,group,phq9_first,phq9_last,gad7_first,gad7_last\n{MARK}-1,nonsense,99,1,1,1\n")
    monkeypatch.setenv(state.WORKSHOP_ENV, str(bad))
    shared_cache.clear()
    at = _session()
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert "workshop data set cannot be used" in warning and "validation" in warning
    assert MARK not in warning and "nonsense" not in warning and "99" not in warning
    assert any("bundled synthetic sample" in i.value for i in at.info)
    missing = tmp_path / "missing.csv"
    monkeypatch.setenv(state.WORKSHOP_ENV, str(missing))
    at = _session()
    assert any("does not exist" in w.value for w in at.sidebar.warning)
    shared_cache.clear()


def test_nothing_of_the_workshop_data_is_logged_or_written(workshop_file, caplog, capfd, tmp_path):
    caplog.set_level(logging.DEBUG)
    before = {p: p.stat().st_mtime_ns for p in ROOT.rglob("*") if p.is_file() and ".git" not in p.parts}
    for page in ("pages/overview.py", "pages/symptom_change.py", "pages/recovery.py", "pages/who_benefits.py"):
        _session(page=page)
    out, err = capfd.readouterr()
    assert MARK not in caplog.text and MARK not in out and MARK not in err
    after = {p for p in ROOT.rglob("*") if p.is_file() and ".git" not in p.parts and "__pycache__" not in p.parts}
    assert {p for p in after if p not in before and "test-artifacts" not in p.parts} == set()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["room-secret-name.csv"]
