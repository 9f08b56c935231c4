"""The tracer records every task and step with exact virtual times, causes and waits."""

import asyncio
import time

import pytest

import asyncsim
from asyncsim.trace.records import Trace
from asyncsim.trace.schema import SCHEMA_VERSION

from .conftest import EXAMPLES

S = 1_000_000_000  # ticks per virtual second


def func(where):
    """The function name of a ``where`` string ('delay() at file:line' -> 'delay')."""
    return where.split("() at ")[0].rsplit(".", 1)[-1] if where else ""


def rows(trace):
    return [
        (t.name, t.coroutine, t.parent, t.loop, t.created_ns, t.finished_ns, t.outcome)
        for t in trace.tasks
    ]


def steps(trace):
    return [
        (
            s.task,
            s.start_ns,
            s.end_ns,
            s.wake,
            s.waker,
            s.blocked,
            s.until_ns,
            s.target,
            func(s.where),
        )
        for s in trace.steps
    ]


def test_the_seed_pair_script_traces_both_loops_on_one_clock():
    outcome = asyncsim.run_script(EXAMPLES / "seed_pair.py", trace=True)
    trace = outcome.trace
    assert trace.mains == (0, 2)
    assert trace.start_ns == 0 and trace.end_ns == 11 * S and trace.elapsed == 11.0
    assert rows(trace) == [
        ("Task-1", "main_concurrent", None, 0, 0, 4 * S, "result"),
        ("Task-2", "delay", 0, 0, 0, 4 * S, "result"),
        ("Task-3", "main_sequential", None, 1, 4 * S, 11 * S, "result"),
    ]
    assert steps(trace) == [
        # main_concurrent spawns delay, sleeps 3 s, then awaits the task until it ends at 4 s.
        (0, 0, 0, "start", None, "sleep", 3 * S, None, "main_concurrent"),
        (1, 0, 0, "spawn", 0, "sleep", 4 * S, None, "delay"),
        (0, 3 * S, 3 * S, "timer", 0, "task", None, 1, "main_concurrent"),
        (1, 4 * S, 4 * S, "timer", 1, "done", None, None, ""),
        (0, 4 * S, 4 * S, "step", 3, "done", None, None, ""),
        # main_sequential awaits delay() inline: suspended in delay(), then in itself.
        (2, 4 * S, 4 * S, "start", None, "sleep", 8 * S, None, "delay"),
        (2, 8 * S, 8 * S, "timer", 5, "sleep", 11 * S, None, "main_sequential"),
        (2, 11 * S, 11 * S, "timer", 6, "done", None, None, ""),
    ]
    site = trace.tasks[1].site
    assert site.endswith("seed_pair.py:16")  # the create_task line


async def fetch(delay):
    await asyncio.sleep(delay)
    return delay


async def gather_completed_wait():
    await asyncio.gather(fetch(1), fetch(2))
    # Tasks, not coroutines: as_completed() wraps coroutines in set (address) order.
    for finished in asyncio.as_completed(
        [asyncio.create_task(fetch(3)), asyncio.create_task(fetch(1))]
    ):
        await finished
    tasks = [asyncio.create_task(fetch(1)), asyncio.create_task(fetch(4))]
    _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()


def test_gather_as_completed_and_wait_are_traced_with_exact_states_and_times():
    trace = asyncsim.simulate(gather_completed_wait(), trace=True).trace
    assert trace.elapsed == 6.0
    assert rows(trace) == [
        ("Task-1", "gather_completed_wait", None, 0, 0, 6 * S, "result"),
        ("Task-2", "fetch", 0, 0, 0, 1 * S, "result"),
        ("Task-3", "fetch", 0, 0, 0, 2 * S, "result"),
        ("Task-4", "fetch", 0, 0, 2 * S, 5 * S, "result"),
        ("Task-5", "fetch", 0, 0, 2 * S, 3 * S, "result"),
        ("Task-6", "fetch", 0, 0, 5 * S, 6 * S, "result"),
        ("Task-7", "fetch", 0, 0, 5 * S, 6 * S, "cancelled"),
    ]
    main = [(s.start_ns, s.wake, s.waker, s.blocked, s.detail) for s in trace.steps_of(0)]
    assert main == [
        (0, "start", None, "gather", "gather() of 2"),
        (2 * S, "step", 4, "wait", "asyncio.as_completed()"),  # woken by fetch(2) finishing
        (3 * S, "step", 8, "wait", "asyncio.as_completed()"),
        (5 * S, "step", 10, "wait", "asyncio.wait()"),
        (6 * S, "step", 14, "done", ""),
    ]
    cancelled = trace.steps_of(6)
    assert [(s.start_ns, s.wake, s.waker, s.blocked) for s in cancelled] == [
        (5 * S, "spawn", 11, "sleep"),
        (6 * S, "step", 15, "done"),  # main's cancel() woke it
    ]
    assert trace.tasks[2].detail == "2"  # a short repr of the result


def test_locks_queues_events_and_executor_jobs_are_named_as_what_a_task_waits_on():
    async def holder(lock, event):
        async with lock:
            await event.wait()

    async def main():
        lock, event, queue = asyncio.Lock(), asyncio.Event(), asyncio.Queue()
        h = asyncio.create_task(holder(lock, event))
        await asyncio.sleep(0)
        waiter = asyncio.create_task(lock.acquire())
        consumer = asyncio.create_task(queue.get())
        await asyncio.sleep(1)
        event.set()
        queue.put_nowait(1)
        await asyncio.gather(h, waiter, consumer)
        await asyncio.get_running_loop().run_in_executor(None, sum, [1, 2])

    trace = asyncsim.simulate(main(), trace=True).trace
    first = {
        trace.tasks[s.task].coroutine.rsplit(".", 1)[-1]: s.blocked for s in reversed(trace.steps)
    }
    assert first["holder"] == "event"
    assert first["acquire"] == "lock"
    assert first["get"] == "queue"
    assert trace.steps_of(0)[-2].blocked == "executor"
    assert trace.elapsed == 1.0


def test_a_blocking_time_sleep_is_recorded_as_a_loop_block_on_the_task_that_called_it():
    async def main():
        await asyncio.sleep(1)
        time.sleep(2)  # the classic mistake: blocks the loop

    trace = asyncsim.simulate(main(), trace=True).trace
    assert [(b.task, b.start_ns, b.end_ns, func(b.where)) for b in trace.blocks] == [
        (0, S, 3 * S, "main")
    ]
    assert trace.steps[-1][3:6] == (S, S, 3 * S)  # ready, start, end of the blocking step


def test_marks_and_spans_record_labels_times_and_tasks():
    async def main():
        asyncsim.mark("begin")
        with asyncsim.span("phase one"):
            await asyncio.sleep(1.5)
        await asyncio.create_task(child())

    async def child():
        await asyncio.sleep(0.25)
        asyncsim.mark("child done")

    trace = asyncsim.simulate(main(), trace=True).trace
    assert [tuple(m) for m in trace.marks] == [(0, "begin", 0), (1_750_000_000, "child done", 1)]
    assert [tuple(s) for s in trace.spans] == [("phase one", 0, 0, 1_500_000_000)]


def test_marks_and_spans_do_nothing_without_a_trace():
    async def main():
        asyncsim.mark("x")
        with asyncsim.span("y"):
            await asyncio.sleep(1)
        return "ok"

    run = asyncsim.simulate(main())
    assert run.trace is None and run.result == "ok"
    asyncsim.mark("outside any simulation")


def test_mark_rejects_a_label_that_is_not_a_string():
    with pytest.raises(TypeError, match="label must be a str, got 3"):
        asyncsim.mark(3)


def test_trace_json_round_trips_exactly_with_a_schema_version():
    async def everything():
        asyncsim.mark("go")
        with asyncsim.span("all of it"):
            await gather_completed_wait()
        time.sleep(0.25)

    trace = asyncsim.simulate(everything(), trace=True).trace
    assert trace.marks and trace.spans and trace.blocks
    text = trace.to_json()
    again = Trace.from_json(text)
    assert again == trace
    assert again.to_json() == text
    assert f'"version":{SCHEMA_VERSION}' in text


def test_a_trace_from_a_newer_schema_is_refused_by_name():
    data = asyncsim.simulate(fetch(1), trace=True).trace.to_dict()
    data["version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match=f"schema version {SCHEMA_VERSION + 1} is not supported"):
        Trace.from_dict(data)
    with pytest.raises(ValueError, match="not an asyncsim trace"):
        Trace.from_json('{"traceEvents": []}')


async def gather_and_wait():
    await asyncio.gather(fetch(1), fetch(2), asyncio.sleep(0.5))
    tasks = [asyncio.create_task(fetch(1)), asyncio.create_task(fetch(4))]
    await asyncio.wait(tasks, timeout=2)
    # as_completed() is left out: asyncio itself wraps its awaitables in set order
    # (by memory address), so the order it creates tasks in differs from run to run.


def test_the_same_program_traced_twice_gives_byte_identical_json():
    first, second = (
        asyncsim.simulate(gather_and_wait(), trace=True, seed=7).trace.to_json() for _ in "12"
    )
    assert first == second
    assert '"name":"Task-2"' not in first  # tables are columns + rows
    assert asyncsim.Trace.from_json(first).tasks[1].name == "Task-2"  # renumbered per trace


def test_a_deadlocked_run_keeps_its_error_and_the_pending_task_in_the_trace():
    async def main():
        await asyncio.get_running_loop().create_future()

    run = asyncsim.simulate(main(), trace=True)
    assert isinstance(run.exception, asyncsim.Deadlock)
    assert run.trace.error.startswith("Deadlock: deadlock at t=0.0s")
    assert (
        "(test_a_deadlocked_run_keeps_its_error_and_the_pending_task_in_the_trace.<locals>.main)"
        in run.trace.error
    )
    assert "waiting on a Future nobody has completed yet" in run.trace.error
    assert run.trace.steps[0].blocked == "future"
    # Then, as asyncio.run does, the leftover main task was cancelled (and traced).
    assert run.trace.tasks[0][6:9] == (0, 0, "cancelled")


def test_trace_must_be_a_boolean():
    with pytest.raises(TypeError, match="trace must be True or False, got 'yes'"):
        asyncsim.Simulation(trace="yes")


def test_a_public_task_method_scheduled_as_a_callback_is_not_mistaken_for_a_step():
    async def main():
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(asyncio.sleep(10))
        loop.call_later(2, task.cancel)
        await asyncio.gather(task, return_exceptions=True)

    trace = asyncsim.simulate(main(), trace=True).trace
    assert [(s.start_ns, s.wake, s.blocked) for s in trace.steps_of(1)] == [
        (0, "spawn", "sleep"),
        (2 * S, "timer", "done"),  # the cancel() timer, scheduled by main's step, woke it
    ]
    assert trace.tasks[1].outcome == "cancelled"


def test_the_pure_python_task_is_traced_like_the_c_one():
    # Other Pythons may schedule steps differently; the pure-Python Task (bound methods
    # _Task__step / _Task__wakeup instead of the C TaskStepMethWrapper / task_wakeup)
    # stands in for them here.
    async def child():
        await asyncio.sleep(2)
        return "ok"

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_task_factory(lambda loop, coro, **kw: asyncio.tasks._PyTask(coro, loop=loop, **kw))
        assert await loop.create_task(child()) == "ok"

    trace = asyncsim.simulate(main(), trace=True).trace
    assert steps(trace) == [
        (0, 0, 0, "start", None, "task", None, 1, "main"),
        (1, 0, 0, "spawn", 0, "sleep", 2 * S, None, "child"),
        (1, 2 * S, 2 * S, "timer", 1, "done", None, None, ""),
        (0, 2 * S, 2 * S, "step", 2, "done", None, None, ""),
    ]
    assert [s.duration for s in trace.critical_path()] == [2.0]


@pytest.mark.skipif(
    not hasattr(asyncio, "eager_task_factory"), reason="eager task factories are new in 3.12"
)
def test_eager_first_steps_are_steps_spawned_by_the_step_that_created_the_tasks():
    async def quick():
        return 1

    async def slow():
        await asyncio.sleep(1.25)
        return 2

    async def main():
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
        first = asyncio.create_task(quick(), name="quick")  # finishes inside create_task
        second = asyncio.create_task(slow(), name="slow")
        return await first + await second

    outcome = asyncsim.simulate(main(), trace=True)
    assert outcome.result == 3
    trace = outcome.trace
    assert [(r[0], r[1].rsplit(".", 1)[-1], *r[2:]) for r in rows(trace)] == [
        ("Task-1", "main", None, 0, 0, int(1.25 * S), "result"),
        ("quick", "quick", 0, 0, 0, 0, "result"),
        ("slow", "slow", 0, 0, 0, int(1.25 * S), "result"),
    ]
    assert steps(trace) == [
        (0, 0, 0, "start", None, "task", None, 2, "main"),
        (1, 0, 0, "spawn", 0, "done", None, None, ""),
        (2, 0, 0, "spawn", 0, "sleep", int(1.25 * S), None, "slow"),
        # slow's timer was started during main's step, which ran slow's eager step.
        (2, int(1.25 * S), int(1.25 * S), "timer", 0, "done", None, None, ""),
        (0, int(1.25 * S), int(1.25 * S), "step", 3, "done", None, None, ""),
    ]
