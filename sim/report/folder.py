"""The report folder: what asyncsim may write into, and the names of the files it holds.

A folder asyncsim creates holds a small marker file (:data:`MARKER`); asyncsim
refuses to write into an existing non-empty folder without it unless ``force=True``,
so nothing the user wrote is overwritten without asking. A single file (a Gantt
chart) is never overwritten without ``force=True`` either (:func:`check_new_file`).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["MARKER", "TRACE_FILE", "check_new_file", "prepare_folder"]

#: File that marks a folder as written by asyncsim (so it may be overwritten).
MARKER = ".asyncsim-report"
#: The trace itself in a report folder (``Trace.to_json``), read back by ``asyncsim report``.
TRACE_FILE = "asyncsim-trace.json"


def prepare_folder(folder: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Create ``folder`` for a report, or check that asyncsim may write into it.

    Raises ``FileExistsError`` when ``folder`` exists, is not empty and was not
    created by asyncsim (no marker file), unless ``force`` is true.
    """
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"report folder {str(path)!r} exists and is not a folder")
    ours = (path / MARKER).exists()
    empty = not path.exists() or not any(path.iterdir())
    if not (ours or empty or force):
        raise FileExistsError(
            f"report folder {str(path)!r} is not empty and was not created by asyncsim; "
            "choose a new folder, or pass force=True (--force) to write into it"
        )
    path.mkdir(parents=True, exist_ok=True)
    if ours or empty:
        (path / MARKER).write_text(
            "This folder was written by asyncsim, which may overwrite it.\n", encoding="utf-8"
        )
    return path


def check_new_file(path: str | os.PathLike[str], *, force: bool = False) -> None:
    """Raise ``FileExistsError`` if ``path`` exists (unless ``force``): asyncsim writes a
    file the user names only where nothing is, or when told to overwrite it."""
    if os.path.lexists(path) and not force:
        raise FileExistsError(
            f"{os.fspath(path)!r} already exists; choose a new file name, or pass "
            "force=True (--force) to overwrite it"
        )
    if os.path.isdir(path):
        raise IsADirectoryError(f"{os.fspath(path)!r} is a folder, not a file name")
