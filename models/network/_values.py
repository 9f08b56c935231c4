"""Checks of the numbers a network model is built from; draws and waits in ticks.

Durations are :data:`asyncsim.models.distributions.Duration`: virtual seconds, a plain
number or any object with a ``sample(rng) -> float`` method. Internally every time
is an integer count of nanoseconds (``asyncsim.clock`` ticks), as on the virtual
clock, so transfer times add up exactly.
"""

from __future__ import annotations

import asyncio
import math
import random

from asyncsim._validate import is_number, refuse
from asyncsim.clock import to_seconds, to_ticks
from asyncsim.core import durations
from asyncsim.models.distributions import Duration, sample_duration

__all__ = ["check_probability", "check_rate", "draw", "scaled", "sleep_until"]


def check_rate(name: str, value: object) -> float | None:
    """A positive finite rate (bytes per second), or None for unlimited."""
    if value is None:
        return None
    allowed = "a finite number of bytes per second > 0 (None for unlimited)"
    if not is_number(value):
        refuse(name, allowed, value)
    assert isinstance(value, (int, float))
    if not math.isfinite(value) or value <= 0:
        refuse(name, allowed, value, error=ValueError)
    return float(value)


def check_probability(name: str, value: object) -> float:
    """A probability in [0, 1): 1 would lose every packet."""
    allowed = "a probability in [0, 1) (1 would lose every packet)"
    if not is_number(value):
        refuse(name, allowed, value)
    assert isinstance(value, (int, float))
    if not 0 <= value < 1:
        refuse(name, allowed, value, error=ValueError)
    return float(value)


def draw(name: str, value: Duration, rng: random.Random) -> int:
    """Draw ``value`` (a number or distribution) as integer ticks, checking the draw."""
    return to_ticks(sample_duration(name, value, rng))


def scaled(key: str, label: str, ticks: int) -> int:
    """``ticks`` of the component ``key`` as a what-if profile run scales them (else as given).

    See :mod:`asyncsim.core.durations` for the keys.
    """
    plan = durations.current()
    return ticks if plan is None else plan.ticks(key, label, ticks)


async def sleep_until(loop: asyncio.AbstractEventLoop, when: int) -> None:
    """Sleep until virtual time ``when`` (ticks); at once if it has passed."""
    delay = when - to_ticks(loop.time())
    await asyncio.sleep(to_seconds(delay) if delay > 0 else 0)
