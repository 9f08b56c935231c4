"""SimPy on the simulation's virtual clock: asyncio and SimPy processes side by side.

:class:`Environment` is a real ``simpy.Environment`` whose time is the running
:class:`asyncsim.VirtualEventLoop`'s clock (SimPy time unit = virtual seconds). The
event loop drives it: every event SimPy schedules gets its own slot in the
loop, a ``call_soon`` callback when it is due now, a timer when it is due later;
when the slot runs, the environment processes its next event (``env.step()``).
So SimPy never runs ahead of or behind asyncio, and no ``env.run()`` is needed
(calling it raises).

* asyncio waits for SimPy: ``await env.timeout(1)``, ``await env.process(gen)``,
  ``await env.event()`` (events made through the environment are awaitable), and
  ``await env.wait(resource.request())`` for any other SimPy event. The await
  returns the event's value or raises its exception.
* SimPy waits for asyncio: ``yield env.from_future(task_or_future_or_coro)``
  inside a process returns the result (or raises the exception).

Ordering at one virtual instant (deterministic; tested in tests/test_bridge.py).
A SimPy event is a loop callback queued the way asyncio queues its own:

1. ``env.timeout(d)`` behaves like ``asyncio.sleep(d)``: a loop timer that, when
   it fires, queues the step that resumes the waiter. Timers due at one instant
   fire in the order they were scheduled, so a SimPy process and an asyncio
   task that wait until the same instant resume in the order they started
   waiting, whichever side each is on.
2. ``event.succeed()`` behaves like ``future.set_result()``: the event is
   processed in a ``call_soon`` callback, after the callbacks already ready.
   Among SimPy's own events due at one instant SimPy's order applies (urgent
   events such as process starts and interrupts first, then scheduling order).
3. Crossing the bridge costs one more trip through the ready queue (zero
   virtual time): an asyncio coroutine awaiting a SimPy event resumes one
   ``call_soon`` after the SimPy processes waiting on that event, and a SimPy
   process waiting on an asyncio future one ``call_soon`` after the asyncio
   tasks awaiting it (the future's done callback triggers the SimPy event).

Examples
--------
>>> import asyncio, asyncsim
>>> from asyncsim.models.bridge import Environment
>>> def clerk(env):
...     yield env.timeout(2)
...     return "stamped"
>>> async def main():
...     env = Environment()
...     stamp = await env.process(clerk(env))
...     return stamp, asyncio.get_running_loop().time()
>>> asyncsim.run(main())
('stamped', 2.0)
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import math
import weakref
from collections.abc import Awaitable, Generator, Iterable
from typing import TYPE_CHECKING, Any, cast

import simpy
import simpy.events
from simpy.core import BoundClass

from asyncsim.clock import to_seconds, to_ticks
from asyncsim.core.loop import VirtualEventLoop
from asyncsim.core.schedule import call_at_modeled

__all__ = ["AllOf", "AnyOf", "Environment", "Event", "Process", "Timeout", "shared_environment"]


def _await(event: simpy.Event) -> Generator[Any, None, Any]:
    """``await event``: wait for a SimPy event from asyncio (see :meth:`Environment.wait`)."""
    env = event.env
    assert isinstance(env, Environment)
    return env.wait(event).__await__()


class Event(simpy.events.Event):
    """An awaitable ``simpy.Event``."""

    __await__ = _await


class Timeout(simpy.events.Timeout):
    """An awaitable ``simpy.Timeout``."""

    __await__ = _await


class Process(simpy.events.Process):
    """An awaitable ``simpy.Process``: ``await`` returns the generator's return value."""

    __await__ = _await


class AllOf(simpy.events.AllOf):
    """An awaitable ``simpy.AllOf``."""

    __await__ = _await


class AnyOf(simpy.events.AnyOf):
    """An awaitable ``simpy.AnyOf``."""

    __await__ = _await


class Environment(simpy.Environment):
    """A ``simpy.Environment`` whose clock is the running virtual event loop's.

    Create it inside a simulation (in a coroutine run by :func:`asyncsim.run`, or
    pass ``loop``). ``env.now`` is the loop's time in virtual seconds; SimPy
    delays are virtual seconds, rounded to the clock's nanosecond ticks.

    Parameters
    ----------
    loop : asyncsim.VirtualEventLoop, optional
        The loop to run on; by default the running loop.
    """

    def __init__(self, loop: VirtualEventLoop | None = None) -> None:
        if loop is None:
            try:
                loop = asyncio.get_running_loop()  # type: ignore[assignment]
            except RuntimeError:
                raise RuntimeError(
                    "models.bridge.Environment() needs a running simulation: create it "
                    "inside a coroutine run by asyncsim.run()/asyncsim run, or pass "
                    "loop=asyncsim.new_event_loop()"
                ) from None
        if not isinstance(loop, VirtualEventLoop):
            raise TypeError(
                f"loop must be an asyncsim.VirtualEventLoop (SimPy needs the virtual clock), "
                f"got {type(loop).__name__}; run the program with asyncsim.run() or asyncsim run"
            )
        self._loop: VirtualEventLoop = loop
        self._clock = loop.clock
        super().__init__(initial_time=to_seconds(loop.clock.now))

    if TYPE_CHECKING:  # the effective types of the BoundClass attributes below

        def process(self, generator: Generator[simpy.Event, Any, Any]) -> Process: ...
        def timeout(self, delay: float = 0, value: Any = None) -> Timeout: ...
        def event(self) -> Event: ...
        def all_of(self, events: Iterable[simpy.Event]) -> AllOf: ...
        def any_of(self, events: Iterable[simpy.Event]) -> AnyOf: ...

    else:
        process = BoundClass(Process)
        timeout = BoundClass(Timeout)
        event = BoundClass(Event)
        all_of = BoundClass(AllOf)
        any_of = BoundClass(AnyOf)

    @property
    def loop(self) -> VirtualEventLoop:
        """The event loop that drives this environment."""
        return self._loop

    @property
    def now(self) -> float:
        """The current virtual time in seconds (the loop's clock)."""
        return to_seconds(self._clock.now)

    def schedule(
        self,
        event: simpy.Event,
        priority: simpy.events.EventPriority = simpy.events.NORMAL,
        delay: float = 0,
    ) -> None:
        """Schedule ``event`` ``delay`` virtual seconds from now and give it a loop slot.

        An infinite ``delay`` is never due: the event is queued but never processed.
        """
        if delay == math.inf:
            heapq.heappush(self._queue, (math.inf, priority, next(self._eid), event))
            return
        delay_ticks = to_ticks(delay)
        if delay_ticks < 0:
            raise ValueError(f"delay must be >= 0 virtual seconds, got {delay!r}")
        when = self._clock.now + delay_ticks
        heapq.heappush(self._queue, (to_seconds(when), priority, next(self._eid), event))
        if delay_ticks == 0:
            self._loop.call_soon(self._slot)
        else:  # like asyncio.sleep: the timer fires, then the waiter runs one hop later
            # (a model's own time: schedules never make it late; Server perturbs its
            # service times through the latency dimension instead)
            call_at_modeled(self._loop, when, self._loop.call_soon, self._slot)

    def _slot(self) -> None:
        """Process SimPy's next event: one loop slot per scheduled event."""
        if (
            not self._queue
            or self._queue[0][0] == math.inf
            or (to_ticks(self._queue[0][0]) > self._clock.now)
        ):
            return  # nothing due (defensive: every slot has its own event)
        try:
            self.step()
        except Exception as exc:
            self._loop.call_exception_handler(
                {
                    "message": (
                        f"a SimPy event failed and nothing waited for it (at t={self.now!r}s); "
                        "await it, yield it in a process, or set event.defused = True"
                    ),
                    "exception": exc,
                }
            )

    def run(self, until: Any = None) -> Any:
        """Not available: the event loop drives this environment."""
        raise RuntimeError(
            "models.bridge.Environment is driven by the event loop; do not call env.run(). "
            "Await its events from asyncio (await env.timeout(1), await env.process(gen)) "
            "or await asyncio.sleep(...) to let SimPy processes run"
        )

    def wait(self, event: simpy.Event) -> asyncio.Future[Any]:
        """An asyncio future for ``event``: its value, or its exception if it fails.

        The event is defused when it fails, so the environment does not crash:
        the failure goes to the awaiting coroutine instead.
        """
        if not isinstance(event, simpy.Event):
            raise TypeError(
                f"env.wait() expects a SimPy event, got {type(event).__name__} {event!r}; "
                "to wait for an asyncio future in SimPy use env.from_future()"
            )
        if event.env is not self:
            raise ValueError(f"{event!r} belongs to another SimPy environment")
        future: asyncio.Future[Any] = self._loop.create_future()
        if event.callbacks is None:  # already processed
            _settle(future, event)
        else:
            event.callbacks.append(lambda ev: _settle(future, ev))
        return future

    def from_future(self, awaitable: Awaitable[Any]) -> simpy.Event:
        """A SimPy event that succeeds with ``awaitable``'s result (or fails with its error).

        ``awaitable`` is an asyncio future or task, or a coroutine (started as a
        task on this environment's loop). Yield it from a SimPy process.
        """
        if inspect.iscoroutine(awaitable):
            future: asyncio.Future[Any] = self._loop.create_task(awaitable)
        elif isinstance(awaitable, asyncio.Future):
            future = awaitable
        else:
            raise TypeError(
                f"env.from_future() expects an asyncio future, task or coroutine, "
                f"got {type(awaitable).__name__} {awaitable!r}"
            )
        event = self.event()

        def done(fut: asyncio.Future[Any]) -> None:
            if fut.cancelled():
                cancelled = asyncio.CancelledError(f"{fut!r} was cancelled")
                event.fail(cast(Exception, cancelled))  # SimPy accepts any BaseException
            elif fut.exception() is not None:
                event.fail(fut.exception())  # type: ignore[arg-type]
            else:
                event.succeed(fut.result())

        future.add_done_callback(done)
        return event


def _settle(future: asyncio.Future[Any], event: simpy.Event) -> None:
    if future.done():  # the awaiting coroutine gave up (cancelled, timed out)
        if not event.ok:
            event.defused = True
        return
    if event.ok:
        future.set_result(event.value)
    else:
        event.defused = True
        future.set_exception(cast(BaseException, event.value))


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Environment] = (
    weakref.WeakKeyDictionary()
)


def shared_environment(loop: VirtualEventLoop | None = None) -> Environment:
    """The environment shared by every model on ``loop`` (default: the running loop).

    Services (:mod:`asyncsim.models.services`) use it, so their SimPy resources and your
    own processes can interact when you use the same environment.
    """
    if loop is None:
        try:
            loop = asyncio.get_running_loop()  # type: ignore[assignment]
        except RuntimeError:
            raise RuntimeError(
                "models need a running simulation: use them inside a coroutine run by "
                "asyncsim.run() or asyncsim run"
            ) from None
    assert loop is not None
    env = _shared.get(loop)
    if env is None:
        env = _shared[loop] = Environment(loop)
    return env
