"""Transports and servers of the virtual network, as asyncio defines them.

A connection is two :class:`VirtualTransport` objects, one per end. Bytes written
on one end reach the other end's protocol after the time the network computes
(latency, bandwidth, loss, faults), in the order they were written. Closing,
half-closing (``write_eof``) and resets follow what asyncio's socket transports
do: ``eof_received`` then ``connection_lost(None)`` on an orderly close,
``connection_lost(ConnectionResetError)`` on an abort or a reset.
"""

from __future__ import annotations

import asyncio
import errno
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._socket import SocketInfo, VirtualSocket

if TYPE_CHECKING:
    import socket

    from ._network import Network
    from ._topology import _Pipe

__all__ = ["SocketInfo", "VirtualServer", "VirtualTransport"]

# What travels on a connection: bytes, an end of file, or a reset.
_DATA, _EOF, _RESET = "data", "eof", "reset"


def reset_error() -> ConnectionResetError:
    return ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")


class VirtualTransport(asyncio.Transport):
    """One end of a virtual TCP connection (an :class:`asyncio.Transport`)."""

    def __init__(
        self,
        network: Network,
        loop: asyncio.AbstractEventLoop,
        pipe: _Pipe,
        *,
        sockname: tuple[str, int],
        peername: tuple[str, int],
        sslcontext: Any = None,
        server_hostname: str | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        extra: dict[str, Any] = {
            "peername": peername,
            "sockname": sockname,
            "socket": None,  # (a VirtualSocket, set below)
            "sslcontext": sslcontext,
            "ssl_object": None,
            "peercert": {} if sslcontext is not None else None,
            "cipher": ("TLS_VIRTUAL", "TLSv1.3", 256) if sslcontext is not None else None,
            "compression": None,
            "server_hostname": server_hostname,
        }
        super().__init__(extra)
        extra["socket"] = VirtualSocket(self, sockname)  # (the dict the transport keeps)
        self._network = network
        self._loop = loop
        self._pipe = pipe
        self._sock = sock  # an unconnected real socket handed over by sock_connect
        self._protocol: asyncio.BaseProtocol | None = None
        self.peer: VirtualTransport | None = None
        self._closing = False
        self._lost = False
        self._eof_written = False
        self._paused = False
        self._backlog: deque[tuple[str, Any]] = deque()
        self._limits = (16 * 1024, 64 * 1024)
        self._bytes_sent = 0
        self._bytes_received = 0
        # (asyncsim.lanes recorder, interval ref) of the connection in a traced run.
        self._lane: tuple[Any, int] | None = None

    # -- wiring ---------------------------------------------------------------

    def start(self, protocol: asyncio.BaseProtocol) -> None:
        """Attach ``protocol`` and call its ``connection_made``."""
        self._protocol = protocol
        protocol.connection_made(self)

    @property
    def bytes_sent(self) -> int:
        """Bytes written on this end so far."""
        return self._bytes_sent

    @property
    def bytes_received(self) -> int:
        """Bytes delivered to this end's protocol so far."""
        return self._bytes_received

    # -- asyncio.Transport ------------------------------------------------------

    def get_protocol(self) -> asyncio.BaseProtocol:
        assert self._protocol is not None
        return self._protocol

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._protocol = protocol

    def is_closing(self) -> bool:
        return self._closing

    def is_reading(self) -> bool:
        return not self._paused and not self._closing

    def pause_reading(self) -> None:
        self._paused = True

    def resume_reading(self) -> None:
        if not self._paused:
            return
        self._paused = False
        if self._backlog:
            self._loop.call_soon(self._drain_backlog)

    def get_write_buffer_size(self) -> int:
        return 0  # writes leave at once; the link models the queueing

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._limits

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        high = 64 * 1024 if high is None else high
        low = high // 4 if low is None else low
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._limits = (low, high)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"data argument must be a bytes-like object, not {type(data).__name__!r}"
            )
        if self._eof_written:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._closing or not data:
            return
        payload = bytes(data)
        self._bytes_sent += len(payload)
        self._network._send(self, _DATA, payload, len(payload))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:
        return self.get_extra_info("sslcontext") is None  # as asyncio's TLS transport

    def write_eof(self) -> None:
        if self._closing or self._eof_written:
            return
        self._eof_written = True
        self._network._send(self, _EOF, None, 0)

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if not self._eof_written:
            self._eof_written = True
            self._network._send(self, _EOF, None, 0)
        self._loop.call_soon(self._connection_lost, None)

    def abort(self) -> None:
        if self._lost:
            return
        self._closing = True
        self._network._send(self, _RESET, None, 0)
        self._loop.call_soon(self._connection_lost, None)

    # -- what the network calls ---------------------------------------------------

    def receive(self, kind: str, payload: Any) -> None:
        """A message arrived from the peer (called at its arrival time)."""
        if self._lost:
            return
        if kind == _RESET:
            self.reset(payload if payload is not None else reset_error())
            return
        if self._paused or self._backlog:
            self._backlog.append((kind, payload))
            return
        self._dispatch(kind, payload)

    def reset(self, exc: Exception | None = None) -> None:
        """Drop the connection on this end: ``connection_lost(exc)`` (a reset by default)."""
        if self._lost:
            return
        self._closing = True
        self._backlog.clear()
        self._connection_lost(reset_error() if exc is None else exc)

    # -- internals --------------------------------------------------------------------

    def _drain_backlog(self) -> None:
        while self._backlog and not self._paused and not self._lost:
            kind, payload = self._backlog.popleft()
            self._dispatch(kind, payload)

    def _dispatch(self, kind: str, payload: Any) -> None:
        protocol = self._protocol
        if protocol is None:
            return
        try:
            if kind == _DATA:
                self._bytes_received += len(payload)
                if isinstance(protocol, asyncio.BufferedProtocol):
                    self._feed_buffered(protocol, payload)
                else:
                    protocol.data_received(payload)  # type: ignore[attr-defined]
            elif kind == _EOF:
                keep_open = protocol.eof_received()  # type: ignore[attr-defined]
                if not keep_open:
                    self.close()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._loop.call_exception_handler(
                {
                    "message": f"Fatal error: protocol.{'data' if kind == _DATA else 'eof'}"
                    "_received() call failed.",
                    "exception": exc,
                    "transport": self,
                    "protocol": protocol,
                }
            )
            self.abort()

    @staticmethod
    def _feed_buffered(protocol: asyncio.BufferedProtocol, data: bytes) -> None:
        view = memoryview(data)
        while view:
            buf = memoryview(protocol.get_buffer(len(view)))
            n = min(len(buf), len(view))
            if n == 0:
                raise RuntimeError("get_buffer() returned an empty buffer")
            buf[:n] = view[:n]
            protocol.buffer_updated(n)
            view = view[n:]

    def _connection_lost(self, exc: Exception | None) -> None:
        if self._lost:
            return
        self._lost = True
        self._closing = True
        self._network._forget(self)
        if self._lane is not None:
            lanes, ref = self._lane
            lanes.end(
                ref,
                bytes_sent=self._bytes_sent,
                bytes_received=self._bytes_received,
                closed="reset" if isinstance(exc, ConnectionResetError) else "closed",
            )
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        protocol = self._protocol
        if protocol is not None:
            protocol.connection_lost(exc)

    def __repr__(self) -> str:
        state = "closed" if self._lost else "closing" if self._closing else "open"
        here = self.get_extra_info("sockname")
        there = self.get_extra_info("peername")
        return f"<VirtualTransport {here[0]}:{here[1]} -> {there[0]}:{there[1]} {state}>"


class VirtualServer(asyncio.AbstractServer):
    """What ``loop.create_server`` returns on the virtual network."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sockets: list[SocketInfo],
        unregister: Callable[[VirtualServer], None],
        register: Callable[[VirtualServer], None],
    ) -> None:
        self._loop = loop
        self._sockets = sockets
        self._unregister = unregister
        self._register = register
        self._serving = False
        self._closed = False
        self._serving_forever: asyncio.Future[None] | None = None

    @property
    def sockets(self) -> tuple[SocketInfo, ...]:
        return () if self._closed else tuple(self._sockets)

    def get_loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def is_serving(self) -> bool:
        return self._serving

    async def start_serving(self) -> None:
        if self._closed:
            raise RuntimeError(f"server {self!r} is closed")
        if not self._serving:
            self._serving = True
            self._register(self)

    async def serve_forever(self) -> None:
        if self._serving_forever is not None:
            raise RuntimeError(f"server {self!r} is already being awaited on serve_forever()")
        if self._closed:
            raise RuntimeError(f"server {self!r} is closed")
        await self.start_serving()
        self._serving_forever = self._loop.create_future()
        try:
            await self._serving_forever
        except asyncio.CancelledError:
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._serving_forever = None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._serving:
            self._unregister(self)
        self._serving = False
        waiter = self._serving_forever
        if waiter is not None and not waiter.done():
            waiter.cancel()

    async def wait_closed(self) -> None:
        return None

    def close_clients(self) -> None:
        """Accepted connections are not tracked per server here (nothing to close)."""

    def abort_clients(self) -> None:
        """Accepted connections are not tracked per server here (nothing to abort)."""

    def __repr__(self) -> str:
        names = ", ".join(f"{s.getsockname()[0]}:{s.getsockname()[1]}" for s in self._sockets)
        return f"<VirtualServer {names}{' closed' if self._closed else ''}>"
