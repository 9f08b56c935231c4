"""The HTML report is self-contained and escaped; trace.json follows the trace-event rules."""

import asyncio
import json

import pytest

import asyncsim
from asyncsim.report.chrome import chrome_trace
from asyncsim.report.folder import MARKER
from asyncsim.report.loader import load_trace
from asyncsim.report.page import report
from asyncsim.script import load_model

from .conftest import EXAMPLES
from .trace_event_checker import check_trace_events

EVIL = "<script>alert(1)</script>"


async def delay():
    await asyncio.sleep(4)


async def main_concurrent():
    t = asyncio.create_task(delay())
    asyncsim.mark("spawned")
    with asyncsim.span("overlap"):
        await asyncio.sleep(3)
    await t


def test_the_report_folder_holds_the_page_the_chrome_trace_the_graph_and_the_trace(tmp_path):
    run = asyncsim.simulate(main_concurrent(), trace=True)
    index = run.report(str(tmp_path / "r"))
    folder = tmp_path / "r"
    assert index == folder / "index.html"
    names = {p.name for p in folder.iterdir()}
    assert names == {
        "index.html",
        "trace.json",
        "graph.json",
        "asyncsim-trace.json",
        "timeline.png",
        MARKER,
    }
    page = index.read_text()
    # Self-contained: the timeline's data and script are inline, nothing is fetched.
    assert 'id="timeline-data"' in page and "<canvas>" in page
    assert "http://" not in page and "https://" not in page and "<script src" not in page
    assert "<td>sleep</td><td>Task-2 delay()</td><td>delay() at " in page  # the critical path
    assert json.loads((folder / "graph.json").read_text())["links"]
    assert asyncsim.Trace.from_json((folder / "asyncsim-trace.json").read_text()) == run.trace


def test_trace_json_follows_the_trace_event_format_rules():
    model = load_model(EXAMPLES / "net_example_com.py")
    trace = asyncsim.run_script(EXAMPLES / "wait.py", trace=True, **model).trace
    data = chrome_trace(trace)
    assert check_trace_events(data) == []
    events = data["traceEvents"]
    threads = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert len(threads) == len(trace.tasks) + 1  # one track per task, plus the loop
    flows = [e for e in events if e["ph"] in "sf"]
    assert flows and {e["id"] for e in flows if e["ph"] == "s"} == {
        e["id"] for e in flows if e["ph"] == "f"
    }


def test_the_trace_event_checker_catches_broken_files():
    bad = {
        "traceEvents": [
            {"ph": "X", "name": "a", "pid": 1, "tid": 1, "ts": 0},
            {"ph": "s", "name": "w", "cat": "wake", "id": 3, "pid": 1, "tid": 1, "ts": 5},
            {"ph": "Q", "name": "b", "pid": 1, "ts": 0},
        ]
    }
    problems = check_trace_events(bad)
    assert any("without a non-negative dur" in p for p in problems)
    assert any("one start and one finish" in p for p in problems)
    assert any("missing 'tid'" in p for p in problems)
    assert any("unknown phase 'Q'" in p for p in problems)


def test_waits_are_slices_in_microseconds_from_a_positive_origin():
    data = chrome_trace(asyncsim.simulate(main_concurrent(), trace=True).trace)
    waits = [
        (e["tid"], e["ph"], e["name"], e["ts"])
        for e in data["traceEvents"]
        if e.get("cat") == "wait"
    ]
    assert waits == [
        (1, "B", "sleep 3 s in main_concurrent()", 1.0),
        (1, "E", "sleep 3 s in main_concurrent()", 3e6 + 1),
        (2, "B", "sleep 4 s in delay()", 1.0),
        (2, "E", "sleep 4 s in delay()", 4e6 + 1),
        (1, "B", "await Task-2", 3e6 + 1),
        (1, "E", "await Task-2", 4e6 + 1),
    ]
    assert data["otherData"]["ts_offset_us"] == 1


def test_a_step_that_took_no_time_sits_between_its_waits_not_inside_one():
    data = chrome_trace(asyncsim.simulate(main_concurrent(), trace=True).trace)
    main = [
        (e["ph"], e["cat"], e["ts"])
        for e in data["traceEvents"]
        if e.get("tid") == 1 and e["ph"] in "BE"
    ]
    at_3s = [(ph, cat) for ph, cat, ts in main if ts == 3e6 + 1]
    assert at_3s == [("E", "wait"), ("B", "step"), ("E", "step"), ("B", "wait")]
    assert check_trace_events(data) == []


def test_user_strings_are_html_escaped(tmp_path):
    async def boom():
        await asyncio.sleep(1)
        raise ValueError(EVIL)

    async def main():
        asyncsim.mark(EVIL)
        task = asyncio.create_task(boom(), name=EVIL)
        await asyncio.gather(task, return_exceptions=True)
        raise RuntimeError(EVIL)

    run = asyncsim.simulate(main(), trace=True)
    assert run.trace.tasks[1].name == EVIL  # named by create_task after it was created
    page = run.report(str(tmp_path / "r")).read_text()
    assert EVIL not in page
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>" in page  # the task table
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "ValueError: &lt;script&gt;" in page and "RuntimeError: &lt;script&gt;" in page


def test_a_failed_run_explains_what_went_wrong(tmp_path):
    async def main():
        await asyncio.get_running_loop().create_future()

    page = asyncsim.simulate(main(), trace=True).report(str(tmp_path / "r")).read_text()
    assert "What went wrong" in page and "Deadlock: deadlock at t=0.0s" in page


def test_a_non_empty_folder_asyncsim_did_not_create_is_refused(tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    run = asyncsim.simulate(main_concurrent(), trace=True)
    with pytest.raises(FileExistsError, match="not empty and was not created by asyncsim"):
        run.report(str(user))
    assert [p.name for p in user.iterdir()] == ["notes.txt"]
    run.report(str(user), force=True)
    assert (user / "notes.txt").read_text() == "keep me"
    assert not (user / MARKER).exists()  # still the user's folder: the next write asks again
    run.report(str(tmp_path / "ours"))
    run.report(str(tmp_path / "ours"))  # a folder asyncsim made may be rewritten


def test_a_saved_trace_rebuilds_the_same_report(tmp_path):
    trace = asyncsim.simulate(main_concurrent(), trace=True).trace
    saved = tmp_path / "t.json"
    saved.write_text(trace.to_json())
    assert load_trace(saved) == trace
    first = report(trace, tmp_path / "a").read_text()
    second = report(load_trace(saved), tmp_path / "b").read_text()
    assert first == second
    with pytest.raises(ValueError, match="is a Chrome trace-event file"):
        load_trace(tmp_path / "a" / "trace.json")
    assert load_trace(tmp_path / "a") == trace  # a report folder works too


def test_the_interactive_timeline_carries_the_lanes_of_the_static_chart():
    from asyncsim.models.services import Server
    from asyncsim.report.interactive import timeline_data

    async def served():
        db = Server(capacity=2, service_time=0.1, name="db")
        await asyncio.gather(*(db.call() for _ in range(6)))

    run = asyncsim.simulate(served(), trace=True)
    data = timeline_data(run.trace)
    text = data["strings"]
    busy, queue = data["lanes"]
    assert [text[busy["label"]], text[queue["label"]]] == ["db: busy (of 2)", "db: queue (max 4)"]
    assert (busy["unit"], busy["scale"], queue["unit"], queue["scale"]) == ("busy", 2, "queued", 4)
    ms = 1_000_000
    assert list(zip(queue["edges"], queue["values"], strict=True))[:1] == [(0, 4)]
    assert max(busy["values"]) == 2 and busy["edges"][-1] <= 300 * ms


def test_the_interactive_timeline_draws_each_request_as_a_bar_with_its_details():
    from asyncsim.report.interactive import timeline_data

    models = load_model(EXAMPLES / "net_example_com.py")
    run = asyncsim.run_script(EXAMPLES / "gather.py", trace=True, **models)
    data = timeline_data(run.trace)
    text = data["strings"]
    requests = [lane for lane in data["lanes"] if text[lane["lane"]] == "example.com HTTP requests"]
    assert len(requests) == 10 and all(lane["what"] == "bars" for lane in requests)
    start, end, label, colour, details = requests[0]["items"]
    assert (start, end, text[label], text[colour]) == (0, 820_000_000, "GET / 200", "#3a9a8a")
    assert "status=200" in text[details]
