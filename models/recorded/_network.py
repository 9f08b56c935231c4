"""The network a recorded model replays on: a :class:`~asyncsim.models.network.Network`.

:class:`RecordedNetwork` is a virtual network whose hosts and ports are the recorded
endpoints: connecting to one takes a drawn connect time (and TLS handshake, and the
name lookup before it), fails at the recorded rates, and reaches a server that answers
as the recording saw (:mod:`._replay`). Its links have no latency of their own: the
recorded times include the round trips. Everything else is a plain ``Network``:
``link``, ``partition``, ``host_down`` and ``http_service`` work as usual for what-ifs.

A program that connects to an endpoint the model lacks fails with
:class:`UnknownEndpointError` naming it (and the network lists it in ``unknown``), or,
with ``unknown="pooled"``, is answered by an endpoint made of all the recorded HTTP
routes pooled.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

from asyncsim._validate import check_number, refuse
from asyncsim.errors import SimulationError
from asyncsim.models.distributions import Empirical
from asyncsim.models.network import Host, Network
from asyncsim.models.network._names import ANY_ADDRESSES
from asyncsim.models.network._topology import LOCALHOST, _Listener

from ._replay import RecordedEndpoint, RecordedRoute, ReplayHttpProtocol, ReplayStreamProtocol
from ._replay import _Service as Service
from ._schema import EndpointData, ModelFile, RouteData, StreamData

__all__ = ["RecordedNetwork", "UnknownEndpointError"]

_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
UNKNOWN_POLICIES = ("error", "pooled")


class UnknownEndpointError(SimulationError):
    """The program connected to a host or port that the recorded model does not have."""


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _fault_error(fault: str, address: str) -> BaseException:
    if fault == "refused":
        return ConnectionRefusedError(
            errno.ECONNREFUSED, f"Connect call failed {address}: refused (as recorded)"
        )
    if fault == "timeout":
        return TimeoutError(
            errno.ETIMEDOUT, f"Connect call failed {address}: timed out (as recorded)"
        )
    if fault == "unreachable":
        return OSError(errno.EHOSTUNREACH, f"Connect call failed {address}: no route (as recorded)")
    if fault == "tls":
        return ssl.SSLError(f"TLS handshake with {address} failed (as recorded)")
    if fault == "dns":
        return socket.gaierror(socket.EAI_NONAME, f"Name lookup of {address} failed (as recorded)")
    return ConnectionResetError(
        errno.ECONNRESET, f"Connection to {address} was reset (as recorded)"
    )


def _merge_samples(items: Iterable[EndpointData]) -> EndpointData:
    """One endpoint of several that the virtual network sees as one (localhost and 127.0.0.1)."""
    items = list(items)
    first = items[0]
    merged = EndpointData(host=first.host, port=first.port, protocol=first.protocol, tls=first.tls)
    routes: dict[tuple[str, str], RouteData] = {}
    for item in items:
        merged.tls = merged.tls or item.tls
        merged.protocol = merged.protocol or item.protocol
        merged.connections += item.connections
        merged.connect += item.connect
        merged.tls_handshake += item.tls_handshake
        merged.dns += item.dns
        for kind, count in item.connect_faults.items():
            merged.connect_faults[kind] = merged.connect_faults.get(kind, 0) + count
        for kind, waits in item.connect_fault_waits.items():
            merged.connect_fault_waits.setdefault(kind, []).extend(waits)
        for route in item.routes:
            key = (route.method, route.route)
            routes[key] = _merge_route(routes[key], route) if key in routes else route
        if item.stream is not None:
            merged.stream = (
                item.stream if merged.stream is None else _merge_stream(merged.stream, item.stream)
            )
    merged.routes = list(routes.values())
    return merged


def _merge_route(a: RouteData, b: RouteData) -> RouteData:
    merged = RouteData(method=a.method, route=a.route, body=a.body)
    for part in (a, b):
        _merge_common(merged, part)
        for status, count in part.statuses.items():
            merged.statuses[status] = merged.statuses.get(status, 0) + count
    return merged


def _merge_stream(a: StreamData, b: StreamData) -> StreamData:
    merged = StreamData()
    for part in (a, b):
        _merge_common(merged, part)
        merged.greeting_delay += part.greeting_delay
        merged.greeting_bytes += part.greeting_bytes
    return merged


def _merge_common(merged: Any, part: Any) -> None:
    merged.count += part.count
    merged.ttfb += part.ttfb
    merged.transfer += part.transfer
    merged.response_bytes += part.response_bytes
    merged.request_bytes += part.request_bytes
    for kind, count in part.faults.items():
        merged.faults[kind] = merged.faults.get(kind, 0) + count
    for kind, waits in part.fault_waits.items():
        merged.fault_waits.setdefault(kind, []).extend(waits)


def _pooled(routes: list[RouteData]) -> RouteData | None:
    if not routes:
        return None
    pooled = RouteData(method="*", route="*", body=routes[0].body)
    for route in routes:
        _merge_common(pooled, route)
        for status, count in route.statuses.items():
            pooled.statuses[status] = pooled.statuses.get(status, 0) + count
    return pooled


def _endpoint(data: EndpointData, pooled: RouteData | None) -> RecordedEndpoint:
    attempts = data.connections
    faults = {k: v / attempts for k, v in data.connect_faults.items() if v and attempts}
    stream = data.stream
    endpoint = RecordedEndpoint(
        host=data.host,
        port=data.port,
        protocol=data.protocol or "http",
        tls=data.tls,
        connect=Empirical(data.connect) if data.connect else None,
        tls_handshake=Empirical(data.tls_handshake) if data.tls_handshake else None,
        dns=Empirical(data.dns) if data.dns else None,
        connect_faults=faults,
        connect_fault_waits={k: Empirical(v) for k, v in data.connect_fault_waits.items() if v},
        routes={
            (r.method, r.route): RecordedRoute.from_data(r) for r in data.routes if r.count > 0
        },
    )
    own = _pooled(data.routes)
    fallback = own if own is not None else pooled
    endpoint.fallback = RecordedRoute.from_data(fallback) if fallback is not None else None
    if stream is not None:
        endpoint.stream = RecordedRoute.from_data(stream, "", "")
        if stream.greeting_delay:
            endpoint.greeting_delay = Empirical(stream.greeting_delay)
            endpoint.greeting_bytes = Empirical([float(b) for b in stream.greeting_bytes])
            successful = max(1, attempts - sum(data.connect_faults.values()))
            endpoint.greeting_chance = min(1.0, len(stream.greeting_delay) / successful)
    return endpoint


class RecordedNetwork(Network):
    """A virtual network that answers like the recorded run's endpoints.

    Build it with :func:`asyncsim.models.load` (or :meth:`from_model_file`); edit its
    :meth:`endpoint` objects, or :meth:`scale` a host, for what-ifs.

    Parameters
    ----------
    unknown : {"error", "pooled"}
        What a connection to an endpoint the model lacks meets: an
        :class:`UnknownEndpointError` naming it (default), or an endpoint answering
        with every recorded HTTP route pooled.
    source : str
        Where the model came from, for messages.
    """

    def __init__(self, *, unknown: str = "error", source: str = "the model", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if unknown not in UNKNOWN_POLICIES:
            refuse("unknown", "'error' or 'pooled'", unknown, error=ValueError)
        self.unknown_policy = unknown
        self.source = source
        self._endpoints: dict[tuple[str, int], RecordedEndpoint] = {}
        self._pooled: RouteData | None = None
        #: ``host:port`` (or a host name) the program asked for that the model lacks.
        self.unknown: list[str] = []
        #: A probe measuring the replay (see :class:`asyncsim.models.recorded.Probe`).
        self.probe: Any = None

    @classmethod
    def from_model_file(
        cls, model: ModelFile, *, unknown: str = "error", source: str = "the model"
    ) -> RecordedNetwork:
        """The network of a model file's endpoints."""
        network = cls(unknown=unknown, source=source)
        http_routes = [r for e in model.endpoints for r in e.routes if r.count > 0]
        network._pooled = _pooled(http_routes)
        groups: dict[tuple[str, int], list[EndpointData]] = {}
        for data in model.endpoints:
            host = network._host_for(data.host)
            if host is None:
                continue
            groups.setdefault((host.name, data.port), []).append(data)
        for (host_name, _port), items in groups.items():
            data = items[0] if len(items) == 1 else _merge_samples(items)
            network._add_endpoint(host_name, _endpoint(data, network._pooled))
        return network

    # -- building ------------------------------------------------------------------------

    def _host_for(self, name: str) -> Host | None:
        """The virtual host for a recorded host name or address (added if new)."""
        key = name.rstrip(".").lower()
        if key in _LOOPBACK or key.startswith("127."):
            return self._hosts[LOCALHOST]
        if _is_ip(key):
            if ipaddress.ip_address(key).version != 4:
                return None  # the virtual network is IPv4 only
            found = self._by_ip.get(key)
            return (
                found if found is not None else self.add_host(f"ip-{key.replace('.', '-')}", ip=key)
            )
        found = self._hosts.get(key)
        return found if found is not None else self.add_host(key)

    def _add_endpoint(self, host_name: str, endpoint: RecordedEndpoint) -> None:
        host = self._hosts[host_name]
        service = Service(endpoint, self, host_name)
        if endpoint.protocol == "stream":
            factory: Any = lambda: ReplayStreamProtocol(service)  # noqa: E731
        else:
            factory = lambda: ReplayHttpProtocol(service)  # type: ignore[arg-type]  # noqa: E731
        self._bind(host, endpoint.port, _Listener(host, endpoint.port, factory, None, None))
        self._endpoints[(host_name, endpoint.port)] = endpoint

    @property
    def endpoints(self) -> tuple[RecordedEndpoint, ...]:
        """Every recorded endpoint, in the model file's order."""
        return tuple(self._endpoints.values())

    def endpoint(self, host: str, port: int) -> RecordedEndpoint:
        """The recorded endpoint ``host:port`` (``KeyError`` naming the known ones)."""
        found = self._host_for(host) if isinstance(host, str) else None
        endpoint = self._endpoints.get((found.name, port)) if found is not None else None
        if endpoint is None:
            known = ", ".join(e.name for e in self.endpoints) or "none"
            raise KeyError(f"the model has no endpoint {host}:{port} (endpoints: {known})")
        return endpoint

    def scale(self, host: str, factor: float, *, port: int | None = None) -> None:
        """Multiply every recorded time of ``host`` (one ``port``, or all) by ``factor``."""
        check_number("factor", factor, minimum=0, what="a factor")
        found = [
            e
            for e in self.endpoints
            if (e.host == host or self._host_for(e.host) is self._host_for(host))
            and (port is None or e.port == port)
        ]
        if not found:
            known = ", ".join(e.name for e in self.endpoints) or "none"
            raise KeyError(f"the model has no endpoint of host {host!r} (endpoints: {known})")
        for endpoint in found:
            endpoint.set_scale(factor)

    # -- what the program meets ------------------------------------------------------------

    def attached(self, loop: asyncio.AbstractEventLoop) -> None:
        super().attached(loop)
        if self.probe is not None:
            self.probe.attach(loop)

    def _lookup(self, host: Any, port: Any) -> tuple[RecordedEndpoint | None, str]:
        """The endpoint behind ``(host, port)``; None for the program's own servers."""
        number = self._port(port)
        name = host.decode("idna") if isinstance(host, bytes) else host
        found = self._resolve(name)[0]
        # an address the program got from a lookup is shown by the host's name
        named = isinstance(name, str) and _is_ip(name) and found.name != LOCALHOST
        shown = f"{found.name if named and not found.name.startswith('ip-') else name}:{number}"
        endpoint = self._endpoints.get((found.name, number))
        if endpoint is not None:
            return endpoint, shown
        listener = self._listeners.get((found.name, number))
        if listener is not None:
            return None, shown  # the program's own server (or a hand-made service)
        return self._unknown(found, number, shown), shown

    def _unknown(self, host: Host, port: int, shown: str) -> RecordedEndpoint:
        if shown not in self.unknown:
            self.unknown.append(shown)
        if self.unknown_policy == "pooled" and self._pooled is not None:
            endpoint = _endpoint(EndpointData(host=host.name, port=port), self._pooled)
            self._add_endpoint(host.name, endpoint)
            return endpoint
        known = ", ".join(e.name for e in self.endpoints) or "none"
        raise UnknownEndpointError(
            f"the program connected to {shown}, which {self.source} does not have "
            f"(its endpoints: {known}); record the program again so that it calls {shown}, "
            "or replay with unknown='pooled' (asyncsim run --unknown-endpoints pooled) to "
            "answer it like the recorded HTTP routes pooled"
        )

    async def _connect_delay(self, loop: asyncio.AbstractEventLoop, host: Any, port: Any) -> None:
        endpoint, shown = self._lookup(host, port)
        if endpoint is None:
            return
        rng = self.stream(f"models.recorded:{endpoint.name}:connect")
        fault, seconds = endpoint.draw_connect(rng)
        if seconds:
            await asyncio.sleep(seconds)
        if fault is not None:
            raise _fault_error(fault, shown)

    async def getaddrinfo(
        self, loop: asyncio.AbstractEventLoop, host: Any, port: Any, **kwargs: Any
    ) -> Any:
        """``loop.getaddrinfo``: the recorded lookup time of a recorded host name."""
        name = host.decode("idna") if isinstance(host, bytes) else host
        if isinstance(name, str) and name not in ANY_ADDRESSES and not _is_ip(name):
            key = name.rstrip(".").lower()
            if key not in self._hosts:
                if self.unknown_policy == "pooled":
                    self.add_host(key)
                else:
                    self._unknown_name(name)
            lookups = [e for (h, _), e in self._endpoints.items() if h == key and e.dns is not None]
            if lookups:
                seconds = lookups[0].draw(
                    "dns", lookups[0].dns, self.stream(f"models.recorded:{key}:dns")
                )
                if seconds:
                    await asyncio.sleep(seconds)
        return await super().getaddrinfo(loop, host, port, **kwargs)

    def _unknown_name(self, name: str) -> None:
        if name not in self.unknown:
            self.unknown.append(name)
        known = ", ".join(e.name for e in self.endpoints) or "none"
        raise UnknownEndpointError(
            f"the program looked up host {name!r}, which {self.source} does not have "
            f"(its endpoints: {known}); record the program again so that it calls {name!r}, "
            "or replay with unknown='pooled' (asyncsim run --unknown-endpoints pooled)"
        )

    async def sock_connect(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, address: Any
    ) -> None:
        """``loop.sock_connect``: the recorded connect time and faults, then the handshake."""
        if isinstance(address, tuple) and len(address) >= 2:
            await self._connect_delay(loop, address[0], address[1])
        await super().sock_connect(loop, sock, address)

    async def create_connection(
        self,
        loop: asyncio.AbstractEventLoop,
        protocol_factory: Any,
        host: Any = None,
        port: Any = None,
        **kwargs: Any,
    ) -> Any:
        """``loop.create_connection``: recorded connect and TLS times, then the connection."""
        sock = kwargs.get("sock")
        endpoint: RecordedEndpoint | None = None
        if sock is None and host is not None:
            # Look the name up once here (its recorded time), then connect to the address.
            infos = await self.getaddrinfo(loop, host, port, type=socket.SOCK_STREAM)
            address = infos[0][4]
            await self._connect_delay(loop, address[0], address[1])
            endpoint, _ = self._lookup(address[0], address[1])
            if (
                kwargs.get("ssl")
                and kwargs.get("server_hostname") is None
                and isinstance(host, str)
            ):
                kwargs["server_hostname"] = host
            host, port = address[0], address[1]
        elif sock is not None:
            entry = self._socks.get(id(sock))
            if entry is not None:
                endpoint, _ = self._lookup(entry[3][0], entry[3][1])
        if kwargs.get("ssl") and endpoint is not None and endpoint.tls_handshake is not None:
            rng = self.stream(f"models.recorded:{endpoint.name}:tls")
            seconds = endpoint.draw("tls_handshake", endpoint.tls_handshake, rng)
            if seconds:
                await asyncio.sleep(seconds)
        return await super().create_connection(loop, protocol_factory, host, port, **kwargs)

    def __repr__(self) -> str:
        names = ", ".join(e.name for e in self.endpoints)
        return f"<RecordedNetwork endpoints=[{names}] unknown={self.unknown_policy!r}>"
