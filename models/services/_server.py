"""A service station with ``capacity`` parallel slots and a FIFO or priority queue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import simpy

from asyncsim._validate import check_int
from asyncsim.clock import to_ticks
from asyncsim.core import durations

from ..bridge import Environment
from ..distributions import Constant, Duration, Sampler, check_duration, sample_duration
from ._base import QueueFull, _Service
from ._stats import Visit

__all__ = ["Server"]


def _service_time(value: object) -> Sampler:
    """``service_time`` as a sampler: a number of seconds becomes a :class:`Constant`."""
    duration = check_duration("service_time", value)
    return duration if isinstance(duration, Sampler) else Constant(duration)


class Server(_Service):
    """A service station: ``capacity`` requests are served at once, the rest queue.

    Parameters
    ----------
    capacity : int
        Requests served in parallel (>= 1).
    service_time : float or distribution
        Virtual seconds one request takes in :meth:`call`: a number or any
        :class:`~asyncsim.models.distributions.Sampler` (e.g. ``Exponential(0.05)``).
    queue : {"fifo", "priority"}
        Queue discipline; with ``"priority"`` lower ``priority`` values go first
        (ties FIFO), without preempting requests in service.
    max_queue : int, optional
        Requests that may wait; an arrival beyond it raises :class:`QueueFull`.
    name : str
        Names the statistics and the random stream (``"service:<name>"``).

    Examples
    --------
    >>> import asyncio, asyncsim
    >>> from asyncsim.models.services import Server
    >>> async def main():
    ...     server = Server(capacity=2, service_time=1.0)
    ...     await asyncio.gather(*(server.call() for _ in range(5)))
    ...     return asyncio.get_running_loop().time(), server.stats.waits
    >>> asyncsim.run(main())
    (3.0, [0.0, 0.0, 1.0, 1.0, 2.0])
    """

    kind = "server"

    def __init__(
        self,
        capacity: int = 1,
        service_time: Duration = 0.0,
        *,
        queue: str = "fifo",
        max_queue: int | None = None,
        name: str = "server",
    ) -> None:
        capacity = check_int("capacity", capacity, minimum=1)
        super().__init__(name, capacity)
        self.capacity = capacity
        self.service_time = _service_time(service_time)
        if queue not in ("fifo", "priority"):
            raise ValueError(
                f"queue must be 'fifo' or 'priority', got {queue!r} "
                "(for a rate limit use asyncsim.models.services.RateLimiter)"
            )
        self.queue = queue
        self.max_queue = None if max_queue is None else check_int("max_queue", max_queue, minimum=0)
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
        arrived = env.loop.clock.now
        request: simpy.resources.resource.Request
        if isinstance(resource, simpy.PriorityResource):
            request = resource.request(priority=priority)
        else:
            request = resource.request()
        self._sample()
        try:
            await env.wait(request)
        except BaseException:
            self._give_up(request, lambda: resource.release(request), ref, arrived)
            raise
        waited = self._got_through(arrived)
        try:
            yield waited
        finally:
            resource.release(request)
            self._sample()
            self._left(ref, "served", to_ticks(waited))

    async def call(self, *, priority: int = 0, service_time: Duration | None = None) -> Visit:
        """Queue for a slot, get served for ``service_time``, release; returns the :class:`Visit`.

        Parameters
        ----------
        priority : int
            With ``queue="priority"``: lower goes first.
        service_time : float or distribution, optional
            Overrides the server's service time for this request (virtual seconds).
        """
        dist = self.service_time if service_time is None else _service_time(service_time)
        env = self._bind()
        arrived = env.now
        async with self.slot(priority) as _waited:
            started = env.now
            seconds = sample_duration("service_time", dist, self._rng())
            plan = durations.current()
            if plan is not None:  # a what-if profile run may scale this server
                seconds = plan.seconds(f"service:{self.name}", f"Server({self.name!r})", seconds)
            await env.timeout(seconds)
            return Visit(arrived=arrived, started=started, finished=env.now)
