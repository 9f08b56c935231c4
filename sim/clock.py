"""The virtual clock: an integer count of nanoseconds.

Every conversion between float seconds (what asyncio's API speaks) and
integer ticks (what the simulator stores) happens here, so results are exact
and identical on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["INFINITE_TICKS", "TICKS_PER_SECOND", "Clock", "to_seconds", "to_ticks"]

TICKS_PER_SECOND = 1_000_000_000
#: Deadline used for timers that can never fire (``sleep(math.inf)``).
INFINITE_TICKS = 1 << 62


def to_ticks(seconds: float) -> int:
    """Convert virtual seconds to integer ticks (nanoseconds), rounding to nearest.

    ``+inf`` maps to :data:`INFINITE_TICKS`; ``-inf`` and NaN map to ``0`` ticks
    of delay (asyncio fires such timers at once).
    """
    try:
        ticks = round(seconds * TICKS_PER_SECOND)
    except (OverflowError, ValueError):
        if seconds == math.inf:
            return INFINITE_TICKS
        return 0 if math.isnan(seconds) else -INFINITE_TICKS
    return max(-INFINITE_TICKS, min(ticks, INFINITE_TICKS))


def to_seconds(ticks: int) -> float:
    """Convert integer ticks (nanoseconds) to float virtual seconds."""
    return ticks / TICKS_PER_SECOND


class Clock:
    """A virtual clock shared by every loop of one simulation.

    ``now`` is the current virtual time in integer nanoseconds. It only moves
    forward: the loop jumps it to the next timer, and a blocking
    ``time.sleep`` inside the simulation advances it via :meth:`block`.
    """

    __slots__ = ("now", "on_block")

    def __init__(self, start: int = 0) -> None:
        self.now = start
        #: Called as ``on_block(start_ticks, end_ticks)`` after a blocking sleep.
        self.on_block: Callable[[int, int], None] | None = None

    def seconds(self) -> float:
        """The current virtual time in seconds."""
        return self.now / TICKS_PER_SECOND

    def block(self, ticks: int) -> None:
        """Advance the clock by ``ticks`` while the caller blocks (``time.sleep``)."""
        start = self.now
        self.now = start + ticks
        if self.on_block is not None:
            self.on_block(start, self.now)

    def __repr__(self) -> str:
        return f"<Clock t={self.seconds()!r}s>"
