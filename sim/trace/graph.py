"""The task dependency graph and the happens-before DAG of steps, and their export.

:func:`task_graph` has a node per task and ``spawn``/``await``/``wake`` edges;
:func:`step_dag` a node per step and an edge from each step's cause
(:mod:`asyncsim.trace.causes`), weighted so that a longest path is the critical
path (:mod:`asyncsim.trace.critical_path`). :func:`graph_to_json` and
:func:`graph_to_graphml` write a graph for other tools. networkx is imported on
first use.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from asyncsim.clock import TICKS_PER_SECOND
from asyncsim.trace.causes import Causes

if TYPE_CHECKING:
    import networkx as nx

    from asyncsim.trace.records import Trace

__all__ = [
    "graph_to_graphml",
    "graph_to_json",
    "step_dag",
    "task_graph",
]


def step_dag(trace: Trace) -> nx.DiGraph:
    """The happens-before DAG of steps.

    Nodes are step indices (attributes: task, ``start_ns``, ``end_ns`` in ticks,
    blocked, where) plus ``"origin"`` (``time_ns``).
    Edges have a ``kind`` (``cause``: the step that made the next
    one run; ``task``: the previous step of the same task; ``loop``: the previous
    step on the same loop) and a ``weight`` in ticks: for a cause edge the time
    from the end of the cause to the end of the step, for the others the step's
    own duration. A longest weighted path from ``"origin"`` to the last step of the
    main task is the critical path; its length is the elapsed time.
    """
    import networkx as nx

    dag = nx.DiGraph()
    dag.add_node("origin", time_ns=trace.start_ns)
    causes = Causes(trace)
    last_on_loop: dict[int, int] = {}
    for cur in trace.steps:
        dag.add_node(
            cur.id,
            task=cur.task,
            start_ns=cur.start_ns,
            end_ns=cur.end_ns,
            blocked=cur.blocked,
            where=cur.where,
        )
        duration = cur.end_ns - cur.start_ns
        pred, _gaps = causes.cause(cur)
        prev = causes.prev_of_task.get(cur.id)
        if prev is not None and prev != pred:
            dag.add_edge(prev, cur.id, kind="task", weight=duration)
        before = last_on_loop.get(cur.loop)
        if before is not None and before not in (pred, prev):
            dag.add_edge(before, cur.id, kind="loop", weight=duration)
        if pred is None:
            dag.add_edge("origin", cur.id, kind="cause", weight=cur.end_ns - trace.start_ns)
        else:
            dag.add_edge(pred, cur.id, kind="cause", weight=cur.end_ns - trace.steps[pred].end_ns)
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
            created=row.created_ns / TICKS_PER_SECOND,
            finished=-1.0 if row.finished_ns is None else row.finished_ns / TICKS_PER_SECOND,
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
            edge(row.parent, row.id, "spawn", row.created_ns)
    steps = trace.steps
    for step in steps:
        if step.blocked == "task" and step.target is not None:
            edge(step.task, step.target, "await", step.end_ns)
        if step.wake in ("step", "timer", "timeout") and step.waker is not None:
            edge(steps[step.waker].task, step.task, "wake", step.ready_ns)
    return graph


def graph_to_json(graph: nx.DiGraph) -> str:
    """``graph`` as node-link JSON text (``networkx.node_link_data``, deterministic)."""
    import networkx as nx

    return json.dumps(nx.node_link_data(graph, edges="links"), sort_keys=True, indent=1)


def graph_to_graphml(graph: nx.DiGraph, path: str) -> None:
    """Write ``graph`` as GraphML to ``path`` (for Gephi, yEd, Cytoscape)."""
    import networkx as nx

    nx.write_graphml(graph, path)
