"""Livelocks (many callbacks at one virtual instant, going round in circles) stop a run
with a report of what was spinning, by default; legitimate heavy same-instant work runs."""

import asyncio

import pytest

import asyncsim
from asyncsim.cli.main import main as cli_main
from asyncsim.core.livelock import DEFAULT_LIVELOCK_STEPS

SMALL = 5_000


async def spin_while_sleeping():
    async def spin():
        while True:
            await asyncio.sleep(0)

    task = asyncio.create_task(spin(), name="spinner")
    await asyncio.sleep(1)
    await task


def test_a_sleep_0_loop_is_a_livelock_naming_the_task_its_coroutine_and_line():
    run = asyncsim.simulate(spin_while_sleeping(), livelock_steps=SMALL)
    assert isinstance(run.exception, asyncsim.Livelock)
    assert run.exception.time == 0.0 and run.elapsed == 0.0  # the 1 s sleep never ended
    assert [(t.name, t.coroutine) for t in run.exception.tasks] == [
        ("spinner", "spin_while_sleeping.<locals>.spin")
    ]
    message = str(run.exception)
    assert message.startswith("livelock at t=0.0s: 5,000 callbacks ran without virtual time")
    where = f"spin_while_sleeping.<locals>.spin() at {__file__}:18"
    assert f"spinner (spin_while_sleeping.<locals>.spin) at {where}" in message
    assert "livelock_steps=50000" in message and "--livelock-steps 0" in message
    assert 2 * SMALL <= run.steps <= 4 * SMALL


def test_an_event_ping_pong_is_a_livelock():
    async def main():
        a, b = asyncio.Event(), asyncio.Event()

        async def ping():
            while True:
                a.set()
                await b.wait()
                b.clear()

        async def pong():
            while True:
                await a.wait()
                a.clear()
                b.set()

        await asyncio.gather(ping(), pong())

    with pytest.raises(asyncsim.Livelock, match=r"pong\(\) at .*test_livelock.py:5\d"):
        asyncsim.run(main(), livelock_steps=SMALL)


def test_a_callback_rescheduling_itself_without_delay_is_a_livelock_naming_it():
    async def main():
        loop = asyncio.get_running_loop()

        def again():
            loop.call_later(0, again)

        again()
        await asyncio.sleep(5)

    run = asyncsim.simulate(main(), livelock_steps=SMALL)
    assert isinstance(run.exception, asyncsim.Livelock)
    assert run.exception.time == 0.0
    assert "callback test_a_callback_rescheduling_itself_without_delay" in str(run.exception)


def test_200000_sleep_0_switches_and_a_large_gather_are_not_livelocks_by_default():
    async def w3():
        async def player():
            for _ in range(100_000):
                await asyncio.sleep(0)

        await asyncio.gather(player(), player())
        return asyncio.get_running_loop().time()

    assert asyncsim.run(w3()) == 0.0

    async def gather_many():
        async def one():
            await asyncio.sleep(0)

        await asyncio.gather(*[one() for _ in range(20_000)])
        return "done"

    # Even with a bound far below the work: each check sees tasks start and finish.
    assert asyncsim.run(gather_many(), livelock_steps=SMALL) == "done"


def test_livelock_detection_is_on_by_default_everywhere_and_can_be_turned_off():
    assert DEFAULT_LIVELOCK_STEPS == 1_000_000
    loop = asyncsim.new_event_loop()
    assert loop._livelock_steps == DEFAULT_LIVELOCK_STEPS
    loop.close()
    simulation = asyncsim.Simulation()
    assert simulation.new_event_loop()._livelock_steps == DEFAULT_LIVELOCK_STEPS
    # Off: the spinner runs until max_steps stops it.
    run = asyncsim.simulate(spin_while_sleeping(), livelock_steps=None, max_steps=3 * SMALL)
    assert isinstance(run.exception, asyncsim.StepLimitExceeded)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "10", True])
def test_livelock_steps_must_be_a_positive_integer_or_none(bad):
    with pytest.raises((TypeError, ValueError), match="livelock_steps must be an integer >= 1"):
        asyncsim.simulate(asyncio.sleep(1), livelock_steps=bad)


def test_asyncsim_run_reports_a_livelock_with_exit_code_3(tmp_path, capsys):
    script = tmp_path / "spin.py"
    script.write_text(
        "import asyncio\n"
        "async def main():\n"
        "    while True:\n"
        "        await asyncio.sleep(0)\n"
        "asyncio.run(main())\n"
    )
    assert cli_main(["run", "--livelock-steps", str(SMALL), str(script)]) == 3
    err = capsys.readouterr().err
    assert "Livelock: livelock at t=0.0s" in err
    assert f"(main) at main() at {script}:4" in err
    assert "Traceback" not in err


def test_a_spinning_pytest_test_fails_with_the_livelock_report(pytester):
    pytester.makepyfile(
        """
        import asyncio, pytest
        @pytest.mark.asyncsim(livelock_steps=5000)
        async def test_spins():
            while True:
                await asyncio.sleep(0)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*livelock at t=0.0s*"])


@pytest.mark.slow
def test_the_default_bound_stops_a_spinning_run():
    run = asyncsim.simulate(spin_while_sleeping())
    assert isinstance(run.exception, asyncsim.Livelock)
    assert run.steps <= 4 * DEFAULT_LIVELOCK_STEPS
