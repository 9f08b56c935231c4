"""The virtual loop schedules exactly as asyncio does, with punctual timers and no waiting."""

import asyncio
import math
import threading
import time

import pytest

import asyncsim


def log_run(main_factory):
    """Run ``main_factory(log)`` on a fresh virtual loop; return the log of (label, t)."""
    log = []
    loop = asyncsim.new_event_loop()
    try:
        loop.run_until_complete(main_factory(log, loop))
    finally:
        loop.close()
    return log


def test_timers_due_at_the_same_instant_run_in_the_order_they_were_scheduled():
    async def main(log, loop):
        for name in "abcdefgh":
            loop.call_later(1, lambda n=name: log.append((n, loop.time())))
        await asyncio.sleep(2)

    assert log_run(main) == [(name, 1.0) for name in "abcdefgh"]


def test_equal_sleeps_in_many_tasks_wake_in_creation_order():
    async def sleeper(log, name):
        await asyncio.sleep(0.5)
        log.append(name)

    async def main(log, loop):
        await asyncio.gather(*(sleeper(log, i) for i in range(50)))

    assert log_run(main) == list(range(50))


def test_call_soon_callbacks_run_first_in_first_out():
    async def main(log, loop):
        for i in range(20):
            loop.call_soon(log.append, i)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    assert log_run(main) == list(range(20))


def test_call_at_in_the_past_runs_at_once_after_already_ready_callbacks():
    async def main(log, loop):
        await asyncio.sleep(5)
        loop.call_soon(log.append, ("soon", loop.time()))
        loop.call_at(1.0, log.append, ("past", loop.time()))
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    assert log_run(main) == [("soon", 5.0), ("past", 5.0)]


def test_an_idle_loop_jumps_to_the_next_timer_without_sleeping():
    loop = asyncsim.new_event_loop()
    wall = time.perf_counter()
    loop.run_until_complete(asyncio.sleep(86_400))
    assert time.perf_counter() - wall < 5  # a day of virtual time, never a real wait
    assert loop.time() == 86_400.0
    loop.close()


def test_the_clock_starts_at_the_given_start_time():
    loop = asyncsim.new_event_loop(start=100.0)
    assert loop.time() == 100.0
    loop.run_until_complete(asyncio.sleep(0.25))
    assert loop.time() == 100.25
    loop.close()


def test_cancelled_timers_never_fire_and_do_not_advance_the_clock():
    async def main(log, loop):
        handle = loop.call_later(10, log.append, "never")
        loop.call_later(1, handle.cancel)
        await asyncio.sleep(2)
        log.append(("end", loop.time()))

    assert log_run(main) == [("end", 2.0)]


def test_many_cancelled_timers_are_compacted_and_the_rest_still_fire_in_order():
    async def main(log, loop):
        handles = [loop.call_later(100 + i, log.append, i) for i in range(500)]
        for h in handles[:400]:
            h.cancel()
        await asyncio.sleep(1)
        await asyncio.sleep(1000)

    assert log_run(main) == list(range(400, 500))


def test_wait_for_cancels_the_inner_coroutine_exactly_at_the_timeout():
    async def main(log, loop):
        async def slow():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                log.append(("cancelled", loop.time()))
                raise

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(slow(), timeout=2.5)
        log.append(("timeout", loop.time()))

    assert log_run(main) == [("cancelled", 2.5), ("timeout", 2.5)]


def test_exceptions_in_callbacks_go_to_the_exception_handler():
    seen = []

    async def main(log, loop):
        loop.set_exception_handler(lambda lp, ctx: seen.append(ctx["exception"]))
        loop.call_soon(lambda: 1 / 0)
        await asyncio.sleep(1)

    log_run(main)
    assert len(seen) == 1 and isinstance(seen[0], ZeroDivisionError)


def test_infinite_sleep_with_nothing_else_to_do_is_a_deadlock():
    async def main():
        await asyncio.sleep(math.inf)

    with pytest.raises(asyncsim.Deadlock, match=r"asyncio\.sleep until t=inf"):
        asyncsim.run(main())


def test_nan_deadline_fires_at_once_as_in_asyncio():
    async def main(log, loop):
        loop.call_at(float("nan"), log.append, "nan")
        await asyncio.sleep(1)

    assert log_run(main) == ["nan"]


def test_thread_jobs_really_run_and_take_zero_virtual_time():
    main_thread = threading.get_ident()

    async def main():
        loop = asyncio.get_running_loop()
        thread = await asyncio.to_thread(threading.get_ident)
        # A real blocking sleep in a thread: the clock stands still meanwhile.
        await loop.run_in_executor(None, time.sleep, 0.05)
        return thread, loop.time()

    thread, t = asyncsim.run(main())
    assert thread != main_thread
    assert t == 0.0


def test_the_clock_does_not_jump_while_a_thread_job_is_in_flight():
    async def main():
        loop = asyncio.get_running_loop()
        timer_fired_during_job = []
        job_done = threading.Event()
        loop.call_later(1, lambda: timer_fired_during_job.append(not job_done.is_set()))

        def job():
            time.sleep(0.05)
            job_done.set()
            return "job"

        result = await loop.run_in_executor(None, job)
        await asyncio.sleep(2)
        return result, timer_fired_during_job

    assert asyncsim.run(main()) == ("job", [False])


def test_asyncio_runner_accepts_new_event_loop_as_a_loop_factory():
    async def main():
        await asyncio.sleep(42)
        return asyncio.get_running_loop().time()

    with asyncio.Runner(loop_factory=asyncsim.new_event_loop) as runner:
        assert runner.run(main()) == 42.0
        assert isinstance(runner.get_loop(), asyncsim.VirtualEventLoop)


def test_the_policy_makes_every_new_loop_virtual():
    old = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(asyncsim.VirtualEventLoopPolicy())
    try:
        loop = asyncio.new_event_loop()
        assert isinstance(loop, asyncsim.VirtualEventLoop)
        loop.close()
    finally:
        asyncio.set_event_loop_policy(old)


def test_running_a_closed_loop_raises_like_asyncio():
    loop = asyncsim.new_event_loop()
    loop.close()
    coro = asyncio.sleep(1)
    with pytest.raises(RuntimeError, match="Event loop is closed"):
        loop.run_until_complete(coro)
    coro.close()


def test_running_a_loop_inside_a_running_loop_raises_like_asyncio():
    async def main():
        inner = asyncsim.new_event_loop()
        coro = asyncio.sleep(0)
        try:
            with pytest.raises(RuntimeError, match="another loop is running"):
                inner.run_until_complete(coro)
        finally:
            coro.close()
            inner.close()

    asyncsim.run(main())


def test_real_sockets_are_refused_with_a_clear_error():
    async def main():
        await asyncio.open_connection("example.com", 443)

    with pytest.raises(
        asyncsim.RealIOError, match=r"create_connection\(host='example.com', port=443\)"
    ):
        asyncsim.run(main())


def test_max_steps_stops_a_program_that_never_lets_time_pass():
    async def spin():
        while True:
            await asyncio.sleep(0)

    with pytest.raises(
        asyncsim.StepLimitExceeded, match=r"max_steps=1000 exceeded at t=0.0s"
    ) as info:
        asyncsim.run(spin(), max_steps=1000)
    assert [t.coroutine.rsplit(".", 1)[-1] for t in info.value.tasks] == ["spin"]


def test_until_stops_at_that_virtual_time_and_lists_the_pending_tasks():
    async def sleeper():
        await asyncio.sleep(100)

    async def main():
        await asyncio.create_task(sleeper(), name="long-sleeper")

    with pytest.raises(asyncsim.SimulationTimeout) as info:
        asyncsim.run(main(), until=30)
    err = info.value
    assert err.time == 30.0
    assert [t.coroutine.rsplit(".", 1)[-1] for t in err.tasks] == ["main", "sleeper"]
    assert err.tasks[1].name == "long-sleeper"
    assert "asyncio.sleep until t=100.0s" in str(err)


def test_deadlock_names_each_waiting_task_its_line_and_what_it_waits_on():
    async def waiter(fut):
        await fut

    async def main():
        fut = asyncio.get_running_loop().create_future()
        lock = asyncio.Lock()
        await lock.acquire()
        asyncio.create_task(lock.acquire(), name="locker")  # noqa: RUF006
        await asyncio.create_task(waiter(fut), name="the-waiter")

    with pytest.raises(asyncsim.Deadlock) as info:
        asyncsim.run(main(), start=7)
    err = info.value
    assert err.time == 7.0
    assert [t.name for t in err.tasks][1:] == ["locker", "the-waiter"]  # creation order
    waiter_task = next(t for t in err.tasks if t.name == "the-waiter")
    assert "waiter() at" in waiter_task.where and "test_loop.py" in waiter_task.where
    assert "Future nobody has completed" in waiter_task.waiting_on
    locker = next(t for t in err.tasks if t.name == "locker")
    assert locker.waiting_on.startswith("Lock.acquire() on <asyncio.locks.Lock object [locked")
    assert "the-waiter" in str(err) and "deadlock at t=7.0s" in str(err)


def test_the_same_program_twice_gives_the_same_event_order():
    async def worker(log, i, loop):
        for k in range(3):
            await asyncio.sleep((i * 7 + k * 3) % 5 / 10)
            log.append((i, k, loop.time()))

    async def main(log, loop):
        await asyncio.gather(*(worker(log, i, loop) for i in range(10)))

    assert log_run(main) == log_run(main)


def test_never_awaited_coroutines_still_warn_as_in_asyncio():
    async def forgotten():
        pass

    async def main():
        forgotten()

    with pytest.warns(RuntimeWarning, match="was never awaited"):
        asyncsim.run(main())
        import gc

        gc.collect()


def test_isolated_asyncio_test_cases_run_on_the_virtual_loop_through_the_policy():
    import unittest

    class Case(unittest.IsolatedAsyncioTestCase):
        async def test_an_hour_passes_instantly(self):
            await asyncio.sleep(3600)
            self.assertIsInstance(asyncio.get_running_loop(), asyncsim.VirtualEventLoop)
            self.assertEqual(asyncio.get_running_loop().time(), 3600.0)

    old = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(asyncsim.VirtualEventLoopPolicy())
    try:
        result = unittest.TestResult()
        unittest.defaultTestLoader.loadTestsFromTestCase(Case).run(result)
    finally:
        asyncio.set_event_loop_policy(old)
    assert result.wasSuccessful(), result.errors + result.failures
    assert result.testsRun == 1


def test_a_thread_job_waiting_on_a_coroutine_it_submitted_lets_the_clock_move():
    async def add(a, b):
        await asyncio.sleep(0.05)
        return a + b

    async def main():
        loop = asyncio.get_running_loop()

        def job():
            return asyncio.run_coroutine_threadsafe(add(1, 2), loop).result(timeout=30)

        return await loop.run_in_executor(None, job), loop.time()

    assert asyncsim.run(main()) == (3, 0.05)
