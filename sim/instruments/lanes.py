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

from asyncsim.core.hosting import InstrumentHost
from asyncsim.trace.records import Lane, LaneInterval, LaneSample, Value

__all__ = ["LaneRecorder", "recorder"]


def _check_lane(lane: object) -> str:
    if not isinstance(lane, str) or not lane:
        raise TypeError(f"lane must be a non-empty str, got {lane!r}")
    return lane


def _check_attrs(attrs: dict[str, Any]) -> None:
    for key, value in attrs.items():
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise TypeError(
                f"lane attribute {key}={value!r} must be a str, int, float, bool or None"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"lane attribute {key}={value!r} must be finite")


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
        _check_lane(lane)
        if not isinstance(kind, str):
            raise TypeError(f"kind must be a str, got {kind!r}")
        if capacity is not None and (
            isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1
        ):
            raise ValueError(f"capacity must be a positive integer or None, got {capacity!r}")
        if lane not in self._lanes:
            self._lanes[lane] = Lane(lane, kind, capacity)
        return lane

    def begin(self, lane: str, label: str, **attrs: Value) -> int:
        """Start an interval in ``lane`` now; returns its reference for :meth:`end`."""
        if lane not in self._lanes:
            self.declare(lane)
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {label!r}")
        _check_attrs(attrs)
        ref = len(self._intervals)
        self._intervals.append([lane, self.clock.now, None, label, self.current_task(), attrs])
        return ref

    def end(self, ref: int, *, label: str | None = None, **attrs: Value) -> None:
        """End interval ``ref`` now (once; later calls are ignored), adding ``attrs``."""
        if isinstance(ref, bool) or not isinstance(ref, int) or not 0 <= ref < len(self._intervals):
            raise ValueError(f"ref must be a reference returned by begin(), got {ref!r}")
        row = self._intervals[ref]
        if row[2] is not None:
            return
        _check_attrs(attrs)
        row[2] = self.clock.now
        if label is not None:
            if not isinstance(label, str):
                raise TypeError(f"label must be a str, got {label!r}")
            row[3] = label
        row[5].update(attrs)

    def update(self, ref: int, **attrs: Value) -> None:
        """Add or change details of interval ``ref`` (open or ended)."""
        if isinstance(ref, bool) or not isinstance(ref, int) or not 0 <= ref < len(self._intervals):
            raise ValueError(f"ref must be a reference returned by begin(), got {ref!r}")
        _check_attrs(attrs)
        self._intervals[ref][5].update(attrs)

    def sample(self, lane: str, *, queue: int, busy: int) -> None:
        """Record that ``lane`` has ``queue`` waiting and ``busy`` in service from now on.

        Several samples at one instant keep the last; an unchanged state is not repeated.
        """
        if lane not in self._lanes:
            self.declare(lane)
        for name, value in (("queue", queue), ("busy", busy)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        now = self.clock.now
        last = self._last_sample.get(lane)
        if last is not None:
            prev = self._samples[last]
            if prev.time == now:
                self._samples[last] = LaneSample(lane, now, queue, busy)
                return
            if (prev.queue, prev.busy) == (queue, busy):
                return
        self._last_sample[lane] = len(self._samples)
        self._samples.append(LaneSample(lane, now, queue, busy))

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
