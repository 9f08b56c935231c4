"""Run the asyncsim benchmarks, print one table and write benchmarks/RESULTS.md.

    python benchmarks/run.py                  # the full run (about 10-15 minutes on 2 cores)
    python benchmarks/run.py --quick          # small sizes, 3 rounds: about a minute
    python benchmarks/run.py --w2-sizes 1000,10000 --rounds 5 --no-rss
    python benchmarks/run.py --scaling        # also W2 at N = 1M (long: minutes, GBs of RAM)

Ratios are measured in one process: every implementation runs once per round,
the order rotating between rounds, and a ratio is the median of the per-round
ratios (so a noisy neighbour slows both sides of a ratio alike). The spread
column gives the lowest and highest per-round ratio vs SimPy. Peak RSS comes
from a fresh interpreter per (implementation, size), since an in-process peak
keeps the high-water mark of whatever ran before.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import workloads
from benchmarks.harness import Timing, interleaved, machine_info, peak_rss_kb
from benchmarks.tracing import w5_tracing

__all__ = ["Row", "main", "run_all"]

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

    def wall(self) -> float:
        return self.timing.median("asyncsim")

    def ratio(self, other: str, *, cpu: bool = False) -> float | None:
        if other not in self.timing.walls:
            return None
        return self.timing.ratio("asyncsim", other, cpu=cpu)

    def spread(self, other: str) -> str:
        if other not in self.timing.walls:
            return "-"
        r = self.timing.ratios("asyncsim", other)
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
        case = workloads.w2_timers(n)
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
    """The main table (markdown)."""
    head = (
        "| workload | size | events | asyncsim wall (s) | vs floor | vs SimPy | spread vs SimPy "
        "| CPU vs SimPy | events/s | peak RSS MB (asyncsim / floor / SimPy) | RSS vs floor |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        rss = r.rss_kb
        rss_ratio = (
            rss["asyncsim"] / rss[r.floor] if rss.get("asyncsim") and rss.get(r.floor) else None
        )
        lines.append(
            f"| {r.workload} | {r.size:,} | {r.events:,} | {r.wall():.3f} "
            f"| {_fmt(r.ratio(r.floor))} | {_fmt(r.ratio('simpy'))} | {r.spread('simpy')} "
            f"| {_fmt(r.ratio('simpy', cpu=True))} | {r.events / r.wall():,.0f} "
            f"| {_mb(rss.get('asyncsim'))} / {_mb(rss.get(r.floor))} / {_mb(rss.get('simpy'))} "
            f"| {_fmt(rss_ratio)} |"
        )
    return head + "\n".join(lines) + "\n"


def others_table(rows: list[Row]) -> str:
    """Median walls of every implementation, and asyncsim's speed-up over the other simulators."""
    head = (
        "| workload | size | implementation | median wall (s) | asyncsim / it (spread) |\n"
        "|---|---:|---|---:|---:|\n"
    )
    lines = []
    for r in rows:
        for impl in r.timing.walls:
            ratios = r.timing.ratios("asyncsim", impl)
            lines.append(
                f"| {r.workload} | {r.size:,} | {impl} | {r.timing.median(impl):.3f} "
                f"| {statistics.median(ratios):.3f} ({min(ratios):.2f}-{max(ratios):.2f}) |"
            )
    return head + "\n".join(lines) + "\n"


def scaling_note(rows: list[Row]) -> str:
    """Per-event cost of W2 at each size, relative to the smallest."""
    w2 = [r for r in rows if r.key == "w2"]
    if len(w2) < 2:
        return ""
    base = w2[0].wall() / w2[0].events
    parts = [
        f"N={r.size:,} ({r.events:,} events): {1e6 * r.wall() / r.events:.2f} us/event "
        f"= {r.wall() / r.events / base:.2f}x the N={w2[0].size:,} cost"
        for r in w2
    ]
    return "W2 per-event cost: " + "; ".join(parts) + ".\n"


def write_results(
    path: Path, rows: list[Row], notes: list[str], w5: str, args: argparse.Namespace
) -> None:
    info = machine_info()
    text = [
        "# asyncsim benchmarks\n",
        "Generated by `python benchmarks/run.py "
        + " ".join(sys.argv[1:])
        + "`. Ratios are asyncsim's wall time divided by the other's, measured in one process "
        "with interleaved rounds in rotating order, median of per-round ratios (spread = lowest "
        "and highest per-round ratio). *floor* = stock `asyncio.run` with every delay replaced "
        "by `sleep(0)`; for W3 it is stock asyncio running the same program. *CPU vs SimPy* is "
        "the same median of per-round ratios, of `time.process_time` (the process's own CPU "
        "time, steadier than wall time on a shared machine). Events = timer "
        "firings (W1, W2, W4: one per sleep) or task switches (W3). Peak RSS = "
        "`ru_maxrss` of a fresh interpreter per (implementation, size), imports included. "
        "Every run's virtual result is checked against the exact expected value.\n",
        "## Machine\n",
        *[f"- {k}: {v}" for k, v in info.items()],
        "",
        "Load note: the machine is shared with other jobs; the load average above was read "
        "at the end of the run. Ratios are robust to load that hits both sides of a round; "
        "absolute walls and events/s are not.\n",
        "## Results\n",
        table(rows),
        scaling_note(rows),
        "## Every implementation\n",
        others_table(rows),
        "## W5 tracing\n",
        w5 + "\n",
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
    if args.scaling and 1_000_000 not in args.w2_sizes:
        args.w2_sizes.append(1_000_000)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows, notes = run_all(args)
    print("  W5 tracing ...", file=sys.stderr)
    w5 = w5_tracing(args.w5_tasks, args.rounds)
    print(table(rows))
    print(scaling_note(rows))
    print(others_table(rows))
    print(w5)
    write_results(args.output, rows, notes, w5, args)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
