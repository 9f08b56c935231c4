"""Lanes: what models (network, services) did, recorded beside the tasks in the trace.

A *lane* is a named row of the timeline that belongs to a resource rather than
to a task: a host's HTTP requests, the connections to a server, a service's
queue. Models publish to the lanes of the traced run through the public API::

    lanes = asyncsim.lanes.recorder()          # None when the run is not traced
    if lanes is not None:
        lanes.declare("db", kind="server", capacity=2)
        lanes.sample("db", queue=3, busy=2)             # a step series
        ref = lanes.begin("example.com HTTP", "GET /", method="GET")
        ...
        lanes.end(ref, label="GET / 200", status=200)   # an interval

Times are the virtual clock's at the call. The :class:`asyncsim.Trace` keeps them in
``lanes`` (:class:`Lane`), ``intervals`` (:class:`LaneInterval`) and
``samples`` (:class:`LaneSample`), the Gantt chart draws them as rows below the
tasks, and the HTML report lists them. Untraced runs record nothing: fetch the
recorder once (when a model binds to a loop or opens a connection) and skip the
work when it is None.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any, Protocol, runtime_checkable

from asyncsim._validate import check_int, check_str, refuse
from asyncsim.core.hosting import InstrumentHost
from asyncsim.trace.records import Lane, LaneInterval, LaneSample, Value

__all__ = ["LaneRecorder", "recorder"]


def _check_attrs(attrs: dict[str, Any]) -> None:
    for key, value in attrs.items():
        if value is not None and not isinstance(value, (str, int, float, bool)):
            refuse(f"lane attribute {key}", "a str, int, float, bool or None", value)
        if isinstance(value, float) and not math.isfinite(value):
            refuse(f"lane attribute {key}", "finite", value, error=ValueError)


class LaneRecorder:
    """Collects lanes for one tracer (get it with :func:`recorder`).

    Parameters
    ----------
    clock : asyncsim.Clock
        The virtual clock the times are read from.
    """

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self._lanes: dict[str, Lane] = {}
        self._intervals: list[list[Any]] = []
        self._samples: list[LaneSample] = []
        self._last_sample: dict[str, int] = {}  # lane -> index of its last sample
        self.current_task: Any = lambda: None  # the tracer replaces it

    def declare(self, lane: str, *, kind: str = "", capacity: int | None = None) -> str:
        """Declare ``lane`` (first declaration wins; lanes keep declaration order).

        Recording into an undeclared lane declares it with an empty kind.
        """
        check_str("lane", lane, empty=False)
        check_str("kind", kind)
        if capacity is not None:
            check_int("capacity", capacity, minimum=1)
        if lane not in self._lanes:
            self._lanes[lane] = Lane(lane, kind, capacity)
        return lane

    def begin(self, lane: str, label: str, **attrs: Value) -> int:
        """Start an interval in ``lane`` now; returns its reference for :meth:`end`."""
        if lane not in self._lanes:
            self.declare(lane)
        check_str("label", label)
        _check_attrs(attrs)
        ref = len(self._intervals)
        self._intervals.append([lane, self.clock.now, None, label, self.current_task(), attrs])
        return ref

    def end(self, ref: int, *, label: str | None = None, **attrs: Value) -> None:
        """End interval ``ref`` now (once; later calls are ignored), adding ``attrs``."""
        row = self._intervals[self._check_ref(ref)]
        if row[2] is not None:
            return
        _check_attrs(attrs)
        row[2] = self.clock.now
        if label is not None:
            row[3] = check_str("label", label)
        row[5].update(attrs)

    def update(self, ref: int, **attrs: Value) -> None:
        """Add or change details of interval ``ref`` (open or ended)."""
        self._check_ref(ref)
        _check_attrs(attrs)
        self._intervals[ref][5].update(attrs)

    def sample(self, lane: str, *, queue: int, busy: int) -> None:
        """Record that ``lane`` has ``queue`` waiting and ``busy`` in service from now on.

        Several samples at one instant keep the last; an unchanged state is not repeated.
        """
        if lane not in self._lanes:
            self.declare(lane)
        check_int("queue", queue, minimum=0)
        check_int("busy", busy, minimum=0)
        now = self.clock.now
        last = self._last_sample.get(lane)
        if last is not None:
            prev = self._samples[last]
            if prev.time_ns == now:
                self._samples[last] = LaneSample(lane, now, queue, busy)
                return
            if (prev.queue, prev.busy) == (queue, busy):
                return
        self._last_sample[lane] = len(self._samples)
        self._samples.append(LaneSample(lane, now, queue, busy))

    def _check_ref(self, ref: object) -> int:
        allowed = "a reference returned by begin()"
        if isinstance(ref, bool) or not isinstance(ref, int):
            refuse("ref", allowed, ref)
        assert isinstance(ref, int)
        if not 0 <= ref < len(self._intervals):
            refuse("ref", allowed, ref, error=ValueError)
        return ref

    def rows(self) -> tuple[tuple[Lane, ...], tuple[LaneInterval, ...], tuple[LaneSample, ...]]:
        """Everything recorded so far, as immutable rows."""
        intervals = tuple(
            LaneInterval(lane, start, end, label, task, tuple(sorted(attrs.items())))
            for lane, start, end, label, task, attrs in self._intervals
        )
        return tuple(self._lanes.values()), intervals, tuple(self._samples)


def recorder() -> LaneRecorder | None:
    """The lane recorder of the traced simulation running now, or None when untraced.

    Examples
    --------
    >>> import asyncio, asyncsim
    >>> async def main():
    ...     lanes = asyncsim.lanes.recorder()
    ...     ref = lanes.begin("disk", "write", size=4096)
    ...     await asyncio.sleep(0.25)
    ...     lanes.end(ref)
    >>> asyncsim.simulate(main(), trace=True).trace.intervals[0][:3]
    ('disk', 0, 250000000)
    >>> asyncsim.lanes.recorder() is None
    True
    """
    loop = asyncio._get_running_loop()
    if not isinstance(loop, InstrumentHost):
        return None
    owner = loop.instrument(_HasLanes)  # type: ignore[type-abstract]  # the tracer, if any
    lanes = getattr(owner, "lanes", None)
    return lanes if isinstance(lanes, LaneRecorder) else None


@runtime_checkable
class _HasLanes(Protocol):
    """An instrument that records lanes (the tracer)."""

    lanes: Any
