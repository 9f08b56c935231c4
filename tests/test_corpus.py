"""The bug corpus (tests/corpus): each bug is found by its property test at the default
budget, shrunk to a legal replay string that reproduces it (also under pytest's
``--asyncsim-replay``), and its correct twin never fails.

The default run searches each pair once, derandomized (so it never flakes); the find rate
over 10 unseeded searches per pair is the ``slow`` test at the end and
``benchmarks/find_rates.py`` (which writes ``benchmarks/FIND_RATES.md``).
"""

import functools
import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import asyncsim
from asyncsim.testing.strategies import schedules

from .corpus import KINDS, pairs

PAIRS = {pair.name: pair for pair in pairs()}
REPLAY = re.compile(r"Schedule\.from_string\('([^']+)'\)")
#: The default budget (100 examples), derandomized; no explain phase (it only annotates).
SEARCH = settings(
    database=None,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.generate, Phase.shrink],
)
#: One pair per kind for the (slower) runs through pytest itself.
ONE_PER_KIND = [next(name for name, p in PAIRS.items() if p.kind == kind) for kind in KINDS]


def search(name, *, fixed, config=SEARCH):
    """Search the variant with its pair's strategy; the failure's notes, or None."""
    pair = PAIRS[name]

    @config
    @given(schedule=schedules(**pair.strategy))
    def check(schedule):
        assert pair.holds(schedule, fixed=fixed)

    try:
        check()
    except AssertionError as failure:
        return "\n".join(getattr(failure, "__notes__", []))
    return None


@functools.cache
def replay_string(name):
    """The replay string the default search prints for the bug of pair ``name``."""
    notes = search(name, fixed=False)
    assert notes is not None, f"{name}: the default search did not find the bug"
    match = REPLAY.search(notes)
    assert match is not None, notes
    return match.group(1)


def test_the_corpus_has_a_dozen_pairs_and_at_least_two_of_each_kind():
    assert len(PAIRS) >= 12
    for kind in KINDS:
        assert sum(p.kind == kind for p in PAIRS.values()) >= 2, kind


@pytest.mark.parametrize("name", PAIRS)
def test_both_variants_hold_when_nothing_is_late(name):
    pair = PAIRS[name]
    for fixed in (False, True):
        assert pair.holds(None, fixed=fixed)
        assert pair.holds(asyncsim.Schedule(), fixed=fixed)


@pytest.mark.parametrize("name", PAIRS)
def test_the_default_search_finds_the_bug_with_a_legal_replay_string_that_reproduces_it(name):
    pair = PAIRS[name]
    text = replay_string(name)
    schedule = asyncsim.Schedule.from_string(text)
    assert schedule.legal and not schedule.punctual, text
    assert text.startswith("S1;")  # (X1 strings: orders real asyncio never produces)
    for _ in range(2):  # the same run each time
        assert not pair.holds(asyncsim.Schedule.from_string(text), fixed=False), text
    assert pair.holds(schedule, fixed=True), text


@pytest.mark.parametrize("name", PAIRS)
def test_the_twin_survives_the_same_search(name):
    assert search(name, fixed=True) is None


TEST_FILE = """
from hypothesis import given, settings
from asyncsim.testing.strategies import schedules
from tests.corpus import by_name

PAIR = by_name({name!r})

@settings(database=None, deadline=None, max_examples=1)
@given(schedules(**PAIR.strategy))
def test_bug(schedule):
    assert PAIR.holds(schedule, fixed=False)

@settings(database=None, deadline=None, max_examples=1)
@given(schedules(**PAIR.strategy))
def test_twin(schedule):
    assert PAIR.holds(schedule, fixed=True)
"""


@pytest.mark.parametrize("name", ONE_PER_KIND)
def test_the_replay_string_reproduces_the_failure_under_pytest(name, pytester):
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_replayed=TEST_FILE.format(name=name))
    text = replay_string(name)
    result = pytester.runpytest_inprocess(f"--asyncsim-replay={text}", "-q")
    result.assert_outcomes(failed=1, passed=1)
    # hypothesis prints the example it played: the replayed schedule itself
    result.stdout.fnmatch_lines([f"*schedule=Schedule.from_string('{text}')*", "*FAILED*test_bug*"])


@pytest.mark.slow
@pytest.mark.parametrize("name", PAIRS)
def test_ten_unseeded_searches_find_the_bug_at_least_nine_times_and_never_the_twin(name):
    unseeded = settings(SEARCH, derandomize=False, phases=[Phase.generate, Phase.target])
    found = sum(search(name, fixed=False, config=unseeded) is not None for _ in range(10))
    assert found >= 9, f"{name}: found in {found} of 10 searches"
    assert all(search(name, fixed=True, config=unseeded) is None for _ in range(10))
