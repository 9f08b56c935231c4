"""Where a suspended task is, and what it waits on: read from its coroutine chain."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import os
import re
import types
import weakref
from collections.abc import Iterable
from typing import Any

from asyncsim.errors import PendingTask

__all__ = [
    "coroutine_name",
    "describe_pending",
    "frame_chain",
    "remember_coroutine",
    "user_frame",
    "waiting_on",
]

_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep
# The asyncsim package folder (sim/), one level above this module, and the models'
# (asyncsim.models: models/ beside sim/ in a clone, inside the package when installed).
_SIM_DIR = os.path.dirname(os.path.dirname(__file__)) + os.sep
_MODELS_SPEC = importlib.util.find_spec("asyncsim.models")
_LIBRARY_DIRS = tuple(
    {_ASYNCIO_DIR, _SIM_DIR}
    | (
        {os.path.dirname(_MODELS_SPEC.origin) + os.sep}
        if _MODELS_SPEC is not None and _MODELS_SPEC.origin
        else set()
    )
)
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
#: Awaitables of an ``async for``/``await agen.asend()``: they hide the generator they drive.
_ASYNCGEN_STEPS = ("async_generator_asend", "async_generator_athrow")


def _is_library(filename: str) -> bool:
    return filename.startswith(_LIBRARY_DIRS)


def _driven_generator(step: object) -> object | None:
    """The async generator an ``asend``/``athrow`` object drives (it has no public link)."""
    for referent in gc.get_referents(step):
        if isinstance(referent, types.AsyncGeneratorType):
            return referent
    return None


def frame_chain(coro: Any) -> list[types.FrameType]:
    """The frames of a suspended coroutine and everything it awaits, outermost first."""
    frames: list[types.FrameType] = []
    obj = coro
    for _ in range(1000):  # guard against pathological awaitable cycles
        if obj is None:
            break
        frame = (
            getattr(obj, "cr_frame", None)
            or getattr(obj, "gi_frame", None)
            or getattr(obj, "ag_frame", None)
        )
        if frame is None:
            break
        frames.append(frame)
        obj = (
            getattr(obj, "cr_await", None)
            or getattr(obj, "gi_yieldfrom", None)
            or getattr(obj, "ag_await", None)
        )
        if type(obj).__name__ in _ASYNCGEN_STEPS:  # into the generator, not its consumer
            obj = _driven_generator(obj)
    return frames


def user_frame(frames: Iterable[types.FrameType]) -> types.FrameType | None:
    """The innermost frame that is not asyncio's or the simulator's own."""
    found = None
    for frame in frames:
        if not _is_library(frame.f_code.co_filename):
            found = frame
    return found


def _where(frame: types.FrameType | None) -> str:
    if frame is None:
        return "<not started or inside asyncio>"
    return f"{frame.f_code.co_qualname}() at {frame.f_code.co_filename}:{frame.f_lineno}"


def _short(obj: object) -> str:
    return _ADDRESS.sub("", repr(obj))


#: Coroutine names of tasks that finished inside create_task (3.12+ eager tasks),
#: whose ``get_coro()`` is None by the time anyone asks (and crashes CPython 3.12.1).
_EAGER_NAMES: weakref.WeakKeyDictionary[asyncio.Future[Any], str] = weakref.WeakKeyDictionary()


def _name_of(coro: Any) -> str:
    return getattr(coro, "__qualname__", None) or type(coro).__name__


def remember_coroutine(task: asyncio.Future[Any], coro: Any) -> None:
    """Remember ``coro``'s name for ``task``, which finished eagerly and dropped it."""
    _EAGER_NAMES[task] = _name_of(coro)


def coroutine_name(task: asyncio.Future[Any]) -> str:
    """The qualified name of a task's coroutine (``'<future>'`` for plain futures)."""
    name = _EAGER_NAMES.get(task)
    if name is not None:  # checked first: get_coro() of such a task crashes CPython 3.12.1
        return name
    get_coro = getattr(task, "get_coro", None)
    coro = get_coro() if get_coro is not None else None
    if coro is None:
        return "<future>"
    return _name_of(coro)


def waiting_on(task: asyncio.Future[Any], frames: list[types.FrameType]) -> str:
    """A short description of what a suspended task is waiting for: the asyncio primitive
    (or library call) the user's own innermost frame called, e.g. ``Queue.join()``."""
    user = user_frame(frames)
    called = frames[frames.index(user) + 1 :] if user is not None else frames
    for frame in called:  # outermost first: what the user's code called
        code = frame.f_code
        if code.co_name == "sleep" and "h" in frame.f_locals:
            return f"asyncio.sleep until t={frame.f_locals['h'].when()!r}s"
        self_obj = frame.f_locals.get("self")
        if self_obj is not None and type(self_obj).__module__ in (
            "asyncio.locks",
            "asyncio.queues",
        ):
            return f"{type(self_obj).__name__}.{code.co_name}() on {_short(self_obj)}"
        if not code.co_filename.startswith(_ASYNCIO_DIR):  # the simulator's or a model's
            return f"{code.co_qualname}() (asyncsim)"
    fut = getattr(task, "_fut_waiter", None)
    if fut is None:
        return "nothing (ready to run)" if not task.done() else "nothing (done)"
    if isinstance(fut, asyncio.Task):
        return f"task {fut.get_name()!r} ({coroutine_name(fut)})"
    kind = type(fut).__name__
    if kind == "_GatheringFuture":
        children = getattr(fut, "_children", [])
        pending = sum(1 for c in children if not c.done())
        return f"gather() of {len(children)} awaitables, {pending} still pending"
    return f"a {kind} nobody has completed yet: {_short(fut)}"


def describe_pending(tasks: Iterable[asyncio.Future[Any]]) -> tuple[PendingTask, ...]:
    """Describe each not-done task: name, coroutine, suspension point, what it awaits."""
    out = []
    for task in tasks:
        if task.done():
            continue
        get_coro = getattr(task, "get_coro", None)
        frames = frame_chain(get_coro()) if get_coro is not None else []
        name = task.get_name() if isinstance(task, asyncio.Task) else "<future>"
        out.append(
            PendingTask(
                name=name,
                coroutine=coroutine_name(task),
                where=_where(user_frame(frames)),
                waiting_on=waiting_on(task, frames),
            )
        )
    return tuple(out)
