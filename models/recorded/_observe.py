"""What a recording observes: connections, the exchanges on them, requests, steps, jobs.

The probe (:mod:`._probe`) fills these records while a program runs (on a real loop
when recording, on the virtual loop when a replay is measured); :mod:`._calibrate`
turns them into a model file. Times are seconds on the run's clock (real seconds
since the recording started, or virtual seconds); nothing of the payloads is kept:
a request line gives its method and route template, a response head its status, its
length and its media type reduced to ``json``, ``text`` or ``bytes``.

An *exchange* is one request and its response on a connection: the program writes
(one or more writes), then the peer answers (one or more reads). HTTP/1.x traffic is
recognised by its request line and split at each request; any other stream is split
at each write that follows an answer.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

from ._routes import RouteTemplates

__all__ = [
    "ClientRequest",
    "Connection",
    "Exchange",
    "Observations",
    "body_kind",
    "error_kind",
]

_REQUEST_LINE = re.compile(rb"([A-Z][A-Z-]{1,15}) (\S+) HTTP/1\.[01]\r\n")
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3})")
_MAX_HEAD = 64 * 1024


def body_kind(media_type: str) -> str:
    """``json``, ``text`` or ``bytes``: what a replayed body must look like to parse."""
    media = media_type.split(";", 1)[0].strip().lower()
    if media.endswith("json") or media.endswith("+json"):
        return "json"
    if media.startswith("text/") or media.endswith("xml") or media.endswith("javascript"):
        return "text"
    return "bytes"


def error_kind(exc: BaseException | None) -> str | None:
    """The fault an exception stands for: ``refused``, ``reset``, ``timeout`` ..."""
    if exc is None:
        return None
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return "reset"
    if isinstance(exc, (TimeoutError, asyncio.CancelledError)):
        return "timeout"  # a client's own timeout cancels the call it wraps
    if isinstance(exc, ssl.SSLError):
        return "tls"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "unreachable"
    if isinstance(exc, socket.gaierror):
        return "dns"
    return type(exc).__name__


@dataclass
class Exchange:
    """One request and its response on a connection (seconds on the run's clock)."""

    start: float  #: the first request byte written
    sent: float  #: the last request byte written before the answer began
    request_bytes: int = 0
    first_byte: float | None = None  #: the first answer byte read
    last_byte: float | None = None  #: the last answer byte read (so far)
    complete: float | None = None  #: when an HTTP response was whole (None: unknown)
    response_bytes: int = 0  #: answer bytes on the wire (an HTTP head included)
    head_bytes: int = 0  #: length of the HTTP response head
    method: str | None = None
    route: str | None = None
    status: int | None = None
    body: str = "bytes"
    error: str | None = None  #: no answer: ``reset``, ``closed`` (by the peer), ``no answer``
    ended: float | None = None  #: when an exchange without an answer ended
    _head: bytes = b""
    _rhead: bytes = b""
    _expect: int | None = None  # response length when known
    _tail: bytes = b""
    lane: Any = None

    @property
    def ttfb(self) -> float | None:
        """Seconds from the request sent to the first answer byte (None: no answer)."""
        return None if self.first_byte is None else self.first_byte - self.sent

    @property
    def transfer(self) -> float:
        """Seconds from the first to the last answer byte."""
        if self.first_byte is None:
            return 0.0
        end = self.complete if self.complete is not None else self.last_byte
        return max(0.0, (end or self.first_byte) - self.first_byte)

    @property
    def latency(self) -> float | None:
        """Seconds from the first request byte to the whole answer (None: no answer)."""
        if self.first_byte is None:
            return None
        end = self.complete if self.complete is not None else self.last_byte
        return (end or self.first_byte) - self.start

    @property
    def body_bytes(self) -> int:
        """Answer bytes after the HTTP head (all of them for other streams)."""
        return max(0, self.response_bytes - self.head_bytes)


@dataclass
class Connection:
    """One connection the program opened, and what travelled on it."""

    id: int
    host: str  #: the name the program used (a URL's host, or an address)
    port: int
    tls: bool
    start: float
    connected: float | None = None  #: TCP connected
    ready: float | None = None  #: usable (after TLS when there is TLS)
    error: str | None = None  #: why connecting failed (``refused``, ``timeout`` ...)
    protocol: str = ""  #: ``http`` or ``stream`` once the program wrote
    exchanges: list[Exchange] = field(default_factory=list)
    greeting: Exchange | None = None  #: what the peer sent before the program wrote
    closed: float | None = None
    close_error: str | None = None
    routes: RouteTemplates | None = field(default=None, repr=False)
    lanes: Any = field(default=None, repr=False)
    lane_name: str = ""

    @property
    def endpoint(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    # -- what the probe reports -------------------------------------------------------

    def sent(self, data: bytes, t: float) -> None:
        """The program wrote ``data`` at ``t``."""
        if not data:
            return
        current = self.exchanges[-1] if self.exchanges else None
        if not self.protocol:
            self.protocol = "http" if _looks_like_http(data) else "stream"
        new = current is None or current.first_byte is not None or current.error is not None
        if self.protocol == "http" and current is not None and not new:
            # a second request before any answer (pipelining): a new exchange too
            new = current.method is not None and bool(_REQUEST_LINE.match(bytes(data[:4096])))
        if new:
            if current is not None:
                self._end_lane(current)
            current = Exchange(start=t, sent=t)
            self.exchanges.append(current)
        assert current is not None
        current.sent = t
        current.request_bytes += len(data)
        if self.protocol == "http" and current.method is None and len(current._head) < 8192:
            current._head += bytes(data[: 8192 - len(current._head)])
            match = _REQUEST_LINE.match(current._head)
            if match:
                current.method = match.group(1).decode("ascii")
                target = match.group(2).decode("latin-1")
                routes = self.routes or RouteTemplates()
                current.route = routes.template(target)
                current._head = b""
                self._begin_lane(current)

    def received(self, data: bytes, t: float) -> None:
        """The peer's ``data`` arrived at ``t``."""
        if not data:
            return
        current = self.exchanges[-1] if self.exchanges else None
        if current is None or current.error is not None:
            if self.greeting is None:
                self.greeting = Exchange(start=self.ready or self.start, sent=self.ready or t)
            current = self.greeting
        if current.first_byte is None:
            current.first_byte = t
        current.last_byte = t
        current.response_bytes += len(data)
        if self.protocol == "http" and current is not self.greeting:
            self._parse_response(current, bytes(data), t)

    def closed_at(self, t: float, exc: BaseException | None, *, by_peer: bool = False) -> None:
        """The connection ended at ``t`` (``exc``: why; ``by_peer``: the peer closed it)."""
        if self.closed is not None:
            return
        self.closed = t
        self.close_error = error_kind(exc)
        for exchange in self.exchanges:
            if exchange.first_byte is None and exchange.error is None:
                exchange.error = self.close_error or ("closed" if by_peer else "no answer")
                exchange.ended = t
            self._end_lane(exchange)

    # -- HTTP responses ---------------------------------------------------------------

    def _parse_response(self, exchange: Exchange, data: bytes, t: float) -> None:
        if exchange.status is None and len(exchange._rhead) < _MAX_HEAD:
            exchange._rhead += data
            end = exchange._rhead.find(b"\r\n\r\n")
            if end < 0:
                return
            head = exchange._rhead[:end].decode("latin-1").split("\r\n")
            exchange._rhead = b""
            match = _STATUS_LINE.match(head[0].encode("latin-1"))
            exchange.status = int(match.group(1)) if match else 0
            exchange.head_bytes = end + 4
            length: int | None = None
            chunked = False
            for line in head[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length" and value.strip().isdigit():
                    length = int(value.strip())
                elif name == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
                elif name == "content-type":
                    exchange.body = body_kind(value)
            no_body = (
                exchange.method == "HEAD"
                or exchange.status in (204, 304)
                or 100 <= exchange.status < 200
            )
            if no_body:
                exchange._expect = exchange.head_bytes
            elif length is not None and not chunked:
                exchange._expect = exchange.head_bytes + length
            elif chunked:
                exchange._expect = -1
        if exchange._expect is None or exchange.complete is not None:
            return
        if exchange._expect >= 0:
            if exchange.response_bytes >= exchange._expect:
                self._complete(exchange, t)
        else:
            exchange._tail = (exchange._tail + data)[-5:]
            if exchange._tail == b"0\r\n\r\n":
                self._complete(exchange, t)

    def _complete(self, exchange: Exchange, t: float) -> None:
        exchange.complete = t
        self._end_lane(exchange)

    # -- lanes (a traced run shows each HTTP exchange) -------------------------------------

    def _begin_lane(self, exchange: Exchange) -> None:
        if self.lanes is None:
            return
        try:
            lane = self.lanes.declare(self.lane_name or f"{self.endpoint} requests", kind="http")
            exchange.lane = self.lanes.begin(
                lane, f"{exchange.method} {exchange.route}", connection=self.id
            )
        except Exception:  # a lane is a picture: never fail the program for it
            self.lanes = None

    def _end_lane(self, exchange: Exchange) -> None:
        if exchange.lane is None or self.lanes is None:
            return
        ref, exchange.lane = exchange.lane, None
        status = exchange.status
        label = f"{exchange.method} {exchange.route} {status if status else exchange.error or ''}"
        try:
            self.lanes.end(ref, label=label.rstrip(), status=status, error=exchange.error)
        except Exception:
            self.lanes = None


def _looks_like_http(data: bytes) -> bool:
    first = bytes(data[:16])
    method = first.split(b" ", 1)[0]
    return (
        len(first.split(b" ", 1)) == 2
        and 3 <= len(method) <= 15
        and method.replace(b"-", b"").isalpha()
        and method.isupper()
    )


@dataclass(frozen=True)
class ClientRequest:
    """A request as an HTTP client library saw it (aiohttp's ``TraceConfig``)."""

    method: str
    host: str
    port: int
    route: str
    start: float  #: the program asked for it
    end: float  #: the response head arrived, or the request failed
    status: int | None
    error: str | None

    @property
    def latency(self) -> float:
        """Seconds the program waited for the response head (or the failure)."""
        return self.end - self.start


@dataclass
class Observations:
    """Everything one run showed: the input of :func:`asyncsim.models.recorded.calibrate`."""

    connections: list[Connection] = field(default_factory=list)
    requests: list[ClientRequest] = field(default_factory=list)
    #: host name -> seconds each lookup took
    dns: dict[str, list[float]] = field(default_factory=dict)
    dns_errors: dict[str, int] = field(default_factory=dict)
    #: coroutine qualname -> CPU seconds of each of its task steps
    steps: dict[str, list[float]] = field(default_factory=dict)
    #: coroutine qualname -> real seconds of each of its task steps
    step_wall: dict[str, list[float]] = field(default_factory=dict)
    #: function qualname -> real seconds each thread job took
    jobs: dict[str, list[float]] = field(default_factory=dict)
    #: what the run did that a model does not replay: description -> count
    not_recorded: dict[str, int] = field(default_factory=dict)
    #: endpoints served by the program itself (its own servers): not modeled
    own_endpoints: set[str] = field(default_factory=set)
    #: the run's makespan in seconds (loops running), and the program's exit code
    makespan: float = 0.0
    exit_code: int | None = None

    def exchanges(self) -> list[tuple[Connection, Exchange]]:
        """Every exchange of every connection, in order of their start."""
        found = [(c, e) for c in self.connections for e in c.exchanges]
        found.sort(key=lambda pair: (pair[1].start, pair[0].id))
        return found

    def note(self, what: str) -> None:
        """Count one more occurrence of something not recorded."""
        self.not_recorded[what] = self.not_recorded.get(what, 0) + 1
