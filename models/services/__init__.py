"""Queueing services for asyncio programs, built on SimPy resources.

:class:`Server` (a station with ``capacity`` parallel slots and a queue),
:class:`RateLimiter` (a token bucket) and :class:`ConnectionPool` (``size``
connections) are used from asyncio code on virtual time::

    db = Server(capacity=2, service_time=Exponential(0.05), name="db")
    await db.call()                      # queue, get served, leave
    async with db.slot():                # or hold a slot while you do the work
        await asyncio.sleep(0.01)

They run on the loop's shared SimPy environment
(:func:`asyncsim.models.bridge.shared_environment`), bound on first use, so they can be
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
the trace (:mod:`asyncsim.lanes`, lane = the service's ``name``): the same samples,
and one interval per request from arrival to leaving with its ``wait``
(virtual seconds) and ``outcome``; the Gantt chart and the report show them.
"""

from ._base import QueueFull, ServiceError
from ._limiter import RateLimiter
from ._pool import ConnectionPool
from ._server import Server
from ._stats import ServiceStats, Visit

__all__ = [
    "ConnectionPool",
    "QueueFull",
    "RateLimiter",
    "Server",
    "ServiceError",
    "ServiceStats",
    "Visit",
]
