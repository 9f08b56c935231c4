"""The critical path of a trace: the chain of waits that decided its elapsed time.

Walking causes (:mod:`asyncsim.trace.causes`) back from the end of the main task
gives a chain of segments that touch end to end, so their durations add up
exactly to the elapsed virtual time: that chain is the critical path. In the
weighted step DAG of :func:`asyncsim.trace.graph.step_dag` it is a longest path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from asyncsim._validate import refuse
from asyncsim.clock import TICKS_PER_SECOND
from asyncsim.trace.causes import Causes

if TYPE_CHECKING:
    from asyncsim.trace.records import StepRow, Trace

__all__ = ["Segment", "critical_path"]


class Segment(NamedTuple):
    """One stretch of the critical path, ``start`` to ``end`` in virtual seconds
    (``start_ns``/``end_ns`` in ticks).

    ``kind`` is ``running`` (a step that took virtual time), ``blocked`` (the loop
    held by a blocking ``time.sleep``), ``sleep`` (an ``asyncio.sleep``), ``timer``
    (another timer), ``ready`` (waiting for the loop), ``outside`` (time outside any
    event loop) or the kind of wait that ended (``executor``, ``future`` ...).
    ``where`` is the innermost frame of the user's own code involved
    (``"function() at file:line"``), ``inner`` the library frame below it (e.g. inside
    aiohttp) or ""; ``task`` a task id or None, ``name`` its name.
    """

    task: int | None
    name: str
    where: str
    start_ns: int
    end_ns: int
    kind: str
    inner: str = ""

    @property
    def start(self) -> float:
        """Start, in virtual seconds."""
        return self.start_ns / TICKS_PER_SECOND

    @property
    def end(self) -> float:
        """End, in virtual seconds."""
        return self.end_ns / TICKS_PER_SECOND

    @property
    def duration(self) -> float:
        """Length of the segment in virtual seconds."""
        return (self.end_ns - self.start_ns) / TICKS_PER_SECOND

    @property
    def duration_ns(self) -> int:
        """Length of the segment in ticks."""
        return self.end_ns - self.start_ns


def _final_step(trace: Trace, task: int) -> StepRow | None:
    final = None
    for step in trace.steps:
        if step.task == task:
            final = step
    return final


def _last_event(trace: Trace) -> StepRow | None:
    last = None
    for step in trace.steps:
        if step.wake != "outside" and (last is None or step.end_ns > last.end_ns):
            last = step
    return last


def critical_path(trace: Trace, task: int | None = None) -> list[Segment]:
    """The exact critical path to the end of ``task`` (default: the main task).

    Returns the segments in time order; their durations add up to the virtual
    time from the start of the trace to the end of ``task`` (for the main task of
    a run: the elapsed time). Zero-length segments are left out.

    Examples
    --------
    >>> import asyncio, asyncsim
    >>> async def delay():
    ...     await asyncio.sleep(4)
    >>> async def main():
    ...     t = asyncio.create_task(delay())
    ...     await asyncio.sleep(3)
    ...     await t
    >>> trace = asyncsim.simulate(main(), trace=True).trace
    >>> [(s.name, s.kind, s.duration) for s in trace.critical_path()]
    [('Task-2', 'sleep', 4.0)]
    """
    target = trace.main if task is None else task
    if target is None:
        return []
    if isinstance(target, bool) or not isinstance(target, int):
        refuse("task", "a task id of the trace", task)
    if not 0 <= target < len(trace.tasks):
        refuse("task", "a task id of the trace", task, error=ValueError)
    final = _final_step(trace, target)
    if task is None and trace.error is not None:
        # A failed run: the main task was cancelled afterwards by the cleanup. The path
        # leads to the last thing that happened before the failure instead.
        final = _last_event(trace) or final
    if final is None:
        return []
    names = [row.name for row in trace.tasks]
    causes = Causes(trace)
    out: list[Segment] = []

    def add(
        task_id: int | None, where: str, start: int, end: int, kind: str, inner: str = ""
    ) -> None:
        if end > start:
            name = names[task_id] if task_id is not None else ""
            out.append(Segment(task_id, name, where, start, end, kind, inner))

    row = trace.tasks[target]
    end = trace.end_ns
    if task is not None and row.finished_ns is not None:
        end = row.finished_ns
    if end > final.end_ns and final.blocked != "done":
        add(final.task, final.where, final.end_ns, end, final.blocked, final.inner)
    cur: StepRow | None = final
    while cur is not None:
        blocks = [
            b
            for b in trace.blocks
            if b.loop == cur.loop and b.start_ns < cur.end_ns and b.end_ns > cur.start_ns
        ]
        if blocks:
            add(cur.task, blocks[0].where, cur.start_ns, cur.end_ns, "blocked")
        else:
            add(cur.task, cur.where, cur.start_ns, cur.end_ns, "running", cur.inner)
        pred, gaps = causes.cause(cur)
        for gap in reversed(gaps):
            add(gap.task, gap.where, gap.start_ns, gap.end_ns, gap.kind, gap.inner)
        cur = trace.steps[pred] if pred is not None else None
    out.reverse()
    return out
