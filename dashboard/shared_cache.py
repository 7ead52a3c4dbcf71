"""One copy, for every visitor, of what is built from data every visitor shares.

A room of 50 opening the same page on the same data would otherwise build the same figures,
tables and filtered frames 50 times (plotly's figure construction and template validation
dominated a profile of the server under that load). Here each is built once per data set,
filter and choice, in this server process, and handed to every session that asks.

**Only for shared data**: the bundled synthetic sample and an operator's workshop data set
(``Dataset.shared``). Never for an upload: patient-level data and everything built from it stay
in the uploading user's session (``state.session_memo``). The callers in ``dashboard/state.py``
choose; this module never sees a data set, only keys and builders.

What is cached must not be changed by its users: a figure is handed to ``st.plotly_chart``
(which serialises a copy) and to the SVG download (which draws a copy); a frame is read.

Bounded (oldest first out). Concurrent first requests for one key build it once: the first
builds while the others wait for it (a room arriving at once is exactly that case).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

MAX_ENTRIES = 512
# Kinds of entry (a key's first item) that can be large for a large workshop data set: at most this many
# each (the filtered rows and the analysis of each filter in use), oldest first out.
KIND_LIMITS = {"analysis": 32, "episodes": 32}
_Built = TypeVar("_Built")

_lock = threading.Lock()
_entries: OrderedDict[Hashable, object] = OrderedDict()
_building: dict[Hashable, threading.Lock] = {}
_stats = {"hits": 0, "builds": 0}
# Each stored value and its members (down to _PART_DEPTH levels of tuples, lists, dicts and dataclass fields: a
# builder may return a tuple of figures and texts, dicts of them, or a results object), by id:
# (the entry's key, the object itself, so an id reused after eviction never matches), and what was derived
# from each (``derived``: a figure's serialised spec, a table's Arrow bytes), dropped with its entry.
_members: dict[int, tuple[Hashable, object]] = {}
_derived: dict[Hashable, dict[tuple[int, str], object]] = {}


# A builder's tuple of (result, (rows, {name: figure}, ...)), or a results dataclass whose fields hold figures:
# held down to three levels.
_PART_DEPTH = 3


def _parts(value: object, depth: int = _PART_DEPTH) -> list[object]:
    """``value`` and what it holds in tuples, lists, dicts and dataclass fields, down to :data:`_PART_DEPTH`
    levels."""
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return []  # nothing is derived from these
    parts = [value]
    if depth > 0:
        if isinstance(value, (tuple, list)):
            for item in value:
                parts.extend(_parts(item, depth - 1))
        elif isinstance(value, dict):
            for item in value.values():
                parts.extend(_parts(item, depth - 1))
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):  # a results object's fields
            for item in dataclasses.fields(value):
                parts.extend(_parts(getattr(value, item.name, None), depth - 1))
    return parts


def _forget(key: Hashable, value: object) -> None:
    for part in _parts(value):
        held = _members.get(id(part))
        if held is not None and held[0] == key:
            del _members[id(part)]
    _derived.pop(key, None)


def get_or_build(key: Hashable, build: Callable[[], _Built]) -> _Built:
    """The value stored under ``key``, built by ``build()`` once if it is not there yet."""
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            _stats["hits"] += 1
            return _entries[key]  # type: ignore[return-value]
        key_lock = _building.setdefault(key, threading.Lock())
    with key_lock:
        with _lock:  # another session may have built it while this one waited
            if key in _entries:
                _entries.move_to_end(key)
                _stats["hits"] += 1
                return _entries[key]  # type: ignore[return-value]
        value = build()  # an exception propagates and nothing is stored: the next caller tries again
        with _lock:
            _entries[key] = value
            _stats["builds"] += 1
            for part in _parts(value):
                _members.setdefault(id(part), (key, part))
            kind = key[0] if isinstance(key, tuple) and key else None
            if kind in KIND_LIMITS:
                same = [k for k in _entries if isinstance(k, tuple) and k and k[0] == kind]
                for old in same[:max(0, len(same) - KIND_LIMITS[kind])]:
                    _forget(old, _entries.pop(old))
            while len(_entries) > MAX_ENTRIES:
                _forget(*_entries.popitem(last=False))
            _building.pop(key, None)
    return value


def derived(value: object, name: str, build: Callable[[], _Built]) -> _Built | None:
    """What ``build()`` makes from ``value`` (named ``name``), built once, if ``value`` is held here.

    ``value`` must be a value this cache holds, or a member of one (a tuple's item): then the result
    is built once per server process and handed to every session (a figure serialised once for
    everyone, not once per visitor). Anything else (an upload's figure, built in its session) gets
    None and nothing is built or kept: the caller does its usual per-session work.
    """
    with _lock:
        held = _members.get(id(value))
        if held is None or held[1] is not value or held[0] not in _entries:
            return None
        entry_key = held[0]
        memo = _derived.setdefault(entry_key, {})
        if (id(value), name) in memo:
            return memo[(id(value), name)]  # type: ignore[return-value]
        build_key = ("derived", entry_key, id(value), name)
        key_lock = _building.setdefault(build_key, threading.Lock())
    with key_lock:  # one builder; the others wait for it (a build may prepare ``value`` itself, once)
        with _lock:
            memo = _derived.get(entry_key, {})
            if (id(value), name) in memo:
                return memo[(id(value), name)]  # type: ignore[return-value]
        built = build()
        with _lock:
            if entry_key in _entries:
                _derived.setdefault(entry_key, {})[(id(value), name)] = built
            _building.pop(build_key, None)
    return built


def stats() -> dict[str, int]:
    """Hits, builds and entries so far (for benchmarks and tests)."""
    with _lock:
        return {**_stats, "entries": len(_entries)}


def clear() -> None:
    """Forget everything (tests; an operator's data set replaced)."""
    with _lock:
        _entries.clear()
        _building.clear()
        _members.clear()
        _derived.clear()
        _stats.update(hits=0, builds=0)
