"""The boundary between real time and virtual time: may the idle loop move its clock now?

When nothing is ready, a purely virtual loop jumps its clock to the next timer.
Outside parties work in real time, and the loop must not race past them. This
module is the one place that decides what the idle loop does when any is present
(:meth:`RealTimeBoundary._idle`, called from the idle branch of the scheduler):

1. **Holding** (:meth:`~asyncsim.core.jobs.ThreadJobs._clock_holders`): a thread
   job that runs. The clock does not move at all (thread jobs take zero virtual
   time); the loop waits, looking again every few milliseconds whether they still
   run (a job that blocks in a wait, e.g. on the loop, stops holding).
2. **In flight** (:meth:`~asyncsim.core.realio.RealIOGuard._real_io_in_flight`,
   :meth:`~asyncsim.core.jobs.ThreadJobs._running_clients`): a ``sock_*`` call, a
   request sent on a real connection and not answered yet, a child process, an
   armed interval timer, a thread that called into the loop and runs. Virtual time
   advances no faster than real time: the clock may jump to a timer ``d`` virtual
   seconds ahead once ``d`` real seconds have passed since the clock last moved
   (sooner if the party finishes first: then the jump is immediate).
3. **Passive**: any other real file descriptor (a listening socket, an idle
   connection, a pipe, ``add_reader``). Before each jump the loop waits up to
   :data:`GRACE` real seconds (or ``d``, if shorter) for it.
4. **Threads that may call back** (started since the loop was made, running; while
   real file descriptors are open they are in flight, as in 2) and
   **thread jobs waiting on I/O** (in a selector or ``waitpid``, e.g. running an
   event loop of their own): when nothing else is pending the loop waits for them
   instead of reporting a deadlock.

Every wait is bounded by the loop's ``real_time_limit``: after that many real
seconds with no callback run and no clock move, a holding or waiting party ends
the run with :class:`asyncsim.Stalled` naming it; pacing (2) gives up and the
clock jumps. ``real_time_limit=None`` waits forever, as asyncio would.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from asyncsim.clock import INFINITE_TICKS
from asyncsim.core.jobs import ThreadJobs
from asyncsim.errors import Deadlock, PendingTask, SimulationError, Stalled

__all__ = ["DEFAULT_REAL_TIME_LIMIT", "GRACE", "SAMPLE", "RealTimeBoundary"]

#: Real seconds a passive real file descriptor gets before each jump of the clock.
GRACE = 0.1
#: Longest real wait (seconds) between two looks at whether a thread still runs.
SAMPLE = 0.02
#: Default ``real_time_limit``: real seconds the loop waits on outside work with nothing
#: happening before it stops with :class:`asyncsim.Stalled`.
DEFAULT_REAL_TIME_LIMIT = 60.0

_perf_counter = time.perf_counter
#: Longest single wait (seconds) before the loop looks at its parties again.
_LONGEST_WAIT = 1.0


def _look_again(threads: list[str], alarm: float) -> float:
    """The longest wait (real seconds) before the idle loop looks at its parties again."""
    wait = SAMPLE if threads else _LONGEST_WAIT
    return min(wait, alarm + 0.001) if alarm else wait


class RealTimeBoundary(ThreadJobs):
    """The idle loop's decisions when outside parties are present (see the module doc).

    The loop's parts provide ``_clock_holders`` (:mod:`asyncsim.core.jobs`),
    ``_real_io_in_flight``, ``_passive_fds``, ``_passive_parties``, ``_real_fds``,
    ``_alarm_remaining`` (:mod:`asyncsim.core.realio`), ``_jump_clock``, ``_fail`` and
    ``_poll``.
    """

    # Provided by the loop's other parts (declared for the type checker).
    _passive_fds: int
    _real_fds: int
    _spawning: int
    _children: Any
    _until: int | None
    _steps: int

    if TYPE_CHECKING:

        def _real_io_in_flight(self) -> list[str]: ...
        def _alarm_remaining(self) -> float: ...
        def _passive_parties(self) -> list[str]: ...
        def _jump_clock(self, ticks: int) -> None: ...
        def _fail(self, error: SimulationError) -> SimulationError: ...
        def _poll(self, timeout: float | None) -> None: ...
        def pending_tasks(self) -> tuple[PendingTask, ...]: ...

    def _init_boundary(self, real_time_limit: float | None) -> None:
        self._real_time_limit = real_time_limit
        #: (steps, clock) when the loop began waiting, and the real time then.
        self._stretch: tuple[int, int] = (-1, -1)
        self._stretch_start = 0.0
        #: (clock, real time) when pacing began at this clock value.
        self._pace_ticks = -1
        self._pace_start = 0.0

    def _has_outside_parties(self) -> bool:
        """Cheap test: could anything outside hold, pace or delay the clock?"""
        return bool(
            self._jobs
            or self._real_fds
            or self._clients
            or self._spawning
            or self._children
            or self._passive_fds
        )

    def _waited(self, now: float) -> float:
        """Real seconds since the loop last ran a callback or moved its clock."""
        stretch = (self._steps, self._clock.now)
        if stretch != self._stretch:
            self._stretch = stretch
            self._stretch_start = now
        return now - self._stretch_start

    def _idle(self, when: int | None) -> None:
        """Nothing is ready: wait for outside parties, move the clock to ``when`` (ticks;
        None: no timer), or report a deadlock or a stall."""
        now = _perf_counter()
        waited = self._waited(now)
        limit = self._real_time_limit
        left = math.inf if limit is None else limit - waited
        holders = self._clock_holders()
        if holders:
            if left <= 0:
                self._stall(waited, holders)
            self._poll(min(SAMPLE, left))
            return
        if when is not None and when >= INFINITE_TICKS:
            when = None
        # Threads end without waking the loop, a plain signal handler wakes no one:
        # while either is a party, look again soon.
        threads = self._running_clients()
        if when is not None and self._passive_fds:
            # With real I/O open, a running thread started since the loop was made (a
            # server thread mid-handshake, say) is a real-time party too.
            threads += self._threads_that_may_call_back()
        in_flight = self._real_io_in_flight() + threads
        alarm = self._alarm_remaining()
        until = self._until
        if when is None:
            callers = self._threads_that_may_call_back() + self._jobs_waiting_on_io()
            threads += callers
            passive = self._passive_parties()
            if not (in_flight or callers or passive):
                self._poll(0)
                if not self._ready:
                    jobs = self._waiting_jobs()
                    raise self._fail(Deadlock.at(self._clock.seconds(), self.pending_tasks(), jobs))
                return
            if until is None:
                if left <= 0:
                    self._stall(waited, in_flight + callers + passive)
                self._poll(min(left, _look_again(threads, alarm)))
                return
            in_flight += callers  # pace toward until, where the run stops
            when = until + 1
        elif until is not None and when > until:
            when = until + 1  # jumping there stops the run at until
        clock = self._clock
        if self._pace_ticks != clock.now:
            self._pace_ticks, self._pace_start = clock.now, now
        distance = (when - clock.now) / 1e9
        if in_flight:
            # No faster than real time; after real_time_limit with nothing happening, jump.
            wait = min(self._pace_start + distance - now, left, _look_again(threads, alarm))
        elif self._passive_fds:
            wait = self._pace_start + min(distance, GRACE) - now
        else:
            wait = 0.0
        if wait > 0:
            self._poll(wait)
            return
        if self._real_fds:
            self._poll(0)
        if not self._ready:
            self._jump_clock(when)

    def _stall(self, waited: float, parties: list[str]) -> None:
        error = Stalled.at(self._clock.seconds(), waited, tuple(parties), self.pending_tasks())
        raise self._fail(error)

    def _wait_for_holders(self) -> None:
        """Outside the running loop (``run_until_idle``): wait while a thread holds the
        clock and nothing is ready, bounded by ``real_time_limit``."""
        while not self._ready:
            holders = self._clock_holders()
            if not holders:
                return
            now = _perf_counter()
            waited = self._waited(now)
            limit = self._real_time_limit
            if limit is not None and waited >= limit:
                self._stall(waited, holders)
            self._poll(SAMPLE if limit is None else min(SAMPLE, limit - waited))
