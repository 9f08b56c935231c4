"""The virtual loop's pending timers: :class:`TimerQueue`, a near heap and far buckets.

A heap of every pending timer costs a cache miss per level once it outgrows the
CPU caches (100,000 sleeping tasks: 17 levels). So only the timers due before
the *horizon* live in the heap :attr:`TimerQueue.heap` (entries ``(ticks, seq,
handle)``); later ones are appended, unsorted, to the bucket ``(ticks - origin)
// width`` of a dict of far buckets (with a heap of the bucket numbers in use).
When the heap runs empty, the earliest bucket is heapified into it and the
horizon moves to that bucket's end.

Invariant: every far timer is due at or after the horizon, every heap timer
before it, so the heap's head is the earliest timer whenever the heap is not
empty, and ``(ticks, seq)`` order is exact (``seq`` is the queue's own
scheduling counter, so timers due at the same tick run first-scheduled first).
Deadlines are Python ints of any size (no horizon). Timers that never fire
(deadline :data:`~asyncsim.clock.NEVER`, ``sleep(math.inf)``) are kept apart, in
:attr:`TimerQueue.never`: they are counted and can be cancelled, but never surface.

Until the heap first grows past :data:`SPLIT_AT` timers the horizon is
unbounded and the queue is the plain heap. Past it, a split picks a bucket width
(adaptive: the span of pending deadlines shared so that a bucket holds about
:data:`NEAR_TARGET` timers) and moves everything but the first bucket out; it
runs again when the heap doubles past that (short timers) or refills find
buckets far from the target size.

The loop talks to the queue through a small interface (``push``, ``first``, ``pop_due``,
``note_cancelled``, ``compact``, ``clear``, ``len()``, ``entries`` for reports; the hot
paths also read ``heap[0]``, ``far`` and ``cancelled``; deadlines are ints or
``NEVER``), so another implementation (a compiled heap) can replace it. Only the queue
changes its state; handles are asyncio ``TimerHandle`` objects, whose ``_scheduled``
flag it clears when it lets go of them."""

from __future__ import annotations

import heapq
import itertools
import math
from collections import deque
from typing import Any

from asyncsim.clock import NEVER

__all__ = ["COMPACT_AT", "NEAR_TARGET", "SPLIT_AT", "UNBOUNDED", "TimerQueue"]

#: Timers in the heap (and per far bucket) the adaptive width aims for.
NEAR_TARGET = 512
#: Heap size at which the queue first splits into near and far.
SPLIT_AT = 4096
#: The horizon of a plain (unsplit) queue: beyond every deadline.
UNBOUNDED = math.inf
#: The loop compacts once more than this many cancelled timers make up half of the queue.
COMPACT_AT = 100

_heappush = heapq.heappush
_heappop = heapq.heappop

#: ``(ticks, seq, handle)``; the handle is an asyncio TimerHandle (typed Any: its
#: ``_scheduled`` and ``_cancelled`` slots are private to asyncio). ``ticks`` is an int,
#: or ``NEVER`` (a float) in :attr:`TimerQueue.never`.
Entry = tuple[Any, int, Any]


class TimerQueue:
    """Pending timers in ``(ticks, seq)`` order (ticks: integer nanoseconds).

    ``len(queue)`` counts every queued timer, cancelled ones not yet dropped included.

    Examples
    --------
    >>> from asyncsim.core.timers import TimerQueue
    >>> class Timer:
    ...     _cancelled = False
    >>> queue, a, b = TimerQueue(), Timer(), Timer()
    >>> queue.push(2_000, b); queue.push(1_000, a)
    >>> queue.first()
    1000
    >>> due = []
    >>> queue.pop_due(1_500, due)
    >>> due == [a], len(queue)
    (True, 1)
    """

    __slots__ = (
        "_far",
        "_far_keys",
        "_far_origin",
        "_far_width",
        "_horizon",
        "_near_limit",
        "_refills",
        "_seq",
        "cancelled",
        "far",
        "heap",
        "never",
    )

    def __init__(self) -> None:
        #: The near level, a heap of entries; the hot paths may read it (never change it).
        self.heap: list[Entry] = []
        #: Cancelled timers still queued (dropped when they surface, or by :meth:`compact`).
        self.cancelled = 0
        #: Timers that never fire (deadline ``NEVER``), in scheduling order.
        self.never: list[Entry] = []
        self._seq = itertools.count().__next__
        self._reset()

    def _reset(self) -> None:
        self._horizon: int | float = UNBOUNDED
        self._far: dict[int, list[Entry]] = {}
        self._far_keys: list[int] = []
        #: Timers in the far buckets (read them only).
        self.far = 0
        self._far_origin = 0
        self._far_width = 1
        self._near_limit = SPLIT_AT
        self._refills = 0

    def __len__(self) -> int:
        return len(self.heap) + self.far + len(self.never)

    @property
    def near(self) -> int:
        """Timers in the near heap (cancelled ones not yet dropped included)."""
        return len(self.heap)

    @property
    def horizon(self) -> int | float:
        """Ticks before which every timer is in the heap (:data:`UNBOUNDED` when unsplit)."""
        return self._horizon

    # -- the loop's interface ----------------------------------------------------------

    def push(self, ticks: int | float, handle: Any) -> None:
        """Queue ``handle`` to fire at ``ticks``, after every timer already queued for then.

        ``ticks`` is an int, or ``NEVER``: such a timer is kept (it can be cancelled)
        but never fires.
        """
        if ticks < self._horizon:
            heap = self.heap
            _heappush(heap, (ticks, self._seq(), handle))
            if len(heap) > self._near_limit:
                self._split()
        elif ticks == NEVER:
            self.never.append((ticks, self._seq(), handle))
        else:
            self._to_far((ticks, self._seq(), handle))

    def first(self) -> int | None:
        """The deadline (ticks) of the earliest live timer, or None when none is queued.

        Cancelled timers at the head are dropped on the way.
        """
        heap = self.heap
        while True:
            while heap and heap[0][2]._cancelled:
                _heappop(heap)[2]._scheduled = False
                self.cancelled -= 1
            if heap or not self.far:
                return heap[0][0] if heap else None
            self._refill()  # the near heap ran empty: bring the next bucket in

    def pop_due(self, now: int, out: deque[Any] | list[Any]) -> None:
        """Move the timers due at or before ``now`` to ``out`` in order; drop cancelled ones."""
        heap = self.heap
        while True:
            while heap and heap[0][0] <= now:
                timer = _heappop(heap)[2]
                timer._scheduled = False
                if timer._cancelled:
                    self.cancelled -= 1
                else:
                    out.append(timer)
            # (far timers can be due only if a shared clock moved past the horizon)
            if heap or not self.far or self._horizon > now:
                return
            self._refill()

    def entries(self) -> list[Entry]:
        """The queued entries that may fall due (:attr:`never`'s excluded), in no
        particular order: for reports."""
        found = list(self.heap)
        for bucket in self._far.values():
            found.extend(bucket)
        return found

    def note_cancelled(self) -> None:
        """A queued timer was cancelled: it stays queued until it surfaces or a compaction."""
        self.cancelled += 1

    def compact(self) -> None:
        """Drop cancelled timers from both levels and from :attr:`never` (marking them
        no longer scheduled)."""
        heap = self.heap
        live = []
        for entry in heap:
            if entry[2]._cancelled:
                entry[2]._scheduled = False
            else:
                live.append(entry)
        heap[:] = live
        heapq.heapify(heap)
        count = 0
        for key in list(self._far):
            bucket = [e for e in self._far[key] if not e[2]._cancelled]
            for entry in self._far[key]:
                if entry[2]._cancelled:
                    entry[2]._scheduled = False
            if bucket:
                self._far[key] = bucket
                count += len(bucket)
            else:
                del self._far[key]
        self._far_keys = sorted(self._far)
        self.far = count
        never = []
        for entry in self.never:
            if entry[2]._cancelled:
                entry[2]._scheduled = False
            else:
                never.append(entry)
        self.never[:] = never
        self.cancelled = 0

    def clear(self) -> None:
        """Drop every timer (the loop is closing)."""
        self.heap.clear()
        self.never.clear()
        self.cancelled = 0
        self._reset()

    # -- the two levels -----------------------------------------------------------------

    def _to_far(self, entry: Entry) -> None:
        key = (entry[0] - self._far_origin) // self._far_width
        bucket = self._far.get(key)
        if bucket is None:
            self._far[key] = [entry]
            _heappush(self._far_keys, key)
        else:
            bucket.append(entry)
        self.far += 1

    def _refill(self) -> None:
        """The heap is empty: move the earliest far bucket into it (in place)."""
        heap = self.heap
        key = _heappop(self._far_keys)
        bucket = self._far.pop(key)
        self.far -= len(bucket)
        self._refills += 1
        heap.extend(bucket)
        self._horizon = self._far_origin + (key + 1) * self._far_width
        n = len(bucket)
        if self._refills >= 8 and (
            n > 4 * NEAR_TARGET or (n * 8 < NEAR_TARGET and self.far > NEAR_TARGET)
        ):
            self._split()  # the width no longer fits the deadlines: pick a new one
        else:
            heapq.heapify(heap)

    def _split(self) -> None:
        """Re-level every pending timer: a width for ~NEAR_TARGET timers per bucket."""
        heap = self.heap
        entries = heap[:]
        for bucket in self._far.values():
            entries.extend(bucket)
        self._far = {}
        self._far_keys = []
        self.far = 0
        self._refills = 0
        deadlines = [e[0] for e in entries]
        n = len(entries)
        if n <= SPLIT_AT // 2:
            # Few timers: back to a plain heap.
            heap[:] = entries
            heapq.heapify(heap)
            self._horizon = UNBOUNDED
            self._near_limit = SPLIT_AT
            return
        lo, hi = min(deadlines), max(deadlines)
        width = max(1, (hi - lo) * NEAR_TARGET // n)
        self._far_origin = lo
        self._far_width = width
        horizon = self._horizon = lo + width
        near = [e for e in entries if e[0] < horizon]
        for entry in entries:
            if entry[0] >= horizon:
                self._to_far(entry)
        heap[:] = near
        heapq.heapify(heap)
        # Split again only once the heap has doubled (all-equal deadlines stay one bucket).
        self._near_limit = max(SPLIT_AT, 2 * len(near))
