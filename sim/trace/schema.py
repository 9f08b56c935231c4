"""The JSON layout of a :class:`~asyncsim.trace.records.Trace`, its versions and checks.

A trace is one JSON object::

    {"schema": "asyncsim-trace", "version": 3, "title": ..., "start_ns": ticks,
     "end_ns": ticks, "callbacks": n, "mains": [task ids], "error": text or null,
     "tasks": {"columns": [field names], "rows": [[values], ...]}, "steps": ..., ...}

with one ``{"columns", "rows"}`` table per entry of ``Trace.TABLES``; keys are sorted,
so the same trace always gives the same bytes. Version 2 added the lanes
(``lanes``, ``intervals``, ``samples``); version 3 named every tick column ``*_ns``
and added ``callbacks``, the steps' ``inner`` frames, ``delays`` and ``exceptions``.
Versions 1 and 2 still load (without what they lack).
Loading checks the schema name, the version and every table's columns, and turns
anything malformed into a ``ValueError`` that says so.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncsim.trace.records import Trace

__all__ = ["SCHEMA_VERSION", "from_dict", "from_json", "to_dict", "to_json"]

#: Version of the JSON layout written by :func:`to_dict` (2 added the lanes; 3 the
#: ``*_ns`` names, callbacks, inner frames, delays and exceptions).
SCHEMA_VERSION = 3
_READABLE_VERSIONS = (1, 2, 3)
_SCHEMA = "asyncsim-trace"
# Tables older traces do not have (they load empty), by the version that added them.
_SINCE = {"lanes": 2, "intervals": 2, "samples": 2, "delays": 3, "exceptions": 3}
# Columns added in version 3 at the end of a table, with the value older rows get.
_ADDED_V3 = {"steps": ("inner", "")}


def _old_columns(fields: list[str]) -> list[str]:
    """A table's columns as versions 1 and 2 named them (no ``_ns`` suffix)."""
    return [f[:-3] if f.endswith("_ns") else f for f in fields]


def to_dict(trace: Trace) -> dict[str, Any]:
    """``trace`` as a JSON-ready dict (tables as column names plus rows of values)."""
    out: dict[str, Any] = {
        "schema": _SCHEMA,
        "version": SCHEMA_VERSION,
        "title": trace.title,
        "start_ns": trace.start_ns,
        "end_ns": trace.end_ns,
        "callbacks": trace.callbacks,
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
            if version < _SINCE.get(name, 1):
                continue
            table = data[name]
            fields = list(row_type._fields)  # type: ignore[attr-defined]
            added = _ADDED_V3.get(name) if version < 3 else None
            expected = fields if version >= 3 else _old_columns(fields)
            if added is not None:
                expected = expected[:-1]
            if table["columns"] != expected:
                raise ValueError(f"table {name!r} has columns {table['columns']!r}")
            if added is not None:
                table = {"rows": [[*row, added[1]] for row in table["rows"]]}
            if name == "intervals":  # the last column holds (key, value) pairs
                tables[name] = tuple(
                    row_type._make(  # type: ignore[attr-defined]
                        [*row[:-1], tuple((k, v) for k, v in row[-1])]
                    )
                    for row in table["rows"]
                )
            else:
                tables[name] = tuple(row_type(*row) for row in table["rows"])
        times = ("start_ns", "end_ns") if version >= 3 else ("start", "end")
        return cls(
            start_ns=int(data[times[0]]),
            end_ns=int(data[times[1]]),
            callbacks=int(data.get("callbacks", 0)),
            mains=tuple(data["mains"]),
            error=data["error"],
            title=data.get("title", ""),
            **tables,
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed asyncsim trace: {exc!r}") from None


def from_json(cls: type[Trace], text: str | bytes) -> Trace:
    """Rebuild a ``cls`` from :func:`to_json` text (``ValueError`` if it is not one)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"text is not JSON: {exc}") from None
    return from_dict(cls, data)
