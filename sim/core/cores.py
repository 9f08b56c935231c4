"""Which loop core new virtual loops use: the compiled one where it was built, else pure Python.

The compiled core (:mod:`asyncsim.core._ccore`, built from Cython by ``pip install`` where
a C compiler is present) and the pure-Python modules run the same events at the same
virtual times and give byte-identical traces; the compiled one is faster. Setting
``ASYNCSIM_NO_EXTENSIONS=1`` (at build or at import) forces the pure-Python core.

>>> from asyncsim.core import active_core
>>> active_core() in ("compiled", "python")
True
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Literal

from asyncsim._validate import refuse

__all__ = ["ENV_VAR", "active_core", "compiled_module", "core_info", "core_reason", "use_core"]

#: Set to anything but "" or "0" to force the pure-Python core.
ENV_VAR = "ASYNCSIM_NO_EXTENSIONS"

CoreName = Literal["compiled", "python"]


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get(ENV_VAR, "") not in ("", "0"):
        return None, f"{ENV_VAR} is set"
    name = "asyncsim.core._ccore"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            return None, f"the compiled core does not import ({exc})"
        return None, "the compiled core is not built"
    except ImportError as exc:  # (built for another Python, or broken)
        return None, f"the compiled core does not import ({exc})"
    return module, f"{name}, built with Cython"


_compiled, _why = _load()
_selected: CoreName = "compiled" if _compiled is not None else "python"


def active_core() -> CoreName:
    """The core new loops use: ``"compiled"`` or ``"python"``."""
    return _selected


def core_reason() -> str:
    """Why the active core is the one new loops use.

    For example ``"asyncsim.core._ccore, built with Cython"`` or
    ``"ASYNCSIM_NO_EXTENSIONS is set"``.
    """
    if _selected == "python" and _compiled is not None:
        return "chosen with asyncsim.core.cores.use_core"
    return _why


def core_info() -> str:
    """One line: the active core, and why.

    For example ``"compiled (asyncsim.core._ccore, built with Cython)"`` or
    ``"python (ASYNCSIM_NO_EXTENSIONS is set)"``.
    """
    return f"{_selected} ({core_reason()})"


def compiled_module() -> ModuleType | None:
    """The compiled core's module for a new loop, or None when the pure-Python core runs."""
    return _compiled if _selected == "compiled" else None


@contextmanager
def use_core(name: CoreName) -> Iterator[None]:
    """Make loops created inside the block use core ``name`` (tests and benchmarks).

    Raises ``RuntimeError`` for ``"compiled"`` when it is not available.
    """
    global _selected
    if name not in ("compiled", "python"):
        refuse("name", "'compiled' or 'python'", name)
    if name == "compiled" and _compiled is None:
        raise RuntimeError(f"the compiled loop core is not available: {_why}")
    saved, _selected = _selected, name
    try:
        yield
    finally:
        _selected = saved
