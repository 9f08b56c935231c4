"""The ``asyncsim`` command (also ``python -m asyncsim``).

Exit codes: the script's own for ``run``; 2 for bad command-line input; 3 when
the simulation stopped with a :class:`asyncsim.SimulationError` (deadlock, timeout,
step limit, real I/O); 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from asyncsim.cli.args import positive_int, seconds
from asyncsim.cli.demo_runs import call_demo_run, demo_cpu, demo_run_function, titled
from asyncsim.cli.profile import add_profile_parser, cmd_profile
from asyncsim.cli.sweep import add_sweep_parser, cmd_sweep
from asyncsim.instruments.cpu import CpuCost, Measured
from asyncsim.report.demo_index import DemoEntry, write_demo_index
from asyncsim.report.folder import MARKER, prepare_folder
from asyncsim.report.loader import load_trace
from asyncsim.report.page import report
from asyncsim.runner import Run, format_exception_for_script, traceback_from
from asyncsim.script import load_model, run_script
from asyncsim.sweeps.profile import Profile
from asyncsim.sweeps.results import SweepResult
from asyncsim.trace.text import numbers_line

# Options of `asyncsim run` that are also recognised directly after the script path
# (up to the first other argument or a `--`; everything after goes to the script).
_TRAILING_FLAGS = {"--model": 1, "--report": 1, "--gantt": 1, "--force": 0}

__all__ = ["main"]


class _UsageError(Exception):
    """Bad command-line input: printed without a traceback, exit code 2."""


def _cpu(text: str) -> Any:
    """``--cpu``: SECONDS, ``measured``, ``measured:SCALE`` or ``QUALNAME=SECONDS,...``."""
    spec = text.strip()
    try:
        if spec.lower() == "measured":
            return Measured()
        if spec.lower().startswith("measured:"):
            return Measured(float(spec.split(":", 1)[1]))
        if "=" in spec:
            mapping: dict[str, float] = {}
            for item in spec.split(","):
                name, _, amount = item.partition("=")
                if not name.strip():
                    raise ValueError(f"missing coroutine name in {item!r}")
                mapping[name.strip()] = seconds(amount)
            return CpuCost(mapping).spec
        return seconds(spec)
    except (ValueError, TypeError, argparse.ArgumentTypeError) as exc:
        raise argparse.ArgumentTypeError(
            f"expected SECONDS, 'measured', 'measured:SCALE' or 'QUALNAME=SECONDS,...' "
            f"(e.g. 'crunch=0.5,*=0.001'), got {text!r}: {exc}"
        ) from None


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
        "--cpu",
        type=_cpu,
        metavar="COST",
        help="CPU cost model: virtual seconds per task step (e.g. 0.001), 'measured', "
        "'measured:SCALE' (real CPU time x SCALE) or 'QUALNAME=SECONDS,...' per coroutine "
        "('*' for the rest); off by default",
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
        "loop it creates running on one virtual clock. --model, --report, --gantt and --force "
        "may also directly follow SCRIPT (before its ARGS; a `--` ends them).",
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
        help="a Python file defining models at module level, e.g. `network = Network(...)` "
        "(repeatable)",
    )
    _add_report_options(run)
    run.add_argument("script", help="path of the Python script")
    run.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        help="arguments passed to the script (--model/--report/--gantt/--force directly after "
        "the script are asyncsim's; a -- ends them)",
    )

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


def _split_trailing(args: argparse.Namespace) -> None:
    """Move asyncsim's own options written right after the script path into ``args``.

    ``asyncsim run app.py --model net.py --report out a b`` runs ``app.py a b``: the
    options in :data:`_TRAILING_FLAGS` are recognised only directly after the script
    (as ``python app.py`` would pass anything later on), and a ``--`` ends them.
    """
    items = list(args.args)
    i = 0
    while i < len(items):
        item = items[i]
        if item == "--":
            i += 1
            break
        flag, eq, value = item.partition("=")
        if flag not in _TRAILING_FLAGS:
            break
        if _TRAILING_FLAGS[flag] == 0:
            setattr(args, flag[2:], True)
        else:
            if not eq:
                if i + 1 >= len(items):
                    raise _UsageError(f"{flag} needs a value")
                i += 1
                value = items[i]
            if flag == "--model":
                args.model.append(value)
            else:
                setattr(args, flag[2:], Path(value))
        i += 1
    args.args = items[i:]


def _load_models(paths: Sequence[str | Path]) -> dict[str, object]:
    models: dict[str, object] = {}
    for path in paths:
        if not os.path.isfile(path):
            raise _UsageError(f"model file {str(path)!r} does not exist or is not a file")
        try:
            loaded = load_model(path)
        except Exception as exc:
            model = os.path.abspath(path)
            if traceback_from(exc, model) is None:
                raise  # not raised by the model file's code: load_model's own message
            where = format_exception_for_script(exc, model).rstrip()
            raise _UsageError(f"model file {str(path)!r} failed:\n{where}") from None
        for name, value in loaded.items():
            if name in models:
                raise _UsageError(f"two model files define {name!r}; keep one")
            models[name] = value
    return models


#: A line in an example program naming the model files ``asyncsim demo`` replays it with.
DEMO_DIRECTIVE = "# asyncsim: --model "


def demo_models(script: Path) -> list[Path]:
    """Model files named by ``# asyncsim: --model FILE`` lines (relative to the script)."""
    found = []
    for line in script.read_text(encoding="utf-8").splitlines():
        if line.startswith(DEMO_DIRECTIVE):
            found.append(script.parent / line[len(DEMO_DIRECTIVE) :].strip())
    return found


def _cmd_run(args: argparse.Namespace) -> int:
    if not os.path.isfile(args.script):
        raise _UsageError(f"script {args.script!r} does not exist or is not a file")
    _split_trailing(args)
    traced = args.report is not None or args.gantt is not None
    if args.report is not None:
        prepare_folder(args.report, force=args.force)  # refuse before running, not after
    if args.gantt is not None and args.gantt.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise _UsageError(f"--gantt must end in .png, .svg or .pdf, got {str(args.gantt)!r}")
    models = _load_models(args.model)
    if args.cpu is not None:
        if "cpu" in models:
            raise _UsageError("--cpu is given both on the command line and in a model file")
        models["cpu"] = args.cpu
    outcome = run_script(
        args.script,
        args.args,
        until=args.until,
        max_steps=args.max_steps,
        seed=args.seed,
        patch_time=args.patch_time,
        start=args.start,
        allow_real_io=args.allow_real_io,
        **models,  # type: ignore[arg-type]
        trace=traced,
    )
    if not args.quiet:
        print(outcome.summary(), file=sys.stderr)
    if args.gantt is not None:
        outcome.gantt(str(args.gantt))
        print(f"asyncsim: timeline written to {args.gantt}", file=sys.stderr)
    if args.report is not None:
        index = outcome.report(str(args.report), force=args.force)
        print(f"asyncsim: report written to {index}", file=sys.stderr)
    return outcome.exit_code


def find_examples(folder: Path | None = None) -> Path:
    """The examples folder: ``folder``, else the project's, else ``./examples``."""
    candidates = (
        [folder]
        if folder is not None
        else [Path(__file__).resolve().parents[2] / "examples", Path.cwd() / "examples"]
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
    root = _prepare_demo_root(args.output, force=args.force)
    for script in scripts:  # check every folder before running anything
        prepare_folder(root / script.stem, force=args.force)
    failures = 0
    total_virtual = total_wall = 0.0
    entries = []
    for index, script in enumerate(scripts, 1):
        model_files = demo_models(script)
        models = _load_models(model_files)
        cpu = demo_cpu(script)
        if cpu is not None:
            models["cpu"] = _cpu(cpu)
        given = [f"--model {p.name}" for p in model_files] + ([f"--cpu {cpu}"] if cpu else [])
        with_models = f" ({' '.join(given)})" if given else ""
        print(f"=== [{index}/{len(scripts)}] {script.name}{with_models} ===", flush=True)
        outcome = run_script(script, [], trace=True, **models)  # type: ignore[arg-type]
        sys.stdout.flush()
        total_virtual += outcome.elapsed
        total_wall += outcome.wall
        status = "ok" if outcome.exit_code == 0 else f"FAILED (exit code {outcome.exit_code})"
        line = f"{numbers_line(outcome.elapsed, outcome.wall, outcome.steps)}: {status}"
        entry = DemoEntry(
            script.stem,
            line,
            outcome.exit_code == 0,
            about=_about(script),
            options=" ".join(given),
            reported="the script's run",
            elapsed=outcome.elapsed,
            wall=outcome.wall,
            steps=outcome.steps,
            tasks=len(outcome.trace.tasks) if outcome.trace is not None else None,
        )
        function = demo_run_function(script) if outcome.exit_code == 0 else None
        if function is None:
            report_index = outcome.report(str(root / script.stem), force=args.force)
        else:
            report_index, entry = _report_demo_run(script, function, root, entry, args.force)
        shown = "" if function is None else f"\n    reported: {entry.reported}: {entry.numbers()}"
        print(f"--- {script.name}: {line}{shown}\n    report: {report_index}\n", flush=True)
        entries.append(entry)
        failures += outcome.exit_code != 0
    index_page = write_demo_index(root, entries)
    print(
        f"{len(scripts)} programs replayed: {total_virtual:.6g} s of virtual time in "
        f"{total_wall:.3f} s of wall time; {failures} failed.\nReports: {index_page}"
    )
    return 1 if failures else 0


def _about(script: Path) -> str:
    """The first line of the script's docstring: what the program shows."""
    try:
        doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    except SyntaxError:
        return ""
    first = doc.strip().splitlines()[0] if doc and doc.strip() else ""
    return first.replace("``", "")


def _report_demo_run(
    script: Path, function: str, root: Path, entry: DemoEntry, force: bool
) -> tuple[Path, DemoEntry]:
    """Report what ``function()`` of ``script`` returns (``# asyncsim: --demo-run``)."""
    folder = root / script.stem
    demo = call_demo_run(script, function)
    outcome = demo.outcome
    if isinstance(outcome, SweepResult):
        index = outcome.report(folder, overwrite=True)
        runs = f"{len(outcome):,} runs over {len(outcome.points())} points"
        wall = outcome.wall if outcome.wall is not None else entry.wall
        return index, replace(
            entry,
            reported=f"{demo.about} ({runs})",
            elapsed=None,
            wall=wall,
            steps=sum(r.steps for r in outcome.records),
            tasks=None,
            timeline=False,
        )
    if isinstance(outcome, Profile):
        index = outcome.report(folder, force=force)
        records = outcome.result.records
        return index, replace(
            entry,
            reported=f"{demo.about} ({len(records):,} runs, {len(outcome.components)} components)",
            elapsed=None,
            wall=outcome.wall,
            steps=sum(r.steps for r in records),
            tasks=None,
            timeline=False,
        )
    if not isinstance(outcome, Run) or outcome.trace is None:
        raise ValueError(
            f"{script.name}: {function}() must return a traced asyncsim.Run, a SweepResult "
            f"or a what-if Profile, "
            f"got {type(outcome).__name__}"
        )
    trace = titled(outcome.trace, f"{script.name}: {demo.about}")
    index = report(trace, folder, wall=outcome.wall, force=force)
    raised = f" (raised {type(outcome.exception).__name__})" if outcome.exception else ""
    return index, replace(
        entry,
        reported=demo.about + raised,
        elapsed=outcome.elapsed,
        wall=outcome.wall,
        steps=outcome.steps,
        tasks=len(trace.tasks),
    )


def _prepare_demo_root(root: Path, *, force: bool) -> Path:
    """The demo's output folder: never overwrite an index.html asyncsim did not write."""
    if root.exists() and not root.is_dir():
        raise _UsageError(f"output {str(root)!r} exists and is not a folder")
    ours = (root / MARKER).exists()
    if (root / "index.html").exists() and not ours and not force:
        raise FileExistsError(
            f"{str(root / 'index.html')!r} was not written by asyncsim; choose another "
            "folder with -o DIR, or pass --force to overwrite it"
        )
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text(
        "asyncsim demo writes index.html and one folder per example here.\n", encoding="utf-8"
    )
    return root


def _cmd_report(args: argparse.Namespace) -> int:
    trace = load_trace(args.trace)
    index = report(trace, args.output, force=args.force)
    print(f"asyncsim: report written to {index}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``asyncsim`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    handlers = {
        "run": _cmd_run,
        "demo": _cmd_demo,
        "report": _cmd_report,
        "sweep": cmd_sweep,
        "profile": cmd_profile,
    }
    try:
        return handlers[args.command](args)
    except (_UsageError, ValueError, TypeError, FileNotFoundError, FileExistsError) as exc:
        print(f"asyncsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("asyncsim: interrupted", file=sys.stderr)
        return 130
