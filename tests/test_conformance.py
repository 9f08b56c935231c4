"""CPython's own asyncio tests, run on the virtual loop (see tests/conformance/)."""

from __future__ import annotations

import tomllib
import unittest

import pytest

from tests.conformance._child import applies
from tests.conformance.run_cpython import (
    ALL_MODULES,
    EXCLUSIONS,
    FAST_MODULES,
    format_table,
    has_test_package,
    run_module,
    run_modules,
)

needs_cpython_tests = pytest.mark.skipif(
    not has_test_package(), reason="CPython's test package (test.test_asyncio) is not installed"
)
PARTIES = {"thread", "child process", "signal", "TLS peer"}


def _exclusions() -> list[dict[str, str]]:
    with EXCLUSIONS.open("rb") as f:
        return list(tomllib.load(f)["exclude"])


def _assert_clean(results: list) -> None:
    print(format_table(results))
    problems = {tid: tb for r in results for tid, tb in r.problems().items()}
    assert problems == {}, "\n\n".join(f"{tid}\n{tb}" for tid, tb in problems.items())
    for r in results:
        if not r.missing:
            assert r.loops.get("virtual", 0) > 0, f"{r.module} never created a virtual loop"


@needs_cpython_tests
def test_the_fast_cpython_asyncio_modules_pass_on_the_virtual_loop() -> None:
    results = run_modules(FAST_MODULES, jobs=2)
    _assert_clean(results)
    assert sum(r.passed for r in results) >= 150


@needs_cpython_tests
@pytest.mark.slow
@pytest.mark.parametrize("module", ALL_MODULES)
def test_every_cpython_asyncio_module_passes_on_the_virtual_loop(module: str) -> None:
    _assert_clean([run_module(module)])


def test_every_exclusion_names_one_test_a_real_time_party_and_a_reason() -> None:
    entries = _exclusions()
    ids = [e["id"] for e in entries]
    assert len(ids) == len(set(ids))
    for entry in entries:
        assert {"id", "party", "reason"} <= set(entry) <= {"id", "party", "reason", "python"}, entry
        applies(entry)  # a malformed python specifier raises here
        assert entry["party"] in PARTIES, entry
        assert "virtual" in entry["reason"], entry
        assert any(entry["id"].startswith(m + ".") for m in ALL_MODULES), entry


@needs_cpython_tests
def test_every_excluded_test_exists_in_this_python() -> None:
    loader = unittest.TestLoader()
    for entry in filter(applies, _exclusions()):
        module, cls, method = entry["id"].rsplit(".", 2)
        suite = loader.loadTestsFromName(f"{module}.{cls}.{method}")
        assert [t.id() for t in suite] == [entry["id"]]


def test_an_exclusion_with_a_python_specifier_applies_only_to_those_versions() -> None:
    entry = {"id": "x", "party": "thread", "reason": "virtual", "python": ">=3.12"}
    assert [applies(entry, v) for v in ("3.11.7", "3.12.1", "3.13.0")] == [False, True, True]
    assert applies({"id": "x", "party": "thread", "reason": "virtual"}, "3.11.7")
