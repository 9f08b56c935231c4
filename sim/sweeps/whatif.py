"""``asyncsim.whatif(main, speedups=[0.25, 0.5, 1.0], seeds=20)``: a causal what-if profile.

For every component of the program (found by a first, traced run of the first seed:
see :mod:`asyncsim.core.durations` for the kinds and their keys) and every speedup,
the program runs once per seed with that one component's virtual durations multiplied
by ``1 - speedup``; the program itself is unchanged. The runs are one sweep
(:func:`asyncsim.sweep`: local processes, inline or Dask), whose points are
``{"component": key, "speedup": s}`` and ``{"component": None, "speedup": 0}`` for
the baseline, so every run is deterministic and replayable alone
(:meth:`asyncsim.sweeps.profile.Profile.replay`). The analysis is
:mod:`asyncsim.trace.whatif`, the answer a :class:`~asyncsim.sweeps.profile.Profile`.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from asyncsim._validate import check_int, check_number, refuse
from asyncsim.clock import to_seconds
from asyncsim.core import durations
from asyncsim.core.durations import DurationScaling
from asyncsim.instruments.cpu import cpu_cost
from asyncsim.runner import Run, simulate
from asyncsim.scope.options import SimulationOptions
from asyncsim.scope.simulation import current
from asyncsim.scope.timepatch import _real_perf_counter
from asyncsim.sweeps.components import Component, check_name, resolve
from asyncsim.sweeps.grid import (
    check_picklable,
    check_signature,
    fn_name,
    needs_pickling,
    seed_list,
)
from asyncsim.sweeps.profile import SIGNATURE_METRIC, Profile
from asyncsim.sweeps.runner import sweep
from asyncsim.trace.whatif import SIGNATURE_KINDS, factor

__all__ = ["SIGNATURE_METRIC", "ProfiledFunction", "whatif"]

#: Speedups allowed: 1 (the component takes no time) down to -99 (100 times as long).
MIN_SPEEDUP = -99.0


def _signature(plan: DurationScaling, run: Run | None, error: str | None) -> dict[str, Any]:
    counts = {
        key: n
        for key, n in sorted(plan.counts.items())
        if durations.split_key(key)[0] in SIGNATURE_KINDS
    }
    if run is not None and run.exception is not None:
        outcome = type(run.exception).__name__
    else:
        outcome = error or "ok"
    fired = {key: n for key, n in sorted(plan.fired().items()) if n}
    labels = {key: plan.labels[key] for key in [*counts, *fired] if key in plan.labels}
    return {"outcome": outcome, "counts": counts, "fired": fired, "labels": labels}


class ProfiledFunction:
    """``fn(**kwargs)`` run with one component scaled: the function a profile sweeps.

    Picklable when ``fn``, ``kwargs``, ``cpu`` and ``network`` are, so worker processes
    can run it. Each run loads its own models (``models`` files, ``network()``), so runs
    never share a model's state.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        kwargs: Mapping[str, Any] | None = None,
        *,
        models: Sequence[str] = (),
        network: Callable[[], Any] | None = None,
        cpu: Any = None,
    ) -> None:
        self.fn = fn
        self.kwargs = dict(kwargs or {})
        self.models = tuple(models)
        self.network = network
        self.cpu = cpu

    @property
    def sweep_name(self) -> str:
        """How results files name the profile: ``whatif app.py:main``."""
        return f"whatif {fn_name(self.fn)}"

    @property
    def __signature__(self) -> inspect.Signature:
        kind = inspect.Parameter.KEYWORD_ONLY
        return inspect.Signature(
            [inspect.Parameter("component", kind), inspect.Parameter("speedup", kind)]
        )

    def __call__(self, *, component: str | None, speedup: float) -> Any:
        raise TypeError("a ProfiledFunction runs through simulate_point(), not a call")

    def __repr__(self) -> str:
        return f"ProfiledFunction({self.fn!r}, {self.kwargs!r})"

    def simulation_models(self) -> dict[str, Any]:
        """The ``network`` and ``cpu`` of one run: fresh from the model files and factory."""
        from asyncsim.script import load_model

        models: dict[str, Any] = {}
        for path in self.models:
            for name, value in load_model(path).items():
                if name in models:
                    raise ValueError(f"two model files define {name!r}; keep one")
                models[name] = value
        if self.network is not None:
            if "network" in models:
                raise ValueError("network= is given and a model file defines network too")
            models["network"] = self.network()
        if self.cpu is not None:
            if "cpu" in models:
                raise ValueError("cpu= is given and a model file defines cpu too")
            models["cpu"] = self.cpu
        return models

    def run(
        self,
        point: Mapping[str, Any],
        seed: int | str,
        *,
        trace: bool = False,
        record: bool = False,
        **options: Any,
    ) -> tuple[Run, DurationScaling]:
        """One run of ``point`` with ``seed``: the :class:`asyncsim.Run` and its scaling.

        ``record``: note which task waited for which duration (``DurationScaling.ends``).
        """
        component = point.get("component")
        speedup = float(point.get("speedup", 0.0))
        plan = DurationScaling(
            component, factor(speedup) if component is not None else 1.0, record=record
        )
        models = self.simulation_models()
        with durations.scaling(plan):
            coro = self.fn(**self.kwargs)
            if not inspect.iscoroutine(coro):
                raise TypeError(
                    f"{fn_name(self.fn)}() returned {type(coro).__name__}, not a coroutine: "
                    "profile an async function"
                )
            return simulate(coro, seed=seed, trace=trace, **models, **options), plan

    def simulate_point(
        self, point: Mapping[str, Any], seed: int | str, *, trace: bool = False, **options: Any
    ) -> tuple[Run, dict[str, Any]]:
        """The sweep worker's hook: the run, and its signature as a metric."""
        run, plan = self.run(point, seed, trace=trace, **options)
        signature = _signature(plan, run, None)
        return run, {SIGNATURE_METRIC: json.dumps(signature, separators=(",", ":"))}


def critical_shares(run: Run, plan: DurationScaling) -> dict[str, float]:
    """Component key -> virtual seconds of ``run``'s critical path spent waiting for it.

    A stretch of the path counts for a component when the path's task was waiting for
    one of that component's durations and the stretch ends where that duration ended
    (``plan`` ran with ``record=True``; tasks are matched by creation order and
    coroutine, as a trace numbers them). Waits on the network are not attributed.
    """
    trace = run.trace
    if trace is None or not plan.ends:
        return {}
    coroutines = [row.coroutine for row in trace.tasks]
    shares: dict[str, int] = {}
    for segment in trace.critical_path():
        if segment.kind == "ready" or segment.task is None:
            continue
        keys = plan.ends.get((segment.task, coroutines[segment.task], segment.end_ns), ())
        if len(keys) == 1:  # (two components ending at once for one task: neither)
            [key] = keys
            shares[key] = shares.get(key, 0) + segment.duration_ns
    return {key: to_seconds(ticks) for key, ticks in shares.items()}


# --------------------------------------------------------------------------- checks


def _speedups(speedups: Any, slowdowns: Any) -> list[float]:
    """The speedups to profile, checked: the given ones, then ``-s`` for each slowdown."""
    found: list[float] = []
    for name, values, sign in (("speedups", speedups, 1.0), ("slowdowns", slowdowns, -1.0)):
        if values is None:
            continue
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            refuse(name, "a list of numbers", values)
        values = list(values)
        if not values and name == "speedups" and slowdowns is None:
            raise ValueError("speedups is empty: give at least one, e.g. [0.25, 0.5, 1.0]")
        for i, value in enumerate(values):
            if sign > 0:
                number = check_number(
                    f"{name}[{i}]", value, minimum=MIN_SPEEDUP, maximum=1.0, what="a speedup"
                )
            else:  # a slowdown f: durations f times as long, the speedup 1 - f
                number = 1.0 - check_number(
                    f"{name}[{i}]",
                    value,
                    minimum=1.0,
                    maximum=1.0 - MIN_SPEEDUP,
                    what="a slowdown factor",
                )
            if number in found:
                raise ValueError(f"{name}[{i}]: the speedup {number!r} is given twice")
            found.append(number)
    found = [s for s in found if s != 0]  # 0 is the baseline, which always runs
    if not found:
        raise ValueError(
            "nothing to profile: give speedups (e.g. [0.25, 0.5, 1.0]) or slowdowns "
            "(e.g. [2, 4]) other than as is"
        )
    return sorted(found)


def _components_arg(components: Any) -> list[str] | None:
    if components is None:
        return None
    if isinstance(components, str) or not isinstance(components, Iterable):
        refuse("components", "None or a list of component names", components)
    names = list(components)
    if not names:
        raise ValueError("components is empty: give None (every component) or some names")
    for i, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            refuse(f"components[{i}]", "a component name (a non-empty str)", name)
        check_name(f"components[{i}]", name.strip())
    return [n.strip() for n in names]


def _models_arg(model: Any) -> list[str]:
    if model is None:
        return []
    paths = [model] if isinstance(model, (str, os.PathLike)) else model
    if not isinstance(paths, Iterable):
        refuse("model", "a model file path or a list of them", model)
    out = []
    for path in paths:
        if not isinstance(path, (str, os.PathLike)):
            refuse("model", "a model file path or a list of them", model)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"model file {os.fspath(path)!r} does not exist")
        out.append(os.path.abspath(path))
    return out


def _check_executor(executor: Any, workers: Any) -> None:
    if isinstance(executor, str) and executor not in ("processes", "inline"):
        refuse("executor", "an Executor, 'processes' or 'inline'", executor, error=ValueError)
    if executor is not None and not isinstance(executor, (str, Executor)):
        refuse("executor", "a concurrent.futures.Executor, 'processes' or 'inline'", executor)
    if workers is not None:
        check_int("workers", workers, minimum=1)


# --------------------------------------------------------------------------- whatif


def whatif(
    main: Callable[..., Any],
    speedups: Iterable[float] | None = (0.25, 0.5, 1.0),
    *,
    slowdowns: Iterable[float] | None = None,
    seeds: int | Iterable[int | str] = 20,
    components: Iterable[str] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    model: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    network: Callable[[], Any] | None = None,
    cpu: Any = None,
    executor: Executor | str | None = None,
    workers: int | None = None,
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: bool | str = True,
    until: float | None = None,
    max_steps: int | None = None,
) -> Profile:
    """Profile ``main``: how much sooner (or later) it ends when one component is faster.

    Parameters
    ----------
    main : async function
        Called as ``main(**kwargs)`` for every run (module-level, to run on processes).
    speedups : list of float
        Each profiled component's durations are multiplied by ``1 - s`` for each ``s``:
        0.5 halves them, 1 makes them take no time, -1 doubles them (slowdown mode).
        Each from -99 to 1; 0 (the baseline) always runs. Default ``[0.25, 0.5, 1.0]``.
    slowdowns : list of float, optional
        Slowdown mode, as factors from 1 to 100: 2 makes the component's durations twice
        as long (the speedup -1), 4 four times (-3).
    seeds : int or iterable
        ``range(seeds)`` for an int, else the seeds; every cell runs every seed.
    components : list of str, optional
        The components to profile (default: every one that takes virtual time in the
        first seed's run). A name is a component key (``"service:db"``,
        ``"http:example.com"``, ``"cpu:crunch"``, ``"thread:hash_password"``,
        ``"link:localhost<->example.com"``, ``"network:dns"``), a call site
        ``"app.py:12"`` of a sleep, timer or ``time.sleep``, or a bare name
        (``"db"``) that names one component.
    kwargs : dict, optional
        Keyword arguments for ``main``.
    model : path or list of paths, optional
        Model files (as ``asyncsim run --model``) loaded afresh for every run.
    network : callable, optional
        A function returning the ``Network`` of one run (called for every run).
    cpu : optional
        The CPU cost model (``cpu=`` of :func:`asyncsim.simulate`).
    executor, workers, progress, until, max_steps
        As for :func:`asyncsim.sweep`.
    out : path, optional
        A JSON Lines file receiving every run (:func:`asyncsim.load_sweep` reads it);
        an existing one is an error unless ``overwrite``.

    Returns
    -------
    Profile
        ``print(profile)`` shows the ranked table; :meth:`Profile.plot` the causal
        profile; :meth:`Profile.report` writes the HTML page.

    Raises
    ------
    TypeError, ValueError
        Before any profile run, for bad arguments: an unknown component (after the first
        seed's discovery run, which finds the components), empty speedups, a factor
        outside the allowed range.
    """
    started = _real_perf_counter()
    if inspect.iscoroutine(main):
        main.close()
        raise TypeError("whatif(main=...) expects the async function itself (main, not main())")
    if not callable(main):
        refuse("main", "an async function", main)
    factors = _speedups(speedups, slowdowns)
    seed_values = seed_list(seeds)
    names = _components_arg(components)
    if kwargs is not None and not isinstance(kwargs, Mapping):
        refuse("kwargs", "a dict of keyword arguments for main", kwargs)
    check_signature(main, list(kwargs or {}), [dict(kwargs or {})])
    models = _models_arg(model)
    if network is not None and not callable(network):
        refuse("network", "a function returning a Network (called once per run)", network)
    _check_executor(executor, workers)
    SimulationOptions(until=until, max_steps=max_steps, cpu=cpu)  # as every run checks them
    cpu_cost(cpu)  # the CPU model is checked when a simulation builds it: check it now
    options = {k: v for k, v in (("until", until), ("max_steps", max_steps)) if v is not None}
    fn = ProfiledFunction(main, kwargs, models=models, network=network, cpu=cpu)
    if executor is None:
        executor = "inline" if current() is not None else "processes"
    if executor == "processes" or needs_pickling(executor):
        check_picklable("main", fn, executor)
    if out is not None and Path(out).exists() and not overwrite:
        raise FileExistsError(
            f"results file {os.fspath(out)!r} already exists: pass overwrite=True to replace it"
        )

    # Discovery: the first seed as it is, traced, finds the components.
    discovery, plan = fn.run(
        {"component": None, "speedup": 0.0}, seed_values[0], trace=True, record=True, **options
    )
    critical = critical_shares(discovery, plan)
    found = [
        Component(
            key=key,
            label=plan.labels[key],
            count=n,
            total=to_seconds(plan.totals[key]),
            critical=critical.get(key, 0.0),
        )
        for key, n in plan.counts.items()
    ]
    if names is None:
        chosen = [c for c in found if c.total > 0]
    else:
        chosen = []
        for name in names:
            component = resolve(name, found)
            if component.key not in [c.key for c in chosen]:
                chosen.append(component)
    skipped = [c for c in found if c not in chosen]
    points: list[dict[str, Any]] = [{"component": None, "speedup": 0.0}]
    points += [{"component": c.key, "speedup": s} for c in chosen for s in factors]
    result = sweep(
        fn,
        params=points,
        seeds=seed_values,
        executor=executor,
        workers=workers,
        out=out,
        overwrite=overwrite,
        progress=progress,
        until=until,
        max_steps=max_steps,
    )
    labels = dict(plan.labels)
    return Profile(
        fn,
        components=chosen,
        skipped=skipped,
        speedups=factors,
        seeds=seed_values,
        result=result,
        labels=labels,
        discovery=discovery,
        wall=_real_perf_counter() - started,
        options=options,
    )
