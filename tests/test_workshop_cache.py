"""The shared cache that serves data every visitor shares (the sample, a workshop data set), never an upload."""

from __future__ import annotations

import threading
import time

import pytest

from dashboard import shared_cache, state
from tests.apptest_support import APP, open_page
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def _fresh_cache():
    shared_cache.clear()
    yield
    shared_cache.clear()


def test_concurrent_first_requests_build_once_and_share_one_object():
    builds = []

    def build():
        builds.append(1)
        time.sleep(0.2)  # long enough for every thread to ask while it builds
        return object()

    got = [None] * 8
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, shared_cache.get_or_build(("k",), build)))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1
    assert all(g is got[0] for g in got)
    assert shared_cache.stats()["builds"] == 1 and shared_cache.stats()["hits"] == 7


def test_a_failed_build_is_not_stored_and_is_tried_again():
    def fail():
        raise ValueError("no")

    with pytest.raises(ValueError):
        shared_cache.get_or_build(("f",), fail)
    assert shared_cache.get_or_build(("f",), lambda: 3) == 3


def test_the_cache_is_bounded_oldest_first(monkeypatch):
    monkeypatch.setattr(shared_cache, "MAX_ENTRIES", 3)
    for i in range(5):
        shared_cache.get_or_build(("n", i), lambda i=i: i)
    assert shared_cache.stats()["entries"] == 3
    assert shared_cache.get_or_build(("n", 0), lambda: "rebuilt") == "rebuilt"  # 0 was dropped
    assert shared_cache.get_or_build(("n", 4), lambda: "rebuilt") == 4  # 4 was kept


def test_large_kinds_have_their_own_smaller_bound(monkeypatch):
    monkeypatch.setattr(shared_cache, "KIND_LIMITS", {"analysis": 2})
    for i in range(4):
        shared_cache.get_or_build(("analysis", "data", i), lambda i=i: i)
        shared_cache.get_or_build(("page", i), lambda i=i: i)
    kinds = [k[0] for k in shared_cache._entries]
    assert kinds.count("analysis") == 2 and kinds.count("page") == 4
    assert ("analysis", "data", 3) in shared_cache._entries and ("analysis", "data", 0) not in shared_cache._entries


def test_two_visitors_of_the_sample_get_the_same_figure_built_once():
    first = open_page("pages/recovery.py")
    builds = shared_cache.stats()["builds"]
    second = open_page("pages/recovery.py")
    assert shared_cache.stats()["builds"] == builds  # nothing built again for the second visitor
    assert shared_cache.stats()["hits"] > 0
    assert [c.proto.spec for c in first.get("plotly_chart")] == [c.proto.spec for c in second.get("plotly_chart")]
    assert state.SAMPLE_NAME and state.sample_dataset().shared


def test_an_upload_is_analysed_in_its_session_never_in_the_shared_cache():
    from streamlit.testing.v1 import AppTest

    from tests.test_privacy import upload

    content = (ROOT / "data" / "sample" / "synthetic_pilot_episodes.csv").read_bytes()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/data.py").run()
    upload(at, "room.csv", content)
    dataset = at.session_state[state.UPLOAD_KEY]
    assert not dataset.shared
    at.switch_page("pages/symptom_change.py").run()
    assert not at.exception
    at.switch_page("pages/recovery.py").run()
    assert not at.exception and at.get("plotly_chart")
    keys = list(shared_cache._entries)
    assert keys  # the sample was used before the upload (the sidebar, the first page)
    assert not any(dataset.token in repr(key) for key in keys)
    assert not any(value is dataset.episodes for value in shared_cache._entries.values())
    assert any(str(k[0]).startswith("upload-") for k in at.session_state["_page_memo"])
