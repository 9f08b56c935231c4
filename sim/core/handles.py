"""The virtual loop's timer handle: asyncio's TimerHandle with a one-frame ``cancel``.

Outside debug mode the loop builds handles with ``__new__`` and sets the slots
itself, with exactly the values ``__init__`` would set (see
:mod:`asyncsim.core.callbacks`); in debug mode it calls the real constructors so
source tracebacks are recorded as usual.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextvars import Context
from typing import Any

__all__ = ["SleepTimerHandle", "TimerHandle"]


class TimerHandle(asyncio.TimerHandle):
    """asyncio's TimerHandle (same name, repr and behaviour) with a one-frame ``cancel``."""

    __slots__ = ()

    # asyncio's slots, which typeshed does not describe (declarations only).
    _context: Context
    _loop: Any
    _callback: Callable[..., object] | None
    _repr: str | None
    _source_traceback: Any
    _when: float
    _scheduled: bool

    def cancel(self) -> None:
        # asyncio.TimerHandle.cancel + Handle.cancel in one frame. The loop only
        # counts cancellations of timers still queued (``_scheduled``), so it is
        # told about those only.
        if not self._cancelled:
            loop = self._loop
            if self._scheduled:
                loop._timer_handle_cancelled(self)
            self._cancelled = True
            if loop._debug:
                self._repr = repr(self)
            self._callback = None
            self._args = None  # type: ignore[assignment]


_ARGS = asyncio.Handle.__dict__["_args"]  # (the slot itself, under the property below)


class SleepTimerHandle(TimerHandle):
    """The timer of an ``asyncio.sleep``, made by the compiled core: its future in a slot.

    A sleep's timer calls ``futures._set_result_unless_cancelled(future, None)``; keeping
    the future in a slot instead of an ``(future, None)`` tuple saves 48 bytes per
    sleeping task. ``_args`` still reads ``(future, None)`` (and may be set, as ``cancel``
    does), so the handle looks and behaves as any ``TimerHandle``; its class is named
    TimerHandle in reprs.
    """

    __slots__ = ("_future",)

    _future: Any

    @property
    def _args(self) -> Any:
        future = self._future
        return _ARGS.__get__(self) if future is None else (future, None)

    @_args.setter
    def _args(self, value: Any) -> None:
        self._future = None
        _ARGS.__set__(self, value)


SleepTimerHandle.__name__ = SleepTimerHandle.__qualname__ = "TimerHandle"
