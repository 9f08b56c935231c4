"""Where the program asked for something: the first frame outside asyncio and asyncsim.

A schedule names what it delays by this call site (``app.py:42``): the line of the
program (or of a library it uses, e.g. aiohttp) that called ``asyncio.sleep``,
``loop.call_later``, ``asyncio.wait_for``, ``loop.run_in_executor`` ..., found by
walking up the stack past asyncio's own frames and asyncsim's (the loop and the
models). Used only while a schedule is being played, never on the plain fast path.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
from dataclasses import dataclass
from types import CodeType, FrameType

__all__ = ["CallSite", "call_site"]

_ASYNCIO = os.path.dirname(asyncio.__file__) + os.sep
_ASYNCSIM = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_skip: tuple[str, ...] | None = None


def _skipped_prefixes() -> tuple[str, ...]:
    """asyncio's folder, asyncsim's and that of ``asyncsim.models`` (mapped from its own folder)."""
    global _skip
    if _skip is None:
        spec = importlib.util.find_spec("asyncsim.models")  # (finds, does not import)
        models = spec.submodule_search_locations if spec is not None else None
        extra = tuple(os.path.abspath(p) + os.sep for p in (models or ()))
        _skip = (_ASYNCIO, _ASYNCSIM, "<frozen ", *extra)
    return _skip


@dataclass(frozen=True)
class CallSite:
    """A line of the program: ``file`` (the path), ``line`` and ``function`` (a qualname).

    ``key`` is ``"app.py:42"``: the file's base name and the line, as replay strings
    name it.
    """

    file: str
    line: int
    function: str
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", f"{os.path.basename(self.file)}:{self.line}")

    def __str__(self) -> str:
        return f"{self.key} in {self.function}()"


_UNKNOWN = CallSite("<unknown>", 0, "<unknown>")


_sites: dict[tuple[CodeType, int], CallSite] = {}


def call_site(depth: int = 2) -> CallSite:
    """The first frame above ``depth`` levels up whose code is not asyncio's nor asyncsim's.

    ``<unknown>`` when every frame is skipped (a timer made by the loop itself).
    """
    try:
        frame: FrameType | None = sys._getframe(depth)
    except ValueError:
        return _UNKNOWN
    skip = _skip or _skipped_prefixes()
    while frame is not None:
        code = frame.f_code
        if not code.co_filename.startswith(skip):
            where = (code, frame.f_lineno)
            site = _sites.get(where)
            if site is None:
                if len(_sites) > 100_000:  # (a bound, for programs that generate code)
                    _sites.clear()
                site = _sites[where] = CallSite(code.co_filename, where[1], code.co_qualname)
            return site
        frame = frame.f_back
    return _UNKNOWN
