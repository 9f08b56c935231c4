"""The duration-scaling seam: every kind of component is counted and scaled exactly."""

import asyncio
import inspect
import time

import aiohttp
import pytest

import asyncsim
from asyncsim.core.durations import DurationScaling, scaling
from asyncsim.models.network import Network
from asyncsim.models.services import RateLimiter, Server


def elapsed(coro_fn, plan=None, **options):
    if plan is None:
        return asyncsim.simulate(coro_fn(), **options).elapsed
    with scaling(plan):
        return asyncsim.simulate(coro_fn(), **options).elapsed


def line_of(function, text):
    """The line number of the first line of ``function`` that contains ``text``."""
    lines, first = inspect.getsourcelines(function)
    return first + next(i for i, line in enumerate(lines) if text in line)


def key_of(plan, kind):
    [key] = [k for k in plan.counts if k.startswith(kind + ":")]
    return key


def _hooked(loop, name):
    """Whether ``name`` on ``loop`` is a what-if profile's hook (the compiled loop core puts
    its own ``call_later`` on a loop too: that one is not a hook)."""
    hook = vars(loop).get(name)
    return getattr(hook, "__qualname__", "").startswith("install.<locals>.")


def test_a_loop_made_outside_a_profile_has_no_hook_and_no_scaling():
    loop = asyncsim.new_event_loop()
    try:
        assert loop.durations is None
        assert not any(
            _hooked(loop, name) for name in ("call_later", "call_at", "_timer_handle_cancelled")
        )
    finally:
        loop.close()


def test_a_loop_made_inside_a_scaling_hooks_its_timers_and_only_its_own():
    plan = DurationScaling()
    with scaling(plan):
        inside = asyncsim.new_event_loop()
    outside = asyncsim.new_event_loop()
    try:
        assert inside.durations is plan and _hooked(inside, "call_later")
        assert outside.durations is None and not _hooked(outside, "call_later")
    finally:
        inside.close()
        outside.close()


async def two_sleeps():
    await asyncio.sleep(2.0)
    await asyncio.sleep(1.0)


def test_each_sleep_call_site_is_a_component_counted_and_scaled_exactly():
    plan = DurationScaling()
    assert elapsed(two_sleeps, plan) == 3.0
    first, second = plan.counts
    line = line_of(two_sleeps, "sleep(2.0)")
    assert first.startswith("sleep:") and first.endswith(f"test_durations.py:{line}")
    assert plan.labels[first] == f"sleep in two_sleeps() at test_durations.py:{line}"
    assert (plan.counts[first], plan.totals[first]) == (1, 2_000_000_000)
    assert elapsed(two_sleeps, DurationScaling(first, 0.25)) == 1.5
    assert elapsed(two_sleeps, DurationScaling(second, 0.0)) == 2.0
    assert elapsed(two_sleeps, DurationScaling(second, 3.0)) == 5.0


async def sleeps_as_tasks():
    await asyncio.gather(asyncio.sleep(1.0), asyncio.sleep(2.0))


def test_a_sleep_that_is_a_task_of_its_own_belongs_to_the_line_that_made_the_task():
    plan = DurationScaling()
    assert elapsed(sleeps_as_tasks, plan) == 2.0
    [key] = plan.counts
    line = line_of(sleeps_as_tasks, "gather")
    assert key.endswith(f"test_durations.py:{line}") and plan.counts[key] == 2
    assert elapsed(sleeps_as_tasks, DurationScaling(key, 0.5)) == 1.0


async def timers():
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    later = loop.create_future()
    loop.call_later(1.0, done.set_result, None)
    loop.call_at(loop.time() + 2.0, later.set_result, None)
    await done
    await later


def test_call_later_and_call_at_in_the_program_are_timer_components():
    plan = DurationScaling()
    assert elapsed(timers, plan) == 2.0
    by_line = {int(k.rsplit(":", 1)[1]): k for k in plan.counts}
    later, at = line_of(timers, "call_later"), line_of(timers, "call_at")
    assert set(by_line) == {later, at} and all(k.startswith("timer:") for k in plan.counts)
    assert elapsed(timers, DurationScaling(by_line[at], 0.25)) == 1.0
    assert elapsed(timers, DurationScaling(by_line[later], 3.0)) == 3.0


async def slow_then_timeout():
    async def fetch():
        await asyncio.sleep(2.0)

    try:
        await asyncio.wait_for(fetch(), 1.0)
    except TimeoutError:
        await asyncio.sleep(0.5)


def test_asyncio_deadlines_are_counted_never_scaled_and_fired_ones_are_told_apart():
    plan = DurationScaling()
    assert elapsed(slow_then_timeout, plan) == 1.5
    [deadline] = plan.deadlines
    line = line_of(slow_then_timeout, "wait_for")
    assert deadline.endswith(f"test_durations.py:{line}")
    assert plan.labels[deadline] == f"timeout in slow_then_timeout() at test_durations.py:{line}"
    assert plan.fired() == {deadline: 1}
    fetch = next(k for k in plan.counts if k.endswith(f":{line_of(slow_then_timeout, '2.0')}"))
    faster = DurationScaling(fetch, 0.25)  # 0.5 s: done before the deadline
    assert elapsed(slow_then_timeout, faster) == 0.5
    assert faster.fired() == {deadline: 0}
    assert deadline not in faster.counts  # a deadline is never a component


async def blocking():
    time.sleep(0.25)
    await asyncio.sleep(0.0)


def test_a_blocking_time_sleep_call_site_is_a_block_component():
    plan = DurationScaling()
    assert elapsed(blocking, plan) == 0.25
    key = key_of(plan, "block")
    line = line_of(blocking, "time.sleep")
    assert plan.labels[key] == f"time.sleep in blocking() at test_durations.py:{line}"
    assert elapsed(blocking, DurationScaling(key, 2.0)) == 0.5


async def crunch():
    for _ in range(3):
        await asyncio.sleep(0)


async def crunching():
    await crunch()
    await asyncio.create_task(crunch())


def test_the_cpu_model_charges_each_coroutine_as_a_component():
    plan = DurationScaling()
    # only the task running crunch() is charged (main's own steps run crunching())
    assert elapsed(crunching, plan, cpu={"crunch": 0.5}) == 2.0  # its 4 steps
    key = key_of(plan, "cpu")
    assert key == "cpu:crunch" and plan.counts[key] == 4
    assert elapsed(crunching, DurationScaling(key, 0.5), cpu={"crunch": 0.5}) == 1.0


def work():
    return "done"


async def thread_beside_ticks():
    loop = asyncio.get_running_loop()
    ticks = []

    async def ticker():
        for _ in range(2):
            await asyncio.sleep(0.1)
            ticks.append(loop.time())

    result, _ = await asyncio.gather(asyncio.to_thread(work), ticker())
    return result, ticks, loop.time()


def test_a_thread_job_the_cpu_model_names_is_a_thread_component():
    run = asyncsim.simulate(thread_beside_ticks(), cpu={"work": 0.3})
    assert run.result == ("done", [0.1, 0.2], 0.3)
    plan = DurationScaling()
    with scaling(plan):
        asyncsim.simulate(thread_beside_ticks(), cpu={"work": 0.3})
    assert plan.counts["thread:work"] == 1
    with scaling(DurationScaling("thread:work", 0.5)):
        run = asyncsim.simulate(thread_beside_ticks(), cpu={"work": 0.3})
    assert run.result == ("done", [0.1, 0.2], 0.2)


async def served():
    db = Server(capacity=1, service_time=0.5, name="db")
    limiter = RateLimiter(rate=2, burst=1, name="api")
    await asyncio.gather(db.call(), db.call())
    for _ in range(3):
        await limiter.acquire()


def test_servers_and_rate_limiters_are_service_components():
    plan = DurationScaling()
    assert elapsed(served, plan) == 2.0  # 2 x 0.5 s served, then tokens at +0, +0.5, +1
    assert plan.labels == {"service:db": "Server('db')", "service:api": "RateLimiter('api')"}
    assert (plan.counts["service:db"], plan.counts["service:api"]) == (2, 3)
    assert elapsed(served, DurationScaling("service:db", 0.5)) == 1.5
    assert elapsed(served, DurationScaling("service:api", 0.5)) == 1.5


def network():
    net = Network(latency=0.01, dns_time=0.02, tls_time=0.03)
    net.http_service("example.com", response_time=0.5)
    return net


async def fetch_once():
    async with aiohttp.ClientSession() as session, session.get("https://example.com") as res:
        return res.status


def test_http_hosts_links_dns_and_tls_are_network_components():
    plan = DurationScaling()
    # DNS 0.02 + connect 2 x 0.01 + TLS 2 x 0.01 + 0.03 + request 0.01 + 0.5 + response 0.01
    assert elapsed(fetch_once, plan, network=network()) == pytest.approx(0.61, abs=1e-12)
    assert plan.counts == {  # the network's own sleeps are not components of the program
        "network:dns": 1,
        "link:example.com<->localhost": 8,  # 6 on the way, 2 closing the connection
        "network:tls": 1,
        "http:example.com": 1,
    }
    assert plan.labels["link:example.com<->localhost"] == "link example.com <-> localhost"
    for key, saved in (
        ("http:example.com", 0.5),
        ("network:dns", 0.02),
        ("network:tls", 0.03),
        ("link:example.com<->localhost", 0.06),
    ):
        faster = elapsed(fetch_once, DurationScaling(key, 0.0), network=network())
        assert faster == pytest.approx(0.61 - saved, abs=1e-12), key


def test_a_factor_must_be_a_number_from_zero_up():
    with pytest.raises(ValueError, match="factor must be a finite scale factor >= 0, got -1"):
        DurationScaling("service:db", -1)
    with (
        pytest.raises(TypeError, match=r"scaling\(plan\) needs a DurationScaling"),
        scaling("fast"),  # type: ignore[arg-type]
    ):
        pass
