"""User annotations of a traced run: :func:`mark` (an instant) and :func:`span` (a stretch).

Both record into the tracer of the simulation running now
(:class:`asyncsim.instruments.tracer.Tracer`) and do nothing in an untraced run, so
a program can keep its annotations when it runs on plain asyncio.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from asyncsim._validate import check_str
from asyncsim.instruments.tracer import _tracer

__all__ = ["mark", "span"]


def mark(label: str) -> None:
    """Record ``label`` at the current virtual time in the trace (no-op when untraced).

    Examples
    --------
    >>> import asyncio, asyncsim
    >>> async def main():
    ...     await asyncio.sleep(1.5)
    ...     asyncsim.mark("ready")
    >>> mark = asyncsim.simulate(main(), trace=True).trace.marks[0]
    >>> mark.time, mark.time_ns  # virtual seconds, and ticks
    (1.5, 1500000000)
    """
    check_str("label", label)
    tracer = _tracer()
    if tracer is not None:
        tracer.add_mark(label)


@contextmanager
def span(label: str) -> Iterator[None]:
    """Record the virtual time spent inside ``with asyncsim.span(label):`` (no-op untraced)."""
    check_str("label", label)
    tracer = _tracer()
    if tracer is None:
        yield
        return
    task, start = tracer._current_task, tracer._clock.now
    try:
        yield
    finally:
        tracer.add_span(label, task, start)
