"""The notes' 4s-vs-7s pair as coroutines, shared by the trace, graph and Gantt tests."""

import asyncio


async def delay():
    await asyncio.sleep(4)


async def main_concurrent():
    t = asyncio.create_task(delay())
    await asyncio.sleep(3)
    await t


async def main_sequential():
    await delay()
    await asyncio.sleep(3)
