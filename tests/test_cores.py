"""The compiled and the pure-Python loop cores run the same events at the same virtual times.

Differential tests run each program on both cores in one process (``use_core``) and compare
what the program saw (its own log of events and ``loop.time()`` readings), the steps, the
outcome and, for traced runs, the trace JSON byte for byte. The rest checks the seams: how
a core is chosen, the handles the compiled core builds, and the hand-back to the general
scheduler when something other than callbacks and timers must happen.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import asyncsim
from asyncsim.core import active_core, core_info, cores
from asyncsim.core.instrument import Instrument
from asyncsim.core.timers import TimerQueue as PyTimerQueue
from asyncsim.testing.strategies import schedules

from .conftest import ROOT
from .programs import programs, run

compiled = pytest.mark.skipif(cores._compiled is None, reason="the compiled core is not built")
common = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}


def on_both(make_run):
    """``make_run()`` (a function returning something comparable) on each core."""
    results = {}
    for name in ("python", "compiled"):
        with cores.use_core(name):
            results[name] = make_run()
    return results["python"], results["compiled"]


def outcome(run_):
    """What a run gave (task numbers, process-wide counters, left out of error reports)."""
    error = None
    if run_.exception is not None:
        error = re.sub(r"Task-\d+", "Task", f"{type(run_.exception).__name__}: {run_.exception}")
    return run_.result, error, run_.elapsed, run_.steps


# -- differential: the same programs on both cores ---------------------------------------------


@compiled
@settings(max_examples=40, **common)
@given(programs(max_leaves=8), st.integers(0, 2**16))
def test_generated_programs_log_the_same_events_at_the_same_times_on_both_cores(program, seed):
    def once():
        log: list = []
        result = asyncsim.simulate(run(program, log, unit=0.1, epsilon=True), seed=seed)
        return log, outcome(result)

    python, compiled_ = on_both(once)
    assert python == compiled_


@compiled
@settings(max_examples=25, **common)
@given(programs(max_leaves=6), st.integers(0, 2**16), schedules(max_timer_lateness=0.5))
def test_traced_runs_give_byte_identical_traces_on_both_cores(program, seed, schedule):
    def once():
        result = asyncsim.simulate(
            run(program, [], unit=0.1, epsilon=True), seed=seed, schedule=schedule, trace=True
        )
        return result.trace.to_json(), outcome(result)

    python, compiled_ = on_both(once)
    assert python == compiled_


async def _many_sleepers(n: int, k: int) -> list[float]:
    loop = asyncio.get_running_loop()
    rng = random.Random(5)
    finish = [0.0] * n

    async def worker(i: int) -> None:
        for _ in range(k):
            await asyncio.sleep(rng.choice([0, 0.5, 1e-9, rng.random(), 3]))
        finish[i] = loop.time()

    await asyncio.gather(*(worker(i) for i in range(n)))
    return finish


@compiled
def test_five_thousand_sleeping_tasks_finish_at_the_same_instants_on_both_cores():
    python, compiled_ = on_both(lambda: outcome(asyncsim.simulate(_many_sleepers(5_000, 4))))
    assert python == compiled_
    assert python[2] == max(python[0])


@compiled
@pytest.mark.parametrize(
    "limits",
    [{"until": 2.5}, {"max_steps": 500}, {}],
    ids=["until", "max_steps", "deadlock"],
)
def test_limits_and_deadlocks_stop_both_cores_at_the_same_point_with_the_same_report(limits):
    async def main():
        asyncio.get_running_loop().create_future()  # (never done)
        await _many_sleepers(50, 5)
        await asyncio.get_running_loop().create_future()

    python, compiled_ = on_both(lambda: outcome(asyncsim.simulate(main(), **limits)))
    assert python == compiled_
    assert python[1] is not None


@compiled
def test_an_instrument_attached_mid_run_sees_the_same_steps_on_both_cores():
    class Count(Instrument):
        def __init__(self):
            self.steps = 0
            self.jumps = []

        def before_step(self, handle):
            self.steps += 1

        def clock_advanced(self, old, new):
            self.jumps.append(new)

    async def main(probe):
        loop = asyncio.get_running_loop()
        loop.call_later(1.5, loop.add_instrument, probe)
        loop.call_later(4.5, loop.remove_instrument, probe)
        await _many_sleepers(20, 6)
        return loop.time()

    def once():
        probe = Count()
        return outcome(asyncsim.simulate(main(probe))), probe.steps, probe.jumps

    python, compiled_ = on_both(once)
    assert python == compiled_ and python[1] > 0 and python[2]


@compiled
def test_a_thread_job_started_mid_run_holds_the_clock_on_both_cores():
    async def main():
        loop = asyncio.get_running_loop()
        sleeper = asyncio.create_task(asyncio.sleep(1))
        started = loop.time()
        value = await loop.run_in_executor(None, sum, range(1000))
        await sleeper
        return started, value, loop.time()

    # (steps left out: how often the thread wakes the loop's self-pipe is real-time chance)
    python, compiled_ = on_both(lambda: outcome(asyncsim.simulate(main()))[:3])
    assert python == compiled_ == ((0.0, 499500, 1.0), None, 1.0)


@compiled
def test_callback_errors_are_reported_alike_and_the_run_goes_on():
    async def main():
        loop = asyncio.get_running_loop()
        seen = []
        loop.set_exception_handler(lambda _, ctx: seen.append((ctx["message"], loop.time())))
        loop.call_soon(lambda: 1 / 0)
        loop.call_later(1, lambda: [][1])
        fut = loop.create_future()
        fut.set_result("early")
        loop.call_later(2, asyncio.futures._set_result_unless_cancelled, fut, "late")
        await asyncio.sleep(3)
        return [(message.split(" at ")[0], t) for message, t in seen]

    python, compiled_ = on_both(lambda: outcome(asyncsim.simulate(main())))
    assert python == compiled_
    assert [t for _, t in python[0]] == [0.0, 1.0, 2.0]


@compiled
def test_keyboard_interrupt_in_a_callback_propagates_and_leaves_the_rest_queued():
    def once():
        loop = asyncsim.new_event_loop()
        log = []

        def interrupt():
            raise KeyboardInterrupt

        for cb in (lambda: log.append("a"), interrupt, lambda: log.append("b")):
            loop.call_later(1, cb)
        with pytest.raises(KeyboardInterrupt):
            loop.run_forever()
        queued = len(loop._ready)
        loop.call_soon(loop.stop)
        loop.run_forever()
        loop.close()
        return log, queued, loop.steps

    python, compiled_ = on_both(once)
    assert python == compiled_ == (["a", "b"], 1, 4)


# -- the compiled core's handles and queue --------------------------------------------------


@compiled
def test_the_compiled_core_builds_asyncio_handles_that_look_and_cancel_like_asyncio_ones():
    with cores.use_core("compiled"):
        loop = asyncsim.new_event_loop()
    assert loop.core == "compiled" and "call_later" in loop.__dict__

    async def main():
        soon = loop.call_soon(print, "x")
        timer = loop.call_later(1.5, print)
        assert type(soon) is asyncio.Handle and isinstance(timer, asyncio.TimerHandle)
        assert timer.when() == 1.5 and repr(timer).startswith("<TimerHandle when=1.5 print()")
        stock = asyncio.Handle(print, ("x",), asyncio.new_event_loop())  # (3.13: no args shown)
        stock._loop.close()
        assert repr(soon) == repr(stock)
        soon.cancel()
        timer.cancel()
        assert timer.cancelled() and repr(timer).startswith("<TimerHandle cancelled when=1.5")
        assert loop.timers.cancelled == 1
        await asyncio.sleep(2)
        return len(loop.timers), loop.timers.cancelled

    try:
        assert loop.run_until_complete(main()) == (0, 0)
    finally:
        loop.close()
    assert "call_later" not in loop.__dict__  # (a closed loop takes asyncio's checks)


@compiled
def test_debug_mode_and_instruments_take_the_python_methods_and_back():
    with cores.use_core("compiled"):
        loop = asyncsim.new_event_loop()
    try:
        assert "call_soon" in loop.__dict__
        loop.set_debug(True)
        assert "call_soon" not in loop.__dict__ and not loop._fast_ok
        loop.set_debug(False)
        probe = Instrument()
        loop.add_instrument(probe)
        assert loop.call_soon == loop._call_soon_instrumented and not loop._fast_ok
        loop.remove_instrument(probe)
        assert loop._fast_ok and "call_later" in loop.__dict__
    finally:
        loop.close()


def _futures_seen():
    """Which futures a program gets from ``loop.create_future()``, directly and via asyncio."""
    seen = []

    async def main():
        loop = asyncio.get_running_loop()
        mine = [loop.create_future() for _ in range(3)]
        seen.extend((type(f).__name__, type(f) is asyncio.Future, f._asyncsim_seq) for f in mine)
        inner = []

        async def sleeper():
            await asyncio.sleep(1)

        task = asyncio.ensure_future(sleeper())
        await asyncio.sleep(0)
        inner.append(type(task._fut_waiter) is asyncio.Future)  # sleep's: a plain Future
        await task
        lock = asyncio.Lock()
        await lock.acquire()
        waiter = asyncio.ensure_future(lock.acquire())
        await asyncio.sleep(0)
        inner.append(type(waiter._fut_waiter) is asyncio.Future)  # Lock.acquire's: plain
        lock.release()
        await waiter
        seen.append(tuple(inner))
        return len(mine)

    return asyncsim.run(main()), seen


@compiled
def test_create_future_gives_ordered_futures_to_the_program_and_plain_ones_to_asyncio_alike():
    python, compiled_ = on_both(_futures_seen)
    assert python == compiled_
    assert python[1][:3] == [("Future", False, 0), ("Future", False, 1), ("Future", False, 2)]
    assert python[1][3] == (True, True)
    with cores.use_core("compiled"):
        loop = asyncsim.new_event_loop()
    try:
        assert "create_future" in loop.__dict__  # (the compiled core's, in the plain state)
        loop.set_debug(True)
        assert "create_future" not in loop.__dict__
    finally:
        loop.close()


@compiled
@pytest.mark.parametrize("size", [10, 5_000])
def test_the_compiled_queue_pops_in_the_same_order_as_the_python_queue(size):
    def timer():
        return asyncio.TimerHandle(0, print, (), loop)

    loop = asyncsim.new_event_loop()
    rng = random.Random(size)
    queues = [PyTimerQueue(), cores._compiled.TimerQueue()]
    plan = [(rng.randrange(-5, 50) * 10 ** rng.choice([0, 9, 12]), timer()) for _ in range(size)]
    plan += [(2**70, timer()), (-(2**70), timer()), (2**63, timer())]  # beyond int64
    for i, (_, handle) in enumerate(plan):
        handle._cancelled = i % 7 == 3
    orders = []
    for queue in queues:
        for ticks, timer in plan:
            queue.push(ticks, timer)
            if timer._cancelled:
                queue.note_cancelled()
        out = []
        first = queue.first()
        queue.pop_due(10**11, out)
        queue.compact()
        left = len(queue)
        queue.pop_due(2**80, out)
        orders.append((first, [id(t) for t in out], left, len(queue), queue.cancelled))
    loop.close()
    assert orders[0] == orders[1]
    assert orders[0][0] == min(t for t, h in plan if not h._cancelled)
    with pytest.raises(TypeError, match=r"handle must be an asyncio\.TimerHandle, got 3"):
        queues[1].push(1, 3)


# -- choosing a core -----------------------------------------------------------------------


def _python(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        cwd=ROOT,
        check=True,
    )
    return done.stdout.strip()


def test_asyncsim_no_extensions_forces_the_python_core_at_import():
    code = "from asyncsim.core import active_core, core_info; print(active_core(), core_info())"
    out = _python(code, ASYNCSIM_NO_EXTENSIONS="1")
    assert out == "python python (ASYNCSIM_NO_EXTENSIONS is set)"


def test_a_missing_compiled_core_is_named_as_not_built():
    hide = (
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'asyncsim.core._ccore':\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Hide())\n"
    )
    # (ASYNCSIM_NO_EXTENSIONS cleared: the suite's pure-Python run sets it)
    out = _python(
        hide + "from asyncsim.core import core_info; print(core_info())", ASYNCSIM_NO_EXTENSIONS=""
    )
    assert out == "python (the compiled core is not built)"


def test_the_active_core_is_named_and_used_by_new_loops():
    assert active_core() in ("compiled", "python")
    assert core_info().startswith(active_core() + " (")
    loop = asyncsim.new_event_loop()
    try:
        assert loop.core == active_core()
    finally:
        loop.close()


def test_use_core_refuses_an_unknown_name_naming_the_parameter():
    with (
        pytest.raises(TypeError, match=r"name must be 'compiled' or 'python', got 'fast'"),
        cores.use_core("fast"),  # type: ignore[arg-type]
    ):
        pass


def test_use_core_refuses_the_compiled_core_when_it_is_not_available():
    code = (
        "from asyncsim.core.cores import use_core\n"
        "try:\n    use_core('compiled').__enter__()\n"
        "except RuntimeError as e:\n    print(e)\n"
    )
    out = _python(code, ASYNCSIM_NO_EXTENSIONS="1")
    assert out == "the compiled loop core is not available: ASYNCSIM_NO_EXTENSIONS is set"


# -- asyncio's running-loop lookup (3.11) ------------------------------------------------------


@compiled
def test_the_running_loop_lookup_answers_alike_in_and_out_of_the_fused_loop():
    import asyncio.events as events

    original = events.get_running_loop

    async def main():
        loop = asyncio.get_running_loop()
        assert events.get_running_loop() is loop and events._get_running_loop() is loop
        other: list = []

        def elsewhere():
            other.append(events._get_running_loop())
            try:
                events.get_running_loop()
            except RuntimeError as exc:
                other.append(str(exc))

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        await asyncio.sleep(1)
        return other

    with cores.use_core("compiled"):
        assert asyncsim.run(main()) == [None, "no running event loop"]
    assert events.get_running_loop is original
    with pytest.raises(RuntimeError, match="no running event loop"):
        events.get_running_loop()


@compiled
def test_a_program_that_replaced_the_running_loop_lookup_keeps_its_own():
    import asyncio.events as events

    original = events.get_running_loop
    calls = []

    def counting():
        calls.append(1)
        return original()

    async def main():
        await asyncio.sleep(1)
        await asyncio.sleep(1)
        return asyncio.get_running_loop().time()

    events.get_running_loop = counting
    try:
        with cores.use_core("compiled"):
            assert asyncsim.run(main()) == 2.0
    finally:
        events.get_running_loop = original
    assert len(calls) >= 2


@compiled
def test_a_sleep_timer_keeps_its_future_in_a_slot_and_reads_like_any_timer_handle():
    def once():
        loop = asyncsim.new_event_loop()
        fut = loop.create_future()
        timer = loop.call_later(2, asyncio.futures._set_result_unless_cancelled, fut, None)
        seen = (
            type(timer).__name__,
            isinstance(timer, asyncio.TimerHandle),
            timer._args == (fut, None),
            repr(timer).split(" at ")[0],
            timer.when(),
        )
        loop.run_until_complete(fut)
        late = loop.call_later(1, asyncio.futures._set_result_unless_cancelled, fut, None)
        late.cancel()
        seen += (fut.result(), loop.time(), late._args, late.cancelled())
        loop.close()
        return seen

    python, compiled_ = on_both(once)
    assert python == compiled_
    assert python[:3] == ("TimerHandle", True, True) and python[-4:] == (None, 2.0, None, True)


@compiled
def test_a_what_if_profile_keeps_scaling_sleeps_after_the_fast_path_is_re_decided():
    from asyncsim.core.durations import DurationScaling, scaling

    async def main():
        loop = asyncio.get_running_loop()
        for _ in range(2):
            await asyncio.sleep(2.0)
            loop.set_debug(True)  # (each change re-decides which call_later the loop uses)
            loop.set_debug(False)

    def profiled():
        plan = DurationScaling()
        with scaling(plan):
            asyncsim.simulate(main())
        [key] = plan.counts
        scaled = DurationScaling(key, 0.25)
        with scaling(scaled):
            run_ = asyncsim.simulate(main())
        return run_.elapsed, plan.counts[key], scaled.counts[key]

    assert on_both(profiled) == ((1.0, 2, 2), (1.0, 2, 2))


@compiled
def test_never_firing_timers_are_kept_apart_and_a_sleep_forever_deadlocks_alike():
    import math

    def once():
        loop = asyncsim.new_event_loop()
        try:
            forever = loop.call_later(math.inf, print, "never")
            far = loop.call_at(1e300, print, "far")  # (an int deadline beyond int64)
            seen = (loop.timers.first() > 2**63, len(loop.timers), len(loop.timers.never))
            far.cancel()
            forever.cancel()
            seen += (loop.timers.first(), len(loop.timers))
        finally:
            loop.close()

        async def main():
            await asyncio.sleep(1 / 30)  # (never early: 33,333,334 ns)
            await asyncio.sleep(math.inf)

        return seen, outcome(asyncsim.simulate(main()))

    python, compiled_ = on_both(once)
    assert python == compiled_
    assert python[0] == (True, 2, 1, None, 1)  # (first() dropped the cancelled far head)
    assert python[1][1].startswith("Deadlock") and python[1][2] == 0.033333334


@compiled
def test_the_livelock_watch_fires_at_the_same_step_on_the_fused_loop_of_both_cores():
    async def main():
        async def sleeper():
            await asyncio.sleep(5)

        task = asyncio.get_running_loop().create_task(sleeper())
        for _ in range(10):
            await asyncio.sleep(0.5)  # (timers first: the clock moves, then it spins)
        while True:
            await asyncio.sleep(0)
        await task

    python, compiled_ = on_both(lambda: outcome(asyncsim.simulate(main(), livelock_steps=1000)))
    assert python == compiled_
    assert python[1].startswith("Livelock")


@compiled
def test_the_fused_loop_runs_only_inside_run_forever_and_only_in_the_plain_state():
    runs = []

    async def main():
        loop = asyncio.get_running_loop()
        fused = loop._fused_run

        def counted():
            n = fused()
            runs.append(n)
            return n

        loop._fused_run = counted
        for _ in range(3):
            await asyncio.sleep(1)

    for name in ("python", "compiled"):
        with cores.use_core(name):
            runs.clear()
            asyncsim.simulate(main())
            assert sum(runs) > 0, name  # (a plain run uses it)
            runs.clear()
            asyncsim.simulate(main(), until=100.0)
            assert runs == [], name  # (``until``: the general _run_once only)
            loop = asyncsim.new_event_loop()
            try:
                loop._fused_run = lambda: runs.append(1) or 1
                loop.call_soon(lambda: None)
                loop._run_once()  # (a lone iteration is one iteration)
                assert runs == [] and loop.steps == 1, name
            finally:
                loop.close()
