"""Schedules: late timers (never early), late executor results, replay strings, chaos, PCT."""

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import asyncsim
from asyncsim import Schedule
from asyncsim.testing.strategies import schedules


async def sleeper_log(delays):
    loop = asyncio.get_running_loop()
    log = []

    async def sleeper(name, delay):
        await asyncio.sleep(delay)
        log.append((name, loop.time()))

    await asyncio.gather(*(sleeper(i, d) for i, d in enumerate(delays)))
    return log


def test_the_empty_schedule_is_the_punctual_run():
    assert Schedule().punctual
    assert asyncsim.run(sleeper_log([1, 2])) == asyncsim.run(
        sleeper_log([1, 2]), schedule=Schedule()
    )


def test_timer_lateness_is_consumed_in_the_order_timers_are_scheduled():
    log = asyncsim.run(sleeper_log([1, 2, 3]), schedule=Schedule(timer_lateness=(2_500_000_000, 0)))
    assert log == [(1, 2.0), (2, 3.0), (0, 3.5)]


def test_a_late_timer_keeps_its_deadline_but_fires_after_it():
    async def main():
        loop = asyncio.get_running_loop()
        fired = []
        handle = loop.call_later(1, lambda: fired.append(loop.time()))
        await asyncio.sleep(5)
        return handle.when(), fired

    assert asyncsim.run(main(), schedule=Schedule(timer_lateness=(1_000_000_001,))) == (
        1.0,
        [2.000000001],
    )


def test_late_executor_results_change_the_completion_order_of_jobs():
    async def main():
        loop = asyncio.get_running_loop()
        order = []

        async def job(name):
            await asyncio.to_thread(lambda: name)
            order.append((name, loop.time()))

        await asyncio.gather(job("a"), job("b"))
        return order

    assert asyncsim.run(main(), schedule=Schedule(job_delay=(500_000_000,))) == [
        ("b", 0.0),
        ("a", 0.5),
    ]


def test_an_executor_exception_still_arrives_when_delivered_late():
    async def main():
        def boom():
            raise KeyError("k")

        with pytest.raises(KeyError):
            await asyncio.to_thread(boom)
        return asyncio.get_running_loop().time()

    assert asyncsim.run(main(), schedule=Schedule(job_delay=(2_000_000_000,))) == 2.0


def test_latency_samples_pass_through_the_schedule_inside_a_simulation_only():
    async def main():
        return [
            asyncsim.perturb_latency(0.1),
            asyncsim.perturb_latency(0.1),
            asyncsim.perturb_latency(0.1),
        ]

    assert asyncsim.perturb_latency(0.1) == 0.1
    assert asyncsim.run(main(), schedule=Schedule(latency=(50_000_000, 0))) == [0.15, 0.1, 0.1]


def test_a_replay_string_round_trips():
    s = Schedule(timer_lateness=(1, 0), latency=(5,), job_delay=(7,))
    assert s.to_string() == "S1;t=1,0;l=5;j=7"
    assert Schedule.from_string(s.to_string()) == s
    assert repr(s) == "Schedule.from_string('S1;t=1,0;l=5;j=7')"


def test_every_field_round_trips_through_its_replay_string():
    s = Schedule(
        timer_lateness=(0, 0, 0, 5),
        wakeup_lateness=(3,),
        orders=(0, 2),
        faults=((4, "partition", 2_000_000_000), (9, "reset", 0)),
        by_site=(("t", "bank.py:15", 1, 100_000_000), ("f", "a>b", 2, 0, "reset")),
    )
    text = s.to_string()
    assert text == (
        "S1;t=3:5,bank.py:15#1+0.1s;w=3;o=0,2;f=4:partition:2000000000,9:reset,a>b#2:reset"
    )
    assert Schedule.from_string(text) == s


def test_a_run_of_punctual_events_is_written_as_an_index():
    assert Schedule(timer_lateness=(0,) * 40 + (7,)).to_string() == "S1;t=40:7"
    assert Schedule.from_string("S1;t=0,7").timer_lateness == (0, 7)
    assert Schedule.from_string("S1;t=1:7").timer_lateness == (0, 7)
    assert Schedule.from_string("S1;t=1,2:3,5:4").timer_lateness == (1, 0, 3, 0, 0, 4)


def test_named_amounts_are_exact_seconds_or_nanoseconds():
    text = "S1;t=a.py:3#0+0.1s,a.py:3#1+250ms,b.py:9#0+40us,c.py:1#2+7"
    entries = Schedule.from_string(text).by_site
    assert [e.amount for e in entries] == [100_000_000, 250_000_000, 40_000, 7]
    assert [e.occurrence for e in entries] == [0, 1, 0, 2]


def test_reordering_schedules_are_labelled_beyond_asyncio():
    s = Schedule(timer_lateness=(1,), chaos=(1, 2))
    assert s.to_string() == "X1;t=1;c=1,2"
    assert not s.legal and Schedule().legal
    assert Schedule.from_string("X1;t=1;c=1,2") == s
    assert Schedule.from_string("X1;p=3,2,10").pct == (3, 2, 10)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bogus",
        "S2;t=1",
        "S1;t=x",
        "S1;t=-1",
        "S1;q=1",
        "S1;t=1;t=2",
        "X1;c=1;p=1,2",
        "S1;t=3:1,2:1",
        "S1;f=1:meteor",
        "S1;f=1",
        "S1;t=a.py:3#0",
        "S1;t=a.py:3#0+0.5h",
        "S1;t=a.py:3#0+1.5ns",
        "S1;w=a.py:3#0+1s",
        "X1;t=1",
        "S1;t=0," + "9" * 400,
    ],
)
def test_an_invalid_replay_string_is_refused_naming_it(text):
    with pytest.raises(ValueError, match="invalid replay string"):
        Schedule.from_string(text)


def test_an_s1_string_cannot_hide_a_reordering():
    with pytest.raises(ValueError, match=r"beyond asyncio's guarantees: .* starts with 'X1'"):
        Schedule.from_string("S1;c=1,2")


def test_negative_lateness_is_refused_in_a_schedule_and_in_the_strategy():
    with pytest.raises(
        ValueError, match=r"^timer_lateness\[0\] must be an integer from 0 to 4611686018427387904"
    ):
        Schedule(timer_lateness=(-1,))
    with pytest.raises(ValueError, match=r"max_timer_lateness .* never early\), got -0.5"):
        schedules(max_timer_lateness=-0.5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_timer_lateness": float("nan")}, ValueError, "max_timer_lateness"),
        ({"max_latency": "1"}, TypeError, "max_latency"),
        ({"latency": 1}, TypeError, "latency must be True or False"),
        ({"threads": None}, TypeError, "threads must be True or False"),
        ({"chaos": "yes"}, TypeError, "chaos must be True or False"),
        ({"pct_depth": 0}, ValueError, "pct_depth must be an integer >= 1"),
        ({"chaos": True, "pct_depth": 2}, ValueError, "choose one"),
    ],
)
def test_bad_strategy_arguments_get_errors_naming_them(kwargs, error, match):
    with pytest.raises(error, match=match):
        schedules(**kwargs)


def test_a_simulation_refuses_a_schedule_of_the_wrong_type():
    async def main():
        pass

    with pytest.raises(TypeError, match=r"schedule must be an asyncsim\.Schedule"):
        asyncsim.run(main(), schedule="S1")


@settings(max_examples=50, deadline=None)
@given(schedules(pauses=False))
def test_drawn_schedules_make_timers_late_never_early(schedule):
    log = asyncsim.run(sleeper_log([1, 2, 3]), schedule=schedule)
    for name, fired in log:
        expected = [1, 2, 3][name] + (
            schedule.timer_lateness[name] / 1e9 if name < len(schedule.timer_lateness) else 0
        )
        assert fired == pytest.approx(expected, abs=1e-9)
        assert fired >= [1, 2, 3][name]
    assert Schedule.from_string(schedule.to_string()).to_string() == schedule.to_string()


@settings(max_examples=30, deadline=None)
@given(schedules(max_timer_lateness=0, latency=False, threads=False))
def test_zero_bounds_draw_only_the_punctual_schedule(schedule):
    asyncsim.run(sleeper_log([1, 2, 3]), schedule=schedule)
    assert schedule.explored and schedule.punctual and schedule.to_string() == "S1"


async def two_tasks_log():
    log = []

    async def worker(name):
        for i in range(3):
            log.append((name, i))
            await asyncio.sleep(0)

    await asyncio.gather(worker("a"), worker("b"))
    return log


def test_asyncio_runs_ready_callbacks_fifo_without_chaos():
    assert asyncsim.run(two_tasks_log()) == [
        ("a", 0),
        ("b", 0),
        ("a", 1),
        ("b", 1),
        ("a", 2),
        ("b", 2),
    ]


def test_all_zero_chaos_choices_give_the_fifo_order():
    assert asyncsim.run(two_tasks_log(), schedule=Schedule(chaos=())) == asyncsim.run(
        two_tasks_log()
    )


def test_chaos_reorders_different_tasks_but_keeps_each_tasks_own_order():
    log = asyncsim.run(two_tasks_log(), schedule=Schedule(chaos=(1, 1, 1, 1)))
    assert log != asyncsim.run(two_tasks_log())
    assert [i for n, i in log if n == "a"] == [0, 1, 2]
    assert [i for n, i in log if n == "b"] == [0, 1, 2]


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([{"chaos": True}, {"pct_depth": 2}, {"pct_depth": 3}]).flatmap(
        lambda kw: schedules(**kw)
    )
)
def test_reordering_schedules_are_deterministic_and_keep_per_task_order(schedule):
    first = asyncsim.run(two_tasks_log(), schedule=schedule)
    assert asyncsim.run(two_tasks_log(), schedule=schedule) == first
    assert sorted(first) == sorted(asyncsim.run(two_tasks_log()))
    for name in "ab":
        assert [i for n, i in first if n == name] == [0, 1, 2]


def test_pct_priorities_can_run_one_task_to_completion_first():
    orders = {
        tuple(asyncsim.run(two_tasks_log(), schedule=Schedule(pct=(seed, 1)))) for seed in range(8)
    }
    assert tuple(("a", i) for i in range(3)) + tuple(("b", i) for i in range(3)) in orders
    assert tuple(("b", i) for i in range(3)) + tuple(("a", i) for i in range(3)) in orders
