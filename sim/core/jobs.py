"""Thread jobs on the virtual loop: they really run, and take zero virtual time.

(Unless a model gives them a duration: :attr:`ThreadJobs.job_duration`, set by the
CPU cost model, delays each job's result by its function's modeled time.)

A job in flight (``run_in_executor``, ``asyncio.to_thread``, or any outside work
registered with :meth:`ThreadJobs.track_outside_work`) *holds the clock*: while
one is in flight and nothing is ready, the loop waits for it instead of jumping
to the next timer. A job that blocks on a coroutine it submitted to its own loop
(``asyncio.run_coroutine_threadsafe``) releases the clock until that coroutine is
done, or the two would wait for each other forever; asyncsim routes
``asyncio.run_coroutine_threadsafe`` through :func:`run_coroutine_threadsafe` to
learn about it (a pass-through for every other caller).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, TypeVarTuple, Unpack

from asyncsim.clock import to_seconds
from asyncsim.core.base import LoopBase

__all__ = ["ThreadJobs", "install_run_coroutine_threadsafe", "run_coroutine_threadsafe"]

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")

#: The loop whose job the current thread is running (``loop`` attribute), if any.
_job_thread = threading.local()


class ThreadJobs(LoopBase):
    """The thread-job part of :class:`~asyncsim.core.loop.VirtualEventLoop`."""

    if TYPE_CHECKING:  # (from asyncsim.core.hosting.InstrumentHost)
        _instruments: tuple[Any, ...]

        def _delay_injected(self, handle: Any, kind: str, due: int, ticks: int) -> None: ...

    def _init_jobs(self) -> None:
        self._jobs: set[concurrent.futures.Future[Any]] = set()
        # Jobs blocked on a coroutine they submitted to this loop do not hold the clock.
        self._waited: set[concurrent.futures.Future[Any]] = set()
        self._jobs_lock = threading.Lock()
        #: The virtual duration (ticks) of a thread job running a function, or None: jobs
        #: take no virtual time. The CPU cost model sets it (asyncsim.instruments.cpu).
        self.job_duration: Callable[[Callable[..., object]], int] | None = None
        install_run_coroutine_threadsafe()

    def run_in_executor(
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[[Unpack[_Ts]], _T],
        *args: *_Ts,
    ) -> asyncio.Future[_T]:
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
        job: concurrent.futures.Future[_T]
        if isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            job = executor.submit(_run_job, self, func, args)
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
        self.track_outside_work(job)
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
            self.call_at(to_seconds(max(ticks, self._clock.now)), copy_state)

        def on_done(j: concurrent.futures.Future[_T]) -> None:
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
        self._fast_path_changed()  # (work in flight: no fused iterations)
        job.add_done_callback(self._outside_work_done)

    def _outside_work_done(self, job: concurrent.futures.Future[Any]) -> None:
        self._jobs.discard(job)
        self._fast_path_changed()
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


def _run_job(loop: ThreadJobs, func: Callable[..., _T], args: tuple[Any, ...]) -> _T:
    """Run an executor job, remembering on its thread which loop it belongs to."""
    _job_thread.loop = loop
    try:
        return func(*args)
    finally:
        _job_thread.loop = None


_original_run_coroutine_threadsafe = asyncio.run_coroutine_threadsafe


def run_coroutine_threadsafe(coro: Any, loop: asyncio.AbstractEventLoop) -> Any:
    """``asyncio.run_coroutine_threadsafe`` that tells a virtual loop when one of its
    own thread jobs starts waiting on it, so its clock may move meanwhile."""
    future = _original_run_coroutine_threadsafe(coro, loop)
    if getattr(_job_thread, "loop", None) is loop and isinstance(loop, ThreadJobs):
        loop._job_waits_on_loop(future)
    return future


def install_run_coroutine_threadsafe() -> None:
    """Route asyncio.run_coroutine_threadsafe through :func:`run_coroutine_threadsafe`
    (a pass-through for every caller that is not a virtual loop's own thread job)."""
    if asyncio.run_coroutine_threadsafe is not run_coroutine_threadsafe:
        asyncio.run_coroutine_threadsafe = run_coroutine_threadsafe
        asyncio.tasks.run_coroutine_threadsafe = run_coroutine_threadsafe
