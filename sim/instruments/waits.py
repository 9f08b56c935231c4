"""Where a task is and what it waits on, read from its frames and coroutines.

:func:`creation_site` and :func:`frame_text` say where (the innermost user frame);
:func:`coroutine_chain` lists the coroutines a task is suspended in, and
:func:`classify_wait` says what it waits on there.

After each step the tracer records what the task blocked on (``StepRow.blocked`` and
``detail``). A sleep or an awaited task the tracer knows itself; the rest is read
here from the task's coroutine chain (coroutines and generator-based coroutines,
outermost first): a lock, semaphore, event, condition, barrier or queue shows up as
an asyncio frame whose ``self`` is the primitive; ``asyncio.wait``, ``wait_for``
and ``as_completed`` as their own frames; a ``gather`` as its gathering future; an
executor job as a future carrying the executor's callback. The walk reads code
objects, and frames only where it must (reading one makes CPython build it).
"""

from __future__ import annotations

import asyncio
import math
import sys
import types
from typing import Any

from asyncsim.clock import to_ticks
from asyncsim.core import introspect

__all__ = [
    "call_stack",
    "classify_wait",
    "code_of",
    "coroutine_chain",
    "creation_site",
    "frame_text",
    "wrapped_function",
]

_Coroutine = types.CoroutineType
_Generator = types.GeneratorType

_LOCK_CLASSES = {
    "Lock": "lock",
    "Semaphore": "semaphore",
    "BoundedSemaphore": "semaphore",
    "Event": "event",
    "Condition": "condition",
    "Barrier": "barrier",
    "Queue": "queue",
    "PriorityQueue": "queue",
    "LifoQueue": "queue",
}
_WAIT_FUNCTIONS = {
    "wait": "asyncio.wait()",
    "_wait": "asyncio.wait()",
    "wait_for": "asyncio.wait_for()",
    "as_completed": "asyncio.as_completed()",
    "_wait_for_one": "asyncio.as_completed()",
}


def frame_text(frame: Any) -> str:
    """``"function() at file:line"`` for ``frame`` ("" for None)."""
    if frame is None:
        return ""
    code = frame.f_code
    return f"{code.co_qualname}() at {code.co_filename}:{frame.f_lineno}"


def creation_site(library: dict[Any, bool]) -> str:
    """``"file:line"`` of the innermost user frame calling the caller's caller.

    (Called by the tracer when the loop reports a new task: the frames above are the
    loop's and asyncio's.) ``library`` caches, per code object, whether it belongs to
    asyncio or asyncsim.
    """
    frame: Any = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        is_library = library.get(code)
        if is_library is None:
            is_library = library[code] = introspect._is_library(code.co_filename)
        if not is_library:
            return f"{code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


def call_stack() -> list[Any]:
    """The frames of the caller and above, innermost first."""
    frames = []
    frame: Any = sys._getframe(1)
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    return frames


def coroutine_chain(task: asyncio.Task[Any]) -> list[Any]:
    """The coroutines (and generators) ``task`` is suspended in, outermost first."""
    chain = []
    obj: Any = task.get_coro()
    while obj is not None:
        cls = obj.__class__
        if cls is _Coroutine:
            following = obj.cr_await
        elif cls is _Generator:
            following = obj.gi_yieldfrom
        else:
            break
        chain.append(obj)
        obj = following
    return chain


def code_of(obj: Any) -> Any:
    """The code object of a coroutine or generator of a chain."""
    return obj.cr_code if obj.__class__ is _Coroutine else obj.gi_code


def wrapped_function(chain: list[Any], library: dict[Any, bool]) -> str:
    """The user function a wrapper coroutine (the chain's first) awaits, or "".

    ``library`` caches, per code object, whether it belongs to asyncio or asyncsim.
    """
    for obj in chain[1:]:
        code = code_of(obj)
        if not library.get(code, True):
            return str(code.co_qualname)
    return ""


def _is_executor_future(fut: Any) -> bool:
    for callback in getattr(fut, "_callbacks", None) or ():
        cb = callback[0] if isinstance(callback, tuple) else callback
        if getattr(cb, "__name__", "") == "_call_check_cancel":
            return True
    return False


def classify_wait(fut: Any, chain: list[Any]) -> tuple[str, int | None, str]:
    """What a task suspended in ``chain`` on future ``fut`` (None: none) waits on.

    Returns ``(blocked, until, detail)`` as in :class:`asyncsim.trace.records.StepRow`
    (``until`` in ticks, for a sleep only); an awaited task is the caller's to name.
    """
    # Locks, queues and asyncio.wait show up as asyncio frames inside the user frame;
    # the outermost of them is the API the user called.
    inner = len(chain)
    while inner and code_of(chain[inner - 1]).co_filename.startswith(introspect._ASYNCIO_DIR):
        inner -= 1
    for obj in chain[inner:]:
        frame = obj.cr_frame if obj.__class__ is _Coroutine else obj.gi_frame
        if frame is None:
            continue
        code = frame.f_code
        owner = frame.f_locals.get("self")
        kind = _LOCK_CLASSES.get(type(owner).__name__) if owner is not None else None
        if kind is not None and type(owner).__module__ in ("asyncio.locks", "asyncio.queues"):
            return kind, None, f"{type(owner).__name__}.{code.co_name}()"
        if code.co_name in _WAIT_FUNCTIONS and code.co_filename.endswith("tasks.py"):
            return "wait", None, _WAIT_FUNCTIONS[code.co_name]
        if code.co_name == "sleep" and "h" in frame.f_locals:  # no _fut_waiter (3.12+?)
            when = frame.f_locals["h"].when()
            return "sleep", None if when == math.inf else to_ticks(when), "asyncio.sleep"
    if fut is None:
        return "ready", None, ""
    kind = type(fut).__name__
    if kind == "_GatheringFuture":
        return "gather", None, f"gather() of {len(getattr(fut, '_children', []))}"
    if _is_executor_future(fut):
        return "executor", None, "executor job"
    return "future", None, f"await {kind}"
