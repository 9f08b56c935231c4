"""The simulation options every entry point takes, described and forwarded once.

:class:`asyncsim.Simulation`, :func:`asyncsim.simulate`, :func:`asyncsim.run` and
:func:`asyncsim.run_script` each spell the options out in their signatures (typed, for
users and their tools); the documentation and the forwarding live here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

__all__ = ["OPTIONS_DOC", "OPTION_NAMES", "simulation_options"]

#: The keyword options that ``simulate``, ``run`` and ``run_script`` pass on to
#: :class:`Simulation` (``run`` takes all but ``trace``).
OPTION_NAMES = (
    "until",
    "max_steps",
    "seed",
    "patch_time",
    "start",
    "epoch",
    "allow_real_io",
    "cpu",
    "network",
    "schedule",
    "trace",
)

#: The numpy-style documentation of those options (all but ``trace``), written once:
#: a docstring line ``{simulation options}`` stands for it (see :func:`_document_options`).
OPTIONS_DOC = """\
until : float, optional
    Stop with :class:`asyncsim.SimulationTimeout` at this virtual time (seconds).
max_steps : int, optional
    Stop with :class:`asyncsim.StepLimitExceeded` after this many callbacks per loop.
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


def _document_options(obj: _DocumentedT) -> _DocumentedT:
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


def simulation_options(scope: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`OPTION_NAMES` found in ``scope``: an entry point's ``locals()``.

    ``simulate``, ``run`` and ``run_script`` spell every option out in their
    signatures (typed, documented) and pass them on with
    ``Simulation(**simulation_options(locals()))``, so that no option is forgotten
    on the way; ``tests/test_run.py`` checks that the signatures agree.
    """
    return {name: scope[name] for name in OPTION_NAMES if name in scope}
