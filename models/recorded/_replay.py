"""What answers a replayed program: recorded endpoints and routes, and their servers.

Each :class:`RecordedEndpoint` is a host and port of the recorded run, with its
connect, TLS and DNS times and either HTTP routes (:class:`RecordedRoute`, one per
method and route template) or one stream model. Every quantity is an editable
attribute holding a duration (a number of seconds or a distribution, by default an
:class:`~asyncsim.models.distributions.Empirical` of the recorded samples), so a
what-if is an assignment::

    route = model.network.endpoint("127.0.0.1", 8080).route("GET", "/items/{id}")
    route.ttfb = Constant(0.05)            # a faster server for this route
    model.network.scale("127.0.0.1", 2.0)  # everything of that host twice as slow

An answer draws five numbers from its endpoint's random stream (fault, status, time
to first byte, transfer time, size), whatever their values (a sixth, the fault's
wait, when a fault comes out), so changing one quantity keeps the other draws
aligned (common random numbers).
"""

from __future__ import annotations

import asyncio
import bisect
import random
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from asyncsim._validate import check_number
from asyncsim.clock import to_seconds, to_ticks
from asyncsim.instruments.lanes import recorder as lane_recorder
from asyncsim.models.distributions import Duration, Empirical, sample_duration
from asyncsim.models.network._http import HttpRequest, _HttpServerProtocol

from ._routes import route_template
from ._schema import RouteData, StreamData

__all__ = ["Answer", "RecordedEndpoint", "RecordedRoute"]

_PLACEHOLDER = re.compile(r"\{[^/{}]*\}")
_CONTENT_TYPES = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "bytes": "application/octet-stream",
}


def _samples(values: list[float]) -> Duration | None:
    return Empirical(values) if values else None


def _weights(counts: dict[Any, int]) -> dict[Any, float]:
    return {k: float(v) for k, v in counts.items() if v > 0}


@dataclass(frozen=True)
class Answer:
    """One drawn answer: a fault (None: answered), status, times (seconds) and size (bytes)."""

    fault: str | None
    wait: float
    status: int
    ttfb: float
    transfer: float
    size: int


def _pick(weights: dict[Any, float], u: float, default: Any, *, total: float | None = None) -> Any:
    """The key whose share of ``total`` (default: the sum of the weights) holds ``u``.

    With a ``total`` larger than the weights' sum, the rest of it picks ``default``.
    """
    keys = sorted(weights)
    cumulative = []
    running = 0.0
    for key in keys:
        running += weights[key]
        cumulative.append(running)
    scale = running if total is None else total
    if not keys or scale <= 0:
        return default
    index = bisect.bisect_right(cumulative, u * scale)
    if index < len(keys):
        return keys[index]
    return default if total is not None else keys[-1]


def _one(name: str, value: Duration | None, rng: random.Random) -> float:
    """One draw of ``value`` in seconds (one ``rng.random()`` and 0 when there is none)."""
    if value is None:
        rng.random()
        return 0.0
    return sample_duration(name, value, rng)


@dataclass
class RecordedRoute:
    """How one request kind (``method`` ``route``) of an endpoint was answered.

    Attributes hold durations in seconds (numbers or distributions) and are meant to
    be edited: ``ttfb`` (request sent to first response byte), ``transfer`` (first to
    last byte; ignored when the endpoint has a ``rate``), ``response_bytes`` (body
    size), ``statuses`` (status -> weight), ``faults`` (fault -> probability per
    request: ``reset``, ``closed``, ``no answer``), ``fault_waits`` (seconds before a
    fault shows), ``body`` (``json``/``text``/``bytes`` filler, or the bytes to send).
    """

    method: str
    route: str
    count: int = 0
    ttfb: Duration | None = None
    transfer: Duration | None = None
    response_bytes: Duration | None = None
    statuses: dict[int, float] = field(default_factory=dict)
    faults: dict[str, float] = field(default_factory=dict)
    fault_waits: dict[str, Duration] = field(default_factory=dict)
    body: str | bytes = "bytes"

    @classmethod
    def from_data(cls, data: RouteData | StreamData, method: str = "", route: str = "") -> Any:
        """The route a model file's ``data`` describes."""
        faults = {k: v / data.count for k, v in data.faults.items() if v and data.count}
        return cls(
            method=getattr(data, "method", method),
            route=getattr(data, "route", route),
            count=data.count,
            ttfb=_samples(data.ttfb),
            transfer=_samples(data.transfer),
            response_bytes=_samples([float(b) for b in data.response_bytes]),
            statuses=_weights(getattr(data, "statuses", {})),
            faults=faults,
            fault_waits={k: Empirical(v) for k, v in data.fault_waits.items() if v},
            body=getattr(data, "body", "bytes"),
        )

    @property
    def name(self) -> str:
        """``METHOD /route``."""
        return f"{self.method} {self.route}".strip()

    def draw(self, rng: random.Random, *, scale: float = 1.0, rate: float | None = None) -> Answer:
        """Draw one answer (five draws from ``rng``); times are multiplied by ``scale``."""
        u_fault, u_status = rng.random(), rng.random()
        ttfb = _one("ttfb", self.ttfb, rng)
        transfer = _one("transfer", self.transfer, rng)
        size = round(_one("response_bytes", self.response_bytes, rng))
        if rate is not None:
            transfer = size / rate
        fault = _pick(self.faults, u_fault, None, total=1.0)
        wait = _one("fault_waits", self.fault_waits.get(fault), rng) if fault else 0.0
        status = _pick(self.statuses, u_status, 200)
        return Answer(fault, wait * scale, int(status), ttfb * scale, transfer * scale, size)


@dataclass
class RecordedEndpoint:
    """A recorded host and port: connect, TLS and DNS times, and its routes or stream model.

    ``scale`` multiplies every time of the endpoint (a what-if: 2.0 is twice as slow);
    ``rate`` (bytes per second), when set, replaces the recorded transfer times by
    ``size / rate``. ``connect_faults`` maps ``refused``, ``timeout``, ``reset`` ... to
    the probability that a connection attempt fails so.
    """

    host: str
    port: int
    protocol: str = "http"
    tls: bool = False
    connect: Duration | None = None
    tls_handshake: Duration | None = None
    dns: Duration | None = None
    connect_faults: dict[str, float] = field(default_factory=dict)
    connect_fault_waits: dict[str, Duration] = field(default_factory=dict)
    routes: dict[tuple[str, str], RecordedRoute] = field(default_factory=dict)
    stream: RecordedRoute | None = None
    #: What answers a request kind the recording never saw (the routes pooled).
    fallback: RecordedRoute | None = None
    greeting_delay: Duration | None = None
    greeting_bytes: Duration | None = None
    greeting_chance: float = 0.0
    scale: float = 1.0
    rate: float | None = None
    #: Request kinds answered by the fallback because the recording never saw them.
    unseen: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``host:port`` as the program named it."""
        return f"{self.host}:{self.port}"

    def route(self, method: str, route: str) -> RecordedRoute:
        """The recorded route ``method route`` (``KeyError`` naming the known ones)."""
        found = self.routes.get((method.upper(), route))
        if found is None:
            known = ", ".join(r.name for r in self.routes.values()) or "none"
            raise KeyError(f"{self.name} has no recorded route {method} {route} (routes: {known})")
        return found

    def set_scale(self, factor: float) -> None:
        """Multiply every time of this endpoint by ``factor`` (from the recorded ones)."""
        self.scale = check_number("scale", factor, minimum=0, what="a factor")

    def match(self, method: str, target: str) -> RecordedRoute | None:
        """The route that answers ``method target`` (a literal template wins), or the fallback."""
        path = target.split("?", 1)[0].split("#", 1)[0]
        built_in = route_template(target)
        best: tuple[int, RecordedRoute] | None = None
        for (route_method, template), route in self.routes.items():
            if route_method != method:
                continue
            if template in (built_in, path):
                return route
            holes = len(_PLACEHOLDER.findall(template))
            pattern = "/".join(
                "[^/]+" if _PLACEHOLDER.fullmatch(s) else re.escape(s) for s in template.split("/")
            )
            if holes and re.fullmatch(pattern, path) and (best is None or holes < best[0]):
                best = (holes, route)
        if best is not None:
            return best[1]
        kind = f"{method} {built_in}"
        self.unseen[kind] = self.unseen.get(kind, 0) + 1
        return self.fallback

    def draw_connect(self, rng: random.Random) -> tuple[str | None, float]:
        """A connection attempt: (fault or None, seconds it takes); two draws."""
        fault = _pick(self.connect_faults, rng.random(), None, total=1.0)
        if fault is not None:
            wait = _one("connect_fault_waits", self.connect_fault_waits.get(fault), rng)
            return fault, wait * self.scale
        return None, _one("connect", self.connect, rng) * self.scale

    def draw(self, name: str, value: Duration | None, rng: random.Random) -> float:
        """One draw of ``value`` in seconds, times ``scale`` (0 when the recording has none)."""
        return _one(name, value, rng) * self.scale


# -- the servers a replay talks to ------------------------------------------------------------


class _Service:
    """What the HTTP protocol of :mod:`asyncsim.models.network._http` needs of its service."""

    def __init__(self, endpoint: RecordedEndpoint, network: Any, host: str) -> None:
        self.endpoint = endpoint
        self.network = network
        self.host = host
        self.requests: list[HttpRequest] = []
        self.rng_name = f"models.recorded:{endpoint.name}"

    def rng(self) -> random.Random:
        rng: random.Random = self.network.stream(self.rng_name)
        return rng


def _filler(body: str | bytes, size: int) -> bytes:
    if isinstance(body, bytes):
        return body
    if body == "json":
        return b"{}" + b" " * (size - 2) if size >= 2 else b" " * size
    if body == "text":
        return b" " * size
    return b"\0" * size


class ReplayHttpProtocol(_HttpServerProtocol):
    """Answers each request with a drawn :class:`Answer` of its recorded route."""

    service: Any

    def _answer(self, request: HttpRequest, close: bool) -> None:
        loop = asyncio.get_running_loop()
        service: _Service = self.service
        endpoint = service.endpoint
        route = endpoint.match(request.method, request.target)
        if route is None:  # no HTTP route at all: answer 404 at once
            route = RecordedRoute(method=request.method, route="", statuses={404: 1.0})
        answer = route.draw(service.rng(), scale=endpoint.scale, rate=endpoint.rate)
        start = max(to_ticks(loop.time()), self.busy_until)
        head_at = start + to_ticks(answer.ttfb)
        end_at = head_at + to_ticks(answer.transfer)
        if close:
            self.closing = True
        label = f"{request.method} {route.route or request.target}"
        lane = None
        if self.lanes is not None:
            lane = self.lanes.begin(
                self.lanes.declare(f"{endpoint.name} server (replayed)", kind="http"),
                label,
                method=request.method,
                route=route.route,
            )
        if answer.fault is not None:
            self.busy_until = start + to_ticks(answer.wait)
            if answer.fault in ("reset", "closed"):
                loop.call_at(to_seconds(self.busy_until), self._fault, answer.fault, lane, label)
            else:  # the client gave up waiting: never answer
                self.busy_until = 2**62
                if lane is not None and self.lanes is not None:
                    self.lanes.update(lane, fault=answer.fault)
            return
        self.busy_until = end_at
        head, body = self._response(request, answer, route, close)
        if body and end_at > head_at:
            loop.call_at(to_seconds(head_at), self._write, head, False, None, "")
            loop.call_at(to_seconds(end_at), self._write, body, close, lane, label, answer)
        else:
            loop.call_at(to_seconds(head_at), self._write, head + body, close, lane, label, answer)

    def _response(
        self, request: HttpRequest, answer: Answer, route: RecordedRoute, close: bool
    ) -> tuple[bytes, bytes]:
        status = answer.status
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        no_body = request.method == "HEAD" or status in (204, 304) or status < 200
        body = b"" if no_body else _filler(route.body, answer.size)
        kind = route.body if isinstance(route.body, str) else "bytes"
        lines = [f"HTTP/1.1 {status} {reason}", "Server: asyncsim-replay"]
        if not no_body:
            lines.append(f"Content-Type: {_CONTENT_TYPES.get(kind, _CONTENT_TYPES['bytes'])}")
            lines.append(f"Content-Length: {len(body)}")
        lines.append(f"Connection: {'close' if close else 'keep-alive'}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), body

    def _write(
        self, data: bytes, close: bool, lane: Any, label: str, answer: Answer | None = None
    ) -> None:
        gone = self.transport is None or self.transport.is_closing()
        if lane is not None and self.lanes is not None:
            if gone:
                self.lanes.end(lane, label=f"{label}: client gone")
            else:
                status = answer.status if answer is not None else None
                self.lanes.end(lane, label=f"{label} {status}", status=status)
        if gone:
            return
        assert self.transport is not None
        self.transport.write(data)
        if close:
            self.transport.close()

    def _fault(self, fault: str, lane: Any, label: str) -> None:
        if lane is not None and self.lanes is not None:
            self.lanes.end(lane, label=f"{label}: {fault}", fault=fault)
        if self.transport is None or self.transport.is_closing():
            return
        if fault == "reset":
            self.transport.abort()
        else:
            self.transport.close()


class ReplayStreamProtocol(asyncio.Protocol):
    """Answers each burst of the client's writes with a drawn answer of the stream model."""

    def __init__(self, service: _Service) -> None:
        self.service = service
        self.transport: asyncio.Transport | None = None
        self.pending = False
        self.busy_until = 0
        self.lanes = lane_recorder()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        endpoint = self.service.endpoint
        rng = self.service.rng()
        u = rng.random()
        delay = endpoint.draw("greeting_delay", endpoint.greeting_delay, rng)
        size = _one("greeting_bytes", endpoint.greeting_bytes, rng)
        if endpoint.greeting_delay is not None and u < endpoint.greeting_chance:
            loop = asyncio.get_running_loop()
            loop.call_later(delay, self._write, b"\0" * round(size))

    def data_received(self, data: bytes) -> None:
        if self.pending or self.transport is None:
            return  # part of the request being answered
        route = self.service.endpoint.stream
        if route is None:
            return
        loop = asyncio.get_running_loop()
        endpoint = self.service.endpoint
        answer = route.draw(self.service.rng(), scale=endpoint.scale, rate=endpoint.rate)
        start = max(to_ticks(loop.time()), self.busy_until)
        self.pending = True
        if answer.fault is not None:
            if answer.fault in ("reset", "closed"):
                when = start + to_ticks(answer.wait)
                loop.call_at(to_seconds(when), self._fault, answer.fault)
            return  # otherwise never answer: the client gives up
        head_at = start + to_ticks(answer.ttfb)
        self.busy_until = head_at + to_ticks(answer.transfer)
        payload = b"\0" * answer.size
        if answer.transfer > 0 and answer.size > 1:
            loop.call_at(to_seconds(head_at), self._write, payload[:1])
            loop.call_at(to_seconds(self.busy_until), self._write, payload[1:], True)
        else:
            loop.call_at(to_seconds(head_at), self._write, payload, True)

    def _write(self, data: bytes, done: bool = False) -> None:
        if done:
            self.pending = False
        if self.transport is not None and not self.transport.is_closing() and data:
            self.transport.write(data)

    def _fault(self, fault: str) -> None:
        self.pending = False
        if self.transport is None or self.transport.is_closing():
            return
        if fault == "reset":
            self.transport.abort()
        else:
            self.transport.close()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: BaseException | None) -> None:
        self.transport = None
