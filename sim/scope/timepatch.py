"""Make the ``time`` module follow the virtual clock, in a scope that is always undone.

Inside :func:`patched_time`, on the thread that entered it:

* ``time.monotonic``, ``time.perf_counter`` (and ``_ns`` forms) read the virtual clock;
* ``time.time`` / ``time.time_ns`` read ``epoch`` + the virtual clock;
* ``time.sleep(x)`` does not sleep: it advances the virtual clock by ``x`` seconds
  while the caller (usually the event loop) stays blocked, which the trace shows.

Other threads (``run_in_executor`` jobs) keep the real clock and really sleep:
threads run for real and take zero virtual time. Functions bound while patched
(``from time import monotonic``) are these dispatchers: they read the real clock on
every other thread and after the scope ends, so they never freeze a real-time waiter.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from asyncio import _get_running_loop
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from asyncsim.clock import TICKS_PER_SECOND, Clock, to_ticks
from asyncsim.core import durations

__all__ = ["DEFAULT_EPOCH", "loop_started", "loop_stopped", "patched_time"]

#: 2024-01-01T00:00:00Z: what ``time.time()`` reads at virtual time 0 by default.
DEFAULT_EPOCH = 1_704_067_200.0

_NAMES = (
    "monotonic",
    "monotonic_ns",
    "perf_counter",
    "perf_counter_ns",
    "time",
    "time_ns",
    "sleep",
)
_REAL: dict[str, Callable[..., Any]] = {name: getattr(time, name) for name in _NAMES}
_real_sleep = _REAL["sleep"]
_real_monotonic = _REAL["monotonic"]
_real_monotonic_ns = _REAL["monotonic_ns"]
_real_perf_counter = _REAL["perf_counter"]
_real_perf_counter_ns = _REAL["perf_counter_ns"]
_real_time = _REAL["time"]
_real_time_ns = _REAL["time_ns"]
_get_ident = threading.get_ident


class _Scope:
    """One active patch: its clock, epoch (ticks), owning thread, and how idle time passes.

    With ``real_between_loops`` the clock also advances with real time while no event
    loop runs on the owning thread (see :func:`patched_time`): ``since`` is the real
    ``monotonic_ns`` up to which real time has been added to the clock, ``observed``
    whether the clock was read outside a loop since the last loop stopped.
    """

    __slots__ = ("clock", "epoch", "observed", "real_between_loops", "since", "thread")

    def __init__(self, clock: Clock, epoch: int, thread: int, real_between_loops: bool) -> None:
        self.clock = clock
        self.epoch = epoch
        self.thread = thread
        self.real_between_loops = real_between_loops
        self.since = _real_monotonic_ns()
        self.observed = False

    def now(self) -> int:
        """The clock's ticks, after adding the real time that passed outside any loop."""
        if self.real_between_loops and _get_running_loop() is None:
            self._add_real_time()
            self.observed = True
        return self.clock.now

    def peek(self) -> int:
        """:meth:`now` for the wall clock (``time.time``): real time outside loops shows in
        the reading but does not join the loop's clock. Log records (``logging`` stamps
        each with ``time.time_ns()``) then leave a test's virtual times exact."""
        if self.real_between_loops and _get_running_loop() is None:
            return self.clock.now + max(0, _real_monotonic_ns() - self.since)
        return self.clock.now

    def _add_real_time(self) -> None:
        real = _real_monotonic_ns()
        if real > self.since:
            self.clock.now += real - self.since
            self.since = real


# The active scopes, innermost last.
_scopes: list[_Scope] = []


def _scope() -> _Scope | None:
    if _scopes:
        me = _get_ident()
        for scope in reversed(_scopes):
            if scope.thread == me:
                return scope
    return None


def _monotonic() -> float:
    s = _scope()
    return s.now() / TICKS_PER_SECOND if s else _real_monotonic()


def _monotonic_ns() -> int:
    s = _scope()
    return s.now() if s else _real_monotonic_ns()


def _perf_counter() -> float:
    s = _scope()
    return s.now() / TICKS_PER_SECOND if s else _real_perf_counter()


def _perf_counter_ns() -> int:
    s = _scope()
    return s.now() if s else _real_perf_counter_ns()


def _time() -> float:
    s = _scope()
    return (s.epoch + s.peek()) / TICKS_PER_SECOND if s else _real_time()


def _time_ns() -> int:
    s = _scope()
    return s.epoch + s.peek() if s else _real_time_ns()


def _sleep(seconds: float) -> None:
    s = _scope()
    if s is None:
        _real_sleep(seconds)
        return
    if s.real_between_loops and _get_running_loop() is None:
        _real_sleep(seconds)
        s.now()  # (the real sleep joins the clock)
        return
    if not isinstance(seconds, (int, float)):
        _real_sleep(seconds)  # raises the same TypeError as the real one
    if seconds < 0 or math.isnan(seconds):
        raise ValueError("sleep length must be non-negative")
    ticks = to_ticks(seconds)
    plan = durations.current()
    if plan is not None:  # a what-if profile run may scale this call site
        ticks = plan.block(sys._getframe(1), ticks)
    s.clock.block(ticks)


_FAKE: dict[str, Callable[..., Any]] = {
    "monotonic": _monotonic,
    "monotonic_ns": _monotonic_ns,
    "perf_counter": _perf_counter,
    "perf_counter_ns": _perf_counter_ns,
    "time": _time,
    "time_ns": _time_ns,
    "sleep": _sleep,
}


def loop_started() -> None:
    """An event loop starts running on this thread (under a ``real_between_loops`` scope).

    If sync code read the clock since the last loop stopped, the real time since then
    joins the clock, so what it measures around the loop run includes it; otherwise the
    real time spent outside loops (pytest's own machinery, between a fixture's loop run
    and the test's) is left out, and a test that only awaits sees exact virtual times.
    """
    s = _scope()
    if s is not None and s.real_between_loops:
        if s.observed:
            s._add_real_time()
        s.since = _real_monotonic_ns()
        s.observed = False


def loop_stopped() -> None:
    """An event loop stopped running on this thread: real time passes from now on."""
    s = _scope()
    if s is not None and s.real_between_loops:
        s.since = _real_monotonic_ns()
        s.observed = False


@contextmanager
def patched_time(
    clock: Clock, *, epoch: float = DEFAULT_EPOCH, real_between_loops: bool = False
) -> Iterator[Clock]:
    """Within this block, the ``time`` module follows ``clock`` on this thread.

    ``epoch`` is the Unix time (seconds) that ``time.time()`` reads at virtual
    time 0. Scopes nest; the real functions are restored when the last one
    exits, whether by return, exception or ``KeyboardInterrupt``.

    With ``real_between_loops=True`` (how the pytest plugin's suite switch runs each
    test) the clock is virtual only while an event loop runs on this thread: in
    between, the clock advances with real time and ``time.sleep`` really sleeps, so
    sync code that waits in real time (a thread, a queue ``get(timeout=...)``) is
    never frozen, and ``time.monotonic()`` read around ``asyncio.run(...)`` still
    sees the loop's virtual time pass. Without it the clock moves only with the
    loops and ``time.sleep``.

    Functions bound while patched (``from time import monotonic`` in a module
    imported inside the block) read the real clock on other threads and once the
    block has exited.
    """
    if not isinstance(epoch, (int, float)) or not math.isfinite(epoch):
        raise ValueError(f"epoch must be a finite Unix time in seconds, got {epoch!r}")
    scope = _Scope(clock, to_ticks(epoch), _get_ident(), bool(real_between_loops))
    _scopes.append(scope)
    if len(_scopes) == 1:
        for name, fake in _FAKE.items():
            setattr(time, name, fake)
    try:
        yield clock
    finally:
        for i in range(len(_scopes) - 1, -1, -1):
            if _scopes[i] is scope:
                del _scopes[i]
                break
        if not _scopes:
            for name, real in _REAL.items():
                setattr(time, name, real)
