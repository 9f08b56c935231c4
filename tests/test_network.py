"""The virtual network: connections, streams, DNS, timing and errors, in exact virtual time."""

import asyncio
import socket

import pytest

import asyncsim
from asyncsim.models.distributions import Exponential, Uniform
from asyncsim.models.network import Network


class Sampler:
    """A latency model drawing from a fixed list (a stand-in for a distribution)."""

    def __init__(self, *values):
        self.values = list(values)

    def sample(self, rng):
        return self.values.pop(0)


async def echo(reader, writer):
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()


def test_a_stream_client_connects_to_a_server_on_another_host_after_one_round_trip():
    net = Network(latency=0.05)
    net.add_host("db")

    async def main():
        loop = asyncio.get_running_loop()
        server = await asyncio.start_server(echo, "db", 5432)
        _, writer = await asyncio.open_connection("db", 5432)
        connected = loop.time()
        peer = writer.get_extra_info("peername")
        writer.close()
        server.close()
        return connected, peer

    assert asyncsim.run(main(), network=net) == (0.1, (net.host("db").ip, 5432))


def test_echo_returns_the_bytes_after_one_more_round_trip():
    net = Network(latency=0.05)
    net.add_host("echo.internal")

    async def main():
        loop = asyncio.get_running_loop()
        server = await asyncio.start_server(echo, "echo.internal", 7)
        reader, writer = await asyncio.open_connection("echo.internal", 7)
        writer.write(b"hello")
        data = await reader.readexactly(5)
        answered = loop.time()
        writer.write_eof()
        rest = await reader.read()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return data, answered, rest

    assert asyncsim.run(main(), network=net) == (b"hello", 0.2, b"")


def test_connecting_where_nothing_listens_is_refused_after_a_round_trip():
    net = Network(latency=0.01)
    net.add_host("db")

    async def main():
        loop = asyncio.get_running_loop()
        try:
            await asyncio.open_connection("db", 5432)
        except ConnectionRefusedError as exc:
            return loop.time(), str(exc)

    when, message = asyncsim.run(main(), network=net)
    assert when == 0.02
    assert "Connect call failed" in message and "nothing listens on db:5432" in message


def test_an_unknown_host_name_raises_gaierror_naming_it_and_the_fix():
    net = Network()

    async def main():
        await asyncio.open_connection("nowhere.example", 80)

    with pytest.raises(socket.gaierror) as info:
        asyncsim.run(main(), network=net)
    assert "'nowhere.example' is not a host of the virtual network" in str(info.value)
    assert "network.add_host('nowhere.example')" in str(info.value)


def test_an_unknown_ip_address_is_unreachable():
    async def main():
        await asyncio.open_connection("192.0.2.1", 80)

    with pytest.raises(OSError, match=r"no host of the virtual network has address '192\.0\.2\.1'"):
        asyncsim.run(main(), network=Network())


def test_getaddrinfo_returns_the_hosts_fake_address():
    net = Network()
    api = net.add_host("api.internal", ip="10.9.8.7")

    async def main():
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo("API.internal.", "https")
        name = await loop.getnameinfo(("10.9.8.7", 443))
        return infos, name

    infos, name = asyncsim.run(main(), network=net)
    assert infos == [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (api.ip, 443))]
    assert name == ("api.internal", "443")


def test_name_lookups_take_dns_time():
    net = Network(dns_time=0.03)
    net.add_host("db")

    async def main():
        loop = asyncio.get_running_loop()
        await loop.getaddrinfo("db", 1)
        return loop.time()

    assert asyncsim.run(main(), network=net) == 0.03


def test_a_bandwidth_limited_transfer_takes_size_over_bandwidth_plus_latency_exactly():
    net = Network(latency=0.05, bandwidth=1_000_000)  # bytes per second
    net.add_host("files")
    received = []

    async def sink(reader, writer):
        data = await reader.readexactly(2_500_000)
        received.append((len(data), asyncio.get_running_loop().time()))
        writer.close()

    async def main():
        loop = asyncio.get_running_loop()
        await asyncio.start_server(sink, "files", 21)
        _, writer = await asyncio.open_connection("files", 21)
        sent = loop.time()
        writer.write(b"x" * 2_500_000)
        await asyncio.sleep(5)
        writer.close()
        return sent

    sent = asyncsim.run(main(), network=net)
    assert sent == 0.1
    assert received == [(2_500_000, 2.65)]  # 0.1 + 2.5 + 0.05


def test_back_to_back_writes_queue_on_the_link():
    net = Network(bandwidth=1000)
    net.add_host("files")
    arrivals = []

    class Recorder(asyncio.Protocol):
        def data_received(self, data):
            arrivals.append((len(data), asyncio.get_running_loop().time()))

    async def main():
        loop = asyncio.get_running_loop()
        await loop.create_server(Recorder, "files", 9)
        transport, _ = await loop.create_connection(asyncio.Protocol, "files", 9)
        transport.write(b"a" * 500)
        transport.write(b"b" * 250)
        await asyncio.sleep(1)
        transport.close()

    asyncsim.run(main(), network=net)
    assert arrivals == [(500, 0.5), (250, 0.75)]


def test_a_lost_packet_arrives_one_retransmit_delay_later_and_order_is_kept():
    net = Network(latency=0.01, loss=0.5, retransmit_delay=0.2)
    net.add_host("lossy")
    arrivals = []

    class Recorder(asyncio.Protocol):
        def data_received(self, data):
            arrivals.append((data, asyncio.get_running_loop().time()))

    async def main():
        loop = asyncio.get_running_loop()
        await loop.create_server(Recorder, "lossy", 9)
        transport, _ = await loop.create_connection(asyncio.Protocol, "lossy", 9)
        start = loop.time()
        for i in range(20):
            transport.write(bytes([i]))
        await asyncio.sleep(30)
        transport.close()
        return start

    start = asyncsim.run(main(), network=net, seed=7)
    assert [data for data, _ in arrivals] == [bytes([i]) for i in range(20)]
    delays = [round(t - start - 0.01, 9) for _, t in arrivals]
    retransmits = [round(d / 0.2, 9) for d in delays]
    assert all(r == int(r) for r in retransmits)  # whole numbers of retransmit delays
    assert max(retransmits) >= 1  # with loss=0.5 and 20 packets, some were lost
    assert delays == sorted(delays)  # TCP delivers in order: a late packet holds back the rest
    first = list(arrivals)
    arrivals.clear()
    asyncsim.run(main(), network=net, seed=7)
    assert arrivals == first  # same seed, same losses


def test_latency_can_be_a_distribution():
    net = Network(latency=Sampler(0.1, 0.2, 0.05, 0.3))
    net.add_host("db")

    async def main():
        loop = asyncio.get_running_loop()
        await loop.create_server(asyncio.Protocol, "db", 1)
        await loop.create_connection(asyncio.Protocol, "db", 1)
        return loop.time()

    assert asyncsim.run(main(), network=net) == pytest.approx(0.3, abs=0)  # SYN 0.1 + SYN-ACK 0.2


def test_a_connection_within_one_host_takes_no_time():
    net = Network(latency=1.0)

    async def main():
        loop = asyncio.get_running_loop()
        server = await asyncio.start_server(echo, "localhost", 8080)
        reader, writer = await asyncio.open_connection("127.0.0.1", 8080)
        writer.write(b"x")
        await reader.readexactly(1)
        writer.close()
        server.close()
        return loop.time()

    assert asyncsim.run(main(), network=net) == 0.0


def test_a_link_overrides_the_default_latency_for_one_pair():
    net = Network(latency=0.5)
    net.add_host("near")
    net.add_host("far")
    net.link("localhost", "near", latency=0.001)

    async def main():
        loop = asyncio.get_running_loop()
        times = {}
        for name in ("near", "far"):
            await loop.create_server(asyncio.Protocol, name, 1)
            start = loop.time()
            await loop.create_connection(asyncio.Protocol, name, 1)
            times[name] = round(loop.time() - start, 9)
        return times

    assert asyncsim.run(main(), network=net) == {"near": 0.002, "far": 1.0}


def test_a_partition_during_a_request_holds_the_reply_until_it_heals():
    net = Network(latency=0.01)
    net.add_host("api")
    net.partition("localhost", "api", at=0.5, until=3.0)

    async def slow_echo(reader, writer):
        data = await reader.readexactly(4)
        await asyncio.sleep(1)
        writer.write(data)
        await writer.drain()

    async def main():
        loop = asyncio.get_running_loop()
        await asyncio.start_server(slow_echo, "api", 80)
        reader, writer = await asyncio.open_connection("api", 80)
        writer.write(b"ping")
        try:
            await asyncio.wait_for(reader.readexactly(4), timeout=1.5)
        except TimeoutError:
            timed_out = loop.time()
        data = await reader.readexactly(4)
        return timed_out, data, loop.time()

    # request arrives at 0.03, reply sent at 1.03 inside the partition, resent at 3.0
    assert asyncsim.run(main(), network=net) == (1.52, b"ping", 3.01)


def test_connecting_across_a_partition_times_out_with_the_connect_timeout():
    net = Network(connect_timeout=10)
    net.add_host("api")
    net.partition("localhost", ["api"])

    async def main():
        loop = asyncio.get_running_loop()
        await loop.create_server(asyncio.Protocol, "api", 80)
        try:
            await loop.create_connection(asyncio.Protocol, "api", 80)
        except TimeoutError as exc:
            return loop.time(), str(exc)

    when, message = asyncsim.run(main(), network=net)
    assert when == 10.0 and "no answer from api" in message


def test_a_host_going_down_resets_its_connections_on_both_ends():
    net = Network(latency=0.01)
    net.add_host("db")
    net.host_down("db", at=2.0, until=4.0)
    lost = []

    class Server(asyncio.Protocol):
        def connection_lost(self, exc):
            lost.append(("server", type(exc).__name__, asyncio.get_running_loop().time()))

    async def main():
        loop = asyncio.get_running_loop()
        await loop.create_server(Server, "db", 5432)
        reader, _ = await asyncio.open_connection("db", 5432)
        try:
            await reader.read()
        except ConnectionResetError:
            lost.append(("client", "ConnectionResetError", loop.time()))
        try:
            await asyncio.wait_for(asyncio.open_connection("db", 5432), timeout=1)
        except TimeoutError:
            lost.append(("reconnect timed out", None, loop.time()))
        await asyncio.sleep(1)
        await asyncio.open_connection("db", 5432)
        return loop.time()

    assert asyncsim.run(main(), network=net) == 4.02
    assert lost == [
        ("server", "ConnectionResetError", 2.0),
        ("client", "ConnectionResetError", 2.0),
        ("reconnect timed out", None, 3.0),
    ]


def test_a_scheduled_reset_surfaces_as_connection_reset_error_in_the_reader():
    net = Network()
    net.add_host("api")
    net.reset("api", at=1.5)

    async def main():
        loop = asyncio.get_running_loop()
        await asyncio.start_server(echo, "api", 80)
        reader, _ = await asyncio.open_connection("api", 80)
        with pytest.raises(ConnectionResetError, match="Connection reset by peer"):
            await reader.read(10)
        return loop.time()

    assert asyncsim.run(main(), network=net) == 1.5


def test_a_port_in_use_cannot_be_bound_twice():
    net = Network()

    async def main():
        await asyncio.start_server(echo, None, 8080)
        await asyncio.start_server(echo, None, 8080)

    with pytest.raises(OSError, match="address already in use"):
        asyncsim.run(main(), network=net)


def test_port_zero_picks_a_free_port_reported_by_the_server_sockets():
    net = Network()

    async def main():
        server = await asyncio.start_server(echo, "localhost", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("localhost", port)
        writer.write(b"hi")
        data = await reader.readexactly(2)
        writer.close()
        return port, data

    port, data = asyncsim.run(main(), network=net)
    assert port >= 49152 and data == b"hi"


def test_a_closed_server_refuses_new_connections():
    net = Network()

    async def main():
        server = await asyncio.start_server(echo, "localhost", 80)
        server.close()
        await server.wait_closed()
        await asyncio.open_connection("localhost", 80)

    with pytest.raises(ConnectionRefusedError):
        asyncsim.run(main(), network=net)


def test_serve_forever_ends_when_cancelled():
    net = Network()

    async def main():
        server = await asyncio.start_server(echo, "localhost", 80)
        task = asyncio.create_task(server.serve_forever())
        await asyncio.sleep(1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return server.is_serving()

    assert asyncsim.run(main(), network=net) is False


def test_tls_adds_one_round_trip_and_the_handshake_time():
    net = Network(latency=0.01, tls_time=0.005)
    net.add_host("secure")

    async def main():
        loop = asyncio.get_running_loop()
        await loop.create_server(asyncio.Protocol, "secure", 443)
        transport, _ = await loop.create_connection(asyncio.Protocol, "secure", 443, ssl=True)
        return loop.time(), transport.get_extra_info("server_hostname")

    assert asyncsim.run(main(), network=net) == (0.045, "secure")


def test_without_a_network_real_io_is_still_refused():
    async def main():
        await asyncio.open_connection("example.com", 80)

    with pytest.raises(asyncsim.RealIOError):
        asyncsim.run(main())


def test_the_same_seed_gives_the_same_latency_draws_and_a_new_simulation_restarts_them():
    net = Network(latency=Uniform(0.0, 1.0))
    net.add_host("db")

    async def main():
        loop = asyncio.get_running_loop()
        await loop.create_server(asyncio.Protocol, "db", 1)
        await loop.create_connection(asyncio.Protocol, "db", 1)
        return loop.time()

    first = asyncsim.run(main(), network=net, seed=1)
    assert asyncsim.run(main(), network=net, seed=1) == first
    assert asyncsim.run(main(), network=net, seed=2) != first


def test_a_services_random_response_times_do_not_shift_the_link_latency_draws():
    def connect_time(response_time):
        net = Network(latency=Exponential(0.1))
        net.add_host("db")
        net.http_service("api.example", response_time=response_time)

        async def main():
            loop = asyncio.get_running_loop()
            reader, writer = await asyncio.open_connection("api.example", 80)
            for _ in range(3):
                writer.write(b"GET / HTTP/1.1\r\nHost: api.example\r\n\r\n")
                await reader.readuntil(b"\r\n\r\n")
            await loop.create_server(asyncio.Protocol, "db", 1)
            start = loop.time()
            await loop.create_connection(asyncio.Protocol, "db", 1)
            return loop.time() - start

        return asyncsim.run(main(), network=net, seed=5)

    # the random response times come from the service's own stream, not the links'
    assert connect_time(Uniform(0, 1)) == connect_time(0.5) > 0


def test_the_network_draws_from_named_streams_of_the_simulation():
    net = Network()
    net.http_service("a.example")
    with asyncsim.Simulation(seed=5, network=net) as simulation:
        loop = simulation.new_event_loop()
        assert net.rng is simulation.stream("models.network")
        service_stream = net.stream("models.network.http:a.example")
        assert service_stream is simulation.stream("models.network.http:a.example")
        loop.close()


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"latency": -1}, ValueError, "latency must be a finite number of seconds >= 0, got -1"),
        ({"latency": "fast"}, TypeError, "latency must be a number of virtual seconds"),
        ({"bandwidth": 0}, ValueError, "bandwidth must be a finite number of bytes per second"),
        ({"loss": 1.0}, ValueError, "loss must be a probability in [0, 1)"),
        ({"retransmit_delay": float("nan")}, ValueError, "retransmit_delay must be"),
        ({"connect_timeout": True}, TypeError, "connect_timeout must be"),
    ],
)
def test_invalid_network_parameters_are_named_in_the_error(kwargs, error, words):
    with pytest.raises(error) as info:
        Network(**kwargs)
    assert words in str(info.value)


def test_a_distribution_that_draws_a_negative_latency_is_reported():
    net = Network(latency=Sampler(-0.5))
    net.add_host("db")

    async def main():
        await asyncio.open_connection("db", 1)

    with pytest.raises(ValueError, match=r"latency distribution .* drew -0.5"):
        asyncsim.run(main(), network=net)


def test_faults_on_unknown_hosts_and_bad_windows_are_rejected():
    net = Network()
    net.add_host("db")
    with pytest.raises(ValueError, match="no host 'dbb' in the virtual network"):
        net.partition("localhost", "dbb")
    with pytest.raises(ValueError, match=r"until \(1.0\) must be after at \(2.0\)"):
        net.host_down("db", at=2.0, until=1.0)
    with pytest.raises(ValueError, match="host 'db' already exists"):
        net.add_host("db")
    with pytest.raises(ValueError, match="ip must be an IPv4 address"):
        net.add_host("x", ip="not-an-ip")


def test_sim_run_rejects_something_that_is_not_a_network():
    async def main():
        return None

    with pytest.raises(TypeError, match=r"network must be an asyncsim\.models\.network\.Network"):
        asyncsim.run(main(), network="example.com")


@pytest.mark.parametrize(
    ("call", "hint"),
    [
        (lambda loop: loop.create_datagram_endpoint(asyncio.DatagramProtocol), "over TCP"),
        (lambda loop: loop.create_unix_connection(asyncio.Protocol, "/tmp/x"), "TCP host"),
        (lambda loop: loop.sock_accept(None), "create_server"),
        (lambda loop: loop.sock_recv(None, 10), "open_connection"),
    ],
)
def test_unsupported_socket_operations_say_what_to_use_instead(call, hint):
    async def main():
        await call(asyncio.get_running_loop())

    with pytest.raises(NotImplementedError, match="not supported by the virtual network") as info:
        asyncsim.run(main(), network=Network())
    assert hint in str(info.value)


def test_a_network_is_reusable_across_runs_and_a_finished_runs_ports_are_free_again():
    net = Network(latency=0.01)
    net.add_host("api")

    async def main():
        await asyncio.start_server(echo, "api", 80)  # never closed: the run just ends
        reader, writer = await asyncio.open_connection("api", 80)
        writer.write(b"x")
        await reader.readexactly(1)
        return asyncio.get_running_loop().time(), len(net.connections)

    assert asyncsim.run(main(), network=net) == (0.04, 2)
    assert asyncsim.run(main(), network=net) == (0.04, 2)  # not 4: the old ends are forgotten
