"""Measuring the CPU time of every task step, per coroutine: what a recorded CPU model is made of.

:class:`StepCpuRecorder` is an :class:`~asyncsim.core.instrument.Instrument`: on any
loop that calls the hooks (the virtual loop, or the real loop ``asyncsim record``
runs programs on) it reads this thread's CPU clock before and after each callback
and files the difference of each task step under the step's coroutine (its
qualname, as the CPU cost model looks it up). The samples, in seconds, are what
``cpu={qualname: Empirical(samples)}`` replays.
"""

from __future__ import annotations

import asyncio
import time

from asyncsim.core.instrument import Instrument
from asyncsim.core.introspect import coroutine_name
from asyncsim.instruments.cpu import step_task

__all__ = ["StepCpuRecorder"]

# The real clocks, read at import (time patching never touches them).
_thread_time_ns = time.thread_time_ns
_perf_counter_ns = time.perf_counter_ns
# The loop's own shutdown work, not the program's.
_LOOP_OWN = frozenset(
    {
        "BaseEventLoop.shutdown_asyncgens",
        "BaseEventLoop.shutdown_default_executor",
        "ThreadJobs.shutdown_default_executor",
    }
)


class StepCpuRecorder(Instrument):
    """Records the CPU seconds of each task step into ``samples[coroutine qualname]``.

    Parameters
    ----------
    samples : dict of str to list of float
        Filled as the loop runs (one list per coroutine qualname): CPU seconds.
    wall : dict of str to list of float, optional
        Filled with the real seconds of the same steps (on a busy machine, more than
        their CPU time: the time the operating system ran other processes meanwhile).

    Examples
    --------
    >>> import asyncio, asyncsim
    >>> samples = {}
    >>> async def main():
    ...     asyncio.get_running_loop().add_instrument(StepCpuRecorder(samples))
    ...     await asyncio.sleep(0)
    >>> asyncsim.run(main())
    >>> len(samples["main"])  # (asyncio.run's shutdown_asyncgens is a step of its own)
    1
    """

    def __init__(
        self, samples: dict[str, list[float]], wall: dict[str, list[float]] | None = None
    ) -> None:
        self.samples = samples
        self.wall = wall
        self._started = 0
        self._wall_started = 0

    def before_step(self, handle: asyncio.Handle) -> None:
        if self.wall is not None:
            self._wall_started = _perf_counter_ns()
        self._started = _thread_time_ns()

    def after_step(self, handle: asyncio.Handle) -> None:
        spent = _thread_time_ns() - self._started
        task = step_task(handle)
        if task is None:
            return
        name = coroutine_name(task)
        if name in _LOOP_OWN:
            return
        found = self.samples.get(name)
        if found is None:
            found = self.samples[name] = []
        found.append(spent / 1e9)
        if self.wall is not None:
            self.wall.setdefault(name, []).append((_perf_counter_ns() - self._wall_started) / 1e9)
