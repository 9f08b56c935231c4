"""How the virtual loop hosts instruments: attaching them, calling their hooks, guests' rule.

Instruments are guests: an instrument whose hook raises is reported once,
through ``loop.call_exception_handler`` (with its traceback, and a message naming
the instrument and the hook), and detached; the run goes on as if it had never
been attached from that point. ``KeyboardInterrupt`` and ``SystemExit`` are not
caught.

The tuple of attached instruments is replaced, never changed in place, so a hook
loop in progress keeps iterating the tuple it started with, and the step loop of
:mod:`asyncsim.core.dispatch` sees a change by identity. With no instrument
attached the loop pays no call per callback: ``call_soon`` is the plain one, and
the other hook sites test one tuple for emptiness.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable
from contextvars import Context
from typing import Any, TypeVar, TypeVarTuple, Unpack

from asyncsim._validate import refuse
from asyncsim.core.base import LoopBase
from asyncsim.core.instrument import Instrument

__all__ = ["NO_INSTRUMENTS", "InstrumentHost"]

#: What a loop without instruments holds (one object, so a check by identity is enough).
NO_INSTRUMENTS: tuple[Instrument, ...] = ()

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

# Hot-path constants: handles are built without running __init__ (see asyncsim.core.handles).
_Handle = asyncio.Handle
_new = object.__new__
_copy_context = contextvars.copy_context
_asyncio_call_soon = asyncio.BaseEventLoop.call_soon


class InstrumentHost(LoopBase):
    """The instrument half of :class:`~asyncsim.core.loop.VirtualEventLoop`."""

    def _init_instruments(self) -> None:
        #: The attached instruments, in attachment order (replaced, never changed in place).
        self._instruments: tuple[Instrument, ...] = NO_INSTRUMENTS

    def add_instrument(self, instrument: Instrument) -> None:
        """Attach ``instrument``: its hooks are called from now on (see :mod:`.instrument`)."""
        if not isinstance(instrument, Instrument):
            refuse("instrument", "an asyncsim.core.instrument.Instrument", instrument)
        self._set_instruments((*self._instruments, instrument))
        try:
            instrument.attached(self)
        except Exception as exc:
            self._guest_failed(instrument, "attached", exc)

    def remove_instrument(self, instrument: Instrument) -> None:
        """Detach ``instrument`` (ValueError if it is not attached)."""
        if instrument not in self._instruments:
            raise ValueError(f"{instrument!r} is not attached to {self!r}")
        self._set_instruments(tuple(i for i in self._instruments if i is not instrument))
        try:
            instrument.detached(self)
        except Exception as exc:
            self._report_guest(instrument, "detached", exc)

    def instrument(self, kind: type[_T]) -> _T | None:
        """The first attached instrument that is an instance of ``kind``, or None.

        ``kind`` is a class (``loop.instrument(Tracer)``) or a runtime-checkable
        protocol (an instrument with a ``lanes`` attribute).

        Examples
        --------
        >>> import asyncsim
        >>> from asyncsim.core.instrument import Instrument
        >>> loop = asyncsim.new_event_loop()
        >>> loop.instrument(Instrument) is None
        True
        >>> probe = Instrument()
        >>> loop.add_instrument(probe)
        >>> loop.instrument(Instrument) is probe
        True
        >>> loop.close()
        """
        for instrument in self._instruments:
            if isinstance(instrument, kind):
                return instrument
        return None

    def _set_instruments(self, instruments: tuple[Instrument, ...]) -> None:
        self._instruments = instruments or NO_INSTRUMENTS
        self._clock.on_block = self._loop_blocked if instruments else None
        # Only an instrumented loop pays for the call_soon hook (installed there), and
        # only a loop without instruments runs the fast path.
        self._fast_path_changed()

    # -- the guests' rule -----------------------------------------------------------------

    def _guest_failed(self, instrument: Instrument, hook: str, exc: Exception) -> None:
        """``instrument``'s ``hook`` raised ``exc``: report it and detach the instrument."""
        if instrument not in self._instruments:
            return  # already detached (reported once)
        self._set_instruments(tuple(i for i in self._instruments if i is not instrument))
        self._report_guest(instrument, hook, exc)
        with contextlib.suppress(Exception):  # (its failure is reported already)
            instrument.detached(self)

    def _report_guest(self, instrument: Instrument, hook: str, exc: Exception) -> None:
        self.call_exception_handler(
            {
                "message": f"Instrument {instrument!r} raised in {hook}(); "
                "it was detached and the run goes on",
                "exception": exc,
            }
        )

    # -- hook sites (called only while instruments are attached) ----------------------------

    def _call_soon_instrumented(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: Context | None = None,
    ) -> asyncio.Handle:
        handle: Any
        if self._debug or self._closed:
            handle = _asyncio_call_soon(self, callback, *args, context=context)
        else:
            # asyncio.Handle(callback, args, self, context) without __init__, as call_soon
            # does (not a call to it: the extra frame measured ~5% of W5's traced run).
            handle = _new(_Handle)
            handle._context = _copy_context() if context is None else context
            handle._loop = self
            handle._callback = callback
            handle._args = args
            handle._cancelled = False
            handle._repr = None
            handle._source_traceback = None
            self._ready.append(handle)
        for instrument in self._instruments:
            try:
                instrument.callback_scheduled(handle, None)
            except Exception as exc:
                self._guest_failed(instrument, "callback_scheduled", exc)
        return handle

    def _timer_scheduled(self, timer: asyncio.TimerHandle, ticks: int | float) -> None:
        for instrument in self._instruments:
            try:
                instrument.callback_scheduled(timer, ticks)
            except Exception as exc:
                self._guest_failed(instrument, "callback_scheduled", exc)

    def _task_created(self, task: asyncio.Task[Any], parent: asyncio.Task[Any] | None) -> None:
        for instrument in self._instruments:
            try:
                instrument.task_created(task, parent)
            except Exception as exc:
                self._guest_failed(instrument, "task_created", exc)

    def _loop_blocked(self, start: int, end: int) -> None:
        for instrument in self._instruments:
            try:
                instrument.loop_blocked(start, end)
            except Exception as exc:
                self._guest_failed(instrument, "loop_blocked", exc)

    def _delay_injected(
        self, handle: asyncio.Handle | None, kind: str, due: int, ticks: int
    ) -> None:
        for instrument in self._instruments:
            try:
                instrument.delay_injected(handle, kind, due, ticks)
            except Exception as exc:
                self._guest_failed(instrument, "delay_injected", exc)

    def _before_step_all(self, handle: asyncio.Handle) -> None:
        for instrument in self._instruments:
            try:
                instrument.before_step(handle)
            except Exception as exc:
                self._guest_failed(instrument, "before_step", exc)

    def _after_step_all(self, handle: asyncio.Handle) -> None:
        for instrument in self._instruments:
            try:
                instrument.after_step(handle)
            except Exception as exc:
                self._guest_failed(instrument, "after_step", exc)
