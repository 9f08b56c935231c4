"""Differential tests: generated programs give the same order of events under real
asyncio (short real sleeps) and under asyncsim. Every instant of a program is at
least one unit (40 ms real) from every other, so real-time jitter cannot reorder it."""

import asyncio

import pytest
from hypothesis import HealthCheck, assume, given, settings

import asyncsim

from .programs import model, programs, run

REAL_UNIT = 0.04  # seconds per unit under real asyncio


def event_order(runner, program):
    log = []
    runner(run(program, log, unit=REAL_UNIT, epsilon=False))
    return [ident for ident, _ in log]


def check_same_order(program):
    moments = instants_of(program)
    assume(len(moments) == len(set(moments)))  # well-separated: no two at one instant
    assume(model(program, epsilon=False)[0] <= 12 * 100_000_000)  # at most 0.48 s real
    expected = [i for _, i in sorted(model(program, epsilon=False)[1])]
    assert event_order(asyncsim.run, program) == expected
    assert event_order(asyncio.run, program) == expected


def instants_of(program):
    from .programs import instants

    return instants(program, epsilon=False)


common = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}


@settings(max_examples=8, **common)
@given(programs(max_leaves=4))
def test_small_programs_order_events_like_real_asyncio(program):
    check_same_order(program)


@pytest.mark.slow
@settings(max_examples=80, **common)
@given(programs(max_leaves=6))
def test_many_programs_order_events_like_real_asyncio(program):
    check_same_order(program)
