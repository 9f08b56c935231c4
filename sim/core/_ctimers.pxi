"""The C timer queue of the compiled core (included by ``_ccore.pyx``; see its docstring)."""

# -- the timer queue -------------------------------------------------------------------------

cdef struct Entry:
    int64_t when
    uint64_t seq
    PyObject *handle  # a strong reference

cdef inline bint before(Entry *a, Entry *b) noexcept nogil:
    return a.when < b.when or (a.when == b.when and a.seq < b.seq)

#: The loop compacts once more than this many cancelled timers make up half of the queue.
cdef Py_ssize_t COMPACT_AT = 100


cdef class TimerQueue:
    """Pending timers in ``(ticks, seq)`` order: a C 4-ary heap, and a Python heap for
    deadlines outside int64 (the same interface as :class:`asyncsim.core.timers.TimerQueue`).

    Timers that never fire (deadline :data:`~asyncsim.clock.NEVER`) are kept apart, in
    :attr:`never`, as in the Python queue: counted and cancellable, but never the next
    timer and never due.
    """

    cdef Entry *heap
    cdef Py_ssize_t size
    cdef Py_ssize_t capacity
    cdef uint64_t seq
    cdef Py_ssize_t _cancelled
    cdef list over  # heapq of (ticks, seq, handle): int deadlines that are not int64
    #: Timers that never fire (deadline ``NEVER``), in scheduling order.
    cdef readonly list never

    def __cinit__(self):
        self.heap = NULL
        self.size = self.capacity = 0
        self.seq = 0
        self._cancelled = 0
        self.over = []
        self.never = []

    def __dealloc__(self):
        cdef Py_ssize_t i
        for i in range(self.size):
            Py_XDECREF(self.heap[i].handle)
        PyMem_Free(self.heap)

    def __len__(self):
        return self.size + len(self.over) + len(self.never)

    @property
    def cancelled(self):
        """Cancelled timers still queued (dropped when they surface, or by :meth:`compact`)."""
        return self._cancelled

    @property
    def near(self):
        """Timers in the C heap (cancelled ones not yet dropped included)."""
        return self.size

    @property
    def far(self):
        """Timers whose deadline is outside int64 (kept in a Python heap)."""
        return len(self.over)

    cdef int grow(self) except -1:
        cdef Py_ssize_t capacity = self.capacity * 2 if self.capacity else 64
        cdef Entry *heap = <Entry*>PyMem_Realloc(self.heap, capacity * sizeof(Entry))
        if heap == NULL:
            raise MemoryError()
        self.heap = heap
        self.capacity = capacity
        return 0

    cdef int cpush(self, int64_t when, object handle) except -1:
        cdef Py_ssize_t i, parent
        cdef Entry entry
        if self.size == self.capacity:
            self.grow()
        entry.when = when
        entry.seq = self.seq
        self.seq += 1
        Py_INCREF(handle)
        entry.handle = <PyObject*>handle
        i = self.size
        self.size += 1
        while i > 0:
            parent = (i - 1) >> 2
            if not before(&entry, &self.heap[parent]):
                break
            self.heap[i] = self.heap[parent]
            i = parent
        self.heap[i] = entry
        return 0

    cdef PyObject* cpop(self) noexcept:
        """Remove the head (the heap is not empty); return its (owned) handle."""
        cdef PyObject *top = self.heap[0].handle
        cdef Py_ssize_t n, i, child, last, best
        self.size -= 1
        n = self.size
        if n == 0:
            return top
        cdef Entry entry = self.heap[n]
        i = 0
        while True:
            child = 4 * i + 1
            if child >= n:
                break
            best = child
            last = child + 4 if child + 4 <= n else n
            child += 1
            while child < last:
                if before(&self.heap[child], &self.heap[best]):
                    best = child
                child += 1
            if not before(&self.heap[best], &entry):
                break
            self.heap[i] = self.heap[best]
            i = best
        self.heap[i] = entry
        return top

    def push(self, ticks, handle):
        """Queue ``handle`` (an asyncio ``TimerHandle``) to fire at ``ticks``, after every
        timer already queued for then."""
        cdef int overflow = 0
        cdef long long when
        if not isinstance(handle, Handle):  # (its slots are read at Handle's offsets)
            raise TypeError(f"handle must be an asyncio.TimerHandle, got {handle!r}")
        if PyLong_CheckExact(ticks):
            when = PyLong_AsLongLongAndOverflow(ticks, &overflow)
            if not overflow:
                self.cpush(when, handle)
                return
        if ticks == NEVER:
            self.never.append((ticks, self.seq, handle))
        else:
            heapq.heappush(self.over, (ticks, self.seq, handle))
        self.seq += 1

    cdef int drop_cancelled_heads(self) except -1:
        cdef PyObject *h
        while self.size and slot(<object>self.heap[0].handle, O_CANCELLED) == Py_True:
            h = self.cpop()
            put(<object>h, O_SCHEDULED, False)
            Py_DECREF(<object>h)
            self._cancelled -= 1
        while self.over and self.over[0][2]._cancelled:
            heapq.heappop(self.over)[2]._scheduled = False
            self._cancelled -= 1
        return 0

    def first(self):
        """The deadline (ticks) of the earliest live timer, or None when none is queued.

        Cancelled timers at the head are dropped on the way.
        """
        self.drop_cancelled_heads()
        if self.size:
            if self.over and self.over[0][0] < self.heap[0].when:
                return self.over[0][0]
            return self.heap[0].when
        if self.over:
            return self.over[0][0]
        return None

    cdef int pop_due_c(self, int64_t now, object append) except -1:
        # Timers due at or before now (all in the C heap: now is an int64), in order.
        cdef PyObject *h
        while self.size and self.heap[0].when <= now:
            if self.over and self.over[0][0] <= now and self.over[0][0] < self.heap[0].when:
                break  # (a Python-heap timer is due first: the general path merges)
            h = self.cpop()
            handle = <object>h
            Py_DECREF(handle)  # (the queue's reference; handle holds one)
            put(handle, O_SCHEDULED, False)
            if slot(handle, O_CANCELLED) == Py_True:
                self._cancelled -= 1
            else:
                append(handle)
        if self.over and self.over[0][0] <= now:
            self.pop_due_py(now, append)
        return 0

    cdef int pop_due_py(self, now, object append) except -1:
        # The general merge of both heaps (now may be any int).
        cdef PyObject *h
        while True:
            c_due = self.size and self.heap[0].when <= now
            p_due = self.over and self.over[0][0] <= now
            if c_due and p_due:
                head = self.over[0]
                c_due = (self.heap[0].when, self.heap[0].seq) < (head[0], head[1])
                p_due = not c_due
            if c_due:
                h = self.cpop()
                handle = <object>h
                Py_DECREF(handle)
            elif p_due:
                handle = heapq.heappop(self.over)[2]
            else:
                return 0
            handle._scheduled = False
            if handle._cancelled:
                self._cancelled -= 1
            else:
                append(handle)

    def pop_due(self, now, out):
        """Move the timers due at or before ``now`` to ``out`` in order; drop cancelled ones."""
        cdef int overflow = 0
        cdef long long n
        if PyLong_CheckExact(now):
            n = PyLong_AsLongLongAndOverflow(now, &overflow)
            if not overflow:
                self.pop_due_c(n, out.append)
                return
        self.pop_due_py(now, out.append)

    def entries(self):
        """The queued ``(ticks, seq, handle)`` entries that may fall due (``never``'s
        excluded), in no particular order: for reports (the Python queue's ``heap``)."""
        cdef Py_ssize_t i
        found = [(self.heap[i].when, self.heap[i].seq, <object>self.heap[i].handle)
                 for i in range(self.size)]
        return found + list(self.over)

    def note_cancelled(self):
        """A queued timer was cancelled: it stays queued until it surfaces or a compaction."""
        self._cancelled += 1

    def compact(self):
        """Drop cancelled timers from both heaps (marking them no longer scheduled)."""
        cdef Py_ssize_t i, j = 0, k
        cdef Entry entry
        for i in range(self.size):
            handle = <object>self.heap[i].handle
            if slot(handle, O_CANCELLED) == Py_True:
                put(handle, O_SCHEDULED, False)
                Py_DECREF(handle)
            else:
                self.heap[j] = self.heap[i]
                j += 1
        self.size = j
        for k in range((j - 2) // 4, -1, -1):  # heapify: sift every parent down
            entry = self.heap[k]
            i = k
            while True:
                child = 4 * i + 1
                if child >= j:
                    break
                best = child
                last = min(child + 4, j)
                child += 1
                while child < last:
                    if before(&self.heap[child], &self.heap[best]):
                        best = child
                    child += 1
                if not before(&self.heap[best], &entry):
                    break
                self.heap[i] = self.heap[best]
                i = best
            self.heap[i] = entry
        live = []
        for entry_ in self.over:
            if entry_[2]._cancelled:
                entry_[2]._scheduled = False
            else:
                live.append(entry_)
        heapq.heapify(live)
        self.over = live
        never = []
        for entry_ in self.never:
            if entry_[2]._cancelled:
                entry_[2]._scheduled = False
            else:
                never.append(entry_)
        self.never = never
        self._cancelled = 0

    def clear(self):
        """Drop every timer (the loop is closing)."""
        cdef Py_ssize_t i
        cdef Py_ssize_t n = self.size
        self.size = 0
        for i in range(n):
            Py_DECREF(<object>self.heap[i].handle)
        self.over = []
        self.never = []
        self._cancelled = 0
