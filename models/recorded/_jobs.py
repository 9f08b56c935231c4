"""Thread jobs in a replay: each one takes its recorded real duration of virtual time.

On the virtual loop a thread job (``run_in_executor``, ``asyncio.to_thread``) runs for
real while the clock holds, so it takes no virtual time. A recorded model knows how
long each function's jobs took in the real run; :func:`charge_jobs` wraps the loop's
``run_in_executor`` so that a job of a recorded function delivers its result (or
exception) a drawn duration after it was submitted, in virtual seconds. Jobs of other
functions are left as they are.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable, Mapping
from typing import Any

from asyncsim.models.distributions import Duration, sample_duration

from ._probe import _qualname

__all__ = ["charge_jobs"]


def _deliver(inner: asyncio.Future[Any], outer: asyncio.Future[Any]) -> None:
    if outer.done():  # cancelled meanwhile: the job's outcome is not wanted
        if not inner.cancelled():
            inner.exception()  # (retrieved, so asyncio does not log it as lost)
        return
    if inner.cancelled():
        outer.cancel()
    elif (error := inner.exception()) is not None:
        outer.set_exception(error)
    else:
        outer.set_result(inner.result())


def charge_jobs(
    loop: asyncio.AbstractEventLoop,
    jobs: Mapping[str, Duration],
    stream: Callable[[str], Any],
) -> None:
    """Make each thread job of a function in ``jobs`` take a draw of its duration.

    ``jobs`` maps a function's qualified name to its duration (virtual seconds, a
    number or a distribution); ``stream(name)`` gives the random stream to draw from
    (one per function, so one function's jobs never shift another's draws). The
    mapping is read at each submission, so editing it between runs takes effect.
    """
    original = loop.run_in_executor
    if getattr(original, "_asyncsim_charged", False):
        return  # attached twice: charge once

    def run_in_executor(
        executor: concurrent.futures.Executor | None, func: Callable[..., Any], *args: Any
    ) -> asyncio.Future[Any]:
        name = _qualname(func)
        duration = jobs.get(name)
        inner = original(executor, func, *args)
        if duration is None:
            return inner
        seconds = sample_duration(
            f"jobs[{name!r}]", duration, stream(f"models.recorded:job:{name}")
        )
        due = loop.time() + seconds
        outer = loop.create_future()

        def finished(done: asyncio.Future[Any]) -> None:
            loop.call_at(max(due, loop.time()), _deliver, done, outer)

        inner.add_done_callback(finished)
        outer.add_done_callback(lambda o: inner.cancel() if o.cancelled() else None)
        return outer

    functools.update_wrapper(run_in_executor, original)
    run_in_executor._asyncsim_charged = True  # type: ignore[attr-defined]
    loop.run_in_executor = run_in_executor  # type: ignore[method-assign, assignment]
