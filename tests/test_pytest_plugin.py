"""The pytest plugin, exercised through pytester: marker, fixtures, options, coexistence."""

import pytest


@pytest.fixture(autouse=True)
def quiet_ini(pytester):
    pytester.makeini(
        """
        [pytest]
        asyncio_default_fixture_loop_scope = function
        filterwarnings = ignore::pytest.PytestAssertRewriteWarning
        """
    )


SIMPLE = """
import asyncio, random, time
import pytest

@pytest.mark.asyncsim(until=100)
async def test_an_hour_of_sleep_is_instant(asyncsim_loop):
    await asyncio.sleep(30)
    assert asyncsim_loop.time() == 30.0
    assert time.monotonic() == 30.0

@pytest.mark.asyncsim(seed=7)
async def test_seed(asyncsim_loop):
    print("SEEDED", random.random())
"""


def test_a_marked_async_test_runs_on_virtual_time(pytester):
    pytester.makepyfile(SIMPLE)
    result = pytester.runpytest("-p", "no:asyncio")
    result.assert_outcomes(passed=2)


def test_the_seed_comes_from_the_marker_else_the_command_line(pytester):
    import random

    pytester.makepyfile(
        """
        import random, pytest
        @pytest.mark.asyncsim(seed=7)
        async def test_marker_seed():
            print("MARKER", random.random())
        @pytest.mark.asyncsim
        async def test_option_seed():
            print("OPTION", random.random())
        """
    )
    result = pytester.runpytest("-s", "--asyncsim-seed", "12")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [f"*MARKER {random.Random(7).random()}*", f"*OPTION {random.Random(12).random()}*"]
    )


def test_until_stops_a_test_at_its_virtual_time_limit(pytester):
    pytester.makepyfile(
        """
        import asyncio, pytest
        @pytest.mark.asyncsim(until=5)
        async def test_too_slow():
            await asyncio.sleep(10)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*simulation stopped at until=5.0s*"])


def test_a_deadlocked_test_fails_listing_the_blocked_tasks(pytester):
    pytester.makepyfile(
        """
        import asyncio, pytest
        async def waiter(event):
            await event.wait()
        @pytest.mark.asyncsim
        async def test_stuck():
            event = asyncio.Event()
            await asyncio.sleep(3)
            await asyncio.create_task(waiter(event), name="the-waiter")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_stuck deadlocked at t=3.0s (virtual)*Blocked tasks:",
            "*(test_stuck) suspended at test_stuck() at *waiting on task 'the-waiter'*",
            "*the-waiter (waiter) suspended at waiter() at *waiting on Event.wait()*",
        ]
    )


def test_a_plain_function_marked_asyncsim_gets_a_clear_error(pytester):
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.asyncsim
        def test_not_async():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.asyncsim needs an async def test*test_not_async*plain function*"]
    )


def test_unknown_marker_arguments_are_named(pytester):
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.asyncsim(untill=3)
        async def test_typo():
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*unknown argument(s) untill*"])


def test_cpu_is_passed_on_only_when_simulate_supports_it(pytester):
    import inspect

    import asyncsim

    pytester.makepyfile(
        """
        import asyncio, pytest
        @pytest.mark.asyncsim(cpu=None)
        async def test_without_cpu():
            await asyncio.sleep(1)
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
    if "cpu" not in inspect.signature(asyncsim.simulate).parameters:
        pytester.makepyfile(
            """
            import pytest
            @pytest.mark.asyncsim(cpu="measured")
            async def test_with_cpu():
                pass
            """
        )
        result = pytester.runpytest()
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*cpu='measured'*no CPU cost model*"])


def test_a_failing_assertion_shows_the_seed_and_the_rewritten_assert(pytester):
    pytester.makepyfile(
        """
        import asyncio, pytest
        @pytest.mark.asyncsim
        async def test_wrong():
            await asyncio.sleep(2)
            assert asyncio.get_running_loop().time() == 3
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 2.0 == 3*", "*asyncsim: seed=0*"])


def test_the_loop_fixture_outside_an_asyncsim_test_is_an_error(pytester):
    pytester.makepyfile(
        """
        def test_plain(asyncsim_loop):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*asyncsim_loop fixture needs the test to be marked*"])


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_asyncio_and_asyncsim_tests_coexist_in_one_file(pytester, mode):
    pytester.makepyfile(
        """
        import asyncio, pytest, asyncsim

        @pytest.mark.asyncio
        async def test_on_real_asyncio():
            loop = asyncio.get_running_loop()
            assert not isinstance(loop, asyncsim.VirtualEventLoop)
            await asyncio.sleep(0.001)

        @pytest.mark.asyncsim
        async def test_on_virtual_time():
            loop = asyncio.get_running_loop()
            assert isinstance(loop, asyncsim.VirtualEventLoop)
            await asyncio.sleep(3600)
            assert loop.time() == 3600.0

        @pytest.mark.asyncsim
        @pytest.mark.parametrize("hours", [1, 2])
        async def test_parametrized(hours):
            await asyncio.sleep(hours * 3600)
            assert asyncio.get_running_loop().time() == hours * 3600
        """
    )
    result = pytester.runpytest(f"--asyncio-mode={mode}", "-p", "asyncio")
    result.assert_outcomes(passed=4)


@pytest.mark.parametrize("mode", ["strict", "auto"])
def test_a_test_marked_both_asyncio_and_asyncsim_runs_on_virtual_time(pytester, mode):
    pytester.makepyfile(
        """
        import asyncio, pytest
        @pytest.mark.asyncio
        @pytest.mark.asyncsim(until=100)
        async def test_both():
            await asyncio.sleep(60)
            assert asyncio.get_running_loop().time() == 60.0
        """
    )
    result = pytester.runpytest("-p", "asyncio", f"--asyncio-mode={mode}")
    result.assert_outcomes(passed=1)


def test_an_async_hypothesis_test_runs_each_example_on_virtual_time(pytester):
    pytester.makepyfile(
        """
        import asyncio, pytest
        from hypothesis import given, settings, strategies as st

        @pytest.mark.asyncsim
        @settings(max_examples=20)
        @given(st.integers(0, 10**6))
        async def test_sleep_n(n):
            await asyncio.sleep(n)
            assert asyncio.get_running_loop().time() == n
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


LOST_UPDATE = """
import asyncio, pytest
from hypothesis import Phase, given, settings
from asyncsim.testing.strategies import schedules

class Account:
    balance = 0

    async def deposit(self, amount, start):
        await asyncio.sleep(start)
        balance = self.balance
        await asyncio.sleep(0.1)
        self.balance = balance + amount

@pytest.mark.asyncsim
@settings(database=None, derandomize=True, deadline=None, phases=[Phase.generate, Phase.shrink])
@given(schedule=schedules())
async def test_no_deposit_is_lost(schedule):
    account = Account()
    await asyncio.gather(account.deposit(100, 0), account.deposit(50, 0.2))
    assert account.balance == 150
"""


def test_a_marked_test_plays_the_schedule_it_draws_and_prints_its_replay(pytester):
    pytester.makepyfile(LOST_UPDATE)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*assert 50 == 150*",
            "*asyncsim: seed=0, schedule 'S1;t=0,100000000'*",
            "*the run's schedule is Schedule.from_string('S1;t=0,100000000')*",
            "*replay it: pytest --asyncsim-replay='S1;t=0,100000000'*",
        ]
    )
    replayed = pytester.runpytest("--asyncsim-replay=S1;t=0,100000000")
    replayed.assert_outcomes(failed=1)
    replayed.stdout.fnmatch_lines(["*assert 50 == 150*"])


def test_a_marked_test_drawing_two_schedules_is_refused_clearly(pytester):
    pytester.makepyfile(
        """
        import pytest
        from hypothesis import given
        from asyncsim.testing.strategies import schedules

        @pytest.mark.asyncsim
        @given(a=schedules(), b=schedules())
        async def test_two(a, b):
            pass
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*draws 2 schedules (a, b)*plays one schedule*"])


def test_an_invalid_replay_string_is_a_usage_error(pytester):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--asyncsim-replay=bogus")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--asyncsim-replay: invalid replay string 'bogus'*"])


def test_the_replay_option_plays_a_schedule_in_asyncsim_tests(pytester):
    pytester.makepyfile(
        """
        import asyncio, pytest
        @pytest.mark.asyncsim
        async def test_late_timer():
            await asyncio.sleep(1)
            print("WOKE AT", asyncio.get_running_loop().time())
        """
    )
    result = pytester.runpytest("-s", "--asyncsim-replay=S1;t=250000000")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*WOKE AT 1.25*"])


def test_the_replay_option_makes_schedules_draw_the_replayed_schedule(pytester):
    pytester.makepyfile(
        """
        from hypothesis import given, settings
        from asyncsim.testing.strategies import schedules
        SEEN = set()
        @settings(max_examples=30, database=None)
        @given(schedules())
        def test_draws(schedule):
            SEEN.add(schedule.to_string())
        def test_only_the_replayed_one():
            assert SEEN == {"S1;t=5;j=3"}
        """
    )
    pytester.runpytest("--asyncsim-replay=S1;t=5;j=3", "-p", "no:randomly").assert_outcomes(
        passed=2
    )


def test_report_on_failure_writes_a_report_or_says_why_not(pytester, tmp_path):
    import inspect

    import asyncsim

    pytester.makepyfile(
        """
        import asyncio, pytest
        @pytest.mark.asyncsim
        async def test_fails():
            await asyncio.sleep(1)
            assert False
        @pytest.mark.asyncsim
        async def test_passes():
            await asyncio.sleep(1)
        """
    )
    reports = tmp_path / "reports"
    result = pytester.runpytest(f"--asyncsim-report-on-failure={reports}")
    result.assert_outcomes(failed=1, passed=1)
    if "trace" in inspect.signature(asyncsim.simulate).parameters:
        index = reports / "test_report_on_failure_writes_a_report_or_says_why_not.py_test_fails"
        assert (index / "index.html").is_file()
        result.stdout.fnmatch_lines([f"*asyncsim timeline report: {index / 'index.html'}*"])
        assert sorted(p.name for p in reports.iterdir()) == [index.name]
    else:
        result.stdout.fnmatch_lines(
            ["*--asyncsim-report-on-failure: the asyncsim tracer*not available*no report written*"]
        )
        assert not reports.exists()


def test_the_trace_fixture_shows_the_run_so_far(pytester):
    pytester.makepyfile(
        """
        import asyncio, pytest
        async def helper():
            await asyncio.sleep(2)
        @pytest.mark.asyncsim
        async def test_traced(asyncsim_trace):
            await asyncio.create_task(helper(), name="helper")
            coroutines = [t.coroutine for t in asyncsim_trace.tasks]
            assert coroutines == ["test_traced", "helper"]
            assert asyncsim_trace.elapsed == 2.0
            assert asyncsim_trace.to_json()
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)
