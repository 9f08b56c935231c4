"""Each task's states over time: the rows the Gantt chart (:mod:`asyncsim.report.gantt`) draws.

A task is ``ready`` from its creation (or its wake-up) to the start of its step,
``running`` during a step, then ``sleeping``, blocked on a ``future`` / task or
on a ``lock`` / queue / event, or ``ready`` again, according to what the step
ended in; ``blocked`` while a blocking ``time.sleep`` in its step held the loop.
Times are ticks; rows follow creation order with each task's children under it.
"""

from __future__ import annotations

from typing import Any

from asyncsim.trace.records import FUTURE_KINDS, LOCK_KINDS, Trace

__all__ = ["STATES", "row_order", "state_counts", "task_intervals"]

#: State name -> (legend label, colour), in legend order.
STATES: dict[str, tuple[str, str]] = {
    "running": ("running (a step)", "#2ca02c"),
    "ready": ("ready, waiting for the loop", "#ffbf00"),
    "sleeping": ("sleeping (asyncio.sleep)", "#9ecae1"),
    "future": ("blocked on a future / task", "#b39ddb"),
    "lock": ("blocked on a lock / queue / event", "#ff7f0e"),
    "blocked": ("loop blocked (time.sleep)", "#d62728"),
}


def _wait_state(blocked: str) -> str:
    if blocked == "sleep":
        return "sleeping"
    if blocked in LOCK_KINDS:
        return "lock"
    if blocked in FUTURE_KINDS:
        return "future"
    return "ready"


def task_intervals(trace: Trace) -> dict[int, list[tuple[str, int, int]]]:
    """Each task's ``(state, start, end)`` intervals in ticks (states as in STATES)."""
    out: dict[int, list[tuple[str, int, int]]] = {row.id: [] for row in trace.tasks}
    last: dict[int, Any] = {}
    blocks: dict[int, list[tuple[int, int]]] = {}
    for block in trace.blocks:
        if block.task is not None:
            blocks.setdefault(block.task, []).append((block.start_ns, block.end_ns))
    for step in trace.steps:
        rows = out[step.task]
        prev = last.get(step.task)
        if prev is None:
            start = trace.tasks[step.task].created_ns
            if step.start_ns > start:
                rows.append(("ready", start, step.start_ns))
        else:
            _wait(rows, prev, step.start_ns)
        rows.append(("running", step.start_ns, step.end_ns))
        last[step.task] = step
    for tid, prev in last.items():
        if prev.blocked != "done" and trace.end_ns > prev.end_ns:
            _wait(out[tid], prev, trace.end_ns)
    for tid, spans in blocks.items():
        out[tid].extend(("blocked", a, b) for a, b in spans)
    return out


def _wait(rows: list[tuple[str, int, int]], prev: Any, until: int) -> None:
    state = _wait_state(prev.blocked)
    if state == "sleeping" and prev.until_ns is not None and prev.until_ns < until:
        rows.append(("sleeping", prev.end_ns, max(prev.end_ns, prev.until_ns)))
        rows.append(("ready", max(prev.end_ns, prev.until_ns), until))
    else:
        rows.append((state, prev.end_ns, until))


def row_order(trace: Trace) -> list[int]:
    """Task ids in display order: creation order, each task's children under it."""
    children: dict[int | None, list[int]] = {}
    for row in trace.tasks:
        parent = row.parent if row.parent is not None and row.parent < row.id else None
        children.setdefault(parent, []).append(row.id)
    order: list[int] = []
    stack = list(reversed(children.get(None, [])))
    while stack:
        tid = stack.pop()
        order.append(tid)
        stack.extend(reversed(children.get(tid, [])))
    return order


def state_counts(
    intervals: dict[int, list[tuple[str, int, int]]], ids: list[int]
) -> tuple[list[int], dict[str, Any]]:
    """How many of the tasks ``ids`` are in each state over time, as a step function.

    Returns the ticks at which any of them changes state (sorted) and, for each state
    some of them spent time in (in :data:`STATES` order), a numpy array of how many are
    in it from each of those ticks on. What grouped rows draw, statically and interactively.
    """
    import numpy as np

    per_state: dict[str, tuple[list[int], list[int]]] = {s: ([], []) for s in STATES}
    for tid in ids:
        for state, a, b in intervals[tid]:
            if b > a:
                per_state[state][0].append(a)
                per_state[state][1].append(b)
    edges = sorted({t for starts, ends in per_state.values() for t in (*starts, *ends)})
    grid = np.array(edges, dtype=np.int64)
    counts = {
        state: np.searchsorted(np.sort(np.array(starts)), grid, side="right")
        - np.searchsorted(np.sort(np.array(ends)), grid, side="right")
        for state, (starts, ends) in per_state.items()
        if starts
    }
    return edges, counts
