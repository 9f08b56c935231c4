"""Running programs on virtual time: ``run`` and ``simulate`` (scope: :mod:`asyncsim.scope`)."""

from __future__ import annotations

import asyncio
import inspect
import math
import os
import time
import traceback
import types
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from asyncsim.core.boundary import DEFAULT_REAL_TIME_LIMIT
from asyncsim.core.livelock import DEFAULT_LIVELOCK_STEPS
from asyncsim.core.loop import VirtualEventLoop
from asyncsim.core.network import NetworkModel
from asyncsim.core.schedule import Schedule
from asyncsim.errors import SimulationError
from asyncsim.scope.options import SimulationOptions, document_options
from asyncsim.scope.simulation import Simulation
from asyncsim.scope.timepatch import DEFAULT_EPOCH
from asyncsim.trace.records import Trace

if TYPE_CHECKING:
    from asyncsim.instruments.cpu import CpuModel

__all__ = ["MODEL_DOC", "Run", "close_loop", "resolve_model", "run", "simulate"]

T = TypeVar("T")
# Callbacks allowed while cancelling leftover tasks after the main coroutine ends.
_CLEANUP_STEP_BUDGET = 100_000


class _Outcome:
    """What :class:`Run` and :class:`asyncsim.script.ScriptRun` share: speed-up and trace views."""

    elapsed: float
    wall: float
    trace: Trace | None
    #: The call that records a trace, named when :meth:`gantt` or :meth:`report` has none.
    _TRACED_BY = "asyncsim.simulate(..., trace=True)"

    @property
    def speedup(self) -> float:
        """Virtual seconds per wall second (``inf`` when the wall time rounds to 0)."""
        return self.elapsed / self.wall if self.wall > 0 else math.inf

    def _traced(self, what: str) -> Trace:
        if self.trace is None:
            raise ValueError(f"{what} needs a trace: run with {self._TRACED_BY}")
        return self.trace

    def gantt(self, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> Any:
        """Draw the Gantt timeline (see :func:`asyncsim.report.gantt.gantt`); returns the Figure."""
        from asyncsim.report.gantt import gantt

        return gantt(self._traced("gantt()"), path, wall=self.wall, **kwargs)

    def report(self, folder: str | os.PathLike[str], *, force: bool = False) -> Any:
        """Write an HTML/Perfetto report into ``folder`` (:func:`asyncsim.report.page.report`)."""
        from asyncsim.report.page import report

        return report(self._traced("report()"), folder, wall=self.wall, force=force)


@dataclass(frozen=True)
class Run(_Outcome):
    """The outcome of :func:`simulate`.

    ``elapsed`` is in virtual seconds (when the main coroutine finished or the
    simulation stopped), ``wall`` in real seconds, ``steps`` counts callbacks.
    """

    result: Any
    exception: BaseException | None
    elapsed: float
    wall: float
    steps: int
    seed: int | str | bytes | None = None
    #: What happened, task by task (with ``simulate(..., trace=True)``), else None.
    trace: Trace | None = None

    @property
    def ok(self) -> bool:
        """True when the main coroutine returned normally."""
        return self.exception is None

    def __repr__(self) -> str:
        from asyncsim.instruments.waits import short_repr
        from asyncsim.trace.text import numbers_line

        outcome = (
            f"result={short_repr(self.result)}"
            if self.exception is None
            else f"exception={short_repr(self.exception)}"
        )
        traced = f", traced: {len(self.trace.tasks):,} tasks" if self.trace is not None else ""
        return f"<Run {outcome}: {numbers_line(self.elapsed, self.wall, self.steps)}{traced}>"


#: What ``model=`` takes: a recorded model file's path, ``asyncsim.models.load(path)``'s
#: result, or a mapping of model names (``{"network": ..., "cpu": ...}``).
ModelArg = Any

_MODEL_HELP = (
    "a model file path (asyncsim record ... -o model.json), the result of "
    "asyncsim.models.load(path), or a dict with 'network' and/or 'cpu'"
)

#: How ``model=`` is documented, once for every entry point.
MODEL_DOC = """\
model : str, path, RecordedModel or dict, optional
    A recorded model (``asyncsim record``): a model file's path, the result of
    :func:`asyncsim.models.load`, or a dict of ``network`` and ``cpu``. It supplies
    ``network`` and ``cpu``, which may then not be given as well."""


def resolve_model(model: ModelArg, network: Any, cpu: Any) -> tuple[Any, Any]:
    """``(network, cpu)`` with ``model``'s in place of the ones not given (``model=``)."""
    if model is None:
        return network, cpu
    if isinstance(model, (str, os.PathLike)):
        from asyncsim.models.recorded import load

        model = load(model)
    models = model.models() if callable(getattr(model, "models", None)) else model
    if not isinstance(models, dict) or not set(models) <= {"network", "cpu"} or not models:
        raise TypeError(f"model must be {_MODEL_HELP}, got {model!r}")
    for name, given in (("network", network), ("cpu", cpu)):
        if given is not None and name in models:
            raise ValueError(
                f"{name} is given both as {name}= and by model=; edit the model's {name} "
                f"instead (model.{name}), or leave {name}= out"
            )
    return models.get("network", network), models.get("cpu", cpu)


def _document_model(func: T) -> T:
    """Put :data:`MODEL_DOC` after the options in ``func``'s docstring (before ``trace``)."""
    doc = func.__doc__ or ""
    marker = "    {simulation options}\n"
    model_doc = "".join(f"    {line}\n" if line else "\n" for line in MODEL_DOC.splitlines())
    func.__doc__ = doc.replace(marker, marker + model_doc, 1)
    return func


def _check_call(coro: object, func: str, call: str) -> None:
    """Refuse a non-coroutine ``coro``, or a call from inside a running loop."""
    if not inspect.iscoroutine(coro):
        hint = (
            " (did you forget to call it, e.g. main() instead of main?)" if callable(coro) else ""
        )
        raise TypeError(
            f"{func}(coro=...) expects a coroutine object, got {type(coro).__name__} {coro!r}{hint}"
        )
    if asyncio._get_running_loop() is not None:
        coro.close()
        raise RuntimeError(f"{call} cannot be called from a running event loop")


@contextmanager
def _closed_if_refused(coro: Coroutine[Any, Any, Any]) -> Iterator[None]:
    """Close ``coro`` (no "never awaited" warning) if its options are refused."""
    try:
        yield
    except (TypeError, ValueError):
        coro.close()
        raise


def _waits_on_a_cycle(task: asyncio.Future[Any]) -> bool:
    """Whether the chain of tasks ``task`` awaits (each one's ``_fut_waiter``) runs in a
    circle: then ``task.cancel()`` would recurse around it for ever."""
    seen = {id(task)}
    waiter = getattr(task, "_fut_waiter", None)
    while isinstance(waiter, asyncio.Task):
        if id(waiter) in seen:
            return True
        seen.add(id(waiter))
        waiter = getattr(waiter, "_fut_waiter", None)
    return False


def _cancel_leftovers(loop: VirtualEventLoop) -> None:
    """Cancel every task still pending and let them finish, as asyncio.run does.

    asyncio.run cancels them in the order of a set; here it is creation order (or the
    schedule's pick at the choice point ``"cancel_leftovers"``).
    """
    pending = loop.tasks_in_order()
    if not pending:
        return
    leftovers = []
    while pending:
        task = pending.pop(loop._choose("cancel_leftovers", len(pending)))
        if _waits_on_a_cycle(task):
            # Tasks awaiting each other in a circle (reported by the Deadlock already):
            # cancelling one would cancel the next without end. Leave them, quietly.
            task._log_destroy_pending = False  # type: ignore[attr-defined]
        else:
            leftovers.append(task)
    if not leftovers:
        return
    for task in leftovers:
        task.cancel()
    loop._max_steps = loop.steps + _CLEANUP_STEP_BUDGET
    try:
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
    except SimulationError:
        return  # a task that refuses to finish: leave it, the error is already reported
    finally:
        loop._max_steps = None
    for task in leftovers:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception during asyncsim.run() shutdown",
                    "exception": task.exception(),
                    "task": task,
                }
            )


def close_loop(loop: VirtualEventLoop) -> None:
    """Cancel leftover tasks, shut down async generators and the executor, close."""
    if loop.is_closed():
        return
    try:
        _cancel_leftovers(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


@document_options
@_document_model
def simulate(
    coro: Coroutine[Any, Any, T],
    *,
    until: float | None = None,
    max_steps: int | None = None,
    livelock_steps: int | None = DEFAULT_LIVELOCK_STEPS,
    seed: int | str | bytes | None = None,
    patch_time: bool = True,
    start: float = 0.0,
    epoch: float = DEFAULT_EPOCH,
    allow_real_io: bool = False,
    real_time_limit: float | None = DEFAULT_REAL_TIME_LIMIT,
    cpu: CpuModel | None = None,
    network: NetworkModel | None = None,
    schedule: Schedule | None = None,
    trace: bool = False,
    model: ModelArg = None,
) -> Run:
    """Run ``coro`` on virtual time and return a :class:`Run` describing what happened.

    The program's own exception, or a :class:`asyncsim.SimulationError`, is stored in
    ``Run.exception`` rather than raised. Otherwise as :func:`run`.

    Parameters
    ----------
    coro : coroutine
        The main coroutine.
    {simulation options}
    trace : bool
        Record a :class:`asyncsim.Trace` of every task in ``Run.trace``.

    Examples
    --------
    >>> import asyncio, asyncsim
    >>> async def main():
    ...     await asyncio.sleep(4)
    ...     return "done"
    >>> r = asyncsim.simulate(main())
    >>> r.result, r.elapsed
    ('done', 4.0)
    """
    _check_call(coro, "simulate", "asyncsim.simulate()")
    with _closed_if_refused(coro):
        network, cpu = resolve_model(model, network, cpu)
        options = SimulationOptions(
            until=until,
            max_steps=max_steps,
            livelock_steps=livelock_steps,
            seed=seed,
            patch_time=patch_time,
            start=start,
            epoch=epoch,
            allow_real_io=allow_real_io,
            real_time_limit=real_time_limit,
            cpu=cpu,
            network=network,
            schedule=schedule,
            trace=trace,
        )
    return _simulate(coro, options)


def _simulate(coro: Coroutine[Any, Any, Any], options: SimulationOptions) -> Run:
    """Run ``coro`` in the simulation ``options`` describe: :func:`simulate` after its checks."""
    with _closed_if_refused(coro):  # the cpu model is checked as the simulation builds it
        simulation = Simulation.from_options(options)
    result: Any = None
    error: BaseException | None = None
    wall_start = time.perf_counter()
    with simulation:
        loop = simulation.new_event_loop()
        try:
            task = loop.create_task(coro)
            try:
                result = loop.run_until_complete(task)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # the program's outcome, reported in the Run
                error = exc
            elapsed = simulation.elapsed
        finally:
            close_loop(loop)
    wall = time.perf_counter() - wall_start
    return Run(
        result=result,
        exception=error,
        elapsed=elapsed,
        wall=wall,
        steps=simulation.steps,
        seed=options.seed,
        trace=simulation.build_trace(elapsed=elapsed, error=error),
    )


@document_options
@_document_model
def run(
    coro: Coroutine[Any, Any, T],
    *,
    until: float | None = None,
    max_steps: int | None = None,
    livelock_steps: int | None = DEFAULT_LIVELOCK_STEPS,
    seed: int | str | bytes | None = None,
    patch_time: bool = True,
    start: float = 0.0,
    epoch: float = DEFAULT_EPOCH,
    allow_real_io: bool = False,
    real_time_limit: float | None = DEFAULT_REAL_TIME_LIMIT,
    cpu: CpuModel | None = None,
    network: NetworkModel | None = None,
    schedule: Schedule | None = None,
    model: ModelArg = None,
) -> T:
    """Run ``coro`` on virtual time and return its result: a drop-in for ``asyncio.run``.

    Leftover tasks are cancelled, async generators and the default executor shut
    down, as ``asyncio.run`` does; the program's exception is re-raised.

    Parameters
    ----------
    coro : coroutine
        The main coroutine.
    {simulation options}

    Examples
    --------
    >>> import asyncio, asyncsim
    >>> async def main():
    ...     loop = asyncio.get_running_loop()
    ...     await asyncio.gather(asyncio.sleep(3), asyncio.sleep(4))
    ...     return loop.time()
    >>> asyncsim.run(main())
    4.0
    """
    _check_call(coro, "run", "asyncsim.run()")
    with _closed_if_refused(coro):
        network, cpu = resolve_model(model, network, cpu)
        options = SimulationOptions(
            until=until,
            max_steps=max_steps,
            livelock_steps=livelock_steps,
            seed=seed,
            patch_time=patch_time,
            start=start,
            epoch=epoch,
            allow_real_io=allow_real_io,
            real_time_limit=real_time_limit,
            cpu=cpu,
            network=network,
            schedule=schedule,
        )
    outcome = _simulate(coro, options)
    if outcome.exception is not None:
        raise outcome.exception
    return outcome.result


def traceback_from(exc: BaseException, filename: str) -> types.TracebackType | None:
    """``exc``'s traceback from its first frame in ``filename`` on (None if none is)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return tb


def format_exception_for_script(exc: BaseException, script: str) -> str:
    """A traceback that starts at the user's script, as Python itself prints it."""
    tb = traceback_from(exc, script) or exc.__traceback__
    return "".join(traceback.format_exception(type(exc), exc, tb))
