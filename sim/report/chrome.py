"""A trace in Chrome trace-event format, for Perfetto (ui.perfetto.dev) and chrome://tracing.

:func:`chrome_trace` gives the JSON object that a report writes as ``trace.json``:
process 1 is the simulation (thread 0 the event loop, one thread per task: steps and
waits as slices, wakes as flows, marks and spans); process 2 holds the lanes that
models recorded (:func:`lane_events`).

Timestamps are microseconds of virtual time plus :data:`TS_OFFSET_US` (1 µs, also
written in ``otherData``): viewers take an event at ``ts == 0`` for one without a time
(Chrome's DevTools leaves it out of the trace's bounds and shows a run that starts at
virtual 0 from its first later event), and every viewer shows times from the first
event, so the offset is invisible in them. Steps and waits are begin/end pairs (``B``
then ``E``), written per task in the order they happened, so a step that took no
virtual time sits between the wait before it and the wait after it instead of
inside the wait that starts at the same instant (viewers order complete events that
start together longest first).
"""

from __future__ import annotations

from typing import Any

from asyncsim.clock import TICKS_PER_SECOND
from asyncsim.trace.explain import waits
from asyncsim.trace.records import StepRow, Trace

__all__ = ["TS_OFFSET_US", "chrome_trace", "lane_events", "wait_name"]

#: Microseconds added to every timestamp (see the module docstring).
TS_OFFSET_US = 1


def _us(ticks: int) -> float:
    """A point in virtual time as a trace-event timestamp (microseconds, offset)."""
    return ticks / 1000 + TS_OFFSET_US


def _dur(ticks: int) -> float:
    """A length of virtual time in microseconds."""
    return ticks / 1000


def _slice(event: dict[str, Any], start: int, end: int) -> list[dict[str, Any]]:
    """``event`` from ``start`` to ``end`` ticks as a ``B``/``E`` pair (same name and args)."""
    return [{**event, "ph": "B", "ts": _us(start)}, {**event, "ph": "E", "ts": _us(end)}]


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
            "ts": TS_OFFSET_US,
            "args": {"name": f"asyncsim: {trace.title or 'simulation'}"},
        },
        {
            "ph": "M",
            "name": "thread_name",
            "pid": 1,
            "tid": 0,
            "ts": TS_OFFSET_US,
            "args": {"name": "event loop"},
        },
        {
            "ph": "M",
            "name": "thread_sort_index",
            "pid": 1,
            "tid": 0,
            "ts": TS_OFFSET_US,
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
                "ts": TS_OFFSET_US,
                "args": {"name": f"{row.name} {row.coroutine}()"},
            }
        )
        events.append(
            {
                "ph": "M",
                "name": "thread_sort_index",
                "pid": 1,
                "tid": row.id + 1,
                "ts": TS_OFFSET_US,
                "args": {"sort_index": row.id + 1},
            }
        )
    following: dict[int, int] = {}
    nexts: dict[int, int] = {}
    for step in reversed(trace.steps):
        nexts[step.id] = following.get(step.task, trace.end_ns)
        following[step.task] = step.start_ns
    steps = trace.steps
    explained = waits(trace)
    for step in steps:
        tid = step.task + 1
        events += _slice(
            {
                "cat": "step",
                "name": trace.tasks[step.task].coroutine,
                "pid": 1,
                "tid": tid,
                "args": {
                    "step": step.id,
                    "woken by": step.wake,
                    "then": step.blocked,
                    "where": step.where,
                },
            },
            step.start_ns,
            step.end_ns,
        )
        end = nexts[step.id]
        wait = explained.get(step.id)
        if wait is not None and end > step.end_ns:
            args = {"blocked on": step.blocked, "where": step.where}
            if wait.inner:
                args["inside"] = wait.inner
            if wait.why:
                args["why it ended"] = wait.why
            events += _slice(
                {"cat": "wait", "name": wait.text, "pid": 1, "tid": tid, "args": args},
                step.end_ns,
                end,
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
                "dur": _dur(block.end_ns - block.start_ns),
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
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {"asyncsim": "ts = virtual microseconds + ts_offset_us", "ts_offset_us": 1},
    }


def lane_events(trace: Trace) -> list[dict[str, Any]]:
    """The lanes as Chrome trace events: process 2, thread ``i + 1`` is lane ``i``.

    Intervals are async slices (``b``/``e`` with the interval's index as id, so
    overlapping ones stack), samples are counters (``C``) of ``queue`` and ``busy``.
    """
    if not trace.lanes:
        return []
    events: list[dict[str, Any]] = [
        {
            "ph": "M",
            "name": "process_name",
            "pid": 2,
            "tid": 0,
            "ts": TS_OFFSET_US,
            "args": {"name": "lanes"},
        }
    ]
    tids = {lane.name: i + 1 for i, lane in enumerate(trace.lanes)}
    for lane in trace.lanes:
        events.append(
            {
                "ph": "M",
                "name": "thread_name",
                "pid": 2,
                "tid": tids[lane.name],
                "ts": TS_OFFSET_US,
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
