"""The CPU cost model: task steps take virtual time, so CPU-bound code delays others."""

import asyncio
import time

import pytest

import asyncsim
import asyncsim.instruments.cpu
from asyncsim.cli.main import main as cli_main
from asyncsim.core.instrument import Instrument
from asyncsim.models.distributions import Exponential, Uniform


async def workers(log):
    loop = asyncio.get_running_loop()

    async def worker(name):
        for _ in range(2):
            log.append((name, loop.time()))
            await asyncio.sleep(0)
        log.append((name, "done", loop.time()))

    await asyncio.gather(worker("a"), worker("b"))
    return loop.time()


def test_the_model_is_off_by_default_and_steps_take_no_time():
    log = []
    assert asyncsim.run(workers(log)) == 0.0
    assert {entry[-1] for entry in log} == {0.0}
    assert asyncsim.Simulation().cpu is None


def test_a_constant_cost_charges_every_task_step_in_turn():
    log = []
    # main's first step (0.1), then a and b alternate one step each (0.1 apiece).
    assert asyncsim.run(workers(log), cpu=0.1) == 0.7
    assert log == [
        ("a", 0.1),
        ("b", 0.2),
        ("a", 0.3),
        ("b", 0.4),
        ("a", "done", 0.5),
        ("b", "done", 0.6),
    ]
    assert asyncsim.simulate(workers([]), cpu=0.1).elapsed == 0.8  # main's last step finishes it


def test_a_cpu_bound_coroutine_delays_a_sleeping_task():
    woke = []

    async def ticker():
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0.5)
        woke.append(loop.time())

    async def crunch():
        return sum(range(1000))  # one step, no await

    async def main():
        await asyncio.gather(ticker(), crunch())

    assert asyncsim.simulate(main(), cpu={"crunch": 2.0}).elapsed == 2.0
    assert woke == [2.0]  # due at 0.5, but the loop was busy until 2.0
    woke.clear()
    assert asyncsim.simulate(main()).elapsed == 0.5
    assert woke == [0.5]


def test_a_mapping_charges_unlisted_coroutines_the_star_entry():
    async def child():
        await asyncio.sleep(1)

    async def main():
        await asyncio.create_task(child())

    # main's first step ends at 0.25; child's sleep starts then and ends at 1.25;
    # child's last step (0.01) and main's last step (0.25) follow.
    elapsed = asyncsim.simulate(main(), cpu={"main": 0.25, "*": 0.01}).elapsed
    assert elapsed == 1.51
    assert asyncsim.simulate(main(), cpu={"main": 0.25}).elapsed == 1.5


def test_plain_callbacks_and_timers_are_not_charged():
    async def main():
        loop = asyncio.get_running_loop()
        fired = loop.create_future()
        loop.call_later(1.0, fired.set_result, None)
        for _ in range(5):
            loop.call_soon(lambda: None)
        await fired
        return loop.time()

    # main's first step schedules the timer for 1.0 and ends at 0.5; the five
    # callbacks and the timer are free; main's last step runs at 1.0 and costs 0.5.
    assert asyncsim.simulate(main(), cpu=0.5).elapsed == 1.5


def test_a_distribution_cost_is_deterministic_per_seed():
    def elapsed(seed):
        return asyncsim.simulate(workers([]), cpu=Exponential(0.01), seed=seed).elapsed

    assert elapsed(1) == elapsed(1)
    assert elapsed(1) != elapsed(2)
    assert 0.08 <= asyncsim.simulate(workers([]), cpu=Uniform(0.01, 0.02), seed=3).elapsed <= 0.16


def test_measured_cost_is_real_cpu_time_times_the_scale(monkeypatch):
    ticks = iter(range(0, 10**12, 1_000_000))  # the CPU clock moves 1 ms per reading
    monkeypatch.setattr(asyncsim.instruments.cpu, "_thread_time_ns", lambda: next(ticks))
    # 8 task steps (see the constant-cost test), each measured 1 ms, scaled x3.
    assert asyncsim.simulate(workers([]), cpu=asyncsim.Measured(scale=3)).elapsed == 0.024
    assert asyncsim.simulate(workers([]), cpu="measured").elapsed == 0.008


def test_measured_cost_charges_a_real_busy_step():
    async def busy():
        deadline = time.thread_time() + 0.02
        while time.thread_time() < deadline:
            pass

    assert asyncsim.simulate(busy(), cpu="measured").elapsed >= 0.02


def test_instruments_attached_later_see_a_step_end_after_its_cost():
    spans = []

    class Steps(Instrument):
        start = None  # attached mid-step: that step has no before_step

        def before_step(self, handle):
            self.start = handle._loop.clock.now

        def after_step(self, handle):
            if self.start is not None and asyncsim.instruments.cpu.step_task(handle) is main_task:
                spans.append((self.start, handle._loop.clock.now))

    main_task = None

    async def main():
        nonlocal main_task
        main_task = asyncio.current_task()
        asyncio.get_running_loop().add_instrument(Steps())
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncsim.run(main(), cpu=0.25)
    assert spans == [(250_000_000, 500_000_000), (500_000_000, 750_000_000)]


@pytest.mark.parametrize(
    ("cpu", "error", "message"),
    [
        (-1, ValueError, "cpu must be a finite number of seconds >= 0, got -1"),
        ("fast", ValueError, "'measured' or asyncsim.instruments.cpu.Measured(scale), got 'fast'"),
        (True, TypeError, "cpu must be seconds per step"),
        ({"crunch": -0.5}, ValueError, "cpu['crunch'] must be a finite number of seconds >= 0"),
        ({3: 0.5}, TypeError, "cpu mapping keys must be coroutine qualnames (str), got 3"),
    ],
)
def test_bad_cpu_models_say_what_is_wrong_and_what_to_use(cpu, error, message):
    async def main():
        pass

    coro = main()
    with pytest.raises(error) as info:
        asyncsim.run(coro, cpu=cpu)
    assert message in str(info.value)
    assert coro.cr_frame is None  # closed, no "never awaited" warning


def test_measured_scale_must_be_positive():
    with pytest.raises(
        ValueError, match=r"Measured\(scale=...\) must be a finite number > 0, got 0"
    ):
        asyncsim.Measured(0)


def test_the_cli_accepts_per_coroutine_costs(tmp_path, capsys):
    script = tmp_path / "app.py"
    script.write_text(
        "import asyncio, time\n"
        "async def spin():\n"
        "    await asyncio.sleep(0)\n"
        "asyncio.run(spin())\n"
        "print(time.monotonic())\n"
    )
    assert cli_main(["run", "-q", "--cpu", "spin=0.5,*=0", str(script)]) == 0
    assert capsys.readouterr().out == "1.0\n"
    # spin's 2 steps, and asyncio.run's shutdown_asyncgens and
    # shutdown_default_executor tasks take one step each.
    assert cli_main(["run", "-q", "--cpu", "0.25", str(script)]) == 0
    assert capsys.readouterr().out == "1.0\n"


def test_the_cli_rejects_a_bad_cpu_option_with_usage_help(tmp_path, capsys):
    script = tmp_path / "app.py"
    script.write_text("print('never runs')\n")
    with pytest.raises(SystemExit) as info:
        cli_main(["run", "--cpu", "measured:-1", str(script)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "expected SECONDS, 'measured', 'measured:SCALE' or 'QUALNAME=SECONDS,...'" in err
    assert "got 'measured:-1'" in err


def test_until_stops_a_busy_program_whose_steps_run_past_it():
    async def crunch():
        while True:
            await asyncio.sleep(0)

    with pytest.raises(asyncsim.SimulationTimeout, match=r"t=1\.2s, past until=1\.0s") as info:
        asyncsim.run(crunch(), until=1.0, cpu=0.3)
    assert info.value.time == 1.2


def hash_password(password):
    return password[::-1]


async def login(log):
    loop = asyncio.get_running_loop()

    async def heartbeat():
        for _ in range(3):
            await asyncio.sleep(0.1)
            log.append(("heartbeat", loop.time()))

    async def check():
        digest = await asyncio.to_thread(hash_password, "secret")
        log.append(("to_thread", digest, loop.time()))
        await loop.run_in_executor(None, hash_password, "again")
        log.append(("run_in_executor", loop.time()))

    await asyncio.gather(heartbeat(), check())
    return loop.time()


def test_a_thread_job_the_mapping_names_takes_its_time_beside_the_running_loop():
    log = []
    assert asyncsim.run(login(log), cpu={"hash_password": 0.15}) == 0.3
    assert log == [
        ("heartbeat", 0.1),
        ("to_thread", "terces", 0.15),
        ("heartbeat", 0.2),
        ("run_in_executor", 0.3),  # its result was due at 0.3 before the 3rd heartbeat was
        ("heartbeat", 0.3),
    ]
    log.clear()
    assert asyncsim.run(login(log), cpu={"*": 0.0}) == 0.3  # not named: no virtual time
    assert log[0] == ("to_thread", "terces", 0.0)


def test_the_function_of_a_thread_job_is_named_through_to_threads_partial():
    import contextvars
    import functools

    from asyncsim.instruments.cpu import job_function_name

    wrapped = functools.partial(contextvars.copy_context().run, hash_password, "x")
    assert job_function_name(wrapped) == "hash_password"
    assert job_function_name(functools.partial(hash_password, "x")) == "hash_password"
    assert job_function_name(print) == "print"
