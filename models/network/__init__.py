"""A virtual network that asyncio programs (and aiohttp) run over unchanged.

Build a :class:`Network` of hosts, give links latency (a number of virtual
seconds or a distribution), bandwidth and loss, schedule faults, then attach it::

    from asyncsim.models.network import Network
    net = Network(latency=0.01)
    net.http_service("example.com", response_time=0.82)
    asyncsim.run(main(), network=net)          # or: asyncsim run --model net.py app.py

Inside the simulation ``loop.create_connection``, ``loop.create_server``,
``loop.getaddrinfo`` and ``loop.sock_connect`` use the network, so streams,
``aiohttp.ClientSession`` and ``aiohttp.web`` work as over real sockets.
Failures raise what asyncio raises: ``socket.gaierror`` for an unknown name,
``ConnectionRefusedError`` when nothing listens, ``TimeoutError`` when a
partition swallows a connection attempt, ``ConnectionResetError`` on a reset.
"""

from typing import TYPE_CHECKING

from ._faults import Fault
from ._http import HttpRequest, HttpService
from ._network import Network
from ._socket import SocketInfo, VirtualSocket
from ._topology import Host, Link
from ._transport import VirtualServer, VirtualTransport

__all__ = [
    "Fault",
    "Host",
    "HttpRequest",
    "HttpService",
    "Link",
    "Network",
    "SocketInfo",
    "VirtualServer",
    "VirtualSocket",
    "VirtualTransport",
]

if TYPE_CHECKING:
    from asyncsim.core.network import NetworkModel

    def _routable(network: Network) -> NetworkModel:
        return network  # mypy checks that a Network is what VirtualEventLoop routes to
