"""as_completed: handle results as they arrive; with a timeout, late ones raise."""

import asyncio
import time

from fake_http import ClientSession


async def fetch_status(session, url, delay=None):
    if delay is not None:
        await asyncio.sleep(delay)
    async with session.get(url) as res:
        return res.status


async def main():
    start = time.perf_counter()
    async with ClientSession() as session:
        urls = ["https://example.com" for _ in range(10)]
        requests = [fetch_status(session, url) for url in urls]
        for finished_task in asyncio.as_completed(requests):
            print(await finished_task)
        print(f"all ten done after {time.perf_counter() - start} s")

        # With a timeout: two fast requests make it, the slow ones time out.
        start = time.perf_counter()
        requests = [
            fetch_status(session, url, delay=0 if i < 2 else 10) for i, url in enumerate(urls)
        ]
        for finished_task in asyncio.as_completed(requests, timeout=2):
            try:
                print(await finished_task)
            except TimeoutError:
                print("Timeout happened")
        print(f"gave up after {time.perf_counter() - start} s")


if __name__ == "__main__":
    asyncio.run(main())
