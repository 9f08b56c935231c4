"""asyncsim: run real asyncio programs on a virtual clock.

>>> import asyncio, sim
>>> async def main():
...     await asyncio.sleep(3600)
...     return "an hour later"
>>> sim.run(main())
'an hour later'
"""

from . import lanes
from .clock import Clock
from .cpu import CpuCost, Measured
from .errors import (
    Deadlock,
    PendingTask,
    RealIOError,
    SimulationError,
    SimulationTimeout,
    StepLimitExceeded,
)
from .loop import VirtualEventLoop, VirtualEventLoopPolicy, new_event_loop
from .run import Run, Simulation, current, run, simulate
from .schedule import Schedule, perturb_latency
from .script import ScriptRun, load_model, run_script
from .sweep import SweepReplay, sweep, sweep_replay
from .sweep_results import SweepRecord, SweepResult, SweepSummary, load_sweep
from .timepatch import DEFAULT_EPOCH, patched_time
from .trace import Trace, mark, span

__all__ = [
    "DEFAULT_EPOCH",
    "Clock",
    "CpuCost",
    "Deadlock",
    "Measured",
    "PendingTask",
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
]

__version__ = "0.1.0"
