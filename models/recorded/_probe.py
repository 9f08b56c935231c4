"""The probe: what a program's event loop does on the network, observed at the socket level.

:meth:`Probe.attach` wraps the network methods of one event loop (a real asyncio
loop while recording, a virtual one when a replay is measured) on that loop object
only: ``getaddrinfo``, ``sock_connect``, ``create_connection`` (which opens
``asyncio.open_connection`` streams, aiohttp's and httpx's connections),
``create_server``, ``run_in_executor``, and the calls whose traffic is not recorded
(UDP, Unix sockets, pipes, subprocesses, raw socket reads and writes), which are
counted. Each connection's protocol and transport are observed in place: every
write and every read is timed and measured into a :class:`~._observe.Connection`.

:func:`traced_sessions` adds a ``TraceConfig`` to every ``aiohttp.ClientSession``
made while it is active, so each request is also seen as the client library saw it
(:class:`~._observe.ClientRequest`): from the call to the response head, with its
status or its exception.

Connection attempts over IPv6 are left out (the virtual network is IPv4 only): a
client that tries ``::1`` before ``127.0.0.1`` shows no fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ipaddress
import time
from collections.abc import Callable, Iterator
from typing import Any

from asyncsim.instruments.cpu import job_function_name
from asyncsim.instruments.lanes import recorder as lane_recorder

from ._observe import ClientRequest, Connection, Observations, error_kind
from ._routes import RouteTemplates

__all__ = ["NOT_RECORDED", "Probe", "traced_sessions"]

#: Loop methods whose traffic a recording does not capture, and why (what a model lacks).
NOT_RECORDED = {
    "create_datagram_endpoint": "UDP (loop.create_datagram_endpoint): datagrams are not "
    "recorded, and the virtual network has no UDP",
    "create_unix_connection": "Unix socket connections (loop.create_unix_connection): not "
    "recorded; the virtual network has TCP hosts only",
    "create_unix_server": "Unix socket servers (loop.create_unix_server): not recorded",
    "subprocess_exec": "subprocesses (loop.subprocess_exec): their run time is not recorded, "
    "and a simulation refuses real subprocesses",
    "subprocess_shell": "subprocesses (loop.subprocess_shell): their run time is not recorded, "
    "and a simulation refuses real subprocesses",
    "connect_read_pipe": "pipes (loop.connect_read_pipe): not recorded",
    "connect_write_pipe": "pipes (loop.connect_write_pipe): not recorded",
    "sock_recv": "raw socket reads (loop.sock_recv): not recorded; use streams",
    "sock_sendall": "raw socket writes (loop.sock_sendall): not recorded; use streams",
    "add_reader": "file descriptors watched with loop.add_reader: not recorded",
}
_LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::", ""}
_RESOLVER_JOBS = {"getaddrinfo", "getnameinfo"}
# Set while asyncio's own create_connection connects (its sock_connect calls are its own).
_inside_connect: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "asyncsim_probe_connect", default=False
)


def _is_ipv6(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).version == 6
    except ValueError:
        return False


def _port(port: Any) -> int:
    try:
        return int(port)
    except (TypeError, ValueError):
        return 0


class Probe:
    """Observes the network traffic, thread jobs and servers of the loops it is attached to.

    Parameters
    ----------
    origin : float
        The loop time that is 0 on the run's clock (``time.monotonic()`` at the start
        of a recording; 0 for a virtual loop).
    routes : RouteTemplates, optional
        The user's route templates for HTTP paths.
    lanes : LaneRecorder, optional
        Where each HTTP exchange is drawn as an interval (a traced run's lanes).
    """

    def __init__(
        self,
        *,
        origin: float = 0.0,
        routes: RouteTemplates | None = None,
        lanes: Any = None,
    ) -> None:
        self.origin = origin
        self.routes = routes if routes is not None else RouteTemplates()
        self.lanes = lanes
        #: What was observed so far.
        self.observations = Observations()
        self._ip_names: dict[str, str] = {}
        self._socks: dict[int, tuple[str, int, float, float]] = {}
        self._own_ports: set[int] = set()
        self._saved: dict[int, dict[str, Any]] = {}

    # -- attaching ----------------------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Observe ``loop`` from now on (its methods are wrapped on the object itself)."""
        if id(loop) in self._saved:
            return
        saved: dict[str, Any] = {}
        wrappers: dict[str, Callable[..., Any]] = {
            "getaddrinfo": self._getaddrinfo,
            "sock_connect": self._sock_connect,
            "create_connection": self._create_connection,
            "create_server": self._create_server,
            "run_in_executor": self._run_in_executor,
        }
        for name, make in wrappers.items():
            saved[name] = loop.__dict__.get(name)
            setattr(loop, name, make(loop, getattr(loop, name)))
        for name, why in NOT_RECORDED.items():
            original = getattr(loop, name, None)
            if original is not None:
                saved[name] = loop.__dict__.get(name)
                setattr(loop, name, self._counted(original, why))
        self._saved[id(loop)] = saved

    def detach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Stop observing ``loop`` (its methods are restored)."""
        saved = self._saved.pop(id(loop), None)
        if saved is None:
            return
        for name, value in saved.items():
            if value is None:
                loop.__dict__.pop(name, None)
            else:
                setattr(loop, name, value)

    def now(self, loop: asyncio.AbstractEventLoop) -> float:
        """Seconds on the run's clock."""
        return loop.time() - self.origin

    # -- the wrappers -------------------------------------------------------------------

    def _counted(self, original: Callable[..., Any], why: str) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.observations.note(why)
            return original(*args, **kwargs)

        return counted

    def _getaddrinfo(self, loop: Any, original: Callable[..., Any]) -> Callable[..., Any]:
        async def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            start = self.now(loop)
            name = host.decode("idna") if isinstance(host, bytes) else host
            try:
                infos = await original(host, port, *args, **kwargs)
            except Exception:
                if isinstance(name, str):
                    errors = self.observations.dns_errors
                    errors[name] = errors.get(name, 0) + 1
                raise
            if isinstance(name, str) and name and not _is_address(name):
                self.observations.dns.setdefault(name, []).append(self.now(loop) - start)
                for info in infos:
                    self._ip_names[str(info[4][0])] = name
            return infos

        return getaddrinfo

    def _endpoint(self, host: Any, port: Any) -> tuple[str, int]:
        name = host.decode("idna") if isinstance(host, bytes) else str(host)
        return self._ip_names.get(name, name), _port(port)

    def _own(self, host: str, port: int) -> bool:
        return port in self._own_ports and (host in _LOOPBACK or host.startswith("127."))

    def _failed(self, loop: Any, host: str, port: int, tls: bool, start: float, exc: Any) -> None:
        conn = Connection(len(self.observations.connections), host, port, tls, start)
        conn.error = error_kind(exc)
        conn.closed = self.now(loop)
        self.observations.connections.append(conn)

    def _sock_connect(self, loop: Any, original: Callable[..., Any]) -> Callable[..., Any]:
        async def sock_connect(sock: Any, address: Any) -> Any:
            if _inside_connect.get() or not isinstance(address, tuple):
                return await original(sock, address)
            start = self.now(loop)
            host, port = self._endpoint(address[0], address[1])
            try:
                result = await original(sock, address)
            except BaseException as exc:
                if _is_ipv6(str(address[0])):
                    self.observations.note(
                        "connection attempts over IPv6: not modeled (the virtual network is "
                        "IPv4 only)"
                    )
                elif not self._own(host, port):
                    self._failed(loop, host, port, False, start, exc)
                raise
            self._socks[id(sock)] = (host, port, start, self.now(loop))
            return result

        return sock_connect

    def _create_connection(self, loop: Any, original: Callable[..., Any]) -> Callable[..., Any]:
        async def create_connection(
            protocol_factory: Callable[[], asyncio.BaseProtocol],
            host: Any = None,
            port: Any = None,
            *args: Any,
            **kwargs: Any,
        ) -> Any:
            sock = kwargs.get("sock")
            tls = bool(kwargs.get("ssl"))
            start = connected = self.now(loop)
            pending = self._socks.pop(id(sock), None) if sock is not None else None
            if pending is not None:
                name, number, start, connected = pending
            elif sock is not None:
                try:
                    peer = sock.getpeername()
                except OSError:
                    peer = ("", 0)
                name, number = self._endpoint(peer[0], peer[1])
            else:
                name, number = self._endpoint(host, port)
            if self._own(name, number):
                return await original(protocol_factory, host, port, *args, **kwargs)
            conn = Connection(len(self.observations.connections), name, number, tls, start)
            conn.routes = self.routes
            conn.lanes = self.lanes if self.lanes is not None else lane_recorder()
            if pending is not None or sock is not None:
                conn.connected = connected

            def factory() -> asyncio.BaseProtocol:
                protocol = protocol_factory()
                if conn.connected is None:
                    conn.connected = self.now(loop)
                self._observe_protocol(loop, protocol, conn)
                return protocol

            token = _inside_connect.set(True)
            try:
                result = await original(factory, host, port, *args, **kwargs)
            except BaseException as exc:
                conn.error = error_kind(exc)
                conn.closed = self.now(loop)
                self.observations.connections.append(conn)
                raise
            finally:
                _inside_connect.reset(token)
            conn.ready = self.now(loop)
            if conn.connected is None:
                conn.connected = conn.ready
            self.observations.connections.append(conn)
            return result

        return create_connection

    def _create_server(self, loop: Any, original: Callable[..., Any]) -> Callable[..., Any]:
        async def create_server(*args: Any, **kwargs: Any) -> Any:
            server = await original(*args, **kwargs)
            for sock in getattr(server, "sockets", ()) or ():
                with contextlib.suppress(OSError, IndexError, TypeError):
                    port = int(sock.getsockname()[1])
                    self._own_ports.add(port)
                    self.observations.own_endpoints.add(f"localhost:{port}")
            return server

        return create_server

    def _run_in_executor(self, loop: Any, original: Callable[..., Any]) -> Callable[..., Any]:
        jobs = self.observations.jobs

        def run_in_executor(executor: Any, func: Callable[..., Any], *args: Any) -> Any:
            name = job_function_name(func)  # the name a replay charges the job by
            if name.rpartition(".")[2] in _RESOLVER_JOBS:
                return original(executor, func, *args)

            def timed(*call_args: Any) -> Any:
                started = time.perf_counter()  # a worker thread: always the real clock
                try:
                    return func(*call_args)
                finally:
                    jobs.setdefault(name, []).append(time.perf_counter() - started)

            # named as the job's function: a replay's CPU model times jobs by that name
            timed.__qualname__ = timed.__name__ = name
            return original(executor, timed, *args)

        return run_in_executor

    # -- one connection -----------------------------------------------------------------

    def _observe_protocol(self, loop: Any, protocol: Any, conn: Connection) -> None:
        """Time every read and write of ``conn`` by wrapping its protocol's methods in place."""
        now = self.now
        try:
            made = protocol.connection_made
            lost = protocol.connection_lost
            eof = getattr(protocol, "eof_received", None)
            peer_closed = [False]

            def connection_made(transport: Any) -> None:
                self._observe_transport(loop, transport, conn)
                made(transport)

            def connection_lost(exc: BaseException | None) -> None:
                conn.closed_at(now(loop), exc, by_peer=peer_closed[0])
                lost(exc)

            protocol.connection_made = connection_made
            protocol.connection_lost = connection_lost
            if eof is not None:

                def eof_received() -> Any:
                    peer_closed[0] = True
                    return eof()

                protocol.eof_received = eof_received
            if isinstance(protocol, asyncio.BufferedProtocol):
                get_buffer, updated = protocol.get_buffer, protocol.buffer_updated
                current: list[Any] = [b""]

                def get_buffer_observed(sizehint: int) -> Any:
                    current[0] = get_buffer(sizehint)
                    return current[0]

                def buffer_updated(nbytes: int) -> None:
                    conn.received(bytes(memoryview(current[0])[:nbytes]), now(loop))
                    updated(nbytes)

                protocol.get_buffer = get_buffer_observed  # type: ignore[method-assign]
                protocol.buffer_updated = buffer_updated  # type: ignore[method-assign]
            else:
                data_received = protocol.data_received

                def data_received_observed(data: bytes) -> None:
                    conn.received(data, now(loop))
                    data_received(data)

                protocol.data_received = data_received_observed
        except (AttributeError, TypeError):  # a protocol object that takes no attributes
            self.observations.note(
                f"traffic of connections whose protocol cannot be observed "
                f"({type(protocol).__qualname__}): only their connect time is recorded"
            )

    def _observe_transport(self, loop: Any, transport: Any, conn: Connection) -> None:
        try:
            write = transport.write

            def write_observed(data: Any) -> None:
                if not transport.is_closing():
                    conn.sent(data, self.now(loop))
                write(data)

            def writelines_observed(chunks: Any) -> None:
                write_observed(b"".join(chunks))

            transport.write = write_observed
            transport.writelines = writelines_observed
        except (AttributeError, TypeError):
            self.observations.note(
                f"writes on transports that take no attributes ({type(transport).__qualname__})"
            )

    # -- aiohttp -------------------------------------------------------------------------

    def trace_config(self) -> Any:
        """An ``aiohttp.TraceConfig`` that records each request as the client saw it."""
        import aiohttp

        config = aiohttp.TraceConfig()
        requests = self.observations.requests

        def clock() -> float:
            return self.now(asyncio.get_running_loop())

        def record(ctx: Any, end: float, status: int | None, error: str | None) -> None:
            url = ctx.url
            requests.append(
                ClientRequest(
                    method=ctx.method,
                    host=str(url.host or ""),
                    port=int(url.port or 0),
                    route=self.routes.template(url.raw_path or "/"),
                    start=ctx.start,
                    end=end,
                    status=status,
                    error=error,
                )
            )

        async def on_start(session: Any, ctx: Any, params: Any) -> None:
            ctx.start, ctx.method, ctx.url = clock(), params.method, params.url

        async def on_end(session: Any, ctx: Any, params: Any) -> None:
            if hasattr(ctx, "start"):
                record(ctx, clock(), params.response.status, None)

        async def on_redirect(session: Any, ctx: Any, params: Any) -> None:
            if hasattr(ctx, "start"):
                record(ctx, clock(), params.response.status, None)
                ctx.start, ctx.method, ctx.url = clock(), params.method, params.url

        async def on_exception(session: Any, ctx: Any, params: Any) -> None:
            if hasattr(ctx, "start"):
                cause = params.exception
                kind = error_kind(cause.__cause__ or cause) if cause is not None else None
                record(ctx, clock(), None, kind)

        config.on_request_start.append(on_start)
        config.on_request_end.append(on_end)
        config.on_request_redirect.append(on_redirect)
        config.on_request_exception.append(on_exception)
        return config


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def traced_sessions(probe: Probe) -> Iterator[None]:
    """Give every ``aiohttp.ClientSession`` made meanwhile the probe's ``TraceConfig``.

    Does nothing when aiohttp is not installed.
    """
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - aiohttp is a dependency of asyncsim
        yield
        return
    original = aiohttp.ClientSession.__init__

    def __init__(self: Any, *args: Any, trace_configs: Any = None, **kwargs: Any) -> None:
        configs = [*(trace_configs or ()), probe.trace_config()]
        original(self, *args, trace_configs=configs, **kwargs)

    aiohttp.ClientSession.__init__ = __init__  # type: ignore[method-assign]
    try:
        yield
    finally:
        aiohttp.ClientSession.__init__ = original  # type: ignore[method-assign]
