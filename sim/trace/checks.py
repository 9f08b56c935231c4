"""Checks that a trace read from JSON is whole: every value of the right type, every
reference (a task id, a step id, a lane name) pointing at a row that exists.

:func:`asyncsim.trace.schema.from_dict` runs them, so a corrupt or hand-edited file
fails at load time with a ``ValueError`` naming the row and the value, never later
with a ``KeyError`` or ``IndexError`` from deep inside a report.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asyncsim.trace.records import Trace

__all__ = ["check_trace"]

_INT = "an integer"
_OPT_INT = "an integer or null"
_STR = "a string"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fail(where: str, what: str, value: object) -> None:
    raise ValueError(f"malformed asyncsim trace: {where} must be {what}, got {value!r}")


def _kind(where: str, value: object, kind: str) -> None:
    ok = {
        _INT: _is_int(value),
        _OPT_INT: value is None or _is_int(value),
        _STR: isinstance(value, str),
    }[kind]
    if not ok:
        _fail(where, kind, value)


def _ref(where: str, value: object, count: int, table: str, *, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not _is_int(value) or not 0 <= value < count:  # type: ignore[operator]
        _fail(where, f"the id of one of the trace's {count} {table}", value)


# (table, {column: kind}) for the plain type checks; references are checked after.
_COLUMNS: dict[str, dict[str, str]] = {
    "tasks": {
        "id": _INT,
        "name": _STR,
        "coroutine": _STR,
        "site": _STR,
        "loop": _INT,
        "created_ns": _INT,
        "finished_ns": _OPT_INT,
        "outcome": _STR,
        "detail": _STR,
        "runs": _STR,
    },
    "steps": {
        "id": _INT,
        "loop": _INT,
        "ready_ns": _INT,
        "start_ns": _INT,
        "end_ns": _INT,
        "wake": _STR,
        "due_ns": _OPT_INT,
        "blocked": _STR,
        "until_ns": _OPT_INT,
        "detail": _STR,
        "where": _STR,
        "inner": _STR,
    },
    "marks": {"time_ns": _INT, "label": _STR},
    "spans": {"label": _STR, "start_ns": _INT, "end_ns": _INT},
    "blocks": {"loop": _INT, "start_ns": _INT, "end_ns": _INT, "where": _STR},
    "delays": {"kind": _STR, "start_ns": _INT, "late_ns": _INT, "where": _STR},
    "exceptions": {"depth": _INT, "link": _STR, "text": _STR, "where": _STR, "inner": _STR},
    "lanes": {"name": _STR, "kind": _STR, "capacity": _OPT_INT},
    "intervals": {"lane": _STR, "start_ns": _INT, "end_ns": _OPT_INT, "label": _STR},
    "samples": {"lane": _STR, "time_ns": _INT, "queue": _INT, "busy": _INT},
}


def check_trace(trace: Trace) -> None:
    """Raise ``ValueError`` unless every row of ``trace`` is well typed and every
    reference in it resolves (see the module docstring)."""
    _kind("start_ns", trace.start_ns, _INT)
    _kind("end_ns", trace.end_ns, _INT)
    _kind("callbacks", trace.callbacks, _INT)
    if trace.error is not None:
        _kind("error", trace.error, _STR)
    _kind("title", trace.title, _STR)
    for table, columns in _COLUMNS.items():
        for i, row in enumerate(getattr(trace, table)):
            for column, kind in columns.items():
                _kind(f"{table}[{i}].{column}", getattr(row, column), kind)
    ntasks, nsteps = len(trace.tasks), len(trace.steps)
    for i, task in enumerate(trace.tasks):
        if task.id != i:
            _fail(f"tasks[{i}].id", f"its position, {i}", task.id)
        _ref(f"tasks[{i}].parent", task.parent, ntasks, "tasks")
    for i, step in enumerate(trace.steps):
        if step.id != i:
            _fail(f"steps[{i}].id", f"its position, {i}", step.id)
        _ref(f"steps[{i}].task", step.task, ntasks, "tasks", optional=False)
        _ref(f"steps[{i}].waker", step.waker, nsteps, "steps")
        _ref(f"steps[{i}].target", step.target, ntasks, "tasks")
    for i, main in enumerate(trace.mains):
        _ref(f"mains[{i}]", main, ntasks, "tasks", optional=False)
    for table in ("marks", "spans", "blocks", "intervals", "delays", "exceptions"):
        for i, row in enumerate(getattr(trace, table)):
            _ref(f"{table}[{i}].task", row.task, ntasks, "tasks")
    lanes = {lane.name for lane in trace.lanes}
    for table in ("intervals", "samples"):
        for i, row in enumerate(getattr(trace, table)):
            if row.lane not in lanes:
                _fail(f"{table}[{i}].lane", "the name of one of the trace's lanes", row.lane)
    for i, interval in enumerate(trace.intervals):
        for key, value in interval.attrs:
            _kind(f"intervals[{i}].attrs key", key, _STR)
            if not (value is None or isinstance(value, (str, int, float, bool))):
                _fail(f"intervals[{i}].attrs[{key!r}]", "a string, number, bool or null", value)
