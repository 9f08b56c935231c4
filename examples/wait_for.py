"""wait_for: a coroutine within its timeout finishes; a slow one is cancelled."""

import asyncio
import time


async def foo():
    await asyncio.sleep(1)
    return "foo finished"


async def slow():
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print("slow() was cancelled")
        raise


async def main():
    print(await asyncio.wait_for(foo(), timeout=2))
    start = time.perf_counter()
    try:
        await asyncio.wait_for(slow(), timeout=2)
    except TimeoutError:
        print(f"slow() timed out after {time.perf_counter() - start} s")


if __name__ == "__main__":
    asyncio.run(main())
