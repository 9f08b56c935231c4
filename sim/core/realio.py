"""The virtual loop's guard on real I/O: refusals, and which real-time parties are outstanding.

Without ``allow_real_io`` every loop method that would touch a real file
descriptor raises :class:`~asyncsim.RealIOError` naming the call (and pointing to
``asyncsim.models.network``). The audit, method by method:

=================================================  ==========================================
``sock_recv``, ``sock_recv_into``, ``sock_recvfrom``,  refused here (with a network attached
``sock_recvfrom_into``, ``sock_sendall``,              too: a model's sockets are tokens)
``sock_sendto``, ``sock_connect``, ``sock_accept``,
``sock_sendfile``
``add_reader``, ``add_writer``                         refused here
``connect_read_pipe``, ``connect_write_pipe``          refused here
``subprocess_exec``, ``subprocess_shell``              refused here (``create_subprocess_*``)
``create_connection``, ``create_server``,              routed to the network model, else refused
``create_unix_connection``, ``create_unix_server``,    (:mod:`asyncsim.core.network`)
``create_datagram_endpoint``,
``connect_accepted_socket``, ``getaddrinfo``,
``getnameinfo``
``sendfile``, ``start_tls``                            act on a transport, which only exists
                                                       through the calls above
``add_signal_handler``                                 allowed: no I/O (signals arrive through
                                                       the loop's own self-pipe)
=================================================  ==========================================

With ``allow_real_io=True`` the guard keeps track of what the loop may have to wait
for in real time, for :mod:`asyncsim.core.boundary`:

* *in flight* (virtual time must not outrun real time): a ``sock_*`` call not yet
  done; a socket transport that sent data and has not received anything since
  (:mod:`asyncsim.core.transports`); a child process that has not exited; an
  interval timer (``signal.setitimer``, ``signal.alarm``) armed with a handler.
* *passive*: any other real file descriptor registered with the selector (a
  listening socket, an idle connection, a pipe, ``add_reader``): before each jump
  of the clock the loop gives it a short real-time grace.

:attr:`_real_fds` counts the descriptors the scheduler must poll (kept up to date
by every reader/writer/signal change, so the hot path needs no syscall).
"""

from __future__ import annotations

import asyncio.unix_events
import os
import shlex
import signal
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVarTuple, Unpack

from asyncsim.core import transports
from asyncsim.core.base import LoopBase
from asyncsim.errors import RealIOError

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

__all__ = ["RealIOGuard"]

_Ts = TypeVarTuple("_Ts")

_HAS_ITIMER = hasattr(signal, "setitimer") and hasattr(signal, "SIGALRM")
#: asyncio's pidfd child watchers (3.12+) register one reader per child; the child itself
#: is the party then, not the descriptor.
_PIDFD_WAITS = frozenset(
    cls._do_wait.__code__  # type: ignore[attr-defined]
    for cls in vars(asyncio.unix_events).values()
    if isinstance(cls, type) and "Pidfd" in cls.__name__ and "_do_wait" in vars(cls)
)


def _fd(sock: Any) -> str:
    try:
        return f"<socket fd={sock.fileno()}>"
    except Exception:
        return repr(sock)


class RealIOGuard(LoopBase):
    """The real-I/O part of :class:`~asyncsim.core.loop.VirtualEventLoop`."""

    def _init_real_io(self, allow_real_io: bool) -> None:
        self._allow_real_io = allow_real_io
        self._count_real_fds()
        #: Subprocess transports (real I/O mode), to know whether a child may still exit.
        self._children: weakref.WeakSet[Any] = weakref.WeakSet()
        self._spawning = 0
        #: ``sock_*`` calls in flight: token -> the call, described.
        self._io_in_flight: dict[object, str] = {}

    def _refuse_real_io(self, call: str) -> None:
        if not self._allow_real_io:
            raise RealIOError.refused(call)

    async def _real_io(self, call: str, operation: Any) -> Any:
        """Await ``operation`` (a ``sock_*`` coroutine), refused without real I/O and
        counted as in flight until it is done."""
        if not self._allow_real_io:
            operation.close()
            raise RealIOError.refused(call)
        token = object()
        self._io_in_flight[token] = call
        try:
            return await operation
        finally:
            del self._io_in_flight[token]

    # -- the socket-level API --------------------------------------------------------------

    async def sock_recv(self, sock: Any, n: int) -> bytes:
        return await self._real_io(f"loop.sock_recv({_fd(sock)}, {n})", super().sock_recv(sock, n))

    async def sock_recv_into(self, sock: Any, buf: Any) -> int:
        return await self._real_io(
            f"loop.sock_recv_into({_fd(sock)})", super().sock_recv_into(sock, buf)
        )

    async def sock_recvfrom(self, sock: Any, bufsize: int) -> Any:
        return await self._real_io(
            f"loop.sock_recvfrom({_fd(sock)}, {bufsize})", super().sock_recvfrom(sock, bufsize)
        )

    async def sock_recvfrom_into(self, sock: Any, buf: Any, nbytes: int = 0) -> Any:
        return await self._real_io(
            f"loop.sock_recvfrom_into({_fd(sock)})", super().sock_recvfrom_into(sock, buf, nbytes)
        )

    async def sock_sendall(self, sock: Any, data: Any) -> None:
        return await self._real_io(
            f"loop.sock_sendall({_fd(sock)})", super().sock_sendall(sock, data)
        )

    async def sock_sendto(self, sock: Any, data: Any, address: Any) -> int:
        return await self._real_io(
            f"loop.sock_sendto({_fd(sock)}, address={address!r})",
            super().sock_sendto(sock, data, address),
        )

    async def sock_connect(self, sock: Any, address: Any) -> None:
        return await self._real_io(
            f"loop.sock_connect(address={address!r})", super().sock_connect(sock, address)
        )

    async def sock_accept(self, sock: Any) -> Any:
        return await self._real_io(f"loop.sock_accept({_fd(sock)})", super().sock_accept(sock))

    async def sock_sendfile(
        self,
        sock: Any,
        file: Any,
        offset: int = 0,
        count: int | None = None,
        *,
        fallback: bool | None = True,
    ) -> int:
        return await self._real_io(
            f"loop.sock_sendfile({_fd(sock)})",
            super().sock_sendfile(sock, file, offset, count, fallback=fallback),
        )

    # -- pipes, child processes, file descriptors ----------------------------------------------

    async def subprocess_exec(self, protocol_factory: Any, *args: Any, **kwargs: Any) -> Any:
        self._refuse_real_io(f"loop.subprocess_exec{args!r}")
        return await super().subprocess_exec(protocol_factory, *args, **kwargs)

    async def subprocess_shell(self, protocol_factory: Any, cmd: Any, **kwargs: Any) -> Any:
        self._refuse_real_io(f"loop.subprocess_shell({cmd!r})")
        return await super().subprocess_shell(protocol_factory, cmd, **kwargs)

    async def connect_read_pipe(self, protocol_factory: Any, pipe: Any) -> Any:
        self._refuse_real_io("loop.connect_read_pipe()")
        return await super().connect_read_pipe(protocol_factory, pipe)

    async def connect_write_pipe(self, protocol_factory: Any, pipe: Any) -> Any:
        self._refuse_real_io("loop.connect_write_pipe()")
        return await super().connect_write_pipe(protocol_factory, pipe)

    def add_reader(
        self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], Any], *args: *_Ts
    ) -> None:
        self._refuse_real_io(f"loop.add_reader({fd!r})")
        super().add_reader(fd, callback, *args)

    def add_writer(
        self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], Any], *args: *_Ts
    ) -> None:
        self._refuse_real_io(f"loop.add_writer({fd!r})")
        super().add_writer(fd, callback, *args)

    # Transports that note an outstanding reply (see asyncsim.core.transports).
    def _make_socket_transport(self, sock: Any, protocol: Any, *args: Any, **kwargs: Any) -> Any:
        return transports.make_socket_transport(self, sock, protocol, *args, **kwargs)

    def _make_ssl_transport(self, rawsock: Any, protocol: Any, *args: Any, **kwargs: Any) -> Any:
        return transports.make_ssl_transport(self, rawsock, protocol, *args, **kwargs)

    def _make_datagram_transport(self, sock: Any, protocol: Any, *args: Any, **kwargs: Any) -> Any:
        return transports.make_datagram_transport(self, sock, protocol, *args, **kwargs)

    async def _make_subprocess_transport(self, *args: Any, **kwargs: Any) -> Any:
        self._spawning += 1  # (a cancelled spawn waits here for its child to exit)
        try:
            transport = await super()._make_subprocess_transport(*args, **kwargs)
        finally:
            self._spawning -= 1
        self._children.add(transport)
        return transport

    # -- what is outstanding -----------------------------------------------------------------

    # The selector keeps the self-pipe registered; anything beyond it is real I/O
    # that must be polled. With signal handlers installed the self-pipe is polled
    # too (signals arrive through it) but is not a party to wait for.
    def _count_real_fds(self) -> None:
        selector = getattr(self, "_selector", None)
        if selector is None:
            self._real_fds = self._passive_fds = 0
            return
        own = 1 if getattr(self, "_ssock", None) is not None else 0
        registered = len(selector.get_map())
        self._passive_fds = registered - own
        self._real_fds = registered if getattr(self, "_signal_handlers", None) else registered - own
        self._fast_path_changed()  # (real I/O to poll: no fused iterations)

    def _passive_parties(self) -> list[str]:
        """The real file descriptors that are parties of their own, described (a child
        watcher's pidfd is not: its child is one)."""
        count = self._passive_fds
        selector = getattr(self, "_selector", None)
        if count and selector is not None and _PIDFD_WAITS:
            for key in list(selector.get_map().values()):
                reader = key.data[0] if isinstance(key.data, tuple) and key.data else None
                func = getattr(getattr(reader, "_callback", None), "__func__", None)
                if getattr(func, "__code__", None) in _PIDFD_WAITS:
                    count -= 1
        return [f"{count} real file descriptor(s)"] if count > 0 else []

    def _children_alive(self) -> bool:
        # A child whose exit is not yet known may still wake the loop (a child
        # watcher thread calls call_soon_threadsafe), so it is worth waiting for.
        return bool(self._spawning) or any(c._returncode is None for c in self._children)

    def _real_io_in_flight(self) -> list[str]:
        """The real-time parties whose outcome is due soon, described (see the module doc)."""
        found = list(self._io_in_flight.values())
        if self._passive_fds:
            for transport in list(getattr(self, "_transports", {}).values()):
                if getattr(transport, "awaiting_reply", False) and not transport.is_closing():
                    found.append(f"a reply to {transport!r}")
        if self._spawning:
            found.append("a child process being started")
        for child in list(self._children):
            if child._returncode is None:
                found.append(f"child process {child.get_pid()} ({_args(child)})")
        if self._alarm_remaining():
            found.append("an interval timer (signal.setitimer / signal.alarm)")
        return found

    def _alarm_remaining(self) -> float:
        """Real seconds until an armed ``ITIMER_REAL`` (``signal.setitimer``,
        ``signal.alarm``) fires, when the loop handles ``SIGALRM``
        (``loop.add_signal_handler``); else 0.0. (A handler installed with
        ``signal.signal`` alone is not looked for: asking costs microseconds per jump.)"""
        handlers = getattr(self, "_signal_handlers", None)
        if not _HAS_ITIMER or not handlers or signal.SIGALRM not in handlers:
            return 0.0
        return signal.getitimer(signal.ITIMER_REAL)[0]

    def add_signal_handler(
        self, sig: int, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """As asyncio's; while any handler is installed the loop polls for signals."""
        super().add_signal_handler(sig, callback, *args)
        self._count_real_fds()

    def remove_signal_handler(self, sig: int) -> bool:
        """As asyncio's."""
        result = super().remove_signal_handler(sig)
        self._count_real_fds()
        return result

    def _add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> Any:
        result = super()._add_reader(fd, callback, *args)
        self._count_real_fds()
        return result

    def _add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> Any:
        result = super()._add_writer(fd, callback, *args)
        self._count_real_fds()
        return result

    def _remove_reader(self, fd: Any) -> bool:
        result = super()._remove_reader(fd)
        self._count_real_fds()
        return result

    def _remove_writer(self, fd: Any) -> bool:
        result = super()._remove_writer(fd)
        self._count_real_fds()
        return result


def _args(child: Any) -> str:
    """The command line of a subprocess transport's child, as a shell would show it."""
    args = getattr(getattr(child, "_proc", None), "args", None)
    if isinstance(args, (str, bytes)):
        return os.fsdecode(args)
    if args is None:
        return "?"
    return shlex.join(os.fsdecode(a) if isinstance(a, bytes) else str(a) for a in args)
