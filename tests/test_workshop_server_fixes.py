"""dashboard/server_fixes.py: a reconnecting session registers no file watchers when watching is off."""

from __future__ import annotations

import pytest
from streamlit import config
from streamlit.runtime.app_session import AppSession

from dashboard import server_fixes


@pytest.fixture
def watcher_type():
    before = config.get_option("server.fileWatcherType")
    yield lambda value: config.set_option("server.fileWatcherType", value)
    config.set_option("server.fileWatcherType", before)


class _Bare(AppSession):
    def __del__(self) -> None:  # never constructed for real: nothing to shut down
        pass


def _bare_session(monkeypatch) -> tuple[AppSession, list]:
    session = _Bare.__new__(_Bare)  # no runtime: only the attributes the method reads
    session._local_sources_watcher = None
    created = []

    class Watcher:
        def __init__(self, pages_manager):
            created.append(pages_manager)

        def register_file_change_callback(self, callback):
            pass

    monkeypatch.setattr("streamlit.runtime.app_session.LocalSourcesWatcher", Watcher)
    monkeypatch.setattr("streamlit.runtime.app_session.secrets_singleton.file_change_listener.connect",
                        lambda *a, **k: None)
    session._pages_manager = object()
    return session, created


def test_reconnect_registers_no_watchers_when_watching_is_off(monkeypatch, watcher_type):
    assert server_fixes.apply() and server_fixes.apply()  # idempotent
    watcher_type("none")
    session, created = _bare_session(monkeypatch)
    session.register_file_watchers()
    assert created == [] and session._local_sources_watcher is None


def test_watchers_are_still_registered_when_watching_is_on(monkeypatch, watcher_type):
    server_fixes.apply()
    watcher_type("poll")
    session, created = _bare_session(monkeypatch)
    monkeypatch.setattr("streamlit.runtime.app_session.config.on_config_parsed", lambda *a, **k: (lambda: None))
    session.register_file_watchers()
    assert len(created) == 1 and session._local_sources_watcher is not None
