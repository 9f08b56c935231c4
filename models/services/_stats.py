"""What a service records: :class:`Visit` (one request) and :class:`ServiceStats`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ServiceStats", "Visit"]


@dataclass(frozen=True)
class Visit:
    """One request's passage through a :class:`Server` (virtual seconds)."""

    arrived: float
    started: float
    finished: float

    @property
    def wait(self) -> float:
        """Virtual seconds spent queueing."""
        return self.started - self.arrived

    @property
    def service(self) -> float:
        """Virtual seconds spent being served."""
        return self.finished - self.started


@dataclass
class ServiceStats:
    """Statistics of a service, as plain data (times in virtual seconds).

    Attributes
    ----------
    name : str
        The service's name.
    capacity : int
        Parallel slots (1 for a rate limiter: ``busy`` means "throttling").
    samples : list of (t, queue_len, busy)
        The state after each instant at which it changed, in time order.
    waits : list of float
        Queueing time of each request that got through, in arrival order of service.
    arrivals, served, rejected, cancelled : int
        Requests that arrived, got a slot, were turned away (queue full), gave up.
    """

    name: str
    capacity: int
    samples: list[tuple[float, int, int]] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)
    arrivals: int = 0
    served: int = 0
    rejected: int = 0
    cancelled: int = 0

    def _record(self, t: float, queue_len: int, busy: int) -> None:
        if self.samples and self.samples[-1][0] == t:
            self.samples[-1] = (t, queue_len, busy)
        elif not self.samples or self.samples[-1][1:] != (queue_len, busy):
            self.samples.append((t, queue_len, busy))

    def _integral(self, index: int, until: float | None) -> tuple[float, float]:
        if not self.samples:
            return 0.0, 0.0
        end = self.samples[-1][0] if until is None else until
        start = self.samples[0][0]
        area = 0.0
        for (t, *state), nxt in zip(self.samples, [*self.samples[1:], None], strict=True):
            t_next = end if nxt is None else min(nxt[0], end)
            if t_next > t:
                area += state[index] * (t_next - t)
        return area, end - start

    def utilization(self, until: float | None = None) -> float:
        """Time-averaged ``busy / capacity`` from the first sample to ``until``.

        ``until`` (virtual seconds) defaults to the time of the last sample.
        """
        area, span = self._integral(1, until)
        return area / (span * self.capacity) if span > 0 else 0.0

    def mean_queue_length(self, until: float | None = None) -> float:
        """Time-averaged queue length from the first sample to ``until``.

        ``until`` (virtual seconds) defaults to the time of the last sample.
        """
        area, span = self._integral(0, until)
        return area / span if span > 0 else 0.0

    @property
    def max_queue_length(self) -> int:
        """The longest queue seen (after any instant)."""
        return max((q for _, q, _ in self.samples), default=0)

    @property
    def mean_wait(self) -> float:
        """Mean queueing time in virtual seconds of the requests that got through (0 if none)."""
        return math.fsum(self.waits) / len(self.waits) if self.waits else 0.0

    def as_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready plain data."""
        return {
            "name": self.name,
            "capacity": self.capacity,
            "arrivals": self.arrivals,
            "served": self.served,
            "rejected": self.rejected,
            "cancelled": self.cancelled,
            "utilization": self.utilization(),
            "mean_queue_length": self.mean_queue_length(),
            "max_queue_length": self.max_queue_length,
            "mean_wait": self.mean_wait,
            "waits": list(self.waits),
            "samples": [list(s) for s in self.samples],
        }
