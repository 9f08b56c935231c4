"""``asyncsim sweep app.py --param concurrency=10,50,100 --seeds 1000 -o reports/sweep``.

The script exposes the function to sweep at module level: ``async def main(...)``
by default, another name with ``--func NAME``. Its keyword parameters are the swept
names; if it returns a dict, those are the run's metrics. The script is imported as
a module, so its ``if __name__ == "__main__":`` block does not run.

With ``-o FOLDER`` the sweep writes ``FOLDER/results.jsonl`` (each run as it finishes;
``--resume`` continues an interrupted sweep), ``FOLDER/summary.txt`` and the HTML
report ``FOLDER/index.html``. Exit code 0 when every run finished without error, 1
when some raised (they are in the table), 2 for bad input.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from asyncsim.cli.args import positive_int, positive_seconds
from asyncsim.cli.errors import UserFileError, user_traceback
from asyncsim.report.folder import MARKER
from asyncsim.sweeps.appfunc import ScriptFunction
from asyncsim.sweeps.runner import sweep

__all__ = ["add_sweep_parser", "cmd_sweep", "parse_param"]


def _value(text: str) -> Any:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            break
        return value
    return text.strip()


def parse_param(text: str) -> tuple[str, list[Any]]:
    """``"concurrency=10,50,100"`` -> ``("concurrency", [10, 50, 100])``.

    Values are ints, floats, ``true``/``false``/``none``, or else strings.
    """
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=V1,V2,..., got {text!r}")
    items = [v for v in values.split(",") if v.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"--param {name}: no values in {text!r}")
    return name, [_value(v) for v in items]


def add_sweep_parser(commands: Any) -> None:
    """Register the ``sweep`` subcommand on the ``asyncsim`` parser."""
    parser = commands.add_parser(
        "sweep",
        help="run a script's async function over a grid of parameters and many seeds",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # --seed must not pass for --seeds
    )
    parser.add_argument("script", help="path of the Python script defining the function")
    parser.add_argument(
        "--func", default="main", metavar="NAME", help="the async function to sweep (default main)"
    )
    parser.add_argument(
        "--param",
        type=parse_param,
        action="append",
        default=[],
        metavar="NAME=V1,V2,...",
        help="a swept parameter and its values (repeat for a grid)",
    )
    parser.add_argument(
        "--seeds", type=positive_int, default=100, metavar="N", help="seeds 0..N-1 per point (100)"
    )
    parser.add_argument("-o", "--out", type=Path, metavar="FOLDER", help="write results here")
    parser.add_argument("--resume", action="store_true", help="continue FOLDER's results.jsonl")
    parser.add_argument("--overwrite", action="store_true", help="replace FOLDER's results")
    parser.add_argument(
        "--executor",
        choices=("processes", "inline"),
        default="processes",
        help="local worker processes (default) or one after another in this process",
    )
    parser.add_argument(
        "--workers", type=positive_int, metavar="N", help="worker processes (cores)"
    )
    parser.add_argument(
        "--dask", metavar="ADDRESS", help="run on the Dask scheduler at ADDRESS (needs [dask])"
    )
    parser.add_argument("--x", metavar="NAME", help="parameter on the plots' x axis")
    parser.add_argument(
        "--timelines",
        type=int,
        default=1,
        metavar="N",
        help="timeline reports of the N slowest and N fastest runs (default 1; needs tracing)",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )
    parser.add_argument(
        "--until",
        type=positive_seconds,
        metavar="SECONDS",
        help="stop each run at this virtual time",
    )
    parser.add_argument(
        "--max-steps", type=positive_int, metavar="N", help="stop each run after N callbacks"
    )


def _check_out_folder(out: Path, *, resume: bool, overwrite: bool) -> None:
    """``-o FOLDER`` must be new, empty, or a sweep folder asyncsim wrote (its marker, or
    only a ``results.jsonl``); continuing or replacing one needs ``--resume``/``--overwrite``.
    A folder holding anything else is refused even then: nothing there is overwritten."""
    if out.exists() and not out.is_dir():
        raise ValueError(f"-o {os.fspath(out)!r} exists and is not a folder")
    if not out.is_dir():
        return
    entries = sorted(p.name for p in out.iterdir())
    if not entries:
        return
    foreign = [name for name in entries if name not in (MARKER, "results.jsonl")]
    if MARKER not in entries and foreign:
        raise FileExistsError(
            f"-o {os.fspath(out)!r} holds files asyncsim did not write ("
            + ", ".join(foreign[:5])
            + (", ..." if len(foreign) > 5 else "")
            + "); choose a new or empty folder for the sweep"
        )
    if not (resume or overwrite):
        raise ValueError(
            f"-o {os.fspath(out)!r} is not empty: pass --resume to continue the sweep "
            f"saved there, or --overwrite to replace its results and report"
        )


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run ``asyncsim sweep``; returns the exit code."""
    fn = ScriptFunction(args.script, args.func)
    try:
        fn.load()  # a missing function or a script that fails to import: say so now
    except Exception as exc:
        where = user_traceback(exc, args.script)
        if where is None:
            raise  # (ScriptFunction's own message: no such function, not a file)
        raise UserFileError(
            f"script {os.fspath(args.script)!r} failed:\n{where.rstrip()}"
        ) from None
    params: dict[str, list[Any]] = {}
    for name, values in args.param:
        if name in params:
            raise ValueError(f"--param {name} given twice")
        params[name] = values
    if args.x is not None and args.x not in params:
        raise ValueError(f"--x {args.x!r} is not a swept parameter; --param gives {list(params)}")
    if args.timelines < 0:
        raise ValueError(f"--timelines must be >= 0, got {args.timelines}")
    results = None
    if args.out is not None:
        _check_out_folder(args.out, resume=args.resume, overwrite=args.overwrite)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / MARKER).write_text(
            "This folder was written by asyncsim sweep, which may overwrite it.\n",
            encoding="utf-8",
        )
        results = args.out / "results.jsonl"
    executor: Executor | str = args.executor
    client = None
    if args.dask:
        try:
            from distributed import Client
        except ImportError:
            raise ValueError(
                "--dask needs dask.distributed: pip install 'asyncsim[dask]'"
            ) from None
        client = Client(args.dask)
        executor = client.get_executor()
    try:
        result = sweep(
            fn,
            params=params,
            seeds=args.seeds,
            executor=executor,
            workers=args.workers,
            out=results,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=args.progress,
            until=args.until,
            max_steps=args.max_steps,
        )
    finally:
        if client is not None:
            client.close()
    table = result.summary().to_text()
    print(table)
    if args.out is not None:
        (args.out / "summary.txt").write_text(table + "\n", encoding="utf-8")
        index = result.report(args.out, x=args.x, timelines=args.timelines, overwrite=True)
        print(f"report: {index}", file=sys.stderr)
    if result.errors:
        first = result.errors[0]
        print(
            f"{len(result.errors)} of {len(result)} runs raised; first: {first.label()}: "
            f"{first.error_type}: {first.error_message}",
            file=sys.stderr,
        )
        return 1
    return 0
