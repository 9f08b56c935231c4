"""Faults on the virtual network, scheduled in virtual time.

A fault is data, not a timer: the network consults the list whenever a packet
travels, so faults can be declared before the simulation starts (in a model
file) or while it runs. Only resets act on live connections at an instant and
are scheduled as timers on the loops the network is attached to.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Fault"]


@dataclass(frozen=True)
class Fault:
    """One fault: ``kind`` is ``"partition"``, ``"host_down"`` or ``"reset"``.

    ``start``/``end`` are integer ticks (nanoseconds of virtual time); ``end`` is
    None for a fault that never heals. ``a``/``b`` are host names: a partition
    separates every host of ``a`` from every host of ``b``; ``host_down`` and a
    reset with ``b=None`` concern every peer of the hosts in ``a``.
    """

    kind: str
    start: int
    end: int | None
    a: frozenset[str]
    b: frozenset[str] | None = None

    def blocks(self) -> bool:
        """Whether this fault stops packets (partitions and down hosts do)."""
        return self.kind != "reset"

    def affects(self, src: str, dst: str) -> bool:
        """Whether the fault concerns traffic between hosts ``src`` and ``dst``."""
        if self.b is None:
            return src in self.a or dst in self.a
        return (src in self.a and dst in self.b) or (src in self.b and dst in self.a)

    def active(self, t: int) -> bool:
        """Whether the fault is in force at tick ``t``."""
        return self.start <= t and (self.end is None or t < self.end)


def unblocked_at(faults: list[Fault], src: str, dst: str, t: int) -> int | None:
    """The first tick >= ``t`` at which no blocking fault separates the hosts (None: never)."""
    moved = True
    while moved:
        moved = False
        for fault in faults:
            if fault.blocks() and fault.active(t) and fault.affects(src, dst):
                if fault.end is None:
                    return None
                t = fault.end
                moved = True
    return t


def first_block_in(faults: list[Fault], src: str, dst: str, t0: int, t1: int) -> int | None:
    """The earliest start of a blocking fault in ``(t0, t1]`` between the hosts, if any."""
    starts = [f.start for f in faults if f.blocks() and t0 < f.start <= t1 and f.affects(src, dst)]
    return min(starts) if starts else None
