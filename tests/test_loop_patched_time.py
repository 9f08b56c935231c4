"""A test that replaces loop.time is honoured for scheduling, as stock asyncio does."""

import asyncio
from unittest import mock

import asyncsim


def test_call_later_schedules_from_a_patched_loop_time():
    async def main():
        loop = asyncio.get_running_loop()
        loop.time = lambda: 100.0
        try:
            return loop.call_later(1.5, print).when()
        finally:
            del loop.time

    assert asyncsim.run(main()) == 101.5


def test_timers_fire_once_a_mocked_loop_time_passes_them_as_in_aiolimiters_suite():
    async def main():
        loop = asyncio.get_running_loop()
        fake = {"now": 0.0}
        with mock.patch.object(loop, "time", lambda: fake["now"]):
            sleeper = asyncio.ensure_future(asyncio.sleep(2))
            for _ in range(5):
                await asyncio.sleep(0)  # ready callbacks keep the loop busy: no jump
            early = sleeper.done()
            fake["now"] = 3.0  # the test moves its own clock past the deadline
            for _ in range(3):
                await asyncio.sleep(0)
            late = sleeper.done()
        return early, late, loop.time()

    assert asyncsim.run(main()) == (False, True, 0.0)


def test_an_idle_loop_with_a_patched_time_still_jumps_to_the_next_timer():
    async def main():
        loop = asyncio.get_running_loop()
        with mock.patch.object(loop, "time", return_value=50.0):
            await asyncio.sleep(10)  # due at 60 on the patched scale
        return loop.time()

    assert asyncsim.run(main()) == 60.0


def test_after_the_patch_scheduling_follows_the_virtual_clock_again():
    async def main():
        loop = asyncio.get_running_loop()
        with mock.patch.object(loop, "time", return_value=1000.0):
            assert loop.call_later(1, print).when() == 1001.0
        await asyncio.sleep(2)
        return loop.time(), loop.call_later(1, print).when()

    assert asyncsim.run(main()) == (2.0, 3.0)


def test_the_check_is_a_lookup_in_the_instance_dict():
    loop = asyncsim.new_event_loop()
    try:
        assert not asyncsim.core.loop.time_is_patched(loop)
        loop.time = lambda: 0.0
        assert asyncsim.core.loop.time_is_patched(loop)
    finally:
        loop.close()
