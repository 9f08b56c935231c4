"""The virtual network: connections, servers and the rest of the loop's network API.

A :class:`Network` (hosts, links and faults from :class:`~._topology.Fabric`, names
from :class:`~._names.Names`) implements the network half of asyncio's event-loop API
(``create_connection``, ``create_server``, ``getaddrinfo``, ``sock_connect`` ...).
Attach it to a simulation with ``asyncsim.run(main(), network=net)`` (or
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
import socket
from collections.abc import Callable, Iterable
from typing import Any

from asyncsim._validate import check_int
from asyncsim.clock import to_seconds, to_ticks
from asyncsim.instruments.lanes import recorder as lane_recorder
from asyncsim.models.distributions import Duration

from ._names import ANY_ADDRESSES, Names
from ._topology import LOCALHOST, Host, _Listener, _Pipe
from ._transport import SocketInfo, VirtualServer, VirtualTransport
from ._values import draw, scaled, sleep_until

__all__ = ["Network"]


def _unsupported(call: str, instead: str) -> NotImplementedError:
    return NotImplementedError(
        f"{call} is not supported by the virtual network (asyncsim.models.network); {instead}"
    )


class Network(Names):
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
    >>> import asyncio, asyncsim
    >>> from asyncsim.models.network import Network
    >>> net = Network(latency=0.05)
    >>> service = net.http_service("example.com", response_time=0.82)
    >>> async def main():
    ...     reader, writer = await asyncio.open_connection("example.com", 80)
    ...     writer.write(b"GET / HTTP/1.1\\r\\nHost: example.com\\r\\n\\r\\n")
    ...     status = await reader.readline()
    ...     writer.close()
    ...     return status, asyncio.get_running_loop().time()
    >>> asyncsim.run(main(), network=net)
    (b'HTTP/1.1 200 OK\\r\\n', 1.02)
    """

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
        :class:`asyncsim.models.network.HttpService`, which records the requests it served.
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
        for index, port in enumerate(port_list):
            check_int(f"ports[{index}]", port, minimum=1, maximum=65535)
            self._bind(host, port, _Listener(host, port, service.protocol, None, None))
        return service

    # -- connecting ----------------------------------------------------------------------------

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
        now = to_ticks(loop.time())
        deadline = now + to_ticks(self.connect_timeout)
        syn = self._transit(src, dst, 0, now, None)
        if syn is not None and syn <= deadline:
            await sleep_until(loop, syn)
            listener = self._listener(dst, port, loop)
            if (
                listener is not None
                and listener.loop is not None
                and not (listener.server is not None and listener.server.is_serving())
            ):
                listener = None
            answer = self._transit(dst, src, 0, syn, None)
            if answer is not None and answer <= deadline:
                await sleep_until(loop, answer)
                if listener is None:
                    raise ConnectionRefusedError(
                        errno.ECONNREFUSED,
                        f"Connect call failed {address!r}: nothing listens on "
                        f"{dst.name}:{port} in the virtual network",
                    )
                return dst, listener
        await sleep_until(loop, deadline)
        raise TimeoutError(
            errno.ETIMEDOUT,
            f"Connect call failed {address!r}: no answer from {dst.name} within "
            f"connect_timeout={self.connect_timeout!r} s (a partition or a down host?)",
        )

    async def _tls(self, loop: asyncio.AbstractEventLoop, src: Host, dst: Host) -> None:
        now = to_ticks(loop.time())
        hello = self._transit(src, dst, 0, now, None)
        answer = None if hello is None else self._transit(dst, src, 0, hello, None)
        if answer is None:
            await sleep_until(loop, now + to_ticks(self.connect_timeout))
            raise TimeoutError(errno.ETIMEDOUT, "TLS handshake timed out (a partition?)")
        tls = draw("tls_time", self.tls_time, self.rng)
        await sleep_until(loop, answer + scaled("network:tls", "TLS handshakes", tls))

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
        accepted = self._transit(src, dst, 0, to_ticks(loop.time()), up)
        if accepted is not None:
            loop.call_at(to_seconds(accepted), self._accept, server, listener)
        lanes = lane_recorder()
        if lanes is not None:  # traced: the connection gets a bar in its server's lane
            lane = lanes.declare(f"{dst.name}:{listener.port} connections", kind="connections")
            client._lane = (
                lanes,
                lanes.begin(
                    lane,
                    f"{src.name}:{client_port}",
                    client=f"{src.name}:{client_port}",
                    client_ip=f"{src.ip}:{client_port}",
                    server=f"{dst.name}:{listener.port}",
                    server_ip=f"{dst.ip}:{listener.port}",
                    tls=sslcontext is not None,
                ),
            )
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
            self._check_free(listener.host, listener.port)
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
        src = self._origin(local) if local and local[0] not in ANY_ADDRESSES else self._origin(None)
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
            "model the exchange over TCP (loop.create_connection) or with asyncsim.models.services",
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
