"""Running an unmodified script on virtual time: ``run_script`` and ``asyncsim run``."""

from __future__ import annotations

import asyncio
import os
import runpy
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asyncsim.core.loop import VirtualEventLoop
from asyncsim.core.network import NetworkModel
from asyncsim.core.schedule import Schedule
from asyncsim.errors import SimulationError
from asyncsim.runner import _Outcome, close_loop, format_exception_for_script
from asyncsim.scope.options import SimulationOptions, document_options
from asyncsim.scope.simulation import Simulation
from asyncsim.scope.timepatch import DEFAULT_EPOCH
from asyncsim.trace.records import Trace
from asyncsim.trace.text import numbers_line

if TYPE_CHECKING:
    from asyncsim.instruments.cpu import CpuModel

__all__ = ["MODEL_NAMES", "ScriptRun", "load_model", "run_script"]

#: Module-level names a model file (``asyncsim run --model FILE``) may define; each
#: is passed to :func:`run_script` as the keyword argument of the same name.
MODEL_NAMES = ("network", "cpu")


def load_model(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Run the model file at ``path`` and return the models it defines.

    A model file is a plain Python file that builds models at module level under
    the names in :data:`MODEL_NAMES`, e.g. ``network = Network(latency=0.05)``.
    It runs with its own directory first on ``sys.path``; the result maps each
    name it defines to its value, ready for ``run_script(..., **models)``.
    """
    path = os.fspath(path)
    if not isinstance(path, str) or not os.path.isfile(path):
        raise FileNotFoundError(f"model file {path!r} does not exist or is not a file")
    saved_path = sys.path[:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        namespace = runpy.run_path(path, run_name="__asyncsim_model__")
    finally:
        sys.path[:] = saved_path
    models = {name: namespace[name] for name in MODEL_NAMES if name in namespace}
    if not models:
        raise ValueError(
            f"model file {path!r} defines none of the model names {', '.join(MODEL_NAMES)}; "
            "define one at module level, e.g. `network = Network(latency=0.05)` "
            "(from asyncsim.models.network import Network)"
        )
    return models


@dataclass(frozen=True)
class ScriptRun(_Outcome):
    """The outcome of :func:`run_script`: exit code, virtual and wall seconds, steps."""

    path: str
    exit_code: int
    elapsed: float
    wall: float
    steps: int
    error: BaseException | None = None
    #: What happened in every loop of the script (with ``trace=True``), else None.
    trace: Trace | None = None
    _TRACED_BY = "run_script(..., trace=True)"

    def summary(self) -> str:
        """One line: virtual elapsed, wall time, speed-up and steps (as every view says them,
        see :mod:`asyncsim.trace.text`)."""
        return (
            f"asyncsim: {os.path.basename(self.path)}: "
            f"{numbers_line(self.elapsed, self.wall, self.steps)}, exit code {self.exit_code}"
        )

    def __repr__(self) -> str:
        return f"<ScriptRun {self.summary().removeprefix('asyncsim: ')}>"


class _SimulationPolicy(asyncio.DefaultEventLoopPolicy):
    """Every loop the script creates (asyncio.run, Runner, new_event_loop) is virtual."""

    def __init__(self, simulation: Simulation) -> None:
        super().__init__()
        self._simulation = simulation

    def new_event_loop(self) -> VirtualEventLoop:
        return self._simulation.new_event_loop()


def _exit_code(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _find_simulation_error(exc: BaseException | None) -> SimulationError | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, SimulationError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


@document_options
def run_script(
    path: str | os.PathLike[str],
    argv: Sequence[str] = (),
    *,
    until: float | None = None,
    max_steps: int | None = None,
    seed: int | str | bytes | None = None,
    patch_time: bool = True,
    start: float = 0.0,
    epoch: float = DEFAULT_EPOCH,
    allow_real_io: bool = False,
    cpu: CpuModel | None = None,
    network: NetworkModel | None = None,
    schedule: Schedule | None = None,
    trace: bool = False,
) -> ScriptRun:
    """Run an unmodified Python script with every asyncio loop it creates virtual.

    The script runs as ``__main__`` with ``sys.argv = [path, *argv]`` and its
    directory first on ``sys.path``, as ``python path argv...`` would. Loops made
    by ``asyncio.run``, ``asyncio.Runner``, ``asyncio.new_event_loop`` and
    ``get_event_loop`` share one virtual clock. The script's exceptions are printed
    as Python prints them (exit code 1); a :class:`asyncsim.SimulationError` is printed
    as a readable report (exit code 3); ``SystemExit`` codes are preserved.

    Parameters
    ----------
    path : str or path
        The script to run.
    argv : sequence of str
        Its command-line arguments (``sys.argv[1:]``).
    {simulation options}
    trace : bool
        Trace every loop of the script into one :class:`asyncsim.Trace` (``ScriptRun.trace``).

    A model file (:func:`load_model`) gives ``network`` and ``cpu``.
    """
    path = os.fspath(path)
    if not isinstance(path, str) or not os.path.isfile(path):
        raise FileNotFoundError(f"script path {path!r} does not exist or is not a file")
    if isinstance(argv, str) or not all(isinstance(a, str) for a in argv):
        raise TypeError(f"argv must be a sequence of strings, got {argv!r}")
    options = SimulationOptions(
        until=until,
        max_steps=max_steps,
        seed=seed,
        patch_time=patch_time,
        start=start,
        epoch=epoch,
        allow_real_io=allow_real_io,
        cpu=cpu,
        network=network,
        schedule=schedule,
        trace=trace,
    )
    script = os.path.abspath(path)
    simulation = Simulation.from_options(options)
    if simulation.tracer is not None:
        simulation.tracer.title = os.path.basename(path)
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    saved_policy = asyncio.events._event_loop_policy
    saved_main = sys.modules.get("__main__")
    exit_code = 0
    error: BaseException | None = None
    wall_start = time.perf_counter()
    try:
        sys.argv = [path, *argv]
        sys.path.insert(0, os.path.dirname(script))
        asyncio.set_event_loop_policy(_SimulationPolicy(simulation))
        with simulation:
            try:
                runpy.run_path(script, run_name="__main__")
            except SystemExit as exc:
                exit_code = _exit_code(exc.code)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                error = exc
                sim_error = _find_simulation_error(exc)
                if sim_error is not None:
                    error = sim_error
                    exit_code = 3
                    print(f"asyncsim: {type(sim_error).__name__}: {sim_error}", file=sys.stderr)
                else:
                    exit_code = 1
                    sys.stderr.write(format_exception_for_script(exc, script))
            finally:
                elapsed = simulation.elapsed
                for loop in simulation.loops:
                    if not loop.is_running():
                        close_loop(loop)
    finally:
        asyncio.set_event_loop_policy(saved_policy)
        sys.argv = saved_argv
        sys.path[:] = saved_path
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
    return ScriptRun(
        path=path,
        exit_code=exit_code,
        elapsed=elapsed,
        wall=time.perf_counter() - wall_start,
        steps=simulation.steps,
        error=error,
        trace=simulation.build_trace(elapsed=elapsed, error=error),
    )
