"""Stateful property tests on virtual time: drive a system from a hypothesis state machine.

Subclass :class:`SimulationMachine` (a ``RuleBasedStateMachine``) and add your
own rules that start work with :meth:`SimulationMachine.spawn`; the machine
owns a :class:`asyncsim.VirtualEventLoop` and contributes three rules of its own
that let hypothesis interleave your rules with the passage of virtual time:
advance the clock by ``dt``, run until idle, run until the next timer.

>>> import asyncio
>>> from hypothesis import strategies as st
>>> from hypothesis.stateful import invariant, rule
>>> from asyncsim.testing.stateful import SimulationMachine
>>> class Counter(SimulationMachine):
...     def __init__(self):
...         super().__init__()
...         self.count = 0
...     @rule()
...     def bump(self):
...         async def later():
...             await asyncio.sleep(1)
...             self.count += 1
...         self.spawn(later())
...     @invariant()
...     def never_negative(self):
...         assert self.count >= 0
>>> TestCounter = Counter.TestCase  # collected by pytest
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from asyncsim.core.loop import VirtualEventLoop
from asyncsim.core.schedule import Schedule
from asyncsim.runner import close_loop
from asyncsim.scope.simulation import Simulation

__all__ = ["SimulationMachine"]

T = TypeVar("T")


class SimulationMachine(RuleBasedStateMachine):
    """A ``RuleBasedStateMachine`` that owns a virtual loop (:attr:`loop`).

    Class attributes configure it: ``seed`` (the simulation's RNG seed),
    ``max_dt`` (largest virtual-time step the built-in ``advance_time`` rule
    draws, seconds), ``schedule`` (a :class:`asyncsim.Schedule` to play, or None).
    The clock never moves on its own: only the time rules (or your calls to
    :meth:`advance`, :meth:`run_until_idle`, :meth:`run_until_next_timer`) run
    the loop. Time is not patched, so hypothesis's own clock is unaffected.
    """

    seed: ClassVar[int] = 0
    max_dt: ClassVar[float] = 10.0
    schedule: ClassVar[Schedule | None] = None

    def __init__(self) -> None:
        super().__init__()
        self.simulation = Simulation(seed=self.seed, patch_time=False, schedule=self.schedule)
        #: The virtual loop every spawned coroutine runs on.
        self.loop: VirtualEventLoop = self.simulation.new_event_loop()

    # -- public stepping API ---------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str | None = None) -> Any:
        """Start ``coro`` as a task on :attr:`loop` (it runs when time is advanced)."""
        return self.loop.create_task(coro, name=name)

    def advance(self, dt: float) -> None:
        """Run everything due in the next ``dt`` virtual seconds; the clock ends there."""
        self.loop.advance(dt)

    def run_until_idle(self) -> None:
        """Run ready callbacks until none is left, without moving the clock."""
        self.loop.run_until_idle()

    def run_until_next_timer(self) -> float | None:
        """Jump to the next timer and run until idle; the new time, or None if none."""
        return self.loop.run_until_next_timer()

    @property
    def now(self) -> float:
        """The current virtual time (seconds)."""
        return self.loop.time()

    # -- rules hypothesis interleaves with yours --------------------------------------

    @rule(data=st.data())
    def advance_time(self, data: st.DataObject) -> None:
        """Rule: advance virtual time by a drawn ``dt`` in ``[0, max_dt]``."""
        dt = data.draw(
            st.floats(0, self.max_dt, allow_nan=False).map(lambda x: round(x, 3)), label="dt"
        )
        self.advance(dt)

    @rule()
    def idle(self) -> None:
        """Rule: run until nothing is ready."""
        self.run_until_idle()

    @rule()
    def next_timer(self) -> None:
        """Rule: jump to the next timer and run until idle."""
        self.run_until_next_timer()

    def teardown(self) -> None:
        """Cancel leftover tasks and close the loop."""
        close_loop(self.loop)
