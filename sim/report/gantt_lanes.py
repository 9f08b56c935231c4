"""The lane rows of the Gantt chart: what models recorded (see :mod:`asyncsim.lanes`).

Below the task rows, each lane gets rows of its own:

* a lane of intervals (HTTP requests, connections) gets one bar per interval,
  overlapping ones stacked on sub-rows; past ``MAX_SUBROWS`` at once it becomes
  a single row showing how many were open over time;
* a sampled lane (a service) gets two step plots: ``busy`` as a share of its
  capacity, and the queue length scaled to its maximum.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from asyncsim.clock import TICKS_PER_SECOND
from asyncsim.clock import to_seconds as _s
from asyncsim.trace.records import Trace

__all__ = [
    "MAX_SUBROWS",
    "LaneRow",
    "draw_lanes",
    "lane_colour",
    "lane_legend_handles",
    "lane_rows",
]

#: Overlapping intervals stacked on at most this many sub-rows before a lane
#: switches to a count of open intervals.
MAX_SUBROWS = 16
_MAX_BAR_LANES = 20
_BAR = "#5b7db1"
_KIND_COLOURS = {"connections": "#8c9fbf", "http": "#3a9a8a"}
_ERROR = "#d62728"
_BUSY = "#2ca02c"
_QUEUE = "#ff7f0e"
_COUNT = "#5b7db1"
# Lanes by kind, top to bottom (stable within a kind): requests, services, connections.
_KIND_ORDER = {"http": 0, "connections": 2}


class LaneRow(NamedTuple):
    """One row of the lane axes: ``what`` is ``"bars"``, ``"count"``, ``"busy"`` or
    ``"queue"``; ``items`` the intervals (bars, count) or samples (busy, queue)."""

    lane: str
    label: str
    what: str
    items: tuple[Any, ...]
    first: bool  # the first row of its lane (a separator is drawn above it)


def _pack(intervals: list[Any], end: int) -> list[list[Any]]:
    """Greedy interval packing: each interval on the first sub-row free at its start."""
    rows: list[list[Any]] = []
    ends: list[int] = []
    for item in sorted(
        intervals, key=lambda i: (i.start_ns, i.end_ns if i.end_ns is not None else end)
    ):
        stop = item.end_ns if item.end_ns is not None else end
        for k, free in enumerate(ends):
            if free <= item.start_ns and not (free == item.start_ns == stop):
                rows[k].append(item)
                ends[k] = max(stop, item.start_ns + 1)
                break
        else:
            rows.append([item])
            ends.append(max(stop, item.start_ns + 1))
    return rows


def lane_rows(trace: Trace) -> list[LaneRow]:
    """The rows the lanes of ``trace`` take in the chart, top to bottom."""
    intervals: dict[str, list[Any]] = {lane.name: [] for lane in trace.lanes}
    samples: dict[str, list[Any]] = {lane.name: [] for lane in trace.lanes}
    for item in trace.intervals:
        intervals.setdefault(item.lane, []).append(item)
    for sample in trace.samples:
        samples.setdefault(sample.lane, []).append(sample)
    capacity = {lane.name: lane.capacity for lane in trace.lanes}
    bar_lanes = sum(1 for name in intervals if intervals[name] and not samples.get(name))
    kinds = {lane.name: lane.kind for lane in trace.lanes}
    order = sorted(intervals, key=lambda name: _KIND_ORDER.get(kinds.get(name, ""), 1))
    out: list[LaneRow] = []
    for name in order:
        if samples.get(name):
            series = tuple(samples[name])
            cap = capacity.get(name) or max(s.busy for s in series) or 1
            top = max(s.queue for s in series)
            out.append(LaneRow(name, f"{name}: busy (of {cap})", "busy", series, True))
            out.append(LaneRow(name, f"{name}: queue (max {top})", "queue", series, False))
            continue
        items = intervals[name]
        if not items:
            continue
        packed = _pack(items, trace.end_ns)
        if len(packed) > MAX_SUBROWS or bar_lanes > _MAX_BAR_LANES:
            label = f"{name}  ({len(items)}, max {len(packed)} at once)"
            out.append(LaneRow(name, label, "count", tuple(items), True))
            continue
        for k, row in enumerate(packed):
            label = f"{name}  ({len(items)})" if k == 0 else ""
            out.append(LaneRow(name, label, "bars", tuple(row), k == 0))
    return out


def lane_colour(kind: str, item: Any) -> str:
    """The colour of an interval's bar: by its lane's kind, red for an error or a reset."""
    info = item.info
    status = info.get("status")
    if isinstance(status, int) and status >= 400:
        return _ERROR
    if info.get("closed") == "reset" or str(info.get("outcome", "")).startswith(
        "connection closed"
    ):
        return _ERROR
    return _KIND_COLOURS.get(kind, _BAR)


def draw_lanes(ax: Any, trace: Trace, rows: list[LaneRow], width: int) -> None:
    """Draw ``rows`` on ``ax`` (y = row index, x = virtual seconds).

    ``width`` is the span of the x axis in ticks (labels are drawn on bars wide
    enough to hold them).
    """
    import numpy as np
    from matplotlib.collections import LineCollection, PolyCollection

    kinds = {lane.name: lane.kind for lane in trace.lanes}
    end = trace.end_ns
    verts: list[Any] = []
    colours: list[str] = []
    ticks: list[Any] = []
    separators: list[Any] = []
    x_lo, x_hi = _s(trace.start_ns) - _s(width), _s(end) + _s(width)
    for y, row in enumerate(rows):
        if row.first and y > 0:
            separators.append([(x_lo, y - 0.5), (x_hi, y - 0.5)])
        if row.what == "bars":
            for item in row.items:
                stop = item.end_ns if item.end_ns is not None else end
                colour = lane_colour(kinds.get(row.lane, ""), item)
                if stop <= item.start_ns:
                    ticks.append([(_s(item.start_ns), y - 0.38), (_s(item.start_ns), y + 0.38)])
                    continue
                xa, xb = _s(item.start_ns), _s(stop)
                verts.append([(xa, y - 0.38), (xb, y - 0.38), (xb, y + 0.38), (xa, y + 0.38)])
                colours.append(colour)
                if (stop - item.start_ns) * 130 > width * max(4, len(item.label)):
                    ax.text(
                        (xa + xb) / 2,
                        y,
                        item.label,
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color="white",
                        clip_on=True,
                        zorder=6,
                    )
        elif row.what == "count":
            edges = sorted(
                {
                    t
                    for i in row.items
                    for t in (i.start_ns, i.end_ns if i.end_ns is not None else end)
                }
            )
            grid = np.array(edges, dtype=np.int64)
            starts = np.sort(np.array([i.start_ns for i in row.items], dtype=np.int64))
            stops = np.sort(
                np.array(
                    [i.end_ns if i.end_ns is not None else end for i in row.items], dtype=np.int64
                )
            )
            count = np.searchsorted(starts, grid, side="right") - np.searchsorted(
                stops, grid, side="right"
            )
            peak = max(1, int(count.max()))
            ax.fill_between(
                grid / TICKS_PER_SECOND,
                y + 0.4,
                y + 0.4 - 0.8 * count / peak,
                step="post",
                color=_COUNT,
                linewidth=0,
                gid="lane-count",
            )
        else:
            series = row.items
            if row.what == "busy":
                cap = next((lane.capacity for lane in trace.lanes if lane.name == row.lane), None)
                scale = cap or max(s.busy for s in series) or 1
                values = [s.busy / scale for s in series]
                colour, gid = _BUSY, "lane-busy"
            else:
                peak = max(s.queue for s in series) or 1
                values = [s.queue / peak for s in series]
                colour, gid = _QUEUE, "lane-queue"
            xs = [_s(s.time_ns) for s in series] + [_s(max(end, series[-1].time_ns))]
            ys = values + values[-1:]
            ax.fill_between(
                xs,
                [y + 0.4] * len(xs),
                [y + 0.4 - 0.8 * v for v in ys],
                step="post",
                color=colour,
                alpha=0.85,
                linewidth=0,
                gid=gid,
            )
    if verts:
        ax.add_collection(
            PolyCollection(
                verts, facecolors=colours, edgecolors="white", linewidths=0.4, gid="lane-bar"
            )
        )
    if ticks:
        ax.add_collection(LineCollection(ticks, colors=_BAR, linewidths=2, gid="lane-bar"))
    if separators:
        ax.add_collection(
            LineCollection(separators, colors="#999999", linewidths=0.6, gid="lane-separator")
        )


def lane_legend_handles(trace: Trace, rows: list[LaneRow]) -> list[Any]:
    """Legend entries for what ``rows`` show."""
    from matplotlib.patches import Patch

    kinds = {lane.name: lane.kind for lane in trace.lanes}
    shown = {(kinds.get(row.lane, ""), row.what) for row in rows}
    whats = {what for _, what in shown}
    handles = []
    if ("http", "bars") in shown:
        handles.append(Patch(color=_KIND_COLOURS["http"], label="HTTP request (received → sent)"))
    if ("connections", "bars") in shown:
        handles.append(
            Patch(color=_KIND_COLOURS["connections"], label="connection (open → closed)")
        )
    if any(kind not in _KIND_COLOURS and what == "bars" for kind, what in shown):
        handles.append(Patch(color=_BAR, label="interval"))
    if any(
        row.what == "bars"
        and any(lane_colour(kinds.get(row.lane, ""), i) == _ERROR for i in row.items)
        for row in rows
    ):
        handles.append(Patch(color=_ERROR, label="error status / reset / no response"))
    if "count" in whats:
        handles.append(Patch(color=_COUNT, label="open at once (share of the max)"))
    if "busy" in whats:
        handles.append(Patch(color=_BUSY, label="service busy (share of capacity)"))
    if "queue" in whats:
        handles.append(Patch(color=_QUEUE, label="service queue (share of its max)"))
    return handles
