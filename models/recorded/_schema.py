"""The model file: what a recording keeps, as JSON with a schema version.

A model file holds sizes, times, counts and route templates only: no payload, no
header value, no query string, no command-line argument. Times are seconds (real
seconds of the recorded run, which a replay reads as virtual seconds), sizes bytes.
Each list of samples is the empirical distribution it is replayed from; past
:data:`MAX_SAMPLES` a list keeps that many evenly spaced order statistics (the
quantiles), so a long recording stays small and resamples the same way.

Layout (``schema_version`` 1)::

    {"format": "asyncsim-model", "schema_version": 1,
     "program": "client.py",
     "recorded": {"makespan": 3.2, "exit_code": 0, "python": "3.11.9", ...},
     "endpoints": [
       {"host": "127.0.0.1", "port": 8080, "protocol": "http", "tls": false,
        "connections": 4, "connect": [0.0002, ...], "tls_handshake": [],
        "connect_faults": {"refused": 0}, "connect_fault_waits": {},
        "dns": [],
        "routes": [
          {"method": "GET", "route": "/items/{id}", "count": 20,
           "ttfb": [0.201, ...], "transfer": [0.0, ...], "response_bytes": [112, ...],
           "request_bytes": [94, ...], "statuses": {"200": 20}, "body": "json",
           "faults": {}, "fault_waits": {}}],
        "stream": null}],
     "cpu": {"main": [0.0004, ...]},
     "step_wall": {"main": [0.0009, ...]},
     "thread_jobs": {"parse": [0.02, ...]},
     "not_recorded": [{"what": "UDP ...", "count": 1}],
     "notes": ["..."]}

:func:`read_model_file` checks all of it and names the first thing wrong
(:class:`ModelFileError`, a ``ValueError``).
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FORMAT",
    "MAX_SAMPLES",
    "SCHEMA_VERSION",
    "EndpointData",
    "ModelFile",
    "ModelFileError",
    "RouteData",
    "StreamData",
    "read_model_file",
    "thin",
]

FORMAT = "asyncsim-model"
#: The schema version this asyncsim writes and reads.
SCHEMA_VERSION = 1
#: The most samples one distribution keeps (evenly spaced quantiles beyond that).
MAX_SAMPLES = 10_000
# A JSON list of numbers as json.dumps(indent=...) lays it out, one number per line.
_NUMBER_LIST = re.compile(r"\[\s*((?:-?[\d.eE+-]+,?\s*)+)\]")
BODY_KINDS = ("json", "text", "bytes")


def _one_line(match: re.Match[str]) -> str:
    return "[" + ", ".join(n for n in re.split(r"[\s,]+", match.group(1)) if n) + "]"


class ModelFileError(ValueError):
    """A model file that cannot be used: not JSON, another schema version, a bad value."""


def thin(values: list[float], limit: int = MAX_SAMPLES) -> list[float]:
    """``values`` sorted, cut to ``limit`` evenly spaced order statistics when longer."""
    ordered = sorted(values)
    if len(ordered) <= limit:
        return ordered
    last = len(ordered) - 1
    return [ordered[round(i * last / (limit - 1))] for i in range(limit)]


def _seconds(values: list[float]) -> list[float]:
    return [round(v, 7) for v in thin(values)]


def _sizes(values: list[int]) -> list[int]:
    return [int(v) for v in thin([float(v) for v in values])]


@dataclass
class RouteData:
    """One request kind of an HTTP endpoint: a method and a route template."""

    method: str
    route: str
    count: int = 0
    ttfb: list[float] = field(default_factory=list)
    transfer: list[float] = field(default_factory=list)
    response_bytes: list[int] = field(default_factory=list)
    request_bytes: list[int] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    body: str = "bytes"
    faults: dict[str, int] = field(default_factory=dict)
    fault_waits: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "route": self.route,
            "count": self.count,
            "ttfb": _seconds(self.ttfb),
            "transfer": _seconds(self.transfer),
            "response_bytes": _sizes(self.response_bytes),
            "request_bytes": _sizes(self.request_bytes),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "body": self.body,
            "faults": dict(sorted(self.faults.items())),
            "fault_waits": {k: _seconds(v) for k, v in sorted(self.fault_waits.items())},
        }


@dataclass
class StreamData:
    """The exchanges of a non-HTTP endpoint: the program writes, the peer answers."""

    count: int = 0
    ttfb: list[float] = field(default_factory=list)
    transfer: list[float] = field(default_factory=list)
    response_bytes: list[int] = field(default_factory=list)
    request_bytes: list[int] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    fault_waits: dict[str, list[float]] = field(default_factory=dict)
    #: what the peer sent first, before the program wrote (a greeting): seconds, bytes
    greeting_delay: list[float] = field(default_factory=list)
    greeting_bytes: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "ttfb": _seconds(self.ttfb),
            "transfer": _seconds(self.transfer),
            "response_bytes": _sizes(self.response_bytes),
            "request_bytes": _sizes(self.request_bytes),
            "faults": dict(sorted(self.faults.items())),
            "fault_waits": {k: _seconds(v) for k, v in sorted(self.fault_waits.items())},
            "greeting_delay": _seconds(self.greeting_delay),
            "greeting_bytes": _sizes(self.greeting_bytes),
        }


@dataclass
class EndpointData:
    """A remote host and port the program connected to, and what happened there."""

    host: str
    port: int
    protocol: str = ""  #: ``http``, ``stream``, or ``""`` (connected, never wrote)
    tls: bool = False
    connections: int = 0  #: connection attempts
    connect: list[float] = field(default_factory=list)
    tls_handshake: list[float] = field(default_factory=list)
    connect_faults: dict[str, int] = field(default_factory=dict)
    connect_fault_waits: dict[str, list[float]] = field(default_factory=dict)
    dns: list[float] = field(default_factory=list)
    routes: list[RouteData] = field(default_factory=list)
    stream: StreamData | None = None

    @property
    def name(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "protocol": self.protocol,
            "tls": self.tls,
            "connections": self.connections,
            "connect": _seconds(self.connect),
            "tls_handshake": _seconds(self.tls_handshake),
            "connect_faults": dict(sorted(self.connect_faults.items())),
            "connect_fault_waits": {
                k: _seconds(v) for k, v in sorted(self.connect_fault_waits.items())
            },
            "dns": _seconds(self.dns),
            "routes": [r.to_dict() for r in self.routes],
            "stream": self.stream.to_dict() if self.stream is not None else None,
        }


@dataclass
class ModelFile:
    """A whole model file (see the module docstring for its JSON layout)."""

    program: str = ""
    recorded: dict[str, Any] = field(default_factory=dict)
    endpoints: list[EndpointData] = field(default_factory=list)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    step_wall: dict[str, list[float]] = field(default_factory=dict)
    thread_jobs: dict[str, list[float]] = field(default_factory=dict)
    not_recorded: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def endpoint(self, host: str, port: int) -> EndpointData | None:
        """The endpoint ``host:port``, or None."""
        for endpoint in self.endpoints:
            if endpoint.host == host and endpoint.port == port:
                return endpoint
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema_version": self.schema_version,
            "program": self.program,
            "recorded": dict(self.recorded),
            "endpoints": [e.to_dict() for e in self.endpoints],
            "cpu": {k: _seconds(v) for k, v in sorted(self.cpu.items())},
            "step_wall": {k: _seconds(v) for k, v in sorted(self.step_wall.items())},
            "thread_jobs": {k: _seconds(v) for k, v in sorted(self.thread_jobs.items())},
            "not_recorded": list(self.not_recorded),
            "notes": list(self.notes),
        }

    def to_json(self) -> str:
        """The file's text: stable key order, each list of samples on one line."""
        text = json.dumps(self.to_dict(), indent=1, sort_keys=False)
        return _NUMBER_LIST.sub(_one_line, text) + "\n"

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the file to ``path`` (the caller decides whether it may be overwritten)."""
        with open(path, "w", encoding="utf-8") as out:
            out.write(self.to_json())

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "model file") -> ModelFile:
        """Read and check a decoded model file; :class:`ModelFileError` names what is wrong."""
        return _Reader(source).model(data)


def read_model_file(path: str | os.PathLike[str]) -> ModelFile:
    """Read and check the model file at ``path``.

    Raises ``FileNotFoundError`` when there is no such file, and
    :class:`ModelFileError` when it is not JSON, not a model file, of another schema
    version, or holds a value that is not what its field allows (naming the field).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"model file {path!r} does not exist or is not a file")
    try:
        with open(path, encoding="utf-8") as source:
            text = source.read()
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"model file {path!r} is not text (UTF-8): {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFileError(
            f"model file {path!r} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); it may be truncated or corrupt: record it again with "
            "`asyncsim record`"
        ) from None
    return ModelFile.from_dict(data, source=f"model file {path!r}")


class _Reader:
    """Checks a decoded model file field by field; errors name the field's path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, allowed: str, value: Any) -> ModelFileError:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return ModelFileError(f"{self.source}: {where} must be {allowed}, got {shown}")

    def obj(self, where: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "an object", value)
        return value

    def text(self, where: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail(where, "a string", value)
        return value

    def count(self, where: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(where, "an integer >= 0", value)
        return value

    def seconds(self, where: str, value: Any) -> list[float]:
        if not isinstance(value, list):
            raise self.fail(where, "a list of seconds", value)
        for i, v in enumerate(value):
            if (
                isinstance(v, bool)
                or not isinstance(v, (int, float))
                or not math.isfinite(v)
                or v < 0
            ):
                raise self.fail(f"{where}[{i}]", "a finite number of seconds >= 0", v)
        return [float(v) for v in value]

    def sizes(self, where: str, value: Any) -> list[int]:
        if not isinstance(value, list):
            raise self.fail(where, "a list of byte counts", value)
        return [self.count(f"{where}[{i}]", v) for i, v in enumerate(value)]

    def counts(self, where: str, value: Any) -> dict[str, int]:
        data = self.obj(where, value)
        return {k: self.count(f"{where}.{k}", v) for k, v in data.items()}

    def waits(self, where: str, value: Any) -> dict[str, list[float]]:
        data = self.obj(where, value)
        return {k: self.seconds(f"{where}.{k}", v) for k, v in data.items()}

    def model(self, data: Any) -> ModelFile:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelFileError(
                f'{self.source} is not an asyncsim model file (no "format": "{FORMAT}"); '
                "write one with `asyncsim record app.py -o model.json`"
            )
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ModelFileError(
                f"{self.source} has schema_version {version!r}, and this asyncsim reads "
                f"schema_version {SCHEMA_VERSION} only; record the program again with "
                "`asyncsim record`, or replay it with the asyncsim version that wrote it"
            )
        endpoints = data.get("endpoints", [])
        if not isinstance(endpoints, list):
            raise self.fail("endpoints", "a list", endpoints)
        not_recorded = data.get("not_recorded", [])
        if not isinstance(not_recorded, list):
            raise self.fail("not_recorded", "a list", not_recorded)
        for i, item in enumerate(not_recorded):
            entry = self.obj(f"not_recorded[{i}]", item)
            self.text(f"not_recorded[{i}].what", entry.get("what"))
            self.count(f"not_recorded[{i}].count", entry.get("count"))
        notes = data.get("notes", [])
        if not isinstance(notes, list):
            raise self.fail("notes", "a list of strings", notes)
        return ModelFile(
            program=self.text("program", data.get("program", "")),
            recorded=self.obj("recorded", data.get("recorded", {})),
            endpoints=[self.endpoint(f"endpoints[{i}]", e) for i, e in enumerate(endpoints)],
            cpu=self.waits("cpu", data.get("cpu", {})),
            step_wall=self.waits("step_wall", data.get("step_wall", {})),
            thread_jobs=self.waits("thread_jobs", data.get("thread_jobs", {})),
            not_recorded=list(not_recorded),
            notes=[self.text(f"notes[{i}]", n) for i, n in enumerate(notes)],
        )

    def endpoint(self, where: str, value: Any) -> EndpointData:
        data = self.obj(where, value)
        host = self.text(f"{where}.host", data.get("host"))
        if not host:
            raise self.fail(f"{where}.host", "a host name or address", host)
        port = data.get("port")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise self.fail(f"{where}.port", "a port number from 1 to 65535", port)
        protocol = data.get("protocol", "")
        if protocol not in ("http", "stream", ""):
            raise self.fail(f"{where}.protocol", "'http', 'stream' or ''", protocol)
        tls = data.get("tls", False)
        if not isinstance(tls, bool):
            raise self.fail(f"{where}.tls", "true or false", tls)
        routes = data.get("routes", [])
        if not isinstance(routes, list):
            raise self.fail(f"{where}.routes", "a list", routes)
        stream = data.get("stream")
        return EndpointData(
            host=host,
            port=port,
            protocol=protocol,
            tls=tls,
            connections=self.count(f"{where}.connections", data.get("connections", 0)),
            connect=self.seconds(f"{where}.connect", data.get("connect", [])),
            tls_handshake=self.seconds(f"{where}.tls_handshake", data.get("tls_handshake", [])),
            connect_faults=self.counts(f"{where}.connect_faults", data.get("connect_faults", {})),
            connect_fault_waits=self.waits(
                f"{where}.connect_fault_waits", data.get("connect_fault_waits", {})
            ),
            dns=self.seconds(f"{where}.dns", data.get("dns", [])),
            routes=[self.route(f"{where}.routes[{i}]", r) for i, r in enumerate(routes)],
            stream=None if stream is None else self.stream(f"{where}.stream", stream),
        )

    def route(self, where: str, value: Any) -> RouteData:
        data = self.obj(where, value)
        statuses: dict[int, int] = {}
        for key, count in self.obj(f"{where}.statuses", data.get("statuses", {})).items():
            if not (isinstance(key, str) and key.isdigit() and 100 <= int(key) <= 599):
                raise self.fail(f"{where}.statuses", "keyed by HTTP status codes", key)
            statuses[int(key)] = self.count(f"{where}.statuses.{key}", count)
        body = data.get("body", "bytes")
        if body not in BODY_KINDS:
            raise self.fail(f"{where}.body", "'json', 'text' or 'bytes'", body)
        route = self.text(f"{where}.route", data.get("route"))
        if not route.startswith("/") and route != "*":
            raise self.fail(f"{where}.route", "a route template starting with '/'", route)
        return RouteData(
            method=self.text(f"{where}.method", data.get("method")),
            route=route,
            count=self.count(f"{where}.count", data.get("count", 0)),
            ttfb=self.seconds(f"{where}.ttfb", data.get("ttfb", [])),
            transfer=self.seconds(f"{where}.transfer", data.get("transfer", [])),
            response_bytes=self.sizes(f"{where}.response_bytes", data.get("response_bytes", [])),
            request_bytes=self.sizes(f"{where}.request_bytes", data.get("request_bytes", [])),
            statuses=statuses,
            body=body,
            faults=self.counts(f"{where}.faults", data.get("faults", {})),
            fault_waits=self.waits(f"{where}.fault_waits", data.get("fault_waits", {})),
        )

    def stream(self, where: str, value: Any) -> StreamData:
        data = self.obj(where, value)
        return StreamData(
            count=self.count(f"{where}.count", data.get("count", 0)),
            ttfb=self.seconds(f"{where}.ttfb", data.get("ttfb", [])),
            transfer=self.seconds(f"{where}.transfer", data.get("transfer", [])),
            response_bytes=self.sizes(f"{where}.response_bytes", data.get("response_bytes", [])),
            request_bytes=self.sizes(f"{where}.request_bytes", data.get("request_bytes", [])),
            faults=self.counts(f"{where}.faults", data.get("faults", {})),
            fault_waits=self.waits(f"{where}.fault_waits", data.get("fault_waits", {})),
            greeting_delay=self.seconds(f"{where}.greeting_delay", data.get("greeting_delay", [])),
            greeting_bytes=self.sizes(f"{where}.greeting_bytes", data.get("greeting_bytes", [])),
        )
