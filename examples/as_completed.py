"""as_completed with aiohttp: results as they arrive; with a timeout, late ones raise.

``asyncsim run --model examples/net_example_com.py examples/as_completed.py``
"""
# asyncsim: --model net_example_com.py

import asyncio
import time

import aiohttp


async def fetch_status(session, url, delay=0):
    await asyncio.sleep(delay)
    async with session.get(url) as res:
        return res.status


async def main():
    async with aiohttp.ClientSession() as session:
        start = time.perf_counter()
        urls = ["https://example.com" for _ in range(10)]
        requests = [fetch_status(session, url) for url in urls]
        for finished_task in asyncio.as_completed(requests):
            print(await finished_task)
        print(f"all ten done after {time.perf_counter() - start} s")

        # With a timeout: two requests start at once, eight start 10 s late and time out.
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
