"""Work-arounds for three Streamlit 1.67 costs that a workshop pays: on every reconnect, on every element and on every read of a setting.

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
"""

from __future__ import annotations

import threading
from collections import deque

_MARK = "_workshop_honours_file_watcher_type"
_BATCH_MARK = "_workshop_batches_loop_callbacks"
_CONFIG_MARK = "_workshop_reads_config_without_lock"


def apply() -> bool:
    """Install the work-arounds once per server process; True when they are (now or already) in place."""
    watchers = _honour_file_watcher_type()
    batches = _batch_loop_callbacks()
    config_reads = _read_config_without_lock()
    return watchers and batches and config_reads


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

    sections: dict[str, tuple] = {}  # section -> (the mapping it was listed from, its options in order)

    def fast_options_for_section(section: str) -> dict:
        options = config._config_options
        if not options:
            return for_section(section)
        found = sections.get(section)
        if found is None or found[0] is not options:  # a re-parse made a new mapping: list its options again
            found = (options, tuple(o for o in list(options.values()) if o.section == section))
            sections[section] = found
        return {option.name: option.value for option in found[1]}  # values read now: set_option is seen

    for new, old in ((fast_get_option, get_option), (fast_options_for_section, for_section)):
        setattr(new, _CONFIG_MARK, True)
        new.__doc__, new.__name__, new.__qualname__ = old.__doc__, old.__name__, old.__qualname__
        new.__wrapped__ = old
    config.get_option = fast_get_option
    config.get_options_for_section = fast_options_for_section
    return True
