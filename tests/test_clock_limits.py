"""The clock has no horizon: any finite delay asyncio accepts is exact, infinity is never,
overflow raises what stock asyncio raises; and no timer fires before its deadline."""

import asyncio
import math
import sys
import time
from fractions import Fraction

import pytest

import asyncsim
from asyncsim.clock import TICKS_PER_SECOND, deadline_ticks, to_ticks


def elapsed_after(awaitable_factory, **options):
    async def main():
        await awaitable_factory()
        return asyncio.get_running_loop().time()

    return asyncsim.run(main(), **options)


@pytest.mark.parametrize("delay", [365 * 86400.0, 100 * 365.25 * 86400, 1e10, 1e300])
def test_long_sleeps_end_exactly_at_their_delay(delay):
    assert elapsed_after(lambda: asyncio.sleep(delay)) == delay


def test_the_largest_float_delay_is_a_timer_like_any_other():
    assert elapsed_after(lambda: asyncio.sleep(sys.float_info.max)) == sys.float_info.max


def test_a_1e10_s_sleep_is_not_never_it_ends_within_until():
    assert elapsed_after(lambda: asyncio.sleep(1e10), until=2e10) == 1e10


def test_huge_timeouts_do_not_fire_at_once():
    async def wait_for():
        return await asyncio.wait_for(asyncio.sleep(2, "done"), timeout=1e300)

    assert asyncsim.run(wait_for()) == "done"

    async def timeout():
        async with asyncio.timeout(1e300):
            await asyncio.sleep(3)
        return asyncio.get_running_loop().time()

    assert asyncsim.run(timeout()) == 3.0


def test_a_huge_until_does_not_stop_a_short_program():
    run = asyncsim.simulate(asyncio.sleep(1), until=1e300)
    assert run.exception is None and run.elapsed == 1.0


def test_an_infinite_sleep_never_ends_so_the_program_deadlocks():
    # Nothing can ever happen (stock asyncio would wait forever), even with until= later.
    for options in ({}, {"until": 50}):
        run = asyncsim.simulate(asyncio.sleep(math.inf), **options)
        assert isinstance(run.exception, asyncsim.Deadlock) and run.elapsed == 0.0
        assert "waiting on asyncio.sleep until t=inf" in str(run.exception)


def test_nan_and_minus_infinity_fire_at_once_as_in_stock_asyncio():
    async def main():
        loop = asyncio.get_running_loop()
        await asyncio.sleep(1)
        await asyncio.sleep(math.nan)
        await asyncio.sleep(-math.inf)
        return loop.time()

    assert asyncsim.run(main()) == 1.0
    stock = asyncio.new_event_loop()
    try:
        start = stock.time()
        stock.run_until_complete(asyncio.sleep(math.nan))
        assert stock.time() - start < 1  # (stock fires it at once too)
    finally:
        stock.close()


def test_time_sleep_beyond_what_the_real_one_accepts_raises_the_same_error():
    async def main():
        time.sleep(1e300)

    with pytest.raises(OverflowError) as virtual:
        asyncsim.run(main())
    with pytest.raises(OverflowError) as real:
        time.sleep(1e300)
    assert str(virtual.value) == str(real.value)

    async def nan():
        time.sleep(math.nan)

    with pytest.raises(ValueError):
        asyncsim.run(nan())


def test_time_sleep_of_a_century_advances_the_clock_exactly():
    async def main():
        time.sleep(100 * 365 * 86400.0)
        return time.monotonic(), asyncio.get_running_loop().time()

    assert asyncsim.run(main()) == (100 * 365 * 86400.0, 100 * 365 * 86400.0)


def test_ticks_convert_exactly_for_every_finite_float():
    assert to_ticks(1e300) == int(Fraction(1e300) * TICKS_PER_SECOND)  # (1e300 is an int)
    assert to_ticks(2.5e-9) == 2 and to_ticks(3.5e-9) == 4  # ties to even, exactly
    assert to_ticks(0.82) == 820_000_000
    with pytest.raises(OverflowError):
        to_ticks(math.inf)
    with pytest.raises(ValueError):
        to_ticks(math.nan)


# -- sub-tick sleeps: never early -------------------------------------------------------


def test_positive_delays_never_round_to_zero_ticks_or_end_early():
    assert deadline_ticks(3.3e-10) == 1
    assert deadline_ticks(1 / 30) == 33_333_334  # not 33,333,333: that reads as < 1/30
    assert deadline_ticks(0.82) == 820_000_000  # whole nanoseconds stay exact
    assert elapsed_after(lambda: asyncio.sleep(0.82)) == 0.82


def test_a_rate_limiter_sleeping_the_remainder_reaches_its_deadline():
    async def limiter():
        loop = asyncio.get_running_loop()
        ends = []
        for _ in range(30):
            deadline = loop.time() + 1 / 30
            while (gap := deadline - loop.time()) > 0:
                await asyncio.sleep(gap)
            assert loop.time() >= deadline
            ends.append(loop.time())
        return ends

    run = asyncsim.simulate(limiter(), max_steps=10_000)
    assert run.exception is None
    # Each period ends at the first tick not before the float deadline the program
    # computed (some are 33,333,333 ns, when t + 1/30 rounds down as a float).
    assert run.result[-1] == 1.00000002
    assert run.steps < 100  # one sleep per period: no sub-tick spinning


def test_call_at_never_fires_before_the_time_it_was_given():
    async def main():
        loop = asyncio.get_running_loop()
        fired = loop.create_future()
        when = 1 / 3
        loop.call_at(when, lambda: fired.set_result(loop.time()))
        return when, await fired

    when, at = asyncsim.run(main())
    assert at >= when and at == 0.333333334
