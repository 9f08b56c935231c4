"""Tasks and futures that hash by creation order, so sets of them iterate the same every run.

Python's default hash of an object is its memory address, so a ``set`` of tasks or
futures (``asyncio.wait``'s ``done`` and ``pending``, a ``TaskGroup``'s tasks, a
program's own set of waiters) iterates in an order that changes from run to run.
A virtual loop's tasks are :class:`OrderedTask` and the futures a program creates
with ``loop.create_future()`` are :class:`OrderedFuture`: their hash is their
creation number, so the same program iterates such a set in the same order on
every run, in every process. Both show as what they are to the program (``Task``,
``Future``) in reprs and error messages.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["OrderedFuture", "OrderedTask", "creation_order"]


class OrderedFuture(asyncio.Future[Any]):
    """A Future whose hash is its creation number on its loop (``_asyncsim_seq``)."""

    __slots__ = ("_asyncsim_seq",)

    _asyncsim_seq: int

    def __hash__(self) -> int:
        return self._asyncsim_seq


class OrderedTask(asyncio.Task[Any]):
    """A Task whose hash is its creation number in its simulation (``_asyncsim_seq``).

    The number is set before ``__init__`` runs (asyncio registers the task, by hash,
    while initialising it): ``task = OrderedTask.__new__(OrderedTask)``, then
    ``task._asyncsim_seq = n``, then ``task.__init__(coro, loop=loop, ...)``.
    """

    __slots__ = ("_asyncsim_seq",)

    _asyncsim_seq: int

    def __hash__(self) -> int:
        return self._asyncsim_seq


# Reprs and error messages show them as what they are to the program.
OrderedFuture.__name__ = OrderedFuture.__qualname__ = "Future"
OrderedTask.__name__ = OrderedTask.__qualname__ = "Task"


def creation_order(future: Any) -> tuple[int, str]:
    """A sort key: ordered tasks and futures by creation number, any other after them
    (by name for tasks, which is the best a foreign task offers)."""
    seq = getattr(future, "_asyncsim_seq", None)
    if seq is not None:
        return seq, ""
    name = future.get_name() if isinstance(future, asyncio.Task) else ""
    return 1 << 62, name
