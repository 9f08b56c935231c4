"""Socket-like objects of the virtual network, and real listening sockets served virtually.

Libraries built on anyio (httpx, httpcore) and trio-style I/O read the socket under a
transport: ``transport.get_extra_info("socket")`` must have ``family``,
``getsockname()``, ``getpeername()``, ``setsockopt()`` and a ``fileno()`` that
``select.poll`` accepts. :class:`VirtualSocket` is that object for one end of a
virtual connection. Its ``fileno()`` tells httpcore's keep-alive check the truth:
while the connection is open and nothing is waiting to be read it is a process-wide
pipe that never becomes readable (so an idle connection is reused); once the peer
has sent something unread, closed or reset it, it is ``-1``, which httpcore (like a
closed socket) treats as "readable: do not reuse".

:class:`AcceptQueue` serves a *real* listening socket on the virtual network:
``anyio.create_tcp_listener`` binds and listens on a real socket, then calls
``loop.sock_accept(sock)`` and ``loop.connect_accepted_socket(factory, client)``;
the network then registers a virtual listener at the socket's host and port and
hands over the virtual connections made to it.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._transport import VirtualTransport

__all__ = ["AcceptQueue", "SocketInfo", "VirtualSocket"]

_idle_fd: int | None = None


def _never_readable_fd() -> int:
    """The read end of a pipe nothing is ever written to (one per process, kept open)."""
    global _idle_fd
    if _idle_fd is None:
        read_end, _write_end = os.pipe()  # (both kept open for the process's life)
        _idle_fd = read_end
    return _idle_fd


class SocketInfo:
    """Stands in for a socket of the virtual network: names and options, no real file.

    Used as is for listening sockets (``Server.sockets``); :class:`VirtualSocket` adds
    the connection it belongs to.
    """

    family = socket.AF_INET
    type = socket.SOCK_STREAM
    proto = socket.IPPROTO_TCP

    def __init__(self, sockname: tuple[str, int]) -> None:
        self._sockname = sockname
        self._options: dict[tuple[int, int], Any] = {}

    def getsockname(self) -> tuple[str, int]:
        return self._sockname

    def getpeername(self) -> tuple[str, int]:
        raise OSError(errno.ENOTCONN, "Transport endpoint is not connected")

    def fileno(self) -> int:
        return -1

    def setsockopt(self, level: int, option: int, value: Any, *more: Any) -> None:
        """Recorded (``getsockopt`` reads it back); options change nothing virtual."""
        self._options[(level, option)] = value

    def getsockopt(self, level: int, option: int, buflen: int | None = None) -> Any:
        return self._options.get((level, option), 0)

    def setblocking(self, flag: bool) -> None:
        """Virtual sockets never block (accepted and ignored)."""

    def settimeout(self, value: float | None) -> None:
        """Accepted and ignored: timeouts are the program's (virtual) timers."""

    def gettimeout(self) -> float:
        return 0.0

    def close(self) -> None:
        """Nothing to release: the transport owns the connection."""

    def __repr__(self) -> str:
        return f"<virtual socket {self._sockname[0]}:{self._sockname[1]}>"


class VirtualSocket(SocketInfo):
    """``get_extra_info("socket")`` of a virtual connection end (see the module docstring)."""

    def __init__(self, transport: VirtualTransport, sockname: tuple[str, int]) -> None:
        super().__init__(sockname)
        self._transport = transport

    def getpeername(self) -> tuple[str, int]:
        peername: tuple[str, int] = self._transport.get_extra_info("peername")
        return peername

    def readable(self) -> bool:
        """Whether a read would return at once: data or an end waiting, or the end is closed."""
        t = self._transport
        return t._lost or t._closing or bool(t._backlog)

    def fileno(self) -> int:
        return -1 if self.readable() else _never_readable_fd()

    def shutdown(self, how: int) -> None:
        if how in (socket.SHUT_WR, socket.SHUT_RDWR):
            self._transport.write_eof()

    def __repr__(self) -> str:
        here, there = self.getsockname(), self.getpeername()
        return f"<virtual socket {here[0]}:{here[1]} -> {there[0]}:{there[1]}>"


class AcceptQueue:
    """Virtual connections made to a real listening socket, waiting for ``loop.sock_accept``.

    Registered as the listener's protocol factory *and* server: the network queues
    each accepted (server-side, paused) transport here instead of starting a protocol.
    It serves as long as the real socket is open.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        self.loop = loop
        self.sock = sock
        self._pending: deque[VirtualTransport] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()

    def is_serving(self) -> bool:
        return self.sock.fileno() != -1

    def put(self, transport: VirtualTransport) -> None:
        """A connection arrived: hold it (paused, so its data waits) until accepted."""
        transport._paused = True
        self._pending.append(transport)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    async def get(self) -> VirtualTransport:
        """The next connection (waits for one)."""
        while not self._pending:
            waiter = self.loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        return self._pending.popleft()

    def __call__(self) -> asyncio.BaseProtocol:  # (never called: the network checks first)
        raise RuntimeError("an AcceptQueue is not a protocol factory")
