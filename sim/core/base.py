"""The base of every part of the virtual loop: asyncio's internals and the shared state, typed.

:class:`~asyncsim.core.loop.VirtualEventLoop` subclasses asyncio's selector loop
and uses some of its private attributes and methods (the ready queue, the
selector, the self-pipe, the closed/stopping/debug flags), which typeshed does
not describe. They are declared here once, for the type checker only, with the
little state the loop's parts share (the clock and the schedule being played):
at run time :class:`LoopBase` adds nothing to ``asyncio.SelectorEventLoop``.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import selectors
import socket
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncsim.clock import Clock
    from asyncsim.core.schedule import ScheduleState

__all__ = ["LoopBase"]


class LoopBase(asyncio.SelectorEventLoop):
    """``asyncio.SelectorEventLoop``, with the private members the virtual loop uses typed."""

    # Attributes set by asyncio's BaseEventLoop / BaseSelectorEventLoop.__init__.
    _ready: collections.deque[Any]  # asyncio Handles (their slots are private: Any)
    _selector: selectors.BaseSelector
    _ssock: socket.socket | None
    _debug: bool
    _closed: bool
    _stopping: bool
    _current_handle: asyncio.Handle | None
    _default_executor: concurrent.futures.ThreadPoolExecutor | None
    _executor_shutdown_called: bool
    _signal_handlers: dict[int, asyncio.Handle]
    _task_factory: Any
    _asyncgens: weakref.WeakSet[Any]
    _asyncgens_shutdown_called: bool
    _thread_id: int | None

    # Set by VirtualEventLoop.__init__ and read by several parts.
    _clock: Clock
    _schedule_state: ScheduleState | None

    if TYPE_CHECKING:

        def _check_closed(self) -> None: ...
        def _check_running(self) -> None: ...
        def _check_thread(self) -> None: ...
        def _check_callback(self, callback: Callable[..., object], method: str) -> None: ...
        def _check_default_executor(self) -> None: ...
        def _write_to_self(self) -> None: ...
        def _process_events(self, event_list: list[Any]) -> None: ...
        def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None: ...
        def _asyncgen_firstiter_hook(self, agen: Any) -> None: ...
        def _fast_path_changed(self) -> None: ...  # (asyncsim.core.fastpath)
        def _add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> Any: ...
        def _add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> Any: ...
        def _remove_reader(self, fd: Any) -> bool: ...
        def _remove_writer(self, fd: Any) -> bool: ...
        async def _make_subprocess_transport(self, *args: Any, **kwargs: Any) -> Any: ...
