"""Where another thread is: running (it holds the virtual clock) or waiting.

The virtual loop lets its clock jump only when no thread that works for it is
*running*. A thread is *waiting*, and so leaves the clock free, while its
innermost Python frame is one of:

* ``threading.Condition.wait`` not yet notified, with no timeout or a positive
  one: every blocking wait of ``threading`` (``Event.wait``, ``Semaphore.acquire``,
  ``Barrier.wait``), of ``queue.Queue`` (``get``, ``put``, ``join``) and of
  ``concurrent.futures`` (``Future.result()``, so also the future that
  ``asyncio.run_coroutine_threadsafe`` returns) waits there. ``wait(0)`` polls and
  returns at once: a thread in it is running.
* a ``selectors`` selector's ``select``: the thread waits for I/O (e.g. it runs
  an event loop of its own).
* ``concurrent.futures.thread._worker`` itself: an idle pool worker waiting for
  its next work item.
* asyncio's child watcher in ``os.waitpid``: it waits for a child process (which
  the loop watches itself).

Anything else counts as running: computing, in ``time.sleep``, in a C call such
as a socket's ``recv`` or a bare ``Lock.acquire`` (these do not show which of
the two they are, so the clock is held, and ``real_time_limit`` bounds the wait).
"""

from __future__ import annotations

import asyncio.unix_events
import concurrent.futures.thread
import queue
import selectors
import sys
import threading
from types import CodeType, FrameType

__all__ = ["describe_frame", "frames", "is_waiting", "waits_on_io", "where"]

_CONDITION_WAIT = threading.Condition.wait.__code__
_POOL_WORKER = concurrent.futures.thread._worker.__code__
#: asyncio's child watcher threads wait for a child in os.waitpid (the child is the party).
_WAITPID: frozenset[CodeType] = frozenset(
    cls._do_waitpid.__code__  # type: ignore[attr-defined]
    for cls in vars(asyncio.unix_events).values()
    if isinstance(cls, type) and "_do_waitpid" in vars(cls)
)
_SELECTS: frozenset[CodeType] = frozenset(
    cls.select.__code__
    for cls in vars(selectors).values()
    if isinstance(cls, type)
    and issubclass(cls, selectors.BaseSelector)
    and "select" in vars(cls)
    and hasattr(cls.select, "__code__")
)


def frames() -> dict[int, FrameType]:
    """The innermost Python frame of every thread, by thread id (``sys._current_frames``)."""
    return sys._current_frames()


def is_waiting(frame: FrameType) -> bool:
    """True when the thread whose innermost frame is ``frame`` is blocked in a wait."""
    code = frame.f_code
    if code is _CONDITION_WAIT:
        local = frame.f_locals
        waiter = local.get("waiter")
        timeout = local.get("timeout")
        if waiter is None or local.get("gotit") or (timeout is not None and timeout <= 0):
            return False  # not blocking yet, already woken, or a poll
        return bool(waiter.locked())  # notify() releases it: the thread is resuming
    return code is _POOL_WORKER or code in _SELECTS or code in _WAITPID


def waits_on_io(frame: FrameType) -> bool:
    """True when the thread whose innermost frame is ``frame`` waits for I/O or a child
    process (a selector's ``select``, the child watcher's ``waitpid``): something outside
    the loop, not the loop, will wake it."""
    code = frame.f_code
    return code in _SELECTS or code in _WAITPID


def describe_frame(frame: FrameType | None) -> str:
    """``"in func() at file:line"`` for the user-facing frame nearest ``frame``.

    Frames of ``threading``, ``queue``, ``concurrent.futures`` and ``selectors``
    are skipped so that the report names the caller of the wait.
    """
    if frame is None:
        return "not started yet"
    skipped = frame
    while frame is not None and _is_library(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        frame = skipped
    code = frame.f_code
    return f"in {code.co_name}() at {code.co_filename}:{frame.f_lineno}"


def where(thread: threading.Thread, current: dict[int, FrameType] | None = None) -> str:
    """Where ``thread`` is now, described (see :func:`describe_frame`)."""
    ident = thread.ident
    if current is None:
        current = frames()
    frame = current.get(ident) if ident is not None else None
    state = "waiting" if frame is not None and is_waiting(frame) else "running"
    return f"{state} {describe_frame(frame)}"


_LIBRARY_FILES = frozenset(
    module.__file__
    for module in (threading, queue, selectors, concurrent.futures.thread, concurrent.futures._base)
    if module.__file__
)


def _is_library(filename: str) -> bool:
    return bool(filename) and filename in _LIBRARY_FILES
