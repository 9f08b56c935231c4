"""wait_for with aiohttp: a request within its timeout finishes; a slower one is cancelled.

``asyncsim run --model examples/net_example_com.py examples/wait_for_request.py``
"""
# asyncsim: --model net_example_com.py

import asyncio
import time

import aiohttp


async def fetch_status(session, url):
    async with session.get(url) as res:
        return res.status


async def main():
    async with aiohttp.ClientSession() as session:
        start = time.perf_counter()
        try:
            await asyncio.wait_for(fetch_status(session, "https://example.com"), timeout=0.5)
        except TimeoutError:
            print(f"the request timed out after {time.perf_counter() - start} s")
        print(await asyncio.wait_for(fetch_status(session, "https://example.com"), timeout=2))


if __name__ == "__main__":
    asyncio.run(main())
