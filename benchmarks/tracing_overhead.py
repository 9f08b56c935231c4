"""Tracing overhead and Gantt render time on 10,000 tasks x 10 sleeps (not a test).

    python benchmarks/tracing_overhead.py [--tasks N] [--sleeps K] [--rounds R]

Each round runs the same program untraced and traced (interleaved, so machine
noise hits both alike) and reports the median traced/untraced wall-time ratio
(target <= 2x), then times drawing the Gantt chart of one trace (target <= 10 s).
Delays are uniform in [0, 1) s from random.Random(12345).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import sim


async def worker(delays: list[float]) -> None:
    for delay in delays:
        await asyncio.sleep(delay)


async def main(plan: list[list[float]]) -> None:
    await asyncio.gather(*(worker(delays) for delays in plan))


def plan_of(tasks: int, sleeps: int) -> list[list[float]]:
    rng = random.Random(12345)
    return [[rng.uniform(0, 1) for _ in range(sleeps)] for _ in range(tasks)]


def timed(plan: list[list[float]], trace: bool) -> tuple[float, sim.Run]:
    start = time.perf_counter()
    run = sim.simulate(main(plan), trace=trace)
    return time.perf_counter() - start, run


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--sleeps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    plan = plan_of(args.tasks, args.sleeps)
    ratios, plain_walls, traced_walls = [], [], []
    traced_run = None
    for _ in range(args.rounds):
        plain, _run = timed(plan, trace=False)
        traced, traced_run = timed(plan, trace=True)
        plain_walls.append(plain)
        traced_walls.append(traced)
        ratios.append(traced / plain)
    assert traced_run is not None and traced_run.trace is not None
    trace = traced_run.trace
    print(
        f"program: {args.tasks} tasks x {args.sleeps} sleeps, {len(trace.steps)} task steps, "
        f"{traced_run.elapsed:.6g} s virtual"
    )
    print(
        f"untraced wall: median {statistics.median(plain_walls):.3f} s "
        f"({', '.join(f'{w:.3f}' for w in plain_walls)})"
    )
    print(
        f"traced wall:   median {statistics.median(traced_walls):.3f} s "
        f"({', '.join(f'{w:.3f}' for w in traced_walls)})"
    )
    print(
        f"overhead: median traced/untraced ratio {statistics.median(ratios):.2f}x "
        f"(target <= 2x; rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
    )
    start = time.perf_counter()
    cp = trace.critical_path()
    print(f"critical path: {len(cp)} segments in {time.perf_counter() - start:.3f} s")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        traced_run.gantt(os.path.join(folder, "gantt.png"))
        render = time.perf_counter() - start
    print(f"gantt render (PNG, grouped rows): {render:.2f} s (target <= 10 s)")


if __name__ == "__main__":
    cli()
