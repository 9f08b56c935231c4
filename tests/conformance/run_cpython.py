"""Run CPython's own asyncio test modules on the virtual loop and print a table.

Usage::

    python -m tests.conformance.run_cpython                   # every module
    python -m tests.conformance.run_cpython --module test_locks --module test_queues
    python -m tests.conformance.run_cpython --module test_tasks -v   # show failures

Each module runs in its own interpreter (see ``_child.py`` for how the loop is
installed). Tests listed in ``exclusions.toml`` are not run and are counted as
excluded; the only tests allowed there race a real-time party (a thread, a child
process, a signal, a TLS peer) against a virtual timer. Everything else must pass.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ALL_MODULES", "FAST_MODULES", "ModuleResult", "has_test_package", "run_modules"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EXCLUSIONS = HERE / "exclusions.toml"

ALL_MODULES = (
    "test.test_asyncio.test_tasks",
    "test.test_asyncio.test_futures",
    "test.test_asyncio.test_futures2",
    "test.test_asyncio.test_locks",
    "test.test_asyncio.test_queues",
    "test.test_asyncio.test_timeouts",
    "test.test_asyncio.test_waitfor",
    "test.test_asyncio.test_taskgroups",
    "test.test_asyncio.test_base_events",
    "test.test_asyncio.test_events",
    "test.test_asyncio.test_streams",
    "test.test_asyncio.test_subprocess",
    "test.test_asyncio.test_context",
    "test.test_asyncgen",
    "test.test_asyncio.test_eager_task_factory",  # 3.12+; skipped cleanly when missing
)
#: A fast, meaningful subset for the default test run.
FAST_MODULES = (
    "test.test_asyncio.test_locks",
    "test.test_asyncio.test_queues",
    "test.test_asyncio.test_futures2",
    "test.test_asyncio.test_timeouts",
    "test.test_asyncio.test_waitfor",
    "test.test_asyncio.test_taskgroups",
    "test.test_asyncio.test_context",
)


@dataclass
class ModuleResult:
    """The outcome of one module: counts, and the ids (with tracebacks) of problems."""

    module: str
    passed: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    unexpected_successes: list[str] = field(default_factory=list)
    skipped: int = 0
    expected_failures: int = 0
    excluded: list[str] = field(default_factory=list)
    missing: str | None = None
    crashed: str | None = None
    wall: float = 0.0
    #: Loops the tests created, by kind ("virtual" = ours; others are test doubles).
    loops: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing failed unexpectedly (a missing module is ok)."""
        return not (self.failures or self.errors or self.unexpected_successes or self.crashed)

    def problems(self) -> dict[str, str]:
        """Every unexpected outcome: test id -> traceback."""
        out = {**self.failures, **self.errors}
        out.update({t: "unexpected success" for t in self.unexpected_successes})
        if self.crashed:
            out[self.module] = self.crashed
        return out


def has_test_package() -> bool:
    """True when CPython's ``test`` package (with ``test.test_asyncio``) is installed."""
    try:
        return importlib.util.find_spec("test.test_asyncio") is not None
    except ImportError:
        return False


def _qualify(module: str) -> str:
    if module.startswith("test."):
        return module
    if module == "test_asyncgen":
        return "test.test_asyncgen"
    return f"test.test_asyncio.{module}"


def run_module(module: str, *, python: str = sys.executable, verbose: bool = False) -> ModuleResult:
    """Run one module in a fresh interpreter with our loop installed."""
    module = _qualify(module)
    with tempfile.TemporaryDirectory(prefix="asyncsim-conformance-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [python, "-m", "tests.conformance._child", module, str(out), str(EXCLUSIONS)]
        if verbose:
            cmd.append("-v")
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
        )
        start = time.perf_counter()
        proc = subprocess.run(
            cmd,
            cwd=tmp,  # tests create files (unix sockets, temp dirs) in the cwd
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=None if verbose else subprocess.PIPE,
            stderr=None if verbose else subprocess.PIPE,
            text=True,
        )
        wall = time.perf_counter() - start
        if not out.exists():
            tail = (proc.stderr or "")[-4000:]
            return ModuleResult(module, crashed=f"exit code {proc.returncode}\n{tail}", wall=wall)
        data: dict[str, Any] = json.loads(out.read_text())
    data.pop("run", None)
    data["wall"] = wall
    return ModuleResult(**data)


def run_modules(
    modules: tuple[str, ...] | list[str] = ALL_MODULES,
    *,
    jobs: int = 1,
    python: str = sys.executable,
    verbose: bool = False,
) -> list[ModuleResult]:
    """Run ``modules``, ``jobs`` at a time, each in its own interpreter."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(lambda m: run_module(m, python=python, verbose=verbose), modules))


def format_table(results: list[ModuleResult]) -> str:
    """A per-module table: passed / failed / errors / skipped / excluded / wall seconds."""
    header = (
        f"{'module':<42} {'passed':>6} {'failed':>6} {'errors':>6} {'skipped':>7} "
        f"{'excluded':>8} {'wall s':>7}"
    )
    lines = [header, "-" * len(header)]
    total = [0, 0, 0, 0, 0]
    for r in results:
        name = r.module.removeprefix("test.test_asyncio.").removeprefix("test.")
        if r.missing:
            lines.append(f"{name:<42} {'(not in this Python: skipped)':>38}")
            continue
        failed = len(r.failures) + len(r.unexpected_successes)
        errors = len(r.errors) + (1 if r.crashed else 0)
        skipped = r.skipped + r.expected_failures
        row = [r.passed, failed, errors, skipped, len(r.excluded)]
        total = [a + b for a, b in zip(total, row, strict=True)]
        lines.append(
            f"{name:<42} {row[0]:>6} {row[1]:>6} {row[2]:>6} {row[3]:>7} {row[4]:>8} {r.wall:>7.1f}"
        )
    lines.append("-" * len(header))
    lines.append(
        f"{'total':<42} {total[0]:>6} {total[1]:>6} {total[2]:>6} {total[3]:>7} {total[4]:>8}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", "-m", action="append", help="module to run (repeatable)")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="modules run in parallel")
    parser.add_argument("--python", default=sys.executable, help="interpreter to test with")
    parser.add_argument("-v", "--verbose", action="store_true", help="stream test output")
    parser.add_argument("--show", action="store_true", help="print each failure's traceback")
    args = parser.parse_args(argv)
    if not has_test_package():
        print("CPython's test package is not installed: nothing to run.", file=sys.stderr)
        return 0
    modules = [_qualify(m) for m in args.module] if args.module else list(ALL_MODULES)
    results = run_modules(modules, jobs=args.jobs, python=args.python, verbose=args.verbose)
    print(format_table(results))
    bad = [(r.module, tid, tb) for r in results for tid, tb in r.problems().items()]
    for _module, tid, tb in bad:
        print(f"\nFAIL {tid}")
        if args.show:
            print(tb)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
