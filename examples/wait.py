"""wait: ALL_COMPLETED, FIRST_EXCEPTION with a bad URL, FIRST_COMPLETED, and a timeout."""

import asyncio
import time

from fake_http import ClientSession


async def fetch_status(session, url):
    async with session.get(url) as res:
        return res.status


def elapsed(start):
    return round(time.perf_counter() - start, 9)


async def main():
    async with ClientSession() as session:
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
        slow = ClientSession(response_time=5)
        requests = [
            asyncio.create_task(fetch_status(session, urls[0])),
            asyncio.create_task(fetch_status(slow, urls[0])),
        ]
        done, pending = await asyncio.wait(requests, timeout=1)
        print(f"timeout=1: {len(done)} done, {len(pending)} pending at {elapsed(start)} s")
        for pending_task in pending:
            pending_task.cancel()


if __name__ == "__main__":
    asyncio.run(main())
