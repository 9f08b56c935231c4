"""Every loop method that touches a real file descriptor is refused without allow_real_io."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

import pytest

import asyncsim
from asyncsim.models.network import Network


def _socketpair() -> tuple[socket.socket, socket.socket]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    return a, b


#: (name, call) for every loop method that would use a real socket, pipe or process.
CALLS: list[tuple[str, Callable[[asyncio.AbstractEventLoop, socket.socket], Any]]] = [
    ("loop.sock_recv(", lambda loop, s: loop.sock_recv(s, 1)),
    ("loop.sock_recv_into(", lambda loop, s: loop.sock_recv_into(s, bytearray(1))),
    ("loop.sock_recvfrom(", lambda loop, s: loop.sock_recvfrom(s, 1)),
    ("loop.sock_recvfrom_into(", lambda loop, s: loop.sock_recvfrom_into(s, bytearray(1))),
    ("loop.sock_sendall(", lambda loop, s: loop.sock_sendall(s, b"x")),
    ("loop.sock_sendto(", lambda loop, s: loop.sock_sendto(s, b"x", ("127.0.0.1", 9))),
    ("loop.sock_connect(address=", lambda loop, s: loop.sock_connect(s, ("127.0.0.1", 9))),
    ("loop.sock_accept(", lambda loop, s: loop.sock_accept(s)),
    ("loop.sock_sendfile(", lambda loop, s: loop.sock_sendfile(s, io.BytesIO(b"x"))),
    ("loop.connect_read_pipe(", lambda loop, s: loop.connect_read_pipe(asyncio.Protocol, s)),
    ("loop.connect_write_pipe(", lambda loop, s: loop.connect_write_pipe(asyncio.Protocol, s)),
    ("loop.subprocess_exec(", lambda loop, s: loop.subprocess_exec(asyncio.Protocol, "true")),
    ("loop.subprocess_shell(", lambda loop, s: loop.subprocess_shell(asyncio.Protocol, "true")),
    ("loop.create_connection(", lambda loop, s: loop.create_connection(asyncio.Protocol, sock=s)),
    ("loop.create_server(", lambda loop, s: loop.create_server(asyncio.Protocol, "127.0.0.1", 0)),
    (
        "loop.create_datagram_endpoint(",
        lambda loop, s: loop.create_datagram_endpoint(asyncio.DatagramProtocol, sock=s),
    ),
    (
        "loop.create_unix_connection(",
        lambda loop, s: loop.create_unix_connection(asyncio.Protocol, "/x"),
    ),
    ("loop.create_unix_server(", lambda loop, s: loop.create_unix_server(asyncio.Protocol, "/x")),
    (
        "loop.connect_accepted_socket(",
        lambda loop, s: loop.connect_accepted_socket(asyncio.Protocol, s),
    ),
    ("loop.getaddrinfo(", lambda loop, s: loop.getaddrinfo("localhost", 80)),
    ("loop.getnameinfo(", lambda loop, s: loop.getnameinfo(("127.0.0.1", 80))),
    ("loop.add_reader(", lambda loop, s: loop.add_reader(s.fileno(), print)),
    ("loop.add_writer(", lambda loop, s: loop.add_writer(s.fileno(), print)),
]


@pytest.mark.parametrize(("name", "call"), CALLS, ids=[c[0] for c in CALLS])
def test_every_loop_call_that_touches_a_real_descriptor_is_refused_naming_it(
    name: str, call: Callable[[asyncio.AbstractEventLoop, socket.socket], Any]
) -> None:
    a, b = _socketpair()

    async def main() -> None:
        result = call(asyncio.get_running_loop(), a)
        if asyncio.iscoroutine(result):
            await result

    try:
        with pytest.raises(asyncsim.RealIOError) as info:
            asyncsim.run(main(), until=10, max_steps=1000)
        assert name in str(info.value)
        assert "allow_real_io=True" in str(info.value)
    finally:
        a.close()
        b.close()


SOCKET_CALLS = [c for c in CALLS if c[0].startswith("loop.sock_") and "connect" not in c[0]]


@pytest.mark.parametrize(("name", "call"), SOCKET_CALLS, ids=[c[0] for c in SOCKET_CALLS])
def test_socket_calls_the_network_model_does_not_take_are_refused_on_a_real_socket(
    name: str, call: Callable[[asyncio.AbstractEventLoop, socket.socket], Any]
) -> None:
    a, b = _socketpair()

    async def main() -> None:
        await call(asyncio.get_running_loop(), a)

    try:
        # The model takes sock_recv/sock_sendall/sock_accept itself (and explains them);
        # the others must not reach the real socket either.
        with pytest.raises((asyncsim.RealIOError, NotImplementedError)) as info:
            asyncsim.run(main(), network=Network(latency=0.01), until=10)
        assert name.removesuffix("(") in str(info.value)
        with pytest.raises(BlockingIOError):
            b.recv(1)  # nothing was sent for real
    finally:
        a.close()
        b.close()


def test_sock_recv_without_allow_real_io_is_refused_instead_of_hanging() -> None:
    # Issue 12: this used to wait forever, even with until= and max_steps=.
    a, b = _socketpair()

    async def main() -> bytes:
        return await asyncio.get_running_loop().sock_recv(a, 1)

    try:
        with pytest.raises(asyncsim.RealIOError, match=r"loop\.sock_recv\(<socket fd=\d+>, 1\)"):
            asyncsim.run(main(), until=10, max_steps=1000)
    finally:
        a.close()
        b.close()


def test_sock_sendall_without_allow_real_io_sends_nothing() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    client.setblocking(False)
    peer.setblocking(False)

    async def main() -> None:
        await asyncio.get_running_loop().sock_sendall(client, b"secret")

    try:
        with pytest.raises(asyncsim.RealIOError, match=r"loop\.sock_sendall"):
            asyncsim.run(main())
        with pytest.raises(BlockingIOError):
            peer.recv(16)
    finally:
        for s in (client, peer, server):
            s.close()


@pytest.mark.skipif(sys.platform == "win32", reason="pipes")
def test_with_allow_real_io_the_same_calls_work() -> None:
    a, b = _socketpair()
    r, w = os.pipe()

    async def main() -> tuple[bytes, int]:
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(a, b"ping")
        data = await loop.sock_recv(b, 4)
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
        return data, await proc.wait()

    try:
        assert asyncsim.run(main(), allow_real_io=True) == (b"ping", 0)
    finally:
        for s in (a, b):
            s.close()
        os.close(r)
        os.close(w)
