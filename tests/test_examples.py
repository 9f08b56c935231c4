"""The seed programs replay with exact virtual times and the lines real asyncio prints."""

import pytest

import asyncsim
from asyncsim.cli.main import demo_models, example_scripts
from asyncsim.script import load_model

from .conftest import EXAMPLES


def replay(name, capsys):
    models = {}
    for path in demo_models(EXAMPLES / name):  # what `asyncsim demo` uses
        models.update(load_model(path))
    outcome = asyncsim.run_script(EXAMPLES / name, **models)
    out = capsys.readouterr().out
    assert outcome.exit_code == 0, out
    return outcome, out.splitlines()


def test_the_seed_pair_prints_exactly_4_and_7(capsys):
    outcome, lines = replay("seed_pair.py", capsys)
    assert lines == ["4.0", "7.0"]
    assert outcome.elapsed == 11.0


def test_a_future_set_by_another_task_resolves_at_5_seconds(capsys):
    outcome, lines = replay("future_result.py", capsys)
    assert lines == ["I'm waiting for future to set with requests result", "Future :"]
    assert outcome.elapsed == 5.0


def test_a_done_callback_fires_when_the_future_is_set(capsys):
    outcome, lines = replay("done_callback.py", capsys)
    assert lines == ["Future done. Result: Future result"]
    assert outcome.elapsed == 2.0


def test_wait_for_cancels_the_slow_coroutine_at_its_timeout(capsys):
    outcome, lines = replay("wait_for.py", capsys)
    assert lines == ["foo finished", "slow() was cancelled", "slow() timed out after 2.0 s"]
    assert outcome.elapsed == 3.0


def test_the_sweep_example_finds_where_more_concurrency_stops_helping(capsys):
    outcome, lines = replay("sweep_concurrency.py", capsys)
    assert lines[0].split() == [
        "concurrency", "runs", "errors", "value", "p50", "p90", "p99", "max"
    ]  # fmt: skip
    assert [line.split()[:3] for line in lines[2::2][:6]] == [
        [str(c), "20", "0"] for c in (1, 2, 4, 8, 16, 32)
    ]
    assert lines[-1].startswith("p99 makespan stops improving (within 5%) at concurrency=8: ")
    assert outcome.elapsed == 0.0  # the runs have their own clocks, the script's stays at 0


def test_the_whatif_example_shows_the_critical_path_and_the_profile_disagree(capsys):
    outcome, lines = replay("whatif_fetch.py", capsys)
    assert lines == [
        "first run: 1.907 s; share of its critical path -> 50 % faster (p50, p99)",
        "  sleep in fetch_page() at whatif_fetch.py:42: 31 % -> -15.8 %, -15.7 %",
        "  Server('api'): 57 % -> -5.9 %, -3.4 %",
        "  Server('cdn'): 11 % -> -2.1 %, -0.8 %",
        "slower: Server('api'), 4x as slow: 3 of 5 runs changed: timeouts fired: 0 -> 0.8 per "
        "run (mean); Server('api'): 60 -> 60.8 per run (mean); Server('cdn'): 60 -> 60.8 per "
        "run (mean)",
        "slower: Server('cdn'), 4x as slow: 2 of 5 runs changed: timeouts fired: 0 -> 0.4 per "
        "run (mean); Server('api'): 60 -> 60.4 per run (mean); Server('cdn'): 60 -> 60.4 per "
        "run (mean)",
        "slower: otherwise only the timing changed",
    ]
    assert outcome.elapsed == 0.0  # the runs have their own clocks, the script's stays at 0


def test_a_cpu_bound_coroutine_makes_the_heartbeat_late_only_under_a_cpu_model(capsys):
    outcome = asyncsim.run_script(EXAMPLES / "cpu_blocking.py")
    assert capsys.readouterr().out.splitlines() == [
        "heartbeat 1 at 0.10 s (0.00 s late)",
        "heartbeat 2 at 0.20 s (0.00 s late)",
        "heartbeat 3 at 0.30 s (0.00 s late)",
        "all done after 0.30 s",
    ]
    assert outcome.elapsed == 0.3
    outcome = asyncsim.run_script(EXAMPLES / "cpu_blocking.py", cpu={"crunch": 2.0})
    assert capsys.readouterr().out.splitlines() == [
        "heartbeat 1 at 2.00 s (1.90 s late)",
        "heartbeat 2 at 2.10 s (1.90 s late)",
        "heartbeat 3 at 2.20 s (1.90 s late)",
        "all done after 2.20 s",
    ]
    assert outcome.elapsed == 2.2


def test_the_aiohttp_gather_against_modeled_example_com_prints_the_notes_lines(capsys):
    outcome, lines = replay("gather.py", capsys)
    assert lines == ["Function fetch_status took 0.82 seconds"] * 10 + [
        str([200] * 10),
        "Function main took 0.82 seconds",
    ]
    assert outcome.elapsed == 0.82


def test_the_aiohttp_gather_with_return_exceptions_keeps_aiohttps_bad_url_error(capsys):
    outcome, lines = replay("gather_exceptions.py", capsys)
    error = "NonHttpUrlClientError(URL('python://example.com'))"
    assert lines == [
        f"All results: [200, {error}, 200]",
        f"Exceptions: [{error}]",
        "Successful results: [200, 200]",
        f"gather raised {error}",
    ]
    assert outcome.elapsed == 0.82


def test_the_aiohttp_as_completed_times_out_the_late_requests_at_2_seconds(capsys):
    outcome, lines = replay("as_completed.py", capsys)
    assert lines[:11] == ["200"] * 10 + ["all ten done after 0.82 s"]
    assert lines[11:] == ["200", "200"] + ["Timeout happened"] * 8 + ["gave up after 2.0 s"]
    assert outcome.elapsed == pytest.approx(2.82, abs=1e-9)


def test_the_aiohttp_wait_modes_return_at_the_expected_virtual_times(capsys):
    outcome, lines = replay("wait.py", capsys)
    assert lines == ["200"] * 10 + [
        "ALL_COMPLETED: 10 done, 0 pending at 0.82 s",
        "request failed: NonHttpUrlClientError(URL('python://bad'))",
        "FIRST_EXCEPTION: 1 done, 2 pending at 0.0 s",
        *["200"] * 10,
        "FIRST_COMPLETED: 1 round(s), finished at 0.82 s",
        "timeout=1: 1 done, 1 pending at 1.0 s",
    ]
    assert outcome.elapsed == pytest.approx(2.64, abs=1e-9)


def test_the_aiohttp_wait_for_cancels_a_request_slower_than_its_timeout(capsys):
    outcome, lines = replay("wait_for_request.py", capsys)
    assert lines == ["the request timed out after 0.5 s", "200"]
    assert outcome.elapsed == 1.32


def test_every_aiohttp_example_names_its_model_for_the_demo():
    for script in example_scripts(EXAMPLES):
        uses_aiohttp = "import aiohttp" in script.read_text()
        assert bool(demo_models(script)) == uses_aiohttp, script.name


def test_every_example_program_is_covered_by_a_test():
    tested = {
        "seed_pair.py",
        "future_result.py",
        "done_callback.py",
        "gather.py",
        "gather_exceptions.py",
        "as_completed.py",
        "wait.py",
        "wait_for.py",
        "wait_for_request.py",
        "sweep_concurrency.py",
        "whatif_fetch.py",
        "cpu_blocking.py",
        # tests/test_bug_hunts.py
        "bug_lost_update.py",
        "bug_cache_race.py",
        "bug_timeout_leak.py",
    }
    assert {p.name for p in example_scripts(EXAMPLES)} <= tested
