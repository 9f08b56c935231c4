"""A loop routes its network calls to a model through the NetworkModel protocol, which the
modeled Network implements; without one, real sockets are refused."""

import asyncio

import pytest

import asyncsim
from asyncsim.core.network import NetworkModel
from asyncsim.models.network import Network


def _answer(name):
    async def call(self, loop, *args, **kwargs):
        return name, args, kwargs

    return call


class Model:
    """The smallest network model: answers every call with its name and arguments."""

    def __init__(self):
        self.loops = []

    def attached(self, loop):
        self.loops.append(loop)

    create_connection = _answer("create_connection")
    create_server = _answer("create_server")
    create_datagram_endpoint = _answer("create_datagram_endpoint")
    create_unix_connection = _answer("create_unix_connection")
    create_unix_server = _answer("create_unix_server")
    connect_accepted_socket = _answer("connect_accepted_socket")
    getaddrinfo = _answer("getaddrinfo")
    getnameinfo = _answer("getnameinfo")
    sock_connect = _answer("sock_connect")
    sock_accept = _answer("sock_accept")
    sock_recv = _answer("sock_recv")
    sock_sendall = _answer("sock_sendall")


class Partial:
    """Has ``attached`` and ``create_connection`` only: not a network model."""

    def attached(self, loop):
        pass

    create_connection = _answer("create_connection")


def test_the_modeled_network_implements_the_protocol_and_other_objects_do_not():
    assert isinstance(Network(latency=0.05), NetworkModel)
    assert isinstance(Model(), NetworkModel)
    assert not isinstance("example.com", NetworkModel)
    assert not isinstance(Partial(), NetworkModel)


def test_every_network_call_of_the_loop_goes_to_the_attached_model():
    model = Model()

    async def main():
        loop = asyncio.get_running_loop()
        loop.attach_network(model)
        assert loop.network is model and model.loops == [loop]
        return [
            (await loop.create_connection(asyncio.Protocol, "h", 1))[0],
            (await loop.getaddrinfo("h", 80, family=2))[2],
            (await loop.getnameinfo(("1.2.3.4", 80)))[1],
            (await loop.sock_recv(None, 10))[1],
        ]

    assert asyncsim.run(main()) == [
        "create_connection",
        {"family": 2},
        (("1.2.3.4", 80), 0),
        (None, 10),
    ]


def test_a_loop_without_a_network_refuses_real_sockets():
    async def main():
        loop = asyncio.get_running_loop()
        assert loop.network is None
        await loop.getaddrinfo("example.com", 80)

    with pytest.raises(asyncsim.RealIOError, match="getaddrinfo"):
        asyncsim.run(main())
