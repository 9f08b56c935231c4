"""Running programs on virtual time: ``run``, ``simulate`` and the ``Simulation`` scope."""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import math
import os
import random
import time
import traceback
import types
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from ._options import _document_options, simulation_options
from .clock import TICKS_PER_SECOND, Clock, to_ticks
from .cpu import CpuCost, cpu_cost
from .errors import SimulationError
from .loop import VirtualEventLoop, _validate_limits
from .schedule import Schedule
from .timepatch import DEFAULT_EPOCH, patched_time
from .trace import Trace, Tracer

__all__ = ["Run", "Simulation", "current", "run", "simulate"]

T = TypeVar("T")
# Callbacks allowed while cancelling leftover tasks after the main coroutine ends.
_CLEANUP_STEP_BUDGET = 100_000

_current: list[Simulation] = []


def current() -> Simulation | None:
    """The innermost active :class:`Simulation`, or None outside any simulation."""
    return _current[-1] if _current else None


@_document_options
class Simulation:
    """One simulation: a virtual clock, a seeded RNG and the loops that share them.

    Use it as a context manager; on entry the ``time`` module follows the virtual
    clock (if ``patch_time``) and the ``random`` module is seeded (if ``seed`` is
    given); both are restored on exit. :meth:`new_event_loop` makes loops on the
    shared clock, so a script that calls ``asyncio.run`` twice sees one timeline.

    Parameters
    ----------
    {simulation options}
    trace : bool
        Attach a :class:`sim.trace.Tracer` to every loop; :meth:`build_trace` returns it.
    """

    def __init__(
        self,
        *,
        until: float | None = None,
        max_steps: int | None = None,
        seed: int | str | bytes | None = None,
        patch_time: bool = True,
        start: float = 0.0,
        epoch: float = DEFAULT_EPOCH,
        allow_real_io: bool = False,
        cpu: Any = None,
        network: Any = None,
        schedule: Schedule | None = None,
        trace: bool = False,
    ) -> None:
        _validate_limits(until, max_steps, start)
        _check_network(network)
        if schedule is not None and not isinstance(schedule, Schedule):
            raise TypeError(
                f"schedule must be a sim.Schedule (see Schedule.from_string), got {schedule!r}"
            )
        if not isinstance(trace, bool):
            raise TypeError(f"trace must be True or False, got {trace!r}")
        if isinstance(seed, bool) or (seed is not None and not isinstance(seed, (int, str, bytes))):
            raise TypeError(f"seed must be an int, str, bytes or None, got {seed!r}")
        if not isinstance(epoch, (int, float)) or not math.isfinite(epoch):
            raise ValueError(f"epoch must be a finite Unix time in seconds, got {epoch!r}")
        self.until = until
        self.max_steps = max_steps
        self.seed = seed
        self.patch_time = bool(patch_time)
        self.start = float(start)
        self.epoch = float(epoch)
        self.allow_real_io = bool(allow_real_io)
        self.network = network
        self.schedule = schedule
        #: The schedule's cursors, shared by every loop (None without a schedule).
        self.schedule_state = schedule.start() if schedule is not None else None
        self.clock = Clock(to_ticks(start))
        #: The simulation's RNG; models derive their streams from it.
        self.rng = random.Random(seed)
        self._stream_key = _stream_key(seed)
        self._streams: dict[str, random.Random] = {}
        #: The CPU cost model attached to every loop, or None (steps take no time).
        self.cpu: CpuCost | None = cpu_cost(cpu, rng=self.stream("sim.cpu"))
        self.loops: list[VirtualEventLoop] = []
        self._random_state: Any = None
        self._time_scope: Any = None
        #: The tracer attached to every loop when ``trace=True``, else None.
        self.tracer: Tracer | None = Tracer() if trace else None

    @property
    def elapsed(self) -> float:
        """Virtual seconds since the start."""
        return (self.clock.now - to_ticks(self.start)) / TICKS_PER_SECOND

    @property
    def steps(self) -> int:
        """Callbacks run so far, over every loop of this simulation."""
        return sum(loop.steps for loop in self.loops)

    def stream(self, name: str) -> random.Random:
        """The random stream named ``name``, derived from the seed and the name alone.

        Each model component draws from its own stream, so adding a component (or
        drawing more often in one) never shifts another component's draws. The
        stream is ``random.Random(int(sha256(seed, name)))``: the same (seed, name)
        gives the same draws on every machine and Python run (no salted ``hash``).
        Asking twice for one name returns the same object. With ``seed=None`` the
        streams are derived from a fresh random key, so runs differ.

        Parameters
        ----------
        name : str
            A stable name for the component, e.g. ``"network:example.com"``.
        """
        if not isinstance(name, str):
            raise TypeError(f"stream name must be a str, got {type(name).__name__} {name!r}")
        rng = self._streams.get(name)
        if rng is None:
            digest = hashlib.sha256(self._stream_key + b"\x00" + name.encode("utf-8")).digest()
            rng = self._streams[name] = random.Random(int.from_bytes(digest, "big"))
        return rng

    def new_event_loop(self) -> VirtualEventLoop:
        """A new loop on this simulation's clock, with its limits."""
        loop = VirtualEventLoop(
            clock=self.clock,
            until=self.until,
            max_steps=self.max_steps,
            allow_real_io=self.allow_real_io,
            schedule=self.schedule_state,
        )
        if self.cpu is not None:
            loop.add_instrument(self.cpu)  # first, so later instruments see step costs
        self.loops.append(loop)
        if self.network is not None:
            loop.attach_network(self.network)
        if self.tracer is not None:
            loop.add_instrument(self.tracer)
        return loop

    def build_trace(
        self, *, elapsed: float | None = None, error: BaseException | None = None
    ) -> Trace | None:
        """The :class:`sim.Trace` recorded so far (None unless ``trace=True``).

        ``elapsed`` (virtual seconds) ends the trace there instead of at the clock.
        """
        if self.tracer is None:
            return None
        end = None if elapsed is None else to_ticks(self.start + elapsed)
        return self.tracer.build(end=end, error=error)

    def __enter__(self) -> Simulation:
        if self.seed is not None:
            self._random_state = random.getstate()
            random.seed(self.seed)
        if self.patch_time:
            self._time_scope = patched_time(self.clock, epoch=self.epoch)
            self._time_scope.__enter__()
        _current.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            _current.remove(self)
        finally:
            try:
                if self._time_scope is not None:
                    self._time_scope.__exit__(None, None, None)
                    self._time_scope = None
            finally:
                if self._random_state is not None:
                    random.setstate(self._random_state)
                    self._random_state = None


def _stream_key(seed: int | str | bytes | None) -> bytes:
    """Bytes that identify ``seed`` unambiguously (type-tagged), for :meth:`Simulation.stream`."""
    if seed is None:
        return b"none:" + os.urandom(16)
    if isinstance(seed, bytes):
        return b"bytes:" + seed
    if isinstance(seed, str):
        return b"str:" + seed.encode("utf-8")
    return b"int:" + str(seed).encode("ascii")


class _Outcome:
    """What :class:`Run` and :class:`sim.script.ScriptRun` share: speed-up and trace views."""

    elapsed: float
    wall: float
    trace: Trace | None
    #: The call that records a trace, named when :meth:`gantt` or :meth:`report` has none.
    _TRACED_BY = "sim.simulate(..., trace=True)"

    @property
    def speedup(self) -> float:
        """Virtual seconds per wall second (``inf`` when the wall time rounds to 0)."""
        return self.elapsed / self.wall if self.wall > 0 else math.inf

    def _traced(self, what: str) -> Trace:
        if self.trace is None:
            raise ValueError(f"{what} needs a trace: run with {self._TRACED_BY}")
        return self.trace

    def gantt(self, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> Any:
        """Draw the Gantt timeline (see :func:`sim.gantt.gantt`); returns the Figure."""
        from .gantt import gantt

        return gantt(self._traced("gantt()"), path, wall=self.wall, **kwargs)

    def report(self, folder: str | os.PathLike[str], *, force: bool = False) -> Any:
        """Write an HTML/Perfetto report into ``folder`` (see :func:`sim.report.report`)."""
        from .report import report

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


def _check_network(network: Any) -> None:
    if network is not None and not (
        callable(getattr(network, "attached", None))
        and callable(getattr(network, "create_connection", None))
    ):
        raise TypeError(
            "network must be a models.network.Network (e.g. Network(latency=0.05)), "
            f"got {network!r}"
        )


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


def _cancel_leftovers(loop: VirtualEventLoop) -> None:
    """Cancel every task still pending and let them finish, as asyncio.run does."""
    leftovers = asyncio.all_tasks(loop)
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
                    "message": "unhandled exception during sim.run() shutdown",
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


@_document_options
def simulate(
    coro: Coroutine[Any, Any, T],
    *,
    until: float | None = None,
    max_steps: int | None = None,
    seed: int | str | bytes | None = None,
    patch_time: bool = True,
    start: float = 0.0,
    epoch: float = DEFAULT_EPOCH,
    allow_real_io: bool = False,
    cpu: Any = None,
    network: Any = None,
    schedule: Schedule | None = None,
    trace: bool = False,
) -> Run:
    """Run ``coro`` on virtual time and return a :class:`Run` describing what happened.

    The program's own exception, or a :class:`sim.SimulationError`, is stored in
    ``Run.exception`` rather than raised. Otherwise as :func:`run`.

    Parameters
    ----------
    coro : coroutine
        The main coroutine.
    {simulation options}
    trace : bool
        Record a :class:`sim.Trace` of every task in ``Run.trace``.

    Examples
    --------
    >>> import asyncio, sim
    >>> async def main():
    ...     await asyncio.sleep(4)
    ...     return "done"
    >>> r = sim.simulate(main())
    >>> r.result, r.elapsed
    ('done', 4.0)
    """
    _check_call(coro, "simulate", "simulate()")
    try:
        simulation = Simulation(**simulation_options(locals()))
    except (TypeError, ValueError):
        coro.close()
        raise
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
        seed=seed,
        trace=simulation.build_trace(elapsed=elapsed, error=error),
    )


@_document_options
def run(
    coro: Coroutine[Any, Any, T],
    *,
    until: float | None = None,
    max_steps: int | None = None,
    seed: int | str | bytes | None = None,
    patch_time: bool = True,
    start: float = 0.0,
    epoch: float = DEFAULT_EPOCH,
    allow_real_io: bool = False,
    cpu: Any = None,
    network: Any = None,
    schedule: Schedule | None = None,
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
    >>> import asyncio, sim
    >>> async def main():
    ...     loop = asyncio.get_running_loop()
    ...     await asyncio.gather(asyncio.sleep(3), asyncio.sleep(4))
    ...     return loop.time()
    >>> sim.run(main())
    4.0
    """
    _check_call(coro, "run", "sim.run()")
    outcome = simulate(coro, **simulation_options(locals()))
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
