"""Work-arounds for four Streamlit 1.67 costs that a workshop pays: on every reconnect, on every element, on every read of a setting and on every run's theme.

**1. Reconnects.**

With ``server.fileWatcherType = "none"`` (.streamlit/config.toml) a new session registers no file
watchers, but a session that *reconnects* (a laptop's wifi blinks, a proxy's websocket is re-opened)
does: ``WebSocketSessionManager.connect_session`` calls ``AppSession.register_file_watchers()`` without
checking the setting. The watcher then walks every module in ``sys.modules`` (thousands: pandas, plotly,
scipy, statsmodels) resolving their paths, about 0.35 s of CPU on the server's event loop after the next
script run, during which no other visitor's websocket is served. Measured with the protocol harness
(``--sticky``): 50 reconnects at once took the room's p95 from about 1 s to 20 s and more.

:func:`apply` makes ``register_file_watchers`` honour the setting, as the session's constructor already
does. Idempotent; a Streamlit without that method is left alone.

**2. One wake-up of the event loop per element.** Every element a script run draws (a heading, a table,
a button) is handed from the script's thread to the server's event loop with its own
``loop.call_soon_threadsafe`` (``AppSession._call_soon_on_event_loop``): a write to the loop's wake-up pipe
and a hand-over of the GIL, a hundred times a page. :func:`apply` batches them per session: the first
callback of a batch wakes the loop once, the ones that follow while it has not yet run join the batch, and
the loop runs them all, in the order they were made (as before), each on its own (an exception in one is
reported by the loop and the others still run, as before). Likewise the runtime's "a message is waiting"
signal (``Runtime._enqueued_some_message``) is scheduled once until it has run, not once per message.
Measured with ``python -m benchmarks.load --protocol``: README, "Running a workshop".

**3. A lock taken for every read of a setting.** ``streamlit.config.get_option`` (and
``get_options_for_section``) take the process-wide ``_config_lock`` for every read, and Streamlit reads a
setting for every element it sends (``forward_msg_cache.populate_hash_if_needed`` reads
``global.minCachedMessageSize``), every widget, every rerun's ``new_session`` message. With 50 script threads
drawing at once the lock is handed between threads many thousands of times a second: py-spy (``--gil``)
put 8–9% of the server's Python time in ``get_option`` for 50 visitors at once. The settings themselves
are parsed once and then only read; ``get_config_options`` already returns them without the lock once
parsed. :func:`apply` makes both reads do the same: without the lock when the settings are parsed and
the key is known, otherwise Streamlit's own function (which parses, or raises for an unknown key).
Writes (``set_option``, a re-parse) still take the lock; a re-parse replaces the whole mapping, so a read
sees either the old one or the new one, never a half-made one.

**4. The theme rebuilt for every run.** Every script run starts with a ``new_session`` message that carries
the theme: ``_populate_theme_msg`` lists the ``theme`` settings (and five more sections: the sidebar's, light
and dark) and copies each into the message, six times a run, for every visitor: 8% of the server's Python
time for a room of 50 opening the Sites page (py-spy). The settings only change when written, so
:func:`apply` counts writes (Streamlit's one writer, ``config._set_option``, and ``_delete_option``): a
section's values are listed once per mapping and count (and handed out as a copy), and each section's theme
message is made once and merged into the run's message, byte for byte what Streamlit makes
(``tests/test_workshop_server_fixes_theme.py``). A write, a re-parse, or a new mapping makes them again.
"""

from __future__ import annotations

import threading
from collections import deque

_MARK = "_workshop_honours_file_watcher_type"
_BATCH_MARK = "_workshop_batches_loop_callbacks"
_CONFIG_MARK = "_workshop_reads_config_without_lock"
_THEME_MARK = "_workshop_makes_theme_once"


def apply() -> bool:
    """Install the work-arounds once per server process; True when they are (now or already) in place."""
    watchers = _honour_file_watcher_type()
    batches = _batch_loop_callbacks()
    config_reads = _read_config_without_lock()
    theme = _make_theme_once()
    return watchers and batches and config_reads and theme


def _honour_file_watcher_type() -> bool:
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


class _Batch:
    """Callbacks for one event loop, run by one wake-up (``call_soon_threadsafe``) in the order they came."""

    def __init__(self, loop) -> None:
        self.loop = loop
        self.lock = threading.Lock()
        self.pending: deque = deque()
        self.scheduled = False

    def add(self, callback) -> None:
        with self.lock:
            self.pending.append(callback)
            if self.scheduled:
                return  # the wake-up already asked for runs this one too
            self.scheduled = True
        try:
            self.loop.call_soon_threadsafe(self.run)
        except BaseException:
            with self.lock:
                self.scheduled = False
                self.pending.clear()
            raise

    def run(self) -> None:
        while True:
            with self.lock:
                if not self.pending:
                    self.scheduled = False
                    return
                batch, self.pending = self.pending, deque()
            for callback in batch:
                try:
                    callback()
                except Exception as error:  # noqa: BLE001 - as asyncio does for a callback: report it, carry on
                    self.loop.call_exception_handler({"message": "Exception in a batched event-loop callback",
                                                      "exception": error})


def _batch_loop_callbacks() -> bool:
    try:
        from streamlit.runtime.app_session import AppSession
        from streamlit.runtime.runtime import Runtime
    except ImportError:  # pragma: no cover - a Streamlit without these: nothing to do
        return False
    original = getattr(AppSession, "_call_soon_on_event_loop", None)
    signal = getattr(Runtime, "_enqueued_some_message", None)
    if original is None or signal is None or not hasattr(Runtime, "_get_async_objs"):
        return False
    if getattr(original, _BATCH_MARK, False):
        return True

    def _call_soon_on_event_loop(self, callback) -> None:
        batch = self.__dict__.get("_workshop_batch")
        if batch is None or batch.loop is not self._event_loop:
            batch = self.__dict__["_workshop_batch"] = _Batch(self._event_loop)
            # The runtime handed each session its "message waiting" callback when it started (a bound method
            # made before this patch): look it up again, so the once-until-it-runs signal below is used.
            signal_owner = getattr(getattr(self, "_message_enqueued_callback", None), "__self__", None)
            if isinstance(signal_owner, Runtime):
                self._message_enqueued_callback = signal_owner._enqueued_some_message
        try:
            batch.add(callback)
        except RuntimeError:  # the loop is closed (shutdown): dropped, as Streamlit's own method does
            if not self._event_loop.is_closed():
                raise

    def _enqueued_some_message(self) -> None:
        async_objs = self._get_async_objs()
        with _SIGNAL_LOCK:
            if self.__dict__.get("_workshop_signal_pending"):
                return  # already on its way: the send loop flushes every queued message when it wakes
            self.__dict__["_workshop_signal_pending"] = True

        def signal_now() -> None:
            with _SIGNAL_LOCK:
                self.__dict__["_workshop_signal_pending"] = False
            async_objs.need_send_data.set()

        try:
            async_objs.eventloop.call_soon_threadsafe(signal_now)
        except BaseException:
            with _SIGNAL_LOCK:
                self.__dict__["_workshop_signal_pending"] = False
            raise

    for method in (_call_soon_on_event_loop, _enqueued_some_message):
        setattr(method, _BATCH_MARK, True)
    _call_soon_on_event_loop.__doc__ = original.__doc__
    _enqueued_some_message.__doc__ = signal.__doc__
    AppSession._call_soon_on_event_loop = _call_soon_on_event_loop
    Runtime._enqueued_some_message = _enqueued_some_message
    return True


_SIGNAL_LOCK = threading.Lock()


def _read_config_without_lock() -> bool:
    try:
        from streamlit import config
    except ImportError:  # pragma: no cover - a Streamlit without it: nothing to do
        return False
    get_option, for_section = getattr(config, "get_option", None), getattr(config, "get_options_for_section", None)
    if get_option is None or for_section is None or not hasattr(config, "_config_options"):
        return False
    if getattr(get_option, _CONFIG_MARK, False):
        return True
    if getattr(get_option, "__module__", None) != config.__name__ or getattr(get_option, "__qualname__", "") != "get_option":
        # Not Streamlit's own function: someone has replaced it for now (AppTest does, to switch global.appTest
        # on while a test's script runs). Reading the settings directly would bypass that: leave it be.
        return False

    def fast_get_option(key: str):
        options = config._config_options  # one read of the module's mapping: the old one or the new one
        if options:
            option = options.get(key)
            if option is not None:
                return option.value
        return get_option(key)  # not parsed yet, or an unknown key: Streamlit's own (parses, or raises)

    _count_config_writes(config)
    sections: dict[str, tuple] = {}  # section -> (the mapping, the write count, its values by name)

    def fast_options_for_section(section: str) -> dict:
        options = config._config_options
        if not options:
            return for_section(section)
        found = sections.get(section)
        writes = _CONFIG_WRITES[0]
        if found is not None and found[0] is options and found[1] == writes:
            return dict(found[2])  # a copy: a caller may change what it is given
        values = {o.name: o.value for o in list(options.values()) if o.section == section}
        if _CONFIG_WRITES[0] == writes:  # no write began or ended while listing them
            sections[section] = (options, writes, values)
        return dict(values)

    for new, old in ((fast_get_option, get_option), (fast_options_for_section, for_section)):
        setattr(new, _CONFIG_MARK, True)
        new.__doc__, new.__name__, new.__qualname__ = old.__doc__, old.__name__, old.__qualname__
        new.__wrapped__ = old
    config.get_option = fast_get_option
    config.get_options_for_section = fast_options_for_section
    return True


# Writes to Streamlit's settings, counted: a write adds one as it starts and one as it ends, so a reader that saw the
# same count before and after reading knows no write touched what it read.
_CONFIG_WRITES = [0]
_WRITES_MARK = "_workshop_counts_config_writes"


def _count_config_writes(config) -> None:
    for name in ("_set_option", "_delete_option"):
        original = getattr(config, name, None)
        if original is None or getattr(original, _WRITES_MARK, False):
            continue

        def counted(*args, _original=original, **kwargs):
            _CONFIG_WRITES[0] += 1
            try:
                return _original(*args, **kwargs)
            finally:
                _CONFIG_WRITES[0] += 1

        setattr(counted, _WRITES_MARK, True)
        counted.__wrapped__ = original
        counted.__doc__, counted.__name__ = original.__doc__, original.__name__
        setattr(config, name, counted)


def _make_theme_once() -> bool:
    try:
        from streamlit import config
        from streamlit.proto.NewSession_pb2 import CustomThemeConfig
        from streamlit.runtime import app_session
    except ImportError:  # pragma: no cover - a Streamlit without these: nothing to do
        return False
    original = getattr(app_session, "_populate_theme_msg", None)
    if original is None or not hasattr(config, "_set_option"):
        return False
    if getattr(original, _THEME_MARK, False):
        return True
    _count_config_writes(config)
    made: dict[str, tuple] = {}  # section -> (the mapping, the write count, its message or None: nothing set)

    def _populate_theme_msg(msg, section: str = "theme") -> None:
        options, writes = config._config_options, _CONFIG_WRITES[0]
        found = made.get(section)
        if found is None or found[0] is not options or found[1] != writes or not options:
            theme = CustomThemeConfig()
            original(theme, section)
            found = (options, writes, theme.SerializeToString() if theme.ListFields() else None)
            if options and _CONFIG_WRITES[0] == writes:
                made[section] = found
        if found[2] is not None:  # as the original: a section with nothing set leaves the message untouched
            msg.MergeFromString(found[2])

    setattr(_populate_theme_msg, _THEME_MARK, True)
    _populate_theme_msg.__wrapped__ = original
    _populate_theme_msg.__doc__ = original.__doc__
    app_session._populate_theme_msg = _populate_theme_msg
    return True
