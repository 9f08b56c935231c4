"""What a traced run recorded: immutable rows and the :class:`Trace` that holds them.

``asyncsim.simulate(main(), trace=True).trace`` is a :class:`Trace`:

* ``tasks``: one :class:`TaskRow` per task (name, coroutine, creation site, parent,
  created/finished virtual times, outcome);
* ``steps``: one :class:`StepRow` per task step (when it became ready, start, end,
  what woke it, what it blocked on afterwards and the innermost *user* frame where
  it is suspended);
* ``marks`` / ``spans``: user annotations from :func:`asyncsim.mark` and :func:`asyncsim.span`;
* ``blocks``: intervals where a blocking ``time.sleep`` held the loop;
* ``lanes``, ``intervals``, ``samples``: what models recorded beside the tasks.

Times are integer ticks (nanoseconds) in the rows, with seconds properties where
useful. ``Trace.to_json()`` / ``Trace.from_json()`` round-trip exactly (the layout
is :mod:`asyncsim.trace.schema`), and the same program with the same seed gives
byte-identical JSON. The recorder that fills these rows is
:class:`asyncsim.instruments.tracer.Tracer`; the analysis of them is
:mod:`asyncsim.trace.graph` and :mod:`asyncsim.trace.critical_path`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, NamedTuple

from asyncsim.clock import TICKS_PER_SECOND
from asyncsim.trace import schema

__all__ = [
    "FUTURE_KINDS",
    "LOCK_KINDS",
    "Lane",
    "LaneInterval",
    "LaneSample",
    "LoopBlock",
    "Mark",
    "Span",
    "StepRow",
    "TaskRow",
    "Trace",
    "Value",
]

# Kinds of waits a step can end in (StepRow.blocked).
LOCK_KINDS = frozenset({"lock", "semaphore", "event", "condition", "queue", "barrier"})
FUTURE_KINDS = frozenset({"future", "task", "gather", "wait", "executor"})


class TaskRow(NamedTuple):
    """One task. Times are ticks (ns); ``parent`` and ``id`` index ``Trace.tasks``.

    ``outcome`` is ``"result"``, ``"exception"``, ``"cancelled"`` or ``"pending"``
    (not finished when the trace ended); ``detail`` is the result type or the
    exception type and message; ``runs`` names the user function that a wrapper
    coroutine (a decorator's ``<locals>.wrapper``) was awaiting on its first step.
    """

    id: int
    name: str
    coroutine: str
    site: str
    parent: int | None
    loop: int
    created: int
    finished: int | None
    outcome: str
    detail: str
    runs: str = ""


class StepRow(NamedTuple):
    """One step of a task (ticks are nanoseconds of virtual time).

    ``ready`` is when the step was scheduled (became ready), ``start``/``end`` when
    it ran. ``wake`` says what made it ready: ``"start"`` (the main task),
    ``"outside"`` (code outside any step, e.g. ``asyncio.run`` cancelling leftovers),
    ``"spawn"`` (its creation by step ``waker``), ``"step"`` (a callback scheduled
    by step ``waker``, e.g. a future it set or a task it finished), ``"timer"`` (a
    timer scheduled by step ``waker`` and due at ``due``) or ``"external"`` (a
    thread or an unknown source). ``blocked`` is what the task waited on after the
    step (``sleep`` until ``until``; ``task`` ``target``; ``gather``, ``wait``,
    ``future``, ``executor``; ``lock``, ``semaphore``, ``event``, ``condition``,
    ``queue``, ``barrier``; ``ready`` when it only yielded; ``done``), and
    ``where`` the innermost user frame where it is suspended.
    """

    id: int
    task: int
    loop: int
    ready: int
    start: int
    end: int
    wake: str
    waker: int | None
    due: int | None
    blocked: str
    until: int | None
    target: int | None
    detail: str
    where: str


class Mark(NamedTuple):
    """A ``asyncsim.mark(label)`` call at ``time`` ticks, from task ``task`` (or None)."""

    time: int
    label: str
    task: int | None


class Span(NamedTuple):
    """A ``with asyncsim.span(label):`` block from ``start`` to ``end`` ticks."""

    label: str
    task: int | None
    start: int
    end: int


class LoopBlock(NamedTuple):
    """A blocking ``time.sleep`` held loop ``loop`` from ``start`` to ``end`` ticks.

    ``task`` is the task whose step called it (None for a plain callback).
    """

    loop: int
    task: int | None
    start: int
    end: int
    where: str


Value = str | int | float | bool | None


class Lane(NamedTuple):
    """A lane: its ``name`` (unique), ``kind`` (e.g. ``"http"``, ``"connections"``,
    ``"server"``) and, for sampled lanes, the ``capacity`` that ``busy`` is a share of."""

    name: str
    kind: str
    capacity: int | None


class LaneInterval(NamedTuple):
    """Something that lasted from ``start`` to ``end`` ticks in lane ``lane``.

    ``end`` is None when it had not ended when the trace did. ``label`` is the short
    text drawn on the bar, ``task`` the task whose step began it (or None), ``attrs``
    the model's details as ``(key, value)`` pairs (see :attr:`info`).
    """

    lane: str
    start: int
    end: int | None
    label: str
    task: int | None
    attrs: tuple[tuple[str, Value], ...]

    @property
    def info(self) -> dict[str, Value]:
        """The details as a dict."""
        return dict(self.attrs)


class LaneSample(NamedTuple):
    """The state of a sampled lane from ``time`` ticks until its next sample.

    ``queue`` is how many wait, ``busy`` how many are being served (of the lane's
    capacity).
    """

    lane: str
    time: int
    queue: int
    busy: int


@dataclass(frozen=True)
class Trace:
    """What happened in a traced simulation (immutable).

    ``start`` and ``end`` are ticks; ``mains`` holds the main task of each loop in
    order (a script may call ``asyncio.run`` several times on one clock);
    ``error`` is the run's failure (exception type and message) or None.
    ``lanes``, ``intervals`` and ``samples`` are what models recorded beside the
    tasks (a host's HTTP requests, a service's queue): see :mod:`asyncsim.lanes`.
    """

    start: int
    end: int
    mains: tuple[int, ...]
    tasks: tuple[TaskRow, ...]
    steps: tuple[StepRow, ...]
    marks: tuple[Mark, ...] = ()
    spans: tuple[Span, ...] = ()
    blocks: tuple[LoopBlock, ...] = ()
    error: str | None = None
    lanes: tuple[Lane, ...] = ()
    intervals: tuple[LaneInterval, ...] = ()
    samples: tuple[LaneSample, ...] = ()
    title: str = ""

    #: The tables, by field name, with their row types (in the order JSON lists them).
    TABLES: ClassVar[Mapping[str, type[tuple[Any, ...]]]] = MappingProxyType(
        {
            "tasks": TaskRow,
            "steps": StepRow,
            "marks": Mark,
            "spans": Span,
            "blocks": LoopBlock,
            "lanes": Lane,
            "intervals": LaneInterval,
            "samples": LaneSample,
        }
    )

    @property
    def elapsed(self) -> float:
        """Virtual seconds from the start of the trace to its end."""
        return (self.end - self.start) / TICKS_PER_SECOND

    @property
    def main(self) -> int | None:
        """Id of the main task of the last loop (the critical path ends there)."""
        return self.mains[-1] if self.mains else None

    def steps_of(self, task: int) -> list[StepRow]:
        """The steps of task ``task`` in order."""
        return [s for s in self.steps if s.task == task]

    def task_named(self, name: str) -> TaskRow:
        """The first task called ``name`` (``KeyError`` if none)."""
        for row in self.tasks:
            if row.name == name:
                return row
        raise KeyError(f"no task named {name!r} in the trace")

    # -- JSON (the layout is :mod:`asyncsim.trace.schema`) -------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tables as column names plus rows of values)."""
        return schema.to_dict(self)

    def to_json(self, *, indent: int | None = None) -> str:
        """The trace as JSON text (deterministic: same program and seed, same bytes)."""
        return schema.to_json(self, indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> Trace:
        """Rebuild a trace from :meth:`to_dict` output (``ValueError`` if it is not one)."""
        return schema.from_dict(cls, data)

    @classmethod
    def from_json(cls, text: str | bytes) -> Trace:
        """Rebuild a trace from :meth:`to_json` text."""
        return schema.from_json(cls, text)

    # -- analysis (imported on first use: networkx is slow to import) --------------

    def graph(self) -> Any:
        """The task graph (``networkx.DiGraph``), see :func:`asyncsim.trace.graph.task_graph`."""
        from asyncsim.trace.graph import task_graph

        return task_graph(self)

    def dag(self) -> Any:
        """The happens-before DAG of steps, see :func:`asyncsim.trace.graph.step_dag`."""
        from asyncsim.trace.graph import step_dag

        return step_dag(self)

    def critical_path(self, task: int | None = None) -> Any:
        """The critical path to the end of ``task`` (the main task), see
        :func:`asyncsim.trace.critical_path.critical_path`."""
        from asyncsim.trace.critical_path import critical_path

        return critical_path(self, task)
