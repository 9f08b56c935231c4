"""Module-level programs for the what-if tests: worker processes must be able to import them.

Line numbers matter: the tests name sleeps by ``whatif_programs.py:LINE``, and the
constants below say which line each sleep is on (a test checks that they still are).
"""

import asyncio

from asyncsim.models.services import Server

CALLS: list[str] = []  # one entry per run of a program in this process

CHAIN_FIRST_LINE = 20
CHAIN_SECOND_LINE = 21
SIDE_LINE = 25


async def chain():
    """The critical path: 1 s then 2 s, one after the other."""
    await asyncio.sleep(1.0)
    await asyncio.sleep(2.0)


async def side():
    await asyncio.sleep(0.5)  # beside the chain, never on the critical path as is


async def chain_and_side():
    """3 s as is: ``chain`` decides it; ``side`` (0.5 s) runs beside it."""
    CALLS.append("chain_and_side")
    await asyncio.gather(chain(), side())


CONNECT_LINE = 45


async def queued(requests=10):
    """``requests`` requests behind a Semaphore(3): connect 0.1 s, then a one-slot server."""
    CALLS.append("queued")
    server = Server(capacity=1, service_time=0.1, name="db")
    limit = asyncio.Semaphore(3)

    async def request():
        async with limit:
            await asyncio.sleep(0.1)
            await server.call()

    await asyncio.gather(*(request() for _ in range(requests)))
    return {"server_wait": sum(server.stats.waits)}


async def deadline(limit=1.5):
    """Raises RuntimeError when its 1 s sleep takes longer than ``limit`` virtual seconds."""
    CALLS.append("deadline")
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.sleep(1.0)
    if loop.time() - start > limit:
        raise RuntimeError(f"too slow: {loop.time() - start} s")
    return {"waited": loop.time() - start}


RETRY_LINE = 77


async def retries():
    """A 0.4 s backend call with a 1 s timeout, retried after a 0.2 s pause; never fails."""
    CALLS.append("retries")
    backend = Server(capacity=4, service_time=0.4, name="backend")
    timeouts = 0
    while True:
        try:
            await asyncio.wait_for(backend.call(), 1.0)
            return {"timeouts": timeouts}
        except TimeoutError:
            timeouts += 1
            await asyncio.sleep(0.2)
            if timeouts >= 3:
                return {"timeouts": timeouts}
