"""Hypothesis strategies for schedules: explore the legal nondeterminism of a program.

>>> from hypothesis import given
>>> import asyncsim
>>> from asyncsim.testing.strategies import schedules
>>> @given(schedules())
... def test_counter(schedule):
...     assert asyncsim.run(main(), schedule=schedule) == 2  # doctest: +SKIP

A drawn schedule decides nothing in advance: while the program runs, each open choice
(a timer's lateness, a wake-up of the loop, a model's latency sample, a thread job's
result, an open order, a fault at a message) is a hypothesis draw, so any event of the
run can be changed, however deep (see :mod:`asyncsim.testing.explore`). Hypothesis
shrinks the draws toward the punctual run, so a failure is reported with the smallest
change that still breaks the program, and the run's replay string is noted::

    asyncsim: the run's schedule is Schedule.from_string('S1;t=1:100000000')
      replay it: pytest --asyncsim-replay='S1;t=1:100000000'
      or, naming what it changes: 'S1;t=bank.py:15#0+0.1s'
      - timer #1 (bank.py:15 in Account.deposit()): fired 0.1 s late

Paste it into a test (``Schedule.from_string(...)``) or rerun with
``pytest --asyncsim-replay=...`` to reproduce the identical run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from hypothesis import strategies as st

from asyncsim._validate import check_bool, check_int, is_number, refuse
from asyncsim.clock import to_ticks
from asyncsim.core.schedule import FAULT_KINDS, Schedule
from asyncsim.testing import replay
from asyncsim.testing.explore import ExploreConfig, ExploredSchedule, Explorer

__all__ = ["schedules"]

_LATENESS = "a finite number of virtual seconds >= 0 (timers may fire late, never early)"
_FAULTS = f"None, True, False or an iterable of fault kinds {FAULT_KINDS}"


def _check_lateness(name: str, value: object) -> int:
    """``value`` (virtual seconds a draw may add, >= 0) as ticks."""
    if not is_number(value):
        refuse(name, _LATENESS, value)
    assert isinstance(value, (int, float))
    if not (math.isfinite(value) and value >= 0):
        refuse(name, _LATENESS, value, error=ValueError)
    return to_ticks(value)


def _check_faults(value: object) -> bool | tuple[str, ...] | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) or not isinstance(value, Iterable):
        refuse("faults", _FAULTS, value)
    assert isinstance(value, Iterable)
    kinds = tuple(value)
    for kind in kinds:
        if kind not in FAULT_KINDS:
            refuse("faults", _FAULTS, value, error=ValueError)
    return kinds


def schedules(
    *,
    max_timer_lateness: float = 10.0,
    pauses: bool = True,
    latency: bool = True,
    max_latency: float = 1.0,
    threads: bool = True,
    max_job_delay: float = 1.0,
    orders: bool = True,
    faults: bool | Iterable[str] | None = None,
    max_fault_duration: float = 60.0,
    guided: bool = False,
    chaos: bool = False,
    pct_depth: int | None = None,
) -> st.SearchStrategy[Schedule]:
    """A strategy drawing :class:`asyncsim.Schedule` objects that explore a run as it goes.

    By default only what real asyncio and a real network could do varies: timers fire
    late (never early), the loop wakes late from its sleep (a pause: everything due
    meanwhile runs in one batch, in deadline order), model latency samples grow (never
    shrink), thread job results arrive late, and open same-instant orders take another
    alternative. Faults are drawn where models declared them (``scheduled_faults``).

    Parameters
    ----------
    max_timer_lateness : float
        Most virtual seconds a timer, or a wake-up of the loop, may be late (0: punctual).
    pauses : bool
        Let the loop wake late from its sleep (a GC pause, a busy CPU, a stopped VM).
    latency : bool
        Perturb latency samples of network/service models.
    max_latency : float
        Most virtual seconds added to one latency sample.
    threads : bool
        Delay thread job results (varies their completion order).
    max_job_delay : float
        Most virtual seconds one thread job's result is delivered late.
    orders : bool
        Explore the alternatives where asyncio leaves the order of simultaneous
        events open (``ScheduleState.choose``).
    faults : None, bool or iterable of str
        None: the faults models declared (``Network.scheduled_faults``,
        ``Server.scheduled_faults``); True: every fault any model can inject
        (partitions, resets, hosts down, service errors); False: none; or the kinds
        to inject everywhere (e.g. ``("partition",)``).
    max_fault_duration : float
        Longest partition or host-down a drawn fault lasts (virtual seconds).
    guided : bool
        Coverage guidance: each run reports how many distinct task-step transitions
        (task A's step followed by task B's) it had to hypothesis's ``target()``, whose
        targeting phase then mutates the examples that interleave tasks most.
    chaos : bool
        Beyond asyncio's FIFO guarantee: reorder ready callbacks of different tasks
        (replay strings start with ``X1``).
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
    fault_ticks = _check_lateness("max_fault_duration", max_fault_duration)
    flags = {
        "pauses": pauses,
        "latency": latency,
        "threads": threads,
        "orders": orders,
        "guided": guided,
        "chaos": chaos,
    }
    for name, value in flags.items():
        check_bool(name, value)
    fault_policy = _check_faults(faults)
    if pct_depth is not None:
        check_int("pct_depth", pct_depth, minimum=1)
    if chaos and pct_depth is not None:
        raise ValueError(
            f"chaos=True and pct_depth={pct_depth!r} are two orderings; choose one of them"
        )
    config = ExploreConfig(
        timer=timer_ticks,
        wakeup=timer_ticks if pauses else 0,
        latency=latency_ticks if latency else 0,
        job=job_ticks if threads else 0,
        orders=orders,
        faults=fault_policy,
        fault_duration=max(1, fault_ticks),
        guided=guided,
    )
    chaos_st = st.lists(st.integers(0, 7), max_size=64).map(tuple)
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
        explorer = Explorer(draw(st.data()).conjecture_data, config)
        explorer.prepare()
        return ExploredSchedule(explorer, chaos=chaos_choices, pct=pct)

    return draw_schedule()
