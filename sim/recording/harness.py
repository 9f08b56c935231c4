"""Recording a script on real time, replaying it on virtual time, and comparing the two.

:func:`record_script` runs an unmodified script as ``python app.py args...`` would,
with every event loop it creates a :class:`~asyncsim.recording.loop.RecordingEventLoop`
(real time, real network) observed by a :class:`~asyncsim.models.recorded.Probe` and
a :class:`~asyncsim.instruments.stepcpu.StepCpuRecorder`; the result holds what was
observed and the model file calibrated from it. :func:`replay_script` runs the same
script on virtual time against a model, observed by the same probe, and
:func:`compare` does both and puts them side by side.

The makespan of a recorded run is the real time its event loops ran (from entering
``run_until_complete``/``run_forever`` to leaving it, summed over loops): the
interpreter's start and the imports before the first loop are not part of it, as
they are not part of a replay's virtual time.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import runpy
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from asyncsim._validate import check_number
from asyncsim.instruments.stepcpu import StepCpuRecorder
from asyncsim.instruments.tracer import Tracer
from asyncsim.models.recorded import (
    ModelFile,
    Observations,
    Probe,
    RecordedModel,
    RouteTemplates,
    calibrate,
    model_from_file,
    traced_sessions,
)
from asyncsim.recording.loop import RealClock, RecordingEventLoop
from asyncsim.recording.stop import INTERRUPTED_EXIT_CODE, Stopper
from asyncsim.runner import format_exception_for_script
from asyncsim.script import run_script
from asyncsim.trace.records import Trace

__all__ = ["Comparison", "Recording", "compare", "pool", "record_script", "replay_script"]


@dataclass
class Recording:
    """One run of a script, observed: on real time (recorded) or virtual time (replayed)."""

    path: str
    observations: Observations
    #: Seconds the event loops ran (real seconds, or virtual seconds for a replay).
    makespan: float
    #: Real seconds the whole run took (the script's imports and set-up included).
    wall: float
    exit_code: int
    #: The run's timeline (with ``trace=True``), else None.
    trace: Trace | None = None
    #: The model calibrated from a recorded run (None for a replay).
    model: ModelFile | None = None
    #: ``real`` or ``virtual``.
    clock: str = "real"
    seed: int | None = None


class _RecordingPolicy(asyncio.DefaultEventLoopPolicy):
    """Every loop the script creates (asyncio.run, Runner, new_event_loop) is recorded."""

    def __init__(self, factory: Callable[[], RecordingEventLoop]) -> None:
        super().__init__()
        self._factory = factory

    def new_event_loop(self) -> RecordingEventLoop:
        return self._factory()


def _run_as_main(script: str, path: str, argv: Sequence[str]) -> tuple[int, BaseException | None]:
    """Run ``script`` as ``__main__`` with ``sys.argv``/``sys.path`` as Python would set them."""
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    saved_main = sys.modules.get("__main__")
    try:
        sys.argv = [path, *argv]
        sys.path.insert(0, os.path.dirname(script))
        try:
            runpy.run_path(script, run_name="__main__")
        except SystemExit as exc:
            code = exc.code
            if code is None:
                return 0, None
            if isinstance(code, int):
                return code, None
            print(code, file=sys.stderr)
            return 1, None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            sys.stderr.write(format_exception_for_script(exc, script))
            return 1, exc
        return 0, None
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
        if saved_main is not None:
            sys.modules["__main__"] = saved_main


def _check_script(path: str | os.PathLike[str], argv: Sequence[str]) -> str:
    path = os.fspath(path)
    if not isinstance(path, str) or not os.path.isfile(path):
        raise FileNotFoundError(f"script path {path!r} does not exist or is not a file")
    if isinstance(argv, str) or not all(isinstance(a, str) for a in argv):
        raise TypeError(f"argv must be a sequence of strings, got {argv!r}")
    return path


def record_script(
    path: str | os.PathLike[str],
    argv: Sequence[str] = (),
    *,
    routes: RouteTemplates | None = None,
    trace: bool = False,
    version: str = "",
    duration: float | None = None,
) -> Recording:
    """Run a script for real, observed, and calibrate a model file from what it did.

    A Ctrl-C (or the end of ``duration``) stops the script as it would stop
    ``python path``; what it did until then is recorded, with exit code 130 and
    ``recorded["interrupted"]`` in the model.

    Parameters
    ----------
    path : str or path
        The script, run as ``__main__`` as ``python path argv...`` would.
    argv : sequence of str
        Its arguments (they are not written to the model).
    routes : RouteTemplates, optional
        Route templates for HTTP paths, tried before the built-in placeholders.
    trace : bool
        Also record the real run's timeline (``Recording.trace``), for the comparison page.
    version : str
        The asyncsim version, noted in the model.
    duration : float, optional
        Stop the script after this many seconds of real time (counted from its start,
        imports included) by a SIGINT to the main thread, as Ctrl-C would: for
        programs that do not end by themselves. Only from the main thread.
    """
    path = _check_script(path, argv)
    stopper = None
    if duration is not None:
        duration = check_number("duration", duration, minimum=0.0, what="a number of seconds")
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("record_script(duration=...) must be called from the main thread")
        stopper = Stopper(duration)
    script = os.path.abspath(path)
    clock = RealClock()
    probe = Probe(origin=clock.origin, routes=routes)
    tracer = Tracer(title=os.path.basename(path)) if trace else None
    if tracer is not None:
        tracer.lanes.clock = clock
        probe.lanes = tracer.lanes
    loops: list[RecordingEventLoop] = []
    observed = probe.observations

    def new_loop() -> RecordingEventLoop:
        if not loops:  # the run's clock starts with its first loop, not with the imports
            clock.origin_ns = time.monotonic_ns()
            probe.origin = clock.origin
        loop = RecordingEventLoop(clock)
        if tracer is not None:
            loop.add_instrument(tracer)
        loop.add_instrument(StepCpuRecorder(observed.steps, observed.step_wall))  # last: innermost
        probe.attach(loop)
        loops.append(loop)
        return loop

    saved_policy = asyncio.events._event_loop_policy  # type: ignore[attr-defined]
    wall_start = time.perf_counter()
    interrupted = False
    try:
        asyncio.set_event_loop_policy(_RecordingPolicy(new_loop))
        with traced_sessions(probe):
            try:
                try:
                    if stopper is not None:
                        stopper.start()
                    exit_code, error = _run_as_main(script, path, argv)
                finally:
                    if stopper is not None:
                        stopper.finish()
            except KeyboardInterrupt:  # Ctrl-C or the duration: record what ran until then
                exit_code, error, interrupted = INTERRUPTED_EXIT_CODE, None, True
    finally:
        asyncio.set_event_loop_policy(saved_policy)
        for loop in loops:
            if not loop.is_closed() and not loop.is_running():
                loop.close()
    wall = time.perf_counter() - wall_start
    makespan = sum(end - start for loop in loops for start, end in loop.runs) / 1e9
    observations = probe.observations
    observations.makespan = makespan
    observations.exit_code = exit_code
    built = None
    if tracer is not None:
        end = max((end for loop in loops for _, end in loop.runs), default=clock.now)
        built = tracer.build(end=end, error=error)
    model = calibrate(observations, program=os.path.basename(path), wall=wall, version=version)
    # A program that handles SIGINT itself may end on its own after the duration's
    # signal: it was stopped all the same (and its replay must stop as well).
    interrupted = interrupted or (stopper is not None and stopper.fired)
    if interrupted:
        model.recorded["interrupted"] = (
            f"stopped after {stopper.seconds:g} s"
            if stopper is not None and stopper.fired
            else "Ctrl-C"
        )
    return Recording(path, observations, makespan, wall, exit_code, built, model, "real")


def replay_script(
    path: str | os.PathLike[str],
    argv: Sequence[str],
    model: RecordedModel,
    *,
    seed: int = 0,
    trace: bool = False,
    routes: RouteTemplates | None = None,
    quiet: bool = False,
    until: float | None = None,
) -> Recording:
    """Run a script on virtual time against ``model``, observed as a recording is.

    The same probe that records a real run measures the replay, so the two are
    compared on the same terms (:func:`compare`). ``quiet`` hides what the script prints;
    ``until`` (virtual seconds) stops it there, as ``run_script(until=...)`` does.
    """
    path = _check_script(path, argv)
    probe = Probe(origin=0.0, routes=routes)
    network = model.network
    network.probe = probe
    silence = (
        (contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()))
        if quiet
        else (contextlib.nullcontext(), contextlib.nullcontext())
    )
    try:
        with traced_sessions(probe), silence[0], silence[1]:
            outcome = run_script(path, argv, seed=seed, trace=trace, until=until, **model.models())
    finally:
        network.probe = None
    observations = probe.observations
    observations.makespan = outcome.elapsed
    observations.exit_code = outcome.exit_code
    return Recording(
        path,
        observations,
        outcome.elapsed,
        outcome.wall,
        outcome.exit_code,
        outcome.trace,
        None,
        "virtual",
        seed,
    )


@dataclass
class Comparison:
    """A recorded run beside its replays: one traced replay and the makespans over seeds."""

    recorded: Recording
    simulated: Recording
    #: The virtual makespan of each replay, seed by seed (``seeds[i]`` gave ``makespans[i]``).
    makespans: list[float] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    #: What each replay showed, seed by seed (``replays[0]`` is ``simulated.observations``).
    replays: list[Observations] = field(default_factory=list)

    def pooled(self) -> Observations:
        """Every replay's connections and requests in one :class:`Observations`."""
        return pool(self.replays or [self.simulated.observations])

    def notes(self) -> list[str]:
        """What the model does not reproduce: the model file's notes and what was not recorded."""
        model = self.recorded.model
        if model is None:
            return []
        found = [f"{item['what']} (seen {item['count']} times)" for item in model.not_recorded]
        return found + list(model.notes)

    def report(
        self, folder: str | os.PathLike[str], *, force: bool = False, max_rows: int = 60
    ) -> Any:
        """Write the comparison page into ``folder``; returns index.html's path.

        See :func:`asyncsim.report.compare.compare_report`.
        """
        from asyncsim.report.compare import compare_report

        return compare_report(
            self.recorded.observations,
            self.simulated.observations,
            folder,
            recorded_trace=self.recorded.trace,
            simulated_trace=self.simulated.trace,
            makespans=self.makespans,
            title=os.path.basename(self.recorded.path),
            recorded_wall=self.recorded.wall,
            simulated_wall=self.simulated.wall,
            pooled=self.pooled() if len(self.replays) > 1 else None,
            notes=self.notes(),
            max_rows=max_rows,
            force=force,
        )


def compare(
    path: str | os.PathLike[str],
    argv: Sequence[str] = (),
    *,
    seeds: int = 20,
    routes: RouteTemplates | None = None,
    trace: bool = True,
    recording: Recording | None = None,
    version: str = "",
) -> Comparison:
    """Record ``path`` for real (unless ``recording`` is given) and replay its model.

    The replay with seed 0 is observed in full (and traced); seeds 0 to ``seeds - 1``
    give the distribution of the simulated makespan. A recording that was interrupted
    (Ctrl-C, ``duration``) is replayed for as long as it ran: until its makespan in
    virtual seconds, as a program that does not end by itself would run forever.
    """
    if recording is None:
        recording = record_script(path, argv, routes=routes, trace=trace, version=version)
    assert recording.model is not None
    if seeds < 1:
        raise ValueError(f"seeds must be an integer >= 1, got {seeds!r}")
    model = model_from_file(recording.model)
    until = recording.makespan if recording.model.recorded.get("interrupted") else None
    simulated = replay_script(path, argv, model, seed=0, trace=trace, routes=routes, until=until)
    makespans = [simulated.makespan]
    replays = [simulated.observations]
    for seed in range(1, seeds):
        replay = replay_script(path, argv, model, seed=seed, routes=routes, quiet=True, until=until)
        makespans.append(replay.makespan)
        replays.append(replay.observations)
    return Comparison(recording, simulated, makespans, list(range(seeds)), replays)


def pool(observations: Sequence[Observations]) -> Observations:
    """The connections and requests of several runs together (for percentiles over seeds)."""
    pooled = Observations()
    for observed in observations:
        pooled.connections.extend(observed.connections)
        pooled.requests.extend(observed.requests)
    if observations:
        pooled.makespan = observations[0].makespan
    return pooled
