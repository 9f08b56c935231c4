"""Exploring a run's open choices with hypothesis, while the program runs.

:func:`asyncsim.testing.strategies.schedules` draws an :class:`ExploredSchedule`: a
:class:`asyncsim.Schedule` that decides nothing in advance. While the simulation runs,
its :class:`Explorer` answers each open choice (this timer's lateness, that latency
sample, the next wake-up of the loop, an open order, a fault at this message) with
hypothesis draws from the running example, so that:

* every event can be chosen, however deep in the run (no fixed list of the first N);
* events are grouped in *streams* by where they happen (a timer's call site, a model's
  name): each stream draws whether it is perturbed at all and, if so, how far apart
  its perturbed events are (a gap class of 1, 4, 16 ... events), so a run can have one
  late timer after 40 on time at the same line, or every timer of one line late;
* hypothesis shrinks all of it toward the punctual run: streams off, the first event
  of a stream, the smallest amount; a failure ends at the minimal single change;
* the run's decisions are recorded: when the run ends, the schedule becomes the
  concrete schedule that replays it exactly (its replay string), and a note names what
  was changed (``timer #40 (app.py:42 in load()): fired 0.1 s late``).

Every draw has fixed constraints (hypothesis requires a draw's constraints to be the
same between test cases), so nothing learned in earlier examples changes how a choice
is read: replaying and shrinking are exact. With ``guided=True`` each run reports to
hypothesis's ``target()`` how many distinct task-step transitions (task A's step
followed by task B's) it had, and hypothesis's targeting phase mutates the examples that
interleave tasks most (coverage guidance).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from hypothesis import currently_in_test_context, note, target
from hypothesis.control import current_build_context
from hypothesis.errors import StopTest

from asyncsim.core.instrument import Instrument
from asyncsim.core.schedule import Schedule, ScheduleState, SiteEntry

__all__ = ["ExploreConfig", "ExploredSchedule", "Explorer", "explain", "named"]

#: Gap classes: a perturbed stream's next perturbed event is 0..G events later.
GAPS = (0, 3, 15, 63, 255, 1023, 4095, 16383, 65535)
_STEPS = 1_000
#: Draw no more than this much of an example (hypothesis's own limit is 8 * 1024);
#: the rest of a very long run is on time.
_BUDGET = 7 * 1024
#: Generation weights of a stream's gap class (class 0: the stream is never perturbed).
#: Fixed: hypothesis requires every draw's constraints to be the same between test
#: cases, so what earlier examples learned may not change them.
_GAP_WEIGHTS = {0: 0.45}
#: Generation weights of a countdown: the very next event half of the time.
_FIRST_WEIGHTS = {0: 0.5}
#: A fault opportunity the stream perturbs injects a fault (not "none") most of the time.
_FAULT_WEIGHTS = {0: 0.1}
_TARGET = "asyncsim: distinct task-step transitions"


@dataclass(frozen=True)
class ExploreConfig:
    """What an explorer may change, with the largest amounts (ticks; 0 turns a kind off)."""

    timer: int = 0
    wakeup: int = 0
    latency: int = 0
    job: int = 0
    orders: bool = True
    faults: bool | tuple[str, ...] | None = None
    fault_duration: int = 0
    guided: bool = False


class _Stream:
    """One stream's cursor: events to skip before the next perturbed one (None: no more)."""

    __slots__ = ("countdown", "gap")

    def __init__(self, gap: int | None, countdown: int | None) -> None:
        self.gap = gap
        self.countdown = countdown


class _Guide(Instrument):
    """Guided mode: records which task ran after which (an interleaving signature)."""

    def __init__(self) -> None:
        self.previous = ""
        self.transitions: set[tuple[str, str]] = set()

    def before_step(self, handle: asyncio.Handle) -> None:
        task = getattr(getattr(handle, "_callback", None), "__self__", None)
        if isinstance(task, asyncio.Task):
            coro = task.get_coro()
            name = getattr(coro, "__qualname__", "?")
            self.transitions.add((self.previous, name))
            self.previous = name


class Explorer:
    """Answers a run's open choices with draws from the running hypothesis example.

    A :class:`asyncsim.core.schedule.ChoiceSource`; made by :func:`schedules`, one per
    example, and used by the first simulation that plays its :class:`ExploredSchedule`.
    """

    def __init__(self, data: Any, config: ExploreConfig) -> None:
        self._data = data  # hypothesis's ConjectureData of the example
        self.config = config
        self._streams: dict[tuple[str, str], _Stream] = {}
        self.schedule: ExploredSchedule | None = None
        self.guide: _Guide | None = _Guide() if config.guided else None

    def prepare(self) -> None:
        """Draw the wake-up stream now, while hypothesis generates the test's arguments.

        Hypothesis's first integer draw in a process collects constants from the test's
        modules (a few hundred milliseconds, once): made here, it stays out of the
        first example's own time (and its deadline).
        """
        self._stream(("w", "loop"))

    # -- drawing ----------------------------------------------------------------------------

    def _open(self) -> bool:
        # A fixed budget, never the example's own limit (shorter when hypothesis replays
        # a prefix): the same choices must always be read the same way.
        data = self._data
        return not data.frozen and data.length < _BUDGET

    def _int(self, low: int, high: int, weights: dict[int, float] | None = None) -> int:
        if high <= low or not self._open():
            return low
        try:
            return int(self._data.draw_integer(low, high, weights=weights))
        except StopTest:
            # The example ran out of choices (hypothesis replaying a shorter prefix): it
            # is discarded, so the rest of the run stays punctual rather than letting the
            # control exception loose in the program (asyncio would catch it).
            return low

    def _bool(self, p: float) -> bool:
        if not self._open():
            return False
        try:
            return bool(self._data.draw_boolean(p))
        except StopTest:
            return False

    def _amount(self, bound: int, base: int = 0) -> int:
        """Drawn ticks in ``[0, bound]``: a magnitude class, then coarse + fine.

        The coarse part counts steps of a power of ten (about a thousandth of the
        class's top), the fine part the nanoseconds within a step, so shrinking ends
        at the least failing amount to the nanosecond when that amount is a multiple of
        the step (a bug at "0.2 s late"), and within one step otherwise.

        The classes are relative to the event's own duration ``base`` (a quarter of
        it, as much, four times as much) and absolute (``bound`` / 10,000, / 100, all
        of it); without a ``base`` the relative ones are absolute too (/ 1,000, / 10).
        """
        magnitude = self._int(0, 5)
        if magnitude < 3 and base > 0:
            top = min(bound, (base >> 2, base, base << 2)[magnitude])
        else:
            top = bound // (1_000, 10, 1, 10_000, 100, 1)[magnitude]
        top = max(1, top)
        # A power of ten near top / 1,000: amounts that are round numbers (as the
        # program's own constants are) stay reachable by shrinking the coarse part.
        step = 10 ** max(0, len(str(top // _STEPS)) - 1) if top >= _STEPS else 1
        coarse = self._int(0, top // step)
        fine = self._int(0, step - 1)
        return min(top, coarse * step + fine)

    def _stream(self, key: tuple[str, str]) -> _Stream:
        stream = self._streams.get(key)
        if stream is None:
            gap_class = self._int(0, len(GAPS), _GAP_WEIGHTS)
            gap = GAPS[gap_class - 1] if gap_class else None
            countdown = self._int(0, gap, _FIRST_WEIGHTS) if gap is not None else None
            stream = self._streams[key] = _Stream(gap, countdown)
        return stream

    def _hit(self, key: tuple[str, str]) -> bool:
        """Whether this event of stream ``key`` is perturbed (advancing its cursor)."""
        stream = self._stream(key)
        if stream.countdown is None:
            return False
        if stream.countdown > 0:
            stream.countdown -= 1
            return False
        return True

    def _after_hit(self, key: tuple[str, str]) -> None:
        stream = self._streams[key]
        assert stream.gap is not None
        stream.countdown = self._int(0, stream.gap, _FIRST_WEIGHTS) if self._bool(0.5) else None

    # -- the ChoiceSource protocol ------------------------------------------------------------

    def delay(self, dimension: str, site: str, index: int, occurrence: int, base: int) -> int:
        bound = {
            "t": self.config.timer,
            "w": self.config.wakeup,
            "l": self.config.latency,
            "j": self.config.job,
        }[dimension]
        key = (dimension, site)
        if bound == 0 or not self._hit(key):
            return 0
        amount = self._amount(bound, base)
        self._after_hit(key)
        return amount

    def order(self, kind: str, index: int, count: int) -> int:
        key = ("o", kind)
        if not self.config.orders or count < 2 or not self._hit(key):
            return 0
        choice = self._int(0, count - 1)  # (0 lets the shrinker undo this event alone)
        self._after_hit(key)
        return choice

    def fault(
        self,
        where: str,
        index: int,
        occurrence: int,
        kinds: tuple[str, ...],
        declared: tuple[str, ...],
    ) -> tuple[str, int] | None:
        policy = self.config.faults
        if policy is None:
            eligible = tuple(k for k in kinds if k in declared)
        elif policy is True:
            eligible = kinds
        elif policy is False:
            eligible = ()
        else:
            eligible = tuple(k for k in kinds if k in policy)
        key = ("f", where)
        if not eligible or not self._hit(key):
            return None
        # 0: no fault after all, so the shrinker can undo this one fault and keep a later one
        index = self._int(0, len(eligible), _FAULT_WEIGHTS)
        kind = eligible[index - 1] if index else None
        lasting = kind in ("partition", "host_down")
        duration = max(1, self._amount(self.config.fault_duration)) if lasting else 0
        self._after_hit(key)
        return None if kind is None else (kind, duration)

    def finished(self, state: ScheduleState) -> None:
        realized = state.realized()
        if self.schedule is not None:
            self.schedule._become(realized)
        if not currently_in_test_context():
            return
        if self.guide is not None and _TARGET not in self._data.target_observations:
            # Coverage guidance: hypothesis's targeting phase climbs toward runs whose
            # tasks interleave in more distinct ways.
            target(float(len(self.guide.transitions)), label=_TARGET)
        if current_build_context().is_final:
            note(explain(state, realized))


def named(state: ScheduleState, realized: Schedule) -> Schedule:
    """``realized`` with its timers, jobs, latencies and faults named by site and occurrence."""
    entries = []
    dims = {"timer": "t", "job": "j", "latency": "l"}
    for change in state.applied:
        if change.kind in dims and change.occurrence >= 0:
            entries.append(
                SiteEntry(dims[change.kind], change.site, change.occurrence, change.amount)
            )
        elif change.kind == "fault":
            entries.append(
                SiteEntry("f", change.site, change.occurrence, change.amount, change.detail)
            )
    return Schedule(
        wakeup_lateness=realized.wakeup_lateness,
        orders=realized.orders,
        by_site=tuple(entries),
        chaos=realized.chaos,
        pct=realized.pct,
    )


def explain(state: ScheduleState, realized: Schedule) -> str:
    """What a failing example prints: the replay string, its named form, each change."""
    text = realized.to_string()
    lines = [f"asyncsim: the run's schedule is {realized!r}"]
    if realized.punctual:
        lines.append("  (punctual: every timer on time, nothing injected)")
        return "\n".join(lines)
    lines.append(f"  replay it: pytest --asyncsim-replay='{text}'")
    alias = named(state, realized).to_string()
    if alias != text:
        lines.append(f"  or, naming what it changes: '{alias}'")
    if not realized.legal:
        lines.append("  (X1: it reorders callbacks, which real asyncio never does)")
    lines.extend(f"  - {line}" for line in state.describe())
    return "\n".join(lines)


class ExploredSchedule(Schedule):
    """A schedule drawn by :func:`asyncsim.testing.strategies.schedules`.

    Before its run it decides nothing; the first simulation that plays it asks its
    :class:`Explorer`, and when that run ends the schedule *becomes* the concrete schedule
    that replays the run (its fields, ``to_string()`` and ``repr`` then show it). Later
    runs with the same object replay that concrete schedule.
    """

    def __init__(
        self,
        explorer: Explorer | None,
        *,
        chaos: tuple[int, ...] | None = None,
        pct: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__(chaos=chaos, pct=pct)
        object.__setattr__(self, "_explorer", explorer)
        if explorer is not None:
            explorer.schedule = self

    def start(self) -> ScheduleState:
        explorer: Explorer | None = self.__dict__.get("_explorer")
        if explorer is None:
            return ScheduleState(self)
        object.__setattr__(self, "_explorer", None)  # one run explores; later runs replay it
        state = ScheduleState(Schedule(chaos=self.chaos, pct=self.pct), source=explorer)
        if explorer.guide is not None:
            state.instruments.append(explorer.guide)
        return state

    def _become(self, realized: Schedule) -> None:
        for name in Schedule.__dataclass_fields__:
            object.__setattr__(self, name, getattr(realized, name))
        object.__setattr__(self, "_explored", True)

    @property
    def explored(self) -> bool:
        """True once a run has decided (and this object holds) the concrete schedule."""
        return bool(self.__dict__.get("_explored"))

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        if self.explored:
            return super().__repr__()
        return "schedules() draw (decided while it runs; the replay string is noted after the run)"
