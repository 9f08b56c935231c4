"""Timing in one process (interleaved rounds, rotating order), peak RSS in fresh processes.

Each run is timed twice: CPU time of the process (``time.process_time``: what the run
cost, steady on a machine shared with other jobs) and wall time. Ratios are medians of
per-round ratios, so load that hits both sides of a round cancels out.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from asyncsim.core import core_info

from . import workloads

__all__ = ["CASES", "Timing", "interleaved", "machine_info", "peak_rss_kb"]

_perf_counter = time.perf_counter  # the real ones, whatever a simulation patches
_process_time = time.process_time
ROOT = Path(__file__).resolve().parent.parent

#: Workload keys (for the command line and the RSS subprocesses) -> Case factory.
CASES: dict[str, Callable[..., workloads.Case]] = {
    "w1": workloads.w1_seed,
    "w2": workloads.w2_timers,
    "w3i": workloads.w3_pingpong,
    "w3ii": workloads.w3_queues,
    "w4": workloads.w4_gather,
}


@dataclass
class Timing:
    """Seconds per implementation, one entry per round: CPU time and wall time."""

    walls: dict[str, list[float]]
    cpus: dict[str, list[float]]

    def median(self, impl: str, *, wall: bool = False) -> float:
        return statistics.median((self.walls if wall else self.cpus)[impl])

    def ratios(self, impl: str, other: str, *, wall: bool = False) -> list[float]:
        """Per-round ratios ``impl / other`` (same round, so same machine load)."""
        times = self.walls if wall else self.cpus
        return [a / b for a, b in zip(times[impl], times[other], strict=True)]

    def ratio(self, impl: str, other: str, *, wall: bool = False) -> float:
        """Median of the per-round ratios (CPU time; wall time with ``wall=True``)."""
        return statistics.median(self.ratios(impl, other, wall=wall))


def interleaved(
    case: workloads.Case, rounds: int, impls: list[str] | None = None, check: bool = True
) -> Timing:
    """Run every implementation once per round, rotating which goes first.

    Each run starts after a full ``gc.collect()``; its observation is checked
    (outside the timed region) against the exact expected result.
    """
    names = impls if impls is not None else list(case.runners)
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            start, cpu = _perf_counter(), _process_time()
            observed = case.runners[name]()
            cpus[name].append(_process_time() - cpu)
            walls[name].append(_perf_counter() - start)
            if check:
                case.check(name, observed)
            del observed
    return Timing(walls, cpus)


def peak_rss_kb(key: str, size: int, impl: str) -> int:
    """Peak RSS (KiB) of a fresh interpreter that builds the case and runs ``impl`` once.

    Reads ``VmHWM`` from ``/proc/self/status`` where there is one: Linux carries
    ``ru_maxrss`` over ``fork`` + ``exec``, so a child's ``getrusage`` reports at
    least the parent's RSS at the fork (the benchmark runner's own peak).
    """
    code = (
        "import resource, sys\n"
        "from benchmarks.harness import CASES\n"
        f"case = CASES[{key!r}]({size!r})\n"
        f"case.check({impl!r}, case.runners[{impl!r}]())\n"
        "try:\n"
        "    status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "    print(int(status.split()[0]))\n"
        "except (OSError, IndexError):\n"
        "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"RSS run of {impl} on {key}({size}) failed:\n{out.stderr}")
    return int(out.stdout.split()[-1])


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, Any]:
    """CPU model, cores, Python, package versions, date and the load at the time."""
    load = os.getloadavg()
    return {
        "CPU": _cpu_model(),
        "cores": os.cpu_count(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "packages": ", ".join(
            f"{d} {_version(d)}" for d in ("asyncsim", "simpy", "aiotools", "looptime", "Cython")
        ),
        "loop core": core_info(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "load": "load average {:.2f} {:.2f} {:.2f} (1/5/15 min) on {} cores".format(
            *load, os.cpu_count()
        ),
    }
