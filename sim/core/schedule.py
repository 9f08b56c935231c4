"""Schedules: the legal nondeterminism of one run, as replayable data.

A :class:`Schedule` says how late each timer fires, how much extra latency each
model latency sample gets and how late each executor job's result is delivered.
Every value is a count of nanoseconds from 0 to 2**63 - 1 consumed in order (the first
timer the program schedules takes the first lateness, and so on); once a list
is used up the rest are punctual. The empty schedule ``Schedule()`` is the
punctual one: a run under it is identical to a run without a schedule.

Beyond asyncio's guarantees (opt-in, labelled *chaos*): ``chaos`` picks the
next ready callback among the first pending callback of every task (so each
task's own callbacks keep their FIFO order, but different tasks overtake each
other), and ``pct`` picks by PCT-style random task priorities with
``depth - 1`` priority change points (a high-priority task runs ahead until it
blocks or hits a change point). Real asyncio
never produces these orders; use them to find ordering assumptions.

:func:`perturb_latency` is the hook for models: a network or service model
passes each latency sample (virtual seconds) through it, so a schedule can
delay it. Outside a scheduled simulation it returns the sample unchanged.

A schedule round-trips through a short replay string::

    >>> s = Schedule(timer_lateness=(100_000_001, 0))
    >>> s.to_string()
    'S1;t=100000001,0'
    >>> Schedule.from_string('S1;t=100000001,0') == s
    True
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from asyncsim._validate import check_int, check_str, refuse
from asyncsim.clock import to_seconds, to_ticks

__all__ = ["Schedule", "ScheduleState"]

_VERSION = "S1"
_FIELD = re.compile(r"^(t|l|j|c|p)=(.*)$")


#: The largest number a schedule holds: a signed 64-bit count (292 years of nanoseconds).
MAX_VALUE = 2**63 - 1


def _ticks_tuple(name: str, values: Iterable[int]) -> tuple[int, ...]:
    """``values`` as a tuple of integers from 0 to :data:`MAX_VALUE` (``name[i]`` in errors)."""
    return tuple(
        check_int(f"{name}[{i}]", value, minimum=0, maximum=MAX_VALUE)
        for i, value in enumerate(values)
    )


@dataclass(frozen=True)
class Schedule:
    """One choice of the legal nondeterminism of a run (see the module docstring).

    Parameters
    ----------
    timer_lateness : tuple of int
        Nanoseconds each timer fires late, in the order timers are scheduled.
    latency : tuple of int
        Nanoseconds added to each latency sample passed to :func:`perturb_latency`.
    job_delay : tuple of int
        Nanoseconds by which each executor job's result is delivered late.
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
    chaos: tuple[int, ...] | None = None
    pct: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("timer_lateness", "latency", "job_delay"):
            object.__setattr__(self, name, _ticks_tuple(name, getattr(self, name)))
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
    def punctual(self) -> bool:
        """True when every timer, latency sample and job is on time and order is FIFO."""
        return (
            not any(self.timer_lateness)
            and not any(self.latency)
            and not any(self.job_delay)
            and not self.reorders
        )

    def to_string(self) -> str:
        """The replay string: ``Schedule.from_string(s.to_string()) == s``."""
        parts = [_VERSION]
        for key, values in (
            ("t", self.timer_lateness),
            ("l", self.latency),
            ("j", self.job_delay),
            ("c", self.chaos),
            ("p", self.pct),
        ):
            if values is None or (not values and key in "tlj"):
                continue
            parts.append(f"{key}=" + ",".join(map(str, values)))
        return ";".join(parts)

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
        parts = text.strip().split(";")
        if parts[0] != _VERSION:
            raise ValueError(
                f"invalid replay string {text!r}: it must start with {_VERSION!r} "
                "(copy it from the failing test's output, e.g. 'S1;t=100000001')"
            )
        fields: dict[str, tuple[int, ...]] = {}
        for part in parts[1:]:
            match = _FIELD.match(part)
            if match is None or match.group(1) in fields:
                raise ValueError(f"invalid replay string {text!r}: bad field {part!r}")
            body = match.group(2)
            try:
                values = tuple(int(v) for v in body.split(",")) if body else ()
            except ValueError:
                raise ValueError(
                    f"invalid replay string {text!r}: field {part!r} must list integers"
                ) from None
            fields[match.group(1)] = values
        try:
            return cls(
                timer_lateness=fields.get("t", ()),
                latency=fields.get("l", ()),
                job_delay=fields.get("j", ()),
                chaos=fields.get("c"),
                pct=fields.get("p"),
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


def _owner(handle: asyncio.Handle) -> object:
    """The task a ready callback belongs to (its step or wakeup), else the handle itself."""
    owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
    return owner if isinstance(owner, asyncio.Task) else handle


class ScheduleState:
    """A :class:`Schedule` being played: cursors into its lists (one per simulation)."""

    def __init__(self, schedule: Schedule) -> None:
        if not isinstance(schedule, Schedule):
            refuse("schedule", "an asyncsim.Schedule", schedule)
        self.schedule = schedule
        self._timer = iter(schedule.timer_lateness)
        self._latency = iter(schedule.latency)
        self._job = iter(schedule.job_delay)
        self._chaos = iter(schedule.chaos or ())
        self._order: Callable[[list[object]], int] | None = None
        if schedule.chaos is not None:
            self._order = self._chaos_order
        elif schedule.pct is not None:
            self._order = self._pct_order
            seed, depth, *changes = schedule.pct
            self._pct_rng = random.Random(seed)
            self._pct_depth = depth
            self._pct_changes = {step: depth - 1 - i for i, step in enumerate(changes)}
            self._priority: dict[object, float] = {}
            self._pct_step = 0

    @property
    def reorders(self) -> bool:
        """True when ready callbacks are reordered (chaos or PCT)."""
        return self._order is not None

    def timer_lateness(self) -> int:
        """Nanoseconds the next scheduled timer fires late."""
        return next(self._timer, 0)

    def latency(self, seconds: float) -> float:
        """``seconds`` plus the next latency perturbation (virtual seconds)."""
        extra = next(self._latency, 0)
        if not math.isfinite(seconds):
            return seconds
        return to_seconds(to_ticks(seconds) + extra)

    def job_delay(self) -> int:
        """Nanoseconds by which the next executor job's result is delivered late."""
        return next(self._job, 0)

    def choose(self, kind: str, count: int) -> int:
        """The index of the item to take next among ``count`` candidates (0 to count - 1).

        The choice point for orders asyncio leaves open (see
        :mod:`asyncsim.core.ordering`): ``kind`` names the site, e.g.
        ``"as_completed"`` (which of the coroutines passed to
        ``asyncio.as_completed`` becomes a task next), ``"cancel_leftovers"`` (which
        leftover task ``asyncsim.run`` cancels next), ``"shutdown_asyncgens"``
        (which async generator is closed next). Index 0 is program order, the
        punctual schedule's choice, which every schedule makes for now.
        """
        check_str("kind", kind)
        check_int("count", count, minimum=1)
        return 0

    def pick(self, ready: deque[asyncio.Handle]) -> asyncio.Handle:
        """Remove and return the ready callback to run next (chaos or PCT).

        Only the first pending callback of each task is a candidate, so every
        task's own callbacks keep their FIFO order.
        """
        assert self._order is not None
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
                priority[owner] = self._pct_depth + self._pct_rng.random()
        best = max(range(len(owners)), key=lambda i: priority[owners[i]])
        self._pct_step += 1
        if self._pct_step in self._pct_changes:
            priority[owners[best]] = self._pct_changes[self._pct_step]
        return best
