"""The ``asyncsim`` command (also ``python -m asyncsim``).

Exit codes: the script's own for ``run``; 2 for bad command-line input; 3 when
the simulation stopped with a :class:`asyncsim.SimulationError` (deadlock, timeout,
step limit, real I/O); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from asyncsim.cli.args import UsageError, cpu_spec, limit_seconds, positive_int, seconds
from asyncsim.cli.demo import cmd_demo
from asyncsim.cli.errors import UserFileError
from asyncsim.cli.model_files import load_models
from asyncsim.cli.profile import add_profile_parser, cmd_profile
from asyncsim.cli.record import RecordUsageError, add_record_parser, cmd_record
from asyncsim.cli.run_args import USAGE_HINT, looks_like_ours, split_run_argv
from asyncsim.cli.sweep import add_sweep_parser, cmd_sweep
from asyncsim.core.boundary import DEFAULT_REAL_TIME_LIMIT
from asyncsim.core.livelock import DEFAULT_LIVELOCK_STEPS
from asyncsim.report.folder import check_new_file, prepare_folder
from asyncsim.report.loader import load_trace
from asyncsim.report.page import report
from asyncsim.script import run_module, run_script

__all__ = ["main"]


def _livelock_steps(text: str) -> int | None:
    """``--livelock-steps N``: a positive integer, or 0 for no livelock detection."""
    if text.strip() == "0":
        return None
    return positive_int(text)


def _add_simulation_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--until", type=seconds, metavar="SECONDS", help="stop at this virtual time (exit code 3)"
    )
    parser.add_argument(
        "--max-steps",
        type=positive_int,
        metavar="N",
        help="stop after N callbacks per loop (exit code 3)",
    )
    parser.add_argument(
        "--livelock-steps",
        type=_livelock_steps,
        default=DEFAULT_LIVELOCK_STEPS,
        metavar="N",
        help="stop with a livelock report (exit code 3) after N callbacks at one virtual "
        f"instant with no task started or finished (default {DEFAULT_LIVELOCK_STEPS:,}; "
        "0: never)",
    )
    parser.add_argument("--seed", type=int, help="seed the random module and the models")
    parser.add_argument(
        "--start",
        type=seconds,
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
    parser.add_argument(
        "--real-time-limit",
        type=limit_seconds,
        default=DEFAULT_REAL_TIME_LIMIT,
        metavar="SECONDS",
        help="stop (exit code 3) when outside work (a thread job, real I/O, a child process) "
        f"keeps the loop waiting this many real seconds with nothing happening (default "
        f"{DEFAULT_REAL_TIME_LIMIT:g}; 'none': wait forever)",
    )
    parser.add_argument(
        "--cpu",
        type=cpu_spec,
        metavar="COST",
        help="CPU cost model: virtual seconds per task step (e.g. 0.001), 'measured', "
        "'measured:SCALE' (real CPU time x SCALE) or 'QUALNAME=SECONDS,...' per coroutine "
        "('*' for the rest); off by default",
    )


def version_line() -> str:
    """``asyncsim --version``: the version, the active loop core and the Python running it."""
    import platform

    from asyncsim import __version__
    from asyncsim.core.cores import active_core, core_reason

    # (the pure-Python core says why: not built, or ASYNCSIM_NO_EXTENSIONS set)
    core = "compiled core" if active_core() == "compiled" else f"pure-Python core: {core_reason()}"
    return (
        f"asyncsim {__version__} ({core}) on {platform.python_implementation()} "
        f"{platform.python_version()}"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asyncsim",
        description="Run asyncio programs on a virtual clock: instantly, deterministically.",
        formatter_class=argparse.RawDescriptionHelpFormatter,  # (--version's line unwrapped)
    )
    parser.add_argument("--version", action="version", version=version_line())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        usage="%(prog)s [options] SCRIPT [ARGS...]\n       %(prog)s [options] -m MODULE [ARGS...]",
        help="run an unmodified asyncio script (or -m module) on virtual time",
        description="Run SCRIPT as `python SCRIPT ARGS...` would (or MODULE as `python -m "
        "MODULE ARGS...`), with every asyncio event loop it creates running on one virtual "
        "clock. asyncsim's options go before SCRIPT (or -m MODULE); everything after it is "
        "the script's own. A `--` may end asyncsim's options.",
    )
    run.add_argument(
        "-m",
        dest="module",
        metavar="MODULE",
        help="run a module as `python -m MODULE` would (what follows is its arguments)",
    )
    run.add_argument(
        "-q", "--quiet", action="store_true", help="do not print the one-line summary on stderr"
    )
    _add_simulation_options(run)
    run.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="FILE",
        help="a Python file defining models at module level, e.g. `network = Network(...)`, "
        "or a model file recorded by `asyncsim record` (.json) (repeatable)",
    )
    run.add_argument(
        "--unknown-endpoints",
        choices=("error", "pooled"),
        default="error",
        help="with a recorded model: a host or port the model lacks is an error naming it "
        "(exit code 2; default), or is answered like the recorded HTTP routes pooled",
    )
    _add_report_options(run)
    run.add_argument("script", nargs="?", help="path of the Python script")
    run.add_argument("args", nargs="*", metavar="ARGS", help="the script's own arguments")
    parser.set_defaults(run_parser=run)

    demo = commands.add_parser(
        "demo",
        help="replay every program in examples/ and print what each printed",
        description="Replay the classic programs in examples/ on virtual time. A program "
        "with a line `# asyncsim: --model FILE` is replayed with that model file (relative "
        "to the program), e.g. the HTTP examples against a modeled example.com.",
    )
    demo.add_argument(
        "--examples",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of example scripts (default: the project's examples/)",
    )
    demo.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="where to write reports/<example>/ and index.html (default: ./reports)",
    )
    demo.add_argument(
        "--force", action="store_true", help="write into folders asyncsim did not create"
    )

    rebuild = commands.add_parser(
        "report",
        help="rebuild an HTML/Perfetto report from a saved trace",
        description="Rebuild a report from a trace written by Trace.to_json() (or the "
        "asyncsim-trace.json inside a report folder).",
    )
    rebuild.add_argument("trace", type=Path, help="the saved trace (or a report folder)")
    rebuild.add_argument(
        "-o", "--output", type=Path, required=True, metavar="DIR", help="folder to write"
    )
    rebuild.add_argument(
        "--force", action="store_true", help="write into a folder asyncsim did not create"
    )
    add_sweep_parser(commands)
    add_record_parser(commands)
    add_profile_parser(commands)
    return parser


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report", type=Path, metavar="DIR", help="trace the run and write an HTML report to DIR"
    )
    parser.add_argument(
        "--gantt", type=Path, metavar="FILE", help="trace the run and draw its timeline (.png/.svg)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="write the report into a folder asyncsim did not create",
    )


def _check_target(args: argparse.Namespace) -> None:
    """A helpful usage error for a missing script (or module); a note for stray options."""
    if args.module is None and args.script is None:
        raise UsageError(f"give the script to run: {USAGE_HINT}")
    if args.script is not None and not os.path.isfile(args.script):
        hint = ""
        if not args.script.endswith(".py") and all(
            part.isidentifier() for part in args.script.split(".")
        ):
            hint = f"; to run the module {args.script!r}, use: asyncsim run -m {args.script}"
        raise UsageError(f"can't open script {args.script!r}: no such file{hint}")


def _cmd_run(args: argparse.Namespace) -> int:
    _check_target(args)
    traced = args.report is not None or args.gantt is not None
    if args.report is not None:
        prepare_folder(args.report, force=args.force)  # refuse before running, not after
    if args.gantt is not None:
        if args.gantt.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise UsageError(f"--gantt must end in .png, .svg or .pdf, got {str(args.gantt)!r}")
        check_new_file(args.gantt, force=args.force)  # refuse before running, not after
    models = load_models(args.model, unknown=args.unknown_endpoints)
    if args.cpu is not None:
        if "cpu" in models:
            raise UsageError("--cpu is given both on the command line and in a model file")
        models["cpu"] = args.cpu
    target = (
        functools.partial(run_module, args.module)
        if args.module is not None
        else functools.partial(run_script, args.script)
    )
    outcome = target(
        args.args,
        until=args.until,
        max_steps=args.max_steps,
        livelock_steps=args.livelock_steps,
        seed=args.seed,
        patch_time=args.patch_time,
        start=args.start,
        allow_real_io=args.allow_real_io,
        real_time_limit=args.real_time_limit,
        **models,
        trace=traced,
    )
    if not args.quiet:
        print(outcome.summary(), file=sys.stderr)
    if args.gantt is not None:
        outcome.gantt(str(args.gantt), force=args.force)
        print(f"asyncsim: timeline written to {args.gantt}", file=sys.stderr)
    if args.report is not None:
        index = outcome.report(str(args.report), force=args.force)
        print(f"asyncsim: report written to {index}", file=sys.stderr)
    network = models.get("network")
    unknown = getattr(network, "unknown", None)
    if unknown and getattr(network, "unknown_policy", "error") != "error":
        print(
            f"asyncsim: answered like the recorded HTTP routes pooled: {', '.join(unknown)}",
            file=sys.stderr,
        )
    elif unknown:  # a recorded model lacks what the program called: bad input, even if caught
        raise UsageError(
            f"the program called {', '.join(unknown)}, which the recorded model does not "
            "have; record the program again so that it calls them, or pass "
            "--unknown-endpoints pooled to answer them like the recorded HTTP routes"
        )
    return outcome.exit_code


def _cmd_report(args: argparse.Namespace) -> int:
    trace = load_trace(args.trace)
    index = report(trace, args.output, force=args.force)
    print(f"asyncsim: report written to {index}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``asyncsim`` command; returns the exit code."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    target = None
    if argv[:1] == ["run"]:  # one rule: asyncsim's options, then the script and its own
        run_parser = parser.parse_args(["run", "x"]).run_parser
        try:
            split = split_run_argv(argv[1:], run_parser)
        except argparse.ArgumentTypeError as exc:
            run_parser.error(str(exc))
        target = split
        argv = ["run", *split.options]
    args = parser.parse_args(argv)
    if target is not None:
        args.script, args.module, args.args = target.script, target.module, target.args
        for arg in looks_like_ours(target, args.run_parser):
            print(
                f"asyncsim run: note: {arg!r} after the script is the script's own argument; "
                "asyncsim's options go before the script (add `--` before the script to "
                "silence this note)",
                file=sys.stderr,
            )
    handlers = {
        "run": _cmd_run,
        "demo": cmd_demo,
        "report": _cmd_report,
        "sweep": cmd_sweep,
        "record": cmd_record,
        "profile": cmd_profile,
    }
    try:
        return handlers[args.command](args)
    except (
        UsageError,
        RecordUsageError,
        UserFileError,
        ValueError,
        TypeError,
        FileNotFoundError,
        FileExistsError,
        ModuleNotFoundError,
    ) as exc:
        print(f"asyncsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("asyncsim: interrupted", file=sys.stderr)
        return 130
