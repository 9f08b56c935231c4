"""A trace in Chrome trace-event format, for Perfetto (ui.perfetto.dev) and chrome://tracing.

:func:`chrome_trace` gives the JSON object that a report writes as ``trace.json``:
process 1 is the simulation (thread 0 the event loop, one thread per task: steps and
waits as complete events, wakes as flows, marks and spans); process 2 holds the lanes
that models recorded (:func:`lane_events`). Timestamps are microseconds of virtual time.
"""

from __future__ import annotations

from typing import Any

from asyncsim.clock import TICKS_PER_SECOND
from asyncsim.trace.records import StepRow, Trace

__all__ = ["chrome_trace", "lane_events", "wait_name"]


def _us(ticks: int) -> float:
    return ticks / 1000


def wait_name(trace: Trace, step: StepRow) -> str:
    """What ``step``'s task waited on after it, in words (``"sleep 1 s"``, ``"await t"``)."""
    if step.blocked == "sleep" and step.until_ns is not None:
        return f"sleep {(step.until_ns - step.end_ns) / TICKS_PER_SECOND:.9g} s"
    if step.blocked == "task" and step.target is not None:
        return f"await {trace.tasks[step.target].name}"
    return step.detail or step.blocked


def chrome_trace(trace: Trace) -> dict[str, Any]:
    """``trace`` in Chrome trace-event format (a JSON object with ``traceEvents``).

    Process 1 is the simulation; thread 0 is the event loop (loop blocks, marks,
    spans); thread ``id + 1`` is task ``id``. Timestamps are microseconds of
    virtual time. A wake is a flow from the waking step to the woken one; its
    start and finish share the ``cat``, ``tid`` and ``ts`` of those two step
    events, which is how Chrome and Perfetto bind flows to slices.
    """
    events: list[dict[str, Any]] = [
        {
            "ph": "M",
            "name": "process_name",
            "pid": 1,
            "tid": 0,
            "ts": 0,
            "args": {"name": f"asyncsim: {trace.title or 'simulation'}"},
        },
        {
            "ph": "M",
            "name": "thread_name",
            "pid": 1,
            "tid": 0,
            "ts": 0,
            "args": {"name": "event loop"},
        },
        {
            "ph": "M",
            "name": "thread_sort_index",
            "pid": 1,
            "tid": 0,
            "ts": 0,
            "args": {"sort_index": 0},
        },
    ]
    for row in trace.tasks:
        events.append(
            {
                "ph": "M",
                "name": "thread_name",
                "pid": 1,
                "tid": row.id + 1,
                "ts": 0,
                "args": {"name": f"{row.name} {row.coroutine}()"},
            }
        )
        events.append(
            {
                "ph": "M",
                "name": "thread_sort_index",
                "pid": 1,
                "tid": row.id + 1,
                "ts": 0,
                "args": {"sort_index": row.id + 1},
            }
        )
    following: dict[int, int] = {}
    nexts: dict[int, int] = {}
    for step in reversed(trace.steps):
        nexts[step.id] = following.get(step.task, trace.end_ns)
        following[step.task] = step.start_ns
    steps = trace.steps
    for step in steps:
        tid = step.task + 1
        events.append(
            {
                "ph": "X",
                "cat": "step",
                "name": trace.tasks[step.task].coroutine,
                "pid": 1,
                "tid": tid,
                "ts": _us(step.start_ns),
                "dur": _us(step.end_ns - step.start_ns),
                "args": {
                    "step": step.id,
                    "woken by": step.wake,
                    "then": step.blocked,
                    "where": step.where,
                },
            }
        )
        end = nexts[step.id]
        if step.blocked != "done" and end > step.end_ns:
            events.append(
                {
                    "ph": "X",
                    "cat": "wait",
                    "name": wait_name(trace, step),
                    "pid": 1,
                    "tid": tid,
                    "ts": _us(step.end_ns),
                    "dur": _us(end - step.end_ns),
                    "args": {"blocked on": step.blocked, "where": step.where},
                }
            )
        if step.waker is not None and step.wake in ("step", "spawn", "timer", "timeout"):
            waker = steps[step.waker]
            if waker.task != step.task:
                name = "spawn" if step.wake == "spawn" else "wake"
                events.append(
                    {
                        "ph": "s",
                        "cat": "step",
                        "name": name,
                        "id": step.id,
                        "pid": 1,
                        "tid": waker.task + 1,
                        "ts": _us(waker.start_ns),
                    }
                )
                events.append(
                    {
                        "ph": "f",
                        "bp": "e",
                        "cat": "step",
                        "name": name,
                        "id": step.id,
                        "pid": 1,
                        "tid": tid,
                        "ts": _us(step.start_ns),
                    }
                )
    for block in trace.blocks:
        events.append(
            {
                "ph": "X",
                "cat": "blocked",
                "name": "time.sleep (loop blocked)",
                "pid": 1,
                "tid": 0,
                "ts": _us(block.start_ns),
                "dur": _us(block.end_ns - block.start_ns),
                "args": {"where": block.where},
            }
        )
    for mark in trace.marks:
        events.append(
            {
                "ph": "i",
                "s": "t",
                "cat": "mark",
                "name": mark.label,
                "pid": 1,
                "tid": 0 if mark.task is None else mark.task + 1,
                "ts": _us(mark.time_ns),
            }
        )
    for i, span in enumerate(trace.spans):
        for ph, ts in (("b", span.start_ns), ("e", span.end_ns)):
            events.append(
                {
                    "ph": ph,
                    "cat": "span",
                    "name": span.label,
                    "id": i,
                    "pid": 1,
                    "tid": 0 if span.task is None else span.task + 1,
                    "ts": _us(ts),
                }
            )
    events.extend(lane_events(trace))
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def lane_events(trace: Trace) -> list[dict[str, Any]]:
    """The lanes as Chrome trace events: process 2, thread ``i + 1`` is lane ``i``.

    Intervals are async slices (``b``/``e`` with the interval's index as id, so
    overlapping ones stack), samples are counters (``C``) of ``queue`` and ``busy``.
    """
    if not trace.lanes:
        return []
    events: list[dict[str, Any]] = [
        {"ph": "M", "name": "process_name", "pid": 2, "tid": 0, "ts": 0, "args": {"name": "lanes"}}
    ]
    tids = {lane.name: i + 1 for i, lane in enumerate(trace.lanes)}
    for lane in trace.lanes:
        events.append(
            {
                "ph": "M",
                "name": "thread_name",
                "pid": 2,
                "tid": tids[lane.name],
                "ts": 0,
                "args": {"name": lane.name},
            }
        )
    for i, item in enumerate(trace.intervals):
        common = {
            "cat": f"lane:{item.lane}",
            "name": item.label,
            "id": i,
            "pid": 2,
            "tid": tids.get(item.lane, 0),
        }
        end = item.end_ns if item.end_ns is not None else max(trace.end_ns, item.start_ns)
        events.append({**common, "ph": "b", "ts": _us(item.start_ns), "args": dict(item.attrs)})
        events.append({**common, "ph": "e", "ts": _us(end)})
    for sample in trace.samples:
        events.append(
            {
                "ph": "C",
                "name": sample.lane,
                "pid": 2,
                "tid": tids.get(sample.lane, 0),
                "ts": _us(sample.time_ns),
                "args": {"queue": sample.queue, "busy": sample.busy},
            }
        )
    return events
