"""Instruments are guests of the loop: one whose hook raises is reported once and detached,
and the run goes on to the same result at the same virtual time; ``loop.instrument(Kind)``
finds the attached instrument of a kind."""

import asyncio
import time

import pytest

import asyncsim
from asyncsim.core.instrument import Instrument
from asyncsim.instruments.tracer import Tracer


class Broken(Instrument):
    """Raises in ``hook``; counts every hook call it gets."""

    def __init__(self, hook):
        self.hook = hook
        self.calls = {}

    def _called(self, name):
        self.calls[name] = self.calls.get(name, 0) + 1
        if name == self.hook:
            raise RuntimeError(f"{name} is broken")

    def task_created(self, task, parent):
        self._called("task_created")

    def callback_scheduled(self, handle, when):
        self._called("callback_scheduled")

    def before_step(self, handle):
        self._called("before_step")

    def after_step(self, handle):
        self._called("after_step")

    def clock_advanced(self, old, new):
        self._called("clock_advanced")

    def loop_blocked(self, start, end):
        self._called("loop_blocked")

    def __repr__(self):
        return f"<Broken {self.hook}>"


class Steps(Instrument):
    """A well-behaved instrument: counts the steps it sees."""

    def __init__(self):
        self.steps = 0

    def before_step(self, handle):
        self.steps += 1


async def work(guests):
    """Attach ``guests``, then sleep in two tasks, block the loop once, and return a sum."""
    loop = asyncio.get_running_loop()
    reports = []
    loop.set_exception_handler(lambda _loop, context: reports.append(context))
    for guest in guests:
        loop.add_instrument(guest)

    async def worker(n):
        await asyncio.sleep(n)
        return n

    results = await asyncio.gather(worker(1.5), worker(2.5))
    time.sleep(0.5)  # a blocking sleep: the loop_blocked hook
    await asyncio.sleep(1)
    return sum(results), reports, [loop.instrument(type(g)) for g in guests]


HOOKS = [
    "before_step",
    "after_step",
    "callback_scheduled",
    "task_created",
    "clock_advanced",
    "loop_blocked",
]


@pytest.mark.parametrize("hook", HOOKS)
def test_an_instrument_whose_hook_raises_is_reported_once_and_detached_and_the_run_goes_on(hook):
    broken = Broken(hook)
    run = asyncsim.simulate(work([broken]))
    total, reports, found = run.result
    assert total == 4.0 and run.elapsed == 4.0
    assert broken.calls[hook] == 1  # never called again after it raised
    assert found == [None]
    assert len(reports) == 1
    assert reports[0]["message"] == (
        f"Instrument <Broken {hook}> raised in {hook}(); it was detached and the run goes on"
    )
    error = reports[0]["exception"]
    assert str(error) == f"{hook} is broken" and error.__traceback__ is not None


@pytest.mark.parametrize("hook", HOOKS)
def test_the_other_instruments_keep_seeing_every_step_when_one_fails(hook):
    steps = Steps()
    healthy = asyncsim.simulate(work([steps, Broken(hook)]))
    total, reports, found = healthy.result
    assert total == 4.0 and len(reports) == 1 and found == [steps, None]
    plain = asyncsim.simulate(work([]))
    assert healthy.steps == plain.steps
    assert steps.steps == plain.steps - 1  # all but the step that attached it


def test_a_detached_instrument_gets_no_after_step_for_the_step_whose_before_step_raised():
    broken = Broken("before_step")
    asyncsim.simulate(work([broken]))
    assert broken.calls["before_step"] == 1 and "after_step" not in broken.calls


def test_an_instrument_whose_attached_hook_raises_is_reported_and_not_attached():
    class Refuses(Instrument):
        def attached(self, loop):
            raise ValueError("not today")

    async def main():
        loop = asyncio.get_running_loop()
        reports = []
        loop.set_exception_handler(lambda _loop, context: reports.append(context))
        loop.add_instrument(Refuses())
        await asyncio.sleep(1)
        return reports, loop.instrument(Refuses)

    reports, found = asyncsim.run(main())
    assert found is None
    assert [str(r["exception"]) for r in reports] == ["not today"]
    assert "raised in attached()" in reports[0]["message"]


def test_a_traced_run_keeps_its_trace_when_another_instrument_fails():
    run = asyncsim.simulate(work([Broken("before_step")]), trace=True)
    assert run.result[0] == 4.0 and run.elapsed == 4.0
    assert {t.coroutine for t in run.trace.tasks} >= {"work", "work.<locals>.worker"}


def test_the_failure_reaches_the_default_exception_handler_with_its_traceback(caplog):
    asyncsim.run(failing_under_the_default_handler())
    [record] = [r for r in caplog.records if "raised in clock_advanced()" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[1].args == ("clock_advanced is broken",)


async def failing_under_the_default_handler():
    asyncio.get_running_loop().add_instrument(Broken("clock_advanced"))
    await asyncio.sleep(1)
    await asyncio.sleep(1)


def test_loop_instrument_finds_the_tracer_of_a_traced_run_and_nothing_otherwise():
    async def main():
        return asyncio.get_running_loop().instrument(Tracer)

    assert isinstance(asyncsim.simulate(main(), trace=True).result, Tracer)
    assert asyncsim.simulate(main()).result is None


def test_an_instrument_can_be_attached_and_removed_while_the_loop_runs():
    steps = Steps()

    async def main():
        loop = asyncio.get_running_loop()
        loop.add_instrument(steps)
        await asyncio.sleep(1)
        loop.remove_instrument(steps)
        await asyncio.sleep(1)
        with pytest.raises(ValueError, match="is not attached"):
            loop.remove_instrument(steps)
        return loop.instrument(Steps)

    assert asyncsim.run(main()) is None
    assert steps.steps == 2  # the timer, then main's wake-up that removes it
