"""pytest plugin, part two: the suite switch, ``asyncsim_mode = all`` (or ``--asyncsim-mode=all``).

Loaded with :mod:`asyncsim.testing.pytest_plugin` (its ``pytest_plugins``). With the
switch on, every test of the session runs on virtual time: whatever creates an event
loop (pytest-asyncio, anyio's asyncio backend, ``IsolatedAsyncioTestCase``,
``asyncio.run`` in a sync test) gets a virtual one, each test on its own clock, with
``time`` following it, a hang guard, and its virtual seconds reported (see
:mod:`asyncsim.testing.suite`). Like pytest-asyncio's ``asyncio_mode``, the ini option
sets it for a project and the command-line option overrides it::

    # pytest.ini / [tool.pytest.ini_options] / setup.cfg [tool:pytest]
    asyncsim_mode = all

    $ pytest --asyncsim-mode=all          # or: pytest -o asyncsim_mode=all

``@pytest.mark.asyncsim_real_time`` keeps one test on stock asyncio and the real clock.
Loading this module imports nothing but pytest; the switch's machinery is imported
when it is on.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator
from typing import Any

import pytest

__all__: list[str] = []

_SUITE_KEY: pytest.StashKey[Any] = pytest.StashKey()
_MODES = ("marked", "all")
_REAL_TIME_DOC = (
    "asyncsim_real_time: with asyncsim_mode = all, run this test on stock asyncio and the real "
    "clock"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asyncsim", "asyncsim: virtual-time asyncio tests")
    group.addoption(
        "--asyncsim-mode",
        choices=_MODES,
        default=None,
        help="'all': run every test (pytest-asyncio, anyio's asyncio backend, "
        "IsolatedAsyncioTestCase, asyncio.run in sync tests) on virtual time, each on its "
        "own clock; 'marked' (default): only @pytest.mark.asyncsim tests. Overrides the "
        "asyncsim_mode ini option.",
    )
    parser.addini(
        "asyncsim_mode",
        "'all' runs every test on virtual time (see --asyncsim-mode); default 'marked'",
        default="marked",
    )
    parser.addini(
        "asyncsim_timeout",
        "with asyncsim_mode = all: real seconds a test's event loop may run before it is "
        "stopped with a report of its tasks (0: no limit; default 60)",
        default="60",
    )
    parser.addini(
        "asyncsim_allow_real_io",
        "with asyncsim_mode = all: let tests use real sockets, pipes and subprocesses "
        "(default false: refused with asyncsim.RealIOError)",
        type="bool",
        default=False,
    )


def _suite_mode(config: pytest.Config) -> str:
    mode = config.getoption("asyncsim_mode", None) or config.getini("asyncsim_mode")
    mode = str(mode).strip().lower()
    if mode not in _MODES:
        raise pytest.UsageError(f"asyncsim_mode must be one of {', '.join(_MODES)}, got {mode!r}")
    return mode


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _REAL_TIME_DOC)
    if _suite_mode(config) != "all":
        return
    text = str(config.getini("asyncsim_timeout")).strip()
    try:
        timeout = float(text)
    except ValueError:
        timeout = -1.0
    if not timeout >= 0:
        raise pytest.UsageError(
            f"asyncsim_timeout must be a number of real seconds >= 0 (0: no limit), got {text!r}"
        )
    import asyncio

    from asyncsim.testing import suite

    state = _Suite(
        suite=suite,
        policy=suite.SuitePolicy(),
        previous=asyncio.events._event_loop_policy,  # type: ignore[attr-defined]
        watchdog=suite.Watchdog(timeout),
        stats=suite.SuiteStats(),
        allow_real_io=bool(config.getini("asyncsim_allow_real_io")),
    )
    asyncio.set_event_loop_policy(state.policy)
    config.stash[_SUITE_KEY] = state


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_SUITE_KEY, None)
    if state is None:
        return
    import asyncio

    state.watchdog.close()
    if asyncio.events._event_loop_policy is state.policy:  # type: ignore[attr-defined]
        asyncio.set_event_loop_policy(state.previous)
    del config.stash[_SUITE_KEY]


class _Suite:
    """The suite switch's session state."""

    def __init__(
        self,
        *,
        suite: Any,
        policy: Any,
        previous: Any,
        watchdog: Any,
        stats: Any,
        allow_real_io: bool,
    ) -> None:
        #: The module asyncsim.testing.suite, as imported when the session was configured.
        self.suite = suite
        self.policy = policy
        self.previous = previous
        self.watchdog = watchdog
        self.stats = stats
        self.allow_real_io = allow_real_io
        self.test: Any = None


def _seed(config: pytest.Config) -> int:
    seed = config.getoption("asyncsim_seed", None)
    return 0 if seed is None else seed


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    state = item.config.stash.get(_SUITE_KEY, None)
    if state is None:
        yield
        return
    if item.get_closest_marker("asyncsim_real_time") is not None:
        state.policy.real_time = True
        try:
            yield
        finally:
            state.policy.real_time = False
        return
    test = state.suite.TestClock(seed=_seed(item.config), allow_real_io=state.allow_real_io)
    state.test = test
    try:
        with test.enter():
            state.watchdog.arm(item.nodeid)
            try:
                yield
            finally:
                state.watchdog.disarm()
    finally:
        state.test = None
        state.stats.add(item.nodeid, test.virtual_seconds, test.real_seconds)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    state = item.config.stash.get(_SUITE_KEY, None)
    if state is not None and state.test is not None and call.when == "teardown":
        item.user_properties.append(("asyncsim_virtual_seconds", state.test.elapsed()))
    yield


def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """With the switch on, run an ``async def`` test that no other plugin claims."""
    item = pyfuncitem
    state = item.config.stash.get(_SUITE_KEY, None)
    if (
        state is None
        or type(item) is not pytest.Function
        or not inspect.iscoroutinefunction(item.obj)
        or item.get_closest_marker("anyio") is not None
        or item.get_closest_marker("asyncio") is not None
        or "anyio_backend" in item.funcargs
    ):
        return None
    kwargs = {arg: item.funcargs[arg] for arg in item._fixtureinfo.argnames}
    state.suite.run_coroutine_test(item.obj, kwargs)
    return True


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_SUITE_KEY, None)
    if state is None:
        return
    durations = config.getoption("durations", None)
    if durations is not None and state.stats.tests:
        shown = "" if durations == 0 else f" (slowest {durations})"
        terminalreporter.write_sep("=", f"asyncsim virtual durations{shown}")
        for line in state.stats.slowest(durations):
            terminalreporter.write_line(line)
    terminalreporter.write_line(state.stats.summary())
