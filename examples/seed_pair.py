"""The classic pair: a task sleeping 4 s overlaps a 3 s sleep (4 s), or it does not (7 s).

python examples/seed_pair.py          # takes 11 s, prints ~4.001 and ~7.006
asyncsim run examples/seed_pair.py    # instant, prints exactly 4.0 and 7.0
"""

import asyncio
import time


async def delay():
    await asyncio.sleep(4)


async def main_concurrent():
    t = asyncio.create_task(delay())
    t1 = time.perf_counter()
    await asyncio.sleep(3)
    await t
    print(time.perf_counter() - t1)


async def main_sequential():
    t1 = time.perf_counter()
    await delay()
    await asyncio.sleep(3)
    print(time.perf_counter() - t1)


if __name__ == "__main__":
    asyncio.run(main_concurrent())
    asyncio.run(main_sequential())
