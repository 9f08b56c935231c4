"""Orders beyond asyncio's guarantees: chaos and PCT picks among ready callbacks (opt-in).

asyncio runs ready callbacks first in, first out. A schedule with ``chaos`` or ``pct``
(its replay string starts with ``X1``) lets tasks overtake each other instead, to find
hidden ordering assumptions; real asyncio never produces these orders.

The candidates are the first ready callback of each task (so each task's own steps keep
their order) and the first ready callback that belongs to no task: those (timers,
future callbacks, the network model's deliveries and accepts) keep their FIFO order
among themselves, so a connection's data never overtakes its accept and a
connection's bytes never overtake each other.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable

__all__ = ["Reorder"]

_NO_TASK = object()  # the one owner of every callback that belongs to no task


def _owner(handle: asyncio.Handle) -> object:
    """The task a ready callback belongs to (its step or wakeup), else ``_NO_TASK``."""
    owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
    return owner if isinstance(owner, asyncio.Task) else _NO_TASK


class Reorder:
    """Picks the next ready callback for a chaos or PCT schedule (one per run)."""

    def __init__(self, chaos: tuple[int, ...] | None, pct: tuple[int, ...] | None) -> None:
        self._chaos = iter(chaos or ())
        self._order: Callable[[list[object]], int]
        if pct is not None:
            seed, depth, *changes = pct
            self._rng = random.Random(seed)
            self._depth = depth
            self._changes = {step: depth - 1 - i for i, step in enumerate(changes)}
            self._priority: dict[object, float] = {}
            self._step = 0
            self._order = self._pct_order
        else:
            self._order = self._chaos_order

    def pick(self, ready: deque[asyncio.Handle]) -> asyncio.Handle:
        """Remove and return the ready callback to run next."""
        owners: list[object] = []
        positions: list[int] = []
        seen: set[int] = set()
        for index, handle in enumerate(ready):
            owner = _owner(handle)
            if id(owner) not in seen:
                seen.add(id(owner))
                owners.append(owner)
                positions.append(index)
        choice = self._order(owners) if len(owners) > 1 else 0
        index = positions[choice]
        handle = ready[index]
        del ready[index]
        return handle

    def _chaos_order(self, owners: list[object]) -> int:
        return next(self._chaos, 0) % len(owners)

    def _pct_order(self, owners: list[object]) -> int:
        priority = self._priority
        for owner in owners:
            if owner not in priority:
                priority[owner] = self._depth + self._rng.random()
        best = max(range(len(owners)), key=lambda i: priority[owners[i]])
        self._step += 1
        if self._step in self._changes:
            priority[owners[best]] = self._changes[self._step]
        return best
