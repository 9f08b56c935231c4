"""Orders that asyncio leaves to memory addresses, made a function of the program and seed.

asyncio decides some orders by iterating a ``set``, so by memory address: which
task ``asyncio.as_completed(coros)`` creates first (it builds ``set(coros)``), the
order of ``asyncio.wait``'s ``done`` and ``pending`` sets, of ``all_tasks()`` (so
the order in which ``asyncio.run`` cancels leftover tasks), of a ``TaskGroup``'s
tasks when it aborts, of the async generators ``shutdown_asyncgens`` closes. On a
virtual loop:

* tasks (``loop.create_task``, so ``asyncio.create_task``, ``ensure_future``,
  ``gather``, ``TaskGroup``) are :class:`~asyncsim.core.futures.OrderedTask`,
  numbered per simulation: their hash is that number and their default name is
  ``Task-<number>``, as in a fresh process;
* futures the program creates with ``loop.create_future()`` (and those asyncio
  hands to it: ``shield``, ``run_in_executor``) are
  :class:`~asyncsim.core.futures.OrderedFuture`. The futures asyncio creates and
  awaits internally (``asyncio.sleep``, locks, queues, ``wait``), which no program
  can put in a set, stay plain ``asyncio.Future``: the C Task's fast path accepts
  only those, and a subclass would slow every ``asyncio.sleep`` by about 15%;
* ``asyncio.as_completed`` creates the tasks of the coroutines it is given in the
  caller's order, ``asyncio.all_tasks`` returns a set built in creation order,
  and ``shutdown_asyncgens`` closes generators in the order they started.

Where asyncio leaves an order open (which of several equally ready coroutines
``as_completed`` starts first, the order ``asyncio.run`` cancels leftovers in), the
loop asks :meth:`OrderedCreation._choose`, which asks the schedule being played
(:meth:`asyncsim.core.schedule.ScheduleState.choose`): index 0, program order,
without a schedule or under the punctual one.

The ``asyncio.as_completed`` and ``asyncio.all_tasks`` replacements (installed
when the first virtual loop or simulation is made) pass every call that is not
on a virtual loop to asyncio's own function unchanged.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import sys
import weakref
from typing import Any

from asyncsim.core import introspect
from asyncsim.core.futures import OrderedFuture, OrderedTask, creation_order
from asyncsim.core.hosting import InstrumentHost

__all__ = ["OrderedCreation", "install_ordered_asyncio"]

_Future = asyncio.Future
_new_task = asyncio.Task.__new__
_getframe = sys._getframe
_EAGER_FACTORY = getattr(asyncio, "eager_task_factory", None)  # 3.12+


def _plain_future_callers() -> frozenset[Any]:
    """The code of asyncio's functions that create a future only to await it themselves."""
    functions = [
        asyncio.tasks.sleep,
        asyncio.tasks._wait,  # type: ignore[attr-defined]
        asyncio.tasks.wait_for,
        asyncio.locks.Lock.acquire,
        asyncio.locks.Event.wait,
        asyncio.locks.Condition.wait,
        asyncio.locks.Semaphore.acquire,
        asyncio.queues.Queue.get,
        asyncio.queues.Queue.put,
        asyncio.streams.StreamReader._wait_for_data,  # type: ignore[attr-defined]
        asyncio.streams.FlowControlMixin._drain_helper,  # type: ignore[attr-defined]
    ]
    cancel_and_wait = getattr(asyncio.tasks, "_cancel_and_wait", None)  # 3.11
    if cancel_and_wait is not None:
        functions.append(cancel_and_wait)
    return frozenset(f.__code__ for f in functions)


_PLAIN_FUTURE_CALLERS = _plain_future_callers()


class OrderedCreation(InstrumentHost):
    """Task and future creation of :class:`~asyncsim.core.loop.VirtualEventLoop`."""

    def _init_ordering(self) -> None:
        self._future_seq = itertools.count().__next__
        #: Async generators by first iteration (shutdown_asyncgens closes them in it).
        self._asyncgen_order: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()
        self._asyncgen_seq = itertools.count().__next__
        install_ordered_asyncio()

    def _choose(self, kind: str, count: int) -> int:
        """Which of ``count`` candidates to take next at the choice point ``kind``
        (the schedule's pick; 0, program order, without a schedule)."""
        state = self._schedule_state
        return 0 if state is None or count < 2 else state.choose(kind, count)

    def create_task(  # type: ignore[override]  # (coro: any awaitable asyncio accepts)
        self, coro: Any, *, name: str | None = None, context: Any = None
    ) -> asyncio.Task[Any]:
        self._check_closed()
        factory = self._task_factory
        if factory is None or factory is _EAGER_FACTORY:
            number = self._clock.next_task()
            task: Any = _new_task(OrderedTask)
            task._asyncsim_seq = number
            if name is None:
                name = f"Task-{number}"
            if factory is None:
                task.__init__(coro, loop=self, name=name, context=context)
            else:
                task.__init__(coro, loop=self, name=name, context=context, eager_start=True)
            if task._source_traceback:
                del task._source_traceback[-1]
        else:  # the program's own task factory: its tasks are what it makes
            task = super().create_task(coro, name=name, context=context)
        if self._instruments:
            parent = asyncio.current_task(self) if self.is_running() else None
            if task.done():  # finished eagerly (3.12+): its coroutine is already dropped
                introspect.remember_coroutine(task, coro)
            self._task_created(task, parent)
        return task

    def create_future(self) -> asyncio.Future[Any]:
        """A Future of this loop: one that hashes by creation order (deterministic set
        order), unless asyncio creates it to await it itself (``asyncio.sleep``, locks,
        queues), where no program can see it and the C Task's fast path needs a plain one.
        """
        if _getframe(1).f_code in _PLAIN_FUTURE_CALLERS:
            return _Future(loop=self)
        future = OrderedFuture(loop=self)
        future._asyncsim_seq = self._future_seq()
        return future

    def _asyncgen_firstiter_hook(self, agen: Any) -> None:
        self._asyncgen_order[agen] = self._asyncgen_seq()
        super()._asyncgen_firstiter_hook(agen)

    async def shutdown_asyncgens(self) -> None:
        """Close every async generator still alive, in the order they first ran."""
        self._asyncgens_shutdown_called = True
        agens = self._asyncgens
        if not len(agens):
            return
        order = self._asyncgen_order
        pending = sorted(agens, key=lambda agen: order.get(agen, 1 << 62))
        agens.clear()
        closing = []
        while pending:
            closing.append(pending.pop(self._choose("shutdown_asyncgens", len(pending))))
        results = await asyncio.gather(*[ag.aclose() for ag in closing], return_exceptions=True)
        for result, agen in zip(results, closing, strict=True):
            if isinstance(result, Exception):
                self.call_exception_handler(
                    {
                        "message": f"an error occurred during closing of "
                        f"asynchronous generator {agen!r}",
                        "exception": result,
                        "asyncgen": agen,
                    }
                )

    def tasks_in_order(self) -> list[asyncio.Task[Any]]:
        """Every task of this loop that is not done, in creation order."""
        return sorted(_original_all_tasks(self), key=creation_order)


# -- asyncio's functions, in caller and creation order on a virtual loop --------------------

_original_as_completed = asyncio.tasks.as_completed
_original_all_tasks = asyncio.tasks.all_tasks


def _virtual_loop() -> OrderedCreation | None:
    loop = asyncio.events._get_running_loop()
    return loop if isinstance(loop, OrderedCreation) else None


def _started_in_order(loop: OrderedCreation, aws: Any) -> list[Any]:
    """``aws`` without duplicates, each coroutine wrapped in a task: in the caller's order,
    or the order the schedule picks among them (as ``set(aws)`` could have given)."""
    unique = list(dict.fromkeys(aws))  # (what set(aws) keeps, in the caller's order)
    futures = [aw for aw in unique if asyncio.isfuture(aw)]
    waiting = [aw for aw in unique if not asyncio.isfuture(aw)]
    while waiting:
        aw = waiting.pop(loop._choose("as_completed", len(waiting)))
        futures.append(asyncio.ensure_future(aw, loop=loop))
    return futures


if sys.version_info >= (3, 13):

    def as_completed(fs: Any, *, timeout: float | None = None) -> Any:
        loop = _virtual_loop()
        if loop is not None and not inspect.isawaitable(fs):
            fs = _started_in_order(loop, fs)
        return _original_as_completed(fs, timeout=timeout)

else:

    def as_completed(fs: Any, *, timeout: float | None = None) -> Any:
        # A generator, as asyncio's: nothing happens before the first iteration.
        loop = _virtual_loop()
        if loop is not None and not (asyncio.isfuture(fs) or asyncio.iscoroutine(fs)):
            fs = _started_in_order(loop, fs)
        return (yield from _original_as_completed(fs, timeout=timeout))


as_completed.__doc__ = _original_as_completed.__doc__


def all_tasks(loop: asyncio.AbstractEventLoop | None = None) -> set[asyncio.Task[Any]]:
    tasks = _original_all_tasks(loop)
    if loop is None:
        loop = asyncio.events._get_running_loop()
    if len(tasks) > 1 and isinstance(loop, OrderedCreation):
        return set(sorted(tasks, key=creation_order))  # a set built in creation order
    return tasks


all_tasks.__doc__ = _original_all_tasks.__doc__


def install_ordered_asyncio() -> None:
    """Route ``asyncio.as_completed`` and ``asyncio.all_tasks`` through the versions
    above (pass-throughs for every caller that is not on a virtual loop). Names bound
    before (``from asyncio import as_completed``) keep asyncio's own."""
    if asyncio.tasks.as_completed is not as_completed:
        asyncio.as_completed = asyncio.tasks.as_completed = as_completed
    if asyncio.tasks.all_tasks is not all_tasks:
        asyncio.all_tasks = asyncio.tasks.all_tasks = all_tasks
