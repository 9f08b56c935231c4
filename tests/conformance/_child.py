"""Child-process side of the conformance runner: one CPython test module, our loop.

Usage: ``python -m tests.conformance._child MODULE OUTPUT.json [EXCLUSIONS.toml]``.

How our loop is installed (every patch is process-global, hence one process per
module):

* ``asyncio.set_event_loop_policy(asyncsim.VirtualEventLoopPolicy(allow_real_io=True))``:
  ``IsolatedAsyncioTestCase``, ``asyncio.run``, ``asyncio.Runner`` and
  ``asyncio.new_event_loop()`` get a virtual loop.
* The default policy class's loop factory is ours too, so a policy a test builds
  itself (``asyncio.DefaultEventLoopPolicy()``) or the one re-created after
  ``set_event_loop_policy(None)`` still makes virtual loops.
* ``asyncio.SelectorEventLoop`` is replaced by a virtual subclass that takes an
  optional selector, for tests that build a selector loop directly
  (``asyncio.SelectorEventLoop(selectors.SelectSelector())`` in test_events).
* ``test_utils.TestCase.new_test_loop()`` *without* a clock script returns our
  loop too: such tests (all of test_futures, a few in test_tasks and
  test_base_events) only need a loop, not a fake clock.
* Left alone: ``test.test_asyncio.utils.TestLoop`` when a test scripts its clock
  (``new_test_loop(gen)``: CPython's test double with its own fake clock), and
  tests that instantiate ``base_events.BaseEventLoop``, ``BaseSelectorEventLoop``
  or mock loops directly (they test CPython's base classes, not a loop).

Time patching (``asyncsim.patched_time``) is not part of the loop and is not enabled.
"""

from __future__ import annotations

import asyncio
import asyncio.unix_events
import faulthandler
import importlib
import json
import os
import selectors
import sys
import time
import traceback
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncsim

#: Seconds one module may run before the child dumps its stacks and exits.
MODULE_TIMEOUT = float(os.environ.get("ASYNCSIM_CONFORMANCE_TIMEOUT", "900"))


class ConformanceLoop(asyncsim.VirtualEventLoop):
    """``asyncio.SelectorEventLoop``'s signature on our loop, with real I/O allowed."""

    def __init__(self, selector: selectors.BaseSelector | None = None) -> None:
        super().__init__(allow_real_io=True, selector=selector)


#: Loops created during the run, by class name (proof that ours were used).
LOOPS_CREATED: dict[str, int] = {}


def _count_loops() -> None:
    original = asyncio.base_events.BaseEventLoop.__init__

    def counting_init(self: Any, *args: Any, **kwargs: Any) -> None:
        name = "virtual" if isinstance(self, asyncsim.VirtualEventLoop) else type(self).__name__
        LOOPS_CREATED[name] = LOOPS_CREATED.get(name, 0) + 1
        original(self, *args, **kwargs)

    asyncio.base_events.BaseEventLoop.__init__ = counting_init  # type: ignore[method-assign]


def install() -> None:
    """Make every loop the tests ask for a virtual one (see the module docstring)."""
    _count_loops()
    asyncio.set_event_loop_policy(asyncsim.VirtualEventLoopPolicy(allow_real_io=True))
    asyncio.unix_events._UnixDefaultEventLoopPolicy._loop_factory = ConformanceLoop  # type: ignore[attr-defined]
    asyncio.SelectorEventLoop = ConformanceLoop  # type: ignore[misc]
    asyncio.unix_events.SelectorEventLoop = ConformanceLoop  # type: ignore[misc]
    from test.test_asyncio import utils as test_utils

    scripted = test_utils.TestCase.new_test_loop

    def new_test_loop(self: Any, gen: Any = None) -> Any:
        if gen is not None:  # a scripted clock: keep CPython's test double
            return scripted(self, gen)
        loop = ConformanceLoop()
        self.set_event_loop(loop)
        return loop

    test_utils.TestCase.new_test_loop = new_test_loop


def applies(entry: dict[str, str], version: str | None = None) -> bool:
    """True when exclusion ``entry`` is for this Python (``version``, default the running one).

    An entry's optional ``python`` key is a version specifier (``">=3.12"``), for
    tests that exist, or race, only on some Python versions; without it the entry
    is for every version.
    """
    spec = entry.get("python")
    if spec is None:
        return True
    from packaging.specifiers import SpecifierSet

    if version is None:
        version = ".".join(map(str, sys.version_info[:3]))
    return SpecifierSet(spec).contains(version, prereleases=True)


def load_exclusions(path: str | None, module: str) -> dict[str, str]:
    """Excluded test ids of ``module`` -> reason, from the exclusions file (this Python's)."""
    if not path:
        return {}
    import tomllib

    with open(path, "rb") as f:
        data = tomllib.load(f)
    return {
        entry["id"]: entry["reason"]
        for entry in data.get("exclude", [])
        if entry["id"].startswith(module + ".") and applies(entry)
    }


def _flatten(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _flatten(test)
        else:
            yield test


class _Result(unittest.TextTestResult):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.passed: list[str] = []

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self.passed.append(test.id())


def run_module(module: str, exclusions: dict[str, str]) -> dict[str, Any]:
    """Run every test of ``module`` except the excluded ones; return the counts and failures."""
    suite = unittest.defaultTestLoader.loadTestsFromName(module)
    tests = list(_flatten(suite))
    kept = unittest.TestSuite(t for t in tests if t.id() not in exclusions)
    excluded = sorted(t.id() for t in tests if t.id() in exclusions)
    runner = unittest.TextTestRunner(
        stream=sys.stderr, verbosity=2 if "-v" in sys.argv else 1, resultclass=_Result
    )
    start = time.perf_counter()
    result: Any = runner.run(kept)
    wall = time.perf_counter() - start

    def problems(pairs: list[tuple[unittest.TestCase, str]]) -> dict[str, str]:
        return {test.id(): text for test, text in pairs}

    return {
        "module": module,
        "run": result.testsRun,
        "passed": len(result.passed),
        "failures": problems(result.failures),
        "errors": problems(result.errors),
        "unexpected_successes": [t.id() for t in result.unexpectedSuccesses],
        "expected_failures": len(result.expectedFailures),
        "skipped": len(result.skipped),
        "excluded": excluded,
        "wall": wall,
        "loops": dict(LOOPS_CREATED),
    }


def main(argv: list[str]) -> int:
    module, output = argv[0], Path(argv[1])
    exclusions_path = argv[2] if len(argv) > 2 and argv[2] != "-v" else None
    faulthandler.dump_traceback_later(MODULE_TIMEOUT, exit=True)
    try:
        install()
        # ``module`` may also name one class or test inside a module (for debugging).
        importlib.import_module(
            module if module.count(".") < 3 else ".".join(module.split(".")[:3])
        )
    except ImportError as exc:
        output.write_text(json.dumps({"module": module, "missing": str(exc)}))
        return 0
    try:
        report = run_module(module, load_exclusions(exclusions_path, module))
    except BaseException:
        report = {"module": module, "crashed": traceback.format_exc()}
    output.write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
