"""VirtualEventLoop: asyncio's event loop on a simulated clock.

When no callback is ready the loop jumps its clock to the next timer instead of
sleeping. Timers due at the same virtual instant run in the order they were
scheduled (``(when, seq)``), which is what real asyncio does for equal delays
because under real time they get distinct deadlines.

Threads (``run_in_executor``, ``asyncio.to_thread``) really run and take zero
virtual time: while a thread job runs and nothing is ready, the loop waits for
it instead of advancing the clock. Real I/O (with ``allow_real_io``) keeps
virtual time from outrunning real time while it is in flight; what the idle loop
may do when such outside parties are present is decided in one place,
:mod:`asyncsim.core.boundary`.

The loop is assembled from one part per concern; this module holds the assembly
and the scheduler (``_run_once``: advance the clock when idle, move due timers to
the ready queue, run it) and the stepping API used from outside the loop:

========================================  =============================================
:mod:`asyncsim.core.base`                 asyncio's private members, typed
:mod:`asyncsim.core.timers`               the pending timers (:class:`TimerQueue`)
:mod:`asyncsim.core.callbacks`            ``call_soon``, ``call_later``, ``call_at``
:mod:`asyncsim.core.dispatch`             the one place callbacks run
:mod:`asyncsim.core.fastpath`             when the fused run loop may run; its pure-Python form
:mod:`asyncsim.core.cores`                the compiled core (``_ccore``) or the pure-Python one
:mod:`asyncsim.core.ordering`             tasks and futures in creation order, choice points
:mod:`asyncsim.core.hosting`              instruments: attaching, hooks, guests' rule
:mod:`asyncsim.core.jobs`                 thread jobs and client threads, which hold the clock
:mod:`asyncsim.core.threads`              whether a thread runs or waits
:mod:`asyncsim.core.realio`               the real-I/O guard, and what real I/O is in flight
:mod:`asyncsim.core.transports`           real transports that note an outstanding reply
:mod:`asyncsim.core.boundary`             may the idle loop move its clock now?
:mod:`asyncsim.core.network`              routing to a network model (a Protocol)
:mod:`asyncsim.core.durations`            the what-if profile's duration scaling (a hook)
========================================  =============================================
"""

from __future__ import annotations

import asyncio
import functools
import math
import selectors
from typing import Any

from asyncsim._validate import check_bool, check_int, check_number, check_seconds, is_number, refuse
from asyncsim.clock import Clock, to_seconds, to_ticks
from asyncsim.core import durations, finalizers, introspect
from asyncsim.core.boundary import DEFAULT_REAL_TIME_LIMIT, RealTimeBoundary
from asyncsim.core.cores import compiled_module
from asyncsim.core.dispatch import run_ready
from asyncsim.core.fastpath import FastPath
from asyncsim.core.gc_threshold import relaxed_gc
from asyncsim.core.livelock import DEFAULT_LIVELOCK_STEPS, LIVELOCK_OFF, LivelockWatch
from asyncsim.core.network import NetworkRouting
from asyncsim.core.ordering import OrderedCreation
from asyncsim.core.schedule import Perturbation, Schedule, ScheduleState
from asyncsim.core.timers import COMPACT_AT
from asyncsim.errors import (
    PendingTask,
    SimulationError,
    SimulationTimeout,
    StepLimitExceeded,
)

__all__ = ["VirtualEventLoop", "VirtualEventLoopPolicy", "new_event_loop", "time_is_patched"]


def time_is_patched(loop: Any) -> bool:
    """Whether a test replaced ``loop.time`` on this loop (``loop.time = f``, or
    ``mock.patch.object(loop, "time", ...)``).

    Stock asyncio schedules through ``self.time()``: ``call_later(d)`` is
    ``call_at(self.time() + d)`` and a timer is due once ``self.time()`` reaches
    it. A patched ``time`` is honoured the same way here (see ``call_later`` and
    :meth:`VirtualEventLoop._due`), while the virtual clock keeps running
    underneath (an idle loop still jumps it to the next timer, so nothing waits
    forever). This one dict lookup is the whole cost on the default path; the
    compiled core checks the same condition.
    """
    return "time" in loop.__dict__


def _validate_limits(
    until: float | None,
    max_steps: int | None,
    start: float,
    real_time_limit: float | None = DEFAULT_REAL_TIME_LIMIT,
) -> None:
    """Check a loop's (or a simulation's) ``start``, ``until``, ``max_steps`` and
    ``real_time_limit``."""
    if real_time_limit is not None:
        check_number(
            "real_time_limit", real_time_limit, minimum=0, what="a number of real seconds or None"
        )
    check_seconds("start", start, minimum=0)
    if until is not None:
        allowed = f"a finite number of virtual seconds >= start ({start!r})"
        if not is_number(until):
            refuse("until", allowed, until)
        if not (math.isfinite(until) and until >= start):
            refuse("until", allowed, until, error=ValueError)
    if max_steps is not None:
        check_int("max_steps", max_steps, minimum=1)


class VirtualEventLoop(FastPath, OrderedCreation, LivelockWatch, NetworkRouting, RealTimeBoundary):
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
    livelock_steps : int or None
        Stop with :class:`asyncsim.Livelock` when, at one virtual instant, no task was
        created and every task is back where it was this many callbacks ago (default
        1,000,000; None: never; see :mod:`asyncsim.core.livelock`).
    allow_real_io : bool
        Allow real sockets, pipes and subprocesses. While real I/O is in flight
        virtual time advances no faster than real time (see
        :mod:`asyncsim.core.boundary`).
    real_time_limit : float or None
        Real seconds the loop waits on outside work (a running thread job, real
        I/O, a child process) with nothing else happening before it stops with
        :class:`asyncsim.Stalled` naming it (default 60; None: wait forever).
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

    #: Until asyncio's ``__init__`` has run, the loop counts as closed: a loop whose
    #: arguments were refused is garbage-collected without a warning from ``__del__``.
    _closed = True

    def __init__(
        self,
        *,
        start: float = 0.0,
        clock: Clock | None = None,
        until: float | None = None,
        max_steps: int | None = None,
        livelock_steps: int | None = DEFAULT_LIVELOCK_STEPS,
        allow_real_io: bool = False,
        selector: selectors.BaseSelector | None = None,
        schedule: Schedule | ScheduleState | None = None,
        real_time_limit: float | None = DEFAULT_REAL_TIME_LIMIT,
    ) -> None:
        _validate_limits(until, max_steps, start, real_time_limit)
        check_bool("allow_real_io", allow_real_io)
        owns_schedule = isinstance(schedule, Schedule)
        if isinstance(schedule, Schedule):
            schedule = schedule.start()
        elif schedule is not None and not isinstance(schedule, ScheduleState):
            refuse("schedule", "an asyncsim.Schedule or None", schedule)
        super().__init__(selector)
        finalizers.install()
        self._clock = clock if clock is not None else Clock(to_ticks(start))
        #: The schedule being played (None: punctual, no cost).
        self._schedule_state = schedule
        self._init_callbacks()
        self._init_instruments()
        self._init_ordering()
        self._init_jobs()
        self._init_real_io(allow_real_io)
        self._init_boundary(None if real_time_limit is None else float(real_time_limit))
        self._init_network()
        self._until = None if until is None else to_ticks(until)
        self._max_steps = max_steps
        self._steps = 0
        self._init_livelock(livelock_steps)
        self._fused = False
        #: The first SimulationError this loop raised; later limits are lifted so
        #: cleanup (cancelling leftover tasks) can run.
        self.error: SimulationError | None = None
        #: Removes the next ready callback to run: FIFO, or the schedule's pick
        #: (chaos/PCT ordering, beyond asyncio's FIFO guarantee).
        self._take_ready: Any = self._ready.popleft
        #: Whether this loop made its schedule's state (then it ends the run at close).
        self._owns_schedule = owns_schedule
        if schedule is not None:
            clock = self._clock
            schedule.now = lambda: clock.now
            schedule.subscribe(self._schedule_applied)
            for instrument in schedule.instruments:
                self.add_instrument(instrument)
            if schedule.reorders:
                self._take_ready = functools.partial(schedule.pick, self._ready)
        self._init_fast_path(compiled_module())
        #: The duration scaling of a what-if profile run (:mod:`asyncsim.core.durations`),
        #: read once, here. None outside a profile: then no hook is installed, at no cost.
        self.durations = durations.active()
        if self.durations is not None:
            durations.install(self, self.durations)  # (hooks kept by _fast_path_changed)

    def _schedule_applied(self, change: Perturbation) -> None:
        # Latency and wake-up lateness reach the instruments' delay_injected hook here
        # (timers and jobs report it where they are scheduled, with their handle).
        if (
            change.kind in ("latency", "wakeup")
            and self._instruments
            and change.deadline is not None
            and asyncio._get_running_loop() is self
        ):
            self._delay_injected(None, change.kind, change.deadline, change.amount)

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
        if self._owns_schedule and self._schedule_state is not None:
            self._schedule_state.finish()
        self._fast_path_changed()

    # -- tasks -----------------------------------------------------------------

    def pending_tasks(self) -> tuple[PendingTask, ...]:
        """Every task of this loop that is not done, in creation order, described."""
        return introspect.describe_pending(self.tasks_in_order())

    # -- stepping (driving the loop from outside, e.g. a stateful test) ------------

    def _check_steppable(self, method: str) -> None:
        self._check_closed()
        if self.is_running():
            raise RuntimeError(f"loop.{method}() cannot be called while the loop is running")

    def _next_timer(self) -> int | None:
        return self._timers.first()

    def run_until_idle(self) -> None:
        """Run every ready callback, and those they make ready, without moving the clock.

        Timers due at the current virtual time fire; running thread jobs are
        waited for (they take zero virtual time). Returns when nothing is ready.
        """
        self._check_steppable("run_until_idle")
        while True:
            if self._jobs or self._clients:
                self._wait_for_holders()
            next_timer = self._next_timer()
            if not self._ready and (next_timer is None or next_timer > self._clock.now):
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
        # Inside run_forever an iteration may run the ones that follow it (see
        # _run_followups and asyncsim.core.fastpath); a _run_once() called on its own is
        # one iteration, as in asyncio.
        self._fused = self._schedule_state is None
        self._fast_path_changed()  # (catches a state changed by assigning an attribute)
        try:
            with relaxed_gc(self._timers):  # fewer GC passes while running (core.gc_threshold)
                super().run_forever()
        finally:
            self._fused = False

    def _run_once(self) -> None:
        """One iteration: advance the clock if idle, move due timers, run ready callbacks.

        Inside ``run_forever``, while only callbacks and timers are pending, the fused
        loop runs this iteration and those that follow (see :mod:`asyncsim.core.fastpath`);
        otherwise ready callbacks left after a batch run as follow-ups (``_run_followups``).
        """
        if self._fused and self._fast_ok and self._fused_run():  # type: ignore[misc]
            return  # (the fused loop ran this iteration and those that follow it)
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
            if self._core is None:
                heap = timers.heap  # (read only: a live head is the next deadline)
                when = heap[0][0] if heap and not heap[0][2]._cancelled else timers.first()
            else:
                when = timers.first()  # (the compiled queue: its head is read in C)
            if self._has_outside_parties():
                # Outside parties: may the clock move now? (asyncsim.core.boundary)
                self._idle(when)
            elif when is not None:
                if self._schedule_state is not None and when > clock.now:
                    # The loop sleeps until ``when``: a schedule may wake it late.
                    when += self._schedule_state.wakeup_lateness(when)
                if self._until is None and not self._instruments and when > clock.now:
                    clock.now = when  # _jump_clock(when), inlined for its usual case
                else:
                    self._jump_clock(when)
            else:
                self._idle(None)  # threads that may still call back, or a deadlock
        timers.pop_due(self._due() if "time" in self.__dict__ else clock.now, ready)
        if ready:
            run_ready(self, len(ready))
        self._check_limits()
        if ready and self._fused:
            self._run_followups()

    def _due(self) -> int:
        """Ticks up to which timers are due when ``loop.time`` is patched (see
        :func:`time_is_patched`): the later of the virtual clock and the patched time."""
        try:
            patched = to_ticks(float(self.time()))
        except (TypeError, ValueError):  # a mock returning a non-number: the clock alone
            return self._clock.now
        return max(self._clock.now, patched)

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
            ready
            and not self._stopping
            and not self._real_fds
            and timers.cancelled <= COMPACT_AT
            and "time" not in self.__dict__  # (time_is_patched: the general path honours it)
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
        if self._steps >= self._livelock_at:
            livelock = self._livelock()
            if livelock is not None:
                raise self._fail(livelock)

    def _fail(self, error: SimulationError) -> SimulationError:
        if self.error is None:
            self.error = error
        # Lift the limits so that cleanup (cancelling leftover tasks) can run, and do not
        # wait for thread jobs still in flight (they may be blocked on the loop forever).
        self._until = None
        self._max_steps = None
        self._livelock_at = LIVELOCK_OFF
        self._abandon_jobs()
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
