"""pytest plugin: run ``async def`` tests on asyncsim's virtual loop.

Registered through the ``pytest11`` entry point, so installing asyncsim is enough::

    import asyncio
    import pytest

    @pytest.mark.asyncsim(until=60, seed=1)
    async def test_retry_gives_up_after_three_attempts(asyncsim_loop):
        await asyncio.sleep(30)
        assert asyncsim_loop.time() == 30.0

Marker ``asyncsim(until=None, seed=None, max_steps=None, cpu=None, livelock_steps=...)``:
``until`` stops the test at that virtual time (seconds), ``seed`` seeds ``random`` and
the models (default: ``--asyncsim-seed``, else 0), ``cpu`` is passed to
:func:`asyncsim.simulate` when this asyncsim has a CPU cost model. A test that spins
without letting virtual time pass fails with :class:`asyncsim.Livelock` (after
``livelock_steps`` callbacks, default 1,000,000; ``livelock_steps=None``: never).

Fixtures: ``asyncsim_loop`` (the running :class:`asyncsim.VirtualEventLoop`) and
``asyncsim_trace`` (the run's :class:`asyncsim.Trace` so far: every attribute access
takes a fresh snapshot, e.g. ``asyncsim_trace.tasks``).

With ``@given(schedules())`` (or any drawn :class:`asyncsim.Schedule` argument) the
marked test's own loop plays the drawn schedule, one simulation per example::

    @pytest.mark.asyncsim
    @given(schedule=schedules())
    async def test_no_deposit_is_lost(schedule):
        ...  # runs on a virtual loop that plays `schedule`

Options: ``--asyncsim-seed N``; ``--asyncsim-replay STRING`` plays a schedule
(printed by a failing property test) in every asyncsim test and makes every
:func:`asyncsim.testing.strategies.schedules` draw it; ``--asyncsim-report-on-failure DIR``
writes the timeline report of each failing asyncsim test under ``DIR`` and
prints its path. A test that deadlocks fails with the list of blocked tasks.
It coexists with pytest-asyncio in strict and auto mode: asyncsim-marked tests
are left to asyncsim, everything else to pytest-asyncio.

Installing asyncsim loads this module into every pytest session, so at load it imports
nothing but pytest: options, the marker and the hooks cost almost nothing, and asyncsim
itself (the loop, hypothesis for ``--asyncsim-replay``) is imported inside the hooks,
by the first test that uses it.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from asyncsim.testing import replay

if TYPE_CHECKING:
    from asyncsim.core.schedule import Schedule
    from asyncsim.runner import Run

__all__ = ["asyncsim_loop", "asyncsim_trace"]

#: The suite switch (``asyncsim_mode = all``) lives in its own plugin module, loaded with this one.
pytest_plugins = ["asyncsim.testing.suite_plugin"]

_MARKER_DOC = (
    "asyncsim(until=None, seed=None, max_steps=None, cpu=None, livelock_steps=1000000): "
    "run this async def test "
    "on asyncsim's virtual event loop (virtual seconds)"
)
_MARKER_KWARGS = ("until", "seed", "max_steps", "cpu", "livelock_steps")
_NO_TRACER = (
    "the asyncsim tracer (asyncsim.simulate(trace=True) returning Run.trace / Run.report) is "
    "not available in this version of asyncsim"
)
_SCHEDULE_KEY: pytest.StashKey[Schedule | None] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("asyncsim", "asyncsim: virtual-time asyncio tests")
    group.addoption(
        "--asyncsim-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed for asyncsim tests whose marker sets none (default 0)",
    )
    group.addoption(
        "--asyncsim-replay",
        default=None,
        metavar="STRING",
        help="play this schedule (a replay string such as 'S1;t=100000001') in every "
        "asyncsim test and make every asyncsim.testing.strategies.schedules() draw it",
    )
    group.addoption(
        "--asyncsim-report-on-failure",
        default=None,
        metavar="DIR",
        help="write the timeline report of each failing asyncsim test under DIR",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_DOC)
    text = config.getoption("asyncsim_replay", None)
    schedule = None
    if text is not None:
        from asyncsim.core.schedule import Schedule

        try:
            schedule = Schedule.from_string(text)
        except (TypeError, ValueError) as exc:
            raise pytest.UsageError(f"--asyncsim-replay: {exc}") from None
        replay.replayed = schedule
    config.stash[_SCHEDULE_KEY] = schedule


def pytest_unconfigure(config: pytest.Config) -> None:
    if config.stash.get(_SCHEDULE_KEY, None) is not None:
        replay.replayed = None


# -- coexistence with pytest-asyncio ------------------------------------------------


def _plain_function(item: pytest.Function) -> pytest.Function:
    """Rebuild an item another plugin (pytest-asyncio auto mode) took over as a plain one."""
    callspec = getattr(item, "callspec", None)
    return pytest.Function.from_parent(
        item.parent,
        name=item.name,
        callspec=callspec,
        fixtureinfo=item._fixtureinfo,
        keywords={callspec.id: True} if callspec is not None else None,
        originalname=item.originalname,
    )


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_pycollect_makeitem(
    collector: pytest.Collector, name: str, obj: object
) -> Generator[None, Any, None]:
    outcome = yield
    result = outcome.get_result()
    if not result:
        return
    items = result if isinstance(result, list) else [result]
    changed = False
    out = []
    for item in items:
        if (
            isinstance(item, pytest.Function)
            and type(item) is not pytest.Function
            and type(item).__module__.startswith("pytest_asyncio")
            and item.get_closest_marker("asyncsim") is not None
        ):
            item = _plain_function(item)
            changed = True
        out.append(item)
    if changed:
        outcome.force_result(out)


# -- fixtures ---------------------------------------------------------------------


class _Deferred:
    """Fixture value standing in for an object that exists only while the test runs."""

    def __init__(self, name: str, resolve: Callable[[], Any]) -> None:
        self._name = name
        self._resolve = resolve

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._resolve(), attr)

    def __repr__(self) -> str:
        return f"<asyncsim {self._name} (resolved while the test runs)>"


def _current_loop() -> Any:
    """``asyncio.get_running_loop()`` (asyncio is imported when a test needs it)."""
    import asyncio

    return asyncio.get_running_loop()


def _running_loop() -> Any:
    try:
        return _current_loop()
    except RuntimeError:
        raise RuntimeError(
            "asyncsim_loop is only usable while an @pytest.mark.asyncsim test runs"
        ) from None


def _require_marker(request: pytest.FixtureRequest, fixture: str) -> None:
    if request.node.get_closest_marker("asyncsim") is None:
        pytest.fail(
            f"the {fixture} fixture needs the test to be marked @pytest.mark.asyncsim "
            f"({request.node.nodeid} is not)",
            pytrace=False,
        )


@pytest.fixture
def asyncsim_loop(request: pytest.FixtureRequest) -> Any:
    """The :class:`asyncsim.VirtualEventLoop` the ``@pytest.mark.asyncsim`` test runs on."""
    _require_marker(request, "asyncsim_loop")
    return _Deferred("asyncsim_loop", _running_loop)


@pytest.fixture
def asyncsim_trace(request: pytest.FixtureRequest) -> Any:
    """The live trace of the ``@pytest.mark.asyncsim`` test's run (needs the tracer)."""
    _require_marker(request, "asyncsim_trace")
    if not _simulate_accepts("trace"):
        pytest.fail(f"asyncsim_trace: {_NO_TRACER}", pytrace=False)
    return _Deferred("asyncsim_trace", lambda: _live_trace(_current_loop()))


def _live_trace(loop: Any) -> Any:
    """The trace recorded so far on ``loop``: each attribute access takes a fresh snapshot."""
    from asyncsim.core.hosting import InstrumentHost
    from asyncsim.instruments.tracer import Tracer

    tracer = loop.instrument(Tracer) if isinstance(loop, InstrumentHost) else None
    if tracer is not None:
        return _Deferred("asyncsim_trace", tracer.build)
    raise RuntimeError(f"asyncsim_trace: no tracer is attached to {loop!r}")


# -- running a marked test ------------------------------------------------------------


@functools.cache
def _simulate_accepts(name: str) -> bool:
    from asyncsim.runner import simulate

    return name in inspect.signature(simulate).parameters


def _marker_options(item: pytest.Function) -> dict[str, Any]:
    marker = item.get_closest_marker("asyncsim")
    assert marker is not None
    if marker.args:
        pytest.fail(
            f"@pytest.mark.asyncsim takes keyword arguments only "
            f"({', '.join(_MARKER_KWARGS)}), got positional {marker.args!r}",
            pytrace=False,
        )
    unknown = sorted(set(marker.kwargs) - set(_MARKER_KWARGS))
    if unknown:
        pytest.fail(
            f"@pytest.mark.asyncsim got unknown argument(s) {', '.join(unknown)}; "
            f"it accepts {', '.join(_MARKER_KWARGS)}",
            pytrace=False,
        )
    options = dict(marker.kwargs)
    if options.get("cpu") is not None and not _simulate_accepts("cpu"):
        pytest.fail(
            f"@pytest.mark.asyncsim(cpu={options['cpu']!r}): this asyncsim has no CPU cost "
            "model (asyncsim.simulate does not accept cpu=)",
            pytrace=False,
        )
    if options.get("cpu") is None:
        options.pop("cpu", None)
    if options.get("seed") is None:
        seed = item.config.getoption("asyncsim_seed", None)
        options["seed"] = 0 if seed is None else seed
    return options


def _report_dir(base: Path, nodeid: str) -> Path:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:120] or "test"
    folder = base / stem
    counter = 2
    while folder.exists():  # never overwrite a report already there
        folder = base / f"{stem}-{counter}"
        counter += 1
    return folder


def _write_report(item: pytest.Function, run: Run) -> str | None:
    base = item.config.getoption("asyncsim_report_on_failure", None)
    if base is None:
        return None
    report = getattr(run, "report", None)
    if report is None or getattr(run, "trace", None) is None:
        return f"asyncsim: --asyncsim-report-on-failure: {_NO_TRACER}; no report written"
    folder = _report_dir(Path(base), item.nodeid)
    folder.parent.mkdir(parents=True, exist_ok=True)
    index = report(folder)
    return f"asyncsim timeline report: {index}"


def _simulate_test(
    item: pytest.Function,
    test: Callable[..., Any],
    kwargs: dict[str, Any],
    options: dict[str, Any],
    *,
    report: bool,
) -> None:
    from asyncsim.core.schedule import Schedule
    from asyncsim.errors import Deadlock, SimulationError
    from asyncsim.runner import simulate

    schedule = item.config.stash.get(_SCHEDULE_KEY, None)
    drawn = [name for name, value in kwargs.items() if isinstance(value, Schedule)]
    if len(drawn) > 1:
        pytest.fail(
            f"{item.nodeid} draws {len(drawn)} schedules ({', '.join(drawn)}); an "
            "@pytest.mark.asyncsim test runs on one virtual loop, which plays one schedule: "
            "draw one, or call asyncsim.simulate(..., schedule=...) yourself for the others",
            pytrace=False,
        )
    if drawn:
        # @given(schedules()) on a marked test: the drawn schedule is the one the test's
        # own loop plays (under --asyncsim-replay, every draw is the replayed schedule).
        schedule = kwargs[drawn[0]]

    async def main() -> Any:
        loop = _current_loop()
        call = dict(kwargs)
        if "asyncsim_loop" in call:
            call["asyncsim_loop"] = loop
        if "asyncsim_trace" in call:
            call["asyncsim_trace"] = _live_trace(loop)
        return await test(**call)

    main.__qualname__ = getattr(test, "__qualname__", main.__qualname__)
    extra: dict[str, Any] = {}
    wants_trace = "asyncsim_trace" in kwargs or (
        report and item.config.getoption("asyncsim_report_on_failure", None) is not None
    )
    if wants_trace and _simulate_accepts("trace"):
        extra["trace"] = True
    if schedule is not None:
        extra["schedule"] = schedule
    run = simulate(main(), **options, **extra)
    exc = run.exception
    if exc is None:
        return
    notes = [
        f"asyncsim: seed={options['seed']!r}"
        + (f", schedule {schedule.to_string()!r}" if schedule is not None else "")
    ]
    written = _write_report(item, run) if report else None
    if written is not None:
        notes.append(written)
    if isinstance(exc, Deadlock):
        listing = "\n".join(f"  - {task.describe()}" for task in exc.tasks)
        pytest.fail(
            f"{item.nodeid} deadlocked at t={exc.time!r}s (virtual): nothing is ready and "
            f"no timer is pending. Blocked tasks:\n{listing}\n" + "\n".join(notes),
            pytrace=False,
        )
    if isinstance(exc, SimulationError):
        pytest.fail(f"{exc}\n" + "\n".join(notes), pytrace=False)
    for note in notes:
        exc.add_note(note)
    raise exc


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if pyfuncitem.get_closest_marker("asyncsim") is None:
        return None
    # (a test also marked asyncio runs here too: pytest_pycollect_makeitem handed it over)
    func = pyfuncitem.obj
    inner = getattr(getattr(func, "hypothesis", None), "inner_test", None)
    target = inner if inner is not None else func
    if not inspect.iscoroutinefunction(target):
        pytest.fail(
            f"@pytest.mark.asyncsim needs an async def test, but {pyfuncitem.nodeid} "
            f"({getattr(target, '__qualname__', target)!r}) is a plain function; "
            "make it `async def` or remove the marker",
            pytrace=False,
        )
    options = _marker_options(pyfuncitem)
    kwargs = {arg: pyfuncitem.funcargs[arg] for arg in pyfuncitem._fixtureinfo.argnames}
    if inner is not None:
        # @given on an async test: every example is its own simulation.
        @functools.wraps(inner)
        def each_example(**example_kwargs: Any) -> None:
            _simulate_test(pyfuncitem, inner, example_kwargs, options, report=False)

        func.hypothesis.inner_test = each_example
        try:
            func(**kwargs)
        finally:
            func.hypothesis.inner_test = inner
        return True
    _simulate_test(pyfuncitem, target, kwargs, options, report=True)
    return True
