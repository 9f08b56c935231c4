"""Validation of the numbers a network model is built from, and tick conversion.

Durations are virtual seconds: a plain number or any object with a
``sample(rng) -> float`` method (e.g. a ``asyncsim.models.distributions`` distribution).
Internally every time is an integer count of nanoseconds, as on the virtual
clock, so transfer times add up exactly.
"""

from __future__ import annotations

import math
import random
from typing import Any, Protocol, runtime_checkable

__all__ = ["Duration", "Sampler", "check_duration", "check_probability", "check_rate", "ticks"]

TICKS_PER_SECOND = 1_000_000_000


@runtime_checkable
class Sampler(Protocol):
    """Anything that draws a duration in virtual seconds from an RNG."""

    def sample(self, rng: random.Random) -> float: ...


Duration = float | int | Sampler


def ticks(seconds: float) -> int:
    """Virtual seconds to integer nanoseconds (rounded to nearest)."""
    return round(seconds * TICKS_PER_SECOND)


def check_duration(name: str, value: Any) -> Duration:
    """``value`` if it is a number of seconds >= 0 or a distribution, else a clear error."""
    if isinstance(value, bool):
        raise TypeError(
            f"{name} must be a number of virtual seconds or a distribution, got {value!r}"
        )
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        return value
    if isinstance(value, Sampler):
        return value
    raise TypeError(
        f"{name} must be a number of virtual seconds or a distribution with a "
        f"sample(rng) method (e.g. asyncsim.models.distributions.Constant(0.1)), got {value!r}"
    )


def check_rate(name: str, value: Any) -> float | None:
    """A positive finite rate (bytes per second), or None for unlimited."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of bytes per second or None, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"{name} must be a finite number of bytes per second > 0 (None for unlimited), "
            f"got {value!r}"
        )
    return float(value)


def check_probability(name: str, value: Any) -> float:
    """A probability in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a probability in [0, 1), got {value!r}")
    if not (0 <= value < 1):
        raise ValueError(
            f"{name} must be a probability in [0, 1) (1 would lose every packet), got {value!r}"
        )
    return float(value)


def draw(name: str, value: Duration, rng: random.Random) -> int:
    """Draw ``value`` (a number or distribution) as integer ticks, checking the draw."""
    if isinstance(value, (int, float)):
        return ticks(value)
    seconds = value.sample(rng)
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not math.isfinite(seconds)
        or seconds < 0
    ):
        raise ValueError(
            f"{name} distribution {value!r} drew {seconds!r}; durations must be finite "
            "numbers of seconds >= 0 (truncate the distribution at 0)"
        )
    return ticks(seconds)
