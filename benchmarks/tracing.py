"""W5: W2 traced vs untraced (wall and CPU time), then the Gantt chart and critical path.

    python -m benchmarks.tracing [--tasks N] [--rounds R]     # W5 alone
    python benchmarks/run.py                                   # W5 is part of the full run

Each round runs the same W2 program (N tasks x K=10 sleeps, delays from
``random.Random(12345)``) untraced and traced, rotating which goes first, and
checks both against the exact finish times. Reported: the median of the
per-round traced/untraced ratios of wall time (target <= 1.7x) and of CPU time
(``time.process_time``: steadier on a machine shared with other jobs), then the
time to draw the Gantt chart of one trace to PNG (target <= 10 s) and to compute
its critical path.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncsim
from asyncsim.core import active_core
from benchmarks.workloads import K, _w2_main, w2_delays, w2_timers

__all__ = ["W5", "measure_w5", "w5_tracing"]

_perf_counter = time.perf_counter  # the real ones, whatever a simulation patches
_process_time = time.process_time


@dataclass
class W5:
    """W5's measurements (seconds; ratios are medians of per-round ratios)."""

    tasks: int
    steps: int
    untraced_wall: list[float]
    traced_wall: list[float]
    untraced_cpu: list[float]
    traced_cpu: list[float]
    gantt: float
    critical_path: float

    def ratio(self, traced: list[float], untraced: list[float]) -> list[float]:
        return [t / u for t, u in zip(traced, untraced, strict=True)]

    def markdown(self) -> str:
        wall = self.ratio(self.traced_wall, self.untraced_wall)
        cpu = self.ratio(self.traced_cpu, self.untraced_cpu)
        return "\n\n".join(
            [
                f"W2 N={self.tasks:,} x {K} sleeps ({self.steps:,} traced task steps), "
                f"traced/untraced wall time: median **{statistics.median(wall):.2f}x** "
                f"(spread {min(wall):.2f}-{max(wall):.2f}; untraced "
                f"{statistics.median(self.untraced_wall):.3f} s, traced "
                f"{statistics.median(self.traced_wall):.3f} s; target <= 1.7x, goal <= 1.5x; "
                f"untraced on the {active_core()} core, traced on the Python scheduler)",
                f"traced/untraced CPU time: median {statistics.median(cpu):.2f}x "
                f"(spread {min(cpu):.2f}-{max(cpu):.2f})",
                f"Gantt chart of {self.tasks:,} tasks rendered to PNG in "
                f"**{self.gantt:.2f} s** (target <= 10 s); critical path in "
                f"{self.critical_path:.3f} s",
            ]
        )


def measure_w5(n: int = 10_000, rounds: int = 5) -> W5:
    """Run W5 on ``n`` tasks for ``rounds`` interleaved rounds."""
    case = w2_timers(n, others=False)
    delays = w2_delays(n)  # the same values the case checks against
    walls: dict[bool, list[float]] = {False: [], True: []}
    cpus: dict[bool, list[float]] = {False: [], True: []}
    traced_run = None
    for r in range(rounds):
        for traced in (bool(r % 2), not r % 2):  # rotate which goes first
            start, cpu = _perf_counter(), _process_time()
            run = asyncsim.simulate(_w2_main(delays, n, K, False), trace=traced)
            walls[traced].append(_perf_counter() - start)
            cpus[traced].append(_process_time() - cpu)
            if run.exception is not None:
                raise run.exception
            case.check("asyncsim", run.result)
            if traced:
                traced_run = run
    assert traced_run is not None and traced_run.trace is not None
    start = _perf_counter()
    traced_run.trace.critical_path()
    critical = _perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = _perf_counter()
        traced_run.gantt(Path(tmp) / "w5.png")
        gantt = _perf_counter() - start
    return W5(
        n,
        len(traced_run.trace.steps),
        walls[False],
        walls[True],
        cpus[False],
        cpus[True],
        gantt,
        critical,
    )


def w5_tracing(n: int = 10_000, rounds: int = 5) -> str:
    """W5 as the markdown lines of benchmarks/RESULTS.md."""
    return measure_w5(n, rounds).markdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000, help="W2 tasks (default 10,000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    args = parser.parse_args(argv)
    for name, value in (("--tasks", args.tasks), ("--rounds", args.rounds)):
        if value < 1:
            parser.error(f"{name} must be a positive integer, got {value}")
    print(w5_tracing(args.tasks, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
