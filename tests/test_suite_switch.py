"""The suite switch (asyncsim_mode = all): every test of a session on virtual time."""

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


EVERY_KIND = """
import asyncio, time, unittest
import anyio
import pytest

@pytest.mark.asyncio
async def test_pytest_asyncio_sleeps_an_hour():
    await asyncio.sleep(3600)
    assert asyncio.get_running_loop().time() == 3600.0
    assert time.monotonic() == 3600.0

async def test_an_unmarked_async_test_is_run_too():
    await asyncio.sleep(5)
    assert asyncio.get_running_loop().time() == 5.0

def test_asyncio_run_in_a_sync_test():
    t0 = time.monotonic()
    assert asyncio.run(asyncio.sleep(30, "done")) == "done"
    assert 30 <= time.monotonic() - t0 < 31

class Case(unittest.IsolatedAsyncioTestCase):
    async def test_isolated_case(self):
        await asyncio.sleep(50)
        self.assertEqual(asyncio.get_running_loop().time(), 50.0)

@pytest.fixture
def anyio_backend():
    return "asyncio"

@pytest.mark.anyio
async def test_anyio_sleeps():
    await anyio.sleep(7)
    assert asyncio.get_running_loop().time() == 7.0
    assert type(asyncio.get_running_loop()).__name__ == "SuiteLoop"
"""


def test_every_kind_of_async_test_runs_on_its_own_virtual_clock(pytester):
    pytester.makepyfile(EVERY_KIND)
    result = pytester.runpytest("-p", "asyncio", "--asyncsim-mode=all")
    result.assert_outcomes(passed=5)
    result.stdout.re_match_lines([r"asyncsim: 5 tests, 3,692\.\d{3} virtual seconds in .* real"])


def test_the_ini_option_turns_the_switch_on_and_a_bad_value_is_refused(pytester):
    pytester.makepyfile(EVERY_KIND)
    result = pytester.runpytest("-p", "asyncio", "-o", "asyncsim_mode=all", "-k", "hour")
    result.assert_outcomes(passed=1)
    result = pytester.runpytest("-o", "asyncsim_mode=everything")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*asyncsim_mode must be one of marked, all, got 'everything'*"])


def test_without_the_switch_unmarked_tests_keep_the_real_loop(pytester):
    pytester.makepyfile(
        """
        import asyncio, pytest
        @pytest.mark.asyncio
        async def test_stock():
            assert type(asyncio.get_running_loop()).__module__.startswith("asyncio")
        """
    )
    result = pytester.runpytest("-p", "asyncio")
    result.assert_outcomes(passed=1)
    assert "virtual seconds" not in result.stdout.str()


def test_durations_lists_each_tests_virtual_seconds(pytester):
    pytester.makepyfile(EVERY_KIND)
    result = pytester.runpytest("-p", "asyncio", "--asyncsim-mode=all", "--durations=2")
    result.stdout.fnmatch_lines(
        [
            "*asyncsim virtual durations (slowest 2)*",
            "*3600.000s virtual*test_pytest_asyncio_sleeps_an_hour",
            "*50.000s virtual*Case::test_isolated_case",
        ]
    )


def test_debug_logging_outside_the_loop_leaves_virtual_times_exact(pytester):
    # asyncio logs "Using selector" (and IsolatedAsyncioTestCase's debug loop more) outside
    # any loop; each log record reads time.time_ns(), which must not move the test's clock.
    pytester.makepyfile(EVERY_KIND)
    result = pytester.runpytest("-p", "asyncio", "--asyncsim-mode=all", "--log-level=DEBUG")
    result.assert_outcomes(passed=5)


def test_each_test_starts_at_virtual_zero_and_random_is_seeded_per_test(pytester):
    pytester.makepyfile(
        """
        import asyncio, random, pytest
        @pytest.mark.asyncio
        @pytest.mark.parametrize("n", [1, 2, 3])
        async def test_clock(n):
            assert asyncio.get_running_loop().time() == 0.0
            await asyncio.sleep(n)
            print("DRAW", random.random())
        """
    )
    result = pytester.runpytest("-p", "asyncio", "--asyncsim-mode=all", "-s")
    result.assert_outcomes(passed=3)
    draws = [word for word in result.stdout.str().split("DRAW ")[1:]]
    assert len(draws) == 3 and len({draw[:18] for draw in draws}) == 1


def test_a_spinning_test_is_stopped_by_the_hang_guard_with_its_tasks(pytester):
    pytester.makepyfile(
        """
        import asyncio, pytest
        @pytest.mark.asyncio
        async def test_spin():
            while True:
                await asyncio.sleep(0)

        @pytest.mark.asyncio
        async def test_after_it():
            await asyncio.sleep(1)
        """
    )
    result = pytester.runpytest("-p", "asyncio", "--asyncsim-mode=all", "-o", "asyncsim_timeout=1")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*SimulationTimeout: test_a_spinning_test_is_stopped*.py::test_spin ran for more "
            "than asyncsim_timeout=1 real seconds on virtual time*",
            "*test_spin() at *.py:5*",
        ]
    )


def test_sync_code_between_loops_waits_in_real_time_and_is_never_frozen(pytester):
    pytester.makepyfile(
        """
        import asyncio, threading, time

        def test_a_thread_gets_real_time_while_the_test_sleeps():
            seen = []
            threading.Thread(target=lambda: (time.sleep(0.01), seen.append(1))).start()
            time.sleep(0.3)
            assert seen == [1]

        def test_a_deadline_loop_in_sync_code_expires():
            cond = threading.Condition()
            deadline = time.monotonic() + 0.2
            with cond:
                while time.monotonic() < deadline:
                    cond.wait(0.05)

        def test_time_read_around_a_loop_run_includes_its_virtual_time():
            start = time.monotonic()
            asyncio.run(asyncio.sleep(600))
            assert 600 <= time.monotonic() - start < 601
        """
    )
    result = pytester.runpytest("--asyncsim-mode=all", "-o", "asyncsim_timeout=10")
    result.assert_outcomes(passed=3)


def test_a_module_scoped_loop_keeps_its_own_clock_across_tests(pytester):
    pytester.makepyfile(
        """
        import asyncio, time, pytest
        pytestmark = pytest.mark.asyncio(loop_scope="module")

        async def test_first():
            await asyncio.sleep(10)
            assert asyncio.get_running_loop().time() == 10.0

        async def test_second_continues_the_same_loop():
            await asyncio.sleep(5)
            assert asyncio.get_running_loop().time() == 15.0
            assert time.monotonic() == 15.0
        """
    )
    result = pytester.runpytest("-p", "asyncio", "--asyncsim-mode=all")
    result.assert_outcomes(passed=2)


def test_the_real_time_marker_keeps_a_test_on_stock_asyncio(pytester):
    pytester.makepyfile(
        """
        import asyncio, pytest
        @pytest.mark.asyncsim_real_time
        def test_stock():
            async def kind():
                return type(asyncio.get_running_loop()).__name__
            assert asyncio.run(kind()) == "_UnixSelectorEventLoop"

        def test_virtual():
            async def kind():
                return type(asyncio.get_running_loop()).__name__
            assert asyncio.run(kind()) == "SuiteLoop"
        """
    )
    result = pytester.runpytest("--asyncsim-mode=all")
    result.assert_outcomes(passed=2)


def test_real_io_is_refused_unless_the_ini_allows_it(pytester):
    pytester.makepyfile(
        """
        import asyncio

        def test_connect():
            async def main():
                try:
                    await asyncio.open_connection("127.0.0.1", 9)
                except Exception as exc:  # (RealIOError, or the refused real connection)
                    return "refused" if type(exc).__name__ == "RealIOError" else "allowed"
            print("OUTCOME", asyncio.run(main()))
        """
    )
    result = pytester.runpytest("--asyncsim-mode=all", "-s")
    result.stdout.fnmatch_lines(["*OUTCOME refused*"])
    result = pytester.runpytest("--asyncsim-mode=all", "-s", "-o", "asyncsim_allow_real_io=true")
    result.stdout.fnmatch_lines(["*OUTCOME allowed*"])


def test_marked_asyncsim_tests_keep_their_options_under_the_switch(pytester):
    pytester.makepyfile(
        """
        import asyncio, pytest
        @pytest.mark.asyncsim(until=10)
        async def test_limited():
            await asyncio.sleep(60)
        """
    )
    result = pytester.runpytest("--asyncsim-mode=all")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*until=10*"])
