"""Livelock detection: many steps at one virtual instant with no progress.

A program that never lets virtual time pass (``while True: await asyncio.sleep(0)``,
two tasks waking each other through an ``Event``, a callback that reschedules itself
with ``call_later(0, ...)``) would run forever: the clock never moves, so ``until=``
never stops it. Once every ``livelock_steps`` callbacks the loop notes the program's
state: the clock, the number of tasks created, how many callbacks are ready and
timers pending, and where every unfinished task is suspended (the code and
instruction offset of each frame of its coroutine chain).
When the clock has not moved, no task was created and the state is one already seen
at one of the last checks, the program is going round in a circle: the loop stops
with :class:`asyncsim.errors.Livelock`, naming what was spinning, the tasks and
callbacks ready to run at that moment (name, coroutine, file:line).

So a livelock is reported after at least twice ``livelock_steps`` callbacks at one
instant (more for a cycle whose length does not divide it). Legitimate heavy work
at one instant is not flagged as long as it moves on: a ``gather`` of a million
tasks (each one starts, moves and finishes), 200,000 ``sleep(0)`` switches between
two tasks (the W3 benchmark: fewer than ``livelock_steps``). A loop that stays at one
``await`` for more than ``livelock_steps`` callbacks without time passing (a
``for`` loop of millions of ``sleep(0)``) is reported: raise the bound for it. The
check costs one integer comparison per loop iteration.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asyncsim._validate import check_int
from asyncsim.core import introspect
from asyncsim.core.futures import creation_order
from asyncsim.core.hosting import InstrumentHost
from asyncsim.core.timers import TimerQueue
from asyncsim.errors import Livelock, PendingTask

__all__ = ["DEFAULT_LIVELOCK_STEPS", "LIVELOCK_OFF", "LivelockWatch", "check_livelock_steps"]

#: Callbacks at one virtual instant, with no task created or finished, after which a run
#: is a livelock (``livelock_steps=None`` turns the check off).
DEFAULT_LIVELOCK_STEPS = 1_000_000
#: The states (see ``_progress_state``) remembered, to recognise a cycle longer than a check.
_HISTORY = 8
#: ``_livelock_at`` when the check is off: a step count no run reaches.
LIVELOCK_OFF = 1 << 62


def check_livelock_steps(value: int | None) -> int | None:
    """``livelock_steps`` checked: an integer >= 1, or None (no detection)."""
    if value is not None:
        check_int("livelock_steps", value, minimum=1)
    return value


class LivelockWatch(InstrumentHost):
    """The livelock check of :class:`~asyncsim.core.loop.VirtualEventLoop`."""

    _steps: int
    _timers: TimerQueue  # (set by CallbackScheduling)

    def _init_livelock(self, livelock_steps: int | None) -> None:
        self._livelock_steps = check_livelock_steps(livelock_steps)
        #: The step count at which to look for progress next.
        self._livelock_at = LIVELOCK_OFF if livelock_steps is None else livelock_steps
        #: The states seen at the last checks since the clock moved or a task was created.
        self._livelock_seen: list[Any] = []
        self._livelock_epoch: tuple[int, int] | None = None

    def _progress_state(self) -> tuple[Any, ...]:
        """How many callbacks are ready and timers pending, and where every unfinished
        task is: its coroutine chain's code and instruction offsets, in creation order.
        A task that starts, moves to another ``await`` or finishes changes it, and so does
        a queue of callbacks draining; a task spinning through one ``await`` does not."""
        tasks = sorted(asyncio.all_tasks(self), key=creation_order)
        where = tuple(
            tuple((f.f_code, f.f_lasti) for f in introspect.frame_chain(task.get_coro()))
            for task in tasks
        )
        return len(self._ready), len(self._timers), where

    def _livelock(self) -> Livelock | None:
        """Called once ``livelock_steps`` more callbacks have run: the error to stop with
        if the program is where it was at an earlier check with nothing else changed
        (the clock, the tasks created), else None."""
        steps = self._livelock_steps
        assert steps is not None
        self._livelock_at = self._steps + steps
        epoch = (self._clock.now, self._clock._tasks)
        if epoch != self._livelock_epoch:
            self._livelock_epoch = epoch
            self._livelock_seen = [self._progress_state()]
            return None
        state = self._progress_state()
        if state not in self._livelock_seen:
            self._livelock_seen = [*self._livelock_seen[-(_HISTORY - 1) :], state]
            return None
        self._livelock_at = LIVELOCK_OFF
        tasks, callbacks = self._spinning()
        return Livelock.at(steps, self._clock.seconds(), tasks, callbacks)

    def _spinning(self) -> tuple[tuple[PendingTask, ...], tuple[str, ...]]:
        """The tasks and plain callbacks ready to run now (what keeps the loop busy)."""
        tasks: dict[int, asyncio.Task[Any]] = {}
        callbacks: list[str] = []
        handles = list(self._ready)
        now = self._clock.now
        due = [entry for entry in self._timers.entries() if entry[0] <= now]
        due.sort(key=lambda entry: (entry[0], entry[1]))  # (firing order, on either core)
        handles += [entry[2] for entry in due]
        for handle in handles:
            if handle._cancelled:
                continue
            callback = handle._callback
            owner = getattr(callback, "__self__", None)
            if isinstance(owner, asyncio.Task):
                tasks.setdefault(id(owner), owner)
                continue
            described = _describe_callback(callback)
            if described not in callbacks:
                callbacks.append(described)
        return introspect.describe_pending(tasks.values()), tuple(callbacks)


def _describe_callback(callback: Any) -> str:
    """``name() at file:line`` for a plain callback."""
    function = getattr(callback, "func", callback)  # (functools.partial)
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    name = getattr(function, "__qualname__", None) or repr(function)
    if code is None:
        return f"{name}()"
    return f"{name}() at {code.co_filename}:{code.co_firstlineno}"
