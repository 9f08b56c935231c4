"""The JSON layout of a :class:`~asyncsim.trace.records.Trace`, its versions and checks.

A trace is one JSON object::

    {"schema": "asyncsim-trace", "version": 2, "title": ..., "start": ticks,
     "end": ticks, "mains": [task ids], "error": text or null,
     "tasks": {"columns": [field names], "rows": [[values], ...]}, "steps": ..., ...}

with one ``{"columns", "rows"}`` table per entry of ``Trace.TABLES``; keys are sorted,
so the same trace always gives the same bytes. Version 2 added the lanes
(``lanes``, ``intervals``, ``samples``); version 1 traces still load, with no lanes.
Loading checks the schema name, the version, every table's columns, every value's
type and every reference between rows (:mod:`asyncsim.trace.checks`), and turns
anything malformed into a ``ValueError`` that says so.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from asyncsim.trace.checks import check_trace

if TYPE_CHECKING:
    from asyncsim.trace.records import Trace

__all__ = ["SCHEMA_VERSION", "from_dict", "from_json", "parse_json", "to_dict", "to_json"]

#: Version of the JSON layout written by :func:`to_dict` (2 added the lanes;
#: version 1 traces still load, with no lanes).
SCHEMA_VERSION = 2
_READABLE_VERSIONS = (1, 2)
_SCHEMA = "asyncsim-trace"
# Tables a version 1 trace does not have (they load empty).
_SINCE_V2 = frozenset({"lanes", "intervals", "samples"})


def to_dict(trace: Trace) -> dict[str, Any]:
    """``trace`` as a JSON-ready dict (tables as column names plus rows of values)."""
    out: dict[str, Any] = {
        "schema": _SCHEMA,
        "version": SCHEMA_VERSION,
        "title": trace.title,
        "start": trace.start,
        "end": trace.end,
        "mains": list(trace.mains),
        "error": trace.error,
    }
    for name, row_type in trace.TABLES.items():
        out[name] = {
            "columns": list(row_type._fields),  # type: ignore[attr-defined]
            "rows": [list(row) for row in getattr(trace, name)],
        }
    return out


def to_json(trace: Trace, *, indent: int | None = None) -> str:
    """``trace`` as JSON text (deterministic: same program and seed, same bytes)."""
    return json.dumps(
        to_dict(trace), indent=indent, sort_keys=True, separators=(",", ":"), allow_nan=False
    )


def from_dict(cls: type[Trace], data: Any) -> Trace:
    """Rebuild a ``cls`` from :func:`to_dict` output (``ValueError`` if it is not one)."""
    if not isinstance(data, dict) or data.get("schema") != _SCHEMA:
        raise ValueError(
            "data is not an asyncsim trace (missing schema 'asyncsim-trace'); "
            "write one with Trace.to_json()"
        )
    version = data.get("version")
    if isinstance(version, bool) or version not in _READABLE_VERSIONS:
        raise ValueError(
            f"trace schema version {version!r} is not supported "
            f"(this asyncsim reads versions {', '.join(map(str, _READABLE_VERSIONS))})"
        )
    tables: dict[str, tuple[Any, ...]] = {}
    try:
        for name, row_type in cls.TABLES.items():
            if version < 2 and name in _SINCE_V2:
                continue
            table = data[name]
            fields = list(row_type._fields)  # type: ignore[attr-defined]
            if table["columns"] != fields:
                raise ValueError(f"table {name!r} has columns {table['columns']!r}")
            if name == "intervals":  # the last column holds (key, value) pairs
                tables[name] = tuple(
                    row_type._make(  # type: ignore[attr-defined]
                        [*row[:-1], tuple((k, v) for k, v in row[-1])]
                    )
                    for row in table["rows"]
                )
            else:
                tables[name] = tuple(row_type(*row) for row in table["rows"])
        trace = cls(
            start=data["start"],
            end=data["end"],
            mains=tuple(data["mains"]),
            error=data["error"],
            title=data.get("title", ""),
            **tables,
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed asyncsim trace: {exc!r}") from None
    check_trace(trace)
    return trace


def from_json(cls: type[Trace], text: str | bytes) -> Trace:
    """Rebuild a ``cls`` from :func:`to_json` text (``ValueError`` if it is not one)."""
    return from_dict(cls, parse_json(text, "text"))


def parse_json(text: str | bytes, what: str) -> Any:
    """``json.loads(text)``, failing with a ``ValueError`` that names ``what`` (also for
    JSON nested too deeply for the parser)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} is not JSON: {exc}") from None
    except RecursionError:
        raise ValueError(
            f"{what} is not an asyncsim trace: its JSON is nested too deeply"
        ) from None
