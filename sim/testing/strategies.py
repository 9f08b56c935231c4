"""Hypothesis strategies for schedules: explore the legal nondeterminism of a program.

>>> from hypothesis import given
>>> import asyncsim
>>> from asyncsim.testing.strategies import schedules
>>> @given(schedules())
... def test_counter(schedule):
...     assert asyncsim.run(main(), schedule=schedule) == 2  # doctest: +SKIP

A drawn :class:`asyncsim.Schedule` is a few lists of non-negative nanoseconds that
hypothesis shrinks toward empty lists and zeros, i.e. toward the punctual
schedule, so a failure is reported with the smallest lateness that still
breaks the program. The falsifying example prints as
``Schedule.from_string('S1;t=...')``: paste it into a test, or rerun with
``pytest --asyncsim-replay='S1;t=...'``, to reproduce the identical run.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

from asyncsim._validate import check_bool, check_int, is_number, refuse
from asyncsim.clock import to_ticks
from asyncsim.core.schedule import Schedule
from asyncsim.testing import replay

__all__ = ["schedules"]

# How many timers / samples / jobs a drawn schedule perturbs at most; later ones
# are punctual. Bounded so that hypothesis's data budget is never the limit.
_MAX_DRAWS = 32
_STEPS = 1_000


_LATENESS = "a finite number of virtual seconds >= 0 (timers may fire late, never early)"


def _check_lateness(name: str, value: object) -> int:
    """``value`` (virtual seconds a draw may add, >= 0) as ticks."""
    if not is_number(value):
        refuse(name, _LATENESS, value)
    assert isinstance(value, (int, float))
    if not (math.isfinite(value) and value >= 0):
        refuse(name, _LATENESS, value, error=ValueError)
    return to_ticks(value)


def schedules(
    *,
    max_timer_lateness: float = 1.0,
    latency: bool = True,
    max_latency: float = 1.0,
    threads: bool = True,
    max_job_delay: float = 1.0,
    chaos: bool = False,
    pct_depth: int | None = None,
) -> st.SearchStrategy[Schedule]:
    """A strategy drawing :class:`asyncsim.Schedule` objects.

    By default only legal nondeterminism varies: timers fire late (never early),
    model latency samples grow (see :func:`asyncsim.core.schedule.perturb_latency`), and
    executor job results arrive late, which varies their completion order.

    Parameters
    ----------
    max_timer_lateness : float
        Most virtual seconds a timer may fire late (0 keeps timers punctual).
    latency : bool
        Perturb latency samples of network/service models.
    max_latency : float
        Most virtual seconds added to one latency sample.
    threads : bool
        Delay executor job results (varies their completion order).
    max_job_delay : float
        Most virtual seconds one executor result is delivered late.
    chaos : bool
        Beyond asyncio's FIFO guarantee: reorder ready callbacks of different tasks.
    pct_depth : int, optional
        Beyond asyncio's FIFO guarantee: PCT priority scheduling that finds
        ordering bugs of depth ``pct_depth`` (``pct_depth - 1`` change points).

    Raises
    ------
    ValueError, TypeError
        Naming the bad argument (a negative lateness, a non-bool flag ...).
    """
    timer_ticks = _check_lateness("max_timer_lateness", max_timer_lateness)
    latency_ticks = _check_lateness("max_latency", max_latency)
    job_ticks = _check_lateness("max_job_delay", max_job_delay)
    latency = check_bool("latency", latency)
    threads = check_bool("threads", threads)
    chaos = check_bool("chaos", chaos)
    if pct_depth is not None:
        check_int("pct_depth", pct_depth, minimum=1)
    if chaos and pct_depth is not None:
        raise ValueError(
            f"chaos=True and pct_depth={pct_depth!r} are two orderings; choose one of them"
        )

    def ticks(bound: int, enabled: bool = True) -> st.SearchStrategy[tuple[int, ...]]:
        if not enabled or bound == 0:
            return st.just(())
        # hypothesis favours small integers in large ranges, and a nanosecond of
        # lateness rarely matters: draw a coarse step (1/1000 of the bound, spread
        # evenly) plus a fine remainder; both shrink to 0, so the minimal failing
        # lateness is found to the nanosecond.
        step = max(1, bound // _STEPS)
        values = st.tuples(st.integers(0, bound // step), st.integers(0, step - 1)).map(
            lambda pair: min(bound, pair[0] * step + pair[1])
        )
        # Half the entries punctual: a few late timers among punctual ones is typical.
        return st.lists(st.one_of(st.just(0), values), max_size=_MAX_DRAWS).map(tuple)

    timers_st = ticks(timer_ticks)
    latency_st = ticks(latency_ticks, latency)
    jobs_st = ticks(job_ticks, threads)
    chaos_st = st.lists(st.integers(0, 7), max_size=_MAX_DRAWS).map(tuple)
    pct_seed_st = st.integers(0, 2**32 - 1)
    pct_changes_st = st.lists(
        st.integers(1, 500), min_size=(pct_depth or 1) - 1, max_size=(pct_depth or 1) - 1
    )

    @st.composite
    def draw_schedule(draw: st.DrawFn) -> Schedule:
        if replay.replayed is not None:  # pytest --asyncsim-replay=STRING
            return replay.replayed
        pct = None
        chaos_choices = None
        if chaos:
            chaos_choices = draw(chaos_st)
        elif pct_depth is not None:
            pct = (draw(pct_seed_st), pct_depth, *draw(pct_changes_st))
        return Schedule(
            timer_lateness=draw(timers_st),
            latency=draw(latency_st),
            job_delay=draw(jobs_st),
            chaos=chaos_choices,
            pct=pct,
        )

    return draw_schedule()
