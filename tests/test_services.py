"""Servers, rate limiters and connection pools on SimPy resources: exact times and stats."""

import asyncio

import pytest
import simpy

import asyncsim
from asyncsim.models.bridge import shared_environment
from asyncsim.models.distributions import Exponential
from asyncsim.models.services import ConnectionPool, QueueFull, RateLimiter, Server, Visit


def now():
    return asyncio.get_running_loop().time()


def test_a_server_with_capacity_2_serves_5_one_second_requests_in_exactly_3_seconds():
    server = Server(capacity=2, service_time=1.0, name="db")

    async def main():
        visits = await asyncio.gather(*(server.call() for _ in range(5)))
        return visits, now()

    visits, elapsed = asyncsim.run(main())
    assert elapsed == 3.0
    assert [v.finished for v in visits] == [1.0, 1.0, 2.0, 2.0, 3.0]
    assert visits[4] == Visit(arrived=0.0, started=2.0, finished=3.0)
    stats = server.stats
    assert stats.waits == [0.0, 0.0, 1.0, 1.0, 2.0]
    assert stats.samples == [(0.0, 3, 2), (1.0, 1, 2), (2.0, 0, 1), (3.0, 0, 0)]
    assert stats.utilization() == 5 / 6  # 5 busy slot-seconds out of 2 x 3
    assert stats.mean_queue_length() == 4 / 3  # 3 for 1 s, 1 for 1 s, over 3 s
    assert stats.max_queue_length == 3
    assert (stats.arrivals, stats.served, stats.rejected, stats.cancelled) == (5, 5, 0, 0)


def test_a_priority_server_serves_lower_priority_values_first():
    server = Server(capacity=1, service_time=1.0, queue="priority")
    order = []

    async def client(name, priority):
        await server.call(priority=priority)
        order.append((name, now()))

    async def main():
        await asyncio.gather(client("first", 5), client("low", 9), client("urgent", 0))

    asyncsim.run(main())
    assert order == [("first", 1.0), ("urgent", 2.0), ("low", 3.0)]


def test_a_full_queue_turns_arrivals_away_with_queue_full():
    server = Server(capacity=1, service_time=1.0, max_queue=1, name="tiny")

    async def main():
        results = await asyncio.gather(*(server.call() for _ in range(3)), return_exceptions=True)
        return results, now()

    results, elapsed = asyncsim.run(main())
    assert elapsed == 2.0
    assert isinstance(results[2], QueueFull)
    assert "tiny: 1 requests already queued (max_queue=1) at t=0.0s" in str(results[2])
    assert (server.stats.served, server.stats.rejected) == (2, 1)


def test_a_slot_is_held_for_the_body_and_reports_the_wait():
    server = Server(capacity=1)

    async def worker(log):
        async with server.slot() as waited:
            log.append((now(), waited))
            await asyncio.sleep(0.25)

    async def main():
        log = []
        await asyncio.gather(worker(log), worker(log), worker(log))
        return log

    assert asyncsim.run(main()) == [(0.0, 0.0), (0.25, 0.25), (0.5, 0.5)]
    assert server.stats.utilization() == 1.0


def test_a_request_cancelled_while_queueing_leaves_the_queue():
    server = Server(capacity=1, service_time=1.0)

    async def main():
        first = asyncio.create_task(server.call())
        # first takes the slot before the second call queues: from Python 3.12 on,
        # wait_for() runs a coroutine in the calling task, not in a new one.
        await asyncio.sleep(0)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(server.call(), timeout=0.5)
        third = await server.call()
        await first
        return third

    assert asyncsim.run(main()) == Visit(arrived=0.5, started=1.0, finished=2.0)
    assert server.stats.cancelled == 1
    assert server.stats.samples == [(0.0, 1, 1), (0.5, 1, 1), (1.0, 0, 1), (2.0, 0, 0)]


def test_random_service_times_are_deterministic_per_seed_and_named_stream():
    async def main():
        server = Server(capacity=1, service_time=Exponential(0.1), name="api")
        visits = await asyncio.gather(*(server.call() for _ in range(20)))
        return [v.finished for v in visits]

    assert asyncsim.run(main(), seed=1) == asyncsim.run(main(), seed=1)
    assert asyncsim.run(main(), seed=1) != asyncsim.run(main(), seed=2)


class Steps:
    """Not a Distribution: any object with sample(rng) is a duration (the network takes it too)."""

    def __init__(self, *seconds):
        self.seconds = list(seconds)

    def sample(self, rng):
        return self.seconds.pop(0)


def test_any_object_with_a_sample_method_is_a_service_time():
    async def main():
        server = Server(capacity=1, service_time=Steps(0.5, 1.5), name="steps")
        visits = await asyncio.gather(server.call(), server.call())
        return [v.finished for v in visits]

    assert asyncsim.run(main()) == [0.5, 2.0]


def test_a_service_time_that_draws_a_negative_duration_is_named():
    async def main():
        await Server(service_time=Steps(-1.0), name="bad").call()

    with pytest.raises(ValueError, match=r"service_time distribution .* drew -1\.0"):
        asyncsim.run(main())


def test_a_rate_limiter_lets_a_burst_through_then_spaces_the_rest():
    limiter = RateLimiter(rate=4, burst=2, name="api")

    async def main():
        times = []

        async def client():
            async with limiter:
                times.append(now())

        await asyncio.gather(*(client() for _ in range(5)))
        return times

    assert asyncsim.run(main()) == [0.0, 0.0, 0.25, 0.5, 0.75]
    assert limiter.stats.waits == [0.0, 0.0, 0.25, 0.5, 0.75]
    # 3 throttled waiters at first, the last one gone at 0.75.
    assert limiter.stats.samples[0] == (0.0, 3, 1)
    assert limiter.stats.samples[-1] == (0.75, 0, 0)


def test_a_rate_limiter_refills_while_idle_up_to_its_burst():
    limiter = RateLimiter(rate=2, burst=3)

    async def main():
        times = []
        for _ in range(3):
            await limiter.acquire()
            times.append(now())
        await asyncio.sleep(10)  # refills to 3, not to 20
        for _ in range(4):
            await limiter.acquire()
            times.append(now())
        return times

    assert asyncsim.run(main()) == [0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 10.5]


def test_acquiring_several_tokens_waits_for_all_of_them():
    async def main():
        limiter = RateLimiter(rate=10, burst=5)
        await limiter.acquire(5)
        waited = await limiter.acquire(3)
        return waited, now()

    assert asyncsim.run(main()) == (0.3, 0.3)


def test_a_connection_pool_hands_out_at_most_size_connections():
    pool = ConnectionPool(size=2)

    async def user(log, hold):
        async with pool.connection() as conn:
            log.append((conn, now()))
            await asyncio.sleep(hold)

    async def main():
        log = []
        await asyncio.gather(user(log, 1.0), user(log, 2.0), user(log, 1.0), user(log, 1.0))
        return log, now()

    log, elapsed = asyncsim.run(main())
    assert log == [(0, 0.0), (1, 0.0), (0, 1.0), (1, 2.0)]
    assert elapsed == 3.0
    assert pool.stats.waits == [0.0, 0.0, 1.0, 2.0]
    assert pool.stats.samples == [(0.0, 2, 2), (1.0, 1, 2), (2.0, 0, 1), (3.0, 0, 0)]


def test_services_share_the_loop_environment_with_user_simpy_processes():
    server = Server(capacity=1, service_time=2.0)

    def simpy_client(env, log):
        yield env.timeout(0.5)
        visit = yield env.from_future(server.call())
        log.append(("simpy", visit.finished))

    async def main():
        log = []
        env = shared_environment()
        proc = env.process(simpy_client(env, log))
        await server.call()
        log.append(("asyncio", now()))
        await proc
        return log

    assert asyncsim.run(main()) == [("asyncio", 2.0), ("simpy", 4.0)]


def test_services_can_be_made_before_the_simulation_and_reused_in_a_new_one():
    server = Server(capacity=1, service_time=1.0)

    async def main():
        await asyncio.gather(server.call(), server.call())
        return now()

    assert asyncsim.run(main()) == 2.0
    assert asyncsim.run(main()) == 2.0  # a fresh loop gets fresh SimPy resources
    assert server.stats.served == 4


def test_stats_are_plain_data():
    server = Server(capacity=2, service_time=1.0, name="db")

    async def main():
        await asyncio.gather(*(server.call() for _ in range(3)))

    asyncsim.run(main())
    data = server.stats.as_dict()
    assert data["samples"] == [[0.0, 1, 2], [1.0, 0, 1], [2.0, 0, 0]]
    assert data["utilization"] == 0.75
    assert data["mean_wait"] == 1 / 3
    assert data["name"] == "db"


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: Server(capacity=0), ValueError, "capacity must be an integer >= 1, got 0"),
        (
            lambda: Server(service_time=-1),
            ValueError,
            "service_time must be a finite number of seconds >= 0",
        ),
        (lambda: Server(queue="lifo"), ValueError, "queue must be 'fifo' or 'priority'"),
        (lambda: Server(max_queue=-1), ValueError, "max_queue must be an integer >= 0, got -1"),
        (lambda: Server(service_time="fast"), TypeError, "service_time must be a number"),
        (
            lambda: RateLimiter(rate=0),
            ValueError,
            "rate must be a finite number of tokens per second > 0, got 0",
        ),
        (lambda: RateLimiter(rate=1, burst=0), ValueError, "burst must be an integer >= 1"),
        (lambda: ConnectionPool(size=0), ValueError, "size must be an integer >= 1, got 0"),
        (lambda: Server(name=""), ValueError, "name must be a non-empty str"),
    ],
)
def test_invalid_models_say_what_is_wrong(make, error, message):
    with pytest.raises(error) as info:
        make()
    assert message in str(info.value)


def test_misuse_says_what_to_use_instead():
    async def main():
        with pytest.raises(ValueError, match=r"needs Server\(queue='priority'\)"):
            await Server().call(priority=1)
        with pytest.raises(ValueError, match="can never be granted by a bucket of burst=2"):
            await RateLimiter(rate=1, burst=2).acquire(3)

    asyncsim.run(main())
    with pytest.raises(TypeError, match=r"virtual clock.*run the program with asyncsim\.run"):
        asyncio.run(Server().call())


def test_servers_are_built_on_simpy_resources():
    async def main():
        server = Server(capacity=3)
        await server.call()
        return type(server._resource)

    assert asyncsim.run(main()) is simpy.Resource
