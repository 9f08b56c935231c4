"""Late in the run: the lateness that breaks these lands after dozens of punctual timers."""

from __future__ import annotations

import asyncio

from . import Pair

# -- a cache refresh that empties the cache while it refetches -------------------------------


class Cache:
    def __init__(self, fixed: bool) -> None:
        self.fixed = fixed
        self.data: dict[str, int] = {}

    async def fetch_all(self) -> dict[str, int]:
        await asyncio.sleep(0.04)  # the origin's round trip
        return {f"k{i}": i for i in range(40)}

    async def refresh(self) -> None:
        if self.fixed:
            self.data = await self.fetch_all()  # swap in the new contents at once
        else:
            self.data = {}  # BUG: readers find an empty cache until the fetch returns
            self.data = await self.fetch_all()


async def warm_cache(fixed: bool) -> int:
    cache = Cache(fixed)
    for i in range(40):  # warm-up: 40 loads, one key each
        await asyncio.sleep(0.05)
        cache.data[f"k{i}"] = i
    misses = 0

    async def refresher() -> None:
        for _ in range(6):
            await asyncio.sleep(1.0)
            await cache.refresh()

    async def reader() -> None:
        nonlocal misses
        await asyncio.sleep(0.5)
        for _ in range(6):
            if "k7" not in cache.data:
                misses += 1
            await asyncio.sleep(1.0)

    await asyncio.gather(refresher(), reader())
    return misses


# -- a leader whose write lands after another node took over --------------------------------

TTL = 3.0


class Store:
    """A lease and a log in one place; requests and answers take 10 ms each way."""

    def __init__(self, fencing: bool) -> None:
        self.fencing = fencing
        self.holder: str | None = "A"
        self.term = 1
        self.expiry = TTL
        self.log: list[int] = []  # the term of every applied write

    async def renew(self, who: str, term: int) -> bool:
        await asyncio.sleep(0.01)
        now = asyncio.get_running_loop().time()
        ok = self.holder == who and self.term == term and now <= self.expiry
        if ok:
            self.expiry = now + TTL
        await asyncio.sleep(0.01)
        return ok

    async def take_over(self, who: str) -> int | None:
        await asyncio.sleep(0.01)
        now = asyncio.get_running_loop().time()
        if now > self.expiry:
            self.holder, self.term, self.expiry = who, self.term + 1, now + TTL
            return self.term
        return None

    async def write(self, term: int) -> None:
        await asyncio.sleep(0.01)  # the write travels to the store
        if self.fencing and term < self.term:
            return  # a stale leader's write is refused (its fencing token is old)
        self.log.append(term)


async def stale_leader(fixed: bool) -> list[int]:
    store = Store(fencing=fixed)

    async def node_a() -> None:
        for _ in range(20):
            if await store.renew("A", 1):
                await store.write(1)  # BUG unless the store fences: may land after a takeover
            await asyncio.sleep(1.0)

    async def node_b() -> None:
        term = None
        for _ in range(50):
            await asyncio.sleep(0.5)
            if term is None:
                term = await store.take_over("B")
            if term is not None:
                await store.write(term)

    await asyncio.gather(node_a(), node_b())
    return store.log


# -- a job lease that expires while a batch is being processed ------------------------------


async def slow_batch(fixed: bool) -> list[int]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[int] = asyncio.Queue()
    leases: dict[int, tuple[str, float]] = {}  # job -> (worker, expiry)
    commits: list[int] = []
    lease_ttl = 5.0

    async def worker(name: str) -> None:
        while True:
            job = await queue.get()
            leases[job] = (name, loop.time() + lease_ttl)
            for _item in range(20):
                if fixed:  # heartbeat: extend the lease before each item
                    if leases.get(job, (None,))[0] != name:
                        break
                    leases[job] = (name, loop.time() + lease_ttl)
                await asyncio.sleep(0.2)
            else:
                if fixed and leases.get(job, (None,))[0] != name:
                    continue  # the lease was lost: another worker owns the job now
                commits.append(job)  # BUG unless checked: the lease may have expired
                leases.pop(job, None)

    async def reaper() -> None:
        while True:
            await asyncio.sleep(0.5)
            for job, (_name, expiry) in list(leases.items()):
                if loop.time() > expiry:
                    del leases[job]
                    queue.put_nowait(job)  # expired: give the job to another worker

    workers = [asyncio.create_task(worker(f"w{i}")) for i in range(2)]
    reaping = asyncio.create_task(reaper())
    for job in range(4):
        queue.put_nowait(job)
    while len(set(commits)) < 4:
        await asyncio.sleep(1.0)
    await asyncio.sleep(10.0)  # let any second worker finish its copy
    for task in (*workers, reaping):
        task.cancel()
    await asyncio.gather(*workers, reaping, return_exceptions=True)
    return commits


PAIRS = [
    Pair(
        "warm_cache",
        "late-in-run",
        "after a 40-load warm-up, a refresh empties the cache while it refetches; a reader "
        "that arrives during the refetch misses (the twin swaps the new contents in at once)",
        warm_cache,
        lambda misses: misses == 0,
    ),
    Pair(
        "stale_leader",
        "late-in-run",
        "a leader's write that stalls for seconds lands after another node took over "
        "(the twin's store refuses writes with an old fencing token)",
        stale_leader,
        lambda log: log == sorted(log),
    ),
    Pair(
        "slow_batch",
        "late-in-run",
        "a job lease expires while a slow batch runs; the reaper gives the job to the other "
        "worker and both commit it (the twin renews its lease per item and checks it)",
        slow_batch,
        lambda commits: sorted(commits) == [0, 1, 2, 3],
    ),
]
