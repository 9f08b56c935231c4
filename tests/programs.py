"""Generated asyncio programs with an analytical model of when each of their sleeps ends.

A program is a tree of nodes: sleep, seq, gather, task (create_task + await),
wait_for, wait_first (asyncio.wait FIRST_COMPLETED, then cancel the rest),
as_completed, lock (children serialised by one asyncio.Lock), queue (producer and
consumer through an asyncio.Queue) and event (waiters start when a setter sets an
asyncio.Event). ``run(node)`` interprets it under any event loop, logging
``(leaf id, loop.time())`` when a sleep ends; ``model(node)`` computes the same log
and the elapsed time analytically, in integer nanoseconds.

In virtual-time programs every sleep and timeout lasts a whole number of units
plus its own power-of-two nanoseconds, so no two instants of a program ever
coincide and the model never has to guess a tie-break.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from dataclasses import dataclass, field

from hypothesis import strategies as st

UNIT = 100_000_000  # ns per unit of virtual time


@dataclass
class Node:
    kind: str
    units: int = 0
    children: list[Node] = field(default_factory=list)
    ident: int = -1  # bit index for sleeps and timeouts

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(repr(self))  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        inner = ", ".join(map(repr, self.children))
        if self.kind == "sleep":
            return f"sleep#{self.ident}({self.units})"
        if self.kind == "wait_for":
            return f"wait_for#{self.ident}({inner}, timeout={self.units})"
        return f"{self.kind}({inner})"


def number(node: Node, counter: itertools.count | None = None) -> Node:
    """Give every sleep and timeout its own bit index, in tree order."""
    counter = counter if counter is not None else itertools.count()
    if node.kind in ("sleep", "wait_for"):
        node.ident = next(counter)
    for child in node.children:
        number(child, counter)
    return node


def leaves(node: Node) -> list[int]:
    own = [node.ident] if node.kind == "sleep" else []
    return own + [i for c in node.children for i in leaves(c)]


def duration(node: Node, epsilon: bool) -> int:
    """Ticks a sleep or timeout lasts (units, plus its own bit when ``epsilon``)."""
    return node.units * UNIT + ((1 << node.ident) if epsilon else 0)


# -- generation ----------------------------------------------------------------------

sleeps = st.integers(1, 5).map(lambda u: Node("sleep", u))


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    many = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        many.map(lambda cs: Node("seq", children=cs)),
        many.map(lambda cs: Node("gather", children=cs)),
        children.map(lambda c: Node("task", children=[c])),
        st.tuples(children, st.integers(1, 8)).map(
            lambda p: Node("wait_for", p[1], children=[p[0]])
        ),
        many.map(lambda cs: Node("wait_first", children=cs)),
        many.map(lambda cs: Node("as_completed", children=cs)),
        many.map(lambda cs: Node("lock", children=cs)),
        st.lists(st.tuples(sleeps, sleeps), min_size=1, max_size=3).map(
            lambda items: Node("queue", children=[s for pair in items for s in pair])
        ),
        st.tuples(children, st.lists(children, min_size=1, max_size=2)).map(
            lambda p: Node("event", children=[p[0], *p[1]])
        ),
    )


def programs(max_leaves: int = 12) -> st.SearchStrategy[Node]:
    """Program trees with at most ``max_leaves`` sleeps."""
    return (
        st.recursive(sleeps, _extend, max_leaves=max_leaves)
        .map(number)
        .filter(lambda n: len(leaves(n)) <= 20)
    )


# -- the analytical model ------------------------------------------------------------


def model(node: Node, start: int = 0, *, epsilon: bool = True) -> tuple[int, list[tuple[int, int]]]:
    """(end ticks, [(ticks, leaf id) of every sleep that ends]) for ``node`` from ``start``."""
    kind = node.kind
    if kind == "sleep":
        end = start + duration(node, epsilon)
        return end, [(end, node.ident)]
    if kind in ("seq", "lock"):  # a lock taken in creation order serialises its holders
        events: list[tuple[int, int]] = []
        t = start
        for child in node.children:
            t, evs = model(child, t, epsilon=epsilon)
            events += evs
        return t, events
    if kind == "task":
        return model(node.children[0], start, epsilon=epsilon)
    if kind in ("gather", "as_completed"):
        results = [model(c, start, epsilon=epsilon) for c in node.children]
        return max(r[0] for r in results), [e for r in results for e in r[1]]
    if kind == "wait_first":
        results = [model(c, start, epsilon=epsilon) for c in node.children]
        first = min(r[0] for r in results)
        return first, [e for r in results for e in r[1] if e[0] <= first]
    if kind == "wait_for":
        end, events = model(node.children[0], start, epsilon=epsilon)
        deadline = start + duration(node, epsilon)
        if end < deadline:
            return end, events
        return deadline, [e for e in events if e[0] < deadline]
    if kind == "queue":
        producer, consumer = node.children[0::2], node.children[1::2]
        events = []
        put = done = start
        for p, c in zip(producer, consumer, strict=True):
            put += duration(p, epsilon)
            events.append((put, p.ident))
            done = max(put, done) + duration(c, epsilon)
            events.append((done, c.ident))
        return done, events
    if kind == "event":
        setter, *waiters = node.children
        set_at, events = model(setter, start, epsilon=epsilon)
        end = set_at
        for w in waiters:
            t, evs = model(w, set_at, epsilon=epsilon)
            end = max(end, t)
            events += evs
        return end, events
    raise AssertionError(kind)


def instants(node: Node, *, epsilon: bool = False) -> list[int]:
    """Every instant at which something happens: sleep ends and wait_for deadlines."""
    out: list[int] = []

    def walk(n: Node, start: int) -> int:
        if n.kind == "wait_for":
            out.append(start + duration(n, epsilon))
        end, events = model(n, start, epsilon=epsilon)
        if n.kind == "sleep":
            out.append(end)
        elif n.kind in ("seq", "lock"):
            t = start
            for c in n.children:
                walk(c, t)
                t = model(c, t, epsilon=epsilon)[0]
        elif n.kind == "event":
            setter, *waiters = n.children
            set_at = walk(setter, start)
            for w in waiters:
                walk(w, set_at)
        elif n.kind == "queue":
            out.extend(t for t, _ in events)
        else:
            for c in n.children:
                walk(c, start)
        return end

    walk(node, 0)
    return out


# -- the interpreter -----------------------------------------------------------------


async def run(node: Node, log: list[tuple[int, float]], unit: float, epsilon: bool) -> None:
    """Run ``node`` on the running loop; sleeps last their units of ``unit`` seconds."""
    loop = asyncio.get_running_loop()

    async def cancel_all(tasks: list[asyncio.Task[None]]) -> None:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def seconds(n: Node) -> float:
        if epsilon:
            return duration(n, True) / 1_000_000_000
        return n.units * unit

    async def go(n: Node) -> None:
        kind = n.kind
        if kind == "sleep":
            await asyncio.sleep(seconds(n))
            log.append((n.ident, loop.time()))
        elif kind == "seq":
            for c in n.children:
                await go(c)
        elif kind == "task":
            await loop.create_task(go(n.children[0]))
        elif kind == "gather":
            await asyncio.gather(*(go(c) for c in n.children))
        elif kind == "as_completed":
            tasks = [loop.create_task(go(c)) for c in n.children]
            try:
                for f in asyncio.as_completed(tasks):
                    await f
            finally:  # as_completed does not cancel its tasks when we are cancelled
                await cancel_all(tasks)
        elif kind == "wait_first":
            tasks = [loop.create_task(go(c)) for c in n.children]
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:  # neither does asyncio.wait
                await cancel_all(tasks)
        elif kind == "wait_for":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(go(n.children[0]), seconds(n))
        elif kind == "lock":
            lock = asyncio.Lock()

            async def holder(c: Node) -> None:
                async with lock:
                    await go(c)

            await asyncio.gather(*(holder(c) for c in n.children))
        elif kind == "queue":
            queue: asyncio.Queue[int] = asyncio.Queue()
            producer, consumer = n.children[0::2], n.children[1::2]

            async def produce() -> None:
                for i, p in enumerate(producer):
                    await go(p)
                    queue.put_nowait(i)

            async def consume() -> None:
                for c in consumer:
                    await queue.get()
                    await go(c)

            await asyncio.gather(produce(), consume())
        elif kind == "event":
            event = asyncio.Event()
            setter, *waiters = n.children

            async def set_it() -> None:
                await go(setter)
                event.set()

            async def wait_then(w: Node) -> None:
                await event.wait()
                await go(w)

            await asyncio.gather(set_it(), *(wait_then(w) for w in waiters))
        else:  # pragma: no cover
            raise AssertionError(kind)

    await go(node)
