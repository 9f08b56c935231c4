"""``asyncsim record app.py [args] -o model.json``: run a program for real and model what it did.

The script runs as ``python app.py args...`` would, on real event loops (real time,
real network), observed: its connections, the HTTP requests and stream exchanges on
them, the CPU time of its task steps. The model file written (JSON, schema version
:data:`asyncsim.models.recorded.SCHEMA_VERSION`) holds sizes, times and route templates
only, never payloads, header values or the script's arguments. ``asyncsim run app.py
--model model.json`` replays the program against it on virtual time.

asyncsim's options may come before the script, directly after it, or at the end
(``asyncsim record app.py 8080 -o model.json``; a ``--`` after the script hands
everything after it to the script instead). An existing file is never overwritten without
``--force``. With ``--report DIR`` the model is replayed right away (``--seeds N``
times) and ``DIR/index.html`` compares the recorded run with its replay.

A program that does not end by itself is stopped by Ctrl-C or ``--duration SECONDS``
(a SIGINT after that much real time): ``asyncio.run`` cancels its main task as usual,
and what it did until then is modeled (exit code 130, or the script's own if it handles
SIGINT itself).

Exit codes: the script's own; 130 when stopped; 2 for bad input (no script, a file in
the way).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any

from asyncsim.cli.args import positive_int
from asyncsim.models.recorded import RouteTemplates
from asyncsim.report.folder import prepare_folder

__all__ = ["add_record_parser", "cmd_record", "split_record_args"]

_TRAILING = {
    "-o": 1,
    "--output": 1,
    "--report": 1,
    "--seeds": 1,
    "--route": 1,
    "--duration": 1,
    "--force": 0,
}


class RecordUsageError(Exception):
    """Bad command-line input for ``asyncsim record`` (exit code 2)."""


def add_record_parser(commands: Any) -> None:
    """Add ``asyncsim record`` to the subcommands."""
    record = commands.add_parser(
        "record",
        help="run a script for real and write a model of its I/O and CPU (JSON)",
        description="Run SCRIPT for real (real time, real network) and record a model of "
        "what it did: connect/TLS/DNS times per host and port, per HTTP request kind "
        "(method and route template) or stream the time to first byte, transfer times, "
        "sizes, statuses and fault rates, and the CPU time of each task step. Replay it "
        "with `asyncsim run SCRIPT --model FILE`. No payload, header value or argument "
        "is written.",
    )
    record.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="FILE",
        help="the model file to write (default: SCRIPT's name with .model.json)",
    )
    record.add_argument(
        "--force", action="store_true", help="overwrite FILE (and write into DIR) if it exists"
    )
    record.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        help="replay the model at once and write a page comparing the two runs to DIR",
    )
    record.add_argument(
        "--seeds",
        type=positive_int,
        default=20,
        metavar="N",
        help="with --report: replays (seeds 0..N-1) for the simulated makespan's spread "
        "(default 20)",
    )
    record.add_argument(
        "--route",
        action="append",
        default=[],
        metavar="TEMPLATE",
        help="a route template such as '/users/{name}' for HTTP paths (repeatable); "
        "digits, UUIDs, hex ids and long tokens become placeholders anyway",
    )
    record.add_argument(
        "--duration",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="stop the script after SECONDS of real time, as Ctrl-C would (exit code 130), "
        "and model what it did until then: for programs that do not end by themselves "
        "(Ctrl-C does the same at any time)",
    )
    record.add_argument(
        "-q", "--quiet", action="store_true", help="do not print the summary on stderr"
    )
    record.add_argument("script", help="path of the Python script")
    record.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")


def _seconds(text: str) -> float:
    """A ``--duration``: a positive finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (0 < value < math.inf):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def split_record_args(args: argparse.Namespace) -> None:
    """Take asyncsim's options written after the script out of the script's arguments.

    Options directly after the script are asyncsim's (up to the first other argument
    or a ``--``); so are the options at the very end (``app.py 8080 -o model.json``),
    unless a ``--`` came before them: then they are the script's.
    """
    items = list(args.args)
    i = 0
    while i < len(items):
        flag, eq, value = items[i].partition("=")
        if items[i] == "--":
            i += 1
            break
        if flag not in _TRAILING:
            break
        if _TRAILING[flag] == 0:
            args.force = True
        else:
            if not eq:
                if i + 1 >= len(items):
                    raise RecordUsageError(f"{flag} needs a value")
                i += 1
                value = items[i]
            _set(args, flag, value)
        i += 1
    ended = i > 0 and items[i - 1] == "--"
    rest = items[i:]
    trailing: list[tuple[str, str | None]] = []
    while not ended and rest and "--" not in rest:
        flag, eq, value = rest[-1].partition("=")
        if rest[-1] == "--force":
            trailing.append(("--force", None))
            rest = rest[:-1]
        elif eq and flag in _TRAILING and _TRAILING[flag]:
            trailing.append((flag, value))
            rest = rest[:-1]
        elif len(rest) >= 2 and _TRAILING.get(rest[-2]) == 1:
            trailing.append((rest[-2], rest[-1]))
            rest = rest[:-2]
        else:
            break
    for flag, value in reversed(trailing):
        if value is None:
            args.force = True
        else:
            _set(args, flag, value)
    args.args = rest


def _set(args: argparse.Namespace, flag: str, value: str) -> None:
    if flag in ("-o", "--output"):
        args.output = Path(value)
    elif flag == "--report":
        args.report = Path(value)
    elif flag == "--route":
        args.route.append(value)
    elif flag == "--duration":
        try:
            args.duration = _seconds(value)
        except argparse.ArgumentTypeError as exc:
            raise RecordUsageError(f"--duration: {exc}") from None
    elif flag == "--seeds":
        try:
            args.seeds = positive_int(value)
        except argparse.ArgumentTypeError as exc:
            raise RecordUsageError(f"--seeds: {exc}") from None


def cmd_record(args: argparse.Namespace) -> int:
    """Run ``asyncsim record``; returns the exit code (the script's own)."""
    from asyncsim import __version__
    from asyncsim.recording.harness import compare, record_script

    if not os.path.isfile(args.script):
        raise RecordUsageError(f"script {args.script!r} does not exist or is not a file")
    split_record_args(args)
    output: Path = args.output or Path(Path(args.script).stem + ".model.json")
    if output.exists() and not args.force:
        raise FileExistsError(
            f"{str(output)!r} exists; choose another file with -o FILE, or pass --force to "
            "overwrite it"
        )
    if output.exists() and output.is_dir():
        raise RecordUsageError(f"-o {str(output)!r} is a folder; give a file name")
    if not output.parent.is_dir() and str(output.parent):
        raise RecordUsageError(f"-o {str(output)!r}: folder {str(output.parent)!r} does not exist")
    if args.report is not None:
        prepare_folder(args.report, force=args.force)  # refuse before running, not after
    routes = RouteTemplates(args.route)
    recording = record_script(
        args.script,
        args.args,
        routes=routes,
        trace=args.report is not None,
        version=__version__,
        duration=args.duration,
    )
    assert recording.model is not None
    recording.model.write(output)
    if not args.quiet:
        print(_summary(recording, output), file=sys.stderr)
    if args.report is not None:
        comparison = compare(
            args.script, args.args, seeds=args.seeds, routes=routes, recording=recording
        )
        index = comparison.report(args.report, force=args.force)
        if not args.quiet:
            simulated = comparison.simulated.makespan
            error = (
                (simulated - recording.makespan) / recording.makespan if recording.makespan else 0
            )
            print(
                f"asyncsim: replayed in virtual time: {simulated:.4g} s ({error:+.1%}, seed 0); "
                f"comparison written to {index}",
                file=sys.stderr,
            )
    return recording.exit_code


def _summary(recording: Any, output: Path) -> str:
    model = recording.model
    exchanges = model.recorded.get("exchanges", 0)
    endpoints = ", ".join(e.name for e in model.endpoints) or "none"
    missing = sum(item["count"] for item in model.not_recorded)
    interrupted = model.recorded.get("interrupted")
    ended = f"interrupted ({interrupted}), " if interrupted else ""
    return (
        f"asyncsim: recorded {model.program}: {recording.makespan:.4g} s of real time with its "
        f"event loops running ({recording.wall:.3f} s in all), "
        f"{model.recorded.get('connections', 0)} connections, {exchanges} exchanges, "
        f"endpoints: {endpoints}; {len(model.cpu)} coroutines' step times; "
        f"{missing} things not recorded (listed in the file); "
        f"{ended}exit code {recording.exit_code}"
        f"\nasyncsim: model written to {output}"
    )
