"""Network routing: a virtual loop's network calls go to a network model, not to sockets.

:class:`NetworkModel` is the protocol a model implements
(``asyncsim.models.network.Network`` does): ``attached(loop)`` plus one coroutine
per loop call it takes over, awaited as ``network.NAME(loop, *args, **kwargs)``.
:class:`NetworkRouting` is the loop's side: :meth:`~NetworkRouting.attach_network`
and the forwarders. Without a network the calls that would open real sockets are
refused unless the loop allows real I/O (:mod:`asyncsim.core.realio`).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, Protocol, runtime_checkable

from asyncsim.core.realio import RealIOGuard

__all__ = ["NetworkModel", "NetworkRouting"]

_Future = asyncio.Future
_Loop = asyncio.AbstractEventLoop


@runtime_checkable
class NetworkModel(Protocol):
    """What a virtual loop needs of a network model (``asyncsim.models.network.Network``).

    Each coroutine receives the loop first, then the arguments of the loop call
    of the same name.
    """

    def attached(self, loop: _Loop, /) -> None:
        """Called once by ``loop.attach_network(self)``."""

    async def create_connection(self, loop: _Loop, /, *args: Any, **kwargs: Any) -> Any: ...
    async def create_server(self, loop: _Loop, /, *args: Any, **kwargs: Any) -> Any: ...
    async def create_datagram_endpoint(self, loop: _Loop, /, *args: Any, **kwargs: Any) -> Any: ...
    async def create_unix_connection(self, loop: _Loop, /, *args: Any, **kwargs: Any) -> Any: ...
    async def create_unix_server(self, loop: _Loop, /, *args: Any, **kwargs: Any) -> Any: ...
    async def connect_accepted_socket(self, loop: _Loop, /, *args: Any, **kwargs: Any) -> Any: ...
    async def getaddrinfo(self, loop: _Loop, /, *args: Any, **kwargs: Any) -> Any: ...
    async def getnameinfo(
        self, loop: _Loop, sockaddr: Any, flags: int = 0, /
    ) -> tuple[str, str]: ...
    async def sock_connect(self, loop: _Loop, sock: socket.socket, address: Any, /) -> None: ...
    async def sock_accept(self, loop: _Loop, sock: Any, /) -> Any: ...
    async def sock_recv(self, loop: _Loop, sock: Any, nbytes: int, /) -> Any: ...
    async def sock_sendall(self, loop: _Loop, sock: Any, data: Any, /) -> Any: ...


class NetworkRouting(RealIOGuard):
    """The network part of :class:`~asyncsim.core.loop.VirtualEventLoop`."""

    def _init_network(self) -> None:
        self._network: NetworkModel | None = None

    def attach_network(self, network: NetworkModel) -> None:
        """Route this loop's network calls to ``network`` (an ``asyncsim.models.network.Network``).

        From then on ``create_connection``, ``create_server``, ``getaddrinfo``,
        ``getnameinfo``, ``sock_connect``, ``sock_accept``, ``sock_recv``,
        ``sock_sendall``, ``create_datagram_endpoint``, ``create_unix_connection``,
        ``create_unix_server`` and ``connect_accepted_socket`` are awaited as
        ``network.NAME(loop, *args, **kwargs)`` instead of touching real sockets,
        and ``network.attached(loop)`` is called now.
        """
        self._network = network
        network.attached(self)

    @property
    def network(self) -> NetworkModel | None:
        """The network attached with :meth:`attach_network`, or None."""
        return self._network

    async def create_connection(
        self, protocol_factory: Any, host: Any = None, port: Any = None, **kwargs: Any
    ) -> Any:
        if self._network is not None:
            return await self._network.create_connection(
                self, protocol_factory, host, port, **kwargs
            )
        self._refuse_real_io(f"loop.create_connection(host={host!r}, port={port!r})")
        return await super().create_connection(protocol_factory, host, port, **kwargs)

    async def create_server(
        self, protocol_factory: Any, host: Any = None, port: Any = None, **kwargs: Any
    ) -> Any:
        if self._network is not None:
            return await self._network.create_server(self, protocol_factory, host, port, **kwargs)
        self._refuse_real_io(f"loop.create_server(host={host!r}, port={port!r})")
        return await super().create_server(protocol_factory, host, port, **kwargs)

    async def create_datagram_endpoint(
        self, protocol_factory: Any, local_addr: Any = None, remote_addr: Any = None, **kwargs: Any
    ) -> Any:
        if self._network is not None:
            return await self._network.create_datagram_endpoint(
                self, protocol_factory, local_addr, remote_addr, **kwargs
            )
        self._refuse_real_io(
            f"loop.create_datagram_endpoint(local_addr={local_addr!r}, remote_addr={remote_addr!r})"
        )
        return await super().create_datagram_endpoint(
            protocol_factory, local_addr, remote_addr, **kwargs
        )

    async def create_unix_connection(
        self, protocol_factory: Any, path: Any = None, **kwargs: Any
    ) -> Any:
        if self._network is not None:
            return await self._network.create_unix_connection(
                self, protocol_factory, path, **kwargs
            )
        self._refuse_real_io(f"loop.create_unix_connection(path={path!r})")
        return await super().create_unix_connection(protocol_factory, path, **kwargs)

    async def create_unix_server(
        self, protocol_factory: Any, path: Any = None, **kwargs: Any
    ) -> Any:
        if self._network is not None:
            return await self._network.create_unix_server(self, protocol_factory, path, **kwargs)
        self._refuse_real_io(f"loop.create_unix_server(path={path!r})")
        return await super().create_unix_server(protocol_factory, path, **kwargs)

    async def connect_accepted_socket(self, protocol_factory: Any, sock: Any, **kwargs: Any) -> Any:
        if self._network is not None:
            return await self._network.connect_accepted_socket(
                self, protocol_factory, sock, **kwargs
            )
        self._refuse_real_io("loop.connect_accepted_socket()")
        return await super().connect_accepted_socket(protocol_factory, sock, **kwargs)

    async def getaddrinfo(self, host: Any, port: Any, **kwargs: Any) -> Any:
        if self._network is not None:
            return await self._network.getaddrinfo(self, host, port, **kwargs)
        self._refuse_real_io(f"loop.getaddrinfo({host!r}, {port!r})")
        return await super().getaddrinfo(host, port, **kwargs)

    async def getnameinfo(self, sockaddr: Any, flags: int = 0) -> Any:
        if self._network is not None:
            return await self._network.getnameinfo(self, sockaddr, flags)
        self._refuse_real_io(f"loop.getnameinfo({sockaddr!r})")
        return await super().getnameinfo(sockaddr, flags)

    async def sock_connect(self, sock: Any, address: Any) -> None:
        if self._network is not None:
            return await self._network.sock_connect(self, sock, address)
        self._refuse_real_io(f"loop.sock_connect(address={address!r})")
        return await super().sock_connect(sock, address)

    async def sock_accept(self, sock: Any) -> Any:
        if self._network is not None:
            return await self._network.sock_accept(self, sock)
        self._refuse_real_io("loop.sock_accept()")
        return await super().sock_accept(sock)

    async def sock_recv(self, sock: Any, n: int) -> Any:
        if self._network is not None:
            return await self._network.sock_recv(self, sock, n)
        return await super().sock_recv(sock, n)

    async def sock_sendall(self, sock: Any, data: Any) -> None:
        if self._network is not None:
            return await self._network.sock_sendall(self, sock, data)
        return await super().sock_sendall(sock, data)
