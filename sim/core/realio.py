"""The virtual loop's guard on real I/O: refusals, and what real I/O the loop must poll.

Without ``allow_real_io`` every call that would touch a real socket, pipe or
child process raises :class:`~asyncsim.RealIOError` naming the call (and pointing
to ``asyncsim.models.network``). With it, the loop counts the real file
descriptors registered with its selector (:attr:`_real_fds`, kept up to date by
every reader/writer/signal change, so the hot path needs no syscall) and the
child processes whose exit is not yet known: the scheduler polls the former
without blocking while virtual timers are pending, and blocks on either only
when nothing virtual is pending.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVarTuple, Unpack

from asyncsim.core.base import LoopBase
from asyncsim.errors import RealIOError

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike

__all__ = ["RealIOGuard"]

_Ts = TypeVarTuple("_Ts")


class RealIOGuard(LoopBase):
    """The real-I/O part of :class:`~asyncsim.core.loop.VirtualEventLoop`."""

    def _init_real_io(self, allow_real_io: bool) -> None:
        self._allow_real_io = allow_real_io
        self._count_real_fds()
        #: Subprocess transports (real I/O mode), to know whether a child may still exit.
        self._children: weakref.WeakSet[Any] = weakref.WeakSet()
        self._spawning = 0

    def _refuse_real_io(self, call: str) -> None:
        if not self._allow_real_io:
            raise RealIOError.refused(call)

    async def subprocess_exec(self, protocol_factory: Any, *args: Any, **kwargs: Any) -> Any:
        self._refuse_real_io(f"loop.subprocess_exec{args!r}")
        return await super().subprocess_exec(protocol_factory, *args, **kwargs)

    async def subprocess_shell(self, protocol_factory: Any, cmd: Any, **kwargs: Any) -> Any:
        self._refuse_real_io(f"loop.subprocess_shell({cmd!r})")
        return await super().subprocess_shell(protocol_factory, cmd, **kwargs)

    async def connect_read_pipe(self, protocol_factory: Any, pipe: Any) -> Any:
        self._refuse_real_io("loop.connect_read_pipe()")
        return await super().connect_read_pipe(protocol_factory, pipe)

    async def connect_write_pipe(self, protocol_factory: Any, pipe: Any) -> Any:
        self._refuse_real_io("loop.connect_write_pipe()")
        return await super().connect_write_pipe(protocol_factory, pipe)

    def add_reader(
        self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], Any], *args: *_Ts
    ) -> None:
        self._refuse_real_io(f"loop.add_reader({fd!r})")
        super().add_reader(fd, callback, *args)

    def add_writer(
        self, fd: FileDescriptorLike, callback: Callable[[Unpack[_Ts]], Any], *args: *_Ts
    ) -> None:
        self._refuse_real_io(f"loop.add_writer({fd!r})")
        super().add_writer(fd, callback, *args)

    # The selector keeps the self-pipe registered; anything beyond it is real I/O
    # that must be polled. With signal handlers installed the self-pipe is real I/O
    # too: signals arrive through it.
    def _count_real_fds(self) -> None:
        selector = getattr(self, "_selector", None)
        if selector is None:
            self._real_fds = 0
            return
        own = 1 if getattr(self, "_ssock", None) is not None else 0
        if getattr(self, "_signal_handlers", None):
            own = 0
        self._real_fds = len(selector.get_map()) - own
        self._fast_path_changed()  # (real I/O to poll: no fused iterations)

    async def _make_subprocess_transport(self, *args: Any, **kwargs: Any) -> Any:
        self._spawning += 1  # (a cancelled spawn waits here for its child to exit)
        try:
            transport = await super()._make_subprocess_transport(*args, **kwargs)
        finally:
            self._spawning -= 1
        self._children.add(transport)
        return transport

    def _children_alive(self) -> bool:
        # A child whose exit is not yet known may still wake the loop (a child
        # watcher thread calls call_soon_threadsafe), so it is worth blocking for.
        return bool(self._spawning) or any(c._returncode is None for c in self._children)

    def add_signal_handler(
        self, sig: int, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts
    ) -> None:
        """As asyncio's; while any handler is installed the loop polls for signals."""
        super().add_signal_handler(sig, callback, *args)
        self._count_real_fds()

    def remove_signal_handler(self, sig: int) -> bool:
        """As asyncio's."""
        result = super().remove_signal_handler(sig)
        self._count_real_fds()
        return result

    def _add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> Any:
        result = super()._add_reader(fd, callback, *args)
        self._count_real_fds()
        return result

    def _add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> Any:
        result = super()._add_writer(fd, callback, *args)
        self._count_real_fds()
        return result

    def _remove_reader(self, fd: Any) -> bool:
        result = super()._remove_reader(fd)
        self._count_real_fds()
        return result

    def _remove_writer(self, fd: Any) -> bool:
        result = super()._remove_writer(fd)
        self._count_real_fds()
        return result
