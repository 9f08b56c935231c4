"""asyncio's running-loop lookup during fused iterations (included by ``_ccore.pyx``)."""

# -- asyncio's running-loop lookup during fused iterations (3.11) -------------------------------
#
# On 3.11, asyncio's C get_running_loop() calls getpid() on every call (a system call: about
# 0.8 us on a virtual machine), and asyncio.sleep, create_task and the queues call it once
# each. While the fused loop runs, asyncio.events.get_running_loop and _get_running_loop are
# replaced by functions that answer from the fused loop's thread without that call: the
# loop, if the caller is that thread (and it has not forked since), else whatever the
# original says. They are put back when the fused loop returns; anything that sets the
# running loop meanwhile (asyncio.events._set_running_loop) turns them into plain
# pass-throughs. Nothing is replaced when a program has replaced these functions itself.

cdef extern from "Python.h":
    ctypedef struct PyThreadState:
        pass
    PyThreadState* PyThreadState_Get()

import asyncio.events as _events
import os as _os
import sys as _sys

cdef PyThreadState *fast_thread = NULL
cdef PyObject *fast_loop = NULL  # (borrowed: the loop outlives its fused run)
cdef object original_get_running_loop = _events.get_running_loop
cdef object original_private_get_running_loop = _events._get_running_loop
cdef object original_set_running_loop = _events._set_running_loop
cdef bint patch_lookup = _sys.version_info < (3, 12)


def get_running_loop():
    """``asyncio.events.get_running_loop`` while a fused loop runs (see above)."""
    if fast_loop != NULL and PyThreadState_Get() == fast_thread:
        return <object>fast_loop
    return original_get_running_loop()


def _get_running_loop():
    """``asyncio.events._get_running_loop`` while a fused loop runs (see above)."""
    if fast_loop != NULL and PyThreadState_Get() == fast_thread:
        return <object>fast_loop
    return original_private_get_running_loop()


def _set_running_loop(loop):
    """``asyncio.events._set_running_loop`` while a fused loop runs: ends the shortcut."""
    global fast_loop
    fast_loop = NULL
    original_set_running_loop(loop)


def _forget_after_fork():
    global fast_loop
    fast_loop = NULL


_os.register_at_fork(after_in_child=_forget_after_fork)


cdef int enter_lookup(object loop) except -1:
    """Install the shortcut for ``loop`` on this thread; 0 if it cannot be."""
    global fast_loop, fast_thread
    if not patch_lookup or fast_loop != NULL:
        return 0
    namespace = _events.__dict__
    if (
        namespace.get("get_running_loop") is not original_get_running_loop
        or namespace.get("_get_running_loop") is not original_private_get_running_loop
        or namespace.get("_set_running_loop") is not original_set_running_loop
        or original_private_get_running_loop() is not loop
    ):
        return 0  # (replaced by the program, or not our thread's running loop)
    fast_thread = PyThreadState_Get()
    fast_loop = <PyObject*>loop
    namespace["get_running_loop"] = get_running_loop
    namespace["_get_running_loop"] = _get_running_loop
    namespace["_set_running_loop"] = _set_running_loop
    return 1


cdef int leave_lookup() except -1:
    global fast_loop
    fast_loop = NULL
    namespace = _events.__dict__
    if namespace.get("get_running_loop") is get_running_loop:
        namespace["get_running_loop"] = original_get_running_loop
    if namespace.get("_get_running_loop") is _get_running_loop:
        namespace["_get_running_loop"] = original_private_get_running_loop
    if namespace.get("_set_running_loop") is _set_running_loop:
        namespace["_set_running_loop"] = original_set_running_loop
    return 0


def _set_lookup_shortcut(bint on):
    """Turn the shortcut on or off for fused loops started from now on (benchmarks)."""
    global patch_lookup
    patch_lookup = on and _sys.version_info < (3, 12)
