"""Make the ``time`` module follow the virtual clock, in a scope that is always undone.

Inside :func:`patched_time`, on the thread that entered it:

* ``time.monotonic``, ``time.perf_counter`` (and ``_ns`` forms) read the virtual clock;
* ``time.time`` / ``time.time_ns`` read ``epoch`` + the virtual clock;
* ``time.sleep(x)`` does not sleep: it advances the virtual clock by ``x`` seconds
  while the caller (usually the event loop) stays blocked, which the trace shows.

Other threads (``run_in_executor`` jobs) keep the real clock and really sleep:
threads run for real and take zero virtual time.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from asyncsim.clock import TICKS_PER_SECOND, Clock, to_ticks
from asyncsim.core import durations

__all__ = ["DEFAULT_EPOCH", "patched_time"]

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

# The active scopes, innermost last: (clock, epoch in ticks, owning thread id).
_scopes: list[tuple[Clock, int, int]] = []


def _scope() -> tuple[Clock, int, int] | None:
    if _scopes:
        me = _get_ident()
        for scope in reversed(_scopes):
            if scope[2] == me:
                return scope
    return None


def _monotonic() -> float:
    s = _scope()
    return s[0].now / TICKS_PER_SECOND if s else _real_monotonic()


def _monotonic_ns() -> int:
    s = _scope()
    return s[0].now if s else _real_monotonic_ns()


def _perf_counter() -> float:
    s = _scope()
    return s[0].now / TICKS_PER_SECOND if s else _real_perf_counter()


def _perf_counter_ns() -> int:
    s = _scope()
    return s[0].now if s else _real_perf_counter_ns()


def _time() -> float:
    s = _scope()
    return (s[1] + s[0].now) / TICKS_PER_SECOND if s else _real_time()


def _time_ns() -> int:
    s = _scope()
    return s[1] + s[0].now if s else _real_time_ns()


def _sleep(seconds: float) -> None:
    s = _scope()
    if s is None:
        _real_sleep(seconds)
        return
    if not isinstance(seconds, (int, float)):
        _real_sleep(seconds)  # raises the same TypeError as the real one
    if seconds < 0 or math.isnan(seconds):
        raise ValueError("sleep length must be non-negative")
    ticks = to_ticks(seconds)
    plan = durations.current()
    if plan is not None:  # a what-if profile run may scale this call site
        ticks = plan.block(sys._getframe(1), ticks)
    s[0].block(ticks)


_FAKE: dict[str, Callable[..., Any]] = {
    "monotonic": _monotonic,
    "monotonic_ns": _monotonic_ns,
    "perf_counter": _perf_counter,
    "perf_counter_ns": _perf_counter_ns,
    "time": _time,
    "time_ns": _time_ns,
    "sleep": _sleep,
}


@contextmanager
def patched_time(clock: Clock, *, epoch: float = DEFAULT_EPOCH) -> Iterator[Clock]:
    """Within this block, the ``time`` module follows ``clock`` on this thread.

    ``epoch`` is the Unix time (seconds) that ``time.time()`` reads at virtual
    time 0. Scopes nest; the real functions are restored when the last one
    exits, whether by return, exception or ``KeyboardInterrupt``.
    """
    if not isinstance(epoch, (int, float)) or not math.isfinite(epoch):
        raise ValueError(f"epoch must be a finite Unix time in seconds, got {epoch!r}")
    scope = (clock, to_ticks(epoch), _get_ident())
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
