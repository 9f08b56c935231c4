"""What a traced run recorded: immutable rows and the :class:`Trace` that holds them.

``asyncsim.simulate(main(), trace=True).trace`` is a :class:`Trace`:

* ``tasks``: one :class:`TaskRow` per task (name, coroutine, creation site, parent,
  created/finished virtual times, outcome);
* ``steps``: one :class:`StepRow` per task step (when it became ready, start, end,
  what woke it, what it blocked on afterwards and the innermost *user* frame where
  it is suspended);
* ``marks`` / ``spans``: user annotations from :func:`asyncsim.mark` and :func:`asyncsim.span`;
* ``blocks``: intervals where a blocking ``time.sleep`` held the loop;
* ``delays``: what a schedule injected (late timers, extra latency, late thread results);
* ``exceptions``: the exception chain of the run's failure and of each task that raised;
* ``lanes``, ``intervals``, ``samples``: what models recorded beside the tasks.

Times are stored as integer ticks (nanoseconds) in fields named ``*_ns``; each has a
property without the suffix that gives virtual seconds (``step.start`` is
``step.start_ns / 1e9``), so the public times are seconds everywhere.

``Trace.to_json()`` / ``Trace.from_json()`` round-trip exactly (the layout
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


def _seconds(ticks: int | None) -> float | None:
    return None if ticks is None else ticks / TICKS_PER_SECOND


__all__ = [
    "FUTURE_KINDS",
    "LOCK_KINDS",
    "Delay",
    "ExceptionRow",
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
    """One task (``*_ns``: ticks; ``created``/``finished``: virtual seconds).

    ``parent`` and ``id`` index ``Trace.tasks``. ``outcome`` is ``"result"``,
    ``"exception"``, ``"cancelled"`` or ``"pending"`` (not finished when the trace
    ended); ``detail`` is a short repr of the result, or the exception's type and
    message (its chain and where it was raised are in ``Trace.exceptions``);
    ``runs`` names the user function that a wrapper
    coroutine (a decorator's ``<locals>.wrapper``) was awaiting on its first step.
    """

    id: int
    name: str
    coroutine: str
    site: str
    parent: int | None
    loop: int
    created_ns: int
    finished_ns: int | None
    outcome: str
    detail: str
    runs: str = ""

    @property
    def created(self) -> float:
        """When the task was created, in virtual seconds."""
        return self.created_ns / TICKS_PER_SECOND

    @property
    def finished(self) -> float | None:
        """When the task finished, in virtual seconds (None: still pending)."""
        return _seconds(self.finished_ns)


class StepRow(NamedTuple):
    """One step of a task (``*_ns``: ticks; the same names without it: virtual seconds).

    ``ready`` is when the step was scheduled (became ready), ``start``/``end`` when
    it ran. ``wake`` says what made it ready: ``"start"`` (the main task),
    ``"outside"`` (code outside any step, e.g. ``asyncio.run`` cancelling leftovers),
    ``"spawn"`` (its creation by step ``waker``), ``"step"`` (a callback scheduled
    by step ``waker``, e.g. a future it set or a task it finished), ``"timer"`` (a
    timer scheduled by step ``waker`` and due at ``due``), ``"timeout"`` (the same, for
    one of asyncio's own timeouts: ``wait_for``, ``wait``, ``as_completed``,
    ``asyncio.timeout``) or ``"external"`` (a thread or an unknown source).
    ``blocked`` is what the task waited on after the
    step (``sleep`` until ``until``; ``task`` ``target``; ``gather``, ``wait``,
    ``future``, ``executor``; ``lock``, ``semaphore``, ``event``, ``condition``,
    ``queue``, ``barrier``; ``ready`` when it only yielded; ``done``), and
    ``where`` the innermost frame of the user's own code where it is suspended (not
    asyncio's, asyncsim's, the standard library's or an installed package's), as
    ``"function() at file:line"``; ``inner`` the innermost library frame below it
    (e.g. inside aiohttp), or "" when there is none.
    """

    id: int
    task: int
    loop: int
    ready_ns: int
    start_ns: int
    end_ns: int
    wake: str
    waker: int | None
    due_ns: int | None
    blocked: str
    until_ns: int | None
    target: int | None
    detail: str
    where: str
    inner: str = ""

    @property
    def ready(self) -> float:
        """When the step became ready, in virtual seconds."""
        return self.ready_ns / TICKS_PER_SECOND

    @property
    def start(self) -> float:
        """When the step started, in virtual seconds."""
        return self.start_ns / TICKS_PER_SECOND

    @property
    def end(self) -> float:
        """When the step ended, in virtual seconds."""
        return self.end_ns / TICKS_PER_SECOND

    @property
    def due(self) -> float | None:
        """When the timer that woke it was due, in virtual seconds (None: no timer)."""
        return _seconds(self.due_ns)

    @property
    def until(self) -> float | None:
        """When the sleep it ended in was due, in virtual seconds (None: no sleep)."""
        return _seconds(self.until_ns)


class Mark(NamedTuple):
    """A ``asyncsim.mark(label)`` call at ``time`` (virtual seconds), from ``task`` (or None)."""

    time_ns: int
    label: str
    task: int | None

    @property
    def time(self) -> float:
        """When, in virtual seconds."""
        return self.time_ns / TICKS_PER_SECOND


class Span(NamedTuple):
    """A ``with asyncsim.span(label):`` block from ``start`` to ``end`` (virtual seconds)."""

    label: str
    task: int | None
    start_ns: int
    end_ns: int

    @property
    def start(self) -> float:
        """Start, in virtual seconds."""
        return self.start_ns / TICKS_PER_SECOND

    @property
    def end(self) -> float:
        """End, in virtual seconds."""
        return self.end_ns / TICKS_PER_SECOND


class LoopBlock(NamedTuple):
    """A blocking ``time.sleep`` held loop ``loop`` from ``start`` to ``end`` (virtual seconds).

    ``task`` is the task whose step called it (None for a plain callback).
    """

    loop: int
    task: int | None
    start_ns: int
    end_ns: int
    where: str

    @property
    def start(self) -> float:
        """Start, in virtual seconds."""
        return self.start_ns / TICKS_PER_SECOND

    @property
    def end(self) -> float:
        """End, in virtual seconds."""
        return self.end_ns / TICKS_PER_SECOND


class Delay(NamedTuple):
    """Time a schedule added to the run (see :class:`asyncsim.Schedule`).

    ``kind`` is ``"timer"`` (a timer fired late), ``"latency"`` (a model's latency
    sample was made longer) or ``"job"`` (a thread job's result was delivered late).
    The delay runs from ``start`` (when the thing would have happened) for ``late``
    (virtual seconds; ``*_ns`` in ticks). ``task`` is the task whose step scheduled
    it (None outside any task step) and ``where`` that step's user frame.
    """

    kind: str
    task: int | None
    start_ns: int
    late_ns: int
    where: str

    @property
    def start(self) -> float:
        """When it would have happened, in virtual seconds."""
        return self.start_ns / TICKS_PER_SECOND

    @property
    def late(self) -> float:
        """How late it was made, in virtual seconds."""
        return self.late_ns / TICKS_PER_SECOND

    @property
    def end_ns(self) -> int:
        """When it happened instead, in ticks."""
        return self.start_ns + self.late_ns


class ExceptionRow(NamedTuple):
    """One exception of a failure's chain, as Python prints it.

    ``task`` is the task that raised it (None: the run's own failure). ``depth`` is its
    place in the chain: 0 is the exception that ended the task or run, 1 the one it was
    raised from or while handling, and so on; ``link`` says which (``""`` for depth 0,
    ``"cause"`` for ``raise ... from``, ``"context"`` for raised while handling it).
    ``text`` is ``"Type: message"``, ``where`` the frame of the user's own code where it
    was raised (from its traceback), ``inner`` the library frame below that where it
    was actually raised (or "").
    """

    task: int | None
    depth: int
    link: str
    text: str
    where: str
    inner: str


Value = str | int | float | bool | None


class Lane(NamedTuple):
    """A lane: its ``name`` (unique), ``kind`` (e.g. ``"http"``, ``"connections"``,
    ``"server"``) and, for sampled lanes, the ``capacity`` that ``busy`` is a share of."""

    name: str
    kind: str
    capacity: int | None


class LaneInterval(NamedTuple):
    """Something that lasted from ``start`` to ``end`` (virtual seconds) in lane ``lane``.

    ``end`` is None when it had not ended when the trace did. ``label`` is the short
    text drawn on the bar, ``task`` the task whose step began it (or None), ``attrs``
    the model's details as ``(key, value)`` pairs (see :attr:`info`).
    """

    lane: str
    start_ns: int
    end_ns: int | None
    label: str
    task: int | None
    attrs: tuple[tuple[str, Value], ...]

    @property
    def info(self) -> dict[str, Value]:
        """The details as a dict."""
        return dict(self.attrs)

    @property
    def start(self) -> float:
        """Start, in virtual seconds."""
        return self.start_ns / TICKS_PER_SECOND

    @property
    def end(self) -> float | None:
        """End, in virtual seconds (None: still open when the trace ended)."""
        return _seconds(self.end_ns)


class LaneSample(NamedTuple):
    """The state of a sampled lane from ``time`` (virtual seconds) until its next sample.

    ``queue`` is how many wait, ``busy`` how many are being served (of the lane's
    capacity).
    """

    lane: str
    time_ns: int
    queue: int
    busy: int

    @property
    def time(self) -> float:
        """When, in virtual seconds."""
        return self.time_ns / TICKS_PER_SECOND


@dataclass(frozen=True)
class Trace:
    """What happened in a traced simulation (immutable).

    ``start``/``end`` are virtual seconds (``start_ns``/``end_ns`` ticks); ``mains``
    holds the main task of each loop in order (a script may call ``asyncio.run``
    several times on one clock); ``error`` is the run's failure (exception type and
    message) or None, its chain in ``exceptions``; ``callbacks`` counts the callbacks
    the loops ran: the run's *steps* (``Run.steps``, what ``max_steps`` limits; 0 in a
    trace saved before schema version 3), of which ``steps`` lists the task steps.
    ``lanes``, ``intervals`` and ``samples`` are what models recorded beside the
    tasks (a host's HTTP requests, a service's queue): see :mod:`asyncsim.lanes`.
    """

    start_ns: int
    end_ns: int
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
    delays: tuple[Delay, ...] = ()
    exceptions: tuple[ExceptionRow, ...] = ()
    callbacks: int = 0

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
            "delays": Delay,
            "exceptions": ExceptionRow,
        }
    )

    @property
    def elapsed(self) -> float:
        """Virtual seconds from the start of the trace to its end."""
        return (self.end_ns - self.start_ns) / TICKS_PER_SECOND

    @property
    def start(self) -> float:
        """Virtual time the trace starts at, in seconds."""
        return self.start_ns / TICKS_PER_SECOND

    @property
    def end(self) -> float:
        """Virtual time the trace ends at, in seconds."""
        return self.end_ns / TICKS_PER_SECOND

    def __repr__(self) -> str:
        title = f" {self.title!r}" if self.title else ""
        error = f", failed: {self.error[:60]!r}" if self.error else ""
        return (
            f"<Trace{title}: {self.elapsed:.10g} s virtual, {len(self.tasks)} tasks, "
            f"{self.callbacks} steps ({len(self.steps)} task steps){error}>"
        )

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
