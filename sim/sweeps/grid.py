"""Checking a sweep's input before any run starts: the grid, the seeds, the function."""

from __future__ import annotations

import difflib
import inspect
import itertools
import math
import pickle
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asyncsim._validate import refuse
from asyncsim.sweeps.records import Point

__all__ = ["check_picklable", "check_signature", "fn_name", "grid", "needs_pickling", "seed_list"]

#: The value types a point, a seed or a metric may hold as they are (JSON scalars).
JSON_SCALARS = (bool, int, float, str, type(None))


def _check_value(name: str, value: Any) -> None:
    finite = not isinstance(value, float) or math.isfinite(value)
    if not (isinstance(value, JSON_SCALARS) and finite):
        raise TypeError(
            f"params[{name!r}]: values must be JSON scalars (int, finite float, str, bool, "
            f"None) so runs can be saved, resumed and replayed; got {value!r}"
        )


def grid(params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> tuple[list[str], list[Point]]:
    """Parameter names and the points: the product of a dict of values, or a list of points."""
    if isinstance(params, Mapping):
        names = list(params)
        columns = []
        for name in names:
            if not isinstance(name, str) or not name.isidentifier():
                raise TypeError(f"params: names must be identifiers, got {name!r}")
            values = params[name]
            if isinstance(values, (set, frozenset)):
                raise TypeError(
                    f"params[{name!r}] is a set, whose order varies: use a list, e.g. "
                    f"{sorted(values, key=repr)!r}"
                )
            if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
                values = [values]  # one fixed value
            values = list(values)
            if not values:
                raise ValueError(f"params[{name!r}] is empty, so the grid has no points")
            for value in values:
                _check_value(name, value)
            columns.append(values)
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*columns)]
        return names, points
    if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(
            f"params must be a dict of name -> values or a list of point dicts, got {params!r}"
        )
    points = []
    for point in params:
        if not isinstance(point, Mapping):
            raise TypeError(f"params: each point must be a dict, got {point!r}")
        for name, value in point.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise TypeError(f"params: names must be identifiers, got {name!r}")
            _check_value(name, value)
        points.append(dict(point))
    if not points:
        raise ValueError("params is an empty list of points, so there is nothing to run")
    names = list(dict.fromkeys(name for point in points for name in point))
    return names, points


def seed_list(seeds: int | Iterable[int | str]) -> list[int | str]:
    """The seeds to run: ``range(seeds)`` for a count, else the distinct ints/strs given."""
    if isinstance(seeds, bool):
        refuse("seeds", "a count or an iterable of ints", seeds)
    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1 (a count of seeds), got {seeds!r}")
        return list(range(seeds))
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a count or an iterable of ints, got {seeds!r}")
    result = list(seeds)
    if not result:
        raise ValueError("seeds is empty, so there is nothing to run")
    for seed in result:
        if isinstance(seed, bool) or not isinstance(seed, (int, str)):
            refuse("seeds: each seed", "an int or a str", seed)
    if len(set(result)) != len(result):
        twice = sorted({s for s in result if result.count(s) > 1}, key=repr)
        raise ValueError(f"seeds: each seed must appear once; repeated: {twice!r}")
    return result


def fn_name(fn: Callable[..., Any]) -> str:
    """The name a results file records for ``fn``: ``module.qualname`` or ``fn.sweep_name``."""
    name = getattr(fn, "sweep_name", None)
    if isinstance(name, str):
        return name
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def check_signature(fn: Callable[..., Any], names: list[str], points: list[Point]) -> None:
    """Refuse (ValueError) a parameter ``fn`` does not take, or a point it cannot bind."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # a builtin or C callable: nothing to check up front
    described = f"{getattr(fn, '__name__', fn_name(fn))}{signature}"
    parameters = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    keywords = [
        n for n, p in parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    if not takes_any:
        for name in names:
            if name not in keywords:
                close = difflib.get_close_matches(name, keywords, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"params: unknown parameter {name!r} for {described}{hint}")
    for point in points:
        try:
            signature.bind(**point)
        except TypeError as exc:
            raise ValueError(f"params: point {point!r} does not fit {described}: {exc}") from None


def needs_pickling(executor: Any) -> bool:
    """True when ``executor`` sends work to other processes (anything but threads/inline)."""
    return not isinstance(executor, (ThreadPoolExecutor, str, type(None)))


def check_picklable(what: str, obj: Any, executor: Any) -> None:
    """Refuse (TypeError) an ``obj`` that cannot be sent to ``executor``'s workers."""
    try:
        pickle.dumps(obj)
        return
    except Exception as exc:
        error = exc
    if type(executor).__module__.startswith("distributed"):
        try:  # Dask falls back to cloudpickle, which handles lambdas and closures
            import cloudpickle

            cloudpickle.dumps(obj)
            return
        except Exception as exc:
            error = exc
    raise TypeError(
        f"{what}={obj!r} cannot be pickled to send it to worker processes ({error}); "
        f"define it at module level (not a lambda or a nested function), or use "
        f"executor='inline'"
    ) from None
