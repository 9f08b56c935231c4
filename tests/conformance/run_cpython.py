"""Run CPython's own asyncio test modules on the virtual loop and print a table.

Usage::

    python -m tests.conformance.run_cpython                   # every module of this Python
    python -m tests.conformance.run_cpython --module test_locks --module test_queues
    python -m tests.conformance.run_cpython --module test_tasks -v   # stream test output
    python -m tests.conformance.run_cpython --compare         # beside stock asyncio
    python -m tests.conformance.run_cpython --python /path/to/python3.13
    python -m tests.conformance.run_cpython --repeat 300 \
        -m test.test_asyncio.test_events.EPollEventLoopTests.test_read_pty_output

The modules are every ``test.test_asyncio.test_*`` module of the interpreter under
test, plus ``test.test_asyncgen``; a module that CPython itself runs only on
another platform (it raises ``SkipTest`` at import: the Windows ones) is listed as
not applicable. Each module runs in its own interpreter (see ``_child.py`` for how
the loop is installed), within a real-time limit: a module that runs past it is
killed, and the test that was running is reported as a hang (a failure), with
the counts of the tests that finished.

Every test must pass. A skip counts as CPython's own only when stock asyncio,
run on the same tests on this machine, skips it too; a test skipped on the
virtual loop alone is a failure. Tests listed in ``exclusions.toml`` are not run
and are counted as excluded (the list is empty: see that file).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FAST_MODULES",
    "ModuleResult",
    "format_table",
    "has_test_package",
    "modules_for",
    "run_module",
    "run_modules",
]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EXCLUSIONS = HERE / "exclusions.toml"
#: Real seconds one module may run (``ASYNCSIM_CONFORMANCE_TIMEOUT`` overrides it).
MODULE_TIMEOUT = float(os.environ.get("ASYNCSIM_CONFORMANCE_TIMEOUT", "900"))

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

_LIST_MODULES = """
import pkgutil, test.test_asyncio as package
names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("test_"))
print("\\n".join(["test.test_asyncio." + n for n in names] + ["test.test_asyncgen"]))
"""


@dataclass
class ModuleResult:
    """The outcome of one module: counts, and the ids (with tracebacks) of problems."""

    module: str
    passed: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    unexpected_successes: list[str] = field(default_factory=list)
    #: Skipped tests -> reason (CPython's own: stock asyncio skips them too).
    skips: dict[str, str] = field(default_factory=dict)
    expected_failures: int = 0
    excluded: list[str] = field(default_factory=list)
    missing: str | None = None
    #: Why CPython runs this module only on other platforms (its import raised SkipTest).
    not_applicable: str | None = None
    crashed: str | None = None
    #: The test that was running when the module hit its real-time limit.
    hung: str | None = None
    wall: float = 0.0
    #: Loops the tests created, by kind ("virtual" = ours; others are test doubles).
    loops: dict[str, int] = field(default_factory=dict)
    stock: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing failed unexpectedly (a missing module is ok)."""
        return not self.problems()

    @property
    def skipped(self) -> int:
        return len(self.skips)

    def problems(self) -> dict[str, str]:
        """Every unexpected outcome: test id -> traceback."""
        out = {**self.failures, **self.errors}
        out.update({t: "unexpected success" for t in self.unexpected_successes})
        if self.crashed:
            out[self.module] = self.crashed
        return out


def has_test_package(python: str = sys.executable) -> bool:
    """True when ``python`` has CPython's ``test`` package (with ``test.test_asyncio``)."""
    if python == sys.executable:
        import importlib.util

        try:
            return importlib.util.find_spec("test.test_asyncio") is not None
        except ImportError:
            return False
    probe = subprocess.run([python, "-c", "import test.test_asyncio"], capture_output=True)
    return probe.returncode == 0


def modules_for(python: str = sys.executable) -> list[str]:
    """Every test_asyncio module of ``python`` (with test_asyncgen), by dotted name."""
    out = subprocess.run(
        [python, "-c", _LIST_MODULES], capture_output=True, text=True, check=True
    ).stdout
    return out.split()


def _qualify(module: str) -> str:
    if "." in module:
        return module
    if module == "test_asyncgen":
        return "test.test_asyncgen"
    return f"test.test_asyncio.{module}"


def _child(
    module: str,
    *,
    python: str,
    stock: bool,
    only: list[str] | None,
    timeout: float,
    verbose: bool,
    repeat: int = 1,
) -> ModuleResult:
    """Run ``module`` (or ``only`` those ids of it; each ``repeat`` times) in a child
    interpreter, within ``timeout``."""
    with tempfile.TemporaryDirectory(prefix="asyncsim-conformance-") as tmp:
        out = Path(tmp) / "result.json"
        progress = Path(tmp) / "progress.txt"
        cmd = [python, "-m", "tests.conformance._child", module, str(out)]
        cmd += ["--progress", str(progress), "--dump-after", str(max(1.0, timeout - 5))]
        if stock:
            cmd.append("--stock")
        else:
            cmd += ["--exclusions", str(EXCLUSIONS)]
        if only is not None:
            ids = Path(tmp) / "only.txt"
            ids.write_text("\n".join(only))
            cmd += ["--only", str(ids)]
        if repeat > 1:
            cmd += ["--repeat", str(repeat)]
        if verbose:
            cmd.append("-v")
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
        )
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=tmp,  # tests create files (unix sockets, temp dirs) in the cwd
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=None if verbose else subprocess.PIPE,
            stderr=None if verbose else subprocess.PIPE,
            text=True,
            start_new_session=True,  # so that a hang's children die with it
        )
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, stderr = proc.communicate()
            result = _from_progress(module, progress, timeout, stderr or "")
            result.wall = time.perf_counter() - start
            result.stock = stock
            return result
        wall = time.perf_counter() - start
        if not out.exists():
            tail = (stderr or "")[-4000:]
            return ModuleResult(
                module, crashed=f"exit code {proc.returncode}\n{tail}", wall=wall, stock=stock
            )
        data: dict[str, Any] = json.loads(out.read_text())
    data.pop("run", None)
    data["wall"] = wall
    data["stock"] = stock
    return ModuleResult(**data)


def _from_progress(module: str, progress: Path, timeout: float, stderr: str) -> ModuleResult:
    """The result of a module killed at its real-time limit: what finished, and the hang."""
    result = ModuleResult(module)
    running = None
    lines = progress.read_text().splitlines() if progress.exists() else []
    for line in lines:
        kind, _, rest = line.partition(" ")
        test_id, _, reason = rest.partition(" ")
        if kind == "start":
            running = test_id
        elif kind == "end":
            running = None
        elif kind == "ok":
            result.passed += 1
        elif kind == "fail":
            result.failures[test_id] = "failed (its traceback was lost when the module hung)"
        elif kind == "error":
            result.errors[test_id] = "error (its traceback was lost when the module hung)"
        elif kind == "skip":
            result.skips[test_id] = reason
        elif kind == "xfail":
            result.expected_failures += 1
        elif kind == "xpass":
            result.unexpected_successes.append(test_id)
    hung = running or f"{module} (before its first test)"
    result.hung = hung
    result.failures[hung] = (
        f"hang: still running when the module reached its real-time limit of {timeout:.0f} s\n"
        + stderr[-6000:]
    )
    return result


def _skip_targets(test_id: str) -> str:
    # unittest reports a skip raised in setUpClass as "setUpClass (module.Class)".
    match = re.fullmatch(r"setUpClass \((.+)\)", test_id)
    return match.group(1) if match else test_id


def check_skips(
    result: ModuleResult, *, python: str, timeout: float, verbose: bool = False
) -> None:
    """Count as failures the tests ``result`` skipped that stock asyncio runs."""
    if result.stock or not result.skips:
        return
    targets = sorted({_skip_targets(t) for t in result.skips})
    stock = _child(
        result.module, python=python, stock=True, only=targets, timeout=timeout, verbose=verbose
    )
    for test_id, reason in result.skips.items():
        if test_id not in stock.skips:
            result.failures[test_id] = (
                f"skipped on the virtual loop ({reason!r}) but not on stock asyncio"
            )


def run_module(
    module: str,
    *,
    python: str = sys.executable,
    stock: bool = False,
    timeout: float = MODULE_TIMEOUT,
    verbose: bool = False,
    repeat: int = 1,
) -> ModuleResult:
    """Run one module (or class, or test) in a fresh interpreter with our loop installed
    (or stock asyncio); with ``repeat``, each test that many times in that interpreter."""
    module = _qualify(module)
    result = _child(
        module,
        python=python,
        stock=stock,
        only=None,
        timeout=timeout,
        verbose=verbose,
        repeat=repeat,
    )
    check_skips(result, python=python, timeout=timeout, verbose=verbose)
    return result


def run_modules(
    modules: tuple[str, ...] | list[str] | None = None,
    *,
    jobs: int = 1,
    python: str = sys.executable,
    stock: bool = False,
    timeout: float = MODULE_TIMEOUT,
    verbose: bool = False,
    repeat: int = 1,
) -> list[ModuleResult]:
    """Run ``modules`` (default: every module of ``python``), ``jobs`` at a time."""
    if modules is None:
        modules = modules_for(python)

    def one(module: str) -> ModuleResult:
        return run_module(
            module, python=python, stock=stock, timeout=timeout, verbose=verbose, repeat=repeat
        )

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, modules))


def _row(r: ModuleResult) -> list[int]:
    failed = len(r.failures) + len(r.unexpected_successes)
    errors = len(r.errors) + (1 if r.crashed else 0)
    return [r.passed, failed, errors, r.skipped + r.expected_failures, len(r.excluded)]


def format_table(results: list[ModuleResult], stock: list[ModuleResult] | None = None) -> str:
    """A per-module table: passed / failed / errors / skipped / excluded / wall seconds,
    and with ``stock``, stock asyncio's passed / failed+errors / skipped / wall beside."""
    header = (
        f"{'module':<28} {'passed':>6} {'failed':>6} {'errors':>6} {'skipped':>7} "
        f"{'excluded':>8} {'wall s':>7}"
    )
    if stock is not None:
        header += f" | {'stock passed':>12} {'failed':>6} {'skipped':>7} {'wall s':>7}"
    lines = [header, "-" * len(header)]
    total = [0, 0, 0, 0, 0]
    stock_total = [0, 0, 0]
    wall = stock_wall = 0.0
    by_module = {s.module: s for s in stock or []}
    for r in results:
        name = r.module.removeprefix("test.test_asyncio.").removeprefix("test.")
        if r.missing or r.not_applicable:
            why = "not in this Python" if r.missing else f"not on Linux: {r.not_applicable}"
            lines.append(f"{name:<28} ({why})")
            continue
        row = _row(r)
        total = [a + b for a, b in zip(total, row, strict=True)]
        wall += r.wall
        line = (
            f"{name:<28} {row[0]:>6} {row[1]:>6} {row[2]:>6} {row[3]:>7} {row[4]:>8} {r.wall:>7.1f}"
        )
        s = by_module.get(r.module)
        if s is not None:
            srow = _row(s)
            scount = [srow[0], srow[1] + srow[2], srow[3]]
            stock_total = [a + b for a, b in zip(stock_total, scount, strict=True)]
            stock_wall += s.wall
            line += f" | {scount[0]:>12} {scount[1]:>6} {scount[2]:>7} {s.wall:>7.1f}"
        lines.append(line)
    lines.append("-" * len(header))
    last = (
        f"{'total':<28} {total[0]:>6} {total[1]:>6} {total[2]:>6} {total[3]:>7} {total[4]:>8} "
        f"{wall:>7.1f}"
    )
    if stock is not None:
        last += (
            f" | {stock_total[0]:>12} {stock_total[1]:>6} {stock_total[2]:>7} {stock_wall:>7.1f}"
        )
    lines.append(last)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--module", "-m", action="append", help="module to run (repeatable)")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="modules run in parallel")
    parser.add_argument("--python", default=sys.executable, help="interpreter to test with")
    parser.add_argument("--stock", action="store_true", help="run on stock asyncio only")
    parser.add_argument("--compare", action="store_true", help="also run stock asyncio, beside")
    parser.add_argument(
        "--timeout", type=float, default=MODULE_TIMEOUT, help="real seconds per module"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="run each test this many times (hunting races)"
    )
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="stream test output")
    parser.add_argument("--show", action="store_true", help="print each failure's traceback")
    args = parser.parse_args(argv)
    if not has_test_package(args.python):
        print("CPython's test package is not installed: nothing to run.", file=sys.stderr)
        return 0
    modules = [_qualify(m) for m in args.module] if args.module else modules_for(args.python)
    options = dict(
        jobs=args.jobs,
        python=args.python,
        timeout=args.timeout,
        verbose=args.verbose,
        repeat=args.repeat,
    )
    start = time.perf_counter()
    results = run_modules(modules, stock=args.stock, **options)  # type: ignore[arg-type]
    stock = run_modules(modules, stock=True, **options) if args.compare else None  # type: ignore[arg-type]
    elapsed = time.perf_counter() - start
    version = subprocess.run(
        [args.python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(f"Python {version}, {'stock asyncio' if args.stock else 'asyncsim'}:")
    print(format_table(results, stock))
    print(f"({len(modules)} modules in {elapsed:.0f} s of wall time)")
    if args.json:
        payload = {
            "python": version,
            "results": [vars(r) for r in results],
            "stock": [vars(r) for r in stock] if stock else None,
        }
        args.json.write_text(json.dumps(payload, indent=1))
    bad = [(r.module, tid, tb) for r in results for tid, tb in r.problems().items()]
    for _module, tid, tb in bad:
        print(f"\nFAIL {tid}")
        if args.show:
            print(tb)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
