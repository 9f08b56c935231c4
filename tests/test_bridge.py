"""SimPy on the virtual clock: both directions of waiting, same-instant order, errors."""

import asyncio

import pytest
import simpy

import asyncsim
from asyncsim.models.bridge import Environment


def now():
    return asyncio.get_running_loop().time()


def test_asyncio_awaits_a_simpy_timeout_and_a_process_result():
    def clerk(env):
        yield env.timeout(2)
        return "stamped"

    async def main():
        env = Environment()
        await env.timeout(1.5)
        assert env.now == now() == 1.5
        stamp = await env.process(clerk(env))
        return stamp, now()

    assert asyncsim.run(main()) == ("stamped", 3.5)


def test_a_simpy_process_waits_for_an_asyncio_task_and_gets_its_result():
    log = []

    async def fetch():
        await asyncio.sleep(3)
        return 200

    def worker(env, task):
        status = yield env.from_future(task)
        log.append(("simpy got", status, env.now))
        yield env.timeout(1)
        log.append(("simpy done", env.now))

    async def main():
        env = Environment()
        proc = env.process(worker(env, asyncio.create_task(fetch())))
        await proc
        return now()

    assert asyncsim.run(main()) == 4.0
    assert log == [("simpy got", 200, 3.0), ("simpy done", 4.0)]


def test_a_simpy_process_can_wait_for_a_coroutine_directly():
    async def slow():
        await asyncio.sleep(0.25)
        return "ok"

    def proc(env):
        return (yield env.from_future(slow()))

    async def main():
        env = Environment()
        return await env.process(proc(env)), now()

    assert asyncsim.run(main()) == ("ok", 0.25)


def test_failures_cross_the_bridge_in_both_directions():
    def broken(env):
        yield env.timeout(1)
        raise KeyError("simpy side")

    async def failing():
        await asyncio.sleep(2)
        raise ValueError("asyncio side")

    def catcher(env, log):
        try:
            yield env.from_future(failing())
        except ValueError as exc:
            log.append((repr(exc), env.now))

    async def main():
        env = Environment()
        with pytest.raises(KeyError, match="simpy side"):
            await env.process(broken(env))
        log = []
        await env.process(catcher(env, log))
        return log, now()

    assert asyncsim.run(main()) == ([("ValueError('asyncio side')", 3.0)], 3.0)


def test_any_simpy_event_is_awaitable_through_wait():
    async def main():
        env = Environment()
        counter = simpy.Resource(env, capacity=1)
        first = counter.request()
        await env.wait(first)
        second = counter.request()
        env.process(release_later(env, counter, first))
        await env.wait(second)
        return now()

    def release_later(env, resource, request):
        yield env.timeout(4)
        resource.release(request)

    assert asyncsim.run(main()) == 4.0


def test_simpy_first_when_its_timer_was_scheduled_first_at_the_same_instant():
    log = []

    def proc(env):
        yield env.timeout(1)
        log.append(("simpy", env.now))

    async def main():
        env = Environment()
        env.process(proc(env))
        await asyncio.sleep(0)  # the process starts and schedules its timeout(1)
        await asyncio.sleep(1)
        log.append(("asyncio", now()))

    asyncsim.run(main())
    assert log == [("simpy", 1.0), ("asyncio", 1.0)]


def test_asyncio_first_when_its_timer_was_scheduled_first_at_the_same_instant():
    log = []

    def proc(env):
        yield env.timeout(1)
        log.append(("simpy", env.now))

    async def main():
        env = Environment()
        env.process(proc(env))  # starts in a slot after this step...
        await asyncio.sleep(1)  # ...so this timer is scheduled first
        log.append(("asyncio", now()))
        await asyncio.sleep(0)

    asyncsim.run(main())
    assert log == [("asyncio", 1.0), ("simpy", 1.0)]


def test_a_wake_in_either_direction_takes_one_trip_through_the_ready_queue():
    log = []

    def waiter(env, fut):
        value = yield env.from_future(fut)
        log.append(("simpy woke", value))

    async def bystander():
        log.append("bystander 1")
        await asyncio.sleep(0)
        log.append("bystander 2")
        await asyncio.sleep(0)
        log.append("bystander 3")

    async def main():
        env = Environment()
        fut = asyncio.get_running_loop().create_future()
        env.process(waiter(env, fut))
        await asyncio.sleep(0)  # the process is now waiting on fut
        other = asyncio.create_task(bystander())
        fut.set_result("hi")
        log.append("asyncio set the result")
        await other

    asyncsim.run(main())
    # set_result queues fut's done callback; it triggers the SimPy event, whose
    # slot is queued behind the bystander's next step.
    assert log == [
        "asyncio set the result",
        "bystander 1",
        "bystander 2",
        ("simpy woke", "hi"),
        "bystander 3",
    ]


def test_a_mixed_program_is_deterministic():
    def producer(env, queue, log):
        for i in range(5):
            yield env.timeout(0.5)
            yield queue.put(i)
            log.append(("put", i, env.now))

    async def consumer(env, queue, log):
        for _ in range(5):
            item = await env.wait(queue.get())
            log.append(("got", item, now()))
            await asyncio.sleep(0.7)

    async def main():
        env = Environment()
        queue = simpy.Store(env)
        log = []
        env.process(producer(env, queue, log))
        await consumer(env, queue, log)
        return log

    first = asyncsim.run(main())
    assert first == asyncsim.run(main())
    assert first[-1] == ("got", 4, 3.3)  # the consumer is the bottleneck: 0.5 + 4 x 0.7


def test_env_run_is_refused_with_a_hint():
    async def main():
        with pytest.raises(RuntimeError, match=r"do not call env.run\(\)"):
            Environment().run(until=3)

    asyncsim.run(main())


def test_an_environment_needs_a_virtual_loop():
    with pytest.raises(RuntimeError, match="needs a running simulation"):
        Environment()

    async def main():
        with pytest.raises(TypeError, match=r"loop must be an asyncsim\.VirtualEventLoop"):
            Environment()

    asyncio.run(main())


def test_wait_and_from_future_reject_the_wrong_kind_of_object():
    async def main():
        env = Environment()
        with pytest.raises(TypeError, match="expects a SimPy event"):
            env.wait(asyncio.get_running_loop().create_future())
        with pytest.raises(TypeError, match="expects an asyncio future, task or coroutine"):
            env.from_future(3)

    asyncsim.run(main())


def test_an_unwatched_simpy_failure_is_reported_not_swallowed():
    errors = []

    def broken(env):
        yield env.timeout(1)
        raise KeyError("nobody listens")

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: errors.append(context))
        env = Environment()
        env.process(broken(env))
        await asyncio.sleep(2)

    asyncsim.run(main())
    assert len(errors) == 1
    assert "a SimPy event failed and nothing waited for it (at t=1.0s)" in errors[0]["message"]
    assert isinstance(errors[0]["exception"], KeyError)


def test_crossing_the_bridge_resumes_after_the_waiters_on_the_same_side():
    log = []

    def simpy_waiter(env, event, name):
        value = yield event
        log.append((name, value))

    async def asyncio_waiter(awaitable, name):
        log.append((name, await awaitable))

    async def main():
        env = Environment()
        event = env.event()
        fut = asyncio.get_running_loop().create_future()
        # Cross-side waiters are registered first, so order is not creation order.
        tasks = [
            asyncio.create_task(asyncio_waiter(event, "asyncio on simpy event")),
            asyncio.create_task(asyncio_waiter(fut, "asyncio on future")),
        ]
        env.process(simpy_waiter(env, env.from_future(fut), "simpy on future"))
        env.process(simpy_waiter(env, event, "simpy on simpy event"))
        await asyncio.sleep(1)
        event.succeed("e")
        fut.set_result("f")
        await asyncio.gather(*tasks)

    asyncsim.run(main())
    assert log == [
        ("simpy on simpy event", "e"),
        ("asyncio on future", "f"),
        ("asyncio on simpy event", "e"),
        ("simpy on future", "f"),
    ]


def test_a_simpy_process_waiting_on_a_cancelled_task_gets_cancelled_error():
    async def forever():
        await asyncio.sleep(100)

    def proc(env, task, log):
        try:
            yield env.from_future(task)
        except asyncio.CancelledError:
            log.append(("cancelled", env.now))

    async def main():
        env = Environment()
        log = []
        task = asyncio.create_task(forever())
        waiter = env.process(proc(env, task, log))
        await asyncio.sleep(1)
        task.cancel()
        await waiter
        return log

    assert asyncsim.run(main()) == [("cancelled", 1.0)]
