"""What a schedule changes in a run: wake-ups, open orders, named events, and what it tells."""

import asyncio

import asyncsim
from asyncsim import Schedule
from asyncsim.core.schedule import ScheduleState, call_at_modeled


def line_of(marker):
    """The line of this file that ends with the comment ``marker``."""
    with open(__file__) as source:
        return next(i for i, line in enumerate(source, 1) if line.rstrip().endswith(marker))


async def two_sleepers():
    loop = asyncio.get_running_loop()
    log = []

    async def sleeper(name, delay):
        await asyncio.sleep(delay)  # (the sleeper's timer)
        log.append((name, loop.time()))

    await asyncio.gather(sleeper("a", 1), sleeper("b", 2), sleeper("c", 2.5))
    return log


def test_a_late_wake_up_runs_everything_due_meanwhile_in_one_batch_in_deadline_order():
    # The loop sleeps until a's timer (1 s) but wakes 2 s late: a, b and c are all due.
    log = asyncsim.run(two_sleepers(), schedule=Schedule(wakeup_lateness=(2_000_000_000,)))
    assert log == [("a", 3.0), ("b", 3.0), ("c", 3.0)]


def test_wake_up_lateness_keeps_the_order_that_timer_lateness_can_change():
    assert asyncsim.run(two_sleepers(), schedule=Schedule(timer_lateness=(2_000_000_000,))) == [
        ("b", 2.0),
        ("c", 2.5),
        ("a", 3.0),
    ]


async def choosing(count, kinds=("as_completed",)):
    state = asyncsim.current().schedule_state
    return [state.choose(kind, count) for kind in kinds]


def test_choose_takes_program_order_unless_the_schedule_records_another_alternative():
    assert asyncsim.run(choosing(3), schedule=Schedule()) == [0]
    assert asyncsim.run(choosing(3), schedule=Schedule(orders=(2,))) == [2]
    assert asyncsim.run(choosing(3, ("a", "b")), schedule=Schedule(orders=(0, 4))) == [0, 1]


def test_a_choice_between_one_item_is_no_choice_and_takes_no_entry():
    async def main():
        state = asyncsim.current().schedule_state
        return state.choose("set", 1), state.choose("set", 2)

    assert asyncsim.run(main(), schedule=Schedule(orders=(1,))) == (0, 1)


def test_applied_lists_each_change_with_its_call_site_and_subscribers_hear_it():
    heard = []
    state = ScheduleState(Schedule(timer_lateness=(0, 500_000_000)))
    state.subscribe(heard.append)
    loop = asyncsim.new_event_loop(schedule=state)
    try:
        loop.run_until_complete(two_sleepers())
    finally:
        loop.close()
    (change,) = state.applied
    assert heard == [change]
    assert (change.kind, change.index, change.amount) == ("timer", 1, 500_000_000)
    line = line_of("# (the sleeper's timer)")
    assert change.site == f"test_schedule_state.py:{line}"
    assert change.function == "two_sleepers.<locals>.sleeper"
    assert (change.at, change.deadline) == (0, 2_000_000_000)
    assert change.describe() == (
        f"timer #1 ({change.site} in two_sleepers.<locals>.sleeper()): fired 0.5 s late"
    )


def test_a_named_entry_delays_the_nth_timer_of_its_line_wherever_it_falls():
    async def main():
        loop = asyncio.get_running_loop()
        log = []
        await asyncio.sleep(1)
        for _ in range(3):
            await asyncio.sleep(1)  # (three timers from one line)
            log.append(loop.time())
        return log

    line = line_of("# (three timers from one line)")
    schedule = Schedule.from_string(f"S1;t=test_schedule_state.py:{line}#1+0.25s")
    assert asyncsim.run(main(), schedule=schedule) == [2.0, 3.25, 4.25]


def test_a_models_own_timers_are_never_made_late():
    async def main():
        loop = asyncio.get_running_loop()
        fired = []
        call_at_modeled(loop, 1_000_000_000, lambda: fired.append(loop.time()))
        await asyncio.sleep(2)
        return fired

    # The first timer the program itself schedules is the sleep: it takes the lateness.
    schedule = Schedule(timer_lateness=(3_000_000_000,))
    outcome = asyncsim.simulate(main(), schedule=schedule)
    assert outcome.result == [1.0]
    assert outcome.elapsed == 5.0


def test_latency_samples_are_counted_per_model_and_never_shortened():
    async def main():
        state = asyncsim.current().schedule_state
        return [state.latency_ticks(10, "a"), state.latency_ticks(10, "b")]

    assert asyncsim.run(main(), schedule=Schedule(latency=(0, 5))) == [10, 15]
    named = Schedule.from_string("S1;l=b#0+5ns")
    assert asyncsim.run(main(), schedule=named) == [10, 15]


def test_the_realized_schedule_of_a_concrete_run_is_the_schedule_itself():
    schedule = Schedule(timer_lateness=(1,))
    state = schedule.start()
    assert state.realized() is schedule


def test_a_slower_service_and_a_late_wakeup_are_recorded_in_the_trace():
    from asyncsim.models.services import Server

    async def one_call():
        await asyncio.sleep(1.0)
        await Server(capacity=1, service_time=0.1, name="db").call()
        return asyncio.get_running_loop().time()

    schedule = Schedule(latency=(50_000_000,), wakeup_lateness=(250_000_000,))
    run = asyncsim.simulate(one_call(), schedule=schedule, trace=True)
    assert run.result == 1.4  # 1 s asleep + 0.25 s pause + 0.1 s service + 0.05 s slower
    delays = [(d.kind, d.start_ns, d.late_ns) for d in run.trace.delays]
    assert delays == [
        ("wakeup", 1_000_000_000, 250_000_000),
        ("latency", 1_350_000_000, 50_000_000),
    ]
