"""One run of a sweep, as a worker executes it: simulate, catch, measure, record.

A run is ``simulate(fn(**point), seed=seed, **options)``, unless ``fn`` has a method
``simulate_point(point, seed, *, trace, **options)`` returning ``(run, metrics)``: then
that method makes the run (a :class:`asyncsim.Run`) and ``metrics`` (a dict) joins the
run's metrics. A what-if profile's function uses it to run each point with one
component's durations scaled (:mod:`asyncsim.sweeps.whatif`).

Runs in one process never overlap (a lock): a simulation seeds the global ``random``
module, so two runs on threads of one process (a thread pool, Dask with
``processes=False``) would disturb each other's draws. And while a run is going on in a
process that has other threads (Dask's event loop, heartbeats...), calls to the
``random`` module's functions from those other threads are diverted to a private
generator, so they cannot shift the run's draws either. Processes run in parallel.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import threading
import traceback
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from asyncsim.runner import Run, simulate
from asyncsim.scope.timepatch import _real_perf_counter
from asyncsim.sweeps.grid import JSON_SCALARS, fn_name
from asyncsim.sweeps.records import Point, SweepRecord

__all__ = ["MetricsFn", "run_chunk", "run_one"]

MetricsFn = Callable[[Any], Mapping[str, Any]]
_RUN_LOCK = threading.Lock()
# asyncsim's own frames (the package root, one level up) and asyncio's.
_HIDDEN_DIRS = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    os.path.dirname(asyncio.__file__),
)
# The random module's functions are bound methods of one hidden Random instance.
_RANDOM_FUNCTIONS = {
    name: value
    for name, value in vars(random).items()
    if isinstance(value, types.MethodType) and isinstance(value.__self__, random.Random)
}
_others_rng = random.Random()


@contextmanager
def _random_for_this_thread_only() -> Iterator[None]:
    """Other threads' ``random.xxx()`` calls use a private generator meanwhile."""
    if threading.active_count() == 1:
        yield
        return
    owner = threading.get_ident()

    def divert(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        other = getattr(_others_rng, name)

        def routed(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == owner:
                return original(*args, **kwargs)
            return other(*args, **kwargs)

        return routed

    for name, original in _RANDOM_FUNCTIONS.items():
        setattr(random, name, divert(name, original))
    try:
        yield
    finally:
        for name, original in _RANDOM_FUNCTIONS.items():
            setattr(random, name, original)


def _json_safe(value: Any) -> Any:
    if isinstance(value, JSON_SCALARS):
        return value
    return repr(value)


def _short_traceback(exc: BaseException) -> str:
    """The traceback from the first frame outside asyncsim and asyncio."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_HIDDEN_DIRS):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb or exc.__traceback__))


def _error_fields(exc: BaseException) -> dict[str, Any]:
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    return {
        "outcome": "error",
        "error_type": name,
        "error_message": str(exc),
        "traceback": _short_traceback(exc),
    }


def run_one(
    fn: Callable[..., Any],
    metrics: MetricsFn | None,
    point: Point,
    seed: int | str,
    options: Mapping[str, Any],
    trace: bool = False,
) -> tuple[SweepRecord, Run | None]:
    """Run ``fn(**point)`` with ``seed``; the record and the :class:`asyncsim.Run` (or None)."""
    with _RUN_LOCK, _random_for_this_thread_only():
        start = _real_perf_counter()
        outcome: Run | None = None
        fields: dict[str, Any] = {"outcome": "ok"}
        values: dict[str, Any] = {}
        try:
            extra: Mapping[str, Any] = {}
            simulate_point = getattr(fn, "simulate_point", None)
            if simulate_point is not None:  # fn runs its points itself (see the docstring)
                outcome, extra = simulate_point(point, seed, trace=bool(trace), **options)
            else:
                coro = fn(**point)
                if not inspect.iscoroutine(coro):
                    raise TypeError(
                        f"{fn_name(fn)}(**{point!r}) returned {type(coro).__name__}, not a "
                        f"coroutine: sweep an async function"
                    )
                outcome = simulate(coro, seed=seed, trace=bool(trace), **options)
            if outcome.exception is not None:
                fields = _error_fields(outcome.exception)
            elif isinstance(outcome.result, Mapping):
                values.update(outcome.result)
            values.update(extra)
            if metrics is not None:
                values.update(metrics(outcome))
        except (Exception, SystemExit) as exc:
            fields = _error_fields(exc)
        record = SweepRecord(
            point=dict(point),
            seed=seed,
            elapsed=outcome.elapsed if outcome is not None else 0.0,
            wall=_real_perf_counter() - start,
            steps=outcome.steps if outcome is not None else 0,
            metrics={str(k): _json_safe(v) for k, v in values.items()},
            **fields,
        )
    return record, outcome


def run_chunk(
    fn: Callable[..., Any],
    metrics: MetricsFn | None,
    tasks: Sequence[tuple[Point, int | str]],
    options: Mapping[str, Any],
) -> list[SweepRecord]:
    """Run several (point, seed) pairs in one worker call (one pickling, one round trip)."""
    return [run_one(fn, metrics, point, seed, options)[0] for point, seed in tasks]
