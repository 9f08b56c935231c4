"""asyncsim: run real asyncio programs on a virtual clock.

>>> import asyncio, asyncsim
>>> async def main():
...     await asyncio.sleep(3600)
...     return "an hour later"
>>> asyncsim.run(main())
'an hour later'

The names below load their module on first use (PEP 562), so ``import asyncsim``
costs almost nothing and pulls in none of matplotlib, networkx, hypothesis or
multiprocessing; the layers are described in ``docs/architecture.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "Clock": "asyncsim.clock",
    "Deadlock": "asyncsim.errors",
    "PendingTask": "asyncsim.errors",
    "RealIOError": "asyncsim.errors",
    "SimulationError": "asyncsim.errors",
    "SimulationTimeout": "asyncsim.errors",
    "StepLimitExceeded": "asyncsim.errors",
    "VirtualEventLoop": "asyncsim.core.loop",
    "VirtualEventLoopPolicy": "asyncsim.core.loop",
    "new_event_loop": "asyncsim.core.loop",
    "Schedule": "asyncsim.core.schedule",
    "Trace": "asyncsim.trace.records",
    "CpuCost": "asyncsim.instruments.cpu",
    "Measured": "asyncsim.instruments.cpu",
    "mark": "asyncsim.instruments.marks",
    "span": "asyncsim.instruments.marks",
    "Simulation": "asyncsim.scope.simulation",
    "current": "asyncsim.scope.simulation",
    "perturb_latency": "asyncsim.scope.simulation",
    "DEFAULT_EPOCH": "asyncsim.scope.timepatch",
    "patched_time": "asyncsim.scope.timepatch",
    "Run": "asyncsim.runner",
    "run": "asyncsim.runner",
    "simulate": "asyncsim.runner",
    "ScriptRun": "asyncsim.script",
    "load_model": "asyncsim.script",
    "run_script": "asyncsim.script",
    "SweepReplay": "asyncsim.sweeps.replay",
    "sweep": "asyncsim.sweeps.runner",
    "sweep_replay": "asyncsim.sweeps.replay",
    "SweepRecord": "asyncsim.sweeps.records",
    "SweepResult": "asyncsim.sweeps.results",
    "SweepSummary": "asyncsim.sweeps.results",
    "load_sweep": "asyncsim.sweeps.results",
    "Profile": "asyncsim.sweeps.profile",
    "whatif": "asyncsim.sweeps.whatif",
}
#: Public submodules reachable as attributes (``asyncsim.lanes.recorder()``).
_SUBMODULES = {"lanes": "asyncsim.instruments.lanes"}

__all__ = [
    "DEFAULT_EPOCH",
    "Clock",
    "CpuCost",
    "Deadlock",
    "Measured",
    "PendingTask",
    "Profile",
    "RealIOError",
    "Run",
    "Schedule",
    "ScriptRun",
    "Simulation",
    "SimulationError",
    "SimulationTimeout",
    "StepLimitExceeded",
    "SweepRecord",
    "SweepReplay",
    "SweepResult",
    "SweepSummary",
    "Trace",
    "VirtualEventLoop",
    "VirtualEventLoopPolicy",
    "current",
    "lanes",
    "load_model",
    "load_sweep",
    "mark",
    "new_event_loop",
    "patched_time",
    "perturb_latency",
    "run",
    "run_script",
    "simulate",
    "span",
    "sweep",
    "sweep_replay",
    "whatif",
]


def __getattr__(name: str) -> Any:
    # Not cached in globals(): a module restored out of sys.modules (pytester's in-process
    # runs do that) is then imported again, and ``asyncsim.X`` follows the new copy.
    module = _EXPORTS.get(name)
    if module is not None:
        return getattr(importlib.import_module(module), name)
    if name in _SUBMODULES:
        return importlib.import_module(_SUBMODULES[name])
    raise AttributeError(f"module 'asyncsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:  # what type checkers and IDEs see
    from asyncsim.clock import Clock
    from asyncsim.core.loop import VirtualEventLoop, VirtualEventLoopPolicy, new_event_loop
    from asyncsim.core.schedule import Schedule
    from asyncsim.errors import (
        Deadlock,
        PendingTask,
        RealIOError,
        SimulationError,
        SimulationTimeout,
        StepLimitExceeded,
    )
    from asyncsim.instruments import lanes
    from asyncsim.instruments.cpu import CpuCost, Measured
    from asyncsim.instruments.marks import mark, span
    from asyncsim.runner import Run, run, simulate
    from asyncsim.scope.simulation import Simulation, current, perturb_latency
    from asyncsim.scope.timepatch import DEFAULT_EPOCH, patched_time
    from asyncsim.script import ScriptRun, load_model, run_script
    from asyncsim.sweeps.profile import Profile
    from asyncsim.sweeps.records import SweepRecord
    from asyncsim.sweeps.replay import SweepReplay, sweep_replay
    from asyncsim.sweeps.results import SweepResult, SweepSummary, load_sweep
    from asyncsim.sweeps.runner import sweep
    from asyncsim.sweeps.whatif import whatif
    from asyncsim.trace.records import Trace
