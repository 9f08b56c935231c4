"""``asyncsim demo``: replay every example program and write a report per program.

``reports/index.html`` is a table of the programs linked to their reports; a program's
comment lines (:mod:`asyncsim.cli.demo_runs`) name its model files, CPU model, or the
function whose outcome is reported instead of its own run.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import replace
from pathlib import Path

from asyncsim.cli.args import UsageError, cpu_spec
from asyncsim.cli.demo_runs import (
    call_demo_run,
    demo_cpu,
    demo_models,
    demo_run_function,
    titled,
)
from asyncsim.cli.model_files import load_models
from asyncsim.report.demo_index import DemoEntry, write_demo_index
from asyncsim.report.folder import prepare_folder
from asyncsim.report.page import report
from asyncsim.runner import Run
from asyncsim.script import run_script
from asyncsim.sweeps.profile import Profile
from asyncsim.sweeps.results import SweepResult
from asyncsim.trace.text import numbers_line

__all__ = ["cmd_demo", "example_scripts", "find_examples"]


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
    if folder is not None:
        raise UsageError(f"no examples folder at {str(folder)!r}")
    raise UsageError(
        "no examples folder found (looked in "
        + " and ".join(repr(str(c)) for c in candidates)
        + "). The examples ship with the asyncsim repository, not the installed package: "
        "run `asyncsim demo` inside a clone of it (pip install -e '.[test]' from there), or "
        "pass --examples DIR"
    )


def example_scripts(folder: Path) -> list[Path]:
    """The runnable example programs in ``folder`` (helper modules are skipped)."""
    scripts = []
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        if 'if __name__ == "__main__":' in path.read_text(encoding="utf-8"):
            scripts.append(path)
    return scripts


def cmd_demo(args: argparse.Namespace) -> int:
    folder = find_examples(args.examples)
    scripts = example_scripts(folder)
    if not scripts:
        raise UsageError(f"no example programs in {folder}")
    root = _prepare_demo_root(args.output, force=args.force)
    for script in scripts:  # check every folder before running anything
        prepare_folder(root / script.stem, force=args.force)
    failures = 0
    total_virtual = total_wall = 0.0
    entries = []
    for index, script in enumerate(scripts, 1):
        model_files = demo_models(script)
        models = load_models(model_files)
        cpu = demo_cpu(script)
        if cpu is not None:
            models["cpu"] = cpu_spec(cpu)
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
    """The demo's output folder: new, empty or written by asyncsim (its marker), unless
    ``--force``; a folder that is not asyncsim's is never marked as asyncsim's."""
    if root.exists() and not root.is_dir():
        raise UsageError(f"output {str(root)!r} exists and is not a folder")
    try:
        return prepare_folder(root, force=force)
    except FileExistsError:
        raise FileExistsError(
            f"output folder {str(root)!r} is not empty and was not written by asyncsim; "
            "choose another folder with -o DIR, or pass --force to write into it"
        ) from None
