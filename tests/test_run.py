"""sim.run / asyncsim.simulate: a drop-in for asyncio.run that reports what happened."""

import asyncio
import random
import re
import time

import pytest

import asyncsim
from asyncsim.scope.options import SimulationOptions


async def concurrent_pair():
    t = asyncio.create_task(asyncio.sleep(4))
    t1 = time.perf_counter()
    await asyncio.sleep(3)
    await t
    return time.perf_counter() - t1


async def sequential_pair():
    t1 = time.perf_counter()
    await asyncio.sleep(4)
    await asyncio.sleep(3)
    return time.perf_counter() - t1


def test_run_returns_the_result_with_exact_virtual_times():
    assert asyncsim.run(concurrent_pair()) == 4.0
    assert asyncsim.run(sequential_pair()) == 7.0


def test_simulate_reports_result_elapsed_wall_and_steps():
    outcome = asyncsim.simulate(concurrent_pair())
    assert outcome.ok and outcome.result == 4.0
    assert outcome.elapsed == 4.0
    assert outcome.exception is None
    assert 0 < outcome.wall < 5
    assert outcome.steps > 0
    assert outcome.speedup > 1


def test_simulate_keeps_the_programs_exception_and_run_raises_it():
    async def boom():
        await asyncio.sleep(2)
        raise KeyError("missing")

    outcome = asyncsim.simulate(boom())
    assert isinstance(outcome.exception, KeyError)
    assert outcome.elapsed == 2.0
    with pytest.raises(KeyError, match="missing"):
        asyncsim.run(boom())


def test_leftover_tasks_are_cancelled_when_main_returns():
    cancelled = []

    async def background():
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            cancelled.append(asyncio.get_running_loop().time())
            raise

    async def main():
        asyncio.create_task(background())  # noqa: RUF006
        await asyncio.sleep(1)

    asyncsim.run(main())
    assert cancelled == [1.0]


def test_async_generators_are_finalized_at_shutdown():
    closed = []

    async def ticker():
        try:
            while True:
                yield
                await asyncio.sleep(1)
        finally:
            closed.append(True)

    async def main():
        agen = ticker()
        await agen.__anext__()
        await agen.__anext__()

    asyncsim.run(main())
    assert closed == [True]


def test_start_shifts_the_clock_and_elapsed_counts_from_it():
    async def main():
        await asyncio.sleep(2)
        return asyncio.get_running_loop().time()

    outcome = asyncsim.simulate(main(), start=10)
    assert outcome.result == 12.0
    assert outcome.elapsed == 2.0


def test_seed_makes_random_reproducible_and_restores_the_global_state():
    async def draw():
        await asyncio.sleep(random.random())
        return random.random()

    before = random.getstate()
    first = asyncsim.run(draw(), seed=7)
    assert random.getstate() == before
    assert asyncsim.run(draw(), seed=7) == first
    assert asyncsim.run(draw(), seed=8) != first


def test_run_refuses_to_start_inside_a_running_loop():
    async def outer():
        coro = asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="cannot be called from a running event loop"):
            asyncsim.run(coro)

    asyncsim.run(outer())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"until": -1},
            ValueError,
            r"until must be a finite number of virtual seconds >= start \(0.0\), got -1",
        ),
        ({"until": float("nan")}, ValueError, r"until must be .* got nan"),
        ({"until": float("inf")}, ValueError, r"until must be .* got inf"),
        ({"until": "5"}, TypeError, r"until must be .* got '5'"),
        ({"max_steps": 0}, ValueError, r"max_steps must be an integer >= 1, got 0"),
        ({"max_steps": 1.5}, TypeError, r"max_steps must be an integer >= 1, got 1.5"),
        (
            {"start": -3},
            ValueError,
            r"start must be a finite number of virtual seconds >= 0, got -3",
        ),
        (
            {"epoch": float("nan")},
            ValueError,
            r"epoch must be a finite Unix time in seconds, got nan",
        ),
    ],
)
def test_bad_arguments_get_an_error_naming_the_argument_and_value(kwargs, error, message):
    coro = asyncio.sleep(0)
    with pytest.raises(error, match=message):
        asyncsim.run(coro, **kwargs)
    assert coro.cr_frame is None  # closed: no "never awaited" warning


def test_a_non_coroutine_gets_a_type_error_naming_it():
    with pytest.raises(TypeError, match=r"run\(coro=...\) expects a coroutine object, got int 42"):
        asyncsim.run(42)

    async def main():
        pass

    with pytest.raises(TypeError, match=r"did you forget to call it"):
        asyncsim.simulate(main)


def test_a_bool_seed_is_rejected():
    coro = asyncio.sleep(0)
    with pytest.raises(TypeError, match="seed must be an int, str, bytes or None, got True"):
        asyncsim.run(coro, seed=True)


def test_the_public_api_is_exactly_what_we_document():
    assert sorted(asyncsim.__all__) == sorted(
        [
            "DEFAULT_EPOCH",
            "Clock",
            "CpuCost",
            "Deadlock",
            "Measured",
            "PendingTask",
            "Profile",
            "RealIOError",
            "Schedule",
            "Run",
            "ScriptRun",
            "Simulation",
            "SimulationError",
            "SimulationTimeout",
            "StepLimitExceeded",
            "SweepRecord",
            "SweepReplay",
            "SweepResult",
            "SweepSummary",
            "Trace",
            "VirtualEventLoop",
            "VirtualEventLoopPolicy",
            "current",
            "lanes",
            "load_model",
            "load_sweep",
            "mark",
            "new_event_loop",
            "patched_time",
            "perturb_latency",
            "run",
            "run_script",
            "simulate",
            "span",
            "sweep",
            "sweep_replay",
            "whatif",
        ]
    )
    for name in asyncsim.__all__:
        assert getattr(asyncsim, name) is not None
    assert issubclass(asyncsim.Deadlock, asyncsim.SimulationError)
    assert issubclass(asyncsim.VirtualEventLoop, asyncio.BaseEventLoop)


def test_every_entry_point_takes_the_simulation_options_with_the_same_types_and_defaults():
    import inspect

    from asyncsim.scope.options import OPTION_NAMES, OPTIONS_DOC

    def options(func, skip):
        params = inspect.signature(func).parameters.values()
        return [(p.name, p.kind, p.default, p.annotation) for p in params if p.name not in skip]

    expected = options(asyncsim.Simulation, ())
    assert [name for name, *_ in expected] == list(OPTION_NAMES)
    assert options(SimulationOptions, ()) == expected  # the record they all build
    assert options(asyncsim.simulate, {"coro"}) == expected
    assert options(asyncsim.run_script, {"path", "argv"}) == expected
    assert options(asyncsim.run, {"coro"}) == [o for o in expected if o[0] != "trace"]
    entry_points = (asyncsim.Simulation, asyncsim.simulate, asyncsim.run, asyncsim.run_script)
    for func in (*entry_points, SimulationOptions):
        assert "{simulation options}" not in func.__doc__
        for name in OPTION_NAMES[:-1]:  # documented once in OPTIONS_DOC, shown by help()
            # (3.13 strips docstring indentation at compile time)
            assert re.search(rf"\n *{name} : ", func.__doc__), (func, name)
    assert "    trace : bool\n" not in OPTIONS_DOC  # run() has no trace


def test_run_forwards_every_option_to_the_simulation():
    async def main():
        return asyncsim.current()

    seen = asyncsim.run(main(), until=9.0, max_steps=50, seed=3, start=2.0, epoch=1.0e9)
    assert (seen.until, seen.max_steps, seen.seed, seen.start, seen.epoch) == (
        9.0,
        50,
        3,
        2.0,
        1.0e9,
    )
    assert asyncsim.simulate(main(), trace=True).result.tracer is not None
    expected = SimulationOptions(until=9.0, max_steps=50, seed=3, start=2.0, epoch=1.0e9)
    assert seen.options == expected  # one record, built once and passed on
