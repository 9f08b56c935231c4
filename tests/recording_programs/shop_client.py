"""A real aiohttp client of shop_server.py: 24 item pages, 8 orders and 2 searches, 4 at a time.

    python shop_client.py PORT

It ends with a coroutine of known CPU cost: 5 steps that each burn 10 ms of CPU time.
"""

import asyncio
import sys
import time

import aiohttp


async def crunch(steps: int = 5, seconds: float = 0.010) -> None:
    for _ in range(steps):
        end = time.thread_time() + seconds
        while time.thread_time() < end:
            pass
        await asyncio.sleep(0)


async def main(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    limit = asyncio.Semaphore(4)

    async def get_item(session: aiohttp.ClientSession, number: int) -> int:
        async with limit, session.get(f"{base}/items/{number}") as response:
            await response.json()
            return response.status

    async def place_order(session: aiohttp.ClientSession, number: int) -> int:
        async with limit, session.post(f"{base}/orders", json={"item": number}) as response:
            await response.read()
            return response.status

    async def search(session: aiohttp.ClientSession, query: str) -> int:
        async with limit, session.get(f"{base}/search", params={"q": query}) as response:
            await response.text()
            return response.status

    async with aiohttp.ClientSession() as session:
        statuses = await asyncio.gather(
            *(get_item(session, n) for n in range(24)),
            *(place_order(session, n) for n in range(8)),
            search(session, "chairs"),
            search(session, "tables"),
        )
    await asyncio.create_task(crunch())  # a task of its own: its steps are its own
    print(f"{len(statuses)} requests, {statuses.count(500)} failed: {statuses}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
