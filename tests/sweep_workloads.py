"""Module-level workloads for the sweep tests: worker processes must be able to import them."""

import asyncio
import random

import asyncsim

CALLS: list[tuple[int, int]] = []  # (n, seed) per finished call, in this process
INTERRUPT_AT: list[tuple[int, int]] = []  # the (n, seed) that raises KeyboardInterrupt once


async def sleeper(delay, count=1):
    """Sleeps ``count`` times ``delay`` seconds one after the other."""
    for _ in range(count):
        await asyncio.sleep(delay)
    return {"sleeps": count}


async def by_seed():
    """Elapsed equals a draw that depends only on the seed."""
    await asyncio.sleep(random.randint(1, 1000) / 100)


async def fetches(concurrency, requests=6):
    """``requests`` lognormal sleeps behind a semaphore; some seeds fail at concurrency 3."""
    limit = asyncio.Semaphore(concurrency)

    async def fetch():
        async with limit:
            await asyncio.sleep(random.lognormvariate(-2.0, 0.5))

    await asyncio.gather(*(fetch() for _ in range(requests)))
    if concurrency == 3 and random.random() < 0.3:
        raise ConnectionError(f"service dropped the connection after {requests} requests")
    return {"draw": random.random()}


async def counted(n):
    """Records each call in CALLS; raises KeyboardInterrupt once at INTERRUPT_AT."""
    await asyncio.sleep(n)
    seed = asyncsim.current().seed
    if INTERRUPT_AT and INTERRUPT_AT[0] == (n, seed):
        INTERRUPT_AT.clear()
        raise KeyboardInterrupt  # as if Ctrl-C hit the sweep during this run
    CALLS.append((n, seed))
    return {"draw": random.random()}


def steps_metric(run):
    """A metrics(run) callable: the run's step count, doubled."""
    return {"twice_steps": 2 * run.steps}


async def labelled(label):
    """Sleeps 1 s; a label with "!" raises ValueError(label)."""
    await asyncio.sleep(1)
    if "!" in label:
        raise ValueError(label)
    return {"length": len(label)}
