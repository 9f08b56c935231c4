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
useful. ``Trace.to_json()`` / ``Trace.from_json()`` round-trip exactly, and the
same program with the same seed gives byte-identical JSON. The recorder that
fills these rows is :class:`asyncsim.instruments.tracer.Tracer`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from asyncsim.clock import TICKS_PER_SECOND

__all__ = [
    "FUTURE_KINDS",
    "LOCK_KINDS",
    "SCHEMA_VERSION",
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

#: Version of the JSON layout written by :meth:`Trace.to_json` (2 added the lanes;
#: version 1 traces still load, with no lanes).
SCHEMA_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_SCHEMA = "asyncsim-trace"
# Kinds of waits a step can end in (StepRow.blocked).
LOCK_KINDS = frozenset({"lock", "semaphore", "event", "condition", "queue", "barrier"})
FUTURE_KINDS = frozenset({"future", "task", "gather", "wait", "executor"})


def _seconds(ticks: int | None) -> float | None:
    return None if ticks is None else ticks / TICKS_PER_SECOND


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


_TABLES: dict[str, type[tuple[Any, ...]]] = {
    "tasks": TaskRow,
    "steps": StepRow,
    "marks": Mark,
    "spans": Span,
    "blocks": LoopBlock,
    "lanes": Lane,
    "intervals": LaneInterval,
    "samples": LaneSample,
}
# Tables a version 1 trace does not have (they load empty).
_SINCE_V2 = frozenset({"lanes", "intervals", "samples"})


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

    # -- JSON -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tables as column names plus rows of values)."""
        out: dict[str, Any] = {
            "schema": _SCHEMA,
            "version": SCHEMA_VERSION,
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "mains": list(self.mains),
            "error": self.error,
        }
        for name, row_type in _TABLES.items():
            out[name] = {
                "columns": list(row_type._fields),  # type: ignore[attr-defined]
                "rows": [list(row) for row in getattr(self, name)],
            }
        return out

    def to_json(self, *, indent: int | None = None) -> str:
        """The trace as JSON text (deterministic: same program and seed, same bytes)."""
        return json.dumps(
            self.to_dict(), indent=indent, sort_keys=True, separators=(",", ":"), allow_nan=False
        )

    @classmethod
    def from_dict(cls, data: Any) -> Trace:
        """Rebuild a trace from :meth:`to_dict` output (``ValueError`` if it is not one)."""
        if not isinstance(data, dict) or data.get("schema") != _SCHEMA:
            raise ValueError(
                "data is not an asyncsim trace (missing schema 'asyncsim-trace'); "
                "write one with Trace.to_json()"
            )
        version = data.get("version")
        if isinstance(version, bool) or version not in _READABLE_VERSIONS:
            raise ValueError(
                f"trace schema version {version!r} is not supported "
                f"(this asyncsim reads versions {', '.join(map(str, _READABLE_VERSIONS))})"
            )
        tables: dict[str, tuple[Any, ...]] = {}
        try:
            for name, row_type in _TABLES.items():
                if version < 2 and name in _SINCE_V2:
                    continue
                table = data[name]
                fields = list(row_type._fields)  # type: ignore[attr-defined]
                if table["columns"] != fields:
                    raise ValueError(f"table {name!r} has columns {table['columns']!r}")
                if row_type is LaneInterval:
                    tables[name] = tuple(
                        LaneInterval._make([*row[:-1], tuple((k, v) for k, v in row[-1])])
                        for row in table["rows"]
                    )
                else:
                    tables[name] = tuple(row_type(*row) for row in table["rows"])
            return cls(
                start=int(data["start"]),
                end=int(data["end"]),
                mains=tuple(data["mains"]),
                error=data["error"],
                title=data.get("title", ""),
                **tables,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed asyncsim trace: {exc!r}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> Trace:
        """Rebuild a trace from :meth:`to_json` text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"text is not JSON: {exc}") from None
        return cls.from_dict(data)

    # -- graph, charts, reports (imported lazily: networkx/matplotlib are slow) ----

    def graph(self) -> Any:
        """The task graph (``networkx.DiGraph``), see :func:`asyncsim.trace.graph.task_graph`."""
        from asyncsim.trace.graph import task_graph

        return task_graph(self)

    def dag(self) -> Any:
        """The happens-before DAG of steps, see :func:`asyncsim.trace.graph.step_dag`."""
        from asyncsim.trace.graph import step_dag

        return step_dag(self)

    def critical_path(self, task: int | None = None) -> Any:
        """The critical path to the end of ``task`` (the main task), see asyncsim.trace.graph."""
        from asyncsim.trace.graph import critical_path

        return critical_path(self, task)
