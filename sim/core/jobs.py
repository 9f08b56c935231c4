"""Threads on the virtual loop: thread jobs, and threads that call into the loop.

Thread jobs (``run_in_executor``, ``asyncio.to_thread``, or any outside work
registered with :meth:`ThreadJobs.track_outside_work`) really run and take zero
virtual time (unless a model gives them a duration: :attr:`ThreadJobs.job_duration`,
set by the CPU cost model, delays each job's result by its function's modeled
time): while one is *running* the loop does not move its clock. A job
whose thread is blocked in a wait (see :mod:`asyncsim.core.threads`: an
``Event``, a ``queue.Queue``, the future of ``asyncio.run_coroutine_threadsafe``
...) does not hold the clock, so the loop can reach the timer that will wake it.

A thread the program started by hand becomes a *client* of the loop the first
time it calls ``loop.call_soon_threadsafe`` (directly, or through
``run_coroutine_threadsafe`` or a wrapped future's completion); from then on,
while it runs, it is a real-time party: virtual time advances no faster than
real time (:meth:`ThreadJobs._running_clients`). A thread started while the
loop exists that has not called in yet is waited for (instead of a deadlock
being reported) while it runs: it may still call back
(:meth:`ThreadJobs._threads_that_may_call_back`).

:meth:`ThreadJobs._clock_holders` says which jobs hold the clock now;
:mod:`asyncsim.core.boundary` decides what the idle loop does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
import weakref
from collections.abc import Callable
from contextvars import Context
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, Unpack

from asyncsim.core import threads
from asyncsim.core.base import LoopBase
from asyncsim.core.schedule import call_at_modeled

__all__ = ["Job", "ThreadJobs"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


class Job:
    """A thread job in flight: what it runs, and the thread running it once started."""

    __slots__ = ("abandoned", "executor", "thread", "what")

    def __init__(self, what: str, executor: concurrent.futures.Executor | None) -> None:
        self.what = what
        self.executor = executor
        #: The thread running the job (None until it starts, or for other executors).
        self.thread: threading.Thread | None = None
        #: Set when the loop gave up waiting for it (see ``real_time_limit``).
        self.abandoned = False

    def may_start(self) -> bool:
        """True when a job not started yet will start without waiting for the loop:
        its pool has an idle worker or room for a new one (other executors: True)."""
        ex = self.executor
        if not isinstance(ex, concurrent.futures.ThreadPoolExecutor):
            return True
        idle = getattr(ex, "_idle_semaphore", None)
        workers = getattr(ex, "_threads", ())
        max_workers = getattr(ex, "_max_workers", 0)
        return len(workers) < max_workers or (idle is not None and idle._value > 0)


def describe_call(func: Callable[..., Any], args: tuple[Any, ...]) -> str:
    """``name(arg, ...)``, unwrapping what ``asyncio.to_thread`` wraps."""
    if isinstance(func, functools.partial) and isinstance(
        getattr(func.func, "__self__", None), Context
    ):
        inner: Any = func  # to_thread: partial(ctx.run, func, *args)
        func, args = inner.args[0], inner.args[1:]
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    name = name.rsplit("<locals>.", 1)[-1]
    shown = ", ".join(_short(a) for a in args)
    return f"{name}({shown})"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class ThreadJobs(LoopBase):
    """The thread part of :class:`~asyncsim.core.loop.VirtualEventLoop`."""

    if TYPE_CHECKING:  # (from asyncsim.core.hosting.InstrumentHost)
        _instruments: tuple[Any, ...]

        def _delay_injected(self, handle: Any, kind: str, due: int, ticks: int) -> None: ...

    def _init_jobs(self) -> None:
        #: Jobs in flight -> what they are.
        self._jobs: dict[concurrent.futures.Future[Any], Job] = {}
        #: Threads that called into this loop from outside (call_soon_threadsafe).
        self._clients: weakref.WeakSet[threading.Thread] = weakref.WeakSet()
        #: Threads that existed when the loop was made (the others may call back).
        self._threads_before: weakref.WeakSet[threading.Thread] = weakref.WeakSet(
            threading.enumerate()
        )
        #: The virtual duration (ticks) of a thread job running a function, or None: jobs
        #: take no virtual time. The CPU cost model sets it (asyncsim.instruments.cpu).
        self.job_duration: Callable[[Callable[..., object]], int] | None = None

    # -- starting jobs -------------------------------------------------------------

    def run_in_executor(
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[[Unpack[_Ts]], _T],
        *args: *_Ts,
    ) -> asyncio.Future[_T]:
        """Run ``func`` in a thread for real; the virtual clock stands still while it runs."""
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
        record = Job(describe_call(func, args), executor)
        job: concurrent.futures.Future[_T]
        if isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            job = executor.submit(_run_job, record, func, args)
        else:
            job = executor.submit(func, *args)
        delay = self._schedule_state.job_delay() if self._schedule_state is not None else 0
        if self.job_duration is not None:
            delay += self.job_duration(func)  # a modeled duration: the result comes that late
        if delay:
            future = self._deliver_late(job, self._clock.now + delay)
            if self._instruments:
                self._delay_injected(None, "job", self._clock.now, delay)
        else:
            future = asyncio.wrap_future(job, loop=self)
        # Tracked after wrapping, so the result is queued before the job stops holding
        # the clock (done callbacks run in registration order).
        self._track(job, record)
        return future

    def _deliver_late(self, job: concurrent.futures.Future[_T], ticks: int) -> asyncio.Future[_T]:
        # A schedule delays this job's result to virtual time ``ticks`` (or later).
        future: asyncio.Future[_T] = self.create_future()

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

        def landed(_: concurrent.futures.Future[_T]) -> None:
            # The schedule's own delay: not a timer of the program, never made late again.
            call_at_modeled(self, max(ticks, self._clock.now), copy_state)

        def on_done(j: concurrent.futures.Future[_T]) -> None:
            if not self.is_closed():
                self.call_soon_threadsafe(landed, j)

        job.add_done_callback(on_done)
        return future

    def track_outside_work(self, job: concurrent.futures.Future[Any], what: str = "") -> None:
        """Hold the virtual clock until ``job`` (done in another thread) finishes.

        Call it after wrapping ``job`` (``asyncio.wrap_future``), so that the
        result is queued on the loop before the clock is released. ``what``
        describes the work in reports.
        """
        self._track(job, Job(what or repr(job), None))

    def _track(self, job: concurrent.futures.Future[Any], record: Job) -> None:
        self._jobs[job] = record
        self._fast_path_changed()  # (work in flight: no fused iterations)
        job.add_done_callback(self._outside_work_done)

    def _outside_work_done(self, job: concurrent.futures.Future[Any]) -> None:
        self._jobs.pop(job, None)
        self._fast_path_changed()
        if not self.is_closed():
            self._write_to_self()

    # -- threads that call in ------------------------------------------------------------

    def call_soon_threadsafe(
        self, callback: Callable[[Unpack[_Ts]], object], *args: *_Ts, context: Context | None = None
    ) -> asyncio.Handle:
        """As asyncio's; the calling thread (if not the loop's) becomes a client of the
        loop: while it runs, virtual time advances no faster than real time."""
        if threading.get_ident() != self._thread_id:
            # (before the callback is queued: the loop may run it, and look at its
            # clients, before this thread runs another line)
            self._clients.add(threading.current_thread())
        handle = super().call_soon_threadsafe(callback, *args, context=context)
        if handle._source_traceback:  # type: ignore[attr-defined]
            del handle._source_traceback[-1]  # type: ignore[attr-defined]  # end at the caller
        return handle

    # -- who holds the clock --------------------------------------------------------------

    def _clock_holders(self) -> list[str]:
        """The thread jobs that hold the clock now, described (empty: none does).

        A job holds it until it finishes, unless its thread is waiting (see
        :mod:`asyncsim.core.threads`) or it has not started because its pool is
        busy.
        """
        holders: list[str] = []
        current: dict[int, Any] | None = None
        for job, record in list(self._jobs.items()):
            if record.abandoned or job.done():
                continue
            thread = record.thread
            if thread is None:
                if record.may_start():
                    holders.append(f"thread job {record.what}: not started yet")
                continue
            if current is None:
                current = threads.frames()
            frame = current.get(thread.ident or 0)
            if frame is None or not threads.is_waiting(frame):
                holders.append(f"thread job {record.what}: {threads.where(thread, current)}")
        return holders

    def _running_clients(self) -> list[str]:
        """Threads that called into the loop and still run (not waiting), described:
        real-time parties, which virtual time must not outrun."""
        if not self._clients:
            return []
        me = threading.current_thread()
        found: list[str] = []
        current = threads.frames()
        jobs = {record.thread for record in self._jobs.values()}
        for thread in list(self._clients):
            if not thread.is_alive():
                self._clients.discard(thread)
                continue
            if thread is me or thread in jobs:
                continue
            frame = current.get(thread.ident or 0)
            if frame is not None and not threads.is_waiting(frame):
                found.append(f"thread {thread.name!r}: {threads.where(thread, current)}")
        return found

    def _waiting_jobs(self) -> tuple[str, ...]:
        """The jobs in flight (all blocked in a wait, or queued behind them), described."""
        current = threads.frames()
        found = []
        for job, record in list(self._jobs.items()):
            if job.done() or record.abandoned:
                continue
            place = "queued" if record.thread is None else threads.where(record.thread, current)
            found.append(f"thread job {record.what}: {place}")
        return tuple(found)

    def _jobs_waiting_on_io(self) -> list[str]:
        """Thread jobs whose thread waits for real I/O or a child process (e.g. it runs an
        event loop of its own), described: they do not hold the clock, but the outside
        world may still wake them, so they are not taken for a deadlock."""
        found: list[str] = []
        current: dict[int, Any] | None = None
        for job, record in list(self._jobs.items()):
            thread = record.thread
            if thread is None or record.abandoned or job.done():
                continue
            if current is None:
                current = threads.frames()
            frame = current.get(thread.ident or 0)
            if frame is not None and threads.waits_on_io(frame):
                found.append(f"thread job {record.what}: {threads.where(thread, current)}")
        return found

    def _threads_that_may_call_back(self) -> list[str]:
        """Running threads started since the loop was made, not (yet) its clients, described:
        with nothing else to wait for, the loop waits for them instead of reporting a deadlock."""
        me = threading.current_thread()
        found: list[str] = []
        current: dict[int, Any] | None = None
        for thread in threading.enumerate():
            if thread is me or thread in self._threads_before or not thread.is_alive():
                continue
            if current is None:
                current = threads.frames()
            frame = current.get(thread.ident or 0)
            if frame is not None and not threads.is_waiting(frame):
                found.append(f"thread {thread.name!r}: {threads.where(thread, current)}")
        return found

    def _abandon_jobs(self) -> None:
        """Stop waiting for the jobs in flight (after a :class:`asyncsim.SimulationError`):
        they no longer hold the clock, and shutting the default executor down will not
        wait for them."""
        for record in self._jobs.values():
            record.abandoned = True
        self._clients.clear()
        self._threads_before.update(threading.enumerate())

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        """Shut the default executor down, waiting for its threads (zero virtual time).

        After a :class:`asyncsim.SimulationError` abandoned its jobs, it does not wait
        for them.
        """
        self._executor_shutdown_called = True
        executor = self._default_executor
        if executor is None:
            return
        if any(record.abandoned for record in self._jobs.values()):
            executor.shutdown(wait=False, cancel_futures=True)
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
        thread = threading.Thread(target=shutdown, name="asyncsim-executor-shutdown")
        record = Job("executor.shutdown(wait=True) of the default executor", None)
        record.thread = thread
        self._track(done, record)
        thread.start()
        await finished


def _run_job(record: Job, func: Callable[..., _T], args: tuple[Any, ...]) -> _T:
    """Run an executor job, noting which thread runs it."""
    record.thread = threading.current_thread()
    return func(*args)
