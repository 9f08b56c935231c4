"""Child-process side of the conformance runner: one CPython test module, our loop.

Usage::

    python -m tests.conformance._child MODULE OUTPUT.json [--exclusions FILE]
        [--progress FILE] [--only IDS.txt] [--repeat N] [--stock] [-v]

How our loop is installed (every patch is process-global, hence one process per
module):

* ``asyncio.set_event_loop_policy(asyncsim.VirtualEventLoopPolicy(allow_real_io=True))``:
  ``IsolatedAsyncioTestCase``, ``asyncio.run``, ``asyncio.Runner`` and
  ``asyncio.new_event_loop()`` get a virtual loop.
* The default policy class's loop factory is ours too, so a policy a test builds
  itself (``asyncio.DefaultEventLoopPolicy()``) or the one re-created after
  ``set_event_loop_policy(None)`` still makes virtual loops.
* ``asyncio.SelectorEventLoop`` (and 3.13's ``asyncio.EventLoop``) is replaced by
  a virtual subclass that takes an optional selector, for tests that build a
  selector loop directly (``asyncio.SelectorEventLoop(selectors.SelectSelector())``
  in test_events, ``loop_factory=asyncio.EventLoop`` in test_runners).
* ``asyncio.selector_events.BaseSelectorEventLoop`` is our loop while the test
  module is imported, so test_selector_events' ``TestBaseSelectorEventLoop``
  (its loop under test, with a mock selector) is built on ours.
* ``test_utils.TestCase.new_test_loop()`` *without* a clock script returns our
  loop with the fake file descriptors of CPython's ``TestLoop`` (see
  :func:`conformance_test_loop_class`): such tests (all of test_futures, some of
  test_tasks and test_base_events, the transport tests of test_selector_events,
  test_unix_events and test_proactor_events) need a loop and, for transports,
  fake readers and writers, but not a fake clock. A test double whose selector
  is a mock (test_selector_events' loop under test) counts no real fd.
* Left alone: ``test.test_asyncio.utils.TestLoop`` when a test scripts its clock
  (``new_test_loop(gen)``: CPython's test double with its own fake clock), and
  tests that instantiate ``base_events.BaseEventLoop`` or mock loops directly
  (they test CPython's base classes, not a loop).

``--stock`` installs nothing: the same tests on stock asyncio, for comparison.
Time patching (``asyncsim.patched_time``) is not part of the loop and is not enabled.

The child writes lines to the progress file as it goes (``start ID``, then the
outcome: ``ok|fail|error|skip|xfail|xpass ID``, then ``end ID``), so that the
parent can count what finished and name the test that hung if the module runs
past its real-time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import asyncio.selector_events
import asyncio.unix_events
import faulthandler
import importlib
import json
import sys
import time
import traceback
import unittest
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO
from unittest import mock

import asyncsim

#: Real seconds a stalled run waits before it reports (the module limit is the backstop).
REAL_TIME_LIMIT = 120.0


class ConformanceLoop(asyncsim.VirtualEventLoop):
    """``asyncio.SelectorEventLoop``'s signature on our loop, with real I/O allowed."""

    def __init__(self, selector: Any = None) -> None:
        super().__init__(allow_real_io=True, selector=selector, real_time_limit=REAL_TIME_LIMIT)

    def _count_real_fds(self) -> None:
        if isinstance(getattr(self, "_selector", None), mock.Mock):
            self._real_fds = self._passive_fds = 0  # a test's mock selector holds no real fd
            return
        super()._count_real_fds()


#: What our test double borrows from CPython's ``TestLoop``: its fake file descriptors.
_FAKE_FDS = (
    "_add_reader",
    "_remove_reader",
    "assert_reader",
    "assert_no_reader",
    "_add_writer",
    "_remove_writer",
    "assert_writer",
    "_ensure_fd_no_transport",
    "add_reader",
    "remove_reader",
    "add_writer",
    "remove_writer",
    "reset_counters",
    "_process_events",
    "_write_to_self",
)


def conformance_test_loop_class() -> type[ConformanceLoop]:
    """CPython's ``TestLoop`` without its scripted clock, on our loop.

    ``TestLoop`` is a test double: a loop whose readers and writers are entries in
    dicts (``loop.readers``, ``assert_reader(fd, cb)``), whose selector never
    reports an event and whose clock a generator scripts. Tests that ask for one
    without a script (``new_test_loop()``) drive transports over mock sockets with
    it. This class keeps its fake file descriptors and selector and replaces
    everything else (scheduler, clock, timers, thread jobs) by ours. Like
    ``TestLoop``, an iteration with nothing to do returns: the test itself is the
    outside world that makes things happen between iterations.
    """
    from test.test_asyncio import utils as test_utils

    borrowed = {name: test_utils.TestLoop.__dict__[name] for name in _FAKE_FDS}

    def __init__(self: Any) -> None:
        self.readers = {}
        self.writers = {}
        self.reset_counters()
        ConformanceLoop.__init__(self, selector=test_utils.TestSelector())

    def no_self_pipe(self: Any) -> None:  # (TestLoop has none: its selector never blocks)
        self._ssock = self._csock = None

    def _idle(self: Any, when: Any) -> None:
        if when is None and not self._has_outside_parties():
            return
        ConformanceLoop._idle(self, when)

    namespace = {
        **borrowed,
        "__init__": __init__,
        "_make_self_pipe": no_self_pipe,
        "_close_self_pipe": lambda self: None,
        "_idle": _idle,
        "__module__": __name__,
    }
    return type("ConformanceTestLoop", (ConformanceLoop,), namespace)


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
    asyncio.set_event_loop_policy(
        asyncsim.VirtualEventLoopPolicy(allow_real_io=True, real_time_limit=REAL_TIME_LIMIT)
    )
    asyncio.unix_events._UnixDefaultEventLoopPolicy._loop_factory = ConformanceLoop  # type: ignore[attr-defined]
    asyncio.SelectorEventLoop = ConformanceLoop  # type: ignore[misc]
    asyncio.unix_events.SelectorEventLoop = ConformanceLoop  # type: ignore[misc]
    if hasattr(asyncio, "EventLoop"):  # 3.13+
        asyncio.EventLoop = ConformanceLoop
        asyncio.unix_events.EventLoop = ConformanceLoop
    from test.test_asyncio import utils as test_utils

    scripted = test_utils.TestCase.new_test_loop
    test_loop = conformance_test_loop_class()

    def new_test_loop(self: Any, gen: Any = None) -> Any:
        if gen is not None:  # a scripted clock: keep CPython's test double
            return scripted(self, gen)
        loop = test_loop()
        self.set_event_loop(loop)
        return loop

    test_utils.TestCase.new_test_loop = new_test_loop


def import_test_module(name: str, *, ours: bool) -> Any:
    """Import test module ``name``; with ``ours``, one whose loop under test subclasses
    ``BaseSelectorEventLoop`` (test_selector_events) builds on our loop instead."""
    if not ours:
        return importlib.import_module(name)
    base = asyncio.selector_events.BaseSelectorEventLoop
    asyncio.selector_events.BaseSelectorEventLoop = ConformanceLoop  # type: ignore[misc]
    try:
        return importlib.import_module(name)
    finally:
        asyncio.selector_events.BaseSelectorEventLoop = base  # type: ignore[misc]


def applies(entry: dict[str, str], version: str | None = None) -> bool:
    """True when exclusion ``entry`` is for this Python (``version``, default the running one).

    An entry's optional ``python`` key is a version specifier (``">=3.12"``), for
    tests that exist only on some Python versions; without it the entry is for
    every version.
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
    """Records passes and skip reasons, and writes progress lines as tests start and end."""

    progress: TextIO | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.passed: list[str] = []
        self.skips: dict[str, str] = {}

    def _note(self, line: str) -> None:
        if self.progress is not None:
            self.progress.write(line + "\n")
            self.progress.flush()

    def startTest(self, test: unittest.TestCase) -> None:
        self._note(f"start {test.id()}")
        super().startTest(test)

    def stopTest(self, test: unittest.TestCase) -> None:
        super().stopTest(test)
        self._note(f"end {test.id()}")

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self.passed.append(test.id())
        self._note(f"ok {test.id()}")

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addFailure(test, err)
        self._note(f"fail {test.id()}")

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        super().addError(test, err)
        self._note(f"error {test.id()}")

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self.skips[test.id()] = reason
        self._note(f"skip {test.id()} {reason}")

    def addExpectedFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addExpectedFailure(test, err)
        self._note(f"xfail {test.id()}")

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        super().addUnexpectedSuccess(test)
        self._note(f"xpass {test.id()}")


def run_module(
    module: str,
    exclusions: dict[str, str],
    only: set[str] | None,
    progress: TextIO | None,
    repeat: int = 1,
) -> dict[str, Any]:
    """Run every test of ``module`` except the excluded ones (each ``repeat`` times, a
    fresh instance each time); return the counts and failures."""
    suite = unittest.defaultTestLoader.loadTestsFromName(module)
    tests = list(_flatten(suite))
    if only is not None:
        tests = [t for t in tests if t.id() in only or _class_id(t) in only]
    if repeat > 1:
        tests = [type(t)(t._testMethodName) for _ in range(repeat) for t in tests]
    kept = unittest.TestSuite(t for t in tests if t.id() not in exclusions)
    excluded = sorted(t.id() for t in tests if t.id() in exclusions)
    _Result.progress = progress
    runner = unittest.TextTestRunner(
        stream=sys.stderr, verbosity=2 if "-v" in sys.argv else 1, resultclass=_Result
    )
    start = time.perf_counter()
    result: Any = runner.run(kept)
    wall = time.perf_counter() - start

    def problems(pairs: list[tuple[unittest.TestCase, str]]) -> dict[str, str]:
        found: dict[str, str] = {}
        for test, text in pairs:  # (a repeated test may fail more than once)
            key = test.id()
            while key in found:
                key += " (again)"
            found[key] = text
        return found

    return {
        "module": module,
        "run": result.testsRun,
        "passed": len(result.passed),
        "failures": problems(result.failures),
        "errors": problems(result.errors),
        "unexpected_successes": [t.id() for t in result.unexpectedSuccesses],
        "expected_failures": len(result.expectedFailures),
        "skips": result.skips,
        "excluded": excluded,
        "wall": wall,
        "loops": dict(LOOPS_CREATED),
    }


def _class_id(test: unittest.TestCase) -> str:
    return f"{type(test).__module__}.{type(test).__qualname__}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("module")
    parser.add_argument("output", type=Path)
    parser.add_argument("--exclusions")
    parser.add_argument("--progress", type=Path)
    parser.add_argument("--only", type=Path, help="a file of test (or class) ids to run")
    parser.add_argument("--repeat", type=int, default=1, help="run each test this many times")
    parser.add_argument("--stock", action="store_true", help="run on stock asyncio")
    parser.add_argument(
        "--dump-after", type=float, help="dump every thread's stack after this many seconds"
    )
    parser.add_argument("-v", action="store_true")
    args = parser.parse_args(argv)
    if args.dump_after:  # (the parent kills a module that runs past its limit)
        faulthandler.dump_traceback_later(args.dump_after, exit=False)
    module, output = args.module, args.output
    _count_loops()
    # ``module`` may also name one class or test inside a module (for debugging).
    top = module if module.count(".") < 3 else ".".join(module.split(".")[:3])
    try:
        if not args.stock:
            install()
        import_test_module(top, ours=not args.stock)
    except unittest.SkipTest as exc:  # a module CPython runs only elsewhere (Windows)
        output.write_text(json.dumps({"module": module, "not_applicable": str(exc)}))
        return 0
    except ImportError as exc:
        output.write_text(json.dumps({"module": module, "missing": str(exc)}))
        return 0
    only = set(args.only.read_text().split()) if args.only else None
    progress = args.progress.open("a") if args.progress else None
    try:
        exclusions = load_exclusions(args.exclusions, module)
        report = run_module(module, exclusions, only, progress, args.repeat)
    except BaseException:
        report = {"module": module, "crashed": traceback.format_exc()}
    finally:
        if progress is not None:
            progress.close()
    output.write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
