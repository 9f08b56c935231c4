"""Names on the virtual network: host names, addresses and ports, and its DNS.

:class:`Names` resolves what programs pass to the event loop (a host name, an IPv4
address, ``None``/``""``/``"0.0.0.0"`` for any address, a port number or service
name) to the hosts of the :class:`~asyncsim.models.network._topology.Fabric`, and
answers ``loop.getaddrinfo``/``loop.getnameinfo``; a lookup takes ``dns_time``.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import Any

from asyncsim._validate import refuse
from asyncsim.clock import to_ticks

from ._topology import LOCALHOST, Fabric, Host, _is_ip
from ._values import draw, scaled, sleep_until

__all__ = ["ANY_ADDRESSES", "Names"]

#: What ``host`` means "any address of this machine" as (binding a server there).
ANY_ADDRESSES = {None, "", "0.0.0.0", "::"}
_LOOPBACK_ADDRESSES = {"127.0.0.1", "::1"}


class Names(Fabric):
    """The hosts of the fabric by name, address and port: the network's DNS."""

    def _resolve(self, host: Any, *, passive: bool = False) -> list[Host]:
        if isinstance(host, bytes):
            host = host.decode("idna")
        if host in ANY_ADDRESSES or host in _LOOPBACK_ADDRESSES:
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
            refuse("port", "an int, str or None", port)
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
        lookup = host not in ANY_ADDRESSES and not (isinstance(host, str) and _is_ip(host))
        if lookup and self.dns_time:
            await sleep_until(
                loop,
                to_ticks(loop.time())
                + scaled("network:dns", "DNS lookups", draw("dns_time", self.dns_time, self.rng)),
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
