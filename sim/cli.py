"""The ``asyncsim`` command (also ``python -m sim``).

Exit codes: the script's own for ``run``; 2 for bad command-line input; 3 when
the simulation stopped with a :class:`sim.SimulationError` (deadlock, timeout,
step limit, real I/O); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ._sweep_cli import add_sweep_parser, cmd_sweep
from .script import ScriptRun, run_script

__all__ = ["main"]


class _UsageError(Exception):
    """Bad command-line input: printed without a traceback, exit code 2."""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number of seconds >= 0, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _add_simulation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--until", type=_seconds, metavar="SECONDS", help="stop at this virtual time (exit code 3)"
    )
    parser.add_argument(
        "--max-steps",
        type=_positive_int,
        metavar="N",
        help="stop after N callbacks per loop (exit code 3)",
    )
    parser.add_argument("--seed", type=int, help="seed the random module and the models")
    parser.add_argument(
        "--start",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="virtual time the clock starts at (default 0)",
    )
    parser.add_argument(
        "--no-patch-time",
        dest="patch_time",
        action="store_false",
        help="leave time.monotonic/perf_counter/time/sleep alone",
    )
    parser.add_argument(
        "--allow-real-io", action="store_true", help="allow real sockets, pipes and subprocesses"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asyncsim",
        description="Run asyncio programs on a virtual clock: instantly, deterministically.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="run an unmodified asyncio script on virtual time",
        description="Run SCRIPT as `python SCRIPT ARGS...` would, with every asyncio event "
        "loop it creates running on one virtual clock.",
    )
    run.add_argument(
        "-q", "--quiet", action="store_true", help="do not print the one-line summary on stderr"
    )
    _add_simulation_options(run)
    run.add_argument("script", help="path of the Python script")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")

    demo = commands.add_parser(
        "demo",
        help="replay every program in examples/ and print what each printed",
        description="Replay the classic programs in examples/ on virtual time.",
    )
    demo.add_argument(
        "--examples",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of example scripts (default: the project's examples/)",
    )
    add_sweep_parser(commands)
    return parser


def _print_summary(outcome: ScriptRun) -> None:
    print(outcome.summary(), file=sys.stderr)


def _cmd_run(args: argparse.Namespace) -> int:
    if not os.path.isfile(args.script):
        raise _UsageError(f"script {args.script!r} does not exist or is not a file")
    outcome = run_script(
        args.script,
        args.args,
        until=args.until,
        max_steps=args.max_steps,
        seed=args.seed,
        patch_time=args.patch_time,
        start=args.start,
        allow_real_io=args.allow_real_io,
    )
    if not args.quiet:
        _print_summary(outcome)
    return outcome.exit_code


def find_examples(folder: Path | None = None) -> Path:
    """The examples folder: ``folder``, else the project's, else ``./examples``."""
    candidates = (
        [folder]
        if folder is not None
        else [Path(__file__).resolve().parent.parent / "examples", Path.cwd() / "examples"]
    )
    for candidate in candidates:
        if candidate is not None and candidate.is_dir():
            return candidate
    where = folder if folder is not None else " or ".join(str(c) for c in candidates)
    raise _UsageError(f"no examples folder found at {where}")


def example_scripts(folder: Path) -> list[Path]:
    """The runnable example programs in ``folder`` (helper modules are skipped)."""
    scripts = []
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8"):
            scripts.append(path)
    return scripts


def _cmd_demo(args: argparse.Namespace) -> int:
    folder = find_examples(args.examples)
    scripts = example_scripts(folder)
    if not scripts:
        raise _UsageError(f"no example programs in {folder}")
    failures = 0
    total_virtual = total_wall = 0.0
    for index, script in enumerate(scripts, 1):
        print(f"=== [{index}/{len(scripts)}] {script.name} ===", flush=True)
        outcome = run_script(script, [])
        sys.stdout.flush()
        total_virtual += outcome.elapsed
        total_wall += outcome.wall
        status = "ok" if outcome.exit_code == 0 else f"FAILED (exit code {outcome.exit_code})"
        print(
            f"--- {script.name}: {outcome.elapsed:.6g} s virtual, {outcome.wall:.3f} s wall, "
            f"{outcome.steps} steps: {status}\n",
            flush=True,
        )
        failures += outcome.exit_code != 0
    print(
        f"{len(scripts)} programs replayed: {total_virtual:.6g} s of virtual time in "
        f"{total_wall:.3f} s of wall time; {failures} failed."
    )
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``asyncsim`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    handlers = {"run": _cmd_run, "demo": _cmd_demo, "sweep": cmd_sweep}
    try:
        return handlers[args.command](args)
    except (_UsageError, ValueError, TypeError, FileNotFoundError) as exc:
        print(f"asyncsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("asyncsim: interrupted", file=sys.stderr)
        return 130
