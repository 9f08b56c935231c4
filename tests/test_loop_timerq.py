"""The two-level timer queue (near heap + far buckets, asyncsim.core.timers) fires timers in exact
``(when, seq)`` order however many are pending, and keeps cancellation, ``until`` and
Deadlock detection working across both levels."""

import asyncio
import random

import pytest

import asyncsim
from asyncsim.clock import deadline_ticks
from asyncsim.core import timers as _timerq
from asyncsim.core.timers import TimerQueue

# Every loop-level test here runs on both cores; the pure-Python queue's own levels are
# read only by the tests that ask for the python_core fixture.
pytestmark = pytest.mark.usefixtures("each_core")


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
    assert len(loop.timers) == 0


def test_timers_cancelled_in_both_levels_never_fire_and_the_rest_keep_their_order():
    rng = random.Random(8)
    plan = [(rng.randrange(1, 10**9), i) for i in range(2 * _timerq.SPLIT_AT)]
    cancel = [i for i in range(len(plan)) if i % 3]  # most of them: compaction runs
    log, loop = logged(plan, cancel)
    assert [name for _, name in log] == expected(plan, cancel)
    assert loop.timers.cancelled == 0 and len(loop.timers) == 0


@pytest.mark.usefixtures("python_core")
def test_the_queue_splits_into_near_and_far_levels_and_refills_as_time_passes():
    async def main():
        loop = asyncio.get_running_loop()
        fired = []
        for i in range(_timerq.SPLIT_AT + 1):
            loop.call_later(1 + i / 1000, fired.append, i)
        split = loop.timers.near, loop.timers.far
        await asyncio.sleep(6)
        return split, fired, loop.timers.horizon

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
    assert ends == [sum(deadline_ticks(d) for d in ds) / 1e9 for ds in delays]


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


class Timer:
    """Stands in for a TimerHandle: the queue reads ``_cancelled`` and clears ``_scheduled``."""

    def __init__(self, name):
        self.name = name
        self._cancelled = False
        self._scheduled = True


def drain(queue, now):
    out = []
    queue.pop_due(now, out)
    return [t.name for t in out]


def test_the_queue_pops_what_is_due_in_deadline_order_with_ties_first_pushed_first():
    queue = TimerQueue()
    for ticks, name in [(30, "c"), (10, "a"), (20, "b1"), (20, "b2"), (40, "d")]:
        queue.push(ticks, Timer(name))
    assert len(queue) == 5 and queue.first() == 10
    assert drain(queue, 20) == ["a", "b1", "b2"]
    assert queue.first() == 30 and len(queue) == 2
    assert drain(queue, 29) == []
    assert drain(queue, 10**6) == ["c", "d"] and queue.first() is None


def test_cancelled_timers_are_dropped_when_they_surface_or_by_compaction():
    queue = TimerQueue()
    timers = [Timer(i) for i in range(300)]
    for i, timer in enumerate(timers):
        queue.push(i, timer)
    for timer in timers[:200]:
        timer._cancelled = True
        queue.note_cancelled()
    assert queue.cancelled == 200 and len(queue) == 300
    queue.compact()
    assert queue.cancelled == 0 and len(queue) == 100
    assert not any(t._scheduled for t in timers[:200])
    timers[250]._cancelled = True
    queue.note_cancelled()
    assert queue.first() == 200 and drain(queue, 260) == [*range(200, 250), *range(251, 261)]
    assert queue.cancelled == 0 and not timers[250]._scheduled


def test_a_large_queue_splits_into_near_and_far_levels_and_keeps_exact_order():
    rng = random.Random(11)
    queue = TimerQueue()
    plan = [(rng.randrange(0, 10**9), i) for i in range(3 * _timerq.SPLIT_AT)]
    for ticks, name in plan:
        queue.push(ticks, Timer(name))
    assert queue.far > 0 and queue.near + queue.far == len(plan)
    assert queue.horizon != _timerq.UNBOUNDED
    order = []
    while (first := queue.first()) is not None:
        order += drain(queue, first)
    assert order == [name for _, name in sorted(plan)]
    queue.clear()
    assert len(queue) == 0 and queue.horizon == _timerq.UNBOUNDED
