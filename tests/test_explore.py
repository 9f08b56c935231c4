"""schedules() explores a run while it runs: deep events, faults, open orders; exact replays."""

import asyncio
import contextlib
import functools
import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import asyncsim
from asyncsim import Schedule
from asyncsim.models.network import Network
from asyncsim.models.services import Server, ServiceError
from asyncsim.testing import explore
from asyncsim.testing.strategies import schedules

REPLAY = re.compile(r"Schedule\.from_string\('([^']+)'\)")
NAMED = re.compile(r"naming what it changes: '([^']+)'")
SEARCH = settings(
    database=None,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate, Phase.shrink],
)


def failure_notes(prop, strategy=None, config=SEARCH):
    """Search with ``strategy`` for a schedule breaking ``prop``; the failure's notes."""

    @config
    @given(schedule=strategy if strategy is not None else schedules())
    def search(schedule):
        assert prop(schedule)

    with pytest.raises(AssertionError) as failure:
        search()
    return "\n".join(getattr(failure.value, "__notes__", []))


# -- a watchdog that only checks after a 150-tick grace period --------------------------------


async def watchdog():
    loop = asyncio.get_running_loop()
    last = loop.time()
    for tick in range(200):
        await asyncio.sleep(0.1)  # (the heartbeat)
        now = loop.time()
        if tick >= 150 and now - last > 0.35:
            return f"missed heartbeat at tick {tick}"
        last = now
    return "ok"


def heartbeat_ok(schedule):
    return asyncsim.run(watchdog(), schedule=schedule) == "ok"


@functools.cache
def watchdog_notes():
    # Timers only (a pause of the loop, pauses=True, breaks it at the same depth too,
    # and is what the default search finds first); the find rate at the default budget
    # is measured on the corpus (tests/test_corpus.py), this checks depth and shrinking.
    return failure_notes(heartbeat_ok, schedules(pauses=False), settings(SEARCH, max_examples=400))


def test_the_search_reaches_a_timer_150_deep_and_shrinks_to_it_alone():
    notes = watchdog_notes()
    schedule = Schedule.from_string(REPLAY.search(notes).group(1))
    late = [(i, t) for i, t in enumerate(schedule.timer_lateness) if t]
    assert len(late) == 1 and late[0][0] >= 150, notes
    index, amount = late[0]
    assert amount == 250_000_001  # 0.1 s + 0.250000001 s > 0.35 s: the least that fails
    assert schedule.to_string() == f"S1;t={index}:250000001"
    assert not heartbeat_ok(schedule)


def test_the_failure_notes_name_what_the_schedule_changed_and_both_forms_replay():
    notes = watchdog_notes()
    compact = REPLAY.search(notes).group(1)
    named = NAMED.search(notes).group(1)
    assert f"replay it: pytest --asyncsim-replay='{compact}'" in notes
    assert re.fullmatch(r"S1;t=test_explore\.py:\d+#\d+\+0\.250000001s", named), named
    assert re.search(r"- timer #\d+ \(test_explore\.py:\d+ in watchdog\(\), its #\d+\): ", notes)
    for text in (compact, named):
        assert asyncsim.run(watchdog(), schedule=Schedule.from_string(text)).startswith("missed")


def test_an_explored_schedule_becomes_the_concrete_schedule_of_its_run():
    seen = []

    @settings(max_examples=30, database=None, deadline=None, derandomize=True)
    @given(schedules())
    def record(schedule):
        assert not schedule.explored
        first = asyncsim.simulate(watchdog(), schedule=schedule)
        assert schedule.explored
        again = asyncsim.simulate(watchdog(), schedule=Schedule.from_string(schedule.to_string()))
        same = asyncsim.simulate(watchdog(), schedule=schedule)  # replays what it became
        assert (first.result, first.elapsed) == (again.result, again.elapsed)
        assert (first.result, first.elapsed) == (same.result, same.elapsed)
        seen.append(schedule.to_string())

    record()
    assert len(set(seen)) > 10  # (and many of them perturb something)


def test_a_run_with_tens_of_thousands_of_timers_is_explored_within_hypothesis_budget():
    async def many():
        for _ in range(12_000):  # more timers than hypothesis has choices per example
            await asyncio.sleep(0.001)
        return asyncio.get_running_loop().time()

    @settings(max_examples=3, database=None, deadline=None)
    @given(schedules())
    def run(schedule):
        assert asyncsim.run(many(), schedule=schedule) >= 12.0

    run()


def test_guided_mode_reports_each_runs_interleavings_to_hypothesis(monkeypatch):
    targets = []
    monkeypatch.setattr(explore, "target", lambda value, label: targets.append((label, value)))

    async def two_tasks():
        async def worker():
            for _ in range(3):
                await asyncio.sleep(0.1)

        await asyncio.gather(worker(), worker())

    @settings(max_examples=5, database=None, deadline=None)
    @given(schedules(guided=True))
    def run(schedule):
        asyncsim.run(two_tasks(), schedule=schedule)

    run()
    assert targets and all(label == explore._TARGET and value >= 2 for label, value in targets)


# -- open orders -----------------------------------------------------------------------------


async def pick_from_three():
    state = asyncsim.current().schedule_state
    order = ["a", "b", "c"]
    return order[state.choose("as_completed", 3) if state is not None else 0]


def test_the_search_explores_open_orders_and_the_replay_string_records_the_choice():
    notes = failure_notes(lambda s: asyncsim.run(pick_from_three(), schedule=s) != "c")
    text = REPLAY.search(notes).group(1)
    assert text == "S1;o=2"
    assert "order #0 (as_completed): took alternative 2 of the open order" in notes
    assert asyncsim.run(pick_from_three(), schedule=Schedule.from_string(text)) == "c"


def test_open_orders_stay_in_program_order_when_the_strategy_does_not_explore_them():
    @settings(max_examples=30, database=None, deadline=None)
    @given(schedules(orders=False))
    def run(schedule):
        assert asyncsim.run(pick_from_three(), schedule=schedule) == "a"

    run()


# -- faults ------------------------------------------------------------------------------------


def echo_network(declare=True):
    net = Network(latency=0.01)
    net.add_host("echo")
    if declare:
        net.scheduled_faults(kinds=("reset",))
    return net


async def echo_ten():
    async def serve(reader, writer):
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while line := await reader.readline():
                writer.write(line)
        writer.close()

    server = await asyncio.start_server(serve, "echo", 7)
    reader, writer = await asyncio.open_connection("echo", 7)
    echoed = []
    try:
        for i in range(10):
            writer.write(f"{i}\n".encode())
            echoed.append(int(await reader.readline()))
    except ConnectionResetError:
        echoed.append("reset")
    writer.close()
    server.close()
    return echoed


def test_a_declared_reset_is_drawn_shrunk_to_one_message_and_replayed():
    net = echo_network()

    def all_echoed(schedule):
        return asyncsim.run(echo_ten(), network=net, schedule=schedule) == list(range(10))

    notes = failure_notes(all_echoed)
    text = REPLAY.search(notes).group(1)
    schedule = Schedule.from_string(text)
    assert [f.kind for f in schedule.faults] == ["reset"], text
    assert re.search(r"fault #\d+ \(\w+>\w+(, its #\d+)?\): injected a reset", notes), notes
    assert asyncsim.run(echo_ten(), network=net, schedule=schedule)[-1] == "reset"
    # Injected faults belong to their run: the network is whole again for the next one.
    assert asyncsim.run(echo_ten(), network=net) == list(range(10))
    assert net.faults == ()


def test_undeclared_faults_are_drawn_only_when_the_test_opts_in():
    @settings(max_examples=40, database=None, deadline=None)
    @given(schedules(latency=False, max_timer_lateness=0))
    def default(schedule):
        assert asyncsim.run(echo_ten(), network=echo_network(False), schedule=schedule) == list(
            range(10)
        )

    default()
    notes = failure_notes(
        lambda s: (
            asyncsim.simulate(echo_ten(), network=echo_network(False), schedule=s).result
            == list(range(10))
        ),
        schedules(faults=("partition",), max_fault_duration=1000.0),
    )
    # The smallest partition that breaks the run outlasts the connect timeout (127 s).
    assert REPLAY.search(notes).group(1) == "S1;f=0:partition:127000000000"
    assert "fault #0 (localhost>echo): injected a partition for 127 s" in notes


def test_a_partition_drawn_at_a_message_holds_it_until_the_partition_heals():
    schedule = Schedule(faults=((0, "partition", 5_000_000_000),))

    async def main():
        loop = asyncio.get_running_loop()
        await asyncio.open_connection("echo", 7)  # opportunity 0: the SYN to echo
        return loop.time()

    async def with_server():
        server = await asyncio.start_server(lambda r, w: None, "echo", 7)
        took = await main()
        server.close()
        return took

    assert asyncsim.run(with_server(), network=echo_network(False), schedule=schedule) == 5.02


def test_a_service_declaring_its_faults_fails_a_call_and_the_search_finds_it():
    async def calls():
        server = Server(capacity=1, service_time=0.1, name="db")
        server.scheduled_faults()
        done = 0
        for _ in range(5):
            with contextlib.suppress(ServiceError):
                await server.call()
                done += 1
        return done

    notes = failure_notes(lambda s: asyncsim.run(calls(), schedule=s) == 5)
    text = REPLAY.search(notes).group(1)
    assert re.fullmatch(r"S1;f=\d+:error", text), text
    assert asyncsim.run(calls(), schedule=Schedule.from_string(text)) == 4


# -- no false alarm from the clock's rounding ----------------------------------------------------


class Limiter:
    """A correct rate limiter: sleeps until its next slot (float leftovers included)."""

    def __init__(self, rate):
        self.interval = 1.0 / rate
        self.next = 0.0

    async def acquire(self):
        loop = asyncio.get_running_loop()
        while (gap := self.next - loop.time()) > 0:
            await asyncio.sleep(gap)
        self.next = max(self.next, loop.time()) + self.interval


async def three_limited_workers():
    limiter = Limiter(3.0)

    async def worker():
        for _ in range(20):
            await limiter.acquire()

    await asyncio.gather(worker(), worker(), worker())
    return asyncio.get_running_loop().time()


@pytest.mark.skipif(
    not hasattr(asyncsim.clock, "deadline_ticks"),
    reason="needs issue 12's never-early deadlines (a sub-tick sleep otherwise spins)",
)
def test_a_correct_rate_limiter_is_never_reported_whatever_the_schedule():
    @settings(SEARCH, max_examples=100)
    @given(schedules())
    def limited(schedule):
        run = asyncsim.simulate(three_limited_workers(), schedule=schedule, until=1_000)
        assert run.exception is None and run.result >= 59 / 3

    limited()
