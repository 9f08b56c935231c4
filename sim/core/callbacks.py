"""Scheduling callbacks on the virtual loop: ``call_soon``, ``call_later``, ``call_at``.

Timers go to the loop's :class:`~asyncsim.core.timers.TimerQueue` at integer
ticks (seconds are converted once, here). Outside debug mode handles are built
with ``object.__new__`` and their slots set to exactly what ``__init__`` would
set (see :mod:`asyncsim.core.handles`): ``call_soon`` and ``call_later`` are the
hottest entry points of the simulator. In debug mode the real constructors run,
so source tracebacks are recorded as asyncio records them.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
from collections.abc import Callable
from contextvars import Context
from typing import Any, TypeVarTuple, Unpack

from asyncsim.clock import INFINITE_TICKS, to_seconds, to_ticks
from asyncsim.core.handles import TimerHandle
from asyncsim.core.hosting import InstrumentHost
from asyncsim.core.timers import TimerQueue

__all__ = ["CallbackScheduling"]

_Ts = TypeVarTuple("_Ts")

_Handle = asyncio.Handle
_new = object.__new__
_copy_context = contextvars.copy_context
_set_result_unless_cancelled = asyncio.futures._set_result_unless_cancelled  # type: ignore[attr-defined]
_asyncio_call_soon = asyncio.BaseEventLoop.call_soon


class CallbackScheduling(InstrumentHost):
    """The callback-scheduling part of :class:`~asyncsim.core.loop.VirtualEventLoop`."""

    def _init_callbacks(self) -> None:
        #: The pending timers.
        self._timers = TimerQueue()
        #: The (empty) context sleep timers run in; one per loop, as a loop runs in one thread.
        self._sleep_context = contextvars.Context()

    @property
    def timers(self) -> TimerQueue:
        """The pending timers (read them; schedule with ``call_later``/``call_at``)."""
        return self._timers

    def call_soon(
        self, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts, context: Context | None = None
    ) -> asyncio.Handle:
        if self._debug:
            handle = _asyncio_call_soon(self, callback, *args, context=context)
            if handle._source_traceback:  # type: ignore[attr-defined]
                del handle._source_traceback[-1]  # type: ignore[attr-defined]  # end at the caller
            return handle
        if self._closed:
            raise RuntimeError("Event loop is closed")
        # asyncio.Handle(callback, args, self, context) without running __init__.
        raw: Any = _new(_Handle)
        raw._context = _copy_context() if context is None else context
        raw._loop = self
        raw._callback = callback
        raw._args = args
        raw._cancelled = False
        raw._repr = None
        raw._source_traceback = None
        self._ready.append(raw)
        return raw

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        if delay is None:
            raise TypeError("delay must not be None")
        if self._debug or self._closed or self._schedule_state is not None:
            return self._schedule(self._clock.now + to_ticks(delay), callback, args, context)
        try:
            ticks = round(delay * 1_000_000_000)  # to_ticks(delay), inlined
        except (OverflowError, ValueError):  # inf or nan: to_ticks knows
            ticks = INFINITE_TICKS + 1
        if not -INFINITE_TICKS <= ticks <= INFINITE_TICKS:
            return self._schedule(self._clock.now + to_ticks(delay), callback, args, context)
        ticks += self._clock.now
        # TimerHandle(ticks / 1e9, callback, args, self, context) without __init__.
        timer = _new(TimerHandle)
        if context is not None:
            timer._context = context
        elif callback is _set_result_unless_cancelled:
            # A sleep's timer only sets its future's result (the wake-up runs in the
            # task's own context): no copy of the caller's context is needed.
            timer._context = self._sleep_context
        else:
            timer._context = _copy_context()
        timer._loop = self
        timer._callback = callback
        timer._args = args
        timer._cancelled = False
        timer._repr = None
        timer._source_traceback = None
        timer._when = ticks / 1_000_000_000
        timer._scheduled = True
        self._timers.push(ticks, timer)
        if self._instruments:  # (_timer_scheduled, inlined: the hot path)
            for instrument in self._instruments:
                try:
                    instrument.callback_scheduled(timer, ticks)
                except Exception as exc:
                    self._guest_failed(instrument, "callback_scheduled", exc)
        return timer

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.TimerHandle:
        if when is None:
            raise TypeError("when cannot be None")
        ticks = to_ticks(when)
        if math.isnan(when):
            ticks = self._clock.now
        return self._schedule(ticks, callback, args, context)

    def _schedule(
        self,
        ticks: int,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        context: Context | None,
    ) -> asyncio.TimerHandle:
        self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
        when = to_seconds(ticks) if ticks < INFINITE_TICKS else math.inf
        if self._debug:
            timer = TimerHandle(when, callback, args, self, context)
            if timer._source_traceback:
                # Drop this frame and call_later/call_at's: end at their caller, as asyncio does.
                del timer._source_traceback[-2:]
        else:
            # TimerHandle(when, callback, args, self, context) without __init__.
            timer = _new(TimerHandle)
            timer._context = _copy_context() if context is None else context
            timer._loop = self
            timer._callback = callback
            timer._args = args
            timer._cancelled = False
            timer._repr = None
            timer._source_traceback = None
            timer._when = when
        late = 0
        if self._schedule_state is not None and ticks < INFINITE_TICKS:
            late = self._schedule_state.timer_lateness()  # late, never early
            ticks += late
        self._timers.push(ticks, timer)
        timer._scheduled = True
        if self._instruments:
            self._timer_scheduled(timer, ticks)
            if late:
                self._delay_injected(timer, "timer", ticks - late, late)
        return timer

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        if handle._scheduled:  # type: ignore[attr-defined]
            self._timers.note_cancelled()
