"""The seed notes' aiohttp programs as functions with parameters.

Each coroutine fetches URLs with a real ``aiohttp.ClientSession`` (its own, or
the one passed in) and returns a :class:`Fetches` record of what happened, so
the same code runs against the internet under ``asyncio.run`` and offline
against a modeled host under ``asyncsim.run(..., network=example_network())``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from asyncsim._validate import check_int, check_number
from asyncsim.models.distributions import Duration
from asyncsim.models.network import Network

__all__ = [
    "Fetches",
    "as_completed_fetches",
    "example_network",
    "fetch_status",
    "gather_fetches",
    "sequential_fetches",
    "wait_fetches",
    "wait_for_fetch",
]

DEFAULT_URL = "https://example.com"


@dataclass(frozen=True)
class Fetches:
    """The outcome of a workload.

    ``results`` holds each request's HTTP status or the exception it raised, in
    the order the workload reports them; ``durations`` each request's time in
    virtual seconds (None for one that never finished); ``elapsed`` the whole
    workload's time in virtual seconds.
    """

    results: tuple[int | BaseException, ...]
    durations: tuple[float | None, ...]
    elapsed: float

    @property
    def statuses(self) -> list[int]:
        """The HTTP statuses of the requests that succeeded."""
        return [r for r in self.results if isinstance(r, int)]

    @property
    def errors(self) -> list[BaseException]:
        """The exceptions of the requests that failed."""
        return [r for r in self.results if isinstance(r, BaseException)]


def example_network(
    response_time: Duration = 0.82,
    *,
    host: str = "example.com",
    latency: Duration = 0.0,
    status: int = 200,
) -> Network:
    """A network where ``host`` answers ``status`` after ``response_time`` (the latency model).

    ``response_time`` and the one-way ``latency`` are virtual seconds or
    distributions (e.g. ``asyncsim.models.distributions.LogNormal``).
    """
    network = Network(latency=latency)
    network.http_service(host, response_time=response_time, status=status)
    return network


async def fetch_status(session: Any, url: str) -> int:
    """GET ``url`` with ``session`` and return the response status (the notes' function)."""
    async with session.get(url) as res:
        return int(res.status)


def _check_timeout(name: str, value: Any) -> float | None:
    if value is None:
        return None
    return check_number(name, value, minimum=0, what="a number of seconds")


def _urls(url: str | Sequence[str], requests: int) -> list[str]:
    if isinstance(url, str):
        return [url] * check_int("requests", requests, minimum=1)
    urls = list(url)
    if not urls or not all(isinstance(u, str) for u in urls):
        raise ValueError(f"url must be a URL or a non-empty sequence of URLs, got {url!r}")
    return urls


class _Timed:
    """Runs fetches through one session, with an optional concurrency limit, timing each."""

    def __init__(self, session: Any, concurrency: int | None) -> None:
        self.session = session
        self.limit = asyncio.Semaphore(concurrency) if concurrency else None
        self.durations: dict[int, float] = {}

    async def fetch(self, index: int, url: str, delay: float = 0.0) -> int:
        if delay:
            await asyncio.sleep(delay)
        if self.limit is not None:
            async with self.limit:
                return await self._fetch(index, url)
        return await self._fetch(index, url)

    async def _fetch(self, index: int, url: str) -> int:
        start = time.perf_counter()
        status = await fetch_status(self.session, url)
        self.durations[index] = time.perf_counter() - start
        return status

    def durations_for(self, count: int) -> tuple[float | None, ...]:
        return tuple(self.durations.get(i) for i in range(count))


async def _with_session(
    session: Any, body: Callable[[Any], Awaitable[tuple[list[Any], _Timed | None]]]
) -> Any:
    if session is not None:
        return await body(session)
    try:
        import aiohttp
    except ImportError as exc:  # pragma: no cover - aiohttp is a test dependency
        raise ImportError(
            "models.workloads fetches with aiohttp: pip install 'asyncsim[http]'"
        ) from exc
    async with aiohttp.ClientSession() as own:
        return await body(own)


async def gather_fetches(
    url: str | Sequence[str] = DEFAULT_URL,
    *,
    requests: int = 10,
    concurrency: int | None = None,
    return_exceptions: bool = True,
    session: Any = None,
) -> Fetches:
    """``gather`` of ``requests`` fetches of ``url`` (or one per URL of a list).

    ``concurrency`` limits how many are in flight at once (None: all);
    ``concurrency=1`` is the sequential program. Results are in request order.
    """
    urls = _urls(url, requests)
    if concurrency is not None:
        check_int("concurrency", concurrency, minimum=1)
    start = time.perf_counter()

    async def body(s: Any) -> Fetches:
        timed = _Timed(s, concurrency)
        results = await asyncio.gather(
            *(timed.fetch(i, u) for i, u in enumerate(urls)), return_exceptions=return_exceptions
        )
        return Fetches(tuple(results), timed.durations_for(len(urls)), time.perf_counter() - start)

    return await _with_session(session, body)  # type: ignore[arg-type]


async def sequential_fetches(
    url: str | Sequence[str] = DEFAULT_URL, *, requests: int = 10, session: Any = None
) -> Fetches:
    """One fetch after another (``await`` in a loop): takes the sum of the response times."""
    return await gather_fetches(url, requests=requests, concurrency=1, session=session)


async def as_completed_fetches(
    url: str | Sequence[str] = DEFAULT_URL,
    *,
    requests: int = 10,
    timeout: float | None = None,
    delays: Sequence[float] | None = None,
    session: Any = None,
) -> Fetches:
    """``as_completed`` over the fetches; results in completion order.

    With ``timeout`` (virtual seconds) the requests not done by then come back
    as ``TimeoutError``. ``delays`` optionally holds each request back first.
    """
    urls = _urls(url, requests)
    limit = _check_timeout("timeout", timeout)
    waits = [0.0] * len(urls) if delays is None else [float(d) for d in delays]
    if len(waits) != len(urls):
        raise ValueError(f"delays must have one entry per request ({len(urls)}), got {delays!r}")
    start = time.perf_counter()

    async def body(s: Any) -> Fetches:
        timed = _Timed(s, None)
        results: list[int | BaseException] = []
        tasks = [timed.fetch(i, u, d) for i, (u, d) in enumerate(zip(urls, waits, strict=True))]
        for finished in asyncio.as_completed(tasks, timeout=limit):
            try:
                results.append(await finished)
            except Exception as exc:
                results.append(exc)
        return Fetches(tuple(results), timed.durations_for(len(urls)), time.perf_counter() - start)

    return await _with_session(session, body)  # type: ignore[arg-type]


async def wait_fetches(
    urls: Sequence[str],
    *,
    return_when: str = asyncio.ALL_COMPLETED,
    timeout: float | None = None,
    session: Any = None,
) -> tuple[Fetches, int]:
    """``asyncio.wait`` over one fetch per URL; returns (the done ones, how many pending).

    ``return_when`` is ``asyncio.ALL_COMPLETED``, ``FIRST_COMPLETED`` or
    ``FIRST_EXCEPTION``; pending requests are cancelled before returning.
    """
    if return_when not in (asyncio.ALL_COMPLETED, asyncio.FIRST_COMPLETED, asyncio.FIRST_EXCEPTION):
        raise ValueError(
            "return_when must be asyncio.ALL_COMPLETED, FIRST_COMPLETED or FIRST_EXCEPTION, "
            f"got {return_when!r}"
        )
    url_list = _urls(urls, 1)
    limit = _check_timeout("timeout", timeout)
    start = time.perf_counter()

    async def body(s: Any) -> tuple[Fetches, int]:
        timed = _Timed(s, None)
        tasks = [asyncio.create_task(timed.fetch(i, u)) for i, u in enumerate(url_list)]
        done, pending = await asyncio.wait(tasks, timeout=limit, return_when=return_when)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        results = tuple(t.exception() or t.result() for t in tasks if t in done)  # request order
        elapsed = time.perf_counter() - start
        return Fetches(results, timed.durations_for(len(url_list)), elapsed), len(pending)

    return await _with_session(session, body)  # type: ignore[arg-type]


async def wait_for_fetch(url: str = DEFAULT_URL, *, timeout: float, session: Any = None) -> Fetches:
    """``wait_for`` one fetch: its status, or ``TimeoutError`` if slower than ``timeout``."""
    limit = _check_timeout("timeout", timeout)
    start = time.perf_counter()

    async def body(s: Any) -> Fetches:
        timed = _Timed(s, None)
        result: int | BaseException
        try:
            result = await asyncio.wait_for(timed.fetch(0, url), timeout=limit)
        except TimeoutError as exc:
            result = exc
        return Fetches((result,), timed.durations_for(1), time.perf_counter() - start)

    return await _with_session(session, body)  # type: ignore[arg-type]
