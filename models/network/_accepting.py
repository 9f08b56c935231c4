"""Real listening sockets served on the virtual network: ``sock_accept`` and
``connect_accepted_socket`` (what ``anyio.create_tcp_listener``'s listeners call).

See :class:`~._socket.AcceptQueue`. The :class:`~._network.Network` inherits these.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ._names import Names
from ._socket import AcceptQueue, VirtualSocket
from ._topology import _Listener
from ._transport import VirtualTransport

__all__ = ["Accepting"]


def _unsupported(call: str, instead: str) -> NotImplementedError:
    return NotImplementedError(
        f"{call} is not supported by the virtual network (asyncsim.models.network); {instead}"
    )


class Accepting(Names):
    """The network's side of a real listening socket's ``accept``."""

    async def sock_accept(self, loop: asyncio.AbstractEventLoop, sock: Any) -> Any:
        """``loop.sock_accept`` on a real listening socket: its connections, made virtually.

        The socket's address (``sock.getsockname()``, e.g. what ``anyio.create_tcp_listener``
        bound) becomes a virtual listener on the first call, serving while the socket is
        open; each call returns ``(VirtualSocket, peer address)`` of the next connection,
        for ``loop.connect_accepted_socket``.
        """
        queue = self._accept_queue(loop, sock)
        transport = await queue.get()
        extra_socket: VirtualSocket = transport.get_extra_info("socket")
        return extra_socket, transport.get_extra_info("peername")

    def _accept_queue(self, loop: asyncio.AbstractEventLoop, sock: Any) -> AcceptQueue:
        try:
            address = sock.getsockname()
        except (AttributeError, OSError) as exc:
            raise _unsupported(
                f"loop.sock_accept({sock!r})",
                "pass a bound, listening socket (as anyio.create_tcp_listener does), or serve "
                "with loop.create_server(...) or asyncio.start_server(...)",
            ) from exc
        host = self._resolve(address[0], passive=True)[0]
        key = (host.name, address[1])
        listener = self._listeners.get(key)
        if listener is not None and isinstance(listener.factory, AcceptQueue):
            if listener.factory.sock is sock and listener.factory.loop is loop:
                return listener.factory
            if not listener.factory.is_serving() or listener.factory.loop.is_closed():
                del self._listeners[key]  # a closed socket's listener, left behind
        queue = AcceptQueue(loop, sock)
        self._bind(host, address[1], _Listener(host, address[1], queue, loop, queue, None))  # type: ignore[arg-type]
        return queue

    async def connect_accepted_socket(
        self,
        loop: asyncio.AbstractEventLoop,
        protocol_factory: Callable[[], asyncio.BaseProtocol],
        sock: Any,
        **kwargs: Any,
    ) -> tuple[VirtualTransport, asyncio.BaseProtocol]:
        """``loop.connect_accepted_socket`` for a socket :meth:`sock_accept` returned."""
        transport = getattr(sock, "_transport", None)
        if not isinstance(sock, VirtualSocket) or transport is None or transport._protocol:
            raise _unsupported(
                f"loop.connect_accepted_socket({sock!r})",
                "pass a socket returned by loop.sock_accept on the virtual network, or serve "
                "with loop.create_server(...)",
            )
        if kwargs.get("ssl"):
            raise _unsupported(
                "loop.connect_accepted_socket(ssl=...)", "wrap the stream in TLS yourself"
            )
        protocol = protocol_factory()
        transport.start(protocol)
        transport.resume_reading()  # (what arrived meanwhile waited in its backlog)
        return transport, protocol
