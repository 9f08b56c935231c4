"""Same program and seed, same run: generated programs run in two separate processes.

The two worker processes (:mod:`tests.determinism_worker`) differ in
``PYTHONHASHSEED`` and in the garbage they allocate before each program, so every
order that memory addresses decide (sets of tasks and futures, ``as_completed`` over
coroutines, ``wait``'s sets, ``TaskGroup`` and leftover cancellation) would differ
between them. Each program's log, outcome and trace bytes must be identical.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.determinism_programs import Tree, determinism_programs, execute

ROOT = Path(__file__).resolve().parent.parent


class Worker:
    def __init__(self, hash_seed: str, garbage_seed: int) -> None:
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.determinism_worker", str(garbage_seed)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, program: Tree, seed: int) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"program": program, "seed": seed}) + "\n")
        self.process.stdin.flush()

    def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the worker process ended"
        result: dict[str, Any] = json.loads(line)
        return result

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture(scope="module")
def workers() -> Iterator[tuple[Worker, Worker]]:
    pair = (Worker("1", 1), Worker("4242", 7))
    yield pair
    for worker in pair:
        worker.close()


def same_in_both(workers: tuple[Worker, Worker], program: Tree, seed: int) -> dict[str, Any]:
    for worker in workers:  # (both run it at once)
        worker.send(program, seed)
    first, second = (worker.receive() for worker in workers)
    assert first == second, program
    return first


_SETTINGS = dict(
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@settings(max_examples=80, **_SETTINGS)
@given(program=determinism_programs(), seed=st.integers(0, 3))
def test_generated_programs_give_identical_logs_and_trace_bytes_in_two_processes(
    workers, program, seed
):
    same_in_both(workers, program, seed)


@pytest.mark.slow
@settings(max_examples=1000, **_SETTINGS)
@given(program=determinism_programs(max_leaves=16), seed=st.integers(0, 1000))
def test_many_larger_generated_programs_give_identical_runs_in_two_processes(
    workers, program, seed
):
    same_in_both(workers, program, seed)


def test_as_completed_over_coroutines_starts_them_in_the_callers_order(workers):
    # Six equal sleeps: asyncio's set of coroutines gave 9 orders in 10 runs.
    program = ["as_completed", 0, *[["sleep", 2] for _ in range(6)]]
    result = same_in_both(workers, program, 1)
    got = [entry[3] for entry in result["log"] if entry[0] == "as_completed"]
    assert got == [1, 2, 3, 4, 5, 6]
    assert execute(program)["log"] == result["log"]  # and in this process too


def test_waits_sets_and_a_programs_own_sets_iterate_in_creation_order(workers):
    program = [
        "seq",
        0,
        ["wait", 1, ["sleep", 0], ["sleep", 0], ["sleep", 3], ["sleep", 3]],
        ["set", 0, *[["sleep", 1] for _ in range(5)]],
        ["futures", 1, *[["sleep", 0] for _ in range(5)]],
    ]
    log = same_in_both(workers, program, 1)["log"]
    assert [e[3] for e in log if e[0] in ("done", "pending")] == [
        ["Task-2", "Task-3"],
        ["Task-4", "Task-5"],
    ]
    assert [e[3] for e in log if e[0] == "set"] == [7, 8, 9, 10, 11]
    assert [e[3] for e in log if e[0] == "woken"] == [0, 1, 2, 3, 4]
    assert log[-1][:3] == ["end", 0, 0.375]  # each part ends after 0.125 s


def test_leftover_tasks_are_cancelled_in_creation_order_at_the_end_of_a_run(workers):
    program = ["gather", 0, *[["leftover", 1] for _ in range(5)]]
    log = same_in_both(workers, program, 1)["log"]
    assert [e[1] for e in log if e[0] == "leftover cancelled"] == [1, 2, 3, 4, 5]
    assert {e[2] for e in log if e[0] == "leftover cancelled"} == {0.125}
