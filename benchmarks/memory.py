"""Bytes per sleeping task: what N tasks of W2 hold while they all sleep, per implementation.

    python -m benchmarks.memory [--tasks N]

Each implementation runs in a fresh interpreter with ``tracemalloc`` on: N tasks shaped
like W2's (each with its slice of 10 delays, under one ``gather``) are created and each
runs up to its first sleep; then the memory Python has allocated, minus what it had just
before the tasks were created, is divided by N. ``floor`` is stock asyncio with
``sleep(0)`` (a task waiting in the ready queue, no timer); SimPy's processes wait on
``env.timeout``. Allocations made by C code through Python's allocator are included (the
compiled core's timer heap is); memory a library takes from ``malloc`` directly is not.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["IMPLS", "bytes_per_task", "memory_table"]

ROOT = Path(__file__).resolve().parent.parent
IMPLS = ("asyncsim", "asyncsim-py", "floor", "simpy")

_CODE = """
import asyncio, gc, sys, tracemalloc
from array import array
impl, n, k = sys.argv[1], int(sys.argv[2]), 10
import asyncsim, simpy
from asyncsim.core import cores
delays = array("d", (1.0 + (i % 997) / 997 for i in range(n * k)))
tracemalloc.start()
out = []

def probe():
    out.append(tracemalloc.get_traced_memory()[0])

async def main(zero):
    loop = asyncio.get_running_loop()
    sleep = asyncio.sleep
    finish = [-1.0] * n

    async def worker(i):
        for d in delays[i * k : (i + 1) * k]:
            await sleep(0 if zero else d)
        finish[i] = loop.time()

    def probe_and_stop():
        probe()
        tracemalloc.stop()
        loop.stop()  # (the measurement is taken: the rest of the run is not needed)

    gc.collect()
    out.append(tracemalloc.get_traced_memory()[0])
    # (runs once every task has taken its first step)
    loop.call_soon(loop.call_soon, probe_and_stop)
    await asyncio.gather(*[worker(i) for i in range(n)])

def simpy_main():
    env = simpy.Environment()
    timeout = env.timeout

    def worker(i):
        for d in delays[i * k : (i + 1) * k]:
            yield timeout(d)

    def watch():
        probe()
        tracemalloc.stop()
        yield timeout(0)

    gc.collect()
    out.append(tracemalloc.get_traced_memory()[0])
    for i in range(n):
        env.process(worker(i))
    env.process(watch())
    env.run(until=0.5)

if impl == "simpy":
    simpy_main()
else:
    try:
        if impl == "floor":
            asyncio.run(main(True))
        else:
            compiled = impl == "asyncsim" and cores.active_core() == "compiled"
            with cores.use_core("compiled" if compiled else "python"):
                asyncsim.run(main(False))
    except RuntimeError as exc:
        if "stopped before" not in str(exc):  # (the probe stops the loop: that one is expected)
            raise
print((out[1] - out[0]) / n)
"""


def bytes_per_task(impl: str, n: int = 100_000) -> float:
    """Bytes per sleeping task of ``impl`` (see the module's docstring), in a fresh process."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _CODE, impl, str(n)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=path),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory run of {impl} failed:\n{done.stderr}")
    return float(done.stdout.split()[-1])


def memory_table(n: int = 100_000) -> str:
    """The markdown table of bytes per sleeping task, with ratios to the floor and SimPy."""
    from asyncsim.core import active_core

    impls = [i for i in IMPLS if i != "asyncsim-py" or active_core() == "compiled"]
    sizes = {impl: bytes_per_task(impl, n) for impl in impls}
    lines = [
        f"N={n:,} W2 tasks, each suspended in its first sleep (`python -m benchmarks.memory "
        f"--tasks {n}`): bytes Python allocated per task (tracemalloc).\n",
        "| implementation | bytes per sleeping task | vs floor | vs SimPy |",
        "|---|---:|---:|---:|",
    ]
    for impl, size in sizes.items():
        lines.append(
            f"| {impl} | {size:,.0f} | {size / sizes['floor']:.2f} | {size / sizes['simpy']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks (default 100,000)")
    args = parser.parse_args(argv)
    if args.tasks < 1:
        parser.error(f"--tasks must be a positive integer, got {args.tasks}")
    print(memory_table(args.tasks))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
