"""HTTP over the virtual network: the real aiohttp client and aiohttp.web, and http_service."""

import asyncio
import time

import aiohttp
import pytest
from aiohttp import web

import asyncsim
from asyncsim.models.distributions import Uniform
from asyncsim.models.network import Network


async def fetch_status(session, url):
    async with session.get(url) as res:
        return res.status


def example_com(**network_options):
    net = Network(**network_options)
    service = net.http_service("example.com", response_time=0.82, body="<h1>Example Domain</h1>")
    return net, service


def test_the_seed_gather_of_ten_fetches_finishes_at_exactly_0_82_virtual_seconds():
    net, service = example_com()

    async def main():
        async with aiohttp.ClientSession() as session:
            urls = ["https://example.com" for _ in range(10)]
            statuses = await asyncio.gather(*[fetch_status(session, url) for url in urls])
            return statuses, time.perf_counter()

    statuses, finished = asyncsim.run(main(), network=net)
    assert statuses == [200] * 10
    assert finished == 0.82
    assert [r.time for r in service.requests] == [0.0] * 10


def test_the_same_ten_fetches_one_after_another_take_8_2_virtual_seconds():
    net, service = example_com()

    async def main():
        async with aiohttp.ClientSession() as session:
            statuses = [await fetch_status(session, "https://example.com") for _ in range(10)]
            return statuses, asyncio.get_running_loop().time()

    statuses, finished = asyncsim.run(main(), network=net)
    assert statuses == [200] * 10
    assert finished == pytest.approx(8.2, abs=1e-9)
    assert [round(r.time, 9) for r in service.requests] == [round(0.82 * i, 9) for i in range(10)]


def test_link_latency_adds_connect_tls_and_request_round_trips():
    net, _ = example_com(latency=0.01)

    async def main():
        loop = asyncio.get_running_loop()
        async with aiohttp.ClientSession() as session:
            await fetch_status(session, "https://example.com")  # TCP + TLS + request
            first = loop.time()
            await fetch_status(session, "https://example.com")  # kept alive: request only
            second = round(loop.time() - first, 9)
            await fetch_status(session, "http://example.com")  # new plain connection
            third = round(loop.time() - first - second, 9)
            return first, second, third

    assert asyncsim.run(main(), network=net) == (0.88, 0.84, 0.86)


def test_http_service_answers_with_its_status_body_and_headers():
    net = Network()
    service = net.http_service(
        "api.example", response_time=0.1, status=404, body=b"missing", headers={"X-Model": "yes"}
    )

    async def main():
        async with aiohttp.ClientSession() as session:
            async with session.post("http://api.example/items?q=1", data=b"payload") as res:
                got = res.status, await res.read(), res.headers["X-Model"]
            async with session.head("http://api.example/") as res:
                head = res.status, await res.read()
            return got, head

    assert asyncsim.run(main(), network=net) == ((404, b"missing", "yes"), (404, b""))
    first = service.requests[0]
    assert (first.method, first.target, first.body) == ("POST", "/items?q=1", b"payload")
    assert service.requests[1].method == "HEAD"


def test_http_service_reads_chunked_bodies_and_honours_connection_close():
    net = Network()
    service = net.http_service("api.example", response_time=0.25)

    async def main():
        reader, writer = await asyncio.open_connection("api.example", 80)
        writer.write(
            b"POST /up HTTP/1.1\r\nHost: api.example\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
        )
        response = await reader.read()  # the server closes after answering
        return response, asyncio.get_running_loop().time()

    response, when = asyncsim.run(main(), network=net)
    assert response.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close" in response
    assert when == 0.25
    assert service.requests[0].body == b"abcde"


def test_a_malformed_request_gets_400():
    net = Network()
    net.http_service("api.example")

    async def main():
        reader, writer = await asyncio.open_connection("api.example", 80)
        writer.write(b"NONSENSE\r\n\r\n")
        return await reader.read()

    assert asyncsim.run(main(), network=net).startswith(b"HTTP/1.1 400 Bad Request")


def test_response_time_can_be_a_distribution_drawn_from_the_seeded_stream():
    net = Network()
    net.http_service("example.com", response_time=Uniform(0.5, 1.5))

    async def main():
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*[fetch_status(session, "http://example.com") for _ in range(5)])
        return asyncio.get_running_loop().time()

    first = asyncsim.run(main(), network=net, seed=3)
    assert 0.5 <= first <= 1.5
    assert asyncsim.run(main(), network=net, seed=3) == first


def test_the_aiohttp_client_gets_from_an_aiohttp_web_app_on_the_virtual_network():
    net = Network(latency=0.01)
    net.add_host("api.internal")

    async def hello(request):
        await asyncio.sleep(0.1)
        return web.json_response({"hello": request.match_info["name"], "from": request.remote})

    async def main():
        app = web.Application()
        app.router.add_get("/hello/{name}", hello)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "api.internal", 8080).start()
        loop = asyncio.get_running_loop()
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get("http://api.internal:8080/hello/ada") as res,
            ):
                body = await res.json()
                return res.status, body, loop.time(), runner.addresses
        finally:
            await runner.cleanup()

    status, body, when, addresses = asyncsim.run(main(), network=net)
    assert (status, body) == (200, {"hello": "ada", "from": "127.0.0.1"})
    assert when == 0.14  # connect 0.02 + request 0.01 + handler 0.1 + response 0.01
    assert addresses == [(net.host("api.internal").ip, 8080)]


def test_aiohttp_web_streams_a_large_body_back_at_the_link_bandwidth():
    net = Network(bandwidth=1_000_000)
    net.add_host("files")

    server_ends = []

    async def download(request):
        server_ends.append(request.transport)
        return web.Response(body=b"z" * 3_000_000)

    async def main():
        app = web.Application()
        app.router.add_get("/big", download)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "files", 80).start()
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get("http://files/big") as res,
            ):
                data = await res.read()
                return len(data), asyncio.get_running_loop().time()
        finally:
            await runner.cleanup()

    size, when = asyncsim.run(main(), network=net)
    assert size == 3_000_000
    (end,) = server_ends
    assert 3_000_000 < end.bytes_sent < 3_000_400  # the body and the response headers
    # the request, then the response, each at 1 MB/s (no latency): exactly bytes / bandwidth
    assert when == (end.bytes_received + end.bytes_sent) / 1_000_000


def test_aiohttp_reports_a_refused_connection_and_an_unknown_host_as_it_does_for_real():
    net = Network()
    net.add_host("api.internal")

    async def main():
        errors = []
        async with aiohttp.ClientSession() as session:
            for url in ("http://api.internal:9999/", "http://nowhere.example/"):
                try:
                    await fetch_status(session, url)
                except aiohttp.ClientConnectorError as exc:
                    errors.append((type(exc).__name__, type(exc.os_error).__name__))
        return errors

    assert asyncsim.run(main(), network=net) == [
        ("ClientConnectorError", "ConnectionRefusedError"),
        ("ClientConnectorDNSError", "gaierror"),
    ]


def test_an_aiohttp_request_caught_in_a_partition_hits_the_client_timeout():
    net, _ = example_com()
    net.partition("localhost", "example.com", at=0.5, until=60)

    async def main():
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            try:
                await fetch_status(session, "https://example.com")
            except TimeoutError:
                return asyncio.get_running_loop().time()

    assert asyncsim.run(main(), network=net) == 2.0


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"status": 42}, ValueError, "status must be an integer from 100 to 599, got 42"),
        ({"response_time": -0.1}, ValueError, "response_time must be a finite number"),
        ({"body": 12}, TypeError, "body must be bytes or str"),
        ({"headers": {"X": 1}}, TypeError, "headers must be a dict of str to str"),
        ({"ports": [0]}, ValueError, "ports[0] must be an integer from 1 to 65535, got 0"),
    ],
)
def test_http_service_rejects_bad_parameters_by_name(kwargs, error, words):
    with pytest.raises(error) as info:
        Network().http_service("example.com", **kwargs)
    assert words in str(info.value)
