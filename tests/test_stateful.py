"""Stepping the loop from outside, and the hypothesis state-machine helper built on it."""

import asyncio

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

import asyncsim
from asyncsim.testing.stateful import SimulationMachine


@pytest.fixture
def loop():
    loop = asyncsim.new_event_loop()
    yield loop
    loop.close()


def start_sleepers(loop, delays, log):
    async def sleeper(name, delay):
        await asyncio.sleep(delay)
        log.append((name, loop.time()))

    return [loop.create_task(sleeper(n, d)) for n, d in delays]


def test_run_until_idle_runs_ready_work_without_moving_the_clock(loop):
    log = []
    start_sleepers(loop, [("a", 0), ("b", 1)], log)
    loop.run_until_idle()
    assert (loop.time(), log) == (0.0, [("a", 0.0)])


def test_advance_runs_everything_due_and_stops_exactly_at_the_target(loop):
    log = []
    start_sleepers(loop, [("a", 1), ("b", 2.5), ("c", 1.5)], log)
    loop.advance(1.5)
    assert (loop.time(), log) == (1.5, [("a", 1.0), ("c", 1.5)])
    loop.advance(0.25)
    assert loop.time() == 1.75


def test_run_until_next_timer_jumps_to_each_timer_then_reports_none(loop):
    log = []
    start_sleepers(loop, [("a", 1), ("b", 2.5)], log)
    assert loop.run_until_next_timer() == 1.0
    assert loop.run_until_next_timer() == 2.5
    assert loop.run_until_next_timer() is None
    assert (loop.time(), log) == (2.5, [("a", 1.0), ("b", 2.5)])


def test_stepping_waits_for_executor_jobs_which_take_no_virtual_time(loop):
    task = loop.create_task(asyncio.to_thread(sum, [1, 2, 3]))
    loop.run_until_idle()
    assert (task.result(), loop.time()) == (6, 0.0)


def test_advance_refuses_a_negative_step(loop):
    with pytest.raises(ValueError, match=r"seconds must be .* got -1"):
        loop.advance(-1)


def test_stepping_a_running_loop_is_refused(loop):
    async def main():
        asyncio.get_running_loop().run_until_idle()

    with pytest.raises(RuntimeError, match=r"run_until_idle\(\) cannot be called while"):
        loop.run_until_complete(main())


class RateLimitedCounter:
    """System under test: at most one increment is in flight; each takes 1 s."""

    def __init__(self):
        self.value = 0
        self.lock = asyncio.Lock()

    async def increment(self):
        async with self.lock:
            current = self.value
            await asyncio.sleep(1)
            self.value = current + 1


class CounterMachine(SimulationMachine):
    max_dt = 3.0

    def __init__(self):
        super().__init__()
        self.counter = RateLimitedCounter()
        self.requested = 0
        self.last_time = 0.0

    @rule()
    def request_increment(self):
        self.requested += 1
        self.spawn(self.counter.increment())

    @precondition(lambda self: self.requested)
    @rule()
    def drain(self):
        while self.run_until_next_timer() is not None:
            pass
        assert self.counter.value == self.requested

    @invariant()
    def value_never_exceeds_requests_or_elapsed_seconds(self):
        assert self.counter.value <= self.requested
        assert self.counter.value <= self.now

    @invariant()
    def clock_never_goes_back(self):
        assert self.now >= self.last_time
        self.last_time = self.now


CounterMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=15, deadline=None)
TestCounterMachine = CounterMachine.TestCase


def test_the_state_machine_finds_a_lost_update_in_an_unlocked_counter():
    class Unlocked(RateLimitedCounter):
        async def increment(self):
            current = self.value
            await asyncio.sleep(1)
            self.value = current + 1

    class Machine(CounterMachine):
        def __init__(self):
            super().__init__()
            self.counter = Unlocked()

    Machine.TestCase.settings = settings(
        max_examples=200, stateful_step_count=10, deadline=None, database=None
    )
    with pytest.raises(AssertionError):
        Machine.TestCase().runTest()


def test_the_machine_draws_time_steps_no_larger_than_max_dt():
    seen = []

    class Recorder(SimulationMachine):
        max_dt = 0.5

        @rule(x=st.just(0))
        def record(self, x):
            seen.append(self.now)

    Recorder.TestCase.settings = settings(max_examples=10, stateful_step_count=6, deadline=None)
    Recorder.TestCase().runTest()
    assert seen
    assert max(seen) <= 0.5 * 6
