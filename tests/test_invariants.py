"""The simulator's own invariants, as property tests over generated asyncio programs."""

import asyncio
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asyncsim
from asyncsim.clock import to_ticks
from asyncsim.core.instrument import Instrument
from asyncsim.testing.strategies import schedules

from .programs import leaves, model, programs, run

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Watch(Instrument):
    """Checks, step by step, that the clock never goes back and no timer fires early."""

    def __init__(self):
        self.loop = None
        self.last = 0
        self.timers = 0

    def attached(self, loop):
        self.loop = loop

    def before_step(self, handle):
        now = self.loop.clock.now
        assert now >= self.last, f"clock went back from {self.last} to {now}"
        self.last = now
        if isinstance(handle, asyncio.TimerHandle):
            self.timers += 1
            assert to_ticks(handle.when()) <= now, f"{handle!r} fired early at {now}"


async def watched(program, log, watch):
    asyncio.get_running_loop().add_instrument(watch)
    await run(program, log, unit=0.0, epsilon=True)
    return asyncio.get_running_loop().clock.now


@FAST
@given(programs())
def test_elapsed_and_every_sleep_end_match_the_analytical_model(program):
    log, watch = [], Watch()
    end = asyncsim.run(watched(program, log, watch))
    expected_end, expected_events = model(program)
    assert end == expected_end
    assert [(i, to_ticks(t)) for i, t in log] == [(i, t) for t, i in sorted(expected_events)]
    assert watch.timers >= len(expected_events)


@settings(max_examples=100, deadline=None)
@given(programs(), schedules(max_timer_lateness=0.5))
def test_under_any_legal_schedule_time_is_monotonic_and_no_timer_is_early(program, schedule):
    log, watch = [], Watch()
    asyncsim.run(watched(program, log, watch), schedule=schedule)
    assert watch.timers >= 1


def timeout_free(node):
    return node.kind not in ("wait_for", "wait_first") and all(map(timeout_free, node.children))


@settings(max_examples=100, deadline=None)
@given(programs().filter(timeout_free), schedules(max_timer_lateness=0.5))
def test_late_timers_never_change_what_a_timeout_free_program_does(program, schedule):
    # Without timeouts the model allows exactly one outcome: every sleep ends, once.
    # Late timers can only make the program take longer, never shorter.
    log = []
    end = asyncsim.run(watched(program, log, Watch()), schedule=schedule)
    assert sorted(i for i, _ in log) == sorted(leaves(program))
    assert end >= model(program)[0]


def any_subset(node):
    # A timeout may cut a child anywhere: every subset of its sleeps is an upper bound.
    items = leaves(node)
    return {
        frozenset(x for k, x in enumerate(items) if mask >> k & 1)
        for mask in range(1 << len(items))
    }


def possible_outcomes(node):
    """The sets of sleeps that may end under some legal schedule (late timers)."""
    kind = node.kind
    if kind == "sleep":
        return {frozenset([node.ident])}
    if kind == "wait_for":  # the child ends, or the timeout cuts it
        return possible_outcomes(node.children[0]) | any_subset(node.children[0])
    if kind == "wait_first":  # one child ends, the others are cut
        out = set()
        for i, child in enumerate(node.children):
            others = {frozenset()}
            for j, other in enumerate(node.children):
                if j != i:
                    others = {a | b for a in others for b in any_subset(other)}
            out |= {a | b for a in possible_outcomes(child) for b in others}
        return out
    out = {frozenset()}
    for child in node.children:
        out = {a | b for a in out for b in possible_outcomes(child)}
    return out


@settings(max_examples=100, deadline=None)
@given(programs(max_leaves=6), schedules(max_timer_lateness=1.0))
def test_under_every_legal_schedule_the_outcome_is_one_the_model_allows(program, schedule):
    log = []
    asyncsim.run(watched(program, log, Watch()), schedule=schedule)
    ended = frozenset(i for i, _ in log)
    assert len(ended) == len(log)  # no sleep ends twice
    assert ended <= frozenset(leaves(program))
    assert ended in possible_outcomes(program)


@st.composite
def callback_trees(draw, depth=3):
    return draw(st.lists(callback_trees(depth - 1), max_size=3)) if depth else []


@settings(max_examples=150, deadline=None)
@given(callback_trees())
def test_call_soon_callbacks_run_in_fifo_order(tree):
    order, expected = [], []
    counter = iter(range(10**6))

    def label(children):
        return [(next(counter), label(c)) for c in children]

    labelled = label(tree)
    queue = list(labelled)
    while queue:
        ident, children = queue.pop(0)
        expected.append(ident)
        queue.extend(children)

    async def main():
        loop = asyncio.get_running_loop()

        def callback(ident, children):
            order.append(ident)
            for child in children:
                loop.call_soon(callback, *child)

        for item in labelled:
            loop.call_soon(callback, *item)
        for _ in range(10):
            await asyncio.sleep(0)

    asyncsim.run(main())
    assert order == expected


class StepLog(Instrument):
    def __init__(self):
        self.loop = None
        self.events = []

    def attached(self, loop):
        self.loop = loop

    def before_step(self, handle):
        callback = getattr(handle, "_callback", None)
        name = getattr(callback, "__qualname__", type(callback).__name__)
        self.events.append((self.loop.clock.now, name))

    def clock_advanced(self, old, new):
        self.events.append((new, "clock"))


async def random_program(steps):
    loop = asyncio.get_running_loop()
    log = StepLog()
    loop.add_instrument(log)

    async def worker(i):
        for _ in range(3):
            await asyncio.sleep(random.random())
        return i

    await asyncio.gather(*(worker(i) for i in range(steps)))
    return log.events


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 6), schedules())
def test_the_same_seed_and_schedule_give_an_identical_event_log(seed, tasks, schedule):
    first = asyncsim.run(random_program(tasks), seed=seed, schedule=schedule)
    again = asyncsim.run(random_program(tasks), seed=seed, schedule=schedule)
    assert first == again
    assert len(first) > 3 * tasks


def test_different_seeds_give_different_event_logs():
    assert asyncsim.run(random_program(3), seed=1) != asyncsim.run(random_program(3), seed=2)


@pytest.mark.parametrize("kind", ["wait_for", "wait_first", "queue", "event", "lock"])
def test_the_generator_covers_every_kind_of_node(kind):
    found = []

    @settings(max_examples=200, deadline=None, database=None)
    @given(programs())
    def look(program):
        def kinds(n):
            yield n.kind
            for c in n.children:
                yield from kinds(c)

        if kind in set(kinds(program)):
            found.append(program)

    look()
    assert found


def test_the_model_knows_a_timeout_cuts_a_slow_child():
    from .programs import Node, number

    program = number(
        Node("wait_for", 2, children=[Node("seq", children=[Node("sleep", 1), Node("sleep", 3)])])
    )
    end, events = model(program, epsilon=False)
    assert end == 2 * 100_000_000
    assert [i for _, i in events] == [1]


@settings(max_examples=30, deadline=None)
@given(programs(max_leaves=6), st.integers(0, 2**16), schedules(max_timer_lateness=0.5))
def test_the_same_seed_and_schedule_give_a_byte_identical_trace(program, seed, schedule):
    def traced():
        return asyncsim.simulate(
            run(program, [], unit=0.0, epsilon=True), seed=seed, schedule=schedule, trace=True
        )

    first, again = traced(), traced()
    assert first.trace.to_json() == again.trace.to_json()
    assert len(first.trace.tasks) >= 1
