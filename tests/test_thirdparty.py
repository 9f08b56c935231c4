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
    # janus's thread-blocking tests (a thread job blocked in a sync put/get/join until the
    # loop releases it) and aiometer's rate tests (a sub-tick sleep) run too: issue 13's
    # boundary lets a thread blocked in a wait release the clock, and issue 12's deadlines
    # are never early.
    Suite("janus", "janus==2.0.0", {"passed": 99, "skipped": 1}),
    Suite("aiometer", "aiometer==1.0.0", {"passed": 63}),
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
