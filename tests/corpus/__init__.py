"""A corpus of concurrency bugs, each with a correct twin, for the schedule strategies.

Every :class:`Pair` is one small asyncio program in two variants: the bug (``fixed=False``)
and its twin (``fixed=True``), which differs only by the fix. Both are correct when
timers are punctual, so a test with punctual timers passes on both; the bug fails under
some schedule real asyncio and a real network could produce, the twin under none.
``pair.holds(schedule, fixed=...)`` runs the variant under ``schedule`` and says whether
its invariant held; ``pair.strategy`` are the ``schedules(...)`` arguments its property
test uses (most use the defaults; some opt in to faults).

The kinds are those issue 15 names: late-in-run (the lateness that matters lands deep in
the run), fault timing (a partition, reset or service error at the wrong message), same-
instant order (two events due at one instant), thread completion (the order and timing
of thread results) and cancellation (a timeout or shutdown landing mid-operation).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import asyncsim

KINDS = ("late-in-run", "fault timing", "same-instant order", "thread completion", "cancellation")

#: Every run stops here at the latest (virtual seconds): a hang is a failure, not a wait.
UNTIL = 3_600.0


@dataclass(frozen=True)
class Pair:
    """A bug and its twin: ``program(fixed)`` returns a coroutine whose result is checked."""

    name: str
    kind: str
    story: str
    program: Callable[[bool], Coroutine[Any, Any, Any]]
    check: Callable[[Any], bool]
    network: Callable[[], Any] | None = None
    strategy: dict[str, Any] = field(default_factory=dict)

    def run(self, schedule: asyncsim.Schedule | None, *, fixed: bool) -> asyncsim.Run:
        """One simulation of the variant under ``schedule`` (seed 0)."""
        network = self.network() if self.network is not None else None
        return asyncsim.simulate(
            self.program(fixed), schedule=schedule, network=network, seed=0, until=UNTIL
        )

    def holds(self, schedule: asyncsim.Schedule | None, *, fixed: bool) -> bool:
        """Whether the variant's invariant held under ``schedule``."""
        run = self.run(schedule, fixed=fixed)
        return run.exception is None and bool(self.check(run.result))

    def __repr__(self) -> str:
        return f"<Pair {self.name} ({self.kind})>"


def pairs() -> list[Pair]:
    """Every pair of the corpus, by kind."""
    from . import cancellation, faults, late, orders, threads

    return [*late.PAIRS, *faults.PAIRS, *orders.PAIRS, *threads.PAIRS, *cancellation.PAIRS]


def by_name(name: str) -> Pair:
    """The pair called ``name``."""
    for pair in pairs():
        if pair.name == name:
            return pair
    raise KeyError(name)
