"""One definition of each number, seconds in the API, short reprs, readable labels and paths."""

import asyncio
import contextlib
import itertools

import asyncsim
from asyncsim.report.chrome import chrome_trace
from asyncsim.script import load_model
from asyncsim.trace.explain import group_path, path_story

from .conftest import EXAMPLES


async def producer():
    queue = asyncio.Queue()
    for i in range(9):
        await asyncio.sleep(0.25)
        await queue.put(i)
    return queue.qsize()


def test_run_steps_are_the_traces_steps_and_the_number_every_view_prints():
    run = asyncsim.simulate(producer(), trace=True)
    assert run.steps == run.trace.callbacks > len(run.trace.steps)
    title = run.gantt()._suptitle.get_text()
    assert f"{run.steps} steps" in title and "2.25 s virtual" in title
    assert f"{run.steps} steps" in repr(run)
    script = asyncsim.run_script(EXAMPLES / "seed_pair.py", trace=True)
    assert script.steps == script.trace.callbacks
    assert f"11 s virtual in {script.wall:.3g} s wall" in script.summary()
    assert f"{script.steps} steps" in script.summary()


def test_public_times_are_seconds_and_ticks_are_named_ns():
    async def main():
        asyncsim.mark("half")
        with asyncsim.span("phase"):
            await asyncio.sleep(0.25)

    trace = asyncsim.simulate(main(), trace=True).trace
    (segment,) = trace.critical_path()
    assert (segment.start, segment.end, segment.start_ns, segment.end_ns) == (
        0.0,
        0.25,
        0,
        250_000_000,
    )
    assert trace.marks[0].time == 0.0 and trace.spans[0].end == 0.25
    assert trace.spans[0].end_ns == 250_000_000 and trace.end == 0.25
    step = trace.steps[0]
    assert (step.until, step.until_ns) == (0.25, 250_000_000)


def test_reprs_are_short_whatever_the_size_of_the_run():
    async def many():
        await asyncio.gather(*(asyncio.sleep(i / 1000) for i in range(2000)))

    run = asyncsim.simulate(many(), trace=True)
    assert len(repr(run)) < 200 and len(repr(run.trace)) < 200
    assert repr(run).startswith("<Run result=None: 1.999 s virtual in ")


def test_the_critical_path_groups_identical_terms_and_rounds_them():
    trace = asyncsim.simulate(producer(), trace=True).trace
    groups = group_path(trace.critical_path())
    sleeps = [g for g in groups if g.kind == "sleep"]
    assert [(g.repeats, g.text()) for g in sleeps] == [
        (9, "9 × sleep 0.25 s in producer() (Task-1)")
    ]
    assert (
        path_story(trace, trace.critical_path())
        == "2.25 s = 9 × sleep 0.25 s in producer() (Task-1)"
    )


def test_an_aiohttp_programs_critical_path_names_the_users_coroutine():
    model = load_model(EXAMPLES / "net_example_com.py")
    trace = asyncsim.run_script(EXAMPLES / "gather.py", trace=True, **model).trace
    path = trace.critical_path()
    assert [s.where.split("() at ")[0] for s in path if s.duration > 0.5] == ["fetch_status"]
    assert any("site-packages/aiohttp" in s.inner for s in path)


def test_wait_labels_say_why_a_wait_ended_and_never_overlap():
    async def slow():
        await asyncio.sleep(3)

    async def main():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(slow(), 1)
        await asyncio.sleep(0.001)

    run = asyncsim.simulate(main(), trace=True)
    fig = run.gantt()
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert any("cancelled after 1 s" in t for t in texts)
    assert any("timed out after 1 s" in t for t in texts)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    inside = ax.get_window_extent(renderer)
    for a, b in itertools.combinations(boxes, 2):
        assert a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0
    assert all(inside.x0 <= b.x0 and b.x1 <= inside.x1 for b in boxes)


def test_a_late_timer_of_a_schedule_is_marked_on_the_bar_it_delayed():
    import sys

    sys.path.insert(0, str(EXAMPLES))
    import bug_lost_update

    schedule = asyncsim.Schedule.from_string("S1;t=0,100000000")
    run = asyncsim.simulate(bug_lost_update.main(), schedule=schedule, trace=True)
    (delay,) = run.trace.delays
    assert (delay.kind, delay.start, delay.late) == ("timer", 0.1, 0.1)
    source = (EXAMPLES / "bug_lost_update.py").read_text().splitlines()
    line = source.index("        await asyncio.sleep(0.1)  # ... a database round-trip ...") + 1
    assert f"bug_lost_update.py:{line}" in delay.where
    texts = [t.get_text() for t in run.gantt().axes[0].texts]
    assert "sleep 0.1 s in deposit(): late 0.1 s (schedule)" in texts


def test_a_failure_records_where_it_was_raised_and_its_chain():
    async def inner():
        raise KeyError("k")

    async def main():
        try:
            await inner()
        except KeyError as exc:
            raise ValueError("bad") from exc

    trace = asyncsim.simulate(main(), trace=True).trace
    run_chain = [
        (e.depth, e.link, e.text, e.where.split("() at ")[0])
        for e in trace.exceptions
        if e.task is None
    ]
    assert run_chain == [
        (
            0,
            "",
            "ValueError: bad",
            "test_a_failure_records_where_it_was_raised_and_its_chain.<locals>.main",
        ),
        (
            1,
            "cause",
            "KeyError: 'k'",
            "test_a_failure_records_where_it_was_raised_and_its_chain.<locals>.inner",
        ),
    ]


def test_chrome_trace_starts_after_zero():
    trace = asyncsim.simulate(producer(), trace=True).trace
    assert min(e["ts"] for e in chrome_trace(trace)["traceEvents"]) == 1
