"""VirtualEventLoop: asyncio's event loop on a simulated clock.

When no callback is ready the loop jumps its clock to the next timer instead of
sleeping. Timers due at the same virtual instant run in the order they were
scheduled (``(when, seq)``), which is what real asyncio does for equal delays
because under real time they get distinct deadlines.

Threads (``run_in_executor``, ``asyncio.to_thread``) really run and take zero
virtual time: while a thread job is in flight and nothing is ready, the loop
waits for it instead of advancing the clock.

The loop is assembled from one part per concern; this module holds the assembly
and the scheduler (``_run_once``: advance the clock when idle, move due timers to
the ready queue, run it) and the stepping API used from outside the loop:

========================================  =============================================
:mod:`asyncsim.core.base`                 asyncio's private members, typed
:mod:`asyncsim.core.timers`               the pending timers (:class:`TimerQueue`)
:mod:`asyncsim.core.callbacks`            ``call_soon``, ``call_later``, ``call_at``
:mod:`asyncsim.core.dispatch`             the one place callbacks run
:mod:`asyncsim.core.hosting`              instruments: attaching, hooks, guests' rule
:mod:`asyncsim.core.jobs`                 thread jobs, which hold the clock
:mod:`asyncsim.core.realio`               the real-I/O guard
:mod:`asyncsim.core.network`              routing to a network model (a Protocol)
:mod:`asyncsim.core.durations`            the what-if profile's duration scaling (a hook)
========================================  =============================================
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import math
import selectors
import weakref
from array import array
from contextvars import Context
from typing import Any

from asyncsim._validate import check_int, check_seconds, is_number, refuse
from asyncsim.clock import INFINITE_TICKS, Clock, to_seconds, to_ticks
from asyncsim.core import durations, introspect
from asyncsim.core.cores import compiled_module
from asyncsim.core.dispatch import run_ready
from asyncsim.core.fastpath import FastPath
from asyncsim.core.gc_threshold import relaxed_gc
from asyncsim.core.jobs import ThreadJobs
from asyncsim.core.network import NetworkRouting
from asyncsim.core.schedule import Schedule, ScheduleState
from asyncsim.core.timers import COMPACT_AT
from asyncsim.errors import (
    Deadlock,
    PendingTask,
    SimulationError,
    SimulationTimeout,
    StepLimitExceeded,
)

__all__ = ["VirtualEventLoop", "VirtualEventLoopPolicy", "new_event_loop"]

#: Task ids kept before the first pruning (see ``VirtualEventLoop._prune_task_ids``).
_PRUNE_TASK_IDS_AT = 4096


def _validate_limits(until: float | None, max_steps: int | None, start: float) -> None:
    """Check a loop's (or a simulation's) ``start``, ``until`` and ``max_steps``."""
    check_seconds("start", start, minimum=0)
    if until is not None:
        allowed = f"a finite number of virtual seconds >= start ({start!r})"
        if not is_number(until):
            refuse("until", allowed, until)
        if not (math.isfinite(until) and until >= start):
            refuse("until", allowed, until, error=ValueError)
    if max_steps is not None:
        check_int("max_steps", max_steps, minimum=1)


class VirtualEventLoop(FastPath, NetworkRouting, ThreadJobs):
    """An asyncio event loop whose clock is virtual.

    Parameters
    ----------
    start : float
        Virtual time (seconds) the clock starts at, when no ``clock`` is given.
    clock : Clock, optional
        A clock shared with other loops of the same simulation.
    until : float, optional
        Virtual time (seconds) at which to stop with :class:`asyncsim.SimulationTimeout`.
    max_steps : int, optional
        Number of callbacks after which to stop with :class:`asyncsim.StepLimitExceeded`.
    allow_real_io : bool
        Allow real sockets, pipes and subprocesses. Their file descriptors are
        polled without blocking while virtual timers are pending, and blocked on
        only when nothing virtual is pending.
    selector : selectors.BaseSelector, optional
        The selector used for real I/O (default: the platform's best).
    schedule : Schedule or ScheduleState, optional
        Legal nondeterminism to apply (late timers, late executor results) and,
        if it says so, chaos ordering of ready callbacks (see :mod:`asyncsim.core.schedule`).

    Examples
    --------
    >>> import asyncio, asyncsim
    >>> loop = asyncsim.new_event_loop()
    >>> loop.run_until_complete(asyncio.sleep(3600))
    >>> loop.time()
    3600.0
    >>> loop.close()
    """

    def __init__(
        self,
        *,
        start: float = 0.0,
        clock: Clock | None = None,
        until: float | None = None,
        max_steps: int | None = None,
        allow_real_io: bool = False,
        selector: selectors.BaseSelector | None = None,
        schedule: Schedule | ScheduleState | None = None,
    ) -> None:
        _validate_limits(until, max_steps, start)
        if isinstance(schedule, Schedule):
            schedule = schedule.start()
        elif schedule is not None and not isinstance(schedule, ScheduleState):
            refuse("schedule", "an asyncsim.Schedule or None", schedule)
        super().__init__(selector)
        self._clock = clock if clock is not None else Clock(to_ticks(start))
        #: The schedule being played (None: punctual, no cost).
        self._schedule_state = schedule
        self._init_callbacks()
        self._init_instruments()
        self._init_jobs()
        self._init_real_io(allow_real_io)
        self._init_network()
        self._until = None if until is None else to_ticks(until)
        self._max_steps = max_steps
        self._steps = 0
        #: ``id()`` of each task created, in creation order (8 bytes a task, no weakref);
        #: pruned to the pending tasks when it has doubled since the last pruning.
        self._task_ids = array("q")
        self._prune_task_ids_at = _PRUNE_TASK_IDS_AT
        #: Tasks made by ``create_task`` so far (the next one's creation number).
        self._tasks_created = 0
        #: The first SimulationError this loop raised; later limits are lifted so
        #: cleanup (cancelling leftover tasks) can run.
        self.error: SimulationError | None = None
        #: Removes the next ready callback to run: FIFO, or the schedule's pick
        #: (chaos/PCT ordering, beyond asyncio's FIFO guarantee).
        self._take_ready: Any = self._ready.popleft
        if schedule is not None and schedule.reorders:
            self._take_ready = functools.partial(schedule.pick, self._ready)
        self._init_fast_path(compiled_module())
        #: The duration scaling of a what-if profile run (:mod:`asyncsim.core.durations`),
        #: read once, here. None outside a profile: then no hook is installed, at no cost.
        self.durations = durations.active()
        if self.durations is not None:
            durations.install(self, self.durations)  # (hooks kept by _fast_path_changed)
        #: Task -> creation number (0, 1, ...: as a trace numbers them), kept only for a
        #: what-if profile (``durations``), which matches its waits to the trace's tasks by it.
        self._task_order: weakref.WeakKeyDictionary[asyncio.Task[Any], int] | None = (
            None if self.durations is None else weakref.WeakKeyDictionary()
        )

    # -- the clock -------------------------------------------------------------

    def time(self) -> float:
        """The current virtual time in seconds."""
        return self._clock.now / 1_000_000_000

    @property
    def clock(self) -> Clock:
        """The virtual clock this loop runs on."""
        return self._clock

    @property
    def steps(self) -> int:
        """Number of callbacks run so far."""
        return self._steps

    def close(self) -> None:
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        self._timers.clear()
        for instrument in self._instruments:
            self.remove_instrument(instrument)
        super().close()
        self._fast_path_changed()

    # -- tasks -----------------------------------------------------------------

    def create_task(  # type: ignore[override]  # (coro: any awaitable asyncio accepts)
        self, coro: Any, *, name: str | None = None, context: Context | None = None
    ) -> asyncio.Task[Any]:
        task = super().create_task(coro, name=name, context=context)
        ids = self._task_ids
        ids.append(id(task))
        if len(ids) >= self._prune_task_ids_at:
            self._prune_task_ids()
        if self._task_order is not None:
            self._task_order[task] = self._tasks_created
        self._tasks_created += 1
        if self._instruments:
            parent = asyncio.current_task(self) if self.is_running() else None
            if task.done():  # finished eagerly (3.12+): its coroutine is already dropped
                introspect.remember_coroutine(task, coro)
            self._task_created(task, parent)
        return task

    def pending_tasks(self) -> tuple[PendingTask, ...]:
        """Every task of this loop that is not done, in creation order, described.

        Tasks not made by ``loop.create_task`` (``asyncio.Task(...)`` called directly)
        come last, by name.
        """
        order = {task_id: i for i, task_id in enumerate(self._task_ids)}  # (the last wins)
        tasks = sorted(
            asyncio.all_tasks(self), key=lambda t: (order.get(id(t), 1 << 62), t.get_name())
        )
        return introspect.describe_pending(tasks)

    def _prune_task_ids(self) -> None:
        # Keep the ids of pending tasks only, each at its last (latest) position: an id
        # seen twice belonged to a task that is gone, then to one made later.
        pending = {id(t) for t in asyncio.all_tasks(self)}
        kept: list[int] = []
        for task_id in reversed(self._task_ids):
            if task_id in pending:
                pending.discard(task_id)
                kept.append(task_id)
        kept.reverse()
        self._task_ids = array("q", kept)
        self._prune_task_ids_at = max(_PRUNE_TASK_IDS_AT, 2 * len(kept))

    # -- stepping (driving the loop from outside, e.g. a stateful test) ------------

    def _check_steppable(self, method: str) -> None:
        self._check_closed()
        if self.is_running():
            raise RuntimeError(f"loop.{method}() cannot be called while the loop is running")

    def _next_timer(self) -> int | None:
        when = self._timers.first()
        return None if when is None or when >= INFINITE_TICKS else when

    def run_until_idle(self) -> None:
        """Run every ready callback, and those they make ready, without moving the clock.

        Timers due at the current virtual time fire; executor jobs in flight are
        waited for (they take zero virtual time). Returns when nothing is ready.
        """
        self._check_steppable("run_until_idle")
        while True:
            if self._jobs and not self._ready:
                concurrent.futures.wait(list(self._jobs))
            next_timer = self._next_timer()
            if (
                not self._ready
                and not self._jobs
                and (next_timer is None or next_timer > self._clock.now)
            ):
                return
            self.stop()  # asyncio idiom: stop() then run_forever() runs one iteration
            self.run_forever()

    def run_until_next_timer(self) -> float | None:
        """Run until idle, jump to the next pending timer and run until idle there.

        Returns the new virtual time (seconds), or None (clock unchanged) when no
        timer is pending.
        """
        self.run_until_idle()
        when = self._next_timer()
        if when is None:
            return None
        self._jump_clock(when)
        self.run_until_idle()
        return self.time()

    def advance(self, seconds: float) -> None:
        """Run everything due in the next ``seconds`` virtual seconds; end exactly there.

        Timers fire in deadline order and the clock stops at ``now + seconds``
        even if nothing is scheduled then.
        """
        check_seconds("seconds", seconds)
        target = self._clock.now + to_ticks(seconds)
        self.run_until_idle()
        while True:
            when = self._next_timer()
            if when is None or when > target:
                break
            self._jump_clock(when)
            self.run_until_idle()
        self._jump_clock(target)

    # -- the scheduler ---------------------------------------------------------

    def _poll(self, timeout: float | None) -> None:
        self._process_events(self._selector.select(timeout))

    def run_forever(self) -> None:
        # Checked before asyncio's own run_forever: CPython 3.13.0 (at least) runs its cleanup
        # even when these checks fail, which unsets the running loop (gh-130145).
        self._check_closed()
        self._check_running()
        self._fast_path_changed()  # (catches a state changed by assigning an attribute)
        with relaxed_gc():  # fewer cyclic-GC passes while running (see asyncsim.core.gc_threshold)
            super().run_forever()

    def _run_once(self) -> None:
        """One iteration: advance the clock if idle, move due timers, run ready callbacks.

        While only callbacks and timers are pending, the fused loop runs this iteration
        and those that follow (see :mod:`asyncsim.core.fastpath`).
        """
        if self._fast_ok and self._fused():  # type: ignore[misc]  # (set once the loop is made)
            return
        ready = self._ready
        timers = self._timers
        clock = self._clock
        cancelled = timers.cancelled
        if cancelled > COMPACT_AT and cancelled * 2 > len(timers):
            timers.compact()  # more than half of the queued timers are cancelled
        if ready or self._stopping:
            if self._real_fds:
                self._poll(0)
        else:
            when = timers.first()
            if self._jobs and self._jobs_hold_clock():
                # Outside work in flight: the clock stands still until it is done.
                self._poll(None)
            elif when is not None and when < INFINITE_TICKS:
                # Like asyncio, poll the selector once per iteration (here without
                # blocking) and run what it made ready before any jump of the clock.
                if self._real_fds:
                    self._poll(0)
                if not ready:  # (ready may also hold a thread job's just-queued result)
                    if self._until is None and not self._instruments and when > clock.now:
                        clock.now = when  # _jump_clock(when), inlined for its usual case
                    else:
                        self._jump_clock(when)
            elif self._real_fds or self._children_alive():
                self._poll(None)  # nothing virtual is pending: wait for real I/O
            else:
                self._poll(0)  # a stray call_soon_threadsafe from an untracked thread?
                if not ready:
                    raise self._fail(Deadlock.at(clock.seconds(), self.pending_tasks()))
        timers.pop_due(clock.now, ready)
        if ready:
            run_ready(self, len(ready))
        self._check_limits()
        if ready and self._schedule_state is None:
            self._run_followups()

    def _run_followups(self) -> None:
        """Run the iterations that follow a timer batch, as long as they only run callbacks.

        While callbacks are ready (after a timer batch: a sleeping task's wake-up),
        the next iterations of ``run_forever`` would only run them: the clock cannot
        move while something is ready, and nothing else can happen in between when
        no real file descriptor is polled. Each round here is exactly such an
        iteration (timers due now join the end of the ready queue, then the callbacks
        present at its start run, then the step limit is checked), without returning
        to ``run_forever`` in between; it stops where ``run_forever`` would
        (``stop()`` called) and hands back to the general path when anything else
        must happen (real I/O to poll, cancelled timers to compact).
        """
        ready = self._ready
        timers = self._timers
        clock = self._clock
        while (
            ready and not self._stopping and not self._real_fds and timers.cancelled <= COMPACT_AT
        ):
            timers.pop_due(clock.now, ready)
            run_ready(self, len(ready))
            self._check_limits()

    def _jump_clock(self, ticks: int) -> None:
        """Move the clock forward to ``ticks`` (stopping at ``until``), telling instruments."""
        clock = self._clock
        if self._until is not None and ticks > self._until:
            clock.now = max(clock.now, self._until)
            raise self._fail(SimulationTimeout.at(clock.seconds(), self.pending_tasks()))
        if ticks > clock.now:
            old, clock.now = clock.now, ticks
            for instrument in self._instruments:
                try:
                    instrument.clock_advanced(old, ticks)
                except Exception as exc:
                    self._guest_failed(instrument, "clock_advanced", exc)

    def _check_limits(self) -> None:
        """After an iteration: stop at ``max_steps`` callbacks, or past ``until`` (steps
        that take virtual time, the CPU cost model or ``time.sleep``, can run past it)."""
        if self._max_steps is not None and self._steps > self._max_steps:
            raise self._fail(
                StepLimitExceeded.at(self._max_steps, self._clock.seconds(), self.pending_tasks())
            )
        if self._until is not None and self._clock.now > self._until:
            until = to_seconds(self._until)
            raise self._fail(
                SimulationTimeout.at(self._clock.seconds(), self.pending_tasks(), until=until)
            )

    def _fail(self, error: SimulationError) -> SimulationError:
        if self.error is None:
            self.error = error
        # Lift the limits so that cleanup (cancelling leftover tasks) can run.
        self._until = None
        self._max_steps = None
        return error


def new_event_loop(**kwargs: Any) -> VirtualEventLoop:
    """Create a :class:`VirtualEventLoop` (keyword arguments as its constructor).

    Usable as a loop factory: ``asyncio.Runner(loop_factory=asyncsim.new_event_loop)``.
    """
    return VirtualEventLoop(**kwargs)


class VirtualEventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """An event loop policy whose new loops are virtual (keyword arguments are passed on)."""

    def __init__(self, **loop_kwargs: Any) -> None:
        super().__init__()
        self._loop_kwargs = loop_kwargs

    def new_event_loop(self) -> VirtualEventLoop:
        return VirtualEventLoop(**self._loop_kwargs)
