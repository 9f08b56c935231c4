"""Where a task is and what it waits on, read from its frames and coroutines.

:func:`code_kind` tells the user's own code from libraries (:data:`USER`,
:data:`LIBRARY`, :data:`INTERNAL`); :func:`creation_site` and :func:`frame_text` say
where (the innermost frame of the user's own code); :func:`exception_chain` describes
a failure;
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
import os
import re
import reprlib
import sys
import sysconfig
import types
from typing import Any

from asyncsim.clock import to_ticks
from asyncsim.core import introspect

__all__ = [
    "INTERNAL",
    "LIBRARY",
    "USER",
    "call_stack",
    "classify_wait",
    "code_kind",
    "code_of",
    "coroutine_chain",
    "creation_site",
    "exception_chain",
    "frame_text",
    "is_timeout",
    "short_repr",
    "task_outcome",
    "user_call_site",
    "wrapped_function",
]

#: Kinds of code, by the file a code object comes from: the user's own code; a library
#: (the standard library, an installed package such as aiohttp); asyncio and asyncsim.
USER, LIBRARY, INTERNAL = 0, 1, 2

# asyncsim's own folders (sim/ is the asyncsim package, models/ beside it) and asyncio's.
_SIM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_INTERNAL_DIRS = (
    os.path.dirname(asyncio.__file__) + os.sep,
    _SIM_DIR,
    os.path.join(os.path.dirname(os.path.dirname(_SIM_DIR)), "models") + os.sep,
)
_LIBRARY_DIRS = tuple(
    sorted(
        {
            os.path.realpath(path) + os.sep
            for key in ("stdlib", "platstdlib", "purelib", "platlib")
            if (path := sysconfig.get_paths().get(key))
        }
        | {
            path + os.sep
            for key in ("stdlib", "platstdlib", "purelib", "platlib")
            if (path := sysconfig.get_paths().get(key))
        }
    )
)
_PACKAGES = re.compile(r"[/\\](site|dist)-packages[/\\]")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_REPR = reprlib.Repr()
_REPR.maxstring = 40
_REPR.maxother = 40
_REPR.maxlevel = 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 4


def code_kind(filename: str) -> int:
    """:data:`USER`, :data:`LIBRARY` or :data:`INTERNAL`: whose code ``filename`` holds.

    asyncio and asyncsim (its package and its models) are internal; the standard
    library and installed packages (anything under a ``site-packages`` or
    ``dist-packages`` folder) are libraries; every other file is the user's own.
    """
    if filename.startswith(_INTERNAL_DIRS):
        return INTERNAL
    if filename.startswith(_LIBRARY_DIRS) or filename.startswith("<frozen"):
        return LIBRARY
    if _PACKAGES.search(filename):
        return LIBRARY
    return USER


def short_repr(value: object) -> str:
    """A short, address-free repr of ``value`` (at most about 60 characters)."""
    try:
        text = _REPR.repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    text = _ADDRESS.sub("", text)
    return text if len(text) <= 64 else text[:60] + "...>"


def exception_chain(exc: BaseException, kinds: dict[Any, int]) -> list[tuple[str, str, str, str]]:
    """``exc`` and the exceptions it was raised from, as Python prints them, newest first.

    Each is ``(link, text, where, inner)``: ``link`` is ``""`` for ``exc``, then
    ``"cause"`` (``raise ... from``) or ``"context"`` (raised while handling);
    ``text`` is ``"Type: message"``; ``where`` the frame of the user's own code where
    it was raised, from its traceback, and ``inner`` the library frame below it (""
    when none). ``kinds`` caches :func:`code_kind` per code object.
    """
    out: list[tuple[str, str, str, str]] = []
    seen: set[int] = set()
    link = ""
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(out) < 10:
        seen.add(id(current))
        user = library = None
        tb = current.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            code = frame.f_code
            kind = kinds.get(code)
            if kind is None:
                kind = kinds[code] = code_kind(code.co_filename)
            if kind == USER:
                user, library = tb, None
            elif kind == LIBRARY:
                library = tb
            tb = tb.tb_next
        message = _ADDRESS.sub("", str(current))
        text = type(current).__name__ + (f": {message}" if message else "")
        out.append((link, text, _tb_text(user or library), _tb_text(library) if user else ""))
        if current.__cause__ is not None:
            link, current = "cause", current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            link, current = "context", current.__context__
        else:
            current = None
    return out


def _tb_text(tb: types.TracebackType | None) -> str:
    if tb is None:
        return ""
    code = tb.tb_frame.f_code
    return f"{code.co_qualname}() at {code.co_filename}:{tb.tb_lineno}"


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


def creation_site(kinds: dict[Any, int]) -> str:
    """``"file:line"`` of the innermost frame of the user's own code calling the
    caller's caller (else of a library's; "" when there is neither).

    (Called by the tracer when the loop reports a new task: the frames above are the
    loop's and asyncio's.) ``kinds`` caches :func:`code_kind` per code object.
    """
    frame: Any = sys._getframe(2)
    fallback = ""
    while frame is not None:
        code = frame.f_code
        kind = kinds.get(code)
        if kind is None:
            kind = kinds[code] = code_kind(code.co_filename)
        if kind == USER:
            return f"{code.co_filename}:{frame.f_lineno}"
        if kind == LIBRARY and not fallback:
            fallback = f"{code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return fallback


def user_call_site(kinds: dict[Any, int]) -> str:
    """``"function() at file:line"`` of the innermost frame of the user's own code on the
    caller's stack ("" when there is none)."""
    frame: Any = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        kind = kinds.get(code)
        if kind is None:
            kind = kinds[code] = code_kind(code.co_filename)
        if kind == USER:
            return frame_text(frame)
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


def wrapped_function(chain: list[Any], kinds: dict[Any, int]) -> str:
    """The user function a wrapper coroutine (the chain's first) awaits, or "".

    ``kinds`` caches :func:`code_kind` per code object.
    """
    for obj in chain[1:]:
        code = code_of(obj)
        if kinds.get(code, INTERNAL) == USER:
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
            return "sleep", to_ticks(frame.f_locals["h"].when()), "asyncio.sleep"
    if fut is None:
        return "ready", None, ""
    kind = type(fut).__name__
    if kind == "_GatheringFuture":
        return "gather", None, f"gather() of {len(getattr(fut, '_children', []))}"
    if _is_executor_future(fut):
        return "executor", None, "executor job"
    return "future", None, f"await {kind}"


_TIMEOUT_CALLBACKS = frozenset({"_release_waiter", "_on_timeout", "_handle_timeout"})


def is_timeout(callback: Any) -> bool:
    """Whether a timer's callback is one of asyncio's own timeouts (``wait_for``,
    ``wait``, ``as_completed``, ``asyncio.timeout``)."""
    return getattr(callback, "__name__", "") in _TIMEOUT_CALLBACKS and str(
        getattr(callback, "__module__", "")
    ).startswith("asyncio")


def task_outcome(task: asyncio.Future[Any]) -> tuple[str, str]:
    """A finished task's ``(outcome, detail)`` as in :class:`asyncsim.trace.records.TaskRow`."""
    if task.cancelled():
        return "cancelled", ""
    exc = task.exception()
    if exc is not None:
        message = _ADDRESS.sub("", str(exc))
        return "exception", type(exc).__name__ + (f": {message}" if message else "")
    return "result", short_repr(task.result())
