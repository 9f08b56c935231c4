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

from asyncsim.clock import MAX_TICKS, NEVER, deadline_ticks
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
#: Below this many ticks, round(delay * 1e9) is the nearest tick (see asyncsim.clock).
_EXACT = 2**53


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
        if "time" in self.__dict__:  # loop.time patched by a test (core.loop.time_is_patched)
            return self.call_at(self.time() + delay, callback, *args, context=context)
        if self._debug or self._closed or self._schedule_state is not None:
            return self._schedule(self._deadline_after(delay), callback, args, context)
        try:
            ticks = round(delay * 1e9)  # deadline_ticks(delay), inlined (1e9: a float, so
        except (OverflowError, ValueError):  # a str delay fails here, as in asyncio)
            return self._schedule(self._deadline_after(delay), callback, args, context)
        if ticks >= _EXACT:  # (past 2**53 ns the exact conversion is needed)
            return self._schedule(self._deadline_after(delay), callback, args, context)
        if ticks / 1_000_000_000 < delay:
            ticks += 1  # never early: e.g. sleep(1 / 30) lasts 33,333,334 ns
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
        seconds = when + 0.0  # (a str raises TypeError here, as asyncio's arithmetic does)
        if math.isnan(seconds) or seconds == -math.inf:
            ticks: int | float = self._clock.now  # due at once, as asyncio fires them
        else:
            ticks = deadline_ticks(seconds)
        return self._schedule(ticks, callback, args, context, when=seconds)

    def _deadline_after(self, delay: float) -> int | float:
        """The deadline (ticks) ``delay`` virtual seconds from now: never early.

        ``NEVER`` for ``+inf`` and for deadlines no float clock can read (asyncio's
        ``loop.time() + delay`` overflows to ``inf`` there); now for NaN and ``-inf``
        (asyncio fires those at once). An int too large for a float raises
        ``OverflowError``, as ``loop.time() + delay`` does.
        """
        seconds = delay + 0.0  # as loop.time() + delay: TypeError for a str
        if math.isnan(seconds) or seconds == -math.inf:
            return self._clock.now
        ticks = deadline_ticks(seconds)
        if ticks == NEVER:
            return NEVER
        ticks += self._clock.now
        return ticks if ticks <= MAX_TICKS else NEVER

    def _schedule(
        self,
        ticks: int | float,
        callback: Callable[..., object],
        args: tuple[Any, ...],
        context: Context | None,
        *,
        when: float | None = None,
    ) -> asyncio.TimerHandle:
        """Queue a timer at ``ticks`` (an int, or ``NEVER``); ``when`` is its ``when()``
        in seconds (default: ``ticks`` read as seconds)."""
        self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
        if when is None or not math.isnan(when):
            when = ticks / 1_000_000_000 if ticks != NEVER else math.inf
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
        if self._schedule_state is not None and ticks != NEVER:
            late = self._schedule_state.timer_lateness(timer)  # late, never early
            ticks += late
        self._timers.push(ticks, timer)
        timer._scheduled = True
        if self._instruments:
            self._timer_scheduled(timer, ticks)
            if late:  # (so ticks is an int: NEVER timers get no lateness)
                self._delay_injected(timer, "timer", int(ticks) - late, late)
        return timer

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        if handle._scheduled:  # type: ignore[attr-defined]
            self._timers.note_cancelled()
