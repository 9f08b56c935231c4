"""Queueing services for asyncio programs, built on SimPy resources.

:class:`Server` (a station with ``capacity`` parallel slots and a queue),
:class:`RateLimiter` (a token bucket) and :class:`ConnectionPool` (``size``
connections) are used from asyncio code on virtual time::

    db = Server(capacity=2, service_time=Exponential(0.05), name="db")
    await db.call()                      # queue, get served, leave
    async with db.slot():                # or hold a slot while you do the work
        await asyncio.sleep(0.01)

They run on the loop's shared SimPy environment
(:func:`models.bridge.shared_environment`), bound on first use, so they can be
created before the simulation starts (e.g. in a model file). Random service
times draw from the simulation stream ``"service:<name>"``: give each service
its own ``name`` to keep their draws independent.

Each keeps :class:`ServiceStats` in ``.stats``: a step time series
``samples -> [(t, queue_len, busy), ...]`` (t in virtual seconds; one entry
per instant at which the state changed, holding the state after that instant)
plus waits and counters, all plain data. A timeline lane can draw it as a
step chart: from each sample to the next, the queue length (bar height or
shade) and ``busy / capacity`` (fill).

In a traced run (``trace=True``) each service also publishes to its lane of
the trace (:mod:`sim.lanes`, lane = the service's ``name``): the same samples,
and one interval per request from arrival to leaving with its ``wait``
(virtual seconds) and ``outcome``; the Gantt chart and the report show them.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import simpy

import sim
from sim.clock import to_seconds, to_ticks

from .bridge import Environment, shared_environment
from .distributions import Distribution, as_distribution

__all__ = [
    "ConnectionPool",
    "QueueFull",
    "RateLimiter",
    "Server",
    "ServiceStats",
    "Visit",
]


class QueueFull(Exception):
    """A request was turned away because the service's queue was at ``max_queue``."""


@dataclass(frozen=True)
class Visit:
    """One request's passage through a :class:`Server` (virtual seconds)."""

    arrived: float
    started: float
    finished: float

    @property
    def wait(self) -> float:
        """Seconds spent queueing."""
        return self.started - self.arrived

    @property
    def service(self) -> float:
        """Seconds spent being served."""
        return self.finished - self.started


@dataclass
class ServiceStats:
    """Statistics of a service, as plain data (times in virtual seconds).

    Attributes
    ----------
    name : str
        The service's name.
    capacity : int
        Parallel slots (1 for a rate limiter: ``busy`` means "throttling").
    samples : list of (t, queue_len, busy)
        The state after each instant at which it changed, in time order.
    waits : list of float
        Queueing time of each request that got through, in arrival order of service.
    arrivals, served, rejected, cancelled : int
        Requests that arrived, got a slot, were turned away (queue full), gave up.
    """

    name: str
    capacity: int
    samples: list[tuple[float, int, int]] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    arrivals: int = 0
    served: int = 0
    rejected: int = 0
    cancelled: int = 0

    def _record(self, t: float, queue_len: int, busy: int) -> None:
        if self.samples and self.samples[-1][0] == t:
            self.samples[-1] = (t, queue_len, busy)
        elif not self.samples or self.samples[-1][1:] != (queue_len, busy):
            self.samples.append((t, queue_len, busy))

    def _integral(self, index: int, until: float | None) -> tuple[float, float]:
        if not self.samples:
            return 0.0, 0.0
        end = self.samples[-1][0] if until is None else until
        start = self.samples[0][0]
        area = 0.0
        for (t, *state), nxt in zip(self.samples, [*self.samples[1:], None], strict=True):
            t_next = end if nxt is None else min(nxt[0], end)
            if t_next > t:
                area += state[index] * (t_next - t)
        return area, end - start

    def utilization(self, until: float | None = None) -> float:
        """Time-averaged ``busy / capacity`` from the first sample to ``until``.

        ``until`` defaults to the time of the last sample.
        """
        area, span = self._integral(1, until)
        return area / (span * self.capacity) if span > 0 else 0.0

    def mean_queue_length(self, until: float | None = None) -> float:
        """Time-averaged queue length from the first sample to ``until`` (default: last)."""
        area, span = self._integral(0, until)
        return area / span if span > 0 else 0.0

    @property
    def max_queue_length(self) -> int:
        """The longest queue seen (after any instant)."""
        return max((q for _, q, _ in self.samples), default=0)

    @property
    def mean_wait(self) -> float:
        """Mean queueing time in seconds of the requests that got through (0 if none)."""
        return math.fsum(self.waits) / len(self.waits) if self.waits else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready plain data."""
        return {
            "name": self.name,
            "capacity": self.capacity,
            "arrivals": self.arrivals,
            "served": self.served,
            "rejected": self.rejected,
            "cancelled": self.cancelled,
            "utilization": self.utilization(),
            "mean_queue_length": self.mean_queue_length(),
            "max_queue_length": self.max_queue_length,
            "mean_wait": self.mean_wait,
            "waits": list(self.waits),
            "samples": [list(s) for s in self.samples],
        }


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")
    return name


class _Service:
    """Binding to the running loop's SimPy environment, and the statistics."""

    kind = "service"

    def __init__(self, name: str, capacity: int) -> None:
        self.name = _check_name(name)
        self.stats = ServiceStats(name=self.name, capacity=capacity)
        self._env: Environment | None = None
        self._lanes: sim.lanes.LaneRecorder | None = None  # set in traced runs

    def _make_resource(self, env: Environment) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _bind(self) -> Environment:
        """The environment of the running loop; new resources if the loop changed."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                f"{self!r} is used from asyncio code inside a simulation (sim.run / "
                "asyncsim run); call it from a coroutine"
            ) from None
        env = self._env
        if env is None or env.loop is not loop:
            env = self._env = shared_environment(loop)  # type: ignore[arg-type]
            self._lanes = sim.lanes.recorder()
            if self._lanes is not None:
                self._lanes.declare(self.name, kind=self.kind, capacity=self.stats.capacity)
            self._make_resource(env)
            self._sample()
        return env

    def _state(self) -> tuple[int, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample(self) -> None:
        assert self._env is not None
        queue_len, busy = self._state()
        self.stats._record(self._env.now, queue_len, busy)
        if self._lanes is not None:
            self._lanes.sample(self.name, queue=queue_len, busy=busy)

    def _visit(self, label: str) -> int | None:
        """Start a request's interval in the lane (traced runs only)."""
        return None if self._lanes is None else self._lanes.begin(self.name, label)

    def _left(self, ref: int | None, outcome: str, waited: int | None = None) -> None:
        """End a request's interval: ``outcome`` and the ticks ``waited`` for service."""
        if ref is not None and self._lanes is not None:
            wait = None if waited is None else to_seconds(waited)
            self._lanes.end(ref, outcome=outcome, wait=wait)

    def _rng(self) -> Any:
        simulation = sim.current()
        if simulation is None:
            raise RuntimeError(f"{self!r} draws random times only inside a simulation")
        return simulation.stream(f"service:{self.name}")


class Server(_Service):
    """A service station: ``capacity`` requests are served at once, the rest queue.

    Parameters
    ----------
    capacity : int
        Requests served in parallel (>= 1).
    service_time : float or Distribution
        Virtual seconds one request takes in :meth:`call`.
    queue : {"fifo", "priority"}
        Queue discipline; with ``"priority"`` lower ``priority`` values go first
        (ties FIFO), without preempting requests in service.
    max_queue : int, optional
        Requests that may wait; an arrival beyond it raises :class:`QueueFull`.
    name : str
        Names the statistics and the random stream (``"service:<name>"``).

    Examples
    --------
    >>> import asyncio, sim
    >>> from models.services import Server
    >>> async def main():
    ...     server = Server(capacity=2, service_time=1.0)
    ...     await asyncio.gather(*(server.call() for _ in range(5)))
    ...     return asyncio.get_running_loop().time(), server.stats.waits
    >>> sim.run(main())
    (3.0, [0.0, 0.0, 1.0, 1.0, 2.0])
    """

    kind = "server"

    def __init__(
        self,
        capacity: int = 1,
        service_time: float | Distribution = 0.0,
        *,
        queue: str = "fifo",
        max_queue: int | None = None,
        name: str = "server",
    ) -> None:
        capacity = _check_int("capacity", capacity, 1)
        super().__init__(name, capacity)
        self.capacity = capacity
        self.service_time = as_distribution(service_time, name="service_time")
        if queue not in ("fifo", "priority"):
            raise ValueError(
                f"queue must be 'fifo' or 'priority', got {queue!r} "
                "(for a rate limit use models.services.RateLimiter)"
            )
        self.queue = queue
        self.max_queue = None if max_queue is None else _check_int("max_queue", max_queue, 0)
        self._resource: simpy.Resource | None = None

    def __repr__(self) -> str:
        return (
            f"Server(capacity={self.capacity}, service_time={self.service_time!r}, "
            f"queue={self.queue!r}, max_queue={self.max_queue!r}, name={self.name!r})"
        )

    def _make_resource(self, env: Environment) -> None:
        if self.queue == "priority":
            self._resource = simpy.PriorityResource(env, capacity=self.capacity)
        else:
            self._resource = simpy.Resource(env, capacity=self.capacity)

    def _state(self) -> tuple[int, int]:
        assert self._resource is not None
        return len(self._resource.queue), self._resource.count

    @asynccontextmanager
    async def slot(self, priority: int = 0) -> AsyncIterator[float]:
        """Hold one of the server's slots for the ``async with`` body.

        Yields the virtual seconds spent waiting for the slot. Cancellation while
        queueing leaves the queue; the slot is released on exit, even on error.

        Parameters
        ----------
        priority : int
            With ``queue="priority"``: lower goes first. Must be 0 for FIFO.
        """
        env = self._bind()
        if priority != 0 and self.queue != "priority":
            raise ValueError(
                f"priority={priority!r} needs Server(queue='priority'); this server is FIFO"
            )
        resource = self._resource
        assert resource is not None
        stats = self.stats
        stats.arrivals += 1
        ref = self._visit("request")
        if (
            self.max_queue is not None
            and resource.count >= self.capacity
            and len(resource.queue) >= self.max_queue
        ):
            stats.rejected += 1
            self._left(ref, "rejected")
            raise QueueFull(
                f"{self.name}: {len(resource.queue)} requests already queued "
                f"(max_queue={self.max_queue}) at t={env.now!r}s"
            )
        clock = env.loop.clock
        arrived = clock.now
        request: simpy.resources.resource.Request
        if isinstance(resource, simpy.PriorityResource):
            request = resource.request(priority=priority)
        else:
            request = resource.request()
        self._sample()
        try:
            await env.wait(request)
        except BaseException:
            if request.triggered:  # granted, but we were cancelled before resuming
                resource.release(request)
            else:
                request.cancel()
            stats.cancelled += 1
            self._sample()
            self._left(ref, "cancelled", clock.now - arrived)
            raise
        stats.served += 1
        waited = to_seconds(clock.now - arrived)
        stats.waits.append(waited)
        self._sample()
        try:
            yield waited
        finally:
            resource.release(request)
            self._sample()
            self._left(ref, "served", to_ticks(waited))

    async def call(
        self, *, priority: int = 0, service_time: float | Distribution | None = None
    ) -> Visit:
        """Queue for a slot, get served for ``service_time``, release; returns the :class:`Visit`.

        Parameters
        ----------
        priority : int
            With ``queue="priority"``: lower goes first.
        service_time : float or Distribution, optional
            Overrides the server's service time for this request (virtual seconds).
        """
        dist = (
            self.service_time
            if service_time is None
            else as_distribution(service_time, name="service_time")
        )
        env = self._bind()
        arrived = env.now
        async with self.slot(priority) as _waited:
            started = env.now
            await env.timeout(dist.sample(self._rng()))
            return Visit(arrived=arrived, started=started, finished=env.now)


class ConnectionPool(_Service):
    """``size`` reusable connections; callers wait FIFO when all are in use.

    ``async with pool.connection() as conn:`` yields a connection number
    (0 .. size-1), the least recently returned one first.

    Parameters
    ----------
    size : int
        Number of connections (>= 1).
    name : str
        Names the statistics.
    """

    kind = "pool"

    def __init__(self, size: int, *, name: str = "pool") -> None:
        size = _check_int("size", size, 1)
        super().__init__(name, size)
        self.size = size
        self._store: simpy.Store | None = None

    def __repr__(self) -> str:
        return f"ConnectionPool(size={self.size}, name={self.name!r})"

    def _make_resource(self, env: Environment) -> None:
        self._store = simpy.Store(env, capacity=self.size)
        self._store.items.extend(range(self.size))

    def _state(self) -> tuple[int, int]:
        assert self._store is not None
        return len(self._store.get_queue), self.size - len(self._store.items)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[int]:
        """Borrow a connection for the ``async with`` body; returned on exit."""
        env = self._bind()
        store = self._store
        assert store is not None
        self.stats.arrivals += 1
        clock = env.loop.clock
        arrived = clock.now
        ref = self._visit("connection")
        get = store.get()
        self._sample()
        try:
            conn = await env.wait(get)
        except BaseException:
            if get.triggered:
                store.put(get.value)
            else:
                get.cancel()
            self.stats.cancelled += 1
            self._sample()
            self._left(ref, "cancelled", clock.now - arrived)
            raise
        self.stats.served += 1
        waited = clock.now - arrived
        self.stats.waits.append(to_seconds(waited))
        self._sample()
        try:
            yield conn
        finally:
            store.put(conn)
            self._sample()
            self._left(ref, "served", waited)


class RateLimiter(_Service):
    """A token bucket: on average ``rate`` acquisitions per second, bursts up to ``burst``.

    The bucket starts full. Waiters are served FIFO; one that needs more tokens
    than are available holds the line until they accumulate. ``busy`` in the
    statistics is 1 while someone is throttled.

    Parameters
    ----------
    rate : float
        Tokens added per virtual second (> 0).
    burst : int
        Bucket size: acquisitions allowed back to back (>= 1).
    name : str
        Names the statistics.

    Examples
    --------
    >>> import asyncio, sim
    >>> from models.services import RateLimiter
    >>> async def main():
    ...     limiter = RateLimiter(rate=2, burst=1)
    ...     times = []
    ...     for _ in range(3):
    ...         await limiter.acquire()
    ...         times.append(asyncio.get_running_loop().time())
    ...     return times
    >>> sim.run(main())
    [0.0, 0.5, 1.0]
    """

    kind = "limiter"

    def __init__(self, rate: float, burst: int = 1, *, name: str = "limiter") -> None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)):
            raise TypeError(f"rate must be a number of tokens per second, got {rate!r}")
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be > 0 tokens per second, got {rate!r}")
        burst = _check_int("burst", burst, 1)
        super().__init__(name, 1)
        self.rate = float(rate)
        self.burst = burst
        self._interval = to_ticks(1.0 / self.rate)  # ticks per token
        if self._interval < 1:
            raise ValueError(f"rate must be at most 1e9 tokens per second, got {rate!r}")
        self._tat = 0  # GCRA "theoretical arrival time" in ticks
        self._gate: simpy.Resource | None = None
        self._throttled = 0

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate!r}, burst={self.burst}, name={self.name!r})"

    def _make_resource(self, env: Environment) -> None:
        self._gate = simpy.Resource(env, capacity=1)
        self._tat = env.loop.clock.now

    def _state(self) -> tuple[int, int]:
        assert self._gate is not None
        return len(self._gate.queue) + self._gate.count, self._throttled

    async def acquire(self, tokens: int = 1) -> float:
        """Wait until ``tokens`` tokens are available and take them; returns the wait (s)."""
        tokens = _check_int("tokens", tokens, 1)
        if tokens > self.burst:
            raise ValueError(
                f"tokens={tokens} can never be granted by a bucket of burst={self.burst}; "
                "raise burst or acquire in smaller pieces"
            )
        env = self._bind()
        gate = self._gate
        assert gate is not None
        self.stats.arrivals += 1
        clock = env.loop.clock
        arrived = clock.now
        ref = self._visit("acquire")
        request = gate.request()
        self._sample()
        try:
            await env.wait(request)
            while True:
                start = max(clock.now, self._tat)
                allowed_at = start + (tokens - self.burst) * self._interval
                if clock.now >= allowed_at:
                    self._tat = start + tokens * self._interval
                    break
                self._throttled = 1
                self._sample()
                await env.timeout(to_seconds(allowed_at - clock.now))
            self._throttled = 0
        except BaseException:
            self._throttled = 0
            if request.triggered:
                gate.release(request)
            else:
                request.cancel()
            self.stats.cancelled += 1
            self._sample()
            self._left(ref, "cancelled", clock.now - arrived)
            raise
        gate.release(request)
        waited = to_seconds(clock.now - arrived)
        self.stats.served += 1
        self.stats.waits.append(waited)
        self._sample()
        self._left(ref, "served", clock.now - arrived)
        return waited

    async def __aenter__(self) -> RateLimiter:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None
