"""Duration scaling: the seam a what-if profile uses to make one component faster or slower.

A *component* is anything that gives a program virtual durations:

==========  ==========================================================  ==========================
kind        what                                                        key
==========  ==========================================================  ==========================
sleep       an ``asyncio.sleep`` call site in the program               ``sleep:FILE:LINE``
timer       a ``loop.call_later``/``call_at`` call site in the program  ``timer:FILE:LINE``
block       a blocking ``time.sleep`` call site (it holds the loop)     ``block:FILE:LINE``
cpu         the CPU cost model's charge for one coroutine's steps       ``cpu:QUALNAME``
thread      a thread job's modeled duration, by function                ``thread:QUALNAME``
service     a modeled ``Server``'s service time, a ``RateLimiter``'s    ``service:NAME``
            interval between tokens
http        a modeled HTTP service's response time                      ``http:HOST``
link        time on the wire between two hosts (latency, transmission,  ``link:A<->B``
            retransmissions)
network     the network's DNS and TLS handshake times                   ``network:dns``, ``…:tls``
==========  ==========================================================  ==========================

``FILE`` is the code's file name as Python knows it (``co_filename``), ``LINE`` the line.
A sleep's call site is the line that called ``asyncio.sleep``; a timer's, the line
that called ``call_later``/``call_at``. Only the program's own lines count: sleeps and
timers of asyncsim's models are covered by the model's component, and those of the
standard library and installed packages (their timeouts, their housekeeping) are not
the program's work. asyncio's deadlines (``wait_for``, ``asyncio.timeout``, also when a
library sets them) are never scaled; they are counted as ``deadline:FILE:LINE`` (the
program's line that set them, through any library) with how many of them fired,
which is how a profile sees timeouts start firing.

A :class:`DurationScaling` multiplies the durations of one component (its ``target``)
by ``factor`` and counts, for every component, how many durations it gave and their
total before scaling. It is activated for the simulations run inside
``with scaling(DurationScaling(...)):``. A :class:`~asyncsim.core.loop.VirtualEventLoop`
reads the active scaling once, when it is created (``loop.durations``), and only then
hooks its ``call_later``/``call_at`` on that loop alone; models and the CPU cost model
ask :func:`current` when they draw a duration. With no scaling active (the default)
nothing here runs: no hook, no frame is read, no duration changes.

Examples
--------
>>> import asyncio, asyncsim
>>> from asyncsim.core.durations import DurationScaling, scaling
>>> async def main():
...     await asyncio.sleep(2.0)
>>> plan = DurationScaling()                       # count only
>>> with scaling(plan):
...     asyncsim.simulate(main()).elapsed
2.0
>>> [key] = plan.counts
>>> with scaling(DurationScaling(key, 0.25)):      # that sleep, 75 % faster
...     asyncsim.simulate(main()).elapsed
0.5
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import math
import os
import site
import sys
import sysconfig
import types
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from asyncsim._validate import check_number, check_str, is_number
from asyncsim.clock import INFINITE_TICKS, to_seconds, to_ticks
from asyncsim.core.introspect import coroutine_name

__all__ = [
    "KINDS",
    "DurationScaling",
    "active",
    "current",
    "install",
    "scaling",
    "split_key",
]

#: The kinds of components (see the module docstring), in the order reports list them.
KINDS = ("sleep", "timer", "block", "cpu", "thread", "service", "http", "link", "network")

_active: ContextVar[DurationScaling | None] = ContextVar("asyncsim_durations", default=None)
# asyncio.sleep's code object: a timer scheduled from it is a sleep of its caller.
_SLEEP_CODE = asyncio.sleep.__code__
_CO_COROUTINE = inspect.CO_COROUTINE


def active() -> DurationScaling | None:
    """The scaling activated by :func:`scaling` in this context, or None."""
    return _active.get()


def current() -> DurationScaling | None:
    """The scaling of the running loop (else of this context), or None.

    Models call this when they draw a duration; None means "leave it as it is".
    """
    loop = asyncio._get_running_loop()
    if loop is not None:
        return getattr(loop, "durations", None)
    return _active.get()


@contextmanager
def scaling(plan: DurationScaling) -> Iterator[DurationScaling]:
    """Activate ``plan`` for the loops created (and models drawing) inside the block."""
    if not isinstance(plan, DurationScaling):
        raise TypeError(f"scaling(plan) needs a DurationScaling, got {plan!r}")
    token = _active.set(plan)
    try:
        yield plan
    finally:
        _active.reset(token)


def split_key(key: str) -> tuple[str, str]:
    """``"sleep:/x/app.py:12"`` -> ``("sleep", "/x/app.py:12")``."""
    kind, _, rest = key.partition(":")
    return kind, rest


_ASYNCIO_DIR = os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep
# The asyncsim package folder (sim/), one level above this module.
_SIM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _library_dirs() -> tuple[str, ...]:
    """The standard library's and the installed packages' folders."""
    paths = {sysconfig.get_paths().get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    with contextlib.suppress(AttributeError):  # (virtualenv's old site.py has neither)
        paths.update(site.getsitepackages())
        paths.add(site.getusersitepackages())
    return tuple(sorted(os.path.abspath(p) + os.sep for p in paths if p))


_LIBRARY_DIRS = _library_dirs()


def _owner(frame: types.FrameType) -> str:
    """Whose code runs in ``frame``: ``"asyncio"``, ``"asyncsim"`` (models included),
    ``"library"`` (the standard library, installed packages) or ``""`` (the program)."""
    filename = frame.f_code.co_filename
    if filename.startswith(_ASYNCIO_DIR):
        return "asyncio"
    if filename.startswith(_SIM_DIR):
        return "asyncsim"
    if filename.startswith("<"):
        return ""  # the program's, even in a doctest of an asyncsim module
    name = frame.f_globals.get("__name__")
    if isinstance(name, str) and name.startswith("asyncsim."):
        return "asyncsim"  # asyncsim.models may live in a folder of its own (a checkout)
    if filename.startswith(_LIBRARY_DIRS):
        return "library"
    return ""


def _site(frame: types.FrameType | None, kind: str) -> tuple[str, str]:
    assert frame is not None
    code = frame.f_code
    line = frame.f_lineno
    where = f"{os.path.basename(code.co_filename)}:{line}"
    what = {"sleep": "sleep", "timer": "timer", "block": "time.sleep", "deadline": "timeout"}[kind]
    return f"{kind}:{code.co_filename}:{line}", f"{what} in {code.co_qualname}() at {where}"


class DurationScaling:
    """Multiply one component's virtual durations by ``factor``; count every component's.

    Parameters
    ----------
    target : str, optional
        The key of the component to scale (see the module docstring); None scales
        nothing and only counts (a discovery run).
    factor : float
        What the target's durations are multiplied by: 0.5 halves them, 0 makes them
        take no time, 2 doubles them. A finite number >= 0.
    record : bool
        Also note when each duration ends and which task waits for it (:attr:`ends`).

    Attributes
    ----------
    counts : dict
        Component key -> durations it gave (timers scheduled, draws made).
    totals : dict
        Component key -> the sum of those durations before scaling, in ticks (ns).
    labels : dict
        Component key -> a readable name (``"sleep in fetch() at app.py:12"``).
    deadlines, deadlines_cancelled : dict
        ``deadline:FILE:LINE`` -> asyncio deadlines scheduled there, and cancelled
        before they fired (the difference fired, or was still pending at the end).
    """

    def __init__(
        self, target: str | None = None, factor: float = 1.0, *, record: bool = False
    ) -> None:
        if target is not None:
            check_str("target", target, empty=False)
        self.target = target
        self.factor = check_number("factor", factor, minimum=0, what="a scale factor")
        #: With ``record``: ``(waiting task's creation index, its coroutine, end tick) ->
        #: keys`` of the durations tasks waited for, to tell which component each stretch
        #: of a traced run's critical path is (a trace numbers tasks in creation order).
        self.ends: dict[tuple[int, str, int], set[str]] | None = {} if record else None
        self.counts: dict[str, int] = {}
        self.totals: dict[str, int] = {}
        self.labels: dict[str, str] = {}
        self.deadlines: dict[str, int] = {}
        self.deadlines_cancelled: dict[str, int] = {}
        # id(handle) -> (deadline key, weak reference to the handle)
        self._deadline_handles: dict[int, tuple[str, weakref.ref[Any]]] = {}
        # whose code each code object is, and each call site's (key, label), this run
        self._owners: dict[types.CodeType, str] = {}
        self._sites: dict[tuple[types.CodeType, int, str], tuple[str, str]] = {}
        # tasks whose own coroutine is asyncio.sleep() -> (key, label) of their creation
        self._task_sites: weakref.WeakKeyDictionary[asyncio.Task[Any], tuple[str, str]] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"DurationScaling(target={self.target!r}, factor={self.factor!r})"

    # -- durations ------------------------------------------------------------------------

    def ticks(
        self,
        key: str,
        label: str | Callable[[], str],
        ticks: int,
        task: asyncio.Task[Any] | None = None,
    ) -> int:
        """Count a duration of ``ticks`` (ns) given by component ``key``; return it scaled.

        ``label`` (or a function returning it, called once per key) names the component;
        ``task`` is the task that waits for it (default: the current task).
        """
        counts = self.counts
        if key in counts:
            counts[key] += 1
            self.totals[key] += ticks
        else:
            counts[key] = 1
            self.totals[key] = ticks
            self.labels[key] = label if isinstance(label, str) else label()
        if key == self.target and ticks < INFINITE_TICKS:
            ticks = round(ticks * self.factor)
        if self.ends is not None:
            self._note_end(key, ticks, task)
        return ticks

    def _note_end(self, key: str, ticks: int, task: asyncio.Task[Any] | None) -> None:
        loop = asyncio._get_running_loop()
        clock = getattr(loop, "clock", None)
        if loop is None or clock is None or self.ends is None:
            return
        if task is None:
            task = asyncio.current_task(loop)
        order = getattr(loop, "_task_order", None)
        if task is None or order is None or task not in order:
            return
        index = (order[task], coroutine_name(task), clock.now + ticks)
        self.ends.setdefault(index, set()).add(key)

    def factor_of(self, key: str, label: str | Callable[[], str], ticks: int) -> float:
        """Count a duration of ``ticks`` made of several parts; the factor to scale each by."""
        ends, self.ends = self.ends, None  # (a transfer is not a wait of this task)
        self.ticks(key, label, 0)
        self.ends = ends
        self.totals[key] += ticks
        return self.factor if key == self.target else 1.0

    def seconds(self, key: str, label: str | Callable[[], str], seconds: float) -> float:
        """:meth:`ticks` for a duration in virtual seconds (returned unchanged unless scaled)."""
        ticks = to_ticks(seconds)
        scaled = self.ticks(key, label, ticks)
        return seconds if scaled == ticks else to_seconds(scaled)

    def fired(self) -> dict[str, int]:
        """``deadline:FILE:LINE`` -> deadlines scheduled there and not cancelled."""
        cancelled = self.deadlines_cancelled
        return {k: n - cancelled.get(k, 0) for k, n in self.deadlines.items()}

    # -- timers (called by the hooks :func:`install` puts on a loop) -------------------------

    def _owner(self, frame: types.FrameType) -> str:
        """:func:`_owner`, remembered per code object for this run."""
        code = frame.f_code
        owner = self._owners.get(code)
        if owner is None:
            owner = self._owners[code] = _owner(frame)
        return owner

    def _site(self, frame: types.FrameType, kind: str) -> tuple[str, str]:
        """:func:`_site`, remembered per code object and line for this run."""
        index = (frame.f_code, frame.f_lineno, kind)
        site = self._sites.get(index)
        if site is None:
            site = self._sites[index] = _site(frame, kind)
        return site

    def timer(self, frame: types.FrameType | None, ticks: int) -> tuple[int, str | None]:
        """A timer of ``ticks`` (ns from now) scheduled by code running in ``frame``.

        Returns the delay to use and, for an asyncio deadline, its key (else None).
        """
        owner = self._owner(frame) if frame is not None else "asyncsim"
        if owner == "asyncio":
            assert frame is not None
            kind = "sleep" if frame.f_code is _SLEEP_CODE else "deadline"
            back = frame.f_back
            if kind == "sleep" and (back is None or not back.f_code.co_flags & _CO_COROUTINE):
                # asyncio.sleep() is a task's own coroutine: the line that made the task
                task = asyncio.current_task()
                site = self._task_sites.get(task) if task is not None else None
                return (ticks if site is None else self.ticks(*site, ticks)), None
            # a sleep belongs to the code that called it; a deadline (wait_for, timeout)
            # to the program's line that set it, through any library that did
            skip = ("asyncio",) if kind == "sleep" else ("asyncio", "library")
            frame = back
            while frame is not None and self._owner(frame) in skip:
                frame = frame.f_back
            if frame is None or self._owner(frame):
                return ticks, None  # asyncio's own, a model's or a library's: no component
        elif owner:
            # a model's timer (the model's component covers it) or a library's (its
            # timeouts and housekeeping are not the program's work)
            return ticks, None
        else:
            kind = "timer"
        assert frame is not None
        key, label = self._site(frame, kind)
        if kind == "deadline":
            self.deadlines[key] = self.deadlines.get(key, 0) + 1
            self.labels.setdefault(key, label)
            return ticks, key
        return self.ticks(key, label, ticks), None

    def block(self, frame: types.FrameType | None, ticks: int) -> int:
        """A blocking ``time.sleep`` of ``ticks`` called in ``frame``: the ticks to block."""
        if frame is None or self._owner(frame):
            return ticks
        key, label = self._site(frame, "block")
        return self.ticks(key, label, ticks)

    def _task_created(self, frame: types.FrameType | None, task: asyncio.Task[Any]) -> None:
        """A task runs ``asyncio.sleep()`` itself: remember the program's line that made it."""
        while frame is not None and self._owner(frame) == "asyncio":
            frame = frame.f_back
        if frame is not None and not self._owner(frame):
            self._task_sites[task] = self._site(frame, "sleep")

    def _deadline_scheduled(self, handle: asyncio.TimerHandle, key: str) -> None:
        handles = self._deadline_handles
        index = id(handle)

        def gone(ref: weakref.ref[Any]) -> None:
            entry = handles.get(index)
            if entry is not None and entry[1] is ref:
                del handles[index]

        handles[index] = (key, weakref.ref(handle, gone))

    def _timer_cancelled(self, handle: asyncio.TimerHandle) -> None:
        entry = self._deadline_handles.pop(id(handle), None)
        if entry is not None and entry[1]() is handle:
            key = entry[0]
            self.deadlines_cancelled[key] = self.deadlines_cancelled.get(key, 0) + 1


def install(loop: Any, plan: DurationScaling) -> None:
    """Hook ``loop``'s ``create_task``, ``call_later``, ``call_at`` and timer cancellation.

    The hooks are attributes of this one loop object (its class is untouched), put in
    place by the loop itself when it is created while ``plan`` is active.
    """
    cls = type(loop)
    create_task = cls.create_task
    call_later = cls.call_later
    call_at = cls.call_at
    cancelled = cls._timer_handle_cancelled
    clock = loop.clock
    getframe = sys._getframe

    def scaled_call_later(
        delay: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        if not (is_number(delay) and math.isfinite(delay)):
            return call_later(loop, delay, callback, *args, context=context)
        ticks = to_ticks(delay)
        scaled, deadline = plan.timer(getframe(1), ticks)
        if scaled != ticks:
            delay = to_seconds(scaled)
        handle = call_later(loop, delay, callback, *args, context=context)
        if deadline is not None:
            plan._deadline_scheduled(handle, deadline)
        return handle

    def scaled_call_at(
        when: float, callback: Callable[..., object], *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        if not (is_number(when) and math.isfinite(when)):
            return call_at(loop, when, callback, *args, context=context)
        now = clock.now
        ticks = max(0, to_ticks(when) - now)
        scaled, deadline = plan.timer(getframe(1), ticks)
        if scaled != ticks:
            when = to_seconds(now + scaled)
        handle = call_at(loop, when, callback, *args, context=context)
        if deadline is not None:
            plan._deadline_scheduled(handle, deadline)
        return handle

    def scaled_create_task(coro: Any, *, name: Any = None, context: Any = None) -> Any:
        task = create_task(loop, coro, name=name, context=context)
        if getattr(coro, "cr_code", None) is _SLEEP_CODE:  # gather(asyncio.sleep(1), ...)
            plan._task_created(getframe(1), task)
        return task

    def timer_handle_cancelled(handle: asyncio.TimerHandle) -> None:
        plan._timer_cancelled(handle)
        cancelled(loop, handle)

    loop.create_task = scaled_create_task
    loop.call_later = scaled_call_later
    loop.call_at = scaled_call_at
    loop._timer_handle_cancelled = timer_handle_cancelled
