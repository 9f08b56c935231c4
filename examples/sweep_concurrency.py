"""sweep_concurrency: where does adding concurrency stop helping?

The gather-of-fetches program of the notes, with the requests behind an
``asyncio.Semaphore(concurrency)``, against a service that serves at most
``capacity`` requests at once (the rest queue, first come first served) with a
lognormal response time (median 0.1 s). Swept over concurrency and seeds on
virtual time, the p99 makespan falls until concurrency reaches the service's
capacity, then stays flat: more concurrency only moves the waiting from the
client's semaphore into the service's queue.

    python examples/sweep_concurrency.py                  # 200 seeds per point
    python examples/sweep_concurrency.py --report reports/sweep_concurrency
    asyncsim sweep examples/sweep_concurrency.py --param concurrency=1,2,4,8,16,32 \\
        --seeds 1000 -o reports/sweep

Under ``asyncsim run``/``asyncsim demo`` the script runs a smaller sweep in-process.
"""

import asyncio
import math
import random
import sys

import sim

CAPACITY = 8  # requests the service handles at once
MEDIAN = 0.1  # seconds, median response time
SIGMA = 0.5  # spread of log(response time)
REQUESTS = 100


class Service:
    """``capacity`` servers; each request holds one for a lognormal time (seconds)."""

    def __init__(self, capacity, median, sigma, rng):
        self._servers = asyncio.Semaphore(capacity)
        self._mu = math.log(median)
        self._sigma = sigma
        self._rng = rng
        self.waited = 0.0  # seconds requests spent queued at the service, summed

    async def get(self, url):
        loop = asyncio.get_running_loop()
        arrived = loop.time()
        async with self._servers:
            self.waited += loop.time() - arrived
            await asyncio.sleep(self._rng.lognormvariate(self._mu, self._sigma))
            return 200


async def fetch_status(service, url):
    return await service.get(url)


async def main(concurrency=10, requests=REQUESTS, capacity=CAPACITY, sigma=SIGMA):
    """Fetch ``requests`` URLs, at most ``concurrency`` at a time; return metrics."""
    simulation = sim.current()  # the simulation's seeded RNG, or a fresh one under asyncio
    rng = simulation.rng if simulation is not None else random.Random()
    service = Service(capacity, MEDIAN, sigma, rng)
    limit = asyncio.Semaphore(concurrency)

    async def limited(url):
        async with limit:
            return await fetch_status(service, url)

    urls = [f"https://example.com/{i}" for i in range(requests)]
    statuses = await asyncio.gather(*(limited(url) for url in urls))
    assert statuses == [200] * requests
    return {"service_wait": service.waited / requests}


def knee(result, quantile="p99", tolerance=0.05):
    """The smallest concurrency whose p99 elapsed is within ``tolerance`` of the best."""
    p99 = {
        row["point"]["concurrency"]: row["stats"]["elapsed"][quantile]
        for row in result.summary().rows
    }
    best = min(p99.values())
    return min(c for c, value in p99.items() if value <= best * (1 + tolerance)), p99


def sweep(seeds, executor=None):
    return sim.sweep(
        main, params={"concurrency": [1, 2, 4, 8, 16, 32]}, seeds=seeds, executor=executor
    )


if __name__ == "__main__":
    inside = sim.current() is not None  # under `asyncsim demo`: small and in-process
    result = sweep(seeds=20 if inside else 200, executor="inline" if inside else None)
    print(result.summary())
    concurrency, p99 = knee(result)
    print(
        f"p99 makespan stops improving (within 5%) at concurrency={concurrency}: "
        f"{p99[concurrency]:.3f} s; the service serves {CAPACITY} requests at once"
    )
    if "--report" in sys.argv[1:]:
        folder = sys.argv[sys.argv.index("--report") + 1]
        print(f"report: {result.report(folder, overwrite=True)}")
