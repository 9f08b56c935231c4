"""What ``asyncsim demo`` reports for a program, as the program's own comment lines ask.

Most examples are replayed as scripts and their own run is reported. Two kinds need more,
and say so in a comment line, as ``# asyncsim: --model FILE`` names a model file:

* ``# asyncsim: --cpu SPEC``: replay with a CPU cost model, ``SPEC`` as ``asyncsim run
  --cpu`` takes it (``crunch=2.0``): the CPU example shows the lateness it is about;
* ``# asyncsim: --demo-run FUNCTION``: report what the module-level ``FUNCTION()``
  returns instead of the script's own run: a traced :class:`asyncsim.Run` (a bug hunt's
  replay of its failing schedule), a :class:`asyncsim.SweepResult` (a sweep's report) or a
  :class:`asyncsim.Profile` (a what-if profile's page).
  The script's own run searched for that run or swept; its own chart would be empty.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEMO_CPU",
    "DEMO_RUN",
    "DemoRun",
    "call_demo_run",
    "demo_cpu",
    "demo_run_function",
    "titled",
]

#: A line in an example program giving the CPU model ``asyncsim demo`` replays it with.
DEMO_CPU = "# asyncsim: --cpu "
#: A line in an example program naming the function whose outcome ``asyncsim demo`` reports.
DEMO_RUN = "# asyncsim: --demo-run "


def _directive(script: Path, prefix: str) -> str | None:
    for line in script.read_text(encoding="utf-8").splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    return None


def demo_cpu(script: Path) -> str | None:
    """The ``--cpu`` spec named by a ``# asyncsim: --cpu SPEC`` line, or None."""
    return _directive(script, DEMO_CPU)


def demo_run_function(script: Path) -> str | None:
    """The function named by a ``# asyncsim: --demo-run FUNCTION`` line, or None."""
    return _directive(script, DEMO_RUN)


@dataclass(frozen=True)
class DemoRun:
    """The outcome ``FUNCTION()`` returned, and what the demo index says about it."""

    #: A traced ``Run``, a ``SweepResult`` or a what-if ``Profile``.
    outcome: Any
    #: The first line of the function's docstring (what the report shows), or its name.
    about: str


def call_demo_run(script: Path, function: str) -> DemoRun:
    """Import ``script`` as a module (its ``__main__`` block does not run) and call
    ``function()``; the script's folder is on ``sys.path`` meanwhile, as when it ran."""
    name = f"_asyncsim_demo_{script.stem}"
    spec = importlib.util.spec_from_file_location(name, script)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot import {str(script)!r}")
    module = importlib.util.module_from_spec(spec)
    saved_path = sys.path[:]
    sys.modules[name] = module
    try:
        sys.path.insert(0, str(script.parent))
        spec.loader.exec_module(module)
        func = getattr(module, function, None)
        if not callable(func):
            raise ValueError(
                f"{script.name} names --demo-run {function}, which is not a function there"
            )
        outcome = func()
    finally:
        sys.path[:] = saved_path
        sys.modules.pop(name, None)
    doc = (func.__doc__ or "").strip().splitlines()
    return DemoRun(outcome, doc[0].rstrip(".").replace("``", "") if doc else f"{function}()")


def titled(trace: Any, title: str) -> Any:
    """``trace`` with its report's title set to ``title``."""
    return dataclasses.replace(trace, title=title)
