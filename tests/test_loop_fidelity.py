"""The virtual loop behaves as asyncio's loop does.

Two kinds of test: regression tests for fidelity bugs the CPython conformance
run found, and differential tests that run one small program on real asyncio
(short real sleeps with clearly separated deadlines) and on the virtual loop and
compare the order of events.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import selectors
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest

import asyncsim
import asyncsim.core.instrument

Events = list[Any]


class _SteppingClock:
    """A clock for stock asyncio that never stalls: each reading is 1 ns after the last,
    and waiting ``t`` seconds moves it ``t`` (see :func:`punctual_asyncio_loop`)."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        self.now += 1e-9
        return self.now


class _NoWaitSelector(selectors.SelectSelector):
    """Polls real file descriptors (the loop's self-pipe) without blocking; a wait of
    ``timeout`` seconds advances the stepping clock instead."""

    def __init__(self, clock: _SteppingClock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is not None and timeout > 0:
            self._clock.now += timeout
        return super().select(0)


def punctual_asyncio_loop() -> asyncio.AbstractEventLoop:
    """Stock asyncio's selector loop, all of its own scheduling logic, on a clock that
    moves as a real one would without load: every reading later than the last (so
    deadlines computed one after the other differ, as under real time) and no stalls
    (so a 10 ms gap between deadlines is never eaten by a busy machine)."""
    clock = _SteppingClock()
    loop = asyncio.SelectorEventLoop(_NoWaitSelector(clock))
    loop.time = clock.time  # type: ignore[method-assign]
    return loop


def on_both_loops(
    program: Callable[[asyncio.AbstractEventLoop, Events], None],
    *,
    real: bool = True,
    real_loop: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop,
) -> Events:
    """Run ``program(loop, events)`` on real asyncio and on the virtual loop.

    Returns the events of the virtual run after asserting both runs agree
    (``real=False``: only the virtual run, for a program real asyncio gets wrong;
    ``real_loop``: how to make the stock asyncio loop).
    """
    runs = []
    factories = (real_loop, asyncsim.new_event_loop) if real else (asyncsim.new_event_loop,)
    for factory in factories:
        loop = factory()
        events: Events = []
        try:
            program(loop, events)
        finally:
            if not loop.is_closed():
                loop.close()
        runs.append(events)
    if not real:
        return runs[0]
    real_events, virtual = runs
    assert virtual == real_events
    return virtual


def _failed_run_forever_unsets_the_running_loop() -> bool:
    """True on Pythons whose real loop has CPython gh-130145 (seen on 3.13.0, not on
    3.11.7 or 3.12.1): a ``run_forever()`` refused because the loop is running still
    runs its cleanup, which unsets the running loop (a nested loop may then run, and
    hang)."""

    async def probe() -> bool:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(RuntimeError):
            loop.run_forever()
        return asyncio._get_running_loop() is not loop

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(probe())
    finally:
        loop.close()


REAL_RUN_FOREVER_BUG = _failed_run_forever_unsets_the_running_loop()


# -- regression tests for bugs the CPython suite found ----------------------------


def test_a_finished_thread_job_is_never_mistaken_for_a_deadlock() -> None:
    # The job used to release the clock before its result was queued on the loop,
    # so the loop could find nothing to do and raise Deadlock (test_tasks).
    for _ in range(200):
        loop = asyncsim.new_event_loop()
        try:
            assert loop.run_until_complete(loop.run_in_executor(None, int, "7")) == 7
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def test_a_thread_job_result_arrives_before_the_clock_jumps_to_the_next_timer() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        sleeper = asyncio.ensure_future(asyncio.sleep(1))
        await loop.run_in_executor(None, int)
        now = loop.time()
        sleeper.cancel()
        return now

    for _ in range(50):
        assert asyncsim.run(main(), patch_time=False) == 0.0


def test_a_ready_writer_runs_once_per_iteration_like_asyncio() -> None:
    # The selector used to be polled twice before the ready queue ran, so a
    # writer that stops the loop ran twice (test_events.test_writer_callback).
    def program(loop: asyncio.AbstractEventLoop, events: Events) -> None:
        r, w = socket.socketpair()
        with r, w:
            w.setblocking(False)

            def writer() -> None:
                events.append(w.send(b"x" * 16))
                loop.stop()

            loop.add_writer(w.fileno(), writer)
            loop.run_forever()
            events.append(loop.remove_writer(w.fileno()))
            events.append(r.recv(64))

    loop_factory = asyncsim.new_event_loop
    try:
        asyncsim.new_event_loop = lambda: asyncsim.VirtualEventLoop(allow_real_io=True)  # type: ignore[assignment]
        assert on_both_loops(program) == [16, True, b"x" * 16]
    finally:
        asyncsim.new_event_loop = loop_factory  # type: ignore[assignment]


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="needs SIGUSR1")
def test_a_signal_is_handled_before_the_clock_jumps_to_the_next_timer() -> None:
    # Signals arrive through the self-pipe, which the loop did not poll while it
    # only had virtual timers (test_events.test_add_signal_handler hung).
    loop = asyncsim.new_event_loop()
    seen: list[float] = []
    try:
        loop.add_signal_handler(signal.SIGUSR1, lambda: seen.append(loop.time()))
        os.kill(os.getpid(), signal.SIGUSR1)
        loop.run_until_complete(asyncio.sleep(1))
        assert seen == [0.0]
        assert loop.time() == 1.0
        assert loop.remove_signal_handler(signal.SIGUSR1)
    finally:
        loop.close()


def test_a_child_without_pipes_is_waited_for_instead_of_reported_as_a_deadlock() -> None:
    # With nothing virtual pending the loop raised Deadlock although a child
    # watcher thread was about to report the exit (test_subprocess.test_kill).
    async def main() -> int:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
        return await proc.wait()

    loop = asyncsim.VirtualEventLoop(allow_real_io=True)
    try:
        assert loop.run_until_complete(main()) == 0
        assert loop.time() == 0.0
    finally:
        loop.close()


def test_a_cancelled_spawn_waits_for_its_killed_child_instead_of_reporting_a_deadlock() -> None:
    async def main() -> bool:
        task = asyncio.ensure_future(
            asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(30)")
        )
        asyncio.get_running_loop().call_soon(task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    loop = asyncsim.VirtualEventLoop(allow_real_io=True)
    try:
        assert loop.run_until_complete(main()) is True
    finally:
        loop.close()


def test_debug_mode_reports_slow_callbacks_through_asyncios_logger() -> None:
    loop = asyncsim.new_event_loop()
    try:
        loop.set_debug(True)
        loop.slow_callback_duration = 0.0
        with mock.patch("asyncio.base_events.logger") as logger:
            loop.call_soon(loop.stop)
            loop.run_forever()
        fmt, *args = logger.warning.call_args[0]
        assert fmt == "Executing %s took %.3f seconds"
        assert "stop" in args[0]
        assert args[1] == 0.0
    finally:
        loop.close()


def test_a_timer_created_in_debug_mode_traces_back_to_its_caller() -> None:
    loop = asyncsim.new_event_loop()
    try:
        loop.set_debug(True)
        here = sys._getframe().f_code.co_name
        later = loop.call_later(1, int)
        at = loop.call_at(2, int)
        for handle in (later, at):
            assert handle._source_traceback[-1][0] == __file__  # type: ignore[attr-defined]
            assert handle._source_traceback[-1][2] == here  # type: ignore[attr-defined]
    finally:
        loop.close()


# -- differential tests: real asyncio vs the virtual loop ---------------------------


def test_call_soon_callbacks_run_first_in_first_out_like_asyncio() -> None:
    def program(loop: asyncio.AbstractEventLoop, events: Events) -> None:
        def cb(name: str) -> None:
            events.append(name)
            if name == "b":
                loop.call_soon(cb, "b2")  # queued behind everything already ready
            if name == "e":
                loop.stop()

        for name in "abcde":
            loop.call_soon(cb, name)
        loop.call_soon(loop.call_soon, cb, "f")
        loop.run_forever()
        events.append("--")
        loop.call_soon(loop.stop)
        loop.run_forever()

    assert on_both_loops(program) == ["a", "b", "c", "d", "e", "--", "b2", "f"]


def test_equal_delays_fire_in_the_order_they_were_scheduled_like_asyncio() -> None:
    def program(loop: asyncio.AbstractEventLoop, events: Events) -> None:
        async def sleeper(name: str, delay: float) -> None:
            await asyncio.sleep(delay)
            events.append(name)

        async def main() -> None:
            tasks = [asyncio.ensure_future(sleeper(f"task{i}", 0.02)) for i in range(3)]
            # Scheduled now, before the tasks above have started (and slept).
            loop.call_later(0.02, events.append, "timer")
            tasks.append(asyncio.ensure_future(sleeper("task3", 0.02)))
            tasks.append(asyncio.ensure_future(sleeper("early", 0.01)))
            tasks.append(asyncio.ensure_future(sleeper("late", 0.05)))
            await asyncio.gather(*tasks)

        loop.run_until_complete(main())

    # Stock asyncio on a clock that never stalls: under real time, a 10 ms stall of a busy
    # machine between the timer and the tasks' first steps would reorder "early".
    events = on_both_loops(program, real_loop=punctual_asyncio_loop)
    assert events == ["early", "timer", "task0", "task1", "task2", "task3", "late"]


def test_call_at_in_the_past_runs_at_once_after_the_already_ready_callbacks() -> None:
    def program(loop: asyncio.AbstractEventLoop, events: Events) -> None:
        loop.call_soon(events.append, "soon1")
        loop.call_at(loop.time() - 10, events.append, "past")
        loop.call_later(-1, events.append, "negative delay")
        loop.call_at(loop.time() + 0.03, events.append, "future")
        loop.call_soon(events.append, "soon2")
        loop.call_later(0.05, loop.stop)
        loop.run_forever()

    assert on_both_loops(program) == ["soon1", "soon2", "past", "negative delay", "future"]


def test_callback_exceptions_reach_the_exception_handler_like_asyncio() -> None:
    def program(loop: asyncio.AbstractEventLoop, events: Events) -> None:
        def fail(exc: BaseException) -> None:
            raise exc

        def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            events.append(
                (
                    context["message"],
                    type(context["exception"]).__name__,
                    str(context["exception"]),
                    type(context.get("handle")).__name__,
                )
            )

        async def failing_task() -> None:
            await asyncio.sleep(0.01)
            raise LookupError("in a task nobody awaits")

        loop.set_exception_handler(handler)
        loop.call_soon(fail, ValueError("soon"))
        loop.call_later(0.02, fail, KeyError("later"))
        task = loop.create_task(failing_task())
        loop.call_later(0.04, loop.stop)
        loop.run_forever()
        events.append(type(task.exception()).__name__)
        del task  # the "never retrieved" report is not part of this comparison

    # Stock asyncio on a clock that never stalls: under real time, a 30 ms stall of a busy
    # machine before the task's first step puts its 10 ms sleep after the 40 ms stop.
    events = on_both_loops(program, real_loop=punctual_asyncio_loop)
    assert [e[1] if isinstance(e, tuple) else e for e in events] == [
        "ValueError",
        "KeyError",
        "LookupError",
    ]
    assert events[0][3] == "Handle" and events[1][3] == "TimerHandle"


def _error(call: Callable[[], object]) -> tuple[str, str]:
    try:
        call()
    except Exception as exc:
        return type(exc).__name__, str(exc)
    return ("no error", "")


def test_closing_and_rerunning_errors_match_asyncio() -> None:
    def program(loop: asyncio.AbstractEventLoop, events: Events) -> None:
        async def nested() -> None:
            coro = asyncio.sleep(0)
            events.append(_error(lambda: loop.run_until_complete(coro)))
            coro.close()
            events.append(_error(loop.run_forever))
            events.append(_error(loop.close))
            other = asyncio.new_event_loop()
            events.append(_error(other.run_forever))
            other.close()

        loop.run_until_complete(nested())
        loop.close()
        loop.close()  # closing twice is fine
        coro = asyncio.sleep(0)
        events.append(_error(lambda: loop.run_until_complete(coro)))
        coro.close()
        events.append(_error(loop.run_forever))
        events.append(_error(lambda: loop.call_soon(int)))
        events.append(_error(lambda: loop.call_later(1, int)))
        coro = asyncio.sleep(0)
        events.append(_error(lambda: loop.create_task(coro)))
        coro.close()

    # Where real asyncio has gh-130145 its run is wrong (it hangs in the nested loop's
    # run_forever): the virtual loop's run is checked on its own there.
    events = on_both_loops(program, real=not REAL_RUN_FOREVER_BUG)
    assert events[0] == ("RuntimeError", "This event loop is already running")
    assert events[1] == ("RuntimeError", "This event loop is already running")
    assert events[2] == ("RuntimeError", "Cannot close a running event loop")
    assert events[3] == ("RuntimeError", "Cannot run the event loop while another loop is running")
    assert events[4] == ("RuntimeError", "Event loop is closed")


def test_a_refused_run_forever_leaves_the_running_loop_running() -> None:
    async def main() -> tuple[Any, ...]:
        loop = asyncio.get_running_loop()
        refused = _error(loop.run_forever)
        after = asyncio._get_running_loop() is loop, loop.is_running()
        await asyncio.sleep(2.5)  # the loop still works: its clock still moves
        return refused, after, loop.time()

    loop = asyncsim.new_event_loop()
    try:
        assert loop.run_until_complete(main()) == (
            ("RuntimeError", "This event loop is already running"),
            (True, True),
            2.5,
        )
        assert not loop.is_running()
        assert asyncio._get_running_loop() is None
    finally:
        loop.close()


@pytest.mark.parametrize("mode", ["plain", "debug", "instrumented", "chaos"])
def test_a_dropped_task_that_failed_is_reported_by_reference_counting_at_once(mode: str) -> None:
    # asyncio's _run_once drops its last handle; on 3.12+ the traceback of a step's
    # exception links to the loop's frames, so a handle kept there is a cycle that
    # only the (relaxed) cyclic GC would break, and the report would come late.
    reported: list[tuple[float, str]] = []

    async def fails() -> None:
        raise ZeroDivisionError("boom")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(
            lambda loop, context: reported.append((loop.time(), context["message"]))
        )
        task: Any = asyncio.ensure_future(fails())
        del task  # dropped: its step is alone in its batch
        await asyncio.sleep(1.5)

    schedule = asyncsim.Schedule(chaos=(7, 1)) if mode == "chaos" else None
    loop = asyncsim.new_event_loop(schedule=schedule)
    loop.set_debug(mode == "debug")
    if mode == "instrumented":
        loop.add_instrument(asyncsim.core.instrument.Instrument())
    collecting = gc.isenabled()
    gc.disable()  # only reference counting may free the task
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
        if collecting:
            gc.enable()
    assert reported == [(0.0, "Task exception was never retrieved")]
