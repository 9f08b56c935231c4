"""Sweeps: many simulated runs over a grid of parameters and a range of seeds.

``asyncsim.sweep(fn, params={"concurrency": [10, 50]}, seeds=range(1000))`` calls
``fn(**point)`` for every point of the grid and runs the coroutine it returns with
``asyncsim.simulate(coro, seed=seed)``, once per seed, on local processes (default), any
``concurrent.futures.Executor`` or a Dask cluster (``Client(...).get_executor()``).
Each run is deterministic given (point, seed), so any row can be replayed alone
(:func:`asyncsim.sweeps.replay.sweep_replay`, :meth:`SweepResult.replay`) with its full
timeline report.

Metrics: when the coroutine returns a dict, its entries are the run's metrics; a
``metrics(run) -> dict`` callable (given the :class:`asyncsim.Run`) adds more, and wins on a
name clash. Values are kept as they are if JSON scalars, else as their ``repr``;
summaries use the numeric ones.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from asyncsim._validate import check_int
from asyncsim.scope.options import SimulationOptions
from asyncsim.scope.simulation import current
from asyncsim.sweeps.grid import (
    check_picklable,
    check_signature,
    fn_name,
    grid,
    needs_pickling,
    seed_list,
)
from asyncsim.sweeps.progress import Progress
from asyncsim.sweeps.records import (
    Point,
    SweepRecord,
    header_line,
    order_records,
    read_results_file,
    run_key,
)
from asyncsim.sweeps.results import SweepResult
from asyncsim.sweeps.worker import MetricsFn, run_chunk, run_one

__all__ = ["sweep"]


# --------------------------------------------------------------------------- executors


def _executor_workers(executor: Executor) -> int:
    workers = getattr(executor, "_max_workers", None)
    if isinstance(workers, int) and workers > 0:
        return workers
    client = getattr(executor, "_client", None)
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:
            pass
    return os.cpu_count() or 1


@contextmanager
def _pool(executor: Executor | str, workers: int | None) -> Iterator[tuple[Executor, int]]:
    """The executor to run chunks on and its worker count.

    ``"processes"`` is a new process pool of ``workers`` (default: one per core), shut
    down on exit; a given Executor is used as it is and left running.
    """
    if executor == "processes":
        from concurrent.futures import ProcessPoolExecutor  # loads multiprocessing: on use

        count = workers or os.cpu_count() or 1
        with ProcessPoolExecutor(max_workers=count) as pool:
            yield pool, count
    else:
        assert isinstance(executor, Executor)
        yield executor, _executor_workers(executor)


def _auto_chunksize(runs: int, workers: int) -> int:
    # About eight chunks per worker: few enough that pickling and round trips stay
    # small next to the runs, enough that the load balances and progress moves.
    return max(1, min(64, math.ceil(runs / (workers * 8))))


class _Sink:
    """Where finished runs go: the table, the results file and the progress bar."""

    def __init__(self, handle: IO[str] | None, progress: Progress) -> None:
        self.handle = handle
        self.progress = progress
        self.records: list[SweepRecord] = []

    def add(self, records: Sequence[SweepRecord]) -> None:
        self.records.extend(records)
        if self.handle is not None:
            self.handle.write("".join(json.dumps(r.to_json()) + "\n" for r in records))
            self.handle.flush()
        self.progress.advance(len(records), sum(not r.ok for r in records))


def _run_inline(
    fn: Callable[..., Any],
    metrics: MetricsFn | None,
    tasks: list[tuple[Point, int | str]],
    options: Mapping[str, Any],
    sink: _Sink,
) -> None:
    for point, seed in tasks:
        sink.add([run_one(fn, metrics, point, seed, options)[0]])


def _run_on(
    executor: Executor,
    fn: Callable[..., Any],
    metrics: MetricsFn | None,
    tasks: list[tuple[Point, int | str]],
    options: Mapping[str, Any],
    sink: _Sink,
    chunksize: int,
    workers: int,
) -> None:
    chunks = iter([tasks[i : i + chunksize] for i in range(0, len(tasks), chunksize)])
    in_flight: dict[Future[list[SweepRecord]], int] = {}
    window = workers * 4  # chunks queued at once: bounded, so Ctrl-C cancels quickly

    def submit_more() -> None:
        while len(in_flight) < window:
            chunk = next(chunks, None)
            if chunk is None:
                return
            in_flight[executor.submit(run_chunk, fn, metrics, chunk, options)] = len(chunk)

    try:
        submit_more()
        while in_flight:
            done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            for future in done:
                del in_flight[future]
                try:
                    records = future.result()
                except Exception as exc:
                    raise RuntimeError(
                        f"sweep stopped: the executor failed to run a chunk of runs "
                        f"({type(exc).__name__}: {exc}); finished runs are kept in the "
                        f"results file, and resume=True continues"
                    ) from exc
                sink.add(records)
            submit_more()
    finally:
        for future in in_flight:
            future.cancel()


# --------------------------------------------------------------------------- sweep


def _open_results(
    out: str | os.PathLike[str],
    *,
    resume: bool,
    overwrite: bool,
    fn_name: str,
    options: Mapping[str, Any],
) -> tuple[IO[str], list[SweepRecord]]:
    path = Path(out)
    if path.is_dir():
        raise IsADirectoryError(
            f"out={os.fspath(out)!r} is a folder; give a file path such as results.jsonl"
        )
    previous: list[SweepRecord] = []
    if path.exists() and path.stat().st_size > 0:
        if resume:
            headers, previous, good = read_results_file(path)
            if headers:
                last = headers[-1]
                if last.get("fn") != fn_name or last.get("options", {}) != dict(options):
                    raise ValueError(
                        f"cannot resume {os.fspath(out)!r}: it holds a sweep of "
                        f"{last.get('fn')} with options {last.get('options')}, not of "
                        f"{fn_name} with {dict(options)}; use another out= or overwrite=True"
                    )
            with open(path, "r+b") as handle:  # drop a line cut short by an interruption
                handle.truncate(good)
        elif not overwrite:
            raise FileExistsError(
                f"results file {os.fspath(out)!r} already exists: pass resume=True to continue "
                f"it, or overwrite=True to replace it"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "a" if resume else "w"
    return open(path, mode, encoding="utf-8"), previous


def sweep(
    fn: Callable[..., Any],
    *,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    seeds: int | Iterable[int | str] = 100,
    executor: Executor | str | None = None,
    workers: int | None = None,
    chunksize: int | None = None,
    metrics: MetricsFn | None = None,
    out: str | os.PathLike[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool | str = True,
    until: float | None = None,
    max_steps: int | None = None,
) -> SweepResult:
    """Run ``fn(**point)`` on virtual time for every parameter point and seed.

    Parameters
    ----------
    fn : callable
        An ``async def`` function (or any function returning a coroutine) whose keyword
        parameters are the swept names. If the coroutine returns a dict, its entries
        are the run's metrics.
    params : dict or list of dict
        ``{"concurrency": [10, 50, 100], "requests": 200}``: each name with a list of
        values (a single value is fixed); the grid is their product, in order. Or an
        explicit list of points ``[{"concurrency": 10}, ...]``. Values are JSON
        scalars. Default: one point with no arguments.
    seeds : int or iterable
        ``range(seeds)`` for an int, else the seeds themselves (ints or strs).
    executor : Executor, str or None
        None or ``"processes"``: a process pool of ``workers`` (default one per core),
        shut down at the end (``"inline"`` instead when called inside a simulation).
        ``"inline"``: one after another in this process (no pickling). Any
        ``concurrent.futures.Executor``, e.g. ``distributed.Client(...).get_executor()``;
        runs in one process never overlap, so a thread pool gives no speed-up.
    workers : int, optional
        Size of the default process pool.
    chunksize : int, optional
        Runs sent to a worker at once (default: about eight chunks per worker, at most 64).
    metrics : callable, optional
        ``metrics(run) -> dict`` called with each :class:`asyncsim.Run`; wins over the
        coroutine's returned dict on a name clash.
    out : path, optional
        A JSON Lines file that receives each run as it finishes (see
        :func:`asyncsim.load_sweep`). An existing file is an error unless ``resume`` (keep its
        runs and do only the missing (point, seed) pairs) or ``overwrite``.
    progress : bool or "force"
        A progress bar on stderr when it is a terminal ("force": always) and a final line.
    until, max_steps
        Passed to :func:`asyncsim.simulate` for every run (virtual seconds, callbacks).

    Returns
    -------
    SweepResult
        The records in grid order (point, then seed): virtual ``elapsed`` (seconds),
        ``wall`` (real seconds), ``steps``, ``outcome`` ("ok"/"error" with the exception's
        type, message and traceback) and ``metrics``. A run that raises is recorded and
        the sweep continues.
    """
    if inspect.iscoroutine(fn):
        raise TypeError(
            "sweep(fn=...) expects the async function itself (main, not main()), "
            "since it calls it once per run"
        )
    if not callable(fn):
        raise TypeError(f"sweep(fn=...) expects an async function, got {fn!r}")
    if metrics is not None and not callable(metrics):
        raise TypeError(f"metrics must be a callable metrics(run) -> dict, got {metrics!r}")
    if isinstance(executor, str) and executor not in ("processes", "inline"):
        raise ValueError(f"executor must be an Executor, 'processes' or 'inline', got {executor!r}")
    if executor is not None and not isinstance(executor, (str, Executor)):
        raise TypeError(f"executor must be a concurrent.futures.Executor, got {executor!r}")
    for label, n in (("workers", workers), ("chunksize", chunksize)):
        if n is not None:
            check_int(label, n, minimum=1)
    if asyncio._get_running_loop() is not None:
        raise RuntimeError(
            "asyncsim.sweep() cannot be called from a running event loop: it runs each simulation "
            "on its own loop; call it from synchronous code"
        )
    if progress not in (True, False, "force"):
        raise ValueError(f"progress must be True, False or 'force', got {progress!r}")
    names, points = grid({} if params is None else params)
    seeds_ = seed_list(seeds)
    check_signature(fn, names, points)
    SimulationOptions(until=until, max_steps=max_steps)  # checked as every run will check them
    options = {k: v for k, v in (("until", until), ("max_steps", max_steps)) if v is not None}
    if executor is None:
        executor = "inline" if current() is not None else "processes"
    if executor == "processes" or needs_pickling(executor):
        check_picklable("fn", fn, executor)
        if metrics is not None:
            check_picklable("metrics", metrics, executor)

    name = fn_name(fn)
    started = time.perf_counter()
    handle: IO[str] | None = None
    previous: list[SweepRecord] = []
    if out is not None:
        handle, previous = _open_results(
            out, resume=resume, overwrite=overwrite, fn_name=name, options=options
        )
    try:
        wanted = {run_key(p, s) for p in points for s in seeds_}
        kept = [r for r in previous if r.key in wanted]
        finished = {r.key for r in kept}
        tasks = [(p, s) for p in points for s in seeds_ if run_key(p, s) not in finished]
        if handle is not None:
            handle.write(json.dumps(header_line(name, names, points, seeds_, options)) + "\n")
            handle.flush()
        bar = Progress(len(wanted), mode=progress, done=len(kept))
        sink = _Sink(handle, bar)
        interrupted = True
        try:
            if not tasks:
                pass
            elif executor == "inline":
                _run_inline(fn, metrics, tasks, options, sink)
            else:
                with _pool(executor, workers) as (pool, count):
                    chunk = chunksize or _auto_chunksize(len(tasks), count)
                    _run_on(pool, fn, metrics, tasks, options, sink, chunk, count)
            interrupted = False
        finally:
            bar.close(interrupted=interrupted)
    finally:
        if handle is not None:
            handle.close()
    records = order_records([*kept, *sink.records], points, seeds_)
    return SweepResult(
        records,
        params=names,
        fn=fn,
        metrics=metrics,
        options=options,
        path=os.fspath(out) if out is not None else None,
        wall=time.perf_counter() - started,
    )
