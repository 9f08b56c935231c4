"""Generated asyncio programs that observe every order asyncio leaves to memory addresses.

A program is a tree of nodes (``[kind, units, children...]`` as JSON). Unlike
:mod:`tests.programs` its delays are whole units (many instants coincide: ties are
the point) and it logs what a program can see of each order asyncio leaves open:

* ``as_completed``: ``asyncio.as_completed`` over *coroutines* (asyncio builds a set
  of them), logging each result as it comes;
* ``wait``: ``asyncio.wait`` with a timeout, logging the ``done`` and ``pending`` sets
  in their iteration order, then cancelling the pending ones in that order;
* ``set``: the program's own ``set`` of tasks, awaited in iteration order;
* ``futures``: the program's own ``set`` of ``loop.create_future()`` futures, resolved
  in iteration order by a waker;
* ``group``: a ``TaskGroup`` whose failing child cancels its siblings (a set);
* ``cancel``: a task cancelled after some units; ``leftover``: a task never awaited,
  cancelled at the end of the run (``asyncio.run`` takes them from ``all_tasks()``);
* ``random``: a sleep drawn from the seeded ``random`` module (a distribution);
* ``sleep``, ``seq``, ``gather``, ``lock``, ``queue`` and ``event`` as usual.

Each node logs ``(what, ident, loop.time())`` entries, where ``ident`` is the
node's position in the tree. :func:`execute` runs a program with a trace and
returns the log, the outcome and a digest of the trace's JSON bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from typing import Any

from hypothesis import strategies as st

import asyncsim

UNIT = 0.125  # virtual seconds per unit (a power of two: sums of units are exact)

Tree = list[Any]  # [kind, units, *children]

_LEAF_KINDS = ("sleep", "random", "fail", "leftover")

leaves = st.one_of(
    st.tuples(st.just("sleep"), st.integers(0, 3)).map(list),
    st.tuples(st.just("random"), st.integers(1, 2)).map(list),
    st.tuples(st.just("leftover"), st.integers(1, 4)).map(list),
)


def _extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    many = st.lists(children, min_size=1, max_size=4)

    def node(kind: str, units: st.SearchStrategy[int] | None = None) -> st.SearchStrategy[Tree]:
        return st.tuples(st.just(0) if units is None else units, many).map(
            lambda p: [kind, p[0], *p[1]]
        )

    return st.one_of(
        node("seq"),
        node("gather"),
        node("as_completed"),
        node("wait", st.integers(0, 4)),
        node("set"),
        node("futures", st.integers(0, 2)),
        node("group", st.integers(0, 3)),
        node("cancel", st.integers(0, 3)),
        node("lock"),
        node("queue"),
        node("event", st.integers(0, 2)),
    )


def determinism_programs(max_leaves: int = 10) -> st.SearchStrategy[Tree]:
    """Program trees with at most ``max_leaves`` leaves, as JSON-able nested lists."""
    return st.recursive(leaves, _extend, max_leaves=max_leaves)


async def interpret(tree: Tree, log: list[Any]) -> None:
    """Run ``tree`` on the running loop, appending what it observes to ``log``."""
    loop = asyncio.get_running_loop()
    counter = iter(range(1_000_000))
    leftovers: list[asyncio.Task[None]] = []

    def note(what: str, ident: int, extra: Any = None) -> None:
        log.append([what, ident, loop.time(), extra])

    async def go(node: Tree) -> int:
        ident = next(counter)
        kind, units, *children = node
        if kind == "sleep":
            await asyncio.sleep(units * UNIT)
        elif kind == "random":
            await asyncio.sleep(random.expovariate(1 / (units * UNIT)))
        elif kind == "leftover":

            async def forgotten() -> None:
                try:
                    await asyncio.sleep(1000)
                finally:
                    note("leftover cancelled", ident)

            leftovers.append(loop.create_task(forgotten()))  # (never awaited)
            await asyncio.sleep(units * UNIT)
        elif kind == "seq":
            for child in children:
                await go(child)
        elif kind == "gather":
            await asyncio.gather(*(go(c) for c in children))
        elif kind == "as_completed":
            for next_done in asyncio.as_completed([go(c) for c in children]):
                note("as_completed", ident, await next_done)
        elif kind == "wait":
            tasks = [loop.create_task(go(c)) for c in children]
            done, pending = await asyncio.wait(tasks, timeout=units * UNIT or None)
            note("done", ident, [t.get_name() for t in done])
            note("pending", ident, [t.get_name() for t in pending])
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        elif kind == "set":
            tasks = {loop.create_task(go(c)) for c in children}
            for task in tasks:
                note("set", ident, await task)
        elif kind == "futures":
            futures = {loop.create_future(): i for i in range(len(children))}

            async def waiter(future: asyncio.Future[int], child: Tree) -> None:
                await go(child)
                note("woken", ident, await future)

            waiters = [
                loop.create_task(waiter(f, c)) for f, c in zip(futures, children, strict=True)
            ]
            await asyncio.sleep(units * UNIT)
            for future, i in futures.items():
                future.set_result(i)
            await asyncio.gather(*waiters)
        elif kind == "group":

            async def failing() -> None:
                await asyncio.sleep(units * UNIT)
                raise ValueError(ident)

            async def member(child: Tree) -> None:
                try:
                    await go(child)
                except asyncio.CancelledError:
                    note("group cancelled", ident, asyncio.current_task().get_name())  # type: ignore[union-attr]
                    raise

            try:
                async with asyncio.TaskGroup() as group:
                    for child in children:
                        group.create_task(member(child))
                    group.create_task(failing())
            except* ValueError:
                note("group failed", ident)
        elif kind == "cancel":

            async def all_of() -> None:
                await asyncio.gather(*(go(c) for c in children))

            task = loop.create_task(all_of())
            await asyncio.sleep(units * UNIT)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            note("cancelled", ident, task.cancelled())
        elif kind == "lock":
            lock = asyncio.Lock()

            async def holder(child: Tree) -> None:
                async with lock:
                    await go(child)

            await asyncio.gather(*(holder(c) for c in children))
        elif kind == "queue":
            queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)

            async def produce(child: Tree) -> None:
                await queue.put(await go(child))

            async def consume() -> None:
                for _ in children:
                    note("got", ident, await queue.get())
                    queue.task_done()

            await asyncio.gather(consume(), *(produce(c) for c in children))
            await queue.join()
        elif kind == "event":
            event = asyncio.Event()

            async def wait_then(child: Tree) -> None:
                await event.wait()
                note("event", ident, await go(child))

            waiting = [loop.create_task(wait_then(c)) for c in children]
            await asyncio.sleep(units * UNIT)
            event.set()
            await asyncio.gather(*waiting)
        else:  # pragma: no cover
            raise AssertionError(kind)
        note("end", ident)
        return ident

    await go(tree)


def execute(tree: Tree, seed: int = 1) -> dict[str, Any]:
    """Run ``tree`` with a trace: its log, its outcome and the SHA-256 of the trace's JSON."""
    log: list[Any] = []
    run = asyncsim.simulate(interpret(tree, log), seed=seed, trace=True, max_steps=200_000)
    assert run.trace is not None
    return {
        "log": log,
        "outcome": repr(run.exception),
        "elapsed": run.elapsed,
        "trace": hashlib.sha256(run.trace.to_json().encode()).hexdigest(),
    }
