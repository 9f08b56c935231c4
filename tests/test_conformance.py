"""CPython's own asyncio tests, run on the virtual loop (see tests/conformance/)."""

from __future__ import annotations

import pkgutil
import sys
import tomllib
import unittest
from pathlib import Path

import pytest

from tests.conformance._child import applies
from tests.conformance.run_cpython import (
    EXCLUSIONS,
    FAST_MODULES,
    format_table,
    has_test_package,
    modules_for,
    run_module,
    run_modules,
)

ROOT = Path(__file__).resolve().parent.parent
needs_cpython_tests = pytest.mark.skipif(
    not has_test_package(), reason="CPython's test package (test.test_asyncio) is not installed"
)


def _this_pythons_modules() -> list[str]:
    try:
        import test.test_asyncio as package
    except ImportError:
        return []
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__))
    modules = [f"test.test_asyncio.{n}" for n in names if n.startswith("test_")]
    return [*modules, "test.test_asyncgen"]


def _exclusions() -> list[dict[str, str]]:
    with EXCLUSIONS.open("rb") as f:
        return list(tomllib.load(f).get("exclude", []))


def _assert_clean(results: list) -> None:
    print(format_table(results))
    problems = {tid: tb for r in results for tid, tb in r.problems().items()}
    assert problems == {}, "\n\n".join(f"{tid}\n{tb}" for tid, tb in problems.items())
    for r in results:
        if not (r.missing or r.not_applicable):
            assert r.loops.get("virtual", 0) > 0, f"{r.module} never created a virtual loop"


@needs_cpython_tests
def test_the_fast_cpython_asyncio_modules_pass_on_the_virtual_loop() -> None:
    results = run_modules(FAST_MODULES, jobs=2)
    _assert_clean(results)
    assert sum(r.passed for r in results) >= 150
    assert sum(len(r.excluded) for r in results) == 0


@needs_cpython_tests
@pytest.mark.slow
@pytest.mark.parametrize("module", _this_pythons_modules())
def test_every_cpython_asyncio_module_passes_on_the_virtual_loop(module: str) -> None:
    _assert_clean([run_module(module)])


@needs_cpython_tests
def test_the_runner_covers_every_test_asyncio_module_of_this_python() -> None:
    modules = modules_for(sys.executable)
    assert modules == _this_pythons_modules()
    assert "test.test_asyncio.test_events" in modules and "test.test_asyncgen" in modules


@needs_cpython_tests
def test_a_module_cpython_runs_only_on_windows_is_reported_not_applicable() -> None:
    result = run_module("test.test_asyncio.test_windows_utils")
    assert result.not_applicable == "Windows only"
    assert result.ok and result.passed == 0


@needs_cpython_tests
def test_a_hang_is_a_failure_that_names_the_test_and_keeps_the_finished_counts() -> None:
    result = run_module("tests.conformance.samples.Hangs", timeout=20)
    hung = "tests.conformance.samples.Hangs.test_never_finishes"
    assert result.hung == hung
    assert list(result.problems()) == [hung]
    assert "real-time limit of 20 s" in result.failures[hung]
    assert result.passed == 1  # test_finishes, which ran first


@needs_cpython_tests
def test_repeat_runs_a_test_that_many_times_in_one_interpreter() -> None:
    result = run_module("tests.conformance.samples.Hangs.test_finishes", repeat=3)
    assert (result.passed, result.problems()) == (3, {})


@needs_cpython_tests
def test_a_skip_taken_only_on_the_virtual_loop_counts_as_a_failure() -> None:
    result = run_module("tests.conformance.samples.Skips")
    virtual_only = "tests.conformance.samples.Skips.test_skipped_on_the_virtual_loop_only"
    decorated = "tests.conformance.samples.Skips.test_skipped_by_a_decorator_everywhere"
    assert list(result.problems()) == [virtual_only]
    assert "not on stock asyncio" in result.failures[virtual_only]
    assert result.skips[decorated] == "needs time.no_such_clock"


def test_every_exclusion_names_a_documented_difference_and_the_test_that_pins_it() -> None:
    entries = _exclusions()
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids))
    for entry in entries:
        keys = {"id", "difference", "pinned_by"}
        assert keys <= set(entry) <= keys | {"python"}, entry
        applies(entry)  # a malformed python specifier raises here
        path, _, name = entry["pinned_by"].partition("::")
        assert f"def {name}(" in (ROOT / path).read_text(), entry


def test_no_test_is_excluded() -> None:
    assert _exclusions() == []


@needs_cpython_tests
def test_every_excluded_test_exists_in_this_python() -> None:
    loader = unittest.TestLoader()
    for entry in filter(applies, _exclusions()):
        module, cls, method = entry["id"].rsplit(".", 2)
        suite = loader.loadTestsFromName(f"{module}.{cls}.{method}")
        assert [t.id() for t in suite] == [entry["id"]]


def test_an_exclusion_with_a_python_specifier_applies_only_to_those_versions() -> None:
    entry = {"id": "x", "difference": "d", "pinned_by": "p", "python": ">=3.12"}
    assert [applies(entry, v) for v in ("3.11.7", "3.12.1", "3.13.0")] == [False, True, True]
    assert applies({"id": "x", "difference": "d", "pinned_by": "p"}, "3.11.7")
