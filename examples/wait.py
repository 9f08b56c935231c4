"""wait with aiohttp: ALL_COMPLETED, FIRST_EXCEPTION with a bad URL, FIRST_COMPLETED, timeout.

``asyncsim run --model examples/net_example_com.py examples/wait.py``
"""
# asyncsim: --model net_example_com.py

import asyncio
import time

import aiohttp


async def fetch_status(session, url, delay=0):
    await asyncio.sleep(delay)
    async with session.get(url) as res:
        return res.status


def elapsed(start):
    return round(time.perf_counter() - start, 9)


async def main():
    async with aiohttp.ClientSession() as session:
        urls = ["https://example.com" for _ in range(10)]

        start = time.perf_counter()
        requests = [asyncio.create_task(fetch_status(session, url)) for url in urls]
        done, pending = await asyncio.wait(requests)
        for done_task in done:
            print(await done_task)
        print(f"ALL_COMPLETED: {len(done)} done, {len(pending)} pending at {elapsed(start)} s")

        start = time.perf_counter()
        bad = ["https://example.com", "python://bad", "https://example.com"]
        requests = [asyncio.create_task(fetch_status(session, url)) for url in bad]
        done, pending = await asyncio.wait(requests, return_when=asyncio.FIRST_EXCEPTION)
        for done_task in done:
            if done_task.exception() is None:
                print(done_task.result())
            else:
                print(f"request failed: {done_task.exception()!r}")
        print(f"FIRST_EXCEPTION: {len(done)} done, {len(pending)} pending at {elapsed(start)} s")
        for pending_task in pending:
            pending_task.cancel()

        start = time.perf_counter()
        pending = [asyncio.create_task(fetch_status(session, url)) for url in urls]
        rounds = 0
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            rounds += 1
            for done_task in done:
                print(await done_task)
        print(f"FIRST_COMPLETED: {rounds} round(s), finished at {elapsed(start)} s")

        start = time.perf_counter()
        requests = [
            asyncio.create_task(fetch_status(session, urls[0])),
            asyncio.create_task(fetch_status(session, urls[0], delay=5)),
        ]
        done, pending = await asyncio.wait(requests, timeout=1)
        print(f"timeout=1: {len(done)} done, {len(pending)} pending at {elapsed(start)} s")
        for pending_task in pending:
            pending_task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
