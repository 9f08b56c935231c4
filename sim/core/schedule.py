"""Schedules: the legal nondeterminism of one run, as replayable data.

A :class:`Schedule` says, for one run of a program, what real asyncio and a real
network could have done differently from a run with perfectly punctual timers:

* how late each timer fires (``timer_lateness``: the program's own timers, asyncio's
  ``sleep``/``wait_for``/``call_later`` included, in the order they are scheduled);
* how much slower each model latency sample is (``latency``: network links, HTTP
  services, ``models.services`` service times), never below the modeled value;
* how late each thread job's result arrives (``job_delay``), which varies the order in
  which jobs complete, never before they started;
* how late the loop wakes up when it sleeps until its next timer (``wakeup_lateness``:
  a GC pause, a busy CPU, a stopped VM), so everything due meanwhile runs in one batch,
  in deadline order;
* which alternative is taken where asyncio leaves the order of simultaneous events open
  (``orders``: see :meth:`ScheduleState.choose`);
* which faults the models inject (``faults``: a partition, a reset, a host down, a
  service error), at which message or call.

Each positional list is consumed in order (the first timer the program schedules takes
the first lateness, and so on); once a list is used up the rest are punctual. Entries
may instead name their event by call site and occurrence (``by_site``). The empty
schedule ``Schedule()`` is the punctual one: a run under it is identical to a run
without a schedule.

Beyond asyncio's guarantees (opt-in, labelled: replay strings start with ``X1``):
``chaos`` and ``pct`` reorder ready callbacks of different tasks (see
:mod:`asyncsim.core.reorder`). Real asyncio never produces these orders.

Models time their own events (packet deliveries, accepts, SimPy events) with
:func:`call_at_modeled`, which timer lateness never delays: their variability comes
through the ``latency`` dimension (:meth:`ScheduleState.latency_ticks`), applied before
a connection's in-order delivery, so TCP never reorders bytes or delivers them before
the connection exists.

A schedule round-trips through a short replay string (:mod:`asyncsim.core.schedule_text`)::

    >>> s = Schedule(timer_lateness=(100_000_001, 0))
    >>> s.to_string()
    'S1;t=100000001,0'
    >>> Schedule.from_string('S1;t=100000001,0') == s
    True
    >>> Schedule.from_string('S1;t=bank.py:15#0+0.1s').by_site[0].amount
    100000000
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from asyncsim._validate import check_int, check_str, refuse
from asyncsim.clock import to_seconds, to_ticks
from asyncsim.core.callsite import call_site
from asyncsim.core.perturbation import ChoiceSource, Perturbation, call_at_modeled
from asyncsim.core.reorder import Reorder
from asyncsim.core.schedule_text import (
    FAULT_KINDS,
    MAX_VALUE,
    FaultChoice,
    SiteEntry,
    check_entry,
    check_fault,
    format_fields,
    parse_fields,
)

__all__ = [
    "FAULT_KINDS",
    "ChoiceSource",
    "FaultChoice",
    "Perturbation",
    "Schedule",
    "ScheduleState",
    "SiteEntry",
    "call_at_modeled",
]

_KINDS = {"t": "timer", "l": "latency", "j": "job", "w": "wakeup", "o": "order", "f": "fault"}


def _ticks_tuple(name: str, values: Iterable[int]) -> tuple[int, ...]:
    """``values`` as a tuple of nanoseconds, each an integer >= 0 (``name[i]`` in errors)."""
    return tuple(
        check_int(f"{name}[{i}]", value, minimum=0, maximum=MAX_VALUE)
        for i, value in enumerate(values)
    )


@dataclass(frozen=True)
class Schedule:
    """One choice of the nondeterminism of a run (see the module docstring).

    Parameters
    ----------
    timer_lateness : tuple of int
        Nanoseconds each timer fires late, in the order timers are scheduled.
    latency : tuple of int
        Nanoseconds added to each model latency sample.
    job_delay : tuple of int
        Nanoseconds by which each thread job's result is delivered late.
    wakeup_lateness : tuple of int
        Nanoseconds by which each wake-up of the idle loop is late.
    orders : tuple of int
        The alternative taken at each open same-instant order (0: program order).
    faults : tuple of FaultChoice
        Faults to inject, by fault opportunity (each message, each service call).
    by_site : tuple of SiteEntry
        Events named by call site or model and occurrence (they take precedence).
    chaos : tuple of int, optional
        Beyond asyncio's FIFO guarantee: choices reordering ready callbacks of
        different tasks (None: off). All-zero choices give FIFO order.
    pct : tuple of int, optional
        Beyond asyncio's FIFO guarantee: ``(seed, depth, *change_points)`` for
        PCT-style priority scheduling (None: off).
    """

    timer_lateness: tuple[int, ...] = ()
    latency: tuple[int, ...] = ()
    job_delay: tuple[int, ...] = ()
    wakeup_lateness: tuple[int, ...] = ()
    orders: tuple[int, ...] = ()
    faults: tuple[FaultChoice, ...] = ()
    by_site: tuple[SiteEntry, ...] = ()
    chaos: tuple[int, ...] | None = None
    pct: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("timer_lateness", "latency", "job_delay", "wakeup_lateness", "orders"):
            object.__setattr__(self, name, _ticks_tuple(name, getattr(self, name)))
        faults = tuple(check_fault(i, f) for i, f in enumerate(self.faults))
        object.__setattr__(self, "faults", tuple(sorted(faults, key=lambda f: f.index)))
        if len({f.index for f in faults}) != len(faults):
            raise ValueError(f"faults name one opportunity twice: {self.faults!r}")
        object.__setattr__(
            self, "by_site", tuple(check_entry(i, e) for i, e in enumerate(self.by_site))
        )
        if self.chaos is not None:
            object.__setattr__(self, "chaos", _ticks_tuple("chaos", self.chaos))
        if self.pct is not None:
            pct = _ticks_tuple("pct", self.pct)
            if len(pct) < 2 or pct[1] < 1:
                raise ValueError(
                    f"pct must be (seed, depth >= 1, *change_points), got {self.pct!r}"
                )
            object.__setattr__(self, "pct", pct)
        if self.chaos is not None and self.pct is not None:
            raise ValueError("a schedule can use chaos or pct ordering, not both")

    @property
    def reorders(self) -> bool:
        """True when this schedule reorders ready callbacks (beyond asyncio's FIFO)."""
        return self.chaos is not None or self.pct is not None

    @property
    def legal(self) -> bool:
        """True when real asyncio could produce this run (no chaos or PCT reordering)."""
        return not self.reorders

    @property
    def punctual(self) -> bool:
        """True when nothing is late, no fault is injected and every order is the program's."""
        return not (
            any(self.timer_lateness)
            or any(self.latency)
            or any(self.job_delay)
            or any(self.wakeup_lateness)
            or any(self.orders)
            or self.faults
            or any(e.amount or e.dimension == "f" for e in self.by_site)
            or self.reorders
        )

    def to_string(self) -> str:
        """The replay string: ``Schedule.from_string(s.to_string()) == s``."""
        positional = {
            "t": self.timer_lateness,
            "l": self.latency,
            "j": self.job_delay,
            "w": self.wakeup_lateness,
            "o": self.orders,
        }
        return format_fields(positional, self.faults, self.by_site, self.chaos, self.pct)

    @classmethod
    def from_string(cls, text: str) -> Schedule:
        """Parse a replay string printed by a failing property test.

        Raises
        ------
        ValueError
            If ``text`` is not a replay string; the message quotes it.
        """
        if not isinstance(text, str):
            raise TypeError(f"replay string must be a str, got {text!r}")
        try:
            fields = parse_fields(text)
            p = fields.positional
            return cls(
                timer_lateness=p["t"],
                latency=p["l"],
                job_delay=p["j"],
                wakeup_lateness=p["w"],
                orders=p["o"],
                faults=fields.faults,
                by_site=fields.named,
                chaos=fields.chaos,
                pct=fields.pct,
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"invalid replay string {text!r}: {exc}") from None

    def __repr__(self) -> str:
        return f"Schedule.from_string({self.to_string()!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # hypothesis prints falsifying examples with this: show the replay string.
        printer.text(repr(self))

    def start(self) -> ScheduleState:
        """A fresh cursor over this schedule, for one run."""
        return ScheduleState(self)


class ScheduleState:
    """A :class:`Schedule` being played: cursors into its lists (one per simulation).

    Parameters
    ----------
    schedule : Schedule
        What to play; events it does not fix are punctual, unless ``source`` decides.
    source : ChoiceSource, optional
        Decides the events the schedule leaves open (hypothesis, while exploring).
    """

    def __init__(self, schedule: Schedule, source: ChoiceSource | None = None) -> None:
        if not isinstance(schedule, Schedule):
            refuse("schedule", "an asyncsim.Schedule", schedule)
        self.schedule = schedule
        self._source = source
        self._counts = dict.fromkeys(_KINDS, 0)
        self._sites: dict[tuple[str, str], int] = {}
        self._named = {(e.dimension, e.site, e.occurrence): e for e in schedule.by_site}
        self._named_dims = {e.dimension for e in schedule.by_site}
        self._faults = {f.index: f for f in schedule.faults}
        #: What the schedule changed in this run, in order (see :class:`Perturbation`).
        self.applied: list[Perturbation] = []
        self._listeners: list[Callable[[Perturbation], None]] = []
        self._record: dict[str, list[int]] | None = None
        self._recorded_faults: list[FaultChoice] = []
        if source is not None:
            self._record = {key: [] for key in "tljwo"}
        self._exempt = 0
        self._finished = False
        self.reorder = Reorder(schedule.chaos, schedule.pct) if schedule.reorders else None
        #: The virtual clock's reading (ticks) when events are applied; set by the loop.
        self.now: Callable[[], int] = lambda: 0
        #: Instruments (``asyncsim.core.instrument.Instrument``) every loop playing this
        #: schedule attaches, e.g. an explorer's coverage guide.
        self.instruments: list[Any] = []

    @property
    def reorders(self) -> bool:
        """True when ready callbacks are reordered (chaos or PCT)."""
        return self.reorder is not None

    def pick(self, ready: deque[asyncio.Handle]) -> asyncio.Handle:
        """Remove and return the ready callback to run next (chaos or PCT)."""
        assert self.reorder is not None
        return self.reorder.pick(ready)

    # -- listening ------------------------------------------------------------------------

    def subscribe(self, listener: Callable[[Perturbation], None]) -> None:
        """Call ``listener(perturbation)`` each time this run's schedule changes something.

        A tracer records the injected lateness this way; ``applied`` keeps the list.
        """
        self._listeners.append(listener)

    def _apply(self, change: Perturbation) -> None:
        self.applied.append(change)
        for listener in self._listeners:
            listener(change)

    # -- the dimensions ---------------------------------------------------------------------

    def _next(self, dimension: str, site: str | None) -> tuple[int, int]:
        """The next index of ``dimension`` and the occurrence of ``site`` (-1 if unknown)."""
        index = self._counts[dimension]
        self._counts[dimension] = index + 1
        if site is None:
            return index, -1
        key = (dimension, site)
        occurrence = self._sites.get(key, 0)
        self._sites[key] = occurrence + 1
        return index, occurrence

    def _decide(
        self, dimension: str, fixed: tuple[int, ...], site: str, index: int, occ: int, base: int
    ) -> int:
        """The amount for event ``index`` of ``dimension`` at ``site`` (its ``occ``-th),
        whose own duration is ``base`` ticks."""
        entry = self._named.get((dimension, site, occ)) if occ >= 0 else None
        if entry is not None:
            value = entry.amount
        elif index < len(fixed):
            value = fixed[index]
        elif self._source is not None:
            value = self._source.delay(dimension, site, index, occ, base)
        else:
            value = 0
        if self._record is not None:
            self._record[dimension].append(value)
        return value

    def timer_lateness(self, handle: asyncio.Handle | None = None) -> int:
        """Nanoseconds the timer being scheduled fires late (0 for a model's own timers)."""
        if self._exempt:
            return 0
        needs_site = self._source is not None or "t" in self._named_dims
        site = call_site(2) if needs_site else None
        index, occ = self._next("t", site.key if site is not None else None)
        fixed = self.schedule.timer_lateness
        if site is None:
            value = fixed[index] if index < len(fixed) else 0
        else:
            when = getattr(handle, "_when", None)
            base = max(0, to_ticks(when) - self.now()) if when is not None else 0
            value = self._decide("t", fixed, site.key, index, occ, base)
        if value:
            site = site or call_site(2)
            deadline = getattr(handle, "_when", None)
            self._apply(
                Perturbation(
                    "timer",
                    index,
                    value,
                    site.key,
                    occ,
                    self.now(),
                    deadline=None if deadline is None else to_ticks(deadline),
                    function=site.function,
                    handle=weakref.ref(handle) if handle is not None else lambda: None,
                )
            )
        return value

    def job_delay(self) -> int:
        """Nanoseconds by which the next thread job's result is delivered late."""
        site = call_site(2)
        index, occ = self._next("j", site.key)
        value = self._decide("j", self.schedule.job_delay, site.key, index, occ, 0)
        if value:
            self._apply(
                Perturbation("job", index, value, site.key, occ, self.now(), function=site.function)
            )
        return value

    def latency_ticks(self, ticks: int, site: str = "model") -> int:
        """``ticks`` (a model's latency sample) plus its perturbation (ticks >= ``ticks``)."""
        index, occ = self._next("l", site)
        value = self._decide("l", self.schedule.latency, site, index, occ, ticks)
        if value:
            now = self.now()
            self._apply(Perturbation("latency", index, value, site, occ, now, deadline=now + ticks))
        return ticks + value

    def latency(self, seconds: float, site: str = "model") -> float:
        """``seconds`` plus the next latency perturbation (virtual seconds)."""
        if not math.isfinite(seconds):
            return seconds
        return to_seconds(self.latency_ticks(to_ticks(seconds), site))

    def wakeup_lateness(self, when: int) -> int:
        """Nanoseconds the idle loop wakes up late for its next timer, due at ``when``."""
        index, _ = self._next("w", None)
        fixed = self.schedule.wakeup_lateness
        if index < len(fixed):
            value = fixed[index]
        elif self._source is not None:
            value = self._source.delay("w", "loop", index, index, max(0, when - self.now()))
        else:
            value = 0
        if self._record is not None:
            self._record["w"].append(value)
        if value:
            self._apply(Perturbation("wakeup", index, value, "loop", index, when, deadline=when))
        return value

    def choose(self, kind: str, count: int) -> int:
        """The index of the item to take next among ``count`` simultaneous ones.

        Called where asyncio leaves an order open: ``kind`` names the site, e.g.
        ``"as_completed"`` (which of the coroutines passed to ``asyncio.as_completed``
        becomes a task next), ``"cancel_leftovers"``, ``"shutdown_asyncgens"``. 0 is
        program order, what runs without a schedule do; the choice is recorded in the
        replay string (``o=``) and replayed.
        """
        check_str("kind", kind)
        check_int("count", count, minimum=1)
        if count <= 1:
            return 0
        index, _ = self._next("o", None)
        fixed = self.schedule.orders
        if index < len(fixed):
            value = fixed[index] % count
        elif self._source is not None:
            value = self._source.order(kind, index, count) % count
        else:
            value = 0
        if self._record is not None:
            self._record["o"].append(value)
        if value:
            self._apply(Perturbation("order", index, value, kind, index, self.now(), detail=kind))
        return value

    def fault(
        self, where: str, kinds: tuple[str, ...], *, declared: tuple[str, ...] = ()
    ) -> tuple[str, int] | None:
        """The fault ``(kind, nanoseconds)`` to inject at this opportunity of model ``where``.

        Models call it at each opportunity (a message between two hosts, a service
        call) with the ``kinds`` they could inject there and those they ``declared``
        (asked schedules to explore, e.g. ``Network.scheduled_faults``). None: no fault.
        """
        index, occ = self._next("f", where)
        entry = self._named.get(("f", where, occ))
        choice: tuple[str, int] | None = None
        if entry is not None and entry.kind is not None:
            choice = (entry.kind, entry.amount)
        elif index in self._faults:
            fixed = self._faults[index]
            choice = (fixed.kind, fixed.duration)
        elif self._source is not None and kinds:
            choice = self._source.fault(where, index, occ, kinds, declared)
        if choice is None:
            return None
        if self._record is not None:
            self._recorded_faults.append(FaultChoice(index, choice[0], choice[1]))
        self._apply(
            Perturbation("fault", index, choice[1], where, occ, self.now(), detail=choice[0])
        )
        return choice

    @contextmanager
    def modeled(self) -> Iterator[None]:
        """Within the block, timers are a model's own, never made late (:func:`call_at_modeled`)."""
        self._exempt += 1
        try:
            yield
        finally:
            self._exempt -= 1

    # -- the end of a run -------------------------------------------------------------------

    def finish(self) -> None:
        """The run is over: tell the source (once)."""
        if not self._finished:
            self._finished = True
            if self._source is not None:
                self._source.finished(self)

    def realized(self) -> Schedule:
        """The concrete schedule that replays this run exactly (its own schedule if no
        source decided anything)."""
        if self._record is None:
            return self.schedule
        lists = {key: _trim(values) for key, values in self._record.items()}
        return Schedule(
            timer_lateness=lists["t"],
            latency=lists["l"],
            job_delay=lists["j"],
            wakeup_lateness=lists["w"],
            orders=lists["o"],
            faults=tuple(self._recorded_faults),
            chaos=self.schedule.chaos,
            pct=self.schedule.pct,
        )

    def describe(self) -> list[str]:
        """One line per change this run's schedule made (see :meth:`Perturbation.describe`)."""
        return [change.describe() for change in self.applied]


def _trim(values: list[int]) -> tuple[int, ...]:
    end = len(values)
    while end and not values[end - 1]:
        end -= 1
    return tuple(values[:end])
