"""The loop's fast path (handles built without __init__, asyncio's handles run without
their ``_run`` frame, inlined sleep wake-ups) keeps asyncio's semantics exactly."""

import asyncio
import contextvars
import gc

import pytest

import asyncsim
from asyncsim.core.instrument import Instrument


def run(coro_fn, **kwargs):
    loop = asyncsim.new_event_loop(**kwargs)
    try:
        return loop, loop.run_until_complete(coro_fn(loop))
    finally:
        loop.close()


def test_timers_due_at_the_same_instant_fire_in_the_order_they_were_scheduled():
    async def main(loop):
        log = []
        for name in "abcde":
            loop.call_later(1, log.append, name)
        await asyncio.gather(*(asyncio.sleep(1, name) for name in "fgh"))
        loop.call_at(2.0, log.append, "i")
        loop.call_later(1, log.append, "j")
        await asyncio.sleep(1.5)
        return log, loop.time()

    _, (log, now) = run(main)
    assert log == list("abcdeij") and now == 2.5


def test_call_soon_callbacks_run_first_in_first_out_with_their_own_context():
    async def main(loop):
        log = []
        for i in range(5):
            loop.call_soon(log.append, i)
        await asyncio.sleep(0)
        return log

    _, log = run(main)
    assert log == [0, 1, 2, 3, 4]


def test_a_timer_cancelled_by_an_earlier_timer_of_the_same_instant_does_not_run():
    async def main(loop):
        log = []
        loop.call_later(1, lambda: later.cancel())
        later = loop.call_later(1, log.append, "second")
        loop.call_at(1.0, log.append, "third")
        await asyncio.sleep(2)
        return log

    _, log = run(main)
    assert log == ["third"]


def test_a_timer_due_now_scheduled_by_a_firing_timer_waits_for_the_next_iteration():
    async def main(loop):
        log = []

        def fire():
            log.append("fire")
            loop.call_later(0, log.append, "timer scheduled by fire")
            loop.call_soon(log.append, "soon scheduled by fire")

        loop.call_later(1, fire)
        loop.call_later(1, log.append, "same instant")
        await asyncio.sleep(2)
        return log

    _, log = run(main)
    assert log == ["fire", "same instant", "soon scheduled by fire", "timer scheduled by fire"]


def test_a_sleep_timer_on_a_finished_future_is_reported_like_any_failing_callback():
    errors = []

    async def main(loop):
        loop.set_exception_handler(lambda _loop, context: errors.append(context))
        fut = loop.create_future()
        fut.set_result("early")
        loop.call_later(1, asyncio.futures._set_result_unless_cancelled, fut, "late")
        await asyncio.sleep(2)
        return fut.result()

    _, result = run(main)
    assert result == "early"
    assert [type(c["exception"]) for c in errors] == [asyncio.InvalidStateError]
    assert errors[0]["message"].startswith("Exception in callback _set_result_unless_cancelled")


def test_cancelled_sleeps_end_with_cancellation_at_the_exact_time():
    async def main(loop):
        sleeper = asyncio.create_task(asyncio.sleep(10))
        loop.call_later(3, sleeper.cancel)
        with pytest.raises(asyncio.CancelledError):
            await sleeper
        return loop.time(), len(loop.timers)

    _, (now, pending) = run(main)
    assert now == 3.0 and pending == 1  # the 10 s timer, cancelled, not yet popped


def test_many_cancelled_timers_are_compacted_and_the_live_ones_keep_their_order():
    async def main(loop):
        log = []
        handles = [loop.call_later(5 + i % 3, log.append, i) for i in range(600)]
        for i, h in enumerate(handles):
            if i % 4:
                h.cancel()
        await asyncio.sleep(1)
        assert loop.timers.cancelled == 0 and len(loop.timers) == 150
        await asyncio.sleep(10)
        return log

    _, log = run(main)
    assert log == sorted(range(0, 600, 4), key=lambda i: (i % 3, i))


def test_debug_mode_records_where_handles_and_timers_were_created():
    async def main(loop):
        soon = loop.call_soon(lambda: None)
        timer = loop.call_later(1, lambda: None)
        await asyncio.sleep(2)
        return soon, timer

    loop = asyncsim.new_event_loop()
    loop.set_debug(True)
    try:
        soon, timer = loop.run_until_complete(main(loop))
    finally:
        loop.close()
    assert soon._source_traceback[-1].name == "main"
    assert timer._source_traceback[-1].name == "main"
    assert loop.time() == 2.0


def test_timer_handles_look_and_cancel_like_asyncio_ones():
    async def main(loop):
        h = loop.call_later(1.5, print)
        assert isinstance(h, asyncio.TimerHandle) and h.when() == 1.5
        assert repr(h).startswith("<TimerHandle when=1.5 print()")
        h.cancel()
        h.cancel()
        assert h.cancelled() and repr(h).startswith("<TimerHandle cancelled when=1.5")
        return loop.timers.cancelled

    _, cancelled = run(main)
    assert cancelled == 1


def test_an_instrument_sees_every_step_the_fast_path_would_run():
    class Count(Instrument):
        steps = 0

        def before_step(self, handle):
            Count.steps += 1

    async def main(loop):
        await asyncio.gather(*(asyncio.sleep(i % 4) for i in range(20)))
        return loop.time()

    plain, now = run(main)
    loop = asyncsim.new_event_loop()
    loop.add_instrument(Count())
    try:
        assert loop.run_until_complete(main(loop)) == now == 3.0
    finally:
        loop.close()
    assert Count.steps == loop.steps == plain.steps


def test_max_steps_until_and_deadlock_still_stop_the_fast_path():
    async def spin(loop):
        while True:
            await asyncio.sleep(0.5)

    with pytest.raises(asyncsim.StepLimitExceeded):
        run(spin, max_steps=50)
    with pytest.raises(asyncsim.SimulationTimeout):
        run(spin, until=7.25)

    async def stuck(loop):
        await loop.create_future()

    with pytest.raises(asyncsim.Deadlock):
        run(stuck)


def test_keyboard_interrupt_in_a_timer_leaves_the_other_due_timers_queued():
    log = []

    def interrupt():
        raise KeyboardInterrupt

    loop = asyncsim.new_event_loop()
    try:
        loop.call_later(1, interrupt)
        loop.call_later(1, log.append, "after")
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(asyncio.sleep(2))
        assert log == [] and loop.time() == 1.0
        loop.run_until_complete(asyncio.sleep(0))
        assert log == ["after"]
    finally:
        loop.close()


def test_the_garbage_collector_settings_are_the_same_after_a_run():
    before = gc.get_threshold(), gc.isenabled()
    assert asyncsim.run(asyncio.sleep(1, "ok")) == "ok"
    assert (gc.get_threshold(), gc.isenabled()) == before


def test_the_gc_threshold_is_raised_only_while_the_loop_runs():
    before = gc.get_threshold()

    async def main():
        return gc.get_threshold()

    during = asyncsim.run(main())
    assert during[0] == max(before[0], 50_000) and during[1:] == before[1:]
    assert gc.get_threshold() == before


def test_the_gc_threshold_follows_the_pending_timers_and_comes_back_after_the_run():
    before = gc.get_threshold()

    async def main():
        sleepers = [asyncio.ensure_future(asyncio.sleep(1)) for _ in range(10_000)]
        await asyncio.sleep(0)  # (every sleeper now holds a timer)
        gc.collect(0)  # (a young collection: the threshold is set from the timer count)
        during = gc.get_threshold()
        await asyncio.gather(*sleepers)
        return during

    during = asyncsim.run(main())
    assert during == (8 * 10_000, *before[1:])
    assert gc.get_threshold() == before


def test_a_gc_threshold_the_program_sets_itself_is_kept():
    before = gc.get_threshold()

    async def main():
        gc.set_threshold(1234, 5, 6)

    try:
        asyncsim.run(main())
        assert gc.get_threshold() == (1234, 5, 6)
    finally:
        gc.set_threshold(*before)


def test_a_task_wakes_from_sleep_in_its_own_context_and_timers_keep_their_callers():
    var = contextvars.ContextVar("var", default="unset")

    async def main(loop):
        seen = []
        var.set("caller")
        loop.call_later(1, lambda: seen.append(("timer", var.get())))

        async def child(name):
            var.set(name)
            await asyncio.sleep(0.5)
            seen.append((name, var.get(), loop.time()))

        await asyncio.gather(child("a"), child("b"))
        await asyncio.sleep(1)
        return seen, var.get()

    _, (seen, mine) = run(main)
    assert seen == [("a", "a", 0.5), ("b", "b", 0.5), ("timer", "caller")] and mine == "caller"


def test_stop_in_a_timer_callback_ends_run_forever_before_what_it_scheduled_runs():
    loop = asyncsim.new_event_loop()
    log = []

    def fire():
        log.append("fire")
        loop.stop()
        loop.call_soon(log.append, "after stop")

    try:
        loop.call_later(1, fire)
        loop.run_forever()
        assert log == ["fire"] and loop.time() == 1.0
        loop.stop()
        loop.run_forever()  # one more iteration runs what was scheduled after stop()
        assert log == ["fire", "after stop"]
    finally:
        loop.close()


def test_stop_in_a_task_woken_by_a_timer_ends_run_forever_after_that_iteration():
    loop = asyncsim.new_event_loop()
    log = []

    async def sleeper():
        await asyncio.sleep(2)
        log.append(("woke", loop.time()))
        loop.stop()
        loop.call_soon(log.append, "after stop")
        await asyncio.sleep(0)
        log.append("resumed")

    try:
        task = loop.create_task(sleeper())
        loop.run_forever()
        assert log == [("woke", 2.0)]
        loop.run_until_complete(task)
        assert log == [("woke", 2.0), "after stop", "resumed"]
    finally:
        loop.close()


def test_the_step_limit_is_checked_after_every_iteration_of_timers_and_wake_ups():
    async def ticker():
        while True:
            await asyncio.sleep(1)

    loop = asyncsim.new_event_loop(max_steps=5)
    try:
        with pytest.raises(asyncsim.StepLimitExceeded) as info:
            loop.run_until_complete(ticker())
        # steps: the first step, then per second a timer and a wake-up, one iteration each
        assert loop.steps == 6 and info.value.time == 3.0
    finally:
        loop.close()
