"""From what a run showed to a model file: group, measure, and say what is missing.

:func:`calibrate` files every connection under its endpoint (the host name the
program used and the port), every HTTP exchange under its request kind (method and
route template), and keeps per kind the empirical distributions a replay draws
from: time to first byte (from the request sent to the first answer byte: the
server's time plus the round trip), transfer time (first to last answer byte),
response body sizes, status codes and faults. Connections to the program's own
servers are left out: a replay runs those servers' own code.
"""

from __future__ import annotations

import platform
import sys
from collections import Counter
from collections.abc import Iterable

from ._observe import Connection, Exchange, Observations
from ._schema import EndpointData, ModelFile, RouteData, StreamData

__all__ = ["calibrate"]

#: What every model says a replay does not reproduce, whatever the program did.
ALWAYS_NOTED = (
    "payloads and header values are not recorded: a replayed response has the recorded "
    "status and size, and a body of filler ('{}' and spaces for JSON, spaces for text, "
    "zero bytes otherwise)",
    "each quantity (time to first byte, transfer time, size, status) is drawn on its own "
    "from its recorded distribution: correlations between them are not kept",
    "server times are replayed as observed under the recorded load: a replay with more "
    "concurrency does not make the server slower (model its queueing with "
    "asyncsim.models.services)",
    "CPU time outside task steps (transport callbacks, the selector) is not charged",
)

JOBS_NOTED = (
    "thread jobs (run_in_executor, to_thread) take a draw of their function's recorded "
    "real duration, from their submission (thread_jobs): the time a job waited for a "
    "free worker is not recorded, and a replay does not limit the workers"
)


def _add(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def _add_exchange(
    target: RouteData | StreamData, exchange: Exchange, bodies: Counter[str] | None
) -> None:
    target.count += 1
    target.request_bytes.append(exchange.request_bytes)
    if exchange.error is not None:
        _add(target.faults, exchange.error)
        wait = (exchange.ended if exchange.ended is not None else exchange.sent) - exchange.sent
        target.fault_waits.setdefault(exchange.error, []).append(max(0.0, wait))
        return
    ttfb = exchange.ttfb
    if ttfb is None:  # still waiting when the program ended: nothing to learn
        target.count -= 1
        target.request_bytes.pop()
        return
    target.ttfb.append(max(0.0, ttfb))
    target.transfer.append(exchange.transfer)
    target.response_bytes.append(exchange.body_bytes)
    if isinstance(target, RouteData):
        status = exchange.status or 0
        if 100 <= status <= 599:
            target.statuses[status] = target.statuses.get(status, 0) + 1
        if bodies is not None:
            bodies[exchange.body] += 1


def _endpoint(host: str, port: int, connections: Iterable[Connection]) -> EndpointData:
    endpoint = EndpointData(host=host, port=port)
    routes: dict[tuple[str, str], RouteData] = {}
    bodies: dict[tuple[str, str], Counter[str]] = {}
    protocols: Counter[str] = Counter()
    for conn in connections:
        endpoint.connections += 1
        endpoint.tls = endpoint.tls or conn.tls
        if conn.error is not None:
            _add(endpoint.connect_faults, conn.error)
            waited = (conn.closed if conn.closed is not None else conn.start) - conn.start
            endpoint.connect_fault_waits.setdefault(conn.error, []).append(max(0.0, waited))
            continue
        if conn.connected is not None:
            endpoint.connect.append(max(0.0, conn.connected - conn.start))
        if conn.tls and conn.ready is not None and conn.connected is not None:
            endpoint.tls_handshake.append(max(0.0, conn.ready - conn.connected))
        if conn.protocol:
            protocols[conn.protocol] += 1
        if conn.protocol == "http":
            for exchange in conn.exchanges:
                if exchange.method is None or exchange.route is None:
                    continue
                key = (exchange.method, exchange.route)
                if key not in routes:
                    routes[key] = RouteData(method=key[0], route=key[1])
                    bodies[key] = Counter()
                _add_exchange(routes[key], exchange, bodies[key])
        elif conn.protocol == "stream":
            if endpoint.stream is None:
                endpoint.stream = StreamData()
            for exchange in conn.exchanges:
                _add_exchange(endpoint.stream, exchange, None)
            greeting = conn.greeting
            if greeting is not None and greeting.first_byte is not None:
                ready = conn.ready if conn.ready is not None else conn.start
                endpoint.stream.greeting_delay.append(max(0.0, greeting.first_byte - ready))
                endpoint.stream.greeting_bytes.append(greeting.response_bytes)
    if protocols:
        endpoint.protocol = "http" if protocols["http"] >= protocols["stream"] else "stream"
    for key, route in sorted(routes.items()):
        if bodies[key]:
            route.body = bodies[key].most_common(1)[0][0]
        if route.count:
            endpoint.routes.append(route)
    return endpoint


def calibrate(
    observations: Observations,
    *,
    program: str = "",
    wall: float | None = None,
    version: str = "",
) -> ModelFile:
    """The model file of what ``observations`` saw.

    Parameters
    ----------
    observations : Observations
        What the probe recorded during the run.
    program : str
        The program's file name (no directory, no arguments).
    wall : float, optional
        The recording's wall time in seconds, kept as information.
    version : str
        The asyncsim version that recorded it.
    """
    own = observations.own_endpoints
    grouped: dict[tuple[str, int], list[Connection]] = {}
    for conn in observations.connections:
        if f"localhost:{conn.port}" in own and conn.host in ("localhost", "127.0.0.1", "::1"):
            continue
        grouped.setdefault((conn.host, conn.port), []).append(conn)
    endpoints = []
    for (host, port), connections in grouped.items():
        endpoint = _endpoint(host, port, connections)
        endpoint.dns = list(observations.dns.get(host, []))
        endpoints.append(endpoint)
    not_recorded = [
        {"what": what, "count": count} for what, count in sorted(observations.not_recorded.items())
    ]
    if own:
        not_recorded.append(
            {
                "what": "connections to the program's own servers ("
                + ", ".join(sorted(own))
                + "): not modeled, a replay runs the program's server code",
                "count": len(own),
            }
        )
    exchanges = sum(len(c.exchanges) for c in observations.connections)
    recorded = {
        "makespan": round(observations.makespan, 7),
        "exit_code": observations.exit_code,
        "connections": len(observations.connections),
        "exchanges": exchanges,
        "client_requests": len(observations.requests),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": sys.platform,
    }
    if wall is not None:
        recorded["wall"] = round(wall, 7)
    if version:
        recorded["asyncsim"] = version
    return ModelFile(
        program=program,
        recorded=recorded,
        endpoints=endpoints,
        cpu={k: list(v) for k, v in sorted(observations.steps.items())},
        step_wall={k: list(v) for k, v in sorted(observations.step_wall.items())},
        thread_jobs={k: list(v) for k, v in sorted(observations.jobs.items())},
        not_recorded=not_recorded,
        notes=list(ALWAYS_NOTED) + ([JOBS_NOTED] if observations.jobs else []),
    )
