"""The example's what-if profile, in-process vs two local processes (not a test).

    python benchmarks/whatif_bench.py [--seeds N] [--rounds K]
    python benchmarks/whatif_bench.py --overhead   # one run with and without a scaling

Profiles ``examples/whatif_fetch.py`` as its ``__main__`` block does: 3 components x
5 speedups (0.25, 0.5, 1 faster; 2x, 4x slower) x N seeds, plus the N runs as is and
the one discovery run. Each round runs both executors, the order alternating, and
prints each one's wall time and CPU time (this process's ``process_time`` plus its
finished children's, from ``resource.getrusage``); the table is the median per
executor and the ratio of the medians, and every executor must give the same records.

``--overhead`` times single runs of the example instead (10 seeds per round, CPU time
from ``process_time``, the order alternating): as is, and inside a profile's scaling
(``service:api`` 50 % faster), whose hooks read every timer's call site.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "examples"))

import whatif_fetch  # noqa: E402

_perf_counter = time.perf_counter
_process_time = time.process_time


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(executor: str, seeds: int, workers: int | None) -> tuple[float, float, object]:
    """Wall and CPU seconds of one profile on ``executor``, and the profile."""
    cpu, children, start = _process_time(), _children_cpu(), _perf_counter()
    profile = whatif_fetch.asyncsim.whatif(
        whatif_fetch.main,
        speedups=[0.25, 0.5, 1.0],
        slowdowns=[2, 4],
        seeds=seeds,
        executor=executor,
        workers=workers,
        progress=False,
    )
    wall = _perf_counter() - start
    used = (_process_time() - cpu) + (_children_cpu() - children)
    return wall, used, profile


def overhead(rounds: int) -> None:
    """CPU seconds per run of the example, as is and with one component scaled."""
    from asyncsim.core.durations import DurationScaling, scaling

    def as_is(seed: int) -> None:
        whatif_fetch.asyncsim.simulate(whatif_fetch.main(), seed=seed)

    def scaled(seed: int) -> None:
        with scaling(DurationScaling("service:api", 0.5)):
            whatif_fetch.asyncsim.simulate(whatif_fetch.main(), seed=seed)

    cpu: dict[str, list[float]] = {"as is": [], "scaled": []}
    for round_ in range(rounds):
        cases = [("as is", as_is), ("scaled", scaled)]
        for name, run in cases if round_ % 2 == 0 else reversed(cases):
            start = _process_time()
            for seed in range(10):
                run(seed)
            cpu[name].append((_process_time() - start) / 10)
    base, hooked = statistics.median(cpu["as is"]), statistics.median(cpu["scaled"])
    print(f"CPU per run, median of {rounds} interleaved rounds of 10 runs:")
    print(f"  as is   {1000 * base:.1f} ms")
    print(f"  scaled  {1000 * hooked:.1f} ms  ({hooked / base:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--overhead", action="store_true", help="time single runs instead")
    args = parser.parse_args()
    if args.overhead:
        overhead(max(args.rounds, 5))
        return
    executors = {"in-process": ("inline", None), "2 processes": ("processes", 2)}
    walls: dict[str, list[float]] = {name: [] for name in executors}
    cpus: dict[str, list[float]] = {name: [] for name in executors}
    records = {}
    runs = 0
    for round_ in range(args.rounds):
        order = list(executors) if round_ % 2 == 0 else list(reversed(executors))
        for name in order:
            executor, workers = executors[name]
            wall, cpu, profile = timed(executor, args.seeds, workers)
            walls[name].append(wall)
            cpus[name].append(cpu)
            records[name] = profile.result.records  # type: ignore[attr-defined]
            runs = profile.runs  # type: ignore[attr-defined]
            print(f"round {round_ + 1} {name}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    assert records["in-process"] == records["2 processes"], "executors disagree"
    load = os.getloadavg()
    print(
        f"\n{runs} runs ({args.seeds} seeds; + 1 discovery run), median of {args.rounds} "
        f"interleaved rounds, {os.cpu_count()} cores, load average {load[0]:.1f}:"
    )
    for name in executors:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(f"  {name:11s} {wall:6.2f} s wall  {cpu:6.2f} s CPU  {runs / wall:5.1f} runs/s")
    ratio = statistics.median(walls["in-process"]) / statistics.median(walls["2 processes"])
    print(f"  in-process / 2 processes (wall): {ratio:.2f}")


if __name__ == "__main__":
    main()
