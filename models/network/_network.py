"""The virtual network: hosts, links, DNS, connections and faults.

A :class:`Network` implements the network half of asyncio's event-loop API
(``create_connection``, ``create_server``, ``getaddrinfo``, ``sock_connect`` ...).
Attach it to a simulation with ``sim.run(main(), network=net)`` (or
``loop.attach_network(net)``) and those loop calls come here instead of touching
real sockets, so ``asyncio.open_connection``, ``asyncio.start_server``, the
``aiohttp`` client and ``aiohttp.web`` run unchanged.

Timing, all in virtual seconds and exact (integer nanoseconds inside):

* a packet from host A to host B takes ``size / bandwidth`` to put on the link
  (links are FIFO: a write waits for the previous one) plus one latency draw,
  plus ``retransmit_delay`` for each time it is lost; bytes arrive in order;
* connecting takes one round trip (SYN, SYN-ACK); TLS one more round trip plus
  ``tls_time``; the server side sees the connection half a round trip later;
* connections within one host (``localhost`` to ``localhost``) take no time;
* a partition or a down host holds packets until it heals (TCP retransmits
  them); a connection attempt across it fails with ``TimeoutError`` after
  ``connect_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import random
import socket
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sim

from ._faults import Fault, first_block_in, unblocked_at
from ._transport import SocketInfo, VirtualServer, VirtualTransport
from ._values import (
    Duration,
    check_duration,
    check_probability,
    check_rate,
    draw,
    ticks,
)

__all__ = ["Host", "Link", "Network"]

LOCALHOST = "localhost"
_EPHEMERAL_PORTS = (49152, 65535)
_ANY_ADDRESSES = {None, "", "0.0.0.0", "::"}
_LOOPBACK_ADDRESSES = {"127.0.0.1", "::1"}


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


def _unsupported(call: str, instead: str) -> NotImplementedError:
    return NotImplementedError(
        f"{call} is not supported by the virtual network (models.network); {instead}"
    )


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


class Network:
    """A virtual network of hosts that asyncio programs connect over.

    Parameters
    ----------
    latency : float or distribution
        One-way latency between two distinct hosts, in virtual seconds (default 0).
    bandwidth : float, optional
        Link bandwidth in bytes per virtual second (default: unlimited).
    loss : float
        Probability in [0, 1) that a packet (one ``write``) is lost and resent.
    retransmit_delay : float or distribution
        Extra virtual seconds a lost packet takes to be resent (default 0.2).
    connect_timeout : float
        Virtual seconds after which a connection attempt that gets no answer (a
        partition, a down host) fails with ``TimeoutError`` (default 127, Linux's).
    dns_time : float or distribution
        Virtual seconds a name lookup takes (default 0).
    tls_time : float or distribution
        Virtual seconds of TLS handshake computation, on top of its round trip.

    Examples
    --------
    >>> import asyncio, sim
    >>> from models.network import Network
    >>> net = Network(latency=0.05)
    >>> service = net.http_service("example.com", response_time=0.82)
    >>> async def main():
    ...     reader, writer = await asyncio.open_connection("example.com", 80)
    ...     writer.write(b"GET / HTTP/1.1\\r\\nHost: example.com\\r\\n\\r\\n")
    ...     status = await reader.readline()
    ...     writer.close()
    ...     return status, asyncio.get_running_loop().time()
    >>> sim.run(main(), network=net)
    (b'HTTP/1.1 200 OK\\r\\n', 1.02)
    """

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
        timeout = check_duration("connect_timeout", connect_timeout)
        if not isinstance(timeout, (int, float)):
            raise TypeError(f"connect_timeout must be a number of seconds, got {connect_timeout!r}")
        self.connect_timeout = float(timeout)
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
        """The host called ``name``; ``KeyError`` naming the known hosts if there is none."""
        host = self._hosts.get(name.rstrip(".").lower()) if isinstance(name, str) else None
        if host is None:
            raise KeyError(
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

    def http_service(
        self,
        name: str,
        *,
        response_time: Duration = 0.0,
        status: int = 200,
        body: bytes | str = b"",
        headers: dict[str, str] | None = None,
        ports: Iterable[int] = (80, 443),
    ) -> Any:
        """Serve simple HTTP/1.1 responses from host ``name`` (added if new).

        ``response_time`` (seconds or a distribution) is the server's time from
        receiving a request to sending its response. Returns the
        :class:`models.network.HttpService`, which records the requests it served.
        """
        from ._http import HttpService

        host = self._hosts.get(name.rstrip(".").lower()) if isinstance(name, str) else None
        if host is None:
            host = self.add_host(name)
        service = HttpService(
            self,
            host.name,
            response_time=response_time,
            status=status,
            body=body,
            headers=headers,
        )
        port_list = list(ports) if not isinstance(ports, int) else [ports]
        for port in port_list:
            if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
                raise ValueError(f"ports must be integers in 1..65535, got {port!r}")
            self._bind(host, port, _Listener(host, port, service.protocol, None, None))
        return service

    # -- faults --------------------------------------------------------------------------------

    def _window(self, at: float, until: float | None) -> tuple[int, int | None]:
        for label, value in (("at", at), ("until", until)):
            if value is None and label == "until":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{label} must be a virtual time in seconds >= 0, got {value!r}")
        if until is not None and until <= at:
            raise ValueError(f"until ({until!r}) must be after at ({at!r})")
        return ticks(at), None if until is None else ticks(until)

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
        if fault.start >= ticks(loop.time()):
            loop.call_at(fault.start / 1e9, self._fire_reset, loop, fault)

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
        simulation = sim.current()
        if simulation is not None and simulation is not self._simulation:
            self._simulation = simulation
            self._streams.clear()
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
            tx = ticks(size / link.bandwidth) if link.bandwidth and size else 0
            t = start
            while True:
                free = unblocked_at(self._faults, src.name, dst.name, t)
                if free is None:
                    return None
                t = free
                depart = t if pipe is None else max(t, pipe.busy_until)
                arrival = depart + tx + draw("latency", link.latency, self.rng)
                if link.loss:
                    while self.rng.random() < link.loss:
                        arrival += draw("retransmit_delay", link.retransmit_delay, self.rng)
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
        arrival = self._transit(pipe.src, pipe.dst, size, ticks(loop.time()), pipe)
        peer = transport.peer
        if arrival is None or peer is None:
            return
        loop.call_at(arrival / 1e9, peer.receive, kind, payload)

    def _forget(self, transport: VirtualTransport) -> None:
        self._live.pop(transport, None)

    # -- names ---------------------------------------------------------------------------------

    def _resolve(self, host: Any, *, passive: bool = False) -> list[Host]:
        if isinstance(host, bytes):
            host = host.decode("idna")
        if host in _ANY_ADDRESSES or host in _LOOPBACK_ADDRESSES:
            return [self._hosts[LOCALHOST]]
        if not isinstance(host, str):
            raise TypeError(f"host must be a str, bytes or None, got {host!r}")
        if _is_ip(host):
            found = self._by_ip.get(host)
            if found is None:
                raise OSError(
                    errno.EHOSTUNREACH,
                    f"No route to host: no host of the virtual network has address {host!r} "
                    f"(addresses: {', '.join(sorted(self._by_ip))}); give it one with "
                    f"network.add_host(name, ip={host!r})",
                )
            return [found]
        found = self._hosts.get(host.rstrip(".").lower())
        if found is None:
            raise socket.gaierror(
                socket.EAI_NONAME,
                f"Name or service not known: {host!r} is not a host of the virtual network "
                f"(hosts: {', '.join(sorted(self._hosts))}); add it with "
                f"network.add_host({host!r}) or network.http_service({host!r}, ...)",
            )
        return [found]

    @staticmethod
    def _port(port: Any) -> int:
        if port is None:
            return 0
        if isinstance(port, bytes):
            port = port.decode()
        if isinstance(port, str):
            if port.isdigit():
                return int(port)
            try:
                return socket.getservbyname(port, "tcp")
            except OSError:
                raise socket.gaierror(
                    socket.EAI_SERVICE, f"Servname not supported for ai_socktype: {port!r}"
                ) from None
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError(f"port must be an int, str or None, got {port!r}")
        return port

    async def getaddrinfo(
        self,
        loop: asyncio.AbstractEventLoop,
        host: Any,
        port: Any,
        *,
        family: int = 0,
        type: int = 0,
        proto: int = 0,
        flags: int = 0,
    ) -> list[tuple[Any, Any, int, str, tuple[str, int]]]:
        """``loop.getaddrinfo`` on the virtual network: one IPv4 address per host."""
        lookup = host not in _ANY_ADDRESSES and not (isinstance(host, str) and _is_ip(host))
        if lookup and self.dns_time:
            await self._sleep_until(
                loop, ticks(loop.time()) + draw("dns_time", self.dns_time, self.rng)
            )
        if family not in (0, socket.AF_UNSPEC, socket.AF_INET):
            raise socket.gaierror(
                socket.EAI_FAMILY,
                f"ai_family not supported: the virtual network has IPv4 addresses only, "
                f"got family={family!r}; use family=socket.AF_INET or 0",
            )
        number = self._port(port)
        if host is None and flags & socket.AI_PASSIVE:
            address = "0.0.0.0"
        elif isinstance(host, str) and _is_ip(host):
            address = host
        else:
            address = self._resolve(host)[0].ip
        kind = socket.SOCK_DGRAM if type == socket.SOCK_DGRAM else socket.SOCK_STREAM
        protocol = socket.IPPROTO_UDP if kind == socket.SOCK_DGRAM else socket.IPPROTO_TCP
        return [(socket.AF_INET, kind, proto or protocol, "", (address, number))]

    async def getnameinfo(
        self, loop: asyncio.AbstractEventLoop, sockaddr: Any, flags: int = 0
    ) -> tuple[str, str]:
        """``loop.getnameinfo``: the host name and port of a virtual address."""
        ip, port = sockaddr[0], sockaddr[1]
        host = self._by_ip.get(ip)
        name = ip if host is None or flags & socket.NI_NUMERICHOST else host.name
        return name, str(port)

    # -- connecting ----------------------------------------------------------------------------

    @staticmethod
    async def _sleep_until(loop: asyncio.AbstractEventLoop, when: int) -> None:
        delay = when - ticks(loop.time())
        await asyncio.sleep(delay / 1e9 if delay > 0 else 0)

    def _listener(self, host: Host, port: int, loop: asyncio.AbstractEventLoop) -> _Listener | None:
        listener = self._listeners.get((host.name, port))
        if listener is None:
            return None
        if listener.loop is not None and listener.loop is not loop:
            if listener.loop.is_closed():  # left over from an earlier run
                del self._listeners[(host.name, port)]
            return None
        return listener

    def _origin(self, local_addr: Any) -> Host:
        if local_addr is None:
            return self._hosts[LOCALHOST]
        if not isinstance(local_addr, tuple) or len(local_addr) < 2:
            raise TypeError(f"local_addr must be a (host, port) tuple, got {local_addr!r}")
        return self._resolve(local_addr[0])[0]

    async def _handshake(
        self, loop: asyncio.AbstractEventLoop, src: Host, address: tuple[str, int]
    ) -> tuple[Host, _Listener]:
        """The TCP handshake to ``address``: the listener, or the error asyncio raises."""
        dst = self._resolve(address[0])[0]
        port = address[1]
        now = ticks(loop.time())
        deadline = now + ticks(self.connect_timeout)
        syn = self._transit(src, dst, 0, now, None)
        if syn is not None and syn <= deadline:
            await self._sleep_until(loop, syn)
            listener = self._listener(dst, port, loop)
            if (
                listener is not None
                and listener.loop is not None
                and not (listener.server is not None and listener.server.is_serving())
            ):
                listener = None
            answer = self._transit(dst, src, 0, syn, None)
            if answer is not None and answer <= deadline:
                await self._sleep_until(loop, answer)
                if listener is None:
                    raise ConnectionRefusedError(
                        errno.ECONNREFUSED,
                        f"Connect call failed {address!r}: nothing listens on "
                        f"{dst.name}:{port} in the virtual network",
                    )
                return dst, listener
        await self._sleep_until(loop, deadline)
        raise TimeoutError(
            errno.ETIMEDOUT,
            f"Connect call failed {address!r}: no answer from {dst.name} within "
            f"connect_timeout={self.connect_timeout!r} s (a partition or a down host?)",
        )

    async def _tls(self, loop: asyncio.AbstractEventLoop, src: Host, dst: Host) -> None:
        now = ticks(loop.time())
        hello = self._transit(src, dst, 0, now, None)
        answer = None if hello is None else self._transit(dst, src, 0, hello, None)
        if answer is None:
            await self._sleep_until(loop, now + ticks(self.connect_timeout))
            raise TimeoutError(errno.ETIMEDOUT, "TLS handshake timed out (a partition?)")
        await self._sleep_until(loop, answer + draw("tls_time", self.tls_time, self.rng))

    async def create_connection(
        self,
        loop: asyncio.AbstractEventLoop,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        host: Any = None,
        port: Any = None,
        *,
        ssl: Any = None,
        family: int = 0,
        proto: int = 0,
        flags: int = 0,
        sock: socket.socket | None = None,
        local_addr: Any = None,
        server_hostname: str | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        happy_eyeballs_delay: float | None = None,
        interleave: int | None = None,
        all_errors: bool = False,
    ) -> tuple[VirtualTransport, asyncio.BaseProtocol]:
        """``loop.create_connection`` over the virtual network (TLS is modeled, not real)."""
        if server_hostname is not None and not ssl:
            raise ValueError("server_hostname is only meaningful with ssl")
        if ssl_handshake_timeout is not None and not ssl:
            raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
        if ssl and server_hostname is None and isinstance(host, str):
            server_hostname = host
        if sock is not None:
            if host is not None or port is not None:
                raise ValueError("host/port and sock can not be specified at the same time")
            entry = self._socks.pop(id(sock), None)
            if entry is None or entry[0] is not sock:
                raise ValueError(
                    f"sock {sock!r} was not connected over the virtual network; connect it "
                    "with `await loop.sock_connect(sock, (host, port))` first, or pass host "
                    "and port instead of sock"
                )
            _, src, dst, address = entry
            listener = self._listener(dst, address[1], loop)
            if listener is None:
                raise ConnectionResetError(errno.ECONNRESET, f"Connection to {address!r} was reset")
        else:
            if host is None and port is None:
                raise ValueError("host and port was not specified and no sock specified")
            infos = await self.getaddrinfo(
                loop, host, port, family=family, type=socket.SOCK_STREAM, proto=proto, flags=flags
            )
            src = self._origin(local_addr)
            address = infos[0][4]
            dst, listener = await self._handshake(loop, src, address)
        if ssl:
            await self._tls(loop, src, dst)
        sslcontext = ssl if ssl and not isinstance(ssl, bool) else (True if ssl else None)
        return self._open(
            loop, protocol_factory, src, dst, listener, sslcontext, server_hostname, sock
        )

    def _open(
        self,
        loop: asyncio.AbstractEventLoop,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        src: Host,
        dst: Host,
        listener: _Listener,
        sslcontext: Any,
        server_hostname: str | None,
        sock: socket.socket | None,
    ) -> tuple[VirtualTransport, asyncio.BaseProtocol]:
        client_port = src.ephemeral_port(lambda p: (src.name, p) in self._listeners)
        up, down = _Pipe(src, dst), _Pipe(dst, src)
        client = VirtualTransport(
            self,
            loop,
            up,
            sockname=(src.ip, client_port),
            peername=(dst.ip, listener.port),
            sslcontext=sslcontext,
            server_hostname=server_hostname,
            sock=sock,
        )
        server_ssl = listener.ssl if listener.ssl is not None else sslcontext
        server = VirtualTransport(
            self,
            loop,
            down,
            sockname=(dst.ip, listener.port),
            peername=(src.ip, client_port),
            sslcontext=server_ssl,
        )
        client.peer, server.peer = server, client
        accepted = self._transit(src, dst, 0, ticks(loop.time()), up)
        if accepted is not None:
            loop.call_at(accepted / 1e9, self._accept, server, listener)
        protocol = protocol_factory()
        self._live[client] = None
        client.start(protocol)
        return client, protocol

    def _accept(self, server: VirtualTransport, listener: _Listener) -> None:
        if self._listeners.get((listener.host.name, listener.port)) is not listener:
            server.abort()  # the server closed meanwhile: reset the client
            return
        self._live[server] = None
        try:
            protocol = listener.factory()
        except Exception as exc:
            server._loop.call_exception_handler(
                {"message": "protocol factory of a virtual server failed", "exception": exc}
            )
            server.abort()
            return
        server.start(protocol)

    # -- serving -------------------------------------------------------------------------------

    def _bind(self, host: Host, port: int, listener: _Listener) -> None:
        key = (host.name, port)
        current = self._listeners.get(key)
        if current is not None and current.loop is not None and current.loop.is_closed():
            current = None
        if current is not None:
            raise OSError(
                errno.EADDRINUSE,
                f"error while attempting to bind on address {(host.ip, port)!r}: address "
                f"already in use (virtual host {host.name!r})",
            )
        self._listeners[key] = listener

    async def create_server(
        self,
        loop: asyncio.AbstractEventLoop,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        host: Any = None,
        port: Any = None,
        *,
        family: int = 0,
        flags: int = 0,
        sock: Any = None,
        backlog: int = 100,
        ssl: Any = None,
        reuse_address: bool | None = None,
        reuse_port: bool | None = None,
        keep_alive: bool | None = None,
        ssl_handshake_timeout: float | None = None,
        ssl_shutdown_timeout: float | None = None,
        start_serving: bool = True,
    ) -> VirtualServer:
        """``loop.create_server`` on a virtual host (``host=None``: ``localhost``).

        ``host`` may name any host of the network: the server then answers
        there, so one program can play several machines.
        """
        if sock is not None:
            raise _unsupported(
                "loop.create_server(sock=...)", "pass host and port (e.g. host='api', port=8080)"
            )
        names = host if isinstance(host, (list, tuple, set)) else [host]
        number = self._port(port)
        hosts: list[Host] = []
        for name in names:
            for found in self._resolve(name, passive=True):
                if found not in hosts:
                    hosts.append(found)
        listeners: list[_Listener] = []
        sockets: list[SocketInfo] = []
        for found in hosts:
            chosen = number or found.ephemeral_port(
                lambda p, h=found: (h.name, p) in self._listeners  # type: ignore[misc]
            )
            listeners.append(_Listener(found, chosen, protocol_factory, loop, None, ssl or None))
            sockets.append(SocketInfo((found.ip, chosen)))

        def register(server: VirtualServer) -> None:
            for listener in listeners:
                listener.server = server
                self._bind(listener.host, listener.port, listener)

        def unregister(server: VirtualServer) -> None:
            for listener in listeners:
                if self._listeners.get((listener.host.name, listener.port)) is listener:
                    del self._listeners[(listener.host.name, listener.port)]

        server = VirtualServer(loop, sockets, unregister, register)
        for listener in listeners:  # fail now if a port is taken, as bind() would
            current = self._listeners.get((listener.host.name, listener.port))
            if current is not None and not (current.loop is not None and current.loop.is_closed()):
                self._bind(listener.host, listener.port, listener)
        if start_serving:
            await server.start_serving()
        return server

    # -- the socket-level API ------------------------------------------------------

    async def sock_connect(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, address: Any
    ) -> None:
        """``loop.sock_connect``: connect ``sock`` virtually; hand it to ``create_connection``.

        The real socket is only a token: pass it to ``loop.create_connection(sock=...)``
        (as aiohttp does); reading and writing it directly is not supported.
        """
        if not isinstance(address, tuple) or len(address) < 2:
            raise TypeError(f"address must be a (host, port) tuple, got {address!r}")
        infos = await self.getaddrinfo(loop, address[0], address[1], type=socket.SOCK_STREAM)
        target = infos[0][4]
        local = None
        with contextlib.suppress(OSError):
            local = sock.getsockname()
        src = (
            self._origin(local) if local and local[0] not in _ANY_ADDRESSES else self._origin(None)
        )
        dst, _listener = await self._handshake(loop, src, target)
        self._socks[id(sock)] = (sock, src, dst, target)

    async def sock_accept(self, loop: asyncio.AbstractEventLoop, sock: Any) -> Any:
        raise _unsupported(
            "loop.sock_accept()", "serve with loop.create_server(...) or asyncio.start_server(...)"
        )

    async def sock_recv(self, loop: asyncio.AbstractEventLoop, sock: Any, nbytes: int) -> Any:
        raise _unsupported(
            "loop.sock_recv()",
            "use streams (asyncio.open_connection) or loop.create_connection(protocol_factory, "
            "sock=sock) after loop.sock_connect",
        )

    async def sock_sendall(self, loop: asyncio.AbstractEventLoop, sock: Any, data: Any) -> Any:
        raise _unsupported(
            "loop.sock_sendall()",
            "use streams (asyncio.open_connection) or loop.create_connection(protocol_factory, "
            "sock=sock) after loop.sock_connect",
        )

    async def create_datagram_endpoint(
        self, loop: asyncio.AbstractEventLoop, *args: Any, **kwargs: Any
    ) -> Any:
        raise _unsupported(
            "loop.create_datagram_endpoint() (UDP)",
            "model the exchange over TCP (loop.create_connection) or with models.services",
        )

    async def create_unix_connection(
        self, loop: asyncio.AbstractEventLoop, *args: Any, **kwargs: Any
    ) -> Any:
        raise _unsupported(
            "loop.create_unix_connection()", "use a TCP host and port (loop.create_connection)"
        )

    async def create_unix_server(
        self, loop: asyncio.AbstractEventLoop, *args: Any, **kwargs: Any
    ) -> Any:
        raise _unsupported(
            "loop.create_unix_server()", "use a TCP host and port (loop.create_server)"
        )

    async def connect_accepted_socket(
        self, loop: asyncio.AbstractEventLoop, *args: Any, **kwargs: Any
    ) -> Any:
        raise _unsupported(
            "loop.connect_accepted_socket()", "serve with loop.create_server(...) instead"
        )

    # -- inspection ----------------------------------------------------------------------------

    @property
    def connections(self) -> tuple[VirtualTransport, ...]:
        """The open connection ends (client and server sides)."""
        return tuple(self._live)

    def __repr__(self) -> str:
        return f"<Network hosts={[h.name for h in self.hosts]} faults={len(self._faults)}>"
