"""Real socket transports that say when a reply is outstanding.

With ``allow_real_io=True`` the virtual loop makes its socket transports from
these subclasses of asyncio's own. Each notes when it has sent data and not
received anything since (:attr:`awaiting_reply`): a request is in flight to a
real peer, so the loop must not let virtual time outrun real time until the
answer comes (see :mod:`asyncsim.core.boundary`). TLS rides on the same socket
transport, so handshakes and shutdowns are covered too. They behave as asyncio's
in every other way.
"""

from __future__ import annotations

import sys
from asyncio import selector_events, sslproto
from typing import Any

__all__ = [
    "PacedDatagramTransport",
    "PacedSocketTransport",
    "make_datagram_transport",
    "make_socket_transport",
    "make_ssl_transport",
]

_Base: Any = selector_events._SelectorSocketTransport  # type: ignore[attr-defined]
_DatagramBase: Any = selector_events._SelectorDatagramTransport  # type: ignore[attr-defined]
#: asyncio checks that no transport owns a socket in its factories from 3.12 on.
_CHECKS_FD = sys.version_info >= (3, 12)


class PacedSocketTransport(_Base):
    """asyncio's selector socket transport, noting whether a reply is outstanding."""

    #: True from a write until the next read event.
    awaiting_reply = False

    def write(self, data: Any) -> None:
        if data:
            self.awaiting_reply = True
        super().write(data)

    def writelines(self, list_of_data: Any) -> None:
        if list_of_data:
            self.awaiting_reply = True
        super().writelines(list_of_data)

    def _read_ready(self) -> None:
        self.awaiting_reply = False
        super()._read_ready()


class PacedDatagramTransport(_DatagramBase):
    """asyncio's selector datagram transport, noting whether a reply is outstanding."""

    awaiting_reply = False

    def sendto(self, data: Any, addr: Any = None) -> None:
        self.awaiting_reply = True
        super().sendto(data, addr)

    def _read_ready(self) -> None:
        self.awaiting_reply = False
        super()._read_ready()


def make_socket_transport(
    loop: Any,
    sock: Any,
    protocol: Any,
    waiter: Any = None,
    *,
    extra: Any = None,
    server: Any = None,
) -> Any:
    """What ``BaseSelectorEventLoop._make_socket_transport`` does, with a paced transport."""
    if _CHECKS_FD:
        loop._ensure_fd_no_transport(sock)
    return PacedSocketTransport(loop, sock, protocol, waiter, extra, server)


def make_ssl_transport(
    loop: Any,
    rawsock: Any,
    protocol: Any,
    sslcontext: Any,
    waiter: Any = None,
    *,
    server_side: bool = False,
    server_hostname: Any = None,
    extra: Any = None,
    server: Any = None,
    **timeouts: Any,
) -> Any:
    """What ``BaseSelectorEventLoop._make_ssl_transport`` does, over a paced transport."""
    if _CHECKS_FD:
        loop._ensure_fd_no_transport(rawsock)
    ssl_protocol = sslproto.SSLProtocol(
        loop, protocol, sslcontext, waiter, server_side, server_hostname, **timeouts
    )
    PacedSocketTransport(loop, rawsock, ssl_protocol, extra=extra, server=server)
    return ssl_protocol._app_transport


def make_datagram_transport(
    loop: Any, sock: Any, protocol: Any, address: Any = None, waiter: Any = None, extra: Any = None
) -> Any:
    """What ``BaseSelectorEventLoop._make_datagram_transport`` does, with a paced transport."""
    if _CHECKS_FD:
        loop._ensure_fd_no_transport(sock)
    return PacedDatagramTransport(loop, sock, protocol, address, waiter, extra)
