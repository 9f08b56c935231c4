"""A pool of ``size`` reusable connections, lent out FIFO."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import simpy

from asyncsim._validate import check_int
from asyncsim.clock import to_ticks

from ..bridge import Environment
from ._base import _Service

__all__ = ["ConnectionPool"]


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
        size = check_int("size", size, minimum=1)
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
        arrived = env.loop.clock.now
        ref = self._visit("connection")
        get = store.get()
        self._sample()
        try:
            conn = await env.wait(get)
        except BaseException:
            self._give_up(get, lambda: store.put(get.value), ref, arrived)
            raise
        waited = self._got_through(arrived)
        try:
            yield conn
        finally:
            store.put(conn)
            self._sample()
            self._left(ref, "served", to_ticks(waited))
