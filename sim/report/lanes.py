"""The lanes of a trace (:mod:`asyncsim.lanes`) in the report: figures and HTML tables.

:func:`lane_summary` gives one row of figures per lane (for intervals: how many,
most at once, mean duration; for a sampled service: utilization, queue lengths
and waits); :func:`lanes_html` the report's "Lanes" section. The lanes as Chrome
trace events are :func:`asyncsim.report.chrome.lane_events`; in the Gantt chart,
:mod:`asyncsim.report.gantt_lanes`.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from asyncsim.clock import to_seconds
from asyncsim.report._format import seconds_text, table
from asyncsim.trace.records import Trace

__all__ = ["LaneSummary", "lane_summary", "lanes_html"]

_MAX_INTERVAL_ROWS = 1000


class LaneSummary(NamedTuple):
    """Figures of one lane; None where they do not apply (times in virtual seconds)."""

    lane: str
    kind: str
    intervals: int
    max_at_once: int | None
    mean_duration: float | None
    utilization: float | None
    mean_queue: float | None
    max_queue: int | None
    mean_wait: float | None
    max_wait: float | None


def _max_at_once(items: list[Any], end: int) -> int:
    edges = sorted(
        [(i.start_ns, 1) for i in items]
        + [(i.end_ns if i.end_ns is not None else end, -1) for i in items],
        key=lambda e: (e[0], e[1]),
    )
    best = now = 0
    for _, step in edges:
        now += step
        best = max(best, now)
    return best


def _time_average(samples: list[Any], field: int, end: int) -> float:
    area = 0
    for sample, following in zip(samples, [*samples[1:], None], strict=True):
        stop = end if following is None else following.time_ns
        area += sample[field] * max(0, min(stop, end) - sample.time_ns)
    span = end - samples[0].time_ns
    return area / span if span > 0 else 0.0


def lane_summary(trace: Trace) -> list[LaneSummary]:
    """One :class:`LaneSummary` per lane of ``trace``, in lane order.

    Averages over time run from the lane's first sample to the end of the trace.
    """
    out = []
    for lane in trace.lanes:
        items = [i for i in trace.intervals if i.lane == lane.name]
        samples = [s for s in trace.samples if s.lane == lane.name]
        ended = [i for i in items if i.end_ns is not None]
        waits = [
            float(w)
            for i in items
            if isinstance(w := i.info.get("wait"), (int, float)) and not isinstance(w, bool)
        ]
        mean_duration = (
            math.fsum(to_seconds(i.end_ns - i.start_ns) for i in ended) / len(ended)  # type: ignore[operator]
            if ended
            else None
        )
        utilization = mean_queue = None
        max_queue = None
        if samples:
            end = max(trace.end_ns, samples[-1].time_ns)
            capacity = lane.capacity or max(s.busy for s in samples) or 1
            utilization = _time_average(samples, 3, end) / capacity
            mean_queue = _time_average(samples, 2, end)
            max_queue = max(s.queue for s in samples)
        out.append(
            LaneSummary(
                lane=lane.name,
                kind=lane.kind,
                intervals=len(items),
                max_at_once=_max_at_once(items, trace.end_ns) if items else None,
                mean_duration=mean_duration,
                utilization=utilization,
                mean_queue=mean_queue,
                max_queue=max_queue,
                mean_wait=math.fsum(waits) / len(waits) if waits else None,
                max_wait=max(waits) if waits else None,
            )
        )
    return out


def _num(value: float | None, fmt: str = ".6g") -> str:
    return "" if value is None else format(value, fmt)


def lanes_html(trace: Trace) -> str:
    """The report's "Lanes" section (empty when the trace has no lanes)."""
    if not trace.lanes:
        return ""
    names = [r.name for r in trace.tasks]
    figures = [
        (
            s.lane,
            s.kind,
            s.intervals,
            "" if s.max_at_once is None else s.max_at_once,
            _num(s.mean_duration),
            "" if s.utilization is None else f"{100 * s.utilization:.1f} %",
            _num(s.mean_queue, ".3g"),
            "" if s.max_queue is None else s.max_queue,
            _num(s.mean_wait),
            _num(s.max_wait),
        )
        for s in lane_summary(trace)
    ]
    parts = [
        "<h2>Lanes: what the models did</h2>",
        "<p>Resources the program used (the rows under the tasks in the chart): "
        "HTTP requests a host served, connections to a server, a service's queue.</p>",
        table(
            [
                "lane",
                "kind",
                "intervals",
                "max at once",
                "mean duration (s)",
                "utilization",
                "mean queue",
                "max queue",
                "mean wait (s)",
                "max wait (s)",
            ],
            figures,
            {2, 3, 4, 5, 6, 7, 8, 9},
        ),
    ]
    if trace.intervals:
        rows = [
            (
                item.lane,
                item.label,
                seconds_text(item.start_ns),
                "open at the end" if item.end_ns is None else seconds_text(item.end_ns),
                "" if item.end_ns is None else seconds_text(item.end_ns - item.start_ns),
                names[item.task] if item.task is not None else "",
                ", ".join(f"{k}={v}" for k, v in item.attrs),
            )
            for item in trace.intervals[:_MAX_INTERVAL_ROWS]
        ]
        parts.append(
            table(
                ["lane", "label", "start (s)", "end (s)", "duration (s)", "task", "details"],
                rows,
                {2, 3, 4},
            )
        )
        if len(trace.intervals) > _MAX_INTERVAL_ROWS:
            parts.append(
                f'<p class="muted">… and {len(trace.intervals) - _MAX_INTERVAL_ROWS} more '
                "(all of them are in asyncsim-trace.json).</p>"
            )
    return "".join(parts)
