"""The suite switch: every test of a pytest session on virtual time (``asyncsim_mode = all``).

The pytest plugin (:mod:`asyncsim.testing.pytest_plugin`) imports this module only
when the switch is on. Then, for the whole session, the event loop policy makes
:class:`SuiteLoop` loops, so whatever creates a loop (pytest-asyncio's runners,
anyio's asyncio backend, ``IsolatedAsyncioTestCase``, ``asyncio.run`` in a sync test,
``asyncio.new_event_loop()`` in a fixture) gets a virtual one; and each test runs
inside its own :class:`TestClock`:

* its own :class:`~asyncsim.scope.simulation.Simulation` (clock at 0, ``random``
  seeded with ``--asyncsim-seed`` or 0 and restored afterwards), so a test's times
  do not depend on the tests before it;
* ``time.monotonic/perf_counter/time/sleep`` follow that clock on the test's thread
  while a loop runs there; in between (sync test code, fixtures) the clock moves
  with real time and ``time.sleep`` really sleeps (``patched_time(...,
  real_between_loops=True)``), so sync code that waits in real time is never frozen
  and ``time.time()`` starts at the real time the test started;
* a hang guard: a loop that runs for more than ``asyncsim_timeout`` real seconds in
  one test is stopped with a :class:`~asyncsim.SimulationTimeout` listing its tasks
  (a livelock, or a thread job that never returns), and the test fails;
* its virtual seconds are recorded (``report.user_properties``) for the
  ``--durations``-style table and the session line "N tests, V virtual seconds in W
  real seconds".

A loop that outlives its test (a module- or session-scoped event loop) keeps its
own clock; when it runs during a later test, time follows that clock while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from asyncsim.clock import TICKS_PER_SECOND, Clock
from asyncsim.core.loop import VirtualEventLoop
from asyncsim.errors import SimulationTimeout
from asyncsim.scope import timepatch
from asyncsim.scope.simulation import Simulation

__all__ = [
    "SuiteLoop",
    "SuitePolicy",
    "SuiteStats",
    "TestClock",
    "Watchdog",
    "run_coroutine_test",
]

_real_perf_counter = timepatch._REAL["perf_counter"]
_real_time = timepatch._REAL["time"]


class SuiteLoop(VirtualEventLoop):
    """A virtual loop made by the suite switch: the time module follows its clock while it
    runs, real time spent outside it joins the test's clock, and the hang guard can stop it."""

    #: Set (from the watchdog thread) to the reason this loop must stop; checked once per
    #: iteration, after the usual limits.
    _suite_stop: str | None = None

    def run_forever(self) -> None:
        timepatch.loop_started()  # (real time observed outside loops joins the test's clock)
        test = TestClock.active
        foreign = test is None or test.clock is not self._clock
        start = self._clock.now
        scope = timepatch.patched_time(self._clock) if foreign else None
        if scope is not None:
            scope.__enter__()
        _running.add(self)
        try:
            super().run_forever()
        finally:
            _running.discard(self)
            if scope is not None:
                scope.__exit__(None, None, None)
            if foreign and test is not None:
                test.foreign_ticks += self._clock.now - start
            timepatch.loop_stopped()

    def _check_limits(self) -> None:
        if self._suite_stop is not None:
            reason, self._suite_stop = self._suite_stop, None
            raise self._fail(
                SimulationTimeout(
                    f"{reason}; stopped at t={self._clock.seconds()!r}s (virtual), pending "
                    "tasks:\n" + "\n".join(f"  - {t.describe()}" for t in self.pending_tasks()),
                    time=self._clock.seconds(),
                    tasks=self.pending_tasks(),
                )
            )
        super()._check_limits()


#: Suite loops running right now (any thread), for the hang guard.
_running: set[SuiteLoop] = set()


class _TestSimulation(Simulation):
    loop_class = SuiteLoop


class SuitePolicy(asyncio.DefaultEventLoopPolicy):
    """Every new event loop is a :class:`SuiteLoop` on the running test's clock (or, outside
    any test, on a clock of its own)."""

    #: While a test marked ``asyncsim_real_time`` runs: new loops are stock asyncio's.
    real_time = False

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        if self.real_time:
            return asyncio.SelectorEventLoop()
        test = TestClock.active
        if test is None:
            return SuiteLoop(clock=Clock())
        return test.simulation.new_event_loop()


@dataclass
class TestClock:
    """One test's simulation, time scope and accounting (see the module docstring)."""

    #: The test in progress (one at a time: pytest runs tests one after another).
    active: ClassVar[TestClock | None] = None

    seed: int
    allow_real_io: bool = False
    simulation: Simulation = field(init=False)
    foreign_ticks: int = 0
    _start: int = 0
    real_start: float = 0.0
    real_seconds: float = 0.0
    virtual_seconds: float = 0.0

    def __post_init__(self) -> None:
        self.simulation = _TestSimulation(
            seed=self.seed, patch_time=False, allow_real_io=self.allow_real_io
        )

    @property
    def clock(self) -> Clock:
        return self.simulation.clock

    @contextmanager
    def enter(self) -> Iterator[TestClock]:
        """Run the test's setup, call and teardown inside this clock."""
        self.real_start = _real_perf_counter()
        previous = TestClock.active
        TestClock.active = self
        self._start = self.clock.now
        try:
            with (
                self.simulation,
                timepatch.patched_time(self.clock, epoch=_real_time(), real_between_loops=True),
            ):
                yield self
        finally:
            TestClock.active = previous
            self.real_seconds = _real_perf_counter() - self.real_start
            self.virtual_seconds = self.elapsed()

    def elapsed(self) -> float:
        """Virtual seconds this test has taken so far (its clock, and foreign loops' runs)."""
        return (self.clock.now - self._start + self.foreign_ticks) / TICKS_PER_SECOND


def run_coroutine_test(test: Any, kwargs: dict[str, Any]) -> None:
    """Run an ``async def`` test no other plugin claimed, on a loop of the test's clock."""
    with asyncio.Runner() as runner:  # (its loop comes from the SuitePolicy)
        runner.run(test(**kwargs))


class Watchdog:
    """The hang guard: one thread for the session, armed with a real-time limit per test.

    When the limit passes, every suite loop running then is told to stop (it raises
    :class:`~asyncsim.SimulationTimeout` in its next iteration, listing its tasks).
    A test blocked in real time outside any loop is not interrupted.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._label = ""
        self._thread: threading.Thread | None = None
        self._closed = False

    def arm(self, label: str) -> None:
        if self.seconds <= 0:
            return
        with self._cond:
            self._deadline = _real_perf_counter() + self.seconds
            self._label = label
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="asyncsim-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._deadline = None
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._deadline = None
            self._cond.notify()

    def _watch(self) -> None:
        with self._cond:
            while not self._closed:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                left = self._deadline - _real_perf_counter()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._deadline = None
                reason = (
                    f"{self._label} ran for more than asyncsim_timeout={self.seconds:g} real "
                    "seconds on virtual time (a livelock, or a thread job that never returns?)"
                )
                for loop in list(_running):
                    loop._suite_stop = reason
                    with contextlib.suppress(RuntimeError):  # closed meanwhile
                        loop.call_soon_threadsafe(_wake)


def _wake() -> None:
    """(Scheduled by the watchdog so that a loop waiting on a thread job wakes up.)"""


@dataclass
class SuiteStats:
    """Virtual and real seconds per test, for the summary and the durations table."""

    tests: list[tuple[str, float, float]] = field(default_factory=list)

    def add(self, nodeid: str, virtual: float, real: float) -> None:
        self.tests.append((nodeid, virtual, real))

    def summary(self) -> str:
        virtual = sum(t[1] for t in self.tests)
        real = sum(t[2] for t in self.tests)
        n = len(self.tests)
        return (
            f"asyncsim: {n} test{'s' if n != 1 else ''}, {virtual:,.3f} virtual seconds "
            f"in {real:,.3f} real seconds"
        )

    def slowest(self, count: int) -> list[str]:
        """``--durations``-style lines, the most virtual time first (``count`` 0: all)."""
        ranked = sorted(self.tests, key=lambda t: (-t[1], t[0]))
        if count > 0:
            ranked = ranked[:count]
        return [f"{v:12.3f}s virtual {r:9.3f}s real  {nodeid}" for nodeid, v, r in ranked]
