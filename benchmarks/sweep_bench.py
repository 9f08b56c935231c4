"""1,000 runs of the sweep example: in-process vs local processes (vs Dask) (not a test).

    python benchmarks/sweep_bench.py [--runs N] [--requests R] [--rounds K] [--dask]

Sweeps ``examples/sweep_concurrency.py``'s ``main`` (R fetches behind a semaphore
against an asyncsim.models.services.Server of capacity 8 with lognormal service times) over
concurrency 1, 2, 4, 8, 16 and N/5 seeds each. Prints wall time and runs/s per
executor (best of K rounds, interleaved so machine noise hits each alike) and checks
that every executor gives the same table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "examples"))

from sweep_concurrency import main as example  # noqa: E402

import asyncsim  # noqa: E402

POINTS = [1, 2, 4, 8, 16]


def timed(executor, seeds: int, requests: int) -> tuple[float, asyncsim.SweepResult]:
    start = time.perf_counter()
    result = asyncsim.sweep(
        example,
        params={"concurrency": POINTS, "requests": requests},
        seeds=seeds,
        executor=executor,
        progress=False,
    )
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dask", action="store_true", help="also a Dask LocalCluster")
    args = parser.parse_args()
    seeds = max(1, args.runs // len(POINTS))
    runs = seeds * len(POINTS)
    cores = os.cpu_count() or 1
    executors: dict[str, object] = {"in-process": "inline"}
    pool = ProcessPoolExecutor(max_workers=cores)
    executors[f"processes x{cores} (pool started)"] = pool
    executors[f"processes x{cores} (default, pool per sweep)"] = None
    client = cluster = None
    if args.dask:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=cores, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
        executors[f"dask LocalCluster {cores} workers"] = client.get_executor()
    best: dict[str, float] = {}
    tables = {}
    try:
        for _ in range(args.rounds):
            for name, executor in executors.items():
                wall, result = timed(executor, seeds, args.requests)
                best[name] = min(best.get(name, wall), wall)
                tables[name] = result.records
    finally:
        pool.shutdown()
        if client is not None:
            client.close()
            cluster.close()  # type: ignore[union-attr]
    reference = tables["in-process"]
    print(f"{runs} runs of sweep_concurrency.main ({args.requests} requests each), {cores} cores,")
    print(f"best of {args.rounds} rounds:")
    for name, wall in best.items():
        same = "same table" if tables[name] == reference else "DIFFERENT TABLE"
        print(f"  {name:42s} {wall:7.3f} s  {runs / wall:8.1f} runs/s  ({same})")
    per_run = sum(r.wall for r in reference) / runs
    print(f"one run alone: {per_run * 1e3:.2f} ms of wall time on average")


if __name__ == "__main__":
    main()
