"""A stand-in for ``aiohttp.ClientSession`` with a fixed 0.82 s response time.

The seed notes fetch https://example.com with aiohttp; these examples keep
that code shape (``async with session.get(url) as res: res.status``) without
needing a network, so they run the same with ``python`` and ``asyncsim run``.
URLs that do not start with http:// or https:// fail at once, as aiohttp does.
"""

import asyncio
import time

RESPONSE_TIME = 0.82  # seconds, what the notes measured for example.com


def async_timed(func):
    """Print how long each call of ``func`` took, as in the notes."""

    async def wrapper(*args, **kwargs):
        t1 = time.perf_counter()
        res = await func(*args, **kwargs)
        print(f"Function {func.__name__} took {time.perf_counter() - t1} seconds")
        return res

    return wrapper


class InvalidURL(ValueError):
    """Raised for a URL that is not http(s)."""


class _Response:
    def __init__(self, url, delay):
        self.url = url
        self.delay = delay
        self.status = None

    async def __aenter__(self):
        if not self.url.startswith(("http://", "https://")):
            raise InvalidURL(self.url)
        await asyncio.sleep(self.delay)
        self.status = 200
        return self

    async def __aexit__(self, *exc):
        return False


class ClientSession:
    """``session.get(url)`` answers 200 after ``response_time`` seconds."""

    def __init__(self, response_time=RESPONSE_TIME):
        self.response_time = response_time

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        return False

    def get(self, url):
        return _Response(url, self.response_time)
