"""A deadlock report names the user's own frame and the asyncio primitive it called."""

import asyncio
import gc

import pytest

import asyncsim
from asyncsim.models.network import Network


def _only_task(error: asyncsim.SimulationError) -> asyncsim.PendingTask:
    (task,) = error.tasks
    return task


def _deadlock(main) -> asyncsim.Deadlock:
    with pytest.raises(asyncsim.Deadlock) as info:
        asyncsim.run(main())
    return info.value


def test_a_queue_join_is_reported_as_queue_join_not_the_event_inside_it():
    async def drain_never():
        queue = asyncio.Queue()
        queue.put_nowait(1)
        await queue.join()

    task = _only_task(_deadlock(drain_never))
    assert task.waiting_on == "Queue.join() on <Queue maxsize=0 _queue=[1] tasks=1>"
    assert task.where.startswith("test_a_queue_join_is_reported_as_queue_join_not_the_event")


def test_a_barrier_is_reported_as_barrier_wait_not_the_condition_inside_it():
    async def meet_alone():
        await asyncio.Barrier(2).wait()

    task = _only_task(_deadlock(meet_alone))
    assert task.waiting_on.startswith("Barrier.wait() on <asyncio.locks.Barrier object [filling")


def test_a_task_stuck_in_an_async_generator_is_shown_inside_the_generator():
    async def numbers():
        await asyncio.Event().wait()
        yield 1

    async def consume():
        async for _ in numbers():
            pass

    task = _only_task(_deadlock(consume))
    assert "numbers() at " in task.where
    assert task.waiting_on.startswith("Event.wait() on <asyncio.locks.Event object [unset")


def test_serve_forever_is_shown_at_the_users_call_not_inside_the_network_model():
    async def serve():
        server = await asyncio.start_server(lambda r, w: None, "localhost", 8080)
        await server.serve_forever()

    with pytest.raises(asyncsim.Deadlock) as info:
        asyncsim.run(serve(), network=Network())
    task = _only_task(info.value)
    assert "serve() at " in task.where and "models" not in task.where
    assert task.waiting_on == "VirtualServer.serve_forever() (asyncsim)"


def test_tasks_awaiting_each_other_in_a_circle_are_reported_without_noise_after(capfd):
    async def main():
        tasks = {}

        async def first():
            await tasks["second"]

        async def second():
            await tasks["first"]

        tasks["first"] = asyncio.create_task(first())
        tasks["second"] = asyncio.create_task(second())
        await tasks["first"]

    error = _deadlock(main)
    assert [t.waiting_on.rpartition(".")[2] for t in error.tasks] == ["first)", "second)", "first)"]
    assert [t.waiting_on.split(" (")[0] for t in error.tasks] == [
        "task 'Task-2'",
        "task 'Task-3'",
        "task 'Task-2'",
    ]
    del error
    gc.collect()
    assert "Task was destroyed" not in capfd.readouterr().err
