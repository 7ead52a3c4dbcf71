"""A work-around for a Streamlit 1.67 cost that a workshop pays on every reconnect.

With ``server.fileWatcherType = "none"`` (.streamlit/config.toml) a new session registers no file
watchers, but a session that *reconnects* (a laptop's wifi blinks, a proxy's websocket is re-opened)
does: ``WebSocketSessionManager.connect_session`` calls ``AppSession.register_file_watchers()`` without
checking the setting. The watcher then walks every module in ``sys.modules`` (thousands: pandas, plotly,
scipy, statsmodels) resolving their paths, about 0.35 s of CPU on the server's event loop after the next
script run, during which no other visitor's websocket is served. Measured with the protocol harness
(``--sticky``): 50 reconnects at once took the room's p95 from about 1 s to 20 s and more.

:func:`apply` makes ``register_file_watchers`` honour the setting, as the session's constructor already
does. Idempotent; a Streamlit without that method is left alone.
"""

from __future__ import annotations

_MARK = "_workshop_honours_file_watcher_type"


def apply() -> bool:
    """Install the work-around once per server process; True when it is (now or already) in place."""
    try:
        from streamlit import config
        from streamlit.runtime.app_session import AppSession
    except ImportError:  # a Streamlit without these: nothing to do
        return False
    original = getattr(AppSession, "register_file_watchers", None)
    if original is None:
        return False
    if getattr(original, _MARK, False):
        return True

    def register_file_watchers(self) -> None:
        if config.get_option("server.fileWatcherType") == "none":
            return  # as AppSession.__init__ does: no watchers when watching is off
        original(self)

    setattr(register_file_watchers, _MARK, True)
    register_file_watchers.__doc__ = original.__doc__
    AppSession.register_file_watchers = register_file_watchers
    return True
