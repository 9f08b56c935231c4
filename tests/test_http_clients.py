"""httpx and anyio on the virtual network: their sockets, keep-alive, exact timeouts, TLS."""

import asyncio
import socket
import ssl

import anyio
import anyio.abc
import httpx
import pytest
import trustme
from aiohttp import web
from anyio.streams.tls import TLSListener

import asyncsim
from asyncsim.models.network import Network, VirtualSocket


@pytest.fixture(scope="module")
def tls():
    """(server context, client context) for api.internal, from a throwaway CA."""
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("api.internal").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return server, client


async def serve_app(port, *, ssl_context=None, delay=0.1):
    """An aiohttp.web app on api.internal:port whose handler takes ``delay`` virtual seconds."""

    async def hello(request):
        await asyncio.sleep(delay)
        return web.json_response({"hello": request.match_info["name"], "tls": request.secure})

    app = web.Application()
    app.router.add_get("/hello/{name}", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "api.internal", port, ssl_context=ssl_context).start()
    return runner


def api_network():
    net = Network(latency=0.01)
    net.add_host("api.internal")
    return net


def test_httpx_reuses_one_keep_alive_connection_for_ten_requests():
    net = api_network()

    async def main():
        runner = await serve_app(8080)
        loop = asyncio.get_running_loop()
        times = []
        try:
            async with httpx.AsyncClient() as client:
                for i in range(10):
                    response = await client.get(f"http://api.internal:8080/hello/{i}")
                    assert response.json() == {"hello": str(i), "tls": False}
                    times.append(loop.time())
        finally:
            await runner.cleanup()
        return times

    run = asyncsim.simulate(main(), network=net, trace=True)
    assert run.exception is None
    # connect 0.02, then each request 0.01 + handler 0.1 + response 0.01: no reconnects
    assert run.result == [round(0.02 + 0.12 * (i + 1), 9) for i in range(10)]
    lane = [i for i in run.trace.intervals if i.lane == "api.internal:8080 connections"]
    assert len(lane) == 1  # one connection carried all ten requests
    assert (lane[0].start_ns, lane[0].end_ns) == (20_000_000, 1_220_000_000)


def test_httpx_timeouts_fire_at_exactly_the_modeled_time():
    net = api_network()

    async def main():
        runner = await serve_app(8080, delay=5)
        loop = asyncio.get_running_loop()
        try:
            async with httpx.AsyncClient() as client:
                with pytest.raises(httpx.ReadTimeout):
                    await client.get("http://api.internal:8080/hello/slow", timeout=0.25)
                read_timeout = loop.time()
            net.partition("localhost", "api.internal")
            async with httpx.AsyncClient() as client:
                with pytest.raises(httpx.ConnectTimeout):
                    await client.get("http://api.internal:8080/hello/x", timeout=1.5)
            return read_timeout, loop.time() - read_timeout
        finally:
            await runner.cleanup()

    # connect 0.02 then 0.25 of waiting; a partitioned connect gives up after 1.5
    assert asyncsim.run(main(), network=net) == (0.27, 1.5)


def test_httpx_speaks_real_tls_to_an_aiohttp_server_over_the_virtual_network(tls):
    server_ctx, client_ctx = tls
    net = api_network()

    async def main():
        runner = await serve_app(8443, ssl_context=server_ctx, delay=0)
        loop = asyncio.get_running_loop()
        try:
            async with httpx.AsyncClient(verify=client_ctx) as client:
                first = await client.get("https://api.internal:8443/hello/ada")
                at_first = loop.time()
                second = await client.get("https://api.internal:8443/hello/bob")
                return first.json(), at_first, second.json(), loop.time()
        finally:
            await runner.cleanup()

    first, at_first, second, at_second = asyncsim.run(main(), network=net)
    assert first == {"hello": "ada", "tls": True} and second["tls"] is True
    assert at_first == 0.06  # TCP 0.02 + a TLS 1.3 handshake 0.02 + the request 0.02
    assert at_second == 0.08  # the same TLS connection, kept alive


def test_the_transport_socket_is_a_socket_like_object_with_names_and_options():
    net = api_network()

    async def main():
        async def handle(reader, writer):
            writer.close()

        await asyncio.start_server(handle, "api.internal", 7000)
        reader, writer = await asyncio.open_connection("api.internal", 7000)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        idle = sock.fileno() >= 0
        facts = (
            isinstance(sock, VirtualSocket),
            sock.family,
            sock.getsockname() == writer.get_extra_info("sockname"),
            sock.getpeername(),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
        )
        await reader.read()  # the server closed: the socket reads as readable (-1)
        writer.close()
        return facts, idle, sock.fileno()

    facts, idle, closed = asyncsim.run(main(), network=net)
    assert facts == (True, socket.AF_INET, True, (net.host("api.internal").ip, 7000), 1)
    assert idle and closed == -1


def test_anyio_connect_tcp_and_create_tcp_listener_run_on_the_virtual_network():
    net = Network(latency=0.05)

    async def main():
        loop = asyncio.get_running_loop()

        async def upper(stream):
            async with stream:
                await stream.send((await stream.receive()).upper())

        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with anyio.create_task_group() as group:
            group.start_soon(listener.serve, upper)
            async with await anyio.connect_tcp("127.0.0.1", port) as stream:
                await stream.send(b"hello")
                reply = await stream.receive()
                remote = stream.extra(anyio.abc.SocketAttribute.remote_port)
            group.cancel_scope.cancel()
        return reply, remote == port, loop.time()

    assert asyncsim.run(main(), network=net) == (b"HELLO", True, 0.0)  # one host: no latency


def test_anyio_tls_streams_run_between_two_hosts_at_the_modeled_latency(tls):
    server_ctx, client_ctx = tls
    net = Network(latency=0.05)
    net.add_host("api.internal")

    async def main():
        async def echo(stream):
            async with stream:
                await stream.send(await stream.receive())

        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        secure = TLSListener(listener, server_ctx, standard_compatible=False)
        async with anyio.create_task_group() as group:
            group.start_soon(secure.serve, echo)
            async with await anyio.connect_tcp(
                "127.0.0.1",
                port,
                local_host="api.internal",
                ssl_context=client_ctx,
                tls_hostname="api.internal",
                tls_standard_compatible=False,
            ) as stream:
                await stream.send(b"over tls")
                reply = await stream.receive()
            group.cancel_scope.cancel()
        return reply, asyncio.get_running_loop().time()

    reply, when = asyncsim.run(main(), network=net)
    # TCP connect 0.1 + TLS 1.3 handshake 0.1 + one echo 0.1
    assert (reply, when) == (b"over tls", 0.3)
