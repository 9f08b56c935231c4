# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=False, binding=False
"""The compiled loop core: a C timer heap, ``call_soon``/``call_later`` and the fused run loop.

Optional (see ``asyncsim.core.cores``): the pure-Python modules do the same work, and a
run gives the same events, times and traces on either core. Only the hot path is here:

* :class:`TimerQueue`: pending timers as C structs ``{int64 when; uint64 seq; handle}``
  in a 4-ary heap (no tuple and no int objects per timer); int deadlines outside int64 go
  to a Python heap beside it, with the same sequence numbers, so ``(ticks, seq)`` order is
  exact across both. Ticks have no horizon: timers that never fire (``NEVER``) are kept
  apart, as in the Python queue.
* :class:`Core`: one per loop. ``call_soon``, ``call_later``, ``get_debug`` and
  ``create_future`` are installed on the loop (as instance attributes) only while the loop
  is in its plain state (no debug, no instruments, no schedule, not closed); they build
  asyncio's own ``Handle`` and the loop's ``TimerHandle`` exactly as the Python methods do,
  and ``create_future`` reads its caller's code without making a frame object
  (``_ccaller.pxi``). :meth:`Core.run` is the fused
  run loop: iterations of ``_run_once`` (jump the clock when idle, move due timers to the
  ready queue, run the batch) without returning to ``run_forever``, while only callbacks and
  timers are pending; it hands back to the Python scheduler for everything else.

Handles are asyncio's own classes, built with their type's allocator and their slots
written at the offsets their member descriptors declare (checked at import).
"""

from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_DECREF, Py_XDECREF
from libc.stdint cimport int64_t, uint64_t, INT64_MAX, INT64_MIN
from cpython.mem cimport PyMem_Realloc, PyMem_Free
from libc.math cimport nearbyint, isfinite

import asyncio
import heapq
import types

from asyncsim.clock import NEVER

cdef extern from "structmember.h":
    ctypedef struct PyMemberDef:
        const char *name
        int type
        Py_ssize_t offset
        int flags

cdef extern from "Python.h":
    ctypedef struct PyMemberDescrObject:
        PyMemberDef *d_member
    ctypedef PyObject* (*allocfunc)(PyTypeObject *, Py_ssize_t)
    ctypedef struct PyTypeObject_ "PyTypeObject":
        allocfunc tp_alloc
    object PyContext_CopyCurrent()
    int PyContext_Enter(object) except -1
    int PyContext_Exit(object) except -1
    long long PyLong_AsLongLongAndOverflow(object, int *) except? -1
    object PyObject_CallMethodNoArgs(object, object)
    object PyObject_CallMethodOneArg(object, object, object)
    Py_ssize_t PyObject_Length(object) except -1
    PyObject* PyDict_GetItemWithError(object, object) except? NULL
    int PyDict_SetItem(object, object, object) except -1
    bint PyFloat_CheckExact(object)
    bint PyLong_CheckExact(object)
    double PyFloat_AS_DOUBLE(object)
    PyObject* Py_True
    PyObject* Py_False
    PyObject* Py_None

# -- asyncio's handles: their classes and slot offsets -------------------------------------

from asyncsim.core.handles import TimerHandle as _TimerHandle
from asyncsim.core.handles import SleepTimerHandle as _SleepTimerHandle
from asyncsim.core.futures import OrderedFuture as _OrderedFuture
from asyncsim.core.dispatch import report_callback_error as _report_callback_error
from asyncsim.core.dispatch import run_ready as _run_ready
from asyncsim.core.ordering import _PLAIN_FUTURE_CALLERS

cdef object Handle = asyncio.Handle
cdef object TimerHandle = _TimerHandle
cdef object SleepTimerHandle = _SleepTimerHandle
cdef object Future = asyncio.Future
cdef object OrderedFuture = _OrderedFuture
cdef frozenset PLAIN_FUTURE_CALLERS = _PLAIN_FUTURE_CALLERS
cdef object set_result_unless_cancelled = asyncio.futures._set_result_unless_cancelled
cdef object report_callback_error = _report_callback_error
cdef object run_ready_py = _run_ready
cdef allocfunc handle_alloc = (<PyTypeObject_*><PyObject*>Handle).tp_alloc
cdef allocfunc timer_alloc = (<PyTypeObject_*><PyObject*>TimerHandle).tp_alloc
cdef allocfunc sleep_alloc = (<PyTypeObject_*><PyObject*>SleepTimerHandle).tp_alloc

cdef int T_OBJECT_EX = 16
cdef int READONLY = 1

cdef Py_ssize_t _offset(cls, str name) except -1:
    desc = None
    for klass in cls.__mro__:
        if name in klass.__dict__:
            desc = klass.__dict__[name]
            break
    if type(desc) is not types.MemberDescriptorType:
        raise ImportError(f"{cls.__qualname__}.{name} is not a slot: the compiled core cannot run")
    cdef PyMemberDef *member = (<PyMemberDescrObject*><PyObject*>desc).d_member
    if member.type != T_OBJECT_EX or member.flags & READONLY or member.name != name.encode():
        raise ImportError(f"{cls.__qualname__}.{name} has an unexpected layout")
    return member.offset

cdef Py_ssize_t O_CONTEXT = _offset(Handle, "_context")
cdef Py_ssize_t O_LOOP = _offset(Handle, "_loop")
cdef Py_ssize_t O_CALLBACK = _offset(Handle, "_callback")
cdef Py_ssize_t O_ARGS = _offset(Handle, "_args")
cdef Py_ssize_t O_CANCELLED = _offset(Handle, "_cancelled")
cdef Py_ssize_t O_REPR = _offset(Handle, "_repr")
cdef Py_ssize_t O_TB = _offset(Handle, "_source_traceback")
cdef Py_ssize_t O_WHEN = _offset(TimerHandle, "_when")
cdef Py_ssize_t O_SCHEDULED = _offset(TimerHandle, "_scheduled")
cdef Py_ssize_t O_FUTURE = _offset(SleepTimerHandle, "_future")
if _offset(TimerHandle, "_callback") != O_CALLBACK:  # (a subclass shares its base's slots)
    raise ImportError("TimerHandle's slots differ from Handle's")


cdef inline PyObject* slot(object obj, Py_ssize_t offset):
    """The slot's value (borrowed; NULL when unset)."""
    return (<PyObject**>((<char*><PyObject*>obj) + offset))[0]


cdef inline void put(object obj, Py_ssize_t offset, object value):
    cdef PyObject **where = <PyObject**>((<char*><PyObject*>obj) + offset)
    cdef PyObject *old = where[0]
    Py_INCREF(value)
    where[0] = <PyObject*>value
    Py_XDECREF(old)


cdef inline void put_new(object obj, Py_ssize_t offset, PyObject *value):
    # A slot of a freshly allocated object (NULL before): take a new reference to value.
    Py_INCREF(<object>value)
    (<PyObject**>((<char*><PyObject*>obj) + offset))[0] = value


cdef object new_handle(allocfunc alloc, object cls):
    cdef PyObject *raw = alloc(<PyTypeObject*><PyObject*>cls, 0)
    if raw == NULL:
        raise MemoryError()
    obj = <object>raw  # (a new reference of its own)
    Py_DECREF(obj)  # drop the allocator's: obj holds the only one
    return obj


include "_ctimers.pxi"

include "_clookup.pxi"

include "_ccaller.pxi"


# -- the core of one loop ----------------------------------------------------------------------

cdef object S_STOPPING = "_stopping"
cdef object S_STEPS = "_steps"
cdef object S_DONE = "done"
cdef object S_SET_RESULT = "set_result"
cdef object S_RUN = "_run"
cdef object S_TIME = "time"
cdef object S_LIVELOCK_AT = "_livelock_at"
cdef double TICKS = 1e9
#: Clock readings the fast ``call_later`` takes (beyond: the Python method), so that
#: ``now + ticks`` (|ticks| < 2**53) stays in int64. Not a horizon: ticks are unbounded.
cdef int64_t SAFE_NOW = (<int64_t>1) << 62
cdef int64_t TWO_53 = (<int64_t>1) << 53


cdef class Core:
    """The compiled hot path of one :class:`~asyncsim.core.loop.VirtualEventLoop`."""

    cdef object loop
    cdef object loop_dict
    cdef object ready_append
    cdef object ready_popleft
    cdef object ready
    cdef object clock
    cdef readonly TimerQueue timers
    cdef object sleep_context
    cdef Py_ssize_t ran
    #: Set by the loop when something its fast-path predicate reads has changed.
    cdef public bint dirty

    def __init__(self, loop, ready, clock, sleep_context):
        self.loop = loop
        self.loop_dict = loop.__dict__
        self.ready = ready
        self.ready_append = ready.append
        self.ready_popleft = ready.popleft
        self.clock = clock
        self.timers = TimerQueue()
        self.sleep_context = sleep_context
        self.dirty = False

    def close(self):
        """Drop the loop's references (the loop is closing)."""
        self.timers.clear()

    # -- scheduling (installed on the loop while it is in its plain state) ---------------

    def call_soon(self, callback, *args, context=None):
        """``loop.call_soon``: asyncio's Handle, queued at the end of the ready queue."""
        h = new_handle(handle_alloc, Handle)
        if context is None:
            context = PyContext_CopyCurrent()
        put_new(h, O_CONTEXT, <PyObject*>context)
        put_new(h, O_LOOP, <PyObject*>self.loop)
        put_new(h, O_CALLBACK, <PyObject*>callback)
        put_new(h, O_ARGS, <PyObject*>args)
        put_new(h, O_CANCELLED, Py_False)
        put_new(h, O_REPR, Py_None)
        put_new(h, O_TB, Py_None)
        self.ready_append(h)
        return h

    def call_later(self, delay, callback, *args, context=None):
        """``loop.call_later``: the loop's TimerHandle, queued at ``now + delay`` ticks
        (never early: rounded up when ``round(delay * 1e9)`` ns is short of ``delay``)."""
        cdef double d, seconds
        cdef int overflow = 0
        cdef long long n
        cdef int64_t ticks, now
        if PyDict_GetItemWithError(self.loop_dict, S_TIME) != NULL:
            return self.slow_call_later(delay, callback, args, context)  # (time_is_patched)
        if PyFloat_CheckExact(delay):
            seconds = PyFloat_AS_DOUBLE(delay)
            d = nearbyint(seconds * TICKS)  # round(delay * 1e9): half to even
            if not (isfinite(d) and -9.0e15 < d < 9.0e15):  # (|ticks| < 2**53: exact)
                return self.slow_call_later(delay, callback, args, context)
            ticks = <int64_t>d
            if <double>ticks / TICKS < seconds:
                ticks += 1  # never early (as CallbackScheduling.call_later)
        elif PyLong_CheckExact(delay):
            n = PyLong_AsLongLongAndOverflow(delay, &overflow)
            if overflow or not (-9_000_000 <= n <= 9_000_000):
                return self.slow_call_later(delay, callback, args, context)
            ticks = n * 1_000_000_000
        else:  # (None, bool, Fraction, Decimal, numpy scalars...: the Python method decides)
            return self.slow_call_later(delay, callback, args, context)
        clock_now = self.clock.now
        if not PyLong_CheckExact(clock_now):
            return self.slow_call_later(delay, callback, args, context)
        now = PyLong_AsLongLongAndOverflow(clock_now, &overflow)
        if overflow or now > SAFE_NOW or now < -SAFE_NOW:
            return self.slow_call_later(delay, callback, args, context)
        ticks += now
        if context is None and callback is set_result_unless_cancelled:
            # A sleep's timer only sets its future's result: no copy of the caller's context,
            # and (for sleep's usual result None) the future in a slot instead of a tuple.
            if len(args) == 2 and args[1] is None:
                timer = new_handle(sleep_alloc, SleepTimerHandle)
                put_new(timer, O_FUTURE, <PyObject*>args[0])
            else:
                timer = new_handle(timer_alloc, TimerHandle)
                put_new(timer, O_ARGS, <PyObject*>args)
            put_new(timer, O_CONTEXT, <PyObject*>self.sleep_context)
        else:
            timer = new_handle(timer_alloc, TimerHandle)
            if context is None:
                context = PyContext_CopyCurrent()
            put_new(timer, O_CONTEXT, <PyObject*>context)
            put_new(timer, O_ARGS, <PyObject*>args)
        put_new(timer, O_LOOP, <PyObject*>self.loop)
        put_new(timer, O_CALLBACK, <PyObject*>callback)
        put_new(timer, O_CANCELLED, Py_False)
        put_new(timer, O_REPR, Py_None)
        put_new(timer, O_TB, Py_None)
        if -TWO_53 <= ticks <= TWO_53:
            when = ticks / TICKS  # (exact ints: the correctly rounded quotient, as Python's)
        else:
            when = <object>ticks / 1_000_000_000
        put_new(timer, O_WHEN, <PyObject*>when)
        put_new(timer, O_SCHEDULED, Py_True)
        self.timers.cpush(ticks, timer)
        return timer

    cdef object slow_call_later(self, delay, callback, tuple args, context):
        # The Python method (the class's, not this instance attribute) handles the rest.
        return type(self.loop).call_later(self.loop, delay, callback, *args, context=context)

    def create_future(self):
        """``loop.create_future()``, as ``OrderedCreation.create_future`` decides it, reading
        the caller's code without making its frame object (see ``_ccaller.pxi``)."""
        cdef PyObject *code = asyncsim_caller_code()
        if code == NULL:
            return type(self.loop).create_future(self.loop)
        if <object>code in PLAIN_FUTURE_CALLERS:
            return Future(loop=self.loop)
        future = OrderedFuture(loop=self.loop)
        future._asyncsim_seq = self.loop._future_seq()
        return future

    def get_debug(self):
        """``loop.get_debug()`` (called by every asyncio Future's constructor)."""
        return self.loop_dict["_debug"]

    # -- the fused run loop ------------------------------------------------------------------

    def run(self):
        """Run loop iterations while only callbacks and timers are pending.

        Each iteration is what ``VirtualEventLoop._run_once`` does in the same state: when
        nothing is ready, jump the clock to the next timer; move the timers due now to the
        end of the ready queue; run the callbacks present; check the limits. Stops where
        ``run_forever`` would (``stop()`` called) and hands back when anything else must
        happen (``loop._fast_path_allowed()`` turned false, ``loop.time`` patched, an
        outside party present before a jump, no live timer, only far or ``NEVER``
        deadlines, an ``until`` or ``max_steps`` limit set, a clock outside int64). The
        livelock watch (``loop._livelock_at``) is checked after each iteration, as
        ``_check_limits`` does. Returns the number of iterations run (0: the caller runs this iteration
        itself).
        """
        cdef int shortcut = enter_lookup(self.loop)
        try:
            return self.iterate()
        finally:
            if shortcut:
                leave_lookup()

    cdef Py_ssize_t iterate(self) except -1:
        cdef TimerQueue timers = self.timers
        cdef object loop = self.loop
        cdef object d = self.loop_dict
        cdef object ready = self.ready
        cdef object clock = self.clock
        cdef Py_ssize_t iterations = 0, ntodo, n
        cdef int64_t now, when, livelock_at
        cdef bint stopping
        cdef int overflow = 0
        cdef long long steps
        cdef PyObject *flag
        steps = PyLong_AsLongLongAndOverflow(d[S_STEPS], &overflow)
        if overflow:
            return 0
        if d["_until"] is not None or d["_max_steps"] is not None:
            return 0  # (limits are the general path's: _fast_path_allowed is false with them)
        while True:
            if iterations:
                if self.dirty:
                    self.dirty = False
                    if not loop._fast_path_allowed():
                        break
                flag = PyDict_GetItemWithError(d, S_STOPPING)
                if flag != NULL and flag != Py_False and <object>flag:
                    break
            if PyDict_GetItemWithError(d, S_TIME) != NULL:
                break  # (time_is_patched: assigned without telling the loop)
            if timers._cancelled > COMPACT_AT and timers._cancelled * 2 > PyObject_Length(timers):
                timers.compact()  # more than half of the queued timers are cancelled
            value = clock.now
            if not PyLong_CheckExact(value):
                break
            now = PyLong_AsLongLongAndOverflow(value, &overflow)
            if overflow:
                break
            if not PyObject_Length(ready):
                flag = PyDict_GetItemWithError(d, S_STOPPING)
                stopping = flag != NULL and flag != Py_False and <object>flag
                if not stopping:
                    timers.drop_cancelled_heads()
                    if timers.over or not timers.size:
                        break  # nothing (or only a far deadline) to jump to: the general path
                    when = timers.heap[0].when
                    if loop._has_outside_parties():
                        break  # the real-time boundary decides (asyncsim.core.boundary)
                    if when > now:
                        clock.now = when
                        now = when
            timers.pop_due_c(now, self.ready_append)
            ntodo = PyObject_Length(ready)
            if ntodo:
                try:
                    n = self.run_batch(ntodo)
                finally:
                    d[S_STEPS] = steps + self.ran
                steps += self.ran
                if n < ntodo:  # the state changed mid-batch: the rest runs the general way
                    run_ready_py(loop, ntodo - n)
                    steps = d[S_STEPS]
            iterations += 1
            livelock_at = PyLong_AsLongLongAndOverflow(d[S_LIVELOCK_AT], &overflow)
            if overflow or steps >= livelock_at:
                loop._check_limits()  # (the livelock watch: may raise)
                steps = d[S_STEPS]
        return iterations

    cdef Py_ssize_t run_batch(self, Py_ssize_t ntodo) except -1:
        """Run up to ``ntodo`` ready callbacks; return how many were taken from the queue.

        Stops early (returning fewer) when a step changed the state the fast path needs.
        ``self.ran`` counts the callbacks run (cancelled ones are skipped, not counted).
        """
        cdef Py_ssize_t taken = 0
        self.ran = 0
        popleft = self.ready_popleft
        while taken < ntodo:
            if self.dirty:
                return taken
            handle = popleft()
            taken += 1
            if slot(handle, O_CANCELLED) == Py_True:
                continue
            self.ran += 1
            cls = type(handle)
            if cls is Handle:
                context = <object>slot(handle, O_CONTEXT)
                callback = <object>slot(handle, O_CALLBACK)
                args = <object>slot(handle, O_ARGS)
                try:
                    PyContext_Enter(context)
                    try:
                        callback(*args)
                    finally:
                        PyContext_Exit(context)
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:
                    report_callback_error(handle, exc)
            elif cls is SleepTimerHandle:
                fut = <object>slot(handle, O_FUTURE)
                fut_type = type(fut)
                if (fut_type is Future or fut_type is OrderedFuture) and not PyObject_CallMethodNoArgs(fut, S_DONE):
                    try:
                        PyObject_CallMethodOneArg(fut, S_SET_RESULT, None)
                    except (SystemExit, KeyboardInterrupt):
                        raise
                    except BaseException as exc:  # as Handle._run reports it
                        report_callback_error(handle, exc)
                else:
                    PyObject_CallMethodNoArgs(handle, S_RUN)
            elif cls is TimerHandle and slot(handle, O_CALLBACK) == <PyObject*>set_result_unless_cancelled:
                args = <object>slot(handle, O_ARGS)
                if len(<tuple>args) == 2:
                    fut = (<tuple>args)[0]
                    fut_type = type(fut)
                    if (fut_type is Future or fut_type is OrderedFuture) and not PyObject_CallMethodNoArgs(fut, S_DONE):
                        try:
                            PyObject_CallMethodOneArg(fut, S_SET_RESULT, (<tuple>args)[1])
                        except (SystemExit, KeyboardInterrupt):
                            raise
                        except BaseException as exc:  # as Handle._run reports it
                            report_callback_error(handle, exc)
                        continue
                PyObject_CallMethodNoArgs(handle, S_RUN)
            else:
                PyObject_CallMethodNoArgs(handle, S_RUN)
        return taken
