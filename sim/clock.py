"""The virtual clock: an integer count of nanoseconds.

Every conversion between float seconds (what asyncio's API speaks) and
integer ticks (what the simulator stores) happens here, so results are exact
and identical on every machine.

Ticks are Python integers, so there is no horizon: any finite number of seconds
is a whole number of ticks (a year, a century, ``1e300`` s), converted exactly.
Infinity is not a number of ticks: a timer due at ``+inf`` seconds never fires,
and its deadline is :data:`NEVER`.

Two conversions, for two purposes:

* :func:`to_ticks` is the nearest tick, for durations and instants a model
  computes with (latency samples, fault windows, ``start=``, ``until=``);
* :func:`deadline_ticks` is for timers (``call_later``, ``call_at``,
  ``asyncio.sleep``, ``time.sleep``): never early. It is the nearest tick, moved
  one tick later when that would read (as ``loop.time()`` reads ticks) as less
  than the deadline the program asked for. So ``sleep(0.82)`` lasts exactly
  820,000,000 ticks and ends at ``loop.time() == 0.82``, ``sleep(1 / 30)`` lasts
  33,333,334 ticks, not 33,333,333 (which would end before ``1 / 30``), and any
  positive delay lasts at least one tick, so a program that sleeps "whatever is
  left" until ``loop.time()`` reaches its deadline always gets there.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

__all__ = [
    "INFINITE_TICKS",
    "MAX_TICKS",
    "NEVER",
    "TICKS_PER_SECOND",
    "Clock",
    "deadline_ticks",
    "to_seconds",
    "to_ticks",
]

TICKS_PER_SECOND = 1_000_000_000
#: The deadline of a timer that never fires (``sleep(math.inf)``): later than every tick.
NEVER: float = math.inf
#: The name this deadline had when it was a large integer (it is now :data:`NEVER`).
INFINITE_TICKS: float = NEVER
#: The latest tick that ``loop.time()`` can read (about 1.8e308 seconds, the largest
#: float). A deadline past it is one a float clock cannot reach either: asyncio's
#: ``loop.time() + delay`` overflows to ``inf`` there, so such a timer never fires.
MAX_TICKS = (int(sys.float_info.max) + 2**970) * TICKS_PER_SECOND - 1  # (+ half its last bit)

# |seconds| below this: seconds * 1e9 is below 2**53, where round() of the float product is
# the nearest tick to the exact value. At or above it, the exact rational is used.
_FAST_LIMIT = 2**53 / TICKS_PER_SECOND


def to_ticks(seconds: float) -> int:
    """Convert a finite number of virtual seconds to the nearest tick (nanosecond).

    Exact for every finite float (ties go to the even tick): ``to_ticks(0.82)`` is
    820,000,000 and ``to_ticks(1e300)`` is ``10**309``-ish, exactly.

    Raises
    ------
    OverflowError
        For ``inf`` or ``-inf``, which are no number of ticks (as ``int(math.inf)``).
    ValueError
        For NaN (as ``int(math.nan)``).
    """
    if -_FAST_LIMIT < seconds < _FAST_LIMIT:
        return round(seconds * TICKS_PER_SECOND)
    numerator, denominator = float(seconds).as_integer_ratio()  # raises for inf and NaN
    quotient, remainder = divmod(numerator * TICKS_PER_SECOND, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2):
        quotient += 1
    return quotient


def deadline_ticks(seconds: float) -> int | float:
    """Ticks for a timer's delay or deadline of ``seconds``: never early.

    The nearest tick, one later when that tick reads as less than ``seconds``
    (``ticks / TICKS_PER_SECOND < seconds``, the way ``loop.time()`` reads the
    clock). So delays that are whole nanoseconds stay exact, no positive delay is
    0 ticks, and a timer never fires before the deadline the program computed.
    ``+inf`` gives :data:`NEVER`.

    Examples
    --------
    >>> deadline_ticks(0.82), deadline_ticks(1 / 30), deadline_ticks(3.3e-10)
    (820000000, 33333334, 1)
    """
    if seconds == NEVER:
        return NEVER
    ticks = to_ticks(seconds)
    if ticks / TICKS_PER_SECOND < seconds:
        ticks += 1
    return ticks


def to_seconds(ticks: int) -> float:
    """Convert integer ticks (nanoseconds) to float virtual seconds (as ``loop.time()``)."""
    return ticks / TICKS_PER_SECOND


class Clock:
    """A virtual clock shared by every loop of one simulation.

    ``now`` is the current virtual time in integer nanoseconds. It only moves
    forward: the loop jumps it to the next timer, and a blocking
    ``time.sleep`` inside the simulation advances it via :meth:`block`.

    The clock also numbers the tasks its loops create (:meth:`next_task`), so that
    task names and the order of sets of tasks depend on the simulation alone.
    """

    __slots__ = ("_tasks", "now", "on_block")

    def __init__(self, start: int = 0) -> None:
        self.now = start
        #: Called as ``on_block(start_ticks, end_ticks)`` after a blocking sleep.
        self.on_block: Callable[[int, int], None] | None = None
        self._tasks = 0

    def seconds(self) -> float:
        """The current virtual time in seconds."""
        return self.now / TICKS_PER_SECOND

    def next_task(self) -> int:
        """The number of the next task created on this clock's loops (1, 2, ...)."""
        self._tasks += 1
        return self._tasks

    def block(self, ticks: int) -> None:
        """Advance the clock by ``ticks`` while the caller blocks (``time.sleep``)."""
        start = self.now
        self.now = start + ticks
        if self.on_block is not None:
            self.on_block(start, self.now)

    def __repr__(self) -> str:
        return f"<Clock t={self.seconds()!r}s>"
