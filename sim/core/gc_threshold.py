"""Fewer cyclic-GC passes while a virtual loop runs: a raised generation-0 threshold.

A simulation allocates a future, a timer and a handle per sleep, almost all
freed at once by reference counting; with asyncio's live tasks in the heap the
default threshold (700 allocations) makes the collector rescan them again and
again. While any virtual loop runs, the generation-0 threshold is raised to
:data:`GEN0_THRESHOLD`; the previous thresholds come back when the last one
stops, unless the program changed them itself meanwhile (then its choice stays).

What changes for the program: only *when* cyclic garbage is collected (it is
collected after up to 50,000 net allocations instead of 700), so ``__del__``
methods and weakref callbacks of objects in reference cycles run later than
they otherwise would. Garbage without cycles is freed immediately, as always,
and ``gc.collect()`` works as usual. ``gc.get_threshold()`` inside the run
reads the raised value.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["GEN0_THRESHOLD", "relaxed_gc"]

#: Generation-0 threshold while a virtual loop runs.
GEN0_THRESHOLD = 50_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] | None = None
_tuned: tuple[int, ...] | None = None


@contextmanager
def relaxed_gc() -> Iterator[None]:
    """Raise the generation-0 GC threshold for the duration of the block (re-entrant)."""
    global _depth, _saved, _tuned
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            _tuned = None
            if 0 < _saved[0] < GEN0_THRESHOLD:
                _tuned = (GEN0_THRESHOLD, *_saved[1:])
                gc.set_threshold(*_tuned)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _tuned is not None and _saved is not None:
                if gc.get_threshold() == _tuned:
                    gc.set_threshold(*_saved)
                _saved = _tuned = None
