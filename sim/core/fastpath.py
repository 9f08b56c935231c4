"""The virtual loop's fast path: when it may run, and the fused run loop of the Python core.

While a loop is in its *plain state* (no debug mode, no instruments, no schedule, not
closed) its ``call_soon``, ``call_later``, ``get_debug`` and ``create_future`` may be the
compiled core's (installed as instance attributes, see :mod:`asyncsim.core._ccore`; its
``call_later`` hands a patched ``loop.time`` to the Python method). While moreover only
callbacks and timers are pending (no outside party of the real-time boundary: no real file
descriptor, thread job, client thread or child process; see :mod:`asyncsim.core.boundary`),
no ``until`` or ``max_steps`` limit is set and ``loop.time`` is not patched, ``_run_once``
called inside ``run_forever`` runs the *fused* loop: many iterations without returning to
``run_forever``, each exactly what ``_run_once`` would do in that state (jump the clock when
idle, move the due timers to the ready queue, run the batch, check the livelock watch). The
compiled core's :meth:`Core.run` or, on the pure-Python core, :func:`run_fused`. Anything
else (a schedule's wake-up lateness, the boundary's ``_idle``, a patched clock's ``_due``)
is the general ``_run_once``'s.

:meth:`FastPath._fast_path_allowed` is the one place that says when the fused loop may
run. Whatever changes one of the things it reads calls
:meth:`FastPath._fast_path_changed` (instruments, debug mode, real file descriptors,
thread jobs, closing and ``run_forever`` do); both fused loops check that flag before
each iteration (the compiled one before each callback too) and hand back to the general
``_run_once`` as soon as it turns false. What can change without a call (a patched
``loop.time``, a client thread or child process) both fused loops also check directly:
the patch before each iteration, the outside parties before each jump of the clock.
A new condition on the scheduler (something that must happen between iterations, or
before a jump of the clock) goes into ``_fast_path_allowed``, with a call to
``_fast_path_changed`` where its state changes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from asyncsim.core.callbacks import CallbackScheduling
from asyncsim.core.dispatch import run_ready
from asyncsim.core.ordering import OrderedCreation  # (create_future's home)
from asyncsim.core.timers import COMPACT_AT

if TYPE_CHECKING:
    from asyncsim.core.timers import TimerQueue

__all__ = ["FastPath", "run_fused"]

_FAST_CALLS = ("call_soon", "call_later", "get_debug", "create_future")


def _python_method(name: str) -> Any:
    """The loop's own Python method that the compiled core's ``name`` stands in for."""
    return getattr(OrderedCreation if name == "create_future" else FastPath, name)


class FastPath(CallbackScheduling):
    """The fast-path part of :class:`~asyncsim.core.loop.VirtualEventLoop`."""

    #: The compiled core of this loop (None: the pure-Python core).
    _core: Any = None
    #: Runs fused iterations; returns how many (0: run this iteration the general way).
    _fused_run: Callable[[], int] | None = None
    #: ``_fast_path_allowed()``, as of the last change of what it reads.
    _fast_ok = False
    _until: int | None
    _max_steps: int | None
    _steps: int
    _real_fds: int
    _livelock_at: int

    if TYPE_CHECKING:

        def _has_outside_parties(self) -> bool: ...
        def _check_limits(self) -> None: ...

    def _init_fast_path(self, compiled: ModuleType | None) -> None:
        if compiled is not None:
            self._core = compiled.Core(self, self._ready, self._clock, self._sleep_context)
            self._timers = self._core.timers
            self._fused_run = self._core.run
        else:
            self._fused_run = functools.partial(run_fused, self)
        self._fast_path_changed()

    @property
    def core(self) -> str:
        """The loop core this loop runs on: ``"compiled"`` or ``"python"``."""
        return "python" if self._core is None else "compiled"

    def _fast_calls_allowed(self) -> bool:
        """Whether ``call_soon``/``call_later`` may skip debug checks, hooks and schedules."""
        return not (
            self._debug or self._closed or self._instruments or self._schedule_state is not None
        )

    def _fast_path_allowed(self) -> bool:
        """Whether the fused loop may run: only callbacks and timers can happen next.

        The one place listing what the scheduler must otherwise do between iterations
        (see the module's docstring).
        """
        return (
            self._fast_calls_allowed()
            and self._until is None
            and self._max_steps is None
            and "time" not in self.__dict__  # (time_is_patched: the general path honours it)
            and not self._has_outside_parties()
        )

    def _fast_path_changed(self) -> None:
        """Something ``_fast_path_allowed`` reads has changed: re-decide (cheap)."""
        if self._fused_run is None:
            return  # (still in the loop's __init__)
        self._fast_ok = self._fast_path_allowed()
        core = self._core
        if core is not None:
            core.dirty = True
        plain = self._fast_calls_allowed()
        cls = type(self)
        hooks = self.__dict__
        for name in _FAST_CALLS:
            present = hooks.get(name)
            if present is not None and not (
                (core is not None and present == getattr(core, name))
                or (name == "call_soon" and present == self._call_soon_instrumented)
            ):
                continue  # someone else's hook on this loop (a what-if profile's): kept
            if plain and core is not None and getattr(cls, name) is _python_method(name):
                self.__dict__[name] = getattr(core, name)
            elif name == "call_soon" and self._instruments:
                # Only an instrumented loop pays for the call_soon hook.
                self.__dict__[name] = self._call_soon_instrumented
            else:
                self.__dict__.pop(name, None)

    def set_debug(self, enabled: bool) -> None:
        super().set_debug(enabled)
        self._fast_path_changed()


def run_fused(loop: Any) -> int:
    """The pure-Python core's fused loop (see the module's docstring and ``Core.run``).

    Returns the number of iterations run; 0 when this iteration must run the general way
    (nothing to jump to, an outside party present, ``loop.time`` patched).
    """
    ready = loop._ready
    timers: TimerQueue = loop._timers
    heap = timers.heap  # (read only: the queue's head, to skip pop_due when nothing is due)
    clock = loop._clock
    patches = loop.__dict__
    iterations = 0
    while True:
        if iterations and (loop._stopping or not loop._fast_ok):
            break
        if "time" in patches:  # (time_is_patched: assigned without telling the loop)
            break
        cancelled = timers.cancelled
        if cancelled > COMPACT_AT and cancelled * 2 > len(timers):
            timers.compact()  # more than half of the queued timers are cancelled
        now = clock.now
        if not ready and not loop._stopping:
            when = heap[0][0] if heap and not heap[0][2]._cancelled else timers.first()
            if when is None or loop._has_outside_parties():
                break  # a deadlock to report, or the real-time boundary to consult
            if when > now:
                clock.now = now = when
        if heap[0][0] <= now if heap else timers.far:
            timers.pop_due(now, ready)
        if ready:
            run_ready(loop, len(ready))
        iterations += 1
        if loop._steps >= loop._livelock_at:
            loop._check_limits()  # (the livelock watch: may raise)
    return iterations
