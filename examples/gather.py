"""gather with the real aiohttp: ten requests to example.com at once take one response time.

Runs as written in the seed notes: with ``python`` it fetches the real site;
offline and instantly against a modeled example.com with
``asyncsim run --model examples/net_example_com.py examples/gather.py``.
"""
# asyncsim: --model net_example_com.py

import asyncio
import time

import aiohttp


def async_timed(func):
    async def wrapper(*args, **kwargs):
        t1 = time.perf_counter()
        res = await func(*args, **kwargs)
        print(f"Function {func.__name__} took {time.perf_counter() - t1} seconds")
        return res

    return wrapper


@async_timed
async def fetch_status(session, url):
    async with session.get(url) as res:
        return res.status


@async_timed
async def main():
    async with aiohttp.ClientSession() as session:
        urls = ["https://example.com" for _ in range(10)]
        requests = [fetch_status(session, url) for url in urls]
        status_codes = await asyncio.gather(*requests)
        print(status_codes)


if __name__ == "__main__":
    asyncio.run(main())
