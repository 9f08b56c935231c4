"""A canned HTTP/1.1 server: ``network.http_service(name, response_time=..., ...)``.

It answers every request with the same status and body after
``response_time`` (the server's time from receiving the whole request to
sending the response), keeps connections alive as HTTP/1.1 does, and records
each request it served. In a traced run each request is also an interval in
the lane ``"<host> HTTP requests"`` of the trace (:mod:`asyncsim.lanes`), from the request
received to the response sent, with its method, path and status.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

from asyncsim._validate import check_int
from asyncsim.clock import to_seconds, to_ticks
from asyncsim.instruments.lanes import recorder as lane_recorder
from asyncsim.models.distributions import Duration, check_duration

from ._values import draw, scaled

if TYPE_CHECKING:
    from ._network import Network

__all__ = ["HttpRequest", "HttpService"]

_MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class HttpRequest:
    """A request an :class:`HttpService` received, at virtual time ``time`` (seconds)."""

    time: float
    method: str
    target: str
    version: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class HttpService:
    """Answers HTTP/1.1 on a virtual host without writing a server (see ``http_service``)."""

    def __init__(
        self,
        network: Network,
        host: str,
        *,
        response_time: Duration,
        status: int,
        body: bytes | str,
        headers: dict[str, str] | None,
    ) -> None:
        self.network = network
        self.host = host
        self.response_time = check_duration("response_time", response_time)
        self.status = check_int("status", status, minimum=100, maximum=599)
        if isinstance(body, str):
            body = body.encode()
        if not isinstance(body, (bytes, bytearray)):
            raise TypeError(f"body must be bytes or str, got {type(body).__name__} {body!r}")
        self.body = bytes(body)
        if headers is not None and not (
            isinstance(headers, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
        ):
            raise TypeError(f"headers must be a dict of str to str, got {headers!r}")
        self.headers = dict(headers or {})
        #: Every request served, in arrival order.
        self.requests: list[HttpRequest] = []

    def protocol(self) -> asyncio.Protocol:
        """A protocol for one accepted connection (the listener's factory)."""
        return _HttpServerProtocol(self)

    def _response(self, request: HttpRequest, close: bool) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        no_body = request.method == "HEAD" or self.status in (204, 304) or self.status < 200
        lines = [f"HTTP/1.1 {self.status} {reason}", "Server: asyncsim-http-service"]
        names = {k.lower() for k in self.headers}
        if "content-type" not in names:
            lines.append("Content-Type: text/html; charset=utf-8")
        if self.status not in (204, 304) and self.status >= 200:
            lines.append(f"Content-Length: {len(self.body)}")
        lines.extend(f"{k}: {v}" for k, v in self.headers.items())
        lines.append(f"Connection: {'close' if close else 'keep-alive'}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head if no_body else head + self.body

    def __repr__(self) -> str:
        return (
            f"<HttpService {self.host} status={self.status} response_time={self.response_time!r} "
            f"served={len(self.requests)}>"
        )


class _BadRequest(Exception):
    pass


class _HttpServerProtocol(asyncio.Protocol):
    def __init__(self, service: HttpService) -> None:
        self.service = service
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.busy_until = 0  # ticks: responses go out in request order
        self.closing = False
        self.lanes = lane_recorder()  # None when the run is not traced

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while not self.closing:
            try:
                parsed = self._parse()
            except _BadRequest as exc:
                self._fail(str(exc))
                return
            if parsed is None:
                return
            self._answer(*parsed)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        self.transport = None

    def _parse(self) -> tuple[HttpRequest, bool] | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buffer) > _MAX_HEAD:
                raise _BadRequest("request head too long")
            return None
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        parts = head[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _BadRequest(f"bad request line {head[0]!r}")
        method, target, version = parts
        headers = []
        for line in head[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequest(f"bad header line {line!r}")
            headers.append((name.strip(), value.strip()))
        fields = {k.lower(): v for k, v in headers}
        rest = self.buffer[end + 4 :]
        if "chunked" in fields.get("transfer-encoding", "").lower():
            decoded = _dechunk(rest)
            if decoded is None:
                return None
            body, rest = decoded
        else:
            try:
                length = int(fields.get("content-length", "0"))
            except ValueError:
                raise _BadRequest("bad Content-Length") from None
            if len(rest) < length:
                return None
            body, rest = rest[:length], rest[length:]
        self.buffer = rest
        connection = fields.get("connection", "").lower()
        close = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
        loop = asyncio.get_running_loop()
        request = HttpRequest(loop.time(), method, target, version, tuple(headers), body)
        self.service.requests.append(request)
        return request, close

    def _answer(self, request: HttpRequest, close: bool) -> None:
        loop = asyncio.get_running_loop()
        service = self.service
        start = max(to_ticks(loop.time()), self.busy_until)
        response_time = draw(
            "response_time",
            service.response_time,
            service.network.stream(f"models.network.http:{service.host}"),
        )
        host = service.host
        self.busy_until = start + scaled(f"http:{host}", f"HTTP service {host}", response_time)
        response = service._response(request, close)
        if close:
            self.closing = True
        lane: tuple[int, str] | None = None
        if self.lanes is not None:
            label = f"{request.method} {request.target}"
            peer = self.transport.get_extra_info("peername") if self.transport else None
            ref = self.lanes.begin(
                self.lanes.declare(f"{service.host} HTTP requests", kind="http"),
                label,
                method=request.method,
                path=request.target,
                version=request.version,
                request_bytes=len(request.body),
                client=f"{peer[0]}:{peer[1]}" if peer else None,
            )
            lane = (ref, label)
        loop.call_at(to_seconds(self.busy_until), self._send, response, close, lane)

    def _send(self, response: bytes, close: bool, lane: tuple[int, str] | None = None) -> None:
        gone = self.transport is None or self.transport.is_closing()
        if lane is not None and self.lanes is not None:
            ref, label = lane
            if gone:
                self.lanes.end(
                    ref,
                    label=f"{label}: client gone",
                    outcome="connection closed before the response",
                )
            else:  # the label gets the status: "GET / 200"
                self.lanes.end(
                    ref,
                    label=f"{label} {self.service.status}",
                    status=self.service.status,
                    response_bytes=len(response),
                    outcome="responded",
                )
        if gone:
            return
        assert self.transport is not None
        self.transport.write(response)
        if close:
            self.transport.close()

    def _fail(self, reason: str) -> None:
        self.closing = True
        if self.transport is not None:
            body = reason.encode()
            self.transport.write(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                % (len(body), body)
            )
            self.transport.close()


def _dechunk(data: bytes) -> tuple[bytes, bytes] | None:
    """Decode a chunked body at the start of ``data``: (body, rest), or None if incomplete."""
    body = b""
    pos = 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None
        try:
            size = int(data[pos:eol].split(b";")[0], 16)
        except ValueError:
            raise _BadRequest("bad chunk size") from None
        pos = eol + 2
        if size == 0:
            end = data.find(b"\r\n\r\n", pos - 2)
            if end < 0:
                return None
            return body, data[end + 4 :]
        if len(data) < pos + size + 2:
            return None
        body += data[pos : pos + size]
        pos += size + 2
