"""Errors in the user's own files (a ``--model`` file, a sweep script), reported as such.

A model file or sweep script that raises while it loads, or does not compile, is the
user's bug, not asyncsim's: the command prints the user's own traceback (from the
first frame in their file on, or the ``SyntaxError`` as Python shows it) and exits
with code 2, as for any other bad input.
"""

from __future__ import annotations

import os
import traceback

__all__ = ["UserFileError", "user_traceback"]


class UserFileError(Exception):
    """A user's file failed to load; the message holds its own traceback."""


def user_traceback(exc: BaseException, path: str | os.PathLike[str]) -> str | None:
    """``exc`` as Python prints it, from its first frame in ``path`` on; None if it was not
    raised by the code (or the syntax) of ``path``."""
    names = {os.fspath(path), os.path.abspath(path)}
    if isinstance(exc, SyntaxError) and exc.filename in names:
        return "".join(traceback.format_exception_only(type(exc), exc))
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename not in names:
        tb = tb.tb_next
    if tb is None:
        return None
    return "".join(traceback.format_exception(type(exc), exc, tb))
