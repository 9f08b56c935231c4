"""asyncsim.whatif: causal what-if profiles on virtual time, exact where they can be."""

import inspect
import json
import math

import pytest

import asyncsim
from asyncsim.sweeps.components import Component, resolve
from asyncsim.trace.stats import percentile
from asyncsim.trace.whatif import behaviour, changes, nearest_rank

from . import whatif_programs as w

FIRST = f"whatif_programs.py:{w.CHAIN_FIRST_LINE}"
SECOND = f"whatif_programs.py:{w.CHAIN_SECOND_LINE}"
SIDE = f"whatif_programs.py:{w.SIDE_LINE}"


def profile(main, speedups=(0.25, 0.5, 1.0), **options):
    options.setdefault("seeds", 3)
    options.setdefault("executor", "inline")
    options.setdefault("progress", False)
    return asyncsim.whatif(main, speedups, **options)


@pytest.fixture(scope="module")
def chain():
    return profile(w.chain_and_side, slowdowns=[4, 8])


def makespans(prof, name):
    component = resolve(name, prof.components)
    return {s: prof.cell(component, s).elapsed[50].value for s in prof.speedups}


def test_the_programs_sleeps_are_on_the_lines_the_tests_name():
    lines = inspect.getsource(w).splitlines()
    for line in (w.CHAIN_FIRST_LINE, w.CHAIN_SECOND_LINE, w.SIDE_LINE, w.CONNECT_LINE):
        assert "asyncio.sleep(" in lines[line - 1]
    assert "asyncio.sleep(0.2)" in lines[w.RETRY_LINE - 1]


# --------------------------------------------------------------------------- exact answers


def test_only_the_critical_chain_moves_the_makespan_by_exactly_its_share(chain):
    assert chain.baseline == {50: 3.0, 90: 3.0, 99: 3.0}
    # 1 s then 2 s on the critical path; 0.5 s beside it (until 8x as slow: 4 s > 3 s)
    assert makespans(chain, FIRST) == {-7.0: 10.0, -3.0: 6.0, 0.25: 2.75, 0.5: 2.5, 1.0: 2.0}
    assert makespans(chain, SECOND) == {-7.0: 17.0, -3.0: 9.0, 0.25: 2.5, 0.5: 2.0, 1.0: 1.0}
    assert makespans(chain, SIDE) == {-7.0: 4.0, -3.0: 3.0, 0.25: 3.0, 0.5: 3.0, 1.0: 3.0}
    for s, value in makespans(chain, SECOND).items():
        estimate = chain.cell(SECOND, s).elapsed[99]
        assert estimate.change == value / 3.0 - 1
        assert estimate.low == estimate.high == estimate.change  # same in every seed
        assert estimate.runs == 3


def test_the_ranking_and_the_answers_put_the_longest_link_of_the_chain_first(chain):
    assert [c.name for c in chain.components] == [SECOND, FIRST, SIDE]
    assert [(c.count, c.total, c.critical) for c in chain.components] == [
        (1, 2.0, 2.0),
        (1, 1.0, 1.0),
        (1, 0.5, 0.0),
    ]
    answers = chain.answers()
    assert answers[0] == (
        f"make sleep in chain() at {SECOND} 50 % faster -> makespan -33.3 % (p50), -33.3 % (p99)"
    )
    assert answers[2] == (
        f"make sleep in side() at {SIDE} 50 % faster -> makespan +0.0 % (p50), +0.0 % (p99)"
    )


def test_a_component_off_the_critical_path_is_said_to_be_so():
    prof = profile(w.chain_and_side)
    assert prof.effect(resolve(SIDE, prof.components)) == "none"
    assert prof.answers()[2].endswith(
        ": no effect at any speedup, it is off the critical path in every run"
    )


def test_a_queueing_program_shows_the_knee_where_the_other_resource_takes_over():
    prof = profile(w.queued, speedups=[0.25, 0.5, 0.75, 1.0], seeds=2)
    assert prof.baseline[50] == 1.1  # 0.1 s to connect, then 10 x 0.1 s at the server
    server = makespans(prof, "service:db")
    # server-bound while 3 connections keep it busy (speedup <= 50 %): 0.1 + 10 x service;
    # past the knee the semaphore decides: 4 rounds of connect + service
    assert server == {0.25: 0.85, 0.5: 0.6, 0.75: 0.5, 1.0: 0.4}
    before = [1.1, *server.values()]
    steps = [round(a - b, 9) for a, b in zip(before, server.values(), strict=False)]
    assert steps == [0.25, 0.25, 0.1, 0.1]
    # the connection only opens the server's queue: removing it saves its first 0.1 s
    assert makespans(prof, "whatif_programs.py:45") == {
        0.25: 1.075,
        0.5: 1.05,
        0.75: 1.025,
        1.0: 1.0,
    }
    assert [c.name for c in prof.components] == ["service:db", "whatif_programs.py:45"]


def test_user_metrics_get_estimates_of_their_own():
    prof = profile(w.queued, speedups=[1.0], seeds=2)
    waited = prof.cell("service:db", 1.0).metrics["server_wait"][50]
    # as is, the 2nd and 3rd requests wait 0.1 and 0.2 s, then each of 7 others 0.1 s;
    # with an instant server nobody waits
    assert (waited.base, waited.value, waited.change) == (pytest.approx(1.0), 0.0, -1.0)


# --------------------------------------------------------------------------- behaviour


def test_slowdown_mode_finds_the_first_factor_where_timeouts_fire_and_retries_pile_up():
    prof = profile(w.retries, speedups=[], slowdowns=[2, 2.5, 3], seeds=2)
    backend = prof.components[0]
    assert prof.cell(backend, -1.0).behaviour.changed == 0  # 0.8 s: within the 1 s timeout
    first = prof.first_change(backend)
    assert first is not None and first.speedup == -1.5  # 1.0 s: the timeout fires first
    assert first.behaviour.text() == (
        "2 of 2 runs changed: timeouts fired: 0 -> 3 per run (mean); "
        f"sleep in retries() at whatif_programs.py:{w.RETRY_LINE}: 0 -> 3 per run (mean); "
        "Server('backend'): 1 -> 3 per run (mean)"
    )
    assert prof.breaks() == [f"Server('backend'), 2.5x as slow: {first.behaviour.text()}"]
    timeouts = prof.cell(backend, -1.5).metrics["timeouts"][50]
    assert (timeouts.base, timeouts.value) == (0.0, 3.0)


def test_a_failing_run_is_recorded_and_the_profile_goes_on():
    prof = profile(w.deadline, speedups=[0.5], slowdowns=[2])
    slow = prof.cell(prof.components[0], -1.0)
    assert (slow.runs, slow.errors) == (3, 3)
    assert slow.elapsed[50].runs == 0 and slow.elapsed[50].text() == "-"
    assert slow.behaviour.notes[0] == "RuntimeError raised in 3 runs (baseline: 0)"
    errors = [r for r in prof.result.records if not r.ok]
    assert [r.error_type for r in errors] == ["RuntimeError"] * 3
    assert errors[0].error_message == "too slow: 2.0 s"
    fast = prof.cell(prof.components[0], 0.5)
    assert (fast.errors, fast.elapsed[50].value) == (0, 0.5)


def test_behaviour_compares_each_seed_with_its_own_run_as_is():
    base = {1: {"outcome": "ok", "counts": {"a": 1}, "fired": {}}}
    same = behaviour(base, {1: {"outcome": "ok", "counts": {"a": 1}, "fired": {}}}, {})
    assert (same.changed, same.text()) == (0, "same behaviour in all 1 runs")
    other = behaviour(
        base, {1: {"outcome": "KeyError", "counts": {"a": 2}, "fired": {}}}, {"a": "A"}
    )
    assert other.notes == ("KeyError raised in 1 runs (baseline: 0)", "A: 1 -> 2 per run (mean)")


# --------------------------------------------------------------------------- determinism


def without_wall(prof):
    data = prof.to_json()
    data.pop("wall")
    return json.dumps(data, sort_keys=True)


def test_the_same_profile_twice_is_the_same_profile(chain):
    again = profile(w.chain_and_side, slowdowns=[4, 8])
    assert without_wall(again) == without_wall(chain)
    assert again.result.records == chain.result.records
    assert again.table(interval=True).splitlines()[1:] == chain.table().splitlines()[1:]


def test_a_profile_on_two_processes_gives_the_records_it_gives_inline():
    inline = profile(w.queued, speedups=[0.5], seeds=4)
    pooled = profile(w.queued, speedups=[0.5], seeds=4, executor="processes", workers=2)
    assert pooled.result.records == inline.result.records
    assert without_wall(pooled) == without_wall(inline)


def test_any_run_of_a_profile_replays_alone_with_the_same_record_and_a_report(chain, tmp_path):
    record = next(
        r for r in chain.result.records if r.point["speedup"] == 0.5 and r.point["component"]
    )
    again = chain.replay(record.point["component"], 0.5, record.seed, report_dir=tmp_path / "r")
    assert again.record == record
    assert (tmp_path / "r" / "index.html").exists()
    baseline = chain.replay(None, 0, 2)
    assert baseline.record.elapsed == 3.0


def test_bootstrap_intervals_bracket_the_change_and_never_vary():
    base = [2.0, 2.2, 2.4, 2.6, 3.0, 2.1, 2.3]
    scaled = [1.5, 1.9, 2.0, 2.4, 2.2, 2.0, 1.8]
    first, second = changes(base, scaled), changes(base, scaled)
    assert first == second
    for p, estimate in first.items():
        assert estimate.base == nearest_rank(sorted(base), p) == percentile(sorted(base), p)
        assert estimate.low <= estimate.change <= estimate.high
        assert estimate.change == estimate.value / estimate.base - 1
    assert changes([0.0], [0.0])[50].text() == "+0"  # no base to divide by: the delta
    assert math.isnan(changes([], [])[50].change)


# --------------------------------------------------------------------------- naming and bad input


def test_components_can_be_named_by_file_line_key_or_bare_name():
    prof = profile(w.queued, speedups=[0.5], seeds=1, components=["db", "whatif_programs.py:45"])
    assert prof.components[0].key == "service:db"
    assert prof.skipped == []
    only = profile(w.chain_and_side, speedups=[0.5], seeds=1, components=[f"sleep:{SECOND}"])
    assert [c.name for c in only.components] == [SECOND]
    assert {c.name for c in only.skipped} == {FIRST, SIDE}


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"speedups": []}, ValueError, r"speedups is empty: give at least one"),
        (
            {"speedups": [1.5]},
            ValueError,
            r"speedups\[0\] must be a finite speedup from -99.0 to 1.0, got 1.5",
        ),
        (
            {"speedups": [-100]},
            ValueError,
            r"speedups\[0\] must be a finite speedup from -99.0 to 1.0",
        ),
        ({"speedups": [float("nan")]}, ValueError, r"speedups\[0\] must be a finite speedup"),
        ({"speedups": ["fast"]}, TypeError, r"speedups\[0\] must be a finite speedup"),
        ({"speedups": [0.5, 0.5]}, ValueError, r"the speedup 0.5 is given twice"),
        ({"speedups": [0]}, ValueError, r"nothing to profile"),
        (
            {"speedups": [], "slowdowns": [0.5]},
            ValueError,
            r"slowdowns\[0\] must be a finite slowdown factor from 1.0 to 100.0, got 0.5",
        ),
        (
            {"speedups": [], "slowdowns": [101]},
            ValueError,
            r"slowdowns\[0\] must be a finite slowdown factor",
        ),
        ({"components": []}, ValueError, r"components is empty"),
        ({"components": "db"}, TypeError, r"components must be None or a list of component names"),
        ({"components": ["servce:db"]}, ValueError, r"'servce' is not a kind of component"),
        ({"components": ["service:"]}, ValueError, r"names a kind of component but not which one"),
        ({"seeds": 0}, ValueError, r"seeds must be at least 1"),
        ({"kwargs": {"nope": 1}}, ValueError, r"unknown parameter 'nope'"),
        (
            {"executor": "threads"},
            ValueError,
            r"executor must be an Executor, 'processes' or 'inline'",
        ),
        ({"network": "net.py"}, TypeError, r"network must be a function returning a Network"),
        ({"model": "no-such-model.py"}, FileNotFoundError, r"no-such-model.py"),
        ({"cpu": "lots"}, ValueError, r"cpu must be seconds per step"),
    ],
)
def test_bad_input_is_refused_before_any_run(options, error, message):
    speedups = options.pop("speedups", (0.5,))
    before = len(w.CALLS)
    with pytest.raises(error, match=message):
        profile(w.queued, speedups, **options)
    assert len(w.CALLS) == before


def test_an_unknown_component_is_refused_after_the_one_run_that_finds_them():
    with pytest.raises(ValueError) as caught:
        before = len(w.CALLS)
        profile(w.queued, components=["service:dbb"])
    assert len(w.CALLS) == before + 1  # the first seed's run as is, and no profile run
    assert str(caught.value) == (
        "components: 'service:dbb' is not a component of this program (did you mean "
        "'service:db'?); the first seed's run has: service:db, whatif_programs.py:45"
    )


def test_a_name_that_fits_several_components_is_refused():
    found = [
        Component("sleep:/a/x.py:3", "sleep in f() at x.py:3", 1, 1.0),
        Component("sleep:/b/x.py:3", "sleep in g() at x.py:3", 1, 1.0),
    ]
    with pytest.raises(ValueError, match=r"'x.py:3' names several components: x.py:3, x.py:3"):
        resolve("x.py:3", found)
    assert resolve("b/x.py:3", found).key == "sleep:/b/x.py:3"


def test_a_coroutine_instead_of_the_function_is_refused():
    coro = w.queued()
    with pytest.raises(
        TypeError, match=r"expects the async function itself \(main, not main\(\)\)"
    ):
        asyncsim.whatif(coro)
    assert coro.cr_frame is None
