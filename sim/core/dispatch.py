"""The one place where the virtual loop runs callbacks.

:func:`run_ready` runs a batch of the ready queue: the plain loop, with
instruments, in debug mode, and under a reordering (chaos/PCT) schedule alike.
Due timers join the ready queue before it runs (see ``VirtualEventLoop._run_once``).

Each callback runs with ``asyncio.Handle._run``'s semantics: in its context, an
exception reported through ``loop.call_exception_handler`` (``KeyboardInterrupt``
and ``SystemExit`` propagate; the rest of the batch stays queued). Two cases are
inlined because they are most of a simulation's callbacks: asyncio's own
``Handle`` (a task step, a future's done callback) runs without the ``_run`` frame,
and an ``asyncio.sleep`` timer (``futures._set_result_unless_cancelled`` on a plain
future that is not done) sets its future's result directly: the task's wake-up it
schedules runs in the task's own context, so the timer's context is not needed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asyncsim.core.futures import OrderedFuture
from asyncsim.core.handles import SleepTimerHandle, TimerHandle
from asyncsim.core.hosting import NO_INSTRUMENTS

__all__ = ["report_callback_error", "run_debug", "run_ready"]

_Handle = asyncio.Handle
_Future = asyncio.Future
_set_result_unless_cancelled = asyncio.futures._set_result_unless_cancelled  # type: ignore[attr-defined]


def run_ready(loop: Any, ntodo: int) -> None:
    """Run the next ``ntodo`` callbacks of ``loop``'s ready queue (cancelled ones skipped).

    ``loop._take_ready()`` removes the next one (FIFO, or the schedule's pick).
    Instruments attached or detached by a step take effect from the next step; an
    instrument whose step hook raises is detached (see :mod:`asyncsim.core.hosting`).
    """
    take = loop._take_ready
    debug = loop._debug
    instruments = NO_INSTRUMENTS  # (and so no hooks, until a step finds others attached)
    before = after = None
    steps = 0
    try:
        while ntodo:
            ntodo -= 1
            handle = take()
            if handle._cancelled:
                continue
            steps += 1
            if loop._instruments is not instruments:
                # The step hooks: none, the one instrument's own (the guests' rule is
                # applied here), or the loop's fan-out to several (which applies it).
                instruments = loop._instruments
                if not instruments:
                    before = after = None
                elif len(instruments) == 1:
                    before, after = instruments[0].before_step, instruments[0].after_step
                else:
                    before, after = loop._before_step_all, loop._after_step_all
            if before is not None:
                try:
                    before(handle)
                except Exception as exc:
                    loop._guest_failed(instruments[0], "before_step", exc)
                    after = None
            try:
                if debug:
                    run_debug(loop, handle)
                elif (cls := type(handle)) is _Handle:
                    try:
                        handle._context.run(handle._callback, *handle._args)
                    except (SystemExit, KeyboardInterrupt):
                        raise
                    except BaseException as exc:
                        report_callback_error(handle, exc)
                elif (
                    cls is TimerHandle
                    and handle._callback is _set_result_unless_cancelled
                    and len(args := handle._args) == 2
                    and ((tf := type(fut := args[0])) is _Future or tf is OrderedFuture)
                    and not fut.done()
                ):
                    try:
                        fut.set_result(args[1])
                    except (SystemExit, KeyboardInterrupt):
                        raise
                    except BaseException as exc:  # as Handle._run reports it
                        report_callback_error(handle, exc)
                elif (
                    cls is SleepTimerHandle
                    and ((tf := type(fut := handle._future)) is _Future or tf is OrderedFuture)
                    and not fut.done()
                ):
                    try:
                        fut.set_result(None)
                    except (SystemExit, KeyboardInterrupt):
                        raise
                    except BaseException as exc:  # as Handle._run reports it
                        report_callback_error(handle, exc)
                else:
                    handle._run()
            finally:
                if after is not None:
                    try:
                        after(handle)
                    except Exception as exc:
                        loop._guest_failed(instruments[0], "after_step", exc)
        # As asyncio's _run_once: a step whose exception's traceback reaches this frame
        # (3.12+ links it through f_back) must not keep its handle alive.
        handle = None
    finally:
        loop._steps += steps


def run_debug(loop: Any, handle: asyncio.Handle) -> None:
    """Run ``handle`` as asyncio's debug mode does: warn when it takes too long."""
    try:
        loop._current_handle = handle
        t0 = loop.time()
        handle._run()
        dt = loop.time() - t0
        if dt >= loop.slow_callback_duration:
            asyncio.base_events.logger.warning(  # type: ignore[attr-defined]
                "Executing %s took %.3f seconds",
                asyncio.base_events._format_handle(handle),  # type: ignore[attr-defined]
                dt,
            )
    finally:
        loop._current_handle = None
        handle = None  # type: ignore[assignment]  # break cycles, as in run_ready


def report_callback_error(handle: Any, exc: BaseException) -> None:
    """Report ``exc`` raised by ``handle``'s callback exactly as ``Handle._run`` does."""
    cb = asyncio.format_helpers._format_callback_source(handle._callback, handle._args)  # type: ignore[attr-defined]
    context = {"message": f"Exception in callback {cb}", "exception": exc, "handle": handle}
    if handle._source_traceback:
        context["source_traceback"] = handle._source_traceback
    handle._loop.call_exception_handler(context)
