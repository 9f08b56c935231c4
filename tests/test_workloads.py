"""The seed programs as functions: exact virtual times for request count, concurrency, latency."""

import asyncio

import pytest

import asyncsim
from asyncsim.models.distributions import Empirical
from asyncsim.models.workloads import (
    Fetches,
    as_completed_fetches,
    example_network,
    gather_fetches,
    sequential_fetches,
    wait_fetches,
    wait_for_fetch,
)


def test_gather_of_ten_fetches_takes_one_response_time():
    result = asyncsim.run(gather_fetches(requests=10), network=example_network(0.82))
    assert result == Fetches(results=(200,) * 10, durations=(0.82,) * 10, elapsed=0.82)


def test_sequential_fetches_take_the_sum_of_the_response_times():
    result = asyncsim.run(sequential_fetches(requests=10), network=example_network(0.82))
    assert result.statuses == [200] * 10
    assert result.elapsed == pytest.approx(8.2, abs=1e-9)


@pytest.mark.parametrize(("concurrency", "rounds"), [(1, 10), (3, 4), (5, 2), (10, 1), (50, 1)])
def test_a_concurrency_limit_runs_the_requests_in_rounds(concurrency, rounds):
    result = asyncsim.run(
        gather_fetches(requests=10, concurrency=concurrency), network=example_network(0.5)
    )
    assert result.elapsed == pytest.approx(0.5 * rounds, abs=1e-9)


def test_the_latency_model_adds_the_round_trips_of_a_fresh_https_connection():
    network = example_network(0.82, latency=0.01)
    result = asyncsim.run(gather_fetches(requests=3), network=network)
    assert result.durations == (0.88,) * 3  # TCP 0.02 + TLS 0.02 + request 0.02 + 0.82


def test_a_distribution_as_response_time_is_drawn_per_request_and_repeats_per_seed():
    network = example_network(Empirical([0.25, 0.5, 1.0]))
    first = asyncsim.run(gather_fetches(requests=20), network=network, seed=11)
    assert set(first.durations) == {0.25, 0.5, 1.0}
    assert first.elapsed == 1.0
    assert asyncsim.run(gather_fetches(requests=20), network=network, seed=11) == first


def test_gather_returns_a_bad_url_as_a_value():
    urls = ["https://example.com", "python://bad", "https://example.com"]
    result = asyncsim.run(gather_fetches(urls), network=example_network())
    assert result.statuses == [200, 200]
    assert [type(e).__name__ for e in result.errors] == ["NonHttpUrlClientError"]
    assert result.durations == (0.82, None, 0.82)


def test_as_completed_with_a_timeout_reports_the_late_requests_as_timeouts():
    delays = [0, 0] + [10] * 8
    result = asyncsim.run(
        as_completed_fetches(requests=10, timeout=2, delays=delays), network=example_network()
    )
    assert result.statuses == [200, 200]
    assert [type(e) for e in result.errors] == [TimeoutError] * 8
    assert result.elapsed == 2.0


@pytest.mark.parametrize(
    ("return_when", "done", "pending", "elapsed"),
    [
        (asyncio.ALL_COMPLETED, 3, 0, 0.82),
        (asyncio.FIRST_EXCEPTION, 1, 2, 0.0),
        (asyncio.FIRST_COMPLETED, 1, 2, 0.0),
    ],
)
def test_the_three_wait_modes_with_a_bad_url(return_when, done, pending, elapsed):
    urls = ["https://example.com", "python://bad", "https://example.com"]
    result, left = asyncsim.run(
        wait_fetches(urls, return_when=return_when), network=example_network()
    )
    assert (len(result.results), left, result.elapsed) == (done, pending, elapsed)


def test_wait_for_times_out_a_slow_request_and_lets_a_fast_one_finish():
    slow = asyncsim.run(wait_for_fetch(timeout=0.5), network=example_network(0.82))
    fast = asyncsim.run(wait_for_fetch(timeout=2), network=example_network(0.82))
    assert ([type(r) for r in slow.results], slow.elapsed) == ([TimeoutError], 0.5)
    assert (fast.results, fast.elapsed) == ((200,), 0.82)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: gather_fetches(requests=0), "requests must be an integer >= 1, got 0"),
        (lambda: gather_fetches(concurrency=0), "concurrency must be an integer >= 1, got 0"),
        (lambda: gather_fetches([]), "url must be a URL or a non-empty sequence of URLs"),
        (lambda: as_completed_fetches(requests=2, delays=[1]), "delays must have one entry"),
        (lambda: wait_fetches(["https://example.com"], return_when="SOON"), "return_when must"),
        (lambda: wait_for_fetch(timeout=-1), "timeout must be a finite number of seconds"),
    ],
)
def test_bad_workload_parameters_are_named(call, words):
    with pytest.raises(ValueError) as info:
        asyncsim.run(call(), network=example_network())
    assert words in str(info.value)
