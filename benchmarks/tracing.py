"""W5: W2 traced vs untraced, and the Gantt render time of that trace.

Lights up once ``sim.simulate`` accepts ``trace=`` (the tracing branch); until
then :func:`w5_tracing` returns a line saying why it was skipped.
"""

from __future__ import annotations

import importlib
import inspect
import statistics
import tempfile
import time
from pathlib import Path

import sim

from .workloads import K, _w2_main, w2_delays

__all__ = ["tracing_available", "w5_tracing"]

_perf_counter = time.perf_counter


def tracing_available() -> str | None:
    """None when ``sim.simulate(..., trace=True)`` exists, else the reason it does not."""
    if "trace" not in inspect.signature(sim.simulate).parameters:
        return (
            "W5 skipped: sim.simulate has no trace= option yet (it comes with the tracing branch)."
        )
    return None


def w5_tracing(n: int = 10_000, rounds: int = 5) -> str:
    """Markdown lines: median traced/untraced ratio over ``rounds`` and the Gantt time."""
    reason = tracing_available()
    if reason is not None:
        return reason
    delays = w2_delays(n)
    walls: dict[bool, list[float]] = {False: [], True: []}
    run = None
    for r in range(rounds):
        for traced in (bool(r % 2), not r % 2):  # rotate which goes first
            start = _perf_counter()
            run = sim.simulate(_w2_main(delays, n, K, False), trace=traced)  # type: ignore[call-arg]
            walls[traced].append(_perf_counter() - start)
            if run.exception is not None:
                raise run.exception
            if traced:
                trace = run.trace
    ratios = [t / u for t, u in zip(walls[True], walls[False], strict=True)]
    lines = [
        f"W2 N={n:,} traced/untraced: median {statistics.median(ratios):.2f}x "
        f"(spread {min(ratios):.2f}-{max(ratios):.2f}; "
        f"untraced {statistics.median(walls[False]):.3f} s, "
        f"traced {statistics.median(walls[True]):.3f} s; target <= 2x)"
    ]
    try:
        gantt = importlib.import_module("sim.gantt").gantt
    except (ImportError, AttributeError):
        lines.append("Gantt skipped: sim.gantt.gantt is not available.")
        return "\n".join(lines)
    with tempfile.TemporaryDirectory() as tmp:
        start = _perf_counter()
        gantt(trace, Path(tmp) / "w5.png")
        lines.append(
            f"Gantt of {n:,} tasks rendered to PNG in {_perf_counter() - start:.2f} s "
            "(target <= 10 s)"
        )
    return "\n\n".join(lines)
