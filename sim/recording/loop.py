"""A real asyncio event loop that hosts instruments: the loop a recording runs programs on.

:class:`RecordingEventLoop` is ``asyncio.SelectorEventLoop``, unchanged in what it
does (real time, real sockets), that calls the hooks of
:class:`~asyncsim.core.instrument.Instrument` as the virtual loop does: a task
created, a callback scheduled, before and after each callback. So the instruments
of a simulation work on a real run too: the :class:`~asyncsim.instruments.tracer.Tracer`
records a real run's timeline (on :class:`RealClock`, nanoseconds since the recording
began), and :class:`~asyncsim.instruments.stepcpu.StepCpuRecorder` measures the CPU
time of each task step.

Hooks: ``before_step`` is called in attachment order and ``after_step`` in the
reverse order, so the instrument attached last measures the step alone. An
instrument whose hook raises is reported through the exception handler and
detached, as on the virtual loop. (Python 3.13 runs ``call_soon_threadsafe``
callbacks outside the hooks; they are never task steps.)
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from typing import Any, TypeVar

from asyncsim.core.instrument import Instrument

__all__ = ["RealClock", "RecordingEventLoop"]

_T = TypeVar("_T")
_monotonic_ns = time.monotonic_ns  # read at import: time patching never touches it


class RealClock:
    """The real clock in integer nanoseconds since ``origin_ns`` (``time.monotonic_ns``).

    It has the shape of :class:`asyncsim.Clock` that instruments read (``now``), so a
    tracer records real time as it records virtual time.
    """

    def __init__(self, origin_ns: int | None = None) -> None:
        self.origin_ns = _monotonic_ns() if origin_ns is None else origin_ns
        self.on_block: Any = None

    @property
    def now(self) -> int:
        """Nanoseconds since the origin."""
        return _monotonic_ns() - self.origin_ns

    @property
    def origin(self) -> float:
        """The origin in seconds of ``time.monotonic()`` (what ``loop.time()`` reads)."""
        return self.origin_ns / 1e9

    def ticks(self, loop_time: float) -> int:
        """A ``loop.time()`` value as nanoseconds since the origin."""
        return round(loop_time * 1e9) - self.origin_ns


def _run_hooked(handle: asyncio.Handle, run: Callable[[], None]) -> None:
    """Run a handle's callback between its loop's step hooks."""
    loop: RecordingEventLoop = handle._loop  # type: ignore[attr-defined]
    loop._before_step(handle)
    try:
        run()
    finally:
        loop._after_step(handle)


class _HookedHandle(asyncio.Handle):
    __slots__ = ()

    def _run(self) -> None:
        _run_hooked(self, super()._run)


class _HookedTimerHandle(asyncio.TimerHandle):
    __slots__ = ()

    def _run(self) -> None:
        _run_hooked(self, super()._run)


class RecordingEventLoop(asyncio.SelectorEventLoop):
    """A real selector event loop whose callbacks instruments can watch.

    Parameters
    ----------
    clock : RealClock, optional
        The clock instruments read (a new one from now if not given).
    """

    _ready: Any
    _scheduled: list[Any]
    _debug: bool

    def __init__(self, clock: RealClock | None = None) -> None:
        super().__init__()
        #: The real clock instruments read, in nanoseconds since the recording began.
        self.clock = clock if clock is not None else RealClock()
        self._instruments: tuple[Instrument, ...] = ()
        #: (start, end) nanoseconds of each run_forever (run_until_complete) of this loop.
        self.runs: list[tuple[int, int]] = []

    # -- instruments ------------------------------------------------------------------

    def add_instrument(self, instrument: Instrument) -> None:
        """Attach ``instrument``: its hooks are called from now on."""
        if not isinstance(instrument, Instrument):
            raise TypeError(
                f"instrument must be an asyncsim.core.instrument.Instrument, got {instrument!r}"
            )
        self._instruments = (*self._instruments, instrument)
        try:
            instrument.attached(self)
        except Exception as exc:
            self._failed(instrument, "attached", exc)

    def instrument(self, kind: type[_T]) -> _T | None:
        """The first attached instrument that is an instance of ``kind``, or None."""
        for instrument in self._instruments:
            if isinstance(instrument, kind):
                return instrument
        return None

    def _failed(self, instrument: Instrument, hook: str, exc: Exception) -> None:
        if instrument not in self._instruments:
            return
        self._instruments = tuple(i for i in self._instruments if i is not instrument)
        self.call_exception_handler(
            {
                "message": f"Instrument {instrument!r} raised in {hook}(); "
                "it was detached and the run goes on",
                "exception": exc,
            }
        )

    def _before_step(self, handle: asyncio.Handle) -> None:
        for instrument in self._instruments:
            try:
                instrument.before_step(handle)
            except Exception as exc:
                self._failed(instrument, "before_step", exc)

    def _after_step(self, handle: asyncio.Handle) -> None:
        for instrument in reversed(self._instruments):
            try:
                instrument.after_step(handle)
            except Exception as exc:
                self._failed(instrument, "after_step", exc)

    def _scheduled_hook(self, handle: asyncio.Handle, when: int | None) -> None:
        for instrument in self._instruments:
            try:
                instrument.callback_scheduled(handle, when)
            except Exception as exc:
                self._failed(instrument, "callback_scheduled", exc)

    # -- where asyncio makes handles and tasks ------------------------------------------

    def _call_soon(self, callback: Any, args: Any, context: Any) -> asyncio.Handle:
        handle = _HookedHandle(callback, args, self, context)
        if handle._source_traceback:  # type: ignore[attr-defined]
            del handle._source_traceback[-1]  # type: ignore[attr-defined]
        self._ready.append(handle)
        if self._instruments:
            self._scheduled_hook(handle, None)
        return handle

    def call_at(  # type: ignore[override]
        self, when: float, callback: Any, *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        if when is None:
            raise TypeError("when cannot be None")
        self._check_closed()  # type: ignore[attr-defined]
        if self._debug:
            self._check_thread()  # type: ignore[attr-defined]
            self._check_callback(callback, "call_at")  # type: ignore[attr-defined]
        timer = _HookedTimerHandle(when, callback, args, self, context)
        if timer._source_traceback:  # type: ignore[attr-defined]
            del timer._source_traceback[-1]  # type: ignore[attr-defined]
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True  # type: ignore[attr-defined]
        if self._instruments:
            self._scheduled_hook(timer, self.clock.ticks(when))
        return timer

    def create_task(self, coro: Any, *args: Any, **kwargs: Any) -> asyncio.Task[Any]:
        parent = asyncio.current_task(self) if self.is_running() else None
        task = super().create_task(coro, *args, **kwargs)
        for instrument in self._instruments:
            try:
                instrument.task_created(task, parent)
            except Exception as exc:
                self._failed(instrument, "task_created", exc)
        return task

    def run_forever(self) -> None:
        start = self.clock.now
        try:
            super().run_forever()
        finally:
            self.runs.append((start, self.clock.now))

    def close(self) -> None:
        if not self.is_closed():
            for instrument in self._instruments:
                try:
                    instrument.detached(self)
                except Exception as exc:  # pragma: no cover - reported, never raised
                    self._failed(instrument, "detached", exc)
        super().close()
