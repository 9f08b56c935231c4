"""whatif_fetch: the obvious fix is not the one that helps (a causal what-if profile).

The notes' gather of fetches behind an ``asyncio.Semaphore``: each of 60 pages needs a
connection (0.1 s of setup on the client), then its data from a modeled API and its
image from a modeled CDN, fetched at once (``asyncsim.models.services.Server``, lognormal
response times with medians of 0.2 s and 0.19 s), with a 1 s timeout and two retries.

The critical path of a run puts most of the makespan on the API: it is the slower
of the two on most pages. The obvious fix is a faster API. The causal profile says
otherwise: with the API 50 % faster every page still waits for its image, which takes
nearly as long, so the makespan drops by about 4 %; the connection setup, a third of
the critical path, is what every page waits for in turn, and making it 50 % faster
saves about 16 %. Slowed down instead, the API is what breaks first: at 4x its
timeouts start firing and retries pile up.

    python examples/whatif_fetch.py                      # the profile, 20 seeds
    python examples/whatif_fetch.py --report reports/whatif_fetch
    asyncsim profile examples/whatif_fetch.py --seeds 20 -o reports/whatif_fetch
"""

# asyncsim: --demo-run demo_profile

import asyncio
import math
import sys

import asyncsim
from asyncsim.models.distributions import LogNormal
from asyncsim.models.services import Server

PAGES = 60
CONCURRENCY = 10  # pages fetched at once
CONNECT = 0.1  # seconds to set up a connection, on the client
API = 0.2  # seconds, median response time of the API
CDN = 0.19  # seconds, median response time of the CDN
SIGMA = 0.1  # spread of log(response time)
TIMEOUT = 1.0  # seconds a page may wait for its data and image


async def fetch_page(url, limit, api, cdn):
    async with limit:
        await asyncio.sleep(CONNECT)  # open the connection
        for _attempt in range(3):
            try:
                await asyncio.wait_for(asyncio.gather(api.call(), cdn.call()), TIMEOUT)
                return 200
            except TimeoutError:
                pass  # try again
    return 504


async def main(pages=PAGES):
    """Fetch ``pages`` pages, ``CONCURRENCY`` at a time; return how many failed."""
    api = Server(capacity=CONCURRENCY, service_time=LogNormal(math.log(API), SIGMA), name="api")
    cdn = Server(capacity=CONCURRENCY, service_time=LogNormal(math.log(CDN), SIGMA), name="cdn")
    limit = asyncio.Semaphore(CONCURRENCY)
    urls = [f"https://example.com/page/{i}" for i in range(pages)]
    statuses = await asyncio.gather(*(fetch_page(url, limit, api, cdn) for url in urls))
    return {"failed": statuses.count(504)}


def profile(seeds, executor=None):
    return asyncsim.whatif(
        main, speedups=[0.25, 0.5, 1.0], slowdowns=[2, 4], seeds=seeds, executor=executor
    )


def demo_profile():
    """The causal profile of 5 seeds: which component to make faster."""
    return profile(seeds=5, executor="inline")


def summary(result):
    """Each component's share of the first run's critical path, and what 50 % faster does."""
    elapsed = result.discovery.elapsed
    lines = [f"first run: {elapsed:.3f} s; share of its critical path -> 50 % faster (p50, p99)"]
    for component in result.components:
        cell = result.cell(component, 0.5)
        lines.append(
            f"  {component.label}: {100 * component.critical / elapsed:.0f} % -> "
            f"{cell.elapsed[50].text(False)}, {cell.elapsed[99].text(False)}"
        )
    lines += [f"slower: {line}" for line in result.breaks()]
    return lines


if __name__ == "__main__":
    # Under `asyncsim run`/`asyncsim demo`: 5 seeds, in-process (the demo then reports
    # demo_profile(), the same profile, as its page).
    inside = asyncsim.current() is not None
    result = profile(seeds=5 if inside else 20, executor="inline" if inside else None)
    print("\n".join(summary(result)))
    if not inside:
        print()
        print(result)
    if "--report" in sys.argv[1:]:
        folder = sys.argv[sys.argv.index("--report") + 1]
        print(f"report: {result.report(folder, force=True)}")
