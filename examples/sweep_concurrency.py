"""sweep_concurrency: where does adding concurrency stop helping?

The gather-of-fetches program of the notes, with the requests behind an
``asyncio.Semaphore(concurrency)``, against a modeled service
(``asyncsim.models.services.Server``) that serves at most ``capacity`` requests at once
(the rest queue, first come first served) with a lognormal response time
(``asyncsim.models.distributions.LogNormal``, median 0.1 s). Swept over concurrency and seeds on
virtual time, the p99 makespan falls until concurrency reaches the service's
capacity, then stays flat: more concurrency only moves the waiting from the
client's semaphore into the service's queue.

    python examples/sweep_concurrency.py                  # 200 seeds per point
    python examples/sweep_concurrency.py --report reports/sweep_concurrency
    asyncsim sweep examples/sweep_concurrency.py --param concurrency=1,2,4,8,16,32 \\
        --seeds 1000 -o reports/sweep

Under ``asyncsim run``/``asyncsim demo`` the script runs a smaller sweep in-process.
"""
# asyncsim: --demo-run demo_sweep

import asyncio
import math
import statistics
import sys

import asyncsim
from asyncsim.models.distributions import LogNormal
from asyncsim.models.services import Server

CAPACITY = 8  # requests the service handles at once
MEDIAN = 0.1  # seconds, median response time
SIGMA = 0.5  # spread of log(response time); 0 makes every response take MEDIAN
REQUESTS = 100


async def main(concurrency=10, requests=REQUESTS, capacity=CAPACITY, sigma=SIGMA):
    """Fetch ``requests`` URLs, at most ``concurrency`` at a time; return metrics."""
    latency = LogNormal(math.log(MEDIAN), sigma) if sigma > 0 else MEDIAN
    service = Server(capacity=capacity, service_time=latency, name="example.com")
    limit = asyncio.Semaphore(concurrency)

    async def fetch_status(url):
        async with limit:
            await service.call()  # queue at the service, then be served
            return 200

    urls = [f"https://example.com/{i}" for i in range(requests)]
    statuses = await asyncio.gather(*(fetch_status(url) for url in urls))
    assert statuses == [200] * requests
    # seconds a request spent queued at the service, on average
    return {"service_wait": statistics.fmean(service.stats.waits)}


def knee(result, quantile="p99", tolerance=0.05):
    """The smallest concurrency whose p99 elapsed is within ``tolerance`` of the best."""
    p99 = {
        row["point"]["concurrency"]: row["stats"]["elapsed"][quantile]
        for row in result.summary().rows
    }
    best = min(p99.values())
    return min(c for c, value in p99.items() if value <= best * (1 + tolerance)), p99


def sweep(seeds, executor=None):
    return asyncsim.sweep(
        main, params={"concurrency": [1, 2, 4, 8, 16, 32]}, seeds=seeds, executor=executor
    )


def demo_sweep():
    """Concurrency 1 to 32, 20 seeds each, swept in this process.

    ``asyncsim demo`` writes this sweep's report.
    """
    return sweep(seeds=20, executor="inline")


if __name__ == "__main__":
    inside = asyncsim.current() is not None  # under `asyncsim demo`: small and in-process
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
