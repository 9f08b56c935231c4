"""A token-bucket rate limiter (GCRA on the virtual clock's integer ticks)."""

from __future__ import annotations

import simpy

from asyncsim._validate import check_int, check_number, refuse
from asyncsim.clock import to_seconds, to_ticks
from asyncsim.core import durations

from ..bridge import Environment
from ._base import _Service

__all__ = ["RateLimiter"]


class RateLimiter(_Service):
    """A token bucket: on average ``rate`` acquisitions per second, bursts up to ``burst``.

    The bucket starts full. Waiters are served FIFO; one that needs more tokens
    than are available holds the line until they accumulate. ``busy`` in the
    statistics is 1 while someone is throttled.

    Parameters
    ----------
    rate : float
        Tokens added per virtual second (> 0).
    burst : int
        Bucket size: acquisitions allowed back to back (>= 1).
    name : str
        Names the statistics.

    Examples
    --------
    >>> import asyncio, asyncsim
    >>> from asyncsim.models.services import RateLimiter
    >>> async def main():
    ...     limiter = RateLimiter(rate=2, burst=1)
    ...     times = []
    ...     for _ in range(3):
    ...         await limiter.acquire()
    ...         times.append(asyncio.get_running_loop().time())
    ...     return times
    >>> asyncsim.run(main())
    [0.0, 0.5, 1.0]
    """

    kind = "limiter"

    def __init__(self, rate: float, burst: int = 1, *, name: str = "limiter") -> None:
        if check_number("rate", rate, what="a number of tokens per second") <= 0:
            refuse("rate", "a finite number of tokens per second > 0", rate, error=ValueError)
        burst = check_int("burst", burst, minimum=1)
        super().__init__(name, 1)
        self.rate = float(rate)
        self.burst = burst
        self._interval = to_ticks(1.0 / self.rate)  # ticks per token
        if self._interval < 1:
            raise ValueError(f"rate must be at most 1e9 tokens per second, got {rate!r}")
        self._tat = 0  # GCRA "theoretical arrival time" in ticks
        self._gate: simpy.Resource | None = None
        self._throttled = 0

    def __repr__(self) -> str:
        return f"RateLimiter(rate={self.rate!r}, burst={self.burst}, name={self.name!r})"

    def _make_resource(self, env: Environment) -> None:
        self._gate = simpy.Resource(env, capacity=1)
        self._tat = env.loop.clock.now

    def _state(self) -> tuple[int, int]:
        assert self._gate is not None
        return len(self._gate.queue) + self._gate.count, self._throttled

    async def acquire(self, tokens: int = 1) -> float:
        """Wait until ``tokens`` tokens are available and take them.

        Returns the virtual seconds waited.
        """
        tokens = check_int("tokens", tokens, minimum=1)
        if tokens > self.burst:
            raise ValueError(
                f"tokens={tokens} can never be granted by a bucket of burst={self.burst}; "
                "raise burst or acquire in smaller pieces"
            )
        env = self._bind()
        gate = self._gate
        assert gate is not None
        self.stats.arrivals += 1
        clock = env.loop.clock
        arrived = clock.now
        interval = self._interval
        plan = durations.current()
        if plan is not None:  # a what-if profile run may scale this limiter's interval
            name = self.name
            interval = max(1, plan.ticks(f"service:{name}", f"RateLimiter({name!r})", interval))
        ref = self._visit("acquire")
        request = gate.request()
        self._sample()
        try:
            await env.wait(request)
            while True:
                start = max(clock.now, self._tat)
                allowed_at = start + (tokens - self.burst) * interval
                if clock.now >= allowed_at:
                    self._tat = start + tokens * interval
                    break
                self._throttled = 1
                self._sample()
                await env.timeout(to_seconds(allowed_at - clock.now))
            self._throttled = 0
        except BaseException:
            self._throttled = 0
            self._give_up(request, lambda: gate.release(request), ref, arrived)
            raise
        gate.release(request)
        waited = self._got_through(arrived)
        self._left(ref, "served", clock.now - arrived)
        return waited

    async def __aenter__(self) -> RateLimiter:
        await self.acquire()
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None
