"""A function named by a script path and a name, loadable in any worker process.

``asyncsim sweep app.py --func main`` sweeps ``main`` from ``app.py``. The script is
imported as a module (its ``if __name__ == "__main__":`` block does not run) under a
name derived from its path, so every worker process (fork, spawn or a Dask worker on
the same file system) loads it itself; only the path and the name are pickled.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import sys
from types import ModuleType
from typing import Any

__all__ = ["ScriptFunction"]

_MODULES: dict[str, ModuleType] = {}


def _load_module(path: str) -> ModuleType:
    module = _MODULES.get(path)
    if module is not None:
        return module
    name = "_asyncsim_app_" + hashlib.sha1(path.encode("utf-8")).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot import {path!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # sibling imports work as under `python app.py`
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    _MODULES[path] = module
    return module


class ScriptFunction:
    """``name`` from the script at ``path``, called with keyword arguments."""

    def __init__(self, path: str | os.PathLike[str], name: str = "main") -> None:
        path = os.path.abspath(os.fspath(path))
        if not os.path.isfile(path):
            raise FileNotFoundError(f"script {path!r} does not exist or is not a file")
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"function name must be a Python identifier, got {name!r}")
        self.path = path
        self.name = name

    def load(self) -> Any:
        """Import the script (once per process) and return the function."""
        module = _load_module(self.path)
        fn = getattr(module, self.name, None)
        if fn is None:
            found = sorted(
                n
                for n, v in vars(module).items()
                if inspect.iscoroutinefunction(v) and not n.startswith("_")
            )
            hint = f"; async functions it defines: {', '.join(found)}" if found else ""
            raise ValueError(
                f"{os.path.basename(self.path)} has no function {self.name!r} to sweep "
                f"(use --func NAME){hint}"
            )
        if not callable(fn):
            raise TypeError(f"{self.name!r} in {self.path!r} is not callable: {fn!r}")
        return fn

    @property
    def __signature__(self) -> inspect.Signature:
        return inspect.signature(self.load())

    @property
    def sweep_name(self) -> str:
        """How results files name the function: ``app.py:main``."""
        return f"{os.path.basename(self.path)}:{self.name}"

    def __call__(self, **kwargs: Any) -> Any:
        return self.load()(**kwargs)

    def __repr__(self) -> str:
        return f"ScriptFunction({self.path!r}, {self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScriptFunction) and (self.path, self.name) == (
            other.path,
            other.name,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.name))
