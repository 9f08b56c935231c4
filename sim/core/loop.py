"""VirtualEventLoop: asyncio's event loop on a simulated clock.

When no callback is ready the loop jumps its clock to the next timer instead of
sleeping. Timers due at the same virtual instant run in the order they were
scheduled (``(when, seq)``), which is what real asyncio does for equal delays
because under real time they get distinct deadlines.

Threads (``run_in_executor``, ``asyncio.to_thread``) really run and take zero
virtual time: while a thread job is in flight and nothing is ready, the loop
waits for it instead of advancing the clock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import heapq
import itertools
import math
import selectors
import threading
import weakref
from collections.abc import Callable
from contextvars import Context
from typing import Any

from asyncsim.clock import INFINITE_TICKS, Clock, to_seconds, to_ticks
from asyncsim.core import introspect
from asyncsim.core import timers as timer_queue
from asyncsim.core.gc_threshold import relaxed_gc
from asyncsim.core.handles import TimerHandle
from asyncsim.core.instrument import Instrument
from asyncsim.core.schedule import Schedule, ScheduleState
from asyncsim.errors import (
    Deadlock,
    PendingTask,
    RealIOError,
    SimulationError,
    SimulationTimeout,
    StepLimitExceeded,
)

__all__ = ["VirtualEventLoop", "VirtualEventLoopPolicy", "new_event_loop"]

_TimerEntry = tuple[int, int, asyncio.TimerHandle]
# Compact the timer heap when this many cancelled timers make up half of it.
_MIN_CANCELLED_TO_COMPACT = 100

# Hot-path constants: handles are built without running __init__ (see asyncsim.core.handles).
_Handle = asyncio.Handle
_new = object.__new__
_copy_context = contextvars.copy_context
_heappush = heapq.heappush
_heappop = heapq.heappop
_set_result_unless_cancelled = asyncio.futures._set_result_unless_cancelled
_Future = asyncio.Future
# Run the callbacks a timer batch makes ready in the same _run_once call (see
# VirtualEventLoop._run_followups); a switch so the benchmarks can measure it.
_MERGE_ITERATIONS = True
# Sleep timers share one empty context per loop instead of copying the caller's.
_SHARE_SLEEP_CONTEXT = True
# create_future is a C partial of asyncio.Future on loops without a network.
_PARTIAL_CREATE_FUTURE = True
# A timer batch of one runs without building the batch list.
_SINGLE_TIMER_PATH = True


def _validate_limits(until: float | None, max_steps: int | None, start: float) -> None:
    if (
        not isinstance(start, (int, float))
        or isinstance(start, bool)
        or not (math.isfinite(start) and start >= 0)
    ):
        raise ValueError(f"start must be a finite number of virtual seconds >= 0, got {start!r}")
    if until is not None and (
        not isinstance(until, (int, float))
        or isinstance(until, bool)
        or not math.isfinite(until)
        or until < start
    ):
        raise ValueError(
            f"until must be a finite virtual time in seconds >= start ({start!r}), got {until!r}"
        )
    if max_steps is not None and (
        not isinstance(max_steps, int) or isinstance(max_steps, bool) or max_steps < 1
    ):
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}")


class _OrderedFuture(asyncio.Future):
    """A Future whose hash is its creation number on its loop (loops with a network).

    Libraries keep futures in sets and wake them by iterating the set (aiohttp's
    DNS throttle does); with the default id-based hash that order follows memory
    addresses and changes from run to run. A creation-number hash makes it the
    same on every run of the same program.
    """

    __slots__ = ("_asyncsim_seq",)

    def __hash__(self) -> int:
        return self._asyncsim_seq


# Reprs and error messages show it as what it is to the program: a Future.
_OrderedFuture.__name__ = _OrderedFuture.__qualname__ = "Future"


class VirtualEventLoop(asyncio.SelectorEventLoop):
    """An asyncio event loop whose clock is virtual.

    Parameters
    ----------
    start : float
        Virtual time (seconds) the clock starts at, when no ``clock`` is given.
    clock : Clock, optional
        A clock shared with other loops of the same simulation.
    until : float, optional
        Virtual time (seconds) at which to stop with :class:`asyncsim.SimulationTimeout`.
    max_steps : int, optional
        Number of callbacks after which to stop with :class:`asyncsim.StepLimitExceeded`.
    allow_real_io : bool
        Allow real sockets, pipes and subprocesses. Their file descriptors are
        polled without blocking while virtual timers are pending, and blocked on
        only when nothing virtual is pending.
    selector : selectors.BaseSelector, optional
        The selector used for real I/O (default: the platform's best).
    schedule : Schedule or ScheduleState, optional
        Legal nondeterminism to apply (late timers, late executor results) and,
        if it says so, chaos ordering of ready callbacks (see :mod:`asyncsim.core.schedule`).

    Examples
    --------
    >>> import asyncio, asyncsim
    >>> loop = asyncsim.new_event_loop()
    >>> loop.run_until_complete(asyncio.sleep(3600))
    >>> loop.time()
    3600.0
    >>> loop.close()
    """

    def __init__(
        self,
        *,
        start: float = 0.0,
        clock: Clock | None = None,
        until: float | None = None,
        max_steps: int | None = None,
        allow_real_io: bool = False,
        selector: selectors.BaseSelector | None = None,
        schedule: Schedule | ScheduleState | None = None,
    ) -> None:
        _validate_limits(until, max_steps, start)
        if isinstance(schedule, Schedule):
            schedule = schedule.start()
        elif schedule is not None and not isinstance(schedule, ScheduleState):
            raise TypeError(f"schedule must be an asyncsim.Schedule or None, got {schedule!r}")
        super().__init__(selector)
        self._clock = clock if clock is not None else Clock(to_ticks(start))
        self._timers: list[_TimerEntry] = []
        self._timer_seq = itertools.count().__next__
        self._cancelled_timers = 0
        #: The (empty) context sleep timers run in; one per loop, as a loop runs in one thread.
        self._sleep_context = contextvars.Context()
        timer_queue.reset(self)  # near heap + far buckets (see asyncsim.core.timers)
        self._jobs: set[concurrent.futures.Future[Any]] = set()
        # Jobs blocked on a coroutine they submitted to this loop do not hold the clock.
        self._waited: set[concurrent.futures.Future[Any]] = set()
        self._jobs_lock = threading.Lock()
        _install_run_coroutine_threadsafe()
        self._allow_real_io = allow_real_io
        self._until = None if until is None else to_ticks(until)
        self._max_steps = max_steps
        self._steps = 0
        self._task_order: weakref.WeakKeyDictionary[asyncio.Task[Any], int] = (
            weakref.WeakKeyDictionary()
        )
        self._task_counter = itertools.count().__next__
        #: The first SimulationError this loop raised; later limits are lifted so
        #: cleanup (cancelling leftover tasks) can run.
        self.error: SimulationError | None = None
        self._real_fds = 0
        self._count_real_fds()
        #: Subprocess transports (real I/O mode), to know whether a child may still exit.
        self._children: weakref.WeakSet[Any] = weakref.WeakSet()
        self._spawning = 0
        self._instruments: list[Instrument] = []
        #: The handle whose callback is running, while instruments are attached.
        self._current_step: asyncio.Handle | None = None
        self._network: Any = None
        if _PARTIAL_CREATE_FUTURE and type(self).create_future is VirtualEventLoop.create_future:
            # create_future() without a Python frame: asyncio.Future(loop=self) in C
            # (not when a subclass overrides create_future).
            self.create_future = functools.partial(_Future, loop=self)
        self._future_seq = itertools.count().__next__
        #: The schedule being played (None: punctual, no cost).
        self._schedule_state = schedule
        if schedule is not None and schedule.reorders:
            # Chaos/PCT ordering replaces both ready-queue paths; unused otherwise.
            self._run_ready = self._run_ready_reordered
            self._run_ready_instrumented = self._run_ready_reordered

    # -- the clock -------------------------------------------------------------

    def time(self) -> float:
        """The current virtual time in seconds."""
        return self._clock.now / 1_000_000_000

    @property
    def clock(self) -> Clock:
        """The virtual clock this loop runs on."""
        return self._clock

    @property
    def steps(self) -> int:
        """Number of callbacks run so far."""
        return self._steps

    # -- instruments -------------------------------------------------------------

    def add_instrument(self, instrument: Instrument) -> None:
        """Attach ``instrument``: its hooks are called from now on (see :mod:`.instrument`)."""
        if not isinstance(instrument, Instrument):
            raise TypeError(
                f"instrument must be an asyncsim.core.instrument.Instrument, got {instrument!r}"
            )
        self._instruments.append(instrument)
        if len(self._instruments) == 1:
            # Only an instrumented loop pays for the call_soon hook.
            self.call_soon = self._call_soon_instrumented
            self._clock.on_block = self._loop_blocked
        instrument.attached(self)

    def remove_instrument(self, instrument: Instrument) -> None:
        """Detach ``instrument``."""
        self._instruments.remove(instrument)
        if not self._instruments:
            del self.call_soon
            self._clock.on_block = None
        instrument.detached(self)

    def _call_soon_instrumented(
        self, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.Handle:
        if self._debug or self._closed:
            handle = super().call_soon(callback, *args, context=context)
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
            instrument.callback_scheduled(handle, None)
        return handle

    def _loop_blocked(self, start: int, end: int) -> None:
        for instrument in self._instruments:
            instrument.loop_blocked(start, end)

    def call_soon(
        self, callback: Callable[..., object], *args: Any, context: Context | None = None
    ) -> asyncio.Handle:
        if self._debug:
            handle = super().call_soon(callback, *args, context=context)
            if handle._source_traceback:
                del handle._source_traceback[-1]  # this frame: end at the caller's
            return handle
        if self._closed:
            raise RuntimeError("Event loop is closed")
        # asyncio.Handle(callback, args, self, context) without running __init__.
        handle = _new(_Handle)
        handle._context = _copy_context() if context is None else context
        handle._loop = self
        handle._callback = callback
        handle._args = args
        handle._cancelled = False
        handle._repr = None
        handle._source_traceback = None
        self._ready.append(handle)
        return handle

    def call_later(
        self,
        delay: float,
        callback: Callable[..., object],
        *args: Any,
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
        elif callback is _set_result_unless_cancelled and _SHARE_SLEEP_CONTEXT:
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
        if ticks < self._horizon:  # asyncsim.core.timers.push, inlined
            timers = self._timers
            _heappush(timers, (ticks, self._timer_seq(), timer))
            if len(timers) > self._near_limit:
                timer_queue.split(self)
        else:
            key = (ticks - self._far_origin) // self._far_width
            bucket = self._far.get(key)
            if bucket is None:
                self._far[key] = [(ticks, self._timer_seq(), timer)]
                _heappush(self._far_keys, key)
            else:
                bucket.append((ticks, self._timer_seq(), timer))
            self._far_count += 1
        if self._instruments:
            for instrument in self._instruments:
                instrument.callback_scheduled(timer, ticks)
        return timer

    def call_at(
        self,
        when: float,
        callback: Callable[..., object],
        *args: Any,
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
        if self._schedule_state is not None and ticks < INFINITE_TICKS:
            ticks += self._schedule_state.timer_lateness()  # late, never early
        timer_queue.push(self, (ticks, self._timer_seq(), timer))
        timer._scheduled = True
        if self._instruments:
            for instrument in self._instruments:
                instrument.callback_scheduled(timer, ticks)
        return timer

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        if handle._scheduled:
            self._cancelled_timers += 1

    def close(self) -> None:
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        timer_queue.clear(self)
        for instrument in list(self._instruments):
            self.remove_instrument(instrument)
        super().close()

    # -- the outside world -----------------------------------------------------

    def run_in_executor(
        self, executor: concurrent.futures.Executor | None, func: Callable[..., Any], *args: Any
    ) -> asyncio.Future[Any]:
        """Run ``func`` in a thread for real; the virtual clock stands still meanwhile."""
        self._check_closed()
        if self._debug:
            self._check_callback(func, "run_in_executor")
        if executor is None:
            self._check_default_executor()
            if self._default_executor is None:
                self._default_executor = concurrent.futures.ThreadPoolExecutor(
                    thread_name_prefix="asyncsim"
                )
            executor = self._default_executor
        if isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            job = executor.submit(_run_job, self, func, args)
        else:
            job = executor.submit(func, *args)
        delay = self._schedule_state.job_delay() if self._schedule_state is not None else 0
        if delay:
            future = self._deliver_late(job, self._clock.now + delay)
        else:
            future = asyncio.wrap_future(job, loop=self)
        # Tracked after wrapping, so the result is queued before the job stops holding
        # the clock (done callbacks run in registration order).
        self.track_outside_work(job)
        return future

    def _deliver_late(self, job: concurrent.futures.Future[Any], ticks: int) -> asyncio.Future[Any]:
        # A schedule delays this job's result to virtual time ``ticks`` (or later).
        future = self.create_future()

        def copy_state() -> None:
            if future.cancelled():
                return
            error = None if job.cancelled() else job.exception()
            if job.cancelled():
                future.cancel()
            elif error is not None:
                future.set_exception(error)
            else:
                future.set_result(job.result())

        def landed(_: concurrent.futures.Future[Any]) -> None:
            self.call_at(to_seconds(max(ticks, self._clock.now)), copy_state)

        def on_done(j: concurrent.futures.Future[Any]) -> None:
            if not self.is_closed():
                self.call_soon_threadsafe(landed, j)

        job.add_done_callback(on_done)
        return future

    def track_outside_work(self, job: concurrent.futures.Future[Any]) -> None:
        """Hold the virtual clock until ``job`` (done in another thread) finishes.

        Call it after wrapping ``job`` (``asyncio.wrap_future``), so that the
        result is queued on the loop before the clock is released.
        """
        self._jobs.add(job)
        job.add_done_callback(self._outside_work_done)

    def _outside_work_done(self, job: concurrent.futures.Future[Any]) -> None:
        self._jobs.discard(job)
        if not self.is_closed():
            self._write_to_self()

    def _job_waits_on_loop(self, future: concurrent.futures.Future[Any]) -> None:
        """A thread job blocks on ``future`` (run_coroutine_threadsafe on this loop):
        until it is done, that job no longer holds the clock."""
        with self._jobs_lock:
            self._waited.add(future)
        future.add_done_callback(self._job_resumes)
        self._write_to_self()

    def _job_resumes(self, future: concurrent.futures.Future[Any]) -> None:
        with self._jobs_lock:
            self._waited.discard(future)
        if not self.is_closed():
            self._write_to_self()

    def _jobs_hold_clock(self) -> bool:
        # A job whose awaited coroutine is already done is about to resume: it holds.
        with self._jobs_lock:
            waiting = sum(1 for future in self._waited if not future.done())
        return len(self._jobs) > waiting

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        """Shut the default executor down, waiting for its threads (zero virtual time)."""
        self._executor_shutdown_called = True
        executor = self._default_executor
        if executor is None:
            return
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def shutdown() -> None:
            try:
                executor.shutdown(wait=True)
                done.set_result(None)
            except BaseException as exc:  # pragma: no cover - shutdown rarely fails
                done.set_exception(exc)

        # Wrap before tracking: the result must be queued before the clock is released.
        finished = asyncio.wrap_future(done, loop=self)
        self.track_outside_work(done)
        threading.Thread(target=shutdown, name="asyncsim-executor-shutdown").start()
        await finished

    def _refuse_real_io(self, call: str) -> None:
        if not self._allow_real_io:
            raise RealIOError.refused(call)

    # -- a virtual network -------------------------------------------------------

    def attach_network(self, network: Any) -> None:
        """Route this loop's network calls to ``network`` (an ``asyncsim.models.network.Network``).

        From then on ``create_connection``, ``create_server``, ``getaddrinfo``,
        ``getnameinfo``, ``sock_connect``, ``sock_accept``, ``sock_recv``,
        ``sock_sendall``, ``create_datagram_endpoint``, ``create_unix_connection``,
        ``create_unix_server`` and ``connect_accepted_socket`` are awaited as
        ``network.NAME(loop, *args, **kwargs)`` instead of touching real sockets,
        and ``network.attached(loop)`` is called now.
        """
        self._network = network
        self.__dict__.pop("create_future", None)  # ordered futures from now on
        network.attached(self)

    @property
    def network(self) -> Any:
        """The network attached with :meth:`attach_network`, or None."""
        return self._network

    async def create_connection(
        self, protocol_factory: Any, host: Any = None, port: Any = None, **kwargs: Any
    ) -> Any:
        if self._network is not None:
            return await self._network.create_connection(
                self, protocol_factory, host, port, **kwargs
            )
        self._refuse_real_io(f"loop.create_connection(host={host!r}, port={port!r})")
        return await super().create_connection(protocol_factory, host, port, **kwargs)

    async def create_server(
        self, protocol_factory: Any, host: Any = None, port: Any = None, **kwargs: Any
    ) -> Any:
        if self._network is not None:
            return await self._network.create_server(self, protocol_factory, host, port, **kwargs)
        self._refuse_real_io(f"loop.create_server(host={host!r}, port={port!r})")
        return await super().create_server(protocol_factory, host, port, **kwargs)

    async def create_datagram_endpoint(
        self, protocol_factory: Any, local_addr: Any = None, remote_addr: Any = None, **kwargs: Any
    ) -> Any:
        if self._network is not None:
            return await self._network.create_datagram_endpoint(
                self, protocol_factory, local_addr, remote_addr, **kwargs
            )
        self._refuse_real_io(
            f"loop.create_datagram_endpoint(local_addr={local_addr!r}, remote_addr={remote_addr!r})"
        )
        return await super().create_datagram_endpoint(
            protocol_factory, local_addr, remote_addr, **kwargs
        )

    async def create_unix_connection(
        self, protocol_factory: Any, path: Any = None, **kwargs: Any
    ) -> Any:
        if self._network is not None:
            return await self._network.create_unix_connection(
                self, protocol_factory, path, **kwargs
            )
        self._refuse_real_io(f"loop.create_unix_connection(path={path!r})")
        return await super().create_unix_connection(protocol_factory, path, **kwargs)

    async def create_unix_server(
        self, protocol_factory: Any, path: Any = None, **kwargs: Any
    ) -> Any:
        if self._network is not None:
            return await self._network.create_unix_server(self, protocol_factory, path, **kwargs)
        self._refuse_real_io(f"loop.create_unix_server(path={path!r})")
        return await super().create_unix_server(protocol_factory, path, **kwargs)

    async def connect_accepted_socket(self, protocol_factory: Any, sock: Any, **kwargs: Any) -> Any:
        if self._network is not None:
            return await self._network.connect_accepted_socket(
                self, protocol_factory, sock, **kwargs
            )
        self._refuse_real_io("loop.connect_accepted_socket()")
        return await super().connect_accepted_socket(protocol_factory, sock, **kwargs)

    async def getaddrinfo(self, host: Any, port: Any, **kwargs: Any) -> Any:
        if self._network is not None:
            return await self._network.getaddrinfo(self, host, port, **kwargs)
        self._refuse_real_io(f"loop.getaddrinfo({host!r}, {port!r})")
        return await super().getaddrinfo(host, port, **kwargs)

    async def getnameinfo(self, sockaddr: Any, flags: int = 0) -> Any:
        if self._network is not None:
            return await self._network.getnameinfo(self, sockaddr, flags)
        self._refuse_real_io(f"loop.getnameinfo({sockaddr!r})")
        return await super().getnameinfo(sockaddr, flags)

    async def sock_connect(self, sock: Any, address: Any) -> None:
        if self._network is not None:
            return await self._network.sock_connect(self, sock, address)
        self._refuse_real_io(f"loop.sock_connect(address={address!r})")
        return await super().sock_connect(sock, address)

    async def sock_accept(self, sock: Any) -> Any:
        if self._network is not None:
            return await self._network.sock_accept(self, sock)
        self._refuse_real_io("loop.sock_accept()")
        return await super().sock_accept(sock)

    async def sock_recv(self, sock: Any, n: int) -> Any:
        if self._network is not None:
            return await self._network.sock_recv(self, sock, n)
        return await super().sock_recv(sock, n)

    async def sock_sendall(self, sock: Any, data: Any) -> None:
        if self._network is not None:
            return await self._network.sock_sendall(self, sock, data)
        return await super().sock_sendall(sock, data)

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

    def add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        self._refuse_real_io(f"loop.add_reader({fd!r})")
        super().add_reader(fd, callback, *args)

    def add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        self._refuse_real_io(f"loop.add_writer({fd!r})")
        super().add_writer(fd, callback, *args)

    # The selector keeps the self-pipe registered; anything beyond it is real I/O
    # that must be polled. Count it so the hot path needs no syscall. With signal
    # handlers installed the self-pipe is real I/O too: signals arrive through it.
    def _count_real_fds(self) -> None:
        selector = getattr(self, "_selector", None)
        if selector is None:
            self._real_fds = 0
            return
        own = 1 if getattr(self, "_ssock", None) is not None else 0
        if getattr(self, "_signal_handlers", None):
            own = 0
        self._real_fds = len(selector.get_map()) - own

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

    def add_signal_handler(self, sig: int, callback: Callable[..., object], *args: Any) -> None:
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

    # -- tasks -----------------------------------------------------------------

    def create_future(self) -> asyncio.Future[Any]:
        """A Future of this loop; with a network attached, one that hashes by creation
        order (deterministic set order).

        Only loops with a virtual network get the ordered kind: the libraries that
        wake futures by iterating a set (aiohttp's DNS throttle) run only over the
        network, and a Python Future subclass costs every ``asyncio.sleep`` about
        15% (the C Task's fast path takes exact Futures only).
        """
        if self._network is None:
            return _Future(loop=self)
        future = _OrderedFuture(loop=self)
        future._asyncsim_seq = self._future_seq()
        return future

    def create_task(
        self, coro: Any, *, name: str | None = None, context: Context | None = None
    ) -> asyncio.Task[Any]:
        task = super().create_task(coro, name=name, context=context)
        self._task_order[task] = self._task_counter()
        if self._instruments:
            parent = asyncio.current_task(self) if self.is_running() else None
            if task.done():  # finished eagerly (3.12+): its coroutine is already dropped
                introspect.remember_coroutine(task, coro)
            for instrument in self._instruments:
                instrument.task_created(task, parent)
        return task

    def pending_tasks(self) -> tuple[PendingTask, ...]:
        """Every task of this loop that is not done, in creation order, described."""
        order = self._task_order
        tasks = sorted(asyncio.all_tasks(self), key=lambda t: (order.get(t, 1 << 60), t.get_name()))
        return introspect.describe_pending(tasks)

    # -- stepping (driving the loop from outside, e.g. a stateful test) ------------

    def _check_steppable(self, method: str) -> None:
        self._check_closed()
        if self.is_running():
            raise RuntimeError(f"loop.{method}() cannot be called while the loop is running")

    def _next_timer(self) -> int | None:
        timers = self._timers
        while True:
            while timers and timers[0][2]._cancelled:
                heapq.heappop(timers)[2]._scheduled = False
                self._cancelled_timers -= 1
            if timers or not self._far_count:
                break
            timer_queue.refill(self)
        if not timers or timers[0][0] >= INFINITE_TICKS:
            return None
        return timers[0][0]

    def _jump_clock(self, ticks: int) -> None:
        if self._until is not None and ticks > self._until:
            self._clock.now = max(self._clock.now, self._until)
            raise self._fail(SimulationTimeout.at(self._clock.seconds(), self.pending_tasks()))
        if ticks > self._clock.now:
            old, self._clock.now = self._clock.now, ticks
            for instrument in self._instruments:
                instrument.clock_advanced(old, ticks)

    def run_until_idle(self) -> None:
        """Run every ready callback, and those they make ready, without moving the clock.

        Timers due at the current virtual time fire; executor jobs in flight are
        waited for (they take zero virtual time). Returns when nothing is ready.
        """
        self._check_steppable("run_until_idle")
        while True:
            if self._jobs and not self._ready:
                concurrent.futures.wait(list(self._jobs))
            next_timer = self._next_timer()
            if (
                not self._ready
                and not self._jobs
                and (next_timer is None or next_timer > self._clock.now)
            ):
                return
            self.stop()  # asyncio idiom: stop() then run_forever() runs one iteration
            self.run_forever()

    def run_until_next_timer(self) -> float | None:
        """Run until idle, jump to the next pending timer and run until idle there.

        Returns the new virtual time (seconds), or None (clock unchanged) when no
        timer is pending.
        """
        self.run_until_idle()
        when = self._next_timer()
        if when is None:
            return None
        self._jump_clock(when)
        self.run_until_idle()
        return self.time()

    def advance(self, seconds: float) -> None:
        """Run everything due in the next ``seconds`` virtual seconds; end exactly there.

        Timers fire in deadline order and the clock stops at ``now + seconds``
        even if nothing is scheduled then.
        """
        if (
            not isinstance(seconds, (int, float))
            or isinstance(seconds, bool)
            or not math.isfinite(seconds)
            or seconds < 0
        ):
            raise ValueError(
                f"seconds must be a finite number of virtual seconds >= 0, got {seconds!r}"
            )
        target = self._clock.now + to_ticks(seconds)
        self.run_until_idle()
        while True:
            when = self._next_timer()
            if when is None or when > target:
                break
            self._jump_clock(when)
            self.run_until_idle()
        self._jump_clock(target)

    def _fail(self, error: SimulationError) -> SimulationError:
        if self.error is None:
            self.error = error
        # Lift the limits so that cleanup (cancelling leftover tasks) can run.
        self._until = None
        self._max_steps = None
        return error

    # -- the scheduler ---------------------------------------------------------

    def _poll(self, timeout: float | None) -> None:
        self._process_events(self._selector.select(timeout))

    def run_forever(self) -> None:
        # Checked before asyncio's own run_forever: CPython 3.13.0 (at least) runs its cleanup
        # even when these checks fail, which unsets the running loop (gh-130145).
        self._check_closed()
        self._check_running()
        with relaxed_gc():  # fewer cyclic-GC passes while running (see asyncsim.core.gc_threshold)
            super().run_forever()

    def _run_once(self) -> None:
        """One iteration: advance the clock if idle, move due timers, run ready callbacks."""
        ready = self._ready
        timers = self._timers
        clock = self._clock
        if self._cancelled_timers > _MIN_CANCELLED_TO_COMPACT and (
            self._cancelled_timers * 2 > len(timers) + self._far_count
        ):
            self._compact_timers()
        if ready or self._stopping:
            if self._real_fds:
                self._poll(0)
        else:
            while True:
                while timers and timers[0][2]._cancelled:
                    heapq.heappop(timers)[2]._scheduled = False
                    self._cancelled_timers -= 1
                if timers or not self._far_count:
                    break
                timer_queue.refill(self)  # the near heap ran empty: bring the next bucket in
            if self._jobs and self._jobs_hold_clock():
                # Outside work in flight: the clock stands still until it is done.
                self._poll(None)
            elif timers and timers[0][0] < INFINITE_TICKS:
                # Like asyncio, poll the selector once per iteration (here without
                # blocking) and run what it made ready before any jump of the clock.
                if self._real_fds:
                    self._poll(0)
                if not ready:  # (ready may also hold a thread job's just-queued result)
                    when = timers[0][0]
                    if self._until is not None and when > self._until:
                        clock.now = max(clock.now, self._until)
                        raise self._fail(
                            SimulationTimeout.at(clock.seconds(), self.pending_tasks())
                        )
                    if when > clock.now:
                        old, clock.now = clock.now, when
                        for instrument in self._instruments:
                            instrument.clock_advanced(old, when)
            elif self._real_fds or self._children_alive():
                self._poll(None)  # nothing virtual is pending: wait for real I/O
            else:
                self._poll(0)  # a stray call_soon_threadsafe from an untracked thread?
                if not ready:
                    raise self._fail(Deadlock.at(clock.seconds(), self.pending_tasks()))
        now = clock.now
        if (
            not ready
            and timers
            and timers[0][0] <= now
            and not self._instruments
            and self._schedule_state is None
        ):
            # The due timers are this iteration's whole batch: run them without the
            # ready queue (same order, same semantics).
            self._run_timers(now)
        else:
            while True:
                while timers and timers[0][0] <= now:
                    timer = heapq.heappop(timers)[2]
                    timer._scheduled = False
                    if timer._cancelled:
                        self._cancelled_timers -= 1
                    else:
                        ready.append(timer)
                # (far timers can be due only if a shared clock moved past the horizon)
                if timers or not self._far_count or self._horizon > now:
                    break
                timer_queue.refill(self)
            if self._instruments:
                self._run_ready_instrumented(len(ready))
            else:
                self._run_ready(len(ready))
        self._check_limits()
        if ready and _MERGE_ITERATIONS and self._schedule_state is None:
            self._run_followups()

    def _run_followups(self) -> None:
        """Run the iterations that follow a timer batch, as long as they only run callbacks.

        While callbacks are ready (after a timer batch: a sleeping task's wake-up),
        the next iterations of ``run_forever`` would only run them: the clock cannot
        move while something is ready, and nothing else can happen in between when
        no real file descriptor is polled. Each round here is exactly such an
        iteration (timers due now join the end of the ready queue, then the callbacks
        present at its start run, then the step limit is checked), without returning
        to ``run_forever`` in between; it stops where ``run_forever`` would
        (``stop()`` called) and hands back to the general path when anything else
        must happen (real I/O to poll, cancelled timers to compact).
        """
        ready = self._ready
        timers = self._timers
        clock = self._clock
        while (
            ready
            and not self._stopping
            and not self._real_fds
            and self._cancelled_timers <= _MIN_CANCELLED_TO_COMPACT
        ):
            now = clock.now
            while True:
                while timers and timers[0][0] <= now:
                    timer = _heappop(timers)[2]
                    timer._scheduled = False
                    if timer._cancelled:
                        self._cancelled_timers -= 1
                    else:
                        ready.append(timer)
                if timers or not self._far_count or self._horizon > now:
                    break
                timer_queue.refill(self)
            if self._instruments:
                self._run_ready_instrumented(len(ready))
            else:
                self._run_ready(len(ready))
            self._check_limits()

    def _check_limits(self) -> None:
        """After an iteration: stop at ``max_steps`` callbacks, or past ``until`` (steps
        that take virtual time, the CPU cost model or ``time.sleep``, can run past it)."""
        if self._max_steps is not None and self._steps > self._max_steps:
            raise self._fail(
                StepLimitExceeded.at(self._max_steps, self._clock.seconds(), self.pending_tasks())
            )
        if self._until is not None and self._clock.now > self._until:
            until = to_seconds(self._until)
            raise self._fail(
                SimulationTimeout.at(self._clock.seconds(), self.pending_tasks(), until=until)
            )

    def _run_ready(self, ntodo: int) -> None:
        ready = self._ready
        steps = 0
        try:
            if self._debug:
                for _ in range(ntodo):
                    handle = ready.popleft()
                    if handle._cancelled:
                        continue
                    steps += 1
                    self._run_debug(handle)
                handle = None  # (see below)
                return
            for _ in range(ntodo):
                handle = ready.popleft()
                if handle._cancelled:
                    continue
                steps += 1
                if type(handle) is _Handle:
                    # Handle._run, inlined (asyncio's own handles only).
                    try:
                        handle._context.run(handle._callback, *handle._args)
                    except (SystemExit, KeyboardInterrupt):
                        raise
                    except BaseException as exc:
                        _report_callback_error(handle, exc)
                else:
                    handle._run()
            # As asyncio's _run_once: a step whose exception's traceback reaches this
            # frame (3.12+ links it through f_back) must not keep its handle alive.
            handle = None
        finally:
            self._steps += steps

    def _run_timers(self, now: int) -> None:
        """Run the timers due at ``now`` when nothing else is ready (no instruments).

        Equivalent to moving them to the empty ready queue and running it: they are
        popped first (a timer they schedule for ``now`` waits for the next
        iteration), then run in ``(when, seq)`` order, skipping any cancelled
        meanwhile. A sleep timer's ``_set_result_unless_cancelled`` is inlined.
        """
        timers = self._timers
        timer = _heappop(timers)[2]  # (the caller saw it due)
        timer._scheduled = False
        if (
            _SINGLE_TIMER_PATH
            and (timers[0][0] > now if timers else (not self._far_count or self._horizon > now))
            and not self._debug
        ):
            # A batch of one, the usual case when deadlines differ: no batch list. (The
            # sleep wake-up below is inlined here and in the batch loop on purpose: this
            # is the hottest path of the simulator.)
            if timer._cancelled:
                self._cancelled_timers -= 1
                return
            self._steps += 1
            args = timer._args
            if (
                timer._callback is _set_result_unless_cancelled
                and len(args) == 2
                and ((tf := type(fut := args[0])) is _Future or tf is _OrderedFuture)
                and not fut.done()
            ):
                try:
                    fut.set_result(args[1])
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:  # as Handle._run reports it
                    _report_callback_error(timer, exc)
            else:
                timer._run()
            return
        if timer._cancelled:
            self._cancelled_timers -= 1
            batch = []
        else:
            batch = [timer]
        while True:
            while timers and timers[0][0] <= now:
                timer = _heappop(timers)[2]
                timer._scheduled = False
                if timer._cancelled:
                    self._cancelled_timers -= 1
                else:
                    batch.append(timer)
            if timers or not self._far_count or self._horizon > now:
                break
            timer_queue.refill(self)
        debug = self._debug
        steps = 0
        i = 0
        try:
            for i, timer in enumerate(batch):  # noqa: B007 - i is read in finally
                if timer._cancelled:
                    continue
                steps += 1
                if debug:
                    self._run_debug(timer)
                    continue
                args = timer._args
                if (
                    timer._callback is _set_result_unless_cancelled
                    and len(args) == 2
                    and ((tf := type(fut := args[0])) is _Future or tf is _OrderedFuture)
                    and not fut.done()
                ):
                    try:
                        fut.set_result(args[1])
                    except (SystemExit, KeyboardInterrupt):
                        raise
                    except BaseException as exc:  # as Handle._run reports it
                        _report_callback_error(timer, exc)
                else:
                    timer._run()
            i = len(batch)
        finally:
            self._steps += steps
            if i < len(batch) - 1:  # SystemExit/KeyboardInterrupt: keep the rest queued
                self._ready.extendleft(reversed(batch[i + 1 :]))

    def _run_ready_instrumented(self, ntodo: int) -> None:
        instruments = self._instruments
        if len(instruments) != 1 or self._debug:
            self._run_ready_hooked(ntodo)
            return
        # One instrument (a tracer): its hooks bound once per batch, and the callback
        # run as in _run_ready (Handle._run and sleep wake-ups inlined). Batches are
        # often a single callback (a timer, then the wake-up it causes): little setup.
        ready = self._ready
        first = instruments[0]
        before, after = first.before_step, first.after_step
        while ntodo:
            ntodo -= 1
            handle = ready.popleft()
            if handle._cancelled:
                continue
            self._steps += 1
            self._current_step = handle
            before(handle)
            try:
                if (cls := type(handle)) is _Handle:
                    try:
                        handle._context.run(handle._callback, *handle._args)
                    except (SystemExit, KeyboardInterrupt):
                        raise
                    except BaseException as exc:
                        _report_callback_error(handle, exc)
                elif (
                    cls is TimerHandle
                    and handle._callback is _set_result_unless_cancelled
                    and len(args := handle._args) == 2
                    and ((tf := type(fut := args[0])) is _Future or tf is _OrderedFuture)
                    and not fut.done()
                ):
                    try:
                        fut.set_result(args[1])
                    except (SystemExit, KeyboardInterrupt):
                        raise
                    except BaseException as exc:
                        _report_callback_error(handle, exc)
                else:
                    handle._run()
            finally:
                after(handle)
                self._current_step = None
            if ntodo and (self._debug or len(instruments) != 1 or instruments[0] is not first):
                # The step attached or detached an instrument, or turned on debug mode.
                self._run_ready_hooked(ntodo)
                break
        handle = None  # break cycles, as in _run_ready

    def _run_ready_hooked(self, ntodo: int) -> None:
        ready = self._ready
        instruments = self._instruments
        for _ in range(ntodo):
            handle = ready.popleft()
            if handle._cancelled:
                continue
            self._steps += 1
            self._current_step = handle
            for instrument in instruments:
                instrument.before_step(handle)
            try:
                if self._debug:
                    self._run_debug(handle)
                else:
                    handle._run()
            finally:
                for instrument in instruments:
                    instrument.after_step(handle)
                self._current_step = None
        handle = None  # break cycles, as in _run_ready

    def _run_ready_reordered(self, ntodo: int) -> None:
        # Chaos/PCT (beyond asyncio's FIFO guarantee): the schedule picks each callback
        # from the whole ready queue, including callbacks made ready in this batch.
        ready = self._ready
        instruments = self._instruments
        state = self._schedule_state
        assert state is not None
        for _ in range(ntodo):
            if not ready:
                break
            handle = state.pick(ready)
            if handle._cancelled:
                continue
            self._steps += 1
            self._current_step = handle if instruments else None
            for instrument in instruments:
                instrument.before_step(handle)
            try:
                if self._debug:
                    self._run_debug(handle)
                else:
                    handle._run()
            finally:
                for instrument in instruments:
                    instrument.after_step(handle)
                self._current_step = None
        handle = None  # break cycles, as in _run_ready

    def _run_debug(self, handle: asyncio.Handle) -> None:
        try:
            self._current_handle = handle
            t0 = self.time()
            handle._run()
            dt = self.time() - t0
            if dt >= self.slow_callback_duration:
                asyncio.base_events.logger.warning(
                    "Executing %s took %.3f seconds", asyncio.base_events._format_handle(handle), dt
                )
        finally:
            self._current_handle = None
            handle = None  # break cycles, as in _run_ready

    def _compact_timers(self) -> None:
        timer_queue.compact(self)


_job_thread = threading.local()


def _run_job(loop: VirtualEventLoop, func: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Run an executor job, remembering on its thread which loop it belongs to."""
    _job_thread.loop = loop
    try:
        return func(*args)
    finally:
        _job_thread.loop = None


_original_run_coroutine_threadsafe = asyncio.run_coroutine_threadsafe


def _run_coroutine_threadsafe(coro: Any, loop: asyncio.AbstractEventLoop) -> Any:
    """``asyncio.run_coroutine_threadsafe`` that tells a virtual loop when one of its
    own thread jobs starts waiting on it, so its clock may move meanwhile."""
    future = _original_run_coroutine_threadsafe(coro, loop)
    if getattr(_job_thread, "loop", None) is loop and isinstance(loop, VirtualEventLoop):
        loop._job_waits_on_loop(future)
    return future


def _install_run_coroutine_threadsafe() -> None:
    """Route asyncio.run_coroutine_threadsafe through :func:`_run_coroutine_threadsafe`
    (a pass-through for every caller that is not a virtual loop's own thread job)."""
    if asyncio.run_coroutine_threadsafe is not _run_coroutine_threadsafe:
        asyncio.run_coroutine_threadsafe = _run_coroutine_threadsafe
        asyncio.tasks.run_coroutine_threadsafe = _run_coroutine_threadsafe


def _report_callback_error(handle: asyncio.Handle, exc: BaseException) -> None:
    """Report ``exc`` raised by ``handle``'s callback exactly as ``Handle._run`` does."""
    cb = asyncio.format_helpers._format_callback_source(handle._callback, handle._args)
    context = {"message": f"Exception in callback {cb}", "exception": exc, "handle": handle}
    if handle._source_traceback:
        context["source_traceback"] = handle._source_traceback
    handle._loop.call_exception_handler(context)


def new_event_loop(**kwargs: Any) -> VirtualEventLoop:
    """Create a :class:`VirtualEventLoop` (keyword arguments as its constructor).

    Usable as a loop factory: ``asyncio.Runner(loop_factory=asyncsim.new_event_loop)``.
    """
    return VirtualEventLoop(**kwargs)


class VirtualEventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """An event loop policy whose new loops are virtual (keyword arguments are passed on)."""

    def __init__(self, **loop_kwargs: Any) -> None:
        super().__init__()
        self._loop_kwargs = loop_kwargs

    def new_event_loop(self) -> VirtualEventLoop:
        return VirtualEventLoop(**self._loop_kwargs)
