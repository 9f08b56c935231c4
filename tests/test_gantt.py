"""The Gantt figure: one row per task, state colours, arrows and the critical path drawn."""

import asyncio

import matplotlib

matplotlib.use("Agg")

import pytest

import asyncsim
from asyncsim.report.timeline import STATES, row_order, task_intervals

from .seed_programs import main_concurrent

S = 1_000_000_000


def by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def test_the_figure_has_one_row_per_task_and_draws_the_critical_path():
    run = asyncsim.simulate(main_concurrent(), trace=True)
    fig = run.gantt()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Task-1  main_concurrent()", "Task-2  delay()"]
    (critical,) = by_gid(ax, "critical-path")
    # The sleep(4) of delay, drawn on delay's row (row 1, line just below its centre).
    assert [seg.tolist() for seg in critical.get_segments()] == [[[0.0, 1.2], [4.0, 1.2]]]
    assert len(by_gid(ax, "spawn")) == 1 and len(by_gid(ax, "wake")) == 1
    assert "4 s virtual" in fig._suptitle.get_text()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[: len(STATES)] == [label for label, _colour in STATES.values()]
    assert "critical path" in legend


def test_each_task_row_shows_its_states_in_time_order():
    trace = asyncsim.simulate(main_concurrent(), trace=True).trace
    intervals = task_intervals(trace)
    assert intervals[0] == [
        ("running", 0, 0),
        ("sleeping", 0, 3 * S),
        ("running", 3 * S, 3 * S),
        ("future", 3 * S, 4 * S),
        ("running", 4 * S, 4 * S),
    ]
    assert intervals[1] == [("running", 0, 0), ("sleeping", 0, 4 * S), ("running", 4 * S, 4 * S)]


def test_children_are_listed_under_their_parents():
    async def child(n):
        await asyncio.sleep(n)

    async def parent(n):
        await asyncio.create_task(child(n))

    async def main():
        a = asyncio.create_task(parent(1))
        b = asyncio.create_task(parent(2))
        await asyncio.gather(a, b)

    trace = asyncsim.simulate(main(), trace=True).trace
    names = [trace.tasks[t].coroutine.rsplit(".", 1)[-1] for t in row_order(trace)]
    assert names == ["main", "parent", "child", "parent", "child"]


def test_many_tasks_group_into_one_row_per_coroutine_with_counts():
    async def worker(i):
        await asyncio.sleep(i % 7)

    async def main():
        await asyncio.gather(*(asyncio.create_task(worker(i)) for i in range(100)))

    fig = asyncsim.simulate(main(), trace=True).gantt(max_rows=20)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert [label.split(".")[-1] for label in labels] == ["main  ×1", "worker  ×100"]
    assert by_gid(fig.axes[0], "critical-path")


def test_the_chart_is_written_as_png_or_svg(tmp_path):
    run = asyncsim.simulate(main_concurrent(), trace=True)
    run.gantt(tmp_path / "t.png")
    run.gantt(tmp_path / "t.svg")
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "t.svg").read_bytes()[:400]


def test_bad_arguments_are_named():
    run = asyncsim.simulate(main_concurrent(), trace=True)
    with pytest.raises(
        ValueError, match=r"path must be a file name ending in \.png, \.svg or \.pdf, got 'x\.gif'"
    ):
        run.gantt("x.gif")
    with pytest.raises(ValueError, match="max_rows must be an integer >= 1, got 0"):
        run.gantt(max_rows=0)
    with pytest.raises(ValueError, match="needs a trace"):
        asyncsim.simulate(main_concurrent()).gantt()


def test_a_decorated_coroutine_is_labelled_with_the_function_its_wrapper_runs():
    from asyncsim.script import load_model

    from .conftest import EXAMPLES

    model = load_model(EXAMPLES / "net_example_com.py")
    run = asyncsim.run_script(EXAMPLES / "gather.py", trace=True, **model)
    assert run.trace.tasks[1].coroutine == "async_timed.<locals>.wrapper"
    assert run.trace.tasks[1].runs == "fetch_status"
    labels = [t.get_text() for t in run.gantt().axes[0].get_yticklabels()]
    assert labels[:2] == [
        "Task-1  main() via async_timed",
        "Task-2  fetch_status() via async_timed",
    ]
