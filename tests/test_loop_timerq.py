"""The two-level timer queue (near heap + far buckets, asyncsim.core.timers) fires timers in exact
``(when, seq)`` order however many are pending, and keeps cancellation, ``until`` and
Deadlock detection working across both levels."""

import asyncio
import random

import pytest

import asyncsim
from asyncsim.core import timers as _timerq


def expected(plan, cancel=()):
    live = [(t, i, name) for i, (t, name) in enumerate(plan) if name not in set(cancel)]
    return [name for _, _, name in sorted(live)]


def logged(plan, cancel=()):
    """Fire the plan, recording each name at the virtual instant it fired."""

    async def main():
        loop = asyncio.get_running_loop()
        log = []
        handles = {
            name: loop.call_later(ticks / 1e9, lambda n=name: log.append((loop.time(), n)))
            for ticks, name in plan
        }
        for name in cancel:
            handles[name].cancel()
        await asyncio.sleep(max(t for t, _ in plan) / 1e9 + 1)
        return log, loop

    return asyncsim.run(main())


def test_thousands_of_timers_fire_in_deadline_order_with_ties_first_scheduled_first():
    rng = random.Random(7)
    # Far more than SPLIT_AT, with many equal deadlines (ticks drawn from a small range).
    plan = [(rng.randrange(0, 3_000_000), i) for i in range(3 * _timerq.SPLIT_AT)]
    log, loop = logged(plan)
    assert [name for _, name in log] == expected(plan)
    assert [when for when, _ in log] == sorted(t / 1e9 for t, _ in plan)
    assert loop._far_count == 0 and not loop._timers


def test_timers_cancelled_in_both_levels_never_fire_and_the_rest_keep_their_order():
    rng = random.Random(8)
    plan = [(rng.randrange(1, 10**9), i) for i in range(2 * _timerq.SPLIT_AT)]
    cancel = [i for i in range(len(plan)) if i % 3]  # most of them: compaction runs
    log, loop = logged(plan, cancel)
    assert [name for _, name in log] == expected(plan, cancel)
    assert loop._cancelled_timers == 0 and loop._far_count == 0 and not loop._timers


def test_the_queue_splits_into_near_and_far_levels_and_refills_as_time_passes():
    async def main():
        loop = asyncio.get_running_loop()
        fired = []
        for i in range(_timerq.SPLIT_AT + 1):
            loop.call_later(1 + i / 1000, fired.append, i)
        split = len(loop._timers), loop._far_count
        await asyncio.sleep(6)
        return split, fired, loop._horizon

    (near, far), fired, horizon = asyncsim.run(main())
    assert near + far == _timerq.SPLIT_AT + 1 and 0 < near < far
    assert fired == list(range(_timerq.SPLIT_AT + 1))
    assert horizon != _timerq.UNBOUNDED


def test_short_timers_scheduled_after_a_split_still_fire_before_far_ones():
    async def main():
        loop = asyncio.get_running_loop()
        fired = []
        for i in range(_timerq.SPLIT_AT + 1):
            loop.call_later(5 + i / 1000, fired.append, ("far", i))
        for i in range(3 * _timerq.SPLIT_AT):  # forces further splits of the near heap
            loop.call_later((i % 50) / 100, fired.append, ("near", i % 50, i))
        await asyncio.sleep(20)
        return fired

    fired = asyncsim.run(main())
    near = [f for f in fired if f[0] == "near"]
    assert fired[: len(near)] == near and len(near) == 3 * _timerq.SPLIT_AT
    assert near == sorted(near, key=lambda f: (f[1], f[2]))
    assert [f[1] for f in fired[len(near) :]] == list(range(_timerq.SPLIT_AT + 1))


def test_many_sleeping_tasks_each_finish_at_the_exact_sum_of_their_delays():
    rng = random.Random(9)
    delays = [[rng.random() for _ in range(3)] for _ in range(_timerq.SPLIT_AT + 500)]

    async def worker(ds):
        for d in ds:
            await asyncio.sleep(d)
        return asyncio.get_running_loop().time()

    async def main():
        return await asyncio.gather(*(worker(ds) for ds in delays))

    ends = asyncsim.run(main())
    assert ends == [sum(round(d * 1e9) for d in ds) / 1e9 for ds in delays]


def test_until_stops_at_its_exact_time_with_thousands_of_far_timers_pending():
    async def main():
        loop = asyncio.get_running_loop()
        for i in range(2 * _timerq.SPLIT_AT):
            loop.call_later(1 + i, lambda: None)
        await asyncio.sleep(10**6)

    with pytest.raises(asyncsim.SimulationTimeout) as info:
        asyncsim.run(main(), until=100.0)
    assert info.value.time == 100.0


def test_only_timers_at_infinity_left_after_a_split_is_a_deadlock():
    async def main():
        loop = asyncio.get_running_loop()
        for i in range(_timerq.SPLIT_AT + 1):
            loop.call_later(i / 1000, lambda: None)
        loop.call_later(float("inf"), lambda: None)
        await loop.create_future()

    with pytest.raises(asyncsim.Deadlock) as info:
        asyncsim.run(main())
    assert info.value.time == _timerq.SPLIT_AT / 1000
