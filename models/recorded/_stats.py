"""What a recorded run and its replay are compared on: makespan, latencies, outcomes.

Latencies are grouped by request kind: ``host:port METHOD /route`` for HTTP, and
``host:port stream`` for other connections. An exchange's latency runs from the
first request byte written to the whole answer read; a client request's (aiohttp)
from the call to the response head (waiting for a pooled connection and connecting
included). Percentiles are nearest-rank, as everywhere in asyncsim: always an
observed value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from asyncsim.trace.stats import percentile

from ._observe import Observations

__all__ = ["KindStats", "exchange_stats", "percentile", "request_stats"]


@dataclass(frozen=True)
class KindStats:
    """The latencies (seconds, sorted) and outcomes (status or fault -> count) of one kind."""

    kind: str
    latencies: tuple[float, ...]
    outcomes: tuple[tuple[str, int], ...]

    @property
    def count(self) -> int:
        """Requests of this kind (answered or not)."""
        return sum(n for _, n in self.outcomes)

    def p(self, q: float) -> float:
        """The ``q``-th percentile latency in seconds."""
        return percentile(self.latencies, q)

    def share(self, outcome: str) -> float:
        """The fraction of requests whose outcome is ``outcome`` (``"500"``, ``"reset"``)."""
        total = self.count
        return dict(self.outcomes).get(outcome, 0) / total if total else math.nan


def _stats(groups: dict[str, tuple[list[float], dict[str, int]]]) -> dict[str, KindStats]:
    return {
        kind: KindStats(kind, tuple(sorted(lat)), tuple(sorted(outcomes.items())))
        for kind, (lat, outcomes) in sorted(groups.items())
    }


def exchange_stats(observations: Observations) -> dict[str, KindStats]:
    """Per request kind, the latencies and outcomes of every exchange on the wire."""
    groups: dict[str, tuple[list[float], dict[str, int]]] = {}
    for conn, exchange in observations.exchanges():
        if conn.protocol == "http":
            if exchange.method is None:
                continue
            kind = f"{conn.endpoint} {exchange.method} {exchange.route}"
        else:
            kind = f"{conn.endpoint} stream"
        latencies, outcomes = groups.setdefault(kind, ([], {}))
        latency = exchange.latency
        if exchange.error is not None:
            outcome = exchange.error
        elif latency is None:
            continue  # still waiting when the run ended
        else:
            outcome = str(exchange.status) if exchange.status else "answered"
            latencies.append(latency)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return _stats(groups)


def request_stats(observations: Observations) -> dict[str, KindStats]:
    """Per request kind, what the HTTP client library saw (aiohttp's requests)."""
    groups: dict[str, tuple[list[float], dict[str, int]]] = {}
    for request in observations.requests:
        kind = f"{request.host}:{request.port} {request.method} {request.route}"
        latencies, outcomes = groups.setdefault(kind, ([], {}))
        outcome = request.error or str(request.status)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if request.error is None:
            latencies.append(request.latency)
    return _stats(groups)
