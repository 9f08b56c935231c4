"""The worked bug hunts: each race is found by the default schedules() strategy within
hypothesis's default example budget, shrunk to a minimal schedule, and replayed from
the replay string printed in the failure."""

import functools
import re

import bug_cache_race
import bug_lost_update
import bug_timeout_leak
import pytest
from hypothesis import Phase, given, settings

import asyncsim
from asyncsim.testing.strategies import schedules

from .conftest import EXAMPLES

HUNTS = {
    "lost update": (bug_lost_update, bug_lost_update.balance_is_right),
    "cache race": (bug_cache_race, bug_cache_race.computed_once),
    "timeout leak": (bug_timeout_leak, bug_timeout_leak.every_request_is_answered),
}
REPLAY = re.compile(r"Schedule\.from_string\('([^']+)'\)")


@functools.cache
def printed_replay_string(prop):
    """Run prop as a @given test with default budget; return the replay string it prints."""

    # Default max_examples (the default budget); derandomized so CI never flakes.
    # The explain phase only annotates the report; skipping it saves a second.
    @settings(
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )
    @given(schedule=schedules())
    def check(schedule):
        assert prop(schedule)

    with pytest.raises(AssertionError) as failure:
        check()
    notes = "\n".join(getattr(failure.value, "__notes__", []))
    match = REPLAY.search(notes)
    assert match is not None, notes
    return match.group(1)


def locally_minimal(schedule, prop):
    """Every non-zero lateness is needed: 1 ns less and the property holds."""
    for index, value in enumerate(schedule.timer_lateness):
        if value:
            lateness = list(schedule.timer_lateness)
            lateness[index] -= 1
            if not prop(asyncsim.Schedule(timer_lateness=tuple(lateness))):
                return False
    return True


@pytest.mark.parametrize("hunt", HUNTS)
def test_the_program_is_correct_under_punctual_timers(hunt):
    _module, prop = HUNTS[hunt]
    assert prop(asyncsim.Schedule())


@pytest.mark.parametrize("hunt", HUNTS)
def test_the_default_strategy_finds_shrinks_and_replays_the_bug(hunt):
    module, prop = HUNTS[hunt]
    text = printed_replay_string(prop)
    schedule = asyncsim.Schedule.from_string(text)
    assert not prop(schedule)
    assert locally_minimal(schedule, prop)
    # Replaying gives the identical run, twice.
    first = asyncsim.simulate(module.main(), schedule=schedule)
    again = asyncsim.simulate(module.main(), schedule=asyncsim.Schedule.from_string(text))
    assert outcome(first) == outcome(again)


def outcome(run):
    # asyncio numbers unnamed tasks from a process-wide counter: normalise it.
    error = re.sub(r"Task-\d+", "Task-N", repr(run.exception))
    return run.result, error, run.elapsed, run.steps


def test_the_lost_update_keeps_only_the_second_deposit():
    schedule = asyncsim.Schedule.from_string(
        printed_replay_string(bug_lost_update.balance_is_right)
    )
    assert asyncsim.run(bug_lost_update.main(), schedule=schedule) == 50


def test_the_leaked_lock_deadlocks_the_next_request_waiting_on_the_lock():
    schedule = asyncsim.Schedule.from_string(
        printed_replay_string(bug_timeout_leak.every_request_is_answered)
    )
    outcome = asyncsim.simulate(bug_timeout_leak.main(), schedule=schedule)
    assert isinstance(outcome.exception, asyncsim.Deadlock)
    assert "waiting on Lock.acquire()" in str(outcome.exception)
    assert outcome.elapsed == 1.0


@pytest.mark.parametrize(
    ("script", "found"),
    [
        ("bug_lost_update.py", "replayed: balance 50 (a deposit was lost)"),
        ("bug_cache_race.py", "replayed: computed 2 times (duplicate work)"),
        ("bug_timeout_leak.py", "replayed: deadlock at t=1.0s"),
    ],
)
def test_each_bug_hunt_script_prints_its_minimal_schedule_and_replay(script, found, capsys):
    outcome = asyncsim.run_script(EXAMPLES / script)
    out = capsys.readouterr().out
    assert outcome.exit_code == 0, out
    lines = out.splitlines()
    assert lines[1].startswith("minimal failing schedule: S1;t=")
    assert any(line.startswith(found) for line in lines), out
