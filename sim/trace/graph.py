"""The task dependency graph, the happens-before DAG of steps and the critical path.

Every step of a traced program has exactly one *cause*: the step that spawned
its task, the step whose callback woke it (a future it set, a task it finished),
the step that started the timer that woke it, or (for the first step of a
script's next ``asyncio.run``) the end of the previous loop. Walking causes back
from the end of the main task gives a chain of segments that touch end to end,
so their durations add up exactly to the elapsed virtual time: that chain is the
critical path. In the weighted DAG of :func:`step_dag` it is a longest path.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, NamedTuple

from asyncsim.clock import TICKS_PER_SECOND

if TYPE_CHECKING:
    import networkx as nx

    from asyncsim.trace.records import StepRow, Trace

__all__ = [
    "Segment",
    "critical_path",
    "graph_to_graphml",
    "graph_to_json",
    "step_dag",
    "task_graph",
]


class Segment(NamedTuple):
    """One stretch of the critical path, ``start`` to ``end`` in ticks (ns).

    ``kind`` is ``running`` (a step that took virtual time), ``blocked`` (the loop
    held by a blocking ``time.sleep``), ``sleep`` (an ``asyncio.sleep``), ``timer``
    (another timer), ``ready`` (waiting for the loop), ``outside`` (time outside any
    event loop) or the kind of wait that ended (``executor``, ``future`` ...).
    ``where`` is the innermost user frame involved; ``task`` a task id or None.
    """

    task: int | None
    name: str
    where: str
    start: int
    end: int
    kind: str

    @property
    def duration(self) -> float:
        """Length of the segment in virtual seconds."""
        return (self.end - self.start) / TICKS_PER_SECOND


class _Gap(NamedTuple):
    start: int
    end: int
    kind: str
    task: int | None
    where: str


def _overlaps_block(trace: Trace, loop: int, start: int, end: int) -> bool:
    return any(b.loop == loop and b.start < end and b.end > start for b in trace.blocks)


class _Walker:
    """Finds the cause of each step (shared by the critical path and the DAG)."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.prev_of_task: dict[int, int | None] = {}
        self.last_of_task: dict[int, int] = {}
        self.last_of_loop: dict[int, int] = {}
        self.prev_loop_end: dict[int, int | None] = {}
        for step in trace.steps:
            self.prev_of_task[step.id] = self.last_of_task.get(step.task)
            self.last_of_task[step.task] = step.id
            if step.loop not in self.prev_loop_end:
                earlier = [i for loop, i in self.last_of_loop.items() if loop < step.loop]
                self.prev_loop_end[step.loop] = max(earlier) if earlier else None
            self.last_of_loop[step.loop] = step.id

    def cause(self, cur: StepRow) -> tuple[int | None, list[_Gap]]:
        """The step that made ``cur`` run (None at the very start) and the gaps between."""
        steps = self.trace.steps
        pred: int | None = None
        gaps: list[_Gap] = []
        wait_kind, wait_where = "ready", ""
        if cur.wake in ("step", "spawn") and cur.waker is not None:
            pred = cur.waker
        elif cur.wake == "timer" and cur.waker is not None:
            pred = cur.waker
            p = steps[pred]
            due = max(p.end, min(cur.due if cur.due is not None else p.end, cur.start))
            kind = "sleep" if p.task == cur.task and p.blocked == "sleep" else "timer"
            gaps.append(_Gap(p.end, due, kind, p.task, p.where))
        elif cur.wake == "start":
            pred = self.prev_loop_end.get(cur.loop)
            wait_kind = "outside"
        else:
            pred = self.prev_of_task.get(cur.id)
            if pred is not None:
                wait_kind, wait_where = steps[pred].blocked, steps[pred].where
        avail = gaps[-1].end if gaps else (steps[pred].end if pred is not None else None)
        # Became runnable earlier, but the loop was busy: the previous step held it.
        if cur.start > (avail if avail is not None else cur.ready) and cur.id > 0:
            before = steps[cur.id - 1]
            if before.loop == cur.loop and (avail is None or before.end > avail):
                kind = (
                    "blocked"
                    if _overlaps_block(self.trace, cur.loop, before.end, cur.start)
                    else "ready"
                )
                return before.id, [_Gap(before.end, cur.start, kind, cur.task, "")]
        low = avail if avail is not None else self.trace.start
        if cur.start > low:
            kind = wait_kind
            if kind == "ready" and _overlaps_block(self.trace, cur.loop, low, cur.start):
                kind = "blocked"
            gaps.append(_Gap(low, cur.start, kind, cur.task, wait_where))
        return pred, gaps


def _final_step(trace: Trace, task: int) -> StepRow | None:
    final = None
    for step in trace.steps:
        if step.task == task:
            final = step
    return final


def _last_event(trace: Trace) -> StepRow | None:
    last = None
    for step in trace.steps:
        if step.wake != "outside" and (last is None or step.end > last.end):
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
    if not isinstance(target, int) or not 0 <= target < len(trace.tasks):
        raise ValueError(f"task must be a task id of the trace, got {task!r}")
    final = _final_step(trace, target)
    if task is None and trace.error is not None:
        # A failed run: the main task was cancelled afterwards by the cleanup. The path
        # leads to the last thing that happened before the failure instead.
        final = _last_event(trace) or final
    if final is None:
        return []
    names = [row.name for row in trace.tasks]
    walker = _Walker(trace)
    out: list[Segment] = []

    def add(task_id: int | None, where: str, start: int, end: int, kind: str) -> None:
        if end > start:
            name = names[task_id] if task_id is not None else ""
            out.append(Segment(task_id, name, where, start, end, kind))

    row = trace.tasks[target]
    end = trace.end if task is None else (row.finished if row.finished is not None else trace.end)
    if end > final.end and final.blocked != "done":
        add(final.task, final.where, final.end, end, final.blocked)
    cur: StepRow | None = final
    while cur is not None:
        blocks = [
            b
            for b in trace.blocks
            if b.loop == cur.loop and b.start < cur.end and b.end > cur.start
        ]
        if blocks:
            add(cur.task, blocks[0].where, cur.start, cur.end, "blocked")
        else:
            add(cur.task, cur.where, cur.start, cur.end, "running")
        pred, gaps = walker.cause(cur)
        for gap in reversed(gaps):
            add(gap.task, gap.where, gap.start, gap.end, gap.kind)
        cur = trace.steps[pred] if pred is not None else None
    out.reverse()
    return out


def step_dag(trace: Trace) -> nx.DiGraph:
    """The happens-before DAG of steps.

    Nodes are step indices (attributes: task, start, end, blocked, where) plus
    ``"origin"``. Edges have a ``kind`` (``cause``: the step that made the next
    one run; ``task``: the previous step of the same task; ``loop``: the previous
    step on the same loop) and a ``weight`` in ticks: for a cause edge the time
    from the end of the cause to the end of the step, for the others the step's
    own duration. A longest weighted path from ``"origin"`` to the last step of the
    main task is the critical path; its length is the elapsed time.
    """
    import networkx as nx

    dag = nx.DiGraph()
    dag.add_node("origin", time=trace.start)
    walker = _Walker(trace)
    last_on_loop: dict[int, int] = {}
    for cur in trace.steps:
        dag.add_node(
            cur.id,
            task=cur.task,
            start=cur.start,
            end=cur.end,
            blocked=cur.blocked,
            where=cur.where,
        )
        duration = cur.end - cur.start
        pred, _gaps = walker.cause(cur)
        prev = walker.prev_of_task.get(cur.id)
        if prev is not None and prev != pred:
            dag.add_edge(prev, cur.id, kind="task", weight=duration)
        before = last_on_loop.get(cur.loop)
        if before is not None and before not in (pred, prev):
            dag.add_edge(before, cur.id, kind="loop", weight=duration)
        if pred is None:
            dag.add_edge("origin", cur.id, kind="cause", weight=cur.end - trace.start)
        else:
            dag.add_edge(pred, cur.id, kind="cause", weight=cur.end - trace.steps[pred].end)
        last_on_loop[cur.loop] = cur.id
    return dag


def task_graph(trace: Trace) -> nx.DiGraph:
    """The tasks as a ``networkx.DiGraph`` with ``spawn``, ``await`` and ``wake`` edges.

    Node attributes: name, coroutine, site, parent (-1 for none), loop, created and
    finished (virtual seconds; finished -1.0 when pending), outcome, detail, steps.
    An edge ``a -> b`` has ``kind`` (``spawn``: a created b; ``await``: a waited on
    task b; ``wake``: a step of a woke b, or started the timer that did; several
    kinds are joined with ``+``), ``time`` (virtual seconds of the first one) and
    per-kind counts ``spawns``, ``awaits``, ``wakes``. Values are GraphML-friendly.
    """
    import networkx as nx

    graph = nx.DiGraph(title=trace.title, elapsed=trace.elapsed)
    counts: dict[int, int] = {}
    for step in trace.steps:
        counts[step.task] = counts.get(step.task, 0) + 1
    for row in trace.tasks:
        graph.add_node(
            row.id,
            name=row.name,
            coroutine=row.coroutine,
            site=row.site,
            parent=-1 if row.parent is None else row.parent,
            loop=row.loop,
            created=row.created / TICKS_PER_SECOND,
            finished=-1.0 if row.finished is None else row.finished / TICKS_PER_SECOND,
            outcome=row.outcome,
            detail=row.detail,
            steps=counts.get(row.id, 0),
        )

    def edge(a: int, b: int, kind: str, ticks: int) -> None:
        if a == b:
            return
        if not graph.has_edge(a, b):
            graph.add_edge(
                a, b, kind=kind, time=ticks / TICKS_PER_SECOND, spawns=0, awaits=0, wakes=0
            )
        data = graph.edges[a, b]
        if kind not in data["kind"].split("+"):
            data["kind"] += "+" + kind
        data[kind + "s"] += 1

    for row in trace.tasks:
        if row.parent is not None:
            edge(row.parent, row.id, "spawn", row.created)
    steps = trace.steps
    for step in steps:
        if step.blocked == "task" and step.target is not None:
            edge(step.task, step.target, "await", step.end)
        if step.wake in ("step", "timer") and step.waker is not None:
            edge(steps[step.waker].task, step.task, "wake", step.ready)
    return graph


def graph_to_json(graph: nx.DiGraph) -> str:
    """``graph`` as node-link JSON text (``networkx.node_link_data``, deterministic)."""
    import networkx as nx

    return json.dumps(nx.node_link_data(graph, edges="links"), sort_keys=True, indent=1)


def graph_to_graphml(graph: nx.DiGraph, path: str) -> None:
    """Write ``graph`` as GraphML to ``path`` (for Gephi, yEd, Cytoscape)."""
    import networkx as nx

    nx.write_graphml(graph, path)
