"""The tracer: an :class:`~asyncsim.core.instrument.Instrument` that records what every task did.

It fills the rows of :mod:`asyncsim.trace.records`; :meth:`Tracer.build` returns the
immutable :class:`~asyncsim.trace.records.Trace`. Where a task is and what it waits
on are read by :mod:`asyncsim.instruments.waits`; :mod:`asyncsim.instruments.marks`
adds the user's marks and spans; models record lanes into its
:class:`~asyncsim.instruments.lanes.LaneRecorder`.

How steps are recognised (checked on CPython 3.11, 3.12 and 3.13):
a task step in the ready queue is a handle whose ``_callback.__self__`` is the
task (the C ``TaskStepMethWrapper``, the ``task_wakeup`` builtin, or the bound
methods of the pure-Python Task); ``task._fut_waiter`` is the awaited future; an
``asyncio.sleep`` timer calls ``futures._set_result_unless_cancelled``. The
step running while a callback is scheduled (the tracer remembers it from its own
``before_step``) is its cause, which gives the wake edges. A task whose first step
runs eagerly inside ``create_task`` (3.12+ eager task factories) gets that step
recorded when the loop reports the task, as a step spawned by the running step
(callbacks scheduled during it are attributed to that running step).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import re
import types
from typing import Any

from asyncsim.core import introspect
from asyncsim.core.hosting import InstrumentHost
from asyncsim.core.instrument import Instrument
from asyncsim.instruments.lanes import LaneRecorder
from asyncsim.instruments.waits import (
    LIBRARY,
    USER,
    call_stack,
    classify_wait,
    code_kind,
    coroutine_chain,
    creation_site,
    exception_chain,
    frame_text,
    is_timeout,
    task_outcome,
    user_call_site,
    wrapped_function,
)
from asyncsim.trace.records import (
    Delay,
    ExceptionRow,
    LoopBlock,
    Mark,
    Span,
    StepRow,
    TaskRow,
    Trace,
)

__all__ = ["Tracer"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_DEFAULT_NAME = re.compile(r"Task-\d+")
_set_result_unless_cancelled = getattr(asyncio.futures, "_set_result_unless_cancelled", None)
_TimerHandle = asyncio.TimerHandle
_Handle = asyncio.Handle
_BuiltinMethod = type(len)
_Coroutine = types.CoroutineType
_Generator = types.GeneratorType
# The C Task and the pure-Python one (which is not its subclass), for isinstance().
_Task = tuple({asyncio.Task, getattr(asyncio.tasks, "_PyTask", asyncio.Task)})

_INTERNAL = frozenset(
    {
        "BaseEventLoop.shutdown_asyncgens",
        "BaseEventLoop.shutdown_default_executor",
        "ThreadJobs.shutdown_default_executor",  # (asyncsim.core.jobs)
    }
)

# -- recording -------------------------------------------------------------------

_ROW = len(StepRow._fields)
_new_step_row = functools.partial(tuple.__new__, StepRow)

# Causes of scheduled callbacks: None (outside any step: the main task), a step id
# (int >= 0), _EXTERNAL (another thread, unknown), or (waker step id, due) for a timer.
_EXTERNAL = -1


class Tracer(Instrument):
    """Records tasks, steps, wakes, marks and loop blocks; :meth:`build` makes a Trace.

    One tracer may be attached to several loops on one clock (a script that calls
    ``asyncio.run`` twice); each loop gets an index in attachment order.
    """

    def __init__(self, *, title: str = "") -> None:
        self.title = title
        self._loops: dict[int, int] = {}  # id(loop) -> index
        self._mains: list[int] = []
        self._clock: Any = None
        self._start: int | None = None
        self._tasks: list[list[Any]] = []
        self._ids: dict[asyncio.Future[Any], int] = {}
        # The step rows, flattened (_ROW values each): no container per row while
        # recording, so the rows do not count towards the garbage collector's passes.
        self._rows: list[Any] = []
        self._nsteps = 0
        # What scheduled each pending callback: handle -> (cause, ready ticks); timers
        # by id -> (handle, cause, due); a sleep's future -> (cause, due).
        self._soon: dict[asyncio.Handle, tuple[Any, int]] = {}
        self._sched: dict[int, tuple[asyncio.Handle, Any, int]] = {}
        self._sleeps: dict[asyncio.Future[Any], tuple[int | None, int]] = {}
        self._marks: list[Mark] = []
        self._spans: list[Span] = []
        self._blocks: list[LoopBlock] = []
        self._loop_index = 0
        self._running: Any = None
        # The task step running now: (task, id, (cause, ready ticks) or None, start).
        self._step: tuple[asyncio.Task[Any], int, tuple[Any, int] | None, int] | None = None
        self._current_task: int | None = None
        # Per code object: USER, LIBRARY or INTERNAL (see asyncsim.instruments.waits).
        self._kinds: dict[Any, int] = {}
        self._delays: list[Delay] = []
        self._exceptions: list[ExceptionRow] = []
        # Each task and its name when created: asyncio.create_task(name=...) names it after.
        self._objects: list[tuple[asyncio.Task[Any], str]] = []
        self._started: set[int] = set()
        # Rows of eager first steps taken inside the running step, appended after it.
        self._eager_rows: list[tuple[Any, ...]] = []
        self._where_cache: dict[tuple[Any, int], str] = {}
        # The C Task's step wrapper class (not importable), once seen.
        self._wrapper: type | None = None
        #: What models record beside the tasks (see :mod:`asyncsim.lanes`); bound on attach.
        self.lanes: LaneRecorder = LaneRecorder(None)
        self.lanes.current_task = lambda: self._current_task

    # -- hooks ----------------------------------------------------------------------

    def attached(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loops.setdefault(id(loop), len(self._loops))
        self._loop_index = self._loops[id(loop)]
        self._clock = loop.clock  # type: ignore[attr-defined]
        self.lanes.clock = self._clock
        if self._start is None:
            self._start = self._clock.now
        _active.append(self)

    def detached(self, loop: asyncio.AbstractEventLoop) -> None:
        if self in _active:
            _active.remove(self)

    def _register(
        self, task: asyncio.Task[Any], parent: asyncio.Task[Any] | None, coroutine: str = ""
    ) -> int:
        tid = len(self._tasks)
        self._ids[task] = tid
        name = task.get_name()
        self._objects.append((task, name))
        if _DEFAULT_NAME.fullmatch(name):
            name = f"Task-{tid + 1}"  # asyncio's counter is global: renumber per trace
        parent_id = self._ids.get(parent) if parent is not None else None
        loop_index = self._loop_index
        if len(self._mains) <= loop_index:
            self._mains.append(tid)
        self._tasks.append(
            [
                tid,
                _ADDRESS.sub("", name),
                coroutine or introspect.coroutine_name(task),
                creation_site(self._kinds),
                parent_id,
                loop_index,
                self._clock.now,
                None,
                "pending",
                "",
                "",
            ]
        )
        return tid

    def task_created(self, task: asyncio.Task[Any], parent: asyncio.Task[Any] | None) -> None:
        if task in self._ids:
            return
        coroutine = introspect.coroutine_name(task)
        if coroutine in _INTERNAL:
            self._ids[task] = -1  # the loop's own shutdown work: not the program's
            return
        tid = self._register(task, parent, coroutine)
        if task.done():  # (never get_coro() here: CPython 3.12.1 crashes on it)
            self._eager_step(task, tid)
            return
        coro = task.get_coro()
        if getattr(coro, "cr_suspended", None) or getattr(coro, "gi_suspended", None):
            self._eager_step(task, tid)

    def _eager_step(self, task: asyncio.Task[Any], tid: int) -> None:
        # The task's first step already ran inside create_task (3.12+ eager task
        # factories), as part of the step running now: record it as a step of its
        # own, spawned by that one, and placed after it (whose row id is reserved).
        now = self._clock.now
        row = self._step_row(-1, task, tid, (self._running, now), now)
        if self._step is not None:
            self._eager_rows.append(row)
        else:
            self._rows.extend((self._nsteps, *row[1:]))
            self._nsteps += 1

    def callback_scheduled(self, handle: asyncio.Handle, when: int | None) -> None:
        # Causes are recorded as (cause, ready ticks). Plain handles are keyed by
        # identity; timers by id: TimerHandle defines a slow (and colliding) value-based
        # __hash__/__eq__. An entry holds its handle, so its id cannot be reused meanwhile.
        if when is None:
            if handle.__class__ is _Handle:
                self._soon[handle] = (self._running, self._clock.now)
            else:
                self._sched[id(handle)] = (handle, self._running, self._clock.now)
            return
        # A timer: what it schedules when it fires is caused by (the step that started
        # it, its due time). Resolved now, so that firing it costs one lookup.
        cause = self._running
        if cause is not None and cause.__class__ is tuple:
            cause = cause[0]
        elif cause is not None and cause < 0:
            cause = None
        if handle._callback is _set_result_unless_cancelled:  # type: ignore[attr-defined]
            # An asyncio.sleep: keyed by its future, which also gives the sleeping
            # step its end (until); (cause, when) is also the timer's own cause.
            self._sleeps[handle._args[0]] = (cause, when)
        elif is_timeout(handle._callback):  # type: ignore[attr-defined]
            self._sched[id(handle)] = (handle, (cause, when, "timeout"), when)
        else:
            self._sched[id(handle)] = (handle, (cause, when), when)

    def before_step(self, handle: asyncio.Handle) -> None:
        callback = handle._callback  # type: ignore[attr-defined]
        if handle.__class__ is _Handle:
            info = self._soon.pop(handle, None)
        elif (
            callback is _set_result_unless_cancelled
            and (sleep := self._sleeps.pop(handle._args[0], None)) is not None
        ):
            # An asyncio.sleep timer fired: its (cause, due) is what it wakes.
            self._current_task = None
            self._running = sleep
            return
        else:
            entry = self._sched.pop(id(handle), None)
            info = entry[1:] if entry is not None else None
        cls = callback.__class__
        # The common case first: a C task's step or wakeup.
        if cls is self._wrapper or (cls is _BuiltinMethod and callback.__name__ == "task_wakeup"):
            task = callback.__self__
        elif isinstance(handle, _TimerHandle) and callback is _set_result_unless_cancelled:
            self._current_task = None
            self._running = info[0] if info is not None else _EXTERNAL
            return
        else:
            task = getattr(callback, "__self__", None)
            # A task's own step or wakeup (C: TaskStepMethWrapper / task_wakeup; Python:
            # the private _Task__step / _Task__wakeup), not a public method such as
            # task.cancel scheduled with call_later.
            if handle.__class__ is _TimerHandle or not (
                isinstance(task, _Task)
                and (
                    cls.__name__ == "TaskStepMethWrapper"
                    or callback.__name__ == "task_wakeup"
                    or callback.__name__.startswith("_")
                )
            ):
                self._running = info[0] if info is not None else _EXTERNAL
                self._current_task = None
                return
            if cls.__name__ == "TaskStepMethWrapper":
                self._wrapper = cls  # the C task's step: recognised by class from now on
        tid = self._ids.get(task)
        if tid is None:
            tid = self._register(task, None)
        elif tid < 0:  # the loop's own shutdown work: pass its cause on
            self._running = info[0] if info is not None else _EXTERNAL
            return
        self._step = (task, tid, info, self._clock.now)
        self._running = self._nsteps
        self._current_task = tid

    def after_step(self, handle: asyncio.Handle) -> None:
        self._running = None  # callbacks scheduled between steps have no cause
        step = self._step
        if step is None:
            return
        self._step = None
        step_id = self._nsteps
        self._nsteps = step_id + 1
        self._rows += self._step_row(step_id, *step)
        if self._eager_rows:
            for row in self._eager_rows:
                self._rows.extend((self._nsteps, *row[1:]))
                self._nsteps += 1
            self._eager_rows.clear()

    def _step_row(
        self,
        step_id: int,
        task: asyncio.Task[Any],
        tid: int,
        info: tuple[Any, int] | None,
        start: int,
    ) -> tuple[Any, ...]:
        """The row of ``task``'s step that started at ``start`` and has just ended."""
        now = self._clock.now
        started = self._started
        first = tid not in started
        until = target = None
        detail = where = inner = ""
        if task.done():
            blocked = "done"
            record = self._tasks[tid]
            record[7] = now
            record[8], record[9] = task_outcome(task)
            if record[8] == "exception":
                self._add_exceptions(tid, task.exception())
        else:
            # introspect.frame_chain + user_frame, fused, with a per-code-object cache.
            # It walks code objects: reading cr_frame makes CPython 3.11+ build a frame
            # object (garbage-collector work), so only the user's frame is read.
            # (The chain itself is listed only when needed: see coroutine_chain.)
            user = last = library = None
            depth = 0
            kinds = self._kinds
            obj: Any = task.get_coro()
            while obj is not None:
                cls = obj.__class__
                if cls is _Coroutine:
                    code, following = obj.cr_code, obj.cr_await
                elif cls is _Generator:  # a generator-based coroutine
                    code, following = obj.gi_code, obj.gi_yieldfrom
                else:  # a future's iterator (or another awaitable without frames)
                    break
                last = obj
                depth += 1
                kind = kinds.get(code)
                if kind is None:
                    kind = kinds[code] = code_kind(code.co_filename)
                if kind == USER:
                    user, library = obj, None
                elif kind == LIBRARY:
                    library = obj  # (a library frame below the user's, e.g. in aiohttp)
                obj = following
            if user is None:
                user, library = library or last, None
            if first and depth > 1 and "<locals>" in self._tasks[tid][2]:
                # A decorator's wrapper: name the user function it runs.
                self._tasks[tid][10] = wrapped_function(coroutine_chain(task), kinds)
            if user is not None:
                where = self._frame_text(user)
            if library is not None:
                inner = self._frame_text(library)
            try:
                fut = task._fut_waiter  # type: ignore[attr-defined]
            except AttributeError:  # a Python without it: the frames tell
                fut = None
            sleep = self._sleeps.get(fut) if fut is not None else None
            if sleep is not None:  # (its entry goes when its timer fires)
                blocked, until, detail = "sleep", sleep[1], "asyncio.sleep"
            elif isinstance(fut, _Task):
                target = self._ids.get(fut)
                name = self._tasks[target][1] if target is not None else fut.get_name()
                blocked, detail = "task", f"task {name}"
            else:
                blocked, until, detail = classify_wait(fut, coroutine_chain(task))
        if info is None:
            cause, ready = _EXTERNAL, start
        else:
            cause, ready = info
        if cause is None:  # scheduled outside any step: a main task, or asyncio.run's cleanup
            wake = "start" if first else "outside"
            waker = due = None
        elif cause.__class__ is tuple:
            wake, waker, due = ("timer" if len(cause) == 2 else "timeout"), cause[0], cause[1]
        elif cause >= 0:
            wake, waker, due = ("spawn" if first else "step"), cause, None
        else:
            wake, waker, due = "external", None, None
        if first:
            started.add(tid)
        # Plain tuples while recording: the garbage collector untracks them.
        return (
            step_id,
            tid,
            self._loop_index,
            ready,
            start,
            now,
            wake,
            waker,
            due,
            blocked,
            until,
            target,
            detail,
            where,
            inner,
        )

    def _frame_text(self, obj: Any) -> str:
        """``frame_text`` of a suspended coroutine's (or generator's) frame, cached."""
        frame = obj.cr_frame if obj.__class__ is _Coroutine else obj.gi_frame
        if frame is None:
            return ""
        # Keyed by the instruction offset: cheaper to read than f_lineno, which
        # decodes the line table on every read.
        key = (frame.f_code, frame.f_lasti)
        cached = self._where_cache.get(key)
        if cached is None:
            cached = self._where_cache[key] = frame_text(frame)
        return cached

    def delay_injected(
        self, handle: asyncio.Handle | None, kind: str, due: int, ticks: int
    ) -> None:
        self._delays.append(
            Delay(kind, self._current_task, due, ticks, user_call_site(self._kinds))
        )

    def _add_exceptions(self, task: int | None, exc: BaseException | None) -> None:
        if exc is None:
            return
        for index, (link, text, where, inner) in enumerate(exception_chain(exc, self._kinds)):
            self._exceptions.append(ExceptionRow(task, index, link, text, where, inner))

    def loop_blocked(self, start: int, end: int) -> None:
        frame = introspect.user_frame(reversed(call_stack()))
        self._blocks.append(
            LoopBlock(self._loop_index, self._current_task, start, end, frame_text(frame))
        )

    # -- marks, spans and the trace ----------------------------------------------------

    def add_mark(self, label: str) -> None:
        """Record a mark now (see :func:`asyncsim.mark`)."""
        self._marks.append(Mark(self._clock.now, label, self._current_task))

    def add_span(self, label: str, task: int | None, start: int) -> None:
        """Record a span from ``start`` ticks to now (see :func:`asyncsim.span`)."""
        self._spans.append(Span(label, task, start, self._clock.now))

    def build(
        self, *, end: int | None = None, error: BaseException | None = None, callbacks: int = 0
    ) -> Trace:
        """The immutable :class:`Trace` of everything recorded so far.

        ``end`` (ticks) defaults to the clock now; ``error`` is the run's failure;
        ``callbacks`` the number of callbacks the loops ran (the run's steps).
        """
        clock_now = self._clock.now if self._clock is not None else 0
        start = self._start if self._start is not None else clock_now
        message = None
        if error is not None:
            message = _ADDRESS.sub("", f"{type(error).__name__}: {error}")
            self._exceptions = [e for e in self._exceptions if e.task is not None]
            self._add_exceptions(None, error)
        # The rows hold only ints and strings: no cycles to find, and a collection
        # triggered by allocating 100,000 rows would scan every live object.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._build(start, clock_now if end is None else end, message, callbacks)
        finally:
            if collecting:
                gc.enable()

    def _build(self, start: int, end: int, message: str | None, callbacks: int) -> Trace:
        for (task, first), row in zip(self._objects, self._tasks, strict=True):
            name = task.get_name()
            if name != first:
                row[1] = _ADDRESS.sub("", name)
        lanes, intervals, samples = self.lanes.rows()
        return Trace(
            start_ns=start,
            end_ns=end,
            callbacks=callbacks,
            delays=tuple(self._delays),
            exceptions=tuple(self._exceptions),
            mains=tuple(self._mains),
            tasks=tuple(TaskRow(*row) for row in self._tasks),
            steps=tuple(map(_new_step_row, zip(*[iter(self._rows)] * _ROW, strict=True))),
            marks=tuple(self._marks),
            spans=tuple(self._spans),
            blocks=tuple(self._blocks),
            error=message,
            lanes=lanes,
            intervals=intervals,
            samples=samples,
            title=self.title or (f"{self._tasks[0][2]}()" if self._tasks else ""),
        )


# -- marks and spans ------------------------------------------------------------------

_active: list[Tracer] = []


def _tracer() -> Tracer | None:
    loop = asyncio._get_running_loop()
    if isinstance(loop, InstrumentHost) and (tracer := loop.instrument(Tracer)) is not None:
        return tracer
    return _active[-1] if _active else None
