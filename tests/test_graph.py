"""The critical path is exact: its segments add up to the elapsed virtual time."""

import asyncio
import itertools
import json

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asyncsim
from asyncsim.trace.graph import graph_to_graphml, graph_to_json

from .conftest import EXAMPLES
from .seed_programs import main_concurrent, main_sequential

S = 1_000_000_000
MS = 1_000_000


def path_of(coro):
    trace = asyncsim.simulate(coro, trace=True).trace
    return trace, [
        (trace.tasks[s.task].coroutine, s.kind, s.start_ns, s.end_ns, s.where.split("() at ")[0])
        for s in trace.critical_path()
    ]


def test_the_concurrent_seed_program_is_dominated_by_the_sleep_4_in_delay():
    trace, path = path_of(main_concurrent())
    assert path == [("delay", "sleep", 0, 4 * S, "delay")]
    assert trace.critical_path()[0].duration == 4.0 == trace.elapsed


def test_the_sequential_seed_program_is_sleep_4_in_delay_then_sleep_3_in_main():
    _trace, path = path_of(main_sequential())
    assert path == [
        ("main_sequential", "sleep", 0, 4 * S, "delay"),
        ("main_sequential", "sleep", 4 * S, 7 * S, "main_sequential"),
    ]


def test_a_gather_of_sleeps_is_decided_by_the_longest_one():
    async def main():
        await asyncio.gather(asyncio.sleep(1), asyncio.sleep(2.5), asyncio.sleep(2))

    trace, path = path_of(main())
    assert [(kind, start, end) for _c, kind, start, end, _w in path] == [
        ("sleep", 0, 2_500_000_000)
    ]
    assert trace.tasks[trace.critical_path()[0].task].parent == 0


def test_the_seed_pair_script_path_crosses_from_the_first_loop_to_the_second():
    trace = asyncsim.run_script(EXAMPLES / "seed_pair.py", trace=True).trace
    path = trace.critical_path()
    assert [(s.name, s.kind, s.start_ns, s.end_ns) for s in path] == [
        ("Task-2", "sleep", 0, 4 * S),
        ("Task-3", "sleep", 4 * S, 8 * S),
        ("Task-3", "sleep", 8 * S, 11 * S),
    ]
    assert sum(s.end_ns - s.start_ns for s in path) == trace.end_ns - trace.start_ns


def test_the_critical_path_of_a_loop_blocked_by_time_sleep_goes_through_the_blocking_step():
    import time

    async def blocker():
        time.sleep(2)

    async def main():
        task = asyncio.create_task(blocker())
        await asyncio.sleep(1)  # due at 1, but the loop is blocked until 2
        await task

    trace = asyncsim.simulate(main(), trace=True).trace
    assert [(s.name, s.kind, s.start_ns, s.end_ns) for s in trace.critical_path()] == [
        ("Task-2", "blocked", 0, 2 * S)
    ]


# -- generated programs: sleeps, sequences, gathers and create_task -------------------

leaf = st.integers(min_value=0, max_value=3000).map(lambda ms: ("sleep", ms))
programs = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda c: ("seq", c)),
        st.lists(children, min_size=1, max_size=3).map(lambda c: ("gather", c)),
        st.tuples(children, children).map(lambda c: ("spawn", c)),
    ),
    max_leaves=12,
)


def expected_ms(node):
    kind, arg = node
    if kind == "sleep":
        return arg
    if kind == "seq":
        return sum(expected_ms(c) for c in arg)
    if kind == "gather":
        return max(expected_ms(c) for c in arg)
    return max(expected_ms(arg[0]), expected_ms(arg[1]))


async def interpret(node):
    kind, arg = node
    if kind == "sleep":
        await asyncio.sleep(arg / 1000)
    elif kind == "seq":
        for child in arg:
            await interpret(child)
    elif kind == "gather":
        await asyncio.gather(*(interpret(c) for c in arg))
    else:
        task = asyncio.create_task(interpret(arg[0]))
        await interpret(arg[1])
        await task


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_critical_path_durations_add_up_to_the_elapsed_time_of_generated_programs(program):
    run = asyncsim.simulate(interpret(program), trace=True)
    trace = run.trace
    assert trace.end_ns - trace.start_ns == expected_ms(program) * MS
    path = trace.critical_path()
    assert sum(s.end_ns - s.start_ns for s in path) == trace.end_ns - trace.start_ns
    assert all(a.end_ns == b.start_ns for a, b in itertools.pairwise(path))
    assert all(s.kind in ("sleep", "ready", "running") for s in path)
    dag = trace.dag()
    assert nx.is_directed_acyclic_graph(dag)
    assert nx.dag_longest_path_length(dag) == trace.end_ns - trace.start_ns


def test_the_task_graph_has_spawn_await_and_wake_edges():
    trace = asyncsim.simulate(main_concurrent(), trace=True).trace
    graph = trace.graph()
    assert graph.nodes[1]["coroutine"] == "delay" and graph.nodes[1]["parent"] == 0
    assert graph.nodes[1]["finished"] == 4.0
    assert graph.edges[0, 1]["kind"] == "spawn+await"
    assert graph.edges[1, 0]["kind"] == "wake" and graph.edges[1, 0]["time"] == 4.0


def test_the_critical_path_to_a_task_takes_a_task_id_of_the_trace():
    trace = asyncsim.simulate(main_concurrent(), trace=True).trace
    assert [s.name for s in trace.critical_path(1)] == ["Task-2"]
    with pytest.raises(ValueError, match="task must be a task id of the trace, got 2"):
        trace.critical_path(2)
    with pytest.raises(TypeError, match="task must be a task id of the trace, got True"):
        trace.critical_path(True)  # a bool is not task 1


def test_the_graph_exports_as_node_link_json_and_graphml(tmp_path):
    graph = asyncsim.simulate(main_concurrent(), trace=True).trace.graph()
    again = nx.node_link_graph(json.loads(graph_to_json(graph)), edges="links")
    assert nx.utils.graphs_equal(graph, again)
    graph_to_graphml(graph, str(tmp_path / "g.graphml"))
    read = nx.read_graphml(tmp_path / "g.graphml", node_type=int)
    assert sorted(read.edges) == sorted(graph.edges)
    assert read.nodes[1]["name"] == "Task-2"


def test_a_deadlocked_run_has_a_critical_path_to_its_last_event():
    import time

    async def worker(lock):
        async with lock:
            await asyncio.sleep(1)
            time.sleep(0.5)  # blocks the loop

    async def stuck(event):
        await event.wait()

    async def main():
        lock, event = asyncio.Lock(), asyncio.Event()
        await asyncio.gather(worker(lock), worker(lock), stuck(event))

    run = asyncsim.simulate(main(), trace=True)
    assert isinstance(run.exception, asyncsim.Deadlock) and run.elapsed == 3.0
    path = [(s.name, s.kind, s.start_ns, s.end_ns) for s in run.trace.critical_path()]
    assert path == [
        ("Task-2", "sleep", 0, 1 * S),
        ("Task-2", "blocked", 1 * S, 1_500_000_000),
        ("Task-3", "sleep", 1_500_000_000, 2_500_000_000),  # got the lock when Task-2 let go
        ("Task-3", "blocked", 2_500_000_000, 3 * S),
    ]
