"""Errors reported from finalizers, without breaking someone else's ``ast.parse`` (CPython 3.11).

A future whose exception nobody retrieved, a task destroyed while pending: asyncio
reports them from ``__del__`` through ``loop.call_exception_handler``, whose default
logs the exception's traceback. Objects in reference cycles are finalized by the
cyclic garbage collector, which runs whenever an allocation crosses its threshold:
possibly inside an ``ast.parse`` of unrelated code (pytest's assertion rewriting and
failure reports, a traceback's own formatting). On CPython 3.11 before 3.11.8 the AST
constructor keeps its recursion depth in state the whole interpreter shares (CPython
gh-106905), and 3.11's traceback formatting calls ``ast.parse`` to place its ``^~~``
carets: a report made from a finalizer during another parse resets that state, and
the outer parse fails with ``SystemError: AST constructor recursion depth mismatch``.
A failing property test leaves many such objects (runs stopped mid-way), so the next
pytest report could crash the session.

On the affected releases, once a virtual loop has been made (:func:`install`), tracebacks
formatted while the collector runs have no carets (the line and its ``^^^`` underline
stay), so no parse is nested. It acts from the collector's own callbacks, so the loop's
``call_exception_handler`` stays asyncio's (CPython's tests patch it on the class).
Everywhere else it does nothing.
"""

from __future__ import annotations

import gc
import sys
import traceback
from typing import Any

__all__ = ["AFFECTED", "install"]

#: True on the CPython releases with the shared AST-constructor depth (3.11.0 - 3.11.7).
AFFECTED = sys.implementation.name == "cpython" and (3, 11) <= sys.version_info[:3] < (3, 11, 8)

#: traceback's caret finder, saved while a collection runs (None otherwise).
_saved: Any = None


def _no_anchors(segment: str) -> None:
    return None


def _watch(phase: str, info: dict[str, Any]) -> None:
    """During a collection (when finalizers run), format tracebacks without carets."""
    global _saved
    module: Any = traceback
    if phase == "start" and _saved is None:
        _saved = module._extract_caret_anchors_from_line_segment
        module._extract_caret_anchors_from_line_segment = _no_anchors
    elif phase == "stop" and _saved is not None:
        module._extract_caret_anchors_from_line_segment = _saved
        _saved = None


def install() -> None:
    """Follow the collector's passes (once per process; only where :data:`AFFECTED`)."""
    if AFFECTED and _watch not in gc.callbacks:
        gc.callbacks.append(_watch)
