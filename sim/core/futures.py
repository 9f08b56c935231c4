"""The futures a virtual loop with a network hands out: hashed by creation order.

Libraries keep futures in sets and wake them by iterating the set (aiohttp's DNS
throttle does); with the default id-based hash that order follows memory
addresses and changes from run to run. A creation-number hash makes it the same
on every run of the same program.
"""

from __future__ import annotations

import asyncio

__all__ = ["OrderedFuture"]


class OrderedFuture(asyncio.Future):
    """A Future whose hash is its creation number on its loop (``_asyncsim_seq``)."""

    __slots__ = ("_asyncsim_seq",)

    _asyncsim_seq: int

    def __hash__(self) -> int:
        return self._asyncsim_seq


# Reprs and error messages show it as what it is to the program: a Future.
OrderedFuture.__name__ = OrderedFuture.__qualname__ = "Future"
