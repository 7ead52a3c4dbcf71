"""dashboard/server_fixes.py, fix 2: a script run's callbacks reach the event loop in batches, in order.

Every element Streamlit draws is handed from the script's thread to the event loop
(``AppSession._call_soon_on_event_loop``). The fix wakes the loop once for the callbacks that arrive
before it runs, not once each, and must keep everything else as it was: the order, every callback run,
an exception in one reported without stopping the rest, a closed loop's callbacks dropped quietly.
"""

from __future__ import annotations

import asyncio
import threading

from streamlit.runtime.app_session import AppSession
from streamlit.runtime.runtime import Runtime

from dashboard import server_fixes


class _Bare(AppSession):
    def __del__(self) -> None:  # never constructed for real: nothing to shut down
        pass


def _session(loop: asyncio.AbstractEventLoop) -> AppSession:
    session = _Bare.__new__(_Bare)  # only the attribute the method reads
    session._event_loop = loop
    return session


class _CountingLoop(asyncio.SelectorEventLoop):
    """An event loop that counts its cross-thread wake-ups."""

    def __init__(self) -> None:
        super().__init__()
        self.wakeups = 0

    def call_soon_threadsafe(self, callback, *args, context=None):
        self.wakeups += 1
        return super().call_soon_threadsafe(callback, *args, context=context)


def _run_loop(loop: asyncio.AbstractEventLoop) -> threading.Thread:
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    return thread


def _stop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_callbacks_from_a_script_thread_run_in_order_with_fewer_wakeups():
    assert server_fixes.apply() and server_fixes.apply()  # idempotent
    loop = _CountingLoop()
    session = _session(loop)
    seen: list[int] = []
    done = threading.Event()
    blocker = threading.Event()
    loop.call_soon_threadsafe(blocker.wait)  # hold the loop busy, as a loop serving 50 visitors is
    thread = _run_loop(loop)
    before = loop.wakeups
    for i in range(200):
        session._call_soon_on_event_loop(lambda i=i: seen.append(i))
    session._call_soon_on_event_loop(done.set)
    blocker.set()
    assert done.wait(5)
    wakeups = loop.wakeups - before
    _stop(loop, thread)
    assert seen == list(range(200))  # every callback, in the order made
    assert wakeups == 1  # one wake-up for the batch; Streamlit's own method made 201


def test_an_exception_in_one_callback_is_reported_and_the_rest_still_run():
    server_fixes.apply()
    loop = _CountingLoop()
    reported: list[BaseException] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context["exception"]))
    session = _session(loop)
    seen: list[str] = []
    done = threading.Event()
    blocker = threading.Event()
    loop.call_soon_threadsafe(blocker.wait)
    thread = _run_loop(loop)
    session._call_soon_on_event_loop(lambda: seen.append("before"))
    session._call_soon_on_event_loop(lambda: 1 / 0)
    session._call_soon_on_event_loop(lambda: seen.append("after"))
    session._call_soon_on_event_loop(done.set)
    blocker.set()
    assert done.wait(5)
    _stop(loop, thread)
    assert seen == ["before", "after"]
    assert len(reported) == 1 and isinstance(reported[0], ZeroDivisionError)


def test_a_batch_after_the_loop_ran_wakes_it_again():
    server_fixes.apply()
    loop = _CountingLoop()
    session = _session(loop)
    thread = _run_loop(loop)
    for _ in range(3):  # each waits for its batch to run before the next is made
        done = threading.Event()
        session._call_soon_on_event_loop(done.set)
        assert done.wait(5)
    _stop(loop, thread)
    assert loop.wakeups >= 3  # a batch never waits for a wake-up that already happened


def test_a_closed_loop_drops_callbacks_quietly():
    server_fixes.apply()
    loop = asyncio.new_event_loop()
    loop.close()
    _session(loop)._call_soon_on_event_loop(lambda: None)  # no RuntimeError, as Streamlit's own method


def test_the_send_signal_is_scheduled_once_until_it_runs():
    server_fixes.apply()
    loop = _CountingLoop()
    runtime = Runtime.__new__(Runtime)
    need_send_data = asyncio.Event()

    class Objects:
        eventloop = loop

    Objects.need_send_data = need_send_data
    runtime._get_async_objs = lambda: Objects
    blocker = threading.Event()
    loop.call_soon_threadsafe(blocker.wait)
    thread = _run_loop(loop)
    before = loop.wakeups
    for _ in range(50):
        runtime._enqueued_some_message()
    blocker.set()
    for _ in range(100):
        if need_send_data.is_set():
            break
        threading.Event().wait(0.01)
    assert need_send_data.is_set()
    assert loop.wakeups - before == 1
    runtime._enqueued_some_message()  # after it ran: scheduled again
    _stop(loop, thread)
    assert loop.wakeups - before == 3  # that one, and the stop


def test_a_session_made_with_the_runtime_s_old_signal_uses_the_once_until_it_runs_one():
    """The runtime hands sessions its bound ``_enqueued_some_message`` at start-up, before the patch: the first
    batched callback swaps it for the patched one."""
    import types

    server_fixes.apply()
    loop = asyncio.new_event_loop()
    runtime = Runtime.__new__(Runtime)
    session = _session(loop)
    session._message_enqueued_callback = types.MethodType(lambda self: None, runtime)  # as bound at start-up
    session._call_soon_on_event_loop(lambda: None)
    swapped = session._message_enqueued_callback
    assert swapped.__self__ is runtime and swapped.__func__ is Runtime._enqueued_some_message
    assert getattr(swapped.__func__, server_fixes._BATCH_MARK, False)
    loop.close()
