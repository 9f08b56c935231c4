"""gather(return_exceptions=True) with aiohttp: a bad URL comes back as a value.

``asyncsim run --model examples/net_example_com.py examples/gather_exceptions.py``
"""
# asyncsim: --model net_example_com.py

import asyncio

import aiohttp


async def fetch_status(session, url):
    async with session.get(url) as res:
        return res.status


async def main():
    async with aiohttp.ClientSession() as session:
        urls = ["https://example.com", "python://example.com", "https://example.com"]
        tasks = [fetch_status(session, url) for url in urls]
        results = await asyncio.gather(*tasks, return_exceptions=True)
        exceptions = [result for result in results if isinstance(result, Exception)]
        successful_results = [result for result in results if not isinstance(result, Exception)]
        print(f"All results: {results!r}")
        print(f"Exceptions: {exceptions!r}")
        print(f"Successful results: {successful_results!r}")

        # Without return_exceptions, the first exception propagates out of gather.
        try:
            await asyncio.gather(*[fetch_status(session, url) for url in urls])
        except Exception as exc:
            print(f"gather raised {exc!r}")


if __name__ == "__main__":
    asyncio.run(main())
