"""Find rates of the schedule strategies on the bug corpus (``tests/corpus``), per kind.

    python benchmarks/find_rates.py                    # 10 unseeded searches per pair, budget 100
    python benchmarks/find_rates.py --modes after,guided --runs 10 --examples 100
    python benchmarks/find_rates.py --before /tmp/old  # also asyncsim as it was (see below)

For each bug/twin pair and each mode: ``--runs`` independent unseeded hypothesis searches
(random seeds, no database, no deadline; the generate and target phases, no shrinking)
of at most ``--examples`` examples each. A search *finds* the bug when one of its examples
fails. The table gives, per pair: searches that found the bug, examples to the first
failure (median and maximum over the searches that found it), wall and process time per
example, and the twin's failures over as many searches (a false alarm; must be 0).

Modes: ``after`` is ``schedules(**pair.strategy)`` (the defaults, plus the faults a pair's
test opts in to); ``guided`` adds ``guided=True``; ``chaos`` and ``pct`` add
``chaos=True`` / ``pct_depth=2`` (orders beyond asyncio's). ``--before DIR`` runs the same
searches in a subprocess on another asyncsim: ``DIR`` must contain an importable
``asyncsim`` package (e.g. ``git archive a67d4ee | tar -x -C /tmp/base`` and a folder
holding ``asyncsim -> /tmp/base/sim`` with ``/tmp/base/sim/models -> ../models``). Its
``schedules()`` takes no fault arguments: there, a pair's fault opt-in is dropped.

Writes the table to ``benchmarks/FIND_RATES.md`` (``--out``), with the command and machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

__all__ = ["Result", "main", "measure"]

HERE = Path(__file__).resolve().parent
MODES = {
    "after": {},
    "guided": {"guided": True},
    "chaos": {"chaos": True},
    "pct": {"pct_depth": 2},
}


@dataclass
class Result:
    """One (pair, mode): what the searches found."""

    pair: str
    kind: str
    mode: str
    runs: int
    found: int
    firsts: list[int]
    twin_failures: int
    examples: int
    wall: float
    cpu: float

    @property
    def per_example_ms(self) -> tuple[float, float]:
        return 1000 * self.wall / max(1, self.examples), 1000 * self.cpu / max(1, self.examples)


def _strategy_kwargs(pair: object, mode: str, legacy: bool) -> dict[str, object]:
    kwargs = dict(getattr(pair, "strategy", {}))
    if legacy:
        return {}  # the old schedules() knows no faults (nor any of the new options)
    kwargs.update(MODES[mode])
    return kwargs


def _search(pair: object, kwargs: dict[str, object], examples: int, fixed: bool) -> int | None:
    """One unseeded search; the number of the first failing example, or None."""
    from hypothesis import HealthCheck, Phase, given, settings

    from asyncsim.testing.strategies import schedules

    count = [0]

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.target],
        suppress_health_check=list(HealthCheck),
    )
    @given(schedules(**kwargs))
    def search(schedule: object) -> None:
        count[0] += 1
        assert pair.holds(schedule, fixed=fixed)  # type: ignore[attr-defined]

    try:
        search()
    except AssertionError:
        return count[0]
    return None


def measure(
    names: list[str] | None, modes: list[str], runs: int, examples: int, *, legacy: bool = False
) -> list[Result]:
    """Run the searches; ``legacy`` when the asyncsim imported is the old one (mode ``before``)."""
    from tests.corpus import pairs

    results = []
    for pair in pairs():
        if names and pair.name not in names:
            continue
        for mode in modes:
            kwargs = _strategy_kwargs(pair, mode, legacy)
            wall0, cpu0 = time.perf_counter(), time.process_time()
            firsts: list[int] = []
            ran = 0
            for _ in range(runs):
                first = _search(pair, kwargs, examples, fixed=False)
                ran += first if first is not None else examples
                if first is not None:
                    firsts.append(first)
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            twin = sum(_search(pair, kwargs, examples, fixed=True) is not None for _ in range(runs))
            result = Result(
                pair.name,
                pair.kind,
                "before" if legacy else mode,
                runs,
                len(firsts),
                firsts,
                twin,
                ran,
                wall,
                cpu,
            )
            results.append(result)
            print(_row(result), flush=True, file=sys.stderr)
    return results


def _row(r: Result) -> str:
    firsts = f"{statistics.median(r.firsts):g} / {max(r.firsts)}" if r.firsts else "-"
    wall, cpu = r.per_example_ms
    return (
        f"| {r.pair} | {r.kind} | {r.mode} | {r.found}/{r.runs} | {firsts} | "
        f"{wall:.1f} / {cpu:.1f} | {r.twin_failures}/{r.runs} |"
    )


def _by_kind(results: list[Result]) -> list[str]:
    lines = [
        "| kind | mode | pairs found in >= 9 of 10 | searches that found the bug | twins failed |"
    ]
    lines.append("|---|---|---:|---:|---:|")
    keys = sorted({(r.kind, r.mode) for r in results}, key=lambda k: (k[0], k[1]))
    for kind, mode in keys:
        rows = [r for r in results if r.kind == kind and r.mode == mode]
        good = sum(r.found >= 0.9 * r.runs for r in rows)
        found = sum(r.found for r in rows)
        total = sum(r.runs for r in rows)
        twins = sum(r.twin_failures for r in rows)
        lines.append(f"| {kind} | {mode} | {good}/{len(rows)} | {found}/{total} | {twins} |")
    return lines


def _before(directory: str, names: list[str] | None, runs: int, examples: int) -> list[Result]:
    env = dict(os.environ, PYTHONPATH=directory)
    command = [sys.executable, str(Path(__file__).resolve()), "--legacy-json"]
    command += ["--runs", str(runs), "--examples", str(examples)]
    if names:
        command += ["--pairs", ",".join(names)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    sys.stderr.write(done.stderr)
    return [Result(**row) for row in json.loads(done.stdout)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--examples", type=int, default=100)
    parser.add_argument("--modes", default="after,guided")
    parser.add_argument("--pairs", default="")
    parser.add_argument("--before", default=None, metavar="DIR")
    parser.add_argument("--out", default=str(HERE / "FIND_RATES.md"))
    parser.add_argument("--legacy-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names = [n for n in args.pairs.split(",") if n] or None
    if args.legacy_json:
        results = measure(names, ["after"], args.runs, args.examples, legacy=True)
        print(json.dumps([asdict(r) for r in results]))
        return 0
    results = []
    if args.before:
        results += _before(args.before, names, args.runs, args.examples)
    results += measure(names, [m for m in args.modes.split(",") if m], args.runs, args.examples)
    from benchmarks.harness import machine_info

    command = "python benchmarks/find_rates.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    header = [
        "# Find rates of the schedule strategies on the bug corpus",
        "",
        f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        f"Each pair: {args.runs} unseeded searches of at most {args.examples} examples "
        "(generate and target phases, no shrinking); *found* = searches with a failing "
        "example; *first* = examples to the first failure (median / max over the searches "
        "that found it); *ms/example* = wall / process time; *twin* = searches in which the "
        "correct twin failed (false alarms). *before* = asyncsim before issue 15 "
        "(`schedules()` of commit a67d4ee: no faults, first 32 timers, 1 s lateness).",
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in machine_info().items()],
        "",
        "## By kind",
        "",
        *_by_kind(results),
        "",
        "## By pair",
        "",
        "| pair | kind | mode | found | first (median / max) | ms/example (wall / cpu) | twin |",
        "|---|---|---|---:|---:|---:|---:|",
        *[_row(r) for r in sorted(results, key=lambda r: (r.kind, r.pair, r.mode))],
        "",
    ]
    Path(args.out).write_text("\n".join(header))
    print("\n".join(_by_kind(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
