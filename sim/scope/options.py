"""The simulation options every entry point takes: one typed, checked record, documented once.

:func:`asyncsim.simulate`, :func:`asyncsim.run`, :func:`asyncsim.run_script` and
:class:`asyncsim.Simulation` spell the options out in their signatures (typed and
documented, for users and their tools) and build one :class:`SimulationOptions` from
them, which checks every value; that record is what travels on, e.g.
``simulate(...)`` -> ``SimulationOptions(...)`` -> ``Simulation.from_options(options)``.
``tests/test_run.py`` checks that the signatures and the record agree.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, TypeVar

from asyncsim._validate import check_bool, check_number, refuse
from asyncsim.core.boundary import DEFAULT_REAL_TIME_LIMIT
from asyncsim.core.livelock import DEFAULT_LIVELOCK_STEPS, check_livelock_steps
from asyncsim.core.loop import _validate_limits
from asyncsim.core.network import NetworkModel
from asyncsim.core.schedule import Schedule
from asyncsim.scope.timepatch import DEFAULT_EPOCH

if TYPE_CHECKING:
    from asyncsim.instruments.cpu import CpuModel

__all__ = ["OPTIONS_DOC", "OPTION_NAMES", "SimulationOptions", "document_options"]

#: The numpy-style documentation of the options (all but ``trace``, whose meaning each
#: entry point states), written once: a docstring line ``{simulation options}`` stands for
#: it (see :func:`document_options`).
OPTIONS_DOC = """\
until : float, optional
    Stop with :class:`asyncsim.SimulationTimeout` at this virtual time (seconds).
max_steps : int, optional
    Stop with :class:`asyncsim.StepLimitExceeded` after this many callbacks per loop.
livelock_steps : int or None
    Stop with :class:`asyncsim.Livelock` when, at one virtual instant, no task was created
    and every task is back where it was this many callbacks ago (default 1,000,000;
    None: never; see :mod:`asyncsim.core.livelock`).
seed : int, str or bytes, optional
    Seeds the simulation's RNG (:attr:`Simulation.rng`, the models' streams) and the
    ``random`` module (restored afterwards).
patch_time : bool
    Make ``time.monotonic/perf_counter/time/sleep`` follow the virtual clock.
start : float
    Virtual time (seconds) the clock starts at.
epoch : float
    Unix time (seconds) that ``time.time()`` reads at virtual time 0.
allow_real_io : bool
    Allow real sockets, pipes and subprocesses (see :class:`asyncsim.VirtualEventLoop`).
real_time_limit : float or None
    Real seconds a loop waits on outside work (a running thread job, real I/O, a child
    process) with nothing else happening before it stops with :class:`asyncsim.Stalled`
    naming it (default 60; None: wait forever).
cpu : float, distribution, mapping, "measured" or asyncsim.instruments.cpu.Measured, optional
    CPU cost model (:mod:`asyncsim.instruments.cpu`): the virtual seconds each task step takes, so
    CPU-bound code delays the others. Off (None) by default: steps take no time.
network : asyncsim.models.network.Network, optional
    A virtual network the program's connections, servers and DNS use.
schedule : Schedule, optional
    Legal nondeterminism to play: late timers, latency, executor results
    (see :mod:`asyncsim.core.schedule`, :func:`asyncsim.testing.strategies.schedules`).
"""

_DocumentedT = TypeVar("_DocumentedT")


def document_options(obj: _DocumentedT) -> _DocumentedT:
    """Put :data:`OPTIONS_DOC` where ``obj``'s docstring has a ``{simulation options}`` line."""
    lines: list[str] = []
    for line in (obj.__doc__ or "").splitlines():
        if line.strip() == "{simulation options}":
            indent = line[: len(line) - len(line.lstrip())]
            lines.extend(indent + doc if doc else "" for doc in OPTIONS_DOC.splitlines())
        else:
            lines.append(line)
    obj.__doc__ = "\n".join(lines)
    return obj


@document_options
@dataclass(frozen=True, kw_only=True)
class SimulationOptions:
    """How one simulation is set up; every value is checked when the record is built.

    Parameters
    ----------
    {simulation options}
    trace : bool
        Record a :class:`asyncsim.Trace` of every task.

    Raises
    ------
    TypeError, ValueError
        Naming the option and the value. The ``cpu`` model is checked when the
        simulation builds it (:func:`asyncsim.instruments.cpu.cpu_cost`).
    """

    until: float | None = None
    max_steps: int | None = None
    livelock_steps: int | None = DEFAULT_LIVELOCK_STEPS
    seed: int | str | bytes | None = None
    patch_time: bool = True
    start: float = 0.0
    epoch: float = DEFAULT_EPOCH
    allow_real_io: bool = False
    real_time_limit: float | None = DEFAULT_REAL_TIME_LIMIT
    cpu: CpuModel | None = None
    network: NetworkModel | None = None
    schedule: Schedule | None = None
    trace: bool = False

    def __post_init__(self) -> None:
        _validate_limits(self.until, self.max_steps, self.start, self.real_time_limit)
        check_livelock_steps(self.livelock_steps)
        network = self.network
        if network is not None and not isinstance(network, NetworkModel):
            refuse(
                "network",
                "an asyncsim.models.network.Network (e.g. Network(latency=0.05))",
                network,
            )
        if self.schedule is not None and not isinstance(self.schedule, Schedule):
            refuse("schedule", "an asyncsim.Schedule (see Schedule.from_string)", self.schedule)
        check_bool("trace", self.trace)
        check_bool("patch_time", self.patch_time)
        check_bool("allow_real_io", self.allow_real_io)
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, (int, str, bytes, type(None))):
            refuse("seed", "an int, str, bytes or None", seed)
        check_number("epoch", self.epoch, what="a Unix time in seconds")


#: The option names, in signature order (``run`` takes all but ``trace``).
OPTION_NAMES = tuple(field.name for field in fields(SimulationOptions))
