"""What a schedule changed in a run, who decides what it leaves open, and models' own timers.

:class:`Perturbation` is one change a :class:`~asyncsim.core.schedule.ScheduleState`
applied (a late timer, a slower latency sample, a fault ...): the state lists them in
``applied`` and tells its subscribers as they happen, so a tracer or a report can mark
injected lateness on the timer it delayed. :class:`ChoiceSource` is the protocol of
whatever decides the events a schedule leaves open (a hypothesis explorer).
:func:`call_at_modeled` is how models time their own events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from asyncsim.clock import to_seconds
from asyncsim.core.schedule_text import format_amount

if TYPE_CHECKING:
    from asyncsim.core.schedule import ScheduleState

__all__ = ["ChoiceSource", "Perturbation", "call_at_modeled"]


@dataclass(frozen=True)
class Perturbation:
    """One thing a schedule changed in a run, as :attr:`ScheduleState.applied` lists it.

    ``kind`` is ``"timer"``, ``"latency"``, ``"job"``, ``"wakeup"``, ``"order"`` or
    ``"fault"``; ``index`` its position among the run's events of that kind (the
    replay string's positional index); ``amount`` nanoseconds late or extra (a fault's
    duration; for an order, the alternative taken); ``site`` where it happened
    (``"bank.py:15"``, a model's name); ``occurrence`` its count at that site (from 0;
    -1 when the run did not count its site);
    ``at`` the virtual time (ticks) it was applied; ``deadline`` the tick a timer was
    due (timers only); ``detail`` the fault kind or order kind; ``function`` the
    function at the call site. ``handle()`` is the delayed timer while it lives.
    """

    kind: str
    index: int
    amount: int
    site: str
    occurrence: int
    at: int
    deadline: int | None = None
    detail: str | None = None
    function: str | None = None
    handle: Callable[[], asyncio.Handle | None] = field(
        default=lambda: None, repr=False, compare=False
    )

    def describe(self) -> str:
        """One line for a person: ``timer #1 (bank.py:15 in deposit()): 0.1 s late``."""
        where = self.site + (f" in {self.function}()" if self.function else "")
        where += f", its #{self.occurrence}" if self.occurrence > 0 else ""
        late = format_amount(self.amount).replace("s", " s")
        head = f"{self.kind} #{self.index} ({where})"
        if self.kind == "timer":
            return f"{head}: fired {late} late"
        if self.kind == "latency":
            return f"{head}: {late} slower"
        if self.kind == "job":
            return f"{head}: result delivered {late} late"
        if self.kind == "wakeup":
            return f"{head}: the loop woke {late} late (a pause: GC, busy CPU, stopped VM)"
        if self.kind == "order":
            return f"{head}: took alternative {self.amount} of the open order ({self.detail})"
        lasting = f" for {late}" if self.amount else ""
        article = "an" if (self.detail or "x")[0] in "aeiou" else "a"
        return f"{head}: injected {article} {self.detail}{lasting}"


class ChoiceSource(Protocol):
    """What decides the events a :class:`Schedule` leaves open (a property-test explorer).

    :class:`ScheduleState` asks it about every event its schedule does not fix; what it
    answers is recorded, so :meth:`ScheduleState.realized` replays the run exactly.
    """

    def delay(self, dimension: str, site: str, index: int, occurrence: int, base: int) -> int:
        """Nanoseconds (>= 0) to add to this timer (``"t"``), latency sample (``"l"``),
        job (``"j"``) or wake-up (``"w"``); ``base`` is the event's own duration in
        ticks (the timer's delay, the sample, the sleep; 0 for a job)."""

    def order(self, kind: str, index: int, count: int) -> int:
        """The alternative (``0 <= i < count``) to take at an open order."""

    def fault(
        self,
        where: str,
        index: int,
        occurrence: int,
        kinds: tuple[str, ...],
        declared: tuple[str, ...],
    ) -> tuple[str, int] | None:
        """A fault ``(kind, nanoseconds)`` to inject at this opportunity, or None.

        ``kinds`` are those the model can inject here; ``declared`` those among them the
        model itself asked to have explored (``scheduled_faults``).
        """

    def finished(self, state: ScheduleState) -> None:
        """The run is over (called once)."""


def call_at_modeled(
    loop: asyncio.AbstractEventLoop, when: int, callback: Callable[..., object], *args: Any
) -> asyncio.TimerHandle:
    """``loop.call_at`` for a model's own event at ``when`` (ticks): never made late.

    A packet's delivery, a connection's accept, a SimPy event are not timers of the
    program: a schedule varies them through latency (``ScheduleState.latency_ticks``),
    before a connection's in-order delivery, not by delaying each timer on its own.
    """
    state: ScheduleState | None = getattr(loop, "_schedule_state", None)
    if state is None:
        return loop.call_at(to_seconds(when), callback, *args)
    with state.modeled():
        return loop.call_at(to_seconds(when), callback, *args)
