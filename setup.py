"""Build the optional compiled loop core, ``asyncsim.core._ccore``, where it can be built.

Everything else about the package is declared in ``pyproject.toml``. The extension is
optional: without a C compiler (or with ``ASYNCSIM_NO_EXTENSIONS=1`` set at build time)
the install goes on with the pure-Python loop and says so in one line;
``asyncsim.core.active_core()`` tells at run time which core new loops use.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SOURCE = "sim/core/_ccore.pyx"
INCLUDED = ["sim/core/_ctimers.pxi", "sim/core/_clookup.pxi", "sim/core/_ccaller.pxi"]


_told: list[str] = []


def _notice(why: str) -> None:
    if _told:  # one line, even when several build steps fail
        return
    _told.append(why)
    print(f"asyncsim: {why}: installing the pure-Python loop core", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """build_ext whose failure (no compiler, no headers) leaves the pure-Python core."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # (distutils' compiler and platform errors, OSError)
            _notice(f"the compiled loop core could not be built ({exc})")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            _notice(f"the compiled loop core could not be built ({exc})")


def extensions() -> list[Extension]:
    if os.environ.get("ASYNCSIM_NO_EXTENSIONS", "") not in ("", "0"):
        _notice("ASYNCSIM_NO_EXTENSIONS is set")
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        _notice("Cython is not available to build the compiled loop core")
        return []
    extension = Extension(
        "asyncsim.core._ccore", [SOURCE], depends=INCLUDED, extra_compile_args=["-O2"]
    )
    return cythonize([extension], language_level=3, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
