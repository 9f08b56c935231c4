"""Reading back a trace saved with ``Trace.to_json``: a file, or a report folder holding one."""

from __future__ import annotations

import json
import os
from pathlib import Path

from asyncsim.report.folder import TRACE_FILE
from asyncsim.trace.records import Trace

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
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"trace file {str(path)!r} is not JSON: {exc}") from None
    if isinstance(data, dict) and "traceEvents" in data:
        raise ValueError(
            f"{str(path)!r} is a Chrome trace-event file (for Perfetto); pass the "
            f"{TRACE_FILE} beside it, or a file written by Trace.to_json()"
        )
    return Trace.from_dict(data)
