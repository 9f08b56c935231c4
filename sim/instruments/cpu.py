"""The CPU cost model: task steps that take virtual time.

Off by default: a step (one run of a task's coroutine up to its next ``await``
that suspends) takes zero virtual time. With a cost model on, the loop's clock
advances by the step's cost when the step ends, so a CPU-bound coroutine holds
the loop and visibly delays every other task (the "blocking the event loop"
lesson). Only task steps are charged; plain callbacks (timers, future
callbacks, ``call_soon`` functions) stay free. Inside a step the coroutine sees
the time the step started; the cost is charged when it yields.

A cost is given as (``cpu=`` of :func:`asyncsim.run`, :func:`asyncsim.simulate`,
:func:`asyncsim.run_script`, ``asyncsim run --cpu``):

* a number: that many virtual seconds per step;
* a distribution (anything with ``sample(rng) -> seconds``, e.g.
  ``asyncsim.models.distributions.Exponential(0.001)``), drawn from the simulation's
  ``"sim.cpu"`` stream (:meth:`asyncsim.Simulation.stream`);
* a mapping ``{coroutine name: number or distribution}``, keyed by qualname
  (``"Worker.run"``) or plain name (``"run"``; the qualname wins); steps of
  other coroutines cost the ``"*"`` entry if present, else nothing;
* ``"measured"`` or :class:`Measured` ``(scale)``: the real CPU time the step
  took on this thread, times ``scale``.

Thread jobs take no virtual time by default. A mapping entry that names a function
(plain name or qualname, as for coroutines) gives every thread job running it
(``asyncio.to_thread(hash_password, ...)``, ``loop.run_in_executor(None,
hash_password, ...)``) that many virtual seconds: its result arrives that long after
it was submitted, and meanwhile the loop runs other tasks, as beside a real thread.
The ``"*"`` entry, a number, a distribution and ``"measured"`` charge task steps only.

In a what-if profile (:mod:`asyncsim.core.durations`) each coroutine's step costs are
the component ``cpu:QUALNAME`` and each function's thread jobs ``thread:QUALNAME``.

The model is an :class:`asyncsim.core.instrument.Instrument`; a :class:`asyncsim.Simulation`
attaches it to each new loop before any other instrument, so tracers attached
later see a step end at its start time plus its cost.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from asyncsim._validate import check_number, is_number, refuse
from asyncsim.clock import to_ticks
from asyncsim.core import durations
from asyncsim.core.instrument import Instrument
from asyncsim.core.introspect import coroutine_name

__all__ = [
    "CpuCost",
    "CpuModel",
    "Measured",
    "SampledCost",
    "cpu_cost",
    "job_function_name",
    "step_task",
]

# The real per-thread CPU clock, read at import (time patching never touches it).
_thread_time_ns = time.thread_time_ns

_SPEC_HELP = (
    "seconds per step (a number >= 0), a distribution with sample(rng), "
    "a {coroutine qualname: cost} mapping, 'measured' or asyncsim.instruments.cpu.Measured(scale)"
)


@runtime_checkable
class SampledCost(Protocol):
    """A distribution of step costs: ``sample(rng)`` returns virtual seconds >= 0."""

    def sample(self, rng: random.Random) -> float: ...


@dataclass(frozen=True)
class Measured:
    """Charge each step its real CPU time on this thread, times ``scale``.

    ``scale`` > 1 models a slower machine, < 1 a faster one. Results depend on
    the machine and are not reproducible; use a constant or a distribution for
    deterministic runs.
    """

    scale: float = 1.0

    def __post_init__(self) -> None:
        scale = self.scale
        if not is_number(scale):
            refuse("Measured(scale=...)", "a finite number > 0", scale)
        if not (math.isfinite(scale) and scale > 0):
            refuse("Measured(scale=...)", "a finite number > 0", scale, error=ValueError)


_Cost = float | SampledCost


def _check_cost(name: str, cost: object) -> _Cost:
    if isinstance(cost, SampledCost):
        return cost
    if not is_number(cost):
        refuse(name, _SPEC_HELP, cost)
    return check_number(name, cost, minimum=0, what="a number of seconds")


def step_task(handle: asyncio.Handle) -> asyncio.Task[Any] | None:
    """The task whose step ``handle`` runs (its ``__step`` or wakeup), else None."""
    owner = getattr(getattr(handle, "_callback", None), "__self__", None)
    return owner if isinstance(owner, asyncio.Task) else None


class CpuCost(Instrument):
    """An instrument that advances the loop's clock by each task step's cost.

    Parameters
    ----------
    cost : float, distribution, mapping, "measured" or Measured
        The cost of a step in virtual seconds (see the module docstring).
    rng : random.Random, optional
        Where distributions draw from (a :class:`asyncsim.Simulation` passes its
        ``"sim.cpu"`` stream); ``Random(0)`` if not given.

    Examples
    --------
    >>> import asyncio, asyncsim
    >>> async def crunch():
    ...     for _ in range(3):
    ...         await asyncio.sleep(0)
    >>> asyncsim.run(crunch(), cpu=0.25)   # 4 steps of 0.25 s
    >>> asyncsim.simulate(crunch(), cpu=0.25).elapsed
    1.0
    """

    def __init__(self, cost: CpuModel, *, rng: random.Random | None = None) -> None:
        self.spec = cost
        self._rng = rng
        self._measured: Measured | None = None
        self._by_name: dict[str, _Cost] | None = None
        self._default: _Cost = 0.0
        self._started = 0
        if isinstance(cost, str):
            if cost.strip().lower() != "measured":
                refuse("cpu", _SPEC_HELP, cost, error=ValueError)
            self._measured = Measured()
        elif isinstance(cost, Measured):
            self._measured = cost
        elif isinstance(cost, Mapping):
            self._by_name = {}
            for key, value in cost.items():
                if not isinstance(key, str):
                    raise TypeError(
                        f"cpu mapping keys must be coroutine qualnames (str), got {key!r}"
                    )
                self._by_name[key] = _check_cost(f"cpu[{key!r}]", value)
            self._default = self._by_name.pop("*", 0.0)
        else:
            self._default = _check_cost("cpu", cost)

    def attached(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._rng is None:
            self._rng = random.Random(0)
        if self._by_name and hasattr(loop, "job_duration"):
            loop.job_duration = self.job_cost  # a mapping may name thread-job functions

    def detached(self, loop: asyncio.AbstractEventLoop) -> None:
        if getattr(loop, "job_duration", None) == self.job_cost:
            loop.job_duration = None  # type: ignore[attr-defined]

    def before_step(self, handle: asyncio.Handle) -> None:
        if self._measured is not None:
            self._started = _thread_time_ns()

    def after_step(self, handle: asyncio.Handle) -> None:
        task = step_task(handle)
        if task is None:
            return
        if self._measured is not None:
            ticks = round((_thread_time_ns() - self._started) * self._measured.scale)
        else:
            cost = self._default
            if self._by_name is not None:
                cost = self._lookup(task, cost)
            ticks = to_ticks(cost if isinstance(cost, float) else self._draw(cost))
        plan = handle._loop.durations  # type: ignore[attr-defined]
        if plan is not None and ticks:  # a what-if profile run
            name = coroutine_name(task)
            ticks = plan.ticks(f"cpu:{name}", f"CPU of {name}()", ticks, task)
        if ticks > 0:
            handle._loop.clock.now += ticks  # type: ignore[attr-defined]

    def _draw(self, cost: _Cost) -> float:
        if isinstance(cost, float):
            return cost
        seconds = cost.sample(self._rng or random.Random(0))
        if not (isinstance(seconds, (int, float)) and seconds >= 0):
            raise ValueError(
                f"CPU cost distribution {cost!r} drew {seconds!r}; costs must be >= 0 s"
            )
        return seconds

    def job_cost(self, func: Callable[..., object]) -> int:
        """The virtual ticks (ns) a thread job running ``func`` takes: 0 unless named."""
        if not self._by_name:
            return 0
        name = job_function_name(func)
        cost = self._by_name.get(name)
        if cost is None:
            cost = self._by_name.get(name.rpartition(".")[2])
        if cost is None:
            return 0
        ticks = to_ticks(self._draw(cost))
        plan = durations.current()
        if plan is not None:
            ticks = plan.ticks(f"thread:{name}", f"thread job {name}()", ticks)
        return ticks

    def _lookup(self, task: asyncio.Task[Any], default: _Cost) -> _Cost:
        assert self._by_name is not None
        qualname = coroutine_name(task)
        cost = self._by_name.get(qualname)
        if cost is None:  # "Worker.run" or "main.<locals>.crunch" also match "run"/"crunch"
            cost = self._by_name.get(qualname.rpartition(".")[2], default)
        return cost

    def __repr__(self) -> str:
        return f"CpuCost({self.spec!r})"


def job_function_name(func: Callable[..., object]) -> str:
    """The qualname of the function a thread job runs (through ``to_thread``'s partial)."""
    target: object = func
    for _ in range(10):
        if not isinstance(target, functools.partial):
            break
        inner = target.func
        if isinstance(getattr(inner, "__self__", None), contextvars.Context) and target.args:
            target = target.args[0]  # asyncio.to_thread: partial(context.run, func, *args)
        else:
            target = inner
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None)
    return name if isinstance(name, str) else type(target).__name__


#: What ``cpu=`` accepts (see the module docstring); None (or False) turns the model off.
CpuModel = float | SampledCost | Mapping[str, _Cost] | str | Measured | CpuCost


def cpu_cost(cpu: CpuModel | None, *, rng: random.Random | None = None) -> CpuCost | None:
    """``cpu=`` as a :class:`CpuCost` instrument (None or False: the model is off)."""
    if cpu is None or cpu is False:
        return None
    if isinstance(cpu, CpuCost):
        return cpu
    return CpuCost(cpu, rng=rng)
