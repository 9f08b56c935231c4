"""The virtual loop's two-level timer queue: a small heap of near timers, far ones in buckets.

A heap of every pending timer costs a cache miss per level once it outgrows the
CPU caches (100,000 sleeping tasks: 17 levels). So only the timers due before
``loop._horizon`` live in the heap ``loop._timers`` (entries ``(ticks, seq,
handle)``, as before); later ones are appended, unsorted, to the bucket
``(ticks - loop._far_origin) // loop._far_width`` of the dict ``loop._far``
(``loop._far_keys`` is a heap of the bucket numbers in use). When the heap runs
empty, the earliest bucket is heapified into it and the horizon moves to that
bucket's end.

Invariant: every far timer is due at or after the horizon, every heap timer
before it, so the heap's head is the earliest timer whenever the heap is not
empty, and ``(when, seq)`` order is exact. Timers at infinity
(``INFINITE_TICKS``) land in a bucket like any other and surface last.

Until the heap first grows past :data:`SPLIT_AT` timers the horizon is
unbounded and the queue is the plain heap. Past it, :func:`split` picks a bucket
width (adaptive: the span of pending deadlines shared so that a bucket holds
about :data:`NEAR_TARGET` timers) and moves everything but the first bucket out;
it runs again when the heap doubles past that (short timers) or refills find
buckets far from the target size.

The hot paths (``call_later``, the batch pops in ``_run_once``) inline the
heap pushes and pops; the cold work (split, refill, compaction) is here.
"""

from __future__ import annotations

import heapq
from typing import Any

__all__ = ["NEAR_TARGET", "SPLIT_AT", "clear", "compact", "push", "refill", "reset", "split"]

#: Timers in the heap (and per far bucket) the adaptive width aims for.
NEAR_TARGET = 512
#: Heap size at which the queue first splits into near and far.
SPLIT_AT = 4096
#: The horizon of a plain (unsplit) queue: beyond every deadline.
UNBOUNDED = 1 << 80
_INFINITE_TICKS = 1 << 62


def reset(loop: Any) -> None:
    """Set up (or reset to) an empty, unsplit queue on ``loop``."""
    loop._horizon = UNBOUNDED
    loop._far = {}
    loop._far_keys = []
    loop._far_count = 0
    loop._far_origin = 0
    loop._far_width = 1
    loop._near_limit = SPLIT_AT
    loop._refills = 0


def clear(loop: Any) -> None:
    """Drop every timer (loop closing)."""
    loop._timers.clear()
    reset(loop)


def push(loop: Any, entry: tuple[int, int, Any]) -> None:
    """Queue ``entry`` = ``(ticks, seq, handle)`` on the level its deadline belongs to."""
    ticks = entry[0]
    if ticks < loop._horizon:
        timers = loop._timers
        heapq.heappush(timers, entry)
        if len(timers) > loop._near_limit:
            split(loop)
    else:
        _to_far(loop, entry)


def _to_far(loop: Any, entry: tuple[int, int, Any]) -> None:
    key = (entry[0] - loop._far_origin) // loop._far_width
    bucket = loop._far.get(key)
    if bucket is None:
        loop._far[key] = [entry]
        heapq.heappush(loop._far_keys, key)
    else:
        bucket.append(entry)
    loop._far_count += 1


def refill(loop: Any) -> None:
    """The heap is empty: move the earliest far bucket into it (in place)."""
    timers = loop._timers
    key = heapq.heappop(loop._far_keys)
    bucket = loop._far.pop(key)
    loop._far_count -= len(bucket)
    loop._refills += 1
    timers.extend(bucket)
    loop._horizon = loop._far_origin + (key + 1) * loop._far_width
    n = len(bucket)
    if loop._refills >= 8 and (
        n > 4 * NEAR_TARGET or (n * 8 < NEAR_TARGET and loop._far_count > NEAR_TARGET)
    ):
        split(loop)  # the width no longer fits the deadlines: pick a new one
    else:
        heapq.heapify(timers)


def split(loop: Any) -> None:
    """Re-level every pending timer: a width for ~NEAR_TARGET timers per bucket."""
    timers = loop._timers
    entries = timers[:]
    for bucket in loop._far.values():
        entries.extend(bucket)
    loop._far = {}
    loop._far_keys = []
    loop._far_count = 0
    loop._refills = 0
    finite = [e[0] for e in entries if e[0] < _INFINITE_TICKS]
    n = len(entries)
    if n <= SPLIT_AT // 2 or len(finite) < 2:
        # Few timers: back to a plain heap.
        timers[:] = entries
        heapq.heapify(timers)
        loop._horizon = UNBOUNDED
        loop._near_limit = SPLIT_AT
        return
    lo, hi = min(finite), max(finite)
    width = max(1, (hi - lo) * NEAR_TARGET // len(finite))
    loop._far_origin = lo
    loop._far_width = width
    horizon = loop._horizon = lo + width
    near = [e for e in entries if e[0] < horizon]
    for entry in entries:
        if entry[0] >= horizon:
            _to_far(loop, entry)
    timers[:] = near
    heapq.heapify(timers)
    # Split again only once the heap has doubled (all-equal deadlines stay one bucket).
    loop._near_limit = max(SPLIT_AT, 2 * len(near))


def compact(loop: Any) -> None:
    """Drop cancelled timers from both levels (marking them no longer scheduled)."""
    timers = loop._timers
    live = []
    for entry in timers:
        if entry[2]._cancelled:
            entry[2]._scheduled = False
        else:
            live.append(entry)
    timers[:] = live
    heapq.heapify(timers)
    count = 0
    for key in list(loop._far):
        bucket = [e for e in loop._far[key] if not e[2]._cancelled]
        for entry in loop._far[key]:
            if entry[2]._cancelled:
                entry[2]._scheduled = False
        if bucket:
            loop._far[key] = bucket
            count += len(bucket)
        else:
            del loop._far[key]
    loop._far_keys = sorted(loop._far)
    loop._far_count = count
    loop._cancelled_timers = 0
