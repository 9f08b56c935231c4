"""What each lever of the loop core is worth: W2 with one lever off at a time (CPU time).

    python -m benchmarks.levers [--tasks 10000,100000] [--rounds 5] [--base PATH]

Every variant runs W2 (N tasks x 10 sleeps) in one process, interleaved and rotated per
round, and is reported as the median of its per-round CPU-time ratio to the full compiled
core and to SimPy. ``--base PATH`` adds a build of asyncsim laid out as a package under
PATH (for example the commit before the compiled core) run in a child process per round,
its CPU time measured around the run alone.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncsim
from asyncsim.core import cores, fastpath, gc_threshold
from asyncsim.core.fastpath import FastPath
from benchmarks.workloads import K, _w2_main, _w2_simpy, w2_delays, w2_timers

__all__ = ["VARIANTS", "main", "measure"]

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def _no_fused_loop() -> Iterator[None]:
    allowed = FastPath._fast_path_allowed
    FastPath._fast_path_allowed = lambda self: False  # type: ignore[method-assign]
    try:
        yield
    finally:
        FastPath._fast_path_allowed = allowed  # type: ignore[method-assign]


@contextlib.contextmanager
def _no_lookup_shortcut() -> Iterator[None]:
    module = cores._compiled
    assert module is not None
    module._set_lookup_shortcut(False)
    try:
        yield
    finally:
        module._set_lookup_shortcut(True)


@contextlib.contextmanager
def _no_compiled_create_future() -> Iterator[None]:
    calls = fastpath._FAST_CALLS
    fastpath._FAST_CALLS = tuple(c for c in calls if c != "create_future")
    try:
        yield
    finally:
        fastpath._FAST_CALLS = calls


@contextlib.contextmanager
def _fixed_gc_threshold() -> Iterator[None]:
    per_timer = gc_threshold.PER_TIMER
    gc_threshold.PER_TIMER = 0  # (the threshold stays at GEN0_THRESHOLD)
    try:
        yield
    finally:
        gc_threshold.PER_TIMER = per_timer


Lever = Callable[[], contextlib.AbstractContextManager[None]]

#: Variant name -> (core, the levers turned off).
VARIANTS: dict[str, tuple[str, tuple[Lever, ...]]] = {
    "compiled": ("compiled", ()),
    "compiled, no get_running_loop shortcut": ("compiled", (_no_lookup_shortcut,)),
    "compiled, no fused loop": ("compiled", (_no_fused_loop,)),
    "compiled, create_future in Python": ("compiled", (_no_compiled_create_future,)),
    "compiled, fixed GC threshold": ("compiled", (_fixed_gc_threshold,)),
    "python": ("python", ()),
    "python, no fused loop": ("python", (_no_fused_loop,)),
    "python, fixed GC threshold": ("python", (_fixed_gc_threshold,)),
}

_BASE_CODE = """
import sys, time
from benchmarks.workloads import _w2_main, w2_delays
import asyncsim
n = int(sys.argv[1]); delays = w2_delays(n)
start = time.process_time()
asyncsim.run(_w2_main(delays, n, 10, False))
print(time.process_time() - start)
"""


def _base_runner(base: Path, n: int) -> Callable[[], float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(base), str(ROOT)]))

    def run() -> float:
        done = subprocess.run(
            [sys.executable, "-c", _BASE_CODE, str(n)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        return float(done.stdout.split()[-1])

    return run


def measure(n: int, rounds: int, base: Path | None = None) -> dict[str, list[float]]:
    """CPU seconds per variant (and ``simpy``, ``before``), one entry per round."""
    delays = w2_delays(n)
    case = w2_timers(n, others=False)

    def variant(core: str, off: tuple[Lever, ...]) -> Callable[[], float]:
        def run() -> float:
            with contextlib.ExitStack() as stack:
                stack.enter_context(cores.use_core(core))  # type: ignore[arg-type]
                for lever in off:
                    stack.enter_context(lever())
                start = time.process_time()
                result = asyncsim.run(_w2_main(delays, n, K, False))
                spent = time.process_time() - start
            case.check("asyncsim", result)
            return spent

        return run

    def simpy() -> float:
        start = time.process_time()
        result = _w2_simpy(delays, n, K)
        spent = time.process_time() - start
        case.check("simpy", result)
        return spent

    runners = {name: variant(*spec) for name, spec in VARIANTS.items()}
    runners["simpy"] = simpy
    if base is not None:
        runners["before"] = _base_runner(base, n)
    times: dict[str, list[float]] = {name: [] for name in runners}
    names = list(runners)
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            times[name].append(runners[name]())
    return times


def table(n: int, times: dict[str, list[float]]) -> str:
    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))

    lines = [
        f"W2 N={n:,} ({len(times['simpy'])} rounds, load average "
        + "{:.2f} {:.2f} {:.2f})\n".format(*os.getloadavg()),
        "| variant | median CPU (s) | vs compiled | vs SimPy |",
        "|---|---:|---:|---:|",
    ]
    for name in times:
        lines.append(
            f"| {name} | {statistics.median(times[name]):.3f} | {ratio(name, 'compiled'):.2f} "
            f"| {ratio(name, 'simpy'):.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="10000", help="W2 sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--base", type=Path, help="an older asyncsim laid out as a package")
    args = parser.parse_args(argv)
    if cores.active_core() != "compiled":
        parser.error("the compiled core is not built here: nothing to compare")
    for n in (int(s) for s in args.tasks.split(",")):
        print(table(n, measure(n, args.rounds, args.base)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
