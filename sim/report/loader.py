"""Reading back a trace saved with ``Trace.to_json``: a file, or a report folder holding one."""

from __future__ import annotations

import os
from pathlib import Path

from asyncsim.report.folder import TRACE_FILE
from asyncsim.trace.records import Trace
from asyncsim.trace.schema import parse_json

__all__ = ["load_trace"]


def load_trace(source: str | os.PathLike[str]) -> Trace:
    """Read a trace saved with ``Trace.to_json`` (a file, or a report folder holding one).

    Raises ``FileNotFoundError`` when there is no such file, and ``ValueError`` when
    it is not an asyncsim trace (with a hint when it is the Chrome ``trace.json``).
    """
    path = Path(source)
    if path.is_dir():
        path = path / TRACE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"trace file {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"trace file {str(path)!r} is not text: {exc}") from None
    data = parse_json(text, f"trace file {str(path)!r}")
    if isinstance(data, dict) and "traceEvents" in data:
        raise ValueError(
            f"{str(path)!r} is a Chrome trace-event file (for Perfetto); pass the "
            f"{TRACE_FILE} beside it, or a file written by Trace.to_json()"
        )
    try:
        return Trace.from_dict(data)
    except ValueError as exc:
        raise ValueError(f"trace file {str(path)!r}: {exc}") from None
