"""time.* follows the virtual clock inside a simulation, and only there."""

import asyncio
import threading
import time

import pytest

import asyncsim

REAL = {name: getattr(time, name) for name in ("monotonic", "perf_counter", "time", "sleep")}


def assert_time_restored():
    for name, func in REAL.items():
        assert getattr(time, name) is func, name


def test_time_functions_read_the_virtual_clock_inside_a_simulation():
    async def main():
        await asyncio.sleep(1.5)
        return (
            time.monotonic(),
            time.perf_counter(),
            time.monotonic_ns(),
            time.perf_counter_ns(),
            time.time(),
            time.time_ns(),
        )

    mono, perf, mono_ns, perf_ns, wall, wall_ns = asyncsim.run(main())
    assert (mono, perf, mono_ns, perf_ns) == (1.5, 1.5, 1_500_000_000, 1_500_000_000)
    assert wall == asyncsim.DEFAULT_EPOCH + 1.5
    assert wall_ns == 1_704_067_201_500_000_000
    assert_time_restored()


def test_epoch_sets_what_time_time_reads_at_virtual_zero():
    async def main():
        return time.time()

    assert asyncsim.run(main(), epoch=1_000_000.0) == 1_000_000.0


def test_a_blocking_time_sleep_advances_the_clock_and_blocks_the_loop():
    order = []

    async def other():
        order.append(("other", asyncio.get_running_loop().time()))

    async def main():
        loop = asyncio.get_running_loop()
        asyncio.create_task(other())  # noqa: RUF006
        time.sleep(2)  # the classic mistake: nothing else runs meanwhile
        order.append(("main", loop.time()))
        await asyncio.sleep(0)

    wall = REAL["perf_counter"]()
    asyncsim.run(main())
    assert REAL["perf_counter"]() - wall < 1
    assert order == [("main", 2.0), ("other", 2.0)]


def test_negative_time_sleep_raises_like_the_real_one():
    async def main():
        time.sleep(-1)

    with pytest.raises(ValueError, match="sleep length must be non-negative"):
        asyncsim.run(main())


def test_patching_is_undone_after_an_error():
    async def main():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        asyncsim.run(main())
    assert_time_restored()


def test_patching_is_undone_after_keyboard_interrupt():
    async def main():
        await asyncio.sleep(1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        asyncsim.run(main())
    assert_time_restored()


def test_patch_time_false_leaves_the_time_module_alone():
    async def main():
        return time.perf_counter is REAL["perf_counter"]

    assert asyncsim.run(main(), patch_time=False) is True


def test_other_threads_keep_the_real_clock():
    async def main():
        await asyncio.sleep(1000)
        return await asyncio.to_thread(time.monotonic)

    assert asyncsim.run(main()) == pytest.approx(REAL["monotonic"](), abs=60)


def test_nested_scopes_restore_in_order():
    outer, inner = asyncsim.Clock(5_000_000_000), asyncsim.Clock(9_000_000_000)
    with asyncsim.patched_time(outer):
        with asyncsim.patched_time(inner):
            assert time.monotonic() == 9.0
        assert time.monotonic() == 5.0
    assert_time_restored()


def test_scopes_belong_to_the_thread_that_opened_them():
    seen = []
    with asyncsim.patched_time(asyncsim.Clock(3_000_000_000)):
        worker = threading.Thread(target=lambda: seen.append(time.monotonic()))
        worker.start()
        worker.join()
        assert time.monotonic() == 3.0
    assert seen and seen[0] != 3.0


def test_functions_bound_while_patched_read_the_real_clock_elsewhere_and_afterwards():
    seen = {}

    async def main():
        from time import monotonic  # bound while patched, as a module imported now would

        seen["bound"] = monotonic
        await asyncio.sleep(1000)
        seen["inside"] = monotonic()
        seen["thread"] = await asyncio.to_thread(monotonic)

    asyncsim.run(main())
    real = REAL["monotonic"]()
    assert seen["inside"] == 1000.0
    assert seen["thread"] == pytest.approx(real, abs=60)
    assert seen["bound"]() == pytest.approx(real, abs=60)  # after the simulation ended


def test_a_scope_following_real_time_between_loops_never_freezes_a_waiter():
    clock = asyncsim.Clock()
    with asyncsim.patched_time(clock, real_between_loops=True):
        start = time.monotonic()
        deadline = start + 0.05
        while time.monotonic() < deadline:  # a deadline loop in sync code ends
            threading.Event().wait(0.01)
        time.sleep(0.05)  # really sleeps, and the clock follows
        waited = time.monotonic() - start
    assert 0.1 <= waited < 5
    assert clock.now >= 100_000_000


def test_a_scope_following_real_time_is_virtual_while_a_loop_runs():
    from asyncsim.scope import timepatch

    clock = asyncsim.Clock()
    with asyncsim.patched_time(clock, real_between_loops=True):
        loop = asyncsim.new_event_loop(clock=clock)

        async def main():
            before = time.monotonic()
            time.sleep(30)  # blocks the loop: virtual, as in any simulation
            await asyncio.sleep(60)
            return time.monotonic() - before

        try:
            timepatch.loop_started()
            assert loop.run_until_complete(main()) == 90.0
            timepatch.loop_stopped()
        finally:
            loop.close()
    assert_time_restored()
