"""Run the asyncsim benchmarks, print one table and write benchmarks/RESULTS.md.

    python benchmarks/run.py                  # the full run (about 10-15 minutes on 2 cores)
    python benchmarks/run.py --quick          # small sizes, 3 rounds: about a minute
    python benchmarks/run.py --w2-sizes 1000,10000 --rounds 5 --no-rss
    python benchmarks/run.py --scaling        # also W2 at N = 1M (long: minutes, GBs of RAM)

Ratios are measured in one process: every implementation runs once per round,
the order rotating between rounds, and a ratio is the median of the per-round
ratios (so a noisy neighbour slows both sides of a ratio alike). Each run is timed
in CPU time (``time.process_time``, the headline: steady on a shared machine) and
wall time (beside it). The spread column gives the lowest and highest per-round
CPU ratio vs SimPy. ``asyncsim`` is the compiled loop core, ``asyncsim-py`` the
pure-Python one. Peak RSS comes from a fresh interpreter per (implementation,
size), since an in-process peak keeps the high-water mark of whatever ran before;
bytes per sleeping task come from ``benchmarks/memory.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import workloads
from benchmarks.harness import Timing, interleaved, machine_info, peak_rss_kb
from benchmarks.memory import memory_table
from benchmarks.tracing import w5_tracing

__all__ = ["Row", "main", "run_all", "variants_table"]

HERE = Path(__file__).resolve().parent


@dataclass
class Row:
    """One (workload, size) of the table."""

    key: str
    workload: str
    size: int
    events: int
    timing: Timing
    floor: str  # the implementation the "vs floor" column divides by
    rss_kb: dict[str, int] = field(default_factory=dict)

    def cpu(self, impl: str = "asyncsim") -> float:
        return self.timing.median(impl)

    def wall(self, impl: str = "asyncsim") -> float:
        return self.timing.median(impl, wall=True)

    def ratio(self, other: str, impl: str = "asyncsim", *, wall: bool = False) -> float | None:
        if other not in self.timing.walls or impl not in self.timing.walls:
            return None
        return self.timing.ratio(impl, other, wall=wall)

    def spread(self, other: str, impl: str = "asyncsim") -> str:
        if other not in self.timing.walls or impl not in self.timing.walls:
            return "-"
        r = self.timing.ratios(impl, other)
        return f"{min(r):.2f}-{max(r):.2f}"


def _fmt(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def _mb(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.0f}"


def run_all(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    """Measure every (workload, size); return the rows and notes for skipped parts."""
    rows: list[Row] = []
    notes: list[str] = []
    plan: list[tuple[str, workloads.Case, str]] = []
    plan.append(("w1", workloads.w1_seed(args.w1_reps), "floor"))
    for n in args.w2_sizes:
        case = workloads.w2_timers(n, variants=n in args.variant_sizes)
        if n > args.looptime_max:
            case.runners.pop("looptime", None)
            notes.append(
                f"W2 N={n}: looptime skipped (its run time grows quadratically: see the "
                f"N<={args.looptime_max} rows; raise --looptime-max to run it)."
            )
        if n > args.others_max:
            case.runners.pop("aiotools", None)
            case.runners.pop("looptime", None)
        plan.append(("w2", case, "floor"))
    plan.append(("w3i", workloads.w3_pingpong(args.w3_switches), "asyncio"))
    plan.append(("w3ii", workloads.w3_queues(args.w3_switches), "asyncio"))
    plan.append(("w4", workloads.w4_gather(args.w4_requests), "floor"))
    for key, case, floor in plan:
        rounds = args.rounds if case.events <= 1_000_000 else max(1, args.rounds // 2)
        print(f"  {case.workload} size={case.size}: {rounds} rounds ...", file=sys.stderr)
        timing = interleaved(case, rounds)
        row = Row(key, case.workload, case.size, case.events, timing, floor)
        if args.rss:
            for impl in ("asyncsim", floor, "simpy"):
                row.rss_kb[impl] = peak_rss_kb(key, case.size, impl)
        rows.append(row)
    return rows, notes


def table(rows: list[Row]) -> str:
    """The main table (markdown): CPU-time ratios, wall-time ratios beside them."""
    head = (
        "| workload | size | events | asyncsim CPU (s) | vs floor CPU (wall) "
        "| vs SimPy CPU (wall) | spread vs SimPy | asyncsim-py vs SimPy CPU (wall) "
        "| compiled / Python core | us/event | peak RSS MB (asyncsim / floor / SimPy) |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        rss = r.rss_kb
        lines.append(
            f"| {r.workload} | {r.size:,} | {r.events:,} | {r.cpu():.3f} "
            f"| {_fmt(r.ratio(r.floor))} ({_fmt(r.ratio(r.floor, wall=True))}) "
            f"| **{_fmt(r.ratio('simpy'))}** ({_fmt(r.ratio('simpy', wall=True))}) "
            f"| {r.spread('simpy')} "
            f"| {_fmt(r.ratio('simpy', 'asyncsim-py'))} "
            f"({_fmt(r.ratio('simpy', 'asyncsim-py', wall=True))}) "
            f"| {_fmt(r.ratio('asyncsim-py'))} "
            f"| {1e6 * r.cpu() / r.events:.2f} "
            f"| {_mb(rss.get('asyncsim'))} / {_mb(rss.get(r.floor))} / {_mb(rss.get('simpy'))} |"
        )
    return head + "\n".join(lines) + "\n"


def others_table(rows: list[Row]) -> str:
    """Median walls of every implementation, and asyncsim's speed-up over the other simulators."""
    head = (
        "| workload | size | implementation | median CPU (s) | median wall (s) "
        "| asyncsim / it, CPU (spread) | asyncsim / it, wall |\n"
        "|---|---:|---|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        for impl in r.timing.walls:
            ratios = r.timing.ratios("asyncsim", impl)
            lines.append(
                f"| {r.workload} | {r.size:,} | {impl} | {r.timing.median(impl):.3f} "
                f"| {r.timing.median(impl, wall=True):.3f} "
                f"| {statistics.median(ratios):.3f} ({min(ratios):.2f}-{max(ratios):.2f}) "
                f"| {r.timing.ratio('asyncsim', impl, wall=True):.3f} |"
            )
    return head + "\n".join(lines) + "\n"


def variants_table(rows: list[Row]) -> str:
    """W2 under a schedule and traced: CPU-time ratios to each core and to SimPy."""
    variants = ("asyncsim+schedule", "asyncsim+trace")
    w2 = [r for r in rows if r.key == "w2" and variants[0] in r.timing.cpus]
    if not w2:
        return ""
    head = (
        "Both variants take the Python scheduler (a schedule or an instrument turns the "
        "fast path off), so they are compared with each core untraced.\n\n"
        "| size | variant | median CPU (s) | / compiled core | / Python core | / SimPy |\n"
        "|---:|---|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {r.size:,} | {v} | {r.cpu(v):.3f} | {_fmt(r.ratio('asyncsim', v))} "
        f"| {_fmt(r.ratio('asyncsim-py', v))} | {_fmt(r.ratio('simpy', v))} |"
        for r in w2
        for v in variants
    ]
    return head + "\n".join(lines) + "\n"


def scaling_note(rows: list[Row]) -> str:
    """Per-event CPU cost of W2 at each size, relative to N=10,000 (else the smallest)."""
    w2 = [r for r in rows if r.key == "w2"]
    if len(w2) < 2:
        return ""
    ref = next((r for r in w2 if r.size == 10_000), w2[0])
    lines = []
    for impl in ("asyncsim", "asyncsim-py", "simpy", "floor"):
        if impl not in ref.timing.cpus:
            continue
        base = ref.cpu(impl) / ref.events
        parts = [
            f"N={r.size:,}: {1e6 * r.cpu(impl) / r.events:.2f} us "
            f"({r.cpu(impl) / r.events / base:.2f}x)"
            for r in w2
            if impl in r.timing.cpus
        ]
        lines.append(f"- {impl}: " + "; ".join(parts))
    return (
        f"W2 per-event CPU cost, and its ratio to the N={ref.size:,} cost:\n\n"
        + "\n".join(lines)
        + "\n"
    )


def write_results(
    path: Path,
    rows: list[Row],
    notes: list[str],
    w5: str,
    memory: str,
    args: argparse.Namespace,
    load_before: str,
) -> None:
    info = machine_info()
    info["load"] = f"{load_before} at the start; {info['load']} at the end"
    text = [
        "# asyncsim benchmarks\n",
        "Generated by `python benchmarks/run.py "
        + " ".join(sys.argv[1:])
        + "`. Ratios are asyncsim's time divided by the other's, measured in one process "
        "with interleaved rounds in rotating order, median of per-round ratios (spread = lowest "
        "and highest per-round ratio). Headline ratios are CPU time (`time.process_time`) of "
        "the process, wall-time ratios in brackets. *asyncsim* is the compiled loop core, "
        "*asyncsim-py* the pure-Python core. *floor* = stock `asyncio.run` with every delay "
        "replaced by `sleep(0)`; for W3 it is stock asyncio running the same program. Events = "
        "timer firings (W1, W2, W4: one per sleep) or task switches (W3). Peak RSS = VmHWM of "
        "a fresh interpreter per (implementation, size), imports included. Every run's "
        "virtual result is checked against the exact expected value.\n",
        "## Machine\n",
        *[f"- {k}: {v}" for k, v in info.items()],
        "",
        "Load note: the machine is shared with other jobs; the load average above was read "
        "at the end of the run. Ratios are robust to load that hits both sides of a round; "
        "absolute walls and events/s are not.\n",
        "## Results\n",
        table(rows),
        scaling_note(rows),
        "## W2 under a schedule and traced\n",
        variants_table(rows),
        "## Every implementation\n",
        others_table(rows),
        "## W5 tracing\n",
        w5 + "\n",
        "## Memory per sleeping task\n",
        memory + "\n",
    ]
    if notes:
        text += ["## Notes\n", *[f"- {n}" for n in notes], ""]
    path.write_text("\n".join(text))


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",") if s]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes must be integers separated by commas: {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive integers: {text!r}")
    return sizes


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes and 3 rounds")
    p.add_argument("--rounds", type=_positive, default=5, help="interleaved rounds (default 5)")
    p.add_argument("--w1-reps", type=_positive, default=200)
    p.add_argument("--w2-sizes", type=_sizes, default=[1_000, 10_000, 100_000])
    p.add_argument("--scaling", action="store_true", help="add W2 at N=1,000,000 (long)")
    p.add_argument("--w3-switches", type=_positive, default=200_000)
    p.add_argument("--w4-requests", type=_positive, default=10_000)
    p.add_argument("--w5-tasks", type=_positive, default=10_000)
    p.add_argument(
        "--variant-sizes",
        type=_sizes,
        default=[10_000, 100_000],
        help="W2 sizes also run under a schedule and traced",
    )
    p.add_argument("--memory-tasks", type=_positive, default=100_000)
    p.add_argument("--looptime-max", type=int, default=1_000, help="largest W2 N for looptime")
    p.add_argument("--others-max", type=int, default=100_000, help="largest W2 N for aiotools")
    p.add_argument("--no-rss", dest="rss", action="store_false", help="skip peak-RSS runs")
    p.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    args = p.parse_args(argv)
    if args.quick:
        args.rounds = min(args.rounds, 3)
        args.w1_reps, args.w2_sizes = 20, [1_000, 10_000]
        args.w3_switches, args.w4_requests, args.w5_tasks = 20_000, 2_000, 1_000
        args.looptime_max = 1_000
        args.variant_sizes, args.memory_tasks = [1_000], 10_000
    if args.scaling and 1_000_000 not in args.w2_sizes:
        args.w2_sizes.append(1_000_000)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    rows, notes = run_all(args)
    print("  W5 tracing ...", file=sys.stderr)
    w5 = w5_tracing(args.w5_tasks, args.rounds)
    print("  memory per sleeping task ...", file=sys.stderr)
    memory = memory_table(args.memory_tasks)
    print(table(rows))
    print(scaling_note(rows))
    print(variants_table(rows))
    print(others_table(rows))
    print(w5)
    print(memory)
    write_results(args.output, rows, notes, w5, memory, args, load)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
