"""What every service shares: argument checks, the SimPy binding and the statistics."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from asyncsim._validate import check_str
from asyncsim.clock import to_seconds
from asyncsim.instruments.lanes import LaneRecorder
from asyncsim.instruments.lanes import recorder as lane_recorder
from asyncsim.scope.simulation import current

from ..bridge import Environment, shared_environment
from ._stats import ServiceStats

__all__ = ["QueueFull", "ServiceError"]


class QueueFull(Exception):
    """A request was turned away because the service's queue was at ``max_queue``."""


class ServiceError(Exception):
    """A request failed: a fault a property-test schedule injected (``scheduled_faults``)."""


class _Service:
    """Binding to the running loop's SimPy environment, and the statistics."""

    kind = "service"

    def __init__(self, name: str, capacity: int) -> None:
        self.name = check_str("name", name, empty=False)
        self.stats = ServiceStats(name=self.name, capacity=capacity)
        self._env: Environment | None = None
        self._lanes: LaneRecorder | None = None  # set in traced runs

    def _make_resource(self, env: Environment) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _bind(self) -> Environment:
        """The environment of the running loop; new resources if the loop changed."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                f"{self!r} is used from asyncio code inside a simulation (asyncsim.run / "
                "asyncsim run); call it from a coroutine"
            ) from None
        env = self._env
        if env is None or env.loop is not loop:
            env = self._env = shared_environment(loop)  # type: ignore[arg-type]
            self._lanes = lane_recorder()
            if self._lanes is not None:
                self._lanes.declare(self.name, kind=self.kind, capacity=self.stats.capacity)
            self._make_resource(env)
            self._sample()
        return env

    def _state(self) -> tuple[int, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample(self) -> None:
        assert self._env is not None
        queue_len, busy = self._state()
        self.stats._record(self._env.now, queue_len, busy)
        if self._lanes is not None:
            self._lanes.sample(self.name, queue=queue_len, busy=busy)

    def _visit(self, label: str) -> int | None:
        """Start a request's interval in the lane (traced runs only)."""
        return None if self._lanes is None else self._lanes.begin(self.name, label)

    def _left(self, ref: int | None, outcome: str, waited: int | None = None) -> None:
        """End a request's interval: ``outcome`` and the ticks ``waited`` for service."""
        if ref is not None and self._lanes is not None:
            wait = None if waited is None else to_seconds(waited)
            self._lanes.end(ref, outcome=outcome, wait=wait)

    def _perturbed(self, seconds: float) -> float:
        """A service time (virtual seconds) as the run's schedule perturbs it (never shorter)."""
        state = getattr(current(), "schedule_state", None)
        return seconds if state is None else state.latency(seconds, f"service:{self.name}")

    def _rng(self) -> Any:
        simulation = current()
        if simulation is None:
            raise RuntimeError(f"{self!r} draws random times only inside a simulation")
        return simulation.stream(f"service:{self.name}")

    def _give_up(
        self, event: Any, give_back: Callable[[], object], ref: int | None, arrived: int
    ) -> None:
        """A waiter for ``event`` (a SimPy request or get) was cancelled: leave the queue.

        If ``event`` was granted but the waiter was cancelled before resuming,
        ``give_back()`` returns what it was granted instead. ``ref`` is the
        request's lane interval, ``arrived`` its arrival in clock ticks.
        """
        if event.triggered:
            give_back()
        else:
            event.cancel()
        self.stats.cancelled += 1
        self._sample()
        assert self._env is not None
        self._left(ref, "cancelled", self._env.loop.clock.now - arrived)

    def _got_through(self, arrived: int) -> float:
        """Count a request that arrived at ``arrived`` (clock ticks) and got through.

        Returns its wait in virtual seconds, also appended to ``stats.waits``.
        """
        assert self._env is not None
        waited = to_seconds(self._env.loop.clock.now - arrived)
        self.stats.served += 1
        self.stats.waits.append(waited)
        self._sample()
        return waited
