"""``asyncsim profile app.py [--model net.py] [--seeds N] -o DIR``: a causal what-if profile.

Profiles the script's module-level ``async def main()`` (or ``--func NAME``): for every
component that takes virtual time (asyncio.sleep and timer call sites, modeled services,
HTTP hosts and links, the CPU model per coroutine, thread jobs by function) and every
speedup, the function runs once per seed with that component's durations scaled; the
table ranks the components by how much sooner the run ends (see ``asyncsim.whatif``).
The script is imported as a module, so its ``if __name__ == "__main__":`` block does
not run.

With ``-o FOLDER``: ``FOLDER/index.html`` (the causal-profile plot, the ranked table,
what changed behaviour), ``profile.png``, ``profile.txt``, ``profile.json``,
``results.jsonl`` (every run) and ``baseline/`` (the first run's timeline report). Exit
code 0 when the profile ran (runs that raised are part of the answer), 2 for bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from asyncsim.cli.args import positive_int, positive_seconds
from asyncsim.cli.sweep import parse_param
from asyncsim.report.folder import prepare_folder
from asyncsim.sweeps.appfunc import ScriptFunction
from asyncsim.sweeps.whatif import whatif

__all__ = ["add_profile_parser", "cmd_profile", "parse_factors"]


def parse_factors(text: str) -> list[float]:
    """``"0.25,0.5,1"`` -> ``[0.25, 0.5, 1.0]``; ``"none"`` -> ``[]``."""
    if text.strip().lower() == "none":
        return []
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}")
    try:
        return [float(item) for item in items]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {text!r}"
        ) from None


def add_profile_parser(commands: Any) -> None:
    """Register the ``profile`` subcommand on the ``asyncsim`` parser."""
    parser = commands.add_parser(
        "profile",
        help="a causal what-if profile: which component, made faster, shortens the run",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("script", help="path of the Python script defining the function")
    parser.add_argument(
        "--func", default="main", metavar="NAME", help="the async function (default main)"
    )
    parser.add_argument(
        "--param",
        type=parse_param,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a keyword argument for the function (repeat for more)",
    )
    parser.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="FILE",
        help="a model file defining `network` and/or `cpu` (as for asyncsim run), "
        "loaded afresh for every run",
    )
    parser.add_argument(
        "--seeds", type=positive_int, default=20, metavar="N", help="seeds 0..N-1 (default 20)"
    )
    parser.add_argument(
        "--speedups",
        type=parse_factors,
        default=None,
        metavar="S1,S2,...",
        help="speedups from -99 to 1: durations times 1-S (default 0.25,0.5,1; 'none': "
        "slowdowns only)",
    )
    parser.add_argument(
        "--slowdowns",
        type=parse_factors,
        default=None,
        metavar="F1,F2,...",
        help="slowdown factors from 1 to 100: durations times F (e.g. 2,4)",
    )
    parser.add_argument(
        "--component",
        action="append",
        default=None,
        metavar="NAME",
        help="profile this component only (repeat; default: every one that takes time), "
        "e.g. app.py:12, service:db, http:example.com, cpu:crunch",
    )
    parser.add_argument("-o", "--out", type=Path, metavar="FOLDER", help="write the report here")
    parser.add_argument(
        "--force", action="store_true", help="write into FOLDER even if it holds a profile"
    )
    parser.add_argument(
        "--executor",
        choices=("processes", "inline"),
        default="processes",
        help="local worker processes (default) or one after another in this process",
    )
    parser.add_argument("--workers", type=positive_int, metavar="N", help="worker processes")
    parser.add_argument(
        "--dask", metavar="ADDRESS", help="run on the Dask scheduler at ADDRESS (needs [dask])"
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bar"
    )
    parser.add_argument(
        "--until", type=positive_seconds, metavar="SECONDS", help="stop each run at this time"
    )
    parser.add_argument(
        "--max-steps", type=positive_int, metavar="N", help="stop each run after N callbacks"
    )


def _kwargs(pairs: list[tuple[str, list[Any]]]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for name, values in pairs:
        if name in kwargs:
            raise ValueError(f"--param {name} given twice")
        if len(values) != 1:
            raise ValueError(f"--param {name}: give one value (a profile does not sweep)")
        kwargs[name] = values[0]
    return kwargs


def cmd_profile(args: argparse.Namespace) -> int:
    """Run ``asyncsim profile``; returns the exit code."""
    fn = ScriptFunction(args.script, args.func)
    fn.load()  # a missing function or a script that fails to import: say so now
    kwargs = _kwargs(args.param)
    results = None
    if args.out is not None:
        out: Path = args.out
        if out.exists() and not out.is_dir():
            raise ValueError(f"-o {os.fspath(out)!r} exists and is not a folder")
        if (out / "results.jsonl").exists() and not args.force:
            raise ValueError(
                f"-o {os.fspath(out)!r} already holds a profile: pass --force to replace it"
            )
        prepare_folder(out, force=args.force)  # never a folder of the user's without --force
        results = out / "results.jsonl"
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
    speedups = [0.25, 0.5, 1.0] if args.speedups is None else args.speedups
    try:
        profile = whatif(
            fn,
            speedups=speedups,
            slowdowns=args.slowdowns,
            seeds=args.seeds,
            components=args.component,
            kwargs=kwargs,
            model=args.model or None,
            executor=executor,
            workers=args.workers,
            out=results,
            overwrite=args.force,
            progress=args.progress,
            until=args.until,
            max_steps=args.max_steps,
        )
    finally:
        if client is not None:
            client.close()
    print(profile.table())
    if args.out is not None:
        index = profile.report(args.out, force=True)
        print(f"report: {index}", file=sys.stderr)
    return 0
