"""Blocking the event loop: a CPU-bound coroutine makes a heartbeat late.

``crunch`` never awaits, so while it computes no other task can run. With plain
``python`` the heartbeat is late by however long the sum takes on this machine.
On virtual time steps are free unless a CPU cost model says otherwise:

    asyncsim run examples/cpu_blocking.py                      # beats at 0.1, 0.2, 0.3
    asyncsim run --cpu crunch=2.0 examples/cpu_blocking.py     # first beat at 2.0 s
    asyncsim run --cpu measured:5 examples/cpu_blocking.py     # real CPU time x 5
"""
# asyncsim: --cpu crunch=2.0

import asyncio
import time


async def heartbeat(beats, period=0.1):
    start = time.perf_counter()
    for i in range(1, beats + 1):
        await asyncio.sleep(period)
        now = time.perf_counter() - start
        print(f"heartbeat {i} at {now:.2f} s ({max(0.0, now - i * period):.2f} s late)")


async def crunch(n):
    return sum(i * i for i in range(n))  # CPU-bound: never gives the loop back


async def main():
    start = time.perf_counter()
    await asyncio.gather(heartbeat(3), crunch(5_000_000))
    print(f"all done after {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
