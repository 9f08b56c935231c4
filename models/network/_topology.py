"""The fabric of the virtual network: hosts, links, listeners, faults and time on the wire.

:class:`Fabric` holds the topology and computes when bytes arrive; its subclasses add
name resolution (:class:`~asyncsim.models.network._names.Names`) and the event-loop API
(:class:`asyncsim.models.network.Network`) on top.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import random
import socket
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asyncsim._validate import check_seconds
from asyncsim.clock import to_seconds, to_ticks
from asyncsim.core import durations
from asyncsim.models.distributions import Duration, check_duration
from asyncsim.scope.simulation import current

from ._faults import Fault, first_block_in, unblocked_at
from ._transport import VirtualServer, VirtualTransport
from ._values import check_probability, check_rate, draw

__all__ = ["LOCALHOST", "Fabric", "Host", "Link"]
LOCALHOST = "localhost"
_EPHEMERAL_PORTS = (49152, 65535)


@dataclass
class Link:
    """How packets travel between two hosts (one-way values, both directions)."""

    latency: Duration = 0.0
    bandwidth: float | None = None
    loss: float = 0.0
    retransmit_delay: Duration = 0.2


@dataclass
class Host:
    """A machine of the virtual network: a name and an IPv4 address."""

    name: str
    ip: str
    _next_port: int = field(default=_EPHEMERAL_PORTS[0], repr=False)

    def ephemeral_port(self, taken: Callable[[int], bool]) -> int:
        """A free port from the ephemeral range (49152-65535), in order."""
        low, high = _EPHEMERAL_PORTS
        for _ in range(high - low + 1):
            port = self._next_port
            self._next_port = low if port >= high else port + 1
            if not taken(port):
                return port
        raise OSError(errno.EADDRNOTAVAIL, f"no free port left on virtual host {self.name!r}")


class _Pipe:
    """One direction of a connection: FIFO, with the link busy while sending."""

    __slots__ = ("busy_until", "dst", "last_arrival", "src")

    def __init__(self, src: Host, dst: Host) -> None:
        self.src = src
        self.dst = dst
        self.busy_until = 0
        self.last_arrival = 0


@dataclass
class _Listener:
    host: Host
    port: int
    factory: Callable[[], asyncio.BaseProtocol]
    loop: asyncio.AbstractEventLoop | None  # None: answers on any loop
    server: VirtualServer | None
    ssl: Any = None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _hosts_arg(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Host):
        return [value.name]
    try:
        items = list(value)
    except TypeError:
        raise TypeError(
            f"{name} must be a host name or an iterable of host names, got {value!r}"
        ) from None
    names = []
    for item in items:
        if isinstance(item, Host):
            names.append(item.name)
        elif isinstance(item, str):
            names.append(item)
        else:
            raise TypeError(f"{name} must contain host names (str), got {item!r}")
    if not names:
        raise ValueError(f"{name} must name at least one host, got {value!r}")
    return names


class Fabric:
    """Hosts, links, listeners and faults, and the time bytes take between hosts."""

    def __init__(
        self,
        *,
        latency: Duration = 0.0,
        bandwidth: float | None = None,
        loss: float = 0.0,
        retransmit_delay: Duration = 0.2,
        connect_timeout: float = 127.0,
        dns_time: Duration = 0.0,
        tls_time: Duration = 0.0,
    ) -> None:
        self.default_link = Link(
            latency=check_duration("latency", latency),
            bandwidth=check_rate("bandwidth", bandwidth),
            loss=check_probability("loss", loss),
            retransmit_delay=check_duration("retransmit_delay", retransmit_delay),
        )
        self.connect_timeout = check_seconds("connect_timeout", connect_timeout)
        self.dns_time = check_duration("dns_time", dns_time)
        self.tls_time = check_duration("tls_time", tls_time)
        self._hosts: dict[str, Host] = {}
        self._by_ip: dict[str, Host] = {}
        self._links: dict[frozenset[str], Link] = {}
        self._listeners: dict[tuple[str, int], _Listener] = {}
        self._faults: list[Fault] = []
        self._live: dict[VirtualTransport, None] = {}  # insertion-ordered: deterministic
        self._loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()
        self._simulation: Any = None
        self._streams: dict[str, random.Random] = {}
        self._next_ip = 1
        self._socks: dict[int, tuple[socket.socket, Host, Host, tuple[str, int]]] = {}
        self.add_host(LOCALHOST, ip="127.0.0.1")

    # -- building the network ------------------------------------------------------------------

    def add_host(self, name: str, *, ip: str | None = None) -> Host:
        """Add a host called ``name`` (a DNS name) with address ``ip`` (default 10.0.x.y)."""
        if not isinstance(name, str) or not name or _is_ip(name):
            raise ValueError(f"host name must be a non-empty DNS name, got {name!r}")
        key = name.rstrip(".").lower()
        if key in self._hosts:
            raise ValueError(f"host {name!r} already exists; use network.host({name!r})")
        if ip is None:
            while True:
                ip = f"10.0.{self._next_ip // 254}.{self._next_ip % 254 + 1}"
                self._next_ip += 1
                if ip not in self._by_ip:
                    break
        elif not isinstance(ip, str) or not _is_ip(ip):
            raise ValueError(f"ip must be an IPv4 address like '10.0.0.7', got {ip!r}")
        elif ip in self._by_ip:
            raise ValueError(f"ip {ip!r} already belongs to host {self._by_ip[ip].name!r}")
        host = Host(key, ip)
        self._hosts[key] = host
        self._by_ip[ip] = host
        return host

    def host(self, name: str) -> Host:
        """The host called ``name``; ``ValueError`` naming the known hosts if there is none."""
        host = self._hosts.get(name.rstrip(".").lower()) if isinstance(name, str) else None
        if host is None:
            raise ValueError(
                f"no host {name!r} in the virtual network "
                f"(hosts: {', '.join(sorted(self._hosts))});"
                " add it with network.add_host(name) or network.http_service(name, ...)"
            )
        return host

    @property
    def hosts(self) -> tuple[Host, ...]:
        """Every host, in the order added (``localhost`` first)."""
        return tuple(self._hosts.values())

    def link(
        self,
        a: str,
        b: str,
        *,
        latency: Duration | None = None,
        bandwidth: float | None = None,
        loss: float | None = None,
        retransmit_delay: Duration | None = None,
    ) -> Link:
        """Set how packets travel between hosts ``a`` and ``b`` (both directions).

        Unset values are the network's defaults.
        """
        ha, hb = self.host(a), self.host(b)
        if ha is hb:
            raise ValueError(f"a link joins two different hosts, got {a!r} twice")
        d = self.default_link
        link = Link(
            latency=d.latency if latency is None else check_duration("latency", latency),
            bandwidth=d.bandwidth if bandwidth is None else check_rate("bandwidth", bandwidth),
            loss=d.loss if loss is None else check_probability("loss", loss),
            retransmit_delay=d.retransmit_delay
            if retransmit_delay is None
            else check_duration("retransmit_delay", retransmit_delay),
        )
        self._links[frozenset((ha.name, hb.name))] = link
        return link

    # -- faults --------------------------------------------------------------------------------

    def _window(self, at: float, until: float | None) -> tuple[int, int | None]:
        start = check_seconds("at", at)
        end = None if until is None else check_seconds("until", until)
        if end is not None and end <= start:
            raise ValueError(f"until ({until!r}) must be after at ({at!r})")
        return to_ticks(start), None if end is None else to_ticks(end)

    def partition(self, a: Any, b: Any, *, at: float = 0.0, until: float | None = None) -> Fault:
        """Cut hosts ``a`` off from hosts ``b`` from virtual time ``at`` to ``until``.

        ``a`` and ``b`` are host names (or iterables of them). Packets between the
        groups are held until the partition heals (``until=None``: never).
        """
        names_a = [self.host(n).name for n in _hosts_arg("a", a)]
        names_b = [self.host(n).name for n in _hosts_arg("b", b)]
        start, end = self._window(at, until)
        return self._add_fault(
            Fault("partition", start, end, frozenset(names_a), frozenset(names_b))
        )

    def host_down(self, name: str, *, at: float = 0.0, until: float | None = None) -> Fault:
        """Take host ``name`` down from virtual time ``at`` to ``until``.

        At ``at`` every connection of the host is reset (both ends see
        ``ConnectionResetError``); while down the host is unreachable.
        """
        host = self.host(name)
        start, end = self._window(at, until)
        return self._add_fault(Fault("host_down", start, end, frozenset([host.name])))

    def reset(self, a: str, b: str | None = None, *, at: float) -> Fault:
        """Reset every connection between hosts ``a`` and ``b`` (any peer if None) at ``at``."""
        names_a = frozenset(self.host(n).name for n in _hosts_arg("a", a))
        names_b = None if b is None else frozenset(self.host(n).name for n in _hosts_arg("b", b))
        start, _ = self._window(at, None)
        return self._add_fault(Fault("reset", start, start, names_a, names_b))

    @property
    def faults(self) -> tuple[Fault, ...]:
        """Every fault declared, in order."""
        return tuple(self._faults)

    def _add_fault(self, fault: Fault) -> Fault:
        self._faults.append(fault)
        for loop in list(self._loops):
            if not loop.is_closed():
                self._schedule_fault(loop, fault)
        return fault

    def _schedule_fault(self, loop: asyncio.AbstractEventLoop, fault: Fault) -> None:
        if fault.kind == "partition":
            return
        if fault.start >= to_ticks(loop.time()):
            loop.call_at(to_seconds(fault.start), self._fire_reset, loop, fault)

    def _fire_reset(self, loop: asyncio.AbstractEventLoop, fault: Fault) -> None:
        for transport in list(self._live):
            if transport._loop is not loop:
                continue
            here, there = transport._pipe.src.name, transport._pipe.dst.name
            if fault.affects(here, there):
                transport.reset()

    # -- attaching to loops --------------------------------------------------------------------

    def attached(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called by ``VirtualEventLoop.attach_network``: bind to the loop's simulation."""
        simulation = current()
        if simulation is not None and simulation is not self._simulation:
            self._simulation = simulation
            self._streams.clear()
        # forget what earlier runs left behind on loops that are closed now
        self._live = {t: None for t in self._live if not t._loop.is_closed()}
        self._loops.add(loop)
        for fault in self._faults:
            self._schedule_fault(loop, fault)

    @property
    def rng(self) -> random.Random:
        """The random stream link latency and loss draws come from."""
        return self.stream("models.network")

    def stream(self, name: str) -> random.Random:
        """The random stream ``name`` of the current simulation (``Simulation.stream``).

        Links draw from ``"models.network"``, each HTTP service from
        ``"models.network.http:HOST"``, so adding a service never shifts the
        latency draws. Outside a simulation the streams are seeded from the name.
        """
        rng = self._streams.get(name)
        if rng is None:
            simulation = self._simulation
            stream = getattr(simulation, "stream", None)
            rng = stream(name) if callable(stream) else random.Random(name)
            self._streams[name] = rng
        return rng

    # -- time on the wire ----------------------------------------------------------------------

    def _link(self, src: Host, dst: Host) -> Link:
        return self._links.get(frozenset((src.name, dst.name)), self.default_link)

    def _transit(
        self, src: Host, dst: Host, size: int, start: int, pipe: _Pipe | None
    ) -> int | None:
        """Arrival tick of ``size`` bytes sent at ``start`` (None: they never arrive)."""
        if src is dst:
            arrival = start
        else:
            link = self._link(src, dst)
            tx = to_ticks(size / link.bandwidth) if link.bandwidth and size else 0
            plan = durations.current()  # a what-if profile run may scale this link
            t = start
            while True:
                free = unblocked_at(self._faults, src.name, dst.name, t)
                if free is None:
                    return None
                t = free
                depart = t if pipe is None else max(t, pipe.busy_until)
                wire = draw("latency", link.latency, self.rng)
                if link.loss:
                    while self.rng.random() < link.loss:
                        wire += draw("retransmit_delay", link.retransmit_delay, self.rng)
                if plan is not None:
                    a, b = sorted((src.name, dst.name))
                    factor = plan.factor_of(f"link:{a}<->{b}", f"link {a} <-> {b}", tx + wire)
                    if factor != 1.0:
                        tx, wire = round(tx * factor), round(wire * factor)
                arrival = depart + tx + wire
                blocked = first_block_in(self._faults, src.name, dst.name, depart, arrival)
                if blocked is None:
                    break
                t = blocked  # lost in the partition: resent once it heals
            if pipe is not None:
                pipe.busy_until = depart + tx
        if pipe is not None:
            arrival = max(arrival, pipe.last_arrival)
            pipe.last_arrival = arrival
        return arrival

    def _send(self, transport: VirtualTransport, kind: str, payload: Any, size: int) -> None:
        pipe = transport._pipe
        loop = transport._loop
        arrival = self._transit(pipe.src, pipe.dst, size, to_ticks(loop.time()), pipe)
        peer = transport.peer
        if arrival is None or peer is None:
            return
        loop.call_at(to_seconds(arrival), peer.receive, kind, payload)

    def _forget(self, transport: VirtualTransport) -> None:
        self._live.pop(transport, None)

    def _check_free(self, host: Host, port: int) -> None:
        """Raise ``OSError(EADDRINUSE)`` if a live listener holds ``host:port``."""
        current = self._listeners.get((host.name, port))
        if current is not None and not (current.loop is not None and current.loop.is_closed()):
            raise OSError(
                errno.EADDRINUSE,
                f"error while attempting to bind on address {(host.ip, port)!r}: address "
                f"already in use (virtual host {host.name!r})",
            )

    def _bind(self, host: Host, port: int, listener: _Listener) -> None:
        self._check_free(host, port)
        self._listeners[(host.name, port)] = listener

    # -- inspection ----------------------------------------------------------------------------

    @property
    def connections(self) -> tuple[VirtualTransport, ...]:
        """The open connection ends (client and server sides)."""
        return tuple(self._live)

    def __repr__(self) -> str:
        return f"<Network hosts={[h.name for h in self.hosts]} faults={len(self._faults)}>"
