"""The hook protocol the loop calls while it runs: subclass :class:`Instrument`.

With no instrument attached the loop runs its fast path and pays one branch per
iteration, nothing per callback. Attach with ``loop.add_instrument(obj)``; hooks
are called in attachment order. Every hook receives integer ticks (nanoseconds)
where it receives times; ``loop.clock.now`` is the current virtual time.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["Instrument"]


class Instrument:
    """Base class of loop instruments; every hook is a no-op, override what you need."""

    def attached(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called once when attached to ``loop``."""

    def detached(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called once when detached from ``loop`` (or when it closes)."""

    def task_created(self, task: asyncio.Task[Any], parent: asyncio.Task[Any] | None) -> None:
        """``task`` was created by ``loop.create_task`` while ``parent`` was running."""

    def callback_scheduled(self, handle: asyncio.Handle, when: int | None) -> None:
        """A callback was scheduled (``when`` in ticks for timers, None for call_soon).

        ``loop._current_step`` is the handle running at that moment (None between
        steps), which gives causal wake edges.
        """

    def before_step(self, handle: asyncio.Handle) -> None:
        """``handle`` (a callback, a task step, a fired timer) is about to run."""

    def after_step(self, handle: asyncio.Handle) -> None:
        """``handle`` has run (also when it raised)."""

    def clock_advanced(self, old: int, new: int) -> None:
        """The loop jumped its clock from ``old`` to ``new`` ticks because it was idle."""

    def loop_blocked(self, start: int, end: int) -> None:
        """A blocking ``time.sleep`` held the loop from ``start`` to ``end`` ticks."""
