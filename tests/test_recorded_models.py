"""Recorded models in virtual time: the probe, calibration, the model file, and replays.

Everything here runs on the virtual loop, so every time is exact: a program is
recorded against a hand-made virtual network, its model is replayed, and the replay
takes exactly the recorded times.
"""

from __future__ import annotations

import asyncio
import json
import math

import aiohttp
import pytest

import asyncsim
from asyncsim.models.network import Network
from asyncsim.models.recorded import (
    SCHEMA_VERSION,
    EndpointData,
    ModelFile,
    ModelFileError,
    Probe,
    RouteData,
    RouteTemplates,
    StreamData,
    UnknownEndpointError,
    calibrate,
    model_from_file,
    read_model_file,
    route_template,
    traced_sessions,
)
from asyncsim.models.recorded._stats import exchange_stats, request_stats


def shop(latency: float = 0.05) -> Network:
    net = Network(latency=latency)
    net.http_service(
        "api.test",
        response_time=0.3,
        body=b'{"id": 1}',
        headers={"Content-Type": "application/json"},
    )
    return net


async def three_items(host: str = "api.test", port: int = 80) -> float:
    async with aiohttp.ClientSession() as session:
        for number in range(3):
            async with session.get(f"http://{host}:{port}/items/{number}?key=hunter2") as r:
                await r.json()
    return asyncio.get_running_loop().time()


def recorded(program=three_items, network: Network | None = None, **kwargs) -> Probe:
    probe = Probe()

    async def main():
        probe.attach(asyncio.get_running_loop())
        return await program(**kwargs)

    with traced_sessions(probe):
        asyncsim.run(main(), network=network or shop())
    return probe


def one_route(**fields) -> ModelFile:
    route = RouteData(method="GET", route="/items/{id}", count=4, statuses={200: 4}, body="json")
    route.ttfb = [0.25]
    for name, value in fields.items():
        setattr(route, name, value)
    endpoint = EndpointData(
        host="api.test", port=80, protocol="http", connections=1, connect=[0.01], routes=[route]
    )
    return ModelFile(program="t.py", endpoints=[endpoint])


# -- route templates -------------------------------------------------------------------------


def test_route_templates_replace_identifiers_and_drop_the_query_string():
    assert route_template("/items/42?key=hunter2") == "/items/{id}"
    assert route_template("/u/3f2c1a9e-1b2c-4d5e-8f90-123456789abc/x") == "/u/{uuid}/x"
    assert route_template("/blobs/9f86d081884c7d65") == "/blobs/{hex}"
    assert route_template("/keys/sk_live_a1b2c3d4e5f6g7h8") == "/keys/{token}"
    assert route_template("/users/alice") == "/users/alice"
    assert RouteTemplates(["/users/{name}"]).template("/users/alice") == "/users/{name}"


def test_a_bad_route_template_is_refused_naming_it():
    with pytest.raises(ValueError, match=r"routes\[0\] must be a path starting with '/'"):
        RouteTemplates(["users/{name}"])


# -- recording on the virtual loop: exact times -----------------------------------------------


def test_the_probe_records_connect_time_and_time_to_first_byte_per_route():
    probe = recorded()
    model = calibrate(probe.observations, program="three_items.py")
    (endpoint,) = model.endpoints
    assert (endpoint.host, endpoint.port, endpoint.protocol) == ("api.test", 80, "http")
    assert endpoint.connect == [0.1]  # one round trip of 2 x 0.05 s
    (route,) = endpoint.routes
    assert (route.method, route.route, route.count) == ("GET", "/items/{id}", 3)
    assert route.ttfb == [0.4, 0.4, 0.4]  # 0.3 s of service and a 0.1 s round trip
    assert route.statuses == {200: 3}
    assert route.body == "json"
    assert route.response_bytes == [9, 9, 9]


def test_a_model_file_keeps_no_payload_no_header_value_and_no_query_string():
    text = calibrate(recorded().observations).to_json()
    assert "hunter2" not in text and '"id": 1' not in text and "application/json" not in text
    assert "key=" not in text


def test_the_client_view_of_each_request_is_recorded_through_aiohttp_tracing():
    probe = recorded()
    stats = request_stats(probe.observations)["api.test:80 GET /items/{id}"]
    # the first request also waited for its connection: 0.1 s more
    assert stats.latencies == (0.4, 0.4, 0.5)
    assert stats.outcomes == (("200", 3),)


# -- the model file ----------------------------------------------------------------------------


def test_a_model_file_round_trips_through_json(tmp_path):
    model = calibrate(recorded().observations, program="p.py")
    path = tmp_path / "model.json"
    model.write(path)
    again = read_model_file(path)
    assert again.to_json() == model.to_json()
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION
    assert '"ttfb": [0.4, 0.4, 0.4]' in path.read_text()  # one line per list of samples


def test_a_model_file_of_another_schema_version_is_refused_naming_both(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"format": "asyncsim-model", "schema_version": 99}))
    with pytest.raises(ModelFileError, match=r"schema_version 99.*reads schema_version 1 only"):
        asyncsim.models.load(path)


def test_a_corrupt_model_file_is_refused_naming_the_line_and_column(tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(calibrate(recorded().observations).to_json()[:200])
    with pytest.raises(ModelFileError, match=r"is not valid JSON \(line \d+, column \d+"):
        asyncsim.models.load(path)


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    path = tmp_path / "other.json"
    path.write_text("[1, 2]")
    with pytest.raises(ModelFileError, match="is not an asyncsim model file"):
        asyncsim.models.load(path)


def test_a_bad_value_in_a_model_file_is_refused_naming_its_field(tmp_path):
    data = one_route().to_dict()
    data["endpoints"][0]["routes"][0]["ttfb"] = [0.25, -1]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match=r"endpoints\[0\]\.routes\[0\]\.ttfb\[1\] must be"):
        asyncsim.models.load(path)


def test_loading_a_missing_model_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        asyncsim.models.load(tmp_path / "none.json")


# -- replaying ---------------------------------------------------------------------------------


def test_a_replay_takes_the_recorded_connect_time_and_time_to_first_byte():
    model = model_from_file(one_route())
    # connect 0.01 s once, then 0.25 s per request on the kept-alive connection
    assert asyncsim.run(three_items(), model=model) == 0.01 + 3 * 0.25


def test_a_recorded_run_replays_in_exactly_its_recorded_times():
    original = asyncsim.run(three_items(), network=shop())
    model = model_from_file(calibrate(recorded().observations))
    assert asyncsim.run(three_items(), model=model) == original == 1.3  # 0.1 + 3 x 0.4


def test_replaying_a_model_with_the_same_seed_gives_the_same_times():
    file = one_route(ttfb=[0.1, 0.2, 0.3, 0.4])
    runs = [asyncsim.run(three_items(), model=model_from_file(file), seed=7) for _ in range(2)]
    other = asyncsim.run(three_items(), model=model_from_file(file), seed=8)
    assert runs[0] == runs[1] != other


def test_scaling_a_host_multiplies_its_recorded_times():
    model = model_from_file(one_route())
    model.network.scale("api.test", 2.0)
    assert asyncsim.run(three_items(), model=model) == 2 * (0.01 + 3 * 0.25)


def test_a_route_can_be_edited_for_a_what_if():
    model = model_from_file(one_route())
    model.network.endpoint("api.test", 80).route("GET", "/items/{id}").ttfb = 0.05
    assert asyncsim.run(three_items(), model=model) == pytest.approx(0.01 + 3 * 0.05, abs=1e-9)


def test_the_recorded_failure_rate_of_a_route_is_replayed():
    model = model_from_file(one_route(statuses={200: 3, 500: 1}, count=4))

    async def many():
        async with aiohttp.ClientSession() as session:
            statuses = []
            for number in range(400):
                async with session.get(f"http://api.test/items/{number}") as response:
                    statuses.append(response.status)
        return statuses

    statuses = asyncsim.run(many(), model=model, seed=1)
    share = statuses.count(500) / len(statuses)
    # binomial(400, 0.25): standard deviation 0.0217; five of them either side
    assert abs(share - 0.25) < 5 * math.sqrt(0.25 * 0.75 / 400)
    assert set(statuses) == {200, 500}


def test_recorded_connection_faults_are_replayed_as_refused_connections():
    file = one_route()
    file.endpoints[0].connections = 2
    file.endpoints[0].connect_faults = {"refused": 1}
    file.endpoints[0].connect_fault_waits = {"refused": [0.002]}
    model = model_from_file(file)

    async def attempts():
        outcomes = []
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("api.test", 80)
                writer.close()
                outcomes.append("ok")
            except ConnectionRefusedError:
                outcomes.append("refused")
        return outcomes

    outcomes = asyncsim.run(attempts(), model=model, seed=3)
    assert abs(outcomes.count("refused") / 200 - 0.5) < 5 * math.sqrt(0.25 / 200)


def test_an_endpoint_the_model_lacks_is_an_error_naming_it():
    model = model_from_file(one_route())
    with pytest.raises(UnknownEndpointError, match=r"api\.test:8080, which the model does not"):
        asyncsim.run(three_items(port=8080), model=model)
    assert model.network.unknown == ["api.test:8080"]
    with pytest.raises(UnknownEndpointError, match=r"looked up host 'other\.test'"):
        asyncsim.run(three_items(host="other.test"), model=model)


def test_an_endpoint_the_model_lacks_can_be_answered_by_the_pooled_routes():
    model = model_from_file(one_route(), unknown="pooled")
    assert asyncsim.run(three_items(port=8080), model=model) == 3 * 0.25  # no connect time known
    assert model.network.unknown == ["api.test:8080"]


def test_a_stream_endpoint_answers_each_write_after_its_recorded_time():
    stream = StreamData(count=2, ttfb=[0.125], transfer=[0.0], response_bytes=[4])
    endpoint = EndpointData(
        host="10.0.0.9", port=6379, protocol="stream", connections=1, connect=[0.5], stream=stream
    )
    model = model_from_file(ModelFile(endpoints=[endpoint]))

    async def ping_twice():
        reader, writer = await asyncio.open_connection("10.0.0.9", 6379)
        answers = []
        for _ in range(2):
            writer.write(b"PING\r\n")
            answers.append(await reader.readexactly(4))
        writer.close()
        return answers, asyncio.get_running_loop().time()

    assert asyncsim.run(ping_twice(), model=model) == ([b"\0" * 4] * 2, 0.5 + 2 * 0.125)


def test_model_and_network_together_are_refused():
    with pytest.raises(ValueError, match="network is given both as network= and by model="):
        asyncsim.run(three_items(), model=model_from_file(one_route()), network=shop())


def test_the_recorded_cpu_time_of_each_step_is_replayed_with_the_cpu_model():
    file = one_route()
    file.cpu = {"crunch": [0.125]}

    async def crunch():
        for _ in range(3):
            await asyncio.sleep(0)

    assert asyncsim.simulate(crunch(), model=model_from_file(file)).elapsed == 4 * 0.125
    assert asyncsim.simulate(crunch(), model=model_from_file(file, cpu=False)).elapsed == 0


def parse(text: str) -> int:
    if not text:
        raise ValueError("nothing to parse")
    return len(text)


def test_each_thread_job_of_a_recorded_function_takes_its_recorded_duration():
    file = one_route()
    file.thread_jobs = {"parse": [0.25]}
    model = model_from_file(file)

    async def main():
        loop = asyncio.get_running_loop()
        size = await loop.run_in_executor(None, parse, "abc")
        sizes = await asyncio.gather(asyncio.to_thread(parse, "ab"), asyncio.to_thread(parse, "a"))
        with pytest.raises(ValueError, match="nothing to parse"):
            await asyncio.to_thread(parse, "")
        took = loop.time()
        await asyncio.to_thread(len, "other functions take no time")
        return size, sizes, took, loop.time()

    # one job, two at once, one that raises: 3 x 0.25 s; a function not recorded: 0 s
    assert asyncsim.run(main(), model=model) == (3, [2, 1], 0.75, 0.75)
    assert model.cpu is not None
    model.cpu["parse"] = 0.5  # a what-if: a slower parser
    assert asyncsim.run(main(), model=model) == (3, [2, 1], 1.5, 1.5)


def test_a_thread_job_cancelled_by_a_timeout_ends_at_the_timeout():
    file = one_route()
    file.thread_jobs = {"parse": [10.0]}

    async def main():
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.to_thread(parse, "abc"), 2.0)
        return asyncio.get_running_loop().time()

    assert asyncsim.run(main(), model=model_from_file(file)) == 2.0


def test_exchange_statistics_group_latencies_by_route():
    stats = exchange_stats(recorded().observations)
    assert list(stats) == ["api.test:80 GET /items/{id}"]
    assert stats["api.test:80 GET /items/{id}"].latencies == (0.4, 0.4, 0.4)
    assert stats["api.test:80 GET /items/{id}"].p(50) == 0.4


def test_http_written_by_hand_over_streams_is_recorded_by_its_request_line():
    async def by_hand():
        reader, writer = await asyncio.open_connection("api.test", 80)
        for number in (5, 6):
            writer.write(f"GET /items/{number}?k=v HTTP/1.1\r\nHost: api.test\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
        writer.close()

    (endpoint,) = calibrate(recorded(by_hand).observations).endpoints
    (route,) = endpoint.routes
    assert (endpoint.protocol, route.method, route.route) == ("http", "GET", "/items/{id}")
    assert route.ttfb == [0.4, 0.4] and route.statuses == {200: 2}


def test_lookup_connect_and_tls_times_are_recorded_and_replayed_exactly():
    net = Network(latency=0.05, tls_time=0.02, dns_time=0.03)
    net.http_service("api.test", response_time=0.3)

    async def two_over_tls():
        async with aiohttp.ClientSession() as session:
            for number in range(2):
                async with session.get(f"https://api.test/items/{number}") as response:
                    await response.read()
        return asyncio.get_running_loop().time()

    original = asyncsim.run(two_over_tls(), network=net)
    (endpoint,) = calibrate(recorded(two_over_tls, network=net).observations).endpoints
    assert (endpoint.name, endpoint.tls) == ("api.test:443", True)
    assert (endpoint.dns, endpoint.connect, endpoint.tls_handshake) == ([0.03], [0.1], [0.12])
    model = model_from_file(ModelFile(endpoints=[endpoint]))
    # a lookup, a round trip to connect, one more and 0.02 s for TLS, then 2 x 0.4 s
    assert asyncsim.run(two_over_tls(), model=model) == original == 1.05


def test_a_request_the_client_gave_up_on_is_recorded_and_replayed_as_no_answer():
    net = Network(latency=0.05)
    net.http_service("slow.test", response_time=5.0)

    async def impatient():
        timeout = aiohttp.ClientTimeout(total=0.5)
        outcomes = []
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for _ in range(2):
                try:
                    async with session.get("http://slow.test/report") as response:
                        outcomes.append(response.status)
                except TimeoutError:
                    outcomes.append("timeout")
        return outcomes, asyncio.get_running_loop().time()

    original = asyncsim.run(impatient(), network=net)
    assert original == (["timeout", "timeout"], 1.0)
    (endpoint,) = calibrate(recorded(impatient, network=net).observations).endpoints
    (route,) = endpoint.routes
    assert route.faults == {"no answer": 2} and route.ttfb == []
    assert route.fault_waits == {"no answer": [0.4, 0.4]}  # 0.5 s less the 0.1 s to connect
    assert asyncsim.run(impatient(), model=model_from_file(ModelFile(endpoints=[endpoint]))) == (
        ["timeout", "timeout"],
        1.0,
    )


def test_a_route_that_resets_its_connections_replays_the_resets():
    model = model_from_file(one_route(faults={"reset": 4}, fault_waits={"reset": [0.05]}))

    async def attempt():
        async with aiohttp.ClientSession() as session:
            try:
                async with session.get("http://api.test/items/1") as response:
                    return response.status
            except aiohttp.ClientError as exc:
                return type(exc).__name__, asyncio.get_running_loop().time()

    # connect 0.01 s, the server resets the connection 0.05 s after the request; aiohttp
    # tries an idempotent request once more on a new connection, reset the same way
    assert asyncsim.run(attempt(), model=model) == ("ClientOSError", 0.12)  # 2 x (0.01 + 0.05)


def test_model_takes_the_path_of_a_model_file(tmp_path):
    path = tmp_path / "model.json"
    one_route().write(path)
    assert asyncsim.run(three_items(), model=str(path)) == 0.01 + 3 * 0.25
    script = tmp_path / "app.py"
    script.write_text(
        "import asyncio, aiohttp\n"
        "async def main():\n"
        "    async with aiohttp.ClientSession() as session:\n"
        "        async with session.get('http://api.test/items/3') as response:\n"
        "            print(response.status, asyncio.get_running_loop().time())\n"
        "asyncio.run(main())\n"
    )
    outcome = asyncsim.run_script(script, model=path)
    assert (outcome.exit_code, outcome.elapsed) == (0, 0.26)
