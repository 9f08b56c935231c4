"""The hook protocol the loop calls while it runs: subclass :class:`Instrument`.

With no instrument attached the loop runs its fast path and pays a few branches
per callback, no call. Attach with ``loop.add_instrument(obj)``; hooks are called
in attachment order; ``loop.instrument(Kind)`` finds the attached instrument of a
kind. Every hook receives integer ticks (nanoseconds) where it receives times;
``loop.clock.now`` is the current virtual time.

Instruments are guests: a hook that raises is reported once through
``loop.call_exception_handler`` (naming the instrument and the hook, with the
traceback) and its instrument is detached; the run goes on (see
:mod:`asyncsim.core.hosting`).
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

        Its cause is the step running at that moment: an instrument that wants
        causal wake edges remembers the handle it saw in :meth:`before_step`
        (until :meth:`after_step`), as the tracer does.
        """

    def before_step(self, handle: asyncio.Handle) -> None:
        """``handle`` (a callback, a task step, a fired timer) is about to run."""

    def after_step(self, handle: asyncio.Handle) -> None:
        """``handle`` has run (also when it raised)."""

    def clock_advanced(self, old: int, new: int) -> None:
        """The loop jumped its clock from ``old`` to ``new`` ticks because it was idle."""

    def loop_blocked(self, start: int, end: int) -> None:
        """A blocking ``time.sleep`` held the loop from ``start`` to ``end`` ticks."""

    def delay_injected(
        self, handle: asyncio.Handle | None, kind: str, due: int, ticks: int
    ) -> None:
        """A schedule (:class:`asyncsim.Schedule`) made something ``ticks`` late.

        ``kind`` is ``"timer"`` (``handle``, a timer due at ``due`` ticks, now fires at
        ``due + ticks``), ``"job"`` (a thread job's result, ready at ``due``, is
        delivered ``ticks`` later; ``handle`` is None) or ``"latency"`` (a model's
        latency sample ending at ``due`` was made ``ticks`` longer; ``handle`` is
        None). Called while the step that caused it runs; it changes nothing.
        """
