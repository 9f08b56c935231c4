"""The simulation scope: one clock, seeded RNG streams and limits, shared by its loops.

:class:`Simulation` is what ``asyncsim.run``, ``asyncsim.simulate``, ``asyncsim run``
and the stateful tests enter; :func:`current` (a :class:`contextvars.ContextVar`)
tells models, sweeps and schedules which simulation they run in, and
:func:`perturb_latency` passes a model's latency sample through its schedule.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
from contextvars import ContextVar, Token
from typing import Any

from asyncsim._validate import check_str
from asyncsim.clock import Clock, to_seconds, to_ticks
from asyncsim.core.loop import VirtualEventLoop
from asyncsim.core.network import NetworkModel
from asyncsim.core.schedule import Schedule
from asyncsim.instruments.cpu import CpuCost, CpuModel, cpu_cost
from asyncsim.instruments.tracer import Tracer
from asyncsim.scope.options import SimulationOptions, document_options
from asyncsim.scope.timepatch import DEFAULT_EPOCH, patched_time
from asyncsim.trace.records import Trace

__all__ = ["Simulation", "current", "perturb_latency"]

_current: ContextVar[Simulation | None] = ContextVar("asyncsim_simulation", default=None)


def current() -> Simulation | None:
    """The innermost active :class:`Simulation` of this context, or None outside any."""
    return _current.get()


@document_options
class Simulation:
    """One simulation: a virtual clock, a seeded RNG and the loops that share them.

    Use it as a context manager; on entry the ``time`` module follows the virtual
    clock (if ``patch_time``) and the ``random`` module is seeded (if ``seed`` is
    given); both are restored on exit. :meth:`new_event_loop` makes loops on the
    shared clock, so a script that calls ``asyncio.run`` twice sees one timeline.

    Parameters
    ----------
    {simulation options}
    trace : bool
        Attach a :class:`~asyncsim.instruments.tracer.Tracer` to every loop;
        :meth:`build_trace` returns what it recorded.
    """

    def __init__(
        self,
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
    ) -> None:
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
        self._set_up(options)

    @classmethod
    def from_options(cls, options: SimulationOptions) -> Simulation:
        """The simulation ``options`` describe (the record the entry points build)."""
        simulation = cls.__new__(cls)
        simulation._set_up(options)
        return simulation

    def _set_up(self, options: SimulationOptions) -> None:
        #: The options this simulation was made with.
        self.options = options
        self.until = options.until
        self.max_steps = options.max_steps
        self.seed = options.seed
        self.patch_time = bool(options.patch_time)
        self.start = float(options.start)
        self.epoch = float(options.epoch)
        self.allow_real_io = bool(options.allow_real_io)
        self.network = options.network
        self.schedule = options.schedule
        #: The schedule's cursors, shared by every loop (None without a schedule).
        self.schedule_state = self.schedule.start() if self.schedule is not None else None
        self.clock = Clock(to_ticks(options.start))
        #: The simulation's RNG; models derive their streams from it.
        self.rng = random.Random(options.seed)
        self._stream_key = _stream_key(options.seed)
        self._streams: dict[str, random.Random] = {}
        #: The CPU cost model attached to every loop, or None (steps take no time).
        self.cpu: CpuCost | None = cpu_cost(options.cpu, rng=self.stream("sim.cpu"))
        self.loops: list[VirtualEventLoop] = []
        self._random_state: Any = None
        self._time_scope: Any = None
        self._token: Token[Simulation | None] | None = None
        self._previous: Simulation | None = None
        #: The tracer attached to every loop when ``trace=True``, else None.
        self.tracer: Tracer | None = Tracer() if options.trace else None

    @property
    def elapsed(self) -> float:
        """Virtual seconds since the start."""
        return to_seconds(self.clock.now - to_ticks(self.start))

    @property
    def steps(self) -> int:
        """Callbacks run so far, over every loop of this simulation."""
        return sum(loop.steps for loop in self.loops)

    def stream(self, name: str) -> random.Random:
        """The random stream named ``name``, derived from the seed and the name alone.

        Each model component draws from its own stream, so adding a component (or
        drawing more often in one) never shifts another component's draws. The
        stream is ``random.Random(int(sha256(seed, name)))``: the same (seed, name)
        gives the same draws on every machine and Python run (no salted ``hash``).
        Asking twice for one name returns the same object. With ``seed=None`` the
        streams are derived from a fresh random key, so runs differ.

        Parameters
        ----------
        name : str
            A stable name for the component, e.g. ``"network:example.com"``.
        """
        check_str("stream name", name)
        rng = self._streams.get(name)
        if rng is None:
            digest = hashlib.sha256(self._stream_key + b"\x00" + name.encode("utf-8")).digest()
            rng = self._streams[name] = random.Random(int.from_bytes(digest, "big"))
        return rng

    def new_event_loop(self) -> VirtualEventLoop:
        """A new loop on this simulation's clock, with its limits."""
        loop = VirtualEventLoop(
            clock=self.clock,
            until=self.until,
            max_steps=self.max_steps,
            allow_real_io=self.allow_real_io,
            schedule=self.schedule_state,
        )
        if self.cpu is not None:
            loop.add_instrument(self.cpu)  # first, so later instruments see step costs
        self.loops.append(loop)
        if self.network is not None:
            loop.attach_network(self.network)
        if self.tracer is not None:
            loop.add_instrument(self.tracer)
        return loop

    def build_trace(
        self, *, elapsed: float | None = None, error: BaseException | None = None
    ) -> Trace | None:
        """The :class:`asyncsim.Trace` recorded so far (None unless ``trace=True``).

        ``elapsed`` (virtual seconds) ends the trace there instead of at the clock.
        """
        if self.tracer is None:
            return None
        end = None if elapsed is None else to_ticks(self.start + elapsed)
        return self.tracer.build(end=end, error=error, callbacks=self.steps)

    def __enter__(self) -> Simulation:
        if self.seed is not None:
            self._random_state = random.getstate()
            random.seed(self.seed)
        if self.patch_time:
            self._time_scope = patched_time(self.clock, epoch=self.epoch)
            self._time_scope.__enter__()
        self._previous = _current.get()
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            try:
                if self._token is not None:
                    _current.reset(self._token)
            except ValueError:  # exited in another context than it was entered in
                _current.set(self._previous)
        finally:
            try:
                if self._time_scope is not None:
                    self._time_scope.__exit__(None, None, None)
                    self._time_scope = None
            finally:
                if self._random_state is not None:
                    random.setstate(self._random_state)
                    self._random_state = None


def _stream_key(seed: int | str | bytes | None) -> bytes:
    """Bytes that identify ``seed`` unambiguously (type-tagged), for :meth:`Simulation.stream`."""
    if seed is None:
        return b"none:" + os.urandom(16)
    if isinstance(seed, bytes):
        return b"bytes:" + seed
    if isinstance(seed, str):
        return b"str:" + seed.encode("utf-8")
    return b"int:" + str(seed).encode("ascii")


def perturb_latency(seconds: float) -> float:
    """Pass a model's latency sample (virtual seconds) through the active schedule.

    Network and service models call this on every latency they draw, so that
    :func:`asyncsim.testing.strategies.schedules` can explore slower draws. Returns
    ``seconds`` unchanged outside a simulation or when it has no schedule.
    """
    simulation = current()
    state = getattr(simulation, "schedule_state", None)
    if state is None:
        return seconds
    longer = state.latency(seconds)
    extra = to_ticks(longer) - to_ticks(seconds)
    loop = asyncio._get_running_loop()
    if extra > 0 and isinstance(loop, VirtualEventLoop) and loop._instruments:
        due = loop.clock.now + to_ticks(seconds)
        loop._delay_injected(None, "latency", due, extra)  # (for the trace: see Delay)
    return longer
