"""Lanes: what the network and the services did, in the trace, the Gantt chart and the report."""

import asyncio
import json

import aiohttp
import pytest

import asyncsim
from asyncsim.instruments.lanes import LaneRecorder
from asyncsim.models.network import Network
from asyncsim.models.services import Server
from asyncsim.report.chrome import chrome_trace
from asyncsim.report.lanes import lane_summary
from asyncsim.report.page import report
from asyncsim.trace.records import Lane, LaneInterval, LaneSample, Trace

from .trace_event_checker import check_trace_events

S = 1_000_000_000  # ticks per virtual second


def by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def example_network():
    net = Network(latency=0.05)
    net.http_service("example.com", response_time=0.82)
    return net


async def one_request():
    reader, writer = await asyncio.open_connection("example.com", 80)
    writer.write(b"GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n")
    status = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return status


async def five_calls():
    server = Server(capacity=2, service_time=1.0, name="db")
    await asyncio.gather(*(server.call() for _ in range(5)))
    return server.stats


def test_a_request_over_the_network_leaves_a_connection_and_an_http_request_lane():
    trace = asyncsim.simulate(one_request(), network=example_network(), trace=True).trace
    assert trace.lanes == (
        Lane("example.com:80 connections", "connections", None),
        Lane("example.com HTTP requests", "http", None),
    )
    connection, request = trace.intervals
    # One round trip (0.1 s) to connect; the request arrives 0.05 s later, the
    # response leaves 0.82 s after that and reaches the client at 1.02 s.
    assert (connection.start_ns, connection.end_ns) == (100_000_000, 1_020_000_000)
    assert connection.label == "localhost:49152"
    assert connection.info == {
        "client": "localhost:49152",
        "client_ip": "127.0.0.1:49152",
        "server": "example.com:80",
        "server_ip": "10.0.0.2:80",
        "tls": False,
        "bytes_sent": 38,
        "bytes_received": 133,
        "closed": "closed",
    }
    assert connection.task == trace.main
    assert (request.start_ns, request.end_ns) == (150_000_000, 970_000_000)
    assert request.label == "GET /a 200"
    info = request.info
    assert (info["method"], info["path"], info["status"], info["client"]) == (
        "GET",
        "/a",
        200,
        "127.0.0.1:49152",
    )
    assert request.task is None  # received in a protocol callback, not a task step


def test_the_aiohttp_gather_of_ten_fetches_shows_ten_requests_of_exactly_082_s():
    net = Network()
    net.http_service("example.com", response_time=0.82)

    async def main():
        async with aiohttp.ClientSession() as session:

            async def fetch():
                async with session.get("https://example.com/") as res:
                    return res.status

            return await asyncio.gather(*(fetch() for _ in range(10)))

    run = asyncsim.simulate(main(), network=net, trace=True)
    assert run.result == [200] * 10
    requests = [i for i in run.trace.intervals if i.lane == "example.com HTTP requests"]
    assert [(i.start_ns, i.end_ns, i.label) for i in requests] == [
        (0, 820_000_000, "GET / 200")
    ] * 10
    connections = [i for i in run.trace.intervals if i.lane == "example.com:443 connections"]
    assert len(connections) == 10 and all(c.info["tls"] for c in connections)


def test_a_server_publishes_its_queue_samples_and_each_requests_wait():
    run = asyncsim.simulate(five_calls(), trace=True)
    trace, stats = run.trace, run.result
    assert trace.lanes == (Lane("db", "server", 2),)
    assert trace.samples == (
        LaneSample("db", 0, 3, 2),
        LaneSample("db", 1 * S, 1, 2),
        LaneSample("db", 2 * S, 0, 1),
        LaneSample("db", 3 * S, 0, 0),
    )
    assert [(s.time_ns / S, s.queue, s.busy) for s in trace.samples] == stats.samples
    assert [(i.start_ns, i.end_ns, i.info["wait"], i.info["outcome"]) for i in trace.intervals] == [
        (0, 1 * S, 0.0, "served"),
        (0, 1 * S, 0.0, "served"),
        (0, 2 * S, 1.0, "served"),
        (0, 2 * S, 1.0, "served"),
        (0, 3 * S, 2.0, "served"),
    ]
    (summary,) = lane_summary(trace)
    assert summary.utilization == pytest.approx((2 + 2 + 1) / (3 * 2))
    assert summary.mean_queue == pytest.approx((3 + 1) / 3)
    assert (summary.max_queue, summary.mean_wait, summary.max_wait) == (3, 0.8, 2.0)


def test_a_trace_with_lanes_round_trips_through_json_and_a_version_1_trace_still_loads():
    trace = asyncsim.simulate(one_request(), network=example_network(), trace=True).trace
    text = trace.to_json()
    again = Trace.from_json(text)
    assert again == trace and again.to_json() == text
    assert isinstance(again.intervals[0], LaneInterval)
    for version in (1, 2):
        legacy = Trace.from_dict(as_version(json.loads(text), version))
        assert legacy.tasks == trace.tasks and legacy.steps == trace.steps
        assert (legacy.lanes, legacy.intervals) == (
            ((), ()) if version == 1 else (trace.lanes, trace.intervals)
        )


def as_version(data, version):
    """A version 3 trace dict laid out as version 1 or 2 wrote it."""
    data["version"] = version
    data["start"], data["end"] = data.pop("start_ns"), data.pop("end_ns")
    del data["callbacks"], data["delays"], data["exceptions"]
    if version == 1:
        for table in ("lanes", "intervals", "samples"):
            del data[table]
    for table in data.values():
        if isinstance(table, dict) and "columns" in table:
            table["columns"] = [c.removesuffix("_ns") for c in table["columns"]]
    data["steps"]["columns"].remove("inner")
    data["steps"]["rows"] = [row[:-1] for row in data["steps"]["rows"]]
    return data


def test_the_gantt_draws_lane_rows_below_the_task_rows():
    net = example_network()

    async def main():
        await asyncio.gather(one_request(), five_calls())

    run = asyncsim.simulate(main(), network=net, trace=True)
    fig = run.gantt()
    tasks_ax, lane_ax = fig.axes
    assert len(tasks_ax.get_yticklabels()) == len(run.trace.tasks)
    labels = [t.get_text() for t in lane_ax.get_yticklabels()]
    assert labels == [
        "example.com HTTP requests  (1)",
        "db: busy (of 2)",
        "db: queue (max 3)",
        "example.com:80 connections  (1)",
    ]
    (bars,) = by_gid(lane_ax, "lane-bar")
    assert len(bars.get_paths()) == 2
    assert len(by_gid(lane_ax, "lane-busy")) == 1 and len(by_gid(lane_ax, "lane-queue")) == 1
    assert lane_ax.get_shared_x_axes().joined(tasks_ax, lane_ax)


def test_overlapping_intervals_stack_and_too_many_become_a_count_row():
    async def main(n):
        lanes = asyncsim.lanes.recorder()
        refs = [lanes.begin("pool", f"job {i}") for i in range(n)]
        await asyncio.sleep(1)
        for ref in refs:
            lanes.end(ref)

    fig = asyncsim.simulate(main(3), trace=True).gantt()
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["pool  (3)", "", ""]
    fig = asyncsim.simulate(main(30), trace=True).gantt()
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["pool  (30, max 30 at once)"]
    assert by_gid(fig.axes[1], "lane-count")


def test_a_trace_without_lanes_draws_one_axes():
    async def main():
        await asyncio.sleep(1)

    assert len(asyncsim.simulate(main(), trace=True).gantt().axes) == 1


def test_the_report_lists_the_lanes_and_escapes_their_labels(tmp_path):
    async def main():
        lanes = asyncsim.lanes.recorder()
        lanes.declare("<script>alert(1)</script>", kind="<i>kind</i>")
        ref = lanes.begin("<script>alert(1)</script>", "<b>bold</b>", note="<img src=x>")
        await asyncio.sleep(0.5)
        lanes.end(ref)

    trace = asyncsim.simulate(main(), trace=True).trace
    page = report(trace, tmp_path / "r").read_text()
    assert "<script>alert(1)</script>" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "note=&lt;img src=x&gt;" in page
    assert "Lanes: what the models did" in page


def test_the_chrome_trace_holds_the_lanes_and_follows_the_format_rules():
    async def main():
        await asyncio.gather(one_request(), five_calls())

    trace = asyncsim.simulate(main(), network=example_network(), trace=True).trace
    data = chrome_trace(trace)
    assert check_trace_events(data) == []
    lanes = [e for e in data["traceEvents"] if e["pid"] == 2]
    names = {e["args"]["name"] for e in lanes if e["name"] == "thread_name"}
    assert names == {lane.name for lane in trace.lanes}
    assert sum(e["ph"] == "b" for e in lanes) == len(trace.intervals)
    assert sum(e["ph"] == "C" for e in lanes) == len(trace.samples)


def test_untraced_runs_record_nothing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("recorded in an untraced run")

    for method in ("declare", "begin", "end", "sample"):
        monkeypatch.setattr(LaneRecorder, method, refuse)
    seen = []

    async def main():
        seen.append(asyncsim.lanes.recorder())
        await one_request()
        return await five_calls()

    stats = asyncsim.run(main(), network=example_network())
    assert seen == [None]
    assert stats.samples[-1] == (4.02, 0, 0)  # 1.02 s request, then 3 s of calls


def test_the_recorder_rejects_bad_input_by_name():
    async def main():
        lanes = asyncsim.lanes.recorder()
        with pytest.raises(TypeError, match=r"lane attribute size must be a str, .*, got \[1\]"):
            lanes.begin("disk", "write", size=[1])
        with pytest.raises(ValueError, match="lane must be a non-empty str, got ''"):
            lanes.begin("", "write")
        with pytest.raises(ValueError, match="ref must be a reference returned by begin"):
            lanes.end(99)
        with pytest.raises(ValueError, match="queue must be an integer >= 0, got -1"):
            lanes.sample("db", queue=-1, busy=0)
        with pytest.raises(ValueError, match="capacity must be an integer >= 1, got 0"):
            lanes.declare("db", capacity=0)

    run = asyncsim.simulate(main(), trace=True)
    assert run.exception is None
